package tokenizer

import (
	"strings"
	"sync"
)

// Byte-level BPE (tokenizer.ggml.model = "gpt2").
//
// Each pre-tokenized word is rewritten in GPT-2's byte alphabet, split into
// one symbol per byte, and merged pair by pair: always the adjacent pair with
// the lowest merge rank, the leftmost on ties, until no adjacent pair has a
// rank (llama.cpp's llm_tokenizer_bpe_session). Symbols that end up as no
// token fall back to single-byte tokens, and bytes with no token are dropped,
// as in llama.cpp.
//
// Strings are interned as "pieces": every token text and every string a merge
// mentions gets an int32 id, so the merge loop compares and looks up integers
// instead of building strings.

type bpeMerge struct {
	rank   int32
	result int32 // piece id of left+right
}

type bpeModel struct {
	pieceID   map[string]int32
	pieceText []string
	pieceTok  []int32 // token id of the piece's text, or -1
	merges    map[uint64]bpeMerge
	byteSym   [256]int32   // piece of each byte's GPT-2 character, or -1
	byteFall  [256][]int32 // tokens a lone unmerged, untokenized byte symbol falls back to

	ignoreMerges bool // a word that is a whole token is emitted as is (Llama 3)
	toID         map[string]int32

	cache wordCache // word (raw UTF-8) -> tokens
}

// wordCache maps a piece of text that is tokenized independently of its
// context (a pre-tokenized word, a SentencePiece segment) to its tokens.
// Source code repeats its words and lines constantly, so this removes most
// merge work. It is cleared when it reaches cacheMax entries to bound memory,
// and safe for concurrent use.
type wordCache struct {
	mu sync.RWMutex
	m  map[string][]int32
}

func (c *wordCache) get(word string) ([]int32, bool) {
	c.mu.RLock()
	toks, ok := c.m[word]
	c.mu.RUnlock()
	return toks, ok
}

func (c *wordCache) put(word string, toks []int32) {
	c.mu.Lock()
	if c.m == nil || len(c.m) >= cacheMax {
		c.m = make(map[string][]int32)
	}
	c.m[word] = toks
	c.mu.Unlock()
}

// cacheMax bounds the word cache: 64K words of a few tokens each is a few MB,
// and a code base's distinct words fit well within it. Words longer than
// cacheMaxWord bytes (minified code, base64 blobs) are rare and unlikely to
// repeat, so they are not cached.
const (
	cacheMax     = 1 << 16
	cacheMaxWord = 256
)

func newBPE(tokens []string, toID map[string]int32, merges []string, ignoreMerges bool) *bpeModel {
	m := &bpeModel{
		pieceID:      make(map[string]int32, len(tokens)+len(merges)),
		pieceText:    make([]string, 0, len(tokens)+len(merges)),
		merges:       make(map[uint64]bpeMerge, len(merges)),
		ignoreMerges: ignoreMerges,
		toID:         toID,
	}
	for _, t := range tokens {
		m.intern(t)
	}
	for rank, s := range merges {
		// As llama.cpp: split at the first space after the first byte; a
		// merge with no space is the pair ("", "").
		var left, right string
		if len(s) > 1 {
			if i := strings.IndexByte(s[1:], ' '); i >= 0 {
				left, right = s[:i+1], s[i+2:]
			}
		}
		l, r := m.intern(left), m.intern(right)
		key := uint64(uint32(l))<<32 | uint64(uint32(r))
		if _, dup := m.merges[key]; dup {
			continue // the first (lowest) rank of a repeated pair wins
		}
		m.merges[key] = bpeMerge{rank: int32(rank), result: m.intern(left + right)}
	}
	m.pieceTok = make([]int32, len(m.pieceText))
	for i, s := range m.pieceText {
		if id, ok := toID[s]; ok {
			m.pieceTok[i] = id
		} else {
			m.pieceTok[i] = -1
		}
	}
	for b := 0; b < 256; b++ {
		if id, ok := m.pieceID[byteChars[b]]; ok {
			m.byteSym[b] = id
		} else {
			m.byteSym[b] = -1
		}
		m.byteFall[b] = m.fallback(byteChars[b])
	}
	return m
}

func (m *bpeModel) intern(s string) int32 {
	if id, ok := m.pieceID[s]; ok {
		return id
	}
	id := int32(len(m.pieceText))
	m.pieceID[s] = id
	m.pieceText = append(m.pieceText, s)
	return id
}

// fallback returns the tokens llama.cpp emits for a symbol whose text is no
// token: one per byte of its (byte-encoded) text that is itself a token.
func (m *bpeModel) fallback(text string) []int32 {
	var out []int32
	for i := 0; i < len(text); i++ {
		if id, ok := m.toID[text[i:i+1]]; ok {
			out = append(out, id)
		}
	}
	return out
}

type bpeSym struct {
	piece      int32 // -1: a byte whose character is no piece; -2: merged away
	prev, next int32
	b          byte // the byte this symbol started as
}

type bpeBigram struct {
	rank, left, right int32
	lp, rp            int32 // pieces of left and right when pushed
	result            int32
}

// bpeScratch holds the per-call buffers of one word's merge loop.
type bpeScratch struct {
	syms []bpeSym
	heap []bpeBigram
	enc  []byte
}

// encodeWord appends the tokens of one pre-tokenized word.
func (m *bpeModel) encodeWord(word string, out []int32, sc *bpeScratch) []int32 {
	if len(word) > cacheMaxWord {
		return m.merge(word, out, sc)
	}
	if cached, ok := m.cache.get(word); ok {
		return append(out, cached...)
	}
	start := len(out)
	out = m.merge(word, out, sc)
	m.cache.put(word, append([]int32(nil), out[start:]...))
	return out
}

func (m *bpeModel) merge(word string, out []int32, sc *bpeScratch) []int32 {
	if m.ignoreMerges {
		sc.enc = sc.enc[:0]
		for i := 0; i < len(word); i++ {
			sc.enc = append(sc.enc, byteChars[word[i]]...)
		}
		if id, ok := m.toID[string(sc.enc)]; ok {
			return append(out, id)
		}
	}
	n := len(word)
	syms := sc.syms[:0]
	for i := 0; i < n; i++ {
		syms = append(syms, bpeSym{piece: m.byteSym[word[i]], prev: int32(i - 1), next: int32(i + 1), b: word[i]})
	}
	if n > 0 {
		syms[n-1].next = -1
	}
	h := sc.heap[:0]
	push := func(l, r int32) {
		lp, rp := syms[l].piece, syms[r].piece
		if lp < 0 || rp < 0 {
			return
		}
		mg, ok := m.merges[uint64(uint32(lp))<<32|uint64(uint32(rp))]
		if !ok {
			return
		}
		h = heapPush(h, bpeBigram{rank: mg.rank, left: l, right: r, lp: lp, rp: rp, result: mg.result})
	}
	for i := 1; i < n; i++ {
		push(int32(i-1), int32(i))
	}
	for len(h) > 0 {
		var bg bpeBigram
		h, bg = heapPop(h)
		ls, rs := &syms[bg.left], &syms[bg.right]
		if ls.piece != bg.lp || rs.piece != bg.rp {
			continue // one side has changed since this pair was queued
		}
		ls.piece = bg.result
		rs.piece = -2
		ls.next = rs.next
		if rs.next >= 0 {
			syms[rs.next].prev = bg.left
		}
		if ls.prev >= 0 {
			push(ls.prev, bg.left)
		}
		if ls.next >= 0 {
			push(bg.left, ls.next)
		}
	}
	for i := int32(0); n > 0 && i >= 0; i = syms[i].next {
		s := syms[i]
		switch {
		case s.piece >= 0 && m.pieceTok[s.piece] >= 0:
			out = append(out, m.pieceTok[s.piece])
		case s.piece >= 0:
			out = append(out, m.fallback(m.pieceText[s.piece])...)
		default:
			out = append(out, m.byteFall[s.b]...)
		}
	}
	sc.syms, sc.heap = syms, h
	return out
}

// heapLess orders bigrams by rank, then by position, as llama.cpp's queue.
func heapLess(a, b bpeBigram) bool {
	return a.rank < b.rank || (a.rank == b.rank && a.left < b.left)
}

func heapPush(h []bpeBigram, x bpeBigram) []bpeBigram {
	h = append(h, x)
	i := len(h) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !heapLess(h[i], h[p]) {
			break
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
	return h
}

func heapPop(h []bpeBigram) ([]bpeBigram, bpeBigram) {
	top := h[0]
	last := len(h) - 1
	h[0] = h[last]
	h = h[:last]
	i := 0
	for {
		l := 2*i + 1
		if l >= len(h) {
			break
		}
		c := l
		if r := l + 1; r < len(h) && heapLess(h[r], h[l]) {
			c = r
		}
		if !heapLess(h[c], h[i]) {
			break
		}
		h[i], h[c] = h[c], h[i]
		i = c
	}
	return h, top
}
