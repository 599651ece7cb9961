package qgemm

import (
	"math"
)

// E4M3Max is the largest finite e4m3fn value, S.1111.110 = 1.75·2^8.
const E4M3Max = 448

// e4m3Table[b] = DecodeE4M3(b) for all 256 codes.
var e4m3Table = func() (t [256]float32) {
	for b := range 256 {
		t[b] = decodeE4M3Bits(uint8(b))
	}
	return t
}()

// decodeE4M3Bits decodes OCP/NVIDIA e4m3fn (sign 1, exponent 4 with bias 7, mantissa 3; no
// infinities; S.1111.111 is NaN): exponent 0 is subnormal m/8·2^-6, otherwise (1+m/8)·2^(e−7).
func decodeE4M3Bits(b uint8) float32 {
	e, m := int(b>>3&0xF), float64(b&7)
	var v float64
	switch {
	case e == 15 && m == 7:
		return float32(math.NaN())
	case e == 0:
		v = m / 8 * math.Ldexp(1, -6)
	default:
		v = (1 + m/8) * math.Ldexp(1, e-7)
	}
	if b&0x80 != 0 {
		v = -v
	}
	return float32(v)
}

// DecodeE4M3 returns the value of an e4m3fn code (table lookup).
func DecodeE4M3(b uint8) float32 { return e4m3Table[b] }

// EncodeE4M3 rounds f to the nearest e4m3fn value, ties to even, saturating: |f| ≥ 448 (after
// rounding) and ±Inf give ±448 (0x7E/0xFE), NaN gives 0x7F (0xFF if the sign bit is set).
func EncodeE4M3(f float32) uint8 {
	bits := math.Float32bits(f)
	sign := uint8(bits >> 24 & 0x80)
	a := bits & 0x7FFFFFFF
	switch {
	case a > 0x7F800000: // NaN
		return sign | 0x7F
	case a >= 0x43E00000: // ≥ 448 (incl. Inf)
		return sign | 0x7E
	case a < 0x3C800000: // < 2^-6: subnormal grid m·2^-9, exact scaling then RNE
		m := math.RoundToEven(float64(math.Float32frombits(a)) * 512)
		return sign | uint8(m) // m ≤ 8; 8 is the smallest normal code 0x08
	}
	// Normal: keep 3 of the 23 mantissa bits, rounding the 20 dropped ones to nearest even;
	// a carry moves into the exponent, and the f32 exponent bias 127 becomes 7 (−120·8 codes).
	base := a >> 20
	rem := a & 0xFFFFF
	if rem > 0x80000 || (rem == 0x80000 && base&1 == 1) {
		base++
	}
	code := base - 120<<3
	if code > 0x7E {
		code = 0x7E
	}
	return sign | uint8(code)
}

// FP8Matrix holds e4m3fn weights with one f32 scale per row: w[r,k] ≈ Scale[r]·DecodeE4M3(Q[r,k]).
// Layout: Q (Rows, Cols) row-major, 8 bits per weight + 32 bits per row.
type FP8Matrix struct {
	Rows, Cols int
	Q          []uint8   // (Rows, Cols) row-major e4m3fn codes
	Scale      []float32 // (Rows)
}

// QuantizeFP8 quantizes w (rows, cols) row-major per row: Scale[r] = max_k |w[r,k]| / 448,
// Q = EncodeE4M3(w · 448/amax).
func QuantizeFP8(w []float32, rows, cols int) *FP8Matrix {
	if len(w) < rows*cols {
		panic("qgemm: QuantizeFP8: len(w) < rows·cols")
	}
	m := &FP8Matrix{Rows: rows, Cols: cols, Q: make([]uint8, rows*cols), Scale: make([]float32, rows)}
	for r := range rows {
		m.Scale[r] = quantRowFP8(m.Q[r*cols:(r+1)*cols], w[r*cols:(r+1)*cols])
	}
	return m
}

func (m *FP8Matrix) check(name string, dst, x []float32, n int) {
	if len(m.Q) < m.Rows*m.Cols || len(m.Scale) < m.Rows {
		panic("qgemm: FP8Matrix: len(Q) must be Rows·Cols and len(Scale) Rows")
	}
	checkMul("FP8Matrix."+name, m.Rows, m.Cols, dst, x, n)
}

// MatMulTRef is the plain loop: activations are quantized with QuantizeActFP8, then
// dst[i,r] = float32(Σ_k float64(dec(xq[i,k]))·float64(dec(Q[r,k]))) · Scale[r] · sx[i].
func (m *FP8Matrix) MatMulTRef(dst, x []float32, n int) {
	m.check("MatMulTRef", dst, x, n)
	rows, cols := m.Rows, m.Cols
	xq := make([]uint8, n*cols)
	sx := make([]float32, n)
	QuantizeActFP8(xq, sx, x, n, cols)
	for i := range n {
		for r := range rows {
			var s float64
			for k := range cols {
				s += float64(DecodeE4M3(xq[i*cols+k])) * float64(DecodeE4M3(m.Q[r*cols+k]))
			}
			dst[i*rows+r] = float32(s) * m.Scale[r] * sx[i]
		}
	}
}

// MatMulT computes dst (n, rows) = X · Wᵀ with e4m3fn activations (QuantizeActFP8): both
// operands are decoded to f32 (weights by shift and mask, 8 rows at a time for a few tokens, or
// 16-row tiles into the f32 GEMM micro-kernel for more) and FMA'd in f32 (a16.go).
func (m *FP8Matrix) MatMulT(dst, x []float32, n int) {
	m.check("MatMulT", dst, x, n)
	cols := m.Cols
	bs, bx := getF32(n), getF32(n*cols)
	sx, xf := *bs, *bx // (n), (n, cols): decoded e4m3 activations
	roundActFP8(xf, sx, x, n, cols)
	m.matMulTA16(dst, xf, sx, n)
	f32Pool.Put(bs)
	f32Pool.Put(bx)
}
