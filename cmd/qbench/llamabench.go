package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"github.com/qbench/qbench/kernels"
	"github.com/qbench/qbench/runners/native"
	"github.com/qbench/qbench/runners/native/checkpoint"
	"github.com/qbench/qbench/runners/native/gguf"
)

// llamaBenchRow is the part of one llama-bench -o json record qbench reads.
// A record is a prefill test (n_prompt > 0, n_gen = 0) or a decode test
// (n_gen > 0); avg_ts is tokens per second averaged over its repetitions.
type llamaBenchRow struct {
	BuildCommit  string  `json:"build_commit"`
	CPUInfo      string  `json:"cpu_info"`
	Backends     string  `json:"backends"`
	ModelType    string  `json:"model_type"`
	ModelSize    int64   `json:"model_size"`
	ModelNParams int64   `json:"model_n_params"`
	NThreads     int     `json:"n_threads"`
	NPrompt      int     `json:"n_prompt"`
	NGen         int     `json:"n_gen"`
	AvgTS        float64 `json:"avg_ts"`
	StddevTS     float64 `json:"stddev_ts"`
}

// llamaBenchPair is one model's prefill and decode records.
type llamaBenchPair struct {
	Prefill, Decode llamaBenchRow
}

// parseLlamaBenchJSON reads llama-bench -o json output (an array of
// records) and returns its prefill and decode records.
func parseLlamaBenchJSON(b []byte) (llamaBenchPair, error) {
	var rows []llamaBenchRow
	if err := json.Unmarshal(b, &rows); err != nil {
		return llamaBenchPair{}, fmt.Errorf("llama-bench output is not its JSON array (was it run with -o json?): %w", err)
	}
	var p llamaBenchPair
	var havePre, haveDec bool
	for _, r := range rows {
		switch {
		case r.NPrompt > 0 && r.NGen == 0:
			p.Prefill, havePre = r, true
		case r.NGen > 0 && r.NPrompt == 0:
			p.Decode, haveDec = r, true
		}
	}
	if !havePre || !haveDec {
		return p, fmt.Errorf("llama-bench output has %d records but lacks a prefill (-p) or a decode (-n) test", len(rows))
	}
	return p, nil
}

// llamaCompareRow is one line of the side-by-side table.
type llamaCompareRow struct {
	Shape         string  `json:"shape"`
	GGUFType      string  `json:"gguf_type"`
	QbenchScheme  string  `json:"qbench_scheme"`
	LlamaPrefill  float64 `json:"llama_prefill_tok_s"`
	LlamaDecode   float64 `json:"llama_decode_tok_s"`
	LlamaMiB      float64 `json:"llama_model_mib"`
	QbenchPrefill float64 `json:"qbench_prefill_tok_s"`
	QbenchDecode  float64 `json:"qbench_decode_tok_s"`
	QbenchMiB     float64 `json:"qbench_weight_mib"`
	PrefillRatio  float64 `json:"prefill_ratio"` // qbench ÷ llama.cpp
	DecodeRatio   float64 `json:"decode_ratio"`
}

// llamaComparable pairs each GGUF weight type with the qbench schemes that
// move the same weight bits: F32 ↔ f32, F16 ↔ bf16, Q8_0 ↔ w8a16 and
// w8a8-int8, Q4_0 ↔ w4a16 and w4a8. llama.cpp's Q8_0 and Q4_0 files keep
// output.weight in Q8_0; qbench's quantized schemes use an int8 head
// (--head int8) to match.
var llamaComparable = []struct {
	typ     gguf.GGMLType
	schemes []string
}{
	{gguf.TypeF32, []string{"f32"}},
	{gguf.TypeF16, []string{"bf16"}},
	{gguf.TypeQ8_0, []string{"w8a16", "w8a8-int8"}},
	{gguf.TypeQ4_0, []string{"w4a16", "w4a8"}},
}

// runLlamaBenchCompare exports random-weight models of each shape in
// F32, F16, Q8_0 and Q4_0, runs llama-bench (bin) on each with the same
// threads, prompt and decode lengths, measures qbench's engine on the
// comparable schemes that are in want, and prints both side by side with
// qbench ÷ llama.cpp ratios.
func runLlamaBenchCompare(ctx context.Context, bin string, shapes []string, want []string, prompt, decode, reps int, asJSON bool) error {
	if st, err := os.Stat(bin); err != nil || st.IsDir() {
		return fmt.Errorf("--llama-bench %s: not an executable file (build llama.cpp and pass its build/bin/llama-bench): %v", bin, err)
	}
	dir, err := os.MkdirTemp("", "qbench-llamabench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	threads := runtime.GOMAXPROCS(0)
	wanted := map[string]bool{}
	for _, s := range want {
		wanted[s] = true
	}
	var rows []llamaCompareRow
	var failures []llamaFailure
	// pendingRow is a llama-bench result waiting for its qbench measurement.
	type pendingRow struct {
		typ, scheme string
		llama       llamaBenchPair
	}
	var pending []pendingRow
	var commit string
	for _, shape := range shapes {
		cfg := benchShapes[shape]
		// The GGUF export writes default RoPE only; the rotation's frequencies
		// do not change the cost, so both sides run the shape without
		// Llama 3's frequency scaling.
		cfg.Rope = checkpoint.RopeScaling{}
		tensors := native.RandomTensors(cfg, 1)
		for _, c := range llamaComparable {
			var schemes []string
			for _, s := range c.schemes {
				if wanted[s] {
					schemes = append(schemes, s)
				}
			}
			if len(schemes) == 0 {
				continue
			}
			path := filepath.Join(dir, shape+"-random-"+c.typ.String()+".gguf")
			ex := &gguf.LlamaExport{Name: shape + "-random", Cfg: cfg, Vocab: syntheticVocab(cfg.Vocab), Type: c.typ,
				Tensor: func(name string) ([]float32, error) {
					if v, ok := tensors[name]; ok {
						return v, nil
					}
					return nil, fmt.Errorf("random model has no tensor %q", name)
				}}
			if err := gguf.WriteLlama(path, ex); err != nil {
				return err
			}
			fmt.Fprintf(os.Stderr, "running llama-bench on %s ...\n", filepath.Base(path))
			cmd := exec.CommandContext(ctx, bin, "-m", path, "-t", strconv.Itoa(threads), "-p", strconv.Itoa(prompt),
				"-n", strconv.Itoa(decode), "-r", strconv.Itoa(max(reps, 1)), "-o", "json")
			out, err := cmd.Output()
			os.Remove(path)
			var p llamaBenchPair
			if err == nil {
				p, err = parseLlamaBenchJSON(out)
			}
			if err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				// One GGUF type failing (a llama.cpp build that crashes on quantized
				// types) loses neither the rows measured so far nor the other types.
				f := llamaFailure{Shape: shape, GGUFType: c.typ.String(), Error: llamaBenchError(filepath.Base(path), c.typ, err)}
				fmt.Fprintln(os.Stderr, f.Error)
				failures = append(failures, f)
				continue
			}
			commit = p.Prefill.BuildCommit
			for _, scheme := range schemes {
				pending = append(pending, pendingRow{c.typ.String(), scheme, p})
			}
		}
		// qbench runs once the f32 tensors the exports needed (4.9 GB at the 1B shape) are
		// released, as a standalone qbench bench does: with them resident its Llama-1B w4a16
		// decode measured 25.0-28.6 tok/s in five of six sittings (33.2 in one) against 32.5-33.5
		// standalone in the same hour, and 33.0-33.2 after this change.
		tensors = nil
		runtime.GC()
		for _, pr := range pending {
			m, err := benchModel(cfg, pr.scheme)
			if err != nil {
				return err
			}
			fmt.Fprintf(os.Stderr, "measuring qbench %s %s ...\n", shape, pr.scheme)
			kernels.Warm(warmUp)
			r := native.Bench(m, prompt, decode, reps, 1)
			p := pr.llama
			rows = append(rows, llamaCompareRow{Shape: shape, GGUFType: pr.typ, QbenchScheme: pr.scheme,
				LlamaPrefill: p.Prefill.AvgTS, LlamaDecode: p.Decode.AvgTS, LlamaMiB: float64(p.Prefill.ModelSize) / (1 << 20),
				QbenchPrefill: r.PrefillTokPerS, QbenchDecode: r.DecodeTokPerS, QbenchMiB: float64(r.WeightBytes) / (1 << 20),
				PrefillRatio: r.PrefillTokPerS / p.Prefill.AvgTS, DecodeRatio: r.DecodeTokPerS / p.Decode.AvgTS})
			m = nil
			runtime.GC()
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		pending = pending[:0]
	}
	if asJSON {
		if err := json.NewEncoder(os.Stdout).Encode(map[string]any{"threads": threads, "prompt": prompt, "decode": decode,
			"llama_cpp_commit": commit, "head": benchHead, "rows": rows, "failures": failures}); err != nil {
			return err
		}
		return failuresError(failures)
	}
	fmt.Printf("random weights, %d threads, prefill %d tokens, decode %d tokens (llama.cpp %s; qbench head %s)\n", threads, prompt, decode, commit, benchHead)
	fmt.Printf("%-13s %-5s %-10s %12s %12s %9s | %10s %10s %10s | %8s %8s\n", "shape", "gguf", "qbench", "llama pp t/s", "llama tg t/s", "llama MiB",
		"qbench pp", "qbench tg", "qbench MiB", "pp ratio", "tg ratio")
	for _, r := range rows {
		fmt.Printf("%-13s %-5s %-10s %12.1f %12.1f %9.1f | %10.1f %10.1f %10.1f | %8.2f %8.2f\n", r.Shape, r.GGUFType, r.QbenchScheme, r.LlamaPrefill,
			r.LlamaDecode, r.LlamaMiB, r.QbenchPrefill, r.QbenchDecode, r.QbenchMiB, r.PrefillRatio, r.DecodeRatio)
	}
	fmt.Println("ratio = qbench tokens/s ÷ llama.cpp tokens/s (above 1: qbench is faster); llama.cpp decodes from an empty context, qbench after the prompt")
	for _, f := range failures {
		fmt.Printf("%-13s %-5s llama-bench failed (see above)\n", f.Shape, f.GGUFType)
	}
	return failuresError(failures)
}

// llamaFailure is a GGUF type llama-bench could not measure.
type llamaFailure struct {
	Shape    string `json:"shape"`
	GGUFType string `json:"gguf_type"`
	Error    string `json:"error"`
}

func failuresError(failures []llamaFailure) error {
	if len(failures) == 0 {
		return nil
	}
	var types []string
	for _, f := range failures {
		types = append(types, f.Shape+" "+f.GGUFType)
	}
	return fmt.Errorf("llama-bench failed on %d GGUF file(s) (%s); the rows printed are the ones that ran", len(failures), strings.Join(types, ", "))
}

// llamaBenchError describes a failed llama-bench run: the error, the end of its stderr and, for a
// crash on a quantized type, the likely cause and what to do.
func llamaBenchError(file string, typ gguf.GGMLType, err error) string {
	msg := fmt.Sprintf("llama-bench on %s failed: %v", file, err)
	if ee, ok := err.(*exec.ExitError); ok {
		if len(ee.Stderr) > 0 {
			msg += "\n" + strings.TrimRight(string(ee.Stderr[max(0, len(ee.Stderr)-2000):]), "\n")
		}
		state := ee.ProcessState.String()
		crashed := strings.Contains(state, "illegal instruction") || strings.Contains(state, "segmentation fault")
		if crashed && (typ == gguf.TypeQ8_0 || typ == gguf.TypeQ4_0) {
			msg += "\nhint: llama.cpp's AMX backend (in its GGML_NATIVE build on CPUs with AMX) crashes like this when GCC 12 " +
				"built it: GCC's _tile_loadconfig declares an 8-byte read, so the stores that fill the tile configuration are " +
				"dropped (README, Performance). Rebuild llama.cpp without AMX (-DGGML_NATIVE=OFF with -DGGML_AVX512=ON and " +
				"the extensions your CPU has), or add __asm__ __volatile__(\"\" : : \"r\"(&tc) : \"memory\"); before " +
				"_tile_loadconfig in ggml_tile_config_init (ggml/src/ggml-cpu/amx/mmq.cpp)."
		}
	}
	return msg
}

// syntheticVocab is a byte-level BPE vocabulary of n tokens for random-
// weight models: the 256 GPT-2 byte symbols (so llama.cpp finds its
// newline token "Ċ"), fillers, and control tokens <|bos|> (n−2) and
// <|eos|> (n−1); no merges. Only its size matters to the speed benchmark.
func syntheticVocab(n int) *gguf.Vocab {
	v := &gguf.Vocab{Pre: "default", Tokens: make([]string, n), Types: make([]int32, n), Merges: []string{}, BOS: n - 2, EOS: n - 1}
	// GPT-2 bytes_to_unicode: printable Latin-1 bytes map to themselves,
	// the others to U+0100 upward in byte order.
	next := 0
	for b := 0; b < 256; b++ {
		r := rune(b)
		if !(b >= '!' && b <= '~' || b >= 0xa1 && b <= 0xac || b >= 0xae && b <= 0xff) {
			r = rune(256 + next)
			next++
		}
		v.Tokens[b], v.Types[b] = string(r), gguf.TokenNormal
	}
	for i := 256; i < n; i++ {
		v.Tokens[i], v.Types[i] = "tok"+strconv.Itoa(i), gguf.TokenNormal
	}
	v.Tokens[n-2], v.Types[n-2] = "<|bos|>", gguf.TokenControl
	v.Tokens[n-1], v.Types[n-1] = "<|eos|>", gguf.TokenControl
	return v
}
