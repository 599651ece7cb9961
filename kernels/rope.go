package kernels

import "fmt"

// RopeHalf rotates each of heads heads of x (heads·hd floats) by the angles whose cosines and sines
// are cos[:hd/2] and sin[:hd/2], pairing x_i with x_{i+hd/2} (Hugging Face's rotate_half):
//
//	x_i, x_{i+hd/2} = x_i·cos_i − x_{i+hd/2}·sin_i, x_{i+hd/2}·cos_i + x_i·sin_i
//
// Each product is rounded to float32 before the sum (no fused multiply-add), so every path gives
// the same bits as the Go loop.
func RopeHalf(x []float32, heads, hd int, cos, sin []float32) {
	half := hd / 2
	if hd%2 != 0 || len(x) < heads*hd || len(cos) < half || len(sin) < half {
		panic(fmt.Sprintf("kernels: RopeHalf: heads=%d hd=%d with len(x)=%d len(cos)=%d len(sin)=%d", heads, hd, len(x), len(cos), len(sin)))
	}
	i0 := 0
	if f := active.ropeHalf; f != nil && heads > 0 {
		i0 = f(x, heads, half, cos, sin)
	}
	if i0 == half {
		return
	}
	for h := 0; h < heads; h++ {
		v := x[h*hd : (h+1)*hd]
		for i := i0; i < half; i++ {
			a, b := v[i], v[i+half]
			v[i] = float32(a*cos[i]) - float32(b*sin[i])
			v[i+half] = float32(b*cos[i]) + float32(a*sin[i])
		}
	}
}
