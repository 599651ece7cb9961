package native

import (
	"context"
	"slices"
)

// Prefix reuse for loglikelihood requests.
//
// Multiple-choice tasks send one request per choice with the same context,
// and few-shot tasks repeat the same examples before every question. The
// shared path computes each distinct context once, computes a prefix that
// many contexts share once, and still packs many sequences into every
// forward pass:
//
//   - Requests are grouped by context (the tokens up to the last context
//     position). Groups are visited in lexicographic order of their token
//     ids, so contexts that share a prefix are neighbours: the order of a
//     depth-first walk of their trie. (lm-evaluation-harness orders by
//     length, longest first, to batch similar lengths; here the trie order
//     is what keeps a shared prefix cached, and batching comes from packing
//     many groups per pass. Results return in input order either way.)
//   - One root KV cache holds a prefix of the contexts being visited. When
//     the next groups share more than the root holds (the few-shot
//     examples, the subject line), the root is extended (or rewound and
//     extended) to their longest common prefix, once, in its own sequence
//     of a forward pass.
//   - A group entering the pass gets a copy of the root's positions it
//     shares (its own cache; memory: one cache per group in flight, capped
//     by Engine.CacheBytes) and computes its remaining context tokens plus
//     the continuation of its first request as one sequence. Every
//     request's first continuation token is scored from the context's last
//     logits. The other multi-token continuations of the group follow, one
//     per later pass, on the same cache rewound to the context's end
//     (Forward drops positions past a sequence's first row), so no copy is
//     made for them.
//   - Each forward pass packs the pending continuation stages of the groups
//     in flight and as many new groups as fit in BatchTokens rows: a
//     continuous batch of sequences at different stages.
//
// Each token's computation is the same as without reuse (same positions,
// same keys and values in its cache), so results agree with the packed
// path (scoreBatch) within the kernels' summation-order tolerance.

// defaultCacheBytes bounds the KV cache memory the reuse path holds for the
// groups in flight when Engine.CacheBytes is 0.
const defaultCacheBytes = 1 << 30

// cloneCache returns a new cache holding the first n positions of c, with
// room for capPos positions before it must grow.
func (m *Model) cloneCache(c *KVCache, n, capPos int) *KVCache {
	kvd := m.Cfg.KVHeads * m.Cfg.HeadDim
	out := m.NewCache()
	out.Len = n
	capPos = max(capPos, n)
	for l := range c.K {
		out.K[l] = append(make([]float32, 0, capPos*kvd), c.K[l][:n*kvd]...)
		out.V[l] = append(make([]float32, 0, capPos*kvd), c.V[l][:n*kvd]...)
	}
	return out
}

// cacheBytesPerPos is the memory of one cached position: K and V, every
// layer, float32.
func (m *Model) cacheBytesPerPos() int64 {
	return int64(m.Cfg.Layers) * 2 * int64(m.Cfg.KVHeads*m.Cfg.HeadDim) * 4
}

func commonPrefix(a, b []int) int {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}

// ctxGroup is the requests sharing one context, and their progress.
type ctxGroup struct {
	ids   []int // context tokens: the job's IDs[:From+1]
	jobs  []int // job indices, longest continuation first
	cache *KVCache
	stage int   // next request of jobs to run; 0: the context itself
	bytes int64 // memory held by cache
}

// contLen is the number of continuation tokens of job ji.
func contLen(jobs []scoreJob, ji int) int { return len(jobs[ji].IDs) - 1 - jobs[ji].From }

// rowUse says which results one wanted logits row feeds: token t of job's
// continuation, or (job < 0) the first token of every request of g.
type rowUse struct {
	g      *ctxGroup
	job, t int
}

// scoreShared answers jobs (From ≥ 0 marks the last context position)
// with prefix reuse. Results come back in input order.
func (e *Engine) scoreShared(ctx context.Context, jobs []scoreJob) ([]scoreResult, error) {
	m := e.Model
	V := m.Cfg.Vocab
	out := make([]scoreResult, len(jobs))
	for i := range jobs {
		n := contLen(jobs, i)
		out[i] = scoreResult{LogProbs: make([]float64, n), Greedy: make([]bool, n)}
	}

	// Group jobs by context; visit groups in trie (lexicographic) order.
	byKey := map[string]*ctxGroup{}
	var groups []*ctxGroup
	for i, j := range jobs {
		c := j.IDs[:j.From+1]
		k := idsKey(c)
		g, ok := byKey[k]
		if !ok {
			g = &ctxGroup{ids: c}
			byKey[k] = g
			groups = append(groups, g)
		}
		g.jobs = append(g.jobs, i)
	}
	slices.SortStableFunc(groups, func(a, b *ctxGroup) int { return slices.Compare(a.ids, b.ids) })
	for _, g := range groups {
		slices.SortStableFunc(g.jobs, func(a, b int) int { return contLen(jobs, b) - contLen(jobs, a) })
	}
	// adj[i]: tokens group i shares with group i−1.
	adj := make([]int, len(groups))
	for i := 1; i < len(groups); i++ {
		adj[i] = commonPrefix(groups[i-1].ids, groups[i].ids)
	}

	budget := e.CacheBytes
	if budget <= 0 {
		budget = defaultCacheBytes
	}
	bpp := m.cacheBytesPerPos()
	batch := max(e.BatchTokens, 1)
	root := m.NewCache()
	var rootIDs []int
	var active []*ctxGroup
	var held int64
	next, done := 0, 0
	for next < len(groups) || len(active) > 0 {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		var rows []Row
		var caches []*KVCache
		var want []int
		var uses []rowUse
		// addSeq appends one sequence: tokens at positions from, from+1, …
		// on cache c; rows at index ≥ wantFrom of the run are wanted.
		addSeq := func(c *KVCache, toks []int, from, wantFrom int, use func(k int) rowUse) {
			seq := len(caches)
			caches = append(caches, c)
			for k, t := range toks {
				if k >= wantFrom {
					want = append(want, len(rows))
					uses = append(uses, use(k-wantFrom))
				}
				rows = append(rows, Row{Token: t, Pos: from + k, Seq: seq})
			}
		}
		// 1. The next continuation of each group in flight, on its cache
		// rewound to the context's end.
		for _, g := range active {
			ji := g.jobs[g.stage]
			j := jobs[ji]
			addSeq(g.cache, j.IDs[j.From+1:len(j.IDs)-1], j.From+1, 0, func(k int) rowUse { return rowUse{g, ji, k + 1} })
		}
		// 2. Extend the root when the next groups share more than it holds.
		extend := 0
		if next < len(groups) {
			extend = rootTarget(groups, adj, next, rootIDs, max(batch/8, 1))
		}
		if extend > 0 {
			ids := groups[next].ids[:extend]
			s := commonPrefix(rootIDs, ids)
			addSeq(root, ids[s:], s, len(ids)-s, nil)
			rootIDs = ids
		} else {
			// 3. Admit new groups while the pass has room.
			for next < len(groups) {
				g := groups[next]
				p := min(commonPrefix(rootIDs, g.ids), len(g.ids)-1)
				j0 := jobs[g.jobs[0]]
				n0 := len(g.ids) - p + contLen(jobs, g.jobs[0]) - 1
				capPos := len(j0.IDs) - 1
				b := int64(capPos) * bpp
				if len(rows) > 0 && (len(rows)+n0 > batch || held+b > budget) {
					break
				}
				if p > 0 {
					g.cache = m.cloneCache(root, p, capPos)
				} else {
					g.cache = m.NewCache()
				}
				g.bytes = b
				held += b
				toks := append(slices.Clone(g.ids[p:]), j0.IDs[j0.From+1:len(j0.IDs)-1]...)
				ji0 := g.jobs[0]
				addSeq(g.cache, toks, p, len(g.ids)-p-1, func(k int) rowUse {
					if k == 0 {
						return rowUse{g, -1, 0}
					}
					return rowUse{g, ji0, k}
				})
				active = append(active, g)
				next++
			}
		}
		logits, err := m.Forward(rows, caches, want)
		if err != nil {
			return nil, err
		}
		stats := statRows(logits, len(want), V)
		for w, u := range uses {
			row, st := logits[w*V:(w+1)*V], stats[w]
			if u.job >= 0 {
				j := jobs[u.job]
				target := j.IDs[j.From+1+u.t]
				out[u.job].LogProbs[u.t] = st.logProb(row, target)
				out[u.job].Greedy[u.t] = st.arg == target
				continue
			}
			for _, ji := range u.g.jobs {
				j := jobs[ji]
				target := j.IDs[j.From+1]
				out[ji].LogProbs[0] = st.logProb(row, target)
				out[ji].Greedy[0] = st.arg == target
			}
		}
		// Advance: the next request with more than one continuation token,
		// or release the group.
		kept := active[:0]
		for _, g := range active {
			g.stage++
			if g.stage < len(g.jobs) && contLen(jobs, g.jobs[g.stage]) > 1 {
				kept = append(kept, g)
				continue
			}
			held -= g.bytes
			g.cache = nil
			done += len(g.jobs)
		}
		clear(active[len(kept):])
		active = kept
		if e.Progress != nil {
			e.Progress(done, len(jobs))
		}
	}
	return out, nil
}

// rootTarget returns the length to which the root cache should be extended
// before admitting groups[next:], or 0 to leave it. Extending to L saves
// (L − covered) rows for each later group that shares L tokens with
// groups[next] (groups are sorted, so that is the minimum of adj over the
// run) at the cost of computing them once; it is done when the best L
// saves at least minSave rows. A context always keeps its last token to
// compute (its logits score the continuation), so L < len(context).
func rootTarget(groups []*ctxGroup, adj []int, next int, rootIDs []int, minSave int) int {
	const maxScan = 256
	g := groups[next]
	covered := commonPrefix(rootIDs, g.ids)
	lcp := len(g.ids) - 1
	best, bestSave := 0, minSave-1
	for j := next + 1; j < len(groups) && j <= next+maxScan; j++ {
		lcp = min(lcp, adj[j], len(groups[j].ids)-1)
		if lcp <= covered {
			break
		}
		if save := (lcp - covered) * (j - next); save > bestSave {
			best, bestSave = lcp, save
		}
	}
	return best
}

func idsKey(ids []int) string {
	b := make([]byte, 0, 4*len(ids))
	for _, v := range ids {
		b = append(b, byte(v), byte(v>>8), byte(v>>16), byte(v>>24))
	}
	return string(b)
}
