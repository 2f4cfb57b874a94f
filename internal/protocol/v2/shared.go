package v2

// The msgr1 Machine (internal/protocol/v1) speaks to the connection in
// this package's terms (Config, Env, Policy, OutMessage, InMessage, the
// Actions and errors), so that one connection drives either protocol
// through the same action switch. What it needs beyond those types is
// exported here.

// OutQueue is the queue of messages not yet framed, by priority (highest
// first, FIFO within one), as a Machine keeps it.
type OutQueue struct{ q outQueue }

// Push queues msg under its Header.Priority.
func (q *OutQueue) Push(msg *OutMessage) { q.q.push(msg) }

// Pop removes and returns the next message to send, or nil.
func (q *OutQueue) Pop() *OutMessage { return q.q.pop() }

// Drain appends every queued message to all, in send order, and empties q.
func (q *OutQueue) Drain(all []*OutMessage) []*OutMessage { return q.q.drain(all) }

// Len returns how many messages are queued.
func (q *OutQueue) Len() int { return q.q.n }
