package decode

import (
	"fmt"
	"slices"

	"github.com/ghostline-dev/ghostline/model/gguf"
)

// NoToken marks an absent special token.
const NoToken int32 = -1

// Family names a FIM prompt convention. The family decides the layout of
// repository-level context; the token ids always come from the vocabulary.
type Family string

const (
	FamilyQwen      Family = "qwen"      // <|fim_prefix|> <|fim_suffix|> <|fim_middle|>, <|repo_name|>, <|file_sep|>
	FamilyDeepSeek  Family = "deepseek"  // <｜fim▁begin｜> <｜fim▁hole｜> <｜fim▁end｜>
	FamilyStarCoder Family = "starcoder" // <fim_prefix> <fim_suffix> <fim_middle>, <repo_name>, <file_sep>
	FamilyCodeLlama Family = "codellama" // ▁<PRE> ▁<SUF> ▁<MID>, ▁<EOT>
	FamilyGeneric   Family = "generic"   // FIM ids from metadata, text not recognised
	FamilyNone      Family = "none"      // no FIM tokens: prefix-only prompts
)

// Special holds the vocabulary's special tokens the engine needs: where a
// FIM prompt's parts go and which generated tokens end a completion. Ids
// are NoToken where the vocabulary has none.
type Special struct {
	Family Family

	BOS    int32
	AddBOS bool // the model expects BOS first (tokenizer.ggml.add_bos_token)
	EOS    int32
	EOT    int32

	FIMPre, FIMSuf, FIMMid, FIMPad int32
	FIMRep                         int32 // repository name marker (<|repo_name|>)
	FIMSep                         int32 // file separator (<|file_sep|>)

	// Text is each special token's text, for rendering prompts in tests
	// and logs.
	Text map[int32]string
	// stop is the set of tokens that end a completion and never reach its
	// text: EOS, EOT, every FIM token, and every control token.
	stop map[int32]bool
}

// HasFIM reports whether the vocabulary can express fill-in-the-middle.
func (s *Special) HasFIM() bool {
	return s.FIMPre != NoToken && s.FIMSuf != NoToken && s.FIMMid != NoToken
}

// IsStop reports whether generating id ends the completion.
func (s *Special) IsStop(id int32) bool { return s.stop[id] }

// StopTokens lists the stop set, sorted.
func (s *Special) StopTokens() []int32 {
	var ids []int32
	for id := range s.stop {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// Name is a special token's text, or "<id>" when unknown.
func (s *Special) Name(id int32) string {
	if t, ok := s.Text[id]; ok {
		return t
	}
	return fmt.Sprintf("<%d>", id)
}

// Token texts of each role, by family, as the models' vocabularies spell
// them (the same lists llama.cpp uses to find FIM tokens in vocabularies
// whose metadata lacks the ids). The first entry's family wins.
var (
	fimPreTexts = []struct {
		text   string
		family Family
	}{
		{"<|fim_prefix|>", FamilyQwen},
		{"<｜fim▁begin｜>", FamilyDeepSeek},
		{"<fim_prefix>", FamilyStarCoder},
		{"▁<PRE>", FamilyCodeLlama},
		{"<PRE>", FamilyCodeLlama},
		{"<fim-prefix>", FamilyGeneric},
	}
	fimSufTexts = []string{"<|fim_suffix|>", "<｜fim▁hole｜>", "<fim_suffix>", "▁<SUF>", "<SUF>", "<fim-suffix>"}
	fimMidTexts = []string{"<|fim_middle|>", "<｜fim▁end｜>", "<fim_middle>", "▁<MID>", "<MID>", "<fim-middle>"}
	fimPadTexts = []string{"<|fim_pad|>", "<fim_pad>", "<fim-pad>", "<PAD>"}
	fimRepTexts = []string{"<|repo_name|>", "<repo_name>", "<reponame>"}
	fimSepTexts = []string{"<|file_sep|>", "<file_sep>"}
	// eotTexts end a turn or a document in the families we know; all of
	// them stop a completion.
	eotTexts = []string{"<|endoftext|>", "<|im_end|>", "<|eot_id|>", "<|end|>", "<EOT>", "▁<EOT>",
		"<｜end▁of▁sentence｜>", "<|end_of_text|>", "<end_of_turn>", "<filename>", "<gh_stars>",
		"<issue_start>", "<jupyter_start>", "<empty_output>", "<commit_before>"}
)

// GGUF token types (llama.cpp's llama_token_type): control tokens never
// appear in text.
const ggufTokenControl = 3

// SpecialFromGGUF reads the special tokens of f's vocabulary: ids from the
// tokenizer.ggml.* metadata where present, otherwise found by their text.
func SpecialFromGGUF(f *gguf.File) (*Special, error) {
	v, ok := f.Get("tokenizer.ggml.tokens")
	if !ok {
		return nil, fmt.Errorf("gguf: no tokenizer.ggml.tokens: the file has no vocabulary")
	}
	tokens, ok := v.Strings()
	if !ok {
		return nil, fmt.Errorf("gguf: tokenizer.ggml.tokens is %s, want an array of strings", v.Type())
	}
	var types []int32
	if tv, ok := f.Get("tokenizer.ggml.token_type"); ok {
		types, _ = tv.Int32s()
	}
	meta := map[string]int32{}
	for _, k := range []string{"bos", "eos", "eot", "fim_pre", "fim_suf", "fim_mid", "fim_pad", "fim_rep", "fim_sep"} {
		if u, ok := f.Uint("tokenizer.ggml." + k + "_token_id"); ok && u < uint64(len(tokens)) {
			meta[k] = int32(u)
		}
	}
	addBOS, hasAddBOS := f.Bool("tokenizer.ggml.add_bos_token")
	if !hasAddBOS {
		// llama.cpp's default: SentencePiece vocabularies add BOS, byte-level
		// BPE ones do not.
		m, _ := f.String("tokenizer.ggml.model")
		addBOS = m == "llama"
	}
	return NewSpecial(tokens, types, meta, addBOS), nil
}

// NewSpecial builds a Special from a vocabulary's token texts, optional
// token types (GGUF's), metadata ids keyed "bos", "eos", "eot", "fim_pre",
// "fim_suf", "fim_mid", "fim_pad", "fim_rep", "fim_sep", and whether BOS is
// added.
func NewSpecial(tokens []string, types []int32, meta map[string]int32, addBOS bool) *Special {
	index := make(map[string]int32)
	for i, t := range tokens {
		if len(t) > 1 && len(t) < 32 && (t[0] == '<' || t[0] == 0xE2) { // '<' or '▁' (E2 96 81)
			if _, dup := index[t]; !dup {
				index[t] = int32(i)
			}
		}
	}
	find := func(key string, texts []string) int32 {
		if id, ok := meta[key]; ok {
			return id
		}
		for _, t := range texts {
			if id, ok := index[t]; ok {
				return id
			}
		}
		return NoToken
	}
	s := &Special{Text: map[int32]string{}, stop: map[int32]bool{}}
	s.BOS = find("bos", nil)
	s.EOS = find("eos", nil)
	s.EOT = find("eot", eotTexts)
	s.AddBOS = addBOS && s.BOS != NoToken
	var preTexts []string
	for _, p := range fimPreTexts {
		preTexts = append(preTexts, p.text)
	}
	s.FIMPre = find("fim_pre", preTexts)
	s.FIMSuf = find("fim_suf", fimSufTexts)
	s.FIMMid = find("fim_mid", fimMidTexts)
	s.FIMPad = find("fim_pad", fimPadTexts)
	s.FIMRep = find("fim_rep", fimRepTexts)
	s.FIMSep = find("fim_sep", fimSepTexts)

	s.Family = FamilyNone
	if s.HasFIM() {
		s.Family = FamilyGeneric
		pre := tokens[s.FIMPre]
		for _, p := range fimPreTexts {
			if p.text == pre {
				s.Family = p.family
				break
			}
		}
	}

	for _, id := range []int32{s.BOS, s.EOS, s.EOT, s.FIMPre, s.FIMSuf, s.FIMMid, s.FIMPad, s.FIMRep, s.FIMSep} {
		if id != NoToken {
			s.Text[id] = tokens[id]
			s.stop[id] = true
		}
	}
	for _, t := range eotTexts {
		if id, ok := index[t]; ok {
			s.Text[id] = t
			s.stop[id] = true
		}
	}
	for i, ty := range types {
		if ty == ggufTokenControl && i < len(tokens) {
			s.Text[int32(i)] = tokens[i]
			s.stop[int32(i)] = true
		}
	}
	return s
}

// AddStop adds id (spelled text) to the stop set.
func (s *Special) AddStop(id int32, text string) {
	if id < 0 {
		return
	}
	s.stop[id] = true
	if _, ok := s.Text[id]; !ok {
		s.Text[id] = text
	}
}
