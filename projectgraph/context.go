package projectgraph

import (
	"bytes"
	"cmp"
	"fmt"
	"math"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// Block is one piece of cross-file context for the prompt's repository
// layout: the file it comes from, the text, and why it was chosen.
type Block struct {
	Path   string `json:"path"`
	Text   string `json:"text"`
	Reason string `json:"reason"`
}

// Request asks for the context at a cursor.
type Request struct {
	// Path of the file being edited: absolute or relative to the root.
	Path string
	// Line and Col are 1-based; Col counts Unicode code points.
	Line, Col int
	// Budget is the most tokens the blocks may hold together.
	Budget int
	// Source is the buffer's current text; nil reads the file from disk.
	Source []byte
	// Open lists other files open in the editor (paths as in Path).
	Open []string
	// Recent lists files the editor saw edited, newest first; the index's
	// own record of changed files follows them.
	Recent []string
	// Counter counts tokens; nil uses ApproxCounter.
	Counter TokenCounter
}

// Result is the packed context.
type Result struct {
	Tokens int     // Σ Counter.Count(block.Text)
	Blocks []Block // ranked, best first
	// Defs are the definitions whose signature or body the blocks show.
	Defs []SymbolRef
	// Spans are the source lines the blocks show, per file (benchmarks
	// check whether a definition's line is among them).
	Spans []Span
}

// Span is a range of lines of one file, 1-based and inclusive.
type Span struct {
	Path       string
	Start, End int
}

// Relation weights: how likely a definition in a file with this relation
// to the cursor's file is the one an identifier at the cursor names. A
// directly imported file is the strongest evidence (the language put the
// name in scope from there); the same package is next (Go, Java and C#
// see each other's names without imports); two import hops and importers
// are weaker; anything else is a name coincidence more often than not.
const (
	relImported = 1.0
	relSamePkg  = 0.9
	relTwoHops  = 0.5
	relImporter = 0.4
	relOther    = 0.15
)

// proximityLines is the distance (in lines) at which an identifier counts
// half as much as one on the cursor's line: the code being written is
// about what is used right around it, but the whole file is evidence.
const proximityLines = 12.0

// lexWindowBefore and lexWindowAfter are the lines around the cursor
// whose identifiers are weighed (see proximityLines).
const (
	lexWindowBefore = 400
	lexWindowAfter  = 200
)

// maxDefsPerName bounds how many definitions one identifier contributes:
// beyond the two best-related, more same-named definitions are noise.
const maxDefsPerName = 2

// maxEagerTypeLines bounds the type bodies shown before other
// signatures: a 40-line struct is worth it, a 400-line class is not.
const maxEagerTypeLines = 40

// maxConventionDefs: a name defined more often than this (String,
// Error, Len in the Go standard library) is a convention, not a reference
// to one definition; unless an import qualifies it, it is not looked up.
const maxConventionDefs = 256

// maxCandidates bounds the definitions tried: the ranking's tail is
// same-name coincidences, and each try costs a token count.
const maxCandidates = 256

// maxNeighbours bounds the neighbour files tried: a widely imported
// file has thousands of importers, and past the first few dozen the
// budget is long spent.
const maxNeighbours = 48

// minUseful is the smallest remainder of the budget worth filling: under
// it no signature fits, and trying costs tokenizer calls.
const minUseful = 8

// maxOutlineLines bounds one neighbour file's outline: a neighbour is a
// table of contents, not a copy of the file.
const maxOutlineLines = 40

var extractorPool = sync.Pool{New: func() any { return newExtractor() }}

type cand struct {
	ref   SymbolRef
	score float64
	why   string
	card  *card // a type's compact view rather than one definition
}

// Context packs the cross-file context for a cursor into req.Budget
// tokens: the definitions of identifiers used around the cursor (in
// imported files first), signature first and bodies where the budget
// allows; then outlines of graph neighbours (imports, same package,
// importers), recently edited and open files.
func (ix *Index) Context(req Request) (*Result, error) {
	if req.Line < 1 || req.Col < 1 {
		return nil, fmt.Errorf("projectgraph: position %d:%d: line and column are 1-based", req.Line, req.Col)
	}
	if req.Budget < 0 {
		return nil, fmt.Errorf("projectgraph: negative budget %d", req.Budget)
	}
	counter := req.Counter
	if counter == nil {
		counter = ApproxCounter{}
	}
	rel, err := ix.Rel(req.Path)
	if err != nil {
		return nil, err
	}
	src := req.Source
	if src == nil {
		// A file the index skips as too large still gets context, from
		// what the other files hold (currentFile does not parse it).
		src, err = readFileMax(filepath.Join(ix.root, filepath.FromSlash(rel)), maxCursorFileBytes)
		if err != nil {
			return nil, fmt.Errorf("projectgraph: context: %w", err)
		}
	}
	lang := LangOf(rel)
	if lang == "" {
		return nil, fmt.Errorf("projectgraph: %s: language not supported", rel)
	}
	cursor, err := offsetOf(src, req.Line, req.Col)
	if err != nil {
		return nil, err
	}

	ix.mu.RLock()
	defer ix.mu.RUnlock()
	cur := ix.currentFile(rel, lang, src)

	// 1. Identifiers around the cursor, weighted by distance.
	type key = identKey
	weights := map[key]float64{}
	local := map[string]bool{}
	for _, s := range cur.Symbols {
		// Go members are never named bare: a field called like a
		// package-level name elsewhere must not hide it.
		if s.Container == "" || lang != Go {
			local[s.Name] = true
		}
	}
	lineStarts := lineIndex(src)
	curLine := req.Line - 1
	// Only the lines around the cursor are read: past lexWindowBefore
	// lines an identifier weighs under 3% of one at the cursor, and
	// lexing a whole 3,000-line file would cost more than the rest of
	// the request.
	lo := lineStarts[max(0, min(len(lineStarts)-1, curLine-lexWindowBefore))]
	hi := len(src)
	if l := curLine + lexWindowAfter; l < len(lineStarts) {
		hi = lineStarts[l]
	}
	lexIdents(src[lo:hi], lang, func(t token) {
		if keywords[t.Name] || len(t.Name) < 2 {
			return
		}
		t.Off += lo
		l := sort.SearchInts(lineStarts, t.Off+1) - 1
		d := math.Abs(float64(l - curLine))
		w := 1 / (1 + d/proximityLines)
		if t.Off > cursor {
			w *= 0.8 // the suffix matters, the prefix more
		}
		weights[key{t.Qual, t.Name}] += w
	})

	// The files each import's local name refers to.
	importNames := map[string][]string{}
	imported := map[string]bool{}
	for _, im := range cur.Imports {
		var files []string
		for _, t := range im.Targets {
			if id, ok := strings.CutPrefix(t, PkgPrefix); ok {
				files = append(files, ix.members(id, lang)...)
			} else {
				files = append(files, t)
			}
		}
		for _, f := range files {
			imported[f] = true
		}
		for _, n := range importLocalNames(lang, im) {
			importNames[n] = append(importNames[n], files...)
		}
	}
	samePkg := map[string]bool{}
	for _, p := range ix.pkgs[cur.Pkg] {
		if g := ix.files[p]; g != nil && g.Lang.family() == lang.family() && p != rel {
			samePkg[p] = true
		}
	}
	// Two hops: what the imported files import, kept as targets (files
	// and package ids) so nothing is expanded per request.
	twoHops := map[string]bool{}
	for f := range imported {
		for t := range ix.fwd[f] {
			twoHops[t] = true
		}
	}
	inTwoHops := func(p string) bool {
		if twoHops[p] {
			return true
		}
		g := ix.files[p]
		return g != nil && twoHops[PkgPrefix+g.Pkg] && g.Lang.family() == lang.family()
	}
	isImporter := func(p string) bool {
		return ix.rev[rel][p] || ix.rev[PkgPrefix+cur.Pkg][p]
	}
	relationOf := func(p string) (float64, string) {
		switch {
		case imported[p]:
			return relImported, "imported"
		case samePkg[p]:
			return relSamePkg, "same package"
		case inTwoHops(p):
			return relTwoHops, "imported indirectly"
		case isImporter(p):
			return relImporter, "importer"
		}
		return relOther, "same name"
	}
	type relv struct {
		w   float64
		why string
	}
	relMemo := map[string]relv{}
	relation := func(p string) (float64, string) {
		if r, ok := relMemo[p]; ok {
			return r.w, r.why
		}
		w, why := relationOf(p)
		relMemo[p] = relv{w, why}
		return w, why
	}

	// 2. Their definitions in other files, ranked.
	curTest := lang == Go && strings.HasSuffix(rel, "_test.go")
	var cands []cand
	var resolved map[identKey]bool
	if lang == Go {
		cands, resolved = ix.goCands(cur, rel, src, cursor, lineStarts, curLine, weights2names(weights))
	}
	for k, w := range weights {
		if k.qual == "" && local[k.name] || resolved[k] {
			continue
		}
		defs := ix.byName[k.name]
		if len(defs) == 0 {
			continue
		}
		var scoped map[string]bool
		if files, ok := importNames[k.qual]; ok && k.qual != "" {
			scoped = map[string]bool{}
			for _, f := range files {
				scoped[f] = true
			}
		}
		// In Go an unqualified name is declared in the package itself
		// (or is a builtin): when the package defines it, only those
		// definitions can be meant.
		if scoped == nil && k.qual == "" && lang == Go {
			for _, d := range defs {
				if samePkg[d.Path] && d.Container == "" {
					if scoped == nil {
						scoped = map[string]bool{}
					}
					scoped[d.Path] = true
				}
			}
		}
		if scoped == nil && len(defs) > maxConventionDefs {
			continue
		}
		var mine []cand
		for _, d := range defs {
			if d.Path == rel {
				continue
			}
			// A Go package name or a bare identifier names a top-level
			// definition; members are reached through values (goCands).
			if lang == Go && d.Container != "" && (k.qual == "" || scoped != nil) {
				continue
			}
			// Go test files are invisible to the other files.
			if lang == Go && !curTest && strings.HasSuffix(d.Path, "_test.go") {
				continue
			}
			// Go code sees only the exported names of other packages.
			if lang == Go && !samePkg[d.Path] && !goExported(d.Name) {
				continue
			}
			r, why := relation(d.Path)
			if scoped != nil {
				if !scoped[d.Path] {
					continue
				}
				if why != "same package" {
					r, why = relImported, "imported"
				}
			}
			if k.qual != "" && scoped == nil && d.Kind != "method" && d.Kind != "field" && d.Container == "" {
				r *= 0.5 // x.Name where x is a value: a member is likelier
			}
			mine = append(mine, cand{ref: d, score: w * r, why: why})
		}
		// The best maxDefsPerName, by partial selection: a name may have
		// hundreds of definitions.
		for i := 0; i < maxDefsPerName && i < len(mine); i++ {
			best := i
			for j := i + 1; j < len(mine); j++ {
				if mine[j].score > mine[best].score {
					best = j
				}
			}
			mine[i], mine[best] = mine[best], mine[i]
		}
		if len(mine) > maxDefsPerName {
			mine = mine[:maxDefsPerName]
		}
		// Many equally plausible definitions dilute each other.
		if n := len(ix.byName[k.name]); n > 4 && scoped == nil {
			for i := range mine {
				if mine[i].why == "same name" {
					mine[i].score /= math.Sqrt(float64(n))
				}
			}
		}
		cands = append(cands, mine...)
	}
	slices.SortStableFunc(cands, func(a, b cand) int {
		if a.score != b.score {
			return cmp.Compare(b.score, a.score)
		}
		if a.ref.Path != b.ref.Path {
			return strings.Compare(a.ref.Path, b.ref.Path)
		}
		return cmp.Compare(a.ref.Start, b.ref.Start)
	})
	// De-duplicate (a name reached with and without a qualifier).
	seen := map[string]bool{}
	uniq := cands[:0]
	for _, c := range cands {
		id := fmt.Sprint(c.ref.Path, ":", c.ref.Start)
		if c.card != nil {
			id = "card:" + id
		}
		if !seen[id] {
			seen[id] = true
			uniq = append(uniq, c)
		}
	}
	cands = uniq

	p := packer{ix: ix, budget: req.Budget, counter: counter, files: map[string][]byte{}}
	if lang == Go {
		p.exportedOnly = func(path string) bool { return !samePkg[path] }
	}
	// 3a. Signatures, best first.
	for i := range cands {
		if i >= maxCandidates || p.budget-p.used < minUseful {
			break
		}
		p.addSignature(&cands[i])
	}
	// 3b. Bodies of the best few small types: the fields a selector at the
	// cursor names are inside them. Function bodies wait for the end: a
	// body costs the tokens of a dozen signatures.
	const eagerBodies = 3
	p.upgradeBodies(eagerBodies, true)
	// 4. Neighbours' outlines.
	type nb struct {
		path, reason string
		score        float64
	}
	var nbs []nb
	// A neighbour ranks higher the more of the names near the cursor it
	// defines; summed from the names' definitions rather than over each
	// neighbour's symbols (a package may have hundreds of files).
	defines := map[string]float64{}
	for k, w := range weights {
		if defs := ix.byName[k.name]; k.qual == "" && len(defs) <= maxConventionDefs {
			for _, d := range defs {
				defines[d.Path] += 0.01 * w
			}
		}
	}
	addNb := func(files []string, reason string, base float64) {
		for _, f := range files {
			if f != rel {
				nbs = append(nbs, nb{f, reason, base + defines[f]})
			}
		}
	}
	addNb(ix.importsLocked(rel), "imported by "+rel, 3)
	addNb(sortedKeys(samePkg), "same package as "+rel, 2)
	// Importers tell something when they are few; a file imported by
	// thousands (fmt) is not characterised by any of them.
	if n := len(ix.rev[rel]) + len(ix.rev[PkgPrefix+cur.Pkg]); n <= maxNeighbours {
		addNb(ix.importersLocked(rel), "imports "+rel, 1)
	}
	var recent []string
	for _, r := range req.Recent {
		if q, err := ix.Rel(r); err == nil {
			recent = append(recent, q)
		}
	}
	addNb(append(recent, ix.recent...), "recently edited", 0.5)
	var open []string
	for _, o := range req.Open {
		if q, err := ix.Rel(o); err == nil {
			open = append(open, q)
		}
	}
	addNb(open, "open in the editor", 0.5)
	sort.SliceStable(nbs, func(i, j int) bool { return nbs[i].score > nbs[j].score })
	for i, n := range nbs {
		if i >= maxNeighbours || p.budget-p.used < minUseful {
			break
		}
		p.addOutline(n.path, n.reason)
	}
	// 5. Remaining bodies if room is left.
	p.upgradeBodies(len(p.blocks), false)
	return p.result(), nil
}

// maxCursorFileBytes bounds the file Context reads when the caller passes
// no buffer (the CLI): above any buffer an editor sends the server
// (lsp.MaxDocumentBytes, 5 MB).
const maxCursorFileBytes = 16 << 20

// currentFile returns the index's facts for rel, or parses src when the
// buffer differs from what was indexed (unsaved edits, a new file). A
// buffer over the index's size limit is not parsed: a full parse of it
// at every keystroke, under the index's lock, would stall requests and
// updates alike; its context then comes from the other files alone.
func (ix *Index) currentFile(rel string, lang Lang, src []byte) *File {
	if int64(len(src)) > ix.cfg.maxBytes() {
		f := &File{Path: rel, Lang: lang}
		f.Pkg = pkgID(f)
		return f
	}
	f := ix.files[rel]
	if f != nil && f.Hash == hashContent(src) {
		return f
	}
	if f != nil && f.Lang == lang {
		if g := ix.patchedFile(f, src); g != nil {
			return g
		}
	}
	x := extractorPool.Get().(*extractor)
	defer extractorPool.Put(x)
	f = &File{Path: rel, Lang: lang}
	fx, err := x.extract(lang, src)
	if err != nil {
		return f
	}
	f.Package, f.Symbols, f.Imports, f.Idents = fx.Package, fx.Symbols, fx.Imports, fx.Idents
	f.Pkg = pkgID(f)
	if ix.res != nil {
		for i := range f.Imports {
			f.Imports[i].Targets = ix.res.resolve(f, f.Imports[i])
		}
	}
	return f
}

// patchedFile derives the facts of src, an edited buffer of the indexed
// file f, without parsing it, when the edit lies wholly inside one
// function body: the extractor never enters bodies, so the imports and
// definitions are f's, those after the edit shifted by its length. The
// cursor's buffer nearly always differs from the saved file while the
// user types, and a full tree-sitter parse of a large file costs more
// than the whole rest of a context request. It returns nil when the
// shortcut does not apply (the file on disk is not the indexed one, the
// edit spans declarations or touches an import).
func (ix *Index) patchedFile(f *File, src []byte) *File {
	disk, err := readFileMax(filepath.Join(ix.root, filepath.FromSlash(f.Path)), f.Size)
	if err != nil || int64(len(disk)) != f.Size || hashContent(disk) != f.Hash {
		return nil
	}
	// The edit: disk[p:oldEnd] became src[p:newEnd].
	p := 0
	for p < len(disk) && p < len(src) && disk[p] == src[p] {
		p++
	}
	sfx := 0
	for sfx < len(disk)-p && sfx < len(src)-p && disk[len(disk)-1-sfx] == src[len(src)-1-sfx] {
		sfx++
	}
	oldEnd, newEnd := len(disk)-sfx, len(src)-sfx
	for _, t := range [][]byte{disk[p:oldEnd], src[p:newEnd]} {
		for _, kw := range importWords[f.Lang] {
			if bytes.Contains(t, []byte(kw)) {
				return nil
			}
		}
	}
	startLine := 1 + bytes.Count(disk[:p], []byte{'\n'})
	oldEndLine := startLine + bytes.Count(disk[p:oldEnd], []byte{'\n'})
	dLines := bytes.Count(src[p:newEnd], []byte{'\n'}) - (oldEndLine - startLine)
	dBytes := newEnd - oldEnd
	inside := -1
	for i, s := range f.Symbols {
		// Inside: after the signature's last line, and before the
		// definition's last byte (Go's closing brace, the end of a Python
		// body's last statement: an edit past it may be a dedent).
		if (s.Kind == "function" || s.Kind == "method") && s.SigLine < startLine && oldEnd < s.End {
			if inside < 0 || s.Start >= f.Symbols[inside].Start {
				inside = i // the innermost
			}
		}
	}
	if inside < 0 {
		return nil
	}
	g := *f
	g.Hash, g.Size = hashContent(src), int64(len(src))
	g.Symbols = make([]Symbol, len(f.Symbols))
	for i, s := range f.Symbols {
		if s.Start >= oldEnd {
			s.Start += dBytes
			s.Line += dLines
			s.SigLine += dLines
		}
		if s.End >= oldEnd {
			s.End += dBytes
			s.EndLine += dLines
		}
		g.Symbols[i] = s
	}
	g.Imports = make([]Import, len(f.Imports))
	for i, im := range f.Imports {
		if im.Line > oldEndLine {
			im.Line += dLines
		}
		g.Imports[i] = im
	}
	return &g
}

// importWords are, per language that allows imports inside function
// bodies, the words an edit must not touch for patchedFile to reuse the
// indexed imports. Go, Java and C# import at the top of a file only.
var importWords = map[Lang][]string{
	Python:     {"import"},
	JavaScript: {"import", "require"},
	TypeScript: {"import", "require"},
	TSX:        {"import", "require"},
	Rust:       {"use", "mod", "crate"},
	C:          {"include"},
	CPP:        {"include", "import"},
}

// goExported reports whether a Go name is exported (starts with an
// upper-case letter).
func goExported(name string) bool {
	r, _ := utf8.DecodeRuneInString(name)
	return unicode.IsUpper(r)
}

// importLocalNames are the names by which code refers to an import:
// a Go package's alias or last path element, a Python module's last
// segment or the names imported from it, a Java class, a Rust path's last
// segment, a JS module's base name.
func importLocalNames(lang Lang, im Import) []string {
	switch lang {
	case Go:
		if im.Alias != "" && im.Alias != "_" && im.Alias != "." {
			return []string{im.Alias}
		}
		last := path.Base(im.Spec)
		// gopkg.in/yaml.v3 and example.com/x/v2 name the package before
		// the version.
		if i := strings.Index(last, ".v"); i > 0 {
			last = last[:i]
		}
		if len(last) >= 2 && last[0] == 'v' && strings.Trim(last[1:], "0123456789") == "" {
			last = path.Base(path.Dir(im.Spec))
		}
		return []string{strings.ReplaceAll(last, "-", "_")}
	case Python:
		s := strings.TrimLeft(im.Spec, ".")
		out := append([]string(nil), im.Names...)
		if s != "" {
			out = append(out, s[strings.LastIndexByte(s, '.')+1:])
		}
		return out
	case Java, CSharp:
		return []string{im.Spec[strings.LastIndexByte(im.Spec, '.')+1:]}
	case Rust:
		return []string{im.Spec[strings.LastIndex(im.Spec, ":")+1:]}
	case JavaScript, TypeScript, TSX:
		b := path.Base(im.Spec)
		return []string{strings.TrimSuffix(b, path.Ext(b))}
	}
	return nil
}

// offsetOf converts a 1-based line and code-point column to a byte offset;
// positions past the end of a line or the file clamp to it.
func offsetOf(src []byte, line, col int) (int, error) {
	off := 0
	for l := 1; l < line; l++ {
		i := bytes.IndexByte(src[off:], '\n')
		if i < 0 {
			return len(src), nil
		}
		off += i + 1
	}
	for c := 1; c < col && off < len(src) && src[off] != '\n'; c++ {
		_, size := utf8.DecodeRune(src[off:])
		off += size
	}
	return off, nil
}

// lineIndex returns the byte offset at which each line starts.
func lineIndex(src []byte) []int {
	starts := []int{0}
	for i, b := range src {
		if b == '\n' {
			starts = append(starts, i+1)
		}
	}
	return starts
}

// packer fills the budget.
type packer struct {
	ix      *Index
	budget  int
	used    int
	counter TokenCounter
	blocks  []*packed
	files   map[string][]byte
	shown   map[string]bool // "path:start" of definitions shown
	sigs    int             // signature blocks added
	// exportedOnly, when set, says which files' outlines list only
	// exported names (Go files of other packages).
	exportedOnly func(path string) bool
}

type packed struct {
	Block
	cost     int
	c        *cand // nil for outlines
	body     bool
	absorbed bool        // inside another block's body: not emitted
	shows    []SymbolRef // the definitions a card or an outline lists
}

func (p *packer) fits(cost int) bool { return p.used+cost <= p.budget }

func (p *packer) file(rel string) []byte {
	if b, ok := p.files[rel]; ok {
		return b
	}
	abs := filepath.Join(p.ix.root, filepath.FromSlash(rel))
	var b []byte
	// Changed since indexed (size or mtime differ): offsets no longer
	// hold, so the file shows no bodies until the watcher catches up.
	if info, err := os.Stat(abs); err == nil {
		if f := p.ix.files[rel]; f == nil || f.Size == info.Size() && f.ModTime == info.ModTime().UnixNano() {
			b = p.ix.fcache.read(abs, info.Size(), info.ModTime().UnixNano())
		}
	}
	p.files[rel] = b
	return b
}

// maxCachedBytes bounds the file contents kept between context requests:
// the files whose bodies a session shows are few (the types and helpers
// the code at hand uses), and 16 MB holds hundreds of them.
const maxCachedBytes = 16 << 20

// fileCache keeps recently read file contents, keyed by path and
// checked against size and mtime, so a request does not read again the
// files the previous one read.
type fileCache struct {
	mu    sync.Mutex
	m     map[string]cachedFile
	order []string // oldest first
	bytes int
}

type cachedFile struct {
	size, mtime int64
	data        []byte
}

func (c *fileCache) read(abs string, size, mtime int64) []byte {
	c.mu.Lock()
	if e, ok := c.m[abs]; ok && e.size == size && e.mtime == mtime {
		c.mu.Unlock()
		return e.data
	}
	c.mu.Unlock()
	b, err := readFileMax(abs, size)
	if err != nil || int64(len(b)) != size {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]cachedFile{}
	}
	if old, ok := c.m[abs]; ok {
		c.bytes -= len(old.data)
	} else {
		c.order = append(c.order, abs)
	}
	c.m[abs] = cachedFile{size, mtime, b}
	c.bytes += len(b)
	for c.bytes > maxCachedBytes && len(c.order) > 1 {
		victim := c.order[0]
		c.order = c.order[1:]
		c.bytes -= len(c.m[victim].data)
		delete(c.m, victim)
	}
	return b
}

// signatureText is a definition's summary: the first line of its doc
// comment, then its signature. Doc comments of the Go standard library
// run to paragraphs; their first sentence says what the definition is,
// and the rest would cost the tokens of several other signatures.
func signatureText(ref SymbolRef) string {
	sig := ref.Signature
	doc := ref.Doc
	if doc == "" {
		return sig
	}
	if i := strings.IndexByte(doc, '\n'); i >= 0 {
		doc = strings.TrimRight(doc[:i], " \t\r")
		if strings.HasPrefix(doc, "/*") && !strings.Contains(doc, "*/") {
			doc += " …*/"
		}
		if q := doc[:min(3, len(doc))]; q == `"""` || q == "'''" {
			doc += " …" + q
		}
	}
	if LangOf(ref.Path) == Python && (strings.HasPrefix(doc, `"`) || strings.HasPrefix(doc, "'")) {
		return sig + ":\n    " + doc // a docstring follows the def line
	}
	return doc + "\n" + sig
}

func (p *packer) mark(ref SymbolRef) {
	if p.shown == nil {
		p.shown = map[string]bool{}
	}
	p.shown[fmt.Sprint(ref.Path, ":", ref.Start)] = true
}

// docSignatures is how many of the best definitions keep the first line
// of their doc comment; the rest show the bare signature, so more
// definitions fit (a doc line costs about as much as a signature).
const docSignatures = 8

func (p *packer) addSignature(c *cand) {
	if c.card != nil {
		p.addCard(c)
		return
	}
	if p.shown[fmt.Sprint(c.ref.Path, ":", c.ref.Start)] {
		return
	}
	ref := c.ref
	if p.sigs >= docSignatures {
		ref.Doc = ""
	}
	text := MaskSecrets(signatureText(ref))
	cost := p.counter.Count(text)
	if !p.fits(cost) {
		return
	}
	reason := fmt.Sprintf("definition of %s (%s)", c.ref.Name, c.why)
	p.blocks = append(p.blocks, &packed{Block: Block{c.ref.Path, text, reason}, cost: cost, c: c})
	p.used += cost
	p.sigs++
	p.mark(c.ref)
}

// maxCardShare is the most of the budget one type card may take: a type
// with a hundred methods must leave room for the other types in play.
const maxCardShare = 0.3

// addCard adds a compact view of a type: its declaration line, then the
// members named near the cursor and, as far as the card's share of the
// budget allows, the others in declaration order.
func (p *packer) addCard(c *cand) {
	cd := c.card
	room := min(p.budget-p.used, int(maxCardShare*float64(p.budget)))
	if room < minUseful {
		return
	}
	def := cd.def
	header := def.Signature
	open, close := "", ""
	if strings.HasSuffix(header, " struct") || strings.HasSuffix(header, " interface") {
		open, close = " {", "}"
	}
	// Priority: members named near the cursor, then declaration order.
	type mline struct {
		ref  SymbolRef
		text string
		prio float64
		idx  int
		cost int
	}
	var lines []mline
	inside := 0
	for i, m := range cd.members {
		if p.shown[fmt.Sprint(m.Path, ":", m.Start)] {
			continue
		}
		isInside := m.Path == def.Path && m.Start >= def.Start && m.End <= def.End
		text := MaskSecrets(m.Signature)
		if isInside {
			text = "\t" + text
			inside++
		}
		lines = append(lines, mline{ref: m, text: text, prio: cd.nameWeight[m.Name], idx: i})
	}
	order := append([]mline(nil), lines...)
	sort.SliceStable(order, func(i, j int) bool { return order[i].prio > order[j].prio })
	head := MaskSecrets(header) + open
	used := p.counter.Count(head) + 2
	var chosen []mline
	for _, l := range order {
		cost := p.counter.Count(l.text) + 1
		if used+cost > room {
			if cost > 40 {
				continue // one long signature; shorter ones may still fit
			}
			break
		}
		used += cost
		chosen = append(chosen, l)
	}
	if len(chosen) == 0 && !(def.Path != "" && !p.shown[fmt.Sprint(def.Path, ":", def.Start)]) {
		return
	}
	sort.Slice(chosen, func(i, j int) bool { return chosen[i].idx < chosen[j].idx })
	// The members the declaration holds that the card leaves out (not
	// chosen, or unexported and out of reach) are marked, so that a
	// struct is never shown as empty or complete when it is not.
	for tries := 0; tries < 3; tries++ {
		var b strings.Builder
		b.WriteString(head)
		closed := open == ""
		shownInside := 0
		closeWith := func() {
			if shownInside < cd.insideTotal {
				b.WriteString("\n\t// …")
			}
			b.WriteString("\n" + close)
			closed = true
		}
		for _, l := range chosen {
			isInside := strings.HasPrefix(l.text, "\t")
			if !isInside && !closed {
				closeWith()
			}
			if isInside {
				shownInside++
			}
			b.WriteString("\n" + l.text)
		}
		if !closed {
			closeWith()
		}
		text := b.String()
		cost := p.counter.Count(text)
		if cost <= room && p.fits(cost) {
			shows := []SymbolRef{def}
			p.mark(def)
			for _, l := range chosen {
				shows = append(shows, l.ref)
				p.mark(l.ref)
			}
			reason := fmt.Sprintf("type %s (%s)", def.Name, c.why)
			p.blocks = append(p.blocks, &packed{Block: Block{def.Path, text, reason}, cost: cost, c: c, shows: shows})
			p.used += cost
			return
		}
		// Over: drop the lowest-priority tenth and try again.
		if len(chosen) == 0 {
			return
		}
		sort.SliceStable(chosen, func(i, j int) bool { return chosen[i].prio > chosen[j].prio })
		chosen = chosen[:len(chosen)*9/10]
		sort.Slice(chosen, func(i, j int) bool { return chosen[i].idx < chosen[j].idx })
	}
}

// upgradeBodies replaces the signatures of the first n definition blocks
// by their full text where the budget allows; a body that contains other
// shown definitions of the same file absorbs their blocks.
func (p *packer) upgradeBodies(n int, typesOnly bool) {
	done := 0
	for _, b := range p.blocks {
		if done >= n {
			return
		}
		if b.c == nil || b.body || b.absorbed || b.c.card != nil {
			continue
		}
		if typesOnly {
			k := b.c.ref.Kind
			if k != "type" && k != "class" && k != "interface" && k != "enum" || b.c.ref.EndLine-b.c.ref.Line > maxEagerTypeLines {
				continue
			}
		}
		done++
		ref := b.c.ref
		src := p.file(ref.Path)
		if src == nil || ref.End > len(src) || ref.Start >= ref.End {
			continue
		}
		// Code runs at most ~10 bytes a token in the vocabularies of code
		// models: a body whose bytes/10 already exceed what is left
		// cannot fit, so skip masking and counting it.
		if (ref.End-ref.Start)/10 > p.budget-p.used+b.cost {
			continue
		}
		text := MaskSecrets(string(src[ref.Start:ref.End]))
		cost := p.counter.Count(text)
		// Blocks inside this body are freed.
		freed := 0
		var inner []*packed
		for _, o := range p.blocks {
			if o != b && o.c != nil && o.c.card == nil && !o.absorbed && o.c.ref.Path == ref.Path && o.c.ref.Start >= ref.Start && o.c.ref.End <= ref.End {
				freed += o.cost
				inner = append(inner, o)
			}
		}
		if p.used-b.cost-freed+cost > p.budget {
			continue
		}
		for _, o := range inner {
			p.used -= o.cost
			o.absorbed = true
		}
		p.used += cost - b.cost
		b.Text, b.cost, b.body = text, cost, true
	}
}

// addOutline adds the signatures of a neighbour's top-level definitions
// not shown yet, as many lines as fit.
func (p *packer) addOutline(rel, reason string) {
	for _, b := range p.blocks {
		if b.c == nil && b.Path == rel {
			return // already outlined
		}
	}
	f := p.ix.files[rel]
	if f == nil {
		return
	}
	var lines []string
	var syms []Symbol
	for _, s := range f.Symbols {
		if p.shown[fmt.Sprint(rel, ":", s.Start)] || s.Kind == "field" || s.Signature == "" {
			continue
		}
		if p.exportedOnly != nil && f.Lang == Go && p.exportedOnly(rel) && !goExported(s.Name) {
			continue
		}
		lines = append(lines, MaskSecrets(s.Signature))
		syms = append(syms, s)
		if len(lines) == maxOutlineLines {
			break
		}
	}
	for tries := 0; len(lines) > 0 && tries < 4; tries++ {
		text := strings.Join(lines, "\n")
		cost := p.counter.Count(text)
		if p.fits(cost) {
			var shows []SymbolRef
			for _, s := range syms[:len(lines)] {
				r := SymbolRef{Path: rel, Symbol: s}
				p.mark(r)
				shows = append(shows, r)
			}
			p.blocks = append(p.blocks, &packed{Block: Block{rel, text, reason}, cost: cost, shows: shows})
			p.used += cost
			return
		}
		// Keep the first lines that fit: cut by the remaining budget's
		// share rather than one line at a time.
		keep := len(lines) * (p.budget - p.used) / max(cost, 1)
		if keep >= len(lines) {
			keep = len(lines) - 1
		}
		lines = lines[:max(keep, 0)]
	}
}

func (p *packer) result() *Result {
	r := &Result{}
	for _, b := range p.blocks {
		if b.c != nil && b.c.card != nil {
			r.Defs = append(r.Defs, b.shows...)
		} else if b.c != nil {
			// Absorbed definitions are shown inside another body.
			r.Defs = append(r.Defs, b.c.ref)
		}
		if b.absorbed {
			continue
		}
		r.Blocks = append(r.Blocks, b.Block)
		r.Tokens += b.cost
		if b.c != nil && b.c.card != nil {
			for _, d := range b.shows {
				r.Spans = append(r.Spans, Span{d.Path, d.Line, max(d.Line, d.SigLine)})
			}
			continue
		}
		if b.c != nil {
			ref := b.c.ref
			if b.body {
				r.Spans = append(r.Spans, Span{ref.Path, ref.Line, ref.EndLine})
			} else {
				r.Spans = append(r.Spans, Span{ref.Path, ref.Line, max(ref.Line, ref.SigLine)})
			}
			continue
		}
		// An outline shows the definitions whose signatures it lists.
		for _, s := range b.shows {
			r.Defs = append(r.Defs, s)
			r.Spans = append(r.Spans, Span{b.Path, s.Line, max(s.Line, s.SigLine)})
		}
	}
	return r
}
