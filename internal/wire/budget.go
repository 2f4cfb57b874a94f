package wire

import (
	"runtime"
	"sync/atomic"
)

// Budget bounds the receive memory of many Decoders together: those whose
// session is not established, i.e. whose peer has not authenticated (a
// messenger gives all its handshaking connections one Budget). A Decoder
// with a Budget charges every buffer it holds to it and fails with
// ErrMemory when the Budget would go over its limit; Establish, Release
// and SetBudget(nil) give the charge back (and should a Decoder be
// dropped with a charge, the garbage collector does). Safe for concurrent use.
type Budget struct {
	limit int64
	used  atomic.Int64
}

// NewBudget returns a Budget of limit bytes.
func NewBudget(limit int64) *Budget { return &Budget{limit: limit} }

// Used returns the bytes charged now.
func (b *Budget) Used() int64 { return b.used.Load() }

func (b *Budget) take(n int) bool {
	if b.used.Add(int64(n)) > b.limit {
		b.used.Add(-int64(n))
		return false
	}
	return true
}

// charge is one Decoder's share of a Budget. It is a heap object of its
// own, not referencing the Decoder, so that a cleanup can give the share
// back should a Decoder be dropped while charged.
type charge struct {
	b *Budget
	n atomic.Int64 // written by the Decoder's goroutine, read by the cleanup
}

func (c *charge) add(n int) bool {
	if n > 0 && !c.b.take(n) {
		return false
	}
	if n < 0 {
		c.b.used.Add(int64(n))
	}
	c.n.Add(int64(n))
	return true
}

func (c *charge) clear() {
	if n := c.n.Swap(0); n != 0 {
		c.b.used.Add(-n)
	}
}

// SetBudget makes d charge its receive buffers to b from now on (nil:
// stop charging, giving back what was charged). Establish ends it too.
func (d *Decoder) SetBudget(b *Budget) {
	if d.charge != nil {
		d.charge.clear()
		d.cleanup.Stop()
		d.charge = nil
	}
	if b == nil {
		return
	}
	c := &charge{b: b}
	if !c.add(d.Held()) {
		d.fail(ErrMemory)
	}
	d.charge = c
	d.cleanup = runtime.AddCleanup(d, (*charge).clear, c)
}
