package event

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gomsgr/msgr/internal/goid"
)

// FileHandler receives readiness for a registered descriptor, on the loop
// goroutine. mask is the subset of the registered mask that fired.
//
// It returns whether it drained the descriptor: read (or accepted, or
// wrote) until the kernel said EAGAIN, or a short stream read showed the
// receive queue empty, so that only new activity can make it ready
// again. A handler that stops early (a budget, a byte at a time) or
// cannot tell returns false, and the loop polls once more before it
// parks: a parked loop hears only of new readiness, not of a descriptor
// that stayed ready (NOTES.md).
//
// A loop may call the handler on a guess (guess.go): then the descriptor
// may have nothing ready. A handler that found nothing should return
// false, so the loop polls for what did wake it.
type FileHandler interface {
	HandleFileEvent(fd int, mask Mask) (drained bool)
}

// Task is an external event: any goroutine queues it with DispatchTask and
// the loop runs it. Queuing a pointer that implements Task allocates
// nothing, so a connection can keep one reusable Task per kind of work.
type Task interface {
	RunTask()
}

// FileID names one registration of a descriptor. A descriptor closed and
// reused gets a new FileID, so stale handles and stale events are told
// apart from the new registration. The zero FileID is never issued.
type FileID uint64

// FD returns the descriptor the registration is for.
func (id FileID) FD() int { return int(int32(uint32(id))) }

func makeFileID(fd int, gen uint32) FileID { return FileID(uint64(gen)<<32 | uint64(uint32(fd))) }

// Options configure a Center (and, through Pool, every worker's Center).
// The zero value is ready to use.
type Options struct {
	// Driver: DriverAuto picks epoll on Linux, kqueue on darwin/FreeBSD.
	Driver DriverKind
	// Wait: WaitAuto parks in the Go netpoller where the driver can.
	Wait WaitMode
	// MaxWait bounds one wait for events (Ceph: 30 s). 0: DefaultMaxWait.
	MaxWait time.Duration
	// Events is how many ready descriptors one wait takes. 0: DefaultEvents.
	Events int
	// Budget is how many external tasks run per loop iteration before
	// file events and timers get their turn again. 0: DefaultBudget.
	Budget int
	// Workers is the number of loops in a Pool (ms_async_op_threads).
	// 0: GOMAXPROCS. Ignored by NewCenter.
	Workers int
	// LockOSThread wires each worker's loop goroutine to its thread.
	// Ignored by NewCenter (Run's caller decides).
	LockOSThread bool
}

const (
	DefaultMaxWait = 30 * time.Second
	DefaultBudget  = 1024
)

func (o Options) withDefaults() Options {
	if o.MaxWait <= 0 {
		o.MaxWait = DefaultMaxWait
	}
	if o.Events <= 0 {
		o.Events = DefaultEvents
	}
	if o.Budget <= 0 {
		o.Budget = DefaultBudget
	}
	return o
}

// fileEntry is the registration of one descriptor; indexed by fd.
type fileEntry struct {
	gen   uint32 // 0: not registered
	mask  Mask
	quiet bool // h is Quiet (guess.go)
	h     FileHandler
}

// task is a queued external event: exactly one of t and f is set.
type task struct {
	t Task
	f func()
}

// Center is one event loop (Ceph's EventCenter): file events, timers and
// external events, run by a single loop goroutine inside Run.
//
// Ownership. AddFile, SetMask, RemoveFile, AddTimer, AddTimerFunc and
// CancelTimer are loop-owned: call them from handlers, tasks and timers
// running on the loop (or before Run starts). Dispatch, DispatchTask,
// Call, InLoop, Stop and Now are safe from any goroutine.
type Center struct {
	// Immutable after NewCenter.
	drv  Driver
	opts Options
	base time.Time // zero of the loop clock (monotonic)
	// lp is the parker of a loop that parks without polling first (Run
	// then runs inside it, and producers wake it through it); nil when
	// the driver blocks or cannot park that way.
	lp *parker
	// kw blocks a parked loop's thread in the kernel instead, when
	// kernelWaitAt says so (nil: the driver cannot).
	kw kernelWaiter

	// Any goroutine.
	mu       sync.Mutex
	queue    []task // guarded by mu
	closed   bool   // guarded by mu: Dispatch refuses new tasks
	notified atomic.Bool
	awake    atomic.Bool // loop is running handlers, not waiting
	inKernel atomic.Bool // the loop's latest wait blocks in the kernel: wake through the driver
	stopping atomic.Bool
	started  atomic.Bool
	unrun    atomic.Bool    // stopped before any Run
	loopG    atomic.Uintptr // loop goroutine (curG) while running
	nowNS    atomic.Int64   // loop clock at the latest wakeup
	nfiles   atomic.Int64   // registered descriptors, for load reports
	exited   chan struct{}  // closed when Run returns
	stats    centerStats

	// Set before Run, then read by the loop only: a test hook called at
	// the end of every iteration with the number of file events, and one
	// called by a parked loop right before it arms its park.
	iterHook func(nfired int)
	armHook  func()
	// waitAt decides each wait of a parked loop: kernelWaitAt, or a
	// test's choice.
	waitAt func(others, procs int, timeout, last time.Duration) bool

	// Loop goroutine only.
	files  []fileEntry
	gen    uint32
	timers timers
	local  []task // external tasks taken from queue, run from head
	head   int
	fired  []Fired
	snap   []uint32 // registration generation of fired[i] at wakeup
	// repoll: since the last poll a handler left its descriptor ready
	// (not drained) or a registration changed, so the loop must poll
	// again before it parks.
	repoll bool
	// counted: the loop is counted in loopsAwake; procs: GOMAXPROCS at
	// Run; kwait: the wait step asked for blocks in the kernel, for at
	// most kwaitFor; nready: events that wait returned, for the next
	// step to handle instead of polling (-1: none).
	counted  bool
	procs    int
	kwait    bool
	kwaitFor time.Duration
	nready   int
	// waitFrom: loop clock when the latest wait began (-1: the loop has
	// not waited since lastWait was taken); lastWait: how long the
	// latest wait lasted, for kernelWaitAt.
	waitFrom int64
	lastWait time.Duration
	// Guessing (guess.go): busy counts the registrations that are not
	// Quiet (the rest of nfiles are), busyFD is the busy one when busy is
	// 1 (-1: not looked up yet), owed is the loop clock by which a real
	// poll is due after a guess (0: none).
	busy   int
	busyFD int
	owed   int64
	// ends run at the end of the step (AtStepEnd), stops when the loop
	// stops (OnStop).
	ends  []func()
	stops []func()
	// prefetch reads ahead for a step's ready files (SetPrefetcher);
	// ready is its scratch list.
	prefetch Prefetcher
	ready    []ReadyFile
}

// NewCenter opens a Center and its driver. Run it on a goroutine of
// your choice, or use a Worker.
func NewCenter(opts Options) (*Center, error) {
	opts = opts.withDefaults()
	drv, err := newDriver(opts.Driver, opts.Wait, opts.Events)
	if err != nil {
		return nil, err
	}
	var lp *parker
	var kw kernelWaiter
	if d, ok := drv.(loopParker); ok {
		lp = d.loopParker()
		if lp != nil {
			kw, _ = drv.(kernelWaiter)
		}
	}
	return &Center{
		drv:      drv,
		lp:       lp,
		kw:       kw,
		waitAt:   kernelWaitAt,
		nready:   -1,
		waitFrom: -1,
		busyFD:   -1,
		opts:     opts,
		base:     time.Now(),
		exited:   make(chan struct{}),
		fired:    make([]Fired, opts.Events),
		snap:     make([]uint32, opts.Events),
	}, nil
}

// Driver reports the driver's name and whether it parks in the netpoller.
func (c *Center) Driver() (name string, parked bool) { return c.drv.Name(), c.drv.Parked() }

// Now returns the loop's clock as of its latest wakeup: cheap, monotonic,
// and the base timers are measured from.
func (c *Center) Now() time.Time { return c.base.Add(time.Duration(c.nowNS.Load())) }

// Files returns how many descriptors are registered.
func (c *Center) Files() int { return int(c.nfiles.Load()) }

// Done is closed when Run has returned.
func (c *Center) Done() <-chan struct{} { return c.exited }

func (c *Center) clock() int64 { return int64(time.Since(c.base)) }

// InLoop reports whether the caller runs on this Center's loop goroutine.
// A nanosecond on amd64 and arm64, about a microsecond elsewhere.
func (c *Center) InLoop() bool {
	id := c.loopG.Load()
	return id != 0 && id == goid.Current()
}

// owned checks loop ownership in debug builds; before Run any goroutine
// may set things up.
func (c *Center) owned() error {
	if checkOwner {
		if id := c.loopG.Load(); id != 0 && id != goid.Current() {
			return ErrNotInLoop
		}
	}
	return nil
}

// AddFile registers fd for mask with h. The registration lasts until
// RemoveFile; closing fd first is a bug (remove, then close).
func (c *Center) AddFile(fd int, mask Mask, h FileHandler) (FileID, error) {
	if err := c.owned(); err != nil {
		return 0, err
	}
	if fd < 0 || h == nil || mask&^(Readable|Writable) != 0 {
		return 0, ErrBadFD
	}
	if c.stopping.Load() {
		return 0, ErrStopped
	}
	if fd < len(c.files) && c.files[fd].gen != 0 {
		return 0, ErrExists
	}
	if err := c.drv.Update(fd, None, mask); err != nil {
		return 0, err
	}
	for len(c.files) <= fd {
		c.files = append(c.files, fileEntry{})
	}
	c.gen++
	if c.gen == 0 {
		c.gen = 1
	}
	quiet := isQuiet(h)
	c.files[fd] = fileEntry{gen: c.gen, mask: mask, quiet: quiet, h: h}
	if !quiet {
		c.addBusy(fd)
	}
	c.nfiles.Add(1)
	c.repoll = true
	return makeFileID(fd, c.gen), nil
}

func (c *Center) entry(id FileID) (*fileEntry, error) {
	fd := id.FD()
	if fd < 0 || fd >= len(c.files) || c.files[fd].gen == 0 || c.files[fd].gen != uint32(id>>32) {
		return nil, ErrStale
	}
	return &c.files[fd], nil
}

// SetMask changes what the registration waits for; None keeps the
// registration but waits for nothing.
func (c *Center) SetMask(id FileID, mask Mask) error {
	if err := c.owned(); err != nil {
		return err
	}
	if mask&^(Readable|Writable) != 0 {
		return ErrBadFD
	}
	e, err := c.entry(id)
	if err != nil {
		return err
	}
	if err := c.drv.Update(id.FD(), e.mask, mask); err != nil {
		return err
	}
	if e.mask != mask {
		// epoll does not wake a parked waiter for an item modified while
		// still on its ready list: poll before parking.
		c.repoll = true
	}
	e.mask = mask
	return nil
}

// Mask returns the registration's current mask.
func (c *Center) Mask(id FileID) (Mask, error) {
	if err := c.owned(); err != nil {
		return None, err
	}
	e, err := c.entry(id)
	if err != nil {
		return None, err
	}
	return e.mask, nil
}

// RemoveFile ends the registration: events already collected for it in
// the current batch are dropped. The caller closes fd afterwards.
func (c *Center) RemoveFile(id FileID) error {
	if err := c.owned(); err != nil {
		return err
	}
	e, err := c.entry(id)
	if err != nil {
		return err
	}
	derr := c.drv.Update(id.FD(), e.mask, None)
	if !e.quiet {
		c.removeBusy(id.FD())
	}
	*e = fileEntry{}
	c.nfiles.Add(-1)
	return derr
}

// AddTimer runs h.HandleTimer on the loop once d has passed (Ceph's
// create_time_event). Timers with equal deadlines fire in the order added.
func (c *Center) AddTimer(d time.Duration, h TimerHandler) (TimerID, error) {
	if h == nil {
		return 0, ErrBadFD
	}
	return c.addTimer(d, h, nil)
}

// AddTimerFunc is AddTimer with a function.
func (c *Center) AddTimerFunc(d time.Duration, f func()) (TimerID, error) {
	if f == nil {
		return 0, ErrBadFD
	}
	return c.addTimer(d, nil, f)
}

func (c *Center) addTimer(d time.Duration, h TimerHandler, f func()) (TimerID, error) {
	if err := c.owned(); err != nil {
		return 0, err
	}
	if c.stopping.Load() {
		return 0, ErrStopped
	}
	if d < 0 {
		d = 0
	}
	return c.timers.add(c.clock()+int64(d), h, f), nil
}

// CancelTimer removes a pending timer; false when it already fired, was
// cancelled, or is unknown (or, in debug builds, off the loop).
func (c *Center) CancelTimer(id TimerID) bool {
	if c.owned() != nil {
		return false
	}
	return c.timers.cancel(id)
}

// Timers returns how many timers are pending (loop-owned).
func (c *Center) Timers() int { return c.timers.len() }

// Dispatch queues f to run on the loop (Ceph's dispatch_event_external).
// Tasks run in the order queued. ErrStopped once the loop has stopped.
func (c *Center) Dispatch(f func()) error {
	if f == nil {
		return ErrBadFD
	}
	return c.enqueue(task{f: f})
}

// DispatchTask is Dispatch without a closure: queuing a pointer that
// implements Task does not allocate.
func (c *Center) DispatchTask(t Task) error {
	if t == nil {
		return ErrBadFD
	}
	return c.enqueue(task{t: t})
}

func (c *Center) enqueue(t task) error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return ErrStopped
	}
	c.queue = append(c.queue, t)
	c.mu.Unlock()
	// Wake only on 0→1: one write per batch however many producers race.
	// No write at all while the loop is awake: it reads notified after
	// clearing awake and before waiting (all atomics are sequentially
	// consistent, so one of the two sides sees the other).
	if !c.notified.Load() && c.notified.CompareAndSwap(false, true) && !c.awake.Load() {
		c.stats.wakes.Add(1)
		return c.wake()
	}
	return nil
}

// wake ends the loop's wait. A loop parked inside its parker's Read is
// woken by an expired read deadline: the runtime readies the goroutine
// directly, no system call, no eventfd to write and read back. A loop
// blocked in the kernel is woken through the driver (eventfd). step
// stores inKernel before it clears awake, and enqueue reads awake
// first, so a wake after a cleared awake sees this wait's kind; one
// from an older wait only costs the loop a spurious return.
func (c *Center) wake() error {
	if c.lp != nil && !c.inKernel.Load() {
		return c.lp.wake()
	}
	return c.drv.Wake()
}

// callTask runs a Call's function once, unless the caller gave up first.
type callTask struct {
	fn    func()
	state atomic.Int32 // 0 queued, 1 taken by the loop, 2 abandoned
	done  chan struct{}
}

func (t *callTask) RunTask() {
	if t.state.CompareAndSwap(0, 1) {
		t.fn()
		close(t.done)
	}
}

// Call runs fn on the loop and waits for it to return. Either fn ran
// exactly once and Call returns nil, or fn never runs and Call returns
// ctx.Err() or ErrStopped. On the loop itself fn runs directly.
func (c *Center) Call(ctx context.Context, fn func()) error {
	if c.InLoop() {
		fn()
		return nil
	}
	t := &callTask{fn: fn, done: make(chan struct{})}
	if err := c.DispatchTask(t); err != nil {
		return err
	}
	var err error
	select {
	case <-t.done:
		return nil
	case <-ctx.Done():
		err = ctx.Err()
	case <-c.exited:
		err = ErrStopped
	}
	if t.state.CompareAndSwap(0, 2) {
		return err
	}
	<-t.done // the loop took it: wait for it to finish
	return nil
}

// Stop asks the loop to finish: it runs the external tasks queued so far,
// then Run closes the driver and returns. Safe from any goroutine, also
// from the loop; it does not wait (see Done).
func (c *Center) Stop() {
	if c.stopping.Swap(true) {
		return
	}
	_ = c.wake()
	if !c.started.Load() {
		// Never ran: nothing will drain the queue or close the driver.
		if c.started.CompareAndSwap(false, true) {
			c.unrun.Store(true)
			c.shutdown()
		}
	}
}

// Run runs the loop on the calling goroutine until Stop. A Center runs
// once; its resources are released when Run returns. Run returns
// ErrStopped at once when Stop came first, ErrRunning when it ran before.
func (c *Center) Run() error {
	if !c.started.CompareAndSwap(false, true) {
		if c.unrun.Load() {
			return ErrStopped
		}
		return ErrRunning
	}
	c.loopG.Store(goid.Current())
	c.procs = procs()
	c.setAwake(true)
	var err error
	if c.lp != nil {
		err = c.lp.run(c.step, c.waitKernel)
		if c.counted {
			c.counted = false
			loopsAwake.Add(-1)
		}
	} else {
		for !c.stopping.Load() {
			if err = c.processEvents(); err != nil {
				break
			}
		}
	}
	c.shutdown()
	return err
}

// shutdown drains the queue (tasks queued by those tasks too, a bounded
// number of rounds), refuses new ones, and closes the driver.
func (c *Center) shutdown() {
	c.stopping.Store(true)
	for round := 0; ; round++ {
		c.runLocal(len(c.local))
		c.mu.Lock()
		if len(c.queue) == 0 || round >= 64 {
			c.closed = true
			c.queue = nil
			c.mu.Unlock()
			break
		}
		c.local, c.queue = c.queue, c.local[:0]
		c.head = 0
		c.mu.Unlock()
	}
	c.runEnds()
	for _, f := range c.stops {
		f()
	}
	c.stops = nil
	_ = c.drv.Close()
	c.loopG.Store(0)
	close(c.exited)
}

// processEvents is one loop iteration (Ceph's EventCenter::process_events):
// wait for file events no longer than the next timer or MaxWait, run
// ready handlers, then due timers, then a budget of external tasks.
func (c *Center) processEvents() error {
	c.awake.Store(false)
	now := c.clock()
	timeout := c.opts.MaxWait
	if c.head < len(c.local) || c.notified.Load() {
		timeout = 0
	} else if when, ok := c.timers.earliest(); ok {
		if d := time.Duration(when - now); d < timeout {
			timeout = max(d, 0)
		}
	}
	n, err := c.drv.Wait(c.fired, timeout)
	c.awake.Store(true)
	if err != nil {
		return err
	}
	c.handle(n)
	return nil
}

// loopParker is a driver whose parked loop may park without polling
// first (epoll: the runtime's edge-triggered watch of the epoll fd hears
// of every new readiness, see NOTES.md); nil when it does not park.
type loopParker interface {
	loopParker() *parker
}

// errLoopDone ends a parked run: the loop is stopping.
var errLoopDone = errors.New("event: loop done")

// step is one iteration of a parked loop: a nonblocking poll (or, after
// edge, new readiness on the driver, a guess: guess.go), handlers, timers,
// tasks. It reports whether the loop may park right away (with
// its parker's deadline armed for the next timer): only when the poll took less than a full batch, every
// handler drained its descriptor, no registration changed and no task
// or timer is due; otherwise the next step polls again (the poll a loop
// used to make before every park, now only when something may be left).
func (c *Center) step(edge bool) (park bool, err error) {
	c.setAwake(true)
	if c.stopping.Load() {
		return false, errLoopDone
	}
	c.repoll = false
	n := c.nready
	if n >= 0 {
		c.nready = -1 // waitKernel polled
		c.owed = 0
	} else if edge && c.guess() {
		n = 1
	} else if n, err = c.drv.Wait(c.fired, 0); err != nil {
		return false, err
	} else {
		c.owed = 0
	}
	c.handle(n)
	if c.waitFrom >= 0 {
		c.lastWait = time.Duration(c.nowNS.Load() - c.waitFrom)
		c.waitFrom = -1
	}
	if c.stopping.Load() {
		return false, errLoopDone
	}
	if n == len(c.fired) || c.repoll || c.head < len(c.local) {
		return false, nil
	}
	now := c.clock()
	timeout := c.opts.MaxWait
	if when, ok := c.timers.earliest(); ok {
		d := time.Duration(when - now)
		if d <= 0 {
			return false, nil
		}
		timeout = min(d, timeout)
	}
	parkFor := timeout // a park after a guess ends by the poll owed
	if c.owed != 0 {
		d := time.Duration(c.owed - now)
		if d <= 0 {
			return false, nil // the next step polls
		}
		parkFor = min(d, timeout)
	}
	// The deadline is set before awake is cleared: a producer's wake
	// (an expired deadline) must not be overwritten by it.
	if c.armHook != nil {
		c.armHook()
	}
	// A wait in the kernel polls every registration, so it need not end
	// by the owed poll, nor be kept from the kernel by its short timeout.
	kernel := c.kw != nil && c.waitAt(int(loopsAwake.Load())-1, c.procs, timeout, c.lastWait)
	if kernel {
		c.kwaitFor = timeout
	} else if err := c.lp.arm(c.base.Add(time.Duration(now)), parkFor); err != nil {
		return false, err
	}
	c.kwait = kernel
	c.inKernel.Store(kernel)
	c.waitFrom = now
	// As in processEvents: clear awake, then look at notified; a
	// producer sets notified, then looks at awake. Stop wakes whatever
	// awake says, so stopping is looked at again after arming too.
	c.setAwake(false)
	if c.notified.Load() || c.stopping.Load() {
		c.setAwake(true)
		c.kwait = false
		return false, nil
	}
	return true, nil
}

// waitKernel does the wait step asked for when it is one in the kernel
// (kernelWaitAt): it blocks the loop's thread in the driver and keeps the
// events for the next step. It reports whether it waited; when not, the
// loop parks in the netpoller.
func (c *Center) waitKernel() (waited bool, err error) {
	if !c.kwait {
		return false, nil
	}
	c.kwait = false
	c.stats.kernelWaits.Add(1)
	n, err := c.kw.waitKernel(c.fired, c.kwaitFor)
	if err != nil {
		return true, err
	}
	c.nready = n
	return true, nil
}

// handle runs the handlers of the n events in fired, due timers and a
// budget of external tasks.
func (c *Center) handle(n int) {
	now := c.clock()
	c.nowNS.Store(now)

	// Snapshot which registration each event belongs to before any
	// handler runs: a handler may remove a descriptor and a later handler
	// register a new one under the same number.
	for i := 0; i < n; i++ {
		fd := int(c.fired[i].FD)
		var g uint32
		if fd >= 0 && fd < len(c.files) {
			g = c.files[fd].gen
		}
		c.snap[i] = g
	}
	if c.prefetch != nil && n >= 2 {
		c.prefetchReady(n)
	}
	handled := 0
	for i := 0; i < n; i++ {
		g := c.snap[i]
		if g == 0 {
			continue
		}
		fd := int(c.fired[i].FD)
		e := c.files[fd]
		if e.gen != g {
			continue
		}
		if m := c.fired[i].Mask & e.mask; m != None {
			handled++
			if !e.h.HandleFileEvent(fd, m) || c.fired[i].Hangup {
				c.repoll = true
			}
		}
	}

	// Only timers due at wakeup and present now: one re-adding itself
	// with zero delay waits for the next iteration.
	fired := 0
	for k := c.timers.len(); k > 0; k-- {
		id, h, f, ok := c.timers.pop(now)
		if !ok {
			break
		}
		fired++
		if h != nil {
			h.HandleTimer(id)
		} else {
			f()
		}
	}

	if c.head == len(c.local) && c.notified.Load() {
		// Clear before taking the queue: a task queued after the swap then
		// sees false and wakes us again, so no wakeup is lost.
		c.notified.Store(false)
		c.mu.Lock()
		c.local, c.queue = c.queue, c.local[:0]
		c.mu.Unlock()
		c.head = 0
	}
	// Counted before tasks run, so a task sees its own iteration's events.
	c.stats.iterations.Add(1)
	if handled > 0 {
		c.stats.fileEvents.Add(uint64(handled))
	}
	if fired > 0 {
		c.stats.timers.Add(uint64(fired))
	}
	ran := c.runLocal(c.opts.Budget)
	if ran > 0 {
		c.stats.tasks.Add(uint64(ran))
	}
	c.runEnds()
	if c.iterHook != nil {
		c.iterHook(n)
	}
}

// runLocal runs up to budget tasks from local and says how many ran.
func (c *Center) runLocal(budget int) int {
	ran := 0
	for ; budget > 0 && c.head < len(c.local); budget-- {
		ran++
		t := c.local[c.head]
		c.local[c.head] = task{}
		c.head++
		if t.t != nil {
			t.t.RunTask()
		} else {
			t.f()
		}
	}
	if c.head == len(c.local) {
		c.local = c.local[:0]
		c.head = 0
	}
	return ran
}

// Stats are a Center's cumulative counters, for perf counters and tests.
type Stats struct {
	Iterations uint64 // loop iterations (waits)
	FileEvents uint64 // file handlers called
	Timers     uint64 // timers fired
	Tasks      uint64 // external tasks run
	Wakes      uint64 // wakeups written by Dispatch (0→1 while asleep)
	// KernelWaits: waits of a parked loop done blocking its thread in
	// the kernel instead (kernelWaitAt).
	KernelWaits uint64
	// Guesses: wakeups handled as the busy registration's readiness
	// without a poll (guess.go).
	Guesses uint64
}

// centerStats is updated by the loop once per iteration (Wakes by
// producers) and read by anyone.
type centerStats struct {
	iterations, fileEvents, timers, tasks, wakes, kernelWaits, guesses atomic.Uint64
}

// Stats returns the counters; safe from any goroutine.
func (c *Center) Stats() Stats {
	return Stats{
		Iterations: c.stats.iterations.Load(),
		FileEvents: c.stats.fileEvents.Load(),
		Timers:     c.stats.timers.Load(),
		Tasks:      c.stats.tasks.Load(),
		Wakes:      c.stats.wakes.Load(),

		KernelWaits: c.stats.kernelWaits.Load(),
		Guesses:     c.stats.guesses.Load(),
	}
}
