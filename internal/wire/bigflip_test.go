package wire

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
)

// readBig feeds b to d through ReadSpace in reads of up to 300 KiB and
// returns the first frame or error.
func readBig(d *Decoder, b []byte, rng *rand.Rand) (*Frame, error) {
	for off := 0; off < len(b); {
		rb := d.ReadSpace(64 << 10)
		n := copy(rb[:min(len(rb), 1+rng.IntN(300<<10))], b[off:])
		d.Commit(n)
		off += n
		if f, err := d.Next(); f != nil || err != nil {
			return f, err
		}
	}
	return nil, nil
}

// TestBigSecureFlip: a bit flipped anywhere in a 4 MiB secure frame (the
// preamble record, the data, the padding, the epilogue, a tag) is refused
// with ErrAuthTag (or a bad preamble) before any frame is returned, in
// v2.1 and v2.0 (where a flipped length may instead leave the frame
// waiting forever: never delivered either).
func TestBigSecureFlip(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	data := fill(4<<20+5, 3)
	for _, rev1 := range []bool{true, false} {
		e, _ := pair(t, mode{rev1, true})
		good, err := e.AppendFrame(nil, TagMessage, fill(41, 1), fill(100, 2), nil, data)
		if err != nil {
			t.Fatal(err)
		}
		positions := []int{0, 31, PreambleSize + 5, firstSecureRecord - 1, firstSecureRecord + 200,
			len(good) / 2, len(good) - TagSize - 1, len(good) - TagSize, len(good) - 1}
		for i := 0; i < 6; i++ {
			positions = append(positions, rng.IntN(len(good)))
		}
		for _, pos := range append(positions, -1) {
			t.Run(fmt.Sprintf("rev1=%v/flip=%d", rev1, pos), func(t *testing.T) {
				_, d := pair(t, mode{rev1, true})
				b := bytes.Clone(good)
				if pos >= 0 {
					b[pos] ^= 1 << rng.IntN(8)
				}
				f, err := readBig(d, b, rng)
				if pos < 0 {
					if err != nil || f == nil || !bytes.Equal(f.Segment(SegData), data) {
						t.Fatalf("intact frame: %v %v", f != nil, err)
					}
					return
				}
				if f != nil {
					t.Fatal("a tampered frame was returned")
				}
				if err == nil {
					// v2.0 reads the lengths before the tag can be
					// checked: a flipped length bit leaves the frame
					// waiting for bytes that never come (then the
					// connection's timeout), never delivered.
					return
				}
				if !errors.Is(err, ErrAuthTag) && !errors.Is(err, ErrBadCRC) && !errors.Is(err, ErrTooLarge) && !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnknownTag) {
					t.Fatalf("flip at %d: %v", pos, err)
				}
			})
		}
	}
}

// TestBigCRCStreamedCorruptChunk: a 4 MiB segment sent with its crc
// computed chunk by chunk (SendSums) and one 256 KiB chunk in the middle
// corrupted on the way (after it was summed) is refused with ErrBadCRC.
func TestBigCRCStreamedCorruptChunk(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	for _, rev1 := range []bool{true, false} {
		e, d := pair(t, mode{rev1, false})
		var sums SendSums
		e.SetSendSums(&sums)
		data := fill(4<<20, 5)
		out, err := e.Vec(nil, TagMessage, fill(41, 1), nil, nil, data)
		if err != nil {
			t.Fatal(err)
		}
		var wire []byte
		chunks := 0
		for len(out) > 0 {
			k := sums.Writable(out)
			for _, b := range out[:k] {
				if len(b) == sumChunk {
					if chunks++; chunks == 8 { // corrupt "on the wire"
						b = bytes.Clone(b)
						b[len(b)/2] ^= 0x10
					}
				}
				wire = append(wire, b...)
			}
			out = out[k:]
		}
		f, err := readBig(d, wire, rng)
		if f != nil || !errors.Is(err, ErrBadCRC) {
			t.Fatalf("rev1=%v: corrupted chunk: %v %v", rev1, f != nil, err)
		}
	}
}
