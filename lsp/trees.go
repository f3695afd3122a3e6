package lsp

import (
	"context"
	"errors"
	"sync"

	"github.com/ghostline-dev/ghostline/astguard"
	"github.com/ghostline-dev/ghostline/decode"
)

// SyntaxTrees is a DocumentObserver that keeps an incremental syntax tree
// (astguard.Document) for every open document in a language astguard
// parses, so that a completion's syntax constraint starts from the current
// tree (decode.NewSyntaxConstraintAt: a few incremental reparses, ~5 ms on
// a 5,000-line file) instead of a full parse of the document (30–60 ms).
// Documents in other languages simply get no tree.
//
// Concurrency: edits arrive on the server's message loop, which must not
// block, while completions read the trees on their own goroutines. So each
// document has a queue of changes that a goroutine of its own applies in
// order (the first parse of a large file takes tens of milliseconds, an
// edit a fraction of one), and a completion waits until the queue has
// caught up with the version it was asked for. The tree itself is guarded
// by a mutex held while it is edited or while a constraint copies it.
//
// The zero value is ready to use; Close frees every tree.
type SyntaxTrees struct {
	mu     sync.Mutex
	docs   map[string]*treeDoc
	closed bool
	wg     sync.WaitGroup // the workers
}

var _ DocumentObserver = (*SyntaxTrees)(nil)

// maxIncrementalEdits is the most queued edits applied one by one; past
// it the worker reparses the latest text once. An incremental edit of a
// 5,000-line Go file costs ~0.5 ms and a full parse ~30 ms
// (docs/benchmarks.md, astguard), so a backlog of a few dozen edits (a
// paste, a macro, a slow first parse) is cheaper parsed afresh.
const maxIncrementalEdits = 32

// treeDoc is one document's tree and its queue of changes.
type treeDoc struct {
	lang astguard.Language

	mu      sync.Mutex // guards the queue fields
	pending []treeOp
	running bool          // a worker is applying pending
	applied int32         // version of the last batch applied
	settled chan struct{} // closed and replaced after each batch and when the worker stops

	treeMu sync.Mutex // guards the tree fields
	// doc is nil when there is no tree: closed, or the last full parse
	// failed (over astguard's size limit, a parse timeout). Edits do not
	// retry a failed parse, only a reopen does, so a pathological file
	// costs one failed parse, not one per keystroke.
	doc     *astguard.Document
	version int32 // the version doc holds
}

// treeOp is one queued change: edits to apply in order, or reset (parse
// text afresh) or close. text is always the full text after the change,
// for starting over when an edit cannot be applied.
type treeOp struct {
	version int32
	edits   []Edit
	text    string
	reset   bool
	close   bool
}

// DidOpen implements DocumentObserver.
func (t *SyntaxTrees) DidOpen(uri, languageID string, version int32, text string) {
	lang, err := astguard.Resolve(languageID, filePath(uri))
	if err != nil {
		return // no grammar: no tree, completions go unconstrained
	}
	d := &treeDoc{lang: lang, settled: make(chan struct{})}
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return
	}
	if t.docs == nil {
		t.docs = map[string]*treeDoc{}
	}
	old := t.docs[uri]
	t.docs[uri] = d
	t.mu.Unlock()
	if old != nil { // reopened without a close: the old tree goes
		t.enqueue(old, treeOp{close: true})
	}
	t.enqueue(d, treeOp{version: version, text: text, reset: true})
}

// DidChange implements DocumentObserver.
func (t *SyntaxTrees) DidChange(uri string, version int32, edits []Edit, text string) {
	if d := t.get(uri); d != nil {
		t.enqueue(d, treeOp{version: version, edits: edits, text: text})
	}
}

// DidClose implements DocumentObserver.
func (t *SyntaxTrees) DidClose(uri string) {
	t.mu.Lock()
	d := t.docs[uri]
	delete(t.docs, uri)
	t.mu.Unlock()
	if d != nil {
		t.enqueue(d, treeOp{close: true})
	}
}

// Close frees every tree and waits for the workers. Later DidOpen calls
// are ignored.
func (t *SyntaxTrees) Close() {
	t.mu.Lock()
	docs := t.docs
	t.docs, t.closed = nil, true
	t.mu.Unlock()
	for _, d := range docs {
		t.enqueue(d, treeOp{close: true})
	}
	t.wg.Wait()
}

func (t *SyntaxTrees) get(uri string) *treeDoc {
	if t == nil {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.docs[uri]
}

// enqueue appends op to d's queue and starts a worker if none runs.
func (t *SyntaxTrees) enqueue(d *treeDoc, op treeOp) {
	d.mu.Lock()
	d.pending = append(d.pending, op)
	start := !d.running
	d.running = true
	d.mu.Unlock()
	if start {
		t.wg.Add(1)
		go t.work(d)
	}
}

// work applies d's queue until it is empty.
func (t *SyntaxTrees) work(d *treeDoc) {
	defer t.wg.Done()
	for {
		d.mu.Lock()
		ops := d.pending
		d.pending = nil
		if len(ops) == 0 {
			d.running = false
			close(d.settled) // waiters see the worker idle
			d.settled = make(chan struct{})
			d.mu.Unlock()
			return
		}
		d.mu.Unlock()
		v := d.apply(ops)
		d.mu.Lock()
		d.applied = v
		close(d.settled)
		d.settled = make(chan struct{})
		d.mu.Unlock()
	}
}

// apply applies a batch of changes to the tree and returns the version
// the tree now holds.
func (d *treeDoc) apply(ops []treeOp) int32 {
	d.treeMu.Lock()
	defer d.treeMu.Unlock()
	// Only what follows the last reset or close matters.
	from, edits := 0, 0
	for i, op := range ops {
		if op.reset || op.close {
			from, edits = i, 0
		}
		edits += len(op.edits)
	}
	ops = ops[from:]
	last := ops[len(ops)-1]
	switch {
	case ops[0].close:
		d.free()
		if len(ops) == 1 {
			return d.version
		}
		// A close then more changes cannot happen (a reopen is a new
		// treeDoc); keep the tree gone.
		return last.version
	case ops[0].reset || d.doc != nil && edits > maxIncrementalEdits:
		d.reparse(last.text, last.version)
		return d.version
	case d.doc == nil: // broken: wait for a reopen
		d.version = last.version
		return d.version
	}
	for _, op := range ops {
		for _, e := range op.edits {
			if err := d.edit(e); err != nil {
				// Points that do not match the bytes, a parse timeout: the
				// tree cannot follow; start over from the text.
				d.reparse(last.text, last.version)
				return d.version
			}
		}
		d.version = op.version
	}
	return d.version
}

// edit applies one edit. A full-text replacement (what full sync sends)
// is narrowed to the bytes that differ, so the reparse stays incremental.
func (d *treeDoc) edit(e Edit) error {
	src := d.doc.Source()
	if e.StartByte == 0 && e.OldEndByte == len(src) {
		p := 0
		for p < len(src) && p < len(e.NewText) && src[p] == e.NewText[p] {
			p++
		}
		s := 0
		for s < len(src)-p && s < len(e.NewText)-p && src[len(src)-1-s] == e.NewText[len(e.NewText)-1-s] {
			s++
		}
		if p == len(src) && p == len(e.NewText) {
			return nil // no change
		}
		return d.doc.Replace(p, len(src)-s, []byte(e.NewText[p:len(e.NewText)-s]))
	}
	return d.doc.Apply(astguard.Edit{
		StartByte: e.StartByte, OldEndByte: e.OldEndByte,
		StartPoint:  astguard.Point{Row: e.StartPoint.Row, Column: e.StartPoint.Column},
		OldEndPoint: astguard.Point{Row: e.OldEndPoint.Row, Column: e.OldEndPoint.Column},
		NewText:     []byte(e.NewText),
	})
}

// reparse replaces the tree with a full parse of text; on failure (a
// file over astguard's size limit, a parse timeout) the document has no
// tree until it is reopened.
func (d *treeDoc) reparse(text string, version int32) {
	d.free()
	d.version = version
	d.doc, _ = astguard.NewDocument(d.lang, []byte(text))
}

func (d *treeDoc) free() {
	if d.doc != nil {
		d.doc.Close()
		d.doc = nil
	}
}

// wait blocks until the worker has applied version (or has nothing left
// to apply) or ctx ends.
func (d *treeDoc) wait(ctx context.Context, version int32) error {
	for {
		d.mu.Lock()
		done := !d.running || d.applied == version
		ch := d.settled
		d.mu.Unlock()
		if done {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// errNoTree: the document has no tree for the request's text.
var errNoTree = errors.New("no syntax tree for this text")

// fromTree builds the constraint from the document's tree, if it holds
// exactly the request's text.
func (t *SyntaxTrees) fromTree(ctx context.Context, req CompletionRequest) (*decode.SyntaxConstraint, error) {
	d := t.get(req.URI)
	if d == nil {
		return nil, errNoTree
	}
	if err := d.wait(ctx, req.Version); err != nil {
		return nil, err
	}
	d.treeMu.Lock()
	defer d.treeMu.Unlock()
	if d.doc == nil || d.version != req.Version {
		return nil, errNoTree // newer edits already applied: the request is stale
	}
	// The version is the client's word; the text is the proof. (It also
	// differs while a popup item is selected: the request then completes
	// the text with the item accepted.) Comparing costs ~20 µs per 200 KB.
	src := d.doc.Source()
	n := len(req.Prefix)
	if len(src) != n+len(req.Suffix) || string(src[:n]) != req.Prefix || string(src[n:]) != req.Suffix {
		return nil, errNoTree
	}
	return decode.NewSyntaxConstraintAt(d.doc, n)
}

// Constraint returns the syntax constraint for req: from the document's
// tree when the document has one holding exactly req's text (incremental
// is then true), otherwise from a full parse of req's prefix and suffix.
// It fails for languages astguard does not parse (decode unconstrained
// then) and when ctx ends. t may be nil (always a full parse). Close the
// constraint after the request.
func (t *SyntaxTrees) Constraint(ctx context.Context, req CompletionRequest) (con *decode.SyntaxConstraint, incremental bool, err error) {
	if con, err := t.fromTree(ctx, req); err == nil {
		return con, true, nil
	} else if ctx.Err() != nil {
		return nil, false, ctx.Err()
	}
	con, err = decode.NewSyntaxConstraint(req.LanguageID, req.Path, req.Prefix, req.Suffix)
	return con, false, err
}
