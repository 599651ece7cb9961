package qgemm

import "sync/atomic"

// Int8Matrix holds int8 weights with one f32 scale per row (output channel), symmetric:
// w[r,k] ≈ Scale[r]·Q[r,k]. Layout: Q (Rows, Cols) row-major, 8 bits per weight + 32 bits per
// row. Used by W8A8 (MatMulT: int8 activations) and W8A16 (MatMulTA16: f32 activations).
type Int8Matrix struct {
	Rows, Cols int
	Q          []int8    // (Rows, Cols) row-major
	Scale      []float32 // (Rows)
	// RowSum[r] = Σ_k Q[r,k] (Rows), filled by Prepare: the paths without VNNI take
	// activations as x+128 and subtract 128·RowSum[r] afterwards.
	RowSum []int32

	// vnni is the repacking for the VNNI kernels (vnniPanels, 1 byte per weight next to Q),
	// built by the first W8A8 product on a CPU with AVX-512 VNNI; W8A16-only matrices have none.
	vnni atomic.Pointer[vnniPanels]
}

// QuantizeInt8 quantizes w (rows, cols) row-major per row, symmetric round-to-nearest-even:
// Scale[r] = max_k |w[r,k]| / 127, Q = RoundToEven(w · 127/amax). The result is Prepared.
func QuantizeInt8(w []float32, rows, cols int) *Int8Matrix {
	if len(w) < rows*cols {
		panic("qgemm: QuantizeInt8: len(w) < rows·cols")
	}
	m := &Int8Matrix{Rows: rows, Cols: cols, Q: make([]int8, rows*cols), Scale: make([]float32, rows)}
	for r := range rows {
		m.Scale[r] = quantRowInt8(m.Q[r*cols:(r+1)*cols], w[r*cols:(r+1)*cols])
	}
	m.Prepare()
	return m
}

// Prepare checks the sizes and computes RowSum; call it after filling Q yourself.
func (m *Int8Matrix) Prepare() {
	if m.Rows < 0 || m.Cols < 0 || len(m.Q) != m.Rows*m.Cols || len(m.Scale) != m.Rows {
		panic("qgemm: Int8Matrix: need len(Q) = Rows·Cols and len(Scale) = Rows")
	}
	m.vnni.Store(nil)
	m.RowSum = make([]int32, m.Rows)
	for r := range m.Rows {
		var s int32
		for _, q := range m.Q[r*m.Cols : (r+1)*m.Cols] {
			s += int32(q)
		}
		m.RowSum[r] = s
	}
}

func (m *Int8Matrix) check(name string, dst, x []float32, n int) {
	if len(m.Q) != m.Rows*m.Cols || len(m.Scale) != m.Rows || len(m.RowSum) != m.Rows {
		panic("qgemm: Int8Matrix." + name + ": matrix not prepared: call Prepare after filling Q and Scale")
	}
	checkMul("Int8Matrix."+name, m.Rows, m.Cols, dst, x, n)
}

// MatMulTRef is the W8A8 plain loop: xq, sx = QuantizeActInt8(x), then
// dst[i,r] = float32(Σ_k int32(xq[i,k])·int32(Q[r,k])) · Scale[r] · sx[i].
func (m *Int8Matrix) MatMulTRef(dst, x []float32, n int) {
	m.check("MatMulTRef", dst, x, n)
	xq := make([]int8, n*m.Cols)
	sx := make([]float32, n)
	QuantizeActInt8(xq, sx, x, n, m.Cols)
	m.MatMulTQRef(dst, xq, sx, n)
}

// MatMulTQRef is MatMulTRef for activations already quantized: xq (n, cols), sx (n).
func (m *Int8Matrix) MatMulTQRef(dst []float32, xq []int8, sx []float32, n int) {
	rows, cols := m.Rows, m.Cols
	for i := range n {
		for r := range rows {
			var acc int32
			for k := range cols {
				acc += int32(xq[i*cols+k]) * int32(m.Q[r*cols+k])
			}
			dst[i*rows+r] = float32(acc) * m.Scale[r] * sx[i]
		}
	}
}

// MatMulT computes W8A8 dst (n, rows) = X · Wᵀ: activations are quantized per token
// (QuantizeActInt8), the int32 sums are exact and equal MatMulTRef's bit for bit.
//
// From a8AMXMin.i8 tokens on a CPU with AMX it runs on AMX-INT8 tiles (a8amx.go). Below that, with
// AVX-512 VNNI it runs the weight-stationary kernels (vnni.go): weights as unsigned
// q+128 in 16-row × 4-k panels, signed activations broadcast 4 bytes at a time, and
// Σ_k (q+128)·x − 128·Σ_k x = Σ_k q·x per token, in blocks of 32 rows × up to 14 tokens.
func (m *Int8Matrix) MatMulT(dst, x []float32, n int) {
	m.check("MatMulT", dst, x, n)
	if q := m.a8View(n); q != nil {
		quantMulAMX([]*amxA8{q}, [][]float32{dst}, x, n)
		return
	}
	if v, ok := m.vnniA8(n); ok {
		quantMulVNNI([]vnniProduct{{v.p, v.rows, dst}}, v.int4, x, n, v.cols, v.group, v.c)
		return
	}
	bq, bs := getBytes(n*m.Cols), getF32(n)
	quantizeActU8(*bq, *bs, x, n, m.Cols)
	m.matMulU8(dst, *bq, *bs, n)
	bytePool.Put(bq)
	f32Pool.Put(bs)
}

// MatMulTQ is MatMulT for activations already quantized with QuantizeActInt8 (xq (n, cols),
// sx (n)); any int8 codes, −128 included, are accepted.
func (m *Int8Matrix) MatMulTQ(dst []float32, xq []int8, sx []float32, n int) {
	m.check("MatMulTQ", dst, nil, 0)
	if len(xq) < n*m.Cols || len(sx) < n || len(dst) < n*m.Rows {
		panic("qgemm: Int8Matrix.MatMulTQ: need len(xq) ≥ n·cols, len(sx) ≥ n, len(dst) ≥ n·rows")
	}
	if q := m.a8View(n); q != nil {
		q.mul(dst, xq, sx, n)
		return
	}
	if useVNNI(m.Rows, m.Cols, n) {
		a := vnniActQ(xq, sx, n, m.Cols, m.Cols, 128)
		mulVNNI(m.panels(), false, m.Rows, dst, a)
		actPool.Put(a)
		return
	}
	bq := offsetU8(xq[:n*m.Cols])
	m.matMulU8(dst, *bq, sx, n)
	bytePool.Put(bq)
}

// matMulU8 is the path without VNNI: the AVX2 kernel (avx2R4T1) over 64-column
// blocks of 4 rows, or pure Go, on xu = xq+128 (n, cols).
func (m *Int8Matrix) matMulU8(dst []float32, xu []uint8, sx []float32, n int) {
	rows, cols := m.Rows, m.Cols
	nblk := cols / 64
	if !hasAVX2 {
		nblk = 0
	}
	k0 := nblk * 64
	// fin adds the Go tail k ≥ k0 and removes the +128 offset: Σ (xq+128)·w − 128·Σ w.
	fin := func(acc int32, r, i int) {
		w, xi := m.Q[r*cols:(r+1)*cols], xu[i*cols:(i+1)*cols]
		for k := k0; k < cols; k++ {
			acc += int32(xi[k]) * int32(w[k])
		}
		acc -= 128 * m.RowSum[r]
		dst[i*rows+r] = float32(acc) * m.Scale[r] * sx[i]
	}
	parallel(rows, 4, func(r0, r1 int) {
		var o4 [4]int32
		for rb := r0; rb < r1; rb += rowBlock {
			re := min(rb+rowBlock, r1)
			for i := range n {
				for r := rb; r < re; r += 4 {
					if nblk == 0 {
						for j := r; j < min(r+4, re); j++ {
							fin(0, j, i)
						}
						continue
					}
					if r+4 > rows {
						for ; r < re; r++ {
							avx2R4T1(&m.Q[r*cols], 0, &xu[i*cols], nblk, &o4)
							fin(o4[0], r, i)
						}
						break
					}
					avx2R4T1(&m.Q[r*cols], cols, &xu[i*cols], nblk, &o4)
					for j := range min(4, re-r) {
						fin(o4[j], r+j, i)
					}
				}
			}
		}
	})
}

// MatMulTA16Ref is the W8A16 plain loop:
// dst[i,r] = float32(Σ_k float64(x[i,k])·float64(Q[r,k])) · Scale[r].
func (m *Int8Matrix) MatMulTA16Ref(dst, x []float32, n int) {
	m.check("MatMulTA16Ref", dst, x, n)
	rows, cols := m.Rows, m.Cols
	for i := range n {
		for r := range rows {
			var s float64
			for k := range cols {
				s += float64(x[i*cols+k]) * float64(m.Q[r*cols+k])
			}
			dst[i*rows+r] = float32(s) * m.Scale[r]
		}
	}
}

// MatMulTA16 computes W8A16 dst (n, rows) = X · Wᵀ with f32 activations: for a few tokens int8
// weights are widened to f32 in registers, 8 rows at a time; for more, 16-row tiles are
// dequantized into the f32 GEMM micro-kernel (a16.go), or, on AMX from 9 tokens, the codes meet
// the activations' three digit bytes in TDPBSSD (a16digits.go). Scaled once per row.
func (m *Int8Matrix) MatMulTA16(dst, x []float32, n int) {
	m.check("MatMulTA16", dst, x, n)
	m.matMulTA16(dst, x, n) // a16.go
}
