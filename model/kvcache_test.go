package model

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/ghostline-dev/ghostline/model/quant"
)

// refCache is the pure-Go reference for the cache's bookkeeping: which
// positions each sequence holds. (The real cache shares cells between
// sequences; the reference just keeps sets.)
type refCache map[SeqID]map[int32]bool

func (r refCache) positions(s SeqID) []int32 {
	var ps []int32
	for p := range r[s] {
		ps = append(ps, p)
	}
	slices.Sort(ps)
	return ps
}

// TestKVCacheBookkeeping runs random placements, removals, copies and keeps
// against the reference and compares every sequence's positions, the max
// position, and the number of used cells (which must count shared cells
// once).
func TestKVCacheBookkeeping(t *testing.T) {
	m := &Model{Config: Config{Layers: 1, HeadDim: 4, KVHeads: 1}}
	r := rand.New(rand.NewPCG(1, 2))
	for trial := 0; trial < 50; trial++ {
		c := m.NewKVCache(64)
		ref := refCache{}
		// cellOf tracks which reference "cell" each (seq,pos) shares, to
		// count used cells the way the cache must.
		type sp struct {
			s SeqID
			p int32
		}
		cellOf := map[sp]int{}
		nextCell := 0
		for op := 0; op < 60; op++ {
			s := SeqID(r.IntN(4))
			switch r.IntN(5) {
			case 0, 1: // place a few new positions after the sequence's max
				n := 1 + r.IntN(4)
				start := c.SeqPosMax(s) + 1
				var pos []int32
				var seq []SeqID
				for i := 0; i < n; i++ {
					pos = append(pos, start+int32(i))
					seq = append(seq, s)
				}
				_, err := c.place(pos, seq)
				if len(pos) > c.Size()-len(distinct(cellOf)) {
					if err == nil {
						t.Fatal("overfull placement succeeded")
					}
					continue
				}
				if err != nil {
					t.Fatal(err)
				}
				if ref[s] == nil {
					ref[s] = map[int32]bool{}
				}
				for _, p := range pos {
					ref[s][p] = true
					cellOf[sp{s, p}] = nextCell
					nextCell++
				}
			case 2: // remove a range
				p0, p1 := int32(r.IntN(10))-1, int32(r.IntN(12))-1
				c.SeqRm(s, p0, p1)
				lo, hi := posRange(p0, p1)
				for p := range ref[s] {
					if p >= lo && p < hi {
						delete(ref[s], p)
						delete(cellOf, sp{s, p})
					}
				}
			case 3: // copy a range to another sequence (after clearing it there)
				d := SeqID(r.IntN(4))
				if d == s {
					continue
				}
				p0, p1 := int32(r.IntN(6)), int32(-1)
				c.SeqRm(d, p0, p1)
				for p := range ref[d] {
					if p >= p0 {
						delete(ref[d], p)
						delete(cellOf, sp{d, p})
					}
				}
				if err := c.SeqCp(s, d, p0, p1); err != nil {
					t.Fatal(err)
				}
				for p := range ref[s] {
					if p >= p0 {
						if ref[d] == nil {
							ref[d] = map[int32]bool{}
						}
						ref[d][p] = true
						cellOf[sp{d, p}] = cellOf[sp{s, p}]
					}
				}
			case 4:
				if r.IntN(4) == 0 {
					c.SeqKeep(s)
					for q := range ref {
						if q != s {
							for p := range ref[q] {
								delete(cellOf, sp{q, p})
							}
							delete(ref, q)
						}
					}
				}
			}
			for q := SeqID(0); q < 4; q++ {
				got := c.SeqPositions(q)
				slices.Sort(got)
				if want := ref.positions(q); !slices.Equal(got, want) {
					t.Fatalf("trial %d op %d: seq %d holds %v, want %v", trial, op, q, got, want)
				}
				want := int32(-1)
				if ps := ref.positions(q); len(ps) > 0 {
					want = ps[len(ps)-1]
				}
				if got := c.SeqPosMax(q); got != want {
					t.Fatalf("seq %d: SeqPosMax %d, want %d", q, got, want)
				}
			}
			if got, want := c.Used(), len(distinct(cellOf)); got != want {
				t.Fatalf("trial %d op %d: %d cells used, want %d", trial, op, got, want)
			}
		}
	}
}

func distinct[K comparable](m map[K]int) map[int]bool {
	d := map[int]bool{}
	for _, v := range m {
		d[v] = true
	}
	return d
}

// TestKVCacheSharedPrefix is the prefix-cache use: a prompt evaluated once
// in sequence 0, shared with sequences 1 and 2 by SeqCp, then continued
// differently in each (in one batch), after sequence 2 has dropped and
// replaced the tail of the prefix. Every result must equal a fresh forward
// pass over that sequence's full token list.
func TestKVCacheSharedPrefix(t *testing.T) {
	for _, arch := range Architectures() {
		t.Run(arch, func(t *testing.T) {
			m := synthTiny(t, arch, "q8_0", false)
			prompt := testTokens(12, m.Vocab)
			c := m.NewKVCache(64)
			if _, err := m.Forward(c, Batch{Tokens: prompt}); err != nil {
				t.Fatal(err)
			}
			used := c.Used()
			c.SeqCp(0, 1, -1, -1)
			c.SeqCp(0, 2, -1, -1)
			if c.Used() != used {
				t.Fatalf("SeqCp copied cells: %d used, was %d", c.Used(), used)
			}
			// Sequence 2 drops positions 8.. and takes other tokens there.
			c.SeqRm(2, 8, -1)
			tail2 := []int32{5, 6, 7, 8}
			got2, err := m.Forward(c, Batch{Tokens: tail2, Seq: []SeqID{2, 2, 2, 2}, Pos: []int32{8, 9, 10, 11}})
			if err != nil {
				t.Fatal(err)
			}
			// Sequences 0 and 1 each decode a different next token, in one batch.
			both, err := m.Forward(c, Batch{Tokens: []int32{40, 41}, Seq: []SeqID{0, 1}, Pos: []int32{12, 12}, Logits: []bool{true, true}})
			if err != nil {
				t.Fatal(err)
			}
			check := func(name string, got []float32, tokens []int32) {
				t.Helper()
				all := forwardAll(t, m, tokens)
				want := all[(len(tokens)-1)*m.Vocab:]
				if e := relErr(got, want); e > 1e-4 {
					t.Errorf("%s: differs from a fresh forward pass by %.2g of range", name, e)
				}
			}
			check("seq 0", both[:m.Vocab], append(slices.Clone(prompt), 40))
			check("seq 1", both[m.Vocab:], append(slices.Clone(prompt), 41))
			check("seq 2", got2, append(slices.Clone(prompt[:8]), tail2...))
			// Removing sequence 0 keeps the cells sequence 1 still shares.
			c.SeqRm(0, -1, -1)
			if got := c.SeqPositions(1); len(got) != 13 {
				t.Errorf("seq 1 lost positions when seq 0 was removed: %v", got)
			}
		})
	}
}

// TestKVCacheHalf checks the f16 cache: half the memory, logits within
// 0.5% of the range of the float32 cache's (keys and values are rounded
// once, to f16's 11-bit precision), and the shared-prefix behaviour intact.
func TestKVCacheHalf(t *testing.T) {
	for _, arch := range Architectures() {
		t.Run(arch, func(t *testing.T) {
			m := synthTiny(t, arch, "f32", false)
			tokens := testTokens(40, m.Vocab)
			c32 := m.NewKVCache(64)
			c16, err := m.NewKVCacheType(64, quant.F16)
			if err != nil {
				t.Fatal(err)
			}
			if c16.CellBytes()*2 != c32.CellBytes() {
				t.Errorf("cell bytes: f16 %d, f32 %d", c16.CellBytes(), c32.CellBytes())
			}
			want, err := m.Forward(c32, Batch{Tokens: tokens})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := m.Forward(c16, Batch{Tokens: tokens[:30]}); err != nil {
				t.Fatal(err)
			}
			c16.SeqCp(0, 1, -1, -1)
			got, err := m.Forward(c16, Batch{Tokens: tokens[30:], Seq: []SeqID{1, 1, 1, 1, 1, 1, 1, 1, 1, 1}})
			if err != nil {
				t.Fatal(err)
			}
			if e := relErr(got, want); e > 0.005 || e == 0 {
				t.Errorf("f16 cache differs from f32 by %.4f of range (want (0, 0.005])", e)
			}
		})
	}
	if _, err := synthTiny(t, "llama", "f32", false).NewKVCacheType(4, quant.Q8_0); err == nil {
		t.Error("q8_0 cache: no error")
	}
}

// SeqCp into a sequence that already holds some of the positions leaves
// it one cell per position: attention would count a doubled one twice.
func TestSeqCpReplacesDst(t *testing.T) {
	m := synthTiny(t, "llama", "f32", false)
	c := m.NewKVCache(16)
	for s := SeqID(0); s < 2; s++ {
		if _, err := m.Forward(c, Batch{Tokens: testTokens(4, m.Vocab), Seq: []SeqID{s, s, s, s}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.SeqCp(0, 1, 0, 3); err != nil {
		t.Fatal(err)
	}
	seen := map[int32]int{}
	for _, p := range c.SeqPositions(1) {
		seen[p]++
	}
	for p, n := range seen {
		if n != 1 {
			t.Errorf("sequence 1 holds position %d %d times", p, n)
		}
	}
	if len(seen) != 4 || c.Used() != 5 {
		t.Errorf("positions %v, %d cells used; want 0..3 and 5 cells (4 of sequence 0, the last of 1)", seen, c.Used())
	}
}

// shiftFixture evaluates 11 tokens at positions 7.. as sequence 0 of a
// cache of size cells, and returns them with a 12th, a fresh pass's
// logits over all 12 at positions 0.., and how close a shifted cache must
// come to those.
func shiftFixture(t *testing.T, arch string, typ quant.Type, size int) (m *Model, c *KVCache, tokens []int32, want []float32, limit float64) {
	t.Helper()
	m = synthTiny(t, arch, "f32", false)
	tokens = testTokens(12, m.Vocab)
	c, _ = m.NewKVCacheType(size, typ)
	pos := make([]int32, 11)
	for i := range pos {
		pos[i] = int32(7 + i)
	}
	if _, err := m.Forward(c, Batch{Tokens: tokens[:11], Pos: pos}); err != nil {
		t.Fatal(err)
	}
	fresh, _ := m.NewKVCacheType(len(tokens), typ)
	want, err := m.Forward(fresh, Batch{Tokens: tokens})
	if err != nil {
		t.Fatal(err)
	}
	limit = 1e-4
	if typ == quant.F16 {
		limit = 0.005 // keys rounded to f16 twice
	}
	return m, c, tokens, want, limit
}

// TestSeqAdd evaluates a prompt at positions 7.., shifts it to 0.. and
// continues: the result must equal a fresh pass over the same tokens at
// positions 0.. (keys re-rotated exactly; values do not depend on position).
func TestSeqAdd(t *testing.T) {
	for _, arch := range Architectures() {
		for _, typ := range []quant.Type{quant.F32, quant.F16} {
			t.Run(arch+"-"+typ.String(), func(t *testing.T) {
				m, c, tokens, want, limit := shiftFixture(t, arch, typ, 32)
				if err := m.SeqAdd(c, 0, -1, -1, -7); err != nil {
					t.Fatal(err)
				}
				got, err := m.Decode(c, 0, 11, tokens[11])
				if err != nil {
					t.Fatal(err)
				}
				if e := relErr(got, want); e > limit {
					t.Errorf("after SeqAdd: differs from a fresh pass by %.2g of range", e)
				}
				// Shifting below 0 removes; shifting onto held positions fails.
				c.SeqCp(0, 1, 0, 2)
				if err := m.SeqAdd(c, 0, 0, 3, 1); err == nil {
					t.Error("shift of cells shared with sequence 1: no error")
				}
				if err := m.SeqAdd(c, 0, 5, 6, 1); err == nil {
					t.Error("shift onto position 6, which seq 0 holds: no error")
				}
				c.SeqRm(1, -1, -1)
				if err := m.SeqAdd(c, 0, 0, 4, -2); err != nil {
					t.Fatal(err)
				}
				if ps := c.SeqPositions(0); len(ps) != 10 {
					t.Errorf("after shifting 0..3 by -2: %d positions %v, want 10", len(ps), ps)
				}
			})
		}
	}
}

// TestSeqCpShift copies a prompt evaluated at positions 7.. into another
// sequence at 0..: that sequence continues as a fresh pass would, and the
// source, left in place, continues as before.
func TestSeqCpShift(t *testing.T) {
	for _, arch := range Architectures() {
		for _, typ := range []quant.Type{quant.F32, quant.F16} {
			t.Run(arch+"-"+typ.String(), func(t *testing.T) {
				m, c, tokens, want, limit := shiftFixture(t, arch, typ, 26)
				if err := m.SeqCpShift(c, 0, 1, -1, -1, -7); err != nil {
					t.Fatal(err)
				}
				if c.Used() != 22 {
					t.Errorf("%d cells used after copying 11, want 22", c.Used())
				}
				for _, tc := range []struct {
					seq SeqID
					pos int32
				}{{1, 11}, {0, 18}} {
					got, err := m.Decode(c, tc.seq, tc.pos, tokens[11])
					if err != nil {
						t.Fatal(err)
					}
					if e := relErr(got, want); e > limit {
						t.Errorf("sequence %d after the copy: differs from a fresh pass by %.2g of range", tc.seq, e)
					}
				}
				// seq 1 now holds 0..11: a copy onto those positions, one
				// below 0 and one with too few free cells change nothing.
				used := c.Used()
				if err := m.SeqCpShift(c, 0, 1, 7, 9, 3); err == nil {
					t.Error("copy onto positions 10-11, which sequence 1 holds: no error")
				}
				if err := m.SeqCpShift(c, 0, 2, 7, 9, -8); err == nil {
					t.Error("copy to position -1: no error")
				}
				if err := m.SeqCpShift(c, 0, 2, 7, 11, -7); err == nil {
					t.Error("copy of 4 cells into 2 free ones: no error")
				}
				if c.Used() != used || len(c.SeqPositions(2)) != 0 {
					t.Errorf("a failed copy changed the cache: %d cells used (was %d), sequence 2 holds %v", c.Used(), used, c.SeqPositions(2))
				}
				if err := m.SeqCpShift(c, 0, 2, 16, 18, -16); err != nil {
					t.Fatal(err)
				}
				if ps := c.SeqPositions(2); len(ps) != 2 || ps[0]+ps[1] != 1 {
					t.Errorf("after copying 16..17 to 0..: sequence 2 holds %v, want 0 and 1", ps)
				}
			})
		}
	}
}

// BenchmarkSeqCpShift copies a 1,400-token prompt to moved positions in a
// cache of the default model's shape (24 layers, 2 KV heads of 64, f16):
// what reusing a prompt after a cursor move costs before any token is
// evaluated.
func BenchmarkSeqCpShift(b *testing.B) {
	m := *synthTiny(b, "qwen2", "f32", false)
	m.Layers, m.KVHeads, m.HeadDim = 24, 2, 64
	m.Rope.Dims = 64
	const n = 1400
	c, err := m.NewKVCacheType(2*n, quant.F16)
	if err != nil {
		b.Fatal(err)
	}
	for i := range n {
		c.pos[i], c.seqs[i] = int32(i), bit(0)
	}
	c.used, c.next = n, n
	b.ResetTimer()
	for range b.N {
		if err := m.SeqCpShift(c, 0, 1, 0, n, 5); err != nil {
			b.Fatal(err)
		}
		c.SeqRm(1, -1, -1)
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/copy")
}
