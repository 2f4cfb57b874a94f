//go:build linux

package stack

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/gomsgr/msgr/internal/event"
	"github.com/gomsgr/msgr/internal/sock"
	"golang.org/x/sys/unix"
)

// echoer writes back whatever it reads, the way a server answers: its
// writes of one step stage behind the step's first.
type echoer struct {
	t   *testing.T
	s   Socket
	out [][]byte
	eof bool
}

func (e *echoer) OnConnected(error) {}
func (e *echoer) OnWritable()       { e.flush() }
func (e *echoer) OnReadable() {
	for range 4 {
		buf := make([]byte, 1+rand.IntN(9000))
		n, err := e.s.Read(buf)
		if n > 0 {
			e.out = append(e.out, buf[:n])
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				e.eof = true
			} else if !errors.Is(err, ErrWouldBlock) {
				e.t.Errorf("echo read: %v", err)
			}
			break
		}
	}
	e.flush()
}

func (e *echoer) flush() { flushQueue(e.t, e.s, &e.out) }

// oneLoop is an event-loop stack of a single loop, so that every socket
// of a test shares its steps (and its batch).
func oneLoop(t *testing.T) (*EventLoop, Worker) {
	t.Helper()
	st, err := NewEventLoop(event.NewRegistry(), "batch", event.Options{Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	w, rel := st.Pick()
	t.Cleanup(func() {
		rel()
		if err := st.Close(); err != nil {
			t.Error(err)
		}
	})
	return st, w
}

// Many connections on one loop echo streams of writes of every size,
// some through tiny socket buffers: each stream comes back whole and in
// order, whether its writes staged, went at once, or waited for room.
func TestBatchEcho(t *testing.T) {
	for _, ring := range []bool{true, false} {
		t.Run(map[bool]string{true: "ring", false: "noring"}[ring], func(t *testing.T) {
			old := useRing
			useRing = ring
			t.Cleanup(func() { useRing = old })
			_, w := oneLoop(t)
			ln, accepted := listen(t, w)
			defer on(t, w, func() { ln.Close() })
			const conns, total = 12, 600 << 10
			clients := make([]*peer, conns)
			servers := make([]*echoer, conns)
			sent := make([][]byte, conns)
			for i := range conns {
				data := pattern(total, byte(i))
				sent[i] = data
				p := newPeer(t, w, total)
				if i%4 == 2 {
					p.pauses = 5 // prefetched bytes wait out a pause
				}
				for off := 0; off < total; {
					n := min(total-off, 1+rand.IntN(12000))
					if i%3 == 0 && rand.IntN(10) == 0 {
						n = min(total-off, stageMax+rand.IntN(3*stageMax)) // write through
					}
					p.out = append(p.out, data[off:off+n])
					off += n
				}
				clients[i] = p
				on(t, w, func() {
					var err error
					if p.s, err = w.Connect(ln.Addr(), DialConfig{NoDelay: true}, p); err != nil {
						t.Fatal(err)
					}
				})
				if err := <-p.up; err != nil {
					t.Fatal(err)
				}
				pend := accept(t, accepted)
				e := &echoer{t: t}
				servers[i] = e
				on(t, w, func() {
					var err error
					if e.s, err = pend.Attach(w, DialConfig{NoDelay: true}, e); err != nil {
						t.Fatal(err)
					}
					if i%2 == 1 {
						// Little room: staged sends come back short.
						_ = sock.SetSendBuffer(e.s.(*loopSocket).fd, 4096)
					}
				})
			}
			for i, p := range clients {
				select {
				case <-p.done:
				case <-time.After(60 * time.Second):
					t.Fatalf("stream %d stuck", i)
				}
				p.mu.Lock()
				ok := bytes.Equal(p.got.Bytes(), sent[i])
				p.mu.Unlock()
				if !ok {
					t.Fatalf("stream %d came back changed", i)
				}
			}
			var staged, submits, prefetches int
			on(t, w, func() {
				b := batchFor(w.(*loopWorker).c)
				staged, submits, prefetches = b.stagedWrites, b.submits, b.prefetches
				for i := range conns {
					clients[i].s.Close()
					servers[i].s.Close()
				}
			})
			t.Logf("staged writes %d, send submissions %d, receive submissions %d", staged, submits, prefetches)
			if ring && (staged == 0 || submits == 0 || prefetches == 0) {
				if _, err := sock.NewRing(4); errors.Is(err, sock.ErrNoRing) {
					t.Skipf("no io_uring: %v", err)
				}
				t.Fatalf("nothing staged (%d) or submitted (%d)", staged, submits)
			}
			if !ring && staged+prefetches != 0 {
				t.Fatalf("%d writes staged, %d receives batched without a ring", staged, prefetches)
			}
		})
	}
}

// quietHandler records what its socket tells it.
// ringSockets connects n sockets of one loop that batches through a
// ring (the test skips without io_uring) to the accepted ends it returns
// as plain descriptors, which the caller closes.
func ringSockets(t *testing.T, n int) (Worker, []Socket, []*quietHandler, []int) {
	t.Helper()
	if _, err := sock.NewRing(4); err != nil {
		t.Skipf("no io_uring: %v", err)
	}
	_, w := oneLoop(t)
	ln, accepted := listen(t, w)
	defer on(t, w, func() { ln.Close() })
	socks, hs, peers := make([]Socket, n), make([]*quietHandler, n), make([]int, n)
	for i := range socks {
		hs[i] = &quietHandler{up: make(chan error, 1)}
		on(t, w, func() {
			var err error
			if socks[i], err = w.Connect(ln.Addr(), DialConfig{NoDelay: true}, hs[i]); err != nil {
				t.Fatal(err)
			}
		})
		if err := <-hs[i].up; err != nil {
			t.Fatal(err)
		}
		peers[i] = accept(t, accepted).(*loopPending).take()
	}
	return w, socks, hs, peers
}

type quietHandler struct {
	up       chan error
	readable int
}

func (h *quietHandler) OnConnected(err error) { h.up <- err }
func (h *quietHandler) OnWritable()           {}
func (h *quietHandler) OnReadable()           { h.readable++ }

// A staged write to a peer that reset the connection succeeds for its
// writer, like a write that the kernel took; the error comes back from
// the socket's next Read and Writev, and its handler is told.
func TestBatchSendError(t *testing.T) {
	w, socks, hs, peers := ringSockets(t, 2)
	// Reset the second: close with a zero linger.
	if err := unix.SetsockoptLinger(peers[1], unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1, Linger: 0}); err != nil {
		t.Fatal(err)
	}
	for _, fd := range peers {
		sock.Close(fd)
	}
	// The reset has reached the client socket once it reads readable.
	for deadline := time.Now().Add(10 * time.Second); ; {
		seen := 0
		on(t, w, func() { seen = hs[1].readable })
		if seen > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the reset never arrived")
		}
		time.Sleep(time.Millisecond)
	}
	var n1 int
	var err1 error
	var staged, readable int
	on(t, w, func() {
		hs[1].readable = 0
		socks[1].PauseRead(true) // only the failed send may tell it now
		socks[1].PauseRead(false)
		before := batchFor(w.(*loopWorker).c).stagedWrites
		if _, err := socks[0].Writev([][]byte{[]byte("first")}); err != nil {
			t.Errorf("first write: %v", err)
		}
		n1, err1 = socks[1].Writev([][]byte{[]byte("staged")})
		staged = batchFor(w.(*loopWorker).c).stagedWrites - before
	})
	if staged != 1 || n1 != 6 || err1 != nil {
		t.Fatalf("second write of the step: staged %d, n=%d err=%v; want staged and taken", staged, n1, err1)
	}
	var rerr, werr error
	on(t, w, func() {
		readable = hs[1].readable
		_, rerr = socks[1].Read(make([]byte, 10))
		_, werr = socks[1].Writev([][]byte{[]byte("more")})
		socks[0].Close()
		socks[1].Close()
	})
	for _, err := range []error{rerr, werr} {
		if err == nil || errors.Is(err, ErrWouldBlock) {
			t.Fatalf("after the failed staged send: Read %v, Writev %v; want the send's error", rerr, werr)
		}
	}
	if readable == 0 {
		t.Fatal("the handler was not told")
	}
	t.Logf("error: %v", werr)
}

// collector reads all its socket offers into got; done closes at want.
type collector struct {
	t    *testing.T
	s    Socket
	got  []byte
	want int
	done chan struct{}
	// detach: on its first event, read this many bytes, then move the
	// socket to next (Detach, Attach on the same loop).
	detach  int
	next    *collector
	w       Worker
	hadPre  bool
	started bool
}

func (c *collector) OnConnected(error) {}
func (c *collector) OnWritable()       {}
func (c *collector) OnReadable() {
	if c.detach > 0 && !c.started {
		c.started = true
		buf := make([]byte, c.detach)
		n, err := c.s.Read(buf)
		if err != nil || n != c.detach {
			c.t.Errorf("first read: %d %v", n, err)
		}
		c.next.got = append(c.next.got, buf[:n]...)
		c.hadPre = c.s.(*loopSocket).pre != nil
		pend, err := c.s.Detach()
		if err != nil {
			c.t.Error(err)
			return
		}
		if c.next.s, err = pend.Attach(c.w, DialConfig{}, c.next); err != nil {
			c.t.Error(err)
		}
		return
	}
	buf := make([]byte, 5000)
	for {
		n, err := c.s.Read(buf)
		c.got = append(c.got, buf[:n]...)
		if n > 0 && len(c.got) == c.want {
			close(c.done)
		}
		if err != nil {
			if !errors.Is(err, ErrWouldBlock) {
				c.t.Errorf("read: %v", err)
			}
			return
		}
	}
}

// Bytes read ahead for a socket that its handler then detaches reach the
// next owner first, then the kernel's rest: nothing lost or reordered.
func TestPrefetchDetach(t *testing.T) {
	if _, err := sock.NewRing(4); err != nil {
		t.Skipf("no io_uring: %v", err)
	}
	_, w := oneLoop(t)
	const n, size, first = 4, 60000, 100
	data := pattern(size, 9)
	var firsts, nexts [n]*collector
	for i := range n {
		fds := socketPair(t)
		fd, err := unix.Dup(fds[0])
		if err != nil {
			t.Fatal(err)
		}
		nexts[i] = &collector{t: t, want: size, done: make(chan struct{})}
		firsts[i] = &collector{t: t, w: w, detach: first, next: nexts[i]}
		on(t, w, func() {
			s, err := (&loopPending{fd: fd}).Attach(w, DialConfig{}, firsts[i])
			if err != nil {
				t.Fatal(err)
			}
			firsts[i].s = s
			s.PauseRead(true)
		})
		if m, err := unix.Write(fds[1], data); err != nil || m != size {
			t.Fatalf("write: %d %v", m, err)
		}
	}
	// All ready at once: one poll finds them all and reads ahead.
	on(t, w, func() {
		for _, c := range firsts {
			c.s.PauseRead(false)
		}
	})
	for i, c := range nexts {
		select {
		case <-c.done:
		case <-time.After(20 * time.Second):
			t.Fatalf("socket %d stuck", i)
		}
	}
	pre := 0
	on(t, w, func() {
		for i, c := range nexts {
			if !bytes.Equal(c.got, data) {
				t.Errorf("socket %d: the next owner got other bytes", i)
			}
			if firsts[i].hadPre {
				pre++
			}
			c.s.Close()
		}
	})
	if pre == 0 {
		t.Fatal("no socket was detached with bytes read ahead")
	}
}

// failRing sends the first op of a batch, loses the second and never
// starts the rest, as a ring that broke in the middle of a batch.
type failRing struct{ real *sock.Ring }

func (f *failRing) Close() error { return f.real.Close() }
func (f *failRing) Do(ops []sock.RingOp) error {
	if err := f.real.Do(ops[:1]); err != nil {
		return err
	}
	lost := errors.Join(sock.ErrRingLost, unix.EIO)
	ops[1].N, ops[1].Err = 0, lost
	for i := 2; i < len(ops); i++ {
		ops[i].N, ops[i].Err = 0, errors.Join(sock.ErrNotStarted, lost)
	}
	return lost
}

// When the ring breaks with a batch half done, a send it lost fails its
// socket (its bytes may or may not have gone, so the stream is no longer
// known to be whole), sends it never started go out one by one, the loop
// stops batching and keeps the lost send's buffer, which the kernel may
// still read.
func TestBatchRingLost(t *testing.T) {
	w, socks, hs, peers := ringSockets(t, 3)
	for _, fd := range peers {
		defer sock.Close(fd)
	}
	var b *ioBatch
	var errs [3]error
	on(t, w, func() {
		b = batchFor(w.(*loopWorker).c)
		b.ring = &failRing{real: b.ring.(*sock.Ring)}
		hs[1].readable = 0
		if _, err := socks[0].Writev([][]byte{[]byte("at once;")}); err != nil {
			t.Errorf("first write: %v", err)
		}
		before := b.stagedWrites
		for i, p := range []string{"sent;", "lost;", "one by one;"} {
			_, errs[i] = socks[i].Writev([][]byte{[]byte(p)})
		}
		if b.stagedWrites-before != 3 {
			t.Errorf("staged %d writes, want 3", b.stagedWrites-before)
		}
	})
	if errs != [3]error{} {
		t.Fatalf("staged writes: %v", errs)
	}
	var ring batchRing
	var arena []byte
	var readable int
	on(t, w, func() {
		ring, arena, readable = b.ring, b.arena, hs[1].readable
		_, errs[0] = socks[0].Writev([][]byte{[]byte("after")})
		_, errs[1] = socks[1].Writev([][]byte{[]byte("more")})
		_, errs[2] = socks[1].Read(make([]byte, 10))
	})
	if ring != nil || arena != nil {
		t.Fatalf("after the loss: ring %v, arena of %d bytes; want both dropped", ring, len(arena))
	}
	lostArenas.Lock()
	kept := slices.ContainsFunc(lostArenas.bufs, func(b []byte) bool { return string(b) == "lost;" })
	lostArenas.bufs = nil
	lostArenas.Unlock()
	if !kept {
		t.Fatal("the lost send's buffer was not kept")
	}
	if errs[0] != nil || !errors.Is(errs[1], sock.ErrRingLost) || !errors.Is(errs[2], sock.ErrRingLost) {
		t.Fatalf("after the loss: healthy write %v; lost socket's Writev %v, Read %v", errs[0], errs[1], errs[2])
	}
	if readable == 0 {
		t.Fatal("the lost socket's handler was not told")
	}
	for i, want := range []string{"at once;sent;after", "", "one by one;"} {
		if want == "" {
			continue // lost: whatever arrived is unknown to the sender
		}
		if got := string(readFD(t, peers[i], len(want))); got != want {
			t.Fatalf("peer %d got %q, want %q", i, got, want)
		}
	}
	on(t, w, func() {
		for _, s := range socks {
			s.Close()
		}
	})
}

// readFD reads n bytes from a nonblocking fd, or fails the test after
// 10 s.
func readFD(t *testing.T, fd, n int) []byte {
	t.Helper()
	buf := make([]byte, n)
	got := 0
	for deadline := time.Now().Add(10 * time.Second); got < n; {
		k, err := unix.Read(fd, buf[got:])
		if k > 0 {
			got += k
			continue
		}
		if err != nil && err != unix.EAGAIN {
			t.Fatalf("read: %v", err)
		}
		if k == 0 && err == nil || time.Now().After(deadline) {
			t.Fatalf("read %q of %d bytes", buf[:got], n)
		}
		time.Sleep(time.Millisecond)
	}
	return buf
}

// A loop that stops batching lets its arenas go after arenaIdle, and
// takes new ones when it batches again.
func TestBatchArenasIdle(t *testing.T) {
	saved := arenaIdle
	arenaIdle = 20 * time.Millisecond
	defer func() { arenaIdle = saved }()
	w, socks, _, peers := ringSockets(t, 2)
	for _, fd := range peers {
		defer sock.Close(fd)
	}
	defer on(t, w, func() {
		for _, s := range socks {
			s.Close()
		}
	})
	var b *ioBatch
	write := func(round string) {
		t.Helper()
		var held bool
		on(t, w, func() {
			b = batchFor(w.(*loopWorker).c)
			for _, s := range socks {
				if _, err := s.Writev([][]byte{[]byte(round)}); err != nil {
					t.Errorf("write: %v", err)
				}
			}
			held = b.arena != nil
		})
		if !held {
			t.Fatalf("%s: the second write of the step did not stage", round)
		}
		for i, fd := range peers {
			if got := string(readFD(t, fd, len(round))); got != round {
				t.Fatalf("%s: peer %d got %q", round, i, got)
			}
		}
	}
	write("first;")
	for deadline := time.Now().Add(10 * time.Second); ; {
		var held bool
		on(t, w, func() { held = b.arena != nil || b.rarena != nil })
		if !held {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("an idle loop kept its arenas")
		}
		time.Sleep(5 * time.Millisecond)
	}
	write("again;")
}
