// Declarations of the C matrix-product kernels (see native_amd64.go).
#ifndef GHOSTLINE_KERN_H
#define GHOSTLINE_KERN_H
#include <stdint.h>

// gl_matmul_<isa> computes out[t*os + r] = dot(row r of w, activation row t)
// for r in [row_start,row_end), t in [0,ntok). type is the ggml type number;
// rb the bytes of one weight row, xb of one activation row. Returns 0 when
// the type has no kernel here (the caller then uses the Go path).
int gl_matmul_avx2(int type, const uint8_t *w, int64_t rb, int64_t cols, int64_t row_start, int64_t row_end,
                   const uint8_t *x, int64_t xb, int64_t ntok, float *out, int64_t os);
int gl_matmul_avx512(int type, const uint8_t *w, int64_t rb, int64_t cols, int64_t row_start, int64_t row_end,
                     const uint8_t *x, int64_t xb, int64_t ntok, float *out, int64_t os);
// Activation quantization (see act.go for the formats); n is a multiple of
// 32 (q8) or 256 (q8k).
void gl_quantize_q8_avx2(const float *x, int64_t n, uint8_t *dst);
void gl_quantize_q8k_avx2(const float *x, int64_t n, uint8_t *dst);
uint64_t gl_sum_u64_avx2(const uint64_t *p, int64_t n);
// Non-matrix ops (kern_ops_amd64.c, see ops.go).
void gl_exp_avx2(const float *x, int64_t n, float *out);
void gl_swiglu_avx2(float *gate, const float *up, int64_t n);
void gl_max_sum_exp_avx2(const float *x, int64_t n, float *max, float *sum);
void gl_attend_avx2(int half, const float *q, int64_t hd, const void *k, const void *v, int64_t stride,
                    const int32_t *cells, int64_t n, float scale, float *sc, float *out);
#endif
