package model

import (
	"bytes"
	"testing"

	"github.com/ghostline-dev/ghostline/model/backend/cpu"
	"github.com/ghostline-dev/ghostline/model/gguf"
)

// fuzzSeed is a whole valid model small enough for the fuzzer to mutate
// usefully (1 layer, width 32, 16 tokens).
func fuzzSeed(f *testing.F, arch, typ string) []byte {
	s := Shape{Layers: 1, Dim: 32, Heads: 2, KVHeads: 1, FFN: 64, Vocab: 16, ContextLen: 64, RopeBase: 1e4, NormEps: 1e-5, Tied: arch != "llama"}
	w, err := Synth(SynthOptions{Arch: arch, Shape: s, Type: typ, Seed: 3})
	if err != nil {
		f.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		f.Fatal(err)
	}
	return buf.Bytes()
}

// FuzzLoad feeds mutated model files to Load and, when they load, runs a
// small batch: malformed metadata or tensors must give errors, never
// panics or hangs.
func FuzzLoad(f *testing.F) {
	for _, arch := range Architectures() {
		f.Add(fuzzSeed(f, arch, "f32"), int32(3))
		f.Add(fuzzSeed(f, arch, "q8_0"), int32(15))
	}
	be := cpu.New(1)
	f.Fuzz(func(t *testing.T, data []byte, tok int32) {
		gf, err := gguf.Parse(data)
		if err != nil {
			return
		}
		m, err := Load(gf, be)
		if err != nil {
			return
		}
		if m.Dim*m.Layers > 1<<16 || m.Vocab > 1<<12 || m.FFN > 1<<12 {
			return // valid but too large to run quickly
		}
		c := m.NewKVCache(4)
		m.Forward(c, Batch{Tokens: []int32{tok, 1}})
	})
}
