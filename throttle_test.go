package msgr

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"
)

func TestThrottleTryGet(t *testing.T) {
	tests := []struct {
		name    string
		max     int64
		held    int64
		ask     int64
		wantOK  bool
		wantCur int64
	}{
		{"unlimited", 0, 100, 1 << 40, true, 100 + 1<<40},
		{"fits", 10, 3, 7, true, 10},
		{"over", 10, 4, 7, false, 4},
		{"zero always fits", 10, 10, 0, true, 10},
		{"oversize when empty", 10, 0, 50, true, 50},
		{"oversize when held", 10, 1, 50, false, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			th := NewThrottle("t", tc.max)
			if !th.TryGet(tc.held) {
				t.Fatalf("TryGet(%d) on empty throttle failed", tc.held)
			}
			if got := th.TryGet(tc.ask); got != tc.wantOK {
				t.Fatalf("TryGet(%d) = %v, want %v", tc.ask, got, tc.wantOK)
			}
			if got := th.Current(); got != tc.wantCur {
				t.Fatalf("Current = %d, want %d", got, tc.wantCur)
			}
		})
	}
}

func TestThrottleGetWaitsInOrder(t *testing.T) {
	th := NewThrottle("t", 10)
	if !th.TryGet(10) {
		t.Fatal("TryGet(10) failed")
	}
	got := make(chan int, 3)
	ctx := context.Background()
	// Queue three waiters in a known order: each one is in line before
	// the next starts (Acquire queues synchronously).
	ok, _ := th.Acquire(6, func() { got <- 1 })
	if ok {
		t.Fatal("Acquire(6) succeeded on a full throttle")
	}
	ok, _ = th.Acquire(2, func() { got <- 2 })
	if ok {
		t.Fatal("Acquire(2) jumped the queue")
	}
	// A TryGet that would fit must not jump the queue either.
	th.Put(4)
	if th.TryGet(1) {
		t.Fatal("TryGet jumped the queue")
	}
	if len(got) != 0 {
		t.Fatalf("granted early: %d", <-got)
	}
	th.Put(6) // cur 0: 6 then 2 fit
	if a, b := <-got, <-got; a != 1 || b != 2 {
		t.Fatalf("grant order %d,%d, want 1,2", a, b)
	}
	if c := th.Current(); c != 8 {
		t.Fatalf("Current = %d, want 8", c)
	}
	done := make(chan error, 1)
	go func() { done <- th.Get(ctx, 5) }()
	th.Put(8)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if c := th.Current(); c != 5 {
		t.Fatalf("Current = %d, want 5", c)
	}
}

func TestThrottleGetContext(t *testing.T) {
	th := NewThrottle("t", 1)
	th.TryGet(1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- th.Get(ctx, 1) }()
	// Wait until the goroutine is queued, observed through the throttle.
	for {
		th.mu.Lock()
		n := len(th.waiters)
		th.mu.Unlock()
		if n == 1 {
			break
		}
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Get = %v, want context.Canceled", err)
	}
	th.Put(1)
	if c := th.Current(); c != 0 {
		t.Fatalf("Current = %d after cancel and put, want 0", c)
	}
}

func TestThrottleAcquireCancel(t *testing.T) {
	th := NewThrottle("t", 4)
	th.TryGet(3)
	ok, cancel := th.Acquire(4, func() { t.Error("cancelled waiter notified") })
	if ok {
		t.Fatal("Acquire succeeded on a full throttle")
	}
	granted := make(chan struct{})
	ok, _ = th.Acquire(1, func() { close(granted) })
	if ok {
		t.Fatal("second Acquire jumped the queue")
	}
	if !cancel() {
		t.Fatal("cancel of a queued request returned false")
	}
	// Removing the blocking head lets the second one in without a Put.
	<-granted
	if c := th.Current(); c != 4 {
		t.Fatalf("Current = %d, want 4", c)
	}
	// Cancel after grant reports false.
	th.Put(4)
	th.TryGet(4)
	ok, cancel = th.Acquire(1, func() {})
	if ok {
		t.Fatal("Acquire succeeded")
	}
	th.Put(4)
	if cancel() {
		t.Fatal("cancel after grant returned true")
	}
}

func TestThrottleSetMax(t *testing.T) {
	th := NewThrottle("t", 2)
	th.TryGet(2)
	granted := make(chan struct{})
	if ok, _ := th.Acquire(2, func() { close(granted) }); ok {
		t.Fatal("Acquire succeeded")
	}
	th.SetMax(4)
	<-granted
	if th.Max() != 4 || th.Current() != 4 {
		t.Fatalf("got %s", th)
	}
}

func TestThrottleNil(t *testing.T) {
	var th *Throttle
	if !th.TryGet(5) {
		t.Fatal("nil TryGet")
	}
	if err := th.Get(context.Background(), 5); err != nil {
		t.Fatal(err)
	}
	if ok, _ := th.Acquire(5, nil); !ok {
		t.Fatal("nil Acquire")
	}
	th.Put(5)
}

// TestThrottleRace has goroutines take and give back units of a small
// throttle every way at once: the lock-free TryGet and Put must never let
// the count past the maximum, and never lose the wake-up of a request
// that queued just as the units came back (a lost one leaves its Get
// waiting until the deadline, or its Acquire never granted).
func TestThrottleRace(t *testing.T) {
	const limit, workers, rounds = 3, 6, 2000
	th := NewThrottle("t", limit)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var held atomic.Int64
	take := func(n int64) error {
		if h := held.Add(n); h > limit {
			return fmt.Errorf("%d held, limit %d", h, limit)
		}
		held.Add(-n)
		th.Put(n)
		return nil
	}
	errs := make(chan error, workers)
	for w := range workers {
		go func() {
			var err error
			for i := 0; i < rounds && err == nil; i++ {
				n := int64(1 + (w+i)%limit)
				switch (w + i) % 3 {
				case 0:
					if th.TryGet(n) {
						err = take(n)
					}
				case 1:
					if err = th.Get(ctx, n); err == nil {
						err = take(n)
					}
				case 2:
					granted := make(chan struct{})
					if ok, _ := th.Acquire(n, func() { close(granted) }); !ok {
						select {
						case <-granted:
						case <-ctx.Done():
							err = fmt.Errorf("Acquire(%d) never granted: %s", n, th)
							continue
						}
					}
					err = take(n)
				}
			}
			errs <- err
		}()
	}
	for range workers {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if c := th.Current(); c != 0 {
		t.Fatalf("Current = %d after every unit came back", c)
	}
}

// BenchmarkThrottleMessage is what every received message costs the
// messenger's two shared dispatch throttles (conn.go's inRelease: a
// TryGet and a Put on each), from as many goroutines as loops.
func BenchmarkThrottleMessage(b *testing.B) {
	msgs, bytes := NewThrottle("msgs", 65536), NewThrottle("bytes", 100<<20)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if !msgs.TryGet(1) || !bytes.TryGet(4096) {
				b.Error("TryGet failed with room left")
				return
			}
			msgs.Put(1)
			bytes.Put(4096)
		}
	})
}
