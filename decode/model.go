package decode

import (
	"fmt"
	"runtime"

	"github.com/ghostline-dev/ghostline/model"
	"github.com/ghostline-dev/ghostline/model/backend"
	_ "github.com/ghostline-dev/ghostline/model/backend/cpu" // registers "cpu"
	"github.com/ghostline-dev/ghostline/model/gguf"
	"github.com/ghostline-dev/ghostline/model/quant"
	"github.com/ghostline-dev/ghostline/model/tokenizer"
)

// ModelLM adapts a model.Model and one model.KVCache to LM.
type ModelLM struct {
	M *model.Model
	C *model.KVCache
}

// KVType is how the engine's KV cache stores keys and values: f16, as
// llama.cpp does by default. It halves the cache's memory, so the prefix
// cache keeps twice the tokens in the same megabytes, and halves what
// attention reads per step over a long prompt. The rounding is far below
// what the 8-bit activations of quantized models already lose (llama.cpp
// moves its logits by 0.8–1.7% of their range switching between the two);
// greedy completions then agree with llama.cpp's more often (79 of 100
// against 75 with float32: docs/benchmarks.md).
const KVType = quant.F16

// NewModelLM makes a KV cache of cells tokens for m, storing KVType.
func NewModelLM(m *model.Model, cells int) *ModelLM {
	c, err := m.NewKVCacheType(cells, KVType)
	if err != nil {
		panic(err) // KVType is a type NewKVCacheType takes
	}
	return &ModelLM{M: m, C: c}
}

func (a *ModelLM) Vocab() int { return a.M.Vocab }

func (a *ModelLM) Forward(b Batch) ([]float32, error) {
	seq := make([]model.SeqID, len(b.Seq))
	for i, s := range b.Seq {
		seq[i] = model.SeqID(s)
	}
	return a.M.Forward(a.C, model.Batch{Tokens: b.Tokens, Pos: b.Pos, Seq: seq, Logits: b.Logits})
}

func (a *ModelLM) SeqRm(seq SeqID, p0, p1 int32) { a.C.SeqRm(model.SeqID(seq), p0, p1) }
func (a *ModelLM) SeqCp(src, dst SeqID, p0, p1 int32) error {
	return a.C.SeqCp(model.SeqID(src), model.SeqID(dst), p0, p1)
}
func (a *ModelLM) SeqCpShift(src, dst SeqID, p0, p1, delta int32) error {
	return a.M.SeqCpShift(a.C, model.SeqID(src), model.SeqID(dst), p0, p1, delta)
}
func (a *ModelLM) CacheCells() int { return a.C.Size() }
func (a *ModelLM) CacheUsed() int  { return a.C.Used() }

// CellBytes: keys and values in every layer.
func (a *ModelLM) CellBytes() int  { return a.C.CellBytes() }
func (a *ModelLM) MaxSeqs() int    { return model.MaxSeqs }
func (a *ModelLM) ContextLen() int { return a.M.ContextLen }

// TokenizerLM adapts a model/tokenizer.Tokenizer to Tokenizer: no BOS (the
// template adds it), special-token text left as text, pieces rendered as
// in a completion (control tokens as nothing).
type TokenizerLM struct{ T *tokenizer.Tokenizer }

func (t TokenizerLM) Encode(text string) []int32 {
	return t.T.Encode(text, tokenizer.EncodeOptions{})
}

func (t TokenizerLM) Piece(id int32) string {
	return string(t.T.Piece(id, tokenizer.DecodeOptions{}))
}

// LoadOptions configure Load.
type LoadOptions struct {
	Backend string // backend name (default "cpu")
	Threads int    // 0: one per core
	// KVCells is the KV cache's size in tokens (0: DefaultKVCells, capped
	// at 64 × the model's context).
	KVCells int
	Engine  Options
}

// DefaultKVCells sizes the KV cache: 8,192 tokens hold five 1,536-token
// prompts (the default budget) plus their completions, enough for the
// prefix cache to keep the documents a user switches between. For a 0.5B
// model with 2 KV heads of 64 (24 layers) that is 100 MB of f16 keys and
// values (KVType).
const DefaultKVCells = 8192

// Loaded is an engine with the model it owns.
type Loaded struct {
	*Engine
	Model     *model.Model
	Tokenizer *tokenizer.Tokenizer
	LM        *ModelLM
}

// Close stops the engine and unmaps the model.
func (l *Loaded) Close() error {
	l.Engine.Close()
	return l.Model.Close()
}

// engineSpecial is the special tokens of f's vocabulary as an engine uses
// them: the tokenizer's end-of-generation list (llama.cpp's) joins the
// stop tokens SpecialFromGGUF finds.
func engineSpecial(f *gguf.File, tok *tokenizer.Tokenizer) (*Special, error) {
	sp, err := SpecialFromGGUF(f)
	if err != nil {
		return nil, err
	}
	for _, id := range tok.Special().EOG {
		sp.AddStop(id, tok.Token(id))
	}
	return sp, nil
}

// Load opens the GGUF model at path and starts an engine on it.
func Load(path string, opt LoadOptions) (*Loaded, error) {
	name := opt.Backend
	if name == "" {
		name = "cpu"
	}
	threads := opt.Threads
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	be, err := backend.New(name, threads)
	if err != nil {
		return nil, err
	}
	m, err := model.Open(path, be)
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*Loaded, error) {
		m.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	tok, err := tokenizer.FromGGUF(m.File())
	if err != nil {
		return fail(err)
	}
	sp, err := engineSpecial(m.File(), tok)
	if err != nil {
		return fail(err)
	}
	cells := opt.KVCells
	if cells <= 0 {
		cells = DefaultKVCells
		if m.ContextLen > 0 {
			cells = min(cells, 64*m.ContextLen)
		}
	}
	lm := NewModelLM(m, cells)
	e, err := NewEngine(lm, TokenizerLM{tok}, sp, opt.Engine)
	if err != nil {
		return fail(err)
	}
	return &Loaded{Engine: e, Model: m, Tokenizer: tok, LM: lm}, nil
}
