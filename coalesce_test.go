package msgr

import (
	"net/netip"
	"sync/atomic"
	"testing"

	"github.com/gomsgr/msgr/internal/sock"
	"github.com/gomsgr/msgr/internal/stack"
)

// writeCounter is a transport that counts the Writev calls of the
// sockets its workers connect (the client side of a test), and the
// functions queued on its workers: how many system calls and loop
// hand-offs a burst of messages costs, measured without timing.
type writeCounter struct {
	stack.Stack
	writes atomic.Int64
	short  atomic.Int64 // writevs that took less than offered
	execs  atomic.Int64
}

type countingWorker struct {
	stack.Worker
	wc *writeCounter
}

type countingSocket struct {
	stack.Socket
	wc *writeCounter
}

func (s *writeCounter) Pick() (stack.Worker, func()) {
	w, release := s.Stack.Pick()
	return &countingWorker{Worker: w, wc: s}, release
}

func (w *countingWorker) Exec(f func()) error {
	w.wc.execs.Add(1)
	return w.Worker.Exec(f)
}

func (w *countingWorker) Connect(a netip.AddrPort, cfg stack.DialConfig, h stack.Handler) (stack.Socket, error) {
	s, err := w.Worker.Connect(a, cfg, h)
	if err != nil {
		return nil, err
	}
	return &countingSocket{Socket: s, wc: w.wc}, nil
}

func (s *countingSocket) Writev(bufs [][]byte) (int, error) {
	s.wc.writes.Add(1)
	offered := 0
	for _, b := range bufs[:min(len(bufs), sock.MaxIovecs)] {
		offered += len(b)
	}
	n, err := s.Socket.Writev(bufs)
	if n < offered {
		s.wc.short.Add(1)
	}
	return n, err
}

// coalesceClient returns a connection from a client on a transport of
// its own (one worker, writes counted) to a server on the usual one
// (recording into srvRec), once the session is open. setup, if any,
// configures the server (default: a stateful server); pol is the
// client's policy (default: lossless).
func coalesceClient(t *testing.T, srvRec *recorder, setup func(*Messenger), pol ...Policy) (*Conn, *writeCounter) {
	t.Helper()
	st, err := NewEventLoopStack("coalesce", 1)
	if err != nil {
		t.Fatal(err)
	}
	wc := &writeCounter{Stack: st}
	var srv *Messenger
	if setup == nil {
		srv = newTestMessenger(t, osdName(0), true, Options{}, srvRec)
		srv.SetDefaultPolicy(StatefulServer(0))
	} else {
		srv = newTestMessenger(t, osdName(0), true, Options{}, nil)
		setup(srv)
	}
	cli := startOnStack(t, Config{Name: clientName(1), Nonce: 7, Registry: testRegistry(t), Stack: wc}, Options{}, st)
	cli.SetDefaultPolicy(LosslessClient(0))
	if len(pol) > 0 {
		cli.SetDefaultPolicy(pol[0])
	}
	c, err := cli.GetConnection(srv.Addrs(), osdName(0).Type)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Send(&testMsg{From: 1, Seq: 0}); err != nil {
		t.Fatal(err)
	}
	srvRec.waitFor(t, "the first message", func() bool { return srvRec.count() == 1 })
	return c, wc
}

// startOnStack starts a messenger on cfg.Stack, a transport of its own
// (or a wrapper of st), and shuts both down when the test ends.
func startOnStack(t *testing.T, cfg Config, opts Options, st Stack) *Messenger {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = testLogger(t)
	}
	m, err := New(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		shutdown(t, m)
		if err := st.Close(); err != nil {
			t.Error(err)
		}
	})
	return m
}

// TestSendCoalesces: messages Sent while the connection's loop is busy go
// out together, in one writev per IOV_MAX buffers, not one each; and a
// free-running burst from one goroutine takes far fewer writevs than
// messages. Counted at the socket, not timed.
func TestSendCoalesces(t *testing.T) {
	const n = 200 // 4 buffers per message: under IOV_MAX (1024) in all
	data := make([]byte, 100)
	t.Run("loop busy", func(t *testing.T) {
		rec := newRecorder()
		c, wc := coalesceClient(t, rec, nil)
		// Hold the connection's loop while the burst is queued.
		release, held := make(chan struct{}), make(chan struct{})
		if err := c.worker.Exec(func() { close(held); <-release }); err != nil {
			t.Fatal(err)
		}
		<-held
		before, short, execs := wc.writes.Load(), wc.short.Load(), wc.execs.Load()
		for i := 1; i <= n; i++ {
			if err := c.Send(&testMsg{From: 1, Seq: uint64(i), Data: data}); err != nil {
				t.Fatal(err)
			}
		}
		close(release)
		rec.waitFor(t, "the burst", func() bool { return rec.count() == n+1 })
		// One writev, and one more after each that the socket took only
		// part of.
		w, sh := wc.writes.Load()-before, wc.short.Load()-short
		if w > 1+sh {
			t.Errorf("%d messages queued on a busy loop took %d writevs (%d short)", n, w, sh)
		}
		// The first Send queued the drain; the others joined it.
		if e := wc.execs.Load() - execs; e != 1 {
			t.Errorf("%d Sends queued %d functions on the loop, want 1", n, e)
		}
		checkInOrder(t, rec, 1, 0, n+1)
	})
	t.Run("free running", func(t *testing.T) {
		rec := newRecorder()
		c, wc := coalesceClient(t, rec, nil)
		before, execs := wc.writes.Load(), wc.execs.Load()
		const burst = 2000
		for i := 1; i <= burst; i++ {
			if err := c.SendContext(t.Context(), &testMsg{From: 1, Seq: uint64(i), Data: data}); err != nil {
				t.Fatal(err)
			}
		}
		rec.waitFor(t, "the burst", func() bool { return rec.count() == burst+1 })
		w, e := wc.writes.Load()-before, wc.execs.Load()-execs
		t.Logf("%d messages Sent back to back: %d writevs (%.1f messages each), %d drains queued", burst, w, float64(burst)/float64(w), e)
		if w > burst/4 || e > burst/4 {
			t.Errorf("%d messages Sent back to back took %d writevs and %d drains", burst, w, e)
		}
		checkInOrder(t, rec, 1, 0, burst+1)
	})
}
