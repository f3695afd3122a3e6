package tokenizer

import (
	"bufio"
	"bytes"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/ghostline-dev/ghostline/model/gguf"
)

// diffAlphabet mixes every codepoint class the pre-tokenizers distinguish,
// contractions, special-token texts and invalid UTF-8 (but no sequence above
// U+10FFFF, on which llama.cpp throws, and no NUL, which separates inputs).
var diffAlphabet = []string{"a", "Z", "0", "9", " ", " ", " ", "'", "\t", "\n", "\r", "\v", "\f", ".", ",", ";", ":", "!", "?",
	"(", ")", "[", "]", "{", "}", "<", ">", "=", "+", "-", "*", "/", "\\", "\"", "$", "^", "~", "|", "`", "_", "@", "#", "%", "&",
	"s", "S", "t", "T", "re", "RE", "ve", "m", "ll", "d", "D", "x", "func", "return", "if", "err", " != nil", ":=", "0x", "123", "4567",
	"é", "ß", "Ж", "λ", "ק", "ب", "中", "文", "가", "ㄱ", "ア", "ー", "\u0301", "\u0903", "٣", "²", "Ⅻ", "½",
	"\u00a0", "\u3000", "\u2028", "\u0085", "\u1680", "\u200b", "\u200d", "\x01", "\x1c", "\x7f",
	"😁", "🦙", "€", "©", "°", "•", "…", "“", "”", "«", "»", "～", "。", "、", "\ufffd", "▁",
	"<fim_prefix>", "<|endoftext|>", "<｜fim▁begin｜>", "<s>", "</s>", "ø", "õ",
	"\xff", "\xc3", "\xe2\x82", "\xed\xa0\x80", "\xc0\x80", "\x80"}

// TestAgainstLlamaCpp compares Encode with llama.cpp itself on thousands of
// random inputs and on real Go source, for every fixture vocabulary and for
// the StarCoder vocabulary under every pre-tokenizer, in three modes (plain;
// BOS per metadata; BOS and special tokens parsed). It needs the lltok
// helper (testdata/tokenizer/lltok.cpp) built against llama.cpp, named by
// GHOSTLINE_LLTOK, and skips without it.
func TestAgainstLlamaCpp(t *testing.T) {
	lltok := os.Getenv("GHOSTLINE_LLTOK")
	if lltok == "" {
		t.Skip("GHOSTLINE_LLTOK is not set (build testdata/tokenizer/lltok.cpp against llama.cpp to run this test)")
	}
	fixtures := sharedDir(t)
	tmp := t.TempDir()

	rng := rand.New(rand.NewSource(1))
	var cases []string
	for len(cases) < 3000 {
		var b strings.Builder
		for k := rng.Intn(30) + 1; k > 0; k-- {
			b.WriteString(diffAlphabet[rng.Intn(len(diffAlphabet))])
		}
		cases = append(cases, b.String())
	}
	if src, err := os.ReadFile("pretok.go"); err == nil {
		cases = append(cases, string(src))
	}
	casesPath := filepath.Join(tmp, "cases")
	if err := os.WriteFile(casesPath, []byte(strings.Join(cases, "\x00")), 0o644); err != nil {
		t.Fatal(err)
	}

	models, _ := filepath.Glob(filepath.Join(fixtures, "vocab", "*.gguf"))
	models = append(models, filepath.Join(fixtures, "models", "llama-dscoder-f32.gguf"), filepath.Join(fixtures, "models", "qwen2-f32.gguf"))
	for _, pre := range []string{"qwen2", "llama-bpe", "smollm", "default", "deepseek-coder", "gpt-2"} {
		p := filepath.Join(tmp, "starcoder-as-"+pre+".gguf")
		if err := rewritePre(filepath.Join(fixtures, "vocab", "ggml-vocab-starcoder.gguf"), p, pre); err != nil {
			t.Fatal(err)
		}
		models = append(models, p)
	}
	for _, model := range models {
		tk, err := Open(model)
		if err != nil {
			t.Fatal(err)
		}
		for _, mode := range []struct{ add, parse bool }{{false, false}, {true, false}, {true, true}} {
			out, err := exec.Command(lltok, model, casesPath, b01(mode.add), b01(mode.parse)).Output()
			if err != nil {
				t.Fatalf("lltok %s: %v", model, err)
			}
			sc := bufio.NewScanner(bytes.NewReader(out))
			sc.Buffer(make([]byte, 1<<20), 1<<24)
			opt := EncodeOptions{ParseSpecial: mode.parse}
			if mode.add {
				opt.AddBOS, opt.AddEOS = tk.AddBOS(), tk.AddEOS()
			}
			bad := 0
			for i, c := range cases {
				if !sc.Scan() {
					t.Fatalf("%s: llama.cpp printed %d lines for %d inputs", model, i, len(cases))
				}
				var want []int32
				for _, f := range strings.Fields(sc.Text()) {
					n, _ := strconv.Atoi(f)
					want = append(want, int32(n))
				}
				if got := tk.Encode(c, opt); !slices.Equal(got, want) {
					if bad++; bad <= 3 {
						t.Errorf("%s %+v %q:\n got %v\nwant %v", filepath.Base(model), mode, c, got, want)
					}
				}
			}
			t.Logf("%s %+v: %d/%d identical to llama.cpp", filepath.Base(model), mode, len(cases)-bad, len(cases))
		}
	}
}

func b01(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// rewritePre copies a GGUF's metadata with tokenizer.ggml.pre replaced.
func rewritePre(src, dst, pre string) error {
	f, err := gguf.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	w := gguf.NewWriter()
	for _, kv := range f.KVs {
		if kv.Key != "tokenizer.ggml.pre" {
			w.AddKV(kv.Key, kv.Value)
		}
	}
	w.AddKV("tokenizer.ggml.pre", gguf.StringValue(pre))
	return w.WriteFile(dst)
}
