// Package cpu is the portable Go backend: every op in plain Go, matrix
// products split by rows over goroutines. It is the correctness reference
// for faster backends and the fallback on CPUs they do not cover; speed
// comes from the SIMD kernels of a later step, which replace MatMul's inner
// dot products and keep everything else.
package cpu

import (
	"fmt"
	"math"
	"runtime"
	"sync"

	"github.com/ghostline-dev/ghostline/model/backend"
	"github.com/ghostline-dev/ghostline/model/quant"
)

func init() {
	backend.Register("cpu", func(threads int) (backend.Backend, error) { return New(threads), nil })
}

// CPU is the portable backend. It is safe for use by one forward pass at a
// time.
type CPU struct {
	threads int
}

// New returns a CPU backend using threads goroutines per op (0: one per
// core, as GOMAXPROCS reports).
func New(threads int) *CPU {
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	return &CPU{threads: threads}
}

func (c *CPU) Name() string { return "cpu" }
func (c *CPU) Threads() int { return c.threads }

// weight is a matrix kept as the file's bytes (zero-copy).
type weight struct {
	typ        quant.Type
	rows, cols int
	rowBytes   int
	data       []byte
	dot        func(w []byte, x []float32) float32
}

func (w *weight) Type() quant.Type { return w.typ }
func (w *weight) Rows() int        { return w.rows }
func (w *weight) Cols() int        { return w.cols }

// NewWeight wraps data in place.
func (c *CPU) NewWeight(t quant.Type, rows, cols int, data []byte) (backend.Weight, error) {
	rb, err := t.RowBytes(cols)
	if err != nil {
		return nil, err
	}
	if len(data) != rb*rows {
		return nil, fmt.Errorf("cpu: %d×%d %s weight needs %d bytes, have %d", rows, cols, t, rb*rows, len(data))
	}
	return &weight{typ: t, rows: rows, cols: cols, rowBytes: rb, data: data, dot: quant.DotFunc(t)}, nil
}

// minRowsPerTask keeps goroutine hand-off (~1 µs) small next to the work it
// hands off: below this many weight rows per thread a matmul runs on one
// goroutine.
const minRowsPerTask = 16

// parallel runs fn over [0,n) split into at most c.threads contiguous
// chunks of at least minChunk items.
func (c *CPU) parallel(n, minChunk int, fn func(lo, hi int)) {
	parts := min(c.threads, max(1, n/max(1, minChunk)))
	if parts <= 1 {
		fn(0, n)
		return
	}
	var wg sync.WaitGroup
	for p := 0; p < parts; p++ {
		lo, hi := n*p/parts, n*(p+1)/parts
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(lo, hi)
		}()
	}
	wg.Wait()
}

// MatMul splits the weight's rows between threads; each thread reads a
// weight row once and multiplies it with all n activation rows, so prefill
// reads the weights once per call rather than once per token. With more
// than one activation row, a quantized weight row is decoded once into
// float32 and reused (decoding costs more than the multiply-adds); with one,
// the fused dot product avoids the extra pass.
func (c *CPU) MatMul(out []float32, wt backend.Weight, x []float32, n int) {
	w := wt.(*weight)
	if len(x) < n*w.cols || len(out) < n*w.rows {
		panic(fmt.Sprintf("cpu.MatMul: %d rows of %d×%d: x has %d, out %d", n, w.rows, w.cols, len(x), len(out)))
	}
	c.parallel(w.rows, minRowsPerTask, func(lo, hi int) {
		if n == 1 || w.typ == quant.F32 {
			for r := lo; r < hi; r++ {
				row := w.data[r*w.rowBytes : (r+1)*w.rowBytes]
				for i := 0; i < n; i++ {
					out[i*w.rows+r] = w.dot(row, x[i*w.cols:(i+1)*w.cols])
				}
			}
			return
		}
		buf := make([]float32, w.cols)
		for r := lo; r < hi; r++ {
			quant.Dequantize(w.typ, w.data[r*w.rowBytes:(r+1)*w.rowBytes], buf)
			for i := 0; i < n; i++ {
				out[i*w.rows+r] = quant.DotF32(buf, x[i*w.cols:(i+1)*w.cols])
			}
		}
	})
}

func (c *CPU) RMSNorm(out, x, weight []float32, dim int, eps float32) {
	for i := 0; i < len(x)/dim; i++ {
		xr, or := x[i*dim:(i+1)*dim], out[i*dim:(i+1)*dim]
		var ss float64
		for _, v := range xr {
			ss += float64(v) * float64(v)
		}
		s := float32(1 / math.Sqrt(ss/float64(dim)+float64(eps)))
		for j, v := range xr {
			or[j] = v * s * weight[j]
		}
	}
}

func (c *CPU) LayerNorm(out, x, weight, bias []float32, dim int, eps float32) {
	for i := 0; i < len(x)/dim; i++ {
		xr, or := x[i*dim:(i+1)*dim], out[i*dim:(i+1)*dim]
		var mean float64
		for _, v := range xr {
			mean += float64(v)
		}
		mean /= float64(dim)
		var vr float64
		for _, v := range xr {
			d := float64(v) - mean
			vr += d * d
		}
		s := 1 / math.Sqrt(vr/float64(dim)+float64(eps))
		for j, v := range xr {
			y := float32((float64(v)-mean)*s) * weight[j]
			if bias != nil {
				y += bias[j]
			}
			or[j] = y
		}
	}
}

func (c *CPU) ApplyRope(x []float32, heads, headDim int, pos []int32, r backend.Rope) {
	dims := r.Dims
	if dims <= 0 || dims > headDim {
		dims = headDim
	}
	half := dims / 2
	// θ_i = p·scale·base^(−2i/dims), the same for every head of a row.
	inv := make([]float64, half)
	for i := range inv {
		inv[i] = math.Pow(r.Base, -2*float64(i)/float64(dims))
	}
	cos, sin := make([]float32, half), make([]float32, half)
	for t, p := range pos {
		for i := range inv {
			th := float64(p) * r.FreqScale * inv[i]
			s, c := math.Sincos(th)
			cos[i], sin[i] = float32(c), float32(s)
		}
		row := x[t*heads*headDim : (t+1)*heads*headDim]
		for h := 0; h < heads; h++ {
			v := row[h*headDim : (h+1)*headDim]
			for i := 0; i < half; i++ {
				var a, b *float32
				if r.Mode == backend.RopeNeox {
					a, b = &v[i], &v[i+half]
				} else {
					a, b = &v[2*i], &v[2*i+1]
				}
				x0, x1 := *a, *b
				*a = x0*cos[i] - x1*sin[i]
				*b = x0*sin[i] + x1*cos[i]
			}
		}
	}
}

// Attend runs each (query row, head) pair independently, split over
// threads by pair, so one-token decode over a long context uses every
// thread too.
func (c *CPU) Attend(out, q []float32, a backend.Attention) {
	n := len(a.Visible)
	qDim := a.Heads * a.HeadDim
	kvDim := a.KVHeads * a.HeadDim
	group := a.Heads / a.KVHeads
	c.parallel(n*a.Heads, 1, func(lo, hi int) {
		var scores []float32
		for item := lo; item < hi; item++ {
			i, h := item/a.Heads, item%a.Heads
			vis := a.Visible[i]
			if cap(scores) < len(vis) {
				scores = make([]float32, len(vis))
			}
			scores = scores[:len(vis)]
			qh := q[i*qDim+h*a.HeadDim : i*qDim+(h+1)*a.HeadDim]
			kvOff := (h / group) * a.HeadDim
			mx := float32(math.Inf(-1))
			for j, cell := range vis {
				off := int(cell)*kvDim + kvOff
				var s float32
				if a.K16 != nil {
					s = dotHalf(qh, a.K16[off:off+a.HeadDim]) * a.Scale
				} else {
					s = quant.DotF32(qh, a.K[off:off+a.HeadDim]) * a.Scale
				}
				scores[j] = s
				mx = max(mx, s)
			}
			var sum float32
			for j, s := range scores {
				e := float32(math.Exp(float64(s - mx)))
				scores[j] = e
				sum += e
			}
			o := out[i*qDim+h*a.HeadDim : i*qDim+(h+1)*a.HeadDim]
			clear(o)
			inv := 1 / sum
			for j, cell := range vis {
				off := int(cell)*kvDim + kvOff
				p := scores[j] * inv
				if a.V16 != nil {
					v := a.V16[off : off+a.HeadDim]
					for d := range o {
						o[d] += p * quant.F16ToF32(v[d])
					}
					continue
				}
				v := a.V[off : off+a.HeadDim]
				for d := range o {
					o[d] += p * v[d]
				}
			}
		}
	})
}

func dotHalf(x []float32, h []uint16) float32 {
	h = h[:len(x)]
	var s0, s1 float32
	i := 0
	for ; i+2 <= len(x); i += 2 {
		s0 += x[i] * quant.F16ToF32(h[i])
		s1 += x[i+1] * quant.F16ToF32(h[i+1])
	}
	for ; i < len(x); i++ {
		s0 += x[i] * quant.F16ToF32(h[i])
	}
	return s0 + s1
}

func (c *CPU) AddBias(x, bias []float32) {
	dim := len(bias)
	for i := 0; i < len(x); i += dim {
		r := x[i : i+dim]
		for j, b := range bias {
			r[j] += b
		}
	}
}

func (c *CPU) Add(x, y []float32) {
	y = y[:len(x)]
	for i := range x {
		x[i] += y[i]
	}
}

func (c *CPU) SwiGLU(gate, up []float32) {
	up = up[:len(gate)]
	for i, g := range gate {
		gate[i] = g / (1 + float32(math.Exp(float64(-g)))) * up[i]
	}
}

// GELU uses the tanh approximation, as ggml_gelu does.
func (c *CPU) GELU(x []float32) {
	const k = 0.7978845608028654 // √(2/π)
	for i, v := range x {
		f := float64(v)
		x[i] = float32(0.5 * f * (1 + math.Tanh(k*f*(1+0.044715*f*f))))
	}
}
