package model

import (
	"path/filepath"
	"testing"
)

// benchShape is Qwen2.5-Coder-0.5B's layer shape with 4 layers and a 4,096
// vocabulary: per-layer costs as in the real model, synthesized in well
// under a second. Multiply the layer part by 6 for the full 24 layers.
var benchShape = Shape{Layers: 4, Dim: 896, Heads: 14, KVHeads: 2, FFN: 4864, Vocab: 4096, ContextLen: 4096, RopeBase: 1e6, NormEps: 1e-6, Tied: true}

func benchModel(b *testing.B, typ string) *Model {
	b.Helper()
	w, err := Synth(SynthOptions{Arch: "qwen2", Shape: benchShape, Type: typ, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(b.TempDir(), "bench.gguf")
	if err := w.WriteFile(path); err != nil {
		b.Fatal(err)
	}
	return openModel(b, path)
}

// BenchmarkDecode times one decode step after a 64-token prompt (the step
// is removed again after each iteration so the context stays at 64).
func BenchmarkDecode(b *testing.B) {
	for _, typ := range []string{"q8_0", "q4_k_m", "f16"} {
		b.Run(typ, func(b *testing.B) {
			m := benchModel(b, typ)
			c := m.NewKVCache(128)
			if _, err := m.Forward(c, Batch{Tokens: testTokens(64, m.Vocab)}); err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if _, err := m.Decode(c, 0, 64, 7); err != nil {
					b.Fatal(err)
				}
				c.SeqRm(0, 64, -1)
			}
		})
	}
}

// BenchmarkPrefill times a 64-token prompt in one batch.
func BenchmarkPrefill(b *testing.B) {
	for _, typ := range []string{"q8_0", "q4_k_m"} {
		b.Run(typ, func(b *testing.B) {
			m := benchModel(b, typ)
			c := m.NewKVCache(64)
			tokens := testTokens(64, m.Vocab)
			for b.Loop() {
				c.Clear()
				if _, err := m.Forward(c, Batch{Tokens: tokens}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSynth times making the 4-layer benchShape model in Q4_K_M
// (random values plus quantization, all cores); b.SetBytes is the output
// size.
func BenchmarkSynth(b *testing.B) {
	for b.Loop() {
		w, err := Synth(SynthOptions{Arch: "qwen2", Shape: benchShape, Type: "q4_k_m", Seed: 1, Progress: func(done, total int64) { b.SetBytes(total) }})
		if err != nil || w == nil {
			b.Fatal(err)
		}
	}
}
