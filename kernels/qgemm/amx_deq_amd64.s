#include "textflag.h"

// Dequantization of integer codes to bfloat16 for the AMX tiles (amx.go). Every value is a small
// integer, so float32 → bfloat16 keeps it exactly (its low 16 bits are zero).

// I2BF converts the 16 int16 in the low half src (a Y register) to 16 bfloat16 in dst (a Y
// register): sign-extend, to float32, keep the high halves. Clobbers Z14.
#define I2BF(src, dst) \
	VPMOVSXWD src, Z14; \
	VCVTDQ2PS Z14, Z14; \
	VPSRLD    $16, Z14, Z14; \
	VPMOVDW   Z14, dst

// NIBBLES widens the 64 int4 codes of the block at SI (int4.go layout) to words: codes 0..31 in
// Z2, 32..63 in Z3 (Y15 = 0x0f bytes). Clobbers Y0, Y1.
#define NIBBLES \
	VMOVDQU   (SI), Y0; \
	VPSRLW    $4, Y0, Y1; \
	VPAND     Y15, Y0, Y0; \
	VPAND     Y15, Y1, Y1; \
	VPMOVZXBW Y0, Z2; \
	VPMOVZXBW Y1, Z3

// func amxDeqI4(dst *uint16, p *byte, nblk int, zh *int16)
// dst[64b + j] = bf16(u[64b + j] − zh[2b + j/32]) for b < nblk, j < 64, with u the int4 codes of
// block b (int4.go layout: byte j holds u[j] low, u[32+j] high).
TEXT ·amxDeqI4(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ p+8(FP), SI
	MOVQ nblk+16(FP), CX
	MOVQ zh+24(FP), DX
	MOVL $0x0f0f0f0f, AX
	VPBROADCASTD AX, Y15

deqi4:
	TESTQ CX, CX
	JZ    deqi4done
	NIBBLES
	VPBROADCASTW (DX), Z4
	VPBROADCASTW 2(DX), Z5
	VPSUBW  Z4, Z2, Z2
	VPSUBW  Z5, Z3, Z3
	I2BF(Y2, Y6)
	VEXTRACTI64X4 $1, Z2, Y2
	I2BF(Y2, Y7)
	I2BF(Y3, Y8)
	VEXTRACTI64X4 $1, Z3, Y3
	I2BF(Y3, Y9)
	VMOVDQU Y6, (DI)
	VMOVDQU Y7, 32(DI)
	VMOVDQU Y8, 64(DI)
	VMOVDQU Y9, 96(DI)
	ADDQ $32, SI
	ADDQ $4, DX
	ADDQ $128, DI
	DECQ CX
	JMP  deqi4

deqi4done:
	VZEROUPPER
	RET

// func amxDeqI8(dst *uint16, q *int8, n int)
// dst[k] = bf16(q[k]) for k < n, n a multiple of 16.
TEXT ·amxDeqI8(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ q+8(FP), SI
	MOVQ n+16(FP), CX
	SHRQ $4, CX

deqi8:
	TESTQ CX, CX
	JZ    deqi8done
	VPMOVSXBD (SI), Z0
	VCVTDQ2PS Z0, Z0
	VPSRLD    $16, Z0, Z0
	VPMOVDW   Z0, Y1
	VMOVDQU   Y1, (DI)
	ADDQ $16, SI
	ADDQ $32, DI
	DECQ CX
	JMP  deqi8

deqi8done:
	VZEROUPPER
	RET

// func amxDeqFP8(dst *uint16, q *uint8, n int)
// dst[k] = bf16(DecodeE4M3(q[k])) for k < n, n a multiple of 16: the magnitude bits go to the
// float32 exponent and mantissa (<< 20) and × 2^120 rebiases them (subnormal codes included), the
// sign is or-ed in, and the NaN codes (0x7F, 0xFF) become a bf16 NaN.
TEXT ·amxDeqFP8(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ q+8(FP), SI
	MOVQ n+16(FP), CX
	SHRQ $4, CX
	MOVL $0x7f, AX
	VPBROADCASTD AX, Z10
	MOVL $0x80, AX
	VPBROADCASTD AX, Z11
	MOVL $0x7b800000, AX // 2^120
	VPBROADCASTD AX, Z12
	MOVL $0x7fc0, AX     // bf16 quiet NaN
	VPBROADCASTD AX, Z13

deqfp8:
	TESTQ CX, CX
	JZ    deqfp8done
	VPMOVZXBD (SI), Z0
	VPANDD    Z10, Z0, Z1 // magnitude
	VPANDD    Z11, Z0, Z2 // sign
	VPCMPEQD  Z10, Z1, K1 // NaN codes
	VPSLLD    $20, Z1, Z1
	VMULPS    Z12, Z1, Z1
	VPSLLD    $24, Z2, Z2
	VPORD     Z2, Z1, Z1
	VPSRLD    $16, Z1, Z1
	VMOVDQA32 Z13, K1, Z1
	VPMOVDW   Z1, Y1
	VMOVDQU   Y1, (DI)
	ADDQ $16, SI
	ADDQ $32, DI
	DECQ CX
	JMP  deqfp8

deqfp8done:
	VZEROUPPER
	RET

// func amxDeqI4I8(dst *int8, p *byte, nblk int, gs *int16)
// dst[64b + j] = int8((u[64b+j] − 8)·gs[b]) for b < nblk, j < 64 (int4.go layout; the products
// fit int8 for QQQ's group scales in [1, 16]).
TEXT ·amxDeqI4I8(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ p+8(FP), SI
	MOVQ nblk+16(FP), CX
	MOVQ gs+24(FP), DX
	MOVL $0x0f0f0f0f, AX
	VPBROADCASTD AX, Y15
	MOVL $0x00080008, AX
	VPBROADCASTD AX, Z13

deqi4i8:
	TESTQ CX, CX
	JZ    deqi4i8done
	NIBBLES
	VPSUBW  Z13, Z2, Z2
	VPSUBW  Z13, Z3, Z3
	VPBROADCASTW (DX), Z4
	VPMULLW Z4, Z2, Z2
	VPMULLW Z4, Z3, Z3
	VPMOVWB Z2, Y2
	VPMOVWB Z3, Y3
	VMOVDQU Y2, (DI)
	VMOVDQU Y3, 32(DI)
	ADDQ $32, SI
	ADDQ $2, DX
	ADDQ $64, DI
	DECQ CX
	JMP  deqi4i8

deqi4i8done:
	VZEROUPPER
	RET

// func amxDeqI4I8U(dst *int8, p *byte, nblk int)
// dst[64b + j] = int8(u[64b+j] − 8) for b < nblk, j < 64: amxDeqI4I8 with every group scale 1
// (W4A16 on the digit path, per-channel W4A8), two blocks per step without widening to words.
TEXT ·amxDeqI4I8U(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ p+8(FP), SI
	MOVQ nblk+16(FP), CX
	MOVL $0x0f0f0f0f, AX
	VPBROADCASTD AX, Z15
	MOVL $0x08080808, AX
	VPBROADCASTD AX, Z14

deqi4u2:
	CMPQ CX, $2
	JLT  deqi4u1
	VMOVDQU64  (SI), Z0     // blocks b (bytes 0-31) and b+1 (32-63)
	VPSRLW     $4, Z0, Z1
	VPANDD     Z15, Z0, Z0  // low nibbles: codes 0-31 of each block
	VPANDD     Z15, Z1, Z1  // high nibbles: codes 32-63
	VPSUBB     Z14, Z0, Z0
	VPSUBB     Z14, Z1, Z1
	VSHUFI64X2 $0x44, Z1, Z0, Z2 // block b: low half of Z0, then of Z1
	VSHUFI64X2 $0xee, Z1, Z0, Z3 // block b+1: high halves
	VMOVDQU64  Z2, (DI)
	VMOVDQU64  Z3, 64(DI)
	ADDQ $64, SI
	ADDQ $128, DI
	SUBQ $2, CX
	JMP  deqi4u2

deqi4u1:
	TESTQ CX, CX
	JZ    deqi4udone
	VMOVDQU (SI), Y0
	VPSRLW  $4, Y0, Y1
	VPAND   Y15, Y0, Y0
	VPAND   Y15, Y1, Y1
	VPSUBB  Y14, Y0, Y0
	VPSUBB  Y14, Y1, Y1
	VMOVDQU Y0, (DI)
	VMOVDQU Y1, 32(DI)

deqi4udone:
	VZEROUPPER
	RET
