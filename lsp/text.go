package lsp

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"go.lsp.dev/protocol"
)

// PositionEncoding is how Position.Character counts: in UTF-8 bytes, UTF-16
// code units (the LSP default) or Unicode code points.
type PositionEncoding string

const (
	UTF8  PositionEncoding = "utf-8"
	UTF16 PositionEncoding = "utf-16"
	UTF32 PositionEncoding = "utf-32"
)

// MaxDocumentBytes: larger documents are not kept (a message tells the
// user). Code completion needs the text near the cursor, and re-splicing a
// bigger buffer on every keystroke would cost milliseconds per change; 5 MB
// is far above hand-written source files and below most generated blobs.
const MaxDocumentBytes = 5 << 20

// ErrPosition marks a position or range that lies outside the document or
// splits a character; requests carrying one get an InvalidParams error.
var ErrPosition = errors.New("position out of range")

// Text is an immutable document text with its line index. Lines end at
// "\n", "\r\n" or a lone "\r", as the LSP specification says.
type Text struct {
	s     string
	lines []int // byte offset of the start of each line; lines[0] == 0
}

// NewText indexes s.
func NewText(s string) *Text {
	lines := make([]int, 1, 1+strings.Count(s, "\n"))
	return &Text{s: s, lines: appendLineStarts(lines, s, 0, len(s)+1)}
}

// appendLineStarts appends to dst, in order, every line start p of s with
// from < p < to: the offsets just after a '\n', or after a '\r' that no
// '\n' follows. It uses strings.IndexByte (vectorised) rather than a byte
// loop: documents are re-indexed on every change.
func appendLineStarts(dst []int, s string, from, to int) []int {
	end := min(to-1, len(s)) // break characters lie in [from, end)
	n0 := len(dst)
	for off := from; off < end; {
		i := strings.IndexByte(s[off:end], '\n')
		if i < 0 {
			break
		}
		off += i + 1
		dst = append(dst, off)
	}
	// A '\r' not followed by '\n' also ends a line (old Mac files, stray
	// characters: rare), merged in.
	lone := false
	for off := from; off < end; {
		i := strings.IndexByte(s[off:end], '\r')
		if i < 0 {
			break
		}
		off += i + 1
		if off == len(s) || s[off] != '\n' {
			dst = append(dst, off)
			lone = true
		}
	}
	if lone {
		slices.Sort(dst[n0:])
	}
	return dst
}

// String returns the text.
func (t *Text) String() string { return t.s }

// Len returns the length in bytes.
func (t *Text) Len() int { return len(t.s) }

// LineCount returns the number of lines (a text ending in a line break has
// an empty last line).
func (t *Text) LineCount() int { return len(t.lines) }

// lineContent returns the byte span of line i without its terminator.
func (t *Text) lineContent(i int) (start, end int) {
	start = t.lines[i]
	if i+1 < len(t.lines) {
		end = t.lines[i+1] - 1 // the '\n' or lone '\r'
		if t.s[end] == '\n' && end > start && t.s[end-1] == '\r' {
			end--
		}
		return start, end
	}
	return start, len(t.s)
}

// Offset converts a position to a byte offset.
//
// Out of range: a line past the end is an error, except (LineCount, 0),
// the end of the text, which clients send for whole-document ranges. A
// character past the end of its line is clamped to the end of the line, as
// the specification asks ("If the character value is greater than the line
// length it defaults back to the line length"). A character that falls
// inside a multi-unit character (between the two halves of a UTF-16
// surrogate pair, inside a UTF-8 sequence) is an error: no edit can start
// there.
func (t *Text) Offset(p protocol.Position, enc PositionEncoding) (int, error) {
	line := int(p.Line)
	if line >= len(t.lines) {
		if line == len(t.lines) && p.Character == 0 {
			return len(t.s), nil
		}
		return 0, fmt.Errorf("%w: line %d, document has %d lines", ErrPosition, p.Line, len(t.lines))
	}
	start, end := t.lineContent(line)
	want := int(p.Character)
	if enc == UTF8 {
		if want >= end-start {
			return end, nil
		}
		off := start + want
		if !utf8.RuneStart(t.s[off]) {
			return 0, fmt.Errorf("%w: line %d character %d is inside a UTF-8 sequence", ErrPosition, p.Line, p.Character)
		}
		return off, nil
	}
	units := 0
	for off := start; off < end; {
		if units == want {
			return off, nil
		}
		r, size := utf8.DecodeRuneInString(t.s[off:end])
		n := 1
		if enc == UTF16 && r >= 0x10000 && r != utf8.RuneError {
			n = 2
		}
		if units+n > want {
			return 0, fmt.Errorf("%w: line %d character %d splits a surrogate pair", ErrPosition, p.Line, p.Character)
		}
		units += n
		off += size
	}
	return end, nil // at or past the end of the line
}

// Position converts a byte offset (clamped to the text) to a position. An
// offset inside a UTF-8 sequence counts from the start of that sequence.
func (t *Text) Position(off int, enc PositionEncoding) protocol.Position {
	off = max(0, min(off, len(t.s)))
	// The last line starting at or before off.
	lo, hi := 0, len(t.lines)-1
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if t.lines[mid] <= off {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	start, end := t.lineContent(lo)
	off = min(off, end) // an offset inside a "\r\n" belongs to the line end
	return protocol.Position{Line: uint32(lo), Character: uint32(columnUnits(t.s[start:off], enc))}
}

// columnUnits counts s in the encoding's units.
func columnUnits(s string, enc PositionEncoding) int {
	switch enc {
	case UTF8:
		return len(s)
	case UTF32:
		return utf8.RuneCountInString(s)
	}
	n := 0
	for _, r := range s {
		if r >= 0x10000 {
			n += 2
		} else {
			n++
		}
	}
	return n
}

// Edit is one applied change in byte terms, in the shape tree-sitter's
// incremental parsing wants: bytes [StartByte, OldEndByte) of the old text
// were replaced by NewText. Points count rows by '\n' only and columns in
// bytes, as tree-sitter does (a lone '\r' is a line break for LSP but not
// for tree-sitter).
type Edit struct {
	StartByte, OldEndByte   int
	StartPoint, OldEndPoint Point
	NewText                 string
}

// Point is a tree-sitter position: 0-based row and byte column.
type Point struct{ Row, Column uint32 }

// pointAt computes the tree-sitter point of off in s.
func pointAt(s string, off int) Point {
	row := strings.Count(s[:off], "\n")
	col := off - (strings.LastIndexByte(s[:off], '\n') + 1)
	return Point{Row: uint32(row), Column: uint32(col)}
}

// Apply returns the text with r replaced by newText; r == nil replaces the
// whole text. The Edit describes the change in bytes.
func (t *Text) Apply(r *protocol.Range, newText string, enc PositionEncoding) (*Text, Edit, error) {
	if r == nil {
		e := Edit{StartByte: 0, OldEndByte: len(t.s), OldEndPoint: pointAt(t.s, len(t.s)), NewText: newText}
		return NewText(newText), e, nil
	}
	start, err := t.Offset(r.Start, enc)
	if err != nil {
		return nil, Edit{}, fmt.Errorf("range start: %w", err)
	}
	end, err := t.Offset(r.End, enc)
	if err != nil {
		return nil, Edit{}, fmt.Errorf("range end: %w", err)
	}
	if end < start {
		return nil, Edit{}, fmt.Errorf("%w: range end %d:%d before start %d:%d", ErrPosition, r.End.Line, r.End.Character, r.Start.Line, r.Start.Character)
	}
	if n := len(t.s) - (end - start) + len(newText); n > MaxDocumentBytes {
		return nil, Edit{}, fmt.Errorf("%w: edit would make %d bytes", ErrTooLarge, n)
	}
	var b strings.Builder
	b.Grow(len(t.s) - (end - start) + len(newText))
	b.WriteString(t.s[:start])
	b.WriteString(newText)
	b.WriteString(t.s[end:])
	e := Edit{StartByte: start, OldEndByte: end, StartPoint: pointAt(t.s, start), OldEndPoint: pointAt(t.s, end), NewText: newText}
	return t.reindex(b.String(), start, end, len(newText)-(end-start)), e, nil
}

// reindex builds the line index of ns, which is t's text with [start, end)
// replaced (changing the length by delta), reusing t's index outside the
// edit: only the lines it touches are scanned, and later line starts are
// shifted. Breaks are decided by at most two bytes ("\r\n"), so the scan
// starts one line before the edit (an inserted '\n' can join a '\r' just
// before it) and stops at the first old line start past the edit, whose
// break bytes are untouched.
func (t *Text) reindex(ns string, start, end, delta int) *Text {
	sl, _ := slices.BinarySearch(t.lines, start+1) // lines[sl-1] <= start < lines[sl]
	a := max(0, sl-2)                              // one line earlier
	k, _ := slices.BinarySearch(t.lines, end+1)    // first start > end
	to := len(ns) + 1
	if k < len(t.lines) {
		to = t.lines[k] + delta
	}
	lines := make([]int, 0, len(t.lines)+strings.Count(ns[t.lines[a]:min(to, len(ns))], "\n"))
	lines = append(lines, t.lines[:a+1]...)
	lines = appendLineStarts(lines, ns, t.lines[a], to)
	for _, l := range t.lines[k:] {
		lines = append(lines, l+delta)
	}
	return &Text{s: ns, lines: lines}
}

// ErrTooLarge: a document over MaxDocumentBytes.
var ErrTooLarge = errors.New("document too large")

// ErrBinary: a document that holds NUL bytes is not text we complete.
var ErrBinary = errors.New("document looks binary (contains NUL bytes)")

// checkContent says whether text can be kept as a document.
func checkContent(s string) error {
	if len(s) > MaxDocumentBytes {
		return fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(s), MaxDocumentBytes)
	}
	// A NUL byte never appears in source code people edit; clients send
	// binary files they open (images, archives) with \u0000 escapes.
	if strings.IndexByte(s, 0) >= 0 {
		return ErrBinary
	}
	return nil
}
