// Package backend is the narrow interface between the transformer forward
// pass (package model) and the code that does the arithmetic: matrix
// products with quantized weights, norms, rotary embeddings, attention and
// a few elementwise operations. The forward pass is written once against
// it. The one implementation today is the CPU backend (backend/cpu): the
// SIMD kernels of model/kernels where the CPU has them, a portable Go path
// elsewhere and as the tests' reference. A CUDA backend (cuda/) is planned
// and not written.
//
// Design choices, and their trade-offs:
//   - Activations are plain []float32 in host memory, row-major, one row per
//     token. That keeps the CPU path allocation-free and the model code
//     readable (llama2.c-style). A device backend needs device-resident
//     activations; it will get an opaque buffer type added here when it
//     lands, rather than every op paying a host↔device copy now.
//   - Weights are prepared once (NewWeight) so a backend can repack or
//     upload them; the CPU backends use the mmapped GGUF bytes in place.
//   - Every op works on a batch of n rows so prefill (many tokens) and
//     decode (one token) share one code path; kernels may block over rows.
//   - The interface stays small on purpose (ollama's Tensor grew to ~70
//     methods): an op is added only when a supported architecture needs it.
package backend

import (
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/ghostline-dev/ghostline/model/quant"
)

// Weight is a rows×cols matrix of one quant.Type prepared by a backend.
// Row r holds output feature r; its cols elements are contiguous (ggml's
// ne[0] is cols, ne[1] is rows).
type Weight interface {
	Type() quant.Type
	Rows() int
	Cols() int
}

// RopeMode says which dimensions rotary embedding rotates together.
type RopeMode int

const (
	// RopeNormal rotates adjacent pairs (x[2i], x[2i+1]): llama.cpp's
	// LLAMA_ROPE_TYPE_NORM, used for the llama architecture.
	RopeNormal RopeMode = iota
	// RopeNeox rotates (x[i], x[i+n/2]): LLAMA_ROPE_TYPE_NEOX, used for
	// qwen2 and starcoder2 (HF "rotate_half").
	RopeNeox
)

// Rope describes a rotary position embedding.
type Rope struct {
	Mode      RopeMode
	Dims      int     // rotated dimensions per head (≤ head size); the rest pass through
	Base      float64 // frequency base θ (10000, 1e5, 1e6 ...)
	FreqScale float64 // position multiplier: 1, or 1/factor for linear scaling
}

// Attention describes one attention call over a layer's KV cache.
//
// K and V hold the cache rows (KVHeads·HeadDim floats per cache cell), or,
// for a half-precision cache, K16 and V16 hold them as IEEE f16 bits (K and
// V are then nil).
// For query token i, Visible[i] lists the cache cells it attends to; the
// caller guarantees causality (cells of the same sequence at positions ≤
// the token's). Cells may come in any order: softmax does not care.
type Attention struct {
	Heads, KVHeads, HeadDim int
	Scale                   float32 // score scale, usually 1/√HeadDim
	K, V                    []float32
	K16, V16                []uint16
	Visible                 [][]int32
}

// Backend does the arithmetic of the forward pass. All slices are row-major
// with n rows; out may alias x where noted.
type Backend interface {
	Name() string
	// Threads is the parallelism the backend uses.
	Threads() int

	// NewWeight wraps rows×cols elements of type t (row-major, ggml block
	// layout). It must not copy data when it can avoid it: data usually
	// lives in a read-only file mapping.
	NewWeight(t quant.Type, rows, cols int, data []byte) (Weight, error)

	// MatMul computes out[i][r] = Σ_c w[r][c]·x[i][c] for n rows of x
	// (n×w.Cols()) into out (n×w.Rows()).
	MatMul(out []float32, w Weight, x []float32, n int)

	// RMSNorm: out = x / √(mean(x²)+eps) · weight, per row of dim. out may
	// alias x.
	RMSNorm(out, x, weight []float32, dim int, eps float32)
	// LayerNorm: out = (x−mean)/√(var+eps) · weight + bias, per row. out may
	// alias x; bias may be nil.
	LayerNorm(out, x, weight, bias []float32, dim int, eps float32)

	// ApplyRope rotates every head (headDim floats, heads per row) of x in
	// place; pos[i] is row i's position.
	ApplyRope(x []float32, heads, headDim int, pos []int32, r Rope)

	// Attend computes softmax(q·kᵀ·scale)·v for every query row and head
	// into out (n × Heads·HeadDim). Grouped-query attention: query head h
	// reads KV head h/(Heads/KVHeads).
	Attend(out, q []float32, a Attention)

	// AddBias adds bias (len dim) to every row of x.
	AddBias(x, bias []float32)
	// Add: x += y elementwise.
	Add(x, y []float32)
	// SwiGLU: gate = silu(gate) · up, elementwise.
	SwiGLU(gate, up []float32)
	// GELU applies the tanh-approximated GELU in place (as ggml_gelu).
	GELU(x []float32)
}

// SharedMatMuler is an optional Backend extension: several products of
// one input (Q, K and V; gate and up) as one call, so a backend can
// quantize the input once and hand the products to its threads as one
// op. outs[i] = ws[i]·x as MatMul would compute it; the forward pass uses
// it when the backend has it and calls MatMul per weight otherwise.
type SharedMatMuler interface {
	MatMulShared(outs [][]float32, ws []Weight, x []float32, n int)
}

// Factory makes a backend with the given number of threads (0: one per
// core).
type Factory func(threads int) (Backend, error)

var (
	mu        sync.Mutex
	factories = map[string]Factory{}
)

// Register makes a backend available by name; backends call it from init.
func Register(name string, f Factory) {
	mu.Lock()
	defer mu.Unlock()
	factories[name] = f
}

// MaxThreads bounds the threads a backend may be asked for. Past the
// cores of any machine this project targets, more threads only add
// dispatch cost, and a few thousand would exhaust the Go runtime's OS
// threads (each CPU worker locks one), a crash no caller can recover.
const MaxThreads = 256

// New makes the named backend. An unknown name, or one compiled out of
// this build (e.g. cuda without its build tag), gets an error naming what
// this build has; so does a thread count outside [0, MaxThreads].
func New(name string, threads int) (Backend, error) {
	if threads < 0 || threads > MaxThreads {
		return nil, fmt.Errorf("%d threads: want 0 (one per core) to %d", threads, MaxThreads)
	}
	mu.Lock()
	f, ok := factories[name]
	mu.Unlock()
	if !ok {
		hint := ""
		if name == "cuda" {
			hint = " (this ghostline has no CUDA backend: GPU support is not built yet)"
		}
		return nil, fmt.Errorf("backend %q is not available%s; this build has: %s", name, hint, strings.Join(Available(), ", "))
	}
	return f(threads)
}

// Available lists the registered backends.
func Available() []string {
	mu.Lock()
	defer mu.Unlock()
	var names []string
	for n := range factories {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}
