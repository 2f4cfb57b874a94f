//go:build linux || darwin || freebsd

package event

import (
	"context"
	"testing"
	"time"
)

// Benchmarks of the loop's own costs. The ping-pong against net.Conn
// goroutines is in pingpong_unix_test.go.

// pingTask answers on ch; one value reused for every round trip, so
// queuing it allocates nothing.
type pingTask struct{ ch chan struct{} }

func (p *pingTask) RunTask() { p.ch <- struct{}{} }

func benchCenters(b *testing.B, fn func(b *testing.B, c *Center)) {
	for _, dc := range driverCases(b) {
		b.Run(dc.String(), func(b *testing.B) {
			c := startCenter(b, dc, Options{})
			fn(b, c)
		})
	}
}

// BenchmarkExternalRoundTrip: another goroutine queues a task and waits
// for the loop to run it (DispatchTask, wakeup, drain, answer).
func BenchmarkExternalRoundTrip(b *testing.B) {
	benchCenters(b, func(b *testing.B, c *Center) {
		p := &pingTask{ch: make(chan struct{})}
		b.ReportAllocs()
		for b.Loop() {
			if err := c.DispatchTask(p); err != nil {
				b.Fatal(err)
			}
			<-p.ch
		}
	})
}

// BenchmarkCall: the run-and-wait helper (allocates its completion).
func BenchmarkCall(b *testing.B) {
	benchCenters(b, func(b *testing.B, c *Center) {
		ctx := context.Background()
		fn := func() {}
		b.ReportAllocs()
		for b.Loop() {
			if err := c.Call(ctx, fn); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// countTask counts on the loop; no synchronisation needed there.
type countTask struct{ n int }

func (t *countTask) RunTask() { t.n++ }

// BenchmarkDispatchParallel: producers on every P queue tasks as fast as
// they can; measures the producer side (lock, append, 0→1 wake).
func BenchmarkDispatchParallel(b *testing.B) {
	benchCenters(b, func(b *testing.B, c *Center) {
		t := &countTask{}
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := c.DispatchTask(t); err != nil {
					b.Error(err)
					return
				}
			}
		})
		onLoop(b, c, func() {})
	})
}

type nopTimer struct{}

func (nopTimer) HandleTimer(TimerID) {}

// BenchmarkTimerAddCancel: a connection arming and cancelling its
// keepalive, with 1000 other timers pending.
func BenchmarkTimerAddCancel(b *testing.B) {
	c, err := NewCenter(Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Stop()
	var h nopTimer
	for i := range 1000 {
		if _, err := c.AddTimer(time.Hour+time.Duration(i), h); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		id, err := c.AddTimer(time.Minute, h)
		if err != nil {
			b.Fatal(err)
		}
		if !c.CancelTimer(id) {
			b.Fatal("cancel failed")
		}
	}
}

// BenchmarkTimerFire: timers added with no delay and fired by the loop.
func BenchmarkTimerFire(b *testing.B) {
	benchCenters(b, func(b *testing.B, c *Center) {
		done := make(chan struct{})
		var left int
		var fire func()
		fire = func() {
			left--
			if left == 0 {
				done <- struct{}{}
				return
			}
			if _, err := c.AddTimerFunc(0, fire); err != nil {
				b.Error(err)
			}
		}
		b.ReportAllocs()
		b.ResetTimer()
		onLoop(b, c, func() {
			left = b.N
			c.AddTimerFunc(0, fire)
		})
		<-done
	})
}

// BenchmarkInLoop: the goroutine-id check behind InLoop and Call.
func BenchmarkInLoop(b *testing.B) {
	c := startCenter(b, driverCases(b)[0], Options{})
	b.ReportAllocs()
	for b.Loop() {
		if c.InLoop() {
			b.Fatal("InLoop off the loop")
		}
	}
}
