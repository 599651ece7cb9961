// Package amx multiplies matrices on Intel AMX tiles (AMX-BF16: TDPBF16PS) for the engine's
// prefill GEMMs: Y = X · Wᵀ with x (n, cols) float32 activations and w (rows, cols) weights that
// are exactly representable in bfloat16 (bf16 checkpoints, and the integer codes of the int8 and
// int4 formats, whose scales are applied in float32 afterwards).
//
// Precision. TDPBF16PS multiplies bfloat16 pairs and accumulates in float32. The weights go in as
// they are (exact). Each float32 activation is split into Parts bfloat16 pieces,
//
//	x = h + m + l,  h = bf16(x), m = bf16(x − h), l = bf16(x − h − m)   (round to nearest even)
//
// which is exact for every finite float32 whose pieces stay in bfloat16's normal range (|x| above
// ~2^-110, as TDPBF16PS reads bfloat16 subnormals as zero, and below 3.39e38, which rounds to
// infinity), so every product w·x is formed exactly and
// the result differs from the float32 loop only in summation order: the same γ_k bound the float32
// kernels are tested against.
//
// Layouts. A (weights) is loaded straight from row-major bfloat16 rows (16 rows × 32 columns per
// tile, row stride = the row's bytes), so bf16 checkpoints need no repacking. B (activations) is a
// Panel: per part p, per 16-token tile tb, per column pair kp, 16 dwords (x[t, 2kp], x[t, 2kp+1]),
// the pair layout TDPBF16PS reads. One kernel call computes a 32-row × 32-token block (four 16×16
// float32 accumulator tiles, C[r][t]); Store transposes finished blocks into dst (n, rows).
//
// Tiles need the kernel's permission (arch_prctl ARCH_REQ_XCOMP_PERM), asked for once by
// Available. Every assembly call loads its tile configuration and releases the tiles before it
// returns: assembly functions are never preempted by the Go scheduler, so no other goroutine
// can see or clobber the tile registers, and the thread leaves no AMX state live between calls.
package amx
