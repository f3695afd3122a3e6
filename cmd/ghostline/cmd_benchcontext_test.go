package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ghostline-dev/ghostline/decode"
	"github.com/ghostline-dev/ghostline/projectgraph"
	"github.com/ghostline-dev/ghostline/projectgraph/ctxbench"
)

func TestLocalWindow(t *testing.T) {
	count := func(s string) int { return len(s) } // one token per byte
	prefix := "aaaa\nbbbb\ncccc\n\t"
	suffix := "\ndddd\neeee\n"
	for _, tc := range []struct {
		p, s             int
		wantPre, wantSuf string
	}{
		{100, 100, prefix, suffix},
		{10, 6, "cccc\n\t", "\ndddd\n"}, // 1+5 fit, 5 more do not
		{0, 0, "\t", ""},                // the cursor's line stays
		{15, 1, "bbbb\ncccc\n\t", "\n"}, // whole lines only
	} {
		pre, suf := localWindow(count, prefix, suffix, tc.p, tc.s)
		if pre != tc.wantPre || suf != tc.wantSuf {
			t.Errorf("localWindow(%d, %d) = %q, %q; want %q, %q", tc.p, tc.s, pre, suf, tc.wantPre, tc.wantSuf)
		}
	}
}

func TestCompletionModeScores(t *testing.T) {
	var m benchCompletionMode
	for _, c := range []struct {
		got, truth string
		ms         int
	}{
		{"x = f(a)  ", "x = f(a)", 30}, // trailing whitespace does not count
		{"\tx = f(a)", "x = f(a)", 10}, // an extra tab does, except ignoring the lead
		{"y", "x", 20},                 // wrong: edit similarity 0
		{"", "", 40},                   // both empty: exact
	} {
		m.add(c.got, c.truth, decode.Stats{PromptTokens: 100, Total: time.Duration(c.ms) * time.Millisecond}, 7)
	}
	m.finish()
	want := benchCompletionMode{Targets: 4, ExactMatch: 0.5, ExactIgnoringLead: 0.75, EditSimilarity: roundMilli((1 + 8.0/9 + 0 + 1) / 4),
		P50ms: 20, PromptTokens: 100, ContextTokens: 7}
	m.lat = nil
	if !reflect.DeepEqual(m, want) {
		t.Errorf("scores %+v\nwant   %+v", m, want)
	}
}

// The completion path on a tiny random model: every mode completes every
// case, the per-target rows add up to the report, and the context modes'
// blocks reach the prompt (larger prompts than without context).
func TestContextCompletionFixture(t *testing.T) {
	model := fixture(t, "qwen2-q8_0.gguf")
	root := t.TempDir()
	files := map[string]string{
		"go.mod":    "module m\n\ngo 1.21\n",
		"a/a.go":    "package a\n\n// ZebraQuux doubles giraffe.\nfunc ZebraQuux(giraffe int) int { return 2 * giraffe }\n\n// Okapi is a counter.\ntype Okapi struct{ N int }\n",
		"a/b.go":    "package a\n\nfunc helper(x int) int {\n\treturn ZebraQuux(x) + 1\n}\n",
		"c/main.go": "package c\n\nimport \"m/a\"\n\nfunc f() int {\n\tgiraffe := 1\n\tvar o a.Okapi\n\treturn a.ZebraQuux(giraffe) + o.N\n}\n",
	}
	for p, c := range files {
		full := filepath.Join(root, filepath.FromSlash(p))
		os.MkdirAll(filepath.Dir(full), 0o755)
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	ix, err := projectgraph.Open(ctx, root, projectgraph.Options{NoCache: true})
	if err != nil {
		t.Fatal(err)
	}
	rec, err := ctxbench.Recall(ctx, ix, ctxbench.Options{Root: root, Packages: []string{"./..."}, Targets: 10, Budgets: []int{256},
		Seed: 1, Cases: 3, CaseBudget: completeContextBudget})
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.Cases) != 3 {
		t.Fatalf("%d cases, want 3", len(rec.Cases))
	}
	l, err := decode.Load(model, decode.LoadOptions{Threads: 2, Engine: completeEngineOptions()})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var rows, progress bytes.Buffer
	rep, err := runContextCompletion(ctx, l, rec.Cases, "m", &rows, &progress)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Targets != 3 || len(rep.Modes) != len(completeModes) {
		t.Fatalf("report: %d targets, modes %v", rep.Targets, rep.Modes)
	}
	for _, name := range completeModes {
		m := rep.Modes[name]
		if m == nil || m.Targets != 3 {
			t.Fatalf("mode %s: %+v, want 3 targets", name, m)
		}
		if m.Trimmed != 0 {
			t.Errorf("mode %s: %d prompts trimmed; the window and the context should fit", name, m.Trimmed)
		}
		if m.ExactMatch < 0 || m.ExactMatch > m.ExactIgnoringLead || m.ExactIgnoringLead > 1 || m.EditSimilarity < 0 || m.EditSimilarity > 1 || m.P50ms <= 0 {
			t.Errorf("mode %s: figures out of range: %+v", name, m)
		}
	}
	if rep.Modes["none"].ContextTokens != 0 || rep.Modes["projectgraph"].ContextTokens <= 0 {
		t.Errorf("context tokens: none %v, projectgraph %v", rep.Modes["none"].ContextTokens, rep.Modes["projectgraph"].ContextTokens)
	}
	// Per target: the context modes' prompts hold their blocks.
	prompt := map[string]map[string]int{} // path:line → mode → prompt tokens
	blocks := map[string]map[string]int{}
	sc := bufio.NewScanner(&rows)
	n := 0
	for sc.Scan() {
		var r benchCompletionRow
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		n++
		k := fmt.Sprintf("%s:%d", r.Path, r.Line)
		if prompt[k] == nil {
			prompt[k], blocks[k] = map[string]int{}, map[string]int{}
		}
		prompt[k][r.Mode], blocks[k][r.Mode] = r.PromptTokens, r.ContextBlocks
		if strings.Contains(r.Completion, "\n") {
			t.Errorf("%s (%s): single-line completion holds a newline: %q", k, r.Mode, r.Completion)
		}
	}
	if n != 3*len(completeModes) {
		t.Errorf("%d rows, want %d", n, 3*len(completeModes))
	}
	for k, p := range prompt {
		if blocks[k]["projectgraph"] == 0 {
			t.Errorf("%s: no projectgraph blocks", k)
		}
		for _, mode := range []string{"jaccard", "projectgraph"} {
			if blocks[k][mode] > 0 && p[mode] <= p["none"] {
				t.Errorf("%s: %s prompt %d tokens, none %d: the context did not reach the prompt", k, mode, p[mode], p["none"])
			}
		}
	}
	if !strings.Contains(progress.String(), "completing") {
		t.Errorf("no progress bar on stderr: %q", progress.String())
	}
	// The JSON shape and the table.
	b, _ := json.Marshal(rep)
	var m map[string]any
	json.Unmarshal(b, &m)
	if k := keysOf(m); !reflect.DeepEqual(k, []string{"context_budget", "model", "modes", "prefix_window_tokens", "suffix_window_tokens", "targets"}) {
		t.Errorf("completion keys %v", k)
	}
	if k := keysOf(m["modes"].(map[string]any)["none"].(map[string]any)); !reflect.DeepEqual(k, []string{"context_tokens_mean", "edit_similarity", "exact_match", "exact_match_ignoring_leading_ws", "p50_ms", "prompt_tokens_mean", "prompts_trimmed", "targets"}) {
		t.Errorf("mode keys %v", k)
	}
	var md bytes.Buffer
	rep.markdown(&md)
	for _, name := range completeModes {
		if !strings.Contains(md.String(), "| "+name+" |") {
			t.Errorf("table lacks %s:\n%s", name, md.String())
		}
	}
}
