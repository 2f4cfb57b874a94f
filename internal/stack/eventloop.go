package stack

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"runtime"
	"sync"
	"time"

	"github.com/gomsgr/msgr/internal/event"
	"github.com/gomsgr/msgr/internal/sock"
)

// EventLoop is the default Stack: the workers of a shared internal/event
// pool, sockets as nonblocking descriptors registered with a worker's
// Center. Safe for use from any goroutine.
type EventLoop struct {
	lease   *event.Lease
	pool    *event.Pool
	workers map[*event.Worker]*loopWorker // immutable after construction
	once    sync.Once
	err     error
}

// NewEventLoop leases the process-wide pool called name from reg (nil:
// event.Default()), starting it with opts if it does not run yet, so that
// every messenger of a process shares one set of loops.
func NewEventLoop(reg *event.Registry, name string, opts event.Options) (*EventLoop, error) {
	if reg == nil {
		reg = event.Default()
	}
	lease, err := reg.Acquire(name, opts)
	if err != nil {
		return nil, fmt.Errorf("stack: event pool %q: %w", name, err)
	}
	s := &EventLoop{lease: lease, pool: lease.Pool(), workers: map[*event.Worker]*loopWorker{}}
	for _, w := range s.pool.Workers() {
		s.workers[w] = &loopWorker{w: w, c: w.Center()}
	}
	return s, nil
}

// Name returns "eventloop".
func (s *EventLoop) Name() string { return "eventloop" }

// Pool returns the underlying pool.
func (s *EventLoop) Pool() *event.Pool { return s.pool }

// Pick places one more user on the least-loaded worker.
func (s *EventLoop) Pick() (Worker, func()) {
	w := s.pool.Pick()
	var once sync.Once
	return s.workers[w], func() { once.Do(w.Leave) }
}

// InContext reports whether the caller runs on one of the pool's loops.
func (s *EventLoop) InContext() bool {
	for _, w := range s.pool.Workers() {
		if w.Center().InLoop() {
			return true
		}
	}
	return false
}

// Close releases the lease; the last user's Close stops the loops and
// waits for them, so it must not run on one of them.
func (s *EventLoop) Close() error {
	s.once.Do(func() { s.err = s.lease.Release() })
	return s.err
}

// loopWorker adapts an event.Worker. Immutable.
type loopWorker struct {
	w *event.Worker
	c *event.Center
}

func (w *loopWorker) ID() int { return w.w.ID() }

func (w *loopWorker) Exec(f func()) error {
	if err := w.c.Dispatch(f); err != nil {
		return fmt.Errorf("%w: %w", ErrClosed, err)
	}
	return nil
}

func (w *loopWorker) InContext() bool { return w.c.InLoop() }

func (w *loopWorker) Now() time.Time { return w.c.Now() }

type loopTimer struct {
	c  *event.Center
	id event.TimerID
}

func (t loopTimer) Stop() bool { return t.id != 0 && t.c.CancelTimer(t.id) }

func (w *loopWorker) AfterFunc(d time.Duration, f func()) Timer {
	id, err := w.c.AddTimerFunc(d, f)
	if err != nil {
		// Only ErrNotInLoop can fail here: a caller bug, caught by tests
		// built with -race. The timer never fires.
		return loopTimer{c: w.c}
	}
	return loopTimer{c: w.c, id: id}
}

func (w *loopWorker) Listen(addr netip.AddrPort, cfg ListenConfig) (Listener, error) {
	fd, err := sock.Listen(addr, sock.ListenConfig{Backlog: cfg.Backlog, RecvBuf: cfg.RecvBuf})
	if err != nil {
		return nil, err
	}
	bound, err := sock.LocalAddr(fd)
	if err != nil {
		sock.Close(fd)
		return nil, err
	}
	return &loopListener{c: w.c, fd: fd, addr: bound}, nil
}

// loopListener is owned by its worker's loop.
type loopListener struct {
	c            *event.Center
	fd           int
	id           event.FileID // 0 while not watched
	addr         netip.AddrPort
	onAcceptable func()
	closed       bool
}

// Quiet: connections come seldom next to the bytes on them, so a loop
// with one socket besides its listener may guess its wakeups are the
// socket's (event.Quiet).
func (l *loopListener) Quiet() bool { return true }

// HandleFileEvent reports not drained: how far onAcceptable got is not
// known here, and accepting is rare enough for one more poll.
func (l *loopListener) HandleFileEvent(int, event.Mask) bool {
	if !l.closed && l.id != 0 {
		l.onAcceptable()
	}
	return false
}

func (l *loopListener) Watch(onAcceptable func()) error {
	if l.closed {
		return ErrClosed
	}
	l.onAcceptable = onAcceptable
	if l.id != 0 {
		return nil
	}
	id, err := l.c.AddFile(l.fd, event.Readable, l)
	if err != nil {
		return err
	}
	l.id = id
	return nil
}

func (l *loopListener) Unwatch() {
	if l.id != 0 {
		_ = l.c.RemoveFile(l.id)
		l.id = 0
	}
}

func (l *loopListener) Addr() netip.AddrPort { return l.addr }

func (l *loopListener) Accept() (Pending, error) {
	if l.closed {
		return nil, ErrClosed
	}
	fd, remote, err := sock.Accept(l.fd)
	if err != nil {
		if errors.Is(err, sock.ErrWouldBlock) {
			return nil, ErrWouldBlock
		}
		return nil, err
	}
	return &loopPending{fd: fd, remote: remote}, nil
}

func (l *loopListener) Close() error {
	if l.closed {
		return nil
	}
	l.Unwatch()
	l.closed = true
	return sock.Close(l.fd)
}

// loopPending is an accepted descriptor in transit between the listener's
// loop and the worker it will live on; mu guards fd.
type loopPending struct {
	mu     sync.Mutex
	fd     int // -1 once attached or closed
	remote netip.AddrPort
	// Read ahead by the socket's previous owner (Prefetch), not by its
	// handler: the next owner reads them first.
	pre    []byte
	preErr error
}

func (p *loopPending) RemoteAddr() netip.AddrPort { return p.remote }

func (p *loopPending) take() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	fd := p.fd
	p.fd = -1
	return fd
}

func (p *loopPending) Close() error {
	if fd := p.take(); fd >= 0 {
		return sock.Close(fd)
	}
	return nil
}

func (p *loopPending) Attach(w Worker, cfg DialConfig, h Handler) (Socket, error) {
	lw, ok := w.(*loopWorker)
	if !ok {
		p.Close()
		return nil, fmt.Errorf("stack: attach to a %T worker", w)
	}
	fd := p.take()
	if fd < 0 {
		return nil, ErrClosed
	}
	if cfg.NoDelay {
		if err := sock.SetNoDelay(fd, true); err != nil {
			sock.Close(fd)
			return nil, err
		}
	}
	if cfg.RecvBuf > 0 {
		if err := sock.SetRecvBuffer(fd, cfg.RecvBuf); err != nil {
			sock.Close(fd)
			return nil, err
		}
	}
	s := newLoopSocket(lw.c, fd, h)
	s.remote = p.remote
	if err := s.register(event.Readable); err != nil {
		sock.Close(fd)
		return nil, err
	}
	s.pre, s.preErr = p.pre, p.preErr
	s.kick()
	return s, nil
}

func (w *loopWorker) Connect(addr netip.AddrPort, cfg DialConfig, h Handler) (Socket, error) {
	fd, pending, err := sock.Connect(addr, sock.DialConfig{NoDelay: cfg.NoDelay, RecvBuf: cfg.RecvBuf})
	if err != nil {
		return nil, err
	}
	s := newLoopSocket(w.c, fd, h)
	s.remote = addr
	s.connecting = true
	if !pending {
		// Connected at once (loopback can): report it from the loop, not
		// from inside the caller's Connect.
		if err := s.register(event.Readable); err != nil {
			sock.Close(fd)
			return nil, err
		}
		if err := w.c.Dispatch(s.connectedNow); err != nil {
			s.Close()
			return nil, err
		}
		return s, nil
	}
	if err := s.register(event.Writable); err != nil {
		sock.Close(fd)
		return nil, err
	}
	return s, nil
}

// loopSocket is owned by its worker's loop: every field is read and
// written only there.
type loopSocket struct {
	c          *event.Center
	fd         int
	lowat      int // SO_RCVLOWAT set (0: the default, 1); -1: unsupported
	id         event.FileID
	h          Handler
	remote     netip.AddrPort
	local      netip.AddrPort
	connecting bool
	wantWrite  bool
	paused     bool
	closed     bool
	// drained: the latest Read found the receive queue empty (EAGAIN,
	// or a short read), so the loop need not poll for this socket again;
	// got: a Read of this event returned bytes.
	drained bool
	got     bool
	// inEvent: HandleFileEvent is running; moved: the bytes its reads
	// and writes moved so far; watched: it has had its chance to yield
	// (see watchNetwork).
	inEvent bool
	moved   int
	watched bool
	// Whether yielding pays here (see yield): judging: a yield awaits
	// its verdict, wakesAt is parkedWakes() as it yielded; skip: how many
	// of the next chances to yield to pass up; backoff: the skip after
	// the next useless yield.
	judging bool
	wakesAt uint64
	skip    int
	backoff int
	// Staged writes (iobatch.go): b is the loop's batch, staged the
	// bytes written but not sent yet, backlog set while some of them
	// wait for room, werr the error a staged send met.
	b       *ioBatch
	staged  []byte
	backlog bool
	werr    error
	// Prefetched reads (Prefetch): pre the bytes not read yet, preFull
	// that the receive filled its room (more may wait in the kernel),
	// preErr what it met instead (io.EOF: the peer closed); redeliver
	// runs the handler again for what is left.
	pre       []byte
	preFull   bool
	preErr    error
	redeliver func()
	// read: the bytes this event's Reads returned; big: the latest event
	// read preSize or more, so a read ahead would only split its read
	// in two (big messages are read straight into their buffer).
	read int
	big  bool
}

func newLoopSocket(c *event.Center, fd int, h Handler) *loopSocket {
	return &loopSocket{c: c, fd: fd, h: h, b: batchFor(c)}
}

func (s *loopSocket) register(m event.Mask) error {
	id, err := s.c.AddFile(s.fd, m, s)
	if err != nil {
		return err
	}
	s.id = id
	if la, err := sock.LocalAddr(s.fd); err == nil {
		s.local = la
	}
	return nil
}

func (s *loopSocket) connectedNow() {
	if s.closed || !s.connecting {
		return
	}
	s.connecting = false
	if la, err := sock.LocalAddr(s.fd); err == nil {
		s.local = la
	}
	s.h.OnConnected(nil)
}

func (s *loopSocket) mask() event.Mask {
	var m event.Mask
	if !s.paused {
		m |= event.Readable
	}
	if s.wantWrite || s.backlog {
		m |= event.Writable
	}
	return m
}

// HandleFileEvent reports drained when the socket is closed or its
// handler read bytes and its last Read found nothing more; an event
// whose reads found nothing may have been the loop's guess (see
// event.Quiet), so the loop polls. Writes need no report: a flush stops
// at EAGAIN or disarms writability (SetMask, which the Center notices).
func (s *loopSocket) HandleFileEvent(_ int, m event.Mask) bool {
	if s.closed {
		return true
	}
	if s.connecting {
		if m&event.Writable == 0 {
			return false
		}
		s.connecting = false
		err := sock.ConnectResult(s.fd)
		if err != nil {
			s.Close()
			s.h.OnConnected(err)
			return true
		}
		if la, err := sock.LocalAddr(s.fd); err == nil {
			s.local = la
		}
		_ = s.c.SetMask(s.id, s.mask())
		s.h.OnConnected(nil)
		return false
	}
	s.inEvent, s.moved, s.watched, s.read = true, 0, false, 0
	drained := true
	if m&event.Readable != 0 && !s.paused {
		s.drained, s.got = false, false
		s.h.OnReadable()
		drained = s.drained && s.got
	}
	if !s.closed && m&event.Writable != 0 {
		if s.backlog {
			s.sendStaged()
		}
		if !s.closed && !s.backlog && s.wantWrite {
			s.h.OnWritable()
		}
	}
	s.judge()
	s.inEvent = false
	s.big = s.read >= preSize
	return drained || s.closed
}

func (s *loopSocket) Read(p []byte) (int, error) {
	if s.closed {
		return 0, ErrClosed
	}
	if s.werr != nil {
		return 0, s.werr
	}
	if s.pre != nil {
		n := copy(p, s.pre)
		s.pre = s.pre[n:]
		s.moved += n
		s.read += n
		s.got = true
		s.drained = false
		if len(s.pre) == 0 {
			s.pre = nil
			s.drained = !s.preFull
		}
		return n, nil
	}
	if err := s.preErr; err != nil {
		s.preErr = nil
		s.drained = false
		return 0, err
	}
	s.longIO(len(p))
	s.b.beforeLong(len(p))
	n, err := sock.Read(s.fd, p)
	s.moved += n
	s.read += n
	s.b.moving(n)
	s.got = s.got || n > 0
	if !s.inEvent {
		s.judge()
	}
	if err != nil && errors.Is(err, sock.ErrWouldBlock) {
		s.drained = true
		return 0, ErrWouldBlock
	}
	// A stream read shorter than asked took all the kernel held; EOF
	// and errors stay reported, so they are not "drained".
	s.drained = err == nil && n < len(p)
	return n, err
}

// SetRecvLowat implements RecvLowater; a mark it already has costs no
// system call.
func (s *loopSocket) SetRecvLowat(n int) {
	n = max(n, 1)
	if s.closed || s.lowat < 0 || n == max(s.lowat, 1) {
		return
	}
	if err := sock.SetRecvLowat(s.fd, n); err != nil {
		s.lowat = -1 // unsupported here: the socket stays at the default
		return
	}
	s.lowat = n
}

func (s *loopSocket) Writev(bufs [][]byte) (int, error) {
	if s.closed {
		return 0, ErrClosed
	}
	if s.werr != nil {
		return 0, s.werr
	}
	if n, ok := s.b.stage(s, bufs); ok {
		s.moved += n
		return n, nil
	}
	// A wake from here on may be the peer answering this write, not
	// the work an earlier yield of the event let run.
	s.judge()
	s.longIO(vecLen(bufs, longIO))
	s.b.beforeLong(vecLen(bufs, flushAfter))
	var n int
	var err error
	if len(s.staged) > 0 {
		n, err = s.writeThrough(bufs)
	} else {
		n, err = sock.Writev(s.fd, bufs)
		if err == nil {
			s.b.wroteAtOnce()
		}
	}
	s.moved += n
	s.b.moving(n)
	if !s.inEvent {
		s.judge()
	}
	if err != nil && errors.Is(err, sock.ErrWouldBlock) {
		return 0, ErrWouldBlock
	}
	return n, err
}

// writeThrough sends the staged bytes and then bufs in one writev, and
// says how much of bufs went.
func (s *loopSocket) writeThrough(bufs [][]byte) (int, error) {
	vec := append(append(s.b.vec[:0], s.staged), bufs...)
	n, err := sock.Writev(s.fd, vec)
	clear(vec)
	s.b.vec = vec[:0]
	if k := len(s.staged); n < k {
		s.keep(n)
		if err == nil {
			err = sock.ErrWouldBlock
		}
		return 0, err
	}
	n -= len(s.staged)
	s.staged = nil
	s.setBacklog(false)
	return n, err
}

// sent takes the result of a staged send; false: it failed, and the
// handler is to hear of it (failed) once the caller is done.
func (s *loopSocket) sent(n int, err error) bool {
	if s.closed {
		return true
	}
	if n >= len(s.staged) && err == nil {
		s.staged = nil
		s.setBacklog(false)
		return true
	}
	if err == nil || errors.Is(err, sock.ErrWouldBlock) {
		// What waits for room moves out of the loop's arena.
		s.staged = append([]byte(nil), s.staged[n:]...)
		s.setBacklog(true)
		return true
	}
	s.werr = err
	s.staged = nil
	s.setBacklog(false)
	return false
}

// failed tells the handler of a staged send's error, as the kernel
// reports a failed socket readable: its next Read returns the error.
func (s *loopSocket) failed() {
	if !s.closed && !s.paused {
		s.h.OnReadable()
	}
}

// sendStaged sends what stays staged once the socket has room.
func (s *loopSocket) sendStaged() {
	n, err := sock.Write(s.fd, s.staged)
	if !s.sent(n, err) {
		s.failed()
	}
}

// mayPrefetch reports whether b may read ahead for s in this step.
func (s *loopSocket) mayPrefetch(b *ioBatch) bool {
	return s.b == b && !s.closed && !s.paused && !s.connecting && !s.big && s.lowat <= 1 &&
		s.pre == nil && s.preErr == nil && s.werr == nil
}

// prefetched takes the result of a receive made for s (into buf).
func (s *loopSocket) prefetched(buf []byte, n int, err error) {
	switch {
	case err == nil && n > 0:
		s.pre, s.preFull = buf[:n], n == len(buf)
	case err == nil:
		s.preErr = io.EOF
	case errors.Is(err, sock.ErrWouldBlock):
		// Nothing after all: the handler's read finds that out.
	default:
		s.preErr = err
	}
}

// settlePrefetch runs at the step's end, when the read arena is about to
// be reused: bytes the handler left move out of it, and the handler runs
// again for them (the kernel will not report them) unless paused.
func (s *loopSocket) settlePrefetch() {
	if s.closed {
		s.pre, s.preErr = nil, nil
		return
	}
	if s.pre != nil {
		s.pre = append([]byte(nil), s.pre...)
	}
	s.kick()
}

// kick has the handler run again from a task when prefetched bytes or a
// prefetched error wait for it.
func (s *loopSocket) kick() {
	if s.closed || s.paused || (s.pre == nil && s.preErr == nil) {
		return
	}
	if s.redeliver == nil {
		s.redeliver = func() {
			if s.closed || s.paused || (s.pre == nil && s.preErr == nil) {
				return
			}
			if !s.HandleFileEvent(s.fd, event.Readable) {
				s.c.Repoll()
			}
		}
	}
	_ = s.c.Dispatch(s.redeliver)
}

// keep drops the first n staged bytes, which went.
func (s *loopSocket) keep(n int) {
	s.staged = s.staged[:copy(s.staged, s.staged[n:])]
}

func (s *loopSocket) setBacklog(on bool) {
	if s.backlog == on {
		return
	}
	s.backlog = on
	if !s.connecting {
		_ = s.c.SetMask(s.id, s.mask())
	}
}

// longIO is how many bytes one readiness event (or one call outside an
// event) may move before the loop makes sure the runtime watches the
// network while it goes on: about 0.2-0.4 ms of copying. At 256 KiB it
// fired on every event of a 64 KiB stream at depth 4 (four frames and
// their headers, just over 256 KiB), which cost more CPU per message
// (about +30%) than the overlap gave back.
const longIO = 512 << 10

// longIO is told that a read or write of up to n bytes is about to run;
// once the event's bytes may reach longIO it has a chance to yield, once
// per event (outside an event: for each call that long).
func (s *loopSocket) longIO(n int) {
	switch {
	case !s.inEvent:
		if n >= longIO {
			s.yield()
		}
	case !s.watched && s.moved+n >= longIO:
		s.watched = true
		s.yield()
	}
}

// maxSkip bounds how many chances to yield a socket passes up in a row,
// so that it finds out again, now and then, whether yielding pays.
const maxSkip = 15

// yield calls watchNetwork unless the socket's recent yields were
// useless. A yield pays only if another loop of the process wakes while
// this one copies (see judge). Often none does: a 4 MiB message's
// receiver at depth 1, whose peer waits for the answer; a reader racing
// a sender that is still writing (6 yields per 4 MiB message at depth 4,
// 2% of them followed by a wake; the writer's yields 30-55%). Each
// useless yield still wakes an idle thread that spins and polls, about
// three context switches.
func (s *loopSocket) yield() {
	if s.skip > 0 {
		s.skip--
		return
	}
	s.judging, s.wakesAt = true, parkedWakes()
	watchNetwork()
}

// judge ends the time a yield was for: the event, or the call outside
// one, or the event's reads up to its first write. No other loop woke
// meanwhile: the next backoff chances are passed up, backoff doubling
// (up to maxSkip); one did: the socket yields at every chance again.
func (s *loopSocket) judge() {
	if !s.judging {
		return
	}
	s.judging = false
	if parkedWakes() != s.wakesAt {
		s.backoff = 0
		return
	}
	s.backoff = min(2*s.backoff+1, maxSkip)
	s.skip = s.backoff
}

// parkedWakes counts the wakes of the process's parked loops (a
// variable for tests).
var parkedWakes = event.ParkedWakes

// watchNetwork yields the loop once before long work (a variable for
// tests). A loop parks in the runtime's netpoller (event.WaitParked), and
// the runtime looks at the poller only when a thread enters the scheduler
// or blocks in it (sysmon: every 10 ms at most). The thread that last
// woke from the poller to run a loop leaves nobody blocked there, so
// while this loop copies megabytes and the other P is idle, no thread
// notices that another loop's socket became readable or writable: the
// other loops of the process wait for this one to park. The two ends of
// a connection in one process then take turns instead of overlapping
// (issue 13: the sender's writev and the receiver's reads ran strictly
// one after the other). Gosched wakes an idle P's thread, which finds
// nothing to run and blocks in the poller, where it sees the next
// readiness at once; with no idle P it is a trip through the scheduler.
var watchNetwork = runtime.Gosched

// vecLen is the length of bufs, counted up to at least max.
func vecLen(bufs [][]byte, max int) int {
	n := 0
	for _, b := range bufs {
		n += len(b)
		if n >= max {
			break
		}
	}
	return n
}

func (s *loopSocket) WantWrite(on bool) {
	if s.closed || s.wantWrite == on {
		return
	}
	s.wantWrite = on
	if !s.connecting && !s.backlog {
		_ = s.c.SetMask(s.id, s.mask())
	}
}

func (s *loopSocket) PauseRead(on bool) {
	if s.closed || s.paused == on {
		return
	}
	s.paused = on
	if !s.connecting {
		_ = s.c.SetMask(s.id, s.mask())
	}
	if !on {
		s.kick()
	}
}

func (s *loopSocket) LocalAddr() netip.AddrPort  { return s.local }
func (s *loopSocket) RemoteAddr() netip.AddrPort { return s.remote }

func (s *loopSocket) Detach() (Pending, error) {
	if s.closed {
		return nil, ErrClosed
	}
	// The next owner starts from the default mark, as on a new socket,
	// and after the bytes written so far.
	if s.lowat > 1 {
		_ = sock.SetRecvLowat(s.fd, 1)
	}
	if len(s.staged) > 0 {
		// Not sendStaged: the handler detaching must not hear of a
		// failure from inside its own call.
		n, err := sock.Write(s.fd, s.staged)
		if s.sent(n, err); len(s.staged) > 0 || s.werr != nil {
			s.staged = nil
			s.Close()
			return nil, fmt.Errorf("stack: socket detached with unsent bytes: %w", ErrClosed)
		}
	}
	s.closed = true
	_ = s.c.RemoveFile(s.id)
	p := &loopPending{fd: s.fd, remote: s.remote, preErr: s.preErr}
	if s.pre != nil {
		p.pre = append([]byte(nil), s.pre...)
	}
	s.pre, s.preErr = nil, nil
	return p, nil
}

func (s *loopSocket) Close() error {
	if s.closed {
		return nil
	}
	if len(s.staged) > 0 {
		// Written is written: what a connection wrote before it closed
		// (a last frame) goes if there is room, as a writev would have.
		_, _ = sock.Write(s.fd, s.staged)
		s.staged = nil
	}
	s.closed = true
	_ = s.c.RemoveFile(s.id)
	return sock.Close(s.fd)
}
