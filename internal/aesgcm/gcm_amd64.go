//go:build !purego

package aesgcm

import "golang.org/x/sys/cpu"

// ctrAVX512 sets dst[:len(src)] to src XOR AES-128-CTR's keystream from
// the counter block *ctr on (GCM's counter: the last four bytes, big
// endian, mod 2^32). It does not advance *ctr.
//
//go:noescape
func ctrAVX512(ks *[roundKeysSize]byte, ctr *[BlockSize]byte, dst, src []byte)

// ghashAVX512 carries GHASH over p, zero-padded to whole blocks, on from
// the accumulator *y (byte-reversed form, see table.go).
//
//go:noescape
func ghashAVX512(tbl *[tableSize]byte, y *[BlockSize]byte, p []byte)

// sealAVX512 encrypts src into dst from the counter block *ctr and
// carries GHASH over dst on from *y, in one pass (the stitched kernel);
// len(src) is a positive multiple of 256. It does not advance *ctr.
//
//go:noescape
func sealAVX512(ks *[roundKeysSize]byte, tbl *[tableSize]byte, ctr, y *[BlockSize]byte, dst, src []byte)

// openAVX512 is sealAVX512's inverse: it hashes src and decrypts it into
// dst, which may be src.
//
//go:noescape
func openAVX512(ks *[roundKeysSize]byte, tbl *[tableSize]byte, ctr, y *[BlockSize]byte, dst, src []byte)

// haveAVX512 says the kernels can run: 512-bit AES and carry-less
// multiplication, byte masks (BW), their 128-bit forms on the upper
// sixteen registers (VL), and BZHI (BMI2).
var haveAVX512 = cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512VL &&
	cpu.X86.HasAVX512VAES && cpu.X86.HasAVX512VPCLMULQDQ && cpu.X86.HasBMI2
