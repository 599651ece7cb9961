package main

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/qbench/qbench/runners/native/checkpoint"
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

// TestLlamaBenchFailureKeepsRows: a llama-bench that crashes with SIGILL on the Q8_0 file (as
// llama.cpp's AMX build compiled by GCC 12 does) loses neither the F32 row measured before it nor
// the Q4_0 row after it; the run still fails, naming the file, and the failure carries the hint.
func TestLlamaBenchFailureKeepsRows(t *testing.T) {
	sample, err := filepath.Abs(filepath.Join("testdata", "llama-bench-sample.json"))
	if err != nil {
		t.Fatal(err)
	}
	fake := filepath.Join(t.TempDir(), "llama-bench")
	script := "#!/bin/sh\ncase \"$*\" in *Q8_0*) echo 'load_tensors: AMX model buffer' >&2; kill -ILL $$;; esac\ncat '" + sample + "'\n"
	if err := os.WriteFile(fake, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	benchShapes["test-tiny"] = checkpoint.Config{Arch: "llama", Hidden: 64, Layers: 1, Heads: 2, KVHeads: 1, HeadDim: 32,
		Intermediate: 128, Vocab: 320, RMSEps: 1e-5, RopeTheta: 10000, Rope: checkpoint.RopeScaling{Type: "default"},
		TieEmbeddings: true, MaxPositions: 256, BOS: 318, EOS: []int{319}}
	t.Cleanup(func() { delete(benchShapes, "test-tiny") })

	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, stderr := os.Stdout, os.Stderr
	os.Stdout = w
	devnull, _ := os.Open(os.DevNull)
	os.Stderr = devnull
	err = runLlamaBenchCompare(context.Background(), fake, []string{"test-tiny"}, []string{"f32", "w8a16", "w4a8"}, 8, 2, 1, true)
	w.Close()
	os.Stdout, os.Stderr = stdout, stderr
	devnull.Close()
	out, rerr := io.ReadAll(r)
	if rerr != nil {
		t.Fatal(rerr)
	}
	if err == nil || !strings.Contains(err.Error(), "test-tiny Q8_0") {
		t.Fatalf("error %v, want one naming the failed test-tiny Q8_0 file", err)
	}
	var res struct {
		Rows []llamaCompareRow `json:"rows"`
		Fail []llamaFailure    `json:"failures"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("stdout %q: %v", out, err)
	}
	var got []string
	for _, row := range res.Rows {
		got = append(got, row.GGUFType+"/"+row.QbenchScheme)
		if row.LlamaDecode != 1017.107051 || row.QbenchDecode <= 0 {
			t.Errorf("row %+v: want llama.cpp's sample decode rate and a measured qbench one", row)
		}
	}
	if strings.Join(got, " ") != "F32/f32 Q4_0/w4a8" {
		t.Errorf("rows %v, want F32/f32 and Q4_0/w4a8 (the types llama-bench ran)", got)
	}
	if len(res.Fail) != 1 || res.Fail[0].GGUFType != "Q8_0" ||
		!strings.Contains(res.Fail[0].Error, "illegal instruction") || !strings.Contains(res.Fail[0].Error, "AMX model buffer") ||
		!strings.Contains(res.Fail[0].Error, "hint: llama.cpp's AMX backend") {
		t.Errorf("failures %+v, want the Q8_0 crash with its stderr and the AMX hint", res.Fail)
	}
}
