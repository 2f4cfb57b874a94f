package osdc

import (
	"cmp"
	"encoding/json"
	"slices"
	"strconv"
	"time"

	"github.com/gomsgr/msgr/messages"
)

// RequestsJSON is Ceph's `objecter_requests` (Objecter::dump_requests):
// the ops in flight, oldest first, with their targets, attempts and ages,
// in the field names Ceph uses. The Objecter keeps no linger, pool,
// statfs or command ops; their lists are empty.
func (o *Objecter) RequestsJSON() ([]byte, error) {
	type dumpOp struct {
		Tid                 uint64   `json:"tid"`
		PG                  string   `json:"pg"`
		OSD                 int32    `json:"osd"`
		ObjectID            string   `json:"object_id"`
		ObjectLocator       string   `json:"object_locator"`
		TargetObjectID      string   `json:"target_object_id"`
		TargetObjectLocator string   `json:"target_object_locator"`
		Paused              int      `json:"paused"`
		LastSent            string   `json:"last_sent"`
		Age                 float64  `json:"age"`
		Attempts            int32    `json:"attempts"`
		Snapid              string   `json:"snapid"`
		Mtime               string   `json:"mtime"`
		OSDOps              []string `json:"osd_ops"`
	}
	o.mu.Lock()
	now := o.cfg.Now()
	var ops []*op
	for _, s := range o.sessions {
		ops = append(ops, sortedOps(s.ops)...)
	}
	ops = append(ops, o.parkedLocked()...)
	out := make([]dumpOp, 0, len(ops))
	for _, p := range ops {
		d := dumpOp{
			Tid: p.tid, PG: p.pg.String(), OSD: p.osd,
			ObjectID: p.req.Oid, ObjectLocator: locatorString(p.req.Pool, p.req.Namespace, p.req.Key),
			TargetObjectID: p.oid, TargetObjectLocator: locatorString(p.loc.Pool, p.loc.Namespace, p.loc.Key),
			Attempts: p.attempts, Snapid: snapString(snapOf(p.req)), OSDOps: []string{},
		}
		if p.paused {
			d.Paused = 1
		}
		if p.session == nil {
			d.OSD = -1
		}
		if !p.sentAt.IsZero() {
			d.LastSent = utimeString(p.sentAt)
			d.Age = now.Sub(p.sentAt).Seconds()
		}
		if p.write {
			d.Mtime = utimeString(p.mtime.Time())
		}
		for i := range p.req.Ops {
			d.OSDOps = append(d.OSDOps, p.req.Ops[i].String())
		}
		out = append(out, d)
	}
	o.mu.Unlock()
	slices.SortFunc(out, func(a, b dumpOp) int { return cmp.Compare(a.Tid, b.Tid) })
	empty := []struct{}{}
	return json.Marshal(struct {
		Ops         []dumpOp   `json:"ops"`
		LingerOps   []struct{} `json:"linger_ops"`
		PoolOps     []struct{} `json:"pool_ops"`
		PoolStatOps []struct{} `json:"pool_stat_ops"`
		StatfsOps   []struct{} `json:"statfs_ops"`
		CommandOps  []struct{} `json:"command_ops"`
	}{out, empty, empty, empty, empty, empty})
}

// locatorString is object_locator_t's operator<<: @pool[;ns][:key].
func locatorString(pool int64, ns, key string) string {
	s := "@" + strconv.FormatInt(pool, 10)
	if ns != "" {
		s += ";" + ns
	}
	if key != "" {
		s += ":" + key
	}
	return s
}

// snapString prints a snap id as Ceph does: head, snapdir or hex.
func snapString(s uint64) string {
	switch s {
	case messages.SnapHead:
		return "head"
	case messages.SnapDir:
		return "snapdir"
	}
	return strconv.FormatUint(s, 16)
}

// utimeString is utime_t's operator<< (UTC here).
func utimeString(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000000-0700")
}
