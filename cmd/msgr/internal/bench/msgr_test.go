package bench

import (
	"context"
	"net/netip"
	"testing"
	"time"
)

func TestMsgrCount(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for _, st := range Stacks {
		t.Run(st, func(t *testing.T) {
			srv, err := StartMsgrServer(ctx, st, netip.MustParseAddrPort("127.0.0.1:0"))
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				if err := srv.Close(ctx); err != nil {
					t.Error(err)
				}
			}()
			for _, spec := range []Spec{
				{Stack: st, Mode: "crc", Size: 4096, Conns: 3, Depth: 4, Count: 301},
				{Stack: st, Mode: "crc", Size: 1 << 20, Conns: 2, Depth: 2, Count: 10},
				{Stack: st, Mode: "secure", Size: 4096, Conns: 2, Depth: 3, Count: 100},
				{Stack: st, Mode: "secure", Size: 1 << 20, Conns: 1, Depth: 2, Count: 6},
				{Stack: st, Mode: "crc", Size: 4096, Conns: 4, Rate: 20000, Count: 400},
				{Stack: st, Mode: "crc", Size: 4096, Conns: 3, Depth: 4, Count: 301, Lossless: true},
				{Stack: st, Mode: "secure", Size: 1 << 20, Conns: 2, Depth: 2, Count: 10, Lossless: true},
				{Stack: st, Mode: "v1", Size: 4096, Conns: 2, Depth: 4, Count: 200, Lossless: true},
			} {
				before, secureBefore, losslessBefore := srv.Answered(), srv.SecureSessions(), srv.LosslessSessions()
				r, err := RunMsgr(ctx, srv.Addrs(), spec, nil)
				if err != nil {
					t.Fatalf("%s: %v", spec.Key(), err)
				}
				if r.Messages != spec.Count || r.Sent != spec.Count {
					t.Errorf("%s: %d answered, %d sent, want %d", spec.Key(), r.Messages, r.Sent, spec.Count)
				}
				// The server also answered one warm-up request per session.
				if got := srv.Answered() - before; got != spec.Count+int64(spec.Conns) {
					t.Errorf("%s: server answered %d, want %d", spec.Key(), got, spec.Count+int64(spec.Conns))
				}
				if secure := srv.SecureSessions() - secureBefore; (spec.Mode == "secure") != (secure == int64(spec.Conns)) || (spec.Mode != "secure" && secure != 0) {
					t.Errorf("%s: %d sessions in secure mode for %d connections", spec.Key(), secure, spec.Conns)
				}
				if lossless := srv.LosslessSessions() - losslessBefore; spec.Lossless != (lossless == int64(spec.Conns)) || (!spec.Lossless && lossless != 0) {
					t.Errorf("%s: %d sessions of lossless clients for %d connections", spec.Key(), lossless, spec.Conns)
				}
				if r.MsgsPerSec <= 0 || r.P50 <= 0 || r.P50 > r.P99 {
					t.Errorf("%s: implausible result %+v", spec.Key(), r)
				}
			}
		})
	}
}
