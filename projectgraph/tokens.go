package projectgraph

import (
	"sync"
	"unicode"
	"unicode/utf8"
)

// TokenCounter counts the tokens of a text in the model's vocabulary. The
// context packer only needs counts, so any tokenizer can be plugged in
// (the CLI passes the model's); ApproxCounter stands in when none is.
type TokenCounter interface {
	Count(text string) int
}

// TokenCounterFunc adapts a function to TokenCounter.
type TokenCounterFunc func(string) int

// Count calls f.
func (f TokenCounterFunc) Count(s string) int { return f(s) }

// ApproxCounter estimates the token count of code for a byte-level BPE
// vocabulary of the kind code models use (32K–50K entries). It errs on the
// high side so a budget packed with it holds under the real tokenizer:
// each word costs one token per started 4 characters (BPE merges common
// identifiers into one or two tokens, rare ones split further), each
// punctuation or symbol character costs one, a newline with its
// indentation costs one, and other whitespace runs are free (merged with
// the next word, as the 'Ġ' prefix does).
type ApproxCounter struct{}

// Count implements TokenCounter.
func (ApproxCounter) Count(s string) int {
	n := 0
	for i := 0; i < len(s); {
		r, size := rune(s[i]), 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(s[i:])
		}
		switch {
		case r == '\n':
			n++
			i += size
			for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
				i++
			}
		case r == ' ' || r == '\t' || r == '\r':
			i += size
		case r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
			w := 0
			for i < len(s) {
				r, size = rune(s[i]), 1
				if r >= utf8.RuneSelf {
					r, size = utf8.DecodeRuneInString(s[i:])
				}
				if !(r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r)) {
					break
				}
				if size > 1 {
					w += 4 // non-ASCII letters are usually a token (or more) each
				} else {
					w++
				}
				i += size
			}
			n += (w + 3) / 4
		default:
			n++
			i += size
		}
	}
	return n
}

// maxCountedBytes bounds a CachedCounter's memory: the texts it keeps
// (signatures of ~100 bytes, bodies of a few KB), far more than the
// distinct ones a session's context requests show.
const maxCountedBytes = 16 << 20

// maxCachedText is the longest text a CachedCounter remembers; longer
// texts (whole files) are rarely counted twice.
const maxCachedText = 16 << 10

// CachedCounter wraps c with a memo of the counts of the texts it has
// seen. Context counts the signatures, bodies and outlines it considers;
// the same definitions come back request after request (the types and
// functions a file uses), and a count from the memo costs a map lookup
// instead of a BPE encoding. It is safe for concurrent use; the memo is
// dropped whole when full.
func CachedCounter(c TokenCounter) TokenCounter {
	if _, ok := c.(*cachedCounter); ok {
		return c
	}
	return &cachedCounter{c: c, m: map[string]int{}}
}

type cachedCounter struct {
	c     TokenCounter
	mu    sync.Mutex
	m     map[string]int
	bytes int // of the keys of m
}

func (cc *cachedCounter) Count(s string) int {
	if len(s) > maxCachedText {
		return cc.c.Count(s)
	}
	cc.mu.Lock()
	n, ok := cc.m[s]
	cc.mu.Unlock()
	if ok {
		return n
	}
	n = cc.c.Count(s)
	cc.mu.Lock()
	if cc.bytes+len(s) > maxCountedBytes {
		cc.m, cc.bytes = map[string]int{}, 0
	}
	if _, ok := cc.m[s]; !ok {
		cc.m[s] = n
		cc.bytes += len(s)
	}
	cc.mu.Unlock()
	return n
}
