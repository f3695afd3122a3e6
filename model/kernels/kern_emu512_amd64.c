//go:build cgo && kernels_emu512

// Test build (go test -tags kernels_emu512): the avx512 path's tile sizes
// and driver compiled for AVX2, so CPUs without AVX-512 can check that
// part of it. vpdpbusd and the mask move are replaced by their AVX2
// equivalents (same results: no int16 saturation can occur, see act.go).
// Keep the sizes equal to kern_avx512_amd64.c.
#include "kern_target.h"
KERN_TARGET_BEGIN("avx2,fma,f16c")
#define SFX _avx512
#define HAS_512 0
#define HAS_VNNI 0
#define TR_S 4
#define TT_S 4
#define TR_K 2
#define TT_K 4
#define TR_D 4
#define TT_H 8
#include "kern_body.h"

KERN_TARGET_END
