package message

import (
	"errors"
	"fmt"
	"maps"
	"sync"
	"sync/atomic"
)

// ErrRegistered is returned when a type number is registered twice.
var ErrRegistered = errors.New("message: type already registered")

// DecodeError reports a message body that did not decode; it unwraps to
// the Message's error.
type DecodeError struct {
	Type    uint16
	Version uint16
	Err     error
}

func (e *DecodeError) Error() string {
	return fmt.Sprintf("message: type %d v%d: %v", e.Type, e.Version, e.Err)
}

func (e *DecodeError) Unwrap() error { return e.Err }

// Registry maps message type numbers to constructors. It is safe for
// concurrent use; registration normally happens once, before connections
// start, and lookups happen on every connection's loop.
type Registry struct {
	mu sync.Mutex // serializes Register
	// new is never changed once stored: Register stores a copy. A lookup
	// is then one load, where a read lock wrote a counter every loop
	// shares, on every message received.
	new atomic.Pointer[map[uint16]func() Message]
}

// NewRegistry returns an empty Registry.
func NewRegistry() *Registry {
	r := &Registry{}
	r.new.Store(&map[uint16]func() Message{})
	return r
}

// Register makes type t decode into values made by newMsg.
func (r *Registry) Register(t uint16, newMsg func() Message) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	old := *r.new.Load()
	if _, ok := old[t]; ok {
		return fmt.Errorf("%w: %d", ErrRegistered, t)
	}
	m := maps.Clone(old)
	m[t] = newMsg
	r.new.Store(&m)
	return nil
}

// New returns a new empty Message for type t, or a *Raw if t is unknown.
func (r *Registry) New(t uint16) Message {
	if f := (*r.new.Load())[t]; f != nil {
		return f()
	}
	return &Raw{}
}

// Known reports whether type t is registered.
func (r *Registry) Known(t uint16) bool { return (*r.new.Load())[t] != nil }

// Decode builds the message h describes from p. The result does not alias
// p unless its type's Decode keeps slices (it must not).
func (r *Registry) Decode(h *Header, features uint64, p *Payload) (Message, error) {
	m := r.New(h.Type)
	if err := m.Decode(h, features, p); err != nil {
		return nil, &DecodeError{Type: h.Type, Version: h.Version, Err: err}
	}
	return m, nil
}
