package kernels

import (
	"strings"

	"github.com/qbench/qbench/kernels/amx"
)

// tokTile is the number of tokens (rows of x) one gemm micro-kernel call handles.
const tokTile = 3

// kernelSet is one implementation of the inner kernels. The drivers in kernels.go split matrices into
// pieces these kernels take; the asm kernels only see k (column counts) that are multiples of kStep, the
// drivers finish the rest in Go.
type kernelSet struct {
	name     string // "avx512", "avx2" or "go"
	features string // CPU features the set uses, for Features
	kStep    int    // the asm kernels consume columns in multiples of kStep
	rowBlock int    // R: weight rows per gemm / gemv call

	// dot returns Σ x[i]·y[i] over all of x (tail included); len(y) >= len(x).
	dot func(x, y []float32) float32
	// axpy is y[i] += a·x[i] over all of x (tail included).
	axpy func(a float32, x, y []float32)
	// gemm computes, for t < tokTile and r < R, s = Σ_{c<k} w[r*ldw+c]·x[t*ldx+c] and stores it in
	// dst[t*ldd+r] (acc false) or adds it (acc true). k is a multiple of kStep and > 0.
	gemm func(dst []float32, ldd int, w []float32, ldw int, x []float32, ldx int, k int, acc bool)
	// gemv is gemm for one token: dst[r] (+)= Σ_{c<k} w[r*ldw+c]·x[c], r < R.
	gemv func(dst []float32, w []float32, ldw int, x []float32, k int, acc bool)
	// gemvBF16 is gemv with bfloat16 weights.
	gemvBF16 func(dst []float32, w []uint16, ldw int, x []float32, k int, acc bool)
	// gemvBF16Pf (nil where the set has none) is gemvBF16 into dst (acc false) that prefetches pfd
	// bytes ahead of each of the R rows as it goes.
	gemvBF16Pf func(dst []float32, w []uint16, ldw int, x []float32, k int, pfd int)
	// bf16ToF32 and f32ToBF16 convert all of src (tail included).
	bf16ToF32 func(dst []float32, src []uint16)
	f32ToBF16 func(dst []uint16, src []float32)
	// siluMul is dst[i] = gate[i]/(1+e^(−gate[i]))·up[i] over a multiple of 16 elements, and expShift
	// sets x[i] = e^((x[i]−mx)·scale) over any positive number of elements and returns Σ x[i]
	// (float64); nil where the set has no vector exp (the callers run the scalar expf).
	siluMul  func(dst, gate, up []float32)
	expShift func(x []float32, mx, scale float32) float64
	// maxf returns the largest of x (NaN if any is NaN, as the builtin max) and scalef sets
	// x[i] *= s, both over any positive number of elements; nil where the set has none.
	maxf   func(x []float32) float32
	scalef func(x []float32, s float32)
	// axpyRows sets dst[c] = Σ_r p[r]·v[r·ldv+c] for the columns c < c0 it handles (a multiple of 16,
	// ≤ len(dst)) and returns c0; nil where the set has none.
	axpyRows func(dst, p, v []float32, ldv int) (c0 int)
	// add is x[i] += y[i]; sumSq is Σ x[i]² in float64; rmsMul is dst[i] = (x[i]·s)·w[i]: all over any
	// positive length (equal lengths); nil where the set has none.
	add    func(x, y []float32)
	sumSq  func(x []float32) float64
	rmsMul func(dst, x, w []float32, s float32)
	// ropeHalf runs RopeHalf on the pairs i < i0 of every head (i0 a multiple of 16, ≤ half) and
	// returns i0; nil where the set has none.
	ropeHalf func(x []float32, heads, half int, cos, sin []float32) (i0 int)
}

// goKernels is the pure-Go kernel set, used where no SIMD path is available and as a tested path everywhere.
var goKernels = &kernelSet{
	name:      "go",
	features:  "purego",
	kStep:     1,
	rowBlock:  4,
	dot:       dotGo,
	axpy:      axpyGo,
	gemm:      gemm4x3Go,
	gemv:      gemv4Go,
	gemvBF16:  gemvBF16x4Go,
	bf16ToF32: bf16ToF32Ref,
	f32ToBF16: f32ToBF16Go,
}

// active is the kernel set the exported functions use. Tests switch it with setActive; nothing else
// writes it after init, so it must not be changed while kernels run.
var active = bestKernels()

// bestKernels returns the fastest set this CPU supports.
func bestKernels() *kernelSet {
	if sets := availableKernels(); len(sets) > 0 {
		return sets[0]
	}
	return goKernels
}

// availableKernels returns every set this CPU can run, fastest first, ending with goKernels.
func availableKernels() []*kernelSet {
	return append(archKernels(), goKernels)
}

// setActive switches the kernel path by name ("avx512", "avx2", "go") and returns a function restoring the
// previous one. It panics if the CPU cannot run that path. For tests and benchmarks only.
func setActive(name string) (restore func()) {
	prev := active
	for _, ks := range availableKernels() {
		if ks.name == name {
			active = ks
			return func() { active = prev }
		}
	}
	panic("kernels: kernel path " + name + " is not available on this CPU")
}

// Features names the SIMD path the kernels use and the CPU features it relies on, e.g.
// "avx512 (avx512f avx512bw avx512vl avx512dq)", "avx2 (avx2 fma)" or "go (purego)".
func Features() string {
	f := active.name + " (" + active.features + ")"
	if amx.Available() {
		f += " + amx (amx-bf16 amx-int8 prefill tiles; QBENCH_AMX=0 turns them off)"
	}
	return f
}

// Paths lists the kernel paths this CPU can run, fastest first, e.g. "avx512 avx2 go".
func Paths() string {
	var names []string
	for _, ks := range availableKernels() {
		names = append(names, ks.name)
	}
	return strings.Join(names, " ")
}
