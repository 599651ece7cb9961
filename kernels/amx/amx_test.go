package amx

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func needAMX(t testing.TB) {
	t.Helper()
	if !Available() {
		t.Skipf("no AMX here: %s", Reason())
	}
}

func randX(rng *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		// A spread of magnitudes, so the three pieces are all used.
		x[i] = float32(rng.NormFloat64() * math.Exp2(float64(rng.IntN(16)-8)))
	}
	return x
}

func randBF16(rng *rand.Rand, n int) []uint16 {
	w := make([]uint16, n)
	for i := range w {
		w[i] = BF16(float32(rng.NormFloat64() * 0.05))
	}
	return w
}

// TestSplitExact: the three pieces add up to x exactly (the premise of the package's precision claim).
func TestSplitExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, x := range append(randX(rng, 10000), 1, -1, 3.1415927, 1e-30, -6.5e30, 3.3e38, 0) {
		v := x
		var sum float64
		for range Parts {
			h := BF16(v)
			sum += float64(F32(h))
			v -= F32(h)
		}
		if float32(sum) != x || v != 0 {
			t.Fatalf("x=%g: pieces sum to %g, residue %g", x, sum, v)
		}
	}
}

func TestPackMatchesRef(t *testing.T) {
	needAMX(t)
	rng := rand.New(rand.NewPCG(3, 4))
	for _, tc := range []struct{ n, cols int }{{1, 32}, {15, 64}, {16, 96}, {17, 576}, {32, 32}, {45, 128}, {128, 576}} {
		x := randX(rng, tc.n*tc.cols)
		var a, b Panel
		a.Pack(x, tc.n, tc.cols)
		b.PackRef(x, tc.n, tc.cols)
		if !slices.Equal(a.buf, b.buf) {
			t.Fatalf("n=%d cols=%d: Pack differs from PackRef", tc.n, tc.cols)
		}
	}
}

// TestMulBF16 compares the AMX product with a float64 loop over the same bf16 weights: the bound is
// the float32 summation bound γ_k·Σ|w·x| with k = cols+4 (the float32 kernels' tests use the same),
// since the split makes every product exact.
func TestMulBF16(t *testing.T) {
	needAMX(t)
	rng := rand.New(rand.NewPCG(5, 6))
	for _, tc := range []struct{ n, rows, cols int }{
		{1, 32, 32}, {16, 64, 64}, {17, 32, 576}, {33, 96, 1536}, {128, 64, 576}, {40, 32, 8192}, {300, 64, 2048},
	} {
		w := randBF16(rng, tc.rows*tc.cols)
		x := randX(rng, tc.n*tc.cols)
		var p Panel
		p.Pack(x, tc.n, tc.cols)
		dst := make([]float32, tc.n*tc.rows)
		for i := range dst {
			dst[i] = float32(math.NaN()) // every element must be written
		}
		p.MulBF16(dst, w, tc.rows, 0, tc.rows)
		for tk := range tc.n {
			for r := range tc.rows {
				var s, abs float64
				for k := range tc.cols {
					v := float64(F32(w[r*tc.cols+k])) * float64(x[tk*tc.cols+k])
					s += v
					abs += math.Abs(v)
				}
				bound := float64(tc.cols+4) * math.Exp2(-24) * abs
				if got := float64(dst[tk*tc.rows+r]); math.Abs(got-s) > bound || math.IsNaN(got) {
					t.Fatalf("n=%d rows=%d cols=%d: dst[%d,%d] = %g, want %g ± %g", tc.n, tc.rows, tc.cols, tk, r, got, s, bound)
				}
			}
		}
	}
}

func TestStoreScaleAccumulate(t *testing.T) {
	needAMX(t)
	rng := rand.New(rand.NewPCG(7, 8))
	const n, cols, rows = 20, 64, 32
	w := randBF16(rng, rows*cols)
	x := randX(rng, n*cols)
	var p Panel
	p.Pack(x, n, cols)
	acc := p.NewAcc()
	p.Dot(acc, w, cols, 0, cols, false)
	plain := make([]float32, n*rows)
	p.Store(plain, rows, 0, acc, nil, false)
	scale := randX(rng, rows)
	got := randX(rng, n*rows)
	want := slices.Clone(got)
	p.Store(got, rows, 0, acc, scale, true)
	for i := range want {
		if v := want[i] + plain[i]*scale[i%rows]; v != got[i] {
			t.Fatalf("element %d: %g, want %g", i, got[i], v)
		}
	}
}

// BenchmarkMulBF16 reports the AMX product's rate (GMAC/s of the bf16·f32 product, all three
// parts counting as one).
func BenchmarkMulBF16(b *testing.B) {
	needAMX(b)
	rng := rand.New(rand.NewPCG(9, 10))
	for _, tc := range []struct{ n, rows, cols int }{{128, 1536, 576}, {128, 576, 1536}, {128, 2048, 2048}} {
		w := randBF16(rng, tc.rows*tc.cols)
		x := randX(rng, tc.n*tc.cols)
		dst := make([]float32, tc.n*tc.rows)
		var p Panel
		b.Run("", func(b *testing.B) {
			for b.Loop() {
				p.Pack(x, tc.n, tc.cols)
				p.MulBF16(dst, w, tc.rows, 0, tc.rows)
			}
			b.ReportMetric(float64(tc.n*tc.rows*tc.cols)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GMAC/s")
		})
	}
}

// TestDotGrouped compares the grouped kernel with the exact (float64) value of the same sum over
// the panel's pieces. Tolerance: float32 summation of k = kl·Parts products per output plus the
// group scalings and the initial value, γ_k·Σ|terms| with γ_k = 2.1·k·2⁻²⁴ (Higham §4.2).
func TestDotGrouped(t *testing.T) {
	needAMX(t)
	rng := rand.New(rand.NewPCG(11, 12))
	for _, tc := range []struct{ n, cols, k0, kl, group int }{
		{17, 256, 0, 256, 128}, {40, 576, 64, 512, 64}, {33, 96, 32, 64, 32}, {64, 1024, 0, 1024, 128},
	} {
		x := randX(rng, tc.n*tc.cols)
		var p Panel
		p.Pack(x, tc.n, tc.cols)
		a := make([]uint16, 32*tc.kl)
		for i := range a {
			a[i] = BF16(float32(rng.IntN(31) - 15))
		}
		s := randX(rng, 32*tc.kl/tc.group)
		got := p.NewAcc()
		for i := range got {
			got[i] = float32(rng.NormFloat64())
		}
		for _, load := range []bool{true, false} {
			init := append(Acc(nil), got...)
			p.DotGrouped(got, a, tc.kl, tc.k0, tc.kl, tc.group, s, load)
			kpairs := tc.cols / 2
			for tp := 0; tp < p.ntb/2; tp++ {
				for i := range 2 {
					for j := range 2 {
						for r := range 16 {
							for tk := range 16 {
								idx := tp*1024 + (2*i+j)*256 + r*16 + tk
								var exact, abs float64
								if load {
									exact, abs = float64(init[idx]), math.Abs(float64(init[idx]))
								}
								for g := 0; g < tc.kl/tc.group; g++ {
									sc := float64(s[g*32+16*i+r])
									for k := tc.k0 + g*tc.group; k < tc.k0+(g+1)*tc.group; k++ {
										w := float64(F32(a[(16*i+r)*tc.kl+k-tc.k0]))
										for part := range Parts {
											v := sc * w * float64(F32(p.buf[(((part*p.ntb+2*tp+j)*kpairs+k/2)*16+tk)*2+k%2]))
											exact += v
											abs += math.Abs(v)
										}
									}
								}
								tol := 2.1 * float64(tc.kl*Parts+tc.kl/tc.group+1) * math.Exp2(-24) * abs
								if d := math.Abs(float64(got[idx]) - exact); !(d <= tol) {
									t.Fatalf("%+v load=%v: acc[%d] = %g, want %g (|Δ| %g > %g)", tc, load, idx, got[idx], exact, d, tol)
								}
							}
						}
					}
				}
			}
		}
	}
}
