//go:build unix

package stack

import (
	"bytes"
	"errors"
	"io"
	"net/netip"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/gomsgr/msgr/internal/event"
)

// The conformance suite: every Stack passes the same tests, each run
// once per stack by forEachStack.

// stacks makes each Stack under test, closed (and its goroutines
// checked) when the test ends.
var stacks = []struct {
	name string
	make func(t *testing.T) Stack
}{
	{"eventloop", func(t *testing.T) Stack {
		// A private pool of two loops.
		st, err := NewEventLoop(event.NewRegistry(), "test", event.Options{Workers: 2})
		if err != nil {
			t.Fatal(err)
		}
		return st
	}},
	{"gonet", func(t *testing.T) Stack { return NewGoNet() }},
}

func forEachStack(t *testing.T, f func(t *testing.T, st Stack)) {
	for _, sc := range stacks {
		t.Run(sc.name, func(t *testing.T) {
			st := sc.make(t)
			t.Cleanup(func() {
				if err := st.Close(); err != nil {
					t.Error(err)
				}
				goleak.VerifyNone(t)
			})
			f(t, st)
		})
	}
}

// peer is a minimal connection over a Socket, the way a messenger Conn
// drives one: it writes its queue without blocking and reads everything
// offered, on its worker's context.
type peer struct {
	t      *testing.T
	w      Worker
	s      Socket
	out    [][]byte
	got    bytes.Buffer
	want   int
	done   chan struct{}
	up     chan error
	eof    bool
	pauses int  // PauseRead(true) after this many reads, then resume later
	hold   bool // PauseRead(true) for good once want bytes are in
	reads  int
	mu     sync.Mutex // guards got for the test goroutine after done
}

func newPeer(t *testing.T, w Worker, want int) *peer {
	return &peer{t: t, w: w, want: want, done: make(chan struct{}), up: make(chan error, 1)}
}

func (p *peer) OnConnected(err error) {
	p.up <- err
	if err == nil {
		p.flush()
	}
}

func (p *peer) OnReadable() {
	if !p.w.InContext() {
		p.t.Error("OnReadable off its context")
	}
	buf := make([]byte, 3000) // not a multiple of anything the stack uses
	for i := 0; i < 16; i++ {
		n, err := p.s.Read(buf)
		p.mu.Lock()
		p.got.Write(buf[:n])
		full := p.got.Len() >= p.want
		p.mu.Unlock()
		p.reads++
		if full && p.want > 0 {
			select {
			case <-p.done:
			default:
				close(p.done)
			}
			if p.hold {
				p.s.PauseRead(true)
				return
			}
		}
		if p.pauses > 0 && p.reads%p.pauses == 0 {
			p.s.PauseRead(true)
			p.w.AfterFunc(time.Millisecond, func() { p.s.PauseRead(false) })
			return
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				p.eof = true
			} else if !errors.Is(err, ErrWouldBlock) {
				p.t.Errorf("read: %v", err)
			}
			return
		}
	}
}

func (p *peer) OnWritable() { p.flush() }

func (p *peer) flush() { flushQueue(p.t, p.s, &p.out) }

// flushQueue writes out as much of *out as the socket takes, without
// blocking, the way a messenger Conn does; it asks for writability when
// the socket is full.
func flushQueue(t *testing.T, s Socket, out *[][]byte) {
	for len(*out) > 0 {
		n, err := s.Writev(*out)
		for n > 0 && len(*out) > 0 {
			if n >= len((*out)[0]) {
				n -= len((*out)[0])
				*out = (*out)[1:]
			} else {
				(*out)[0] = (*out)[0][n:]
				n = 0
			}
		}
		if errors.Is(err, ErrWouldBlock) {
			s.WantWrite(true)
			return
		}
		if err != nil {
			t.Errorf("write: %v", err)
			return
		}
	}
	s.WantWrite(false)
}

func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7) + seed
	}
	return b
}

func on(t *testing.T, w Worker, f func()) {
	t.Helper()
	ch := make(chan struct{})
	if err := w.Exec(func() { f(); close(ch) }); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatal("context stuck")
	}
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

func accept(t *testing.T, accepted chan Pending) Pending {
	t.Helper()
	select {
	case p := <-accepted:
		return p
	case <-time.After(10 * time.Second):
		t.Fatal("nothing accepted")
		return nil
	}
}

// TestStackBothWays sends 8 MiB each way at once, in 1 MiB writes, the
// receiving side pausing reads now and then: writes never block a
// context, so the two peers cannot deadlock however full the sockets get.
func TestStackBothWays(t *testing.T) {
	forEachStack(t, func(t *testing.T, st Stack) {
		const total = 8 << 20
		lw, lrel := st.Pick()
		defer lrel()
		ln, accepted := listen(t, lw)
		cw, crel := st.Pick()
		defer crel()
		sw, srel := st.Pick()
		defer srel()
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
		pend := accept(t, accepted)
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
	})
}

// TestStackDetach moves an accepted socket from one worker to another
// between two reads: every byte arrives once, in order.
func TestStackDetach(t *testing.T) {
	forEachStack(t, func(t *testing.T, st Stack) {
		const total = 2 << 20
		lw, lrel := st.Pick()
		defer lrel()
		ln, accepted := listen(t, lw)
		cw, crel := st.Pick()
		defer crel()
		cp := newPeer(t, cw, 0)
		cp.out = [][]byte{pattern(total, 3)}
		on(t, cw, func() {
			var err error
			if cp.s, err = cw.Connect(ln.Addr(), DialConfig{}, cp); err != nil {
				t.Fatal(err)
			}
		})
		if err := <-cp.up; err != nil {
			t.Fatal(err)
		}
		pend := accept(t, accepted)
		w1, rel1 := st.Pick()
		defer rel1()
		w2, rel2 := st.Pick()
		defer rel2()
		if w1 == w2 {
			t.Log("both owners on one worker")
		}
		// The first owner reads once, then stops, so that most of the
		// stream is left for the second (reading on, it could take it
		// all before the move).
		first := newPeer(t, w1, 1)
		first.hold = true
		on(t, w1, func() {
			var err error
			if first.s, err = pend.Attach(w1, DialConfig{}, first); err != nil {
				t.Fatal(err)
			}
		})
		select {
		case <-first.done:
		case <-time.After(10 * time.Second):
			t.Fatal("the first owner read nothing")
		}
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
			t.Fatal("moved socket stalled")
		}
		second.mu.Lock()
		got := append(head, second.got.Bytes()...)
		second.mu.Unlock()
		if !bytes.Equal(got, pattern(total, 3)) {
			t.Fatalf("after the move: %d bytes, not the stream sent", len(got))
		}
		on(t, w2, func() { second.s.Close() })
		on(t, lw, func() { ln.Close() })
		on(t, cw, func() { cp.s.Close() })
	})
}

// TestStackRefusedAndTimers: a refused connect reports ECONNREFUSED;
// timers run on the context, in order, and can be stopped; InContext
// tells the context from other goroutines.
func TestStackRefusedAndTimers(t *testing.T) {
	forEachStack(t, func(t *testing.T, st Stack) {
		w, rel := st.Pick()
		defer rel()
		// A port nobody listens on: bind one, close it.
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
		fired := make(chan string, 3)
		on(t, w, func() {
			w.AfterFunc(time.Millisecond, func() {
				if !w.InContext() || !st.InContext() {
					t.Error("timer ran off the context")
				}
				fired <- "a"
			})
			stopped := w.AfterFunc(time.Millisecond, func() { fired <- "stopped" })
			if !stopped.Stop() || stopped.Stop() {
				t.Error("Stop: want true then false")
			}
			w.AfterFunc(5*time.Millisecond, func() { fired <- "b" })
		})
		if a, b := <-fired, <-fired; a != "a" || b != "b" {
			t.Fatalf("timers fired %q, %q", a, b)
		}
		if st.InContext() || w.InContext() {
			t.Fatal("InContext true off the context")
		}
	})
}
