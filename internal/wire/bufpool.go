package wire

import (
	"math/bits"
	"sync"
)

// Receive buffers are pooled by size class (4 KiB doubling to 256 KiB), so
// that a Decoder holds one only while it has unconsumed bytes (Release):
// an idle connection then costs no buffer at all. Bigger buffers are
// plain allocations, left to the garbage collector.
const (
	minBufShift = 12 // 4 KiB
	maxBufShift = 18 // 256 KiB
)

var bufPools [maxBufShift - minBufShift + 1]sync.Pool

// bufClass returns the size class index for n bytes, or -1 if n is beyond
// the largest class.
func bufClass(n int) int {
	if n <= 1<<minBufShift {
		return 0
	}
	s := bits.Len(uint(n - 1)) // 1<<s >= n
	if s > maxBufShift {
		return -1
	}
	return s - minBufShift
}

// getBuf returns a buffer of at least n bytes (its whole capacity in use
// as length): a pooled one when n fits a class, else a new one of exactly
// n. The pointer is what putBuf wants back (nil when not pooled), kept so
// that returning a buffer allocates nothing.
func getBuf(n int) (*[]byte, []byte) {
	c := bufClass(n)
	if c < 0 {
		return nil, make([]byte, n)
	}
	if p, _ := bufPools[c].Get().(*[]byte); p != nil {
		return p, *p
	}
	b := make([]byte, 1<<(c+minBufShift))
	return &b, b
}

// putBuf gives a pooled buffer back; nil is ignored. Its contents are
// not cleared: whoever gets it next overwrites before reading.
func putBuf(p *[]byte) {
	if p == nil {
		return
	}
	if c := bufClass(len(*p)); c >= 0 && len(*p) == 1<<(c+minBufShift) {
		bufPools[c].Put(p)
	}
}
