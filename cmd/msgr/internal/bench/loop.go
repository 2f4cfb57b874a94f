package bench

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// closedLoop keeps Depth messages in flight on each of Conns connections:
// every answer is timed and, while the run lasts, replaced by a new
// message on the same connection. With spec.Rate > 0 it is an open loop
// instead: a pacer goroutine offers messages on a schedule, round robin
// over the connections, and answers only end them. Transports call start once their
// connections are up, and answered for every reply. Safe for concurrent
// use.
type closedLoop struct {
	spec Spec
	hist *Histogram
	// send transmits one message on connection conn; sentAt is its
	// timestamp (UnixNano of the monotonic-safe clock below).
	send func(conn int, sentAt int64) error

	base     time.Time // clock origin: timestamps are nanoseconds since base
	left     []atomic.Int64
	stopped  atomic.Bool
	sent     atomic.Int64
	answers  atomic.Int64
	inflight atomic.Int64
	lastAt   atomic.Int64

	errMu   sync.Mutex
	err     error
	done    chan struct{}
	endOnce sync.Once
	pacers  sync.WaitGroup
}

func newClosedLoop(spec Spec, send func(conn int, sentAt int64) error) *closedLoop {
	l := &closedLoop{spec: spec, hist: new(Histogram), send: send, done: make(chan struct{}), base: time.Now()}
	if spec.Count > 0 {
		l.left = make([]atomic.Int64, spec.Conns)
		for i := range l.left {
			n := spec.Count / int64(spec.Conns)
			if int64(i) < spec.Count%int64(spec.Conns) {
				n++
			}
			l.left[i].Store(n)
		}
	}
	return l
}

// now is nanoseconds since the loop's origin (monotonic).
func (l *closedLoop) now() int64 { return int64(time.Since(l.base)) }

// take reserves one more message on conn, or reports that the run is over
// for it.
func (l *closedLoop) take(conn int) bool {
	if l.stopped.Load() {
		return false
	}
	if l.left != nil && l.left[conn].Add(-1) < 0 {
		return false
	}
	return true
}

func (l *closedLoop) fail(err error) {
	l.errMu.Lock()
	if l.err == nil {
		l.err = err
	}
	l.errMu.Unlock()
	l.stopped.Store(true)
	l.endOnce.Do(func() { close(l.done) })
}

func (l *closedLoop) sendOne(conn int) { l.sendAt(conn, l.now()) }

// sendAt sends one message stamped at (the time it was due).
func (l *closedLoop) sendAt(conn int, at int64) {
	l.sent.Add(1)
	if err := l.send(conn, at); err != nil {
		l.sent.Add(-1)
		l.fail(fmt.Errorf("bench: send on connection %d: %w", conn, err))
		l.finishOne()
	}
}

func (l *closedLoop) finishOne() {
	if l.inflight.Add(-1) == 0 {
		l.endOnce.Do(func() { close(l.done) })
	}
}

// start fills every connection's window.
func (l *closedLoop) start() {
	l.base = time.Now()
	// Count the whole window first, so that early answers cannot drive
	// inflight to zero while windows are still being filled.
	l.inflight.Add(1)
	if l.spec.Rate > 0 {
		l.startPacers()
		return
	}
	for c := 0; c < l.spec.Conns; c++ {
		for d := 0; d < l.spec.Depth; d++ {
			if !l.take(c) {
				break
			}
			l.inflight.Add(1)
			l.sendOne(c)
		}
	}
	l.finishOne()
}

// startPacers runs the open loop with one pacer goroutine: message j is
// due at j/Rate seconds and goes to connection j mod Conns (so each
// connection gets one every Conns/Rate seconds). A pacer that falls behind
// sends what is overdue at once. The guard taken by start is dropped once
// the pacer has stopped.
func (l *closedLoop) startPacers() {
	l.pacers.Add(1)
	go func() {
		defer l.pacers.Done()
		defer l.finishOne()
		t := time.NewTimer(time.Hour)
		defer t.Stop()
		for j := int64(0); ; j++ {
			c := int(j % int64(l.spec.Conns))
			if !l.take(c) {
				return
			}
			due := int64(float64(j) / l.spec.Rate * float64(time.Second))
			if d := time.Duration(due - l.now()); d > 0 {
				t.Reset(d)
				select {
				case <-t.C:
				case <-l.done:
					return
				}
			}
			l.inflight.Add(1)
			l.sendAt(c, due)
		}
	}()
}

// answered records the reply to a message sent at sentAt on conn, with
// ok false when the reply does not match what was sent.
func (l *closedLoop) answered(conn int, sentAt int64, ok bool) {
	t := l.now()
	l.hist.Record(time.Duration(t - sentAt))
	l.answers.Add(1)
	l.lastAt.Store(t)
	if !ok {
		l.fail(fmt.Errorf("%w: connection %d: reply does not match its request", ErrShort, conn))
	}
	if l.spec.Rate <= 0 && l.take(conn) {
		l.sendOne(conn)
		return
	}
	l.finishOne()
}

// wait runs the loop to its end: the duration passes (then the messages
// in flight drain) or every counted message is answered. It returns the
// counters; ctx bounds the whole wait.
func (l *closedLoop) wait(ctx context.Context) (Result, error) {
	var timer *time.Timer
	if l.spec.Duration > 0 {
		timer = time.AfterFunc(l.spec.Duration, func() { l.stopped.Store(true) })
		defer timer.Stop()
	}
	select {
	case <-l.done:
	case <-ctx.Done():
		l.fail(fmt.Errorf("%w: %d of %d answered: %w", ErrShort, l.answers.Load(), l.sent.Load(), ctx.Err()))
	}
	l.pacers.Wait()
	r := Result{Spec: l.spec, Messages: l.answers.Load(), Sent: l.sent.Load()}
	r.Bytes = r.Messages * int64(l.spec.Size)
	r.Elapsed = time.Duration(l.lastAt.Load())
	l.errMu.Lock()
	err := l.err
	l.errMu.Unlock()
	if err != nil {
		return r, err
	}
	if r.Messages != r.Sent {
		return r, fmt.Errorf("%w: %d sent, %d answered", ErrShort, r.Sent, r.Messages)
	}
	if l.spec.Count > 0 && r.Messages != l.spec.Count {
		return r, fmt.Errorf("%w: %d answered, %d asked", ErrShort, r.Messages, l.spec.Count)
	}
	return r, nil
}
