package kernels

import (
	"fmt"
	"os"
	"strings"

	"github.com/ghostline-dev/ghostline/model/quant"
)

// path is an implementation level; higher is faster and needs more of the
// CPU.
type path int

const (
	pathGeneric path = iota
	pathAVX2
	pathAVX512
)

var pathNames = [...]string{"generic", "avx2", "avx512vnni"}

func (p path) String() string { return pathNames[p] }

// best is the best path this CPU and build support; active is the one in
// use (best, capped by GHOSTLINE_KERNELS, or set by tests).
var best, active path

func init() {
	best = detect()
	active = capPath(best, os.Getenv("GHOSTLINE_KERNELS"))
}

// capPath lowers p to the level named by env ("", "auto", "generic",
// "avx2", "avx512"); unknown names leave p unchanged.
func capPath(p path, env string) path {
	var want path
	switch strings.ToLower(strings.TrimSpace(env)) {
	case "generic", "go":
		want = pathGeneric
	case "avx2":
		want = pathAVX2
	case "avx512", "avx512vnni":
		want = pathAVX512
	default:
		return p
	}
	return min(p, want)
}

// Features reports the selected path: "avx512vnni", "avx2" or "generic".
func Features() string { return active.String() }

// actKind is the activation format a weight type needs.
type actKind int

const (
	actF32 actKind = iota // float32 row, unchanged
	actQ8                 // 32-element blocks: f32 d, i32 sum, 32 int8
	actQ8K                // 256-element blocks: f32 d, 256 int8, 16 int16 sums
)

// Block sizes of the activation formats, in bytes.
const (
	q8Bytes  = 4 + 4 + 32
	q8KBytes = 4 + 256 + 2*16
)

func actOf(t quant.Type) (actKind, bool) {
	switch t {
	case quant.F32, quant.F16, quant.BF16:
		return actF32, true
	case quant.Q4_0, quant.Q4_1, quant.Q5_0, quant.Q5_1, quant.Q8_0:
		return actQ8, true
	case quant.Q4_K, quant.Q5_K, quant.Q6_K:
		return actQ8K, true
	}
	return 0, false
}

// Kernel is the matrix product for one weight type on this CPU. The zero
// value is not usable; get one from For. A Kernel is a small value, safe
// for concurrent use.
type Kernel struct {
	t    quant.Type
	act  actKind
	path path
}

// For returns the kernel for weights of type t, or false for a type this
// package does not implement.
func For(t quant.Type) (Kernel, bool) {
	a, ok := actOf(t)
	if !ok {
		return Kernel{}, false
	}
	return Kernel{t: t, act: a, path: active}, true
}

// Type is the weight type.
func (k Kernel) Type() quant.Type { return k.t }

// Path is the implementation in use ("avx512vnni", "avx2", "generic").
func (k Kernel) Path() string { return k.path.String() }

// ActivationFormat names the activation format this kernel takes: "f32"
// (F32, F16, BF16), "q8" (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0) or "q8k" (Q4_K,
// Q5_K, Q6_K). Kernels with equal formats can share one
// QuantizeActivations output, e.g. Q, K and V projections of a Q4_K_M
// model stored as Q5_0 and Q8_0.
func (k Kernel) ActivationFormat() string {
	return [...]string{actF32: "f32", actQ8: "q8", actQ8K: "q8k"}[k.act]
}

// ActivationBytes is the size of one quantized activation row of n
// elements; n must be a multiple of the weight type's block size.
func (k Kernel) ActivationBytes(n int) int {
	switch k.act {
	case actQ8:
		return n / quant.QK * q8Bytes
	case actQ8K:
		return n / quant.QKK * q8KBytes
	}
	return 4 * n
}

// QuantizeActivations writes x, one activation row, into dst
// (ActivationBytes(len(x)) bytes) in the format MatMul takes for this
// weight type. It allocates nothing.
func (k Kernel) QuantizeActivations(x []float32, dst []byte) {
	if bs := k.t.BlockSize(); len(x)%bs != 0 {
		panic(fmt.Sprintf("kernels: %d activations is not a multiple of the %s block size %d", len(x), k.t, bs))
	}
	if n := k.ActivationBytes(len(x)); len(dst) < n {
		panic(fmt.Sprintf("kernels: %d activations need %d bytes, dst has %d", len(x), n, len(dst)))
	}
	if k.path != pathGeneric && nativeQuantize(k.path, k.act, x, dst) {
		return
	}
	switch k.act {
	case actQ8:
		quantizeQ8(x, dst)
	case actQ8K:
		quantizeQ8K(x, dst)
	default:
		copy(dst, f32Bytes(x))
	}
}

// MatMul computes, for every token tok in [0,nTok) and row r in
// [rowStart,rowEnd),
//
//	out[tok*outStride + r] = dot(row r of w, activation row tok)
//
// w holds the whole rows×cols matrix (row r at r·RowBytes(cols)); xq holds
// nTok activation rows of ActivationBytes(cols) bytes each, made by
// QuantizeActivations. The row range lets several threads share one product
// (each its own range, all reading the same xq). MatMul allocates nothing
// and makes one cgo call on the native paths.
//
// Shapes are checked once per call; a mismatch is a programming error and
// panics with a message naming it.
func (k Kernel) MatMul(w []byte, rows, cols, rowStart, rowEnd int, xq []byte, nTok int, out []float32, outStride int) {
	rb := k.check(w, rows, cols, rowStart, rowEnd, xq, nTok, out, outStride)
	if rowStart == rowEnd || nTok == 0 {
		return
	}
	xb := k.ActivationBytes(cols)
	if k.path != pathGeneric && nativeMatMul(k.path, k.t, w, rb, cols, rowStart, rowEnd, xq, xb, nTok, out, outStride) {
		return
	}
	genericMatMul(k.t, w, rb, cols, rowStart, rowEnd, xq, xb, nTok, out, outStride)
}

func (k Kernel) check(w []byte, rows, cols, rowStart, rowEnd int, xq []byte, nTok int, out []float32, outStride int) int {
	rb, err := k.t.RowBytes(cols)
	if err != nil {
		panic("kernels: " + err.Error())
	}
	switch {
	case rows < 0 || cols <= 0 || nTok < 0:
		panic(fmt.Sprintf("kernels: bad shape rows=%d cols=%d nTok=%d", rows, cols, nTok))
	case rowStart < 0 || rowEnd > rows || rowStart > rowEnd:
		panic(fmt.Sprintf("kernels: row range [%d,%d) outside %d rows", rowStart, rowEnd, rows))
	case len(w) < rows*rb:
		panic(fmt.Sprintf("kernels: %d×%d %s weight needs %d bytes, have %d", rows, cols, k.t, rows*rb, len(w)))
	case len(xq) < nTok*k.ActivationBytes(cols):
		panic(fmt.Sprintf("kernels: %d activation rows of %d need %d bytes, have %d", nTok, cols, nTok*k.ActivationBytes(cols), len(xq)))
	case nTok > 0 && rowEnd > rowStart && (outStride < rowEnd && nTok > 1 || len(out) < (nTok-1)*outStride+rowEnd):
		panic(fmt.Sprintf("kernels: out (len %d, stride %d) too small for %d tokens × rows up to %d", len(out), outStride, nTok, rowEnd))
	}
	return rb
}

// ActivationBytes is For(t).ActivationBytes(n); 0 for an unsupported type.
func ActivationBytes(t quant.Type, n int) int {
	k, ok := For(t)
	if !ok {
		return 0
	}
	return k.ActivationBytes(n)
}

// QuantizeActivations is For(t).QuantizeActivations(x, dst); it panics for
// an unsupported type.
func QuantizeActivations(t quant.Type, x []float32, dst []byte) {
	mustFor(t).QuantizeActivations(x, dst)
}

// MatMul is For(t).MatMul(...); it panics for an unsupported type.
func MatMul(t quant.Type, w []byte, rows, cols, rowStart, rowEnd int, xq []byte, nTok int, out []float32, outStride int) {
	mustFor(t).MatMul(w, rows, cols, rowStart, rowEnd, xq, nTok, out, outStride)
}

func mustFor(t quant.Type) Kernel {
	k, ok := For(t)
	if !ok {
		panic(fmt.Sprintf("kernels: unsupported weight type %s", t))
	}
	return k
}
