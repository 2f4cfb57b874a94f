package wire

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/gomsgr/msgr/message"
)

// TestSendSums: frames with big segments listed in chunks whose crcs are
// computed as a writer goes (Writable before each write of a random
// size) come out byte for byte as frames built at once, in v2.1 and v2.0,
// also when consecutive frames send the very same data buffer; and the
// writer never gets past a chunk before it is summed.
func TestSendSums(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	shared := fill(3<<20+5, 7)
	for _, rev1 := range []bool{true, false} {
		for _, maxWrite := range []int{1000, 100 << 10, 1 << 20, 8 << 20} {
			t.Run(fmt.Sprintf("rev1=%v/write=%d", rev1, maxWrite), func(t *testing.T) {
				ref, e := NewEncoder(), NewEncoder()
				ref.SetRev1(rev1)
				e.SetRev1(rev1)
				var sums SendSums
				e.SetSendSums(&sums)
				var want []byte
				var out [][]byte
				shapes := [][][]byte{
					{fill(41, 1), fill(10, 2), nil, shared},
					{fill(41, 1), nil, nil, shared},
					{fill(41, 3), fill(20, 4), nil, fill(200, 5)},
					{fill(41, 1), fill(StreamSumMin, 6), nil, shared[:StreamSumMin+1]},
					{fill(41, 1), nil, nil, fill(StreamSumMin-1, 8)},
				}
				for _, segs := range shapes {
					var err error
					if want, err = ref.AppendFrame(want, TagMessage, segs...); err != nil {
						t.Fatal(err)
					}
					if out, err = e.Vec(out, TagMessage, segs...); err != nil {
						t.Fatal(err)
					}
				}
				if sums.Pending() == 0 {
					t.Fatal("no chunk left to sum")
				}
				got := writeAll(t, &sums, out, rng, maxWrite, nil)
				if !bytes.Equal(got, want) {
					t.Fatalf("streamed frames differ from whole ones (%d vs %d bytes)", len(got), len(want))
				}
				if sums.Pending() != 0 {
					t.Fatalf("%d chunks never summed", sums.Pending())
				}
			})
		}
	}
}

// TestSendSumsDropped: chunks a writer dropped (its socket closed) are
// forgotten, and the next frames' crcs are right.
func TestSendSumsDropped(t *testing.T) {
	ref, e := NewEncoder(), NewEncoder()
	var sums SendSums
	e.SetSendSums(&sums)
	data := fill(2<<20, 1)
	out, _ := e.Vec(nil, TagMessage, fill(41, 1), nil, nil, data)
	if k := sums.Writable(out); k == 0 || k == len(out) {
		t.Fatalf("writable %d of %d", k, len(out))
	}
	// The socket closes: what was listed is dropped.
	data2 := fill(2<<20, 2)
	out, _ = e.Vec(nil, TagMessage, fill(41, 1), nil, nil, data2)
	want, _ := ref.AppendFrame(nil, TagMessage, fill(41, 1), nil, nil, data2)
	var got []byte
	for len(out) > 0 {
		k := sums.Writable(out)
		for _, b := range out[:k] {
			got = append(got, b...)
		}
		out = out[k:]
	}
	if !bytes.Equal(got, want) {
		t.Fatal("frame after a dropped one differs")
	}
}

// TestStagedSecureFrames: secure frames built whole in pooled staging
// buffers (big ones too, as without aesgcm's kernels) decode as
// AppendMessage's, and each buffer is held until the writer's buffers no
// longer list it, then given back.
func TestStagedSecureFrames(t *testing.T) {
	defer func(on bool) { sealLazy = on }(sealLazy)
	sealLazy = false
	for _, rev1 := range []bool{true, false} {
		e, d := pair(t, mode{rev1, true})
		var sums SendSums
		e.SetSendSums(&sums)
		for k, size := range []int{100, 64 << 10, 1 << 20, 3<<20 + 7} {
			h := message.Header{Type: 7, Seq: uint64(k)}
			p := message.Payload{Front: fill(30, 1), Data: fill(size, byte(k))}
			out, err := e.VecMessageStaged(nil, &h, &p)
			if err != nil {
				t.Fatal(err)
			}
			b := out[0]
			if sums.Writable(out) != 1 {
				t.Fatal("a staged frame is not writable")
			}
			if len(sums.held) != 1 {
				t.Fatalf("%d-byte frame: %d staging buffers held", len(b), len(sums.held))
			}
			d.Feed(b)
			f, err := d.Next()
			if err != nil || f == nil || !bytes.Equal(f.Segment(SegData), p.Data) {
				t.Fatalf("staged frame of %d bytes: %v %v", size, f != nil, err)
			}
			// Written: the next Writable gives the buffer back.
			sums.Writable(nil)
			if len(sums.held) != 0 {
				t.Fatal("a written staging buffer is still held")
			}
			d.Release()
		}
	}
}

// TestStagedPutWritten: staging buffers go back exactly when the writer's
// buffers no longer list them, whatever lies between them (control
// frames, other pieces) and however much of the first is written.
func TestStagedPutWritten(t *testing.T) {
	e, _ := pair(t, mode{true, true})
	var sums SendSums
	e.SetSendSums(&sums)
	var frames [][]byte
	for k := range 6 {
		h := message.Header{Type: 7, Seq: uint64(k)}
		out, err := e.VecMessageStaged(nil, &h, &message.Payload{Data: fill(100*k+1, byte(k))})
		if err != nil {
			t.Fatal(err)
		}
		frames = append(frames, out...)
	}
	ctl := []byte("an ACK frame")
	for _, c := range []struct {
		name string
		bufs [][]byte // the writer's unwritten buffers
		held int      // still held after
	}{
		{"all listed", [][]byte{frames[0], ctl, frames[1], frames[2], ctl, frames[3], frames[4], frames[5]}, 6},
		{"first partly written", [][]byte{frames[0][5:], frames[1], ctl, frames[2], frames[3], frames[4], frames[5]}, 6},
		{"two written", [][]byte{ctl, frames[2], frames[3], ctl, frames[4], frames[5]}, 4},
		{"one left, partly", [][]byte{frames[5][len(frames[5])-1:], ctl}, 1},
		{"all written", nil, 0},
	} {
		sums.Writable(c.bufs)
		if len(sums.held) != c.held {
			t.Fatalf("%s: %d held, want %d", c.name, len(sums.held), c.held)
		}
		for i, h := range sums.held {
			if !sameEnd(h.frame, frames[6-c.held+i]) {
				t.Fatalf("%s: held %d is not frame %d", c.name, i, 6-c.held+i)
			}
		}
	}
}
