package qgemm

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/qbench/qbench/kernels"
	"github.com/qbench/qbench/kernels/amx"
)

// a16BenchShapes are (rows, cols) of SmolLM2-135M and Llama-3.2-1B linears.
var a16BenchShapes = [][2]int{
	{576, 576}, {1536, 576}, {576, 1536}, {49152, 576}, // SmolLM2-135M
	{2048, 2048}, {8192, 2048}, {2048, 8192}, // Llama-3.2-1B
}

type a16BenchFormat struct {
	name  string
	bytes func(rows, cols int) float64 // weight bytes read per product
	build func(w []float32, rows, cols int) func(dst, x []float32, n int)
}

var a16BenchFormats = []a16BenchFormat{
	{"f32", func(r, c int) float64 { return 4 * float64(r*c) }, func(w []float32, rows, cols int) func(dst, x []float32, n int) {
		return func(dst, x []float32, n int) { kernels.MatMulT(dst, w, rows, cols, x, n) }
	}},
	{"W8A16", func(r, c int) float64 { return float64(r*c) + 4*float64(r) }, func(w []float32, rows, cols int) func(dst, x []float32, n int) {
		return QuantizeInt8(w, rows, cols).MatMulTA16
	}},
	{"W4A16-g128", func(r, c int) float64 { return float64(r*c)/2 + 4*float64(r*c)/128 }, func(w []float32, rows, cols int) func(dst, x []float32, n int) {
		return QuantizeInt4(w, rows, cols, 128, false).MatMulT
	}},
	{"W4A16-g128-asym", func(r, c int) float64 { return float64(r*c)/2 + 5*float64(r*c)/128 }, func(w []float32, rows, cols int) func(dst, x []float32, n int) {
		return QuantizeInt4(w, rows, cols, 128, true).MatMulT
	}},
	{"FP8", func(r, c int) float64 { return float64(r*c) + 4*float64(r) }, func(w []float32, rows, cols int) func(dst, x []float32, n int) {
		return QuantizeFP8(w, rows, cols).MatMulT
	}},
	// The paths the digit ones replaced (a16vnni.go, a16digits.go), for comparison.
	{"W8A16-nodigits", func(r, c int) float64 { return float64(r*c) + 4*float64(r) }, func(w []float32, rows, cols int) func(dst, x []float32, n int) {
		return noDigits(QuantizeInt8(w, rows, cols).MatMulTA16)
	}},
	{"W4A16-g128-nodigits", func(r, c int) float64 { return float64(r*c)/2 + 4*float64(r*c)/128 }, func(w []float32, rows, cols int) func(dst, x []float32, n int) {
		return noDigits(QuantizeInt4(w, rows, cols, 128, false).MatMulT)
	}},
}

// noDigits runs mul with the digit paths off.
func noDigits(mul func(dst, x []float32, n int)) func(dst, x []float32, n int) {
	return func(dst, x []float32, n int) {
		a16VNNI, a16AMXDigits = false, false
		mul(dst, x, n)
		a16VNNI, a16AMXDigits = true, true
	}
}

// benchA16 reports GOP/s (2·rows·cols·n), GB/s of weight bytes and the speed relative to the
// f32 kernels on the same shape and n (xf32, from the f32 row run just before).
func benchA16(b *testing.B, n int) {
	for _, sh := range a16BenchShapes {
		rows, cols := sh[0], sh[1]
		rng := rand.New(rand.NewPCG(1, uint64(rows)))
		w := make([]float32, rows*cols)
		for i := range w {
			w[i] = float32(rng.NormFloat64()) * 0.02
		}
		x := make([]float32, n*cols)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		dst := make([]float32, n*rows)
		var f32s float64
		for _, f := range a16BenchFormats {
			b.Run(fmt.Sprintf("n=%d/%dx%d/%s", n, rows, cols, f.name), func(b *testing.B) {
				mul := f.build(w, rows, cols)
				b.ResetTimer()
				for b.Loop() {
					mul(dst, x, n)
				}
				s := b.Elapsed().Seconds() / float64(b.N)
				if f.name == "f32" {
					f32s = s
				}
				b.ReportMetric(2*float64(rows*cols*n)/s/1e9, "GOP/s")
				b.ReportMetric(f.bytes(rows, cols)/s/1e9, "wGB/s")
				if f32s > 0 {
					b.ReportMetric(f32s/s, "xf32")
				}
			})
		}
	}
}

func BenchmarkA16GEMV(b *testing.B)     { benchA16(b, 1) }
func BenchmarkA16GEMMn128(b *testing.B) { benchA16(b, 128) }

// BenchmarkA16SmallN measures n = 2..8 on two shapes, to place a16GemmMin (GEMV kernels for
// n < a16GemmMin, dequantize-then-GEMM from there): it times both paths at each n.
func BenchmarkA16SmallN(b *testing.B) {
	for _, sh := range [][2]int{{576, 576}, {2048, 2048}} {
		rows, cols := sh[0], sh[1]
		rng := rand.New(rand.NewPCG(2, uint64(rows)))
		w := make([]float32, rows*cols)
		for i := range w {
			w[i] = float32(rng.NormFloat64()) * 0.02
		}
		x := make([]float32, 8*cols)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		dst := make([]float32, 8*rows)
		m8, m4, mf := QuantizeInt8(w, rows, cols), QuantizeInt4(w, rows, cols, 128, false), QuantizeFP8(w, rows, cols)
		xf := make([]float32, 8*cols)
		sx := make([]float32, 8)
		for i := range sx {
			sx[i] = 1
		}
		for n := 2; n <= 8; n++ {
			for _, path := range []string{"gemv", "gemm"} {
				saved := a16GemmMin
				run := func(name string, f func()) {
					b.Run(fmt.Sprintf("%dx%d/%s/n=%d/%s", rows, cols, name, n, path), func(b *testing.B) {
						for b.Loop() {
							f()
						}
						b.ReportMetric(2*float64(rows*cols*n)/(b.Elapsed().Seconds()/float64(b.N))/1e9, "GOP/s")
					})
				}
				force := func(f func()) func() {
					return func() {
						if path == "gemv" {
							a16GemmMin = struct{ i8, i8Narrow, i4, i4Narrow, fp8, fp8Narrow int }{1 << 30, 1 << 30, 1 << 30, 1 << 30, 1 << 30, 1 << 30}
						} else {
							a16GemmMin = struct{ i8, i8Narrow, i4, i4Narrow, fp8, fp8Narrow int }{1, 1, 1, 1, 1, 1}
						}
						f()
						a16GemmMin = saved
					}
				}
				run("W8A16", force(func() { m8.matMulTA16(dst, x[:n*cols], n) }))
				run("W4A16-g128", force(func() { m4.matMulTA16(dst, x[:n*cols], n) }))
				run("FP8", force(func() { mf.matMulTA16(dst, xf[:n*cols], sx, n) }))
			}
		}
	}
}

// BenchmarkA16AMXCrossover times every format at small token counts with and without the AMX
// paths (the data behind a16AMXMin and a8AMXMin).
func BenchmarkA16AMXCrossover(b *testing.B) {
	if !hasAVX512 || !amx.Available() {
		b.Skip("no AMX")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, sh := range [][2]int{{1536, 576}, {2048, 2048}} {
		rows, cols := sh[0], sh[1]
		w := randSlice(rng, rows*cols, 0.05)
		m8 := QuantizeInt8(w, rows, cols)
		m4 := QuantizeInt4(w, rows, cols, 128, false)
		q4 := QuantizeInt4QQQ(w, rows, cols, cols)
		fp := QuantizeFP8(w, rows, cols)
		fs := []struct {
			name string
			f    func(dst, x []float32, n int)
		}{{"W8A16", m8.MatMulTA16}, {"W4A16-g128", m4.MatMulT}, {"FP8", fp.MatMulT}, {"W8A8", m8.MatMulT}, {"W4A8", q4.MatMulTA8}}
		for _, f := range fs {
			for _, n := range []int{2, 4, 8, 12, 16, 32, 64} {
				x := randSlice(rng, n*cols, 1)
				dst := make([]float32, n*rows)
				for _, on := range []bool{false, true} {
					b.Run(fmt.Sprintf("%s/%dx%d/n=%d/amx=%v", f.name, rows, cols, n, on), func(b *testing.B) {
						m16, m8 := a16AMXMin, a8AMXMin
						a16AMXMin.i8, a16AMXMin.i4, a16AMXMin.fp8, a16AMXMin.i8d, a16AMXMin.i4d, a8AMXMin.i8, a8AMXMin.i4 = 1, 1, 1, 1, 1, 1, 1
						defer amx.SetEnabled(on)()
						defer func() { a16AMXMin, a8AMXMin = m16, m8 }()
						for b.Loop() {
							f.f(dst, x, n)
						}
					})
				}
			}
		}
	}
}

// BenchmarkGEMVCold1B cycles each decode GEMV over enough copies of each Llama-3.2-1B matrix
// to stream 1 GiB (twice this machine's reported L3), as a decode step streams all layers from
// DRAM; wGB/s counts every byte the kernel reads (codes, scales and biases; for W4A8-g128 its
// int32 group scales), so it compares with qbench bench's measured read bandwidth.
// (BenchmarkGEMVCold is the SmolLM2 shape.)
func BenchmarkGEMVCold1B(b *testing.B) {
	for _, sh := range [][2]int{{2048, 2048}, {8192, 2048}, {2048, 8192}} {
		rows, cols := sh[0], sh[1]
		rng := rand.New(rand.NewPCG(3, uint64(rows)))
		w, x := randSlice(rng, rows*cols, 0.02), randSlice(rng, cols, 1)
		dst := make([]float32, rows)
		q8, q4 := QuantizeInt8(w, rows, cols), QuantizeInt4(w, rows, cols, 128, false)
		q4.Prepare()
		ng := q4.groups()
		for _, f := range []struct {
			name  string
			bytes float64
			one   func() func(dst, x []float32, n int) // a fresh copy of the matrix
		}{
			{"W8A16", float64(rows*cols + 4*rows), func() func(dst, x []float32, n int) {
				return (&Int8Matrix{Rows: rows, Cols: cols, Q: append([]int8(nil), q8.Q...), Scale: q8.Scale, RowSum: q8.RowSum}).MatMulTA16
			}},
			{"W4A16-g128", float64(rows*cols/2 + 8*rows*ng), func() func(dst, x []float32, n int) {
				c := &Int4Matrix{Rows: rows, Cols: cols, Group: 128, Packed: append([]byte(nil), q4.Packed...),
					Scale: q4.Scale, deqScale: append([]float32(nil), q4.deqScale...), deqBias: append([]float32(nil), q4.deqBias...)}
				return c.MatMulT
			}},
			{"W4A16-g128-vnni", float64(rows*cols/2 + 8*rows*ng), func() func(dst, x []float32, n int) {
				c := &Int4Matrix{Rows: rows, Cols: cols, Group: 128, Packed: append([]byte(nil), q4.Packed...),
					Scale: q4.Scale, deqScale: append([]float32(nil), q4.deqScale...), deqBias: append([]float32(nil), q4.deqBias...)}
				return func(dst, x []float32, n int) { // the VNNI GEMV past its size limit (a16VNNIMaxWeights)
					lim := a16VNNIMaxWeights
					a16VNNIMaxWeights = 1 << 62
					c.MatMulT(dst, x, n)
					a16VNNIMaxWeights = lim
				}
			}},
			{"W8A8", float64(rows * cols), func() func(dst, x []float32, n int) {
				return QuantizeInt8(w, rows, cols).MatMulT
			}},
			{"W4A8", float64(rows * cols / 2), func() func(dst, x []float32, n int) {
				return QuantizeInt4QQQ(w, rows, cols, cols).MatMulTA8
			}},
			{"W4A8-g128", float64(rows*cols/2 + 4*rows*cols/128), func() func(dst, x []float32, n int) {
				return QuantizeInt4QQQ(w, rows, cols, 128).MatMulTA8
			}},
		} {
			b.Run(fmt.Sprintf("%dx%d/%s", rows, cols, f.name), func(b *testing.B) {
				muls := make([]func(dst, x []float32, n int), int(1<<30/f.bytes)+1)
				for i := range muls {
					muls[i] = f.one()
					muls[i](dst, x, 1) // VNNI formats repack on first use
				}
				b.ResetTimer()
				for b.Loop() {
					for _, mul := range muls {
						mul(dst, x, 1)
					}
				}
				s := b.Elapsed().Seconds() / float64(b.N*len(muls))
				b.ReportMetric(f.bytes/s/1e9, "wGB/s")
			})
		}
	}
}
