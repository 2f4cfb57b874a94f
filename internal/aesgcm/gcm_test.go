package aesgcm

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"errors"
	"math/rand/v2"
	"testing"
)

func stdGCM(t testing.TB, key []byte) cipher.AEAD {
	block, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	return aead
}

func randBytes(rng *rand.Rand, n int) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(rng.Uint32())
	}
	return p
}

// testLengths are the text lengths around every threshold: the block,
// the kernels' 64-byte registers and 256-byte rounds, the 4096, and a
// few MiB.
func testLengths(rng *rand.Rand) []int {
	var ls []int
	for n := 0; n <= 600; n++ {
		ls = append(ls, n)
	}
	for _, base := range []int{1024, 4096, 2 * 4096, 3*4096 + 256, 65536, 1 << 20, 4 << 20, 5 << 20} {
		for d := -17; d <= 17; d++ {
			if base+d >= 0 {
				ls = append(ls, base+d)
			}
		}
	}
	for range 40 {
		ls = append(ls, rng.IntN(300000))
	}
	return ls
}

// TestSealOpenStd: Seal and Open give crypto/cipher's bytes for every
// test length, at several alignments, with and without additional data,
// in place and not, under random keys and nonces.
func TestSealOpenStd(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	lengths := testLengths(rng)
	if testing.Short() || !haveAVX512 { // without the kernels this is crypto/cipher against itself
		lengths = lengths[:300]
	}
	big := randBytes(rng, 5<<20+64+TagSize)
	for i, n := range lengths {
		key := randBytes(rng, KeySize)
		nonce := randBytes(rng, NonceSize)
		g, err := New(key)
		if err != nil {
			t.Fatal(err)
		}
		std := stdGCM(t, key)
		align := []int{0, 1, 7, 63}[i%4]
		var ad []byte
		if i%3 == 1 {
			ad = randBytes(rng, rng.IntN(300))
		}
		pt := big[align : align+n]
		want := std.Seal(nil, nonce, pt, ad)

		got := g.Seal(make([]byte, 0, n+TagSize+align)[:0], nonce, pt, ad)
		if !bytes.Equal(got, want) {
			t.Fatalf("Seal %d bytes at +%d, ad %d: differs from crypto/cipher", n, align, len(ad))
		}
		if haveAVX512 { // the kernels whatever the length
			if got := g.sealAVX512(nil, nonce, pt, ad); !bytes.Equal(got, want) {
				t.Fatalf("sealAVX512 %d bytes at +%d, ad %d: differs from crypto/cipher", n, align, len(ad))
			}
			if opened, err := g.openAVX512(nil, nonce, want, ad); err != nil || !bytes.Equal(opened, pt) {
				t.Fatalf("openAVX512 %d bytes: %v or plaintext differs", n, err)
			}
		}
		// In place, at an offset.
		buf := make([]byte, align+n+TagSize)
		copy(buf[align:], pt)
		got = g.Seal(buf[align:align], nonce, buf[align:align+n], ad)
		if !bytes.Equal(got, want) || &got[0] != &buf[align] {
			t.Fatalf("Seal in place %d bytes at +%d: differs from crypto/cipher", n, align)
		}
		opened, err := g.Open(nil, nonce, want, ad)
		if err != nil || !bytes.Equal(opened, pt) {
			t.Fatalf("Open %d bytes: %v or plaintext differs", n, err)
		}
		opened, err = g.Open(buf[align:align], nonce, buf[align:align+n+TagSize], ad)
		if err != nil || !bytes.Equal(opened, pt) {
			t.Fatalf("Open in place %d bytes: %v or plaintext differs", n, err)
		}
	}
}

// TestOpenTampered: flipping any one bit of the ciphertext, the tag or
// the additional data fails Open with ErrOpen and leaves the output
// zeroed, in place or not.
func TestOpenTampered(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{0, 1, 15, 16, 17, 255, 256, 257, 1000, 4096 + 33} {
		key, nonce := randBytes(rng, KeySize), randBytes(rng, NonceSize)
		g, err := New(key)
		if err != nil {
			t.Fatal(err)
		}
		ad := randBytes(rng, 13)
		sealed := g.Seal(nil, nonce, randBytes(rng, n), ad)
		bitsToFlip := make([]int, 0, 64)
		for range 40 {
			bitsToFlip = append(bitsToFlip, rng.IntN(8*len(sealed)))
		}
		for b := 8 * n; b < 8*len(sealed); b++ { // every tag bit
			bitsToFlip = append(bitsToFlip, b)
		}
		for _, b := range bitsToFlip {
			bad := bytes.Clone(sealed)
			bad[b/8] ^= 1 << (b % 8)
			out := make([]byte, n)
			for i := range out {
				out[i] = 0xaa
			}
			if _, err := g.Open(out[:0], nonce, bad, ad); !errors.Is(err, ErrOpen) {
				t.Fatalf("%d bytes, bit %d flipped: %v, want ErrOpen", n, b, err)
			}
			if !bytes.Equal(out, make([]byte, n)) {
				t.Fatalf("%d bytes, bit %d flipped: output not zeroed", n, b)
			}
			if haveAVX512 {
				for i := range out {
					out[i] = 0xaa
				}
				if _, err := g.openAVX512(out[:0], nonce, bad, ad); !errors.Is(err, ErrOpen) || !bytes.Equal(out, make([]byte, n)) {
					t.Fatalf("%d bytes, bit %d flipped: openAVX512 %v or output not zeroed", n, b, err)
				}
			}
			if _, err := g.Open(bad[:0], nonce, bad, ad); !errors.Is(err, ErrOpen) {
				t.Fatalf("%d bytes in place, bit %d flipped: %v", n, b, err)
			}
			if !bytes.Equal(bad[:n], make([]byte, n)) {
				t.Fatalf("%d bytes in place, bit %d flipped: plaintext left", n, b)
			}
		}
		badAD := bytes.Clone(ad)
		badAD[rng.IntN(len(ad))] ^= 0x10
		if _, err := g.Open(nil, nonce, sealed, badAD); !errors.Is(err, ErrOpen) {
			t.Fatalf("%d bytes, additional data changed: %v", n, err)
		}
		badNonce := bytes.Clone(nonce)
		badNonce[11] ^= 1
		if _, err := g.Open(nil, badNonce, sealed, ad); !errors.Is(err, ErrOpen) {
			t.Fatalf("%d bytes, other nonce: %v", n, err)
		}
		if _, err := g.Open(nil, nonce, sealed[:len(sealed)-1], ad); !errors.Is(err, ErrOpen) {
			t.Fatalf("%d bytes, truncated: %v", n, err)
		}
	}
	g, _ := New(make([]byte, KeySize))
	if _, err := g.Open(nil, make([]byte, NonceSize), make([]byte, TagSize-1), nil); !errors.Is(err, ErrOpen) {
		t.Fatalf("shorter than a tag: %v", err)
	}
}

func TestNewKeySize(t *testing.T) {
	for _, n := range []int{0, 15, 17, 24, 32} {
		if _, err := New(make([]byte, n)); !errors.Is(err, ErrKeySize) {
			t.Errorf("%d-byte key: %v, want ErrKeySize", n, err)
		}
	}
}

// TestAllocs: Seal and Open into buffers of the right capacity allocate
// nothing.
func TestAllocs(t *testing.T) {
	g, _ := New(make([]byte, KeySize))
	nonce := make([]byte, NonceSize)
	for _, n := range []int{100, 65536} {
		buf := make([]byte, n+TagSize)
		if a := testing.AllocsPerRun(20, func() { g.Seal(buf[:0], nonce, buf[:n], nil) }); a != 0 {
			t.Errorf("Seal %d bytes: %v allocations", n, a)
		}
		sealed := g.Seal(nil, nonce, make([]byte, n), nil)
		if a := testing.AllocsPerRun(20, func() {
			if _, err := g.Open(buf[:0], nonce, sealed, nil); err != nil {
				t.Fatal(err)
			}
		}); a != 0 {
			t.Errorf("Open %d bytes: %v allocations", n, a)
		}
	}
}
