package aesgcm

import (
	"bytes"
	"crypto/aes"
	"encoding/binary"
	"encoding/hex"
	"math/rand/v2"
	"testing"
)

// TestExpandKey: FIPS 197 Appendix A.1's schedule, first and last words.
func TestExpandKey(t *testing.T) {
	key, _ := hex.DecodeString("2b7e151628aed2a6abf7158809cf4f3c")
	var ks [roundKeysSize]byte
	expandKey((*[KeySize]byte)(key), &ks)
	for _, c := range []struct {
		word int
		want string
	}{{4, "a0fafe17"}, {5, "88542cb1"}, {23, "11f915bc"}, {40, "d014f9a8"}, {43, "b6630ca6"}} {
		if got := hex.EncodeToString(ks[4*c.word : 4*c.word+4]); got != c.want {
			t.Errorf("w[%d] = %s, want %s", c.word, got, c.want)
		}
	}
	if subByte(0) != 0x63 || subByte(0x53) != 0xed || subByte(0xff) != 0x16 {
		t.Errorf("S-box: %#x %#x %#x", subByte(0), subByte(0x53), subByte(0xff))
	}
}

// TestCTRKernel: the CTR kernel's keystream is crypto/aes's encryption of
// the counter blocks, the counter wrapping mod 2^32 within its last four
// bytes, for every length up to three rounds and a few more.
func TestCTRKernel(t *testing.T) {
	if !haveAVX512 {
		t.Skip("no AVX-512 kernels on this CPU")
	}
	rng := rand.New(rand.NewPCG(7, 8))
	for i := range 800 {
		n := i
		if i >= 770 {
			n = rng.IntN(10000)
		}
		key := randBytes(rng, KeySize)
		var ks [roundKeysSize]byte
		expandKey((*[KeySize]byte)(key), &ks)
		block, _ := aes.NewCipher(key)
		var ctr [BlockSize]byte
		copy(ctr[:], randBytes(rng, BlockSize))
		if i%5 == 0 {
			binary.BigEndian.PutUint32(ctr[12:], 0xffffffff-uint32(rng.IntN(20)))
		}
		src := randBytes(rng, n)
		dst := make([]byte, n+1)
		dst[n] = 0x5a
		ctrAVX512(&ks, &ctr, dst[:n], src)
		want := make([]byte, n)
		c := ctr
		var ksb [BlockSize]byte
		for off := 0; off < n; off += BlockSize {
			block.Encrypt(ksb[:], c[:])
			for j := off; j < min(off+BlockSize, n); j++ {
				want[j] = src[j] ^ ksb[j-off]
			}
			binary.BigEndian.PutUint32(c[12:], binary.BigEndian.Uint32(c[12:])+1)
		}
		if !bytes.Equal(dst[:n], want) {
			t.Fatalf("%d bytes from counter %x: keystream differs from crypto/aes", n, ctr)
		}
		if dst[n] != 0x5a {
			t.Fatalf("%d bytes: wrote past the end", n)
		}
	}
}

// TestGHASHKernel: the GHASH kernel equals the bit-serial GHASH from any
// accumulator, for every length up to three 512-byte steps and a few
// more.
func TestGHASHKernel(t *testing.T) {
	if !haveAVX512 {
		t.Skip("no AVX-512 kernels on this CPU")
	}
	rng := rand.New(rand.NewPCG(9, 10))
	for i := range 1600 {
		n := i
		if i >= 1560 {
			n = rng.IntN(10000)
		}
		g, err := New(randBytes(rng, KeySize))
		if err != nil {
			t.Fatal(err)
		}
		var h [BlockSize]byte
		g.block.Encrypt(h[:], h[:])
		var y, want [BlockSize]byte
		copy(y[:], randBytes(rng, BlockSize))
		want = y
		p := randBytes(rng, n)
		ghashAVX512(&g.tbl, &y, p)
		ghashGeneric(elem{binary.BigEndian.Uint64(h[:8]), binary.BigEndian.Uint64(h[8:])}, &want, p)
		if y != want {
			t.Fatalf("%d bytes: GHASH %x, want %x", n, y, want)
		}
	}
}
