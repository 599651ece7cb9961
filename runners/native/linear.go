package native

import (
	"fmt"

	"github.com/qbench/qbench/kernels"
	"github.com/qbench/qbench/kernels/qgemm"
)

// Linear is one weight matrix W (out, in) applied to rows of activations:
// dst (n, out) = x (n, in) · Wᵀ. Every weight format (f32, bf16, the
// quantized formats of quant/) implements it.
type Linear interface {
	MatMulT(dst, x []float32, n int)
	Dims() (out, in int)
}

// Bytes is implemented by linears that know their weight storage size.
type sizer interface{ Bytes() int64 }

// F32Linear is a full-precision weight matrix.
type F32Linear struct {
	W       []float32 // (Out, In) row-major
	Out, In int
}

// Dims returns (out, in).
func (l *F32Linear) Dims() (int, int) { return l.Out, l.In }

// Bytes is the weight storage size.
func (l *F32Linear) Bytes() int64 { return int64(len(l.W)) * 4 }

// MatMulT computes dst = x · Wᵀ.
func (l *F32Linear) MatMulT(dst, x []float32, n int) {
	kernels.MatMulT(dst, l.W, l.Out, l.In, x, n)
}

// BF16Linear keeps bf16 weights (half the bytes of f32, exact when the
// checkpoint is bf16) and computes in f32.
type BF16Linear struct {
	W       []uint16 // (Out, In) row-major bf16 bits
	Out, In int
}

// Dims returns (out, in).
func (l *BF16Linear) Dims() (int, int) { return l.Out, l.In }

// Bytes is the weight storage size.
func (l *BF16Linear) Bytes() int64 { return int64(len(l.W)) * 2 }

// MatMulT computes dst = x · Wᵀ.
func (l *BF16Linear) MatMulT(dst, x []float32, n int) {
	if n == 1 {
		kernels.MatVecBF16(dst, l.W, l.Out, l.In, x)
		return
	}
	kernels.MatMulTBF16(dst, l.W, l.Out, l.In, x, n)
}

// matMulShared computes dsts[i] = x · ls[i]ᵀ for linears that read the same input (q, k, v; gate,
// up). Where they are all bf16, all weight-only int8/int4, or all int8-activation int8/int4, one
// call packs (and for int8 activations quantizes) x once for all of them.
func matMulShared(x []float32, n int, ls []Linear, dsts [][]float32) {
	if sharedProduct(x, n, ls, dsts) {
		return
	}
	for i, l := range ls {
		l.MatMulT(dsts[i], x, n)
	}
}

// sharedProduct runs ls on x through one shared-input kernel call and reports whether it could.
func sharedProduct(x []float32, n int, ls []Linear, dsts [][]float32) bool {
	ps := make([]kernels.BF16Product, 0, len(ls))
	var a16 []qgemm.A16Matrix
	var a8 []qgemm.A8Matrix
	for i, l := range ls {
		switch l := l.(type) {
		case *BF16Linear:
			ps = append(ps, kernels.BF16Product{Dst: dsts[i], W: l.W, Rows: l.Out})
		case *Int8Linear:
			if l.Act == ActInt8 {
				a8 = append(a8, l.M)
			} else {
				a16 = append(a16, l.M)
			}
		case *Int4Linear:
			if l.Perm != nil { // act-order: each linear gathers its own columns
				return false
			}
			if l.Act == ActInt8 {
				a8 = append(a8, l.M)
			} else {
				a16 = append(a16, l.M)
			}
		default:
			return false
		}
	}
	_, in := ls[0].Dims()
	switch {
	case len(ps) == len(ls):
		kernels.MatMulTBF16Many(ps, in, x, n)
	case len(a16) == len(ls):
		qgemm.MatMulTA16Many(dsts, a16, x, n)
		for i, l := range ls {
			if l8, ok := l.(*Int8Linear); ok {
				l8.zeroCorrect(dsts[i], x, n)
			}
		}
	case len(a8) == len(ls):
		qgemm.MatMulTA8Many(dsts, a8, x, n)
	default:
		return false
	}
	return true
}

func checkDims(name string, l Linear, out, in int) error {
	o, i := l.Dims()
	if o != out || i != in {
		return fmt.Errorf("%s: shape (%d, %d), want (%d, %d)", name, o, i, out, in)
	}
	return nil
}

// parallelFor runs fn over [0, n) on the kernels' worker pool when there
// are at least 2·minWork items; below that it runs inline.
func parallelFor(n, minWork int, fn func(lo, hi int)) {
	if n < 2*max(minWork, 1) {
		fn(0, n)
		return
	}
	kernels.Parallel(n, fn)
}
