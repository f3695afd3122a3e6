package projectgraph

import (
	"fmt"
	"math"
	"os"
	"path"
	"path/filepath"
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
		src, err = os.ReadFile(filepath.Join(ix.root, filepath.FromSlash(rel)))
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
	type key struct{ qual, name string }
	weights := map[key]float64{}
	local := map[string]bool{}
	for _, s := range cur.Symbols {
		local[s.Name] = true
	}
	lineStarts := lineIndex(src)
	curLine := req.Line - 1
	lexIdents(src, lang, func(t token) {
		if keywords[t.Name] || len(t.Name) < 2 {
			return
		}
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
	var cands []cand
	for k, w := range weights {
		if k.qual == "" && local[k.name] {
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
				if samePkg[d.Path] {
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
		sort.Slice(mine, func(i, j int) bool { return mine[i].score > mine[j].score })
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
	sort.SliceStable(cands, func(i, j int) bool {
		if cands[i].score != cands[j].score {
			return cands[i].score > cands[j].score
		}
		if cands[i].ref.Path != cands[j].ref.Path {
			return cands[i].ref.Path < cands[j].ref.Path
		}
		return cands[i].ref.Start < cands[j].ref.Start
	})
	// De-duplicate (a name reached with and without a qualifier).
	seen := map[string]bool{}
	uniq := cands[:0]
	for _, c := range cands {
		id := fmt.Sprint(c.ref.Path, ":", c.ref.Start)
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
	addNb := func(files []string, reason string, base float64) {
		for _, f := range files {
			if f == rel {
				continue
			}
			s := base
			if g := ix.files[f]; g != nil {
				for _, sym := range g.Symbols {
					s += 0.01 * (weights[key{"", sym.Name}])
				}
			}
			nbs = append(nbs, nb{f, reason, s})
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

// currentFile returns the index's facts for rel, or parses src when the
// buffer differs from what was indexed (unsaved edits, a new file).
func (ix *Index) currentFile(rel string, lang Lang, src []byte) *File {
	if f := ix.files[rel]; f != nil && f.Hash == hashContent(src) {
		return f
	}
	x := extractorPool.Get().(*extractor)
	defer extractorPool.Put(x)
	f := &File{Path: rel, Lang: lang}
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
		i := indexByteFrom(src, off, '\n')
		if i < 0 {
			return len(src), nil
		}
		off = i + 1
	}
	for c := 1; c < col && off < len(src) && src[off] != '\n'; c++ {
		_, size := utf8.DecodeRune(src[off:])
		off += size
	}
	return off, nil
}

func indexByteFrom(b []byte, from int, c byte) int {
	for i := from; i < len(b); i++ {
		if b[i] == c {
			return i
		}
	}
	return -1
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
	absorbed bool // inside another block's body: not emitted
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
			b, _ = os.ReadFile(abs)
		}
	}
	p.files[rel] = b
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

// upgradeBodies replaces the signatures of the first n definition blocks
// by their full text where the budget allows; a body that contains other
// shown definitions of the same file absorbs their blocks.
func (p *packer) upgradeBodies(n int, typesOnly bool) {
	done := 0
	for _, b := range p.blocks {
		if done >= n {
			return
		}
		if b.c == nil || b.body || b.absorbed {
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
			if o != b && o.c != nil && !o.absorbed && o.c.ref.Path == ref.Path && o.c.ref.Start >= ref.Start && o.c.ref.End <= ref.End {
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
			p.blocks = append(p.blocks, &packed{Block: Block{rel, text, reason}, cost: cost})
			p.used += cost
			for _, s := range syms[:len(lines)] {
				p.mark(SymbolRef{Path: rel, Symbol: s})
			}
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
		if b.c != nil {
			// Absorbed definitions are shown inside another body.
			r.Defs = append(r.Defs, b.c.ref)
		}
		if b.absorbed {
			continue
		}
		r.Blocks = append(r.Blocks, b.Block)
		r.Tokens += b.cost
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
		if f := p.ix.files[b.Path]; f != nil {
			for _, s := range f.Symbols {
				if s.Signature != "" && strings.Contains(b.Text, MaskSecrets(s.Signature)) {
					r.Defs = append(r.Defs, SymbolRef{Path: b.Path, Symbol: s})
					r.Spans = append(r.Spans, Span{b.Path, s.Line, max(s.Line, s.SigLine)})
				}
			}
		}
	}
	return r
}
