//go:build cgo && !kernels_emu512

// AVX-512 F/BW/VL + VNNI kernels (Ice Lake, Sapphire Rapids, Zen 4 and
// later). Mostly 256-bit vectors, but 32 of them (AVX-512VL), vpdpbusd for
// the simple types and mask moves for the fifth bits of Q5: 4×4 tiles for
// the simple and float types, 2×4 for the k-quants, 4 rows × 8 tokens for
// the simple types' prefill (tile_h; the size measured best on AVX2).
// Q4_0, Q5_0 and Q8_0 products of 2–7 tokens (a beam step, a keystroke)
// take 512-bit vectors (tile_z in kern_body.h). No AMX (see doc.go).
#include "kern_target.h"
KERN_TARGET_BEGIN("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")
#define SFX _avx512
#define HAS_512 1
#define HAS_VNNI 1
#define TR_S 4
#define TT_S 4
#define TR_K 2
#define TT_K 4
#define TR_D 4
#define TT_H 8
#include "kern_body.h"

KERN_TARGET_END
