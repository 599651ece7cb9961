//go:build !noasm

package kernels

import "golang.org/x/sys/cpu"

// Assembly kernels (kernels_avx512_amd64.s, kernels_avx2_amd64.s). Lengths and k are in elements and are
// multiples of 16 (AVX-512) or 8 (AVX2); strides (ld*) are in elements. The Go wrappers below check the
// slices cover what the assembly touches, then pass pointers.

// dotAVX512 is
//
//	for i := 0; i < n; i++ {
//		sum += x[i] * y[i]
//	}
//
//go:noescape
func dotAVX512(x, y *float32, n int) float32

// axpyAVX512 is
//
//	for i := 0; i < n; i++ {
//		y[i] += a * x[i]
//	}
//
//go:noescape
func axpyAVX512(a float32, x, y *float32, n int)

// gemm8x3AVX512 is
//
//	for t := 0; t < 3; t++ {
//		for r := 0; r < 8; r++ {
//			var s float32
//			for c := 0; c < k; c++ {
//				s += w[r*ldw+c] * x[t*ldx+c]
//			}
//			if acc { dst[t*ldd+r] += s } else { dst[t*ldd+r] = s }
//		}
//	}
//
//go:noescape
func gemm8x3AVX512(dst *float32, ldd int, w *float32, ldw int, x *float32, ldx int, k int, acc bool)

// gemv8AVX512 is
//
//	for r := 0; r < 8; r++ {
//		var s float32
//		for c := 0; c < k; c++ {
//			s += w[r*ldw+c] * x[c]
//		}
//		if acc { dst[r] += s } else { dst[r] = s }
//	}
//
//go:noescape
func gemv8AVX512(dst *float32, w *float32, ldw int, x *float32, k int, acc bool)

// gemvBF16x8AVX512 is gemv8AVX512 with w[i] read as float32frombits(uint32(w[i]) << 16); as it goes
// it prefetches the rows pfd bytes ahead of its eight (the next block: 16·ldw).
//
//go:noescape
func gemvBF16x8AVX512(dst *float32, w *uint16, ldw int, x *float32, k int, acc bool, pfd int)

// bf16ToF32AVX512 is
//
//	for i := 0; i < n; i++ {
//		dst[i] = float32frombits(uint32(src[i]) << 16)
//	}
//
//go:noescape
func bf16ToF32AVX512(dst *float32, src *uint16, n int)

// f32ToBF16AVX512 is, for i < n, dst[i] = 0x7FC0 if src[i] is NaN, else
// uint16((b + 0x7FFF + (b>>16)&1) >> 16) with b = float32bits(src[i]).
//
//go:noescape
func f32ToBF16AVX512(dst *uint16, src *float32, n int)

// dotAVX2 is dotAVX512 for n a multiple of 8.
//
//go:noescape
func dotAVX2(x, y *float32, n int) float32

// axpyAVX2 is axpyAVX512 for n a multiple of 8.
//
//go:noescape
func axpyAVX2(a float32, x, y *float32, n int)

// gemm4x3AVX2 is gemm8x3AVX512 with 4 rows: t < 3, r < 4, k a multiple of 8.
//
//go:noescape
func gemm4x3AVX2(dst *float32, ldd int, w *float32, ldw int, x *float32, ldx int, k int, acc bool)

// gemv4AVX2 is gemv8AVX512 with 4 rows, k a multiple of 8.
//
//go:noescape
func gemv4AVX2(dst *float32, w *float32, ldw int, x *float32, k int, acc bool)

// gemvBF16x4AVX2 is gemvBF16x8AVX512 with 4 rows, k a multiple of 8.
//
//go:noescape
func gemvBF16x4AVX2(dst *float32, w *uint16, ldw int, x *float32, k int, acc bool)

// bf16ToF32AVX2 is bf16ToF32AVX512 for n a multiple of 8.
//
//go:noescape
func bf16ToF32AVX2(dst *float32, src *uint16, n int)

// f32ToBF16AVX2 is f32ToBF16AVX512 for n a multiple of 8.
//
//go:noescape
func f32ToBF16AVX2(dst *uint16, src *float32, n int)

var avx512Kernels = &kernelSet{
	name:     "avx512",
	features: "avx512f avx512bw avx512vl avx512dq",
	kStep:    16,
	rowBlock: 8,
	dot:      simdDot(16, dotAVX512),
	axpy:     simdAxpy(16, axpyAVX512),
	gemm: func(dst []float32, ldd int, w []float32, ldw int, x []float32, ldx int, k int, acc bool) {
		_, _, _ = dst[2*ldd+7], w[7*ldw+k-1], x[2*ldx+k-1]
		gemm8x3AVX512(&dst[0], ldd, &w[0], ldw, &x[0], ldx, k, acc)
	},
	gemv: func(dst []float32, w []float32, ldw int, x []float32, k int, acc bool) {
		_, _, _ = dst[7], w[7*ldw+k-1], x[k-1]
		gemv8AVX512(&dst[0], &w[0], ldw, &x[0], k, acc)
	},
	gemvBF16: func(dst []float32, w []uint16, ldw int, x []float32, k int, acc bool) {
		_, _, _ = dst[7], w[7*ldw+k-1], x[k-1]
		gemvBF16x8AVX512(&dst[0], &w[0], ldw, &x[0], k, acc, 16*ldw)
	},
	gemvBF16Pf: func(dst []float32, w []uint16, ldw int, x []float32, k int, pfd int) {
		_, _, _ = dst[7], w[7*ldw+k-1], x[k-1]
		gemvBF16x8AVX512(&dst[0], &w[0], ldw, &x[0], k, false, pfd)
	},
	bf16ToF32: simdBF16ToF32(16, bf16ToF32AVX512),
	f32ToBF16: simdF32ToBF16(16, f32ToBF16AVX512),
	siluMul: func(dst, gate, up []float32) {
		siluMulAVX512(&dst[0], &gate[0], &up[0], len(gate))
	},
	expShift: func(x []float32, mx, scale float32) float64 {
		return expShiftAVX512(&x[0], len(x), mx, scale)
	},
	maxf: func(x []float32) float32 { return maxAVX512(&x[0], len(x)) },
	scalef: func(x []float32, s float32) {
		scaleAVX512(&x[0], s, len(x))
	},
	add:    func(x, y []float32) { addAVX512(&x[0], &y[0], len(x)) },
	sumSq:  func(x []float32) float64 { return sumSqAVX512(&x[0], len(x)) },
	rmsMul: func(dst, x, w []float32, s float32) { rmsScaleAVX512(&dst[0], &x[0], &w[0], s, len(x)) },
	ropeHalf: func(x []float32, heads, half int, cos, sin []float32) int {
		i0 := half - half%16
		if i0 > 0 {
			ropeHalfAVX512(&x[0], &cos[0], &sin[0], heads, half, i0)
		}
		return i0
	},
	axpyRows: func(dst, p, v []float32, ldv int) int {
		c0 := len(dst) - len(dst)%16
		if c0 > 0 && len(v) >= (len(p)-1)*ldv+c0 {
			axpyRowsAVX512(&dst[0], &p[0], &v[0], ldv, len(p), c0)
			return c0
		}
		return 0
	},
}

var avx2Kernels = &kernelSet{
	name:     "avx2",
	features: "avx2 fma",
	kStep:    8,
	rowBlock: 4,
	dot:      simdDot(8, dotAVX2),
	axpy:     simdAxpy(8, axpyAVX2),
	gemm: func(dst []float32, ldd int, w []float32, ldw int, x []float32, ldx int, k int, acc bool) {
		_, _, _ = dst[2*ldd+3], w[3*ldw+k-1], x[2*ldx+k-1]
		gemm4x3AVX2(&dst[0], ldd, &w[0], ldw, &x[0], ldx, k, acc)
	},
	gemv: func(dst []float32, w []float32, ldw int, x []float32, k int, acc bool) {
		_, _, _ = dst[3], w[3*ldw+k-1], x[k-1]
		gemv4AVX2(&dst[0], &w[0], ldw, &x[0], k, acc)
	},
	gemvBF16: func(dst []float32, w []uint16, ldw int, x []float32, k int, acc bool) {
		_, _, _ = dst[3], w[3*ldw+k-1], x[k-1]
		gemvBF16x4AVX2(&dst[0], &w[0], ldw, &x[0], k, acc)
	},
	bf16ToF32: simdBF16ToF32(8, bf16ToF32AVX2),
	f32ToBF16: simdF32ToBF16(8, f32ToBF16AVX2),
}

// archKernels returns the SIMD kernel sets this CPU supports, fastest first.
func archKernels() []*kernelSet {
	var sets []*kernelSet
	if cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512VL && cpu.X86.HasAVX512DQ {
		sets = append(sets, avx512Kernels)
	}
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		sets = append(sets, avx2Kernels)
	}
	return sets
}

// simdDot wraps an assembly dot product over multiples of step, finishing the tail in Go.
func simdDot(step int, f func(x, y *float32, n int) float32) func(x, y []float32) float32 {
	return func(x, y []float32) float32 {
		y = y[:len(x)]
		m := len(x) - len(x)%step
		var s float32
		if m > 0 {
			s = f(&x[0], &y[0], m)
		}
		for i := m; i < len(x); i++ {
			s += x[i] * y[i]
		}
		return s
	}
}

func simdAxpy(step int, f func(a float32, x, y *float32, n int)) func(a float32, x, y []float32) {
	return func(a float32, x, y []float32) {
		y = y[:len(x)]
		m := len(x) - len(x)%step
		if m > 0 {
			f(a, &x[0], &y[0], m)
		}
		for i := m; i < len(x); i++ {
			y[i] += a * x[i]
		}
	}
}

func simdBF16ToF32(step int, f func(dst *float32, src *uint16, n int)) func(dst []float32, src []uint16) {
	return func(dst []float32, src []uint16) {
		dst = dst[:len(src)]
		m := len(src) - len(src)%step
		if m > 0 {
			f(&dst[0], &src[0], m)
		}
		bf16ToF32Ref(dst[m:], src[m:])
	}
}

func simdF32ToBF16(step int, f func(dst *uint16, src *float32, n int)) func(dst []uint16, src []float32) {
	return func(dst []uint16, src []float32) {
		dst = dst[:len(src)]
		m := len(src) - len(src)%step
		if m > 0 {
			f(&dst[0], &src[0], m)
		}
		f32ToBF16Go(dst[m:], src[m:])
	}
}

// siluMulAVX512: dst[i] = gate[i]/(1+e^(−gate[i]))·up[i] for n (a multiple of 16) elements.
//
//go:noescape
func siluMulAVX512(dst, gate, up *float32, n int)

// maxAVX512 is the largest of x[0:n] (n > 0), NaN if any is NaN.
//
//go:noescape
func maxAVX512(x *float32, n int) float32

// scaleAVX512: x[i] *= s for n elements.
//
//go:noescape
func scaleAVX512(x *float32, s float32, n int)

// expShiftAVX512: x[i] = e^((x[i]−mx)·scale) for n > 0 elements; returns their sum.
//
//go:noescape
func expShiftAVX512(x *float32, n int, mx, scale float32) float64

// axpyRowsAVX512: dst[c] = Σ_{r<rows} p[r]·v[r·ldv+c] for c < cols (a multiple of 16, > 0), rows > 0.
//
//go:noescape
func axpyRowsAVX512(dst, p, v *float32, ldv, rows, cols int)

// addAVX512: x[i] += y[i] for i < n (n > 0).
//
//go:noescape
func addAVX512(x, y *float32, n int)

// sumSqAVX512 is Σ x[i]² over n > 0 elements, in float64.
//
//go:noescape
func sumSqAVX512(x *float32, n int) float64

// rmsScaleAVX512: dst[i] = (x[i]·s)·w[i] for i < n (n > 0).
//
//go:noescape
func rmsScaleAVX512(dst, x, w *float32, s float32, n int)

// ropeHalfAVX512 is RopeHalf's rotation of pairs i < n (a positive multiple of 16, ≤ half) of each of
// heads heads of 2·half floats.
//
//go:noescape
func ropeHalfAVX512(x, cos, sin *float32, heads, half, n int)
