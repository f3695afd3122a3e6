package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/ghostline-dev/ghostline/internal/fixtures"
)

func TestSplitAt(t *testing.T) {
	text := "ab\r\nhé𝄞x\n\nlast"
	for _, tc := range []struct {
		line, col int
		want      int // byte offset, -1 for an error
	}{
		{1, 1, 0}, {1, 3, 2}, {1, 4, -1}, // "\r\n" is not part of line 1
		{2, 1, 4}, {2, 2, 5}, {2, 3, 7}, {2, 4, 11}, {2, 5, 12}, {2, 6, -1}, // é is 2 bytes, 𝄞 is 4 bytes and one code point
		{3, 1, 13}, {3, 2, -1},
		{4, 5, 18}, {5, 1, -1}, {0, 1, -1}, {1, 0, -1},
	} {
		got, err := splitAt(text, tc.line, tc.col)
		if tc.want < 0 {
			if err == nil {
				t.Errorf("line %d col %d: no error (offset %d)", tc.line, tc.col, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("line %d col %d: offset %d, %v; want %d", tc.line, tc.col, got, err, tc.want)
		}
	}
}

func TestReadSourceRejectsBinary(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "a.bin")
	os.WriteFile(bin, []byte("ab\x00cd"), 0o644)
	if _, err := readSource(bin); err == nil || !strings.Contains(err.Error(), "binary") {
		t.Errorf("binary file: %v", err)
	}
	if _, err := readSource(filepath.Join(dir, "missing.go")); err == nil {
		t.Error("missing file: no error")
	}
	if _, err := readSource(dir); err == nil {
		t.Error("directory: no error")
	}
}

func fixture(t *testing.T, name string) string {
	t.Helper()
	p := filepath.Join("..", "..", "..", "shared", "fixtures", "models", name)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("%s is absent (../shared not here)", p)
	}
	return p
}

func keysOf(m map[string]any) []string {
	var k []string
	for key := range m {
		k = append(k, key)
	}
	sort.Strings(k)
	return k
}

func TestCompleteJSONContract(t *testing.T) {
	model := fixture(t, "qwen2-q8_0.gguf")
	src := filepath.Join(t.TempDir(), "main.go")
	os.WriteFile(src, []byte("package main\n\nfunc main() {\n\t\n}\n"), 0o644)
	var out bytes.Buffer
	o := completeFlags{model: model, file: src, line: 4, col: 2, maxTokens: 6, beams: 1, json: true, multiline: "auto", order: "psm", astguard: "off", threads: 2}
	if err := runComplete(o, &out); err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	if k := keysOf(got); !reflect.DeepEqual(k, []string{"completions", "stats"}) {
		t.Errorf("top-level keys %v", k)
	}
	cs := got["completions"].([]any)
	if len(cs) < 1 {
		t.Fatal("completions is empty: the contract wants at least one entry")
	}
	if k := keysOf(cs[0].(map[string]any)); !reflect.DeepEqual(k, []string{"finish_reason", "logprob", "text"}) {
		t.Errorf("completion keys %v", k)
	}
	if k := keysOf(got["stats"].(map[string]any)); !reflect.DeepEqual(k, []string{"cached_tokens", "decode_tok_s", "prompt_tokens", "total_ms", "ttft_ms"}) {
		t.Errorf("stats keys %v", k)
	}
	if got["stats"].(map[string]any)["prompt_tokens"].(float64) < 5 {
		t.Errorf("prompt_tokens %v", got["stats"])
	}
	// A cursor outside the file is a clear error.
	o.line = 99
	if err := runComplete(o, &out); err == nil || !strings.Contains(err.Error(), "past the end") {
		t.Errorf("line 99: %v", err)
	}
}

// A model whose weights hold NaN (a corrupt download) fails with an error
// that names the commands that check and repair it, not with noise text.
func TestCompleteCorruptModel(t *testing.T) {
	model := fixtures.NaNModel(t, fixture(t, "qwen2-q8_0.gguf"))
	src := filepath.Join(t.TempDir(), "main.go")
	if err := os.WriteFile(src, []byte("package main\n\nfunc main() {\n\t\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	code := run([]string{"complete", "--model", model, "--file", src, "--line", "4", "--col", "2", "--max-tokens", "4", "--threads", "2"}, &stdout, &stderr)
	if code != 1 || stdout.Len() != 0 || !strings.Contains(stderr.String(), "non-finite") || !strings.Contains(stderr.String(), "ghostline doctor") {
		t.Errorf("exit %d, stdout %q, stderr %q; want exit 1 naming the NaN and `ghostline doctor`", code, stdout.String(), stderr.String())
	}
}

func TestCompleteBatchResumes(t *testing.T) {
	model := fixture(t, "qwen2-q8_0.gguf")
	dir := t.TempDir()
	in := filepath.Join(dir, "in.jsonl")
	out := filepath.Join(dir, "out.jsonl")
	os.WriteFile(in, []byte(`{"id": 1, "prefix": "def f(x):\n    return ", "suffix": "\n", "lang": "python", "max_tokens": 4}
{"id": "b", "prefix": "x = [", "suffix": "]\n", "lang": "python", "max_tokens": 4, "multiline": "never"}

{"id": 3, "prefix": "int x = ", "suffix": ";\n", "lang": "c", "max_tokens": 4, "multiline": "always"}
`), 0o644)
	// An interrupted earlier run: id 1 done, a truncated line after it.
	os.WriteFile(out, []byte(`{"id":1,"completion":"done before","stats":{}}`+"\n"+`{"id":"b","compl`), 0o644)
	o := completeFlags{model: model, batch: in, out: out, beams: 1, maxTokens: 128, parallel: 2, order: "psm", astguard: "off", threads: 2}
	var stderr bytes.Buffer
	if err := runCompleteBatch(o, &stderr); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(readFile(t, out)), "\n")
	ids := map[string]int{}
	for _, l := range lines {
		var r struct {
			ID         json.RawMessage `json:"id"`
			Completion *string         `json:"completion"`
			Stats      map[string]any  `json:"stats"`
		}
		if json.Unmarshal([]byte(l), &r) != nil {
			t.Errorf("OUT keeps a broken line: %q", l) // the interrupted write must be cut off
			continue
		}
		ids[string(r.ID)]++
		if r.Completion == nil || r.Stats == nil {
			t.Errorf("line %s lacks completion or stats", l)
		}
	}
	if !reflect.DeepEqual(ids, map[string]int{"1": 1, `"b"`: 1, "3": 1}) {
		t.Errorf("ids in OUT %v, want each once", ids)
	}
	if !strings.Contains(stderr.String(), "1 of 3 already") {
		t.Errorf("stderr %q does not report the resume", stderr.String())
	}
	// An OUT that is not this command's output is refused, not appended to.
	os.WriteFile(out, []byte("not json\n"+`{"id":1,"completion":"x","stats":{}}`+"\n"), 0o644)
	if err := runCompleteBatch(o, &stderr); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("foreign OUT: %v", err)
	}
	// Malformed input: a clear error naming the line.
	os.WriteFile(in, []byte(`{"id": 1, "prefix": "a"}`+"\n"+`{"id": 2, "prefix": "a", "multiline": "sometimes"}`+"\n"), 0o644)
	if err := runCompleteBatch(o, &stderr); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("bad multiline: %v", err)
	}
}

// TestCompleteFlagsCheckedFirst: a bad flag value fails at once in both
// modes, naming the flag, before the model loads (here it does not even
// exist) and before a batch's lines run.
func TestCompleteFlagsCheckedFirst(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.jsonl")
	os.WriteFile(in, []byte(`{"id": 1, "prefix": "a"}`+"\n"), 0o644)
	src := filepath.Join(dir, "a.py")
	os.WriteFile(src, []byte("x = 1\n"), 0o644)
	modes := map[string][]string{
		"single": {"complete", "--model", filepath.Join(dir, "none.gguf"), "--file", src, "--line", "1", "--col", "1"},
		"batch":  {"complete", "--model", filepath.Join(dir, "none.gguf"), "--batch", in, "--out", filepath.Join(dir, "out.jsonl")},
	}
	for _, tc := range []struct{ flag, value string }{
		{"--astguard", "maybe"}, {"--max-tokens", "0"}, {"--max-tokens", "-1"},
		{"--beams", "0"}, {"--beams", "9"}, {"--multiline", "sometimes"}, {"--threads", "-2"},
	} {
		for mode, args := range modes {
			var out, errb bytes.Buffer
			code := run(append(append([]string(nil), args...), tc.flag, tc.value), &out, &errb)
			if code == 0 || !strings.Contains(errb.String(), tc.flag) || strings.Contains(errb.String(), "none.gguf") {
				t.Errorf("%s %s %s: exit %d, stderr %q; want an error naming the flag", mode, tc.flag, tc.value, code, errb.String())
			}
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "out.jsonl")); err == nil {
		t.Error("a batch with a bad flag wrote OUT")
	}
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// FuzzSplitAt: any text, line and column give an offset inside the text at
// a code-point boundary, or an error.
func FuzzSplitAt(f *testing.F) {
	f.Add("ab\r\nhé𝄞x\n", 2, 3)
	f.Add("", 1, 1)
	f.Add("\xff\xfe\n", 1, 2)
	f.Fuzz(func(t *testing.T, text string, line, col int) {
		off, err := splitAt(text, line, col)
		if err != nil {
			return
		}
		if off < 0 || off > len(text) {
			t.Fatalf("offset %d outside [0,%d]", off, len(text))
		}
		if line == 1 && col == 1 && off != 0 {
			t.Fatalf("line 1 col 1 at %d", off)
		}
	})
}

// TestIDKey checks which batch ids count as the same request when a run
// resumes: equal values, however written, and nothing else.
func TestIDKey(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		same bool
	}{
		{`7`, `7.0`, true},
		{`7`, `7e0`, true},
		{`"a"`, `"\u0061"`, true},
		{`7`, `"7"`, false},
		{`12345678901234567`, `12345678901234568`, false}, // equal as float64
		{`0.1`, `0.10000000000000001`, false},             // equal as float64
		{`{"x":1}`, `{ "x" : 1 }`, true},
	} {
		if got := idKey(json.RawMessage(tc.a)) == idKey(json.RawMessage(tc.b)); got != tc.same {
			t.Errorf("idKey(%s) == idKey(%s): %v, want %v", tc.a, tc.b, got, tc.same)
		}
	}
}
