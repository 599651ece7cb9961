// Package kernels holds the float32 / bfloat16 compute kernels of qbench's native engine: dot products,
// matrix-vector and matrix-matrix products (row-major, weights stored as (rows, cols) like a PyTorch
// Linear layer), format conversions, RMSNorm, softmax and SiLU.
//
// Every kernel has a plain-loop reference (fooRef) whose doc comment is the math it computes; the exported
// function is the fast version. On amd64 the fast versions use hand-written assembly for AVX-512
// (F+BW+VL+DQ) or AVX2+FMA, chosen at start-up from golang.org/x/sys/cpu; other architectures, and builds
// with the noasm tag, use the pure-Go kernels. Features reports the path in use. On CPUs with Intel
// AMX, MatMulTBF16 and MatMulTBF16Many run on AMX-BF16 tiles from amxMinTokens tokens (package amx:
// exact products, float32 sums); QBENCH_AMX=0 turns that off.
//
// Matrix layouts (all row-major):
//
//	w:   (rows, cols)   weights, one output feature per row
//	x:   (n, cols)      activations, one token per row
//	dst: (n, rows)      outputs, one token per row: dst = x·wᵀ
//
// Length mismatches are programmer errors and panic with a "kernels: " prefix.
package kernels
