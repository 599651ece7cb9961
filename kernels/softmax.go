package kernels

import "math"

// expf returns e^x in float32 arithmetic with a relative error below 2e-7
// for |x| ≤ 87 (Cephes expf: x = n·ln2 + r, |r| ≤ ln2/2, a degree-6
// polynomial for e^r, 2^n from the exponent bits); e^x underflows to 0
// below −87.3 and saturates to +Inf above 88.7.
func expf(x float32) float32 {
	if x < -87.33654 {
		return 0
	}
	if x > 88.72283 {
		return float32(math.Inf(1))
	}
	n := float32(math.Floor(float64(x*1.44269504088896341 + 0.5)))
	// r = x − n·ln2 in two steps (Cody–Waite) to keep r exact.
	r := x - n*0.693359375
	r -= n * -2.12194440e-4
	p := float32(1.9875691500e-4)
	p = p*r + 1.3981999507e-3
	p = p*r + 8.3334519073e-3
	p = p*r + 4.1665795894e-2
	p = p*r + 1.6666665459e-1
	p = p*r + 5.0000001201e-1
	p = p*r*r + r + 1
	return p * math.Float32frombits(uint32(int32(n)+127)<<23)
}

// SoftmaxPrefix computes x[:n] = softmax(scale·x[:n]) in float32 with a
// fast exp (relative error < 2e-7 per term; the sum is accumulated in
// float64) and sets x[n:] to 0: the causal attention row of a query that
// sees the first n keys.
func SoftmaxPrefix(x []float32, n int, scale float32) {
	ks := active
	if n > 0 && ks.maxf != nil && ks.expShift != nil && ks.scalef != nil {
		xs := x[:n]
		sum := ks.expShift(xs, ks.maxf(xs), scale)
		ks.scalef(xs, float32(1/sum))
		clear(x[n:])
		return
	}
	mx := float32(math.Inf(-1))
	for _, v := range x[:n] {
		mx = max(mx, v)
	}
	var sum float64
	for i := 0; i < n; i++ {
		e := expf((x[i] - mx) * scale)
		x[i] = e
		sum += float64(e)
	}
	inv := float32(1 / sum)
	for i := 0; i < n; i++ {
		x[i] *= inv
	}
	clear(x[n:])
}
