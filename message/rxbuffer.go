package message

import "sync"

// RxBuffer is memory of the receiver's choosing that the data segment of
// one expected message is read into, straight from the socket, instead of
// a receive buffer: Ceph's Connection::post_rx_buffer, with which the
// Objecter has a read's reply land in the caller's buffer.
//
// The poster makes it (NewRxBuffer), posts it on a connection (keyed by
// the message's tid and type) and calls Revoke before the memory is used
// again; once Revoke returns the receive path never touches the memory
// (Revoke waits for a read under way, which is short: reads never block).
//
// The receive path claims it for one message once that message's header
// is in (Claim), touches the memory only between Pin and Unpin, and calls
// Fill once the message arrived whole and its crcs checked out: the
// message's Data is then the memory, and the poster owns it again. A
// claim revoked before Fill makes the receive path put the rest of the
// data elsewhere and drop the message (its poster no longer wants it).
//
// Its methods are safe from any goroutine.
type RxBuffer struct {
	mu     sync.Mutex
	cond   sync.Cond // signalled when pinned clears
	buf    []byte
	n      int // the claimed message's data length
	state  rxState
	pinned bool
}

type rxState uint8

const (
	rxPosted  rxState = iota // waiting for its message
	rxClaimed                // its message's data is arriving
	rxFilled                 // its message arrived: Data is the memory
	rxRevoked                // the poster took it back
)

// NewRxBuffer returns an RxBuffer for b: a message with up to len(b)
// bytes of data may land in it.
func NewRxBuffer(b []byte) *RxBuffer {
	r := &RxBuffer{}
	r.Init(b)
	return r
}

// Init makes r, the zero value (never posted), an RxBuffer for b, as
// NewRxBuffer: for an RxBuffer embedded in a value of the poster's.
func (r *RxBuffer) Init(b []byte) {
	r.buf = b
	r.cond.L = &r.mu
}

// Claim takes a posted RxBuffer for a message with n bytes of data; false
// if it is not posted (revoked, or claimed already) or n is over its size.
func (r *RxBuffer) Claim(n int) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.state != rxPosted || n > len(r.buf) || n < 0 {
		return false
	}
	r.state, r.n = rxClaimed, n
	return true
}

// Pin returns the claimed memory (n bytes) for the receive path to read
// into or compute a crc over, until Unpin; nil once revoked.
func (r *RxBuffer) Pin() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.state != rxClaimed || r.pinned {
		return nil
	}
	r.pinned = true
	return r.buf[:r.n:r.n]
}

// Unpin ends a Pin: the receive path no longer touches the memory.
func (r *RxBuffer) Unpin() {
	r.mu.Lock()
	r.pinned = false
	r.mu.Unlock()
	r.cond.Broadcast()
}

// Fill ends a claim whose message arrived whole and checked: it returns
// the data (the memory's first n bytes), now the message's, or nil if the
// poster revoked it first.
func (r *RxBuffer) Fill() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.state != rxClaimed {
		return nil
	}
	r.state = rxFilled
	return r.buf[:r.n:r.n]
}

// Revoke takes the memory back: the receive path will not touch it
// again. It reports whether a message filled it first (its Data is the
// memory). Revoking twice is harmless.
func (r *RxBuffer) Revoke() (filled bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for r.pinned {
		r.cond.Wait()
	}
	if r.state == rxFilled {
		return true
	}
	r.state = rxRevoked
	return false
}
