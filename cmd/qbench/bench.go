package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/qbench/qbench/kernels"
	"github.com/qbench/qbench/kernels/qgemm"
	"github.com/qbench/qbench/quant"
	"github.com/qbench/qbench/runners/native"
	"github.com/qbench/qbench/runners/native/checkpoint"
)

func init() {
	register(command{name: "bench", summary: "engine and kernel throughput: prefill/decode tokens/s, bandwidth roofline", run: runBench})
}

type benchRow struct {
	Shape         string  `json:"shape"`
	Scheme        string  `json:"scheme"`
	PrefillTokens int     `json:"prefill_tokens"`
	PrefillTokS   float64 `json:"prefill_tok_s"`
	Batch         int     `json:"batch"`        // sequences decoded together
	DecodeTokS    float64 `json:"decode_tok_s"` // all sequences' tokens
	DecodeGBs     float64 `json:"decode_gb_s"`
	Roofline      float64 `json:"roofline_fraction"`
	WeightMiB     float64 `json:"weight_mib"`
	PeakRSSMiB    float64 `json:"peak_rss_mib"`
}

func runBench(ctx context.Context, args []string) error {
	fs := newFlags("bench", "[--shape smollm2-135m|llama-3.2-1b|all] [--schemes f32,bf16] [--prompt 128] [--decode 32] [--batch 1,8] [--reps 3] [--json]")
	shape := fs.String("shape", "smollm2-135m", "model shape with random weights: smollm2-135m, llama-3.2-1b or all")
	schemes := fs.String("schemes", "f32,bf16", "weight formats to measure (comma-separated): f32, bf16, w8a16, w8a8-int8, w8a8-fp8, w4a16, w4a8")
	prompt := fs.Int("prompt", 128, "prefill length (tokens)")
	decode := fs.Int("decode", 32, "decode steps")
	reps := fs.Int("reps", 3, "repeats (median reported)")
	batchList := fs.String("batch", "1", "sequences decoded together, one row each per step, as batched generation runs (comma-separated list: one row of results per size)")
	asJSON := fs.Bool("json", false, "print JSON rows")
	kernelsOnly := fs.Bool("kernels", false, "benchmark kernels instead of the engine")
	llamaBench := fs.String("llama-bench", "", "path of llama.cpp's llama-bench: compare with it on GGUF exports (f16, q8_0, q4_0)")
	head := fs.String("head", "int8", "LM head of the quantized schemes: int8 (per-channel int8 weights, with int8 activations for w8a8-int8 and w4a8, as llama.cpp's Q8_0/Q4_0 files keep output.weight in Q8_0) or bf16 (as the default recipes, which skip lm_head)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile (go tool pprof) of the measurements to this file")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return fmt.Errorf("bench: --cpuprofile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("bench: --cpuprofile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	if *head != "int8" && *head != "bf16" {
		return usagef("--head %q: want int8 or bf16", *head)
	}
	benchHead = *head
	var batches []int
	for _, f := range splitList(*batchList) {
		b, err := strconv.Atoi(f)
		if err != nil || b < 1 || b > 256 {
			return usagef("--batch %q: want sizes from 1 to 256, comma-separated", *batchList)
		}
		batches = append(batches, b)
	}
	if len(batches) == 0 {
		return usagef("--batch is empty: want sizes such as 1 or 1,4,8")
	}
	if *kernelsOnly {
		only := "" // --kernels measures both models' shapes unless --shape names one
		fs.Visit(func(f *flag.Flag) {
			if f.Name == "shape" && *shape != "all" {
				only = *shape
			}
		})
		if only != "" {
			if _, ok := benchShapes[only]; !ok {
				return usagef("--shape %q: want smollm2-135m, llama-3.2-1b or all", only)
			}
		}
		return runKernelBench(ctx, only, *asJSON) // it settles before every timing
	}
	shapes := benchShapes
	var names []string
	switch *shape {
	case "all":
		names = []string{"smollm2-135m", "llama-3.2-1b"}
	default:
		if _, ok := shapes[*shape]; !ok {
			return usagef("--shape %q: want smollm2-135m, llama-3.2-1b or all", *shape)
		}
		names = []string{*shape}
	}
	if *llamaBench != "" {
		want := splitList(*schemes)
		set := false
		fs.Visit(func(f *flag.Flag) { set = set || f.Name == "schemes" })
		if !set {
			want = []string{"f32", "bf16", "w8a16", "w8a8-int8", "w4a16", "w4a8"}
		}
		return runLlamaBenchCompare(ctx, *llamaBench, names, want, *prompt, *decode, *reps, *asJSON)
	}
	kernels.Warm(warmUp)
	bw := measureBandwidth()
	fmt.Fprintf(os.Stderr, "cpu: %s, %d threads; measured read bandwidth %.1f GB/s\n", kernels.Features(), runtime.GOMAXPROCS(0), bw)
	var rows []benchRow
	for _, n := range names {
		for _, s := range splitList(*schemes) {
			m, err := benchModel(shapes[n], s)
			if err != nil {
				return err
			}
			fmt.Fprintf(os.Stderr, "measuring %s %s ...\n", n, s)
			runtime.GC()
			debug.FreeOSMemory() // drop the build's f32 tensors, then
			resetPeakRSS()       // measure the peak of this scheme's run alone
			kernels.Warm(warmUp)
			for _, b := range batches {
				r := native.Bench(m, *prompt, *decode, *reps, b)
				rows = append(rows, benchRow{Shape: n, Scheme: s, PrefillTokens: r.PrefillTokens, PrefillTokS: r.PrefillTokPerS,
					Batch: b, DecodeTokS: r.DecodeTokPerS, DecodeGBs: r.DecodeGBPerS, Roofline: r.DecodeGBPerS / bw,
					WeightMiB: float64(r.WeightBytes) / (1 << 20), PeakRSSMiB: peakRSSMiB()})
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			m = nil
			runtime.GC()
			if err := ctx.Err(); err != nil {
				return err
			}
		}
	}
	if *asJSON {
		return json.NewEncoder(os.Stdout).Encode(map[string]any{"bandwidth_gb_s": bw, "cpu": kernels.Features(), "rows": rows})
	}
	fmt.Printf("%-14s %-10s %10s %12s %6s %12s %10s %9s %10s %9s\n", "shape", "scheme", "prefill", "prefill t/s", "batch", "decode t/s", "decode GB/s", "roofline", "weights MiB", "peak MiB")
	for _, r := range rows {
		fmt.Printf("%-14s %-10s %10d %12.1f %6d %12.1f %10.1f %8.0f%% %10.1f %9.0f\n", r.Shape, r.Scheme, r.PrefillTokens, r.PrefillTokS, r.Batch, r.DecodeTokS, r.DecodeGBs, 100*r.Roofline, r.WeightMiB, r.PeakRSSMiB)
	}
	fmt.Printf("decode t/s counts the tokens of all batch sequences; roofline = decode bytes/s (weights once per step, each sequence's KV cache) ÷ measured read bandwidth (%.1f GB/s); peak MiB = peak resident set while that scheme ran (model loaded, prefill + decode)\n", bw)
	return nil
}

// warmUp is how long bench keeps the worker pool busy before it times anything (kernels.Warm):
// at the start, and again after each build, which leaves the other cores idle for seconds.
const warmUp = 300 * time.Millisecond

// settle readies the machine for a timing: a full GC first (the kernel bench drops 256 MiB of
// streamed copies per format, and a concurrent GC's mark worker takes a core from the
// products), then kernels.Warm, as the build before it left the other cores idle.
func settle() {
	runtime.GC()
	kernels.Warm(warmUp)
}

// benchShapes are the model shapes qbench bench measures, with random weights.
var benchShapes = map[string]checkpoint.Config{"smollm2-135m": native.SmolLM2Shape(), "llama-3.2-1b": native.Llama32_1BShape()}

// benchHead is the LM head format of the quantized schemes (--head).
var benchHead = "int8"

// benchModel builds a random-weight model in a scheme's format. Quantized
// schemes quantize every decoder linear by round-to-nearest (speed does not
// depend on how the codes were chosen); the LM head is int8 per channel
// (benchHead "int8", like the output.weight of llama.cpp's Q8_0 and Q4_0
// files) or bf16, and the embedding stays full precision.
func benchModel(cfg checkpoint.Config, scheme string) (*native.Model, error) {
	switch scheme {
	case "f32":
		return native.RandomModel(cfg, native.FormatF32, 1)
	case "bf16":
		return native.RandomModel(cfg, native.FormatBF16, 1)
	}
	build, ok := benchSchemes[scheme]
	if !ok {
		return nil, usagef("bench scheme %q is not known (f32, bf16, w8a16, w8a8-int8, w8a8-fp8, w4a16, w4a8)", scheme)
	}
	t := native.RandomTensors(cfg, 1)
	m, err := native.BuildFromTensors(cfg, t, native.FormatBF16)
	if err != nil {
		return nil, err
	}
	for li := range m.Layers {
		L := &m.Layers[li]
		p := fmt.Sprintf("model.layers.%d.", li)
		for name, dst := range map[string]*native.Linear{
			"self_attn.q_proj.weight": &L.Q, "self_attn.k_proj.weight": &L.K, "self_attn.v_proj.weight": &L.V,
			"self_attn.o_proj.weight": &L.O, "mlp.gate_proj.weight": &L.Gate, "mlp.up_proj.weight": &L.Up, "mlp.down_proj.weight": &L.Down,
		} {
			out, in := (*dst).Dims()
			ql, err := build(&quant.Matrix{Rows: out, Cols: in, Data: t[p+name]})
			if err != nil {
				return nil, fmt.Errorf("bench %s: %s%s: %w", scheme, p, name, err)
			}
			*dst = ql
		}
		delete(t, p+"self_attn.q_proj.weight") // free as we go
	}
	if benchHead == "int8" {
		w, ok := t["lm_head.weight"]
		if !ok {
			w = t["model.embed_tokens.weight"]
		}
		// The head multiplies the activations the scheme's linears see:
		// int8 for W8A8 and W4A8 (as llama.cpp's Q8_0 output.weight takes
		// 8-bit-quantized activations), f32 for the weight-only schemes.
		act := native.ActF32
		if scheme == "w8a8-int8" || scheme == "w4a8" {
			act = native.ActInt8
		}
		h, err := rtnLinear(&quant.Matrix{Rows: cfg.Vocab, Cols: cfg.Hidden, Data: w}, quant.Grid{Bits: 8, Sym: true}, -1, act)
		if err != nil {
			return nil, fmt.Errorf("bench %s: lm_head: %w", scheme, err)
		}
		m.LMHead = h
	}
	return m, nil
}

// benchSchemes quantize one weight matrix into the scheme's kernel format.
var benchSchemes = map[string]func(w *quant.Matrix) (native.Linear, error){
	"w8a16": func(w *quant.Matrix) (native.Linear, error) {
		return rtnLinear(w, quant.Grid{Bits: 8, Sym: true}, -1, native.ActF32)
	},
	"w8a8-int8": func(w *quant.Matrix) (native.Linear, error) {
		return rtnLinear(w, quant.Grid{Bits: 8, Sym: true}, -1, native.ActInt8)
	},
	"w4a16": func(w *quant.Matrix) (native.Linear, error) {
		return rtnLinear(w, quant.Grid{Bits: 4, Sym: true}, 128, native.ActF32)
	},
	"w8a8-fp8": func(w *quant.Matrix) (native.Linear, error) {
		q, err := quant.QuantizeFP8(w)
		if err != nil {
			return nil, err
		}
		return native.NewFP8Linear(q)
	},
	"w4a8": func(w *quant.Matrix) (native.Linear, error) {
		q, err := quant.QuantizeRTN(w, quant.QQQGPTQConfig(-1).Grid, -1)
		if err != nil {
			return nil, err
		}
		qw, err := quant.QQQPack(q)
		if err != nil {
			return nil, err
		}
		return native.NewQQQLinear(qw)
	},
}

func rtnLinear(w *quant.Matrix, g quant.Grid, group int, act string) (native.Linear, error) {
	q, err := quant.QuantizeRTN(w, g, group)
	if err != nil {
		return nil, err
	}
	return native.NewQuantLinear(q, act)
}

// measureBandwidth returns the best read bandwidth (GB/s) of two threaded
// SIMD streams over 256 MiB, five tries each: a dot product of two 128 MiB
// buffers, and an f32 matrix-vector product over a 256 MiB matrix (the
// access pattern of decode). The faster one is the roofline for decode.
func measureBandwidth() float64 {
	const n = 32 << 20 // floats per buffer
	x := make([]float32, n)
	y := make([]float32, n)
	for i := range x {
		x[i], y[i] = 1, 1 // written: untouched pages would all map the zero page
	}
	best := 0.0
	keep := func(bytes float64, t0 time.Time) {
		best = max(best, bytes/time.Since(t0).Seconds()/1e9)
	}
	for r := 0; r < 5; r++ {
		t0 := time.Now()
		kernels.Parallel(n/(1<<16), func(lo, hi int) {
			kernels.Dot(x[lo<<16:hi<<16], y[lo<<16:hi<<16])
		})
		keep(float64(2*4*n), t0)
	}
	w := append(x[:n:n], y...) // (2n/1024, 1024) row-major
	const cols = 1024
	dst := make([]float32, len(w)/cols)
	v := make([]float32, cols)
	for r := 0; r < 5; r++ {
		t0 := time.Now()
		kernels.MatVec(dst, w, len(w)/cols, cols, v)
		keep(float64(4*len(w)), t0)
	}
	return best
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// resetPeakRSS resets the kernel's peak resident set counter (VmHWM) to the
// current resident set, so that peakRSSMiB measures from here (Linux ≥ 4.0;
// elsewhere the peak stays the process's).
func resetPeakRSS() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// peakRSSMiB reads the process's peak resident set (VmHWM) from /proc.
func peakRSSMiB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	var kb float64
	for _, line := range strings.Split(string(b), "\n") {
		if _, err := fmt.Sscanf(line, "VmHWM: %f kB", &kb); err == nil {
			return kb / 1024
		}
	}
	return 0
}

// kernelFormat is one weight × activation format for the kernel table.
type kernelFormat struct {
	name      string
	bytesPerW float64 // weight bytes per element (scales included approximately)
	build     func(w []float32, rows, cols int) func(dst, x []float32, n int)
}

var kernelFormats = []kernelFormat{
	{"f32", 4, func(w []float32, r, c int) func(dst, x []float32, n int) {
		return func(dst, x []float32, n int) { kernels.MatMulT(dst, w, r, c, x, n) }
	}},
	{"bf16", 2, func(w []float32, r, c int) func(dst, x []float32, n int) {
		b := make([]uint16, len(w))
		kernels.F32ToBF16(b, w)
		return func(dst, x []float32, n int) {
			if n == 1 {
				kernels.MatVecBF16(dst, b, r, c, x)
				return
			}
			kernels.MatMulTBF16(dst, b, r, c, x, n)
		}
	}},
	{"w8a16", 1, func(w []float32, r, c int) func(dst, x []float32, n int) {
		return qgemm.QuantizeInt8(w, r, c).MatMulTA16
	}},
	{"w8a8-int8", 1, func(w []float32, r, c int) func(dst, x []float32, n int) { return qgemm.QuantizeInt8(w, r, c).MatMulT }},
	{"w8a8-fp8", 1, func(w []float32, r, c int) func(dst, x []float32, n int) { return qgemm.QuantizeFP8(w, r, c).MatMulT }},
	{"w4a16-g128", 0.5 + 4.0/128, func(w []float32, r, c int) func(dst, x []float32, n int) {
		return qgemm.QuantizeInt4(w, r, c, 128, false).MatMulT
	}},
	{"w4a8", 0.5, func(w []float32, r, c int) func(dst, x []float32, n int) {
		return qgemm.QuantizeInt4QQQ(w, r, c, c).MatMulTA8
	}},
	{"w4a8-g128", 0.5 + 1.0/128, func(w []float32, r, c int) func(dst, x []float32, n int) {
		return qgemm.QuantizeInt4QQQ(w, r, c, 128).MatMulTA8
	}},
}

type kernelRow struct {
	Shape   string  `json:"shape"`
	Format  string  `json:"format"`
	N       int     `json:"n"`
	GOPS    float64 `json:"gops"`
	GBs     float64 `json:"weight_gb_s"`
	Speedup float64 `json:"speedup_vs_f32"`
	Kind    string  `json:"kind"` // gemv (decode) or gemm (prefill)
	// GEMV rows only: the same product cycled over copies of the matrix (streamBytes of
	// weights in all), so that each weight comes from beyond L2 as in a decode step, in passes
	// alternating with f32's copies (timeStreamPair); f32's row is the median of its pairs.
	StreamGOPS    float64 `json:"stream_gops,omitempty"`
	StreamGBs     float64 `json:"stream_weight_gb_s,omitempty"`
	StreamSpeedup float64 `json:"stream_speedup_vs_f32,omitempty"`
}

// streamBytes is the weight bytes the streamed GEMVs cycle over: 64 times the 4 MiB of L2 on
// the 2-core machine the README's numbers come from, about the weights one SmolLM2-135M
// decode step reads in w8a8 (129 MiB) and a fifth of the f32 model's.
const streamBytes = 256 << 20

// gemvFn is one GEMV of the kernel bench: dst (n, rows) = x (n, cols) · wᵀ.
type gemvFn = func(dst, x []float32, n int)

// streamCopies builds copies of a product with build until their weights total about
// streamBytes (at least 2, so that one can never stay cached between passes), running each
// once (VNNI panels are packed on first use).
func streamCopies(build func() gemvFn, bytes float64, dst, x []float32) []gemvFn {
	fns := make([]gemvFn, max(2, int(math.Ceil(streamBytes/bytes))))
	for i := range fns {
		fns[i] = build()
		fns[i](dst, x, 1)
	}
	return fns
}

// streamPass runs every copy once, in turn, as a decode step runs its layers.
func streamPass(fns []gemvFn, dst, x []float32) {
	for _, fn := range fns {
		fn(dst, x, 1)
	}
}

// streamPairWindow is how long timeStreamPair alternates its two sets of copies.
const streamPairWindow = 400 * time.Millisecond

// timeStreamPair returns the median seconds of one product of fns and of base (two sets of
// streamed copies), timing a pass of each in turn for streamPairWindow (at least 5 of each).
// The two medians come from the same window, so that a drift of the memory bandwidth (±20% on
// the 2-core VM) moves both instead of their ratio: timed seconds apart, f32 first and then
// each format, the streamed 576×576 W4A8-g128 ratio ranged 4.49-5.55 over four runs of one
// commit. And together the two sets (2·streamBytes) exceed the 480 MiB L3 this VM reports, so
// neither comes from L3: alone, f32's 256 MiB read 35-37 GB/s, above the 33 GB/s the engine
// bench measures for DRAM, and 29.5-32.6 GB/s in these pairs.
func timeStreamPair(fns, base []gemvFn, dst, x []float32) (sec, baseSec float64) {
	streamPass(fns, dst, x) // warm up: worker pool, TLB of the first copies
	streamPass(base, dst, x)
	var a, b []float64
	for start := time.Now(); len(a) < 5 || (time.Since(start) < streamPairWindow && len(a) < 20000); {
		t0 := time.Now()
		streamPass(fns, dst, x)
		t1 := time.Now()
		streamPass(base, dst, x)
		a, b = append(a, t1.Sub(t0).Seconds()), append(b, time.Since(t1).Seconds())
	}
	return median(a) / float64(len(fns)), median(b) / float64(len(base))
}

// median returns the middle value of v (sorted in place).
func median(v []float64) float64 {
	sort.Float64s(v)
	return v[len(v)/2]
}

// runKernelBench times every kernel format on the linear-layer shapes of
// SmolLM2-135M and Llama-3.2-1B (only's alone where only is not empty),
// GEMV (n=1, decode: weights in cache, and streamed from beyond L2) and GEMM
// (n=128, prefill), and reports each format's speed-up over f32.
func runKernelBench(ctx context.Context, only string, asJSON bool) error {
	shapes := []struct {
		model, name string
		rows, cols  int
	}{
		{"smollm2-135m", "smollm2 q/o 576x576", 576, 576}, {"smollm2-135m", "smollm2 up 1536x576", 1536, 576},
		{"smollm2-135m", "smollm2 down 576x1536", 576, 1536}, {"llama-3.2-1b", "llama1b q/o 2048x2048", 2048, 2048},
		{"llama-3.2-1b", "llama1b up 8192x2048", 8192, 2048}, {"llama-3.2-1b", "llama1b down 2048x8192", 2048, 8192},
	}
	var rows []kernelRow
	for _, sh := range shapes {
		if only != "" && sh.model != only {
			continue
		}
		w := make([]float32, sh.rows*sh.cols)
		for i := range w {
			w[i] = float32((i*7919)%2001-1000) / 20000
		}
		for _, n := range []int{1, 128} {
			x := make([]float32, n*sh.cols)
			for i := range x {
				x[i] = float32((i*104729)%2001-1000) / 1000
			}
			dst := make([]float32, n*sh.rows)
			var f32 float64
			var f32Copies []gemvFn // f32's streamed copies, timed alongside each format's
			var f32Pairs []float64 // f32's seconds per product in each of those pairs
			f32Row, f32Bytes := -1, 0.0
			for _, f := range kernelFormats {
				if err := ctx.Err(); err != nil {
					return err
				}
				fn := f.build(w, sh.rows, sh.cols)
				settle()
				sec := timeKernel(func() { fn(dst, x, n) })
				ops := 2 * float64(sh.rows) * float64(sh.cols) * float64(n)
				bytes := f.bytesPerW * float64(sh.rows*sh.cols)
				r := kernelRow{Shape: sh.name, Format: f.name, N: n, GOPS: ops / sec / 1e9,
					GBs: bytes / sec / 1e9, Kind: "gemv"}
				if n > 1 {
					r.Kind = "gemm"
				}
				if f.name == "f32" {
					f32 = sec
				}
				r.Speedup = f32 / sec
				if n == 1 {
					copies := streamCopies(func() gemvFn {
						wc := w
						if f.name == "f32" { // f32 reads w in place: each copy its own
							wc = append([]float32(nil), w...)
						}
						return f.build(wc, sh.rows, sh.cols)
					}, bytes, dst, x)
					if f.name == "f32" { // timed in the pairs below; its row is filled after them
						f32Copies, f32Row, f32Bytes = copies, len(rows), bytes
					} else {
						settle()
						ssec, f32sec := timeStreamPair(copies, f32Copies, dst, x)
						f32Pairs = append(f32Pairs, f32sec)
						r.StreamGOPS, r.StreamGBs, r.StreamSpeedup = ops/ssec/1e9, bytes/ssec/1e9, f32sec/ssec
					}
				}
				rows = append(rows, r)
			}
			if f32Row >= 0 && len(f32Pairs) > 0 {
				r, ssec := &rows[f32Row], median(f32Pairs)
				r.StreamGOPS, r.StreamGBs, r.StreamSpeedup = 2*float64(sh.rows*sh.cols)/ssec/1e9, f32Bytes/ssec/1e9, 1
			}
		}
	}
	if asJSON {
		return json.NewEncoder(os.Stdout).Encode(map[string]any{"cpu": kernels.Features(), "rows": rows})
	}
	fmt.Printf("kernels on %s, %d threads (GOP/s = 2·rows·cols·n / time; GB/s = weight bytes / time)\n", kernels.Features(), runtime.GOMAXPROCS(0))
	fmt.Printf("%-24s %-5s %-11s %9s %9s %9s   %12s %11s %9s\n", "shape", "kind", "format", "GOP/s", "GB/s", "vs f32", "stream GOP/s", "stream GB/s", "vs f32")
	for _, r := range rows {
		fmt.Printf("%-24s %-5s %-11s %9.1f %9.1f %8.2fx", r.Shape, r.Kind, r.Format, r.GOPS, r.GBs, r.Speedup)
		if r.StreamGOPS > 0 {
			fmt.Printf("   %12.1f %11.1f %8.2fx", r.StreamGOPS, r.StreamGBs, r.StreamSpeedup)
		}
		fmt.Println()
	}
	fmt.Printf("stream: each GEMV cycled over copies of its matrix, %d MiB of weights in all, so that every weight comes from beyond L2 as in a decode step; passes alternate with f32's own copies (vs f32 from the same window), f32's row is the median of those pairs\n", streamBytes>>20)
	return nil
}

// timeKernel returns the median seconds of one call of fn. Each sample times enough calls back
// to back to take 20 µs or more, and samples are taken for 200 ms (at least 5): a product of
// 2 µs gets thousands of samples spread over the whole window, so that a stall of a few ms (a
// descheduled worker) moves the median little. Timing each call alone, up to 200 of them, as
// before, covered 0.4 ms of a 2 µs product, and one run in six still had an in-cache
// SmolLM2-shape W4A8 GEMV at half its speed after the warm-up and GC.
func timeKernel(fn func()) float64 {
	fn() // warm up: caches, worker pool
	t0 := time.Now()
	fn()
	k := max(1, int(20*time.Microsecond/max(time.Since(t0), time.Nanosecond)))
	var ts []float64
	for start := time.Now(); len(ts) < 5 || (time.Since(start) < 200*time.Millisecond && len(ts) < 20000); {
		t0 := time.Now()
		for range k {
			fn()
		}
		ts = append(ts, time.Since(t0).Seconds()/float64(k))
	}
	return median(ts)
}
