package msgr

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gomsgr/msgr/encoding"
)

// TestSendContextWaitersWoken: SendContext calls waiting for room in a
// full outbound queue (the peer is gone, nothing is ever acked) end when
// their context does, each on its own, and all of them at once when the
// connection is marked down.
func TestSendContextWaitersWoken(t *testing.T) {
	gone := newTestMessenger(t, osdName(1), true, Options{}, newRecorder())
	addrs := gone.Addrs()
	shutdown(t, gone)
	cli := newTestMessenger(t, clientName(2), false, Options{OutboundQueueMessages: 1}, newRecorder())
	cli.SetDefaultPolicy(LosslessClient(0))
	c, err := cli.GetConnection(addrs, encoding.EntityTypeOSD)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Send(&testMsg{From: 2, Seq: 1}); err != nil {
		t.Fatal(err)
	}
	if err := c.Send(&testMsg{From: 2, Seq: 2}); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("second Send = %v, want ErrQueueFull", err)
	}
	const n = 4
	errs := make(chan error, n)
	for range n {
		go func() { errs <- c.SendContext(context.Background(), &testMsg{From: 2, Seq: 3}) }()
	}
	// One more that gives up on its own, while the others wait on.
	for range 3 {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		err := c.SendContext(ctx, &testMsg{From: 2, Seq: 4})
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("SendContext with a deadline = %v", err)
		}
	}
	select {
	case err := <-errs:
		t.Fatalf("a waiter returned before the mark down: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	c.MarkDown()
	for range n {
		select {
		case err := <-errs:
			if !errors.Is(err, ErrConnClosed) {
				t.Fatalf("waiter after MarkDown = %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("a waiter was not woken by MarkDown")
		}
	}
	<-c.Done()
	c.mu.Lock()
	left := len(c.waiters)
	c.mu.Unlock()
	if left != 0 {
		t.Fatalf("%d waiters still listed", left)
	}
}
