#include "textflag.h"
#include "vnni_amd64.h"

// W4A16 on VNNI (a16vnni.go): activations as three signed digit bytes, 4-bit codes from the
// VNNI panels.

// DIGIT takes the low byte of the dword lanes of x as a signed digit: it stores the digits (16
// bytes, masked by K1) at mem, adds them to sum and leaves (x − digit) >> 8 in x.
#define DIGIT(x, t, sum, mem) \
	VPSLLD  $24, x, t; \
	VPSRAD  $24, t, t; \
	VPADDD  t, sum, sum; \
	VPMOVDB x, K1, mem; \
	VPSUBD  t, x, x; \
	VPSRAD  $8, x, x

// HSUMD stores the sum of the 16 dword lanes of z (clobbering z, Z0) at mem.
#define HSUMD(z, y, mem) \
	VEXTRACTI64X4 $1, z, Y0; \
	VPADDD        Y0, y, Y0; \
	VEXTRACTI128  $1, Y0, X1; \
	VPADDD        X1, X0, X0; \
	VPSHUFD       $0x4E, X0, X1; \
	VPADDD        X1, X0, X0; \
	VPSHUFD       $0xB1, X0, X1; \
	VPADDD        X1, X0, X0; \
	VMOVD         X0, mem

// func a16Digits(x *float32, n int, inv float32, d *int8, dstride int, sums *int32)
// X = clamp(round(x·inv), ±8355711) for n floats, as three signed digits X = d0 + 256·d1 +
// 65536·d2 (d ∈ [−128, 127]) at d, d+dstride, d+2·dstride; sums[p] = Σ dp. Rounding is VCVTPS2DQ's
// (to nearest even, the MXCSR default Go runs with). n ≥ 0; bytes past n are not written.
TEXT ·a16Digits(SB), NOSPLIT, $0-48
	MOVQ         x+0(FP), AX
	MOVQ         n+8(FP), CX
	VBROADCASTSS inv+16(FP), Z28
	MOVQ         d+24(FP), DI
	MOVQ         dstride+32(FP), BX
	MOVL         $8355711, R8
	VPBROADCASTD R8, Z27
	NEGL         R8
	VPBROADCASTD R8, Z26
	VPXORD       Z20, Z20, Z20
	VPXORD       Z21, Z21, Z21
	VPXORD       Z22, Z22, Z22

dig_loop:
	TESTQ CX, CX
	JLE   dig_done
	MOVQ  $-1, R9
	CMPQ  CX, $16
	JGE   dig_full
	MOVQ  $1, R9
	SHLQ  CX, R9
	DECQ  R9

dig_full:
	KMOVW      R9, K1
	VMOVUPS.Z  (AX), K1, Z2
	VMULPS     Z28, Z2, Z2
	VCVTPS2DQ  Z2, Z2
	VPMINSD    Z27, Z2, Z2
	VPMAXSD    Z26, Z2, Z2
	DIGIT(Z2, Z3, Z20, (DI))
	DIGIT(Z2, Z3, Z21, (DI)(BX*1))
	VPADDD     Z2, Z22, Z22
	VPMOVDB    Z2, K1, (DI)(BX*2)
	ADDQ       $64, AX
	ADDQ       $16, DI
	SUBQ       $16, CX
	JMP        dig_loop

dig_done:
	MOVQ sums+40(FP), R8
	HSUMD(Z20, Y20, 0(R8))
	HSUMD(Z21, Y21, 4(R8))
	HSUMD(Z22, Y22, 8(R8))
	VZEROUPPER
	RET

// V4BLK is one block's share of V4STEP: the 64 weight bytes at mem in t (whole bytes
// u_lo + 16·u_hi), their high nibbles in place in u, and VPDPBUSD of both against the three
// digit quads at xoff(SI), xoff(SI)(R13), xoff(SI)(R13·2) into (w0, h0), (w1, h1), (w2, h2).
#define V4BLK(mem, xoff, t, u, w0, h0, w1, h1, w2, h2) \
	VMOVDQU64         mem, t; \
	VPANDND           t, Z30, u; \
	VPDPBUSD.BCST     xoff(SI), t, w0; \
	VPDPBUSD.BCST     xoff(SI), u, h0; \
	VPDPBUSD.BCST     xoff(SI)(R13*1), t, w1; \
	VPDPBUSD.BCST     xoff(SI)(R13*1), u, h1; \
	VPDPBUSD.BCST     xoff(SI)(R13*2), t, w2; \
	VPDPBUSD.BCST     xoff(SI)(R13*2), u, h2

// V4STEP is one k4 step (4 columns × 32 rows) of blocks A (at AX) and B (at AX+R11).
#define V4STEP(off, xoff) \
	V4BLK(off(AX), xoff, Z16, Z17, Z0, Z1, Z2, Z3, Z4, Z5); \
	V4BLK(off(AX)(R11*1), xoff, Z18, Z19, Z6, Z7, Z8, Z9, Z10, Z11)

// V4CORR turns the (whole bytes, high nibbles ×16) pair (w, h) of digit p into rows 0–15 and
// 16–31 of Σ (u − z)·dp: z (per row) in Z24 / Z25, Σ dp over the group at off(BX).
#define V4CORR(w, h, off) \
	VPSUBD       h, w, w; \
	VPSRAD       $4, h, h; \
	VPMULLD.BCST off(BX), Z24, Z26; \
	VPSUBD       Z26, w, w; \
	VPMULLD.BCST off(BX), Z25, Z27; \
	VPSUBD       Z27, h, h; \
	VCVTDQ2PS    w, w; \
	VCVTDQ2PS    h, h

// V4COMB ends a group for one block's integer sums: zero codes of rows 0–15 / 16–31 at zlo /
// zhi (int32) off, then each half's three digit sums combined in f32 as 256·(256·D2 + D1) + D0
// (Z29 = 256), left in w2 (rows 0–15) and h2 (rows 16–31) for the caller to scale by the
// group's scales into the row totals.
#define V4COMB(zlo, zhi, w0, h0, w1, h1, w2, h2) \
	VMOVDQU32   zlo, Z24; \
	VMOVDQU32   zhi, Z25; \
	V4CORR(w0, h0, 0); \
	V4CORR(w1, h1, 4); \
	V4CORR(w2, h2, 8); \
	VFMADD213PS w1, Z29, w2; \
	VFMADD213PS w0, Z29, w2; \
	VFMADD213PS h1, Z29, h2; \
	VFMADD213PS h0, Z29, h2

// V4EPI: V4COMB, then f += s·sum per half, totals in registers (fl, fh), scales at slo / shi.
#define V4EPI(zlo, zhi, slo, shi, w0, h0, w1, h1, w2, h2, fl, fh) \
	V4COMB(zlo, zhi, w0, h0, w1, h1, w2, h2); \
	VFMADD231PS slo, w2, fl; \
	VFMADD231PS shi, h2, fh

// func a16V4G2(w *byte, wstep, k4, gk4 int, xd *int8, dstride int, sums, zs *int32, sc *float32, bstep int, unit float32, dst0, dst1 *float32, pf int)
// Two 32-row blocks of one token, side by side: block A's VNNI panel at w (k4 steps of 64
// bytes), block B's wstep bytes later (0: B repeats A). Columns come in groups of gk4 steps
// (the last one shorter); per group g, sums[4g+p] = Σ dp, and block A's zero codes and scales
// are zs[32g:32g+32], sc[32g:32g+32] (block B's bstep bytes later). The digits dp of the token
// are k4 quads at xd + p·dstride. dst0[0:32] (A), dst1[0:32] (B) = unit·Σ_g s·Σ (u − z)·X.
// Besides its own weights 1 KiB ahead, it prefetches to L2 the lines at the same position of
// the next two blocks, pf and pf+wstep bytes after A's (pf 0: none), so that four streams per
// core are in flight as in vnniI4T1x4.
TEXT ·a16V4G2(SB), NOSPLIT, $0-112
	MOVQ         w+0(FP), AX
	MOVQ         wstep+8(FP), R11
	MOVQ         k4+16(FP), CX
	MOVQ         gk4+24(FP), DX
	MOVQ         xd+32(FP), SI
	MOVQ         dstride+40(FP), R13
	MOVQ         sums+48(FP), BX
	MOVQ         zs+56(FP), R8
	MOVQ         sc+64(FP), R9
	MOVQ         bstep+72(FP), R12
	MOVQ         pf+104(FP), R14
	LEAQ         (R14)(R11*1), DI
	MOVL         $0x0F0F0F0F, R10
	VPBROADCASTD R10, Z30
	MOVL         $0x43800000, R10 // 256.0
	VPBROADCASTD R10, Z29
	VPXORD       Z12, Z12, Z12
	VPXORD       Z13, Z13, Z13
	VPXORD       Z14, Z14, Z14
	VPXORD       Z15, Z15, Z15

v4_group:
	MOVQ   DX, R10
	CMPQ   R10, CX
	CMOVQGT CX, R10
	SUBQ   R10, CX
	ZERO8(Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7)
	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11

v4_loop2:
	CMPQ       R10, $2
	JLT        v4_loop1
	PREFETCHT0 1024(AX)
	PREFETCHT0 1088(AX)
	PREFETCHT0 1024(AX)(R11*1)
	PREFETCHT0 1088(AX)(R11*1)
	PREFETCHT1 (AX)(R14*1)
	PREFETCHT1 64(AX)(R14*1)
	PREFETCHT1 (AX)(DI*1)
	PREFETCHT1 64(AX)(DI*1)
	V4STEP(0, 0)
	V4STEP(64, 4)
	ADDQ       $128, AX
	ADDQ       $8, SI
	SUBQ       $2, R10
	JMP        v4_loop2

v4_loop1:
	TESTQ R10, R10
	JZ    v4_gend
	V4STEP(0, 0)
	ADDQ  $64, AX
	ADDQ  $4, SI

v4_gend:
	V4EPI((R8), 64(R8), (R9), 64(R9), Z0, Z1, Z2, Z3, Z4, Z5, Z12, Z13)
	V4EPI((R8)(R12*1), 64(R8)(R12*1), (R9)(R12*1), 64(R9)(R12*1), Z6, Z7, Z8, Z9, Z10, Z11, Z14, Z15)
	ADDQ  $16, BX
	ADDQ  $128, R8
	ADDQ  $128, R9
	TESTQ CX, CX
	JNZ   v4_group

	VBROADCASTSS unit+80(FP), Z24
	VMULPS       Z24, Z12, Z12
	VMULPS       Z24, Z13, Z13
	VMULPS       Z24, Z14, Z14
	VMULPS       Z24, Z15, Z15
	MOVQ         dst0+88(FP), DI
	MOVQ         dst1+96(FP), R10
	VMOVUPS      Z12, (DI)
	VMOVUPS      Z13, 64(DI)
	VMOVUPS      Z14, (R10)
	VMOVUPS      Z15, 64(R10)
	VZEROUPPER
	RET

// V4STEP4 is one k4 step of the four blocks at AX, AX+R11, AX+2·R11, AX+R12 (3·R11) into
// accumulators Z0–Z5, Z6–Z11, Z12–Z17, Z18–Z23.
#define V4STEP4(off, xoff) \
	V4BLK(off(AX), xoff, Z24, Z25, Z0, Z1, Z2, Z3, Z4, Z5); \
	V4BLK(off(AX)(R11*1), xoff, Z26, Z27, Z6, Z7, Z8, Z9, Z10, Z11); \
	V4BLK(off(AX)(R11*2), xoff, Z24, Z25, Z12, Z13, Z14, Z15, Z16, Z17); \
	V4BLK(off(AX)(R12*1), xoff, Z26, Z27, Z18, Z19, Z20, Z21, Z22, Z23)

// V4EPIM is V4EPI with the f32 totals in memory (dlo, dhi) instead of registers.
#define V4EPIM(zlo, zhi, slo, shi, w0, h0, w1, h1, w2, h2, dlo, dhi) \
	V4COMB(zlo, zhi, w0, h0, w1, h1, w2, h2); \
	VMOVUPS     dlo, Z26; \
	VFMADD231PS slo, w2, Z26; \
	VMOVUPS     Z26, dlo; \
	VMOVUPS     dhi, Z27; \
	VFMADD231PS shi, h2, Z27; \
	VMOVUPS     Z27, dhi

// func a16V4G4(w *byte, wstep, k4, gk4 int, xd *int8, dstride int, sums, zs *int32, sc *float32, bstep int, unit float32, dst *float32)
// a16V4G2 for four full 32-row blocks side by side (block j's weights j·wstep bytes after w, its
// zero codes and scales j·bstep bytes after zs, sc, its outputs at dst[32j:32j+32]): four
// sequential streams per core, as vnniI4T1x4. The 24 int32 accumulators fill the registers, so
// the f32 totals are kept in dst between groups.
TEXT ·a16V4G4(SB), NOSPLIT, $0-96
	MOVQ         w+0(FP), AX
	MOVQ         wstep+8(FP), R11
	LEAQ         (R11)(R11*2), R12
	MOVQ         k4+16(FP), CX
	MOVQ         gk4+24(FP), DX
	MOVQ         xd+32(FP), SI
	MOVQ         dstride+40(FP), R13
	MOVQ         sums+48(FP), BX
	MOVQ         zs+56(FP), R8
	MOVQ         sc+64(FP), R9
	MOVQ         bstep+72(FP), R14
	MOVQ         dst+88(FP), DI
	MOVL         $0x0F0F0F0F, R10
	VPBROADCASTD R10, Z30
	MOVL         $0x43800000, R10 // 256.0
	VPBROADCASTD R10, Z29
	VPXORD       Z24, Z24, Z24
	VMOVUPS      Z24, (DI)
	VMOVUPS      Z24, 64(DI)
	VMOVUPS      Z24, 128(DI)
	VMOVUPS      Z24, 192(DI)
	VMOVUPS      Z24, 256(DI)
	VMOVUPS      Z24, 320(DI)
	VMOVUPS      Z24, 384(DI)
	VMOVUPS      Z24, 448(DI)

g4_group:
	MOVQ    DX, R10
	CMPQ    R10, CX
	CMOVQGT CX, R10
	SUBQ    R10, CX
	ZERO8(Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7)
	ZERO8(Z8, Z9, Z10, Z11, Z12, Z13, Z14, Z15)
	ZERO8(Z16, Z17, Z18, Z19, Z20, Z21, Z22, Z23)

g4_loop2:
	CMPQ       R10, $2
	JLT        g4_loop1
	PREFETCHT0 1024(AX)
	PREFETCHT0 1088(AX)
	PREFETCHT0 1024(AX)(R11*1)
	PREFETCHT0 1088(AX)(R11*1)
	PREFETCHT0 1024(AX)(R11*2)
	PREFETCHT0 1088(AX)(R11*2)
	PREFETCHT0 1024(AX)(R12*1)
	PREFETCHT0 1088(AX)(R12*1)
	V4STEP4(0, 0)
	V4STEP4(64, 4)
	ADDQ       $128, AX
	ADDQ       $8, SI
	SUBQ       $2, R10
	JMP        g4_loop2

g4_loop1:
	TESTQ R10, R10
	JZ    g4_gend
	V4STEP4(0, 0)
	ADDQ  $64, AX
	ADDQ  $4, SI

g4_gend:
	V4EPIM((R8), 64(R8), (R9), 64(R9), Z0, Z1, Z2, Z3, Z4, Z5, (DI), 64(DI))
	V4EPIM((R8)(R14*1), 64(R8)(R14*1), (R9)(R14*1), 64(R9)(R14*1), Z6, Z7, Z8, Z9, Z10, Z11, 128(DI), 192(DI))
	V4EPIM((R8)(R14*2), 64(R8)(R14*2), (R9)(R14*2), 64(R9)(R14*2), Z12, Z13, Z14, Z15, Z16, Z17, 256(DI), 320(DI))
	LEAQ  (R14)(R14*2), R10
	ADDQ  R10, R8
	ADDQ  R10, R9
	V4EPIM((R8), 64(R8), (R9), 64(R9), Z18, Z19, Z20, Z21, Z22, Z23, 384(DI), 448(DI))
	SUBQ  R10, R8
	SUBQ  R10, R9
	ADDQ  $16, BX
	ADDQ  $128, R8
	ADDQ  $128, R9
	TESTQ CX, CX
	JNZ   g4_group

	VBROADCASTSS unit+80(FP), Z24
	VMULPS       (DI), Z24, Z0
	VMULPS       64(DI), Z24, Z1
	VMULPS       128(DI), Z24, Z2
	VMULPS       192(DI), Z24, Z3
	VMULPS       256(DI), Z24, Z4
	VMULPS       320(DI), Z24, Z5
	VMULPS       384(DI), Z24, Z6
	VMULPS       448(DI), Z24, Z7
	VMOVUPS      Z0, (DI)
	VMOVUPS      Z1, 64(DI)
	VMOVUPS      Z2, 128(DI)
	VMOVUPS      Z3, 192(DI)
	VMOVUPS      Z4, 256(DI)
	VMOVUPS      Z5, 320(DI)
	VMOVUPS      Z6, 384(DI)
	VMOVUPS      Z7, 448(DI)
	VZEROUPPER
	RET
