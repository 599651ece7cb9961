package amx

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestDigitProducts: digit panels (DigitRow order) times int8 weights, per channel (Dot +
// StoreDigits) and in groups (DotGrouped + StoreDigitsF32), against float64 sums of
// unit·scale·w·(d0 + 256·d1 + 65536·d2). The int32 products are exact, so the error is the f32
// epilogue's: per group one conversion and one FMA, the digit combination's two FMAs and the unit
// and scale products, each a relative 2⁻²⁴ of a magnitude at most Σ |s·w|·(|d0| + 256·|d1| +
// 65536·|d2|): tolerance (groups + 6)·2⁻²⁴ times that.
func TestDigitProducts(t *testing.T) {
	needAMX(t)
	rng := rand.New(rand.NewPCG(21, 22))
	for _, tc := range []struct{ n, cols, group int }{
		{1, 64, 0}, {17, 256, 0}, {40, 576, 0}, {33, 384, 128}, {64, 576, 64}, {70, 1024, 128},
	} {
		t.Run(fmt.Sprintf("n=%d/cols=%d/group=%d", tc.n, tc.cols, tc.group), func(t *testing.T) {
			n, cols := tc.n, tc.cols
			rows := DigitRows(n)
			d := make([]int8, rows*cols)
			for t := range n {
				for p := range 3 {
					for k := range cols {
						d[DigitRow(t, p)*cols+k] = int8(rng.IntN(256) - 128)
					}
				}
			}
			unit := make([]float32, rows/3)
			for i := range unit {
				unit[i] = float32(math.Exp2(float64(-23 - rng.IntN(8))))
			}
			w := make([]int8, 32*cols)
			for i := range w {
				w[i] = int8(rng.IntN(255) - 127)
			}
			scale := make([]float32, 32)
			for i := range scale {
				scale[i] = float32(rng.Float64() + 0.5)
			}
			var p PanelI8
			p.Pack(d, rows, cols)
			const ld = 40
			got := make([]float32, n*ld)
			ng := 1
			var s []float32
			if tc.group == 0 {
				acc := p.NewAcc()
				p.Dot(acc, w, cols, 0, cols, false)
				p.StoreDigits(got, ld, 3, acc, scale, unit, n)
			} else {
				ng = cols / tc.group
				s = make([]float32, ng*32)
				for i := range s {
					s[i] = float32(rng.NormFloat64())
				}
				acc := p.NewAccF32()
				for i := range acc {
					acc[i] = float32(math.NaN()) // load false must write, never read, what is there
				}
				half := cols / 2 / tc.group * tc.group // two column blocks: load false, then true
				p.DotGrouped(acc, w, cols, 0, half, tc.group, s, false)
				p.DotGrouped(acc, w[half:], cols, half, cols-half, tc.group, s[half/tc.group*32:], true)
				p.StoreDigitsF32(got, ld, 3, acc, nil, unit, n)
			}
			for tok := range n {
				for r := range 32 {
					var exact, abs float64
					for k := range cols {
						sc := float64(scale[r])
						if s != nil {
							sc = float64(s[k/tc.group*32+r])
						}
						var X, A float64
						for p := range 3 {
							v := float64(d[DigitRow(tok, p)*cols+k]) * math.Exp2(float64(8*p))
							X += v
							A += math.Abs(v)
						}
						wv := sc * float64(w[r*cols+k]) * float64(unit[tok])
						exact += wv * X
						abs += math.Abs(wv) * A
					}
					tol := float64(ng+6) * math.Exp2(-24) * abs
					g := got[tok*ld+3+r]
					if e := math.Abs(float64(g) - exact); !(e <= tol) {
						t.Fatalf("dst[%d, %d] = %g, want %g (|Δ| %.3g > %.3g)", tok, r, g, exact, e, tol)
					}
				}
			}
		})
	}
}

// BenchmarkDotGroupedI8 times PanelI8.DotGrouped's kernel (dotTilesGI8) for 32 weight rows, group
// 128, against 128 tokens' digit rows: the W4A16-g128 prefill's inner loop. With two k-steps per
// group the C tiles drain (tile store, epilogue, zero) after every 8 TDPBSSDs: 1.9-2.0 T ops/s on
// one core, a third of the tile peak (2.7-2.9 without the epilogue's f32 FMAs). A version with the
// two 16-row halves a step apart, so that one half's epilogue ran while the other multiplied
// (the B tiles loaded once per half), was slower: 1.6-1.8.
func BenchmarkDotGroupedI8(b *testing.B) {
	needAMX(b)
	rng := rand.New(rand.NewPCG(1, 1))
	for _, cols := range []int{576 - 64, 2048} {
		rows := DigitRows(128)
		d := make([]int8, rows*cols)
		for i := range d {
			d[i] = int8(rng.IntN(256) - 128)
		}
		var p PanelI8
		p.Pack(d, rows, cols)
		w := make([]int8, 32*cols)
		for i := range w {
			w[i] = int8(rng.IntN(15) - 8)
		}
		s := make([]float32, 32*cols/128)
		for i := range s {
			s[i] = 1
		}
		acc := p.NewAccF32()
		cb := make([]int32, 1024)
		bts := p.Cols * 16
		b.Run(fmt.Sprintf("cols=%d", cols), func(b *testing.B) {
			for b.Loop() {
				for tp := 0; tp < p.ntb/2; tp++ {
					dotTilesGI8(cfg, &w[0], cols, &p.buf[2*tp*bts], bts, cols/128, 2, &acc[tp*1024], &cb[0], &s[0], false)
				}
			}
			b.ReportMetric(2*float64(32*cols*rows)/(b.Elapsed().Seconds()/float64(b.N))/1e9, "GOP/s")
		})
	}
}
