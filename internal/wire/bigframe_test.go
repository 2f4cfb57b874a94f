package wire

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/gomsgr/msgr/message"
)

// bigShapes mixes frames with a buffer of their own (BigFrame and over,
// inline segment 0 or not, one segment or four) with small ones between
// them, so that small frames follow big ones in the same read.
var bigShapes = [][]int{
	{41, 0, 0, BigFrame},
	{41, 5},
	{BigFrame + 7},
	{41, 200, 0, 3 * BigFrame},
	{0, 1},
	{41, 0, 0, BigFrame - 100}, // around the threshold with framing
	{100, 17, 33, 2*BigFrame + 1},
	{41, 0, 0, 200},
	{41, 0, 0, BigFrame + 4096},
}

// TestBigFrameDetach: big and small frames split anywhere, fed with Feed,
// ReadBuffer and ReadSpace at random, released between reads; every frame
// decodes whole, and the slices of a detached frame keep their bytes
// while the Decoder goes on (they are never reused).
func TestBigFrameDetach(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, m := range modes {
		for _, maxChunk := range []int{7, 1000, 70000, 1 << 20} {
			t.Run(fmt.Sprintf("%v/chunk=%d", m, maxChunk), func(t *testing.T) {
				e, d := pair(t, m)
				var stream []byte
				var want [][][]byte
				for k, shape := range bigShapes {
					segs := make([][]byte, len(shape))
					for i, n := range shape {
						segs[i] = fill(n, byte(k+i))
					}
					var err error
					if stream, err = e.AppendFrame(stream, TagMessage, segs...); err != nil {
						t.Fatal(err)
					}
					want = append(want, segs)
				}
				type kept struct {
					k    int
					segs [][]byte
				}
				var detached []kept
				got, nDetached := 0, 0
				feedRandom(t, d, stream, rng, maxChunk, true, func() {
					for {
						f, err := d.Next()
						if err != nil {
							t.Fatal(err)
						}
						if f == nil {
							break
						}
						for i, s := range want[got] {
							if len(s) > 0 && !bytes.Equal(f.Segment(i), s) {
								t.Fatalf("frame %d segment %d differs", got, i)
							}
						}
						if rng.IntN(4) != 0 {
							if d.Detach() != nil {
								nDetached++
								var segs [][]byte
								for i := range want[got] {
									segs = append(segs, f.Segment(i))
								}
								detached = append(detached, kept{got, segs})
							}
						}
						got++
					}
					if rng.IntN(2) == 0 {
						d.Release()
					}
				})
				if got != len(want) || d.Buffered() != 0 {
					t.Fatalf("%d frames of %d, %d bytes left", got, len(want), d.Buffered())
				}
				if nDetached == 0 && maxChunk < BigFrame {
					t.Fatal("no frame was detached")
				}
				for _, kp := range detached {
					if total := frameTotal(want[kp.k]); total < BigFrame-200 {
						t.Fatalf("frame %d of %d bytes was detached", kp.k, total)
					}
					for i, s := range want[kp.k] {
						if len(s) > 0 && !bytes.Equal(kp.segs[i], s) {
							t.Fatalf("detached frame %d segment %d overwritten", kp.k, i)
						}
					}
				}
				d.Release()
				if d.buf != nil || d.big || d.tail != nil {
					t.Fatalf("released decoder still holds %d + %d bytes", len(d.buf), len(d.tail))
				}
			})
		}
	}
}

func frameTotal(segs [][]byte) int {
	n := 0
	for _, s := range segs {
		n += len(s)
	}
	return n
}

// TestBigFrameWhole: a big frame that arrives whole in one Feed, after
// another frame in the same buffer, is decoded in the shared buffer and
// Detach refuses it; one that starts a buffer of its size class and fills
// it to its end gets that buffer as its own (no allocation, no copy).
func TestBigFrameWhole(t *testing.T) {
	e, d := pair(t, mode{true, false})
	b, _ := e.AppendFrame(nil, TagMessage, fill(41, 1), nil, nil, fill(10, 2))
	b, _ = e.AppendFrame(b, TagMessage, fill(41, 1), nil, nil, fill(2*BigFrame, 2))
	d.Feed(b)
	for i := range 2 {
		f, err := d.Next()
		if err != nil || f == nil || d.Detach() != nil {
			t.Fatal(i, f, err)
		}
	}
	b, _ = e.AppendFrame(nil, TagMessage, fill(41, 1), nil, nil, fill(2*BigFrame, 3))
	d.Release()
	d.Feed(b)
	buf := d.buf
	f, err := d.Next()
	if err != nil || f == nil {
		t.Fatal(f, err)
	}
	if &f.Raw[0] != &buf[0] || d.Detach() == nil {
		t.Fatal("a frame that fills its buffer was not handed over")
	}
}

// TestBigFrameHintRead: a stream of equal big frames read through
// ReadSpace from a socket that holds them all: from the second frame on,
// each frame takes one read, lands at the start of the room ReadSpace gave
// and is detached in that same memory (no copy).
func TestBigFrameHintRead(t *testing.T) {
	for _, m := range modes {
		t.Run(m.String(), func(t *testing.T) {
			e, d := pair(t, m)
			const frames = 5
			var stream []byte
			for k := range frames {
				var err error
				if stream, err = e.AppendFrame(stream, TagMessage, fill(41, byte(k)), nil, nil, fill(2*BigFrame, byte(k))); err != nil {
					t.Fatal(err)
				}
			}
			got := 0
			for reads := 0; len(stream) > 0; reads++ {
				if reads > 4*frames {
					t.Fatalf("%d reads for %d frames", reads, got)
				}
				room := d.ReadSpace(64 << 10)
				n := copy(room, stream)
				stream = stream[n:]
				d.Commit(n)
				for {
					f, err := d.Next()
					if err != nil {
						t.Fatal(err)
					}
					if f == nil {
						break
					}
					data := f.Segment(SegData)
					if !bytes.Equal(data, fill(2*BigFrame, byte(got))) {
						t.Fatalf("frame %d data differs", got)
					}
					buf := d.Detach()
					if got > 0 {
						if reads != got+1 || buf == nil || &(*buf.p)[0] != &room[0] || n != len(room) {
							t.Fatalf("frame %d: read %d of %d bytes, detached %v, in the room read: %v",
								got, reads, n, buf != nil, buf != nil && &(*buf.p)[0] == &room[0])
						}
					}
					buf.Release()
					got++
				}
				d.Release()
			}
			if got != frames {
				t.Fatalf("%d frames of %d", got, frames)
			}
		})
	}
}

// TestBigFrameLimitsFirst: a frame over the limits is refused from its
// preamble, before any buffer of its size exists.
func TestBigFrameLimitsFirst(t *testing.T) {
	e, _ := pair(t, mode{true, false})
	b, _ := e.AppendFrame(nil, TagMessage, fill(41, 1), nil, nil, fill(4*BigFrame, 2))
	d := NewDecoder(Limits{MaxSegmentLen: 2 * BigFrame})
	d.Establish()
	d.Feed(b[:1000])
	if _, err := d.Next(); !errors.Is(err, ErrTooLarge) {
		t.Fatal(err)
	}
	if d.big || len(d.buf) > 4096 {
		t.Fatalf("buffer of %d bytes (own: %v)", len(d.buf), d.big)
	}
}

// TestReleaseIdle: Release frees the buffer only when nothing is
// buffered; a partial frame keeps it, and decoding resumes after.
func TestReleaseIdle(t *testing.T) {
	for _, m := range modes {
		e, d := pair(t, m)
		b, _ := e.AppendFrame(nil, TagMessage, fill(41, 1), fill(3000, 2))
		b, _ = e.AppendControl(b, &Ack{Seq: 9})
		// A read loop's 64 KiB room, ending mid-frame: the partial
		// frame moves to the smallest buffer that holds its frame.
		d.Commit(copy(d.ReadBuffer(64<<10), b[:100]))
		if d.Held() < 64<<10 {
			t.Fatalf("%v: read room of %d bytes", m, d.Held())
		}
		d.Release()
		if d.buf == nil {
			t.Fatalf("%v: released with a partial frame", m)
		}
		if d.Held() != 4<<10 {
			t.Fatalf("%v: holds %d bytes for a partial frame of 3 KiB", m, d.Held())
		}
		d.Feed(b[100:])
		for _, want := range []Tag{TagMessage, TagAck} {
			f, err := d.Next()
			if err != nil || f == nil || f.Tag != want {
				t.Fatalf("%v: %v %v", m, f, err)
			}
		}
		d.Release()
		if d.buf != nil || d.frame.Raw != nil || d.frame.Segments[0] != nil {
			t.Fatalf("%v: idle decoder keeps its buffer", m)
		}
		if f, err := d.Next(); f != nil || err != nil {
			t.Fatal(f, err)
		}
	}
}

// BenchmarkDecodeBigOwn: a 4 MiB frame read straight into its own buffer
// (ReadSpace + Commit in 64 KiB reads) and detached, as a connection does.
func BenchmarkDecodeBigOwn(b *testing.B) {
	e, _ := pair(b, mode{true, false})
	size := 4 << 20
	wire, _ := e.AppendFrame(nil, TagMessage, fill(41, 0), fill(200, 2), nil, fill(size, 1))
	d := NewDecoder(Limits{})
	d.Establish()
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		for off := 0; off < len(wire); {
			buf := d.ReadSpace(64 << 10)
			n := copy(buf[:min(len(buf), 64<<10)], wire[off:])
			d.Commit(n)
			off += n
			f, err := d.Next()
			if err != nil {
				b.Fatal(err)
			}
			if f != nil && d.Detach() == nil {
				b.Fatal("not detached")
			}
		}
		d.Release()
	}
}

// TestBigFrameCRCAhead: in crc mode the crcs of a big frame are computed
// as its bytes arrive; a flipped bit anywhere in a segment, or in a crc
// the frame carries, is still found, whatever the reads' sizes.
func TestBigFrameCRCAhead(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, m := range []mode{{true, false}, {false, false}} {
		for _, shape := range [][]int{{41, 0, 0, 3 * BigFrame}, {BigFrame + 9}, {100, 17, 0, 2 * BigFrame}, {0, 2 * BigFrame}} {
			e, _ := pair(t, m)
			segs := make([][]byte, len(shape))
			for i, n := range shape {
				segs[i] = fill(n, byte(i+1))
			}
			good, err := e.AppendFrame(nil, TagMessage, segs...)
			if err != nil {
				t.Fatal(err)
			}
			// Flip a bit at the start, middle and end of every segment,
			// and in every crc.
			var flips []int
			off := PreambleSize
			for i, n := range shape {
				if n > 0 {
					flips = append(flips, off, off+n/2, off+n-1)
				}
				off += n
				if i == 0 && m.rev1 && n > 0 {
					flips = append(flips, off) // segment 0's crc
					off += crcSize
				}
			}
			for i := range shape { // the epilogue's crcs
				switch {
				case !m.rev1:
					flips = append(flips, len(good)-16+4*i)
				case i > 0:
					flips = append(flips, len(good)-12+4*(i-1))
				}
			}
			for _, pos := range append(flips, -1) {
				_, d := pair(t, m)
				b := bytes.Clone(good)
				if pos >= 0 {
					b[pos] ^= 0x20
				}
				var f *Frame
				for o := 0; o < len(b) && f == nil && err == nil; {
					buf := d.ReadSpace(1 + rng.IntN(3*BigFrame/2))
					n := copy(buf[:min(len(buf), 1+rng.IntN(BigFrame))], b[o:])
					d.Commit(n)
					o += n
					f, err = d.Next()
				}
				if pos < 0 {
					if err != nil || f == nil || d.Detach() == nil {
						t.Fatalf("%v %v: frame %v, %v", m, shape, f != nil, err)
					}
					for i, s := range segs {
						if !bytes.Equal(f.Segment(i), s) && len(s) > 0 {
							t.Fatalf("%v %v: segment %d differs", m, shape, i)
						}
					}
					continue
				}
				if !errors.Is(err, ErrBadCRC) {
					t.Fatalf("%v %v flip at %d of %d: frame %v, %v", m, shape, pos, len(b), f != nil, err)
				}
				err = nil
			}
		}
	}
}

// FuzzDecoderReadSpace decodes arbitrary streams read through ReadSpace,
// ReadBuffer and Feed at fuzzer-chosen sizes, releasing and detaching
// along the way; the frames (and the error, if any) must be those of
// feeding the whole stream at once, and detached frames must keep their
// bytes to the end.
func FuzzDecoderReadSpace(f *testing.F) {
	for _, rev1 := range []bool{true, false} {
		e := NewEncoder()
		e.SetRev1(rev1)
		b, _ := e.AppendFrame(nil, TagMessage, fill(41, 1), nil, nil, fill(BigFrame+100, 2))
		b, _ = e.AppendControl(b, &Ack{Seq: 3})
		b, _ = e.AppendFrame(b, TagMessage, fill(41, 1), fill(5, 3), nil, fill(2*BigFrame, 4))
		f.Add(b, uint64(0x0123456789abcdef), rev1)
	}
	f.Fuzz(func(t *testing.T, stream []byte, splits uint64, rev1 bool) {
		readSpaceCheck(t, stream, splits, mode{rev1, false})
	})
}

// FuzzSecureDecoderReadSpace is FuzzDecoderReadSpace in secure mode: the
// stream read in pieces at random and fed at once must give the same
// frames, or the same error.
func FuzzSecureDecoderReadSpace(f *testing.F) {
	for _, rev1 := range []bool{true, false} {
		e, _ := pair(f, mode{rev1, true})
		b, _ := e.AppendFrame(nil, TagMessage, fill(41, 1), nil, nil, fill(BigFrame+100, 2))
		b, _ = e.AppendControl(b, &Ack{Seq: 3})
		b, _ = e.AppendFrame(b, TagMessage, fill(200, 1), fill(5, 3), nil, fill(2*BigFrame, 4))
		b, _ = e.AppendFrame(b, TagMessage, fill(BigFrame+3, 5))
		f.Add(b, uint64(0x0123456789abcdef), rev1)
		f.Add(b, uint64(0xfedcba9876543210), rev1)
	}
	f.Fuzz(func(t *testing.T, stream []byte, splits uint64, rev1 bool) {
		readSpaceCheck(t, stream, splits, mode{rev1, true})
	})
}

// readSpaceDecoder is a decoder for readSpaceCheck, in m.
func readSpaceDecoder(t *testing.T, m mode) *Decoder {
	d := NewDecoder(Limits{MaxSegmentLen: 1 << 17, MaxFrameLen: 1 << 18})
	d.Establish()
	d.SetRev1(m.rev1)
	if m.secure {
		rx, _, err := NewSecure(testSecret, RoleServer, m.rev1)
		if err != nil {
			t.Fatal(err)
		}
		d.SetSecure(rx)
	}
	return d
}

func readSpaceCheck(t *testing.T, stream []byte, splits uint64, m mode) {
	{
		describe := func(fr *Frame) string {
			return fmt.Sprintf("%v %d %x|", fr.Tag, fr.NumSegments, fr.Segments)
		}
		var want bytes.Buffer
		d := readSpaceDecoder(t, m)
		d.Feed(stream)
		for {
			fr, err := d.Next()
			if err != nil {
				fmt.Fprintf(&want, "err %v", err)
				break
			}
			if fr == nil {
				break
			}
			want.WriteString(describe(fr))
		}

		var got bytes.Buffer
		type kept struct{ segs, copies [][]byte }
		var detached []kept
		d = readSpaceDecoder(t, m)
		if splits&1 != 0 {
			// Big MESSAGE frames' data goes to RxBuffers of its size.
			d.SetRouter(func(_ []byte, n int) *message.RxBuffer {
				rb := message.NewRxBuffer(make([]byte, n))
				rb.Claim(n)
				return rb
			})
		}
		s, sp := stream, splits
		next := func() int { v := int(sp % 97); sp = sp>>7 | sp<<57; return v }
		for done := false; !done; {
			for {
				fr, err := d.Next()
				if err != nil {
					fmt.Fprintf(&got, "err %v", err)
					done = true
					break
				}
				if fr == nil {
					break
				}
				got.WriteString(describe(fr))
				if next()%2 == 0 && d.Detach() != nil {
					var k kept
					for i := range fr.Segments {
						k.segs = append(k.segs, fr.Segments[i])
						k.copies = append(k.copies, bytes.Clone(fr.Segments[i]))
					}
					detached = append(detached, k)
				}
			}
			if done || len(s) == 0 {
				break
			}
			if next()%3 == 0 {
				d.Release()
			}
			n := 1 + next()*next()*7
			switch next() % 3 {
			case 0:
				n = min(n, len(s))
				d.Feed(s[:n])
			case 1:
				buf := d.ReadBuffer(min(n, len(s)))
				n = copy(buf, s[:min(n, len(s))])
				d.Commit(n)
			default:
				buf := d.ReadSpace(n)
				n = copy(buf[:min(len(buf), n)], s)
				d.Commit(n)
			}
			s = s[n:]
		}
		if got.String() != want.String() {
			t.Fatalf("split decoding differs:\n%.300s\n%.300s", got.String(), want.String())
		}
		for _, k := range detached {
			for i := range k.segs {
				if !bytes.Equal(k.segs[i], k.copies[i]) {
					t.Fatal("a detached frame was overwritten")
				}
			}
		}
	}
}

// TestDecoderAwaiting: while a big frame is under way (its preamble in),
// Awaiting is the bytes of it not yet read; otherwise 0. Read in 7 KiB
// pieces through ReadSpace, as a socket reader does.
func TestDecoderAwaiting(t *testing.T) {
	for _, m := range modes {
		t.Run(m.String(), func(t *testing.T) {
			e, d := pair(t, m)
			stream, err := e.AppendFrame(nil, TagMessage, fill(41, 1), nil, nil, fill(10, 1))
			if err != nil {
				t.Fatal(err)
			}
			bigAt := len(stream)
			if stream, err = e.AppendFrame(stream, TagMessage, fill(41, 2), nil, nil, fill(2*BigFrame, 2)); err != nil {
				t.Fatal(err)
			}
			bigEnd := len(stream)
			if stream, err = e.AppendFrame(stream, TagMessage, fill(41, 3), nil, nil, fill(10, 3)); err != nil {
				t.Fatal(err)
			}
			fed, frames, seen := 0, 0, false
			for fed < len(stream) {
				room := d.ReadSpace(7 << 10)
				n := copy(room[:min(len(room), 7<<10)], stream[fed:])
				d.Commit(n)
				fed += n
				for {
					f, err := d.Next()
					if err != nil {
						t.Fatal(err)
					}
					if f == nil {
						break
					}
					d.Detach().Release()
					frames++
				}
				want := 0
				if fed >= bigAt+PreambleSize && fed < bigEnd {
					want = bigEnd - fed
				}
				if got := d.Awaiting(); got != want {
					t.Fatalf("%d of %d bytes read: Awaiting %d, want %d", fed, len(stream), got, want)
				}
				seen = seen || want > 0
				d.Release()
			}
			if frames != 3 || !seen {
				t.Fatalf("%d frames; a big frame under way seen: %v", frames, seen)
			}
		})
	}
}
