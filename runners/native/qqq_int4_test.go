package native

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/qbench/qbench/kernels/qgemm"
	"github.com/qbench/qbench/quant"
)

// TestQQQLinearInt4 checks that NewQQQLinear puts per-channel QQQ weights (and grouped ones
// with integral group scales) on the 4-bit kernels and that the product equals the int8
// kernel on the same integers W8 bit for bit; fractional fp16 group scales stay int8.
func TestQQQLinearInt4(t *testing.T) {
	const out, in = 45, 384
	rng := rand.New(rand.NewPCG(11, 12))
	w := randMat(rng, out, in, 0.05)
	for _, tc := range []struct {
		name     string
		group    int
		integral bool
		want4    bool
	}{{"perchannel", -1, false, true}, {"g128-fp16", 128, false, false}, {"g128-integral", 128, true, true}} {
		t.Run(tc.name, func(t *testing.T) {
			q, err := quant.QuantizeRTN(w, quant.QQQGPTQConfig(tc.group).Grid, tc.group)
			if err != nil {
				t.Fatal(err)
			}
			p, err := quant.QQQPack(q)
			if err != nil {
				t.Fatal(err)
			}
			if tc.integral { // round the group scales to integers and rebuild W8 = Q4·s
				ng := len(p.GroupScale) / out
				for i, s := range p.GroupScale {
					p.GroupScale[i] = float32(max(1, min(16, math.Round(float64(s)))))
				}
				for i := range p.W8 {
					p.W8[i] = p.Q4[i] * int8(p.GroupScale[(i/in)*ng+(i%in)/128])
				}
			}
			l, err := NewQQQLinear(p)
			if err != nil {
				t.Fatal(err)
			}
			_, is4 := l.(*Int4Linear)
			if is4 != tc.want4 {
				t.Fatalf("linear %T, want 4-bit %v", l, tc.want4)
			}
			m8 := &qgemm.Int8Matrix{Rows: out, Cols: in, Q: p.W8, Scale: p.ChannelScale}
			m8.Prepare()
			for _, n := range []int{1, 5, 17} {
				x := randMat(rng, n, in, 1).Data
				want, got := make([]float32, n*out), make([]float32, n*out)
				m8.MatMulTRef(want, x, n)
				l.MatMulT(got, x, n)
				for i := range want {
					if math.Float32bits(want[i]) != math.Float32bits(got[i]) {
						t.Fatalf("n=%d [%d]: (-want +got) -%v +%v", n, i, want[i], got[i])
					}
				}
			}
		})
	}
}
