package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ghostline-dev/ghostline/decode/fimbench"
)

func TestKeystrokeDocs(t *testing.T) {
	text := "ab\ncd\n"
	want := [][3]string{
		{"a", "\ncd\n", "b"}, {"ab", "\ncd\n", ""}, {"ab\n", "\n", "cd"}, {"ab\nc", "\n", "d"}, {"ab\ncd", "\n", ""}, {"ab\ncd\n", "", ""},
	}
	if got := keystrokeDocs(text, 0, 0); !reflect.DeepEqual(got, want) {
		t.Errorf("keystrokeDocs = %q\nwant %q", got, want)
	}
	if got := keystrokeDocs("é𝄞", 0, 0); len(got) != 2 || got[0][0] != "é" {
		t.Errorf("one keystroke per code point: %q", got)
	}
	if got := keystrokeDocs(text, 0, 2); len(got) != 2 {
		t.Errorf("limit 2: %d keystrokes", len(got))
	}
	if got := keystrokeDocs(text, 3, 1); !reflect.DeepEqual(got, want[3:4]) {
		t.Errorf("from the second line: %q, want %q", got, want[3:4])
	}
	ends := [][3]string{{"ab", "\ncd\n", ""}, {"ab\ncd", "\n", ""}}
	if got := lineEndDocs(text, 0, 0); !reflect.DeepEqual(got, ends) {
		t.Errorf("lineEndDocs = %q\nwant %q", got, ends)
	}
	if got := lineEndDocs(text, 3, 0); !reflect.DeepEqual(got, ends[1:]) {
		t.Errorf("lineEndDocs from the second line = %q, want %q", got, ends[1:])
	}
}

func TestBenchKeystrokesJSON(t *testing.T) {
	model := fixture(t, "qwen2-q8_0.gguf")
	src := filepath.Join(t.TempDir(), "a.py")
	text := "def add(a, b):\n    return a + b\n\n\nprint(add(1, 2))\n"
	os.WriteFile(src, []byte(text), 0o644)
	for _, order := range []string{"psm", "spm"} {
		var out bytes.Buffer
		comps := filepath.Join(t.TempDir(), "completions.jsonl")
		err := runBenchKeys(benchKeysFlags{file: src, model: model, json: true, maxTokens: 2, order: order, threads: 2, fromLine: 1, completions: comps}, &out, &bytes.Buffer{})
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(out.Bytes(), &m); err != nil {
			t.Fatal(err)
		}
		if k := keysOf(m); !reflect.DeepEqual(k, []string{"computed_tokens_cached", "computed_tokens_uncached", "keystrokes", "moved_tokens", "p50_ms", "p99_ms", "ttft_p50_ms", "ttft_p99_ms"}) {
			t.Errorf("keys %v", k)
		}
		var r benchKeysReport
		json.Unmarshal(out.Bytes(), &r)
		if r.Keystrokes != len(text) {
			t.Errorf("%d keystrokes, want %d (one per character)", r.Keystrokes, len(text))
		}
		// --completions: one record per keystroke, with the line's rest.
		b, err := os.ReadFile(comps)
		if err != nil {
			t.Fatal(err)
		}
		recs := strings.Split(strings.TrimSpace(string(b)), "\n")
		var first keystrokeRecord
		if err := json.Unmarshal([]byte(recs[0]), &first); err != nil {
			t.Fatal(err)
		}
		if len(recs) != r.Keystrokes || first.Keystroke != 1 || first.Truth != "ef add(a, b):" || first.Prompt == 0 {
			t.Errorf("--completions: %d records, the first %+v", len(recs), first)
		}
		// Typing changes the prompt right after the cursor. In SPM order
		// only the new tokens are computed, so the cache must spare most of
		// the work; in PSM order the suffix after the cursor is computed
		// again at every keystroke, so it can only spare the prefix.
		if order == "spm" && r.ComputedTokensCached*3 > r.ComputedTokensUncached {
			t.Errorf("%s: %d tokens computed with the cache, %d without", order, r.ComputedTokensCached, r.ComputedTokensUncached)
		}
		if r.ComputedTokensCached >= r.ComputedTokensUncached {
			t.Errorf("%s: the cache spared nothing (%d vs %d)", order, r.ComputedTokensCached, r.ComputedTokensUncached)
		}
	}
}

func TestBenchFIMJSON(t *testing.T) {
	model := fixture(t, "qwen2-q8_0.gguf")
	dir := t.TempDir()
	set := writeFIMTasks(t, dir)
	results := filepath.Join(dir, "results.jsonl")
	var out, errb bytes.Buffer
	err := runBenchFIM(benchFIMFlags{set: set, model: model, beams: 1, astguard: "off", json: true, out: results, maxTokens: 4, order: "psm", multiline: "auto", threads: 2}, &out, &errb)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(out.Bytes(), &m); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	if k := keysOf(m); !reflect.DeepEqual(k, []string{"decode_tok_s", "edit_similarity", "exact_match", "p50_ms", "p99_ms", "pass_at_1", "pass_at_1_tasks", "syntax_tasks", "syntax_valid", "tasks"}) {
		t.Errorf("keys %v", k)
	}
	if m["tasks"].(float64) != 2 {
		t.Errorf("tasks %v", m["tasks"])
	}
	b, _ := os.ReadFile(results)
	if n := bytes.Count(b, []byte("\n")); n != 2 {
		t.Errorf("%d result lines, want 2", n)
	}
	// Rows written with other flags are never resumed into this run's
	// figures.
	errb.Reset()
	err = runBenchFIM(benchFIMFlags{set: set, model: model, beams: 1, astguard: "off", json: true, out: results, resume: true, maxTokens: 5, order: "psm", multiline: "auto", threads: 2}, &out, &errb)
	if err == nil || !strings.Contains(err.Error(), "another setup") {
		t.Errorf("resume with another --max-tokens: %v", err)
	}
	if err := runBenchFIM(benchFIMFlags{set: filepath.Join(dir, "missing.jsonl"), beams: 1, astguard: "off", maxTokens: 4}, &out, &errb); err == nil {
		t.Error("missing set: no error")
	}
}

func TestBenchAstguardJSON(t *testing.T) {
	model := fixture(t, "qwen2-q8_0.gguf")
	dir := t.TempDir()
	set := writeFIMTasks(t, dir)
	results := filepath.Join(dir, "results.jsonl")
	var out, errb bytes.Buffer
	err := runBenchAstguard(benchFIMFlags{set: set, model: model, json: true, out: results, maxTokens: 4, order: "psm", multiline: "auto", threads: 2}, &out, &errb)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(out.Bytes(), &m); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	if k := keysOf(m); !reflect.DeepEqual(k, []string{"beam4", "beam4_astguard", "beam4_token_cost", "greedy", "invalid_fixed", "latency_overhead", "prompt_p50_ms", "tasks"}) {
		t.Errorf("keys %v", k)
	}
	for _, cfg := range []string{"greedy", "beam4", "beam4_astguard"} {
		if r, _ := m[cfg].(map[string]any); r == nil || r["tasks"].(float64) != 2 {
			t.Errorf("%s: %v", cfg, m[cfg])
		}
	}
	// One result line per task and configuration, each naming its
	// configuration.
	b, _ := os.ReadFile(results)
	for _, cfg := range []string{`"config":"greedy"`, `"config":"beam4"`, `"config":"beam4_astguard"`} {
		if n := bytes.Count(b, []byte(cfg+",")); n != 2 {
			t.Errorf("%d result lines with %s, want 2", n, cfg)
		}
	}
}

// writeFIMTasks writes a two-task set, one HumanEval-infilling and one
// SAFIM task, and returns its path.
func writeFIMTasks(t *testing.T, dir string) string {
	t.Helper()
	set := filepath.Join(dir, "tasks.jsonl")
	err := os.WriteFile(set, []byte(`{"task_id": "t/1", "entry_point": "add", "prompt": "def add(a, b):\n", "suffix": "\n", "canonical_solution": "    return a + b\n", "test": "def check(candidate):\n    assert candidate(1, 2) == 3\n"}
{"lang": "python", "prompt": "x", "eval_prompt": "a, b = map(int, input().split())\n{{completion}}\n", "ground_truth": "print(a + b)", "unit_tests": [{"input": "1 2", "output": ["3"]}], "task_id": "t/2"}
`), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// TestBenchAstguardResume interrupts a run after the first task's rows and
// part of the second's, and checks that --resume redoes only the second
// task, keeps one row per task and configuration, and reports over both.
func TestBenchAstguardResume(t *testing.T) {
	model := fixture(t, "qwen2-q8_0.gguf")
	dir := t.TempDir()
	set := writeFIMTasks(t, dir)
	results := filepath.Join(dir, "results.jsonl")
	o := benchFIMFlags{set: set, model: model, json: true, out: results, maxTokens: 4, order: "psm", multiline: "auto", threads: 2, noExec: true}
	var full, errb bytes.Buffer
	if err := runBenchAstguard(o, &full, &errb); err != nil {
		t.Fatal(err)
	}
	whole, _ := os.ReadFile(results)
	lines := bytes.SplitAfter(whole, []byte("\n"))
	// Three rows of the first task, one of the second, and a row cut short.
	cut := append(bytes.Join(lines[:4], nil), lines[4][:10]...)
	os.WriteFile(results, cut, 0o644)

	o.resume = true
	var resumed bytes.Buffer
	errb.Reset()
	if err := runBenchAstguard(o, &resumed, &errb); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(errb.Bytes(), []byte("resuming: 1 of 2 tasks already in")) {
		t.Errorf("stderr %q does not report the resume", errb.String())
	}
	var a, b benchAstguardReport
	json.Unmarshal(full.Bytes(), &a)
	json.Unmarshal(resumed.Bytes(), &b)
	for i, pair := range [][2]benchFIMReport{{a.Greedy, b.Greedy}, {a.Beam4, b.Beam4}, {a.Beam4Astguard, b.Beam4Astguard}} {
		x, y := pair[0], pair[1]
		if y.Tasks != 2 || x.ExactMatch != y.ExactMatch || x.EditSimilarity != y.EditSimilarity || x.SyntaxValid == nil || y.SyntaxValid == nil || *x.SyntaxValid != *y.SyntaxValid || x.SyntaxTasks != y.SyntaxTasks {
			t.Errorf("%s: resumed report %+v, whole run %+v", astguardConfigs[i].name, y, x)
		}
	}
	got, _ := os.ReadFile(results)
	for _, cfg := range []string{`"config":"greedy"`, `"config":"beam4"`, `"config":"beam4_astguard"`} {
		if n := bytes.Count(got, []byte(cfg+",")); n != 2 {
			t.Errorf("%d result lines with %s after the resume, want 2:\n%s", n, cfg, got)
		}
	}
	if !bytes.HasPrefix(got, bytes.Join(lines[:3], nil)) {
		t.Error("the finished task's rows were not kept as they were")
	}

	// Rows of another command's configuration are not dropped to resume.
	os.WriteFile(results, lines[0], 0o644)
	if err := runBenchFIM(benchFIMFlags{set: set, model: model, beams: 1, astguard: "off", out: results, resume: true, maxTokens: 4, order: "psm", multiline: "auto", noExec: true}, &bytes.Buffer{}, &bytes.Buffer{}); err == nil {
		t.Error("bench fim resumed from bench astguard's rows")
	}
	if b, _ := os.ReadFile(results); !bytes.Equal(b, lines[0]) {
		t.Error("the refused resume changed the results file")
	}
}

// A task whose reference solution fails in the harness (a C# task written
// for a newer compiler, here a wrong expected output) is not measured:
// no completion could pass it, so it must not count as a failure.
func TestBenchFIMReferenceFails(t *testing.T) {
	model := fixture(t, "qwen2-q8_0.gguf")
	if _, err := fimbench.NewSandbox(time.Second, 1<<30); err != nil {
		t.Skipf("no sandbox here: %v", err)
	}
	dir := t.TempDir()
	set := filepath.Join(dir, "tasks.jsonl")
	os.WriteFile(set, []byte(`{"lang": "python", "prompt": "x", "eval_prompt": "a, b = map(int, input().split())\n{{completion}}\n", "ground_truth": "print(a + b)", "unit_tests": [{"input": "1 2", "output": ["4"]}], "task_id": "t/bad"}`+"\n"), 0o644)
	results := filepath.Join(dir, "results.jsonl")
	var out, errb bytes.Buffer
	if err := runBenchFIM(benchFIMFlags{set: set, model: model, beams: 1, astguard: "off", json: true, out: results, maxTokens: 4, order: "psm", multiline: "auto", threads: 2}, &out, &errb); err != nil {
		t.Fatal(err)
	}
	var rep benchFIMReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	var row benchFIMTask
	b, _ := os.ReadFile(results)
	json.Unmarshal(b, &row)
	if rep.PassAt1 != nil || rep.PassAt1Tasks != 0 || row.Passed != nil || !strings.Contains(row.Reason, "reference solution") {
		t.Errorf("report %s, row passed %v reason %q: want not measured", out.String(), row.Passed, row.Reason)
	}
}

// bench rejudge runs stored completions' tests again: verdicts follow the
// harness, the rest of each row stays, and pass@1 is reported per
// configuration.
func TestBenchRejudge(t *testing.T) {
	if _, err := fimbench.NewSandbox(time.Second, 1<<30); err != nil {
		t.Skipf("no sandbox here: %v", err)
	}
	dir := t.TempDir()
	set := writeFIMTasks(t, dir)
	results := filepath.Join(dir, "results.jsonl")
	f := false
	rows := []benchFIMTask{
		{TaskID: "t/1", Config: "greedy", Completion: "    return a + b\n", Passed: &f, Reason: "stale", EditSimilarity: 1, Ms: 5},
		{TaskID: "t/2", Config: "greedy", Completion: "print(a + b)", Passed: &f, Ms: 7},
		{TaskID: "t/1", Config: "beam4", Completion: "    return a - b\n", Passed: &f, Ms: 9},
		{TaskID: "t/2", Config: "beam4", Completion: "print(a + b)", Ms: 11},
	}
	var buf bytes.Buffer
	for _, r := range rows {
		writeJSON(&buf, r)
	}
	os.WriteFile(results, buf.Bytes(), 0o644)
	var out, errb bytes.Buffer
	if err := runBenchRejudge(set, results, true, &out, &errb); err != nil {
		t.Fatal(err)
	}
	var rep rejudgeReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	g, b4 := rep.Configs["greedy"], rep.Configs["beam4"]
	if g.PassAt1 == nil || *g.PassAt1 != 1 || b4.PassAt1 == nil || *b4.PassAt1 != 0.5 || rep.Changed != 3 || g.P50ms != 5 {
		t.Errorf("report %s", out.String())
	}
	got, _ := os.ReadFile(results)
	if n := bytes.Count(got, []byte(`"passed":true`)); n != 3 || bytes.Contains(got, []byte("stale")) {
		t.Errorf("rewritten rows:\n%s", got)
	}
}
