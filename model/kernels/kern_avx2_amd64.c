//go:build cgo

// AVX2 + FMA + F16C kernels (Haswell, Zen and later). 16 vector registers:
// 4 rows × 8 tokens for the simple types in prefill (tile_h: 8
// accumulators, one per token, rows reduced horizontally; 4 → 8 tokens
// took Q5_0 from 27 to 30–33 GFLOP per CPU-second), 2×4 tiles for the float
// types, 1×4 for the k-quants (4 float + 4 integer accumulators), 4 rows
// per decode tile.
#include "kern_target.h"
KERN_TARGET_BEGIN("avx2,fma,f16c")
#define SFX _avx2
#define HAS_512 0
#define HAS_VNNI 0
#define TR_S 2
#define TT_S 4
#define TR_K 1
#define TT_K 4
#define TR_D 4
#define TT_H 8
#include "kern_body.h"

// gl_sum_u64_avx2 adds n 64-bit words with four vector accumulators: a
// memory-read bandwidth probe for the benchmarks (the loop is far below
// the core's add throughput, so its speed is the memory's).
uint64_t gl_sum_u64_avx2(const uint64_t *p, int64_t n) {
	__m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
	int64_t i = 0;
	for (; i + 16 <= n; i += 16) {
		a0 = _mm256_add_epi64(a0, _mm256_loadu_si256((const __m256i *)(p + i)));
		a1 = _mm256_add_epi64(a1, _mm256_loadu_si256((const __m256i *)(p + i + 4)));
		a2 = _mm256_add_epi64(a2, _mm256_loadu_si256((const __m256i *)(p + i + 8)));
		a3 = _mm256_add_epi64(a3, _mm256_loadu_si256((const __m256i *)(p + i + 12)));
	}
	a0 = _mm256_add_epi64(_mm256_add_epi64(a0, a1), _mm256_add_epi64(a2, a3));
	uint64_t l[4];
	_mm256_storeu_si256((__m256i *)l, a0);
	uint64_t s = l[0] + l[1] + l[2] + l[3];
	for (; i < n; i++) s += p[i];
	return s;
}

KERN_TARGET_END
