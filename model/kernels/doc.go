// Package kernels holds the fast matrix-product kernels of the CPU backend:
// out = W·x for a weight matrix W stored in one of model/quant's formats and
// a batch of activation rows x (one per token).
//
// # How
//
// Decode of a small model reads every weight once per token, so it is bound
// by memory bandwidth; prefill is bound by arithmetic. Both are served the
// way llama.cpp serves them:
//
//   - The activation row is quantized once per matrix product to 8-bit
//     blocks (QuantizeActivations): 32-element blocks with a float32 scale
//     and the integer sum of the block for Q4_0, Q4_1, Q5_0, Q5_1 and Q8_0
//     weights (ggml's Q8_1 with float32 fields), 256-element Q8_K blocks
//     (float32 scale, 256 int8, 16 int16 sums of 16) for Q4_K, Q5_K and
//     Q6_K. F32, F16 and BF16 weights keep float32 activations.
//   - The dot products are then integer products of unsigned weight bytes
//     with signed activation bytes (vpmaddubsw+vpmaddwd on AVX2, vpdpbusd on
//     AVX-512 VNNI); the weights' offsets (−8, −16, −32) and minima are
//     applied once per block through the stored activation sums.
//   - MatMul computes a tile of several rows × several tokens at a time, so
//     in prefill each weight block is unpacked once per tile and read from
//     memory once per row block, not once per token. The prefill tile of
//     the 32-element types (tile_h in kern_body.h) takes 4 rows × 8 tokens
//     and adds the 4 rows' integer products into one vector before the
//     float conversion, so the float work per block is one conversion and
//     one FMA per token for 4 rows; tokens are blocked so their
//     activations stay in L2.
//   - Attention (one head, one query) and SwiGLU have AVX2 kernels too
//     (ops.go): in plain Go they were a quarter of a 512-token prefill.
//
// # Why C through cgo
//
// Go does not vectorise loops, and the measured gap is large (AMD EPYC,
// AVX2, one thread, per CPU second): in decode model/quant's plain Go dot
// product reads 0.3–1.2 GB/s of weights where the AVX2 kernel reads
// 3.7–9.7 GB/s (7× for Q8_0, 12–25× for Q5_0, Q4_K, Q6_K); in 64-token
// prefill Go reaches 0.9–2.1 GFLOP/s against 19–27 (10–27×). See
// kernels_bench_test.go. The kernels are C compiled by cgo (GCC or clang),
// with per-file target pragmas, so one binary runs on every x86-64 CPU and
// picks the best path at run time from CPUID (golang.org/x/sys/cpu). One cgo
// call (~25 ns) is made per MatMul call, never per row: the caller gives a
// whole row range.
//
// # Paths
//
//   - "avx512vnni": AVX-512 F/BW/VL + VNNI (and AVX2, FMA, F16C). Uses
//     256-bit vectors with the 32 vector registers (bigger tiles),
//     vpdpbusd for the 32-element types and mask moves to expand the fifth
//     bits of Q5 blocks. (The k-quants keep vpmaddubsw+vpmaddwd there: the
//     second instruction applies the sub-block scale for free.) Products
//     of 2–7 tokens of Q4_0, Q5_0 and Q8_0 (a beam step, a keystroke's new
//     tokens) use 512-bit vectors, two blocks per vector (tile_z): on a
//     2-core Xeon a 4-token step of the default model got ~25% faster,
//     which brought beam 4 under 1.6× greedy per token.
//   - "avx2": AVX2 + FMA + F16C.
//   - "generic": plain Go over the same activation formats (other CPUs,
//     GOARCH≠amd64, CGO_ENABLED=0): the tests' reference. On such CPUs the
//     CPU backend runs its portable path instead (cpu.New).
//
// The environment variable GHOSTLINE_KERNELS (generic, avx2, avx512) caps
// the path, for tests and benchmarks; a path the CPU lacks is never chosen.
//
// AMX is not used: the Sapphire Rapids-class machines this project runs on
// report AMX in CPUID but fault (SIGILL) on tileloadd. Using it would need a
// probe that first executes an AMX instruction in a child process.
// llama.cpp reaches ~80% of the bandwidth bound there without AMX.
//
// # Use from the CPU backend
//
//	k, ok := kernels.For(t)          // once per weight; !ok: keep the Go path
//	xb := k.ActivationBytes(cols)     // scratch of nTok·xb bytes, allocated once
//	for tok := range nTok {           // once per input row; products whose
//		k.QuantizeActivations(        // kernels have equal ActivationFormat
//			x[tok*cols:(tok+1)*cols], // (Q, K, V; gate, up) share it
//			xq[tok*xb:(tok+1)*xb])
//	}
//	// each worker i of n, its own rows, the same xq:
//	k.MatMul(w, rows, cols, lo_i, hi_i, xq, nTok, out, outStride)
//
// Threading is the caller's: MatMul is reentrant and computes only its row
// range. The performance guide's advice for two cores: two persistent
// workers locked to OS threads (the caller being one), rows split in
// halves rounded to 16, started by bumping a counter and joined on a spin
// barrier that yields after a bounded spin (waking goroutines per product
// costs more than a small product). Spinning only pays when each worker
// has a core: on an oversubscribed machine the barrier waits for a
// descheduled peer, so keep GOMAXPROCS and the worker count at the number
// of cores. kernels_bench_test.go has that scheme (workers,
// splitRows) with a test; TestWorkersCoverRows checks it.
//
// # Tests of the avx512 path on other CPUs
//
// go test -tags kernels_emu512 builds the avx512 path's tile sizes and
// driver for AVX2 and runs every test on them; only the two AVX-512
// instructions (vpdpbusd, the mask move) are then replaced by their AVX2
// equivalents. tile_z needs 512-bit vectors and is not in that build: it
// is tested where the CPU has AVX-512 (every test then runs it for 2–7
// tokens).
//
// # Accuracy
//
// Quantizing activations to 8 bits adds an error of at most half a
// quantization step per element: for a block with scale d = max|x|/127,
// |x − d·q| ≤ d/2. The dot product then differs from the float32 reference
// (quant.DotFunc) by at most Σ|w_i|·d_block(i)/2, plus float rounding; the
// tests check that bound, and check that the kernel equals the reference
// applied to the dequantized activations up to float rounding.
package kernels
