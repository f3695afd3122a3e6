package projectgraph

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	sitter "github.com/smacker/go-tree-sitter"
)

// Symbol is one definition: a function, method, type, class, interface,
// enum, constant, variable, macro or module.
type Symbol struct {
	Name string
	// Kind is one of "function", "method", "type", "class", "interface",
	// "enum", "const", "var", "field", "macro", "module".
	Kind string
	// Container is the receiver, class, impl or namespace the definition
	// belongs to ("" at top level).
	Container string
	// Line and EndLine are 1-based; Line is where the definition starts
	// (after its doc comment), SigLine where its signature ends.
	Line, SigLine, EndLine int
	// Start and End are byte offsets of the whole definition including its
	// leading doc comment: the "body" the context packer may show.
	Start, End int
	// Signature is the declaration without its body, whitespace collapsed.
	Signature string
	// Doc is the doc comment (or Python docstring) as written.
	Doc string
}

// Import is one import as written in the source and, once resolved, the
// workspace file or package it names.
type Import struct {
	// Spec is the import in the language's own notation: a Go import path,
	// a dotted Python module (leading dots for relative imports), a JS
	// module specifier, a Java name, a Rust path ("crate::a::B",
	// "mod:name" for `mod name;`), a C include path, a C# namespace.
	Spec string
	// Names are the names imported from Spec where they may be submodules
	// (Python `from pkg import a, b`).
	Names []string `json:",omitempty"`
	// Alias is the local name given to the import (Go `import x "a/b"`).
	Alias string `json:",omitempty"`
	// System is set for C `#include <...>`.
	System bool `json:",omitempty"`
	Line   int
	// Targets are what Spec resolved to inside the workspace: file paths,
	// or package ids prefixed with "pkg:". Empty when unresolved
	// (third-party, standard library outside the roots).
	Targets []string `json:",omitempty"`
}

// facts is what one parse of one file yields.
type facts struct {
	Package string // declared package / namespace ("" when none)
	Imports []Import
	Symbols []Symbol
	Idents  []string // distinct identifiers used in the file
}

// parseTimeout bounds one file's parse. Tree-sitter is linear in practice;
// the bound exists for pathological inputs so one file can never stall a
// scan. 2 s is ~100× the parse time of the largest hand-written files in
// GOROOT.
const parseTimeout = 2 * time.Second

// parses counts tree-sitter parses of whole files (tests check that a
// reload from the cache parses nothing).
var parses atomic.Int64

// extractor parses files of any language; it owns one tree-sitter parser
// and is not safe for concurrent use (make one per goroutine).
type extractor struct {
	p *sitter.Parser
	q *sitter.QueryCursor
}

func newExtractor() *extractor {
	return &extractor{p: sitter.NewParser(), q: sitter.NewQueryCursor()}
}

func (x *extractor) close() {
	x.q.Close()
	x.p.Close()
}

// extract parses src as lang and returns its imports, definitions and
// identifiers. Syntax errors are not errors: tree-sitter recovers and the
// well-formed parts still yield their facts.
func (x *extractor) extract(lang Lang, src []byte) (*facts, error) {
	li, err := lang.info()
	if err != nil {
		return nil, err
	}
	x.p.SetLanguage(li.lang)
	// The timeout is tree-sitter's own, not a context: go-tree-sitter's
	// ParseCtx can leave its cancellation flag set after a parse that
	// finished as the context ended, failing the parser's next parse.
	x.p.SetOperationLimit(int(parseTimeout / time.Microsecond))
	parses.Add(1)
	tree, err := x.p.ParseCtx(context.Background(), nil, src)
	if err != nil {
		x.p.Reset()
		return nil, fmt.Errorf("parse %s: %w", lang, err)
	}
	defer tree.Close()
	root := tree.RootNode()
	f := &facts{}
	f.Imports = x.imports(lang, li, root, src)
	w := walker{lang: lang, src: src, f: f}
	w.walk(root, "", 0)
	f.Idents = distinctIdents(src, lang)
	return f, nil
}

func line(n *sitter.Node) int { return int(n.StartPoint().Row) + 1 }

// imports runs the language's import query and turns captures into Imports.
func (x *extractor) imports(lang Lang, li *langInfo, root *sitter.Node, src []byte) []Import {
	if lang == Go {
		// Go imports only in top-level import declarations: querying
		// those alone skips walking every function body (a fifth of a
		// one-file update's time).
		var out []Import
		for i := 0; i < int(root.NamedChildCount()); i++ {
			switch c := root.NamedChild(i); c.Type() {
			case "import_declaration":
				out = append(out, x.importsUnder(lang, li, c, src)...)
			case "package_clause", "comment":
			default:
				return out // imports precede all other declarations
			}
		}
		return out
	}
	return x.importsUnder(lang, li, root, src)
}

// importsUnder runs the import query on the subtree at n.
func (x *extractor) importsUnder(lang Lang, li *langInfo, n *sitter.Node, src []byte) []Import {
	var out []Import
	x.q.Exec(li.query, n)
	for {
		m, ok := x.q.NextMatch()
		if !ok {
			break
		}
		var req, alias string
		for _, c := range m.Captures {
			switch li.query.CaptureNameForId(c.Index) {
			case "_req":
				req = c.Node.Content(src)
			case "alias":
				alias = c.Node.Content(src)
			}
		}
		for _, c := range m.Captures {
			name := li.query.CaptureNameForId(c.Index)
			n := c.Node
			switch name {
			case "_req", "alias":
				continue
			case "src":
				if req != "" && req != "require" {
					continue
				}
				if s := unquote(n.Content(src)); s != "" {
					out = append(out, Import{Spec: s, Line: line(n)})
				}
			case "path": // Go
				if s := unquote(n.Content(src)); s != "" {
					out = append(out, Import{Spec: s, Alias: alias, Line: line(n)})
				}
			case "import", "from": // Python
				out = append(out, pythonImports(n, src)...)
			case "include":
				t := n.Content(src)
				sys := strings.HasPrefix(t, "<")
				if s := strings.Trim(t, `"<> `); s != "" {
					out = append(out, Import{Spec: s, System: sys, Line: line(n)})
				}
			case "use":
				for _, p := range rustUsePaths(n.Content(src)) {
					out = append(out, Import{Spec: p, Line: line(n)})
				}
			case "mod":
				if n.ChildByFieldName("body") == nil {
					if nm := n.ChildByFieldName("name"); nm != nil {
						out = append(out, Import{Spec: "mod:" + nm.Content(src), Line: line(n)})
					}
				}
			case "crate":
				out = append(out, Import{Spec: n.Content(src), Line: line(n)})
			}
			if name == "jimport" {
				if s := javaImport(n.Content(src)); s != "" {
					out = append(out, Import{Spec: s, Line: line(n)})
				}
			}
			if name == "using" {
				if s := csharpUsing(n.Content(src)); s != "" {
					out = append(out, Import{Spec: s, Line: line(n)})
				}
			}
		}
	}
	return out
}

func unquote(s string) string {
	s = strings.TrimSpace(s)
	if len(s) >= 2 && (s[0] == '"' || s[0] == '\'' || s[0] == '`') && s[len(s)-1] == s[0] {
		return s[1 : len(s)-1]
	}
	return ""
}

// pythonImports reads `import a.b, c as d` and `from .x import y, z`.
func pythonImports(n *sitter.Node, src []byte) []Import {
	var out []Import
	switch n.Type() {
	case "import_statement":
		for i := 0; i < int(n.NamedChildCount()); i++ {
			c := n.NamedChild(i)
			if c.Type() == "aliased_import" {
				c = c.ChildByFieldName("name")
			}
			if c != nil && c.Type() == "dotted_name" {
				out = append(out, Import{Spec: c.Content(src), Line: line(n)})
			}
		}
	case "import_from_statement":
		mod := n.ChildByFieldName("module_name")
		if mod == nil {
			return nil
		}
		imp := Import{Spec: strings.ReplaceAll(mod.Content(src), " ", ""), Line: line(n)}
		for i := 0; i < int(n.ChildCount()); i++ {
			if n.FieldNameForChild(i) != "name" {
				continue
			}
			c := n.Child(i)
			if c.Type() == "aliased_import" {
				c = c.ChildByFieldName("name")
			}
			if c != nil {
				imp.Names = append(imp.Names, c.Content(src))
			}
		}
		out = append(out, imp)
	}
	return out
}

// javaImport turns `import static a.b.C.d;` into "a.b.C.d" and
// `import a.b.*;` into "a.b.*".
func javaImport(t string) string {
	t = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(t), ";"))
	t = strings.TrimSpace(strings.TrimPrefix(t, "import"))
	t = strings.TrimSpace(strings.TrimPrefix(t, "static "))
	return strings.Join(strings.Fields(t), "")
}

// csharpUsing turns `using A.B;`, `using static A.B;`, `using X = A.B;` and
// `global using A.B;` into the namespace or type "A.B".
func csharpUsing(t string) string {
	t = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(t), ";"))
	t = strings.TrimSpace(strings.TrimPrefix(t, "global "))
	t = strings.TrimSpace(strings.TrimPrefix(t, "using"))
	t = strings.TrimSpace(strings.TrimPrefix(t, "static "))
	if i := strings.Index(t, "="); i >= 0 {
		t = t[i+1:]
	}
	return strings.Join(strings.Fields(t), "")
}

// rustUsePaths expands a use tree: "a::{b, c::{d, e}}" → a::b, a::c::d,
// a::c::e; aliases ("x as y") and globs ("a::*") keep only the path.
func rustUsePaths(t string) []string {
	t = rustAlias.ReplaceAllString(t, "")
	t = strings.Join(strings.Fields(t), "")
	var out []string
	var rec func(prefix, s string, depth int)
	rec = func(prefix, s string, depth int) {
		if depth > 8 || s == "" {
			return
		}
		if i := strings.Index(s, "{"); i >= 0 && strings.HasSuffix(s, "}") {
			p := prefix + s[:i]
			for _, part := range splitTop(s[i+1 : len(s)-1]) {
				rec(p, part, depth+1)
			}
			return
		}
		s = strings.TrimSuffix(s, "::*")
		if s == "self" {
			s = strings.TrimSuffix(prefix, "::")
		} else {
			s = prefix + s
		}
		if s != "" && s != "*" {
			out = append(out, s)
		}
	}
	rec("", t, 0)
	return out
}

var rustAlias = regexp.MustCompile(`\s+as\s+[A-Za-z_][A-Za-z0-9_]*`)

// splitTop splits s at commas not inside braces.
func splitTop(s string) []string {
	var out []string
	depth, last := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '{':
			depth++
		case '}':
			depth--
		case ',':
			if depth == 0 {
				out = append(out, s[last:i])
				last = i + 1
			}
		}
	}
	return append(out, s[last:])
}

// walker collects definitions. It descends only into containers (class
// bodies, impl blocks, namespaces, preprocessor conditionals), never into
// function bodies: what a caller in another file can name is declared
// there, and skipping bodies keeps the walk proportional to declarations.
type walker struct {
	lang Lang
	src  []byte
	f    *facts
}

var commentTypes = map[string]bool{"comment": true, "line_comment": true, "block_comment": true}

func (w *walker) text(n *sitter.Node) string { return n.Content(w.src) }

func (w *walker) walk(n *sitter.Node, container string, depth int) {
	if depth > 12 {
		return
	}
	count := int(n.NamedChildCount())
	for i := 0; i < count; i++ {
		c := n.NamedChild(i)
		w.node(c, c, container, depth)
	}
}

// node handles one declaration-level node; outer is the node whose range
// and preceding comments belong to the definition (an export statement,
// a decorated definition, a template declaration around it).
func (w *walker) node(c, outer *sitter.Node, container string, depth int) {
	t := c.Type()
	switch w.lang {
	case Go:
		switch t {
		case "package_clause":
			if c.NamedChildCount() > 0 {
				w.f.Package = w.text(c.NamedChild(0))
			}
		case "function_declaration":
			w.def(c, outer, "function", "", nil)
		case "method_declaration":
			w.def(c, outer, "method", goReceiver(w.text(c.ChildByFieldName("receiver"))), nil)
		case "type_declaration", "const_declaration", "var_declaration":
			specs := namedChildrenOf(c)
			if len(specs) == 1 && specs[0].Type() != "const_spec_list" {
				w.goSpec(specs[0], c)
			} else {
				for _, s := range specs {
					w.goSpec(s, s)
				}
			}
		}
	case Python:
		switch t {
		case "function_definition":
			kind := "function"
			if container != "" {
				kind = "method"
			}
			w.def(c, outer, kind, container, nil)
		case "class_definition":
			name := w.def(c, outer, "class", container, nil)
			if b := c.ChildByFieldName("body"); b != nil && name != "" {
				w.walk(b, name, depth+1)
			}
		case "decorated_definition":
			if d := c.ChildByFieldName("definition"); d != nil {
				w.node(d, outer, container, depth)
			}
		case "expression_statement":
			if container == "" && c.NamedChildCount() == 1 {
				a := c.NamedChild(0)
				if a.Type() == "assignment" {
					if l := a.ChildByFieldName("left"); l != nil && l.Type() == "identifier" {
						name := w.text(l)
						kind := "var"
						if strings.ToUpper(name) == name {
							kind = "const"
						}
						w.def(c, outer, kind, "", l)
					}
				}
			}
		}
	case JavaScript, TypeScript, TSX:
		switch t {
		case "export_statement":
			if d := c.ChildByFieldName("declaration"); d != nil {
				w.node(d, outer, container, depth)
			}
		case "function_declaration", "generator_function_declaration", "function_signature":
			w.def(c, outer, "function", container, nil)
		case "class_declaration", "abstract_class_declaration":
			name := w.def(c, outer, "class", container, nil)
			if b := c.ChildByFieldName("body"); b != nil && name != "" {
				w.walk(b, name, depth+1)
			}
		case "method_definition", "method_signature", "abstract_method_signature":
			w.def(c, outer, "method", container, nil)
		case "interface_declaration":
			w.def(c, outer, "interface", container, nil)
		case "type_alias_declaration":
			w.def(c, outer, "type", container, nil)
		case "enum_declaration":
			w.def(c, outer, "enum", container, nil)
		case "lexical_declaration", "variable_declaration":
			if container != "" {
				return
			}
			decls := namedChildrenOf(c)
			for _, d := range decls {
				if d.Type() != "variable_declarator" {
					continue
				}
				nm := d.ChildByFieldName("name")
				if nm == nil || nm.Type() != "identifier" {
					continue
				}
				kind := "var"
				if strings.HasPrefix(w.text(c), "const") {
					kind = "const"
				}
				if v := d.ChildByFieldName("value"); v != nil && (v.Type() == "arrow_function" || v.Type() == "function" || v.Type() == "function_expression") {
					kind = "function"
				}
				o := outer
				if len(decls) > 1 {
					o = d
				}
				w.def(c, o, kind, "", nm)
			}
		case "ambient_declaration", "internal_module", "module":
			if t == "ambient_declaration" {
				w.walk(c, container, depth+1)
			} else if b := c.ChildByFieldName("body"); b != nil {
				name := w.def(c, outer, "module", container, nil)
				w.walk(b, name, depth+1)
			}
		case "expression_statement":
			// TypeScript parses `namespace X {}` as an expression statement
			// around an internal_module.
			if c.NamedChildCount() == 1 && c.NamedChild(0).Type() == "internal_module" {
				w.node(c.NamedChild(0), outer, container, depth)
			}
		}
	case Java:
		switch t {
		case "package_declaration":
			if c.NamedChildCount() > 0 {
				w.f.Package = w.text(c.NamedChild(0))
			}
		case "class_declaration", "interface_declaration", "enum_declaration", "record_declaration", "annotation_type_declaration":
			kind := map[string]string{"interface_declaration": "interface", "enum_declaration": "enum", "annotation_type_declaration": "interface"}[t]
			if kind == "" {
				kind = "class"
			}
			name := w.def(c, outer, kind, container, nil)
			if b := c.ChildByFieldName("body"); b != nil && name != "" {
				w.walk(b, name, depth+1)
			}
		case "enum_body_declarations":
			w.walk(c, container, depth+1)
		case "method_declaration", "constructor_declaration", "compact_constructor_declaration":
			w.def(c, outer, "method", container, nil)
		case "field_declaration", "constant_declaration":
			kind := "field"
			mods := ""
			if m := firstChildOfType(c, "modifiers"); m != nil {
				mods = w.text(m)
			}
			if t == "constant_declaration" || (strings.Contains(mods, "static") && strings.Contains(mods, "final")) {
				kind = "const"
			}
			for _, d := range namedChildrenOf(c) {
				if d.Type() == "variable_declarator" {
					w.def(c, outer, kind, container, d.ChildByFieldName("name"))
				}
			}
		}
	case Rust:
		switch t {
		case "function_item", "function_signature_item":
			kind := "function"
			if container != "" {
				kind = "method"
			}
			w.def(c, outer, kind, container, nil)
		case "struct_item", "union_item", "type_item":
			w.def(c, outer, "type", container, nil)
		case "enum_item":
			w.def(c, outer, "enum", container, nil)
		case "const_item":
			w.def(c, outer, "const", container, nil)
		case "static_item":
			w.def(c, outer, "var", container, nil)
		case "macro_definition":
			w.def(c, outer, "macro", container, nil)
		case "trait_item":
			name := w.def(c, outer, "interface", container, nil)
			if b := c.ChildByFieldName("body"); b != nil {
				w.walk(b, name, depth+1)
			}
		case "impl_item":
			if b := c.ChildByFieldName("body"); b != nil {
				typ := ""
				if tn := c.ChildByFieldName("type"); tn != nil {
					typ = w.text(tn)
					if i := strings.Index(typ, "<"); i > 0 {
						typ = typ[:i]
					}
				}
				w.walk(b, typ, depth+1)
			}
		case "mod_item":
			if b := c.ChildByFieldName("body"); b != nil {
				name := w.def(c, outer, "module", container, nil)
				w.walk(b, name, depth+1)
			}
		}
	case C, CPP:
		w.cNode(c, outer, container, depth)
	case CSharp:
		switch t {
		case "namespace_declaration", "file_scoped_namespace_declaration":
			if nm := c.ChildByFieldName("name"); nm != nil && w.f.Package == "" {
				w.f.Package = w.text(nm)
			}
			if b := c.ChildByFieldName("body"); b != nil {
				w.walk(b, container, depth+1)
			} else {
				w.walk(c, container, depth+1)
			}
		case "declaration_list":
			w.walk(c, container, depth+1)
		case "class_declaration", "struct_declaration", "record_declaration", "record_struct_declaration", "interface_declaration", "enum_declaration":
			kind := map[string]string{"interface_declaration": "interface", "enum_declaration": "enum", "struct_declaration": "type", "record_struct_declaration": "type"}[t]
			if kind == "" {
				kind = "class"
			}
			name := w.def(c, outer, kind, container, nil)
			if b := c.ChildByFieldName("body"); b != nil && name != "" {
				w.walk(b, name, depth+1)
			}
		case "method_declaration", "constructor_declaration":
			w.def(c, outer, "method", container, nil)
		case "property_declaration":
			w.def(c, outer, "field", container, nil)
		case "delegate_declaration":
			w.def(c, outer, "type", container, nil)
		case "field_declaration":
			kind := "field"
			if strings.Contains(w.text(c), "const ") {
				kind = "const"
			}
			for _, d := range descendantsOfType(c, "variable_declarator", 3) {
				nm := d.ChildByFieldName("name")
				if nm == nil && d.NamedChildCount() > 0 {
					nm = d.NamedChild(0)
				}
				w.def(c, outer, kind, container, nm)
			}
		}
	}
}

// cNode handles C and C++ declarations.
func (w *walker) cNode(c, outer *sitter.Node, container string, depth int) {
	switch t := c.Type(); t {
	case "preproc_ifdef", "preproc_if", "preproc_else", "preproc_elif", "linkage_specification", "declaration_list":
		if b := c.ChildByFieldName("body"); b != nil && t == "linkage_specification" {
			if b.Type() == "declaration_list" {
				w.walk(b, container, depth+1)
			} else {
				w.node(b, b, container, depth+1)
			}
			return
		}
		w.walk(c, container, depth+1)
	case "namespace_definition":
		name := ""
		if nm := c.ChildByFieldName("name"); nm != nil {
			name = w.text(nm)
		}
		if b := c.ChildByFieldName("body"); b != nil {
			w.walk(b, name, depth+1)
		}
	case "template_declaration":
		for _, d := range namedChildrenOf(c) {
			switch d.Type() {
			case "function_definition", "class_specifier", "struct_specifier", "declaration", "alias_declaration":
				w.node(d, outer, container, depth)
			}
		}
	case "function_definition":
		name, qual := cDeclName(c.ChildByFieldName("declarator"), w.src)
		kind := "function"
		if container != "" || qual != "" {
			kind = "method"
		}
		if qual == "" {
			qual = container
		}
		w.defNamed(c, outer, kind, qual, name)
	case "declaration", "field_declaration":
		decl := c.ChildByFieldName("declarator")
		if ty := c.ChildByFieldName("type"); ty != nil && hasBody(ty) {
			w.cNode(ty, outer, container, depth)
		}
		if decl == nil {
			return
		}
		name, qual := cDeclName(decl, w.src)
		if name == "" {
			return
		}
		isFunc := len(descendantsOfType(decl, "function_declarator", 3)) > 0 || decl.Type() == "function_declarator"
		switch {
		case isFunc && (container != "" || qual != ""):
			if qual == "" {
				qual = container
			}
			w.defNamed(c, outer, "method", qual, name)
		case isFunc:
			w.defNamed(c, outer, "function", "", name)
		case t == "declaration" && container == "":
			w.defNamed(c, outer, "var", "", name)
		}
	case "struct_specifier", "union_specifier", "class_specifier", "enum_specifier":
		if !hasBody(c) {
			return
		}
		kind := "type"
		if t == "class_specifier" {
			kind = "class"
		} else if t == "enum_specifier" {
			kind = "enum"
		}
		name := w.def(c, outer, kind, container, nil)
		if b := c.ChildByFieldName("body"); b != nil && name != "" && t != "enum_specifier" {
			w.walk(b, name, depth+1)
		}
	case "type_definition":
		if ty := c.ChildByFieldName("type"); ty != nil && hasBody(ty) {
			if nm := ty.ChildByFieldName("name"); nm != nil {
				w.defNamed(c, outer, "type", container, w.text(nm))
			}
		}
		for i := 0; i < int(c.ChildCount()); i++ {
			if c.FieldNameForChild(i) == "declarator" {
				if name, _ := cDeclName(c.Child(i), w.src); name != "" {
					w.defNamed(c, outer, "type", container, name)
				}
			}
		}
	case "alias_declaration":
		w.def(c, outer, "type", container, nil)
	case "preproc_def", "preproc_function_def":
		// A macro without a value is an include guard or a feature flag:
		// nothing a completion needs to see.
		if t == "preproc_def" && c.ChildByFieldName("value") == nil {
			return
		}
		w.def(c, outer, "macro", "", nil)
	}
}

func hasBody(n *sitter.Node) bool { return n.ChildByFieldName("body") != nil }

// cDeclName digs through C declarators (pointer, function, array,
// reference, parenthesised) to the declared name; "A::b" yields ("b", "A").
func cDeclName(n *sitter.Node, src []byte) (name, qual string) {
	for i := 0; n != nil && i < 16; i++ {
		switch n.Type() {
		case "identifier", "field_identifier", "type_identifier", "primitive_type", "destructor_name", "operator_name":
			return n.Content(src), ""
		case "qualified_identifier":
			t := n.Content(src)
			if j := strings.LastIndex(t, "::"); j >= 0 {
				return t[j+2:], t[:j]
			}
			return t, ""
		}
		next := n.ChildByFieldName("declarator")
		if next == nil && n.NamedChildCount() > 0 {
			next = n.NamedChild(0)
		}
		n = next
	}
	return "", ""
}

func (w *walker) goSpec(s, outer *sitter.Node) {
	switch s.Type() {
	case "type_spec", "type_alias":
		name := w.def(s, outer, "type", "", nil)
		if ty := s.ChildByFieldName("type"); ty != nil && name != "" && s.Type() == "type_spec" {
			w.goMembers(ty, name)
		}
	case "const_spec":
		w.def(s, outer, "const", "", nil)
	case "var_spec":
		w.def(s, outer, "var", "", nil)
	case "const_spec_list", "var_spec_list":
		for _, c := range namedChildrenOf(s) {
			w.goSpec(c, c)
		}
	}
}

// goMembers records the fields of a struct type and the methods of an
// interface type named container: a selector x.F in the code being
// written names one of them far more often than a top-level definition,
// and a member's line is what the context must show for it.
func (w *walker) goMembers(ty *sitter.Node, container string) {
	var list *sitter.Node
	switch ty.Type() {
	case "struct_type":
		list = firstChildOfType(ty, "field_declaration_list")
	case "interface_type":
		list = ty
	}
	if list == nil {
		return
	}
	for _, m := range namedChildrenOf(list) {
		switch m.Type() {
		case "field_declaration":
			// One declaration may name several fields (a, b int); an
			// embedded field is named by its type.
			named := false
			for i := 0; i < int(m.ChildCount()); i++ {
				if m.FieldNameForChild(i) == "name" {
					named = true
					w.defNamed(m, m, "field", container, w.text(m.Child(i)))
				}
			}
			if !named {
				if t := m.ChildByFieldName("type"); t != nil {
					n := w.text(t)
					n = strings.TrimPrefix(n, "*")
					n = n[strings.LastIndexByte(n, '.')+1:]
					if i := strings.IndexByte(n, '['); i > 0 {
						n = n[:i]
					}
					w.defNamed(m, m, "field", container, n)
				}
			}
		case "method_elem", "method_spec":
			w.def(m, m, "method", container, nil)
		}
	}
}

// goReceiver reduces "(r *Buffer[T])" to "Buffer".
func goReceiver(r string) string {
	r = strings.Trim(r, "() \t")
	if i := strings.LastIndexAny(r, " \t*"); i >= 0 {
		r = r[i+1:]
	}
	if i := strings.IndexByte(r, '['); i >= 0 {
		r = r[:i]
	}
	return r
}

func namedChildrenOf(n *sitter.Node) []*sitter.Node {
	k := int(n.NamedChildCount())
	out := make([]*sitter.Node, 0, k)
	for i := 0; i < k; i++ {
		out = append(out, n.NamedChild(i))
	}
	return out
}

func firstChildOfType(n *sitter.Node, t string) *sitter.Node {
	for i := 0; i < int(n.ChildCount()); i++ {
		if c := n.Child(i); c.Type() == t {
			return c
		}
	}
	return nil
}

func descendantsOfType(n *sitter.Node, t string, depth int) []*sitter.Node {
	var out []*sitter.Node
	if depth < 0 {
		return nil
	}
	for i := 0; i < int(n.NamedChildCount()); i++ {
		c := n.NamedChild(i)
		if c.Type() == t {
			out = append(out, c)
		}
		out = append(out, descendantsOfType(c, t, depth-1)...)
	}
	return out
}

// def records the definition c (named by its "name" field, or by nameNode)
// and returns its name ("" when it has none).
func (w *walker) def(c, outer *sitter.Node, kind, container string, nameNode *sitter.Node) string {
	if nameNode == nil {
		nameNode = c.ChildByFieldName("name")
	}
	if nameNode == nil {
		return ""
	}
	return w.defNamed(c, outer, kind, container, w.text(nameNode))
}

// maxSignature bounds a signature's length: a signature is a one-glance
// summary; a 30-parameter constructor is cut rather than eating the budget.
const maxSignature = 400

func (w *walker) defNamed(c, outer *sitter.Node, kind, container, name string) string {
	name = strings.TrimSpace(name)
	if name == "" || !utf8.ValidString(name) || strings.ContainsAny(name, " \t\n(") {
		return ""
	}
	start, end := int(outer.StartByte()), int(outer.EndByte())
	sym := Symbol{Name: name, Kind: kind, Container: container,
		Line: line(outer), EndLine: int(outer.EndPoint().Row) + 1, End: end}
	// Signature: the definition up to its body.
	sigEnd := int(c.EndByte())
	if b := c.ChildByFieldName("body"); b != nil {
		sigEnd = int(b.StartByte())
	} else if kind == "type" || kind == "class" || kind == "interface" || kind == "enum" {
		if i := bytes.IndexByte(w.src[int(c.StartByte()):sigEnd], '{'); i >= 0 {
			sigEnd = int(c.StartByte()) + i
		}
	}
	raw := string(w.src[start:max(start, sigEnd)])
	if kind == "const" || kind == "var" || kind == "field" {
		// A constant's "signature" is its first line: a 500-entry table
		// literal is body, not summary.
		if i := strings.IndexByte(raw, '\n'); i >= 0 {
			raw = raw[:i]
		}
	}
	sig := collapse(raw)
	sig = strings.TrimRight(sig, " {:=")
	if w.lang == Go && c == outer {
		switch c.Type() {
		case "type_spec", "type_alias":
			sig = "type " + sig
		case "const_spec":
			sig = "const " + sig
		case "var_spec":
			sig = "var " + sig
		}
	}
	if len(sig) > maxSignature {
		// Mask before cutting: the context packer masks what it shows,
		// but a token cut at the boundary no longer matches its pattern
		// and would leak most of its characters.
		sig = MaskSecrets(sig)
	}
	if len(sig) > maxSignature {
		cut := maxSignature
		for cut > 0 && !utf8.RuneStart(sig[cut]) {
			cut-- // never split a character (invalid bytes elsewhere stay)
		}
		sig = sig[:cut] + "…"
	}
	sym.Signature = sig
	sym.SigLine = sym.Line + bytes.Count(w.src[start:max(start, min(sigEnd, end))], []byte("\n"))
	// Doc: comments right above the definition, or a Python docstring.
	docStart := start
	prevRow := int(outer.StartPoint().Row)
	for p := outer.PrevSibling(); p != nil && commentTypes[p.Type()]; p = p.PrevSibling() {
		if int(p.EndPoint().Row) < prevRow-1 {
			break
		}
		docStart, prevRow = int(p.StartByte()), int(p.StartPoint().Row)
	}
	if docStart < start {
		sym.Doc = strings.TrimSpace(string(w.src[docStart:start]))
		sym.Start = docStart
	} else {
		sym.Start = start
	}
	if w.lang == Python {
		if b := c.ChildByFieldName("body"); b != nil && b.NamedChildCount() > 0 {
			if s := b.NamedChild(0); s.Type() == "expression_statement" && s.NamedChildCount() == 1 && s.NamedChild(0).Type() == "string" {
				sym.Doc = w.text(s.NamedChild(0))
			}
		}
	}
	w.f.Symbols = append(w.f.Symbols, sym)
	return name
}

// collapse replaces every run of whitespace with one space.
func collapse(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
