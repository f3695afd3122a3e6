// Package lsptest provides a deterministic fake Completer for testing the
// language server without a model. `ghostline lsp --fake-completer` uses it
// so that protocol tests (the Node test) can drive the real binary; it is
// never used to serve users.
package lsptest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/ghostline-dev/ghostline/lsp"
)

// Fake is a deterministic Completer. What it does depends on the text of
// the cursor's line before the cursor:
//
//   - contains "BLOCK": blocks until its context is cancelled, then
//     returns the context's error (tests cancellation and supersession);
//   - contains "PANIC": panics (tests recovery);
//   - contains "SLOW": waits 300 ms (or until cancelled) before answering;
//   - contains "NAN": fails as a model with corrupt weights does
//     (lsp.ErrBrokenModel);
//   - contains "NOTHING": returns no candidates;
//   - contains "REPLACE", with only closers after the cursor on its line
//     (R, as "f(REPLACE|)"): candidate i is "ghost<i>" + R + " + 1",
//     replacing R (as the engine answers with closers an editor
//     auto-inserted);
//   - ends with "{": candidate i is "\n\tghost<i>()\n}" (multi-line), with
//     "\r\n" breaks where the document's last one before the cursor is
//     (as the engine answers a CRLF document);
//   - otherwise: candidate i is `ghost<i>(word)` where word is the
//     identifier before the cursor (empty if none), for i < N.
//
// It records every request, in order, for assertions.
type Fake struct {
	// LoadSteps > 0 makes Load report progress in that many steps of
	// LoadStepDelay; MissingModel makes Load fail with lsp.ErrModelMissing.
	LoadSteps     int
	LoadStepDelay time.Duration
	MissingModel  bool

	mu        sync.Mutex
	requests  []lsp.CompletionRequest
	cancelled int
	running   map[string]int // per URI: calls in progress
	overlap   bool           // two calls for one URI ran at once
	loads     []string
}

var _ lsp.Completer = (*Fake)(nil)
var _ lsp.Loader = (*Fake)(nil)

// Complete implements lsp.Completer.
func (f *Fake) Complete(ctx context.Context, req lsp.CompletionRequest) (lsp.CompletionResult, error) {
	f.mu.Lock()
	f.requests = append(f.requests, req)
	if f.running == nil {
		f.running = map[string]int{}
	}
	f.running[req.URI]++
	if f.running[req.URI] > 1 {
		f.overlap = true
	}
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.running[req.URI]--
		f.mu.Unlock()
	}()

	line := req.Prefix[strings.LastIndexAny(req.Prefix, "\r\n")+1:]
	switch {
	case strings.Contains(line, "BLOCK"):
		<-ctx.Done()
		f.mu.Lock()
		f.cancelled++
		f.mu.Unlock()
		return lsp.CompletionResult{}, ctx.Err()
	case strings.Contains(line, "PANIC"):
		panic("fake completer: PANIC requested")
	case strings.Contains(line, "SLOW"):
		select {
		case <-time.After(300 * time.Millisecond):
		case <-ctx.Done():
			f.mu.Lock()
			f.cancelled++
			f.mu.Unlock()
			return lsp.CompletionResult{}, ctx.Err()
		}
	case strings.Contains(line, "NOTHING"):
		return lsp.CompletionResult{}, nil
	case strings.Contains(line, "NAN"):
		return lsp.CompletionResult{}, fmt.Errorf("fake completer: %w", lsp.ErrBrokenModel)
	}
	nl := "\n"
	if strings.HasSuffix(req.Prefix[:len(req.Prefix)-len(line)], "\r\n") {
		nl = "\r\n"
	}
	rest, _, _ := strings.Cut(req.Suffix, "\n")
	rest = strings.TrimSuffix(rest, "\r")
	var res lsp.CompletionResult
	for i := range req.N {
		var text string
		if strings.Contains(line, "REPLACE") && rest != "" && strings.Trim(rest, ")]}\"'`;, ") == "" {
			res.Candidates = append(res.Candidates, lsp.Candidate{Text: fmt.Sprintf("ghost%d%s + 1", i, rest), Replace: len(rest)})
			continue
		}
		if strings.HasSuffix(line, "{") {
			text = fmt.Sprintf("%s\tghost%d()%s}", nl, i, nl)
		} else {
			text = fmt.Sprintf("ghost%d(%s)", i, lastWord(line))
		}
		res.Candidates = append(res.Candidates, lsp.Candidate{Text: text})
	}
	return res, nil
}

func lastWord(s string) string {
	i := strings.LastIndexFunc(s, func(r rune) bool { return r != '_' && !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	return s[i+1:]
}

// Load implements lsp.Loader.
func (f *Fake) Load(ctx context.Context, model string, report lsp.ProgressFunc) error {
	f.mu.Lock()
	f.loads = append(f.loads, model)
	f.mu.Unlock()
	for i := range f.LoadSteps {
		select {
		case <-time.After(f.LoadStepDelay):
		case <-ctx.Done():
			return ctx.Err()
		}
		report(100*(i+1)/f.LoadSteps, fmt.Sprintf("step %d of %d", i+1, f.LoadSteps))
	}
	if f.MissingModel { // worded as the real resolver words it
		if model == "" {
			return fmt.Errorf("%w: the default model is not installed; install it with: ghostline pull", lsp.ErrModelMissing)
		}
		return fmt.Errorf("%w: model %q is not installed; install it with: ghostline pull %s", lsp.ErrModelMissing, model, model)
	}
	return nil
}

// Requests returns the requests seen so far.
func (f *Fake) Requests() []lsp.CompletionRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]lsp.CompletionRequest(nil), f.requests...)
}

// Cancelled returns how many calls ended because their context was done.
func (f *Fake) Cancelled() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.cancelled
}

// Overlapped reports whether two calls for one document ever ran at once.
func (f *Fake) Overlapped() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.overlap
}

// Loads returns the model names Load was called with.
func (f *Fake) Loads() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.loads...)
}
