package wire

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/gomsgr/msgr/internal/aesgcm"
)

// Role says which end of a connection a side is; secure mode gives each
// direction its own nonce.
type Role uint8

const (
	RoleClient Role = iota // the side that connected
	RoleServer             // the side that accepted
)

// Secure-mode layout of the connection secret (crypto_onwire.cc): a 16-byte
// AES key, then two 12-byte nonces. The client receives with the first and
// sends with the second; the server the other way round.
const (
	keySize             = aesgcm.KeySize
	nonceSize           = aesgcm.NonceSize
	MinConnectionSecret = keySize + 2*nonceSize
)

// ErrSecret reports a connection secret too short for secure mode.
var ErrSecret = errors.New("wire: connection secret too short for secure mode")

// Cipher is one direction of secure mode: AES-128-GCM with Ceph's nonce
// sequence. Owned by the goroutine that owns the Encoder or Decoder it is
// installed in.
type Cipher struct {
	aead    *aesgcm.GCM   // shared by both directions: it is read only
	block   cipher.Block  // the same key, for peekPreamble
	stream  aesgcm.Stream // sealSegments' record in progress
	nonce   [nonceSize]byte
	initial [nonceSize]byte
	cur     [nonceSize]byte // the nonce in use; a field so that it does not escape per record
	used    bool            // initial nonce consumed: meeting it again means wrap
	rev1    bool
}

// NewSecure derives both directions from an authenticated connection
// secret (auth.Result.ConnectionSecret): rx to install in the Decoder, tx
// in the Encoder. rev1 is the banner negotiation's result: msgr2.1 counts
// records in the nonce's 64-bit counter, msgr2.0 in its 32-bit fixed part.
func NewSecure(secret []byte, role Role, rev1 bool) (rx, tx *Cipher, err error) {
	if len(secret) < MinConnectionSecret {
		return nil, nil, fmt.Errorf("%w: %d bytes", ErrSecret, len(secret))
	}
	block, err := aes.NewCipher(secret[:keySize])
	if err != nil {
		return nil, nil, err
	}
	aead, err := aesgcm.New(secret[:keySize])
	if err != nil {
		return nil, nil, err
	}
	a := secret[keySize : keySize+nonceSize]
	b := secret[keySize+nonceSize : keySize+2*nonceSize]
	if role == RoleServer {
		a, b = b, a
	}
	rx = &Cipher{aead: aead, block: block, rev1: rev1}
	tx = &Cipher{aead: aead, block: block, rev1: rev1}
	copy(rx.nonce[:], a)
	copy(tx.nonce[:], b)
	rx.initial, tx.initial = rx.nonce, tx.nonce
	return rx, tx, nil
}

// next puts the nonce for the next record in c.cur and advances the
// sequence.
func (c *Cipher) next() error {
	c.cur = c.nonce
	if c.cur == c.initial {
		if c.used {
			return ErrNonceExhausted
		}
		c.used = true
	}
	if c.rev1 {
		binary.LittleEndian.PutUint64(c.nonce[4:], binary.LittleEndian.Uint64(c.nonce[4:])+1)
	} else {
		binary.LittleEndian.PutUint32(c.nonce[:4], binary.LittleEndian.Uint32(c.nonce[:4])+1)
	}
	return nil
}

// seal encrypts rec[:n] in place and writes the tag at rec[n:n+TagSize].
func (c *Cipher) seal(rec []byte, n int) error {
	if err := c.next(); err != nil {
		return err
	}
	c.aead.Seal(rec[:0], c.cur[:], rec[:n], nil)
	return nil
}

// sealSegments seals into rec one record of: rec's first head bytes (in
// place), segs[from:to] each zero-padded to a block (segments past
// len(segs) are empty), then epi; the tag follows. With aesgcm's kernels
// the segments are encrypted from where they are, not copied first (a
// 4 MiB message's memmove); else they are copied and the record sealed.
func (c *Cipher) sealSegments(rec []byte, head int, segs [][]byte, from, to int, epi []byte) error {
	stream := aesgcm.Kernels()
	st := &c.stream
	if stream {
		if err := c.next(); err != nil {
			return err
		}
		st.InitSeal(c.aead, c.cur[:], nil)
		st.Update(rec[:head], rec[:head])
	}
	// put lays src at dst: encrypted there, or copied to be sealed after.
	put := func(dst, src []byte) {
		if stream {
			st.Update(dst, src)
		} else {
			copy(dst, src)
		}
	}
	var zero [Block]byte
	o := head
	for i := from; i < to; i++ {
		s := segment(segs, i)
		put(rec[o:o+len(s)], s)
		o += len(s)
		if p := int(pad16(uint64(len(s)))) - len(s); p > 0 {
			put(rec[o:o+p], zero[:p])
			o += p
		}
	}
	put(rec[o:o+len(epi)], epi)
	o += len(epi)
	if !stream {
		return c.seal(rec, o)
	}
	st.Tag(rec[o : o : o+TagSize])
	return nil
}

// open decrypts a record (ciphertext and tag) in place; the plaintext is
// rec[:len(rec)-TagSize].
func (c *Cipher) open(rec []byte) error {
	if err := c.next(); err != nil {
		return err
	}
	if _, err := c.aead.Open(rec[:0], c.cur[:], rec, nil); err != nil {
		return ErrAuthTag
	}
	return nil
}

// peekPreamble decrypts the first PreambleSize bytes of the next v2.0
// record into dst without authenticating it or consuming a nonce: v2.0
// seals the whole frame as one record, so the lengths must be read before
// the tag can be checked. GCM is CTR mode whose first data block uses
// counter 2 after the 96-bit nonce.
func (c *Cipher) peekPreamble(dst, src []byte) {
	var ctr, ks [16]byte
	copy(ctr[:], c.nonce[:])
	for i := 0; i < PreambleSize/16; i++ {
		binary.BigEndian.PutUint32(ctr[12:], uint32(2+i))
		c.block.Encrypt(ks[:], ctr[:])
		for j := 0; j < 16; j++ {
			dst[16*i+j] = src[16*i+j] ^ ks[j]
		}
	}
}
