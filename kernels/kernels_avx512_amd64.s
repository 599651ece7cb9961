//go:build !noasm

#include "textflag.h"

// Index for VPERMPS at the end of REDUCE8: picks lane elements 0,4,8,12,2,6,10,14.
DATA reduceidx<>+0(SB)/4, $0
DATA reduceidx<>+4(SB)/4, $4
DATA reduceidx<>+8(SB)/4, $8
DATA reduceidx<>+12(SB)/4, $12
DATA reduceidx<>+16(SB)/4, $2
DATA reduceidx<>+20(SB)/4, $6
DATA reduceidx<>+24(SB)/4, $10
DATA reduceidx<>+28(SB)/4, $14
DATA reduceidx<>+32(SB)/4, $0
DATA reduceidx<>+36(SB)/4, $0
DATA reduceidx<>+40(SB)/4, $0
DATA reduceidx<>+44(SB)/4, $0
DATA reduceidx<>+48(SB)/4, $0
DATA reduceidx<>+52(SB)/4, $0
DATA reduceidx<>+56(SB)/4, $0
DATA reduceidx<>+60(SB)/4, $0
GLOBL reduceidx<>(SB), RODATA|NOPTR, $64

// REDUCE8 sums each of the eight 16-lane accumulators a0..a7 and leaves the eight sums, in order, in the
// low 256 bits of a0. It clobbers a1..a7, Z28 and Z29, and needs reduceidx in Z30.
//   1. fold 512→256 bits pairwise: a0 = [a0.lo+a0.hi | a1.lo+a1.hi], likewise a2, a4, a6
//   2. fold 256→128 bits: a0 = [a0 | a1 | a2 | a3] (one 128-bit lane each), a4 = [a4 | a5 | a6 | a7]
//   3. within lanes: VSHUFPS pairs and adds leave lane i = [sum(a_i), sum(a_i), sum(a_4+i), sum(a_4+i)]
//   4. VPERMPS gathers elements 0,4,8,12,2,6,10,14.
#define REDUCE8(a0, a1, a2, a3, a4, a5, a6, a7) \
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

// FMA3 multiplies one 16-float piece of a weight row (mem) by the three token pieces Z24..Z26.
#define FMA3(mem, c0, c1, c2) \
	VMOVUPS     mem, Z27; \
	VFMADD231PS Z24, Z27, c0; \
	VFMADD231PS Z25, Z27, c1; \
	VFMADD231PS Z26, Z27, c2

// func gemm8x3AVX512(dst *float32, ldd int, w *float32, ldw int, x *float32, ldx int, k int, acc bool)
// Accumulator of token t, row r: Z(8t+r). Weight rows: SI, SI+BX, SI+2BX, SI+3BX (R10 = 3BX), R9 = SI+4BX...
TEXT ·gemm8x3AVX512(SB), NOSPLIT, $0-57
	MOVQ dst+0(FP), DI
	MOVQ ldd+8(FP), R8
	SHLQ $2, R8
	MOVQ w+16(FP), SI
	MOVQ ldw+24(FP), BX
	SHLQ $2, BX
	MOVQ x+32(FP), DX
	MOVQ ldx+40(FP), CX
	SHLQ $2, CX
	MOVQ k+48(FP), AX
	SHRQ $4, AX
	LEAQ (BX)(BX*2), R10
	LEAQ (SI)(BX*4), R9

	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11
	VPXORD Z12, Z12, Z12
	VPXORD Z13, Z13, Z13
	VPXORD Z14, Z14, Z14
	VPXORD Z15, Z15, Z15
	VPXORD Z16, Z16, Z16
	VPXORD Z17, Z17, Z17
	VPXORD Z18, Z18, Z18
	VPXORD Z19, Z19, Z19
	VPXORD Z20, Z20, Z20
	VPXORD Z21, Z21, Z21
	VPXORD Z22, Z22, Z22
	VPXORD Z23, Z23, Z23

gemm8x3_loop:
	VMOVUPS (DX), Z24
	VMOVUPS (DX)(CX*1), Z25
	VMOVUPS (DX)(CX*2), Z26
	FMA3((SI), Z0, Z8, Z16)
	FMA3((SI)(BX*1), Z1, Z9, Z17)
	FMA3((SI)(BX*2), Z2, Z10, Z18)
	FMA3((SI)(R10*1), Z3, Z11, Z19)
	FMA3((R9), Z4, Z12, Z20)
	FMA3((R9)(BX*1), Z5, Z13, Z21)
	FMA3((R9)(BX*2), Z6, Z14, Z22)
	FMA3((R9)(R10*1), Z7, Z15, Z23)
	ADDQ $64, SI
	ADDQ $64, R9
	ADDQ $64, DX
	DECQ AX
	JNZ  gemm8x3_loop

	VMOVDQU32 reduceidx<>(SB), Z30
	REDUCE8(Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7)
	REDUCE8(Z8, Z9, Z10, Z11, Z12, Z13, Z14, Z15)
	REDUCE8(Z16, Z17, Z18, Z19, Z20, Z21, Z22, Z23)

	CMPB acc+56(FP), $0
	JEQ  gemm8x3_store
	VADDPS (DI), Y0, Y0
	VADDPS (DI)(R8*1), Y8, Y8
	VADDPS (DI)(R8*2), Y16, Y16

gemm8x3_store:
	VMOVUPS Y0, (DI)
	VMOVUPS Y8, (DI)(R8*1)
	VMOVUPS Y16, (DI)(R8*2)
	VZEROUPPER
	RET

// func gemv8AVX512(dst *float32, w *float32, ldw int, x *float32, k int, acc bool)
TEXT ·gemv8AVX512(SB), NOSPLIT, $0-41
	MOVQ dst+0(FP), DI
	MOVQ w+8(FP), SI
	MOVQ ldw+16(FP), BX
	SHLQ $2, BX
	MOVQ x+24(FP), DX
	MOVQ k+32(FP), AX
	SHRQ $4, AX
	LEAQ (BX)(BX*2), R10
	LEAQ (SI)(BX*4), R9

	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7

gemv8_loop:
	VMOVUPS     (DX), Z24
	VFMADD231PS (SI), Z24, Z0
	VFMADD231PS (SI)(BX*1), Z24, Z1
	VFMADD231PS (SI)(BX*2), Z24, Z2
	VFMADD231PS (SI)(R10*1), Z24, Z3
	VFMADD231PS (R9), Z24, Z4
	VFMADD231PS (R9)(BX*1), Z24, Z5
	VFMADD231PS (R9)(BX*2), Z24, Z6
	VFMADD231PS (R9)(R10*1), Z24, Z7
	ADDQ        $64, SI
	ADDQ        $64, R9
	ADDQ        $64, DX
	DECQ        AX
	JNZ         gemv8_loop

	VMOVDQU32 reduceidx<>(SB), Z30
	REDUCE8(Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7)
	CMPB      acc+40(FP), $0
	JEQ       gemv8_store
	VADDPS    (DI), Y0, Y0

gemv8_store:
	VMOVUPS Y0, (DI)
	VZEROUPPER
	RET

// BF16ROW widens 16 bfloat16 weights at mem to float32 in tmp and accumulates tmp·Z24 into c.
#define BF16ROW(mem, tmp, c) \
	VPMOVZXWD   mem, tmp; \
	VPSLLD      $16, tmp, tmp; \
	VFMADD231PS Z24, tmp, c

// func gemvBF16x8AVX512(dst *float32, w *uint16, ldw int, x *float32, k int, acc bool, pfd int)
TEXT ·gemvBF16x8AVX512(SB), NOSPLIT, $0-56
	MOVQ dst+0(FP), DI
	MOVQ w+8(FP), SI
	MOVQ ldw+16(FP), BX
	SHLQ $1, BX
	MOVQ x+24(FP), DX
	MOVQ k+32(FP), AX
	SHRQ $4, AX
	LEAQ (BX)(BX*2), R10
	LEAQ (SI)(BX*4), R9

	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7

	MOVQ SI, R11 // rows pfd bytes ahead: prefetched while these stream
	ADDQ pfd+48(FP), R11
	LEAQ (R11)(BX*4), R12

gemvbf16_loop:
	PREFETCHT0 (R11)
	PREFETCHT0 (R11)(BX*1)
	PREFETCHT0 (R11)(BX*2)
	PREFETCHT0 (R11)(R10*1)
	PREFETCHT0 (R12)
	PREFETCHT0 (R12)(BX*1)
	PREFETCHT0 (R12)(BX*2)
	PREFETCHT0 (R12)(R10*1)
	VMOVUPS (DX), Z24
	BF16ROW((SI), Z16, Z0)
	BF16ROW((SI)(BX*1), Z17, Z1)
	BF16ROW((SI)(BX*2), Z18, Z2)
	BF16ROW((SI)(R10*1), Z19, Z3)
	BF16ROW((R9), Z20, Z4)
	BF16ROW((R9)(BX*1), Z21, Z5)
	BF16ROW((R9)(BX*2), Z22, Z6)
	BF16ROW((R9)(R10*1), Z23, Z7)
	ADDQ $32, SI
	ADDQ $32, R9
	ADDQ $32, R11
	ADDQ $32, R12
	ADDQ $64, DX
	DECQ AX
	JNZ  gemvbf16_loop

	VMOVDQU32 reduceidx<>(SB), Z30
	REDUCE8(Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7)
	CMPB      acc+40(FP), $0
	JEQ       gemvbf16_store
	VADDPS    (DI), Y0, Y0

gemvbf16_store:
	VMOVUPS Y0, (DI)
	VZEROUPPER
	RET

// func dotAVX512(x, y *float32, n int) float32
TEXT ·dotAVX512(SB), NOSPLIT, $0-28
	MOVQ   x+0(FP), SI
	MOVQ   y+8(FP), DI
	MOVQ   n+16(FP), CX
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3

dot512_loop64:
	CMPQ        CX, $64
	JLT         dot512_loop16
	VMOVUPS     (SI), Z4
	VMOVUPS     64(SI), Z5
	VMOVUPS     128(SI), Z6
	VMOVUPS     192(SI), Z7
	VFMADD231PS (DI), Z4, Z0
	VFMADD231PS 64(DI), Z5, Z1
	VFMADD231PS 128(DI), Z6, Z2
	VFMADD231PS 192(DI), Z7, Z3
	ADDQ        $256, SI
	ADDQ        $256, DI
	SUBQ        $64, CX
	JMP         dot512_loop64

dot512_loop16:
	TESTQ       CX, CX
	JEQ         dot512_done
	VMOVUPS     (SI), Z4
	VFMADD231PS (DI), Z4, Z0
	ADDQ        $64, SI
	ADDQ        $64, DI
	SUBQ        $16, CX
	JMP         dot512_loop16

dot512_done:
	VADDPS       Z1, Z0, Z0
	VADDPS       Z3, Z2, Z2
	VADDPS       Z2, Z0, Z0
	VSHUFF32X4   $0xEE, Z0, Z0, Z1
	VADDPS       Z1, Z0, Z0
	VEXTRACTF128 $1, Y0, X1
	VADDPS       X1, X0, X0
	VMOVHLPS     X0, X0, X1
	VADDPS       X1, X0, X0
	VMOVSHDUP    X0, X1
	VADDSS       X1, X0, X0
	VZEROUPPER
	MOVSS        X0, ret+24(FP)
	RET

// func axpyAVX512(a float32, x, y *float32, n int)
TEXT ·axpyAVX512(SB), NOSPLIT, $0-32
	VBROADCASTSS a+0(FP), Z31
	MOVQ         x+8(FP), SI
	MOVQ         y+16(FP), DI
	MOVQ         n+24(FP), CX

axpy512_loop64:
	CMPQ        CX, $64
	JLT         axpy512_loop16
	VMOVUPS     (SI), Z0
	VMOVUPS     64(SI), Z1
	VMOVUPS     128(SI), Z2
	VMOVUPS     192(SI), Z3
	VFMADD213PS (DI), Z31, Z0
	VFMADD213PS 64(DI), Z31, Z1
	VFMADD213PS 128(DI), Z31, Z2
	VFMADD213PS 192(DI), Z31, Z3
	VMOVUPS     Z0, (DI)
	VMOVUPS     Z1, 64(DI)
	VMOVUPS     Z2, 128(DI)
	VMOVUPS     Z3, 192(DI)
	ADDQ        $256, SI
	ADDQ        $256, DI
	SUBQ        $64, CX
	JMP         axpy512_loop64

axpy512_loop16:
	TESTQ       CX, CX
	JEQ         axpy512_done
	VMOVUPS     (SI), Z0
	VFMADD213PS (DI), Z31, Z0
	VMOVUPS     Z0, (DI)
	ADDQ        $64, SI
	ADDQ        $64, DI
	SUBQ        $16, CX
	JMP         axpy512_loop16

axpy512_done:
	VZEROUPPER
	RET

// func bf16ToF32AVX512(dst *float32, src *uint16, n int)
TEXT ·bf16ToF32AVX512(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	SHRQ $4, CX

bf16to32_loop:
	VPMOVZXWD (SI), Z0
	VPSLLD    $16, Z0, Z0
	VMOVUPS   Z0, (DI)
	ADDQ      $32, SI
	ADDQ      $64, DI
	DECQ      CX
	JNZ       bf16to32_loop
	VZEROUPPER
	RET

// func f32ToBF16AVX512(dst *uint16, src *float32, n int)
// Round to nearest even as torch: (b + 0x7FFF + ((b >> 16) & 1)) >> 16; NaN lanes become 0x7FC0.
TEXT ·f32ToBF16AVX512(SB), NOSPLIT, $0-24
	MOVQ         dst+0(FP), DI
	MOVQ         src+8(FP), SI
	MOVQ         n+16(FP), CX
	SHRQ         $4, CX
	MOVL         $1, AX
	VPBROADCASTD AX, Z29
	MOVL         $0x7FFF, AX
	VPBROADCASTD AX, Z30
	MOVL         $0x7FC0, AX
	VPBROADCASTD AX, Z31

f32to16_loop:
	VMOVUPS   (SI), Z0
	VPSRLD    $16, Z0, Z1
	VPANDD    Z29, Z1, Z1
	VPADDD    Z30, Z1, Z1
	VPADDD    Z0, Z1, Z1
	VPSRLD    $16, Z1, Z1
	VCMPPS    $3, Z0, Z0, K1
	VMOVDQA32 Z31, K1, Z1
	VPMOVDW   Z1, (DI)
	ADDQ      $64, SI
	ADDQ      $32, DI
	DECQ      CX
	JNZ       f32to16_loop
	VZEROUPPER
	RET
