//go:build !linux

package sock

// Ring is io_uring's batch of socket operations; only Linux has one.
type Ring struct{}

// NewRing always fails here.
func NewRing(uint32) (*Ring, error) { return nil, ErrNoRing }

// Close does nothing.
func (*Ring) Close() error { return nil }

// Do fails: there is no ring.
func (*Ring) Do([]RingOp) error { return ErrNoRing }
