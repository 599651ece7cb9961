package qgemm

import (
	"math"

	"github.com/qbench/qbench/kernels"
)

// Weight-only (A16) drivers of W8A16 (Int8Matrix.MatMulTA16), W4A16 (Int4Matrix.MatMulT) and the
// FP8 product (FP8Matrix.MatMulT), all Y = X · Wᵀ with x (n, cols) f32 and dst (n, rows):
//
//   - GEMM (n ≥ a16GemmMin, 4..9): each worker owns a range of weight rows; per column block of ≤ ~512
//     and token block of nb tokens it dequantizes a16RB rows × kc columns to f32 in a scratch
//     buffer (exact for int8 and e4m3 codes; u·s + b with one rounding for int4) and runs the f32
//     micro-kernel (kernels.GemmStrided) over the nb tokens, so the dequantization is amortised
//     over nb ≥ 85 tokens and the inner loop is the f32 GEMM's.
//   - GEMV (n < a16GemmMin): 8 rows per kernel call (a16*R8) sharing each x load, one horizontal
//     reduction per 8 rows; int4 codes become weights through a 16-entry VPERMPS table per row
//     and group (iota·s + b), e4m3 codes by shift, mask and ×2^120; rows split over the workers.
//     W8A16, W4A16 and FP8 take tokens four at a time (a16*R4T4: 4 rows × 4 tokens, each converted
//     weight vector multiplied into all four), a last three padded with a zero token. With VNNI,
//     W4A16 matrices under a16VNNIMaxWeights run on the activations' digit bytes instead
//     (a16vnni.go), and W8A16 and symmetric W4A16 prefill on AMX-INT8 digits (a16digits.go).
//
// Per-row scales of int8/fp8 weights are applied to the finished sums in the GEMV path (the plain
// loops' order) and folded into the dequantized weights in the GEMM path (one more rounding per
// weight, inside the tests' bound); FP8's per-token activation scales multiply the outputs.

// a16GemmMin holds, per format, the token count from which the dequantize-then-GEMM path beats
// the GEMV kernels (BenchmarkA16SmallN, 2048×2048 and 576×576, in cache). The GEMVs take four
// tokens per call (a16I8R4T4, a16I4R4T4, a16FP8R4T4): at 2048 columns they stay ahead through
// n = 8 (n=4: W8A16 186 GOP/s against 118 for the GEMM, W4A16 188 against 133, FP8 168 against
// 88-97; n=8: 158 against 138-141, 188 against 128-173, 156 against 121-137); at 576 columns,
// where a call holds a quarter of the work, through n = 5 (W8A16, W4A16) or n = 4 (FP8): the
// *Narrow fields. A variable so that the benchmark can force a path.
var a16GemmMin = struct{ i8, i8Narrow, i4, i4Narrow, fp8, fp8Narrow int }{9, 6, 9, 6, 9, 5}

// a16Gemm reports whether an A16 product of n tokens and cols columns takes the GEMM path, given
// its format's two a16GemmMin entries.
func a16Gemm(n, cols, wide, narrow int) bool {
	return n >= wide || (cols < 1024 && n >= narrow)
}

// a16RB is the number of weight rows dequantized per GEMM step (a multiple of the micro-kernel's 8).
const a16RB = 16

// a16Blocking returns the column block kc (a multiple of 64 unless it is all of cols, at most
// ~512 f32 = 2 KiB per row so that a16RB rows stay in L1/L2) and the token block nb (nb·kc f32 of x,
// ~512 KiB, stay in L2 while the worker's row blocks stream over them).
func a16Blocking(cols int) (kc, nb int) {
	kc = cols
	if cols > 768 {
		nk := (cols + 511) / 512
		kc = ((cols+nk-1)/nk + 63) / 64 * 64
	}
	nb = max(3, (512<<10)/4/max(kc, 1)/3*3)
	return kc, nb
}

// a16GEMM runs the GEMM path for rows [r0, rows): deq(buf, r, k0, k1) writes the f32 weights
// w[r, k0:k1] to buf[:k1-k0] (k0 a multiple of 64); afterwards dst[t, r] is multiplied by ts[t]
// (if ts != nil).
func a16GEMM(dst, x []float32, n, rows, cols, r0 int, deq func(buf []float32, r, k0, k1 int), ts []float32) {
	kc, nb := a16Blocking(cols)
	parallel(rows-r0, a16RB, func(lo, hi int) {
		lo, hi = lo+r0, hi+r0
		if cols == 0 {
			for t := range n {
				clear(dst[t*rows+lo : t*rows+hi])
			}
			return
		}
		pb := getF32(a16RB * kc)
		buf := *pb
		for kb := 0; kb < cols; kb += kc {
			kl := min(kc, cols-kb)
			for tb := 0; tb < n; tb += nb {
				te := min(n, tb+nb)
				for r := lo; r < hi; r += a16RB {
					re := min(r+a16RB, hi)
					for j := r; j < re; j++ {
						deq(buf[(j-r)*kl:(j-r+1)*kl], j, kb, kb+kl)
					}
					kernels.GemmStrided(dst[tb*rows+r:], rows, buf, kl, re-r, x[tb*cols+kb:], cols, te-tb, kl, kb > 0)
				}
			}
		}
		f32Pool.Put(pb)
		if ts != nil {
			for t := range n {
				a16MulSlice(dst[t*rows+lo:t*rows+hi], ts[t])
			}
		}
	})
}

// a16MulSlice multiplies every d[k] by s.
func a16MulSlice(d []float32, s float32) {
	k := 0
	if hasAVX512 && len(d) >= 16 {
		k = len(d) &^ 15
		a16Mul(&d[0], s, k)
	}
	for ; k < len(d); k++ {
		d[k] *= s
	}
}

// ---- W8A16 ----

// matMulTA16 is Int8Matrix.MatMulTA16 after the checks.
func (m *Int8Matrix) matMulTA16(dst, x []float32, n int) {
	rows, cols := m.Rows, m.Cols
	if d := m.digitsView(n); d != nil && mulDigitsMany([]*amxDigits{d}, [][]float32{dst}, x, n) { // a16digits.go
		return
	}
	if q := m.a16View(n); q != nil {
		mulA16Many([]*amxA16{q}, [][]float32{dst}, x, n)
		return
	}
	if a16Gemm(n, cols, a16GemmMin.i8, a16GemmMin.i8Narrow) {
		a16GEMM(dst, x, n, rows, cols, 0, m.deqA16, nil)
		return
	}
	kk := 0
	if hasAVX512 {
		kk = cols &^ 15
	}
	// Tokens [0, t4) four at a time (a16I8R4T4; a last three padded with a zero token in xs),
	// the rest one at a time.
	t4, xs := 0, x
	var pxs *[]float32
	if kk > 0 && kk == cols {
		if t4 = t4Tokens(n); n%4 == 3 {
			pxs = getF32((n + 1) * cols)
			xs = *pxs
			copy(xs, x[:n*cols])
			clear(xs[n*cols:])
		}
	}
	S := a16RowStride(cols)
	parallel(rows, 8*S, func(lo, hi int) {
		if t4 > 0 {
			m.gemvT4(dst, xs, t4, lo, hi, S)
		}
		for t := t4; t < n; t++ {
			xi, d := x[t*cols:(t+1)*cols], dst[t*rows:(t+1)*rows]
			r := lo
			if kk > 0 {
				// Eight runs of consecutive rows side by side (gemvRuns), then the last rows of
				// the matrix one at a time (stride 0 repeats row r in all 8 lanes).
				if kk == cols {
					r = m.gemvRuns(d, xi, lo, hi)
				}
				for ; r < hi; r++ {
					var o, s8 [8]float32
					s8[0] = 1
					a16I8R8L(&m.Q[r*cols], 0, &xi[0], kk, 1, &s8[0], 1, &o[0], 0, 0)
					s := o[0]
					if kk < cols {
						s += dotI8(m.Q[r*cols+kk:(r+1)*cols], xi[kk:])
					}
					d[r] = s * m.Scale[r]
				}
			}
			for ; r < hi; r++ { // pure Go
				d[r] = dotI8(m.Q[r*cols:(r+1)*cols], xi) * m.Scale[r]
			}
		}
	})
	if pxs != nil {
		f32Pool.Put(pxs)
	}
}

// gemvRuns is Int4Matrix.gemvRuns for int8 rows (cols a multiple of 16): eight runs of L rows side by
// side, each one sequential stream; scaled here (the same float32 product as in the kernel).
func (m *Int8Matrix) gemvRuns(d, x []float32, lo, hi int) int {
	L, cols := (hi-lo)/8, m.Cols
	if L == 0 {
		return lo
	}
	po := getF32(8 * L)
	o := *po
	a16I8R8L(&m.Q[lo*cols], L*cols, &x[0], cols, L, nil, 1, &o[0], cols, a16RunPrefetch*cols)
	for b := range L {
		for i := range 8 {
			r := lo + i*L + b
			d[r] = o[8*b+i] * m.Scale[r]
		}
	}
	f32Pool.Put(po)
	return lo + 8*L
}

// t4Tokens is how many of n tokens the four-token GEMVs take: whole groups of four, and a last
// three padded with a zero token (two or one left go one at a time, as cheap as a padded call).
func t4Tokens(n int) int {
	if n%4 == 3 {
		return n
	}
	return n / 4 * 4
}

// t4Blocks calls block(row0, st, pf) on the 4-row blocks of the four-token GEMVs in [lo, hi):
// groups of 4·S rows as S blocks of rows S apart (each row in its own 4 KiB page), then
// consecutive blocks; pf is the first row of the next block, to prefetch. It returns the first
// row left (fewer than four).
func t4Blocks(lo, hi, S int, block func(row0, st, pf int)) int {
	r := lo
	for ; S > 1 && r+4*S <= hi; r += 4 * S {
		for j := range S - 1 {
			block(r+j, S, r+j+1)
		}
		block(r+S-1, S, r+4*S)
	}
	for ; r+4 <= hi; r += 4 {
		block(r, 1, r+4)
	}
	return r
}

// gemvT4 computes tokens [0, t4) of x (cols a multiple of 16; token t4 exists and is zero when
// t4%4 == 3) for rows [lo, hi) with a16I8R4T4, four tokens per call, in blocks of four rows
// taken S apart while whole groups of 4·S rows remain (as Int4Matrix.gemvT4), every token group
// per block so that the rows are read from memory once; each sum is then scaled by its row's
// scale. The sums are those of the one-token path bit for bit (same lanes, same order).
func (m *Int8Matrix) gemvT4(dst, x []float32, t4, lo, hi, S int) {
	rows, cols := m.Rows, m.Cols
	var o [16]float32
	block := func(row0, st, pf int) {
		pf = min(pf, rows-1)
		for t0 := 0; t0 < t4; t0 += 4 {
			a16I8R4T4(&m.Q[row0*cols], st*cols, &x[t0*cols], cols, cols, &m.Q[pf*cols], &o)
			for t := range min(4, t4-t0) {
				d := dst[(t0+t)*rows:]
				for i := range 4 {
					r := row0 + st*i
					d[r] = o[4*t+i] * m.Scale[r]
				}
			}
		}
	}
	r := t4Blocks(lo, hi, S, block)
	for ; r < hi; r++ { // the last rows: the one-token kernel, stride 0 repeating row r
		for t := range t4 {
			var o8, s8 [8]float32
			s8[0] = 1
			a16I8R8L(&m.Q[r*cols], 0, &x[t*cols], cols, 1, &s8[0], 1, &o8[0], 0, 0)
			dst[t*rows+r] = o8[0] * m.Scale[r]
		}
	}
}

// deqA16 writes the weights float32(Q[r, k0:k1])·Scale[r] to buf.
func (m *Int8Matrix) deqA16(buf []float32, r, k0, k1 int) {
	q, sc := m.Q[r*m.Cols+k0:r*m.Cols+k1], m.Scale[r]
	buf = buf[:len(q)]
	k := 0
	if hasAVX512 && len(q) >= 16 {
		k = len(q) &^ 15
		a16DeqI8(&buf[0], &q[0], sc, k)
	}
	for ; k < len(q); k++ {
		buf[k] = float32(q[k]) * sc
	}
}

// dotI8 is Σ_k float32(q[k])·x[k] with four partial sums.
func dotI8(q []int8, x []float32) float32 {
	x = x[:len(q)]
	var s0, s1, s2, s3 float32
	k := 0
	for ; k+4 <= len(q); k += 4 {
		s0 += float32(q[k]) * x[k]
		s1 += float32(q[k+1]) * x[k+1]
		s2 += float32(q[k+2]) * x[k+2]
		s3 += float32(q[k+3]) * x[k+3]
	}
	for ; k < len(q); k++ {
		s0 += float32(q[k]) * x[k]
	}
	return (s0 + s1) + (s2 + s3)
}

// ---- W4A16 ----

// ghalf returns the group length in half-blocks of 32 codes (1<<40 for one group per row).
func (m *Int4Matrix) ghalf() int {
	if m.groups() > 1 {
		return m.Group / 32
	}
	return 1 << 40
}

// a16RowStride is the row stride S (1, 2 or 4) at which the four-token A16 GEMVs take the rows of
// one block, so that with rb-byte rows each lies in its own 4 KiB page: the L2 streamer follows
// one sequential stream per page, and four 1 KiB rows read side by side in one page defeat it.
// (The one-token GEMVs walk eight runs of consecutive rows instead: gemvRuns.)
// Measured as BenchmarkGEMVCold1B does (1 GiB of 2048-column int4 matrices, 2 cores), each stride
// forced: 14.8-15.3 GB/s at stride 1, 16.9-17.0 at 2, 19.8-20.7 at 4, 17.3-17.6 at 8; with 4 KiB
// rows (8192 columns) stride 1 is already one row per page.
func a16RowStride(rb int) int {
	s := 1
	for s < 4 && 2*s*rb <= 4096 {
		s *= 2
	}
	return s
}

// matMulTA16 is Int4Matrix.MatMulT after the checks.
func (m *Int4Matrix) matMulTA16(dst, x []float32, n int) {
	rows, cols := m.Rows, m.Cols
	if d := m.digitsView(n); d != nil && mulDigitsMany([]*amxDigits{d}, [][]float32{dst}, x, n) { // a16digits.go
		return
	}
	if q := m.a16View(n); q != nil {
		mulA16Many([]*amxA16{q}, [][]float32{dst}, x, n)
		return
	}
	if a16Gemm(n, cols, a16GemmMin.i4, a16GemmMin.i4Narrow) {
		a16GEMM(dst, x, n, rows, cols, 0, m.deqA16, nil)
		return
	}
	if m.a16VNNIOK(n) && m.gemvVNNI(dst, x, n) { // a16vnni.go
		return
	}
	ng, rb, ghalf := m.groups(), RowBytes(cols), m.ghalf()
	nblk := 0
	if hasAVX512 {
		nblk = cols / 64
	}
	kk := nblk * 64
	// Groups of whole 64-blocks (or one per row): the kernel that takes x in a16PermX4's order
	// (fewer shuffles per code); groups of 32 + 64j need the half-block kernel.
	var pxp *[]float32
	var xp []float32 // (n, kk) permuted x
	gblk, t4 := 0, 0
	if nblk > 0 && (ng == 1 || m.Group%64 == 0) {
		gblk = 1 << 40
		if ng > 1 {
			gblk = m.Group / 64
		}
		// Tokens [0, t4) go four at a time through a16I4R4T4 (a last three padded with a zero
		// token), the rest one at a time.
		t4 = t4Tokens(n)
		pxp = getF32(max(n, (t4+3)/4*4) * kk)
		xp = *pxp
		for t := range n {
			a16PermX4(&xp[t*kk], &x[t*cols], nblk)
		}
		clear(xp[n*kk:])
	}
	S := a16RowStride(rb)
	parallel(rows, 8*S, func(lo, hi int) {
		if t4 > 0 {
			m.gemvT4(dst, x, xp, t4, nblk, gblk, lo, hi, S)
		}
		for t := t4; t < n; t++ {
			xi, d := x[t*cols:(t+1)*cols], dst[t*rows:(t+1)*rows]
			r := lo
			if gblk > 0 {
				r = m.gemvRuns(d, xp[t*kk:], gblk, nblk, lo, hi)
			} else if nblk > 0 {
				for ; r+8 <= hi; r += 8 {
					var o [8]float32
					a16I4R8(&m.Packed[r*rb], rb, &m.deqScale[r*ng], &m.deqBias[r*ng], ng, ghalf, &xi[0], nblk, &o)
					copy(d[r:r+8], o[:])
				}
			}
			for ; r < hi; r++ { // last rows of the matrix: strides 0 repeat row r in all 8 lanes
				var o [8]float32
				if gblk > 0 {
					a16I4R8PL(&m.Packed[r*rb], 0, &m.deqScale[r*ng], &m.deqBias[r*ng], 0, gblk, &xp[t*kk], nblk, 1, &o[0], 0, 0, 0)
				} else if nblk > 0 {
					a16I4R8(&m.Packed[r*rb], 0, &m.deqScale[r*ng], &m.deqBias[r*ng], 0, ghalf, &xi[0], nblk, &o)
				}
				d[r] = o[0]
			}
			if kk < cols {
				for r := lo; r < hi; r++ {
					d[r] += m.dotA16(r, kk, xi)
				}
			}
		}
	})
	if pxp != nil {
		f32Pool.Put(pxp)
	}
}

// gemvT4 computes tokens [0, t4) (t4 ≤ len(xp)/kk, the tokens past n zero) for rows [lo, hi)
// with a16I4R4T4, four tokens per call: per block of four rows (taken S apart, as the
// one-token kernel takes eight, while whole groups of 4·S rows remain) it runs every token
// group, so the rows' codes are read from memory once and from L1 after that. BenchmarkA16SmallN
// (2048×2048 g128, in cache): 4 tokens in 188 GOP/s against 124 one at a time.
func (m *Int4Matrix) gemvT4(dst, x, xp []float32, t4, nblk, gstep, lo, hi, S int) {
	rows, cols, rb, ng, kk := m.Rows, m.Cols, RowBytes(m.Cols), m.groups(), nblk*64
	var o [16]float32
	// block runs rows row0 + st·i (i < 4), prefetching the rows from pf on.
	block := func(row0, st, pf int) {
		pf = min(pf, rows-1)
		for t0 := 0; t0 < t4; t0 += 4 {
			a16I4R4T4(&m.Packed[row0*rb], st*rb, &m.deqScale[row0*ng], &m.deqBias[row0*ng], st*ng, gstep, &xp[t0*kk], kk, nblk, &m.Packed[pf*rb], &o)
			for t := range min(4, t4-t0) {
				d := dst[(t0+t)*rows:]
				for i := range 4 {
					d[row0+st*i] = o[4*t+i]
				}
			}
		}
	}
	r := t4Blocks(lo, hi, S, block)
	for ; r < hi; r++ { // the last rows: the one-token kernel, stride 0 repeating row r
		var o8 [8]float32
		for t := range t4 {
			a16I4R8PL(&m.Packed[r*rb], 0, &m.deqScale[r*ng], &m.deqBias[r*ng], 0, gstep, &xp[t*kk], nblk, 1, &o8[0], 0, 0, 0)
			dst[t*rows+r] = o8[0]
		}
	}
	if kk < cols {
		for t := range t4 {
			xi, d := x[t*cols:(t+1)*cols], dst[t*rows:(t+1)*rows]
			for r := lo; r < hi; r++ {
				d[r] += m.dotA16(r, kk, xi)
			}
		}
	}
}

// a16RunPrefetch is how far ahead (in rows) the one-token GEMVs prefetch along each run: 1 and 2
// measured alike in BenchmarkGEMVCold1B, 0 and 4 slower.
const a16RunPrefetch = 2

// gemvRuns computes one token's rows [lo, lo+8L), L = (hi−lo)/8, as eight runs of L consecutive
// rows taken side by side: each kernel step reads row b of every run, so each of the eight
// streams the hardware prefetchers follow is L·rb bytes of consecutive rows. The L2 streamer
// follows a stream within one 4 KiB page, and a 2048-column int4 row is 1 KiB: taking the eight
// rows of a block 4 apart (one per page, a16RowStride) left it one row per page visit; a run
// visits each page for four rows. BenchmarkGEMVCold1B (1 GiB of Llama-1B matrices, 2 cores), old
// walk → runs, ms per pass: W4A16 2048×2048 45.2-45.7 → 38.7 (with the symmetric kernel),
// 8192×2048 42.3-43.3 → 37.6-37.8, 2048×8192 47.2-48.9 → 42.0-42.8. Symmetric matrices (b = −8·s
// exactly) skip the bias array: their tables (u − 8)·s are the same floats as u·s + b. Returns
// the first row not computed.
func (m *Int4Matrix) gemvRuns(d, xp []float32, gblk, nblk, lo, hi int) int {
	L := (hi - lo) / 8
	if L == 0 {
		return lo
	}
	rb, ng := RowBytes(m.Cols), m.groups()
	po := getF32(8 * L)
	o := *po
	if m.Zero == nil {
		a16I4R8PLS(&m.Packed[lo*rb], L*rb, &m.deqScale[lo*ng], L*ng, gblk, &xp[0], nblk, L, &o[0], rb, 4*ng, a16RunPrefetch*rb)
	} else {
		a16I4R8PL(&m.Packed[lo*rb], L*rb, &m.deqScale[lo*ng], &m.deqBias[lo*ng], L*ng, gblk, &xp[0], nblk, L, &o[0], rb, 4*ng, a16RunPrefetch*rb)
	}
	for b := range L {
		for i := range 8 {
			d[lo+i*L+b] = o[8*b+i]
		}
	}
	f32Pool.Put(po)
	return lo + 8*L
}

// dotA16 is Σ_{k ≥ k0} x[k]·w[r,k] with w = u·s + b in Go.
func (m *Int4Matrix) dotA16(r, k0 int, x []float32) float32 {
	row, ng := m.Packed[r*RowBytes(m.Cols):], m.groups()
	var s float32
	for k := k0; k < m.Cols; k++ {
		g := r*ng + k/m.Group
		s += x[k] * (float32(code(row, k))*m.deqScale[g] + m.deqBias[g])
	}
	return s
}

// deqA16 writes w[r, k0:k1] = u·s + b to buf; k0 is a multiple of 64.
func (m *Int4Matrix) deqA16(buf []float32, r, k0, k1 int) {
	ng := m.groups()
	buf = buf[:k1-k0]
	k := k0
	if nb := (k1 - k0) / 64; hasAVX512 && nb > 0 {
		gh := m.ghalf()
		h0 := k0 / 32
		g0, cnt := 0, gh
		if ng > 1 {
			g0, cnt = h0/gh, gh-h0%gh
		}
		a16DeqI4(&buf[0], &m.Packed[r*RowBytes(m.Cols)+k0/2], &m.deqScale[r*ng+g0], &m.deqBias[r*ng+g0], gh, cnt, nb)
		k += nb * 64
	}
	row := m.Packed[r*RowBytes(m.Cols):]
	for ; k < k1; k++ {
		g := r*ng + k/m.Group
		buf[k-k0] = float32(code(row, k))*m.deqScale[g] + m.deqBias[g]
	}
}

// ---- FP8 ----

// matMulTA16 is FP8Matrix.MatMulT after the checks: xf (n, cols) are the decoded e4m3 activations
// and sx (n) their scales.
func (m *FP8Matrix) matMulTA16(dst, xf, sx []float32, n int) {
	rows, cols := m.Rows, m.Cols
	if a16AMXOK(rows, cols, n, a16AMXMin.fp8) {
		mulA16Many([]*amxA16{m.amxFP8(sx)}, [][]float32{dst}, xf, n)
		return
	}
	if a16Gemm(n, cols, a16GemmMin.fp8, a16GemmMin.fp8Narrow) {
		a16GEMM(dst, xf, n, rows, cols, 0, m.deqA16, sx)
		return
	}
	kk := 0
	if hasAVX512 {
		kk = cols &^ 63
	}
	// The kernel reads codes as DecodeE4M3·2^-120 (no multiply): x goes in scaled by 2^112 (|xf| ≤
	// 448 stays below 2^121) and the sums come out times 2^8, both exact powers of two.
	var pxs *[]float32
	var xs []float32 // (n, kk), then a zero token when t4 pads a last three
	t4 := 0          // tokens [0, t4) four at a time (a16FP8R4T4), as in the W8A16 GEMV
	if kk > 0 {
		if kk == cols {
			t4 = t4Tokens(n)
		}
		pxs = getF32((n + 1) * kk)
		xs = *pxs
		for t := range n {
			copy(xs[t*kk:(t+1)*kk], xf[t*cols:t*cols+kk])
			a16MulSlice(xs[t*kk:(t+1)*kk], 0x1p112)
		}
		clear(xs[n*kk:])
	}
	S := a16RowStride(cols)
	parallel(rows, 8*S, func(lo, hi int) {
		if t4 > 0 && m.gemvT4(dst, xs, sx, t4, lo, hi, S) {
			for t := range t4 { // a NaN code: the plain table sums give the NaN
				for r := lo; r < hi; r++ {
					dst[t*rows+r] = dotFP8(m.Q[r*cols:(r+1)*cols], xf[t*cols:(t+1)*cols]) * m.Scale[r] * sx[t]
				}
			}
		}
		for t := t4; t < n; t++ {
			xi, d := xf[t*cols:(t+1)*cols], dst[t*rows:(t+1)*rows]
			r := lo
			if kk > 0 {
				nan := uint64(0)
				if post := 0x1p8 * sx[t]; kk == cols { // as in the W8A16 GEMV
					r, nan = m.gemvRuns(d, xs[t*kk:], post, lo, hi)
				}
				for ; r < hi && nan == 0; r++ { // last rows: stride 0 repeats row r
					var o, s8 [8]float32
					s8[0] = 1
					nan |= a16FP8R8L(&m.Q[r*cols], 0, &xs[t*kk], kk, 1, &s8[0], 0x1p8, &o[0], 0, 0)
					s := o[0]
					if kk < cols {
						s += dotFP8(m.Q[r*cols+kk:(r+1)*cols], xi[kk:])
					}
					d[r] = s * m.Scale[r] * sx[t]
				}
				if nan != 0 { // a NaN code: the plain table sums give the NaN
					r = lo
				}
			}
			for ; r < hi; r++ {
				d[r] = dotFP8(m.Q[r*cols:(r+1)*cols], xi) * m.Scale[r] * sx[t]
			}
		}
	})
	if pxs != nil {
		f32Pool.Put(pxs)
	}
}

// gemvRuns is Int4Matrix.gemvRuns for e4m3 rows (xs the activations times 2^112, cols a multiple
// of 64): d = sum·Scale[r]·post, the products of the other one-token paths. A NaN code (reported)
// leaves d wrong for the rows it covered.
func (m *FP8Matrix) gemvRuns(d, xs []float32, post float32, lo, hi int) (int, uint64) {
	L, cols := (hi-lo)/8, m.Cols
	if L == 0 {
		return lo, 0
	}
	po := getF32(8 * L)
	o := *po
	nan := a16FP8R8L(&m.Q[lo*cols], L*cols, &xs[0], cols, L, nil, 1, &o[0], cols, a16RunPrefetch*cols)
	for b := range L {
		for i := range 8 {
			r := lo + i*L + b
			d[r] = o[8*b+i] * m.Scale[r] * post
		}
	}
	f32Pool.Put(po)
	return lo + 8*L, nan
}

// gemvT4 computes tokens [0, t4) of xs (the e4m3 activations times 2^112, cols a multiple of 64;
// token t4 zero when t4%4 == 3) for rows [lo, hi) with a16FP8R4T4, four tokens per call, as
// Int8Matrix.gemvT4 does: dst = sum·Scale[r]·(2^8·sx[t]), the one-token path's products, bit for
// bit. It reports whether a NaN code was met (dst is then wrong for those rows).
func (m *FP8Matrix) gemvT4(dst, xs, sx []float32, t4, lo, hi, S int) (nan bool) {
	rows, cols := m.Rows, m.Cols
	var o [16]float32
	var flag uint64
	r := t4Blocks(lo, hi, S, func(row0, st, pf int) {
		pf = min(pf, rows-1)
		for t0 := 0; t0 < t4; t0 += 4 {
			flag |= a16FP8R4T4(&m.Q[row0*cols], st*cols, &xs[t0*cols], cols, cols, &m.Q[pf*cols], &o)
			for t := range min(4, t4-t0) {
				d, post := dst[(t0+t)*rows:], 0x1p8*sx[t0+t]
				for i := range 4 {
					r := row0 + st*i
					d[r] = o[4*t+i] * m.Scale[r] * post
				}
			}
		}
	})
	for ; r < hi; r++ { // the last rows: the one-token kernel, stride 0 repeating row r
		for t := range t4 {
			var o8, s8 [8]float32
			s8[0] = 1
			flag |= a16FP8R8L(&m.Q[r*cols], 0, &xs[t*cols], cols, 1, &s8[0], 0x1p8, &o8[0], 0, 0)
			dst[t*rows+r] = o8[0] * m.Scale[r] * sx[t]
		}
	}
	return flag != 0
}

// deqA16 writes the weights DecodeE4M3(Q[r, k0:k1])·Scale[r] to buf.
func (m *FP8Matrix) deqA16(buf []float32, r, k0, k1 int) {
	q, sc := m.Q[r*m.Cols+k0:r*m.Cols+k1], m.Scale[r]
	buf = buf[:len(q)]
	k := 0
	if hasAVX512 && len(q) >= 64 {
		k = len(q) &^ 63
		if a16DeqFP8(&buf[0], &q[0], sc, k) != 0 {
			k = 0 // a NaN code: decode by table
		}
	}
	for ; k < len(q); k++ {
		buf[k] = e4m3Table[q[k]] * sc
	}
}

// dotFP8 is Σ_k DecodeE4M3(q[k])·x[k] by table.
func dotFP8(q []uint8, x []float32) float32 {
	x = x[:len(q)]
	var s0, s1 float32
	k := 0
	for ; k+2 <= len(q); k += 2 {
		s0 += e4m3Table[q[k]] * x[k]
		s1 += e4m3Table[q[k+1]] * x[k+1]
	}
	for ; k < len(q); k++ {
		s0 += e4m3Table[q[k]] * x[k]
	}
	return s0 + s1
}

// roundActFP8 is QuantizeActFP8 followed by decoding, without the codes: per token i,
// sx[i] = max_k |x[i,k]| / 448 and xf[i,k] = DecodeE4M3(EncodeE4M3(x[i,k] · 448/amax)) (all zero
// with sx[i] = 0 when amax is 0 or NaN), x and xf (n, cols).
func roundActFP8(xf, sx, x []float32, n, cols int) {
	for i := range n {
		xi, fi := x[i*cols:(i+1)*cols], xf[i*cols:(i+1)*cols]
		kk := 0
		if hasAVX512 {
			kk = cols &^ 15
		}
		var ab uint32 // bits of amax (non-negative floats order as their bits; NaN above Inf)
		if kk > 0 {
			ab = a16AbsMaxBits(&xi[0], kk)
		}
		for _, v := range xi[kk:] {
			ab = max(ab, math.Float32bits(v)&0x7FFFFFFF)
		}
		amax := math.Float32frombits(ab)
		if amax == 0 || amax != amax {
			clear(fi)
			sx[i] = 0
			continue
		}
		inv := E4M3Max / amax
		if kk > 0 {
			a16RoundE4M3(&fi[0], &xi[0], inv, kk)
		}
		for k := kk; k < cols; k++ {
			fi[k] = e4m3Table[EncodeE4M3(xi[k]*inv)]
		}
		sx[i] = amax / E4M3Max
	}
}
