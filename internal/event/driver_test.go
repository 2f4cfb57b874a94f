//go:build linux || darwin || freebsd

package event

import (
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The conformance suite: every driver and wait mode on the platform must
// pass the same cases.

// waitFor waits (in bounded rounds) until fd is reported with want in its
// mask, returning the merged mask seen for fd.
func waitFor(t *testing.T, d Driver, fd int, want Mask) Mask {
	t.Helper()
	ev := make([]Fired, 16)
	for range 100 {
		n, err := d.Wait(ev, 100*time.Millisecond)
		if err != nil {
			t.Fatalf("wait: %v", err)
		}
		var got Mask
		for _, f := range ev[:n] {
			if int(f.FD) == fd {
				got |= f.Mask
			}
		}
		if got&want == want {
			return got
		}
	}
	t.Fatalf("fd %d never reported %v", fd, want)
	return None
}

// quiet asserts that fd is not reported by a nonblocking wait.
func quiet(t *testing.T, d Driver, fd int) {
	t.Helper()
	ev := make([]Fired, 16)
	n, err := d.Wait(ev, 0)
	if err != nil {
		t.Fatalf("wait: %v", err)
	}
	for _, f := range ev[:n] {
		if int(f.FD) == fd {
			t.Fatalf("fd %d reported %v, want nothing", fd, f.Mask)
		}
	}
}

func TestDriverConformance(t *testing.T) {
	cases := []struct {
		name string
		run  func(t *testing.T, d Driver)
	}{
		{"readable after peer writes, level-triggered", func(t *testing.T, d Driver) {
			a, b := socketPair(t)
			if err := d.Update(a, None, Readable); err != nil {
				t.Fatal(err)
			}
			quiet(t, d, a)
			if _, err := unix.Write(b, []byte("x")); err != nil {
				t.Fatal(err)
			}
			if m := waitFor(t, d, a, Readable); m&Writable != 0 {
				t.Fatalf("mask %v includes writable, not armed", m)
			}
			// Unread data fires again.
			waitFor(t, d, a, Readable)
			var buf [8]byte
			unix.Read(a, buf[:])
			quiet(t, d, a)
		}},
		{"writable on an empty socket", func(t *testing.T, d Driver) {
			a, _ := socketPair(t)
			if err := d.Update(a, None, Writable); err != nil {
				t.Fatal(err)
			}
			waitFor(t, d, a, Writable)
		}},
		{"add then remove a mask", func(t *testing.T, d Driver) {
			a, b := socketPair(t)
			unix.Write(b, []byte("x"))
			if err := d.Update(a, None, Writable); err != nil {
				t.Fatal(err)
			}
			if err := d.Update(a, Writable, Readable|Writable); err != nil {
				t.Fatal(err)
			}
			waitFor(t, d, a, Readable|Writable)
			if err := d.Update(a, Readable|Writable, Readable); err != nil {
				t.Fatal(err)
			}
			if m := waitFor(t, d, a, Readable); m&Writable != 0 {
				t.Fatalf("writable after its removal: %v", m)
			}
			if err := d.Update(a, Readable, None); err != nil {
				t.Fatal(err)
			}
			quiet(t, d, a)
		}},
		{"peer close reads as readable", func(t *testing.T, d Driver) {
			a, b := socketPair(t)
			if err := d.Update(a, None, Readable); err != nil {
				t.Fatal(err)
			}
			unix.Shutdown(b, unix.SHUT_WR)
			waitFor(t, d, a, Readable)
		}},
		{"timeout returns empty", func(t *testing.T, d Driver) {
			ev := make([]Fired, 4)
			n, err := d.Wait(ev, time.Millisecond)
			if err != nil || n != 0 {
				t.Fatalf("wait = %d, %v; want 0, nil", n, err)
			}
		}},
		{"wake from another goroutine ends an unbounded wait", func(t *testing.T, d Driver) {
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := d.Wake(); err != nil {
					t.Error(err)
				}
			}()
			ev := make([]Fired, 4)
			n, err := d.Wait(ev, -1)
			wg.Wait()
			if err != nil || n != 0 {
				t.Fatalf("wait = %d, %v; want 0, nil (wakeup not reported)", n, err)
			}
			// Consumed: a second wait does not see it.
			if n, _ := d.Wait(ev, 0); n != 0 {
				t.Fatalf("wake reported as %d events", n)
			}
		}},
		{"many wakes collapse", func(t *testing.T, d Driver) {
			for range 1000 {
				if err := d.Wake(); err != nil {
					t.Fatal(err)
				}
			}
			ev := make([]Fired, 4)
			for range 3 {
				if n, err := d.Wait(ev, 0); n != 0 || err != nil {
					t.Fatalf("wait = %d, %v", n, err)
				}
			}
		}},
		{"batch reports many descriptors", func(t *testing.T, d Driver) {
			const n = 40
			want := map[int]bool{}
			for range n {
				a, b := socketPair(t)
				if err := d.Update(a, None, Readable); err != nil {
					t.Fatal(err)
				}
				unix.Write(b, []byte("x"))
				want[a] = true
			}
			ev := make([]Fired, n)
			for range 100 {
				k, err := d.Wait(ev, 100*time.Millisecond)
				if err != nil {
					t.Fatal(err)
				}
				for _, f := range ev[:k] {
					delete(want, int(f.FD))
				}
				if len(want) == 0 {
					return
				}
			}
			t.Fatalf("%d descriptors never reported", len(want))
		}},
	}
	for _, dc := range driverCases(t) {
		t.Run(dc.String(), func(t *testing.T) {
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					d, err := NewDriver(dc.kind, dc.mode, 64)
					if err != nil {
						t.Fatal(err)
					}
					defer d.Close()
					if got := d.Parked(); got != (dc.mode == WaitParked) {
						t.Fatalf("Parked() = %v for mode %v", got, dc.mode)
					}
					tc.run(t, d)
				})
			}
		})
	}
}

func TestDriverUnsupported(t *testing.T) {
	if _, err := NewDriver(DriverKind(99), WaitAuto, 0); err != ErrUnsupported {
		t.Fatalf("unknown kind: %v, want ErrUnsupported", err)
	}
	if _, err := NewDriver(DriverPoll, WaitParked, 0); err != ErrUnsupported {
		t.Fatalf("poll parked: %v, want ErrUnsupported", err)
	}
}
