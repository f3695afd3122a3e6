package tokenizer

import (
	"fmt"
	"sort"
	"strings"
)

// Pre-tokenization splits text into words before BPE merges run; merges never
// cross a word boundary, so the split decides the tokens as much as the
// merge table does.
//
// llama.cpp describes each pre-tokenizer as a list of regexes applied in
// turn: each regex splits every piece left by the previous one into its
// matches and the gaps between them (unicode.cpp, unicode_regex_split). Two
// regexes (GPT-2's and Llama 3's) run through hand-written scanners there;
// the rest run through std::regex (ECMAScript: leftmost match, first
// alternative wins, backtracking) over a copy of the text in which every
// codepoint is collapsed to one byte standing for its class. Go's regexp has
// neither lookahead nor that matching order, so every regex used by a
// supported pre-tokenizer is written out below as a scanner that returns the
// same pieces. The collapsed classes agree with the codepoint classes in
// unicode.go: ASCII keeps its own identity (its letters, digits, whitespace
// and punctuation are exactly the Unicode classes restricted to ASCII) and
// non-ASCII whitespace collapses to a whitespace byte.

// splitter appends to ends the end offsets of the pieces it cuts cps[lo:hi]
// into, in order; the last one appended is hi. cls holds class(c) of every
// codepoint, computed once per text.
type splitter func(cps []rune, cls []uint8, lo, hi int, ends []int) []int

// matcher returns the end (> i) of the regex match starting at cps[i], or -1.
type matcher func(cps []rune, cls []uint8, i, hi int) int

// preTokenizer is one tokenizer.ggml.pre value's pipeline.
type preTokenizer struct {
	name   string
	stages []splitter
}

// Pre-tokenizer families, named by the llama.cpp pre-type they reproduce.
var (
	preGPT2          = []splitter{splitGPT2}
	preStarcoder     = []splitter{regexStage(matchNumber), splitGPT2}
	preLlama3        = []splitter{splitLlama3}
	preQwen2         = []splitter{splitQwen2}
	preDeepseekCoder = []splitter{
		regexStage(matchCRLF),
		regexStage(matchSpaceOptRun(clsLetter)),
		regexStage(matchSpaceOptRun(clsPunct)),
		regexStage(matchCJK),
		regexStage(matchNumber),
	}
	preDefault = []splitter{
		regexStage(matchDefaultPunct),
		splitGPT2,
		regexStage(matchRun(clsNumber)),
		regexStage(matchASCIIDigits3),
	}
)

// preTokenizers maps tokenizer.ggml.pre values to pipelines. Besides the
// names the issue requires, it accepts the aliases llama.cpp maps onto the
// same regexes with no other behavioural difference for tokenization.
var preTokenizers = map[string][]splitter{
	"default": preDefault,
	"":        preDefault,

	"gpt-2": preGPT2, "phi-2": preGPT2, "mpt": preGPT2, "olmo": preGPT2,
	"jina-es": preGPT2, "jina-de": preGPT2, "jina-v2-es": preGPT2, "jina-v2-de": preGPT2,
	"gigachat": preGPT2, "mellum": preGPT2, "exaone4": preGPT2,

	"starcoder": preStarcoder, "refact": preStarcoder, "smollm": preStarcoder,
	"command-r": preStarcoder, "codeshell": preStarcoder, "exaone": preStarcoder,
	"minerva-7b": preStarcoder, "mellum2": preStarcoder,

	"qwen2": preQwen2, "deepseek-r1-qwen": preQwen2, "stablelm2": preQwen2, "megrez": preQwen2,
	"hunyuan": preQwen2,

	"deepseek-coder": preDeepseekCoder,
}

// llama3Names also switch on ignore_merges (a whole word that is a token is
// emitted as is) and add_bos by default, as llama.cpp does for them.
var llama3Names = map[string]bool{
	"llama3": true, "llama-v3": true, "llama-bpe": true, "falcon3": true, "falcon-h1": true,
	"pixtral": true, "midm-2.0": true, "lfm2": true,
}

func lookupPre(name string) (*preTokenizer, error) {
	if llama3Names[name] {
		return &preTokenizer{name: name, stages: preLlama3}, nil
	}
	if st, ok := preTokenizers[name]; ok {
		return &preTokenizer{name: name, stages: st}, nil
	}
	return nil, fmt.Errorf("unknown pre-tokenizer %q (supported: %s)", name, strings.Join(PreTokenizers(), ", "))
}

// PreTokenizers lists the tokenizer.ggml.pre values this package supports.
func PreTokenizers() []string {
	var names []string
	for n := range preTokenizers {
		if n != "" {
			names = append(names, n)
		}
	}
	for n := range llama3Names {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// splitBuf holds the buffers of one split, reused across calls.
type splitBuf struct {
	cls           []uint8
	ends, scratch []int
}

// split runs the pipeline over cps and returns the end offsets of the words.
func (p *preTokenizer) split(cps []rune, b *splitBuf) []int {
	if cap(b.cls) < len(cps) {
		// Sized once for the whole text: growing by append would copy
		// these buffers over and over on a large file.
		b.cls = make([]uint8, 0, len(cps))
		b.ends, b.scratch = make([]int, 0, len(cps)+1), make([]int, 0, len(cps)+1)
	}
	b.cls = b.cls[:0]
	for _, c := range cps {
		if c < 128 {
			b.cls = append(b.cls, asciiClass[c])
		} else {
			b.cls = append(b.cls, class(c))
		}
	}
	b.ends = append(b.ends[:0], len(cps))
	if len(cps) == 0 {
		return b.ends[:0]
	}
	for _, st := range p.stages {
		b.scratch = b.scratch[:0]
		lo := 0
		for _, hi := range b.ends {
			b.scratch = st(cps, b.cls, lo, hi, b.scratch)
			lo = hi
		}
		b.ends, b.scratch = b.scratch, b.ends
	}
	return b.ends
}

// regexStage turns a matcher into a splitter with std::regex_iterator's
// semantics: find the leftmost position where match succeeds, keep the text
// before it as a piece, keep the match as a piece, continue after the match.
// match returns the match end (> i) or -1. None of the regexes used here can
// match the empty string.
func regexStage(match matcher) splitter {
	return func(cps []rune, cls []uint8, lo, hi int, ends []int) []int {
		gap := lo
		for i := lo; i < hi; {
			e := match(cps, cls, i, hi)
			if e <= i {
				i++
				continue
			}
			if i > gap {
				ends = append(ends, i)
			}
			ends = append(ends, e)
			gap, i = e, e
		}
		if gap < hi {
			ends = append(ends, hi)
		}
		return ends
	}
}

// matchNumber is \p{N}: one number codepoint.
func matchNumber(cps []rune, cls []uint8, i, hi int) int {
	if cls[i]&clsNumber != 0 {
		return i + 1
	}
	return -1
}

// matchCRLF is [\r\n].
func matchCRLF(cps []rune, cls []uint8, i, hi int) int {
	if cps[i] == '\r' || cps[i] == '\n' {
		return i + 1
	}
	return -1
}

// runOf returns the end of the run of codepoints in class mask from i.
func runOf(cls []uint8, mask uint8, i, hi int) int {
	for i < hi && cls[i]&mask != 0 {
		i++
	}
	return i
}

// matchRun returns a matcher for [class]+.
func matchRun(mask uint8) matcher {
	return func(cps []rune, cls []uint8, i, hi int) int {
		if cls[i]&mask == 0 {
			return -1
		}
		return runOf(cls, mask, i+1, hi)
	}
}

// matchSpaceOptRun returns a matcher for \s?[class]+ where the class never
// contains whitespace: one optional whitespace codepoint, then a run.
func matchSpaceOptRun(mask uint8) matcher {
	return func(cps []rune, cls []uint8, i, hi int) int {
		if cls[i]&clsSpace != 0 {
			if i+1 < hi && cls[i+1]&mask != 0 {
				return runOf(cls, mask, i+2, hi)
			}
			return -1
		}
		if cls[i]&mask == 0 {
			return -1
		}
		return runOf(cls, mask, i+1, hi)
	}
}

// matchCJK is deepseek-coder's [一-龥ࠀ-一가-퟿]+. It has no \p{..} class, so
// llama.cpp runs it with std::wregex on the codepoints, after replacing
// non-ASCII whitespace with U+000B; those codepoints (U+3000 and friends lie
// inside the second range) therefore never match.
func matchCJK(cps []rune, cls []uint8, i, hi int) int {
	e := i
	for e < hi && isCJK(cps[e], cls[e]) {
		e++
	}
	if e == i {
		return -1
	}
	return e
}

func isCJK(c rune, cl uint8) bool {
	inRange := (c >= 0x4E00 && c <= 0x9FA5) || (c >= 0x0800 && c <= 0x4E00) || (c >= 0xAC00 && c <= 0xD7FF)
	return inRange && cl&clsSpace == 0
}

// matchDefaultPunct is the default pre-tokenizer's [\p{P}\$\+<=>\^~\|]+.
func matchDefaultPunct(cps []rune, cls []uint8, i, hi int) int {
	e := i
	for e < hi && isDefaultPunct(cps[e], cls[e]) {
		e++
	}
	if e == i {
		return -1
	}
	return e
}

func isDefaultPunct(c rune, cl uint8) bool {
	switch c {
	case '$', '+', '<', '=', '>', '^', '~', '|':
		return true
	}
	return cl&clsPunct != 0
}

// matchASCIIDigits3 is [0-9][0-9][0-9].
func matchASCIIDigits3(cps []rune, cls []uint8, i, hi int) int {
	if i+3 <= hi && isASCIIDigit(cps[i]) && isASCIIDigit(cps[i+1]) && isASCIIDigit(cps[i+2]) {
		return i + 3
	}
	return -1
}

func isASCIIDigit(c rune) bool { return c >= '0' && c <= '9' }

// contraction returns the length (2 or 3) of an English contraction
// ('s 't 're 've 'm 'll 'd) starting at cps[i], or 0. With fold, the letters
// match in either case, as in Llama 3's (?i:...) group; only ASCII letters
// lower-case to s, t, r, e, v, m, l or d, so folding ASCII is exact.
func contraction(cps []rune, i, hi int, fold bool) int {
	if cps[i] != '\'' || i+1 >= hi {
		return 0
	}
	low := func(c rune) rune {
		if fold && c >= 'A' && c <= 'Z' {
			return c + 'a' - 'A'
		}
		return c
	}
	switch low(cps[i+1]) {
	case 's', 't', 'm', 'd':
		return 2
	}
	if i+2 < hi {
		a, b := low(cps[i+1]), low(cps[i+2])
		if (a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l') {
			return 3
		}
	}
	return 0
}

// splitGPT2 is the GPT-2 regex
//
//	's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)
//
// (llama.cpp's unicode_regex_split_custom_gpt2). A run of whitespace before a
// non-space keeps its last codepoint for the next word; a lone whitespace
// codepoint other than ' ' before a word stays a piece of its own.
func splitGPT2(cps []rune, cls []uint8, lo, hi int, ends []int) []int {
	for pos := lo; pos < hi; {
		c := cps[pos]
		if n := contraction(cps, pos, hi, false); n > 0 {
			pos += n
			ends = append(ends, pos)
			continue
		}
		// ' '? followed by a run of letters, numbers or "other".
		q := pos
		if c == ' ' {
			q = pos + 1
		}
		if q < hi {
			k := cls[q]
			e := -1
			switch {
			case k&clsLetter != 0:
				e = runOf(cls, clsLetter, q+1, hi)
			case k&clsNumber != 0:
				e = runOf(cls, clsNumber, q+1, hi)
			case k&otherMask == 0:
				e = q + 1
				for e < hi && cls[e]&otherMask == 0 {
					e++
				}
			}
			if e >= 0 {
				pos = e
				ends = append(ends, pos)
				continue
			}
		}
		n := 0
		for pos+n < hi && cls[pos+n]&clsSpace != 0 {
			n++
		}
		switch {
		case n > 1 && pos+n < hi: // \s+(?!\S): leave the last one to the next word
			pos += n - 1
		case n > 0:
			pos += n
		default:
			pos++
		}
		ends = append(ends, pos)
	}
	return ends
}

// splitLlama3 is the Llama 3 regex
//
//	(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
//
// (llama.cpp's unicode_regex_split_custom_llama3).
func splitLlama3(cps []rune, cls []uint8, lo, hi int, ends []int) []int {
	return splitLlamaStyle(cps, cls, lo, hi, ends, 3)
}

// splitQwen2 is Qwen2's regex, Llama 3's with \p{N} (single digits) in place
// of \p{N}{1,3}. llama.cpp runs it through std::regex over collapsed text;
// with the alternatives tried in order it yields the same pieces as the
// Llama 3 scanner with one-digit numbers (every alternative after the number
// one is identical and every codepoint is matched by some alternative).
func splitQwen2(cps []rune, cls []uint8, lo, hi int, ends []int) []int {
	return splitLlamaStyle(cps, cls, lo, hi, ends, 1)
}

func splitLlamaStyle(cps []rune, cls []uint8, lo, hi int, ends []int, maxDigits int) []int {
	for pos := lo; pos < hi; {
		c := cps[pos]
		if n := contraction(cps, pos, hi, true); n > 0 {
			pos += n
			ends = append(ends, pos)
			continue
		}
		cl := cls[pos]
		// [^\r\n\p{L}\p{N}]?\p{L}+
		if c != '\r' && c != '\n' && cl&clsNumber == 0 {
			if cl&clsLetter != 0 || (pos+1 < hi && cls[pos+1]&clsLetter != 0) {
				pos = runOf(cls, clsLetter, pos+1, hi)
				ends = append(ends, pos)
				continue
			}
		}
		// \p{N}{1,maxDigits}
		if cl&clsNumber != 0 {
			e := pos + 1
			for e < hi && e-pos < maxDigits && cls[e]&clsNumber != 0 {
				e++
			}
			pos = e
			ends = append(ends, pos)
			continue
		}
		// ' '?[^\s\p{L}\p{N}]+[\r\n]*
		if c == ' ' && pos+1 == hi {
			pos++
			ends = append(ends, pos)
			continue
		}
		q := pos
		if c == ' ' {
			q = pos + 1
		}
		if cls[q]&otherMask == 0 {
			e := q + 1
			for e < hi && cls[e]&otherMask == 0 {
				e++
			}
			for e < hi && (cps[e] == '\r' || cps[e] == '\n') {
				e++
			}
			pos = e
			ends = append(ends, pos)
			continue
		}
		// \s*[\r\n]+ | \s+(?!\S) | \s+
		n, lastNL := 0, -1
		for pos+n < hi && cls[pos+n]&clsSpace != 0 {
			if k := cps[pos+n]; k == '\r' || k == '\n' {
				lastNL = pos + n + 1
			}
			n++
		}
		switch {
		case lastNL >= 0:
			pos = lastNL
		case n > 1 && pos+n < hi:
			pos += n - 1
		case n > 0:
			pos += n
		default:
			pos++
		}
		ends = append(ends, pos)
	}
	return ends
}
