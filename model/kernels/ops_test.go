package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/ghostline-dev/ghostline/model/quant"
)

// nativeOps reports whether this build and CPU run the native op kernels;
// tests of the kernels skip where they do not (nothing to compare).
func nativeOps(t *testing.T) {
	t.Helper()
	if active < pathAVX2 {
		t.Skip("no native op kernels on this CPU or build (path " + active.String() + ")")
	}
}

// TestExp checks the polynomial exp against math.Exp over the range
// softmax and SiLU feed it, and its saturation outside the float range.
func TestExp(t *testing.T) {
	nativeOps(t)
	var x []float32
	for v := float32(-87); v <= 88; v += 0.0137 {
		x = append(x, v)
	}
	x = append(x, 0, -0.5, 1e-8, -1e-8)
	out := make([]float32, len(x))
	if !Exp(out, x) {
		t.Fatal("Exp: no native path")
	}
	worst := 0.0
	for i, v := range x {
		want := math.Exp(float64(v))
		rel := math.Abs(float64(out[i])-want) / want
		worst = max(worst, rel)
		if rel > 3e-7 {
			t.Fatalf("exp(%g) = %g, want %g (relative error %g > 3e-7)", v, out[i], want, rel)
		}
	}
	t.Logf("worst relative error %.3g over %d points", worst, len(x))
	// Saturation: tiny and huge arguments give tiny and huge finite values,
	// never NaN (softmax of a −∞-like score must weigh ~0, not poison the sum).
	sat := []float32{-1e4, -200, 200, 1e4}
	got := make([]float32, len(sat))
	Exp(got, sat)
	for i, v := range got {
		f := float64(v)
		if math.IsNaN(f) || math.IsInf(f, 0) || (sat[i] < 0) != (f < 1e-30) {
			t.Fatalf("exp(%g) = %g: want a finite value saturated at the float range", sat[i], v)
		}
	}
}

// TestSwiGLU compares with the float64 definition g·σ(g)·u, including
// lengths that leave a tail of fewer than 8 and large |g| (saturating exp).
func TestSwiGLU(t *testing.T) {
	nativeOps(t)
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{1, 7, 8, 9, 4864, 4867} {
		g := randVec(rng, n, 3)
		if n > 8 {
			g[0], g[1], g[2] = 120, -120, -90
		}
		u := randVec(rng, n, 1)
		got := append([]float32(nil), g...)
		if !SwiGLU(got, u) {
			t.Fatal("SwiGLU: no native path")
		}
		for i := range g {
			gi := float64(g[i])
			want := gi / (1 + math.Exp(-gi)) * float64(u[i])
			if d := math.Abs(float64(got[i]) - want); d > 1e-6*math.Abs(want)+1e-30 {
				t.Fatalf("n=%d: swiglu(%g, %g) = %g, want %g", n, g[i], u[i], got[i], want)
			}
		}
	}
}

// attendRef is one head of attention in float64: the definition.
func attendRef(q []float32, k, v func(i int) float32, stride int, cells []int32, scale float32) []float64 {
	hd := len(q)
	s := make([]float64, len(cells))
	mx := math.Inf(-1)
	for j, c := range cells {
		var d float64
		for i := 0; i < hd; i++ {
			d += float64(q[i]) * float64(k(int(c)*stride+i))
		}
		s[j] = d * float64(scale)
		mx = max(mx, s[j])
	}
	var sum float64
	for j := range s {
		s[j] = math.Exp(s[j] - mx)
		sum += s[j]
	}
	o := make([]float64, hd)
	for j, c := range cells {
		for i := 0; i < hd; i++ {
			o[i] += s[j] / sum * float64(v(int(c)*stride+i))
		}
	}
	return o
}

// TestAttend checks one head of attention against the float64 definition
// for float32 and f16 caches: head sizes 8..128 (the 64 of Qwen and Llama
// models has its own code path), 1 to 600 visible cells in scattered
// order, a stride wider than the head (other heads' columns in between)
// and scores far apart (a softmax dominated by one key).
// TestAttendNaNKey: a NaN in one key (a model gone wrong upstream) makes
// the head's output NaN, as the portable path's is, rather than dropping
// that key from the softmax.
func TestAttendNaNKey(t *testing.T) {
	nativeOps(t)
	rng := rand.New(rand.NewPCG(7, 8))
	const hd, n = 64, 9
	kf, vf := randVec(rng, n*hd, 1), randVec(rng, n*hd, 1)
	kf[1*hd+5] = float32(math.NaN())
	cells := make([]int32, n)
	for j := range cells {
		cells[j] = int32(j)
	}
	out := make([]float32, hd)
	if !Attend(out, randVec(rng, hd, 1), kf, vf, nil, nil, hd, cells, 0.125, make([]float32, n)) {
		t.Fatal("no native path")
	}
	for i, v := range out {
		if !math.IsNaN(float64(v)) {
			t.Fatalf("out[%d] = %g, want NaN", i, v)
		}
	}
}

func TestAttend(t *testing.T) {
	nativeOps(t)
	rng := rand.New(rand.NewPCG(5, 6))
	for _, half := range []bool{false, true} {
		for _, hd := range []int{8, 24, 64, 128} {
			for _, n := range []int{1, 2, 7, 8, 9, 33, 600} {
				name := fmt.Sprintf("half=%v/hd=%d/n=%d", half, hd, n)
				stride := 2*hd + 8
				rows := n + 5
				kf := randVec(rng, rows*stride, 1)
				vf := randVec(rng, rows*stride, 1)
				cells := make([]int32, n)
				for j, c := range rng.Perm(rows)[:n] {
					cells[j] = int32(c)
				}
				q := randVec(rng, hd, 2)
				if n > 2 {
					kf[int(cells[1])*stride+hd+3] *= 1 // unused column stays unused
					for i := 0; i < hd; i++ {
						kf[int(cells[2])*stride+8+i] = q[i] * 4 // one dominant key
					}
				}
				off := 8 // the head's first column
				var k16, v16 []uint16
				kAt := func(i int) float32 { return kf[off+i] }
				vAt := func(i int) float32 { return vf[off+i] }
				if half {
					k16, v16 = make([]uint16, len(kf)), make([]uint16, len(vf))
					for i := range kf {
						k16[i], v16[i] = quant.F32ToF16(kf[i]), quant.F32ToF16(vf[i])
					}
					kAt = func(i int) float32 { return quant.F16ToF32(k16[off+i]) }
					vAt = func(i int) float32 { return quant.F16ToF32(v16[off+i]) }
				}
				scale := float32(1 / math.Sqrt(float64(hd)))
				want := attendRef(q, kAt, vAt, stride, cells, scale)
				out := make([]float32, hd+1)
				out[hd] = 42
				scores := make([]float32, n)
				var ok bool
				if half {
					ok = Attend(out[:hd], q, nil, nil, k16[off:], v16[off:], stride, cells, scale, scores)
				} else {
					ok = Attend(out[:hd], q, kf[off:], vf[off:], nil, nil, stride, cells, scale, scores)
				}
				if !ok {
					t.Fatalf("%s: no native path", name)
				}
				if out[hd] != 42 {
					t.Fatalf("%s: wrote past the head", name)
				}
				for i := range want {
					if d := math.Abs(float64(out[i]) - want[i]); d > 2e-5 {
						t.Fatalf("%s: out[%d] = %g, want %g (|diff| %g)", name, i, out[i], want[i], d)
					}
				}
			}
		}
	}
}

// TestAttendRefuses checks the shapes Attend leaves to the caller and the
// bounds it enforces before any C code reads memory.
func TestAttendRefuses(t *testing.T) {
	nativeOps(t)
	k := make([]float32, 64)
	if Attend(make([]float32, 6), make([]float32, 6), k, k, nil, nil, 8, []int32{0}, 1, make([]float32, 1)) {
		t.Fatal("head dim 6 (not a multiple of 8) accepted")
	}
	if Attend(make([]float32, 8), make([]float32, 8), k, k, nil, nil, 8, nil, 1, nil) {
		t.Fatal("no visible cells accepted")
	}
	for _, cells := range [][]int32{{7, 8}, {-1}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Fatalf("cells %v outside a 64-element cache did not panic", cells)
				}
			}()
			Attend(make([]float32, 8), make([]float32, 8), k, k, nil, nil, 8, cells, 1, make([]float32, 2))
		}()
	}
}

// TestLogSumExp checks the native log-sum-exp against a float64 loop on
// rows shaped like a vocabulary's logits (every length mod 32, a
// vocabulary-sized row, masked −∞ entries, a row of one value) and the
// all-masked and empty rows.
func TestLogSumExp(t *testing.T) {
	nativeOps(t)
	rng := rand.New(rand.NewPCG(3, 4))
	ref := func(x []float32) float64 {
		mx := math.Inf(-1)
		for _, v := range x {
			mx = max(mx, float64(v))
		}
		if math.IsInf(mx, -1) {
			return mx
		}
		var s float64
		for _, v := range x {
			s += math.Exp(float64(v) - mx)
		}
		return mx + math.Log(s)
	}
	inf := float32(math.Inf(-1))
	cases := map[string][]float32{"one": {2.5}, "masked": {inf, 3, inf, inf, -1}, "vocab": randVec(rng, 151936, 8)}
	for n := 1; n <= 40; n++ {
		cases[fmt.Sprintf("n=%d", n)] = randVec(rng, n, 10)
	}
	for name, x := range cases {
		got, ok := LogSumExp(x)
		if !ok {
			t.Fatal("LogSumExp: no native path")
		}
		// float32 sums of exp terms: relative error of the sum ~1e-6 at
		// this length, an absolute error of its log.
		if want := ref(x); math.Abs(got-want) > 1e-5 {
			t.Errorf("%s: %.7f, want %.7f", name, got, want)
		}
	}
	for _, x := range [][]float32{{inf, inf, inf}, {}} {
		if got, _ := LogSumExp(x); !math.IsInf(got, -1) {
			t.Errorf("LogSumExp(%v) = %v, want −∞", x, got)
		}
	}
}
