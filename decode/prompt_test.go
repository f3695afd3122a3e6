package decode

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ghostline-dev/ghostline/model/gguf"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/decode")

// byteTok is a byte-level tokenizer for tests: id = 1000 + byte, so ids
// never collide with the special ids of the vocabularies below.
type byteTok struct{}

func (byteTok) Encode(s string) []int32 {
	ids := make([]int32, len(s))
	for i := 0; i < len(s); i++ {
		ids[i] = 1000 + int32(s[i])
	}
	return ids
}

func (byteTok) Piece(id int32) string {
	if id >= 1000 && id < 1256 {
		return string([]byte{byte(id - 1000)})
	}
	return ""
}

// vocab builds a token list holding specials at their ids.
func vocab(specials map[int32]string) []string {
	n := int32(0)
	for id := range specials {
		n = max(n, id+1)
	}
	toks := make([]string, n)
	for i := range toks {
		toks[i] = fmt.Sprintf("tok%d", i)
	}
	for id, t := range specials {
		toks[id] = t
	}
	return toks
}

// families: the special tokens of each family at their real ids.
var families = map[string]*Special{
	"qwen": NewSpecial(vocab(map[int32]string{151643: "<|endoftext|>", 151659: "<|fim_prefix|>", 151660: "<|fim_middle|>",
		151661: "<|fim_suffix|>", 151662: "<|fim_pad|>", 151663: "<|repo_name|>", 151664: "<|file_sep|>"}), nil,
		map[string]int32{"eos": 151643}, false),
	"deepseek": NewSpecial(vocab(map[int32]string{32013: "<｜begin▁of▁sentence｜>", 32014: "<｜end▁of▁sentence｜>",
		32015: "<｜fim▁hole｜>", 32016: "<｜fim▁begin｜>", 32017: "<｜fim▁end｜>"}), nil,
		map[string]int32{"bos": 32013, "eos": 32014}, true),
	"starcoder": NewSpecial(vocab(map[int32]string{0: "<|endoftext|>", 1: "<fim_prefix>", 2: "<fim_middle>", 3: "<fim_suffix>",
		4: "<fim_pad>", 5: "<repo_name>", 6: "<file_sep>"}), nil, map[string]int32{"eos": 0}, false),
	"codellama": NewSpecial(vocab(map[int32]string{0: "<unk>", 1: "<s>", 2: "</s>", 32007: "▁<PRE>", 32008: "▁<SUF>",
		32009: "▁<MID>", 32010: "▁<EOT>"}), nil, map[string]int32{"bos": 1, "eos": 2}, true),
	"none": NewSpecial(vocab(map[int32]string{50256: "<|endoftext|>"}), nil, map[string]int32{"bos": 50256, "eos": 50256}, false),
}

func TestFamiliesDetected(t *testing.T) {
	want := map[string]Family{"qwen": FamilyQwen, "deepseek": FamilyDeepSeek, "starcoder": FamilyStarCoder,
		"codellama": FamilyCodeLlama, "none": FamilyNone}
	for name, sp := range families {
		if sp.Family != want[name] {
			t.Errorf("%s: family %s", name, sp.Family)
		}
	}
	q := families["qwen"]
	if q.FIMRep != 151663 || q.FIMSep != 151664 || !q.IsStop(151662) || !q.IsStop(151643) || q.IsStop(1000) {
		t.Errorf("qwen specials %+v", q)
	}
	c := families["codellama"]
	if c.FIMPre != 32007 || c.FIMSuf != 32008 || c.FIMMid != 32009 || c.EOT != 32010 || !c.AddBOS {
		t.Errorf("codellama specials %+v", c)
	}
}

// TestMetadataIDsWin: tokenizer.ggml.fim_*_token_id overrides text lookup.
func TestMetadataIDsWin(t *testing.T) {
	toks := vocab(map[int32]string{0: "<|endoftext|>", 1: "<fim_prefix>", 2: "<fim_middle>", 3: "<fim_suffix>", 10: "[P]", 11: "[S]", 12: "[M]"})
	sp := NewSpecial(toks, nil, map[string]int32{"fim_pre": 10, "fim_suf": 11, "fim_mid": 12}, false)
	if sp.FIMPre != 10 || sp.FIMSuf != 11 || sp.FIMMid != 12 || sp.Family != FamilyGeneric {
		t.Errorf("metadata ids ignored: %+v", sp)
	}
}

func TestSharedVocabularies(t *testing.T) {
	dir := "../../shared/fixtures/vocab"
	if _, err := os.Stat(dir); err != nil {
		t.Skip("../shared/fixtures/vocab is absent: skipping the real-vocabulary checks")
	}
	for _, tc := range []struct {
		file              string
		family            Family
		pre, suf, mid, ev int32
		rep, sep          int32
	}{
		{"ggml-vocab-deepseek-coder.gguf", FamilyDeepSeek, 32016, 32015, 32017, 32014, NoToken, NoToken},
		{"ggml-vocab-starcoder.gguf", FamilyStarCoder, 1, 3, 2, 0, 5, 6},
		{"ggml-vocab-refact.gguf", FamilyStarCoder, 1, 3, 2, 0, 18, NoToken},
		{"ggml-vocab-gpt-2.gguf", FamilyNone, NoToken, NoToken, NoToken, 50256, NoToken, NoToken},
		{"ggml-vocab-llama-spm.gguf", FamilyNone, NoToken, NoToken, NoToken, 2, NoToken, NoToken},
	} {
		f, err := gguf.Open(filepath.Join(dir, tc.file))
		if err != nil {
			t.Fatal(err)
		}
		sp, err := SpecialFromGGUF(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if sp.Family != tc.family || sp.FIMPre != tc.pre || sp.FIMSuf != tc.suf || sp.FIMMid != tc.mid || sp.EOS != tc.ev ||
			sp.FIMRep != tc.rep || sp.FIMSep != tc.sep {
			t.Errorf("%s: %s pre %d suf %d mid %d eos %d rep %d sep %d", tc.file, sp.Family, sp.FIMPre, sp.FIMSuf, sp.FIMMid, sp.EOS, sp.FIMRep, sp.FIMSep)
		}
		if tc.ev >= 0 && !sp.IsStop(tc.ev) {
			t.Errorf("%s: EOS does not stop", tc.file)
		}
	}
}

const goldenPrefix = `package shapes

import "math"

// Circle is a circle.
type Circle struct{ R float64 }

// Area returns the area.
func (c Circle) Area() float64 {
	return `

const goldenSuffix = `
}

// Perimeter returns the perimeter.
func (c Circle) Perimeter() float64 { return 2 * math.Pi * c.R }
`

var goldenContext = []ContextBlock{
	{Path: "shapes/shape.go", Text: "package shapes\n\n// Shape has an area.\ntype Shape interface{ Area() float64 }\n", Reason: "imported"},
	{Path: "shapes/square.go", Text: "package shapes\n\ntype Square struct{ S float64 }\n\nfunc (s Square) Area() float64 { return s.S * s.S }\n", Reason: "neighbour"},
}

func TestPromptGolden(t *testing.T) {
	for _, fam := range []string{"qwen", "deepseek", "starcoder", "codellama", "none"} {
		for _, order := range []Order{PSM, SPM} {
			for _, variant := range []string{"plain", "context", "trimmed"} {
				if fam == "none" && order == SPM {
					continue // no FIM: one layout
				}
				name := fmt.Sprintf("%s-%s-%s", fam, order, variant)
				t.Run(name, func(t *testing.T) {
					tmpl := Template{Special: families[fam], Order: order, Budget: DefaultBudget}
					in := PromptInput{Prefix: goldenPrefix, Suffix: goldenSuffix, Path: "shapes/circle.go", Language: "go", Repo: "shapes"}
					if variant != "plain" {
						in.Context = goldenContext
					}
					if variant == "trimmed" {
						tmpl.Budget = Budget{Total: 160, SuffixShare: 0.25, ContextShare: 0.30}
					}
					p, err := tmpl.Build(byteTok{}, in)
					if err != nil {
						t.Fatal(err)
					}
					if len(p.Tokens) > tmpl.Budget.Total {
						t.Fatalf("%d tokens over the budget of %d", len(p.Tokens), tmpl.Budget.Total)
					}
					got := fmt.Sprintf("# tokens %d: context %d (%d blocks), prefix %d, suffix %d, trimmed %v, fim %v\n%s",
						len(p.Tokens), p.ContextTokens, p.ContextUsed, p.PrefixTokens, p.SuffixTokens, p.Trimmed, p.FIM, p.Render(tmpl.Special))
					path := filepath.Join("..", "testdata", "decode", "prompts", name+".txt")
					if *update {
						if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
							t.Fatal(err)
						}
					}
					want, err := os.ReadFile(path)
					if err != nil {
						t.Fatalf("%v (run go test ./decode -run TestPromptGolden -update)", err)
					}
					if got != string(want) {
						t.Errorf("prompt differs from %s (run with -update if intended):\n%s", path, got)
					}
				})
			}
		}
	}
}

// TestPromptBudget checks the split on many sizes: the cap holds, the
// prefix keeps the text nearest the cursor, the suffix the text nearest
// it, and trimming the prefix is stable across keystrokes.
func TestPromptBudget(t *testing.T) {
	var pre strings.Builder
	for i := 0; i < 400; i++ {
		fmt.Fprintf(&pre, "line %03d of the prefix\n", i)
	}
	var suf strings.Builder
	for i := 0; i < 200; i++ {
		fmt.Fprintf(&suf, "line %03d of the suffix\n", i)
	}
	for _, total := range []int{64, 200, 1000, 5000, 20000} {
		tmpl := Template{Special: families["starcoder"], Order: PSM, Budget: Budget{Total: total}}
		p, err := tmpl.Build(byteTok{}, PromptInput{Prefix: pre.String() + "x := ", Suffix: suf.String(), Context: goldenContext})
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Tokens) > total {
			t.Errorf("budget %d: %d tokens", total, len(p.Tokens))
		}
		text := p.Render(tmpl.Special)
		if !strings.Contains(text, "x := <fim_suffix>") {
			t.Errorf("budget %d: the cursor's line is lost", total)
		}
		if p.SuffixTokens > 0 && !strings.Contains(text, "<fim_suffix>line 000") {
			t.Errorf("budget %d: the suffix does not start at the cursor", total)
		}
		if total >= 1000 && p.SuffixTokens == 0 {
			t.Errorf("budget %d: no suffix", total)
		}
		if want := min(len(pre.String()), int(0.45*float64(total))) * 3 / 4; p.PrefixTokens < want {
			t.Errorf("budget %d: prefix %d tokens, want at least %d (suffix %d, context %d)", total, p.PrefixTokens, want, p.SuffixTokens, p.ContextTokens)
		}
	}
	// Keystroke stability: typing at the cursor keeps the prompt's start.
	tmpl := Template{Special: families["starcoder"], Order: SPM, Budget: Budget{Total: 2000}}
	var first []int32
	for i, typed := range []string{"x", "x ", "x :", "x :=", "x := f", "x := fo", "x := foo("} {
		p, err := tmpl.Build(byteTok{}, PromptInput{Prefix: pre.String() + typed, Suffix: suf.String()})
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = p.Tokens
			continue
		}
		common := 0
		for common < len(first) && common < len(p.Tokens) && first[common] == p.Tokens[common] {
			common++
		}
		if common < len(first)-10 {
			t.Errorf("keystroke %d: only %d of %d tokens unchanged: the cut moved", i, common, len(first))
		}
	}
}

// countingTok counts the bytes it is asked to tokenize.
type countingTok struct {
	byteTok
	bytes *int
}

func (c countingTok) Encode(s string) []int32 {
	*c.bytes += len(s)
	return c.byteTok.Encode(s)
}

// In a huge document a keystroke tokenizes about what the prompt can hold,
// not the document, and the prompt's start still stays put while the user
// types (lines included).
func TestPromptHugeDocument(t *testing.T) {
	var pre, suf strings.Builder
	for i := range 100_000 { // 3.6 MB on each side of the cursor
		fmt.Fprintf(&pre, "line %06d of a long generated file\n", i)
		fmt.Fprintf(&suf, "line %06d after the cursor's line\n", i)
	}
	tmpl := Template{Special: families["starcoder"], Order: SPM, Budget: Budget{Total: 1536}}
	var n int
	tok := countingTok{bytes: &n}
	var prev []int32
	moved := 0
	typing := "x := f(a, b)\nif x > 0 {\n\treturn x\n}\n"
	for k := 1; k <= 4*len(typing); k++ {
		typed := strings.Repeat(typing, 4)[:k]
		n = 0
		p, err := tmpl.Build(tok, PromptInput{Prefix: pre.String() + typed, Suffix: suf.String()})
		if err != nil {
			t.Fatal(err)
		}
		if n > 1<<20 {
			t.Fatalf("keystroke %d tokenized %d bytes for a prompt of %d tokens", k, n, len(p.Tokens))
		}
		if p.PrefixTokens < 1536/2 || p.SuffixTokens < 1536/5 {
			t.Fatalf("keystroke %d: prefix %d and suffix %d tokens: the budget is not used", k, p.PrefixTokens, p.SuffixTokens)
		}
		if text := p.Render(tmpl.Special); !strings.HasSuffix(text, typed) || !strings.Contains(text, "<fim_suffix>line 000000 after") {
			t.Fatalf("keystroke %d: the text at the cursor is lost", k)
		}
		common := 0
		for common < len(prev) && common < len(p.Tokens) && prev[common] == p.Tokens[common] {
			common++
		}
		if prev != nil && common < len(prev)-4 {
			moved++
		}
		prev = p.Tokens
	}
	if moved > 2 {
		t.Errorf("the prompt's start moved at %d of %d keystrokes", moved, 4*len(typing))
	}
}

// FuzzPromptBuild: any prefix, suffix and context within any budget gives a
// prompt within the budget (or an error for a budget too small), never a
// panic, with the special tokens in place.
func FuzzPromptBuild(f *testing.F) {
	f.Add("def f():\n    ", "\n", "a.py", "x = 1\n", 100, false, "starcoder")
	f.Add(strings.Repeat("line\n", 50), strings.Repeat("tail\n", 50), "", "", 40, true, "qwen")
	f.Add("", "", "p", "", 20, false, "none")
	f.Fuzz(func(t *testing.T, prefix, suffix, path, ctx string, total int, spm bool, fam string) {
		sp, ok := families[fam]
		if !ok || total < 0 || total > 5000 {
			return
		}
		tmpl := Template{Special: sp, Budget: Budget{Total: total}}
		if spm {
			tmpl.Order = SPM
		}
		in := PromptInput{Prefix: prefix, Suffix: suffix, Path: path, Language: "go"}
		if ctx != "" {
			in.Context = []ContextBlock{{Path: "other.go", Text: ctx}}
		}
		p, err := tmpl.Build(byteTok{}, in)
		if err != nil {
			return
		}
		limit := total
		if limit == 0 {
			limit = DefaultBudget.Total
		}
		if len(p.Tokens) > limit {
			t.Fatalf("%d tokens over a budget of %d", len(p.Tokens), limit)
		}
		if sp.HasFIM() && !slices.Contains(p.Tokens, sp.FIMMid) {
			t.Fatal("FIM prompt without its middle token")
		}
		if !sp.HasFIM() && p.PrefixTokens > 0 && !strings.HasSuffix(prefix, lastText(p, sp)) {
			t.Fatal("prefix-only prompt does not end with the prefix's end")
		}
	})
}

func lastText(p *Prompt, _ *Special) string {
	for i := len(p.Segments) - 1; i >= 0; i-- {
		if p.Segments[i].Special == NoToken {
			return p.Segments[i].Text
		}
	}
	return ""
}
