package astguard

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

type errCase struct {
	lang Language
	src  string
	want []SyntaxError // Kind, Line, Col and Text are compared
}

var errCases = []errCase{
	{Go, "package a\n\nfunc f() {\n\tx := (1 + 2\n}\n", []SyntaxError{{Kind: KindMissing, Line: 4, Col: 13, Text: ")"}}},
	// Columns count code points: the error "2" stands at code point 12 of
	// its line (a tab counts one), byte 16.
	{Go, "package a\n\nfunc f() {\n\tg(\"日本\", 1 2)\n}\n", []SyntaxError{{Kind: KindError, Line: 4, Col: 12, Text: "2"}}},
	{Python, "def f(:\n    pass\n", []SyntaxError{{Kind: KindMissing, Line: 1, Col: 7, Text: ")"}}},
	{Python, "x = [1, 2\n", []SyntaxError{{Kind: KindError, Line: 1, Col: 1, Text: "x = [1, 2"}}},
	{JavaScript, "const é = 1;\nlet x = é +;\n", []SyntaxError{{Kind: KindError, Line: 2, Col: 11, Text: "+"}}},
	{TypeScript, "let x: number = ;\n", []SyntaxError{{Kind: KindError, Line: 1, Col: 15, Text: "="}}},
	{TSX, "const e = <div>{x</div>;\n", []SyntaxError{{Kind: KindError, Line: 1, Col: 1, Text: "const e = <div>{x</div>;"}}},
	{Java, "class A { void f() { int x = 1 } }\n", []SyntaxError{{Kind: KindMissing, Line: 1, Col: 31, Text: ";"}}},
	{C, "int main(void) {\r\n\treturn 0\r\n}\r\n", []SyntaxError{{Kind: KindMissing, Line: 2, Col: 10, Text: ";"}}},
	{Cpp, "int f() { return 1 }\n", []SyntaxError{{Kind: KindMissing, Line: 1, Col: 19, Text: ";"}}},
	{Rust, "fn f() -> i32 { let x = ; x }\n", []SyntaxError{{Kind: KindError, Line: 1, Col: 23, Text: "="}}},
	// C# hides the MISSING token inside identifier: reported on the node,
	// right after "int".
	{CSharp, "class A { void F() { int = 5; } }\n", []SyntaxError{{Kind: KindMissing, Line: 1, Col: 25, Text: "identifier"}}},
}

func TestSyntaxErrorsTable(t *testing.T) {
	covered := map[Language]bool{}
	for _, tc := range errCases {
		covered[tc.lang] = true
		got, err := SyntaxErrors(tc.lang, []byte(tc.src))
		if err != nil {
			t.Fatal(err)
		}
		opt := cmp.Comparer(func(a, b SyntaxError) bool {
			return a.Kind == b.Kind && a.Line == b.Line && a.Col == b.Col && a.Text == b.Text
		})
		if d := cmp.Diff(tc.want, got, opt); d != "" {
			t.Errorf("%s %q: errors differ (-want +got):\n%s", tc.lang, tc.src, d)
		}
	}
	for _, lang := range Languages() {
		if !covered[lang] {
			t.Errorf("%s: no error case", lang)
		}
	}
}

func TestLanguageResolution(t *testing.T) {
	for id, want := range map[string]Language{"go": Go, "Python": Python, "javascriptreact": JavaScript, "typescriptreact": TSX, "csharp": CSharp, "cpp": Cpp} {
		if got, err := LanguageFromID(id); err != nil || got != want {
			t.Errorf("LanguageFromID(%q) = %v, %v; want %v", id, got, err, want)
		}
	}
	for path, want := range map[string]Language{"a/b.go": Go, "x.PY": Python, "c.tsx": TSX, "d.hpp": Cpp, "e.h": C, "f.rs": Rust, "g.cs": CSharp, "h.mjs": JavaScript} {
		if got, err := LanguageFromPath(path); err != nil || got != want {
			t.Errorf("LanguageFromPath(%q) = %v, %v; want %v", path, got, err, want)
		}
	}
	if got, err := Resolve("plaintext", "main.rs"); err != nil || got != Rust {
		t.Errorf("Resolve falls back to the extension: got %v, %v", got, err)
	}
	if _, err := Resolve("cobol", "x.cbl"); err == nil {
		t.Error("Resolve accepted an unknown language")
	}
}
