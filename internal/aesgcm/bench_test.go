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
