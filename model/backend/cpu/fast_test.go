package cpu

import (
	"math"
	"testing"
	"time"

	"github.com/ghostline-dev/ghostline/model/backend"
	"github.com/ghostline-dev/ghostline/model/kernels"
	"github.com/ghostline-dev/ghostline/model/quant"
)

// TestMatMulFast checks the kernel path against the portable path for
// every weight type the kernels take, over thread counts and token counts
// that exercise uneven row splits (50 rows), decode (1 token), a partial
// and several full token tiles. The bound is the one activation
// quantization allows: each activation moves by at most half a step of its
// block's scale, d = max|x|/127 (taken over 256 elements, which covers the
// 32-element blocks too), so |Δ| ≤ Σ|w|·d/2, plus float rounding.
func TestMatMulFast(t *testing.T) {
	if New(1).Path() == "portable" {
		t.Skip("no native kernels in this build or on this CPU (" + kernels.Features() + "): New is the portable path, nothing to compare")
	}
	const rows, cols = 50, 512
	wf := randVec(rows*cols, 11)
	ref := NewPortable(1)
	tested := 0
	for _, typ := range quant.Supported() {
		k, ok := kernels.For(typ)
		if !ok {
			continue
		}
		tested++
		data := quantized(t, typ, wf)
		deq := make([]float32, rows*cols)
		quant.Dequantize(typ, data, deq)
		rw, err := ref.NewWeight(typ, rows, cols, data)
		if err != nil {
			t.Fatal(err)
		}
		for _, threads := range []int{1, 2, 3} {
			c := New(threads)
			w, err := c.NewWeight(typ, rows, cols, data)
			if err != nil {
				t.Fatal(err)
			}
			if c.Path() != "portable" && !w.(*weight).fast {
				t.Fatalf("%s: kernels.For says %s but the weight is not on the fast path", typ, k.Path())
			}
			for _, n := range []int{1, 5, 40} {
				x := randVec(n*cols, uint64(3+n))
				got := make([]float32, n*rows)
				want := make([]float32, n*rows)
				c.MatMul(got, w, x, n)
				ref.MatMul(want, rw, x, n)
				for i := 0; i < n; i++ {
					xi := x[i*cols : (i+1)*cols]
					for r := 0; r < rows; r++ {
						var bound, scale float64
						for b := 0; b < cols; b += 256 {
							var m float64
							for _, v := range xi[b : b+256] {
								m = max(m, math.Abs(float64(v)))
							}
							for c := b; c < b+256; c++ {
								aw := math.Abs(float64(deq[r*cols+c]))
								bound += aw * m / 127 / 2
								scale += aw * math.Abs(float64(xi[c]))
							}
						}
						if typ == quant.F32 || typ == quant.F16 || typ == quant.BF16 {
							bound = 0 // float activations: rounding only
						}
						bound += 1e-5 * scale
						if d := math.Abs(float64(got[i*rows+r] - want[i*rows+r])); d > bound {
							t.Fatalf("%s threads %d n %d: out[%d][%d] = %v, portable %v (|Δ| %g > bound %g)", typ, threads, n, i, r, got[i*rows+r], want[i*rows+r], d, bound)
						}
					}
				}
			}
		}
	}
	if tested == 0 {
		t.Fatal("kernels support none of quant.Supported()")
	}
}

// TestDecodeOpsAllocateNothing: the ops of one decode step (one token)
// allocate nothing once the backend's scratch has grown, on the kernel
// path and on the portable path, with and without worker threads.
func TestDecodeOpsAllocateNothing(t *testing.T) {
	const rows, cols, heads, kvHeads, hd, cells = 64, 256, 4, 2, 64, 40
	wf := randVec(rows*cols, 1)
	data := quantized(t, quant.Q8_0, wf)
	x := randVec(cols, 2)
	out := make([]float32, rows)
	q := randVec(heads*hd, 3)
	K := randVec(cells*kvHeads*hd, 4)
	V := randVec(cells*kvHeads*hd, 5)
	vis := make([]int32, cells)
	for i := range vis {
		vis[i] = int32(i)
	}
	att := backend.Attention{Heads: heads, KVHeads: kvHeads, HeadDim: hd, Scale: 0.125, K: K, V: V, Visible: [][]int32{vis}}
	ao := make([]float32, heads*hd)
	rope := backend.Rope{Mode: backend.RopeNeox, Dims: hd, Base: 1e6, FreqScale: 1}
	pos := []int32{17}
	norm := make([]float32, cols)
	for _, c := range []*CPU{New(1), New(2), NewPortable(2)} {
		w, err := c.NewWeight(quant.Q8_0, rows, cols, data)
		if err != nil {
			t.Fatal(err)
		}
		outs := [][]float32{out[:rows/2], out[rows/2:]}
		half := quantized(t, quant.Q8_0, wf[:rows/2*cols])
		wh, err := c.NewWeight(quant.Q8_0, rows/2, cols, half)
		if err != nil {
			t.Fatal(err)
		}
		ws := []backend.Weight{wh, wh}
		step := func() {
			c.RMSNorm(norm, x, x, cols, 1e-6)
			c.MatMul(out, w, norm, 1)
			c.MatMulShared(outs, ws, norm, 1)
			c.ApplyRope(q, heads, hd, pos, rope)
			c.Attend(ao, q, att)
			c.SwiGLU(out[:32], out[32:])
			c.Add(norm, x)
		}
		step()
		if a := testing.AllocsPerRun(50, step); a != 0 {
			t.Errorf("%s, %d threads: %v allocations per decode step, want 0", c.Path(), c.threads, a)
		}
	}
}

// TestPoolStress runs many small ops back to back and some after the
// workers have parked, checking every result: a lost wake-up would hang,
// a stale read of the job would give a wrong sum.
func TestPoolStress(t *testing.T) {
	c := New(3)
	const rows, cols = 96, 64
	data := quantized(t, quant.F32, randVec(rows*cols, 7))
	w, _ := c.NewWeight(quant.F32, rows, cols, data)
	ref := NewPortable(1)
	rw, _ := ref.NewWeight(quant.F32, rows, cols, data)
	out, want := make([]float32, rows), make([]float32, rows)
	for it := 0; it < 3000; it++ {
		x := randVec(cols, uint64(it))
		c.MatMul(out, w, x, 1)
		ref.MatMul(want, rw, x, 1)
		for r := range out {
			if math.Abs(float64(out[r]-want[r])) > 1e-4 {
				t.Fatalf("iteration %d row %d: %v, want %v", it, r, out[r], want[r])
			}
		}
		if it%1000 == 999 {
			time.Sleep(3 * spinFor) // let the workers park
		}
	}
}

// BenchmarkDispatch compares the persistent spin-then-park pool with a
// goroutine per part and a sync.WaitGroup, on a decode-sized product
// (896×896 Q8_0, the attention output of a 0.5B model) and on an empty op
// (pure hand-off cost).
func BenchmarkDispatch(b *testing.B) {
	const rows, cols = 896, 896
	data := quantized(b, quant.Q8_0, randVec(rows*cols, 1))
	x := randVec(cols, 2)
	out := make([]float32, rows)
	for _, mode := range []string{"waitgroup", "pool", "1thread"} {
		c := New(0)
		if mode == "1thread" {
			c = New(1)
		}
		c.spawn = mode == "waitgroup"
		w, _ := c.NewWeight(quant.Q8_0, rows, cols, data)
		b.Run(mode+"/matvec896", func(b *testing.B) {
			for b.Loop() {
				c.MatMul(out, w, x, 1)
			}
		})
		b.Run(mode+"/empty", func(b *testing.B) {
			c.job.kind = jobAttend
			c.job.att = backend.Attention{Heads: 1, KVHeads: 1}
			for b.Loop() {
				c.run(c.threads * chunksPerThread)
			}
		})
	}
}

// TestMatMulShared checks MatMulShared against one MatMul per weight on the
// same backend: fused (weights of one activation format: Q5_0 and Q8_0,
// as a Q4_K_M file's Q, K and V are) and unfused (Q4_K with Q5_0: two
// formats; portable backend), with row counts that put the boundaries
// between the weights inside a chunk, over thread and token counts.
func TestMatMulShared(t *testing.T) {
	const cols = 512
	rows := []int{50, 18, 33}
	cases := []struct {
		name  string
		types []quant.Type
	}{
		{"q5_0+q5_0+q8_0", []quant.Type{quant.Q5_0, quant.Q5_0, quant.Q8_0}},
		{"q4_k+q5_0", []quant.Type{quant.Q4_K, quant.Q5_0}},
		{"f32+q8_0", []quant.Type{quant.F32, quant.Q8_0}},
	}
	for _, tc := range cases {
		for _, c := range []*CPU{New(1), New(2), New(3), NewPortable(2)} {
			var ws []backend.Weight
			for i, typ := range tc.types {
				w, err := c.NewWeight(typ, rows[i], cols, quantized(t, typ, randVec(rows[i]*cols, uint64(20+i))))
				if err != nil {
					t.Fatal(err)
				}
				ws = append(ws, w)
			}
			for _, n := range []int{1, 5, 40} {
				x := randVec(n*cols, uint64(30+n))
				outs := make([][]float32, len(ws))
				for i, w := range ws {
					outs[i] = make([]float32, n*w.Rows())
				}
				c.MatMulShared(outs, ws, x, n)
				c.MatMulShared(nil, nil, x, n) // no weights: nothing to do, no panic
				for i, w := range ws {
					want := make([]float32, n*w.Rows())
					c.MatMul(want, w, x, n)
					var scale float64
					for _, v := range want {
						scale = max(scale, math.Abs(float64(v)))
					}
					for k := range want {
						if d := math.Abs(float64(outs[i][k] - want[k])); d > 1e-5*scale {
							t.Fatalf("%s, %s %d threads, n=%d: weight %d out[%d] = %v, MatMul %v", tc.name, c.Path(), c.threads, n, i, k, outs[i][k], want[k])
						}
					}
				}
			}
		}
	}
}
