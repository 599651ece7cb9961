package qgemm_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/qbench/qbench/kernels"
	"github.com/qbench/qbench/kernels/qgemm"
)

// Shapes (rows = out features, cols = in features) of SmolLM2-135M and Llama-3.2-1B linears.
var benchShapes = [][2]int{
	{576, 576}, {1536, 576}, {576, 1536}, {49152, 576}, // SmolLM2-135M
	{2048, 2048}, {8192, 2048}, {2048, 8192}, // Llama-3.2-1B
}

type benchFormat struct {
	name  string
	bytes func(rows, cols int) float64 // weight bytes moved per product
	build func(w []float32, rows, cols int) func(dst, x []float32, n int)
}

var benchFormats = []benchFormat{
	{"f32-kernels", func(r, c int) float64 { return 4 * float64(r*c) }, func(w []float32, rows, cols int) func(dst, x []float32, n int) {
		return func(dst, x []float32, n int) {
			if n == 1 {
				kernels.MatVec(dst, w, rows, cols, x)
			} else {
				kernels.MatMulT(dst, w, rows, cols, x, n)
			}
		}
	}},
	{"W8A8", func(r, c int) float64 { return float64(r * c) }, func(w []float32, rows, cols int) func(dst, x []float32, n int) {
		return qgemm.QuantizeInt8(w, rows, cols).MatMulT
	}},
	{"W8A16", func(r, c int) float64 { return float64(r * c) }, func(w []float32, rows, cols int) func(dst, x []float32, n int) {
		return qgemm.QuantizeInt8(w, rows, cols).MatMulTA16
	}},
	{"W4A16-g128", func(r, c int) float64 { return float64(r*c)/2 + 4*float64(r*c)/128 }, func(w []float32, rows, cols int) func(dst, x []float32, n int) {
		return qgemm.QuantizeInt4(w, rows, cols, 128, false).MatMulT
	}},
	{"W4A8-perchannel", func(r, c int) float64 { return float64(r*c) / 2 }, func(w []float32, rows, cols int) func(dst, x []float32, n int) {
		return qgemm.QuantizeInt4QQQ(w, rows, cols, cols).MatMulTA8
	}},
	{"W4A8-g128", func(r, c int) float64 { return float64(r*c)/2 + float64(r*c)/128 }, func(w []float32, rows, cols int) func(dst, x []float32, n int) {
		return qgemm.QuantizeInt4QQQ(w, rows, cols, 128).MatMulTA8
	}},
	{"FP8", func(r, c int) float64 { return float64(r * c) }, func(w []float32, rows, cols int) func(dst, x []float32, n int) {
		return qgemm.QuantizeFP8(w, rows, cols).MatMulT
	}},
}

// run reports GOP/s (2·rows·cols·n multiply-adds counted as 2 ops), GB/s of weight bytes, and
// x_f32: the speed-up over the f32 kernels on the same shape (when f32-kernels ran first).
// One untimed call first: the VNNI formats repack their weights on first use.
func run(b *testing.B, n int) {
	for _, sh := range benchShapes {
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
		var f32s float64 // seconds per f32 product
		for _, f := range benchFormats {
			b.Run(fmt.Sprintf("%dx%d/%s", rows, cols, f.name), func(b *testing.B) {
				mul := f.build(w, rows, cols)
				mul(dst, x, n)
				b.ResetTimer()
				for b.Loop() {
					mul(dst, x, n)
				}
				s := b.Elapsed().Seconds() / float64(b.N)
				b.ReportMetric(2*float64(rows*cols*n)/s/1e9, "GOP/s")
				b.ReportMetric(f.bytes(rows, cols)/s/1e9, "wGB/s")
				if f.name == "f32-kernels" {
					f32s = s
				} else if f32s > 0 {
					b.ReportMetric(f32s/s, "x_f32")
				}
			})
		}
	}
}

func BenchmarkGEMV(b *testing.B)     { run(b, 1) }
func BenchmarkGEMMn128(b *testing.B) { run(b, 128) }

// BenchmarkGEMVCold cycles one GEMV over enough copies of a matrix (the q/o projection and an
// MLP projection of SmolLM2-135M) to fill 256 MiB, far beyond the 32 MiB L3, as a decode step
// streams all layers from DRAM; wGB/s is the weight bandwidth reached, ns/mul the time of one
// product.
func BenchmarkGEMVCold(b *testing.B) {
	for _, sh := range [][2]int{{576, 576}, {1536, 576}} {
		rows, cols := sh[0], sh[1]
		rng := rand.New(rand.NewPCG(1, 2))
		w := make([]float32, rows*cols)
		for i := range w {
			w[i] = float32(rng.NormFloat64()) * 0.02
		}
		x := make([]float32, cols)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		dst := make([]float32, rows)
		for _, f := range []benchFormat{benchFormats[0], benchFormats[1], benchFormats[4], benchFormats[5]} { // f32, W8A8, W4A8 per-channel and g128
			b.Run(fmt.Sprintf("%dx%d/%s", rows, cols, f.name), func(b *testing.B) {
				copies := int(256<<20/f.bytes(rows, cols)) + 1
				muls := make([]func(dst, x []float32, n int), copies)
				for i := range muls {
					wi := w
					if f.name == "f32-kernels" {
						wi = append([]float32(nil), w...) // its own copy: f32 reads w in place
					}
					muls[i] = f.build(wi, rows, cols)
					muls[i](dst, x, 1)
				}
				b.ResetTimer()
				for b.Loop() {
					for _, mul := range muls {
						mul(dst, x, 1)
					}
				}
				s := b.Elapsed().Seconds() / float64(b.N*copies)
				b.ReportMetric(s*1e9, "ns/mul")
				b.ReportMetric(2*float64(rows*cols)/s/1e9, "GOP/s")
				b.ReportMetric(f.bytes(rows, cols)/s/1e9, "wGB/s")
			})
		}
	}
}
