package qgemm

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

func BenchmarkExpI4Stride(b *testing.B) {
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
		q4 := QuantizeInt4(w, rows, cols, 128, false)
		q4.Prepare()
		ng, rb, nblk := q4.groups(), RowBytes(cols), cols/64
		xp := make([]float32, cols)
		a16PermX4(&xp[0], &x[0], nblk)
		want, got := make([]float32, rows), make([]float32, rows)
		q4.MatMulT(want, x, 1)
		bytes := float64(rows*cols/2 + 8*rows*ng)
		for _, S := range []int{1, 2, 4, 8} {
			b.Run(fmt.Sprintf("%dx%d/stride%d", rows, cols, S), func(b *testing.B) {
				type mm struct {
					p      []byte
					sc, bi []float32
				}
				ms := make([]mm, int(1<<30/bytes)+1)
				for i := range ms {
					ms[i] = mm{append([]byte(nil), q4.Packed...), append([]float32(nil), q4.deqScale...), append([]float32(nil), q4.deqBias...)}
				}
				G := 8 * S // rows per group of S interleaved sub-blocks
				run := func(m mm) {
					parallel(rows, G, func(lo, hi int) {
						var o [8]float32
						for g := lo; g < hi; g += G {
							for j := 0; j < S; j++ {
								r := g + j
								a16I4R8PN(&m.p[r*rb], S*rb, &m.sc[r*ng], &m.bi[r*ng], S*ng, 2, &xp[0], nblk, 1, &o[0])
								for i := range 8 {
									got[r+S*i] = o[i]
								}
							}
						}
					})
				}
				run(ms[0])
				for i := range want {
					if want[i] != got[i] {
						b.Fatalf("row %d: %v vs %v", i, got[i], want[i])
					}
				}
				b.ResetTimer()
				for b.Loop() {
					for _, m := range ms {
						run(m)
					}
				}
				s := b.Elapsed().Seconds() / float64(b.N*len(ms))
				b.ReportMetric(bytes/s/1e9, "wGB/s")
			})
		}
	}
}
