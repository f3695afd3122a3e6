//go:build cgo

// Vector kernels of the non-matrix ops of the forward pass (attention,
// SwiGLU), AVX2 + FMA + F16C. They only need 256-bit float arithmetic, so
// one build serves the avx2 and avx512vnni paths. See ops.go.
#include "kern_target.h"
#include "kern.h"
KERN_TARGET_BEGIN("avx2,fma,f16c")

#define AI static inline __attribute__((always_inline))

AI float hsum8f(__m256 v) {
	__m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
	s = _mm_add_ps(s, _mm_movehl_ps(s, s));
	s = _mm_add_ss(s, _mm_movehdup_ps(s));
	return _mm_cvtss_f32(s);
}

AI float hmax8f(__m256 v) {
	__m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
	m = _mm_max_ps(m, _mm_movehl_ps(m, m));
	m = _mm_max_ss(m, _mm_movehdup_ps(m));
	return _mm_cvtss_f32(m);
}

// exp(x) for 8 floats: x = n·ln2 + r with |r| ≤ ln2/2 (ln2 split in two
// parts so r is exact to float precision), e^r by its degree-6 Taylor
// polynomial (remainder < 2e-8 relative: below float32 rounding), 2^n put
// into the exponent bits. x is clamped to [−87.3, 88.3] so 2^n stays a
// normal float: e^x then saturates at ~1e-38 and ~3e38 rather than
// reaching 0 or ∞, far outside what softmax and SiLU can tell apart; a NaN
// stays NaN.
// Measured against math.Exp in TestExp: relative error ≤ 2.2e-7.
AI __m256 exp8(__m256 x) {
	// vmaxps/vminps return their second operand when either is NaN: x goes
	// second so that a NaN stays NaN (attention over a NaN key is NaN, as
	// the portable path's, not a silently dropped key).
	x = _mm256_min_ps(_mm256_set1_ps(88.3f), _mm256_max_ps(_mm256_set1_ps(-87.3f), x));
	const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
	                                 _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
	__m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
	r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
	__m256 p = _mm256_set1_ps(1.0f / 720);
	p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120));
	p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24));
	p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6));
	p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
	p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
	p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
	const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
	return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

void gl_exp_avx2(const float *x, int64_t n, float *out) {
	int64_t i = 0;
	for (; i + 8 <= n; i += 8) _mm256_storeu_ps(out + i, exp8(_mm256_loadu_ps(x + i)));
	if (i < n) {
		float t[8] = {0};
		memcpy(t, x + i, 4 * (n - i));
		_mm256_storeu_ps(t, exp8(_mm256_loadu_ps(t)));
		memcpy(out + i, t, 4 * (n - i));
	}
}

// *max = max x[i] and *sum = Σ e^(x[i] − max), for a log-sum-exp over a
// vocabulary of logits (n ≥ 1). When the maximum is −∞ (every logit
// masked), *sum is left 0. Four accumulators per pass keep the adds and
// the exp polynomial's FMA chains independent.
void gl_max_sum_exp_avx2(const float *x, int64_t n, float *max, float *sum) {
	int64_t i = 0;
	__m256 m0 = _mm256_set1_ps(-__builtin_inff()), m1 = m0, m2 = m0, m3 = m0;
	for (; i + 32 <= n; i += 32) {
		m0 = _mm256_max_ps(m0, _mm256_loadu_ps(x + i));
		m1 = _mm256_max_ps(m1, _mm256_loadu_ps(x + i + 8));
		m2 = _mm256_max_ps(m2, _mm256_loadu_ps(x + i + 16));
		m3 = _mm256_max_ps(m3, _mm256_loadu_ps(x + i + 24));
	}
	float mx = hmax8f(_mm256_max_ps(_mm256_max_ps(m0, m1), _mm256_max_ps(m2, m3)));
	for (; i < n; i++) mx = x[i] > mx ? x[i] : mx;
	*max = mx;
	*sum = 0;
	if (mx == -__builtin_inff()) return;
	const __m256 mv = _mm256_set1_ps(mx);
	__m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
	i = 0;
	for (; i + 32 <= n; i += 32) {
		s0 = _mm256_add_ps(s0, exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i), mv)));
		s1 = _mm256_add_ps(s1, exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i + 8), mv)));
		s2 = _mm256_add_ps(s2, exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i + 16), mv)));
		s3 = _mm256_add_ps(s3, exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i + 24), mv)));
	}
	for (; i + 8 <= n; i += 8) s0 = _mm256_add_ps(s0, exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i), mv)));
	float s = hsum8f(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
	if (i < n) {
		float t[8];
		for (int k = 0; k < 8; k++) t[k] = i + k < n ? x[i + k] - mx : -1e4f; // e^−1e4 clamps to ~1e-38
		s += hsum8f(exp8(_mm256_loadu_ps(t)));
	}
	*sum = s;
}

// gate[i] = silu(gate[i])·up[i] = gate[i]/(1+e^−gate[i])·up[i].
void gl_swiglu_avx2(float *gate, const float *up, int64_t n) {
	int64_t i = 0;
	const __m256 one = _mm256_set1_ps(1.0f);
	for (; i + 8 <= n; i += 8) {
		const __m256 g = _mm256_loadu_ps(gate + i);
		const __m256 e = exp8(_mm256_sub_ps(_mm256_setzero_ps(), g));
		_mm256_storeu_ps(gate + i, _mm256_mul_ps(_mm256_div_ps(g, _mm256_add_ps(one, e)), _mm256_loadu_ps(up + i)));
	}
	if (i < n) {
		float g[8] = {0}, u[8] = {0};
		memcpy(g, gate + i, 4 * (n - i));
		memcpy(u, up + i, 4 * (n - i));
		const __m256 gv = _mm256_loadu_ps(g);
		const __m256 e = exp8(_mm256_sub_ps(_mm256_setzero_ps(), gv));
		_mm256_storeu_ps(g, _mm256_mul_ps(_mm256_div_ps(gv, _mm256_add_ps(one, e)), _mm256_loadu_ps(u)));
		memcpy(gate + i, g, 4 * (n - i));
	}
}

// 8 elements of a key or value row, float32 or f16.
AI __m256 ld8(const int HALF, const void *base, int64_t i) {
	if (HALF) return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)((const uint16_t *)base + i)));
	return _mm256_loadu_ps((const float *)base + i);
}

// One head of attention for one query (see ops.go). HD is the head
// dimension when it is 64 (then the output row lives in 8 registers
// across all keys), or 0 for any multiple of 8 (hd).
AI void attend(const int HALF, const int HD, const float *q, int64_t hd, const void *k, const void *v,
               int64_t stride, const int32_t *cells, int64_t n, float scale, float *sc, float *out) {
	if (HD) hd = HD;
	// Scores and their maximum.
	float mx = -__builtin_inff();
	for (int64_t j = 0; j < n; j++) {
		const int64_t off = (int64_t)cells[j] * stride;
		__m256 a0 = _mm256_setzero_ps(), a1 = a0;
		int64_t d = 0;
		for (; d + 16 <= hd; d += 16) {
			a0 = _mm256_fmadd_ps(_mm256_loadu_ps(q + d), ld8(HALF, k, off + d), a0);
			a1 = _mm256_fmadd_ps(_mm256_loadu_ps(q + d + 8), ld8(HALF, k, off + d + 8), a1);
		}
		if (d < hd) a0 = _mm256_fmadd_ps(_mm256_loadu_ps(q + d), ld8(HALF, k, off + d), a0);
		const float s = hsum8f(_mm256_add_ps(a0, a1)) * scale;
		sc[j] = s;
		mx = s > mx ? s : mx;
	}
	// Softmax weights (unnormalised) and their sum.
	const __m256 mv = _mm256_set1_ps(mx);
	__m256 sv = _mm256_setzero_ps();
	int64_t j = 0;
	for (; j + 8 <= n; j += 8) {
		const __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(sc + j), mv));
		_mm256_storeu_ps(sc + j, e);
		sv = _mm256_add_ps(sv, e);
	}
	if (j < n) {
		float t[8];
		for (int i = 0; i < 8; i++) t[i] = j + i < n ? sc[j + i] : mx - 1e4f; // e^−1e4 clamps to ~1e-38
		const __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(t), mv));
		_mm256_storeu_ps(t, e);
		for (int i = 0; j + i < n; i++) {
			sc[j + i] = t[i];
			sv = _mm256_add_ps(sv, _mm256_setr_ps(t[i], 0, 0, 0, 0, 0, 0, 0));
		}
	}
	const __m256 inv = _mm256_set1_ps(1.0f / hsum8f(sv));
	// Weighted sum of the values, 64 dimensions at a time.
	for (int64_t d0 = 0; d0 < hd; d0 += 64) {
		const int64_t nd = hd - d0 < 64 ? hd - d0 : 64;
		__m256 o[8];
		for (int i = 0; i < 8; i++) o[i] = _mm256_setzero_ps();
		for (int64_t jj = 0; jj < n; jj++) {
			const int64_t off = (int64_t)cells[jj] * stride + d0;
			const __m256 p = _mm256_set1_ps(sc[jj]);
			if (HD == 64) {
				for (int i = 0; i < 8; i++) o[i] = _mm256_fmadd_ps(p, ld8(HALF, v, off + 8 * i), o[i]);
			} else {
				for (int i = 0; i < nd / 8; i++) o[i] = _mm256_fmadd_ps(p, ld8(HALF, v, off + 8 * i), o[i]);
			}
		}
		for (int i = 0; i < nd / 8; i++) _mm256_storeu_ps(out + d0 + 8 * i, _mm256_mul_ps(o[i], inv));
	}
}

void gl_attend_avx2(int half, const float *q, int64_t hd, const void *k, const void *v, int64_t stride,
                    const int32_t *cells, int64_t n, float scale, float *sc, float *out) {
	if (half) {
		if (hd == 64) attend(1, 64, q, hd, k, v, stride, cells, n, scale, sc, out);
		else attend(1, 0, q, hd, k, v, stride, cells, n, scale, sc, out);
	} else {
		if (hd == 64) attend(0, 64, q, hd, k, v, stride, cells, n, scale, sc, out);
		else attend(0, 0, q, hd, k, v, stride, cells, n, scale, sc, out);
	}
}

KERN_TARGET_END
