// Package aesgcm is AES-128-GCM with a 12-byte nonce and a 16-byte tag,
// byte for byte crypto/cipher's, computed where the CPU has them with
// 512-bit VAES (CTR, 32 blocks a step) and VPCLMULQDQ (GHASH, 64 blocks
// per reduction) kernels, stitched into one pass for sealing: several
// times crypto/cipher's throughput on large records. Elsewhere, and with
// -tags purego, it is crypto/cipher's GCM.
package aesgcm

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"unsafe"
)

const (
	KeySize   = 16 // AES-128
	NonceSize = 12
	TagSize   = 16
	BlockSize = 16

	roundKeysSize = 11 * BlockSize
	tableSize     = 144 * BlockSize // 64 powers of H, their Karatsuba factors, zeros for the tail loads (table.go)
	karatsuba     = 64 * BlockSize  // where the Karatsuba factors start (the kernels' 1024+off)

	// round is the kernels' granularity: they take whole multiples of
	// sixteen blocks (four 512-bit registers), stepping 512 bytes at a
	// time where they can.
	round = 16 * BlockSize
	// maxText is GCM's limit with a 12-byte nonce: 2^32-2 blocks.
	maxText = (1<<32 - 2) * BlockSize
)

// ErrOpen reports a record whose tag does not match: corrupted,
// truncated, or sealed under another key or nonce.
var ErrOpen = errors.New("aesgcm: message authentication failed")

// ErrKeySize reports a key that is not 16 bytes.
var ErrKeySize = errors.New("aesgcm: key is not 16 bytes")

// Kernels says Seal, Open and Stream run the AVX-512 kernels on this CPU.
// Without them Seal and Open are crypto/cipher's and Stream is slow.
func Kernels() bool { return haveAVX512 }

// GCM is one AES-128 key's GCM; it implements cipher.AEAD. Its methods
// only read it: any number of goroutines may use it at once.
type GCM struct {
	ks    [roundKeysSize]byte // round keys, for the kernels
	tbl   [tableSize]byte     // powers of H, for the kernels
	std   cipher.AEAD         // crypto/cipher's GCM: without the kernels, and for short records
	block cipher.Block        // without the kernels, Stream's CTR
	h     elem                // without the kernels, Stream's GHASH key
}

var _ cipher.AEAD = (*GCM)(nil)

// New returns key's GCM.
func New(key []byte) (*GCM, error) {
	if len(key) != KeySize {
		return nil, ErrKeySize
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	std, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	g := &GCM{std: std, block: block}
	var zero, h [BlockSize]byte
	if haveAVX512 {
		expandKey((*[KeySize]byte)(key), &g.ks)
		ctrAVX512(&g.ks, &zero, h[:], zero[:]) // H = E(K, 0^128)
		buildTable(&h, &g.tbl)
	} else {
		block.Encrypt(h[:], zero[:])
		g.h = elem{binary.BigEndian.Uint64(h[:8]), binary.BigEndian.Uint64(h[8:])}
	}
	return g, nil
}

func (g *GCM) NonceSize() int { return NonceSize }
func (g *GCM) Overhead() int  { return TagSize }

// Seal appends plaintext's encryption and tag to dst, as cipher.AEAD's
// Seal: to encrypt in place, pass plaintext[:0] as dst.
func (g *GCM) Seal(dst, nonce, plaintext, additionalData []byte) []byte {
	if len(nonce) != NonceSize {
		panic("aesgcm: incorrect nonce length given to GCM")
	}
	if uint64(len(plaintext)) > maxText {
		panic("aesgcm: message too large for GCM")
	}
	if !haveAVX512 || len(plaintext) < minKernel {
		return g.std.Seal(dst, nonce, plaintext, additionalData)
	}
	return g.sealAVX512(dst, nonce, plaintext, additionalData)
}

func (g *GCM) sealAVX512(dst, nonce, plaintext, additionalData []byte) []byte {
	ret, out := sliceForAppend(dst, len(plaintext)+TagSize)
	if inexactOverlap(out, plaintext) {
		panic("aesgcm: invalid buffer overlap")
	}
	var s state
	s.init(g, nonce, additionalData)
	s.encrypt(g, out, plaintext)
	s.tag(g, (*[TagSize]byte)(out[len(plaintext):]))
	return ret
}

// Open authenticates and decrypts ciphertext (with its tag at the end)
// and appends the plaintext to dst, as cipher.AEAD's Open: to decrypt in
// place, pass ciphertext[:0] as dst. On ErrOpen the bytes it would have
// appended are zeroed: no plaintext of an unauthenticated record is left.
func (g *GCM) Open(dst, nonce, ciphertext, additionalData []byte) ([]byte, error) {
	if len(nonce) != NonceSize {
		panic("aesgcm: incorrect nonce length given to GCM")
	}
	if len(ciphertext) < TagSize || uint64(len(ciphertext)) > maxText+TagSize {
		return nil, ErrOpen
	}
	if !haveAVX512 || len(ciphertext)-TagSize < minKernel {
		ret, err := g.std.Open(dst, nonce, ciphertext, additionalData)
		if err != nil {
			return nil, ErrOpen
		}
		return ret, nil
	}
	return g.openAVX512(dst, nonce, ciphertext, additionalData)
}

func (g *GCM) openAVX512(dst, nonce, ciphertext, additionalData []byte) ([]byte, error) {
	n := len(ciphertext) - TagSize
	ret, out := sliceForAppend(dst, n)
	if inexactOverlap(out, ciphertext) {
		panic("aesgcm: invalid buffer overlap")
	}
	var s state
	s.init(g, nonce, additionalData)
	s.decrypt(g, out, ciphertext[:n])
	var want [TagSize]byte
	s.tag(g, &want)
	if subtle.ConstantTimeCompare(want[:], ciphertext[n:]) != 1 {
		clear(out)
		return nil, ErrOpen
	}
	return ret, nil
}

// state is one record in progress: through the kernels, or (Stream
// without them) through crypto/aes and a bit-serial GHASH.
type state struct {
	j0    [BlockSize]byte // nonce || 1: its encryption masks the tag
	ctr   [BlockSize]byte // the next data block's counter block
	y     [BlockSize]byte // GHASH accumulator, byte-reversed
	adLen uint64
	n     uint64 // text bytes so far
}

func (s *state) init(g *GCM, nonce, additionalData []byte) {
	copy(s.j0[:], nonce)
	s.j0[15] = 1
	s.ctr = s.j0
	s.ctr[15] = 2
	s.y = [BlockSize]byte{}
	s.n = 0
	s.adLen = uint64(len(additionalData))
	if len(additionalData) > 0 {
		g.ghash(&s.y, additionalData)
	}
}

// encrypt encrypts src into dst; every call but the record's last must
// be whole blocks. Whole 256-byte rounds go through the seal kernel,
// the rest through the two separate ones.
func (s *state) encrypt(g *GCM, dst, src []byte) {
	dst = dst[:len(src)]
	s.n += uint64(len(src))
	if n := len(src) &^ (round - 1); n > 0 && haveAVX512 {
		sealAVX512(&g.ks, &g.tbl, &s.ctr, &s.y, dst[:n], src[:n])
		s.step(n)
		dst, src = dst[n:], src[n:]
	}
	if len(src) > 0 {
		g.ctr(&s.ctr, dst, src)
		g.ghash(&s.y, dst)
		s.step(len(src))
	}
}

// decrypt is encrypt's inverse; src may be dst.
func (s *state) decrypt(g *GCM, dst, src []byte) {
	dst = dst[:len(src)]
	s.n += uint64(len(src))
	if n := len(src) &^ (round - 1); n > 0 && haveAVX512 {
		openAVX512(&g.ks, &g.tbl, &s.ctr, &s.y, dst[:n], src[:n])
		s.step(n)
		dst, src = dst[n:], src[n:]
	}
	if len(src) > 0 {
		g.ghash(&s.y, src)
		g.ctr(&s.ctr, dst, src)
		s.step(len(src))
	}
}

// step moves the counter past n bytes' blocks.
func (s *state) step(n int) {
	c := binary.BigEndian.Uint32(s.ctr[12:])
	binary.BigEndian.PutUint32(s.ctr[12:], c+uint32((n+BlockSize-1)/BlockSize))
}

// tag hashes the lengths block and masks the hash with E(K, J0).
func (s *state) tag(g *GCM, tag *[TagSize]byte) {
	var lens [BlockSize]byte
	binary.BigEndian.PutUint64(lens[:8], s.adLen*8)
	binary.BigEndian.PutUint64(lens[8:], s.n*8)
	g.ghash(&s.y, lens[:])
	var S [BlockSize]byte
	for i := range S {
		S[i] = s.y[BlockSize-1-i]
	}
	g.ctr(&s.j0, tag[:], S[:])
}

// ctr is ctrAVX512, or without the kernels the same with crypto/aes
// block by block.
func (g *GCM) ctr(ctr *[BlockSize]byte, dst, src []byte) {
	if haveAVX512 {
		ctrAVX512(&g.ks, ctr, dst, src)
		return
	}
	c := *ctr
	var ks [BlockSize]byte
	for len(src) > 0 {
		g.block.Encrypt(ks[:], c[:])
		n := min(len(src), BlockSize)
		subtle.XORBytes(dst[:n], src[:n], ks[:n])
		binary.BigEndian.PutUint32(c[12:], binary.BigEndian.Uint32(c[12:])+1)
		dst, src = dst[n:], src[n:]
	}
}

// ghash is ghashAVX512, or without the kernels ghashGeneric: slow, but
// Seal and Open do not take it (they are crypto/cipher's there); only
// Stream does.
func (g *GCM) ghash(y *[BlockSize]byte, p []byte) {
	if haveAVX512 {
		ghashAVX512(&g.tbl, y, p)
		return
	}
	ghashGeneric(g.h, y, p)
}

// ghashGeneric is SP 800-38D's GHASH bit by bit, on the kernels'
// byte-reversed accumulator.
func ghashGeneric(h elem, y *[BlockSize]byte, p []byte) {
	acc := elem{binary.LittleEndian.Uint64(y[8:]), binary.LittleEndian.Uint64(y[:8])}
	for len(p) > 0 {
		var b [BlockSize]byte
		n := copy(b[:], p)
		acc.hi ^= binary.BigEndian.Uint64(b[:8])
		acc.lo ^= binary.BigEndian.Uint64(b[8:])
		acc = acc.mul(h)
		p = p[n:]
	}
	binary.LittleEndian.PutUint64(y[8:], acc.hi)
	binary.LittleEndian.PutUint64(y[:8], acc.lo)
}

// sliceForAppend extends in by n bytes, reallocating only if its capacity
// is short, and returns the whole and the new part.
func sliceForAppend(in []byte, n int) (head, tail []byte) {
	if total := len(in) + n; cap(in) >= total {
		head = in[:total]
	} else {
		head = make([]byte, total)
		copy(head, in)
	}
	return head, head[len(in):]
}

// inexactOverlap says x and y share memory without starting at the same
// byte: the kernels may read a block after writing over it.
func inexactOverlap(x, y []byte) bool {
	if len(x) == 0 || len(y) == 0 || &x[0] == &y[0] {
		return false
	}
	x0, y0 := uintptr(unsafe.Pointer(&x[0])), uintptr(unsafe.Pointer(&y[0]))
	return x0 <= y0+uintptr(len(y)-1) && y0 <= x0+uintptr(len(x)-1)
}

// minKernel is the shortest text the kernels take: below it
// crypto/cipher's GCM is as fast (BenchmarkSeal, BenchmarkStdSeal).
const minKernel = 256
