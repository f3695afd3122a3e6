package lsp

import (
	"context"
	"errors"
	"time"
)

// Completer is what the server needs from the decoding engine: given the
// text around the cursor, up to N distinct continuations. It is the only
// required hook; everything else is optional.
//
// Contract:
//   - Complete must return promptly once ctx is done (within one decode
//     step), with ctx's error or with what it has. The server cancels ctx on
//     $/cancelRequest, when a newer request for the same document arrives,
//     when the document closes, and at shutdown.
//   - The server calls Complete at most once at a time per document (a new
//     call for a document starts only after the previous one returned), but
//     calls for different documents may overlap: an engine that owns one
//     model serialises them itself.
//   - Candidates are the text to insert at the cursor (after Prefix, before
//     Suffix): no FIM tokens, no repetition of Suffix. The server drops
//     empty and duplicate candidates, keeps the first N, and cuts each to
//     MaxLines lines.
//   - A panic in Complete is recovered and logged; the request fails with
//     an error and the server keeps serving.
//   - "No suggestion" is an empty result, not an error. Errors are for
//     failures (model not loaded, out of memory) and are shown in the
//     client's log.
type Completer interface {
	Complete(ctx context.Context, req CompletionRequest) (CompletionResult, error)
}

// CompletionRequest is one completion as the engine sees it. Prefix and
// Suffix are the whole document around the cursor (substrings of the
// server's copy, so passing them costs nothing); the engine trims them to
// its ContextBudget.
type CompletionRequest struct {
	URI        string // the document's URI as the client sent it
	Path       string // the file path for file:// URIs, else ""
	LanguageID string // the client's language identifier ("go", "python", ...)
	Version    int32  // the document version the text belongs to

	// Prefix is the text before the cursor and Suffix the text after it.
	// When the client has a completion popup item selected
	// (SelectedCompletionInfo), Prefix already ends with that item's text
	// and Suffix starts after the range it replaces: the engine completes
	// the document as it will be once the item is accepted.
	Prefix, Suffix string
	// Line and Column locate the cursor: 0-based line (LSP line breaks:
	// \n, \r\n, \r) and byte column within that line, in Prefix.
	Line, Column int

	Trigger InlineCompletionTriggerKind // Invoked or Automatic
	N       int                         // distinct candidates wanted: 1 (Automatic) or up to 3 (Invoked)

	// Deadline is a soft latency budget (Options.CompletionBudget): past
	// it the engine should stop extending candidates and return what it
	// has. It is not cancellation: ctx still says when to give up
	// entirely. Zero means no budget.
	Deadline time.Time

	MaxLines      int  // the longest suggestion wanted, in lines (setting ghostline.maxLines)
	ContextBudget int  // prompt budget in tokens (setting ghostline.contextBudget)
	AstGuard      bool // whether to prune candidates with syntax checks (setting ghostline.astguard)
	// CrossFileBudget: tokens of other files' code (the project graph's
	// context) the prompt may hold (setting ghostline.crossFileBudget);
	// 0 means none.
	CrossFileBudget int
}

// CompletionResult holds the candidates, best first.
type CompletionResult struct {
	Candidates []Candidate
	// Timing says where the Completer's time went; optional (zero for a
	// Completer that does not measure). The server hands it to
	// Options.OnCompletion with the request's own timing, before the
	// answer is written, so latency reports can split the server's work
	// from the model's for every request.
	Timing CompleterTiming
}

// CompleterTiming splits one Completer call.
type CompleterTiming struct {
	// Context: packing the cross-file context (the project graph), or
	// finding it cached for the cursor's line (ContextCached).
	Context       time.Duration
	ContextCached bool
	// Syntax: building the syntax constraint; SyntaxFromTree says it
	// started from the document's incremental tree rather than a parse.
	Syntax         time.Duration
	SyntaxFromTree bool
	// Engine: the decoding engine's call: prompt building (tokenizing),
	// waiting for the engine, prompt evaluation and decoding.
	Engine time.Duration
	// ContextBlocks and ContextTokens: what the project graph supplied
	// (before the engine fits it into the prompt).
	ContextBlocks, ContextTokens int
}

// Candidate is one continuation.
type Candidate struct {
	Text string
	// Replace is how many bytes after the cursor, on its line, Text
	// replaces (decode.Completion.Replace): closers the editor
	// auto-inserted, which Text writes itself. The item's range covers
	// them.
	Replace int
}

// ProgressFunc reports progress of a long task: percent in 0..100 (or -1
// when unknown) and a short message.
type ProgressFunc func(percent int, message string)

// Loader is implemented by a Completer that has a slow start (loading model
// weights). The server calls Load once after `initialized`, and again when
// the ghostline.model setting changes, showing $/progress meanwhile.
// Complete may be called before Load returns; it should then fail fast or
// wait, its choice. A Load error wrapping ErrModelMissing makes the server
// show it to the user as the way to get the model: its text must end with
// the command that installs that model (`ghostline pull NAME`).
type Loader interface {
	Load(ctx context.Context, model string, report ProgressFunc) error
}

// ErrBrokenModel is wrapped by Complete errors meaning the model itself is
// broken (it computes NaN or infinite values: corrupt weights): every
// request will fail alike, so the user is told once how to repair it.
var ErrBrokenModel = errors.New("broken model")

// ErrModelMissing is wrapped by Loader errors meaning "no model file": the
// user sees a message with the command that fixes it.
var ErrModelMissing = errors.New("model not found")

// DocumentObserver follows open documents, for state that must track
// edits incrementally (astguard's syntax trees). Calls come in protocol
// order from the server's message loop and must not block. Text is the
// complete text after the change.
type DocumentObserver interface {
	DidOpen(uri, languageID string, version int32, text string)
	DidChange(uri string, version int32, edits []Edit, text string)
	DidClose(uri string)
}

// WorkspaceObserver follows the workspace, for the project graph. Calls
// come from the message loop and must not block, except Index, which runs
// on its own goroutine with $/progress shown, after `initialized` and after
// workspace folders change.
type WorkspaceObserver interface {
	FoldersChanged(added, removed []WorkspaceFolder)
	FilesChanged(events []FileEvent)
	Index(ctx context.Context, folders []WorkspaceFolder, report ProgressFunc) error
}
