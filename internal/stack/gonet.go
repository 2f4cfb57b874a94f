//go:build unix

package stack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gomsgr/msgr/internal/goid"
	"github.com/gomsgr/msgr/internal/sock"
)

// GoNet is the goroutine-per-connection Stack over Go's net package, the
// baseline the event-loop stack is measured against and the fallback
// where there is no epoll or kqueue.
//
// Every Pick makes a new worker: one connection, one execution context.
// A context is a mutex; what runs on it runs on one of three goroutines
// while holding it:
//
//   - the socket's reader goroutine: blocks in net.Conn.Read, then runs
//     OnReadable inline (no hand-off) until the bytes it read are drained;
//   - the worker's executor goroutine (started by Exec when not running,
//     gone after a second without work or at release): runs Exec'd
//     functions, timers and OnWritable in order. What is Exec'd while
//     the context is held runs when its holder leaves, before it lets go
//     (in order, never inline in Exec): a reader that answers a message
//     writes the answer itself, with no hand-off;
//   - the dial goroutine hands its result over through Exec.
//
// Writes do not block the context: Writev makes one writev attempt on the
// socket through net's RawConn; on a full socket it returns ErrWouldBlock
// and WantWrite parks a goroutine in Go's netpoller until the socket is
// writable, then runs OnWritable through Exec. (Blocking writes would
// deadlock two peers writing big messages at each other: both contexts
// stuck in write, both readers waiting for their context.)
//
// Safe for use from any goroutine.
type GoNet struct {
	closed atomic.Bool
	wg     sync.WaitGroup // every goroutine the stack started
	ids    atomic.Int64

	mu      sync.Mutex
	workers map[*netWorker]struct{}
	socks   map[*netSocket]struct{}
	lns     map[*netListener]struct{}
}

// NewGoNet makes a goroutine-per-connection stack.
func NewGoNet() *GoNet {
	return &GoNet{
		workers: map[*netWorker]struct{}{},
		socks:   map[*netSocket]struct{}{},
		lns:     map[*netListener]struct{}{},
	}
}

// Name returns "gonet".
func (s *GoNet) Name() string { return "gonet" }

// Pick makes a worker for one user; release stops it once its queued
// functions have run.
func (s *GoNet) Pick() (Worker, func()) {
	w := &netWorker{s: s, id: int(s.ids.Add(1)), wake: make(chan struct{}, 1)}
	s.mu.Lock()
	if !s.closed.Load() {
		s.workers[w] = struct{}{}
	} else {
		w.stopped = true
	}
	s.mu.Unlock()
	var once sync.Once
	return w, func() { once.Do(w.release) }
}

// InContext reports whether the caller runs on one of the stack's
// contexts. It costs a microsecond or so per worker check batch: for slow
// paths only.
func (s *GoNet) InContext() bool {
	g := goid.Current()
	s.mu.Lock()
	defer s.mu.Unlock()
	for w := range s.workers {
		if w.owner.Load() == g {
			return true
		}
	}
	return false
}

// Close stops every worker, closes the sockets and listeners still open
// and waits for the stack's goroutines. It must not run on a context.
func (s *GoNet) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	s.mu.Lock()
	ws := make([]*netWorker, 0, len(s.workers))
	for w := range s.workers {
		ws = append(ws, w)
	}
	for c := range s.socks {
		c.abort()
	}
	for l := range s.lns {
		_ = l.ln.Close()
	}
	s.mu.Unlock()
	for _, w := range ws {
		w.release()
	}
	s.wg.Wait()
	return nil
}

func (s *GoNet) track(c *netSocket, on bool) {
	s.mu.Lock()
	if on {
		s.socks[c] = struct{}{}
	} else {
		delete(s.socks, c)
	}
	s.mu.Unlock()
}

// netWorker is one connection's execution context.
type netWorker struct {
	s  *GoNet
	id int
	mu sync.Mutex // held while anything runs on the context
	// owner is the goroutine id holding mu, 0 when none (for InContext).
	owner atomic.Uintptr

	qmu      sync.Mutex
	q        []func()
	spare    []func()
	started  bool
	stopped  bool
	draining bool // release asked: stop once the queue is empty
	held     bool // the context is held; its holder runs the queue on leaving
	wake     chan struct{}
}

func (w *netWorker) ID() int { return w.id }

// enter takes the context for the goroutine whose id is g.
func (w *netWorker) enter(g uintptr) {
	w.mu.Lock()
	w.owner.Store(g)
	w.qmu.Lock()
	w.held = true
	w.qmu.Unlock()
}

// leave gives the context up, first running what was Exec'd while it was
// held: the holder works the queue as an event loop would, so that a
// reader answering a message does not hand the write to another
// goroutine.
func (w *netWorker) leave() {
	for {
		w.qmu.Lock()
		if len(w.q) == 0 {
			w.held = false
			w.qmu.Unlock()
			break
		}
		batch := w.q
		w.q, w.spare = w.spare[:0], nil
		w.qmu.Unlock()
		for i, f := range batch {
			f()
			batch[i] = nil
		}
		w.qmu.Lock()
		w.spare = batch[:0]
		w.qmu.Unlock()
	}
	w.owner.Store(0)
	w.mu.Unlock()
}

func (w *netWorker) InContext() bool {
	o := w.owner.Load()
	return o != 0 && o == goid.Current()
}

func (w *netWorker) Now() time.Time { return time.Now() }

func (w *netWorker) Exec(f func()) error {
	w.qmu.Lock()
	if w.stopped {
		w.qmu.Unlock()
		return ErrClosed
	}
	w.q = append(w.q, f)
	if w.held {
		// The goroutine holding the context runs it before leaving.
		w.qmu.Unlock()
		return nil
	}
	if !w.started {
		w.started = true
		w.s.wg.Add(1)
		go w.run()
	}
	w.qmu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
	return nil
}

// executorIdle is how long an executor goroutine waits for work before
// it exits (the next Exec starts another), so that an idle connection
// costs one goroutine, its reader.
const executorIdle = time.Second

// run is the executor goroutine: it runs queued functions in order, in
// batches, on the context.
func (w *netWorker) run() {
	defer w.s.wg.Done()
	g := goid.Current()
	idle := time.NewTimer(executorIdle)
	defer idle.Stop()
	for {
		w.qmu.Lock()
		var batch []func()
		if len(w.q) > 0 {
			batch, w.q, w.spare = w.q, w.spare[:0], nil
		}
		stop := len(batch) == 0 && (w.draining || w.stopped)
		if stop {
			w.stopped = true
		}
		w.qmu.Unlock()
		if stop {
			return
		}
		if len(batch) == 0 {
			idle.Reset(executorIdle)
			select {
			case <-w.wake:
				continue
			case <-idle.C:
			}
			w.qmu.Lock()
			if len(w.q) == 0 && !w.draining && !w.stopped {
				w.started = false
				w.spare = nil
				w.qmu.Unlock()
				return
			}
			w.qmu.Unlock()
			continue
		}
		w.enter(g)
		for i, f := range batch {
			f()
			batch[i] = nil
		}
		w.qmu.Lock()
		if w.spare == nil {
			w.spare = batch[:0]
		}
		w.qmu.Unlock()
		w.leave()
	}
}

// release stops the executor once what is queued has run; Exec fails
// from then on.
func (w *netWorker) release() {
	w.qmu.Lock()
	w.draining = true
	if !w.started {
		w.stopped = true
	}
	w.qmu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
	w.s.mu.Lock()
	delete(w.s.workers, w)
	w.s.mu.Unlock()
}

// netTimer is an AfterFunc; state is guarded by the worker's context.
type netTimer struct {
	t     *time.Timer
	state int // 0 pending, 1 ran, 2 stopped
}

func (t *netTimer) Stop() bool {
	if t.state != 0 {
		return false
	}
	t.state = 2
	t.t.Stop()
	return true
}

func (w *netWorker) AfterFunc(d time.Duration, f func()) Timer {
	t := &netTimer{}
	run := func() {
		if t.state != 0 {
			return
		}
		t.state = 1
		f()
	}
	t.t = time.AfterFunc(d, func() { _ = w.Exec(run) })
	return t
}

func (w *netWorker) Listen(addr netip.AddrPort, cfg ListenConfig) (Listener, error) {
	lc := net.ListenConfig{}
	if cfg.RecvBuf > 0 {
		lc.Control = recvBufControl(cfg.RecvBuf)
	}
	// Go's net takes the backlog from the system (somaxconn); cfg.Backlog
	// cannot be applied here.
	ln, err := lc.Listen(context.Background(), "tcp", addr.String())
	if err != nil {
		return nil, err
	}
	l := &netListener{w: w, ln: ln.(*net.TCPListener), addr: ln.Addr().(*net.TCPAddr).AddrPort()}
	l.cond = sync.NewCond(&l.mu)
	w.s.mu.Lock()
	w.s.lns[l] = struct{}{}
	w.s.mu.Unlock()
	w.s.wg.Add(1)
	go l.acceptLoop()
	return l, nil
}

func recvBufControl(n int) func(string, string, syscall.RawConn) error {
	return func(_, _ string, rc syscall.RawConn) error {
		var serr error
		if err := rc.Control(func(fd uintptr) {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, n)
		}); err != nil {
			return err
		}
		return serr
	}
}

// netListener accepts on its own goroutine while watched and queues the
// connections for Accept on the owning context.
type netListener struct {
	w    *netWorker
	ln   *net.TCPListener
	addr netip.AddrPort

	mu           sync.Mutex
	cond         *sync.Cond
	watching     bool
	closed       bool
	notified     bool // onAcceptable is queued and has not run yet
	onAcceptable func()
	queue        []*net.TCPConn
	err          error // accept error to report once
}

func (l *netListener) Addr() netip.AddrPort { return l.addr }

func (l *netListener) acceptLoop() {
	defer l.w.s.wg.Done()
	for {
		l.mu.Lock()
		for !l.watching && !l.closed {
			l.cond.Wait()
		}
		closed := l.closed
		l.mu.Unlock()
		if closed {
			return
		}
		c, err := l.ln.AcceptTCP()
		l.mu.Lock()
		if l.closed {
			l.mu.Unlock()
			if c != nil {
				c.Close()
			}
			return
		}
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				l.mu.Unlock()
				return
			}
			l.err = err
		} else {
			l.queue = append(l.queue, c)
		}
		notify := !l.notified && l.watching
		if notify {
			l.notified = true
		}
		l.mu.Unlock()
		if notify {
			_ = l.w.Exec(l.fire)
		}
		if err != nil {
			// Do not spin on a persistent failure (EMFILE).
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// fire runs on the context.
func (l *netListener) fire() {
	l.mu.Lock()
	l.notified = false
	f := l.onAcceptable
	ok := l.watching && !l.closed && (len(l.queue) > 0 || l.err != nil)
	l.mu.Unlock()
	if ok && f != nil {
		f()
	}
}

func (l *netListener) Watch(onAcceptable func()) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return ErrClosed
	}
	l.onAcceptable = onAcceptable
	l.watching = true
	l.cond.Broadcast()
	if (len(l.queue) > 0 || l.err != nil) && !l.notified {
		l.notified = true
		_ = l.w.Exec(l.fire)
	}
	return nil
}

func (l *netListener) Unwatch() {
	l.mu.Lock()
	l.watching = false
	l.mu.Unlock()
}

func (l *netListener) Accept() (Pending, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, ErrClosed
	}
	if len(l.queue) > 0 {
		c := l.queue[0]
		l.queue[0] = nil
		l.queue = l.queue[1:]
		return &netPending{s: l.w.s, c: c, remote: c.RemoteAddr().(*net.TCPAddr).AddrPort()}, nil
	}
	if l.err != nil {
		err := l.err
		l.err = nil
		return nil, err
	}
	return nil, ErrWouldBlock
}

func (l *netListener) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	q := l.queue
	l.queue = nil
	l.cond.Broadcast()
	l.mu.Unlock()
	for _, c := range q {
		c.Close()
	}
	l.w.s.mu.Lock()
	delete(l.w.s.lns, l)
	l.w.s.mu.Unlock()
	return l.ln.Close()
}

// netPending is a connection between workers: accepted, or detached from
// a socket whose reader may still hold bytes it read (leftover, complete
// once readerDone is closed).
type netPending struct {
	s      *GoNet
	mu     sync.Mutex
	c      *net.TCPConn // nil once attached or closed
	remote netip.AddrPort
	// From Detach: the old reader's goroutine ends by appending what it
	// read and closing readerDone.
	leftover   []byte
	leftErr    error
	readerDone chan struct{}
	waiterDone chan struct{} // nil when no write waiter was parked
}

func (p *netPending) RemoteAddr() netip.AddrPort { return p.remote }

func (p *netPending) take() *net.TCPConn {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := p.c
	p.c = nil
	return c
}

func (p *netPending) Close() error {
	if c := p.take(); c != nil {
		return c.Close()
	}
	return nil
}

func (p *netPending) Attach(w Worker, cfg DialConfig, h Handler) (Socket, error) {
	nw, ok := w.(*netWorker)
	if !ok {
		p.Close()
		return nil, fmt.Errorf("stack: attach to a %T worker", w)
	}
	c := p.take()
	if c == nil {
		return nil, ErrClosed
	}
	if p.readerDone != nil {
		<-p.readerDone
		if p.waiterDone != nil {
			<-p.waiterDone
		}
		// The old reader and write waiter were stopped with deadlines.
		if err := c.SetDeadline(time.Time{}); err != nil {
			c.Close()
			return nil, err
		}
	}
	if err := configure(c, cfg); err != nil {
		c.Close()
		return nil, err
	}
	s := newNetSocket(nw, h)
	s.remote = p.remote
	s.pending, s.rerr = p.leftover, p.leftErr
	if err := s.setConn(c); err != nil {
		c.Close()
		return nil, err
	}
	s.startReader()
	return s, nil
}

func configure(c *net.TCPConn, cfg DialConfig) error {
	if err := c.SetNoDelay(cfg.NoDelay); err != nil {
		return err
	}
	if cfg.RecvBuf > 0 {
		if err := c.SetReadBuffer(cfg.RecvBuf); err != nil {
			return err
		}
	}
	return nil
}

func (w *netWorker) Connect(addr netip.AddrPort, cfg DialConfig, h Handler) (Socket, error) {
	if w.s.closed.Load() {
		return nil, ErrClosed
	}
	s := newNetSocket(w, h)
	s.remote = addr
	ctx, cancel := context.WithCancel(context.Background())
	s.cancelDial = cancel
	d := net.Dialer{}
	if cfg.RecvBuf > 0 {
		d.Control = recvBufControl(cfg.RecvBuf)
	}
	w.s.track(s, true)
	w.s.wg.Add(1)
	go func() {
		defer w.s.wg.Done()
		nc, err := d.DialContext(ctx, "tcp", addr.String())
		cancel()
		var c *net.TCPConn
		if err == nil {
			c = nc.(*net.TCPConn)
			err = configure(c, cfg)
		}
		if xerr := w.Exec(func() { s.connected(c, err) }); xerr != nil && c != nil {
			c.Close()
		}
	}()
	return s, nil
}

// netSocket is one connection. Fields below mu-comments are guarded by the
// worker's context unless marked otherwise.
type netSocket struct {
	w      *netWorker
	h      Handler
	c      *net.TCPConn
	rc     syscall.RawConn
	local  netip.AddrPort
	remote netip.AddrPort

	cancelDial func()
	connecting bool
	closed     bool
	detached   *netPending // set by Detach
	paused     bool
	wantWrite  bool
	waiting    bool // a write waiter is parked; writes would block
	// pending are bytes the reader read and Read has not returned yet;
	// rerr is the error that ended reading, returned once they are gone.
	pending []byte
	rerr    error
	rerrOut bool // rerr has been returned by Read
	// readerExited: the reader goroutine is gone (it closes a detached
	// pending's readerDone on its way out, or Detach does after).
	readerExited bool
	waiterDone   chan struct{}               // closed when the parked write waiter leaves the netpoller
	ac           atomic.Pointer[net.TCPConn] // c, for abort from any goroutine

	resume  chan struct{} // wakes a reader waiting for PauseRead(false)
	aborted atomic.Bool   // the stack closed underneath (any goroutine)
}

func newNetSocket(w *netWorker, h Handler) *netSocket {
	return &netSocket{w: w, h: h, connecting: true, resume: make(chan struct{}, 1)}
}

func (s *netSocket) setConn(c *net.TCPConn) error {
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	s.c, s.rc, s.connecting = c, rc, false
	s.ac.Store(c)
	if a, ok := c.LocalAddr().(*net.TCPAddr); ok {
		s.local = a.AddrPort()
	}
	if a, ok := c.RemoteAddr().(*net.TCPAddr); ok && !s.remote.IsValid() {
		s.remote = a.AddrPort()
	}
	s.w.s.track(s, true)
	return nil
}

// connected runs on the context with the dial's outcome.
func (s *netSocket) connected(c *net.TCPConn, err error) {
	if s.closed {
		if c != nil {
			c.Close()
		}
		return
	}
	if err == nil {
		err = s.setConn(c)
		if err != nil {
			c.Close()
		}
	}
	if err != nil {
		s.closed = true
		s.w.s.track(s, false)
		s.h.OnConnected(err)
		return
	}
	s.startReader()
	s.h.OnConnected(nil)
}

// abort closes the connection from outside the context (stack Close).
func (s *netSocket) abort() {
	s.aborted.Store(true)
	if s.cancelDial != nil {
		s.cancelDial()
	}
	if c := s.ac.Load(); c != nil {
		_ = c.Close()
	}
	select {
	case s.resume <- struct{}{}:
	default:
	}
}

// maxIovecs bounds the buffers of one writev (IOV_MAX is 1024 on the
// supported systems); the caller loops on the count written.
const maxIovecs = 1024

// readBuf sizes: a reader starts small (idle connections stay cheap) and
// doubles its buffer whenever a read fills it.
const (
	minReadBuf = 4 << 10
	maxReadBuf = 256 << 10
)

func (s *netSocket) startReader() {
	s.w.s.wg.Add(1)
	go s.reader()
}

// reader is the connection's goroutine: read, then deliver on the
// context, inline.
func (s *netSocket) reader() {
	defer s.w.s.wg.Done()
	g := goid.Current()
	c := s.c
	defer func() {
		s.w.enter(g)
		s.readerExited = true
		p := s.detached
		s.w.leave()
		if p != nil {
			close(p.readerDone)
		}
	}()
	var buf []byte
	// Deliver bytes handed over by Detach/Attach before reading more.
	s.w.enter(g)
	done := s.deliver()
	s.w.leave()
	for !done {
		if buf == nil {
			buf = make([]byte, minReadBuf)
		}
		n, err := c.Read(buf)
		s.w.enter(g)
		if p := s.detached; p != nil {
			// Detach interrupted us with a deadline: what was read goes
			// with the connection to its new owner.
			p.leftover = append(p.leftover, buf[:n]...)
			if err != nil && !isTimeout(err) {
				p.leftErr = err
			}
			s.w.leave()
			return
		}
		if s.closed || s.aborted.Load() {
			s.w.leave()
			return
		}
		s.pending = buf[:n]
		if err != nil {
			s.rerr = err
		}
		done = s.deliver()
		s.w.leave()
		if n == len(buf) && len(buf) < maxReadBuf {
			buf = make([]byte, 2*len(buf))
		}
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// deliver runs OnReadable (on the context, entered) until the pending
// bytes and error are consumed, waiting out pauses. It returns true when
// the reader must stop. It may leave and re-enter the context.
func (s *netSocket) deliver() bool {
	for {
		if s.closed || s.detached != nil || s.aborted.Load() {
			return true
		}
		if len(s.pending) == 0 && (s.rerr == nil || s.rerrOut) {
			return s.rerr != nil
		}
		if s.paused {
			g := s.w.owner.Load()
			s.w.leave()
			<-s.resume
			s.w.enter(g)
			continue
		}
		before := len(s.pending)
		s.h.OnReadable()
		if len(s.pending) == before && !s.rerrOut && !s.paused && !s.closed && s.detached == nil {
			// The handler read nothing: it cannot take more now (its
			// connection failed, or moved to another socket). Wait for
			// a pause, resume, Close or Detach, offering again now and
			// then rather than spinning.
			g := s.w.owner.Load()
			s.w.leave()
			t := time.NewTimer(20 * time.Millisecond)
			select {
			case <-s.resume:
			case <-t.C:
			}
			t.Stop()
			s.w.enter(g)
		}
	}
}

func (s *netSocket) Read(p []byte) (int, error) {
	if s.closed || s.detached != nil {
		return 0, ErrClosed
	}
	if len(s.pending) > 0 {
		n := copy(p, s.pending)
		s.pending = s.pending[n:]
		return n, nil
	}
	if s.rerr != nil {
		s.rerrOut = true
		if errors.Is(s.rerr, io.EOF) {
			return 0, io.EOF
		}
		return 0, s.rerr
	}
	return 0, ErrWouldBlock
}

func (s *netSocket) Writev(bufs [][]byte) (int, error) {
	if s.closed || s.detached != nil {
		return 0, ErrClosed
	}
	if s.connecting || s.waiting {
		return 0, ErrWouldBlock
	}
	var n int
	var werr error
	if len(bufs) > maxIovecs {
		bufs = bufs[:maxIovecs]
	}
	err := s.rc.Write(func(fd uintptr) bool {
		// sock.Writev retries EINTR and has a FreeBSD build (x/sys has
		// no Writev there).
		n, werr = sock.Writev(int(fd), bufs)
		return true
	})
	if err != nil {
		return 0, err
	}
	if werr != nil {
		if werr == unix.EAGAIN || werr == unix.EWOULDBLOCK {
			return 0, ErrWouldBlock
		}
		return 0, werr
	}
	return n, nil
}

func (s *netSocket) WantWrite(on bool) {
	if s.closed || s.detached != nil {
		return
	}
	s.wantWrite = on
	if on && !s.waiting && !s.connecting {
		s.waiting = true
		s.waiterDone = make(chan struct{})
		s.w.s.wg.Add(1)
		go s.waitWritable(s.waiterDone)
	}
}

// waitWritable parks in Go's netpoller until the socket can take more,
// then runs OnWritable on the context.
func (s *netSocket) waitWritable(done chan struct{}) {
	defer s.w.s.wg.Done()
	checked := false
	err := s.rc.Write(func(fd uintptr) bool {
		if checked {
			return true // the netpoller saw the socket writable
		}
		checked = true
		// The readiness edge may have come before this wait began.
		pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}
		n, err := unix.Poll(pfd, 0)
		return err != nil || (n > 0 && pfd[0].Revents != 0)
	})
	close(done)
	_ = s.w.Exec(func() {
		s.waiting = false
		if s.closed || s.detached != nil {
			return
		}
		if err != nil && !isTimeout(err) {
			// The write that follows reports the error.
			s.h.OnWritable()
			return
		}
		if s.wantWrite {
			s.h.OnWritable()
		}
	})
}

func (s *netSocket) PauseRead(on bool) {
	if s.closed || s.detached != nil || s.paused == on {
		return
	}
	s.paused = on
	if !on {
		select {
		case s.resume <- struct{}{}:
		default:
		}
	}
}

func (s *netSocket) LocalAddr() netip.AddrPort  { return s.local }
func (s *netSocket) RemoteAddr() netip.AddrPort { return s.remote }

func (s *netSocket) Detach() (Pending, error) {
	if s.closed || s.detached != nil {
		return nil, ErrClosed
	}
	if s.connecting {
		return nil, ErrWouldBlock
	}
	p := &netPending{s: s.w.s, c: s.c, remote: s.remote, readerDone: make(chan struct{})}
	p.leftover = append([]byte(nil), s.pending...)
	if s.rerr != nil && !s.rerrOut {
		p.leftErr = s.rerr
	}
	s.pending = nil
	s.detached = p
	s.w.s.track(s, false)
	// Stop the reader and any write waiter without closing the socket.
	past := time.Unix(1, 0)
	_ = s.c.SetDeadline(past)
	select {
	case s.resume <- struct{}{}:
	default:
	}
	if s.readerExited {
		close(p.readerDone)
	}
	if s.waiting {
		p.waiterDone = s.waiterDone
	}
	return p, nil
}

func (s *netSocket) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	if s.detached != nil {
		return nil
	}
	s.w.s.track(s, false)
	if s.connecting {
		if s.cancelDial != nil {
			s.cancelDial()
		}
		return nil
	}
	select {
	case s.resume <- struct{}{}:
	default:
	}
	return s.c.Close()
}
