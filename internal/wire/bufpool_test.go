package wire

import (
	"bytes"
	"testing"
	"unsafe"
)

// TestBufClasses: every size gets the smallest class that holds it, with
// at most an eighth wasted above 256 KiB; sizes past the last class are
// not pooled.
func TestBufClasses(t *testing.T) {
	for _, c := range []struct{ n, size int }{
		{1, 4096}, {4096, 4096}, {4097, 8192}, {256 << 10, 256 << 10},
		{256<<10 + 1, 256<<10 + 32<<10}, {4 << 20, 4 << 20}, {4<<20 + 1, 4<<20 + 512<<10},
		{4<<20 + 300, 4<<20 + 512<<10}, {7<<20 + 1, 7<<20 + 512<<10}, {MaxPooledBuf, MaxPooledBuf},
	} {
		cl := bufClass(c.n)
		if cl < 0 || classSize(cl) != c.size {
			t.Errorf("bufClass(%d) = %d, size %d; want size %d", c.n, cl, classSize(cl), c.size)
		}
	}
	if bufClass(MaxPooledBuf+1) != -1 {
		t.Error("a buffer over MaxPooledBuf is pooled")
	}
	for c := 1; c < numClasses; c++ {
		if classSize(c) <= classSize(c-1) || bufClass(classSize(c)) != c || bufClass(classSize(c-1)+1) != c {
			t.Fatalf("class %d (%d bytes) inconsistent", c, classSize(c))
		}
		if lo := classSize(c - 1); lo >= 256<<10 && classSize(c)-lo > lo/8 {
			t.Fatalf("class %d wastes more than an eighth", c)
		}
	}
}

func overlaps(a, b []byte) bool {
	if cap(a) == 0 || cap(b) == 0 {
		return false
	}
	pa, pb := uintptr(unsafe.Pointer(unsafe.SliceData(a))), uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	return pa < pb+uintptr(cap(b)) && pb < pa+uintptr(cap(a))
}

// TestBufOwnedUntilRelease: a detached frame's buffer is its holder's
// until Release: the frames decoded after it never land in it, and its
// bytes stay as they were. In race-detector builds a read after Release
// would be reported (Release poisons from another goroutine).
func TestBufOwnedUntilRelease(t *testing.T) {
	for _, m := range modes {
		e, d := pair(t, m)
		var held []*Buf
		var segs, want [][]byte
		for k := 0; k < 12; k++ {
			data := fill(4<<20+k*1000, byte(k))
			b, err := e.AppendFrame(nil, TagMessage, fill(41, 1), nil, nil, data)
			if err != nil {
				t.Fatal(err)
			}
			var f *Frame
			for off := 0; f == nil; {
				rb := d.ReadSpace(64 << 10)
				n := copy(rb, b[off:])
				d.Commit(n)
				off += n
				if f, err = d.Next(); err != nil {
					t.Fatal(err)
				}
			}
			got := f.Segment(SegData)
			for _, s := range segs {
				if overlaps(got, s) {
					t.Fatalf("%v: frame %d decoded into a buffer still held", m, k)
				}
			}
			buf := d.Detach()
			if buf == nil {
				t.Fatalf("%v: frame %d not detached", m, k)
			}
			held, segs, want = append(held, buf), append(segs, got), append(want, data)
			if k%3 == 2 { // release the oldest; what is still held stays intact
				for i, s := range segs[:len(segs)-1] {
					if !bytes.Equal(s, want[i]) {
						t.Fatalf("%v: held frame %d overwritten", m, i)
					}
				}
				held[0].Release()
				held[0].Release() // a second Release does nothing
				held, segs, want = held[1:], segs[1:], want[1:]
			}
		}
		for i, s := range segs {
			if !bytes.Equal(s, want[i]) {
				t.Fatalf("%v: held frame %d overwritten", m, i)
			}
			held[i].Release()
		}
	}
}
