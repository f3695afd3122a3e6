package astguard

import (
	"strings"
	"testing"
)

// FuzzIncrementalEdit applies two successive edits to a language's sample
// (so the second edit works on an incrementally produced tree) and checks
// the result against a full parse with checkAgainstFull. The seed corpus is
// in testdata/fuzz/FuzzIncrementalEdit.
func FuzzIncrementalEdit(f *testing.F) {
	f.Add(uint8(0), uint32(40), uint8(0), "x := 1\n", uint32(41), uint8(3), "}")
	f.Add(uint8(1), uint32(120), uint8(4), "    def g(self):\n        pass\n", uint32(10), uint8(0), "'''")
	f.Add(uint8(2), uint32(200), uint8(0), "`${", uint32(203), uint8(0), "}`")
	f.Add(uint8(8), uint32(300), uint8(2), "/* /*", uint32(0), uint8(0), "*/")
	srcs := make([][]byte, len(languages))
	for i, l := range languages {
		srcs[i] = readSample(f, l)
	}
	f.Fuzz(func(t *testing.T, li uint8, pos1 uint32, del1 uint8, text1 string, pos2 uint32, del2 uint8, text2 string) {
		if len(text1) > 200 || len(text2) > 200 {
			return // keep each run short; long texts add nothing new here
		}
		k := int(li) % len(languages)
		d, err := NewDocument(languages[k], srcs[k])
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		for _, e := range []struct {
			pos  uint32
			del  uint8
			text string
		}{{pos1, del1, text1}, {pos2, del2, text2}} {
			n := len(d.Source())
			start := int(e.pos % uint32(n+1))
			end := min(n, start+int(e.del%16))
			if err := d.Replace(start, end, []byte(e.text)); err != nil {
				t.Fatal(err)
			}
			checkAgainstFull(t, d, "after edit", false)
		}
	})
}

// FuzzLexer primes a lexer with arbitrary text and checks its invariants:
// no panic; Allows agrees with Feed and leaves the state alone; and the text
// Closers proposes is always accepted and closes every bracket.
func FuzzLexer(f *testing.F) {
	f.Add(uint8(0), "func f() { x := `a", "b`")
	f.Add(uint8(1), "def f(x):\n    s = '''a(", "\n)'''")
	f.Add(uint8(2), "const s = `${f(`in ${x", "}`)}`;")
	f.Add(uint8(7), "auto s = R\"ab(x)a", ")ab\";")
	f.Add(uint8(8), "fn f<'a>() { let s = r##\"", "\"#\"##; }")
	f.Add(uint8(9), "var s = $@\"{x}\"\"", "\";")
	f.Fuzz(func(t *testing.T, li uint8, text, piece string) {
		lang := languages[int(li)%len(languages)]
		l, err := NewLexer(lang)
		if err != nil {
			t.Fatal(err)
		}
		l.Prime(text)
		before := l.OpenBrackets()
		ok := l.Allows(piece)
		if l.OpenBrackets() != before {
			t.Fatal("Allows changed the state")
		}
		c := l.Clone()
		if got := c.Feed(piece); got != ok {
			t.Fatalf("Feed(%q)=%v but Allows=%v", piece, got, ok)
		}
		closers := l.Closers()
		if !l.Feed(closers) {
			t.Fatalf("closers %q of %q rejected", closers, text)
		}
		if l.Depth() != 0 {
			t.Fatalf("after closers %q of %q still open: %q", closers, text, l.OpenBrackets())
		}
	})
}

// FuzzChecker judges arbitrary candidates in arbitrary holes: no panic or
// error, the neutral fill itself never counts as new errors, and judging a
// candidate again (after the trees moved elsewhere) gives the same count.
func FuzzChecker(f *testing.F) {
	f.Add(uint8(0), "package a\nfunc f() {\n\t", "x := (1", "\n}\n")
	f.Add(uint8(1), "def f(x):\n    ", "return [x,\n", "\n")
	f.Add(uint8(3), "const x: number = ", "`${1", ";\n")
	f.Add(uint8(8), "fn f() {\n    let s = r#\"", "a\"#;", "\n}\n")
	f.Fuzz(func(t *testing.T, li uint8, prefix, cand, suffix string) {
		if len(prefix)+len(suffix)+len(cand) > 4000 {
			return
		}
		lang := languages[int(li)%len(languages)]
		c, err := NewChecker(lang, prefix, suffix)
		if err != nil {
			if strings.Contains(err.Error(), "binary") {
				return
			}
			t.Fatal(err)
		}
		defer c.Close()
		if j, err := c.Final(c.Fill()); err != nil || j.NewErrors != 0 {
			t.Fatalf("the neutral fill %q has %d new errors (%v)", c.Fill(), j.NewErrors, err)
		}
		j1, err := c.Final(cand)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Partial(cand); err != nil {
			t.Fatal(err)
		}
		c.SetPolicy(DefaultPolicy) // forget memoised answers
		if _, err := c.Final(cand + "x"); err != nil {
			t.Fatal(err)
		}
		j2, err := c.Final(cand)
		if err != nil {
			t.Fatal(err)
		}
		if j1.NewErrors == 0 && j2.NewErrors != 0 {
			t.Fatalf("candidate %q: valid, then %d new errors after the trees moved", cand, j2.NewErrors)
		}
		// Replacing the suffix's first bytes: the tree is the parse of
		// prefix+cand+suffix[r:], and going back to replacing nothing
		// restores the first judgement.
		r := len(cand) % (len(suffix) + 1)
		if _, err := c.FinalReplacing(cand, r); err != nil {
			t.Fatal(err)
		}
		if got := string(c.full.doc.Source()); got != prefix+cand+suffix[r:] {
			t.Fatalf("replacing %d: document %q", r, got)
		}
		checkAgainstFull(t, c.full.doc, "after replacing", false)
		c.SetPolicy(DefaultPolicy)
		if j3, err := c.Final(cand); err != nil || j3.NewErrors != j2.NewErrors {
			t.Fatalf("candidate %q: %d new errors, then %d (%v) after replacing %d", cand, j2.NewErrors, j3.NewErrors, err, r)
		}
	})
}
