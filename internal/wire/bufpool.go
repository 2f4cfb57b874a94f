package wire

import (
	"math/bits"
	"sync"
)

// Receive buffers are pooled by size class, shared by all Decoders: powers
// of two from 4 KiB to 256 KiB (the buffers frames are decoded from, held
// only while a Decoder has unconsumed bytes), then eight classes per
// doubling up to 64 MiB (a big frame's buffer of its own, handed over with
// Detach and given back with Buf.Release), so that a 4 MiB message wastes
// at most an eighth and steady traffic neither zeroes nor faults in fresh
// pages. Bigger buffers are plain allocations, left to the garbage
// collector. Pooled contents are never cleared: whoever gets a buffer
// overwrites before reading.
const (
	minBufShift   = 12 // 4 KiB
	smallBufShift = 18 // 256 KiB: the last power-of-two class
	maxBufShift   = 26 // 64 MiB: the largest pooled buffer
	stepsShift    = 3  // 8 classes per doubling above smallBufShift

	smallClasses = smallBufShift - minBufShift + 1
	numClasses   = smallClasses + (maxBufShift-smallBufShift)<<stepsShift

	// MaxPooledBuf is the largest buffer the pool keeps.
	MaxPooledBuf = 1 << maxBufShift
)

var bufPools [numClasses]sync.Pool

// bufClass returns the size class index for n bytes, or -1 if n is beyond
// the largest class.
func bufClass(n int) int {
	if n <= 1<<minBufShift {
		return 0
	}
	s := bits.Len(uint(n - 1)) // 1<<s >= n
	if s <= smallBufShift {
		return s - minBufShift
	}
	if s > maxBufShift {
		return -1
	}
	k := s - 1 // 1<<k < n <= 1<<(k+1)
	q := 1 << (k - stepsShift)
	step := (n - 1<<k + q - 1) / q // 1..8
	return smallClasses + (k-smallBufShift)<<stepsShift + step - 1
}

// classSize is the size of class c's buffers.
func classSize(c int) int {
	if c < smallClasses {
		return 1 << (c + minBufShift)
	}
	c -= smallClasses
	k := smallBufShift + c>>stepsShift
	step := c&(1<<stepsShift-1) + 1
	return 1<<k + step<<(k-stepsShift)
}

// getBuf returns a buffer of at least n bytes (its whole capacity in use
// as length): a pooled one when n fits a class, else a new one of exactly
// n. The pointer is what putBuf wants back, kept so that returning a
// buffer allocates nothing.
func getBuf(n int) (*[]byte, []byte) {
	c := bufClass(n)
	if c < 0 {
		b := make([]byte, n)
		return &b, b
	}
	if p, _ := bufPools[c].Get().(*[]byte); p != nil {
		return p, *p
	}
	b := make([]byte, classSize(c))
	return &b, b
}

// putBuf gives a buffer back; nil, and buffers of no class size, are
// ignored (left to the garbage collector).
func putBuf(p *[]byte) {
	if p == nil {
		return
	}
	if c := bufClass(len(*p)); c >= 0 && len(*p) == classSize(c) {
		if poisonReleased {
			// A reference kept into a released buffer reads this.
			fillPoison(*p)
		}
		bufPools[c].Put(p)
	}
}

// Buf is the buffer of a frame handed over by Decoder.Detach: the frame's
// segments alias it. Release gives it back to the pool the Decoders share;
// the segments must not be touched after that (in race-detector builds
// Release overwrites the buffer from another goroutine, so that a use
// after release is reported as a data race). Not releasing is safe: the
// garbage collector takes the buffer instead. Release is for one owner:
// whoever holds the Buf calls it once (later calls do nothing).
type Buf struct{ p *[]byte }

// MinPooledCopy is the smallest received message body the protocols copy
// into a pooled buffer (GetBuf) rather than a fresh allocation: below it
// the garbage collector's cost is small, and a pooled 4 KiB buffer would
// be mostly empty while the message waits for dispatch.
const MinPooledCopy = 1 << 10

// GetBuf returns a pooled buffer of n bytes as a Buf to Release once its
// holder is done with it: for copies of received bytes that outlive the
// Decoder's buffer (a small message's segments, until it is decoded), so
// that steady traffic allocates no payload memory.
func GetBuf(n int) (*Buf, []byte) {
	b := new(Buf)
	return b, b.Get(n)
}

// Get is GetBuf into b, which holds no buffer: for a Buf kept in a value
// its holder allocates anyway, so that it costs no allocation of its own.
func (b *Buf) Get(n int) []byte {
	p, buf := getBuf(n)
	b.p = p
	return buf[:n]
}

// Release gives the buffer back. It is a no-op on a nil or released Buf.
func (b *Buf) Release() {
	if b == nil || b.p == nil {
		return
	}
	p := b.p
	b.p = nil
	if poisonReleased {
		go func() {
			clear(*p)
			putBuf(p)
		}()
		return
	}
	putBuf(p)
}

// fillPoison overwrites a released buffer (race-detector builds).
func fillPoison(b []byte) {
	if len(b) == 0 {
		return
	}
	b[0] = 0xdb
	for n := 1; n < len(b); n *= 2 {
		copy(b[n:], b[:n])
	}
}
