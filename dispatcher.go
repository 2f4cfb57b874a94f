package msgr

import (
	"sync"

	"github.com/gomsgr/msgr/message"
)

// Dispatcher receives messages (Ceph's Dispatcher::ms_dispatch). Dispatch
// runs off the event loops on the messenger's dispatch goroutine, one call
// at a time, messages of one connection in arrival order. It returns
// whether it handled the message; an unhandled message goes to the next
// dispatcher, and is dropped (logged) after the last.
//
// A Dispatcher may also implement any of the interfaces below; the
// messenger checks once, when the dispatcher is added.
type Dispatcher interface {
	Dispatch(c *Conn, m message.Message) bool
}

// FastDispatcher handles messages on the connection's event loop, with no
// goroutine hand-off (ms_can_fast_dispatch / ms_fast_dispatch). FastDispatch
// must not block: it stalls every connection of that loop.
type FastDispatcher interface {
	CanFastDispatch(m message.Message) bool
	FastDispatch(c *Conn, m message.Message)
}

// ConnectHandler hears that an outgoing session opened or reopened
// (ms_handle_connect). Queued, like Dispatch.
type ConnectHandler interface{ HandleConnect(c *Conn) }

// AcceptHandler hears that an incoming session opened or reopened
// (ms_handle_accept). Queued, like Dispatch.
type AcceptHandler interface{ HandleAccept(c *Conn) }

// ResetHandler hears that a lossy connection faulted or its session was
// dropped (ms_handle_reset): messages sent on it may be lost. It returns
// whether it handled the event. Queued, like Dispatch.
type ResetHandler interface{ HandleReset(c *Conn) bool }

// RemoteResetHandler hears that the peer lost the session (it restarted):
// messages not yet acknowledged were dropped (ms_handle_remote_reset).
// Queued, like Dispatch.
type RemoteResetHandler interface{ HandleRemoteReset(c *Conn) }

// RefusedHandler hears that a connect was refused (ms_handle_refused).
// Queued, like Dispatch.
type RefusedHandler interface{ HandleRefused(c *Conn) bool }

// FastConnectHandler and FastAcceptHandler are ms_handle_fast_connect and
// ms_handle_fast_accept: called on the loop, before the queued variants.
type FastConnectHandler interface{ HandleFastConnect(c *Conn) }
type FastAcceptHandler interface{ HandleFastAccept(c *Conn) }

// DispatcherFunc adapts a function to a Dispatcher.
type DispatcherFunc func(c *Conn, m message.Message) bool

// Dispatch calls f.
func (f DispatcherFunc) Dispatch(c *Conn, m message.Message) bool { return f(c, m) }

// dispatchers is an immutable snapshot of the dispatcher chain, swapped
// whole so that loops read it without a lock.
type dispatchers struct {
	all  []Dispatcher
	fast []FastDispatcher
}

func (d *dispatchers) with(x Dispatcher, head bool) *dispatchers {
	n := &dispatchers{}
	if head {
		n.all = append([]Dispatcher{x}, d.all...)
	} else {
		n.all = append(append([]Dispatcher(nil), d.all...), x)
	}
	for _, y := range n.all {
		if f, ok := y.(FastDispatcher); ok {
			n.fast = append(n.fast, f)
		}
	}
	return n
}

// itemKind says what a dispatch queue item delivers.
type itemKind uint8

const (
	itemMessage itemKind = iota
	itemConnect
	itemAccept
	itemReset
	itemRemoteReset
	itemRefused
)

// dispatchItem is one queued delivery; release gives back the throttle
// budget the message held, once dispatched or dropped.
type dispatchItem struct {
	kind    itemKind
	c       *Conn
	m       message.Message
	release func()
}

// dispatchQueue is Ceph's DispatchQueue: connection events and messages
// in one FIFO, delivered by one goroutine. Producers are loops and must
// not block, so the queue itself is unbounded; messages are bounded before
// they get here by the dispatch throttles the connections take.
// mu guards items and stopped; wake has room for one signal.
type dispatchQueue struct {
	mu      sync.Mutex
	items   []dispatchItem
	stopped bool
	wake    chan struct{}
	done    chan struct{} // closed when run returns
}

func newDispatchQueue() *dispatchQueue {
	return &dispatchQueue{wake: make(chan struct{}, 1), done: make(chan struct{})}
}

// push queues it; false (and it is released) after stop.
func (q *dispatchQueue) push(it dispatchItem) bool {
	q.mu.Lock()
	if q.stopped {
		q.mu.Unlock()
		if it.release != nil {
			it.release()
		}
		return false
	}
	q.items = append(q.items, it)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
	return true
}

// stop makes run return after the item in hand; what is still queued is
// released undelivered (Ceph's DispatchQueue::shutdown discards too).
func (q *dispatchQueue) stop() {
	q.mu.Lock()
	q.stopped = true
	items := q.items
	q.items = nil
	q.mu.Unlock()
	for _, it := range items {
		if it.release != nil {
			it.release()
		}
	}
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// run delivers items until stop; it is the messenger's dispatch goroutine.
func (q *dispatchQueue) run(deliver func(dispatchItem)) {
	defer close(q.done)
	var batch []dispatchItem
	for {
		q.mu.Lock()
		if q.stopped {
			q.mu.Unlock()
			return
		}
		batch, q.items = q.items, batch[:0]
		q.mu.Unlock()
		if len(batch) == 0 {
			<-q.wake
			continue
		}
		for i := range batch {
			if q.isStopped() {
				for _, it := range batch[i:] {
					if it.release != nil {
						it.release()
					}
				}
				clear(batch)
				return
			}
			deliver(batch[i])
			batch[i] = dispatchItem{}
		}
	}
}

func (q *dispatchQueue) isStopped() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.stopped
}
