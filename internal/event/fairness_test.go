//go:build linux || darwin || freebsd

package event

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// spinner re-queues itself for ever until told to stop: an external-event
// flood that must not starve file events or timers.
type spinner struct {
	c    *Center
	stop atomic.Bool
	runs int
}

func (s *spinner) RunTask() {
	s.runs++
	if !s.stop.Load() {
		s.c.DispatchTask(s)
	}
}

func TestCenterBudgetKeepsFileEventsAndTimersFlowing(t *testing.T) {
	forEachCenter(t, func(t *testing.T, dc driverCase) {
		c := startCenter(t, dc, Options{Budget: 4})
		a, b := socketPair(t)
		r := &fileRec{fd: a, got: make(chan Mask, 4), read: true}
		timer := make(chan struct{})
		sp := &spinner{c: c}
		onLoop(t, c, func() {
			if _, err := c.AddFile(a, Readable, r); err != nil {
				t.Error(err)
			}
			c.AddTimerFunc(time.Millisecond, func() { close(timer) })
			c.DispatchTask(sp)
		})
		unix.Write(b, []byte("x"))
		recv(t, r.got)
		recv(t, timer)
		sp.stop.Store(true)
		onLoop(t, c, func() {})
		st := c.Stats()
		if st.FileEvents == 0 || st.Timers != 1 || st.Tasks == 0 || st.Iterations == 0 {
			t.Fatalf("stats %+v", st)
		}
	})
}

func TestCenterMaxWaitBoundsIdleWaits(t *testing.T) {
	forEachCenter(t, func(t *testing.T, dc driverCase) {
		opts := Options{Driver: dc.kind, Wait: dc.mode, MaxWait: time.Millisecond}
		c, err := NewCenter(opts)
		if err != nil {
			t.Fatal(err)
		}
		idle := make(chan struct{}, 1)
		c.iterHook = func(n int) {
			if n == 0 {
				select {
				case idle <- struct{}{}:
				default:
				}
			}
		}
		done := make(chan error, 1)
		go func() { done <- c.Run() }()
		// Nothing ever wakes this loop: only MaxWait ends its waits (with
		// the default 30 s this would time out).
		for range 3 {
			recv(t, idle)
		}
		c.Stop()
		if err := recv(t, done); err != nil {
			t.Fatal(err)
		}
	})
}

func TestCenterStoppedRejectsRegistrations(t *testing.T) {
	c, err := NewCenter(Options{})
	if err != nil {
		t.Fatal(err)
	}
	c.Stop()
	recv(t, c.Done())
	a, _ := socketPair(t)
	if _, err := c.AddFile(a, Readable, &fileRec{fd: a}); !errors.Is(err, ErrStopped) {
		t.Fatalf("AddFile after stop: %v", err)
	}
	if _, err := c.AddTimerFunc(time.Second, func() {}); !errors.Is(err, ErrStopped) {
		t.Fatalf("AddTimer after stop: %v", err)
	}
	if err := c.Dispatch(nil); !errors.Is(err, ErrBadFD) {
		t.Fatalf("Dispatch(nil): %v", err)
	}
}

func TestCenterWakesOnlyWhenAsleep(t *testing.T) {
	forEachCenter(t, func(t *testing.T, dc driverCase) {
		c := startCenter(t, dc, Options{})
		before := c.Stats().Wakes
		// Tasks queued by the loop itself never need a wakeup write.
		onLoop(t, c, func() {
			for range 100 {
				c.Dispatch(func() {})
			}
		})
		onLoop(t, c, func() {})
		// Two onLoop calls from outside: at most one wake each.
		if w := c.Stats().Wakes - before; w > 2 {
			t.Fatalf("%d wakeup writes for 100 in-loop dispatches and 2 calls", w)
		}
	})
}
