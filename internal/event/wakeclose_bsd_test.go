//go:build darwin || freebsd

package event

import (
	"testing"

	"golang.org/x/sys/unix"
)

// As TestWakeAfterClose on Linux: a Wake after Close triggers nothing on
// a kqueue that took the closed one's number, and a second Close leaves
// that kqueue open.
func TestKqueueWakeAfterClose(t *testing.T) {
	for _, mode := range []WaitMode{WaitParked, WaitBlocking} {
		d, err := newKqueue(mode, 8)
		if err != nil {
			t.Fatal(err)
		}
		kq := d.kq
		if err := d.Close(); err != nil {
			t.Fatal(err)
		}
		// Reuse the number: the lowest free descriptors go first.
		var got bool
		for range 4 {
			q, err := unix.Kqueue()
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { unix.Close(q) })
			if q == kq {
				got = true
				break
			}
		}
		if !got {
			t.Skipf("descriptor %d not reused as a kqueue", kq)
		}
		// The new kqueue has an EVFILT_USER event of the same ident, so a
		// stray trigger would show.
		reg := []unix.Kevent_t{{Ident: wakeIdent, Filter: unix.EVFILT_USER, Flags: unix.EV_ADD | unix.EV_CLEAR}}
		if _, err := unix.Kevent(kq, reg, nil, nil); err != nil {
			t.Fatal(err)
		}
		if err := d.Wake(); err != nil {
			t.Fatalf("mode %v: Wake after Close: %v", mode, err)
		}
		if err := d.Close(); err != nil {
			t.Fatalf("mode %v: second Close: %v", mode, err)
		}
		evs := make([]unix.Kevent_t, 1)
		n, err := unix.Kevent(kq, nil, evs, &unix.Timespec{})
		if err != nil {
			t.Fatalf("mode %v: second Close closed the reused kqueue: %v", mode, err)
		}
		if n != 0 {
			t.Fatalf("mode %v: the kqueue that took the closed one's number was triggered", mode)
		}
	}
}
