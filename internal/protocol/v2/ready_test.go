package v2

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/gomsgr/msgr/internal/wire"
	"github.com/gomsgr/msgr/message"
)

// TestReadyWalk builds Readys as a Machine does and checks the order Walk
// hands them out in: each Event after the list items that came before it.
func TestReadyWalk(t *testing.T) {
	buf := func(i int) []byte { return []byte{byte(i)} }
	in := func(i int) *InMessage { return &InMessage{Payload: message.Payload{Front: buf(i)}} }
	out := func(i int) *OutMessage { return &OutMessage{Payload: message.Payload{Front: buf(i)}} }
	for _, tc := range []struct {
		name  string
		build func(r *Ready)
		want  []string
	}{
		{"empty", func(*Ready) {}, []string{"|"}},
		{"lists only", func(r *Ready) {
			r.Bufs = append(r.Bufs, buf(1), buf(2))
			r.Delivered = append(r.Delivered, in(3))
			r.Acked = append(r.Acked, out(4))
		}, []string{"b1 b2 d3 a4|"}},
		{"event first", func(r *Ready) {
			r.Emit(Dial{})
			r.Bufs = append(r.Bufs, buf(1))
		}, []string{"|Dial", "b1|"}},
		{"close between frames", func(r *Ready) {
			r.Bufs = append(r.Bufs, buf(1))
			r.Emit(CloseSocket{})
			r.Emit(Dial{})
			r.Bufs = append(r.Bufs, buf(2))
		}, []string{"b1|CloseSocket", "|Dial", "b2|"}},
		{"established before delivery, reset after", func(r *Ready) {
			r.Emit(Established{})
			r.Delivered = append(r.Delivered, in(1), in(2))
			r.Acked = append(r.Acked, out(3))
			r.Emit(Reset{})
			r.Acked = append(r.Acked, out(4))
		}, []string{"|Established", "d1 d2 a3|Reset", "a4|"}},
		{"pending frames dropped", func(r *Ready) {
			r.Bufs = append(r.Bufs, buf(1))
			r.Emit(StopTimer{})
			r.Bufs = append(r.Bufs, buf(2), buf(3))
			r.DropPendingBufs()
			r.Delivered = append(r.Delivered, in(4))
		}, []string{"b1|StopTimer", "d4|"}},
		{"dropped with no event", func(r *Ready) {
			r.Bufs = append(r.Bufs, buf(1))
			r.DropPendingBufs()
		}, []string{"|"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r Ready
			// A used Ready first: Reset must leave nothing behind.
			r.Bufs = append(r.Bufs, buf(9))
			r.Emit(Closed{})
			r.Reset()
			tc.build(&r)
			var got []string
			r.Walk(func(bufs [][]byte, delivered []*InMessage, acked []*OutMessage, a Action) {
				var s string
				for _, b := range bufs {
					s += fmt.Sprintf("b%d ", b[0])
				}
				for _, m := range delivered {
					s += fmt.Sprintf("d%d ", m.Payload.Front[0])
				}
				for _, m := range acked {
					s += fmt.Sprintf("a%d ", m.Payload.Front[0])
				}
				if len(s) > 0 {
					s = s[:len(s)-1]
				}
				s += "|"
				if a != nil {
					s += fmt.Sprintf("%T", a)[len("v2."):]
				}
				if cap(bufs) != len(bufs) || cap(delivered) != len(delivered) || cap(acked) != len(acked) {
					t.Errorf("piece %q not capped", s)
				}
				got = append(got, s)
			})
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("walk %q, want %q", got, tc.want)
			}
		})
	}
}

// TestReadyResetDropsLargeLists: a list that grew past maxKeptList is not
// kept for the next call.
func TestReadyResetDropsLargeLists(t *testing.T) {
	var r Ready
	r.Bufs = make([][]byte, maxKeptList+1)
	r.Acked = make([]*OutMessage, 1, 8)
	r.Acked[0] = &OutMessage{}
	r.Reset()
	if r.Bufs != nil || len(r.Acked) != 0 || cap(r.Acked) != 8 || r.Acked[:1][0] != nil {
		t.Fatalf("after Reset: bufs cap %d, acked %v (cap %d)", cap(r.Bufs), r.Acked[:1], cap(r.Acked))
	}
}

// TestReadySteadyNoAlloc: an open session's steady state hands its output
// out without allocating: a lossless message framed (Send), its ACK taken
// (Received), and a lossy message framed and reported Acked at once.
func TestReadySteadyNoAlloc(t *testing.T) {
	for _, pp := range [][2]Policy{{losslessClient, statefulServer}, {lossyClient, statelessServer}} {
		pol := pp[0]
		n, cl, srv := pair(t, 1, pol, pp[1])
		c := cl.connect(srv, nil)
		n.settle()
		if c.m.State() != StateReady {
			t.Fatalf("state %v", c.m.State())
		}
		m := &OutMessage{Header: message.Header{Type: 1, Priority: message.PrioDefault}, Payload: message.Payload{Data: make([]byte, 4096)}}
		// The server's ACKs of the next seqs, encoded beforehand.
		var acks [][]byte
		for i := range uint64(1100) {
			f, err := wire.NewEncoder().AppendControl(nil, &wire.Ack{Seq: c.m.outq.Seq() + i + 1})
			if err != nil {
				t.Fatal(err)
			}
			acks = append(acks, f)
		}
		allocs := testing.AllocsPerRun(1000, func() {
			r := c.m.Send(n.now, m)
			if len(r.Bufs) == 0 || len(r.Events) != 0 {
				t.Fatalf("send: %d bufs, events %v", len(r.Bufs), r.Events)
			}
			if pol.Lossy {
				if len(r.Acked) != 1 {
					t.Fatalf("lossy send: acked %d", len(r.Acked))
				}
				return
			}
			f := acks[0]
			acks = acks[1:]
			if r := c.m.Received(n.now, f); len(r.Acked) != 1 || len(r.Events) != 0 {
				t.Fatalf("ack: acked %d, events %v", len(r.Acked), r.Events)
			}
		})
		if allocs != 0 {
			t.Errorf("lossy %v: %.1f allocations per message", pol.Lossy, allocs)
		}
	}
}
