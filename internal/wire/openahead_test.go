package wire

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/gomsgr/msgr/internal/aesgcm"
)

// setOpenAhead sets openAhead for t's duration. Tests that call it must
// not run in parallel.
func setOpenAhead(t testing.TB, v bool) {
	old := openAhead
	openAhead = v
	t.Cleanup(func() { openAhead = old })
}

// openAheadWays are the values of openAhead worth testing in m: both in
// secure mode (whatever this CPU would use), one in crc mode.
func openAheadWays(m mode) []bool {
	if m.secure {
		return []bool{true, false}
	}
	return []bool{openAhead}
}

// TestOpenAheadProgress: a big secure frame read in pieces is decrypted
// in place as each piece arrives, up to its record's tag, and returned
// only when its last byte is in: the record for the rest of segment 0
// (v2.1) and the record of the other segments, in both versions.
func TestOpenAheadProgress(t *testing.T) {
	setOpenAhead(t, true)
	size := 1<<20 + 3
	if !aesgcm.Kernels() {
		size = 3*BigFrame + 3 // a Stream hashes bit by bit there
	}
	for _, rev1 := range []bool{true, false} {
		for _, hdr := range []int{41, 300} {
			t.Run(fmt.Sprintf("rev1=%v/hdr=%d", rev1, hdr), func(t *testing.T) {
				e, d := pair(t, mode{rev1, true})
				segs := [][]byte{fill(hdr, 1), fill(20, 2), nil, fill(size, 3)}
				b, err := e.AppendFrame(nil, TagMessage, segs...)
				if err != nil {
					t.Fatal(err)
				}
				// Where the records' texts end (their tags follow) and
				// where the data segment starts.
				p0 := int(pad16(uint64(hdr)))
				var ends []int
				dataAt := PreambleSize + p0 + int(pad16(20))
				if rev1 {
					dataAt = firstSecureRecord + int(pad16(20))
					if p0 > InlineSize {
						ends = append(ends, firstSecureRecord+p0-InlineSize)
						dataAt += p0 - InlineSize + TagSize
					}
				}
				ends = append(ends, len(b)-TagSize)
				for off, n := 0, 0; off < len(b); off += n {
					rb := d.ReadSpace(1)
					n = copy(rb[:min(len(rb), 1000+off%(100<<10))], b[off:])
					d.Commit(n)
					f, err := d.Next()
					if err != nil {
						t.Fatal(err)
					}
					got := off + n
					if got < len(b) {
						if f != nil {
							t.Fatalf("frame returned with %d of %d bytes", got, len(b))
						}
						if !d.secOn {
							t.Fatalf("%d bytes in: not opened as it arrives", got)
						}
						want := got
						for _, e := range ends {
							if got < e+TagSize {
								want = min(got, e)
								break
							}
						}
						if d.secAt != want {
							t.Fatalf("%d bytes in: decrypted up to %d, want %d", got, d.secAt, want)
						}
						// The data decrypted so far is plaintext already.
						if to := min(want-dataAt, size); to > 0 {
							if !bytes.Equal(d.buf[d.r+dataAt:d.r+dataAt+to], segs[SegData][:to]) {
								t.Fatalf("%d bytes in: data not decrypted in place", got)
							}
						}
						continue
					}
					if f == nil {
						t.Fatal("no frame with all its bytes in")
					}
					for i, s := range segs {
						if !bytes.Equal(f.Segment(i), s) {
							t.Fatalf("segment %d differs", i)
						}
					}
				}
			})
		}
	}
}
