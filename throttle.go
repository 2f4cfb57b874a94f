package msgr

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
)

// Throttle bounds a count (bytes or messages) shared by many holders, as
// Ceph's Throttle does: Get takes units and Put gives them back. A request
// waits while it would push the count past the maximum; a request larger
// than the maximum is let through once nothing else is held, so it cannot
// wait forever (Ceph lets it in as soon as the count is at or under the
// maximum; waiting for zero keeps the overshoot to that one request). Waiters are served in arrival order.
//
// A Throttle is safe for use from any goroutine. A zero maximum means
// unlimited. Event loops must never block, so they use Acquire, which
// calls back instead of waiting.
type Throttle struct {
	name string

	// cur and max are atomics so that the common case (nobody waiting,
	// room left) takes and gives back units without mu: every received
	// message takes the messenger's two dispatch throttles and gives them
	// back, from every loop, and a mutex there showed in profiles.
	cur atomic.Int64
	max atomic.Int64
	// nwait counts the queued waiters plus a Get or Acquire about to
	// queue (it counts itself before its last look at cur). A Put that
	// sees none has nobody to grant: a request that counted itself after
	// that look sees the units the Put gave back (both are sequentially
	// consistent atomics).
	nwait atomic.Int32

	mu      sync.Mutex
	waiters []*throttleWaiter // FIFO; guarded by mu
}

// throttleWaiter is one pending request; granted and ready are guarded by
// the Throttle's mu.
type throttleWaiter struct {
	n       int64
	granted bool
	ready   chan struct{} // closed on grant, for Get
	notify  func()        // called on grant without mu held, for Acquire
}

// NewThrottle returns a Throttle named for logs and errors.
func NewThrottle(name string, limit int64) *Throttle {
	t := &Throttle{name: name}
	t.max.Store(max(limit, 0))
	return t
}

// Name returns the name given to NewThrottle.
func (t *Throttle) Name() string { return t.name }

// String describes the throttle's state.
func (t *Throttle) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return fmt.Sprintf("throttle %s %d/%d (%d waiting)", t.name, t.cur.Load(), t.max.Load(), len(t.waiters))
}

// Current returns the units held.
func (t *Throttle) Current() int64 { return t.cur.Load() }

// Max returns the maximum (0: unlimited).
func (t *Throttle) Max() int64 { return t.max.Load() }

// SetMax changes the maximum and wakes waiters that now fit.
func (t *Throttle) SetMax(limit int64) {
	t.max.Store(max(limit, 0))
	t.mu.Lock()
	notify := t.grantLocked()
	t.mu.Unlock()
	runNotify(notify)
}

// fits reports whether n more units may be taken with cur held.
func fits(cur, limit, n int64) bool {
	if limit == 0 || n == 0 {
		return true
	}
	if n >= limit {
		return cur == 0
	}
	return cur+n <= limit
}

// take takes n units if they fit now, whoever waits.
func (t *Throttle) take(n int64) bool {
	for {
		cur := t.cur.Load()
		if !fits(cur, t.max.Load(), n) {
			return false
		}
		if t.cur.CompareAndSwap(cur, cur+n) {
			return true
		}
	}
}

// queueLocked takes n units now if nobody waits and they fit, or else
// queues w (with n) and returns false.
func (t *Throttle) queueLocked(w *throttleWaiter) bool {
	t.nwait.Add(1) // before take's look at cur: see nwait
	if len(t.waiters) == 0 && t.take(w.n) {
		t.nwait.Add(-1)
		return true
	}
	t.waiters = append(t.waiters, w)
	return false
}

// grantLocked hands units to waiters at the head of the queue that now
// fit, and returns the callbacks to run once mu is released.
func (t *Throttle) grantLocked() []func() {
	var notify []func()
	for len(t.waiters) > 0 {
		w := t.waiters[0]
		if !t.take(w.n) {
			break
		}
		t.waiters[0] = nil
		t.waiters = t.waiters[1:]
		t.nwait.Add(-1)
		w.granted = true
		if w.ready != nil {
			close(w.ready)
		}
		if w.notify != nil {
			notify = append(notify, w.notify)
		}
	}
	return notify
}

func runNotify(fs []func()) {
	for _, f := range fs {
		f()
	}
}

// TryGet takes n units if they fit now and nobody is waiting ahead.
func (t *Throttle) TryGet(n int64) bool {
	if t == nil {
		return true
	}
	return t.nwait.Load() == 0 && t.take(n)
}

// Get takes n units, waiting in line until they fit or ctx ends. On error
// nothing is held.
func (t *Throttle) Get(ctx context.Context, n int64) error {
	if t == nil {
		return nil
	}
	if t.TryGet(n) {
		return nil
	}
	w := &throttleWaiter{n: n, ready: make(chan struct{})}
	t.mu.Lock()
	if t.queueLocked(w) {
		t.mu.Unlock()
		return nil
	}
	t.mu.Unlock()
	select {
	case <-w.ready:
		return nil
	case <-ctx.Done():
		if !t.cancel(w) {
			// Granted while we were giving up: give it back.
			t.Put(n)
		}
		return fmt.Errorf("msgr: %s: waiting for %d: %w", t.name, n, ctx.Err())
	}
}

// Acquire takes n units now and returns true, or queues the request and
// returns false; the units are later taken on the caller's behalf and
// notify is called from whichever goroutine released them. notify must
// not block (an event loop posts an event to itself). cancel withdraws a
// queued request and reports whether it was still queued; when it was not,
// the units are held and the caller must Put them.
func (t *Throttle) Acquire(n int64, notify func()) (ok bool, cancel func() bool) {
	if t == nil {
		return true, nil
	}
	if t.TryGet(n) {
		return true, nil
	}
	w := &throttleWaiter{n: n, notify: notify}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.queueLocked(w) {
		return true, nil
	}
	return false, func() bool { return t.cancel(w) }
}

// cancel removes w from the queue; false when it had been granted.
func (t *Throttle) cancel(w *throttleWaiter) bool {
	t.mu.Lock()
	if w.granted {
		t.mu.Unlock()
		return false
	}
	for i, x := range t.waiters {
		if x == w {
			t.waiters = append(t.waiters[:i], t.waiters[i+1:]...)
			t.nwait.Add(-1)
			break
		}
	}
	// The head may have been the one blocking the others.
	notify := t.grantLocked()
	t.mu.Unlock()
	runNotify(notify)
	return true
}

// Put gives back n units and wakes waiters that now fit.
func (t *Throttle) Put(n int64) {
	if t == nil || n == 0 {
		return
	}
	for {
		// A caller putting back more than it took is a bug, but never
		// let one holder's mistake starve everyone else: at least 0.
		cur := t.cur.Load()
		if t.cur.CompareAndSwap(cur, max(cur-n, 0)) {
			break
		}
	}
	if t.nwait.Load() == 0 {
		return // nobody to grant (see nwait)
	}
	t.mu.Lock()
	notify := t.grantLocked()
	t.mu.Unlock()
	runNotify(notify)
}
