//go:build unix

package stack

import (
	"errors"
	"slices"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/gomsgr/msgr/internal/event"
)

// opsHandler performs a readiness event's reads and writes on its socket,
// counting the yields after each; after the ops in wakeAfter another
// loop wakes (fakeWakes).
type opsHandler struct {
	s         *loopSocket
	ops       []int // > 0: write that many bytes; < 0: read into that much room
	wakeAfter map[int]bool
	kicks     *int
	got       []int
	t         *testing.T
}

func (h *opsHandler) OnConnected(error) {}
func (h *opsHandler) OnWritable()       {}
func (h *opsHandler) OnReadable()       { h.run() }

func (h *opsHandler) run() {
	for _, op := range h.ops {
		var err error
		if op > 0 {
			var n int
			n, err = h.s.Writev([][]byte{make([]byte, op/2), make([]byte, op-op/2)})
			if n != op {
				h.t.Errorf("wrote %d of %d", n, op)
			}
		} else {
			_, err = h.s.Read(make([]byte, -op))
		}
		if err != nil && !errors.Is(err, ErrWouldBlock) {
			h.t.Error(err)
		}
		h.got = append(h.got, *h.kicks)
		if h.wakeAfter[len(h.got)-1] {
			fakeWakes++
		}
	}
}

// fakeWakes stands for event.ParkedWakes in the tests.
var fakeWakes uint64

// fakeYields makes watchNetwork count into kicks and, if wake, stand for
// a yield another loop's wake follows; it restores both on cleanup.
func fakeYields(t *testing.T, kicks *int, wake bool) {
	t.Helper()
	w, p := watchNetwork, parkedWakes
	t.Cleanup(func() { watchNetwork, parkedWakes = w, p })
	watchNetwork = func() {
		*kicks++
		if wake {
			fakeWakes++
		}
	}
	parkedWakes = func() uint64 { return fakeWakes }
}

// socketPair returns a connected nonblocking pair with 4 MiB send buffers.
func socketPair(t *testing.T) [2]int {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		unix.Close(fds[0])
		unix.Close(fds[1])
	})
	for _, fd := range fds {
		if err := unix.SetNonblock(fd, true); err != nil {
			t.Fatal(err)
		}
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF, 4<<20); err != nil {
			t.Fatal(err)
		}
	}
	return fds
}

// A readiness event yields once (watchNetwork) before the read or write
// that may bring its bytes to longIO, and never when it moves less; a
// call outside an event yields when it alone may move longIO. (Every
// yield here is followed by another loop's wake, so none is passed up.)
func TestWatchNetwork(t *testing.T) {
	kicks := 0
	fakeYields(t, &kicks, true)
	const k = longIO / 256 // the cases' sizes are in 256ths of longIO
	for _, tc := range []struct {
		name  string
		event bool
		ops   []int
		want  []int
	}{
		{"small writes", true, []int{4 * k, 64 * k, 64 * k}, []int{0, 0, 0}},
		{"one long write", true, []int{longIO, 4 * k, longIO}, []int{1, 1, 1}},
		{"writes adding up", true, []int{100 * k, 100 * k, 100 * k, 100 * k}, []int{0, 0, 1, 1}},
		{"reads adding up", true, []int{-100 * k, -100 * k, -100 * k, -100 * k}, []int{0, 0, 1, 1}},
		{"reads and writes", true, []int{-200 * k, 4 * k, 60 * k}, []int{0, 0, 1}},
		// 100 k wait: the rooms add up to 300 k, the bytes read to 100 k.
		{"reads count what they read", true, []int{-150 * k, -150 * k}, []int{0, 0}},
		{"outside an event", false, []int{longIO, 100 * k, 100 * k, 100 * k, -longIO}, []int{1, 1, 1, 1, 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fds := socketPair(t)
			// What the reads of the case find waiting.
			in := 0
			for _, op := range tc.ops {
				in += max(-op, 0)
			}
			if tc.name == "reads count what they read" {
				in = 100 * k
			}
			if n, err := unix.Write(fds[1], make([]byte, in)); n != in {
				t.Fatalf("prefill: %d, %v", n, err)
			}
			kicks = 0
			s := &loopSocket{fd: fds[0]}
			h := &opsHandler{s: s, ops: tc.ops, kicks: &kicks, t: t}
			s.h = h
			if tc.event {
				s.HandleFileEvent(fds[0], event.Readable)
			} else {
				h.run()
			}
			for i := range tc.want {
				if i >= len(h.got) || h.got[i] != tc.want[i] {
					t.Fatalf("yields after each call: %v, want %v", h.got, tc.want)
				}
			}
		})
	}
}

// A socket whose yields no other loop's wake follows passes up more and
// more of its next chances to yield (1, 3, 7, then 15), and yields at
// every chance again once a wake follows one. A wake counts up to the
// event's first write (after it, it may answer that write), and outside
// an event up to the end of the call.
func TestYieldBacksOff(t *testing.T) {
	type ev struct {
		ops       []int
		wakeAfter map[int]bool
	}
	read := ev{ops: []int{-longIO}}
	var useless []ev
	for range 20 {
		useless = append(useless, read)
	}
	for _, tc := range []struct {
		name  string
		event bool
		evs   []ev
		want  []int // yields so far, after each event
	}{
		{"useless yields back off", true, useless,
			[]int{1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3, 4, 4, 4, 4, 4, 4}},
		{"a wake resets", true, []ev{read, read, {ops: []int{-longIO}, wakeAfter: map[int]bool{0: true}}, read, read, read},
			[]int{1, 1, 2, 3, 3, 4}},
		{"a wake after a write does not count", true, []ev{{ops: []int{-longIO, 4 << 10}, wakeAfter: map[int]bool{1: true}}, read, read},
			[]int{1, 1, 2}},
		{"a wake before a write counts", true, []ev{{ops: []int{-longIO, 4 << 10}, wakeAfter: map[int]bool{0: true}}, read, read},
			[]int{1, 2, 2}},
		{"outside an event", false, []ev{{ops: []int{longIO}}, {ops: []int{longIO}}, {ops: []int{longIO}}},
			[]int{1, 1, 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			kicks := 0
			fakeYields(t, &kicks, false)
			fds := socketPair(t)
			s := &loopSocket{fd: fds[0]}
			var got []int
			for _, e := range tc.evs {
				h := &opsHandler{s: s, ops: e.ops, wakeAfter: e.wakeAfter, kicks: &kicks, t: t}
				s.h = h
				if tc.event {
					s.HandleFileEvent(fds[0], event.Readable)
				} else {
					h.run()
				}
				got = append(got, kicks)
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("yields so far after each event: %v, want %v", got, tc.want)
			}
		})
	}
}

// A readable event reports its socket drained only when its reads got
// bytes and the last one came back short: an event that found nothing
// (a loop's guess, event.Quiet) or filled its buffer makes the loop poll.
func TestLoopSocketDrained(t *testing.T) {
	fakeYields(t, new(int), false)
	for _, tc := range []struct {
		name   string
		queued int
		ops    []int
		want   bool
	}{
		{"nothing there", 0, []int{-64}, false},
		{"short read", 10, []int{-64}, true},
		{"buffer filled", 64, []int{-64}, false},
		{"filled then empty", 64, []int{-64, -64}, true},
		{"filled then short", 100, []int{-64, -64}, true},
		{"no read", 10, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fds := socketPair(t)
			if tc.queued > 0 {
				if n, err := unix.Write(fds[1], make([]byte, tc.queued)); n != tc.queued {
					t.Fatalf("prefill: %d, %v", n, err)
				}
			}
			s := &loopSocket{fd: fds[0]}
			s.h = &opsHandler{s: s, ops: tc.ops, kicks: new(int), t: t}
			if got := s.HandleFileEvent(fds[0], event.Readable); got != tc.want {
				t.Fatalf("drained %v, want %v", got, tc.want)
			}
		})
	}
}
