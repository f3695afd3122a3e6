package lsp

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/ghostline-dev/ghostline/decode"
	"github.com/ghostline-dev/ghostline/internal/fixtures"
)

func fixtureModel(t *testing.T, name string) string {
	t.Helper()
	p := filepath.Join("..", "..", "shared", "fixtures", "models", name)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("shared fixtures not found at %s (they live beside the repo): %v", p, err)
	}
	return p
}

// TestEngineCompleter runs the real engine on a tiny random-weight model:
// the server's adapter must give exactly what the engine gives, and a
// missing model must surface as ErrModelMissing.
func TestEngineCompleter(t *testing.T) {
	path := fixtureModel(t, "qwen2-q8_0.gguf")
	c := &EngineCompleter{
		Resolve: func(m string) (string, error) {
			if m == "missing" {
				return "", ErrModelMissing
			}
			return path, nil
		},
		Options:   decode.LoadOptions{KVCells: 1024},
		MaxTokens: 8,
	}
	defer c.Close()
	ctx := context.Background()
	req := CompletionRequest{Prefix: "func add(a, b int) int {\n\treturn ", Suffix: "\n}\n", LanguageID: "go", N: 1, MaxLines: 3}
	if _, err := c.Complete(ctx, req); !errors.Is(err, errNotLoaded) {
		t.Fatalf("before Load: %v", err)
	}
	var reports int
	if err := c.Load(ctx, "", func(int, string) { reports++ }); err != nil {
		t.Fatal(err)
	}
	if reports == 0 {
		t.Error("Load reported no progress")
	}
	got, err := c.Complete(ctx, req)
	if err != nil {
		t.Fatal(err)
	}

	direct, err := decode.Load(path, decode.LoadOptions{KVCells: 1024})
	if err != nil {
		t.Fatal(err)
	}
	defer direct.Close()
	res, err := direct.Complete(ctx, decode.Request{Prefix: req.Prefix, Suffix: req.Suffix, Language: "go",
		Limits: decode.Limits{MaxTokens: 8, MaxLines: 3}, Beams: decode.Beams{Width: 1, N: 1}})
	if err != nil {
		t.Fatal(err)
	}
	want := res.Completions[0].Text
	if want == "" && len(got.Candidates) != 0 || want != "" && (len(got.Candidates) != 1 || got.Candidates[0].Text != want) {
		t.Errorf("adapter gave %+v, engine %q", got.Candidates, want)
	}

	// Cancelled before it starts: an error, promptly, not a hang.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := c.Complete(cctx, req); err == nil {
		t.Error("cancelled request succeeded")
	}
	if err := c.Load(ctx, "missing", func(int, string) {}); !errors.Is(err, ErrModelMissing) {
		t.Errorf("missing model: %v", err)
	}
}

// The project graph is never asked for more than the engine's prompt
// gives the context.
func TestCrossFileBudget(t *testing.T) {
	for _, tc := range []struct {
		setting, prompt int
		tmpl            decode.Budget
		want            int
	}{
		{512, 2048, decode.Budget{}, 512},                              // 30% of 2048 is 614
		{512, 1024, decode.Budget{}, 307},                              // the share caps it
		{512, 0, decode.Budget{}, 460},                                 // the default prompt of 1,536
		{512, 0, decode.Budget{Total: 4096, ContextShare: 0.5}, 512},   // the engine's own template
		{4096, 0, decode.Budget{Total: 4096, ContextShare: 0.5}, 2048}, //
		{0, 2048, decode.Budget{}, 0},                                  // off
	} {
		got := crossFileBudget(CompletionRequest{CrossFileBudget: tc.setting, ContextBudget: tc.prompt}, tc.tmpl)
		if got != tc.want {
			t.Errorf("setting %d, prompt %d, template %+v: %d, want %d", tc.setting, tc.prompt, tc.tmpl, got, tc.want)
		}
	}
}

// A model that computes NaN: the adapter's error wraps ErrBrokenModel,
// which the server turns into its one repair message.
func TestEngineCompleterBrokenModel(t *testing.T) {
	path := fixtures.NaNModel(t, fixtureModel(t, "qwen2-q8_0.gguf"))
	c := &EngineCompleter{
		Resolve:   func(string) (string, error) { return path, nil },
		Options:   decode.LoadOptions{KVCells: 1024},
		MaxTokens: 4,
	}
	defer c.Close()
	ctx := context.Background()
	if err := c.Load(ctx, "", func(int, string) {}); err != nil {
		t.Fatal(err)
	}
	req := CompletionRequest{Prefix: "x = ", Suffix: "\n", LanguageID: "python", N: 1, MaxLines: 1}
	if _, err := c.Complete(ctx, req); !errors.Is(err, ErrBrokenModel) {
		t.Errorf("NaN model: %v, want ErrBrokenModel", err)
	}
}
