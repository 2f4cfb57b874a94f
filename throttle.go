package msgr

import (
	"context"
	"fmt"
	"sync"
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

	mu      sync.Mutex
	max     int64
	cur     int64
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
func NewThrottle(name string, max int64) *Throttle {
	if max < 0 {
		max = 0
	}
	return &Throttle{name: name, max: max}
}

// Name returns the name given to NewThrottle.
func (t *Throttle) Name() string { return t.name }

// String describes the throttle's state.
func (t *Throttle) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return fmt.Sprintf("throttle %s %d/%d (%d waiting)", t.name, t.cur, t.max, len(t.waiters))
}

// Current returns the units held.
func (t *Throttle) Current() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.cur
}

// Max returns the maximum (0: unlimited).
func (t *Throttle) Max() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.max
}

// SetMax changes the maximum and wakes waiters that now fit.
func (t *Throttle) SetMax(max int64) {
	if max < 0 {
		max = 0
	}
	t.mu.Lock()
	t.max = max
	notify := t.grantLocked()
	t.mu.Unlock()
	runNotify(notify)
}

// fitsLocked reports whether n more units may be taken now.
func (t *Throttle) fitsLocked(n int64) bool {
	if t.max == 0 || n == 0 {
		return true
	}
	if n >= t.max {
		return t.cur == 0
	}
	return t.cur+n <= t.max
}

// grantLocked hands units to waiters at the head of the queue that now
// fit, and returns the callbacks to run once mu is released.
func (t *Throttle) grantLocked() []func() {
	var notify []func()
	for len(t.waiters) > 0 {
		w := t.waiters[0]
		if !t.fitsLocked(w.n) {
			break
		}
		t.waiters[0] = nil
		t.waiters = t.waiters[1:]
		t.cur += w.n
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
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.waiters) > 0 || !t.fitsLocked(n) {
		return false
	}
	t.cur += n
	return true
}

// Get takes n units, waiting in line until they fit or ctx ends. On error
// nothing is held.
func (t *Throttle) Get(ctx context.Context, n int64) error {
	if t == nil {
		return nil
	}
	t.mu.Lock()
	if len(t.waiters) == 0 && t.fitsLocked(n) {
		t.cur += n
		t.mu.Unlock()
		return nil
	}
	w := &throttleWaiter{n: n, ready: make(chan struct{})}
	t.waiters = append(t.waiters, w)
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
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.waiters) == 0 && t.fitsLocked(n) {
		t.cur += n
		return true, nil
	}
	w := &throttleWaiter{n: n, notify: notify}
	t.waiters = append(t.waiters, w)
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
	t.mu.Lock()
	t.cur -= n
	if t.cur < 0 {
		// A caller put back more than it took: a bug, but never let one
		// holder's mistake starve everyone else.
		t.cur = 0
	}
	notify := t.grantLocked()
	t.mu.Unlock()
	runNotify(notify)
}
