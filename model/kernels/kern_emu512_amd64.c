//go:build cgo && kernels_emu512

// Test build (go test -tags kernels_emu512): the avx512 path's tile sizes
// and driver compiled for AVX2, so CPUs without AVX-512 can check that
// part of it. vpdpbusd and the mask move are replaced by their AVX2
// equivalents (same results: no int16 saturation can occur, see act.go).
// Keep the sizes equal to kern_avx512_amd64.c.
// GCC and clang spell "compile this file for these features" differently;
// clang ignores the GCC pragma and then rejects every AVX intrinsic. The
// headers come first so that the attribute reaches only this code.
#include <immintrin.h>
#include <stdint.h>
#include <string.h>
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma,f16c"))), apply_to = function)
#else
#pragma GCC target("avx2,fma,f16c")
#endif
#define SFX _avx512
#define HAS_VNNI 0
#define TR_S 4
#define TT_S 4
#define TR_K 2
#define TT_K 4
#define TR_D 4
#define TT_H 8
#include "kern_body.h"

#if defined(__clang__)
#pragma clang attribute pop
#endif
