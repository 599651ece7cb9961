package native

import (
	"context"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/qbench/qbench/internal/testutil"
	"github.com/qbench/qbench/runners"
	"github.com/qbench/qbench/runners/native/tokenizer"
)

var genPrompts = []string{
	"The capital of France is",
	"Question: What is 2 + 3?\nAnswer:",
	"Once upon a time",
	"def fibonacci(n):",
	"Translate to French: Good morning, my friend.",
	"The quick brown fox",
	"Question: Which animal barks?\nAnswer:",
	"In 1492,",
}

// TestGenerateBatchedMatchesSequential: greedy generation of 8 requests
// batched (continuous batching, GenBatch 3 so slots are refilled
// mid-stream, and GenBatch 8) gives exactly the text of one request at a
// time, and sampled generation keeps its per-request stream.
func TestGenerateBatchedMatchesSequential(t *testing.T) {
	e := trainedEngine(t)
	var reqs []runners.GenerateRequest
	for i, p := range genPrompts {
		r := runners.GenerateRequest{Context: p, MaxTokens: 8 + 3*i, Until: []string{"\n\n"}}
		if i%3 == 2 {
			r.Temperature, r.TopP, r.Seed = 0.8, 0.9, int64(i)
		}
		reqs = append(reqs, r)
	}
	e.GenBatch = 1
	var seq []runners.GenerateResult
	defer func() {
		n := 0
		for _, r := range seq {
			n += r.NumTokens
		}
		if n < 4*len(reqs) {
			t.Errorf("only %d tokens generated for %d requests: too little to compare", n, len(reqs))
		}
	}()
	for _, r := range reqs {
		res, err := e.GenerateUntil(context.Background(), []runners.GenerateRequest{r})
		if err != nil {
			t.Fatal(err)
		}
		seq = append(seq, res[0])
	}
	for _, batch := range []int{3, 8} {
		e.GenBatch = batch
		got, err := e.GenerateUntil(context.Background(), reqs)
		if err != nil {
			t.Fatal(err)
		}
		for i := range seq {
			if !reflect.DeepEqual(seq[i], got[i]) {
				t.Errorf("request %d, GenBatch %d: got %+v, one at a time %+v", i, batch, got[i], seq[i])
			}
		}
	}
}

// TestDetokenizerIncremental: the incremental text equals a full Decode
// after every token, on SmolLM2's byte-level BPE with multi-byte
// characters split across tokens, and on random token ids.
func TestDetokenizerIncremental(t *testing.T) {
	tok, err := tokenizer.LoadDir(testutil.Shared(t, "tokenizers", "smollm2-135m-instruct"))
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	random := make([]int, 300)
	for i := range random {
		random[i] = rng.IntN(tok.VocabSize())
	}
	for _, tc := range []struct {
		name string
		ids  []int
	}{
		{"english", tok.Encode("Hello world, this is a test of incremental decoding.\n\nNew paragraph.", false)},
		{"multi-byte", tok.Encode("naïve café — 東京タワー 🙂🙃 ünïcödé", false)},
		{"random ids", random},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var d detokenizer
			prev := 0
			for n := 1; n <= len(tc.ids); n++ {
				got, stable := d.update(tok, tc.ids[:n])
				want := tok.Decode(tc.ids[:n], true)
				if got != want {
					t.Fatalf("after %d tokens: incremental %q, full decode %q", n, got, want)
				}
				if stable < prev && stable != 0 {
					t.Fatalf("after %d tokens: committed length went back from %d to %d", n, prev, stable)
				}
				prev = stable
			}
		})
	}
}

// BenchmarkGenerate reports greedy decode tokens/s for 8 sequences of 32
// tokens on trained-tiny, decoded together (GenBatch 8) and one at a time.
func BenchmarkGenerate(b *testing.B) {
	dir := testutil.Shared(b, "models", "trained-tiny")
	m, err := LoadDir(dir, LoadOptions{})
	if err != nil {
		b.Fatal(err)
	}
	e := trainedEngineFor(b, m, dir)
	var reqs []runners.GenerateRequest
	for _, p := range genPrompts {
		reqs = append(reqs, runners.GenerateRequest{Context: p, MaxTokens: 32})
	}
	for _, tc := range []struct {
		name  string
		batch int
	}{{"batch=8", 8}, {"batch=1", 1}} {
		b.Run(tc.name, func(b *testing.B) {
			e.GenBatch = tc.batch
			tokens := 0
			for i := 0; i < b.N; i++ {
				res, err := e.GenerateUntil(context.Background(), reqs)
				if err != nil {
					b.Fatal(err)
				}
				for _, r := range res {
					tokens += r.NumTokens
				}
			}
			b.ReportMetric(float64(tokens)/b.Elapsed().Seconds(), "tok/s")
		})
	}
}
