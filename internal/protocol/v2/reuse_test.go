package v2

import (
	"math/rand"
	"testing"
)

// TestAckedListsOfOneEvent checks an event's acks in its Ready: one list
// in order, cut by the Events between them, and the Walk's pieces apart
// (the first cannot grow into the second).
func TestAckedListsOfOneEvent(t *testing.T) {
	m := &Machine{}
	var msgs []*OutMessage
	for i := 1; i <= 5; i++ {
		msg := &OutMessage{}
		msg.Header.Seq = uint64(i)
		msgs = append(msgs, msg)
		m.outq.Sent(msg)
	}
	m.begin()
	m.handleAck(2)
	m.rd.Emit(StopTimer{Timer: TimerIdle})
	m.handleAck(5)
	r := m.end()
	if len(r.Acked) != 5 || len(r.Events) != 1 || r.Events[0].NAcked != 2 {
		t.Fatalf("acked %v events %+v", r.Acked, r.Events)
	}
	for i, msg := range r.Acked {
		if msg != msgs[i] {
			t.Fatalf("acked[%d] seq %d", i, msg.Header.Seq)
		}
	}
	var pieces [][]*OutMessage
	r.Walk(func(_ [][]byte, _ []*InMessage, ack []*OutMessage, _ Action) { pieces = append(pieces, ack) })
	if len(pieces) != 2 || len(pieces[0]) != 2 || len(pieces[1]) != 3 || pieces[1][0] != msgs[2] {
		t.Fatalf("pieces %v", pieces)
	}
	if cap(pieces[0]) != 2 {
		t.Fatalf("first Acked piece can grow into the second: cap %d", cap(pieces[0]))
	}
}

// TestPrioQueueModel checks prioQueue against a plain model: highest
// priority first, FIFO within one, with many priorities coming and going.
func TestPrioQueueModel(t *testing.T) {
	r := rand.New(rand.NewSource(2))
	var q prioQueue
	model := map[uint16][]*OutMessage{}
	n := 0
	for step := 0; step < 50000; step++ {
		if r.Intn(2) == 0 {
			msg := &OutMessage{}
			msg.Header.Priority = uint16(r.Intn(20) * 13)
			msg.Header.Seq = uint64(step)
			q.push(msg)
			model[msg.Header.Priority] = append(model[msg.Header.Priority], msg)
			n++
		} else {
			got := q.pop()
			var want *OutMessage
			best := -1
			for p, l := range model {
				if len(l) > 0 && int(p) > best {
					best = int(p)
				}
			}
			if best >= 0 {
				want = model[uint16(best)][0]
				model[uint16(best)] = model[uint16(best)][1:]
				n--
			}
			if got != want {
				t.Fatalf("step %d: popped %v, want %v", step, got, want)
			}
		}
		if q.n != n {
			t.Fatalf("step %d: n %d, want %d", step, q.n, n)
		}
	}
	all := q.drain(nil)
	if len(all) != n {
		t.Fatalf("drained %d, want %d", len(all), n)
	}
}
