package osdc_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/gomsgr/msgr/messages"
	. "github.com/gomsgr/msgr/osdc"
)

// TestOnDoneChain: each op's OnDone starts the next one from the
// goroutine that completed it (the fake OSD's, as a real reply's loop):
// no lock of the Objecter's is held there, every op runs, in order.
func TestOnDoneChain(t *testing.T) {
	o, f, _ := setup(t, 1, Config{})
	ctx := ctxT(t)
	const n = 50
	finished := make(chan error, 1)
	var next func(i int)
	next = func(i int) {
		if i == n {
			finished <- nil
			return
		}
		req := &Request{Pool: 1, Oid: fmt.Sprintf("chain%d", i), Ops: []messages.OSDOp{messages.NewWriteFullOp([]byte{byte(i)})}}
		p, err := o.Start(ctx, req)
		if err != nil {
			finished <- err
			return
		}
		p.OnDone(func() {
			if _, err := p.Result(); err != nil {
				finished <- err
				return
			}
			next(i + 1)
		})
	}
	next(0)
	if err := <-finished; err != nil {
		t.Fatal(err)
	}
	sent := f.Sent(0)
	if len(sent) != n {
		t.Fatalf("%d ops sent, want %d", len(sent), n)
	}
	for i, m := range sent {
		if m.Oid != fmt.Sprintf("chain%d", i) {
			t.Fatalf("op %d was %s", i, m.Oid)
		}
	}
}

// TestOnDoneEnds: OnDone runs exactly once however the op ends, at once
// in the caller's goroutine when it already has.
func TestOnDoneEnds(t *testing.T) {
	for _, tc := range []struct {
		name string
		end  func(o *Objecter, cancel context.CancelFunc)
		want error
	}{
		{"reply", nil, nil},
		{"cancel", func(_ *Objecter, cancel context.CancelFunc) { cancel() }, context.Canceled},
		{"close", func(o *Objecter, _ context.CancelFunc) { o.Close() }, ErrClosed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, f, _ := setup(t, 1, Config{})
			ctx, cancel := context.WithCancel(ctxT(t))
			defer cancel()
			if _, err := do(t, o, "warm", messages.NewWriteFullOp([]byte("x"))); err != nil {
				t.Fatal(err)
			}
			if tc.end != nil {
				f.LastConn(0).Hold()
				defer f.LastConn(0).Release()
			}
			p, err := o.Start(ctx, &Request{Pool: 1, Oid: "obj", Ops: []messages.OSDOp{messages.NewWriteFullOp([]byte("y"))}})
			if err != nil {
				t.Fatal(err)
			}
			calls := make(chan error, 2)
			p.OnDone(func() {
				// Starting an op here must not deadlock: after Close it fails.
				if _, err := o.Start(context.Background(), &Request{Pool: 1, Oid: "more", Ops: []messages.OSDOp{messages.NewStatOp()}}); tc.name == "close" && !errors.Is(err, ErrClosed) {
					t.Errorf("Start in OnDone after Close: %v", err)
				}
				_, err := p.Result()
				calls <- err
			})
			if tc.end != nil {
				tc.end(o, cancel)
			}
			if err := <-calls; !errors.Is(err, tc.want) {
				t.Fatalf("OnDone saw %v, want %v", err, tc.want)
			}
			<-p.Done()
			// Once done, OnDone runs at once, here.
			ran := false
			p.OnDone(func() { ran = true })
			if !ran {
				t.Fatal("OnDone on a completed op did not run at once")
			}
			if len(calls) != 0 {
				t.Fatal("the first OnDone ran twice")
			}
		})
	}
}

type ctxKey struct{}

// TestSharedContextCancel: ops started with contexts that share one Done
// channel (one context and one derived by WithValue) are watched
// together; one of them completing leaves the others watched; when the
// context ends they all fail with its cause, and ops of another context
// are untouched.
func TestSharedContextCancel(t *testing.T) {
	o, f, _ := setup(t, 1, Config{})
	// The OSD answers s0 and the other context's ops, and never the
	// rest of the shared context's.
	f.SetIntercept(func(_ int32, m *messages.MOSDOp) (*messages.MOSDOpReply, bool) {
		return nil, m.Oid[0] == 's' && m.Oid != "s0"
	})
	ctx, cancel := context.WithCancelCause(ctxT(t))
	other := ctxT(t)
	cause := errors.New("bench over")
	start := func(ctx context.Context, oid string) *Pending {
		p, err := o.Start(ctx, &Request{Pool: 1, Oid: oid, Ops: []messages.OSDOp{messages.NewWriteFullOp([]byte("x"))}})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	var shared, others []*Pending
	for i := range 8 {
		others = append(others, start(other, fmt.Sprintf("o%d", i)))
		c := ctx
		if i%2 == 1 {
			c = context.WithValue(ctx, ctxKey{}, i)
		}
		shared = append(shared, start(c, fmt.Sprintf("s%d", i)))
	}
	if _, err := shared[0].Wait(other); err != nil {
		t.Fatal(err)
	}
	for i, p := range others {
		if _, err := p.Wait(other); err != nil {
			t.Fatalf("other op %d: %v", i, err)
		}
	}
	cancel(cause)
	for i, p := range shared[1:] {
		if _, err := p.Wait(other); !errors.Is(err, cause) {
			t.Fatalf("shared op %d: %v, want %v", i+1, err, cause)
		}
	}
	if ops, _ := o.InFlight(); ops != 0 {
		t.Fatalf("%d ops holding budget", ops)
	}
	// A context that already ended fails a new op with its cause.
	if _, err := start(ctx, "s9").Wait(other); !errors.Is(err, cause) {
		t.Fatalf("op on an ended context: %v", err)
	}
}
