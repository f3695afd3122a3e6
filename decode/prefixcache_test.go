package decode_test

import (
	"testing"

	"github.com/ghostline-dev/ghostline/decode"
	"github.com/ghostline-dev/ghostline/decode/decodetest"
)

// cacheHarness drives a PrefixCache the way the engine does, next to a
// brute-force model of what it should hold.
type cacheHarness struct {
	t      testing.TB
	lm     *decodetest.LM
	c      *decode.PrefixCache
	free   []decode.SeqID
	stored map[decode.SeqID][]int32
}

func newHarness(t testing.TB, cells int, budget int64) *cacheHarness {
	h := &cacheHarness{t: t, lm: decodetest.NewLM(16, cells, decodetest.HashLogits(1)), stored: map[decode.SeqID][]int32{}}
	for s := 63; s >= 0; s-- {
		h.free = append(h.free, decode.SeqID(s))
	}
	h.c = decode.NewPrefixCache(h.lm, budget, func(s decode.SeqID) {
		delete(h.stored, s)
		h.free = append(h.free, s)
	})
	return h
}

func commonLen(a, b []int32) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}

// add stores toks as a request would: reuse the longest match, evaluate
// the rest, insert.
func (h *cacheHarness) add(toks []int32) {
	t := h.t
	if len(toks) == 0 {
		return
	}
	for len(h.free) == 0 {
		if !h.c.EvictLRU() {
			t.Fatal("no sequence id and nothing to evict")
		}
	}
	seq := h.free[len(h.free)-1]
	h.free = h.free[:len(h.free)-1]
	src, n := h.c.Match(toks)
	best := 0
	for _, s := range h.stored {
		best = max(best, commonLen(s, toks))
	}
	if n != best {
		t.Fatalf("match %d tokens, brute force %d", n, best)
	}
	if n > 0 {
		if commonLen(h.stored[src], toks) < n {
			t.Fatalf("match names seq %d, which does not hold the %d matched tokens", src, n)
		}
		if err := h.lm.SeqCp(src, seq, 0, int32(n)); err != nil {
			t.Fatal(err)
		}
	}
	if n < len(toks) {
		if !h.c.Reserve(len(toks) - n) {
			t.Fatal("no room")
		}
		b := decode.Batch{}
		for i := n; i < len(toks); i++ {
			b.Tokens = append(b.Tokens, toks[i])
			b.Pos = append(b.Pos, int32(i))
			b.Seq = append(b.Seq, seq)
			b.Logits = append(b.Logits, i == len(toks)-1)
		}
		if _, err := h.lm.Forward(b); err != nil {
			t.Fatal(err)
		}
	}
	// Record before Insert: Insert may release seq (covered) or others.
	h.stored[seq] = append([]int32(nil), toks...)
	h.c.Insert(seq, toks, 0)
	h.c.Trim()
	h.verify()
}

func (h *cacheHarness) verify() {
	if err := decode.CheckPrefixCache(h.c, h.lm.SeqLen); err != nil {
		h.t.Fatal(err)
	}
	if len(h.stored) != h.c.Len() {
		h.t.Fatalf("model holds %d sequences, cache %d", len(h.stored), h.c.Len())
	}
	if h.lm.CacheUsed() > h.lm.CacheCells() {
		h.t.Fatal("over capacity")
	}
}

func TestPrefixCacheSharing(t *testing.T) {
	h := newHarness(t, 1000, 0)
	a := []int32{1, 2, 3, 4, 5, 6, 7, 8}
	h.add(a)
	used := h.lm.CacheUsed()
	// A sequence sharing 6 tokens costs only its 3 new cells.
	h.add([]int32{1, 2, 3, 4, 5, 6, 9, 9, 9})
	if d := h.lm.CacheUsed() - used; d != 3 {
		t.Errorf("shared prefix: %d new cells, want 3", d)
	}
	// Extending a stored sequence replaces it (the old entry is redundant).
	h.add([]int32{1, 2, 3, 4, 5, 6, 7, 8, 10})
	if h.c.Len() != 2 {
		t.Errorf("%d entries, want 2", h.c.Len())
	}
	// A prefix of a stored sequence adds nothing.
	before := h.lm.CacheUsed()
	h.add([]int32{1, 2, 3})
	if h.lm.CacheUsed() != before || h.c.Len() != 2 {
		t.Errorf("covered prefix changed the cache: %d cells, %d entries", h.lm.CacheUsed(), h.c.Len())
	}
	for h.c.EvictLRU() {
		h.verify()
	}
	if h.lm.CacheUsed() != 0 {
		t.Errorf("%d cells left after evicting everything", h.lm.CacheUsed())
	}
}

func TestPrefixCacheBudgetLRU(t *testing.T) {
	// 1 KB per cell in the fake; 20 cells of budget.
	h := newHarness(t, 1000, 20*1024)
	h.add([]int32{1, 1, 1, 1, 1, 1, 1, 1})
	h.add([]int32{2, 2, 2, 2, 2, 2, 2, 2})
	h.c.Match([]int32{1, 1}) // touch the first
	h.add([]int32{3, 3, 3, 3, 3, 3, 3, 3})
	if _, n := h.c.Match([]int32{2, 2}); n != 0 {
		t.Error("the least recently used entry survived")
	}
	if _, n := h.c.Match([]int32{1, 1}); n != 2 {
		t.Error("the recently used entry was evicted")
	}
	if h.lm.CacheUsed() > 20 {
		t.Errorf("%d cells over the 20-cell budget", h.lm.CacheUsed())
	}
}

// FuzzPrefixCache feeds random sequences over a small alphabet (so they
// share prefixes) through the engine's flow, checking the tree against a
// brute-force model after every step.
func FuzzPrefixCache(f *testing.F) {
	f.Add([]byte{3, 1, 2, 3, 0, 3, 1, 2, 4, 0, 2, 1, 2})
	f.Add([]byte{8, 1, 1, 1, 1, 1, 1, 1, 1, 8, 1, 1, 1, 1, 2, 2, 2, 2, 255, 1})
	f.Fuzz(func(t *testing.T, data []byte) {
		h := newHarness(t, 300, 200*1024)
		for len(data) > 0 {
			op := data[0]
			data = data[1:]
			if op == 255 {
				h.c.EvictLRU()
				h.verify()
				continue
			}
			n := min(int(op%24), len(data))
			toks := make([]int32, n)
			for i := range toks {
				toks[i] = int32(data[i] % 4)
			}
			data = data[n:]
			h.add(toks)
		}
	})
}
