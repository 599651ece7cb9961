package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestDotRowsAxpyRows checks the strided attention products on every kernel path against float64 sums.
// Bound: a float32 sum of k products in any order is within k·u·Σ|terms| of the exact sum (Higham's γ_k),
// k = cols for DotRows and rows for AxpyRows.
func TestDotRowsAxpyRows(t *testing.T) {
	for _, ks := range availableKernels() {
		t.Run(ks.name, func(t *testing.T) {
			defer setActive(ks.name)()
			rng := rand.New(rand.NewPCG(3, 4))
			for _, sh := range [][3]int{{1, 1, 1}, {7, 16, 16}, {8, 64, 192}, {9, 64, 192}, {17, 64, 64}, {33, 80, 200}, {100, 128, 384}, {5, 17, 40}, {0, 64, 64}} {
				rows, cols, ld := sh[0], sh[1], sh[2]
				w := make([]float32, max(rows-1, 0)*ld+cols)
				for i := range w {
					w[i] = float32(rng.NormFloat64())
				}
				x := make([]float32, cols)
				for i := range x {
					x[i] = float32(rng.NormFloat64())
				}
				dst := make([]float32, rows+1)
				dst[rows] = 42
				DotRows(dst, w, ld, rows, cols, x)
				for r := 0; r < rows; r++ {
					var s, a float64
					for c := 0; c < cols; c++ {
						s += float64(w[r*ld+c]) * float64(x[c])
						a += math.Abs(float64(w[r*ld+c]) * float64(x[c]))
					}
					if d := math.Abs(float64(dst[r]) - s); d > float64(cols)*u*a {
						t.Errorf("DotRows %v: dst[%d] = %g, want %g", sh, r, dst[r], s)
					}
				}
				if dst[rows] != 42 {
					t.Errorf("DotRows %v wrote past rows", sh)
				}
				p := make([]float32, rows)
				for i := range p {
					p[i] = float32(rng.Float64())
				}
				out := make([]float32, cols+1)
				out[cols] = 7
				AxpyRows(out, p, w, ld, rows, cols)
				for c := 0; c < cols; c++ {
					var s, a float64
					for r := 0; r < rows; r++ {
						s += float64(p[r]) * float64(w[r*ld+c])
						a += math.Abs(float64(p[r]) * float64(w[r*ld+c]))
					}
					if d := math.Abs(float64(out[c]) - s); d > float64(rows)*u*a {
						t.Errorf("AxpyRows %v: out[%d] = %g, want %g", sh, c, out[c], s)
					}
				}
				if out[cols] != 7 {
					t.Errorf("AxpyRows %v wrote past cols", sh)
				}
			}
		})
	}
}
