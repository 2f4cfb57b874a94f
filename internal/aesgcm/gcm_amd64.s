//go:build !purego

#include "textflag.h"

// Both kernels keep 128-bit values the way AES-NI and GHASH by carry-less
// multiplication want them: AES blocks in stream byte order, GHASH values
// byte-reversed (bswap) so that a field element is one 128-bit integer;
// see table.go for the power table's form.

DATA bswap<>+0(SB)/8, $0x08090a0b0c0d0e0f
DATA bswap<>+8(SB)/8, $0x0001020304050607
GLOBL bswap<>(SB), RODATA|NOPTR, $16

// x^-1 mod P in the byte-reversed form; the reduction uses its high qword.
DATA poly<>+0(SB)/8, $0x0000000000000001
DATA poly<>+8(SB)/8, $0xc200000000000000
GLOBL poly<>(SB), RODATA|NOPTR, $16

// Counter offsets of a register's four blocks, and the step of four.
DATA lanes<>+0(SB)/8, $0
DATA lanes<>+8(SB)/8, $0
DATA lanes<>+16(SB)/8, $1
DATA lanes<>+24(SB)/8, $0
DATA lanes<>+32(SB)/8, $2
DATA lanes<>+40(SB)/8, $0
DATA lanes<>+48(SB)/8, $3
DATA lanes<>+56(SB)/8, $0
GLOBL lanes<>(SB), RODATA|NOPTR, $64
DATA four<>+0(SB)/8, $4
DATA four<>+8(SB)/8, $0
GLOBL four<>(SB), RODATA|NOPTR, $16

// The four registers' counter blocks from Z27 (counters as little-endian
// dwords, so that VPADDD wraps them mod 2^32 as GCM does), Z27 advanced by
// 16, then the ten AES-128 rounds with the round keys in Z16..Z26.
#define AES4() \
	VMOVDQA64  Z27, Z0; \
	VPADDD     Z28, Z0, Z1; \
	VPADDD     Z28, Z1, Z2; \
	VPADDD     Z28, Z2, Z3; \
	VPADDD     Z28, Z3, Z27; \
	VPSHUFB    Z29, Z0, Z0; \
	VPSHUFB    Z29, Z1, Z1; \
	VPSHUFB    Z29, Z2, Z2; \
	VPSHUFB    Z29, Z3, Z3; \
	VPXORQ     Z16, Z0, Z0; \
	VPXORQ     Z16, Z1, Z1; \
	VPXORQ     Z16, Z2, Z2; \
	VPXORQ     Z16, Z3, Z3; \
	ROUND4(Z17); \
	ROUND4(Z18); \
	ROUND4(Z19); \
	ROUND4(Z20); \
	ROUND4(Z21); \
	ROUND4(Z22); \
	ROUND4(Z23); \
	ROUND4(Z24); \
	ROUND4(Z25); \
	VAESENCLAST Z26, Z0, Z0; \
	VAESENCLAST Z26, Z1, Z1; \
	VAESENCLAST Z26, Z2, Z2; \
	VAESENCLAST Z26, Z3, Z3

#define ROUND4(k) \
	VAESENC k, Z0, Z0; \
	VAESENC k, Z1, Z1; \
	VAESENC k, Z2, Z2; \
	VAESENC k, Z3, Z3

// Byte masks K1..K4 for the four registers of a tail of CX < 256 bytes:
// register i takes min(max(CX-64i, 0), 64) bytes (BZHI keeps all 64 bits
// from an index of 64 on).
#define TAILMASKS() \
	MOVQ    $-1, R8; \
	XORL    R10, R10; \
	MOVQ    CX, R9; \
	BZHIQ   R9, R8, R11; \
	KMOVQ   R11, K1; \
	SUBQ    $64, R9; \
	CMOVQLT R10, R9; \
	BZHIQ   R9, R8, R11; \
	KMOVQ   R11, K2; \
	SUBQ    $64, R9; \
	CMOVQLT R10, R9; \
	BZHIQ   R9, R8, R11; \
	KMOVQ   R11, K3; \
	SUBQ    $64, R9; \
	CMOVQLT R10, R9; \
	BZHIQ   R9, R8, R11; \
	KMOVQ   R11, K4

// CTRSETUP loads the round keys from ks into Z16..Z26, the byte-reversal
// mask into Z29, the step into Z28 and the four lanes' counters from the
// counter block at ctr into Z27.
#define CTRSETUP(ks, ctr) \
	VBROADCASTI32X4 0(ks), Z16; \
	VBROADCASTI32X4 16(ks), Z17; \
	VBROADCASTI32X4 32(ks), Z18; \
	VBROADCASTI32X4 48(ks), Z19; \
	VBROADCASTI32X4 64(ks), Z20; \
	VBROADCASTI32X4 80(ks), Z21; \
	VBROADCASTI32X4 96(ks), Z22; \
	VBROADCASTI32X4 112(ks), Z23; \
	VBROADCASTI32X4 128(ks), Z24; \
	VBROADCASTI32X4 144(ks), Z25; \
	VBROADCASTI32X4 160(ks), Z26; \
	VBROADCASTI32X4 bswap<>(SB), Z29; \
	VBROADCASTI32X4 four<>(SB), Z28; \
	VBROADCASTI32X4 0(ctr), Z27; \
	VPSHUFB         Z29, Z27, Z27; \
	VPADDD          lanes<>(SB), Z27, Z27

// XORSTORE4 stores src XOR the keystream in Z0..Z3 to dst (256 bytes).
#define XORSTORE4(src, dst) \
	VPXORQ    0(src), Z0, Z0; \
	VPXORQ    64(src), Z1, Z1; \
	VPXORQ    128(src), Z2, Z2; \
	VPXORQ    192(src), Z3, Z3; \
	VMOVDQU64 Z0, 0(dst); \
	VMOVDQU64 Z1, 64(dst); \
	VMOVDQU64 Z2, 128(dst); \
	VMOVDQU64 Z3, 192(dst)

// GHSETUP loads the byte-reversal mask, the reduction constant and the
// accumulator at y.
#define GHSETUP(y) \
	VBROADCASTI32X4 bswap<>(SB), Z29; \
	VBROADCASTI32X4 poly<>(SB), Z30; \
	VMOVDQU64       0(y), X31

// GHASH multiplies blocks by powers of H from the table at t (see
// table.go), Karatsuba style: three carry-less multiplications a block,
// not four, as Zen 5 issues one only every other cycle (the middle
// product's missing LO^HI is added once, in GHREDUCE). The products' low,
// high and middle halves are summed unreduced into Z12, Z13, Z14 over
// many blocks, and GHREDUCE reduces them once. Temporaries: Z8..Z11, Z15.
//
// It takes two registers (eight blocks) at a time, A in Z8 and B in Z9,
// times the powers at offA(t) and offB(t), each half's two products
// summed by one VPTERNLOGD: GHPAIRLH adds the low and high halves,
// GHPAIRMI the middle ones; GHPAIR1LH and GHPAIR1MI start the sums.
#define GHPAIRLD(p, offA, offB) \
	VMOVDQU64 offA(p), Z8; \
	VMOVDQU64 offB(p), Z9; \
	GHPAIRSWAP()

#define GHPAIRSWAP() \
	VPSHUFB Z29, Z8, Z8; \
	VPSHUFB Z29, Z9, Z9

#define GHLH(t, offA, offB, sum) \
	VPSHUFD    $0x4e, Z8, Z15; \
	VPXORQ     Z8, Z15, Z15; \
	VPCLMULQDQ $0x00, offA(t), Z8, Z10; \
	VPCLMULQDQ $0x00, offB(t), Z9, Z11; \
	sum(Z10, Z11, Z12); \
	VPCLMULQDQ $0x11, offA(t), Z8, Z10; \
	VPCLMULQDQ $0x11, offB(t), Z9, Z11; \
	sum(Z10, Z11, Z13)

#define GHMI(t, offA, offB, sum) \
	VPSHUFD    $0x4e, Z9, Z8; \
	VPXORQ     Z9, Z8, Z8; \
	VPCLMULQDQ $0x00, (1024+offA)(t), Z15, Z10; \
	VPCLMULQDQ $0x00, (1024+offB)(t), Z8, Z11; \
	sum(Z10, Z11, Z14)

#define SUM3(a, b, sum) VPTERNLOGD $0x96, a, b, sum
#define SUM2(a, b, sum) VPXORQ a, b, sum

#define GHPAIR1LH(t, offA, offB) GHLH(t, offA, offB, SUM2)
#define GHPAIRLH(t, offA, offB) GHLH(t, offA, offB, SUM3)
#define GHPAIR1MI(t, offA, offB) GHMI(t, offA, offB, SUM2)
#define GHPAIRMI(t, offA, offB) GHMI(t, offA, offB, SUM3)

// GHREDUCE completes the middle halves and reduces each lane (x^-128
// times the product: fold the low half into the middle, the middle into
// the high, each by one multiplication by the constant and a qword swap),
// then sums the four lanes: the new accumulator in X31, the upper lanes
// of Z31 zero. Zen 5 runs VPSHUFD and VPTERNLOGD beside VAES but lane
// crossings (the two extracts) on its ports, so they are kept few.
#define GHREDUCE() \
	VPCLMULQDQ $0x10, Z30, Z12, Z8; \
	VPSHUFD    $0x4e, Z12, Z9; \
	VPTERNLOGD $0x96, Z12, Z13, Z14; \
	VPTERNLOGD $0x96, Z8, Z9, Z14; \
	VPCLMULQDQ $0x10, Z30, Z14, Z8; \
	VPSHUFD    $0x4e, Z14, Z9; \
	VPTERNLOGD $0x96, Z8, Z9, Z13; \
	VEXTRACTI64X4 $1, Z13, Y8; \
	VPXORQ     Y8, Y13, Y13; \
	VEXTRACTI32X4 $1, Y13, X8; \
	VPXORQ     X8, X13, X31

// GHASH4 hashes the sixteen blocks at p with the powers at t (H^16..H^1
// for a whole round); the accumulator's block goes last, off the critical
// path as long as possible.
#define GHASH4(p, t) \
	GHPAIRLD(p, 64, 128); \
	GHPAIR1LH(t, 64, 128); \
	GHPAIR1MI(t, 64, 128); \
	GHPAIRLD(p, 192, 0); \
	VPXORQ Z31, Z9, Z9; \
	GHPAIRLH(t, 192, 0); \
	GHPAIRMI(t, 192, 0); \
	GHREDUCE()

// GHASH8 hashes the 32 blocks at p with the powers at t (H^32..H^1).
#define GHASH8(p, t) \
	GHPAIRLD(p, 64, 128); \
	GHPAIR1LH(t, 64, 128); \
	GHPAIR1MI(t, 64, 128); \
	GHPAIRLD(p, 192, 256); \
	GHPAIRLH(t, 192, 256); \
	GHPAIRMI(t, 192, 256); \
	GHPAIRLD(p, 320, 384); \
	GHPAIRLH(t, 320, 384); \
	GHPAIRMI(t, 320, 384); \
	GHPAIRLD(p, 448, 0); \
	VPXORQ Z31, Z9, Z9; \
	GHPAIRLH(t, 448, 0); \
	GHPAIRMI(t, 448, 0); \
	GHREDUCE()

// The stitched kernel (seal's) takes 512 bytes a step: eight registers of
// AES in flight (VAES has four cycles' latency and issues two a cycle),
// with the 32 blocks' GHASH interleaved between the rounds. VPCLMULQDQ runs beside
// VAES and bounds the step: 24 multiplications, 48 cycles, and half a
// reduction (one per 64 blocks: that alone is 8% at 64 KiB).

// CTR8 starts eight registers' counter blocks (Z0..Z7) from Z27, whitened
// with round key 0, and advances Z27 by 32.
#define CTR8() \
	VPADDD  Z28, Z27, Z1; \
	VPSHUFB Z29, Z27, Z0; \
	VPADDD  Z28, Z1, Z2; \
	VPSHUFB Z29, Z1, Z1; \
	VPADDD  Z28, Z2, Z3; \
	VPSHUFB Z29, Z2, Z2; \
	VPADDD  Z28, Z3, Z4; \
	VPSHUFB Z29, Z3, Z3; \
	VPADDD  Z28, Z4, Z5; \
	VPSHUFB Z29, Z4, Z4; \
	VPADDD  Z28, Z5, Z6; \
	VPSHUFB Z29, Z5, Z5; \
	VPADDD  Z28, Z6, Z7; \
	VPSHUFB Z29, Z6, Z6; \
	VPADDD  Z28, Z7, Z27; \
	VPSHUFB Z29, Z7, Z7; \
	VPXORQ  Z16, Z0, Z0; \
	VPXORQ  Z16, Z1, Z1; \
	VPXORQ  Z16, Z2, Z2; \
	VPXORQ  Z16, Z3, Z3; \
	VPXORQ  Z16, Z4, Z4; \
	VPXORQ  Z16, Z5, Z5; \
	VPXORQ  Z16, Z6, Z6; \
	VPXORQ  Z16, Z7, Z7

#define ROUND8(k) \
	VAESENC k, Z0, Z0; \
	VAESENC k, Z1, Z1; \
	VAESENC k, Z2, Z2; \
	VAESENC k, Z3, Z3; \
	VAESENC k, Z4, Z4; \
	VAESENC k, Z5, Z5; \
	VAESENC k, Z6, Z6; \
	VAESENC k, Z7, Z7

#define LAST8() \
	VAESENCLAST Z26, Z0, Z0; \
	VAESENCLAST Z26, Z1, Z1; \
	VAESENCLAST Z26, Z2, Z2; \
	VAESENCLAST Z26, Z3, Z3; \
	VAESENCLAST Z26, Z4, Z4; \
	VAESENCLAST Z26, Z5, Z5; \
	VAESENCLAST Z26, Z6, Z6; \
	VAESENCLAST Z26, Z7, Z7

// AES8 is eight registers' keystream, no hashing.
#define AES8() \
	CTR8(); \
	ROUND8(Z17); \
	ROUND8(Z18); \
	ROUND8(Z19); \
	ROUND8(Z20); \
	ROUND8(Z21); \
	ROUND8(Z22); \
	ROUND8(Z23); \
	ROUND8(Z24); \
	ROUND8(Z25); \
	LAST8()

// STITCH8 is AES8 with the 32 blocks at p multiplied by the powers at t
// between its rounds (all of p is read before the caller's stores, so p
// may be dst). The products go to the sums, which start (SUM2) or carry
// on (SUM3); with ACC the accumulator is added to p's first block. Two
// steps, H^64..H^33 then H^32..H^1, share one reduction.
#define STITCH8(p, t, start, acc) \
	CTR8(); \
	ROUND8(Z17); \
	GHPAIRLD(p, 64, 128); \
	GHLH(t, 64, 128, start); \
	ROUND8(Z18); \
	GHMI(t, 64, 128, start); \
	ROUND8(Z19); \
	GHPAIRLD(p, 192, 256); \
	GHPAIRLH(t, 192, 256); \
	ROUND8(Z20); \
	GHPAIRMI(t, 192, 256); \
	ROUND8(Z21); \
	GHPAIRLD(p, 320, 384); \
	GHPAIRLH(t, 320, 384); \
	ROUND8(Z22); \
	GHPAIRMI(t, 320, 384); \
	ROUND8(Z23); \
	GHPAIRLD(p, 448, 0); \
	acc(); \
	GHPAIRLH(t, 448, 0); \
	ROUND8(Z24); \
	GHPAIRMI(t, 448, 0); \
	ROUND8(Z25); \
	LAST8()

#define ACC() VPXORQ Z31, Z9, Z9
#define NOACC()

// XORSTORE8 stores src XOR the keystream in Z0..Z7 to dst (512 bytes).
#define XORSTORE8(src, dst) \
	VPXORQ    0(src), Z0, Z0; \
	VPXORQ    64(src), Z1, Z1; \
	VPXORQ    128(src), Z2, Z2; \
	VPXORQ    192(src), Z3, Z3; \
	VPXORQ    256(src), Z4, Z4; \
	VPXORQ    320(src), Z5, Z5; \
	VPXORQ    384(src), Z6, Z6; \
	VPXORQ    448(src), Z7, Z7; \
	VMOVDQU64 Z0, 0(dst); \
	VMOVDQU64 Z1, 64(dst); \
	VMOVDQU64 Z2, 128(dst); \
	VMOVDQU64 Z3, 192(dst); \
	VMOVDQU64 Z4, 256(dst); \
	VMOVDQU64 Z5, 320(dst); \
	VMOVDQU64 Z6, 384(dst); \
	VMOVDQU64 Z7, 448(dst)

// PREFETCH8 asks for the 512 bytes 2 KiB past p: a record bigger than
// the caches streams from memory faster so (a cold 4 MiB GHASH takes
// 170 us with it, 250 us without; the 256 KiB-chunk seal of a cold
// 4 MiB payload 200 us against 255 us), and it costs nothing in cache.
#define PREFETCH8(p) \
	PREFETCHT0 2048(p); \
	PREFETCHT0 2112(p); \
	PREFETCHT0 2176(p); \
	PREFETCHT0 2240(p); \
	PREFETCHT0 2304(p); \
	PREFETCHT0 2368(p); \
	PREFETCHT0 2432(p); \
	PREFETCHT0 2496(p)

// STITCHSETUP loads the seal and open kernels' arguments: round keys, counters
// and accumulator in registers, the table's address in DX (H^64 on), its
// H^32 in R13 and H^16 in R11, y's in R12.
#define STITCHSETUP() \
	MOVQ ks+0(FP), AX; \
	MOVQ tbl+8(FP), DX; \
	MOVQ ctr+16(FP), BX; \
	MOVQ y+24(FP), R12; \
	MOVQ dst_base+32(FP), DI; \
	MOVQ src_base+56(FP), SI; \
	MOVQ src_len+64(FP), CX; \
	CTRSETUP(AX, BX); \
	GHSETUP(R12); \
	LEAQ 512(DX), R13; \
	LEAQ 768(DX), R11

#define STITCHDONE() \
	VMOVDQU64 X31, 0(R12); \
	VZEROUPPER; \
	RET

// func ctrAVX512(ks *[176]byte, ctr *[16]byte, dst, src []byte)
// dst[:len(src)] = src XOR the keystream from counter block *ctr on.
TEXT ·ctrAVX512(SB), NOSPLIT, $0-64
	MOVQ ks+0(FP), AX
	MOVQ ctr+8(FP), BX
	MOVQ dst_base+16(FP), DI
	MOVQ src_base+40(FP), SI
	MOVQ src_len+48(FP), CX
	CTRSETUP(AX, BX)
	CMPQ CX, $256
	JB   ctrTail

ctrLoop:
	AES4()
	XORSTORE4(SI, DI)
	ADDQ $256, SI
	ADDQ $256, DI
	SUBQ $256, CX
	CMPQ CX, $256
	JAE  ctrLoop

ctrTail:
	TESTQ CX, CX
	JEQ   ctrDone
	TAILMASKS()
	AES4()
	VMOVDQU8.Z 0(SI), K1, Z4
	VMOVDQU8.Z 64(SI), K2, Z5
	VMOVDQU8.Z 128(SI), K3, Z6
	VMOVDQU8.Z 192(SI), K4, Z7
	VPXORQ     Z4, Z0, Z0
	VPXORQ     Z5, Z1, Z1
	VPXORQ     Z6, Z2, Z2
	VPXORQ     Z7, Z3, Z3
	VMOVDQU8   Z0, K1, 0(DI)
	VMOVDQU8   Z1, K2, 64(DI)
	VMOVDQU8   Z2, K3, 128(DI)
	VMOVDQU8   Z3, K4, 192(DI)

ctrDone:
	VZEROUPPER
	RET

// func ghashAVX512(tbl *[2304]byte, y *[16]byte, p []byte)
// *y = GHASH over p zero-padded to whole blocks, from *y.
TEXT ·ghashAVX512(SB), NOSPLIT, $0-40
	MOVQ tbl+0(FP), AX
	MOVQ y+8(FP), BX
	MOVQ p_base+16(FP), SI
	MOVQ p_len+24(FP), CX
	GHSETUP(BX)
	LEAQ 512(AX), R13
	LEAQ 768(AX), R11

ghashLoop:
	CMPQ CX, $512
	JB   ghashHalf
	PREFETCH8(SI)
	GHASH8(SI, R13)
	ADDQ $512, SI
	SUBQ $512, CX
	JMP  ghashLoop

ghashHalf:
	CMPQ CX, $256
	JB   ghashTail
	GHASH4(SI, R11)
	ADDQ $256, SI
	SUBQ $256, CX

ghashTail:
	TESTQ CX, CX
	JEQ   ghashDone
	TAILMASKS()
	// n = ceil(CX/16) blocks take the powers H^n..H^1: the table from
	// entry 64-n on. The blocks past n are zero, whatever entries they meet.
	LEAQ       15(CX), DX
	SHRQ       $4, DX
	NEGQ       DX
	ADDQ       $64, DX
	SHLQ       $4, DX
	ADDQ       AX, DX
	VMOVDQU8.Z 64(SI), K2, Z8
	VMOVDQU8.Z 128(SI), K3, Z9
	GHPAIRSWAP()
	GHPAIR1LH(DX, 64, 128)
	GHPAIR1MI(DX, 64, 128)
	VMOVDQU8.Z 192(SI), K4, Z8
	VMOVDQU8.Z 0(SI), K1, Z9
	GHPAIRSWAP()
	VPXORQ     Z31, Z9, Z9
	GHPAIRLH(DX, 192, 0)
	GHPAIRMI(DX, 192, 0)
	GHREDUCE()

ghashDone:
	VMOVDQU64 X31, 0(BX)
	VZEROUPPER
	RET

// func sealAVX512(ks *[176]byte, tbl *[2304]byte, ctr, y *[16]byte, dst, src []byte)
// Encrypts src into dst and hashes dst; len(src) is a positive multiple
// of 256. Each step hashes the previous step's ciphertext.
TEXT ·sealAVX512(SB), NOSPLIT, $0-80
	STITCHSETUP()
	CMPQ CX, $512
	JB   sealLast
	AES8()
	XORSTORE8(SI, DI)
	ADDQ $512, SI
	ADDQ $512, DI
	SUBQ $512, CX

sealLoop:
	CMPQ CX, $1024
	JB   sealOne
	PREFETCH8(SI)
	LEAQ -512(DI), R14
	STITCH8(R14, DX, SUM2, ACC)
	XORSTORE8(SI, DI)
	ADDQ $512, SI
	ADDQ $512, DI
	PREFETCH8(SI)
	LEAQ -512(DI), R14
	STITCH8(R14, R13, SUM3, NOACC)
	XORSTORE8(SI, DI)
	GHREDUCE()
	ADDQ $512, SI
	ADDQ $512, DI
	SUBQ $1024, CX
	JMP  sealLoop

sealOne:
	CMPQ CX, $512
	JB   sealDrain
	LEAQ -512(DI), R14
	STITCH8(R14, R13, SUM2, ACC)
	XORSTORE8(SI, DI)
	GHREDUCE()
	ADDQ $512, SI
	ADDQ $512, DI
	SUBQ $512, CX

sealDrain:
	LEAQ -512(DI), R14
	GHASH8(R14, R13)

sealLast:
	TESTQ CX, CX
	JEQ   sealDone
	AES4()
	XORSTORE4(SI, DI)
	GHASH4(DI, R11)

sealDone:
	STITCHDONE()

// func openAVX512(ks *[176]byte, tbl *[2304]byte, ctr, y *[16]byte, dst, src []byte)
// Hashes src and decrypts it into dst (which may be src); len(src) is a
// positive multiple of 256. Not stitched: 256 bytes hashed, then
// decrypted, a round. The stitched loop (as seal's, the hash of each step
// between its rounds) is 1.4 times as fast on records in cache, but in
// the messenger, opening 4 MiB records just received, it took 300 us a
// record against this loop's 240 (perf, five runs each); why is not known.
TEXT ·openAVX512(SB), NOSPLIT, $0-80
	STITCHSETUP()

openLoop:
	GHASH4(SI, R11)
	AES4()
	XORSTORE4(SI, DI)
	ADDQ $256, SI
	ADDQ $256, DI
	SUBQ $256, CX
	JNE  openLoop

	STITCHDONE()
