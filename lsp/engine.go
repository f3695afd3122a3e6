package lsp

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/ghostline-dev/ghostline/decode"
)

// EngineCompleter serves completions from the decoding engine (decode/).
// It loads the model in Load, so the editor sees $/progress while weights
// are mapped, and swaps models when the ghostline.model setting changes.
type EngineCompleter struct {
	// Resolve turns the model setting ("" for the default model, a store
	// name or a path) into a GGUF path. Its error should wrap
	// ErrModelMissing when the model is simply not installed.
	Resolve func(model string) (string, error)
	// Options configure the engine (threads, KV cache size, prompt order).
	Options decode.LoadOptions
	// MaxTokens bounds one completion (0: decode.DefaultMaxTokens).
	MaxTokens int

	mu   sync.RWMutex
	eng  *decode.Loaded
	path string
}

// Load implements Loader.
func (c *EngineCompleter) Load(ctx context.Context, model string, report ProgressFunc) error {
	path, err := c.Resolve(model)
	if err != nil {
		return err
	}
	c.mu.RLock()
	same := c.eng != nil && c.path == path
	c.mu.RUnlock()
	if same {
		return nil
	}
	report(-1, "loading "+path)
	eng, err := decode.Load(path, c.Options)
	if err != nil {
		return fmt.Errorf("loading model: %w", err)
	}
	if ctx.Err() != nil { // the server gave up on this load (a newer one started)
		eng.Close()
		return ctx.Err()
	}
	c.mu.Lock()
	old := c.eng
	c.eng, c.path = eng, path
	c.mu.Unlock()
	if old != nil {
		// Requests in flight on the old engine end with its error; the
		// editor asks again on the next keystroke.
		old.Close()
	}
	report(100, "model ready")
	return nil
}

// errNotLoaded is returned while no model is loaded yet.
var errNotLoaded = errors.New("the model is still loading")

// Complete implements Completer.
func (c *EngineCompleter) Complete(ctx context.Context, req CompletionRequest) (CompletionResult, error) {
	c.mu.RLock()
	eng := c.eng
	c.mu.RUnlock()
	if eng == nil {
		return CompletionResult{}, errNotLoaded
	}
	n := max(req.N, 1)
	dr := decode.Request{
		Prefix:   req.Prefix,
		Suffix:   req.Suffix,
		Language: req.LanguageID,
		Path:     req.Path,
		Limits: decode.Limits{
			MaxTokens:       c.MaxTokens,
			MaxLines:        req.MaxLines,
			Deadline:        req.Deadline,
			MaxPromptTokens: req.ContextBudget,
		},
		// Invoked requests want alternatives: beam search yields n
		// distinct candidates in one batched decode.
		Beams: decode.Beams{Width: n, N: n},
	}
	if req.AstGuard {
		// Syntax constraints need a known language; without one the
		// completion goes on unconstrained rather than failing.
		if con, err := decode.NewSyntaxConstraint(req.LanguageID, req.Path, req.Prefix, req.Suffix); err == nil {
			defer con.Close()
			dr.Constraint = con
		}
	}
	res, err := eng.Complete(ctx, dr)
	if err != nil {
		return CompletionResult{}, err
	}
	var out CompletionResult
	for _, comp := range res.Completions {
		if comp.Text != "" {
			out.Candidates = append(out.Candidates, Candidate{Text: comp.Text})
		}
	}
	return out, nil
}

// Close releases the model.
func (c *EngineCompleter) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.eng == nil {
		return nil
	}
	err := c.eng.Close()
	c.eng = nil
	return err
}
