package decode_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/ghostline-dev/ghostline/decode"
	"github.com/ghostline-dev/ghostline/model"
)

func fixtureModel(t testing.TB, name string) string {
	t.Helper()
	p := filepath.Join("..", "..", "shared", "fixtures", "models", name)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("%s is absent (../shared not here): skipping the real-model test", p)
	}
	return p
}

// TestRealModelMatchesPlainGreedy runs the engine on the tiny fixture
// models and checks its greedy tokens against a plain loop over
// model.Forward on a fresh KV cache, with and without a cached prefix.
func TestRealModelMatchesPlainGreedy(t *testing.T) {
	for _, name := range []string{"qwen2-f32.gguf", "llama-dscoder-f32.gguf", "starcoder2-q8_0.gguf"} {
		t.Run(name, func(t *testing.T) {
			// Healing constrains the first tokens (TestTokenHealing), so it
			// is off here: the engine must equal the plain loop exactly.
			l, err := decode.Load(fixtureModel(t, name), decode.LoadOptions{Threads: 2, KVCells: 2048, Engine: decode.Options{NoHealing: true}})
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			req := decode.Request{
				Prefix: "def fib(n):\n    if n < 2:\n        return n\n    return ", Suffix: "\n\nprint(fib(10))\n", Language: "python",
				Limits: decode.Limits{MaxTokens: 10},
				Stop:   decode.StopRules{Multiline: decode.MultilineAlways, NoBlockEnd: true, NoSuffixStop: true, NoFilters: true},
			}
			pr, err := l.Template().Build(decode.TokenizerLM{T: l.Tokenizer}, decode.PromptInput{Prefix: req.Prefix, Suffix: req.Suffix, Language: "python"})
			if err != nil {
				t.Fatal(err)
			}
			if !pr.FIM {
				t.Fatalf("%s: no FIM tokens found", name)
			}
			// Reference: plain greedy loop.
			c, err := l.Model.NewKVCacheType(len(pr.Tokens)+16, decode.KVType)
			if err != nil {
				t.Fatal(err)
			}
			logits, err := l.Model.Forward(c, model.Batch{Tokens: pr.Tokens})
			if err != nil {
				t.Fatal(err)
			}
			var want []int32
			for len(want) < 10 {
				id, _ := model.Argmax(logits)
				if l.Special().IsStop(int32(id)) {
					break
				}
				want = append(want, int32(id))
				if logits, err = l.Model.Decode(c, 0, int32(len(pr.Tokens)+len(want)-1), int32(id)); err != nil {
					t.Fatal(err)
				}
			}
			for round := 0; round < 2; round++ {
				res, err := l.Complete(context.Background(), req)
				if err != nil {
					t.Fatal(err)
				}
				got := res.Completions[0].Tokens
				if !slices.Equal(got, want) {
					t.Errorf("round %d: engine tokens %v, plain greedy %v", round, got, want)
				}
				if round == 1 && res.Stats.CachedTokens != len(pr.Tokens)-1 {
					t.Errorf("second identical request reused %d of %d prompt tokens", res.Stats.CachedTokens, len(pr.Tokens))
				}
				if res.Stats.PromptTokens != len(pr.Tokens) {
					t.Errorf("prompt tokens %d, want %d", res.Stats.PromptTokens, len(pr.Tokens))
				}
			}
		})
	}
}

// TestRealModelMovedRuns replays edits that move most of the prompt on the
// fixture models: the engine copies the moved runs (model.SeqCpShift, keys
// rotated) instead of evaluating them, and the KV cache stays consistent
// with the prefix cache's tree throughout.
func TestRealModelMovedRuns(t *testing.T) {
	reqs, names := movedSession()
	for _, name := range []string{"qwen2-q8_0.gguf", "llama-dscoder-f32.gguf"} {
		t.Run(name, func(t *testing.T) {
			l, err := decode.Load(fixtureModel(t, name), decode.LoadOptions{Threads: 2, KVCells: 4096, Engine: decode.Options{ReuseRun: decode.DefaultReuseRun}})
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			holds := func(s decode.SeqID) int { return len(l.LM.C.SeqPositions(model.SeqID(s))) }
			for i, r := range reqs {
				res, err := l.Complete(context.Background(), r)
				if err != nil {
					t.Fatalf("%s: %v", names[i], err)
				}
				st := res.Stats
				if names[i] == "line break over a line" && (st.MovedTokens == 0 || st.ComputedTokens*10 > st.PromptTokens) {
					t.Errorf("%s: %d of %d prompt tokens computed, %d moved", names[i], st.ComputedTokens, st.PromptTokens, st.MovedTokens)
				}
				if err := decode.CheckCache(l.Engine, holds); err != nil {
					t.Fatalf("after %s: %v", names[i], err)
				}
			}
		})
	}
}
