//go:build !amd64 || !cgo

package kernels

import "github.com/ghostline-dev/ghostline/model/quant"

// Without cgo, or off amd64, only the generic path exists.
func detect() path { return pathGeneric }

func nativeMatMul(p path, t quant.Type, w []byte, rb, cols, rowStart, rowEnd int, xq []byte, xb, nTok int, out []float32, outStride int) bool {
	return false
}

func sumU64(p []uint64) uint64 { return sumU64Go(p) }

func nativeQuantize(p path, a actKind, x []float32, dst []byte) bool { return false }

func nativeSwiGLU(gate, up []float32)               {}
func nativeExp(out, x []float32)                    {}
func nativeMaxSumExp(x []float32) (mx, sum float32) { return 0, 0 }
func nativeAttend(half bool, out, q, k32, v32 []float32, k16, v16 []uint16, stride int, cells []int32, scale float32, scores []float32) {
}
