package native

import (
	"fmt"
	"sync"

	"github.com/qbench/qbench/kernels/qgemm"
	"github.com/qbench/qbench/quant"
)

// Activation formats of quantized linears.
const (
	ActF32  = ""           // f32 activations (W8A16, W4A16)
	ActInt8 = "int8-token" // dynamic symmetric per-token int8 (W8A8-INT8, W4A8)
	ActFP8  = "fp8-token"  // dynamic per-token e4m3fn (W8A8-FP8)
)

// Int8Linear runs an 8-bit weight on qgemm.Int8Matrix without dequantizing
// it: W8A16 (MatMulTA16, f32 activations) or W8A8 (MatMulT, per-token int8
// activations). An asymmetric per-channel weight w = s·(u − z), u ∈ [0, 255],
// is stored as Q = u − 128 and corrected exactly:
//
//	y[i, r] = s_r·Σ_k x[i,k]·Q[r,k] + ZeroCorr[r]·Σ_k x[i,k],  ZeroCorr[r] = s_r·(128 − z_r)
//
// (A16 only: the correction needs the unquantized row sums).
type Int8Linear struct {
	M        *qgemm.Int8Matrix
	Act      string    // ActF32 or ActInt8
	ZeroCorr []float32 // (out) or nil when symmetric
}

// Dims returns (out, in).
func (l *Int8Linear) Dims() (int, int) { return l.M.Rows, l.M.Cols }

// Bytes is the weight storage size.
func (l *Int8Linear) Bytes() int64 { return int64(len(l.M.Q) + 4*len(l.M.Scale) + 4*len(l.ZeroCorr)) }

// MatMulT computes dst (n, out) = x (n, in) · Wᵀ.
func (l *Int8Linear) MatMulT(dst, x []float32, n int) {
	if l.Act == ActInt8 {
		l.M.MatMulT(dst, x, n)
		return
	}
	l.M.MatMulTA16(dst, x, n)
	l.zeroCorrect(dst, x, n)
}

// zeroCorrect adds the asymmetric weights' exact correction ZeroCorr[r]·Σ_k x[i,k] (A16; nothing
// when symmetric).
func (l *Int8Linear) zeroCorrect(dst, x []float32, n int) {
	if l.ZeroCorr == nil || l.Act == ActInt8 {
		return
	}
	in, out := l.M.Cols, l.M.Rows
	for i := 0; i < n; i++ {
		var sum float64
		for _, v := range x[i*in : (i+1)*in] {
			sum += float64(v)
		}
		d := dst[i*out : (i+1)*out]
		for r := range d {
			d[r] += l.ZeroCorr[r] * float32(sum)
		}
	}
}

// Int4Linear runs a 4-bit weight on qgemm.Int4Matrix: W4A16 (MatMulT) or
// W4A8 (MatMulTA8). When GPTQ's act-order made the groups follow a column
// permutation, the matrix holds the columns in that order (column j is the
// original column Perm[j], so groups are contiguous) and the activations are
// gathered the same way before the product.
type Int4Linear struct {
	M    *qgemm.Int4Matrix
	Act  string  // ActF32 or ActInt8
	Perm []int32 // (in) or nil

	pool sync.Pool // *[]float32 gather buffers
}

// Dims returns (out, in).
func (l *Int4Linear) Dims() (int, int) { return l.M.Rows, l.M.Cols }

// Bytes is the weight storage size.
func (l *Int4Linear) Bytes() int64 {
	return int64(len(l.M.Packed) + 4*len(l.M.Scale) + len(l.M.Zero) + len(l.M.GroupScaleInt) + 4*len(l.Perm))
}

// MatMulT computes dst (n, out) = x (n, in) · Wᵀ.
func (l *Int4Linear) MatMulT(dst, x []float32, n int) {
	if l.Perm != nil {
		in := l.M.Cols
		bp, _ := l.pool.Get().(*[]float32)
		if bp == nil {
			bp = new([]float32)
		}
		if cap(*bp) < n*in {
			*bp = make([]float32, n*in)
		}
		xp := (*bp)[:n*in]
		for i := 0; i < n; i++ {
			src, d := x[i*in:(i+1)*in], xp[i*in:(i+1)*in]
			for j, c := range l.Perm {
				d[j] = src[c]
			}
		}
		l.mul(dst, xp, n)
		l.pool.Put(bp)
		return
	}
	l.mul(dst, x, n)
}

func (l *Int4Linear) mul(dst, x []float32, n int) {
	if l.Act == ActInt8 {
		l.M.MatMulTA8(dst, x, n)
		return
	}
	l.M.MatMulT(dst, x, n)
}

// FP8Linear runs an e4m3fn weight with per-token e4m3fn activations (W8A8-FP8).
type FP8Linear struct{ M *qgemm.FP8Matrix }

// Dims returns (out, in).
func (l *FP8Linear) Dims() (int, int) { return l.M.Rows, l.M.Cols }

// Bytes is the weight storage size.
func (l *FP8Linear) Bytes() int64 { return int64(len(l.M.Q) + 4*len(l.M.Scale)) }

// MatMulT computes dst (n, out) = x (n, in) · Wᵀ.
func (l *FP8Linear) MatMulT(dst, x []float32, n int) { l.M.MatMulT(dst, x, n) }

// prepare runs a qgemm Prepare, turning its layout panics into errors.
func prepare(f func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	f()
	return nil
}

// NewQuantLinear maps an integer-quantized weight (GPTQ / RTN / AWQ output,
// w[r,c] = Scales[r,g]·(Codes[r,c] − Zeros[r,g])) onto a qgemm kernel with
// the given activation format (ActF32 or ActInt8):
//
//   - 8 bits, per channel: Int8Matrix, Q = code − zero (symmetric, zero 128)
//     or Q = code − 128 with ZeroCorr (asymmetric, A16 only);
//   - 4 bits, per channel or groups of 32/64/128 (multiples of 64 for A8 with
//     groups is not supported here: use NewQQQLinear): Int4Matrix with the
//     codes as u, Scale = Scales, Zero = Zeros (nil when symmetric, zero 8).
//
// The codes are used exactly: the product equals x·Dequantize()ᵀ up to f32
// summation order (A16), or that product with per-token int8 activation
// quantization applied (A8).
func NewQuantLinear(q *quant.Quantized, act string) (Linear, error) {
	if act != ActF32 && act != ActInt8 {
		return nil, fmt.Errorf("quantized linear: activation format %q: want %q or %q", act, ActF32, ActInt8)
	}
	ng := q.NGroups()
	switch q.Grid.Bits {
	case 8:
		if ng != 1 {
			return nil, fmt.Errorf("quantized linear: 8-bit weights must be per channel (group_size -1), got %d groups", ng)
		}
		m := &qgemm.Int8Matrix{Rows: q.Rows, Cols: q.Cols, Q: make([]int8, len(q.Codes)), Scale: append([]float32(nil), q.Scales...)}
		var corr []float32
		sym := true
		for _, z := range q.Zeros {
			if z != 128 {
				sym = false
			}
		}
		if !sym {
			if act == ActInt8 {
				return nil, fmt.Errorf("quantized linear: W8A8 needs symmetric weights (set sym: true)")
			}
			corr = make([]float32, q.Rows)
			for r := range corr {
				corr[r] = q.Scales[r] * (128 - q.Zeros[r])
			}
		}
		for i, c := range q.Codes {
			m.Q[i] = int8(int(c) - 128)
		}
		if err := prepare(m.Prepare); err != nil {
			return nil, err
		}
		return &Int8Linear{M: m, Act: act, ZeroCorr: corr}, nil
	case 4:
		perm, err := groupPerm(q)
		if err != nil {
			return nil, err
		}
		codes := q.Codes
		if perm != nil {
			codes = make([]uint8, len(q.Codes))
			for r := 0; r < q.Rows; r++ {
				for j, c := range perm {
					codes[r*q.Cols+j] = q.Codes[r*q.Cols+int(c)]
				}
			}
		}
		m := &qgemm.Int4Matrix{Rows: q.Rows, Cols: q.Cols, Group: q.GroupSize, Packed: qgemm.PackInt4(codes, q.Rows, q.Cols),
			Scale: append([]float32(nil), q.Scales...)}
		sym := true
		for _, z := range q.Zeros {
			if z != 8 {
				sym = false
			}
		}
		if !sym {
			m.Zero = make([]int8, len(q.Zeros))
			for i, z := range q.Zeros {
				m.Zero[i] = int8(z)
			}
		}
		if act == ActInt8 && (ng > 1 || !sym) {
			return nil, fmt.Errorf("quantized linear: W4A8 on 4-bit codes needs symmetric per-channel weights; grouped QQQ weights go through NewQQQLinear")
		}
		if err := prepare(m.Prepare); err != nil {
			return nil, err
		}
		return &Int4Linear{M: m, Act: act, Perm: perm}, nil
	}
	return nil, fmt.Errorf("quantized linear: %d-bit weights are not supported (4 or 8)", q.Grid.Bits)
}

// groupPerm returns nil when column c belongs to group c/GroupSize, or the
// permutation (GPTQ's act-order Perm) after which groups are contiguous.
func groupPerm(q *quant.Quantized) ([]int32, error) {
	natural := true
	for c, g := range q.GIdx {
		if int(g) != c/q.GroupSize {
			natural = false
			break
		}
	}
	if natural {
		return nil, nil
	}
	if len(q.Perm) == q.Cols {
		ok := true
		for j, c := range q.Perm {
			if int(q.GIdx[c]) != j/q.GroupSize {
				ok = false
				break
			}
		}
		if ok {
			return append([]int32(nil), q.Perm...), nil
		}
	}
	return nil, fmt.Errorf("quantized linear: column groups (g_idx) are neither contiguous nor contiguous after act-order's permutation")
}

// NewQQQLinear runs a QQQ W4A8 weight (quant.QQQPack) exactly as QQQ's kernel
// defines it, y = sTok·ChannelScale[r]·Σ x8·W8[r,:], with per-token int8
// activations (ActInt8):
//
//   - per channel (W8 = Q4 ∈ [−7, 7]): qgemm.Int4Matrix with codes u = Q4 + 8,
//     Scale = ChannelScale, 4 bits per weight (+32/in);
//   - per group, when every group scale is an integer s ∈ [1, 16] (so that
//     W8 = Q4·s exactly): qgemm.Int4Matrix with GroupScaleInt = s,
//     4 + 8/GroupSize bits per weight;
//   - per group otherwise: QQQ's fp16 group scales give W8 = RNE(Q4·s), which
//     is not (u − 8)·integer, so the widened int8 weights W8 run on
//     qgemm.Int8Matrix (8 bits per weight).
//
// Every case multiplies the same integers W8 as QQQ, so the outputs are
// identical to the int8 path bit for bit.
func NewQQQLinear(w *quant.QQQWeights) (Linear, error) {
	if len(w.W8) != w.Rows*w.Cols || len(w.Q4) != w.Rows*w.Cols || len(w.ChannelScale) != w.Rows {
		return nil, fmt.Errorf("qqq linear: need %d weights and %d channel scales, got W8 %d, Q4 %d, scales %d; repack with quant.QQQPack",
			w.Rows*w.Cols, w.Rows, len(w.W8), len(w.Q4), len(w.ChannelScale))
	}
	if m, ok := qqqInt4(w); ok {
		if err := prepare(m.Prepare); err != nil {
			return nil, fmt.Errorf("qqq linear: %w", err)
		}
		return &Int4Linear{M: m, Act: ActInt8}, nil
	}
	m := &qgemm.Int8Matrix{Rows: w.Rows, Cols: w.Cols, Q: append([]int8(nil), w.W8...), Scale: append([]float32(nil), w.ChannelScale...)}
	if err := prepare(m.Prepare); err != nil {
		return nil, fmt.Errorf("qqq linear: %w", err)
	}
	return &Int8Linear{M: m, Act: ActInt8}, nil
}

// qqqInt4 returns w on the 4-bit layout when its integer weights are exactly
// (u − 8)·GroupScaleInt with u ∈ [0, 15] (per channel: group scale 1), or false.
func qqqInt4(w *quant.QQQWeights) (*qgemm.Int4Matrix, bool) {
	rows, cols := w.Rows, w.Cols
	m := &qgemm.Int4Matrix{Rows: rows, Cols: cols, Group: max(cols, 1), Scale: append([]float32(nil), w.ChannelScale...)}
	ng := 1
	if w.GroupScale != nil {
		gsz := w.GroupSize
		if gsz <= 0 {
			return nil, false
		}
		ng = (cols + gsz - 1) / gsz
		if len(w.GroupScale) != rows*ng || (ng > 1 && gsz%64 != 0) { // the W4A8 kernels' group alignment
			return nil, false
		}
		m.Group = gsz
		m.GroupScaleInt = make([]int8, rows*ng)
		for i, s := range w.GroupScale {
			if s < 1 || s > 16 || s != float32(int(s)) {
				return nil, false
			}
			m.GroupScaleInt[i] = int8(s)
		}
	}
	codes := make([]uint8, rows*cols)
	for r := 0; r < rows; r++ {
		for c := 0; c < cols; c++ {
			q := int(w.Q4[r*cols+c])
			s := 1
			if m.GroupScaleInt != nil {
				s = int(m.GroupScaleInt[r*ng+c/m.Group])
			}
			if q < -8 || q > 7 || q*s != int(w.W8[r*cols+c]) {
				return nil, false
			}
			codes[r*cols+c] = uint8(q + 8)
		}
	}
	m.Packed = qgemm.PackInt4(codes, rows, cols)
	return m, true
}

// NewFP8Linear maps a per-channel FP8 weight (quant.QuantizeFP8) onto
// qgemm.FP8Matrix (the same e4m3fn bits and scales).
func NewFP8Linear(q *quant.FP8Quantized) (Linear, error) {
	if len(q.Codes) != q.Rows*q.Cols || len(q.Scales) != q.Rows {
		return nil, fmt.Errorf("fp8 linear: need %d codes and %d scales, got %d and %d", q.Rows*q.Cols, q.Rows, len(q.Codes), len(q.Scales))
	}
	return &FP8Linear{M: &qgemm.FP8Matrix{Rows: q.Rows, Cols: q.Cols, Q: append([]uint8(nil), q.Codes...), Scale: append([]float32(nil), q.Scales...)}}, nil
}
