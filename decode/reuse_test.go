package decode_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

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
	// (the suffix, the rest of the file, never changes). "line ends" moves
	// the cursor, nothing typed, to the end of each of the next 40 lines,
	// with and without reusing runs at moved positions (Options.ReuseRun).
	docs := map[string][][2]string{}
	for i := 1; i <= len(typed); i++ {
		cur := start + i
		end := strings.IndexByte(text[cur:], '\n')
		if end < 0 {
			end = len(text) - cur
		}
		docs["lines"] = append(docs["lines"], [2]string{text[:cur], text[cur+end:]})
		docs["insert"] = append(docs["insert"], [2]string{text[:cur], text[start+len(typed):]})
	}
	for cur := start; len(docs["line ends"]) < 40; cur++ {
		if text[cur] == '\n' {
			docs["line ends"] = append(docs["line ends"], [2]string{text[:cur], text[cur:]})
		}
	}
	for _, sc := range []struct {
		name  string
		order decode.Order
		moved bool
	}{
		{"lines", decode.PSM, false}, {"lines", decode.SPM, false},
		{"insert", decode.PSM, false}, {"insert", decode.SPM, false},
		{"line ends", decode.SPM, false}, {"line ends", decode.SPM, true},
	} {
		order := sc.order
		lm := decodetest.NewLM(tk.NumTokens(), 16384, func(h []int32, l []float32) {})
		opts := decode.Options{Order: order}
		if sc.moved {
			opts.ReuseRun = decode.DefaultReuseRun
		}
		e, err := decode.NewEngine(lm, decode.TokenizerLM{T: tk}, sp, opts)
		if err != nil {
			t.Fatal(err)
		}
		var cached, uncached, prompt int
		for _, d := range docs[sc.name] {
			res, err := e.Complete(context.Background(), decode.Request{Prefix: d[0], Suffix: d[1], Language: "go",
				Path: "decode/engine.go", Limits: decode.Limits{MaxTokens: 1}})
			if err != nil {
				t.Fatal(err)
			}
			cached += res.Stats.ComputedTokens
			uncached += res.Stats.PromptTokens
			prompt = res.Stats.PromptTokens
		}
		e.Close()
		n := len(docs[sc.name])
		ratio := float64(uncached) / float64(cached)
		t.Logf("%s %s (moved runs %v): %d requests, last prompt %d tokens: %d prompt tokens computed with the cache, %d without (%.1f× fewer, %.1f per request)",
			sc.name, order, sc.moved, n, prompt, cached, uncached, ratio, float64(cached)/float64(n))
		switch {
		case sc.name == "line ends" && !sc.moved:
			// Each move changes the prompt after its first tokens: the
			// cache spares next to nothing without moved runs.
		case sc.name == "line ends":
			// The text of the new line ends is all that is new.
			if ratio < 5 {
				t.Errorf("line ends with moved runs: %.1f× fewer tokens, want ≥ 5×", ratio)
			}
		case order == decode.SPM && ratio < 10:
			t.Errorf("%s SPM: %.1f× fewer tokens with the cache, the target is ≥ 10×", sc.name, ratio)
		case ratio < 1.5:
			t.Errorf("%s %s: the cache spared almost nothing (%.1f×)", sc.name, order, ratio)
		}
	}
}

// movedSession is a series of edits in a Go function of 40 distinct
// lines: each request's prefix and suffix as an editor would send them,
// and the edit's name.
func movedSession() (reqs []decode.Request, names []string) {
	var lines []string
	for i := range 40 {
		lines = append(lines, fmt.Sprintf("\tv%02d := compute(%d, \"step %d\")\n", i, i*7, i))
	}
	doc := goHeader + strings.Join(lines, "") + "}\n"
	at := func(line int) int { return len(goHeader) + len(strings.Join(lines[:line], "")) }
	add := func(name, prefix, suffix string) {
		names = append(names, name)
		reqs = append(reqs, decode.Request{Prefix: prefix, Suffix: suffix, Language: "go", Limits: decode.Limits{MaxTokens: 8},
			Stop: decode.StopRules{Multiline: decode.MultilineAlways, NoFilters: true}})
	}
	// The cursor moves about the unchanged document (moved runs may be
	// reused), then edits change it (they may not: the cached cells have
	// seen the old text).
	add("cursor", doc[:at(10)], doc[at(10):])
	add("cursor down 1 line", doc[:at(11)], doc[at(11):])
	add("cursor down 5 lines", doc[:at(16)], doc[at(16):])
	add("cursor up 8 lines", doc[:at(8)], doc[at(8):])
	add("edit: a line deleted after the cursor", doc[:at(8)], doc[at(9):])
	add("edit: a line inserted below", doc[:at(8)], doc[at(9):at(20)]+"\tx := 1\n"+doc[at(20):])
	add("unrelated text", "package other\n", "\n")
	return reqs, names
}

// TestMovedRunsGiveIdenticalResults moves the cursor about a document:
// the engine reuses runs of the previous prompt at their new positions,
// computing a small part of each prompt, but not after an edit. The fake
// model's cells hold only tokens, so moved runs are exact there:
// completions must equal those of an engine without a cache.
func TestMovedRunsGiveIdenticalResults(t *testing.T) {
	noEnd := decodetest.NoStop(decodetest.HashLogits(6), eos, fimPrefix, fimMiddle, fimSuffix, 4, 5, fileSep)
	reqs, names := movedSession()
	for _, tc := range []struct {
		name  string
		order decode.Order
		beams decode.Beams
	}{
		{"spm-greedy", decode.SPM, decode.Beams{}},
		{"psm-greedy", decode.PSM, decode.Beams{}},
		{"spm-beam3", decode.SPM, decode.Beams{Width: 3, N: 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			run := func(opts decode.Options) ([]*decode.Result, *decodetest.LM, *decode.Engine) {
				opts.Order = tc.order
				e, lm, _ := newEngine(t, noEnd, opts)
				var out []*decode.Result
				for _, r := range reqs {
					r.Beams = tc.beams
					res, err := e.Complete(context.Background(), r)
					if err != nil {
						t.Fatal(err)
					}
					out = append(out, res)
				}
				return out, lm, e
			}
			moved, lmM, eM := run(decode.Options{ReuseRun: decode.DefaultReuseRun})
			exact, _, _ := run(decode.Options{})
			plain, _, _ := run(decode.Options{DisableCache: true})
			for i, name := range names {
				a, b := moved[i].Completions, plain[i].Completions
				if fmt.Sprint(completionTexts(a)) != fmt.Sprint(completionTexts(b)) || a[0].LogProb != b[0].LogProb {
					t.Errorf("%s: %q with moved runs, %q without a cache", name, completionTexts(a), completionTexts(b))
				}
				sm, se := moved[i].Stats, exact[i].Stats
				t.Logf("%s: %d prompt tokens, %d computed with moved runs (%d moved), %d with the prefix only",
					name, sm.PromptTokens, sm.ComputedTokens, sm.MovedTokens, se.ComputedTokens)
				if se.MovedTokens != 0 {
					t.Errorf("%s: ReuseRun 0 moved %d tokens", name, se.MovedTokens)
				}
				if sm.CachedTokens+sm.ComputedTokens != sm.PromptTokens {
					t.Errorf("%s: %d cached + %d computed != %d prompt tokens", name, sm.CachedTokens, sm.ComputedTokens, sm.PromptTokens)
				}
				switch {
				case strings.HasPrefix(name, "cursor "):
					// The same text, cut elsewhere: most of the prompt is
					// in runs of the previous one; what the budget now
					// lets in (5 more lines of suffix) is new.
					if sm.MovedTokens == 0 || sm.ComputedTokens*5 > sm.PromptTokens {
						t.Errorf("%s: %d of %d prompt tokens computed (%d moved), want at most a fifth", name, sm.ComputedTokens, sm.PromptTokens, sm.MovedTokens)
					}
				default:
					// The first request, an edit, unrelated text: only
					// the cached prefix.
					if sm.MovedTokens != 0 || sm.CachedTokens != se.CachedTokens {
						t.Errorf("%s: %d tokens reused (%d moved), want only the %d of the cached prefix", name, sm.CachedTokens, sm.MovedTokens, se.CachedTokens)
					}
				}
			}
			if lmM.Moved() == 0 {
				t.Error("the model copied no cells")
			}
			checkIdle(t, eM, lmM)
		})
	}
}

func completionTexts(cs []decode.Completion) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Text)
	}
	return out
}

// TestCancelledMovedPrefillLeavesACleanCache cancels a request whose
// prompt reuses moved runs while its gaps are still being evaluated: what
// the cache keeps of it must be a gapless prefix (the tree's invariant),
// and the request sent again completes as an engine without a cache does.
func TestCancelledMovedPrefillLeavesACleanCache(t *testing.T) {
	noEnd := decodetest.NoStop(decodetest.HashLogits(6), eos, fimPrefix, fimMiddle, fimSuffix, 4, 5, fileSep)
	reqs, _ := movedSession()
	e, lm, _ := newEngine(t, noEnd, decode.Options{Order: decode.SPM, PrefillChunk: 4, ReuseRun: decode.DefaultReuseRun})
	if _, err := e.Complete(context.Background(), reqs[0]); err != nil {
		t.Fatal(err)
	}
	// Moving the cursor down 5 lines leaves gaps: the suffix's new end in
	// the middle of the prompt, the prefix's new lines at its end.
	edit := reqs[2]
	lm.Delay = 20 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	start := lm.Forwards()
	go func() {
		_, err := e.Complete(ctx, edit)
		done <- err
	}()
	for lm.Forwards() < start+1 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled request: %v", err)
	}
	checkIdle(t, e, lm)
	lm.Delay = 0
	got, err := e.Complete(context.Background(), edit)
	if err != nil {
		t.Fatal(err)
	}
	plainE, _, _ := newEngine(t, noEnd, decode.Options{Order: decode.SPM, DisableCache: true})
	want, err := plainE.Complete(context.Background(), edit)
	if err != nil {
		t.Fatal(err)
	}
	if got.Completions[0].Text != want.Completions[0].Text {
		t.Errorf("after the cancelled prefill: %q, without a cache %q", got.Completions[0].Text, want.Completions[0].Text)
	}
	checkIdle(t, e, lm)
}

// TestMovedRunsWithoutRoomFallBack: when the KV cache has no room for the
// copies of moved runs, making room evicts the very prompt they would come
// from; the request then evaluates its whole prompt, and completes as an
// engine without a cache does.
func TestMovedRunsWithoutRoomFallBack(t *testing.T) {
	noEnd := decodetest.NoStop(decodetest.HashLogits(6), eos, fimPrefix, fimMiddle, fimSuffix, 4, 5, fileSep)
	reqs, _ := movedSession()
	tok := decodetest.NewTokenizer(decodetest.StarCoderSpecials...)
	lm := decodetest.NewLM(tok.Vocab(), 1000, noEnd) // one prompt and its completion, not two
	e, err := decode.NewEngine(lm, tok, tok.Special(), decode.Options{Order: decode.SPM, ReuseRun: decode.DefaultReuseRun})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	plain, _, _ := newEngine(t, noEnd, decode.Options{Order: decode.SPM, DisableCache: true})
	for _, r := range reqs[:2] {
		got, err := e.Complete(context.Background(), r)
		if err != nil {
			t.Fatal(err)
		}
		want, err := plain.Complete(context.Background(), r)
		if err != nil {
			t.Fatal(err)
		}
		if got.Completions[0].Text != want.Completions[0].Text {
			t.Errorf("%q, without a cache %q", got.Completions[0].Text, want.Completions[0].Text)
		}
		if got.Stats.MovedTokens != 0 || got.Stats.ComputedTokens != got.Stats.PromptTokens {
			t.Errorf("%d of %d prompt tokens computed, %d moved: want all computed", got.Stats.ComputedTokens, got.Stats.PromptTokens, got.Stats.MovedTokens)
		}
		checkIdle(t, e, lm)
	}
}
