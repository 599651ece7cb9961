package qgemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/qbench/qbench/kernels/amx"
)

// a16Case is one weight-only format under test (build returns its product on a matrix).
type a16Case struct {
	name  string
	build func(w []float32, rows, cols int) a16Built
	// act returns the activations both sides multiply (nil: x itself).
	act func(x []float32, n, cols int) []float32
}

// a16Built is a16Case's matrix: the fast product, its plain loop, bound(r, k) ≥ every magnitude
// the fast path rounds at weight (r, k) (per unit of |x|), and, for the formats with digit paths
// (a16vnni.go, a16digits.go), the weight w(r, k) and digits(n): c such that the tolerance gains
// c·max|x|·Σ_k |w(r, k)| when n tokens take one (0 otherwise).
type a16Built struct {
	fast, ref func(dst, x []float32, n int)
	bound     func(r, k int) float64
	w         func(r, k int) float64
	digits    func(n int) float64
}

// digitTol is a16Built.digits for a matrix with the VNNI GEMV (vnni, nil: none) and the AMX digit
// view (view, with ng groups per row): the activation's rounding, unit per weight (a16DigitMax),
// plus on AMX the f32 epilogue of the three digit products (amx.TestDigitProducts: (ng + 6)·2⁻²⁴
// of Σ|s·w|·Σ_p 256^p·|dp|, and Σ_p 256^p·|dp| ≤ 128·65793·unit ≤ 1.01·max|x|).
func digitTol(vnni func(int) bool, view func(int) *amxDigits, ng int) func(n int) float64 {
	return func(n int) float64 {
		c := 1.0 / a16DigitMax
		switch {
		case view(n) != nil:
			return c + 1.01*float64(ng+6)*u32
		case vnni != nil && vnni(n):
			return c
		}
		return 0
	}
}

// fp8Act is what FP8's products multiply: the e4m3 activations DecodeE4M3(xq)·sx.
func fp8Act(x []float32, n, cols int) []float32 {
	q, sx := make([]uint8, n*cols), make([]float32, n)
	QuantizeActFP8(q, sx, x, n, cols)
	a := make([]float32, n*cols)
	for k := range a {
		a[k] = DecodeE4M3(q[k]) * sx[k/cols]
	}
	return a
}

// a16Cases covers W8A16, W4A16 with single-level f32 group scales (symmetric and with zero
// points, group 32, 64, 128 and per channel) and FP8 (e4m3 weights and activations).
var a16Cases = []a16Case{
	{"W8A16", func(w []float32, rows, cols int) a16Built {
		m := QuantizeInt8(w, rows, cols)
		return a16Built{fast: m.MatMulTA16, ref: m.MatMulTA16Ref,
			bound:  func(r, k int) float64 { return math.Abs(float64(m.Q[r*cols+k]) * float64(m.Scale[r])) },
			w:      func(r, k int) float64 { return float64(m.Q[r*cols+k]) * float64(m.Scale[r]) },
			digits: digitTol(nil, m.digitsView, 1)}
	}, nil},
	a16Int4("W4A16-g32-sym", 32, false),
	a16Int4("W4A16-g64-asym", 64, true),
	a16Int4("W4A16-g128-sym", 128, false),
	a16Int4("W4A16-g128-asym", 128, true),
	a16Int4("W4A16-perchannel-sym", 0, false),
	a16Int4("W4A16-perchannel-asym", 0, true),
	{"FP8", func(w []float32, rows, cols int) a16Built {
		m := QuantizeFP8(w, rows, cols)
		return a16Built{fast: m.MatMulT, ref: m.MatMulTRef, bound: func(r, k int) float64 {
			return math.Abs(float64(DecodeE4M3(m.Q[r*cols+k])) * float64(m.Scale[r]))
		}}
	}, fp8Act},
}

func a16Int4(name string, group int, asym bool) a16Case {
	return a16Case{name: name, build: func(w []float32, rows, cols int) a16Built {
		g := group
		if g <= 0 {
			g = cols
		}
		m := QuantizeInt4(w, rows, cols, g, asym)
		return a16Built{fast: m.MatMulT, ref: m.MatMulTRef,
			bound: func(r, k int) float64 {
				s, z := m.scaleZero(r, k/m.Group)
				// u·s + b is one FMA of u·s and b = −z·s (rounded): both magnitudes enter the error.
				return math.Abs(float64(s)) * (float64(m.Code(r, k)) + float64(z))
			},
			w: func(r, k int) float64 {
				s, z := m.scaleZero(r, k/m.Group)
				return float64(s) * float64(int32(m.Code(r, k))-z)
			},
			digits: digitTol(m.a16VNNIOK, m.digitsView, m.groups()),
		}
	}}
}

// a16Paths are the CPU paths of the A16 kernels: AMX tiles (prefill), AVX-512 assembly and the
// pure-Go fallback, those this CPU has.
func a16Paths(t *testing.T) []string {
	var p []string
	if hasAVX512 && amx.Available() {
		p = append(p, "amx")
	}
	if hasAVX512 && hasVNNI {
		p = append(p, "vnni")
	}
	if hasAVX512 {
		p = append(p, "avx512")
	}
	return append(p, "go")
}

// setA16Path picks a path of a16Paths: "amx" and "vnni" turn those on where they apply
// (a16AMXOK, a16VNNIOK), "avx512" runs the f32 AVX-512 kernels, "go" the pure-Go loops.
func setA16Path(t *testing.T, path string) {
	prev, prevV := hasAVX512, a16VNNI
	hasAVX512, a16VNNI = path != "go", path == "vnni" || path == "amx"
	t.Cleanup(func() { hasAVX512, a16VNNI = prev, prevV })
	setAMXA16(t, path == "amx")
}

func setAMXA16(t *testing.T, on bool) {
	t.Cleanup(amx.SetEnabled(on))
}

// TestA16FastVsRef compares every format, path and shape with the plain loops. Tolerance: the
// fast paths sum the cols products in another order (blocked, 16 lanes, FMA) than the float64
// reference, so |fast − ref| ≤ γ·Σ_k |x_k|·B(r,k), γ = (cols + 4)·2⁻²⁴: recursive f32 summation
// of cols terms (Higham, Accuracy and Stability, §3.1: γ_n ≈ n·u) plus the dequantization FMA and
// the ≤ 2 final scale products. B(r,k) bounds every magnitude rounded for weight (r,k)
// (|w|, or |u·s| + |z·s| for int4), and x_k is what both sides multiply (FP8: the decoded e4m3
// activations times their scale, identical on both sides).
func TestA16FastVsRef(t *testing.T) {
	shapes := [][2]int{ // rows not multiples of 8/16, cols not multiples of 16/64/128
		{1, 1}, {3, 17}, {8, 64}, {9, 100}, {16, 128}, {17, 130}, {23, 200}, {40, 256}, {33, 320}, {13, 832},
		{64, 576}, {70, 1536}, {64, 96}, // AMX: whole and partial 32-row blocks, 576 = 4.5 groups of 128, a half 64-block
		{45, 4096}, // int4 GEMV rows taken 2 apart (a16RowStride), then an 8-row block and single rows
		{136, 384}, // VNNI W4A16: four blocks side by side, then one partial block
	}
	if testing.Short() {
		shapes = shapes[:6]
	}
	ns := []int{1, 2, 3, 4, 5, 7, 17, 64, 130} // W4A16 GEMV: 4 tokens per call, 3 padded to 4, 5 = 4 + 1
	for _, path := range a16Paths(t) {
		for _, c := range a16Cases {
			for _, sh := range shapes {
				rows, cols := sh[0], sh[1]
				rng := rand.New(rand.NewPCG(uint64(rows), uint64(cols)))
				w := make([]float32, rows*cols)
				for i := range w {
					w[i] = float32(rng.NormFloat64()) * 0.05
				}
				x := make([]float32, 130*cols)
				for i := range x {
					x[i] = float32(rng.NormFloat64())
				}
				mb := c.build(w, rows, cols)
				fast, ref, bound := mb.fast, mb.ref, mb.bound
				for _, n := range ns {
					t.Run(fmt.Sprintf("%s/%s/%dx%d/n=%d", path, c.name, rows, cols, n), func(t *testing.T) {
						setA16Path(t, path)
						got, want := make([]float32, n*rows), make([]float32, n*rows)
						for i := range got {
							got[i] = float32(math.NaN()) // every output must be written
						}
						fast(got, x[:n*cols], n)
						ref(want, x[:n*cols], n)
						xa := x[:n*cols]
						if c.act != nil {
							xa = c.act(xa, n, cols)
						}
						dc := 0.0 // the digit paths' term, under this path's settings
						if mb.digits != nil {
							dc = mb.digits(n)
						}
						for i := range n {
							var amax float64
							for _, v := range xa[i*cols : (i+1)*cols] {
								amax = math.Max(amax, math.Abs(float64(v)))
							}
							for r := range rows {
								var a, sw float64
								for k := range cols {
									a += math.Abs(float64(xa[i*cols+k])) * bound(r, k)
									if dc > 0 {
										sw += math.Abs(mb.w(r, k))
									}
								}
								tol := float64(cols+4) * u32 * a
								if dc > 0 { // the digit paths: 3 more roundings of x, and dc·max|x| per weight
									tol = float64(cols+7)*u32*a + dc*amax*sw
								}
								g, wv := got[i*rows+r], want[i*rows+r]
								if d := math.Abs(float64(g) - float64(wv)); !(d <= tol) {
									t.Fatalf("dst[%d,%d] = %v, want %v (|Δ| %.3g > tol %.3g)", i, r, g, wv, d, tol)
								}
							}
						}
					})
				}
			}
		}
	}
}

// TestA16FP8NaN: a NaN weight code (S.1111.111) makes its row's outputs NaN on every path, as in
// the plain loop, and leaves the other rows finite.
func TestA16FP8NaN(t *testing.T) {
	const rows, cols = 19, 192
	rng := rand.New(rand.NewPCG(7, 7))
	w := make([]float32, rows*cols)
	for i := range w {
		w[i] = float32(rng.NormFloat64())
	}
	x := make([]float32, 8*cols)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	for _, avx := range a16AVX() {
		for _, n := range []int{1, 3, 4, 8} { // 3, 4: the four-token GEMV, padded and not
			for _, nanRow := range []int{2, 17} { // in a full 8-row block; in the last rows
				t.Run(fmt.Sprintf("avx512=%v/n=%d/row=%d", avx, n, nanRow), func(t *testing.T) {
					setA16Path(t, avxPath(avx))
					m := QuantizeFP8(w, rows, cols)
					m.Q[nanRow*cols+70] = 0xFF
					dst := make([]float32, n*rows)
					m.MatMulT(dst, x[:n*cols], n)
					for i := range n {
						for r := range rows {
							if got := dst[i*rows+r]; math.IsNaN(float64(got)) != (r == nanRow) {
								t.Fatalf("dst[%d,%d] = %v (NaN code in row %d)", i, r, got, nanRow)
							}
						}
					}
				})
			}
		}
	}
}

// TestA16FP8DecodeAll256 checks the assembly e4m3 decoders (dequantization and the GEMV kernel,
// one-hot x) against the decode table for all 256 codes, and their NaN flags.
func TestA16FP8DecodeAll256(t *testing.T) {
	if !hasAVX512 {
		t.Skip("no AVX-512")
	}
	q := make([]uint8, 256)
	for b := range 256 {
		q[b] = uint8(b)
	}
	buf := make([]float32, 256)
	if a16DeqFP8(&buf[0], &q[0], 1, 256) == 0 {
		t.Fatal("a16DeqFP8 did not flag the NaN codes 0x7F, 0xFF")
	}
	for b := range 256 {
		if b&0x7F == 0x7F {
			continue
		}
		if want := DecodeE4M3(uint8(b)); buf[b] != want || math.Signbit(float64(buf[b])) != math.Signbit(float64(want)) {
			t.Fatalf("a16DeqFP8(%#02x) = %v, want %v", b, buf[b], want)
		}
	}
	if a16DeqFP8(&buf[0], &q[0], 1, 64) != 0 {
		t.Fatal("a16DeqFP8 flagged codes 0x00..0x3F as NaN")
	}
	x := make([]float32, 64)
	w := make([]uint8, 64)
	for pos := range 64 {
		clear(x)
		x[pos] = 0x1p112 // the kernel's weights are DecodeE4M3·2^-120; post = 2^8 is exact
		for b := range 256 {
			w[pos] = uint8(b)
			var o [8]float32
			ones := [8]float32{1, 1, 1, 1, 1, 1, 1, 1}
			nan := a16FP8R8L(&w[0], 0, &x[0], 64, 1, &ones[0], 0x1p8, &o[0], 0, 0)
			if b&0x7F == 0x7F {
				if nan == 0 {
					t.Fatalf("lane %d: code %#02x not flagged as NaN", pos, b)
				}
				continue
			}
			if want := DecodeE4M3(uint8(b)); nan != 0 || o[0] != want || o[7] != want {
				t.Fatalf("lane %d code %#02x: kernel %v (nan flag %d), table %v", pos, b, o, nan, want)
			}
		}
		w[pos] = 0
	}
}

// TestA16Int4Extremes: codes 0 and 15 with zero points 0 and 15 and large scales, groups that
// change at every half-block (group 32): the VPERMPS table must map each code of each group.
func TestA16Int4Extremes(t *testing.T) {
	const rows, cols, group = 11, 320, 32
	ng := cols / group
	codes := make([]uint8, rows*cols)
	for i := range codes {
		codes[i] = uint8((i * 7) % 16)
		if i%5 == 0 {
			codes[i] = 15 * uint8(i%2)
		}
	}
	m := &Int4Matrix{Rows: rows, Cols: cols, Group: group, Packed: PackInt4(codes, rows, cols),
		Scale: make([]float32, rows*ng), Zero: make([]int8, rows*ng)}
	for i := range m.Scale {
		m.Scale[i] = float32(i%9+1) * 0.37
		m.Zero[i] = int8(15 * (i % 2))
	}
	m.Prepare()
	x := make([]float32, 5*cols)
	for i := range x {
		x[i] = float32(i%13) - 6
	}
	for _, path := range a16Paths(t) {
		if path == "amx" {
			continue // 11 rows: below the AMX path's 32
		}
		for _, n := range []int{1, 5} {
			t.Run(fmt.Sprintf("%s/n=%d", path, n), func(t *testing.T) {
				setA16Path(t, path)
				got, want := make([]float32, n*rows), make([]float32, n*rows)
				m.MatMulT(got, x[:n*cols], n)
				m.MatMulTRef(want, x[:n*cols], n)
				// Integer-valued x times weights (u−z)·s: tolerance as in TestA16FastVsRef with
				// B = s·(u + z) ≤ 3.33·30.
				// The VNNI path's activation term (TestA16FastVsRef): unit·Σ|w| ≤ (6/a16DigitMax)·cols·3.33·15.
				tol := float64(cols+7)*u32*6*float64(cols)*3.33*30 + 6.0/a16DigitMax*float64(cols)*3.33*15
				for i := range got {
					if d := math.Abs(float64(got[i] - want[i])); d > tol {
						t.Fatalf("dst[%d] = %v, want %v (tol %.3g)", i, got[i], want[i], tol)
					}
				}
			})
		}
	}
}

// TestRoundActFP8 checks roundActFP8 bit for bit against QuantizeActFP8 + DecodeE4M3 on rows
// built so that x·448/amax hits every e4m3 rounding midpoint, its float32 neighbours, the
// subnormal grid, zeros of both signs, values beyond 448 (saturation), and rows of zeros, NaN
// and Inf.
func TestRoundActFP8(t *testing.T) {
	var vals []float32 // values v = x·inv with inv = 1 (amax = 448 is in every row)
	for c := uint8(0); c < 0x7E; c++ {
		lo, hi := float64(DecodeE4M3(c)), float64(DecodeE4M3(c+1))
		mid := float32((lo + hi) / 2)
		vals = append(vals, mid, math.Nextafter32(mid, 0), math.Nextafter32(mid, 1000), float32(lo), -mid, -float32(lo))
	}
	vals = append(vals, 448, 450, 463.99, -448, float32(math.Copysign(0, -1)), float32(math.Ldexp(1, -10)), float32(math.Ldexp(1, -20)))
	rng := rand.New(rand.NewPCG(3, 3))
	for range 200 {
		vals = append(vals, float32(rng.NormFloat64()*math.Exp(rng.NormFloat64()*3)))
	}
	cols := len(vals) + 1
	x := append([]float32{448}, vals...) // row 0: amax exactly 448 unless a random value is larger
	rows := [][]float32{x, make([]float32, cols), make([]float32, cols), make([]float32, cols)}
	rows[2][5] = float32(math.NaN())
	rows[3][7] = float32(math.Inf(-1))
	rows[3][9] = 1
	var all []float32
	for _, r := range rows {
		all = append(all, r...)
	}
	n := len(rows)
	q := make([]uint8, n*cols)
	wantS := make([]float32, n)
	QuantizeActFP8(q, wantS, all, n, cols)
	for _, avx := range a16AVX() {
		t.Run(fmt.Sprintf("avx512=%v", avx), func(t *testing.T) {
			setA16Path(t, avxPath(avx))
			xf, sx := make([]float32, n*cols), make([]float32, n)
			roundActFP8(xf, sx, all, n, cols)
			for i := range n {
				if sx[i] != wantS[i] {
					t.Fatalf("row %d: scale %v, want %v", i, sx[i], wantS[i])
				}
			}
			for k := range xf {
				want := DecodeE4M3(q[k])
				if math.Float32bits(xf[k]) != math.Float32bits(want) && !(xf[k] != xf[k] && want != want) {
					t.Fatalf("x[%d] = %v: got %v, want %v (code %#02x)", k, all[k], xf[k], want, q[k])
				}
			}
		})
	}
}

// TestA16PermX4 checks the x permutation of the int4 GEMV kernel against its definition.
func TestA16PermX4(t *testing.T) {
	if !hasAVX512 {
		t.Skip("no AVX-512")
	}
	const nblk = 3
	x := make([]float32, 64*nblk)
	for i := range x {
		x[i] = float32(i)
	}
	got := make([]float32, len(x))
	a16PermX4(&got[0], &x[0], nblk)
	for b := range nblk {
		for v := range 4 {
			for j := range 8 {
				for h, want := range []float32{x[64*b+4*j+v], x[64*b+32+4*j+v]} {
					if g := got[64*b+16*v+8*h+j]; g != want {
						t.Fatalf("block %d v %d lane %d: got x[%v], want x[%v]", b, v, 8*h+j, g, want)
					}
				}
			}
		}
	}
}

// a16AVX are the SIMD paths of the small-n tests (below the AMX crossover): AVX-512 and pure Go.
func a16AVX() []bool {
	if hasAVX512 {
		return []bool{true, false}
	}
	return []bool{false}
}

// avxPath names the f32 AVX-512 path or the pure-Go one for setA16Path.
func avxPath(avx bool) string {
	if avx {
		return "avx512"
	}
	return "go"
}

// TestA16TokensTogetherBitIdentical: the W8A16, W4A16 and FP8 GEMVs give every token bit for bit the
// result of a product of that token alone, whether it runs four at a time (a16*R4T4), padded
// (n = 3, 7) or alone, so batched decoding does not change any sequence's logits.
func TestA16TokensTogetherBitIdentical(t *testing.T) {
	if !hasAVX512 {
		t.Skip("no AVX-512")
	}
	setAMXA16(t, false)
	for _, sh := range [][2]int{{45, 4096}, {70, 1536}, {33, 576}, {200, 640}} {
		rows, cols := sh[0], sh[1]
		rng := rand.New(rand.NewPCG(uint64(rows), 7))
		w := make([]float32, rows*cols)
		for i := range w {
			w[i] = float32(rng.NormFloat64()) * 0.05
		}
		x := make([]float32, 8*cols)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		for _, c := range []struct {
			name         string
			mul          func(dst, x []float32, n int)
			wide, narrow int // the format's a16GemmMin entries
		}{
			{"W8A16", QuantizeInt8(w, rows, cols).MatMulTA16, a16GemmMin.i8, a16GemmMin.i8Narrow},
			{"W4A16-g128", QuantizeInt4(w, rows, cols, 128, false).MatMulT, a16GemmMin.i4, a16GemmMin.i4Narrow},
			{"W4A16-perchannel-asym", QuantizeInt4(w, rows, cols, cols, true).MatMulT, a16GemmMin.i4, a16GemmMin.i4Narrow},
			{"FP8", QuantizeFP8(w, rows, cols).MatMulT, a16GemmMin.fp8, a16GemmMin.fp8Narrow},
		} {
			one := make([]float32, 8*rows)
			for t := range 8 {
				c.mul(one[t*rows:(t+1)*rows], x[t*cols:(t+1)*cols], 1)
			}
			for n := 2; n <= 8; n++ {
				if a16Gemm(n, cols, c.wide, c.narrow) {
					continue // the GEMM path: another summation order
				}
				got := make([]float32, n*rows)
				c.mul(got, x[:n*cols], n)
				for i, v := range got {
					if math.Float32bits(v) != math.Float32bits(one[i]) {
						t.Fatalf("%s %dx%d n=%d: dst[%d,%d] = %v, alone %v", c.name, rows, cols, n, i/rows, i%rows, v, one[i])
					}
				}
			}
		}
	}
}
