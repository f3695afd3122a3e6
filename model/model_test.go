package model

import (
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ghostline-dev/ghostline/model/backend/cpu"
	"github.com/ghostline-dev/ghostline/model/gguf"
	"github.com/ghostline-dev/ghostline/model/tokenizer"
)

// tinyShape is small enough for fast tests, yet exercises GQA (4 heads, 2
// KV heads), k-quant super-blocks (256) and linear rope scaling.
var tinyShape = Shape{Layers: 2, Dim: 256, Heads: 4, KVHeads: 2, FFN: 512, Vocab: 300, ContextLen: 512, RopeBase: 1e4, RopeLinear: 2, NormEps: 1e-5}

// synthTiny writes a tiny random model to a temporary file and opens it.
func synthTiny(t testing.TB, arch, typ string, tied bool) *Model {
	t.Helper()
	s := tinyShape
	s.Tied = tied
	w, err := Synth(SynthOptions{Arch: arch, Shape: s, Type: typ, Seed: 42})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), arch+"-"+typ+".gguf")
	if err := w.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	return openModel(t, path)
}

func forwardAll(t testing.TB, m *Model, tokens []int32) []float32 {
	t.Helper()
	c := m.NewKVCache(len(tokens))
	want := make([]bool, len(tokens))
	for i := range want {
		want[i] = true
	}
	out, err := m.Forward(c, Batch{Tokens: tokens, Logits: want})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func testTokens(n, vocab int) []int32 {
	tok := make([]int32, n)
	for i := range tok {
		tok[i] = int32((i*7919 + 13) % vocab)
	}
	return tok
}

func relErr(got, want []float32) float64 {
	return maxAbsDiff(got, want) / rangeOf(want)
}

// TestSynthTypes makes the same random model in every file type and
// checks each against the f32 one: same weights up to quantization, so the
// logits must agree to within the type's precision. This runs every
// architecture × weight type without the shared fixtures.
func TestSynthTypes(t *testing.T) {
	limits := map[string]float64{ // fractions of the logit range
		// about twice the largest error measured over the three architectures
		"f16": 0.001, "bf16": 0.006, "q8_0": 0.015, "q6_k": 0.05, "q5_k_m": 0.1, "q5_1": 0.1,
		"q5_0": 0.1, "q4_k_m": 0.2, "q4_1": 0.2, "q4_0": 0.2,
	}
	tokens := testTokens(20, tinyShape.Vocab)
	for _, arch := range Architectures() {
		tied := arch != "llama"
		ref := forwardAll(t, synthTiny(t, arch, "f32", tied), tokens)
		for _, typ := range FileTypes() {
			if typ == "f32" {
				continue
			}
			t.Run(arch+"-"+typ, func(t *testing.T) {
				m := synthTiny(t, arch, typ, tied)
				got := forwardAll(t, m, tokens)
				e := relErr(got, ref)
				t.Logf("%s %s: max error %.4f of range", arch, typ, e)
				if e > limits[typ] || math.IsNaN(e) {
					t.Errorf("%s %s: error %.4f of range > %.4f", arch, typ, e, limits[typ])
				}
			})
		}
	}
}

// TestPrefillEqualsDecode checks that one batched prefill and token-by-token
// decoding over the KV cache give the same logits at every position.
func TestPrefillEqualsDecode(t *testing.T) {
	for _, arch := range Architectures() {
		t.Run(arch, func(t *testing.T) {
			m := synthTiny(t, arch, "q8_0", false)
			tokens := testTokens(24, m.Vocab)
			all := forwardAll(t, m, tokens)
			c := m.NewKVCache(64)
			for i, tok := range tokens {
				got, err := m.Decode(c, 0, int32(i), tok)
				if err != nil {
					t.Fatal(err)
				}
				want := all[i*m.Vocab : (i+1)*m.Vocab]
				if e := relErr(got, want); e > 1e-4 {
					t.Fatalf("position %d: decode differs from prefill by %.2g of range", i, e)
				}
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, w *gguf.Writer) string {
		p := filepath.Join(dir, name)
		if err := w.WriteFile(p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	w := gguf.NewWriter()
	w.AddKV("general.architecture", gguf.StringValue("gpt2"))
	if _, err := Open(write("gpt2.gguf", w), cpu.New(1)); err == nil || !strings.Contains(err.Error(), "llama, qwen2, starcoder2") {
		t.Errorf("unknown architecture: error %v does not list the supported ones", err)
	}

	// A llama model whose attn_q is Q2_K (unsupported here).
	s := tinyShape
	sw, err := Synth(SynthOptions{Arch: "llama", Shape: s, Type: "f32"})
	if err != nil {
		t.Fatal(err)
	}
	p := write("ok.gguf", sw)
	f, err := gguf.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w2 := gguf.NewWriter()
	for _, kv := range f.KVs {
		w2.AddKV(kv.Key, kv.Value)
	}
	for i := range f.Tensors {
		ti := &f.Tensors[i]
		typ, data := ti.Type, f.TensorData(ti)
		if ti.Name == "blk.0.attn_q.weight" {
			typ = gguf.TensorType(10) // Q2_K
			n, _ := typ.RowBytes(ti.Elements())
			data = make([]byte, n)
		}
		if err := w2.AddTensor(ti.Name, typ, ti.Dims, data); err != nil {
			t.Fatal(err)
		}
	}
	_, err = Open(write("q2k.gguf", w2), cpu.New(1))
	if err == nil || !strings.Contains(err.Error(), "blk.0.attn_q.weight") || !strings.Contains(err.Error(), "q4_K") {
		t.Errorf("unsupported tensor type: error %v should name the tensor and the supported types", err)
	}

	m := synthTiny(t, "llama", "f32", false)
	c := m.NewKVCache(4)
	if _, err := m.Forward(c, Batch{Tokens: []int32{int32(m.Vocab)}}); err == nil {
		t.Error("token outside the vocabulary: no error")
	}
	if _, err := m.Forward(c, Batch{Tokens: testTokens(5, m.Vocab)}); err == nil {
		t.Error("batch larger than the cache: no error")
	}
	if _, err := m.Forward(c, Batch{Tokens: []int32{1}, Pos: []int32{0}}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Forward(c, Batch{Tokens: []int32{1}, Pos: []int32{0}}); err == nil {
		t.Error("position stored twice: no error")
	}
	if _, err := m.Forward(c, Batch{Tokens: []int32{1}, Seq: []SeqID{1, 1}}); err == nil {
		t.Error("more sequence ids than tokens: no error") // it used to index past the positions
	}
	if c.Used() != 1 {
		t.Errorf("failed batches leaked cells: %d used, want 1", c.Used())
	}

	// Metadata that would make NaN or meaningless rotations.
	for _, tc := range []struct {
		key string
		v   gguf.Value
	}{
		{"llama.rope.freq_base", gguf.Float32Value(float32(math.NaN()))},
		{"llama.rope.freq_base", gguf.Float32Value(0)},
		{"llama.rope.dimension_count", gguf.Uint32Value(0)},
		{"llama.rope.dimension_count", gguf.Uint64Value(1 << 63)},
		{"llama.attention.layer_norm_rms_epsilon", gguf.Float32Value(float32(math.Inf(1)))},
	} {
		w3 := gguf.NewWriter()
		for _, kv := range f.KVs {
			w3.AddKV(kv.Key, kv.Value)
		}
		w3.AddKV(tc.key, tc.v)
		for i := range f.Tensors {
			ti := &f.Tensors[i]
			if err := w3.AddTensor(ti.Name, ti.Type, ti.Dims, f.TensorData(ti)); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := Open(write("bad-meta.gguf", w3), cpu.New(1)); err == nil || !strings.Contains(err.Error(), tc.key[len("llama."):]) {
			t.Errorf("%s = %s: error %v, want one naming the key", tc.key, tc.v.Format(), err)
		}
	}
}

// TestLlama2TinyRandom loads the ollama test model (llama arch, Llama-2
// SentencePiece vocabulary, f16 weights, default rope base) and runs it.
func TestLlama2TinyRandom(t *testing.T) {
	fx := fixtures(t)
	m := openModel(t, filepath.Join(fx, "models", "llama-2-tiny-random.gguf"))
	if m.Vocab != 32000 || m.Dim != 8 || m.Layers != 1 || m.Rope.Base != 10000 || m.Rope.Mode != 0 {
		t.Fatalf("config: %+v", m.Config)
	}
	all := forwardAll(t, m, []int32{1, 15043, 3186, 29871})
	for _, v := range all {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			t.Fatal("non-finite logit")
		}
	}
	c := m.NewKVCache(8)
	m.Forward(c, Batch{Tokens: []int32{1, 15043, 3186}})
	got, err := m.Decode(c, 0, 3, 29871)
	if err != nil {
		t.Fatal(err)
	}
	if e := relErr(got, all[3*m.Vocab:]); e > 1e-4 {
		t.Errorf("decode differs from prefill by %.2g of range", e)
	}
}

// TestSynthWithVocab embeds a real tokenizer (the starcoder vocabulary
// fixture) in a synthesized model: the vocabulary size follows it, the
// tokenizer loads from the model file, and generation runs on real text.
func TestSynthWithVocab(t *testing.T) {
	fx := fixtures(t)
	vf, err := gguf.Open(filepath.Join(fx, "vocab", "ggml-vocab-starcoder.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	defer vf.Close()
	s := tinyShape
	s.Tied = true
	w, err := Synth(SynthOptions{Arch: "starcoder2", Shape: s, Type: "q4_0", Vocab: vf, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "sc2.gguf")
	if err := w.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	m := openModel(t, path)
	if m.Vocab != 49152 {
		t.Fatalf("n_vocab %d, want the vocabulary's 49152", m.Vocab)
	}
	tok, err := tokenizer.FromGGUF(m.File())
	if err != nil {
		t.Fatal(err)
	}
	ids := tok.Encode("def add(a, b):\n    return", tok.DefaultOptions(true))
	c := m.NewKVCache(len(ids) + 4)
	logits, err := m.Forward(c, Batch{Tokens: ids})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		id, _ := Argmax(logits)
		if logits, err = m.Decode(c, 0, int32(len(ids)+i), int32(id)); err != nil {
			t.Fatal(err)
		}
	}
	if ft, _ := m.File().Uint("general.file_type"); ft != 2 {
		t.Errorf("general.file_type %d, want 2 (MOSTLY_Q4_0)", ft)
	}
}

// TestSynthRowsDistinct guards against chunks of a tensor sharing a random
// stream (which once made every 1,170th embedding row identical).
func TestSynthRowsDistinct(t *testing.T) {
	s := tinyShape
	s.Dim, s.Heads, s.KVHeads, s.Vocab = 896, 14, 2, 3000 // 896 does not divide the chunk size
	w, err := Synth(SynthOptions{Arch: "qwen2", Shape: s, Type: "f32", Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "m.gguf")
	if err := w.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	te, _ := f.Tensor("token_embd.weight")
	data := f.TensorData(te)
	seen := map[string]int{}
	for r := 0; r < s.Vocab; r++ {
		key := string(data[r*896*4 : r*896*4+64])
		if prev, ok := seen[key]; ok {
			t.Fatalf("embedding rows %d and %d start alike", prev, r)
		}
		seen[key] = r
	}
}
