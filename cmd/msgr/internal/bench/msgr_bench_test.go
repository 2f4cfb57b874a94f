package bench

import (
	"context"
	"fmt"
	"net/netip"
	"testing"
	"time"
)

// BenchmarkMsgr runs msgr bench's workload (4 KiB requests, small replies
// from the server's fast dispatcher, lossy client, stateless server, depth
// 1) for b.N requests on the event-loop stack, in crc, secure and msgr1
// modes. allocs/msg and B/msg are
// the tool's own figures: the whole process (clients and server) per
// request and its reply, counted between the first send and the last
// answer, so that setup stays out.
func BenchmarkMsgr(b *testing.B) {
	for _, c := range []struct {
		mode  string
		conns int
	}{{"crc", 1}, {"crc", 16}, {"secure", 1}, {"v1", 1}} {
		mode, conns := c.mode, c.conns
		b.Run(fmt.Sprintf("mode=%s/size=4K/conns=%d", mode, conns), func(b *testing.B) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			srv, err := StartMsgrServer(ctx, "eventloop", netip.MustParseAddrPort("127.0.0.1:0"))
			if err != nil {
				b.Fatal(err)
			}
			defer func() { _ = srv.Close(context.Background()) }()
			spec := Spec{Stack: "eventloop", Mode: mode, Size: 4 << 10, Conns: conns, Depth: 1, Count: int64(max(b.N, conns))}
			res, err := RunMsgr(ctx, srv.Addrs(), spec, nil)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(res.AllocsPer, "allocs/msg")
			b.ReportMetric(res.AllocBPer, "B/msg")
			b.ReportMetric(res.MsgsPerSec, "msgs/s")
		})
	}
}
