package event

import (
	"testing"

	"golang.org/x/sys/unix"
)

// A Wake that lands after Close (a producer racing a stopping loop, which
// a loop waiting in the kernel makes ordinary) writes nothing, even where
// the eventfd's number now names another descriptor; a second Close
// closes nothing either.
func TestWakeAfterClose(t *testing.T) {
	for _, tc := range []struct {
		name string
		open func() (Driver, int, error) // the driver and its wake descriptor
	}{
		{"epoll/parked", func() (Driver, int, error) { return openEpoll(WaitParked) }},
		{"epoll/blocking", func() (Driver, int, error) { return openEpoll(WaitBlocking) }},
		{"poll/blocking", func() (Driver, int, error) {
			d, err := newPoll(WaitBlocking)
			if err != nil {
				return nil, -1, err
			}
			return d, d.wr, nil
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, efd, err := tc.open()
			if err != nil {
				t.Fatal(err)
			}
			if err := d.Close(); err != nil {
				t.Fatal(err)
			}
			// Reuse the number: the lowest free descriptors go first.
			var p [2]int
			var got bool
			for range 4 {
				if err := unix.Pipe2(p[:], unix.O_NONBLOCK|unix.O_CLOEXEC); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { unix.Close(p[0]); unix.Close(p[1]) })
				if p[1] == efd {
					got = true
					break
				}
			}
			if !got {
				t.Skipf("descriptor %d not reused as a pipe's write end", efd)
			}
			if err := d.Wake(); err != nil {
				t.Fatalf("Wake after Close: %v", err)
			}
			if err := d.Close(); err != nil {
				t.Fatalf("second Close: %v", err)
			}
			var b [8]byte
			if n, err := unix.Read(p[0], b[:]); err != unix.EAGAIN {
				t.Fatalf("the pipe that took the wake descriptor's number got %d bytes (%v)", n, err)
			}
			if _, err := unix.Write(p[1], b[:1]); err != nil {
				t.Fatalf("second Close closed the reused descriptor: %v", err)
			}
		})
	}
}

func openEpoll(mode WaitMode) (Driver, int, error) {
	d, err := newEpoll(mode, 8)
	if err != nil {
		return nil, -1, err
	}
	return d, d.efd, nil
}
