package wire

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"unsafe"

	"github.com/gomsgr/msgr/message"
)

// routeStream encodes one MESSAGE frame per shape; the header segment's
// first byte is the frame's index, for the router to tell them apart.
func routeStream(t *testing.T, e *Encoder, shapes [][]int) ([]byte, [][][]byte) {
	t.Helper()
	var stream []byte
	var want [][][]byte
	for k, shape := range shapes {
		segs := make([][]byte, len(shape))
		for i, n := range shape {
			segs[i] = fill(n, byte(k*3+i))
		}
		if len(segs[0]) > 0 {
			segs[0][0] = byte(k)
		}
		var err error
		if stream, err = e.AppendFrame(stream, TagMessage, segs...); err != nil {
			t.Fatal(err)
		}
		want = append(want, segs)
	}
	return stream, want
}

// feedRandom hands stream to d in random pieces through Feed, ReadSpace
// and (with readBuffer) ReadBuffer, calling each after every piece.
func feedRandom(t *testing.T, d *Decoder, stream []byte, rng *rand.Rand, maxChunk int, readBuffer bool, each func()) {
	t.Helper()
	for off := 0; off < len(stream); {
		n := min(len(stream)-off, 1+rng.IntN(maxChunk))
		k := rng.IntN(3)
		if k == 1 && !readBuffer {
			k = 2
		}
		switch k {
		case 0:
			d.Feed(stream[off : off+n])
		case 1:
			buf := d.ReadBuffer(n)
			if len(buf) < n {
				t.Fatalf("ReadBuffer(%d) gave %d", n, len(buf))
			}
			d.Commit(copy(buf, stream[off:off+n]))
		default:
			buf := d.ReadSpace(n)
			if len(buf) == 0 {
				t.Fatal("ReadSpace gave no room")
			}
			n = copy(buf, stream[off:off+n])
			d.Commit(n)
		}
		off += n
		each()
	}
}

func sameMemory(a, b []byte) bool {
	return len(a) > 0 && len(b) > 0 && unsafe.SliceData(a) == unsafe.SliceData(b)
}

// TestRouteData: big MESSAGE frames whose data segment the Router sends to
// an RxBuffer (exactly its size, bigger, or too small: then refused) read
// it straight there, whatever the splits; the others decode as before; in
// secure mode the Router is never asked. A ReadBuffer asking for more room
// than the bytes before the data moves the frame back into one buffer
// (readBuffer: the data is then right, not necessarily routed).
func TestRouteData(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 3))
	for _, m := range modes {
		for _, maxChunk := range []int{7, 1000, 70000, 1 << 20} {
			for _, readBuffer := range []bool{false, true} {
				t.Run(fmt.Sprintf("%v/chunk=%d/readbuffer=%v", m, maxChunk, readBuffer), func(t *testing.T) {
					e, d := pair(t, m)
					stream, want := routeStream(t, e, bigShapes)
					mem := map[int][]byte{}
					asked := 0
					d.SetRouter(func(hdr []byte, n int) *message.RxBuffer {
						asked++
						k := int(hdr[0])
						if len(want[k][0]) == 0 || n != len(want[k][SegData]) {
							t.Errorf("frame %d: router asked for %d bytes", k, n)
						}
						size := n + []int{0, 100, -1}[k%3]
						b := make([]byte, size)
						rb := message.NewRxBuffer(b)
						if !rb.Claim(n) {
							return nil
						}
						mem[k] = b
						return rb
					})
					got, routed := 0, 0
					feedRandom(t, d, stream, rng, maxChunk, readBuffer, func() {
						for {
							f, err := d.Next()
							if err != nil {
								t.Fatal(err)
							}
							if f == nil {
								return
							}
							if f.DataLost {
								t.Fatalf("frame %d lost its data", got)
							}
							for i, s := range want[got] {
								if !bytes.Equal(f.Segment(i), s) {
									t.Fatalf("frame %d segment %d differs", got, i)
								}
							}
							if b, ok := mem[got]; ok && !readBuffer {
								if !sameMemory(f.Segment(SegData), b) {
									t.Fatalf("frame %d: data not in its RxBuffer", got)
								}
								routed++
							}
							got++
						}
					})
					if got != len(want) {
						t.Fatalf("%d frames of %d", got, len(want))
					}
					if m.secure && asked > 0 {
						t.Fatal("secure mode asked the router")
					}
					if !m.secure && maxChunk < BigFrame && !readBuffer && routed == 0 {
						t.Fatal("no frame was routed")
					}
				})
			}
		}
	}
}

// TestRouteRevoke: an RxBuffer revoked while its frame's data arrives
// (before any of it, partway, with all of it in but the epilogue) is never
// written again (its memory, overwritten right after Revoke, keeps what
// the revoker wrote), the frame comes out with DataLost, and the stream
// goes on.
func TestRouteRevoke(t *testing.T) {
	for _, rev1 := range []bool{true, false} {
		for _, at := range []int{0, 1, 5000, BigFrame, 3 * BigFrame} {
			t.Run(fmt.Sprintf("rev1=%v/at=%d", rev1, at), func(t *testing.T) {
				e, d := pair(t, mode{rev1: rev1})
				shapes := [][]int{{41, 200, 0, 3 * BigFrame}, {41, 5}, {41, 0, 0, 2 * BigFrame}}
				stream, want := routeStream(t, e, shapes)
				b := make([]byte, 3*BigFrame)
				rb := message.NewRxBuffer(b)
				d.SetRouter(func(hdr []byte, n int) *message.RxBuffer {
					if hdr[0] == 0 && rb.Claim(n) {
						return rb
					}
					return nil
				})
				sentinel := bytes.Repeat([]byte{0xa5}, len(b))
				revoked := false
				var frames []*Frame
				rng := rand.New(rand.NewPCG(uint64(at), 1))
				for fed := 0; fed < len(stream); {
					n := 1 + rng.IntN(20000)
					if !revoked && d.dest != nil && d.w < d.destAt+at {
						n = min(n, d.destAt+at-d.w) // stop right there
					}
					buf := d.ReadSpace(n)
					n = copy(buf[:min(n, len(buf))], stream[fed:])
					d.Commit(n)
					fed += n
					if !revoked && d.dest != nil && d.w >= d.destAt+at {
						if rb.Revoke() {
							t.Fatal("revoked buffer reported filled")
						}
						copy(b, sentinel)
						revoked = true
					}
					for {
						f, err := d.Next()
						if err != nil {
							t.Fatal(err)
						}
						if f == nil {
							break
						}
						c := *f
						for i := range c.Segments {
							c.Segments[i] = bytes.Clone(c.Segments[i])
						}
						frames = append(frames, &c)
					}
				}
				if !revoked {
					t.Fatal("never revoked")
				}
				if !bytes.Equal(b, sentinel) {
					t.Fatal("the RxBuffer was written after Revoke returned")
				}
				if len(frames) != 3 {
					t.Fatalf("%d frames", len(frames))
				}
				if !frames[0].DataLost || frames[0].Segments[SegData] != nil {
					t.Fatal("the revoked frame did not lose its data")
				}
				for k := 1; k < 3; k++ {
					for i, s := range want[k] {
						if frames[k].DataLost || !bytes.Equal(frames[k].Segment(i), s) {
							t.Fatalf("frame %d segment %d damaged", k, i)
						}
					}
				}
			})
		}
	}
}

// TestRouteCorrupt: a flipped bit in routed data is ErrBadCRC, and the
// RxBuffer is not filled.
func TestRouteCorrupt(t *testing.T) {
	for _, rev1 := range []bool{true, false} {
		e, d := pair(t, mode{rev1: rev1})
		stream, _ := routeStream(t, e, [][]int{{41, 200, 0, 4 * BigFrame}})
		stream[len(stream)-1000] ^= 0x10
		rb := message.NewRxBuffer(make([]byte, 4*BigFrame))
		d.SetRouter(func(hdr []byte, n int) *message.RxBuffer {
			if rb.Claim(n) {
				return rb
			}
			return nil
		})
		var err error
		for off := 0; off < len(stream) && err == nil; {
			buf := d.ReadSpace(4096)
			n := copy(buf, stream[off:])
			d.Commit(n)
			off += n
			_, err = d.Next()
		}
		if !errors.Is(err, ErrBadCRC) {
			t.Fatalf("rev1=%v: %v", rev1, err)
		}
		if rb.Revoke() {
			t.Fatalf("rev1=%v: a corrupt frame filled its RxBuffer", rev1)
		}
	}
}

// TestRouteRevokeRace: Revoke from another goroutine while the data
// streams in; the revoker then writes the memory. Under -race, a write by
// the Decoder after Revoke returned is a reported race; without, the
// memory is checked. Each round ends with DataLost or the data whole.
func TestRouteRevokeRace(t *testing.T) {
	e, _ := pair(t, mode{rev1: true})
	stream, want := routeStream(t, e, [][]int{{41, 200, 0, 8 * BigFrame}})
	for round := range 50 {
		_, d := pair(t, mode{rev1: true})
		b := make([]byte, 8*BigFrame)
		rb := message.NewRxBuffer(b)
		d.SetRouter(func(hdr []byte, n int) *message.RxBuffer {
			if rb.Claim(n) {
				return rb
			}
			return nil
		})
		var wg sync.WaitGroup
		start := make(chan struct{})
		var filled bool
		wg.Go(func() {
			<-start
			if filled = rb.Revoke(); !filled {
				clear(b)
			}
		})
		var f *Frame
		for off := 0; off < len(stream); {
			buf := d.ReadSpace(1 + round*97)
			n := copy(buf, stream[off:])
			d.Commit(n)
			if off == 0 {
				close(start)
			}
			off += n
			var err error
			if f, err = d.Next(); err != nil {
				t.Fatal(err)
			}
		}
		wg.Wait()
		zero := make([]byte, len(b))
		switch {
		case f == nil:
			t.Fatal("no frame")
		case f.DataLost:
			// Revoked with the data under way.
			if filled || !bytes.Equal(b, zero) {
				t.Fatalf("round %d: revoked memory written", round)
			}
		case !bytes.Equal(f.Segment(SegData), want[0][SegData]):
			t.Fatalf("round %d: data differs", round)
		case filled != sameMemory(f.Segment(SegData), b):
			t.Fatalf("round %d: filled %v, but the data is elsewhere", round, filled)
		case !filled && !bytes.Equal(b, zero):
			// Revoked before the router asked.
			t.Fatalf("round %d: revoked memory written", round)
		}
	}
}
