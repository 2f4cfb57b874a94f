package event

import (
	"runtime"
	"sync/atomic"
	"time"
)

// A parked loop (WaitParked) has two ways to wait for its next event:
//
//   - park its goroutine in the Go netpoller (parker.run). Cheap when the
//     process has idle Ps: the thread that parks the loop finds the next
//     ready loop itself (depth-1 ping-pong between two loops of one
//     process runs on one thread, no thread wake at all).
//   - block its own thread in epoll_wait, as Ceph's workers do. Better
//     when every other P is busy running loops: then nobody else watches
//     the netpoller, and the loop's readiness is found only when some
//     thread happens to enter the scheduler (sysmon: every 10 ms at
//     most), or by a thread blocked in the netpoller that is not the
//     loop's last one, so loops hop between threads and the kernel
//     stacks two busy threads on one CPU for a tick (4 ms here). Issue 13:
//     64 KiB x4 conns at depth 4 gave p99 2.7-12 ms at p50 50-160 µs
//     parked, 0.33-0.54 ms at p50 125-172 µs blocking.
//
// kernelWaitAt chooses per wait from how many other loops of the process
// are awake (running handlers, not waiting) and how long the loop's
// latest wait lasted.
//
// Only short waits go to the kernel. A wait of a few microseconds (issue
// 13's many-connection cases: 99% under 10 µs) ends before sysmon looks
// at the thread again, so the loop keeps its P. A long one sleeps in a
// system call: sysmon, seeing the P in the same call at two of its ticks,
// retakes it and wakes a spinning M for it, and keeps ticking every 20 µs
// while it finds Ps to retake. One connection streaming 4 MiB (the writer
// waits 10-1000 µs for the reader to drain its socket, several times a
// message) paid 4 sysmon wakeups and 10-12 context switches per message
// that way, against 0.4-0.8 and 6-8 parked (NOTES.md). The latest wait
// is the guess for the next: a loop whose waits are long parks in the
// netpoller, where a thread blocked in netpoll finds it.

// loopsAwake counts the awake loops of the process that could park in the
// netpoller (Center.lp set), every pool together.
var loopsAwake atomic.Int32

// minKernelWait is the shortest wait done in epoll_wait: its timeout is
// in milliseconds (rounded up), so a loop with a timer due sooner parks
// in the netpoller, whose deadlines are exact.
const minKernelWait = time.Millisecond

// shortWait is the longest latest wait after which a loop still waits in
// the kernel: sysmon's shortest tick, below which a thread in a system
// call keeps its P.
const shortWait = 20 * time.Microsecond

// kernelWaitAt reports whether a loop about to wait up to timeout blocks
// in the kernel: when the other awake loops (others) can keep every
// other P busy, so no idle P's thread watches the netpoller, and the
// loop's latest wait (last) was short. With one P the netpoller is the
// only way to run other goroutines meanwhile.
func kernelWaitAt(others, procs int, timeout, last time.Duration) bool {
	return procs > 1 && others >= procs-1 && timeout >= minKernelWait && last < shortWait
}

// kernelWaiter is a loopParker whose loop can also block its thread in
// the kernel for events (epoll).
type kernelWaiter interface {
	// waitKernel blocks until an event is ready or timeout passes (a
	// Wake, or EINTR, returns 0 events).
	waitKernel(ev []Fired, timeout time.Duration) (int, error)
}

// setAwake marks the loop awake or waiting (Center.awake), and keeps
// loopsAwake for loops that may park in the netpoller. Loop goroutine.
func (c *Center) setAwake(on bool) {
	c.awake.Store(on)
	if c.lp == nil || c.counted == on {
		return
	}
	c.counted = on
	if on {
		loopsAwake.Add(1)
	} else {
		loopsAwake.Add(-1)
	}
}

// procs is GOMAXPROCS, read once per loop start (runtime.GOMAXPROCS(0)
// takes the scheduler's lock).
func procs() int { return runtime.GOMAXPROCS(0) }
