package projectgraph

import (
	"fmt"
	"path"
	"strings"
	"sync"

	sitter "github.com/smacker/go-tree-sitter"
	"github.com/smacker/go-tree-sitter/c"
	"github.com/smacker/go-tree-sitter/cpp"
	"github.com/smacker/go-tree-sitter/csharp"
	"github.com/smacker/go-tree-sitter/golang"
	"github.com/smacker/go-tree-sitter/java"
	"github.com/smacker/go-tree-sitter/javascript"
	"github.com/smacker/go-tree-sitter/python"
	"github.com/smacker/go-tree-sitter/rust"
	"github.com/smacker/go-tree-sitter/typescript/tsx"
	"github.com/smacker/go-tree-sitter/typescript/typescript"
)

// Lang names a language the index understands.
type Lang string

// The languages with import resolution and definitions. This table is
// deliberately separate from astguard's: projectgraph must not import the
// decoder's helpers, and it needs different facts per language.
const (
	Go         Lang = "go"
	Python     Lang = "python"
	JavaScript Lang = "javascript"
	TypeScript Lang = "typescript"
	TSX        Lang = "tsx"
	Java       Lang = "java"
	Rust       Lang = "rust"
	C          Lang = "c"
	CPP        Lang = "cpp"
	CSharp     Lang = "csharp"
)

var extLang = map[string]Lang{
	".go":  Go,
	".py":  Python,
	".pyi": Python,
	".js":  JavaScript, ".jsx": JavaScript, ".mjs": JavaScript, ".cjs": JavaScript,
	".ts": TypeScript, ".mts": TypeScript, ".cts": TypeScript,
	".tsx":  TSX,
	".java": Java,
	".rs":   Rust,
	".c":    C,
	// .h is C++ when it is, but the C grammar parses the common subset and
	// C++ code including it resolves it either way.
	".h":  C,
	".cc": CPP, ".cpp": CPP, ".cxx": CPP, ".c++": CPP,
	".hh": CPP, ".hpp": CPP, ".hxx": CPP, ".h++": CPP, ".ipp": CPP, ".inl": CPP,
	".cs": CSharp,
}

// LangOf returns the language of a path by its extension, or "" when the
// index does not handle it.
func LangOf(p string) Lang {
	return extLang[strings.ToLower(path.Ext(p))]
}

// family groups languages that import one another (a .ts file may import a
// .js one; a .cc file includes a .h parsed as C).
func (l Lang) family() string {
	switch l {
	case JavaScript, TypeScript, TSX:
		return "js"
	case C, CPP:
		return "c"
	}
	return string(l)
}

// Grammar returns the tree-sitter grammar the index parses l with (nil
// for an unknown language); benchmarks use it to time a plain parse.
func (l Lang) Grammar() *sitter.Language { return l.sitter() }

func (l Lang) sitter() *sitter.Language {
	switch l {
	case Go:
		return golang.GetLanguage()
	case Python:
		return python.GetLanguage()
	case JavaScript:
		return javascript.GetLanguage()
	case TypeScript:
		return typescript.GetLanguage()
	case TSX:
		return tsx.GetLanguage()
	case Java:
		return java.GetLanguage()
	case Rust:
		return rust.GetLanguage()
	case C:
		return c.GetLanguage()
	case CPP:
		return cpp.GetLanguage()
	case CSharp:
		return csharp.GetLanguage()
	}
	return nil
}

// importQuery captures the nodes that name an import. Each capture is
// processed by the language's extractor in extract.go; the capture name says
// which form it is.
var importQuery = map[Lang]string{
	Go: `(import_spec name: (_)? @alias path: (_) @path)`,
	Python: `(import_statement) @import
(import_from_statement) @from`,
	JavaScript: jsImportQuery,
	TypeScript: jsImportQuery + `
(import_require_clause source: (string) @src)`,
	TSX: jsImportQuery + `
(import_require_clause source: (string) @src)`,
	Java:   `(import_declaration) @jimport`,
	Rust:   `(use_declaration argument: (_) @use) (mod_item) @mod (extern_crate_declaration name: (_) @crate)`,
	C:      `(preproc_include path: (_) @include)`,
	CPP:    `(preproc_include path: (_) @include)`,
	CSharp: `(using_directive) @using`,
}

const jsImportQuery = `(import_statement source: (string) @src)
(export_statement source: (string) @src)
(call_expression function: (identifier) @_req arguments: (arguments . (string) @src))
(call_expression function: (import) arguments: (arguments . (string) @src))`

// langInfo is what the extractor needs for one language, built once.
type langInfo struct {
	lang  *sitter.Language
	query *sitter.Query
	err   error // the query did not compile
}

var (
	langMu    sync.Mutex
	langCache = map[Lang]*langInfo{}
)

// info returns the compiled grammar and import query of l. The query is
// shared by all goroutines: a compiled TSQuery is immutable, only cursors
// carry state.
func (l Lang) info() (*langInfo, error) {
	langMu.Lock()
	defer langMu.Unlock()
	if li, ok := langCache[l]; ok {
		return li, li.err
	}
	li := &langInfo{lang: l.sitter()}
	if li.lang == nil {
		li.err = fmt.Errorf("projectgraph: no grammar for language %q", l)
	} else if q, err := sitter.NewQuery([]byte(importQuery[l]), li.lang); err != nil {
		li.err = fmt.Errorf("projectgraph: import query for %s: %w", l, err)
	} else {
		li.query = q
	}
	langCache[l] = li
	return li, li.err
}
