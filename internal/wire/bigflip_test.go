package wire

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/gomsgr/msgr/internal/aesgcm"
)

// readBig feeds b to d through ReadSpace in reads of up to 300 KiB, the
// last one exactly last bytes (when last > 0), and returns the first frame
// or error.
func readBig(d *Decoder, b []byte, rng *rand.Rand, last int) (*Frame, error) {
	for off := 0; off < len(b); {
		rb := d.ReadSpace(64 << 10)
		n := 1 + rng.IntN(300<<10)
		if rest := len(b) - off; last > 0 && rest > last {
			n = min(n, rest-last)
		}
		n = copy(rb[:min(len(rb), n)], b[off:])
		d.Commit(n)
		off += n
		if f, err := d.Next(); f != nil || err != nil {
			if off < len(b) {
				return nil, fmt.Errorf("frame or error with %d bytes left: %v %w", len(b)-off, f != nil, err)
			}
			return f, err
		}
	}
	return nil, nil
}

// TestBigSecureFlip: a bit flipped anywhere in a big secure frame (the
// preamble record, v2.1's record for the rest of segment 0, the data, the
// padding, the epilogue, every record's tag) is refused with ErrAuthTag
// before any frame is returned, in v2.1 and v2.0 (where a flipped length
// in the preamble may instead be refused otherwise, or leave the frame
// waiting forever: never delivered either). Half the runs read the last
// few bytes on their own, so that the flip is also in the last read.
func TestBigSecureFlip(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	size := 4<<20 + 5
	if !aesgcm.Kernels() {
		// Without the kernels (and with -tags purego) GCM is slow:
		// a smaller big frame.
		size = 5*BigFrame + 5
	}
	data := fill(size, 3)
	for _, rev1 := range []bool{true, false} {
		for _, hdr := range []int{41, 200} {
			e, _ := pair(t, mode{rev1, true})
			good, err := e.AppendFrame(nil, TagMessage, fill(hdr, 1), fill(100, 2), nil, data)
			if err != nil {
				t.Fatal(err)
			}
			positions := []int{0, 31, PreambleSize + 5, firstSecureRecord - 1, firstSecureRecord, firstSecureRecord + 200,
				len(good) / 2, len(good) - 2*TagSize, len(good) - TagSize - 1, len(good) - TagSize, len(good) - 1}
			if rev1 && hdr > InlineSize {
				// The record for the rest of segment 0: its text and tag.
				end := firstSecureRecord + int(pad16(uint64(hdr))) - InlineSize + TagSize
				positions = append(positions, end-TagSize-1, end-TagSize, end-1, end)
			}
			for i := 0; i < 3; i++ {
				positions = append(positions, rng.IntN(len(good)))
			}
			for _, pos := range append(positions, -1) {
				last := 0
				if rng.IntN(2) == 0 {
					last = 1 + rng.IntN(3*TagSize)
				}
				t.Run(fmt.Sprintf("rev1=%v/hdr=%d/flip=%d/last=%d", rev1, hdr, pos, last), func(t *testing.T) {
					_, d := pair(t, mode{rev1, true})
					b := bytes.Clone(good)
					if pos >= 0 {
						b[pos] ^= 1 << rng.IntN(8)
					}
					f, err := readBig(d, b, rng, last)
					if pos < 0 {
						if err != nil || f == nil || !bytes.Equal(f.Segment(SegData), data) || !bytes.Equal(f.Segment(0), fill(hdr, 1)) {
							t.Fatalf("intact frame: %v %v", f != nil, err)
						}
						return
					}
					if f != nil {
						t.Fatal("a tampered frame was returned")
					}
					if rev1 || pos >= PreambleSize {
						// The lengths are authenticated (v2.1) or
						// intact: only the tag can refuse the frame.
						if !errors.Is(err, ErrAuthTag) {
							t.Fatalf("flip at %d: %v", pos, err)
						}
						return
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
		f, err := readBig(d, wire, rng, 0)
		if f != nil || !errors.Is(err, ErrBadCRC) {
			t.Fatalf("rev1=%v: corrupted chunk: %v %v", rev1, f != nil, err)
		}
	}
}
