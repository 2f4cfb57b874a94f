package event

import (
	"errors"
	"slices"
	"sync/atomic"
	"testing"
)

// AtStepEnd's functions run after the step's tasks and before it ends
// (the iteration hook), those they queue in the same step; OnStop's when
// the loop stops.
func TestCenterStepEnd(t *testing.T) {
	forEachCenter(t, func(t *testing.T, dc driverCase) {
		c := newCenterCase(t, dc, Options{})
		var log []string // loop only
		c.iterHook = func(int) { log = append(log, "iter") }
		done := make(chan error, 1)
		go func() { done <- c.Run() }()
		var stopped atomic.Bool
		onLoop(t, c, func() {
			log = log[:0]
			log = append(log, "task")
			if err := c.AtStepEnd(func() {
				log = append(log, "end1")
				_ = c.AtStepEnd(func() { log = append(log, "end2") })
			}); err != nil {
				t.Error(err)
			}
			if err := c.OnStop(func() { stopped.Store(true) }); err != nil {
				t.Error(err)
			}
		})
		var got []string
		onLoop(t, c, func() { got = slices.Clone(log) })
		if want := []string{"task", "end1", "end2", "iter"}; len(got) < 4 || !slices.Equal(got[:4], want) {
			t.Fatalf("order %v, want %v first", got, want)
		}
		if checkOwner {
			if err := c.AtStepEnd(func() {}); !errors.Is(err, ErrNotInLoop) {
				t.Fatalf("AtStepEnd off the loop: %v", err)
			}
		}
		if stopped.Load() {
			t.Fatal("OnStop ran before Stop")
		}
		c.Stop()
		if err := recv(t, done); err != nil {
			t.Fatal(err)
		}
		if !stopped.Load() {
			t.Fatal("OnStop did not run")
		}
	})
}
