package decode

// LM is the forward pass and KV cache the engine drives, in the shape of
// model.Model with one model.KVCache (a unified cache whose cells belong to
// sets of sequences, as llama.cpp's). Only the engine's loop goroutine calls
// it, so implementations need no locking.
type LM interface {
	// Vocab is the number of logits per evaluated token.
	Vocab() int
	// Forward evaluates the batch, storing its keys and values in the
	// cache, and returns Vocab logits for each token whose Logits flag is
	// set, in batch order.
	Forward(b Batch) ([]float32, error)
	// SeqRm drops seq's claim to positions [p0, p1) (negative bounds:
	// unbounded); cells no sequence claims become free.
	SeqRm(seq SeqID, p0, p1 int32)
	// SeqCp makes dst share src's cells at positions [p0, p1) without
	// copying data.
	SeqCp(src, dst SeqID, p0, p1 int32) error
	// CacheCells is the number of token cells; CacheUsed how many hold a
	// token of some sequence.
	CacheCells() int
	CacheUsed() int
	// CellBytes is the memory one cell (one token's keys and values in
	// every layer) takes.
	CellBytes() int
	// MaxSeqs is the number of distinct sequence ids, [0, MaxSeqs).
	MaxSeqs() int
	// ContextLen is the longest sequence the model was trained on (0:
	// unknown).
	ContextLen() int
}

// ShiftLM is an LM that can copy cached cells to other positions (keys
// rotated to them), which lets a prompt reuse runs of a cached sequence
// that an edit moved (reuse.go). The engine uses it when lm has it.
type ShiftLM interface {
	LM
	// SeqCpShift gives dst copies of src's cells at positions [p0, p1),
	// moved by delta; src keeps its own.
	SeqCpShift(src, dst SeqID, p0, p1, delta int32) error
}

// SeqID names a sequence in the KV cache.
type SeqID int32

// Batch is one Forward call's tokens: each has a position in its sequence;
// Logits marks those whose next-token logits are wanted.
type Batch struct {
	Tokens []int32
	Pos    []int32
	Seq    []SeqID
	Logits []bool
}

func (b *Batch) add(tok int32, pos int32, seq SeqID, logits bool) {
	b.Tokens = append(b.Tokens, tok)
	b.Pos = append(b.Pos, pos)
	b.Seq = append(b.Seq, seq)
	b.Logits = append(b.Logits, logits)
}

func (b *Batch) reset() {
	b.Tokens, b.Pos, b.Seq, b.Logits = b.Tokens[:0], b.Pos[:0], b.Seq[:0], b.Logits[:0]
}

// Tokenizer is what the engine needs of a tokenizer.
type Tokenizer interface {
	// Encode turns text into token ids: no BOS, special-token text not
	// parsed (a "<fim_prefix>" typed in a document stays text).
	Encode(text string) []int32
	// Piece is the exact bytes a token stands for (SentencePiece's ▁ as a
	// space, byte tokens as their byte), so a completion's text is the
	// concatenation of its tokens' pieces. Control tokens may return "".
	Piece(id int32) string
}
