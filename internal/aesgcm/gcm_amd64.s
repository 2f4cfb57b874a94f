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
	VMOVDQU64       poly<>(SB), X30; \
	VMOVDQU64       0(y), X31

// GHLOAD loads the sixteen blocks at p into Z8..Z11, byte-reversed, the
// accumulator added to the first; GHLOAD2 without the accumulator (the
// second half of a 32-block round).
#define GHLOAD(p) \
	GHLOAD2(p); \
	VPXORQ  Z31, Z8, Z8

#define GHLOAD2(p) \
	VMOVDQU64 0(p), Z8; \
	VMOVDQU64 64(p), Z9; \
	VMOVDQU64 128(p), Z10; \
	VMOVDQU64 192(p), Z11; \
	GHSWAP()

#define GHSWAP() \
	VPSHUFB Z29, Z8, Z8; \
	VPSHUFB Z29, Z9, Z9; \
	VPSHUFB Z29, Z10, Z10; \
	VPSHUFB Z29, Z11, Z11

// GHMUL multiplies the sixteen blocks in Z8..Z11 by the powers of H at tb
// (four registers' worth), the products' low, high and middle halves
// summed unreduced into Z12, Z13, Z14; GHMULACC adds to those sums.
// GHREDUCE then reduces them once for all the blocks (aggregated
// reduction), leaving the new accumulator in X31, the upper lanes of Z31
// zero. Temporaries: Z4..Z7.
#define GHMUL(tb) \
	VPCLMULQDQ $0x00, 0(tb), Z8, Z12; \
	VPCLMULQDQ $0x11, 0(tb), Z8, Z13; \
	VPCLMULQDQ $0x01, 0(tb), Z8, Z14; \
	VPCLMULQDQ $0x10, 0(tb), Z8, Z4; \
	VPXORQ     Z4, Z14, Z14; \
	MULADD(64(tb), Z9); \
	MULADD(128(tb), Z10); \
	MULADD(192(tb), Z11)

#define GHMULACC(tb) \
	MULADD(0(tb), Z8); \
	MULADD(64(tb), Z9); \
	MULADD(128(tb), Z10); \
	MULADD(192(tb), Z11)

#define GHREDUCE() \
	VPSLLDQ    $8, Z14, Z4; \
	VPSRLDQ    $8, Z14, Z14; \
	VPXORQ     Z4, Z12, Z12; \
	VPXORQ     Z14, Z13, Z13; \
	VEXTRACTI64X4 $1, Z12, Y4; \
	VPXORQ     Y4, Y12, Y12; \
	VEXTRACTI32X4 $1, Y12, X4; \
	VPXORQ     X4, X12, X12; \
	VEXTRACTI64X4 $1, Z13, Y4; \
	VPXORQ     Y4, Y13, Y13; \
	VEXTRACTI32X4 $1, Y13, X4; \
	VPXORQ     X4, X13, X13; \
	VPCLMULQDQ $0x10, X30, X12, X4; \
	VPSHUFD    $0x4e, X12, X12; \
	VPXORQ     X4, X12, X12; \
	VPCLMULQDQ $0x10, X30, X12, X4; \
	VPSHUFD    $0x4e, X12, X12; \
	VPTERNLOGD $0x96, X4, X13, X12; \
	VMOVDQA64  X12, X31

// GHASH16 is one 16-block round: the powers at tb are H^16..H^1.
#define GHASH16(tb) \
	GHMUL(tb); \
	GHREDUCE()

// MULADD adds the partial products of x and the powers at h to Z12
// (low), Z13 (high) and Z14 (middle).
#define MULADD(h, x) \
	VPCLMULQDQ $0x00, h, x, Z4; \
	VPCLMULQDQ $0x11, h, x, Z5; \
	VPCLMULQDQ $0x01, h, x, Z6; \
	VPCLMULQDQ $0x10, h, x, Z7; \
	VPXORQ     Z4, Z12, Z12; \
	VPXORQ     Z5, Z13, Z13; \
	VPTERNLOGD $0x96, Z6, Z7, Z14

// STITCHSETUP loads the stitched kernels' arguments: round keys, counters
// and accumulator in registers, the table's address in DX, y's in R12.
#define STITCHSETUP() \
	MOVQ ks+0(FP), AX; \
	MOVQ tbl+8(FP), DX; \
	MOVQ ctr+16(FP), BX; \
	MOVQ y+24(FP), R12; \
	MOVQ dst_base+32(FP), DI; \
	MOVQ src_base+56(FP), SI; \
	MOVQ src_len+64(FP), CX; \
	CTRSETUP(AX, BX); \
	GHSETUP(R12)

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

// func ghashAVX512(tbl *[768]byte, y *[16]byte, p []byte)
// *y = GHASH over p zero-padded to whole blocks, from *y.
TEXT ·ghashAVX512(SB), NOSPLIT, $0-40
	MOVQ tbl+0(FP), AX
	MOVQ y+8(FP), BX
	MOVQ p_base+16(FP), SI
	MOVQ p_len+24(FP), CX
	GHSETUP(BX)
	LEAQ 256(AX), R13
	CMPQ CX, $256
	JB   ghashTail

ghashLoop:
	GHLOAD(SI)
	GHASH16(R13)
	ADDQ $256, SI
	SUBQ $256, CX
	CMPQ CX, $256
	JAE  ghashLoop

ghashTail:
	TESTQ CX, CX
	JEQ   ghashDone
	TAILMASKS()
	// n = ceil(CX/16) blocks take the powers H^n..H^1: the table from
	// entry 32-n on.
	LEAQ       15(CX), DX
	SHRQ       $4, DX
	NEGQ       DX
	ADDQ       $32, DX
	SHLQ       $4, DX
	ADDQ       AX, DX
	VMOVDQU8.Z 0(SI), K1, Z8
	VMOVDQU8.Z 64(SI), K2, Z9
	VMOVDQU8.Z 128(SI), K3, Z10
	VMOVDQU8.Z 192(SI), K4, Z11
	GHSWAP()
	VPXORQ     Z31, Z8, Z8
	GHASH16(DX)

ghashDone:
	VMOVDQU64 X31, 0(BX)
	VZEROUPPER
	RET

// The stitched kernels: each 256-byte round both encrypts (VAES, port 0)
// and hashes (VPCLMULQDQ, port 5), and the core overlaps one round's
// hashing with the next one's encryption; as two passes they take twice
// as long.

// func sealAVX512(ks *[176]byte, tbl *[768]byte, ctr, y *[16]byte, dst, src []byte)
// Encrypts src into dst and hashes dst; len(src) is a positive multiple
// of 256.
TEXT ·sealAVX512(SB), NOSPLIT, $0-80
	STITCHSETUP()

	LEAQ 256(DX), R13

	// 512 bytes a round: one reduction for 32 blocks.
sealLoop:
	CMPQ CX, $512
	JB   sealLast
	AES4()
	XORSTORE4(SI, DI)
	GHLOAD(DI)
	GHMUL(DX)
	ADDQ $256, SI
	ADDQ $256, DI
	AES4()
	XORSTORE4(SI, DI)
	GHLOAD2(DI)
	GHMULACC(R13)
	GHREDUCE()
	ADDQ $256, SI
	ADDQ $256, DI
	SUBQ $512, CX
	JMP  sealLoop

sealLast:
	TESTQ CX, CX
	JEQ   sealDone
	AES4()
	XORSTORE4(SI, DI)
	GHLOAD(DI)
	GHASH16(R13)

sealDone:
	STITCHDONE()

// func openAVX512(ks *[176]byte, tbl *[768]byte, ctr, y *[16]byte, dst, src []byte)
// Hashes src and decrypts it into dst (which may be src); len(src) is a
// positive multiple of 256.
TEXT ·openAVX512(SB), NOSPLIT, $0-80
	STITCHSETUP()

	LEAQ 256(DX), R13

openLoop:
	CMPQ CX, $512
	JB   openLast
	GHLOAD(SI)
	GHMUL(DX)
	AES4()
	XORSTORE4(SI, DI)
	ADDQ $256, SI
	ADDQ $256, DI
	GHLOAD2(SI)
	GHMULACC(R13)
	GHREDUCE()
	AES4()
	XORSTORE4(SI, DI)
	ADDQ $256, SI
	ADDQ $256, DI
	SUBQ $512, CX
	JMP  openLoop

openLast:
	TESTQ CX, CX
	JEQ   openDone
	GHLOAD(SI)
	GHASH16(R13)
	AES4()
	XORSTORE4(SI, DI)

openDone:
	STITCHDONE()
