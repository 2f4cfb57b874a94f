//go:build linux || darwin || freebsd

package event

import (
	"errors"
	"io"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gomsgr/msgr/internal/sock"
)

// An echo server and client built on the loop the way the messenger uses
// it: a listener on one worker, each accepted connection handed to the
// least loaded worker with DispatchTask and living on that loop for good.

// scratch is one read buffer per loop: an idle connection holds no buffer,
// only one that could not write everything keeps its remainder.
type scratch struct{ buf []byte }

// echoServer accepts on worker 0 and spreads connections over the pool.
// Fields after the mutex-free counters are owned by worker 0's loop.
type echoServer struct {
	pool    *Pool
	live    atomic.Int64 // connections accepted and not yet closed
	total   atomic.Int64 // connections ever accepted
	changed chan struct{}

	lfd     int
	lid     FileID
	lc      *Center
	scratch map[*Center]*scratch // immutable after start
	failed  atomic.Pointer[error]
}

func startEchoServer(t testing.TB, pool *Pool, bufSize int) (*echoServer, netip.AddrPort) {
	t.Helper()
	lfd, err := sock.Listen(netip.MustParseAddrPort("127.0.0.1:0"), sock.ListenConfig{Backlog: 4096})
	if err != nil {
		t.Fatal(err)
	}
	addr, err := sock.LocalAddr(lfd)
	if err != nil {
		t.Fatal(err)
	}
	s := &echoServer{pool: pool, lfd: lfd, lc: pool.Workers()[0].Center(),
		scratch: map[*Center]*scratch{}, changed: make(chan struct{}, 1)}
	for _, w := range pool.Workers() {
		s.scratch[w.Center()] = &scratch{buf: make([]byte, bufSize)}
	}
	onLoop(t, s.lc, func() {
		if s.lid, err = s.lc.AddFile(lfd, Readable, s); err != nil {
			t.Error(err)
		}
	})
	t.Cleanup(func() {
		// The pool may be stopped already; then the descriptor just closes.
		_ = s.lc.Call(t.Context(), func() { s.lc.RemoveFile(s.lid) })
		sock.Close(lfd)
	})
	return s, addr
}

func (s *echoServer) fail(err error) {
	s.failed.CompareAndSwap(nil, &err)
	s.notify()
}

func (s *echoServer) notify() {
	select {
	case s.changed <- struct{}{}:
	default:
	}
}

// HandleFileEvent accepts what is pending (bounded, so other events on
// this loop keep their turn; level-triggering brings us back).
func (s *echoServer) HandleFileEvent(fd int, _ Mask) bool {
	for range 256 {
		cfd, _, err := sock.Accept(fd)
		if errors.Is(err, sock.ErrWouldBlock) {
			return false
		}
		if err != nil {
			s.fail(err)
			return false
		}
		sock.SetNoDelay(cfd, true)
		w := s.pool.Pick()
		c := &echoConn{s: s, fd: cfd, w: w, c: w.Center(), scr: s.scratch[w.Center()]}
		s.live.Add(1)
		s.total.Add(1)
		if err := c.c.DispatchTask(c); err != nil {
			sock.Close(cfd)
			w.Leave()
			s.live.Add(-1)
		}
	}
	return false
}

// echoConn is one server connection; every field is owned by its
// worker's loop after the registering task ran.
type echoConn struct {
	s    *echoServer
	fd   int
	w    *Worker
	c    *Center
	id   FileID
	scr  *scratch
	pend []byte // bytes read but not yet written back
}

func (e *echoConn) RunTask() {
	id, err := e.c.AddFile(e.fd, Readable, e)
	if err != nil {
		e.s.fail(err)
		e.close()
		return
	}
	e.id = id
}

// HandleFileEvent reports drained after EAGAIN or a short read (the
// receive queue was empty), and after a short write or a mask change.
func (e *echoConn) HandleFileEvent(fd int, m Mask) bool {
	if len(e.pend) > 0 {
		if m&Writable == 0 {
			return false
		}
		n, err := sock.Write(fd, e.pend)
		if err != nil && !errors.Is(err, sock.ErrWouldBlock) {
			e.close()
			return true
		}
		e.pend = e.pend[n:]
		if len(e.pend) > 0 {
			return true
		}
		e.pend = nil
		e.c.SetMask(e.id, Readable)
		return true
	}
	if m&Readable == 0 {
		return false
	}
	n, err := sock.Read(fd, e.scr.buf)
	if errors.Is(err, sock.ErrWouldBlock) {
		return true
	}
	if err != nil {
		e.close()
		return true
	}
	w, err := sock.Write(fd, e.scr.buf[:n])
	if err != nil && !errors.Is(err, sock.ErrWouldBlock) {
		e.close()
		return true
	}
	if w < n {
		// Stop reading until the peer takes what it sent.
		e.pend = append([]byte(nil), e.scr.buf[w:n]...)
		e.c.SetMask(e.id, Writable)
	}
	return n < len(e.scr.buf)
}

func (e *echoConn) close() {
	if e.id != 0 {
		e.c.RemoveFile(e.id)
	}
	sock.Close(e.fd)
	e.w.Leave()
	e.s.live.Add(-1)
	e.s.notify()
}

// echoClients are loop-driven clients: each connects, sends msg, reads
// the echo, and repeats rounds times, staying connected afterwards.
type echoClients struct {
	pool    *Pool
	msg     []byte
	rounds  int
	done    atomic.Int64 // clients that finished all rounds
	changed chan struct{}
	failed  atomic.Pointer[error]

	mu    sync.Mutex
	conns []*echoClient // guarded by mu
}

type echoClient struct {
	cs   *echoClients
	c    *Center
	w    *Worker
	fd   int
	id   FileID
	addr netip.AddrPort
	src  netip.AddrPort
	got  int // echo bytes received this round
	left int // rounds still to run
	buf  []byte
}

func (cs *echoClients) notify() {
	select {
	case cs.changed <- struct{}{}:
	default:
	}
}

func (cs *echoClients) fail(err error) {
	cs.failed.CompareAndSwap(nil, &err)
	cs.notify()
}

// dial starts one client from src to addr on the least loaded worker.
func (cs *echoClients) dial(addr, src netip.AddrPort) error {
	w := cs.pool.Pick()
	cl := &echoClient{cs: cs, c: w.Center(), w: w, fd: -1, addr: addr, src: src, left: cs.rounds,
		buf: make([]byte, len(cs.msg))}
	cs.mu.Lock()
	cs.conns = append(cs.conns, cl)
	cs.mu.Unlock()
	return cl.c.DispatchTask(cl)
}

// RunTask connects; it is queued once per client.
func (cl *echoClient) RunTask() {
	fd, pending, err := sock.Connect(cl.addr, sock.DialConfig{Local: cl.src, NoDelay: true})
	if err != nil {
		cl.cs.fail(err)
		return
	}
	cl.fd = fd
	mask := Readable
	if pending {
		mask = Writable
	}
	if cl.id, err = cl.c.AddFile(fd, mask, cl); err != nil {
		cl.cs.fail(err)
		return
	}
	if !pending {
		cl.send()
	}
}

func (cl *echoClient) send() {
	n, err := sock.Write(cl.fd, cl.cs.msg)
	if err != nil || n != len(cl.cs.msg) {
		// A small message on a fresh socket always fits.
		cl.cs.fail(errors.Join(errors.New("short write"), err))
		return
	}
	cl.got = 0
}

func (cl *echoClient) HandleFileEvent(fd int, m Mask) bool {
	if m&Writable != 0 {
		if err := sock.ConnectResult(fd); err != nil {
			cl.cs.fail(err)
			cl.c.RemoveFile(cl.id)
			return false
		}
		cl.c.SetMask(cl.id, Readable)
		cl.send()
		return false
	}
	n, err := sock.Read(fd, cl.buf[cl.got:])
	if errors.Is(err, sock.ErrWouldBlock) {
		return true
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		cl.cs.fail(err)
		cl.c.RemoveFile(cl.id)
		return false
	}
	cl.got += n
	if cl.got < len(cl.buf) {
		return true // a short read: the receive queue is empty
	}
	if string(cl.buf) != string(cl.cs.msg) {
		cl.cs.fail(errors.New("echo differs from the message"))
		return false
	}
	cl.left--
	if cl.left > 0 {
		cl.send()
		return false
	}
	cl.cs.done.Add(1)
	cl.cs.notify()
	return false
}

// waitUntil waits for cond, re-checking after each notification on ch;
// notifications coalesce but never get lost, as each follows its change.
func waitUntil(t testing.TB, ch <-chan struct{}, deadline <-chan time.Time, what string, cond func() bool, failed func() error) {
	t.Helper()
	for !cond() {
		if err := failed(); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("%s: timed out", what)
		}
	}
}

func (cs *echoClients) err() error {
	if p := cs.failed.Load(); p != nil {
		return *p
	}
	return nil
}

func (s *echoServer) err() error {
	if p := s.failed.Load(); p != nil {
		return *p
	}
	return nil
}

// closeAll removes and closes every client on its loop.
func (cs *echoClients) closeAll(t testing.TB) {
	cs.mu.Lock()
	conns := cs.conns
	cs.conns = nil
	cs.mu.Unlock()
	for _, w := range cs.pool.Workers() {
		c := w.Center()
		onLoop(t, c, func() {
			for _, cl := range conns {
				if cl.c != c || cl.fd < 0 {
					continue
				}
				c.RemoveFile(cl.id)
				sock.Close(cl.fd)
				cl.w.Leave()
			}
		})
	}
}
