package model

import (
	"fmt"

	"github.com/ghostline-dev/ghostline/model/backend"
	"github.com/ghostline-dev/ghostline/model/gguf"
	"github.com/ghostline-dev/ghostline/model/quant"
)

// Model is a loaded transformer: its configuration and weights bound to a
// backend. The weights are views of the GGUF file's mapping; keep the file
// open while the model is in use (Close closes a file opened by Open).
//
// A Model holds no per-request state: activations live in each Forward
// call and keys/values in a KVCache, so one model can serve several
// caches. Forward calls must not overlap, though: a backend serves one
// forward pass at a time (the CPU backend keeps its job and its workers'
// state between calls).
type Model struct {
	Config
	be     backend.Backend
	file   *gguf.File
	closer bool // whether Close closes file

	tokEmbd     *gguf.TensorInfo // token_embd, read row by row
	tokEmbdType quant.Type
	tokEmbdRow  int // bytes per embedding row
	outNorm     norm
	output      backend.Weight // output, or token_embd when tied
	layers      []layer
}

type norm struct{ w, b []float32 }

// layer is one transformer block's weights. Biases are nil where the file
// has none.
type layer struct {
	attnNorm          norm
	wq, wk, wv, wo    backend.Weight
	bq, bk, bv, bo    []float32
	ffnNorm           norm
	gate, up, down    backend.Weight // gate is nil for GELU MLPs
	bGate, bUp, bDown []float32
}

// Open maps the GGUF file at path and loads it onto be.
func Open(path string, be backend.Backend) (*Model, error) {
	f, err := gguf.Open(path)
	if err != nil {
		return nil, err
	}
	m, err := Load(f, be)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	m.closer = true
	return m, nil
}

// Close releases the file mapping if Open made it.
func (m *Model) Close() error {
	if m.closer {
		return m.file.Close()
	}
	return nil
}

// Backend is the backend the model runs on.
func (m *Model) Backend() backend.Backend { return m.be }

// File is the GGUF file the weights come from (for the tokenizer).
func (m *Model) File() *gguf.File { return m.file }

// Load binds f's weights to be. f must stay open while the model is used.
func Load(f *gguf.File, be backend.Backend) (*Model, error) {
	cfg, err := ReadConfig(f)
	if err != nil {
		return nil, err
	}
	m := &Model{Config: cfg, be: be, file: f}
	l := loader{f: f, be: be}

	te, ok := f.Tensor("token_embd.weight")
	if !ok {
		return nil, fmt.Errorf("tensor token_embd.weight is missing")
	}
	if len(te.Dims) != 2 || te.Dims[0] != uint64(cfg.Dim) || te.Dims[1] == 0 || te.Dims[1] > 1<<24 {
		return nil, fmt.Errorf("tensor token_embd.weight has shape %v, want [%d n_vocab]", te.Dims, cfg.Dim)
	}
	m.tokEmbd = te
	m.Vocab = int(te.Dims[1])
	m.tokEmbdType = quant.Type(te.Type)
	if m.tokEmbdRow, err = l.rowBytes(te); err != nil {
		return nil, err
	}

	m.outNorm = l.norm("output_norm", cfg.Dim, cfg.Norm)
	if _, ok := f.Tensor("output.weight"); ok {
		m.output = l.matrix("output.weight", m.Vocab, cfg.Dim)
	} else {
		m.output = l.matrix("token_embd.weight", m.Vocab, cfg.Dim) // tied embeddings
	}
	d, kv := cfg.Dim, cfg.KVDim()
	for i := 0; i < cfg.Layers; i++ {
		p := fmt.Sprintf("blk.%d.", i)
		ly := layer{
			attnNorm: l.norm(p+"attn_norm", d, cfg.Norm),
			wq:       l.matrix(p+"attn_q.weight", d, d),
			wk:       l.matrix(p+"attn_k.weight", kv, d),
			wv:       l.matrix(p+"attn_v.weight", kv, d),
			wo:       l.matrix(p+"attn_output.weight", d, d),
			bq:       l.optVector(p+"attn_q.bias", d),
			bk:       l.optVector(p+"attn_k.bias", kv),
			bv:       l.optVector(p+"attn_v.bias", kv),
			bo:       l.optVector(p+"attn_output.bias", d),
			ffnNorm:  l.norm(p+"ffn_norm", d, cfg.Norm),
			up:       l.matrix(p+"ffn_up.weight", cfg.FFN, d),
			down:     l.matrix(p+"ffn_down.weight", d, cfg.FFN),
			bUp:      l.optVector(p+"ffn_up.bias", cfg.FFN),
			bDown:    l.optVector(p+"ffn_down.bias", d),
		}
		if cfg.MLP == SwiGLU {
			ly.gate = l.matrix(p+"ffn_gate.weight", cfg.FFN, d)
			ly.bGate = l.optVector(p+"ffn_gate.bias", cfg.FFN)
		}
		m.layers = append(m.layers, ly)
	}
	if l.err != nil {
		return nil, l.err
	}
	return m, nil
}

// loader binds tensors, remembering the first error so the binding code
// above reads as a list.
type loader struct {
	f   *gguf.File
	be  backend.Backend
	err error
}

func (l *loader) fail(format string, args ...any) {
	if l.err == nil {
		l.err = fmt.Errorf(format, args...)
	}
}

func (l *loader) rowBytes(t *gguf.TensorInfo) (int, error) {
	qt := quant.Type(t.Type)
	if !qt.Known() {
		return 0, fmt.Errorf("tensor %s has type %s, which is not supported (supported: %s)", t.Name, t.Type, quant.SupportedNames())
	}
	return qt.RowBytes(int(t.Dims[0]))
}

func (l *loader) matrix(name string, rows, cols int) backend.Weight {
	t, ok := l.f.Tensor(name)
	if !ok {
		l.fail("tensor %s is missing", name)
		return nil
	}
	if len(t.Dims) != 2 || t.Dims[0] != uint64(cols) || t.Dims[1] != uint64(rows) {
		l.fail("tensor %s has shape %v, want [%d %d]", name, t.Dims, cols, rows)
		return nil
	}
	if _, err := l.rowBytes(t); err != nil {
		l.fail("%v", err)
		return nil
	}
	w, err := l.be.NewWeight(quant.Type(t.Type), rows, cols, l.f.TensorData(t))
	if err != nil {
		l.fail("tensor %s: %v", name, err)
	}
	return w
}

// vector returns a 1-D tensor as float32: a zero-copy view for f32 (the
// usual case), a decoded copy (small) otherwise.
func (l *loader) vector(name string, n int) []float32 {
	t, ok := l.f.Tensor(name)
	if !ok {
		l.fail("tensor %s is missing", name)
		return nil
	}
	return l.decode(t, n)
}

func (l *loader) optVector(name string, n int) []float32 {
	t, ok := l.f.Tensor(name)
	if !ok {
		return nil
	}
	return l.decode(t, n)
}

func (l *loader) decode(t *gguf.TensorInfo, n int) []float32 {
	if t.Elements() != uint64(n) {
		l.fail("tensor %s has shape %v, want [%d]", t.Name, t.Dims, n)
		return nil
	}
	qt := quant.Type(t.Type)
	data := l.f.TensorData(t)
	if qt == quant.F32 {
		return quant.F32View(data)
	}
	out := make([]float32, n)
	if err := quant.Dequantize(qt, data, out); err != nil {
		l.fail("tensor %s: %v", t.Name, err)
	}
	return out
}

func (l *loader) norm(prefix string, n int, kind NormKind) norm {
	nm := norm{w: l.vector(prefix+".weight", n)}
	if kind == LayerNorm {
		nm.b = l.optVector(prefix+".bias", n)
	}
	return nm
}
