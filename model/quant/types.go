// Package quant knows ggml's tensor element types: their block layouts,
// how to turn blocks back into float32 (dequantize), how to make them from
// float32 (quantize), and a portable dot product of one quantized row with a
// float32 activation vector.
//
// The layouts are exactly ggml's (ggml-common.h), so weights read from a
// GGUF file are used in place, without conversion. Everything here is plain
// Go and is the reference the faster kernels (SIMD, CUDA) are tested against:
// clarity first, then speed.
//
// Type numbers are ggml's; model/gguf's TensorType uses the same numbers, so
// converting between the two is a plain type conversion.
package quant

import (
	"fmt"
	"strings"
)

// Type is a ggml tensor element type (ggml_type).
type Type uint32

// The ggml types this package implements (numbers as in ggml.h).
const (
	F32  Type = 0
	F16  Type = 1
	Q4_0 Type = 2
	Q4_1 Type = 3
	Q5_0 Type = 6
	Q5_1 Type = 7
	Q8_0 Type = 8
	Q4_K Type = 12
	Q5_K Type = 13
	Q6_K Type = 14
	BF16 Type = 30
)

// QK is the number of elements in a block of the simple quant types
// (Q4_0 … Q8_0); QKK is the super-block size of the k-quants.
const (
	QK  = 32
	QKK = 256
)

type info struct {
	name       string
	blockSize  int // elements per block
	blockBytes int // bytes per block
}

var infos = map[Type]info{
	F32:  {"f32", 1, 4},
	F16:  {"f16", 1, 2},
	BF16: {"bf16", 1, 2},
	Q4_0: {"q4_0", QK, 2 + QK/2},            // d, 32 nibbles
	Q4_1: {"q4_1", QK, 2 + 2 + QK/2},        // d, m, 32 nibbles
	Q5_0: {"q5_0", QK, 2 + 4 + QK/2},        // d, high bits, 32 nibbles
	Q5_1: {"q5_1", QK, 2 + 2 + 4 + QK/2},    // d, m, high bits, 32 nibbles
	Q8_0: {"q8_0", QK, 2 + QK},              // d, 32 int8
	Q4_K: {"q4_K", QKK, 2 + 2 + 12 + QKK/2}, // d, dmin, 6-bit scales/mins, 256 nibbles
	Q5_K: {"q5_K", QKK, 2 + 2 + 12 + QKK/8 + QKK/2},
	Q6_K: {"q6_K", QKK, QKK/2 + QKK/4 + QKK/16 + 2}, // low nibbles, high 2 bits, int8 scales, d
}

// Supported lists the types this package implements, in ggml order.
func Supported() []Type {
	return []Type{F32, F16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, Q6_K, BF16}
}

// SupportedNames is Supported as a comma-separated list, for error messages.
func SupportedNames() string {
	var s []string
	for _, t := range Supported() {
		s = append(s, t.String())
	}
	return strings.Join(s, ", ")
}

// Known reports whether t is implemented here.
func (t Type) Known() bool { _, ok := infos[t]; return ok }

// String is the name llama.cpp prints ("q4_K", "f16", ...).
func (t Type) String() string {
	if in, ok := infos[t]; ok {
		return in.name
	}
	return fmt.Sprintf("type(%d)", uint32(t))
}

// BlockSize is the number of elements in one block (1 for float types).
func (t Type) BlockSize() int { return infos[t].blockSize }

// BlockBytes is the size in bytes of one block.
func (t Type) BlockBytes() int { return infos[t].blockBytes }

// RowBytes is the size in bytes of n elements of type t. n must be a
// multiple of the block size.
func (t Type) RowBytes(n int) (int, error) {
	in, ok := infos[t]
	if !ok {
		return 0, fmt.Errorf("quant: unsupported tensor type %s (supported: %s)", t, SupportedNames())
	}
	if n%in.blockSize != 0 {
		return 0, fmt.Errorf("quant: %d elements is not a multiple of the %s block size %d", n, t, in.blockSize)
	}
	return n / in.blockSize * in.blockBytes, nil
}

// ParseType maps a name as llama.cpp prints it ("q4_K", "Q4_K", "f16") to a
// Type.
func ParseType(name string) (Type, error) {
	for t, in := range infos {
		if strings.EqualFold(in.name, name) {
			return t, nil
		}
	}
	return 0, fmt.Errorf("quant: unknown type %q (supported: %s)", name, SupportedNames())
}
