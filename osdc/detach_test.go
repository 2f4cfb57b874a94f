package osdc_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gomsgr/msgr/messages"
	. "github.com/gomsgr/msgr/osdc"
	"github.com/gomsgr/msgr/osdc/osdctest"
	"github.com/gomsgr/msgr/osdmap"
)

// TestDetachSend: a write whose send still waits, unwritten, in osd.0's
// connection queue when the op moves to another OSD (a new map) or ends
// without a reply (cancel, timeout, Close). The op completes only once
// that connection has detached the data, so the caller overwrites it as
// soon as the op is done; the stalled connection, resumed, must then send
// the original bytes. A write that completes normally detaches nothing.
func TestDetachSend(t *testing.T) {
	for _, tc := range []struct {
		name    string
		timeout time.Duration
		end     func(o *Objecter, m *osdmap.OSDMap, pg osdmap.PG, cancel context.CancelFunc)
		want    error // nil: the op succeeds (on osd.1)
	}{
		{name: "moved", end: func(o *Objecter, m *osdmap.OSDMap, pg osdmap.PG, _ context.CancelFunc) {
			o.HandleOSDMap(osdctest.DeriveMap(m, 12, 2, nil, map[osdmap.PG][]int32{pg: {1}}))
		}},
		{name: "cancel", want: context.Canceled, end: func(_ *Objecter, _ *osdmap.OSDMap, _ osdmap.PG, cancel context.CancelFunc) {
			cancel()
		}},
		{name: "timeout", timeout: 20 * time.Millisecond, want: ErrTimedOut},
		{name: "close", want: ErrClosed, end: func(o *Objecter, _ *osdmap.OSDMap, _ osdmap.PG, _ context.CancelFunc) {
			o.Close()
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, f, m := setup(t, 2, Config{OpTimeout: tc.timeout})
			pg := pgOf(m, "obj1")
			o.HandleOSDMap(osdctest.DeriveMap(m, 11, 2, nil, map[osdmap.PG][]int32{pg: {0}}))
			ctx, cancel := context.WithCancel(ctxT(t))
			defer cancel()
			data := bytes.Repeat([]byte("0123456789abcdef"), 4096)
			orig := bytes.Clone(data)
			// The dial; and unless ops time out quickly, a write that
			// completes: nothing to detach.
			_, _ = do(t, o, "obj1", messages.NewStatOp())
			if tc.timeout == 0 {
				if _, err := do(t, o, "obj1", messages.NewWriteFullOp(data)); err != nil {
					t.Fatal(err)
				}
			}
			c0 := f.LastConn(0)
			if calls, _ := c0.Detaches(); calls != 0 {
				t.Fatalf("a completed write detached %d times", calls)
			}
			c0.Hold()
			n := len(f.Sent(0))
			p, err := o.Start(ctx, &Request{Pool: 1, Oid: "obj1", Ops: []messages.OSDOp{messages.NewWriteFullOp(data)}})
			if err != nil {
				t.Fatal(err)
			}
			if tc.end != nil {
				tc.end(o, m, pg, cancel)
			}
			<-p.Done()
			if _, err := p.Result(); !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("op ended with %v, want %v", err, tc.want)
			}
			for i := range data {
				data[i] = 0x77
			}
			if calls, _ := c0.Detaches(); calls != 1 {
				t.Fatalf("%d DetachData calls on the stalled connection, want 1", calls)
			}
			c0.Release()
			waitFor(t, "the stalled send", func() bool { return len(f.Sent(0)) == n+1 })
			if got := f.Sent(0)[n].Ops[0].Data; !bytes.Equal(got, orig) {
				t.Fatal("the stalled connection sent bytes written after the op completed")
			}
			if tc.want == nil {
				if got, _ := f.Data(1, "", "obj1"); !bytes.Equal(got, orig) {
					t.Fatal("object content wrong")
				}
			}
		})
	}
}
