// SPDX-License-Identifier: MIT
/* Decoding dot products of the super-block types (Q2_K, Q3_K, Q4_K, Q5_K,
 * Q6_K, IQ4_XS) and IQ4_NL with 8-bit activations.
 *
 * The activations come as temper_cpu_avx2_quantize_q8 () makes them: int8
 * values with one scale dx per 32 elements and s = dx·Σq.  A K-quant
 * super-block of 256 covers eight such blocks, and every sub-block scale
 * (per 32 for Q4_K/Q5_K/IQ4_XS, per 16 for Q2_K/Q3_K/Q6_K) falls inside
 * one of them, so each 32-block is an integer dot product times one float,
 * with the weights' 4/5/6-bit codes never widened beyond bytes.
 *
 * This file is compiled twice: with AVX2 alone, and with AVX-512 VNNI
 * (TEMPER_KQ_VNNI), where one vpdpbusd replaces the multiply-add pair and
 * Q2_K, Q3_K, Q6_K and IQ4_XS have kernels of their own that take 64
 * elements a step.  The build gives each copy its own function names
 * (TEMPER_KQ_NAME).  The AVX2 copy also takes Q4_K, Q5_K, IQ4_NL and
 * IQ4_XS four rows at a time (one token's matvec on processors without
 * AVX-512): x's blocks are loaded once for the four, the four reductions
 * share their shuffles, and four independent chains of multiply-adds keep
 * the arithmetic units busy where one row's chain left them waiting.
 * Q6_K stays one row at a time: its rows carry more bytes per element, and
 * with most of a model streaming from memory four rows at once measured
 * slower than one (the fetches of four rows meet where one row's are
 * spread out). */
#include "config.h"

#include <immintrin.h>
#include <string.h>

#include "temper/tensor.h"
#include "temper-cpu-kquant.h"
#include "temper-cpu-simd.h"

static inline float
hsum (__m256 v)
{
  __m128 lo = _mm_add_ps (_mm256_castps256_ps128 (v), _mm256_extractf128_ps (v, 1));

  lo = _mm_add_ps (lo, _mm_movehl_ps (lo, lo));
  lo = _mm_add_ss (lo, _mm_movehdup_ps (lo));
  return _mm_cvtss_f32 (lo);
}

/* Σ u·s over each group of four bytes (u unsigned, s signed) as 8 int32. */
static ALWAYS_INLINE __m256i
dot_u8_s8 (__m256i u, __m256i s)
{
#ifdef TEMPER_KQ_VNNI
  return _mm256_dpbusd_epi32 (_mm256_setzero_si256 (), u, s);
#else
  return _mm256_madd_epi16 (_mm256_maddubs_epi16 (u, s), _mm256_set1_epi16 (1));
#endif
}

#ifndef TEMPER_KQ_VNNI
/* (AVX2 only: the VNNI build's Q2_K and Q3_K kernels work 64 elements a
 * step.) */
/* Σ sc·(u − offset)·x over 32 bytes whose first 16 share scale sc0 and last
 * 16 sc1, as 8 int32.  u ≤ 63 and |x| ≤ 127 keep every pair sum inside
 * int16, so the multiply-add never saturates. */
static ALWAYS_INLINE __m256i
dot_scaled16 (__m256i u, __m256i x, __m256i offset_x, int sc0, int sc1)
{
  __m256i pairs = _mm256_sub_epi16 (_mm256_maddubs_epi16 (u, x), offset_x);
  __m256i scales = _mm256_set_m128i (_mm_set1_epi16 ((short) sc1), _mm_set1_epi16 ((short) sc0));

  return _mm256_madd_epi16 (pairs, scales);
}
#endif

/* The eight 6-bit scales and mins of a Q4_K/Q5_K super-block (12 bytes at
 * @s) as floats. */
static ALWAYS_INLINE void
k_scales_mins (const uint8_t *s, __m256 *scales, __m256 *mins)
{
  uint32_t a, b, c, sc03, sc47, mn03, mn47;

  memcpy (&a, s, 4);
  memcpy (&b, s + 4, 4);
  memcpy (&c, s + 8, 4);
  sc03 = a & 0x3f3f3f3fu;
  mn03 = b & 0x3f3f3f3fu;
  sc47 = (c & 0x0f0f0f0fu) | ((a >> 2) & 0x30303030u);
  mn47 = ((c >> 4) & 0x0f0f0f0fu) | ((b >> 2) & 0x30303030u);
  *scales = _mm256_cvtepi32_ps (_mm256_cvtepu8_epi32 (_mm_setr_epi32 ((int) sc03, (int) sc47, 0, 0)));
  *mins = _mm256_cvtepi32_ps (_mm256_cvtepu8_epi32 (_mm_setr_epi32 ((int) mn03, (int) mn47, 0, 0)));
}

static ALWAYS_INLINE __m256
lane (__m256 v, int j)
{
  return _mm256_permutevar8x32_ps (v, _mm256_set1_epi32 (j));
}

/* Q4_K (144 bytes): fp16 d, dmin, 12 bytes of scales/mins, 128 bytes of
 * nibbles; sub-block 2g is the low nibbles of qs[32g..], 2g+1 the high.
 * Q5_K (176 bytes, @five): as Q4_K with 32 bytes of high bits after the
 * scales; bit j of qh[l] is bit 4 of element l of sub-block j.  One
 * super-block at @p against x's 256 elements at @q: its sum is added to
 * *@acc, its minimum term to *@acc_min (the row's result is
 * hsum (acc) − hsum (acc_min)). */
static ALWAYS_INLINE void
k_superblock (const uint8_t *p, gboolean five, const int8_t *q, const float *dx, const float *sx,
              __m256 *acc, __m256 *acc_min)
{
  const __m256i low = _mm256_set1_epi8 (0x0f), one = _mm256_set1_epi8 (1);
  const uint8_t *qs_at = p + (five ? 48 : 16);
  __m256i high = five ? _mm256_loadu_si256 ((const __m256i *) (p + 16)) : _mm256_setzero_si256 ();
  __m256 scales, mins, sdx, part = _mm256_setzero_ps ();

  k_scales_mins (p + 4, &scales, &mins);
  sdx = _mm256_mul_ps (scales, _mm256_loadu_ps (dx));
  *acc_min = _mm256_fmadd_ps (_mm256_mul_ps (mins, _mm256_loadu_ps (sx)),
                              _mm256_set1_ps (load_f16 (p + 2)), *acc_min);
  for (int g = 0; g < 4; g++)
    {
      __m256i qs = _mm256_loadu_si256 ((const __m256i *) (qs_at + 32 * g));
      __m256i u0 = _mm256_and_si256 (qs, low);
      __m256i u1 = _mm256_and_si256 (_mm256_srli_epi16 (qs, 4), low);
      __m256i x0 = _mm256_loadu_si256 ((const __m256i *) (q + 64 * g));
      __m256i x1 = _mm256_loadu_si256 ((const __m256i *) (q + 64 * g + 32));

      if (five)
        {
          u0 = _mm256_or_si256 (u0, _mm256_slli_epi16 (_mm256_and_si256 (high, one), 4));
          u1 = _mm256_or_si256 (u1, _mm256_slli_epi16 (_mm256_and_si256 (_mm256_srli_epi16 (high, 1), one), 4));
          high = _mm256_srli_epi16 (high, 2);
        }
      part = _mm256_fmadd_ps (_mm256_cvtepi32_ps (dot_u8_s8 (u0, x0)), lane (sdx, 2 * g), part);
      part = _mm256_fmadd_ps (_mm256_cvtepi32_ps (dot_u8_s8 (u1, x1)), lane (sdx, 2 * g + 1), part);
    }
  *acc = _mm256_fmadd_ps (_mm256_set1_ps (load_f16 (p)), part, *acc);
}

static ALWAYS_INLINE float
dot_k (const uint8_t *p, gboolean five, const int8_t *q, const float *dx, const float *sx, int64_t n)
{
  __m256 acc = _mm256_setzero_ps (), acc_min = _mm256_setzero_ps ();

  for (int64_t sb = 0; sb < n / 256; sb++, p += five ? 176 : 144, q += 256, dx += 8, sx += 8)
    k_superblock (p, five, q, dx, sx, &acc, &acc_min);
  return hsum (acc) - hsum (acc_min);
}

static float
dot_q4_k (const uint8_t *p, const int8_t *q, const float *dx, const float *sx, int64_t n)
{
  return dot_k (p, FALSE, q, dx, sx, n);
}

static float
dot_q5_k (const uint8_t *p, const int8_t *q, const float *dx, const float *sx, int64_t n)
{
  return dot_k (p, TRUE, q, dx, sx, n);
}

#ifndef TEMPER_KQ_VNNI
/* Four Q4_K or Q5_K rows @stride bytes apart, each super-block as the
 * one-row kernel takes it (so each row's result is the same float). */
static ALWAYS_INLINE void
dot_4rows_k (const uint8_t *p, size_t stride, gboolean five, const int8_t *q, const float *dx,
             const float *sx, int64_t n, float out[4])
{
  __m256 acc[4] = { _mm256_setzero_ps (), _mm256_setzero_ps (), _mm256_setzero_ps (), _mm256_setzero_ps () };
  __m256 acc_min[4] = { _mm256_setzero_ps (), _mm256_setzero_ps (), _mm256_setzero_ps (), _mm256_setzero_ps () };

  for (int64_t sb = 0; sb < n / 256; sb++, p += five ? 176 : 144, q += 256, dx += 8, sx += 8)
    {
#pragma GCC unroll 4
      for (int r = 0; r < 4; r++)
        k_superblock (p + r * stride, five, q, dx, sx, &acc[r], &acc_min[r]);
    }
  _mm_storeu_ps (out, _mm_sub_ps (hsum4_ps (acc[0], acc[1], acc[2], acc[3]),
                                  hsum4_ps (acc_min[0], acc_min[1], acc_min[2], acc_min[3])));
}
#endif

/* Q6_K (210 bytes): 128 bytes of low nibbles, 64 of 2-bit highs, 16 int8
 * scales (one per 16 elements), fp16 d; value d·sc·(u − 32), u 6 bits.
 * Each half of 128 takes its nibbles from ql[64h..] (low nibbles first) and
 * its high bits from qh[32h..] two bits per quarter. */
#ifdef TEMPER_KQ_VNNI
/* With AVX-512, 64 elements per step: the 64 bytes of ql of a half give
 * quarters 0–1 (low nibbles) and 2–3 (high nibbles), each with its two
 * high bits from the same 32 bytes of qh shifted per 256-bit half.  The 16
 * int32 sums of a step are four sub-blocks of 16, so one vector of the
 * sixteen factors d·sc·dx, permuted, scales them all.  The offset 32 comes
 * off the integer sums (32·Σq per group of four). */
static float
dot_q6_k (const uint8_t *p, const int8_t *q, const float *dx, int64_t n)
{
  const __m512i low = _mm512_set1_epi8 (0x0f), bits45 = _mm512_set1_epi8 (0x30);
  const __m512i offset = _mm512_set1_epi8 (32);
  /* Quarters 0–1 take qh's bits 0–1 and 2–3 (shifted left 4 and 2),
   * quarters 2–3 bits 4–5 and 6–7 (shifted right 0 and 2). */
  const __m512i shift01 = _mm512_inserti64x4 (_mm512_set1_epi16 (4), _mm256_set1_epi16 (2), 1);
  const __m512i shift23 = _mm512_inserti64x4 (_mm512_setzero_si512 (), _mm256_set1_epi16 (2), 1);
  /* Lane l of a step's sums belongs to sub-block 4·step + l / 4. */
  const __m512i pick = _mm512_setr_epi32 (0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3);
  const __m512i pick_dx = _mm512_setr_epi32 (0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7);
  __m512 acc0 = _mm512_setzero_ps (), acc1 = _mm512_setzero_ps ();

  for (int64_t sb = 0; sb < n / 256; sb++, p += 210, q += 256, dx += 8)
    {
      __m512 sc = _mm512_cvtepi32_ps (_mm512_cvtepi8_epi32 (_mm_loadu_si128 ((const __m128i *) (p + 192))));
      __m512 per_dx = _mm512_permutexvar_ps (pick_dx, _mm512_castps256_ps512 (_mm256_loadu_ps (dx)));
      __m512 factors = _mm512_mul_ps (_mm512_mul_ps (sc, per_dx), _mm512_set1_ps (load_f16 (p + 208)));

      for (int h = 0; h < 2; h++)
        {
          __m512i l = _mm512_loadu_si512 ((const void *) (p + 64 * h));
          __m512i hb = _mm512_broadcast_i64x4 (_mm256_loadu_si256 ((const __m256i *) (p + 128 + 32 * h)));
          __m512i u01 = _mm512_or_si512 (_mm512_and_si512 (l, low),
                                         _mm512_and_si512 (_mm512_sllv_epi16 (hb, shift01), bits45));
          __m512i u23 = _mm512_or_si512 (_mm512_and_si512 (_mm512_srli_epi16 (l, 4), low),
                                         _mm512_and_si512 (_mm512_srlv_epi16 (hb, shift23), bits45));
          __m512i x01 = _mm512_loadu_si512 ((const void *) (q + 128 * h));
          __m512i x23 = _mm512_loadu_si512 ((const void *) (q + 128 * h + 64));
          __m512i d01 = _mm512_sub_epi32 (_mm512_dpbusd_epi32 (_mm512_setzero_si512 (), u01, x01),
                                          _mm512_dpbusd_epi32 (_mm512_setzero_si512 (), offset, x01));
          __m512i d23 = _mm512_sub_epi32 (_mm512_dpbusd_epi32 (_mm512_setzero_si512 (), u23, x23),
                                          _mm512_dpbusd_epi32 (_mm512_setzero_si512 (), offset, x23));
          __m512 f01 = _mm512_permutexvar_ps (_mm512_add_epi32 (pick, _mm512_set1_epi32 (8 * h)), factors);
          __m512 f23 = _mm512_permutexvar_ps (_mm512_add_epi32 (pick, _mm512_set1_epi32 (8 * h + 4)), factors);

          acc0 = _mm512_fmadd_ps (_mm512_cvtepi32_ps (d01), f01, acc0);
          acc1 = _mm512_fmadd_ps (_mm512_cvtepi32_ps (d23), f23, acc1);
        }
    }
  return _mm512_reduce_add_ps (_mm512_add_ps (acc0, acc1));
}
#else
/* The 6-bit codes of 32-block 4h + k of a Q6_K super-block at @p: the low
 * nibbles of ql[64h + 32(k mod 2)..] for k < 2, their high nibbles for
 * k ≥ 2, with bits 2k..2k+1 of qh[32h..] on top.  (@h and @k are
 * constants wherever this is inlined.) */
static ALWAYS_INLINE __m256i
q6_k_codes (const uint8_t *p, int h, int k)
{
  __m256i l = _mm256_loadu_si256 ((const __m256i *) (p + 64 * h + 32 * (k % 2)));
  __m256i hb = _mm256_loadu_si256 ((const __m256i *) (p + 128 + 32 * h));

  if (k >= 2)
    l = _mm256_srli_epi16 (l, 4);
  if (k == 0)
    hb = _mm256_slli_epi16 (hb, 4);
  else if (k == 1)
    hb = _mm256_slli_epi16 (hb, 2);
  else if (k == 3)
    hb = _mm256_srli_epi16 (hb, 2);
  return _mm256_or_si256 (_mm256_and_si256 (l, _mm256_set1_epi8 (0x0f)),
                          _mm256_and_si256 (hb, _mm256_set1_epi8 (0x30)));
}

/* Byte shuffles that spread, out of the eight int16 scales of a half (in
 * both 128-bit lanes), scale 2k over the low lane and 2k + 1 over the high:
 * the two sub-blocks of 16 of the half's 32-block k.  A table, as building
 * them per block cost more than the block's arithmetic. */
static const uint8_t q6_k_pick[4][32] __attribute__ ((aligned (32))) = {
#define PICK(k) { 4 * k, 4 * k + 1, 4 * k, 4 * k + 1, 4 * k, 4 * k + 1, 4 * k, 4 * k + 1, \
                  4 * k, 4 * k + 1, 4 * k, 4 * k + 1, 4 * k, 4 * k + 1, 4 * k, 4 * k + 1, \
                  4 * k + 2, 4 * k + 3, 4 * k + 2, 4 * k + 3, 4 * k + 2, 4 * k + 3, 4 * k + 2, 4 * k + 3, \
                  4 * k + 2, 4 * k + 3, 4 * k + 2, 4 * k + 3, 4 * k + 2, 4 * k + 3, 4 * k + 2, 4 * k + 3 }
  PICK (0), PICK (1), PICK (2), PICK (3),
#undef PICK
};

/* The int8 scales of half @h of the Q6_K super-block at @p as int16, in
 * both lanes. */
static ALWAYS_INLINE __m256i
q6_k_half_scales (const uint8_t *p, int h)
{
  return _mm256_broadcastsi128_si256 (_mm_cvtepi8_epi16 (_mm_loadl_epi64 ((const __m128i *) (p + 192 + 8 * h))));
}

/* Σ sc·(u − 32)·x over 32-block 4h + k as 8 int32, with @off = Σ 32·x per
 * pair (the offset, taken off before the scales as u·x and 32·x each fit
 * int16). */
static ALWAYS_INLINE __m256i
q6_k_block (const uint8_t *p, __m256i scales, __m256i x, __m256i off, int h, int k)
{
  __m256i pairs = _mm256_sub_epi16 (_mm256_maddubs_epi16 (q6_k_codes (p, h, k), x), off);

  return _mm256_madd_epi16 (pairs, _mm256_shuffle_epi8 (scales, _mm256_load_si256 ((const __m256i *) q6_k_pick[k])));
}

static float
dot_q6_k (const uint8_t *p, const int8_t *q, const float *dx, int64_t n)
{
  const __m256i offset = _mm256_set1_epi8 (32);
  __m256 acc = _mm256_setzero_ps ();

  for (int64_t sb = 0; sb < n / 256; sb++, p += 210, q += 256, dx += 8)
    {
      __m256 part = _mm256_setzero_ps ();

#pragma GCC unroll 2
      for (int h = 0; h < 2; h++)
        {
          __m256i scales = q6_k_half_scales (p, h);

#pragma GCC unroll 4
          for (int k = 0; k < 4; k++)
            {
              __m256i x = _mm256_loadu_si256 ((const __m256i *) (q + 32 * (4 * h + k)));
              __m256i ix = q6_k_block (p, scales, x, _mm256_maddubs_epi16 (offset, x), h, k);

              part = _mm256_fmadd_ps (_mm256_cvtepi32_ps (ix), _mm256_broadcast_ss (dx + 4 * h + k), part);
            }
        }
      acc = _mm256_fmadd_ps (_mm256_set1_ps (load_f16 (p + 208)), part, acc);
    }
  return hsum (acc);
}
#endif

#ifndef TEMPER_KQ_VNNI
/* The 2-bit codes of 32-block b (0..7) of a Q2_K/Q3_K super-block: bits
 * 2(b mod 4) of qs[32(b div 4) + l]. */
static ALWAYS_INLINE __m256i
two_bit_codes (const uint8_t *qs, int b)
{
  __m256i v = _mm256_loadu_si256 ((const __m256i *) (qs + 32 * (b / 4)));

  return _mm256_and_si256 (_mm256_srli_epi16 (v, 2 * (b % 4)), _mm256_set1_epi8 (3));
}
#endif

/* Q2_K (84 bytes): 16 bytes of 4-bit scale (low) and min (high) per 16
 * elements, 64 bytes of 2-bit codes, fp16 d and dmin:
 * value d·sc·u − dmin·mn. */
#ifdef TEMPER_KQ_VNNI
/* With AVX-512, two 32-blocks a step as Q3_K: the codes of both from one
 * 32-byte load shifted per 256-bit half; the minimum term from Σq per group
 * of four (one more vpdpbusd) times the permuted factors −dmin·mn·dx. */
static float
dot_q2_k (const uint8_t *p, const int8_t *q, const float *dx, int64_t n)
{
  const __m512i three = _mm512_set1_epi8 (3), ones = _mm512_set1_epi8 (1);
  const __m512i pick = _mm512_setr_epi32 (0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3);
  const __m512i pick_dx = _mm512_setr_epi32 (0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7);
  __m512 acc = _mm512_setzero_ps (), acc_min = _mm512_setzero_ps ();

  for (int64_t sb = 0; sb < n / 256; sb++, p += 84, q += 256, dx += 8)
    {
      __m512i bytes = _mm512_cvtepu8_epi32 (_mm_loadu_si128 ((const __m128i *) p));
      __m512 per_dx = _mm512_permutexvar_ps (pick_dx, _mm512_castps256_ps512 (_mm256_loadu_ps (dx)));
      __m512 f_sc = _mm512_mul_ps (_mm512_mul_ps (_mm512_cvtepi32_ps (_mm512_and_si512 (bytes, _mm512_set1_epi32 (15))),
                                                  per_dx), _mm512_set1_ps (load_f16 (p + 80)));
      __m512 f_mn = _mm512_mul_ps (_mm512_mul_ps (_mm512_cvtepi32_ps (_mm512_srli_epi32 (bytes, 4)), per_dx),
                                   _mm512_set1_ps (-load_f16 (p + 82)));

      for (int step = 0; step < 4; step++)
        {
          int b = 2 * step;
          __m512i codes = _mm512_broadcast_i64x4 (_mm256_loadu_si256 ((const __m256i *) (p + 16 + 32 * (b / 4))));
          __m512i shift = _mm512_inserti64x4 (_mm512_set1_epi16 ((short) (2 * (b % 4))),
                                              _mm256_set1_epi16 ((short) (2 * (b % 4) + 2)), 1);
          __m512i u = _mm512_and_si512 (_mm512_srlv_epi16 (codes, shift), three);
          __m512i x = _mm512_loadu_si512 ((const void *) (q + 32 * b));
          __m512i at = _mm512_add_epi32 (pick, _mm512_set1_epi32 (2 * b));

          acc = _mm512_fmadd_ps (_mm512_cvtepi32_ps (_mm512_dpbusd_epi32 (_mm512_setzero_si512 (), u, x)),
                                 _mm512_permutexvar_ps (at, f_sc), acc);
          acc_min = _mm512_fmadd_ps (_mm512_cvtepi32_ps (_mm512_dpbusd_epi32 (_mm512_setzero_si512 (), ones, x)),
                                     _mm512_permutexvar_ps (at, f_mn), acc_min);
        }
    }
  return _mm512_reduce_add_ps (_mm512_add_ps (acc, acc_min));
}
#else
static float
dot_q2_k (const uint8_t *p, const int8_t *q, const float *dx, int64_t n)
{
  const __m256i ones = _mm256_set1_epi8 (1), zero = _mm256_setzero_si256 ();
  __m256 acc = _mm256_setzero_ps ();

  for (int64_t sb = 0; sb < n / 256; sb++, p += 84, q += 256, dx += 8)
    {
      const uint8_t *sc = p;
      __m256 part = _mm256_setzero_ps (), part_min = _mm256_setzero_ps ();

      for (int b = 0; b < 8; b++)
        {
          __m256i x = _mm256_loadu_si256 ((const __m256i *) (q + 32 * b));
          __m256i ix = dot_scaled16 (two_bit_codes (p + 16, b), x, zero,
                                     sc[2 * b] & 0x0f, sc[2 * b + 1] & 0x0f);
          __m256i im = dot_scaled16 (ones, x, zero, sc[2 * b] >> 4, sc[2 * b + 1] >> 4);
          __m256 d = _mm256_broadcast_ss (dx + b);

          part = _mm256_fmadd_ps (_mm256_cvtepi32_ps (ix), d, part);
          part_min = _mm256_fmadd_ps (_mm256_cvtepi32_ps (im), d, part_min);
        }
      acc = _mm256_fmadd_ps (_mm256_set1_ps (load_f16 (p + 80)), part, acc);
      acc = _mm256_fnmadd_ps (_mm256_set1_ps (load_f16 (p + 82)), part_min, acc);
    }
  return hsum (acc);
}
#endif

#ifndef TEMPER_KQ_VNNI
/* The signed 6-bit scale of Q3_K sub-block j (of 16). */
static ALWAYS_INLINE int
q3_k_scale (const uint8_t *s, int j)
{
  int low = j < 8 ? s[j] & 0x0f : s[j - 8] >> 4;
  int high = (s[8 + j % 4] >> (2 * (j / 4))) & 3;

  return (low | (high << 4)) - 32;
}
#endif

/* Q3_K (110 bytes): 32 bytes of high bits (bit b of hmask[l] for 32-block
 * b), 64 bytes of 2-bit codes as Q2_K's, 12 bytes of 6-bit scales, fp16 d:
 * value d·sc·(low + 4·high − 4). */
#ifdef TEMPER_KQ_VNNI
/* The sixteen signed 6-bit scales of a Q3_K super-block (12 bytes at @s)
 * as floats: bytes 0–7 hold the low four bits (sub-blocks 0–7 in the low
 * nibbles, 8–15 in the high), bytes 8–11 the high two, sub-block j's at bits
 * 2(j div 4) of byte 8 + j mod 4. */
static ALWAYS_INLINE __m512
q3_k_scales (const uint8_t *s)
{
  uint32_t a0, a1, a2;
  __m128i v;

  memcpy (&a0, s, 4);
  memcpy (&a1, s + 4, 4);
  memcpy (&a2, s + 8, 4);
  v = _mm_setr_epi32 ((int) ((a0 & 0x0f0f0f0fu) | ((a2 & 0x03030303u) << 4)),
                      (int) ((a1 & 0x0f0f0f0fu) | (((a2 >> 2) & 0x03030303u) << 4)),
                      (int) (((a0 >> 4) & 0x0f0f0f0fu) | (((a2 >> 4) & 0x03030303u) << 4)),
                      (int) (((a1 >> 4) & 0x0f0f0f0fu) | (((a2 >> 6) & 0x03030303u) << 4)));
  return _mm512_cvtepi32_ps (_mm512_sub_epi32 (_mm512_cvtepu8_epi32 (v), _mm512_set1_epi32 (32)));
}

/* With AVX-512, two 32-blocks (64 elements) per step, as Q6_K: their 2-bit
 * codes are the same 32 bytes of qs shifted per 256-bit half, their high
 * bits a byte mask test of hmask; one vector of the sixteen factors
 * d·sc·dx, permuted, scales the four sub-blocks of a step, and the offset 4
 * comes off the integer sums. */
static float
dot_q3_k (const uint8_t *p, const int8_t *q, const float *dx, int64_t n)
{
  const __m512i three = _mm512_set1_epi8 (3), four = _mm512_set1_epi8 (4);
  const __m512i pick = _mm512_setr_epi32 (0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3);
  const __m512i pick_dx = _mm512_setr_epi32 (0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7);
  __m512 acc0 = _mm512_setzero_ps (), acc1 = _mm512_setzero_ps ();

  for (int64_t sb = 0; sb < n / 256; sb++, p += 110, q += 256, dx += 8)
    {
      __m512 per_dx = _mm512_permutexvar_ps (pick_dx, _mm512_castps256_ps512 (_mm256_loadu_ps (dx)));
      __m512 factors = _mm512_mul_ps (_mm512_mul_ps (q3_k_scales (p + 96), per_dx),
                                      _mm512_set1_ps (load_f16 (p + 108)));
      __m512i hmask = _mm512_broadcast_i64x4 (_mm256_loadu_si256 ((const __m256i *) p));

      for (int step = 0; step < 4; step++)
        {
          int b = 2 * step;
          __m512i codes = _mm512_broadcast_i64x4 (_mm256_loadu_si256 ((const __m256i *) (p + 32 + 32 * (b / 4))));
          /* Block b in the low half (bits 2(b mod 4)), b + 1 in the high. */
          __m512i shift = _mm512_inserti64x4 (_mm512_set1_epi16 ((short) (2 * (b % 4))),
                                              _mm256_set1_epi16 ((short) (2 * (b % 4) + 2)), 1);
          __m512i bit = _mm512_inserti64x4 (_mm512_set1_epi8 ((char) (1 << b)),
                                            _mm256_set1_epi8 ((char) (1 << (b + 1))), 1);
          __m512i u = _mm512_and_si512 (_mm512_srlv_epi16 (codes, shift), three);
          __m512i x = _mm512_loadu_si512 ((const void *) (q + 32 * b));
          __m512i dot;
          __m512 f = _mm512_permutexvar_ps (_mm512_add_epi32 (pick, _mm512_set1_epi32 (2 * b)), factors);

          u = _mm512_or_si512 (u, _mm512_maskz_mov_epi8 (_mm512_test_epi8_mask (hmask, bit), four));
          dot = _mm512_sub_epi32 (_mm512_dpbusd_epi32 (_mm512_setzero_si512 (), u, x),
                                  _mm512_dpbusd_epi32 (_mm512_setzero_si512 (), four, x));
          if (step % 2 == 0)
            acc0 = _mm512_fmadd_ps (_mm512_cvtepi32_ps (dot), f, acc0);
          else
            acc1 = _mm512_fmadd_ps (_mm512_cvtepi32_ps (dot), f, acc1);
        }
    }
  return _mm512_reduce_add_ps (_mm512_add_ps (acc0, acc1));
}
#else
static float
dot_q3_k (const uint8_t *p, const int8_t *q, const float *dx, int64_t n)
{
  const __m256i one = _mm256_set1_epi8 (1), offset = _mm256_set1_epi8 (4);
  __m256 acc = _mm256_setzero_ps ();

  for (int64_t sb = 0; sb < n / 256; sb++, p += 110, q += 256, dx += 8)
    {
      __m256i high = _mm256_loadu_si256 ((const __m256i *) p);
      __m256 part = _mm256_setzero_ps ();
      int sc[16];

      for (int j = 0; j < 16; j++)
        sc[j] = q3_k_scale (p + 96, j);
      for (int b = 0; b < 8; b++)
        {
          __m256i x = _mm256_loadu_si256 ((const __m256i *) (q + 32 * b));
          __m256i h = _mm256_slli_epi16 (_mm256_and_si256 (high, one), 2);
          __m256i u = _mm256_or_si256 (two_bit_codes (p + 32, b), h);
          __m256i ix = dot_scaled16 (u, x, _mm256_maddubs_epi16 (offset, x), sc[2 * b], sc[2 * b + 1]);

          high = _mm256_srli_epi16 (high, 1);
          part = _mm256_fmadd_ps (_mm256_cvtepi32_ps (ix), _mm256_broadcast_ss (dx + b), part);
        }
      acc = _mm256_fmadd_ps (_mm256_set1_ps (load_f16 (p + 108)), part, acc);
    }
  return hsum (acc);
}
#endif

/* IQ4_NL/IQ4_XS code book (ggml's kvalues_iq4nl), twice for both lanes. */
static ALWAYS_INLINE __m256i
iq4_book (void)
{
  return _mm256_setr_epi8 (-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113,
                           -127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113);
}

/* Σ book[code]·x over one group of 32 codes packed as Q4_0's nibbles:
 * signed × signed through |w| and x carrying w's sign. */
static ALWAYS_INLINE __m256i
dot_iq4_group (const uint8_t *qs, __m256i x, __m256i book)
{
  __m256i w = _mm256_shuffle_epi8 (book, nibbles_32 (qs));

  return dot_u8_s8 (_mm256_sign_epi8 (w, w), _mm256_sign_epi8 (x, w));
}

static float
dot_iq4_nl (const uint8_t *p, const int8_t *q, const float *dx, int64_t n)
{
  const __m256i book = iq4_book ();
  __m256 acc = _mm256_setzero_ps ();

  for (int64_t b = 0; b < n / 32; b++, p += 18)
    {
      __m256i x = _mm256_loadu_si256 ((const __m256i *) (q + 32 * b));

      acc = _mm256_fmadd_ps (_mm256_cvtepi32_ps (dot_iq4_group (p + 2, x, book)),
                             _mm256_set1_ps (load_f16 (p) * dx[b]), acc);
    }
  return hsum (acc);
}

/* IQ4_XS (136 bytes): fp16 d, 16 bits of high scale bits, 4 bytes of low
 * scale nibbles, eight IQ4_NL groups with the 6-bit scale of each − 32. */
#ifdef TEMPER_KQ_VNNI
/* With AVX-512, two groups (64 elements) per step: their 32 bytes of
 * nibbles in element order (low then high nibbles of each group), looked up
 * in the book in every 128-bit lane, moved by 128 to unsigned bytes, and
 * the 128·Σq taken off the integer sums; one vector of the eight factors
 * d·sc·dx, permuted, scales both groups. */
static float
dot_iq4_xs (const uint8_t *p, const int8_t *q, const float *dx, int64_t n)
{
  const __m512i book = _mm512_broadcast_i32x4 (_mm_setr_epi8 (-127, -104, -83, -65, -49, -35, -22, -10,
                                                              1, 13, 25, 38, 53, 69, 89, 113));
  const __m512i mask = _mm512_set1_epi8 (0x0f), flip = _mm512_set1_epi8 ((char) 0x80);
  const __m512i pick = _mm512_setr_epi32 (0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
  __m512 acc0 = _mm512_setzero_ps (), acc1 = _mm512_setzero_ps ();

  for (int64_t sb = 0; sb < n / 256; sb++, p += 136, q += 256, dx += 8)
    {
      unsigned scales_h = (unsigned) p[2] | ((unsigned) p[3] << 8);
      int32_t ls[8];
      __m512 factors;

      for (int b = 0; b < 8; b++)
        ls[b] = (((p[4 + b / 2] >> (4 * (b % 2))) & 0x0f) | (((scales_h >> (2 * b)) & 3) << 4)) - 32;
      factors = _mm512_castps256_ps512 (_mm256_mul_ps (_mm256_mul_ps (_mm256_cvtepi32_ps (_mm256_loadu_si256 ((const __m256i *) ls)),
                                                                      _mm256_loadu_ps (dx)),
                                                       _mm256_set1_ps (load_f16 (p))));
      for (int step = 0; step < 4; step++)
        {
          __m256i packed = _mm256_loadu_si256 ((const __m256i *) (p + 8 + 32 * step));
          /* [low nibbles of both groups, high nibbles of both] →
           * [low, high of group 2·step, low, high of the next] */
          __m512i z = _mm512_inserti64x4 (_mm512_castsi256_si512 (packed), _mm256_srli_epi16 (packed, 4), 1);
          __m512i codes = _mm512_and_si512 (_mm512_shuffle_i64x2 (z, z, _MM_SHUFFLE (3, 1, 2, 0)), mask);
          __m512i u = _mm512_xor_si512 (_mm512_shuffle_epi8 (book, codes), flip);
          __m512i x = _mm512_loadu_si512 ((const void *) (q + 64 * step));
          __m512i dot = _mm512_sub_epi32 (_mm512_dpbusd_epi32 (_mm512_setzero_si512 (), u, x),
                                          _mm512_dpbusd_epi32 (_mm512_setzero_si512 (), flip, x));
          __m512 f = _mm512_permutexvar_ps (_mm512_add_epi32 (pick, _mm512_set1_epi32 (2 * step)), factors);

          if (step % 2 == 0)
            acc0 = _mm512_fmadd_ps (_mm512_cvtepi32_ps (dot), f, acc0);
          else
            acc1 = _mm512_fmadd_ps (_mm512_cvtepi32_ps (dot), f, acc1);
        }
    }
  return _mm512_reduce_add_ps (_mm512_add_ps (acc0, acc1));
}
#else
static float
dot_iq4_xs (const uint8_t *p, const int8_t *q, const float *dx, int64_t n)
{
  const __m256i book = iq4_book ();
  __m256 acc = _mm256_setzero_ps ();

  for (int64_t sb = 0; sb < n / 256; sb++, p += 136, q += 256, dx += 8)
    {
      unsigned scales_h = (unsigned) p[2] | ((unsigned) p[3] << 8);
      __m256 part = _mm256_setzero_ps ();

      for (int b = 0; b < 8; b++)
        {
          int ls = ((p[4 + b / 2] >> (4 * (b % 2))) & 0x0f) | (((scales_h >> (2 * b)) & 3) << 4);
          __m256i x = _mm256_loadu_si256 ((const __m256i *) (q + 32 * b));

          part = _mm256_fmadd_ps (_mm256_cvtepi32_ps (dot_iq4_group (p + 8 + 16 * b, x, book)),
                                  _mm256_set1_ps ((float) (ls - 32) * dx[b]), part);
        }
      acc = _mm256_fmadd_ps (_mm256_set1_ps (load_f16 (p)), part, acc);
    }
  return hsum (acc);
}

/* Four IQ4_NL rows @stride bytes apart, each block of x loaded once for
 * the four. */
static void
dot_4rows_iq4_nl (const uint8_t *p, size_t stride, const int8_t *q, const float *dx, int64_t n,
                  float out[4])
{
  const __m256i book = iq4_book ();
  __m256 acc[4] = { _mm256_setzero_ps (), _mm256_setzero_ps (), _mm256_setzero_ps (), _mm256_setzero_ps () };

  for (int64_t b = 0; b < n / 32; b++, p += 18)
    {
      __m256i x = _mm256_loadu_si256 ((const __m256i *) (q + 32 * b));
      __m256 d = _mm256_broadcast_ss (dx + b);

#pragma GCC unroll 4
      for (int r = 0; r < 4; r++)
        acc[r] = _mm256_fmadd_ps (_mm256_cvtepi32_ps (dot_iq4_group (p + r * stride + 2, x, book)),
                                  _mm256_mul_ps (d, _mm256_set1_ps (load_f16 (p + r * stride))), acc[r]);
    }
  _mm_storeu_ps (out, hsum4_ps (acc[0], acc[1], acc[2], acc[3]));
}

/* Four IQ4_XS rows @stride bytes apart, as IQ4_NL's with each group's
 * 6-bit scale − 32 folded into its factor and d applied per super-block. */
static void
dot_4rows_iq4_xs (const uint8_t *p, size_t stride, const int8_t *q, const float *dx, int64_t n,
                  float out[4])
{
  const __m256i book = iq4_book ();
  __m256 acc[4] = { _mm256_setzero_ps (), _mm256_setzero_ps (), _mm256_setzero_ps (), _mm256_setzero_ps () };

  for (int64_t sb = 0; sb < n / 256; sb++, p += 136, q += 256, dx += 8)
    {
      __m256 part[4] = { _mm256_setzero_ps (), _mm256_setzero_ps (), _mm256_setzero_ps (), _mm256_setzero_ps () };
      unsigned scales_h[4];

#pragma GCC unroll 4
      for (int r = 0; r < 4; r++)
        scales_h[r] = (unsigned) p[r * stride + 2] | ((unsigned) p[r * stride + 3] << 8);
      for (int b = 0; b < 8; b++)
        {
          __m256i x = _mm256_loadu_si256 ((const __m256i *) (q + 32 * b));
          __m256 d = _mm256_broadcast_ss (dx + b);

#pragma GCC unroll 4
          for (int r = 0; r < 4; r++)
            {
              const uint8_t *pr = p + r * stride;
              int ls = ((pr[4 + b / 2] >> (4 * (b % 2))) & 0x0f) | (((scales_h[r] >> (2 * b)) & 3) << 4);

              part[r] = _mm256_fmadd_ps (_mm256_cvtepi32_ps (dot_iq4_group (pr + 8 + 16 * b, x, book)),
                                         _mm256_mul_ps (d, _mm256_set1_ps ((float) (ls - 32))), part[r]);
            }
        }
#pragma GCC unroll 4
      for (int r = 0; r < 4; r++)
        acc[r] = _mm256_fmadd_ps (_mm256_set1_ps (load_f16 (p + r * stride)), part[r], acc[r]);
    }
  _mm_storeu_ps (out, hsum4_ps (acc[0], acc[1], acc[2], acc[3]));
}

gboolean
temper_cpu_kquant_handles_4rows_avx2 (int type)
{
  return type == TEMPER_TYPE_Q4_K || type == TEMPER_TYPE_Q5_K || type == TEMPER_TYPE_IQ4_NL ||
         type == TEMPER_TYPE_IQ4_XS;
}

void
temper_cpu_kquant_dot_4rows_avx2 (int type, const void *w, size_t row_bytes, const int8_t *q,
                                  const float *dx, const float *sx, int64_t n, float out[4])
{
  switch (type)
    {
    case TEMPER_TYPE_Q4_K:   dot_4rows_k (w, row_bytes, FALSE, q, dx, sx, n, out); break;
    case TEMPER_TYPE_Q5_K:   dot_4rows_k (w, row_bytes, TRUE, q, dx, sx, n, out); break;
    case TEMPER_TYPE_IQ4_NL: dot_4rows_iq4_nl (w, row_bytes, q, dx, n, out); break;
    default:                 dot_4rows_iq4_xs (w, row_bytes, q, dx, n, out); break;
    }
}
#endif

float
TEMPER_KQ_NAME (int type, const void *w, const int8_t *q, const float *dx, const float *sx,
                int64_t n)
{
  switch (type)
    {
    case TEMPER_TYPE_Q2_K:   return dot_q2_k (w, q, dx, n);
    case TEMPER_TYPE_Q3_K:   return dot_q3_k (w, q, dx, n);
    case TEMPER_TYPE_Q4_K:   return dot_q4_k (w, q, dx, sx, n);
    case TEMPER_TYPE_Q5_K:   return dot_q5_k (w, q, dx, sx, n);
    case TEMPER_TYPE_Q6_K:   return dot_q6_k (w, q, dx, n);
    case TEMPER_TYPE_IQ4_NL: return dot_iq4_nl (w, q, dx, n);
    default:                 return dot_iq4_xs (w, q, dx, n);
    }
}
