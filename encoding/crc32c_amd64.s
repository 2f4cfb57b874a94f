//go:build !purego

#include "textflag.h"

// Fold constants (see crc32c_fold.go): per 128-bit lane, the low qword's
// and the high qword's multiplier, for folding forward by 2048 bits (one
// 256-byte block) and by 512 bits (one 64-byte register).
DATA fold2048<>+0(SB)/8, $0xe9a5d8be00000000
DATA fold2048<>+8(SB)/8, $0x1426a81500000000
GLOBL fold2048<>(SB), RODATA|NOPTR, $16
DATA fold512<>+0(SB)/8, $0x1c19243b00000000
DATA fold512<>+8(SB)/8, $0x75bba45b00000000
GLOBL fold512<>(SB), RODATA|NOPTR, $16

// func foldAVX512(seed uint32, p []byte) uint32
// len(p) is a multiple of 256, at least 256.
TEXT ·foldAVX512(SB), NOSPLIT, $0-36
	MOVL seed+0(FP), AX
	MOVQ p_base+8(FP), SI
	MOVQ p_len+16(FP), CX

	VMOVDQU64 0(SI), Z0
	VMOVDQU64 64(SI), Z1
	VMOVDQU64 128(SI), Z2
	VMOVDQU64 192(SI), Z3
	VMOVD     AX, X4
	VPXORQ    Z4, Z0, Z0
	VBROADCASTI32X4 fold2048<>(SB), Z5
	ADDQ $256, SI
	SUBQ $256, CX

loop:
	CMPQ CX, $0
	JEQ  reduce
	VPCLMULQDQ $0x00, Z5, Z0, Z6
	VPCLMULQDQ $0x11, Z5, Z0, Z0
	VPTERNLOGD $0x96, 0(SI), Z6, Z0
	VPCLMULQDQ $0x00, Z5, Z1, Z7
	VPCLMULQDQ $0x11, Z5, Z1, Z1
	VPTERNLOGD $0x96, 64(SI), Z7, Z1
	VPCLMULQDQ $0x00, Z5, Z2, Z8
	VPCLMULQDQ $0x11, Z5, Z2, Z2
	VPTERNLOGD $0x96, 128(SI), Z8, Z2
	VPCLMULQDQ $0x00, Z5, Z3, Z9
	VPCLMULQDQ $0x11, Z5, Z3, Z3
	VPTERNLOGD $0x96, 192(SI), Z9, Z3
	ADDQ $256, SI
	SUBQ $256, CX
	JMP  loop

reduce:
	VBROADCASTI32X4 fold512<>(SB), Z5
	VPCLMULQDQ $0x00, Z5, Z0, Z6
	VPCLMULQDQ $0x11, Z5, Z0, Z0
	VPTERNLOGD $0x96, Z1, Z6, Z0
	VPCLMULQDQ $0x00, Z5, Z0, Z6
	VPCLMULQDQ $0x11, Z5, Z0, Z0
	VPTERNLOGD $0x96, Z2, Z6, Z0
	VPCLMULQDQ $0x00, Z5, Z0, Z6
	VPCLMULQDQ $0x11, Z5, Z0, Z0
	VPTERNLOGD $0x96, Z3, Z6, Z0
	// The crc from 0 of the 64 bytes left, in stream order: the crc32
	// instruction over each lane's low then high qword.
	XORL DX, DX
	VMOVQ X0, AX
	CRC32Q AX, DX
	VPEXTRQ $1, X0, AX
	CRC32Q AX, DX
	VEXTRACTI32X4 $1, Z0, X1
	VMOVQ X1, AX
	CRC32Q AX, DX
	VPEXTRQ $1, X1, AX
	CRC32Q AX, DX
	VEXTRACTI32X4 $2, Z0, X1
	VMOVQ X1, AX
	CRC32Q AX, DX
	VPEXTRQ $1, X1, AX
	CRC32Q AX, DX
	VEXTRACTI32X4 $3, Z0, X1
	VMOVQ X1, AX
	CRC32Q AX, DX
	VPEXTRQ $1, X1, AX
	CRC32Q AX, DX
	MOVL DX, ret+32(FP)
	VZEROUPPER
	RET
