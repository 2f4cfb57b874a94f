//go:build unix

package stack

import (
	"errors"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/gomsgr/msgr/internal/event"
)

// opsHandler performs a readiness event's reads and writes on its socket,
// counting the yields after each.
type opsHandler struct {
	s     *loopSocket
	ops   []int // > 0: write that many bytes; < 0: read into that much room
	kicks *int
	got   []int
	t     *testing.T
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
	}
}

// A readiness event yields once (watchNetwork) before the read or write
// that may bring its bytes to longIO, and never when it moves less; a
// call outside an event yields when it alone may move longIO.
func TestWatchNetwork(t *testing.T) {
	kicks := 0
	defer func(f func()) { watchNetwork = f }(watchNetwork)
	watchNetwork = func() { kicks++ }
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
			fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer unix.Close(fds[0])
			defer unix.Close(fds[1])
			for _, fd := range fds {
				if err := unix.SetNonblock(fd, true); err != nil {
					t.Fatal(err)
				}
				if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF, 4<<20); err != nil {
					t.Fatal(err)
				}
			}
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
