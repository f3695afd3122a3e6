package kernels

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ghostline-dev/ghostline/model/quant"
)

// Benchmarks on the matrix shapes of Qwen2.5-Coder-0.5B (rows × cols = out
// × in): attention projections 896×896, FFN up/gate 4864×896, FFN down
// 896×4864, and the output projection 151936×896. The k-quants need cols
// divisible by 256, so for them only 896×4864 exists (llama.cpp stores the
// other tensors of a Q4_K_M 0.5B model as Q5_0/Q8_0 for that reason).
//
//	go test -run x -bench . -benchtime=1x ./model/kernels/
//
// MatVec (decode, one token, activation quantization included) reports
// GB/s of weights read, to compare with BenchmarkBandwidth; MatMul4 (a
// decode step of four beams) is ideally as fast as MatVec; MatMul64
// (prefill, 64 tokens) reports GFLOP/s (2·rows·cols·64 per op). Sub-
// benchmarks per path: every path of this CPU, "quant-ref" (model/quant's
// plain Go float dot product, row by row: what Go without SIMD gives), and
// "<path>-2t" (two persistent workers splitting rows, as the backend
// should run them).

var benchShapes = []struct {
	name       string
	rows, cols int
}{
	{"attn_896x896", 896, 896},
	{"ffn_up_4864x896", 4864, 896},
	{"ffn_down_896x4864", 896, 4864},
	{"output_151936x896", 151936, 896},
}

var benchTypes = []quant.Type{quant.Q8_0, quant.Q4_K, quant.Q6_K, quant.Q5_0}

var benchWeightCache = map[string][]byte{}

// benchWeights is a rows×cols matrix of 64 distinct quantized random rows
// repeated (quantizing 136M values for the output matrix would dominate
// the run; repetition does not help the kernels, which stream rows once).
func benchWeights(b *testing.B, t quant.Type, rows, cols int) []byte {
	key := fmt.Sprint(t, rows, cols)
	if w, ok := benchWeightCache[key]; ok {
		return w
	}
	rng := rand.New(rand.NewPCG(5, 6))
	uniq := randWeights(b, rng, t, min(rows, 64), cols)
	w := make([]byte, 0, rows*(len(uniq)/min(rows, 64)))
	for len(w) < cap(w) {
		w = append(w, uniq[:min(len(uniq), cap(w)-len(w))]...)
	}
	benchWeightCache[key] = w
	return w
}

func BenchmarkMatVec(b *testing.B)   { benchMatMul(b, 1) }
func BenchmarkMatMul4(b *testing.B)  { benchMatMul(b, 4) } // one step of beam width 4
func BenchmarkMatMul64(b *testing.B) { benchMatMul(b, 64) }

func benchMatMul(b *testing.B, nTok int) {
	for _, typ := range benchTypes {
		for _, sh := range benchShapes {
			if sh.cols%typ.BlockSize() != 0 {
				continue
			}
			w := benchWeights(b, typ, sh.rows, sh.cols)
			rng := rand.New(rand.NewPCG(7, 8))
			xs := randVec(rng, nTok*sh.cols, 1)
			out := make([]float32, nTok*sh.rows)
			type variant struct {
				name    string
				p       path
				threads int
				ref     bool
			}
			var vs []variant
			for _, p := range paths() {
				vs = append(vs, variant{p.String(), p, 1, false})
			}
			if best != pathGeneric {
				vs = append(vs, variant{best.String() + "-2t", best, 2, false})
			}
			vs = append(vs, variant{"quant-ref", pathGeneric, 1, true})
			for _, v := range vs {
				if nTok > 1 && sh.rows > 10000 && (v.p == pathGeneric) {
					continue // minutes in plain Go; the smaller shapes show the ratio
				}
				b.Run(fmt.Sprintf("%s/%s/%s", typ, sh.name, v.name), func(b *testing.B) {
					k := forPath(typ, v.p)
					xb := k.ActivationBytes(sh.cols)
					xq := make([]byte, nTok*xb)
					rb, _ := typ.RowBytes(sh.cols)
					ref := quant.DotFunc(typ)
					var pool *workers
					if v.threads > 1 {
						pool = newWorkers(v.threads)
						defer pool.close()
					}
					op := func() {
						if v.ref {
							for t := 0; t < nTok; t++ {
								x := xs[t*sh.cols : (t+1)*sh.cols]
								for r := 0; r < sh.rows; r++ {
									out[t*sh.rows+r] = ref(w[r*rb:(r+1)*rb], x)
								}
							}
							return
						}
						for t := 0; t < nTok; t++ {
							k.QuantizeActivations(xs[t*sh.cols:(t+1)*sh.cols], xq[t*xb:(t+1)*xb])
						}
						if pool == nil {
							k.MatMul(w, sh.rows, sh.cols, 0, sh.rows, xq, nTok, out, sh.rows)
							return
						}
						pool.run(func(i, n int) {
							lo, hi := splitRows(sh.rows, i, n)
							k.MatMul(w, sh.rows, sh.cols, lo, hi, xq, nTok, out, sh.rows)
						})
					}
					runtime.LockOSThread()
					defer runtime.UnlockOSThread()
					op() // warm caches and page in the weights
					b.ResetTimer()
					start, cpu0 := time.Now(), threadCPU()
					for i := 0; i < b.N; i++ {
						op()
					}
					sec, cpu := time.Since(start).Seconds(), (threadCPU() - cpu0).Seconds()
					bytes, flops := float64(len(w))*float64(b.N), 2*float64(sh.rows)*float64(sh.cols)*float64(nTok)*float64(b.N)
					b.ReportMetric(bytes/sec/1e9, "GB/s")
					b.ReportMetric(flops/sec/1e9, "GFLOP/s")
					if cpu > 0 && v.threads == 1 {
						// Per CPU-second of this thread: the kernel's own speed
						// when other processes share the cores.
						b.ReportMetric(bytes/cpu/1e9, "cpuGB/s")
						b.ReportMetric(flops/cpu/1e9, "cpuGFLOP/s")
					}
				})
			}
		}
	}
}

// splitRows gives worker i of n its share of rows, in multiples of 16 so
// tiles are not cut into remainder rows.
func splitRows(rows, i, n int) (lo, hi int) {
	per := (rows/n + 15) / 16 * 16
	lo = min(rows, i*per)
	hi = min(rows, lo+per)
	if i == n-1 {
		hi = rows
	}
	return
}

// workers is the threading the CPU backend should use (from the
// performance guide): n−1 persistent goroutines locked to OS threads plus
// the caller, started by bumping a generation counter and joined on a
// spin barrier, so an op costs no goroutine wake-up. After spinLimit
// polls a waiting worker yields, so idle workers do not burn a shared
// core forever.
type workers struct {
	n    int
	gen  atomic.Uint64
	done atomic.Int64
	job  func(i, n int)
	stop atomic.Bool
	wg   sync.WaitGroup
}

const spinLimit = 1 << 14 // ~10–50 µs of polling before yielding: longer than an op's gap in decode

func newWorkers(n int) *workers {
	w := &workers{n: n}
	for i := 1; i < n; i++ {
		w.wg.Add(1)
		go func(i int) {
			defer w.wg.Done()
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			var seen uint64 // gen starts at 0; reading it here could miss the first run
			for {
				for spins := 0; w.gen.Load() == seen; spins++ {
					if w.stop.Load() {
						return
					}
					if spins > spinLimit {
						runtime.Gosched()
					}
				}
				seen = w.gen.Load()
				w.job(i, w.n)
				w.done.Add(1)
			}
		}(i)
	}
	return w
}

func (w *workers) run(job func(i, n int)) {
	w.job = job
	w.done.Store(0)
	w.gen.Add(1)
	job(0, w.n)
	for spins := 0; w.done.Load() != int64(w.n-1); spins++ {
		if spins > spinLimit {
			runtime.Gosched()
		}
	}
}

func (w *workers) close() { w.stop.Store(true); w.wg.Wait() }

// BenchmarkBandwidth measures memory read bandwidth: sum a 1 GiB slice with
// 1 and 2 threads (vector loads where AVX2 exists). Decode's bound is this
// figure divided by the weight bytes per token.
func BenchmarkBandwidth(b *testing.B) {
	buf := make([]uint64, 1<<27) // 1 GiB
	for i := range buf {
		buf[i] = uint64(i)
	}
	for _, threads := range []int{1, 2} {
		b.Run(fmt.Sprintf("threads=%d", threads), func(b *testing.B) {
			var sink atomic.Uint64
			if threads == 1 {
				// On this goroutine's own thread, so its CPU time can be
				// reported too (see threadCPU).
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
				start, cpu0 := time.Now(), threadCPU()
				for i := 0; i < b.N; i++ {
					sink.Add(sumU64(buf))
				}
				sec, cpu := time.Since(start).Seconds(), (threadCPU() - cpu0).Seconds()
				b.ReportMetric(float64(len(buf)*8)*float64(b.N)/sec/1e9, "GB/s")
				if cpu > 0 {
					b.ReportMetric(float64(len(buf)*8)*float64(b.N)/cpu/1e9, "cpuGB/s")
				}
				return
			}
			start := time.Now()
			for i := 0; i < b.N; i++ {
				var wg sync.WaitGroup
				per := len(buf) / threads
				for t := 0; t < threads; t++ {
					wg.Add(1)
					go func(p []uint64) {
						defer wg.Done()
						runtime.LockOSThread()
						defer runtime.UnlockOSThread()
						sink.Add(sumU64(p))
					}(buf[t*per : (t+1)*per])
				}
				wg.Wait()
			}
			b.ReportMetric(float64(len(buf)*8)*float64(b.N)/time.Since(start).Seconds()/1e9, "GB/s")
		})
	}
}

// BenchmarkQuantizeActivations: the per-row cost paid before each product
// (or once for several products that share an input), for one 896- and
// one 4864-element row.
func BenchmarkQuantizeActivations(b *testing.B) {
	for _, typ := range []quant.Type{quant.Q8_0, quant.Q4_K} {
		for _, n := range []int{896, 4864} {
			if n%typ.BlockSize() != 0 {
				continue
			}
			b.Run(fmt.Sprintf("%s/%d", typ, n), func(b *testing.B) {
				k, _ := For(typ)
				x := randVec(rand.New(rand.NewPCG(9, 9)), n, 1)
				dst := make([]byte, k.ActivationBytes(n))
				b.SetBytes(int64(4 * n))
				for i := 0; i < b.N; i++ {
					k.QuantizeActivations(x, dst)
				}
			})
		}
	}
}
