// Package qgemm multiplies quantized weight matrices with activations on the CPU without
// dequantizing whole matrices: Y = X · Wᵀ, x (n, cols) f32 row-major → dst (n, rows) f32.
//
// Formats (bits per weight, bpw, include the scales; layouts are in each type's comment):
//
//	format      weights                         activations               accumulate  kernel
//	W8A8-INT8   int8 per row, f32 scale         int8 per token (dynamic)  int32       VPDPBUSD / VPMADDWD
//	W8A16       int8 per row, f32 scale         f32                       f32         AVX-512 FMA
//	                                            (AMX: 3 digit bytes)      (int32)     (TDPBSSD)
//	W4A16       int4 per group g, f32 scale,    f32                       f32         AVX-512 FMA
//	            optional zero point per group   (VNNI/AMX: 3 digit bytes) (int32 per  (VPDPBUSD,
//	                                                                      group)      TDPBSSD)
//	W4A8 (QQQ)  int4 per channel, or per group  int8 per token (dynamic)  int32       VPDPBUSD (+VPMULLD
//	            with an integer group scale                                           per group)
//	FP8 E4M3    e4m3fn per row, f32 scale       e4m3fn per token          f32         AVX-512 FMA
//
// Each matrix type has MatMulT* (fast: hand-written AVX2/AVX-512/VNNI assembly chosen at run time
// with golang.org/x/sys/cpu, rows split over all cores) and a matching *Ref plain loop that defines
// the result. Int8-activation formats run weight-stationary VNNI micro-kernels on weights repacked
// (on first use) into panels of 16 rows × 4 k, 32 rows × up to 14 tokens per call, with no lane
// reductions (vnni.go, generated vnni_amd64.s). F32-activation formats dequantize 16-row tiles
// into the f32 GEMM micro-kernel for n ≥ 4-8 tokens and run 8-row GEMVs (int8 widened, int4 by a
// per-group table, FP8 by shift and mask) below that (a16.go). W4A16 on VNNI runs its GEMVs instead
// on the int4 panels against each token's activations as three signed digit bytes, x ≈ unit·X with
// X = d0 + 256·d1 + 65536·d2 and unit = max|x|/8355711, so the only approximation beyond f32
// accumulation is ≤ about 2⁻²⁴·max|x| per activation (a16vnni.go). Integer formats give results
// identical to their reference; float formats agree within the float32 summation bound, plus
// the digits' term where they are used (see the tests). Non-amd64 builds and CPUs without
// AVX-512 run pure-Go loops (int8 formats use AVX2 if present).
//
// Prefill on CPUs with Intel AMX (package amx): from a few dozen tokens (a16AMXMin, a8AMXMin) the
// int8-activation formats run on AMX-INT8 tiles (TDPBSSD, exact int32 sums: bit for bit the plain
// loops; a8amx.go) and the f32-activation formats on AMX-BF16 tiles, their integer or e4m3 codes
// dequantized to bf16 per 32-row block and the activations split exactly into bf16 pieces
// (a16amx.go); W8A16 and symmetric W4A16 (groups of 64k or per channel) take AMX-INT8 instead,
// their int8 codes (W4A16: u − 8) against the activations' three digit rows with exact int32
// sums, from 9 and 16 tokens (a16digits.go). MatMulTA16Many and MatMulTA8Many run several
// matrices that read the same input on one packed panel.
package qgemm
