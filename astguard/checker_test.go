package astguard

import (
	"strings"
	"testing"
)

// holeCase is a hole in a function body and candidates for it.
type holeCase struct {
	prefix, suffix string
	valid          string // a finished candidate that parses
	broken         string // a finished candidate that adds errors
	open           string // an unfinished candidate that more text can fix
	hard           string // an unfinished candidate with an error more text cannot fix
}

var holeCases = map[Language]holeCase{
	Go: {
		prefix: "package a\n\nfunc f(xs []int) int {\n\ttotal := 0\n\t", suffix: "\n\treturn total\n}\n",
		valid:  "for _, x := range xs {\n\t\ttotal += x\n\t}",
		broken: "for _, x := range xs {\n\t\ttotal += x\n",
		open:   "for _, x := range xs {\n\t\ttotal += max(x,\n",
		hard:   "x := := 1\n\ttotal++\n",
	},
	Python: {
		prefix: "def f(xs):\n    total = 0\n    ", suffix: "\n    return total\n",
		valid:  "for x in xs:\n        total += x",
		broken: "for x in xs:\n        total +=",
		open:   "for x in xs:\n        total += max(x,\n",
		hard:   "total = = 1\n    total -= 1\n",
	},
	JavaScript: {
		prefix: "function f(xs) {\n  let total = 0;\n  ", suffix: "\n  return total;\n}\n",
		valid:  "for (const x of xs) {\n    total += x;\n  }",
		broken: "for (const x of xs) {\n    total += x;\n",
		open:   "for (const x of xs) {\n    total += Math.max(x,\n",
		hard:   "const = 5;\n  total++;\n",
	},
	TypeScript: {
		prefix: "function f(xs: number[]): number {\n  let total: number = 0;\n  ", suffix: "\n  return total;\n}\n",
		valid:  "for (const x of xs) {\n    total += x as number;\n  }",
		broken: "for (const x of xs) {\n    total += x;\n",
		open:   "for (const x of xs) {\n    total += Math.max(x,\n",
		hard:   "const = 5;\n  total++;\n",
	},
	TSX: {
		prefix: "function L({ xs }: { xs: string[] }) {\n  const items = xs.map((x) => <li key={x}>{x}</li>);\n  ",
		suffix: "\n  return <ul>{items}</ul>;\n}\n",
		valid:  "if (items.length === 0) {\n    return <p className=\"empty\">none</p>;\n  }",
		broken: "if (items.length === 0) {\n    return <p className=\"empty\">none</p>;\n",
		open:   "if (items.length === 0) {\n    return <p>{String(\n",
		hard:   "const = 5;\n  items.pop();\n",
	},
	Java: {
		prefix: "class A {\n  int f(int[] xs) {\n    int total = 0;\n    ", suffix: "\n    return total;\n  }\n}\n",
		valid:  "for (int x : xs) {\n      total += x;\n    }",
		broken: "for (int x : xs) {\n      total += x;\n",
		open:   "for (int x : xs) {\n      total += Math.max(x,\n",
		hard:   "int = 5;\n    total++;\n",
	},
	C: {
		prefix: "int f(int *xs, int n) {\n\tint total = 0;\n\t", suffix: "\n\treturn total;\n}\n",
		valid:  "for (int i = 0; i < n; i++) {\n\t\ttotal += xs[i];\n\t}",
		broken: "for (int i = 0; i < n; i++) {\n\t\ttotal += xs[i];\n",
		open:   "for (int i = 0; i < n; i++) {\n\t\ttotal += g(xs[i],\n",
		hard:   "int = 5;\n\ttotal++;\n",
	},
	Cpp: {
		prefix: "#include <vector>\nint f(const std::vector<int>& xs) {\n  int total = 0;\n  ", suffix: "\n  return total;\n}\n",
		valid:  "for (int x : xs) {\n    total += x;\n  }",
		broken: "for (int x : xs) {\n    total += x;\n",
		open:   "for (int x : xs) {\n    total += std::max(x,\n",
		hard:   "int = 5;\n  total++;\n",
	},
	Rust: {
		prefix: "fn f(xs: &[i32]) -> i32 {\n    let mut total = 0;\n    ", suffix: "\n    total\n}\n",
		valid:  "for x in xs {\n        total += x;\n    }",
		broken: "for x in xs {\n        total += x;\n",
		open:   "for x in xs {\n        total += std::cmp::max(*x,\n",
		hard:   "let = 5;\n    total += 1;\n",
	},
	CSharp: {
		prefix: "class A {\n  int F(int[] xs) {\n    int total = 0;\n    ", suffix: "\n    return total;\n  }\n}\n",
		valid:  "foreach (var x in xs) {\n      total += x;\n    }",
		broken: "foreach (var x in xs) {\n      total += x;\n",
		open:   "foreach (var x in xs) {\n      total += Math.Max(x,\n",
		hard:   "int = 5;\n    total++;\n",
	},
}

func TestCheckerPerLanguage(t *testing.T) {
	for _, lang := range Languages() {
		hc, ok := holeCases[lang]
		if !ok {
			t.Errorf("%s: no hole case", lang)
			continue
		}
		for _, how := range []string{"NewChecker", "NewCheckerAt"} {
			t.Run(string(lang)+"/"+how, func(t *testing.T) {
				testHoleCase(t, lang, hc, how == "NewCheckerAt")
			})
		}
	}
}

// testHoleCase judges a hole case's candidates with a Checker made from the
// texts or from an open Document.
func testHoleCase(t *testing.T, lang Language, hc holeCase, fromDoc bool) {
	var c *Checker
	var err error
	if fromDoc {
		d, derr := NewDocument(lang, []byte(hc.prefix+hc.suffix))
		if derr != nil {
			t.Fatal(derr)
		}
		defer d.Close()
		c, err = NewCheckerAt(d, len(hc.prefix))
	} else {
		c, err = NewChecker(lang, hc.prefix, hc.suffix)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// Judge in an order that moves the trees back and forth, as
	// beams do, and judge the first again at the end.
	final := func(cand string, wantNew bool) {
		t.Helper()
		j, err := c.Final(cand)
		if err != nil {
			t.Fatal(err)
		}
		if (j.NewErrors > 0) != wantNew || (j.Verdict == Penalize) != wantNew || wantNew && j.Penalty >= 0 {
			t.Errorf("Final(%q) = %+v, want new errors: %v", cand, j, wantNew)
		}
	}
	partial := func(cand string, wantHard bool) {
		t.Helper()
		j, err := c.Partial(cand)
		if err != nil {
			t.Fatal(err)
		}
		if (j.Hard > 0) != wantHard || (j.Verdict == Prune) != wantHard || j.Completable == wantHard {
			t.Errorf("Partial(%q) = %+v, want hard: %v", cand, j, wantHard)
		}
	}
	final(hc.valid, false)
	final(hc.broken, true)
	partial(hc.open, false)
	partial(hc.hard, true)
	// Every prefix of the valid candidate is a fine partial one.
	for i := 1; i <= len(hc.valid); i++ {
		if hc.valid[i-1] == '\n' || i == len(hc.valid) {
			partial(hc.valid[:i], false)
		}
	}
	final(hc.valid, false)
	c.SetPolicy(DefaultPolicy) // drop memoised answers: recompute from the trees
	final(hc.broken, true)
	final(hc.valid, false)
	partial(hc.hard, true)
	partial(hc.open, false)
}

// bigHole cuts a 5,000-line Go file in the middle of a function body.
func bigHole() (prefix, suffix string) {
	src := string(bigGo(5000))
	at := len(src) / 2
	at += strings.Index(src[at:], "\ttotal := 0\n") + len("\ttotal := 0\n")
	return src[:at] + "\t", src[at:]
}

// beamTexts simulates a beam of 4 over a completion: each step every beam
// appends one token-sized piece; beams differ in their last line.
func beamTexts() [][4]string {
	body := "for _, y := range xs {\n\t\tif y > 3 {\n\t\t\ttotal += y * 2\n\t\t}\n\t}\n\t"
	var steps [][4]string
	for i, p := range chunks(body, 4, 7) {
		_ = p
		n := len(strings.Join(chunks(body, 4, 7)[:i+1], ""))
		var s [4]string
		for b := range s {
			s[b] = body[:n] + strings.Repeat(" ", b) // beams differ at the end
		}
		steps = append(steps, s)
	}
	return steps
}

// BenchmarkCheckerPartialStep is the cost of one decode step of a beam of 4
// on a 5,000-line Go file: four Partial judgements of candidates that grew
// by one token. ns/judgement is one candidate's cost; compare with
// BenchmarkFullParse.
func BenchmarkCheckerPartialStep(b *testing.B) {
	prefix, suffix := bigHole()
	c, err := NewChecker(Go, prefix, suffix)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	steps := beamTexts()
	m := startCPU(b)
	for i := 0; i < b.N; i++ {
		c.SetPolicy(DefaultPolicy) // no memo hits: measure the parsing
		for _, beams := range steps {
			for _, cand := range beams {
				if _, err := c.Partial(cand); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(steps)), "ns/step")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(steps)*4), "ns/judgement")
	m.report(b.N*len(steps)*4, "judgement")
}

// BenchmarkCheckerFinal judges finished candidates in place (prefix,
// candidate and suffix), alternating between two candidates.
func BenchmarkCheckerFinal(b *testing.B) {
	prefix, suffix := bigHole()
	c, err := NewChecker(Go, prefix, suffix)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	cands := []string{"for _, y := range xs {\n\t\ttotal += y\n\t}\n", "for _, y := range xs {\n\t\ttotal -= y\n\t}\n"}
	m := startCPU(b)
	for i := 0; i < b.N; i++ {
		c.SetPolicy(DefaultPolicy)
		j, err := c.Final(cands[i%2])
		if err != nil || j.NewErrors != 0 {
			b.Fatal(err, j)
		}
	}
	m.report(b.N, "op")
}

// BenchmarkNewCheckerAt is the per-request setup when the file is open in a
// Document: no full parse.
func BenchmarkNewCheckerAt(b *testing.B) {
	prefix, suffix := bigHole()
	d, err := NewDocument(Go, []byte(prefix+suffix))
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	m := startCPU(b)
	for i := 0; i < b.N; i++ {
		c, err := NewCheckerAt(d, len(prefix))
		if err != nil {
			b.Fatal(err)
		}
		c.Close()
	}
	m.report(b.N, "op")
}

// BenchmarkNewChecker is the per-request setup: parsing the file with each
// neutral fill.
func BenchmarkNewChecker(b *testing.B) {
	prefix, suffix := bigHole()
	m := startCPU(b)
	for i := 0; i < b.N; i++ {
		c, err := NewChecker(Go, prefix, suffix)
		if err != nil {
			b.Fatal(err)
		}
		c.Close()
	}
	m.report(b.N, "op")
}

// TestFinalReplacing judges completions that replace closers an editor
// auto-inserted after the cursor: the document judged is
// prefix+candidate+suffix[replace:], and moving between replaced lengths
// and candidates in any order gives the answers a fresh parse would.
func TestFinalReplacing(t *testing.T) {
	const prefix = "package main\n\nimport \"fmt\"\n\nfunc main() {\n\tname := \"x\"\n\tfmt.Println(\""
	const suffix = "\")\n}\n"
	cases := []struct {
		cand    string
		replace int
		wantNew bool
	}{
		{`Hello, ", name)`, 2, false}, // writes the document's `")` itself
		{`Hello, ", name)`, 0, true},  // and without replacing them, they dangle
		{`Hello, `, 0, false},
		{`Hello, ", name`, 1, false}, // closes the string; the document's ")" closes the call
		{`Hello, ", name))`, 2, true},
		{`Hello, ", name`, 2, true}, // the call is left open
	}
	for _, fromDoc := range []bool{false, true} {
		var c *Checker
		var err error
		if fromDoc {
			d, derr := NewDocument(Go, []byte(prefix+suffix))
			if derr != nil {
				t.Fatal(derr)
			}
			defer d.Close()
			c, err = NewCheckerAt(d, len(prefix))
		} else {
			c, err = NewChecker(Go, prefix, suffix)
		}
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		// Twice over, the memo cleared in between, so the second round
		// reaches each state from another one.
		for round := range 2 {
			for _, tc := range cases {
				j, err := c.FinalReplacing(tc.cand, tc.replace)
				if err != nil {
					t.Fatal(err)
				}
				if (j.NewErrors > 0) != tc.wantNew {
					t.Errorf("fromDoc %v round %d: FinalReplacing(%q, %d) = %+v, want new errors: %v", fromDoc, round, tc.cand, tc.replace, j, tc.wantNew)
				}
			}
			// Partial shares nothing with the replaced suffix.
			if j, err := c.Partial(`Hello, ", name`); err != nil || j.Hard > 0 {
				t.Errorf("Partial after replacing: %+v, %v", j, err)
			}
			c.SetPolicy(DefaultPolicy)
		}
		if _, err := c.FinalReplacing("x", len(suffix)+1); err == nil {
			t.Error("replacing more than the suffix: no error")
		}
	}
}
