package native

import (
	"math"
	"testing"
)

// BenchmarkSmolLM2 reports prefill and decode tokens/s at the SmolLM2-135M
// shape with random weights (f32 and bf16 weight storage).
func BenchmarkSmolLM2(b *testing.B) {
	for _, f := range []WeightFormat{FormatF32, FormatBF16} {
		m, err := RandomModel(SmolLM2Shape(), f, 1)
		if err != nil {
			b.Fatal(err)
		}
		prompt := make([]Row, 128)
		for i := range prompt {
			prompt[i] = Row{Token: i * 17, Pos: i}
		}
		b.Run("prefill128/"+string(f), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if _, err := m.Forward(prompt, []*KVCache{m.NewCache()}, []int{127}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(128*b.N)/b.Elapsed().Seconds(), "tok/s")
		})
		b.Run("decode/"+string(f), func(b *testing.B) {
			cache := []*KVCache{m.NewCache()}
			if _, err := m.Forward(prompt, cache, []int{127}); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				cache[0].Truncate(128)
				if _, err := m.Forward([]Row{{Token: 5, Pos: 128}}, cache, []int{0}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tok/s")
			b.ReportMetric(float64(m.DecodeWeightBytes())*float64(b.N)/b.Elapsed().Seconds()/1e9, "weightGB/s")
		})
	}
}

// TestBenchBatch: a batched measurement decodes every sequence (each
// continues the shared prompt in its own cache) and counts one KV cache per
// sequence in the bytes of a step.
func TestBenchBatch(t *testing.T) {
	cfg := SmolLM2Shape()
	cfg.Hidden, cfg.Layers, cfg.Heads, cfg.KVHeads, cfg.HeadDim, cfg.Intermediate, cfg.Vocab = 64, 2, 4, 2, 16, 128, 300
	m, err := RandomModel(cfg, FormatF32, 1)
	if err != nil {
		t.Fatal(err)
	}
	const prompt, steps = 5, 3
	kv := int64(cfg.Layers) * int64(2*cfg.KVHeads*cfg.HeadDim) * 4 * (prompt + steps/2)
	for _, batch := range []int{1, 4} {
		r := Bench(m, prompt, steps, 1, batch)
		if r.Batch != batch || r.DecodeTokens != steps || !(r.DecodeTokPerS > 0) || !(r.PrefillTokPerS > 0) {
			t.Fatalf("batch %d: %+v", batch, r)
		}
		if want := m.DecodeWeightBytes() + int64(batch)*kv; r.DecodeBytesTok != want {
			t.Errorf("batch %d: %d bytes per step, want %d", batch, r.DecodeBytesTok, want)
		}
		if gb := float64(r.DecodeBytesTok) * r.DecodeTokPerS / float64(batch) / 1e9; math.Abs(gb-r.DecodeGBPerS) > 1e-9*gb {
			t.Errorf("batch %d: %.6g GB/s, want %.6g (bytes per step × steps/s)", batch, r.DecodeGBPerS, gb)
		}
	}
}
