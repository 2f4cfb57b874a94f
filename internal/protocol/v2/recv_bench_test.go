package v2

import (
	"fmt"
	"testing"

	"github.com/gomsgr/msgr/message"
)

// BenchmarkReceive measures an open session's receive path alone: one
// MESSAGE frame's bytes, as a socket would deliver them in reads of at
// most 64 KiB, decoded (crc checked) and delivered; the same frame again
// each time (the Machine drops it as a duplicate after decoding it). feed
// is Received (a copy out of the reader's buffer); read is ReadBuffer +
// Commit (the copy stands for the kernel's).
func BenchmarkReceive(b *testing.B) {
	for _, size := range []int{4 << 10, 64 << 10, 4 << 20} {
		for _, via := range []string{"feed", "read"} {
			b.Run(fmt.Sprintf("%dK/%s", size>>10, via), func(b *testing.B) {
				n, cl, srv := pair(b, 1, losslessClient, statefulServer)
				c := cl.connect(srv, nil)
				c.apply(c.m.Start(n.now))
				n.settle()
				s := srv.registry[cl.addrs.String()]
				var frame []byte
				for _, a := range flatten(c.m.Send(n.now, &OutMessage{Header: message.Header{Type: 1, Priority: message.PrioDefault}, Payload: message.Payload{Data: make([]byte, size)}})) {
					if w, ok := a.(write); ok {
						for _, p := range w.Bufs {
							frame = append(frame, p...)
						}
					}
				}
				const chunk = 64 << 10
				b.SetBytes(int64(size))
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					for off := 0; off < len(frame); {
						if via == "feed" {
							k := min(len(frame)-off, chunk)
							s.m.Received(n.now, frame[off:off+k])
							off += k
						} else {
							off += readInto(s.m, n, frame[off:min(len(frame), off+chunk)])
						}
					}
				}
			})
		}
	}
}

// readInto is one socket read of p through ReadBuffer and Commit.
func readInto(m *Machine, n *net, p []byte) int {
	k := copy(m.ReadBuffer(64<<10), p)
	m.Commit(n.now, k)
	return k
}
