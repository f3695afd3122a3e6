//go:build kernels_emu512

package kernels

// emu512: the avx512 path runs its tiles on AVX2 (kern_emu512_amd64.c).
const emu512 = true
