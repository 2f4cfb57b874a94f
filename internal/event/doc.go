// Package event is msgr's event-loop core, after Ceph's AsyncMessenger
// (src/msg/async/Event.cc, Stack.cc): a fixed pool of workers, each one
// loop goroutine owning a Center of file events, timers and external
// events, shared by every messenger in the process.
//
// # Using it
//
//	lease, err := event.Acquire("msgr", event.Options{Workers: 2})
//	defer lease.Release()              // the last release stops the loops
//	w := lease.Pool().Pick()           // least loaded worker, ties round robin
//	defer w.Leave()                    // when the connection ends
//	c := w.Center()
//	c.DispatchTask(conn)               // from any goroutine; conn.RunTask runs on the loop
//	// ... then, on the loop:
//	id, err := c.AddFile(fd, event.Readable, conn)  // conn.HandleFileEvent(fd, mask)
//	c.SetMask(id, event.Readable|event.Writable)    // wait for room to write
//	t, err := c.AddTimer(5*time.Second, conn)       // conn.HandleTimer(t)
//	c.CancelTimer(t)
//	c.RemoveFile(id); sock.Close(fd)                // remove first, then close
//
// # Ownership
//
// A Center's loop goroutine owns its registrations and timers: AddFile,
// SetMask, Mask, RemoveFile, AddTimer, AddTimerFunc, CancelTimer and
// Timers are called only from handlers, timers and tasks running on that
// loop (or before the loop starts). Race-detector and msgr_debug builds
// check this and return ErrNotInLoop. Everything else (Dispatch,
// DispatchTask, Call, Stop, InLoop, Now, Files, Pool and Registry
// methods) is safe from any goroutine. A connection placed on a worker
// stays there: all of its socket I/O, timers and state run on that loop;
// other goroutines hand it work with DispatchTask.
//
// Handlers must not block: a blocked handler stalls every connection on
// the worker. Call from a loop to its own Center runs the function
// directly; Call from loop A to loop B blocks A until B runs it, so
// two loops calling each other deadlock (use DispatchTask both ways).
// InLoop costs a few nanoseconds (amd64, arm64), so "run here if on the
// loop, else dispatch" is fine on hot paths. A Lease may be released
// from one of its pool's own handlers: Stop then waits only for the
// other loops.
//
// Stop does not close registered descriptors: their owners remove and
// close them first (a task queued before Stop still runs). The external
// queue is unbounded, like Ceph's; backpressure belongs to the caller
// (throttles).
//
// # Events
//
// File events are level-triggered: a handler that leaves data unread (and
// says so: it returns false) is called again on the next iteration. Errors and hang-ups arrive as
// readable and writable. Each AddFile is a new registration with a new
// FileID, and events collected for a registration that was removed
// during the same batch are dropped, so a descriptor closed and reused
// within one batch never receives its predecessor's events.
//
// Timers fire on the loop in deadline order (equal deadlines in the order
// added); the earliest bounds the wait, which never exceeds MaxWait (30 s).
//
// External events (Dispatch, DispatchTask) run in the order queued. The
// loop is woken (eventfd on Linux, EVFILT_USER on darwin/FreeBSD, a pipe
// for the poll driver) only when the pending flag goes from clear to set
// and the loop is asleep; at most Budget tasks run per iteration so file
// events keep their turn. Stop runs the tasks already queued, then the
// loop returns; Dispatch afterwards returns ErrStopped.
//
// # Waiting
//
// WaitParked (the default where possible) parks the loop goroutine in the
// Go netpoller on the epoll/kqueue descriptor and then polls it without
// blocking; WaitBlocking blocks the loop's thread in epoll_wait/kevent/
// poll. A parked epoll loop parks without polling first when every
// handler reported its descriptor drained (HandleFileEvent's result), and
// other goroutines wake it without a system call (NOTES.md). A parked
// epoll loop still blocks its own thread in epoll_wait for a wait when
// the process's other awake loops keep every other P busy (then no idle
// thread watches the netpoller for it) and its latest wait was short
// (kernelwait.go). Woken by new readiness, a parked loop whose only busy
// registration is one socket (listeners are Quiet) runs that socket's
// handler without polling to learn what is ready (guess.go). On few cores
// parked wins: a wakeup is a goroutine switch instead of a thread
// handoff. Measured on 2 shared cores (NOTES.md): an
// external-event round trip takes about 4 µs parked against 45 µs
// blocking; loopback ping-pong is 0.83-0.85x of goroutine-per-conn
// net.Conn at 1 and 16 connections and 1.07x at 256.
//
// # Step hooks
//
// The layer above may batch its socket I/O across a step's handlers
// (hooks.go): a Prefetcher reads ahead for a poll's ready registrations
// before their handlers run, AtStepEnd finishes work before the loop polls
// or parks, Repoll owes a poll for readiness handled outside an event,
// and OnStop releases what lives as long as the loop. internal/stack uses
// them to read several sockets, and to send a step's small writes, in one
// io_uring submission each.
package event
