package lsp

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode/utf16"
	"unicode/utf8"

	"go.lsp.dev/protocol"
)

func pos(l, c uint32) protocol.Position { return protocol.Position{Line: l, Character: c} }

func TestOffsetTable(t *testing.T) {
	// "a𝄞b" : 𝄞 is U+1D11E, 4 bytes in UTF-8, 2 UTF-16 units, 1 code point.
	text := NewText("a𝄞b\r\nxé\ry\nlast")
	tests := []struct {
		p    protocol.Position
		enc  PositionEncoding
		want int
		err  bool
	}{
		{pos(0, 0), UTF16, 0, false},
		{pos(0, 1), UTF16, 1, false},
		{pos(0, 2), UTF16, 0, true}, // between the surrogates
		{pos(0, 3), UTF16, 5, false},
		{pos(0, 4), UTF16, 6, false},  // end of line 0, before "\r\n"
		{pos(0, 99), UTF16, 6, false}, // clamped to the line end, never into "\r\n"
		{pos(0, 2), UTF32, 5, false},
		{pos(0, 3), UTF32, 6, false},
		{pos(0, 5), UTF8, 5, false},
		{pos(0, 2), UTF8, 0, true}, // inside the 4-byte sequence
		{pos(1, 0), UTF16, 8, false},
		{pos(1, 2), UTF16, 11, false}, // after "xé" (é is 2 bytes)
		{pos(1, 3), UTF8, 11, false},
		{pos(2, 0), UTF16, 12, false}, // lone "\r" ended line 1
		{pos(2, 1), UTF16, 13, false},
		{pos(3, 4), UTF16, 18, false},
		{pos(4, 0), UTF16, 18, false}, // one past the last line, character 0: end of text
		{pos(4, 1), UTF16, 0, true},
		{pos(5, 0), UTF16, 0, true},
	}
	for _, tt := range tests {
		got, err := text.Offset(tt.p, tt.enc)
		if tt.err {
			if !errors.Is(err, ErrPosition) {
				t.Errorf("Offset(%v, %s) = %d, %v; want ErrPosition", tt.p, tt.enc, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("Offset(%v, %s) = %d, %v; want %d", tt.p, tt.enc, got, err, tt.want)
		}
	}
}

func TestApplyIncremental(t *testing.T) {
	text := NewText("hello\r\nwörld 😀!\r\n")
	steps := []struct {
		r    *protocol.Range
		new  string
		want string
	}{
		// replace "😀" (UTF-16 columns 6..8 of line 1) with "🚀🚀"
		{&protocol.Range{Start: pos(1, 6), End: pos(1, 8)}, "🚀🚀", "hello\r\nwörld 🚀🚀!\r\n"},
		// insert after "!" (col 11)
		{&protocol.Range{Start: pos(1, 11), End: pos(1, 11)}, "?", "hello\r\nwörld 🚀🚀!?\r\n"},
		// join lines 0 and 1: delete "\r\n" by the range end-of-line-0 .. start-of-line-1
		{&protocol.Range{Start: pos(0, 5), End: pos(1, 0)}, " ", "hello wörld 🚀🚀!?\r\n"},
		// type at the end of the document (line 1, char 0)
		{&protocol.Range{Start: pos(1, 0), End: pos(1, 0)}, "x", "hello wörld 🚀🚀!?\r\nx"},
		// full replacement
		{nil, "new\n", "new\n"},
	}
	for i, st := range steps {
		next, e, err := text.Apply(st.r, st.new, UTF16)
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if next.String() != st.want {
			t.Fatalf("step %d: got %q want %q", i, next.String(), st.want)
		}
		// The Edit must reproduce the change on the old bytes.
		if got := text.String()[:e.StartByte] + e.NewText + text.String()[e.OldEndByte:]; got != st.want {
			t.Fatalf("step %d: edit %+v reproduces %q", i, e, got)
		}
		text = next
	}
	if _, _, err := text.Apply(&protocol.Range{Start: pos(0, 1), End: pos(0, 0)}, "", UTF16); !errors.Is(err, ErrPosition) {
		t.Errorf("reversed range: err = %v", err)
	}
	if _, _, err := text.Apply(&protocol.Range{Start: pos(7, 0), End: pos(7, 0)}, "", UTF16); !errors.Is(err, ErrPosition) {
		t.Errorf("range past the end: err = %v", err)
	}
}

func TestCheckContent(t *testing.T) {
	if err := checkContent(strings.Repeat("a", MaxDocumentBytes+1)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("oversized: %v", err)
	}
	if err := checkContent("PNG\x00\x01"); !errors.Is(err, ErrBinary) {
		t.Errorf("binary: %v", err)
	}
	if err := checkContent("ok\n"); err != nil {
		t.Errorf("text: %v", err)
	}
}

// refLines splits s into LSP lines (content only) the slow, obvious way.
func refLines(s string) []string {
	var lines []string
	cur := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' || s[i] == '\r' {
			lines = append(lines, s[cur:i])
			if s[i] == '\r' && i+1 < len(s) && s[i+1] == '\n' {
				i++
			}
			cur = i + 1
		}
	}
	return append(lines, s[cur:])
}

// refUnits returns, for each code point boundary of line, its unit count in enc
// (slow reference using unicode/utf16).
func refUnits(line string, enc PositionEncoding) map[int]int {
	m := map[int]int{0: 0}
	units := 0
	for i, r := range line { // line is valid UTF-8
		switch enc {
		case UTF8:
			units += utf8.RuneLen(r)
		case UTF16:
			units += len(utf16.Encode([]rune{r}))
		case UTF32:
			units++
		}
		_, size := utf8.DecodeRuneInString(line[i:])
		m[i+size] = units
	}
	return m
}

// FuzzPositions checks Offset and Position against a slow reference on
// arbitrary text: every code point boundary of every line round-trips in
// every encoding, and positions past the end of a line clamp to it.
func FuzzPositions(f *testing.F) {
	f.Add("a𝄞b\r\nxé\ry\nlast", uint16(3))
	f.Add("\r\r\n\n", uint16(1))
	f.Add("😀😀\r\n", uint16(2))
	f.Add("", uint16(0))
	f.Fuzz(func(t *testing.T, s string, extra uint16) {
		if !utf8.ValidString(s) { // documents arrive as JSON strings: always valid UTF-8
			s = strings.ToValidUTF8(s, "\uFFFD")
		}
		text := NewText(s)
		lines := refLines(s)
		if text.LineCount() != len(lines) {
			t.Fatalf("LineCount = %d, reference %d for %q", text.LineCount(), len(lines), s)
		}
		for _, enc := range []PositionEncoding{UTF8, UTF16, UTF32} {
			for li, line := range lines {
				start := text.lines[li]
				var lineUnits int
				for b, u := range refUnits(line, enc) {
					off, err := text.Offset(pos(uint32(li), uint32(u)), enc)
					if err != nil || off != start+b {
						t.Fatalf("%s Offset(%d,%d) = %d, %v; want %d (text %q)", enc, li, u, off, err, start+b, s)
					}
					if p := text.Position(off, enc); p != pos(uint32(li), uint32(u)) {
						t.Fatalf("%s Position(%d) = %v; want %d:%d (text %q)", enc, off, p, li, u, s)
					}
					lineUnits = max(lineUnits, u)
				}
				off, err := text.Offset(pos(uint32(li), uint32(lineUnits)+uint32(extra)), enc)
				if err != nil || off != start+len(line) {
					t.Fatalf("%s clamp: Offset(%d,%d+%d) = %d, %v; want %d", enc, li, lineUnits, extra, off, err, start+len(line))
				}
			}
			if _, err := text.Offset(pos(uint32(len(lines))+1+uint32(extra), 0), enc); !errors.Is(err, ErrPosition) {
				t.Fatalf("line past the end accepted")
			}
		}
		// Any edit: the incrementally updated line index equals a fresh one.
		for k, repl := range []string{"", "\r", "\n", "\r\n", "😀x", "a\rb\nc"} {
			i := (int(extra) * (k + 3)) % (len(s) + 1)
			j := (int(extra)*7 + k) % (len(s) + 1)
			i, j = min(i, j), max(i, j)
			for i > 0 && i < len(s) && !utf8.RuneStart(s[i]) {
				i--
			}
			for j > 0 && j < len(s) && !utf8.RuneStart(s[j]) {
				j--
			}
			// An offset between '\r' and '\n' has no position: use the
			// line end.
			r := &protocol.Range{Start: text.Position(i, UTF32), End: text.Position(j, UTF32)}
			i, _ = text.Offset(r.Start, UTF32)
			j, _ = text.Offset(r.End, UTF32)
			next, e, err := text.Apply(r, repl, UTF32)
			if err != nil {
				t.Fatalf("Apply %v: %v", r, err)
			}
			want := s[:i] + repl + s[j:]
			if next.String() != want || e.StartByte != i || e.OldEndByte != j {
				t.Fatalf("Apply [%d,%d) %q on %q = %q, want %q", i, j, repl, s, next.String(), want)
			}
			if fresh := NewText(want); fmt.Sprint(next.lines) != fmt.Sprint(fresh.lines) {
				t.Fatalf("Apply [%d,%d) %q on %q: line index %v, fresh %v", i, j, repl, s, next.lines, fresh.lines)
			}
		}
		// Replacing a range of the document and its reference splice agree.
		if len(lines) > 0 {
			li := int(extra) % len(lines)
			end := text.lines[li] + len(lines[li])
			next, e, err := text.Apply(&protocol.Range{Start: pos(0, 0), End: text.Position(end, UTF16)}, "Z", UTF16)
			if err != nil {
				t.Fatal(err)
			}
			if want := "Z" + s[end:]; next.String() != want || e.OldEndByte != end {
				t.Fatalf("Apply = %q (edit %+v), want %q", next.String(), e, want)
			}
			if fmt.Sprint(refLines(next.String())) != fmt.Sprint(refLines("Z"+s[end:])) {
				t.Fatal("lines")
			}
		}
	})
}
