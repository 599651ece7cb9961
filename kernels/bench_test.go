package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/qbench/qbench/kernels/amx"
)

// benchShapes are SmolLM2-135M's Linear shapes (rows, cols): attention q/o projections 576×576, MLP
// gate/up 1536×576, down 576×1536, and the tied LM head 49152×576.
var benchShapes = [][2]int{{576, 576}, {1536, 576}, {576, 1536}, {49152, 576}}

// benchPaths runs f for each kernel path, as sub-benchmarks named after the path.
func benchPaths(b *testing.B, f func(b *testing.B)) {
	for _, ks := range availableKernels() {
		b.Run(ks.name, func(b *testing.B) {
			defer setActive(ks.name)()
			defer amx.SetEnabled(false)()
			f(b)
		})
	}
	if amx.Available() {
		b.Run("amx", f) // bf16 products from amxMinTokens tokens on AMX tiles, the rest on the best SIMD set
	}
}

// report sets GFLOP/s (2 flops per multiply-add) and GB/s (weights + activations + outputs moved once).
func report(b *testing.B, macs, bytes int) {
	s := b.Elapsed().Seconds()
	if macs > 0 {
		b.ReportMetric(2*float64(macs)*float64(b.N)/s/1e9, "GFLOP/s")
	}
	b.ReportMetric(float64(bytes)*float64(b.N)/s/1e9, "GB/s")
}

func randF32(n int) []float32 {
	rng := rand.New(rand.NewPCG(1, uint64(n)))
	v := make([]float32, n)
	for i := range v {
		v[i] = 2*rng.Float32() - 1
	}
	return v
}

func randU16(n int) []uint16 {
	v := make([]uint16, n)
	F32ToBF16(v, randF32(n))
	return v
}

func benchMat(b *testing.B, bf16 bool, n int) {
	benchPaths(b, func(b *testing.B) {
		for _, s := range benchShapes {
			rows, cols := s[0], s[1]
			b.Run(fmt.Sprintf("%dx%d", rows, cols), func(b *testing.B) {
				x := randF32(n * cols)
				dst := make([]float32, n*rows)
				wsize := 4
				var w []float32
				var wb []uint16
				if bf16 {
					wb, wsize = randU16(rows*cols), 2
				} else {
					w = randF32(rows * cols)
				}
				b.ResetTimer()
				for range b.N {
					switch {
					case bf16 && n == 1:
						MatVecBF16(dst, wb, rows, cols, x)
					case bf16:
						MatMulTBF16(dst, wb, rows, cols, x, n)
					case n == 1:
						MatVec(dst, w, rows, cols, x)
					default:
						MatMulT(dst, w, rows, cols, x, n)
					}
				}
				report(b, rows*cols*n, rows*cols*wsize+4*n*(rows+cols))
			})
		}
	})
}

func BenchmarkMatVec(b *testing.B)          { benchMat(b, false, 1) }
func BenchmarkMatVecBF16(b *testing.B)      { benchMat(b, true, 1) }
func BenchmarkMatMulTn128(b *testing.B)     { benchMat(b, false, 128) }
func BenchmarkMatMulTBF16n128(b *testing.B) { benchMat(b, true, 128) }

func BenchmarkDot(b *testing.B) {
	benchPaths(b, func(b *testing.B) {
		for _, n := range []int{576, 1536, 16384} {
			b.Run(fmt.Sprint(n), func(b *testing.B) {
				x, y := randF32(n), randF32(n)
				var s float32
				for range b.N {
					s += Dot(x, y)
				}
				report(b, n, 8*n)
			})
		}
	})
}

func BenchmarkBF16ToF32(b *testing.B) {
	benchPaths(b, func(b *testing.B) {
		src, dst := randU16(1<<16), make([]float32, 1<<16)
		for range b.N {
			BF16ToF32(dst, src)
		}
		report(b, 0, 6<<16)
	})
}

// BenchmarkAMXCrossover times MatMulTBF16 at small token counts with and without AMX tiles (the
// data behind amxMinTokens).
func BenchmarkAMXCrossover(b *testing.B) {
	if !amx.Available() {
		b.Skip("no AMX")
	}
	for _, sh := range [][2]int{{1536, 576}, {2048, 2048}} {
		rows, cols := sh[0], sh[1]
		w := randU16(rows * cols)
		for _, n := range []int{2, 4, 8, 16} {
			x := randF32(n * cols)
			dst := make([]float32, n*rows)
			for _, on := range []bool{false, true} {
				b.Run(fmt.Sprintf("%dx%d/n=%d/amx=%v", rows, cols, n, on), func(b *testing.B) {
					defer amx.SetEnabled(on)()
					old := amxMinTokens
					amxMinTokens = 1
					defer func() { amxMinTokens = old }()
					for b.Loop() {
						MatMulTBF16(dst, w, rows, cols, x, n)
					}
				})
			}
		}
	}
}

// BenchmarkParallelDispatch times Parallel over GOMAXPROCS parts of busy work (d per part) back to
// back, as a decode step issues its products: ns/op − d is the hand-over and join cost.
func BenchmarkParallelDispatch(b *testing.B) {
	for _, d := range []time.Duration{0, 500 * time.Nanosecond, 2 * time.Microsecond} {
		b.Run(d.String(), func(b *testing.B) {
			p := runtime.GOMAXPROCS(0)
			for b.Loop() {
				Parallel(p, func(lo, hi int) {
					for t := time.Now(); time.Since(t) < d; {
					}
				})
			}
		})
	}
}

// BenchmarkMatVecCold runs one-token GEMVs over 1 GiB of matrices (twice the L3), so that every
// weight comes from DRAM, as in decode: GB/s of weights per pass, 2 cores. Shapes of the SmolLM2
// (576 columns) and Llama-3.2-1B layers.
func BenchmarkMatVecCold(b *testing.B) {
	for _, sh := range [][2]int{{576, 576}, {1536, 576}, {2048, 2048}, {8192, 2048}} {
		rows, cols := sh[0], sh[1]
		x := randF32(cols)
		dst := make([]float32, rows)
		for _, bf16 := range []bool{false, true} {
			name, wsize := "f32", 4
			if bf16 {
				name, wsize = "bf16", 2
			}
			b.Run(fmt.Sprintf("%dx%d/%s", rows, cols, name), func(b *testing.B) {
				nm := (1 << 30) / (rows * cols * wsize)
				ws, wbs := make([][]float32, 0, nm), make([][]uint16, 0, nm)
				for range nm {
					if bf16 {
						wbs = append(wbs, randU16(rows*cols))
					} else {
						ws = append(ws, randF32(rows*cols))
					}
				}
				b.ResetTimer()
				for b.Loop() {
					for i := range nm {
						if bf16 {
							MatVecBF16(dst, wbs[i], rows, cols, x)
						} else {
							MatVec(dst, ws[i], rows, cols, x)
						}
					}
				}
				b.ReportMetric(float64(nm*rows*cols*wsize)*float64(b.N)/b.Elapsed().Seconds()/1e9, "wGB/s")
			})
		}
	}
}

// BenchmarkGlue times the element-wise kernels of a decoder block on one 128-token SmolLM2-shape
// prefill's rows, on the calling goroutine: SiLU·up over the MLP width, RMSNorm and the residual add
// over the hidden size, RoPE over 9 + 3 heads of 64.
func BenchmarkGlue(b *testing.B) {
	const rows, hidden, inter = 128, 576, 1536
	g, u := randF32(rows*inter), randF32(rows*inter)
	x, y, w := randF32(rows*hidden), randF32(rows*hidden), randF32(hidden)
	q := randF32(rows * 12 * 64)
	cos, sin := make([]float32, 32), make([]float32, 32) // unit rotations: q keeps its size over the loop
	for i := range cos {
		cos[i], sin[i] = float32(math.Cos(float64(i)+0.5)), float32(math.Sin(float64(i)+0.5))
	}
	b.Run("silu", func(b *testing.B) {
		dst := make([]float32, len(g))
		for b.Loop() {
			SiLUMul(dst, g, u)
		}
		b.ReportMetric(float64(len(g))*float64(b.N)/b.Elapsed().Seconds()/1e9, "Gelem/s")
	})
	b.Run("rmsnorm", func(b *testing.B) {
		dst := make([]float32, hidden)
		for b.Loop() {
			for r := range rows {
				RMSNorm(dst, x[r*hidden:(r+1)*hidden], w, 1e-5)
			}
		}
		b.ReportMetric(float64(len(x))*float64(b.N)/b.Elapsed().Seconds()/1e9, "Gelem/s")
	})
	b.Run("add", func(b *testing.B) {
		for b.Loop() {
			Add(x, y)
		}
		b.ReportMetric(float64(len(x))*float64(b.N)/b.Elapsed().Seconds()/1e9, "Gelem/s")
	})
	b.Run("rope", func(b *testing.B) {
		for b.Loop() {
			for r := range rows {
				RopeHalf(q[r*12*64:(r+1)*12*64], 12, 64, cos, sin)
			}
		}
		b.ReportMetric(float64(len(q))*float64(b.N)/b.Elapsed().Seconds()/1e9, "Gelem/s")
	})
}
