package tokenizer

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// renderPiece returns the bytes token id stands for, as llama.cpp's
// token_to_piece with special=true: control, unknown and user-defined tokens
// render as their text, normal tokens are mapped back from GPT-2's byte
// alphabet (BPE) or have "▁" turned back into spaces (SentencePiece), byte
// tokens <0xXX> render as the byte, unused and undefined tokens as nothing.
func (t *Tokenizer) renderPiece(id int32) []byte {
	text, a := t.tokens[id], t.attrs[id]
	switch {
	case a&(attrUnknown|attrControl|attrUserDefined) != 0:
		return []byte(text)
	case a&attrNormal != 0:
		if t.model == "llama" {
			return []byte(strings.ReplaceAll(text, spaceMarker, " "))
		}
		return decodeByteLevel(text)
	case a&attrByte != 0:
		return []byte{parseByteToken(text)}
	}
	return nil
}

// decodeByteLevel maps a byte-level BPE token text back to bytes. A
// codepoint outside GPT-2's 256-character alphabet renders the way llama.cpp
// renders it ("[UNK_BYTE_0x..." + token + "]"); tokens the tokenizer emits
// never contain one.
func decodeByteLevel(text string) []byte {
	out := make([]byte, 0, len(text))
	for i := 0; i < len(text); {
		c, n := decodeRune(text, i)
		i += n
		if b, ok := runeByte[c]; ok && c != 0xFFFD {
			out = append(out, b)
			continue
		}
		out = append(out, "[UNK_BYTE_0x"...)
		for _, x := range appendRune(nil, c) {
			out = fmt.Appendf(out, "%02x", x)
		}
		out = append(out, text...)
		out = append(out, ']')
	}
	return out
}

// parseByteToken reads the byte of "<0xXX>" as llama.cpp does (strtol of the
// two characters after "<0x", stopping at the first non-hex digit).
func parseByteToken(text string) byte {
	var v byte
	for i := 3; i < 5 && i < len(text); i++ {
		c := text[i]
		switch {
		case c >= '0' && c <= '9':
			v = v<<4 | (c - '0')
		case c >= 'a' && c <= 'f':
			v = v<<4 | (c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			v = v<<4 | (c - 'A' + 10)
		default:
			return v
		}
	}
	return v
}

// DecodeOptions controls Decode and Decoder.
type DecodeOptions struct {
	// Special renders control and unknown tokens (BOS, FIM markers, ...) as
	// their text. Without it they decode to nothing, as in a completion.
	Special bool
}

// Piece returns the bytes token id decodes to on its own, or nil for an id
// out of range.
func (t *Tokenizer) Piece(id int32, opt DecodeOptions) []byte {
	if id < 0 || int(id) >= len(t.pieces) {
		return nil
	}
	if !opt.Special && t.attrs[id]&(attrUnknown|attrControl) != 0 {
		return nil
	}
	return t.pieces[id]
}

// Decode turns ids back into text. It is the inverse of Encode: for every
// valid UTF-8 string s without special-token texts,
// Decode(Encode(s, EncodeOptions{})) == s, and for any byte string it
// returns Sanitize(s) with byte-level BPE. The one exception is a byte the
// vocabulary has no token for, which Encode drops as llama.cpp does:
// StarCoder's vocabulary lacks 0xF1, the lead byte of the unassigned
// Unicode planes 4-7.
//
// For SentencePiece vocabularies that add a leading space (add_space_prefix)
// the space of the first text token is removed, after a leading BOS, if any.
// Unlike llama.cpp, Decode never applies the clean_up_tokenization_spaces
// rules (" ," -> ","): source code needs its text back byte for byte.
func (t *Tokenizer) Decode(ids []int32, opt DecodeOptions) (string, error) {
	var b strings.Builder
	strip := t.addSpacePrefix
	for i, id := range ids {
		if id < 0 || int(id) >= len(t.pieces) {
			return "", fmt.Errorf("token id %d out of range (vocabulary has %d tokens)", id, len(t.pieces))
		}
		p := t.Piece(id, opt)
		if strip && !(i == 0 && id == t.special.BOS) {
			strip = false
			if len(p) > 0 && p[0] == ' ' {
				p = p[1:]
			}
		}
		b.Write(p)
	}
	return b.String(), nil
}

// Decoder turns a stream of generated tokens into text. A token can end in
// the middle of a UTF-8 sequence (byte-level BPE splits rare characters into
// byte tokens), so the decoder holds back an incomplete trailing sequence
// until the token that completes it arrives. The concatenation of everything
// it returns equals Decode of all the tokens (without the SentencePiece
// leading-space removal, since a stream continues a prompt).
type Decoder struct {
	t       *Tokenizer
	opt     DecodeOptions
	pending []byte
}

// NewDecoder returns a streaming decoder.
func (t *Tokenizer) NewDecoder(opt DecodeOptions) *Decoder {
	return &Decoder{t: t, opt: opt}
}

// Add appends token id and returns the text that is now complete. Ids out of
// range decode to nothing.
func (d *Decoder) Add(id int32) string {
	d.pending = append(d.pending, d.t.Piece(id, d.opt)...)
	cut := completePrefix(d.pending)
	if cut == 0 {
		return ""
	}
	s := string(d.pending[:cut])
	d.pending = append(d.pending[:0], d.pending[cut:]...)
	return s
}

// Flush returns whatever is held back (an incomplete sequence at the end of
// the stream) and resets the decoder.
func (d *Decoder) Flush() string {
	s := string(d.pending)
	d.pending = d.pending[:0]
	return s
}

// completePrefix returns the length of the longest prefix of p that does not
// end inside a UTF-8 sequence that could still be completed.
func completePrefix(p []byte) int {
	// Find the start of the last sequence: at most 3 continuation bytes back.
	i := len(p) - 1
	for i >= 0 && len(p)-i <= 3 && p[i]&0xC0 == 0x80 {
		i--
	}
	if i < 0 || p[i] < 0xC0 {
		return len(p)
	}
	if !utf8.FullRune(p[i:]) {
		return i
	}
	return len(p)
}
