package qgemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/qbench/qbench/kernels/amx"
)

// u32 is the float32 unit roundoff 2^-24. Float formats are checked against the bound of
// recursive float32 summation, |fast − ref| ≤ γ_n·Σ_k |x_k|·|w_k| with γ_n ≈ n·u (Higham,
// Accuracy and Stability of Numerical Algorithms, 2nd ed., §3.1), n = cols + 4 to cover the
// dequantization FMA and the final scale multiplications. The reference sums in float64.
const u32 = 1.0 / (1 << 24)

// format is one row of the table of formats: how to build it from f32 weights, its fast and
// reference products, and (float formats) a bound on |w[r,k]| for the tolerance.
type format struct {
	name  string
	bpw   string // bits per weight, scales included
	exact bool   // integer accumulation: fast must equal ref bit for bit
	build func(w []float32, rows, cols int) (fast, ref func(dst, x []float32, n int), wabs func(r, k int) float64)
}

func int4Format(name, bpw string, group int, asym, a8 bool) format {
	return format{name: name, bpw: bpw, exact: a8, build: func(w []float32, rows, cols int) (fast, ref func(dst, x []float32, n int), wabs func(r, k int) float64) {
		g := group
		if g <= 0 {
			g = cols
		}
		var m *Int4Matrix
		if a8 {
			m = QuantizeInt4QQQ(w, rows, cols, g)
			return m.MatMulTA8, m.MatMulTA8Ref, nil
		}
		m = QuantizeInt4(w, rows, cols, g, asym)
		return m.MatMulT, m.MatMulTRef, func(r, k int) float64 {
			s, _ := m.scaleZero(r, k/m.Group)
			return 16 * math.Abs(float64(s)) // ≥ |u·s| and |z·s|
		}
	}}
}

var formats = []format{
	{name: "W8A8-INT8", bpw: "8 + 32/cols", exact: true, build: func(w []float32, rows, cols int) (func(dst, x []float32, n int), func(dst, x []float32, n int), func(r, k int) float64) {
		m := QuantizeInt8(w, rows, cols)
		return m.MatMulT, m.MatMulTRef, nil
	}},
	{name: "W8A16", bpw: "8 + 32/cols", build: func(w []float32, rows, cols int) (func(dst, x []float32, n int), func(dst, x []float32, n int), func(r, k int) float64) {
		m := QuantizeInt8(w, rows, cols)
		return m.MatMulTA16, m.MatMulTA16Ref, func(r, k int) float64 { return math.Abs(float64(m.Q[r*cols+k]) * float64(m.Scale[r])) }
	}},
	int4Format("W4A16-g32-sym", "4 + 32/32", 32, false, false),
	int4Format("W4A16-g64-asym", "4 + 40/64", 64, true, false),
	int4Format("W4A16-g128-sym", "4 + 32/128", 128, false, false),
	int4Format("W4A16-perchannel-asym", "4 + 40/cols", 0, true, false),
	int4Format("W4A8-QQQ-perchannel", "4 + 32/cols", 0, false, true),
	int4Format("W4A8-QQQ-g64", "4 + 8/64 + 32/cols", 64, false, true),
	int4Format("W4A8-QQQ-g128", "4 + 8/128 + 32/cols", 128, false, true),
	{name: "FP8-E4M3", bpw: "8 + 32/cols", build: func(w []float32, rows, cols int) (func(dst, x []float32, n int), func(dst, x []float32, n int), func(r, k int) float64) {
		m := QuantizeFP8(w, rows, cols)
		return m.MatMulT, m.MatMulTRef, func(r, k int) float64 {
			return math.Abs(float64(DecodeE4M3(m.Q[r*cols+k])) * float64(m.Scale[r]))
		}
	}},
}

// paths are the kernel selections this machine can run; each forces the feature flags.
func paths() []struct {
	name               string
	vnni, avx512, avx2 bool
} {
	all := []struct {
		name               string
		vnni, avx512, avx2 bool
	}{
		{"amx+vnni+avx512", true, true, true},
		{"vnni+avx512", true, true, true},
		{"avx2", false, false, true},
		{"purego", false, false, false},
	}
	var ps []struct {
		name               string
		vnni, avx512, avx2 bool
	}
	for _, p := range all {
		if strings.HasPrefix(p.name, "amx") && !amx.Available() {
			continue
		}
		if (!p.vnni || hasVNNI) && (!p.avx512 || hasAVX512) && (!p.avx2 || hasAVX2) {
			ps = append(ps, p)
		}
	}
	return ps
}

// setAMX turns the AMX paths on for the "amx…" path only.
func setAMX(t *testing.T, path string) {
	t.Cleanup(amx.SetEnabled(strings.HasPrefix(path, "amx")))
}

func setFlags(t *testing.T, vnni, avx512, avx2 bool) {
	v, a, b := hasVNNI, hasAVX512, hasAVX2
	hasVNNI, hasAVX512, hasAVX2 = vnni, avx512, avx2
	t.Cleanup(func() { hasVNNI, hasAVX512, hasAVX2 = v, a, b })
}

func randSlice(rng *rand.Rand, n int, scale float32) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(rng.NormFloat64()) * scale
	}
	return s
}

const guard = 17

var sentinel = math.Float32frombits(0x7FA5A5A5) // a NaN payload no kernel produces

// padded returns a slice of n elements inside a buffer with guard elements on both sides.
func padded(n int) (buf, s []float32) {
	buf = make([]float32, n+2*guard)
	for i := range buf {
		buf[i] = sentinel
	}
	return buf, buf[guard : guard+n]
}

func checkGuards(t *testing.T, buf []float32, n int) {
	t.Helper()
	for i, v := range buf {
		if (i < guard || i >= guard+n) && math.Float32bits(v) != math.Float32bits(sentinel) {
			t.Fatalf("write outside dst at buffer index %d (dst is [%d, %d))", i, guard, guard+n)
		}
	}
}

// shapes: rows odd or not multiples of 4, cols ragged (not multiples of 64/128), n across the
// 4-token tiles. (rows, cols, n).
var shapes = [][3]int{
	{1, 1, 1}, {3, 17, 1}, {5, 64, 2}, {7, 100, 3}, {13, 192, 5}, {33, 257, 4}, {9, 576, 1},
	{6, 640, 9}, {19, 1000, 6}, {37, 128, 8},
}

func TestFormatsFastVsRef(t *testing.T) {
	for _, p := range paths() {
		for _, f := range formats {
			for _, sh := range shapes {
				rows, cols, n := sh[0], sh[1], sh[2]
				t.Run(fmt.Sprintf("%s/%s/%dx%dxn%d", p.name, f.name, rows, cols, n), func(t *testing.T) {
					setFlags(t, p.vnni, p.avx512, p.avx2)
					setAMX(t, p.name)
					rng := rand.New(rand.NewPCG(uint64(rows*1000+cols), uint64(n)))
					w := randSlice(rng, rows*cols, 0.05)
					x := randSlice(rng, n*cols, 1)
					x[0] = 4 // an outlier, as real activations have
					fast, ref, wabs := f.build(w, rows, cols)
					want := make([]float32, n*rows)
					ref(want, x, n)
					buf, got := padded(n * rows)
					fast(got, x, n)
					checkGuards(t, buf, n*rows)
					for i := range n {
						for r := range rows {
							g, wv := got[i*rows+r], want[i*rows+r]
							if f.exact {
								if math.Float32bits(g) != math.Float32bits(wv) {
									t.Fatalf("[%d,%d]: (-want +got) -%v +%v (integer path must be exact)", i, r, wv, g)
								}
								continue
							}
							var b float64
							for k := range cols {
								b += math.Abs(float64(x[i*cols+k])) * 1.1 * wabs(r, k) // 1.1: FP8 activation rounding ≤ 2^-4
							}
							tol := float64(cols+4) * u32 * b
							if d := math.Abs(float64(g) - float64(wv)); !(d <= tol) {
								t.Fatalf("[%d,%d]: (-want +got) -%v +%v, |diff| %.3g > tol %.3g", i, r, wv, g, d, tol)
							}
						}
					}
				})
			}
		}
	}
}

// TestInt8Extremes drives the +128 trick and the int32 accumulation at the ends of the int8
// range (−128 and 127 on both sides), through MatMulTQ, against the plain loop and closed forms.
func TestInt8Extremes(t *testing.T) {
	const rows, cols, n = 7, 1000, 5
	for _, p := range paths() {
		t.Run(p.name, func(t *testing.T) {
			setFlags(t, p.vnni, p.avx512, p.avx2)
			setAMX(t, p.name)
			rng := rand.New(rand.NewPCG(1, 2))
			ext := []int8{-128, 127, -127, 0, 1, -1}
			m := &Int8Matrix{Rows: rows, Cols: cols, Q: make([]int8, rows*cols), Scale: make([]float32, rows)}
			xq := make([]int8, n*cols)
			sx := []float32{1, 0.5, 2, 1, 1}
			for i := range m.Q {
				m.Q[i] = ext[rng.IntN(len(ext))]
			}
			for r := range rows {
				m.Scale[r] = 1
			}
			for k := range cols { // row 0 all −128, row 1 all 127; token 0 all −128, token 1 all 127
				m.Q[k], m.Q[cols+k], xq[k], xq[cols+k] = -128, 127, -128, 127
			}
			for i := 2 * cols; i < len(xq); i++ {
				xq[i] = ext[rng.IntN(len(ext))]
			}
			m.Prepare()
			want := make([]float32, n*rows)
			m.MatMulTQRef(want, xq, sx, n)
			closed := map[[2]int]float32{{0, 0}: 16384 * cols, {0, 1}: -128 * 127 * cols, {1, 0}: 0.5 * -128 * 127 * cols, {1, 1}: 0.5 * 127 * 127 * cols}
			for ir, v := range closed {
				if want[ir[0]*rows+ir[1]] != v {
					t.Fatalf("reference [%d,%d] = %v, closed form %v", ir[0], ir[1], want[ir[0]*rows+ir[1]], v)
				}
			}
			buf, got := padded(n * rows)
			m.MatMulTQ(got, xq, sx, n)
			checkGuards(t, buf, n*rows)
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("[%d]: (-want +got) -%v +%v", i, want[i], got[i])
				}
			}
		})
	}
}

// TestW4A8Extremes: codes 0 and 15 with group scale 16 give weights −128 and 112, the ends of
// the int8 range, against int8 activations −128 and 127 (the VNNI kernels fold them with VPMULLD).
func TestW4A8Extremes(t *testing.T) {
	const rows, cols, n, group = 6, 320, 5, 64
	ng := (cols + group - 1) / group
	for _, p := range paths() {
		t.Run(p.name, func(t *testing.T) {
			setFlags(t, p.vnni, p.avx512, p.avx2)
			setAMX(t, p.name)
			rng := rand.New(rand.NewPCG(3, 4))
			codes := make([]uint8, rows*cols)
			for i := range codes {
				codes[i] = []uint8{0, 15, 8, 7, 9}[rng.IntN(5)]
			}
			for k := range cols {
				codes[k] = 0
			}
			m := &Int4Matrix{Rows: rows, Cols: cols, Group: group, Packed: PackInt4(codes, rows, cols),
				Scale: make([]float32, rows), GroupScaleInt: make([]int8, rows*ng)}
			for r := range rows {
				m.Scale[r] = 1
			}
			for i := range m.GroupScaleInt {
				m.GroupScaleInt[i] = int8([]int{16, 1, 15}[rng.IntN(3)])
			}
			for g := range ng {
				m.GroupScaleInt[g] = 16
			}
			m.Prepare()
			xq := make([]int8, n*cols)
			for i := range xq {
				xq[i] = []int8{-128, 127, 0}[rng.IntN(3)]
			}
			for k := range cols {
				xq[k] = -128
			}
			sx := []float32{1, 1, 1, 1, 1}
			want := make([]float32, n*rows)
			m.MatMulTQRef(want, xq, sx, n)
			if want[0] != 128*128*cols {
				t.Fatalf("reference [0,0] = %v, closed form %v", want[0], 128*128*cols)
			}
			buf, got := padded(n * rows)
			m.MatMulTQ(got, xq, sx, n)
			checkGuards(t, buf, n*rows)
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("[%d]: (-want +got) -%v +%v", i, want[i], got[i])
				}
			}
		})
	}
}

func TestPackInt4RoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, cols := range []int{1, 31, 32, 33, 64, 65, 200} {
		codes := make([]uint8, 3*cols)
		for i := range codes {
			codes[i] = uint8(rng.IntN(16))
		}
		m := Int4Matrix{Rows: 3, Cols: cols, Packed: PackInt4(codes, 3, cols)}
		for r := range 3 {
			for k := range cols {
				if got := m.Code(r, k); got != codes[r*cols+k] {
					t.Fatalf("cols %d: code(%d,%d) = %d, want %d", cols, r, k, got, codes[r*cols+k])
				}
			}
		}
		// the documented byte layout: byte j of block 0 = u[j] | u[j+32]<<4
		if cols >= 64 && m.Packed[5] != codes[5]|codes[37]<<4 {
			t.Fatalf("cols %d: byte 5 = %#x, want %#x", cols, m.Packed[5], codes[5]|codes[37]<<4)
		}
	}
}

// TestQuantizeInt4Error: round-to-nearest puts every weight within half a step of its
// dequantized value (no clipping happens with these scale choices, except QQQ's rounded group
// scales, checked against their own effective scale).
func TestQuantizeInt4Error(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	const rows, cols = 5, 300
	w := randSlice(rng, rows*cols, 1)
	for _, tc := range []struct {
		name string
		m    *Int4Matrix
	}{
		{"sym-g32", QuantizeInt4(w, rows, cols, 32, false)},
		{"asym-g64", QuantizeInt4(w, rows, cols, 64, true)},
		{"qqq-perchannel", QuantizeInt4QQQ(w, rows, cols, cols)},
		{"qqq-g128", QuantizeInt4QQQ(w, rows, cols, 128)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := tc.m
			for r := range rows {
				for k := range cols {
					s, z := m.scaleZero(r, k/m.Group)
					u := int32(m.Code(r, k))
					deq := float64(s) * float64(u-z)
					lim := float64(s)/2 + 1e-6
					if u == 0 || u == 15 { // clamped: only the far side may exceed
						lim = math.Inf(1)
						if (u == 0 && float64(w[r*cols+k]) > deq) || (u == 15 && float64(w[r*cols+k]) < deq) {
							lim = float64(s)/2 + 1e-6
						}
					}
					if d := math.Abs(float64(w[r*cols+k]) - deq); d > lim {
						t.Fatalf("w[%d,%d] = %v dequantizes to %v (step %v)", r, k, w[r*cols+k], deq, s)
					}
				}
			}
		})
	}
}

func TestQuantizeActInt8(t *testing.T) {
	x := []float32{0.5, -1.27, 0.005, 0.015, 0, 0, 0, 0}
	q := make([]int8, 8)
	s := make([]float32, 2)
	QuantizeActInt8(q, s, x, 2, 4)
	// row 0: amax 1.27 → scale 0.01; q = RNE(x/0.01) computed in float64 here, independently.
	for k := range 4 {
		want := int8(math.RoundToEven(float64(x[k]) * 127 / 1.27))
		if d := int(q[k]) - int(want); d < -1 || d > 1 || (x[k] == 0.5 && q[k] != 50) {
			t.Fatalf("q[%d] = %d, want %d", k, q[k], want)
		}
	}
	if math.Abs(float64(s[0])-0.01) > 1e-8 || s[1] != 0 || q[4] != 0 {
		t.Fatalf("scales %v, zero row codes %v", s, q[4:])
	}
}

// TestA8SizeClasses runs the W8A8 and W4A8 products (MatMulT and MatMulTQ) over every size
// class of the VNNI kernels — rows off the 16/32-row panels, cols off the 4-byte steps and the
// 64/128-column groups, n across the token tiles (1…14 tokens, 15 = two tiles, 130 = ten) —
// on every CPU path, against the plain integer loops: integer sums are exact, so bit for bit.
func TestA8SizeClasses(t *testing.T) {
	type a8 struct {
		name    string
		fast    func(dst, x []float32, n int)
		fastQ   func(dst []float32, xq []int8, sx []float32, n int)
		refQ    func(dst []float32, xq []int8, sx []float32, n int)
		refFull func(dst, x []float32, n int)
	}
	build := func(name string, w []float32, rows, cols int) a8 {
		switch name {
		case "W8A8":
			m := QuantizeInt8(w, rows, cols)
			return a8{name, m.MatMulT, m.MatMulTQ, m.MatMulTQRef, m.MatMulTRef}
		case "W4A8-perchannel":
			m := QuantizeInt4QQQ(w, rows, cols, cols)
			return a8{name, m.MatMulTA8, m.MatMulTQ, m.MatMulTQRef, m.MatMulTA8Ref}
		case "W4A8-g64":
			m := QuantizeInt4QQQ(w, rows, cols, 64)
			return a8{name, m.MatMulTA8, m.MatMulTQ, m.MatMulTQRef, m.MatMulTA8Ref}
		default: // W4A8-g128
			m := QuantizeInt4QQQ(w, rows, cols, 128)
			return a8{name, m.MatMulTA8, m.MatMulTQ, m.MatMulTQRef, m.MatMulTA8Ref}
		}
	}
	for _, p := range paths() {
		for _, name := range []string{"W8A8", "W4A8-perchannel", "W4A8-g64", "W4A8-g128"} {
			// 200: decode runs blocks 0-3 side by side (int8: 0-1, 2-3, 4-5), then the rest one by
			// one. 256 (one worker below 576 columns) and 520 (two: 9 + 8 blocks): four-block calls
			// back to back on one worker.
			for _, rows := range []int{15, 33, 50, 64, 200, 256, 520} {
				for _, cols := range []int{3, 67, 130, 300, 128, 576} { // 128, 576: AMX tiles
					if rows >= 256 && cols != 300 && cols != 576 {
						continue
					}
					t.Run(fmt.Sprintf("%s/%s/%dx%d", p.name, name, rows, cols), func(t *testing.T) {
						setFlags(t, p.vnni, p.avx512, p.avx2)
						setAMX(t, p.name)
						rng := rand.New(rand.NewPCG(uint64(rows), uint64(cols)))
						f := build(name, randSlice(rng, rows*cols, 0.05), rows, cols)
						for _, n := range []int{1, 2, 3, 13, 15, 64, 130} {
							x := randSlice(rng, n*cols, 1)
							x[0] = 4
							want := make([]float32, n*rows)
							f.refFull(want, x, n)
							buf, got := padded(n * rows)
							f.fast(got, x, n)
							checkGuards(t, buf, n*rows)
							compareBits(t, fmt.Sprintf("MatMulT n=%d", n), want, got)

							xq := make([]int8, n*cols)
							for i := range xq {
								xq[i] = int8(rng.IntN(256) - 128)
							}
							sx := randSlice(rng, n, 0.01)
							f.refQ(want, xq, sx, n)
							buf, got = padded(n * rows)
							f.fastQ(got, xq, sx, n)
							checkGuards(t, buf, n*rows)
							compareBits(t, fmt.Sprintf("MatMulTQ n=%d", n), want, got)
						}
					})
				}
			}
		}
	}
}

func compareBits(t *testing.T, what string, want, got []float32) {
	t.Helper()
	for i := range want {
		if math.Float32bits(want[i]) != math.Float32bits(got[i]) {
			t.Fatalf("%s [%d]: (-want +got) -%v +%v (integer path must be exact)", what, i, want[i], got[i])
		}
	}
}

// TestQuantizeActInt8Fast checks the AVX-512 per-token quantizer against the scalar loop
// (quantRowInt8Ref: float64 RoundToEven) bit for bit: exact ties x·127/amax = k + 1/2 (amax
// 127 makes the factor 1, so 2.5 → 2 and −3.5 → −4 under ties-to-even), every tail length
// 1…40, zero rows and rows holding NaN or ±Inf (which fall back to the scalar loop).
func TestQuantizeActInt8Fast(t *testing.T) {
	if !hasAVX512 {
		t.Skip("no AVX-512 on this CPU: QuantizeActInt8 is the scalar loop itself")
	}
	rng := rand.New(rand.NewPCG(9, 10))
	var rowsIn [][]float32
	for n := 1; n <= 40; n++ {
		rowsIn = append(rowsIn, randSlice(rng, n, 1))
	}
	ties := []float32{127, 2.5, -3.5, 0.5, -0.5, 1.5, 126.5, -126.5, 64.5, 0, -0}
	rowsIn = append(rowsIn, ties, make([]float32, 19),
		[]float32{1, float32(math.NaN()), 2}, []float32{1, float32(math.Inf(1)), 2},
		[]float32{float32(math.Inf(-1)), 3}, randSlice(rng, 4099, 3))
	for i, x := range rowsIn {
		want := make([]int8, len(x))
		ws := quantRowInt8Ref(want, x)
		got := make([]int8, len(x)+guard)
		for k := range got {
			got[k] = 99
		}
		gs := quantRowInt8(got[:len(x)], x)
		if math.Float32bits(ws) != math.Float32bits(gs) {
			t.Fatalf("row %d (len %d): scale (-want +got) -%v +%v", i, len(x), ws, gs)
		}
		for k := range x {
			if want[k] != got[k] {
				t.Fatalf("row %d: code %d of x=%v: (-want +got) -%d +%d", i, k, x[k], want[k], got[k])
			}
		}
		for k := len(x); k < len(got); k++ {
			if got[k] != 99 {
				t.Fatalf("row %d (len %d): write past the row at %d", i, len(x), k)
			}
		}
	}
	// the tie row, by hand: RNE(2.5) = 2, RNE(−3.5) = −4, RNE(0.5) = 0, RNE(126.5) = 126.
	q := make([]int8, len(ties))
	quantRowInt8(q, ties)
	if q[1] != 2 || q[2] != -4 || q[3] != 0 || q[4] != 0 || q[5] != 2 || q[6] != 126 || q[7] != -126 || q[8] != 64 {
		t.Fatalf("ties: codes %v", q)
	}
}
