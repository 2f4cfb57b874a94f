package v2

// Ready is what one Machine call hands out, etcd raft's shape: the frames
// to write, the messages delivered and the messages acked, each in order in
// a typed list, and the rare rest as Events in order. Only the order
// between an Event and the lists matters (the three lists are
// independent): each Event carries the lists' lengths when it happened,
// so a consumer carries out Bufs[:e.NBufs], Delivered[:e.NDelivered] and
// Acked[:e.NAcked] (from where the previous Event left off) before e,
// and the tails after the last Event:
//   - Bufs before a CloseSocket belong to the old socket; those after it
//     to the next socket the connection gets (after Dial, or an adopted
//     socket);
//   - Delivered before a Reset belong to the session it drops;
//   - an Established comes before the session's first Delivered.
//
// The Ready and its lists belong to the Machine and are valid only until
// the next call of any Machine method: copy a list (not what it lists) to
// keep it. The byte buffers in Bufs are never modified afterwards (they
// may alias an OutMessage's Data) and live on; Delivered messages are the
// receiver's; Acked messages are the caller's again.
type Ready struct {
	// Bufs: append these buffers to the socket's output, in order.
	Bufs [][]byte
	// Delivered: messages that arrived, in sequence; dispatch them.
	Delivered []*InMessage
	// Acked: the peer acknowledged these messages; they left the queue.
	// On a lossy connection Ceph keeps no sent list: messages are
	// reported Acked as soon as they are framed.
	Acked []*OutMessage
	// Events: the rest, in order.
	Events []Event
	// AckDue: after this call, messages received on a lossless session
	// are owed an ack that no frame has carried yet. Call WriteAck once
	// the Delivered messages are dispatched, unless a later Ready says
	// false (a reply sent meanwhile carried the ack), as Ceph's
	// handle_message queues its write event.
	AckDue bool
}

// Event is an Action with the lengths of Ready's lists when it happened.
type Event struct {
	Action
	NBufs, NDelivered, NAcked int
}

// Walk hands r to f in order: for each Event, the lists' items since the
// previous Event and the Event's Action; then the lists' tails with a nil
// Action. Each piece is capped, so that an append to one never runs into
// the next. f must not call the Machine, whose next call reuses the lists,
// before the Walk is over; except at a Lookup, which nothing follows.
func (r *Ready) Walk(f func(bufs [][]byte, delivered []*InMessage, acked []*OutMessage, a Action)) {
	rd := *r
	b, d, k := 0, 0, 0
	for i := range rd.Events {
		e := rd.Events[i]
		f(rd.Bufs[b:e.NBufs:e.NBufs], rd.Delivered[d:e.NDelivered:e.NDelivered], rd.Acked[k:e.NAcked:e.NAcked], e.Action)
		b, d, k = e.NBufs, e.NDelivered, e.NAcked
	}
	nb, nd, nk := len(rd.Bufs), len(rd.Delivered), len(rd.Acked)
	f(rd.Bufs[b:nb:nb], rd.Delivered[d:nd:nd], rd.Acked[k:nk:nk], nil)
}

// The rest is for the Machines that build a Ready (this package's and
// msgr1's): they append to its lists and Emit events as they go.

// maxKeptList bounds each list a Ready keeps from one call to the next.
const maxKeptList = 1024

// Reset empties r for the next call: the previous Ready is consumed by
// now. The lists keep their arrays (cleared, so as not to pin buffers and
// messages) unless they grew large.
func (r *Ready) Reset() {
	r.Bufs = resetList(r.Bufs)
	r.Delivered = resetList(r.Delivered)
	r.Acked = resetList(r.Acked)
	r.Events = resetList(r.Events)
	r.AckDue = false
}

func resetList[T any](l []T) []T {
	if cap(l) > maxKeptList {
		return nil
	}
	clear(l)
	return l[:0]
}

// Emit adds an event after the frames, deliveries and acks so far.
func (r *Ready) Emit(a Action) {
	r.Events = append(r.Events, Event{Action: a, NBufs: len(r.Bufs), NDelivered: len(r.Delivered), NAcked: len(r.Acked)})
}

// DropPendingBufs drops the frames queued since the last event: a Machine
// whose socket went away without a CloseSocket (it had none) drops the
// frames that were for it.
func (r *Ready) DropPendingBufs() {
	k := 0
	if n := len(r.Events); n > 0 {
		k = r.Events[n-1].NBufs
	}
	clear(r.Bufs[k:])
	r.Bufs = r.Bufs[:k]
}
