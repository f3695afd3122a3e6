package cpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/ghostline-dev/ghostline/model/backend"
	"github.com/ghostline-dev/ghostline/model/quant"
)

func randVec(n int, seed uint64) []float32 {
	r := rand.New(rand.NewPCG(seed, 9))
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	return x
}

func quantized(t testing.TB, typ quant.Type, w []float32) []byte {
	n, err := typ.RowBytes(len(w))
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, n)
	if err := quant.Quantize(typ, w, b); err != nil {
		t.Fatal(err)
	}
	return b
}

// TestMatMul compares the portable MatMul (single-row fused path and
// multi-row decode path, several thread counts) with a float64 product of
// the dequantized weights.
func TestMatMul(t *testing.T) {
	const rows, cols = 48, 512
	wf := randVec(rows*cols, 1)
	for _, typ := range quant.Supported() {
		data := quantized(t, typ, wf)
		deq := make([]float32, rows*cols)
		quant.Dequantize(typ, data, deq)
		for _, threads := range []int{1, 3} {
			c := NewPortable(threads)
			w, err := c.NewWeight(typ, rows, cols, data)
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range []int{1, 5} {
				x := randVec(n*cols, 2)
				out := make([]float32, n*rows)
				c.MatMul(out, w, x, n)
				for i := 0; i < n; i++ {
					for r := 0; r < rows; r++ {
						var want, scale float64
						for k := 0; k < cols; k++ {
							p := float64(deq[r*cols+k]) * float64(x[i*cols+k])
							want += p
							scale += math.Abs(p)
						}
						if d := math.Abs(float64(out[i*rows+r]) - want); d > 1e-5*scale {
							t.Fatalf("%s threads %d n %d: out[%d][%d] = %v, want %v", typ, threads, n, i, r, out[i*rows+r], want)
						}
					}
				}
			}
		}
	}
	if _, err := New(1).NewWeight(quant.Q4_0, 2, 32, make([]byte, 10)); err == nil {
		t.Error("short weight data: no error")
	}
}

// TestRope checks both modes against the rotation written out by hand.
func TestRope(t *testing.T) {
	c := New(1)
	x := []float32{1, 2, 3, 4, 5, 6, 7, 8} // one head of 8
	r := backend.Rope{Mode: backend.RopeNormal, Dims: 8, Base: 100, FreqScale: 0.5}
	got := append([]float32(nil), x...)
	c.ApplyRope(got, 1, 8, []int32{3}, r)
	rot := func(a, b float32, th float64) (float32, float32) {
		s, co := math.Sincos(th)
		return float32(float64(a)*co - float64(b)*s), float32(float64(a)*s + float64(b)*co)
	}
	for i := 0; i < 4; i++ {
		th := 3 * 0.5 * math.Pow(100, -2*float64(i)/8)
		a, b := rot(x[2*i], x[2*i+1], th)
		if math.Abs(float64(got[2*i]-a)) > 1e-5 || math.Abs(float64(got[2*i+1]-b)) > 1e-5 {
			t.Errorf("normal pair %d: %v %v, want %v %v", i, got[2*i], got[2*i+1], a, b)
		}
	}
	got = append([]float32(nil), x...)
	r.Mode = backend.RopeNeox
	c.ApplyRope(got, 1, 8, []int32{3}, r)
	for i := 0; i < 4; i++ {
		th := 3 * 0.5 * math.Pow(100, -2*float64(i)/8)
		a, b := rot(x[i], x[i+4], th)
		if math.Abs(float64(got[i]-a)) > 1e-5 || math.Abs(float64(got[i+4]-b)) > 1e-5 {
			t.Errorf("neox pair %d: %v %v, want %v %v", i, got[i], got[i+4], a, b)
		}
	}
	// Partial rotation: dims beyond Dims pass through.
	got = append([]float32(nil), x...)
	r.Dims = 4
	c.ApplyRope(got, 1, 8, []int32{3}, r)
	for i := 4; i < 8; i++ {
		if got[i] != x[i] {
			t.Errorf("dim %d beyond rope dims changed: %v", i, got[i])
		}
	}
}

// TestAttend checks grouped-query attention against a direct float64
// softmax.
// TestAttend checks both backends (New runs model/kernels' attention
// kernel where the CPU has one, NewPortable the Go loop) against the
// float64 definition, for a head size the kernel takes specially (64),
// one it takes generically (8) and one it refuses (6: not a multiple of 8,
// so the fast backend falls back to Go).
func TestAttend(t *testing.T) {
	for _, hd := range []int{6, 8, 64} {
		for name, c := range map[string]*CPU{"fast": New(2), "portable": NewPortable(2)} {
			t.Run(fmt.Sprintf("%s/hd=%d", name, hd), func(t *testing.T) { testAttend(t, c, hd) })
		}
	}
}

func testAttend(t *testing.T, c *CPU, hd int) {
	const heads, kvHeads, cells = 4, 2, 6
	q := randVec(2*heads*hd, 3)
	K := randVec(cells*kvHeads*hd, 4)
	V := randVec(cells*kvHeads*hd, 5)
	vis := [][]int32{{0, 2, 5}, {1, 3, 4, 5, 0}}
	out := make([]float32, 2*heads*hd)
	c.Attend(out, q, backend.Attention{Heads: heads, KVHeads: kvHeads, HeadDim: hd, Scale: 0.3, K: K, V: V, Visible: vis})
	for i, cs := range vis {
		for h := 0; h < heads; h++ {
			kh := h / (heads / kvHeads)
			var w []float64
			var sum float64
			for _, c := range cs {
				var s float64
				for d := 0; d < hd; d++ {
					s += float64(q[i*heads*hd+h*hd+d]) * float64(K[int(c)*kvHeads*hd+kh*hd+d])
				}
				e := math.Exp(0.3 * s)
				w = append(w, e)
				sum += e
			}
			for d := 0; d < hd; d++ {
				var want float64
				for j, c := range cs {
					want += w[j] / sum * float64(V[int(c)*kvHeads*hd+kh*hd+d])
				}
				if got := out[i*heads*hd+h*hd+d]; math.Abs(float64(got)-want) > 1e-5 {
					t.Fatalf("token %d head %d dim %d: %v, want %v", i, h, d, got, want)
				}
			}
		}
	}
}

func TestNorms(t *testing.T) {
	c := New(1)
	x := []float32{1, 2, 3, 4}
	w := []float32{1, 1, 2, 2}
	out := make([]float32, 4)
	c.RMSNorm(out, x, w, 4, 0)
	s := float32(1 / math.Sqrt(7.5))
	for i := range x {
		if math.Abs(float64(out[i]-x[i]*s*w[i])) > 1e-6 {
			t.Errorf("rms %d: %v", i, out[i])
		}
	}
	c.LayerNorm(out, x, w, []float32{0, 1, 0, 1}, 4, 0)
	sd := math.Sqrt(1.25)
	for i := range x {
		want := (float64(x[i])-2.5)/sd*float64(w[i]) + float64(i%2)
		if math.Abs(float64(out[i])-want) > 1e-5 {
			t.Errorf("layernorm %d: %v want %v", i, out[i], want)
		}
	}
	g := []float32{-1, 0, 2}
	c.GELU(g)
	if math.Abs(float64(g[0])+0.1588) > 1e-3 || g[1] != 0 || math.Abs(float64(g[2])-1.9546) > 1e-3 {
		t.Errorf("gelu: %v", g)
	}
}

// BenchmarkMatMul times one matrix of a 0.5B model's shape (ffn_down:
// 4864 → 896) per weight type, for decode (1 token) and a prefill block
// (32 tokens).
func BenchmarkMatMul(b *testing.B) {
	const rows, cols = 896, 4864
	wf := randVec(rows*cols, 1)
	c := New(0)
	for _, typ := range quant.Supported() {
		data := quantized(b, typ, wf)
		w, err := c.NewWeight(typ, rows, cols, data)
		if err != nil {
			b.Fatal(err)
		}
		for _, n := range []int{1, 32} {
			x := randVec(n*cols, 2)
			out := make([]float32, n*rows)
			b.Run(typ.String()+"/n="+itoa(n), func(b *testing.B) {
				b.SetBytes(int64(len(data)))
				for b.Loop() {
					c.MatMul(out, w, x, n)
				}
			})
		}
	}
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}
