package projectgraph

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const fixtures = "../testdata/projectgraph"

var (
	openMu     sync.Mutex
	openCached = map[string]*Index{}
)

// openFixture indexes a fixture repository once per test binary (no disk
// cache, so tests never touch the user's cache directory).
func openFixture(t *testing.T, name string) *Index {
	t.Helper()
	openMu.Lock()
	defer openMu.Unlock()
	if ix := openCached[name]; ix != nil {
		return ix
	}
	ix, err := Open(context.Background(), filepath.Join(fixtures, name), Options{NoCache: true})
	if err != nil {
		t.Fatalf("Open(%s): %v", name, err)
	}
	openCached[name] = ix
	return ix
}

func TestImportsResolved(t *testing.T) {
	tests := []struct {
		repo, file string
		want       []string // Index.Imports: files, packages expanded
	}{
		{"gorepo", "main.go", []string{"cart/cart.go", "cart/config.go", "internal/price/price.go"}},
		{"gorepo", "cart/cart.go", []string{"internal/price/price.go"}},
		{"pyrepo", "app/main.py", []string{"app/db.py", "app/models.py", "app/util.py"}},
		{"pyrepo", "scripts/run.py", []string{"app/main.py", "app/models.py"}},
		{"tsrepo", "src/index.ts", []string{"src/lib/greet.ts", "src/math.ts", "src/util/index.ts"}},
		{"tsrepo", "web/app.js", []string{"web/helpers.js"}},
		{"tsrepo", "web/view.jsx", []string{"web/app.js"}},
		{"javarepo", "src/main/java/com/acme/App.java", []string{"src/main/java/com/acme/model/Order.java", "src/main/java/com/acme/util/Strings.java"}},
		{"rustrepo", "src/lib.rs", []string{"src/geometry/mod.rs", "src/util.rs"}},
		{"rustrepo", "src/geometry/mod.rs", []string{"src/geometry/circle.rs"}},
		{"rustrepo", "src/geometry/circle.rs", []string{"src/util.rs"}},
		{"rustrepo", "src/main.rs", []string{"src/util.rs"}},
		{"crepo", "src/main.c", []string{"include/vec.h"}},
		{"crepo", "src/vec.c", []string{"include/vec.h"}},
		{"crepo", "src/shape.cpp", []string{"src/shape.hpp"}},
		{"csrepo", "Services/UserService.cs", []string{"Models/User.cs"}},
	}
	for _, tt := range tests {
		t.Run(tt.repo+"/"+tt.file, func(t *testing.T) {
			ix := openFixture(t, tt.repo)
			if ix.File(tt.file) == nil {
				t.Fatalf("%s not indexed; files: %v", tt.file, ix.Files())
			}
			if diff := cmp.Diff(tt.want, ix.Imports(tt.file)); diff != "" {
				t.Errorf("Imports(%s) (-want +got):\n%s", tt.file, diff)
			}
			// Every import edge has its importer edge.
			for _, dep := range tt.want {
				found := false
				for _, p := range ix.Importers(dep) {
					found = found || p == tt.file
				}
				if !found {
					t.Errorf("Importers(%s) lacks %s: %v", dep, tt.file, ix.Importers(dep))
				}
			}
		})
	}
}

func TestUnresolvedImportsStayUnresolved(t *testing.T) {
	ix := openFixture(t, "gorepo")
	for _, im := range ix.File("main.go").Imports {
		if im.Spec == "fmt" && len(im.Targets) != 0 {
			t.Errorf(`"fmt" resolved to %v inside a workspace without GOROOT`, im.Targets)
		}
	}
	ix = openFixture(t, "tsrepo")
	for _, im := range ix.File("web/app.js").Imports {
		if im.Spec == "lodash" && len(im.Targets) != 0 {
			t.Errorf("lodash resolved to %v", im.Targets)
		}
	}
}

func TestSymbols(t *testing.T) {
	tests := []struct {
		repo, file, name string
		kind, container  string
		sigHas, docHas   string
	}{
		{"gorepo", "cart/cart.go", "Cart", "type", "", "type Cart struct", "holds the items"},
		{"gorepo", "cart/cart.go", "Total", "method", "Cart", "func (c *Cart) Total() price.Cents", "sums the prices"},
		{"gorepo", "internal/price/price.go", "Currency", "const", "", `const Currency = "EUR"`, "ISO code"},
		{"gorepo", "internal/price/price.go", "Format", "function", "", "func Format(c Cents) string", "renders c"},
		{"pyrepo", "app/models.py", "User", "class", "", "class User", "registered user"},
		{"pyrepo", "app/models.py", "display_name", "method", "User", "def display_name(self)", "shown in the UI"},
		{"pyrepo", "app/util.py", "MAX_LEN", "const", "", "MAX_LEN = 40", ""},
		{"pyrepo", "app/util.py", "slugify", "function", "", "def slugify(text)", "URL-safe"},
		{"tsrepo", "src/math.ts", "add", "function", "", "export function add(a: number, b: number): number", "Adds two numbers"},
		{"tsrepo", "src/math.ts", "Point", "interface", "", "export interface Point", ""},
		{"tsrepo", "src/math.ts", "PI", "const", "", "PI = 3.14159", ""},
		{"tsrepo", "src/lib/greet.ts", "Greeter", "class", "", "export class Greeter", ""},
		{"tsrepo", "web/helpers.js", "format", "function", "", "function format(x)", ""},
		{"javarepo", "src/main/java/com/acme/model/Order.java", "describe", "method", "Order", "public String describe()", "for a receipt"},
		{"javarepo", "src/main/java/com/acme/model/Order.java", "MAX_QTY", "const", "Order", "MAX_QTY = 99", ""},
		{"javarepo", "src/main/java/com/acme/model/Order.java", "Order", "class", "", "public class Order", "order of one item"},
		{"rustrepo", "src/geometry/circle.rs", "Circle", "type", "", "pub struct Circle", "circle of a radius"},
		{"rustrepo", "src/geometry/circle.rs", "area", "method", "Circle", "pub fn area(&self) -> f64", "area of the circle"},
		{"rustrepo", "src/util.rs", "Shape", "interface", "", "pub trait Shape", ""},
		{"rustrepo", "src/util.rs", "EPSILON", "const", "", "pub const EPSILON: f64", ""},
		{"crepo", "include/vec.h", "vec_push", "function", "", "int vec_push(vec_t *v, int x);", "appends x"},
		{"crepo", "include/vec.h", "vec_t", "type", "", "typedef struct vec", "growable array"},
		{"crepo", "include/vec.h", "VEC_MIN_CAP", "macro", "", "#define VEC_MIN_CAP 8", ""},
		{"crepo", "src/shape.hpp", "Shape", "class", "geo", "class Shape", "base of all shapes"},
		{"crepo", "src/shape.hpp", "area", "method", "Shape", "virtual double area() const = 0;", "returns the surface"},
		{"crepo", "src/shape.cpp", "area", "method", "Square", "double Square::area() const", ""},
		{"csrepo", "Models/User.cs", "User", "class", "", "public class User", "A user of the system"},
		{"csrepo", "Models/User.cs", "Greeting", "method", "User", "public string Greeting()", ""},
		{"csrepo", "Models/User.cs", "MaxNameLength", "const", "User", "MaxNameLength = 64", ""},
	}
	for _, tt := range tests {
		t.Run(tt.repo+"/"+tt.name, func(t *testing.T) {
			ix := openFixture(t, tt.repo)
			var got *SymbolRef
			for _, d := range ix.Definitions(tt.name) {
				if d.Path == tt.file && d.Container == tt.container {
					got = &d
					break
				}
			}
			if got == nil {
				t.Fatalf("no definition of %s (container %q) in %s; have %+v", tt.name, tt.container, tt.file, ix.Definitions(tt.name))
			}
			if got.Kind != tt.kind {
				t.Errorf("kind = %q, want %q", got.Kind, tt.kind)
			}
			if !strings.Contains(got.Signature, tt.sigHas) {
				t.Errorf("signature %q lacks %q", got.Signature, tt.sigHas)
			}
			if !strings.Contains(got.Doc, tt.docHas) {
				t.Errorf("doc %q lacks %q", got.Doc, tt.docHas)
			}
			if got.Line < 1 || got.EndLine < got.Line || got.Start >= got.End {
				t.Errorf("bad range: %+v", got.Symbol)
			}
		})
	}
}

func TestReferences(t *testing.T) {
	ix := openFixture(t, "gorepo")
	got := ix.References("Format")
	want := []string{"internal/price/price.go", "main.go"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("References(Format) (-want +got):\n%s", diff)
	}
}

// The gorepo fixture holds a .gitignore (build/, *.gen.go), a
// .ghostlineignore (docs/), a generated file, .env and a private key.
func TestScanRules(t *testing.T) {
	ix := openFixture(t, "gorepo")
	want := []string{"cart/cart.go", "cart/cart_test.go", "cart/config.go", "internal/price/price.go", "main.go"}
	if diff := cmp.Diff(want, ix.Files()); diff != "" {
		t.Errorf("indexed files (-want +got):\n%s", diff)
	}
	st := ix.Stats()
	if st.Skipped["secret"] != 2 || st.Skipped["generated"] != 1 {
		t.Errorf("skipped = %v; want 2 secret files (.env, server.key) and 1 generated", st.Skipped)
	}
}

func TestScanLimitsAndLinks(t *testing.T) {
	root := t.TempDir()
	outside := t.TempDir()
	write(t, root, "ok.go", "package x\n\nfunc Ok() {}\n")
	write(t, root, "big.go", "package x\n\n// "+strings.Repeat("a", 2000)+"\nfunc Big() {}\n")
	write(t, root, "bin.c", "int x;\x00\x01\x02")
	write(t, root, "latin1.py", "# caf\xe9\nx = '\xe9\xe8'\n")      // legacy encoding: still source
	write(t, root, "noise.py", strings.Repeat("\xff\xfe\x80", 100)) // no NUL, but not text
	write(t, root, "node_modules/dep/index.js", "export function dep() {}\n")
	write(t, root, ".hidden/h.go", "package h\n")
	write(t, root, "creds/credentials.json", `{"k": 1}`)
	write(t, root, "deny/custom.go", "package deny\n")
	write(t, outside, "secret.go", "package s\n\nfunc Outside() {}\n")
	write(t, root, "real/in.go", "package real\n\nfunc In() {}\n")
	if err := os.Symlink(filepath.Join(outside, "secret.go"), filepath.Join(root, "out_link.go")); err != nil {
		t.Skipf("symlinks unsupported: %v", err)
	}
	if err := os.Symlink(outside, filepath.Join(root, "outdir")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(root, "real", "in.go"), filepath.Join(root, "in_link.go")); err != nil {
		t.Fatal(err)
	}
	ix, err := Open(context.Background(), root, Options{NoCache: true, Config: Config{MaxFileBytes: 1000, DenyGlobs: []string{"deny/*.go"}}})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"in_link.go", "latin1.py", "ok.go", "real/in.go"}
	if diff := cmp.Diff(want, ix.Files()); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	if d := ix.Definitions("Outside"); len(d) != 0 {
		t.Errorf("a symlink to a file outside the root was followed: %v", d)
	}
}

// A workspace larger than MaxFiles is cut off, and says so.
func TestScanMaxFiles(t *testing.T) {
	root := t.TempDir()
	for i := 0; i < 30; i++ {
		write(t, root, fmt.Sprintf("d%d/f%02d.go", i%3, i), "package d\n")
	}
	ix, err := Open(context.Background(), root, Options{NoCache: true, Config: Config{MaxFiles: 10}})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(ix.Files()); n != 10 || ix.Stats().Skipped["limit"] == 0 {
		t.Errorf("%d files indexed, skipped %v; want 10 and the limit reported", n, ix.Stats().Skipped)
	}
}

func TestMaskSecrets(t *testing.T) {
	tests := []struct{ in, want string }{
		{`token := "ghp_0123456789abcdefghijABCDEFGHIJklmnop"`, `token := "[REDACTED]"`},
		{`aws_access_key_id = AKIAIOSFODNN7EXAMPLE`, `aws_access_key_id = [REDACTED]`},
		{`const databasePassword = "hunter2hunter2"`, `const databasePassword = "[REDACTED]"`},
		{`API_KEY: 'a8f9c0d1e2f3a4b5'`, `API_KEY: '[REDACTED]'`},
		{`url = "postgres://admin:s3cr3tpass@db.local/app"`, `url = "postgres://admin:[REDACTED]@db.local/app"`},
		{"-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----", "[REDACTED]"},
		{`Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U`, `Authorization: Bearer [REDACTED]`},
		{`key := "sk-proj-abcdefghijklmnopqrstuvwxyz012345"`, `key := "[REDACTED]"`},
		// Code that only mentions secrets is left alone.
		{`password := opts.Password()`, `password := opts.Password()`},
		{`token = getToken(ctx)`, `token = getToken(ctx)`},
		{`secret = otherSecret`, `secret = otherSecret`},
		{`func (t *Token) String() string`, `func (t *Token) String() string`},
	}
	for _, tt := range tests {
		if got := MaskSecrets(tt.in); got != tt.want {
			t.Errorf("MaskSecrets(%q)\n got %q\nwant %q", tt.in, got, tt.want)
		}
	}
}

func TestIsSecretFile(t *testing.T) {
	for _, p := range []string{".env", "app/.env.local", "certs/server.pem", "id_rsa", "id_ed25519.pub", "home/.ssh/config",
		".npmrc", "deploy/credentials.json", "tls.key", ".git-credentials", "infra/prod.tfvars"} {
		if !isSecretFile(p, defaultSecretGlobs) {
			t.Errorf("%s not treated as secret", p)
		}
	}
	for _, p := range []string{"main.go", "env.go", "keyboard.py", "src/environment.ts", "token.go", "secret_santa.md"} {
		if isSecretFile(p, defaultSecretGlobs) {
			t.Errorf("%s treated as secret", p)
		}
	}
}

func TestGraph(t *testing.T) {
	ix := openFixture(t, "gorepo")
	g, err := ix.Graph()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.Edge("main.go", PkgPrefix+"cart"); err != nil {
		t.Errorf("no main.go → pkg:cart edge: %v", err)
	}
	if _, err := g.Edge(PkgPrefix+"cart", "cart/cart.go"); err != nil {
		t.Errorf("no pkg:cart → cart/cart.go membership edge: %v", err)
	}
	if got := ix.Stats().Edges; got != 4 {
		// main → cart.go, config.go (not cart_test.go), price.go; cart.go → price.go
		t.Errorf("Edges = %d, want 4", got)
	}
	if got := ix.SamePackage("cart/cart.go"); !cmp.Equal(got, []string{"cart/cart_test.go", "cart/config.go"}) {
		t.Errorf("SamePackage = %v", got)
	}
}

func TestContextFindsDefinitions(t *testing.T) {
	tests := []struct {
		repo, file string
		line, col  int
		wantPath   string
		wantText   string
	}{
		{"gorepo", "main.go", 13, 2, "internal/price/price.go", "func Format(c Cents) string"},
		{"gorepo", "main.go", 13, 2, "cart/cart.go", "func (c *Cart) Total() price.Cents"},
		{"gorepo", "cart/cart.go", 17, 1, "internal/price/price.go", "type Cents int64"},
		{"pyrepo", "app/main.py", 10, 5, "app/util.py", "def slugify(text)"},
		{"pyrepo", "app/main.py", 10, 5, "app/models.py", "class User"},
		{"tsrepo", "src/index.ts", 7, 1, "src/math.ts", "export function add(a: number, b: number): number"},
		{"tsrepo", "src/index.ts", 7, 1, "src/lib/greet.ts", "greet(name: string): string"},
		{"tsrepo", "web/app.js", 5, 3, "web/helpers.js", "function format(x)"},
		{"javarepo", "src/main/java/com/acme/App.java", 11, 9, "src/main/java/com/acme/model/Order.java", "public String describe()"},
		{"javarepo", "src/main/java/com/acme/App.java", 11, 9, "src/main/java/com/acme/util/Strings.java", "public static String pad(String s, int n)"},
		{"rustrepo", "src/lib.rs", 10, 5, "src/util.rs", "pub fn clamp(v: f64, lo: f64, hi: f64) -> f64"},
		{"rustrepo", "src/lib.rs", 10, 5, "src/geometry/circle.rs", "pub fn area(&self) -> f64"},
		{"crepo", "src/main.c", 6, 5, "include/vec.h", "int vec_push(vec_t *v, int x);"},
		{"crepo", "src/shape.cpp", 5, 1, "src/shape.hpp", "class Square"},
		{"csrepo", "Services/UserService.cs", 10, 9, "Models/User.cs", "public class User"},
	}
	for _, tt := range tests {
		t.Run(tt.repo+"/"+tt.file+"/"+tt.wantText, func(t *testing.T) {
			ix := openFixture(t, tt.repo)
			res, err := ix.Context(Request{Path: filepath.Join(ix.Root(), tt.file), Line: tt.line, Col: tt.col, Budget: 400})
			if err != nil {
				t.Fatal(err)
			}
			for _, b := range res.Blocks {
				if b.Path == tt.wantPath && strings.Contains(b.Text, tt.wantText) {
					return
				}
			}
			t.Errorf("no block from %s containing %q; blocks:\n%s", tt.wantPath, tt.wantText, dumpBlocks(res.Blocks))
		})
	}
}

// An identifier qualified by an import's name is looked up in that
// import only: main.go's money.Format is price.Format, not another Format.
func TestContextQualifiedIdentifierPicksImportedPackage(t *testing.T) {
	root := t.TempDir()
	write(t, root, "go.mod", "module m\n")
	write(t, root, "a/a.go", "package a\n\n// Format from a.\nfunc Format() string { return \"a\" }\n")
	write(t, root, "b/b.go", "package b\n\n// Format from b.\nfunc Format() string { return \"b\" }\n")
	write(t, root, "main.go", "package main\n\nimport \"m/b\"\n\nfunc main() {\n\tprintln(b.Format())\n}\n")
	ix, err := Open(context.Background(), root, Options{NoCache: true})
	if err != nil {
		t.Fatal(err)
	}
	res, err := ix.Context(Request{Path: "main.go", Line: 6, Col: 2, Budget: 30})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Blocks) == 0 || res.Blocks[0].Path != "b/b.go" {
		t.Fatalf("first block should be b.Format; got:\n%s", dumpBlocks(res.Blocks))
	}
	for _, b := range res.Blocks {
		if b.Path == "a/a.go" && strings.Contains(b.Reason, "definition") {
			t.Errorf("a.Format offered for b.Format:\n%s", dumpBlocks(res.Blocks))
		}
	}
}

func TestContextBudget(t *testing.T) {
	ix := openFixture(t, "gorepo")
	counter := ApproxCounter{}
	prev := -1
	for _, budget := range []int{0, 5, 20, 60, 200, 2000} {
		res, err := ix.Context(Request{Path: "main.go", Line: 13, Col: 1, Budget: budget})
		if err != nil {
			t.Fatal(err)
		}
		sum := 0
		seen := map[string]bool{}
		for _, b := range res.Blocks {
			sum += counter.Count(b.Text)
			key := b.Path + "\x00" + b.Text
			if seen[key] {
				t.Errorf("budget %d: duplicate block %s", budget, b.Path)
			}
			seen[key] = true
		}
		if sum != res.Tokens {
			t.Errorf("budget %d: Tokens = %d, blocks count %d", budget, res.Tokens, sum)
		}
		if res.Tokens > budget {
			t.Errorf("budget %d exceeded: %d", budget, res.Tokens)
		}
		if res.Tokens < prev {
			t.Errorf("budget %d packed less (%d) than a smaller budget (%d)", budget, res.Tokens, prev)
		}
		prev = res.Tokens
	}
}

// Secrets in an indexed source file are masked in every block.
func TestContextMasksSecrets(t *testing.T) {
	ix := openFixture(t, "gorepo")
	res, err := ix.Context(Request{Path: "cart/cart.go", Line: 13, Col: 1, Budget: 2000})
	if err != nil {
		t.Fatal(err)
	}
	all := dumpBlocks(res.Blocks)
	if strings.Contains(all, "ghp_0123") || strings.Contains(all, "hunter2") {
		t.Fatalf("secret leaked into context:\n%s", all)
	}
	if !strings.Contains(all, "apiToken") || !strings.Contains(all, "[REDACTED]") {
		t.Errorf("expected the masked declaration of apiToken from the same package:\n%s", all)
	}
}

// A long signature is cut to maxSignature bytes; a secret it holds must
// not survive in part (cut, it no longer matches the mask's pattern).
func TestLongSignatureMasksBeforeCutting(t *testing.T) {
	token := "ghp_" + strings.Repeat("Ab3", 12)
	for _, pad := range []int{maxSignature - 60, maxSignature - 20, maxSignature - 10} {
		src := "package p\n\nvar Client = NewClient(\"" + strings.Repeat("p", pad) + "\", \"" + token + "\")\n"
		x := newExtractor()
		fx, err := x.extract(Go, []byte(src))
		x.close()
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range fx.Symbols {
			if strings.Contains(s.Signature, "ghp_Ab3") {
				t.Errorf("pad %d: signature %q keeps part of the token", pad, s.Signature)
			}
		}
	}
}

func TestContextErrors(t *testing.T) {
	ix := openFixture(t, "gorepo")
	for _, req := range []Request{
		{Path: "main.go", Line: 0, Col: 1, Budget: 10},
		{Path: "main.go", Line: 1, Col: 0, Budget: 10},
		{Path: "main.go", Line: 1, Col: 1, Budget: -1},
		{Path: "missing.go", Line: 1, Col: 1, Budget: 10},
		{Path: "go.mod", Line: 1, Col: 1, Budget: 10},
		{Path: "/elsewhere/x.go", Line: 1, Col: 1, Budget: 10},
	} {
		if _, err := ix.Context(req); err == nil {
			t.Errorf("Context(%+v) = nil error", req)
		}
	}
	// Past the end clamps rather than fails.
	if _, err := ix.Context(Request{Path: "main.go", Line: 999, Col: 999, Budget: 10}); err != nil {
		t.Errorf("past-the-end position: %v", err)
	}
}

// Unsaved buffer content is used instead of the file on disk.
func TestContextUsesBufferSource(t *testing.T) {
	ix := openFixture(t, "gorepo")
	src := []byte("package main\n\nimport \"example.com/shop/internal/price\"\n\nfunc f() {\n\t_ = price.Currency\n}\n")
	res, err := ix.Context(Request{Path: "new.go", Line: 6, Col: 2, Budget: 50, Source: src})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Blocks) == 0 || !strings.Contains(res.Blocks[0].Text, `const Currency = "EUR"`) {
		t.Errorf("want Currency first:\n%s", dumpBlocks(res.Blocks))
	}
}

func TestOffsetOf(t *testing.T) {
	src := []byte("ab\nhé€x\n")
	tests := []struct{ line, col, want int }{
		{1, 1, 0}, {1, 3, 2}, {1, 9, 2}, {2, 1, 3}, {2, 3, 6}, {2, 4, 9}, {3, 1, 11}, {9, 1, 11},
	}
	for _, tt := range tests {
		if got, _ := offsetOf(src, tt.line, tt.col); got != tt.want {
			t.Errorf("offsetOf(%d,%d) = %d, want %d", tt.line, tt.col, got, tt.want)
		}
	}
}

func TestApproxCounter(t *testing.T) {
	tests := []struct {
		in   string
		want int
	}{
		{"", 0}, {"a", 1}, {"abcd", 1}, {"abcde", 2}, {"f(x)", 4}, {"a b", 2}, {"a\n\t\tb", 3},
	}
	for _, tt := range tests {
		if got := (ApproxCounter{}).Count(tt.in); got != tt.want {
			t.Errorf("Count(%q) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

func TestLexIdents(t *testing.T) {
	src := []byte("x := strings.Index(s, \"no.words here\") // not.these\n/* nor */ a::b `raw.str` y.z\n")
	var got []string
	lexIdents(src, Go, func(tk token) { got = append(got, tk.Qual+"|"+tk.Name) })
	want := []string{"|x", "|strings", "strings|Index", "|s", "|a", "a|b", "|y", "y|z"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("lexIdents (-want +got):\n%s", diff)
	}
	got = nil
	lexIdents([]byte("x = 1  # comment.word\ns = '''doc.string'''\nos.path\n"), Python, func(tk token) { got = append(got, tk.Qual+"|"+tk.Name) })
	want = []string{"|x", "|s", "|os", "os|path"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("lexIdents python (-want +got):\n%s", diff)
	}
}

func TestRustUsePaths(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"crate::a::B", []string{"crate::a::B"}},
		{"self::util::{clamp, Unit as U}", []string{"self::util::clamp", "self::util::Unit"}},
		{"a::{b, c::{d, e}, self}", []string{"a::b", "a::c::d", "a::c::e", "a"}},
		{"std::io::*", []string{"std::io"}},
		{"{x, y}", []string{"x", "y"}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, rustUsePaths(tt.in)); diff != "" {
			t.Errorf("rustUsePaths(%q) (-want +got):\n%s", tt.in, diff)
		}
	}
}

func TestStripJSONC(t *testing.T) {
	in := `{ // c
  "a": "http://x", /* b */ "p": ["x",],
}`
	got := string(stripJSONC([]byte(in)))
	want := "{ \n  \"a\": \"http://x\",  \"p\": [\"x\"]\n}"
	if got != want {
		t.Errorf("stripJSONC = %q, want %q", got, want)
	}
}

func dumpBlocks(bs []Block) string {
	var sb strings.Builder
	for _, b := range bs {
		sb.WriteString("--- " + b.Path + " (" + b.Reason + ")\n" + b.Text + "\n")
	}
	return sb.String()
}

// write creates root/rel (and its folders) with content and returns its path.
func write(t *testing.T, root, rel, content string) string {
	t.Helper()
	p := filepath.Join(root, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func sortedCopy(s []string) []string {
	c := append([]string(nil), s...)
	sort.Strings(c)
	return c
}

func TestSecretTriggersCoverPatterns(t *testing.T) {
	if len(secretTriggers) != len(secretPatterns) {
		t.Fatalf("%d trigger lists for %d patterns", len(secretTriggers), len(secretPatterns))
	}
}
