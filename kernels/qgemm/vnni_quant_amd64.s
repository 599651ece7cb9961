// AVX-512 per-token int8 activation quantization (see vnniQuantRow in vnni.go).

#include "textflag.h"

// HMAX / HADD reduce the 16 float32 / int32 lanes of Z0 (scratch Z3) into X0.
#define TAILMASK \
	MOVL  $1, AX \
	SHLL  CX, AX \
	DECL  AX     \
	KMOVW AX, K1

// func vnniAmax(x *float32, n int) (amax, bad float32)
// amax = max_k |x[k]|; bad = Σ_k x[k]·0 (0, or NaN when some x is ±Inf or NaN).
TEXT ·vnniAmax(SB), NOSPLIT, $0-24
	MOVQ   x+0(FP), SI
	MOVQ   n+8(FP), CX
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z6, Z6, Z6
	MOVL   $0x7FFFFFFF, AX
	VPBROADCASTD AX, Z2

amax_loop:
	CMPQ    CX, $16
	JLT     amax_tail
	VMOVUPS (SI), Z3
	VANDPS  Z2, Z3, Z4
	VMAXPS  Z4, Z0, Z0
	VMULPS  Z6, Z3, Z4
	VADDPS  Z4, Z1, Z1
	ADDQ    $64, SI
	SUBQ    $16, CX
	JMP     amax_loop

amax_tail:
	TESTQ     CX, CX
	JZ        amax_reduce
	TAILMASK
	VMOVUPS.Z (SI), K1, Z3
	VANDPS    Z2, Z3, Z4
	VMAXPS    Z4, Z0, Z0
	VMULPS    Z6, Z3, Z4
	VADDPS    Z4, Z1, Z1

amax_reduce:
	VEXTRACTF64X4 $1, Z0, Y3
	VMAXPS        Y3, Y0, Y0
	VEXTRACTF128  $1, Y0, X3
	VMAXPS        X3, X0, X0
	VPERMILPS     $0x4E, X0, X3
	VMAXPS        X3, X0, X0
	VPERMILPS     $0xB1, X0, X3
	VMAXPS        X3, X0, X0
	MOVSS         X0, amax+16(FP)
	VEXTRACTF64X4 $1, Z1, Y3
	VADDPS        Y3, Y1, Y1
	VEXTRACTF128  $1, Y1, X3
	VADDPS        X3, X1, X1
	VPERMILPS     $0x4E, X1, X3
	VADDPS        X3, X1, X1
	VPERMILPS     $0xB1, X1, X3
	VADDPS        X3, X1, X1
	MOVSS         X1, bad+20(FP)
	VZEROUPPER
	RET

// func vnniQuant(x *float32, n int, inv float32, dst *int8) (sum int32)
// dst[k] = int8(RoundToEven(x[k]·inv)) (float32 product, VCVTPS2DQ under the default
// round-to-nearest-even MXCSR), sum = Σ_k dst[k]. The caller guarantees |x[k]·inv| < 127.5.
TEXT ·vnniQuant(SB), NOSPLIT, $0-36
	MOVQ         x+0(FP), SI
	MOVQ         n+8(FP), CX
	VBROADCASTSS inv+16(FP), Z1
	MOVQ         dst+24(FP), DI
	VPXORD       Z0, Z0, Z0

quant_loop:
	CMPQ      CX, $16
	JLT       quant_tail
	VMULPS    (SI), Z1, Z2
	VCVTPS2DQ Z2, Z2
	VPADDD    Z2, Z0, Z0
	VPMOVSDB  Z2, (DI)
	ADDQ      $64, SI
	ADDQ      $16, DI
	SUBQ      $16, CX
	JMP       quant_loop

quant_tail:
	TESTQ     CX, CX
	JZ        quant_reduce
	TAILMASK
	VMOVUPS.Z (SI), K1, Z2
	VMULPS    Z2, Z1, Z2
	VCVTPS2DQ Z2, Z2
	VPADDD    Z2, Z0, Z0
	VPMOVSDB  Z2, K1, (DI)

quant_reduce:
	VEXTRACTI64X4 $1, Z0, Y3
	VPADDD        Y3, Y0, Y0
	VEXTRACTI128  $1, Y0, X3
	VPADDD        X3, X0, X0
	VPSHUFD       $0x4E, X0, X3
	VPADDD        X3, X0, X0
	VPSHUFD       $0xB1, X0, X3
	VPADDD        X3, X0, X0
	MOVL          X0, sum+32(FP)
	VZEROUPPER
	RET

// func vnniQuantS(x *float32, n int, inv float32, dst *int8, dstride int) (sum int32)
// vnniQuant storing the codes one dword (4 codes) at a time, dword j at dst + j·dstride;
// the last dword is padded with zero codes (ceil(n/4) dwords are written).
TEXT ·vnniQuantS(SB), NOSPLIT, $16-44
	MOVQ         x+0(FP), SI
	MOVQ         n+8(FP), CX
	VBROADCASTSS inv+16(FP), Z1
	MOVQ         dst+24(FP), DI
	MOVQ         dstride+32(FP), DX
	VPXORD       Z0, Z0, Z0

quants_loop:
	CMPQ      CX, $16
	JLT       quants_tail
	VMULPS    (SI), Z1, Z2
	VCVTPS2DQ Z2, Z2
	VPADDD    Z2, Z0, Z0
	VPMOVSDB  Z2, X3
	VMOVD     X3, (DI)
	ADDQ      DX, DI
	VPEXTRD   $1, X3, (DI)
	ADDQ      DX, DI
	VPEXTRD   $2, X3, (DI)
	ADDQ      DX, DI
	VPEXTRD   $3, X3, (DI)
	ADDQ      DX, DI
	ADDQ      $64, SI
	SUBQ      $16, CX
	JMP       quants_loop

quants_tail:
	TESTQ     CX, CX
	JZ        quants_reduce
	TAILMASK
	VMOVUPS.Z (SI), K1, Z2
	VMULPS    Z2, Z1, Z2
	VCVTPS2DQ Z2, Z2
	VPADDD    Z2, Z0, Z0
	VPMOVSDB  Z2, X3
	VMOVDQU   X3, 0(SP)
	ADDQ      $3, CX
	SHRQ      $2, CX
	MOVQ      SP, R8

quants_tail_loop:
	MOVL (R8), AX
	MOVL AX, (DI)
	ADDQ $4, R8
	ADDQ DX, DI
	DECQ CX
	JNZ  quants_tail_loop

quants_reduce:
	VEXTRACTI64X4 $1, Z0, Y3
	VPADDD        Y3, Y0, Y0
	VEXTRACTI128  $1, Y0, X3
	VPADDD        X3, X0, X0
	VPSHUFD       $0x4E, X0, X3
	VPADDD        X3, X0, X0
	VPSHUFD       $0xB1, X0, X3
	VPADDD        X3, X0, X0
	MOVL          X0, sum+40(FP)
	VZEROUPPER
	RET
