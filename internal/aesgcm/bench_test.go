package aesgcm

import (
	"crypto/cipher"
	"strconv"
	"testing"
)

var benchSizes = []int{64, 256, 1024, 4096, 65536, 4 << 20}

func benchSeal(b *testing.B, aead cipher.AEAD) {
	for _, n := range benchSizes {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			buf := make([]byte, n+TagSize)
			nonce := make([]byte, NonceSize)
			b.SetBytes(int64(n))
			for b.Loop() {
				aead.Seal(buf[:0], nonce, buf[:n], nil)
			}
		})
	}
}

func benchOpen(b *testing.B, aead cipher.AEAD) {
	for _, n := range benchSizes {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			nonce := make([]byte, NonceSize)
			sealed := aead.Seal(nil, nonce, make([]byte, n), nil)
			out := make([]byte, n)
			b.SetBytes(int64(n))
			for b.Loop() {
				if _, err := aead.Open(out[:0], nonce, sealed, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func newBench(b *testing.B) *GCM {
	g, err := New(make([]byte, KeySize))
	if err != nil {
		b.Fatal(err)
	}
	return g
}

func BenchmarkSeal(b *testing.B)    { benchSeal(b, newBench(b)) }
func BenchmarkOpen(b *testing.B)    { benchOpen(b, newBench(b)) }
func BenchmarkStdSeal(b *testing.B) { benchSeal(b, stdGCM(b, make([]byte, KeySize))) }
func BenchmarkStdOpen(b *testing.B) { benchOpen(b, stdGCM(b, make([]byte, KeySize))) }

// BenchmarkStreamOpen: a 4 MiB record opened in pieces of a socket
// read's sizes.
func BenchmarkStreamOpen(b *testing.B) {
	g := newBench(b)
	const n = 4 << 20
	nonce := make([]byte, NonceSize)
	sealed := g.Seal(nil, nonce, make([]byte, n), nil)
	out := make([]byte, n)
	for _, piece := range []int{1500, 65536, 65536 + 7} {
		b.Run(strconv.Itoa(piece), func(b *testing.B) {
			var st Stream
			b.SetBytes(n)
			for b.Loop() {
				st.InitOpen(g, nonce, nil)
				for off := 0; off < n; off += piece {
					end := min(off+piece, n)
					st.Update(out[off:end], sealed[off:end])
				}
				if err := st.Verify(sealed[n:]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
