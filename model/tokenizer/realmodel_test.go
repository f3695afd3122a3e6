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

	"github.com/ghostline-dev/ghostline/model/store"
)

// The references under testdata/qwen2.5-coder were made by llama.cpp from
// this file (the catalogue's qwen2.5-coder-0.5b, Qwen's
// qwen2.5-coder-0.5b-instruct-q4_k_m.gguf); see testdata/qwen2.5-coder/README.md.
const (
	realModelName   = "qwen2.5-coder-0.5b"
	realModelSHA256 = "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
)

// installedRealModel returns the path of the installed qwen2.5-coder-0.5b,
// or skips the test with the command that installs it.
func installedRealModel(t testing.TB) string {
	t.Helper()
	e, ok := store.Lookup(realModelName)
	if !ok || e.SHA256 != realModelSHA256 {
		t.Skipf("the catalogue's %s is no longer the file the references were made from (sha256 %s)", realModelName, realModelSHA256)
	}
	s, err := store.OpenDefault()
	if err != nil {
		t.Skipf("no model store: %v", err)
	}
	path, err := s.Resolve(realModelName)
	if err != nil {
		t.Skipf("%s is not installed (%v): run `ghostline pull %s` to include this test", realModelName, err, realModelName)
	}
	return path
}

// TestRealQwen2Vocab holds the tokenizer of the real default model (Qwen2.5
// vocabulary, qwen2 pre-tokenizer, 151,665 tokens) to llama.cpp's ids on
// code in every language Ghostline serves, unicode (CJK, emoji with ZWJ and
// modifiers, combining marks, RTL with direction marks), whitespace runs,
// tabs, CR LF, digit runs, contractions and special-token texts: no BOS,
// special tokens not parsed, as a completion prompt's text is encoded.
// Where ../shared is present it also runs llama.cpp's own qwen2 vocabulary
// cases, whose expected ids llama.cpp reproduces on this file.
func TestRealQwen2Vocab(t *testing.T) {
	path := installedRealModel(t)
	tk := loadTokenizer(t, path)
	sets := []string{filepath.Join("testdata", "qwen2.5-coder", "qwen2.5-coder-0.5b")}
	shared := filepath.Join("..", "..", "..", "shared", "fixtures", "vocab", "ggml-vocab-qwen2.gguf")
	if _, err := os.Stat(shared + ".inp"); err == nil {
		sets = append(sets, shared)
	} else {
		t.Logf("llama.cpp's qwen2 cases not found at %s: checking the committed cases only", shared)
	}
	for _, base := range sets {
		texts, want := vocabCases(t, base)
		failed := 0
		for i, text := range texts {
			got := tk.Encode(text, EncodeOptions{})
			if !slices.Equal(got, want[i]) {
				failed++
				t.Errorf("%s case %d %q:\n got %v\nwant %v", filepath.Base(base), i, text, got, want[i])
				continue
			}
			// The ids must also give the text back: a completion is shown
			// by decoding them.
			back, err := tk.Decode(got, DecodeOptions{})
			if err != nil {
				t.Fatalf("case %d: %v", i, err)
			}
			if back != text {
				t.Errorf("%s case %d does not round-trip:\n got %q\nwant %q", filepath.Base(base), i, back, text)
			}
		}
		t.Logf("%s: %d/%d cases identical to llama.cpp", filepath.Base(base), len(texts)-failed, len(texts))
	}
}

// TestRealQwen2AgainstLlamaCpp is TestAgainstLlamaCpp on the real default
// model: 3,000 random mixtures of diffAlphabet and Qwen's control texts plus this package's sources,
// in the three modes (plain; BOS per metadata; BOS and special tokens
// parsed). Opt-in like that test: it needs the lltok helper named by
// GHOSTLINE_LLTOK.
func TestRealQwen2AgainstLlamaCpp(t *testing.T) {
	lltok := os.Getenv("GHOSTLINE_LLTOK")
	if lltok == "" {
		t.Skip("GHOSTLINE_LLTOK is not set (build testdata/tokenizer/lltok.cpp against llama.cpp to run this test)")
	}
	path := installedRealModel(t)
	tk := loadTokenizer(t, path)
	// Qwen's own control texts join the alphabet, so the parse-special mode
	// meets them next to ordinary text.
	alphabet := append(slices.Clip(diffAlphabet), "<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>", "<|fim_pad|>",
		"<|file_sep|>", "<|repo_name|>", "<|im_start|>", "<|im_end|>", "<|endoftext|>", "<|fim_prefix", "|>", "<|")
	rng := rand.New(rand.NewSource(6))
	var cases []string
	for len(cases) < 3000 {
		var b strings.Builder
		for k := rng.Intn(40) + 1; k > 0; k-- {
			b.WriteString(alphabet[rng.Intn(len(alphabet))])
		}
		cases = append(cases, b.String())
	}
	for _, f := range []string{"pretok.go", "bpe.go", "realmodel_test.go"} {
		if src, err := os.ReadFile(f); err == nil {
			cases = append(cases, string(src))
		}
	}
	casesPath := filepath.Join(t.TempDir(), "cases")
	if err := os.WriteFile(casesPath, []byte(strings.Join(cases, "\x00")), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []struct{ add, parse bool }{{false, false}, {true, false}, {true, true}} {
		out, err := exec.Command(lltok, path, casesPath, b01(mode.add), b01(mode.parse)).Output()
		if err != nil {
			t.Fatalf("lltok %s: %v", path, err)
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
				t.Fatalf("llama.cpp printed %d lines for %d inputs", i, len(cases))
			}
			var want []int32
			for _, f := range strings.Fields(sc.Text()) {
				n, _ := strconv.Atoi(f)
				want = append(want, int32(n))
			}
			if got := tk.Encode(c, opt); !slices.Equal(got, want) {
				if bad++; bad <= 3 {
					t.Errorf("%+v %q:\n got %v\nwant %v", mode, c, got, want)
				}
			}
		}
		t.Logf("%s %+v: %d/%d identical to llama.cpp", realModelName, mode, len(cases)-bad, len(cases))
	}
}
