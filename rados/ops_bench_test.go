package rados_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	. "github.com/gomsgr/msgr/rados"
)

// benchObjects is how many objects the 4 KiB live benchmarks cycle
// through: enough to spread over the PGs, few enough for a small memstore.
const benchObjects = 256

// liveIOContext connects to the cluster MSGR_TEST_CEPH_RADOS names (skips
// without it) and opens its pool "msgr".
func liveIOContext(b *testing.B, ctx context.Context) (*Conn, *IOContext) {
	conf := os.Getenv("MSGR_TEST_CEPH_RADOS")
	if conf == "" {
		b.Skip("MSGR_TEST_CEPH_RADOS is not set")
	}
	c, err := NewConn()
	if err != nil {
		b.Fatal(err)
	}
	if err := c.ReadConfigFile(conf); err != nil {
		b.Fatal(err)
	}
	if err := c.Connect(ctx); err != nil {
		b.Fatal(err)
	}
	io, err := c.OpenIOContext(ctx, "msgr")
	if err != nil {
		c.Shutdown()
		b.Fatal(err)
	}
	return c, io
}

// BenchmarkOps4KLive is `rados bench`'s 4 KiB write and read with 16 ops
// in flight, against the cluster MSGR_TEST_CEPH_RADOS names: 16 goroutines
// each doing one op at a time (Sync), or 16 chains of Async ops, each
// started from the previous one's OnDone (Async, as msgr rados bench
// does). -benchmem's allocations per op are
// the client's alone (the OSD is another process).
func BenchmarkOps4KLive(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	c, io := liveIOContext(b, ctx)
	defer c.Shutdown()
	data := randomBytes(4096)
	oid := func(i int64) string { return fmt.Sprintf("bench-4k-%d", i%benchObjects) }
	for i := range int64(benchObjects) {
		if err := io.WriteFull(ctx, oid(i), data); err != nil {
			b.Fatal(err)
		}
	}
	for _, mode := range []string{"write", "read"} {
		b.Run("Sync/"+mode, func(b *testing.B) {
			var next atomic.Int64
			b.SetParallelism(max(1, 16/runtime.GOMAXPROCS(0)))
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				buf := make([]byte, 4096)
				for pb.Next() {
					o := oid(next.Add(1))
					if mode == "write" {
						if err := io.Write(ctx, o, data, 0); err != nil {
							b.Error(err)
							return
						}
					} else if n, err := io.Read(ctx, o, buf, 0); err != nil || n != len(buf) {
						b.Errorf("read %s: %d bytes, %v", o, n, err)
						return
					}
				}
			})
		})
		b.Run("Async/"+mode, func(b *testing.B) {
			var left atomic.Int64
			left.Store(int64(b.N))
			errs := make(chan error, 16)
			var next func(buf []byte)
			next = func(buf []byte) {
				i := left.Add(-1)
				if i < 0 {
					errs <- nil
					return
				}
				var c *Completion
				if mode == "write" {
					c = io.WriteAsync(ctx, oid(i), data, 0)
				} else {
					c = io.ReadAsync(ctx, oid(i), buf, 0)
				}
				c.OnDone(func() {
					if err := c.Wait(ctx); err != nil {
						errs <- err
						return
					}
					next(buf)
				})
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range 16 {
				next(make([]byte, 4096))
			}
			for range 16 {
				if err := <-errs; err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
