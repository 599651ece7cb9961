package native

import (
	"fmt"

	"github.com/qbench/qbench/kernels"
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
// up). Where they are all bf16, one kernels.MatMulTBF16Many call packs x once for all of them.
func matMulShared(x []float32, n int, ls []Linear, dsts [][]float32) {
	if n > 1 {
		ps := make([]kernels.BF16Product, 0, len(ls))
		for i, l := range ls {
			if b, ok := l.(*BF16Linear); ok {
				ps = append(ps, kernels.BF16Product{Dst: dsts[i], W: b.W, Rows: b.Out})
			}
		}
		if len(ps) == len(ls) {
			kernels.MatMulTBF16Many(ps, ls[0].(*BF16Linear).In, x, n)
			return
		}
	}
	for i, l := range ls {
		l.MatMulT(dsts[i], x, n)
	}
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
