package decode_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ghostline-dev/ghostline/decode"
	"github.com/ghostline-dev/ghostline/decode/decodetest"
)

// Ids of StarCoder's specials in the fake tokenizer.
const (
	eos       = 0
	fimPrefix = 1
	fimMiddle = 2
	fimSuffix = 3
	fileSep   = 6
)

func newEngine(t *testing.T, logits decodetest.LogitsFunc, opts decode.Options) (*decode.Engine, *decodetest.LM, *decodetest.Tokenizer) {
	t.Helper()
	return newEngineTok(t, decodetest.NewTokenizer(decodetest.StarCoderSpecials...), logits, opts)
}

func newEngineTok(t *testing.T, tok *decodetest.Tokenizer, logits decodetest.LogitsFunc, opts decode.Options) (*decode.Engine, *decodetest.LM, *decodetest.Tokenizer) {
	t.Helper()
	lm := decodetest.NewLM(tok.Vocab(), 8192, logits)
	e, err := decode.NewEngine(lm, tok, tok.Special(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	return e, lm, tok
}

// checkIdle verifies, with no request in flight, that only the prefix
// cache holds sequences and that its tree matches the KV cache.
func checkIdle(t *testing.T, e *decode.Engine, lm *decodetest.LM) {
	t.Helper()
	if err := decode.CheckCache(e, lm.SeqLen); err != nil {
		t.Fatal(err)
	}
	st := e.Stats().Cache
	if got := bits.OnesCount64(lm.Seqs()); got != st.Entries {
		t.Fatalf("%d sequences hold cells but the prefix cache has %d entries: a request leaked its sequence", got, st.Entries)
	}
	if free := decode.FreeSeqs(e); free+st.Entries != lm.MaxSeqs() {
		t.Fatalf("%d free sequence ids + %d entries != %d", free, st.Entries, lm.MaxSeqs())
	}
}

func TestScriptedCompletion(t *testing.T) {
	tok := decodetest.NewTokenizer(decodetest.StarCoderSpecials...)
	logits := decodetest.Script(tok, decodetest.HashLogits(4), eos,
		decodetest.ScriptRule{After: []int32{fimMiddle}, Write: "a + b"})
	e, lm, _ := newEngine(t, logits, decode.Options{Order: decode.PSM})
	res, err := e.Complete(context.Background(), decode.Request{
		Prefix: "def add(a, b):\n    return ", Suffix: "\n\nprint(add(1, 2))\n", Language: "python",
	})
	if err != nil {
		t.Fatal(err)
	}
	c := res.Completions[0]
	if c.Text != "a + b" || c.FinishReason != decode.FinishStop {
		t.Fatalf("completion %q (%s), want %q (stop)", c.Text, c.FinishReason, "a + b")
	}
	if len(c.Tokens) != 5 {
		t.Errorf("tokens %v: the end token must not be among them", c.Tokens)
	}
	if c.LogProb > 0 || math.IsInf(c.LogProb, 0) || math.IsNaN(c.LogProb) {
		t.Errorf("log-probability %v", c.LogProb)
	}
	st := res.Stats
	if st.PromptTokens == 0 || st.CachedTokens != 0 || st.ComputedTokens != st.PromptTokens || st.Generated != 6 {
		t.Errorf("stats %+v", st)
	}
	if st.TTFT <= 0 || st.Total < st.TTFT {
		t.Errorf("timings %+v", st)
	}
	checkIdle(t, e, lm)
}

// TestLineEndingsFollowTheDocument: completions come back with the
// document's line breaks whatever the model writes: an editor inserts the
// text as it is (Neovim would show a stray "\r" as ^M).
func TestLineEndingsFollowTheDocument(t *testing.T) {
	for _, tc := range []struct {
		name, prefix, suffix, write, want string
	}{
		{"crlf document, crlf model", "func f() {\r\n\tif x {\r\n\t\t", "\r\n\t}\r\n}\r\n", "a()\r\n\t\tb()\r\n\t}", "a()\r\n\t\tb()"},
		{"crlf document, lf model", "func f() {\r\n\tif x {\r\n\t\t", "\r\n\t}\r\n}\r\n", "a()\n\t\tb()\n\t}", "a()\r\n\t\tb()"},
		{"lf document, crlf model", "func f() {\n\tif x {\n\t\t", "\n\t}\n}\n", "a()\r\n\t\tb()\r\n\t}", "a()\n\t\tb()"},
		{"crlf closer", "func main() {\r\n\tfmt.Println(", ")\r\n}\r\n", "\"hi\")\r\n", "\"hi\""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok := decodetest.NewTokenizer(decodetest.StarCoderSpecials...)
			logits := decodetest.Script(tok, decodetest.HashLogits(1), eos,
				decodetest.ScriptRule{After: []int32{fimMiddle}, Write: tc.write})
			e, _, _ := newEngine(t, logits, decode.Options{Order: decode.PSM, DisableCache: true})
			res, err := e.Complete(context.Background(), decode.Request{Prefix: tc.prefix, Suffix: tc.suffix, Language: "go"})
			if err != nil {
				t.Fatal(err)
			}
			if got := res.Completions[0].Text; got != tc.want {
				t.Errorf("completion %q, want %q", got, tc.want)
			}
		})
	}
}

func TestSpecialTokensNeverReachOutput(t *testing.T) {
	tok := decodetest.NewTokenizer(decodetest.StarCoderSpecials...)
	for _, end := range []int32{eos, fimPrefix, fimMiddle, fimSuffix, 4, 5, fileSep} {
		logits := decodetest.Script(tok, decodetest.HashLogits(4), end,
			decodetest.ScriptRule{After: []int32{fimMiddle}, Write: "x := 1"})
		e, _, _ := newEngine(t, logits, decode.Options{Order: decode.PSM})
		res, err := e.Complete(context.Background(), decode.Request{Prefix: "func f() {\n\t", Suffix: "\n}\n"})
		if err != nil {
			t.Fatal(err)
		}
		c := res.Completions[0]
		if c.Text != "x := 1" || c.FinishReason != decode.FinishStop {
			t.Errorf("end token %d: completion %q (%s)", end, c.Text, c.FinishReason)
		}
	}
	// The special texts spelled out by ordinary tokens stop too.
	logits := decodetest.Script(tok, decodetest.HashLogits(4), eos,
		decodetest.ScriptRule{After: []int32{fimMiddle}, Write: "x := 1<file_sep>main.go"})
	e, _, _ := newEngine(t, logits, decode.Options{Order: decode.PSM})
	res, err := e.Complete(context.Background(), decode.Request{Prefix: "func f() {\n\t", Suffix: "\n}\n"})
	if err != nil {
		t.Fatal(err)
	}
	if c := res.Completions[0]; c.Text != "x := 1" {
		t.Errorf("spelled-out separator: completion %q", c.Text)
	}
}

// keystrokes simulates typing text after a fixed header: one request per
// character, as an editor with debounce off would send.
func keystrokes(header, text, suffix string) []decode.Request {
	var reqs []decode.Request
	for i := 1; i <= len(text); i++ {
		reqs = append(reqs, decode.Request{Prefix: header + text[:i], Suffix: suffix, Language: "go",
			Limits: decode.Limits{MaxTokens: 12}})
	}
	return reqs
}

const goHeader = `package main

import "fmt"

// Point is a point.
type Point struct{ X, Y int }

func main() {
`

func TestPrefixCacheGivesIdenticalResults(t *testing.T) {
	noEnd := decodetest.NoStop(decodetest.HashLogits(6), eos, fimPrefix, fimMiddle, fimSuffix, 4, 5, fileSep)
	for _, tc := range []struct {
		name  string
		order decode.Order
		beams decode.Beams
		samp  decode.Sampling
	}{
		{"psm-greedy", decode.PSM, decode.Beams{}, decode.Sampling{}},
		{"spm-greedy", decode.SPM, decode.Beams{}, decode.Sampling{}},
		{"spm-sampling", decode.SPM, decode.Beams{}, decode.Sampling{Temperature: 0.8, TopK: 40, TopP: 0.95, Seed: 7}},
		{"psm-beam3", decode.PSM, decode.Beams{Width: 3, N: 2}, decode.Sampling{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			run := func(disable bool) ([]*decode.Result, *decodetest.LM, *decode.Engine) {
				e, lm, _ := newEngine(t, noEnd, decode.Options{Order: tc.order, DisableCache: disable})
				var out []*decode.Result
				for _, r := range keystrokes(goHeader, "\tp := Point{X: 1}\n\tfmt.Println(p", "\n}\n") {
					r.Beams, r.Sampling = tc.beams, tc.samp
					r.Stop.Multiline = decode.MultilineAlways
					r.Stop.NoFilters = true
					res, err := e.Complete(context.Background(), r)
					if err != nil {
						t.Fatal(err)
					}
					out = append(out, res)
				}
				return out, lm, e
			}
			cached, lmC, eC := run(false)
			plain, lmP, _ := run(true)
			var reused int
			for i := range cached {
				a, b := cached[i].Completions, plain[i].Completions
				if len(a) != len(b) {
					t.Fatalf("keystroke %d: %d completions with the cache, %d without", i, len(a), len(b))
				}
				for k := range a {
					if a[k].Text != b[k].Text || a[k].LogProb != b[k].LogProb || fmt.Sprint(a[k].Tokens) != fmt.Sprint(b[k].Tokens) {
						t.Fatalf("keystroke %d completion %d: %q (%v) with the cache, %q (%v) without", i, k, a[k].Text, a[k].LogProb, b[k].Text, b[k].LogProb)
					}
				}
				reused += cached[i].Stats.CachedTokens
				if plain[i].Stats.CachedTokens != 0 {
					t.Fatalf("cache disabled but %d tokens reused", plain[i].Stats.CachedTokens)
				}
			}
			if reused == 0 {
				t.Fatal("the cache reused nothing")
			}
			// Typing at the end of the prefix: with SPM only the new tokens
			// are computed, with PSM also the suffix after them.
			if lmC.Evaluated()*3 > lmP.Evaluated() {
				t.Errorf("evaluated %d tokens with the cache, %d without: expected at least 3× fewer", lmC.Evaluated(), lmP.Evaluated())
			}
			checkIdle(t, eC, lmC)
		})
	}
}

// logProbOf recomputes a completion's log-probability from the fake's
// logits function directly, outside the engine.
func logProbOf(f decodetest.LogitsFunc, v int, prompt, toks []int32, end int32) float64 {
	h := append([]int32(nil), prompt...)
	l := make([]float32, v)
	var lp float64
	step := func(t int32) {
		f(h, l)
		mx := float32(math.Inf(-1))
		for _, x := range l {
			mx = max(mx, x)
		}
		var s float64
		for _, x := range l {
			s += math.Exp(float64(x - mx))
		}
		lp += float64(l[t]-mx) - math.Log(s)
		h = append(h, t)
	}
	for _, t := range toks {
		step(t)
	}
	if end >= 0 {
		step(end)
	}
	return lp
}

func TestBeamSearch(t *testing.T) {
	tok := decodetest.NewTokenizer(decodetest.StarCoderSpecials...)
	f := decodetest.HashLogits(3)
	e, lm, _ := newEngine(t, f, decode.Options{Order: decode.PSM})
	req := decode.Request{Prefix: "x = ", Suffix: "\n", Beams: decode.Beams{Width: 4, N: 3},
		Limits: decode.Limits{MaxTokens: 6}, Stop: decode.StopRules{NoFilters: true, Multiline: decode.MultilineAlways}}
	res, err := e.Complete(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if lm.MaxBatch() < 4 {
		t.Errorf("largest batch %d: the 4 beams should decode in one Forward", lm.MaxBatch())
	}
	if len(res.Completions) < 2 {
		t.Fatalf("%d completions, want up to 3", len(res.Completions))
	}
	pr, err := e.Template().Build(tok, decode.PromptInput{Prefix: req.Prefix, Suffix: req.Suffix})
	if err != nil {
		t.Fatal(err)
	}
	// Greedy, for comparison: beam search keeps the greedy path among its
	// candidates, so its best cannot be worse than greedy's at equal length
	// with no end token (this model never ends early with 6 tokens: checked).
	for i, c := range res.Completions {
		end := int32(-1)
		if c.FinishReason == decode.FinishStop {
			end = c.Tokens[len(c.Tokens)-1] // not stored: recompute below
			end = -1
		}
		want := logProbOf(f, lm.Vocab(), pr.Tokens, c.Tokens, end)
		if c.FinishReason != decode.FinishStop && math.Abs(want-c.LogProb) > 1e-6 {
			t.Errorf("completion %d: log-probability %v, recomputed %v", i, c.LogProb, want)
		}
		if i > 0 && c.LogProb > res.Completions[i-1].LogProb+1e-9 {
			t.Errorf("completions not sorted by log-probability: %v after %v", c.LogProb, res.Completions[i-1].LogProb)
		}
	}
	g, err := e.Complete(context.Background(), decode.Request{Prefix: req.Prefix, Suffix: req.Suffix,
		Limits: req.Limits, Stop: req.Stop})
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Completions[0].Tokens) == 6 && len(res.Completions[0].Tokens) == 6 && res.Completions[0].LogProb < g.Completions[0].LogProb-1e-9 {
		t.Errorf("beam best %v below greedy %v", res.Completions[0].LogProb, g.Completions[0].LogProb)
	}
	checkIdle(t, e, lm)
}

// TestBeamMargin: where the model is sure, beams far behind the best are
// dropped, so the search decodes fewer tokens per step and returns the
// same completion; with the margin off all four beams run to the end.
func TestBeamMargin(t *testing.T) {
	tok := decodetest.NewTokenizer(decodetest.StarCoderSpecials...)
	logits := decodetest.Script(tok, decodetest.HashLogits(1), eos,
		decodetest.ScriptRule{After: []int32{fimMiddle}, Write: "a + b"})
	run := func(margin float64) (string, int64) {
		e, lm, _ := newEngine(t, logits, decode.Options{Order: decode.PSM, DisableCache: true})
		res, err := e.Complete(context.Background(), decode.Request{Prefix: "return ", Suffix: "\n",
			Beams: decode.Beams{Width: 4, Margin: margin}, Stop: decode.StopRules{Multiline: decode.MultilineNever}})
		if err != nil {
			t.Fatal(err)
		}
		checkIdle(t, e, lm)
		return res.Completions[0].Text, e.Stats().BatchTokens - e.Stats().PromptComputed
	}
	text, pruned := run(0)
	textAll, all := run(-1)
	if text != "a + b" || textAll != "a + b" {
		t.Fatalf("completions %q (margin) and %q (no margin), want %q", text, textAll, "a + b")
	}
	if pruned >= all || pruned > 6 {
		t.Errorf("decoded %d tokens with the margin and %d without: the sure model should run one beam", pruned, all)
	}
}

// generated is the text a history holds after its last <fim_middle>: what
// a scripted model has written so far.
func generated(tok *decodetest.Tokenizer, h []int32) string {
	i := len(h) - 1
	for i >= 0 && h[i] != fimMiddle {
		i--
	}
	var b strings.Builder
	for _, id := range h[i+1:] {
		b.WriteString(tok.Piece(id))
	}
	return b.String()
}

// choices is a model that, after <fim_middle>, gives the tokens that
// next names for the text written so far their probabilities, and the
// rest of the vocabulary next to nothing.
func choices(tok *decodetest.Tokenizer, next func(gen string) map[int32]float64) decodetest.LogitsFunc {
	return func(h []int32, l []float32) {
		for i := range l {
			l[i] = -30
		}
		for id, p := range next(generated(tok, h)) {
			l[id] = float32(math.Log(p))
		}
	}
}

// TestBeamTailPrune: once a hypothesis has finished, live beams that score
// below it can never overtake it (scores only fall), so they stop costing
// a token each step; the beam that can still win runs on alone.
func TestBeamTailPrune(t *testing.T) {
	tok := decodetest.NewTokenizer(decodetest.StarCoderSpecials...)
	// The first token is a (0.6), b (0.3), c or d (0.05 each); after b the
	// model ends, after the others it spells "efgh..." with certainty. So
	// "b" finishes at log 0.3 while "a…" stays above it and "c…", "d…",
	// within the margin of "a…", stay below it.
	logits := choices(tok, func(gen string) map[int32]float64 {
		switch {
		case gen == "":
			return map[int32]float64{tok.ID('a'): 0.6, tok.ID('b'): 0.3, tok.ID('c'): 0.05, tok.ID('d'): 0.05}
		case gen == "b":
			return map[int32]float64{eos: 1}
		}
		return map[int32]float64{tok.ID(byte('e' + len(gen) - 1)): 1}
	})
	e, lm, _ := newEngine(t, logits, decode.Options{Order: decode.PSM, DisableCache: true})
	const maxTok = 12
	res, err := e.Complete(context.Background(), decode.Request{Prefix: "x = ", Suffix: "\n",
		Beams: decode.Beams{Width: 4}, Limits: decode.Limits{MaxTokens: maxTok},
		Stop: decode.StopRules{Multiline: decode.MultilineAlways, NoBlockEnd: true, NoFilters: true}})
	if err != nil {
		t.Fatal(err)
	}
	checkIdle(t, e, lm)
	if got, want := res.Completions[0].Text, "aefghijklmno"; got != want {
		t.Fatalf("completion %q, want %q", got, want)
	}
	// Step 1 decodes the four first tokens; after "b" ends, only "a…" runs.
	decoded := e.Stats().BatchTokens - e.Stats().PromptComputed
	if decoded > 4+maxTok {
		t.Errorf("decoded %d tokens: beams below the finished \"b\" kept running (want at most %d)", decoded, 4+maxTok)
	}
}

// TestBeamFloorCountsDistinctTexts: two hypotheses that the editor sees as
// one ("foo()" ended by an end token, and by a line break) are one of the N
// results, so they must not set the floor that drops the live beam of a
// second, different completion.
func TestBeamFloorCountsDistinctTexts(t *testing.T) {
	tok := decodetest.NewTokenizer(decodetest.StarCoderSpecials...)
	logits := choices(tok, func(gen string) map[int32]float64 {
		switch {
		case gen == "":
			return map[int32]float64{tok.ID('f'): 0.6, tok.ID('b'): 0.25}
		case gen == "foo()": // ends two ways, one text
			return map[int32]float64{eos: 0.5, tok.ID('\n'): 0.5}
		case gen == "barbaz()":
			return map[int32]float64{eos: 1}
		}
		for _, w := range []string{"foo()", "barbaz()"} {
			if strings.HasPrefix(w, gen) {
				return map[int32]float64{tok.ID(w[len(gen)]): 1}
			}
		}
		return nil
	})
	e, lm, _ := newEngine(t, logits, decode.Options{Order: decode.PSM, DisableCache: true})
	res, err := e.Complete(context.Background(), decode.Request{Prefix: "x = ", Suffix: "\n",
		Beams: decode.Beams{Width: 4, N: 2}, Limits: decode.Limits{MaxTokens: 12},
		Stop: decode.StopRules{Multiline: decode.MultilineNever, NoFilters: true}})
	if err != nil {
		t.Fatal(err)
	}
	checkIdle(t, e, lm)
	var texts []string
	for _, c := range res.Completions {
		texts = append(texts, c.Text)
	}
	if len(texts) != 2 || texts[0] != "foo()" || texts[1] != "barbaz()" {
		t.Errorf("completions %q, want [foo() barbaz()]", texts)
	}
}

// rejectX prunes any text containing an "x" and masks the digit "7".
type rejectX struct{ calls int }

func (r *rejectX) Judge(text string, _ int, final bool) (float64, bool) {
	r.calls++
	return 0, strings.Contains(text, "x")
}
func (r *rejectX) Allow(text, next string) bool { return !strings.Contains(next, "7") }

// TestCompletionReplacesAutoInsertedClosers: before a quote and closer the
// editor auto-inserted, a completion that writes them itself and goes on
// comes back whole with the bytes it replaces, where the syntax checker
// finds the resulting line sound; where it does not, the completion is
// cut where it closes the string and replaces nothing.
func TestCompletionReplacesAutoInsertedClosers(t *testing.T) {
	const prefix = "package main\n\nimport \"fmt\"\n\nfunc main() {\n\tname := \"x\"\n\tfmt.Println(\""
	const suffix = "\")\n}\n"
	for _, tc := range []struct {
		name, write string
		syntax      bool
		want        string
		replace     int
	}{
		{"no checker", `Hello, ", name)`, false, `Hello, ", name)`, 2},
		{"checker finds it sound", `Hello, ", name)`, true, `Hello, ", name)`, 2},
		{"checker finds the line broken", `Hello, ", name) x`, true, `Hello, `, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok := decodetest.NewTokenizer(decodetest.StarCoderSpecials...)
			logits := decodetest.Script(tok, decodetest.HashLogits(1), eos,
				decodetest.ScriptRule{After: []int32{fimMiddle}, Write: tc.write})
			e, _, _ := newEngine(t, logits, decode.Options{Order: decode.PSM, DisableCache: true})
			req := decode.Request{Prefix: prefix, Suffix: suffix, Language: "go"}
			var res *decode.Result
			if tc.syntax {
				res = completeWithSyntax(t, e, req)
			} else {
				var err error
				if res, err = e.Complete(context.Background(), req); err != nil {
					t.Fatal(err)
				}
			}
			if c := res.Completions[0]; c.Text != tc.want || c.Replace != tc.replace {
				t.Errorf("completion %q replacing %d, want %q replacing %d", c.Text, c.Replace, tc.want, tc.replace)
			}
		})
	}
}

func TestConstraintHook(t *testing.T) {
	tok := decodetest.NewTokenizer(decodetest.StarCoderSpecials...)
	// A model that would write "x7" first: the constraint must steer away.
	logits := decodetest.Script(tok, decodetest.HashLogits(2), eos,
		decodetest.ScriptRule{After: []int32{fimMiddle}, Write: "x7x7x7"})
	for _, w := range []int{1, 3} {
		e, lm, _ := newEngine(t, logits, decode.Options{Order: decode.PSM})
		con := &rejectX{}
		res, err := e.Complete(context.Background(), decode.Request{Prefix: "a = ", Suffix: "\n", Constraint: con,
			Beams: decode.Beams{Width: w, N: 1}, Limits: decode.Limits{MaxTokens: 8}})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range res.Completions {
			if strings.ContainsAny(c.Text, "x7") {
				t.Errorf("width %d: completion %q breaks the constraint", w, c.Text)
			}
		}
		if con.calls == 0 {
			t.Errorf("width %d: the constraint was never asked", w)
		}
		checkIdle(t, e, lm)
	}
}

// penaliseFirst penalises texts starting with a given byte.
type penaliseFirst struct{ b byte }

func (p penaliseFirst) Judge(text string, _ int, final bool) (float64, bool) {
	if text != "" && text[0] == p.b {
		return 1000, false
	}
	return 0, false
}

func TestConstraintPenaltyReranks(t *testing.T) {
	e, _, _ := newEngine(t, decodetest.HashLogits(3), decode.Options{Order: decode.PSM})
	req := decode.Request{Prefix: "v = ", Suffix: "\n", Beams: decode.Beams{Width: 4, N: 1},
		Limits: decode.Limits{MaxTokens: 6}, Stop: decode.StopRules{NoFilters: true, Multiline: decode.MultilineAlways}}
	free, err := e.Complete(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	first := free.Completions[0].Text
	if first == "" {
		t.Skip("unconstrained best is empty")
	}
	req.Constraint = penaliseFirst{first[0]}
	res, err := e.Complete(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	c := res.Completions[0]
	if c.Text != "" && c.Text[0] == first[0] {
		t.Errorf("penalised completion %q won (unconstrained best %q)", c.Text, first)
	}
}

func TestCancellationStopsWithinAStep(t *testing.T) {
	noEnd := decodetest.NoStop(decodetest.HashLogits(4), eos, fimPrefix, fimMiddle, fimSuffix, 4, 5, fileSep)
	e, lm, _ := newEngine(t, noEnd, decode.Options{Order: decode.PSM})
	lm.Delay = 20 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	var stepsAtCancel int
	go func() {
		time.Sleep(150 * time.Millisecond)
		stepsAtCancel = lm.Forwards()
		cancel()
	}()
	_, err := e.Complete(ctx, decode.Request{Prefix: "a = ", Suffix: "\n", Beams: decode.Beams{Width: 2},
		Limits: decode.Limits{MaxTokens: 10000}, Stop: decode.StopRules{Multiline: decode.MultilineAlways, NoBlockEnd: true}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	// Counting steps, not milliseconds, keeps the test exact on a loaded
	// machine: the step in flight at cancellation may finish, no other.
	if extra := lm.Forwards() - stepsAtCancel; extra > 1 {
		t.Errorf("%d engine steps ran after cancellation, want at most the one in flight", extra)
	}
	checkIdle(t, e, lm)
	// The engine goes on serving.
	if _, err := e.Complete(context.Background(), decode.Request{Prefix: "b = ", Limits: decode.Limits{MaxTokens: 3}}); err != nil {
		t.Fatal(err)
	}
}

func TestDeadlineReturnsBestSoFar(t *testing.T) {
	noEnd := decodetest.NoStop(decodetest.HashLogits(4), eos, fimPrefix, fimMiddle, fimSuffix, 4, 5, fileSep)
	e, lm, _ := newEngine(t, noEnd, decode.Options{Order: decode.PSM})
	lm.Delay = 5 * time.Millisecond
	start := time.Now()
	res, err := e.Complete(context.Background(), decode.Request{Prefix: "s = '", Suffix: "'\n",
		Limits: decode.Limits{MaxTokens: 100000, Deadline: start.Add(120 * time.Millisecond)},
		Stop:   decode.StopRules{Multiline: decode.MultilineAlways, NoBlockEnd: true, NoFilters: true}})
	if err != nil {
		t.Fatal(err)
	}
	c := res.Completions[0]
	if c.FinishReason != decode.FinishDeadline || len(c.Tokens) == 0 {
		t.Fatalf("completion %q (%s, %d tokens), want a partial result with reason deadline", c.Text, c.FinishReason, len(c.Tokens))
	}
	if el := time.Since(start); el > time.Second {
		t.Errorf("took %v for a 120ms deadline", el)
	}
	checkIdle(t, e, lm)
}

// A request waiting behind busy ones still ends at its deadline (with the
// empty result a deadline gives before the first token), not when a slot
// frees up.
func TestDeadlineWhileWaiting(t *testing.T) {
	noEnd := decodetest.NoStop(decodetest.HashLogits(4), eos, fimPrefix, fimMiddle, fimSuffix, 4, 5, fileSep)
	e, lm, _ := newEngine(t, noEnd, decode.Options{Order: decode.PSM, MaxActive: 1})
	lm.Delay = 5 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	busy := make(chan error, 1)
	go func() {
		_, err := e.Complete(ctx, decode.Request{Prefix: "a = ", Limits: decode.Limits{MaxTokens: 1 << 20},
			Stop: decode.StopRules{Multiline: decode.MultilineAlways, NoBlockEnd: true}})
		busy <- err
	}()
	for lm.Forwards() == 0 {
		time.Sleep(time.Millisecond)
	}
	waited := make(chan *decode.Result, 1)
	go func() {
		res, err := e.Complete(context.Background(), decode.Request{Prefix: "b = ",
			Limits: decode.Limits{Deadline: time.Now().Add(50 * time.Millisecond)}})
		if err != nil {
			t.Error(err)
		}
		waited <- res
	}()
	var res *decode.Result
	select {
	case res = <-waited:
	case <-time.After(10 * time.Second):
		t.Error("a waiting request outlived its deadline while another one ran")
		cancel()
		res = <-waited
	}
	cancel()
	if err := <-busy; !errors.Is(err, context.Canceled) {
		t.Fatalf("busy request: %v", err)
	}
	if res == nil {
		return
	}
	if c := res.Completions[0]; c.FinishReason != decode.FinishDeadline || c.Text != "" {
		t.Errorf("completion %q (%s), want an empty one with reason deadline", c.Text, c.FinishReason)
	}
	checkIdle(t, e, lm)
}

// A request that supersedes a cancelled one (the next keystroke) finds
// the cancelled one's prompt in the prefix cache when both reach the
// engine in the same step.
func TestSupersedingRequestReusesCancelledPrompt(t *testing.T) {
	noEnd := decodetest.NoStop(decodetest.HashLogits(4), eos, fimPrefix, fimMiddle, fimSuffix, 4, 5, fileSep)
	e, lm, _ := newEngine(t, noEnd, decode.Options{Order: decode.PSM})
	lm.Delay = 20 * time.Millisecond
	req := decode.Request{Prefix: goHeader + "\tx := ", Suffix: "\n}\n", Limits: decode.Limits{MaxTokens: 1 << 20},
		Stop: decode.StopRules{Multiline: decode.MultilineAlways, NoBlockEnd: true}}
	ctx, cancel := context.WithCancel(context.Background())
	first := make(chan error, 1)
	go func() {
		_, err := e.Complete(ctx, req)
		first <- err
	}()
	for lm.Forwards() < 3 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	req.Limits.MaxTokens = 2
	res, err := e.Complete(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if err := <-first; !errors.Is(err, context.Canceled) {
		t.Fatalf("first request: %v", err)
	}
	if st := res.Stats; st.CachedTokens < st.PromptTokens-1 {
		t.Errorf("%d of %d prompt tokens came from the cache, want all but the last", st.CachedTokens, st.PromptTokens)
	}
	checkIdle(t, e, lm)
}

// A prompt budget larger than the model's context is cut to fit it,
// leaving the completion its room: a large document still completes.
func TestPromptBudgetFitsTheContext(t *testing.T) {
	tok := decodetest.NewTokenizer(decodetest.StarCoderSpecials...)
	lm := decodetest.NewLM(tok.Vocab(), 8192, decodetest.NoStop(decodetest.HashLogits(4), eos, fimPrefix, fimMiddle, fimSuffix, 4, 5, fileSep))
	lm.Ctx = 300
	e, err := decode.NewEngine(lm, tok, tok.Special(), decode.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	res, err := e.Complete(context.Background(), decode.Request{
		Prefix: strings.Repeat("x = x + 1\n", 1000), Suffix: strings.Repeat("y = 2\n", 200),
		Limits: decode.Limits{MaxPromptTokens: 2048, MaxTokens: 40},
		Stop:   decode.StopRules{Multiline: decode.MultilineAlways, NoBlockEnd: true, NoFilters: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	st := res.Stats
	if st.PromptTokens+40 >= 300 {
		t.Errorf("prompt of %d tokens leaves no room for 40 in a context of 300", st.PromptTokens)
	}
	if c := res.Completions[0]; c.FinishReason != decode.FinishLength || len(c.Tokens) != 40 {
		t.Errorf("completion of %d tokens (%s), want 40 (length)", len(c.Tokens), c.FinishReason)
	}
}

func TestConcurrentRequestsBatchAndMatchSequential(t *testing.T) {
	noEnd := decodetest.NoStop(decodetest.HashLogits(5), eos, fimPrefix, fimMiddle, fimSuffix, 4, 5, fileSep)
	var reqs []decode.Request
	for i := 0; i < 12; i++ {
		r := decode.Request{Prefix: goHeader + fmt.Sprintf("\tv%d := ", i), Suffix: "\n}\n",
			Limits: decode.Limits{MaxTokens: 5 + i%4}, Stop: decode.StopRules{NoFilters: true, Multiline: decode.MultilineAlways}}
		if i%3 == 0 {
			r.Beams = decode.Beams{Width: 2, N: 2}
		}
		if i%3 == 1 {
			r.Sampling = decode.Sampling{Temperature: 0.7, Seed: uint64(i)}
		}
		reqs = append(reqs, r)
	}
	seqEngine, _, _ := newEngine(t, noEnd, decode.Options{DisableCache: true})
	want := make([]*decode.Result, len(reqs))
	for i, r := range reqs {
		res, err := seqEngine.Complete(context.Background(), r)
		if err != nil {
			t.Fatal(err)
		}
		want[i] = res
	}
	e, lm, _ := newEngine(t, noEnd, decode.Options{MaxActive: 6})
	lm.Delay = time.Millisecond // lets requests overlap
	got := make([]*decode.Result, len(reqs))
	var wg sync.WaitGroup
	for i, r := range reqs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := e.Complete(context.Background(), r)
			if err != nil {
				t.Error(err)
				return
			}
			got[i] = res
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	for i := range reqs {
		a, b := got[i].Completions, want[i].Completions
		if len(a) != len(b) {
			t.Fatalf("request %d: %d completions batched, %d alone", i, len(a), len(b))
		}
		for k := range a {
			if a[k].Text != b[k].Text || a[k].LogProb != b[k].LogProb {
				t.Errorf("request %d completion %d: %q batched, %q alone", i, k, a[k].Text, b[k].Text)
			}
		}
	}
	if s := e.Stats(); s.MaxBatchSeqs < 2 {
		t.Errorf("at most %d sequences per step: requests were not batched", s.MaxBatchSeqs)
	}
	checkIdle(t, e, lm)
}

func TestCacheBudgetEvicts(t *testing.T) {
	noEnd := decodetest.NoStop(decodetest.HashLogits(5), eos, fimPrefix, fimMiddle, fimSuffix, 4, 5, fileSep)
	// 1 KB per cell, 600 KB budget: about two prompts of ~250 tokens.
	e, lm, _ := newEngine(t, noEnd, decode.Options{CacheBytes: 600 * 1024})
	for i := 0; i < 8; i++ {
		_, err := e.Complete(context.Background(), decode.Request{Prefix: strings.Repeat(fmt.Sprintf("line %d\n", i), 30), Suffix: "\n",
			Limits: decode.Limits{MaxTokens: 4}})
		if err != nil {
			t.Fatal(err)
		}
		if used := lm.CacheUsed(); used > 600 {
			t.Fatalf("after request %d: %d cells used, budget 600", i, used)
		}
	}
	st := e.Stats().Cache
	if st.Evictions == 0 {
		t.Errorf("no evictions under a budget smaller than the requests: %+v", st)
	}
	checkIdle(t, e, lm)
}

func TestBadRequests(t *testing.T) {
	e, _, _ := newEngine(t, decodetest.HashLogits(1), decode.Options{Order: decode.PSM})
	for _, r := range []decode.Request{
		{Prefix: "a", Beams: decode.Beams{Width: 99}},
		{Prefix: "a", Beams: decode.Beams{Width: 2, N: 3}},
		{Prefix: "a", Sampling: decode.Sampling{Temperature: 1, MinP: 2}},
		{Prefix: "a", Limits: decode.Limits{MaxTokens: -1}},
		{Prefix: "a", Limits: decode.Limits{MaxPromptTokens: 5}},
	} {
		if _, err := e.Complete(context.Background(), r); err == nil {
			t.Errorf("request %+v: no error", r)
		}
	}
}

func TestClosedEngine(t *testing.T) {
	e, _, _ := newEngine(t, decodetest.HashLogits(1), decode.Options{Order: decode.PSM})
	e.Close()
	if _, err := e.Complete(context.Background(), decode.Request{Prefix: "a"}); !errors.Is(err, decode.ErrClosed) {
		t.Fatalf("error %v, want ErrClosed", err)
	}
}

// failingLM fails the Forward call number failAt and panics in the SeqCp
// call number panicCpAt (1-based; 0: never).
type failingLM struct {
	*decodetest.LM
	calls, failAt    int
	cpCalls, panicCp int
}

func (f *failingLM) SeqCp(src, dst decode.SeqID, p0, p1 int32) error {
	f.cpCalls++
	if f.cpCalls == f.panicCp {
		panic("injected SeqCp bug")
	}
	return f.LM.SeqCp(src, dst, p0, p1)
}

func (f *failingLM) Forward(b decode.Batch) ([]float32, error) {
	f.calls++
	if f.calls == f.failAt {
		return nil, errors.New("injected backend failure")
	}
	return f.LM.Forward(b)
}

// panicky panics on its third judgement.
type panicky struct{ n int }

func (p *panicky) Judge(string, int, bool) (float64, bool) {
	p.n++
	if p.n == 3 {
		panic("constraint bug")
	}
	return 0, false
}

func TestFailuresFailOneRequestAndEngineGoesOn(t *testing.T) {
	tok := decodetest.NewTokenizer(decodetest.StarCoderSpecials...)
	noEnd := decodetest.NoStop(decodetest.HashLogits(4), eos, fimPrefix, fimMiddle, fimSuffix, 4, 5, fileSep)
	inner := decodetest.NewLM(tok.Vocab(), 4096, noEnd)
	lm := &failingLM{LM: inner, failAt: 3}
	e, err := decode.NewEngine(lm, tok, tok.Special(), decode.Options{Order: decode.PSM})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	req := decode.Request{Prefix: "x = ", Suffix: "\n", Limits: decode.Limits{MaxTokens: 6}}
	if _, err := e.Complete(context.Background(), req); err == nil || !strings.Contains(err.Error(), "injected") {
		t.Fatalf("error %v, want the backend failure", err)
	}
	checkIdle(t, e, inner)
	if _, err := e.Complete(context.Background(), req); err != nil {
		t.Fatalf("after a backend failure: %v", err)
	}
	req.Constraint = &panicky{}
	if _, err := e.Complete(context.Background(), req); err == nil || !strings.Contains(err.Error(), "constraint bug") {
		t.Fatalf("error %v, want the recovered panic", err)
	}
	req.Constraint = nil
	if _, err := e.Complete(context.Background(), req); err != nil {
		t.Fatalf("after a panic: %v", err)
	}
	checkIdle(t, e, inner)
}

// Logits with a NaN or an infinity in them (corrupt weights, a broken
// backend) fail the request with ErrNonFinite instead of turning into
// noise tokens or a silently empty suggestion; the broken cells are not
// cached, and the engine serves the next request normally.
func TestNonFiniteLogitsFailTheRequest(t *testing.T) {
	var broken atomic.Value // func(int, []float32) or nil
	base := decodetest.NoStop(decodetest.HashLogits(4), eos, fimPrefix, fimMiddle, fimSuffix, 4, 5, fileSep)
	e, lm, _ := newEngine(t, func(h []int32, l []float32) {
		base(h, l)
		if f, _ := broken.Load().(func(int, []float32)); f != nil {
			f(len(h), l)
		}
	}, decode.Options{Order: decode.PSM})
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	cases := []struct {
		name    string
		late    bool // the logits break only after a few generated tokens
		corrupt func(n int, l []float32)
	}{
		{"one NaN", false, func(_ int, l []float32) { l[7] = nan }},
		{"all NaN", false, func(_ int, l []float32) {
			for i := range l {
				l[i] = nan
			}
		}},
		{"+Inf", false, func(_ int, l []float32) { l[9] = inf }},
		{"all -Inf", false, func(_ int, l []float32) {
			for i := range l {
				l[i] = -inf
			}
		}},
		// The prompt is 9–10 tokens: history beyond 12 is generated text.
		{"NaN after the prompt", true, func(n int, l []float32) {
			if n > 12 {
				l[3] = nan
			}
		}},
	}
	i := 0
	for _, tc := range cases {
		for _, width := range []int{1, 4} {
			i++ // a new prompt each time, so that only this request could cache it
			req := decode.Request{Prefix: fmt.Sprintf("x%d = ", i), Suffix: "\n", Limits: decode.Limits{MaxTokens: 8}, Beams: decode.Beams{Width: width},
				Stop: decode.StopRules{Multiline: decode.MultilineAlways, NoBlockEnd: true, NoSuffixStop: true}}
			entries := e.Stats().Cache.Entries
			broken.Store(tc.corrupt)
			r, err := e.Complete(context.Background(), req)
			if !errors.Is(err, decode.ErrNonFinite) {
				t.Fatalf("%s, width %d: got %+v, %v; want ErrNonFinite", tc.name, width, r, err)
			}
			if late := !strings.Contains(err.Error(), "at step 1"); late != tc.late {
				t.Errorf("%s, width %d: %v; want the failure %s the first step", tc.name, width, err, map[bool]string{false: "at", true: "after"}[tc.late])
			}
			checkIdle(t, e, lm)
			if got := e.Stats().Cache.Entries; got != entries {
				t.Errorf("%s, width %d: the failed request left %d entries in the prefix cache", tc.name, width, got-entries)
			}
			broken.Store(func(int, []float32) {})
			if _, err := e.Complete(context.Background(), req); err != nil {
				t.Fatalf("%s, width %d: after the failure: %v", tc.name, width, err)
			}
			if got := e.Stats().Cache.Entries; got != entries+1 {
				t.Errorf("%s, width %d: a healthy request added %d entries to the prefix cache, want 1", tc.name, width, got-entries)
			}
		}
	}
}

// A panic while a request is admitted (here: sharing its cached prefix)
// fails that request alone; it must not stay queued to be admitted again
// with a second sequence, leaking the first.
func TestPanicWhileAdmittingFailsTheRequest(t *testing.T) {
	tok := decodetest.NewTokenizer(decodetest.StarCoderSpecials...)
	noEnd := decodetest.NoStop(decodetest.HashLogits(4), eos, fimPrefix, fimMiddle, fimSuffix, 4, 5, fileSep)
	inner := decodetest.NewLM(tok.Vocab(), 4096, noEnd)
	lm := &failingLM{LM: inner, panicCp: 1}
	e, err := decode.NewEngine(lm, tok, tok.Special(), decode.Options{Order: decode.PSM})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	req := decode.Request{Prefix: "x = ", Suffix: "\n", Limits: decode.Limits{MaxTokens: 6}}
	if _, err := e.Complete(context.Background(), req); err != nil {
		t.Fatal(err) // nothing cached yet: no SeqCp
	}
	checkIdle(t, e, inner)
	var ie *decode.InternalError
	if _, err := e.Complete(context.Background(), req); !errors.As(err, &ie) || !strings.Contains(err.Error(), "SeqCp") {
		t.Fatalf("error %v, want the recovered panic", err)
	}
	checkIdle(t, e, inner)
	for range 3 {
		if _, err := e.Complete(context.Background(), req); err != nil {
			t.Fatalf("after a panic: %v", err)
		}
	}
	checkIdle(t, e, inner)
}

func TestPromptLargerThanCacheIsAnError(t *testing.T) {
	tok := decodetest.NewTokenizer(decodetest.StarCoderSpecials...)
	lm := decodetest.NewLM(tok.Vocab(), 64, decodetest.HashLogits(1))
	e, err := decode.NewEngine(lm, tok, tok.Special(), decode.Options{Order: decode.PSM})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	_, err = e.Complete(context.Background(), decode.Request{Prefix: strings.Repeat("a", 500)})
	if err == nil || !strings.Contains(err.Error(), "KV cache") {
		t.Fatalf("error %v", err)
	}
}

// A lone request whose completion outgrows the KV cache returns what it
// generated, as when the context window fills, instead of an error that
// would throw the suggestion away.
func TestKVCacheFullEndsADecodingRequestWithItsText(t *testing.T) {
	tok := decodetest.NewTokenizer(decodetest.StarCoderSpecials...)
	noEnd := decodetest.NoStop(decodetest.HashLogits(4), eos, fimPrefix, fimMiddle, fimSuffix, 4, 5, fileSep)
	for _, width := range []int{1, 4} {
		lm := decodetest.NewLM(tok.Vocab(), 64, noEnd)
		e, err := decode.NewEngine(lm, tok, tok.Special(), decode.Options{Order: decode.PSM})
		if err != nil {
			t.Fatal(err)
		}
		req := decode.Request{Prefix: strings.Repeat("a", 30), Suffix: "\n", Limits: decode.Limits{MaxTokens: 60},
			Beams: decode.Beams{Width: width, Margin: -1}, Stop: decode.StopRules{Multiline: decode.MultilineAlways, NoBlockEnd: true, NoFilters: true}}
		r, err := e.Complete(context.Background(), req)
		if err != nil {
			t.Fatalf("width %d: %v", width, err)
		}
		c := r.Completions[0]
		if c.FinishReason != decode.FinishContext || len(c.Tokens) < 10 || c.Text == "" {
			t.Errorf("width %d: %q (%d tokens), finish %q; want the text generated until the cache filled, finish %q",
				width, c.Text, len(c.Tokens), c.FinishReason, decode.FinishContext)
		}
		checkIdle(t, e, lm)
		e.Close()
	}
}

// Three requests that together outgrow the KV cache: the newest ones stop
// (an error while reading the prompt, finish "context" with their text
// while decoding) so that the oldest can finish whole.
func TestKVCacheFullStopsTheNewestRequest(t *testing.T) {
	tok := decodetest.NewTokenizer(decodetest.StarCoderSpecials...)
	noEnd := decodetest.NoStop(decodetest.HashLogits(4), eos, fimPrefix, fimMiddle, fimSuffix, 4, 5, fileSep)
	lm := decodetest.NewLM(tok.Vocab(), 400, noEnd)
	lm.Delay = 2 * time.Millisecond
	e, err := decode.NewEngine(lm, tok, tok.Special(), decode.Options{Order: decode.PSM})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	var wg sync.WaitGroup
	errs := make([]error, 3)
	results := make([]*decode.Result, 3)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = e.Complete(context.Background(), decode.Request{Prefix: strings.Repeat(fmt.Sprint(i), 150), Suffix: "\n",
				Limits: decode.Limits{MaxTokens: 60}, Stop: decode.StopRules{Multiline: decode.MultilineAlways, NoBlockEnd: true, NoFilters: true}})
		}()
	}
	wg.Wait()
	whole, stopped := 0, 0
	for i, err := range errs {
		switch {
		case err != nil && strings.Contains(err.Error(), "KV cache full"):
			stopped++
		case err != nil:
			t.Errorf("request %d: %v", i, err)
		case results[i].Completions[0].FinishReason == decode.FinishContext:
			stopped++
		case results[i].Completions[0].FinishReason == decode.FinishLength:
			whole++
		default:
			t.Errorf("request %d: finish %q", i, results[i].Completions[0].FinishReason)
		}
	}
	if whole == 0 || stopped == 0 {
		t.Errorf("%d requests finished whole and %d stopped for room; want at least one of each", whole, stopped)
	}
	checkIdle(t, e, lm)
}
