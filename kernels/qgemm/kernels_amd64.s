// The AVX2 int8 kernel for CPUs without AVX-512 VNNI (the VNNI kernels are generated into
// vnni_amd64.s by vnni_gen.go; the f32-activation kernels are in a16_amd64.s). It works on nblk
// full blocks of 64 weights of a row; the Go caller adds the tail (cols mod 64) and the scales.

#include "textflag.h"

#define AVX2ROW(OFF, R, ACC) \
	VPMOVSXBW OFF(R), Y5 \
	VPMADDWD  Y5, Y4, Y5 \
	VPADDD    Y5, ACC, ACC

#define AVX2STEP(OFF) \
	VPMOVZXBW OFF(DI), Y4 \
	AVX2ROW(OFF, SI, Y0)  \
	AVX2ROW(OFF, R8, Y1)  \
	AVX2ROW(OFF, R9, Y2)  \
	AVX2ROW(OFF, R10, Y3)

#define AVX2HSTORE(Y, X, OFF) \
	VEXTRACTI128 $1, Y, X6 \
	VPADDD       X6, X, X \
	VPSHUFD      $0x4E, X, X6 \
	VPADDD       X6, X, X \
	VPSHUFD      $0xB1, X, X6 \
	VPADDD       X6, X, X \
	VMOVD        X, OFF(DX)

// ---------------------------------------------------------------------------------------------
// W8A8 on CPUs without VNNI (the VNNI kernels are generated into vnni_amd64.s): widen to int16
// (x+128 zero-extended, w sign-extended) and VPMADDWD into int32 pairs; exact because
// |(x+128)·w| ≤ 255·128 and a pair sum fits int32.

// func avx2R4T1(w *int8, wstride int, x *uint8, nblk int, out *[4]int32)
TEXT ·avx2R4T1(SB), NOSPLIT, $0-40
	MOVQ w+0(FP), SI
	MOVQ wstride+8(FP), BX
	MOVQ x+16(FP), DI
	MOVQ nblk+24(FP), CX
	MOVQ out+32(FP), DX
	LEAQ (SI)(BX*1), R8
	LEAQ (SI)(BX*2), R9
	LEAQ (R8)(BX*2), R10
	VPXOR Y0, Y0, Y0
	VPXOR Y1, Y1, Y1
	VPXOR Y2, Y2, Y2
	VPXOR Y3, Y3, Y3
	TESTQ CX, CX
	JZ    a2done

a2loop:
	AVX2STEP(0)
	AVX2STEP(16)
	AVX2STEP(32)
	AVX2STEP(48)
	ADDQ $64, DI
	ADDQ $64, SI
	ADDQ $64, R8
	ADDQ $64, R9
	ADDQ $64, R10
	DECQ CX
	JNZ  a2loop

a2done:
	AVX2HSTORE(Y0, X0, 0)
	AVX2HSTORE(Y1, X1, 4)
	AVX2HSTORE(Y2, X2, 8)
	AVX2HSTORE(Y3, X3, 12)
	VZEROUPPER
	RET
