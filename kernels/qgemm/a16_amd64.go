//go:build amd64

package qgemm

// AVX-512 (F+BW+VL) kernels of the A16 paths (a16_amd64.s); callers check hasAVX512.

// a16DeqI8: dst[k] = float32(q[k])·s for k < n, n a positive multiple of 16.
//
//go:noescape
func a16DeqI8(dst *float32, q *int8, s float32, n int)

// a16Mul: d[k] *= s for k < n, n a positive multiple of 16.
//
//go:noescape
func a16Mul(d *float32, s float32, n int)

// a16DeqFP8: dst[k] = DecodeE4M3(q[k])·s for k < n, n a positive multiple of 64; NaN codes (0x7F,
// 0xFF) decode to ±480·s instead, and the result is non-zero iff there was one.
//
//go:noescape
func a16DeqFP8(dst *float32, q *uint8, s float32, n int) uint64

// a16DeqI4: dst[0 : 64·nblk] = u·s + b for the nblk packed int4 blocks at p, with (s, b) =
// (sc[j], bi[j]) where j = 0 for the first cnt half-blocks (of 32 codes) and advances by one every
// ghalf half-blocks after that.
//
//go:noescape
func a16DeqI4(dst *float32, p *byte, sc *float32, bi *float32, ghalf int, cnt int, nblk int)

// a16I8R8L: for nb8 blocks of 8 rows, block b's row i at w + b·bstep + i·ldw,
// out[8b+i] = (Σ_{k<n} float32(row[k])·x[k])·sc[8b+i]·post (sc nil: no sc factor), n a positive
// multiple of 16; it prefetches pfd bytes ahead along each row.
//
//go:noescape
func a16I8R8L(w *int8, ldw int, x *float32, n int, nb8 int, sc *float32, post float32, out *float32, bstep int, pfd int)

// a16FP8R8L: for nb8 blocks of 8 rows, block b's row i at w + b·bstep + i·ldw,
// out[8b+i] = (Σ_{k<n} (DecodeE4M3(row[k])·2^-120)·x[k])·sc[8b+i]·post, n a positive multiple of
// 64 (pass x·2^112 and 2^8 in post); non-zero result iff a NaN code was met (out is then not the
// NaN the plain loop gives). It prefetches pfd bytes ahead along each row.
//
//go:noescape
func a16FP8R8L(w *uint8, ldw int, x *float32, n int, nb8 int, sc *float32, post float32, out *float32, bstep int, pfd int) uint64

// a16I4R8: out[r] = Σ_{k<64·nblk} x[k]·(u[r,k]·sc[r·ldg+h/gstep] + bi[r·ldg+h/gstep]), h = k/32,
// r < 8, u[r,k] the code k of the packed row at p + r·ldp. It reads one (sc, bi) entry past the
// last group of each row.
//
//go:noescape
func a16I4R8(p *byte, ldp int, sc *float32, bi *float32, ldg int, gstep int, x *float32, nblk int, out *[8]float32)

// a16AbsMaxBits: max_k bits(x[k]) & 0x7FFFFFFF over k < n, n a positive multiple of 16 (the bits
// of max |x[k]|; above 0x7F800000 iff some x[k] is NaN).
//
//go:noescape
func a16AbsMaxBits(x *float32, n int) uint32

// a16RoundE4M3: dst[k] = DecodeE4M3(EncodeE4M3(x[k]·inv)) for k < n, n a positive multiple of 16.
//
//go:noescape
func a16RoundE4M3(dst *float32, x *float32, inv float32, n int)

// a16PermX4: for each block b < nblk of 64 columns, v < 4, j < 8: dst[64b+16v+j] = x[64b+4j+v]
// and dst[64b+16v+8+j] = x[64b+32+4j+v], the column order of a16I4R8P.
//
//go:noescape
func a16PermX4(dst *float32, x *float32, nblk int)

// a16I4R8PL: out[8b+i] = Σ_{k<64·nblk} xp[k']·(u[k]·sc[k/(64·gstep)] + bi[…]) for block b < nb8
// and row i < 8 of the block (codes at p + b·bstep + i·ldp, its scales and biases i·ldg floats and
// b·sstep bytes on), x in a16PermX4's order (k' the permuted position of k); groups of gstep
// 64-blocks (1<<40: one per row). It prefetches pfd bytes ahead along each row.
//
//go:noescape
func a16I4R8PL(p *byte, ldp int, sc *float32, bi *float32, ldg int, gstep int, xp *float32, nblk int, nb8 int, out *float32, bstep int, sstep int, pfd int)

// a16I4R8PLS is a16I4R8PL for symmetric codes (zero point 8): the tables are (u − 8)·s, and no
// bias is read.
//
//go:noescape
func a16I4R8PLS(p *byte, ldp int, sc *float32, ldg int, gstep int, xp *float32, nblk int, nb8 int, out *float32, bstep int, sstep int, pfd int)

// a16I4R4T4: out[4t+r] = Σ_{k<64·nblk} xp[t·ldx+k']·(u[r,k]·sc[r·ldg+k/(64·gstep)] + bi[…]) for
// rows r < 4 (packed at p + r·ldp) and tokens t < 4, x in a16PermX4's order (k' the permuted
// position); prefetches the rows at pf + r·ldp. One lookup per 16 codes serves four tokens.
//
//go:noescape
func a16I4R4T4(p *byte, ldp int, sc *float32, bi *float32, ldg int, gstep int, xp *float32, ldx int, nblk int, pf *byte, out *[16]float32)

// a16I8R4T4: out[4t+r] = Σ_{k<n} float32(w[r·ldw+k])·x[t·ldx+k] for rows r < 4 and tokens t < 4,
// n a positive multiple of 16; prefetches the rows at pf + r·ldw. One conversion per 16 weights
// serves four tokens.
//
//go:noescape
func a16I8R4T4(w *int8, ldw int, x *float32, ldx int, n int, pf *int8, out *[16]float32)

// a16FP8R4T4: out[4t+r] = Σ_{k<n} (DecodeE4M3(w[r·ldw+k])·2^-120)·x[t·ldx+k] for rows r < 4 and
// tokens t < 4 (x scaled by 2^112), n a positive multiple of 64; prefetches the rows at pf + r·ldw;
// non-zero result iff a NaN code was met. One decoded weight vector serves four tokens.
//
//go:noescape
func a16FP8R4T4(w *uint8, ldw int, x *float32, ldx int, n int, pf *uint8, out *[16]float32) uint64
