package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestExpf compares expf with math.Exp (float64) over the float32 range
// used by softmax; the bound 2e-7 relative is Cephes' stated expf accuracy
// (about 1 ulp of float32 plus rounding of the result).
func TestExpf(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	worst := 0.0
	check := func(x float32) {
		want := math.Exp(float64(x))
		got := float64(expf(x))
		if want < 1e-37 {
			if got > 1e-37 {
				t.Fatalf("expf(%g) = %g, want ~0", x, got)
			}
			return
		}
		rel := math.Abs(got-want) / want
		worst = math.Max(worst, rel)
		if rel > 2e-7 {
			t.Fatalf("expf(%g) = %g, math.Exp %g (rel %.2g)", x, got, want, rel)
		}
	}
	for _, x := range []float32{0, 1, -1, 0.5, -0.5, 10, -10, -87, 88, 0.34657359, -0.34657359} {
		check(x)
	}
	for i := 0; i < 200000; i++ {
		check(float32(rng.Float64()*175 - 87))
	}
	if expf(-100) != 0 || !math.IsInf(float64(expf(100)), 1) {
		t.Errorf("expf limits: %g %g", expf(-100), expf(100))
	}
	t.Logf("worst relative error %.3g", worst)
}

func TestSoftmaxPrefix(t *testing.T) {
	x := []float32{1, 2, 3, 100, 7}
	SoftmaxPrefix(x, 3, 0.5)
	den := math.Exp(0.5) + math.Exp(1) + math.Exp(1.5)
	for i, want := range []float64{math.Exp(0.5) / den, math.Exp(1) / den, math.Exp(1.5) / den, 0, 0} {
		if math.Abs(float64(x[i])-want) > 1e-6 {
			t.Errorf("x[%d] = %g, want %g", i, x[i], want)
		}
	}
}

// TestSoftmaxPrefixPaths checks every kernel path (the AVX-512 vector exp included) against a float64
// softmax of the same float32 arguments (v−max)·scale. Bound: expf's 2e-7 relative error (≈3.4u) per
// term, the float64 sum, one division rounded to float32 and one multiply: 6u, stated as 8u.
func TestSoftmaxPrefixPaths(t *testing.T) {
	for _, ks := range availableKernels() {
		t.Run(ks.name, func(t *testing.T) {
			defer setActive(ks.name)()
			rng := rand.New(rand.NewPCG(5, 6))
			for _, n := range ragged {
				x := make([]float32, n+5)
				for i := range x {
					x[i] = float32(rng.NormFloat64() * 8)
				}
				if n > 2 {
					x[1] = -300 // underflows to 0
				}
				mx := float32(math.Inf(-1))
				for _, v := range x[:n] {
					mx = max(mx, v)
				}
				const scale = 1.25
				want := make([]float64, n)
				var den float64
				for i, v := range x[:n] {
					want[i] = math.Exp(float64((v - mx) * scale))
					den += want[i]
				}
				SoftmaxPrefix(x, n, scale)
				for i := range x {
					w := 0.0
					if i < n {
						w = want[i] / den
					}
					if d := math.Abs(float64(x[i]) - w); !(d <= 8*u*w+1e-30) {
						t.Fatalf("n=%d: x[%d] = %g, want %g (|Δ| = %g)", n, i, x[i], w, d)
					}
				}
			}
		})
	}
}

// TestSiLUMulPaths runs TestSiLUMul's comparison on every kernel path.
func TestSiLUMulPaths(t *testing.T) {
	for _, ks := range availableKernels() {
		t.Run(ks.name, func(t *testing.T) {
			defer setActive(ks.name)()
			TestSiLUMul(t)
		})
	}
}

// TestMaxScalePaths: the vector max equals the builtin max bit for bit (NaN anywhere gives NaN,
// ±Inf and ties included) and the vector scale equals x·s, on every path that has them, for
// lengths with and without a masked tail; none of max, scale and the vector exp touches x[n:].
func TestMaxScalePaths(t *testing.T) {
	for _, ks := range availableKernels() {
		if ks.maxf == nil {
			continue
		}
		t.Run(ks.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(9, 10))
			for _, n := range []int{1, 5, 15, 16, 17, 32, 48, 63, 160, 640, 641} {
				for trial := range 6 {
					x := make([]float32, n, n+16)
					for i := range x {
						x[i] = float32(rng.NormFloat64() * 8)
					}
					switch trial {
					case 1:
						x[rng.IntN(n)] = float32(math.NaN())
					case 2:
						x[rng.IntN(n)] = float32(math.Inf(1))
					case 3:
						for i := range x {
							x[i] = float32(math.Inf(-1))
						}
					case 4:
						x[n-1] = 1e30 // the last lane of the last block
					}
					want := float32(math.Inf(-1))
					for _, v := range x {
						want = max(want, v)
					}
					guard := x[n : n+16]
					for i := range guard {
						guard[i] = float32(math.NaN()) // read as NaN, or written, past n: caught
					}
					got := ks.maxf(x)
					if math.Float32bits(got) != math.Float32bits(want) && !(math.IsNaN(float64(got)) && math.IsNaN(float64(want))) {
						t.Fatalf("n=%d trial %d: max %v, want %v", n, trial, got, want)
					}
					if trial == 0 {
						y := append(make([]float32, 0, n+16), x...)
						y = append(y, make([]float32, 16)...)[:n]
						ks.scalef(y, 0.37)
						for i := range y {
							if y[i] != x[i]*0.37 {
								t.Fatalf("n=%d: scale[%d] = %v, want %v", n, i, y[i], x[i]*0.37)
							}
						}
						var sum float64
						for i := range y {
							y[i] = x[i]
						}
						got := ks.expShift(y, 1, 0.5)
						for i := range y {
							want := expf((x[i] - 1) * 0.5)
							if d := math.Abs(float64(y[i] - want)); d > 4*u*float64(want) {
								t.Fatalf("n=%d: exp[%d] = %v, scalar expf %v", n, i, y[i], want)
							}
							sum += float64(y[i])
						}
						if math.Abs(got-sum) > 1e-12*sum {
							t.Fatalf("n=%d: exp sum %v, want %v", n, got, sum)
						}
						for i, v := range y[n : n+16] {
							if v != 0 {
								t.Fatalf("n=%d: x[%d] past n written: %v", n, n+i, v)
							}
						}
					}
					for i, v := range guard {
						if !math.IsNaN(float64(v)) {
							t.Fatalf("n=%d: x[%d] past n written: %v", n, n+i, v)
						}
					}
				}
			}
		})
	}
}
