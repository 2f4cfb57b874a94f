// Package auth defines how the msgr2 protocol runs an authentication
// exchange without knowing the method: the protocol state machine carries
// opaque payloads in AUTH_REQUEST, AUTH_REPLY_MORE, AUTH_REQUEST_MORE and
// AUTH_DONE frames, and a ClientHandler or ServerHandler gives them meaning.
//
// Methods: none (this package) and cephx (package auth/cephx).
package auth

import (
	"errors"
	"fmt"
	"time"
)

// Auth methods as Ceph numbers them (CEPH_AUTH_*).
const (
	MethodUnknown uint32 = 0
	MethodNone    uint32 = 1
	MethodCephX   uint32 = 2
)

// Connection modes negotiated in AUTH_REQUEST / AUTH_DONE (CEPH_CON_MODE_*).
const (
	ModeUnknown uint32 = 0
	ModeCRC     uint32 = 1
	ModeSecure  uint32 = 2
)

// Result is what a finished exchange yields to the protocol.
type Result struct {
	GlobalID         uint64
	ConMode          uint32
	SessionKey       []byte // keys AUTH_SIGNATURE's HMAC; nil for method none
	ConnectionSecret []byte // secure-mode keys and nonces; nil in crc mode
}

// Format keeps the key and the secret out of logs: %v and friends print
// their lengths only.
func (r Result) Format(f fmt.State, verb rune) {
	fmt.Fprintf(f, "{GlobalID:%d ConMode:%d SessionKey:%d bytes ConnectionSecret:%d bytes}",
		r.GlobalID, r.ConMode, len(r.SessionKey), len(r.ConnectionSecret))
}

// ClientHandler runs the client side of one exchange on one connection.
// It is used from one goroutine at a time (the connection's loop).
type ClientHandler interface {
	// Start returns the contents of the first AUTH_REQUEST.
	Start() (method uint32, preferredModes []uint32, payload []byte, err error)
	// HandleReplyMore takes an AUTH_REPLY_MORE payload and returns the
	// AUTH_REQUEST_MORE payload to send.
	HandleReplyMore(payload []byte) ([]byte, error)
	// HandleDone takes AUTH_DONE and returns the session's keys.
	HandleDone(globalID uint64, conMode uint32, payload []byte) (Result, error)
	// HandleBadMethod takes AUTH_BAD_METHOD. A handler that can try another
	// method returns a new AUTH_REQUEST (as Start does); otherwise an error.
	HandleBadMethod(method uint32, result int32, allowedMethods, allowedModes []uint32) (newMethod uint32, preferredModes []uint32, payload []byte, err error)
}

// Payloads: what Start, HandleReplyMore, HandleDone, HandleRequest and
// HandleRequestMore take and return is the content of the frame's
// bufferlist field, without its u32 length (wire.AuthRequest.Payload etc.).

// Credentials makes the ClientHandler for each new outgoing connection; a
// messenger holds one and asks with the peer's entity type
// (encoding.EntityTypeMon, ...). cephx.Session and NoneSession implement it.
type Credentials interface {
	ClientHandler(peerType uint32) (ClientHandler, error)
}

// Renewer is implemented by a method's per-principal client state whose
// tickets expire (cephx.Session). A MonClient with an open, authenticated
// mon session calls RenewalRequest when NextRenewal has passed (Ceph checks
// on every tick); if ok, it sends MAuth (CEPH_MSG_AUTH = 17) with protocol
// set to the method and auth_payload = payload, and hands each MAuthReply
// (CEPH_MSG_AUTH_REPLY = 18) to HandleRenewalReply with its result and
// result_bl, sending another MAuth with the returned payload while one is
// returned.
type Renewer interface {
	RenewalRequest() (payload []byte, ok bool, err error)
	HandleRenewalReply(result int32, payload []byte) (next []byte, err error)
	NextRenewal() time.Time
}

// ServerReply is a ServerHandler's answer to one client frame: either
// another round (Done false: send AUTH_REPLY_MORE with Payload) or the end
// (Done true: send AUTH_DONE with Payload and Result's global id and mode).
type ServerReply struct {
	Done    bool
	Payload []byte
	Result  Result
	// Peer is the authenticated entity name (type.id), known once Done.
	PeerType uint32
	PeerName string
}

// ServerHandler runs the server side of one exchange on one connection.
// It is used from one goroutine at a time (the connection's loop).
type ServerHandler interface {
	HandleRequest(method uint32, preferredModes []uint32, payload []byte) (ServerReply, error)
	HandleRequestMore(payload []byte) (ServerReply, error)
}

// ErrDenied is matched (errors.Is) by every refusal: a bad key, an unknown
// entity, a bad proof.
var ErrDenied = errors.New("auth: permission denied")

// BadMethodError is how a ServerHandler refuses, whatever the reason (method
// or modes not allowed, wrong key, unknown entity, bad ticket): the
// protocol sends AUTH_BAD_METHOD with its fields, as Ceph's ProtocolV2 does
// for every refusal, and the handler accepts a fresh AUTH_REQUEST after it.
// A ClientHandler returns it from HandleBadMethod when it has nothing else
// to try. It matches ErrDenied (possibly wrapped: use errors.As).
type BadMethodError struct {
	Method         uint32
	Result         int32 // a negative errno, as Ceph sends it
	AllowedMethods []uint32
	AllowedModes   []uint32
}

func (e *BadMethodError) Error() string {
	return fmt.Sprintf("auth: method %d refused: %s (allowed methods %v, modes %v)", e.Method, e.Cause(), e.AllowedMethods, e.AllowedModes)
}

// Cause names what the server's errno means in a Ceph exchange, for
// messages that must say why a connection was refused.
func (e *BadMethodError) Cause() string {
	switch -e.Result {
	case EPERM:
		return "EPERM: not permitted (malformed request; wrong key or unknown entity on newer Ceph)"
	case EACCES:
		return "EACCES: permission denied (wrong key, unknown entity, missing caps or bad ticket)"
	case EOPNOTSUPP:
		return "EOPNOTSUPP: auth method or connection mode not allowed"
	case EINVAL:
		return "EINVAL: malformed request"
	case EIO:
		return "EIO: server error"
	case 0:
		return "no error code"
	}
	return fmt.Sprintf("errno %d", e.Result)
}

// Is makes a BadMethodError match ErrDenied.
func (e *BadMethodError) Is(target error) bool { return target == ErrDenied }

// PickMode returns the first of the client's preferred modes that the
// server allows, in the client's order, or ModeUnknown.
func PickMode(preferred, allowed []uint32) uint32 {
	for _, p := range preferred {
		for _, a := range allowed {
			if p == a {
				return p
			}
		}
	}
	return ModeUnknown
}
