//go:build unix

package stack

import (
	"bytes"
	"errors"
	"io"
	"net/netip"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

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
	pauses int // PauseRead(true) after this many reads, then resume later
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

func (p *peer) flush() {
	for len(p.out) > 0 {
		n, err := p.s.Writev(p.out)
		for n > 0 && len(p.out) > 0 {
			if n >= len(p.out[0]) {
				n -= len(p.out[0])
				p.out = p.out[1:]
			} else {
				p.out[0] = p.out[0][n:]
				n = 0
			}
		}
		if errors.Is(err, ErrWouldBlock) {
			p.s.WantWrite(true)
			return
		}
		if err != nil {
			p.t.Errorf("write: %v", err)
			return
		}
	}
	p.s.WantWrite(false)
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

// TestGoNetBothWays sends 24 MiB each way at once, in 1 MiB writes, with
// the reading side pausing now and then: writes never block a context,
// so the two peers cannot deadlock however full the sockets get.
func TestGoNetBothWays(t *testing.T) {
	defer goleak.VerifyNone(t)
	st := NewGoNet()
	defer st.Close()
	const total = 24 << 20
	lw, lrel := st.Pick()
	defer lrel()
	var ln Listener
	accepted := make(chan Pending, 1)
	on(t, lw, func() {
		var err error
		ln, err = lw.Listen(netip.MustParseAddrPort("127.0.0.1:0"), ListenConfig{})
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
	cw, crel := st.Pick()
	defer crel()
	sw, srel := st.Pick()
	defer srel()
	cp, sp := newPeer(t, cw, total), newPeer(t, sw, total)
	data := pattern(total, 1)
	back := pattern(total, 2)
	for i := 0; i < total; i += 1 << 20 {
		cp.out = append(cp.out, data[i:i+1<<20])
		sp.out = append(sp.out, back[i:i+1<<20])
	}
	sp.pauses = 7
	on(t, cw, func() {
		var err error
		cp.s, err = cw.Connect(ln.Addr(), DialConfig{NoDelay: true}, cp)
		if err != nil {
			t.Fatal(err)
		}
	})
	if err := <-cp.up; err != nil {
		t.Fatal(err)
	}
	var pend Pending
	select {
	case pend = <-accepted:
	case <-time.After(10 * time.Second):
		t.Fatal("nothing accepted")
	}
	on(t, sw, func() {
		var err error
		sp.s, err = pend.Attach(sw, DialConfig{NoDelay: true}, sp)
		if err != nil {
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

// TestGoNetDetach moves an accepted socket to another worker in the
// middle of a stream: every byte arrives once, in order.
func TestGoNetDetach(t *testing.T) {
	defer goleak.VerifyNone(t)
	st := NewGoNet()
	defer st.Close()
	const total = 4 << 20
	lw, lrel := st.Pick()
	defer lrel()
	var ln Listener
	accepted := make(chan Pending, 1)
	on(t, lw, func() {
		var err error
		ln, err = lw.Listen(netip.MustParseAddrPort("127.0.0.1:0"), ListenConfig{})
		if err != nil {
			t.Fatal(err)
		}
		_ = ln.Watch(func() {
			if p, err := ln.Accept(); err == nil {
				accepted <- p
			}
		})
	})
	cw, crel := st.Pick()
	defer crel()
	cp := newPeer(t, cw, 0)
	data := pattern(total, 3)
	for i := 0; i < total; i += 64 << 10 {
		cp.out = append(cp.out, data[i:i+64<<10])
	}
	on(t, cw, func() {
		var err error
		cp.s, err = cw.Connect(ln.Addr(), DialConfig{}, cp)
		if err != nil {
			t.Fatal(err)
		}
	})
	if err := <-cp.up; err != nil {
		t.Fatal(err)
	}
	pend := <-accepted
	w1, rel1 := st.Pick()
	defer rel1()
	w2, rel2 := st.Pick()
	defer rel2()
	first := newPeer(t, w1, 0)
	on(t, w1, func() {
		var err error
		first.s, err = pend.Attach(w1, DialConfig{}, first)
		if err != nil {
			t.Fatal(err)
		}
	})
	// Let some bytes through, then move the socket.
	deadline := time.Now().Add(10 * time.Second)
	for {
		first.mu.Lock()
		n := first.got.Len()
		first.mu.Unlock()
		if n > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	var moved Pending
	on(t, w1, func() {
		var err error
		moved, err = first.s.Detach()
		if err != nil {
			t.Fatal(err)
		}
	})
	first.mu.Lock()
	head := append([]byte(nil), first.got.Bytes()...)
	first.mu.Unlock()
	second := newPeer(t, w2, total-len(head))
	on(t, w2, func() {
		var err error
		second.s, err = moved.Attach(w2, DialConfig{}, second)
		if err != nil {
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
	on(t, w2, func() {
		second.s.Close()
		ln.Close()
	})
	// The peer saw the close: EOF on the client.
	on(t, cw, func() {})
}

func TestGoNetConnectRefusedAndTimers(t *testing.T) {
	defer goleak.VerifyNone(t)
	st := NewGoNet()
	defer st.Close()
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
		p.s, err = w.Connect(addr, DialConfig{}, p)
		if err != nil {
			t.Fatal(err)
		}
	})
	if err := <-p.up; err == nil {
		t.Fatal("connect to a closed port succeeded")
	}
	fired := make(chan string, 3)
	on(t, w, func() {
		w.AfterFunc(time.Millisecond, func() { fired <- "a" })
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
	on(t, w, func() {
		if !w.InContext() || !st.InContext() {
			t.Error("InContext false on the context")
		}
	})
}

func TestGoNetReleasedWorker(t *testing.T) {
	defer goleak.VerifyNone(t)
	st := NewGoNet()
	w, rel := st.Pick()
	on(t, w, func() {})
	rel()
	deadline := time.Now().Add(5 * time.Second)
	for w.Exec(func() {}) == nil {
		if time.Now().After(deadline) {
			t.Fatal("worker still takes work after release")
		}
		time.Sleep(time.Millisecond)
	}
	if err := w.Exec(func() {}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Exec after release: %v", err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
}
