//go:build linux || darwin || freebsd

package event

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// testTimeout bounds every wait in these tests; hitting it is a failure
// (a lost wakeup or a hang), never a timing assertion.
const testTimeout = 20 * time.Second

// startCenter runs a Center of the given driver case on its own goroutine
// and stops it at test end.
func startCenter(t testing.TB, dc driverCase, opts Options) *Center {
	t.Helper()
	c := newCenterCase(t, dc, opts)
	done := make(chan error, 1)
	go func() { done <- c.Run() }()
	t.Cleanup(func() {
		c.Stop()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	onLoop(t, c, func() {}) // the loop runs: InLoop and ownership apply
	return c
}

// onLoop runs fn on c's loop and fails the test if it cannot.
func onLoop(t testing.TB, c *Center, fn func()) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if err := c.Call(ctx, fn); err != nil {
		t.Fatalf("Call: %v", err)
	}
}

func forEachCenter(t *testing.T, fn func(t *testing.T, dc driverCase)) {
	for _, dc := range centerCases(t) {
		t.Run(dc.String(), func(t *testing.T) { fn(t, dc) })
	}
}

// fileRec records file events it receives; its channel gets one value
// per event, save a guessed one (guess.go) whose read found nothing.
type fileRec struct {
	fd   int
	got  chan Mask
	read bool // drain what is readable
}

func (r *fileRec) HandleFileEvent(fd int, m Mask) bool {
	if fd != r.fd {
		panic(fmt.Sprintf("handler for fd %d called with fd %d", r.fd, fd))
	}
	if r.read && m&Readable != 0 {
		var buf [64]byte
		if _, err := unix.Read(fd, buf[:]); err == unix.EAGAIN && m == Readable {
			return false
		}
	}
	select {
	case r.got <- m:
	default:
	}
	return false
}

func recv[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(testTimeout):
		t.Fatal("timed out")
	}
	var zero T
	return zero
}

func TestCenterFileEvents(t *testing.T) {
	forEachCenter(t, func(t *testing.T, dc driverCase) {
		c := startCenter(t, dc, Options{})
		a, b := socketPair(t)
		r := &fileRec{fd: a, got: make(chan Mask, 16), read: true}
		var id FileID
		onLoop(t, c, func() {
			var err error
			if id, err = c.AddFile(a, Readable, r); err != nil {
				t.Error(err)
			}
			if _, err := c.AddFile(a, Readable, r); !errors.Is(err, ErrExists) {
				t.Errorf("second AddFile: %v, want ErrExists", err)
			}
			if _, err := c.AddFile(-1, Readable, r); !errors.Is(err, ErrBadFD) {
				t.Errorf("AddFile(-1): %v, want ErrBadFD", err)
			}
		})
		if id.FD() != a {
			t.Fatalf("FileID.FD() = %d, want %d", id.FD(), a)
		}
		unix.Write(b, []byte("ping"))
		if m := recv(t, r.got); m != Readable {
			t.Fatalf("mask %v, want r", m)
		}
		onLoop(t, c, func() {
			if err := c.SetMask(id, Readable|Writable); err != nil {
				t.Error(err)
			}
			if m, err := c.Mask(id); m != Readable|Writable || err != nil {
				t.Errorf("Mask = %v, %v", m, err)
			}
		})
		if m := recv(t, r.got); m&Writable == 0 {
			t.Fatalf("mask %v, want writable", m)
		}
		onLoop(t, c, func() {
			if err := c.SetMask(id, None); err != nil {
				t.Error(err)
			}
			if err := c.RemoveFile(id); err != nil {
				t.Error(err)
			}
			if err := c.RemoveFile(id); !errors.Is(err, ErrStale) {
				t.Errorf("second RemoveFile: %v, want ErrStale", err)
			}
			if err := c.SetMask(id, Readable); !errors.Is(err, ErrStale) {
				t.Errorf("SetMask after remove: %v, want ErrStale", err)
			}
			if c.Files() != 0 {
				t.Errorf("Files() = %d after remove", c.Files())
			}
		})
		// Drop events that raced the removal, then prove silence with a
		// loop round trip after new data.
		for len(r.got) > 0 {
			<-r.got
		}
		unix.Write(b, []byte("more"))
		onLoop(t, c, func() {})
		onLoop(t, c, func() {})
		if len(r.got) != 0 {
			t.Fatalf("event after RemoveFile: %v", <-r.got)
		}
	})
}

// reuser is the fd-reuse scenario: two registrations ready in one batch;
// whichever handler runs first removes and closes the other descriptor,
// opens a new socket (the kernel hands out the lowest free number, so it
// reuses the closed one) and registers it. The stale event collected for
// the old registration must reach neither the old nor the new handler.
type reuser struct {
	c      *Center
	fd     int
	peer   *reuser
	id     FileID
	ran    *atomic.Int32
	killed bool
	fresh  *fileRec
	newFD  int
	t      *testing.T
}

func (r *reuser) HandleFileEvent(fd int, m Mask) bool {
	if r.killed {
		r.t.Errorf("stale event delivered to removed registration fd %d", fd)
		return false
	}
	if r.ran.Add(1) != 1 {
		return false
	}
	var buf [8]byte
	unix.Read(fd, buf[:])
	p := r.peer
	if err := r.c.RemoveFile(p.id); err != nil {
		r.t.Error(err)
	}
	p.killed = true
	unix.Close(p.fd)
	nfds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		r.t.Error(err)
		return false
	}
	r.newFD = nfds[0]
	r.fresh = &fileRec{fd: nfds[0], got: make(chan Mask, 4)}
	if _, err := r.c.AddFile(nfds[0], Readable, r.fresh); err != nil {
		r.t.Error(err)
	}
	r.t.Cleanup(func() { unix.Close(nfds[0]); unix.Close(nfds[1]) })
	return false
}

func TestCenterFDReuse(t *testing.T) {
	forEachCenter(t, func(t *testing.T, dc driverCase) {
		c := startCenter(t, dc, Options{})
		var reused int
		for round := 0; round < 20; round++ {
			fds1, _ := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
			fds2, _ := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
			var ran atomic.Int32
			r1 := &reuser{c: c, fd: fds1[0], ran: &ran, t: t}
			r2 := &reuser{c: c, fd: fds2[0], ran: &ran, t: t}
			r1.peer, r2.peer = r2, r1
			onLoop(t, c, func() {
				// Both become readable before the loop waits again, so
				// both events land in one batch.
				unix.Write(fds1[1], []byte("a"))
				unix.Write(fds2[1], []byte("b"))
				r1.id, _ = c.AddFile(r1.fd, Readable, r1)
				r2.id, _ = c.AddFile(r2.fd, Readable, r2)
			})
			onLoop(t, c, func() {}) // one full iteration after the batch
			onLoop(t, c, func() {})
			var winner, loser *reuser
			onLoop(t, c, func() {
				if r1.killed {
					winner, loser = r2, r1
				} else {
					winner, loser = r1, r2
				}
			})
			if ran.Load() != 1 || !loser.killed {
				t.Fatalf("round %d: ran=%d", round, ran.Load())
			}
			if winner.newFD == loser.fd {
				reused++
			}
			if len(winner.fresh.got) != 0 {
				t.Fatalf("round %d: new registration on reused fd got the stale event", round)
			}
			onLoop(t, c, func() {
				c.RemoveFile(winner.id)
				c.RemoveFile(makeFileID(winner.newFD, c.files[winner.newFD].gen))
			})
			unix.Close(winner.fd)
			unix.Close(fds1[1])
			unix.Close(fds2[1])
		}
		if reused == 0 {
			t.Fatal("the kernel never reused a descriptor number; the scenario did not happen")
		}
	})
}

// timerRec appends its name to a shared log when it fires.
type timerRec struct {
	name string
	log  *[]string
	done chan struct{}
	last bool
}

func (r *timerRec) HandleTimer(TimerID) {
	*r.log = append(*r.log, r.name)
	if r.last {
		close(r.done)
	}
}

func TestCenterTimers(t *testing.T) {
	forEachCenter(t, func(t *testing.T, dc driverCase) {
		c := startCenter(t, dc, Options{})
		var log []string
		done := make(chan struct{})
		var cancelled []TimerID
		onLoop(t, c, func() {
			add := func(d time.Duration, name string, last bool) TimerID {
				id, err := c.AddTimer(d, &timerRec{name: name, log: &log, done: done, last: last})
				if err != nil {
					t.Fatal(err)
				}
				return id
			}
			add(30*time.Millisecond, "c", false)
			add(10*time.Millisecond, "a1", false)
			add(10*time.Millisecond, "a2", false) // equal deadline: add order
			cancelled = append(cancelled, add(20*time.Millisecond, "x", false))
			add(20*time.Millisecond, "b", false)
			cancelled = append(cancelled, add(40*time.Millisecond, "y", false))
			add(50*time.Millisecond, "d", true)
			if _, err := c.AddTimerFunc(0, func() { log = append(log, "now") }); err != nil {
				t.Fatal(err)
			}
			for _, id := range cancelled {
				if !c.CancelTimer(id) {
					t.Errorf("CancelTimer(%x) = false", id)
				}
				if c.CancelTimer(id) {
					t.Errorf("second CancelTimer(%x) = true", id)
				}
			}
			if c.Timers() != 6 {
				t.Errorf("Timers() = %d, want 6", c.Timers())
			}
		})
		recv(t, done)
		var got string
		onLoop(t, c, func() {
			got = fmt.Sprint(log)
			if c.Timers() != 0 {
				t.Errorf("Timers() = %d after all fired", c.Timers())
			}
			if c.CancelTimer(0) || c.CancelTimer(TimerID(1<<40|99)) {
				t.Error("CancelTimer of unknown ids = true")
			}
		})
		if want := "[now a1 a2 b c d]"; got != want {
			t.Fatalf("order %s, want %s", got, want)
		}
	})
}

// TestCenterTimerSlotReuse checks that a fired timer's id cannot cancel
// the timer that reuses its slot.
func TestCenterTimerSlotReuse(t *testing.T) {
	var tm timers
	a := tm.add(1, nil, func() {})
	if _, _, _, ok := tm.pop(1); !ok {
		t.Fatal("pop of due timer failed")
	}
	b := tm.add(5, nil, func() {})
	if tm.cancel(a) {
		t.Fatal("stale id cancelled the slot's new timer")
	}
	if !tm.cancel(b) {
		t.Fatal("live timer not cancelled")
	}
}

// TestTimerHeapRandomOrder cross-checks the heap against a sort.
func TestTimerHeapRandomOrder(t *testing.T) {
	var tm timers
	var state uint64 = 88172645463325252
	rnd := func() uint64 { state ^= state << 13; state ^= state >> 7; state ^= state << 17; return state }
	live := map[TimerID]int64{}
	for i := 0; i < 5000; i++ {
		if r := rnd() % 3; r == 0 && len(live) > 0 {
			for id := range live {
				if !tm.cancel(id) {
					t.Fatalf("cancel %x failed", id)
				}
				delete(live, id)
				break
			}
			continue
		}
		when := int64(rnd() % 1000)
		live[tm.add(when, nil, func() {})] = when
	}
	last := int64(-1)
	for n := 0; ; n++ {
		id, _, _, ok := tm.pop(1 << 62)
		if !ok {
			if n != len(live) {
				t.Fatalf("popped %d, want %d", n, len(live))
			}
			return
		}
		w, found := live[id]
		if !found || w < last {
			t.Fatalf("pop %x: when %d after %d (known %v)", id, w, last, found)
		}
		last = w
	}
}

func TestCenterExternalManyGoroutines(t *testing.T) {
	forEachCenter(t, func(t *testing.T, dc driverCase) {
		c := startCenter(t, dc, Options{Budget: 7})
		const producers, each = 16, 500
		var ran atomic.Int64
		var wg sync.WaitGroup
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		for p := 0; p < producers; p++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < each; i++ {
					if i%50 == 49 {
						// Call blocks until the loop runs it: a lost wakeup
						// shows as a context timeout.
						if err := c.Call(ctx, func() { ran.Add(1) }); err != nil {
							t.Errorf("Call: %v", err)
							return
						}
						continue
					}
					if err := c.Dispatch(func() { ran.Add(1) }); err != nil {
						t.Errorf("Dispatch: %v", err)
						return
					}
				}
			}()
		}
		wg.Wait()
		onLoop(t, c, func() {}) // FIFO: everything queued before has run
		if got := ran.Load(); got != producers*each {
			t.Fatalf("ran %d tasks, want %d", got, producers*each)
		}
	})
}

// orderTask records its index; one reusable value per index.
type orderTask struct {
	i   int
	log *[]int
}

func (o *orderTask) RunTask() { *o.log = append(*o.log, o.i) }

func TestCenterDispatchOrderAndInLoop(t *testing.T) {
	forEachCenter(t, func(t *testing.T, dc driverCase) {
		c := startCenter(t, dc, Options{Budget: 3})
		var log []int
		tasks := make([]orderTask, 100)
		for i := range tasks {
			tasks[i] = orderTask{i: i, log: &log}
			if err := c.DispatchTask(&tasks[i]); err != nil {
				t.Fatal(err)
			}
		}
		if c.InLoop() {
			t.Fatal("InLoop true on the test goroutine")
		}
		var in bool
		onLoop(t, c, func() {
			in = c.InLoop()
			for i := range log {
				if log[i] != i {
					t.Errorf("task %d ran at position %d", log[i], i)
				}
			}
			if len(log) != len(tasks) {
				t.Errorf("%d tasks ran before a later Call", len(log))
			}
		})
		if !in {
			t.Fatal("InLoop false on the loop")
		}
		// Call from the loop runs inline instead of deadlocking.
		onLoop(t, c, func() {
			ran := false
			if err := c.Call(context.Background(), func() { ran = true }); err != nil || !ran {
				t.Errorf("nested Call: %v, ran=%v", err, ran)
			}
		})
	})
}

func TestCenterCallCancelled(t *testing.T) {
	forEachCenter(t, func(t *testing.T, dc driverCase) {
		c := startCenter(t, dc, Options{})
		block := make(chan struct{})
		if err := c.Dispatch(func() { <-block }); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		var ran atomic.Bool
		if err := c.Call(ctx, func() { ran.Store(true) }); !errors.Is(err, context.Canceled) {
			t.Fatalf("Call = %v, want context.Canceled", err)
		}
		close(block)
		onLoop(t, c, func() {})
		if ran.Load() {
			t.Fatal("abandoned Call still ran its function")
		}
	})
}

func TestCenterOwnership(t *testing.T) {
	if !checkOwner {
		t.Skip("ownership checks are on only with -race or -tags msgr_debug")
	}
	forEachCenter(t, func(t *testing.T, dc driverCase) {
		c := startCenter(t, dc, Options{})
		a, _ := socketPair(t)
		if _, err := c.AddFile(a, Readable, &fileRec{fd: a}); !errors.Is(err, ErrNotInLoop) {
			t.Fatalf("AddFile off the loop: %v, want ErrNotInLoop", err)
		}
		if _, err := c.AddTimerFunc(time.Second, func() {}); !errors.Is(err, ErrNotInLoop) {
			t.Fatalf("AddTimer off the loop: %v, want ErrNotInLoop", err)
		}
	})
}

func TestCenterStop(t *testing.T) {
	forEachCenter(t, func(t *testing.T, dc driverCase) {
		opts := Options{Driver: dc.kind, Wait: dc.mode}
		c, err := NewCenter(opts)
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- c.Run() }()
		onLoop(t, c, func() {})
		if err := c.Run(); !errors.Is(err, ErrRunning) {
			t.Fatalf("second Run: %v, want ErrRunning", err)
		}
		var ran atomic.Int32
		for range 100 {
			c.Dispatch(func() { ran.Add(1) })
		}
		var added atomic.Int32
		c.Dispatch(func() {
			// Stop from the loop, then queue more: queued before the loop
			// returns, so it still runs.
			c.Stop()
			c.Dispatch(func() { added.Add(1) })
		})
		if err := recv(t, done); err != nil {
			t.Fatalf("Run: %v", err)
		}
		if ran.Load() != 100 || added.Load() != 1 {
			t.Fatalf("ran %d/100 queued tasks, %d/1 queued during stop", ran.Load(), added.Load())
		}
		if err := c.Dispatch(func() {}); !errors.Is(err, ErrStopped) {
			t.Fatalf("Dispatch after stop: %v", err)
		}
		if err := c.Call(context.Background(), func() {}); !errors.Is(err, ErrStopped) {
			t.Fatalf("Call after stop: %v", err)
		}
		c.Stop() // idempotent
	})
}

func TestCenterStopWithoutRun(t *testing.T) {
	c, err := NewCenter(Options{})
	if err != nil {
		t.Fatal(err)
	}
	var ran atomic.Bool
	c.Dispatch(func() { ran.Store(true) })
	c.Stop()
	recv(t, c.Done())
	if !ran.Load() {
		t.Fatal("task queued before Stop did not run")
	}
	if err := c.Run(); !errors.Is(err, ErrStopped) {
		t.Fatalf("Run after Stop: %v, want ErrStopped", err)
	}
}

func TestCenterNowAdvances(t *testing.T) {
	c := startCenter(t, driverCases(t)[0], Options{})
	t0 := c.Now()
	fired := make(chan struct{})
	onLoop(t, c, func() { c.AddTimerFunc(time.Millisecond, func() { close(fired) }) })
	recv(t, fired)
	onLoop(t, c, func() {})
	if !c.Now().After(t0) {
		t.Fatalf("Now did not advance past %v", t0)
	}
}

// TestCenterWakeStress: Calls from several goroutines, each after a
// random pause so that many land just as the loop parks, while timers on
// the loop keep re-arming the park's deadline (a parked epoll loop is
// woken by an expired deadline, which its own arming must never
// overwrite). A lost wakeup shows as a Call timing out: MaxWait is
// longer than the test's timeout.
func TestCenterWakeStress(t *testing.T) {
	forEachCenter(t, func(t *testing.T, dc driverCase) {
		c := startCenter(t, dc, Options{MaxWait: time.Minute})
		stop := make(chan struct{})
		var rearm func()
		rng := rand.New(rand.NewPCG(1, 2))
		rearm = func() {
			select {
			case <-stop:
				return
			default:
			}
			_, _ = c.AddTimerFunc(time.Duration(rng.IntN(100))*time.Microsecond, rearm)
		}
		onLoop(t, c, rearm)
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		var wg sync.WaitGroup
		var ran atomic.Int64
		const producers, each = 4, 300
		for p := range producers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				prng := rand.New(rand.NewPCG(uint64(p), 7))
				for range each {
					if d := prng.IntN(40); d < 20 {
						time.Sleep(time.Duration(d) * time.Microsecond)
					} else if d < 30 {
						runtime.Gosched()
					}
					if err := c.Call(ctx, func() { ran.Add(1) }); err != nil {
						t.Errorf("Call: %v (a lost wakeup)", err)
						return
					}
				}
			}()
		}
		wg.Wait()
		onLoop(t, c, func() { close(stop) })
		if got := ran.Load(); got != producers*each {
			t.Fatalf("ran %d, want %d", got, producers*each)
		}
	})
}

// TestCenterStopWhileArming: Stop from another goroutine just as the
// loop, its last timer fired, is about to arm a long park: Run returns.
// A parked epoll loop is woken by an expired deadline, which its own
// arming would overwrite if it did not look at stopping afterwards.
func TestCenterStopWhileArming(t *testing.T) {
	forEachCenter(t, func(t *testing.T, dc driverCase) {
		for i := range 20 {
			c := newCenterCase(t, dc, Options{MaxWait: time.Minute})
			left := i % 4 // timers before the loop goes quiet
			var rearm func()
			rearm = func() {
				if left > 0 {
					left--
					_, _ = c.AddTimerFunc(10*time.Microsecond, rearm)
				}
			}
			rearm()
			quiet := make(chan struct{}, 1)
			c.armHook = func() {
				if left == 0 && c.Timers() == 0 {
					select {
					case quiet <- struct{}{}:
						time.Sleep(time.Millisecond) // Stop lands here
					default:
					}
				}
			}
			done := make(chan error, 1)
			go func() { done <- c.Run() }()
			if dc.mode == WaitParked && dc.kind == DriverEpoll {
				<-quiet
			} else {
				onLoop(t, c, func() {})
			}
			c.Stop()
			if err := recv(t, done); err != nil {
				t.Fatalf("Run: %v", err)
			}
		}
	})
}
