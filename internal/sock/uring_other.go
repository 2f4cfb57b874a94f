//go:build !linux

package sock

import "errors"

// Ring is io_uring's batch of socket operations; only Linux has one.
type Ring struct{}

// RingOp is one operation of a Ring batch.
type RingOp struct {
	FD   int
	Buf  []byte
	Recv bool
	N    int
	Err  error
}

// ErrNoRing reports that there is no io_uring here.
var ErrNoRing = errors.New("sock: io_uring unavailable")

// NewRing always fails here.
func NewRing(uint32) (*Ring, error) { return nil, ErrNoRing }

// Entries is 0: there is no ring.
func (*Ring) Entries() int { return 0 }

// Close does nothing.
func (*Ring) Close() error { return nil }

// Do fails: there is no ring.
func (*Ring) Do([]RingOp) error { return ErrNoRing }
