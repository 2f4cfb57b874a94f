package wire

import (
	"errors"
	"fmt"
)

// Errors the codec returns. Each is matched with errors.Is; the wrapped
// message says what was found.
var (
	// ErrBadBanner: the peer did not open with "ceph v2\n".
	ErrBadBanner = errors.New("wire: bad banner")
	// ErrMsgr1: the peer speaks msgr1 (its banner is "ceph v027"). It
	// matches ErrBadBanner too.
	ErrMsgr1 = fmt.Errorf("%w: peer speaks msgr1 (ceph v027)", ErrBadBanner)
	// ErrBadCRC: a preamble or segment crc32c did not match.
	ErrBadCRC = errors.New("wire: bad crc")
	// ErrAuthTag: an AES-GCM tag did not verify (tampering, wrong key or
	// nonce, or a lost record).
	ErrAuthTag = errors.New("wire: secure record authentication failed")
	// ErrTooLarge: a segment count, segment length or frame length over
	// the limits, found before anything was allocated.
	ErrTooLarge = errors.New("wire: frame exceeds limits")
	// ErrUnknownTag: a preamble with a tag this codec does not know.
	ErrUnknownTag = errors.New("wire: unknown frame tag")
	// ErrMalformed: a frame or payload that is structurally invalid.
	ErrMalformed = errors.New("wire: malformed frame")
	// ErrNonceExhausted: a secure stream used every nonce it has.
	ErrNonceExhausted = errors.New("wire: secure nonces exhausted")
	// ErrMemory: a Decoder before its session is established needed more
	// receive memory than its Budget had left.
	ErrMemory = errors.New("wire: receive memory budget exhausted")
)

// FeatureError reports a banner negotiation that failed: one side requires
// msgr2 features the other does not support. It matches ErrFeatures.
type FeatureError struct {
	Missing uint64 // the required features the other side lacks
	// PeerLacks is false when the peer requires what we lack, true when
	// we require what the peer lacks.
	PeerLacks bool
}

// ErrFeatures is matched by every *FeatureError.
var ErrFeatures = errors.New("wire: peer requires unsupported features")

func (e *FeatureError) Error() string {
	if e.PeerLacks {
		return fmt.Sprintf("wire: peer lacks required msgr2 features %#x", e.Missing)
	}
	return fmt.Sprintf("wire: peer requires unsupported msgr2 features %#x", e.Missing)
}

// Is makes a FeatureError match ErrFeatures.
func (e *FeatureError) Is(target error) bool { return target == ErrFeatures }

// PayloadError reports a control frame payload that did not decode. It
// matches ErrMalformed and unwraps to the encoding error
// (encoding.ErrTruncated, encoding.ErrTooLarge, ...).
type PayloadError struct {
	Tag Tag
	Err error
}

func (e *PayloadError) Error() string { return fmt.Sprintf("wire: %v payload: %v", e.Tag, e.Err) }

// Unwrap returns the underlying encoding error.
func (e *PayloadError) Unwrap() error { return e.Err }

// Is makes a PayloadError match ErrMalformed.
func (e *PayloadError) Is(target error) bool { return target == ErrMalformed }

func payloadError(t Tag, err error) error {
	if err == nil {
		return nil
	}
	return &PayloadError{Tag: t, Err: err}
}
