package aesgcm

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"
)

// pieces cuts n bytes at random points: single bytes, blocks, and runs
// across the kernels' rounds.
func pieces(rng *rand.Rand, n int) []int {
	var cuts []int
	for n > 0 {
		var k int
		switch rng.IntN(4) {
		case 0:
			k = 1 + rng.IntN(17)
		case 1:
			k = BlockSize * (1 + rng.IntN(3))
		case 2:
			k = 1 + rng.IntN(700)
		default:
			k = 1 + rng.IntN(70000)
		}
		k = min(k, n)
		cuts = append(cuts, k)
		n -= k
	}
	return cuts
}

// TestStream: a record sealed or opened piece by piece, at random cuts,
// in place and not, is crypto/cipher's; Verify refuses a changed
// ciphertext or tag.
func TestStream(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	lengths := []int{0, 1, 15, 16, 17, 255, 256, 257, 300, 1000, 4096 + 7, 65536 + 3, 1<<20 + 9}
	if !haveAVX512 { // bit-serial GHASH
		lengths = lengths[:9]
	}
	var st Stream
	for i, n := range lengths {
		for rep := range 3 {
			key, nonce := randBytes(rng, KeySize), randBytes(rng, NonceSize)
			g, err := New(key)
			if err != nil {
				t.Fatal(err)
			}
			var ad []byte
			if rep == 1 {
				ad = randBytes(rng, rng.IntN(100))
			}
			pt := randBytes(rng, n)
			want := stdGCM(t, key).Seal(nil, nonce, pt, ad)
			inPlace := (i+rep)%2 == 0

			st.InitSeal(g, nonce, ad)
			out := make([]byte, n)
			if inPlace {
				copy(out, pt)
			}
			off := 0
			for _, k := range pieces(rng, n) {
				src := pt[off : off+k]
				if inPlace {
					src = out[off : off+k]
				}
				st.Update(out[off:off+k], src)
				off += k
			}
			got := st.Tag(out)
			if !bytes.Equal(got, want) {
				t.Fatalf("%d bytes (in place %v): sealed in pieces differs from crypto/cipher", n, inPlace)
			}

			st.InitOpen(g, nonce, ad)
			dec := make([]byte, n)
			if inPlace {
				copy(dec, want[:n])
			}
			off = 0
			for _, k := range pieces(rng, n) {
				src := want[off : off+k]
				if inPlace {
					src = dec[off : off+k]
				}
				st.Update(dec[off:off+k], src)
				off += k
			}
			if err := st.Verify(want[n:]); err != nil || !bytes.Equal(dec, pt) {
				t.Fatalf("%d bytes (in place %v): opened in pieces: %v, or other bytes", n, inPlace, err)
			}

			bad := bytes.Clone(want)
			bad[rng.IntN(len(bad))] ^= 1 << rng.IntN(8)
			st.InitOpen(g, nonce, ad)
			st.Update(make([]byte, n), bad[:n])
			if err := st.Verify(bad[n:]); !errors.Is(err, ErrOpen) {
				t.Fatalf("%d bytes, one bit changed: %v, want ErrOpen", n, err)
			}
		}
	}
}

// TestStreamAllocs: a record through a Stream allocates nothing (with the
// kernels: the fallback's CTR goes through cipher.Block, an interface).
func TestStreamAllocs(t *testing.T) {
	if !haveAVX512 {
		t.Skip("no AVX-512 kernels on this CPU")
	}
	g, _ := New(make([]byte, KeySize))
	nonce := make([]byte, NonceSize)
	buf := make([]byte, 5000+TagSize)
	var st Stream
	if a := testing.AllocsPerRun(20, func() {
		st.InitSeal(g, nonce, nil)
		st.Update(buf[:1000], buf[:1000])
		st.Update(buf[1000:1003], buf[1000:1003])
		st.Update(buf[1003:5000], buf[1003:5000])
		st.Tag(buf[:5000])
	}); a != 0 {
		t.Errorf("%v allocations per record", a)
	}
}
