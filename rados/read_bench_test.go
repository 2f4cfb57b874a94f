package rados_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"
)

// BenchmarkReadLive reads one object of each size over and over from the
// cluster MSGR_TEST_CEPH_RADOS names (skips without it), into the same
// buffer: -benchmem's allocations are the client's alone (the OSD is
// another process).
func BenchmarkReadLive(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	c, io := liveIOContext(b, ctx)
	defer c.Shutdown()
	for _, size := range []int{64 << 10, 4 << 20} {
		data := randomBytes(size)
		oid := fmt.Sprintf("bench-read-%d", size)
		if err := io.WriteFull(ctx, oid, data); err != nil {
			b.Fatal(err)
		}
		buf := make([]byte, size)
		b.Run(fmt.Sprintf("%dK", size>>10), func(b *testing.B) {
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				if n, err := io.Read(ctx, oid, buf, 0); err != nil || n != size {
					b.Fatalf("read: %d bytes, %v", n, err)
				}
			}
			if !bytes.Equal(buf, data) {
				b.Fatal("read the wrong bytes")
			}
		})
	}
}
