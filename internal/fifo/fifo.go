// Package fifo is the queue the loops use everywhere: a slice read from a
// head index, whose array is kept when it empties and compacted instead
// of grown when the popped prefix is at least half of it, so that a steady
// flow costs no allocation. Not safe for concurrent use: each owner states
// what guards it.
package fifo

// Queue is a FIFO of T. The zero value is an empty queue.
type Queue[T any] struct {
	buf  []T
	head int // buf[:head] are popped (zeroed)
}

// Len returns how many items are queued.
func (q *Queue[T]) Len() int { return len(q.buf) - q.head }

// Push adds v at the tail.
func (q *Queue[T]) Push(v T) {
	if len(q.buf) == cap(q.buf) && q.head > 0 && 2*q.head >= len(q.buf) {
		// Move the live part back to the array's start rather than grow.
		n := copy(q.buf, q.buf[q.head:])
		clear(q.buf[n:])
		q.buf, q.head = q.buf[:n], 0
	}
	q.buf = append(q.buf, v)
}

// Pop removes and returns the head; ok is false when q is empty. The slot
// is zeroed so the queue keeps no reference to what it gave out.
func (q *Queue[T]) Pop() (v T, ok bool) {
	if q.head == len(q.buf) {
		return v, false
	}
	v = q.buf[q.head]
	var zero T
	q.buf[q.head] = zero
	q.head++
	if q.head == len(q.buf) {
		q.buf, q.head = q.buf[:0], 0
	}
	return v, true
}

// Peek returns the head without removing it; nil when q is empty. The
// pointer is valid until the next Push, Pop, Filter or Clear.
func (q *Queue[T]) Peek() *T {
	if q.head == len(q.buf) {
		return nil
	}
	return &q.buf[q.head]
}

// Items returns the queued items in order, aliasing q's array: valid
// until the next Push, Pop, Filter or Clear, and not to be modified.
func (q *Queue[T]) Items() []T { return q.buf[q.head:] }

// Filter keeps, in order, the items for which keep returns true and
// returns how many it removed.
func (q *Queue[T]) Filter(keep func(T) bool) int {
	kept := q.buf[:q.head]
	for _, v := range q.buf[q.head:] {
		if keep(v) {
			kept = append(kept, v)
		}
	}
	removed := len(q.buf) - len(kept)
	clear(q.buf[len(kept):])
	q.buf = kept
	if q.head == len(q.buf) {
		q.buf, q.head = q.buf[:0], 0
	}
	return removed
}

// Clear empties q, keeping its array.
func (q *Queue[T]) Clear() {
	clear(q.buf)
	q.buf, q.head = q.buf[:0], 0
}
