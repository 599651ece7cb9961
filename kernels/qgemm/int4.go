package qgemm

import (
	"math"
	"sync/atomic"
)

// Int4Matrix holds 4-bit weight codes u ∈ [0, 15] with a scale per group of Group columns:
//
//	w[r,k] = s[r,g] · (u[r,k] − z[r,g]),  g = k / Group,  ng = ceil(Cols/Group) groups per row,
//	s[r,g] = Scale[r·ng+g]                         (single level), or
//	s[r,g] = Scale[r] · GroupScaleInt[r·ng+g]      (two levels, QQQ: needed by W4A8 with groups),
//	z[r,g] = Zero[r·ng+g], or 8 when Zero is nil (symmetric: q = u−8 ∈ [−8, 7]).
//
// Group is a multiple of 32 (W4A8: of 64), or ≥ Cols (per channel).
//
// Packed layout (Rows, RowBytes(Cols)): columns are cut into blocks of 64; byte j ∈ [0, 32) of a
// block holds u[64b+j] in its low nibble and u[64b+32+j] in its high nibble, so the kernels get
// 64 codes in column order from 32 bytes with one shift and one AND (AVX-512), or two 32-weight
// halves with VPMOVZXBD + AND / shift (f32 path). Codes past Cols are 8.
//
// Bits per weight: 4 + 32/Group (f32 scale) [+ 8/Group with Zero]; two-level: 4 + 8/Group +
// 32/Cols (QQQ g=128: 4.06).
type Int4Matrix struct {
	Rows, Cols, Group int
	Packed            []byte    // (Rows, RowBytes(Cols))
	Scale             []float32 // (Rows, ng), or (Rows) when GroupScaleInt != nil
	Zero              []int8    // (Rows, ng) zero codes in [0, 15]; nil = symmetric (8)
	GroupScaleInt     []int8    // (Rows, ng) in [1, 16]; nil = single-level scales
	// RowSum[r] = Σ_k GroupScaleInt[r,g]·(u[r,k]−8) (Rows), filled by Prepare for symmetric
	// matrices; W4A8 enters activations as x+128 and subtracts 128·RowSum[r].
	RowSum []int32

	deqScale, deqBias []float32 // (Rows·ng + 1): w = u·deqScale + deqBias, filled by Prepare

	// vnni is the repacking for the VNNI kernels (vnniPanels, 4 bits per weight next to Packed),
	// built by the first W4A8 product on a CPU with AVX-512 VNNI; W4A16-only matrices have none.
	vnni atomic.Pointer[vnniPanels]

	// amxScale is Scale regrouped for the AMX driver (a16amx.go): per 32-row block b and group g,
	// the 32 rows' scales at (b·ng + g)·32; built on the first grouped W4A16 product on AMX.
	amxScale atomic.Pointer[[]float32]

	// vnniZero is Zero (or 8) regrouped as amxScale, int32, for the W4A16 GEMV on VNNI
	// (a16vnni.go); built on its first product.
	vnniZero atomic.Pointer[[]int32]
}

// RowBytes is the packed size of one row of cols 4-bit codes.
func RowBytes(cols int) int { return (cols + 63) / 64 * 32 }

// PackInt4 packs codes (rows, cols) row-major, each in [0, 15], into the Int4Matrix layout.
func PackInt4(codes []uint8, rows, cols int) []byte {
	if len(codes) < rows*cols {
		panic("qgemm: PackInt4: len(codes) < rows·cols")
	}
	rb := RowBytes(cols)
	p := make([]byte, rows*rb)
	for i := range p {
		p[i] = 0x88
	}
	for r := range rows {
		for k := range cols {
			u := codes[r*cols+k]
			if u > 15 {
				panic("qgemm: PackInt4: code out of [0, 15]")
			}
			idx, sh := r*rb+(k>>6)*32+(k&31), uint((k>>5)&1)*4
			p[idx] = p[idx]&^(0xF<<sh) | u<<sh
		}
	}
	return p
}

// code returns u[k] of the packed row.
func code(row []byte, k int) uint8 { return row[(k>>6)*32+(k&31)] >> (uint((k>>5)&1) * 4) & 0xF }

// Code returns the 4-bit code of weight (r, k).
func (m *Int4Matrix) Code(r, k int) uint8 { return code(m.Packed[r*RowBytes(m.Cols):], k) }

func (m *Int4Matrix) groups() int { return (m.Cols + m.Group - 1) / m.Group }

// scaleZero returns s[r,g] and z[r,g].
func (m *Int4Matrix) scaleZero(r, g int) (float32, int32) {
	ng := m.groups()
	s := float32(0)
	if m.GroupScaleInt != nil {
		s = m.Scale[r] * float32(m.GroupScaleInt[r*ng+g])
	} else {
		s = m.Scale[r*ng+g]
	}
	z := int32(8)
	if m.Zero != nil {
		z = int32(m.Zero[r*ng+g])
	}
	return s, z
}

// Prepare checks the layout and computes RowSum and the dequantization constants; call it
// after filling the fields yourself (the Quantize functions do).
func (m *Int4Matrix) Prepare() {
	if m.Rows < 0 || m.Cols < 0 || m.Group <= 0 {
		panic("qgemm: Int4Matrix: Rows, Cols must be ≥ 0 and Group > 0")
	}
	ng := m.groups()
	if ng > 1 && m.Group%32 != 0 {
		panic("qgemm: Int4Matrix: Group must be a multiple of 32 or ≥ Cols (per channel)")
	}
	nScale := m.Rows * ng
	if m.GroupScaleInt != nil {
		nScale = m.Rows
		if len(m.GroupScaleInt) != m.Rows*ng {
			panic("qgemm: Int4Matrix: len(GroupScaleInt) must be Rows·ceil(Cols/Group)")
		}
		for _, s := range m.GroupScaleInt {
			if s < 1 || s > 16 {
				panic("qgemm: Int4Matrix: GroupScaleInt values must be in [1, 16] so that (u−8)·s fits int8")
			}
		}
	}
	if len(m.Packed) != m.Rows*RowBytes(m.Cols) || len(m.Scale) != nScale {
		panic("qgemm: Int4Matrix: need len(Packed) = Rows·RowBytes(Cols) and len(Scale) = Rows·ceil(Cols/Group) (Rows with GroupScaleInt)")
	}
	if m.Zero != nil {
		if len(m.Zero) != m.Rows*ng {
			panic("qgemm: Int4Matrix: len(Zero) must be Rows·ceil(Cols/Group)")
		}
		for _, z := range m.Zero {
			if z < 0 || z > 15 {
				panic("qgemm: Int4Matrix: Zero values must be in [0, 15]")
			}
		}
	}
	m.vnni.Store(nil)
	m.amxScale.Store(nil)
	m.vnniZero.Store(nil)
	m.deqScale = make([]float32, m.Rows*ng+1)
	m.deqBias = make([]float32, m.Rows*ng+1)
	for r := range m.Rows {
		for g := range ng {
			s, z := m.scaleZero(r, g)
			m.deqScale[r*ng+g] = s
			m.deqBias[r*ng+g] = -float32(z) * s
		}
	}
	m.RowSum = nil
	if m.Zero == nil {
		m.RowSum = make([]int32, m.Rows)
		for r := range m.Rows {
			var sum int32
			for k := range m.Cols {
				sum += m.wInt(r, k)
			}
			m.RowSum[r] = sum
		}
	}
}

// wInt is the integer W4A8 weight gs[r,g]·(u−8).
func (m *Int4Matrix) wInt(r, k int) int32 {
	gs := int32(1)
	if m.GroupScaleInt != nil {
		gs = int32(m.GroupScaleInt[r*m.groups()+k/m.Group])
	}
	return gs * (int32(m.Code(r, k)) - 8)
}

// QuantizeInt4 quantizes w (rows, cols) row-major with round-to-nearest-even per group of
// `group` columns (group ≥ cols: per channel). Symmetric (GPTQ/QQQ group convention):
// s = 2·amax/15, u = clamp(RNE(w/s)+8, 0, 15). Asymmetric: s = (max−min)/15 over the group with
// min ≤ 0 ≤ max, z = RNE(−min/s), u = clamp(RNE(w/s)+z, 0, 15). The result is Prepared.
func QuantizeInt4(w []float32, rows, cols, group int, asym bool) *Int4Matrix {
	if len(w) < rows*cols || group <= 0 {
		panic("qgemm: QuantizeInt4: need len(w) ≥ rows·cols and group > 0")
	}
	m := &Int4Matrix{Rows: rows, Cols: cols, Group: group}
	ng := m.groups()
	codes := make([]uint8, rows*cols)
	m.Scale = make([]float32, rows*ng)
	if asym {
		m.Zero = make([]int8, rows*ng)
	}
	for r := range rows {
		for g := range ng {
			k0, k1 := g*group, min((g+1)*group, cols)
			lo, hi := float32(0), float32(0)
			for _, v := range w[r*cols+k0 : r*cols+k1] {
				lo, hi = min(lo, v), max(hi, v)
			}
			var s float32
			z := 8.0
			if asym {
				s = (hi - lo) / 15
				if s > 0 {
					z = max(0, min(15, math.RoundToEven(float64(-lo/s))))
				}
				m.Zero[r*ng+g] = int8(z)
			} else {
				s = 2 * max(hi, -lo) / 15
			}
			m.Scale[r*ng+g] = s
			for k := k0; k < k1; k++ {
				u := z
				if s > 0 {
					u = max(0, min(15, math.RoundToEven(float64(w[r*cols+k]/s))+z))
				}
				codes[r*cols+k] = uint8(u)
			}
		}
	}
	m.Packed = PackInt4(codes, rows, cols)
	m.Prepare()
	return m
}

// QuantizeInt4QQQ quantizes w (rows, cols) for W4A8 as QQQ does (HandH1998/QQQ): per channel
// (group ≥ cols) s = amax/7 and q = clamp(RNE(w/s), −7, 7); per group, first-level group scales
// s_g = 2·amax_g/15 are re-expressed as Scale[r] · GroupScaleInt[r,g] with Scale[r] = max_g s_g/16
// and GroupScaleInt = clamp(RNE(s_g/Scale[r]), 1, 16), so that (u−8)·GroupScaleInt is one int8
// (QQQ's dequant_per_group also turns (u−8)·s_grp into one int8 before its int8 MMA), and the
// weights are rounded with that effective scale: u = clamp(RNE(w/s)+8, 0, 15). Prepared.
func QuantizeInt4QQQ(w []float32, rows, cols, group int) *Int4Matrix {
	if len(w) < rows*cols || group <= 0 {
		panic("qgemm: QuantizeInt4QQQ: need len(w) ≥ rows·cols and group > 0")
	}
	m := &Int4Matrix{Rows: rows, Cols: cols, Group: group}
	ng := m.groups()
	codes := make([]uint8, rows*cols)
	m.Scale = make([]float32, rows)
	if ng > 1 {
		m.GroupScaleInt = make([]int8, rows*ng)
	}
	amax := func(r, k0, k1 int) float32 {
		var a float32
		for _, v := range w[r*cols+k0 : r*cols+k1] {
			a = max(a, float32(math.Abs(float64(v))))
		}
		return a
	}
	for r := range rows {
		if ng == 1 {
			s := amax(r, 0, cols) / 7
			m.Scale[r] = s
			for k := range cols {
				u := 8.0
				if s > 0 {
					u = max(-7, min(7, math.RoundToEven(float64(w[r*cols+k]/s)))) + 8
				}
				codes[r*cols+k] = uint8(u)
			}
			continue
		}
		sg := make([]float32, ng)
		var smax float32
		for g := range ng {
			sg[g] = 2 * amax(r, g*group, min((g+1)*group, cols)) / 15
			smax = max(smax, sg[g])
		}
		sch := smax / 16
		m.Scale[r] = sch
		for g := range ng {
			gi := 1.0
			if sch > 0 {
				gi = max(1, min(16, math.RoundToEven(float64(sg[g]/sch))))
			}
			m.GroupScaleInt[r*ng+g] = int8(gi)
			s := sch * float32(gi)
			for k := g * group; k < min((g+1)*group, cols); k++ {
				u := 8.0
				if s > 0 {
					u = max(0, min(15, math.RoundToEven(float64(w[r*cols+k]/s))+8))
				}
				codes[r*cols+k] = uint8(u)
			}
		}
	}
	m.Packed = PackInt4(codes, rows, cols)
	m.Prepare()
	return m
}

func (m *Int4Matrix) check(name string, dst, x []float32, n int) {
	if m.deqScale == nil || len(m.Packed) != m.Rows*RowBytes(m.Cols) {
		panic("qgemm: Int4Matrix." + name + ": matrix not prepared: call Prepare after filling its fields")
	}
	checkMul("Int4Matrix."+name, m.Rows, m.Cols, dst, x, n)
}

// MatMulTRef is the W4A16 plain loop:
// dst[i,r] = float32(Σ_k float64(x[i,k]) · float64(s[r,g]) · (u[r,k] − z[r,g])).
func (m *Int4Matrix) MatMulTRef(dst, x []float32, n int) {
	m.check("MatMulTRef", dst, x, n)
	rows, cols := m.Rows, m.Cols
	for i := range n {
		for r := range rows {
			var acc float64
			for k := range cols {
				s, z := m.scaleZero(r, k/m.Group)
				acc += float64(x[i*cols+k]) * float64(s) * float64(int32(m.Code(r, k))-z)
			}
			dst[i*rows+r] = float32(acc)
		}
	}
}

// MatMulT computes W4A16 dst (n, rows) = X · Wᵀ with f32 activations: for a few tokens codes are
// looked up in a per-group table of u·s + (−z·s), 8 rows at a time, or, with VNNI and below
// a16VNNIMaxWeights, multiplied with the activations' three digit bytes (a16vnni.go); for more,
// 16-row tiles are dequantized into the f32 GEMM micro-kernel (a16.go), or run on AMX tiles
// (a16amx.go; symmetric matrices on AMX-INT8 digits, a16digits.go).
func (m *Int4Matrix) MatMulT(dst, x []float32, n int) {
	m.check("MatMulT", dst, x, n)
	m.matMulTA16(dst, x, n) // a16.go
}

func (m *Int4Matrix) checkA8(name string) {
	if m.Zero != nil {
		panic("qgemm: Int4Matrix." + name + ": W4A8 needs symmetric weights (Zero == nil)")
	}
	if m.groups() > 1 && (m.GroupScaleInt == nil || m.Group%64 != 0) {
		panic("qgemm: Int4Matrix." + name + ": W4A8 with groups needs GroupScaleInt (QuantizeInt4QQQ) and Group a multiple of 64")
	}
}

// MatMulTA8Ref is the W4A8 plain loop: xq, sx = QuantizeActInt8(x), then
// dst[i,r] = float32(Σ_k int32(xq[i,k]) · GroupScaleInt[r,g]·(u[r,k]−8)) · Scale[r] · sx[i].
func (m *Int4Matrix) MatMulTA8Ref(dst, x []float32, n int) {
	m.check("MatMulTA8Ref", dst, x, n)
	m.checkA8("MatMulTA8Ref")
	xq := make([]int8, n*m.Cols)
	sx := make([]float32, n)
	QuantizeActInt8(xq, sx, x, n, m.Cols)
	m.MatMulTQRef(dst, xq, sx, n)
}

// MatMulTQRef is MatMulTA8Ref for activations already quantized: xq (n, cols), sx (n).
func (m *Int4Matrix) MatMulTQRef(dst []float32, xq []int8, sx []float32, n int) {
	rows, cols := m.Rows, m.Cols
	for i := range n {
		for r := range rows {
			var acc int32
			for k := range cols {
				acc += int32(xq[i*cols+k]) * m.wInt(r, k)
			}
			dst[i*rows+r] = float32(acc) * m.Scale[r] * sx[i]
		}
	}
}

// MatMulTA8 computes W4A8 dst (n, rows) = X · Wᵀ with int8 per-token activations
// (QuantizeActInt8); int32 sums are exact, equal to MatMulTA8Ref bit for bit.
//
// From a8AMXMin.i4 tokens on a CPU with AMX the int8 weights (u−8)·GroupScaleInt meet the
// activations on AMX-INT8 tiles (a8amx.go). Below that, with AVX-512 VNNI the codes u ∈ [0, 15]
// stay unsigned in registers (two 16-row panels per
// 64-byte vector: low and high nibbles) and meet the signed activations in VPDPBUSD:
// Σ_k u·x − 8·Σ_k x = Σ_k (u−8)·x per token (per group when grouped, then folded into the
// row total by VPMULLD with GroupScaleInt: the same integer as the reference).
func (m *Int4Matrix) MatMulTA8(dst, x []float32, n int) {
	m.check("MatMulTA8", dst, x, n)
	m.checkA8("MatMulTA8")
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

// MatMulTQ is MatMulTA8 for activations already quantized (xq (n, cols), sx (n)).
func (m *Int4Matrix) MatMulTQ(dst []float32, xq []int8, sx []float32, n int) {
	m.check("MatMulTQ", dst, nil, 0)
	m.checkA8("MatMulTQ")
	if len(xq) < n*m.Cols || len(sx) < n || len(dst) < n*m.Rows {
		panic("qgemm: Int4Matrix.MatMulTQ: need len(xq) ≥ n·cols, len(sx) ≥ n, len(dst) ≥ n·rows")
	}
	if q := m.a8View(n); q != nil {
		q.mul(dst, xq, sx, n)
		return
	}
	if useVNNI(m.Rows, m.Cols, n) && m.Cols <= vnniI4MaxCols {
		a := vnniActQ(xq, sx, n, m.Cols, m.actGroup(), 8)
		mulVNNI(m.panels(), true, m.Rows, dst, a)
		actPool.Put(a)
		return
	}
	bq := offsetU8(xq[:n*m.Cols])
	m.matMulU8(dst, *bq, sx, n)
	bytePool.Put(bq)
}

// matMulU8 is the pure-Go W4A8 path (CPUs without AVX-512 VNNI) on xu = xq+128 (n, cols):
// Σ_k (xq+128)·w − 128·RowSum.
func (m *Int4Matrix) matMulU8(dst []float32, xu []uint8, sx []float32, n int) {
	rows, cols := m.Rows, m.Cols
	parallel(rows, 4, func(r0, r1 int) {
		w := make([]int32, cols)
		for r := r0; r < r1; r++ {
			for k := range w {
				w[k] = m.wInt(r, k)
			}
			for i := range n {
				var acc int32
				for k, v := range xu[i*cols : (i+1)*cols] {
					acc += int32(v) * w[k]
				}
				acc -= 128 * m.RowSum[r]
				dst[i*rows+r] = float32(acc) * m.Scale[r] * sx[i]
			}
		}
	})
}
