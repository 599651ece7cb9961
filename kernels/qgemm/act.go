package qgemm

import (
	"math"
	"unsafe"
)

// quantRowInt8 quantizes one row symmetrically (quantRowInt8Ref), with AVX-512 when the CPU
// has it: the same float32 products rounded to nearest even by VCVTPS2DQ, bit for bit.
func quantRowInt8(q []int8, x []float32) float32 {
	if hasAVX512 && len(x) > 0 {
		var none [0]int32
		return quantRowGroups(q, x, len(x), none[:])
	}
	return quantRowInt8Ref(q, x)
}

// quantRowInt8Ref quantizes one row symmetrically: amax = max_k |x[k]|, scale = amax/127,
// q[k] = RoundToEven(x[k] · (127/amax)) clamped to [−127, 127]; amax = 0 gives scale 0, q = 0
// (any NaN gives scale 0 too: Go's max propagates it).
func quantRowInt8Ref(q []int8, x []float32) float32 {
	var amax float32
	for _, v := range x {
		amax = max(amax, float32(math.Abs(float64(v))))
	}
	if amax == 0 || amax != amax {
		clear(q)
		return 0
	}
	inv := 127 / amax
	for k, v := range x {
		r := math.RoundToEven(float64(v * inv))
		q[k] = int8(max(-127, min(127, r)))
	}
	return amax / 127
}

// QuantizeActInt8 quantizes activations per token (row), dynamically and symmetrically:
// x (n, cols) → dst (n, cols) int8 and scales (n), x[i,k] ≈ scales[i]·dst[i,k], with
// scales[i] = max_k |x[i,k]| / 127 and dst = RoundToEven(x · 127/amax) (ties to even, as
// torch.round). Rows of zeros get scale 0.
func QuantizeActInt8(dst []int8, scales []float32, x []float32, n, cols int) {
	if len(dst) < n*cols || len(scales) < n || len(x) < n*cols {
		panic("qgemm: QuantizeActInt8: need len(dst), len(x) ≥ n·cols and len(scales) ≥ n")
	}
	for i := range n {
		scales[i] = quantRowInt8(dst[i*cols:(i+1)*cols], x[i*cols:(i+1)*cols])
	}
}

// quantizeActU8 is QuantizeActInt8 with the codes stored offset by 128 (u = q + 128, the
// unsigned operand VPDPBUSD needs).
func quantizeActU8(dst []uint8, scales []float32, x []float32, n, cols int) {
	q := unsafe.Slice((*int8)(unsafe.Pointer(unsafe.SliceData(dst))), len(dst))
	QuantizeActInt8(q, scales, x, n, cols)
	for k := range dst[:n*cols] {
		dst[k] ^= 0x80
	}
}

// QuantizeActFP8 quantizes activations per token to e4m3fn: scales[i] = max_k |x[i,k]| / 448
// and dst[i,k] = EncodeE4M3(x[i,k] · 448/amax), so x ≈ scales[i]·DecodeE4M3(dst[i,k]).
func QuantizeActFP8(dst []uint8, scales []float32, x []float32, n, cols int) {
	if len(dst) < n*cols || len(scales) < n || len(x) < n*cols {
		panic("qgemm: QuantizeActFP8: need len(dst), len(x) ≥ n·cols and len(scales) ≥ n")
	}
	for i := range n {
		scales[i] = quantRowFP8(dst[i*cols:(i+1)*cols], x[i*cols:(i+1)*cols])
	}
}

func quantRowFP8(q []uint8, x []float32) float32 {
	var amax float32
	for _, v := range x {
		amax = max(amax, float32(math.Abs(float64(v))))
	}
	if amax == 0 || amax != amax {
		clear(q)
		return 0
	}
	inv := E4M3Max / amax
	for k, v := range x {
		q[k] = EncodeE4M3(v * inv)
	}
	return amax / E4M3Max
}

// offsetU8 returns xq + 128 as unsigned bytes (the operand the non-VNNI int8 paths take) in a
// pooled buffer; return it to bytePool.
func offsetU8(xq []int8) *[]byte {
	bq := getBytes(len(xq))
	for k, q := range xq {
		(*bq)[k] = uint8(q) ^ 0x80
	}
	return bq
}

// bytesAsInt8 views b as int8 codes.
func bytesAsInt8(b []byte) []int8 {
	return unsafe.Slice((*int8)(unsafe.Pointer(unsafe.SliceData(b))), len(b))
}
