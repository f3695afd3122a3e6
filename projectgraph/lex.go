package projectgraph

import (
	"bytes"
	"unicode"
	"unicode/utf8"
)

// token is one identifier occurrence found by the lexer.
type token struct {
	Name string
	// Qual is the identifier right before a '.' or "::" that precedes Name
	// ("strings" in strings.Index), "" when none.
	Qual string
	Off  int // byte offset of Name
}

// lexIdents calls fn for every identifier in src outside comments and
// string literals. It is a lexer, not a parser: it knows the comment and
// string syntax of the C family, Python and Go (raw strings), which is what
// keeps words in comments out of the identifier set. Unknown constructs
// (Python f-string braces, Rust lifetimes) cost precision, never a panic.
func lexIdents(src []byte, lang Lang, fn func(token)) {
	hash := lang == Python
	slash := lang != Python
	var prev string // last identifier, for qualifiers
	prevEnd := -1   // offset right after prev
	for i := 0; i < len(src); {
		b := src[i]
		switch {
		case b == '\n' || b == ' ' || b == '\t' || b == '\r':
			i++
			continue
		case hash && b == '#':
			for i < len(src) && src[i] != '\n' {
				i++
			}
			continue
		case slash && b == '/' && i+1 < len(src) && src[i+1] == '/':
			for i < len(src) && src[i] != '\n' {
				i++
			}
			continue
		case slash && b == '/' && i+1 < len(src) && src[i+1] == '*':
			j := indexFrom(src, i+2, "*/")
			if j < 0 {
				return
			}
			i = j + 2
			continue
		case b == '"' || b == '`' || (b == '\'' && lang != Rust):
			if lang == Python && i+2 < len(src) && src[i+1] == b && src[i+2] == b {
				j := indexFrom(src, i+3, string([]byte{b, b, b}))
				if j < 0 {
					return
				}
				i = j + 3
				prev = ""
				continue
			}
			i = skipString(src, i, b)
			prev = ""
			continue
		case b == '.' || b == ':':
			i++
			if b == ':' && i < len(src) && src[i] == ':' {
				i++
			}
			continue
		}
		r, size := rune(b), 1
		if b >= utf8.RuneSelf {
			r, size = utf8.DecodeRune(src[i:])
		}
		if r == '_' || r == '$' || unicode.IsLetter(r) {
			start := i
			i += size
			for i < len(src) {
				r, size = rune(src[i]), 1
				if src[i] >= utf8.RuneSelf {
					r, size = utf8.DecodeRune(src[i:])
				}
				if r != '_' && r != '$' && !unicode.IsLetter(r) && !unicode.IsDigit(r) {
					break
				}
				i += size
			}
			name := string(src[start:i])
			qual := ""
			if prev != "" && isQualSep(src[prevEnd:start]) {
				qual = prev
			}
			fn(token{Name: name, Qual: qual, Off: start})
			prev, prevEnd = name, i
			continue
		}
		if unicode.IsDigit(r) {
			// A number; a non-ASCII digit (߂, ٣) is skipped as itself,
			// which also guarantees progress.
			i += size
			for i < len(src) && (src[i] == '.' || src[i] == '_' || isAlnum(src[i])) {
				i++
			}
			prev = ""
			continue
		}
		i += size
		prev = ""
	}
}

// isQualSep reports whether the bytes between two identifiers are a
// member or path separator (". " or "::" with optional spaces).
func isQualSep(b []byte) bool {
	sep := false
	for _, c := range b {
		switch c {
		case '.', ':':
			sep = true
		case ' ', '\t', '\n', '\r':
		default:
			return false
		}
	}
	return sep
}

func isAlnum(b byte) bool {
	return b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z'
}

// skipString returns the offset after the string literal opening at i.
// Newlines end single-quoted strings in every language but Go raw strings
// and JS template literals, so an unterminated quote costs one line.
func skipString(src []byte, i int, q byte) int {
	i++
	for i < len(src) {
		c := src[i]
		switch {
		case c == '\\' && q != '`':
			i += 2
			continue
		case c == q:
			return i + 1
		case c == '\n' && q != '`':
			return i + 1
		}
		i++
	}
	return i
}

// indexFrom is the offset of sub in src at or after from, or -1.
func indexFrom(src []byte, from int, sub string) int {
	if from > len(src) {
		return -1
	}
	if j := bytes.Index(src[from:], []byte(sub)); j >= 0 {
		return from + j
	}
	return -1
}

// maxIdentsPerFile bounds the identifiers kept per file: references serve
// ranking, and a generated table with 50,000 names would only cost memory.
const maxIdentsPerFile = 4096

// distinctIdents returns the distinct non-keyword identifiers of src in
// order of first use.
func distinctIdents(src []byte, lang Lang) []string {
	seen := make(map[string]struct{}, 256)
	var out []string
	lexIdents(src, lang, func(t token) {
		if len(out) >= maxIdentsPerFile || len(t.Name) < 2 || keywords[t.Name] {
			return
		}
		if _, ok := seen[t.Name]; ok {
			return
		}
		seen[t.Name] = struct{}{}
		out = append(out, t.Name)
	})
	return out
}

// keywords are never looked up as identifiers. One set for all languages:
// a word that is a keyword in one language and a name in another (type,
// match) loses a little recall in the latter, which is cheaper than a
// table per language.
var keywords = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range []string{
		// Go
		"break", "case", "chan", "const", "continue", "default", "defer", "else", "fallthrough", "for", "func",
		"go", "goto", "if", "import", "interface", "map", "package", "range", "return", "select", "struct",
		"switch", "type", "var", "nil", "true", "false", "iota",
		// Python
		"and", "as", "assert", "async", "await", "class", "def", "del", "elif", "except", "finally", "from",
		"global", "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "try", "while", "with",
		"yield", "None", "True", "False", "self", "cls",
		// JS/TS
		"let", "new", "this", "typeof", "instanceof", "void", "delete", "do", "export", "extends", "function",
		"null", "undefined", "super", "throw", "catch", "static", "enum", "implements", "private", "public",
		"protected", "readonly", "declare", "namespace", "module", "require", "of",
		// Java / C# / C / C++ / Rust
		"abstract", "boolean", "byte", "char", "double", "final", "float", "int", "long", "native", "short",
		"synchronized", "throws", "transient", "volatile", "auto", "extern", "register", "signed", "sizeof",
		"union", "unsigned", "typedef", "template", "typename", "virtual", "using", "override", "operator",
		"inline", "constexpr", "nullptr", "fn", "mut", "pub", "impl", "trait", "crate", "mod", "use", "where",
		"loop", "match", "move", "ref", "unsafe", "dyn", "Self", "string", "bool", "object", "out", "internal",
		"sealed", "base", "void", "include", "define", "ifdef", "ifndef", "endif", "pragma",
	} {
		m[w] = true
	}
	return m
}()
