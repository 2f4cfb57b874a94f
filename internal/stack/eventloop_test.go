//go:build unix

package stack

import (
	"bytes"
	"errors"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/gomsgr/msgr/internal/event"
)

// newTestLoop makes an event-loop stack on a private pool of two loops,
// closed (and its goroutines checked) when the test ends.
func newTestLoop(t *testing.T) *EventLoop {
	t.Helper()
	st, err := NewEventLoop(event.NewRegistry(), "test", event.Options{Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Error(err)
		}
		goleak.VerifyNone(t)
	})
	return st
}

// listen opens a watched listener on w whose accepted connections go to
// the returned channel.
func listen(t *testing.T, w Worker) (Listener, chan Pending) {
	t.Helper()
	var ln Listener
	accepted := make(chan Pending, 4)
	on(t, w, func() {
		var err error
		ln, err = w.Listen(netip.MustParseAddrPort("127.0.0.1:0"), ListenConfig{})
		if err != nil {
			t.Fatal(err)
		}
		if err := ln.Watch(func() {
			for {
				p, err := ln.Accept()
				if err != nil {
					return
				}
				accepted <- p
			}
		}); err != nil {
			t.Fatal(err)
		}
	})
	return ln, accepted
}

// TestEventLoopBothWays sends 8 MiB each way at once through the loops,
// the receiving side pausing reads now and then.
func TestEventLoopBothWays(t *testing.T) {
	st := newTestLoop(t)
	const total = 8 << 20
	lw, lrel := st.Pick()
	defer lrel()
	ln, accepted := listen(t, lw)
	cw, crel := st.Pick()
	defer crel()
	sw, srel := st.Pick()
	defer srel()
	if cw == sw {
		t.Log("both ends on one loop")
	}
	cp, sp := newPeer(t, cw, total), newPeer(t, sw, total)
	data, back := pattern(total, 1), pattern(total, 2)
	for i := 0; i < total; i += 1 << 20 {
		cp.out = append(cp.out, data[i:i+1<<20])
		sp.out = append(sp.out, back[i:i+1<<20])
	}
	sp.pauses = 7
	on(t, cw, func() {
		var err error
		if cp.s, err = cw.Connect(ln.Addr(), DialConfig{NoDelay: true}, cp); err != nil {
			t.Fatal(err)
		}
	})
	if err := <-cp.up; err != nil {
		t.Fatal(err)
	}
	pend := <-accepted
	on(t, sw, func() {
		var err error
		if sp.s, err = pend.Attach(sw, DialConfig{NoDelay: true}, sp); err != nil {
			t.Fatal(err)
		}
		sp.flush()
	})
	for _, p := range []*peer{cp, sp} {
		select {
		case <-p.done:
		case <-time.After(60 * time.Second):
			t.Fatal("transfer stuck")
		}
	}
	sp.mu.Lock()
	okS := bytes.Equal(sp.got.Bytes(), data)
	sp.mu.Unlock()
	cp.mu.Lock()
	okC := bytes.Equal(cp.got.Bytes(), back)
	cp.mu.Unlock()
	if !okS || !okC {
		t.Fatalf("corrupted transfer: server ok %v, client ok %v", okS, okC)
	}
	if a, b := cp.s.LocalAddr(), sp.s.RemoteAddr(); a != b {
		t.Errorf("client local %v, server sees %v", a, b)
	}
	on(t, cw, func() { cp.s.Close() })
	on(t, sw, func() { sp.s.Close() })
	on(t, lw, func() { ln.Close() })
}

// TestEventLoopDetach moves an accepted socket from one loop to the other
// between two reads: every byte arrives once, in order.
func TestEventLoopDetach(t *testing.T) {
	st := newTestLoop(t)
	const total = 2 << 20
	lw, lrel := st.Pick()
	defer lrel()
	ln, accepted := listen(t, lw)
	cw, crel := st.Pick()
	defer crel()
	cp := newPeer(t, cw, 0)
	data := pattern(total, 3)
	for i := 0; i < total; i += 64 << 10 {
		cp.out = append(cp.out, data[i:i+64<<10])
	}
	on(t, cw, func() {
		var err error
		if cp.s, err = cw.Connect(ln.Addr(), DialConfig{}, cp); err != nil {
			t.Fatal(err)
		}
	})
	if err := <-cp.up; err != nil {
		t.Fatal(err)
	}
	pend := <-accepted
	ws := st.Pool().Workers()
	w1, w2 := st.workers[ws[0]], st.workers[ws[1]]
	// The first owner reads once, then the socket moves.
	first := newPeer(t, w1, 1)
	on(t, w1, func() {
		var err error
		if first.s, err = pend.Attach(w1, DialConfig{}, first); err != nil {
			t.Fatal(err)
		}
	})
	<-first.done
	var moved Pending
	var head []byte
	on(t, w1, func() {
		var err error
		if moved, err = first.s.Detach(); err != nil {
			t.Fatal(err)
		}
		first.mu.Lock()
		head = append(head, first.got.Bytes()...)
		first.mu.Unlock()
	})
	second := newPeer(t, w2, total-len(head))
	on(t, w2, func() {
		var err error
		if second.s, err = moved.Attach(w2, DialConfig{}, second); err != nil {
			t.Fatal(err)
		}
	})
	select {
	case <-second.done:
	case <-time.After(30 * time.Second):
		t.Fatal("stream stuck after the move")
	}
	second.mu.Lock()
	all := append(head, second.got.Bytes()...)
	second.mu.Unlock()
	if !bytes.Equal(all, data) {
		t.Fatalf("stream corrupted by the move: %d bytes before, %d after", len(head), len(all)-len(head))
	}
	on(t, cw, func() { cp.s.Close() })
	on(t, w2, func() { second.s.Close() })
	on(t, lw, func() { ln.Close() })
}

// TestEventLoopRefusedAndTimers: a refused connect reports ECONNREFUSED;
// timers run on the loop and can be stopped.
func TestEventLoopRefusedAndTimers(t *testing.T) {
	st := newTestLoop(t)
	w, rel := st.Pick()
	defer rel()
	var addr netip.AddrPort
	on(t, w, func() {
		l, err := w.Listen(netip.MustParseAddrPort("127.0.0.1:0"), ListenConfig{})
		if err != nil {
			t.Fatal(err)
		}
		addr = l.Addr()
		l.Close()
	})
	p := newPeer(t, w, 0)
	on(t, w, func() {
		var err error
		if p.s, err = w.Connect(addr, DialConfig{}, p); err != nil && !errors.Is(err, syscall.ECONNREFUSED) {
			t.Fatal(err)
		}
	})
	if err := <-p.up; !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("connect: %v, want ECONNREFUSED", err)
	}
	fired := make(chan bool, 2)
	on(t, w, func() {
		w.AfterFunc(time.Millisecond, func() { fired <- w.InContext() })
		stopped := w.AfterFunc(time.Hour, func() { fired <- false })
		if !stopped.Stop() {
			t.Error("Stop of a pending timer returned false")
		}
	})
	if inCtx := <-fired; !inCtx {
		t.Fatal("timer ran off the loop")
	}
	if st.InContext() {
		t.Fatal("test goroutine reported as on a loop")
	}
}
