package cluster

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gomsgr/msgr"
	"github.com/gomsgr/msgr/encoding"
	"github.com/gomsgr/msgr/message"
	"github.com/gomsgr/msgr/messages"
	"github.com/gomsgr/msgr/osdmap"
)

// Client throttles of an OSD's public messenger (osd_client_message_size_cap,
// osd_client_message_cap), as ceph_osd.cc sets them.
const (
	osdClientMessageSizeCap = 500 << 20
	osdClientMessageCap     = 256
)

// OSD is one object storage daemon: a public messenger with Ceph's
// client policy (stateless server, byte and message throttles) and an
// in-memory object store per PG. It serves the PGs whose acting primary
// it is in the map it was given last; the store lock guards the PGs.
type OSD struct {
	id    int32
	m     *msgr.Messenger
	log   *slog.Logger
	osdmp atomic.Pointer[osdmap.OSDMap]
	// mapsSince returns an MOSDMap with the maps after epoch, to share
	// with a client behind (OSD::maybe_share_map).
	mapsSince func(epoch uint32) *messages.MOSDMap

	mu    sync.Mutex
	pgs   map[osdmap.PG]*pgStore
	watch watchState
}

func newOSD(ctx context.Context, id int32, addr netip.AddrPort, ap *authPolicy, log *slog.Logger) (*OSD, error) {
	reg := message.NewRegistry()
	if err := messages.RegisterOSD(reg); err != nil {
		return nil, err
	}
	name := encoding.EntityName{Type: encoding.EntityTypeOSD, Num: int64(id)}
	lg := log.With("daemon", "osd."+strconv.Itoa(int(id)))
	m, err := msgr.New(msgr.Config{Name: name, Nonce: rand.Uint32() | 1, Registry: reg, AuthServer: ap.handler}, msgr.Options{Logger: lg})
	if err != nil {
		return nil, err
	}
	// ceph_osd.cc: clients get a stateless server policy whose reads are
	// bounded by the client byte and message throttles.
	m.SetDefaultPolicy(msgr.StatelessServer(0))
	m.SetPolicy(encoding.EntityTypeClient, msgr.StatelessServer(0))
	m.SetPolicyThrottlers(encoding.EntityTypeClient,
		msgr.NewThrottle("osd_client_bytes", osdClientMessageSizeCap), msgr.NewThrottle("osd_client_messages", osdClientMessageCap))
	if err := m.Bind(ctx, addr); err != nil {
		_ = m.Shutdown(context.WithoutCancel(ctx))
		return nil, err
	}
	return &OSD{id: id, m: m, log: lg, pgs: map[osdmap.PG]*pgStore{},
		watch: watchState{watches: map[objRef]map[watchKey]*watch{}, notifies: map[uint64]*notify{}}}, nil
}

func itoa(n int64) string {
	return encoding.EntityName{Num: n}.String()[len(encoding.EntityName{}.String())-1:]
}

func (o *OSD) start() error {
	if err := o.m.Start(); err != nil {
		return err
	}
	o.m.AddDispatcherTail(osdDispatcher{o})
	return nil
}

// Addrs is where the OSD listens.
func (o *OSD) Addrs() encoding.EntityAddrVec { return o.m.Addrs() }

// setMap installs a new map; the PGs of deleted pools go.
func (o *OSD) setMap(m *osdmap.OSDMap) {
	o.osdmp.Store(m)
	o.mu.Lock()
	for pg := range o.pgs {
		if m.Pools[pg.Pool] == nil {
			delete(o.pgs, pg)
		}
	}
	o.mu.Unlock()
}

// stats adds this OSD's objects and bytes per pool into s.
func (o *OSD) stats(s map[int64]poolStats) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for pg, st := range o.pgs {
		ps := st.stats()
		t := s[pg.Pool]
		t.objects += ps.objects
		t.bytes += ps.bytes
		s[pg.Pool] = t
	}
}

func (o *OSD) shutdown(ctx context.Context) error {
	err := o.m.Shutdown(ctx)
	o.stopWatches()
	return err
}

// handleOp runs one client request, as OSD::ms_fast_dispatch through
// PrimaryLogPG::do_op do for a replicated pool of size 1.
func (o *OSD) handleOp(c *msgr.Conn, m *messages.MOSDOp) {
	om := o.osdmp.Load()
	pool := om.Pools[int64(m.PGID.Pool)]
	if pool == nil {
		// The pool is gone (or not yet made) in our map: a real OSD
		// drops the op; the client learns of the deletion from its map.
		o.log.Debug("op for a pool we do not have dropped", "pg", m.PGID.PG, "client_epoch", m.Epoch)
		return
	}
	pg := osdmap.PG{Pool: int64(m.PGID.Pool), Seed: m.PGID.Seed}
	pgOp := includesPGOp(m.Ops)
	if !pgOp {
		pg = pool.RawPGToPG(osdmap.PG{Pool: pg.Pool, Seed: m.Hash})
	}
	if _, _, _, primary := om.PGToUpActing(pg); primary != o.id || pg.Seed != m.PGID.Seed {
		if m.Epoch < om.Epoch && o.mapsSince != nil {
			// The client placed the op with an old map: share ours
			// and drop the op; it resends once it has the map.
			_ = c.Send(o.mapsSince(m.Epoch))
			return
		}
		o.log.Warn("misdirected op", "client", c.PeerName(), "pg", pg, "client_pg", m.PGID.PG, "primary", primary, "epoch", m.Epoch)
		o.reply(c, m, om.Epoch, -eNXIO, messages.EVersion{}, 0)
		return
	}
	if m.Snap != messages.SnapHead {
		o.reply(c, m, om.Epoch, -eNOENT, messages.EVersion{}, 0) // no snapshots here
		return
	}

	o.mu.Lock()
	st := o.pgs[pg]
	if st == nil {
		st = &pgStore{objects: map[objKey]*object{}}
		o.pgs[pg] = st
	}
	if pgOp {
		result := o.doPGOps(st, m, hobjEnd(pg, pool.PGNum))
		o.mu.Unlock()
		o.reply(c, m, om.Epoch, result, messages.EVersion{Epoch: om.Epoch, Version: st.version}, 0)
		return
	}
	key := objKey{ns: m.Locator.Namespace, oid: m.Oid, key: m.Locator.Key}
	ctx := &opCtx{osd: o, conn: c, pgID: pg, pg: st, key: key, hash: m.Hash, obj: st.objects[key], mtime: m.Mtime}
	ctx.orig = ctx.obj
	var result int32
	for i := range m.Ops {
		op := &m.Ops[i]
		r := ctx.do(op)
		if r == -eOPNOTSUPP {
			o.log.Debug("op not supported", "op", messages.OSDOpName(op.Op), "code", op.Op)
		}
		op.Rval = r
		if r < 0 && op.Flags&messages.OpFlagFailOK == 0 {
			result = r
			break
		}
		if r > 0 {
			op.Rval = r
		}
	}
	var ver messages.EVersion
	var uv uint64
	if result == 0 && ctx.dirty {
		st.version++
		ver = messages.EVersion{Epoch: om.Epoch, Version: st.version}
		uv = st.version
		if ctx.obj == nil {
			delete(st.objects, key)
		} else {
			ctx.obj.version = st.version
			ctx.obj.mtime = m.Mtime
			if ctx.obj.mtime.IsZero() {
				ctx.obj.mtime = utimeOf(time.Now())
			}
			st.objects[key] = ctx.obj
		}
	} else if ctx.orig != nil {
		uv = ctx.orig.version
	}
	o.mu.Unlock()
	if result < 0 || m.Flags&messages.FlagWrite != 0 && m.Flags&messages.FlagReturnVec == 0 {
		for i := range m.Ops {
			if result < 0 || messages.OSDOpIsWrite(m.Ops[i].Op) {
				m.Ops[i].Data = nil
			}
		}
	}
	o.reply(c, m, om.Epoch, result, ver, uv)
	for _, n := range ctx.notifies {
		if result == 0 {
			o.startNotify(n)
		} else {
			o.mu.Lock()
			delete(o.watch.notifies, n.n.id)
			o.mu.Unlock()
		}
	}
}

// includesPGOp is OpRequest::includes_pg_op: an op of type PG
// (CEPH_OSD_OP_TYPE_PG) makes the request a PG op.
func includesPGOp(ops []messages.OSDOp) bool {
	for i := range ops {
		if ops[i].Op&0x0f00 == 0x0500 {
			return true
		}
	}
	return false
}

// doPGOps runs the PG ops (listing) of m.
func (o *OSD) doPGOps(st *pgStore, m *messages.MOSDOp, end messages.HObject) int32 {
	for i := range m.Ops {
		op := &m.Ops[i]
		switch op.Op {
		case messages.OpPGNLS:
			d := encoding.NewDecoder(op.Data)
			cursor := messages.DecodeHObject(d)
			if d.Err() != nil {
				op.Rval = -eINVAL
				return -eINVAL
			}
			n := op.PGLSCount()
			if n > 1024 {
				n = 1024 // osd_max_pgls... keep replies bounded
			}
			resp := st.list(cursor, m.Locator.Namespace, n, end)
			o.log.Debug("pgnls", "pg", m.PGID.PG, "cursor", cursor, "ns", m.Locator.Namespace, "max", n, "entries", len(resp.Entries), "objects", len(st.objects))
			op.Data = messages.AppendPGNLSResponse(nil, resp)
			op.Rval = 0
		default:
			o.log.Debug("pg op not supported", "op", messages.OSDOpName(op.Op), "code", op.Op)
			op.Rval = -eOPNOTSUPP
			return -eOPNOTSUPP
		}
	}
	return 0
}

func (o *OSD) reply(c *msgr.Conn, m *messages.MOSDOp, epoch uint32, result int32, ver messages.EVersion, uv uint64) {
	const acks = messages.FlagAck | messages.FlagOnDisk | messages.FlagOnNVRAM
	r := &messages.MOSDOpReply{
		Tid: m.Tid, Oid: m.Oid, PGID: m.PGID.PG,
		Flags:  int64(m.Flags&^acks | messages.FlagAck | messages.FlagOnDisk),
		Result: result, Epoch: epoch, Ops: m.Ops, RetryAttempt: m.RetryAttempt,
		ReplayVersion: ver, BadReplayVersion: ver, UserVersion: uv,
	}
	if err := c.Send(r); err != nil {
		o.log.Debug("reply not sent", "client", c.PeerName(), "err", err)
	}
}

// osdDispatcher is an OSD's messenger dispatcher.
type osdDispatcher struct{ o *OSD }

// HandleReset implements msgr.ResetHandler: the client's watches wait
// for it to reconnect.
func (d osdDispatcher) HandleReset(c *msgr.Conn) bool {
	d.o.connGone(c)
	return true
}

// Dispatch implements msgr.Dispatcher.
func (d osdDispatcher) Dispatch(c *msgr.Conn, m message.Message) bool {
	switch m := m.(type) {
	case *messages.MOSDOp:
		d.o.handleOp(c, m)
	default:
		d.o.log.Debug("message ignored", "peer", c.PeerName(), "type", m.Type())
	}
	return true
}
