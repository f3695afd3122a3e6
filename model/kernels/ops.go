package kernels

import (
	"fmt"
	"math"
)

// Vector kernels for the forward pass's non-matrix work that costs enough
// to matter: attention (O(n²) in the prompt length; a 512-token prompt
// spends ~20% of its prefill there in plain Go) and SwiGLU (one exp per
// FFN element). Each returns false where this CPU or build has no native
// version (the generic path, GOARCH≠amd64, CGO_ENABLED=0, or a shape the
// kernel does not take); the caller then runs its own portable Go, which
// is also the reference these kernels are tested against.
//
// Accuracy: exp is a polynomial with relative error ≤ 3e-7 (TestExp);
// sums run in float32 in a different order than the Go loops, so results
// match the portable path to float rounding, not bit for bit.

// SwiGLU sets gate[i] = gate[i]·σ(gate[i])·up[i] for every i.
func SwiGLU(gate, up []float32) bool {
	if active < pathAVX2 || len(gate) == 0 {
		return false
	}
	if len(up) < len(gate) {
		panic(fmt.Sprintf("kernels.SwiGLU: up has %d elements, gate %d", len(up), len(gate)))
	}
	nativeSwiGLU(gate, up)
	return true
}

// Exp sets out[i] = e^x[i] (out may be x); for tests and benchmarks of the
// polynomial the other kernels use.
func Exp(out, x []float32) bool {
	if active < pathAVX2 || len(x) == 0 {
		return false
	}
	if len(out) < len(x) {
		panic(fmt.Sprintf("kernels.Exp: out has %d elements, x %d", len(out), len(x)))
	}
	nativeExp(out, x)
	return true
}

// LogSumExp returns log Σ e^x[i] over a row of logits, computed as
// max + log Σ e^(x[i]−max) with the polynomial exp and float32 sums (the
// normaliser of a decode step's log-probabilities: over Qwen's 151,936
// logits ~0.1 ms, where a scalar loop takes ~2 ms per beam and step). An
// empty or all −∞ row gives −∞. ok is false without a native path.
func LogSumExp(x []float32) (v float64, ok bool) {
	if active < pathAVX2 {
		return 0, false
	}
	if len(x) == 0 {
		return math.Inf(-1), true
	}
	mx, sum := nativeMaxSumExp(x)
	if math.IsInf(float64(mx), -1) {
		return math.Inf(-1), true
	}
	return float64(mx) + math.Log(float64(sum)), true
}

// Attend computes one head of attention for one query row q (len(q) = the
// head dimension hd, a multiple of 8):
//
//	out = Σ_j softmax_j(scale · q·K_j) · V_j
//
// over the cached rows j in cells, where row j of K starts at element
// cells[j]·stride of k (and likewise of v): pass k and v already offset
// to the head's first element. Either k and v are float32 (k32, v32) or
// f16 (k16, v16); the other pair is nil. scores is scratch of at least
// len(cells) floats. len(cells) must be > 0.
func Attend(out, q []float32, k32, v32 []float32, k16, v16 []uint16, stride int, cells []int32, scale float32, scores []float32) bool {
	hd := len(q)
	if active < pathAVX2 || hd == 0 || hd%8 != 0 || len(cells) == 0 {
		return false
	}
	half := k16 != nil
	kn, vn := len(k32), len(v32)
	if half {
		kn, vn = len(k16), len(v16)
	}
	minCell, maxCell := cells[0], cells[0]
	for _, c := range cells {
		minCell, maxCell = min(minCell, c), max(maxCell, c)
	}
	end := int(maxCell)*stride + hd
	switch {
	case len(out) < hd || len(scores) < len(cells):
		panic(fmt.Sprintf("kernels.Attend: out (%d) or scores (%d) too short for head dim %d and %d cells", len(out), len(scores), hd, len(cells)))
	case minCell < 0 || stride < hd || end > kn || end > vn:
		panic(fmt.Sprintf("kernels.Attend: cells up to %d with stride %d need %d elements of K and V, have %d and %d", maxCell, stride, end, kn, vn))
	}
	nativeAttend(half, out, q, k32, v32, k16, v16, stride, cells, scale, scores)
	return true
}
