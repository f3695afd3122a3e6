package lsp_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/ghostline-dev/ghostline/decode"
	"github.com/ghostline-dev/ghostline/lsp"
	"github.com/ghostline-dev/ghostline/projectgraph"
)

// TestEngineSessionForwardsEdits runs a session on the real engine (a
// tiny random-weight model) with the completer as the server's observer:
// the syntax constraint must come from the document's incremental tree,
// the prompt must carry the project graph's blocks for the cursor with
// the file named relative to its workspace folder, the timing must be
// reported before the answer is read, and crossFileBudget 0 must turn the
// cross-file context off.
func TestEngineSessionForwardsEdits(t *testing.T) {
	model := filepath.Join("..", "..", "shared", "fixtures", "models", "qwen2-q8_0.gguf")
	if _, err := os.Stat(model); err != nil {
		t.Skipf("shared fixtures not found at %s (they live beside the repo): %v", model, err)
	}
	root := lsp.CopyTree(t, filepath.Join("..", "testdata", "projectgraph", "gorepo"))
	eng := &lsp.EngineCompleter{
		Resolve:   func(string) (string, error) { return model, nil },
		Options:   decode.LoadOptions{KVCells: 2048},
		MaxTokens: 4,
		Trees:     &lsp.SyntaxTrees{},
		Project:   &lsp.ProjectContext{Options: projectgraph.Options{NoCache: true}, NoWatch: true},
	}
	defer eng.Close()
	ctx := context.Background()
	if err := eng.Load(ctx, "", func(int, string) {}); err != nil { // the server's Load is then a no-op
		t.Fatal(err)
	}
	folder := lsp.WorkspaceFolder{URI: lsp.FileURI(root), Name: "shop"}
	if err := eng.Index(ctx, []lsp.WorkspaceFolder{folder}, func(int, string) {}); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var reqs []decode.Request
	var timings []lsp.CompletionTiming
	lsp.SetRequestHook(eng, func(dr decode.Request) { mu.Lock(); reqs = append(reqs, dr); mu.Unlock() })
	c := start(t, lsp.Options{Completer: eng, Documents: eng, Workspace: eng, Config: noDebounce(), Logger: testLogger(t),
		OnCompletion: func(ct lsp.CompletionTiming) { mu.Lock(); timings = append(timings, ct); mu.Unlock() }})
	c.result(c.call("initialize", json.RawMessage(fmt.Sprintf(`{"capabilities":%s,"workspaceFolders":[%s]}`, vscodeCaps, mustJSON(folder)))), nil)
	c.notify("initialized", map[string]any{})

	path := filepath.Join(root, "main.go")
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	uri := lsp.FileURI(path)
	c.open(uri, "go", string(src))
	lines := strings.Split(string(src), "\n")
	last := 0 // the line of fmt.Println(...) in main()
	for i, l := range lines {
		if strings.Contains(l, "fmt.Println") {
			last = i
		}
	}
	end := len(lines[last])
	c.change(uri, edit(last, end, last, end, "\n\tc."))
	complete := func(col int) {
		t.Helper()
		id := c.call(lsp.MethodInlineCompletion, inlineParams(uri, last+1, col, 1))
		if m := c.response(id); m.Error != nil {
			t.Fatalf("completion failed: %d %s", m.Error.Code, m.Error.Message)
		}
		// Recorded before the answer was written: no waiting.
		mu.Lock()
		defer mu.Unlock()
		if len(timings) == 0 || timings[len(timings)-1].ID != id {
			t.Fatalf("no timing for request %s when its answer arrived (%d timings)", id, len(timings))
		}
	}
	complete(3)

	mu.Lock()
	dr, tm := reqs[len(reqs)-1], timings[len(timings)-1]
	mu.Unlock()
	if dr.Path != "main.go" || dr.Repo != "shop" {
		t.Errorf("engine request names the file %q in repo %q, want main.go in shop", dr.Path, dr.Repo)
	}
	var paths []string
	for _, b := range dr.Context {
		paths = append(paths, b.Path)
	}
	if !strings.Contains(strings.Join(paths, ","), "cart/cart.go") {
		t.Errorf("context blocks from %q, want cart/cart.go among them", paths)
	}
	if dr.Constraint == nil {
		t.Error("no syntax constraint")
	}
	ct := tm.Completer
	if !ct.SyntaxFromTree || ct.Syntax <= 0 || ct.Context <= 0 || ct.ContextBlocks != len(dr.Context) || ct.Engine <= 0 {
		t.Errorf("completer timing %+v: want the constraint from the tree, context and engine time", ct)
	}
	if tm.Model() < ct.Engine || tm.Outcome == "" {
		t.Errorf("timing %+v: the Completer call must cover the engine's", tm)
	}

	// Cross-file context off: the prompt names the file but shows no
	// other files. (After a backspace, so the answer is not a remainder
	// of the last suggestion.)
	c.notify("workspace/didChangeConfiguration", map[string]any{"settings": map[string]any{"ghostline": map[string]any{"crossFileBudget": 0}}})
	c.change(uri, edit(last+1, 2, last+1, 3, ""))
	complete(2)
	mu.Lock()
	dr = reqs[len(reqs)-1]
	mu.Unlock()
	if len(dr.Context) != 0 || dr.Path != "main.go" {
		t.Errorf("crossFileBudget 0: %d blocks, path %q", len(dr.Context), dr.Path)
	}
}
