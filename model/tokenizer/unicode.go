package tokenizer

import (
	"sync"
	"unicode"
)

// Codepoint classes as llama.cpp's pre-tokenizers see them (unicode.h:
// unicode_cpt_flags). Every assigned or unassigned codepoint has exactly one
// general-category class; unassigned, private-use, surrogate and format
// codepoints all count as "control" (\p{C}), which is what the Python regex
// module that generated llama.cpp's tables reports for them.
const (
	clsNumber    uint8 = 1 << iota // \p{N}
	clsLetter                      // \p{L}
	clsSeparator                   // \p{Z}
	clsMark                        // \p{M}
	clsPunct                       // \p{P}
	clsSymbol                      // \p{S}
	clsControl                     // \p{C}
	clsSpace                       // \s: the Unicode White_Space property
)

// The tables come from Go's unicode package (Unicode 15.0.0). llama.cpp
// generates its own from Python's regex module; the two agree except on
// codepoints assigned after 15.0, which tokenizers never see in practice.
var (
	bmpOnce  sync.Once
	bmpClass []uint8 // class of every codepoint below 0x10000, built on first use
)

// asciiClass is filled at init so the hot path (code is mostly ASCII) never
// waits on the BMP table.
var asciiClass [128]uint8

func init() {
	for c := rune(0); c < 128; c++ {
		asciiClass[c] = computeClass(c)
	}
}

func computeClass(c rune) uint8 {
	var f uint8
	switch {
	case unicode.Is(unicode.L, c):
		f = clsLetter
	case unicode.Is(unicode.N, c):
		f = clsNumber
	case unicode.Is(unicode.P, c):
		f = clsPunct
	case unicode.Is(unicode.S, c):
		f = clsSymbol
	case unicode.Is(unicode.M, c):
		f = clsMark
	case unicode.Is(unicode.Z, c):
		f = clsSeparator
	default:
		f = clsControl
	}
	if unicode.Is(unicode.White_Space, c) {
		f |= clsSpace
	}
	return f
}

// class returns the class bits of codepoint c.
func class(c rune) uint8 {
	if c < 128 {
		if c < 0 {
			return clsControl
		}
		return asciiClass[c]
	}
	if c < 0x10000 {
		bmpOnce.Do(func() {
			t := make([]uint8, 0x10000)
			for i := range t {
				t[i] = computeClass(rune(i))
			}
			bmpClass = t
		})
		return bmpClass[c]
	}
	if c > unicode.MaxRune {
		return clsControl
	}
	return computeClass(c)
}

// otherMask: a codepoint is in the regex class [^\s\p{L}\p{N}] when none of
// these bits is set.
const otherMask = clsSpace | clsLetter | clsNumber

// utf8Len is llama.cpp's unicode_len_utf8: the sequence length announced by
// a lead byte, looked up by its high nibble. Continuation and invalid bytes
// count as 1. SentencePiece splits text into symbols with it, unvalidated.
func utf8Len(b byte) int {
	switch b >> 4 {
	case 0xC, 0xD:
		return 2
	case 0xE:
		return 3
	case 0xF:
		return 4
	}
	return 1
}

// decodeRune decodes one codepoint from s[i:] the way llama.cpp's
// unicode_cpt_from_utf8 does, which is more lenient than Go's utf8 package:
// overlong forms and surrogates decode to their value (so "\xC0\x80" is NUL
// and the text is re-encoded in shortest form before BPE). Bytes that do not
// start a complete sequence decode to U+FFFD and consume one byte, as in
// unicode_cpts_from_utf8. Sequences above U+10FFFF (which llama.cpp would
// decode and then fail to re-encode, throwing) are treated as invalid too.
func decodeRune(s string, i int) (rune, int) {
	b0 := s[i]
	if b0 < 0x80 {
		return rune(b0), 1
	}
	n := len(s) - i
	switch {
	case b0&0x40 == 0: // stray continuation byte
		return 0xFFFD, 1
	case b0&0x20 == 0:
		if n < 2 || s[i+1]&0xC0 != 0x80 {
			return 0xFFFD, 1
		}
		return rune(b0&0x1F)<<6 | rune(s[i+1]&0x3F), 2
	case b0&0x10 == 0:
		if n < 3 || s[i+1]&0xC0 != 0x80 || s[i+2]&0xC0 != 0x80 {
			return 0xFFFD, 1
		}
		return rune(b0&0x0F)<<12 | rune(s[i+1]&0x3F)<<6 | rune(s[i+2]&0x3F), 3
	case b0&0x08 == 0:
		if n < 4 || s[i+1]&0xC0 != 0x80 || s[i+2]&0xC0 != 0x80 || s[i+3]&0xC0 != 0x80 {
			return 0xFFFD, 1
		}
		c := rune(b0&0x07)<<18 | rune(s[i+1]&0x3F)<<12 | rune(s[i+2]&0x3F)<<6 | rune(s[i+3]&0x3F)
		if c > unicode.MaxRune {
			return 0xFFFD, 1
		}
		return c, 4
	}
	return 0xFFFD, 1
}

// appendRune encodes c (0..0x10FFFF, surrogates included, as llama.cpp's
// unicode_cpt_to_utf8 does) to dst.
func appendRune(dst []byte, c rune) []byte {
	switch {
	case c < 0x80:
		return append(dst, byte(c))
	case c < 0x800:
		return append(dst, 0xC0|byte(c>>6), 0x80|byte(c)&0x3F)
	case c < 0x10000:
		return append(dst, 0xE0|byte(c>>12), 0x80|byte(c>>6)&0x3F, 0x80|byte(c)&0x3F)
	default:
		return append(dst, 0xF0|byte(c>>18), 0x80|byte(c>>12)&0x3F, 0x80|byte(c>>6)&0x3F, 0x80|byte(c)&0x3F)
	}
}

// decodeRunes converts text to codepoints with decodeRune.
func decodeRunes(dst []rune, s string) []rune {
	for i := 0; i < len(s); {
		if s[i] < 0x80 {
			dst = append(dst, rune(s[i]))
			i++
			continue
		}
		c, n := decodeRune(s, i)
		dst = append(dst, c)
		i += n
	}
	return dst
}

// Sanitize returns text as the tokenizers see it: every byte that does not
// start a complete UTF-8 sequence becomes U+FFFD and overlong forms are
// shortened, exactly as llama.cpp's byte-level BPE pre-tokenizer rewrites its
// input. For valid UTF-8 it returns text unchanged; it is what
// Decode(Encode(text)) returns for a byte-level BPE vocabulary.
func Sanitize(text string) string {
	valid := true
	for i := 0; i < len(text); {
		if text[i] < 0x80 {
			i++
			continue
		}
		c, n := decodeRune(text, i)
		var tmp [4]byte
		if string(appendRune(tmp[:0], c)) != text[i:i+n] {
			valid = false
			break
		}
		i += n
	}
	if valid {
		return text
	}
	out := make([]byte, 0, len(text)+8)
	for _, c := range decodeRunes(nil, text) {
		out = appendRune(out, c)
	}
	return string(out)
}

// GPT-2's byte-level alphabet: every byte maps to one printable codepoint so
// BPE merges operate on visible text. Printable Latin-1 bytes map to
// themselves; the other 68 map, in byte order, to U+0100 onwards.
var (
	byteRune  [256]rune
	runeByte  = map[rune]byte{}
	byteChars [256]string // UTF-8 of byteRune, the initial BPE symbols
)

func init() {
	n := rune(0)
	for b := 0; b < 256; b++ {
		if (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF) {
			byteRune[b] = rune(b)
		} else {
			byteRune[b] = 256 + n
			n++
		}
		runeByte[byteRune[b]] = byte(b)
		byteChars[b] = string(byteRune[b])
	}
}
