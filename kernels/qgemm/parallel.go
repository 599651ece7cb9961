package qgemm

import (
	"runtime"
	"sync"

	"github.com/qbench/qbench/kernels"
)

// parallel calls fn on contiguous sub-ranges [lo, hi) covering [0, n), one per worker (up to
// GOMAXPROCS), each starting at a multiple of grain. It runs on the kernels package's spinning
// worker pool: a decode step issues hundreds of small products back to back, and starting a
// goroutine per product (or waking a parked thread) costs as much as a 576×576 GEMV.
func parallel(n, grain int, fn func(lo, hi int)) {
	if n <= 0 {
		return
	}
	chunks := (n + grain - 1) / grain
	workers := min(runtime.GOMAXPROCS(0), chunks)
	if workers <= 1 {
		fn(0, n)
		return
	}
	per := (chunks + workers - 1) / workers * grain
	kernels.Parallel(workers, func(a, b int) {
		for w := a; w < b; w++ {
			if lo := w * per; lo < n {
				fn(lo, min(lo+per, n))
			}
		}
	})
}

// rowBlock is the number of weight rows a worker keeps hot in cache while it runs over all
// tokens (GEMM): 16 rows × 8192 int8 columns = 128 KiB.
const rowBlock = 16

// scratch buffers, reused between calls.
var (
	bytePool = sync.Pool{New: func() any { return new([]byte) }}
	f32Pool  = sync.Pool{New: func() any { return new([]float32) }}
)

func getBytes(n int) *[]byte {
	p := bytePool.Get().(*[]byte)
	if cap(*p) < n {
		*p = make([]byte, n)
	}
	*p = (*p)[:n]
	return p
}

func getF32(n int) *[]float32 {
	p := f32Pool.Get().(*[]float32)
	if cap(*p) < n {
		*p = make([]float32, n)
	}
	*p = (*p)[:n]
	return p
}

func checkMul(name string, rows, cols int, dst, x []float32, n int) {
	if n < 0 || len(x) < n*cols || len(dst) < n*rows {
		panic("qgemm: " + name + ": need len(x) ≥ n·cols and len(dst) ≥ n·rows")
	}
}
