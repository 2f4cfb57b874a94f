package msgr

import (
	"testing"

	"github.com/gomsgr/msgr/encoding"
	"github.com/gomsgr/msgr/message"
)

// heldRecorder records messages; those after the first wait until gate
// is closed.
type heldRecorder struct {
	*recorder
	gate chan struct{}
}

func (h heldRecorder) Dispatch(c *Conn, m message.Message) bool {
	if h.count() > 0 {
		<-h.gate
	}
	return h.recorder.Dispatch(c, m)
}

// TestLossyRecycleWaitsForWrite: a lossy message is released (Acked) as
// it is framed, before its bytes are written, and its outMsg (whose
// inline front the frame references) is recycled for a later Send only
// once nothing waits to be written. Here the peer stops reading, so
// writes back up while Sends go on; every message must still arrive with
// its own front, in order.
func TestLossyRecycleWaitsForWrite(t *testing.T) {
	rec := newRecorder()
	gr := heldRecorder{recorder: rec, gate: make(chan struct{})}
	c, wc := coalesceClient(t, rec, func(srv *Messenger) {
		srv.SetDefaultPolicy(StatelessServer(0))
		// One message in dispatch stops the server's reading.
		srv.SetPolicyThrottlers(encoding.EntityTypeClient, nil, NewThrottle("msgs", 1))
		srv.AddDispatcherHead(gr)
	}, LossyClient(0))
	const n = 300
	data := make([]byte, 64<<10)
	short := wc.short.Load()
	for i := 1; i <= n; i++ {
		if err := c.Send(&testMsg{From: 1, Seq: uint64(i), Data: data}); err != nil {
			t.Fatal(err)
		}
	}
	close(gr.gate)
	rec.waitFor(t, "every message", func() bool { return rec.count() == n+1 })
	checkInOrder(t, rec, 1, 0, n+1)
	if wc.short.Load() == short {
		t.Error("the socket never pushed back: the test did not exercise writes waiting")
	}
}
