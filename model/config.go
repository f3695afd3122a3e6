// Package model runs transformer decoders stored as GGUF files: it reads
// the configuration from the metadata, binds the (mmapped, never copied)
// weights, and evaluates batches of tokens over a KV cache. The arithmetic
// goes through the narrow backend interface (model/backend), so one forward
// pass, written to read like the paper, serves every backend.
//
// Supported architectures: llama (grouped-query attention, RMSNorm, SwiGLU,
// rotary embeddings with optional linear scaling, as Llama and
// DeepSeek-Coder), qwen2 (llama plus Q/K/V biases, NEOX rotary, tied or
// separate output), starcoder2 (LayerNorm with bias, biases on every
// projection, GELU MLP, NEOX rotary).
package model

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/ghostline-dev/ghostline/model/backend"
	"github.com/ghostline-dev/ghostline/model/gguf"
)

// NormKind is the normalization an architecture uses.
type NormKind int

const (
	RMSNorm   NormKind = iota // x/√(mean(x²)+ε)·w
	LayerNorm                 // (x−μ)/√(σ²+ε)·w + b
)

// MLPKind is the feed-forward block an architecture uses.
type MLPKind int

const (
	SwiGLU MLPKind = iota // down(silu(gate(x)) · up(x))
	GELU                  // down(gelu(up(x) + b) ) + b
)

// arch holds what differs between the supported architectures; everything
// else is shared.
type arch struct {
	norm   NormKind
	mlp    MLPKind
	rope   backend.RopeMode
	epsKey string // metadata key (after "<arch>.") of the norm epsilon
}

// archs are the supported architectures. The rope modes follow llama.cpp's
// llama_model_rope_type: LLAMA is NORM (adjacent pairs), QWEN2 and
// STARCODER2 are NEOX (halves).
var archs = map[string]arch{
	"llama":      {RMSNorm, SwiGLU, backend.RopeNormal, "attention.layer_norm_rms_epsilon"},
	"qwen2":      {RMSNorm, SwiGLU, backend.RopeNeox, "attention.layer_norm_rms_epsilon"},
	"starcoder2": {LayerNorm, GELU, backend.RopeNeox, "attention.layer_norm_epsilon"},
}

// Architectures lists the supported architecture names.
func Architectures() []string {
	var a []string
	for k := range archs {
		a = append(a, k)
	}
	slices.Sort(a)
	return a
}

// Config is a model's shape and hyper-parameters, read from GGUF metadata.
type Config struct {
	Arch       string   // general.architecture
	Layers     int      // transformer blocks (<arch>.block_count)
	Dim        int      // residual stream width (<arch>.embedding_length)
	Heads      int      // query heads (<arch>.attention.head_count)
	KVHeads    int      // key/value heads, ≤ Heads (grouped-query attention)
	HeadDim    int      // Dim / Heads
	FFN        int      // hidden width of the MLP (<arch>.feed_forward_length)
	Vocab      int      // rows of token_embd
	ContextLen int      // trained context (<arch>.context_length)
	NormEps    float32  // ε of the norms
	Norm       NormKind // RMSNorm or LayerNorm
	MLP        MLPKind  // SwiGLU or GELU
	Rope       backend.Rope
}

// KVDim is the width of one token's keys (or values) in one layer.
func (c *Config) KVDim() int { return c.KVHeads * c.HeadDim }

// ReadConfig reads the configuration of f's architecture. An unsupported
// architecture or a missing key is an error that names it.
func ReadConfig(f *gguf.File) (Config, error) {
	name := f.Arch()
	a, ok := archs[name]
	if !ok {
		return Config{}, fmt.Errorf("unsupported architecture %q (supported: %s)", name, strings.Join(Architectures(), ", "))
	}
	c := Config{Arch: name, Norm: a.norm, MLP: a.mlp}
	var err error
	need := func(key string) int {
		v, ok := f.Uint(name + "." + key)
		if !ok && err == nil {
			err = fmt.Errorf("%s model: metadata %s.%s is missing or not an integer", name, name, key)
		}
		return int(v)
	}
	c.Layers = need("block_count")
	c.Dim = need("embedding_length")
	c.Heads = need("attention.head_count")
	c.FFN = need("feed_forward_length")
	if err != nil {
		return Config{}, err
	}
	c.KVHeads = c.Heads
	if v, ok := f.Uint(name + ".attention.head_count_kv"); ok {
		c.KVHeads = int(v)
	}
	if v, ok := f.Uint(name + ".context_length"); ok {
		c.ContextLen = int(v)
	}
	if c.Layers <= 0 || c.Dim <= 0 || c.Heads <= 0 || c.KVHeads <= 0 || c.FFN <= 0 ||
		c.Dim%c.Heads != 0 || c.Heads%c.KVHeads != 0 || c.Layers > 1<<12 || c.Dim > 1<<20 {
		return Config{}, fmt.Errorf("%s model: inconsistent shape: %d layers, dim %d, %d heads, %d kv heads, ffn %d",
			name, c.Layers, c.Dim, c.Heads, c.KVHeads, c.FFN)
	}
	c.HeadDim = c.Dim / c.Heads
	eps, ok := f.Float(name + "." + a.epsKey)
	if !ok {
		return Config{}, fmt.Errorf("%s model: metadata %s.%s is missing", name, name, a.epsKey)
	}
	if !(eps >= 0 && eps < 1) { // also NaN
		return Config{}, fmt.Errorf("%s model: %s.%s = %v is not a small non-negative number", name, name, a.epsKey, eps)
	}
	c.NormEps = float32(eps)

	c.Rope = backend.Rope{Mode: a.rope, Dims: c.HeadDim, Base: 10000, FreqScale: 1}
	if v, ok := f.Uint(name + ".rope.dimension_count"); ok {
		if v == 0 || v > uint64(c.HeadDim) || v%2 != 0 {
			return Config{}, fmt.Errorf("%s model: rope.dimension_count %d does not fit head size %d", name, v, c.HeadDim)
		}
		c.Rope.Dims = int(v)
	}
	if v, ok := f.Float(name + ".rope.freq_base"); ok {
		if !(v > 1) || math.IsInf(v, 0) { // NaN and ≤ 1 included: the rotation would be NaN or none
			return Config{}, fmt.Errorf("%s model: rope.freq_base %v is not a base above 1", name, v)
		}
		c.Rope.Base = v
	}
	typ, _ := f.String(name + ".rope.scaling.type")
	switch typ {
	case "", "none":
	case "linear":
		factor, ok := f.Float(name + ".rope.scaling.factor")
		if !ok || factor <= 0 {
			return Config{}, fmt.Errorf("%s model: linear rope scaling without a positive rope.scaling.factor", name)
		}
		c.Rope.FreqScale = 1 / factor
	default:
		return Config{}, fmt.Errorf("%s model: unsupported rope scaling %q (supported: none, linear)", name, typ)
	}
	if v, ok := f.Float(name + ".rope.scale_linear"); ok && v > 0 && typ == "" { // older key
		c.Rope.FreqScale = 1 / v
	}
	return c, nil
}
