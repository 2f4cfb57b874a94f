package crush

import "github.com/gomsgr/msgr/internal/rjenkins"

// HashRjenkins1 is the only hash CRUSH defines (bucket hash 0).
const HashRjenkins1 = 0

const hashSeed uint32 = 1315423911

// Hash32 is crush_hash32(CRUSH_HASH_RJENKINS1, a).
func Hash32(a uint32) uint32 {
	h := hashSeed ^ a
	b, x, y := a, uint32(231232), uint32(1232)
	b, x, h = rjenkins.Mix(b, x, h)
	y, a, h = rjenkins.Mix(y, a, h)
	return h
}

// Hash32_5 is crush_hash32_5(CRUSH_HASH_RJENKINS1, a, b, c, d, e).
func Hash32_5(a, b, c, d, e uint32) uint32 {
	h := hashSeed ^ a ^ b ^ c ^ d ^ e
	x, y := uint32(231232), uint32(1232)
	a, b, h = rjenkins.Mix(a, b, h)
	c, d, h = rjenkins.Mix(c, d, h)
	e, x, h = rjenkins.Mix(e, x, h)
	y, a, h = rjenkins.Mix(y, a, h)
	b, x, h = rjenkins.Mix(b, x, h)
	y, c, h = rjenkins.Mix(y, c, h)
	d, x, h = rjenkins.Mix(d, x, h)
	y, e, h = rjenkins.Mix(y, e, h)
	return h
}

// The bucket hash field selects the function; CRUSH returns 0 for unknown
// hash types, and so do these.
func hash2(t uint8, a, b uint32) uint32 {
	if t != HashRjenkins1 {
		return 0
	}
	return Hash32_2(a, b)
}

func hash3(t uint8, a, b, c uint32) uint32 {
	if t != HashRjenkins1 {
		return 0
	}
	return Hash32_3(a, b, c)
}

func hash4(t uint8, a, b, c, d uint32) uint32 {
	if t != HashRjenkins1 {
		return 0
	}
	return Hash32_4(a, b, c, d)
}
