// Package cpu is the CPU backend. Matrix products run on the SIMD kernels
// of model/kernels (activations quantized once per product, as llama.cpp
// does; rows split between persistent workers); everything else, and the
// weight types the kernels lack, run in portable Go. The portable path is
// also the correctness reference in tests (NewPortable) and what runs on
// CPUs and builds without the kernels' native code (GOARCH≠amd64,
// CGO_ENABLED=0, or GHOSTLINE_KERNELS=generic).
package cpu

import (
	"fmt"
	"math"
	"os"
	"runtime"

	"github.com/ghostline-dev/ghostline/model/backend"
	"github.com/ghostline-dev/ghostline/model/kernels"
	"github.com/ghostline-dev/ghostline/model/quant"
)

func init() {
	backend.Register("cpu", func(threads int) (backend.Backend, error) { return New(threads), nil })
}

// CPU is the CPU backend. It is safe for use by one forward pass at a
// time: its scratch buffers and workers serve one op at a time.
type CPU struct {
	threads  int
	portable bool
	spawn    bool // dispatch with goroutines + WaitGroup instead of the pool (BenchmarkDispatch)
	pool     *pool
	job      *job

	xq      []byte // quantized activations, grown on demand
	ropeKey backend.Rope
	ropeInv []float64 // base^(−2i/dims) for ropeKey
	ropeDim int
	cos     []float32
	sin     []float32
}

// New returns a CPU backend using threads threads per op (0: one per
// core, as GOMAXPROCS reports), with the SIMD kernels where the CPU and
// build have them.
func New(threads int) *CPU {
	return newCPU(threads, kernels.Features() == "generic")
}

// NewPortable returns the portable Go backend (float32 activations, no
// SIMD kernels): the reference the fast path is tested against.
func NewPortable(threads int) *CPU { return newCPU(threads, true) }

func newCPU(threads int, portable bool) *CPU {
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	j := &job{scores: make([][]float32, threads), buf: make([][]float32, threads), fastOps: !portable}
	// GHOSTLINE_CPU_DISPATCH=waitgroup hands ops out with a goroutine per
	// thread and a sync.WaitGroup instead of the persistent pool: kept to
	// compare the two end to end (bench speed) on a given machine.
	c := &CPU{threads: threads, portable: portable, job: j, spawn: os.Getenv("GHOSTLINE_CPU_DISPATCH") == "waitgroup"}
	if threads > 1 {
		c.pool = newPool(threads, j)
		// The workers reference the pool and the job, never c, so c can be
		// collected; its cleanup stops them.
		runtime.AddCleanup(c, func(p *pool) { p.close() }, c.pool)
	}
	return c
}

func (c *CPU) Name() string { return "cpu" }
func (c *CPU) Threads() int { return c.threads }

// Path names the matrix-product implementation: a kernels path
// ("avx512vnni", "avx2") or "portable".
func (c *CPU) Path() string {
	if c.portable {
		return "portable"
	}
	return kernels.Features()
}

// weight is a matrix kept as the file's bytes (zero-copy).
type weight struct {
	typ        quant.Type
	rows, cols int
	rowBytes   int
	data       []byte
	dot        func(w []byte, x []float32) float32
	kern       kernels.Kernel
	fast       bool // kern is used
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
	w := &weight{typ: t, rows: rows, cols: cols, rowBytes: rb, data: data, dot: quant.DotFunc(t)}
	if !c.portable {
		w.kern, w.fast = kernels.For(t)
	}
	return w, nil
}

// minRowsPerTask keeps the hand-off of a chunk (~1 µs, more when a worker
// has parked) small next to the work it hands off: no chunk has fewer
// weight rows than this.
const minRowsPerTask = 16

// rowAlign rounds row splits so each part's range starts on a whole number
// of the kernels' row tiles (at most 8 rows; 16 keeps cache lines of the
// output apart too).
const rowAlign = 16

// chunksPerThread splits an op finer than one part per thread, so a thread
// the OS has descheduled holds up little: the others claim the rest
// (see pool). Four keeps the extra calls (one kernels.MatMul each, ~1 µs
// with its checks) small next to a chunk of a 0.5B model's smallest matrix
// (896×896 / 8 chunks ≈ 12 µs at the bandwidth bound).
const chunksPerThread = 4

// chunks is how many chunks n items of at least minChunk each split into.
func (c *CPU) chunks(n, minChunk int) int {
	if c.threads == 1 {
		return 1
	}
	return min(c.threads*chunksPerThread, max(1, n/max(1, minChunk)), maxChunks)
}

// run executes c.job in chunks.
func (c *CPU) run(chunks int) {
	switch {
	case chunks <= 1 || c.pool == nil:
		for i := 0; i < chunks; i++ {
			c.job.chunk(0, i, chunks)
		}
	case c.spawn:
		runSpawn(c.job, c.threads, chunks)
	default:
		c.pool.run(chunks)
	}
}

type jobKind int

const (
	jobMatMulFast jobKind = iota
	jobMatMulShared
	jobMatMulPortable
	jobQuantize
	jobAttend
)

// job is one parallel op: its kind and arguments, set by the caller before
// run, and per-thread scratch. Keeping the arguments in a struct (not a
// closure) is what keeps the decode loop free of allocation.
type job struct {
	kind jobKind

	w   *weight
	x   []float32
	out []float32
	n   int
	xq  []byte
	xb  int // bytes per quantized activation row

	// MatMulShared: up to maxShared products of one input, their rows
	// concatenated for splitting.
	sw    [maxShared]*weight
	souts [maxShared][]float32
	ns    int

	q   []float32
	att backend.Attention

	fastOps bool // use model/kernels' op kernels (attention) where they take the shape

	scores [][]float32 // per thread, Attend
	buf    [][]float32 // per thread, portable prefill rows
}

// split is part p's share of [0,n), aligned to align.
func split(n, parts, p, align int) (lo, hi int) {
	per := (n + parts - 1) / parts
	per = (per + align - 1) / align * align
	lo, hi = min(n, p*per), min(n, (p+1)*per)
	return lo, hi
}

// chunk runs chunk ch of chunks on thread p (p indexes per-thread scratch).
func (j *job) chunk(p, ch, chunks int) {
	switch j.kind {
	case jobMatMulFast:
		lo, hi := split(j.w.rows, chunks, ch, rowAlign)
		if lo < hi {
			j.w.kern.MatMul(j.w.data, j.w.rows, j.w.cols, lo, hi, j.xq, j.n, j.out, j.w.rows)
		}
	case jobMatMulShared:
		total := 0
		for i := 0; i < j.ns; i++ {
			total += j.sw[i].rows
		}
		lo, hi := split(total, chunks, ch, rowAlign)
		base := 0
		for i := 0; i < j.ns && lo < hi; i++ {
			w := j.sw[i]
			if a, b := max(lo, base)-base, min(hi, base+w.rows)-base; a < b {
				w.kern.MatMul(w.data, w.rows, w.cols, a, b, j.xq, j.n, j.souts[i], w.rows)
			}
			base += w.rows
		}
	case jobQuantize:
		lo, hi := split(j.n, chunks, ch, 1)
		for i := lo; i < hi; i++ {
			j.w.kern.QuantizeActivations(j.x[i*j.w.cols:(i+1)*j.w.cols], j.xq[i*j.xb:(i+1)*j.xb])
		}
	case jobMatMulPortable:
		lo, hi := split(j.w.rows, chunks, ch, 1)
		j.matMulPortable(p, lo, hi)
	case jobAttend:
		lo, hi := split(len(j.att.Visible)*j.att.Heads, chunks, ch, 1)
		j.attend(p, lo, hi)
	}
}

// MatMul computes out = W·x for n rows of x.
//
// Fast path: the n activation rows are quantized once (in parallel when n
// is large) into the kernels' format, then each thread makes one
// kernels.MatMul call over its share of the weight rows and all n tokens;
// the kernels tile rows × tokens, so prefill reads each weight block once
// per tile of tokens.
//
// Portable path: each thread reads a weight row once and multiplies it
// with all n activation rows; with more than one row a quantized weight
// row is decoded once into float32 and reused (decoding costs more than
// the multiply-adds); with one, the fused dot product avoids the extra
// pass.
func (c *CPU) MatMul(out []float32, wt backend.Weight, x []float32, n int) {
	w := wt.(*weight)
	if len(x) < n*w.cols || len(out) < n*w.rows {
		panic(fmt.Sprintf("cpu.MatMul: %d rows of %d×%d: x has %d, out %d", n, w.rows, w.cols, len(x), len(out)))
	}
	if n == 0 {
		return
	}
	j := c.job
	j.w, j.x, j.out, j.n = w, x, out, n
	j.kind = jobMatMulPortable
	if w.fast {
		c.quantize(w, x, n)
		j.kind = jobMatMulFast
	}
	c.run(c.chunks(w.rows, minRowsPerTask))
	j.w, j.x, j.out, j.xq = nil, nil, nil, nil // keep no references to the caller's memory
}

// maxShared is the most products MatMulShared fuses: Q, K and V.
const maxShared = 3

// MatMulShared computes outs[i] = ws[i]·x (n rows of x) for up to three
// weights with the same input, as Q, K and V, or gate and up, are. Where
// all of them run on the kernels with one activation format, x is
// quantized once and all the products are one parallel op over their
// concatenated rows: one hand-off to the workers instead of one per
// product, and the split evens out over the larger row count (decode of a
// 0.5B model: 24 layers × 3 hand-offs fewer per token). Otherwise it is
// one MatMul per weight. It allocates nothing.
func (c *CPU) MatMulShared(outs [][]float32, ws []backend.Weight, x []float32, n int) {
	if len(outs) != len(ws) {
		panic(fmt.Sprintf("cpu.MatMulShared: %d outputs for %d weights", len(outs), len(ws)))
	}
	fuse := len(ws) > 0 && len(ws) <= maxShared && n > 0
	var w0 *weight
	for i, wt := range ws {
		w := wt.(*weight)
		if i == 0 {
			w0 = w
		}
		if !w.fast || w.cols != w0.cols || w.kern.ActivationFormat() != w0.kern.ActivationFormat() {
			fuse = false
		}
		if len(x) < n*w.cols || len(outs[i]) < n*w.rows {
			panic(fmt.Sprintf("cpu.MatMulShared: %d rows of %d×%d: x has %d, out %d", n, w.rows, w.cols, len(x), len(outs[i])))
		}
	}
	if !fuse {
		for i, w := range ws {
			c.MatMul(outs[i], w, x, n)
		}
		return
	}
	j := c.job
	c.quantize(w0, x, n)
	total := 0
	for i, wt := range ws {
		j.sw[i], j.souts[i] = wt.(*weight), outs[i]
		total += j.sw[i].rows
	}
	j.ns, j.n = len(ws), n
	j.kind = jobMatMulShared
	c.run(c.chunks(total, minRowsPerTask))
	for i := range j.sw {
		j.sw[i], j.souts[i] = nil, nil
	}
	j.x, j.xq, j.w = nil, nil, nil
}

// quantize fills c.job's xq with x's n rows in w's activation format
// (in parallel when n > 1).
func (c *CPU) quantize(w *weight, x []float32, n int) {
	j := c.job
	j.w, j.x, j.n = w, x, n
	j.xb = w.kern.ActivationBytes(w.cols)
	if need := n * j.xb; len(c.xq) < need {
		c.xq = make([]byte, need)
	}
	j.xq = c.xq[:n*j.xb]
	if n == 1 {
		w.kern.QuantizeActivations(x[:w.cols], j.xq)
	} else {
		j.kind = jobQuantize
		c.run(c.chunks(n, 1))
	}
}

func (j *job) matMulPortable(p, lo, hi int) {
	w, x, out, n := j.w, j.x, j.out, j.n
	if n == 1 || w.typ == quant.F32 {
		for r := lo; r < hi; r++ {
			row := w.data[r*w.rowBytes : (r+1)*w.rowBytes]
			for i := 0; i < n; i++ {
				out[i*w.rows+r] = w.dot(row, x[i*w.cols:(i+1)*w.cols])
			}
		}
		return
	}
	if cap(j.buf[p]) < w.cols {
		j.buf[p] = make([]float32, w.cols)
	}
	buf := j.buf[p][:w.cols]
	for r := lo; r < hi; r++ {
		quant.Dequantize(w.typ, w.data[r*w.rowBytes:(r+1)*w.rowBytes], buf)
		for i := 0; i < n; i++ {
			out[i*w.rows+r] = quant.DotF32(buf, x[i*w.cols:(i+1)*w.cols])
		}
	}
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

// ApplyRope rotates x in place. The frequencies are cached per Rope
// setting and the per-position cos/sin buffers reused, so decode allocates
// nothing here.
func (c *CPU) ApplyRope(x []float32, heads, headDim int, pos []int32, r backend.Rope) {
	dims := r.Dims
	if dims <= 0 || dims > headDim {
		dims = headDim
	}
	half := dims / 2
	// θ_i = p·scale·base^(−2i/dims), the same for every head of a row.
	if c.ropeInv == nil || c.ropeKey != r || c.ropeDim != dims {
		c.ropeKey, c.ropeDim = r, dims
		c.ropeInv = make([]float64, half)
		for i := range c.ropeInv {
			c.ropeInv[i] = math.Pow(r.Base, -2*float64(i)/float64(dims))
		}
		c.cos, c.sin = make([]float32, half), make([]float32, half)
	}
	inv, cos, sin := c.ropeInv, c.cos, c.sin
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
	j := c.job
	j.kind, j.out, j.q, j.att = jobAttend, out, q, a
	c.run(c.chunks(len(a.Visible)*a.Heads, 1))
	j.out, j.q, j.att = nil, nil, backend.Attention{}
}

func (j *job) attend(p, lo, hi int) {
	a, q, out := j.att, j.q, j.out
	qDim := a.Heads * a.HeadDim
	kvDim := a.KVHeads * a.HeadDim
	group := a.Heads / a.KVHeads
	for item := lo; item < hi; item++ {
		i, h := item/a.Heads, item%a.Heads
		vis := a.Visible[i]
		if cap(j.scores[p]) < len(vis) {
			j.scores[p] = make([]float32, max(len(vis), 2*cap(j.scores[p])))
		}
		scores := j.scores[p][:len(vis)]
		qh := q[i*qDim+h*a.HeadDim : i*qDim+(h+1)*a.HeadDim]
		kvOff := (h / group) * a.HeadDim
		o := out[i*qDim+h*a.HeadDim : i*qDim+(h+1)*a.HeadDim]
		if j.fastOps && len(vis) > 0 {
			var ok bool
			if a.K16 != nil {
				ok = kernels.Attend(o, qh, nil, nil, a.K16[kvOff:], a.V16[kvOff:], kvDim, vis, a.Scale, scores)
			} else {
				ok = kernels.Attend(o, qh, a.K[kvOff:], a.V[kvOff:], nil, nil, kvDim, vis, a.Scale, scores)
			}
			if ok {
				continue
			}
		}
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
	if !c.portable && kernels.SwiGLU(gate, up) {
		return
	}
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
