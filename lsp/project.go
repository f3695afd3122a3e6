package lsp

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/ghostline-dev/ghostline/decode"
	"github.com/ghostline-dev/ghostline/projectgraph"
)

// ProjectContext is the WorkspaceObserver (and DocumentObserver) that
// gives completions their cross-file context: it indexes each workspace
// folder with projectgraph (with $/progress, through Index), keeps the
// index current from projectgraph's fsnotify watcher and from the
// client's didChangeWatchedFiles (both are hints; projectgraph re-reads
// what is on disk), and packs, for a cursor, the definitions and
// neighbours the code around it uses (Index.Context) into blocks the
// engine lays out as other files of the repository.
//
// A folder whose index is not ready yet (the first index of a large tree
// takes a minute) contributes nothing: Blocks returns at once, so
// indexing never sits on the keystroke path.
//
// The zero value is ready to use; Close stops the watchers.
type ProjectContext struct {
	// Options for projectgraph.Open (scan limits, cache location). The
	// zero value indexes with projectgraph's defaults and its on-disk
	// cache, so a second session starts from the cache in seconds.
	Options projectgraph.Options
	// Counter counts tokens against the budget; nil means
	// projectgraph.ApproxCounter. The engine re-counts the blocks with the
	// model's tokenizer and cuts what does not fit its share of the
	// prompt, so an approximate count only moves where the cut falls, and
	// it costs a fraction of a real tokenization.
	Counter projectgraph.TokenCounter
	// NoWatch leaves out the fsnotify watcher (the client's
	// didChangeWatchedFiles still updates the index).
	NoWatch bool

	mu      sync.Mutex
	ctx     context.Context // lives until Close: watchers and updates
	cancel  context.CancelFunc
	closed  bool
	folders map[string]*folder     // by folder URI
	open    map[string]bool        // paths of open documents
	recent  []string               // paths of edited documents, newest first
	last    map[string]lineContext // per document path: the context of its cursor's line
	gen     uint64                 // counts index changes: a context computed across one is not kept in last
	tasks   sync.WaitGroup
}

// lineContext is the context computed for one line of a document.
type lineContext struct {
	line, budget int
	at           time.Time
	blocks       ProjectBlocks
}

// lineContextTTL bounds how long a line's context is reused. While the
// user types along a line the blocks are reused rather than recomputed
// per keystroke: recomputing costs milliseconds per request in a real
// repository, and blocks that shift as the current word grows would
// change the head of the prompt and defeat the engine's prefix cache,
// so every keystroke would evaluate the whole context again (hundreds of
// tokens: seconds on a 2-core CPU). A new line, a new budget or a
// changed workspace recomputes; 30 s bounds staleness on a long line.
const lineContextTTL = 30 * time.Second

var (
	_ WorkspaceObserver = (*ProjectContext)(nil)
	_ DocumentObserver  = (*ProjectContext)(nil)
)

// maxRecent bounds the recently edited files passed to Context: only the
// first few get a neighbour outline within a prompt's budget anyway.
const maxRecent = 16

// folder is one workspace folder and its index.
type folder struct {
	uri, dir, name string
	ix             *projectgraph.Index // nil until indexed
	indexing       bool
	pending        []string           // paths the editor reported changed while indexing
	stop           context.CancelFunc // stops the watcher
	updates        sync.Mutex         // one Update at a time
}

// start makes the background context on first use.
func (p *ProjectContext) start() context.Context {
	if p.ctx == nil {
		p.ctx, p.cancel = context.WithCancel(context.Background())
		p.folders = map[string]*folder{}
		p.open = map[string]bool{}
		p.last = map[string]lineContext{}
	}
	return p.ctx
}

// FoldersChanged implements WorkspaceObserver: removed folders drop their
// index and watcher; added ones are indexed by the Index call that
// follows.
func (p *ProjectContext) FoldersChanged(added, removed []WorkspaceFolder) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.start()
	clear(p.last)
	for _, f := range removed {
		if fo := p.folders[f.URI]; fo != nil {
			if fo.stop != nil {
				fo.stop()
			}
			delete(p.folders, f.URI)
		}
	}
}

// Index implements WorkspaceObserver: it opens the index of every folder
// not indexed yet, one after the other, reporting files done over files
// seen, and starts a watcher on each.
func (p *ProjectContext) Index(ctx context.Context, folders []WorkspaceFolder, report ProgressFunc) error {
	var todo []*folder
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	base := p.start()
	for _, f := range folders {
		if p.folders[f.URI] != nil {
			continue // indexed or being indexed
		}
		dir := filePath(f.URI)
		if dir == "" {
			continue // not on this machine's file system
		}
		name := f.Name
		if name == "" || strings.Contains(name, "/") {
			name = filepath.Base(dir)
		}
		fo := &folder{uri: f.URI, dir: dir, name: name, indexing: true}
		p.folders[f.URI] = fo
		todo = append(todo, fo)
	}
	p.mu.Unlock()

	var errs []error
	for i, fo := range todo {
		opt := p.Options
		opt.Progress = func(done, total int) {
			if total > 0 {
				report((100*i+100*done/total)/len(todo), fmt.Sprintf("%s: %d/%d files", fo.name, done, total))
			}
		}
		// The watcher starts before the scan, so that what changes while
		// the scan runs (a save, a branch switch) arrives as batches once
		// the index is there, rather than being lost.
		var w projectgraph.Watcher
		if !p.NoWatch {
			var werr error
			w, werr = projectgraph.NewWatcher(fo.dir, p.Options.Config)
			if werr != nil {
				errs = append(errs, fmt.Errorf("watching %s: %w (the index follows the editor's file events only)", fo.dir, werr))
			}
		}
		ix, err := projectgraph.Open(ctx, fo.dir, opt)
		if ix == nil && err == nil {
			err = errors.New("no index")
		}
		if ix != nil && err != nil {
			err = nil // indexed, but the cache could not be saved: still usable
		}
		p.mu.Lock()
		fo.indexing = false
		clear(p.last)
		current := p.folders[fo.uri] == fo && !p.closed
		if err == nil && ix.Stats().Skipped["limit"] > 0 {
			errs = append(errs, fmt.Errorf("%s: only its first %d source files are indexed (the workspace is larger than the index's limit); files past them get no cross-file context", fo.dir, len(ix.Files())))
		}
		if err == nil && current {
			fo.ix = ix
			if w != nil {
				wctx, stop := context.WithCancel(base)
				fo.stop = stop
				p.tasks.Add(1)
				go func(w projectgraph.Watcher) {
					defer p.tasks.Done()
					defer w.Close()
					p.watch(wctx, fo, w)
				}(w)
				w = nil // the goroutine owns it now
			}
			if len(fo.pending) > 0 {
				p.update(base, fo, fo.pending)
				fo.pending = nil
			}
		}
		if w != nil {
			w.Close()
		}
		if err != nil && current {
			delete(p.folders, fo.uri) // a later Index call may retry
		}
		p.mu.Unlock()
		if err != nil {
			errs = append(errs, fmt.Errorf("indexing %s: %w", fo.dir, err))
		}
		if ctx.Err() != nil {
			break
		}
	}
	return errors.Join(errs...)
}

// watch applies the watcher's batches to fo's index (Index.Apply, as
// Index.Watch does) under fo's update lock, and drops the cached line
// contexts after each.
func (p *ProjectContext) watch(ctx context.Context, fo *folder, w projectgraph.Watcher) {
	for {
		select {
		case <-ctx.Done():
			return
		case b, ok := <-w.Events():
			if !ok {
				return
			}
			fo.updates.Lock()
			_ = fo.ix.Apply(ctx, b) // errors: the next batch or re-scan retries
			fo.updates.Unlock()
			p.forget()
		}
	}
}

// forget drops the cached line contexts: the index changed.
func (p *ProjectContext) forget() {
	p.mu.Lock()
	clear(p.last)
	p.gen++
	p.mu.Unlock()
}

// FilesChanged implements WorkspaceObserver: the files go to their
// folder's index in the background (one update at a time per folder).
func (p *ProjectContext) FilesChanged(events []FileEvent) {
	byFolder := map[*folder][]string{}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	base := p.start()
	clear(p.last) // files changed: contexts are recomputed
	p.gen++
	for _, ev := range events {
		path := filePath(ev.URI)
		fo := p.innermost(path, true)
		switch {
		case fo == nil:
		case fo.ix != nil:
			byFolder[fo] = append(byFolder[fo], path)
		case fo.indexing && len(fo.pending) <= maxPendingPaths:
			// Applied once the index is there: the scan may have read
			// the file before it changed.
			fo.pending = append(fo.pending, path)
		}
	}
	for fo, paths := range byFolder {
		p.update(base, fo, paths)
	}
	p.mu.Unlock()
}

// maxPendingPaths bounds the paths held for a folder still being indexed;
// past it, a change is surely covered by a later event or re-scan rather
// than worth unbounded memory (Update re-scans above 512 paths anyway).
const maxPendingPaths = 4096

// update brings paths of fo's index up to date in the background, one
// update at a time per folder. Called with p.mu held.
func (p *ProjectContext) update(base context.Context, fo *folder, paths []string) {
	p.tasks.Add(1)
	go func() {
		defer p.tasks.Done()
		fo.updates.Lock()
		defer fo.updates.Unlock()
		_ = fo.ix.Update(base, paths) // a vanished path is not an error; others show at the next re-scan
		p.forget()
	}()
}

// DidOpen implements DocumentObserver: open files are offered to Context
// as neighbours.
func (p *ProjectContext) DidOpen(uri, _ string, _ int32, _ string) {
	if path := filePath(uri); path != "" {
		p.mu.Lock()
		p.start()
		p.open[path] = true
		p.mu.Unlock()
	}
}

// DidChange implements DocumentObserver: edited files count as recent.
func (p *ProjectContext) DidChange(uri string, _ int32, _ []Edit, _ string) {
	path := filePath(uri)
	if path == "" {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.recent) > 0 && p.recent[0] == path {
		return // the usual case: typing on in the same file
	}
	p.recent = slices.DeleteFunc(p.recent, func(s string) bool { return s == path })
	p.recent = append([]string{path}, p.recent...)
	if len(p.recent) > maxRecent {
		p.recent = p.recent[:maxRecent]
	}
}

// DidClose implements DocumentObserver.
func (p *ProjectContext) DidClose(uri string) {
	if path := filePath(uri); path != "" {
		p.mu.Lock()
		delete(p.open, path)
		delete(p.last, path)
		p.mu.Unlock()
	}
}

// folderOf returns the indexed folder holding path (the innermost one
// when folders nest), or nil. p.mu is held.
func (p *ProjectContext) folderOf(path string) *folder { return p.innermost(path, false) }

// innermost returns the innermost folder holding path: among the indexed
// ones, or also among those still being indexed.
func (p *ProjectContext) innermost(path string, indexing bool) *folder {
	if path == "" {
		return nil
	}
	var best *folder
	for _, fo := range p.folders {
		if fo.ix == nil && !(indexing && fo.indexing) {
			continue
		}
		rel, err := filepath.Rel(fo.dir, path)
		if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) || filepath.IsAbs(rel) {
			continue
		}
		if best == nil || len(fo.dir) > len(best.dir) {
			best = fo
		}
	}
	return best
}

// ProjectBlocks is the cross-file context for one request.
type ProjectBlocks struct {
	Blocks []decode.ContextBlock
	// Rel is the document's slash path relative to its folder and Repo
	// the folder's name: the engine's repository layout names the files
	// by them. Both are "" outside the indexed folders.
	Rel, Repo string
	Tokens    int // Σ tokens of the blocks, as Counter counted them
}

// Blocks returns the context for req's cursor within budget tokens. A
// document outside every indexed folder, or in a folder still being
// indexed, gets none at once; an error is a failure of the index (a
// language it does not know is not one: no blocks then). The context of
// the cursor's line is reused for later requests on that line (see
// lineContextTTL); cached says so.
func (p *ProjectContext) Blocks(req CompletionRequest, budget int) (_ ProjectBlocks, cached bool, _ error) {
	if p == nil || req.Path == "" {
		return ProjectBlocks{}, false, nil
	}
	p.mu.Lock()
	fo := p.folderOf(req.Path)
	if fo == nil {
		p.mu.Unlock()
		return ProjectBlocks{}, false, nil
	}
	if lc, ok := p.last[req.Path]; ok && lc.line == req.Line && lc.budget == budget && time.Since(lc.at) < lineContextTTL {
		p.mu.Unlock()
		return lc.blocks, true, nil
	}
	var open []string
	for path := range p.open {
		if path != req.Path && p.folderOf(path) == fo {
			open = append(open, path)
		}
	}
	recent := slices.DeleteFunc(slices.Clone(p.recent), func(s string) bool { return s == req.Path })
	gen := p.gen
	p.mu.Unlock()
	slices.Sort(open) // deterministic prompts

	rel, err := fo.ix.Rel(req.Path)
	if err != nil {
		return ProjectBlocks{}, false, nil
	}
	out := ProjectBlocks{Rel: rel, Repo: fo.name}
	if budget <= 0 || projectgraph.LangOf(rel) == "" {
		return out, false, nil
	}
	lineStart := strings.LastIndexAny(req.Prefix, "\r\n") + 1
	res, err := fo.ix.Context(projectgraph.Request{
		Path: req.Path, Line: req.Line + 1, Col: utf8.RuneCountInString(req.Prefix[lineStart:]) + 1,
		Budget: budget, Source: []byte(req.Prefix + req.Suffix), Open: open, Recent: recent, Counter: p.Counter,
	})
	if err != nil {
		return out, false, fmt.Errorf("cross-file context: %w", err)
	}
	out.Tokens = res.Tokens
	for _, b := range res.Blocks {
		out.Blocks = append(out.Blocks, decode.ContextBlock{Path: b.Path, Text: b.Text, Reason: b.Reason})
	}
	p.mu.Lock()
	// Kept for the line's next requests unless the folder went away or the
	// index changed while this was computed (the result may predate it).
	if p.folders[fo.uri] == fo && p.gen == gen {
		p.last[req.Path] = lineContext{line: req.Line, budget: budget, at: time.Now(), blocks: out}
	}
	p.mu.Unlock()
	return out, false, nil
}

// Ready reports whether every folder handed to Index is indexed (for
// tests and status).
func (p *ProjectContext) Ready() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, fo := range p.folders {
		if fo.ix == nil {
			return false
		}
	}
	return true
}

// Close stops the watchers and waits for updates in flight.
func (p *ProjectContext) Close() {
	p.mu.Lock()
	p.closed = true
	if p.cancel != nil {
		p.cancel()
	}
	p.mu.Unlock()
	p.tasks.Wait()
}
