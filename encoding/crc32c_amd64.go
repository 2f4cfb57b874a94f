//go:build !purego

package encoding

import "golang.org/x/sys/cpu"

// foldAVX512 returns p's crc from seed; p is a multiple of foldBlock
// bytes, at least one block. It folds p into 64 bytes (AVX-512 carry-less
// multiplies) and sums those with the crc32 instruction (SSE4.2).
//
//go:noescape
func foldAVX512(seed uint32, p []byte) uint32

var canFold = cpu.X86.HasAVX512F && cpu.X86.HasAVX512VPCLMULQDQ && cpu.X86.HasSSE42
