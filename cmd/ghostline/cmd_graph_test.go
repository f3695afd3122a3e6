package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ghostline-dev/ghostline/projectgraph"
)

// TestIndexContextGraphCLI drives the project-graph commands on the Go
// fixture repository through their public contracts, with the index cache
// in a temporary XDG directory.
func TestIndexContextGraphCLI(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	repo := filepath.Join("..", "..", "testdata", "projectgraph", "gorepo")
	main := filepath.Join(repo, "main.go")
	var out, errb bytes.Buffer

	stdout := captureStdout(t, func() {
		if code := run([]string{"index", repo, "--json"}, &out, &errb); code != 0 {
			t.Fatalf("index: exit %d: %s", code, errb.String())
		}
	})
	var idx map[string]float64
	if err := json.Unmarshal(stdout, &idx); err != nil {
		t.Fatalf("index --json: %v\n%s", err, stdout)
	}
	for _, k := range []string{"files", "edges", "symbols", "seconds", "peak_mb"} {
		if _, ok := idx[k]; !ok {
			t.Errorf("index --json lacks %q: %s", k, stdout)
		}
	}
	if idx["files"] < 3 || idx["edges"] < 2 || idx["symbols"] < 5 {
		t.Errorf("index of the fixture: %s", stdout)
	}

	// The cursor is on `cart.New()`: the context must hold New's definition
	// from the imported package, within the budget.
	stdout = captureStdout(t, func() {
		if code := run([]string{"context", "--file", main, "--line", "12", "--col", "8", "--budget", "256", "--json"}, &out, &errb); code != 0 {
			t.Fatalf("context: exit %d: %s", code, errb.String())
		}
	})
	var ctx struct {
		Tokens int `json:"tokens"`
		Blocks []struct{ Path, Text, Reason string }
	}
	if err := json.Unmarshal(stdout, &ctx); err != nil {
		t.Fatalf("context --json: %v\n%s", err, stdout)
	}
	found := false
	for _, b := range ctx.Blocks {
		found = found || (b.Path == "cart/cart.go" && strings.Contains(b.Text, "func New()"))
	}
	if !found || ctx.Tokens > 256 || ctx.Tokens <= 0 {
		t.Errorf("context: tokens %d, blocks %+v", ctx.Tokens, ctx.Blocks)
	}

	stdout = captureStdout(t, func() {
		if code := run([]string{"graph", "--file", main, "--dot"}, &out, &errb); code != 0 {
			t.Fatalf("graph: exit %d: %s", code, errb.String())
		}
	})
	if !strings.Contains(string(stdout), "digraph {") || !strings.Contains(string(stdout), "internal/price/price.go") {
		t.Errorf("graph --dot:\n%s", stdout)
	}

	// A file that does not exist: exit 1, one line.
	errb.Reset()
	if code := run([]string{"context", "--file", filepath.Join(repo, "nope.go"), "--line", "1", "--col", "1"}, &out, &errb); code != 1 ||
		strings.Count(errb.String(), "\n") != 1 {
		t.Errorf("missing file: exit %d, stderr %q", code, errb.String())
	}

	// A cursor past the end of the file: an error, as complete gives.
	for _, pos := range [][]string{{"--line", "500"}, {"--line", "1", "--col", "500"}} {
		errb.Reset()
		if code := run(append([]string{"context", "--file", main}, pos...), &out, &errb); code != 1 || !strings.Contains(errb.String(), "past the end") {
			t.Errorf("context %v past the end: exit %d, stderr %q", pos, code, errb.String())
		}
	}

	// A missing file in a folder with no workspace marker: without the
	// file check, its parent folder (in real use, possibly /) would be
	// indexed before the error. Nothing may be indexed or cached.
	bare := t.TempDir()
	if err := os.WriteFile(filepath.Join(bare, "a.go"), []byte("package a\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cache := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", cache)
	for _, args := range [][]string{{"context", "--line", "1"}, {"graph"}} {
		for _, f := range []struct{ path, want string }{{filepath.Join(bare, "gone.go"), "gone.go"}, {bare, "is a directory"}} {
			errb.Reset()
			code := run(append(args, "--file", f.path), &out, &errb)
			if code != 1 || !strings.Contains(errb.String(), f.want) {
				t.Errorf("%s --file %s: exit %d, stderr %q", args[0], f.path, code, errb.String())
			}
		}
	}
	if _, err := os.Stat(filepath.Join(cache, "ghostline", "index")); err == nil {
		t.Error("a missing file's folder was indexed: the index cache exists")
	}
}

// --model takes an installed name, as for every other command: the
// counter then uses that model's tokenizer.
func TestTokenCounterResolvesNames(t *testing.T) {
	vocab := fixture(t, "qwen2-q8_0.gguf")
	cache := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", cache)
	dir := filepath.Join(cache, "ghostline", "models")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(vocab)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tiny-local.gguf"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	byName, err := tokenCounter("tiny-local")
	if err != nil {
		t.Fatal(err)
	}
	byPath, err := tokenCounter(vocab)
	if err != nil {
		t.Fatal(err)
	}
	const s = "func main() {\n\tfmt.Println(\"héllo\")\n}\n"
	if _, approx := byName.(projectgraph.ApproxCounter); approx || byName.Count(s) != byPath.Count(s) {
		t.Errorf("by name: %T, %d tokens; by path %d", byName, byName.Count(s), byPath.Count(s))
	}
	if _, err := tokenCounter("no-such-model"); err == nil {
		t.Error("an unknown model name was accepted")
	}
}
