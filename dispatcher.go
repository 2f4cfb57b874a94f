package msgr

import "github.com/gomsgr/msgr/message"

// Dispatcher receives messages (Ceph's Dispatcher::ms_dispatch). Dispatch
// runs off the event loops on the messenger's dispatch goroutine, one call
// at a time. The queue is Ceph's DispatchQueue: higher message priority
// (header priority, message.PrioDefault unless the sender's Encode set
// another) first, arrival order within a priority, so messages of one
// connection keep their order unless a higher-priority one overtakes
// them. Connection events are queued at message.PrioHighest. When a
// connection closes (a lossy fault, MarkDown, replaced) or its session is
// reset (the peer lost it), the messages it received and did not yet
// dispatch are dropped, their budget returned, as Ceph's
// AsyncConnection::_stop and ProtocolV2::reset_session do. It
// returns whether it handled the message; an unhandled message goes to
// the next dispatcher, and is dropped (logged) after the last.
//
// Dispatch may Send. It should not wait for room (SendContext) toward a
// peer whose dispatcher may wait for room toward us: once both dispatch
// throttles are full neither side reads its socket, so neither sees the
// acknowledgements that would free the room (Ceph has the same cycle).
// Nor toward a peer that keeps sending to us, even one whose dispatcher
// never waits: once our dispatch throttle is full we stop reading it, and
// its acknowledgements queue behind its own messages on the socket.
//
// A Dispatcher may also implement any of the interfaces below; the
// messenger checks once, when the dispatcher is added.
type Dispatcher interface {
	Dispatch(c *Conn, m message.Message) bool
}

// HeaderDispatcher is a Dispatcher that also wants the received message's
// header (seq, tid, priority, src, version, segment lengths): the
// messenger calls DispatchHeader instead of Dispatch. A message sent on the
// local connection has no wire header: it gets message.NewHeader's (type,
// versions, PrioDefault) with Src our name and Seq 0.
type HeaderDispatcher interface {
	Dispatcher
	DispatchHeader(c *Conn, h message.Header, m message.Message) bool
}

// FastDispatcher handles messages on the connection's event loop, with no
// goroutine hand-off (ms_can_fast_dispatch / ms_fast_dispatch). FastDispatch
// must not block: it stalls every connection of that loop.
type FastDispatcher interface {
	CanFastDispatch(m message.Message) bool
	FastDispatch(c *Conn, m message.Message)
}

// FastHeaderDispatcher is a FastDispatcher that also wants the received
// message's header (see HeaderDispatcher): the messenger calls
// FastDispatchHeader instead of FastDispatch.
type FastHeaderDispatcher interface {
	FastDispatcher
	FastDispatchHeader(c *Conn, h message.Header, m message.Message)
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
	hdr  []HeaderDispatcher // hdr[i] is all[i] as a HeaderDispatcher, or nil
	fast []FastDispatcher
	// fastHdr[i] is fast[i] as a FastHeaderDispatcher, or nil.
	fastHdr []FastHeaderDispatcher
}

// fastDispatch offers m to the fast dispatchers; false if none took it.
func (d *dispatchers) fastDispatch(c *Conn, h *message.Header, m message.Message) bool {
	for i, f := range d.fast {
		if !f.CanFastDispatch(m) {
			continue
		}
		if fh := d.fastHdr[i]; fh != nil {
			fh.FastDispatchHeader(c, *h, m)
		} else {
			f.FastDispatch(c, m)
		}
		return true
	}
	return false
}

// deliver offers a queued item to the chain in order; true when a
// dispatcher took it (for the kinds a dispatcher can take).
func (d *dispatchers) deliver(it dispatchItem) bool {
	c := it.c
	switch it.kind {
	case itemMessage:
		// Local messages reach fast dispatchers from here.
		if d.fastDispatch(c, &it.h, it.m) {
			return true
		}
		for i, x := range d.all {
			if h := d.hdr[i]; h != nil {
				if h.DispatchHeader(c, it.h, it.m) {
					return true
				}
			} else if x.Dispatch(c, it.m) {
				return true
			}
		}
		return false
	case itemConnect:
		return offer(d, func(h ConnectHandler) bool { h.HandleConnect(c); return false })
	case itemAccept:
		return offer(d, func(h AcceptHandler) bool { h.HandleAccept(c); return false })
	case itemReset:
		return offer(d, func(h ResetHandler) bool { return h.HandleReset(c) })
	case itemRemoteReset:
		return offer(d, func(h RemoteResetHandler) bool { h.HandleRemoteReset(c); return false })
	case itemRefused:
		return offer(d, func(h RefusedHandler) bool { return h.HandleRefused(c) })
	}
	return false
}

// offer calls f on each dispatcher that implements H, in chain order,
// until f reports the event taken.
func offer[H any](d *dispatchers, f func(H) bool) bool {
	for _, x := range d.all {
		if h, ok := x.(H); ok && f(h) {
			return true
		}
	}
	return false
}

func (d *dispatchers) with(x Dispatcher, head bool) *dispatchers {
	n := &dispatchers{}
	if head {
		n.all = append([]Dispatcher{x}, d.all...)
	} else {
		n.all = append(append([]Dispatcher(nil), d.all...), x)
	}
	n.hdr = make([]HeaderDispatcher, len(n.all))
	for i, y := range n.all {
		n.hdr[i], _ = y.(HeaderDispatcher)
		if f, ok := y.(FastDispatcher); ok {
			n.fast = append(n.fast, f)
			fh, _ := y.(FastHeaderDispatcher)
			n.fastHdr = append(n.fastHdr, fh)
		}
	}
	return n
}
