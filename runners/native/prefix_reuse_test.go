package native

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/qbench/qbench/runners"
)

// TestStatRowMatchesFloat64 checks the fast log-sum-exp against the
// float64 log-softmax: the bound derived in statRow's comment is 4e-7, so
// 1e-6 leaves room for the float32 logit itself; argmax must agree.
func TestStatRowMatchesFloat64(t *testing.T) {
	const tol = 1e-6
	rng := rand.New(rand.NewPCG(1, 2))
	scratch := make([]float32, 49152)
	for _, tc := range []struct {
		name  string
		n     int
		scale float64
	}{
		{"vocab 49152, logits ~N(0,1)", 49152, 1},
		{"vocab 49152, logits ~N(0,30)", 49152, 30},
		{"vocab 17, logits ~N(0,5)", 17, 5},
		{"one entry", 1, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			row := make([]float32, tc.n)
			for i := range row {
				row[i] = float32(rng.NormFloat64() * tc.scale)
			}
			st := statRow(row, scratch)
			ref := logSoftmax64(row)
			best := 0
			for i := range ref {
				if ref[i] > ref[best] {
					best = i
				}
			}
			if st.arg != best {
				t.Errorf("argmax %d, want %d", st.arg, best)
			}
			for _, i := range []int{0, tc.n / 2, tc.n - 1, best} {
				if got := st.logProb(row, i); math.Abs(got-ref[i]) > tol {
					t.Errorf("log-prob of %d: %.9f, float64 reference %.9f", i, got, ref[i])
				}
			}
		})
	}
}

// reuseRequests covers what the reuse scheduler must get right: few-shot
// contexts sharing a long prefix, several multi-token continuations per
// context, contexts that are prefixes of other contexts, an empty context
// (the prefix token alone), one-token contexts, single-token
// continuations and duplicate requests.
func reuseRequests() []runners.LoglikelihoodRequest {
	shots := "Question: What is 1 + 1?\nAnswer: 2\n\nQuestion: What color is the sky?\nAnswer: blue\n\n"
	var reqs []runners.LoglikelihoodRequest
	for _, q := range []string{"What is 2 + 3?", "Which animal barks?", "What is 2 + 3? Think"} {
		for _, c := range []string{" 5", " dog", " a small cat", " blue sky over the sea", " A"} {
			reqs = append(reqs, runners.LoglikelihoodRequest{Context: shots + "Question: " + q + "\nAnswer:", Continuation: c})
		}
	}
	reqs = append(reqs,
		runners.LoglikelihoodRequest{Context: shots + "Question:", Continuation: " What is 2 + 3?"}, // a prefix of other contexts
		runners.LoglikelihoodRequest{Context: shots, Continuation: "Question"},
		runners.LoglikelihoodRequest{Context: "", Continuation: "Hello world"},
		runners.LoglikelihoodRequest{Context: "", Continuation: " The"},
		runners.LoglikelihoodRequest{Context: "The", Continuation: " quick brown fox"}, // one-token context
		runners.LoglikelihoodRequest{Context: "The", Continuation: " end"},
		runners.LoglikelihoodRequest{Context: "Paris is", Continuation: " the capital of France."},
		runners.LoglikelihoodRequest{Context: "Paris is", Continuation: " the capital of France."}, // duplicate
		runners.LoglikelihoodRequest{Context: shots + "Question: Which animal barks?\nAnswer:", Continuation: " dog"},
	)
	return reqs
}

// TestPrefixReuseAndBatchingMatchFullForward compares every request, under
// reuse on/off and several BatchTokens and CacheBytes settings, with a
// reference computed independently: one full forward pass over
// context+continuation per request (Engine.Logits) and the float64
// log-softmax. Tolerance batchTol (1e-4): the same tokens at the same
// positions, so only the f32 summation order of the kernels (GEMM tiling
// by row count, block vs single-row attention) and statRow's < 1e-6 differ.
func TestPrefixReuseAndBatchingMatchFullForward(t *testing.T) {
	e := trainedEngine(t)
	reqs := reuseRequests()
	V := e.Model.Cfg.Vocab
	type ref struct {
		lp     float64
		greedy bool
		n      int
	}
	want := make([]ref, len(reqs))
	for i, r := range reqs {
		c, k := e.EncodePair(r.Context, r.Continuation)
		ids := append(append([]int{}, c...), k...)
		logits, err := e.Logits(ids)
		if err != nil {
			t.Fatal(err)
		}
		want[i] = ref{greedy: true, n: len(k)}
		for j := len(c); j < len(ids); j++ {
			row := logits[(j-1)*V : j*V]
			want[i].lp += logSoftmax64(row)[ids[j]]
			want[i].greedy = want[i].greedy && argmax(row) == ids[j]
		}
	}
	for _, tc := range []struct {
		name       string
		reuse      bool
		batch      int
		cacheBytes int64
	}{
		{"no reuse, batch 4096", false, 4096, 0},
		{"no reuse, batch 1", false, 1, 0},
		{"reuse, batch 4096", true, 4096, 0},
		{"reuse, batch 64", true, 64, 0},
		{"reuse, batch 1", true, 1, 0},
		{"reuse, one cache in flight", true, 4096, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.PrefixReuse, e.BatchTokens, e.CacheBytes = tc.reuse, tc.batch, tc.cacheBytes
			var last, total int
			e.Progress = func(done, n int) { last, total = done, n }
			defer func() { e.Progress = nil }()
			got, err := e.Loglikelihood(context.Background(), reqs)
			if err != nil {
				t.Fatal(err)
			}
			if last != len(reqs) || total != len(reqs) {
				t.Errorf("progress ended at %d/%d, want %d/%d", last, total, len(reqs), len(reqs))
			}
			for i, g := range got {
				w := want[i]
				if math.Abs(g.LogProb-w.lp) > batchTol || g.IsGreedy != w.greedy || g.NumTokens != w.n {
					t.Errorf("request %d (%q|%q): got %+v, full forward gives {LogProb:%.6f IsGreedy:%v NumTokens:%d}",
						i, reqs[i].Context[max(0, len(reqs[i].Context)-20):], reqs[i].Continuation, g, w.lp, w.greedy, w.n)
				}
			}
		})
	}
}

// TestPrefixReuseInputOrder: shuffling the requests shuffles the results
// the same way (results come back in input order whatever the schedule).
func TestPrefixReuseInputOrder(t *testing.T) {
	e := trainedEngine(t)
	e.BatchTokens = 96
	reqs := reuseRequests()
	base, err := e.Loglikelihood(context.Background(), reqs)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for trial := range 3 {
		perm := rng.Perm(len(reqs))
		shuffled := make([]runners.LoglikelihoodRequest, len(reqs))
		for i, p := range perm {
			shuffled[i] = reqs[p]
		}
		got, err := e.Loglikelihood(context.Background(), shuffled)
		if err != nil {
			t.Fatal(err)
		}
		for i, p := range perm {
			if math.Abs(got[i].LogProb-base[p].LogProb) > batchTol || got[i].IsGreedy != base[p].IsGreedy || got[i].NumTokens != base[p].NumTokens {
				t.Errorf("trial %d: shuffled request %d (input %d): %+v, in order %+v", trial, i, p, got[i], base[p])
			}
		}
	}
}

// TestRootTarget checks the root-extension rule on hand-made groups.
func TestRootTarget(t *testing.T) {
	mk := func(ctxs ...[]int) ([]*ctxGroup, []int) {
		var gs []*ctxGroup
		adj := make([]int, len(ctxs))
		for i, c := range ctxs {
			gs = append(gs, &ctxGroup{ids: c})
			if i > 0 {
				adj[i] = commonPrefix(ctxs[i-1], c)
			}
		}
		return gs, adj
	}
	gs, adj := mk([]int{1, 2, 3, 4, 5}, []int{1, 2, 3, 4, 6}, []int{1, 2, 3, 7}, []int{1, 2, 9, 9})
	for _, tc := range []struct {
		name    string
		next    int
		root    []int
		minSave int
		want    int
	}{
		// From group 0 with an empty root: L=4 saves 4·1, L=3 saves 3·2,
		// L=2 saves 2·3 (a tie goes to the longer prefix).
		{"empty root picks the best saving", 0, nil, 1, 3},
		{"saving below the threshold", 0, nil, 7, 0},
		{"root already covers the run", 0, []int{1, 2, 3, 4}, 1, 0},
		{"extends past the covered part", 0, []int{1, 2}, 1, 4},
		{"last group has no followers", 3, nil, 1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := rootTarget(gs, adj, tc.next, tc.root, tc.minSave); got != tc.want {
				t.Errorf("rootTarget = %d, want %d", got, tc.want)
			}
		})
	}
	// A context that is a prefix of the next: L stays below its length.
	gs, adj = mk([]int{1, 2, 3}, []int{1, 2, 3, 4}, []int{1, 2, 3, 5})
	if got := rootTarget(gs, adj, 0, nil, 1); got != 2 {
		t.Errorf("prefix context: rootTarget = %d, want 2", got)
	}
}
