//go:build linux

package sock

import (
	"bytes"
	"errors"
	"net/netip"
	"testing"

	"golang.org/x/sys/unix"
)

func newTestRing(t *testing.T, entries uint32) *Ring {
	t.Helper()
	r, err := NewRing(entries)
	if errors.Is(err, ErrNoRing) {
		t.Skipf("no io_uring here: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// readAll reads n bytes from fd, waiting for them (bounded).
func readAll(t *testing.T, fd, n int) []byte {
	t.Helper()
	out := make([]byte, 0, n)
	buf := make([]byte, 64<<10)
	for len(out) < n {
		m, err := Read(fd, buf[:min(len(buf), n-len(out))])
		if errors.Is(err, ErrWouldBlock) {
			waitFD(t, fd, unix.POLLIN)
			continue
		}
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		out = append(out, buf[:m]...)
	}
	return out
}

// A batch larger than the ring goes out in several submissions; each
// socket receives its own bytes, in order across batches.
func TestRingSend(t *testing.T) {
	r := newTestRing(t, 4)
	lo := netip.MustParseAddrPort("127.0.0.1:0")
	const socks = 9
	var cli, srv [socks]int
	for i := range socks {
		cli[i], srv[i] = pair(t, lo)
	}
	want := make([][]byte, socks)
	for round := range 3 {
		ops := make([]RingOp, socks)
		for i := range ops {
			b := bytes.Repeat([]byte{byte(i), byte(round)}, 1000+i)
			want[i] = append(want[i], b...)
			ops[i] = RingOp{FD: cli[i], Buf: b}
		}
		if err := r.Do(ops); err != nil {
			t.Fatal(err)
		}
		for i, op := range ops {
			if op.Err != nil || op.N != len(op.Buf) {
				t.Fatalf("round %d op %d: n=%d err=%v, want %d", round, i, op.N, op.Err, len(op.Buf))
			}
		}
	}
	for i := range socks {
		if got := readAll(t, srv[i], len(want[i])); !bytes.Equal(got, want[i]) {
			t.Fatalf("socket %d received other bytes", i)
		}
	}
}

// A send that finds no room completes at once (EAGAIN or a short count)
// instead of waiting; a bad descriptor fails alone.
func TestRingSendFullAndBad(t *testing.T) {
	r := newTestRing(t, 8)
	cli, srv := pair(t, netip.MustParseAddrPort("127.0.0.1:0"))
	ok, okSrv := pair(t, netip.MustParseAddrPort("127.0.0.1:0"))
	if err := SetSendBuffer(cli, 4096); err != nil {
		t.Fatal(err)
	}
	big := make([]byte, 1<<20)
	sent, full := 0, false
	for range 100 {
		ops := []RingOp{{FD: cli, Buf: big}, {FD: -1, Buf: big[:10]}, {FD: ok, Buf: []byte("x")}}
		if err := r.Do(ops); err != nil {
			t.Fatal(err)
		}
		if !errors.Is(ops[1].Err, unix.EBADF) {
			t.Fatalf("bad fd: n=%d err=%v, want EBADF", ops[1].N, ops[1].Err)
		}
		if ops[2].Err != nil || ops[2].N != 1 {
			t.Fatalf("healthy socket: n=%d err=%v", ops[2].N, ops[2].Err)
		}
		sent++
		if errors.Is(ops[0].Err, ErrWouldBlock) {
			full = true
			break
		}
		if ops[0].Err != nil || ops[0].N <= 0 || ops[0].N > len(big) {
			t.Fatalf("full socket: n=%d err=%v", ops[0].N, ops[0].Err)
		}
	}
	if !full {
		t.Fatal("the unread socket never reported EAGAIN")
	}
	if got := readAll(t, okSrv, sent); !bytes.Equal(got, bytes.Repeat([]byte("x"), sent)) {
		t.Fatalf("healthy socket got %q", got)
	}
	_ = srv
}

// Receives in one batch: bytes where there are some, EAGAIN where there
// are none, 0 where the peer closed.
func TestRingRecv(t *testing.T) {
	r := newTestRing(t, 8)
	lo := netip.MustParseAddrPort("127.0.0.1:0")
	full, fullSrv := pair(t, lo)
	empty, _ := pair(t, lo)
	closed, closedSrv := pair(t, lo)
	if _, err := Write(fullSrv, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	if err := ShutdownWrite(closedSrv); err != nil {
		t.Fatal(err)
	}
	waitFD(t, full, unix.POLLIN)
	waitFD(t, closed, unix.POLLIN)
	ops := []RingOp{
		{FD: full, Buf: make([]byte, 100), Recv: true},
		{FD: empty, Buf: make([]byte, 100), Recv: true},
		{FD: closed, Buf: make([]byte, 100), Recv: true},
	}
	if err := r.Do(ops); err != nil {
		t.Fatal(err)
	}
	if ops[0].Err != nil || string(ops[0].Buf[:ops[0].N]) != "hello" {
		t.Fatalf("full: %q %v", ops[0].Buf[:ops[0].N], ops[0].Err)
	}
	if !errors.Is(ops[1].Err, ErrWouldBlock) {
		t.Fatalf("empty: n=%d err=%v, want EAGAIN", ops[1].N, ops[1].Err)
	}
	if ops[2].Err != nil || ops[2].N != 0 {
		t.Fatalf("closed: n=%d err=%v, want 0 (EOF)", ops[2].N, ops[2].Err)
	}
}

// A ring that fails: ops it never started say ErrNotStarted (they may be
// done another way); when the wait for a started op's completion fails,
// the op says ErrRingLost and Do returns instead of waiting for ever.
func TestRingFails(t *testing.T) {
	r := newTestRing(t, 8)
	cli, srv := pair(t, netip.MustParseAddrPort("127.0.0.1:0"))
	_ = srv

	// Not started: the submission itself fails (not a ring's fd).
	p := make([]int, 2)
	if err := unix.Pipe(p); err != nil {
		t.Fatal(err)
	}
	defer unix.Close(p[0])
	defer unix.Close(p[1])
	fd := r.fd
	r.fd = p[0]
	ops := []RingOp{{FD: cli, Buf: []byte("a")}, {FD: cli, Buf: []byte("b")}}
	err := r.Do(ops)
	r.fd = fd
	if err == nil {
		t.Fatal("Do on a pipe succeeded")
	}
	for i, op := range ops {
		if !errors.Is(op.Err, ErrNotStarted) || errors.Is(op.Err, ErrRingLost) {
			t.Fatalf("op %d: %v, want ErrNotStarted", i, op.Err)
		}
	}

	// Lost: a completion never comes and the wait fails; EINTR is waited
	// through first.
	calls := 0
	saved := getEvents
	defer func() { getEvents = saved }()
	getEvents = func(int, int) unix.Errno {
		if calls++; calls == 1 {
			return unix.EINTR
		}
		return unix.EIO
	}
	ops = []RingOp{{FD: cli, Buf: []byte("c")}}
	err = r.reap(ops, 1)
	if !errors.Is(err, ErrRingLost) || !errors.Is(err, unix.EIO) || !errors.Is(ops[0].Err, ErrRingLost) {
		t.Fatalf("reap: %v, op %v; want ErrRingLost with EIO", err, ops[0].Err)
	}
	if calls != 2 {
		t.Fatalf("waited %d times, want 2 (EINTR, then EIO)", calls)
	}
	// The ring still works for what completes.
	getEvents = saved
	ops = []RingOp{{FD: cli, Buf: []byte("d")}}
	if err := r.Do(ops); err != nil || ops[0].N != 1 {
		t.Fatalf("after: n=%d err=%v %v", ops[0].N, ops[0].Err, err)
	}
}
