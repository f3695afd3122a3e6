package kernels

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/ghostline-dev/ghostline/model/quant"
)

// paths lists every path this CPU and build can run, generic first.
func paths() []path {
	var ps []path
	for p := pathGeneric; p <= best; p++ {
		ps = append(ps, p)
	}
	return ps
}

// forPath is For with the path chosen by the test.
func forPath(t quant.Type, p path) Kernel {
	k, ok := For(t)
	if !ok {
		panic("no kernel for " + t.String())
	}
	k.path = p
	return k
}

func randVec(r *rand.Rand, n int, scale float32) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(r.NormFloat64()) * scale
	}
	return v
}

// randWeights makes a rows×cols matrix of type t by quantizing random
// normal values (with a few outliers, as real weights have).
func randWeights(tb testing.TB, r *rand.Rand, t quant.Type, rows, cols int) []byte {
	tb.Helper()
	rb, err := t.RowBytes(cols)
	if err != nil {
		tb.Fatal(err)
	}
	w := make([]byte, rows*rb)
	for i := 0; i < rows; i++ {
		row := randVec(r, cols, 0.05)
		row[r.IntN(cols)] *= 20
		if err := quant.Quantize(t, row, w[i*rb:(i+1)*rb]); err != nil {
			tb.Fatal(err)
		}
	}
	return w
}

var allTypes = []quant.Type{quant.F32, quant.F16, quant.BF16, quant.Q4_0, quant.Q4_1, quant.Q5_0, quant.Q5_1, quant.Q8_0, quant.Q4_K, quant.Q5_K, quant.Q6_K}

// TestMatMulMatchesReference checks every type on every path of this CPU
// against model/quant's float reference, two ways:
//
//  1. against quant.DotFunc applied to the dequantized activations (the
//     values the integer kernel really multiplies): equal up to float32
//     summation order, bounded by 1e-4·Σ|w·x'| (about n·ε for n ≤ 5000
//     terms in the worst case, far more than seen);
//  2. against quant.DotFunc on the original float activations: the
//     difference must stay within the error activation quantization can
//     cause, Σ_blocks (d/2)·Σ|w| (each activation moves by at most half a
//     step d/2), plus the same rounding allowance.
//
// Shapes cover odd row counts (not multiples of any tile), 1..9 tokens
// (remainder tiles), sub-ranges of rows (other rows must stay untouched)
// and output strides wider than the row count.
func TestMatMulMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, typ := range allTypes {
		bs := typ.BlockSize()
		colsList := []int{32, 96, 896}
		switch {
		case bs == 256:
			colsList = []int{256, 768}
		case bs == 1:
			colsList = []int{8, 13, 37, 896}
		}
		for _, cols := range colsList {
			rows := 7
			w := randWeights(t, rng, typ, rows, cols)
			rb, _ := typ.RowBytes(cols)
			ref := quant.DotFunc(typ)
			for _, p := range paths() {
				k := forPath(typ, p)
				for nTok := 1; nTok <= 9; nTok++ {
					xs := make([][]float32, nTok)
					xb := k.ActivationBytes(cols)
					xq := make([]byte, nTok*xb)
					for i := range xs {
						xs[i] = randVec(rng, cols, 1)
						xs[i][rng.IntN(cols)] = 6 // an outlier, as in real activations
						k.QuantizeActivations(xs[i], xq[i*xb:(i+1)*xb])
					}
					for _, rg := range [][2]int{{0, rows}, {1, rows - 1}, {3, 4}, {2, 2}} {
						name := fmt.Sprintf("%s/cols=%d/%s/tok=%d/rows=%d..%d", typ, cols, p, nTok, rg[0], rg[1])
						stride := rows + 3
						out := make([]float32, nTok*stride)
						for i := range out {
							out[i] = float32(math.NaN())
						}
						k.MatMul(w, rows, cols, rg[0], rg[1], xq, nTok, out, stride)
						for tok := 0; tok < nTok; tok++ {
							xd := dequantizeActivations(k, xq[tok*xb:], cols)
							for r := 0; r < stride; r++ {
								got := out[tok*stride+r]
								if r < rg[0] || r >= rg[1] {
									if !math.IsNaN(float64(got)) {
										t.Fatalf("%s: wrote out[%d][%d] outside the row range", name, tok, r)
									}
									continue
								}
								wr := w[r*rb : (r+1)*rb]
								checkDot(t, name, typ, wr, xs[tok], xd, got, ref)
							}
						}
					}
				}
			}
		}
	}
}

func checkDot(t *testing.T, name string, typ quant.Type, wr []byte, x, xd []float32, got float32, ref func([]byte, []float32) float32) {
	t.Helper()
	wf := make([]float32, len(x))
	if err := quant.Dequantize(typ, wr, wf); err != nil {
		t.Fatal(err)
	}
	var absSum, qbound float64
	bs := 32
	if typ.BlockSize() == 256 {
		bs = 256
	}
	for i := range x {
		absSum += math.Abs(float64(wf[i]) * float64(x[i]))
	}
	if typ.BlockSize() > 1 {
		for b := 0; b < len(x)/bs; b++ {
			var amax, wsum float64
			for i := b * bs; i < (b+1)*bs; i++ {
				amax = max(amax, math.Abs(float64(x[i])))
				wsum += math.Abs(float64(wf[i]))
			}
			qbound += amax / 127 / 2 * wsum
		}
	}
	round := 1e-4*absSum + 1e-6
	exact := float64(ref(wr, xd))
	if d := math.Abs(float64(got) - exact); !(d <= round) {
		t.Fatalf("%s: got %g, reference on dequantized activations %g (|diff| %g > %g)", name, got, exact, d, round)
	}
	float := float64(ref(wr, x))
	if d := math.Abs(float64(got) - float); !(d <= qbound*1.01+round) {
		t.Fatalf("%s: got %g, float reference %g (|diff| %g > quantization bound %g)", name, got, float, d, qbound+round)
	}
}

// TestQuantizeActivations checks both activation formats against their
// definition: d = max|x|/127, q = x/d rounded half to even, |x − d·q| ≤
// d/2, the stored sums, and hand-made blocks with exact answers.
func TestQuantizeActivations(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	ties := make([]float32, 256)
	ties[0] = 127 // d = 1
	copy(ties[1:], []float32{0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 126.5, -127})
	cases := []struct {
		name string
		x    []float32
	}{
		{"random", randVec(rng, 1024, 3)},
		{"zeros", make([]float32, 512)},
		{"ties", ties},
		{"tiny", randVec(rng, 256, 1e-30)},
		{"huge", randVec(rng, 256, 1e30)},
		{"subnormal", randVec(rng, 256, 1e-41)},
	}
	for _, p := range paths() {
		for _, typ := range []quant.Type{quant.Q8_0, quant.Q4_K} {
			k := forPath(typ, p)
			bs, bb, qoff := 32, q8Bytes, 8
			if typ == quant.Q4_K {
				bs, bb, qoff = 256, q8KBytes, 4
			}
			for _, c := range cases {
				x := c.x[:len(c.x)/bs*bs]
				dst := make([]byte, k.ActivationBytes(len(x)))
				k.QuantizeActivations(x, dst)
				for b := 0; b < len(x)/bs; b++ {
					blk := dst[b*bb : (b+1)*bb]
					xx := x[b*bs : (b+1)*bs]
					var amax float32
					for _, v := range xx {
						amax = max(amax, float32(math.Abs(float64(v))))
					}
					d := math.Float32frombits(binary.LittleEndian.Uint32(blk))
					if d != amax/127 {
						t.Fatalf("%s/%s block %d: d = %g, want max|x|/127 = %g", typ, c.name, b, d, amax/127)
					}
					var sum, sum16 int
					for j, v := range xx {
						q := int(int8(blk[qoff+j]))
						if d < minNormal && q != 0 {
							t.Fatalf("%s/%s: subnormal scale %g but q = %d", typ, c.name, d, q)
						}
						if q < -127 || q > 127 {
							t.Fatalf("%s/%s: q = %d out of [-127,127]", typ, c.name, q)
						}
						if e := math.Abs(float64(v) - float64(d)*float64(q)); d >= minNormal && e > float64(d)/2*(1+1e-6) {
							t.Fatalf("%s/%s: x=%g q=%d d=%g: error %g > d/2", typ, c.name, v, q, d, e)
						}
						sum += q
						sum16 += q
						if bs == 256 && j%16 == 15 {
							got := int(int16(binary.LittleEndian.Uint16(blk[260+2*(j/16):])))
							if got != sum16 {
								t.Fatalf("%s/%s: sum of q[%d..%d] = %d, stored %d", typ, c.name, j-15, j, sum16, got)
							}
							sum16 = 0
						}
					}
					if bs == 32 {
						if got := int(int32(binary.LittleEndian.Uint32(blk[4:]))); got != sum {
							t.Fatalf("%s/%s: stored sum %d, want %d", typ, c.name, got, sum)
						}
					}
				}
				if c.name == "ties" {
					// Round half to even, as vcvtps2dq does: 0.5→0, 1.5→2, 2.5→2.
					want := []int8{127, 0, 2, 2, 0, -2, -2, 126, -127}
					for j, w := range want {
						if got := int8(dst[qoff+j]); got != w {
							t.Errorf("%s %s ties: q[%d] = %d, want %d", p, typ, j, got, w)
						}
					}
				}
			}
		}
	}
}

// TestQuantizePathsAgree: the C quantizers produce the same bytes as the Go
// one, so every path multiplies exactly the same activations.
func TestQuantizePathsAgree(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for _, typ := range []quant.Type{quant.Q5_0, quant.Q6_K} {
		for _, scale := range []float32{1, 1e-3, 1e20, 1e-39} {
			x := randVec(rng, 2048, scale)
			x[7] = 0
			want := make([]byte, ActivationBytes(typ, len(x)))
			forPath(typ, pathGeneric).QuantizeActivations(x, want)
			for _, p := range paths()[1:] {
				got := make([]byte, len(want))
				forPath(typ, p).QuantizeActivations(x, got)
				for i := range got {
					if got[i] != want[i] {
						t.Fatalf("%s scale %g: %s byte %d = %#x, generic %#x", typ, scale, p, i, got[i], want[i])
					}
				}
			}
		}
	}
}

// TestNonFiniteActivations: an activation block holding a NaN or an Inf
// (a model gone wrong upstream) quantizes to the same bytes on every path,
// and every product with it is non-finite, so the logits show the fault
// instead of a plausible, wrong value.
func TestNonFiniteActivations(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	for _, typ := range []quant.Type{quant.Q5_0, quant.Q8_0, quant.Q4_K, quant.Q6_K} {
		const rows, cols, nTok = 5, 512, 2
		w := randWeights(t, rng, typ, rows, cols)
		for _, bad := range []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))} {
			xs := [nTok][]float32{randVec(rng, cols, 1), randVec(rng, cols, 1)}
			xs[1][3] = bad
			var want []byte
			for _, p := range paths() {
				k := forPath(typ, p)
				xb := k.ActivationBytes(cols)
				xq := make([]byte, nTok*xb)
				for i, x := range xs {
					k.QuantizeActivations(x, xq[i*xb:(i+1)*xb])
				}
				if want == nil {
					want = xq
				} else if !bytes.Equal(xq, want) {
					t.Errorf("%s, %g: %s quantizes to other bytes than generic", typ, bad, p)
				}
				out := make([]float32, nTok*rows)
				k.MatMul(w, rows, cols, 0, rows, xq, nTok, out, rows)
				for r := 0; r < rows; r++ {
					if v := float64(out[r]); math.IsNaN(v) || math.IsInf(v, 0) {
						t.Errorf("%s, %g, %s: the finite token's row %d = %g", typ, bad, p, r, v)
					}
					if v := float64(out[rows+r]); !math.IsNaN(v) && !math.IsInf(v, 0) {
						t.Errorf("%s, %g, %s: row %d = %g from an activation holding %g, want non-finite", typ, bad, p, r, v, bad)
					}
				}
			}
		}
	}
}

// TestFloatActivations: float weights take the activations unchanged.
func TestFloatActivations(t *testing.T) {
	for _, typ := range []quant.Type{quant.F32, quant.F16, quant.BF16} {
		k, _ := For(typ)
		x := []float32{1, -2.5, 3e-8, float32(math.Inf(1))}
		dst := make([]byte, k.ActivationBytes(len(x)))
		k.QuantizeActivations(x, dst)
		for i, v := range x {
			if got := math.Float32frombits(binary.LittleEndian.Uint32(dst[4*i:])); got != v {
				t.Errorf("%s: element %d = %g, want %g", typ, i, got, v)
			}
		}
	}
}

func TestCapPath(t *testing.T) {
	for _, c := range []struct {
		best path
		env  string
		want path
	}{
		{pathAVX512, "", pathAVX512},
		{pathAVX512, "auto", pathAVX512},
		{pathAVX512, "avx2", pathAVX2},
		{pathAVX512, "GENERIC", pathGeneric},
		{pathAVX2, "avx512", pathAVX2}, // never above what the CPU has
		{pathGeneric, "avx2", pathGeneric},
		{pathAVX2, "bogus", pathAVX2},
	} {
		if got := capPath(c.best, c.env); got != c.want {
			t.Errorf("capPath(%s, %q) = %s, want %s", c.best, c.env, got, c.want)
		}
	}
	if f := Features(); f != "generic" && f != "avx2" && f != "avx512vnni" {
		t.Errorf("Features() = %q", f)
	}
}

func TestForUnsupported(t *testing.T) {
	if _, ok := For(quant.Type(99)); ok {
		t.Error("For(99) = ok")
	}
	if n := ActivationBytes(quant.Type(99), 32); n != 0 {
		t.Errorf("ActivationBytes(99) = %d", n)
	}
}

// TestMatMulPanicsOnBadShapes: a shape mismatch is a caller bug; it must
// stop with a message that names it, never read or write out of bounds.
func TestMatMulPanicsOnBadShapes(t *testing.T) {
	k, _ := For(quant.Q8_0)
	w := make([]byte, 4*34)
	xq := make([]byte, 2*q8Bytes)
	out := make([]float32, 8)
	for _, c := range []struct {
		name                       string
		rows, cols, rs, re, nTok   int
		wlen, xlen, outLen, stride int
		want                       string
	}{
		{"cols not a block multiple", 4, 33, 0, 4, 1, 4 * 34, q8Bytes, 8, 4, "multiple"},
		{"range past rows", 4, 32, 0, 5, 1, 4 * 34, q8Bytes, 8, 4, "row range"},
		{"reversed range", 4, 32, 3, 2, 1, 4 * 34, q8Bytes, 8, 4, "row range"},
		{"short weights", 4, 32, 0, 4, 1, 3 * 34, q8Bytes, 8, 4, "weight needs"},
		{"short activations", 4, 32, 0, 4, 2, 4 * 34, q8Bytes, 8, 4, "activation rows"},
		{"short out", 4, 32, 0, 4, 2, 4 * 34, 2 * q8Bytes, 7, 4, "too small"},
		{"stride below rows", 4, 32, 0, 4, 2, 4 * 34, 2 * q8Bytes, 8, 2, "too small"},
	} {
		func() {
			defer func() {
				r := recover()
				if r == nil || !strings.Contains(fmt.Sprint(r), c.want) {
					t.Errorf("%s: panic %v, want one mentioning %q", c.name, r, c.want)
				}
			}()
			k.MatMul(w[:c.wlen], c.rows, c.cols, c.rs, c.re, xq[:c.xlen], c.nTok, out[:c.outLen], c.stride)
		}()
	}
}

func TestQuantizeActivationsPanicsOnBadLength(t *testing.T) {
	for _, c := range []struct {
		typ  quant.Type
		n    int
		dst  int
		want string
	}{
		{quant.Q8_0, 33, 80, "multiple"},
		{quant.Q6_K, 300, 1000, "multiple"},
		{quant.Q8_0, 64, 79, "need 80 bytes"},
	} {
		func() {
			defer func() {
				if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), c.want) {
					t.Errorf("%s n=%d: panic %v, want one mentioning %q", c.typ, c.n, r, c.want)
				}
			}()
			QuantizeActivations(c.typ, make([]float32, c.n), make([]byte, c.dst))
		}()
	}
}

// TestNativeIsUsed guards against a silent fallback: on a CPU with AVX2
// the best path must be a native one, and it must claim every type.
func TestNativeIsUsed(t *testing.T) {
	if best == pathGeneric {
		t.Skip("no native path on this CPU/build")
	}
	for _, typ := range allTypes {
		cols := max(32, typ.BlockSize())
		rb, _ := typ.RowBytes(cols)
		k := forPath(typ, best)
		xq := make([]byte, k.ActivationBytes(cols))
		out := make([]float32, 1)
		if !nativeMatMul(best, typ, make([]byte, rb), rb, cols, 0, 1, xq, len(xq), 1, out, 1) {
			t.Errorf("%s: no native kernel on %s", typ, best)
		}
	}
}

// TestWorkersCoverRows: the two-worker scheme of the benchmarks (and the
// advice to the backend) computes every row exactly once per run, run
// after run.
func TestWorkersCoverRows(t *testing.T) {
	for _, n := range []int{1, 2, 3} {
		pool := newWorkers(n)
		for _, rows := range []int{1, 15, 16, 17, 896, 4864} {
			for run := 0; run < 50; run++ {
				hits := make([]int32, rows)
				pool.run(func(i, n int) {
					lo, hi := splitRows(rows, i, n)
					for r := lo; r < hi; r++ {
						hits[r]++
					}
				})
				for r, h := range hits {
					if h != 1 {
						t.Fatalf("n=%d rows=%d run %d: row %d computed %d times", n, rows, run, r, h)
					}
				}
			}
		}
		pool.close()
	}
}

func TestActivationFormat(t *testing.T) {
	want := map[quant.Type]string{quant.F32: "f32", quant.F16: "f32", quant.BF16: "f32",
		quant.Q4_0: "q8", quant.Q4_1: "q8", quant.Q5_0: "q8", quant.Q5_1: "q8", quant.Q8_0: "q8",
		quant.Q4_K: "q8k", quant.Q5_K: "q8k", quant.Q6_K: "q8k"}
	for typ, f := range want {
		k, _ := For(typ)
		if got := k.ActivationFormat(); got != f {
			t.Errorf("%s: format %q, want %q", typ, got, f)
		}
	}
}
