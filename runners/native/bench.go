package native

import (
	"runtime"
	"time"
)

// BenchResult is one engine throughput measurement.
type BenchResult struct {
	PrefillTokens  int
	PrefillTokPerS float64
	DecodeTokens   int     // decode steps
	Batch          int     // sequences decoded together
	DecodeTokPerS  float64 // tokens of all sequences per second
	DecodeBytesTok int64   // bytes read per decode step (weights + every sequence's KV cache)
	DecodeGBPerS   float64 // DecodeBytesTok × steps/s
	WeightBytes    int64
}

// Bench measures prefill of a promptLen-token prompt and decode of steps
// tokens after it, taking the median of reps runs, after one untimed
// warm-up prefill and decode step (as llama-bench warms up): kernels repack
// weights on first use (VNNI panels, regrouped scales), which is not the
// steady state a benchmark run sees. With batch > 1, batch sequences that
// share the prompt (its cache copied) decode in lockstep, one row each per
// Forward and the logits of every row computed, as batched generation runs;
// DecodeTokPerS then counts the tokens of all sequences.
func Bench(m *Model, promptLen, steps, reps, batch int) BenchResult {
	batch = max(batch, 1)
	prompt := make([]Row, promptLen)
	for i := range prompt {
		prompt[i] = Row{Token: (i*7919 + 13) % m.Cfg.Vocab, Pos: i}
	}
	// One cache serves the warm-up and every repeat, rewound to position 0 each time: llama-bench
	// clears its KV cache between repetitions but keeps the memory, so neither side times the
	// first touch of fresh cache pages (about 1.5 ms of a 128-token prefill at the SmolLM2 shape).
	cache := m.NewCache()
	if _, err := m.Forward(prompt, []*KVCache{cache}, []int{promptLen - 1}); err != nil {
		panic(err)
	}
	if _, err := m.Forward([]Row{{Token: 1, Pos: promptLen}}, []*KVCache{cache}, []int{0}); err != nil {
		panic(err)
	}
	rows, want := make([]Row, batch), make([]int, batch)
	for b := range want {
		want[b] = b
	}
	var pre, dec []float64
	for r := 0; r < reps; r++ {
		cache.Truncate(0)
		caches := []*KVCache{cache}
		t0 := time.Now()
		if _, err := m.Forward(prompt, caches, []int{promptLen - 1}); err != nil {
			panic(err)
		}
		pre = append(pre, float64(promptLen)/time.Since(t0).Seconds())
		for len(caches) < batch {
			caches = append(caches, m.cloneCache(caches[0], promptLen, promptLen+steps))
		}
		t0 = time.Now()
		for s := 0; s < steps; s++ {
			for b := range rows {
				rows[b] = Row{Token: (s*31 + b*7) % m.Cfg.Vocab, Pos: promptLen + s, Seq: b}
			}
			if _, err := m.Forward(rows, caches, want); err != nil {
				panic(err)
			}
		}
		dec = append(dec, float64(batch*steps)/time.Since(t0).Seconds())
		caches = nil
		runtime.GC()
	}
	res := BenchResult{PrefillTokens: promptLen, DecodeTokens: steps, Batch: batch, PrefillTokPerS: median(pre), DecodeTokPerS: median(dec)}
	res.WeightBytes = m.DecodeWeightBytes()
	kv := int64(m.Cfg.Layers) * int64(2*m.Cfg.KVHeads*m.Cfg.HeadDim) * 4 * int64(promptLen+steps/2)
	res.DecodeBytesTok = res.WeightBytes + int64(batch)*kv
	res.DecodeGBPerS = float64(res.DecodeBytesTok) * res.DecodeTokPerS / float64(batch) / 1e9
	return res
}

// DecodeWeightBytes is the weight bytes one decode step must read: every
// linear layer, the LM head, the norms and one embedding row.
func (m *Model) DecodeWeightBytes() int64 {
	n := m.WeightBytes() - int64(len(m.Embed))*4 + int64(m.Cfg.Hidden)*4
	if m.Cfg.TieEmbeddings {
		if _, isF32 := m.LMHead.(*F32Linear); isF32 {
			n += int64(len(m.Embed)) * 4 // the head reads the shared embedding
		}
	}
	return n
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}
