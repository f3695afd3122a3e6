package model

import (
	"fmt"
	"math"
	"math/bits"

	"github.com/ghostline-dev/ghostline/model/quant"
)

// SeqID names a sequence in a KVCache: a request, a beam, a cached prefix.
type SeqID int32

// MaxSeqs is the number of distinct sequences one cache tracks; each cell
// records its sequences in a 64-bit set, which keeps the per-cell
// visibility test one AND. 64 covers parallel requests times beam width.
const MaxSeqs = 64

// KVCache holds the keys and values of evaluated tokens, one cell per
// token. Like llama.cpp's unified cache, a cell belongs to a set of
// sequences: SeqCp shares cells between sequences without copying, so a
// common prompt prefix is computed and stored once; SeqRm drops a
// sequence's claim to a range of positions, and a cell with no sequences
// left is free for reuse.
//
// A token of sequence s at position p attends to every cell of s at a
// position ≤ p, so a sequence's cells must hold distinct positions (Forward
// checks that).
//
// A KVCache is used by one goroutine at a time.
type KVCache struct {
	layers, kvDim int
	half          bool        // keys and values stored as f16 (k16, v16) instead of float32
	k, v          [][]float32 // per layer: cells × kvDim
	k16, v16      [][]uint16  // per layer, when half
	pos           []int32
	seqs          []uint64 // bit s set: the cell belongs to sequence s
	used          int
	next          int // where the search for a free cell starts

	// Forward's working memory, kept between calls (a cache serves one
	// forward pass at a time) so the decode loop does not allocate it anew.
	visBuf []int32
	visOut [][]int32
	scr    *scratch
}

// check says whether c was made for m's shape.
func (c *KVCache) check(m *Model) error {
	if c.layers != m.Layers || c.kvDim != m.KVDim() {
		return fmt.Errorf("KV cache of %d layers × %d was made for another model shape (%d layers × %d)", c.layers, c.kvDim, m.Layers, m.KVDim())
	}
	return nil
}

// NewKVCache makes a cache of size cells (tokens) for m, storing keys and
// values as float32. Memory: CellBytes × size.
func (m *Model) NewKVCache(size int) *KVCache {
	c, _ := m.NewKVCacheType(size, quant.F32)
	return c
}

// NewKVCacheType makes a cache storing keys and values as typ: F32, or F16
// (half the memory, and what llama.cpp stores by default; the values are
// rounded to f16 once, when stored).
func (m *Model) NewKVCacheType(size int, typ quant.Type) (*KVCache, error) {
	if typ != quant.F32 && typ != quant.F16 {
		return nil, fmt.Errorf("kv cache: unsupported type %s (supported: f32, f16)", typ)
	}
	c := &KVCache{layers: m.Layers, kvDim: m.KVDim(), half: typ == quant.F16, pos: make([]int32, size), seqs: make([]uint64, size)}
	for i := 0; i < m.Layers; i++ {
		if c.half {
			c.k16 = append(c.k16, make([]uint16, size*c.kvDim))
			c.v16 = append(c.v16, make([]uint16, size*c.kvDim))
		} else {
			c.k = append(c.k, make([]float32, size*c.kvDim))
			c.v = append(c.v, make([]float32, size*c.kvDim))
		}
	}
	return c, nil
}

// store writes one token's keys and values of layer l into cell.
func (c *KVCache) store(l int, cell int32, k, v []float32) {
	o := int(cell) * c.kvDim
	if !c.half {
		copy(c.k[l][o:o+c.kvDim], k)
		copy(c.v[l][o:o+c.kvDim], v)
		return
	}
	kk, vv := c.k16[l][o:o+c.kvDim], c.v16[l][o:o+c.kvDim]
	for i := range kk {
		kk[i] = quant.F32ToF16(k[i])
		vv[i] = quant.F32ToF16(v[i])
	}
}

// attention describes layer l's cache to the backend.
func (c *KVCache) attention(l int) (k, v []float32, k16, v16 []uint16) {
	if c.half {
		return nil, nil, c.k16[l], c.v16[l]
	}
	return c.k[l], c.v[l], nil, nil
}

// CellBytes is the memory one cell takes: one token's keys and values in
// every layer.
func (c *KVCache) CellBytes() int {
	if c.half {
		return 2 * c.layers * c.kvDim * 2
	}
	return 2 * c.layers * c.kvDim * 4
}

// Size is the number of cells; Used the number holding a token.
func (c *KVCache) Size() int { return len(c.pos) }
func (c *KVCache) Used() int { return c.used }

// Clear empties the cache.
func (c *KVCache) Clear() {
	clear(c.seqs)
	c.used, c.next = 0, 0
}

func bit(s SeqID) uint64 { return 1 << uint(s) }

func validSeq(s SeqID) error {
	if s < 0 || s >= MaxSeqs {
		return fmt.Errorf("kv cache: sequence id %d out of range [0,%d)", s, MaxSeqs)
	}
	return nil
}

// posRange normalizes [p0, p1): a negative bound means unbounded.
func posRange(p0, p1 int32) (int32, int32) {
	if p0 < 0 {
		p0 = 0
	}
	if p1 < 0 {
		p1 = math.MaxInt32
	}
	return p0, p1
}

// SeqRm removes sequence seq's positions in [p0, p1) (negative bounds:
// unbounded; seq < 0: every sequence). Cells left without a sequence are
// freed.
func (c *KVCache) SeqRm(seq SeqID, p0, p1 int32) {
	p0, p1 = posRange(p0, p1)
	mask := ^uint64(0)
	if seq >= 0 {
		if validSeq(seq) != nil {
			return
		}
		mask = bit(seq)
	}
	for i, s := range c.seqs {
		if s&mask != 0 && c.pos[i] >= p0 && c.pos[i] < p1 {
			c.drop(i, mask)
		}
	}
}

// SeqCp makes dst share src's cells at positions [p0, p1): no data is
// copied. dst's own cells in that range are dropped first, so dst never
// holds two cells at one position (attention would count it twice).
func (c *KVCache) SeqCp(src, dst SeqID, p0, p1 int32) error {
	if err := validSeq(src); err != nil {
		return err
	}
	if err := validSeq(dst); err != nil {
		return err
	}
	if src == dst {
		return nil
	}
	c.SeqRm(dst, p0, p1)
	p0, p1 = posRange(p0, p1)
	for i, s := range c.seqs {
		if s&bit(src) != 0 && c.pos[i] >= p0 && c.pos[i] < p1 {
			c.seqs[i] |= bit(dst)
		}
	}
	return nil
}

// SeqKeep removes every sequence but seq.
func (c *KVCache) SeqKeep(seq SeqID) {
	if validSeq(seq) != nil {
		return
	}
	for i, s := range c.seqs {
		if s != 0 {
			c.drop(i, ^bit(seq))
		}
	}
}

// drop takes the sequences of mask out of cell i, which is in use; a cell
// left without a sequence is free.
func (c *KVCache) drop(i int, mask uint64) {
	c.seqs[i] &^= mask
	if c.seqs[i] == 0 {
		c.used--
		c.next = min(c.next, i)
	}
}

// SeqPosMax is the largest position stored for seq, or -1 if none.
func (c *KVCache) SeqPosMax(seq SeqID) int32 {
	mx := int32(-1)
	if validSeq(seq) != nil {
		return mx
	}
	for i, s := range c.seqs {
		if s&bit(seq) != 0 {
			mx = max(mx, c.pos[i])
		}
	}
	return mx
}

// SeqPositions lists seq's positions in cell order (for tests and
// diagnostics).
func (c *KVCache) SeqPositions(seq SeqID) []int32 {
	var ps []int32
	if validSeq(seq) != nil {
		return nil
	}
	for i, s := range c.seqs {
		if s&bit(seq) != 0 {
			ps = append(ps, c.pos[i])
		}
	}
	return ps
}

// place claims one free cell per token for a batch and returns them, after
// checking that no token's (sequence, position) is already stored.
func (c *KVCache) place(pos []int32, seq []SeqID) ([]int32, error) {
	n := len(pos)
	if n > len(c.pos)-c.used {
		return nil, fmt.Errorf("kv cache full: %d tokens do not fit in %d free cells of %d (remove positions with SeqRm or use a larger cache)",
			n, len(c.pos)-c.used, len(c.pos))
	}
	type key struct {
		s SeqID
		p int32
	}
	inBatch := make(map[key]bool, n)
	var batchSeqs uint64
	for i := range pos {
		if err := validSeq(seq[i]); err != nil {
			return nil, err
		}
		if pos[i] < 0 {
			return nil, fmt.Errorf("token %d has negative position %d", i, pos[i])
		}
		k := key{seq[i], pos[i]}
		if inBatch[k] {
			return nil, fmt.Errorf("batch holds position %d of sequence %d twice", pos[i], seq[i])
		}
		inBatch[k] = true
		batchSeqs |= bit(seq[i])
	}
	for i, s := range c.seqs {
		if s&batchSeqs == 0 {
			continue
		}
		for b := s & batchSeqs; b != 0; b &= b - 1 {
			sq := SeqID(bits.TrailingZeros64(b))
			if inBatch[key{sq, c.pos[i]}] {
				return nil, fmt.Errorf("sequence %d already has position %d in the cache (remove it with SeqRm first)", sq, c.pos[i])
			}
		}
	}
	cells := make([]int32, n)
	j := c.next
	for i := range cells {
		for c.seqs[j] != 0 {
			j++
		}
		cells[i] = int32(j)
		c.pos[j] = pos[i]
		c.seqs[j] = bit(seq[i])
		j++
	}
	c.used += n
	c.next = j
	return cells, nil
}

// visible lists, for each token, the cells it attends to: those of its
// sequence at positions ≤ its own (the batch's own cells included, since
// they are placed before attention runs).
func (c *KVCache) visible(pos []int32, seq []SeqID) [][]int32 {
	// Two passes (count, then fill) over one backing array kept in c, so a
	// decode step allocates nothing here and a prefill allocates once.
	total := 0
	for t := range pos {
		b, p := bit(seq[t]), pos[t]
		for i, s := range c.seqs {
			if s&b != 0 && c.pos[i] <= p {
				total++
			}
		}
	}
	if cap(c.visBuf) < total {
		c.visBuf = make([]int32, total)
	}
	if cap(c.visOut) < len(pos) {
		c.visOut = make([][]int32, len(pos))
	}
	buf, out := c.visBuf[:0], c.visOut[:len(pos)]
	for t := range pos {
		b, p := bit(seq[t]), pos[t]
		start := len(buf)
		for i, s := range c.seqs {
			if s&b != 0 && c.pos[i] <= p {
				buf = append(buf, int32(i))
			}
		}
		out[t] = buf[start:len(buf):len(buf)]
	}
	return out
}

// SeqAdd shifts sequence seq's positions in [p0, p1) by delta (negative
// bounds: unbounded), as llama.cpp's seq_add: the cached keys are rotated
// by delta positions, which is exact for rotary embeddings (a rotation by
// θ(p+δ) is the rotation by θp followed by θδ). Cells shifted below
// position 0 are removed. The values computed at the old positions are kept
// as they are, so shifting after changing earlier tokens is an
// approximation (llama.cpp's context shift makes the same one).
//
// A cell shared with another sequence cannot move for one of them only:
// that is an error, as is a shift onto a position seq already holds; on
// error nothing changes.
func (m *Model) SeqAdd(c *KVCache, seq SeqID, p0, p1, delta int32) error {
	if err := validSeq(seq); err != nil {
		return err
	}
	if err := c.check(m); err != nil {
		return err
	}
	if delta == 0 {
		return nil
	}
	p0, p1 = posRange(p0, p1)
	b := bit(seq)
	var moved []int32
	stay := map[int32]bool{}
	for i, s := range c.seqs {
		if s&b == 0 {
			continue
		}
		if c.pos[i] >= p0 && c.pos[i] < p1 {
			if s != b {
				return fmt.Errorf("kv cache: position %d of sequence %d is shared with other sequences; cannot shift it for one of them", c.pos[i], seq)
			}
			moved = append(moved, int32(i))
		} else {
			stay[c.pos[i]] = true
		}
	}
	for _, i := range moved {
		if np := int64(c.pos[i]) + int64(delta); np >= 0 && (stay[int32(np)] || np > math.MaxInt32) {
			return fmt.Errorf("kv cache: shifting sequence %d by %d moves position %d onto one it already holds", seq, delta, c.pos[i])
		}
	}
	var kept []int
	for _, i := range moved {
		c.pos[i] += delta
		if c.pos[i] < 0 {
			c.drop(int(i), ^uint64(0))
			continue
		}
		kept = append(kept, int(i))
	}
	m.rotateKeys(c, kept, delta)
	return nil
}

// rotateKeys turns the keys of cells, in every layer, by delta positions.
// Each layer's rows go through one ApplyRope call, as one token with a
// head per cell and KV head: the backend works out the rotation's angles
// once, not once per cell (a prompt is ~1,500 cells × 24 layers).
func (m *Model) rotateKeys(c *KVCache, cells []int, delta int32) {
	if len(cells) == 0 || delta == 0 {
		return
	}
	kvDim := c.kvDim
	buf := make([]float32, len(cells)*kvDim)
	for l := 0; l < c.layers; l++ {
		for n, cell := range cells {
			o, row := cell*kvDim, buf[n*kvDim:(n+1)*kvDim]
			if c.half {
				for j, h := range c.k16[l][o : o+kvDim] {
					row[j] = quant.F16ToF32(h)
				}
			} else {
				copy(row, c.k[l][o:o+kvDim])
			}
		}
		m.be.ApplyRope(buf, len(cells)*m.KVHeads, m.HeadDim, []int32{delta}, m.Rope)
		for n, cell := range cells {
			o, row := cell*kvDim, buf[n*kvDim:(n+1)*kvDim]
			if c.half {
				k16 := c.k16[l][o : o+kvDim]
				for j, v := range row {
					k16[j] = quant.F32ToF16(v)
				}
			} else {
				copy(c.k[l][o:o+kvDim], row)
			}
		}
	}
}

// SeqCpShift gives dst a copy of src's cells at positions [p0, p1), moved
// by delta (negative bounds: unbounded): new cells, keys rotated as in
// SeqAdd, values as they are. Unlike SeqCp nothing is shared, since one
// cell has one position; src is left as it was. This is how a prompt
// reuses a run of tokens that a cached sequence holds at another position
// (llama.cpp's cache reuse): the values keep the context they were
// computed in, an approximation when the tokens before the run differ.
//
// Copies landing below position 0 or on a position dst already holds, and
// a lack of free cells, are errors; on error nothing changes.
func (m *Model) SeqCpShift(c *KVCache, src, dst SeqID, p0, p1, delta int32) error {
	if err := validSeq(src); err != nil {
		return err
	}
	if err := validSeq(dst); err != nil {
		return err
	}
	if err := c.check(m); err != nil {
		return err
	}
	p0, p1 = posRange(p0, p1)
	held := map[int32]bool{}
	var from []int
	for i, s := range c.seqs {
		if s&bit(src) != 0 && c.pos[i] >= p0 && c.pos[i] < p1 {
			from = append(from, i)
		}
		if s&bit(dst) != 0 {
			held[c.pos[i]] = true
		}
	}
	for _, i := range from {
		np := int64(c.pos[i]) + int64(delta)
		if np < 0 || np > math.MaxInt32 || held[int32(np)] {
			return fmt.Errorf("kv cache: copying position %d of sequence %d to %d of sequence %d: out of range or already held", c.pos[i], src, np, dst)
		}
	}
	if len(from) > len(c.pos)-c.used {
		return fmt.Errorf("kv cache full: %d cells to copy, %d free of %d", len(from), len(c.pos)-c.used, len(c.pos))
	}
	to := make([]int, 0, len(from))
	j := c.next
	for _, i := range from {
		for c.seqs[j] != 0 {
			j++
		}
		c.pos[j] = c.pos[i] + delta
		c.seqs[j] = bit(dst)
		o, n := i*c.kvDim, j*c.kvDim
		for l := 0; l < c.layers; l++ {
			if c.half {
				copy(c.k16[l][n:n+c.kvDim], c.k16[l][o:o+c.kvDim])
				copy(c.v16[l][n:n+c.kvDim], c.v16[l][o:o+c.kvDim])
			} else {
				copy(c.k[l][n:n+c.kvDim], c.k[l][o:o+c.kvDim])
				copy(c.v[l][n:n+c.kvDim], c.v[l][o:o+c.kvDim])
			}
		}
		to = append(to, j)
		j++
	}
	c.used += len(from)
	c.next = j
	m.rotateKeys(c, to, delta)
	return nil
}
