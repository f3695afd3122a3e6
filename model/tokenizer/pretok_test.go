package tokenizer

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// words splits text with the named pre-tokenizer, for tests.
func words(t testing.TB, pre, text string) []string {
	t.Helper()
	p, err := lookupPre(pre)
	if err != nil {
		t.Fatal(err)
	}
	cps := decodeRunes(nil, text)
	ends := p.split(cps, &splitBuf{})
	var out []string
	lo := 0
	for _, hi := range ends {
		out = append(out, string(cps[lo:hi]))
		lo = hi
	}
	return out
}

// TestPreTokenizerTable pins the behaviour that distinguishes the
// pre-tokenizers on the inputs that matter for code.
func TestPreTokenizerTable(t *testing.T) {
	tests := []struct {
		pre, text string
		want      []string
	}{
		// GPT-2: a space sticks to the next word; a whitespace run before a
		// word leaves its last space to that word; digits stay together.
		{"gpt-2", "Hello world", []string{"Hello", " world"}},
		{"gpt-2", "a   b", []string{"a", "  ", " b"}},
		{"gpt-2", "x\t\ty", []string{"x", "\t", "\t", "y"}},
		{"gpt-2", "12345 abc", []string{"12345", " abc"}},
		{"gpt-2", "don't 'RE", []string{"don", "'t", " '", "RE"}},
		{"gpt-2", "a  ", []string{"a", "  "}},
		// StarCoder, refact and smollm first cut every digit out on its own.
		{"starcoder", "x12 3", []string{"x", "1", "2", " ", "3"}},
		{"smollm", "v2.10", []string{"v", "2", ".", "1", "0"}},
		{"refact", "if (a<=b)", []string{"if", " (", "a", "<=", "b", ")"}},
		// Llama 3: numbers in groups of three, one non-letter may lead a word,
		// punctuation swallows the newlines after it, case-insensitive
		// contractions.
		{"llama-bpe", "1234567", []string{"123", "456", "7"}},
		{"llama-bpe", "\tfmt.Println(x)\n", []string{"\tfmt", ".Println", "(x", ")\n"}},
		{"llama-bpe", "a  \n\n  b", []string{"a", "  \n\n", " ", " b"}},
		{"llama-bpe", "WE'VE 'll", []string{"WE", "'VE", " '", "ll"}},
		{"llama-bpe", "x;\r\n}", []string{"x", ";\r\n", "}"}},
		{"llama-bpe", "x ", []string{"x", " "}},
		// Qwen2: the same, but every digit alone.
		{"qwen2", "1234", []string{"1", "2", "3", "4"}},
		{"qwen2", "x=[1, 22];\n", []string{"x", "=[", "1", ",", " ", "2", "2", "];\n"}},
		{"qwen2", "  foo", []string{" ", " foo"}},
		{"qwen2", "é\u0301x", []string{"é", "\u0301x"}}, // a combining mark is "other": it may lead a word
		// deepseek-coder: newlines alone, letters with one optional leading
		// space, punctuation runs, CJK runs, single digits; symbols and the
		// spaces before them stay in the gaps between matches.
		{"deepseek-coder", "a\n\nb", []string{"a", "\n", "\n", "b"}},
		{"deepseek-coder", "x += 42;", []string{"x", " += ", "4", "2", ";"}}, // + and = are symbols, not \p{P}
		{"deepseek-coder", "f(a, b)", []string{"f", "(", "a", ",", " b", ")"}},
		{"deepseek-coder", "我想apple工作", []string{"我想", "apple", "工作"}},
		{"deepseek-coder", "\u3000中", []string{"\u3000", "中"}},
		// default: punctuation runs, then GPT-2, then number runs, then
		// groups of three ASCII digits.
		{"default", "a+=1234", []string{"a", "+=", "123", "4"}},
	}
	for _, tc := range tests {
		if got := words(t, tc.pre, tc.text); !slices.Equal(got, tc.want) {
			t.Errorf("%s %q:\n got %q\nwant %q", tc.pre, tc.text, got, tc.want)
		}
	}
}

// TestPreTokenizerGolden compares the scanners with llama.cpp's regexes as
// the Python regex module evaluates them (testdata/tokenizer/pretok_golden.jsonl,
// made by gen_pretok_golden.py): an independent implementation of the same
// regexes, on curated and random inputs mixing every codepoint class.
func TestPreTokenizerGolden(t *testing.T) {
	path := filepath.Join("..", "..", "testdata", "tokenizer", "pretok_golden.jsonl")
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	n, failed := 0, 0
	for sc.Scan() {
		var c struct {
			Pre   string   `json:"pre"`
			Text  string   `json:"text"`
			Words []string `json:"words"`
		}
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			t.Fatal(err)
		}
		n++
		if got := words(t, c.Pre, c.Text); !slices.Equal(got, c.Words) && !(len(got) == 0 && len(c.Words) == 0) {
			failed++
			if failed <= 20 {
				t.Errorf("%s %q:\n got %q\nwant %q", c.Pre, c.Text, got, c.Words)
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if n < 1000 {
		t.Fatalf("only %d golden cases read", n)
	}
	t.Logf("%d/%d golden splits match", n-failed, n)
}

// TestPreTokenizerAgainstIDs uses llama.cpp's expected ids for vocabularies
// whose files are not available here (qwen2, llama-bpe): merges never cross a
// word, so every word yields at least one token, and inputs made only of
// digits and spaces (where every word is a single token in these
// vocabularies) must yield exactly as many words as ids.
func TestPreTokenizerAgainstIDs(t *testing.T) {
	dir := filepath.Join(sharedDir(t), "vocab")
	for _, pre := range []string{"qwen2", "llama-bpe"} {
		texts, want := vocabCases(t, filepath.Join(dir, "ggml-vocab-"+pre+".gguf"))
		for i, text := range texts {
			w := words(t, pre, text)
			if len(w) > len(want[i]) {
				t.Errorf("%s case %d %q: %d words but llama.cpp made only %d tokens: %q", pre, i, text, len(w), len(want[i]), w)
			}
			digitsOnly := text != ""
			for _, c := range text {
				if c != ' ' && (c < '0' || c > '9') {
					digitsOnly = false
				}
			}
			if digitsOnly && len(w) != len(want[i]) {
				t.Errorf("%s case %d %q: %d words, llama.cpp %d tokens: %q", pre, i, text, len(w), len(want[i]), w)
			}
		}
	}
}

// TestClass spot-checks the codepoint classes against llama.cpp's table
// (unicode-data.cpp): White_Space for \s, general categories otherwise, and
// unassigned/private/format codepoints as \p{C}.
func TestClass(t *testing.T) {
	tests := []struct {
		c    rune
		want uint8
	}{
		{'a', clsLetter}, {'7', clsNumber}, {'_', clsPunct}, {'$', clsSymbol}, {'~', clsSymbol},
		{' ', clsSeparator | clsSpace}, {'\t', clsControl | clsSpace}, {'\v', clsControl | clsSpace},
		{0x1C, clsControl}, {0x85, clsControl | clsSpace}, {0xA0, clsSeparator | clsSpace},
		{0x3000, clsSeparator | clsSpace}, {0x2028, clsSeparator | clsSpace}, {0x200B, clsControl},
		{0x0301, clsMark}, {'²', clsNumber}, {'Ⅻ', clsNumber}, {'中', clsLetter}, {'😁', clsSymbol},
		{0xE000, clsControl}, {0x0378, clsControl}, {0x10FFFF, clsControl}, {0xFFFD, clsSymbol},
	}
	for _, tc := range tests {
		if got := class(tc.c); got != tc.want {
			t.Errorf("class(%U) = %08b, want %08b", tc.c, got, tc.want)
		}
	}
}
