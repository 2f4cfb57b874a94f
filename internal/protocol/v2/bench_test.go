package v2

import (
	"fmt"
	"testing"

	"github.com/gomsgr/msgr/message"
)

// BenchmarkMessages measures the machines alone: a client frames a
// message, the server decodes and delivers it, and the ACK flows back;
// bytes are handed over in memory.
func BenchmarkMessages(b *testing.B) {
	for _, size := range []int{4 << 10, 4 << 20} {
		b.Run(fmt.Sprint(size), func(b *testing.B) {
			n, cl, srv := pair(b, 1, losslessClient, statefulServer)
			c := cl.connect(srv, nil)
			n.settle()
			data := make([]byte, size)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				c.send(&OutMessage{Header: message.Header{Type: 1, Priority: message.PrioDefault}, Payload: message.Payload{Data: data}})
				n.settle()
				srv.delivered = srv.delivered[:0]
				c.acked = c.acked[:0]
			}
		})
	}
}
