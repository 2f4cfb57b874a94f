package wire

import (
	"encoding/binary"
	"errors"
	"testing"
)

// claim returns a crc-mode v2.1 preamble of tag claiming one segment of n
// bytes, with a valid crc: what a hostile peer sends before auth.
func claim(tag Tag, n uint32) []byte {
	p := Preamble{Tag: tag, NumSegments: 1}
	p.Lengths[0], p.Aligns[0] = n, AlignDefault
	b := make([]byte, PreambleSize)
	p.put(b)
	return b
}

// TestPreSessionClaims: before Establish a frame claiming more than
// PreSessionLimits is refused from its preamble, and a frame within them
// gets a buffer that grows with what arrives, whatever its preamble says.
func TestPreSessionClaims(t *testing.T) {
	d := NewDecoder(Limits{})
	d.Feed(claim(TagHello, 512<<20))
	if f, err := d.Next(); f != nil || !errors.Is(err, ErrTooLarge) {
		t.Fatalf("512 MiB HELLO: %v %v", f, err)
	}
	if d.Held() > preSessionRead {
		t.Fatalf("holds %d bytes after a refused claim", d.Held())
	}

	// A 60 KiB AUTH_REQUEST (within the limits) trickling in: the buffer
	// stays within four times what arrived (doubling, in power-of-two
	// classes), plus one read.
	e := NewEncoder()
	b, err := e.AppendFrame(nil, TagAuthRequest, fill(60<<10, 3))
	if err != nil {
		t.Fatal(err)
	}
	d = NewDecoder(Limits{})
	for off := 0; off < len(b); {
		rb := d.ReadSpace(64 << 10)
		n := copy(rb[:min(len(rb), 1000)], b[off:])
		if n == 0 {
			t.Fatal("no room")
		}
		d.Commit(n)
		off += n
		if d.Held() > 4*off+preSessionRead {
			t.Fatalf("holds %d bytes with %d arrived", d.Held(), off)
		}
		f, err := d.Next()
		if err != nil {
			t.Fatal(err)
		}
		if f != nil && off != len(b) {
			t.Fatal("frame before its bytes")
		}
	}
}

// TestEstablishedClaimGrows: after Establish, a frame over MaxPooledBuf
// (within the limits) gets a buffer that grows as it arrives, and decodes.
func TestEstablishedClaimGrows(t *testing.T) {
	size := MaxPooledBuf + 1000
	e := NewEncoder()
	data := fill(size, 9)
	b, err := e.AppendFrame(nil, TagMessage, fill(41, 1), nil, nil, data)
	if err != nil {
		t.Fatal(err)
	}
	d := NewDecoder(Limits{})
	d.Establish()
	var f *Frame
	for off := 0; f == nil; {
		rb := d.ReadSpace(64 << 10)
		n := copy(rb, b[off:])
		if n == 0 {
			t.Fatal("no room")
		}
		d.Commit(n)
		off += n
		if off < 1<<20 && d.Held() > 4<<20 {
			t.Fatalf("holds %d bytes with %d arrived", d.Held(), off)
		}
		if f, err = d.Next(); err != nil {
			t.Fatal(err)
		}
	}
	if got := f.Segment(SegData); len(got) != size || got[size-1] != data[size-1] || binary.LittleEndian.Uint64(got[1000:]) != binary.LittleEndian.Uint64(data[1000:]) {
		t.Fatal("frame differs")
	}
}

// TestBudget: Decoders sharing a Budget cannot hold more than it together
// before Establish; a refusal is ErrMemory, and Release, Establish and
// SetBudget(nil) give the charge back.
func TestBudget(t *testing.T) {
	bud := NewBudget(3 * preSessionRead)
	e := NewEncoder()
	frame, _ := e.AppendFrame(nil, TagAuthRequest, fill(6<<10, 1))
	var ds []*Decoder
	for i := 0; i < 3; i++ {
		d := NewDecoder(Limits{})
		d.SetBudget(bud)
		rb := d.ReadSpace(64 << 10)
		d.Commit(copy(rb, frame[:100]))
		ds = append(ds, d)
	}
	if bud.Used() != 3*preSessionRead {
		t.Fatalf("used %d", bud.Used())
	}
	// The first one's frame needs more room: refused.
	rb := ds[0].ReadSpace(64 << 10)
	ds[0].Commit(copy(rb, frame[100:]))
	ds[0].ReadSpace(64 << 10)
	if _, err := ds[0].Next(); !errors.Is(err, ErrMemory) {
		t.Fatalf("over budget: %v", err)
	}
	ds[0].SetBudget(nil)
	if bud.Used() != 2*preSessionRead {
		t.Fatalf("after SetBudget(nil): used %d", bud.Used())
	}
	ds[1].Establish()
	if bud.Used() != preSessionRead {
		t.Fatalf("after Establish: used %d", bud.Used())
	}
	// The third one now has room for its whole frame; Release once
	// decoded gives everything back.
	d := ds[2]
	for off := 100; off < len(frame); {
		rb := d.ReadSpace(64 << 10)
		n := copy(rb, frame[off:])
		if n == 0 {
			t.Fatalf("no room: %v", d.Err())
		}
		d.Commit(n)
		off += n
	}
	if f, err := d.Next(); f == nil || err != nil {
		t.Fatal(f, err)
	}
	d.Release()
	if bud.Used() != 0 {
		t.Fatalf("after Release: used %d", bud.Used())
	}
}
