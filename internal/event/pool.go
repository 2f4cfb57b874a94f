package event

import (
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
)

// Worker owns one Center and the goroutine that runs its loop (Ceph's
// Worker). Connections placed on a worker live on its loop for good.
type Worker struct {
	id     int
	center *Center
	load   atomic.Int64  // connections placed here and not yet left
	err    error         // Run's result; written by the loop goroutine before done closes
	done   chan struct{} // closed when the loop goroutine has finished
}

// ID is the worker's index in its pool.
func (w *Worker) ID() int { return w.id }

// Center is the worker's event loop.
func (w *Worker) Center() *Center { return w.center }

// Load is the number of connections placed on the worker by Pick and not
// yet given back with Leave.
func (w *Worker) Load() int64 { return w.load.Load() }

// Leave tells the pool a connection placed by Pick has left this worker.
func (w *Worker) Leave() { w.load.Add(-1) }

// Done is closed when the worker's loop goroutine has finished.
func (w *Worker) Done() <-chan struct{} { return w.done }

// Err is the loop's error once Done is closed (nil after a clean stop,
// and while running).
func (w *Worker) Err() error {
	select {
	case <-w.done:
		return w.err
	default:
		return nil
	}
}

// Pool is a fixed set of workers (Ceph's NetworkStack workers).
// Pick, Workers and Stop are safe from any goroutine.
type Pool struct {
	workers []*Worker // immutable after NewPool
	next    atomic.Uint32
	stop    sync.Once
	opts    Options
}

// NewPool starts opts.Workers loops (GOMAXPROCS when 0).
func NewPool(opts Options) (*Pool, error) {
	n := opts.Workers
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	p := &Pool{opts: opts.withDefaults()}
	p.opts.Workers = n
	for i := 0; i < n; i++ {
		c, err := NewCenter(opts)
		if err != nil {
			p.Stop()
			return nil, err
		}
		w := &Worker{id: i, center: c, done: make(chan struct{})}
		p.workers = append(p.workers, w)
		go p.run(w)
	}
	return p, nil
}

func (p *Pool) run(w *Worker) {
	defer close(w.done)
	if p.opts.LockOSThread {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
	}
	if err := w.center.Run(); !errors.Is(err, ErrStopped) {
		w.err = err // ErrStopped: the pool stopped before this loop began
	}
}

// Options returns the options the pool runs with, defaults filled in.
func (p *Pool) Options() Options { return p.opts }

// Workers returns the workers; do not modify the slice.
func (p *Pool) Workers() []*Worker { return p.workers }

// Pick places a new connection on the least loaded worker; ties go round
// robin so that an idle pool spreads connections. The caller calls
// Leave on the returned worker when the connection ends.
func (p *Pool) Pick() *Worker {
	n := len(p.workers)
	start := int(p.next.Add(1)-1) % n
	best := p.workers[start]
	bl := best.load.Load()
	for k := 1; k < n && bl > 0; k++ {
		w := p.workers[(start+k)%n]
		if l := w.load.Load(); l < bl {
			best, bl = w, l
		}
	}
	best.load.Add(1)
	return best
}

// Stop stops every worker and waits for their loops to return; it
// returns their errors joined. Idempotent. Called from one of the pool's
// own loops (a handler releasing the last lease), it cannot wait for that
// loop: it waits for the others, and the calling loop finishes once its
// handler returns (Worker.Done tells when).
func (p *Pool) Stop() error {
	var self *Worker
	for _, w := range p.workers {
		if w.center.InLoop() {
			self = w
		}
	}
	p.stop.Do(func() {
		for _, w := range p.workers {
			w.center.Stop()
		}
	})
	var errs []error
	for _, w := range p.workers {
		if w == self {
			continue
		}
		<-w.done
		errs = append(errs, w.err)
	}
	return errors.Join(errs...)
}

// Registry hands out process-wide pools by name, reference-counted, like
// Ceph's CephContext::lookup_or_create_singleton_object: every messenger
// asking for the same name shares one pool, which stops when the last
// lease is released. Safe from any goroutine.
type Registry struct {
	mu    sync.Mutex
	pools map[string]*shared // guarded by mu
}

type shared struct {
	pool *Pool
	refs int // guarded by Registry.mu
}

// NewRegistry returns an empty registry (tests; production uses Default).
func NewRegistry() *Registry { return &Registry{pools: map[string]*shared{}} }

var defaultRegistry = NewRegistry()

// Default is the process-wide registry.
func Default() *Registry { return defaultRegistry }

// Lease is one user's reference to a shared pool.
type Lease struct {
	reg      *Registry
	name     string
	sh       *shared
	released atomic.Bool
}

// Acquire returns a lease on the pool called name, starting it with opts
// if it does not run yet; later callers share it and their opts are
// ignored (the first creator decides, as in Ceph).
func (r *Registry) Acquire(name string, opts Options) (*Lease, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	sh := r.pools[name]
	if sh == nil {
		p, err := NewPool(opts)
		if err != nil {
			return nil, err
		}
		sh = &shared{pool: p}
		r.pools[name] = sh
	}
	sh.refs++
	return &Lease{reg: r, name: name, sh: sh}, nil
}

// Acquire is Default().Acquire.
func Acquire(name string, opts Options) (*Lease, error) { return defaultRegistry.Acquire(name, opts) }

// Pool returns the shared pool.
func (l *Lease) Pool() *Pool { return l.sh.pool }

// Release drops the lease; the last one stops the pool and waits for it.
// A second Release of the same lease returns ErrPoolReleased.
func (l *Lease) Release() error {
	if l.released.Swap(true) {
		return ErrPoolReleased
	}
	r := l.reg
	r.mu.Lock()
	l.sh.refs--
	last := l.sh.refs == 0
	if last && r.pools[l.name] == l.sh {
		delete(r.pools, l.name)
	}
	r.mu.Unlock()
	if last {
		// Outside the lock: a loop task may be acquiring another pool.
		return l.sh.pool.Stop()
	}
	return nil
}

// Len returns how many named pools run.
func (r *Registry) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.pools)
}
