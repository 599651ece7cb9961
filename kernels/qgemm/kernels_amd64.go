//go:build amd64

package qgemm

import "golang.org/x/sys/cpu"

// CPU features, read once; tests flip them to exercise every path this machine can run.
var (
	// hasVNNI: AVX-512 F+BW+VL+VNNI (VPDPBUSD) — W8A8 and W4A8 int8 kernels.
	hasVNNI = cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512VL && cpu.X86.HasAVX512VNNI
	// hasAVX512: AVX-512 F+BW+VL — the f32-activation kernels (W4A16, W8A16, FP8).
	hasAVX512 = cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512VL
	// hasAVX2: AVX2 — the int8 kernel without VNNI (VPMADDWD).
	hasAVX2 = cpu.X86.HasAVX2
)

// The kernels below each compute a plain loop over nblk full blocks of 64 weights (k < 64·nblk).
// Row r of a weight operand starts at w + r·wstride, token t of x at x + t·xstride.

// avx2R4T1: out[r] = Σ_k int32(x[k]) · int32(w[r·wstride+k]), r < 4 (x unsigned, w signed), AVX2.
//
//go:noescape
func avx2R4T1(w *int8, wstride int, x *uint8, nblk int, out *[4]int32)

// vnniAmax: amax = max_k |x[k]|, bad = Σ_k x[k]·0 (NaN iff some x[k] is ±Inf or NaN), k < n.
//
//go:noescape
func vnniAmax(x *float32, n int) (amax, bad float32)

// vnniQuant: dst[k] = int8(RoundToEven(x[k]·inv)) for k < n (float32 product), returns
// Σ_k dst[k]; needs |x[k]·inv| < 127.5.
//
//go:noescape
func vnniQuant(x *float32, n int, inv float32, dst *int8) (sum int32)

// vnniQuantS: vnniQuant writing dword j (codes 4j…4j+3, zero-padded past n) at
// dst + j·dstride bytes, ceil(n/4) dwords.
//
//go:noescape
func vnniQuantS(x *float32, n int, inv float32, dst *int8, dstride int) (sum int32)
