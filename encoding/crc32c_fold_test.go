package encoding

import (
	"hash/crc32"
	"math/bits"
	"math/rand/v2"
	"testing"
)

// direct is the standard library's CRC-32C, without folding.
func direct(seed uint32, p []byte) uint32 { return ^crc32.Update(^seed, castagnoli, p) }

// TestCRC32CFold: CRC32C with the folding kernel (where the CPU has one)
// equals the direct crc for lengths around every threshold, at every
// alignment, from several seeds, and carried on over pieces.
func TestCRC32CFold(t *testing.T) {
	if !canFold {
		t.Skip("no folding kernel on this CPU")
	}
	rng := rand.New(rand.NewPCG(5, 6))
	buf := make([]byte, 4<<20+300)
	for i := range buf {
		buf[i] = byte(rng.Uint32())
	}
	lengths := []int{1, 255, 256, 257, 511, 512, 513, 1000, 4096, 65536, 65536 + 255, 1 << 20, 4 << 20}
	for range 50 {
		lengths = append(lengths, rng.IntN(200000))
	}
	for _, n := range lengths {
		for _, align := range []int{0, 1, 7, 63} {
			p := buf[align : align+n]
			for _, seed := range []uint32{0, 0xffffffff, rng.Uint32()} {
				if got, want := CRC32C(seed, p), direct(seed, p); got != want {
					t.Fatalf("%d bytes at +%d from %#x: %#x, want %#x", n, align, seed, got, want)
				}
			}
		}
	}
	if a := testing.AllocsPerRun(10, func() { CRC32C(0, buf[:65536]) }); a != 0 {
		t.Fatalf("%v allocations per crc", a)
	}
	p := buf[:3<<20]
	cut := 1<<20 + 12345
	if a, b := CRC32C(CRC32C(9, p[:cut]), p[cut:]), direct(9, p); a != b {
		t.Fatalf("carried on %#x, direct %#x", a, b)
	}
	// All ones and all zeros (the folds' extremes).
	for _, v := range []byte{0, 0xff} {
		q := make([]byte, 8192)
		for i := range q {
			q[i] = v
		}
		if got, want := CRC32C(0xffffffff, q), direct(0xffffffff, q); got != want {
			t.Fatalf("all %#x: %#x, want %#x", v, got, want)
		}
	}
}

// xnmod returns x^n mod P (P: CRC-32C's polynomial), bit d the
// coefficient of x^d.
func xnmod(n int) uint32 {
	p := bits.Reverse32(crc32.Castagnoli) // normal form: x^0 in bit 0
	r := uint32(1)
	for range n {
		top := r & 0x80000000
		r <<= 1
		if top != 0 {
			r ^= p
		}
	}
	return r
}

// TestFoldConstants: the constants in crc32c_amd64.s are x^(F+63) mod P
// and x^(F-1) mod P bit-reflected to the top of a qword, for F = 2048
// and 512 (crc32c_fold.go).
func TestFoldConstants(t *testing.T) {
	k := func(n int) uint64 { return bits.Reverse64(uint64(xnmod(n))) }
	for _, tc := range []struct {
		f      int
		lo, hi uint64
	}{
		{2048, 0xe9a5d8be00000000, 0x1426a81500000000},
		{512, 0x1c19243b00000000, 0x75bba45b00000000},
	} {
		if lo, hi := k(tc.f+63), k(tc.f-1); lo != tc.lo || hi != tc.hi {
			t.Errorf("fold by %d: %#x %#x, want %#x %#x", tc.f, lo, hi, tc.lo, tc.hi)
		}
	}
}

// FuzzCRC32C: any bytes from any seed, folded or not, give the direct crc.
func FuzzCRC32C(f *testing.F) {
	f.Add(uint32(0), make([]byte, 2000))
	f.Add(uint32(0xffffffff), []byte("123456789"))
	f.Fuzz(func(t *testing.T, seed uint32, p []byte) {
		if got, want := CRC32C(seed, p), direct(seed, p); got != want {
			t.Fatalf("%d bytes from %#x: %#x, want %#x", len(p), seed, got, want)
		}
	})
}

// BenchmarkCRC32C compares CRC32C (folding where it may) with the direct
// crc at the sizes messages carry.
func BenchmarkCRC32C(b *testing.B) {
	for _, n := range []int{256, 512, 1024, 2048, 4096, 64 << 10, 4 << 20} {
		p := make([]byte, n)
		b.Run("direct/"+itoa(n), func(b *testing.B) {
			b.SetBytes(int64(n))
			for b.Loop() {
				direct(0xffffffff, p)
			}
		})
		b.Run("CRC32C/"+itoa(n), func(b *testing.B) {
			b.SetBytes(int64(n))
			for b.Loop() {
				CRC32C(0xffffffff, p)
			}
		})
	}
}

func itoa(n int) string {
	if n >= 1<<20 {
		return string(rune('0'+n>>20)) + "M"
	}
	s := ""
	for n > 0 {
		s = string(rune('0'+n%10)) + s
		n /= 10
	}
	return s
}
