package qgemm

import (
	"cmp"
	"sync"

	"github.com/qbench/qbench/kernels/amx"
)

// AMX-BF16 drivers of the weight-only formats (prefill). The integer codes are exact in bfloat16,
// so 32-row blocks of codes are dequantized to bf16 (amxDeqI4: u − z, amxDeqI8: q) and multiplied on
// AMX tiles with the activations split exactly into bf16 pieces (package amx); the float32 scales
// are applied to the tile sums: per row when the store writes dst, per row and group between
// groups (amx.Panel.DotGrouped). Every product of a code with an activation is exact, so the
// result differs from the plain loop only in summation order and in applying s to Σ(u−z)·x rather
// than rounding each weight u·s + b first (inside the tests' bound).

// a16AMXMin holds, per format, the token count from which the A16 formats run on AMX tiles. The
// tile path costs a fixed dequantization of every weight per call, the AVX-512 paths a pass per
// few tokens; measured at 1536×576 and 2048×2048 (BenchmarkA16AMXCrossover): W8A16 breaks even
// at n ≈ 10-16, W4A16 at n ≈ 16 (2048²) to ≈ 30 (1536×576), FP8 with W8A16. The digit paths
// (a16digits.go: i8d, i4d) cost less per weight: W8A16 on them beats the GEMM from n = 8 (1536×576
// 63 against 81 µs, 2048² 226 against 417; at n = 4 the GEMV wins, 43 against 59), so they take
// over where the GEMVs stop (9), which keeps batched decoding bit for bit as alone; symmetric
// W4A16 pays a fixed cost per group and 32-token tile (n = 2: 124 µs at 1536×576), and wins from
// n = 16 (123 against 140, 390 against 653; n = 12: 119 against 108 at 1536×576). A variable so
// that tests can move the crossover.
var a16AMXMin = struct{ i8, i4, fp8, i8d, i4d int }{24, 32, 24, 9, 16}

func a16AMXOK(rows, cols, n, min int) bool {
	return hasAVX512 && n >= min && rows >= 32 && amx.Supported(cols)
}

var panelPool = sync.Pool{New: func() any { return new(amx.Panel) }}

// amxScratch is one worker's dequantization buffers in the AMX mulPanel loops (a prefill
// product runs one per worker per token chunk): a16's bf16 weights, int4 zero points and group
// scales, a8's int8 weights.
type amxScratch struct {
	a  []uint16
	zh []int16
	s  []float32
	i8 []int8
}

var amxScratchPool = sync.Pool{New: func() any { return new(amxScratch) }}

// amxA16 is one weight-only matrix as the AMX driver sees it.
type amxA16 struct {
	rows, cols int
	// deq writes the bf16 codes of rows r..r+31, columns [k0, k1) to a (row stride lda ≥ the
	// columns rounded up to unit); k0 is a multiple of unit.
	deq  func(a []uint16, lda, r, k0, k1 int, zh []int16)
	unit int
	// group > 0: per-row-and-group scales, gscale writes s[g·32+i] for rows r+i and the groups of
	// [k0, k1) (the last one may be partial); otherwise rowScale (may be nil) scales each row's sums.
	group    int
	gscale   func(s []float32, r, k0, k1 int)
	rowScale []float32
	// tokScale (may be nil) scales each token's outputs afterwards; parts < amx.Parts when the
	// activations are exact in fewer bf16 pieces (0: amx.Parts).
	tokScale []float32
	parts    int
	// deqF32 is the matrix's float32 dequantization (a16GEMM's), for rows past the last block.
	deqF32 func(buf []float32, r, k0, k1 int)
}

// amxChunk bounds the tokens packed at once (the panel is 1.5x the float32 activations; see
// kernels' amxChunk).
const amxChunk = 512

// mulA16Many runs every q (same cols and parts) on x, packing each chunk of tokens once for all,
// then the rows past each one's last whole 32-row block on the AVX-512 GEMM path.
func mulA16Many(qs []*amxA16, dsts [][]float32, x []float32, n int) {
	cols, parts := qs[0].cols, cmp.Or(qs[0].parts, amx.Parts)
	p := panelPool.Get().(*amx.Panel)
	defer panelPool.Put(p)
	for t0 := 0; t0 < n; t0 += amxChunk {
		c := min(amxChunk, n-t0)
		p.PackParts(x[t0*cols:(t0+c)*cols], c, cols, parts)
		for i, q := range qs {
			q.mulPanel(p, dsts[i][t0*q.rows:(t0+c)*q.rows], t0)
		}
	}
	for i, q := range qs {
		if r32 := q.rows / 32 * 32; r32 < q.rows {
			a16GEMM(dsts[i], x, n, q.rows, cols, r32, q.deqF32, q.tokScale)
		}
	}
}

// mulPanel computes the whole 32-row blocks for the tokens packed in p, tokens t0… of the call
// (t0 indexes tokScale).
func (q *amxA16) mulPanel(p *amx.Panel, dst []float32, t0 int) {
	rows, cols := q.rows, q.cols
	unit := q.unit
	if q.group > 0 {
		unit = lcm(unit, q.group)
	}
	kc := max(unit, p.KBlock()/unit*unit)
	if kc >= cols {
		kc = cols
	}
	lda := (kc + unit - 1) / unit * unit
	parallel(rows/32*32, 32, func(lo, hi int) {
		sc := amxScratchPool.Get().(*amxScratch)
		defer amxScratchPool.Put(sc)
		sc.a, sc.zh = grow(sc.a, 32*lda), grow(sc.zh, lda/32+2)
		clear(sc.a) // zero, as freshly allocated (the padding past the last columns)
		clear(sc.zh)
		a, zh := sc.a, sc.zh
		var s []float32
		if q.group > 0 {
			sc.s = grow(sc.s, 32*(lda/q.group+1))
			clear(sc.s)
			s = sc.s
		}
		amx.Sweep(lo, hi, cols, kc, len(p.NewAcc()), func(acc []float32, r, kb, kl int, load bool) {
			q.deq(a, lda, r, kb, kb+kl, zh)
			if q.group == 0 {
				p.Dot(acc, a, lda, kb, kl, load)
				return
			}
			// Whole groups, then the last group of a row when cols is no multiple of the
			// group (576 columns in groups of 128), as a group of its own length.
			q.gscale(s, r, kb, kb+kl)
			whole := kl / q.group * q.group
			if whole > 0 {
				p.DotGrouped(acc, a, lda, kb, whole, q.group, s, load)
			}
			if tail := kl - whole; tail > 0 {
				p.DotGrouped(acc, a[whole:], lda, kb+whole, tail, tail, s[whole/q.group*32:], load || whole > 0)
			}
		}, func(acc []float32, r int) { q.store(p, dst, r, t0, acc) })
	})
}

func (q *amxA16) store(p *amx.Panel, dst []float32, r, t0 int, acc amx.Acc) {
	var sc []float32
	if q.group == 0 && q.rowScale != nil {
		sc = q.rowScale[r : r+32]
	}
	p.Store(dst, q.rows, r, acc, sc, false)
	if q.tokScale != nil {
		for t := range p.N {
			a16MulSlice(dst[t*q.rows+r:t*q.rows+r+32], q.tokScale[t0+t])
		}
	}
}

// amxFP8 is the AMX view of an FP8Matrix multiplying decoded e4m3 activations (exact in one bf16
// piece) scaled by sx per token.
func (m *FP8Matrix) amxFP8(sx []float32) *amxA16 {
	return &amxA16{rows: m.Rows, cols: m.Cols, unit: 32, rowScale: m.Scale, tokScale: sx, parts: 1, deqF32: m.deqA16,
		deq: func(a []uint16, lda, r, k0, k1 int, _ []int16) {
			for j := range 32 {
				amxDeqFP8(&a[j*lda], &m.Q[(r+j)*m.Cols+k0], k1-k0)
			}
		}}
}

func lcm(a, b int) int {
	g, h := a, b
	for h != 0 {
		g, h = h, g%h
	}
	return a / g * b
}

// amxInt4 is the AMX view of a single-level Int4Matrix (codes u − z, f32 scales per group or row).
func (m *Int4Matrix) amxInt4() *amxA16 {
	ng, rb := m.groups(), RowBytes(m.Cols)
	q := &amxA16{rows: m.Rows, cols: m.Cols, unit: 64, deqF32: m.deqA16}
	q.deq = func(a []uint16, lda, r, k0, k1 int, zh []int16) {
		nb := (k1 - k0 + 63) / 64
		if m.Zero == nil {
			for h := range 2 * nb {
				zh[h] = 8
			}
		}
		for j := range 32 {
			if m.Zero != nil {
				z := m.Zero[(r+j)*ng : (r+j+1)*ng]
				for h := range 2 * nb { // halves past cols (cols%64 == 32) are never read
					zh[h] = int16(z[min((k0+32*h)/m.Group, ng-1)])
				}
			}
			amxDeqI4(&a[j*lda], &m.Packed[(r+j)*rb+k0/2], nb, &zh[0])
		}
	}
	if ng > 1 {
		q.group, q.gscale = m.Group, m.groupScales()
	} else {
		q.rowScale = m.Scale
	}
	return q
}

// groupScales returns the AMX drivers' gscale for a grouped matrix: s[g·32 + i] = the scale of
// row r+i in the g-th group of columns [k0, k1), from amxScales.
func (m *Int4Matrix) groupScales() func(s []float32, r, k0, k1 int) {
	ng, st := m.groups(), m.amxScales()
	return func(s []float32, r, k0, k1 int) {
		g0, g1 := k0/m.Group, (k1+m.Group-1)/m.Group
		copy(s, st[((r/32)*ng+g0)*32:((r/32)*ng+g1)*32])
	}
}

// amxScales returns Scale regrouped by 32-row block and group (amxScale), building it once.
func (m *Int4Matrix) amxScales() []float32 {
	if p := m.amxScale.Load(); p != nil {
		return *p
	}
	ng, nb := m.groups(), (m.Rows+31)/32
	st := make([]float32, nb*ng*32)
	for r := range m.Rows {
		for g := range ng {
			st[((r/32)*ng+g)*32+r%32] = m.Scale[r*ng+g]
		}
	}
	m.amxScale.CompareAndSwap(nil, &st)
	return *m.amxScale.Load()
}

// A16Matrix is a weight-only matrix of MatMulTA16Many: *Int8Matrix (W8A16) or *Int4Matrix (W4A16).
type A16Matrix interface {
	check(name string, dst, x []float32, n int)
	// a16View is the matrix on the AMX path for n tokens, nil where that path does not apply;
	// digitsView the same for the digit path (a16digits.go), tried first.
	a16View(n int) *amxA16
	digitsView(n int) *amxDigits
	// mulA16 is the matrix's own product (Int8Matrix.MatMulTA16, Int4Matrix.MatMulT).
	mulA16(dst, x []float32, n int)
}

// MatMulTA16Many computes dsts[i] (n, rows_i) = x · W_iᵀ for weight-only matrices that read the
// same input x (n, cols): the q, k and v projections, or gate and up. Where all of them take the
// AMX path, x is split and packed once for all; otherwise each runs on its own.
func MatMulTA16Many(dsts [][]float32, ms []A16Matrix, x []float32, n int) {
	ds, nd := make([]*amxDigits, len(ms)), 0
	for i, m := range ms {
		m.check("MatMulTA16Many", dsts[i], x, n)
		if ds[i] = m.digitsView(n); ds[i] != nil {
			nd++
		}
	}
	if nd == 0 && vnniManyOK(ms, n) && gemvVNNIMany(int4s(ms), dsts, x, n) { // a16vnni.go
		return
	}
	switch {
	case nd == len(ms) && mulDigitsMany(ds, dsts, x, n):
		return
	case nd > 0 && nd < len(ms): // some on the digit path: each as its own product would run
		for i, m := range ms {
			m.mulA16(dsts[i], x, n)
		}
		return
	}
	qs := make([]*amxA16, len(ms))
	for i, m := range ms {
		if qs[i] = m.a16View(n); qs[i] == nil || qs[i].cols != qs[0].cols {
			for i, m := range ms {
				m.mulA16(dsts[i], x, n)
			}
			return
		}
	}
	mulA16Many(qs, dsts, x, n)
}

func (m *Int8Matrix) a16View(n int) *amxA16 {
	if !a16AMXOK(m.Rows, m.Cols, n, a16AMXMin.i8) {
		return nil
	}
	return m.amxInt8()
}

func (m *Int4Matrix) a16View(n int) *amxA16 {
	if m.GroupScaleInt != nil || !a16AMXOK(m.Rows, m.Cols, n, a16AMXMin.i4) {
		return nil
	}
	return m.amxInt4()
}

func (m *Int8Matrix) mulA16(dst, x []float32, n int) { m.MatMulTA16(dst, x, n) }
func (m *Int4Matrix) mulA16(dst, x []float32, n int) { m.MatMulT(dst, x, n) }

// amxInt8 is the AMX view of an Int8Matrix (int8 codes, f32 scale per row).
func (m *Int8Matrix) amxInt8() *amxA16 {
	return &amxA16{rows: m.Rows, cols: m.Cols, unit: 32, rowScale: m.Scale, deqF32: m.deqA16,
		deq: func(a []uint16, lda, r, k0, k1 int, _ []int16) {
			for j := range 32 {
				amxDeqI8(&a[j*lda], &m.Q[(r+j)*m.Cols+k0], k1-k0)
			}
		}}
}

// vnniManyOK reports whether every matrix is an Int4Matrix on the VNNI GEMV (a16VNNIOK) with the
// first one's columns and digit group, so that gemvVNNIMany can share their digits.
func vnniManyOK(ms []A16Matrix, n int) bool {
	m0, ok := ms[0].(*Int4Matrix)
	if !ok {
		return false
	}
	for _, m := range ms {
		q, ok := m.(*Int4Matrix)
		if !ok || !q.a16VNNIOK(n) || q.Cols != m0.Cols || q.vnniGroup() != m0.vnniGroup() {
			return false
		}
	}
	return true
}

func int4s(ms []A16Matrix) []*Int4Matrix {
	q := make([]*Int4Matrix, len(ms))
	for i, m := range ms {
		q[i] = m.(*Int4Matrix)
	}
	return q
}
