package tokenizer

import (
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// byteVocab returns the GPT-2 characters of the bytes in s, as tokens.
func byteVocab(s string) []string {
	var toks []string
	seen := map[byte]bool{}
	for i := 0; i < len(s); i++ {
		if !seen[s[i]] {
			seen[s[i]] = true
			toks = append(toks, byteChars[s[i]])
		}
	}
	return toks
}

func mustNew(t *testing.T, v *Vocab) *Tokenizer {
	t.Helper()
	tk, err := New(v)
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

// pieces decodes each id on its own, for readable failures.
func pieces(tk *Tokenizer, ids []int32) []string {
	var out []string
	for _, id := range ids {
		out = append(out, string(tk.Piece(id, DecodeOptions{Special: true})))
	}
	return out
}

func TestBPEMergeOrder(t *testing.T) {
	toks := append(byteVocab("abcd x"), "ab", "bc", "aa", "abc", "Ġx", "cd")
	tests := []struct {
		name   string
		merges []string
		text   string
		want   []string
	}{
		{"lowest rank first", []string{"b c", "a b"}, "abc", []string{"a", "bc"}},
		{"rank decides, not position", []string{"a b", "b c"}, "abc", []string{"ab", "c"}},
		{"chained merges", []string{"a b", "ab c"}, "abc", []string{"abc"}},
		{"leftmost on equal rank", []string{"a a"}, "aaa", []string{"aa", "a"}},
		{"space joins the next word", []string{"Ġ x"}, "x x", []string{"x", " x"}},
		{"merges never cross words", []string{"c d"}, "abc d", []string{"a", "b", "c", " ", "d"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tk := mustNew(t, &Vocab{Model: "gpt2", Pre: "gpt-2", Tokens: toks, Merges: tc.merges})
			got := pieces(tk, tk.Encode(tc.text, EncodeOptions{}))
			if !slices.Equal(got, tc.want) {
				t.Errorf("Encode(%q) = %q, want %q", tc.text, got, tc.want)
			}
		})
	}
}

// A byte with no token is dropped, as llama.cpp drops it; the merged symbols
// around it are unaffected.
func TestBPEMissingByteDropped(t *testing.T) {
	tk := mustNew(t, &Vocab{Model: "gpt2", Pre: "gpt-2", Tokens: byteVocab("ab"), Merges: []string{"a b"}})
	if got := pieces(tk, tk.Encode("abz", EncodeOptions{})); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("got %q", got)
	}
}

// Llama 3 vocabularies skip merging for words that are whole tokens.
func TestBPEIgnoreMerges(t *testing.T) {
	toks := append(byteVocab("abc"), "abc", "ab")
	// Without the ignore_merges rule, "b c" (rank 0) would win and "abc"
	// could never form.
	for _, tc := range []struct {
		pre  string
		want []string
	}{{"llama-bpe", []string{"abc"}}, {"gpt-2", []string{"a", "bc"}}} {
		tk := mustNew(t, &Vocab{Model: "gpt2", Pre: tc.pre, Tokens: append(toks, "bc"), Merges: []string{"b c", "a b"}})
		if got := pieces(tk, tk.Encode("abc", EncodeOptions{})); !slices.Equal(got, tc.want) {
			t.Errorf("%s: got %q, want %q", tc.pre, got, tc.want)
		}
	}
}

func spmVocab() *Vocab {
	toks := []string{"<unk>", "<s>", "</s>"}
	types := []TokenType{TypeUnknown, TypeControl, TypeControl}
	for b := 0; b < 256; b++ {
		toks = append(toks, fmt.Sprintf("<0x%02X>", b))
		types = append(types, TypeByte)
	}
	words := []struct {
		s     string
		score float32
	}{{"▁", -1}, {"a", -2}, {"b", -2}, {"ab", -3}, {"▁a", -1.5}, {"▁ab", -0.5}, {"ba", -0.1}, {"\n", -5}}
	scores := make([]float32, len(toks))
	for _, w := range words {
		toks = append(toks, w.s)
		types = append(types, TypeNormal)
		scores = append(scores, w.score)
	}
	return &Vocab{Model: "llama", Tokens: toks, Types: types, Scores: scores}
}

func TestSentencePiece(t *testing.T) {
	tk := mustNew(t, spmVocab())
	tests := []struct {
		text string
		want []string
	}{
		{"ab", []string{" ab"}}, // leading space added; ▁a then ▁ab
		// Pairs ▁a (-1.5), ab (-3), ba (-0.1): the best score, "ba", merges
		// first, and ▁a+ba is no token.
		{"aba", []string{" a", "ba"}},
		{"é", []string{" ", "\xc3", "\xa9"}}, // byte fallback
		{"a\nb", []string{" a", "\n", "b"}},  // no space prefix after the newline
		{"", nil},
	}
	for _, tc := range tests {
		got := pieces(tk, tk.Encode(tc.text, EncodeOptions{}))
		if !slices.Equal(got, tc.want) {
			t.Errorf("Encode(%q) = %q, want %q", tc.text, got, tc.want)
		}
	}
	// An invalid lead byte announces a 3-byte character and swallows the
	// newline after it: llama.cpp's symbols follow lead bytes blindly, so
	// the newline is emitted as a byte token, not as the "\n" token.
	id := func(s string) int32 { i, _ := tk.ID(s); return i }
	want := []int32{id("▁"), id("<0xE2>"), id("<0x0A>"), id("<0x61>"), id("b")}
	if got := tk.Encode("\xe2\nab", EncodeOptions{}); !slices.Equal(got, want) {
		t.Errorf("invalid lead byte before a newline: %v, want %v", got, want)
	}
	if !tk.AddBOS() || tk.Special().BOS != 1 || tk.Special().EOS != 2 || tk.Special().UNK != 0 {
		t.Errorf("SentencePiece defaults: addBOS %v, special %+v", tk.AddBOS(), tk.Special())
	}
	ids := tk.Encode("ab ab", tk.DefaultOptions(false))
	if ids[0] != 1 {
		t.Errorf("BOS not added: %v", ids)
	}
	if back, _ := tk.Decode(ids, DecodeOptions{}); back != "ab ab" {
		t.Errorf("round trip: %q", back)
	}
}

func specialVocab(ids map[string]int64) *Vocab {
	toks := append(byteVocab("abcdefghijklmnopqrstuvwxyz<>_|! "),
		"<|endoftext|>", "<fim_prefix>", "<fim_suffix>", "<fim_middle>", "<fim_pad>", "<repo_name>", "<file_sep>", "<user>", "<fim")
	types := make([]TokenType, len(toks))
	for i := range types {
		types[i] = TypeNormal
	}
	for i := len(toks) - 9; i < len(toks)-2; i++ {
		types[i] = TypeControl
	}
	types[len(toks)-2] = TypeUserDefined // <user>
	types[len(toks)-1] = TypeUserDefined // <fim
	return &Vocab{Model: "gpt2", Pre: "starcoder", Tokens: toks, Types: types, Merges: []string{"a b"}, IDs: ids}
}

func TestSpecialTokens(t *testing.T) {
	v := specialVocab(nil)
	eot := int64(slices.Index(v.Tokens, "<|endoftext|>"))
	v.IDs = map[string]int64{"bos_token_id": eot, "eos_token_id": eot}
	tk := mustNew(t, v)
	id := func(s string) int32 {
		i, ok := tk.ID(s)
		if !ok {
			t.Fatalf("no token %q", s)
		}
		return i
	}
	text := "a<fim_prefix>b<user>c<|endoftext|>"

	parsed := tk.Encode(text, EncodeOptions{ParseSpecial: true})
	want := []int32{id(byteChars['a']), id("<fim_prefix>"), id(byteChars['b']), id("<user>"), id(byteChars['c']), id("<|endoftext|>")}
	if !slices.Equal(parsed, want) {
		t.Errorf("parse special:\n got %q\nwant %q", pieces(tk, parsed), pieces(tk, want))
	}
	// Without parse-special, control texts are plain text, but user-defined
	// tokens are still matched (llama.cpp does the same).
	plain := tk.Encode(text, EncodeOptions{})
	if slices.Contains(plain, id("<fim_prefix>")) || slices.Contains(plain, id("<|endoftext|>")) || !slices.Contains(plain, id("<user>")) {
		t.Errorf("no parse special: %q", pieces(tk, plain))
	}
	if back, _ := tk.Decode(plain, DecodeOptions{}); back != text {
		t.Errorf("plain round trip %q", back)
	}
	// Longest match first: "<fim_prefix>" wins over the user-defined "<fim".
	if got := tk.Encode("<fim_prefix><fim", EncodeOptions{ParseSpecial: true}); !slices.Equal(got, []int32{id("<fim_prefix>"), id("<fim")}) {
		t.Errorf("longest first: %q", pieces(tk, got))
	}
	// Control tokens decode to nothing unless asked for.
	if s, _ := tk.Decode(parsed, DecodeOptions{}); s != "ab<user>c" {
		t.Errorf("decode without special: %q", s)
	}
	if s, _ := tk.Decode(parsed, DecodeOptions{Special: true}); s != text {
		t.Errorf("decode with special: %q", s)
	}

	sp := tk.Special()
	checks := []struct {
		name      string
		got, want int32
	}{
		{"BOS", sp.BOS, id("<|endoftext|>")}, {"EOS", sp.EOS, id("<|endoftext|>")}, {"EOT", sp.EOT, id("<|endoftext|>")},
		{"FIMPre", sp.FIMPre, id("<fim_prefix>")}, {"FIMSuf", sp.FIMSuf, id("<fim_suffix>")}, {"FIMMid", sp.FIMMid, id("<fim_middle>")},
		{"FIMPad", sp.FIMPad, id("<fim_pad>")}, {"FIMRep", sp.FIMRep, -1}, {"FIMSep", sp.FIMSep, -1},
		{"RepoName", sp.RepoName, id("<repo_name>")}, {"FileSep", sp.FileSep, id("<file_sep>")}, {"PAD", sp.PAD, -1},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %d, want %d", c.name, c.got, c.want)
		}
	}
	for _, eog := range []int32{id("<|endoftext|>"), id("<fim_pad>")} {
		if !tk.IsEOG(eog) {
			t.Errorf("%q should end generation", tk.Token(eog))
		}
	}
	if tk.IsEOG(id("<fim_middle>")) || tk.IsEOG(-1) || tk.IsEOG(id(byteChars['a'])) {
		t.Error("IsEOG true for a token that does not end generation")
	}
}

// Metadata ids win over text; the older prefix/suffix/middle keys are read
// last, so they win over fim_*; ids out of range are ignored.
func TestSpecialFromMetadata(t *testing.T) {
	v := specialVocab(nil)
	n := int64(len(v.Tokens))
	v.IDs = map[string]int64{
		"fim_pre_token_id": 3, "prefix_token_id": 4, "fim_suf_token_id": 5,
		"fim_rep_token_id": 6, "padding_token_id": n + 10, "eot_token_id": 7,
	}
	tk := mustNew(t, v)
	sp := tk.Special()
	if sp.FIMPre != 4 || sp.FIMSuf != 5 || sp.FIMRep != 6 || sp.RepoName != 6 || sp.PAD != -1 || sp.EOT != 7 {
		t.Errorf("special = %+v", sp)
	}
	mid, _ := tk.ID("<fim_middle>")
	if sp.FIMMid != mid {
		t.Errorf("FIMMid = %d, want the text fallback %d", sp.FIMMid, mid)
	}
	if !tk.IsEOG(6) || !tk.IsEOG(7) {
		t.Errorf("FIM repo and EOT must end generation: %v", sp.EOG)
	}
}

func TestNewErrors(t *testing.T) {
	good := &Vocab{Model: "gpt2", Pre: "gpt-2", Tokens: byteVocab("ab"), Merges: []string{"a b"}}
	tests := []struct {
		name string
		edit func(v *Vocab)
		want string
	}{
		{"unknown pre-tokenizer", func(v *Vocab) { v.Pre = "klingon" }, "unknown pre-tokenizer"},
		{"unknown model", func(v *Vocab) { v.Model = "t5" }, "unsupported tokenizer model"},
		{"no model", func(v *Vocab) { v.Model = "" }, "no tokenizer model"},
		{"no tokens", func(v *Vocab) { v.Tokens = nil }, "empty vocabulary"},
		{"duplicate", func(v *Vocab) { v.Tokens = append(v.Tokens, v.Tokens[0]) }, "duplicate token"},
		{"short types", func(v *Vocab) { v.Types = []TokenType{1} }, "token types"},
		{"no merges", func(v *Vocab) { v.Merges = nil }, "without merges"},
	}
	for _, tc := range tests {
		v := *good
		v.Tokens = slices.Clone(good.Tokens)
		tc.edit(&v)
		_, err := New(&v)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.want)
		}
	}
}

func TestSanitize(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain ascii", "plain ascii"},
		{"héllo 🦙", "héllo 🦙"},
		{"a\xffb", "a\uFFFDb"},
		{"\xc0\x80", "\x00"},             // overlong NUL, shortened as llama.cpp decodes it
		{"\xe2\x82", "\uFFFD\uFFFD"},     // truncated sequence: one U+FFFD per byte
		{"\xed\xa0\x80", "\xed\xa0\x80"}, // a surrogate passes through
		{"\xf4\x90\x80\x80", "\uFFFD\uFFFD\uFFFD\uFFFD"},
	}
	for _, tc := range tests {
		if got := Sanitize(tc.in); got != tc.want {
			t.Errorf("Sanitize(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestStreamingDecoder feeds tokens one at a time: no chunk may end inside a
// UTF-8 sequence, and the chunks must add up to the text.
func TestStreamingDecoder(t *testing.T) {
	dir := filepath.Join(sharedDir(t), "vocab")
	text := "naïve café → 🦙🚀 世界\n\tfmt.Println(\"ok\")"
	for _, name := range []string{"gpt-2", "starcoder", "deepseek-coder", "llama-spm"} {
		tk := loadTokenizer(t, filepath.Join(dir, "ggml-vocab-"+name+".gguf"))
		ids := tk.Encode(text, EncodeOptions{})
		d := tk.NewDecoder(DecodeOptions{})
		var b strings.Builder
		split := false
		for _, id := range ids {
			chunk := d.Add(id)
			if !utf8.ValidString(chunk) {
				t.Errorf("%s: chunk %q is not valid UTF-8", name, chunk)
			}
			if !utf8.Valid(tk.Piece(id, DecodeOptions{})) {
				split = true
			}
			b.WriteString(chunk)
		}
		b.WriteString(d.Flush())
		want := text
		if tk.Model() == "llama" {
			want = " " + text // a stream keeps the prefix space SentencePiece adds
		}
		if b.String() != want {
			t.Errorf("%s: streamed %q, want %q", name, b.String(), want)
		}
		if !split {
			t.Logf("%s: no token split a character; the hold-back path was not exercised", name)
		}
	}
}

func TestDecoderHoldsBack(t *testing.T) {
	// Byte tokens of "🦙" (F0 9F A6 99) arrive one at a time.
	tk := mustNew(t, spmVocab())
	d := tk.NewDecoder(DecodeOptions{})
	for i, b := range []byte("🦙") {
		id := tk.byteToken[b]
		got := d.Add(id)
		if i < 3 && got != "" {
			t.Fatalf("byte %d: emitted %q before the character was complete", i, got)
		}
		if i == 3 && got != "🦙" {
			t.Fatalf("got %q at the last byte", got)
		}
	}
	// An incomplete sequence at the end comes out on Flush.
	d.Add(tk.byteToken[0xE4])
	if got := d.Flush(); got != "\xe4" {
		t.Errorf("Flush = %q", got)
	}
	if _, err := tk.Decode([]int32{int32(tk.NumTokens())}, DecodeOptions{}); err == nil {
		t.Error("Decode accepted an id out of range")
	}
}

// TestFixtureSpecialTokens checks the ids resolved for the fixture
// vocabularies (README table of ../shared, plus what llama.cpp derives:
// EOT by text, the EOG set).
func TestFixtureSpecialTokens(t *testing.T) {
	dir := filepath.Join(sharedDir(t), "vocab")
	none := Special{BOS: -1, EOS: -1, EOT: -1, EOM: -1, UNK: -1, PAD: -1, FIMPre: -1, FIMSuf: -1, FIMMid: -1,
		FIMPad: -1, FIMRep: -1, FIMSep: -1, RepoName: -1, FileSep: -1}
	with := func(f func(s *Special)) Special { s := none; f(&s); return s }
	tests := []struct {
		name string
		want Special
	}{
		{"deepseek-coder", with(func(s *Special) {
			s.BOS, s.EOS, s.EOT, s.PAD = 32013, 32014, 32014, 32014
			s.FIMPre, s.FIMSuf, s.FIMMid = 32016, 32015, 32017
			s.EOG = []int32{32014}
		})},
		{"starcoder", with(func(s *Special) {
			s.BOS, s.EOS, s.EOT, s.UNK = 0, 0, 0, 0
			s.FIMPre, s.FIMMid, s.FIMSuf, s.FIMPad, s.RepoName, s.FileSep = 1, 2, 3, 4, 5, 6
			s.EOG = []int32{0, 4}
		})},
		{"refact", with(func(s *Special) {
			s.BOS, s.EOS, s.EOT, s.UNK = 0, 0, 0, 0
			s.FIMPre, s.FIMMid, s.FIMSuf, s.FIMPad, s.FIMRep, s.RepoName = 1, 2, 3, 4, 18, 18
			s.EOG = []int32{0, 4, 18}
		})},
		{"gpt-2", with(func(s *Special) { s.BOS, s.EOS, s.EOT, s.EOG = 50256, 50256, 50256, []int32{50256} })},
		{"llama-spm", with(func(s *Special) { s.BOS, s.EOS, s.UNK, s.EOG = 1, 2, 0, []int32{2} })},
	}
	for _, tc := range tests {
		got := loadTokenizer(t, filepath.Join(dir, "ggml-vocab-"+tc.name+".gguf")).Special()
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", tc.name, got, tc.want)
		}
	}
}

// TestConcurrentEncode shares one tokenizer (and its word cache) between
// goroutines; run with -race.
func TestConcurrentEncode(t *testing.T) {
	for _, name := range []string{"starcoder", "llama-spm"} {
		testConcurrentEncode(t, loadTokenizer(t, filepath.Join(sharedDir(t), "vocab", "ggml-vocab-"+name+".gguf")))
	}
}

func testConcurrentEncode(t *testing.T, tk *Tokenizer) {
	texts := []string{"func main() {}\n", "for i := range xs {\n\tx += i\n}\n", "héllo 🦙 世界", strings.Repeat("abc ", 100)}
	want := make([][]int32, len(texts))
	for i, s := range texts {
		want[i] = tk.Encode(s, EncodeOptions{})
	}
	done := make(chan error)
	for g := 0; g < 4; g++ {
		go func() {
			for n := 0; n < 50; n++ {
				i := (g + n) % len(texts)
				if got := tk.Encode(texts[i], EncodeOptions{}); !slices.Equal(got, want[i]) {
					done <- fmt.Errorf("goroutine %d: %q gave %v, want %v", g, texts[i], got, want[i])
					return
				}
			}
			done <- nil
		}()
	}
	for g := 0; g < 4; g++ {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}

// A word far longer than the cache limit (minified code) still tokenizes
// like its parts would merge, and is not cached.
func TestLongWord(t *testing.T) {
	tk := loadTokenizer(t, filepath.Join(sharedDir(t), "vocab", "ggml-vocab-gpt-2.gguf"))
	word := strings.Repeat("ab", 5000)
	ids := tk.Encode(word, EncodeOptions{})
	if back, _ := tk.Decode(ids, DecodeOptions{}); back != word {
		t.Fatalf("long word does not round-trip")
	}
	if len(ids) > len(word)/2 {
		t.Errorf("%d tokens for %d bytes: merges did not run", len(ids), len(word))
	}
	if _, cached := tk.bpe.cache.get(word); cached {
		t.Error("a 10,000-byte word was cached")
	}
}
