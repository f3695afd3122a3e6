package gguf

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the committed fuzz seed corpus in testdata/fuzz")

// TestSeedCorpus keeps testdata/fuzz/FuzzParse in step with the writer: a
// valid file, a vocabulary-like file, and truncated and bit-flipped copies.
// Run with -update to regenerate.
func TestSeedCorpus(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzParse")
	if !*update {
		entries, err := os.ReadDir(dir)
		if err != nil || len(entries) < 10 {
			t.Fatalf("seed corpus missing in %s (run go test -run TestSeedCorpus -update): %v", dir, err)
		}
		return
	}
	vocab := NewWriter()
	vocab.AddKV("general.architecture", StringValue("qwen2"))
	vocab.AddKV("tokenizer.ggml.model", StringValue("gpt2"))
	vocab.AddKV("tokenizer.ggml.tokens", StringsValue([]string{"<|endoftext|>", "a", "b", "ab"}))
	vocab.AddKV("tokenizer.ggml.token_type", Int32sValue([]int32{3, 1, 1, 1}))
	vocab.AddKV("tokenizer.ggml.merges", StringsValue([]string{"a b"}))
	vocab.AddKV("tokenizer.ggml.scores", Float32sValue([]float32{0, -1, -2, -3}))
	vocab.AddKV("general.alignment", Uint32Value(64))
	if err := vocab.AddTensor("token_embd.weight", Q8_0, []uint64{32, 4}, make([]byte, 4*34)); err != nil {
		t.Fatal(err)
	}
	seeds := map[string][]byte{"sample": encode(t, sample(t)), "vocab": encode(t, vocab)}
	for _, name := range []string{"sample", "vocab"} {
		data := seeds[name]
		for _, cut := range []int{4, 8, 24, 40, len(data) / 3, len(data) / 2, len(data) - 1} {
			seeds[fmt.Sprintf("%s-cut%d", name, cut)] = data[:cut]
		}
		for _, at := range []int{5, 12, 20, 30, 60, len(data) / 4, len(data) / 2} {
			flipped := append([]byte(nil), data...)
			flipped[at] ^= 0x80
			seeds[fmt.Sprintf("%s-flip%d", name, at)] = flipped
		}
	}
	os.RemoveAll(dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range seeds {
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", data)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
