package msgr

import (
	"sync"
	"sync/atomic"

	"github.com/gomsgr/msgr/internal/fifo"
	"github.com/gomsgr/msgr/internal/goid"
	"github.com/gomsgr/msgr/message"
)

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

// dispatchItem is one queued delivery; rel and release (either, both or
// neither) give back the throttle budget the message held, once
// dispatched or dropped: done runs them. h is the message's header (zero
// for events).
type dispatchItem struct {
	kind    itemKind
	c       *Conn
	m       message.Message
	h       message.Header
	rel     inRelease
	release func()
}

// done gives back what the item holds.
func (it *dispatchItem) done() {
	it.rel.release()
	if it.release != nil {
		it.release()
	}
}

// priority is where the item goes in the queue: connection events at
// CEPH_MSG_PRIO_HIGHEST, as DispatchQueue::queue_connect and friends do.
func (it *dispatchItem) priority() uint16 {
	if it.kind != itemMessage {
		return message.PrioHighest
	}
	return it.h.Priority
}

// prioLevel holds the queued items of one priority; guarded by its
// queue's mu.
type prioLevel struct {
	prio  uint16
	items fifo.Queue[dispatchItem]
}

// dispatchQueue is Ceph's DispatchQueue: connection events and messages,
// highest priority first and FIFO within a priority, delivered by one
// goroutine at a time. Ceph serves priorities under CEPH_MSG_PRIO_LOW by
// weighted round robin after the rest; here every priority is strict.
//
// Producers are loops and must not block, so the queue itself is
// unbounded; messages are bounded before they get here by the dispatch
// throttles the connections take. The delivering goroutine runs only
// while there is work (an idle messenger costs no goroutine): push starts
// one, and it exits when the queue is empty. mu guards every field but
// deliver, gid and wg.
type dispatchQueue struct {
	deliver func(dispatchItem)
	mu      sync.Mutex
	levels  []*prioLevel // non-empty levels, highest priority first
	free    []*prioLevel // emptied levels kept for their backing arrays
	n       int          // items queued
	// perConn counts the queued messages of each connection, so that a
	// closing connection with none (the usual case) costs no scan.
	perConn map[*Conn]int
	running bool // a goroutine is delivering
	started bool // delivery may begin (Messenger.Start)
	stopped bool
	gid     atomic.Uintptr // the delivering goroutine's id, 0 when none
	wg      sync.WaitGroup
	// pushed, when set (tests), hears every item queued, under mu: it
	// must not call back into the queue.
	pushed func(dispatchItem)
}

func newDispatchQueue(deliver func(dispatchItem)) *dispatchQueue {
	return &dispatchQueue{deliver: deliver, perConn: map[*Conn]int{}}
}

// spawnLocked starts a delivering goroutine if there is work and none runs.
func (q *dispatchQueue) spawnLocked() {
	if q.started && !q.stopped && !q.running && q.n > 0 {
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
		it.done()
		return false
	}
	q.levelLocked(it.priority()).items.Push(it)
	q.n++
	if it.kind == itemMessage {
		q.perConn[it.c]++
	}
	if q.pushed != nil {
		q.pushed(it)
	}
	q.spawnLocked()
	q.mu.Unlock()
	return true
}

// levelLocked returns the level of priority p, making it if needed. There
// are few distinct priorities, so a linear scan beats a heap.
func (q *dispatchQueue) levelLocked(p uint16) *prioLevel {
	i := 0
	for ; i < len(q.levels); i++ {
		if l := q.levels[i]; l.prio == p {
			return l
		} else if l.prio < p {
			break
		}
	}
	var l *prioLevel
	if k := len(q.free); k > 0 {
		l = q.free[k-1]
		q.free[k-1] = nil
		q.free = q.free[:k-1]
	} else {
		l = &prioLevel{}
	}
	l.prio = p
	q.levels = append(q.levels, nil)
	copy(q.levels[i+1:], q.levels[i:])
	q.levels[i] = l
	return l
}

// popLocked takes the next item; the queue must not be empty.
func (q *dispatchQueue) popLocked() dispatchItem {
	l := q.levels[0]
	it, _ := l.items.Pop()
	if l.items.Len() == 0 {
		q.dropLevelLocked(0)
	}
	q.n--
	if it.kind == itemMessage {
		q.uncountLocked(it.c)
	}
	return it
}

// dropLevelLocked removes the (emptied) level at index i.
func (q *dispatchQueue) dropLevelLocked(i int) {
	l := q.levels[i]
	l.items.Clear()
	copy(q.levels[i:], q.levels[i+1:])
	q.levels[len(q.levels)-1] = nil
	q.levels = q.levels[:len(q.levels)-1]
	q.free = append(q.free, l)
}

func (q *dispatchQueue) uncountLocked(c *Conn) {
	if n := q.perConn[c] - 1; n > 0 {
		q.perConn[c] = n
	} else {
		delete(q.perConn, c)
	}
}

// discard drops c's queued messages and returns their budgets (Ceph's
// DispatchQueue::discard_queue); c's events stay. The message being
// delivered, if c's, is not affected. It returns how many it dropped.
func (q *dispatchQueue) discard(c *Conn) int {
	q.mu.Lock()
	if q.perConn[c] == 0 {
		q.mu.Unlock()
		return 0
	}
	var dropped []dispatchItem
	for i := 0; i < len(q.levels); {
		l := q.levels[i]
		l.items.Filter(func(it dispatchItem) bool {
			if it.kind == itemMessage && it.c == c {
				dropped = append(dropped, it)
				return false
			}
			return true
		})
		if l.items.Len() == 0 {
			q.dropLevelLocked(i)
			continue
		}
		i++
	}
	q.n -= len(dropped)
	delete(q.perConn, c)
	q.mu.Unlock()
	for _, it := range dropped {
		it.done()
	}
	return len(dropped)
}

// stop ends delivery after the item in hand; what is still queued is
// released undelivered (Ceph's DispatchQueue::shutdown discards too). It
// waits for the delivering goroutine unless called from it.
func (q *dispatchQueue) stop() {
	q.mu.Lock()
	q.stopped = true
	var items []dispatchItem
	for _, l := range q.levels {
		items = append(items, l.items.Items()...)
	}
	q.levels, q.free, q.n = nil, nil, 0
	clear(q.perConn)
	q.mu.Unlock()
	for _, it := range items {
		it.done()
	}
	if !q.inDelivery() {
		q.wg.Wait()
	}
}

// inDelivery reports whether the caller is the delivering goroutine.
func (q *dispatchQueue) inDelivery() bool {
	g := q.gid.Load()
	return g != 0 && g == goid.Current()
}

// run delivers one item at a time, taking each under mu, so that a
// higher-priority item pushed meanwhile goes next and a discard reaches
// everything not yet in hand.
func (q *dispatchQueue) run() {
	defer q.wg.Done()
	q.gid.Store(goid.Current())
	for {
		q.mu.Lock()
		if q.stopped || q.n == 0 {
			q.gid.Store(0)
			q.running = false
			q.mu.Unlock()
			return
		}
		it := q.popLocked()
		q.mu.Unlock()
		q.deliver(it)
	}
}
