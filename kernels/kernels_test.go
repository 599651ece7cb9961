package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// guardLen elements of guard value pad both ends of every buffer a kernel writes, and NaN pads both ends
// of every buffer it reads: an out-of-bounds write changes a guard, an out-of-bounds read turns a sum
// into NaN.
const guardLen = 19

// guard is a NaN with a payload no kernel produces, compared bit for bit.
var guard = math.Float32frombits(0x7FA5A5A5)

// u is the unit roundoff of float32.
const u = 1.0 / (1 << 24)

// ragged are vector lengths around the SIMD widths (8, 16) and unroll factors (32, 64) of the kernels.
var ragged = []int{0, 1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129, 255, 257, 600}

// forEachPath runs f once per kernel path this CPU supports (avx512, avx2, go), as a named subtest.
func forEachPath(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	for _, ks := range availableKernels() {
		t.Run(ks.name, func(t *testing.T) {
			defer setActive(ks.name)()
			f(t)
		})
	}
}

// padded returns a buffer of n elements with pad elements of g on both sides, and the inner slice.
func padded(n int, g float32) (full, inner []float32) {
	full = make([]float32, n+2*guardLen)
	for i := range full {
		full[i] = g
	}
	return full, full[guardLen : guardLen+n : guardLen+n]
}

func paddedU16(n int, g uint16) (full, inner []uint16) {
	full = make([]uint16, n+2*guardLen)
	for i := range full {
		full[i] = g
	}
	return full, full[guardLen : guardLen+n : guardLen+n]
}

// randInput returns n uniform values in [-1, 1) padded with NaN.
func randInput(rng *rand.Rand, n int) (full, inner []float32) {
	full, inner = padded(n, float32(math.NaN()))
	for i := range inner {
		inner[i] = 2*rng.Float32() - 1
	}
	return full, inner
}

// randBF16 returns n bfloat16 values in [-1, 1) padded with 0x7FC1 (a NaN).
func randBF16(rng *rand.Rand, n int) (full, inner []uint16) {
	full, inner = paddedU16(n, 0x7FC1)
	for i := range inner {
		inner[i] = uint16(math.Float32bits(2*rng.Float32()-1) >> 16)
	}
	return full, inner
}

// checkGuards reports any changed guard element of a buffer made by padded.
func checkGuards(t *testing.T, name string, full []float32) {
	t.Helper()
	n := len(full)
	for i := 0; i < guardLen; i++ {
		for _, j := range []int{i, n - 1 - i} {
			if math.Float32bits(full[j]) != math.Float32bits(guard) {
				t.Errorf("%s: guard at padded index %d of %d overwritten with %v", name, j, n, full[j])
			}
		}
	}
}

// sumTol is the tolerance for comparing two float32 sums of the same products taken in different orders
// (the fast kernels split sums over SIMD lanes, blocks of columns and FMAs; the references run one plain
// loop). Each sum differs from the exact one by at most γ_k·Σ|terms| with γ_k = k·u/(1-k·u) (Higham,
// Accuracy and Stability of Numerical Algorithms, §4.2), so the two differ by at most 2·γ_k·Σ|terms|;
// 2.1·k·u covers the 1/(1-k·u) factor for k < 10^5. An indexing error changes a sum by a whole term,
// which for random data is far above this bound.
func sumTol(k int, absSum float64) float64 {
	return 2.1*float64(k)*u*absSum + 1e-30
}

func TestDot(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(1, 2))
		for _, n := range ragged {
			_, x := randInput(rng, n)
			_, y := randInput(rng, n)
			want := dotRef(x, y)
			got := Dot(x, y)
			var abs float64
			for i := range x {
				abs += math.Abs(float64(x[i]) * float64(y[i]))
			}
			if d := math.Abs(float64(got - want)); !(d <= sumTol(n, abs)) {
				t.Errorf("n=%d: Dot = %v, want %v (|diff| %g > tol %g)", n, got, want, d, sumTol(n, abs))
			}
		}
	})
}

func TestAxpy(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(3, 4))
		for _, n := range ragged {
			_, x := randInput(rng, n)
			yFull, y := padded(n, guard)
			for i := range y {
				y[i] = 2*rng.Float32() - 1
			}
			want := append([]float32(nil), y...)
			a := 2*rng.Float32() - 1
			axpyRef(a, x, want)
			Axpy(a, x, y)
			for i := range y {
				// One FMA rounds once, the reference's multiply-then-add twice: |diff| <= 2u·(|a·x|+|y|).
				tol := 2 * u * (math.Abs(float64(a*x[i])) + math.Abs(float64(want[i]))) * 1.01
				if d := math.Abs(float64(y[i] - want[i])); !(d <= tol) {
					t.Errorf("n=%d: y[%d] = %v, want %v", n, i, y[i], want[i])
				}
			}
			checkGuards(t, fmt.Sprintf("Axpy n=%d y", n), yFull)
		}
	})
}

type matShape struct{ rows, cols, n int }

// matShapes are ragged shapes; the last ones are large enough to run threaded (≥ 64K MACs), to split
// cols into L1 blocks (cols > 768) and tokens into L2 blocks (n > 356 at cols 1100).
func matShapes(ns []int) []matShape {
	var s []matShape
	for _, rows := range []int{1, 3, 4, 5, 7, 8, 9, 13, 16, 17, 33} {
		for _, cols := range []int{0, 1, 3, 7, 8, 15, 16, 17, 31, 33, 64, 65, 129} {
			for _, n := range ns {
				s = append(s, matShape{rows, cols, n})
			}
		}
	}
	return append(s,
		matShape{0, 5, 2}, matShape{257, 257, 1}, matShape{67, 1025, 1}, matShape{75, 1100, 10},
		matShape{9, 1100, 400}, matShape{40, 576, 7})
}

// checkMatResult compares got (n, rows) with the reference within sumTol of Σ_c |w·x| per element.
func checkMatResult(t *testing.T, name string, s matShape, got, want []float32, absW func(r, c int) float64, x []float32) {
	t.Helper()
	bad := 0
	for i := 0; i < s.n; i++ {
		for r := 0; r < s.rows; r++ {
			var abs float64
			for c := 0; c < s.cols; c++ {
				abs += absW(r, c) * math.Abs(float64(x[i*s.cols+c]))
			}
			g, w := got[i*s.rows+r], want[i*s.rows+r]
			if d := math.Abs(float64(g - w)); !(d <= sumTol(s.cols, abs)) {
				if bad++; bad <= 5 {
					t.Errorf("%s %+v: dst[%d*rows+%d] = %v, want %v (|diff| %g > tol %g)", name, s, i, r, g, w, d, sumTol(s.cols, abs))
				}
			}
		}
	}
}

// checkMatAndVec runs mat (and, for one token, vec) into guarded buffers and checks the result
// against want within checkMatResult's bound.
func checkMatAndVec(t *testing.T, s matShape, matName, vecName string, want []float32, absW func(r, c int) float64, x []float32, mat, vec func(dst []float32)) {
	t.Helper()
	full, dst := padded(s.n*s.rows, guard)
	mat(dst)
	checkGuards(t, fmt.Sprintf("%s %+v", matName, s), full)
	checkMatResult(t, matName, s, dst, want, absW, x)
	if s.n == 1 {
		full, dst := padded(s.rows, guard)
		vec(dst)
		checkGuards(t, fmt.Sprintf("%s %+v", vecName, s), full)
		checkMatResult(t, vecName, s, dst, want, absW, x)
	}
}

func TestMatVecMatMulT(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(5, 6))
		for _, s := range matShapes([]int{1, 2, 3, 4, 5, 7}) {
			_, w := randInput(rng, s.rows*s.cols)
			_, x := randInput(rng, s.n*s.cols)
			want := make([]float32, s.n*s.rows)
			matMulTRef(want, w, s.rows, s.cols, x, s.n)
			absW := func(r, c int) float64 { return math.Abs(float64(w[r*s.cols+c])) }

			checkMatAndVec(t, s, "MatMulT", "MatVec", want, absW, x,
				func(dst []float32) { MatMulT(dst, w, s.rows, s.cols, x, s.n) },
				func(dst []float32) { MatVec(dst, w, s.rows, s.cols, x) })
		}
	})
}

func TestMatVecMatMulTBF16(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		checkMatMulTBF16(t, rand.New(rand.NewPCG(7, 8)), matShapes([]int{1, 2, 3, 4, 5, 7}))
	})
}

// checkMatMulTBF16 runs MatMulTBF16 (and MatVecBF16 for one token) on random bf16 weights of each
// shape against the plain loop, within checkMatResult's bound, with guards around dst.
func checkMatMulTBF16(t *testing.T, rng *rand.Rand, shapes []matShape) {
	t.Helper()
	for _, s := range shapes {
		_, w := randBF16(rng, s.rows*s.cols)
		_, x := randInput(rng, s.n*s.cols)
		want := make([]float32, s.n*s.rows)
		matMulTBF16Ref(want, w, s.rows, s.cols, x, s.n)
		absW := func(r, c int) float64 {
			return math.Abs(float64(math.Float32frombits(uint32(w[r*s.cols+c]) << 16)))
		}

		checkMatAndVec(t, s, "MatMulTBF16", "MatVecBF16", want, absW, x,
			func(dst []float32) { MatMulTBF16(dst, w, s.rows, s.cols, x, s.n) },
			func(dst []float32) { MatVecBF16(dst, w, s.rows, s.cols, x) })
	}
}

// TestMatMulTAccumulate checks that the second and later column blocks add to, and the first overwrites,
// whatever dst held before (here NaN).
func TestMatMulTAccumulate(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(9, 10))
		s := matShape{rows: 24, cols: 1600, n: 6}
		_, w := randInput(rng, s.rows*s.cols)
		_, x := randInput(rng, s.n*s.cols)
		want := make([]float32, s.n*s.rows)
		matMulTRef(want, w, s.rows, s.cols, x, s.n)
		dst := make([]float32, s.n*s.rows)
		for i := range dst {
			dst[i] = float32(math.NaN())
		}
		MatMulT(dst, w, s.rows, s.cols, x, s.n)
		checkMatResult(t, "MatMulT", s, dst, want, func(r, c int) float64 { return math.Abs(float64(w[r*s.cols+c])) }, x)
	})
}

func TestBF16ToF32Exhaustive(t *testing.T) {
	src := make([]uint16, 1<<16)
	for i := range src {
		src[i] = uint16(i)
	}
	want := make([]float32, len(src))
	bf16ToF32Ref(want, src)
	forEachPath(t, func(t *testing.T) {
		// Offsets 0..17 put every input at every SIMD lane and through the Go tail.
		for off := 0; off < 18; off++ {
			full, dst := padded(len(src)-off, guard)
			BF16ToF32(dst, src[off:])
			checkGuards(t, "BF16ToF32", full)
			for i, v := range dst {
				if math.Float32bits(v) != uint32(src[off+i])<<16 {
					t.Fatalf("BF16ToF32(%#04x) = %#08x, want %#08x", src[off+i], math.Float32bits(v), math.Float32bits(want[off+i]))
				}
			}
		}
	})
}

// TestF32ToBF16 checks every bfloat16 result (all 65536 upper halves) with the discarded half at the
// rounding boundaries (0, 1, just below/at/above the tie 0x8000, all ones) and a few random ones, against
// f32ToBF16Ref, which decides by comparing the discarded bits with the tie rather than by torch's bias trick.
func TestF32ToBF16(t *testing.T) {
	lows := []uint32{0, 1, 0x4000, 0x7FFF, 0x8000, 0x8001, 0xC000, 0xFFFF}
	rng := rand.New(rand.NewPCG(11, 12))
	for range 4 {
		lows = append(lows, rng.Uint32()&0xFFFF)
	}
	src := make([]float32, 0, len(lows)<<16)
	for hi := uint32(0); hi < 1<<16; hi++ {
		for _, lo := range lows {
			src = append(src, math.Float32frombits(hi<<16|lo))
		}
	}
	want := make([]uint16, len(src))
	f32ToBF16Ref(want, src)
	forEachPath(t, func(t *testing.T) {
		for _, off := range []int{0, 1, 7, 9, 15} {
			full, dst := paddedU16(len(src)-off, 0xA5A5)
			F32ToBF16(dst, src[off:])
			for i := 0; i < guardLen; i++ {
				if full[i] != 0xA5A5 || full[len(full)-1-i] != 0xA5A5 {
					t.Fatalf("F32ToBF16 off=%d: guard overwritten", off)
				}
			}
			for i, v := range dst {
				if v != want[off+i] {
					t.Fatalf("F32ToBF16(%#08x) = %#04x, want %#04x", math.Float32bits(src[off+i]), v, want[off+i])
				}
			}
		}
	})
}

// TestF32ToBF16Cases are hand-worked cases of round-to-nearest-even (torch's documented behaviour).
func TestF32ToBF16Cases(t *testing.T) {
	cases := []struct {
		name string
		in   uint32
		want uint16
	}{
		{"exact", 0x3F800000, 0x3F80},                 // 1.0
		{"below tie rounds down", 0x3F807FFF, 0x3F80}, // 1 + (2^-8 - ε)/2... just under half an ulp
		{"tie to even stays", 0x3F808000, 0x3F80},     // halfway between 0x3F80 (even) and 0x3F81
		{"tie to even goes up", 0x3F818000, 0x3F82},   // halfway between 0x3F81 (odd) and 0x3F82
		{"above tie rounds up", 0x3F808001, 0x3F81},
		{"negative tie", 0xBF818000, 0xBF82},
		{"carry into exponent", 0x3FFFFFFF, 0x4000},  // 1.99999988 → 2.0
		{"largest finite stays", 0x7F7F7FFF, 0x7F7F}, // just under the tie below max
		{"overflow tie to inf", 0x7F7F8000, 0x7F80},  // halfway to 2^128: odd → up = +Inf
		{"max float32 to inf", 0x7F7FFFFF, 0x7F80},   // 3.4028235e38 → +Inf
		{"negative overflow", 0xFF7FFFFF, 0xFF80},    // → -Inf
		{"inf", 0x7F800000, 0x7F80},
		{"-inf", 0xFF800000, 0xFF80},
		{"quiet NaN", 0x7FC00000, 0x7FC0},
		{"signalling NaN stays NaN", 0x7F800001, 0x7FC0},     // torch returns 0x7FC0 for any NaN
		{"NaN payload only in low half", 0x7F80FFFF, 0x7FC0}, // naive rounding would give +Inf's neighbour
		{"negative NaN", 0xFFC00001, 0x7FC0},
		{"smallest subnormal rounds to 0", 0x00000001, 0x0000},
		{"subnormal tie to even up", 0x00018000, 0x0002},
		{"-0", 0x80000000, 0x8000},
	}
	forEachPath(t, func(t *testing.T) {
		for _, c := range cases {
			// Run each case at every position of a 17-element vector so SIMD lanes and the tail see it.
			for pos := 0; pos < 17; pos++ {
				src := make([]float32, 17)
				src[pos] = math.Float32frombits(c.in)
				dst := make([]uint16, 17)
				F32ToBF16(dst, src)
				if dst[pos] != c.want {
					t.Errorf("%s: F32ToBF16(%#08x) at lane %d = %#04x, want %#04x", c.name, c.in, pos, dst[pos], c.want)
				}
			}
		}
	})
}

func TestF16ToF32Exhaustive(t *testing.T) {
	src := make([]uint16, 1<<16)
	for i := range src {
		src[i] = uint16(i)
	}
	want := make([]float32, len(src))
	f16ToF32Ref(want, src)
	full, dst := padded(len(src), guard)
	F16ToF32(dst, src)
	checkGuards(t, "F16ToF32", full)
	for i, v := range dst {
		if math.Float32bits(v) != math.Float32bits(want[i]) {
			t.Fatalf("F16ToF32(%#04x) = %#08x, want %#08x", i, math.Float32bits(v), math.Float32bits(want[i]))
		}
	}
	// Worked values: 1.0, -2.0, largest normal 65504, smallest normal 2^-14, smallest subnormal 2^-24,
	// largest subnormal (1023/1024)·2^-14, Inf, signalling NaN keeps its payload.
	for _, c := range []struct {
		h    uint16
		want uint32
	}{
		{0x3C00, math.Float32bits(1)}, {0xC000, math.Float32bits(-2)}, {0x7BFF, math.Float32bits(65504)},
		{0x0400, math.Float32bits(1.0 / 16384)}, {0x0001, math.Float32bits(1.0 / (1 << 24))},
		{0x03FF, math.Float32bits(1023.0 / 1024 / 16384)}, {0x7C00, 0x7F800000}, {0xFC00, 0xFF800000},
		{0x7C01, 0x7F802000}, {0xFE00, 0xFFC00000}, {0x8000, 0x80000000},
	} {
		if got := math.Float32bits(dst[c.h]); got != c.want {
			t.Errorf("F16ToF32(%#04x) = %#08x, want %#08x", c.h, got, c.want)
		}
	}
}

// TestRMSNormPaths runs TestRMSNorm on every kernel path.
func TestRMSNormPaths(t *testing.T) {
	for _, ks := range availableKernels() {
		t.Run(ks.name, func(t *testing.T) {
			defer setActive(ks.name)()
			TestRMSNorm(t)
		})
	}
}

// TestAdd: x += y on every path equals the Go sum bit for bit, for ragged lengths, with nothing
// written past x.
func TestAdd(t *testing.T) {
	for _, ks := range availableKernels() {
		t.Run(ks.name, func(t *testing.T) {
			defer setActive(ks.name)()
			rng := rand.New(rand.NewPCG(41, 42))
			for _, n := range ragged {
				_, x := randInput(rng, n)
				_, y := randInput(rng, n)
				full, dst := padded(n, guard)
				copy(dst, x)
				Add(dst, y)
				checkGuards(t, "Add", full)
				for i := range dst {
					if want := x[i] + y[i]; math.Float32bits(dst[i]) != math.Float32bits(want) {
						t.Fatalf("n=%d: Add[%d] = %v, want %v", n, i, dst[i], want)
					}
				}
			}
		})
	}
}

func TestRMSNorm(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	for _, n := range ragged[1:] {
		_, x := randInput(rng, n)
		_, wt := randInput(rng, n)
		want := make([]float32, n)
		rmsNormRef(want, x, wt, 1e-5)
		full, dst := padded(n, guard)
		RMSNorm(dst, x, wt, 1e-5)
		checkGuards(t, "RMSNorm", full)
		for i := range dst {
			// Both accumulate Σx² in float64 (different order: relative 1e-15), so s agrees to 1 float32
			// ulp at worst; (x·s)·w then differs by at most 2 ulps: 3u relative.
			if d := math.Abs(float64(dst[i] - want[i])); !(d <= 3*u*math.Abs(float64(want[i]))) {
				t.Errorf("n=%d: RMSNorm[%d] = %v, want %v", n, i, dst[i], want[i])
			}
		}
		// In place.
		in := append([]float32(nil), x...)
		RMSNorm(in, in, wt, 1e-5)
		for i := range in {
			if in[i] != dst[i] {
				t.Fatalf("n=%d: in-place RMSNorm[%d] = %v, want %v", n, i, in[i], dst[i])
			}
		}
	}
}

func TestSoftmaxInPlace(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	inf := float32(math.Inf(1))
	cases := map[string][]float32{
		"large values":    {1000, 1001, 1002},   // exp(1000) overflows unless max is subtracted
		"very negative":   {-1000, -1001, -999}, // exp(-1000) underflows unless max is subtracted
		"with -inf":       {0, -inf, 1, -inf},   // masked positions (causal attention) get exactly 0
		"single":          {3.5},
		"empty":           {},
		"random 49152":    nil,
		"random ragged 7": nil,
	}
	for name, x := range cases {
		t.Run(name, func(t *testing.T) {
			switch name {
			case "random 49152":
				_, x = randInput(rng, 49152)
			case "random ragged 7":
				_, x = randInput(rng, 7)
			}
			for i := range x {
				if name[0] == 'r' {
					x[i] *= 20
				}
			}
			want := append([]float32(nil), x...)
			softmaxRef(want)
			got := append([]float32(nil), x...)
			SoftmaxInPlace(got)
			var sum float64
			for i := range got {
				sum += float64(got[i])
				// Both use float64 exp and sum; the fast one rounds exp to float32 before scaling: 3u relative.
				if d := math.Abs(float64(got[i] - want[i])); !(d <= 3*u*math.Abs(float64(want[i]))) {
					t.Errorf("softmax[%d] = %v, want %v", i, got[i], want[i])
				}
			}
			if len(got) > 0 && math.Abs(sum-1) > float64(len(got))*u+1e-7 {
				t.Errorf("Σ softmax = %v, want 1", sum)
			}
		})
	}
	// exp(1000-1002) / (e^-2 + e^-1 + 1), worked by hand.
	x := []float32{1000, 1001, 1002}
	SoftmaxInPlace(x)
	z := math.Exp(-2) + math.Exp(-1) + 1
	for i, want := range []float64{math.Exp(-2) / z, math.Exp(-1) / z, 1 / z} {
		if math.Abs(float64(x[i])-want) > 2*u*want {
			t.Errorf("softmax(1000,1001,1002)[%d] = %v, want %v", i, x[i], want)
		}
	}
}

func TestSiLUMul(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 18))
	for _, n := range ragged {
		_, g := randInput(rng, n)
		_, up := randInput(rng, n)
		for i := range g {
			g[i] *= 30 // reach the saturated ends of the sigmoid
		}
		want := make([]float32, n)
		siluMulRef(want, g, up)
		full, dst := padded(n, guard)
		SiLUMul(dst, g, up)
		checkGuards(t, "SiLUMul", full)
		for i := range dst {
			// Bound: expf's 2e-7 relative error (≈3.4u) plus three float32
			// roundings (add, divide, multiply): 6.4u, stated as 7u.
			if d := math.Abs(float64(dst[i] - want[i])); !(d <= 7*u*math.Abs(float64(want[i]))) {
				t.Errorf("n=%d: SiLUMul[%d] = %v, want %v", n, i, dst[i], want[i])
			}
		}
	}
	// silu(1)·2 = 2/(1+e^-1) worked by hand; silu(0) = 0.
	dst := make([]float32, 2)
	SiLUMul(dst, []float32{1, 0}, []float32{2, 5})
	if want := 2 / (1 + math.Exp(-1)); math.Abs(float64(dst[0])-want) > 7*u*want || dst[1] != 0 {
		t.Errorf("SiLUMul([1 0], [2 5]) = %v, want [%v 0]", dst, want)
	}
}

func TestParallel(t *testing.T) {
	for _, n := range []int{-1, 0, 1, 2, 3, 7, 100, 1001} {
		hits := make([]int32, max(n, 0))
		var calls atomic.Int32
		Parallel(n, func(lo, hi int) {
			calls.Add(1)
			if lo >= hi {
				t.Errorf("n=%d: empty range [%d, %d)", n, lo, hi)
			}
			for i := lo; i < hi; i++ {
				atomic.AddInt32(&hits[i], 1)
			}
		})
		for i, h := range hits {
			if h != 1 {
				t.Errorf("n=%d: index %d covered %d times, want 1", n, i, h)
			}
		}
		if n <= 0 && calls.Load() != 0 {
			t.Errorf("n=%d: fn called %d times, want 0", n, calls.Load())
		}
	}
}

// TestWarm: Warm returns after about d, having run parts on the pool (its workers exist).
func TestWarm(t *testing.T) {
	t0 := time.Now()
	Warm(5 * time.Millisecond)
	if el := time.Since(t0); el < 5*time.Millisecond || el > 2*time.Second {
		t.Errorf("Warm(5ms) took %v", el)
	}
	if p := runtime.GOMAXPROCS(0); p > 1 {
		if ws := workers.Load(); ws == nil || len(*ws) < p-1 {
			t.Errorf("after Warm: worker pool not started for %d threads", p)
		}
	}
}

// TestParallelEach: every index once, also from several goroutines at once with nested calls, and
// the tasks spread over the workers (each waits until another has started, so a call that ran them
// all on the caller would time out).
func TestParallelEach(t *testing.T) {
	for _, n := range []int{-1, 0, 1, 2, 3, 9, 100} {
		hits := make([]int32, max(n, 0))
		ParallelEach(n, func(i int) { atomic.AddInt32(&hits[i], 1) })
		for i, h := range hits {
			if h != 1 {
				t.Errorf("n=%d: index %d run %d times, want 1", n, i, h)
			}
		}
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range 200 {
				n := 1 + (g*5+c)%23
				hits := make([]int32, n)
				ParallelEach(n, func(i int) {
					atomic.AddInt32(&hits[i], 1)
					if i == 0 && c%7 == 0 {
						inner := make([]int32, 4)
						ParallelEach(4, func(k int) { atomic.AddInt32(&inner[k], 1) })
						for k, h := range inner {
							if h != 1 {
								t.Errorf("nested: index %d run %d times", k, h)
							}
						}
					}
				})
				for i, h := range hits {
					if h != 1 {
						t.Errorf("goroutine %d call %d: index %d run %d times, want 1", g, c, i, h)
					}
				}
			}
		}()
	}
	wg.Wait()
	if runtime.GOMAXPROCS(0) < 2 {
		return
	}
	var started atomic.Int32
	deadline := time.Now().Add(10 * time.Second)
	ParallelEach(2, func(i int) {
		started.Add(1)
		for started.Load() < 2 {
			if time.Now().After(deadline) {
				t.Errorf("task %d: the other task never started alongside it", i)
				return
			}
		}
	})
}

// TestParallelWorkersRun checks that pool workers run parts concurrently with the caller, also
// after they have parked (idle longer than spinFor): every part waits until all parts have
// started, so a job handed to a sleeping worker and never woken fails by the deadline.
func TestParallelWorkersRun(t *testing.T) {
	p := runtime.GOMAXPROCS(0)
	if p < 2 {
		t.Skip("needs GOMAXPROCS >= 2")
	}
	for round := range 4 {
		if round%2 == 1 {
			time.Sleep(3 * spinFor) // let the workers park
		}
		var started atomic.Int32
		deadline := time.Now().Add(10 * time.Second)
		Parallel(p, func(lo, hi int) {
			started.Add(1)
			for started.Load() < int32(p) {
				if time.Now().After(deadline) {
					t.Errorf("round %d: part [%d, %d) saw %d of %d parts start", round, lo, hi, started.Load(), p)
					return
				}
			}
		})
	}
}

// TestParallelConcurrent runs Parallel from several goroutines at once, nested calls included
// (a worker busy with one caller's job must not block another's), and checks each call's coverage.
func TestParallelConcurrent(t *testing.T) {
	var wg sync.WaitGroup
	for g := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 300 {
				n := 1 + (g*7+i)%37
				hits := make([]int32, n)
				Parallel(n, func(lo, hi int) {
					for k := lo; k < hi; k++ {
						atomic.AddInt32(&hits[k], 1)
					}
					if i%10 == 0 {
						inner := make([]int32, 5)
						Parallel(5, func(a, b int) {
							for k := a; k < b; k++ {
								atomic.AddInt32(&inner[k], 1)
							}
						})
						for k, h := range inner {
							if h != 1 {
								t.Errorf("nested: index %d covered %d times", k, h)
							}
						}
					}
				})
				for k, h := range hits {
					if h != 1 {
						t.Errorf("goroutine %d call %d: index %d covered %d times, want 1", g, i, k, h)
					}
				}
			}
		}()
	}
	wg.Wait()
}

func TestPanics(t *testing.T) {
	cases := map[string]func(){
		"Dot":         func() { Dot(make([]float32, 3), make([]float32, 4)) },
		"Axpy":        func() { Axpy(1, make([]float32, 3), make([]float32, 2)) },
		"MatVec w":    func() { MatVec(make([]float32, 2), make([]float32, 5), 2, 3, make([]float32, 3)) },
		"MatVec x":    func() { MatVec(make([]float32, 2), make([]float32, 6), 2, 3, make([]float32, 2)) },
		"MatMulT dst": func() { MatMulT(make([]float32, 3), make([]float32, 6), 2, 3, make([]float32, 6), 2) },
		"BF16ToF32":   func() { BF16ToF32(make([]float32, 2), make([]uint16, 3)) },
		"F32ToBF16":   func() { F32ToBF16(make([]uint16, 2), make([]float32, 3)) },
		"RMSNorm":     func() { RMSNorm(make([]float32, 2), make([]float32, 2), make([]float32, 3), 1e-5) },
		"SiLUMul":     func() { SiLUMul(make([]float32, 2), make([]float32, 2), make([]float32, 3)) },
	}
	for name, f := range cases {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if r := recover(); r == nil {
					t.Errorf("%s with mismatched lengths did not panic", name)
				} else if s, ok := r.(string); !ok || s[:9] != "kernels: " {
					t.Errorf("%s panicked with %v, want a \"kernels: \" message", name, r)
				}
			}()
			f()
		})
	}
}

func TestFeatures(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		if got := Features(); len(got) < len(active.name) || got[:len(active.name)] != active.name {
			t.Errorf("Features() = %q, want it to start with %q", got, active.name)
		}
	})
	t.Logf("paths: %s; default: %s", Paths(), bestKernels().name)
}
