// Package ctxbench measures how much of what a completion needs the
// projectgraph context delivers, against the baselines peers use, and how
// fast the index is. It backs `ghostline bench context`.
//
// Recall@budget: cut a target line out of a function body in a real
// repository (the Go standard library), ask for context at its place, and
// count the identifiers used in the target and defined in another file
// whose defining line the context shows. The ground truth comes from
// go/types (golang.org/x/tools/go/packages), independent of the index.
// Baselines rank the same candidate files (the repository's other indexed
// files) with Copilot-style Jaccard similarity over 60-line windows and
// with BM25 over the same windows, and pack the best into the same budget
// with the same token counter.
package ctxbench

import (
	"bytes"
	"context"
	"fmt"
	"go/ast"
	"go/types"
	"io"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"golang.org/x/tools/go/packages"

	"github.com/ghostline-dev/ghostline/projectgraph"
	"github.com/ghostline-dev/ghostline/projectgraph/rusage"
)

// DefaultPackages are the target packages: a spread of the standard
// library (I/O, encoding, networking, text, compilers, math), all
// multi-file, so same-package and cross-package definitions both occur.
var DefaultPackages = []string{
	"bufio", "bytes", "compress/flate", "crypto/tls", "database/sql", "encoding/json", "encoding/xml",
	"flag", "fmt", "go/parser", "go/printer", "go/types", "html/template", "image/png", "io/fs",
	"log/slog", "math/big", "mime/multipart", "net/http", "net/url", "os/exec", "regexp", "strconv",
	"text/template", "time", "archive/zip",
}

// Window geometry of the Jaccard and BM25 baselines: Copilot compares
// 60-line windows; a 30-line stride gives every line two windows.
const (
	windowLines  = 60
	windowStride = 30
)

// Options configure a recall run.
type Options struct {
	Root     string   // repository root (GOROOT/src)
	Packages []string // target package patterns (default DefaultPackages)
	Targets  int      // target lines to sample
	Budgets  []int
	Seed     int64
	Counter  projectgraph.TokenCounter
	Log      io.Writer // progress notes; nil discards
	// Cases asks Recall to prepare its first Cases targets for a
	// completion benchmark (RecallResult.Cases), with the context that
	// projectgraph and the Jaccard baseline choose at CaseBudget tokens
	// (default 1,024). Zero prepares none.
	Cases      int
	CaseBudget int
}

// Case is one recall target laid out for completing its line: the cursor
// stands after the line's indentation, Prefix is the file up to it,
// Suffix the rest of the file after the line (it begins with the line's
// end), and Truth the line's text after the indentation.
type Case struct {
	Path                  string // slash path relative to the root
	Line, Col             int    // 1-based; Col counts code points
	Prefix, Suffix, Truth string
	// Context maps a context method ("jaccard", "projectgraph") to the
	// blocks it chose, best first, and ContextTokens to their Σ tokens.
	Context       map[string][]projectgraph.Block
	ContextTokens map[string]int
}

// Methods compared, in report order.
var Methods = []string{"none", "jaccard", "bm25", "projectgraph"}

// RecallResult holds recall per method and budget.
type RecallResult struct {
	Targets     int
	Identifiers int                        // target identifiers defined in another file
	Recall      map[string]map[int]float64 // method → budget → recall
	// ContextP50 and ContextP99 are projectgraph's Context wall time per
	// request; ContextCPU the process CPU time per request (GC included);
	// ContextCPUP50 and ContextCPUP99 the CPU time of the requesting
	// thread per request, which stays comparable on a loaded machine
	// (zero where the system does not report it).
	ContextP50, ContextP99       time.Duration
	ContextCPU                   time.Duration
	ContextCPUP50, ContextCPUP99 time.Duration
	// Cases are the first Options.Cases targets, ready to complete (not
	// part of the JSON report).
	Cases []Case `json:"-"`
}

type target struct {
	file string // rel path
	line int    // 1-based
	col  int    // 1-based code-point column after indentation
	src  []byte // file with the target line's text removed
	defs []def  // identifiers' definitions in other files
	text string // the line's text after its indentation (no line end)
}

type def struct {
	file string
	line int
	// kind is the oracle's class of the definition ("func", "method",
	// "field", "type", "var", "const") and use how the target names it
	// ("pkg" for pkg.Name, "sel" for x.Name, "bare"): diagnostics only.
	kind, use string
}

// Recall runs the recall benchmark.
func Recall(ctx context.Context, ix *projectgraph.Index, opt Options) (*RecallResult, error) {
	if opt.Counter == nil {
		opt.Counter = projectgraph.ApproxCounter{}
	}
	// As a server would: counts of signatures and bodies shown before
	// are remembered (the baselines use the same counter).
	opt.Counter = projectgraph.CachedCounter(opt.Counter)
	if len(opt.Packages) == 0 {
		opt.Packages = DefaultPackages
	}
	logw := opt.Log
	if logw == nil {
		logw = io.Discard
	}
	root, err := filepath.EvalSymlinks(opt.Root)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(logw, "loading %d packages with go/types…\n", len(opt.Packages))
	targets, err := sampleTargets(ctx, ix, root, opt)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(logw, "%d targets; building baseline windows over %d files…\n", len(targets), len(ix.Files()))
	wins := buildWindows(ix)
	res := &RecallResult{Targets: len(targets), Recall: map[string]map[int]float64{}}
	hits := map[string]map[int]int{}
	for _, m := range Methods {
		hits[m] = map[int]int{}
	}
	var lat, tcpu []time.Duration
	var cpu float64
	// Requests run on one locked OS thread so its CPU clock measures them.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	for i, t := range targets {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		res.Identifiers += len(t.defs)
		query := prefixTokens(t.src, t.line)
		jac, bm := wins.jaccard(query, t.file), wins.bm25(query, t.file)
		for _, b := range opt.Budgets {
			start, c0, th0 := time.Now(), rusage.CPUSeconds(), rusage.ThreadCPUSeconds()
			r, err := ix.Context(projectgraph.Request{Path: t.file, Line: t.line, Col: t.col, Budget: b, Source: t.src, Counter: opt.Counter})
			lat = append(lat, time.Since(start))
			cpu += rusage.CPUSeconds() - c0
			if th0 >= 0 {
				tcpu = append(tcpu, time.Duration((rusage.ThreadCPUSeconds()-th0)*float64(time.Second)))
			}
			if err != nil {
				return nil, fmt.Errorf("context %s:%d: %w", t.file, t.line, err)
			}
			hits["projectgraph"][b] += covered(t.defs, r.Spans)
			hits["jaccard"][b] += covered(t.defs, wins.pack(jac, b, opt.Counter))
			hits["bm25"][b] += covered(t.defs, wins.pack(bm, b, opt.Counter))
		}
		if i < opt.Cases {
			c, err := makeCase(ix, wins, t, jac, opt)
			if err != nil {
				return nil, err
			}
			res.Cases = append(res.Cases, c)
		}
		if (i+1)%50 == 0 {
			fmt.Fprintf(logw, "  %d/%d targets\n", i+1, len(targets))
		}
	}
	for _, m := range Methods {
		res.Recall[m] = map[int]float64{}
		for _, b := range opt.Budgets {
			if res.Identifiers > 0 {
				res.Recall[m][b] = float64(hits[m][b]) / float64(res.Identifiers)
			}
		}
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	if len(lat) > 0 {
		res.ContextP50 = lat[len(lat)/2]
		res.ContextP99 = lat[min(len(lat)-1, len(lat)*99/100)]
		res.ContextCPU = time.Duration(cpu / float64(len(lat)) * float64(time.Second))
	}
	sort.Slice(tcpu, func(i, j int) bool { return tcpu[i] < tcpu[j] })
	if len(tcpu) > 0 {
		res.ContextCPUP50 = tcpu[len(tcpu)/2]
		res.ContextCPUP99 = tcpu[min(len(tcpu)-1, len(tcpu)*99/100)]
	}
	return res, nil
}

// makeCase lays target t out for completion, with the context of
// projectgraph and of the Jaccard ranking jac at opt.CaseBudget tokens.
// It runs outside the timed requests, so the latency figures stay those
// of the recall budgets.
func makeCase(ix *projectgraph.Index, wins *windows, t target, jac []scored, opt Options) (Case, error) {
	budget := opt.CaseBudget
	if budget <= 0 {
		budget = 1024
	}
	// The cut line holds only its indentation, so the cursor's byte
	// offset is the line's start plus col-1 (indentation is ASCII).
	start := 0
	for l := 1; l < t.line; l++ {
		i := bytes.IndexByte(t.src[start:], '\n')
		if i < 0 {
			return Case{}, fmt.Errorf("case %s:%d: the file has fewer lines", t.file, t.line)
		}
		start += i + 1
	}
	cur := start + t.col - 1
	c := Case{Path: t.file, Line: t.line, Col: t.col, Prefix: string(t.src[:cur]), Suffix: string(t.src[cur:]), Truth: t.text,
		Context: map[string][]projectgraph.Block{}, ContextTokens: map[string]int{}}
	r, err := ix.Context(projectgraph.Request{Path: t.file, Line: t.line, Col: t.col, Budget: budget, Source: t.src, Counter: opt.Counter})
	if err != nil {
		return Case{}, fmt.Errorf("context %s:%d: %w", t.file, t.line, err)
	}
	c.Context["projectgraph"], c.ContextTokens["projectgraph"] = r.Blocks, r.Tokens
	c.Context["jaccard"], c.ContextTokens["jaccard"] = wins.blocks(wins.pack(jac, budget, opt.Counter), opt.Counter)
	return c, nil
}

// blocks returns the text of spans as context blocks, in their order, and
// their Σ tokens.
func (ws *windows) blocks(spans []projectgraph.Span, counter projectgraph.TokenCounter) ([]projectgraph.Block, int) {
	var out []projectgraph.Block
	total := 0
	for _, sp := range spans {
		data, err := os.ReadFile(filepath.Join(ws.root, filepath.FromSlash(sp.Path)))
		if err != nil {
			continue // vanished since indexing: the window shows nothing
		}
		lines := strings.Split(string(data), "\n")
		if sp.Start < 1 || sp.End > len(lines) || sp.Start > sp.End {
			continue
		}
		text := strings.Join(lines[sp.Start-1:sp.End], "\n")
		total += counter.Count(text)
		out = append(out, projectgraph.Block{Path: sp.Path, Text: text, Reason: fmt.Sprintf("jaccard window %d-%d", sp.Start, sp.End)})
	}
	return out, total
}

// covered counts the definitions whose line a span shows.
func covered(defs []def, spans []projectgraph.Span) int {
	n := 0
	for _, d := range defs {
		for _, s := range spans {
			if s.Path == d.file && s.Start <= d.line && d.line <= s.End {
				n++
				break
			}
		}
	}
	return n
}

// sampleTargets type-checks the target packages and samples lines inside
// function bodies that use at least one identifier defined in another
// indexed file.
func sampleTargets(ctx context.Context, ix *projectgraph.Index, root string, opt Options) ([]target, error) {
	cfg := &packages.Config{
		Context: ctx,
		Mode:    packages.NeedName | packages.NeedFiles | packages.NeedSyntax | packages.NeedTypes | packages.NeedTypesInfo,
		Dir:     root,
		Tests:   false,
	}
	pkgs, err := packages.Load(cfg, opt.Packages...)
	if err != nil {
		return nil, fmt.Errorf("go/packages: %w", err)
	}
	indexed := map[string]bool{}
	for _, f := range ix.Files() {
		indexed[f] = true
	}
	rel := func(p string) string {
		if r, err := filepath.EvalSymlinks(p); err == nil {
			p = r
		}
		r, err := filepath.Rel(root, p)
		if err != nil || strings.HasPrefix(r, "..") {
			return ""
		}
		return filepath.ToSlash(r)
	}
	type cand struct {
		file string
		line int
		defs []def
	}
	var cands []cand
	for _, pkg := range pkgs {
		if len(pkg.Errors) > 0 || pkg.TypesInfo == nil {
			continue
		}
		fset := pkg.Fset
		for _, f := range pkg.Syntax {
			fname := rel(fset.File(f.Pos()).Name())
			if fname == "" || !indexed[fname] {
				continue
			}
			// Lines inside function bodies.
			body := map[int]bool{}
			for _, d := range f.Decls {
				if fd, ok := d.(*ast.FuncDecl); ok && fd.Body != nil {
					for l := fset.Position(fd.Body.Lbrace).Line + 1; l < fset.Position(fd.Body.Rbrace).Line; l++ {
						body[l] = true
					}
				}
			}
			byLine := map[int]map[def]bool{}
			ast.Inspect(f, func(n ast.Node) bool {
				id, ok := n.(*ast.Ident)
				if !ok {
					return true
				}
				obj := pkg.TypesInfo.Uses[id]
				if obj == nil || !obj.Pos().IsValid() {
					return true
				}
				if _, isPkg := obj.(*types.PkgName); isPkg {
					return true
				}
				l := fset.Position(id.Pos()).Line
				if !body[l] {
					return true
				}
				dp := fset.Position(obj.Pos())
				df := rel(dp.Filename)
				if df == "" || df == fname || !indexed[df] {
					return true
				}
				if byLine[l] == nil {
					byLine[l] = map[def]bool{}
				}
				byLine[l][def{df, dp.Line, objKind(obj), useOf(f, pkg.TypesInfo, id)}] = true
				return true
			})
			for l, ds := range byLine {
				c := cand{file: fname, line: l}
				for d := range ds {
					c.defs = append(c.defs, d)
				}
				sort.Slice(c.defs, func(i, j int) bool {
					if c.defs[i].file != c.defs[j].file {
						return c.defs[i].file < c.defs[j].file
					}
					return c.defs[i].line < c.defs[j].line
				})
				cands = append(cands, c)
			}
		}
	}
	sort.Slice(cands, func(i, j int) bool {
		if cands[i].file != cands[j].file {
			return cands[i].file < cands[j].file
		}
		return cands[i].line < cands[j].line
	})
	rng := rand.New(rand.NewSource(opt.Seed))
	rng.Shuffle(len(cands), func(i, j int) { cands[i], cands[j] = cands[j], cands[i] })
	if len(cands) > opt.Targets {
		cands = cands[:opt.Targets]
	}
	var out []target
	for _, c := range cands {
		src, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(c.file)))
		if err != nil {
			continue
		}
		cut, col := cutLine(src, c.line)
		out = append(out, target{file: c.file, line: c.line, col: col, src: cut, defs: c.defs, text: lineText(src, c.line)})
	}
	return out, nil
}

// objKind classes a types.Object for diagnostics.
func objKind(obj types.Object) string {
	switch o := obj.(type) {
	case *types.Func:
		if sig, ok := o.Type().(*types.Signature); ok && sig.Recv() != nil {
			return "method"
		}
		return "func"
	case *types.Var:
		if o.IsField() {
			return "field"
		}
		return "var"
	case *types.Const:
		return "const"
	case *types.TypeName:
		return "type"
	}
	return "other"
}

// useOf says how id is written: the Sel of pkg.Name ("pkg") or of
// x.Name ("sel"), or alone ("bare").
func useOf(f *ast.File, info *types.Info, id *ast.Ident) string {
	use := "bare"
	ast.Inspect(f, func(n ast.Node) bool {
		if use != "bare" || n == nil || n.Pos() > id.Pos() || n.End() < id.End() {
			return false
		}
		if se, ok := n.(*ast.SelectorExpr); ok && se.Sel == id {
			use = "sel"
			if x, ok := se.X.(*ast.Ident); ok {
				if _, isPkg := info.Uses[x].(*types.PkgName); isPkg {
					use = "pkg"
				}
			}
			return false
		}
		return true
	})
	return use
}

// cutLine removes the text of line l (1-based), keeping its indentation,
// and returns the column right after the indentation.
func cutLine(src []byte, l int) ([]byte, int) {
	lines := strings.SplitAfter(string(src), "\n")
	if l < 1 || l > len(lines) {
		return src, 1
	}
	s := lines[l-1]
	ind := len(s) - len(strings.TrimLeft(s, " \t"))
	nl := ""
	if strings.HasSuffix(s, "\n") {
		nl = "\n"
	}
	lines[l-1] = s[:ind] + nl
	return []byte(strings.Join(lines, "")), ind + 1
}

// lineText returns line l's (1-based) text after its indentation, without
// its line end.
func lineText(src []byte, l int) string {
	lines := strings.Split(string(src), "\n")
	if l < 1 || l > len(lines) {
		return ""
	}
	return strings.TrimRight(strings.TrimLeft(lines[l-1], " \t"), "\r")
}

// prefixTokens returns the identifiers of the windowLines lines before
// line l: the query Copilot-style baselines use.
func prefixTokens(src []byte, l int) []string {
	lines := strings.Split(string(src), "\n")
	lo := max(0, l-1-windowLines)
	hi := min(len(lines), l-1)
	var toks []string
	for _, ln := range lines[lo:hi] {
		toks = append(toks, words(ln)...)
	}
	return toks
}

// words splits a line into identifier-like words.
func words(s string) []string {
	var out []string
	start := -1
	for i := 0; i <= len(s); i++ {
		c := byte(0)
		if i < len(s) {
			c = s[i]
		}
		isW := c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || (start >= 0 && c >= '0' && c <= '9')
		if isW && start < 0 {
			start = i
		} else if !isW && start >= 0 {
			out = append(out, s[start:i])
			start = -1
		}
	}
	return out
}

// windows is the baselines' candidate set: every indexed file cut into
// 60-line windows, with an inverted index for Jaccard and BM25.
type windows struct {
	root    string
	list    []window
	terms   map[string]int32
	post    [][]posting // term → windows
	avgLen  float64
	scratch []float64
	inter   []int32
	counts  map[countKey]int // token counts of window texts, by budget-independent key
}

type countKey struct {
	w     int32
	lines int
}

type window struct {
	file       string
	start, end int // 1-based inclusive lines
	nDistinct  int
	length     int
	text       string
}

type posting struct {
	w  int32
	tf int32
}

func buildWindows(ix *projectgraph.Index) *windows {
	ws := &windows{root: ix.Root(), terms: map[string]int32{}}
	total := 0
	for _, f := range ix.Files() {
		data, err := os.ReadFile(filepath.Join(ws.root, filepath.FromSlash(f)))
		if err != nil {
			continue
		}
		lines := strings.Split(string(data), "\n")
		for s := 0; s < len(lines); s += windowStride {
			e := min(len(lines), s+windowLines)
			tf := map[int32]int32{}
			n := 0
			for _, ln := range lines[s:e] {
				for _, w := range words(ln) {
					id, ok := ws.terms[w]
					if !ok {
						id = int32(len(ws.terms))
						ws.terms[w] = id
						ws.post = append(ws.post, nil)
					}
					tf[id]++
					n++
				}
			}
			wi := int32(len(ws.list))
			ws.list = append(ws.list, window{file: f, start: s + 1, end: e, nDistinct: len(tf), length: n,
				text: strings.Join(lines[s:e], "\n")})
			for id, c := range tf {
				ws.post[id] = append(ws.post[id], posting{wi, c})
			}
			total += n
			if e == len(lines) {
				break
			}
		}
	}
	if len(ws.list) > 0 {
		ws.avgLen = float64(total) / float64(len(ws.list))
	}
	ws.counts = map[countKey]int{}
	ws.scratch = make([]float64, len(ws.list))
	ws.inter = make([]int32, len(ws.list))
	return ws
}

type scored struct {
	w     int32
	score float64
}

func (ws *windows) queryIDs(q []string) map[int32]int {
	ids := map[int32]int{}
	for _, w := range q {
		if id, ok := ws.terms[w]; ok {
			ids[id]++
		}
	}
	return ids
}

// jaccard ranks windows of other files by |Q∩W| / |Q∪W| over distinct
// words.
func (ws *windows) jaccard(q []string, self string) []scored {
	ids := ws.queryIDs(q)
	distinctQ := len(map[string]bool(toSet(q)))
	var touched []int32
	for id := range ids {
		for _, p := range ws.post[id] {
			if ws.inter[p.w] == 0 {
				touched = append(touched, p.w)
			}
			ws.inter[p.w]++
		}
	}
	out := make([]scored, 0, len(touched))
	for _, w := range touched {
		in := float64(ws.inter[w])
		ws.inter[w] = 0
		if ws.list[w].file == self {
			continue
		}
		out = append(out, scored{w, in / (float64(distinctQ+ws.list[w].nDistinct) - in)})
	}
	sortScored(out)
	return out
}

func toSet(q []string) map[string]bool {
	m := map[string]bool{}
	for _, w := range q {
		m[w] = true
	}
	return m
}

// bm25 ranks windows of other files with Okapi BM25 (k1 1.2, b 0.75, the
// usual defaults), each distinct query word counted once.
func (ws *windows) bm25(q []string, self string) []scored {
	const k1, b = 1.2, 0.75
	ids := ws.queryIDs(q)
	n := float64(len(ws.list))
	var touched []int32
	for id := range ids {
		df := float64(len(ws.post[id]))
		idf := math.Log(1 + (n-df+0.5)/(df+0.5))
		for _, p := range ws.post[id] {
			if ws.scratch[p.w] == 0 {
				touched = append(touched, p.w)
			}
			tf := float64(p.tf)
			dl := float64(ws.list[p.w].length)
			ws.scratch[p.w] += idf * tf * (k1 + 1) / (tf + k1*(1-b+b*dl/ws.avgLen))
		}
	}
	out := make([]scored, 0, len(touched))
	for _, w := range touched {
		s := ws.scratch[w]
		ws.scratch[w] = 0
		if ws.list[w].file == self {
			continue
		}
		out = append(out, scored{w, s})
	}
	sortScored(out)
	return out
}

func sortScored(s []scored) {
	sort.Slice(s, func(i, j int) bool {
		if s[i].score != s[j].score {
			return s[i].score > s[j].score
		}
		return s[i].w < s[j].w
	})
}

// pack fills the budget with the best windows, skipping windows that
// overlap one already taken, and cutting the last one to the lines that
// fit; it returns the lines shown.
func (ws *windows) pack(ranked []scored, budget int, counter projectgraph.TokenCounter) []projectgraph.Span {
	used := 0
	var spans []projectgraph.Span
	// The ranking's head: deeper windows are not what a ranker would
	// show; a remainder under minUseful tokens holds no useful code.
	const maxConsidered, minUseful = 200, 8
	for i, s := range ranked {
		if i >= maxConsidered || budget-used < minUseful {
			break
		}
		w := ws.list[s.w]
		overlap := false
		for _, sp := range spans {
			if sp.Path == w.file && w.start <= sp.End && sp.Start <= w.end {
				overlap = true
				break
			}
		}
		if overlap {
			continue
		}
		lines := strings.Split(w.text, "\n")
		for len(lines) > 0 {
			key := countKey{s.w, len(lines)}
			c, ok := ws.counts[key]
			if !ok {
				c = counter.Count(strings.Join(lines, "\n"))
				ws.counts[key] = c
			}
			if used+c <= budget {
				used += c
				spans = append(spans, projectgraph.Span{Path: w.file, Start: w.start, End: w.start + len(lines) - 1})
				break
			}
			// Cut proportionally to what is left, at least one line.
			keep := len(lines) * (budget - used) / max(c, 1)
			if keep >= len(lines) {
				keep = len(lines) - 1
			}
			lines = lines[:max(keep, 0)]
		}
	}
	return spans
}
