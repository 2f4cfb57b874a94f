package v2

import (
	"slices"

	"github.com/gomsgr/msgr/internal/fifo"
)

// OutQueue is a session's outbound messages and out_seq, as ProtocolV1 and
// ProtocolV2 keep them (out_queue, sent, out_seq): messages queued by
// priority, messages framed and waiting for the peer's ack (lossless
// sessions), and messages requeued after a fault, which go out again first
// with the seqs they had. Both protocols' Machines keep one; it is used
// from the Machine's goroutine only.
type OutQueue struct {
	queue    prioQueue
	sent     fifo.Queue[*OutMessage] // framed, not acked, in seq order
	requeued []*OutMessage           // sent before a fault, in seq order
	seq      uint64                  // out_seq: the seq last given out
}

// Push queues msg under its Header.Priority.
func (q *OutQueue) Push(msg *OutMessage) { q.queue.push(msg) }

// Next returns the next message to frame, requeued ones first, and gives
// it its seq (Header.Seq); nil when nothing waits. The caller frames it,
// then calls Sent (lossless) or drops it (lossy), or Unsend if framing
// failed.
func (q *OutQueue) Next() *OutMessage {
	var msg *OutMessage
	if len(q.requeued) > 0 {
		msg = q.requeued[0]
		q.requeued[0] = nil
		q.requeued = q.requeued[1:]
	} else if msg = q.queue.pop(); msg == nil {
		return nil
	}
	q.seq++
	msg.Header.Seq = q.seq
	return msg
}

// Unsend puts back msg, the last Next, which could not be framed: it is
// the next again, and out_seq steps back.
func (q *OutQueue) Unsend(msg *OutMessage) {
	q.seq--
	q.requeued = slices.Insert(q.requeued, 0, msg)
}

// Sent records msg, framed on a lossless session, as waiting for an ack.
func (q *OutQueue) Sent(msg *OutMessage) { q.sent.Push(msg) }

// Ack is handle_message_ack: the peer has every message up to seq. The
// sent messages it acknowledges are appended to dst.
func (q *OutQueue) Ack(seq uint64, dst []*OutMessage) []*OutMessage {
	for p := q.sent.Peek(); p != nil && (*p).Header.Seq <= seq; p = q.sent.Peek() {
		msg, _ := q.sent.Pop()
		dst = append(dst, msg)
	}
	return dst
}

// Requeue is requeue_sent: after a fault the sent messages go back ahead
// of everything else, keeping their seqs, and out_seq steps back so that
// they get them again.
func (q *OutQueue) Requeue() {
	n := q.sent.Len()
	if n == 0 {
		return
	}
	q.seq -= uint64(n)
	q.requeued = slices.Concat(q.sent.Items(), q.requeued)
	q.sent.Clear()
}

// DiscardRequeuedUpTo is discard_requeued_up_to: the peer of a resumed
// session already has the requeued messages up to seq. They are appended
// to dst, and out_seq moves past them.
func (q *OutQueue) DiscardRequeuedUpTo(seq uint64, dst []*OutMessage) []*OutMessage {
	n := 0
	for n < len(q.requeued) {
		s := q.requeued[n].Header.Seq
		if s == 0 || s > seq {
			break
		}
		n++
	}
	if n == 0 {
		return dst
	}
	dst = append(dst, q.requeued[:n]...)
	clear(q.requeued[:n])
	q.requeued = q.requeued[n:]
	q.seq += uint64(n)
	return dst
}

// DiscardAll empties the queue (discard_out_queue): every message, sent,
// requeued or queued, is appended to dst in send order. out_seq stays.
func (q *OutQueue) DiscardAll(dst []*OutMessage) []*OutMessage {
	dst = append(dst, q.sent.Items()...)
	dst = append(dst, q.requeued...)
	dst = q.queue.drain(dst)
	q.sent.Clear()
	q.requeued = nil
	return dst
}

// Waiting returns how many messages wait to be framed (requeued or
// queued); sent ones do not count.
func (q *OutQueue) Waiting() int { return len(q.requeued) + q.queue.n }

// Len returns how many messages are queued, or sent and not acked.
func (q *OutQueue) Len() int { return q.sent.Len() + q.Waiting() }

// Seq returns out_seq.
func (q *OutQueue) Seq() uint64 { return q.seq }

// ResetSeq sets out_seq when a session starts over (0, or msgr1's random
// start under MSG_AUTH).
func (q *OutQueue) ResetSeq(seq uint64) { q.seq = seq }

// Each calls f with every message the queue holds (sent, requeued,
// queued), for a driver that must replace a payload's memory with a copy
// of the same bytes (msgr's Conn.DetachData); f must not change the
// queue.
func (q *OutQueue) Each(f func(*OutMessage)) {
	for _, msg := range q.sent.Items() {
		f(msg)
	}
	for _, msg := range q.requeued {
		f(msg)
	}
	for i := range q.queue.prios {
		for _, msg := range q.queue.prios[i].msgs.Items() {
			f(msg)
		}
	}
}
