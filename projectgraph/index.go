package projectgraph

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/dominikbraun/graph"
)

// File is one indexed source file.
type File struct {
	Path    string // slash path relative to the root
	Lang    Lang
	Size    int64
	ModTime int64  // UnixNano
	Hash    string // hex SHA-256 prefix of the content
	// Package is the declared package or namespace (Go package name, Java
	// package, C# namespace), "" where the language has none.
	Package string
	// Pkg is the id of the package vertex the file belongs to: its
	// directory, or "ns:"+namespace for C#.
	Pkg     string
	Imports []Import
	Symbols []Symbol
	// Idents are the distinct identifiers the file uses (its references).
	Idents []string
}

// SymbolRef locates a definition.
type SymbolRef struct {
	Path string
	Symbol
}

// Index is the workspace's files, import graph and symbol index. All
// methods are safe for concurrent use.
type Index struct {
	mu        sync.RWMutex
	root      string // absolute, symlinks resolved
	cfg       Config
	files     map[string]*File
	pkgs      map[string][]string // package id → member files, sorted
	configs   []string
	cfgStamps map[string]string
	res       *resolver
	fwd       map[string]map[string]bool // file → import targets (files, "pkg:" ids)
	rev       map[string]map[string]bool // target → importing files
	byName    map[string][]SymbolRef
	recent    []string // most recently changed first
	skipped   map[string]int
	fcache    fileCache // contents read for context bodies
}

// Progress reports indexing progress: done of total files.
type Progress func(done, total int)

// Options for Open.
type Options struct {
	Config
	// Progress, when set, is called as files are processed.
	Progress Progress
	// NoCache skips loading and saving the on-disk cache.
	NoCache bool
}

// Open indexes the workspace rooted at root: it loads the cached index when
// one exists, brings it up to date from mtimes and content hashes (only
// changed files are parsed again), and saves it back.
func Open(ctx context.Context, root string, opt Options) (*Index, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("projectgraph: root %q: %w", root, err)
	}
	if r, err := filepath.EvalSymlinks(abs); err == nil {
		abs = r
	}
	info, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("projectgraph: root: %w", err)
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("projectgraph: root %s is not a directory", abs)
	}
	ix := &Index{root: abs, cfg: opt.Config}
	ix.reset()
	var cached map[string]*File
	if !opt.NoCache {
		if c, err := loadCache(ix.cachePath()); err == nil {
			cached = c
		}
	}
	if err := ix.refresh(ctx, []string{""}, cached, opt.Progress, false); err != nil {
		return nil, err
	}
	// Unchanged since the cache was written: nothing to save. (Files taken
	// from the cache count as changed for the empty index, so compare.)
	if !opt.NoCache && (cached == nil || len(cached) != len(ix.files) || ix.changedSince(cached)) {
		if err := ix.Save(); err != nil {
			return ix, err
		}
	}
	return ix, nil
}

func (ix *Index) reset() {
	ix.files = map[string]*File{}
	ix.pkgs = map[string][]string{}
	ix.fwd = map[string]map[string]bool{}
	ix.rev = map[string]map[string]bool{}
	ix.byName = map[string][]SymbolRef{}
	ix.skipped = map[string]int{}
}

// changedSince reports whether any file differs from the cached one.
func (ix *Index) changedSince(cached map[string]*File) bool {
	for p, f := range ix.files {
		c := cached[p]
		if c == nil || c.Hash != f.Hash || c.ModTime != f.ModTime {
			return true
		}
	}
	return false
}

// Root returns the absolute workspace root.
func (ix *Index) Root() string { return ix.root }

// Rel turns an absolute or root-relative path into the index's slash form.
func (ix *Index) Rel(p string) (string, error) {
	if !filepath.IsAbs(p) {
		p = filepath.Join(ix.root, filepath.FromSlash(p))
	}
	if r, err := filepath.EvalSymlinks(p); err == nil {
		p = r
	} else if d, err := filepath.EvalSymlinks(filepath.Dir(p)); err == nil {
		p = filepath.Join(d, filepath.Base(p)) // a file that no longer exists
	}
	rel, err := filepath.Rel(ix.root, p)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", fmt.Errorf("projectgraph: %s is outside the workspace %s", p, ix.root)
	}
	return filepath.ToSlash(rel), nil
}

func hashContent(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:12])
}

// refresh brings the files under each of rels ("" for the whole root)
// up to date with the disk, in one batch: one parse pass, one re-link.
// prior holds known files (the cache) whose parse is reused when size and
// mtime, or else the content hash, match; nil means the index's own files
// (looked up for the scanned paths only: copying a 10,000-file map for a
// one-file save cost more than the save's parse). With edited
// set, the changed files count as recently edited (watcher updates); an
// initial load or a cache refresh edits nothing.
func (ix *Index) refresh(ctx context.Context, rels []string, prior map[string]*File, progress Progress, edited bool) error {
	var found []scanned
	var configs []string
	skippedScan := map[string]int{}
	for _, rel := range rels {
		sr, err := scan(ix.root, &ix.cfg, rel)
		if err != nil {
			return err
		}
		found = append(found, sr.Files...)
		configs = append(configs, sr.Configs...)
		for k, v := range sr.Skipped {
			skippedScan[k] += v
		}
	}
	if prior == nil {
		prior = make(map[string]*File, len(found))
		ix.mu.RLock()
		for _, f := range found {
			if old := ix.files[f.Rel]; old != nil {
				prior[f.Rel] = old
			}
		}
		ix.mu.RUnlock()
	}
	files, skipped, err := ix.load(ctx, found, prior, progress)
	if err != nil {
		return err
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	for k, v := range skippedScan {
		ix.skipped[k] += v
	}
	for k, v := range skipped {
		ix.skipped[k] += v
	}
	seen := map[string]bool{}
	var changed []*File
	for _, f := range files {
		seen[f.Path] = true
		if old := ix.files[f.Path]; old == nil || old.Hash != f.Hash || old.ModTime != f.ModTime {
			changed = append(changed, f)
		}
	}
	var removed []string
	if allFiles(ix.files, rels) {
		// A batch of saved files (the common case): no need to visit the
		// whole index to find what vanished below them.
		for _, r := range rels {
			if !seen[r] {
				removed = append(removed, r)
			}
		}
	} else {
		for p := range ix.files {
			if !seen[p] && underAny(p, rels) {
				removed = append(removed, p)
			}
		}
	}
	merged := mergeConfigs(ix.configs, configs, rels)
	// Configurations outside the batch were not looked at: their stamps
	// stand (a re-scan of the root re-stamps them all).
	stamps := make(map[string]string, len(ix.cfgStamps))
	for c, st := range ix.cfgStamps {
		if !underAny(c, rels) {
			stamps[c] = st
		}
	}
	var fresh []string
	for _, c := range merged {
		if underAny(c, rels) || ix.cfgStamps[c] == "" {
			fresh = append(fresh, c)
		}
	}
	for c, st := range configStamps(ix.root, fresh) {
		stamps[c] = st
	}
	cfgChanged := !equalStamps(stamps, ix.cfgStamps)
	ix.configs, ix.cfgStamps = merged, stamps
	ix.apply(changed, removed, cfgChanged, edited)
	return nil
}

// underAny reports whether p is one of rels or lies below one.
func underAny(p string, rels []string) bool {
	for _, r := range rels {
		if r == "" || p == r || len(p) > len(r) && p[len(r)] == '/' && strings.HasPrefix(p, r) {
			return true
		}
	}
	return false
}

// allFiles reports whether every one of rels is an indexed file (not
// the root, not a directory).
func allFiles(files map[string]*File, rels []string) bool {
	for _, r := range rels {
		if files[r] == nil {
			return false
		}
	}
	return true
}

// mergeConfigs replaces the configs under rels with found.
func mergeConfigs(old, found []string, rels []string) []string {
	set := map[string]bool{}
	for _, c := range old {
		if !underAny(c, rels) {
			set[c] = true
		}
	}
	for _, c := range found {
		set[c] = true
	}
	return sortedKeys(set)
}

// load reads and parses the scanned files in parallel, reusing prior
// parses where the file is unchanged.
func (ix *Index) load(ctx context.Context, list []scanned, prior map[string]*File, progress Progress) ([]*File, map[string]int, error) {
	workers := ix.cfg.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	out := make([]*File, len(list))
	skipped := map[string]int{}
	if len(list) == 1 {
		// One saved file: parsed on the caller's goroutine, with no
		// worker to hand it to and wait for (on a loaded machine each
		// hand-off can cost a scheduler time slice).
		var x *extractor
		f, why := ix.loadOne(list[0], prior[list[0].Rel], &x)
		if x != nil {
			extractorPool.Put(x)
		}
		if why != "" {
			skipped[why]++
		}
		if progress != nil {
			progress(1, 1)
		}
		if f == nil {
			return nil, skipped, nil
		}
		return []*File{f}, skipped, nil
	}
	var mu sync.Mutex
	var done int
	jobs := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Parsers come from the pool Context uses too: a one-file
			// save then makes no new tree-sitter parser.
			var x *extractor
			defer func() {
				if x != nil {
					extractorPool.Put(x)
				}
			}()
			for i := range jobs {
				s := list[i]
				f, why := ix.loadOne(s, prior[s.Rel], &x)
				mu.Lock()
				if why != "" {
					skipped[why]++
				}
				out[i] = f
				done++
				if progress != nil {
					progress(done, len(list))
				}
				mu.Unlock()
			}
		}()
	}
	var err error
feed:
	for i := range list {
		select {
		case jobs <- i:
		case <-ctx.Done():
			err = ctx.Err()
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	if err != nil {
		return nil, nil, fmt.Errorf("projectgraph: indexing interrupted: %w", err)
	}
	res := out[:0]
	for _, f := range out {
		if f != nil {
			res = append(res, f)
		}
	}
	return res, skipped, nil
}

// loadOne returns the parsed file, or nil and why it was skipped.
func (ix *Index) loadOne(s scanned, old *File, x **extractor) (*File, string) {
	if old != nil && old.Size == s.Size && old.ModTime == s.ModTime && old.Lang == s.Lang {
		return old, ""
	}
	src, err := readFileMax(s.Abs, ix.cfg.maxBytes())
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, "vanished"
	case errors.Is(err, errHuge):
		return nil, "huge"
	case err != nil:
		return nil, "unreadable"
	}
	h := hashContent(src)
	if old != nil && old.Hash == h && old.Lang == s.Lang {
		nf := *old
		nf.ModTime, nf.Size = s.ModTime, s.Size
		return &nf, ""
	}
	if why := skipContent(src, ix.cfg.IncludeGenerated); why != "" {
		return nil, why
	}
	if *x == nil {
		*x = extractorPool.Get().(*extractor)
	}
	fx, err := (*x).extract(s.Lang, src)
	if err != nil {
		return nil, "unparsable"
	}
	f := &File{Path: s.Rel, Lang: s.Lang, Size: s.Size, ModTime: s.ModTime, Hash: h,
		Package: fx.Package, Imports: fx.Imports, Symbols: fx.Symbols, Idents: fx.Idents}
	return f, ""
}

func pkgID(f *File) string {
	if f.Lang == CSharp && f.Package != "" {
		return "ns:" + f.Package
	}
	return path.Dir(f.Path)
}

// apply installs changed files and drops removed ones, then re-resolves
// imports: all of them when the file set or a configuration changed (a new
// file may satisfy imports elsewhere), else only the changed files'.
// Callers hold ix.mu.
func (ix *Index) apply(changed []*File, removed []string, cfgChanged, edited bool) {
	setChanged := len(removed) > 0 || ix.res == nil
	for _, p := range removed {
		ix.removeFile(p)
	}
	if len(ix.files) == 0 && len(changed) > 1 {
		// The first load: size the maps once rather than growing them
		// through a dozen rehashes.
		n := 0
		for _, f := range changed {
			n += len(f.Symbols)
		}
		ix.files = make(map[string]*File, len(changed))
		ix.byName = make(map[string][]SymbolRef, n/3)
	}
	for _, f := range changed {
		f.Pkg = pkgID(f)
		old := ix.files[f.Path]
		if old == nil || old.Pkg != f.Pkg || old.Package != f.Package {
			setChanged = true
		}
		if old != nil {
			ix.unindexSymbols(old)
			if old.Pkg != f.Pkg {
				ix.removeMember(old)
			}
		}
		ix.files[f.Path] = f
		ix.indexSymbols(f)
		if old == nil || old.Pkg != f.Pkg {
			ix.addMember(f)
		}
		if edited {
			ix.touch(f.Path)
		}
	}
	if setChanged || cfgChanged {
		ix.res = newResolver(ix.root, ix.files, ix.pkgs, ix.configs)
		for p := range ix.files {
			ix.link(ix.files[p])
		}
		return
	}
	for _, f := range changed {
		ix.link(f)
	}
}

// configStamps fingerprints the configuration files (size and mtime):
// when one changes, every import is resolved again.
func configStamps(root string, configs []string) map[string]string {
	m := map[string]string{}
	for _, c := range configs {
		if info, err := os.Stat(filepath.Join(root, filepath.FromSlash(c))); err == nil {
			m[c] = fmt.Sprint(info.Size(), info.ModTime().UnixNano())
		}
	}
	return m
}

func equalStamps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// touch records p as recently changed.
func (ix *Index) touch(p string) {
	const keep = 32 // recent files the context may draw from; more is noise
	for i, q := range ix.recent {
		if q == p {
			ix.recent = append(ix.recent[:i], ix.recent[i+1:]...)
			break
		}
	}
	ix.recent = append([]string{p}, ix.recent...)
	if len(ix.recent) > keep {
		ix.recent = ix.recent[:keep]
	}
}

func (ix *Index) addMember(f *File) {
	id := f.Pkg
	m := ix.pkgs[id]
	i := sort.SearchStrings(m, f.Path)
	if i < len(m) && m[i] == f.Path {
		return
	}
	m = append(m, "")
	copy(m[i+1:], m[i:])
	m[i] = f.Path
	ix.pkgs[id] = m
}

func (ix *Index) removeMember(f *File) {
	m := ix.pkgs[f.Pkg]
	i := sort.SearchStrings(m, f.Path)
	if i < len(m) && m[i] == f.Path {
		m = append(m[:i], m[i+1:]...)
	}
	if len(m) == 0 {
		delete(ix.pkgs, f.Pkg)
	} else {
		ix.pkgs[f.Pkg] = m
	}
}

func (ix *Index) removeFile(p string) {
	f := ix.files[p]
	if f == nil {
		return
	}
	ix.setTargets(p, nil)
	ix.unindexSymbols(f)
	ix.removeMember(f)
	for src := range ix.rev[p] {
		delete(ix.fwd[src], p)
	}
	delete(ix.rev, p)
	delete(ix.files, p)
	for i, q := range ix.recent {
		if q == p {
			ix.recent = append(ix.recent[:i], ix.recent[i+1:]...)
			break
		}
	}
}

// link resolves f's imports and updates its outgoing edges.
func (ix *Index) link(f *File) {
	targets := map[string]bool{}
	for i := range f.Imports {
		t := ix.res.resolve(f, f.Imports[i])
		f.Imports[i].Targets = t
		for _, x := range t {
			targets[x] = true
		}
	}
	ix.setTargets(f.Path, targets)
}

func (ix *Index) setTargets(p string, targets map[string]bool) {
	old := ix.fwd[p]
	for t := range old {
		if !targets[t] {
			delete(ix.rev[t], p)
			if len(ix.rev[t]) == 0 {
				delete(ix.rev, t)
			}
		}
	}
	for t := range targets {
		if old[t] {
			continue
		}
		if ix.rev[t] == nil {
			ix.rev[t] = map[string]bool{}
		}
		ix.rev[t][p] = true
	}
	if len(targets) == 0 {
		delete(ix.fwd, p)
	} else {
		ix.fwd[p] = targets
	}
}

func (ix *Index) indexSymbols(f *File) {
	for _, s := range f.Symbols {
		ix.byName[s.Name] = append(ix.byName[s.Name], SymbolRef{Path: f.Path, Symbol: s})
	}
}

func (ix *Index) unindexSymbols(f *File) {
	for _, s := range f.Symbols {
		refs := ix.byName[s.Name]
		out := refs[:0]
		for _, r := range refs {
			if r.Path != f.Path {
				out = append(out, r)
			}
		}
		if len(out) == 0 {
			delete(ix.byName, s.Name)
		} else {
			ix.byName[s.Name] = out
		}
	}
}

// maxUpdatePaths is the batch size above which Update re-scans the whole
// workspace instead of each path: one walk with stat calls is cheaper than
// thousands of per-path scans, and a burst that large (a branch switch)
// may have touched anything.
const maxUpdatePaths = 512

// Update brings the given paths (absolute or root-relative; files or
// directories, existing or vanished) up to date in one batch. It is what
// the watcher calls; a path that vanished is dropped, never an error.
//
// Paths the index cannot care about (a build's object files) are dropped
// before the batch is sized, so a build is not mistaken for a branch
// switch; a changed ignore file refreshes its directory's subtree, whose
// files it may now hide or show.
func (ix *Index) Update(ctx context.Context, paths []string) error {
	set := map[string]bool{}
	for _, p := range paths {
		r, err := ix.Rel(p)
		if err != nil {
			continue // outside the workspace: not ours
		}
		if slices.Contains(ignoreFiles, path.Base(r)) {
			r = path.Dir(r)
		} else if !ix.mayMatter(r) {
			continue
		}
		if r == "." {
			return ix.Rescan(ctx)
		}
		set[r] = true
	}
	if len(set) == 0 {
		return nil
	}
	if len(set) > maxUpdatePaths {
		return ix.Rescan(ctx)
	}
	// Drop paths below another path of the batch: the subtree covers them.
	var rels []string
	for r := range set {
		covered := false
		for d := path.Dir(r); d != "."; d = path.Dir(d) {
			if set[d] {
				covered = true
				break
			}
		}
		if !covered {
			rels = append(rels, r)
		}
	}
	sort.Strings(rels)
	return ix.refresh(ctx, rels, nil, nil, true)
}

// mayMatter reports whether a changed path (root-relative) can change the
// index: a source or config file by its name, an existing directory, or a
// vanished path without an extension (it may have been a directory).
func (ix *Index) mayMatter(rel string) bool {
	name := path.Base(rel)
	if LangOf(name) != "" || configNames[name] {
		return true
	}
	info, err := os.Lstat(filepath.Join(ix.root, filepath.FromSlash(rel)))
	if err != nil {
		return path.Ext(name) == ""
	}
	return info.IsDir()
}

// Rescan compares the whole workspace with the index (mtimes, then
// hashes) and updates what differs: the source of truth after a watcher
// overflow.
func (ix *Index) Rescan(ctx context.Context) error {
	return ix.refresh(ctx, []string{""}, nil, nil, true)
}

// Stats summarises the index.
type Stats struct {
	Files   int            // indexed files
	Edges   int            // resolved file-to-file import edges (EdgeCount)
	Symbols int            // definitions
	Skipped map[string]int // files and directories skipped, by reason
}

// Stats returns counts for the index.
func (ix *Index) Stats() Stats {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	st := Stats{Files: len(ix.files), Edges: ix.edgeCount(), Skipped: map[string]int{}}
	for _, f := range ix.files {
		st.Symbols += len(f.Symbols)
	}
	for k, v := range ix.skipped {
		st.Skipped[k] = v
	}
	return st
}

// edgeCount counts file-to-file import edges: an import of a file counts
// one, an import of a package counts one per importable member file.
func (ix *Index) edgeCount() int {
	n := 0
	memo := map[string]int{}
	for p, ts := range ix.fwd {
		f := ix.files[p]
		for t := range ts {
			id, ok := strings.CutPrefix(t, PkgPrefix)
			if !ok {
				n++
				continue
			}
			key := f.Lang.family() + "\x00" + id
			c, ok := memo[key]
			if !ok {
				c = len(ix.members(id, f.Lang))
				memo[key] = c
			}
			n += c
		}
	}
	return n
}

// members returns the files of package id that an importer in lang sees:
// same language family, and for Go no _test.go files.
func (ix *Index) members(id string, lang Lang) []string {
	var out []string
	for _, p := range ix.pkgs[id] {
		f := ix.files[p]
		if f == nil || f.Lang.family() != lang.family() {
			continue
		}
		if f.Lang == Go && strings.HasSuffix(p, "_test.go") {
			continue
		}
		out = append(out, p)
	}
	return out
}

// File returns the indexed file at rel (slash path), or nil.
func (ix *Index) File(rel string) *File {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return ix.files[rel]
}

// Files returns the indexed paths, sorted.
func (ix *Index) Files() []string {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	out := make([]string, 0, len(ix.files))
	for p := range ix.files {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// Imports returns the files that rel imports, packages expanded to their
// member files, sorted.
func (ix *Index) Imports(rel string) []string {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return ix.importsLocked(rel)
}

func (ix *Index) importsLocked(rel string) []string {
	f := ix.files[rel]
	if f == nil {
		return nil
	}
	set := map[string]bool{}
	for t := range ix.fwd[rel] {
		if id, ok := strings.CutPrefix(t, PkgPrefix); ok {
			for _, m := range ix.members(id, f.Lang) {
				set[m] = true
			}
		} else {
			set[t] = true
		}
	}
	delete(set, rel)
	return sortedKeys(set)
}

// Importers returns the files that import rel, directly or through its
// package, sorted.
func (ix *Index) Importers(rel string) []string {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return ix.importersLocked(rel)
}

func (ix *Index) importersLocked(rel string) []string {
	f := ix.files[rel]
	if f == nil {
		return nil
	}
	set := map[string]bool{}
	for p := range ix.rev[rel] {
		set[p] = true
	}
	if !(f.Lang == Go && strings.HasSuffix(rel, "_test.go")) {
		for p := range ix.rev[PkgPrefix+f.Pkg] {
			if g := ix.files[p]; g != nil && g.Lang.family() == f.Lang.family() {
				set[p] = true
			}
		}
	}
	delete(set, rel)
	return sortedKeys(set)
}

// SamePackage returns the other files of rel's package (same language
// family), sorted.
func (ix *Index) SamePackage(rel string) []string {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	f := ix.files[rel]
	if f == nil {
		return nil
	}
	var out []string
	for _, p := range ix.pkgs[f.Pkg] {
		if g := ix.files[p]; p != rel && g != nil && g.Lang.family() == f.Lang.family() {
			out = append(out, p)
		}
	}
	return out
}

// Definitions returns every definition named name, sorted by path and line.
func (ix *Index) Definitions(name string) []SymbolRef {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	out := append([]SymbolRef(nil), ix.byName[name]...)
	sort.Slice(out, func(i, j int) bool {
		if out[i].Path != out[j].Path {
			return out[i].Path < out[j].Path
		}
		return out[i].Line < out[j].Line
	})
	return out
}

// References returns the files that use the identifier name, sorted.
func (ix *Index) References(name string) []string {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	var out []string
	for p, f := range ix.files {
		for _, id := range f.Idents {
			if id == name {
				out = append(out, p)
				break
			}
		}
	}
	sort.Strings(out)
	return out
}

// Recent returns the most recently changed files, newest first.
func (ix *Index) Recent() []string {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return append([]string(nil), ix.recent...)
}

// Graph returns the dependency graph, built for the caller: vertices are
// file paths and package ids ("pkg:dir"); edges file→file and
// file→package are imports (attribute kind=imports), package→file are
// membership (kind=contains). Nothing inside the package walks it (the
// index keeps the same edges as maps), so it is not kept current between
// calls: that cost a fifth of a reload.
func (ix *Index) Graph() (graph.Graph[string, string], error) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	g := graph.New(graph.StringHash, graph.Directed())
	for p := range ix.files {
		_ = g.AddVertex(p)
	}
	for id, members := range ix.pkgs {
		if len(members) == 0 {
			continue
		}
		_ = g.AddVertex(PkgPrefix + id)
		for _, m := range members {
			_ = g.AddEdge(PkgPrefix+id, m, graph.EdgeAttribute("kind", "contains"))
		}
	}
	for p, ts := range ix.fwd {
		_ = g.AddVertex(p)
		for t := range ts {
			_ = g.AddVertex(t)
			_ = g.AddEdge(p, t, graph.EdgeAttribute("kind", "imports"))
		}
	}
	return g, nil
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// timeNow is replaced in tests.
var timeNow = time.Now
