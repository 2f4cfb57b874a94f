package event

import "time"

// A parked loop woken by new readiness on its driver's descriptor polls
// the driver to learn which registration is ready: one more system call
// per wakeup than a goroutine blocked on its own socket pays (issue 12:
// 8% of the CPU of a one-connection ping-pong). When the loop has a
// single busy registration (its others are Quiet, like a listener), the
// wakeup is almost surely that one's, so the loop guesses: it runs the
// handler as if the poll had said Readable, and skips the poll.
//
// A wrong guess must not lose the readiness it skipped: the runtime
// reports the driver's descriptor again only for newer readiness.
//   - A handler that read nothing reports not drained (FileHandler), so
//     the loop polls before it parks.
//   - A quiet registration that became ready together with the busy one
//     is found by the real poll the loop owes within guessFor of its
//     first guess: a loop that keeps guessing polls then, and one that
//     parks arms its deadline no later than that. A loop without quiet
//     registrations owes nothing: its guesses are always right, save a
//     wake of its own driver, which needs no handling.

// Quiet is implemented by handlers whose descriptor is seldom ready (a
// listener). They do not count against guessing.
type Quiet interface {
	Quiet() bool
}

// guessFor bounds how long a quiet registration's readiness can wait
// behind guesses, when it came together with the busy one's. The bound
// costs a wakeup at its deadline: at 1 ms, 4 MiB messages on one
// connection lost 5-8% to those wakeups (notes/2026-12-07-s11).
const guessFor = 10 * time.Millisecond

// isQuiet reports whether h asks not to count as busy.
func isQuiet(h FileHandler) bool {
	q, ok := h.(Quiet)
	return ok && q.Quiet()
}

// guess fills fired[0] with the busy registration as Readable and reports
// true when the loop may skip its poll: one busy registration, waiting
// for reads only, and no real poll owed yet. The loop's clock as of its
// previous step is recent enough here: a park that lasted longer than
// guessFor after a guess ended at its deadline, which is not an edge.
// Loop goroutine.
func (c *Center) guess() bool {
	if c.busy != 1 {
		return false
	}
	if c.busyFD < 0 {
		c.busyFD = c.findBusy()
	}
	if c.files[c.busyFD].mask != Readable {
		return false
	}
	if c.quietFiles() > 0 {
		now := c.nowNS.Load()
		if c.owed == 0 {
			c.owed = now + int64(guessFor)
		} else if now >= c.owed {
			return false
		}
	}
	c.fired[0] = Fired{FD: int32(c.busyFD), Mask: Readable}
	c.stats.guesses.Add(1)
	return true
}

// quietFiles is how many registrations are Quiet.
func (c *Center) quietFiles() int { return int(c.nfiles.Load()) - c.busy }

// findBusy returns the one busy registration's descriptor (busy == 1).
func (c *Center) findBusy() int {
	for fd := range c.files {
		if e := &c.files[fd]; e.gen != 0 && !e.quiet {
			return fd
		}
	}
	panic("event: busy registration count out of step")
}

// addBusy and removeBusy keep busy and busyFD as registrations come and go.
func (c *Center) addBusy(fd int) {
	c.busy++
	if c.busy == 1 {
		c.busyFD = fd
	} else {
		c.busyFD = -1
	}
}

func (c *Center) removeBusy(fd int) {
	c.busy--
	if c.busyFD == fd {
		c.busyFD = -1
	}
}
