package aesgcm

import "crypto/subtle"

// Stream seals or opens one record piece by piece, in pieces of any
// length: Seal/Open's bytes, so that a record can be encrypted as it is
// produced, or decrypted as it arrives with its tag checked before any of
// it is delivered. A Stream is reused record after record (InitSeal,
// InitOpen); its zero value is ready for them. Owned by one goroutine.
//
// Without the AVX-512 kernels a Stream hashes bit by bit, several times
// slower than crypto/cipher: prefer Seal and Open there.
type Stream struct {
	g       *GCM
	s       state
	ks      [BlockSize]byte // the keystream of the block in progress
	cipher  [BlockSize]byte // its ciphertext so far, for GHASH
	partial int             // bytes of the block in progress done, < BlockSize
	opening bool
}

// InitSeal starts sealing a record under g with nonce (NonceSize bytes)
// and additionalData.
func (st *Stream) InitSeal(g *GCM, nonce, additionalData []byte) {
	st.init(g, nonce, additionalData, false)
}

// InitOpen starts opening a record; Update then takes its ciphertext
// without the tag, and Verify the tag.
func (st *Stream) InitOpen(g *GCM, nonce, additionalData []byte) {
	st.init(g, nonce, additionalData, true)
}

func (st *Stream) init(g *GCM, nonce, additionalData []byte, opening bool) {
	if len(nonce) != NonceSize {
		panic("aesgcm: incorrect nonce length given to GCM")
	}
	st.g, st.opening, st.partial = g, opening, 0
	st.s.init(g, nonce, additionalData)
}

// Update encrypts (sealing) or decrypts (opening) src into dst, which must
// be at least as long; dst may be src, but must not otherwise overlap it.
// Decrypted bytes are unauthenticated until Verify returns nil.
func (st *Stream) Update(dst, src []byte) {
	if uint64(len(src)) > maxText-st.s.n {
		panic("aesgcm: message too large for GCM")
	}
	dst = dst[:len(src)]
	if inexactOverlap(dst, src) {
		panic("aesgcm: invalid buffer overlap")
	}
	g := st.g
	if st.partial > 0 { // finish the block in progress
		n := st.xorPartial(dst, src)
		dst, src = dst[n:], src[n:]
		if st.partial == BlockSize {
			g.ghash(&st.s.y, st.cipher[:])
			st.partial = 0
		}
	}
	if whole := len(src) &^ (BlockSize - 1); whole > 0 {
		if st.opening {
			st.s.decrypt(g, dst[:whole], src[:whole])
		} else {
			st.s.encrypt(g, dst[:whole], src[:whole])
		}
		dst, src = dst[whole:], src[whole:]
	}
	if len(src) > 0 { // start a block
		var zero [BlockSize]byte
		g.ctr(&st.s.ctr, st.ks[:], zero[:])
		st.s.step(BlockSize)
		st.xorPartial(dst, src)
	}
}

// xorPartial carries the block in progress on over src's first bytes and
// returns how many it took.
func (st *Stream) xorPartial(dst, src []byte) int {
	n := min(len(src), BlockSize-st.partial)
	for i := range n {
		c := src[i]
		p := c ^ st.ks[st.partial+i]
		if !st.opening {
			c = p
		}
		st.cipher[st.partial+i] = c
		dst[i] = p
	}
	st.partial += n
	st.s.n += uint64(n)
	return n
}

// finish hashes the last partial block and computes the tag.
func (st *Stream) finish(tag *[TagSize]byte) {
	if st.partial > 0 {
		st.g.ghash(&st.s.y, st.cipher[:st.partial])
		st.partial = 0
	}
	st.s.tag(st.g, tag)
}

// Tag ends a sealed record: it appends the tag to dst.
func (st *Stream) Tag(dst []byte) []byte {
	var tag [TagSize]byte
	st.finish(&tag)
	return append(dst, tag[:]...)
}

// Verify ends an opened record: nil if tag is its tag (compared in
// constant time), else ErrOpen, and then the bytes Update produced must
// be discarded.
func (st *Stream) Verify(tag []byte) error {
	var want [TagSize]byte
	st.finish(&want)
	if subtle.ConstantTimeCompare(want[:], tag) != 1 {
		return ErrOpen
	}
	return nil
}
