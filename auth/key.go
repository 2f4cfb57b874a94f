package auth

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"errors"
	"fmt"
	"io"

	"github.com/gomsgr/msgr/encoding"
)

// Key types (CEPH_CRYPTO_*).
const (
	KeyTypeNone uint16 = 0
	KeyTypeAES  uint16 = 1
)

// AESKeyLen is the only secret length Ceph's AES handler accepts.
const AESKeyLen = 16

// cephIV is the fixed CBC initialisation vector every Ceph AES operation
// uses (CEPH_AES_IV). The same key and plaintext always give the same
// ciphertext; cephx relies on that for its key proof.
var cephIV = []byte("cephsageyudagreg")

// ErrBadKey reports a key that is malformed or of an unsupported type.
var ErrBadKey = errors.New("auth: bad key")

// ErrDecrypt reports a ciphertext that does not decrypt under the key: its
// length is not a whole number of blocks or its padding is wrong. It
// deliberately says nothing more, so it cannot serve as a padding oracle.
var ErrDecrypt = errors.New("auth: decryption failed")

// CryptoKey is Ceph's CryptoKey: a typed secret with its creation time.
type CryptoKey struct {
	Type    uint16
	Created encoding.UTime
	Secret  []byte
}

// NewAESKey returns a fresh AES key read from rand, created at created.
func NewAESKey(rand io.Reader, created encoding.UTime) (CryptoKey, error) {
	s := make([]byte, AESKeyLen)
	if _, err := io.ReadFull(rand, s); err != nil {
		return CryptoKey{}, fmt.Errorf("auth: generating key: %w", err)
	}
	return CryptoKey{Type: KeyTypeAES, Created: created, Secret: s}, nil
}

// Validate checks that k can be used to encrypt and decrypt. Only AES keys
// can: Ceph's "none" key type (an identity cipher) never appears in a cephx
// exchange, and accepting it would let a zero CryptoKey pass for a key.
func (k CryptoKey) Validate() error {
	if k.Type != KeyTypeAES {
		return fmt.Errorf("%w: unsupported key type %d", ErrBadKey, k.Type)
	}
	if len(k.Secret) != AESKeyLen {
		return fmt.Errorf("%w: AES secret of %d bytes, want %d", ErrBadKey, len(k.Secret), AESKeyLen)
	}
	return nil
}

// IsZero reports whether k holds no secret.
func (k CryptoKey) IsZero() bool { return len(k.Secret) == 0 }

// AppendCryptoKey appends k's encoding: u16 type, utime created, u16
// length, secret.
func AppendCryptoKey(b []byte, k CryptoKey) []byte {
	b = encoding.AppendU16(b, k.Type)
	b = encoding.AppendUTime(b, k.Created)
	b = encoding.AppendU16(b, uint16(len(k.Secret)))
	return append(b, k.Secret...)
}

// DecodeCryptoKey reads a CryptoKey from d. The secret is copied. A key of
// an unsupported type or a wrong length is recorded in d as an error
// matching ErrBadKey.
func DecodeCryptoKey(d *encoding.Decoder) CryptoKey {
	t := d.U16()
	created := d.UTime()
	n := int(d.U16())
	s := d.Bytes(n)
	if d.Err() != nil {
		return CryptoKey{}
	}
	k := CryptoKey{Type: t, Created: created, Secret: append([]byte(nil), s...)}
	if err := k.Validate(); err != nil {
		d.Fail(err)
		return CryptoKey{}
	}
	return k
}

// ParseKey decodes a key as keyrings and key files hold it: base64 of the
// CryptoKey encoding.
func ParseKey(s string) (CryptoKey, error) {
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return CryptoKey{}, fmt.Errorf("%w: not base64", ErrBadKey)
	}
	d := encoding.NewDecoder(raw)
	k := DecodeCryptoKey(d)
	if err := d.Err(); err != nil {
		if errors.Is(err, ErrBadKey) {
			return CryptoKey{}, err
		}
		return CryptoKey{}, fmt.Errorf("%w: %v", ErrBadKey, err)
	}
	if d.Remaining() != 0 {
		return CryptoKey{}, fmt.Errorf("%w: %d trailing bytes", ErrBadKey, d.Remaining())
	}
	return k, nil
}

// String returns the base64 form a keyring holds. It is the secret itself:
// never log it.
func (k CryptoKey) String() string {
	return base64.StdEncoding.EncodeToString(AppendCryptoKey(nil, k))
}

// Format keeps secrets out of logs: %v and friends print only the type.
func (k CryptoKey) Format(f fmt.State, verb rune) {
	fmt.Fprintf(f, "CryptoKey{type %d, %d-byte secret}", k.Type, len(k.Secret))
}

// Encrypt returns the ciphertext of plain under k as Ceph computes it:
// AES-128-CBC with Ceph's fixed IV and PKCS#7 padding (1 to 16 bytes, so
// the output is always longer than the input).
func (k CryptoKey) Encrypt(plain []byte) ([]byte, error) {
	return k.AppendEncrypt(nil, plain)
}

// AppendEncrypt appends the ciphertext of plain to dst.
func (k CryptoKey) AppendEncrypt(dst, plain []byte) ([]byte, error) {
	if err := k.Validate(); err != nil {
		return dst, err
	}
	block, err := aes.NewCipher(k.Secret)
	if err != nil {
		return dst, fmt.Errorf("%w: %v", ErrBadKey, err)
	}
	pad := aes.BlockSize - len(plain)%aes.BlockSize
	start := len(dst)
	dst = append(dst, plain...)
	for i := 0; i < pad; i++ {
		dst = append(dst, byte(pad))
	}
	out := dst[start:]
	cipher.NewCBCEncrypter(block, cephIV).CryptBlocks(out, out)
	return dst, nil
}

// Decrypt reverses Encrypt. Any failure is ErrDecrypt (or ErrBadKey for an
// unusable key).
func (k CryptoKey) Decrypt(ct []byte) ([]byte, error) {
	if err := k.Validate(); err != nil {
		return nil, err
	}
	if len(ct) == 0 || len(ct)%aes.BlockSize != 0 {
		return nil, ErrDecrypt
	}
	block, err := aes.NewCipher(k.Secret)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadKey, err)
	}
	out := make([]byte, len(ct))
	cipher.NewCBCDecrypter(block, cephIV).CryptBlocks(out, ct)
	pad := int(out[len(out)-1])
	bad := 0
	if pad == 0 || pad > aes.BlockSize {
		bad = 1
		pad = 1
	}
	for _, c := range out[len(out)-pad:] {
		if int(c) != pad {
			bad = 1
		}
	}
	if bad != 0 {
		return nil, ErrDecrypt
	}
	return out[:len(out)-pad], nil
}
