#include "textflag.h"

// I4X2STEP is one k4 step of vnniI4T1x2 for unroll set u (accumulators lo0, hi0 of block 0 and
// lo1, hi1 of block 1) at weight offset off and activation offset xoff.
#define I4X2STEP(off, xoff, lo0, hi0, lo1, hi1) \
	VPBROADCASTD xoff(SI), Z31; \
	VPANDD       off(AX), Z30, Z0; \
	VPANDND      off(AX), Z30, Z1; \
	VPANDD       off(AX)(R11*1), Z30, Z10; \
	VPANDND      off(AX)(R11*1), Z30, Z11; \
	VPDPBUSD     Z31, Z0, lo0; \
	VPDPBUSD     Z31, Z1, hi0; \
	VPDPBUSD     Z31, Z10, lo1; \
	VPDPBUSD     Z31, Z11, hi1

// I4X2OUT finishes one 16-row half: acc holds Σ u·x (or 16·Σ u·x, shifted back by the caller);
// dst[off] = float32(acc − corr)·scale[off]·sx.
#define I4X2OUT(acc, off) \
	VPSUBD.BCST 0(BX), acc, acc; \
	VCVTDQ2PS   acc, acc; \
	VMULPS      off(R8), acc, acc; \
	VMULPS.BCST 0(R9), acc, acc; \
	VMOVUPS     acc, off(DI)

// func vnniI4T1x2(w *byte, k4 int, x *int8, corr *int32, scale, sx, dst *float32)
// vnniI4T1 for two consecutive full 32-row blocks of one token: block 1's weights start k4·64
// bytes after block 0's, its scales 32 entries and its outputs 32 floats later. Reading the two
// blocks side by side gives the hardware prefetchers two sequential streams (in different
// pages) per core instead of one.
TEXT ·vnniI4T1x2(SB), NOSPLIT, $0-56
	MOVQ w+0(FP), AX
	MOVQ k4+8(FP), CX
	MOVQ x+16(FP), SI
	MOVQ corr+24(FP), BX
	MOVQ CX, R11
	SHLQ $6, R11
	MOVL $0x0F0F0F0F, R10
	VPBROADCASTD R10, Z30
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9
	CMPQ CX, $2
	JLT  x2_loop1

x2_loop2:
	PREFETCHT0 1024(AX)
	PREFETCHT0 1088(AX)
	PREFETCHT0 1024(AX)(R11*1)
	PREFETCHT0 1088(AX)(R11*1)
	I4X2STEP(0, 0, Z2, Z4, Z6, Z8)
	I4X2STEP(64, 4, Z3, Z5, Z7, Z9)
	ADDQ $128, AX
	ADDQ $8, SI
	SUBQ $2, CX
	CMPQ CX, $2
	JGE  x2_loop2

x2_loop1:
	TESTQ CX, CX
	JZ    x2_done
	I4X2STEP(0, 0, Z2, Z4, Z6, Z8)

x2_done:
	VPADDD Z3, Z2, Z2
	VPADDD Z5, Z4, Z4
	VPADDD Z7, Z6, Z6
	VPADDD Z9, Z8, Z8
	VPSRAD $4, Z4, Z4
	VPSRAD $4, Z8, Z8
	MOVQ   scale+32(FP), R8
	MOVQ   sx+40(FP), R9
	MOVQ   dst+48(FP), DI
	I4X2OUT(Z2, 0)
	I4X2OUT(Z4, 64)
	I4X2OUT(Z6, 128)
	I4X2OUT(Z8, 192)
	VZEROUPPER
	RET
