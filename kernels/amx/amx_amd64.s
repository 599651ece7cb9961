//go:build linux && amd64 && !noasm

#include "textflag.h"

// The Go assembler has no AMX mnemonics: the tile instructions are spelled out as bytes, each
// checked against GNU as (objdump) for exactly the registers written in its name.
#define LDTILECFG_AX BYTE $0xc4; BYTE $0xe2; BYTE $0x78; BYTE $0x49; BYTE $0x00
#define TILERELEASE  BYTE $0xc4; BYTE $0xe2; BYTE $0x78; BYTE $0x49; BYTE $0xc0
#define TILEZERO_T0  BYTE $0xc4; BYTE $0xe2; BYTE $0x7b; BYTE $0x49; BYTE $0xc0
#define TILEZERO_T1  BYTE $0xc4; BYTE $0xe2; BYTE $0x7b; BYTE $0x49; BYTE $0xc8
#define TILEZERO_T2  BYTE $0xc4; BYTE $0xe2; BYTE $0x7b; BYTE $0x49; BYTE $0xd0
#define TILEZERO_T3  BYTE $0xc4; BYTE $0xe2; BYTE $0x7b; BYTE $0x49; BYTE $0xd8
// tileloadd (%rsi,%rdx,1), %tmm4 and (%rdi,%rdx,1), %tmm5: the two weight tiles.
#define TLOAD_T4_SI_DX BYTE $0xc4; BYTE $0xe2; BYTE $0x7b; BYTE $0x4b; BYTE $0x24; BYTE $0x16
#define TLOAD_T5_DI_DX BYTE $0xc4; BYTE $0xe2; BYTE $0x7b; BYTE $0x4b; BYTE $0x2c; BYTE $0x17
// tileloadd (%rax,%r8,1), %tmm6 and (%rcx,%r8,1), %tmm7: the two activation tiles.
#define TLOAD_T6_AX_R8 BYTE $0xc4; BYTE $0xa2; BYTE $0x7b; BYTE $0x4b; BYTE $0x34; BYTE $0x00
#define TLOAD_T7_CX_R8 BYTE $0xc4; BYTE $0xa2; BYTE $0x7b; BYTE $0x4b; BYTE $0x3c; BYTE $0x01
// tdpbf16ps %tmm6/7, %tmm4/5, %tmm0..3: C[i][j] += A_i · B_j.
#define TDP_T0_T4_T6 BYTE $0xc4; BYTE $0xe2; BYTE $0x4a; BYTE $0x5c; BYTE $0xc4
#define TDP_T1_T4_T7 BYTE $0xc4; BYTE $0xe2; BYTE $0x42; BYTE $0x5c; BYTE $0xcc
#define TDP_T2_T5_T6 BYTE $0xc4; BYTE $0xe2; BYTE $0x4a; BYTE $0x5c; BYTE $0xd5
#define TDP_T3_T5_T7 BYTE $0xc4; BYTE $0xe2; BYTE $0x42; BYTE $0x5c; BYTE $0xdd
// tileloadd / tilestored {0,0x400,0x800,0xc00}(%r10,%r8,1), %tmm0..3: the accumulators.
#define TLOAD_T0_R10  BYTE $0xc4; BYTE $0x82; BYTE $0x7b; BYTE $0x4b; BYTE $0x04; BYTE $0x02
#define TLOAD_T1_R10  BYTE $0xc4; BYTE $0x82; BYTE $0x7b; BYTE $0x4b; BYTE $0x8c; BYTE $0x02; BYTE $0x00; BYTE $0x04; BYTE $0x00; BYTE $0x00
#define TLOAD_T2_R10  BYTE $0xc4; BYTE $0x82; BYTE $0x7b; BYTE $0x4b; BYTE $0x94; BYTE $0x02; BYTE $0x00; BYTE $0x08; BYTE $0x00; BYTE $0x00
#define TLOAD_T3_R10  BYTE $0xc4; BYTE $0x82; BYTE $0x7b; BYTE $0x4b; BYTE $0x9c; BYTE $0x02; BYTE $0x00; BYTE $0x0c; BYTE $0x00; BYTE $0x00
#define TSTORE_T0_R10 BYTE $0xc4; BYTE $0x82; BYTE $0x7a; BYTE $0x4b; BYTE $0x04; BYTE $0x02
#define TSTORE_T1_R10 BYTE $0xc4; BYTE $0x82; BYTE $0x7a; BYTE $0x4b; BYTE $0x8c; BYTE $0x02; BYTE $0x00; BYTE $0x04; BYTE $0x00; BYTE $0x00
#define TSTORE_T2_R10 BYTE $0xc4; BYTE $0x82; BYTE $0x7a; BYTE $0x4b; BYTE $0x94; BYTE $0x02; BYTE $0x00; BYTE $0x08; BYTE $0x00; BYTE $0x00
#define TSTORE_T3_R10 BYTE $0xc4; BYTE $0x82; BYTE $0x7a; BYTE $0x4b; BYTE $0x9c; BYTE $0x02; BYTE $0x00; BYTE $0x0c; BYTE $0x00; BYTE $0x00

// One part of one k-step: load the part's two activation tiles (AX, CX), four products, advance
// AX and CX to the next part (R12 bytes).
#define PART \
	TLOAD_T6_AX_R8; \
	TLOAD_T7_CX_R8; \
	TDP_T0_T4_T6; \
	TDP_T1_T4_T7; \
	TDP_T2_T5_T6; \
	TDP_T3_T5_T7; \
	ADDQ R12, AX; \
	ADDQ R12, CX

// TILEHEAD loads the tile configuration (AX) and the registers every tile kernel shares: SI = A
// rows 0-15, DI = A rows 16-31 (DX = the row stride in bytes), BX = B, R9 = bts (the second token
// tile), R8 = 64 (the B and C row stride). Its arguments are the frame offsets of a, lda, b, bts.
#define TILEHEAD(aoff, ldoff, boff, btsoff) \
	LDTILECFG_AX; \
	MOVQ aoff(FP), SI; \
	MOVQ ldoff(FP), DX; \
	MOVQ DX, DI; \
	SHLQ $4, DI; \
	ADDQ SI, DI; \
	MOVQ boff(FP), BX; \
	MOVQ btsoff(FP), R9; \
	MOVQ $64, R8

// CZERO clears the four accumulator tiles; CLOAD and CSTORE move them from and to R10.
#define CZERO TILEZERO_T0; TILEZERO_T1; TILEZERO_T2; TILEZERO_T3
#define CLOAD TLOAD_T0_R10; TLOAD_T1_R10; TLOAD_T2_R10; TLOAD_T3_R10
#define CSTORE TSTORE_T0_R10; TSTORE_T1_R10; TSTORE_T2_R10; TSTORE_T3_R10

// func dotTiles(c *tileConfig, a *uint16, lda int, b *uint16, bts int, ps int, parts int, ksteps int, acc *float32, load bool)
TEXT ·dotTiles(SB), NOSPLIT, $0-73
	MOVQ c+0(FP), AX
	TILEHEAD(a+8, lda+16, b+24, bts+32)
	MOVQ ps+40(FP), R12
	MOVQ parts+48(FP), R11
	MOVQ ksteps+56(FP), R13
	MOVQ acc+64(FP), R10
	MOVBLZX load+72(FP), AX
	TESTQ AX, AX
	JZ   zero
	CLOAD
	JMP  loop

zero:
	CZERO

loop:
	TESTQ R13, R13
	JZ    done
	TLOAD_T4_SI_DX
	TLOAD_T5_DI_DX
	MOVQ BX, AX
	LEAQ (BX)(R9*1), CX
	PART
	CMPQ R11, $2
	JLT  next
	PART
	CMPQ R11, $3
	JLT  next
	PART

next:
	ADDQ $64, SI
	ADDQ $64, DI
	ADDQ $1024, BX
	DECQ R13
	JMP  loop

done:
	CSTORE
	TILERELEASE
	RET

// Dword offsets 16·i: column i of a 16×16 float tile (gather), or column pair i of a panel (scatter).
DATA colidx<>+0(SB)/4, $0
DATA colidx<>+4(SB)/4, $16
DATA colidx<>+8(SB)/4, $32
DATA colidx<>+12(SB)/4, $48
DATA colidx<>+16(SB)/4, $64
DATA colidx<>+20(SB)/4, $80
DATA colidx<>+24(SB)/4, $96
DATA colidx<>+28(SB)/4, $112
DATA colidx<>+32(SB)/4, $128
DATA colidx<>+36(SB)/4, $144
DATA colidx<>+40(SB)/4, $160
DATA colidx<>+44(SB)/4, $176
DATA colidx<>+48(SB)/4, $192
DATA colidx<>+52(SB)/4, $208
DATA colidx<>+56(SB)/4, $224
DATA colidx<>+60(SB)/4, $240
GLOBL colidx<>(SB), RODATA|NOPTR, $64


// Word indices 2j+1 (j < 32): the high halves of the 32 float32 in two registers, in order.
DATA oddwords<>+0(SB)/8, $0x0007000500030001
DATA oddwords<>+8(SB)/8, $0x000f000d000b0009
DATA oddwords<>+16(SB)/8, $0x0017001500130011
DATA oddwords<>+24(SB)/8, $0x001f001d001b0019
DATA oddwords<>+32(SB)/8, $0x0027002500230021
DATA oddwords<>+40(SB)/8, $0x002f002d002b0029
DATA oddwords<>+48(SB)/8, $0x0037003500330031
DATA oddwords<>+56(SB)/8, $0x003f003d003b0039
GLOBL oddwords<>(SB), RODATA|NOPTR, $64

// ROUND sets h to x rounded to bfloat16 (nearest even), as a float32 with its low 16 bits clear:
// bits + 0x7FFF + ((bits >> 16) & 1), then & 0xFFFF0000. Z20 = 1, Z21 = 0x7FFF, Z22 = 0xFFFF0000.
#define ROUND(x, h) \
	VPSRLD $16, x, h; \
	VPANDD Z20, h, h; \
	VPADDD Z21, h, h; \
	VPADDD x, h, h; \
	VPANDD Z22, h, h

// func packTile(dst *uint16, x *float32, ldx int, ntok int, kpairs int, parts int, ps int)
TEXT ·packTile(SB), NOSPLIT, $0-56
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ ldx+16(FP), DX
	SHLQ $2, DX
	MOVQ ntok+24(FP), CX
	MOVQ kpairs+32(FP), R8
	MOVQ parts+40(FP), R9
	MOVQ ps+48(FP), R10
	MOVL $1, AX
	VPBROADCASTD AX, Z20
	MOVL $0x7fff, AX
	VPBROADCASTD AX, Z21
	MOVL $0xffff0000, AX
	VPBROADCASTD AX, Z22
	VMOVDQU64 oddwords<>(SB), Z23
	VMOVDQU32 colidx<>(SB), Z24

ptok:
	TESTQ CX, CX
	JZ    pdone
	MOVQ  SI, R11 // x row
	MOVQ  DI, R12 // dst + t·4 + kc·64
	XORQ  BX, BX  // kc

pk:
	CMPQ BX, R8
	JGE  pnext
	VMOVUPS (R11), Z0
	VMOVUPS 64(R11), Z1
	MOVQ R12, AX
	MOVQ R9, R13

ppart:
	ROUND(Z0, Z4)
	ROUND(Z1, Z5)
	VMOVDQA64 Z4, Z6
	VPERMT2W  Z5, Z23, Z6
	KXNORW    K1, K1, K1
	VPSCATTERDD Z6, K1, (AX)(Z24*4)
	VSUBPS Z4, Z0, Z0
	VSUBPS Z5, Z1, Z1
	ADDQ R10, AX
	DECQ R13
	JNZ  ppart
	ADDQ $128, R11
	ADDQ $1024, R12
	ADDQ $16, BX
	JMP  pk

pnext:
	ADDQ DX, SI
	ADDQ $4, DI
	DECQ CX
	JMP  ptok

pdone:
	VZEROUPPER
	RET

// DT0/DT1/DT2 load token row AX (32 floats: Z16, Z17), drop the first 0/1/2 pieces of the split and
// leave the next piece's 16 bf16 pairs in d; then advance AX to the next token (DX bytes).
#define PIECE(d) \
	ROUND(Z16, Z18); \
	ROUND(Z17, Z19); \
	VMOVDQA64 Z18, d; \
	VPERMT2W  Z19, Z23, d

#define DROP \
	ROUND(Z16, Z18); \
	ROUND(Z17, Z19); \
	VSUBPS Z18, Z16, Z16; \
	VSUBPS Z19, Z17, Z17

#define LOADROW \
	VMOVUPS (AX), Z16; \
	VMOVUPS 64(AX), Z17; \
	ADDQ DX, AX

#define DT0(d) LOADROW; PIECE(d)
#define DT1(d) LOADROW; DROP; PIECE(d)
#define DT2(d) LOADROW; DROP; DROP; PIECE(d)

// TRANSPOSE16 transposes the 16×16 dwords in Z0..Z15 (row i in Zi) in place; clobbers Z16..Z31.
#define TRANSPOSE16 \
	VPUNPCKLDQ Z1, Z0, Z16; \
	VPUNPCKHDQ Z1, Z0, Z17; \
	VPUNPCKLDQ Z3, Z2, Z18; \
	VPUNPCKHDQ Z3, Z2, Z19; \
	VPUNPCKLDQ Z5, Z4, Z20; \
	VPUNPCKHDQ Z5, Z4, Z21; \
	VPUNPCKLDQ Z7, Z6, Z22; \
	VPUNPCKHDQ Z7, Z6, Z23; \
	VPUNPCKLDQ Z9, Z8, Z24; \
	VPUNPCKHDQ Z9, Z8, Z25; \
	VPUNPCKLDQ Z11, Z10, Z26; \
	VPUNPCKHDQ Z11, Z10, Z27; \
	VPUNPCKLDQ Z13, Z12, Z28; \
	VPUNPCKHDQ Z13, Z12, Z29; \
	VPUNPCKLDQ Z15, Z14, Z30; \
	VPUNPCKHDQ Z15, Z14, Z31; \
	VPUNPCKLQDQ Z18, Z16, Z0; \
	VPUNPCKHQDQ Z18, Z16, Z1; \
	VPUNPCKLQDQ Z19, Z17, Z2; \
	VPUNPCKHQDQ Z19, Z17, Z3; \
	VPUNPCKLQDQ Z22, Z20, Z4; \
	VPUNPCKHQDQ Z22, Z20, Z5; \
	VPUNPCKLQDQ Z23, Z21, Z6; \
	VPUNPCKHQDQ Z23, Z21, Z7; \
	VPUNPCKLQDQ Z26, Z24, Z8; \
	VPUNPCKHQDQ Z26, Z24, Z9; \
	VPUNPCKLQDQ Z27, Z25, Z10; \
	VPUNPCKHQDQ Z27, Z25, Z11; \
	VPUNPCKLQDQ Z30, Z28, Z12; \
	VPUNPCKHQDQ Z30, Z28, Z13; \
	VPUNPCKLQDQ Z31, Z29, Z14; \
	VPUNPCKHQDQ Z31, Z29, Z15; \
	VSHUFI32X4 $0x88, Z4, Z0, Z16; \
	VSHUFI32X4 $0xDD, Z4, Z0, Z20; \
	VSHUFI32X4 $0x88, Z12, Z8, Z24; \
	VSHUFI32X4 $0xDD, Z12, Z8, Z28; \
	VSHUFI32X4 $0x88, Z5, Z1, Z17; \
	VSHUFI32X4 $0xDD, Z5, Z1, Z21; \
	VSHUFI32X4 $0x88, Z13, Z9, Z25; \
	VSHUFI32X4 $0xDD, Z13, Z9, Z29; \
	VSHUFI32X4 $0x88, Z6, Z2, Z18; \
	VSHUFI32X4 $0xDD, Z6, Z2, Z22; \
	VSHUFI32X4 $0x88, Z14, Z10, Z26; \
	VSHUFI32X4 $0xDD, Z14, Z10, Z30; \
	VSHUFI32X4 $0x88, Z7, Z3, Z19; \
	VSHUFI32X4 $0xDD, Z7, Z3, Z23; \
	VSHUFI32X4 $0x88, Z15, Z11, Z27; \
	VSHUFI32X4 $0xDD, Z15, Z11, Z31; \
	VSHUFI32X4 $0x88, Z24, Z16, Z0; \
	VSHUFI32X4 $0xDD, Z24, Z16, Z8; \
	VSHUFI32X4 $0x88, Z28, Z20, Z4; \
	VSHUFI32X4 $0xDD, Z28, Z20, Z12; \
	VSHUFI32X4 $0x88, Z25, Z17, Z1; \
	VSHUFI32X4 $0xDD, Z25, Z17, Z9; \
	VSHUFI32X4 $0x88, Z29, Z21, Z5; \
	VSHUFI32X4 $0xDD, Z29, Z21, Z13; \
	VSHUFI32X4 $0x88, Z26, Z18, Z2; \
	VSHUFI32X4 $0xDD, Z26, Z18, Z10; \
	VSHUFI32X4 $0x88, Z30, Z22, Z6; \
	VSHUFI32X4 $0xDD, Z30, Z22, Z14; \
	VSHUFI32X4 $0x88, Z27, Z19, Z3; \
	VSHUFI32X4 $0xDD, Z27, Z19, Z11; \
	VSHUFI32X4 $0x88, Z31, Z23, Z7; \
	VSHUFI32X4 $0xDD, Z31, Z23, Z15

// STORE16 writes Z0..Z15 (column pairs kp = 0..15 of the chunk) to BX, 64 bytes apart.
#define STORE16 \
	VMOVDQU32 Z0, 0(BX); \
	VMOVDQU32 Z1, 64(BX); \
	VMOVDQU32 Z2, 128(BX); \
	VMOVDQU32 Z3, 192(BX); \
	VMOVDQU32 Z4, 256(BX); \
	VMOVDQU32 Z5, 320(BX); \
	VMOVDQU32 Z6, 384(BX); \
	VMOVDQU32 Z7, 448(BX); \
	VMOVDQU32 Z8, 512(BX); \
	VMOVDQU32 Z9, 576(BX); \
	VMOVDQU32 Z10, 640(BX); \
	VMOVDQU32 Z11, 704(BX); \
	VMOVDQU32 Z12, 768(BX); \
	VMOVDQU32 Z13, 832(BX); \
	VMOVDQU32 Z14, 896(BX); \
	VMOVDQU32 Z15, 960(BX)

// CONSTS loads the split's constants (TRANSPOSE16 clobbers them).
#define CONSTS \
	VPBROADCASTD R9, Z20; \
	VPBROADCASTD R12, Z21; \
	VPBROADCASTD R13, Z22; \
	VMOVDQU64 oddwords<>(SB), Z23

// func packTile16(dst *uint16, x *float32, ldx int, kpairs int, ps int)
// packTile for a full tile of 16 tokens: whole 16×16 blocks of pairs are transposed in registers
// instead of scattered.
TEXT ·packTile16(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), R11
	MOVQ ldx+16(FP), DX
	SHLQ $2, DX
	MOVQ kpairs+24(FP), R8
	MOVQ ps+32(FP), R10
	MOVL $1, R9
	MOVL $0x7fff, R12
	MOVL $0xffff0000, R13
	XORQ CX, CX // kc

p16loop:
	CMPQ CX, R8
	JGE  p16done
	MOVQ DI, BX

	MOVQ R11, AX
	CONSTS
	DT0(Z0)
	DT0(Z1)
	DT0(Z2)
	DT0(Z3)
	DT0(Z4)
	DT0(Z5)
	DT0(Z6)
	DT0(Z7)
	DT0(Z8)
	DT0(Z9)
	DT0(Z10)
	DT0(Z11)
	DT0(Z12)
	DT0(Z13)
	DT0(Z14)
	DT0(Z15)
	TRANSPOSE16
	STORE16
	ADDQ R10, BX
	MOVQ R11, AX
	CONSTS
	DT1(Z0)
	DT1(Z1)
	DT1(Z2)
	DT1(Z3)
	DT1(Z4)
	DT1(Z5)
	DT1(Z6)
	DT1(Z7)
	DT1(Z8)
	DT1(Z9)
	DT1(Z10)
	DT1(Z11)
	DT1(Z12)
	DT1(Z13)
	DT1(Z14)
	DT1(Z15)
	TRANSPOSE16
	STORE16
	ADDQ R10, BX
	MOVQ R11, AX
	CONSTS
	DT2(Z0)
	DT2(Z1)
	DT2(Z2)
	DT2(Z3)
	DT2(Z4)
	DT2(Z5)
	DT2(Z6)
	DT2(Z7)
	DT2(Z8)
	DT2(Z9)
	DT2(Z10)
	DT2(Z11)
	DT2(Z12)
	DT2(Z13)
	DT2(Z14)
	DT2(Z15)
	TRANSPOSE16
	STORE16
	ADDQ R10, BX
	ADDQ $128, R11
	ADDQ $1024, DI
	ADDQ $16, CX
	JMP  p16loop

p16done:
	VZEROUPPER
	RET

// GEPI(i) adds row i of the four C tiles in R10 (cbuf), scaled by their rows' scales, to acc (AX):
// rows 0..15 of C00 and C01 scale by s[i] (CX), rows of C10 and C11 by s[16+i].
#define GEPI(i) \
	VBROADCASTSS (i*4)(CX), Z0; \
	VBROADCASTSS (64+i*4)(CX), Z1; \
	VMOVUPS (i*64)(AX), Z2; \
	VFMADD231PS (i*64)(R10), Z0, Z2; \
	VMOVUPS Z2, (i*64)(AX); \
	VMOVUPS (1024+i*64)(AX), Z3; \
	VFMADD231PS (1024+i*64)(R10), Z0, Z3; \
	VMOVUPS Z3, (1024+i*64)(AX); \
	VMOVUPS (2048+i*64)(AX), Z4; \
	VFMADD231PS (2048+i*64)(R10), Z1, Z4; \
	VMOVUPS Z4, (2048+i*64)(AX); \
	VMOVUPS (3072+i*64)(AX), Z5; \
	VFMADD231PS (3072+i*64)(R10), Z1, Z5; \
	VMOVUPS Z5, (3072+i*64)(AX)

// func dotTilesG(c *tileConfig, a *uint16, lda int, b *uint16, bts int, ps int, parts int, ngroups int, gsteps int, acc *float32, cbuf *float32, s *float32)
TEXT ·dotTilesG(SB), NOSPLIT, $0-96
	MOVQ c+0(FP), AX
	TILEHEAD(a+8, lda+16, b+24, bts+32)
	MOVQ ps+40(FP), R12
	MOVQ parts+48(FP), R11
	MOVQ cbuf+80(FP), R10

gloop:
	MOVQ ngroups+56(FP), AX
	TESTQ AX, AX
	JZ    gdone
	DECQ  AX
	MOVQ  AX, ngroups+56(FP)
	MOVQ  gsteps+64(FP), R13
	CZERO

gk:
	TESTQ R13, R13
	JZ    gepi
	TLOAD_T4_SI_DX
	TLOAD_T5_DI_DX
	MOVQ BX, AX
	LEAQ (BX)(R9*1), CX
	PART
	CMPQ R11, $2
	JLT  gnext
	PART
	CMPQ R11, $3
	JLT  gnext
	PART

gnext:
	ADDQ $64, SI
	ADDQ $64, DI
	ADDQ $1024, BX
	DECQ R13
	JMP  gk

gepi:
	CSTORE
	MOVQ acc+72(FP), AX
	MOVQ s+88(FP), CX
	GEPI(0)
	GEPI(1)
	GEPI(2)
	GEPI(3)
	GEPI(4)
	GEPI(5)
	GEPI(6)
	GEPI(7)
	GEPI(8)
	GEPI(9)
	GEPI(10)
	GEPI(11)
	GEPI(12)
	GEPI(13)
	GEPI(14)
	GEPI(15)
	ADDQ $128, CX
	MOVQ CX, s+88(FP)
	JMP  gloop

gdone:
	TILERELEASE
	VZEROUPPER
	RET

// tdpbssd %tmm6/7, %tmm4/5, %tmm0..3: C[i][j] += A_i · B_j over signed bytes (int32 sums).
#define TDPI_T0_T4_T6 BYTE $0xc4; BYTE $0xe2; BYTE $0x4b; BYTE $0x5e; BYTE $0xc4
#define TDPI_T1_T4_T7 BYTE $0xc4; BYTE $0xe2; BYTE $0x43; BYTE $0x5e; BYTE $0xcc
#define TDPI_T2_T5_T6 BYTE $0xc4; BYTE $0xe2; BYTE $0x4b; BYTE $0x5e; BYTE $0xd5
#define TDPI_T3_T5_T7 BYTE $0xc4; BYTE $0xe2; BYTE $0x43; BYTE $0x5e; BYTE $0xdd

// func dotTilesI8(c *tileConfig, a *int8, lda int, b *int8, bts int, ksteps int, acc *int32, load bool)
TEXT ·dotTilesI8(SB), NOSPLIT, $0-57
	MOVQ c+0(FP), AX
	TILEHEAD(a+8, lda+16, b+24, bts+32)
	MOVQ ksteps+40(FP), R13
	MOVQ acc+48(FP), R10
	MOVBLZX load+56(FP), AX
	TESTQ AX, AX
	JZ   izero
	CLOAD
	JMP  iloop

izero:
	CZERO

iloop:
	TESTQ R13, R13
	JZ    idone
	TLOAD_T4_SI_DX
	TLOAD_T5_DI_DX
	MOVQ BX, AX
	LEAQ (BX)(R9*1), CX
	TLOAD_T6_AX_R8
	TLOAD_T7_CX_R8
	TDPI_T0_T4_T6
	TDPI_T1_T4_T7
	TDPI_T2_T5_T6
	TDPI_T3_T5_T7
	ADDQ $64, SI
	ADDQ $64, DI
	ADDQ $1024, BX
	DECQ R13
	JMP  iloop

idone:
	CSTORE
	TILERELEASE
	RET


// LOAD16 loads 16 rows of 64 bytes, DX bytes apart from AX, into Z0..Z15.
#define LOAD16 \
	VMOVDQU32 (AX), Z0; ADDQ DX, AX; \
	VMOVDQU32 (AX), Z1; ADDQ DX, AX; \
	VMOVDQU32 (AX), Z2; ADDQ DX, AX; \
	VMOVDQU32 (AX), Z3; ADDQ DX, AX; \
	VMOVDQU32 (AX), Z4; ADDQ DX, AX; \
	VMOVDQU32 (AX), Z5; ADDQ DX, AX; \
	VMOVDQU32 (AX), Z6; ADDQ DX, AX; \
	VMOVDQU32 (AX), Z7; ADDQ DX, AX; \
	VMOVDQU32 (AX), Z8; ADDQ DX, AX; \
	VMOVDQU32 (AX), Z9; ADDQ DX, AX; \
	VMOVDQU32 (AX), Z10; ADDQ DX, AX; \
	VMOVDQU32 (AX), Z11; ADDQ DX, AX; \
	VMOVDQU32 (AX), Z12; ADDQ DX, AX; \
	VMOVDQU32 (AX), Z13; ADDQ DX, AX; \
	VMOVDQU32 (AX), Z14; ADDQ DX, AX; \
	VMOVDQU32 (AX), Z15; ADDQ DX, AX

// func packI8Tile16(dst *int8, x *int8, ldx int, kquads int)
// The B-tile layout of 16 tokens of int8 activations: dword kq·16 + t of dst holds
// x[t, 4kq .. 4kq+3], for kq < kquads (a multiple of 16): 16×16 dword blocks transposed.
TEXT ·packI8Tile16(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), BX
	MOVQ x+8(FP), R11
	MOVQ ldx+16(FP), DX
	MOVQ kquads+24(FP), CX
	SHRQ $4, CX

pi8:
	TESTQ CX, CX
	JZ    pi8done
	MOVQ R11, AX
	LOAD16
	TRANSPOSE16
	STORE16
	ADDQ $64, R11
	ADDQ $1024, BX
	DECQ CX
	JMP  pi8

pi8done:
	VZEROUPPER
	RET

// ones are the scale of an unscaled store.
DATA ones<>+0(SB)/8, $0x3f8000003f800000
DATA ones<>+8(SB)/8, $0x3f8000003f800000
DATA ones<>+16(SB)/8, $0x3f8000003f800000
DATA ones<>+24(SB)/8, $0x3f8000003f800000
DATA ones<>+32(SB)/8, $0x3f8000003f800000
DATA ones<>+40(SB)/8, $0x3f8000003f800000
DATA ones<>+48(SB)/8, $0x3f8000003f800000
DATA ones<>+56(SB)/8, $0x3f8000003f800000
GLOBL ones<>(SB), RODATA|NOPTR, $64

// STOUT(k, Zk) stores token k's 16 outputs (Zk after TRANSPOSE16) if k < ntok (CX): × the row
// scales (R8), + dst if acc (R9), to DI; then DI moves to the next token (DX bytes).
#define STOUT(k, z) \
	CMPQ CX, $k; \
	JLE  stdone; \
	VMULPS (R8), z, z; \
	TESTQ R9, R9; \
	JZ 2(PC); \
	VADDPS (DI), z, z; \
	VMOVUPS z, (DI); \
	ADDQ DX, DI

// func storeTile(src *float32, dst *float32, ldd int, ntok int, scale *float32, acc bool)
// The tile's 16 rows are loaded and transposed in registers (TRANSPOSE16), one register per token.
TEXT ·storeTile(SB), NOSPLIT, $0-41
	MOVQ src+0(FP), AX
	MOVQ dst+8(FP), DI
	MOVQ ldd+16(FP), DX
	SHLQ $2, DX
	MOVQ ntok+24(FP), CX
	MOVQ scale+32(FP), R8
	MOVBLZX acc+40(FP), R9
	TESTQ R8, R8
	JNZ  2(PC)
	LEAQ ones<>(SB), R8
	MOVQ $64, R10
	MOVQ DX, R11
	MOVQ R10, DX
	LOAD16
	MOVQ R11, DX
	TRANSPOSE16
	STOUT(0, Z0)
	STOUT(1, Z1)
	STOUT(2, Z2)
	STOUT(3, Z3)
	STOUT(4, Z4)
	STOUT(5, Z5)
	STOUT(6, Z6)
	STOUT(7, Z7)
	STOUT(8, Z8)
	STOUT(9, Z9)
	STOUT(10, Z10)
	STOUT(11, Z11)
	STOUT(12, Z12)
	STOUT(13, Z13)
	STOUT(14, Z14)
	STOUT(15, Z15)

stdone:
	VZEROUPPER
	RET

// STOUTI(k, Zk) is STOUT for int32 sums: to float32, × the row scales (R8), × the token's scale
// (R10, advancing), to DI.
#define STOUTI(k, z) \
	CMPQ CX, $k; \
	JLE  stidone; \
	VCVTDQ2PS z, z; \
	VMULPS (R8), z, z; \
	VBROADCASTSS (R10), Z16; \
	VMULPS Z16, z, z; \
	VMOVUPS z, (DI); \
	ADDQ $4, R10; \
	ADDQ DX, DI

// func storeTileI32(src *int32, dst *float32, ldd int, ntok int, scale *float32, tscale *float32)
// dst[t·ldd + r] = (float32(src[r·16+t]) · scale[r]) · tscale[t] for t < ntok, r < 16.
TEXT ·storeTileI32(SB), NOSPLIT, $0-48
	MOVQ src+0(FP), AX
	MOVQ dst+8(FP), DI
	MOVQ ntok+24(FP), CX
	MOVQ scale+32(FP), R8
	MOVQ tscale+40(FP), R10
	MOVQ $64, DX
	LOAD16
	MOVQ ldd+16(FP), DX
	SHLQ $2, DX
	TRANSPOSE16
	STOUTI(0, Z0)
	STOUTI(1, Z1)
	STOUTI(2, Z2)
	STOUTI(3, Z3)
	STOUTI(4, Z4)
	STOUTI(5, Z5)
	STOUTI(6, Z6)
	STOUTI(7, Z7)
	STOUTI(8, Z8)
	STOUTI(9, Z9)
	STOUTI(10, Z10)
	STOUTI(11, Z11)
	STOUTI(12, Z12)
	STOUTI(13, Z13)
	STOUTI(14, Z14)
	STOUTI(15, Z15)

stidone:
	VZEROUPPER
	RET

// GEPII(i) is GEPI for int32 C tiles (R10): converted to float32, scaled, added to acc (AX).
#define GEPII(i) \
	VBROADCASTSS (i*4)(CX), Z0; \
	VBROADCASTSS (64+i*4)(CX), Z1; \
	VCVTDQ2PS (i*64)(R10), Z6; \
	VMOVUPS (i*64)(AX), Z2; \
	VFMADD231PS Z6, Z0, Z2; \
	VMOVUPS Z2, (i*64)(AX); \
	VCVTDQ2PS (1024+i*64)(R10), Z7; \
	VMOVUPS (1024+i*64)(AX), Z3; \
	VFMADD231PS Z7, Z0, Z3; \
	VMOVUPS Z3, (1024+i*64)(AX); \
	VCVTDQ2PS (2048+i*64)(R10), Z8; \
	VMOVUPS (2048+i*64)(AX), Z4; \
	VFMADD231PS Z8, Z1, Z4; \
	VMOVUPS Z4, (2048+i*64)(AX); \
	VCVTDQ2PS (3072+i*64)(R10), Z9; \
	VMOVUPS (3072+i*64)(AX), Z5; \
	VFMADD231PS Z9, Z1, Z5; \
	VMOVUPS Z5, (3072+i*64)(AX)

// GEPIW(i) is GEPII writing acc (the first group of a call that starts the sums): no load of acc,
// so the caller need not clear it.
#define GEPIW(i) \
	VBROADCASTSS (i*4)(CX), Z0; \
	VBROADCASTSS (64+i*4)(CX), Z1; \
	VCVTDQ2PS (i*64)(R10), Z6; \
	VMULPS Z6, Z0, Z2; \
	VMOVUPS Z2, (i*64)(AX); \
	VCVTDQ2PS (1024+i*64)(R10), Z7; \
	VMULPS Z7, Z0, Z3; \
	VMOVUPS Z3, (1024+i*64)(AX); \
	VCVTDQ2PS (2048+i*64)(R10), Z8; \
	VMULPS Z8, Z1, Z4; \
	VMOVUPS Z4, (2048+i*64)(AX); \
	VCVTDQ2PS (3072+i*64)(R10), Z9; \
	VMULPS Z9, Z1, Z5; \
	VMOVUPS Z5, (3072+i*64)(AX)

// GEPIIALL and GEPIWALL run GEPII and GEPIW on the 16 rows of the four C tiles.
#define GEPIIALL \
	GEPII(0); GEPII(1); GEPII(2); GEPII(3); GEPII(4); GEPII(5); GEPII(6); GEPII(7); \
	GEPII(8); GEPII(9); GEPII(10); GEPII(11); GEPII(12); GEPII(13); GEPII(14); GEPII(15)
#define GEPIWALL \
	GEPIW(0); GEPIW(1); GEPIW(2); GEPIW(3); GEPIW(4); GEPIW(5); GEPIW(6); GEPIW(7); \
	GEPIW(8); GEPIW(9); GEPIW(10); GEPIW(11); GEPIW(12); GEPIW(13); GEPIW(14); GEPIW(15)

// func dotTilesGI8(c *tileConfig, a *int8, lda int, b *int8, bts int, ngroups int, gsteps int, acc *float32, cbuf *int32, s *float32, init bool)
TEXT ·dotTilesGI8(SB), NOSPLIT, $0-81
	MOVQ c+0(FP), AX
	TILEHEAD(a+8, lda+16, b+24, bts+32)
	MOVQ cbuf+64(FP), R10
	MOVBQZX init+80(FP), R11

giloop:
	MOVQ  ngroups+40(FP), AX
	TESTQ AX, AX
	JZ    gidone
	DECQ  AX
	MOVQ  AX, ngroups+40(FP)
	MOVQ  gsteps+48(FP), R13
	CZERO

gik:
	TESTQ R13, R13
	JZ    giepi
	TLOAD_T4_SI_DX
	TLOAD_T5_DI_DX
	MOVQ BX, AX
	LEAQ (BX)(R9*1), CX
	TLOAD_T6_AX_R8
	TLOAD_T7_CX_R8
	TDPI_T0_T4_T6
	TDPI_T1_T4_T7
	TDPI_T2_T5_T6
	TDPI_T3_T5_T7
	ADDQ $64, SI
	ADDQ $64, DI
	ADDQ $1024, BX
	DECQ R13
	JMP  gik

giepi:
	CSTORE
	MOVQ acc+56(FP), AX
	MOVQ s+72(FP), CX
	TESTQ R11, R11
	JNZ   giepiw
	GEPIIALL
	JMP  ginext

giepiw:
	GEPIWALL
	XORQ R11, R11

ginext:
	ADDQ $128, CX
	MOVQ CX, s+72(FP)
	JMP  giloop

gidone:
	TILERELEASE
	VZEROUPPER
	RET

// COMB3(r, cvt) combines row r of the three digit tiles at AX, AX+BX, AX+2·BX into DI:
// ((256·C2 + C1)·256 + C0)·unit (Z31), the Cs through cvt (VCVTDQ2PS, or VMOVUPS for float32).
#define COMB3(r, cvt) \
	cvt (r*64)(AX)(BX*2), Z0; \
	cvt (r*64)(AX)(BX*1), Z1; \
	cvt (r*64)(AX), Z2; \
	VFMADD213PS Z1, Z30, Z0; \
	VFMADD213PS Z2, Z30, Z0; \
	VMULPS Z31, Z0, Z0; \
	VMOVUPS Z0, (r*64)(DI)

#define COMB3ALL(cvt) \
	COMB3(0, cvt); COMB3(1, cvt); COMB3(2, cvt); COMB3(3, cvt); \
	COMB3(4, cvt); COMB3(5, cvt); COMB3(6, cvt); COMB3(7, cvt); \
	COMB3(8, cvt); COMB3(9, cvt); COMB3(10, cvt); COMB3(11, cvt); \
	COMB3(12, cvt); COMB3(13, cvt); COMB3(14, cvt); COMB3(15, cvt)

// func comb3I32(src *int32, step int, dst *float32, unit *float32)
// dst[r·16+t] = ((256·C2 + C1)·256 + C0)·unit[t] for the 16×16 int32 tiles C_p at src + p·step
// bytes: the three digit products of 16 tokens (a16vnni.go's digits) made one f32 tile.
TEXT ·comb3I32(SB), NOSPLIT, $0-32
	MOVQ         src+0(FP), AX
	MOVQ         step+8(FP), BX
	MOVQ         dst+16(FP), DI
	MOVQ         unit+24(FP), CX
	VMOVUPS      (CX), Z31
	MOVL         $0x43800000, DX // 256.0
	VPBROADCASTD DX, Z30
	COMB3ALL(VCVTDQ2PS)
	VZEROUPPER
	RET

// func comb3F32(src *float32, step int, dst *float32, unit *float32)
// comb3I32 for float32 tiles (the grouped products, already scaled per group).
TEXT ·comb3F32(SB), NOSPLIT, $0-32
	MOVQ         src+0(FP), AX
	MOVQ         step+8(FP), BX
	MOVQ         dst+16(FP), DI
	MOVQ         unit+24(FP), CX
	VMOVUPS      (CX), Z31
	MOVL         $0x43800000, DX // 256.0
	VPBROADCASTD DX, Z30
	COMB3ALL(VMOVUPS)
	VZEROUPPER
	RET
