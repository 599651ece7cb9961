package qgemm

import (
	"math"
	"sync"
)

// W4A16 GEMV on VNNI: a few tokens of f32 activations times 4-bit codes with f32 group scales.
//
// Each token's activations become integers X = round(x/unit), unit = max|x| / a16DigitMax, held
// as three signed digit bytes X = d0 + 256·d1 + 65536·d2 (d ∈ [−128, 127]). VPDPBUSD multiplies
// the unsigned codes u by each digit vector exactly into int32; at the end of each group the
// zero point comes off exactly (Σ (u − z)·dp = Σ u·dp − z·Σ dp), the three sums are combined in
// f32 (256·(256·D2 + D1) + D0, two roundings) and multiplied by the group's scale into the row's
// f32 total, which is finally multiplied by unit. So the only approximation beyond f32
// accumulation is the activation's: |x − unit·X| ≤ unit·(1/2 + 1/2 at the clamped maximum) +
// 3·2⁻²⁴·|x| (the float products inv = fl(M/amax), fl(x·inv), unit), i.e. about 2⁻²⁴·max|x| per
// element: f32's rounding of the largest activation, far below bf16 or fp16 activations (2⁻⁹,
// 2⁻¹²). TestA16FastVsRef holds it to (cols+7)·2⁻²⁴·Σ|x|·B + unit·Σ|w|.
//
// Why: the f32 GEMV (a16I4R8PL) spends three port-0/5 instructions per 16 codes converting them
// (shift, mask, VPERMPS) before one FMA; this one spends one mask and six VPDPBUSDs per 128
// codes (three digits × whole bytes and high nibbles, as the W4A8 kernels), plus the group
// epilogue.

// a16DigitMax is the largest |X|: 127·(1 + 256 + 65536), the largest three signed digits hold.
const a16DigitMax = 127 * (1 + 256 + 65536)

// a16VNNI lets tests and benchmarks switch the VNNI W4A16 GEMV off.
var a16VNNI = true

// a16VNNIMaxWeights bounds the matrices on the VNNI GEMV: it wins where the f32 GEMV is bound by
// its conversions (SmolLM2-shape decode, 576-1536 columns: 298-301 → 344-357 tok/s), but on
// matrices streamed from DRAM its four panel streams per core read slower than the f32 kernel's
// eight runs of rows (BenchmarkGEMVCold1B, three sittings: 2048×2048 40.7-41.5 against
// 37.9-39.9 ms, 8192×2048 40.0-41.3 against 36.8-39.0; L2 prefetches of the next four blocks did
// not help), and the panels would be a second copy of every large matrix. 2²² weights: 2 MiB of
// codes, below Llama-3.2-1B's smallest projection (2048×2048). A variable so that the benchmark
// can lift it.
var a16VNNIMaxWeights = 1 << 22

// a16VNNIOK reports whether n tokens take the VNNI GEMV (one token per kernel call, each four row
// blocks read from memory once for all tokens); from a16GemmMin on the GEMM paths.
func (m *Int4Matrix) a16VNNIOK(n int) bool {
	return a16VNNI && hasVNNI && hasAVX512 && m.GroupScaleInt == nil && m.Rows > 0 && m.Cols > 0 &&
		m.Cols < vnniI4MaxCols && m.Rows*m.Cols < a16VNNIMaxWeights && (m.groups() == 1 || m.Group%4 == 0) &&
		!a16Gemm(n, m.Cols, a16GemmMin.i4, a16GemmMin.i4Narrow)
}

// a16Act is n tokens' digits: d (n, 3, k4·4) bytes, sums (n, ng, 4) int32 (Σ dp per group,
// p < 3), unit (n).
type a16Act struct {
	d    []int8
	sums []int32
	unit []float32
}

var a16ActPool = sync.Pool{New: func() any { return new(a16Act) }}

// a16SplitDigits fills a with x's digits (n tokens of cols, groups of group columns, rows of
// k4·4 bytes, zero past cols). It returns false, for the f32 path to take the product, where a
// token has a NaN or ±Inf or a largest magnitude under 2⁻⁹⁰ (so that inv and unit stay normal).
func a16SplitDigits(a *a16Act, x []float32, n, cols, group, k4 int) bool {
	ng, kb := (cols+group-1)/group, k4*4
	a.d = grow(a.d, n*3*kb)
	a.sums = grow(a.sums, n*ng*4)
	a.unit = grow(a.unit, n)
	for t := range n {
		xt := x[t*cols : (t+1)*cols]
		amax, bad := vnniAmax(&xt[0], cols)
		if !a16AmaxOK(amax, bad) {
			return false
		}
		d := a.d[t*3*kb : (t+1)*3*kb]
		for p := range 3 {
			clear(d[p*kb+cols : (p+1)*kb])
		}
		inv := float32(0)
		if amax != 0 {
			inv = a16DigitMax / amax
		}
		a.unit[t] = amax / a16DigitMax
		for g := range ng {
			k0, k1 := g*group, min((g+1)*group, cols)
			a16Digits(&xt[k0], k1-k0, inv, &d[k0], kb, &a.sums[(t*ng+g)*4])
		}
	}
	return true
}

// a16TokenOK reports whether a16SplitDigits takes the token x.
func a16TokenOK(x []float32) bool { return a16AmaxOK(vnniAmax(&x[0], len(x))) }

func a16AmaxOK(amax, bad float32) bool { return bad == 0 && (amax == 0 || amax >= 0x1p-90) }

// a16DigitsRef is a16Digits in Go: the same float32 product, ties to even, clamp and digits.
func a16DigitsRef(x []float32, inv float32, d0, d1, d2 []int8) (sums [3]int32) {
	for k, v := range x {
		X := int32(math.RoundToEven(float64(v * inv)))
		X = max(-a16DigitMax, min(a16DigitMax, X))
		q0 := int8(X)
		X = (X - int32(q0)) >> 8
		q1 := int8(X)
		q2 := int8((X - int32(q1)) >> 8)
		d0[k], d1[k], d2[k] = q0, q1, q2
		sums[0] += int32(q0)
		sums[1] += int32(q1)
		sums[2] += int32(q2)
	}
	return sums
}

// vnniZeros returns the zero codes (8 for symmetric matrices) regrouped as amxScales, as int32.
func (m *Int4Matrix) vnniZeros() []int32 {
	if p := m.vnniZero.Load(); p != nil {
		return *p
	}
	ng, nb := m.groups(), (m.Rows+31)/32
	z := make([]int32, nb*ng*32)
	for r := range m.Rows {
		for g := range ng {
			v := int32(8)
			if m.Zero != nil {
				v = int32(m.Zero[r*ng+g])
			}
			z[((r/32)*ng+g)*32+r%32] = v
		}
	}
	m.vnniZero.CompareAndSwap(nil, &z)
	return *m.vnniZero.Load()
}

// gemvVNNI computes dst (n, rows) = x · Wᵀ on VNNI (a16VNNIOK(n) holds), or returns false
// without writing dst where a16SplitDigits declines the activations.
func (m *Int4Matrix) gemvVNNI(dst, x []float32, n int) bool {
	return gemvVNNIMany([]*Int4Matrix{m}, [][]float32{dst}, x, n)
}

// vnniGroup is the digit group of m's GEMV: its group size, or all columns.
func (m *Int4Matrix) vnniGroup() int {
	if m.groups() == 1 {
		return m.Cols
	}
	return m.Group
}

// gemvVNNIMany runs gemvVNNI for matrices of the same columns and groups that read the same x (q,
// k and v; gate and up): one parallel region covers the 32-row blocks of all of them, so the
// workers fork and join once. Each worker splits the digits itself, into its own buffer: digits
// written by one core and then read over and over by both slow both down (quantMulVNNI;
// BenchmarkGEMV W4A16-g128, interleaved: 576×576 3775-3777 → 3501-3869 ns, 1536×576
// 7346-7725 → 7100-7151). It returns false, writing nothing, where a16SplitDigits declines the
// activations.
func gemvVNNIMany(ms []*Int4Matrix, dsts [][]float32, x []float32, n int) bool {
	m0 := ms[0]
	cols, group := m0.Cols, m0.vnniGroup()
	k4 := m0.panels().k4
	works, first := make([]func(a *a16Act, b0, b1 int), len(ms)), make([]int, len(ms)+1)
	macs := 0
	for i, m := range ms {
		works[i] = m.vnniWork(dsts[i], n)
		first[i+1] = first[i] + m.panels().nb
		macs += m.panels().nb * 32 * cols * 3 * n
	}
	// split fills a and runs blocks [lo, hi) of the concatenation; false: a16SplitDigits declined.
	split := func(a *a16Act, lo, hi int) bool {
		if !a16SplitDigits(a, x, n, cols, group, k4) {
			return false
		}
		forSpans(first, lo, hi, func(i, b0, b1 int) { works[i](a, b0, b1) })
		return true
	}
	if macs < vnniSerialMACs {
		a := a16ActPool.Get().(*a16Act)
		defer a16ActPool.Put(a)
		return split(a, 0, first[len(ms)])
	}
	for t := range n { // the workers must agree before the fork: check every token once here
		if !a16TokenOK(x[t*cols : (t+1)*cols]) {
			return false
		}
	}
	parallel(first[len(ms)], 2, func(lo, hi int) {
		a := a16ActPool.Get().(*a16Act)
		split(a, lo, hi) // takes every token: checked above
		a16ActPool.Put(a)
	})
	return true
}

// vnniWork returns the GEMV of blocks [b0, b1) of m from the digits a of n tokens into dst.
func (m *Int4Matrix) vnniWork(dst []float32, n int) func(a *a16Act, b0, b1 int) {
	rows, ng := m.Rows, m.groups()
	p := m.panels()
	sc, zs := m.amxScales(), m.vnniZeros()
	kb, gk4 := p.k4*4, m.vnniGroup()/4
	if ng == 1 {
		gk4 = p.k4
	}
	return func(a *a16Act, b0, b1 int) {
		var spare [64]float32 // outputs of rows past the matrix
		b := b0
		for ; b+3 < b1 && rows-32*b >= 128; b += 4 { // four full blocks side by side
			for t := range n {
				a16V4G4(&p.w[b*p.k4*64], p.k4*64, p.k4, gk4, &a.d[t*3*kb], kb, &a.sums[t*ng*4],
					&zs[b*ng*32], &sc[b*ng*32], ng*32*4, a.unit[t], &dst[t*rows+32*b])
			}
		}
		for ; b < b1; b += 2 {
			wstep, bstep, bB := p.k4*64, ng*32*4, b+1
			if bB >= b1 { // one block left: B repeats A
				wstep, bstep, bB = 0, 0, b
			}
			pf := 0 // the next pair, prefetched to L2 alongside (its second block may be past b1)
			if b+3 < b1 {
				pf = 2 * p.k4 * 64
			}
			for t := range n {
				d := dst[t*rows : (t+1)*rows]
				dA, dB := &spare[0], &spare[32]
				if rows-32*b >= 32 {
					dA = &d[32*b]
				}
				if bB != b && rows-32*bB >= 32 {
					dB = &d[32*bB]
				}
				a16V4G2(&p.w[b*p.k4*64], wstep, p.k4, gk4, &a.d[t*3*kb], kb, &a.sums[t*ng*4],
					&zs[b*ng*32], &sc[b*ng*32], bstep, a.unit[t], dA, dB, pf)
				if rows-32*b < 32 {
					copy(d[32*b:], spare[:rows-32*b])
				}
				if bB != b && rows-32*bB < 32 {
					copy(d[32*bB:], spare[32:32+rows-32*bB])
				}
			}
		}
	}
}
