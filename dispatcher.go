package msgr

import (
	"sync"
	"sync/atomic"

	"github.com/gomsgr/msgr/message"
)

// Dispatcher receives messages (Ceph's Dispatcher::ms_dispatch). Dispatch
// runs off the event loops on the messenger's dispatch goroutine, one call
// at a time, messages of one connection in arrival order. It returns
// whether it handled the message; an unhandled message goes to the next
// dispatcher, and is dropped (logged) after the last.
//
// Dispatch may Send. It should not wait for room (SendContext) toward a
// peer whose dispatcher may wait for room toward us: once both dispatch
// throttles are full neither side reads its socket, so neither sees the
// acknowledgements that would free the room (Ceph has the same cycle).
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
// in one FIFO, delivered by one goroutine at a time. Producers are loops
// and must not block, so the queue itself is unbounded; messages are
// bounded before they get here by the dispatch throttles the connections
// take. The delivering goroutine runs only while there is work (an idle
// messenger costs no goroutine): push starts one, and it exits when the
// queue is empty. mu guards items, running, started and stopped.
type dispatchQueue struct {
	deliver func(dispatchItem)
	mu      sync.Mutex
	items   []dispatchItem
	spare   []dispatchItem
	running bool // a goroutine is delivering
	started bool // delivery may begin (Messenger.Start)
	stopped bool
	gid     atomic.Uint64 // the delivering goroutine's id, 0 when none
	wg      sync.WaitGroup
}

func newDispatchQueue(deliver func(dispatchItem)) *dispatchQueue {
	return &dispatchQueue{deliver: deliver}
}

// spawnLocked starts a delivering goroutine if there is work and none runs.
func (q *dispatchQueue) spawnLocked() {
	if q.started && !q.stopped && !q.running && len(q.items) > 0 {
		q.running = true
		q.wg.Add(1)
		go q.run()
	}
}

// start allows delivery.
func (q *dispatchQueue) start() {
	q.mu.Lock()
	q.started = true
	q.spawnLocked()
	q.mu.Unlock()
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
	q.spawnLocked()
	q.mu.Unlock()
	return true
}

// stop ends delivery after the item in hand; what is still queued is
// released undelivered (Ceph's DispatchQueue::shutdown discards too). It
// waits for the delivering goroutine unless called from it.
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
	if !q.inDelivery() {
		q.wg.Wait()
	}
}

// inDelivery reports whether the caller is the delivering goroutine.
func (q *dispatchQueue) inDelivery() bool {
	g := q.gid.Load()
	return g != 0 && g == curGoroutineID()
}

func (q *dispatchQueue) run() {
	defer q.wg.Done()
	q.gid.Store(curGoroutineID())
	for {
		q.mu.Lock()
		if q.stopped || len(q.items) == 0 {
			q.gid.Store(0)
			q.running = false
			q.mu.Unlock()
			return
		}
		batch := q.items
		q.items = q.spare[:0]
		q.mu.Unlock()
		for i := range batch {
			if i > 0 && q.isStopped() {
				for _, it := range batch[i:] {
					if it.release != nil {
						it.release()
					}
				}
				break
			}
			q.deliver(batch[i])
		}
		clear(batch)
		q.mu.Lock()
		q.spare = batch[:0]
		q.mu.Unlock()
	}
}

func (q *dispatchQueue) isStopped() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.stopped
}
