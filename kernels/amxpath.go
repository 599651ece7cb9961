package kernels

import (
	"sync"

	"github.com/qbench/qbench/kernels/amx"
)

// amxMinTokens is the token count from which MatMulTBF16 runs on AMX tiles. BenchmarkAMXCrossover:
// the tile path streams the weights once for up to 32 tokens, so it ties with the AVX-512 GEMM
// (a pass per 3 tokens) at n = 2-4 and is ahead from n = 4 (1536×576, 2048×2048). A variable so
// that tests and benchmarks can force either path.
var amxMinTokens = 4

var panelPool = sync.Pool{New: func() any { return new(amx.Panel) }}

// useAMX reports whether an (rows, cols) × n product with bfloat16-exact weights goes to the AMX
// tiles: at least 32 rows (one block), amxMinTokens tokens, and a tile-aligned cols.
func useAMX(rows, cols, n int) bool {
	return n >= amxMinTokens && rows >= 32 && amx.Supported(cols)
}

// matMulTBF16AMX is MatMulTBF16 on AMX tiles.
func matMulTBF16AMX(dst []float32, w []uint16, rows, cols int, x []float32, n int) {
	matMulTBF16ManyAMX([]BF16Product{{Dst: dst, W: w, Rows: rows}}, cols, x, n)
}

// BF16Product is one weight matrix of MatMulTBF16Many: Dst (n, Rows) = x · Wᵀ, W (Rows, cols).
type BF16Product struct {
	Dst  []float32
	W    []uint16
	Rows int
}

// MatMulTBF16Many runs MatMulTBF16 for each product, all with the same input x (n, cols): the q, k
// and v projections, or gate and up. On AMX the activations are packed once for all of them and
// the workers split the 32-row blocks of all the products together.
func MatMulTBF16Many(ps []BF16Product, cols int, x []float32, n int) {
	for _, p := range ps {
		checkMat("MatMulTBF16Many", len(p.Dst), len(p.W), p.Rows, cols, len(x), n)
	}
	all := true
	for _, p := range ps {
		all = all && useAMX(p.Rows, cols, n)
	}
	if !all {
		for _, p := range ps {
			MatMulTBF16(p.Dst, p.W, p.Rows, cols, x, n)
		}
		return
	}
	matMulTBF16ManyAMX(ps, cols, x, n)
}

// amxChunk bounds the tokens packed at once: the panel holds 3 bf16 pieces per activation (1.5x
// the float32 activations), so a 2048-token prefill batch of Llama-3.2-1B's down projection would
// hold 100 MB; 512 tokens keep it at 25 MB while the weights are still streamed once per 512 tokens.
const amxChunk = 512

// matMulTBF16ManyAMX packs x once per chunk of tokens, runs whole 32-row blocks of every product on
// the workers (block b of the concatenated rows), then the rows past each product's last whole block
// on the SIMD kernels.
func matMulTBF16ManyAMX(ps []BF16Product, cols int, x []float32, n int) {
	if n > amxChunk {
		sub := make([]BF16Product, len(ps))
		for t0 := 0; t0 < n; t0 += amxChunk {
			c := min(amxChunk, n-t0)
			for i, q := range ps {
				sub[i] = BF16Product{Dst: q.Dst[t0*q.Rows : (t0+c)*q.Rows], W: q.W, Rows: q.Rows}
			}
			matMulTBF16ManyAMX(sub, cols, x[t0*cols:(t0+c)*cols], c)
		}
		return
	}
	p := panelPool.Get().(*amx.Panel)
	p.Pack(x, n, cols)
	starts := make([]int, len(ps)+1) // first block of each product in the concatenation
	for i, q := range ps {
		starts[i+1] = starts[i] + q.Rows/32
	}
	blocks := starts[len(ps)]
	run := func(lo, hi int) { // blocks [lo, hi) of the concatenation
		for i, q := range ps {
			a, b := max(lo, starts[i]), min(hi, starts[i+1])
			if a < b {
				p.MulBF16(q.Dst, q.W, q.Rows, (a-starts[i])*32, (b-starts[i])*32)
			}
		}
	}
	if blocks >= 2 && blocks*32*cols*n >= minParallelMACs {
		Parallel(blocks, run)
	} else {
		run(0, blocks)
	}
	for _, q := range ps {
		if r32 := q.Rows / 32 * 32; r32 < q.Rows {
			active.matMulTRange(q.Dst, nil, q.W, q.Rows, cols, x, n, r32, q.Rows)
		}
	}
	panelPool.Put(p)
}

func init() { amx.Parallel = Parallel }
