package wire

import (
	"fmt"
	"testing"

	"github.com/gomsgr/msgr/message"
)

var benchSizes = []int{4 << 10, 64 << 10, 4 << 20}

func benchModes() []mode { return []mode{{true, false}, {true, true}} }

// BenchmarkEncode: a MESSAGE frame with a data segment of each size,
// appended into a reused buffer (Append) or as an iovec (Vec, which in crc
// mode references the data instead of copying it).
func BenchmarkEncode(b *testing.B) {
	for _, m := range benchModes() {
		for _, size := range benchSizes {
			data := fill(size, 1)
			front := fill(200, 2)
			h := message.Header{Type: 42, Version: 8, CompatVersion: 3, Priority: message.PrioDefault}
			p := message.Payload{Front: front, Data: data}
			b.Run(fmt.Sprintf("%v/append/%dK", m, size>>10), func(b *testing.B) {
				e, _ := pair(b, m)
				var out []byte
				b.SetBytes(int64(size))
				b.ReportAllocs()
				for i := 0; i < b.N; i++ {
					var err error
					out, err = e.AppendMessage(out[:0], &h, &p)
					if err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run(fmt.Sprintf("%v/vec/%dK", m, size>>10), func(b *testing.B) {
				e, _ := pair(b, m)
				iov := make([][]byte, 0, 8)
				b.SetBytes(int64(size))
				b.ReportAllocs()
				for i := 0; i < b.N; i++ {
					var err error
					iov, err = e.VecMessage(iov[:0], &h, &p, PreSum{})
					if err != nil {
						b.Fatal(err)
					}
					e.Reset()
				}
			})
		}
	}
}

// BenchmarkDecode: the frame's bytes are read into the Decoder's buffer
// (ReadBuffer + Commit, as a socket read would) and decoded: crc checked,
// or decrypted and authenticated in place.
func BenchmarkDecode(b *testing.B) {
	for _, m := range benchModes() {
		for _, size := range benchSizes {
			b.Run(fmt.Sprintf("%v/%dK", m, size>>10), func(b *testing.B) {
				e, d := pair(b, m)
				wire, err := e.AppendFrame(nil, TagMessage, fill(41, 0), fill(200, 2), nil, fill(size, 1))
				if err != nil {
					b.Fatal(err)
				}
				b.SetBytes(int64(size))
				b.ReportAllocs()
				for i := 0; i < b.N; i++ {
					if d.rx != nil {
						// Every iteration decrypts the same record.
						d.rx.nonce, d.rx.used = d.rx.initial, false
					}
					buf := d.ReadBuffer(len(wire))
					d.Commit(copy(buf, wire))
					f, err := d.Next()
					if err != nil || f == nil || len(f.Segment(SegData)) != size {
						b.Fatal(f, err)
					}
				}
			})
		}
	}
}
