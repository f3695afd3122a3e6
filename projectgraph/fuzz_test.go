package projectgraph

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

var fuzzLangs = []Lang{Go, Python, JavaScript, TypeScript, TSX, Java, Rust, C, CPP, CSharp}

// FuzzExtract feeds arbitrary text to every grammar's extractor: no panic,
// and every definition's range lies inside the source.
func FuzzExtract(f *testing.F) {
	for _, repo := range []string{"gorepo", "pyrepo", "tsrepo", "javarepo", "rustrepo", "crepo", "csrepo"} {
		_ = filepath.Walk(filepath.Join(fixtures, repo), func(p string, info os.FileInfo, err error) error {
			if err == nil && !info.IsDir() && LangOf(p) != "" {
				if b, err := os.ReadFile(p); err == nil {
					f.Add(uint8(langIndex(LangOf(p))), b)
				}
			}
			return nil
		})
	}
	f.Add(uint8(0), []byte("package p\nimport (\n\t\"a\nfunc ("))
	f.Add(uint8(7), []byte("#include <\n#define X(\nstruct { int"))
	f.Add(uint8(5), []byte("use a::{b, c::{d, {e}}; mod"))
	f.Fuzz(func(t *testing.T, li uint8, src []byte) {
		lang := fuzzLangs[int(li)%len(fuzzLangs)]
		x := newExtractor()
		defer x.close()
		fx, err := x.extract(lang, src)
		if err != nil {
			return // a parse timeout is an answer, not a crash
		}
		for _, s := range fx.Symbols {
			if s.Start < 0 || s.Start > s.End || s.End > len(src) || s.Line < 1 || s.EndLine < s.Line {
				t.Fatalf("%s: bad range %+v for %d bytes", lang, s, len(src))
			}
			if s.Name == "" || !utf8.ValidString(s.Name) {
				t.Fatalf("%s: bad name %q", lang, s.Name)
			}
		}
		for _, im := range fx.Imports {
			if im.Line < 1 {
				t.Fatalf("%s: import %q at line %d", lang, im.Spec, im.Line)
			}
		}
	})
}

func langIndex(l Lang) int {
	for i, x := range fuzzLangs {
		if x == l {
			return i
		}
	}
	return 0
}

// FuzzLexIdents: tokens are identifiers at their offsets, in order.
func FuzzLexIdents(f *testing.F) {
	f.Add(uint8(0), []byte("x := strings.Index(s, \"a.b\") // c\n`raw` y::z"))
	f.Add(uint8(1), []byte("'''doc''' # c\nos.path.join('x')"))
	f.Add(uint8(5), []byte("fn f<'a>(x: &'a str) -> &'a str { x }"))
	f.Add(uint8(2), []byte("/* unterminated"))
	f.Fuzz(func(t *testing.T, li uint8, src []byte) {
		lang := fuzzLangs[int(li)%len(fuzzLangs)]
		last := -1
		lexIdents(src, lang, func(tk token) {
			if tk.Off <= last || tk.Off+len(tk.Name) > len(src) || string(src[tk.Off:tk.Off+len(tk.Name)]) != tk.Name {
				t.Fatalf("bad token %+v (last %d)", tk, last)
			}
			last = tk.Off
		})
		_ = distinctIdents(src, lang)
	})
}

// FuzzSmallParsers covers the hand-written parsers: Rust use trees,
// tsconfig JSONC, Java/C# import text, go.mod-like input, secret masking.
func FuzzSmallParsers(f *testing.F) {
	for _, s := range []string{"a::{b, c::{d as e, self}}", "{ // c\n\"a\": [1,],}", "import static a.b.*;",
		"global using X = A.B;", "module example.com/m\n", "password = \"abcdefgh12\"", "-----BEGIN PRIVATE KEY-----\nx"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, p := range rustUsePaths(s) {
			if p == "" {
				t.Fatalf("empty Rust path from %q", s)
			}
		}
		_ = stripJSONC([]byte(s))
		_ = javaImport(s)
		_ = csharpUsing(s)
		m := MaskSecrets(s)
		if MaskSecrets(m) != m {
			t.Fatalf("masking is not idempotent: %q → %q → %q", s, m, MaskSecrets(m))
		}
		if strings.Count(m, "\n") != strings.Count(s, "\n") && !strings.Contains(s, "PRIVATE KEY") {
			t.Fatalf("masking changed the line count of %q", s)
		}
		_ = (ApproxCounter{}).Count(s)
		if n, err := offsetOf([]byte(s), 3, 5); err != nil || n < 0 || n > len(s) {
			t.Fatalf("offsetOf = %d, %v", n, err)
		}
	})
}

// FuzzLoadCache feeds damaged index caches to the loader: it must return
// an error (the caller then rebuilds) or files whose paths stay inside the
// workspace and whose definitions the context packer can slice, never
// panic.
func FuzzLoadCache(f *testing.F) {
	root := copyTree(f, filepath.Join(fixtures, "gorepo"))
	ix, err := Open(context.Background(), root, Options{Config: Config{CacheDir: f.TempDir()}})
	if err != nil {
		f.Fatal(err)
	}
	good, err := os.ReadFile(ix.CachePath())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add([]byte("not a gob"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(dir, "index.gob")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		files, err := loadCache(p)
		if err != nil {
			return
		}
		for path, fl := range files {
			if strings.HasPrefix(path, "/") || strings.HasPrefix(path, "../") || path == ".." {
				t.Fatalf("cached path %q leaves the workspace", path)
			}
			for _, s := range fl.Symbols {
				if s.Start < 0 || s.End < s.Start {
					t.Fatalf("%s: symbol range %d..%d accepted", path, s.Start, s.End)
				}
			}
		}
	})
}
