package tokenizer

// SentencePiece-style BPE (tokenizer.ggml.model = "llama"), as llama.cpp's
// llm_tokenizer_spm_session does it: spaces become U+2581 ("▁"), the text is
// split into UTF-8 characters (by lead byte, unvalidated), and the adjacent
// pair whose concatenation is a token with the highest score is merged
// repeatedly (leftmost on ties). Characters that never become a token are
// emitted as byte tokens <0xXX> (byte fallback).

const spaceMarker = "\u2581"

type spmSym struct {
	start, n   int32 // bytes of the text; n == 0 once merged away
	prev, next int32
}

type spmBigram struct {
	score       float32
	left, right int32
	size        int32
}

func spmLess(a, b spmBigram) bool { // a is popped before b
	return a.score > b.score || (a.score == b.score && a.left < b.left)
}

// encodeSPMText appends the tokens of text (already space-escaped), cutting
// it at characters that can never merge (see spmBreak). Cuts follow the
// symbol segmentation of the merge loop: in invalid UTF-8 a lead byte can
// swallow a following newline into its symbol, and then no cut is made there.
func (t *Tokenizer) encodeSPMText(text string, out []int32) []int32 {
	var sc spmScratch
	lo := 0
	for i := 0; i < len(text); {
		n := min(utf8Len(text[i]), len(text)-i)
		if c := text[i]; n == 1 && c < 128 && t.spmBreak[c] {
			out = t.encodeSPMCached(text[lo:i], out, &sc)
			out = t.encodeSPMCached(text[i:i+1], out, &sc)
			lo = i + 1
		}
		i += n
	}
	return t.encodeSPMCached(text[lo:], out, &sc)
}

// encodeSPMCached is encodeSPM through the segment cache: a segment between
// unmergeable characters is tokenized independently of its context, and
// code repeats its lines.
func (t *Tokenizer) encodeSPMCached(seg string, out []int32, sc *spmScratch) []int32 {
	if len(seg) > cacheMaxWord {
		return t.encodeSPM(seg, out, sc)
	}
	if cached, ok := t.spmCache.get(seg); ok {
		return append(out, cached...)
	}
	start := len(out)
	out = t.encodeSPM(seg, out, sc)
	t.spmCache.put(seg, append([]int32(nil), out[start:]...))
	return out
}

// spmScratch holds the merge loop's buffers across the parts of one text.
type spmScratch struct {
	syms []spmSym
	heap []spmBigram
}

// encodeSPM appends the tokens of text (already space-escaped).
func (t *Tokenizer) encodeSPM(text string, out []int32, sc *spmScratch) []int32 {
	syms := sc.syms[:0]
	defer func() { sc.syms = syms[:0] }()
	for off := 0; off < len(text); {
		n := min(utf8Len(text[off]), len(text)-off)
		idx := int32(len(syms))
		syms = append(syms, spmSym{start: int32(off), n: int32(n), prev: idx - 1, next: idx + 1})
		off += n
	}
	if len(syms) == 0 {
		return out
	}
	syms[len(syms)-1].next = -1

	h := sc.heap[:0]
	defer func() { sc.heap = h[:0] }()
	push := func(l, r int32) {
		if l < 0 || r < 0 {
			return
		}
		s := text[syms[l].start : syms[r].start+syms[r].n]
		id, ok := t.toID[s]
		if !ok {
			return
		}
		x := spmBigram{score: t.score(id), left: l, right: r, size: int32(len(s))}
		h = append(h, x)
		for i := len(h) - 1; i > 0; {
			p := (i - 1) / 2
			if !spmLess(h[i], h[p]) {
				break
			}
			h[i], h[p] = h[p], h[i]
			i = p
		}
	}
	for i := 1; i < len(syms); i++ {
		push(int32(i-1), int32(i))
	}
	for len(h) > 0 {
		bg := h[0]
		last := len(h) - 1
		h[0] = h[last]
		h = h[:last]
		for i := 0; ; {
			l := 2*i + 1
			if l >= len(h) {
				break
			}
			c := l
			if r := l + 1; r < len(h) && spmLess(h[r], h[l]) {
				c = r
			}
			if !spmLess(h[c], h[i]) {
				break
			}
			h[i], h[c] = h[c], h[i]
			i = c
		}
		ls, rs := &syms[bg.left], &syms[bg.right]
		if ls.n == 0 || rs.n == 0 || ls.n+rs.n != bg.size {
			continue // stale
		}
		ls.n += rs.n
		rs.n = 0
		ls.next = rs.next
		if rs.next >= 0 {
			syms[rs.next].prev = bg.left
		}
		push(ls.prev, bg.left)
		push(bg.left, ls.next)
	}
	// Every merged symbol is a token (a pair is queued only if its
	// concatenation is one), so a symbol that is no token is a single
	// character: byte fallback. llama.cpp's rev_merge re-segmentation can
	// therefore never apply here.
	for i := int32(0); i >= 0; i = syms[i].next {
		s := text[syms[i].start : syms[i].start+syms[i].n]
		if id, ok := t.toID[s]; ok {
			out = append(out, id)
			continue
		}
		for j := 0; j < len(s); j++ {
			if id := t.byteToken[s[j]]; id >= 0 {
				out = append(out, id)
			}
		}
	}
	return out
}

func (t *Tokenizer) score(id int32) float32 {
	if int(id) < len(t.scores) {
		return t.scores[id]
	}
	return 0
}
