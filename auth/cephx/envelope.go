package cephx

import (
	"errors"
	"fmt"

	"github.com/gomsgr/msgr/auth"
	"github.com/gomsgr/msgr/encoding"
)

// authEncMagic starts every cephx plaintext (AUTH_ENC_MAGIC), so a wrong key
// is detected before the struct is parsed.
const authEncMagic = 0xff009cad8826aa55

// ErrBadMagic reports a decryption whose plaintext lacks the cephx magic:
// almost always a wrong key. It matches auth.ErrDecrypt.
var ErrBadMagic = fmt.Errorf("%w: bad cephx magic", auth.ErrDecrypt)

// ErrProtocol reports a cephx payload that does not parse. It matches
// encoding.ErrMalformed.
var ErrProtocol = fmt.Errorf("cephx: %w", encoding.ErrMalformed)

// sealEnc returns encode_encrypt_enc_bl(body): the ciphertext of
// {u8 1, u64 magic, body} under key, without a length prefix.
func sealEnc(key auth.CryptoKey, body []byte) ([]byte, error) {
	pt := make([]byte, 0, 9+len(body))
	pt = append(pt, 1)
	pt = encoding.AppendU64(pt, authEncMagic)
	pt = append(pt, body...)
	return key.Encrypt(pt)
}

// appendSealed appends encode_encrypt(body): the sealEnc ciphertext with a
// u32 length prefix.
func appendSealed(b []byte, key auth.CryptoKey, body []byte) ([]byte, error) {
	ct, err := sealEnc(key, body)
	if err != nil {
		return b, err
	}
	return encoding.AppendBytes(b, ct), nil
}

// openEnc reverses sealEnc and returns body.
func openEnc(key auth.CryptoKey, ct []byte) ([]byte, error) {
	pt, err := key.Decrypt(ct)
	if err != nil {
		return nil, err
	}
	d := encoding.NewDecoder(pt)
	d.U8()
	if d.U64() != authEncMagic || d.Err() != nil {
		return nil, ErrBadMagic
	}
	return d.Rest(), nil
}

// openSealed reads a length-prefixed ciphertext from d and returns its body.
// Failures are recorded in d.
func openSealed(d *encoding.Decoder, key auth.CryptoKey) []byte {
	ct := d.Blob()
	if d.Err() != nil {
		return nil
	}
	body, err := openEnc(key, ct)
	if err != nil {
		d.Fail(err)
		return nil
	}
	return body
}

// wrapDecodeErr turns a decoder failure into a typed cephx error, keeping
// decryption failures recognisable.
func wrapDecodeErr(what string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, auth.ErrDecrypt) || errors.Is(err, auth.ErrBadKey) {
		return fmt.Errorf("cephx: %s: %w", what, err)
	}
	return fmt.Errorf("%w: %s: %v", ErrProtocol, what, err)
}
