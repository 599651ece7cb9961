package quant

import (
	"fmt"
	"math"

	"github.com/qbench/qbench/kernels"
)

// Grid is an integer quantization grid for weights. It mirrors
// Quantizer.configure/find_params of the reference GPTQ code
// (IST-DASLab/gptq quant.py, perchannel=True, weight=True), with QQQ's variant.
//
// For a row segment x (one output channel, or one group of it), find_params is:
//
//	xmin = min(min(x), 0), xmax = max(max(x), 0)
//	sym:  xmax = max(|xmin|, xmax); if xmin < 0 { xmin = −xmax }
//	xmin == xmax == 0 (all-zero segment): xmin, xmax = −1, +1
//	maxq = 2^bits − 1, scale = (xmax − xmin)/maxq
//	zero = (maxq+1)/2 if sym, else round(−xmin/scale)
//	code = clamp(round(x/scale) + zero, 0, maxq)   (round half to even, as torch.round)
//
// Narrow selects QQQ's per-channel symmetric grid (HandH1998/QQQ gptq/quant.py
// with groupsize −1 and sym): m = 2^(bits−1) − 1, scale = xmax/m,
// q = clamp(round(x/scale), −m, m); it is stored as code = q + m + 1 with
// zero = m + 1 (for 4 bits: code ∈ [1, 15], zero 8).
//
// MSE enables find_params' shrink search (norm 2.4, grid 100, maxshrink 0.8):
// for p = 1 − i/100, i < 80, the range (p·xmin, p·xmax) with the smallest
// Σ|dequant(x) − x|^2.4 wins (the zero point stays fixed when sym).
type Grid struct {
	Bits   int  `yaml:"bits" json:"bits"`
	Sym    bool `yaml:"sym" json:"sym"`
	Narrow bool `yaml:"narrow,omitempty" json:"narrow,omitempty"`
	MSE    bool `yaml:"mse,omitempty" json:"mse,omitempty"`
}

// MaxQ is the largest unsigned code: 2^bits − 1 (also for Narrow grids, whose
// codes lie in [1, 2^bits − 1]).
func (g Grid) MaxQ() int { return 1<<g.Bits - 1 }

func (g Grid) validate() error {
	if g.Bits < 2 || g.Bits > 8 {
		return fmt.Errorf("quant: grid of %d bits is not supported; use 2..8 bits", g.Bits)
	}
	if g.Narrow && !g.Sym {
		return fmt.Errorf("quant: a narrow (QQQ per-channel) grid must be symmetric; set sym: true")
	}
	return nil
}

// Params returns (scale, zero) for one row segment, as find_params does.
func (g Grid) Params(x []float64) (scale, zero float64) {
	xmin, xmax := 0.0, 0.0
	for _, v := range x {
		xmin = min(xmin, v) // the builtins treat NaN and ±0 as math.Min/Max do
		xmax = max(xmax, v)
	}
	if g.Sym {
		xmax = math.Max(math.Abs(xmin), xmax)
		if xmin < 0 {
			xmin = -xmax
		}
	}
	if xmin == 0 && xmax == 0 {
		xmin, xmax = -1, 1
	}
	scale, zero = g.rangeParams(xmin, xmax)
	if !g.MSE {
		return scale, zero
	}
	const (
		norm      = 2.4
		grid      = 100
		maxShrink = 0.8
	)
	best := math.Inf(1)
	for i := 0; i < int(maxShrink*grid); i++ {
		p := float32(1 - float64(i)/grid) // a Python float, cast to the tensor's float32
		s1, z1 := g.rangeParams(float64(p*float32(xmin)), float64(p*float32(xmax)))
		if g.Sym {
			z1 = zero
		}
		var err float64
		for _, v := range x {
			err += math.Pow(math.Abs(g.dequant(g.code(v, s1, z1), s1, z1)-v), norm)
		}
		if err < best {
			best, scale, zero = err, s1, z1
		}
	}
	return scale, zero
}

// rangeParams is find_params' scale and zero for a range, evaluated in
// float32 as the reference's float32 tensors are (this decides, e.g., that the
// all-zero row's asymmetric zero is round(1/float32(2/15)) = round(7.4999996) = 7).
func (g Grid) rangeParams(xmin, xmax float64) (scale, zero float64) {
	lo, hi := float32(xmin), float32(xmax)
	if g.Narrow {
		m := float32(int(1)<<(g.Bits-1) - 1)
		return float64(hi / m), float64(m + 1)
	}
	maxq := float32(g.MaxQ())
	s := (hi - lo) / maxq
	if g.Sym {
		return float64(s), float64((maxq + 1) / 2)
	}
	return float64(s), math.RoundToEven(float64(-lo / s))
}

// code returns the unsigned code of v (see Grid). The quotient v/scale is
// taken in float32, as the reference's float32 tensors do: with a symmetric
// grid the extreme element sits exactly on a .5 tie (x/scale = −(maxq+1)/2 in
// exact arithmetic), and only the float32 quotient reproduces its rounding.
func (g Grid) code(v, scale, zero float64) uint8 {
	r := math.RoundToEven(float64(float32(v) / float32(scale)))
	if g.Narrow {
		m := zero - 1
		return uint8(max(-m, min(m, r)) + zero)
	}
	return uint8(max(0, min(float64(g.MaxQ()), r+zero)))
}

func (g Grid) dequant(c uint8, scale, zero float64) float64 { return scale * (float64(c) - zero) }

// Quantized is an integer-quantized weight matrix:
//
//	W[r, c] ≈ Scales[r, GIdx[c]] · (Codes[r, c] − Zeros[r, GIdx[c]])
type Quantized struct {
	Rows, Cols int
	Grid       Grid
	GroupSize  int       // input columns per group; Cols for per-channel
	Codes      []uint8   // (Rows, Cols) row-major, original column order
	Scales     []float32 // (Rows, NGroups) row-major
	Zeros      []float32 // (Rows, NGroups) row-major, integer-valued
	GIdx       []int32   // (Cols): group of each column (act-order permutes it)
	Perm       []int32   // (Cols): GPTQ act-order processing order; nil without act-order
}

// NGroups is the number of scale columns per row.
func (q *Quantized) NGroups() int { return len(q.Scales) / q.Rows }

// Dequantize returns the float32 weight scale·(code − zero), computed in
// float32 as the reference code's Q matrix is: (Rows, Cols) row-major.
func (q *Quantized) Dequantize() *Matrix {
	m := NewMatrix(q.Rows, q.Cols)
	ng := q.NGroups()
	for r := 0; r < q.Rows; r++ {
		for c := 0; c < q.Cols; c++ {
			g := int(q.GIdx[c])
			m.Data[r*q.Cols+c] = q.Scales[r*ng+g] * (float32(q.Codes[r*q.Cols+c]) - q.Zeros[r*ng+g])
		}
	}
	return m
}

// Signed returns code − zero for symmetric grids (the int4/int8 value a kernel
// multiplies by): (Rows, Cols) row-major. It fails for asymmetric grids.
func (q *Quantized) Signed() ([]int8, error) {
	if !q.Grid.Sym {
		return nil, fmt.Errorf("quant: Signed needs a symmetric grid; use Codes and Zeros for asymmetric ones")
	}
	out := make([]int8, len(q.Codes))
	ng := q.NGroups()
	for r := 0; r < q.Rows; r++ {
		for c := 0; c < q.Cols; c++ {
			out[r*q.Cols+c] = int8(int(q.Codes[r*q.Cols+c]) - int(q.Zeros[r*ng+int(q.GIdx[c])]))
		}
	}
	return out, nil
}

func newQuantized(rows, cols int, g Grid, groupSize int) *Quantized {
	if groupSize <= 0 || groupSize > cols {
		groupSize = cols
	}
	ng := (cols + groupSize - 1) / groupSize
	q := &Quantized{
		Rows: rows, Cols: cols, Grid: g, GroupSize: groupSize,
		Codes:  make([]uint8, rows*cols),
		Scales: make([]float32, rows*ng),
		Zeros:  make([]float32, rows*ng),
		GIdx:   make([]int32, cols),
	}
	for c := range q.GIdx {
		q.GIdx[c] = int32(c / groupSize)
	}
	return q
}

// QuantizeRTN rounds w (out, in) to the grid g with one (scale, zero) per
// output channel (groupSize ≤ 0) or per groupSize consecutive input columns
// (a shorter last group when groupSize does not divide the columns, as the
// reference's slicing does). This is GPTQ's quantizer without error feedback.
func QuantizeRTN(w *Matrix, g Grid, groupSize int) (*Quantized, error) {
	if err := w.check("weight"); err != nil {
		return nil, err
	}
	if err := g.validate(); err != nil {
		return nil, err
	}
	q := newQuantized(w.Rows, w.Cols, g, groupSize)
	ng := q.NGroups()
	// Rows are independent: split them over the worker pool (results do not
	// depend on the split).
	kernels.Parallel(w.Rows, func(lo, hi int) {
		seg := make([]float64, q.GroupSize)
		for r := lo; r < hi; r++ {
			row := w.Row(r)
			for gi := 0; gi < ng; gi++ {
				c0, c1 := gi*q.GroupSize, min((gi+1)*q.GroupSize, w.Cols)
				s := seg[:c1-c0]
				for i := range s {
					s[i] = float64(row[c0+i])
				}
				scale, zero := g.Params(s)
				q.Scales[r*ng+gi], q.Zeros[r*ng+gi] = float32(scale), float32(zero)
				for i, v := range s {
					q.Codes[r*w.Cols+c0+i] = g.code(v, scale, zero)
				}
			}
		}
	})
	return q, nil
}
