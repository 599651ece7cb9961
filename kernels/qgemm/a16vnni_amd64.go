//go:build amd64

package qgemm

// a16Digits splits x[0:n] into three signed digit bytes (a16vnni.go); callers check hasAVX512.
//
//go:noescape
func a16Digits(x *float32, n int, inv float32, d *int8, dstride int, sums *int32)

// a16V4G2 is the W4A16 GEMV on VNNI for two 32-row blocks of one token; callers check hasVNNI.
//
//go:noescape
func a16V4G2(w *byte, wstep, k4, gk4 int, xd *int8, dstride int, sums, zs *int32, sc *float32, bstep int, unit float32, dst0, dst1 *float32, pf int)

// a16V4G4 is a16V4G2 for four full 32-row blocks side by side; callers check hasVNNI.
//
//go:noescape
func a16V4G4(w *byte, wstep, k4, gk4 int, xd *int8, dstride int, sums, zs *int32, sc *float32, bstep int, unit float32, dst *float32)
