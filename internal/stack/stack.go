// Package stack is the transport boundary under a messenger connection
// (Ceph's NetworkStack, Worker and ConnectedSocket): execution contexts
// that run callbacks one at a time, and sockets whose readiness is
// reported on their context.
//
// A Conn above this package never blocks and never starts goroutines: it
// reacts to OnReadable/OnWritable/OnConnected, reads and writes without
// blocking, and arms timers, all on its Worker. Two transports fit:
//
//   - the event-loop stack (default, EventLoop in this package): a Worker is
//     an internal/event loop; sockets are nonblocking descriptors
//     registered with it; callbacks run on the loop goroutine. A loop's
//     reads and small writes of one step are batched (iobatch.go).
//   - a goroutine-per-connection stack over net.Conn (GoNet in this
//     package): a Worker is a serial executor; a reader goroutine fills a
//     buffer and runs OnReadable in the context until Read has drained
//     it; Writev makes one nonblocking attempt and WantWrite waits in the
//     netpoller. Writes must never block a context: two peers in one
//     process writing big messages at each other would deadlock.
//
// Every Handler callback, timer function and Exec function of a Worker
// runs on that Worker's context, never two at once.
package stack

import (
	"errors"
	"net/netip"
	"time"
)

// ErrWouldBlock is returned by Read, Writev and Listener.Accept when the
// operation must wait for the next readiness callback.
var ErrWouldBlock = errors.New("stack: operation would block")

// ErrClosed is returned by operations on a closed socket, listener or a
// stopped worker.
var ErrClosed = errors.New("stack: closed")

// Stack is a set of workers (Ceph's NetworkStack plus its Workers).
type Stack interface {
	// Name identifies the transport in logs ("eventloop", "gonet").
	Name() string
	// Pick returns the least-loaded worker and counts one more user on it;
	// the caller calls release exactly once when it stops using it.
	Pick() (w Worker, release func())
	// InContext reports whether the caller runs on any of the stack's
	// workers (blocking there would stall it).
	InContext() bool
	// Close gives the stack up. Workers shared with other users keep
	// running until the last user closes; the last Close waits for them,
	// so it must not run on one.
	Close() error
}

// Worker is one execution context (Ceph's Worker with its EventCenter).
type Worker interface {
	// ID numbers the worker within its stack, for logs.
	ID() int
	// Exec runs f on the worker's context later, in submission order. It
	// is safe from any goroutine, never runs f inline, and returns
	// ErrClosed (f will not run) once the worker has stopped.
	Exec(f func()) error
	// InContext reports whether the caller is running on this context.
	InContext() bool
	// Now is the time for a step on the context: an event loop's clock as
	// of its latest wakeup (a loop step lasts microseconds, and reading
	// the clock per message cost 2-3% of a 4 KiB round trip), else the
	// current time. Context only.
	Now() time.Time
	// AfterFunc runs f on the context once d has passed, unless stopped.
	// Context only.
	AfterFunc(d time.Duration, f func()) Timer
	// Listen opens a listening socket owned by this worker; Watch starts
	// reporting its readiness. Context only.
	Listen(addr netip.AddrPort, cfg ListenConfig) (Listener, error)
	// Connect starts connecting to addr; h.OnConnected reports the result,
	// then h receives the socket's readiness. Context only.
	Connect(addr netip.AddrPort, cfg DialConfig, h Handler) (Socket, error)
}

// Timer is a pending AfterFunc.
type Timer interface {
	// Stop cancels the timer; false if it already ran or was stopped.
	// Context only.
	Stop() bool
}

// Handler receives a socket's readiness on its worker's context.
type Handler interface {
	// OnConnected reports how Connect ended: nil, or why it failed (after
	// a failure the socket is closed and no other callback follows).
	OnConnected(err error)
	// OnReadable: Read may return data, EOF or an error. While reading is
	// enabled it fires again as long as data remains unread.
	OnReadable()
	// OnWritable: after Writev was short or returned ErrWouldBlock, the
	// socket can take more. It fires only after WantWrite(true).
	OnWritable()
}

// Socket is one connected stream. Methods are for the owning worker's
// context only.
type Socket interface {
	// Read reads into p without blocking: n > 0, or ErrWouldBlock, io.EOF
	// or another error.
	Read(p []byte) (int, error)
	// Writev writes a prefix of bufs without blocking and returns the
	// bytes taken, or ErrWouldBlock. The buffers are not retained after
	// it returns.
	Writev(bufs [][]byte) (int, error)
	// WantWrite arms (true) or disarms OnWritable.
	WantWrite(on bool)
	// PauseRead stops (true) or resumes OnReadable, so that a throttled
	// connection leaves its bytes in the kernel and TCP pushes back.
	PauseRead(on bool)
	// LocalAddr and RemoteAddr are the socket's endpoints.
	LocalAddr() netip.AddrPort
	RemoteAddr() netip.AddrPort
	// Detach unregisters the socket from its worker without closing it,
	// so that another worker can Attach it (a session moving to the
	// connection that already had it, Ceph's reuse_connection). No
	// callback runs afterwards; the socket is unusable.
	Detach() (Pending, error)
	// Close releases the socket; no callback runs after Close returns.
	// Idempotent.
	Close() error
}

// RecvLowater is a Socket whose kernel can hold back its readability
// until enough bytes wait (Linux's SO_RCVLOWAT). Optional.
type RecvLowater interface {
	// SetRecvLowat has the socket reported readable only once n bytes
	// wait (n <= 1: once any does), or the peer closed, or the receive
	// window or buffer is about to run out. Set n only to bytes the peer
	// is bound to send without waiting for us. Context only.
	SetRecvLowat(n int)
}

// Listener is a listening socket owned by one worker.
type Listener interface {
	// Addr is the bound address (with the port chosen when 0 was asked).
	Addr() netip.AddrPort
	// Watch makes onAcceptable run on the context whenever Accept may
	// succeed, until Unwatch. Context only.
	Watch(onAcceptable func()) error
	// Unwatch stops the readiness reports (pending connections wait in
	// the kernel's backlog). Context only.
	Unwatch()
	// Accept takes one pending connection without blocking, or returns
	// ErrWouldBlock. Context only.
	Accept() (Pending, error)
	// Close stops listening. Context only.
	Close() error
}

// Pending is an accepted connection not yet attached to a worker.
type Pending interface {
	RemoteAddr() netip.AddrPort
	// Attach hands the connection to w, reporting readiness to h. Call it
	// on w's context. On error the connection is closed.
	Attach(w Worker, cfg DialConfig, h Handler) (Socket, error)
	// Close drops the connection unattached. Safe from any goroutine.
	Close() error
}

// ListenConfig tunes Listen.
type ListenConfig struct {
	Backlog int // 0: 512 (ms_tcp_listen_backlog)
	RecvBuf int // SO_RCVBUF when > 0 (ms_tcp_rcvbuf)
}

// DialConfig tunes Connect and Attach.
type DialConfig struct {
	NoDelay bool // TCP_NODELAY (ms_tcp_nodelay)
	RecvBuf int  // SO_RCVBUF when > 0 (ms_tcp_rcvbuf)
}
