package amx

import (
	"fmt"
	"testing"
)

// BenchmarkDotTilesL1 runs the micro-kernel on operands that stay in L1 (the weight rows overlap,
// all parts and both token tiles read the same B), so it measures the TDPBF16PS issue rate:
// GMAC/s counts every bf16 product (12 tile products of 16·16·32 per k-step).
func BenchmarkDotTilesL1(b *testing.B) {
	needAMX(b)
	for _, ksteps := range []int{8, 64, 256} {
		for _, parts := range []int{1, 2, 3} {
			b.Run(fmt.Sprintf("k%d/parts%d", ksteps*32, parts), func(b *testing.B) {
				a := make([]uint16, (32+ksteps)*32)
				bb := make([]uint16, 512)
				acc := make([]float32, 1024)
				for b.Loop() {
					dotTiles(cfg, &a[0], 64, &bb[0], 0, 0, parts, ksteps, &acc[0], false)
				}
				b.ReportMetric(float64(4*parts*16*16*32*ksteps)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GMAC/s")
			})
		}
	}
}
