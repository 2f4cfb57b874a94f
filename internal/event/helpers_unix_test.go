//go:build linux || darwin || freebsd

package event

import (
	"math/rand/v2"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// socketPair returns a connected nonblocking AF_UNIX stream pair, closed
// at test end unless already closed.
func socketPair(t testing.TB) (a, b int) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatalf("socketpair: %v", err)
	}
	for _, fd := range fds {
		if err := unix.SetNonblock(fd, true); err != nil {
			t.Fatalf("nonblock: %v", err)
		}
	}
	t.Cleanup(func() { unix.Close(fds[0]); unix.Close(fds[1]) })
	return fds[0], fds[1]
}

// driverCase is one driver and wait mode this platform offers, and for
// a Center how a parked loop chooses each wait (kernelWaitAt).
type driverCase struct {
	kind  DriverKind
	mode  WaitMode
	waits waitChoice
}

// waitChoice replaces kernelWaitAt in a test: the policy itself, always
// the kernel, or a coin toss per wait.
type waitChoice int

const (
	waitsPolicy waitChoice = iota
	waitsKernel
	waitsMixed
)

func (d driverCase) String() string {
	s := d.kind.String() + "/" + d.mode.String()
	switch d.waits {
	case waitsKernel:
		s += "+kernel"
	case waitsMixed:
		s += "+mixed"
	}
	return s
}

// centerCases is driverCases plus, for a loop that can wait in the
// kernel as well as park, the cases that force kernel waits or mix both.
func centerCases(t testing.TB) []driverCase {
	var out []driverCase
	for _, dc := range driverCases(t) {
		out = append(out, dc)
		c, err := NewCenter(Options{Driver: dc.kind, Wait: dc.mode})
		if err != nil {
			t.Fatal(err)
		}
		if c.kw != nil {
			out = append(out, driverCase{dc.kind, dc.mode, waitsKernel}, driverCase{dc.kind, dc.mode, waitsMixed})
		}
		c.Stop()
	}
	return out
}

// newCenterCase opens a Center for dc, its waits chosen as dc says.
func newCenterCase(t testing.TB, dc driverCase, opts Options) *Center {
	t.Helper()
	opts.Driver, opts.Wait = dc.kind, dc.mode
	c, err := NewCenter(opts)
	if err != nil {
		t.Fatal(err)
	}
	switch dc.waits {
	case waitsKernel:
		c.waitAt = func(int, int, time.Duration, time.Duration) bool { return true }
	case waitsMixed:
		c.waitAt = func(int, int, time.Duration, time.Duration) bool { return rand.IntN(2) == 0 }
	}
	return c
}

// driverCases lists every driver/wait combination that opens here.
func driverCases(t testing.TB) []driverCase {
	var out []driverCase
	for _, k := range Drivers() {
		for _, m := range []WaitMode{WaitParked, WaitBlocking} {
			d, err := NewDriver(k, m, 0)
			if err != nil {
				continue
			}
			d.Close()
			out = append(out, driverCase{kind: k, mode: m})
		}
	}
	if len(out) == 0 {
		t.Fatal("no driver opens on this platform")
	}
	return out
}

// raiseNoFile lifts RLIMIT_NOFILE to at least n for the test, or skips.
func raiseNoFile(t testing.TB, n uint64) {
	var old unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &old); err != nil {
		t.Fatal(err)
	}
	if uint64(old.Cur) >= n {
		return
	}
	want := old
	setLimit(&want.Cur, n)
	if uint64(old.Max) < n {
		setLimit(&want.Max, n)
	}
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &want); err != nil {
		t.Skipf("RLIMIT_NOFILE %d/%d cannot reach %d: %v", old.Cur, old.Max, n, err)
	}
	t.Cleanup(func() { unix.Setrlimit(unix.RLIMIT_NOFILE, &old) })
}

// setLimit stores v in an rlimit field, uint64 or int64 by platform.
func setLimit[T int64 | uint64](p *T, v uint64) { *p = T(v) }
