package qgemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/qbench/qbench/kernels/amx"
)

// TestA16DigitsVsRef: the assembly digit split equals the Go one byte for byte (lengths around
// the 16-lane step, ties, the clamped maximum, zeros), writes nothing past n, and its digits
// rebuild X with |x − unit·X| within unit + 3·2⁻²⁴·|x| (a16vnni.go).
func TestA16DigitsVsRef(t *testing.T) {
	if !hasAVX512 {
		t.Skip("no AVX-512")
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{1, 3, 15, 16, 17, 31, 32, 100, 128, 576, 2048} {
		for _, kind := range []string{"normal", "outlier", "ties", "zeros"} {
			t.Run(fmt.Sprintf("%s/n=%d", kind, n), func(t *testing.T) {
				x := make([]float32, n)
				for i := range x {
					switch kind {
					case "normal":
						x[i] = float32(rng.NormFloat64())
					case "outlier":
						x[i] = float32(rng.NormFloat64()) * 1e-3
					case "ties":
						x[i] = float32(rng.IntN(1<<20)) + 0.5 // x·1 = k + ½ exactly
					}
				}
				if kind == "outlier" {
					x[rng.IntN(n)] = -300
				}
				var amax float32
				for _, v := range x {
					amax = max(amax, float32(math.Abs(float64(v))))
				}
				inv, unit := float32(0), amax/a16DigitMax
				if amax != 0 {
					inv = a16DigitMax / amax
				}
				if kind == "ties" {
					inv, unit = 1, 1 // X = round-half-even(x); |x| < 2²⁰ stays unclamped
				}
				const pad = 5
				kb := n + pad
				got := make([]int8, 3*kb)
				for i := range got {
					got[i] = 0x55
				}
				var gs [4]int32
				a16Digits(&x[0], n, inv, &got[0], kb, &gs[0])
				want := make([]int8, 3*kb)
				ws := a16DigitsRef(x, inv, want[:n], want[kb:kb+n], want[2*kb:2*kb+n])
				for p := range 3 {
					for k := range n {
						if g, w := got[p*kb+k], want[p*kb+k]; g != w {
							t.Fatalf("digit %d of x[%d] = %v: %d, want %d", p, k, x[k], g, w)
						}
					}
					for k := n; k < kb; k++ {
						if got[p*kb+k] != 0x55 {
							t.Fatalf("digit %d written past n at %d", p, k)
						}
					}
					if gs[p] != ws[p] {
						t.Fatalf("sum of digit %d = %d, want %d", p, gs[p], ws[p])
					}
				}
				for k, v := range x {
					X := int64(got[k]) + 256*int64(got[kb+k]) + 65536*int64(got[2*kb+k])
					e := math.Abs(float64(v) - float64(unit)*float64(X))
					if tol := float64(unit) + 3*u32*math.Abs(float64(v)); !(e <= tol) {
						t.Fatalf("x[%d] = %v: unit·X = %v, |Δ| %.3g > %.3g", k, v, float64(unit)*float64(X), e, tol)
					}
					if kind == "ties" && X != int64(math.RoundToEven(float64(v))) {
						t.Fatalf("x[%d] = %v → X = %d, want ties to even", k, v, X)
					}
				}
			})
		}
	}
}

// TestA16DigitsOutlier: one activation 10⁴ times the rest, so that the digit paths' term
// (unit·Σ|w|, unit = max|x|/a16DigitMax) dominates their tolerance: every digit-path case of
// TestA16FastVsRef on such tokens, one token (the VNNI GEMV) and 64 (AMX digits), against the
// same bound.
func TestA16DigitsOutlier(t *testing.T) {
	if !hasVNNI || !hasAVX512 {
		t.Skip("no AVX-512 VNNI")
	}
	const rows, cols = 64, 576
	rng := rand.New(rand.NewPCG(9, 9))
	w := make([]float32, rows*cols)
	for i := range w {
		w[i] = float32(rng.NormFloat64()) * 0.05
	}
	x := make([]float32, 64*cols)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
		if i%cols == 7 {
			x[i] = 1e4
		}
	}
	for _, c := range a16Cases {
		mb := c.build(w, rows, cols)
		for _, n := range []int{1, 64} {
			if mb.digits == nil || mb.digits(n) == 0 {
				continue
			}
			t.Run(fmt.Sprintf("%s/n=%d", c.name, n), func(t *testing.T) {
				got, want := make([]float32, n*rows), make([]float32, n*rows)
				mb.fast(got, x[:n*cols], n)
				mb.ref(want, x[:n*cols], n)
				worst := 0.0
				for i := range n {
					for r := range rows {
						var a, sw float64
						for k := range cols {
							a += math.Abs(float64(x[i*cols+k])) * mb.bound(r, k)
							sw += math.Abs(mb.w(r, k))
						}
						tol := float64(cols+7)*u32*a + mb.digits(n)*1e4*sw
						d := math.Abs(float64(got[i*rows+r]) - float64(want[i*rows+r]))
						if !(d <= tol) {
							t.Fatalf("dst[%d,%d] = %v, want %v (|Δ| %.3g > tol %.3g)", i, r, got[i*rows+r], want[i*rows+r], d, tol)
						}
						worst = max(worst, d/tol)
					}
				}
				t.Logf("largest |Δ|/tol %.3f", worst)
			})
		}
	}
}

// TestA16DigitsDecline: a token the digit split declines (NaN, ±Inf, or a largest magnitude
// under 2⁻⁹⁰) sends the whole VNNI GEMV to the f32 kernels, which then give their own bits,
// both where one core runs the blocks (64×576) and where the workers split the digits each for
// itself (576×576, above vnniSerialMACs; the decline is decided before the fork), and for the
// shared q/k/v call. An accepted token on the same matrix takes the digit path (not bit-equal
// to f32, so the check is not vacuous).
func TestA16DigitsDecline(t *testing.T) {
	if !hasAVX512 || !hasVNNI {
		t.Skip("needs AVX-512 VNNI")
	}
	const cols = 576
	rng := rand.New(rand.NewPCG(9, 9))
	x := randSlice(rng, cols, 1)
	bad := map[string]func([]float32){
		"nan":  func(v []float32) { v[100] = float32(math.NaN()) },
		"+inf": func(v []float32) { v[7] = float32(math.Inf(1)) },
		"-inf": func(v []float32) { v[575] = float32(math.Inf(-1)) },
		"tiny": func(v []float32) {
			for i := range v {
				v[i] *= 0x1p-100
			}
		},
	}
	for _, rows := range []int{64, 576} {
		m := QuantizeInt4(randSlice(rng, rows*cols, 0.05), rows, cols, 128, false)
		k := QuantizeInt4(randSlice(rng, 192*cols, 0.05), 192, cols, 128, false)
		mul := func(path string, xt []float32) (one, many []float32) {
			prevV := a16VNNI
			a16VNNI = path == "vnni"
			defer func() { a16VNNI = prevV }()
			restore := amx.SetEnabled(false)
			defer restore()
			one = make([]float32, rows)
			m.MatMulT(one, xt, 1)
			d0, d1 := make([]float32, rows), make([]float32, 192)
			MatMulTA16Many([][]float32{d0, d1}, []A16Matrix{m, k}, xt, 1)
			return one, append(d0, d1...)
		}
		same := func(a, b []float32) bool {
			for i := range a {
				if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
					return false
				}
			}
			return true
		}
		v, _ := mul("vnni", x)
		if g, _ := mul("avx512", x); same(v, g) {
			t.Fatalf("rows=%d: a finite token gave the f32 path's bits on the VNNI path", rows)
		}
		for name, spoil := range bad {
			xt := append([]float32(nil), x...)
			spoil(xt)
			vOne, vMany := mul("vnni", xt)
			fOne, fMany := mul("avx512", xt)
			if !same(vOne, fOne) || !same(vMany, fMany) {
				t.Errorf("rows=%d, %s token: the VNNI path did not fall back to the f32 kernels", rows, name)
			}
		}
	}
}
