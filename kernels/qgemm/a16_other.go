//go:build !amd64

package qgemm

// No assembly outside amd64 (hasAVX512 is false there, so these are never called).

func a16DeqI8(dst *float32, q *int8, s float32, n int) { unreachable() }
func a16Mul(d *float32, s float32, n int)              { unreachable() }
func a16DeqFP8(dst *float32, q *uint8, s float32, n int) uint64 {
	unreachable()
	return 0
}
func a16DeqI4(dst *float32, p *byte, sc *float32, bi *float32, ghalf int, cnt int, nblk int) {
	unreachable()
}
func a16I4R8(p *byte, ldp int, sc *float32, bi *float32, ldg int, gstep int, x *float32, nblk int, out *[8]float32) {
	unreachable()
}
func a16AbsMaxBits(x *float32, n int) uint32 {
	unreachable()
	return 0
}
func a16RoundE4M3(dst *float32, x *float32, inv float32, n int) { unreachable() }
func a16PermX4(dst *float32, x *float32, nblk int)              { unreachable() }

func a16I4R8PL(p *byte, ldp int, sc *float32, bi *float32, ldg int, gstep int, xp *float32, nblk int, nb8 int, out *float32, bstep int, sstep int, pfd int) {
	unreachable()
}

func a16I4R8PLS(p *byte, ldp int, sc *float32, ldg int, gstep int, xp *float32, nblk int, nb8 int, out *float32, bstep int, sstep int, pfd int) {
	unreachable()
}

func a16I8R8L(w *int8, ldw int, x *float32, n int, nb8 int, sc *float32, post float32, out *float32, bstep int, pfd int) {
	unreachable()
}

func a16FP8R8L(w *uint8, ldw int, x *float32, n int, nb8 int, sc *float32, post float32, out *float32, bstep int, pfd int) uint64 {
	unreachable()
	return 0
}

func a16I4R4T4(p *byte, ldp int, sc *float32, bi *float32, ldg int, gstep int, xp *float32, ldx int, nblk int, pf *byte, out *[16]float32) {
	unreachable()
}
func a16I8R4T4(w *int8, ldw int, x *float32, ldx int, n int, pf *int8, out *[16]float32) {
	unreachable()
}
func a16FP8R4T4(w *uint8, ldw int, x *float32, ldx int, n int, pf *uint8, out *[16]float32) uint64 {
	unreachable()
	return 0
}
func amxDeqI4(dst *uint16, p *byte, nblk int, zh *int16) { unreachable() }
func amxDeqI8(dst *uint16, q *int8, n int)               { unreachable() }
func amxDeqFP8(dst *uint16, q *uint8, n int)             { unreachable() }
func amxDeqI4I8(dst *int8, p *byte, nblk int, gs *int16) { unreachable() }
func amxDeqI4I8U(dst *int8, p *byte, nblk int)           { unreachable() }

func a16Digits(x *float32, n int, inv float32, d *int8, dstride int, sums *int32) { unreachable() }
func a16V4G2(w *byte, wstep, k4, gk4 int, xd *int8, dstride int, sums, zs *int32, sc *float32, bstep int, unit float32, dst0, dst1 *float32, pf int) {
	unreachable()
}
func a16V4G4(w *byte, wstep, k4, gk4 int, xd *int8, dstride int, sums, zs *int32, sc *float32, bstep int, unit float32, dst *float32) {
	unreachable()
}
