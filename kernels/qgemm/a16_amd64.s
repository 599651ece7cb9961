#include "textflag.h"
#include "vnni_amd64.h"

// AVX-512 kernels of the weight-only (A16) paths: dequantization of weight blocks to f32 for the
// GEMM path, and 8-row GEMV kernels for one token. See a16_amd64.go for the Go-level contracts.

// ZERO_ACC8 clears the accumulators Z0..Z7 of the eight-row kernels.
#define ZERO_ACC8 ZERO8(Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7)

// a16iotam8: −8, −7, ..., 7 as f32 (the symmetric int4 table is (iota − 8)·s, a16I4R8PLS).
DATA a16iotam8<>+0(SB)/4, $-8.0
DATA a16iotam8<>+4(SB)/4, $-7.0
DATA a16iotam8<>+8(SB)/4, $-6.0
DATA a16iotam8<>+12(SB)/4, $-5.0
DATA a16iotam8<>+16(SB)/4, $-4.0
DATA a16iotam8<>+20(SB)/4, $-3.0
DATA a16iotam8<>+24(SB)/4, $-2.0
DATA a16iotam8<>+28(SB)/4, $-1.0
DATA a16iotam8<>+32(SB)/4, $0.0
DATA a16iotam8<>+36(SB)/4, $1.0
DATA a16iotam8<>+40(SB)/4, $2.0
DATA a16iotam8<>+44(SB)/4, $3.0
DATA a16iotam8<>+48(SB)/4, $4.0
DATA a16iotam8<>+52(SB)/4, $5.0
DATA a16iotam8<>+56(SB)/4, $6.0
DATA a16iotam8<>+60(SB)/4, $7.0
GLOBL a16iotam8<>(SB), RODATA|NOPTR, $64

// a16iota: 0, 1, ..., 15 as f32 (the VPERMPS table of int4 codes is iota·s + b).
DATA a16iota<>+0(SB)/4, $0.0
DATA a16iota<>+4(SB)/4, $1.0
DATA a16iota<>+8(SB)/4, $2.0
DATA a16iota<>+12(SB)/4, $3.0
DATA a16iota<>+16(SB)/4, $4.0
DATA a16iota<>+20(SB)/4, $5.0
DATA a16iota<>+24(SB)/4, $6.0
DATA a16iota<>+28(SB)/4, $7.0
DATA a16iota<>+32(SB)/4, $8.0
DATA a16iota<>+36(SB)/4, $9.0
DATA a16iota<>+40(SB)/4, $10.0
DATA a16iota<>+44(SB)/4, $11.0
DATA a16iota<>+48(SB)/4, $12.0
DATA a16iota<>+52(SB)/4, $13.0
DATA a16iota<>+56(SB)/4, $14.0
DATA a16iota<>+60(SB)/4, $15.0
GLOBL a16iota<>(SB), RODATA|NOPTR, $64

// a16ridx: VPERMPS index of the final step of A16REDUCE8 (elements 0,4,8,12,2,6,10,14).
DATA a16ridx<>+0(SB)/4, $0
DATA a16ridx<>+4(SB)/4, $4
DATA a16ridx<>+8(SB)/4, $8
DATA a16ridx<>+12(SB)/4, $12
DATA a16ridx<>+16(SB)/4, $2
DATA a16ridx<>+20(SB)/4, $6
DATA a16ridx<>+24(SB)/4, $10
DATA a16ridx<>+28(SB)/4, $14
DATA a16ridx<>+32(SB)/4, $0
DATA a16ridx<>+36(SB)/4, $0
DATA a16ridx<>+40(SB)/4, $0
DATA a16ridx<>+44(SB)/4, $0
DATA a16ridx<>+48(SB)/4, $0
DATA a16ridx<>+52(SB)/4, $0
DATA a16ridx<>+56(SB)/4, $0
DATA a16ridx<>+60(SB)/4, $0
GLOBL a16ridx<>(SB), RODATA|NOPTR, $64

// A16REDUCE8 sums each of the 16-lane accumulators a0..a7 and leaves the eight sums, in order, in
// the low 256 bits of a0 (clobbers a1..a7, Z28, Z29; needs a16ridx in Z30): fold 512→256 bits
// pairwise, 256→128, then within 128-bit lanes, and gather elements 0,4,8,12,2,6,10,14.
#define A16REDUCE8(a0, a1, a2, a3, a4, a5, a6, a7) \
	VSHUFF32X4 $0x44, a1, a0, Z28; \
	VSHUFF32X4 $0xEE, a1, a0, Z29; \
	VADDPS     Z29, Z28, a0; \
	VSHUFF32X4 $0x44, a3, a2, Z28; \
	VSHUFF32X4 $0xEE, a3, a2, Z29; \
	VADDPS     Z29, Z28, a2; \
	VSHUFF32X4 $0x44, a5, a4, Z28; \
	VSHUFF32X4 $0xEE, a5, a4, Z29; \
	VADDPS     Z29, Z28, a4; \
	VSHUFF32X4 $0x44, a7, a6, Z28; \
	VSHUFF32X4 $0xEE, a7, a6, Z29; \
	VADDPS     Z29, Z28, a6; \
	VSHUFF32X4 $0x88, a2, a0, Z28; \
	VSHUFF32X4 $0xDD, a2, a0, Z29; \
	VADDPS     Z29, Z28, a0; \
	VSHUFF32X4 $0x88, a6, a4, Z28; \
	VSHUFF32X4 $0xDD, a6, a4, Z29; \
	VADDPS     Z29, Z28, a4; \
	VSHUFPS    $0x88, a4, a0, Z28; \
	VSHUFPS    $0xDD, a4, a0, Z29; \
	VADDPS     Z29, Z28, a0; \
	VSHUFPS    $0xB1, a0, a0, Z28; \
	VADDPS     Z28, a0, a0; \
	VPERMPS    a0, Z30, a0

// func a16DeqI8(dst *float32, q *int8, s float32, n int)
// dst[k] = float32(q[k])·s for k < n, n a positive multiple of 16.
TEXT ·a16DeqI8(SB), NOSPLIT, $0-32
	MOVQ         dst+0(FP), DI
	MOVQ         q+8(FP), SI
	VBROADCASTSS s+16(FP), Z1
	MOVQ         n+24(FP), AX
	SHRQ         $4, AX

deqi8_loop:
	VPMOVSXBD (SI), Z0
	VCVTDQ2PS Z0, Z0
	VMULPS    Z1, Z0, Z0
	VMOVUPS   Z0, (DI)
	ADDQ      $16, SI
	ADDQ      $64, DI
	DECQ      AX
	JNZ       deqi8_loop
	VZEROUPPER
	RET

// func a16Mul(d *float32, s float32, n int)
// d[k] *= s for k < n, n a positive multiple of 16.
TEXT ·a16Mul(SB), NOSPLIT, $0-24
	MOVQ         d+0(FP), DI
	VBROADCASTSS s+8(FP), Z1
	MOVQ         n+16(FP), AX
	SHRQ         $4, AX

mul_loop:
	VMULPS  (DI), Z1, Z0
	VMOVUPS Z0, (DI)
	ADDQ    $64, DI
	DECQ    AX
	JNZ     mul_loop
	VZEROUPPER
	RET

// FP8 decode of 16 codes at mem into z (e4m3fn without NaN): sign-extend each byte to 32 bits,
// shift left 20 so that the 7 magnitude bits land on f32 exponent/mantissa bits 20..26 and the sign
// on bit 31, clear bits 27..30 (mask in Z24: 0x87F00000), and multiply by 2^120 (Z25) to move the
// exponent bias from 127 to 7; e4m3 subnormals (exponent 0) are f32 subnormals scaled to normals.
#define FP8DEC(mem, z) \
	VPMOVSXBD mem, z; \
	VPSLLD    $20, z, z; \
	VPANDD    Z24, z, z; \
	VMULPS    Z25, z, z

// FP8RAW is FP8DEC without the ×2^120: z = DecodeE4M3(code)·2^-120 (f32 subnormal for small codes;
// exact: the smallest, 2^-129, is above the f32 subnormal step 2^-149).
#define FP8RAW(mem, z) \
	VPMOVSXBD mem, z; \
	VPSLLD    $20, z, z; \
	VPANDD    Z24, z, z

// FP8NAN sets bits of K2 for any byte at mem (64 bytes, ORed into tmp) whose low 7 bits are all
// set (0x7F, 0xFF: NaN): byte | 0x80 == 0xFF. Needs 0x80 bytes in Z26 and all-ones in Z27.
#define FP8NAN(mem, tmp) \
	VPORD     mem, Z26, tmp; \
	VPCMPEQB  Z27, tmp, K1; \
	KORQ      K1, K2, K2

#define FP8CONSTS \
	MOVL         $0x87F00000, R8; \
	VPBROADCASTD R8, Z24; \
	MOVL         $0x7B800000, R8; \
	VPBROADCASTD R8, Z25; \
	MOVL         $0x80808080, R8; \
	VPBROADCASTD R8, Z26; \
	VPTERNLOGD   $0xFF, Z27, Z27, Z27; \
	KXORQ        K2, K2, K2

// func a16DeqFP8(dst *float32, q *uint8, s float32, n int) uint64
// dst[k] = DecodeE4M3(q[k])·s for k < n, n a positive multiple of 64, except that NaN codes decode
// to ±480·s; returns non-zero if any code was NaN (0x7F or 0xFF).
TEXT ·a16DeqFP8(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ q+8(FP), SI
	VBROADCASTSS s+16(FP), Z5
	MOVQ n+24(FP), AX
	SHRQ $6, AX
	FP8CONSTS

deqfp8_loop:
	FP8NAN((SI), Z4)
	FP8DEC(0(SI), Z0)
	FP8DEC(16(SI), Z1)
	FP8DEC(32(SI), Z2)
	FP8DEC(48(SI), Z3)
	VMULPS  Z5, Z0, Z0
	VMULPS  Z5, Z1, Z1
	VMULPS  Z5, Z2, Z2
	VMULPS  Z5, Z3, Z3
	VMOVUPS Z0, (DI)
	VMOVUPS Z1, 64(DI)
	VMOVUPS Z2, 128(DI)
	VMOVUPS Z3, 192(DI)
	ADDQ    $64, SI
	ADDQ    $256, DI
	DECQ    AX
	JNZ     deqfp8_loop
	KMOVQ   K2, AX
	MOVQ    AX, ret+32(FP)
	VZEROUPPER
	RET

// func a16DeqI4(dst *float32, p *byte, sc *float32, bi *float32, ghalf int, cnt int, nblk int)
// Dequantizes nblk blocks of 64 packed int4 codes (int4.go layout) to dst[0 : 64·nblk]:
// w = u·s + b, where (s, b) = (*sc, *bi) advance to the next entry after every ghalf half-blocks
// of 32 codes; the first advance comes after cnt (1..ghalf) half-blocks. The table Z8 = iota·s + b
// maps a code to its weight with VPERMPS (which reads the low 4 bits of each index dword).
TEXT ·a16DeqI4(SB), NOSPLIT, $0-56
	MOVQ      dst+0(FP), DI
	MOVQ      p+8(FP), SI
	MOVQ      sc+16(FP), R11
	MOVQ      bi+24(FP), R12
	MOVQ      ghalf+32(FP), R13
	MOVQ      cnt+40(FP), CX
	MOVQ      nblk+48(FP), AX
	VMOVUPS   a16iota<>(SB), Z24
	VBROADCASTSS (R11), Z9
	VBROADCASTSS (R12), Z8
	VFMADD231PS Z24, Z9, Z8

deqi4_loop:
	VPMOVZXBD (SI), Z0
	VPMOVZXBD 16(SI), Z1
	VPERMPS   Z8, Z0, Z2
	VPERMPS   Z8, Z1, Z3
	VMOVUPS   Z2, (DI)
	VMOVUPS   Z3, 64(DI)
	DECQ      CX
	JNZ       deqi4_h1
	MOVQ      R13, CX
	ADDQ      $4, R11
	ADDQ      $4, R12
	VBROADCASTSS (R11), Z9
	VBROADCASTSS (R12), Z8
	VFMADD231PS Z24, Z9, Z8

deqi4_h1:
	VPSRLD    $4, Z0, Z0
	VPSRLD    $4, Z1, Z1
	VPERMPS   Z8, Z0, Z2
	VPERMPS   Z8, Z1, Z3
	VMOVUPS   Z2, 128(DI)
	VMOVUPS   Z3, 192(DI)
	DECQ      CX
	JNZ       deqi4_next
	MOVQ      R13, CX
	ADDQ      $4, R11
	ADDQ      $4, R12
	VBROADCASTSS (R11), Z9
	VBROADCASTSS (R12), Z8
	VFMADD231PS Z24, Z9, Z8

deqi4_next:
	ADDQ $32, SI
	ADDQ $256, DI
	DECQ AX
	JNZ  deqi4_loop
	VZEROUPPER
	RET

// I8ROW accumulates 16 int8 weights at mem times the x piece Z16 into acc (tmp: scratch).
#define I8ROW(mem, tmp, acc) \
	VPMOVSXBD   mem, tmp; \
	VCVTDQ2PS   tmp, tmp; \
	VFMADD231PS Z16, tmp, acc

// A16STORE8 finishes one 8-row block: the eight sums (low 256 bits of Z0) times sc[0:8] (unless
// R14 = 0; R14 advances by 8 floats) times the broadcast post factor in Z31, stored at DI (which
// advances by 8 floats).
#define A16STORE8 \
	TESTQ   R14, R14; \
	JZ      3(PC); \
	VMULPS  (R14), Y0, Y0; \
	ADDQ    $32, R14; \
	VMULPS  Y31, Y0, Y0; \
	VMOVUPS Y0, (DI); \
	ADDQ    $32, DI

// func a16I8R8L(w *int8, ldw int, x *float32, n int, nb8 int, sc *float32, post float32, out *float32, bstep int, pfd int)
// For each block b < nb8 of 8 rows and r < 8, with row_b,r at w + b·bstep + r·ldw:
//   out[8b+r] = (Σ_{k<n} float32(row_b,r[k])·x[k]) · sc[8b+r] · post   (sc nil: no sc factor),
// n a positive multiple of 16. Rows of a block: SI, SI+BX, SI+2BX, SI+R10 (3BX), R9 = SI+4BX, ...
// Each step prefetches the same 16 columns pfd bytes ahead of each of the eight rows (R11 = SI +
// pfd, R12 = R11+4BX). gemvRuns passes eight runs of consecutive rows (ldw = a run's bytes, bstep
// = one row, pfd = two rows), so that each row stream is sequential through whole pages.
TEXT ·a16I8R8L(SB), NOSPLIT, $0-80
	MOVQ w+0(FP), R8
	MOVQ ldw+8(FP), BX
	MOVQ n+24(FP), R13
	SHRQ $4, R13
	MOVQ nb8+32(FP), CX
	MOVQ sc+40(FP), R14
	VBROADCASTSS post+48(FP), Z31
	MOVQ out+56(FP), DI
	LEAQ (BX)(BX*2), R10
	VMOVDQU32 a16ridx<>(SB), Z30

i8r8l_block:
	MOVQ R8, SI
	MOVQ x+16(FP), DX
	MOVQ R13, AX
	LEAQ (SI)(BX*4), R9
	MOVQ SI, R11 // pfd bytes ahead along each row
	ADDQ pfd+72(FP), R11
	LEAQ (R11)(BX*4), R12
	ZERO_ACC8

i8r8l_loop:
	PREFETCHT0 (R11)
	PREFETCHT0 (R11)(BX*1)
	PREFETCHT0 (R11)(BX*2)
	PREFETCHT0 (R11)(R10*1)
	PREFETCHT0 (R12)
	PREFETCHT0 (R12)(BX*1)
	PREFETCHT0 (R12)(BX*2)
	PREFETCHT0 (R12)(R10*1)
	ADDQ       $16, R11
	ADDQ       $16, R12
	VMOVUPS    (DX), Z16
	I8ROW((SI), Z17, Z0)
	I8ROW((SI)(BX*1), Z18, Z1)
	I8ROW((SI)(BX*2), Z19, Z2)
	I8ROW((SI)(R10*1), Z20, Z3)
	I8ROW((R9), Z21, Z4)
	I8ROW((R9)(BX*1), Z22, Z5)
	I8ROW((R9)(BX*2), Z23, Z6)
	I8ROW((R9)(R10*1), Z17, Z7)
	ADDQ $16, SI
	ADDQ $16, R9
	ADDQ $64, DX
	DECQ AX
	JNZ  i8r8l_loop

	A16REDUCE8(Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7)
	A16STORE8
	ADDQ bstep+64(FP), R8
	DECQ CX
	JNZ  i8r8l_block
	VZEROUPPER
	RET

// FP8ROW accumulates 64 fp8 weights at off(base) times x pieces Z16..Z19 into acc, flagging NaN codes.
#define FP8ROW(base, acc) \
	FP8NAN(base, Z20); \
	FP8RAW(base, Z21); \
	VFMADD231PS Z16, Z21, acc; \
	FP8RAW(16 base, Z22); \
	VFMADD231PS Z17, Z22, acc; \
	FP8RAW(32 base, Z23); \
	VFMADD231PS Z18, Z23, acc; \
	FP8RAW(48 base, Z21); \
	VFMADD231PS Z19, Z21, acc

// func a16FP8R8L(w *uint8, ldw int, x *float32, n int, nb8 int, sc *float32, post float32, out *float32, bstep int, pfd int) uint64
// For each block b < nb8 of 8 rows and r < 8, with row_b,r at w + b·bstep + r·ldw:
//   out[8b+r] = (Σ_{k<n} (DecodeE4M3(row_b,r[k])·2^-120)·x[k]) · sc[8b+r] · post,
// n a positive multiple of 64 (callers pass x scaled by 2^112 and a post factor with 2^8 in it:
// the weights skip the ×2^120 and the products stay normal); returns non-zero if a NaN code was
// met (the sums are then wrong: NaN codes decode to ±480·2^-120). Prefetches as a16I8R8L.
TEXT ·a16FP8R8L(SB), NOSPLIT, $0-88
	FP8CONSTS
	MOVQ w+0(FP), R8
	MOVQ ldw+8(FP), BX
	MOVQ n+24(FP), R13
	SHRQ $6, R13
	MOVQ nb8+32(FP), CX
	MOVQ sc+40(FP), R14
	VBROADCASTSS post+48(FP), Z31
	MOVQ out+56(FP), DI
	LEAQ (BX)(BX*2), R10
	VMOVDQU32 a16ridx<>(SB), Z30

fp8r8l_block:
	MOVQ R8, SI
	MOVQ x+16(FP), DX
	MOVQ R13, AX
	LEAQ (SI)(BX*4), R9
	MOVQ SI, R11 // pfd bytes ahead along each row
	ADDQ pfd+72(FP), R11
	LEAQ (R11)(BX*4), R12
	ZERO_ACC8

fp8r8l_loop:
	PREFETCHT0 (R11)
	PREFETCHT0 (R11)(BX*1)
	PREFETCHT0 (R11)(BX*2)
	PREFETCHT0 (R11)(R10*1)
	PREFETCHT0 (R12)
	PREFETCHT0 (R12)(BX*1)
	PREFETCHT0 (R12)(BX*2)
	PREFETCHT0 (R12)(R10*1)
	ADDQ       $64, R11
	ADDQ       $64, R12
	VMOVUPS    (DX), Z16
	VMOVUPS    64(DX), Z17
	VMOVUPS    128(DX), Z18
	VMOVUPS    192(DX), Z19
	FP8ROW((SI), Z0)
	FP8ROW((SI)(BX*1), Z1)
	FP8ROW((SI)(BX*2), Z2)
	FP8ROW((SI)(R10*1), Z3)
	FP8ROW((R9), Z4)
	FP8ROW((R9)(BX*1), Z5)
	FP8ROW((R9)(BX*2), Z6)
	FP8ROW((R9)(R10*1), Z7)
	ADDQ $64, SI
	ADDQ $64, R9
	ADDQ $256, DX
	DECQ AX
	JNZ  fp8r8l_loop

	A16REDUCE8(Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7)
	A16STORE8
	ADDQ bstep+64(FP), R8
	DECQ CX
	JNZ  fp8r8l_block
	KMOVQ K2, AX
	MOVQ  AX, ret+80(FP)
	VZEROUPPER
	RET


// I4TAB rebuilds the VPERMPS table tab = iota·s + b of one row from (DI) and (R8), then steps DI
// and R8 to the next row's entry (by R13 bytes).
#define I4TAB(tab) \
	VBROADCASTSS (DI), Z25; \
	VBROADCASTSS (R8), tab; \
	VFMADD231PS  Z24, Z25, tab; \
	ADDQ         R13, DI; \
	ADDQ         R13, R8

#define I4TABS \
	MOVQ R11, DI; \
	MOVQ R12, R8; \
	I4TAB(Z8); \
	I4TAB(Z9); \
	I4TAB(Z10); \
	I4TAB(Z11); \
	I4TAB(Z12); \
	I4TAB(Z13); \
	I4TAB(Z14); \
	I4TAB(Z15)

// I4LO / I4HI accumulate the low-nibble (first 32 codes) / high-nibble (last 32 codes) half of one
// row's 64-code block at mem (32 bytes) times x halves (Z16, Z17) / (Z18, Z19) into acc.
#define I4LO(mem, tab, acc) \
	VPMOVZXBD   mem, Z20; \
	VPMOVZXBD   16 mem, Z21; \
	VPERMPS     tab, Z20, Z22; \
	VFMADD231PS Z16, Z22, acc; \
	VPERMPS     tab, Z21, Z23; \
	VFMADD231PS Z17, Z23, acc

#define I4HI(mem, tab, acc) \
	VPMOVZXBD   mem, Z20; \
	VPMOVZXBD   16 mem, Z21; \
	VPSRLD      $4, Z20, Z20; \
	VPSRLD      $4, Z21, Z21; \
	VPERMPS     tab, Z20, Z22; \
	VFMADD231PS Z18, Z22, acc; \
	VPERMPS     tab, Z21, Z23; \
	VFMADD231PS Z19, Z23, acc

// func a16I4R8(p *byte, ldp int, sc *float32, bi *float32, ldg int, gstep int, x *float32, nblk int, out *[8]float32)
// out[r] = Σ_{k<64·nblk} x[k]·(u[r,k]·s[r,h/gstep] + b[r,h/gstep]) for r < 8, h = k/32, where
// u[r,k] is code k of packed row p + r·ldp and s[r,j] = sc[r·ldg+j], b[r,j] = bi[r·ldg+j] (ldg and
// ldp in elements/bytes). Reads one (s, b) entry past the last group used (Prepare's +1 slot).
TEXT ·a16I4R8(SB), NOSPLIT, $0-72

// I4NEXTGROUP (also used by a16I4R8P, whose gstep is at the same offset): after each kernel step
// (half-block here, block there), count down CX and, at a group boundary, step the scale and
// bias pointers by one entry and rebuild the eight tables.
#define I4NEXTGROUP(label) \
	DECQ CX; \
	JNZ  label; \
	MOVQ gstep+40(FP), CX; \
	ADDQ $4, R11; \
	ADDQ $4, R12; \
	I4TABS; \
label:

	MOVQ p+0(FP), SI
	MOVQ ldp+8(FP), BX
	MOVQ sc+16(FP), R11
	MOVQ bi+24(FP), R12
	MOVQ ldg+32(FP), R13
	SHLQ $2, R13
	MOVQ gstep+40(FP), CX
	MOVQ x+48(FP), DX
	MOVQ nblk+56(FP), AX
	LEAQ (BX)(BX*2), R10
	LEAQ (SI)(BX*4), R9
	LEAQ (SI)(BX*8), R14
	LEAQ (R14)(BX*8), R14
	VMOVUPS a16iota<>(SB), Z24
	I4TABS
	ZERO_ACC8

i4r8_loop:
	PREFETCHT0 (R14)
	PREFETCHT0 64(R14)
	PREFETCHT0 128(R14)
	PREFETCHT0 192(R14)
	ADDQ       $256, R14
	VMOVUPS (DX), Z16
	VMOVUPS 64(DX), Z17
	VMOVUPS 128(DX), Z18
	VMOVUPS 192(DX), Z19
	I4LO((SI), Z8, Z0)
	I4LO((SI)(BX*1), Z9, Z1)
	I4LO((SI)(BX*2), Z10, Z2)
	I4LO((SI)(R10*1), Z11, Z3)
	I4LO((R9), Z12, Z4)
	I4LO((R9)(BX*1), Z13, Z5)
	I4LO((R9)(BX*2), Z14, Z6)
	I4LO((R9)(R10*1), Z15, Z7)
	I4NEXTGROUP(i4r8_h1)
	I4HI((SI), Z8, Z0)
	I4HI((SI)(BX*1), Z9, Z1)
	I4HI((SI)(BX*2), Z10, Z2)
	I4HI((SI)(R10*1), Z11, Z3)
	I4HI((R9), Z12, Z4)
	I4HI((R9)(BX*1), Z13, Z5)
	I4HI((R9)(BX*2), Z14, Z6)
	I4HI((R9)(R10*1), Z15, Z7)
	I4NEXTGROUP(i4r8_next)
	ADDQ $32, SI
	ADDQ $32, R9
	ADDQ $256, DX
	DECQ AX
	JNZ  i4r8_loop

	MOVQ      out+64(FP), DI
	VMOVDQU32 a16ridx<>(SB), Z30
	A16REDUCE8(Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7)
	VMOVUPS   Y0, (DI)
	VZEROUPPER
	RET

// func a16AbsMaxBits(x *float32, n int) uint32
// Returns max_k (bits(x[k]) & 0x7FFFFFFF) for k < n, n a positive multiple of 16: the bits of
// max |x[k]| for finite x (non-negative floats order as their bit patterns), > 0x7F800000 if any
// x[k] is NaN.
TEXT ·a16AbsMaxBits(SB), NOSPLIT, $0-20
	MOVQ         x+0(FP), SI
	MOVQ         n+8(FP), AX
	SHRQ         $4, AX
	MOVL         $0x7FFFFFFF, R8
	VPBROADCASTD R8, Z1
	VPXORD       Z0, Z0, Z0

absmax_loop:
	VPANDD  (SI), Z1, Z2
	VPMAXUD Z2, Z0, Z0
	ADDQ    $64, SI
	DECQ    AX
	JNZ     absmax_loop
	VEXTRACTI64X4 $1, Z0, Y1
	VPMAXUD       Y1, Y0, Y0
	VEXTRACTI128  $1, Y0, X1
	VPMAXUD       X1, X0, X0
	VPSHUFD       $0x4E, X0, X1
	VPMAXUD       X1, X0, X0
	VPSHUFD       $0xB1, X0, X1
	VPMAXUD       X1, X0, X0
	VMOVD         X0, AX
	MOVL          AX, ret+16(FP)
	VZEROUPPER
	RET

// func a16RoundE4M3(dst *float32, x *float32, inv float32, n int)
// dst[k] = DecodeE4M3(EncodeE4M3(x[k]·inv)) for k < n, n a positive multiple of 16, computed on
// the f32 bits a = |v| of v = x[k]·inv:
//   a < 2^-6 (e4m3 subnormal grid m·2^-9): (a + 2^14) − 2^14, whose f32 rounding is RNE to 2^-9;
//   a > 0x7F800000 (NaN): NaN;
//   otherwise keep 3 mantissa bits with RNE, (a + 0x7FFFF + (a>>20 & 1)) &^ 0xFFFFF, and saturate
//   at 448 (unsigned min on the bits; Inf included);
// then the sign of v is put back.
TEXT ·a16RoundE4M3(SB), NOSPLIT, $0-32
	MOVQ         dst+0(FP), DI
	MOVQ         x+8(FP), SI
	VBROADCASTSS inv+16(FP), Z31
	MOVQ         n+24(FP), AX
	SHRQ         $4, AX
	MOVL         $0x7FFFFFFF, R8
	VPBROADCASTD R8, Z30
	MOVL         $0x7FFFF, R8
	VPBROADCASTD R8, Z29
	MOVL         $1, R8
	VPBROADCASTD R8, Z28
	MOVL         $0xFFF00000, R8
	VPBROADCASTD R8, Z27
	MOVL         $0x43E00000, R8
	VPBROADCASTD R8, Z26
	MOVL         $0x46800000, R8
	VPBROADCASTD R8, Z25
	MOVL         $0x3C800000, R8
	VPBROADCASTD R8, Z24
	MOVL         $0x7F800000, R8
	VPBROADCASTD R8, Z23

rnde4m3_loop:
	VMULPS    (SI), Z31, Z0
	VPANDD    Z30, Z0, Z1
	VPSRLD    $20, Z1, Z2
	VPANDD    Z28, Z2, Z2
	VPADDD    Z29, Z1, Z3
	VPADDD    Z2, Z3, Z3
	VPANDD    Z27, Z3, Z3
	VPMINUD   Z26, Z3, Z3
	VADDPS    Z25, Z1, Z4
	VSUBPS    Z25, Z4, Z4
	VPCMPUD   $1, Z24, Z1, K1
	VMOVDQA32 Z4, K1, Z3
	VPCMPUD   $6, Z23, Z1, K2
	VMOVDQA32 Z1, K2, Z3
	VPTERNLOGD $0xF4, Z30, Z0, Z3
	VMOVUPS   Z3, (DI)
	ADDQ      $64, SI
	ADDQ      $64, DI
	DECQ      AX
	JNZ       rnde4m3_loop
	VZEROUPPER
	RET

// a16shv: VPSRLVD counts of the permuted int4 kernel; vector v shifts lanes 0..7 by 8v (low
// nibble of byte v of each dword) and lanes 8..15 by 8v+4 (its high nibble).
DATA a16shv<>+0(SB)/4, $0
DATA a16shv<>+4(SB)/4, $0
DATA a16shv<>+8(SB)/4, $0
DATA a16shv<>+12(SB)/4, $0
DATA a16shv<>+16(SB)/4, $0
DATA a16shv<>+20(SB)/4, $0
DATA a16shv<>+24(SB)/4, $0
DATA a16shv<>+28(SB)/4, $0
DATA a16shv<>+32(SB)/4, $4
DATA a16shv<>+36(SB)/4, $4
DATA a16shv<>+40(SB)/4, $4
DATA a16shv<>+44(SB)/4, $4
DATA a16shv<>+48(SB)/4, $4
DATA a16shv<>+52(SB)/4, $4
DATA a16shv<>+56(SB)/4, $4
DATA a16shv<>+60(SB)/4, $4
DATA a16shv<>+64(SB)/4, $8
DATA a16shv<>+68(SB)/4, $8
DATA a16shv<>+72(SB)/4, $8
DATA a16shv<>+76(SB)/4, $8
DATA a16shv<>+80(SB)/4, $8
DATA a16shv<>+84(SB)/4, $8
DATA a16shv<>+88(SB)/4, $8
DATA a16shv<>+92(SB)/4, $8
DATA a16shv<>+96(SB)/4, $12
DATA a16shv<>+100(SB)/4, $12
DATA a16shv<>+104(SB)/4, $12
DATA a16shv<>+108(SB)/4, $12
DATA a16shv<>+112(SB)/4, $12
DATA a16shv<>+116(SB)/4, $12
DATA a16shv<>+120(SB)/4, $12
DATA a16shv<>+124(SB)/4, $12
DATA a16shv<>+128(SB)/4, $16
DATA a16shv<>+132(SB)/4, $16
DATA a16shv<>+136(SB)/4, $16
DATA a16shv<>+140(SB)/4, $16
DATA a16shv<>+144(SB)/4, $16
DATA a16shv<>+148(SB)/4, $16
DATA a16shv<>+152(SB)/4, $16
DATA a16shv<>+156(SB)/4, $16
DATA a16shv<>+160(SB)/4, $20
DATA a16shv<>+164(SB)/4, $20
DATA a16shv<>+168(SB)/4, $20
DATA a16shv<>+172(SB)/4, $20
DATA a16shv<>+176(SB)/4, $20
DATA a16shv<>+180(SB)/4, $20
DATA a16shv<>+184(SB)/4, $20
DATA a16shv<>+188(SB)/4, $20
DATA a16shv<>+192(SB)/4, $24
DATA a16shv<>+196(SB)/4, $24
DATA a16shv<>+200(SB)/4, $24
DATA a16shv<>+204(SB)/4, $24
DATA a16shv<>+208(SB)/4, $24
DATA a16shv<>+212(SB)/4, $24
DATA a16shv<>+216(SB)/4, $24
DATA a16shv<>+220(SB)/4, $24
DATA a16shv<>+224(SB)/4, $28
DATA a16shv<>+228(SB)/4, $28
DATA a16shv<>+232(SB)/4, $28
DATA a16shv<>+236(SB)/4, $28
DATA a16shv<>+240(SB)/4, $28
DATA a16shv<>+244(SB)/4, $28
DATA a16shv<>+248(SB)/4, $28
DATA a16shv<>+252(SB)/4, $28
GLOBL a16shv<>(SB), RODATA|NOPTR, $256

// a16pidx: VPERMT2PS indices of a16PermX4; vector v, lane l reads column 4·(l mod 8) + v of the
// 32-float table pair (x[0:32] for lanes 0..7, x[32:64] for lanes 8..15).
DATA a16pidx<>+0(SB)/4, $0
DATA a16pidx<>+4(SB)/4, $4
DATA a16pidx<>+8(SB)/4, $8
DATA a16pidx<>+12(SB)/4, $12
DATA a16pidx<>+16(SB)/4, $16
DATA a16pidx<>+20(SB)/4, $20
DATA a16pidx<>+24(SB)/4, $24
DATA a16pidx<>+28(SB)/4, $28
DATA a16pidx<>+32(SB)/4, $0
DATA a16pidx<>+36(SB)/4, $4
DATA a16pidx<>+40(SB)/4, $8
DATA a16pidx<>+44(SB)/4, $12
DATA a16pidx<>+48(SB)/4, $16
DATA a16pidx<>+52(SB)/4, $20
DATA a16pidx<>+56(SB)/4, $24
DATA a16pidx<>+60(SB)/4, $28
DATA a16pidx<>+64(SB)/4, $1
DATA a16pidx<>+68(SB)/4, $5
DATA a16pidx<>+72(SB)/4, $9
DATA a16pidx<>+76(SB)/4, $13
DATA a16pidx<>+80(SB)/4, $17
DATA a16pidx<>+84(SB)/4, $21
DATA a16pidx<>+88(SB)/4, $25
DATA a16pidx<>+92(SB)/4, $29
DATA a16pidx<>+96(SB)/4, $1
DATA a16pidx<>+100(SB)/4, $5
DATA a16pidx<>+104(SB)/4, $9
DATA a16pidx<>+108(SB)/4, $13
DATA a16pidx<>+112(SB)/4, $17
DATA a16pidx<>+116(SB)/4, $21
DATA a16pidx<>+120(SB)/4, $25
DATA a16pidx<>+124(SB)/4, $29
DATA a16pidx<>+128(SB)/4, $2
DATA a16pidx<>+132(SB)/4, $6
DATA a16pidx<>+136(SB)/4, $10
DATA a16pidx<>+140(SB)/4, $14
DATA a16pidx<>+144(SB)/4, $18
DATA a16pidx<>+148(SB)/4, $22
DATA a16pidx<>+152(SB)/4, $26
DATA a16pidx<>+156(SB)/4, $30
DATA a16pidx<>+160(SB)/4, $2
DATA a16pidx<>+164(SB)/4, $6
DATA a16pidx<>+168(SB)/4, $10
DATA a16pidx<>+172(SB)/4, $14
DATA a16pidx<>+176(SB)/4, $18
DATA a16pidx<>+180(SB)/4, $22
DATA a16pidx<>+184(SB)/4, $26
DATA a16pidx<>+188(SB)/4, $30
DATA a16pidx<>+192(SB)/4, $3
DATA a16pidx<>+196(SB)/4, $7
DATA a16pidx<>+200(SB)/4, $11
DATA a16pidx<>+204(SB)/4, $15
DATA a16pidx<>+208(SB)/4, $19
DATA a16pidx<>+212(SB)/4, $23
DATA a16pidx<>+216(SB)/4, $27
DATA a16pidx<>+220(SB)/4, $31
DATA a16pidx<>+224(SB)/4, $3
DATA a16pidx<>+228(SB)/4, $7
DATA a16pidx<>+232(SB)/4, $11
DATA a16pidx<>+236(SB)/4, $15
DATA a16pidx<>+240(SB)/4, $19
DATA a16pidx<>+244(SB)/4, $23
DATA a16pidx<>+248(SB)/4, $27
DATA a16pidx<>+252(SB)/4, $31
GLOBL a16pidx<>(SB), RODATA|NOPTR, $256

// func a16PermX4(dst *float32, x *float32, nblk int)
// For each block b of 64 columns, v < 4, j < 8:
//   dst[64b + 16v + j] = x[64b + 4j + v], dst[64b + 16v + 8 + j] = x[64b + 32 + 4j + v]
// (the column order in which a16I4R8P meets the codes).
TEXT ·a16PermX4(SB), NOSPLIT, $0-24
	MOVQ    dst+0(FP), DI
	MOVQ    x+8(FP), SI
	MOVQ    nblk+16(FP), AX
	VMOVUPS a16pidx<>+0(SB), Z20
	VMOVUPS a16pidx<>+64(SB), Z21
	VMOVUPS a16pidx<>+128(SB), Z22
	VMOVUPS a16pidx<>+192(SB), Z23
	MOVQ    $0xFF00, R8
	KMOVW   R8, K1

permx_loop:
	VMOVUPS   (SI), Z0
	VMOVUPS   64(SI), Z1
	VMOVUPS   128(SI), Z2
	VMOVUPS   192(SI), Z3
	VMOVAPS   Z0, Z4
	VPERMT2PS Z1, Z20, Z4
	VMOVAPS   Z2, Z5
	VPERMT2PS Z3, Z20, Z5
	VMOVAPS   Z5, K1, Z4
	VMOVUPS   Z4, (DI)
	VMOVAPS   Z0, Z4
	VPERMT2PS Z1, Z21, Z4
	VMOVAPS   Z2, Z5
	VPERMT2PS Z3, Z21, Z5
	VMOVAPS   Z5, K1, Z4
	VMOVUPS   Z4, 64(DI)
	VMOVAPS   Z0, Z4
	VPERMT2PS Z1, Z22, Z4
	VMOVAPS   Z2, Z5
	VPERMT2PS Z3, Z22, Z5
	VMOVAPS   Z5, K1, Z4
	VMOVUPS   Z4, 128(DI)
	VMOVAPS   Z0, Z4
	VPERMT2PS Z1, Z23, Z4
	VMOVAPS   Z2, Z5
	VPERMT2PS Z3, Z23, Z5
	VMOVAPS   Z5, K1, Z4
	VMOVUPS   Z4, 192(DI)
	ADDQ      $256, SI
	ADDQ      $256, DI
	DECQ      AX
	JNZ       permx_loop
	VZEROUPPER
	RET

// I4P accumulates one row's 64-code block at mem (32 bytes, broadcast to both 256-bit halves)
// times the permuted x pieces Z16..Z19 into acc: vector v takes nibble v of every byte pair
// position via VPSRLVD by a16shv[v] (Z26, Z27, Z31, Z23) and maps it with the row's table.
#define I4P(mem, tab, acc) \
	VBROADCASTI64X4 mem, Z20; \
	VPSRLVD         Z26, Z20, Z21; \
	VPERMPS         tab, Z21, Z22; \
	VFMADD231PS     Z16, Z22, acc; \
	VPSRLVD         Z27, Z20, Z21; \
	VPERMPS         tab, Z21, Z22; \
	VFMADD231PS     Z17, Z22, acc; \
	VPSRLVD         Z31, Z20, Z21; \
	VPERMPS         tab, Z21, Z22; \
	VFMADD231PS     Z18, Z22, acc; \
	VPSRLVD         Z23, Z20, Z21; \
	VPERMPS         tab, Z21, Z22; \
	VFMADD231PS     Z19, Z22, acc

// I4P8STEP is one step of the eight-row one-token int4 kernels: prefetch 32 bytes of each row
// at R14 (rows R14 + i·BX), load the 64 permuted x of this block (DX) into Z16..Z19 and
// accumulate the eight rows' blocks (SI, R9 + 0..3·BX, tables Z8..Z15) into Z0..Z7.
#define I4P8STEP \
	PREFETCHT0 (R14); \
	PREFETCHT0 (R14)(BX*1); \
	PREFETCHT0 (R14)(BX*2); \
	PREFETCHT0 (R14)(R10*1); \
	LEAQ       (R14)(BX*4), DI; \
	PREFETCHT0 (DI); \
	PREFETCHT0 (DI)(BX*1); \
	PREFETCHT0 (DI)(BX*2); \
	PREFETCHT0 (DI)(R10*1); \
	ADDQ       $32, R14; \
	VMOVUPS    (DX), Z16; \
	VMOVUPS    64(DX), Z17; \
	VMOVUPS    128(DX), Z18; \
	VMOVUPS    192(DX), Z19; \
	I4P((SI), Z8, Z0); \
	I4P((SI)(BX*1), Z9, Z1); \
	I4P((SI)(BX*2), Z10, Z2); \
	I4P((SI)(R10*1), Z11, Z3); \
	I4P((R9), Z12, Z4); \
	I4P((R9)(BX*1), Z13, Z5); \
	I4P((R9)(BX*2), Z14, Z6); \
	I4P((R9)(R10*1), Z15, Z7)

// func a16I4R8PL(p *byte, ldp int, sc *float32, bi *float32, ldg int, gstep int, xp *float32, nblk int, nb8 int, out *float32, bstep int, sstep int, pfd int)
// a16I4R8 for groups of gstep whole blocks of 64 (or one group per row) with x permuted by
// a16PermX4, over nb8 blocks of 8 rows, block b's row r at p + b·bstep + r·ldp (its scales and
// biases at sc, bi + b·sstep bytes + r·ldg floats): out[8b+r] = Σ_k x[k]·(u[k]·s[b/gstep] +
// bi[b/gstep]), b = k/64. Reads one (s, b) entry past the last group used. It prefetches
// pfd bytes ahead of each of the eight rows, 32 bytes per step (gemvRuns: eight runs of
// consecutive rows, ldp = a run's bytes, bstep = one row, pfd = two rows). Between row blocks
// the pointer arguments p, sc, bi, out are advanced in their argument slots (registers are all
// taken).
TEXT ·a16I4R8PL(SB), NOSPLIT, $0-104
	VMOVUPS a16iota<>(SB), Z24
	VMOVUPS a16shv<>+0(SB), Z26
	VMOVUPS a16shv<>+64(SB), Z27
	VMOVUPS a16shv<>+128(SB), Z31
	VMOVUPS a16shv<>+192(SB), Z23
	VMOVDQU32 a16ridx<>(SB), Z30

i4r8pl_block:
	MOVQ p+0(FP), SI
	MOVQ ldp+8(FP), BX
	MOVQ sc+16(FP), R11
	MOVQ bi+24(FP), R12
	MOVQ ldg+32(FP), R13
	SHLQ $2, R13
	MOVQ gstep+40(FP), CX
	MOVQ xp+48(FP), DX
	MOVQ nblk+56(FP), AX
	LEAQ (BX)(BX*2), R10
	LEAQ (SI)(BX*4), R9
	MOVQ SI, R14
	ADDQ pfd+96(FP), R14
	I4TABS
	ZERO_ACC8

i4r8pl_loop:
	I4P8STEP
	I4NEXTGROUP(i4r8pl_next)
	ADDQ $32, SI
	ADDQ $32, R9
	ADDQ $256, DX
	DECQ AX
	JNZ  i4r8pl_loop

	A16REDUCE8(Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7)
	MOVQ    out+72(FP), DI
	VMOVUPS Y0, (DI)
	ADDQ    $32, DI
	MOVQ    DI, out+72(FP)
	MOVQ    p+0(FP), SI
	ADDQ    bstep+80(FP), SI
	MOVQ    SI, p+0(FP)
	MOVQ    sstep+88(FP), R13
	MOVQ    sc+16(FP), R11
	ADDQ    R13, R11
	MOVQ    R11, sc+16(FP)
	MOVQ    bi+24(FP), R12
	ADDQ    R13, R12
	MOVQ    R12, bi+24(FP)
	DECQ    nb8+64(FP)
	JNZ     i4r8pl_block
	VZEROUPPER
	RET

// I4TABSYM is I4TAB for symmetric codes (b = −8·s exactly): tab = (iota − 8)·s from (DI) alone
// (Z24 = iota − 8), the same floats as iota·s + b, one rounding each.
#define I4TABSYM(tab) \
	VMULPS.BCST (DI), Z24, tab; \
	ADDQ        R13, DI

#define I4TABSSYM \
	MOVQ R11, DI; \
	I4TABSYM(Z8); \
	I4TABSYM(Z9); \
	I4TABSYM(Z10); \
	I4TABSYM(Z11); \
	I4TABSYM(Z12); \
	I4TABSYM(Z13); \
	I4TABSYM(Z14); \
	I4TABSYM(Z15)

// I4NEXTGROUPSYM is I4NEXTGROUP for a16I4R8PLS, which keeps gstep in R12.
#define I4NEXTGROUPSYM(label) \
	DECQ CX; \
	JNZ  label; \
	MOVQ R12, CX; \
	ADDQ $4, R11; \
	I4TABSSYM; \
label:

// func a16I4R8PLS(p *byte, ldp int, sc *float32, ldg int, gstep int, xp *float32, nblk int, nb8 int, out *float32, bstep int, sstep int, pfd int)
// a16I4R8PL for symmetric codes: tables (u − 8)·s, no bias array read (the same floats as
// u·s + b with b = −8·s).
TEXT ·a16I4R8PLS(SB), NOSPLIT, $0-96
	VMOVUPS a16iotam8<>(SB), Z24
	VMOVUPS a16shv<>+0(SB), Z26
	VMOVUPS a16shv<>+64(SB), Z27
	VMOVUPS a16shv<>+128(SB), Z31
	VMOVUPS a16shv<>+192(SB), Z23
	VMOVDQU32 a16ridx<>(SB), Z30

i4r8pls_block:
	MOVQ p+0(FP), SI
	MOVQ ldp+8(FP), BX
	MOVQ sc+16(FP), R11
	MOVQ ldg+24(FP), R13
	SHLQ $2, R13
	MOVQ gstep+32(FP), CX
	MOVQ CX, R12
	MOVQ xp+40(FP), DX
	MOVQ nblk+48(FP), AX
	LEAQ (BX)(BX*2), R10
	LEAQ (SI)(BX*4), R9
	MOVQ SI, R14
	ADDQ pfd+88(FP), R14
	I4TABSSYM
	ZERO_ACC8

i4r8pls_loop:
	I4P8STEP
	I4NEXTGROUPSYM(i4r8pls_next)
	ADDQ $32, SI
	ADDQ $32, R9
	ADDQ $256, DX
	DECQ AX
	JNZ  i4r8pls_loop

	A16REDUCE8(Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7)
	MOVQ    out+64(FP), DI
	VMOVUPS Y0, (DI)
	ADDQ    $32, DI
	MOVQ    DI, out+64(FP)
	MOVQ    p+0(FP), SI
	ADDQ    bstep+72(FP), SI
	MOVQ    SI, p+0(FP)
	MOVQ    sstep+80(FP), R13
	MOVQ    sc+16(FP), R11
	ADDQ    R13, R11
	MOVQ    R11, sc+16(FP)
	DECQ    nb8+56(FP)
	JNZ     i4r8pls_block
	VZEROUPPER
	RET

// PF4ROWS prefetches the next block's four rows (R9 + 0..3·BX) and steps R9 by step bytes.
#define PF4ROWS(step) \
	PREFETCHT0 (R9); \
	PREFETCHT0 (R9)(BX*1); \
	PREFETCHT0 (R9)(BX*2); \
	PREFETCHT0 (R9)(R10*1); \
	ADDQ       step, R9

// T4REDUCE sums the sixteen accumulators of the four-token kernels to their 16 outputs, out[0:8]
// (tokens 0-1) in Y0 and out[8:16] (tokens 2-3) in Y8; T4STORE writes them to (DI).
#define T4REDUCE \
	VMOVDQU32 a16ridx<>(SB), Z30; \
	A16REDUCE8(Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7); \
	A16REDUCE8(Z8, Z9, Z10, Z11, Z12, Z13, Z14, Z15)

#define T4STORE \
	VMOVUPS Y0, (DI); \
	VMOVUPS Y8, 32(DI)

// ZERO16 clears the sixteen accumulators Z0..Z15 of the four-token kernels.
#define ZERO16 \
	ZERO_ACC8; \
	VPXORD Z8, Z8, Z8; \
	VPXORD Z9, Z9, Z9; \
	VPXORD Z10, Z10, Z10; \
	VPXORD Z11, Z11, Z11; \
	VPXORD Z12, Z12, Z12; \
	VPXORD Z13, Z13, Z13; \
	VPXORD Z14, Z14, Z14; \
	VPXORD Z15, Z15, Z15

// T4TAB builds the VPERMPS table tab = iota·s + b of one row from (DI) (scale) and (DI)(R11*1)
// (bias), then steps DI to the next row's entry (R14 bytes).
#define T4TAB(tab) \
	VBROADCASTSS (DI), Z25; \
	VBROADCASTSS (DI)(R11*1), tab; \
	VFMADD231PS  Z24, Z25, tab; \
	ADDQ         R14, DI

#define T4TABS \
	MOVQ R8, DI; \
	T4TAB(Z16); \
	T4TAB(Z17); \
	T4TAB(Z18); \
	T4TAB(Z19)

// I4T4 accumulates one row's 64-code block at mem (32 bytes, broadcast to both halves) times the
// a16PermX4-ordered x of four tokens (DX, DX+R12, DX+2·R12, DX+R13) into a0..a3: each code vector
// is shifted and looked up once and multiplied into all four tokens.
#define I4T4(mem, tab, a0, a1, a2, a3) \
	VBROADCASTI64X4 mem, Z26; \
	VPSRLVD         Z20, Z26, Z27; \
	VPERMPS         tab, Z27, Z28; \
	VFMADD231PS     (DX), Z28, a0; \
	VFMADD231PS     (DX)(R12*1), Z28, a1; \
	VFMADD231PS     (DX)(R12*2), Z28, a2; \
	VFMADD231PS     (DX)(R13*1), Z28, a3; \
	VPSRLVD         Z21, Z26, Z27; \
	VPERMPS         tab, Z27, Z28; \
	VFMADD231PS     64(DX), Z28, a0; \
	VFMADD231PS     64(DX)(R12*1), Z28, a1; \
	VFMADD231PS     64(DX)(R12*2), Z28, a2; \
	VFMADD231PS     64(DX)(R13*1), Z28, a3; \
	VPSRLVD         Z22, Z26, Z27; \
	VPERMPS         tab, Z27, Z28; \
	VFMADD231PS     128(DX), Z28, a0; \
	VFMADD231PS     128(DX)(R12*1), Z28, a1; \
	VFMADD231PS     128(DX)(R12*2), Z28, a2; \
	VFMADD231PS     128(DX)(R13*1), Z28, a3; \
	VPSRLVD         Z23, Z26, Z27; \
	VPERMPS         tab, Z27, Z28; \
	VFMADD231PS     192(DX), Z28, a0; \
	VFMADD231PS     192(DX)(R12*1), Z28, a1; \
	VFMADD231PS     192(DX)(R12*2), Z28, a2; \
	VFMADD231PS     192(DX)(R13*1), Z28, a3

// func a16I4R4T4(p *byte, ldp int, sc *float32, bi *float32, ldg int, gstep int, xp *float32, ldx int, nblk int, pf *byte, out *[16]float32)
// out[4t + r] = Σ_{k<64·nblk} xp_t[k]·(u[r,k]·sc[r·ldg+b/gstep] + bi[r·ldg+b/gstep]) for rows r < 4
// (packed at p + r·ldp) and tokens t < 4 (xp_t = xp + t·ldx, each in a16PermX4's order), b = k/64,
// gstep whole blocks per group (1<<40: one group per row). One shift and one table lookup per 16
// codes serve four tokens (a16I4R8PL: one each). It prefetches 32 bytes per step of each row of
// the next block (rows pf + r·ldp). Reads one (sc, bi) entry past the last group used.
TEXT ·a16I4R4T4(SB), NOSPLIT, $0-88
	MOVQ    p+0(FP), SI
	MOVQ    ldp+8(FP), BX
	MOVQ    sc+16(FP), R8
	MOVQ    bi+24(FP), R11
	SUBQ    R8, R11
	MOVQ    ldg+32(FP), R14
	SHLQ    $2, R14
	MOVQ    gstep+40(FP), CX
	MOVQ    xp+48(FP), DX
	MOVQ    ldx+56(FP), R12
	SHLQ    $2, R12
	LEAQ    (R12)(R12*2), R13
	MOVQ    nblk+64(FP), AX
	MOVQ    pf+72(FP), R9
	LEAQ    (BX)(BX*2), R10
	VMOVUPS a16iota<>(SB), Z24
	VMOVUPS a16shv<>+0(SB), Z20
	VMOVUPS a16shv<>+64(SB), Z21
	VMOVUPS a16shv<>+128(SB), Z22
	VMOVUPS a16shv<>+192(SB), Z23
	T4TABS
	ZERO16

i4r4t4_loop:
	PF4ROWS($32)
	I4T4((SI), Z16, Z0, Z4, Z8, Z12)
	I4T4((SI)(BX*1), Z17, Z1, Z5, Z9, Z13)
	I4T4((SI)(BX*2), Z18, Z2, Z6, Z10, Z14)
	I4T4((SI)(R10*1), Z19, Z3, Z7, Z11, Z15)
	DECQ       CX
	JNZ        i4r4t4_next
	MOVQ       gstep+40(FP), CX
	ADDQ       $4, R8
	T4TABS

i4r4t4_next:
	ADDQ $32, SI
	ADDQ $256, DX
	DECQ AX
	JNZ  i4r4t4_loop

	T4REDUCE
	MOVQ          out+80(FP), DI
	T4STORE
	VZEROUPPER
	RET

// I8T4 accumulates 16 int8 weights at mem times x[k:k+16] of four tokens (DX, DX+R12, DX+2·R12,
// DX+R13) into a0..a3: one sign extension and conversion serve four tokens.
#define I8T4(mem, a0, a1, a2, a3) \
	VPMOVSXBD   mem, Z26; \
	VCVTDQ2PS   Z26, Z26; \
	VFMADD231PS (DX), Z26, a0; \
	VFMADD231PS (DX)(R12*1), Z26, a1; \
	VFMADD231PS (DX)(R12*2), Z26, a2; \
	VFMADD231PS (DX)(R13*1), Z26, a3

// func a16I8R4T4(w *int8, ldw int, x *float32, ldx int, n int, pf *int8, out *[16]float32)
// out[4t + r] = Σ_{k<n} float32(w[r·ldw+k])·x[t·ldx+k] for rows r < 4 and tokens t < 4, n a
// positive multiple of 16; prefetches the rows at pf + r·ldw, 16 bytes of each per step.
TEXT ·a16I8R4T4(SB), NOSPLIT, $0-56
	MOVQ    w+0(FP), SI
	MOVQ    ldw+8(FP), BX
	MOVQ    x+16(FP), DX
	MOVQ    ldx+24(FP), R12
	SHLQ    $2, R12
	LEAQ    (R12)(R12*2), R13
	MOVQ    n+32(FP), AX
	SHRQ    $4, AX
	MOVQ    pf+40(FP), R9
	LEAQ    (BX)(BX*2), R10
	ZERO16

i8r4t4_loop:
	PF4ROWS($16)
	I8T4((SI), Z0, Z4, Z8, Z12)
	I8T4((SI)(BX*1), Z1, Z5, Z9, Z13)
	I8T4((SI)(BX*2), Z2, Z6, Z10, Z14)
	I8T4((SI)(R10*1), Z3, Z7, Z11, Z15)
	ADDQ       $16, SI
	ADDQ       $64, DX
	DECQ       AX
	JNZ        i8r4t4_loop

	T4REDUCE
	MOVQ      out+48(FP), DI
	T4STORE
	VZEROUPPER
	RET

// FP8T4 accumulates 64 fp8 weights at mem times x[k:k+64] of four tokens (DX, DX+R12, DX+2·R12,
// DX+R13) into a0..a3, flagging NaN codes in K2: each decoded vector serves four tokens.
#define FP8T4(mem, a0, a1, a2, a3) \
	FP8NAN(mem, Z20); \
	FP8RAW(mem, Z21); \
	VFMADD231PS (DX), Z21, a0; \
	VFMADD231PS (DX)(R12*1), Z21, a1; \
	VFMADD231PS (DX)(R12*2), Z21, a2; \
	VFMADD231PS (DX)(R13*1), Z21, a3; \
	FP8RAW(16 mem, Z22); \
	VFMADD231PS 64(DX), Z22, a0; \
	VFMADD231PS 64(DX)(R12*1), Z22, a1; \
	VFMADD231PS 64(DX)(R12*2), Z22, a2; \
	VFMADD231PS 64(DX)(R13*1), Z22, a3; \
	FP8RAW(32 mem, Z23); \
	VFMADD231PS 128(DX), Z23, a0; \
	VFMADD231PS 128(DX)(R12*1), Z23, a1; \
	VFMADD231PS 128(DX)(R12*2), Z23, a2; \
	VFMADD231PS 128(DX)(R13*1), Z23, a3; \
	FP8RAW(48 mem, Z21); \
	VFMADD231PS 192(DX), Z21, a0; \
	VFMADD231PS 192(DX)(R12*1), Z21, a1; \
	VFMADD231PS 192(DX)(R12*2), Z21, a2; \
	VFMADD231PS 192(DX)(R13*1), Z21, a3

// func a16FP8R4T4(w *uint8, ldw int, x *float32, ldx int, n int, pf *uint8, out *[16]float32) uint64
// out[4t + r] = Σ_{k<n} (DecodeE4M3(w[r·ldw+k])·2^-120)·x[t·ldx+k] for rows r < 4 and tokens t < 4
// (x scaled by 2^112 as for a16FP8R8L), n a positive multiple of 64; prefetches the rows at
// pf + r·ldw; returns non-zero if a NaN code was met (the sums are then wrong).
TEXT ·a16FP8R4T4(SB), NOSPLIT, $0-64
	FP8CONSTS
	MOVQ    w+0(FP), SI
	MOVQ    ldw+8(FP), BX
	MOVQ    x+16(FP), DX
	MOVQ    ldx+24(FP), R12
	SHLQ    $2, R12
	LEAQ    (R12)(R12*2), R13
	MOVQ    n+32(FP), AX
	SHRQ    $6, AX
	MOVQ    pf+40(FP), R9
	LEAQ    (BX)(BX*2), R10
	ZERO16

fp8r4t4_loop:
	PF4ROWS($64)
	FP8T4((SI), Z0, Z4, Z8, Z12)
	FP8T4((SI)(BX*1), Z1, Z5, Z9, Z13)
	FP8T4((SI)(BX*2), Z2, Z6, Z10, Z14)
	FP8T4((SI)(R10*1), Z3, Z7, Z11, Z15)
	ADDQ       $64, SI
	ADDQ       $256, DX
	DECQ       AX
	JNZ        fp8r4t4_loop

	T4REDUCE
	MOVQ      out+48(FP), DI
	T4STORE
	KMOVQ     K2, AX
	MOVQ      AX, ret+56(FP)
	VZEROUPPER
	RET
