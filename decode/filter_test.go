package decode

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func TestFilters(t *testing.T) {
	for _, tc := range []struct {
		name           string
		prefix, suffix string
		in, want       string
	}{
		// Repetition loops.
		{"loop of one line", "func f() {\n\t", "\n}\n", "x++\n\tx++\n\tx++\n\tx++", "x++"},
		{"loop of two lines", "", "", "a()\nb()\na()\nb()\na()\nb()", "a()\nb()"},
		{"two repeats are not a loop", "", "", "a()\na()\nb()", "a()\na()\nb()"},
		{"repeated unit at line end", "s := \"", "\"\n", strings.Repeat("ab", 30), "ab"},
		{"repeated list items", "xs = [", "]\n", "1, " + strings.Repeat("0, ", 20), "1, 0,"},
		{"short runs survive", "n := ", "\n", "1000000", "1000000"},
		{"hex literal", "mask := ", "\n", "0xFFFFFFFFFFFFFFFF", "0xFFFFFFFFFFFFFFFF"},
		{"big number", "n = ", "\n", "100000000", "100000000"},
		{"comment rule", "", "\n", "// " + strings.Repeat("-", 70), "// " + strings.Repeat("-", 70)},
		{"nested closers", "func f() {\n\tfor {\n\t\tif x {\n\t\t\t", "\n", "n++\n\t\t\t}\n\t\t}\n\t}", "n++\n\t\t\t}\n\t\t}\n\t}"},
		{"nested ends", "def f\n  if x\n    while y\n      ", "\n", "z\n    end\n  end\nend", "z\n    end\n  end\nend"},
		{"loop at one indentation", "", "\n", "a\n}\n}\n}", "a\n}"},
		// Duplicates of the suffix's next lines.
		{"drops the next line", "if x {\n\t", "\n\treturn y\n}\n", "y = 2\n\treturn y", "y = 2"},
		{"drops the next two lines", "def f():\n    ", "\n    return a\nprint(f())\n", "a = 1\n    return a\nprint(f())", "a = 1"},
		{"whole duplicate of the next line", "x := 1\n", "\ny := 2\n", "\ny := 2", ""},
		{"inner closer is not the outer one", "func f() bool {\n\t", "\n}\n", "if x {\n\t\treturn true\n\t}", "if x {\n\t\treturn true\n\t}"},
		{"drops the outer closer", "func f() bool {\n\t", "\n}\n", "return true\n}", "return true"},
		{"keeps a line that only resembles", "if x {\n\t", "\n\treturn y\n}\n", "return y + 1", "return y + 1"},
		// Closers already in the document.
		{"closer after cursor", "print(add(1, ", ")\n", "2))", "2)"},
		{"two closers", "f(g(", "))\n", "x))", "x"},
		{"one of two closers", "f(g(", "))\n", "x)", "x"},
		{"literal closed inside a function", "func f() []int {\n\tps := []int{", "}\n\treturn ps\n}\n", "2, 3}", "2, 3"},
		{"block body closed and written past", "\tif x > 0 {", "} else {\n", "\n\t\treturn 1\n\t} else if x < 0 {", "\n\t\treturn 1"},
		{"empty literal closed inside a function", "func f() []int {\n\tps := []int{", "}\n\treturn ps\n}\n", "}", ""},
		{"string closed and written past", "\tfmt.Println(\"", "\")\n", "Hello, \", name)", "Hello, "},
		{"string reopened for the document's quote", "\tprint(\"", "\")\n", "Hello, \" + name + \"!", "Hello, \" + name + \"!"},
		{"bracket closed and written past", "\treturn f\"Hello, {", "}\"\n", "name}!\"", "name"},
		{"callback closed and chained, closers shared", "const s = http.createServer(", ");\n", "(req, res) => {\n  res.end();\n}).listen(3000);", "(req, res) => {\n  res.end();\n}).listen(3000"}, // the document's ");" closes listen(
		{"escaped quote inside the string", "\tfmt.Println(\"", "\")\n", "say \\\"hi\\\"", "say \\\"hi\\\""},
		{"string closed where the document closes it", "\tfmt.Println(\"", "\")\n", "Hello\")", "Hello"},
		{"callback closed before its closers", "s := http.HandleFunc(\"/\", ", ")\n", "func(w W, r *R) {\n\tw.Write(nil)\n})", "func(w W, r *R) {\n\tw.Write(nil)\n}"},
		{"auto-closed brackets", "print(len(", "))\n", "xs)", "xs"},
		{"closer of its own call kept", "f(g(", "))\n", "h(x)", "h(x)"},
		{"closers then code", "f(", "), y\n", "x)", "x"},
		{"own closer kept", "g(x, ", ")\n", "f()", "f()"},
		{"closer of an earlier line kept", "call(\n  a,\n  ", ")\n", "b", "b"},
		{"closer then the line break", "print(add(1, ", ")\n", "2))\n", "2)"},
		{"semicolon", "let a = b", ";\n", " + c;", " + c"},
		{"closing quote", "s = \"", "\"\n", "abc\"", "abc"},
		{"quote of the completion's own string kept", "f(a, ", "\")\n", "\"b\", \"", "\"b\", \""},
		{"words are not closers", "x = ", "y\n", "a + y", "a + y"},
		{"whole rest of the line", "if (counts.containsKey(", ")) {\n", "w)) {", "w"},
		{"whole rest with arguments", "x = f(clamp(v / max, ", ", 1));\n", "0, 1));", "0"},
		// The last line of a multi-line completion (lineBreak then puts the
		// closers after the cursor on a line of their own).
		{"block body's closer", "func f() error {\n\tif err != nil {", "}\n\treturn nil\n}\n", "\n\t\treturn err\n\t}", "\n\t\treturn err"},
		{"callback's closers", "const server = http.createServer(", ");\n", "(req, res) => {\n  res.end();\n});", "(req, res) => {\n  res.end();\n}"},
		{"call's closer line", "f(", ")\n", "\n\ta,\n)", "\n\ta,"},
		{"object literal", "const d = {", "};\n", "\n  a: 1,\n};", "\n  a: 1,"},
		{"docstring", "def f():\n    \"\"\"", "\"\"\"\n    return 1\n", "\n    Doc.\n    \"\"\"", "\n    Doc."},
		{"nested call's own closer kept", "def f():\n    x = foo(", ")\n", "bar(\n        1,\n    )", "bar(\n        1,\n    )"},
		{"rest with its own call", "y = f(", "g(x))\n", "a + g(x))", "a + "},
		{"own closer on the last line kept", "f(", ")\n", "\n\tg(a,\n\t\tb)", "\n\tg(a,\n\t\tb)"},
		// Whitespace.
		{"whitespace only", "x = ", "\n", "  \n\t ", ""},
		{"trailing blank lines", "def f():\n    ", "\n", "return 1\n\n\n", "return 1"},
		{"space before the word after the cursor", "x = ", "y\n", "a + ", "a + "},
		{"space before a closer", "f(", ")\n", "a ", "a"},
		{"only a space before a word", "x = ", "y\n", " ", ""},
		{"spaces at line ends", "def f():\n    ", "\n", "a()  \n    \n    b()", "a()\n\n    b()"},
		// Indentation in the document's style.
		{"spaces to tabs", "func f() {\n\tif x {\n", "\n}\n", "\t\ty()\n        z()", "\t\ty()\n\t\tz()"},
		{"tabs and spaces to tabs", "func f() {\n\tif x {\n", "\n}\n", "\t\ty()\n\t    z()\n\t  w()", "\t\ty()\n\t\tz()\n\t\tw()"},
		{"alignment after tabs, odd", "int f(void)\n{\n\tif (x) {\n", "\n}\n", "\t\tret = call(a,\n\t\t           b);", "\t\tret = call(a,\n\t\t           b);"},
		{"alignment after tabs, document aligns", "int f(void)\n{\n\tret = g(a,\n\t      b);\n", "\n}\n", "\tx = h(1,\n\t      2);", "\tx = h(1,\n\t      2);"},
		{"tabs to spaces", "def f():\n    if x:\n", "\n", "        y()\n\t\tz()", "        y()\n        z()"},
		{"two-space document", "function f() {\n  if (x) {\n    y();\n  }\n", "}\n", "  a();\n\tb();", "  a();\n  b();"},
		// CRLF documents: the filters see "\n" breaks (the engine gives
		// the document's back after them), and a stop at a line break
		// leaves no "\r" to hide a doubled closer.
		{"crlf closer at a stop", "func main() {\r\n\tfmt.Println(", ")\r\n}\r\n", "\"hi\")\r", "\"hi\""},
		{"crlf single line", "y := f(", ") + y\r\n", "x)\r", "x"},
		{"crlf lines", "func f() {\r\n\t", "\r\n}\r\n", "a()\r\n\tb()\r\n", "a()\n\tb()"},
		{"crlf next line", "if x {\r\n\t", "\r\n\treturn y\r\n}\r\n", "y = 2\r\n\treturn y", "y = 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newDocInfo(tc.prefix, tc.suffix, MultilineAuto)
			if got := applyFilters(tc.in, d); got != tc.want {
				t.Errorf("filter(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestStopRules(t *testing.T) {
	type want struct {
		keep   string
		reason string // "" = go on
	}
	for _, tc := range []struct {
		name           string
		prefix, suffix string
		req            Request
		text           string
		want           want
	}{
		{"single line mid-line", "foo(", "x)\n", Request{}, "a, b\nc", want{"a, b", FinishLines}},
		{"mid-line callback spans lines", "\tsetTimeout(", ", 1000);\n", Request{}, "() => {\n\t\tf();\n", want{}},
		{"mid-line callback ends at its closer", "\tsetTimeout(", ", 1000);\n", Request{}, "() => {\n\t\tf();\n\t}, 1000);", want{"() => {\n\t\tf();\n\t}", FinishLines}},
		{"never spans lines", "\tsetTimeout(", ", 1000);\n", Request{Stop: StopRules{Multiline: MultilineNever}}, "() => {\n\t\tf();\n", want{"() => {", FinishLines}},
		{"mid-line call closed on its line", "x := f(", ", y)\n", Request{}, "g(a)\nb", want{"g(a)", FinishLines}},
		{"multi-line at line end goes on", "def f():\n", "\n", Request{}, "    x = 1\n    y", want{}},
		{"never", "x = ", "\n", Request{Stop: StopRules{Multiline: MultilineNever}}, "1\n", want{"1", FinishLines}},
		{"max lines", "", "", Request{Limits: Limits{MaxLines: 2}}, "a\nb\nc", want{"a\nb", FinishLines}},
		{"block ends at a dedent", "def f():\n    ", "\n", Request{}, "x = 1\n    return x\ndef g", want{"x = 1\n    return x", FinishBlock}},
		{"dedent detected before the line is written", "def f():\n    ", "\n", Request{}, "x = 1\nd", want{"x = 1", FinishBlock}},
		{"dedented closer split from its break", "func f(x int) int {\n\t", "\n", Request{}, "return x\n}", want{"return x", FinishBlock}},
		{"dedented closer with its break in one token", "func f(x int) int {\n\t", "\n", Request{}, "return x\n}\n", want{"return x", FinishBlock}},
		{"sibling with its break in one token", "if x:", "\n", Request{}, "\n    y()\nz()\n", want{"\n    y()", FinishBlock}},
		{"no block end when asked", "def f():\n    ", "\n", Request{Stop: StopRules{NoBlockEnd: true}}, "x = 1\ndef g", want{}},
		{"closing brace of the opened block kept", "func f() {", "\n", Request{}, "\n\tx := 1\n}\n", want{"\n\tx := 1\n}", FinishBlock}},
		{"sibling after the opened block stops", "if x:", "\n", Request{}, "\n    y()\nz", want{"\n    y()", FinishBlock}},
		{"suffix repetition", "func f() {\n\t", "\n\treturn nil\n}\n", Request{}, "x := 1\n\treturn nil\n", want{"x := 1", FinishSuffix}},
		{"inner closer does not repeat the suffix", "func f() bool {\n\t", "\n}\n", Request{}, "if n <= 1 {\n\t\treturn false\n\t}\n", want{}},
		{"suffix repetition off", "func f() {\n\t", "\n\treturn nil\n}\n", Request{Stop: StopRules{NoSuffixStop: true, NoBlockEnd: true}}, "x := 1\n\treturn nil\n", want{}},
		{"stop string", "", "", Request{Stop: StopRules{Strings: []string{"END"}}}, "abcEND", want{"abc", FinishString}},
		// HumanEval's holes: the cursor at column 0 above existing code.
		{"line start goes on across lines", "def f(x):\n", "    return x\n", Request{}, "    x += 1\n    y", want{}},
		{"line start stops at the line below", "def f(x):\n", "    return x\n", Request{}, "    x += 1\n    return x\n", want{"    x += 1", FinishSuffix}},
		{"line start repeating its own line at once", "def f(x):\n    ", "return x\n", Request{}, "return x\n", want{"", FinishSuffix}},
		{"blank line: the code below sets the floor", "    if a:\n        b()\n", "\n        c()\n", Request{}, "        d()\n    e", want{"        d()", FinishBlock}},
		{"chat-style fence ends the completion", "def f():\n", "\n", Request{}, "    return 1\n```\n", want{"    return 1", FinishString}},
		{"fence kept in a document with fences", "s = \"\"\"\n```go\n", "\n", Request{}, "x := 1\n```\n", want{}},
		{"line start dedent below the lines around ends", "    if a:\n        x()\n", "        b()\n", Request{}, "        c()\n    d", want{"        c()", FinishBlock}},
		{"line start below a block opener", "    if a:\n", "        b()\n", Request{}, "        c()\n    d", want{"        c()", FinishBlock}},
		{"line start: the completion may open the block below", "    s = 0\n", "            s += 1\n", Request{}, "    for a in b:\n        if a:\n", want{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newDocInfo(tc.prefix, tc.suffix, tc.req.Stop.Multiline)
			keep, reason, stop := d.stopCheck(tc.text, &tc.req)
			if !stop {
				reason, keep = "", ""
			}
			if keep != tc.want.keep || reason != tc.want.reason {
				t.Errorf("stopCheck(%q) = %q, %q; want %q, %q", tc.text, keep, reason, tc.want.keep, tc.want.reason)
			}
		})
	}
}

func TestMultilineAuto(t *testing.T) {
	for _, tc := range []struct {
		suffix string
		multi  bool
	}{
		{"\n", true}, {")\n", true}, {"]);\n", true}, {"", true}, {" + 1\n", false}, {"x)\n", false},
	} {
		if d := newDocInfo("a = f(", tc.suffix, MultilineAuto); d.multiline != tc.multi {
			t.Errorf("suffix %q: multiline %v, want %v", tc.suffix, d.multiline, tc.multi)
		}
	}
	// A body between braces before a call: "go func() {|}()".
	if d := newDocInfo("\tgo func() {", "}()\n", MultilineAuto); !d.multiline {
		t.Error("goroutine body: not multiline")
	}
	if d := newDocInfo("\tif x > 0 {", "} else {\n", MultilineAuto); !d.multiline {
		t.Error("an if's body before its else: not multiline")
	}
	if d := newDocInfo("\treturn <b>{", "}</b>;\n", MultilineAuto); d.multiline {
		t.Error("a JSX expression: multiline")
	}
	if d := newDocInfo("\tx := g(", "h())\n", MultilineAuto); d.multiline {
		t.Error("a call's argument before another call: multiline")
	}
	// At the start of a line above existing code, whole lines are inserted.
	if d := newDocInfo("x = 1\n  ", "return x\n", MultilineAuto); !d.multiline {
		t.Error("cursor in the indentation before code: not multiline")
	}
}

// TestClosedLine: before closers the editor auto-inserted, a completion
// ends at the line on which it closes a bracket that was open at the
// cursor (the closers close it already), and not before.
func TestClosedLine(t *testing.T) {
	for _, tc := range []struct {
		name, prefix, suffix, text string
		want                       string // the completion kept; "" while it goes on
	}{
		{"call closed on its line", "\tfmt.Println(", ")\n}\n", "names)\n\tfmt.Println(", "names)"},
		{"callback still open", "const s = http.createServer(", ");\n", "(req, res) => {\n", ""},
		{"callback closed", "const s = http.createServer(", ");\n", "(req, res) => {\n  res.end();\n});\n\ns.listen(", "(req, res) => {\n  res.end();\n});"},
		{"callback closed, line not ended", "f(", ")\n", "func() {\n}", ""},
		{"literal closed inside a function", "func f() []int {\n\tps := []int{", "}\n", "}\n\tfor i := 0; i < 10; i++ {\n", "}"},
		{"block body", "\tif err != nil {", "}\n", "\n\t\treturn err\n", ""},
		{"block body before else, closed", "\tif x > 0 {", "} else {\n", "\n\t\treturn 1\n\t} else if y {\n\t\tz()", "\n\t\treturn 1\n\t} else if y {"},
		{"block body before else, open", "\tif x > 0 {", "} else {\n", "\n\t\treturn 1\n", ""},
		{"argument without its closer", "\tf(", ")\n", "a,\n", ""},
		{"nested call closed", "\tf(", ")\n", "g(a),\n", ""},
		{"nothing after the cursor", "\tx := ", "\n", "1\n", ""},
		{"object literal before a semicolon", "let a = ", ";\n", "{\n", ""},
		{"expression before a semicolon", "let a = ", ";\n", "f(b)\n", "f(b)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newDocInfo(tc.prefix, tc.suffix, MultilineAuto)
			end, ok := d.closedLine(tc.text)
			got := ""
			if ok {
				got = tc.text[:end]
			}
			if got != tc.want {
				t.Errorf("closedLine(%q) keeps %q, want %q", tc.text, got, tc.want)
			}
		})
	}
}

// TestLineBreakAtLineStart: a completion of whole lines inserted above
// existing code ends with a line break and the cursor line's indentation,
// so the code after the cursor keeps its own line; nowhere else.
func TestLineBreak(t *testing.T) {
	for _, tc := range []struct {
		name, prefix, suffix, text string
		endsLine                   bool
		want                       string
	}{
		{"column 0", "def f(x):\n", "    return x\n", "    x += 1", true, "    x += 1\n"},
		{"after the indentation", "def f(x):\n    ", "return x\n", "x += 1", true, "x += 1\n    "},
		{"line not ended", "def f(x):\n", "    return x\n", "    x +", false, "    x +"},
		{"mid-line", "y = f(", "x)\n", "a, ", true, "a, "},
		{"empty line", "def f(x):\n", "\n", "    x += 1", true, "    x += 1"},
		{"empty completion", "def f(x):\n", "    return x\n", "", true, ""},
		{"block body between braces", "\tif err != nil {", "}\n", "\n\t\treturn err", true, "\n\t\treturn err\n\t"},
		{"docstring body", "    \"\"\"", "\"\"\"\n", "\n    Doc.", true, "\n    Doc.\n    "},
		{"goroutine body before its call", "\tgo func() {", "}()\n", "\n\t\tdone <- true", true, "\n\t\tdone <- true\n\t"},
		{"body before else", "\tif x {", "} else {\n", "\n\t\ty()", true, "\n\t\ty()\n\t"},
		{"callback on the cursor's line", "f(", ");\n", "func() {\n}", true, "func() {\n}"},
		{"lisp stacks its closers", "(defun foo (x)", ")\n", "\n  (1+ x)", true, "\n  (1+ x)"},
		{"arguments before a parenthesis", "\tf(", ")\n", "\n\t\ta,\n\t\tb", true, "\n\t\ta,\n\t\tb"},
		{"one argument a line", "\tf(", ")\n", "\n\t\ta,\n\t\tb,", true, "\n\t\ta,\n\t\tb,\n\t"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newDocInfo(tc.prefix, tc.suffix, MultilineAuto)
			if got := tc.text + d.lineBreak(tc.text, tc.endsLine); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestWholeLines(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"a()\n\tb(", "a()\n"},
		{"a()\n", "a()\n"},
		{"\n    return x + fo", "\n    return x + fo"}, // one visible line: kept
		{"x + fo", "x + fo"},
	} {
		if got := wholeLines(tc.in); got != tc.want {
			t.Errorf("wholeLines(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestIndentStyle(t *testing.T) {
	for _, tc := range []struct {
		text string
		tabs bool
		unit int
	}{
		{"func f() {\n\tx\n\tif y {\n\t\tz\n\t}\n}\n", true, 4},
		{"def f():\n    x\n    if y:\n        z\n", false, 4},
		{"function f() {\n  x;\n  if (y) {\n    z;\n  }\n}\n", false, 2},
		{"x = 1\n", false, 4},
		// A licence header's " * " lines are not one-space indentation.
		{"/*\n * Copyright\n * MIT\n */\nint f() {\n\tif (x) {\n\t\treturn 1;\n\t}\n}\n", true, 4},
		{"/**\n * Doc.\n */\nclass A {\n  int f() {\n    return 1;\n  }\n}\n", false, 2},
	} {
		tabs, unit, _ := indentStyle(tc.text)
		if tabs != tc.tabs || unit != tc.unit {
			t.Errorf("%q: tabs %v unit %d, want %v %d", tc.text, tabs, unit, tc.tabs, tc.unit)
		}
	}
}

func TestSampling(t *testing.T) {
	logits := []float32{1, 5, 3, 5, -2, 0, 4.5}
	if got := topK(logits, 3); !slices.Equal(got, []int32{1, 3, 6}) {
		t.Errorf("topK = %v (ties by lower id)", got)
	}
	if got := sampleOrder(logits, Sampling{}, nil, 2); !slices.Equal(got, []int32{1, 3}) {
		t.Errorf("greedy order = %v", got)
	}
	// top-k 1 is greedy whatever the temperature.
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 50; i++ {
		if got := sampleOrder(logits, Sampling{Temperature: 2, TopK: 1}, rng, 1); got[0] != 1 {
			t.Fatalf("top-k 1 sampled %d", got[0])
		}
	}
	// min-p 0.5 at temperature 1 keeps ids 1, 3 and 6 (e^-0.5 ≈ 0.61 ≥ 0.5); never 2.
	seen := map[int32]int{}
	for i := 0; i < 2000; i++ {
		seen[sampleOrder(logits, Sampling{Temperature: 1, MinP: 0.5}, rng, 1)[0]]++
	}
	for id := range seen {
		if id != 1 && id != 3 && id != 6 {
			t.Errorf("min-p let id %d through: %v", id, seen)
		}
	}
	if seen[1] < 500 || seen[3] < 500 || seen[6] < 300 {
		t.Errorf("frequencies %v far from 0.38/0.38/0.23", seen)
	}
	// top-p 0.5 keeps the smallest set reaching half the mass: ids 1 and 3.
	for i := 0; i < 500; i++ {
		if id := sampleOrder(logits, Sampling{Temperature: 1, TopP: 0.5}, rng, 1)[0]; id != 1 && id != 3 {
			t.Fatalf("top-p 0.5 sampled %d", id)
		}
	}
	// The same seed gives the same draws.
	a := rand.New(rand.NewPCG(9, 9))
	b := rand.New(rand.NewPCG(9, 9))
	for i := 0; i < 100; i++ {
		x := sampleOrder(logits, Sampling{Temperature: 1.5}, a, 3)
		y := sampleOrder(logits, Sampling{Temperature: 1.5}, b, 3)
		if !slices.Equal(x, y) {
			t.Fatal("same seed, different draws")
		}
	}
}

func TestExpNeg(t *testing.T) {
	for x := float32(-86.9); x <= 0; x += 0.0137 {
		got, want := float64(expNeg(x)), math.Exp(float64(x))
		if math.Abs(got-want) > 1e-6*want {
			t.Fatalf("expNeg(%v) = %v, want %v", x, got, want)
		}
	}
	logits := []float32{3, -1, 0.5, 2.25, -40, 7}
	var s float64
	for _, v := range logits {
		s += math.Exp(float64(v))
	}
	if got := logSumExp(logits); math.Abs(got-math.Log(s)) > 1e-6 {
		t.Errorf("logSumExp = %v, want %v", got, math.Log(s))
	}
}

// FuzzFilters holds the post-filters and stop rules to their contract on
// any document and model text: no panic; a stop keeps a prefix of the
// text; and filtering only removes text from the end or changes
// whitespace (re-indenting, line breaks), so the filtered completion
// without whitespace is a prefix of the model's text without it.
func FuzzFilters(f *testing.F) {
	for _, s := range [][3]string{
		{"\tfmt.Println(\"", "\")\n}\n", "Hello, \", name)"},
		{"const s = http.createServer(", ");\n", "(req, res) => {\n  res.end();\n});\n"},
		{"\tsetTimeout(", ", 1000);\n", "() => {\n\t\tf();\n\t}, 1000);"},
		{"return f\"Hello, {", "}\"\n", "name}!\""},
		{"func f() {\n\tps := []int{", "}\n}\n", "}\n\tfor {\n"},
		{"def f(x):\n", "    return x\r\n", "    x += 1\r\n    return x\r\n"},
	} {
		f.Add(s[0], s[1], s[2])
	}
	noSpace := func(s string) string {
		return strings.Map(func(r rune) rune {
			if strings.ContainsRune(" \t\r\n", r) {
				return -1
			}
			return r
		}, s)
	}
	f.Fuzz(func(t *testing.T, prefix, suffix, text string) {
		for _, ml := range []Multiline{MultilineAuto, MultilineAlways, MultilineNever} {
			d := newDocInfo(prefix, suffix, ml)
			req := Request{Stop: StopRules{Multiline: ml}}
			if keep, _, stop := d.stopCheck(text, &req); stop && !strings.HasPrefix(text, keep) {
				t.Fatalf("stopCheck(%q) keeps %q, not a prefix", text, keep)
			}
			out := applyFilters(text, d)
			if !strings.HasPrefix(noSpace(text), noSpace(out)) {
				t.Fatalf("filters turned %q into %q: more than trimming and whitespace", text, out)
			}
			// A replacing completion is the text whole, and replaces
			// only closers and separators on the cursor's line.
			if _, whole, n := filterReplacing(text, d); n > 0 {
				if !strings.HasPrefix(noSpace(text), noSpace(whole)) {
					t.Fatalf("replacing filters turned %q into %q", text, whole)
				}
				if n > len(d.restOfLine) || !onlyClosers(d.restOfLine[:n]) {
					t.Fatalf("replaces %d bytes of %q", n, d.restOfLine)
				}
			}
		}
	})
}

// TestReplacedClosers: before closers an editor auto-inserted, a
// completion that writes them itself and goes on is kept whole, with the
// bytes after the cursor it replaces; one that only ends with them is
// trimmed as before and replaces nothing.
func TestReplacedClosers(t *testing.T) {
	for _, tc := range []struct {
		name           string
		prefix, suffix string
		in, want       string
		replace        int
	}{
		{"string closed and written past", "\tfmt.Println(\"", "\")\n", "Hello, \", name)", "Hello, \", name)", 2},
		{"string closed, call left to the document", "\tfmt.Println(\"", "\")\n", "Hello, \", name", "Hello, \", name", 1},
		{"string closed and nothing more", "\tfmt.Println(\"", "\")\n", "Hello, \"", "Hello, ", 0},
		{"f-string brace and quote", "\treturn f\"Hello, {", "}\"\n", "name}!\"", "name}!\"", 2},
		{"call written past, separator kept", "\tfoo(", ");\n", "x).length", "x).length", 1},
		{"call written past with its separator", "\tfoo(", ");\n", "x).length;", "x).length;", 2},
		{"ending with the closers is trimmed", "\tfoo(", ");\n", "x).then(f);", "x).then(f", 0},
		{"inner call closed, outer written past", "\tfoo(bar(", "))\n", "x), y)", "x), y)", 2},
		{"closer written twice is trimmed", "print(add(1, ", ")\n", "2))", "2)", 0},
		{"closes more than the closers", "int main(){while(q--){", "}}\n", "x;}return 0;}}", "x;", 0},
		{"closer only", "f(g(", "))\n", "x))", "x", 0},
		{"words after the cursor", "\tfoo(", ", b)\n", "a), c(", "a), c(", 0},
		{"nothing closed", "\tfoo(", ")\n", "a, b", "a, b", 0},
		{"spaces inside the closers", "\tx := []int{ ", " }\n", "1 }, y", "1 }, y", 2},
		{"quote on a later line does not match", "\ts := \"", "\"\n", "a\nb\", c", "a\nb\", c", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newDocInfo(tc.prefix, tc.suffix, MultilineAuto)
			plain, got, r := filterReplacing(tc.in, d)
			if r == 0 {
				got = plain
			}
			if got != tc.want || r != tc.replace {
				t.Errorf("filter(%q) = %q replacing %d, want %q replacing %d", tc.in, got, r, tc.want, tc.replace)
			}
		})
	}
}
