package aesgcm

import "encoding/binary"

// The GHASH kernel multiplies by carry-less multiplication on
// byte-reversed blocks: a field element (SP 800-38D: bit 7 of byte 0 is
// the coefficient of x^0) loaded big endian is a 128-bit integer whose
// bit 127-i is the coefficient of x^i. The carry-less product of two such
// integers lands one bit short of that form for the 256-bit product, so
// the table holds each power of H times x^-1 (the integer shifted left by
// one, reduced by x^-1 mod P = 0xc2000...01), and the product comes out
// right (as in Gueron and Kounavis, "Intel Carry-Less Multiplication
// Instruction and its Usage for Computing the GCM Mode").

// elem is a GHASH field element: hi is bytes 0..7 big endian, lo 8..15.
type elem struct{ hi, lo uint64 }

// mul is SP 800-38D's Algorithm 1, bit by bit: only the table is built
// with it.
func (x elem) mul(y elem) elem {
	var z elem
	v := y
	for i := range 128 {
		var bit uint64
		if i < 64 {
			bit = x.hi >> (63 - i) & 1
		} else {
			bit = x.lo >> (127 - i) & 1
		}
		if bit != 0 {
			z.hi ^= v.hi
			z.lo ^= v.lo
		}
		lsb := v.lo & 1
		v.lo = v.lo>>1 | v.hi<<63
		v.hi >>= 1
		if lsb != 0 {
			v.hi ^= 0xe1 << 56
		}
	}
	return z
}

// buildTable fills tbl with H^64, H^63, ..., H^1 in the kernels' form
// (16 bytes each, low qword first), then the same powers' two qwords
// XORed together (Karatsuba's middle factor, in both qwords), then
// zeros: the kernels multiply a run of n <= 64 blocks by the entries from
// 64-n on of the first two parts, and a short run's loads read on into
// the next part.
func buildTable(h *[BlockSize]byte, tbl *[tableSize]byte) {
	*tbl = [tableSize]byte{}
	H := elem{binary.BigEndian.Uint64(h[:8]), binary.BigEndian.Uint64(h[8:])}
	p := H
	for k := 1; k <= 64; k++ {
		e := p
		hi, lo := e.hi<<1|e.lo>>63, e.lo<<1
		if e.hi>>63 != 0 {
			hi ^= 0xc2 << 56
			lo ^= 1
		}
		off := (64 - k) * BlockSize
		binary.LittleEndian.PutUint64(tbl[off:], lo)
		binary.LittleEndian.PutUint64(tbl[off+8:], hi)
		binary.LittleEndian.PutUint64(tbl[karatsuba+off:], lo^hi)
		binary.LittleEndian.PutUint64(tbl[karatsuba+off+8:], lo^hi)
		p = p.mul(H)
	}
}
