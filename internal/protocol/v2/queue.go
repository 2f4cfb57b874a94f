package v2

import "slices"

// outQueue holds messages not yet framed: highest priority first, FIFO
// within a priority (ProtocolV2's out_queue map).
type outQueue struct {
	prios []uint16 // descending
	lists map[uint16][]*OutMessage
	n     int
}

func (q *outQueue) push(msg *OutMessage) {
	p := msg.Header.Priority
	if q.lists == nil {
		q.lists = make(map[uint16][]*OutMessage)
	}
	l, ok := q.lists[p]
	if !ok {
		i, _ := slices.BinarySearchFunc(q.prios, p, func(a, b uint16) int { return int(b) - int(a) })
		q.prios = slices.Insert(q.prios, i, p)
	}
	q.lists[p] = append(l, msg)
	q.n++
}

func (q *outQueue) pop() *OutMessage {
	if q.n == 0 {
		return nil
	}
	p := q.prios[0]
	l := q.lists[p]
	msg := l[0]
	l[0] = nil
	if len(l) == 1 {
		delete(q.lists, p)
		q.prios = q.prios[1:]
	} else {
		q.lists[p] = l[1:]
	}
	q.n--
	return msg
}

// drain appends every queued message to all, in send order, and empties q.
func (q *outQueue) drain(all []*OutMessage) []*OutMessage {
	for msg := q.pop(); msg != nil; msg = q.pop() {
		all = append(all, msg)
	}
	return all
}
