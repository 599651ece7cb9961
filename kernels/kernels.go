package kernels

import (
	"fmt"
	"math"
)

// minParallelMACs is the number of multiply-adds under which a matrix product runs on the calling
// goroutine: starting goroutines costs about a microsecond, which 64K MACs (~2-4 µs of SIMD work) covers.
const minParallelMACs = 1 << 16

// Dot returns Σ_i x[i]·y[i]. It panics if the lengths differ.
func Dot(x, y []float32) float32 {
	if len(x) != len(y) {
		panic(fmt.Sprintf("kernels: Dot: len(x) %d != len(y) %d", len(x), len(y)))
	}
	return active.dot(x, y)
}

// Axpy is
//
//	for i := range x {
//		y[i] += a * x[i]
//	}
//
// It panics if the lengths differ.
func Axpy(a float32, x, y []float32) {
	if len(x) != len(y) {
		panic(fmt.Sprintf("kernels: Axpy: len(x) %d != len(y) %d", len(x), len(y)))
	}
	active.axpy(a, x, y)
}

func checkMat(name string, lenDst, lenW, rows, cols, lenX, n int) {
	switch {
	case rows < 0 || cols < 0 || n < 0:
		panic(fmt.Sprintf("kernels: %s: negative shape rows=%d cols=%d n=%d", name, rows, cols, n))
	case lenW < rows*cols:
		panic(fmt.Sprintf("kernels: %s: len(w) %d < rows*cols %d*%d", name, lenW, rows, cols))
	case lenX < n*cols:
		panic(fmt.Sprintf("kernels: %s: len(x) %d < n*cols %d*%d", name, lenX, n, cols))
	case lenDst < n*rows:
		panic(fmt.Sprintf("kernels: %s: len(dst) %d < n*rows %d*%d", name, lenDst, n, rows))
	}
}

// MatVec is dst[r] = Σ_c w[r*cols+c]·x[c] for r < rows, i.e.
//
//	for r := 0; r < rows; r++ {
//		var s float32
//		for c := 0; c < cols; c++ {
//			s += w[r*cols+c] * x[c]
//		}
//		dst[r] = s
//	}
//
// w is (rows, cols) row-major, x is (cols), dst is (rows). Rows are split over goroutines when the product
// has at least 64K multiply-adds.
func MatVec(dst, w []float32, rows, cols int, x []float32) {
	checkMat("MatVec", len(dst), len(w), rows, cols, len(x), 1)
	ks := active
	parallelRows(rows, ks.rowBlock, rows*cols, func(lo, hi int) {
		ks.matVecRange(dst, w, cols, x, lo, hi)
	})
}

// MatMulT is dst[i*rows+r] = Σ_c w[r*cols+c]·x[i*cols+c], i.e. dst = x·wᵀ (a Linear layer without bias):
//
//	for i := 0; i < n; i++ {
//		for r := 0; r < rows; r++ {
//			var s float32
//			for c := 0; c < cols; c++ {
//				s += w[r*cols+c] * x[i*cols+c]
//			}
//			dst[i*rows+r] = s
//		}
//	}
//
// w is (rows, cols), x is (n, cols), dst is (n, rows), all row-major. It is a register-blocked GEMM
// (R weight rows × 3 tokens per micro-kernel, R = 8 with AVX-512, 4 otherwise) blocked over cols for L1 and
// over tokens for L2; rows are split over goroutines.
func MatMulT(dst, w []float32, rows, cols int, x []float32, n int) {
	checkMat("MatMulT", len(dst), len(w), rows, cols, len(x), n)
	if n == 1 {
		MatVec(dst, w, rows, cols, x)
		return
	}
	ks := active
	parallelRows(rows, ks.rowBlock, rows*cols*n, func(lo, hi int) {
		ks.matMulTRange(dst, w, nil, rows, cols, x, n, lo, hi)
	})
}

// MatVecBF16 is MatVec with bfloat16 weights: dst[r] = Σ_c bf16(w[r*cols+c])·x[c], where bf16(u) is the
// float32 whose top 16 bits are u. Accumulation is in float32.
func MatVecBF16(dst []float32, w []uint16, rows, cols int, x []float32) {
	checkMat("MatVecBF16", len(dst), len(w), rows, cols, len(x), 1)
	ks := active
	parallelRows(rows, ks.rowBlock, rows*cols, func(lo, hi int) {
		ks.matVecBF16Range(dst, w, cols, x, lo, hi)
	})
}

// MatMulTBF16 is MatMulT with bfloat16 weights: dst[i*rows+r] = Σ_c bf16(w[r*cols+c])·x[i*cols+c].
// Each block of R rows × (up to 512) cols is widened to float32 once and reused for all tokens of a block;
// from amxMinTokens tokens on a CPU with AMX-BF16 the product runs on tiles instead (amxpath.go), exact
// products and float32 sums as here.
func MatMulTBF16(dst []float32, w []uint16, rows, cols int, x []float32, n int) {
	checkMat("MatMulTBF16", len(dst), len(w), rows, cols, len(x), n)
	if n == 1 {
		MatVecBF16(dst, w, rows, cols, x)
		return
	}
	if useAMX(rows, cols, n) {
		matMulTBF16AMX(dst, w, rows, cols, x, n)
		return
	}
	ks := active
	parallelRows(rows, ks.rowBlock, rows*cols*n, func(lo, hi int) {
		ks.matMulTRange(dst, nil, w, rows, cols, x, n, lo, hi)
	})
}

// BF16ToF32 is dst[i] = float32frombits(uint32(src[i]) << 16). It panics if the lengths differ.
func BF16ToF32(dst []float32, src []uint16) {
	if len(dst) != len(src) {
		panic(fmt.Sprintf("kernels: BF16ToF32: len(dst) %d != len(src) %d", len(dst), len(src)))
	}
	active.bf16ToF32(dst, src)
}

// F32ToBF16 rounds each float32 to bfloat16, to nearest with ties to even, exactly as torch's
// c10::round_to_nearest_even (used by tensor.to(torch.bfloat16)): NaN becomes 0x7FC0, values that round
// beyond the largest bfloat16 become ±Inf. It panics if the lengths differ.
func F32ToBF16(dst []uint16, src []float32) {
	if len(dst) != len(src) {
		panic(fmt.Sprintf("kernels: F32ToBF16: len(dst) %d != len(src) %d", len(dst), len(src)))
	}
	active.f32ToBF16(dst, src)
}

// F16ToF32 converts IEEE 754 binary16 values to float32 exactly, subnormals included; Inf stays Inf and
// NaN keeps its sign and payload (not quieted), as numpy and c10's fp16_ieee_to_fp32_value do. It is
// pure Go on all paths (it only runs when loading float16 checkpoints). It panics if the lengths differ.
func F16ToF32(dst []float32, src []uint16) {
	if len(dst) != len(src) {
		panic(fmt.Sprintf("kernels: F16ToF32: len(dst) %d != len(src) %d", len(dst), len(src)))
	}
	for i, h := range src {
		sign := uint32(h&0x8000) << 16
		em := uint32(h & 0x7FFF)
		switch {
		case em >= 0x7C00: // Inf or NaN: all-ones exponent, mantissa moved up unchanged
			dst[i] = math.Float32frombits(sign | 0x7F800000 | (em&0x3FF)<<13)
		case em >= 0x0400: // normal: rebias the exponent from 15 to 127
			dst[i] = math.Float32frombits(sign | (em<<13 + (127-15)<<23))
		default: // zero or subnormal: m · 2^-24 is exact in float32
			dst[i] = math.Float32frombits(sign | math.Float32bits(float32(em)*(1.0/(1<<24))))
		}
	}
}

// RMSNorm is dst[i] = x[i] / sqrt(mean(x²) + eps) · weight[i]. The sum of squares is accumulated in
// float64 (so the mean is exact to float32 precision for any length); the scale s = 1/sqrt(mean+eps) is
// rounded to float32 and applied as (x[i]·s)·weight[i] in float32, the order of Hugging Face's LlamaRMSNorm.
// dst may alias x. It panics if the lengths differ.
func RMSNorm(dst, x, weight []float32, eps float32) {
	if len(dst) != len(x) || len(weight) != len(x) {
		panic(fmt.Sprintf("kernels: RMSNorm: len(dst) %d, len(x) %d, len(weight) %d differ", len(dst), len(x), len(weight)))
	}
	if len(x) == 0 {
		return
	}
	ks := active
	var ss float64
	if ks.sumSq != nil {
		ss = ks.sumSq(x)
	} else {
		var s0, s1, s2, s3 float64
		i := 0
		for ; i+4 <= len(x); i += 4 {
			a, b, c, d := float64(x[i]), float64(x[i+1]), float64(x[i+2]), float64(x[i+3])
			s0 += a * a
			s1 += b * b
			s2 += c * c
			s3 += d * d
		}
		for ; i < len(x); i++ {
			a := float64(x[i])
			s0 += a * a
		}
		ss = (s0 + s1) + (s2 + s3)
	}
	s := float32(1 / math.Sqrt(ss/float64(len(x))+float64(eps)))
	if ks.rmsMul != nil {
		ks.rmsMul(dst, x, weight, s)
		return
	}
	weight = weight[:len(x)]
	dst = dst[:len(x)]
	for i, v := range x {
		dst[i] = float32(v*s) * weight[i]
	}
}

// Add is x[i] += y[i] (the residual connection). It panics if the lengths differ.
func Add(x, y []float32) {
	if len(x) != len(y) {
		panic(fmt.Sprintf("kernels: Add: len(x) %d != len(y) %d", len(x), len(y)))
	}
	if len(x) == 0 {
		return
	}
	if f := active.add; f != nil {
		f(x, y)
		return
	}
	for i := range x {
		x[i] += y[i]
	}
}

// SoftmaxInPlace is x[i] = exp(x[i]-max(x)) / Σ_j exp(x[j]-max(x)). Subtracting the maximum keeps every
// exponent ≤ 0 so nothing overflows; the exponentials use float64 math.Exp and the sum is float64, so the
// result is within 1 ulp of float32 of the exact softmax. An all -Inf input gives NaN, as in torch.
func SoftmaxInPlace(x []float32) {
	if len(x) == 0 {
		return
	}
	m := x[0]
	for _, v := range x[1:] {
		if v > m || v != v {
			m = v
		}
	}
	var sum float64
	for i, v := range x {
		e := math.Exp(float64(v) - float64(m))
		x[i] = float32(e)
		sum += e
	}
	inv := 1 / sum
	for i, v := range x {
		x[i] = float32(float64(v) * inv)
	}
}

// SiLUMul is dst[i] = silu(gate[i])·up[i] with silu(g) = g/(1+exp(-g)), the SwiGLU of Llama's MLP,
// in float32 with the fast expf (relative error < 2e-7): within 6 float32 ulps of the float64 result.
// It is computed in float64. dst may alias gate or up. It panics if the lengths differ.
func SiLUMul(dst, gate, up []float32) {
	if len(dst) != len(gate) || len(up) != len(gate) {
		panic(fmt.Sprintf("kernels: SiLUMul: len(dst) %d, len(gate) %d, len(up) %d differ", len(dst), len(gate), len(up)))
	}
	up = up[:len(gate)]
	dst = dst[:len(gate)]
	i := 0
	if f := active.siluMul; f != nil {
		if i = len(gate) - len(gate)%16; i > 0 {
			f(dst[:i], gate[:i], up[:i])
		}
	}
	for ; i < len(gate); i++ {
		g := gate[i]
		dst[i] = g / (1 + expf(-g)) * up[i]
	}
}

// matVecRange computes dst[r] for r in [lo, hi); lo is a multiple of rowBlock.
func (ks *kernelSet) matVecRange(dst, w []float32, cols int, x []float32, lo, hi int) {
	R := ks.rowBlock
	kmain := cols - cols%ks.kStep
	r := lo
	if L := (hi - lo) / R; kmain > 0 && L > 0 {
		// R runs of L consecutive rows side by side (see runPrefetch), row b of every run per call.
		var o [8]float32
		for b := range L {
			ks.gemv(o[:], w[(lo+b)*cols:], L*cols, x, kmain, false)
			for i := range R {
				dst[lo+i*L+b] = o[i]
			}
		}
		r = lo + R*L
	}
	for ; r < hi; r++ {
		dst[r] = ks.dot(w[r*cols:r*cols+kmain], x)
	}
	if kmain < cols {
		for r := lo; r < hi; r++ {
			dst[r] += dotGo(w[r*cols+kmain:(r+1)*cols], x[kmain:cols])
		}
	}
}

// runPrefetch is how many rows ahead the bf16 GEMV prefetches along each run.
//
// The one-token GEMVs (matVecRange, matVecBF16Range) take the R rows of each kernel call from R runs
// of L = (hi−lo)/R consecutive rows, row b of every run: each of the R streams the hardware
// prefetchers follow then covers consecutive rows, whole 4 KiB pages, where a block of R adjacent
// rows shorter than a page (the SmolLM2 shape's 576 columns: 2.3 KiB f32, 1.1 KiB bf16 rows) puts
// several streams in one page, which the L2 streamer does not follow. Each row's sum is the same
// kernel arithmetic either way.
const runPrefetch = 2

// matVecBF16Range computes dst[r] for r in [lo, hi); lo is a multiple of rowBlock.
func (ks *kernelSet) matVecBF16Range(dst []float32, w []uint16, cols int, x []float32, lo, hi int) {
	R := ks.rowBlock
	kmain := cols - cols%ks.kStep
	r := lo
	if L := (hi - lo) / R; kmain > 0 && L > 0 {
		var o [8]float32
		for b := range L {
			if ks.gemvBF16Pf != nil {
				ks.gemvBF16Pf(o[:], w[(lo+b)*cols:], L*cols, x, kmain, runPrefetch*cols*2)
			} else {
				ks.gemvBF16(o[:], w[(lo+b)*cols:], L*cols, x, kmain, false)
			}
			for i := range R {
				dst[lo+i*L+b] = o[i]
			}
		}
		r = lo + R*L
	}
	for ; r < hi; r++ {
		dst[r] = dotBF16Go(w[r*cols:r*cols+kmain], x)
	}
	if kmain < cols {
		for r := lo; r < hi; r++ {
			dst[r] += dotBF16Go(w[r*cols+kmain:(r+1)*cols], x[kmain:cols])
		}
	}
}

// dotBF16Go is Σ_c bf16(w[c])·x[c] over all of w.
func dotBF16Go(w []uint16, x []float32) float32 {
	x = x[:len(w)]
	var s float32
	for c, u := range w {
		s += math.Float32frombits(uint32(u)<<16) * x[c]
	}
	return s
}

// gemmBlocking returns the column block kc (a multiple of kStep, at most ~512 floats so that R weight rows
// and 3 token rows of one block stay in L1) and the token block nb (so that nb×kc floats of x, ~512 KiB,
// stay in L2 while every row block of the thread streams over them).
func gemmBlocking(kmain, kStep int) (kc, nb int) {
	kc = kmain
	if kmain > 768 {
		nk := (kmain + 511) / 512
		kc = (kmain + nk - 1) / nk
		kc = (kc + kStep - 1) / kStep * kStep
	}
	nb = (512 << 10) / 4 / max(kc, 1)
	nb = max(nb/tokTile*tokTile, tokTile)
	return kc, nb
}

// matMulTRange computes dst[i*rows+r] for all i < n and r in [lo, hi); lo is a multiple of rowBlock.
// Exactly one of w (float32) and wb (bfloat16) is non-nil. With bfloat16 weights each R×kc weight block is
// widened into a float32 scratch block first and the float32 micro-kernels run on it.
func (ks *kernelSet) matMulTRange(dst, w []float32, wb []uint16, rows, cols int, x []float32, n, lo, hi int) {
	if cols == 0 { // empty sums
		for t := 0; t < n; t++ {
			clear(dst[t*rows+lo : t*rows+hi])
		}
		return
	}
	R := ks.rowBlock
	kmain := cols - cols%ks.kStep
	kc, nb := gemmBlocking(kmain, ks.kStep)
	var scratch []float32 // (R, kc) row-major: the widened bfloat16 block
	if wb != nil {
		scratch = make([]float32, R*kc)
	}
	for kb := 0; kb < kmain; kb += kc {
		kl := min(kc, kmain-kb)
		acc := kb > 0
		for tb := 0; tb < n; tb += nb {
			te := min(n, tb+nb)
			r := lo
			for ; r+R <= hi; r += R {
				wp, ldw := w, cols
				if wb != nil {
					for j := 0; j < R; j++ {
						o := (r+j)*cols + kb
						ks.bf16ToF32(scratch[j*kl:(j+1)*kl], wb[o:o+kl])
					}
					wp, ldw = scratch, kl
				} else {
					wp = w[r*cols+kb:]
				}
				t := tb
				for ; t+tokTile <= te; t += tokTile {
					ks.gemm(dst[t*rows+r:], rows, wp, ldw, x[t*cols+kb:], cols, kl, acc)
				}
				for ; t < te; t++ {
					ks.gemv(dst[t*rows+r:], wp, ldw, x[t*cols+kb:], kl, acc)
				}
			}
			for ; r < hi; r++ { // leftover rows, fewer than R
				var wr []float32
				if wb != nil {
					o := r*cols + kb
					wr = scratch[:kl]
					ks.bf16ToF32(wr, wb[o:o+kl])
				} else {
					wr = w[r*cols+kb : r*cols+kb+kl]
				}
				for t := tb; t < te; t++ {
					store(dst, t*rows+r, ks.dot(wr, x[t*cols+kb:t*cols+kb+kl]), acc)
				}
			}
		}
	}
	if kmain == cols {
		return
	}
	// Tail columns [kmain, cols), fewer than kStep, in Go.
	for r := lo; r < hi; r++ {
		for t := 0; t < n; t++ {
			xt := x[t*cols+kmain : (t+1)*cols]
			var s float32
			if wb != nil {
				s = dotBF16Go(wb[r*cols+kmain:(r+1)*cols], xt)
			} else {
				s = dotGo(w[r*cols+kmain:(r+1)*cols], xt)
			}
			store(dst, t*rows+r, s, kmain > 0)
		}
	}
}
