package tokenizer

import "sort"

// Special holds the ids of the tokens a decoder treats specially; -1 means
// the vocabulary has none.
type Special struct {
	BOS, EOS, EOT, EOM, UNK, PAD int32

	// Fill-in-the-middle markers, as llama.cpp resolves them: from
	// tokenizer.ggml.fim_*_token_id (or the older prefix/suffix/middle ids),
	// else recognised by text (<fim_prefix>, <｜fim▁begin｜>, <|fim_prefix|>...).
	FIMPre, FIMSuf, FIMMid, FIMPad, FIMRep, FIMSep int32

	// Repository-level prompt markers: FIMRep/FIMSep when set, else the
	// StarCoder-style texts <repo_name>/<reponame> and <file_sep>, which
	// llama.cpp does not look for.
	RepoName, FileSep int32

	// EOG lists, sorted, every token that ends generation: EOS, EOT, EOM,
	// FIM pad/repo/sep and the end-of-turn texts llama.cpp recognises.
	EOG []int32
}

// IsEOG reports whether id ends generation.
func (s Special) IsEOG(id int32) bool {
	if id < 0 {
		return false
	}
	i := sort.Search(len(s.EOG), func(i int) bool { return s.EOG[i] >= id })
	return i < len(s.EOG) && s.EOG[i] == id
}

// Candidate texts, in llama.cpp's order (llama-vocab.cpp, "auto-detect
// special tokens by text").
var (
	textEOT    = []string{"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|end_of_text|>", "<EOT>", "_<EOT>", "[EOT]", "<｜end▁of▁sentence｜>", "<end_of_utterance>"}
	textEOM    = []string{"<|eom_id|>"}
	textFIMPre = []string{"<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<｜fim▁begin｜>", "<PRE>", "▁<PRE>", "<|code_prefix|>", "<|prefix|>"}
	textFIMSuf = []string{"<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<｜fim▁hole｜>", "<SUF>", "▁<SUF>", "<|code_suffix|>", "<|suffix|>"}
	textFIMMid = []string{"<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<｜fim▁end｜>", "<MID>", "▁<MID>", "<|code_middle|>", "<|middle|>"}
	textFIMPad = []string{"<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"}
	textFIMRep = []string{"<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"}
	textFIMSep = []string{"<|file_sep|>"}
	textEOG    = []string{"<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>", "<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]", "<|end_of_text|>", "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>", "<｜end▁of▁sentence｜>", "[e~["}

	textRepoName = []string{"<repo_name>", "<reponame>", "<|repo_name|>"}
	textFileSep  = []string{"<file_sep>", "<|file_sep|>"}
)

// resolveSpecial fills t.special and adjusts token attributes the way
// llama.cpp's vocabulary loader does.
func (t *Tokenizer) resolveSpecial(v *Vocab) {
	n := int64(len(t.tokens))
	s := Special{BOS: -1, EOS: -1, EOT: -1, EOM: -1, UNK: -1, PAD: -1,
		FIMPre: -1, FIMSuf: -1, FIMMid: -1, FIMPad: -1, FIMRep: -1, FIMSep: -1, RepoName: -1, FileSep: -1}
	if v.Model == "llama" { // SentencePiece defaults, when in range
		s.BOS, s.EOS, s.UNK = 1, 2, 0
		if n <= 1 {
			s.BOS = -1
		}
		if n <= 2 {
			s.EOS = -1
		}
	}
	// Metadata wins when in range; out-of-range ids keep the default.
	set := func(dst *int32, key string) {
		if id, ok := v.IDs[key]; ok && id >= 0 && id < n {
			*dst = int32(id)
		}
	}
	set(&s.BOS, "bos_token_id")
	set(&s.EOS, "eos_token_id")
	set(&s.EOT, "eot_token_id")
	set(&s.EOM, "eom_token_id")
	set(&s.UNK, "unknown_token_id")
	set(&s.PAD, "padding_token_id")
	set(&s.FIMPre, "fim_pre_token_id")
	set(&s.FIMSuf, "fim_suf_token_id")
	set(&s.FIMMid, "fim_mid_token_id")
	set(&s.FIMPad, "fim_pad_token_id")
	set(&s.FIMRep, "fim_rep_token_id")
	set(&s.FIMSep, "fim_sep_token_id")
	// The older keys are read after the fim_* ones, so they win, as in llama.cpp.
	set(&s.FIMPre, "prefix_token_id")
	set(&s.FIMSuf, "suffix_token_id")
	set(&s.FIMMid, "middle_token_id")

	// Recognise the rest by text; a token found this way becomes a control
	// token (so it is not rendered or matched as plain text).
	detect := func(dst *int32, texts []string) {
		if *dst >= 0 {
			return
		}
		for _, txt := range texts {
			if id, ok := t.toID[txt]; ok {
				*dst = id
				t.attrs[id] |= attrControl
				return
			}
		}
	}
	detect(&s.EOT, textEOT)
	detect(&s.EOM, textEOM)
	detect(&s.FIMPre, textFIMPre)
	detect(&s.FIMSuf, textFIMSuf)
	detect(&s.FIMMid, textFIMMid)
	detect(&s.FIMPad, textFIMPad)
	detect(&s.FIMRep, textFIMRep)
	detect(&s.FIMSep, textFIMSep)

	eog := map[int32]bool{}
	for _, id := range []int32{s.FIMPad, s.FIMRep, s.FIMSep} {
		if id >= 0 {
			eog[id] = true
		}
	}
	for _, txt := range textEOG {
		if id, ok := t.toID[txt]; ok {
			eog[id] = true
			t.attrs[id] |= attrControl
		}
	}
	// gpt-oss's channel markers are always rendered (llama.cpp's override).
	for _, txt := range []string{"<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"} {
		if id, ok := t.toID[txt]; ok {
			t.attrs[id] = attrUserDefined
		}
	}
	for _, id := range []int32{s.EOS, s.EOT, s.EOM} {
		if id >= 0 {
			eog[id] = true
		}
	}
	has := func(txt string) (int32, bool) {
		id, ok := t.toID[txt]
		return id, ok && eog[id]
	}
	// o200k_harmony / solar-open: "<|end|>" ends a message, not generation.
	_, ret := has("<|return|>")
	_, call := has("<|call|>")
	_, calls := has("<|calls|>")
	_, flush := has("<|flush|>")
	if end, ok := has("<|end|>"); ok && ((ret && (call || calls)) || ((call || calls) && flush)) {
		delete(eog, end)
		t.attrs[end] = attrUserDefined
	}
	// gemma4 / paddleocr: "</s>" is ordinary text when "<|tool_response>" exists.
	if _, ok := has("<|tool_response>"); ok {
		if sID, ok := has("</s>"); ok {
			delete(eog, sID)
			t.attrs[sID] = attrNormal
		}
	}
	for id := range eog {
		s.EOG = append(s.EOG, id)
	}
	sort.Slice(s.EOG, func(i, j int) bool { return s.EOG[i] < s.EOG[j] })

	s.RepoName, s.FileSep = s.FIMRep, s.FIMSep
	for _, txt := range textRepoName {
		if id, ok := t.toID[txt]; ok && s.RepoName < 0 {
			s.RepoName = id
		}
	}
	for _, txt := range textFileSep {
		if id, ok := t.toID[txt]; ok && s.FileSep < 0 {
			s.FileSep = id
		}
	}
	t.special = s
}
