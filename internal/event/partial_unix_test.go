//go:build linux || darwin || freebsd

package event

import (
	"math/rand/v2"
	"runtime"
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

func (s *sipper) HandleFileEvent(fd int, m Mask) bool {
	var b [1]byte
	if n, _ := unix.Read(fd, b[:]); n == 1 && s.left.Add(-1) == 0 {
		close(s.done)
	}
	return false
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

// budgetReader reads a random budget of random-sized chunks per event
// and reports drained only when a read said EAGAIN. Now and then it
// stops watching for a while (a throttled connection): SetMask to None,
// then a timer or a task turns reading back on. Owned by the loop.
type budgetReader struct {
	c       *Center
	id      FileID
	rng     *rand.Rand
	left    atomic.Int64
	done    chan struct{}
	paused  bool
	buf     [97]byte
	resumes int
}

func (r *budgetReader) HandleFileEvent(fd int, m Mask) bool {
	budget := 1 + r.rng.IntN(4)
	for range budget {
		n, err := unix.Read(fd, r.buf[:1+r.rng.IntN(len(r.buf))])
		if err == unix.EAGAIN {
			return true
		}
		if err != nil || n <= 0 {
			return true // the pair closes only at test end
		}
		if r.left.Add(-int64(n)) == 0 {
			close(r.done)
		}
	}
	if r.rng.IntN(8) == 0 && !r.paused {
		r.paused = true
		_ = r.c.SetMask(r.id, None)
		resume := func() {
			r.paused = false
			r.resumes++
			_ = r.c.SetMask(r.id, Readable)
		}
		if r.rng.IntN(2) == 0 {
			_, _ = r.c.AddTimerFunc(time.Duration(r.rng.IntN(200))*time.Microsecond, resume)
		} else {
			_ = r.c.Dispatch(resume)
		}
	}
	return false // stopped at the budget: bytes may be left
}

// TestCenterDrainedStress: many sockets left partly read, random read
// budgets, pauses, writes arriving in bursts from another goroutine and
// then nothing: every byte is read. A loop that parked without polling
// after a handler that did not drain (or after a mask change) would
// strand bytes on the quiet tail; MaxWait is longer than the test's
// timeout.
func TestCenterDrainedStress(t *testing.T) {
	forEachCenter(t, func(t *testing.T, dc driverCase) {
		for seed := range uint64(3) {
			drainedStress(t, dc, seed)
		}
	})
}

func drainedStress(t *testing.T, dc driverCase, seed uint64) {
	c := startCenter(t, dc, Options{MaxWait: time.Minute, Events: 16})
	const socks, bytesEach = 40, 3000
	var rs []*budgetReader
	var writers []int
	for i := range socks {
		a, b := socketPair(t)
		r := &budgetReader{c: c, rng: rand.New(rand.NewPCG(seed, uint64(i))), done: make(chan struct{})}
		r.left.Store(bytesEach)
		rs = append(rs, r)
		writers = append(writers, b)
		onLoop(t, c, func() {
			id, err := c.AddFile(a, Readable, r)
			if err != nil {
				t.Error(err)
			}
			r.id = id
		})
	}
	rng := rand.New(rand.NewPCG(seed, 99))
	sent := make([]int, socks)
	chunk := make([]byte, 256)
	for total := 0; total < socks*bytesEach; {
		i := rng.IntN(socks)
		n := min(1+rng.IntN(len(chunk)), bytesEach-sent[i])
		if n == 0 {
			continue
		}
		w, err := unix.Write(writers[i], chunk[:n])
		if err == unix.EAGAIN {
			runtime.Gosched()
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		sent[i] += w
		total += w
		if rng.IntN(64) == 0 {
			time.Sleep(time.Duration(rng.IntN(300)) * time.Microsecond)
		}
	}
	deadline := time.After(testTimeout)
	for i, r := range rs {
		select {
		case <-r.done:
		case <-deadline:
			t.Fatalf("seed %d: socket %d: %d bytes never read (a lost report)", seed, i, r.left.Load())
		}
	}
	resumes := 0
	onLoop(t, c, func() {
		for _, r := range rs {
			resumes += r.resumes
		}
	})
	if resumes == 0 {
		t.Errorf("seed %d: no reader ever paused: the mask-change path went untested", seed)
	}
}

// eofReader reads once per event and reports drained after a short read,
// as a stream connection does; it needs a further event for the EOF.
type eofReader struct {
	c    *Center
	id   FileID
	buf  [4096]byte
	eof  chan struct{}
	seen bool
}

func (r *eofReader) HandleFileEvent(fd int, _ Mask) bool {
	n, err := unix.Read(fd, r.buf[:])
	if err == unix.EAGAIN {
		return true
	}
	if n == 0 && err == nil && !r.seen {
		r.seen = true
		_ = r.c.RemoveFile(r.id)
		close(r.eof)
		return true
	}
	return err == nil && n < len(r.buf)
}

// TestCenterShortReadBeforeEOF: data and the peer's close both arrive
// before the loop polls; the handler's short read takes the data and
// stops in front of the EOF, which no new readiness announces. The loop
// must still deliver the EOF (a hang-up report is polled again).
func TestCenterShortReadBeforeEOF(t *testing.T) {
	forEachCenter(t, func(t *testing.T, dc driverCase) {
		c := startCenter(t, dc, Options{MaxWait: time.Minute})
		const socks = 64
		var rs []*eofReader
		var peers []int
		for range socks {
			a, b := socketPair(t)
			r := &eofReader{c: c, eof: make(chan struct{})}
			rs = append(rs, r)
			peers = append(peers, b)
			onLoop(t, c, func() {
				id, err := c.AddFile(a, Readable, r)
				if err != nil {
					t.Error(err)
				}
				r.id = id
			})
		}
		// The loop is quiet (or about to be): each peer's last words and
		// its close arrive back to back, mostly within one wakeup.
		onLoop(t, c, func() {})
		for _, b := range peers {
			if _, err := unix.Write(b, []byte("last words")); err != nil {
				t.Fatal(err)
			}
			if err := unix.Shutdown(b, unix.SHUT_WR); err != nil {
				t.Fatal(err)
			}
		}
		deadline := time.After(testTimeout)
		for i, r := range rs {
			select {
			case <-r.eof:
			case <-deadline:
				t.Fatalf("socket %d: EOF never seen (a lost hang-up)", i)
			}
		}
	})
}
