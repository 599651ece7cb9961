//go:build !noasm

#include "textflag.h"
#include "mask_amd64.h"

// Element-wise vectors for the decoder block's glue (residual adds, RMSNorm), each with a lane-mask
// tail so that no length falls back to a scalar loop.

// func addAVX512(x, y *float32, n int)
// x[i] += y[i] for i < n.
TEXT ·addAVX512(SB), NOSPLIT, $0-24
	MOVQ x+0(FP), DI
	MOVQ y+8(FP), SI
	MOVQ n+16(FP), DX
	MOVQ DX, CX
	SHRQ $4, CX
	ANDQ $15, DX
	TESTQ CX, CX
	JZ    addtail

addloop:
	VMOVUPS (DI), Z0
	VADDPS  (SI), Z0, Z0
	VMOVUPS Z0, (DI)
	ADDQ    $64, DI
	ADDQ    $64, SI
	DECQ    CX
	JNZ     addloop

addtail:
	VTAIL(adddone)
	VMOVUPS.Z (DI), K3, Z0
	VMOVUPS.Z (SI), K3, Z1
	VADDPS    Z1, Z0, Z0
	VMOVUPS   Z0, K3, (DI)

adddone:
	VZEROUPPER
	RET

// func sumSqAVX512(x *float32, n int) float64
// Σ x[i]² in float64 (each square exact), in eight lanes of four accumulators.
TEXT ·sumSqAVX512(SB), NOSPLIT, $0-24
	MOVQ   x+0(FP), SI
	MOVQ   n+8(FP), DX
	MOVQ   DX, CX
	SHRQ   $5, CX
	ANDQ   $31, DX
	VXORPD Z0, Z0, Z0
	VXORPD Z1, Z1, Z1
	VXORPD Z2, Z2, Z2
	VXORPD Z3, Z3, Z3
	TESTQ  CX, CX
	JZ     ssq8

ssq32:
	VCVTPS2PD   (SI), Z4
	VCVTPS2PD   32(SI), Z5
	VCVTPS2PD   64(SI), Z6
	VCVTPS2PD   96(SI), Z7
	VFMADD231PD Z4, Z4, Z0
	VFMADD231PD Z5, Z5, Z1
	VFMADD231PD Z6, Z6, Z2
	VFMADD231PD Z7, Z7, Z3
	ADDQ        $128, SI
	DECQ        CX
	JNZ         ssq32

ssq8:
	CMPQ        DX, $8
	JLT         ssqtail
	VCVTPS2PD   (SI), Z4
	VFMADD231PD Z4, Z4, Z0
	ADDQ        $32, SI
	SUBQ        $8, DX
	JMP         ssq8

ssqtail:
	VTAIL(ssqsum)
	VMOVUPS.Z   (SI), K3, Y4
	VCVTPS2PD   Y4, Z4
	VFMADD231PD Z4, Z4, Z1

ssqsum:
	VADDPD        Z1, Z0, Z0
	VADDPD        Z3, Z2, Z2
	VADDPD        Z2, Z0, Z0
	VEXTRACTF64X4 $1, Z0, Y1
	VADDPD        Y1, Y0, Y0
	VEXTRACTF128  $1, Y0, X1
	VADDPD        X1, X0, X0
	VPERMILPD     $1, X0, X1
	VADDSD        X1, X0, X0
	MOVSD         X0, ret+16(FP)
	VZEROUPPER
	RET

// func rmsScaleAVX512(dst, x, w *float32, s float32, n int)
// dst[i] = (x[i]·s)·w[i] for i < n, two float32 roundings as RMSNorm's Go loop.
TEXT ·rmsScaleAVX512(SB), NOSPLIT, $0-40
	MOVQ         dst+0(FP), DI
	MOVQ         x+8(FP), SI
	MOVQ         w+16(FP), R8
	VBROADCASTSS s+24(FP), Z1
	MOVQ         n+32(FP), DX
	MOVQ         DX, CX
	SHRQ         $4, CX
	ANDQ         $15, DX
	TESTQ        CX, CX
	JZ           rmstail

rmsloop:
	VMULPS  (SI), Z1, Z0
	VMULPS  (R8), Z0, Z0
	VMOVUPS Z0, (DI)
	ADDQ    $64, SI
	ADDQ    $64, R8
	ADDQ    $64, DI
	DECQ    CX
	JNZ     rmsloop

rmstail:
	VTAIL(rmsdone)
	VMOVUPS.Z (SI), K3, Z0
	VMOVUPS.Z (R8), K3, Z2
	VMULPS    Z1, Z0, Z0
	VMULPS    Z2, Z0, Z0
	VMOVUPS   Z0, K3, (DI)

rmsdone:
	VZEROUPPER
	RET
