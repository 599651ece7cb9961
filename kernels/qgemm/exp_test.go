package qgemm

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

func BenchmarkExpA8Cold(b *testing.B) {
	for _, sh := range [][2]int{{2048, 2048}, {8192, 2048}, {2048, 8192}} {
		rows, cols := sh[0], sh[1]
		rng := rand.New(rand.NewPCG(3, uint64(rows)))
		w := make([]float32, rows*cols)
		for i := range w {
			w[i] = float32(rng.NormFloat64()) * 0.02
		}
		x := make([]float32, cols)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		dst := make([]float32, rows)
		for _, f := range []string{"W8A8", "W4A8"} {
			b.Run(fmt.Sprintf("%dx%d/%s", rows, cols, f), func(b *testing.B) {
				var bytes float64
				var one func() func(dst, x []float32, n int)
				if f == "W8A8" {
					bytes = float64(rows * cols)
					one = func() func(dst, x []float32, n int) { return QuantizeInt8(w, rows, cols).MatMulT }
				} else {
					bytes = float64(rows * cols / 2)
					one = func() func(dst, x []float32, n int) { return QuantizeInt4QQQ(w, rows, cols, cols).MatMulTA8 }
				}
				muls := make([]func(dst, x []float32, n int), int(1<<30/bytes)+1)
				for i := range muls {
					muls[i] = one()
					muls[i](dst, x, 1)
				}
				b.ResetTimer()
				for b.Loop() {
					for _, mul := range muls {
						mul(dst, x, 1)
					}
				}
				s := b.Elapsed().Seconds() / float64(b.N*len(muls))
				b.ReportMetric(bytes/s/1e9, "wGB/s")
			})
		}
	}
}
