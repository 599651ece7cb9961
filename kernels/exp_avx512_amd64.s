//go:build !noasm

#include "textflag.h"
#include "mask_amd64.h"

// EXPCONST loads the constants of the vector expf into Z17-Z31 (see expf in softmax.go: the same
// Cephes range reduction and degree-6 polynomial, with FMAs).
#define EXPCONST \
	MOVL $0x3fb8aa3b, AX; VPBROADCASTD AX, Z20; \ // log2(e)
	MOVL $0x3f000000, AX; VPBROADCASTD AX, Z21; \ // 0.5
	MOVL $0x3f318000, AX; VPBROADCASTD AX, Z22; \ // ln2 high part
	MOVL $0xb95e8083, AX; VPBROADCASTD AX, Z23; \ // ln2 low part
	MOVL $0x39506967, AX; VPBROADCASTD AX, Z24; \
	MOVL $0x3ab743ce, AX; VPBROADCASTD AX, Z25; \
	MOVL $0x3c088908, AX; VPBROADCASTD AX, Z26; \
	MOVL $0x3d2aa9c1, AX; VPBROADCASTD AX, Z27; \
	MOVL $0x3e2aaaaa, AX; VPBROADCASTD AX, Z28; \
	MOVL $0x3f000000, AX; VPBROADCASTD AX, Z29; \
	MOVL $0x3f800000, AX; VPBROADCASTD AX, Z30; \ // 1
	MOVL $0xc2aeac4f, AX; VPBROADCASTD AX, Z31; \ // -87.33654: below, e^x = 0
	MOVL $0x42b17217, AX; VPBROADCASTD AX, Z19; \ // 88.72283: above, e^x = +Inf
	VPXORD Z18, Z18, Z18; \                        // 0
	MOVL $0x7f800000, AX; VPBROADCASTD AX, Z17     // +Inf

// EXP computes out = e^x for 16 lanes; clobbers Z2, Z3, Z5, K1, K2.
#define EXP(x, out) \
	VMOVAPS Z21, Z2; \
	VFMADD231PS Z20, x, Z2; \
	VRNDSCALEPS $9, Z2, Z2; \
	VMOVAPS x, Z3; \
	VFNMADD231PS Z22, Z2, Z3; \
	VFNMADD231PS Z23, Z2, Z3; \
	VMOVAPS Z24, out; \
	VFMADD213PS Z25, Z3, out; \
	VFMADD213PS Z26, Z3, out; \
	VFMADD213PS Z27, Z3, out; \
	VFMADD213PS Z28, Z3, out; \
	VFMADD213PS Z29, Z3, out; \
	VMULPS Z3, Z3, Z5; \
	VFMADD213PS Z3, Z5, out; \
	VADDPS Z30, out, out; \
	VSCALEFPS Z2, out, out; \
	VCMPPS $1, Z31, x, K1; \
	VMOVAPS Z18, K1, out; \
	VCMPPS $14, Z19, x, K2; \
	VMOVAPS Z17, K2, out

// func siluMulAVX512(dst, gate, up *float32, n int)
// dst[i] = gate[i] / (1 + e^(−gate[i])) · up[i], n a multiple of 16 (> 0).
TEXT ·siluMulAVX512(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ gate+8(FP), SI
	MOVQ up+16(FP), DX
	MOVQ n+24(FP), CX
	EXPCONST
silu_loop:
	VMOVUPS (SI), Z0
	VSUBPS Z0, Z18, Z1
	EXP(Z1, Z4)
	VADDPS Z30, Z4, Z4
	VDIVPS Z4, Z0, Z0
	VMULPS (DX), Z0, Z0
	VMOVUPS Z0, (DI)
	ADDQ $64, SI
	ADDQ $64, DX
	ADDQ $64, DI
	SUBQ $16, CX
	JNZ  silu_loop
	VZEROUPPER
	RET

// func expShiftAVX512(x *float32, n int, mx, scale float32) float64
// x[i] = e^((x[i] − mx)·scale) for i < n (n > 0; the last n mod 16 under a lane mask); returns
// Σ x[i] summed in float64.
TEXT ·expShiftAVX512(SB), NOSPLIT, $0-32
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	MOVQ CX, DX
	SHRQ $4, CX
	VBROADCASTSS mx+16(FP), Z6
	VBROADCASTSS scale+20(FP), Z7
	EXPCONST
	VXORPD Z8, Z8, Z8
	VXORPD Z9, Z9, Z9
	TESTQ CX, CX
	JZ    exp_tail
exp_loop:
	VMOVUPS (SI), Z0
	VSUBPS Z6, Z0, Z0
	VMULPS Z7, Z0, Z1
	EXP(Z1, Z4)
	VMOVUPS Z4, (SI)
	VCVTPS2PD Y4, Z10
	VEXTRACTF32X8 $1, Z4, Y11
	VCVTPS2PD Y11, Z11
	VADDPD Z10, Z8, Z8
	VADDPD Z11, Z9, Z9
	ADDQ $64, SI
	DECQ CX
	JNZ  exp_loop
exp_tail:
	ANDQ $15, DX
	VTAIL(exp_sum)
	VMOVUPS.Z (SI), K3, Z0
	VSUBPS Z6, Z0, Z0
	VMULPS Z7, Z0, Z1
	EXP(Z1, Z4)
	VMOVUPS Z4, K3, (SI)
	VMOVAPS.Z Z4, K3, Z4 // the lanes past n add nothing
	VCVTPS2PD Y4, Z10
	VEXTRACTF32X8 $1, Z4, Y11
	VCVTPS2PD Y11, Z11
	VADDPD Z10, Z8, Z8
	VADDPD Z11, Z9, Z9
exp_sum:
	VADDPD Z9, Z8, Z8
	VEXTRACTF64X4 $1, Z8, Y9
	VADDPD Y9, Y8, Y8
	VEXTRACTF128 $1, Y8, X9
	VADDPD X9, X8, X8
	VPERMILPD $1, X8, X9
	VADDSD X9, X8, X8
	MOVSD X8, ret+24(FP)
	VZEROUPPER
	RET

// func axpyRowsAVX512(dst, p, v *float32, ldv, rows, cols int)
// dst[c] = Σ_{r<rows} p[r]·v[r·ldv+c]; cols a multiple of 16, rows > 0. Columns go in chunks of 64
// (four accumulators held over all rows), then of 16.
TEXT ·axpyRowsAVX512(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ p+8(FP), SI
	MOVQ v+16(FP), DX
	MOVQ ldv+24(FP), BX
	SHLQ $2, BX
	MOVQ rows+32(FP), R8
	MOVQ cols+40(FP), CX

axr_chunk64:
	CMPQ CX, $64
	JLT  axr_chunk16
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	MOVQ   SI, R9  // p
	MOVQ   DX, R10 // v row
	MOVQ   R8, R11
axr_rows64:
	VBROADCASTSS (R9), Z4
	VFMADD231PS  (R10), Z4, Z0
	VFMADD231PS  64(R10), Z4, Z1
	VFMADD231PS  128(R10), Z4, Z2
	VFMADD231PS  192(R10), Z4, Z3
	ADDQ         $4, R9
	ADDQ         BX, R10
	DECQ         R11
	JNZ          axr_rows64
	VMOVUPS Z0, (DI)
	VMOVUPS Z1, 64(DI)
	VMOVUPS Z2, 128(DI)
	VMOVUPS Z3, 192(DI)
	ADDQ    $256, DI
	ADDQ    $256, DX
	SUBQ    $64, CX
	JMP     axr_chunk64

axr_chunk16:
	CMPQ CX, $16
	JLT  axr_done
	VPXORD Z0, Z0, Z0
	MOVQ   SI, R9
	MOVQ   DX, R10
	MOVQ   R8, R11
axr_rows16:
	VBROADCASTSS (R9), Z4
	VFMADD231PS  (R10), Z4, Z0
	ADDQ         $4, R9
	ADDQ         BX, R10
	DECQ         R11
	JNZ          axr_rows16
	VMOVUPS Z0, (DI)
	ADDQ    $64, DI
	ADDQ    $64, DX
	SUBQ    $16, CX
	JMP     axr_chunk16

axr_done:
	VZEROUPPER
	RET

// func maxAVX512(x *float32, n int) float32
// The largest of x[0:n] (n > 0; the last n mod 16 under a lane mask, the others −Inf), NaN if any
// element is NaN (as Go's max).
TEXT ·maxAVX512(SB), NOSPLIT, $0-20
	MOVQ   x+0(FP), SI
	MOVQ   n+8(FP), CX
	MOVQ   CX, DX
	SHRQ   $4, CX
	MOVL   $0xff800000, AX // −Inf
	VPBROADCASTD AX, Z0
	KXORW  K2, K2, K2
	TESTQ  CX, CX
	JZ     maxtail

maxloop:
	VMOVUPS (SI), Z2
	VMAXPS  Z2, Z0, Z0
	VCMPPS  $3, Z2, Z2, K1 // unordered: NaN lanes
	KORW    K1, K2, K2
	ADDQ    $64, SI
	DECQ    CX
	JNZ     maxloop

maxtail:
	ANDQ $15, DX
	VTAIL(maxreduce)
	VPBROADCASTD AX, Z2
	VMOVUPS (SI), K3, Z2   // merge: the lanes past n stay −Inf
	VMAXPS  Z2, Z0, Z0
	VCMPPS  $3, Z2, Z2, K1
	KORW    K1, K2, K2

maxreduce:
	VEXTRACTF32X8 $1, Z0, Y1
	VMAXPS  Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VMAXPS  X1, X0, X0
	VPERMILPS $0x4E, X0, X1
	VMAXPS  X1, X0, X0
	VPERMILPS $0xB1, X0, X1
	VMAXPS  X1, X0, X0
	KORTESTW K2, K2
	JZ      maxdone
	MOVL    $0x7fc00000, AX
	MOVL    AX, X0

maxdone:
	MOVSS   X0, ret+16(FP)
	VZEROUPPER
	RET

// func scaleAVX512(x *float32, s float32, n int)
// x[i] *= s for i < n (the last n mod 16 under a lane mask).
TEXT ·scaleAVX512(SB), NOSPLIT, $0-24
	MOVQ   x+0(FP), SI
	VBROADCASTSS s+8(FP), Z1
	MOVQ   n+16(FP), CX
	MOVQ   CX, DX
	SHRQ   $4, CX
	TESTQ  CX, CX
	JZ     scaletail

scaleloop:
	VMULPS (SI), Z1, Z0
	VMOVUPS Z0, (SI)
	ADDQ   $64, SI
	DECQ   CX
	JNZ    scaleloop

scaletail:
	ANDQ $15, DX
	VTAIL(scaledone)
	VMOVUPS.Z (SI), K3, Z0
	VMULPS  Z1, Z0, Z0
	VMOVUPS Z0, K3, (SI)

scaledone:
	VZEROUPPER
	RET

// func ropeHalfAVX512(x, cos, sin *float32, heads, half, n int)
// For each of heads heads of 2·half floats at x, pairs i < n (a positive multiple of 16):
// x_i, x_{i+half} = x_i·cos_i − x_{i+half}·sin_i, x_{i+half}·cos_i + x_i·sin_i, each product
// rounded before the sum (as the Go loop).
TEXT ·ropeHalfAVX512(SB), NOSPLIT, $0-48
	MOVQ x+0(FP), DI
	MOVQ cos+8(FP), SI
	MOVQ sin+16(FP), DX
	MOVQ heads+24(FP), R8
	MOVQ half+32(FP), R10
	SHLQ $2, R10            // half, in bytes
	MOVQ n+40(FP), R9
	SHLQ $2, R9             // n, in bytes

ropehead:
	XORQ CX, CX

ropechunk:
	VMOVUPS (SI)(CX*1), Z0  // cos
	VMOVUPS (DX)(CX*1), Z1  // sin
	LEAQ    (DI)(CX*1), R11
	VMOVUPS (R11), Z2       // a = x_i
	VMOVUPS (R11)(R10*1), Z3 // b = x_{i+half}
	VMULPS  Z0, Z2, Z4
	VMULPS  Z1, Z3, Z5
	VSUBPS  Z5, Z4, Z4      // a·cos − b·sin
	VMULPS  Z0, Z3, Z6
	VMULPS  Z1, Z2, Z7
	VADDPS  Z7, Z6, Z6      // b·cos + a·sin
	VMOVUPS Z4, (R11)
	VMOVUPS Z6, (R11)(R10*1)
	ADDQ    $64, CX
	CMPQ    CX, R9
	JLT     ropechunk
	LEAQ    (DI)(R10*2), DI
	DECQ    R8
	JNZ     ropehead
	VZEROUPPER
	RET
