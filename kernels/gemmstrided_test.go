package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestGemmStrided compares GemmStrided with the float64 plain loop on every kernel path, for
// rows, tokens and k off the micro-kernel's multiples, padded leading dimensions and both acc
// modes. Tolerance: recursive float32 summation, |Δ| ≤ (k+2)·2⁻²⁴·Σ_c |w·x| (+ |dst₀| with acc),
// Higham §3.1 (γ_k ≈ k·u), +2 for the FMA tails and the final add.
func TestGemmStrided(t *testing.T) {
	const u = 1.0 / (1 << 24)
	for _, ks := range availableKernels() {
		for _, sh := range []struct{ rows, n, k int }{
			{1, 1, 1}, {8, 3, 16}, {9, 4, 17}, {16, 6, 64}, {23, 7, 100}, {5, 2, 15}, {8, 1, 0}, {17, 130, 200},
		} {
			for _, acc := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/%dx%dxk%d/acc=%v", ks.name, sh.rows, sh.n, sh.k, acc), func(t *testing.T) {
					restore := setActive(ks.name)
					defer restore()
					rows, n, k := sh.rows, sh.n, sh.k
					ldw, ldx, ldd := k+5, k+3, rows+2
					rng := rand.New(rand.NewPCG(uint64(rows), uint64(k)))
					w := make([]float32, (rows-1)*ldw+k)
					x := make([]float32, (n-1)*ldx+k)
					dst := make([]float32, (n-1)*ldd+rows)
					for _, s := range [][]float32{w, x, dst} {
						for i := range s {
							s[i] = float32(rng.NormFloat64())
						}
					}
					d0 := append([]float32(nil), dst...)
					GemmStrided(dst, ldd, w, ldw, rows, x, ldx, n, k, acc)
					for tt := range n {
						for r := range rows {
							var s, a float64
							for c := range k {
								p := float64(w[r*ldw+c]) * float64(x[tt*ldx+c])
								s += p
								a += math.Abs(p)
							}
							if acc {
								s += float64(d0[tt*ldd+r])
								a += math.Abs(float64(d0[tt*ldd+r]))
							}
							tol := float64(k+2) * u * a
							if got := float64(dst[tt*ldd+r]); math.Abs(got-s) > tol {
								t.Fatalf("dst[%d,%d] = %v, want %v (tol %.3g)", tt, r, got, s, tol)
							}
						}
						for r := rows; r < ldd && tt*ldd+r < len(dst); r++ { // padding untouched
							if dst[tt*ldd+r] != d0[tt*ldd+r] {
								t.Fatalf("dst[%d,%d] (padding) changed", tt, r)
							}
						}
					}
				})
			}
		}
	}
}
