package aesgcm

import "math/bits"

// expandKey writes AES-128's eleven round keys (FIPS 197 §5.2), in the
// byte order AES-NI's round instructions take.
func expandKey(key *[KeySize]byte, ks *[roundKeysSize]byte) {
	copy(ks[:KeySize], key[:])
	rcon := byte(1)
	for i := KeySize; i < roundKeysSize; i += 4 {
		t := [4]byte{ks[i-4], ks[i-3], ks[i-2], ks[i-1]}
		if i%KeySize == 0 {
			t = [4]byte{subByte(t[1]) ^ rcon, subByte(t[2]), subByte(t[3]), subByte(t[0])}
			rcon = gfMul8(rcon, 2)
		}
		for j := range 4 {
			ks[i+j] = ks[i-KeySize+j] ^ t[j]
		}
	}
}

// subByte is AES's S-box, computed (inverse in GF(2^8), then the affine
// map) rather than tabulated: the key schedule needs 40 bytes of it once
// per key.
func subByte(a byte) byte {
	inv := byte(0)
	if a != 0 {
		inv = 1
		x := a
		for e := 254; e > 0; e >>= 1 { // a^254 = a^-1
			if e&1 != 0 {
				inv = gfMul8(inv, x)
			}
			x = gfMul8(x, x)
		}
	}
	return inv ^ bits.RotateLeft8(inv, 1) ^ bits.RotateLeft8(inv, 2) ^
		bits.RotateLeft8(inv, 3) ^ bits.RotateLeft8(inv, 4) ^ 0x63
}

// gfMul8 multiplies in AES's GF(2^8), modulo x^8+x^4+x^3+x+1.
func gfMul8(a, b byte) byte {
	var p byte
	for ; b != 0; b >>= 1 {
		if b&1 != 0 {
			p ^= a
		}
		carry := a & 0x80
		a <<= 1
		if carry != 0 {
			a ^= 0x1b
		}
	}
	return p
}
