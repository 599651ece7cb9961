package qgemm

import (
	"github.com/qbench/qbench/kernels/amx"
)

// W8A16 and symmetric W4A16 prefill on AMX-INT8: each token's f32 activations become the three
// signed digit bytes of a16vnni.go (x ≈ unit·(d0 + 256·d1 + 65536·d2), |x − unit·X| about
// 2⁻²⁴·max|x|), the int8 weights (W8A16's codes, W4A16's u − 8) meet the three digit rows in
// TDPBSSD with exact int32 sums, and amx.PanelI8.StoreDigits recombines them in f32. Against the
// bf16-piece path (a16amx.go: three TDPBF16PS per 32 columns, codes widened to bf16) this is a
// third of the tile instructions per column, half the activation panel, and cheaper weight
// unpacking. Group scales (W4A16 g128) are applied per group in f32 (amx.PanelI8.DotGrouped).

// a16AMXDigits lets tests and benchmarks switch the digit path off (the bf16-piece path runs).
var a16AMXDigits = true

// amxDigits is one matrix as the digit driver sees it.
type amxDigits struct {
	rows, cols int
	// block returns rows r..r+31, columns [k0, k1) as int8 weights (row stride lda), in scratch
	// or straight from the stored codes.
	block func(scratch []int8, r, k0, k1 int) (a []int8, lda int)
	scale []float32 // per row, when group == 0
	// group > 0: f32 scales per row and group, gscale as amxA16's.
	group  int
	gscale func(s []float32, r, k0, k1 int)
	// deqF32 is the f32 dequantization of a16GEMM, for the rows past the last whole block.
	deqF32 func(buf []float32, r, k0, k1 int)
}

func a16DigitsOK(rows, cols, n, min int) bool {
	return a16AMXDigits && hasAVX512 && n >= min && rows >= 32 && amx.SupportedI8(cols)
}

func (m *Int8Matrix) digitsView(n int) *amxDigits {
	if !a16DigitsOK(m.Rows, m.Cols, n, a16AMXMin.i8d) {
		return nil
	}
	return &amxDigits{rows: m.Rows, cols: m.Cols, scale: m.Scale, deqF32: m.deqA16,
		block: func(_ []int8, r, k0, _ int) ([]int8, int) { return m.Q[r*m.Cols+k0:], m.Cols }}
}

// digitsView is the digit view of a symmetric single-level Int4Matrix whose groups are whole
// tile steps (64 columns) or one per row.
func (m *Int4Matrix) digitsView(n int) *amxDigits {
	ng := m.groups()
	if m.GroupScaleInt != nil || m.Zero != nil || (ng > 1 && m.Group%64 != 0) ||
		!a16DigitsOK(m.Rows, m.Cols, n, a16AMXMin.i4d) {
		return nil
	}
	rb := RowBytes(m.Cols)
	q := &amxDigits{rows: m.Rows, cols: m.Cols, deqF32: m.deqA16,
		block: func(scratch []int8, r, k0, k1 int) ([]int8, int) {
			for j := range 32 {
				amxDeqI4I8U(&scratch[j*(k1-k0)], &m.Packed[(r+j)*rb+k0/2], (k1-k0)/64)
			}
			return scratch, k1 - k0
		}}
	if ng > 1 {
		q.group, q.gscale = m.Group, m.groupScales() // a16amx.go
	} else {
		q.scale = m.Scale
	}
	return q
}

// mulDigitsMany computes dsts[i] (n, rows_i) = x · W_iᵀ for matrices of the same cols that read
// x, packing each chunk's digits once for all. It returns false, writing nothing, when a token's
// activations are not finite or too small for the digits (a16SplitDigits).
func mulDigitsMany(qs []*amxDigits, dsts [][]float32, x []float32, n int) bool {
	cols := qs[0].cols
	bx, bu := getBytes(amx.DigitRows(min(n, amxChunk))*cols), getF32(amx.DigitRows(min(n, amxChunk))/3)
	defer bytePool.Put(bx)
	defer f32Pool.Put(bu)
	p := panelI8Pool.Get().(*amx.PanelI8)
	defer panelI8Pool.Put(p)
	ba := getF32(n) // each token's max|x|, checked once here and used by digitsRow
	defer f32Pool.Put(ba)
	amaxes := *ba
	for t := range n {
		amax, bad := vnniAmax(&x[t*cols], cols)
		if bad != 0 || (amax != 0 && amax < 0x1p-90) {
			return false
		}
		amaxes[t] = amax
	}
	for t0 := 0; t0 < n; t0 += amxChunk {
		c := min(amxChunk, n-t0)
		rows := amx.DigitRows(c)
		d, unit := bytesAsInt8((*bx)[:rows*cols]), (*bu)[:rows/3]
		parallel(rows/96, 1, func(q0, q1 int) { // 32 tokens per step, over the workers
			for t := 32 * q0; t < 32*q1; t++ {
				if t < c {
					digitsRow(d, unit, x[(t0+t)*cols:(t0+t+1)*cols], amaxes[t0+t], t, cols)
					continue
				}
				for p := range 3 { // padding tokens
					clear(d[amx.DigitRow(t, p)*cols : (amx.DigitRow(t, p)+1)*cols])
				}
				unit[t] = 0
			}
		})
		p.Pack(d, rows, cols)
		for i, q := range qs {
			q.mulPanel(p, dsts[i][t0*q.rows:(t0+c)*q.rows], unit, c)
		}
	}
	for i, q := range qs {
		if r32 := q.rows / 32 * 32; r32 < q.rows {
			a16GEMM(dsts[i], x, n, q.rows, cols, r32, q.deqF32, nil)
		}
	}
	return true
}

// digitsRow writes token t's digits (PanelI8 rows amx.DigitRow(t, p)) and unit; x is finite,
// with its largest magnitude amax 0 or at least 2⁻⁹⁰ (checked by mulDigitsMany).
func digitsRow(d []int8, unit []float32, x []float32, amax float32, t, cols int) {
	inv := float32(0)
	if amax != 0 {
		inv = a16DigitMax / amax
	}
	unit[t] = amax / a16DigitMax
	r0 := amx.DigitRow(t, 0)
	var sums [4]int32
	a16Digits(&x[0], cols, inv, &d[r0*cols], 32*cols, &sums[0]) // rows r0, r0+32, r0+64
}

// mulPanel computes the whole 32-row blocks for the c tokens whose digits p holds.
func (q *amxDigits) mulPanel(p *amx.PanelI8, dst []float32, unit []float32, c int) {
	rows, cols := q.rows, q.cols
	unitK := 64
	if q.group > 0 {
		unitK = lcm(64, q.group)
	}
	kc := max(unitK, p.KBlock()/unitK*unitK)
	if kc >= cols {
		kc = cols
	}
	parallel(rows/32*32, 32, func(lo, hi int) {
		sc := amxScratchPool.Get().(*amxScratch)
		defer amxScratchPool.Put(sc)
		sc.i8 = grow(sc.i8, 32*kc)
		clear(sc.i8)
		scratch := sc.i8
		if q.group == 0 {
			amx.Sweep(lo, hi, cols, kc, p.AccLen(), func(acc []int32, r, kb, kl int, load bool) {
				a, lda := q.block(scratch, r, kb, kb+kl)
				p.Dot(acc, a, lda, kb, kl, load)
			}, func(acc []int32, r int) { p.StoreDigits(dst, rows, r, acc, q.scale[r:r+32], unit, c) })
			return
		}
		sc.s = grow(sc.s, 32*(kc/q.group+1))
		s := sc.s
		amx.Sweep(lo, hi, cols, kc, p.AccLen(), func(acc []float32, r, kb, kl int, load bool) {
			a, lda := q.block(scratch, r, kb, kb+kl)
			q.gscale(s, r, kb, kb+kl)
			whole := kl / q.group * q.group
			if whole > 0 {
				p.DotGrouped(acc, a, lda, kb, whole, q.group, s, load)
			}
			if tail := kl - whole; tail > 0 { // the last group of a row (576 = 4·128 + 64)
				p.DotGrouped(acc, a[whole:], lda, kb+whole, tail, tail, s[whole/q.group*32:], load || whole > 0)
			}
		}, func(acc []float32, r int) { p.StoreDigitsF32(dst, rows, r, acc, nil, unit, c) })
	})
}
