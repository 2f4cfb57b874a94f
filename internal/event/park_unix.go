//go:build linux || darwin || freebsd

package event

import (
	"errors"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// parker waits for a pollable kernel object (an epoll or kqueue fd) by
// parking the calling goroutine in the Go runtime's netpoller, then polls
// it without blocking. See /work/shared/research/event-loop.md: on few
// cores a goroutine switch beats a thread blocked in epoll_wait.
//
// Owned by the loop goroutine.
type parker struct {
	f        *os.File
	rc       syscall.RawConn
	deadline time.Time // deadline currently set on f; zero: none

	// poll is the driver's nonblocking poll; it reports woke when it
	// consumed a Wake, which ends the wait even with no events. pollFn
	// wraps it for RawConn.Read once, so a wait allocates nothing.
	poll   func(ev []Fired) (n int, woke bool, err error)
	pollFn func(uintptr) bool
	ev     []Fired
	n      int
	woke   bool
	err    error
}

// newParker parks on a duplicate of fd, owned by an os.File so that the
// runtime registers it (and forgets it on close). The caller keeps fd and
// polls through it; both name the same kernel object. It fails when the
// runtime cannot poll the object.
func newParker(fd int, name string, poll func([]Fired) (int, bool, error)) (*parker, error) {
	dup, err := unix.Dup(fd)
	if err != nil {
		return nil, err
	}
	unix.CloseOnExec(dup)
	if err := unix.SetNonblock(dup, true); err != nil {
		unix.Close(dup)
		return nil, err
	}
	f := os.NewFile(uintptr(dup), name)
	// A descriptor the netpoller refused has no deadlines.
	if err := f.SetReadDeadline(time.Time{}); err != nil {
		f.Close()
		return nil, errors.Join(ErrUnsupported, err)
	}
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, errors.Join(ErrUnsupported, err)
	}
	p := &parker{f: f, rc: rc, poll: poll}
	p.pollFn = func(uintptr) bool {
		p.n, p.woke, p.err = p.poll(p.ev)
		return p.n > 0 || p.woke || p.err != nil
	}
	return p, nil
}

// wait returns ready events, parking until some arrive or timeout passes.
func (p *parker) wait(ev []Fired, timeout time.Duration) (int, error) {
	if timeout == 0 {
		n, _, err := p.poll(ev)
		return n, err
	}
	// RawConn.Read polls once before parking, so events already pending
	// cost one nonblocking poll, no park.
	if err := p.arm(time.Now(), timeout); err != nil {
		return 0, err
	}
	p.ev, p.n, p.err = ev, 0, nil
	rerr := p.rc.Read(p.pollFn)
	p.ev = nil
	if rerr != nil {
		if errors.Is(rerr, os.ErrDeadlineExceeded) {
			return 0, nil
		}
		return 0, rerr
	}
	return p.n, p.err
}

// run runs a parked loop: step polls without blocking and runs what is
// ready; when it says the loop may park, the goroutine parks in the
// netpoller right away, without the empty poll wait would make first.
// That is safe only because the whole loop runs inside one
// RawConn.Read: the runtime resets the descriptor's readiness when a
// Read starts, not between the callback's calls, so an edge that came
// after step's last poll (new readiness on the epoll fd wakes its
// watchers) makes the park return at once. run returns step's error,
// or nil once step reports errLoopDone. When step says park, block may
// wait instead without leaving the Read (kernelWaitAt); the loop then
// steps on.
func (p *parker) run(step func(edge bool) (park bool, err error), block func() (waited bool, err error)) error {
	var serr error
	parked := false
	f := func(uintptr) bool {
		edge := parked
		if parked {
			parked = false
			parkedWakes.Add(1)
		}
		for {
			park, err := step(edge)
			edge = false
			if err != nil {
				serr = err
				return true
			}
			if !park {
				continue
			}
			if waited, err := block(); err != nil {
				serr = err
				return true
			} else if waited {
				continue
			}
			parked = true
			return false // step armed the deadline
		}
	}
	for {
		rerr := p.rc.Read(f)
		if serr != nil {
			if serr == errLoopDone {
				return nil
			}
			return serr
		}
		if rerr == nil {
			continue
		}
		if !errors.Is(rerr, os.ErrDeadlineExceeded) {
			return rerr
		}
		// The deadline ended the park. A new Read must not start with it
		// expired (it would fail at once); the loop's first step polls.
		p.deadline = time.Time{}
		if err := p.f.SetReadDeadline(p.deadline); err != nil {
			return err
		}
	}
}

// wake ends the park of run's loop from any goroutine: an expired
// deadline readies the parked goroutine in the runtime, without a system
// call. Loop side: run arms its deadline before it declares itself
// asleep, so this never gets overwritten; a wake that lands while the
// loop runs costs one spurious return from the park.
func (p *parker) wake() error {
	if err := p.f.SetReadDeadline(expired); err != nil && !errors.Is(err, os.ErrClosed) {
		return err
	}
	return nil
}

// expired is a deadline long past.
var expired = time.Unix(1, 0)

// arm makes sure the file's read deadline ends the park no later than
// timeout from now (the caller's clock reading: one fewer per park). An
// earlier deadline already set is kept: waking early is harmless (the
// loop recomputes), and not resetting it saves a runtime timer update on
// most waits.
func (p *parker) arm(now time.Time, timeout time.Duration) error {
	cur := p.deadline
	if timeout < 0 {
		if !cur.IsZero() && !cur.After(now) {
			p.deadline = time.Time{}
			return p.f.SetReadDeadline(p.deadline)
		}
		return nil
	}
	want := now.Add(timeout)
	if cur.IsZero() || !cur.After(now) || want.Before(cur) {
		p.deadline = want
		return p.f.SetReadDeadline(want)
	}
	return nil
}

func (p *parker) close() error { return p.f.Close() }
