//go:build amd64

package qgemm

// amxDeqI4 writes the bfloat16 values of u − z for nblk blocks of 64 packed int4 codes:
//
//	dst[64b+j] = bf16(u[64b+j] − zh[2b + j/32]),  b < nblk, j < 64
//
//go:noescape
func amxDeqI4(dst *uint16, p *byte, nblk int, zh *int16)

// amxDeqI8 is dst[k] = bf16(q[k]) for k < n, n a multiple of 16.
//
//go:noescape
func amxDeqI8(dst *uint16, q *int8, n int)

// amxDeqFP8 is dst[k] = bf16(DecodeE4M3(q[k])) for k < n, n a multiple of 16 (exact; NaN codes
// give a NaN).
//
//go:noescape
func amxDeqFP8(dst *uint16, q *uint8, n int)

// amxDeqI4I8 writes the int8 weights (u − 8)·gs[b] of nblk blocks of 64 packed int4 codes (W4A8:
// gs = the block's integer group scale, 1 per channel):
//
//	dst[64b+j] = int8((u[64b+j] − 8)·gs[b]),  b < nblk, j < 64
//
//go:noescape
func amxDeqI4I8(dst *int8, p *byte, nblk int, gs *int16)

// amxDeqI4I8U is amxDeqI4I8 with every group scale 1: dst[64b+j] = int8(u[64b+j] − 8).
//
//go:noescape
func amxDeqI4I8U(dst *int8, p *byte, nblk int)
