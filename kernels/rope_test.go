package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestRopeHalf: every path gives the Go loop's bits (products rounded before the sum), for head
// sizes whose half is and is not a multiple of 16, and leaves what follows the heads alone.
func TestRopeHalf(t *testing.T) {
	for _, ks := range availableKernels() {
		t.Run(ks.name, func(t *testing.T) {
			defer setActive(ks.name)()
			rng := rand.New(rand.NewPCG(31, 32))
			for _, hd := range []int{2, 16, 32, 40, 64, 80, 128} {
				for _, heads := range []int{1, 3, 9} {
					t.Run(fmt.Sprintf("hd=%d heads=%d", hd, heads), func(t *testing.T) {
						half := hd / 2
						x := make([]float32, heads*hd+1)
						cos, sin := make([]float32, half), make([]float32, half)
						for i := range x {
							x[i] = float32(rng.NormFloat64() * 3)
						}
						for i := range cos {
							a := rng.Float64() * 2 * math.Pi
							cos[i], sin[i] = float32(math.Cos(a)), float32(math.Sin(a))
						}
						want := append([]float32(nil), x...)
						for h := 0; h < heads; h++ {
							v := want[h*hd : (h+1)*hd]
							for i := 0; i < half; i++ {
								a, b := v[i], v[i+half]
								v[i] = float32(a*cos[i]) - float32(b*sin[i])
								v[i+half] = float32(b*cos[i]) + float32(a*sin[i])
							}
						}
						RopeHalf(x[:heads*hd], heads, hd, cos, sin)
						for i := range x {
							if math.Float32bits(x[i]) != math.Float32bits(want[i]) {
								t.Fatalf("x[%d] = %v, want %v", i, x[i], want[i])
							}
						}
					})
				}
			}
		})
	}
}
