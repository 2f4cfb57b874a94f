//go:build linux || darwin || freebsd

package event

import (
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"
)

func TestKernelWaitAt(t *testing.T) {
	for _, tc := range []struct {
		name          string
		others, procs int
		timeout, last time.Duration
		want          bool
	}{
		{"one P: the netpoller runs everything else", 5, 1, time.Second, 0, false},
		{"two Ps, the other loop waits too", 0, 2, time.Second, 0, false},
		{"two Ps, the other loop runs", 1, 2, time.Second, 0, true},
		{"two Ps, more loops run than Ps", 3, 2, time.Second, 0, true},
		{"four Ps, two of three others run", 2, 4, time.Second, 0, false},
		{"four Ps, three others run", 3, 4, time.Second, 0, true},
		{"timer due within the epoll_wait granularity", 1, 2, minKernelWait - 1, 0, false},
		{"timer due at the granularity", 1, 2, minKernelWait, 0, true},
		{"MaxWait", 1, 2, DefaultMaxWait, 0, true},
		{"latest wait a few microseconds", 1, 2, time.Second, 2 * time.Microsecond, true},
		{"latest wait just short", 1, 2, time.Second, shortWait - 1, true},
		{"latest wait at sysmon's tick", 1, 2, time.Second, shortWait, false},
		{"latest wait long (a writer waiting for its reader)", 1, 2, time.Second, 300 * time.Microsecond, false},
		{"latest wait long, more loops run than Ps", 3, 2, time.Second, time.Millisecond, false},
		{"latest wait short, but the other loop waits", 0, 2, time.Second, time.Microsecond, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := kernelWaitAt(tc.others, tc.procs, tc.timeout, tc.last); got != tc.want {
				t.Fatalf("kernelWaitAt(%d, %d, %v, %v) = %v, want %v", tc.others, tc.procs, tc.timeout, tc.last, got, tc.want)
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
				c.waitAt = func(int, int, time.Duration, time.Duration) bool { return false }
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

// A parked loop hands kernelWaitAt how long its latest wait lasted: at
// least the time the test watched it wait before waking it.
func TestCenterLastWait(t *testing.T) {
	for _, dc := range centerCases(t) {
		if dc.waits == waitsMixed {
			continue
		}
		t.Run(dc.String(), func(t *testing.T) {
			c := newCenterCase(t, dc, Options{MaxWait: time.Minute})
			if c.lp == nil {
				t.Skip("the loop does not park")
			}
			var mu sync.Mutex
			var lasts []time.Duration
			choose := c.waitAt
			c.waitAt = func(others, procs int, timeout, last time.Duration) bool {
				mu.Lock()
				lasts = append(lasts, last)
				mu.Unlock()
				return choose(others, procs, timeout, last)
			}
			done := make(chan error, 1)
			go func() { done <- c.Run() }()
			onLoop(t, c, func() {})
			for round := range 2 {
				untilWaiting(t, c)
				from := time.Now()
				for time.Since(from) < 2*time.Millisecond {
					runtime.Gosched()
				}
				gap := time.Since(from)
				mu.Lock()
				lasts = lasts[:0]
				mu.Unlock()
				onLoop(t, c, func() {})
				untilWaiting(t, c)
				mu.Lock()
				got := slices.Max(append(lasts, 0))
				mu.Unlock()
				if got < gap {
					t.Fatalf("round %d: latest wait given as %v after the loop waited at least %v", round, got, gap)
				}
			}
			c.Stop()
			if err := recv(t, done); err != nil {
				t.Fatalf("Run: %v", err)
			}
		})
	}
}
