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

// func ctrAVX512(ks *[176]byte, ctr *[16]byte, dst, src []byte)
// dst[:len(src)] = src XOR the keystream from counter block *ctr on.
TEXT ·ctrAVX512(SB), NOSPLIT, $0-64
	MOVQ ks+0(FP), AX
	MOVQ ctr+8(FP), BX
	MOVQ dst_base+16(FP), DI
	MOVQ src_base+40(FP), SI
	MOVQ src_len+48(FP), CX

	VBROADCASTI32X4 0(AX), Z16
	VBROADCASTI32X4 16(AX), Z17
	VBROADCASTI32X4 32(AX), Z18
	VBROADCASTI32X4 48(AX), Z19
	VBROADCASTI32X4 64(AX), Z20
	VBROADCASTI32X4 80(AX), Z21
	VBROADCASTI32X4 96(AX), Z22
	VBROADCASTI32X4 112(AX), Z23
	VBROADCASTI32X4 128(AX), Z24
	VBROADCASTI32X4 144(AX), Z25
	VBROADCASTI32X4 160(AX), Z26
	VBROADCASTI32X4 bswap<>(SB), Z29
	VBROADCASTI32X4 four<>(SB), Z28
	VBROADCASTI32X4 (BX), Z27
	VPSHUFB         Z29, Z27, Z27
	VPADDD          lanes<>(SB), Z27, Z27

	CMPQ CX, $256
	JB   ctrTail

ctrLoop:
	AES4()
	VPXORQ    0(SI), Z0, Z0
	VPXORQ    64(SI), Z1, Z1
	VPXORQ    128(SI), Z2, Z2
	VPXORQ    192(SI), Z3, Z3
	VMOVDQU64 Z0, 0(DI)
	VMOVDQU64 Z1, 64(DI)
	VMOVDQU64 Z2, 128(DI)
	VMOVDQU64 Z3, 192(DI)
	ADDQ      $256, SI
	ADDQ      $256, DI
	SUBQ      $256, CX
	CMPQ      CX, $256
	JAE       ctrLoop

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

// GHASH16 multiplies the sixteen blocks in Z0..Z3 (byte-reversed, the
// accumulator already added to the first) by the powers in h0..h3 and adds
// the products (aggregated reduction: one reduction for sixteen blocks);
// the reduced sum is left in X31, the upper lanes of Z31 zero.
#define GHASH16(h0, h1, h2, h3) \
	VPCLMULQDQ $0x00, h0, Z0, Z4; \
	VPCLMULQDQ $0x11, h0, Z0, Z5; \
	VPCLMULQDQ $0x01, h0, Z0, Z6; \
	VPCLMULQDQ $0x10, h0, Z0, Z7; \
	VPXORQ     Z7, Z6, Z6; \
	MULADD(h1, Z1); \
	MULADD(h2, Z2); \
	MULADD(h3, Z3); \
	VPSLLDQ    $8, Z6, Z7; \
	VPSRLDQ    $8, Z6, Z6; \
	VPXORQ     Z7, Z4, Z4; \
	VPXORQ     Z6, Z5, Z5; \
	VEXTRACTI64X4 $1, Z4, Y7; \
	VPXORQ     Y7, Y4, Y4; \
	VEXTRACTI32X4 $1, Y4, X7; \
	VPXORQ     X7, X4, X4; \
	VEXTRACTI64X4 $1, Z5, Y7; \
	VPXORQ     Y7, Y5, Y5; \
	VEXTRACTI32X4 $1, Y5, X7; \
	VPXORQ     X7, X5, X5; \
	VPCLMULQDQ $0x10, X30, X4, X7; \
	VPSHUFD    $0x4e, X4, X4; \
	VPXORQ     X7, X4, X4; \
	VPCLMULQDQ $0x10, X30, X4, X7; \
	VPSHUFD    $0x4e, X4, X4; \
	VPTERNLOGD $0x96, X7, X5, X4; \
	VMOVDQA64  X4, X31

// MULADD adds the three partial products of x and h to Z4 (low), Z5
// (high) and Z6 (middle).
#define MULADD(h, x) \
	VPCLMULQDQ $0x00, h, x, Z7; \
	VPCLMULQDQ $0x11, h, x, Z8; \
	VPCLMULQDQ $0x01, h, x, Z9; \
	VPCLMULQDQ $0x10, h, x, Z10; \
	VPXORQ     Z7, Z4, Z4; \
	VPXORQ     Z8, Z5, Z5; \
	VPTERNLOGD $0x96, Z9, Z10, Z6

// func ghashAVX512(tbl *[512]byte, y *[16]byte, p []byte)
// *y = GHASH over p zero-padded to whole blocks, from *y.
TEXT ·ghashAVX512(SB), NOSPLIT, $0-40
	MOVQ tbl+0(FP), AX
	MOVQ y+8(FP), BX
	MOVQ p_base+16(FP), SI
	MOVQ p_len+24(FP), CX

	VBROADCASTI32X4 bswap<>(SB), Z29
	VMOVDQU64       poly<>(SB), X30
	VMOVDQU64       (BX), X31
	VMOVDQU64       0(AX), Z20
	VMOVDQU64       64(AX), Z21
	VMOVDQU64       128(AX), Z22
	VMOVDQU64       192(AX), Z23

	CMPQ CX, $256
	JB   ghashTail

ghashLoop:
	VMOVDQU64 0(SI), Z0
	VMOVDQU64 64(SI), Z1
	VMOVDQU64 128(SI), Z2
	VMOVDQU64 192(SI), Z3
	VPSHUFB   Z29, Z0, Z0
	VPSHUFB   Z29, Z1, Z1
	VPSHUFB   Z29, Z2, Z2
	VPSHUFB   Z29, Z3, Z3
	VPXORQ    Z31, Z0, Z0
	GHASH16(Z20, Z21, Z22, Z23)
	ADDQ      $256, SI
	SUBQ      $256, CX
	CMPQ      CX, $256
	JAE       ghashLoop

ghashTail:
	TESTQ CX, CX
	JEQ   ghashDone
	TAILMASKS()
	// n = ceil(CX/16) blocks take the powers H^n..H^1: the table from
	// entry 16-n on.
	LEAQ       15(CX), DX
	SHRQ       $4, DX
	NEGQ       DX
	ADDQ       $16, DX
	SHLQ       $4, DX
	ADDQ       AX, DX
	VMOVDQU64  0(DX), Z20
	VMOVDQU64  64(DX), Z21
	VMOVDQU64  128(DX), Z22
	VMOVDQU64  192(DX), Z23
	VMOVDQU8.Z 0(SI), K1, Z0
	VMOVDQU8.Z 64(SI), K2, Z1
	VMOVDQU8.Z 128(SI), K3, Z2
	VMOVDQU8.Z 192(SI), K4, Z3
	VPSHUFB    Z29, Z0, Z0
	VPSHUFB    Z29, Z1, Z1
	VPSHUFB    Z29, Z2, Z2
	VPSHUFB    Z29, Z3, Z3
	VPXORQ     Z31, Z0, Z0
	GHASH16(Z20, Z21, Z22, Z23)

ghashDone:
	VMOVDQU64 X31, (BX)
	VZEROUPPER
	RET
