package stack

import (
	"testing"

	"golang.org/x/sys/unix"

	"github.com/gomsgr/msgr/internal/event"
)

// TestSetRecvLowat: a loop socket's mark is the kernel's SO_RCVLOWAT
// (n <= 1: the default, 1), and a detached socket goes to its next owner
// at the default.
func TestSetRecvLowat(t *testing.T) {
	st, err := NewEventLoop(event.NewRegistry(), "lowat", event.Options{Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	w, rel := st.Pick()
	defer rel()
	fds := socketPair(t)
	mark := func() int {
		t.Helper()
		v, err := unix.GetsockoptInt(fds[0], unix.SOL_SOCKET, unix.SO_RCVLOWAT)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	s := newLoopSocket(w.(*loopWorker).c, fds[0], nil)
	for _, n := range []int{300 << 10, 300 << 10, 0, 1 << 20, -1, 5} {
		on(t, w, func() { s.SetRecvLowat(n) })
		if got := mark(); got != max(n, 1) {
			t.Errorf("SetRecvLowat(%d): SO_RCVLOWAT %d", n, got)
		}
	}
	on(t, w, func() {
		if _, err := s.Detach(); err != nil {
			t.Error(err)
		}
	})
	if got := mark(); got != 1 {
		t.Errorf("after Detach: SO_RCVLOWAT %d, want 1", got)
	}
}
