package model

import (
	"fmt"
	"math"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/ghostline-dev/ghostline/model/gguf"
	"github.com/ghostline-dev/ghostline/model/quant"
)

// Shape is the size of a real model, for random-weight stand-ins of it.
type Shape struct {
	Arch       string // the architecture the real model has
	Layers     int
	Dim        int
	Heads      int
	KVHeads    int
	FFN        int
	Vocab      int
	ContextLen int
	RopeBase   float64
	RopeLinear float64 // linear rope scaling factor; 0: none
	NormEps    float64
	Tied       bool // output projection shares token_embd
}

// Shapes are the real models `model synth --like` imitates (from their
// config.json files).
var Shapes = map[string]Shape{
	"qwen2.5-coder-0.5b":  {Arch: "qwen2", Layers: 24, Dim: 896, Heads: 14, KVHeads: 2, FFN: 4864, Vocab: 151936, ContextLen: 32768, RopeBase: 1e6, NormEps: 1e-6, Tied: true},
	"qwen2.5-coder-1.5b":  {Arch: "qwen2", Layers: 28, Dim: 1536, Heads: 12, KVHeads: 2, FFN: 8960, Vocab: 151936, ContextLen: 32768, RopeBase: 1e6, NormEps: 1e-6, Tied: true},
	"deepseek-coder-1.3b": {Arch: "llama", Layers: 24, Dim: 2048, Heads: 16, KVHeads: 16, FFN: 5504, Vocab: 32256, ContextLen: 16384, RopeBase: 1e5, RopeLinear: 4, NormEps: 1e-6},
	"starcoder2-3b":       {Arch: "starcoder2", Layers: 30, Dim: 3072, Heads: 24, KVHeads: 2, FFN: 12288, Vocab: 49152, ContextLen: 16384, RopeBase: 999999.4420358813, NormEps: 1e-5, Tied: true},
}

// ShapeNames lists Shapes' keys, sorted.
func ShapeNames() []string {
	var s []string
	for k := range Shapes {
		s = append(s, k)
	}
	slices.Sort(s)
	return s
}

// fileType describes one llama.cpp file type (llama_ftype): the default
// weight type and the type of the tensors llama-quantize keeps at higher
// precision.
type fileType struct {
	ftype uint32
	base  quant.Type
	// output is the type of the output projection (or tied token_embd).
	output quant.Type
	// more is the type of attn_v and ffn_down in the layers llama-quantize
	// gives more bits (its "_M" mixes); 0: base.
	more quant.Type
}

var fileTypes = map[string]fileType{
	"f32":    {0, quant.F32, quant.F32, 0},
	"f16":    {1, quant.F16, quant.F16, 0},
	"bf16":   {32, quant.BF16, quant.BF16, 0},
	"q8_0":   {7, quant.Q8_0, quant.Q8_0, 0},
	"q4_0":   {2, quant.Q4_0, quant.Q6_K, 0},
	"q4_1":   {3, quant.Q4_1, quant.Q6_K, 0},
	"q5_0":   {8, quant.Q5_0, quant.Q6_K, 0},
	"q5_1":   {9, quant.Q5_1, quant.Q6_K, 0},
	"q6_k":   {18, quant.Q6_K, quant.Q6_K, 0},
	"q4_k_m": {15, quant.Q4_K, quant.Q6_K, quant.Q6_K},
	"q5_k_m": {17, quant.Q5_K, quant.Q6_K, quant.Q6_K},
}

// FileTypes lists the --type names Synth accepts.
func FileTypes() []string {
	var s []string
	for k := range fileTypes {
		s = append(s, k)
	}
	slices.Sort(s)
	return s
}

// useMoreBits is llama-quantize's choice of layers that get more bits in
// the _M mixes: the first and last eighth, and every third in between.
func useMoreBits(i, n int) bool {
	return i < n/8 || i >= 7*n/8 || (i-n/8)%3 == 2
}

// fallback is the type llama-quantize uses when a row length is not a
// multiple of the k-quant super-block (256).
func fallback(t quant.Type, cols int) quant.Type {
	if cols%t.BlockSize() == 0 {
		return t
	}
	switch t {
	case quant.Q4_K:
		return quant.Q5_0
	case quant.Q5_K:
		return quant.Q5_1
	case quant.Q6_K:
		return quant.Q8_0
	}
	return quant.F16
}

// SynthOptions configures Synth.
type SynthOptions struct {
	Arch  string // llama, qwen2 or starcoder2
	Shape Shape
	Type  string // a FileTypes name
	// Vocab, when set, supplies the tokenizer: its tokenizer.* metadata is
	// copied and its token count sets the vocabulary size, so llama.cpp
	// (and Ghostline's tokenizer) can run the model on text.
	Vocab   *gguf.File
	Name    string
	Seed    uint64
	Threads int // 0: one per core
	// Progress, when set, is called with bytes of weights made so far and
	// the total (from several goroutines, serialized).
	Progress func(done, total int64)
}

type synthTensor struct {
	name  string
	typ   quant.Type
	dims  []uint64 // ggml order: cols first
	scale float32  // standard deviation of the random values
	mean  float32
	data  []byte
}

// Synth builds a random-weight model of the given shape and file type, as
// a gguf.Writer ready to write. Weights are normal with standard deviation
// 1/√cols (so activations stay O(1) through the layers); norms are ≈1,
// biases small. Quantization runs on all cores.
func Synth(o SynthOptions) (*gguf.Writer, error) {
	ft, ok := fileTypes[strings.ToLower(o.Type)]
	if !ok {
		return nil, fmt.Errorf("synth: unknown type %q (supported: %s)", o.Type, strings.Join(FileTypes(), ", "))
	}
	a, ok := archs[o.Arch]
	if !ok {
		return nil, fmt.Errorf("synth: unsupported architecture %q (supported: %s)", o.Arch, strings.Join(Architectures(), ", "))
	}
	s := o.Shape
	if s.Layers <= 0 || s.Dim <= 0 || s.Heads <= 0 || s.KVHeads <= 0 || s.Dim%s.Heads != 0 || s.Heads%s.KVHeads != 0 || s.FFN <= 0 {
		return nil, fmt.Errorf("synth: inconsistent shape %+v", s)
	}
	w := gguf.NewWriter()
	name := o.Name
	if name == "" {
		name = "ghostline synth " + o.Arch
	}
	p := o.Arch + "."
	w.AddKV("general.architecture", gguf.StringValue(o.Arch))
	w.AddKV("general.name", gguf.StringValue(name))
	w.AddKV("general.file_type", gguf.Uint32Value(ft.ftype))
	if ft.base != quant.F32 && ft.base != quant.F16 && ft.base != quant.BF16 {
		w.AddKV("general.quantization_version", gguf.Uint32Value(2))
	}
	w.AddKV(p+"context_length", gguf.Uint32Value(uint32(s.ContextLen)))
	w.AddKV(p+"embedding_length", gguf.Uint32Value(uint32(s.Dim)))
	w.AddKV(p+"block_count", gguf.Uint32Value(uint32(s.Layers)))
	w.AddKV(p+"feed_forward_length", gguf.Uint32Value(uint32(s.FFN)))
	w.AddKV(p+"attention.head_count", gguf.Uint32Value(uint32(s.Heads)))
	w.AddKV(p+"attention.head_count_kv", gguf.Uint32Value(uint32(s.KVHeads)))
	w.AddKV(p+"rope.freq_base", gguf.Float32Value(float32(s.RopeBase)))
	w.AddKV(p+"rope.dimension_count", gguf.Uint32Value(uint32(s.Dim/s.Heads)))
	w.AddKV(p+a.epsKey, gguf.Float32Value(float32(s.NormEps)))
	if s.RopeLinear > 0 {
		w.AddKV(p+"rope.scaling.type", gguf.StringValue("linear"))
		w.AddKV(p+"rope.scaling.factor", gguf.Float32Value(float32(s.RopeLinear)))
	}
	vocab := s.Vocab
	if o.Vocab != nil {
		toks, ok := o.Vocab.Get("tokenizer.ggml.tokens")
		if !ok || toks.Len() == 0 {
			return nil, fmt.Errorf("synth: the vocabulary file has no tokenizer.ggml.tokens")
		}
		vocab = toks.Len()
		for _, kv := range o.Vocab.KVs {
			if strings.HasPrefix(kv.Key, "tokenizer.") {
				w.AddKV(kv.Key, kv.Value)
			}
		}
	} else {
		// No tokenizer: llama.cpp's "none" vocabulary type runs on token ids.
		w.AddKV("tokenizer.ggml.model", gguf.StringValue("none"))
	}
	w.AddKV(p+"vocab_size", gguf.Uint32Value(uint32(vocab)))

	// The tensor list, in llama.cpp's order.
	var ts []*synthTensor
	mat := func(name string, rows, cols int, t quant.Type) {
		ts = append(ts, &synthTensor{name: name, typ: fallback(t, cols), dims: []uint64{uint64(cols), uint64(rows)},
			scale: float32(1 / math.Sqrt(float64(cols)))})
	}
	vec := func(name string, n int, mean, scale float32) {
		ts = append(ts, &synthTensor{name: name, typ: quant.F32, dims: []uint64{uint64(n)}, mean: mean, scale: scale})
	}
	embdType := ft.base
	if s.Tied {
		embdType = ft.output
	}
	ts = append(ts, &synthTensor{name: "token_embd.weight", typ: fallback(embdType, s.Dim), dims: []uint64{uint64(s.Dim), uint64(vocab)}, scale: 1})
	normVecs := func(prefix string) {
		vec(prefix+".weight", s.Dim, 1, 0.05)
		if a.norm == LayerNorm {
			vec(prefix+".bias", s.Dim, 0, 0.05)
		}
	}
	normVecs("output_norm")
	if !s.Tied {
		mat("output.weight", vocab, s.Dim, ft.output)
	}
	hd := s.Dim / s.Heads
	kv := s.KVHeads * hd
	for i := 0; i < s.Layers; i++ {
		b := fmt.Sprintf("blk.%d.", i)
		more := ft.base
		if ft.more != 0 && useMoreBits(i, s.Layers) {
			more = ft.more
		}
		normVecs(b + "attn_norm")
		mat(b+"attn_q.weight", s.Dim, s.Dim, ft.base)
		mat(b+"attn_k.weight", kv, s.Dim, ft.base)
		mat(b+"attn_v.weight", kv, s.Dim, more)
		mat(b+"attn_output.weight", s.Dim, s.Dim, ft.base)
		if o.Arch == "qwen2" || o.Arch == "starcoder2" {
			vec(b+"attn_q.bias", s.Dim, 0, 0.1)
			vec(b+"attn_k.bias", kv, 0, 0.1)
			vec(b+"attn_v.bias", kv, 0, 0.1)
		}
		if o.Arch == "starcoder2" {
			vec(b+"attn_output.bias", s.Dim, 0, 0.02)
		}
		normVecs(b + "ffn_norm")
		if a.mlp == SwiGLU {
			mat(b+"ffn_gate.weight", s.FFN, s.Dim, ft.base)
		}
		mat(b+"ffn_up.weight", s.FFN, s.Dim, ft.base)
		mat(b+"ffn_down.weight", s.Dim, s.FFN, more)
		if a.mlp == GELU {
			vec(b+"ffn_up.bias", s.FFN, 0, 0.02)
			vec(b+"ffn_down.bias", s.Dim, 0, 0.02)
		}
	}
	if err := fill(ts, o); err != nil {
		return nil, err
	}
	for _, t := range ts {
		if err := w.AddTensor(t.name, gguf.TensorType(t.typ), t.dims, t.data); err != nil {
			return nil, fmt.Errorf("synth: %w", err)
		}
	}
	return w, nil
}

// synthChunk is the number of elements one task generates and quantizes:
// large enough that scheduling is noise, small enough to balance two cores
// and report progress smoothly.
const synthChunk = 1 << 20

// fill makes every tensor's random values and encodes them, in parallel
// over chunks of whole rows. Each chunk has its own generator seeded from
// (seed, tensor, first element), so the output does not depend on
// scheduling and no two chunks repeat each other's values.
func fill(ts []*synthTensor, o SynthOptions) error {
	type task struct {
		t      *synthTensor
		ti     int
		lo, hi int // element range, whole rows
	}
	var tasks []task
	var total int64
	for i, t := range ts {
		cols := int(t.dims[0])
		n := cols
		if len(t.dims) == 2 {
			n *= int(t.dims[1])
		}
		size, err := t.typ.RowBytes(n)
		if err != nil {
			return fmt.Errorf("synth: %s: %w", t.name, err)
		}
		t.data = make([]byte, size)
		total += int64(size)
		rowsPer := max(1, synthChunk/cols)
		for lo := 0; lo < n; lo += rowsPer * cols {
			tasks = append(tasks, task{t, i, lo, min(n, lo+rowsPer*cols)})
		}
	}
	threads := o.Threads
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	var (
		next, done atomic.Int64
		mu         sync.Mutex
		wg         sync.WaitGroup
		firstErr   error
	)
	for range threads {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf []float32
			for {
				k := int(next.Add(1) - 1)
				if k >= len(tasks) {
					return
				}
				tk := tasks[k]
				n := tk.hi - tk.lo
				if cap(buf) < n {
					buf = make([]float32, n)
				}
				buf = buf[:n]
				r := newXorshift(o.Seed, uint64(tk.ti), uint64(tk.lo))
				for i := range buf {
					buf[i] = tk.t.mean + tk.t.scale*r.approxNormal()
				}
				b0, _ := tk.t.typ.RowBytes(tk.lo)
				b1, _ := tk.t.typ.RowBytes(tk.hi)
				if err := quant.Quantize(tk.t.typ, buf, tk.t.data[b0:b1]); err != nil {
					mu.Lock()
					firstErr = cmpErr(firstErr, fmt.Errorf("synth: %s: %w", tk.t.name, err))
					mu.Unlock()
					return
				}
				d := done.Add(int64(b1 - b0))
				if o.Progress != nil {
					mu.Lock()
					o.Progress(d, total)
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	return firstErr
}

func cmpErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// xorshift is xorshift64*: a few cycles a number (math/rand/v2's generic
// Rand costs an interface call per draw), good enough for random weights.
type xorshift struct{ s uint64 }

// newXorshift seeds a generator from (seed, tensor, first element) through
// splitmix64, so nearby keys give unrelated streams.
func newXorshift(seed, tensor, lo uint64) *xorshift {
	z := seed ^ tensor*0x9e3779b97f4a7c15 ^ lo*0xbf58476d1ce4e5b9
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	z ^= z >> 31
	if z == 0 {
		z = 1
	}
	return &xorshift{z}
}

func (x *xorshift) next() uint64 {
	x.s ^= x.s >> 12
	x.s ^= x.s << 25
	x.s ^= x.s >> 27
	return x.s * 2685821657736338717
}

// approxNormal draws an approximately standard normal value from one
// 64-bit random number: the sum of four 16-bit uniforms (Irwin–Hall),
// centred and scaled. Several times faster than an exact sampler, and
// random weights only need the right scale, not exact tails.
func (x *xorshift) approxNormal() float32 {
	u := x.next()
	s := u&0xffff + u>>16&0xffff + u>>32&0xffff + u>>48 // integer sum: one conversion
	const mean = 2 * 65535.0
	const inv = 1.7320508 / 65536.0 // √3 / 2^16: four U(0,1) have variance 1/3
	return (float32(s) - mean) * inv
}
