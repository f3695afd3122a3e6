package astguard

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestSamplesParseClean(t *testing.T) {
	for _, lang := range Languages() {
		t.Run(string(lang), func(t *testing.T) {
			errs, err := SyntaxErrors(lang, readSample(t, lang))
			if err != nil {
				t.Fatal(err)
			}
			if len(errs) != 0 {
				t.Errorf("valid sample has errors: %+v", errs)
			}
		})
	}
}

// editStep is one edit in an editing session: replace [start,end) with text,
// where start is found as the byte offset of anchor (plus off) in the text.
type editStep struct {
	anchor string
	off    int
	del    int
	text   string
}

// sessions: for every language, edits that add and remove lines, open and
// close brackets and strings, and type character by character.
var sessions = map[Language][]editStep{
	Go:         {{"m := map", 0, 0, "x := 1\n\t"}, {"return \"empty\"", 0, 0, "if x > 0 {\n\t\t\tx++\n\t\t}\n\t\t"}, {"func describe", 0, 0, "var s = `raw\nline`\n\n"}, {"W, H", 0, 5, "W"}},
	Python:     {{"    def area", 0, 0, "    def perimeter(self):\n        return 2 * (self.w + self.h)\n\n"}, {"out = []", 0, 0, "x = (1,\n"}, {"x = (1,\n", 7, 0, "2)\n    "}, {"class Shape", 0, 5, "class"}},
	JavaScript: {{"const out", 0, 0, "let t = `a ${1 + {"}, {"let t = `a ${1 + {", 18, 0, "}.x} b`;\n  "}, {"area() {", 0, 0, "get w2() { return this.w * 2; }\n\n  "}},
	TypeScript: {{"const p:", 0, 0, "const q: Pair<string> = [\"a\",\n"}, {"const q: Pair<string> = [\"a\",\n", 30, 0, " \"b\"];\n  "}, {"interface Shape", 0, 0, "enum E { A, B }\n"}},
	TSX:        {{"<ul>", 0, 0, "<p>{count}</p>\n      "}, {"const count", 0, 0, "const x = <b>hi</b>;\n  "}},
	Java:       {{"List<String> out", 0, 0, "int k = 0;\n        "}, {"return w * h;", 0, 0, "if (w < 0) {\n"}, {"if (w < 0) {\n", 13, 0, "throw new IllegalStateException(\"neg\");\n            }\n            "}},
	C:          {{"size_t used", 0, 0, "int z = 0;\n\t"}, {"return -1;", 0, 0, "{ "}, {"{ return -1;", 12, 0, " }"}, {"struct rect {", 0, 0, "/* x */\n"}},
	Cpp:        {{"std::string out;", 0, 0, "int k = 0;\n  "}, {"auto twice", 0, 0, "auto s = R\"x(raw)\nstr)x\";\n  "}, {"class Rect", 0, 0, "struct P { int a; };\n\n"}},
	Rust:       {{"let mut out", 0, 0, "let k = 'c';\n    "}, {"match out.len()", 0, 0, "let r = r##\"a \"# b\"##;\n    "}, {"pub struct Rect", 0, 0, "#[derive(Debug)]\n"}},
	CSharp:     {{"var outList", 0, 0, "int k = 0;\n            "}, {"return string.Join", 0, 0, "var v = @\"a\n\"\"b\";\n            "}, {"public class Rect", 0, 0, "public enum E { A, B }\n\n    "}},
}

// checkAgainstFull compares d's incrementally maintained tree with a full
// parse of its text. Where the text is valid the two trees must be identical
// (kinds, byte ranges, points). Where it is not, tree-sitter's error recovery
// depends on the parse history and may place ERROR nodes differently (it
// promises a tree, not a canonical one), so there both must only agree that
// the text has errors.
//
// With strict unset only the leaves (tokens with their ranges and points) must
// agree on valid text: the fuzzer found that grammars with ambiguities (in
// Python, `a %* b.c` is list_splat(b.c) or (list_splat b).c) let an
// incremental parse keep a different, equally valid tree.
func checkAgainstFull(t testing.TB, d *Document, what string, strict bool) {
	t.Helper()
	// Edits are not sniffed for NUL bytes (only opened files are), so the
	// reference parse bypasses NewDocument's input checks.
	p, err := newParser(d.Language())
	if err != nil {
		t.Fatal(err)
	}
	tree, err := parse(p, nil, d.Source())
	if err != nil {
		t.Fatal(err)
	}
	full := &Document{lang: d.Language(), parser: p, tree: tree, src: d.Source()}
	defer full.Close()
	if full.HasErrors() != d.HasErrors() {
		t.Fatalf("%s: incremental HasErrors=%v, full parse %v; text:\n%s", what, d.HasErrors(), full.HasErrors(), d.Source())
	}
	if full.HasErrors() {
		return
	}
	dump := dumpTree
	if !strict {
		dump = dumpLeaves
	}
	if got, want := dump(d.Tree().RootNode()), dump(full.Tree().RootNode()); got != want {
		t.Fatalf("%s: incremental tree differs from full parse: %s", what, firstDiff(got, want))
	}
}

// TestIncrementalEqualsFull applies editing sessions to each sample, one
// character at a time for typed text, and after every edit compares the
// incrementally maintained tree with a full parse of the same text: node
// kinds, byte ranges and row/column points must all agree.
func TestIncrementalEqualsFull(t *testing.T) {
	for _, lang := range Languages() {
		t.Run(string(lang), func(t *testing.T) {
			src := readSample(t, lang)
			d, err := NewDocument(lang, src)
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			steps := sessions[lang]
			if len(steps) == 0 {
				t.Fatal("no editing session for this language")
			}
			for si, st := range steps {
				at := bytes.Index(d.Source(), []byte(st.anchor))
				if at < 0 {
					t.Fatalf("step %d: anchor %q not found", si, st.anchor)
				}
				pos := at + st.off
				if st.del > 0 {
					if err := d.Replace(pos, pos+st.del, nil); err != nil {
						t.Fatal(err)
					}
				}
				for i, r := range st.text { // type it rune by rune
					ch := []byte(string(r))
					if err := d.Replace(pos, pos, ch); err != nil {
						t.Fatal(err)
					}
					pos += len(ch)
					checkAgainstFull(t, d, fmt.Sprintf("step %d char %d", si, i), true)
				}
			}
			// Every session ends in valid code, so the last comparison
			// above was an exact one.
			if d.HasErrors() {
				t.Fatalf("session ends with errors %+v in:\n%s", d.Errors(), d.Source())
			}
		})
	}
}

// TestEditFixesNewEndPoint guards the workaround in treeedit.go: after an
// edit that adds lines, nodes after the edit must have their rows shifted.
func TestEditFixesNewEndPoint(t *testing.T) {
	src := []byte("def f():\n    return 1\n\ndef g():\n    return 2\n")
	d, err := NewDocument(Python, src)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.Replace(0, 0, []byte("import os\nimport sys\n")); err != nil {
		t.Fatal(err)
	}
	root := d.Tree().RootNode()
	last := root.NamedChild(int(root.NamedChildCount()) - 1)
	if got := last.StartPoint().Row; got != 5 {
		t.Fatalf("def g starts at row %d after inserting two lines, want 5", got)
	}
}

func TestDocumentRejectsBadInput(t *testing.T) {
	if _, err := NewDocument("cobol", []byte("x")); err == nil || !strings.Contains(err.Error(), "supported: ") {
		t.Errorf("unknown language: got %v, want error listing supported languages", err)
	}
	if _, err := NewDocument(Go, []byte("package a\x00\x01\x02")); !errors.Is(err, ErrBinary) {
		t.Errorf("binary: got %v, want ErrBinary", err)
	}
	if _, err := NewDocument(Go, make([]byte, MaxSourceBytes+1)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("huge: got %v, want ErrTooLarge", err)
	}
	d, err := NewDocument(Go, []byte("package a\n"))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.Replace(5, 100, nil); err == nil {
		t.Error("out-of-range edit accepted")
	}
	if err := d.Apply(Edit{StartByte: 3, OldEndByte: 3, StartPoint: Point{Row: 0, Column: 1}, OldEndPoint: Point{Row: 0, Column: 1}}); err == nil {
		t.Error("edit with inconsistent points accepted")
	}
	// Column 10 at byte 10 would put the line's start at byte 0, across
	// the line break at byte 9.
	if err := d.Apply(Edit{StartByte: 10, OldEndByte: 10, StartPoint: Point{Row: 1, Column: 10}, OldEndPoint: Point{Row: 1, Column: 10}, NewText: []byte("x")}); err == nil {
		t.Error("edit whose column spans a line break accepted")
	}
	if string(d.Source()) != "package a\n" {
		t.Errorf("rejected edits changed the document: %q", d.Source())
	}
}

// bigGo builds a valid Go file of about n lines by repeating functions.
func bigGo(n int) []byte {
	var b bytes.Buffer
	b.WriteString("package big\n\nimport \"fmt\"\n\n")
	for i := 0; b.Len() < 0 || strings.Count(b.String(), "\n") < n; i++ {
		fmt.Fprintf(&b, "// f%d does a thing.\nfunc f%d(xs []int) (int, error) {\n\ttotal := 0\n\tfor i, x := range xs {\n\t\tif x%%2 == 0 {\n\t\t\ttotal += x * i\n\t\t} else {\n\t\t\ttotal -= %d\n\t\t}\n\t}\n\tif total < 0 {\n\t\treturn 0, fmt.Errorf(\"negative: %%d\", total)\n\t}\n\treturn total, nil\n}\n\n", i, i, i)
	}
	return b.Bytes()
}

// BenchmarkDocumentEdit measures one keystroke on a 5,000-line Go file: a
// one-character insertion in the middle, edited into the tree and reparsed
// incrementally (each iteration types one character and deletes it again,
// so it counts two edits; ns/edit reports one).
func BenchmarkDocumentEdit(b *testing.B) {
	src := bigGo(5000)
	d, err := NewDocument(Go, src)
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	pos := bytes.Index(src, []byte("total -= 156\n")) + len("total -= 15") // middle of the file
	m := startCPU(b)
	for i := 0; i < b.N; i++ {
		if err := d.Replace(pos, pos, []byte("7")); err != nil {
			b.Fatal(err)
		}
		if err := d.Replace(pos, pos+1, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(2*b.N), "ns/edit")
	m.report(2*b.N, "edit")
}

// BenchmarkFullParse is the cost the incremental path avoids: a full parse
// of the same 5,000-line file.
func BenchmarkFullParse(b *testing.B) {
	src := bigGo(5000)
	b.SetBytes(int64(len(src)))
	m := startCPU(b)
	for i := 0; i < b.N; i++ {
		d, err := NewDocument(Go, src)
		if err != nil {
			b.Fatal(err)
		}
		d.Close()
	}
	m.report(b.N, "op")
}

// TestPathologicalInput: deeply nested brackets must parse (with an error)
// in bounded time in every language, never hang or crash.
func TestPathologicalInput(t *testing.T) {
	src := []byte("x = " + strings.Repeat("(", 50000) + strings.Repeat("[{", 10000))
	for _, lang := range Languages() {
		d, err := NewDocument(lang, src)
		if err != nil {
			t.Fatalf("%s: %v", lang, err)
		}
		if len(d.Errors()) == 0 {
			t.Errorf("%s: unbalanced input reported valid", lang)
		}
		d.Close()
		l, _ := NewLexer(lang)
		l.Prime(string(src))
		if l.Depth() != 70000 || l.Allows(")") || !l.Allows("}]") {
			t.Errorf("%s: lexer depth %d after 70,000 openers, or wrong closers allowed", lang, l.Depth())
		}
	}
}
