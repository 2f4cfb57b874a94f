package v2

import (
	"slices"

	"github.com/gomsgr/msgr/internal/fifo"
)

// prioQueue holds messages not yet framed: highest priority first, FIFO
// within a priority (ProtocolV2's out_queue map).
//
// A priority's FIFO keeps its array when it empties, and stays in the
// list (up to keptPrios of them), so that a steady flow of messages costs
// no allocation.
type prioQueue struct {
	prios []prioList // descending priority
	n     int
}

type prioList struct {
	prio uint16
	msgs fifo.Queue[*OutMessage]
}

// keptPrios is how many priorities may stay listed while empty.
const keptPrios = 8

func (q *prioQueue) push(msg *OutMessage) {
	p := msg.Header.Priority
	i, found := slices.BinarySearchFunc(q.prios, p, func(e prioList, p uint16) int { return int(p) - int(e.prio) })
	if !found {
		q.prios = slices.Insert(q.prios, i, prioList{prio: p})
	}
	q.prios[i].msgs.Push(msg)
	q.n++
}

func (q *prioQueue) pop() *OutMessage {
	if q.n == 0 {
		return nil
	}
	for i := range q.prios {
		msg, ok := q.prios[i].msgs.Pop()
		if !ok {
			continue
		}
		if q.prios[i].msgs.Len() == 0 && len(q.prios) > keptPrios {
			q.prios = slices.Delete(q.prios, i, i+1)
		}
		q.n--
		return msg
	}
	panic("msgr2: prioQueue count out of step with its lists")
}

// drain appends every queued message to all, in send order, and empties q.
func (q *prioQueue) drain(all []*OutMessage) []*OutMessage {
	for msg := q.pop(); msg != nil; msg = q.pop() {
		all = append(all, msg)
	}
	return all
}
