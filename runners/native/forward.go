package native

import (
	"fmt"
	"math"
	"runtime"
	"sort"
	"sync"

	"github.com/qbench/qbench/kernels"
)

// KVCache holds one sequence's keys and values for every layer.
type KVCache struct {
	K, V [][]float32 // per layer: (Len, kvHeads·hd) row-major
	Len  int
}

// NewCache returns an empty cache for m.
func (m *Model) NewCache() *KVCache {
	return &KVCache{K: make([][]float32, m.Cfg.Layers), V: make([][]float32, m.Cfg.Layers)}
}

// Truncate drops positions ≥ n (for reusing a shared prefix).
func (c *KVCache) Truncate(n int) {
	if n < c.Len {
		c.Len = n
	}
}

// Row is one token of a batch: the token id, its position, and the index
// of the sequence (cache) it belongs to.
type Row struct {
	Token, Pos, Seq int
}

// scratch buffers for one Forward call.
type scratch struct {
	x, h, q, k, v, att, o, g, u []float32
}

// Forward runs a batch of rows through the model. Rows of one sequence
// must carry consecutive positions that continue (or rewind) its cache:
// the first row of a sequence may have a position ≤ caches[seq].Len, which
// drops the cache past it. want lists the row indices whose logits are
// returned, as (len(want), vocab) row-major.
func (m *Model) Forward(rows []Row, caches []*KVCache, want []int) ([]float32, error) {
	c := m.Cfg
	R := len(rows)
	if R == 0 {
		return nil, nil
	}
	H := c.Hidden
	// Validate positions and size the caches.
	first := map[int]int{}
	last := map[int]int{}
	for i, r := range rows {
		if r.Token < 0 || r.Token >= c.Vocab {
			return nil, fmt.Errorf("token id %d out of range [0, %d)", r.Token, c.Vocab)
		}
		if r.Seq < 0 || r.Seq >= len(caches) || caches[r.Seq] == nil {
			return nil, fmt.Errorf("row %d: no cache for sequence %d", i, r.Seq)
		}
		if p, ok := last[r.Seq]; ok {
			if r.Pos != p+1 {
				return nil, fmt.Errorf("row %d: sequence %d positions must be consecutive (%d after %d)", i, r.Seq, r.Pos, p)
			}
		} else {
			first[r.Seq] = r.Pos
			if r.Pos > caches[r.Seq].Len {
				return nil, fmt.Errorf("row %d: position %d leaves a gap after the cache's %d tokens", i, r.Pos, caches[r.Seq].Len)
			}
		}
		last[r.Seq] = r.Pos
	}
	if err := m.prepareCaches(first, last, caches); err != nil {
		return nil, err
	}
	s := m.newScratch(R)
	for i, r := range rows {
		copy(s.x[i*H:(i+1)*H], m.Embed[r.Token*H:(r.Token+1)*H])
	}
	for li := range m.Layers {
		m.layer(li, s, rows, caches, nil)
	}
	eps := float32(c.RMSEps)
	if len(want) == 0 {
		return nil, nil
	}
	hs := make([]float32, len(want)*H)
	for j, i := range want {
		if i < 0 || i >= R {
			return nil, fmt.Errorf("want row %d out of range [0, %d)", i, R)
		}
		rmsNormRows(hs[j*H:(j+1)*H], s.x[i*H:(i+1)*H], m.Norm, 1, H, eps)
	}
	logits := make([]float32, len(want)*c.Vocab)
	m.LMHead.MatMulT(logits, hs, len(want))
	return logits, nil
}

// growTo returns buf with length n, keeping its first keep elements.
func growTo(buf []float32, n, keep int) []float32 {
	if cap(buf) >= n {
		return buf[:n]
	}
	nb := make([]float32, n, max(n, 2*cap(buf)))
	copy(nb, buf[:keep])
	return nb
}

// rmsNormRows: dst[r] = x[r] / sqrt(mean(x[r]²) + eps) ⊙ w (kernels.RMSNorm:
// the mean accumulated in float64).
// rmsNormRows normalizes each of rows rows of n, split over the worker pool in prefill.
func rmsNormRows(dst, x, w []float32, rows, n int, eps float32) {
	parallelFor(rows, 16, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			kernels.RMSNorm(dst[r*n:(r+1)*n], x[r*n:(r+1)*n], w, eps)
		}
	})
}

func addBias(x, b []float32, rows int) {
	n := len(b)
	for r := 0; r < rows; r++ {
		xr := x[r*n : (r+1)*n]
		for i := range xr {
			xr[i] += b[i]
		}
	}
}

// addInPlace is x += y, split over the worker pool in chunks of 16Ki elements (prefill).
func addInPlace(x, y []float32) {
	const chunk = 1 << 14
	y = y[:len(x)]
	parallelFor((len(x)+chunk-1)/chunk, 1, func(lo, hi int) {
		a, b := lo*chunk, min(hi*chunk, len(x))
		kernels.Add(x[a:b], y[a:b])
	})
}

// siluMul: g = silu(g) ⊙ u, silu(z) = z / (1 + e^(−z)), split over the
// worker pool in chunks of 16Ki elements (prefill: rows × intermediate).
func siluMul(g, u []float32) {
	const chunk = 1 << 14
	parallelFor((len(g)+chunk-1)/chunk, 1, func(lo, hi int) {
		a, b := lo*chunk, min(hi*chunk, len(g))
		kernels.SiLUMul(g[a:b], g[a:b], u[a:b])
	})
}

// applyRope rotates each head of x (heads·hd) for position pos. Hugging Face
// models rotate halves (x_i with x_{i+hd/2}); llama2.c rotates adjacent
// pairs (x_{2i} with x_{2i+1}).
func (m *Model) applyRope(x []float32, heads, pos int) {
	hd := m.Cfg.HeadDim
	half := hd / 2
	t := m.rope.Load()
	cos := t.cos[pos*half : (pos+1)*half]
	sin := t.sin[pos*half : (pos+1)*half]
	if !m.Cfg.RopeInterleaved {
		kernels.RopeHalf(x, heads, hd, cos, sin)
		return
	}
	for h := 0; h < heads; h++ {
		v := x[h*hd : (h+1)*hd]
		for i := 0; i < half; i++ {
			a, b := v[2*i], v[2*i+1]
			v[2*i] = a*cos[i] - b*sin[i]
			v[2*i+1] = a*sin[i] + b*cos[i]
		}
	}
}

// attention computes softmax(q·Kᵀ/√hd)·V per row and head over the row's
// sequence up to its position (causal; Mistral's sliding window when set).
// out: (R, heads·hd). Runs of at least blockRows rows of one sequence
// (prefill) go to attendBlock in row chunks; other rows (decode) attend
// one by one.
func (m *Model) attention(out, q []float32, rows []Row, caches []*KVCache, layer int) {
	const blockRows = 8
	c := m.Cfg
	type span struct{ lo, hi int }
	var blocks []span
	var single []int
	for lo := 0; lo < len(rows); {
		hi := lo + 1
		for hi < len(rows) && rows[hi].Seq == rows[lo].Seq {
			hi++
		}
		nk := rows[hi-1].Pos + 1
		if hi-lo >= blockRows && (c.SlidingWindow == 0 || nk <= c.SlidingWindow) {
			blocks = append(blocks, span{lo, hi})
		} else {
			for i := lo; i < hi; i++ {
				single = append(single, i)
			}
		}
		lo = hi
	}
	if len(blocks) > 0 {
		// Tasks are (row chunk, KV head). A long sequence is cut into chunks of at most
		// attnChunkRows rows, and into more when there are too few tasks to keep every thread busy
		// (one SmolLM2 prompt has 3 KV heads for 2 threads). A chunk attends to the keys up to its
		// last row only, so cutting also skips most of the causal mask's upper triangle. The tasks
		// run longest first, each claimed by the next free thread.
		type task struct{ lo, hi, kvh, cost int }
		var tasks []task
		want := (4*runtime.GOMAXPROCS(0) + len(blocks)*c.KVHeads - 1) / (len(blocks) * c.KVHeads)
		for _, sp := range blocks {
			nq := sp.hi - sp.lo
			chunks := max(min(want, nq/(2*blockRows)), (nq+attnChunkRows-1)/attnChunkRows, 1)
			b := causalChunks(rows[sp.lo].Pos, nq, chunks)
			for i := 1; i < len(b); i++ {
				lo, hi := sp.lo+b[i-1], sp.lo+b[i]
				for kvh := 0; kvh < c.KVHeads; kvh++ {
					tasks = append(tasks, task{lo, hi, kvh, (hi - lo) * (rows[hi-1].Pos + 1)})
				}
			}
		}
		sort.SliceStable(tasks, func(i, j int) bool { return tasks[i].cost > tasks[j].cost })
		kernels.ParallelEach(len(tasks), func(i int) {
			t := tasks[i]
			m.attendBlock(out, q, rows[t.lo:t.hi], t.lo, caches, layer, t.kvh)
		})
	}
	if len(single) > 0 {
		maxLen := 0
		for _, i := range single {
			maxLen = max(maxLen, rows[i].Pos+1)
		}
		// Row-heads over the workers once they hold about 64K multiply-adds (rows × heads × keys ×
		// hd ≥ 1024·64: SmolLM2's 9 heads of 64 from 114 keys). BenchmarkAttention, one decode row
		// at 129 keys: 6.4 µs alone, 4.7 split; at 513: 24 and 15.
		work := len(single) * c.Heads
		parallelFor(work, max(1, 512/max(maxLen*c.HeadDim/64, 1)), func(lo, hi int) {
			scores := make([]float32, maxLen)
			for w := lo; w < hi; w++ {
				m.attendRow(out, q, rows, single[w/c.Heads], w%c.Heads, caches, layer, scores)
			}
		})
	}
}

// attnChunkRows bounds the query rows of one attendBlock call.
const attnChunkRows = 64

// causalChunks cuts nq query rows at positions p0, p0+1, … into at most k chunks, returned as
// boundaries 0 = b[0] < b[1] < … < b[len-1] = nq, so that the largest chunk cost (its rows × the
// keys up to its last row, what attendBlock computes) is as small as a greedy cut can make it.
// Inner cuts fall where the key count is a multiple of 16, so that the scores GEMM (8 keys per
// block) has leftover keys in the last chunk at most.
func causalChunks(p0, nq, k int) []int {
	const align = 16
	cost := func(lo, hi int) int { return (hi - lo) * (p0 + hi) }
	next := func(hi int) int { // the next allowed cut after hi
		return min(nq, (p0+hi)/align*align+align-p0)
	}
	cut := func(limit int) []int { // greedy: each chunk as long as it stays within limit
		b := []int{0}
		for lo := 0; lo < nq; {
			hi := next(lo)
			for hi < nq && cost(lo, next(hi)) <= limit {
				hi = next(hi)
			}
			b = append(b, hi)
			lo = hi
		}
		return b
	}
	if k <= 1 || nq <= 1 {
		return []int{0, nq}
	}
	lo, hi := 0, cost(0, nq) // the smallest limit that cuts into at most k chunks
	for lo < hi {
		mid := lo + (hi-lo)/2
		if len(cut(mid))-1 <= k {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return cut(lo)
}

// attendRow is one query row and head attending over its cache.
func (m *Model) attendRow(out, q []float32, rows []Row, i, h int, caches []*KVCache, layer int, scores []float32) {
	c := m.Cfg
	hd := c.HeadDim
	qd, kvd := c.Heads*hd, c.KVHeads*hd
	r := rows[i]
	kv := caches[r.Seq]
	K, V := kv.K[layer], kv.V[layer]
	kvh := h / (c.Heads / c.KVHeads)
	qv := q[i*qd+h*hd : i*qd+(h+1)*hd]
	start := 0
	if c.SlidingWindow > 0 && r.Pos-c.SlidingWindow+1 > 0 {
		start = r.Pos - c.SlidingWindow + 1
	}
	n := r.Pos + 1 - start
	sc := scores[:n]
	kernels.DotRows(sc, K[start*kvd+kvh*hd:], kvd, n, hd, qv)
	kernels.SoftmaxPrefix(sc, n, float32(1/math.Sqrt(float64(hd))))
	kernels.AxpyRows(out[i*qd+h*hd:i*qd+(h+1)*hd], sc, V[start*kvd+kvh*hd:], kvd, n, hd)
}

// attnPool holds attendBlock's scores, reused across calls instead of allocated per head group.
var attnPool = sync.Pool{New: func() any { return new([]float32) }}

// attendBlock handles the rows of one sequence (consecutive positions p0…p1) for every query head
// of KV head kvh, reading q, the cache and out in place (strided, no gathered copies): S = Q_h·K_hᵀ
// (nq, nk) by the register-blocked GEMM, causal softmax per row, then each row's output from the
// values up to its own position only (attendRow's kernel, so the masked upper triangle costs
// nothing in S·V).
func (m *Model) attendBlock(out, q []float32, rows []Row, first int, caches []*KVCache, layer, kvh int) {
	c := m.Cfg
	hd := c.HeadDim
	qd, kvd := c.Heads*hd, c.KVHeads*hd
	nq := len(rows)
	p0 := rows[0].Pos
	nk := rows[nq-1].Pos + 1
	kv := caches[rows[0].Seq]
	K, V := kv.K[layer][kvh*hd:], kv.V[layer][kvh*hd:]
	bp := attnPool.Get().(*[]float32)
	defer attnPool.Put(bp)
	if cap(*bp) < nq*nk {
		*bp = make([]float32, nq*nk)
	}
	s := (*bp)[:nq*nk] // (nq, nk); GemmStrided writes every element
	scale := float32(1 / math.Sqrt(float64(hd)))
	group := c.Heads / c.KVHeads
	for h := kvh * group; h < (kvh+1)*group; h++ {
		kernels.GemmStrided(s, nk, K, kvd, nk, q[first*qd+h*hd:], qd, nq, hd, false)
		for i := 0; i < nq; i++ {
			kernels.SoftmaxPrefix(s[i*nk:(i+1)*nk], p0+i+1, scale)
			kernels.AxpyRows(out[(first+i)*qd+h*hd:(first+i)*qd+(h+1)*hd], s[i*nk:], V, kvd, p0+i+1, hd)
		}
	}
}

// Tap observes the input of a group of linear layers during a forward pass:
// point is "attn" (input of q/k/v), "o" (input of o_proj), "mlp" (input of
// gate/up) or "down" (input of down_proj); x is (rows, dim) row-major. The
// quantizers use it to collect calibration statistics.
type Tap func(layer int, point string, x []float32, rows int)

// prepareCaches sizes each sequence's cache for the positions it receives.
func (m *Model) prepareCaches(first, last map[int]int, caches []*KVCache) error {
	c := m.Cfg
	kvd := c.KVHeads * c.HeadDim
	maxPos := 0
	for s, p := range last {
		kv := caches[s]
		kv.Len = first[s]
		n := p + 1
		for l := 0; l < c.Layers; l++ {
			kv.K[l] = growTo(kv.K[l], n*kvd, kv.Len*kvd)
			kv.V[l] = growTo(kv.V[l], n*kvd, kv.Len*kvd)
		}
		kv.Len = n
		maxPos = max(maxPos, n)
	}
	m.ensureRope(maxPos)
	return nil
}

func (m *Model) newScratch(R int) *scratch {
	c := m.Cfg
	H, hd := c.Hidden, c.HeadDim
	qd, kvd := c.Heads*hd, c.KVHeads*hd
	return &scratch{
		x: make([]float32, R*H), h: make([]float32, R*H),
		q: make([]float32, R*qd), k: make([]float32, R*kvd), v: make([]float32, R*kvd),
		att: make([]float32, R*qd), o: make([]float32, R*H),
		g: make([]float32, R*c.Intermediate), u: make([]float32, R*c.Intermediate),
	}
}

// layer runs decoder block li on s.x in place.
func (m *Model) layer(li int, s *scratch, rows []Row, caches []*KVCache, tap Tap) {
	c := m.Cfg
	R := len(rows)
	H, hd := c.Hidden, c.HeadDim
	qd, kvd := c.Heads*hd, c.KVHeads*hd
	eps := float32(c.RMSEps)
	L := &m.Layers[li]
	rmsNormRows(s.h, s.x, L.AttnNorm, R, H, eps)
	if tap != nil {
		tap(li, "attn", s.h, R)
	}
	matMulShared(s.h, R, []Linear{L.Q, L.K, L.V}, [][]float32{s.q, s.k, s.v})
	if L.QB != nil {
		addBias(s.q, L.QB, R)
		addBias(s.k, L.KB, R)
		addBias(s.v, L.VB, R)
	}
	parallelFor(R, 16, func(lo, hi int) { // rows write disjoint cache positions
		for i := lo; i < hi; i++ {
			r := rows[i]
			m.applyRope(s.q[i*qd:(i+1)*qd], c.Heads, r.Pos)
			m.applyRope(s.k[i*kvd:(i+1)*kvd], c.KVHeads, r.Pos)
			kv := caches[r.Seq]
			copy(kv.K[li][r.Pos*kvd:(r.Pos+1)*kvd], s.k[i*kvd:(i+1)*kvd])
			copy(kv.V[li][r.Pos*kvd:(r.Pos+1)*kvd], s.v[i*kvd:(i+1)*kvd])
		}
	})
	m.attention(s.att, s.q, rows, caches, li)
	if tap != nil {
		tap(li, "o", s.att, R)
	}
	L.O.MatMulT(s.o, s.att, R)
	addInPlace(s.x, s.o)
	rmsNormRows(s.h, s.x, L.MLPNorm, R, H, eps)
	if tap != nil {
		tap(li, "mlp", s.h, R)
	}
	matMulShared(s.h, R, []Linear{L.Gate, L.Up}, [][]float32{s.g, s.u})
	siluMul(s.g, s.u)
	if tap != nil {
		tap(li, "down", s.g, R)
	}
	L.Down.MatMulT(s.o, s.g, R)
	addInPlace(s.x, s.o)
}

// Hidden is a batch's hidden state between decoder blocks: the quantizers
// step a calibration batch through the model one block at a time.
type Hidden struct {
	s      *scratch
	rows   []Row
	caches []*KVCache
}

// X returns the hidden states, (rows, hidden) row-major.
func (h *Hidden) X() []float32 { return h.s.x }

// StartLayers embeds rows and starts a layer-by-layer pass over rows (one fresh cache per
// sequence).
func (m *Model) StartLayers(rows []Row, nSeq int) (*Hidden, error) {
	caches := make([]*KVCache, nSeq)
	for i := range caches {
		caches[i] = m.NewCache()
	}
	first, last := map[int]int{}, map[int]int{}
	for _, r := range rows {
		if r.Seq < 0 || r.Seq >= nSeq {
			return nil, fmt.Errorf("row sequence %d out of range [0, %d)", r.Seq, nSeq)
		}
		if _, ok := first[r.Seq]; !ok {
			first[r.Seq] = 0
		}
		last[r.Seq] = max(last[r.Seq], r.Pos)
	}
	if err := m.prepareCaches(first, last, caches); err != nil {
		return nil, err
	}
	H := m.Cfg.Hidden
	s := m.newScratch(len(rows))
	for i, r := range rows {
		copy(s.x[i*H:(i+1)*H], m.Embed[r.Token*H:(r.Token+1)*H])
	}
	return &Hidden{s: s, rows: rows, caches: caches}, nil
}

// RunLayer applies decoder block li to h in place, calling tap (if not nil)
// with the input of each group of linear layers.
func (m *Model) RunLayer(h *Hidden, li int, tap Tap) {
	m.layer(li, h.s, h.rows, h.caches, tap)
}

// Snapshot copies the hidden state so a block can be re-run from it.
func (h *Hidden) Snapshot() []float32 { return append([]float32(nil), h.s.x...) }

// Restore sets the hidden state from a snapshot.
func (h *Hidden) Restore(x []float32) { copy(h.s.x, x) }
