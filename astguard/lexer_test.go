package astguard

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// chunks splits s into pieces of 1..maxLen bytes, deterministically, the way
// a tokenizer cuts text (pieces may split multi-byte characters too).
func chunks(s string, maxLen int, seed int64) []string {
	r := rand.New(rand.NewSource(seed))
	var out []string
	for len(s) > 0 {
		n := min(len(s), 1+r.Intn(maxLen))
		out = append(out, s[:n])
		s = s[n:]
	}
	return out
}

// TestLexerAcceptsValidCode feeds each valid sample strictly, in token-like
// pieces: no piece of valid code may be called impossible, and the file must
// end with all brackets closed, outside any string or comment.
func TestLexerAcceptsValidCode(t *testing.T) {
	for _, lang := range Languages() {
		t.Run(string(lang), func(t *testing.T) {
			src := string(readSample(t, lang))
			for seed := int64(1); seed <= 5; seed++ {
				l, err := NewLexer(lang)
				if err != nil {
					t.Fatal(err)
				}
				fed := 0
				for _, p := range chunks(src, 6, seed) {
					if !l.Feed(p) {
						t.Fatalf("seed %d: valid piece %q rejected after %q", seed, p, tail(src[:fed], 60))
					}
					fed += len(p)
				}
				if !l.Feed("\n") || l.Depth() != 0 || !l.InCode() {
					t.Fatalf("seed %d: end of file: depth %d (%q), in code %v", seed, l.Depth(), l.OpenBrackets(), l.InCode())
				}
			}
		})
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// lexCase: after priming with prefix, is piece possible?
type lexCase struct {
	name   string
	prefix string
	piece  string
	want   bool
}

var lexCases = map[Language][]lexCase{
	Go: {
		{"matching paren", "x := f(a, (b", "))", true},
		{"wrong closer", "x := f(a, (b", "]", false},
		{"closer with nothing open", "package a\nvar x = 1", ")", false},
		{"closer inside string", "x := \"a(", "]\"", true},
		{"newline in string", "x := \"abc", "\n", false},
		{"escaped quote keeps string", "x := \"a\\", "\"\n", false},
		{"raw string spans lines", "x := `abc", "\n)`", true},
		{"rune literal", "c := '", "('", true},
		{"closer in line comment", "f( // )", "]", true},
		{"closer in block comment", "f( /* ", "] */ )", true},
	},
	Python: {
		{"matching bracket", "x = [1, (2", ")]", true},
		{"wrong closer", "x = [1, (2", "]", false},
		{"block needs indent", "def f():\n", "return 1", false},
		{"block indented", "def f():\n", "    return 1", true},
		{"unexpected indent", "x = 1\n", "    y = 2", false},
		{"dedent to open level", "def f():\n    if x:\n        y = 1\n", "    return y", true},
		{"dedent to unknown level", "def f():\n    if x:\n        y = 1\n", "  return y", false},
		{"indent inside brackets is free", "x = (1,\n", "          2)", true},
		{"triple string spans lines", "s = \"\"\"abc", "\n)\"\"\"", true},
		{"newline in one-line string", "s = 'abc", "\n", false},
		{"comment line anywhere", "def f():\n", "# note\n    pass", true},
		{"backslash continuation", "x = 1 + \\\n", "        2", true},
	},
	JavaScript: {
		{"template interpolation", "const s = `a ${f(", "1)} b`", true},
		{"template brace mismatch", "const s = `a ${f(", "1]", false},
		{"regex with paren", "const r = s.replace(", "/[)(]/g, '')", true},
		{"division is not regex", "const r = (a + b) / (c", ")", true},
		// JSX text may hold a lone apostrophe, which reads as an open
		// string: a newline there must stay possible.
		{"newline after a lone quote (JSX text)", "const e = <p>Don't", "\n</p>;", true},
		{"wrong closer", "function f() { if (x", "}", false},
	},
	TypeScript: {
		{"generic then call", "const m: Map<string, number[]> = new Map(", ");", true},
		{"wrong closer", "const x: number[] = [1", ")", false},
		{"template", "const s = `x", "${a}`", true},
	},
	TSX: {
		{"jsx text with apostrophe", "const e = (\n  <p>It's", "\n  </p>\n);", true},
		{"jsx braces", "const e = <div>{items.map((i) => (", "<li>{i}</li>))}</div>;", true},
		{"wrong closer", "const e = <div>{f(", "}", false},
	},
	Java: {
		{"text block", "String s = \"\"\"\n", "a \" b\n\"\"\";", true},
		{"char literal paren", "char c = '", "(';", true},
		{"wrong closer", "void f() { g(", "}", false},
		{"newline in string", "String s = \"ab", "\n", false},
	},
	C: {
		{"char with quote", "char c = '\\", "''; f(", true},
		{"wrong closer", "int main() { f(", "]", false},
		{"comment hides closer", "int x; /* ", ") */", true},
		{"newline in string", "puts(\"ab", "\n", false},
		{"directive brackets not counted", "#define LP (\n", "int x;", true},
		{"closer after a directive", "#define LP (\nint f() {", "\n}\n)", false},
		{"continued directive", "#define M(a) \\\n  ((a) +", " 1)\nint y;", true},
	},
	Cpp: {
		{"raw string", "auto s = R\"x(", ")\" )x\";", true},
		{"digit separator", "int n = 1'000", "'000;", true},
		{"wrong closer", "void f() { g(", "}", false},
		{"bad raw delimiter", "auto s = R\"a", " (", false},
		{"include", "#include <vector>\n", "int main() { return 0; }", true},
	},
	Rust: {
		{"lifetime", "fn f<'a>(x: &'a str", ") -> &'a str {", true},
		{"char literal", "let c = '", "(';", true},
		{"raw string", "let s = r#\"", "a \" ) b\"#;", true},
		{"string spans lines", "let s = \"a", "\nb\";", true},
		{"nested comment", "/* a /* b */ ", ") */", true},
		{"wrong closer", "fn f() { g(", "}", false},
	},
	CSharp: {
		{"verbatim string", "var s = @\"a", "\n\"\"(\";", true},
		{"interpolated verbatim", "var s = $@\"{x}", "\n\";", true},
		{"newline in string", "var s = \"ab", "\n", false},
		{"wrong closer", "void F() { G(", "}", false},
		{"region directive", "class A {\n  #region x (", "\n}", true},
	},
}

func TestLexerCases(t *testing.T) {
	for _, lang := range Languages() {
		cases := lexCases[lang]
		if len(cases) < 2 {
			t.Errorf("%s: too few lexer cases", lang)
		}
		for _, c := range cases {
			t.Run(string(lang)+"/"+c.name, func(t *testing.T) {
				l, err := NewLexer(lang)
				if err != nil {
					t.Fatal(err)
				}
				l.Prime(c.prefix)
				before := l.OpenBrackets()
				if got := l.Allows(c.piece); got != c.want {
					t.Errorf("Allows(%q) after %q = %v, want %v", c.piece, c.prefix, got, c.want)
				}
				if l.OpenBrackets() != before {
					t.Errorf("Allows changed the state")
				}
				// Feeding byte by byte must agree with the whole piece.
				ok := true
				for i := 0; i < len(c.piece) && ok; i++ {
					ok = l.Feed(c.piece[i : i+1])
				}
				if ok != c.want {
					t.Errorf("byte-wise Feed of %q = %v, want %v", c.piece, ok, c.want)
				}
			})
		}
	}
}

func TestLexerCloneIndependent(t *testing.T) {
	l, _ := NewLexer(Go)
	l.Prime("f(")
	c := l.Clone()
	if !c.Feed(")") || c.Depth() != 0 || l.Depth() != 1 {
		t.Fatalf("clone not independent: clone depth %d, original %d", c.Depth(), l.Depth())
	}
}

// benchTask is one fill-in-the-middle task from the shared benchmark sets.
type benchTask struct {
	lang                   Language
	prefix, middle, suffix string
}

// loadBenchTasks reads SAFIM block completion and HumanEval multi-line
// infilling from ../shared, or skips.
func loadBenchTasks(t testing.TB, limitPerLang int) []benchTask {
	t.Helper()
	root := filepath.Join("..", "..", "shared", "bench")
	if _, err := os.Stat(root); err != nil {
		t.Skipf("shared benchmark data not found at %s (it is only present in the project's workspace)", root)
	}
	var out []benchTask
	count := map[Language]int{}
	read := func(path string, each func(map[string]any)) {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		z, err := gzip.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(z)
		sc.Buffer(make([]byte, 1<<20), 1<<26)
		for sc.Scan() {
			var m map[string]any
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				t.Fatal(err)
			}
			each(m)
		}
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
	}
	safimLang := map[string]Language{"python": Python, "java": Java, "cpp": Cpp, "csharp": CSharp}
	read(filepath.Join(root, "safim", "block_completion.jsonl.gz"), func(m map[string]any) {
		lang, ok := safimLang[m["lang"].(string)]
		if !ok || count[lang] >= limitPerLang {
			return
		}
		pre, suf, found := strings.Cut(m["eval_prompt"].(string), "{{completion}}")
		if !found {
			return
		}
		count[lang]++
		out = append(out, benchTask{lang, pre, m["ground_truth"].(string), suf})
	})
	n := 0
	read(filepath.Join(root, "humaneval-infilling", "HumanEval-MultiLineInfilling.jsonl.gz"), func(m map[string]any) {
		if n >= limitPerLang {
			return
		}
		n++
		out = append(out, benchTask{Python, m["prompt"].(string), m["canonical_solution"].(string), m["suffix"].(string)})
	})
	return out
}

// TestLexerAcceptsGroundTruth primes the lexer with each benchmark task's
// prefix and feeds the reference completion in token-like pieces: the
// automaton must not call any piece of a correct answer impossible.
func TestLexerAcceptsGroundTruth(t *testing.T) {
	tasks := loadBenchTasks(t, 100000)
	bad := 0
	for i, task := range tasks {
		l, _ := NewLexer(task.lang)
		l.Prime(task.prefix)
		for _, p := range chunks(task.middle, 5, int64(i)) {
			if !l.Feed(p) {
				bad++
				if bad <= 5 {
					t.Errorf("%s task %d: reference piece %q rejected; prefix ends %q", task.lang, i, p, tail(task.prefix, 80))
				}
				break
			}
		}
	}
	t.Logf("%d tasks, %d references rejected", len(tasks), bad)
}

// benchVocab builds a token-like vocabulary from the samples: every piece of
// 1..8 bytes that a few random cuts produce, plus every printable byte.
func benchVocab(b *testing.B) []string {
	seen := map[string]bool{}
	var vocab []string
	add := func(p string) {
		if !seen[p] {
			seen[p] = true
			vocab = append(vocab, p)
		}
	}
	for c := byte(32); c < 127; c++ {
		add(string([]byte{c}))
	}
	add("\n")
	add("\n\t")
	add("\n    ")
	for _, lang := range languages {
		src := string(readSample(b, lang))
		for seed := int64(0); seed < 40; seed++ {
			for _, p := range chunks(src, 8, seed) {
				add(p)
			}
		}
	}
	return vocab
}

// BenchmarkLexerMask measures the lexical mask over a vocabulary, in the
// state after a real prefix; ns/token is the per-token cost of one decode
// step's mask.
func BenchmarkLexerMask(b *testing.B) {
	vocab := benchVocab(b)
	for _, lang := range []Language{Go, Python, JavaScript, Cpp} {
		b.Run(string(lang), func(b *testing.B) {
			src := string(readSample(b, lang))
			l, _ := NewLexer(lang)
			l.Prime(src[:len(src)*2/3])
			allowed := make([]bool, len(vocab))
			v := NewVocab(vocab)
			m := startCPU(b)
			for i := 0; i < b.N; i++ {
				l.Mask(v, allowed)
			}
			m.report(b.N*len(vocab), "token")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(vocab)), "ns/token")
			masked := 0
			for _, a := range allowed {
				if !a {
					masked++
				}
			}
			b.ReportMetric(float64(len(vocab)), "vocab")
			b.ReportMetric(float64(masked)/float64(len(vocab)), "masked-frac")
		})
	}
}

// TestMaskMatchesAllows checks the shortcut in Mask against running the
// automaton on every piece, in many states of every sample.
func TestMaskMatchesAllows(t *testing.T) {
	seen := map[string]bool{}
	var vocab []string
	for c := 0; c < 256; c++ {
		vocab = append(vocab, string([]byte{byte(c)}))
	}
	for _, lang := range languages {
		for _, p := range chunks(string(readSample(t, lang)), 6, 3) {
			if !seen[p] {
				seen[p] = true
				vocab = append(vocab, p)
			}
		}
	}
	v := NewVocab(vocab)
	allowed := make([]bool, len(vocab))
	for _, lang := range languages {
		src := string(readSample(t, lang))
		l, _ := NewLexer(lang)
		for at, p := range chunks(src, 4, 9) {
			l.Mask(v, allowed)
			for i, piece := range vocab {
				if allowed[i] != l.Allows(piece) {
					t.Fatalf("%s piece %d: Mask says %v for %q, Allows says %v; after %q", lang, at, allowed[i], piece, !allowed[i], tail(src, 40))
				}
			}
			if !l.Feed(p) {
				t.Fatalf("%s: valid piece %q rejected", lang, p)
			}
		}
	}
}

// BenchmarkLexerFeed measures advancing one beam's automaton by one token.
func BenchmarkLexerFeed(b *testing.B) {
	src := string(readSample(b, Go))
	pieces := chunks(src, 5, 1)
	l, _ := NewLexer(Go)
	m := startCPU(b)
	defer func() { m.report(b.N, "op") }()
	for i := 0; i < b.N; i++ {
		p := pieces[i%len(pieces)]
		if i%len(pieces) == 0 {
			l, _ = NewLexer(Go)
		}
		if !l.Feed(p) {
			b.Fatalf("rejected %q", p)
		}
	}
}
