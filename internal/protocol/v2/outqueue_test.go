package v2

import (
	"cmp"
	"math/rand"
	"slices"
	"testing"
	"unsafe"
)

// outModel is OutQueue written plainly: one slice per list, the queue
// searched for its highest priority.
type outModel struct {
	queued, sent, requeued []*OutMessage
	seq                    uint64
}

func (o *outModel) next() *OutMessage {
	var msg *OutMessage
	if len(o.requeued) > 0 {
		msg, o.requeued = o.requeued[0], o.requeued[1:]
	} else if len(o.queued) > 0 {
		best := 0
		for i, q := range o.queued {
			if q.Header.Priority > o.queued[best].Header.Priority {
				best = i
			}
		}
		msg = o.queued[best]
		o.queued = slices.Delete(slices.Clone(o.queued), best, best+1)
	} else {
		return nil
	}
	o.seq++
	return msg
}

// ackN returns how many messages at the front of l have seqs up to seq
// (stopping at a seq of 0, as discard_requeued_up_to does).
func ackN(l []*OutMessage, seq uint64) int {
	n := 0
	for n < len(l) && l[n].Header.Seq != 0 && l[n].Header.Seq <= seq {
		n++
	}
	return n
}

// runOutQueue drives an OutQueue and the model with ops (the low 3 bits
// of a byte: the operation; the rest: its argument) and compares them
// after each: same messages in each list, same seqs, same acks.
func runOutQueue(t *testing.T, ops []byte) {
	var q OutQueue
	var o outModel
	same := func(what string, got, want []*OutMessage) {
		t.Helper()
		if !slices.Equal(got, want) {
			t.Fatalf("%s: %d messages %v, model %d %v", what, len(got), got, len(want), want)
		}
	}
	for _, b := range ops {
		switch op, arg := b&7, b>>3; op {
		case 0, 1: // a message from the messenger
			msg := &OutMessage{}
			msg.Header.Priority = uint16(arg%4) * 63
			q.Push(msg)
			o.queued = append(o.queued, msg)
		case 2, 3: // framed: lossless (Sent), lossy (dropped) or failed (Unsend)
			got, want := q.Next(), o.next()
			if got != want {
				t.Fatalf("Next %p, model %p", got, want)
			}
			if got == nil {
				break
			}
			if got.Header.Seq != o.seq || q.Seq() != o.seq {
				t.Fatalf("Next seq %d, out_seq %d; model %d", got.Header.Seq, q.Seq(), o.seq)
			}
			switch arg % 5 {
			case 3:
				// lossy: framed and forgotten
			case 4:
				q.Unsend(got)
				o.seq--
				o.requeued = append([]*OutMessage{got}, o.requeued...)
			default:
				q.Sent(got)
				o.sent = append(o.sent, got)
			}
		case 4: // ACK from the peer, up to some seq near out_seq
			seq := o.seq - min(uint64(arg%8), o.seq)
			n := ackN(o.sent, seq)
			same("Ack", q.Ack(seq, nil), o.sent[:n])
			o.sent = o.sent[n:]
		case 5: // fault
			q.Requeue()
			o.seq -= uint64(len(o.sent))
			o.requeued = append(o.sent, o.requeued...)
			o.sent = nil
		case 6: // reconnect: the peer had requeued messages up to some seq
			seq := o.seq + uint64(arg%8)
			n := ackN(o.requeued, seq)
			prefix := []*OutMessage{{}}
			same("DiscardRequeuedUpTo", q.DiscardRequeuedUpTo(seq, prefix)[1:], o.requeued[:n])
			o.requeued = o.requeued[n:]
			o.seq += uint64(n)
		case 7: // session reset (rare)
			if arg%16 != 0 {
				break
			}
			var want []*OutMessage
			want = append(want, o.sent...)
			want = append(want, o.requeued...)
			o.requeued = nil
			for m := o.next(); m != nil; m = o.next() {
				want = append(want, m)
			}
			same("DiscardAll", q.DiscardAll(nil), want)
			o = outModel{}
			q.ResetSeq(0)
		}
		same("sent", q.sent.Items(), o.sent)
		same("requeued", q.requeued, o.requeued)
		// Each visits every message held, once.
		var each []*OutMessage
		q.Each(func(m *OutMessage) { each = append(each, m) })
		held := slices.Concat(o.sent, o.requeued, o.queued)
		slices.SortFunc(each, cmpPtr)
		slices.SortFunc(held, cmpPtr)
		same("Each", each, held)
		if q.Seq() != o.seq || q.Waiting() != len(o.requeued)+len(o.queued) || q.Len() != q.Waiting()+len(o.sent) {
			t.Fatalf("out_seq %d waiting %d len %d; model %d, %d queued, %d sent, %d requeued",
				q.Seq(), q.Waiting(), q.Len(), o.seq, len(o.queued), len(o.sent), len(o.requeued))
		}
	}
}

// cmpPtr orders messages by address, to compare sets.
func cmpPtr(a, b *OutMessage) int {
	return cmp.Compare(uintptr(unsafe.Pointer(a)), uintptr(unsafe.Pointer(b)))
}

func TestOutQueue(t *testing.T) {
	for _, tc := range []struct {
		name string
		ops  []byte
	}{
		// Bytes: 0 push (8, 16, 24: higher priorities), 2 frame and
		// mark sent (26: lossy, 34: framing fails), 4 ack all (20: all
		// but the last two), 5 fault, 6 reconnect (30: the peer had
		// three requeued), 7 session reset.
		{"empty", []byte{2, 4, 5, 6, 7}},
		{"send and ack", []byte{0, 0, 0, 0, 2, 2, 2, 2, 4}},
		{"lossy", []byte{0, 0, 0, 0, 26, 26, 26, 4}},
		{"priorities", []byte{0, 8, 16, 24, 0, 24, 2, 2, 2, 2, 2, 2}},
		{"ack part", []byte{0, 0, 0, 0, 0, 0, 2, 2, 2, 2, 2, 2, 20, 4}},
		{"fault requeues", []byte{0, 0, 0, 0, 2, 2, 2, 0, 0, 5, 2, 2, 2, 2, 2, 2}},
		{"fault twice", []byte{0, 0, 0, 0, 2, 2, 2, 2, 5, 2, 2, 5, 0, 0, 2, 2, 2, 2, 4}},
		{"reconnect discards had", []byte{0, 0, 0, 0, 0, 0, 2, 2, 2, 2, 2, 2, 20, 5, 30, 0, 2, 2, 2, 2}},
		{"framing fails", []byte{0, 0, 0, 0, 2, 2, 34, 2, 2, 4}},
		{"framing fails after fault", []byte{0, 0, 0, 0, 2, 2, 2, 2, 5, 2, 34, 2, 2, 2}},
		{"reset", []byte{0, 0, 0, 0, 0, 0, 2, 2, 2, 2, 5, 7, 0, 0, 0, 2, 2}},
	} {
		t.Run(tc.name, func(t *testing.T) { runOutQueue(t, tc.ops) })
	}
	r := rand.New(rand.NewSource(1))
	ops := make([]byte, 50000)
	r.Read(ops)
	runOutQueue(t, ops)
}

// TestOutQueueSteadyNoAlloc: a lossless flow of send and ack reuses the
// sent list's array.
func TestOutQueueSteadyNoAlloc(t *testing.T) {
	var q OutQueue
	msg := &OutMessage{}
	var acked []*OutMessage
	for range 64 {
		q.Push(msg)
		q.Sent(q.Next())
	}
	acked = q.Ack(q.Seq()-32, acked[:0])
	if n := testing.AllocsPerRun(1000, func() {
		q.Push(msg)
		q.Sent(q.Next())
		acked = q.Ack(q.Seq()-32, acked[:0])
	}); n != 0 {
		t.Fatalf("%v allocations per send and ack", n)
	}
}

func FuzzOutQueue(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, 2, 2, 2, 2, 5, 6, 1, 2, 2, 4, 7, 0})
	f.Fuzz(runOutQueue)
}
