//go:build cgo

// AVX2 + FMA + F16C kernels (Haswell, Zen and later). 16 vector registers:
// 2×4 tiles for the simple and float types (8 accumulators), 1×4 for the
// k-quants (4 float + 4 integer accumulators), 4 rows per decode tile.
#pragma GCC target("avx2,fma,f16c")
#define SFX _avx2
#define HAS_VNNI 0
#define TR_S 2
#define TT_S 4
#define TR_K 1
#define TT_K 4
#define TR_D 4
#include "kern_body.h"
