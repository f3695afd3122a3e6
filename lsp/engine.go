package lsp

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/ghostline-dev/ghostline/decode"
)

// EngineCompleter serves completions from the decoding engine (decode/).
// It loads the model in Load, so the editor sees $/progress while weights
// are mapped, and swaps models when the ghostline.model setting changes.
//
// It is also the server's DocumentObserver and WorkspaceObserver (pass it
// as Options.Documents and Options.Workspace): document events go to
// Trees, so syntax constraints start from incremental trees, and to
// Project, which with the workspace events keeps the project graph whose
// cross-file context goes into each prompt. Either may be nil.
type EngineCompleter struct {
	// Resolve turns the model setting ("" for the default model, a store
	// name or a path) into a GGUF path. Its error should wrap
	// ErrModelMissing when the model is simply not installed.
	Resolve func(model string) (string, error)
	// Options configure the engine (threads, KV cache size, prompt order).
	Options decode.LoadOptions
	// MaxTokens bounds one completion (0: decode.DefaultMaxTokens).
	MaxTokens int
	// Trees keeps the open documents' syntax trees; nil: each request's
	// syntax constraint parses the whole document.
	Trees *SyntaxTrees
	// Project supplies cross-file context; nil: none.
	Project *ProjectContext

	mu   sync.RWMutex
	eng  *decode.Loaded
	path string

	onRequest func(decode.Request) // tests: sees each engine request
}

var (
	_ Completer         = (*EngineCompleter)(nil)
	_ Loader            = (*EngineCompleter)(nil)
	_ DocumentObserver  = (*EngineCompleter)(nil)
	_ WorkspaceObserver = (*EngineCompleter)(nil)
)

// DidOpen implements DocumentObserver.
func (c *EngineCompleter) DidOpen(uri, languageID string, version int32, text string) {
	if c.Trees != nil {
		c.Trees.DidOpen(uri, languageID, version, text)
	}
	if c.Project != nil {
		c.Project.DidOpen(uri, languageID, version, text)
	}
}

// DidChange implements DocumentObserver.
func (c *EngineCompleter) DidChange(uri string, version int32, edits []Edit, text string) {
	if c.Trees != nil {
		c.Trees.DidChange(uri, version, edits, text)
	}
	if c.Project != nil {
		c.Project.DidChange(uri, version, edits, text)
	}
}

// DidClose implements DocumentObserver.
func (c *EngineCompleter) DidClose(uri string) {
	if c.Trees != nil {
		c.Trees.DidClose(uri)
	}
	if c.Project != nil {
		c.Project.DidClose(uri)
	}
}

// FoldersChanged implements WorkspaceObserver.
func (c *EngineCompleter) FoldersChanged(added, removed []WorkspaceFolder) {
	if c.Project != nil {
		c.Project.FoldersChanged(added, removed)
	}
}

// FilesChanged implements WorkspaceObserver.
func (c *EngineCompleter) FilesChanged(events []FileEvent) {
	if c.Project != nil {
		c.Project.FilesChanged(events)
	}
}

// Index implements WorkspaceObserver.
func (c *EngineCompleter) Index(ctx context.Context, folders []WorkspaceFolder, report ProgressFunc) error {
	if c.Project == nil {
		return nil
	}
	return c.Project.Index(ctx, folders, report)
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
	var tm CompleterTiming
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
	if c.Project != nil {
		t0 := time.Now()
		// A failing index costs this request its cross-file context,
		// not its completion.
		pb, cached, _ := c.Project.Blocks(req, crossFileBudget(req, eng.Template().Budget))
		tm.ContextCached = cached
		if pb.Rel != "" {
			dr.Path, dr.Repo = pb.Rel, pb.Repo
		}
		dr.Context = pb.Blocks
		tm.Context, tm.ContextBlocks, tm.ContextTokens = time.Since(t0), len(pb.Blocks), pb.Tokens
	}
	if req.AstGuard {
		t0 := time.Now()
		// Syntax constraints need a known language; without one the
		// completion goes on unconstrained rather than failing.
		con, fromTree, err := c.Trees.Constraint(ctx, req)
		if err == nil {
			defer con.Close()
			dr.Constraint = con
		} else if ctx.Err() != nil {
			return CompletionResult{}, ctx.Err()
		}
		tm.Syntax, tm.SyntaxFromTree = time.Since(t0), fromTree
	}
	if c.onRequest != nil {
		c.onRequest(dr)
	}
	t0 := time.Now()
	res, err := eng.Complete(ctx, dr)
	tm.Engine = time.Since(t0)
	if errors.Is(err, decode.ErrNonFinite) {
		return CompletionResult{}, fmt.Errorf("%w: %w", ErrBrokenModel, err)
	}
	if err != nil {
		return CompletionResult{}, err
	}
	out := CompletionResult{Timing: tm}
	for _, comp := range res.Completions {
		if comp.Text != "" {
			out.Candidates = append(out.Candidates, Candidate{Text: comp.Text, Replace: comp.Replace})
		}
	}
	return out, nil
}

// crossFileBudget is the project graph's budget for req: the setting,
// but never more than the engine will give the context in a prompt of
// req's size (its ContextShare), since packing blocks the prompt then cuts
// costs context time for nothing.
func crossFileBudget(req CompletionRequest, b decode.Budget) int {
	return min(req.CrossFileBudget, b.ContextTokens(req.ContextBudget))
}

// Close releases the model, the syntax trees and the project graph's
// watchers.
func (c *EngineCompleter) Close() error {
	if c.Trees != nil {
		c.Trees.Close()
	}
	if c.Project != nil {
		c.Project.Close()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.eng == nil {
		return nil
	}
	err := c.eng.Close()
	c.eng = nil
	return err
}
