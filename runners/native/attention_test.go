package native

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
)

// TestCausalChunks: the cuts cover the rows in order, in at most k chunks, inner cuts at key
// counts that are multiples of 16, and the largest chunk no costlier than an even split of the
// causal work would force (every chunk's cost is at least its share of the triangle).
func TestCausalChunks(t *testing.T) {
	for _, tc := range []struct{ p0, nq, k int }{
		{0, 128, 3}, {0, 128, 2}, {0, 512, 8}, {0, 97, 4}, {37, 100, 4}, {0, 20, 4}, {5, 8, 3}, {0, 1, 4}, {0, 300, 1}, {1000, 64, 2},
	} {
		t.Run(fmt.Sprintf("p0=%d nq=%d k=%d", tc.p0, tc.nq, tc.k), func(t *testing.T) {
			b := causalChunks(tc.p0, tc.nq, tc.k)
			if b[0] != 0 || b[len(b)-1] != tc.nq || len(b)-1 > max(tc.k, 1) {
				t.Fatalf("cuts %v: want 0 … %d in at most %d chunks", b, tc.nq, tc.k)
			}
			worst := 0
			for i := 1; i < len(b); i++ {
				if b[i] <= b[i-1] {
					t.Fatalf("cuts %v not increasing", b)
				}
				if i < len(b)-1 && (tc.p0+b[i])%16 != 0 {
					t.Errorf("inner cut %d: key count %d not a multiple of 16", b[i], tc.p0+b[i])
				}
				worst = max(worst, (b[i]-b[i-1])*(tc.p0+b[i]))
			}
			// One chunk costs nq·(p0+nq); k chunks can do no better than the area share, and a
			// greedy aligned cut loses at most a 16-row step per chunk.
			even := tc.nq * (tc.p0 + tc.nq) / max(tc.k, 1)
			if tc.k > 1 && tc.nq >= 64*tc.k && worst > even+16*(tc.p0+tc.nq) {
				t.Errorf("cuts %v: largest chunk cost %d, over the even share %d plus a 16-row step", b, worst, even)
			}
		})
	}
}

// TestBlockAttentionMatchesRows runs a long prompt (cut into row chunks and KV-head tasks) and its
// continuation with a cached prefix in one Forward, two sequences together, and compares every
// logit with the model fed one token at a time (the single-row attention, no chunks), at one and
// two threads. The two paths sum the same products in different orders (GEMM tiles against a dot
// per key), so they agree to float32 rounding: 1e-5 absolute, with logits up to 2.07 here, where
// one float32 ulp is 2.4e-7 (the largest difference seen, at every thread count).
func TestBlockAttentionMatchesRows(t *testing.T) {
	cfg := SmolLM2Shape()
	cfg.Hidden, cfg.Layers, cfg.Heads, cfg.KVHeads, cfg.HeadDim, cfg.Intermediate, cfg.Vocab = 96, 2, 6, 3, 16, 192, 300
	m, err := RandomModel(cfg, FormatF32, 3)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(4, 5))
	const n0, n1, tol = 150, 70, 1e-5
	ids := make([]int, n0+n1)
	for i := range ids {
		ids[i] = rng.IntN(cfg.Vocab)
	}
	V := cfg.Vocab
	// Reference: one row per Forward.
	ref := make([]float32, 0, len(ids)*V)
	rc := []*KVCache{m.NewCache()}
	for i, id := range ids {
		l, err := m.Forward([]Row{{Token: id, Pos: i}}, rc, []int{0})
		if err != nil {
			t.Fatal(err)
		}
		ref = append(ref, l...)
	}
	for _, procs := range []int{1, 2, 3} {
		t.Run(fmt.Sprintf("GOMAXPROCS=%d", procs), func(t *testing.T) {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
			// Sequence 0: the whole prompt at once; sequence 1: a prefix, then the rest of it
			// continuing the cache (p0 > 0), in the same Forward as sequence 0's last rows.
			caches := []*KVCache{m.NewCache(), m.NewCache()}
			var rows []Row
			for i := 0; i < n0; i++ {
				rows = append(rows, Row{Token: ids[i], Pos: i, Seq: 1})
			}
			if _, err := m.Forward(rows, caches, nil); err != nil {
				t.Fatal(err)
			}
			rows = rows[:0]
			for i, id := range ids {
				rows = append(rows, Row{Token: id, Pos: i, Seq: 0})
			}
			for i := n0; i < len(ids); i++ {
				rows = append(rows, Row{Token: ids[i], Pos: i, Seq: 1})
			}
			got, err := m.Forward(rows, caches, allRows(len(rows)))
			if err != nil {
				t.Fatal(err)
			}
			worst := 0.0
			for r, row := range rows {
				for j := 0; j < V; j++ {
					d := math.Abs(float64(got[r*V+j] - ref[row.Pos*V+j]))
					worst = math.Max(worst, d)
					if d > tol {
						t.Fatalf("row %d (seq %d pos %d) logit %d: %.6f, one at a time %.6f", r, row.Seq, row.Pos, j, got[r*V+j], ref[row.Pos*V+j])
					}
				}
			}
			scale := 0.0
			for _, v := range ref {
				scale = math.Max(scale, math.Abs(float64(v)))
			}
			t.Logf("largest |Δ logit| %.2e, largest |logit| %.2e", worst, scale)
		})
	}
}

// BenchmarkAttention times the attention of one layer of a SmolLM2-shaped model (9 query heads,
// 3 KV heads of 64): an n-token prompt whose rows all attend causally, as in prefill, or one decode
// row after n−1 cached positions.
func BenchmarkAttention(b *testing.B) {
	cfg := SmolLM2Shape()
	cfg.Layers = 1
	m, err := RandomModel(cfg, FormatF32, 1)
	if err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		n, rows int
	}{{128, 128}, {512, 512}, {33, 1}, {129, 1}, {513, 1}} {
		n := tc.n
		name := fmt.Sprintf("prompt=%d", n)
		if tc.rows == 1 {
			name = fmt.Sprintf("decode/context=%d", n)
		}
		b.Run(name, func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, uint64(n)))
			qd, kvd := cfg.Heads*cfg.HeadDim, cfg.KVHeads*cfg.HeadDim
			q, out := make([]float32, tc.rows*qd), make([]float32, tc.rows*qd)
			for i := range q {
				q[i] = float32(rng.NormFloat64())
			}
			kv := m.NewCache()
			kv.K[0], kv.V[0], kv.Len = make([]float32, n*kvd), make([]float32, n*kvd), n
			for i := range kv.K[0] {
				kv.K[0][i], kv.V[0][i] = float32(rng.NormFloat64()), float32(rng.NormFloat64())
			}
			m.ensureRope(n)
			rows := make([]Row, tc.rows)
			for i := range rows {
				rows[i] = Row{Pos: n - tc.rows + i}
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				m.attention(out, q, rows, []*KVCache{kv}, 0)
			}
			b.ReportMetric(float64(tc.rows*b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
