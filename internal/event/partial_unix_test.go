//go:build linux || darwin || freebsd

package event

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// sipper reads one byte per readable event, leaving the rest for the next
// event: only the level-triggered report of a socket still readable, with
// nothing new arriving, brings it back.
type sipper struct {
	left atomic.Int64
	done chan struct{}
}

func (s *sipper) HandleFileEvent(fd int, m Mask) {
	var b [1]byte
	if n, _ := unix.Read(fd, b[:]); n == 1 && s.left.Add(-1) == 0 {
		close(s.done)
	}
}

// TestCenterPartialReadsRefire: sockets whose handler reads one byte per
// event get all their bytes, on a quiet loop and with timers and tasks
// from other goroutines going on. The bytes are written once, up front:
// after that only the loop's own poll finds a socket that stays readable.
// On Linux a level-triggered item the inner epoll re-adds to its ready
// list does not wake a parked waiter (the runtime's edge-triggered
// registration of the epoll fd), so a wait that parked without polling
// first would hang on the quiet loop (MaxWait is longer than the test's
// timeout); activity on the loop would only hide it.
func TestCenterPartialReadsRefire(t *testing.T) {
	for _, noisy := range []bool{false, true} {
		forEachCenter(t, func(t *testing.T, dc driverCase) {
			partialReads(t, dc, noisy)
		})
	}
}

func partialReads(t *testing.T, dc driverCase, noisy bool) {
	c := startCenter(t, dc, Options{MaxWait: time.Minute})
	const socks, bytesEach = 8, 512
	var sips []*sipper
	for range socks {
		a, b := socketPair(t)
		s := &sipper{done: make(chan struct{})}
		s.left.Store(bytesEach)
		sips = append(sips, s)
		if _, err := unix.Write(b, make([]byte, bytesEach)); err != nil {
			t.Fatal(err)
		}
		onLoop(t, c, func() {
			if _, err := c.AddFile(a, Readable, s); err != nil {
				t.Error(err)
			}
		})
	}
	// Noise: tasks from several goroutines and timers on the loop.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 3 {
		if !noisy {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				_ = c.Dispatch(func() {
					_, _ = c.AddTimerFunc(time.Duration(time.Now().UnixNano()%50)*time.Microsecond, func() {})
				})
				time.Sleep(20 * time.Microsecond)
			}
		}()
	}
	defer wg.Wait()
	defer close(stop)
	deadline := time.After(testTimeout)
	for i, s := range sips {
		select {
		case <-s.done:
		case <-deadline:
			t.Fatalf("noisy %v: socket %d: %d bytes never read (a lost level-triggered report)", noisy, i, s.left.Load())
		}
	}
}
