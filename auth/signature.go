package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"hash"
)

// SignatureLen is the length of an AUTH_SIGNATURE payload.
const SignatureLen = sha256.Size

// ErrBadSignature reports an AUTH_SIGNATURE that does not match the bytes
// this side sent. It matches ErrDenied.
var ErrBadSignature = fmt.Errorf("%w: AUTH_SIGNATURE mismatch", ErrDenied)

// NewSigner returns what computes an AUTH_SIGNATURE: each side feeds it
// every byte it received from the peer's banner up to the end of the last
// frame before AUTH_SIGNATURE, and sends Sum(nil). With a session key
// (Result.SessionKey) it is HMAC-SHA256 keyed with the key's secret; with
// none (method none) Ceph sends 32 zero bytes, and so does this.
func NewSigner(sessionKey []byte) hash.Hash {
	if len(sessionKey) == 0 {
		return zeroHash{}
	}
	return hmac.New(sha256.New, sessionKey)
}

// Signature returns the AUTH_SIGNATURE payload for received.
func Signature(sessionKey, received []byte) []byte {
	h := NewSigner(sessionKey)
	h.Write(received)
	return h.Sum(nil)
}

// zeroHash discards its input and sums to zeros: the signature of a
// session without a key.
type zeroHash struct{}

func (zeroHash) Write(p []byte) (int, error) { return len(p), nil }
func (zeroHash) Sum(b []byte) []byte         { return append(b, make([]byte, SignatureLen)...) }
func (zeroHash) Reset()                      {}
func (zeroHash) Size() int                   { return SignatureLen }
func (zeroHash) BlockSize() int              { return sha256.BlockSize }

// CheckSignature verifies a peer's AUTH_SIGNATURE payload against the bytes
// this side sent (which the peer received); it compares in constant time.
func CheckSignature(sessionKey, sent, sig []byte) error {
	if !hmac.Equal(Signature(sessionKey, sent), sig) {
		return ErrBadSignature
	}
	return nil
}
