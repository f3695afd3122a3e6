// Package decodetest provides pure-Go fakes for testing code that drives
// the decoding engine: a byte-level tokenizer and a language model whose
// logits are a deterministic function of the token history it reads back
// from its own KV cache. Because the history comes from the cache, not
// from the caller, a prefix-cache bug (a wrong sequence copy, a freed
// cell) changes the logits or fails the call, so tests comparing cached
// and uncached results catch it.
package decodetest

import (
	"fmt"
	"hash/fnv"
	"math"
	"math/bits"
	"strings"
	"sync"
	"time"

	"github.com/ghostline-dev/ghostline/decode"
)

// Tokenizer is a byte-level tokenizer: ids [0, len(Specials)) are the
// special tokens, then one id per byte value, then Words: multi-byte
// tokens that Encode prefers (longest first), for tests where the
// tokenization of a word matters.
type Tokenizer struct {
	Specials []string
	Words    []string
}

// StarCoderSpecials are the special tokens of StarCoder's vocabulary in
// their order there (FIM and repository layout included).
var StarCoderSpecials = []string{"<|endoftext|>", "<fim_prefix>", "<fim_middle>", "<fim_suffix>", "<fim_pad>", "<repo_name>", "<file_sep>"}

// NewTokenizer returns a byte tokenizer with the given special tokens.
func NewTokenizer(specials ...string) *Tokenizer { return &Tokenizer{Specials: specials} }

// Vocab is the number of ids.
func (t *Tokenizer) Vocab() int { return len(t.Specials) + 256 + len(t.Words) }

// Encode maps s to the longest word at each position, else to the byte's
// id.
func (t *Tokenizer) Encode(s string) []int32 {
	ids := make([]int32, 0, len(s))
	for i := 0; i < len(s); {
		best := -1
		for w, word := range t.Words {
			if strings.HasPrefix(s[i:], word) && (best < 0 || len(word) > len(t.Words[best])) {
				best = w
			}
		}
		if best >= 0 {
			ids = append(ids, int32(len(t.Specials)+256+best))
			i += len(t.Words[best])
			continue
		}
		ids = append(ids, t.ID(s[i]))
		i++
	}
	return ids
}

// Piece is a token's text, or "" for a special token.
func (t *Tokenizer) Piece(id int32) string {
	k := int32(len(t.Specials))
	switch {
	case id >= k && id < k+256:
		return string([]byte{byte(id - k)})
	case id >= k+256 && int(id-k-256) < len(t.Words):
		return t.Words[id-k-256]
	}
	return ""
}

// ID is the id of byte b.
func (t *Tokenizer) ID(b byte) int32 { return int32(len(t.Specials)) + int32(b) }

// Tokens lists every token's text (specials, then bytes), as a GGUF
// vocabulary would.
func (t *Tokenizer) Tokens() []string {
	out := append([]string(nil), t.Specials...)
	for b := 0; b < 256; b++ {
		out = append(out, string([]byte{byte(b)}))
	}
	return append(out, t.Words...)
}

// Special reads the special tokens from the vocabulary's texts (the first
// special is EOS; BOS is not added).
func (t *Tokenizer) Special() *decode.Special {
	meta := map[string]int32{}
	if len(t.Specials) > 0 {
		meta["eos"] = 0
	}
	return decode.NewSpecial(t.Tokens(), nil, meta, false)
}

// LogitsFunc fills logits for the token that follows history.
type LogitsFunc func(history []int32, logits []float32)

// HashLogits gives each id a pseudo-random logit in [-Spread, Spread]
// seeded by the whole history.
func HashLogits(spread float32) LogitsFunc {
	return func(history []int32, logits []float32) {
		h := fnv.New64a()
		var b [4]byte
		for _, t := range history {
			b[0], b[1], b[2], b[3] = byte(t), byte(t>>8), byte(t>>16), byte(t>>24)
			h.Write(b[:])
		}
		seed := h.Sum64()
		for i := range logits {
			x := splitmix(seed + uint64(i)*0x9E3779B97F4A7C15)
			logits[i] = spread * (float32(x>>40)/float32(1<<24)*2 - 1)
		}
	}
}

func splitmix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xBF58476D1CE4E5B9
	x ^= x >> 27
	x *= 0x94D049BB133111EB
	x ^= x >> 31
	return x
}

// Script makes a model that, in a history containing When (bytes; empty:
// always), writes Write one byte token per step after the last occurrence
// of After (token ids), then emits end (no end when end < 0). Elsewhere
// base decides. It is how tests make the fake model "complete" something
// on purpose.
func Script(tok *Tokenizer, base LogitsFunc, end int32, rules ...ScriptRule) LogitsFunc {
	return func(history []int32, logits []float32) {
		base(history, logits)
		for _, r := range rules {
			if r.When != "" && lastIndex(history, tok.Encode(r.When)) < 0 {
				continue
			}
			at := lastIndex(history, r.After)
			if at < 0 {
				continue
			}
			written := history[at+len(r.After):]
			want := tok.Encode(r.Write)
			if len(written) > len(want) || !prefixEq(want, written) {
				continue
			}
			if len(written) < len(want) {
				logits[want[len(written)]] = 100
			} else if end >= 0 {
				logits[end] = 100
			}
			return
		}
	}
}

// ScriptRule: in a history containing When, after the tokens After, write
// Write.
type ScriptRule struct {
	When  string
	After []int32
	Write string
}

// NoStop wraps f so that ids in stop never win: a model that never ends by
// itself (for limit, deadline and cancellation tests).
func NoStop(f LogitsFunc, stop ...int32) LogitsFunc {
	return func(h []int32, l []float32) {
		f(h, l)
		for _, s := range stop {
			l[s] = -1e9
		}
	}
}

func lastIndex(h, sub []int32) int {
	if len(sub) == 0 {
		return -1
	}
	for i := len(h) - len(sub); i >= 0; i-- {
		if prefixEq(h[i:], sub) {
			return i
		}
	}
	return -1
}

func prefixEq(a, p []int32) bool {
	if len(p) > len(a) {
		return false
	}
	for i := range p {
		if a[i] != p[i] {
			return false
		}
	}
	return true
}

type cell struct {
	tok  int32
	pos  int32
	seqs uint64
}

// LM is a fake language model with a unified KV cache of Cells cells and
// 64 sequence ids, implementing decode.LM. Its logits for a token are
// Logits(history), where history is read from the cache: the tokens of the
// token's sequence at positions 0..pos, which must all be present.
type LM struct {
	Logits    LogitsFunc
	V         int
	Delay     time.Duration // slept in every Forward (latency tests)
	CellSize  int           // CellBytes (default 1024)
	Ctx       int
	mu        sync.Mutex // guards counters read by tests while the engine runs
	cells     []cell
	used      int
	forwards  int
	evaluated int
	maxBatch  int
	moved     int
}

// NewLM returns a fake model with vocab v and cells cells.
func NewLM(v, cells int, logits LogitsFunc) *LM {
	return &LM{Logits: logits, V: v, cells: make([]cell, cells)}
}

func (m *LM) Vocab() int      { return m.V }
func (m *LM) MaxSeqs() int    { return 64 }
func (m *LM) ContextLen() int { return m.Ctx }
func (m *LM) CacheCells() int { return len(m.cells) }
func (m *LM) CellBytes() int {
	if m.CellSize > 0 {
		return m.CellSize
	}
	return 1024
}

func (m *LM) CacheUsed() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.used
}

// Evaluated is the number of tokens Forward has evaluated; Forwards the
// number of calls; MaxBatch the largest batch seen.
func (m *LM) Evaluated() int { m.mu.Lock(); defer m.mu.Unlock(); return m.evaluated }
func (m *LM) Forwards() int  { m.mu.Lock(); defer m.mu.Unlock(); return m.forwards }
func (m *LM) MaxBatch() int  { m.mu.Lock(); defer m.mu.Unlock(); return m.maxBatch }

func bit(s decode.SeqID) uint64 { return 1 << uint(s) }

func posRange(p0, p1 int32) (int32, int32) {
	if p0 < 0 {
		p0 = 0
	}
	if p1 < 0 {
		p1 = math.MaxInt32
	}
	return p0, p1
}

func (m *LM) SeqRm(seq decode.SeqID, p0, p1 int32) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p0, p1 = posRange(p0, p1)
	mask := ^uint64(0)
	if seq >= 0 {
		mask = bit(seq)
	}
	for i := range m.cells {
		c := &m.cells[i]
		if c.seqs&mask != 0 && c.pos >= p0 && c.pos < p1 {
			c.seqs &^= mask
			if c.seqs == 0 {
				m.used--
			}
		}
	}
}

func (m *LM) SeqCp(src, dst decode.SeqID, p0, p1 int32) error {
	if src < 0 || src >= 64 || dst < 0 || dst >= 64 {
		return fmt.Errorf("fake lm: sequence id out of range")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	p0, p1 = posRange(p0, p1)
	for i := range m.cells {
		c := &m.cells[i]
		if c.seqs&bit(src) != 0 && c.pos >= p0 && c.pos < p1 {
			c.seqs |= bit(dst)
		}
	}
	return nil
}

// SeqCpShift copies src's cells at [p0, p1) into new cells of dst moved by
// delta (decode.ShiftLM). A fake cell holds only its token, so a moved
// copy is exact here, unlike a real model's.
func (m *LM) SeqCpShift(src, dst decode.SeqID, p0, p1, delta int32) error {
	if src < 0 || src >= 64 || dst < 0 || dst >= 64 {
		return fmt.Errorf("fake lm: sequence id out of range")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	p0, p1 = posRange(p0, p1)
	held := map[int32]bool{}
	var from []cell
	for _, c := range m.cells {
		if c.seqs&bit(src) != 0 && c.pos >= p0 && c.pos < p1 {
			from = append(from, c)
		}
		if c.seqs&bit(dst) != 0 {
			held[c.pos] = true
		}
	}
	if len(from) > len(m.cells)-m.used {
		return fmt.Errorf("fake lm: kv cache full: %d cells to copy, %d free", len(from), len(m.cells)-m.used)
	}
	for _, c := range from {
		if np := c.pos + delta; np < 0 || held[np] {
			return fmt.Errorf("fake lm: copy of position %d to %d: out of range or held", c.pos, np)
		}
	}
	j := 0
	for _, c := range from {
		for m.cells[j].seqs != 0 {
			j++
		}
		m.cells[j] = cell{tok: c.tok, pos: c.pos + delta, seqs: bit(dst)}
		m.used++
	}
	m.moved += len(from)
	return nil
}

// Moved is the number of cells SeqCpShift has copied.
func (m *LM) Moved() int { m.mu.Lock(); defer m.mu.Unlock(); return m.moved }

// SeqLen is the number of cells seq holds (tests check for leaks).
func (m *LM) SeqLen(seq decode.SeqID) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, c := range m.cells {
		if c.seqs&bit(seq) != 0 {
			n++
		}
	}
	return n
}

// Seqs is the set of sequence ids holding any cell.
func (m *LM) Seqs() uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	var s uint64
	for _, c := range m.cells {
		s |= c.seqs
	}
	return s
}

func (m *LM) Forward(b decode.Batch) ([]float32, error) {
	if m.Delay > 0 {
		time.Sleep(m.Delay)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	n := len(b.Tokens)
	if n == 0 || len(b.Pos) != n || len(b.Seq) != n || len(b.Logits) != n {
		return nil, fmt.Errorf("fake lm: malformed batch")
	}
	if n > len(m.cells)-m.used {
		return nil, fmt.Errorf("fake lm: kv cache full: %d tokens, %d free cells", n, len(m.cells)-m.used)
	}
	type key struct {
		s decode.SeqID
		p int32
	}
	inBatch := make(map[key]bool, n)
	var mask uint64
	for i, t := range b.Tokens {
		if t < 0 || int(t) >= m.V {
			return nil, fmt.Errorf("fake lm: token %d outside the vocabulary", t)
		}
		if b.Seq[i] < 0 || b.Seq[i] >= 64 {
			return nil, fmt.Errorf("fake lm: sequence %d out of range", b.Seq[i])
		}
		k := key{b.Seq[i], b.Pos[i]}
		if inBatch[k] {
			return nil, fmt.Errorf("fake lm: batch holds position %d of sequence %d twice", b.Pos[i], b.Seq[i])
		}
		inBatch[k] = true
		mask |= bit(b.Seq[i])
	}
	for _, c := range m.cells {
		for s := c.seqs & mask; s != 0; s &= s - 1 {
			sq := decode.SeqID(bits.TrailingZeros64(s))
			if inBatch[key{sq, c.pos}] {
				return nil, fmt.Errorf("fake lm: sequence %d already holds position %d", sq, c.pos)
			}
		}
	}
	j := 0
	for i := range b.Tokens {
		for m.cells[j].seqs != 0 {
			j++
		}
		m.cells[j] = cell{tok: b.Tokens[i], pos: b.Pos[i], seqs: bit(b.Seq[i])}
		m.used++
	}
	m.forwards++
	m.evaluated += n
	m.maxBatch = max(m.maxBatch, n)
	var out []float32
	for i := range b.Tokens {
		if !b.Logits[i] {
			continue
		}
		p := b.Pos[i]
		hist := make([]int32, p+1)
		seen := make([]bool, p+1)
		for _, c := range m.cells {
			if c.seqs&bit(b.Seq[i]) != 0 && c.pos <= p {
				hist[c.pos] = c.tok
				seen[c.pos] = true
			}
		}
		for k, ok := range seen {
			if !ok {
				return nil, fmt.Errorf("fake lm: sequence %d misses position %d (evaluating position %d)", b.Seq[i], k, p)
			}
		}
		l := make([]float32, m.V)
		m.Logits(hist, l)
		out = append(out, l...)
	}
	return out, nil
}
