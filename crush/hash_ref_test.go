package crush

import (
	"math/rand/v2"

	"github.com/gomsgr/msgr/internal/rjenkins"
	"testing"
)

// refHash32_2 is crush_hash32_2(CRUSH_HASH_RJENKINS1, a, b).
func refHash32_2(a, b uint32) uint32 {
	h := hashSeed ^ a ^ b
	x, y := uint32(231232), uint32(1232)
	a, b, h = rjenkins.Mix(a, b, h)
	x, a, h = rjenkins.Mix(x, a, h)
	b, y, h = rjenkins.Mix(b, y, h)
	return h
}

// refHash32_3 is crush_hash32_3(CRUSH_HASH_RJENKINS1, a, b, c).
func refHash32_3(a, b, c uint32) uint32 {
	h := hashSeed ^ a ^ b ^ c
	x, y := uint32(231232), uint32(1232)
	a, b, h = rjenkins.Mix(a, b, h)
	c, x, h = rjenkins.Mix(c, x, h)
	y, a, h = rjenkins.Mix(y, a, h)
	b, x, h = rjenkins.Mix(b, x, h)
	y, c, h = rjenkins.Mix(y, c, h)
	return h
}

// refHash32_4 is crush_hash32_4(CRUSH_HASH_RJENKINS1, a, b, c, d).
func refHash32_4(a, b, c, d uint32) uint32 {
	h := hashSeed ^ a ^ b ^ c ^ d
	x, y := uint32(231232), uint32(1232)
	a, b, h = rjenkins.Mix(a, b, h)
	c, d, h = rjenkins.Mix(c, d, h)
	a, x, h = rjenkins.Mix(a, x, h)
	y, b, h = rjenkins.Mix(y, b, h)
	c, x, h = rjenkins.Mix(c, x, h)
	y, d, h = rjenkins.Mix(y, d, h)
	return h
}

func TestUnrolledHashesMatchMix(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 200000; i++ {
		a, b, c, d := r.Uint32(), r.Uint32(), r.Uint32(), r.Uint32()
		if i < 1000 {
			a, b = uint32(i), uint32(-i)
		}
		if Hash32_2(a, b) != refHash32_2(a, b) || Hash32_3(a, b, c) != refHash32_3(a, b, c) ||
			Hash32_4(a, b, c, d) != refHash32_4(a, b, c, d) {
			t.Fatalf("unrolled hash differs at %d %d %d %d", a, b, c, d)
		}
	}
}
