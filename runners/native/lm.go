package native

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"

	"github.com/qbench/qbench/runners"
)

// Tokenizer is what the engine needs of a tokenizer.
type Tokenizer interface {
	Encode(text string, addSpecial bool) []int
	Decode(ids []int, skipSpecial bool) string
}

// Engine runs the LM contract on a Model.
//
// Protocol (recorded with every run through Identity and Protocol):
//   - Loglikelihood follows lm-evaluation-harness's HF backend: trailing
//     whitespace of the context moves to the continuation; context+continuation
//     is encoded as one string with the tokenizer's own special tokens (BOS
//     only where the tokenizer adds one) and split at the context's token
//     count; an empty context becomes the prefix token (BOS, else EOS). Inputs
//     longer than MaxLength+1 tokens are cut from the left.
//   - LoglikelihoodRolling encodes the text without special tokens and scores
//     every token in disjoint windows of MaxLength tokens: the first window is
//     conditioned on the prefix token, each later one on the MaxLength tokens
//     before it (lm-eval's get_rolling_token_windows with context_len 1).
//   - GenerateUntil encodes the context with special tokens, keeps its last
//     MaxLength-MaxTokens tokens, and decodes greedily (temperature 0) or by
//     temperature / top-p sampling from a PCG stream seeded per request; the
//     text stops before the first stop string, at an EOS token or at MaxTokens.
type Engine struct {
	Model       *Model
	Tok         Tokenizer
	MaxLength   int    // context window for truncation
	BatchTokens int    // rows per forward pass (prefill batching)
	GenBatch    int    // sequences decoded together
	PrefixReuse bool   // share KV caches between loglikelihood requests with common prefixes
	CacheBytes  int64  // KV cache memory prefix reuse may hold for requests in flight (0: 1 GiB)
	ID          string // identity for cache keys (weights hash, recipe, engine version)
	PrefixToken int    // BOS, else EOS: the context of an empty-context request
	Progress    func(done, total int)
}

var _ runners.LM = (*Engine)(nil)

// EngineVersion changes whenever numerics of the engine change.
const EngineVersion = "native-1"

// NewEngine wraps a model and tokenizer with defaults.
func NewEngine(m *Model, tok Tokenizer, id string) *Engine {
	e := &Engine{Model: m, Tok: tok, MaxLength: m.Cfg.MaxPositions, BatchTokens: 2048, GenBatch: 8, PrefixReuse: true, ID: id, PrefixToken: m.Cfg.BOS}
	if e.MaxLength <= 0 {
		e.MaxLength = 2048
	}
	if e.PrefixToken < 0 && len(m.Cfg.EOS) > 0 {
		e.PrefixToken = m.Cfg.EOS[0]
	}
	if e.PrefixToken < 0 {
		e.PrefixToken = 0
	}
	return e
}

// Identity implements runners.Identified.
func (e *Engine) Identity() string { return e.ID + "|" + EngineVersion }

func (e *Engine) needTok() error {
	if e.Tok == nil {
		return fmt.Errorf("this model has no tokenizer (llama2.c checkpoints are driven by token ids): pass --ids, or put a tokenizer.json beside the model")
	}
	return nil
}

// scoreJob is one token sequence whose positions [From, len(IDs)-1) predict
// the next token.
type scoreJob struct {
	IDs  []int
	From int // first position whose next-token log-prob is scored
}

// scoreResult holds, for each scored target token, its log-prob and
// whether it was the argmax.
type scoreResult struct {
	LogProbs []float64
	Greedy   []bool
}

// scoreBatch runs jobs, packing several sequences into each forward pass
// (longest first), and returns results in input order.
func (e *Engine) scoreBatch(ctx context.Context, jobs []scoreJob) ([]scoreResult, error) {
	order := make([]int, len(jobs))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return len(jobs[order[a]].IDs) > len(jobs[order[b]].IDs) })
	out := make([]scoreResult, len(jobs))
	V := e.Model.Cfg.Vocab
	done := 0
	for start := 0; start < len(order); {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		var rows []Row
		var want []int
		var caches []*KVCache
		end := start
		for end < len(order) {
			j := jobs[order[end]]
			if len(rows) > 0 && len(rows)+len(j.IDs)-1 > e.BatchTokens {
				break
			}
			seq := len(caches)
			caches = append(caches, e.Model.NewCache())
			for p, id := range j.IDs[:len(j.IDs)-1] {
				if p >= j.From {
					want = append(want, len(rows))
				}
				rows = append(rows, Row{Token: id, Pos: p, Seq: seq})
			}
			end++
		}
		logits, err := e.Model.Forward(rows, caches, want)
		if err != nil {
			return nil, err
		}
		stats := statRows(logits, len(want), V)
		w := 0
		for k := start; k < end; k++ {
			j := jobs[order[k]]
			n := len(j.IDs) - 1 - j.From
			r := scoreResult{LogProbs: make([]float64, n), Greedy: make([]bool, n)}
			for t := 0; t < n; t++ {
				target := j.IDs[j.From+t+1]
				r.LogProbs[t] = stats[w].logProb(logits[w*V:(w+1)*V], target)
				r.Greedy[t] = stats[w].arg == target
				w++
			}
			out[order[k]] = r
		}
		done += end - start
		if e.Progress != nil {
			e.Progress(done, len(jobs))
		}
		start = end
	}
	return out, nil
}

// EncodePair splits a loglikelihood request into context and continuation
// tokens as lm-evaluation-harness does.
func (e *Engine) EncodePair(context, continuation string) (ctxIDs, contIDs []int) {
	if context == "" {
		return []int{e.PrefixToken}, e.Tok.Encode(continuation, false)
	}
	trimmed := strings.TrimRight(context, " \t\n\r\v\f")
	if n := len(context) - len(trimmed); n > 0 {
		continuation = context[len(trimmed):] + continuation
		context = trimmed
	}
	whole := e.Tok.Encode(context+continuation, true)
	ctxIDs = e.Tok.Encode(context, true)
	if len(ctxIDs) > len(whole) {
		ctxIDs = whole
	}
	return whole[:len(ctxIDs)], whole[len(ctxIDs):]
}

// Loglikelihood implements runners.LM.
func (e *Engine) Loglikelihood(ctx context.Context, reqs []runners.LoglikelihoodRequest) ([]runners.LoglikelihoodResult, error) {
	if err := e.needTok(); err != nil {
		return nil, err
	}
	jobs := make([]scoreJob, len(reqs))
	for i, r := range reqs {
		c, k := e.EncodePair(r.Context, r.Continuation)
		if len(k) == 0 {
			return nil, fmt.Errorf("request %d: the continuation %q encodes to no tokens", i, r.Continuation)
		}
		ids := append(append([]int{}, c...), k...)
		if len(ids) > e.MaxLength+1 {
			ids = ids[len(ids)-(e.MaxLength+1):]
		}
		jobs[i] = scoreJob{IDs: ids, From: len(ids) - 1 - len(k)}
	}
	score := e.scoreBatch
	if e.PrefixReuse {
		score = e.scoreShared
	}
	res, err := score(ctx, jobs)
	if err != nil {
		return nil, err
	}
	out := make([]runners.LoglikelihoodResult, len(reqs))
	for i, r := range res {
		o := runners.LoglikelihoodResult{IsGreedy: true, NumTokens: len(r.LogProbs)}
		for t, lp := range r.LogProbs {
			o.LogProb += lp
			o.IsGreedy = o.IsGreedy && r.Greedy[t]
		}
		out[i] = o
	}
	return out, nil
}

// RollingWindows splits tokens into (input, first scored position) windows:
// the protocol of LoglikelihoodRolling.
func RollingWindows(tokens []int, prefix, maxLen int) []scoreJob {
	var jobs []scoreJob
	if len(tokens) == 0 {
		return nil
	}
	first := min(maxLen, len(tokens))
	jobs = append(jobs, scoreJob{IDs: append([]int{prefix}, tokens[:first]...), From: 0})
	for pred := first; pred < len(tokens); {
		n := min(len(tokens)-pred, maxLen)
		end := pred + n
		// Input: the maxLen tokens before end, then score the last n targets.
		lo := max(0, end-maxLen-1)
		ids := tokens[lo:end]
		jobs = append(jobs, scoreJob{IDs: ids, From: len(ids) - 1 - n})
		pred = end
	}
	return jobs
}

// LoglikelihoodRolling implements runners.LM.
func (e *Engine) LoglikelihoodRolling(ctx context.Context, reqs []runners.RollingRequest) ([]runners.RollingResult, error) {
	if err := e.needTok(); err != nil {
		return nil, err
	}
	out := make([]runners.RollingResult, len(reqs))
	var jobs []scoreJob
	var owner []int
	for i, r := range reqs {
		for _, j := range RollingWindows(e.Tok.Encode(r.Text, false), e.PrefixToken, e.MaxLength) {
			jobs = append(jobs, j)
			owner = append(owner, i)
		}
	}
	res, err := e.scoreBatch(ctx, jobs)
	if err != nil {
		return nil, err
	}
	for k, r := range res {
		for _, lp := range r.LogProbs {
			out[owner[k]].LogProb += lp
		}
		out[owner[k]].NumTokens += len(r.LogProbs)
	}
	return out, nil
}

// ScoreIDs returns the log-prob of each token given all before it (the
// first has none).
func (e *Engine) ScoreIDs(ctx context.Context, ids []int) ([]float64, error) {
	if len(ids) < 2 {
		return nil, nil
	}
	var all []float64
	for start := 0; start < len(ids)-1; {
		// Windows of MaxLength with full context where possible.
		end := min(len(ids), start+e.MaxLength)
		lo := max(0, end-e.MaxLength)
		res, err := e.scoreBatch(ctx, []scoreJob{{IDs: ids[lo:end], From: start - lo}})
		if err != nil {
			return nil, err
		}
		all = append(all, res[0].LogProbs...)
		start = end - 1
	}
	return all, nil
}

// Logits returns the logits of every position of ids: (len(ids), vocab).
func (e *Engine) Logits(ids []int) ([]float32, error) {
	rows := make([]Row, len(ids))
	want := make([]int, len(ids))
	for i, id := range ids {
		rows[i] = Row{Token: id, Pos: i}
		want[i] = i
	}
	return e.Model.Forward(rows, []*KVCache{e.Model.NewCache()}, want)
}

// Sampling holds the decoding parameters of one sequence.
type Sampling struct {
	Temperature float64 // 0: greedy
	TopP        float64 // 0 or ≥1: no nucleus truncation
	Seed        int64
}

// genSeq is one sequence being generated.
type genSeq struct {
	ids     []int // prompt + generated
	gen     []int
	max     int
	until   []string
	rng     *rand.Rand
	samp    Sampling
	done    bool
	finish  string
	text    string
	promptN int
	det     detokenizer
}

// detokenizer turns the generated ids into text incrementally, as
// vLLM's detokenize_incrementally does: the text of gen[:read] is held in
// text, and each step decodes only the window gen[prefix:] against
// gen[prefix:read] (a few tokens), so the cost per step does not grow with
// the length of the generation. The window's new text is committed once it
// does not end in U+FFFD (an incomplete UTF-8 character).
type detokenizer struct {
	prefix, read int
	text         string
}

// update returns the text of gen (as Decode(gen) gives it for tokenizers
// whose decoding of a suffix window extends the decoding before it; where
// it does not, it decodes everything) and the length of text that was
// committed before this step, which later steps never change.
func (d *detokenizer) update(tok Tokenizer, gen []int) (string, int) {
	stable := len(d.text)
	before := tok.Decode(gen[d.prefix:d.read], true)
	window := tok.Decode(gen[d.prefix:], true)
	if !strings.HasPrefix(window, before) {
		// Not prefix-stable here: fall back to a full decode.
		full := tok.Decode(gen, true)
		d.text, d.prefix, d.read = full, len(gen), len(gen)
		return full, 0
	}
	pending := window[len(before):]
	if pending != "" && !strings.HasSuffix(pending, "\uFFFD") {
		d.text += pending
		d.prefix, d.read = d.read, len(gen)
		return d.text, stable
	}
	return d.text + pending, stable
}

// GenerateIDs decodes from prompt ids: the ids generated (all of them,
// including any that complete a stop string), the text (cut before the
// first stop string; empty without a tokenizer) and why it stopped.
func (e *Engine) GenerateIDs(ctx context.Context, prompt []int, maxTokens int, s Sampling, until []string) ([]int, string, string, error) {
	seq := &genSeq{ids: append([]int{}, prompt...), max: maxTokens, samp: s, until: until, promptN: len(prompt),
		rng: rand.New(rand.NewPCG(uint64(s.Seed), 0x9e3779b97f4a7c15))}
	if err := e.decode(ctx, []*genSeq{seq}, e.Tok != nil, 1, nil); err != nil {
		return nil, "", "", err
	}
	return seq.gen, seq.text, seq.finish, nil
}

// GenerateUntil implements runners.LM. Requests run longest prompt first,
// up to GenBatch sequences decoding together; a finished sequence's slot
// goes to the next request at once (its prompt is prefilled in the same
// forward pass as the others' next tokens). Each request has its own
// sampling stream, so results do not depend on the batching.
func (e *Engine) GenerateUntil(ctx context.Context, reqs []runners.GenerateRequest) ([]runners.GenerateResult, error) {
	if err := e.needTok(); err != nil {
		return nil, err
	}
	seqs := make([]*genSeq, len(reqs))
	for i, r := range reqs {
		maxT := r.MaxTokens
		if maxT <= 0 {
			maxT = 256
		}
		ids := e.Tok.Encode(r.Context, true)
		if keep := e.MaxLength - maxT; keep > 0 && len(ids) > keep {
			ids = ids[len(ids)-keep:]
		}
		if len(ids) == 0 {
			ids = []int{e.PrefixToken}
		}
		s := Sampling{Temperature: r.Temperature, TopP: r.TopP, Seed: r.Seed}
		seqs[i] = &genSeq{ids: ids, max: maxT, until: r.Until, samp: s, promptN: len(ids),
			rng: rand.New(rand.NewPCG(uint64(r.Seed), 0x9e3779b97f4a7c15))}
	}
	order := make([]int, len(seqs))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return len(seqs[order[a]].ids) > len(seqs[order[b]].ids) })
	sorted := make([]*genSeq, len(seqs))
	for k, i := range order {
		sorted[k] = seqs[i]
	}
	finished := 0
	err := e.decode(ctx, sorted, true, max(e.GenBatch, 1), func() {
		finished++
		if e.Progress != nil {
			e.Progress(finished, len(reqs))
		}
	})
	if err != nil {
		return nil, err
	}
	out := make([]runners.GenerateResult, len(reqs))
	for i, s := range seqs {
		out[i] = runners.GenerateResult{Text: s.text, NumTokens: len(s.gen), FinishReason: s.finish}
	}
	return out, nil
}

// decode runs seqs in order with at most batch of them live: each forward
// pass carries one row per live sequence plus the prompts of sequences
// admitted to free slots (prompts packed up to BatchTokens rows, at least
// one). onDone, if set, is called as each sequence finishes.
func (e *Engine) decode(ctx context.Context, seqs []*genSeq, text bool, batch int, onDone func()) error {
	m := e.Model
	V := m.Cfg.Vocab
	type live struct {
		s     *genSeq
		cache *KVCache
		tok   int // token to feed next (the last sampled)
	}
	var active []live
	next := 0
	for next < len(seqs) || len(active) > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		var rows []Row
		var want []int
		caches := make([]*KVCache, 0, len(active)+1)
		for k, a := range active {
			rows = append(rows, Row{Token: a.tok, Pos: len(a.s.ids) - 1, Seq: k})
			want = append(want, len(rows)-1)
			caches = append(caches, a.cache)
		}
		prefill := 0
		for next < len(seqs) && len(active) < batch {
			s := seqs[next]
			if prefill > 0 && prefill+len(s.ids) > max(e.BatchTokens, 1) {
				break
			}
			c := m.NewCache()
			seq := len(caches)
			caches = append(caches, c)
			for p, id := range s.ids {
				rows = append(rows, Row{Token: id, Pos: p, Seq: seq})
			}
			want = append(want, len(rows)-1)
			prefill += len(s.ids)
			active = append(active, live{s: s, cache: c})
			next++
		}
		logits, err := m.Forward(rows, caches, want)
		if err != nil {
			return err
		}
		kept := active[:0]
		for k, a := range active {
			s := a.s
			tok := SampleToken(logits[k*V:(k+1)*V], s.samp, s.rng)
			e.step(s, tok, text)
			if s.done {
				if onDone != nil {
					onDone()
				}
				continue
			}
			s.ids = append(s.ids, tok)
			a.tok = tok
			kept = append(kept, a)
		}
		clear(active[len(kept):])
		active = kept
	}
	return nil
}

// step records the sampled token tok of s: it ends s at an EOS token, at a
// stop string in its text or at its token limit. The stop check looks only
// at text that may hold a new occurrence (from the last committed length
// minus the longest stop string), and the text reported when s ends is
// runners.CutAtStop of the whole decoded generation, as a full decode at
// every step would give.
func (e *Engine) step(s *genSeq, tok int, text bool) {
	if e.isEOS(tok) {
		s.finish, s.done = "eos", true
	} else {
		s.gen = append(s.gen, tok)
		if text {
			cur, stable := s.det.update(e.Tok, s.gen)
			longest := 0
			for _, u := range s.until {
				longest = max(longest, len(u))
			}
			from := min(len(cur), max(0, stable-longest+1))
			if _, ok := runners.CutAtStop(cur[from:], s.until); ok && longest > 0 {
				s.finish, s.done = "stop", true
			}
		}
		if !s.done && len(s.gen) >= s.max {
			s.finish, s.done = "length", true
		}
	}
	if s.done && text {
		full := e.Tok.Decode(s.gen, true)
		cut, ok := runners.CutAtStop(full, s.until)
		s.text = cut
		if ok {
			s.finish = "stop"
		}
	}
}

func (e *Engine) isEOS(tok int) bool {
	for _, id := range e.Model.Cfg.EOS {
		if tok == id {
			return true
		}
	}
	return false
}

// SampleToken picks the next token: argmax at temperature 0, otherwise a
// draw from softmax(logits/T) restricted to the smallest set of tokens
// whose probability reaches TopP (ties in order of descending probability).
func SampleToken(logits []float32, s Sampling, rng *rand.Rand) int {
	if s.Temperature <= 0 {
		return argmax(logits)
	}
	mx := math.Inf(-1)
	for _, v := range logits {
		mx = math.Max(mx, float64(v))
	}
	p := make([]float64, len(logits))
	var sum float64
	for i, v := range logits {
		p[i] = math.Exp((float64(v) - mx) / s.Temperature)
		sum += p[i]
	}
	idx := make([]int, len(p))
	for i := range idx {
		idx[i] = i
	}
	if s.TopP > 0 && s.TopP < 1 {
		sort.SliceStable(idx, func(a, b int) bool { return p[idx[a]] > p[idx[b]] })
		var cum float64
		cut := len(idx)
		for k, i := range idx {
			cum += p[i] / sum
			if cum >= s.TopP {
				cut = k + 1
				break
			}
		}
		idx = idx[:cut]
		sum = 0
		for _, i := range idx {
			sum += p[i]
		}
	}
	u := rng.Float64() * sum
	for _, i := range idx {
		u -= p[i]
		if u <= 0 {
			return i
		}
	}
	return idx[len(idx)-1]
}
