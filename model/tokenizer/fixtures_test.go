package tokenizer

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// sharedDir is the shared read-only test data (../shared from the repository
// root). Tests that need it skip where it is absent.
func sharedDir(t testing.TB) string {
	t.Helper()
	dir := filepath.Join("..", "..", "..", "shared", "fixtures")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("shared fixtures not found at %s (they live next to the repository): %v", dir, err)
	}
	return dir
}

var (
	tokMu    sync.Mutex
	tokCache = map[string]*Tokenizer{}
)

// loadTokenizer opens (once per test binary) the tokenizer of a GGUF file.
func loadTokenizer(t testing.TB, path string) *Tokenizer {
	t.Helper()
	tokMu.Lock()
	defer tokMu.Unlock()
	if tk, ok := tokCache[path]; ok {
		return tk
	}
	tk, err := Open(path)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	tokCache[path] = tk
	return tk
}

// vocabCases reads llama.cpp's test-tokenizer-0 inputs and expected ids.
func vocabCases(t testing.TB, base string) (texts []string, want [][]int32) {
	t.Helper()
	inp, err := os.ReadFile(base + ".inp")
	if err != nil {
		t.Fatal(err)
	}
	out, err := os.ReadFile(base + ".out")
	if err != nil {
		t.Fatal(err)
	}
	texts = strings.Split(string(inp), "\n__ggml_vocab_test__\n")
	if texts[len(texts)-1] == "" {
		texts = texts[:len(texts)-1]
	}
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(lines) != len(texts) {
		t.Fatalf("%s: %d inputs but %d expected lines", base, len(texts), len(lines))
	}
	for _, l := range lines {
		var ids []int32
		for _, f := range strings.Fields(l) {
			n, err := strconv.Atoi(f)
			if err != nil {
				t.Fatalf("%s.out: %v", base, err)
			}
			ids = append(ids, int32(n))
		}
		want = append(want, ids)
	}
	return texts, want
}

// TestVocabFixtures checks every case of llama.cpp's vocabulary tests: no
// BOS, special tokens not parsed.
func TestVocabFixtures(t *testing.T) {
	dir := filepath.Join(sharedDir(t), "vocab")
	files, _ := filepath.Glob(filepath.Join(dir, "*.gguf"))
	if len(files) == 0 {
		t.Skip("no vocabulary fixtures")
	}
	for _, path := range files {
		name := strings.TrimSuffix(filepath.Base(path), ".gguf")
		t.Run(name, func(t *testing.T) {
			tk := loadTokenizer(t, path)
			texts, want := vocabCases(t, path)
			failed := 0
			for i, text := range texts {
				got := tk.Encode(text, EncodeOptions{})
				if !slices.Equal(got, want[i]) {
					failed++
					t.Errorf("case %d %q:\n got %v\nwant %v", i, text, got, want[i])
				}
			}
			t.Logf("%s: %d/%d cases match llama.cpp", name, len(texts)-failed, len(texts))
		})
	}
}

type referenceFile struct {
	Model string `json:"model"`
	Cases []struct {
		Text   string  `json:"text"`
		Tokens []int32 `json:"tokens"`
	} `json:"cases"`
}

// TestReferenceTokens checks the tokens of llama.cpp's reference runs: BOS as
// the metadata says, special tokens parsed.
func TestReferenceTokens(t *testing.T) {
	dir := sharedDir(t)
	files, _ := filepath.Glob(filepath.Join(dir, "reference", "*.json"))
	if len(files) == 0 {
		t.Skip("no reference files")
	}
	for _, path := range files {
		name := strings.TrimSuffix(filepath.Base(path), ".json")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var ref referenceFile
			if err := json.Unmarshal(data, &ref); err != nil {
				t.Fatal(err)
			}
			tk := loadTokenizer(t, filepath.Join(dir, "models", name+".gguf"))
			for i, c := range ref.Cases {
				got := tk.Encode(c.Text, tk.DefaultOptions(true))
				if !slices.Equal(got, c.Tokens) {
					t.Errorf("case %d %.60q:\n got %v\nwant %v", i, c.Text, got, c.Tokens)
				}
				back, err := tk.Decode(got, DecodeOptions{Special: true})
				if err != nil {
					t.Fatal(err)
				}
				if tk.AddBOS() {
					if bos := tk.Piece(tk.Special().BOS, DecodeOptions{Special: true}); strings.HasPrefix(back, string(bos)) {
						back = back[len(bos):]
					}
				}
				if back != c.Text {
					t.Errorf("case %d does not round-trip:\n got %q\nwant %q", i, back, c.Text)
				}
			}
		})
	}
}
