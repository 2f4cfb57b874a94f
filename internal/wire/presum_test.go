package wire

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/gomsgr/msgr/encoding"
	"github.com/gomsgr/msgr/message"
)

// TestPreSum: a MESSAGE frame built with the data segment's PreSum is
// byte for byte the frame built by summing (AppendMessage), in every
// mode, with and without SendSums; crc mode takes the crc from the sum
// (a planted one shows up in the epilogue), and a sum of another seed or
// length, or any sum in secure mode, is ignored.
func TestPreSum(t *testing.T) {
	secret := fill(64, 9)
	modes := []struct {
		name         string
		rev1, secure bool
	}{
		{"v2.1", true, false},
		{"v2.0", false, false},
		{"v2.1-secure", true, true},
		{"v2.0-secure", false, true},
	}
	sizes := []int{1, 4096, 64 << 10, StreamSumMin, 4<<20 + 3}
	for _, md := range modes {
		for _, streamed := range []bool{false, true} {
			for _, n := range sizes {
				t.Run(fmt.Sprintf("%s/streamed=%v/%d", md.name, streamed, n), func(t *testing.T) {
					data := fill(n, byte(n))
					sums := []struct {
						name string
						sum  PreSum
						used bool // crc mode writes sum.CRC
					}{
						{"taken", TakePreSum(SegmentSeed, data), true},
						{"planted", PreSum{CRC: 0xdeadbeef, Seed: SegmentSeed, Len: n}, true},
						{"msgr1-seed", PreSum{CRC: 0xdeadbeef, Seed: 0, Len: n}, false},
						{"other-length", PreSum{CRC: 0xdeadbeef, Seed: SegmentSeed, Len: n + 1}, false},
						{"none", PreSum{}, false},
					}
					for _, s := range sums {
						h := message.Header{Type: 42, Seq: 7, Tid: 9}
						p := message.Payload{Front: fill(30, 1), Data: data}
						ref, e := NewEncoder(), NewEncoder()
						ref.SetRev1(md.rev1)
						e.SetRev1(md.rev1)
						if md.secure {
							_, tx1, err := NewSecure(secret, RoleClient, md.rev1)
							if err != nil {
								t.Fatal(err)
							}
							_, tx2, _ := NewSecure(secret, RoleClient, md.rev1)
							ref.SetSecure(tx1)
							e.SetSecure(tx2)
						}
						var ss SendSums
						if streamed {
							e.SetSendSums(&ss)
						}
						want, err := ref.AppendMessage(nil, &h, &p)
						if err != nil {
							t.Fatal(err)
						}
						iov, err := e.VecMessage(nil, &h, &p, s.sum)
						if err != nil {
							t.Fatal(err)
						}
						var got []byte
						for len(iov) > 0 {
							k := ss.Writable(iov)
							for _, b := range iov[:k] {
								got = append(got, b...)
							}
							iov = iov[k:]
						}
						if s.used && !md.secure {
							// The data crc is the frame's last 4 bytes (both
							// revisions' epilogues end with it).
							if c := binary.LittleEndian.Uint32(got[len(got)-4:]); c != s.sum.CRC {
								t.Fatalf("%s: data crc %#x, want the sum's %#x", s.name, c, s.sum.CRC)
							}
							binary.LittleEndian.PutUint32(got[len(got)-4:], SegmentCRC(data))
						}
						if !bytes.Equal(got, want) {
							t.Fatalf("%s: frame differs from the summed one (%d vs %d bytes)", s.name, len(got), len(want))
						}
					}
				})
			}
		}
	}
}

// TestPreSumFor: a sum is returned only for its own seed and length, and
// is the direct crc.
func TestPreSumFor(t *testing.T) {
	data := fill(1000, 3)
	for _, seed := range []uint32{0, SegmentSeed, 12345} {
		s := TakePreSum(seed, data)
		if crc, ok := s.For(seed, data); !ok || crc != encoding.CRC32C(seed, data) {
			t.Fatalf("seed %#x: %#x %v", seed, crc, ok)
		}
		if _, ok := s.For(seed^1, data); ok {
			t.Fatalf("seed %#x: used for another seed", seed)
		}
		if _, ok := s.For(seed, data[1:]); ok {
			t.Fatalf("seed %#x: used for another length", seed)
		}
	}
	if _, ok := TakePreSum(0, nil).For(0, nil); ok {
		t.Fatal("a sum of nothing is used")
	}
}
