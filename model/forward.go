package model

import (
	"fmt"
	"math"

	"github.com/ghostline-dev/ghostline/model/backend"
	"github.com/ghostline-dev/ghostline/model/quant"
)

// Batch is a set of tokens evaluated in one Forward call: a whole prompt
// (prefill), one token per sequence (decode), or any mix.
type Batch struct {
	Tokens []int32
	// Pos is each token's position in its sequence. Nil: consecutive
	// positions after what the cache holds for each sequence.
	Pos []int32
	// Seq is each token's sequence. Nil: all sequence 0.
	Seq []SeqID
	// Logits marks the tokens whose next-token logits are wanted. Nil: only
	// the last token's. Skipping the others saves the output projection,
	// the largest matrix of a small model.
	Logits []bool
}

// Forward evaluates b, storing its keys and values in c, and returns the
// logits of the tokens b.Logits selects, Vocab floats each, in batch order.
func (m *Model) Forward(c *KVCache, b Batch) ([]float32, error) {
	n := len(b.Tokens)
	if n == 0 {
		return nil, fmt.Errorf("forward: empty batch")
	}
	if err := c.check(m); err != nil {
		return nil, fmt.Errorf("forward: %w", err)
	}
	if (b.Seq != nil && len(b.Seq) != n) || (b.Pos != nil && len(b.Pos) != n) || (b.Logits != nil && len(b.Logits) != n) {
		return nil, fmt.Errorf("forward: batch has %d tokens but %d positions, %d sequence ids, %d logit flags", n, len(b.Pos), len(b.Seq), len(b.Logits))
	}
	seq := b.Seq
	if seq == nil {
		seq = make([]SeqID, n)
	}
	pos := b.Pos
	if pos == nil {
		pos = make([]int32, n)
		next := map[SeqID]int32{}
		for i, s := range seq {
			if _, ok := next[s]; !ok {
				next[s] = c.SeqPosMax(s) + 1
			}
			pos[i] = next[s]
			next[s]++
		}
	}
	want := b.Logits
	if want == nil {
		want = make([]bool, n)
		want[n-1] = true
	}
	for i, t := range b.Tokens {
		if t < 0 || int(t) >= m.Vocab {
			return nil, fmt.Errorf("forward: token %d (index %d) is outside the vocabulary [0,%d)", t, i, m.Vocab)
		}
	}
	cells, err := c.place(pos, seq)
	if err != nil {
		return nil, fmt.Errorf("forward: %w", err)
	}
	visible := c.visible(pos, seq)
	s := m.scratchFor(c, n)
	x := s.x
	if err := m.embed(x, b.Tokens); err != nil {
		c.unplace(cells)
		return nil, err
	}
	for l := range m.layers {
		m.block(l, x, s, c, cells, pos, visible)
	}
	return m.logits(x, want), nil
}

// unplace frees cells claimed by a batch that failed.
func (c *KVCache) unplace(cells []int32) {
	for _, i := range cells {
		c.drop(int(i), ^uint64(0))
	}
}

// Decode evaluates one token of seq at pos and returns its logits.
func (m *Model) Decode(c *KVCache, seq SeqID, pos int32, token int32) ([]float32, error) {
	return m.Forward(c, Batch{Tokens: []int32{token}, Pos: []int32{pos}, Seq: []SeqID{seq}})
}

// embed copies each token's embedding row (decoded from the file's type)
// into x.
func (m *Model) embed(x []float32, tokens []int32) error {
	data := m.file.TensorData(m.tokEmbd)
	for i, t := range tokens {
		row := data[int(t)*m.tokEmbdRow : (int(t)+1)*m.tokEmbdRow]
		if err := quant.Dequantize(m.tokEmbdType, row, x[i*m.Dim:(i+1)*m.Dim]); err != nil {
			return fmt.Errorf("forward: token_embd: %w", err)
		}
	}
	return nil
}

// scratch holds one Forward call's activations.
type scratch struct {
	n                     int       // rows allocated
	dim, ffn              int       // of the model they were sized for
	x, h, q, k, v, att, o []float32 // n×Dim, n×Dim, n×Dim, n×KVDim, n×KVDim, n×Dim, n×Dim
	ffA, ffB              []float32 // n×FFN

	// Arguments of MatMulShared, kept here so the decode loop does not
	// allocate them.
	sharedOut [3][]float32
	sharedW   [3]backend.Weight
}

// scratchFor returns activations for n tokens, reusing those kept in c
// when they are large enough (every op writes its output before reading
// it, so stale contents do not matter) when they were sized for m's
// shape.
func (m *Model) scratchFor(c *KVCache, n int) *scratch {
	if s := c.scr; s != nil && s.n >= n && s.dim == m.Dim && s.ffn == m.FFN {
		return &scratch{n: n, dim: m.Dim, ffn: m.FFN,
			x: s.x[:n*m.Dim], h: s.h[:n*m.Dim], q: s.q[:n*m.Dim],
			k: s.k[:n*m.KVDim()], v: s.v[:n*m.KVDim()],
			att: s.att[:n*m.Dim], o: s.o[:n*m.Dim],
			ffA: s.ffA[:n*m.FFN], ffB: s.ffB[:n*m.FFN],
		}
	}
	s := &scratch{n: n, dim: m.Dim, ffn: m.FFN,
		x: make([]float32, n*m.Dim), h: make([]float32, n*m.Dim), q: make([]float32, n*m.Dim),
		k: make([]float32, n*m.KVDim()), v: make([]float32, n*m.KVDim()),
		att: make([]float32, n*m.Dim), o: make([]float32, n*m.Dim),
		ffA: make([]float32, n*m.FFN), ffB: make([]float32, n*m.FFN),
	}
	c.scr = s
	return s
}

func (m *Model) normalize(out, x []float32, nm norm) {
	if m.Norm == LayerNorm {
		m.be.LayerNorm(out, x, nm.w, nm.b, m.Dim, m.NormEps)
	} else {
		m.be.RMSNorm(out, x, nm.w, m.Dim, m.NormEps)
	}
}

// project computes outs[i] = ws[i]·x (+ bs[i]) for i < k, n rows each.
// Products of one input (Q, K, V; gate and up) go to the backend as one
// op where it can fuse them (SharedMatMuler). The arrays are values and
// the slices handed on are the scratch's, so decode allocates nothing.
func (m *Model) project(s *scratch, x []float32, n, k int, outs [3][]float32, ws [3]backend.Weight, bs [3][]float32) {
	if sm, ok := m.be.(backend.SharedMatMuler); ok && k > 1 {
		s.sharedOut, s.sharedW = outs, ws
		sm.MatMulShared(s.sharedOut[:k], s.sharedW[:k], x, n)
	} else {
		for i := range k {
			m.be.MatMul(outs[i], ws[i], x, n)
		}
	}
	for i := range k {
		if bs[i] != nil {
			m.be.AddBias(outs[i][:n*ws[i].Rows()], bs[i])
		}
	}
}

// block is one transformer layer, pre-norm:
//
//	x += Wo · attention(rope(Wq·norm(x)), rope(Wk·norm(x)), Wv·norm(x))
//	x += MLP(norm(x))
func (m *Model) block(l int, x []float32, s *scratch, c *KVCache, cells, pos []int32, visible [][]int32) {
	ly := &m.layers[l]
	n := len(cells)
	kvDim := m.KVDim()

	// Attention.
	m.normalize(s.h, x, ly.attnNorm)
	m.project(s, s.h, n, 3, [3][]float32{s.q, s.k, s.v}, [3]backend.Weight{ly.wq, ly.wk, ly.wv}, [3][]float32{ly.bq, ly.bk, ly.bv})
	m.be.ApplyRope(s.q, m.Heads, m.HeadDim, pos, m.Rope)
	m.be.ApplyRope(s.k, m.KVHeads, m.HeadDim, pos, m.Rope)
	for i, cell := range cells {
		c.store(l, cell, s.k[i*kvDim:(i+1)*kvDim], s.v[i*kvDim:(i+1)*kvDim])
	}
	K, V, K16, V16 := c.attention(l)
	m.be.Attend(s.att, s.q, backend.Attention{
		Heads: m.Heads, KVHeads: m.KVHeads, HeadDim: m.HeadDim,
		Scale: float32(1 / math.Sqrt(float64(m.HeadDim))),
		K:     K, V: V, K16: K16, V16: V16, Visible: visible,
	})
	m.project(s, s.att, n, 1, [3][]float32{s.o}, [3]backend.Weight{ly.wo}, [3][]float32{ly.bo})
	m.be.Add(x, s.o)

	// Feed-forward.
	m.normalize(s.h, x, ly.ffnNorm)
	ff := n * m.FFN
	if m.MLP == SwiGLU {
		m.project(s, s.h, n, 2, [3][]float32{s.ffA, s.ffB}, [3]backend.Weight{ly.gate, ly.up}, [3][]float32{ly.bGate, ly.bUp})
		m.be.SwiGLU(s.ffA[:ff], s.ffB[:ff])
	} else {
		m.project(s, s.h, n, 1, [3][]float32{s.ffA}, [3]backend.Weight{ly.up}, [3][]float32{ly.bUp})
		m.be.GELU(s.ffA[:ff])
	}
	m.project(s, s.ffA, n, 1, [3][]float32{s.o}, [3]backend.Weight{ly.down}, [3][]float32{ly.bDown})
	m.be.Add(x, s.o)
}

// logits applies the final norm and the output projection to the rows
// marked in want.
func (m *Model) logits(x []float32, want []bool) []float32 {
	var rows []float32
	k := 0
	for i, w := range want {
		if w {
			rows = append(rows, x[i*m.Dim:(i+1)*m.Dim]...)
			k++
		}
	}
	if k == 0 {
		return nil
	}
	m.normalize(rows, rows, m.outNorm)
	out := make([]float32, k*m.Vocab)
	m.be.MatMul(out, m.output, rows, k)
	return out
}

// Argmax returns the index of the largest logit and the margin over the
// runner-up (as the reference files' "margin").
func Argmax(logits []float32) (id int, margin float32) {
	best, second := float32(math.Inf(-1)), float32(math.Inf(-1))
	for i, v := range logits {
		if v > best {
			second, best, id = best, v, i
		} else if v > second {
			second = v
		}
	}
	return id, best - second
}
