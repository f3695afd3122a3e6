package astguard

import (
	"strings"
	"unicode/utf8"

	sitter "github.com/smacker/go-tree-sitter"
)

// ErrorKind tells an ERROR node (text the grammar could not place) from a
// MISSING node (a token the parser inserted to recover, e.g. a `}`).
type ErrorKind string

const (
	KindError   ErrorKind = "error"
	KindMissing ErrorKind = "missing"
)

// SyntaxError is one ERROR or MISSING node of a parse.
type SyntaxError struct {
	Kind ErrorKind
	// Line and Col are 1-based; Col counts Unicode code points (an invalid
	// UTF-8 byte counts as one), which is what people and most tools mean by
	// "column".
	Line, Col int
	// StartByte and EndByte delimit the node in the source (equal for a
	// MISSING node, which has no text).
	StartByte, EndByte int
	// Text is the offending source for an error (first line, shortened), or
	// the kind of the inserted node for a missing one (e.g. `}`, `;`,
	// `identifier`).
	Text string
}

// maxErrorText bounds SyntaxError.Text in code points: enough to recognise
// the spot, short enough for one line of output.
const maxErrorText = 60

// rawError is an error node found by the walk, before line/col are computed.
type rawError struct {
	kind       ErrorKind
	start, end int
	text       string
}

// collectErrors walks the subtrees of root that contain errors, in source
// order. It does not descend into ERROR nodes: the outermost one already
// names the region, and nested ones would repeat it.
func collectErrors(root *sitter.Node, src []byte, out []rawError) []rawError {
	if root == nil || !root.HasError() {
		return out
	}
	var visit func(n *sitter.Node)
	visit = func(n *sitter.Node) {
		switch {
		case n.IsMissing():
			out = append(out, rawError{kind: KindMissing, start: int(n.StartByte()), end: int(n.StartByte()), text: n.Type()})
		case n.IsError():
			s, e := int(n.StartByte()), int(n.EndByte())
			out = append(out, rawError{kind: KindError, start: s, end: e, text: snippet(src, s, e)})
		case n.HasError():
			before := len(out)
			for i, k := 0, int(n.ChildCount()); i < k; i++ {
				if ch := n.Child(i); ch != nil {
					visit(ch)
				}
			}
			if len(out) == before {
				// The error is in a hidden child, which the node API
				// does not show (C#'s identifier wraps a hidden
				// _identifier_token that can be MISSING): report the
				// visible node as missing.
				out = append(out, rawError{kind: KindMissing, start: int(n.StartByte()), end: int(n.StartByte()), text: n.Type()})
			}
		}
	}
	visit(root)
	return out
}

// snippet returns the first line of src[s:e], trimmed and shortened.
func snippet(src []byte, s, e int) string {
	if s < 0 || e > len(src) || s >= e {
		return ""
	}
	t := strings.TrimSpace(string(src[s:e]))
	if i := strings.IndexByte(t, '\n'); i >= 0 {
		t = strings.TrimSpace(t[:i]) + " …"
	}
	if utf8.RuneCountInString(t) > maxErrorText {
		r := []rune(t)
		t = string(r[:maxErrorText]) + "…"
	}
	return t
}

// locate turns raw errors (in ascending start order) into SyntaxErrors with
// 1-based lines and code point columns, scanning src once.
func locate(src []byte, raw []rawError) []SyntaxError {
	out := make([]SyntaxError, 0, len(raw))
	line, lineStart, pos := 1, 0, 0
	for _, r := range raw {
		if r.start < pos { // not sorted (never expected): rescan from the top
			line, lineStart, pos = 1, 0, 0
		}
		for ; pos < r.start && pos < len(src); pos++ {
			if src[pos] == '\n' {
				line++
				lineStart = pos + 1
			}
		}
		end := min(r.start, len(src))
		out = append(out, SyntaxError{
			Kind: r.kind, Line: line, Col: utf8.RuneCount(src[lineStart:end]) + 1,
			StartByte: r.start, EndByte: r.end, Text: r.text,
		})
	}
	return out
}

// SyntaxErrors parses src as lang and lists its syntax errors in source
// order. It rejects huge or binary input (see MaxSourceBytes, ErrBinary).
func SyntaxErrors(lang Language, src []byte) ([]SyntaxError, error) {
	d, err := NewDocument(lang, src)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	return d.Errors(), nil
}
