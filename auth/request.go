package auth

import (
	"fmt"
	"sync/atomic"

	"github.com/gomsgr/msgr/encoding"
)

// First byte of an AUTH_REQUEST payload (AUTH_MODE_*): whether the client
// authenticates to a mon, or presents an authorizer to another service.
// Ceph reserves 1..9 for authorizers and 10..19 for mon exchanges.
const (
	AuthModeAuthorizer uint8 = 1
	AuthModeMon        uint8 = 10
)

// Errnos Ceph sends in AUTH_BAD_METHOD's result (negated).
const (
	EPERM      int32 = 1
	EIO        int32 = 5
	EACCES     int32 = 13
	EINVAL     int32 = 22
	EOPNOTSUPP int32 = 95
)

// MonRequest is the method-neutral head of an AUTH_REQUEST payload sent to a
// mon: who the client is and the global id it had (0 for a new one). The
// method's own bytes (none for cephx and none) follow it.
type MonRequest struct {
	Name     EntityName
	GlobalID uint64
}

// AppendMonRequest appends r after the AUTH_MODE_MON byte.
func AppendMonRequest(b []byte, r MonRequest) []byte {
	b = append(b, AuthModeMon)
	b = AppendEntityName(b, r.Name)
	return encoding.AppendU64(b, r.GlobalID)
}

// DecodeMonRequest reads a MonRequest, checking the mode byte.
func DecodeMonRequest(d *encoding.Decoder) MonRequest {
	mode := d.U8()
	if d.Err() == nil && (mode < AuthModeMon || mode > AuthModeMon+9) {
		d.Failf("auth mode %d is not a mon request", mode)
		return MonRequest{}
	}
	n := DecodeEntityName(d)
	return MonRequest{Name: n, GlobalID: d.U64()}
}

// GlobalIDs hands out global ids, as a mon does for each new session.
type GlobalIDs struct{ next atomic.Uint64 }

// NewGlobalIDs returns an allocator whose first id is first (Ceph's mons
// start clients above 4096).
func NewGlobalIDs(first uint64) *GlobalIDs {
	g := &GlobalIDs{}
	g.next.Store(first)
	return g
}

// Next returns a fresh id, never 0.
func (g *GlobalIDs) Next() uint64 {
	for {
		id := g.next.Add(1) - 1
		if id != 0 {
			return id
		}
	}
}

// badRequest is the refusal for a payload a server cannot parse: Ceph
// answers it with AUTH_BAD_METHOD and -EPERM or -EINVAL.
func badRequest(method uint32, errno int32, methods, modes []uint32, cause error) error {
	return fmt.Errorf("%w: %v", &BadMethodError{Method: method, Result: -errno, AllowedMethods: methods, AllowedModes: modes}, cause)
}
