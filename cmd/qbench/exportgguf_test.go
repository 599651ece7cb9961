package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/qbench/qbench/internal/testutil"
	"github.com/qbench/qbench/runners/native/checkpoint"
	"github.com/qbench/qbench/runners/native/gguf"
	"github.com/qbench/qbench/runners/native/tokenizer"
)

// TestExportGGUFTrainedTiny exports the shared trained-tiny Llama through
// the CLI and reads it back: llama metadata from config.json, the vocab
// (so that qbench's GGUF tokenizer, built from the export alone, encodes the
// transformers reference texts to the reference ids), tensor names and
// types, and attn_q/attn_k of a block decoding to the permuted checkpoint.
func TestExportGGUFTrainedTiny(t *testing.T) {
	dir := testutil.Shared(t, "models", "trained-tiny")
	for _, tc := range []struct {
		typ       string
		weight    gguf.GGMLType
		embedding gguf.GGMLType // tied: the head's type
		// relTol bounds |decoded − original| per 32-block by tol·amax:
		// F16 rounding 2^−11 relative; Q4_0 |d| = amax/8 at the clamped
		// level plus f16 rounding of d.
		relTol float64
		cmd    []string // the command: export-gguf, or export --format gguf
	}{
		{"f16", gguf.TypeF16, gguf.TypeF16, math.Pow(2, -11), []string{"export-gguf"}},
		{"q4_0", gguf.TypeQ4_0, gguf.TypeQ8_0, 1.0/8 + math.Pow(2, -11), []string{"export", "--format", "gguf"}},
	} {
		t.Run(tc.typ, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "tiny.gguf")
			args := append(append([]string(nil), tc.cmd...), "--model", dir, "--type", tc.typ, "--out", out)
			if _, stderr, code := run(t, nil, args...); code != 0 {
				t.Fatalf("export-gguf exit %d: %s", code, stderr)
			}
			f, err := gguf.Open(out)
			if err != nil {
				t.Fatal(err)
			}
			for key, want := range map[string]any{
				"general.architecture": "llama", "llama.block_count": uint32(8), "llama.context_length": uint32(2048),
				"llama.embedding_length": uint32(256), "llama.feed_forward_length": uint32(768),
				"llama.attention.head_count": uint32(4), "llama.attention.head_count_kv": uint32(2),
				"llama.rope.freq_base": float32(100000), "llama.attention.layer_norm_rms_epsilon": float32(1e-5),
				"llama.rope.dimension_count": uint32(64), "llama.vocab_size": uint32(49152),
				"general.file_type": gguf.FileType(tc.weight), "tokenizer.ggml.model": "gpt2", "tokenizer.ggml.pre": "smollm",
				"tokenizer.ggml.bos_token_id": uint32(1), "tokenizer.ggml.eos_token_id": uint32(2),
			} {
				if v, ok := f.Get(key); !ok || v.Data != want {
					t.Errorf("%s = %v (%T), want %v (%T)", key, v.Data, v.Data, want, want)
				}
			}
			toks, _ := f.Strings("tokenizer.ggml.tokens")
			types, _ := f.Ints("tokenizer.ggml.token_type")
			merges, _ := f.Strings("tokenizer.ggml.merges")
			if len(toks) != 49152 || toks[1] != "<|im_start|>" || types[1] != int64(gguf.TokenControl) || types[300] != int64(gguf.TokenNormal) {
				t.Errorf("tokens: %d, [1] = %q type %d", len(toks), toks[1], types[1])
			}
			if len(merges) != 48900 || merges[0] != "Ġ t" {
				t.Errorf("merges: %d, first %q; want 48900, \"Ġ t\"", len(merges), merges[0])
			}
			checkExportedTokenizer(t, f)
			if len(f.Tensors) != 8*9+2 { // tied: token_embd + 9 per block + output_norm
				t.Errorf("%d tensors, want 74", len(f.Tensors))
			}
			if _, ok := f.Tensor("output.weight"); ok {
				t.Error("tied model has output.weight")
			}
			emb, _ := f.Tensor("token_embd.weight")
			if emb == nil || emb.Type != tc.embedding || !reflect.DeepEqual(emb.Dims, []uint64{256, 49152}) {
				t.Errorf("token_embd = %+v, want %v dims [256 49152]", emb, tc.embedding)
			}
			set, err := checkpoint.OpenDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer set.Close()
			fh, err := os.Open(out)
			if err != nil {
				t.Fatal(err)
			}
			defer fh.Close()
			for _, c := range []struct {
				gg, hf string
				heads  int
			}{
				{"blk.3.attn_q.weight", "model.layers.3.self_attn.q_proj.weight", 4},
				{"blk.3.attn_k.weight", "model.layers.3.self_attn.k_proj.weight", 2},
				{"blk.3.ffn_down.weight", "model.layers.3.mlp.down_proj.weight", 0},
				{"blk.3.attn_norm.weight", "model.layers.3.input_layernorm.weight", 0},
			} {
				ti, ok := f.Tensor(c.gg)
				if !ok {
					t.Fatalf("missing %s", c.gg)
				}
				st, _ := set.Get(c.hf)
				want, err := st.Float32()
				if err != nil {
					t.Fatal(err)
				}
				if c.heads > 0 {
					want = gguf.PermuteQK(want, c.heads, 256)
				}
				b, err := f.TensorBytes(fh, ti)
				if err != nil {
					t.Fatal(err)
				}
				got, err := gguf.Decode(ti.Type, b)
				if err != nil {
					t.Fatal(err)
				}
				tol := tc.relTol
				if ti.Type == gguf.TypeF32 {
					tol = 0 // norms are written exactly
				}
				for blk := 0; blk < len(want); blk += 32 {
					var amax float64
					for _, v := range want[blk : blk+32] {
						amax = math.Max(amax, math.Abs(float64(v)))
					}
					for j := blk; j < blk+32; j++ {
						// + 2^−25: f16's subnormal spacing 2^−24, halved.
						if e := math.Abs(float64(got[j] - want[j])); e > tol*amax+math.Pow(2, -25) {
							t.Fatalf("%s[%d] = %g, want %g (error %g)", c.gg, j, got[j], want[j], e)
						}
					}
				}
			}
		})
	}
}

// checkExportedTokenizer builds qbench's tokenizer from the exported GGUF alone
// and encodes the reference texts: the ids must equal transformers' (the
// reference ids start with BOS, which the texts do not carry).
func checkExportedTokenizer(t *testing.T, f *gguf.File) {
	t.Helper()
	tok, err := tokenizer.FromGGUF(f)
	if err != nil {
		t.Fatalf("tokenizer from exported GGUF: %v", err)
	}
	b, err := os.ReadFile(testutil.Shared(t, "models", "trained-tiny", "reference.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ref struct {
		Cases []struct {
			Lang string `json:"lang"`
			Text string `json:"text"`
			IDs  []int  `json:"ids"`
		} `json:"cases"`
	}
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatal(err)
	}
	for _, c := range ref.Cases {
		got := tok.Encode(c.Text, false)
		// The reference keeps BOS + the first 96 tokens of the text.
		want := c.IDs[1:]
		if len(got) < len(want) || !reflect.DeepEqual(got[:len(want)], want) {
			t.Errorf("%s: GGUF tokenizer ids differ from transformers' (first 8: got %v want %v)", c.Lang, got[:min(8, len(got))], want[:8])
		}
	}
}

func TestExportGGUFErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"bad type", []string{"export-gguf", "--model", ".", "--type", "q5_k", "--out", "x.gguf"}, "want f16, q8_0 or q4_0"},
		{"no out", []string{"export-gguf", "--model", "."}, "--out is required"},
		{"not a model", []string{"export-gguf", "--model", t.TempDir(), "--out", filepath.Join(t.TempDir(), "x.gguf")}, "config.json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := run(t, nil, tc.args...)
			if code == 0 || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want failure mentioning %q", code, stderr, tc.want)
			}
		})
	}
}
