// Package rjenkins holds Robert Jenkins' hash as Ceph uses it: the mix
// shared by CRUSH's hashes and the rjenkins object-name hash.
package rjenkins

// Mix is Bob Jenkins' 96-bit mix (lookup2), as both CRUSH (hash.c) and
// ceph_str_hash_rjenkins use it.
func Mix(a, b, c uint32) (uint32, uint32, uint32) {
	a -= b
	a -= c
	a ^= c >> 13
	b -= c
	b -= a
	b ^= a << 8
	c -= a
	c -= b
	c ^= b >> 13
	a -= b
	a -= c
	a ^= c >> 12
	b -= c
	b -= a
	b ^= a << 16
	c -= a
	c -= b
	c ^= b >> 5
	a -= b
	a -= c
	a ^= c >> 3
	b -= c
	b -= a
	b ^= a << 10
	c -= a
	c -= b
	c ^= b >> 15
	return a, b, c
}

func le32[T string | []byte](s T) uint32 {
	return uint32(s[0]) | uint32(s[1])<<8 | uint32(s[2])<<16 | uint32(s[3])<<24
}

// Str is ceph_str_hash_rjenkins (Bob Jenkins' lookup2 over the bytes).
func Str[T string | []byte](k T) uint32 {
	length := uint32(len(k))
	a, b, c := uint32(0x9e3779b9), uint32(0x9e3779b9), uint32(0)
	for len(k) >= 12 {
		a += le32(k[0:])
		b += le32(k[4:])
		c += le32(k[8:])
		a, b, c = Mix(a, b, c)
		k = k[12:]
	}
	c += length
	// The tail bytes fall through as in the C switch.
	switch len(k) {
	case 11:
		c += uint32(k[10]) << 24
		fallthrough
	case 10:
		c += uint32(k[9]) << 16
		fallthrough
	case 9:
		c += uint32(k[8]) << 8
		fallthrough
	case 8:
		b += uint32(k[7]) << 24
		fallthrough
	case 7:
		b += uint32(k[6]) << 16
		fallthrough
	case 6:
		b += uint32(k[5]) << 8
		fallthrough
	case 5:
		b += uint32(k[4])
		fallthrough
	case 4:
		a += uint32(k[3]) << 24
		fallthrough
	case 3:
		a += uint32(k[2]) << 16
		fallthrough
	case 2:
		a += uint32(k[1]) << 8
		fallthrough
	case 1:
		a += uint32(k[0])
	}
	_, _, c = Mix(a, b, c)
	return c
}
