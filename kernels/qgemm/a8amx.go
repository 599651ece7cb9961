package qgemm

import (
	"sync"

	"github.com/qbench/qbench/kernels/amx"
)

// AMX-INT8 drivers of the int8-activation formats (W8A8, W4A8) for prefill: the per-token int8
// activations go into an amx.PanelI8, 32-row blocks of int8 weights (W8A8: Q as stored; W4A8:
// (u − 8)·GroupScaleInt dequantized per block, which fits int8) meet them in TDPBSSD, and the exact
// int32 sums get the plain loops' epilogue float32(acc)·Scale[r]·sx[t]: bit for bit MatMulTQRef.

// a8AMXMin holds the token counts from which W8A8 and W4A8 run on AMX tiles: the VNNI kernels
// stream the weights once per 14 tokens, the tile path dequantizes (W4A8) or repacks nothing but
// pays the panel and the transposing stores; measured (BenchmarkA16AMXCrossover) break-even at
// n ≈ 14-18 for W8A8 and ≈ 24-32 for W4A8.
var a8AMXMin = struct{ i8, i4 int }{24, 32}

func a8AMXOK(rows, cols, n, min int) bool {
	return hasAVX512 && n >= min && rows >= 32 && amx.SupportedI8(cols)
}

var panelI8Pool = sync.Pool{New: func() any { return new(amx.PanelI8) }}

// amxA8 is one int8-activation matrix as the AMX driver sees it.
type amxA8 struct {
	rows, cols int
	// block returns rows r..r+31, columns [k0, k1), as int8 (row stride lda), in scratch or
	// straight from the stored weights.
	block func(scratch []int8, r, k0, k1 int) (a []int8, lda int)
	scale []float32 // per row
	// wInt is the integer weight (r, k), for the rows past the last whole 32-row block.
	wInt func(r, k int) int32
}

// mul computes dst (n, rows) from per-token int8 activations xq (n, cols) and scales sx.
func (q *amxA8) mul(dst []float32, xq []int8, sx []float32, n int) {
	mulA8Many([]*amxA8{q}, [][]float32{dst}, xq, sx, n)
}

// mulA8Many runs every q (same cols) on the quantized activations, packing each chunk of tokens
// once for all, then the rows past their last whole block.
func mulA8Many(qs []*amxA8, dsts [][]float32, xq []int8, sx []float32, n int) {
	cols := qs[0].cols
	p := panelI8Pool.Get().(*amx.PanelI8)
	defer panelI8Pool.Put(p)
	for t0 := 0; t0 < n; t0 += amxChunk {
		c := min(amxChunk, n-t0)
		p.Pack(xq[t0*cols:(t0+c)*cols], c, cols)
		for i, q := range qs {
			q.mulPanel(p, dsts[i][t0*q.rows:(t0+c)*q.rows], sx[t0:t0+c])
		}
	}
	for i, q := range qs {
		q.tail(dsts[i], xq, sx, n)
	}
}

// tail computes the rows past the last whole 32-row block (no real model has them: its
// dimensions are multiples of 32) with the plain loop.
func (q *amxA8) tail(dst []float32, xq []int8, sx []float32, n int) {
	rows, cols := q.rows, q.cols
	for r := rows / 32 * 32; r < rows; r++ {
		for i := range n {
			var acc int32
			for k := range cols {
				acc += int32(xq[i*cols+k]) * q.wInt(r, k)
			}
			dst[i*rows+r] = float32(acc) * q.scale[r] * sx[i]
		}
	}
}

// mulPanel runs the whole 32-row blocks for the tokens packed in p (sx: their scales).
func (q *amxA8) mulPanel(p *amx.PanelI8, dst []float32, sx []float32) {
	rows, cols := q.rows, q.cols
	kc := p.KBlock()
	parallel(rows/32*32, 32, func(lo, hi int) {
		sc := amxScratchPool.Get().(*amxScratch)
		defer amxScratchPool.Put(sc)
		sc.i8 = grow(sc.i8, 32*kc)
		clear(sc.i8) // zero, as freshly allocated
		scratch := sc.i8
		amx.Sweep(lo, hi, cols, kc, len(p.NewAcc()), func(acc []int32, r, kb, kl int, load bool) {
			a, lda := q.block(scratch, r, kb, kb+kl)
			p.Dot(acc, a, lda, kb, kl, load)
		}, func(acc []int32, r int) { p.Store(dst, rows, r, acc, q.scale[r:r+32], sx) })
	})
}

// amxA8 is the AMX view of an Int8Matrix: its row-major codes are the tiles' A rows as they are.
func (m *Int8Matrix) amxA8() *amxA8 {
	return &amxA8{rows: m.Rows, cols: m.Cols, scale: m.Scale,
		block: func(_ []int8, r, k0, _ int) ([]int8, int) { return m.Q[r*m.Cols+k0:], m.Cols },
		wInt:  func(r, k int) int32 { return int32(m.Q[r*m.Cols+k]) }}
}

// amxA8 is the AMX view of a symmetric Int4Matrix (W4A8): per block, codes become the int8
// weights (u − 8)·GroupScaleInt.
func (m *Int4Matrix) amxA8() *amxA8 {
	ng, rb := m.groups(), RowBytes(m.Cols)
	return &amxA8{rows: m.Rows, cols: m.Cols, scale: m.Scale, wInt: m.wInt,
		block: func(scratch []int8, r, k0, k1 int) ([]int8, int) {
			nb := (k1 - k0) / 64
			if m.GroupScaleInt == nil {
				for j := range 32 {
					amxDeqI4I8U(&scratch[j*(k1-k0)], &m.Packed[(r+j)*rb+k0/2], nb)
				}
				return scratch, k1 - k0
			}
			var gs [1024]int16
			for j := range 32 {
				for b := range nb {
					gs[b] = 1
					if m.GroupScaleInt != nil {
						gs[b] = int16(m.GroupScaleInt[(r+j)*ng+(k0+64*b)/m.Group])
					}
				}
				amxDeqI4I8(&scratch[j*(k1-k0)], &m.Packed[(r+j)*rb+k0/2], nb, &gs[0])
			}
			return scratch, k1 - k0
		}}
}

// quantMulAMX quantizes x per token (QuantizeActInt8) once and runs every q on the AMX tiles.
func quantMulAMX(qs []*amxA8, dsts [][]float32, x []float32, n int) {
	cols := qs[0].cols
	bq, bs := getBytes(n*cols), getF32(n)
	xq, sx := bytesAsInt8((*bq)[:n*cols]), (*bs)[:n]
	parallel(n, 8, func(lo, hi int) { // QuantizeActInt8, tokens over the workers
		for i := lo; i < hi; i++ {
			sx[i] = quantRowInt8(xq[i*cols:(i+1)*cols], x[i*cols:(i+1)*cols])
		}
	})
	mulA8Many(qs, dsts, xq, sx, n)
	bytePool.Put(bq)
	f32Pool.Put(bs)
}

// A8Matrix is an int8-activation matrix of MatMulTA8Many: *Int8Matrix (W8A8) or a symmetric
// *Int4Matrix (W4A8).
type A8Matrix interface {
	check(name string, dst, x []float32, n int)
	// a8View is the matrix on the AMX path for n tokens, nil where that path does not apply.
	a8View(n int) *amxA8
	// mulA8 is the matrix's own product (Int8Matrix.MatMulT, Int4Matrix.MatMulTA8).
	mulA8(dst, x []float32, n int)
	// vnniA8 is the matrix's VNNI product for n tokens; ok false where that path does not apply.
	vnniA8(n int) (v vnniA8, ok bool)
}

// MatMulTA8Many computes dsts[i] (n, rows_i) = X · W_iᵀ with int8 per-token activations for
// matrices that read the same input x (n, cols): q, k and v, or gate and up. Where all of them
// take the AMX path, x is quantized and packed once for all; where all take the same VNNI
// kernels (all W8A8, or all W4A8 of one group size), once for all too, and one token forks and
// joins the workers once (quantMulVNNI); otherwise each runs on its own. Results equal the
// single products bit for bit in every case.
func MatMulTA8Many(dsts [][]float32, ms []A8Matrix, x []float32, n int) {
	for i, m := range ms {
		m.check("MatMulTA8Many", dsts[i], x, n)
	}
	if n > 0 && quantMulVNNIMany(dsts, ms, x, n) {
		return
	}
	qs := make([]*amxA8, len(ms))
	for i, m := range ms {
		if qs[i] = m.a8View(n); qs[i] == nil || qs[i].cols != qs[0].cols {
			for i, m := range ms {
				m.mulA8(dsts[i], x, n)
			}
			return
		}
	}
	quantMulAMX(qs, dsts, x, n)
}

// quantMulVNNIMany runs ms on x through one quantMulVNNI where all of them take the same VNNI
// kernels, and reports whether it could.
func quantMulVNNIMany(dsts [][]float32, ms []A8Matrix, x []float32, n int) bool {
	ps := make([]vnniProduct, len(ms))
	var v0 vnniA8
	for i, m := range ms {
		v, ok := m.vnniA8(n)
		if i == 0 {
			v0 = v
		}
		if !ok || v.vnniKind != v0.vnniKind {
			return false
		}
		ps[i] = vnniProduct{v.p, v.rows, dsts[i]}
	}
	quantMulVNNI(ps, v0.int4, x, n, v0.cols, v0.group, v0.c)
	return true
}

// vnniA8 is a matrix on the int8-activation VNNI kernels: its panels and rows, and the kind of
// product (quantizeVNNI's columns, activation group and correction factor; int4 or int8
// weights), which the matrices of one quantMulVNNI share.
type vnniA8 struct {
	p    *vnniPanels
	rows int
	vnniKind
}

type vnniKind struct {
	cols, group int
	c           int32
	int4        bool
}

func (m *Int8Matrix) a8View(n int) *amxA8 {
	if !a8AMXOK(m.Rows, m.Cols, n, a8AMXMin.i8) {
		return nil
	}
	return m.amxA8()
}

func (m *Int4Matrix) a8View(n int) *amxA8 {
	m.checkA8("a8View")
	if !a8AMXOK(m.Rows, m.Cols, n, a8AMXMin.i4) {
		return nil
	}
	return m.amxA8()
}

func (m *Int8Matrix) mulA8(dst, x []float32, n int) { m.MatMulT(dst, x, n) }

func (m *Int8Matrix) vnniA8(n int) (vnniA8, bool) {
	if m.a8View(n) != nil || !useVNNI(m.Rows, m.Cols, n) {
		return vnniA8{}, false
	}
	return vnniA8{m.panels(), m.Rows, vnniKind{m.Cols, m.Cols, 128, false}}, true
}

func (m *Int4Matrix) vnniA8(n int) (vnniA8, bool) {
	if m.a8View(n) != nil || !useVNNI(m.Rows, m.Cols, n) || m.Cols > vnniI4MaxCols {
		return vnniA8{}, false
	}
	return vnniA8{m.panels(), m.Rows, vnniKind{m.Cols, m.actGroup(), 8, true}}, true
}
func (m *Int4Matrix) mulA8(dst, x []float32, n int) { m.MatMulTA8(dst, x, n) }
