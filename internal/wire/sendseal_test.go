package wire

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/gomsgr/msgr/internal/aesgcm"
	"github.com/gomsgr/msgr/message"
)

// writeAll plays a writer over out: Writable before each write, then a
// write of 1 to maxWrite bytes of what it let through, as writev would
// (a partly written buffer stays, trimmed). check, if set, runs after
// each Writable. It returns the bytes written.
func writeAll(t *testing.T, s *SendSums, out [][]byte, rng *rand.Rand, maxWrite int, check func()) []byte {
	t.Helper()
	var got []byte
	for len(out) > 0 {
		k := s.Writable(out)
		if k == 0 {
			t.Fatal("nothing writable")
		}
		if check != nil {
			check()
		}
		budget := 1 + rng.IntN(maxWrite)
		i := 0
		for i < k && budget > 0 {
			n := min(budget, len(out[i]))
			got = append(got, out[i][:n]...)
			budget -= n
			if n < len(out[i]) {
				out[i] = out[i][n:]
				break
			}
			i++
		}
		clear(out[:i])
		out = out[i:]
	}
	return got
}

// withSealLazy runs f with big secure frames sealed as they are written
// (on: the streaming path, also on CPUs without aesgcm's kernels) or
// whole.
func withSealLazy(t *testing.T, on bool, f func()) {
	t.Helper()
	old := sealLazy
	sealLazy = on
	defer func() { sealLazy = old }()
	f()
}

// sealSizes returns the big data sizes a test uses: smaller without the
// kernels, where Stream hashes bit by bit.
func sealSizes() (big, spread int) {
	if aesgcm.Kernels() {
		return StreamSumMin, 3 << 20
	}
	return StreamSumMin, 64 << 10
}

// TestSealedAsWritten: secure frames built with VecMessageStaged, big ones
// sealed chunk by chunk (chunks of random sizes) as a writer of random
// write sizes reaches them, mixed with small staged frames and control
// frames before and after them, are byte for byte the frames
// AppendMessage and AppendControl make (same records, same nonces), and
// a Decoder fed the bytes at random splits gets every frame back. The
// writer never holds more sealed chunks than Writable's window, and
// every pooled buffer goes back once written.
func TestSealedAsWritten(t *testing.T) {
	withSealLazy(t, true, func() {
		rng := rand.New(rand.NewPCG(31, 32))
		big, spread := sealSizes()
		chunks := []int{0, 4096 + 5, 16 * 1000, 64<<10 + 7}
		writes := []int{4 << 10, 100 << 10, 8 << 20}
		if !aesgcm.Kernels() {
			// Stream hashes bit by bit: fewer rounds.
			chunks, writes = chunks[:2], writes[1:]
		}
		for _, rev1 := range []bool{true, false} {
			for _, chunk := range chunks {
				for _, maxWrite := range writes {
					name := fmt.Sprintf("rev1=%v/chunk=%d/write=%d", rev1, chunk, maxWrite)
					t.Run(name, func(t *testing.T) {
						sealRound(t, rng, rev1, chunk, maxWrite, big, spread)
					})
				}
			}
		}
	})
}

// sealItem is one frame of sealRound: a message or a control frame.
type sealItem struct {
	h   message.Header
	p   message.Payload
	ctl bool
}

func sealRound(t *testing.T, rng *rand.Rand, rev1 bool, chunk, maxWrite, big, spread int) {
	ref, _ := pair(t, mode{rev1, true})
	e, d := pair(t, mode{rev1, true})
	var sums SendSums
	sums.chunk = chunk
	e.SetSendSums(&sums)
	n := 3 + rng.IntN(4)
	var items []sealItem
	var want []byte
	var out [][]byte
	bigs := 0
	for k := range n {
		it := sealItem{h: message.Header{Type: 7, Seq: uint64(k + 1)}}
		kind := rng.IntN(3)
		if k == 0 {
			kind = 1 // a small staged frame first: the big ones queue behind it
		}
		switch kind {
		case 0:
			it.ctl = true
			it.p.Front = fill(rng.IntN(100), byte(k))
		case 1:
			it.p.Front = fill(rng.IntN(300), byte(k))
			it.p.Data = fill(rng.IntN(70<<10), byte(k+1))
		default:
			bigs++
			it.p.Front = fill(rng.IntN(3)*rng.IntN(5000), byte(k))
			it.p.Middle = fill(rng.IntN(2)*rng.IntN(300), byte(k+2))
			it.p.Data = fill(big-len(it.p.Front)-len(it.p.Middle)+rng.IntN(spread), byte(k+1))
		}
		items = append(items, it)
		var err error
		if it.ctl {
			want, err = ref.AppendFrame(want, TagKeepalive2, it.p.Front)
			if err == nil {
				var b []byte
				b, err = e.AppendFrame(nil, TagKeepalive2, it.p.Front)
				out = append(out, b)
			}
		} else {
			want, err = ref.AppendMessage(want, &it.h, &it.p)
			if err == nil {
				out, err = e.VecMessageStaged(out, &it.h, &it.p)
			}
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if bigs > 0 && sums.Pending() == 0 {
		t.Fatal("big frames queued but no chunk to seal")
	}
	c := chunk
	if c == 0 {
		c = sumChunk
	}
	got := writeAll(t, &sums, out, rng, maxWrite, func() {
		// Sealed and unwritten: at most Writable's window, plus the
		// chunk under way and one it starts before the window is full.
		live := 0
		for _, s := range sums.live {
			live += len(s.frame)
		}
		if live > sumAhead+2*c {
			t.Fatalf("%d bytes in %d chunks of %d sealed and unwritten", live, len(sums.live), c)
		}
	})
	if !bytes.Equal(got, want) {
		at := 0
		for at < min(len(got), len(want)) && got[at] == want[at] {
			at++
		}
		t.Fatalf("written frames differ from whole ones at byte %d (%d vs %d bytes)", at, len(got), len(want))
	}
	if sums.Pending() != 0 {
		t.Fatalf("%d chunks never sealed", sums.Pending())
	}
	sums.Writable(nil)
	if len(sums.held)+len(sums.live) != 0 {
		t.Fatalf("%d staging buffers and %d chunks held after the writes", len(sums.held), len(sums.live))
	}
	// A Decoder reading the stream at random splits gets the frames.
	next := 0
	for off := 0; off < len(got); {
		m := min(len(got)-off, 1+rng.IntN(600<<10))
		d.Feed(got[off : off+m])
		off += m
		for {
			f, err := d.Next()
			if err != nil {
				t.Fatalf("frame %d: %v", next, err)
			}
			if f == nil {
				break
			}
			it := items[next]
			next++
			if it.ctl {
				if f.Tag != TagKeepalive2 || !bytes.Equal(f.Segment(0), it.p.Front) {
					t.Fatalf("control frame %d differs", next-1)
				}
				continue
			}
			if f.Tag != TagMessage || !bytes.Equal(f.Segment(SegData), it.p.Data) ||
				!bytes.Equal(f.Segment(1), it.p.Front) || !bytes.Equal(f.Segment(2), it.p.Middle) {
				t.Fatalf("message %d differs", next-1)
			}
		}
	}
	if next != len(items) {
		t.Fatalf("%d frames decoded of %d", next, len(items))
	}
	d.Release()
}

// poisoned reports whether b was given back to the pool in a race build
// (putBuf fills it with 0xdb); always true in other builds.
func poisoned(b []byte) bool {
	if !poisonReleased {
		return true
	}
	for _, c := range b {
		if c != 0xdb {
			return false
		}
	}
	return true
}

// TestSealedReset: a socket dropped in the middle of big secure frames
// (some chunks written, some sealed and unwritten, some sealed ahead by
// SumAll, the rest not sealed) gives back every pooled buffer once the
// writer's buffers no longer list them, and nothing is sealed after.
func TestSealedReset(t *testing.T) {
	withSealLazy(t, true, func() {
		big, _ := sealSizes()
		for _, c := range []struct {
			name   string
			writes int  // writes before the drop
			sumAll bool // SumAll before the drop
		}{
			{"before any write", 0, false},
			{"after the head", 1, false},
			{"mid frame", 3, false},
			{"mid frame, sealed ahead", 2, true},
		} {
			t.Run(c.name, func(t *testing.T) {
				e, _ := pair(t, mode{true, true})
				var sums SendSums
				sums.chunk = 64 << 10
				e.SetSendSums(&sums)
				out, err := e.VecMessageStaged(nil, &message.Header{Type: 7}, &message.Payload{Data: fill(100, 9)})
				if err != nil {
					t.Fatal(err)
				}
				for k := range 2 {
					h := message.Header{Type: 7, Seq: uint64(k + 1)}
					if out, err = e.VecMessageStaged(out, &h, &message.Payload{Data: fill(big+3, byte(k))}); err != nil {
						t.Fatal(err)
					}
				}
				for range c.writes {
					k := sums.Writable(out)
					// Write the first buffer and half of the next.
					out = out[1:]
					if k > 1 {
						out[0] = out[0][len(out[0])/2:]
					}
				}
				if c.sumAll {
					sums.SumAll()
				}
				var bufs [][]byte
				for _, s := range sums.held {
					bufs = append(bufs, (*s.p)[:len(s.frame)])
				}
				for _, s := range sums.live {
					bufs = append(bufs, (*s.p)[:len(s.frame)])
				}
				for _, pc := range sums.q {
					if pc.done.p != nil {
						bufs = append(bufs, (*pc.done.p)[:len(pc.done.frame)])
					}
				}
				if c.sumAll && sums.Pending() > 0 && len(bufs) <= len(sums.held)+len(sums.live) {
					t.Fatal("SumAll sealed nothing ahead")
				}
				// The socket drops: the writer forgets its buffers.
				sums.Writable(nil)
				if sums.Pending()+len(sums.held)+len(sums.live) != 0 {
					t.Fatalf("after the drop: %d pending, %d staged, %d chunks", sums.Pending(), len(sums.held), len(sums.live))
				}
				for i, b := range bufs {
					if !poisoned(b) {
						t.Fatalf("buffer %d of %d not given back", i, len(bufs))
					}
				}
			})
		}
	})
}

// TestSealedSumAll: after SumAll a big secure frame no longer reads the
// payload it was built from (DetachData hands the caller's memory back
// after it): changing the payload then leaves the written bytes intact.
func TestSealedSumAll(t *testing.T) {
	withSealLazy(t, true, func() {
		big, _ := sealSizes()
		rng := rand.New(rand.NewPCG(41, 42))
		for _, rev1 := range []bool{true, false} {
			ref, _ := pair(t, mode{rev1, true})
			e, _ := pair(t, mode{rev1, true})
			var sums SendSums
			e.SetSendSums(&sums)
			h := message.Header{Type: 7, Seq: 1}
			p := message.Payload{Front: fill(100, 1), Data: fill(big+17, 2)}
			first := message.Payload{Data: fill(100, 3)}
			want, _ := ref.AppendMessage(nil, &h, &first)
			want, _ = ref.AppendMessage(want, &h, &p)
			out, err := e.VecMessageStaged(nil, &h, &first)
			if err != nil {
				t.Fatal(err)
			}
			if out, err = e.VecMessageStaged(out, &h, &p); err != nil {
				t.Fatal(err)
			}
			// Part written, then detached.
			if k := sums.Writable(out); k < 3 {
				t.Fatalf("%d buffers writable: no chunk sealed", k)
			}
			got := append(bytes.Clone(out[0]), out[1]...)
			out = out[2:]
			sums.SumAll()
			clear(p.Data)
			clear(p.Front)
			got = append(got, writeAll(t, &sums, out, rng, 100<<10, nil)...)
			if !bytes.Equal(got, want) {
				t.Fatalf("rev1=%v: the frame changed with its payload after SumAll", rev1)
			}
		}
	})
}

// TestSealedAllocs: a big secure frame sealed as it is written (behind
// a small one) allocates a bounded number of objects, whatever its size,
// and no buffer memory once the pool is warm.
func TestSealedAllocs(t *testing.T) {
	if poisonReleased { // a race build
		t.Skip("the race detector allocates")
	}
	withSealLazy(t, true, func() {
		big, _ := sealSizes()
		e, _ := pair(t, mode{true, true})
		var sums SendSums
		e.SetSendSums(&sums)
		h := message.Header{Type: 7, Seq: 1}
		p := message.Payload{Front: fill(100, 1), Data: fill(4*big, 2)}
		iov := make([][]byte, 0, 64)
		allocs := testing.AllocsPerRun(20, func() { queueBig(t, e, &sums, iov, &h, &p) })
		// The job, the placeholders, the queue; a sync.Pool may allocate
		// now and then.
		if allocs > 4 {
			t.Fatalf("%.1f allocations per frame", allocs)
		}
	})
}

// TestSealedWhenQueued: a big secure frame with nothing unwritten ahead of
// it is sealed whole, at once (one staging buffer); queued behind a frame
// not yet written it is listed as its head then chunks to seal; once the
// writer has written everything, the next is whole again.
func TestSealedWhenQueued(t *testing.T) {
	withSealLazy(t, true, func() {
		big, _ := sealSizes()
		e, _ := pair(t, mode{true, true})
		var sums SendSums
		e.SetSendSums(&sums)
		h := message.Header{Type: 7}
		p := message.Payload{Data: fill(big, 1)}
		for _, queued := range []bool{false, true} {
			out, err := e.VecMessageStaged(nil, &h, &p)
			if err != nil {
				t.Fatal(err)
			}
			if whole := len(out) == 1 && sums.Pending() == 0; whole == queued {
				t.Fatalf("queued=%v: %d buffers, %d chunks to seal", queued, len(out), sums.Pending())
			}
			if queued && sums.Pending() != len(out)-1 {
				t.Fatalf("queued: %d buffers, %d chunks to seal", len(out), sums.Pending())
			}
		}
		sums.Writable(nil) // all written (or dropped)
		out, err := e.VecMessageStaged(nil, &h, &p)
		if err != nil || len(out) != 1 || sums.Pending() != 0 {
			t.Fatalf("after the writes: %d buffers, %d chunks to seal, %v", len(out), sums.Pending(), err)
		}
	})
}

// queueBig stages a small MESSAGE frame then p's behind it (so that p's,
// if big, is sealed as written), and writes both, as a writer taking
// everything Writable lets through would.
func queueBig(tb testing.TB, e *Encoder, s *SendSums, iov [][]byte, h *message.Header, p *message.Payload) {
	small := message.Payload{Data: fill(100, 3)}
	out, err := e.VecMessageStaged(iov, h, &small)
	if err == nil {
		out, err = e.VecMessageStaged(out, h, p)
	}
	if err != nil {
		tb.Fatal(err)
	}
	for len(out) > 0 {
		k := s.Writable(out)
		clear(out[:k])
		out = out[k:]
	}
	s.Writable(nil)
}

// TestSealedTagSplit: a record whose chunk boundary falls inside its tag
// (the last chunk holds 1..15 of its bytes) is written byte for byte as
// the whole-record path makes it.
func TestSealedTagSplit(t *testing.T) {
	withSealLazy(t, true, func() {
		big, _ := sealSizes()
		const chunk = 4101
		rng := rand.New(rand.NewPCG(51, 52))
		for _, tail := range []int{1, 5, 15} {
			// v2.1 with segments 1 and 2 empty: the record is the data
			// padded, the epilogue and the tag.
			n := big
			for (int(pad16(uint64(n)))+epilogueSecure+TagSize)%chunk != tail {
				n += Block
			}
			ref, _ := pair(t, mode{true, true})
			e, _ := pair(t, mode{true, true})
			var sums SendSums
			sums.chunk = chunk
			e.SetSendSums(&sums)
			h := message.Header{Type: 7}
			first := message.Payload{Data: fill(100, 1)}
			p := message.Payload{Data: fill(n, 2)}
			want, _ := ref.AppendMessage(nil, &h, &first)
			want, _ = ref.AppendMessage(want, &h, &p)
			out, err := e.VecMessageStaged(nil, &h, &first)
			if err == nil {
				out, err = e.VecMessageStaged(out, &h, &p)
			}
			if err != nil {
				t.Fatal(err)
			}
			if last := sums.q[len(sums.q)-1].n; last != tail {
				t.Fatalf("last chunk %d bytes, want %d", last, tail)
			}
			if got := writeAll(t, &sums, out, rng, 64<<10, nil); !bytes.Equal(got, want) {
				t.Fatalf("tail %d: the frame differs", tail)
			}
		}
	})
}
