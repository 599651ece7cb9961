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
