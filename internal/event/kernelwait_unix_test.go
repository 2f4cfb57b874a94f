//go:build linux || darwin || freebsd

package event

import (
	"runtime"
	"testing"
	"time"
)

func TestKernelWaitAt(t *testing.T) {
	for _, tc := range []struct {
		name          string
		others, procs int
		timeout       time.Duration
		want          bool
	}{
		{"one P: the netpoller runs everything else", 5, 1, time.Second, false},
		{"two Ps, the other loop waits too", 0, 2, time.Second, false},
		{"two Ps, the other loop runs", 1, 2, time.Second, true},
		{"two Ps, more loops run than Ps", 3, 2, time.Second, true},
		{"four Ps, two of three others run", 2, 4, time.Second, false},
		{"four Ps, three others run", 3, 4, time.Second, true},
		{"timer due within the epoll_wait granularity", 1, 2, minKernelWait - 1, false},
		{"timer due at the granularity", 1, 2, minKernelWait, true},
		{"MaxWait", 1, 2, DefaultMaxWait, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := kernelWaitAt(tc.others, tc.procs, tc.timeout); got != tc.want {
				t.Fatalf("kernelWaitAt(%d, %d, %v) = %v, want %v", tc.others, tc.procs, tc.timeout, got, tc.want)
			}
		})
	}
}

// untilWaiting yields until c's loop has declared itself waiting (it
// runs nothing then: no task is queued).
func untilWaiting(t *testing.T, c *Center) {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for c.awake.Load() {
		if time.Now().After(deadline) {
			t.Fatal("the loop never waited")
		}
		runtime.Gosched()
	}
}

// A loop told to wait in the kernel does (KernelWaits), is woken there by
// Dispatch (the driver's eventfd, not the parker's deadline), and one
// told to park never waits in the kernel. loopsAwake counts the loop
// while it runs and not while it waits.
func TestCenterKernelWaits(t *testing.T) {
	for _, dc := range centerCases(t) {
		if dc.waits == waitsMixed {
			continue
		}
		t.Run(dc.String(), func(t *testing.T) {
			base := loopsAwake.Load()
			c := newCenterCase(t, dc, Options{MaxWait: time.Minute})
			if dc.waits == waitsPolicy {
				c.waitAt = func(int, int, time.Duration) bool { return false }
			}
			done := make(chan error, 1)
			go func() { done <- c.Run() }()
			counted := base
			if c.lp != nil {
				counted++
			}
			for round := range 3 {
				var running int32
				onLoop(t, c, func() { running = loopsAwake.Load() })
				if running != counted {
					t.Fatalf("round %d: loopsAwake %d while the loop runs, want %d", round, running, counted)
				}
				untilWaiting(t, c)
				if got := loopsAwake.Load(); got != base {
					t.Fatalf("round %d: loopsAwake %d while the loop waits, want %d", round, got, base)
				}
			}
			onLoop(t, c, func() {})
			kw := c.Stats().KernelWaits
			switch {
			case dc.waits == waitsKernel && kw < 3:
				t.Fatalf("%d kernel waits, want at least one per round (3)", kw)
			case dc.waits != waitsKernel && kw != 0:
				t.Fatalf("%d kernel waits, want none", kw)
			}
			c.Stop()
			if err := recv(t, done); err != nil {
				t.Fatalf("Run: %v", err)
			}
			if got := loopsAwake.Load(); got != base {
				t.Fatalf("loopsAwake %d after Run, want %d", got, base)
			}
		})
	}
}
