package lsp

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.lsp.dev/protocol"
)

// treeSession feeds SyntaxTrees the way the server does: edits computed
// by Text.Apply from LSP ranges, the full text after each change.
type treeSession struct {
	t       *testing.T
	trees   *SyntaxTrees
	uri     string
	text    *Text
	version int32
}

func openTree(t *testing.T, trees *SyntaxTrees, uri, lang, text string) *treeSession {
	s := &treeSession{t: t, trees: trees, uri: uri, text: NewText(text), version: 1}
	trees.DidOpen(uri, lang, 1, text)
	return s
}

// change applies an incremental change at the UTF-16 range.
func (s *treeSession) change(sl, sc, el, ec int, newText string) {
	s.t.Helper()
	r := protocol.Range{Start: protocol.Position{Line: uint32(sl), Character: uint32(sc)}, End: protocol.Position{Line: uint32(el), Character: uint32(ec)}}
	next, e, err := s.text.Apply(&r, newText, UTF16)
	if err != nil {
		s.t.Fatal(err)
	}
	s.text = next
	s.version++
	s.trees.DidChange(s.uri, s.version, []Edit{e}, next.String())
}

// replace sends the whole text, as a full-sync client does.
func (s *treeSession) replace(text string) {
	old := s.text.String()
	s.text = NewText(text)
	s.version++
	s.trees.DidChange(s.uri, s.version, []Edit{{OldEndByte: len(old), OldEndPoint: pointAt(old, len(old)), NewText: text}}, text)
}

// request is a completion request at byte offset off of the current text.
func (s *treeSession) request(off int, lang string) CompletionRequest {
	src := s.text.String()
	return CompletionRequest{URI: s.uri, Path: filePath(s.uri), LanguageID: lang, Version: s.version, Prefix: src[:off], Suffix: src[off:]}
}

func TestSyntaxTreesFollowEdits(t *testing.T) {
	const goSrc = "package p\n\nfunc f(a int) int {\n\treturn\n}\n"
	cands := []struct {
		text  string
		final bool
	}{{" a + 1", true}, {" a + (1", true}, {" a + (1", false}, {" a)", true}, {"\n\tx := }", true}}
	judge := func(t *testing.T, trees *SyntaxTrees, req CompletionRequest, wantIncremental bool) {
		t.Helper()
		got, inc, err := trees.Constraint(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		defer got.Close()
		if inc != wantIncremental {
			t.Errorf("incremental = %v, want %v", inc, wantIncremental)
		}
		var none *SyntaxTrees
		want, _, err := none.Constraint(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		defer want.Close()
		objected := 0
		for _, c := range cands {
			gp, gprune := got.Judge(c.text, 0, c.final)
			wp, wprune := want.Judge(c.text, 0, c.final)
			if gp != wp || gprune != wprune {
				t.Errorf("Judge(%q, %v): tree %v/%v, full parse %v/%v", c.text, c.final, gp, gprune, wp, wprune)
			}
			if wprune || wp > 0 {
				objected++
			}
		}
		if objected == 0 {
			t.Error("no candidate objected to: the comparison tests nothing")
		}
	}
	for _, tc := range []struct {
		name string
		// edit the session; return the cursor offset
		run             func(s *treeSession) int
		wantIncremental bool
	}{
		{"typing", func(s *treeSession) int {
			for i, ch := range " a +" {
				s.change(3, 7+i, 3, 7+i, string(ch))
			}
			s.change(3, 10, 3, 11, "") // backspace
			return strings.Index(s.text.String(), " a ") + 2
		}, true},
		{"multi-line paste and CRLF", func(s *treeSession) int {
			s.change(2, 19, 2, 19, "\r\n\tb := a * 2\r\n\t_ = b")
			return strings.Index(s.text.String(), "return") + len("return")
		}, true},
		{"full sync", func(s *treeSession) int {
			s.replace(strings.Replace(s.text.String(), "return", "return a", 1))
			s.replace(strings.Replace(s.text.String(), "func f", "// f doubles.\nfunc f", 1))
			return strings.Index(s.text.String(), "return a") + len("return a")
		}, true},
		{"burst past the incremental limit", func(s *treeSession) int {
			for i := range maxIncrementalEdits + 5 {
				s.change(3, 7+i, 3, 7+i, "a")
			}
			return strings.Index(s.text.String(), "return") + len("return")
		}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			trees := &SyntaxTrees{}
			defer trees.Close()
			s := openTree(t, trees, "file:///w/f.go", "go", goSrc)
			off := tc.run(s)
			judge(t, trees, s.request(off, "go"), tc.wantIncremental)
		})
	}
}

func TestSyntaxTreesFallback(t *testing.T) {
	const src = "def f(x):\n    return \n"
	trees := &SyntaxTrees{}
	defer trees.Close()
	s := openTree(t, trees, "file:///w/f.py", "python", src)
	off := strings.Index(src, "return ") + len("return ")
	ctx := context.Background()

	check := func(name string, req CompletionRequest, wantInc bool) {
		t.Helper()
		con, inc, err := trees.Constraint(ctx, req)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		con.Close()
		if inc != wantInc {
			t.Errorf("%s: incremental = %v, want %v", name, inc, wantInc)
		}
	}
	check("current", s.request(off, "python"), true)
	// A popup item selected: the request's text is not the document's.
	sel := s.request(off, "python")
	sel.Prefix += "x"
	check("selected item", sel, false)
	// The request is older than the tree (the user typed on).
	stale := s.request(off, "python")
	s.change(1, 11, 1, 11, "x")
	check("after typing", s.request(off+1, "python"), true) // waits for the edit
	check("stale request", stale, false)
	// The client reused a version number for a different text.
	lying := s.request(off+1, "python")
	lying.Prefix = strings.Replace(lying.Prefix, "f(x)", "g(x)", 1)
	check("same version, other text", lying, false)
	// Unknown to astguard: no tree, no constraint, and no error beyond that.
	trees.DidOpen("file:///w/notes.txt", "plaintext", 1, "hello")
	if _, _, err := trees.Constraint(ctx, CompletionRequest{URI: "file:///w/notes.txt", Path: "/w/notes.txt", LanguageID: "plaintext", Version: 1, Prefix: "hello"}); err == nil {
		t.Error("plaintext got a syntax constraint")
	}
	if trees.get("file:///w/notes.txt") != nil {
		t.Error("plaintext got a tree")
	}
	// An unknown languageId falls back to the extension.
	trees.DidOpen("file:///w/g.py", "", 1, src)
	g := CompletionRequest{URI: "file:///w/g.py", Path: "/w/g.py", Version: 1, Prefix: src[:off], Suffix: src[off:]}
	check("language from the extension", g, true)
	// Closed: the tree goes, requests still get a constraint.
	trees.DidClose(s.uri)
	if trees.get(s.uri) != nil {
		t.Error("tree kept after didClose")
	}
	check("closed", s.request(off+1, "python"), false)
	// Edits whose points do not match the bytes: the tree starts over
	// from the text and stays exact.
	s2 := openTree(t, trees, "file:///w/h.py", "python", src)
	s2.version++
	next := strings.Replace(src, "return ", "return 1", 1)
	trees.DidChange(s2.uri, s2.version, []Edit{{StartByte: off, OldEndByte: off, StartPoint: Point{0, 3}, OldEndPoint: Point{0, 3}, NewText: "1"}}, next)
	s2.text = NewText(next)
	check("bad edit points", s2.request(off+1, "python"), true)
}

// Completions read the trees while edits stream in (run with -race).
func TestSyntaxTreesConcurrent(t *testing.T) {
	var b strings.Builder
	b.WriteString("package p\n\n")
	for i := range 200 {
		fmt.Fprintf(&b, "func f%d(a int) int {\n\treturn a + %d\n}\n\n", i, i)
	}
	trees := &SyntaxTrees{}
	defer trees.Close()
	s := openTree(t, trees, "file:///w/big.go", "go", b.String())
	var wg sync.WaitGroup
	var mu sync.Mutex // guards s between the typist and the readers
	stop := make(chan struct{})
	incremental := 0
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				mu.Lock()
				req := s.request(len(s.text.String())/2, "go")
				mu.Unlock()
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				con, inc, err := trees.Constraint(ctx, req)
				cancel()
				if err != nil {
					t.Error(err)
					return
				}
				con.Judge(" + 1", 0, true)
				con.Close()
				if inc {
					mu.Lock()
					incremental++
					mu.Unlock()
				}
			}
		}()
	}
	for i := range 60 {
		mu.Lock()
		s.change(3, 13+i, 3, 13+i, "x")
		mu.Unlock()
		time.Sleep(time.Millisecond)
	}
	// Settle, then a request at the current version must use the tree.
	mu.Lock()
	req := s.request(len(s.text.String())/2, "go")
	mu.Unlock()
	close(stop)
	wg.Wait()
	con, inc, err := trees.Constraint(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	con.Close()
	if !inc {
		t.Error("a request at the current version did not use the tree")
	}
	t.Logf("%d constraints from the tree while typing", incremental)
	trees.DidClose(s.uri)
}

// bigGo is a Go file of about n lines, in functions of 15 lines (the
// shape of astguard's benchmarks; tree-sitter's incremental reparse costs
// grow with the number of top-level declarations, so thousands of
// one-line functions would measure something else).
func bigGo(n int) string {
	var b strings.Builder
	b.WriteString("package big\n\nimport \"fmt\"\n\n")
	for i := 0; strings.Count(b.String(), "\n") < n; i++ {
		fmt.Fprintf(&b, "// f%d does a thing.\nfunc f%d(xs []int) (int, error) {\n\ttotal := 0\n\tfor i, x := range xs {\n\t\tif x%%2 == 0 {\n\t\t\ttotal += x * i\n\t\t} else {\n\t\t\ttotal -= %d\n\t\t}\n\t}\n\tif total < 0 {\n\t\treturn 0, fmt.Errorf(\"negative: %%d\", total)\n\t}\n\treturn total, nil\n}\n\n", i, i, i)
	}
	return b.String()
}

// BenchmarkConstraint compares what a completion pays for its syntax
// constraint on a 5,000-line Go file after a keystroke: from the
// document's incremental tree (the edit plus NewSyntaxConstraintAt) or
// from a full parse of prefix and suffix (what EngineCompleter did
// before it observed the documents).
func BenchmarkConstraint(b *testing.B) {
	src := bigGo(5000)
	mid := strings.Index(src[len(src)/2:], "total -= ") + len(src)/2 + len("total -= 1") // typing digits: the file stays valid
	for _, tc := range []struct {
		name  string
		trees bool
	}{{"tree", true}, {"full-parse", false}} {
		b.Run(tc.name, func(b *testing.B) {
			var trees *SyntaxTrees
			if tc.trees {
				trees = &SyntaxTrees{}
				defer trees.Close()
			}
			text := NewText(src)
			if trees != nil {
				trees.DidOpen("file:///b/big.go", "go", 1, src)
			}
			v := int32(1)
			ctx := context.Background()
			cpu0 := processCPU()
			for b.Loop() {
				// One keystroke at the cursor, then the request's constraint.
				off := mid + int(v-1)
				p := text.Position(off, UTF16)
				r := protocol.Range{Start: p, End: p}
				next, e, err := text.Apply(&r, "7", UTF16)
				if err != nil {
					b.Fatal(err)
				}
				text, v = next, v+1
				if trees != nil {
					trees.DidChange("file:///b/big.go", v, []Edit{e}, text.String())
				}
				s := text.String()
				req := CompletionRequest{URI: "file:///b/big.go", LanguageID: "go", Version: v, Prefix: s[:off+1], Suffix: s[off+1:]}
				con, inc, err := trees.Constraint(ctx, req)
				if err != nil {
					b.Fatal(err)
				}
				if inc != tc.trees {
					b.Fatalf("incremental %v", inc)
				}
				con.Close()
			}
			b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
		})
	}
}

// processCPU is the CPU time (user+system) of this process, all threads:
// the shared 2-core machines are often loaded many times over, which
// inflates wall-clock ns/op; CPU time per operation survives contention.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
