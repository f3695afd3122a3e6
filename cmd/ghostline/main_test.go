package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// sharedFixture returns a path under ../shared/fixtures, skipping the test
// where the shared data is absent.
func sharedFixture(t *testing.T, rel string) string {
	t.Helper()
	p := filepath.Join("..", "..", "..", "shared", "fixtures", rel)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("shared fixtures not found at %s (they live beside the repo): %v", p, err)
	}
	return p
}

func TestParseInterspersed(t *testing.T) {
	for _, c := range []struct {
		args     []string
		wantPos  []string
		wantJSON bool
		wantN    int
	}{
		{[]string{"a", "--json", "b"}, []string{"a", "b"}, true, 0},
		{[]string{"--n", "3", "a"}, []string{"a"}, false, 3},
		{[]string{"a", "--n=4"}, []string{"a"}, false, 4},
		{[]string{"a", "--", "--json"}, []string{"a", "--json"}, false, 0},
		{[]string{"-", "--json"}, []string{"-"}, true, 0},
	} {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		j := fs.Bool("json", false, "")
		n := fs.Int("n", 0, "")
		pos, err := parseInterspersed(fs, c.args)
		if err != nil {
			t.Fatalf("%v: %v", c.args, err)
		}
		if !cmp.Equal(pos, c.wantPos) || *j != c.wantJSON || *n != c.wantN {
			t.Errorf("%v: pos %v json %v n %d", c.args, pos, *j, *n)
		}
	}
}

func TestHelpAndUnknownCommand(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"--help"}, &out, &errb); code != 0 || !strings.Contains(out.String(), "model info") {
		t.Errorf("--help: exit %d, output %q", code, out.String())
	}
	for _, c := range commands {
		out.Reset()
		args := append(strings.Fields(c.name), "--help")
		if code := run(args, &out, &errb); code != 0 || !strings.Contains(out.String(), "Usage: ghostline "+c.name) {
			t.Errorf("%s --help: exit %d, output %q", c.name, code, out.String())
		}
	}
	errb.Reset()
	if code := run([]string{"frobnicate"}, &out, &errb); code != 1 || strings.Count(errb.String(), "\n") != 1 {
		t.Errorf("unknown command: exit %d, stderr %q", code, errb.String())
	}
}

func TestModelInfo(t *testing.T) {
	path := sharedFixture(t, "models/qwen2-q8_0.gguf")
	var out, errb bytes.Buffer
	stdout := captureStdout(t, func() {
		if code := run([]string{"model", "info", path, "--json"}, &out, &errb); code != 0 {
			t.Fatalf("exit %d: %s", code, errb.String())
		}
	})
	var info modelInfo
	if err := json.Unmarshal(stdout, &info); err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}
	if info.Name == "" || info.Arch != "qwen2" || info.Shape == nil || info.Shape.Layers != 2 ||
		info.Shape.KVHeads != 2 || info.Shape.Vocab != 4096 || info.Tokenizer == nil || info.Tokenizer.Pre != "starcoder" {
		t.Errorf("model info = %+v", info)
	}
	if got := info.Special["fim_pre"]; got.ID != 1 || got.Text != "<fim_prefix>" {
		t.Errorf("fim_pre = %+v", got)
	}
	var total uint64
	for _, s := range info.TensorTypes {
		total += s.Bytes
	}
	if total == 0 || total > uint64(info.FileBytes) {
		t.Errorf("tensor bytes %d of a %d-byte file", total, info.FileBytes)
	}

	// Not a GGUF: exit 1, one line naming the problem.
	bad := filepath.Join(t.TempDir(), "notes.gguf")
	os.WriteFile(bad, []byte(strings.Repeat("not a model\n", 10)), 0o644)
	errb.Reset()
	if code := run([]string{"model", "info", bad}, &out, &errb); code != 1 ||
		strings.Count(errb.String(), "\n") != 1 || !strings.Contains(errb.String(), "not GGUF") {
		t.Errorf("bad file: exit %d, stderr %q", code, errb.String())
	}
}
