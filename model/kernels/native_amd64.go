//go:build amd64 && cgo

package kernels

// The C kernels: kern_avx2_amd64.c and kern_avx512_amd64.c compile the same
// body (kern_body.h) for two instruction sets; -O3 because the tiles rely on
// full unrolling of their small row × token loops to stay in registers.

/*
#cgo CFLAGS: -O3 -fno-strict-aliasing
#include "kern.h"
*/
import "C"

import (
	"unsafe"

	"github.com/ghostline-dev/ghostline/model/quant"
	"golang.org/x/sys/cpu"
)

// detect picks the best path from CPUID (x/sys/cpu also checks that the OS
// saves the AVX and AVX-512 register state).
func detect() path {
	x := cpu.X86
	if !(x.HasAVX && x.HasAVX2 && x.HasFMA && x.HasF16C) {
		return pathGeneric
	}
	if emu512 || x.HasAVX512F && x.HasAVX512BW && x.HasAVX512VL && x.HasAVX512VNNI {
		return pathAVX512
	}
	return pathAVX2
}

// nativeMatMul runs the C kernel of path p; false when p has none for t.
// The slices are passed as plain pointers (no Go pointers inside the
// memory they point to, as cgo requires); C keeps none of them.
func nativeMatMul(p path, t quant.Type, w []byte, rb, cols, rowStart, rowEnd int, xq []byte, xb, nTok int, out []float32, outStride int) bool {
	wp := (*C.uint8_t)(unsafe.Pointer(&w[0]))
	xp := (*C.uint8_t)(unsafe.Pointer(&xq[0]))
	op := (*C.float)(unsafe.Pointer(&out[0]))
	var ok C.int
	switch p {
	case pathAVX512:
		ok = C.gl_matmul_avx512(C.int(t), wp, C.int64_t(rb), C.int64_t(cols), C.int64_t(rowStart), C.int64_t(rowEnd),
			xp, C.int64_t(xb), C.int64_t(nTok), op, C.int64_t(outStride))
	case pathAVX2:
		ok = C.gl_matmul_avx2(C.int(t), wp, C.int64_t(rb), C.int64_t(cols), C.int64_t(rowStart), C.int64_t(rowEnd),
			xp, C.int64_t(xb), C.int64_t(nTok), op, C.int64_t(outStride))
	}
	return ok != 0
}

// sumU64 adds the words of p; used by the bandwidth benchmark.
func sumU64(p []uint64) uint64 {
	if len(p) == 0 {
		return 0
	}
	if best < pathAVX2 {
		return sumU64Go(p)
	}
	return uint64(C.gl_sum_u64_avx2((*C.uint64_t)(unsafe.Pointer(&p[0])), C.int64_t(len(p))))
}

// nativeQuantize quantizes one activation row in C (AVX2; the avx512 path
// uses it too, nothing there needs wider vectors); false when p is generic.
func nativeQuantize(p path, a actKind, x []float32, dst []byte) bool {
	if p < pathAVX2 || len(x) == 0 {
		return false
	}
	xp := (*C.float)(unsafe.Pointer(&x[0]))
	dp := (*C.uint8_t)(unsafe.Pointer(&dst[0]))
	switch a {
	case actQ8:
		C.gl_quantize_q8_avx2(xp, C.int64_t(len(x)), dp)
	case actQ8K:
		C.gl_quantize_q8k_avx2(xp, C.int64_t(len(x)), dp)
	default:
		return false
	}
	return true
}

func nativeSwiGLU(gate, up []float32) {
	C.gl_swiglu_avx2((*C.float)(unsafe.Pointer(&gate[0])), (*C.float)(unsafe.Pointer(&up[0])), C.int64_t(len(gate)))
}

func nativeExp(out, x []float32) {
	C.gl_exp_avx2((*C.float)(unsafe.Pointer(&x[0])), C.int64_t(len(x)), (*C.float)(unsafe.Pointer(&out[0])))
}

func nativeMaxSumExp(x []float32) (mx, sum float32) {
	C.gl_max_sum_exp_avx2((*C.float)(unsafe.Pointer(&x[0])), C.int64_t(len(x)), (*C.float)(unsafe.Pointer(&mx)), (*C.float)(unsafe.Pointer(&sum)))
	return mx, sum
}

// nativeAttend runs gl_attend_avx2; Attend has checked every bound.
func nativeAttend(half bool, out, q, k32, v32 []float32, k16, v16 []uint16, stride int, cells []int32, scale float32, scores []float32) {
	var kp, vp unsafe.Pointer
	h := C.int(0)
	if half {
		kp, vp, h = unsafe.Pointer(&k16[0]), unsafe.Pointer(&v16[0]), 1
	} else {
		kp, vp = unsafe.Pointer(&k32[0]), unsafe.Pointer(&v32[0])
	}
	C.gl_attend_avx2(h, (*C.float)(unsafe.Pointer(&q[0])), C.int64_t(len(q)), kp, vp, C.int64_t(stride),
		(*C.int32_t)(unsafe.Pointer(&cells[0])), C.int64_t(len(cells)), C.float(scale),
		(*C.float)(unsafe.Pointer(&scores[0])), (*C.float)(unsafe.Pointer(&out[0])))
}
