//go:build !linux

package sock

import "errors"

// Ring is io_uring's batch of sends; only Linux has one.
type Ring struct{}

// SendOp is one send of a Ring batch.
type SendOp struct {
	FD  int
	Buf []byte
	N   int
	Err error
}

// ErrNoRing reports that there is no io_uring here.
var ErrNoRing = errors.New("sock: io_uring unavailable")

// NewRing always fails here.
func NewRing(uint32) (*Ring, error) { return nil, ErrNoRing }

// Entries is 0: there is no ring.
func (*Ring) Entries() int { return 0 }

// Close does nothing.
func (*Ring) Close() error { return nil }

// Send fails: there is no ring.
func (*Ring) Send([]SendOp) error { return ErrNoRing }
