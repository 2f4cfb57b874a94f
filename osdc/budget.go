package osdc

import (
	"context"
	"sync"
)

// budget bounds the ops and bytes in flight together, as Objecter's
// op_throttle_ops / op_throttle_bytes (objecter_inflight_ops,
// objecter_inflight_op_bytes). An op larger than the byte limit is let in
// when nothing else is in flight, so that it cannot wait forever.
type budget struct {
	mu       sync.Mutex
	maxOps   int64
	maxBytes int64
	ops      int64
	bytes    int64
	wake     chan struct{} // closed and replaced on a release while waiters wait
	waiters  int           // get calls waiting on wake
}

func newBudget(maxOps, maxBytes int64) *budget {
	return &budget{maxOps: maxOps, maxBytes: maxBytes, wake: make(chan struct{})}
}

func (b *budget) fitsLocked(n int64) bool {
	if b.maxOps > 0 && b.ops+1 > b.maxOps {
		return false
	}
	if b.maxBytes > 0 && b.bytes+n > b.maxBytes && b.bytes > 0 {
		return false
	}
	return true
}

// get takes one op and n bytes, waiting for room until ctx ends.
func (b *budget) get(ctx context.Context, n int64) error {
	b.mu.Lock()
	for !b.fitsLocked(n) {
		w := b.wake
		b.waiters++
		b.mu.Unlock()
		var err error
		select {
		case <-w:
		case <-ctx.Done():
			err = ctx.Err()
		}
		b.mu.Lock()
		b.waiters--
		if err != nil {
			b.mu.Unlock()
			return err
		}
	}
	b.ops++
	b.bytes += n
	b.mu.Unlock()
	return nil
}

// put gives back one op and n bytes.
func (b *budget) put(n int64) {
	b.mu.Lock()
	b.ops--
	b.bytes -= n
	if b.waiters > 0 {
		close(b.wake)
		b.wake = make(chan struct{})
	}
	b.mu.Unlock()
}

// inFlight returns the ops and bytes held.
func (b *budget) inFlight() (ops, bytes int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.ops, b.bytes
}
