// Package tokenizer turns text into token ids and back, exactly as
// llama.cpp does for the vocabularies stored in GGUF files.
//
// Two tokenizer models are supported, named by tokenizer.ggml.model:
//
//   - "gpt2": byte-level BPE with a pre-tokenizer chosen by
//     tokenizer.ggml.pre (deepseek-coder, starcoder, refact, gpt-2, qwen2,
//     llama-bpe, smollm, default and aliases; see PreTokenizers).
//   - "llama": SentencePiece-style BPE with byte fallback.
//
// Exactness matters more than elegance here: a model sees the ids, and a
// prompt tokenized differently from the way the model was trained (or from
// the reference implementation the tests compare against) degrades
// completions silently. Every rule below is written to reproduce llama.cpp's
// src/llama-vocab.cpp and src/unicode.cpp, including their quirks; the
// places where this package deliberately differs are listed in the doc
// comments of New and Decode.
//
// A Tokenizer is immutable after construction and safe for concurrent use.
package tokenizer

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// TokenType is a token's type as stored in tokenizer.ggml.token_type.
type TokenType int32

// Token types, with their GGUF values.
const (
	TypeUndefined   TokenType = 0
	TypeNormal      TokenType = 1
	TypeUnknown     TokenType = 2
	TypeControl     TokenType = 3
	TypeUserDefined TokenType = 4
	TypeUnused      TokenType = 5
	TypeByte        TokenType = 6
)

// Token attributes, as llama.cpp derives them from the token types (plus the
// CONTROL bit it adds to tokens it recognises by their text).
const (
	attrUnknown uint16 = 1 << iota
	attrUnused
	attrNormal
	attrControl
	attrUserDefined
	attrByte
)

// Vocab is a tokenizer's data, independent of where it was read from.
// FromGGUF fills it from a model file; tests build small ones by hand.
type Vocab struct {
	Model  string      // tokenizer.ggml.model: "gpt2" (byte-level BPE) or "llama" (SentencePiece)
	Pre    string      // tokenizer.ggml.pre, for "gpt2"
	Tokens []string    // tokenizer.ggml.tokens, by id
	Types  []TokenType // tokenizer.ggml.token_type; nil means all normal
	Scores []float32   // tokenizer.ggml.scores (SentencePiece merge priority); nil means all 0
	Merges []string    // tokenizer.ggml.merges ("left right", rank = index), for "gpt2"

	// IDs holds the special token ids given in the metadata, keyed by the
	// GGUF key without the "tokenizer.ggml." prefix ("bos_token_id",
	// "fim_pre_token_id", "prefix_token_id", ...). Absent keys fall back to
	// the model's defaults and to recognising tokens by their text.
	IDs map[string]int64

	// Flags from the metadata; nil means absent (the model's default).
	AddBOS, AddEOS, AddSpacePrefix *bool
}

// Tokenizer encodes and decodes text for one vocabulary.
type Tokenizer struct {
	model  string // "gpt2" or "llama"
	pre    *preTokenizer
	tokens []string
	attrs  []uint16
	scores []float32
	toID   map[string]int32
	bpe    *bpeModel

	byteToken [256]int32 // SentencePiece byte-fallback token of each byte, or -1

	// spmBreak marks the ASCII bytes no token longer than one byte contains
	// (in Llama 2: newline, tab and other controls). SentencePiece never
	// merges such a character with a neighbour, so the text can be cut there
	// and each part merged on its own with the same result; that keeps the
	// merge queue small on long inputs.
	spmBreak [128]bool
	spmCache wordCache

	special  Special
	specials []int32 // tokens matched before tokenization, longest text first

	addBOS, addEOS, addSpacePrefix bool

	pieces [][]byte // what each token decodes to, special tokens rendered
}

// New builds a tokenizer from v. It fails on an unknown model or
// pre-tokenizer, on duplicate token texts (as llama.cpp does), and on token
// types or scores shorter than the token list (longer ones are accepted,
// as llama.cpp accepts them).
//
// Deliberate differences from llama.cpp: a byte-level BPE vocabulary without
// bos/eos ids in its metadata gets none (llama.cpp falls back to id 11,
// an arbitrary ordinary token in most vocabularies); a SentencePiece byte with
// no <0xXX> token falls back to the unknown token instead of aborting; and
// when several tokens could be the EOT/FIM token by their text, the first in
// llama.cpp's list of candidate texts wins (llama.cpp takes whichever its hash
// map yields first).
func New(v *Vocab) (*Tokenizer, error) {
	n := len(v.Tokens)
	if n == 0 {
		return nil, errors.New("tokenizer: empty vocabulary")
	}
	if n > 1<<31-1 {
		return nil, errors.New("tokenizer: vocabulary too large")
	}
	if v.Types != nil && len(v.Types) < n {
		return nil, fmt.Errorf("tokenizer: %d token types for %d tokens", len(v.Types), n)
	}
	if v.Scores != nil && len(v.Scores) < n {
		return nil, fmt.Errorf("tokenizer: %d scores for %d tokens", len(v.Scores), n)
	}
	t := &Tokenizer{
		model:  v.Model,
		tokens: make([]string, n),
		attrs:  make([]uint16, n),
		scores: v.Scores,
		toID:   make(map[string]int32, n),
	}
	for i, s := range v.Tokens {
		if s == "" {
			s = "[EMPTY_" + strconv.Itoa(i) + "]" // as llama.cpp
		}
		if j, dup := t.toID[s]; dup {
			return nil, fmt.Errorf("tokenizer: duplicate token %q (ids %d and %d)", s, j, i)
		}
		t.toID[s] = int32(i)
		t.tokens[i] = s
		t.attrs[i] = attrNormal
		if v.Types != nil {
			t.attrs[i] = typeAttr(v.Types[i])
		}
	}

	llama3 := false
	switch v.Model {
	case "gpt2":
		pre, err := lookupPre(v.Pre)
		if err != nil {
			return nil, fmt.Errorf("tokenizer: %w", err)
		}
		t.pre = pre
		llama3 = llama3Names[v.Pre]
		t.addBOS = llama3
		if len(v.Merges) == 0 {
			return nil, errors.New("tokenizer: byte-level BPE vocabulary without merges")
		}
	case "llama":
		t.addBOS, t.addSpacePrefix = true, true
	case "":
		return nil, errors.New("tokenizer: no tokenizer model given (tokenizer.ggml.model)")
	default:
		return nil, fmt.Errorf("tokenizer: unsupported tokenizer model %q (supported: gpt2, llama)", v.Model)
	}
	if v.AddSpacePrefix != nil && v.Model == "llama" {
		t.addSpacePrefix = *v.AddSpacePrefix
	}

	t.resolveSpecial(v)
	if v.AddBOS != nil {
		t.addBOS = *v.AddBOS
	}
	if v.AddEOS != nil {
		t.addEOS = *v.AddEOS
	}

	if v.Model == "gpt2" {
		t.bpe = newBPE(t.tokens, t.toID, v.Merges, llama3)
	}
	for b := 0; b < 256; b++ {
		t.byteToken[b] = -1
		if id, ok := t.toID[fmt.Sprintf("<0x%02X>", b)]; ok {
			t.byteToken[b] = id
		} else if id, ok := t.toID[string([]byte{byte(b)})]; ok {
			t.byteToken[b] = id
		} else if t.special.UNK >= 0 {
			t.byteToken[b] = t.special.UNK
		}
	}

	if v.Model == "llama" {
		for b := range t.spmBreak {
			t.spmBreak[b] = true
		}
		for _, tok := range t.tokens {
			if len(tok) < 2 {
				continue
			}
			for i := 0; i < len(tok); i++ {
				if tok[i] < 128 {
					t.spmBreak[tok[i]] = false
				}
			}
		}
	}

	for id, a := range t.attrs {
		if a&(attrControl|attrUserDefined|attrUnknown) != 0 {
			t.specials = append(t.specials, int32(id))
		}
	}
	// Longest first, so "<|fim_prefix|>" is cut out before "<|fim" could be.
	// llama.cpp's sort is unstable; ties keep id order here.
	sort.SliceStable(t.specials, func(i, j int) bool {
		return len(t.tokens[t.specials[i]]) > len(t.tokens[t.specials[j]])
	})

	t.pieces = make([][]byte, n)
	for id := range t.tokens {
		t.pieces[id] = t.renderPiece(int32(id))
	}
	return t, nil
}

func typeAttr(ty TokenType) uint16 {
	switch ty {
	case TypeUnknown:
		return attrUnknown
	case TypeUnused:
		return attrUnused
	case TypeNormal:
		return attrNormal
	case TypeControl:
		return attrControl
	case TypeUserDefined:
		return attrUserDefined
	case TypeByte:
		return attrByte
	}
	return 0
}

// Model returns the tokenizer model name: "gpt2" or "llama".
func (t *Tokenizer) Model() string { return t.model }

// Pre returns the pre-tokenizer name ("" for SentencePiece).
func (t *Tokenizer) Pre() string {
	if t.pre == nil {
		return ""
	}
	return t.pre.name
}

// NumTokens returns the vocabulary size.
func (t *Tokenizer) NumTokens() int { return len(t.tokens) }

// Token returns the text of token id as stored in the vocabulary (in
// GPT-2's byte alphabet for byte-level BPE), or "" if id is out of range.
func (t *Tokenizer) Token(id int32) string {
	if id < 0 || int(id) >= len(t.tokens) {
		return ""
	}
	return t.tokens[id]
}

// ID returns the id of the token whose vocabulary text is s.
func (t *Tokenizer) ID(s string) (int32, bool) {
	id, ok := t.toID[s]
	return id, ok
}

// IsControl reports whether id is a control token (BOS, EOS, FIM markers...)
// that plain text never produces.
func (t *Tokenizer) IsControl(id int32) bool {
	return id >= 0 && int(id) < len(t.attrs) && t.attrs[id]&attrControl != 0
}

// AddBOS and AddEOS report whether the model's metadata asks for BOS/EOS
// around a prompt (tokenizer.ggml.add_bos_token and add_eos_token, or the
// model's default).
func (t *Tokenizer) AddBOS() bool { return t.addBOS }
func (t *Tokenizer) AddEOS() bool { return t.addEOS }

// Special returns the special token ids.
func (t *Tokenizer) Special() Special { return t.special }

// IsEOG reports whether generating id ends generation.
func (t *Tokenizer) IsEOG(id int32) bool { return t.special.IsEOG(id) }

// EncodeOptions controls Encode.
type EncodeOptions struct {
	AddBOS bool // prepend the BOS token (if the vocabulary has one)
	AddEOS bool // append the EOS token (if the vocabulary has one)

	// ParseSpecial matches the texts of control tokens ("<fim_prefix>",
	// "<|endoftext|>") in the input and emits them as those tokens. Without
	// it they are tokenized as ordinary text. User-defined tokens are matched
	// either way, as in llama.cpp.
	ParseSpecial bool
}

// DefaultOptions returns the options llama.cpp's add_special=true uses for
// this model: BOS and EOS as the metadata says.
func (t *Tokenizer) DefaultOptions(parseSpecial bool) EncodeOptions {
	return EncodeOptions{AddBOS: t.addBOS, AddEOS: t.addEOS, ParseSpecial: parseSpecial}
}

// fragment is a piece of the input: raw text [lo, hi) or a special token.
type fragment struct {
	tok    int32 // -1 for text
	lo, hi int
}

// Encode tokenizes text. Any byte string is accepted; bytes that are not
// valid UTF-8 are handled as llama.cpp handles them (U+FFFD for byte-level
// BPE, byte tokens for SentencePiece).
func (t *Tokenizer) Encode(text string, opt EncodeOptions) []int32 {
	out := make([]int32, 0, len(text)/3+2)
	if opt.AddBOS && t.special.BOS >= 0 {
		out = append(out, t.special.BOS)
	}
	frags := t.partition(text, opt.ParseSpecial)
	var st encodeState
	prevSpecial := true // SentencePiece: a text fragment at the start or after a special token gets a leading space
	for _, f := range frags {
		if f.tok >= 0 {
			out = append(out, f.tok)
			prevSpecial = true
			continue
		}
		s := text[f.lo:f.hi]
		if t.model == "llama" {
			if t.addSpacePrefix && prevSpecial {
				s = " " + s
			}
			out = t.encodeSPMText(strings.ReplaceAll(s, " ", spaceMarker), out)
		} else {
			out = t.encodeBPE(s, out, &st)
		}
		prevSpecial = false
	}
	if opt.AddEOS && t.special.EOS >= 0 {
		out = append(out, t.special.EOS)
	}
	return out
}

// partition cuts the special tokens out of text (llama.cpp's
// tokenizer_st_partition): each special token, longest first, is searched in
// every remaining text fragment and splits it.
//
// Vocabularies carry hundreds of special tokens (deepseek-coder: 256), so a
// token is first checked against the set of adjacent byte pairs present in
// the text: one that needs a pair the text lacks cannot occur and is skipped
// without a search.
func (t *Tokenizer) partition(text string, parseSpecial bool) []fragment {
	if text == "" {
		return nil
	}
	var pairs *[1 << 16 / 64]uint64
	frags := []fragment{{tok: -1, lo: 0, hi: len(text)}}
	var next []fragment
	for _, id := range t.specials {
		if !parseSpecial && t.attrs[id]&(attrControl|attrUnknown) != 0 {
			continue
		}
		tok := t.tokens[id]
		if len(tok) > len(text) {
			continue
		}
		if len(tok) >= 2 {
			if pairs == nil {
				pairs = bytePairs(text)
			}
			if !hasPairs(pairs, tok) {
				continue
			}
		}
		next = next[:0]
		changed := false
		for _, f := range frags {
			if f.tok >= 0 {
				next = append(next, f)
				continue
			}
			lo := f.lo
			for lo < f.hi {
				i := strings.Index(text[lo:f.hi], tok)
				if i < 0 {
					break
				}
				changed = true
				if i > 0 {
					next = append(next, fragment{tok: -1, lo: lo, hi: lo + i})
				}
				next = append(next, fragment{tok: id})
				lo += i + len(tok)
			}
			if lo < f.hi {
				next = append(next, fragment{tok: -1, lo: lo, hi: f.hi})
			}
		}
		if changed {
			frags, next = next, frags
		}
	}
	return frags
}

// bytePairs returns the set of adjacent byte pairs in s as a bitmap.
func bytePairs(s string) *[1 << 16 / 64]uint64 {
	var m [1 << 16 / 64]uint64
	for i := 0; i+1 < len(s); i++ {
		k := uint16(s[i])<<8 | uint16(s[i+1])
		m[k>>6] |= 1 << (k & 63)
	}
	return &m
}

func hasPairs(m *[1 << 16 / 64]uint64, tok string) bool {
	for i := 0; i+1 < len(tok); i++ {
		k := uint16(tok[i])<<8 | uint16(tok[i+1])
		if m[k>>6]&(1<<(k&63)) == 0 {
			return false
		}
	}
	return true
}

// encodeState holds buffers reused across the words of one Encode call.
type encodeState struct {
	cps  []rune
	offs []int // byte offset of each codepoint, plus the end
	sb   splitBuf
	bs   bpeScratch
}

func (t *Tokenizer) encodeBPE(s string, out []int32, st *encodeState) []int32 {
	s = Sanitize(s) // now every codepoint re-encodes to exactly its bytes
	if cap(st.cps) < len(s) {
		st.cps, st.offs = make([]rune, 0, len(s)), make([]int, 0, len(s)+1)
	}
	st.cps, st.offs = st.cps[:0], st.offs[:0]
	for i := 0; i < len(s); {
		st.offs = append(st.offs, i)
		if s[i] < 0x80 {
			st.cps = append(st.cps, rune(s[i]))
			i++
			continue
		}
		c, n := decodeRune(s, i)
		st.cps = append(st.cps, c)
		i += n
	}
	st.offs = append(st.offs, len(s))
	lo := 0
	for _, hi := range t.pre.split(st.cps, &st.sb) {
		out = t.bpe.encodeWord(s[st.offs[lo]:st.offs[hi]], out, &st.bs)
		lo = hi
	}
	return out
}
