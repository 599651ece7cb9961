//go:build !amd64

package qgemm

// No assembly outside amd64: every format runs its pure-Go path.
var (
	hasVNNI   = false
	hasAVX512 = false
	hasAVX2   = false
)

func unreachable() { panic("qgemm: assembly kernel called on a non-amd64 build") }

func avx2R4T1(w *int8, wstride int, x *uint8, nblk int, out *[4]int32) { unreachable() }

func vnniAmax(x *float32, n int) (amax, bad float32)                  { unreachable(); return }
func vnniQuant(x *float32, n int, inv float32, dst *int8) (sum int32) { unreachable(); return }
func vnniQuantS(x *float32, n int, inv float32, dst *int8, dstride int) (sum int32) {
	unreachable()
	return
}

// The VNNI kernel tables (vnni_amd64.go) are empty: hasVNNI is false.
var (
	vnniI8TKernels  [vnniMaxT + 1]func(w *byte, k4 int, x *int8, corr *int32, scale, sx, dst *float32, dstride, mask int)
	vnniI4TKernels  [vnniMaxT + 1]func(w *byte, k4 int, x *int8, corr *int32, scale, sx, dst *float32, dstride, mask int)
	vnniI4GTKernels [vnniMaxT + 1]func(w *byte, k4, gk4 int, x *int8, corr *int32, gs *int8, scale, sx, dst *float32, dstride, mask int, tmp *int32)
)

func vnniI8T1x2(w *byte, k4 int, x *int8, corr *int32, scale, sx, dst *float32) { unreachable() }

func vnniI4T1x4(w *byte, k4 int, x *int8, corr *int32, scale, sx, dst *float32) { unreachable() }

func vnniI4GT1x4(w *byte, k4, gk4 int, x *int8, corr *int32, gs *int8, ngs int, scale, sx, dst *float32) {
	unreachable()
}
