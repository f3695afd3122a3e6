package astguard

import "testing"

type truncCase struct {
	name                       string
	lang                       Language
	prefix, completion, suffix string
	unit                       Unit
	want                       string
}

var truncCases = []truncCase{
	{"block stops before repeating the suffix", Go,
		"package a\n\nfunc f(xs []int) int {\n\ttotal := 0\n\t",
		"for _, x := range xs {\n\t\ttotal += x\n\t}\n\treturn total\n}\n\nfunc g() {\n",
		"\n\treturn total\n}\n", UnitBlock, "for _, x := range xs {\n\t\ttotal += x\n\t}"},
	{"block stops at the enclosing closer", Go,
		"package a\n\nfunc f(xs []int) int {\n\ttotal := 0\n\t",
		"total++\n}\n\nfunc g() int {\n\treturn 1\n",
		"\n}\n", UnitBlock, "total++"},
	{"expression drops the repeated rest of line", Go,
		"package a\n\nfunc f(a, b int) int {\n\treturn max(", "a+1, b)\n}\n", ", b)\n}\n", UnitExpression, "a+1"},
	{"block dedent ends the block", Python,
		"def f(xs):\n    total = 0\n    ",
		"for x in xs:\n        total += x\nprint(total)\n", "\n    return total\n", UnitBlock,
		"for x in xs:\n        total += x"},
	{"block stops before repeating the suffix", Python,
		"def f(xs):\n    total = 0\n    ",
		"for x in xs:\n        total += x\n    return total\n\ndef g():\n    pass\n", "\n    return total\n", UnitBlock,
		"for x in xs:\n        total += x"},
	{"statement spans bracketed lines", Python,
		"def f(xs):\n    total = ", "sum(\n        xs)\n    total += 1\n    total *= 2\n", "\n    return total\n", UnitStatement,
		"sum(\n        xs)"},
	{"expression cut at line end", Python,
		"def f(x):\n    return x + ", "1\n    y = 2\n", "\n", UnitExpression, "1"},
	{"block stops at the enclosing closer", JavaScript,
		"function f(xs) {\n  let t = 0;\n  ", "for (const x of xs) {\n    t += x;\n  }\n}\nfunction g() {\n", "\n  return t;\n}\n", UnitBlock,
		"for (const x of xs) {\n    t += x;\n  }"},
	{"expression drops the repeated rest of line", JavaScript,
		"const v = f(", "a, b));\nconst w = 1;\n", "));\n", UnitExpression, "a, b"},
	{"statement ends at the semicolon", TypeScript,
		"function f(xs: number[]): number {\n  const n: number = ", "xs.length; const m = 2;\n  return n;\n}\n", "\n  return n;\n}\n", UnitStatement,
		"xs.length;"},
	{"block stops at the enclosing closer", TypeScript,
		"function f(xs: number[]): number {\n  let t = 0;\n  ", "for (const x of xs) {\n    t += x;\n  }\n}\n", "\n  return t;\n}\n", UnitBlock,
		"for (const x of xs) {\n    t += x;\n  }"},
	{"jsx expression", TSX,
		"const e = <ul>{items.map((i) => <li key={i}>{", "i}</li>)}</ul>;\nconst z = 1;\n", "}</li>)}</ul>;\n", UnitExpression, "i"},
	{"block stops at the enclosing closer", Java,
		"class A {\n  int f(int[] xs) {\n    int t = 0;\n    ", "for (int x : xs) {\n      t += x;\n    }\n  }\n  int g() {\n", "\n    return t;\n  }\n}\n", UnitBlock,
		"for (int x : xs) {\n      t += x;\n    }"},
	{"statement ends at the semicolon", Java,
		"class A {\n  int f(int[] xs) {\n    int t = ", "xs.length;\n    t++;\n", "\n    return t;\n  }\n}\n", UnitStatement, "xs.length;"},
	{"block stops at the enclosing closer", C,
		"int f(int *xs, int n) {\n\tint t = 0;\n\t", "for (int i = 0; i < n; i++)\n\t\tt += xs[i];\n}\nint g(void) {\n", "\n\treturn t;\n}\n", UnitBlock,
		"for (int i = 0; i < n; i++)\n\t\tt += xs[i];"},
	{"expression drops the repeated rest of line", C,
		"int f(int a, int b) {\n\treturn g(", "a + 1, b);\n}\n", ", b);\n}\n", UnitExpression, "a + 1"},
	{"block stops before repeating the suffix", Cpp,
		"#include <vector>\nint f(const std::vector<int>& xs) {\n  int t = 0;\n  ", "for (int x : xs) {\n    t += x;\n  }\n  return t;\n", "\n  return t;\n}\n", UnitBlock,
		"for (int x : xs) {\n    t += x;\n  }"},
	{"statement spans lines", Cpp,
		"int f(int a) {\n  int t = ", "std::max(a,\n                 2);\n  t++;\n", "\n  return t;\n}\n", UnitStatement, "std::max(a,\n                 2);"},
	{"block stops at the enclosing closer", Rust,
		"fn f(xs: &[i32]) -> i32 {\n    let mut t = 0;\n    ", "for x in xs {\n        t += x;\n    }\n}\nfn g() {\n", "\n    t\n}\n", UnitBlock,
		"for x in xs {\n        t += x;\n    }"},
	{"expression drops the repeated rest of line", Rust,
		"fn f(a: i32, b: i32) -> i32 {\n    std::cmp::max(", "a + 1, b)\n}\n", ", b)\n}\n", UnitExpression, "a + 1"},
	{"block stops at the enclosing closer", CSharp,
		"class A {\n  int F(int[] xs) {\n    int t = 0;\n    ", "foreach (var x in xs) {\n      t += x;\n    }\n  }\n}\n", "\n    return t;\n  }\n}\n", UnitBlock,
		"foreach (var x in xs) {\n      t += x;\n    }"},
	{"statement ends at the semicolon", CSharp,
		"class A {\n  int F(int[] xs) {\n    int t = ", "xs.Length;\n    t++;\n", "\n    return t;\n  }\n}\n", UnitStatement, "xs.Length;"},
}

func TestTruncate(t *testing.T) {
	covered := map[Language]bool{}
	for _, tc := range truncCases {
		covered[tc.lang] = true
		t.Run(string(tc.lang)+"/"+tc.name, func(t *testing.T) {
			got, err := Truncate(tc.lang, tc.prefix, tc.completion, tc.suffix, tc.unit)
			if err != nil {
				t.Fatal(err)
			}
			if got.Text != tc.want || !got.Valid {
				t.Errorf("Truncate(%s) = %q (valid %v, %d new errors), want %q", tc.unit, got.Text, got.Valid, got.NewErrors, tc.want)
			}
			// The result must parse in place without new errors.
			c, err := NewChecker(tc.lang, tc.prefix, tc.suffix)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if j, _ := c.Final(got.Text); j.NewErrors != 0 {
				t.Errorf("truncated text adds errors: %+v", j.Errors)
			}
		})
	}
	for _, lang := range Languages() {
		if !covered[lang] {
			t.Errorf("%s: no truncation case", lang)
		}
	}
}

func TestTruncateNothingValid(t *testing.T) {
	got, err := Truncate(Go, "package a\n\nfunc f() {\n\t", "x := := 1\n", "\n}\n", UnitBlock)
	if err != nil {
		t.Fatal(err)
	}
	if got.Valid || got.NewErrors == 0 {
		t.Errorf("invalid completion reported valid: %+v", got)
	}
}

func TestDecideMode(t *testing.T) {
	cases := []struct {
		lang           Language
		prefix, suffix string
		want           Unit
	}{
		{Go, "func f() {\n\tx := g(", ")\n}\n", UnitStatement}, // an auto-closed ")": a callback may span lines
		{Go, "func f() {\n\tx := g(", "a)\n}\n", UnitExpression},
		{JavaScript, "const server = http.createServer(", ");\n", UnitStatement},
		{Go, "func f() {", "\n}\n", UnitBlock},
		{Go, "func f() {\n\t", "\n}\n", UnitBlock},
		{Go, "func f() {\n\tx := ", "\n}\n", UnitStatement},
		{Go, "func f() {\n\ts := \"abc", "\n}\n", UnitExpression},
		{Python, "def f():\n    ", "\n", UnitBlock},
		{Python, "def f():", "\n", UnitBlock},
		{Python, "def f():\n    return ", "\n", UnitStatement},
		{Python, "def f():\n    # comment ", "\n", UnitExpression},
		{Python, "x = foo(", ", 2)\n", UnitExpression},
		{JavaScript, "if (x) {", "\n}", UnitBlock},
		{Go, "func f() {\n\tgo func() {", "}()\n}\n", UnitBlock}, // a goroutine's body before its call
		{JavaScript, "(function () {", "})();\n", UnitBlock},
		{Go, "func f() {\n\tif x > 0 {", "} else {\n\t}\n}\n", UnitBlock}, // an if's body before its else
		{JavaScript, "try {", "} catch (e) {\n}\n", UnitBlock},
		{C, "int f(void) {\n\tdo {", "} while (x);\n}\n", UnitBlock},
		{JavaScript, "const o = {", "}.a;\n", UnitExpression}, // an object literal
		{Go, "func f() {\n\tx := g(", "h())\n}\n", UnitExpression},
		{TypeScript, "const x: number = ", "\n", UnitStatement},
		{TSX, "const e = <b>{", "}</b>;\n", UnitExpression},
		{Java, "void f() {\n    ", "\n}", UnitBlock},
		{C, "int main(void) {", "\n}", UnitBlock},
		{Cpp, "auto s = R\"(abc", "\n)\";", UnitExpression},
		{Rust, "fn f() {\n    let x = ", "\n}", UnitStatement},
		{CSharp, "void F() { G(", "); }", UnitStatement},
		{CSharp, "void F() { G(", "a); }", UnitExpression},
	}
	for _, tc := range cases {
		got, err := DecideMode(tc.lang, tc.prefix, tc.suffix)
		if err != nil {
			t.Fatal(err)
		}
		if got != tc.want {
			t.Errorf("%s DecideMode(%q|%q) = %s, want %s", tc.lang, tc.prefix, tc.suffix, got, tc.want)
		}
	}
	if _, err := DecideMode("cobol", "", ""); err == nil {
		t.Error("unknown language accepted")
	}
}
