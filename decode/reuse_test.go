package decode_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/ghostline-dev/ghostline/decode"
	"github.com/ghostline-dev/ghostline/decode/decodetest"
	"github.com/ghostline-dev/ghostline/model/gguf"
	"github.com/ghostline-dev/ghostline/model/store"
	"github.com/ghostline-dev/ghostline/model/tokenizer"
)

// TestKeystrokeReuseDefaultTokenizer measures the prefix cache's effect on
// the prompt tokens computed per keystroke, with the default model's real
// tokenizer and special tokens, for PSM and SPM: typing 300 characters in
// the middle of a real source file (this package's engine.go), one request
// per character. The forward pass is the pure-Go stand-in: with one
// generated token per request nothing generated enters the cache, so the
// counts do not depend on the model's numbers, only on the tokenizer, the
// prompt layout and the cache. Skips when the default model is not
// installed.
func TestKeystrokeReuseDefaultTokenizer(t *testing.T) {
	if testing.Short() {
		t.Skip("tokenizes 1,200 prompts")
	}
	st, err := store.OpenDefault()
	if err != nil {
		t.Skipf("no model store: %v", err)
	}
	path, err := st.Resolve("")
	if err != nil {
		t.Skipf("default model not installed: %v", err)
	}
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tk, err := tokenizer.FromGGUF(f)
	if err != nil {
		t.Fatal(err)
	}
	sp, err := decode.SpecialFromGGUF(f)
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("engine.go")
	if err != nil {
		t.Fatal(err)
	}
	text := string(src)
	start := strings.Index(text, "func (e *Engine) expand(")
	if start < 0 {
		t.Fatal("engine.go changed: pick another passage")
	}
	typed := text[start : start+300]
	// Two ways of typing the passage: "lines" as bench keystrokes replays
	// a file (the lines below the cursor's exist, so the suffix changes at
	// each new line); "insert" writes the passage into the file without it
	// (the suffix, the rest of the file, never changes).
	for _, sc := range []struct {
		name   string
		order  decode.Order
		insert bool
	}{{"lines", decode.PSM, false}, {"lines", decode.SPM, false}, {"insert", decode.PSM, true}, {"insert", decode.SPM, true}} {
		order := sc.order
		lm := decodetest.NewLM(tk.NumTokens(), 16384, func(h []int32, l []float32) {})
		e, err := decode.NewEngine(lm, decode.TokenizerLM{T: tk}, sp, decode.Options{Order: order})
		if err != nil {
			t.Fatal(err)
		}
		var cached, uncached, prompt int
		for i := 1; i <= len(typed); i++ {
			cur := start + i
			end := strings.IndexByte(text[cur:], '\n')
			if end < 0 {
				end = len(text) - cur
			}
			suffix := text[cur+end:]
			if sc.insert {
				suffix = text[start+len(typed):]
			}
			res, err := e.Complete(context.Background(), decode.Request{Prefix: text[:cur], Suffix: suffix, Language: "go",
				Path: "decode/engine.go", Limits: decode.Limits{MaxTokens: 1}})
			if err != nil {
				t.Fatal(err)
			}
			cached += res.Stats.ComputedTokens
			uncached += res.Stats.PromptTokens
			prompt = res.Stats.PromptTokens
		}
		e.Close()
		ratio := float64(uncached) / float64(cached)
		t.Logf("%s %s: %d keystrokes, last prompt %d tokens: %d prompt tokens computed with the cache, %d without (%.1f× fewer, %.1f per keystroke)",
			sc.name, order, len(typed), prompt, cached, uncached, ratio, float64(cached)/float64(len(typed)))
		if order == decode.SPM && ratio < 10 {
			t.Errorf("%s SPM: %.1f× fewer tokens with the cache, the target is ≥ 10×", sc.name, ratio)
		}
		if ratio < 1.5 {
			t.Errorf("%s %s: the cache spared almost nothing (%.1f×)", sc.name, order, ratio)
		}
	}
}
