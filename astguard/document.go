package astguard

import (
	"bytes"
	"fmt"

	sitter "github.com/smacker/go-tree-sitter"
)

// Document is the parse tree of one open file, kept current by incremental
// edits: each edit is applied to the old tree (Tree.Edit) and the text is
// reparsed with the old tree, so tree-sitter re-lexes only around the change
// and reuses every untouched subtree. A one-character edit on a 5,000-line
// file costs a fraction of a millisecond this way (BenchmarkDocumentEdit)
// against tens of milliseconds for a full parse.
//
// A Document is not safe for concurrent use.
type Document struct {
	lang   Language
	parser *sitter.Parser
	tree   *sitter.Tree
	src    []byte
}

// NewDocument parses src as lang. The Document keeps its own copy of src.
func NewDocument(lang Language, src []byte) (*Document, error) {
	if err := checkSource(src); err != nil {
		return nil, err
	}
	p, err := newParser(lang)
	if err != nil {
		return nil, err
	}
	buf := append(make([]byte, 0, len(src)+len(src)/8+64), src...)
	return newDocument(lang, p, buf, nil)
}

// newDocument makes a Document of src, which it takes over, with parser
// p: from a copy of tree when tree is already the parse of src, else by
// parsing it.
func newDocument(lang Language, p *sitter.Parser, src []byte, tree *sitter.Tree) (*Document, error) {
	if tree != nil {
		return &Document{lang: lang, parser: p, tree: tree.Copy(), src: src}, nil
	}
	t, err := parse(p, nil, src)
	if err != nil {
		p.Close()
		return nil, fmt.Errorf("%s document: %w", lang, err)
	}
	return &Document{lang: lang, parser: p, tree: t, src: src}, nil
}

// Edit replaces the bytes [StartByte, OldEndByte) of the document with
// NewText. StartPoint and OldEndPoint are the tree-sitter positions (0-based
// row, 0-based byte column) of StartByte and OldEndByte; callers that track
// lines (an LSP server does) pass them to save a scan, others use Replace.
type Edit struct {
	StartByte, OldEndByte   int
	StartPoint, OldEndPoint Point
	NewText                 []byte
}

// Language returns the document's language.
func (d *Document) Language() Language { return d.lang }

// Source returns the current text. It is the Document's own buffer: read it,
// never change it, and do not keep it across edits.
func (d *Document) Source() []byte { return d.src }

// Tree returns the current syntax tree (owned by the Document; valid until the
// next edit).
func (d *Document) Tree() *sitter.Tree { return d.tree }

// Replace replaces the bytes [start, end) with text, computing the points.
func (d *Document) Replace(start, end int, text []byte) error {
	if start < 0 || end < start || end > len(d.src) {
		return fmt.Errorf("edit [%d,%d) outside document of %d bytes", start, end, len(d.src))
	}
	sp := pointAt(d.src, start)
	ep := advance(sp, d.src[start:end])
	return d.Apply(Edit{StartByte: start, OldEndByte: end, StartPoint: sp, OldEndPoint: ep, NewText: text})
}

// Apply applies one edit and reparses incrementally. On error (bad range,
// result too large, parse timeout) the document is left unchanged.
func (d *Document) Apply(e Edit) error {
	if e.StartByte < 0 || e.OldEndByte < e.StartByte || e.OldEndByte > len(d.src) {
		return fmt.Errorf("edit [%d,%d) outside document of %d bytes", e.StartByte, e.OldEndByte, len(d.src))
	}
	// The column of a point can be checked cheaply against the bytes; a
	// wrong row cannot, and would only skew positions inside the tree.
	if !columnConsistent(d.src, e.StartByte, e.StartPoint) || !columnConsistent(d.src, e.OldEndByte, e.OldEndPoint) {
		return fmt.Errorf("edit points %v/%v do not match byte offsets %d/%d", e.StartPoint, e.OldEndPoint, e.StartByte, e.OldEndByte)
	}
	newLen := len(d.src) - (e.OldEndByte - e.StartByte) + len(e.NewText)
	if newLen > MaxSourceBytes {
		return fmt.Errorf("%w: edit would make %d bytes, limit %d", ErrTooLarge, newLen, MaxSourceBytes)
	}
	newSrc := splice(d.src, e.StartByte, e.OldEndByte, e.NewText)
	old := d.tree.Copy() // the edit must not touch d.tree if the parse fails
	editTree(old, sitter.EditInput{
		StartIndex: uint32(e.StartByte), OldEndIndex: uint32(e.OldEndByte), NewEndIndex: uint32(e.StartByte + len(e.NewText)),
		StartPoint: e.StartPoint, OldEndPoint: e.OldEndPoint, NewEndPoint: advance(e.StartPoint, e.NewText),
	})
	t, err := parse(d.parser, old, newSrc)
	old.Close()
	if err != nil {
		return fmt.Errorf("%s document: %w", d.lang, err)
	}
	d.tree.Close()
	d.tree, d.src = t, newSrc
	return nil
}

// columnConsistent reports whether p.Column is the byte column of off.
func columnConsistent(src []byte, off int, p Point) bool {
	c := int(p.Column)
	if c > off || bytes.IndexByte(src[off-c:off], '\n') >= 0 {
		return false // the line would start before a line break
	}
	return off-c == 0 || src[off-c-1] == '\n'
}

// splice returns src with [start, end) replaced by text, in a new buffer
// (the old one may still be referenced by a caller of Source).
func splice(src []byte, start, end int, text []byte) []byte {
	n := len(src) - (end - start) + len(text)
	out := make([]byte, 0, n+n/8+64)
	out = append(out, src[:start]...)
	out = append(out, text...)
	return append(out, src[end:]...)
}

// Errors lists the document's syntax errors in source order.
func (d *Document) Errors() []SyntaxError {
	return locate(d.src, collectErrors(d.tree.RootNode(), d.src, nil))
}

// HasErrors reports whether the tree has any ERROR or MISSING node.
func (d *Document) HasErrors() bool { return d.tree.RootNode().HasError() }

// Close frees the parser and tree now instead of at garbage collection.
func (d *Document) Close() {
	if d.tree != nil {
		d.tree.Close()
		d.tree = nil
	}
	if d.parser != nil {
		d.parser.Close()
		d.parser = nil
	}
}
