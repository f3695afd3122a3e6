package lsp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"
)

// Scheduling, in brief:
//   - Each document has at most one completion in flight: a new request
//     for the document cancels the previous one (errSuperseded) and its
//     Completer call starts only after the previous call has returned.
//   - Automatic requests wait Config.Debounce first; Invoked ones do not.
//   - A request whose context ends ($/cancelRequest, superseded, document
//     closed, shutdown) is answered at once with RequestCancelled
//     (-32800), even if the Completer has not returned yet; the document
//     stays reserved until it does.
//   - If the user typed along the last suggestion for the document, the
//     remainder is returned without calling the Completer.

// slot is the latest completion request of a document.
type slot struct {
	cancel context.CancelCauseFunc
	// done is closed when this request's Completer call, and every
	// earlier one for the document, has returned (or will never start).
	done chan struct{}
}

// shown remembers the last suggestions for a document, for typing along.
type shown struct {
	prefix, suffix string      // the text around the cursor they were made for
	texts          []Candidate // the suggestions, without any selected-item lead
	asked          int         // how many the Completer was asked for
}

// job is one completion request, ready to run.
type job struct {
	id       jsonrpc2.ID
	uri      string
	received time.Time
	req      CompletionRequest
	debounce time.Duration
	// build turns the final suggestions into the reply.
	build func(cands []Candidate) any
	// cache: whether the suggestions may serve typing along later.
	cache bool
}

// where is the cursor context prepare computed.
type where struct {
	rng     protocol.Range // the range each item replaces
	lead    string         // text every item starts with (SelectedCompletionInfo.Text)
	after   string         // the rest of the cursor's line after the range
	wordRng protocol.Range // the identifier before the cursor, for the fallback
	word    string
}

// errEmpty: answer with no suggestions, without running the Completer.
var errEmpty = errors.New("no completion for this document")

// prepare validates a completion request and builds its job. It runs on
// the message loop, so it sees the document exactly as the messages before
// it left it.
func (s *Server) prepare(id jsonrpc2.ID, uri string, p protocol.Position, sel *SelectedCompletionInfo, trigger InlineCompletionTriggerKind) (*job, *where, error) {
	received := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	doc := s.docs[uri]
	if doc == nil {
		return nil, nil, jsonrpc2.Errorf(jsonrpc2.InvalidParams, "document %s is not open", uri)
	}
	if doc.skip != nil || !s.cfg.Enabled(doc.lang) {
		return nil, nil, errEmpty
	}
	t := doc.text
	off, err := t.Offset(p, s.enc)
	if err != nil {
		return nil, nil, jsonrpc2.Errorf(jsonrpc2.InvalidParams, "position: %v", err)
	}
	w := &where{rng: protocol.Range{Start: p, End: p}}
	prefix, suffix := t.String()[:off], t.String()[off:]
	line := int(p.Line)
	if sel != nil {
		start, err := t.Offset(sel.Range.Start, s.enc)
		if err != nil {
			return nil, nil, jsonrpc2.Errorf(jsonrpc2.InvalidParams, "selectedCompletionInfo.range: %v", err)
		}
		end, err := t.Offset(sel.Range.End, s.enc)
		if err != nil {
			return nil, nil, jsonrpc2.Errorf(jsonrpc2.InvalidParams, "selectedCompletionInfo.range: %v", err)
		}
		if end < start || sel.Range.Start.Line != sel.Range.End.Line {
			return nil, nil, jsonrpc2.Errorf(jsonrpc2.InvalidParams, "selectedCompletionInfo.range must be a forward range on one line")
		}
		// Complete the document as it will be once the selected item is
		// accepted; every item then starts with its text, over its range.
		prefix = t.String()[:start] + sel.Text
		suffix = t.String()[end:]
		w.rng, w.lead = sel.Range, sel.Text
		line = int(sel.Range.Start.Line) + NewText(sel.Text).LineCount() - 1
	}
	w.after, _, _ = strings.Cut(suffix, "\n")
	w.after = strings.TrimSuffix(w.after, "\r")
	// The identifier before the cursor, for the completion-list fallback.
	ws := off
	for ws > 0 {
		r, size := utf8.DecodeLastRuneInString(t.String()[:ws])
		if r != '_' && !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			break
		}
		ws -= size
	}
	w.word = t.String()[ws:off]
	w.wordRng = protocol.Range{Start: t.Position(ws, s.enc), End: p}

	n := 1
	if trigger == InlineInvoked {
		n = maxInvokedItems
	}
	debounce := s.cfg.Debounce
	if trigger == InlineInvoked {
		debounce = 0 // the user asked and is waiting
	}
	j := &job{
		id:       id,
		uri:      uri,
		received: received,
		debounce: debounce,
		cache:    true,
		req: CompletionRequest{
			URI: uri, Path: filePath(uri), LanguageID: doc.lang, Version: doc.version,
			Prefix: prefix, Suffix: suffix,
			Line: line, Column: len(prefix) - lineStart(prefix),
			Trigger: trigger, N: n,
			MaxLines: s.cfg.MaxLines, ContextBudget: s.cfg.ContextBudget, AstGuard: s.cfg.AstGuard,
			CrossFileBudget: s.cfg.CrossFileBudget,
		},
	}
	if s.opts.CompletionBudget > 0 {
		j.req.Deadline = received.Add(s.opts.CompletionBudget)
	}
	return j, w, nil
}

// maxInvokedItems: Invoked requests get up to three distinct items to
// cycle through; more would cost decode time few users spend cycling.
const maxInvokedItems = 3

// replacing extends r, which ends at the cursor, over the n bytes after it
// that an item replaces: closers and separators on the cursor's line
// (decode.Completion.Replace). They are ASCII, so n bytes are n code units
// in every position encoding; a count past the line, or over other text,
// is ignored rather than sent as a range that cuts a character.
func (w *where) replacing(r protocol.Range, n int) protocol.Range {
	if n <= 0 || n > len(w.after) {
		return r
	}
	for i := range n {
		if w.after[i] >= utf8.RuneSelf {
			return r
		}
	}
	r.End.Character += uint32(n)
	return r
}

// lineStart returns the offset after the last LSP line break in s.
func lineStart(s string) int {
	return strings.LastIndexAny(s, "\r\n") + 1
}

func (s *Server) inlineCompletion(call *jsonrpc2.Call, reply replier) {
	var p InlineCompletionParams
	if !decodeParams(s.ctx, call.Params(), &p, reply) {
		return
	}
	kind := p.Context.TriggerKind
	if kind != InlineInvoked && kind != InlineAutomatic {
		reply(s.ctx, nil, jsonrpc2.Errorf(jsonrpc2.InvalidParams, "unknown inline completion triggerKind %d", kind))
		return
	}
	j, w, err := s.prepare(call.ID(), string(p.TextDocument.URI), p.Position, p.Context.SelectedCompletionInfo, kind)
	if errors.Is(err, errEmpty) {
		reply(s.ctx, InlineCompletionList{Items: []InlineCompletionItem{}}, nil)
		return
	}
	if err != nil {
		reply(s.ctx, nil, err)
		return
	}
	lang := j.req.LanguageID
	j.build = func(cands []Candidate) any {
		items := make([]InlineCompletionItem, 0, len(cands))
		for _, c := range cands {
			id := s.items.add(itemInfo{URI: j.uri, LanguageID: lang, Text: w.lead + c.Text})
			rng := w.replacing(w.rng, c.Replace)
			items = append(items, InlineCompletionItem{
				InsertText: InsertText{Text: w.lead + c.Text},
				Range:      &rng,
				Command:    &protocol.Command{Title: "Ghostline: accepted", Command: commandAccept, Arguments: []any{id}},
			})
		}
		return InlineCompletionList{Items: items}
	}
	s.schedule(j, reply)
}

// completion is the textDocument/completion fallback: the ghost text as
// one completion item. The item's edit covers the identifier before the
// cursor so that clients, which filter items by that word, keep it.
func (s *Server) completion(call *jsonrpc2.Call, reply replier) {
	var p completionParams
	if !decodeParams(s.ctx, call.Params(), &p, reply) {
		return
	}
	trigger := InlineAutomatic
	if p.Context != nil && p.Context.TriggerKind == 1 {
		trigger = InlineInvoked
	}
	j, w, err := s.prepare(call.ID(), string(p.TextDocument.URI), p.Position, nil, trigger)
	if errors.Is(err, errEmpty) {
		reply(s.ctx, completionList{IsIncomplete: true, Items: []completionItem{}}, nil)
		return
	}
	if err != nil {
		reply(s.ctx, nil, err)
		return
	}
	j.req.N = 1 // a list item per alternative would clutter the popup
	lang := j.req.LanguageID
	j.build = func(cands []Candidate) any {
		// isIncomplete: the client asks again as the user types, so the
		// item follows the text instead of being filtered client side.
		list := completionList{IsIncomplete: true, Items: []completionItem{}}
		for _, c := range cands {
			t := c.Text
			id := s.items.add(itemInfo{URI: j.uri, LanguageID: lang, Text: t})
			first, _, multi := strings.Cut(t, "\n")
			label := w.word + strings.TrimRight(first, "\r")
			if len(label) > 80 {
				cut := 80
				for cut > 0 && !utf8.RuneStart(label[cut]) {
					cut-- // never split a character
				}
				label = label[:cut] + "…"
			} else if multi {
				label += " …"
			}
			list.Items = append(list.Items, completionItem{
				Label:            label,
				Kind:             1, // Text
				Detail:           "Ghostline",
				Documentation:    &markupContent{Kind: "markdown", Value: "```" + lang + "\n" + w.word + t + "\n```"},
				SortText:         "0",
				FilterText:       w.word + t,
				Preselect:        true,
				InsertTextFormat: 1, // plain text: ghost text is literal
				InsertTextMode:   1, // asIs
				TextEdit:         textEdit{Range: w.replacing(w.wordRng, c.Replace), NewText: w.word + t},
				Command:          &protocol.Command{Title: "Ghostline: accepted", Command: commandAccept, Arguments: []any{id}},
			})
		}
		return list
	}
	j.cache = false // the fallback's items are not remainders
	s.schedule(j, reply)
}

// schedule answers from the typing-along cache or starts the job. Called
// on the message loop.
func (s *Server) schedule(j *job, reply replier) {
	s.mu.Lock()
	var rems []Candidate
	if sh := s.shown[j.uri]; sh != nil && j.cache && sh.suffix == j.req.Suffix && strings.HasPrefix(j.req.Prefix, sh.prefix) {
		typed := j.req.Prefix[len(sh.prefix):]
		for _, c := range sh.texts {
			if len(c.Text) > len(typed) && strings.HasPrefix(c.Text, typed) {
				rems = append(rems, Candidate{Text: c.Text[len(typed):], Replace: c.Replace})
			}
		}
		if len(rems) > j.req.N {
			rems = rems[:j.req.N]
		}
		if len(rems) < j.req.N && sh.asked < j.req.N {
			rems = nil // Invoked wants alternatives the cache never had
		}
	}
	prev := s.slots[j.uri]
	if len(rems) > 0 {
		if prev != nil {
			prev.cancel(errSuperseded)
		}
		s.mu.Unlock()
		s.log.Debug("typed along a suggestion", "uri", j.uri, "items", len(rems))
		answer := j.build(rems)
		s.timing(j, "cached", len(rems), nil)
		reply(s.ctx, answer, nil)
		return
	}
	ctx, cancel := context.WithCancelCause(s.ctx)
	sl := &slot{cancel: cancel, done: make(chan struct{})}
	s.inflight[j.id] = cancel
	s.slots[j.uri] = sl
	if prev != nil {
		prev.cancel(errSuperseded)
	}
	s.tasks.Add(1)
	s.mu.Unlock()
	go s.run(ctx, j, sl, prev, reply)
}

type outcome struct {
	res        CompletionResult
	err        error
	start, end time.Time // the Completer call
}

// CompletionTiming describes one answered completion request, for
// latency measurements that separate the server's own time from the
// model's (Options.OnCompletion). It is recorded before the answer is
// written, so a client that has read the answer can rely on its timing
// having been reported.
type CompletionTiming struct {
	ID      string // the request's JSON-RPC id, as JSON ("7", "\"a\"")
	URI     string
	Trigger InlineCompletionTriggerKind
	// Outcome: "items", "empty", "cached" (typing along, no Completer
	// call), "cancelled" or "error".
	Outcome string
	Items   int
	// Received: the request reached the handler (after JSON-RPC decoding).
	// Started/Returned: the Completer call (zero if it was not called).
	// Replied: the answer was built and is about to be handed to the
	// connection (encoding and writing it follow).
	Received, Started, Returned, Replied time.Time
	// Completer is the Completer's own account of its time, when it gives
	// one (CompletionResult.Timing).
	Completer CompleterTiming
}

// Model returns the time spent in the Completer.
func (t CompletionTiming) Model() time.Duration {
	if t.Started.IsZero() {
		return 0
	}
	return t.Returned.Sub(t.Started)
}

// timing reports one request to Options.OnCompletion.
func (s *Server) timing(j *job, outcome string, items int, o *outcome) {
	if s.opts.OnCompletion == nil {
		return
	}
	id, _ := j.id.MarshalJSON()
	t := CompletionTiming{ID: string(id), URI: j.uri, Trigger: j.req.Trigger, Outcome: outcome, Items: items, Received: j.received, Replied: time.Now()}
	if o != nil {
		t.Started, t.Returned = o.start, o.end
		t.Completer = o.res.Timing
	}
	s.opts.OnCompletion(t)
}

// run executes one job on its own goroutine.
func (s *Server) run(ctx context.Context, j *job, sl, prev *slot, reply replier) {
	defer s.tasks.Done()
	// Once answered, the request's context is cancelled: it is a child of
	// the server's, which would otherwise keep every finished request's
	// context for the whole session. A Completer still running here was
	// cancelled already (its request was answered as cancelled).
	defer sl.cancel(errAnswered)
	started := false
	defer func() {
		s.mu.Lock()
		delete(s.inflight, j.id)
		s.mu.Unlock()
		if !started { // release the document once the previous call is done
			s.tasks.Add(1)
			go func() {
				defer s.tasks.Done()
				if prev != nil {
					<-prev.done
				}
				s.release(j.uri, sl)
			}()
		}
		if p := recover(); p != nil {
			s.log.Error("panic in completion", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			reply(ctx, nil, jsonrpc2.Errorf(jsonrpc2.InternalError, "internal error: %v", p))
		}
	}()
	t0 := time.Now()
	if j.debounce > 0 {
		timer := time.NewTimer(j.debounce)
		select {
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
		}
	}
	if prev != nil {
		select {
		case <-prev.done:
		case <-ctx.Done():
		}
	}
	if ctx.Err() != nil {
		s.replyCancelled(ctx, j, reply)
		return
	}
	started = true
	out := make(chan outcome, 1)
	// The Completer runs on, after a cancelled request is answered, until
	// it notices: Serve waits for it (tasks) before the engine is closed.
	s.tasks.Add(1)
	go func() {
		defer s.tasks.Done()
		defer s.release(j.uri, sl)
		defer func() {
			if p := recover(); p != nil {
				s.log.Error("panic in Completer", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				out <- outcome{err: fmt.Errorf("completer panicked: %v", p)}
			}
		}()
		start := time.Now()
		res, err := s.opts.Completer.Complete(ctx, j.req)
		out <- outcome{res, err, start, time.Now()}
	}()
	t1 := time.Now()
	select {
	case <-ctx.Done():
		s.replyCancelled(ctx, j, reply)
	case o := <-out:
		switch {
		case ctx.Err() != nil:
			s.replyCancelled(ctx, j, reply)
		case o.err != nil:
			s.log.Warn("completion failed", "uri", j.uri, "err", o.err)
			if errors.Is(o.err, ErrBrokenModel) {
				s.tellBrokenModel()
			}
			s.timing(j, "error", 0, &o)
			reply(ctx, nil, jsonrpc2.Errorf(codeRequestFailed, "completion failed: %v", o.err))
		default:
			texts := cleanCandidates(o.res.Candidates, j.req.N, j.req.MaxLines)
			if j.cache && len(texts) > 0 {
				s.mu.Lock()
				if s.docs[j.uri] != nil {
					s.shown[j.uri] = &shown{prefix: j.req.Prefix, suffix: j.req.Suffix, texts: texts, asked: j.req.N}
				}
				s.mu.Unlock()
			}
			s.log.Debug("completion", "uri", j.uri, "trigger", j.req.Trigger.String(), "items", len(texts),
				"wait_ms", t1.Sub(t0).Milliseconds(), "model_ms", time.Since(t1).Milliseconds())
			answer := j.build(texts)
			what := "items"
			if len(texts) == 0 {
				what = "empty"
			}
			s.timing(j, what, len(texts), &o)
			reply(ctx, answer, nil)
		}
	}
}

// release marks sl's document free: its Completer call (if any) has
// returned. The slot stays in s.slots until then, even when its request
// was answered early, so the next request waits for it.
func (s *Server) release(uri string, sl *slot) {
	s.mu.Lock()
	if s.slots[uri] == sl {
		delete(s.slots, uri)
	}
	s.mu.Unlock()
	close(sl.done)
}

// replyCancelled answers a request whose context ended, on a detached
// context (the request's own is done), with RequestCancelled and the
// reason.
func (s *Server) replyCancelled(ctx context.Context, j *job, reply replier) {
	cause := context.Cause(ctx)
	if cause == nil {
		cause = context.Canceled
	}
	s.log.Debug("completion cancelled", "uri", j.uri, "reason", cause.Error())
	s.timing(j, "cancelled", 0, nil)
	reply(context.WithoutCancel(ctx), nil, jsonrpc2.NewError(codeRequestCancelled, cause.Error()))
}

// cleanCandidates drops empty and duplicate candidates, cuts each to
// maxLines lines and keeps the first n. A cut candidate replaces nothing:
// the closers it wrote to replace may be in the lines cut off.
func cleanCandidates(cands []Candidate, n, maxLines int) []Candidate {
	var out []Candidate
	for _, c := range cands {
		if maxLines > 0 {
			if t := firstLines(c.Text, maxLines); t != c.Text {
				c = Candidate{Text: t}
			}
		}
		if strings.TrimSpace(c.Text) == "" || slices.Contains(out, c) {
			continue
		}
		out = append(out, c)
		if len(out) == n {
			break
		}
	}
	return out
}

// firstLines keeps the first n lines of s (without the break after them).
// A last break followed only by indentation is not a line: it is the
// break the engine adds after a completion that ends a line typed at a
// line start, which keeps the code after the cursor on its own line. It
// is not counted, and it stays after a cut.
func firstLines(s string, n int) string {
	body, tail := s, ""
	if i := strings.LastIndexByte(s, '\n'); i >= 0 && strings.TrimLeft(s[i+1:], " \t") == "" {
		body, tail = s[:i], s[i:]
		if strings.HasSuffix(body, "\r") {
			body, tail = body[:len(body)-1], "\r"+tail
		}
	}
	off := 0
	for i := 0; i < n; i++ {
		j := strings.IndexByte(body[off:], '\n')
		if j < 0 {
			return s
		}
		off += j + 1
	}
	return strings.TrimRight(body[:off-1], "\r") + tail
}

func (s *Server) executeCommand(call *jsonrpc2.Call, reply replier) {
	var p executeCommandParams
	if !decodeParams(s.ctx, call.Params(), &p, reply) {
		return
	}
	if p.Command != commandAccept {
		reply(s.ctx, nil, jsonrpc2.Errorf(jsonrpc2.InvalidParams, "unknown command %q", p.Command))
		return
	}
	var id string
	if len(p.Arguments) > 0 {
		_ = json.Unmarshal(p.Arguments[0], &id)
	}
	s.recordFeedback("accepted", id, nil, -1)
	reply(s.ctx, nil, nil)
}

// itemIDs are "g<session-unique counter>".
func itemID(n uint64) string { return "g" + strconv.FormatUint(n, 10) }
