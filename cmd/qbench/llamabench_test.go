package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/qbench/qbench/runners/native/gguf"
)

// testdata/llama-bench-sample.json is the output of a real run:
// llama-bench -m trained-tiny-q8_0.gguf -t 2 -p 128 -n 32 -r 3 -o json
// (llama.cpp de3ff81, CPU backend, this repository's 2-core machine).
func TestParseLlamaBenchJSON(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "llama-bench-sample.json"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := parseLlamaBenchJSON(b)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name      string
		got, want any
	}{
		{"prefill n_prompt", p.Prefill.NPrompt, 128},
		{"prefill avg_ts", p.Prefill.AvgTS, 11139.568726},
		{"decode n_gen", p.Decode.NGen, 32},
		{"decode avg_ts", p.Decode.AvgTS, 1017.107051},
		{"model_size", p.Prefill.ModelSize, int64(20071424)},
		{"model_type", p.Decode.ModelType, "llama ?B Q8_0"},
		{"threads", p.Decode.NThreads, 2},
		{"commit", p.Prefill.BuildCommit, "de3ff81"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Errorf("got %v, want %v", tc.got, tc.want)
			}
		})
	}
}

func TestParseLlamaBenchJSONErrors(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"markdown output", "| model | size |", "-o json"},
		{"no decode test", `[{"n_prompt": 128, "n_gen": 0, "avg_ts": 5}]`, "lacks"},
		{"empty", `[]`, "lacks"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseLlamaBenchJSON([]byte(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

func TestLlamaBenchMissingBinary(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "no-such-llama-bench")
	t.Run("function", func(t *testing.T) {
		err := runLlamaBenchCompare(context.Background(), missing, []string{"smollm2-135m"}, []string{"bf16"}, 8, 2, 1, false)
		if err == nil || !strings.Contains(err.Error(), "not an executable file") {
			t.Errorf("error %v, want one saying the path is not an executable file", err)
		}
	})
	t.Run("cli", func(t *testing.T) {
		_, stderr, code := run(t, nil, "bench", "--llama-bench", missing)
		if code == 0 || !strings.Contains(stderr, "build/bin/llama-bench") {
			t.Errorf("exit %d, stderr %q; want a failure telling how to get llama-bench", code, stderr)
		}
	})
}

// TestSyntheticVocab checks the random-model vocab llama.cpp needs: the
// 256 GPT-2 byte symbols are distinct single runes with "Ċ" (U+010A) for
// byte 10 and "Ġ" (U+0120) for the space (bytes_to_unicode), and the last
// two tokens are the control BOS/EOS.
func TestSyntheticVocab(t *testing.T) {
	v := syntheticVocab(300)
	seen := map[string]bool{}
	for b := 0; b < 256; b++ {
		if utf8.RuneCountInString(v.Tokens[b]) != 1 || seen[v.Tokens[b]] {
			t.Fatalf("byte %d symbol %q is not a new single rune", b, v.Tokens[b])
		}
		seen[v.Tokens[b]] = true
	}
	for _, tc := range []struct {
		b    int
		want string
	}{{10, "Ċ"}, {32, "Ġ"}, {'A', "A"}, {0, "Ā"}, {0xad, "Ń"}} {
		if v.Tokens[tc.b] != tc.want {
			t.Errorf("byte %#x = %q, want %q", tc.b, v.Tokens[tc.b], tc.want)
		}
	}
	if v.BOS != 298 || v.EOS != 299 || v.Types[298] != gguf.TokenControl || v.Types[299] != gguf.TokenControl {
		t.Errorf("BOS/EOS = %d/%d types %d/%d", v.BOS, v.EOS, v.Types[298], v.Types[299])
	}
}

// TestBenchBatchFlag: batch sizes outside 1..256 or an empty list are usage errors (exit 2) that
// name the flag, before any model is built.
func TestBenchBatchFlag(t *testing.T) {
	for _, arg := range []string{"0", "1,x", ",", "300"} {
		_, stderr, code := run(t, nil, "bench", "--batch", arg)
		if code != 2 || !strings.Contains(stderr, "--batch") {
			t.Errorf("--batch %q: exit %d, stderr %q; want 2 and a message about --batch", arg, code, stderr)
		}
	}
}
