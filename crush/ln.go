package crush

import "math/bits"

// crushLn returns 2^44*log2(xin+1) in fixed point, exactly as mapper.c's
// crush_ln, for xin in [0, 0xffff].
func crushLn(xin uint32) uint64 {
	x := (xin & 0xffff) + 1
	iexpon := 15
	if x&0x18000 == 0 {
		// Normalise so that bit 15 is set.
		shift := bits.LeadingZeros32(x&0x1ffff) - 16
		x <<= uint(shift)
		iexpon = 15 - shift
	}
	index1 := int(x>>8) << 1
	rh := uint64(rhlhTable[index1-256])
	lh := uint64(rhlhTable[index1+1-256])
	xl64 := (uint64(x) * rh) >> 48
	result := uint64(iexpon) << (12 + 32)
	index2 := int(xl64 & 0xff)
	lh += uint64(llTable[index2])
	lh >>= 48 - 12 - 32
	return result + lh
}
