package osdc

import (
	"time"

	"github.com/gomsgr/msgr/messages"
	"github.com/gomsgr/msgr/perf"
)

// The Objecter's perf counters, Ceph's l_osdc_* (src/osdc/Objecter.cc)
// in its order, section "objecter". Those Stats already counts and those
// read from the sessions are read at dump time; the rest are counted
// under o.mu where an op starts, is sent or answered.
const (
	lOpActive = iota
	lOpLaggy
	lOpSend
	lOpSendBytes
	lOpResend
	lOpReply
	lOplenAvg
	lOp
	lOpR
	lOpW
	lOpRMW
	lOpPG
	lOsdopStat
	lOsdopCreate
	lOsdopRead
	lOsdopWrite
	lOsdopWriteFull
	lOsdopWriteSame
	lOsdopAppend
	lOsdopZero
	lOsdopTruncate
	lOsdopDelete
	lOsdopMapExt
	lOsdopSparseRead
	lOsdopGetXattr
	lOsdopSetXattr
	lOsdopCmpXattr
	lOsdopRmXattr
	lOsdopCall
	lOsdopWatch
	lOsdopNotify
	lOsdopPGLS
	lOsdopOther
	lMapEpoch
	lOSDSessions
	lOSDSessionOpen
	lOSDSessionClose
	lOSDLaggy
	lOmapWr
	lOmapRd
	lOmapDel
)

func (o *Objecter) newPerf() *perf.Logger {
	b := perf.NewBuilder("objecter")
	stat := func(f func(Stats) uint64) func() uint64 { return func() uint64 { return f(o.Stats()) } }
	add := func(name, desc string, k perf.Kind) { b.Add(perf.Desc{Name: name, Description: desc, Kind: k}) }
	b.Add(perf.Desc{Name: "op_active", Description: "Operations active", Nick: "actv", Priority: perf.PrioCritical, Kind: perf.Gauge, Read: o.activeOps})
	b.Add(perf.Desc{Name: "op_laggy", Description: "Laggy operations", Kind: perf.Gauge, Read: o.laggyOps})
	b.Add(perf.Desc{Name: "op_send", Description: "Sent operations", Kind: perf.Counter, Read: stat(func(s Stats) uint64 { return s.Sends })})
	b.Add(perf.Desc{Name: "op_send_bytes", Description: "Sent data", Kind: perf.Counter, Unit: perf.Bytes})
	b.Add(perf.Desc{Name: "op_resend", Description: "Resent operations", Kind: perf.Counter, Read: stat(func(s Stats) uint64 { return s.Resends })})
	add("op_reply", "Operation reply", perf.Counter)
	add("oplen_avg", "Average length of operation vector", perf.U64Avg)
	b.Add(perf.Desc{Name: "op", Description: "Operations", Kind: perf.Counter, Read: stat(func(s Stats) uint64 { return s.Ops })})
	add("op_r", "Read operations", perf.Counter)
	add("op_w", "Write operations", perf.Counter)
	add("op_rmw", "Read-modify-write operations", perf.Counter)
	add("op_pg", "PG operation", perf.Counter)
	for _, n := range []string{"stat", "create", "read", "write", "writefull", "writesame", "append", "zero",
		"truncate", "delete", "mapext", "sparse_read", "getxattr", "setxattr", "cmpxattr", "rmxattr",
		"call", "watch", "notify", "pgls", "other"} {
		add("osdop_"+n, "osd op "+n, perf.Counter)
	}
	b.Add(perf.Desc{Name: "map_epoch", Description: "OSD map epoch", Kind: perf.Gauge, Read: o.mapEpoch})
	b.Add(perf.Desc{Name: "osd_sessions", Description: "Open sessions", Kind: perf.Gauge, Read: o.sessionCount})
	add("osd_session_open", "Sessions opened", perf.Counter)
	add("osd_session_close", "Sessions closed", perf.Counter)
	b.Add(perf.Desc{Name: "osd_laggy", Description: "Laggy OSD sessions", Kind: perf.Gauge, Read: o.laggySessions})
	add("omap_wr", "OSD OMAP write operations", perf.Counter)
	add("omap_rd", "OSD OMAP read operations", perf.Counter)
	add("omap_del", "OSD OMAP delete operations", perf.Counter)
	return b.Logger()
}

// PerfCounters is the Objecter's "objecter" section, to add to a
// perf.Collection.
func (o *Objecter) PerfCounters() *perf.Logger { return o.perf }

// osdopCounter maps an op code to its osdop_* counter (Objecter's
// _op_submit switch); omap ops count in omap_*.
var osdopCounter = map[uint16]int{
	messages.OpStat: lOsdopStat, messages.OpCreate: lOsdopCreate, messages.OpRead: lOsdopRead,
	messages.OpWrite: lOsdopWrite, messages.OpWriteFull: lOsdopWriteFull, messages.OpWriteSame: lOsdopWriteSame,
	messages.OpAppend: lOsdopAppend, messages.OpZero: lOsdopZero, messages.OpTruncate: lOsdopTruncate,
	messages.OpDelete: lOsdopDelete, messages.OpMapExt: lOsdopMapExt, messages.OpSparseRead: lOsdopSparseRead,
	messages.OpGetXattr: lOsdopGetXattr, messages.OpSetXattr: lOsdopSetXattr, messages.OpCmpXattr: lOsdopCmpXattr,
	messages.OpRmXattr: lOsdopRmXattr, messages.OpCall: lOsdopCall, messages.OpWatch: lOsdopWatch,
	messages.OpNotify: lOsdopNotify, messages.OpPGLS: lOsdopPGLS, messages.OpPGNLS: lOsdopPGLS,
	messages.OpOmapSetVals: lOmapWr, messages.OpOmapSetHeader: lOmapWr,
	messages.OpOmapGetKeys: lOmapRd, messages.OpOmapGetVals: lOmapRd, messages.OpOmapGetHeader: lOmapRd,
	messages.OpOmapGetValsByKeys: lOmapRd,
	messages.OpOmapClear:         lOmapDel, messages.OpOmapRmKeys: lOmapDel,
}

// countOp counts a started op by kind and op codes.
func (o *Objecter) countOp(p *op) {
	l := o.perf
	read := false
	for i := range p.req.Ops {
		if !messages.OSDOpIsWrite(p.req.Ops[i].Op) {
			read = true
		}
		c, ok := osdopCounter[p.req.Ops[i].Op]
		if !ok {
			c = lOsdopOther
		}
		l.Inc(c, 1)
	}
	switch {
	case p.write && read:
		l.Inc(lOpRMW, 1)
	case p.write:
		l.Inc(lOpW, 1)
	default:
		l.Inc(lOpR, 1)
	}
	if p.req.PG != nil {
		l.Inc(lOpPG, 1)
	}
	l.AvgAdd(lOplenAvg, uint64(len(p.req.Ops)))
}

func (o *Objecter) activeOps() uint64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := len(o.homeless)
	for _, s := range o.sessions {
		n += len(s.ops)
	}
	return uint64(n)
}

// laggyOps counts ops sent longer than LaggyAfter ago (objecter_timeout).
func (o *Objecter) laggyOps() uint64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	now := o.cfg.Now()
	var n uint64
	for _, s := range o.sessions {
		for _, p := range s.ops {
			if o.laggy(p, now) {
				n++
			}
		}
	}
	return n
}

// laggySessions counts sessions with a laggy op.
func (o *Objecter) laggySessions() uint64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	now := o.cfg.Now()
	var n uint64
	for _, s := range o.sessions {
		for _, p := range s.ops {
			if o.laggy(p, now) {
				n++
				break
			}
		}
	}
	return n
}

// laggy: p was sent objecter_timeout ago or longer and is unanswered.
func (o *Objecter) laggy(p *op, now time.Time) bool {
	return !p.sentAt.IsZero() && now.Sub(p.sentAt) >= o.cfg.LaggyAfter
}

func (o *Objecter) mapEpoch() uint64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.osdmap == nil {
		return 0
	}
	return uint64(o.osdmap.Epoch)
}

func (o *Objecter) sessionCount() uint64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	return uint64(len(o.sessions))
}

// outBytes is the data an MOSDOp carries (Ceph's outbl, op_send_bytes).
func outBytes(ops []messages.OSDOp) uint64 {
	var n uint64
	for i := range ops {
		n += uint64(len(ops[i].Data))
	}
	return n
}
