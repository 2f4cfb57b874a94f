package v2

import (
	"math/rand"
	"testing"
)

// TestAckedListsOfOneEvent checks that two Acked lists of one event are
// apart: the first cannot grow into the second.
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
	m.handleAck(5)
	acts := m.end()
	if len(acts) != 2 {
		t.Fatalf("%d actions", len(acts))
	}
	a, b := acts[0].(Acked).Msgs, acts[1].(Acked).Msgs
	if len(a) != 2 || a[0] != msgs[0] || a[1] != msgs[1] || len(b) != 3 || b[0] != msgs[2] || b[2] != msgs[4] {
		t.Fatalf("acked %v %v", a, b)
	}
	if cap(a) != 2 {
		t.Fatalf("first Acked list can grow into the second: cap %d", cap(a))
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
