package wire

import (
	"testing"

	"github.com/gomsgr/msgr/message"
)

// BenchmarkSealStaged: a 4 MiB secure MESSAGE frame staged whole, against
// sealed chunk by chunk as a writer reaches its chunks (no writes: the
// user-space cost alone).
func BenchmarkSealStaged(b *testing.B) {
	for _, lazy := range []bool{false, true} {
		name := map[bool]string{false: "whole", true: "lazy"}[lazy]
		b.Run(name, func(b *testing.B) {
			old := sealLazy
			sealLazy = lazy
			defer func() { sealLazy = old }()
			e, _ := pair(b, mode{true, true})
			var sums SendSums
			e.SetSendSums(&sums)
			h := message.Header{Type: 7, Seq: 1}
			p := message.Payload{Data: fill(4<<20, 2)}
			iov := make([][]byte, 0, 64)
			b.SetBytes(4 << 20)
			for b.Loop() {
				queueBig(b, e, &sums, iov, &h, &p)
			}
		})
	}
}
