package osdc_test

import (
	"bytes"
	"context"
	"encoding/json"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gomsgr/msgr/messages"
	"github.com/gomsgr/msgr/osdc"
	"github.com/gomsgr/msgr/perf"
)

func counters(l *perf.Logger) map[string]perf.Value {
	m := map[string]perf.Value{}
	for i, d := range l.Descs() {
		m[d.Name] = l.Get(i)
	}
	return m
}

func TestPerfCounters(t *testing.T) {
	o, _, _ := setup(t, 2, osdc.Config{})
	data := bytes.Repeat([]byte("x"), 100)
	for i := range 3 {
		if _, err := do(t, o, "obj"+string(rune('a'+i)), messages.NewWriteFullOp(data)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := do(t, o, "obja", messages.NewReadOp(0, 100)); err != nil {
		t.Fatal(err)
	}
	if _, err := do(t, o, "obja", messages.NewStatOp(), messages.NewReadOp(0, 10)); err != nil {
		t.Fatal(err)
	}
	c := counters(o.PerfCounters())
	for _, tc := range []struct {
		name string
		want uint64
	}{
		{"op", 5}, {"op_w", 3}, {"op_r", 2}, {"op_rmw", 0}, {"op_send", 5}, {"op_resend", 0},
		{"op_reply", 5}, {"op_send_bytes", 300}, {"osdop_writefull", 3}, {"osdop_read", 2},
		{"osdop_stat", 1}, {"op_active", 0}, {"map_epoch", 10},
	} {
		if got := c[tc.name].Sum; got != tc.want {
			t.Errorf("%s = %d, want %d", tc.name, got, tc.want)
		}
	}
	if v := c["oplen_avg"]; v.Count != 5 || v.Sum != 6 {
		t.Errorf("oplen_avg = %+v, want 6 ops in 5 requests", v)
	}
	if c["osd_sessions"].Sum == 0 || c["osd_session_open"].Sum != c["osd_sessions"].Sum {
		t.Errorf("sessions %d, opened %d", c["osd_sessions"].Sum, c["osd_session_open"].Sum)
	}
	// The section is complete in perf dump's shape.
	coll := perf.NewCollection()
	coll.Add(o.PerfCounters())
	var dump map[string]map[string]any
	if err := json.Unmarshal(perf.AppendDump(nil, coll.Read(), "", ""), &dump); err != nil {
		t.Fatal(err)
	}
	if len(dump["objecter"]) != len(o.PerfCounters().Descs()) {
		t.Errorf("objecter section has %d counters", len(dump["objecter"]))
	}
}

// objecter_requests lists an op in flight with its target and age; the
// gauges see it, and laggy once objecter_timeout has passed.
func TestRequestsJSON(t *testing.T) {
	now := time.Unix(1700000000, 0)
	var offset atomic.Int64
	clock := func() time.Time { return now.Add(time.Duration(offset.Load())) }
	o, f, _ := setup(t, 1, osdc.Config{Now: clock, LaggyAfter: 10 * time.Second, Tick: time.Hour})
	f.SetIntercept(func(int32, *messages.MOSDOp) (*messages.MOSDOpReply, bool) { return nil, true })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p, err := o.Start(ctx, &osdc.Request{Pool: 1, Namespace: "ns", Oid: "stuck", Ops: []messages.OSDOp{messages.NewReadOp(0, 8)}})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the op sent", func() bool { return len(f.Sent(0)) == 1 })
	offset.Store(int64(12 * time.Second))
	b, err := o.RequestsJSON()
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		Ops []struct {
			Tid           uint64   `json:"tid"`
			PG            string   `json:"pg"`
			OSD           int32    `json:"osd"`
			ObjectID      string   `json:"object_id"`
			ObjectLocator string   `json:"object_locator"`
			Age           float64  `json:"age"`
			Attempts      int32    `json:"attempts"`
			Snapid        string   `json:"snapid"`
			LastSent      string   `json:"last_sent"`
			OSDOps        []string `json:"osd_ops"`
		} `json:"ops"`
		LingerOps []any `json:"linger_ops"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	if len(r.Ops) != 1 || r.LingerOps == nil {
		t.Fatalf("objecter_requests: %s", b)
	}
	d := r.Ops[0]
	if d.Tid != 1 || d.OSD != 0 || d.ObjectID != "stuck" || d.ObjectLocator != "@1;ns" || d.Age != 12 ||
		d.Attempts != 1 || d.Snapid != "head" || d.LastSent != "2023-11-14T22:13:20.000000+0000" ||
		len(d.OSDOps) != 1 || d.OSDOps[0] != "read 0~8" || d.PG == "" {
		t.Errorf("op: %+v", d)
	}
	c := counters(o.PerfCounters())
	if c["op_active"].Sum != 1 || c["op_laggy"].Sum != 1 || c["osd_laggy"].Sum != 1 {
		t.Errorf("active %d laggy %d osd_laggy %d, want 1 each", c["op_active"].Sum, c["op_laggy"].Sum, c["osd_laggy"].Sum)
	}
	cancel()
	p.Wait(context.Background())
	if c := counters(o.PerfCounters()); c["op_active"].Sum != 0 {
		t.Errorf("op_active after cancel: %d", c["op_active"].Sum)
	}
}
