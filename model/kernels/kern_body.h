// Matrix-product kernels, compiled once per instruction set: the including
// file sets the target pragma and these macros, then includes this body.
//
//   SFX        suffix of the exported function (_avx2, _avx512)
//   HAS_VNNI   1: AVX-512 BW/VL + VNNI available (vpdpbusd, mask moves)
//   TR_S TT_S  tile of simple (Q4_0…Q8_0) and float types: rows × tokens
//   TR_K TT_K  tile of the k-quants (which also keep integer accumulators)
//   TR_D       rows per tile when fewer tokens than a tile (decode)
//   HAS_512    1: 512-bit vectors (AVX-512 F/BW/VL + VNNI) for tile_z
//
// Tiles are written once as always-inline functions with the tile size as
// arguments; every call passes constants, so GCC unrolls the row and token
// loops and keeps the accumulators in vector registers. AVX2 has 16 vector
// registers and AVX-512VL 32, hence the different tile sizes.
//
// Layouts (see model/quant and act.go):
//   weights   ggml blocks, rows rb bytes apart
//   Q8 act    32-element blocks of 40 bytes: f32 d, i32 sum(q), int8 q[32]
//   Q8K act   256-element blocks of 292 bytes: f32 d, int8 q[256],
//             int16 sums of each 16 q
//   F32 act   plain float32
//
// Integer products take unsigned weight bytes × signed activation bytes
// (vpmaddubsw's and vpdpbusd's operand types): weights are unpacked to their
// unsigned codes (0..15, 0..31, 0..63) and the offsets (−8, −16, −32) and
// minima are applied once per block through the activation sums. Q8_0
// weights are signed: the sign moves onto the activation (vpsignb).

#include <immintrin.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define AI static inline __attribute__((always_inline))
#define CAT2(a, b) a##b
#define CAT(a, b) CAT2(a, b)
#define UNROLL _Pragma("GCC unroll 16")

enum {
	T_F32 = 0, T_F16 = 1, T_Q4_0 = 2, T_Q4_1 = 3, T_Q5_0 = 6, T_Q5_1 = 7, T_Q8_0 = 8,
	T_Q4_K = 12, T_Q5_K = 13, T_Q6_K = 14, T_BF16 = 30,
};

#define Q8B 40
#define Q8KB 292

AI float ldf(const uint8_t *p) { float f; memcpy(&f, p, 4); return f; }
AI int32_t ldi(const uint8_t *p) { int32_t v; memcpy(&v, p, 4); return v; }
AI uint32_t ldu(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
AI float h2f(const uint8_t *p) { uint16_t h; memcpy(&h, p, 2); return _cvtsh_ss(h); }
AI __m256i ld256(const uint8_t *p) { return _mm256_loadu_si256((const __m256i *)p); }
AI __m128i ld128(const uint8_t *p) { return _mm_loadu_si128((const __m128i *)p); }

AI float hsum8(__m256 v) {
	__m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
	s = _mm_add_ps(s, _mm_movehl_ps(s, s));
	s = _mm_add_ss(s, _mm_movehdup_ps(s));
	return _mm_cvtss_f32(s);
}

// acc + Σ of each 4 consecutive u[i]·s[i] (u unsigned, s signed bytes).
AI __m256i dot_us(__m256i acc, __m256i u, __m256i s) {
#if HAS_VNNI
	return _mm256_dpbusd_epi32(acc, u, s);
#else
	__m256i p = _mm256_maddubs_epi16(u, s); // pairs, ≤ 2·128·127: no saturation
	return _mm256_add_epi32(acc, _mm256_madd_epi16(p, _mm256_set1_epi16(1)));
#endif
}

// 32 nibbles of 16 bytes: low nibbles (elements 0..15) in the low half,
// high nibbles (16..31) in the high half.
AI __m256i nibbles(const uint8_t *qs) {
	__m128i q = ld128(qs);
	__m256i v = _mm256_set_m128i(_mm_srli_epi16(q, 4), q);
	return _mm256_and_si256(v, _mm256_set1_epi8(0x0f));
}

// Byte i = 0x10 if bit i of bits is set, else 0: the fifth bits of Q5.
AI __m256i bits_0x10(uint32_t bits) {
#if HAS_VNNI
	return _mm256_maskz_mov_epi8((__mmask32)bits, _mm256_set1_epi8(0x10));
#else
	__m256i v = _mm256_set1_epi32((int)bits);
	const __m256i shuf = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,
	                                      2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
	const __m256i bm = _mm256_set1_epi64x(0x8040201008040201LL);
	v = _mm256_cmpeq_epi8(_mm256_and_si256(_mm256_shuffle_epi8(v, shuf), bm), bm);
	return _mm256_and_si256(v, _mm256_set1_epi8(0x10));
#endif
}

// In decode each tile reads NR short rows (a few hundred bytes to a few KB),
// too short for the hardware prefetcher to ramp up on; so while a tile
// works on block bytes [off, off+n) of its rows, it prefetches the same
// bytes of the next NR rows, which the next tile reads. Measured on the
// 151936×896 output matrix (DRAM-resident), one thread: Q8_0 4.2–5.0 →
// 7.6–8.3 GB/s per CPU second, Q5_0 2.6–2.8 → 3.6–3.7. Tiles of up to 4
// tokens (a beam step, a keystroke's few new tokens) stream their rows the
// same way and prefetch too: on that matrix, 4 tokens, two threads, Q8_0
// 31–32 → 39–41 and Q5_0 37–40 → 45–50 GFLOP/s (BenchmarkMatMul4, quiet
// machine); a 4-token step of the default model fell from 2.09× to 1.88×
// a 1-token step. Wider prefill tiles work long enough on each row for
// the hardware prefetcher. (Prefetches never fault, so running past
// the last row is harmless.)
AI void prefetch_next(const int NR, const uint8_t *w, int64_t rb, int64_t off, const int n) {
	UNROLL for (int r = NR; r < 2 * NR; r++)
		UNROLL for (int o = 0; o < n; o += 64) _mm_prefetch((const char *)(w + r * rb + off + o), _MM_HINT_T0);
}

// ---- simple types: Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 ------------------------

AI int bbytes(const int T) {
	switch (T) {
	case T_Q4_0: return 18;
	case T_Q4_1: return 20;
	case T_Q5_0: return 22;
	case T_Q5_1: return 24;
	case T_Q8_0: return 34;
	case T_Q4_K: return 144;
	case T_Q5_K: return 176;
	case T_Q6_K: return 210;
	}
	return 0;
}

// Unpacks one block: the 32 codes (unsigned, or signed for Q8_0), the
// scale d and, for the _1 types, the minimum m.
AI __m256i unpack_s(const int T, const uint8_t *b, float *d, float *m) {
	*d = h2f(b);
	switch (T) {
	case T_Q4_0: return nibbles(b + 2);
	case T_Q4_1: *m = h2f(b + 2); return nibbles(b + 4);
	case T_Q5_0: return _mm256_or_si256(nibbles(b + 6), bits_0x10(ldu(b + 2)));
	case T_Q5_1: *m = h2f(b + 2); return _mm256_or_si256(nibbles(b + 8), bits_0x10(ldu(b + 4)));
	default: return ld256(b + 2); // Q8_0
	}
}

// Offset subtracted from the unsigned codes (value = d·(code − off)).
AI int offset_s(const int T) { return T == T_Q4_0 ? 8 : T == T_Q5_0 ? 16 : 0; }

AI void tile_s(const int T, const int NR, const int NT, const uint8_t *w, int64_t rb,
               const uint8_t *x, int64_t xb, int64_t nb, float *out, int64_t os) {
	const int BB = bbytes(T), OFF = offset_s(T);
	const int HASMIN = T == T_Q4_1 || T == T_Q5_1;
	__m256 acc[TR_S > TR_D ? TR_S : TR_D][TT_S];
	UNROLL for (int r = 0; r < NR; r++) UNROLL for (int t = 0; t < NT; t++) acc[r][t] = _mm256_setzero_ps();
	for (int64_t b = 0; b < nb; b++) {
		__m256i wu[TR_S > TR_D ? TR_S : TR_D], wa[TR_S > TR_D ? TR_S : TR_D];
		float dw[TR_S > TR_D ? TR_S : TR_D], mw[TR_S > TR_D ? TR_S : TR_D];
		if (NT <= 4) prefetch_next(NR, w, rb, b * BB, BB);
		UNROLL for (int r = 0; r < NR; r++) {
			wu[r] = unpack_s(T, w + r * rb + b * BB, &dw[r], &mw[r]);
			if (T == T_Q8_0) wa[r] = _mm256_abs_epi8(wu[r]);
		}
		UNROLL for (int t = 0; t < NT; t++) {
			const uint8_t *xa = x + t * xb + b * Q8B;
			const float dx = ldf(xa);
			const __m256i xv = ld256(xa + 8);
			__m256i init = _mm256_setzero_si256();
			if (OFF) init = _mm256_zextsi128_si256(_mm_cvtsi32_si128(-OFF * ldi(xa + 4)));
			__m256 sx = _mm256_setzero_ps();
			if (HASMIN) sx = _mm256_zextps128_ps256(_mm_set_ss(dx * (float)ldi(xa + 4)));
			const __m256 dxv = _mm256_set1_ps(dx);
			UNROLL for (int r = 0; r < NR; r++) {
				__m256i p;
				if (T == T_Q8_0) p = dot_us(init, wa[r], _mm256_sign_epi8(xv, wu[r]));
				else p = dot_us(init, wu[r], xv);
				acc[r][t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_mul_ps(_mm256_set1_ps(dw[r]), dxv), acc[r][t]);
				if (HASMIN) acc[r][t] = _mm256_fmadd_ps(_mm256_set1_ps(mw[r]), sx, acc[r][t]);
			}
		}
	}
	UNROLL for (int r = 0; r < NR; r++) UNROLL for (int t = 0; t < NT; t++) out[t * os + r] = hsum8(acc[r][t]);
}

// Prefill tile of the simple types: 4 rows × NT tokens with the rows'
// results side by side in one accumulator per token. tile_s keeps one
// 8-lane float accumulator per (row, token) and so pays a float
// conversion, a scale multiply and an FMA per (row, token, block), and on
// AVX2 spills its 8 accumulators next to the unpack constants. Here the four
// rows' integer products are first reduced horizontally into one vector
// [r0 r1 r2 r3 | r0 r1 r2 r3] (the halves: two halves of the block), so
// the float work per block is one conversion, one multiply and one FMA per
// token for all four rows, against a vector of the rows' scales.
//
// Integer reduction without VNNI: vpmaddubsw gives int16 sums of 2
// products; for the unsigned types (codes ≤ 31, |q| ≤ 127) three vphaddw
// steps sum 8 products per int16 (≤ 8·31·127 = 31496, no saturation) and one
// vpmaddwd widens to the 16-product int32 sums. Q8_0's pair sums reach
// 2·128·127 = 32512, so it widens first (vpmaddwd) and reduces in int32.
AI __m256i red4_epi32(__m256i q0, __m256i q1, __m256i q2, __m256i q3) {
	return _mm256_hadd_epi32(_mm256_hadd_epi32(q0, q1), _mm256_hadd_epi32(q2, q3));
}

AI __m256i dot4_rows(const int T, const __m256i *wu, const __m256i *wa, __m256i xv) {
	const __m256i ones = _mm256_set1_epi16(1);
	if (T == T_Q8_0) {
		__m256i q[4];
		UNROLL for (int r = 0; r < 4; r++) {
#if HAS_VNNI
			q[r] = _mm256_dpbusd_epi32(_mm256_setzero_si256(), wa[r], _mm256_sign_epi8(xv, wu[r]));
#else
			q[r] = _mm256_madd_epi16(_mm256_maddubs_epi16(wa[r], _mm256_sign_epi8(xv, wu[r])), ones);
#endif
		}
		return red4_epi32(q[0], q[1], q[2], q[3]);
	}
#if HAS_VNNI
	const __m256i z = _mm256_setzero_si256();
	return red4_epi32(_mm256_dpbusd_epi32(z, wu[0], xv), _mm256_dpbusd_epi32(z, wu[1], xv),
	                  _mm256_dpbusd_epi32(z, wu[2], xv), _mm256_dpbusd_epi32(z, wu[3], xv));
#else
	const __m256i a = _mm256_hadd_epi16(_mm256_maddubs_epi16(wu[0], xv), _mm256_maddubs_epi16(wu[1], xv));
	const __m256i c = _mm256_hadd_epi16(_mm256_maddubs_epi16(wu[2], xv), _mm256_maddubs_epi16(wu[3], xv));
	return _mm256_madd_epi16(_mm256_hadd_epi16(a, c), ones);
#endif
}

AI void tile_h(const int T, const int NT, const uint8_t *w, int64_t rb,
               const uint8_t *x, int64_t xb, int64_t nb, float *out, int64_t os) {
	const int BB = bbytes(T), OFF = offset_s(T);
	const int HASMIN = T == T_Q4_1 || T == T_Q5_1;
	__m256 acc[TT_H];
	UNROLL for (int t = 0; t < NT; t++) acc[t] = _mm256_setzero_ps();
	for (int64_t b = 0; b < nb; b++) {
		__m256i wu[4], wa[4];
		float dw[4], mw[4];
		if (NT <= 4) prefetch_next(4, w, rb, b * BB, BB);
		UNROLL for (int r = 0; r < 4; r++) {
			wu[r] = unpack_s(T, w + r * rb + b * BB, &dw[r], &mw[r]);
			if (T == T_Q8_0) wa[r] = _mm256_abs_epi8(wu[r]);
		}
		const __m128 d4 = _mm_setr_ps(dw[0], dw[1], dw[2], dw[3]);
		const __m256 dwv = _mm256_set_m128(d4, d4);
		__m256 mwv = _mm256_setzero_ps();
		if (HASMIN) mwv = _mm256_zextps128_ps256(_mm_setr_ps(mw[0], mw[1], mw[2], mw[3]));
		UNROLL for (int t = 0; t < NT; t++) {
			const uint8_t *xa = x + t * xb + b * Q8B;
			__m256i s = dot4_rows(T, wu, wa, ld256(xa + 8));
			if (OFF) s = _mm256_add_epi32(s, _mm256_zextsi128_si256(_mm_set1_epi32(-OFF * ldi(xa + 4))));
			const __m256 dxv = _mm256_set1_ps(ldf(xa));
			acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), _mm256_mul_ps(dwv, dxv), acc[t]);
			if (HASMIN) acc[t] = _mm256_fmadd_ps(mwv, _mm256_set1_ps(ldf(xa) * (float)ldi(xa + 4)), acc[t]);
		}
	}
	UNROLL for (int t = 0; t < NT; t++) {
		const __m128 v = _mm_add_ps(_mm256_castps256_ps128(acc[t]), _mm256_extractf128_ps(acc[t], 1));
		_mm_storeu_ps(out + t * os, v);
	}
}

// ---- k-quants: Q4_K, Q5_K (6-bit scales and mins), Q6_K ------------------

// i16 vector with element k of each 128-bit lane broadcast across it.
AI __m256i bcast16(__m256i v, const int k) {
	return _mm256_shuffle_epi8(v, _mm256_set1_epi16((short)((2 * k) | ((2 * k + 1) << 8))));
}

#define KMAXR (TR_K > TR_D ? TR_K : TR_D)

AI void tile_k45(const int T, const int NR, const int NT, const uint8_t *w, int64_t rb,
                 const uint8_t *x, int64_t xb, int64_t nb, float *out, int64_t os) {
	const int BB = bbytes(T);
	const int QS = T == T_Q4_K ? 16 : 48; // offset of the nibbles
	__m256 acc[KMAXR][TT_K];
	UNROLL for (int r = 0; r < NR; r++) UNROLL for (int t = 0; t < NT; t++) acc[r][t] = _mm256_setzero_ps();
	for (int64_t b = 0; b < nb; b++) {
		__m256i scv[KMAXR], mnv[KMAXR];
		float d[KMAXR], dm[KMAXR];
		if (NT <= 4) prefetch_next(NR, w, rb, b * BB, BB);
		UNROLL for (int r = 0; r < NR; r++) {
			const uint8_t *blk = w + r * rb + b * BB;
			d[r] = h2f(blk);
			dm[r] = h2f(blk + 2);
			// Six-bit scales and mins, four at a time (see quant.scaleMinK4).
			uint32_t u0 = ldu(blk + 4), u1 = ldu(blk + 8), u2 = ldu(blk + 12);
			uint32_t s03 = u0 & 0x3f3f3f3f, m03 = u1 & 0x3f3f3f3f;
			uint32_t s47 = (u2 & 0x0f0f0f0f) | ((u0 >> 6) & 0x03030303) << 4;
			uint32_t m47 = ((u2 >> 4) & 0x0f0f0f0f) | ((u1 >> 6) & 0x03030303) << 4;
			__m256i sm = _mm256_cvtepu8_epi16(_mm_set_epi32((int)m47, (int)m03, (int)s47, (int)s03));
			scv[r] = _mm256_permute2x128_si256(sm, sm, 0x00); // sc0..7 in both halves
			__m128i mm = _mm256_extracti128_si256(sm, 1);
			mnv[r] = _mm256_set_m128i(_mm_unpackhi_epi16(mm, mm), _mm_unpacklo_epi16(mm, mm)); // m per 16
		}
		__m256i ia[KMAXR][TT_K];
		UNROLL for (int r = 0; r < NR; r++) UNROLL for (int t = 0; t < NT; t++) ia[r][t] = _mm256_setzero_si256();
		UNROLL for (int j = 0; j < 8; j++) {
			UNROLL for (int r = 0; r < NR; r++) {
				const uint8_t *blk = w + r * rb + b * BB;
				__m256i q = ld256(blk + QS + 32 * (j / 2));
				if (j & 1) q = _mm256_srli_epi16(q, 4);
				q = _mm256_and_si256(q, _mm256_set1_epi8(0x0f));
				if (T == T_Q5_K) {
					__m256i h = ld256(blk + 16);
					if (j < 4) h = _mm256_slli_epi16(h, 4 - j);
					else if (j > 4) h = _mm256_srli_epi16(h, j - 4);
					q = _mm256_or_si256(q, _mm256_and_si256(h, _mm256_set1_epi8(0x10)));
				}
				const __m256i s16 = bcast16(scv[r], j);
				UNROLL for (int t = 0; t < NT; t++) {
					__m256i p = _mm256_maddubs_epi16(q, ld256(x + t * xb + b * Q8KB + 4 + 32 * j));
					ia[r][t] = _mm256_add_epi32(ia[r][t], _mm256_madd_epi16(p, s16));
				}
			}
		}
		UNROLL for (int t = 0; t < NT; t++) {
			const uint8_t *xa = x + t * xb + b * Q8KB;
			const __m256 dxv = _mm256_set1_ps(ldf(xa));
			const __m256i bs = ld256(xa + 260);
			UNROLL for (int r = 0; r < NR; r++) {
				acc[r][t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(ia[r][t]), _mm256_mul_ps(_mm256_set1_ps(d[r]), dxv), acc[r][t]);
				acc[r][t] = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(_mm256_madd_epi16(mnv[r], bs)),
				                             _mm256_mul_ps(_mm256_set1_ps(dm[r]), dxv), acc[r][t]);
			}
		}
	}
	UNROLL for (int r = 0; r < NR; r++) UNROLL for (int t = 0; t < NT; t++) out[t * os + r] = hsum8(acc[r][t]);
}

AI void tile_q6k(const int NR, const int NT, const uint8_t *w, int64_t rb,
                 const uint8_t *x, int64_t xb, int64_t nb, float *out, int64_t os) {
	__m256 acc[KMAXR][TT_K];
	UNROLL for (int r = 0; r < NR; r++) UNROLL for (int t = 0; t < NT; t++) acc[r][t] = _mm256_setzero_ps();
	const __m128i deint = _mm_setr_epi8(0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15);
	for (int64_t b = 0; b < nb; b++) {
		__m256i sce[KMAXR], ia[KMAXR][TT_K];
		float d[KMAXR];
		if (NT <= 4) prefetch_next(NR, w, rb, b * 210, 210);
		UNROLL for (int r = 0; r < NR; r++) {
			const uint8_t *blk = w + r * rb + b * 210;
			d[r] = h2f(blk + 208);
			const __m128i s8 = ld128(blk + 192);
			// Even scales in the low half, odd in the high half: chunk k of
			// 32 elements uses scales 2k (first 16) and 2k+1 (last 16).
			sce[r] = _mm256_cvtepi8_epi16(_mm_shuffle_epi8(s8, deint));
			// The −32 offset: start from −32·Σ scale·(sum of 16 q).
			const __m256i sc32 = _mm256_slli_epi16(_mm256_cvtepi8_epi16(s8), 5);
			UNROLL for (int t = 0; t < NT; t++)
				ia[r][t] = _mm256_sub_epi32(_mm256_setzero_si256(),
				                            _mm256_madd_epi16(sc32, ld256(x + t * xb + b * Q8KB + 260)));
		}
		UNROLL for (int k = 0; k < 8; k++) {
			const int n = k / 4, c = k % 4;
			UNROLL for (int r = 0; r < NR; r++) {
				const uint8_t *blk = w + r * rb + b * 210;
				__m256i lo = ld256(blk + 64 * n + 32 * (c & 1));
				if (c >= 2) lo = _mm256_srli_epi16(lo, 4);
				lo = _mm256_and_si256(lo, _mm256_set1_epi8(0x0f));
				__m256i hi = ld256(blk + 128 + 32 * n);
				if (c == 0) hi = _mm256_slli_epi16(hi, 4);
				else if (c == 1) hi = _mm256_slli_epi16(hi, 2);
				else if (c == 3) hi = _mm256_srli_epi16(hi, 2);
				const __m256i q = _mm256_or_si256(lo, _mm256_and_si256(hi, _mm256_set1_epi8(0x30)));
				const __m256i s16 = bcast16(sce[r], k);
				UNROLL for (int t = 0; t < NT; t++) {
					__m256i p = _mm256_maddubs_epi16(q, ld256(x + t * xb + b * Q8KB + 4 + 32 * k));
					ia[r][t] = _mm256_add_epi32(ia[r][t], _mm256_madd_epi16(p, s16));
				}
			}
		}
		UNROLL for (int t = 0; t < NT; t++) {
			const __m256 dxv = _mm256_set1_ps(ldf(x + t * xb + b * Q8KB));
			UNROLL for (int r = 0; r < NR; r++)
				acc[r][t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(ia[r][t]), _mm256_mul_ps(_mm256_set1_ps(d[r]), dxv), acc[r][t]);
		}
	}
	UNROLL for (int r = 0; r < NR; r++) UNROLL for (int t = 0; t < NT; t++) out[t * os + r] = hsum8(acc[r][t]);
}

// ---- float weights: F32, F16, BF16 ---------------------------------------

AI __m256 ldw8(const int T, const uint8_t *p) {
	switch (T) {
	case T_F32: return _mm256_loadu_ps((const float *)p);
	case T_F16: return _mm256_cvtph_ps(ld128(p));
	default: return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(ld128(p)), 16));
	}
}

AI float ldw1(const int T, const uint8_t *p) {
	switch (T) {
	case T_F32: return ldf(p);
	case T_F16: return h2f(p);
	default: {
		uint16_t h;
		memcpy(&h, p, 2);
		uint32_t u = (uint32_t)h << 16;
		float f;
		memcpy(&f, &u, 4);
		return f;
	}
	}
}

AI void tile_f(const int T, const int NR, const int NT, const uint8_t *w, int64_t rb,
               const uint8_t *x, int64_t xb, int64_t cols, float *out, int64_t os) {
	const int ES = T == T_F32 ? 4 : 2;
	__m256 acc[TR_S > TR_D ? TR_S : TR_D][TT_S];
	UNROLL for (int r = 0; r < NR; r++) UNROLL for (int t = 0; t < NT; t++) acc[r][t] = _mm256_setzero_ps();
	int64_t i = 0;
	for (; i + 8 <= cols; i += 8) {
		if (NT == 1 && (i * ES) % 64 == 0) prefetch_next(NR, w, rb, i * ES, 1);
		__m256 wv[TR_S > TR_D ? TR_S : TR_D];
		UNROLL for (int r = 0; r < NR; r++) wv[r] = ldw8(T, w + r * rb + i * ES);
		UNROLL for (int t = 0; t < NT; t++) {
			const __m256 xv = _mm256_loadu_ps((const float *)(x + t * xb) + i);
			UNROLL for (int r = 0; r < NR; r++) acc[r][t] = _mm256_fmadd_ps(wv[r], xv, acc[r][t]);
		}
	}
	UNROLL for (int r = 0; r < NR; r++) UNROLL for (int t = 0; t < NT; t++) {
		float s = hsum8(acc[r][t]);
		for (int64_t j = i; j < cols; j++) s += ldw1(T, w + r * rb + j * ES) * ldf(x + t * xb + 4 * j);
		out[t * os + r] = s;
	}
}

// ---- driver ----------------------------------------------------------------

// Walks the row range in tiles. With at least a tile of tokens, rows are the
// outer loop so a block of rows stays in L1 while every token passes over
// it; with fewer tokens (decode), TR_D rows are interleaved per tile.
#define DRIVE(TILE, TRM, TTM)                                                                  \
	do {                                                                                       \
		int64_t r = rs;                                                                        \
		if (ntok < (TTM)) {                                                                    \
			for (; r + TR_D <= re; r += TR_D)                                                  \
				for (int64_t t = 0; t < ntok; t++) TILE(TR_D, 1, r, t);                        \
			for (; r < re; r++)                                                                \
				for (int64_t t = 0; t < ntok; t++) TILE(1, 1, r, t);                           \
		} else {                                                                               \
			for (; r + (TRM) <= re; r += (TRM)) {                                              \
				int64_t t = 0;                                                                 \
				for (; t + (TTM) <= ntok; t += (TTM)) TILE(TRM, TTM, r, t);                    \
				for (; t < ntok; t++) TILE(TRM, 1, r, t);                                      \
			}                                                                                  \
			for (; r < re; r++) {                                                              \
				int64_t t = 0;                                                                 \
				for (; t + (TTM) <= ntok; t += (TTM)) TILE(1, TTM, r, t);                      \
				for (; t < ntok; t++) TILE(1, 1, r, t);                                        \
			}                                                                                  \
		}                                                                                      \
	} while (0)

#define ARGS(r, t) w + (r) * rb, rb, x + (t) * xb, xb
#define OUT(r, t) out + (t) * os + (r), os

#if HAS_512
// ---- 512-bit tiles of Q4_0, Q5_0 and Q8_0 (AVX-512 machines) -------------
//
// A beam step or a keystroke's few new tokens (2–7 rows of activations)
// is bound by arithmetic on 2 cores, not by memory: tile_h reduces 4 rows'
// 256-bit products with vphaddd (3 µops each) and pays a float
// conversion, multiply and FMA per block and token. tile_z covers two
// blocks per 512-bit vector and keeps one accumulator per (row, token),
// so each (row, token, block pair) costs one vpdpbusd, one conversion, one
// multiply (the two scales) and one FMA, with no horizontal step until the
// row ends; a 4×4 tile holds 16 accumulators, 4 weight vectors and their
// scales in the 32 registers. What does not depend on the row (each
// token's activation vector, scales and offset start) is made once per
// call (zprep), not once per tile: built per tile, it cost as much as the
// products, and tile_z was no faster than tile_h. Measured on the default
// model (2-core Xeon, 4 tokens over 256 cached, two threads, ZMIN=2
// against a build with -DZMIN=99, alternating): the FFN gate/up products
// 15.8–20.2 against 22.7–24.9 ms per step, the output matrix (Q8_0)
// 9.7–12.5 against 14.9–17.8; one 4-token step 43–56 against 59–66 ms.
// One token (decode, memory-bound) keeps tile_h/tile_s: no difference
// there beyond the noise; nor in prefill (8 tokens and more, tile_h).
//
// Lane orders: the nibble types unpack without a shuffle into the "split"
// order [b 0..15 | b+1 0..15 | b 16..31 | b+1 16..31] (128-bit lanes), so
// the activations are shuffled into it instead, once per token rather than
// once per row; Q8_0 keeps the natural order [b 0..31 | b+1 0..31]. Its
// signed weights become unsigned codes w+128 (one xor per row, where the
// 256-bit tiles move the sign onto every token's activations), and the
// 128 comes off through the activation sums as the other offsets do.
// Float sums run in a different order from tile_h's, so results differ
// from the 256-bit path by rounding (the tests' bound holds for both).

#define ZSPLIT(T) ((T) != T_Q8_0)

// The lane pattern of two per-block values: [s0 ×4, s1 ×4, s0 ×4, s1 ×4]
// (split) or [s0 ×8, s1 ×8] from the vector [s0, s1, …].
AI __m512 zspread(const int split, __m128 s01) {
	const __m512i idx = split ? _mm512_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1)
	                          : _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
	return _mm512_permutexvar_ps(idx, _mm512_castps128_ps512(s01));
}

AI __m512i zjoin(__m256i lo, __m256i hi) { return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1); }

// Codes of blocks b (at p) and b+1 (two == 0: none; its half is zero, and
// nothing past block b is read), and their two scales spread over the
// lanes.
AI __m512i zunpack(const int T, const uint8_t *p, const int BB, const int two, __m512 *d) {
	uint16_t h0, h1 = 0;
	memcpy(&h0, p, 2);
	if (two) memcpy(&h1, p + BB, 2);
	*d = zspread(ZSPLIT(T), _mm_cvtph_ps(_mm_cvtsi32_si128((int)(h0 | (uint32_t)h1 << 16))));
	if (T == T_Q8_0) {
		const __m256i m = _mm256_set1_epi8((char)0x80);
		return zjoin(_mm256_xor_si256(ld256(p + 2), m), two ? _mm256_xor_si256(ld256(p + BB + 2), m) : _mm256_setzero_si256());
	}
	const int QS = T == T_Q5_0 ? 6 : 2;
	const __m256i q = _mm256_set_m128i(two ? ld128(p + BB + QS) : _mm_setzero_si128(), ld128(p + QS));
	__m512i v = _mm512_and_si512(zjoin(q, _mm256_srli_epi16(q, 4)), _mm512_set1_epi8(0x0f));
	if (T == T_Q5_0) {
		const uint32_t q0 = ldu(p + 2), q1 = two ? ldu(p + BB + 2) : 0;
		const uint64_t m = (uint64_t)((q0 & 0xffffu) | (q1 << 16)) | (uint64_t)((q0 >> 16) | (q1 & 0xffff0000u)) << 32;
		v = _mm512_or_si512(v, _mm512_maskz_mov_epi8((__mmask64)m, _mm512_set1_epi8(0x10)));
	}
	return v;
}

AI int zoffset(const int T) { return T == T_Q8_0 ? 128 : offset_s(T); }

// One token's operands for a block pair, made once per call (drive_z) and
// read by every tile: the activation bytes in the weights' lane order, the
// two scales spread over the lanes, and the products' start value (the
// weights' offset times the block sums: lanes 0 and 4 or 8).
typedef struct {
	__m512i x, init;
	__m512 d;
} zact;

AI void zprep(const int T, const uint8_t *xa, const int two, zact *z) {
	const int OFF = zoffset(T), SPLIT = ZSPLIT(T);
	__m512i xz = zjoin(ld256(xa + 8), two ? ld256(xa + Q8B + 8) : _mm256_setzero_si256());
	if (SPLIT) xz = _mm512_shuffle_i64x2(xz, xz, _MM_SHUFFLE(3, 1, 2, 0));
	z->x = xz;
	z->d = zspread(SPLIT, _mm_setr_ps(ldf(xa), two ? ldf(xa + Q8B) : 0.0f, 0.0f, 0.0f));
	z->init = _mm512_mask_set1_epi32(_mm512_maskz_set1_epi32(1, -OFF * ldi(xa + 4)),
	                                 SPLIT ? 0x10 : 0x100, two ? -OFF * ldi(xa + Q8B + 4) : 0);
}

AI void zpair(const int T, const int NR, const int NT, const uint8_t *w, int64_t rb,
              const zact *z, int64_t b, const int two, __m512 acc[4][4]) {
	const int BB = bbytes(T);
	__m512i wz[4];
	__m512 dw[4];
	if (NT <= 4) prefetch_next(NR, w, rb, b * BB, 2 * BB);
	UNROLL for (int r = 0; r < NR; r++) wz[r] = zunpack(T, w + r * rb + b * BB, BB, two, &dw[r]);
	UNROLL for (int t = 0; t < NT; t++) {
		const __m512i xz = z[t].x, init = z[t].init;
		const __m512 dx = z[t].d;
		UNROLL for (int r = 0; r < NR; r++) {
			const __m512i pr = _mm512_dpbusd_epi32(init, wz[r], xz);
			acc[r][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(pr), _mm512_mul_ps(dw[r], dx), acc[r][t]);
		}
	}
}

// z holds ntok operands per block pair (zprep); t is the tile's first token.
AI void tile_z(const int T, const int NR, const int NT, const uint8_t *w, int64_t rb,
               const zact *z, int64_t ntok, int64_t t, int64_t nb, float *out, int64_t os) {
	__m512 acc[4][4];
	UNROLL for (int r = 0; r < NR; r++) UNROLL for (int u = 0; u < NT; u++) acc[r][u] = _mm512_setzero_ps();
	int64_t b = 0;
	for (; b + 2 <= nb; b += 2) zpair(T, NR, NT, w, rb, z + (b / 2) * ntok + t, b, 1, acc);
	if (b < nb) zpair(T, NR, NT, w, rb, z + (b / 2) * ntok + t, b, 0, acc);
	UNROLL for (int r = 0; r < NR; r++) UNROLL for (int u = 0; u < NT; u++) out[u * os + r] = _mm512_reduce_add_ps(acc[r][u]);
}

// Driver of tile_z: the tokens' operands first (a few KB to ~100 KB, read
// from L1/L2 by every tile), then 4-row tiles over 4, 2 and 1 tokens at a
// time, so each weight block is unpacked once per tile for every token.
// Returns 0 (nothing done) if the scratch cannot be had.
AI int drive_z(const int T, const uint8_t *w, int64_t rb, int64_t nb, int64_t rs, int64_t re,
               const uint8_t *x, int64_t xb, int64_t ntok, float *out, int64_t os) {
	const int64_t np = (nb + 1) / 2;
	zact *z = aligned_alloc(64, (size_t)(np * ntok) * sizeof(zact));
	if (!z) return 0;
	for (int64_t j = 0; j < np; j++)
		for (int64_t t = 0; t < ntok; t++) zprep(T, x + t * xb + 2 * j * Q8B, 2 * j + 1 < nb, &z[j * ntok + t]);
	int64_t r = rs;
	for (; r + 4 <= re; r += 4) {
		int64_t t = 0;
		for (; t + 4 <= ntok; t += 4) tile_z(T, 4, 4, w + r * rb, rb, z, ntok, t, nb, OUT(r, t));
		if (t + 2 <= ntok) { tile_z(T, 4, 2, w + r * rb, rb, z, ntok, t, nb, OUT(r, t)); t += 2; }
		if (t < ntok) tile_z(T, 4, 1, w + r * rb, rb, z, ntok, t, nb, OUT(r, t));
	}
	for (; r < re; r++)
		for (int64_t t = 0; t < ntok; t++) tile_z(T, 1, 1, w + r * rb, rb, z, ntok, t, nb, OUT(r, t));
	free(z);
	return 1;
}

// The token counts drive_z takes: from ZMIN up to the prefill tile (TT_H).
// CGO_CFLAGS=-DZMIN=99 turns tile_z off, for A/B measurements.
#ifndef ZMIN
#define ZMIN 2
#endif
#define USE_Z(T, ntok) (((T) == T_Q4_0 || (T) == T_Q5_0 || (T) == T_Q8_0) && (ntok) >= ZMIN && (ntok) < TT_H)
#else
#define USE_Z(T, ntok) 0
#define drive_z(...) 0
#endif

// Activation bytes of one token block in prefill: a block of tokens stays
// in L2 (512 KB per core on the Zen machines measured, 1–2 MB on Intel)
// while every 4-row tile of the range passes over it, so activations
// come from L2 and each weight row is read once per token block. 128 KB
// leaves room for the weight rows and the other thread's share of L3.
#define TOKBLK_BYTES (128 * 1024)
// Decode (one token) also goes through tile_h for the types with a costly
// unpack (Q4/Q5): its horizontal reduction leaves fewer float operations
// per row. Measured on 4864×896 and 896×4864, one thread: Q5_0
// 4.1–4.6 → 4.4–5.1 GB/s per CPU second; Q8_0 (unpack is one load) loses
// there (10–10.9 → 8.9–10.3), so it keeps tile_s.
#define DECODE_H(T) ((T) != T_Q8_0)

// Prefill driver of the simple types: token blocks outermost, then 4-row
// tiles (tile_h) over TT_H tokens at a time; leftover rows go through
// tile_s one row at a time.
AI void drive_h(const int T, const uint8_t *w, int64_t rb, int64_t nb, int64_t rs, int64_t re,
                const uint8_t *x, int64_t xb, int64_t ntok, float *out, int64_t os) {
	int64_t tb = TOKBLK_BYTES / xb / TT_H * TT_H;
	if (tb < TT_H) tb = TT_H;
	for (int64_t t0 = 0; t0 < ntok; t0 += tb) {
		const int64_t t1 = t0 + tb < ntok ? t0 + tb : ntok;
		int64_t r = rs;
		for (; r + 4 <= re; r += 4) {
			int64_t t = t0;
			for (; t + TT_H <= t1; t += TT_H) tile_h(T, TT_H, ARGS(r, t), nb, OUT(r, t));
			// The rest (and the few tokens of a beam-search step: one per
			// beam) in narrower tiles, so the costly unpack of a block is
			// still shared by every token instead of redone per token.
			if (TT_H > 4 && t + 4 <= t1) { tile_h(T, 4, ARGS(r, t), nb, OUT(r, t)); t += 4; }
			if (t + 2 <= t1) { tile_h(T, 2, ARGS(r, t), nb, OUT(r, t)); t += 2; }
			if (t < t1) tile_h(T, 1, ARGS(r, t), nb, OUT(r, t));
		}
		for (; r < re; r++)
			for (int64_t t = t0; t < t1; t++) tile_s(T, 1, 1, ARGS(r, t), nb, OUT(r, t));
	}
}

#define TS(TY) static void CAT(mm_s##TY, SFX)(const uint8_t *w, int64_t rb, int64_t cols, int64_t rs, int64_t re, \
	const uint8_t *x, int64_t xb, int64_t ntok, float *out, int64_t os) { \
	const int64_t nb = cols / 32; \
	if (USE_Z(T_##TY, ntok) && drive_z(T_##TY, w, rb, nb, rs, re, x, xb, ntok, out, os)) return; \
	if (ntok >= TT_H || DECODE_H(T_##TY)) drive_h(T_##TY, w, rb, nb, rs, re, x, xb, ntok, out, os); \
	else DRIVE(TILE_S_##TY, TR_S, TT_S); \
}

#define TILE_S_Q4_0(NR, NT, r, t) tile_s(T_Q4_0, NR, NT, ARGS(r, t), nb, OUT(r, t))
#define TILE_S_Q4_1(NR, NT, r, t) tile_s(T_Q4_1, NR, NT, ARGS(r, t), nb, OUT(r, t))
#define TILE_S_Q5_0(NR, NT, r, t) tile_s(T_Q5_0, NR, NT, ARGS(r, t), nb, OUT(r, t))
#define TILE_S_Q5_1(NR, NT, r, t) tile_s(T_Q5_1, NR, NT, ARGS(r, t), nb, OUT(r, t))
#define TILE_S_Q8_0(NR, NT, r, t) tile_s(T_Q8_0, NR, NT, ARGS(r, t), nb, OUT(r, t))
TS(Q4_0)
TS(Q4_1)
TS(Q5_0)
TS(Q5_1)
TS(Q8_0)

#define TK(TY, TILE) static void CAT(mm_k##TY, SFX)(const uint8_t *w, int64_t rb, int64_t cols, int64_t rs, int64_t re, \
	const uint8_t *x, int64_t xb, int64_t ntok, float *out, int64_t os) { \
	const int64_t nb = cols / 256; \
	DRIVE(TILE, TR_K, TT_K); \
}
#define TILE_Q4_K(NR, NT, r, t) tile_k45(T_Q4_K, NR, NT, ARGS(r, t), nb, OUT(r, t))
#define TILE_Q5_K(NR, NT, r, t) tile_k45(T_Q5_K, NR, NT, ARGS(r, t), nb, OUT(r, t))
#define TILE_Q6_K(NR, NT, r, t) tile_q6k(NR, NT, ARGS(r, t), nb, OUT(r, t))
TK(Q4_K, TILE_Q4_K)
TK(Q5_K, TILE_Q5_K)
TK(Q6_K, TILE_Q6_K)

#define TF(TY) static void CAT(mm_f##TY, SFX)(const uint8_t *w, int64_t rb, int64_t cols, int64_t rs, int64_t re, \
	const uint8_t *x, int64_t xb, int64_t ntok, float *out, int64_t os) { \
	DRIVE(TILE_F_##TY, TR_S, TT_S); \
}
#define TILE_F_F32(NR, NT, r, t) tile_f(T_F32, NR, NT, ARGS(r, t), cols, OUT(r, t))
#define TILE_F_F16(NR, NT, r, t) tile_f(T_F16, NR, NT, ARGS(r, t), cols, OUT(r, t))
#define TILE_F_BF16(NR, NT, r, t) tile_f(T_BF16, NR, NT, ARGS(r, t), cols, OUT(r, t))
TF(F32)
TF(F16)
TF(BF16)

int CAT(gl_matmul, SFX)(int type, const uint8_t *w, int64_t rb, int64_t cols, int64_t rs, int64_t re,
                        const uint8_t *x, int64_t xb, int64_t ntok, float *out, int64_t os) {
#define CASE(T, F) case T: CAT(F, SFX)(w, rb, cols, rs, re, x, xb, ntok, out, os); return 1;
	switch (type) {
	CASE(T_F32, mm_fF32)
	CASE(T_F16, mm_fF16)
	CASE(T_BF16, mm_fBF16)
	CASE(T_Q4_0, mm_sQ4_0)
	CASE(T_Q4_1, mm_sQ4_1)
	CASE(T_Q5_0, mm_sQ5_0)
	CASE(T_Q5_1, mm_sQ5_1)
	CASE(T_Q8_0, mm_sQ8_0)
	CASE(T_Q4_K, mm_kQ4_K)
	CASE(T_Q5_K, mm_kQ5_K)
	CASE(T_Q6_K, mm_kQ6_K)
	}
	return 0;
#undef CASE
}

// ---- activation quantization ----------------------------------------------

// The same arithmetic as act.go, so every path sees identical bytes:
// d = max|x|/127, id = 1/d (0 when d is zero or subnormal), q = x·id rounded to
// nearest even (vcvtps2dq under the default MXCSR rounding). A block whose
// id is 0 (all zeros, subnormal, or holding an Inf or NaN, whose d then
// says so) stores zeros.

// Quantizes 32 floats with inverse scale id: stores 32 int8 at o, returns
// the four int32 vectors through q.
AI void q8_32(const float *x, __m256 idv, uint8_t *o, __m256i q[4]) {
	UNROLL for (int i = 0; i < 4; i++) q[i] = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + 8 * i), idv));
	__m256i p = _mm256_packs_epi16(_mm256_packs_epi32(q[0], q[1]), _mm256_packs_epi32(q[2], q[3]));
	p = _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
	_mm256_storeu_si256((__m256i *)o, p);
}

// absmax is max|x| taken on the bit patterns without the sign, as act.go
// does: the same order as the magnitudes, except that a NaN (above +Inf as
// an integer) wins, so the block's scale is NaN and so is every product
// with it. A float max would drop the NaN (vmaxps returns its second
// operand) and turn a broken activation into a finite, wrong logit.
AI float absmax(const float *x, int n) {
	const __m256i mag = _mm256_set1_epi32(0x7fffffff);
	__m256i m = _mm256_setzero_si256();
	for (int i = 0; i < n; i += 8) m = _mm256_max_epu32(m, _mm256_and_si256(mag, _mm256_loadu_si256((const __m256i *)(x + i))));
	__m128i h = _mm_max_epu32(_mm256_castsi256_si128(m), _mm256_extracti128_si256(m, 1));
	h = _mm_max_epu32(h, _mm_shuffle_epi32(h, 0x4e));
	h = _mm_max_epu32(h, _mm_shuffle_epi32(h, 0xb1));
	const uint32_t u = (uint32_t)_mm_cvtsi128_si32(h);
	float f;
	memcpy(&f, &u, 4);
	return f;
}

AI int32_t hsum_i32(__m256i v) {
	__m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
	s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
	s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
	return _mm_cvtsi128_si32(s);
}

void CAT(gl_quantize_q8, SFX)(const float *x, int64_t n, uint8_t *dst) {
	for (int64_t b = 0; b < n / 32; b++) {
		const float *xx = x + 32 * b;
		uint8_t *o = dst + Q8B * b;
		const float d = absmax(xx, 32) / 127.0f;
		const float id = d >= 0x1p-126f ? 1.0f / d : 0.0f; // as act.go: no 1/subnormal
		memcpy(o, &d, 4);
		if (id == 0.0f) {
			memset(o + 4, 0, Q8B - 4);
			continue;
		}
		__m256i q[4];
		q8_32(xx, _mm256_set1_ps(id), o + 8, q);
		const int32_t s = hsum_i32(_mm256_add_epi32(_mm256_add_epi32(q[0], q[1]), _mm256_add_epi32(q[2], q[3])));
		memcpy(o + 4, &s, 4);
	}
}

void CAT(gl_quantize_q8k, SFX)(const float *x, int64_t n, uint8_t *dst) {
	for (int64_t b = 0; b < n / 256; b++) {
		const float *xx = x + 256 * b;
		uint8_t *o = dst + Q8KB * b;
		const float d = absmax(xx, 256) / 127.0f;
		const float id = d >= 0x1p-126f ? 1.0f / d : 0.0f; // as act.go: no 1/subnormal
		memcpy(o, &d, 4);
		if (id == 0.0f) {
			memset(o + 4, 0, Q8KB - 4);
			continue;
		}
		const __m256 idv = _mm256_set1_ps(id);
		for (int c = 0; c < 8; c++) {
			__m256i q[4];
			q8_32(xx + 32 * c, idv, o + 4 + 32 * c, q);
			const int16_t s0 = (int16_t)hsum_i32(_mm256_add_epi32(q[0], q[1]));
			const int16_t s1 = (int16_t)hsum_i32(_mm256_add_epi32(q[2], q[3]));
			memcpy(o + 260 + 4 * c, &s0, 2);
			memcpy(o + 262 + 4 * c, &s1, 2);
		}
	}
}
