package astguard

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	sitter "github.com/smacker/go-tree-sitter"
)

// MaxSourceBytes is the largest source astguard parses. Why 4 MiB: a full
// parse of Go ran at about 2.4 MB/s on a busy 2-core test machine
// (BenchmarkFullParse), so 4 MiB costs under two seconds, the most we accept
// once for opening a file; hand-written sources are far smaller, and larger
// files are almost always generated code or data, where syntax checks help
// nobody.
const MaxSourceBytes = 4 << 20

// ParseTimeout bounds one parse, so that a pathological input can never hang
// the keystroke path: tree-sitter stops and we report an error. Why 10 s:
// about five times the cost of the largest accepted file at the measured
// speed, so it never fires on real code even on a loaded machine.
const ParseTimeout = 10 * time.Second

// binarySniffBytes is how much of a file is checked for NUL bytes to call it
// binary; git uses the same rule and the same length.
const binarySniffBytes = 8000

// ErrTooLarge is returned for sources over MaxSourceBytes.
var ErrTooLarge = errors.New("source too large to parse")

// ErrBinary is returned for sources that look binary (a NUL byte early on).
var ErrBinary = errors.New("source looks binary (NUL byte)")

// checkSource rejects inputs that astguard must not try to parse.
func checkSource(src []byte) error {
	if len(src) > MaxSourceBytes {
		return fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(src), MaxSourceBytes)
	}
	if bytes.IndexByte(src[:min(len(src), binarySniffBytes)], 0) >= 0 {
		return ErrBinary
	}
	return nil
}

// newParser returns a parser for lang with the parse timeout set.
func newParser(lang Language) (*sitter.Parser, error) {
	g, err := lang.grammar()
	if err != nil {
		return nil, err
	}
	p := sitter.NewParser()
	p.SetLanguage(g)
	p.SetOperationLimit(int(ParseTimeout / time.Microsecond))
	return p, nil
}

// parse runs p over src, reusing old when it is not nil (old must have been
// edited to match src). A timeout resets the parser so it stays usable.
func parse(p *sitter.Parser, old *sitter.Tree, src []byte) (*sitter.Tree, error) {
	t, err := p.ParseCtx(context.Background(), old, src)
	if err != nil {
		p.Reset()
		return nil, fmt.Errorf("parse: %w", err)
	}
	return t, nil
}

// Point is a position as tree-sitter counts it: 0-based row and 0-based
// byte column within the row.
type Point = sitter.Point

// pointAt returns the Point of byte offset off in src.
func pointAt(src []byte, off int) Point {
	head := src[:off]
	row := bytes.Count(head, []byte{'\n'})
	col := off - (bytes.LastIndexByte(head, '\n') + 1)
	return Point{Row: uint32(row), Column: uint32(col)}
}

// advance returns the Point reached from p after the text t.
func advance(p Point, t []byte) Point {
	n := bytes.Count(t, []byte{'\n'})
	if n == 0 {
		return Point{Row: p.Row, Column: p.Column + uint32(len(t))}
	}
	return Point{Row: p.Row + uint32(n), Column: uint32(len(t) - (bytes.LastIndexByte(t, '\n') + 1))}
}
