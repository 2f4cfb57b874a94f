package msgr

import (
	"context"
	"errors"
	"testing"
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
