package aesgcm

import "testing"

// BenchmarkKernel: each kernel over 64 KiB, and the stitched kernels
// against the two separate passes (4 KiB at a time, so the second pass
// reads from L1).
func BenchmarkKernel(b *testing.B) {
	if !haveAVX512 {
		b.Skip("no AVX-512 kernels on this CPU")
	}
	g := newBench(b)
	buf := make([]byte, 65536)
	var ctr, y [BlockSize]byte
	for _, k := range []struct {
		name string
		run  func()
	}{
		{"ctr", func() { ctrAVX512(&g.ks, &ctr, buf, buf) }},
		{"ghash", func() { ghashAVX512(&g.tbl, &y, buf) }},
		{"twopass", func() {
			for off := 0; off < len(buf); off += 4096 {
				ctrAVX512(&g.ks, &ctr, buf[off:off+4096], buf[off:off+4096])
				ghashAVX512(&g.tbl, &y, buf[off:off+4096])
			}
		}},
		{"seal", func() { sealAVX512(&g.ks, &g.tbl, &ctr, &y, buf, buf) }},
		{"open", func() { openAVX512(&g.ks, &g.tbl, &ctr, &y, buf, buf) }},
	} {
		b.Run(k.name, func(b *testing.B) {
			b.SetBytes(int64(len(buf)))
			for b.Loop() {
				k.run()
			}
		})
	}
}
