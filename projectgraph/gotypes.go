package projectgraph

import (
	"go/ast"
	"go/parser"
	gotoken "go/token"
	"path"
	"sort"
	"strings"
)

// Go code reaches most cross-file definitions through selectors on values
// (c.config.Certificates, r.Header.Get): the name alone matches dozens of
// fields and methods across the workspace, and only the type of the value
// on the left says which one is meant. goScope reads the function around
// the cursor with go/parser (a few hundred lines, well under a
// millisecond) and infers the types of its names from the index's
// signatures: parameters, receivers, `:=` and `var` bindings, composite
// literals, calls, ranges and type switches. It is a syntactic
// approximation of go/types, with no type checking, no generics and no
// method sets beyond one level of embedding; what it cannot type it
// leaves out rather than guesses.

// gtype is an inferred type.
type gtype struct {
	kind    byte // 'n' named, '*' pointer, '[' slice/array, 'm' map, 'c' chan, 'f' func
	elem    *gtype
	key     *gtype
	dir     string // named: the package's directory (its index id); "" for builtins
	name    string
	results []*gtype // func
}

// gnamed is a named type of the workspace.
type gnamed struct{ dir, name string }

func (t *gtype) deref() *gtype {
	for i := 0; t != nil && t.kind == '*' && i < 4; i++ {
		t = t.elem
	}
	return t
}

func (t *gtype) named() (gnamed, bool) {
	t = t.deref()
	if t == nil || t.kind != 'n' || t.dir == "" {
		return gnamed{}, false
	}
	return gnamed{t.dir, t.name}, true
}

// gctx is the scope a type expression is read in: its package directory
// and the file's imports by local name.
type gctx struct {
	dir     string
	imports map[string]string // local name → package dir
}

// binding is one way a local name gets its value.
type binding struct {
	pos    gotoken.Pos
	typ    ast.Expr // declared type, or nil
	val    ast.Expr // value expression when typ is nil
	idx    int      // which result of a multi-value val
	rangeX ast.Expr // ranged-over expression (val unused)
	key    bool     // the range key rather than the value
}

// goScope is the inference state for one context request.
type goScope struct {
	ix    *Index
	cur   gctx
	fset  *gotoken.FileSet
	base  int // byte offset in the buffer of the parsed text's first byte, minus the prefix
	env   map[string][]binding
	ctxs  map[string]gctx // file path → scope of its declarations
	busy  map[*ast.Ident]bool
	memo  map[ast.Expr]*gtype
	syms  map[symKey]*gtype // typeOfSym's answers; nil while one is being worked out
	steps int
	// tests is set when the file being edited is a Go test file: only
	// test files see the declarations of other test files.
	tests bool
}

// maxInferSteps bounds the work of one request: inference follows
// bindings and signatures recursively, and pathological code must not
// stall a keystroke.
const maxInferSteps = 20000

// goInferred is what goScope found around the cursor.
type goInferred struct {
	// members are fields and methods named by selectors in the function,
	// with the summed proximity weight of their uses.
	members map[SymbolRef]float64
	// types are the named types in play (of variables, selector results,
	// composite literals), weighted by the proximity of their mentions.
	types map[gnamed]float64
	// resolved are the selectors x.Name whose member was found: the
	// name-based ranking need not guess among same-named members.
	resolved map[identKey]bool
}

// inferGo reads the function of cur enclosing cursor in src. weight maps
// a buffer offset to its proximity weight.
func (ix *Index) inferGo(cur *File, src []byte, cursor int, weight func(off int) float64) *goInferred {
	var fn *Symbol
	for i := range cur.Symbols {
		s := &cur.Symbols[i]
		if (s.Kind == "function" || s.Kind == "method") && strings.HasPrefix(s.Signature, "func") {
			if s.Start <= cursor && cursor <= s.End && s.End <= len(src) {
				fn = s
			}
		}
	}
	if fn == nil {
		return nil
	}
	const prefix = "package p\n"
	text := prefix + string(src[fn.Start:fn.End])
	fset := gotoken.NewFileSet()
	file, _ := parser.ParseFile(fset, "", text, parser.SkipObjectResolution)
	if file == nil || len(file.Decls) == 0 {
		return nil
	}
	fd, ok := file.Decls[len(file.Decls)-1].(*ast.FuncDecl)
	if !ok || fd.Body == nil || fd.Type == nil {
		return nil
	}
	g := &goScope{ix: ix, fset: fset, base: fn.Start - len(prefix), env: map[string][]binding{},
		ctxs: map[string]gctx{}, busy: map[*ast.Ident]bool{}, memo: map[ast.Expr]*gtype{},
		tests: strings.HasSuffix(cur.Path, "_test.go")}
	g.cur = g.ctxOfFile(cur)
	bindFields := func(fl *ast.FieldList) {
		if fl == nil {
			return
		}
		for _, f := range fl.List {
			for _, n := range f.Names {
				g.env[n.Name] = append(g.env[n.Name], binding{pos: n.Pos(), typ: f.Type})
			}
		}
	}
	bindFields(fd.Recv)
	bindFields(fd.Type.Params)
	bindFields(fd.Type.Results)
	ast.Inspect(fd.Body, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.AssignStmt:
			if n.Tok != gotoken.DEFINE {
				return true
			}
			for i, l := range n.Lhs {
				id, ok := l.(*ast.Ident)
				if !ok || id.Name == "_" {
					continue
				}
				b := binding{pos: id.Pos()}
				if len(n.Rhs) == len(n.Lhs) {
					b.val = n.Rhs[i]
				} else if len(n.Rhs) == 1 {
					b.val, b.idx = n.Rhs[0], i
				}
				g.env[id.Name] = append(g.env[id.Name], b)
			}
		case *ast.ValueSpec:
			for i, id := range n.Names {
				b := binding{pos: id.Pos(), typ: n.Type}
				if n.Type == nil && len(n.Values) == len(n.Names) {
					b.val = n.Values[i]
				} else if n.Type == nil && len(n.Values) == 1 {
					b.val, b.idx = n.Values[0], i
				}
				g.env[id.Name] = append(g.env[id.Name], b)
			}
		case *ast.RangeStmt:
			if n.Tok != gotoken.DEFINE {
				return true
			}
			if id, ok := n.Key.(*ast.Ident); ok && id.Name != "_" {
				g.env[id.Name] = append(g.env[id.Name], binding{pos: id.Pos(), rangeX: n.X, key: true})
			}
			if id, ok := n.Value.(*ast.Ident); ok && id.Name != "_" {
				g.env[id.Name] = append(g.env[id.Name], binding{pos: id.Pos(), rangeX: n.X})
			}
		case *ast.TypeSwitchStmt:
			as, ok := n.Assign.(*ast.AssignStmt)
			if !ok || len(as.Lhs) != 1 {
				return true
			}
			id, ok := as.Lhs[0].(*ast.Ident)
			if !ok {
				return true
			}
			for _, st := range n.Body.List {
				if cc, ok := st.(*ast.CaseClause); ok && len(cc.List) == 1 {
					g.env[id.Name] = append(g.env[id.Name], binding{pos: cc.Colon, typ: cc.List[0]})
				}
			}
		case *ast.FuncLit:
			for _, fl := range []*ast.FieldList{n.Type.Params, n.Type.Results} {
				bindFields(fl)
			}
		}
		return true
	})

	out := &goInferred{members: map[SymbolRef]float64{}, types: map[gnamed]float64{}, resolved: map[identKey]bool{}}
	addType := func(t *gtype, w float64) {
		for i := 0; t != nil && i < 3; i++ {
			if nt, ok := t.named(); ok {
				out.types[nt] += w
				return
			}
			t = t.deref()
			if t == nil || t.kind == 'n' || t.kind == 'f' {
				return
			}
			t = t.elem // the element of a slice, map or channel
		}
	}
	ast.Inspect(fd, func(n ast.Node) bool {
		if g.steps > maxInferSteps {
			return false
		}
		switch n := n.(type) {
		case *ast.SelectorExpr:
			w := weight(g.off(n.Sel.Pos()))
			if id, ok := n.X.(*ast.Ident); ok && g.lookup(id) == nil && g.cur.imports[id.Name] != "" {
				return true // pkg.Name: the name-based ranking handles it
			}
			xt := g.typeOf(n.X)
			if nt, ok := xt.named(); ok {
				if m, ok := g.member(nt, n.Sel.Name, 0); ok {
					out.members[m] += w
					if x, ok := n.X.(*ast.Ident); ok {
						out.resolved[identKey{x.Name, n.Sel.Name}] = true
					}
					addType(xt, w)
					if m.Kind == "field" {
						addType(g.typeOfSym(m), 0.5*w)
					}
				}
			}
		case *ast.Ident:
			if bs := g.env[n.Name]; len(bs) > 0 {
				addType(g.typeOf(n), weight(g.off(n.Pos())))
			}
		case *ast.CompositeLit:
			if n.Type != nil {
				lo, hi := g.off(n.Lbrace), g.off(n.Rbrace)
				w := weight(lo)
				if lo <= cursor && cursor <= hi {
					w *= 2 // the cursor is inside the literal: its fields are next
				}
				addType(g.fromExpr(n.Type, g.cur), w)
			}
		}
		return true
	})
	return out
}

// off converts a position in the parsed text to a buffer offset.
func (g *goScope) off(p gotoken.Pos) int { return g.base + g.fset.Position(p).Offset }

// ctxOfFile returns the scope of f's declarations.
func (g *goScope) ctxOfFile(f *File) gctx {
	if c, ok := g.ctxs[f.Path]; ok {
		return c
	}
	c := gctx{dir: f.Pkg, imports: map[string]string{}}
	for _, im := range f.Imports {
		for _, t := range im.Targets {
			if id, ok := strings.CutPrefix(t, PkgPrefix); ok {
				for _, n := range importLocalNames(Go, im) {
					c.imports[n] = id
				}
			}
		}
	}
	g.ctxs[f.Path] = c
	return c
}

func (g *goScope) ctxOf(p string) (gctx, bool) {
	f := g.ix.files[p]
	if f == nil {
		return gctx{}, false
	}
	return g.ctxOfFile(f), true
}

// lookup returns the binding of id in effect at its position.
func (g *goScope) lookup(id *ast.Ident) *binding {
	bs := g.env[id.Name]
	var best *binding
	for i := range bs {
		if bs[i].pos <= id.Pos() && (best == nil || bs[i].pos > best.pos) {
			best = &bs[i]
		}
	}
	if best == nil && len(bs) > 0 {
		best = &bs[0] // a closure's variable declared later, or a miscount
	}
	return best
}

var builtinTypes = map[string]bool{"bool": true, "byte": true, "complex64": true, "complex128": true, "error": true,
	"float32": true, "float64": true, "int": true, "int8": true, "int16": true, "int32": true, "int64": true,
	"rune": true, "string": true, "uint": true, "uint8": true, "uint16": true, "uint32": true, "uint64": true,
	"uintptr": true, "any": true, "comparable": true}

// fromExpr reads a type expression in scope c.
func (g *goScope) fromExpr(e ast.Expr, c gctx) *gtype {
	switch e := e.(type) {
	case *ast.Ident:
		if builtinTypes[e.Name] {
			return &gtype{kind: 'n', name: e.Name}
		}
		return &gtype{kind: 'n', dir: c.dir, name: e.Name}
	case *ast.SelectorExpr:
		if x, ok := e.X.(*ast.Ident); ok {
			if d := c.imports[x.Name]; d != "" {
				return &gtype{kind: 'n', dir: d, name: e.Sel.Name}
			}
		}
	case *ast.StarExpr:
		return &gtype{kind: '*', elem: g.fromExpr(e.X, c)}
	case *ast.ParenExpr:
		return g.fromExpr(e.X, c)
	case *ast.ArrayType:
		return &gtype{kind: '[', elem: g.fromExpr(e.Elt, c)}
	case *ast.Ellipsis:
		return &gtype{kind: '[', elem: g.fromExpr(e.Elt, c)}
	case *ast.MapType:
		return &gtype{kind: 'm', key: g.fromExpr(e.Key, c), elem: g.fromExpr(e.Value, c)}
	case *ast.ChanType:
		return &gtype{kind: 'c', elem: g.fromExpr(e.Value, c)}
	case *ast.IndexExpr: // generic instantiation
		return g.fromExpr(e.X, c)
	case *ast.IndexListExpr:
		return g.fromExpr(e.X, c)
	case *ast.FuncType:
		t := &gtype{kind: 'f'}
		if e.Results != nil {
			for _, f := range e.Results.List {
				rt := g.fromExpr(f.Type, c)
				for i := 0; i < max(1, len(f.Names)); i++ {
					t.results = append(t.results, rt)
				}
			}
		}
		return t
	}
	return nil
}

// visible reports whether declarations of file p can be seen from the
// file being edited: Go test files are invisible to the others.
func (g *goScope) visible(p string) bool {
	return g.tests || !strings.HasSuffix(p, "_test.go")
}

// typeDef returns the definition of a named type.
func (g *goScope) typeDef(nt gnamed) (SymbolRef, bool) {
	for _, d := range g.ix.byName[nt.name] {
		if d.Kind == "type" && d.Container == "" && path.Dir(d.Path) == nt.dir && LangOf(d.Path) == Go && g.visible(d.Path) {
			return d, true
		}
	}
	return SymbolRef{}, false
}

// underlying returns the type a named type is defined as (map, slice,
// struct…), nil when unknown.
func (g *goScope) underlying(t *gtype) *gtype {
	for i := 0; t != nil && t.kind == 'n' && i < 4; i++ {
		nt, ok := t.named()
		if !ok {
			return nil
		}
		d, ok := g.typeDef(nt)
		if !ok {
			return nil
		}
		c, _ := g.ctxOf(d.Path)
		f, _ := parser.ParseFile(gotoken.NewFileSet(), "", "package p\n"+d.Signature+"{}", parser.SkipObjectResolution)
		if f == nil || len(f.Decls) == 0 {
			return nil
		}
		gd, ok := f.Decls[0].(*ast.GenDecl)
		if !ok || len(gd.Specs) == 0 {
			return nil
		}
		ts, ok := gd.Specs[0].(*ast.TypeSpec)
		if !ok {
			return nil
		}
		t = g.fromExpr(ts.Type, c)
	}
	return t
}

// member finds field or method sel of named type nt, looking one level
// into embedded fields.
func (g *goScope) member(nt gnamed, sel string, depth int) (SymbolRef, bool) {
	g.steps++
	for _, d := range g.ix.byName[sel] {
		if d.Container == nt.name && (d.Kind == "field" || d.Kind == "method") && path.Dir(d.Path) == nt.dir && LangOf(d.Path) == Go && g.visible(d.Path) {
			return d, true
		}
	}
	if depth >= 2 {
		return SymbolRef{}, false
	}
	for _, e := range g.ix.embedded(nt, g.tests) {
		if et, ok := g.typeOfSym(e).named(); ok {
			if m, ok := g.member(et, sel, depth+1); ok {
				return m, true
			}
		}
	}
	return SymbolRef{}, false
}

// embedded returns the embedded fields of a struct type: fields whose
// signature is their type alone.
func (ix *Index) embedded(nt gnamed, tests bool) []SymbolRef {
	var out []SymbolRef
	for _, p := range ix.pkgs[nt.dir] {
		f := ix.files[p]
		if f == nil || f.Lang != Go || !tests && strings.HasSuffix(p, "_test.go") {
			continue
		}
		for _, s := range f.Symbols {
			if s.Kind == "field" && s.Container == nt.name && !strings.ContainsAny(strings.TrimPrefix(s.Signature, "*"), " \t") {
				out = append(out, SymbolRef{Path: p, Symbol: s})
			}
		}
	}
	return out
}

// symKey names a definition for typeOfSym's memo.
type symKey struct {
	path  string
	start int
}

// typeOfSym is the type of a definition's value: a field's or variable's
// type, a function's or method's signature. A definition met again while
// its own type is being worked out (var a = b(); var b = a()) is unknown:
// without the memo the recursion never ends, and a stack overflow is
// fatal to the process.
func (g *goScope) typeOfSym(d SymbolRef) *gtype {
	g.steps++
	if g.steps > maxInferSteps {
		return nil
	}
	k := symKey{d.Path, d.Start}
	if t, ok := g.syms[k]; ok {
		return t
	}
	if g.syms == nil {
		g.syms = map[symKey]*gtype{}
	}
	g.syms[k] = nil
	t := g.typeOfSym1(d)
	g.syms[k] = t
	return t
}

func (g *goScope) typeOfSym1(d SymbolRef) *gtype {
	c, ok := g.ctxOf(d.Path)
	if !ok || strings.HasSuffix(d.Signature, "…") {
		return nil
	}
	sig := d.Signature
	switch {
	case d.Kind == "field":
		e, err := parser.ParseExpr("struct{" + sig + "}")
		if err != nil {
			return nil
		}
		st, ok := e.(*ast.StructType)
		if !ok || len(st.Fields.List) == 0 {
			return nil
		}
		return g.fromExpr(st.Fields.List[0].Type, c)
	case d.Kind == "method" && !strings.HasPrefix(sig, "func"):
		e, err := parser.ParseExpr("interface{" + sig + "}")
		if err != nil {
			return nil
		}
		it, ok := e.(*ast.InterfaceType)
		if !ok || len(it.Methods.List) == 0 {
			return nil
		}
		return g.fromExpr(it.Methods.List[0].Type, c)
	case d.Kind == "function" || d.Kind == "method":
		f, _ := parser.ParseFile(gotoken.NewFileSet(), "", "package p\n"+sig+"{}", parser.SkipObjectResolution)
		if f == nil || len(f.Decls) == 0 {
			return nil
		}
		if fd, ok := f.Decls[0].(*ast.FuncDecl); ok {
			return g.fromExpr(fd.Type, c)
		}
	case d.Kind == "var":
		f, _ := parser.ParseFile(gotoken.NewFileSet(), "", "package p\n"+sig, parser.SkipObjectResolution)
		if f == nil || len(f.Decls) == 0 {
			return nil
		}
		gd, ok := f.Decls[0].(*ast.GenDecl)
		if !ok || len(gd.Specs) == 0 {
			return nil
		}
		vs, ok := gd.Specs[0].(*ast.ValueSpec)
		if !ok {
			return nil
		}
		if vs.Type != nil {
			return g.fromExpr(vs.Type, c)
		}
		if len(vs.Values) == 1 {
			return g.typeOfIn(vs.Values[0], c)
		}
	}
	return nil
}

// typeOfIn types an expression of another file's top level (a variable's
// initialiser): composite literals, calls and conversions only.
func (g *goScope) typeOfIn(e ast.Expr, c gctx) *gtype {
	switch e := e.(type) {
	case *ast.CompositeLit:
		return g.fromExpr(e.Type, c)
	case *ast.UnaryExpr:
		if e.Op == gotoken.AND {
			if t := g.typeOfIn(e.X, c); t != nil {
				return &gtype{kind: '*', elem: t}
			}
		}
	case *ast.CallExpr:
		var d SymbolRef
		var ok bool
		switch f := e.Fun.(type) {
		case *ast.Ident:
			d, ok = g.pkgLevel(c.dir, f.Name)
		case *ast.SelectorExpr:
			if x, isID := f.X.(*ast.Ident); isID && c.imports[x.Name] != "" {
				d, ok = g.pkgLevel(c.imports[x.Name], f.Sel.Name)
			}
		}
		if ok {
			return g.resultOf(d, 0)
		}
	}
	return nil
}

// pkgLevel finds the top-level definition name of package dir.
func (g *goScope) pkgLevel(dir, name string) (SymbolRef, bool) {
	for _, d := range g.ix.byName[name] {
		if d.Container == "" && path.Dir(d.Path) == dir && LangOf(d.Path) == Go && !strings.HasSuffix(d.Path, "_test.go") {
			return d, true
		}
	}
	return SymbolRef{}, false
}

// resultOf is the type a use of d in call position yields: the i-th
// result of a function, or the type itself for a conversion.
func (g *goScope) resultOf(d SymbolRef, i int) *gtype {
	if d.Kind == "type" {
		return &gtype{kind: 'n', dir: path.Dir(d.Path), name: d.Name}
	}
	t := g.typeOfSym(d)
	if t != nil && t.kind == 'f' && i < len(t.results) {
		return t.results[i]
	}
	return nil
}

// typeOf infers the type of an expression of the function being edited.
func (g *goScope) typeOf(e ast.Expr) *gtype {
	if t, ok := g.memo[e]; ok {
		return t
	}
	g.memo[e] = nil // cycles resolve to unknown
	t := g.typeOf1(e, 0)
	g.memo[e] = t
	return t
}

func (g *goScope) typeOf1(e ast.Expr, idx int) *gtype {
	g.steps++
	if g.steps > maxInferSteps {
		return nil
	}
	switch e := e.(type) {
	case *ast.Ident:
		if b := g.lookup(e); b != nil {
			return g.bindingType(b)
		}
		if d, ok := g.pkgLevel(g.cur.dir, e.Name); ok && (d.Kind == "var" || d.Kind == "function") {
			return g.typeOfSym(d)
		}
	case *ast.ParenExpr:
		return g.typeOf(e.X)
	case *ast.SelectorExpr:
		if x, ok := e.X.(*ast.Ident); ok && g.lookup(x) == nil {
			if dir := g.cur.imports[x.Name]; dir != "" {
				if d, ok := g.pkgLevel(dir, e.Sel.Name); ok && (d.Kind == "var" || d.Kind == "function") {
					return g.typeOfSym(d)
				}
				return nil
			}
		}
		if nt, ok := g.typeOf(e.X).named(); ok {
			if m, ok := g.member(nt, e.Sel.Name, 0); ok {
				return g.typeOfSym(m)
			}
		}
	case *ast.CallExpr:
		switch f := e.Fun.(type) {
		case *ast.Ident:
			switch f.Name {
			case "new":
				if len(e.Args) == 1 {
					return &gtype{kind: '*', elem: g.fromExpr(e.Args[0], g.cur)}
				}
			case "make":
				if len(e.Args) >= 1 {
					return g.fromExpr(e.Args[0], g.cur)
				}
			case "append":
				if len(e.Args) >= 1 {
					return g.typeOf(e.Args[0])
				}
			}
			if g.lookup(f) == nil {
				if d, ok := g.pkgLevel(g.cur.dir, f.Name); ok {
					return g.resultOf(d, idx)
				}
			}
		case *ast.SelectorExpr:
			if x, ok := f.X.(*ast.Ident); ok && g.lookup(x) == nil {
				if dir := g.cur.imports[x.Name]; dir != "" {
					if d, ok := g.pkgLevel(dir, f.Sel.Name); ok {
						return g.resultOf(d, idx)
					}
					return nil
				}
			}
		case *ast.ArrayType, *ast.StarExpr, *ast.MapType:
			return g.fromExpr(f, g.cur) // conversion
		}
		ft := g.typeOf(e.Fun)
		if ft != nil && ft.kind == 'f' && idx < len(ft.results) {
			return ft.results[idx]
		}
	case *ast.CompositeLit:
		if e.Type != nil {
			return g.fromExpr(e.Type, g.cur)
		}
	case *ast.UnaryExpr:
		if e.Op == gotoken.AND {
			if t := g.typeOf(e.X); t != nil {
				return &gtype{kind: '*', elem: t}
			}
		}
		if e.Op == gotoken.ARROW {
			if t := g.typeOf(e.X); t != nil && t.kind == 'c' {
				return t.elem
			}
		}
	case *ast.StarExpr:
		if t := g.typeOf(e.X); t != nil && t.kind == '*' {
			return t.elem
		}
	case *ast.IndexExpr:
		t := g.typeOf(e.X).deref()
		if t != nil && t.kind == 'n' {
			t = g.underlying(t)
		}
		if t != nil && (t.kind == '[' || t.kind == 'm') {
			return t.elem
		}
	case *ast.SliceExpr:
		return g.typeOf(e.X)
	case *ast.TypeAssertExpr:
		if e.Type != nil {
			return g.fromExpr(e.Type, g.cur)
		}
	case *ast.FuncLit:
		return g.fromExpr(e.Type, g.cur)
	}
	return nil
}

func (g *goScope) bindingType(b *binding) *gtype {
	switch {
	case b.typ != nil:
		return g.fromExpr(b.typ, g.cur)
	case b.rangeX != nil:
		t := g.typeOf(b.rangeX).deref()
		if t != nil && t.kind == 'n' {
			t = g.underlying(t)
		}
		if t == nil {
			return nil
		}
		switch {
		case t.kind == 'm' && b.key:
			return t.key
		case t.kind == 'm' || t.kind == 'c' || t.kind == '[' && !b.key:
			return t.elem
		}
	case b.val != nil:
		if b.idx == 0 {
			return g.typeOf(b.val)
		}
		switch v := b.val.(type) {
		case *ast.CallExpr:
			return g.typeOf1(v, b.idx)
		case *ast.TypeAssertExpr, *ast.IndexExpr, *ast.UnaryExpr:
			return nil // the comma-ok bool
		}
	}
	return nil
}

// card is a compact view of a named type for the prompt: its declaration
// line, its members' signatures (fields, interface methods) and its
// methods, without comments or bodies.
type card struct {
	def        SymbolRef
	members    []SymbolRef // in declaration order: fields, then methods by file
	nameWeight map[string]float64
	// insideTotal counts the members the declaration holds (fields,
	// interface methods), shown or not.
	insideTotal int
}

// typeCard collects the members of nt.
func (ix *Index) typeCard(nt gnamed, def SymbolRef) card {
	c := card{def: def}
	var methods []SymbolRef
	for _, p := range ix.pkgs[nt.dir] {
		f := ix.files[p]
		if f == nil || f.Lang != Go || strings.HasSuffix(p, "_test.go") {
			continue
		}
		for _, s := range f.Symbols {
			if s.Container != nt.name || s.Signature == "" {
				continue
			}
			r := SymbolRef{Path: p, Symbol: s}
			if p == def.Path && s.Start >= def.Start && s.End <= def.End {
				c.members = append(c.members, r) // inside the declaration
				c.insideTotal++
			} else if s.Kind == "method" {
				methods = append(methods, r)
			}
		}
	}
	sort.SliceStable(c.members, func(i, j int) bool { return c.members[i].Start < c.members[j].Start })
	c.members = append(c.members, methods...)
	return c
}

// Weights of the Go type-directed candidates relative to the name-based
// ones (whose scores are proximity × relation, relation ≤ 1). A member
// resolved through the type of its value is as certain as a name the
// imports put in scope; a type in play says less about which of its
// members comes next, so its card ranks a little below.
const (
	memberWeight = 1.0
	cardWeight   = 0.8
)

// goCands are the candidates the types of the function around the cursor
// yield: the members its selectors name, and cards of the types in play.
// nameWeight gives the proximity weight of each identifier near the
// cursor (a card shows the members named nearby first).
func (ix *Index) goCands(cur *File, rel string, src []byte, cursor int, lineStarts []int, curLine int, nameWeight map[string]float64) ([]cand, map[identKey]bool) {
	weight := func(off int) float64 {
		l := sort.SearchInts(lineStarts, off+1) - 1
		d := float64(l - curLine)
		if d < 0 {
			d = -d
		}
		w := 1 / (1 + d/proximityLines)
		if off > cursor {
			w *= 0.8
		}
		return w
	}
	inf := ix.inferGo(cur, src, cursor, weight)
	if inf == nil {
		return nil, nil
	}
	var out []cand
	for m, w := range inf.members {
		if m.Path != rel {
			out = append(out, cand{ref: m, score: w * memberWeight, why: "member of " + m.Container})
		}
	}
	g := &goScope{ix: ix, tests: strings.HasSuffix(rel, "_test.go")}
	for nt, w := range inf.types {
		def, ok := g.typeDef(nt)
		if !ok {
			continue
		}
		c := ix.typeCard(nt, def)
		// Members of the file itself are in view; another package's
		// unexported members cannot be used from here.
		other := nt.dir != cur.Pkg
		kept := c.members[:0]
		for _, m := range c.members {
			if m.Path != rel && !(other && !goExported(m.Name)) {
				kept = append(kept, m)
			}
		}
		c.members = kept
		if def.Path == rel && len(c.members) == 0 {
			continue
		}
		c.nameWeight = nameWeight
		out = append(out, cand{ref: def, score: w * cardWeight, why: "type in use", card: &c})
	}
	return out, inf.resolved
}

// identKey is an identifier near the cursor with its qualifier.
type identKey struct{ qual, name string }

// weights2names sums identifier weights over qualifiers.
func weights2names(m map[identKey]float64) map[string]float64 {
	out := make(map[string]float64, len(m))
	for k, w := range m {
		out[k.name] += w
	}
	return out
}
