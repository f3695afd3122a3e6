package projectgraph

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func writeFiles(t testing.TB, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for p, c := range files {
		full := filepath.Join(root, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// shapeRepo is a module whose field and method names recur across
// packages, so that only the type of a value says which one a selector
// names.
var shapeRepo = map[string]string{
	"go.mod": "module ex.com/m\n",
	"shape/shape.go": `package shape

// Config says how to draw.
type Config struct {
	// Name labels the drawing.
	Name   string
	Size   int
	hidden bool
	Style
}

// Style is embedded in Config.
type Style struct {
	Color string
}

// Drawer draws.
type Drawer interface {
	Draw(x, y int) error
}

// New returns a default Config.
func New() *Config { return &Config{} }
`,
	"shape/methods.go": `package shape

// Scale returns a copy of c scaled by f.
func (c *Config) Scale(f int) *Config { return c }

func (c *Config) secret() {}
`,
	"shape/shape_test.go": `package shape

func (c *Config) Probe() int { return 0 }
`,
	"other/other.go": `package other

type Box struct {
	Name  string
	Size  int
	Color string
}

func (b *Box) Scale(f int) *Box { return b }

type Pen interface {
	Draw(x, y int) error
}
`,
	"other/more.go": `package other

type Crate struct {
	Size int
}
`,
	"app/app.go": `package app

import "ex.com/m/shape"

func run(c *shape.Config, d shape.Drawer) {
	n := c.Name
	_ = n

	_ = d
}

func build() {
	x := shape.New()
	_ = x.Name

}

func paint(c *shape.Config) {
	_ = c.Style

}

func lit() {
	_ = shape.Config{
		Name: "a",

	}
}

func probe(c *shape.Config) {
	_ = c.Probe()

}
`,
}

func TestGoMembersIndexed(t *testing.T) {
	root := writeFiles(t, shapeRepo)
	ix, err := Open(context.Background(), root, Options{NoCache: true})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path, kind, container, sig, doc string
	}{
		{"Name", "shape/shape.go", "field", "Config", "Name string", "// Name labels the drawing."},
		{"hidden", "shape/shape.go", "field", "Config", "hidden bool", ""},
		{"Style", "shape/shape.go", "field", "Config", "Style", ""}, // embedded
		{"Draw", "shape/shape.go", "method", "Drawer", "Draw(x, y int) error", ""},
		{"Scale", "shape/methods.go", "method", "Config", "func (c *Config) Scale(f int) *Config", "// Scale returns a copy of c scaled by f."},
	}
	for _, tt := range tests {
		t.Run(tt.container+"."+tt.name, func(t *testing.T) {
			for _, d := range ix.Definitions(tt.name) {
				if d.Path == tt.path && d.Container == tt.container {
					if d.Kind != tt.kind || d.Signature != tt.sig || d.Doc != tt.doc {
						t.Errorf("got kind %q sig %q doc %q", d.Kind, d.Signature, d.Doc)
					}
					return
				}
			}
			t.Errorf("no definition of %s in %s (container %s): %+v", tt.name, tt.path, tt.container, ix.Definitions(tt.name))
		})
	}
}

// A selector on a value reaches the member of the value's type, not the
// same-named members of other types; the cursor's composite literal, the
// callee's result type and embedded fields are followed.
func TestContextTypeDirected(t *testing.T) {
	root := writeFiles(t, shapeRepo)
	ix, err := Open(context.Background(), root, Options{NoCache: true})
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile(filepath.Join(root, "app/app.go"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(src), "\n")
	lineOf := func(prefix string, after int) int {
		for i := after; i < len(lines); i++ {
			if strings.HasPrefix(lines[i], prefix) {
				return i + 1
			}
		}
		t.Fatalf("no line %q", prefix)
		return 0
	}
	tests := []struct {
		name      string
		line      int
		want      []string // "path:line" shown
		notWanted []string
	}{
		{"params", lineOf("\t_ = n", 0) + 1,
			[]string{"shape/shape.go:6", "shape/shape.go:7", "shape/shape.go:19", "shape/methods.go:4"},
			[]string{"shape/shape.go:8", "shape/methods.go:6", "other/other.go:5", "other/more.go:4"}},
		{"callee result", lineOf("\t_ = x.Name", 0) + 1,
			[]string{"shape/shape.go:7", "shape/methods.go:4"},
			[]string{"other/other.go:5"}},
		{"embedded", lineOf("\t_ = c.Style", 0) + 1,
			[]string{"shape/shape.go:9", "shape/shape.go:14"},
			[]string{"other/other.go:6"}},
		{"composite literal", lineOf("\t\tName: \"a\",", 0) + 1,
			[]string{"shape/shape.go:7"},
			[]string{"other/other.go:5", "other/more.go:4"}},
		// Test files are invisible to the others.
		{"test files", lineOf("\t_ = c.Probe()", 0) + 1,
			[]string{"shape/shape.go:7"},
			[]string{"shape/shape_test.go:3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := ix.Context(Request{Path: "app/app.go", Line: tt.line, Col: 2, Budget: 400})
			if err != nil {
				t.Fatal(err)
			}
			if res.Tokens > 400 {
				t.Errorf("tokens %d over the budget", res.Tokens)
			}
			shown := func(loc string) bool {
				i := strings.LastIndexByte(loc, ':')
				var l int
				for _, c := range loc[i+1:] {
					l = l*10 + int(c-'0')
				}
				for _, s := range res.Spans {
					if s.Path == loc[:i] && s.Start <= l && l <= s.End {
						return true
					}
				}
				return false
			}
			var texts []string
			for _, b := range res.Blocks {
				texts = append(texts, b.Path+" ("+b.Reason+")\n"+b.Text)
			}
			for _, b := range res.Blocks {
				// Config's unexported field is out of reach: the card
				// says it leaves something out.
				if strings.HasPrefix(b.Text, "type Config struct {") && !strings.Contains(b.Text, "\t// …\n}") {
					t.Errorf("Config card does not mark what it leaves out:\n%s", b.Text)
				}
			}
			for _, w := range tt.want {
				if !shown(w) {
					t.Errorf("%s not shown; blocks:\n%s", w, strings.Join(texts, "\n---\n"))
				}
			}
			for _, w := range tt.notWanted {
				if shown(w) {
					t.Errorf("%s shown; blocks:\n%s", w, strings.Join(texts, "\n---\n"))
				}
			}
		})
	}
}

// An edit inside one function body yields, without a parse, the facts a
// parse of the edited buffer yields; an edit that touches declarations
// is left to the parser.
func TestPatchedFileMatchesParse(t *testing.T) {
	const base = `package p

import "fmt"

// A is first.
func A() {
	fmt.Println("a")
}

type T struct{ X int }

func (t T) B() int {
	return t.X
}
`
	const pyBase = `import os

class A:
    """An A."""

    def f(self):
        x = 1
        return x

    def g(self):
        return os.sep

def h():
    pass
`
	tests := []struct {
		name, old, new string
		patched        bool
		python         bool
	}{
		{"line removed", "\tfmt.Println(\"a\")\n", "\n", true, false},
		{"lines added", "\treturn t.X\n", "\tx := 1\n\ty := 2\n\treturn t.X + x + y\n", true, false},
		{"unicode typed", "\treturn t.X\n", "\treturn t.X // é\n", true, false},
		{"declaration edited", "type T struct{ X int }", "type T struct{ X, Y int }", false, false},
		{"function added", "\nfunc (t T) B", "\nfunc C() {}\n\nfunc (t T) B", false, false},
		{"brace typed across bodies", "\tfmt.Println(\"a\")\n}\n", "\tfmt.Println(\"a\")\n", false, false},
		{"python method body", "        x = 1\n", "        x = 1\n        y = [x,\n             x]\n", true, true},
		{"python import in body", "        x = 1\n", "        import sys\n        x = 1\n", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, file, lang := base, "p/p.go", Go
			if tt.python {
				b, file, lang = pyBase, "p/p.py", Python
			}
			root := writeFiles(t, map[string]string{"go.mod": "module m\n", file: b})
			ix, err := Open(context.Background(), root, Options{NoCache: true})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(b, tt.old) {
				t.Fatalf("%q not in base", tt.old)
			}
			edited := []byte(strings.Replace(b, tt.old, tt.new, 1))
			got := ix.patchedFile(ix.File(file), edited)
			if (got != nil) != tt.patched {
				t.Fatalf("patched = %v, want %v", got != nil, tt.patched)
			}
			if got == nil {
				return
			}
			x := newExtractor()
			defer x.close()
			fx, err := x.extract(lang, edited)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(fx.Symbols, got.Symbols); diff != "" {
				t.Errorf("symbols (-parsed +patched):\n%s", diff)
			}
			if len(fx.Imports) != len(got.Imports) || fx.Imports[0].Spec != got.Imports[0].Spec || fx.Imports[0].Line != got.Imports[0].Line {
				t.Errorf("imports: parsed %+v, patched %+v", fx.Imports, got.Imports)
			}
		})
	}
}

func TestCachedCounter(t *testing.T) {
	calls := 0
	c := CachedCounter(TokenCounterFunc(func(s string) int { calls++; return len(s) }))
	for _, s := range []string{"abc", "de", "abc", "abc", "de", ""} {
		if got := c.Count(s); got != len(s) {
			t.Errorf("Count(%q) = %d, want %d", s, got, len(s))
		}
	}
	if calls != 3 {
		t.Errorf("wrapped counter called %d times, want 3 (once per distinct text)", calls)
	}
	long := strings.Repeat("x", maxCachedText+1)
	c.Count(long)
	c.Count(long)
	if calls != 5 {
		t.Errorf("long texts: %d calls, want 5 (not remembered)", calls)
	}
	if CachedCounter(c) != c {
		t.Error("wrapping a CachedCounter again should return it")
	}
	// Memory stays bounded by the bytes remembered, not the entries.
	for i := range 3 * maxCountedBytes / maxCachedText {
		c.Count(fmt.Sprintf("%08d", i) + long[:maxCachedText-8])
	}
	if cc := c.(*cachedCounter); cc.bytes > maxCountedBytes {
		t.Errorf("the memo holds %d bytes of text, limit %d", cc.bytes, maxCountedBytes)
	}
}

// A long signature is cut at maxSignature on a character boundary, even
// when the file holds an invalid byte before that point (it used to be
// cut back to just before the byte).
func TestLongSignatureWithInvalidByte(t *testing.T) {
	params := strings.Repeat("argument_name_x, ", 40)
	root := writeFiles(t, map[string]string{
		"m.py": strings.Repeat("# filler comment line\n", 400) + // past the UTF-8 check of the file's start
			"def target(a='\xe9', " + params + "z=1):\n    return a\n",
	})
	ix, err := Open(context.Background(), root, Options{NoCache: true})
	if err != nil {
		t.Fatal(err)
	}
	defs := ix.Definitions("target")
	if len(defs) != 1 {
		t.Fatalf("definitions of target: %+v", defs)
	}
	if sig := defs[0].Signature; len(sig) < maxSignature || !strings.HasSuffix(sig, "…") || !strings.Contains(sig, "argument_name_x") {
		t.Errorf("signature of %d bytes %q: want maxSignature bytes and …", len(sig), sig)
	}
}

// FuzzContextGo feeds arbitrary buffers for a Go file of an indexed
// workspace: the type inference and the patched facts must never panic,
// and the blocks stay within the budget.
func FuzzContextGo(f *testing.F) {
	f.Add([]byte(shapeRepo["app/app.go"]), uint16(6), uint8(2))
	f.Add([]byte(strings.Replace(shapeRepo["app/app.go"], "n := c.Name", "n := c.Name.Size.(*shape.Config).Scale(", 1)), uint16(6), uint8(30))
	f.Add([]byte("package app\nfunc f(x *shape.Config) { for _, y := range x { switch z := y.(type) { case *T: z. } } }"), uint16(2), uint8(70))
	root := writeFiles(f, shapeRepo)
	ix, err := Open(context.Background(), root, Options{NoCache: true})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, src []byte, line uint16, col uint8) {
		const budget = 200
		res, err := ix.Context(Request{Path: "app/app.go", Line: int(line%64) + 1, Col: int(col) + 1, Budget: budget, Source: src})
		if err != nil {
			t.Fatal(err)
		}
		if res.Tokens > budget {
			t.Fatalf("tokens %d over the budget", res.Tokens)
		}
	})
}

// Variables initialised from themselves (mid-edit code, or a cycle across
// two) must not send type inference around the cycle forever: a stack
// overflow is fatal, not a panic, and would take the server down.
func TestContextSelfReferentialVars(t *testing.T) {
	root := writeFiles(t, map[string]string{
		"go.mod": "module ex.com/m\n",
		"a/vars.go": `package a

var self = self()
var ping = pong()
var pong = ping()
`,
		"a/use.go": `package a

func use() {
	_ = self.Name
	_ = ping.Size

}
`,
	})
	ix, err := Open(context.Background(), root, Options{NoCache: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ix.Context(Request{Path: "a/use.go", Line: 6, Col: 2, Budget: 400}); err != nil {
		t.Fatal(err)
	}
}
