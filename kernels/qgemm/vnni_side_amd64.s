#include "textflag.h"
#include "vnni_amd64.h"

// SIDEOUT finishes one 16-row half of the side-by-side kernels: acc holds Σ u·x (int4 high
// halves 16·Σ u·x, shifted back by the caller);
// dst[off] = float32(acc − corr)·scale[off]·sx.
#define SIDEOUT(acc, off) \
	VPSUBD.BCST 0(BX), acc, acc; \
	SIDESCALE(acc, off)

// SIDESCALE is SIDEOUT without the correction (the grouped kernel subtracts it per group):
// dst[off] = float32(acc)·scale[off]·sx.
#define SIDESCALE(acc, off) \
	VCVTDQ2PS   acc, acc; \
	VMULPS      off(R8), acc, acc; \
	VMULPS.BCST 0(R9), acc, acc; \
	VMOVUPS     acc, off(DI)

// I8X2STEP is one k4 step of vnniI8T1x2 (rows 0–15 and 16–31 of blocks 0 and 1).
#define I8X2STEP(off, xoff, lo0, hi0, lo1, hi1) \
	VPBROADCASTD xoff(SI), Z31; \
	VMOVDQU64    off(AX), Z0; \
	VMOVDQU64    64+off(AX), Z1; \
	VMOVDQU64    off(AX)(R11*1), Z10; \
	VMOVDQU64    64+off(AX)(R11*1), Z11; \
	VPDPBUSD     Z31, Z0, lo0; \
	VPDPBUSD     Z31, Z1, hi0; \
	VPDPBUSD     Z31, Z10, lo1; \
	VPDPBUSD     Z31, Z11, hi1

// func vnniI8T1x2(w *byte, k4 int, x *int8, corr *int32, scale, sx, dst *float32)
// vnniI8T1 for two consecutive full 32-row blocks of one token: block 1's weights start k4·128
// bytes after block 0's, its scales 32 entries and its outputs 32 floats later. Reading the
// blocks side by side gives the hardware prefetchers two sequential streams (in different
// pages) per core instead of one.
TEXT ·vnniI8T1x2(SB), NOSPLIT, $0-56
	MOVQ w+0(FP), AX
	MOVQ k4+8(FP), CX
	MOVQ x+16(FP), SI
	MOVQ corr+24(FP), BX
	MOVQ CX, R11
	SHLQ $7, R11
	ZERO8(Z2, Z3, Z4, Z5, Z6, Z7, Z8, Z9)
	CMPQ CX, $2
	JLT  i8x2_loop1

i8x2_loop2:
	PREFETCHT0 1024(AX)
	PREFETCHT0 1088(AX)
	PREFETCHT0 1152(AX)
	PREFETCHT0 1216(AX)
	PREFETCHT0 1024(AX)(R11*1)
	PREFETCHT0 1088(AX)(R11*1)
	PREFETCHT0 1152(AX)(R11*1)
	PREFETCHT0 1216(AX)(R11*1)
	I8X2STEP(0, 0, Z2, Z4, Z6, Z8)
	I8X2STEP(128, 4, Z3, Z5, Z7, Z9)
	ADDQ $256, AX
	ADDQ $8, SI
	SUBQ $2, CX
	CMPQ CX, $2
	JGE  i8x2_loop2

i8x2_loop1:
	TESTQ CX, CX
	JZ    i8x2_done
	I8X2STEP(0, 0, Z2, Z4, Z6, Z8)

i8x2_done:
	VPADDD Z3, Z2, Z2
	VPADDD Z5, Z4, Z4
	VPADDD Z7, Z6, Z6
	VPADDD Z9, Z8, Z8
	MOVQ   scale+32(FP), R8
	MOVQ   sx+40(FP), R9
	MOVQ   dst+48(FP), DI
	SIDEOUT(Z2, 0)
	SIDEOUT(Z4, 64)
	SIDEOUT(Z6, 128)
	SIDEOUT(Z8, 192)
	VZEROUPPER
	RET

// I4X1BLK is one block's share of I4X4STEP: the 64 weight bytes at mem (in t), their high
// nibbles in place (u), the two VPDPBUSDs with the broadcast x quad Z31 into a (whole bytes) and
// b (high nibbles).
#define I4X1BLK(mem, t, u, a, b) \
	VMOVDQU64 mem, t; \
	VPANDND   t, Z30, u; \
	VPDPBUSD  Z31, t, a; \
	VPDPBUSD  Z31, u, b

// I4X4STEP is one k4 step of vnniI4T1x4 and vnniI4GT1x4: blocks 0..3 at AX, AX+R11, AX+2·R11,
// AX+R12 (3·R11), weight temporaries (t2j, t2j+1) for block j (the grouped kernel reuses four),
// accumulators of block j in a(2j) (whole bytes: Σ (u_lo + 16·u_hi)·x) and a(2j+1) (high
// nibbles in place: 16·Σ u_hi·x). Rows 0–15 are the difference of the two, so each 64-byte
// vector costs one mask and two VPDPBUSDs on ports 0/5 (masking both halves cost 33% more
// there, and memory-operand masks loaded each vector twice).
#define I4X4STEP(off, xoff, t0, t1, t2, t3, t4, t5, t6, t7, a0, a1, a2, a3, a4, a5, a6, a7) \
	VPBROADCASTD xoff(SI), Z31; \
	I4X1BLK(off(AX), t0, t1, a0, a1); \
	I4X1BLK(off(AX)(R11*1), t2, t3, a2, a3); \
	I4X1BLK(off(AX)(R11*2), t4, t5, a4, a5); \
	I4X1BLK(off(AX)(R12*1), t6, t7, a6, a7)

// PF4X2 prefetches the weights of both I4X4STEPs 1 KiB ahead in each of the four blocks.
#define PF4X2 \
	PREFETCHT0 1024(AX); \
	PREFETCHT0 1088(AX); \
	PREFETCHT0 1024(AX)(R11*1); \
	PREFETCHT0 1088(AX)(R11*1); \
	PREFETCHT0 1024(AX)(R11*2); \
	PREFETCHT0 1088(AX)(R11*2); \
	PREFETCHT0 1024(AX)(R12*1); \
	PREFETCHT0 1088(AX)(R12*1)

// NIBBLES turns a (whole bytes, high nibbles ×16) accumulator pair into (Σ u_lo·x, Σ u_hi·x).
#define NIBBLES(lo, hi) \
	VPSUBD hi, lo, lo; \
	VPSRAD $4, hi, hi

// func vnniI4T1x4(w *byte, k4 int, x *int8, corr *int32, scale, sx, dst *float32)
// vnniI4T1 for four consecutive full 32-row blocks of one token (block j's weights k4·64·j bytes
// after block 0's, its scales 32j entries and its outputs 32j floats later): four sequential
// streams per core instead of one, as vnniI8T1x2.
TEXT ·vnniI4T1x4(SB), NOSPLIT, $0-56
	MOVQ w+0(FP), AX
	MOVQ k4+8(FP), CX
	MOVQ x+16(FP), SI
	MOVQ corr+24(FP), BX
	MOVQ CX, R11
	SHLQ $6, R11
	LEAQ (R11)(R11*2), R12
	MOVL $0x0F0F0F0F, R10
	VPBROADCASTD R10, Z30
	ZERO8(Z2, Z3, Z4, Z5, Z6, Z7, Z8, Z9)
	ZERO8(Z16, Z17, Z18, Z19, Z20, Z21, Z22, Z23)
	CMPQ CX, $2
	JLT  x4_loop1

x4_loop2:
	PF4X2
	I4X4STEP(0, 0, Z0, Z1, Z10, Z11, Z12, Z13, Z14, Z15, Z2, Z3, Z4, Z5, Z6, Z7, Z8, Z9)
	I4X4STEP(64, 4, Z0, Z1, Z10, Z11, Z12, Z13, Z14, Z15, Z16, Z17, Z18, Z19, Z20, Z21, Z22, Z23)
	ADDQ $128, AX
	ADDQ $8, SI
	SUBQ $2, CX
	CMPQ CX, $2
	JGE  x4_loop2

x4_loop1:
	TESTQ CX, CX
	JZ    x4_done
	I4X4STEP(0, 0, Z0, Z1, Z10, Z11, Z12, Z13, Z14, Z15, Z2, Z3, Z4, Z5, Z6, Z7, Z8, Z9)

x4_done:
	VPADDD Z16, Z2, Z2
	VPADDD Z17, Z3, Z3
	VPADDD Z18, Z4, Z4
	VPADDD Z19, Z5, Z5
	VPADDD Z20, Z6, Z6
	VPADDD Z21, Z7, Z7
	VPADDD Z22, Z8, Z8
	VPADDD Z23, Z9, Z9
	NIBBLES(Z2, Z3)
	NIBBLES(Z4, Z5)
	NIBBLES(Z6, Z7)
	NIBBLES(Z8, Z9)
	MOVQ   scale+32(FP), R8
	MOVQ   sx+40(FP), R9
	MOVQ   dst+48(FP), DI
	SIDEOUT(Z2, 0)
	SIDEOUT(Z3, 64)
	SIDEOUT(Z4, 128)
	SIDEOUT(Z5, 192)
	SIDEOUT(Z6, 256)
	SIDEOUT(Z7, 320)
	SIDEOUT(Z8, 384)
	SIDEOUT(Z9, 448)
	VZEROUPPER
	RET

// GFOLD folds one block at the end of a group: adds the second accumulator set (lo2, hi2),
// splits the nibbles, then tot += gs·(Σ u·x − corr[g]) for each 16-row half, gs the block's
// 32 int8 group scales at gsmem, widened into Z0 and Z1 (weight temporaries, free here).
#define GFOLD(lo, hi, lo2, hi2, gsmem, tlo, thi) \
	VPADDD      lo2, lo, lo; \
	VPADDD      hi2, hi, hi; \
	NIBBLES(lo, hi); \
	VPSUBD.BCST 0(BX), lo, lo; \
	VPSUBD.BCST 0(BX), hi, hi; \
	VPMOVSXBD   gsmem, Z0; \
	VPMOVSXBD   16+gsmem, Z1; \
	VPMULLD     Z0, lo, lo; \
	VPMULLD     Z1, hi, hi; \
	VPADDD      lo, tlo, tlo; \
	VPADDD      hi, thi, thi

// func vnniI4GT1x4(w *byte, k4, gk4 int, x *int8, corr *int32, gs *int8, ngs int, scale, sx, dst *float32)
// vnniI4GT1 (grouped int4: gk4 k4 steps per group, integer group scales) for four consecutive
// full 32-row blocks of one token, side by side as vnniI4T1x4. Block j's group scales start
// ngs·32·j entries after block 0's (ngs = groups per block); corr holds one entry per group.
// The group totals stay in registers (Z12–Z15, Z24–Z27).
TEXT ·vnniI4GT1x4(SB), NOSPLIT, $0-80
	MOVQ w+0(FP), AX
	MOVQ k4+8(FP), CX
	MOVQ x+24(FP), SI
	MOVQ corr+32(FP), BX
	MOVQ gs+40(FP), R13
	MOVQ ngs+48(FP), R14
	SHLQ $5, R14
	LEAQ (R13)(R14*2), DI
	MOVQ CX, R11
	SHLQ $6, R11
	LEAQ (R11)(R11*2), R12
	MOVL $0x0F0F0F0F, R10
	VPBROADCASTD R10, Z30
	ZERO8(Z12, Z13, Z14, Z15, Z24, Z25, Z26, Z27)
	TESTQ CX, CX
	JZ    gx4_fin

gx4_group:
	ZERO8(Z2, Z3, Z4, Z5, Z6, Z7, Z8, Z9)
	ZERO8(Z16, Z17, Z18, Z19, Z20, Z21, Z22, Z23)
	MOVQ    gk4+16(FP), DX
	CMPQ    CX, DX
	CMOVQLT CX, DX
	SUBQ    DX, CX
	CMPQ    DX, $2
	JLT     gx4_loop1

gx4_loop2:
	PF4X2
	I4X4STEP(0, 0, Z0, Z1, Z10, Z11, Z0, Z1, Z10, Z11, Z2, Z3, Z4, Z5, Z6, Z7, Z8, Z9)
	I4X4STEP(64, 4, Z0, Z1, Z10, Z11, Z0, Z1, Z10, Z11, Z16, Z17, Z18, Z19, Z20, Z21, Z22, Z23)
	ADDQ $128, AX
	ADDQ $8, SI
	SUBQ $2, DX
	CMPQ DX, $2
	JGE  gx4_loop2

gx4_loop1:
	TESTQ DX, DX
	JZ    gx4_fold
	I4X4STEP(0, 0, Z0, Z1, Z10, Z11, Z0, Z1, Z10, Z11, Z2, Z3, Z4, Z5, Z6, Z7, Z8, Z9)
	ADDQ  $64, AX
	ADDQ  $4, SI

gx4_fold:
	GFOLD(Z2, Z3, Z16, Z17, 0(R13), Z12, Z13)
	GFOLD(Z4, Z5, Z18, Z19, 0(R13)(R14*1), Z14, Z15)
	GFOLD(Z6, Z7, Z20, Z21, 0(DI), Z24, Z25)
	GFOLD(Z8, Z9, Z22, Z23, 0(DI)(R14*1), Z26, Z27)
	ADDQ  $4, BX
	ADDQ  $32, R13
	ADDQ  $32, DI
	TESTQ CX, CX
	JNZ   gx4_group

gx4_fin:
	MOVQ scale+56(FP), R8
	MOVQ sx+64(FP), R9
	MOVQ dst+72(FP), DI
	SIDESCALE(Z12, 0)
	SIDESCALE(Z13, 64)
	SIDESCALE(Z14, 128)
	SIDESCALE(Z15, 192)
	SIDESCALE(Z24, 256)
	SIDESCALE(Z25, 320)
	SIDESCALE(Z26, 384)
	SIDESCALE(Z27, 448)
	VZEROUPPER
	RET
