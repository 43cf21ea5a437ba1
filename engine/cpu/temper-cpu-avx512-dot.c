// SPDX-License-Identifier: MIT
/* AVX-512 decoding kernels: the 32-element block types with 8-bit
 * activations through VNNI's byte dot product (256-bit, with AVX-512's
 * byte masks for the Q5 high bits), and the F16/BF16 rows against fp32 activations sixteen
 * elements at a time.  Built with -mavx512f/bw/vl/vnni in the library of
 * temper-cpu-kquant-dot.c's VNNI copy; called only where the processor has
 * those (temper-cpu-kernels.c checks). */
#include "config.h"

#include <immintrin.h>
#include <string.h>

#include "temper/tensor.h"
#include "temper-cpu-avx512.h"
#include "temper-cpu-simd.h"

static ALWAYS_INLINE uint32_t
load_u32 (const uint8_t *p)
{
  uint32_t v;

  memcpy (&v, p, 4);
  return v;
}

/* Where a block's parts sit: bytes per block, offset of the 32 high bits
 * (Q5 types; 0 for none) and of the codes. */
typedef struct { int bytes, qh, qs; } Block32Layout;

static ALWAYS_INLINE Block32Layout
layout_of (int type)
{
  switch (type)
    {
    case TEMPER_TYPE_Q4_0: return (Block32Layout) { 18, 0, 2 };
    case TEMPER_TYPE_Q4_1: return (Block32Layout) { 20, 0, 4 };
    case TEMPER_TYPE_Q5_0: return (Block32Layout) { 22, 2, 6 };
    case TEMPER_TYPE_Q5_1: return (Block32Layout) { 24, 4, 8 };
    default:               return (Block32Layout) { 34, 0, 2 }; /* Q8_0 */
    }
}

/* The minimum term's factor m of w = d·u + m: Q4_0 and Q5_0 store codes
 * offset by 8 and 16, Q4_1 and Q5_1 an fp16 minimum. */
static ALWAYS_INLINE float
block_min (int type, const uint8_t *b, float d)
{
  switch (type)
    {
    case TEMPER_TYPE_Q4_0: return -8.0f * d;
    case TEMPER_TYPE_Q5_0: return -16.0f * d;
    case TEMPER_TYPE_Q4_1: case TEMPER_TYPE_Q5_1: return load_f16 (b + 2);
    default: return 0.0f;
    }
}

/* Σ u·x of one block of 32 as 8 int32 (u its unsigned codes, or |w| with x
 * carrying w's sign for Q8_0). */
static ALWAYS_INLINE __m256i
dot_one_block (int type, const uint8_t *b, const int8_t *q)
{
  Block32Layout l = layout_of (type);
  __m256i x = _mm256_loadu_si256 ((const __m256i *) q);
  __m256i u;

  if (type == TEMPER_TYPE_Q8_0)
    {
      __m256i w = _mm256_loadu_si256 ((const __m256i *) (b + 2));

      return _mm256_dpbusd_epi32 (_mm256_setzero_si256 (), _mm256_sign_epi8 (w, w),
                                  _mm256_sign_epi8 (x, w));
    }
  {
    __m128i packed = _mm_loadu_si128 ((const __m128i *) (b + l.qs));
    __m128i mask = _mm_set1_epi8 (0x0f);

    u = _mm256_set_m128i (_mm_and_si128 (_mm_srli_epi16 (packed, 4), mask), _mm_and_si128 (packed, mask));
    if (l.qh != 0)
      u = _mm256_or_si256 (u, _mm256_maskz_mov_epi8 ((__mmask32) load_u32 (b + l.qh), _mm256_set1_epi8 (0x10)));
  }
  return _mm256_dpbusd_epi32 (_mm256_setzero_si256 (), u, x);
}

/* Σ w·x with w = d·u + m per block: d·dx·Σu·q plus m·s (s = dx·Σq).  One
 * block per 256-bit register: measured, pairs of blocks in 512-bit
 * registers were slower (the per-block scale work does not shrink). */
static ALWAYS_INLINE float
dot_q8_block32 (int type, const uint8_t *p, const int8_t *q, const float *dx, const float *sx,
                int64_t n)
{
  int bytes = layout_of (type).bytes;
  int64_t nb = n / 32;
  __m256 acc0 = _mm256_setzero_ps (), acc1 = _mm256_setzero_ps ();
  float acc_m = 0.0f;
  __m128 h;

  for (int64_t b = 0; b < nb; b++, p += bytes)
    {
      float d = load_f16 (p);
      __m256 part = _mm256_cvtepi32_ps (dot_one_block (type, p, q + 32 * b));
      __m256 scale = _mm256_set1_ps (d * dx[b]);

      /* Two chains, so the adds do not wait on each other. */
      if (b % 2 == 0)
        acc0 = _mm256_fmadd_ps (part, scale, acc0);
      else
        acc1 = _mm256_fmadd_ps (part, scale, acc1);
      if (type != TEMPER_TYPE_Q8_0)
        acc_m += block_min (type, p, d) * sx[b];
    }
  acc0 = _mm256_add_ps (acc0, acc1);
  h = _mm_add_ps (_mm256_castps256_ps128 (acc0), _mm256_extractf128_ps (acc0, 1));
  h = _mm_add_ps (h, _mm_movehl_ps (h, h));
  h = _mm_add_ss (h, _mm_movehdup_ps (h));
  return _mm_cvtss_f32 (h) + acc_m;
}

gboolean
temper_cpu_avx512_handles_q8 (int type)
{
  return type == TEMPER_TYPE_Q4_0 || type == TEMPER_TYPE_Q4_1 || type == TEMPER_TYPE_Q5_0 ||
         type == TEMPER_TYPE_Q5_1 || type == TEMPER_TYPE_Q8_0;
}

float
temper_cpu_avx512_dot_row_q8 (int type, const void *w, const int8_t *q, const float *d,
                              const float *s, int64_t n)
{
  switch (type)
    {
    case TEMPER_TYPE_Q4_0: return dot_q8_block32 (TEMPER_TYPE_Q4_0, w, q, d, s, n);
    case TEMPER_TYPE_Q4_1: return dot_q8_block32 (TEMPER_TYPE_Q4_1, w, q, d, s, n);
    case TEMPER_TYPE_Q5_0: return dot_q8_block32 (TEMPER_TYPE_Q5_0, w, q, d, s, n);
    case TEMPER_TYPE_Q5_1: return dot_q8_block32 (TEMPER_TYPE_Q5_1, w, q, d, s, n);
    default:               return dot_q8_block32 (TEMPER_TYPE_Q8_0, w, q, d, s, n);
    }
}

/* Sixteen F16 or BF16 weights as floats. */
static ALWAYS_INLINE __m512
half16_to_ps (int type, const uint8_t *p)
{
  __m256i h = _mm256_loadu_si256 ((const __m256i *) p);

  if (type == TEMPER_TYPE_F16)
    return _mm512_cvtph_ps (h);
  return _mm512_castsi512_ps (_mm512_slli_epi32 (_mm512_cvtepu16_epi32 (h), 16));
}

static ALWAYS_INLINE float
half_to_f32 (int type, const uint8_t *p)
{
  uint16_t h;
  uint32_t bits;
  float f;

  memcpy (&h, p, 2);
  if (type == TEMPER_TYPE_F16)
    return _cvtsh_ss (h);
  bits = (uint32_t) h << 16;
  memcpy (&f, &bits, 4);
  return f;
}

/* Four accumulators: the loop is then bound by loads, not by the FMA's
 * latency. */
static ALWAYS_INLINE float
dot_half (int type, const uint8_t *p, const float *x, int64_t n)
{
  __m512 a0 = _mm512_setzero_ps (), a1 = _mm512_setzero_ps ();
  __m512 a2 = _mm512_setzero_ps (), a3 = _mm512_setzero_ps ();
  int64_t i = 0;
  float sum;

  for (; i + 64 <= n; i += 64)
    {
      a0 = _mm512_fmadd_ps (half16_to_ps (type, p + 2 * i), _mm512_loadu_ps (x + i), a0);
      a1 = _mm512_fmadd_ps (half16_to_ps (type, p + 2 * i + 32), _mm512_loadu_ps (x + i + 16), a1);
      a2 = _mm512_fmadd_ps (half16_to_ps (type, p + 2 * i + 64), _mm512_loadu_ps (x + i + 32), a2);
      a3 = _mm512_fmadd_ps (half16_to_ps (type, p + 2 * i + 96), _mm512_loadu_ps (x + i + 48), a3);
    }
  for (; i + 16 <= n; i += 16)
    a0 = _mm512_fmadd_ps (half16_to_ps (type, p + 2 * i), _mm512_loadu_ps (x + i), a0);
  sum = _mm512_reduce_add_ps (_mm512_add_ps (_mm512_add_ps (a0, a1), _mm512_add_ps (a2, a3)));
  for (; i < n; i++)
    sum += half_to_f32 (type, p + 2 * i) * x[i];
  return sum;
}

float
temper_cpu_avx512_dot_half (int type, const void *w, const float *x, int64_t n)
{
  return type == TEMPER_TYPE_F16 ? dot_half (TEMPER_TYPE_F16, w, x, n)
                                 : dot_half (TEMPER_TYPE_BF16, w, x, n);
}

/* Decoding BF16 rows with AVX512-BF16: x rounded to bfloat16 (to nearest
 * even, 8 significant bits, as generation's 8-bit activations round it)
 * and multiplied in pairs into fp32 sums, 32 elements per instruction. */
__attribute__ ((target ("avx512bf16")))
float
temper_cpu_avx512_dot_bf16_rounded (const void *w, const float *x, int64_t n)
{
  const uint8_t *p = w;
  __m512 a0 = _mm512_setzero_ps (), a1 = _mm512_setzero_ps ();
  int64_t i = 0;

  for (; i + 64 <= n; i += 64)
    {
      __m512bh x0 = _mm512_cvtne2ps_pbh (_mm512_loadu_ps (x + i + 16), _mm512_loadu_ps (x + i));
      __m512bh x1 = _mm512_cvtne2ps_pbh (_mm512_loadu_ps (x + i + 48), _mm512_loadu_ps (x + i + 32));

      a0 = _mm512_dpbf16_ps (a0, (__m512bh) _mm512_loadu_si512 ((const void *) (p + 2 * i)), x0);
      a1 = _mm512_dpbf16_ps (a1, (__m512bh) _mm512_loadu_si512 ((const void *) (p + 2 * i + 64)), x1);
    }
  for (; i + 32 <= n; i += 32)
    {
      __m512bh x0 = _mm512_cvtne2ps_pbh (_mm512_loadu_ps (x + i + 16), _mm512_loadu_ps (x + i));

      a0 = _mm512_dpbf16_ps (a0, (__m512bh) _mm512_loadu_si512 ((const void *) (p + 2 * i)), x0);
    }
  /* The last elements (fewer than 32) in fp32, x unrounded. */
  return _mm512_reduce_add_ps (_mm512_add_ps (a0, a1)) + dot_half (TEMPER_TYPE_BF16, p + 2 * i, x + i, n - i);
}

/* Two rows at once, one block of each per 512-bit register (row 0 in the
 * low half, row 1 in the high): the activations are loaded once for both,
 * and the per-block scale work — the fp16 factors widened, multiplied by dx
 * and spread over eight lanes — is done for both rows by one instruction
 * each, about half the instructions of two single rows.  Decoding is bound
 * by instructions, not memory (the model fits the L3), so that is the
 * speed. */

/* IQ4_NL's code book (ggml's kvalues_iq4nl) in every 128-bit lane. */
static ALWAYS_INLINE __m512i
iq4_book512 (void)
{
  return _mm512_broadcast_i32x4 (_mm_setr_epi8 (-127, -104, -83, -65, -49, -35, -22, -10,
                                                1, 13, 25, 38, 53, 69, 89, 113));
}

/* The 32 codes of a 4-bit block of each row in element order: lanes 0–1
 * row 0's low then high nibbles, lanes 2–3 row 1's. */
static ALWAYS_INLINE __m512i
nibbles_2rows (const uint8_t *p0, const uint8_t *p1)
{
  __m256i packed = _mm256_inserti128_si256 (_mm256_castsi128_si256 (_mm_loadu_si128 ((const __m128i *) p0)),
                                            _mm_loadu_si128 ((const __m128i *) p1), 1);
  __m256i mask = _mm256_set1_epi8 (0x0f);
  __m256i lo = _mm256_and_si256 (packed, mask);
  __m256i hi = _mm256_and_si256 (_mm256_srli_epi16 (packed, 4), mask);
  /* [lo0, lo1, hi0, hi1] → [lo0, hi0, lo1, hi1] */
  __m512i z = _mm512_inserti64x4 (_mm512_castsi256_si512 (lo), hi, 1);

  return _mm512_shuffle_i64x2 (z, z, _MM_SHUFFLE (3, 1, 2, 0));
}

static ALWAYS_INLINE float
sum8 (__m256 v)
{
  __m128 h = _mm_add_ps (_mm256_castps256_ps128 (v), _mm256_extractf128_ps (v, 1));

  h = _mm_add_ps (h, _mm_movehl_ps (h, h));
  h = _mm_add_ss (h, _mm_movehdup_ps (h));
  return _mm_cvtss_f32 (h);
}

static ALWAYS_INLINE uint16_t
load_u16 (const uint8_t *p)
{
  uint16_t v;

  memcpy (&v, p, 2);
  return v;
}

static ALWAYS_INLINE void
dot_2rows_block32 (int type, const uint8_t *p0, const uint8_t *p1, const int8_t *q,
                   const float *dx, const float *sx, int64_t n, float out[2])
{
  int bytes = type == TEMPER_TYPE_IQ4_NL ? 18 : layout_of (type).bytes;
  gboolean has_min = type == TEMPER_TYPE_Q4_0 || type == TEMPER_TYPE_Q4_1 ||
                     type == TEMPER_TYPE_Q5_0 || type == TEMPER_TYPE_Q5_1;
  gboolean stored_min = type == TEMPER_TYPE_Q4_1 || type == TEMPER_TYPE_Q5_1;
  float offset = type == TEMPER_TYPE_Q4_0 ? -8.0f : -16.0f;
  /* Lanes 0–7 take element 0 of a 128-bit vector, lanes 8–15 element 1;
   * for the stored minimums, elements 2 and 3. */
  const __m512i pick_d = _mm512_setr_epi32 (0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
  const __m512i pick_m = _mm512_setr_epi32 (2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
  const __m512i book = iq4_book512 ();
  __m512 acc0 = _mm512_setzero_ps (), acc1 = _mm512_setzero_ps (), acc_m = _mm512_setzero_ps ();
  int64_t nb = n / 32;

  for (int64_t b = 0; b < nb; b++, p0 += bytes, p1 += bytes)
    {
      __m512i x = _mm512_broadcast_i64x4 (_mm256_loadu_si256 ((const __m256i *) (q + 32 * b)));
      __m128i halves = _mm_insert_epi16 (_mm_cvtsi32_si128 (load_u16 (p0)), load_u16 (p1), 1);
      __m512i dot;
      __m128 factors;
      __m512 d, scale;

      if (stored_min)
        halves = _mm_insert_epi16 (_mm_insert_epi16 (halves, load_u16 (p0 + 2), 2), load_u16 (p1 + 2), 3);
      factors = _mm_cvtph_ps (halves);
      d = _mm512_permutexvar_ps (pick_d, _mm512_castps128_ps512 (factors));
      if (type == TEMPER_TYPE_Q8_0)
        {
          __m512i w = _mm512_inserti64x4 (_mm512_castsi256_si512 (_mm256_loadu_si256 ((const __m256i *) (p0 + 2))),
                                          _mm256_loadu_si256 ((const __m256i *) (p1 + 2)), 1);

          dot = _mm512_dpbusd_epi32 (_mm512_setzero_si512 (), _mm512_abs_epi8 (w),
                                     _mm512_mask_sub_epi8 (x, _mm512_movepi8_mask (w),
                                                           _mm512_setzero_si512 (), x));
        }
      else if (type == TEMPER_TYPE_IQ4_NL)
        {
          __m512i w = _mm512_shuffle_epi8 (book, nibbles_2rows (p0 + 2, p1 + 2));

          dot = _mm512_dpbusd_epi32 (_mm512_setzero_si512 (), _mm512_abs_epi8 (w),
                                     _mm512_mask_sub_epi8 (x, _mm512_movepi8_mask (w),
                                                           _mm512_setzero_si512 (), x));
        }
      else
        {
          Block32Layout l = layout_of (type);
          __m512i u = nibbles_2rows (p0 + l.qs, p1 + l.qs);

          if (l.qh != 0)
            {
              __mmask64 high = (__mmask64) load_u32 (p0 + l.qh) | ((__mmask64) load_u32 (p1 + l.qh) << 32);

              u = _mm512_or_si512 (u, _mm512_maskz_mov_epi8 (high, _mm512_set1_epi8 (0x10)));
            }
          dot = _mm512_dpbusd_epi32 (_mm512_setzero_si512 (), u, x);
        }
      scale = _mm512_mul_ps (d, _mm512_set1_ps (dx[b]));
      if (b % 2 == 0)
        acc0 = _mm512_fmadd_ps (_mm512_cvtepi32_ps (dot), scale, acc0);
      else
        acc1 = _mm512_fmadd_ps (_mm512_cvtepi32_ps (dot), scale, acc1);
      /* The minimum term m·s per block: m = offset·d, or stored. */
      if (has_min)
        {
          __m512 m = stored_min ? _mm512_permutexvar_ps (pick_m, _mm512_castps128_ps512 (factors))
                                : _mm512_mul_ps (d, _mm512_set1_ps (offset));

          acc_m = _mm512_fmadd_ps (m, _mm512_set1_ps (sx[b]), acc_m);
        }
    }
  acc0 = _mm512_add_ps (_mm512_add_ps (acc0, acc1), _mm512_mul_ps (acc_m, _mm512_set1_ps (0.125f)));
  out[0] = sum8 (_mm512_castps512_ps256 (acc0));
  out[1] = sum8 (_mm256_castpd_ps (_mm512_extractf64x4_pd (_mm512_castps_pd (acc0), 1)));
}

gboolean
temper_cpu_avx512_handles_q8_2rows (int type)
{
  return temper_cpu_avx512_handles_q8 (type) || type == TEMPER_TYPE_IQ4_NL;
}

void
temper_cpu_avx512_dot_2rows_q8 (int type, const void *w0, const void *w1, const int8_t *q,
                                const float *d, const float *s, int64_t n, float out[2])
{
  switch (type)
    {
    case TEMPER_TYPE_Q4_0: dot_2rows_block32 (TEMPER_TYPE_Q4_0, w0, w1, q, d, s, n, out); break;
    case TEMPER_TYPE_Q4_1: dot_2rows_block32 (TEMPER_TYPE_Q4_1, w0, w1, q, d, s, n, out); break;
    case TEMPER_TYPE_Q5_0: dot_2rows_block32 (TEMPER_TYPE_Q5_0, w0, w1, q, d, s, n, out); break;
    case TEMPER_TYPE_Q5_1: dot_2rows_block32 (TEMPER_TYPE_Q5_1, w0, w1, q, d, s, n, out); break;
    case TEMPER_TYPE_IQ4_NL: dot_2rows_block32 (TEMPER_TYPE_IQ4_NL, w0, w1, q, d, s, n, out); break;
    default:               dot_2rows_block32 (TEMPER_TYPE_Q8_0, w0, w1, q, d, s, n, out); break;
    }
}

/* Four rows of a 4- or 5-bit 32-element type at once (one token).  Each row's 16
 * code bytes of a block fill one 128-bit lane, so one VNNI product takes
 * the four rows' low nibbles (elements 0–15, against x's first 16 bytes in
 * every lane) and a second their high nibbles: per 128 weights about two
 * thirds of the two-row kernel's instructions, which is the speed, since
 * decoding is bound by instructions.  The codes stay unsigned (IQ4_NL's
 * code book moved up by 128) and their offset comes back through x's block
 * sums, as Q4_0's does.  The Q5 types' high bits come in through byte
 * masks, as in the two-row kernel. */

/* IQ4_NL's code book plus 128, in every 128-bit lane. */
static ALWAYS_INLINE __m512i
iq4_book512_unsigned (void)
{
  return _mm512_broadcast_i32x4 (_mm_setr_epi8 ((char) 1, (char) 24, (char) 45, (char) 63,
                                                (char) 79, (char) 93, (char) 106, (char) 118,
                                                (char) 129, (char) 141, (char) 153, (char) 166,
                                                (char) 181, (char) 197, (char) 217, (char) 241));
}

static ALWAYS_INLINE void
dot_4rows_nibbles (int type, const uint8_t *p, size_t stride, const int8_t *q,
                   const float *dx, const float *sx, int64_t n, float out[4])
{
  const Block32Layout l = type == TEMPER_TYPE_IQ4_NL ? (Block32Layout) { 18, 0, 2 } : layout_of (type);
  const gboolean stored_min = type == TEMPER_TYPE_Q4_1 || type == TEMPER_TYPE_Q5_1;
  /* The minimum term per block: −8·d (Q4_0), −128·d (IQ4_NL) or the stored
   * m (Q4_1), times x's block sum; every row adds it in each of its four
   * lanes, hence the quarter. */
  const float min_factor = type == TEMPER_TYPE_Q4_0 ? -2.0f : type == TEMPER_TYPE_Q5_0 ? -4.0f :
                           type == TEMPER_TYPE_IQ4_NL ? -32.0f : 0.25f;
  const __m512i low4 = _mm512_set1_epi8 (0x0f), book = iq4_book512_unsigned ();
  const __m512i bit4 = _mm512_set1_epi8 (0x10);
  /* The four rows' 32 high bits as 16-bit halves, reordered to every low
   * half (elements 0–15) then every high half (16–31). */
  const __m128i halves_first = _mm_setr_epi8 (0, 1, 4, 5, 8, 9, 12, 13, 2, 3, 6, 7, 10, 11, 14, 15);
  const __m512i pick_d = _mm512_setr_epi32 (0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3);
  const __m512i pick_m = _mm512_setr_epi32 (4, 4, 4, 4, 5, 5, 5, 5, 6, 6, 6, 6, 7, 7, 7, 7);
  __m512 acc = _mm512_setzero_ps (), acc_m = _mm512_setzero_ps ();
  float lanes[16];

  for (int64_t b = 0; b < n / 32; b++, p += l.bytes)
    {
      const uint8_t *p1 = p + stride, *p2 = p1 + stride, *p3 = p2 + stride;
      __m512i w = _mm512_castsi128_si512 (_mm_loadu_si128 ((const __m128i *) (p + l.qs)));
      __m512i lo, hi, dot;
      __m128i halves;
      __m512 factors, d;

      w = _mm512_inserti32x4 (w, _mm_loadu_si128 ((const __m128i *) (p1 + l.qs)), 1);
      w = _mm512_inserti32x4 (w, _mm_loadu_si128 ((const __m128i *) (p2 + l.qs)), 2);
      w = _mm512_inserti32x4 (w, _mm_loadu_si128 ((const __m128i *) (p3 + l.qs)), 3);
      lo = _mm512_and_si512 (w, low4);
      hi = _mm512_and_si512 (_mm512_srli_epi16 (w, 4), low4);
      if (l.qh != 0)
        {
          __m128i qh = _mm_insert_epi32 (_mm_cvtsi32_si128 ((int) load_u32 (p + l.qh)), (int) load_u32 (p1 + l.qh), 1);

          qh = _mm_insert_epi32 (_mm_insert_epi32 (qh, (int) load_u32 (p2 + l.qh), 2), (int) load_u32 (p3 + l.qh), 3);
          qh = _mm_shuffle_epi8 (qh, halves_first);
          lo = _mm512_mask_add_epi8 (lo, (__mmask64) (guint64) _mm_cvtsi128_si64 (qh), lo, bit4);
          hi = _mm512_mask_add_epi8 (hi, (__mmask64) (guint64) _mm_extract_epi64 (qh, 1), hi, bit4);
        }
      if (type == TEMPER_TYPE_IQ4_NL)
        {
          lo = _mm512_shuffle_epi8 (book, lo);
          hi = _mm512_shuffle_epi8 (book, hi);
        }
      dot = _mm512_dpbusd_epi32 (_mm512_setzero_si512 (), lo,
                                 _mm512_broadcast_i32x4 (_mm_loadu_si128 ((const __m128i *) (q + 32 * b))));
      dot = _mm512_dpbusd_epi32 (dot, hi,
                                 _mm512_broadcast_i32x4 (_mm_loadu_si128 ((const __m128i *) (q + 32 * b + 16))));
      halves = _mm_insert_epi16 (_mm_cvtsi32_si128 (load_u16 (p)), load_u16 (p1), 1);
      halves = _mm_insert_epi16 (_mm_insert_epi16 (halves, load_u16 (p2), 2), load_u16 (p3), 3);
      if (stored_min)
        {
          halves = _mm_insert_epi16 (_mm_insert_epi16 (halves, load_u16 (p + 2), 4), load_u16 (p1 + 2), 5);
          halves = _mm_insert_epi16 (_mm_insert_epi16 (halves, load_u16 (p2 + 2), 6), load_u16 (p3 + 2), 7);
        }
      factors = _mm512_castps256_ps512 (_mm256_cvtph_ps (halves));
      d = _mm512_permutexvar_ps (pick_d, factors);
      acc = _mm512_fmadd_ps (_mm512_cvtepi32_ps (dot), _mm512_mul_ps (d, _mm512_set1_ps (dx[b])), acc);
      acc_m = _mm512_fmadd_ps (stored_min ? _mm512_permutexvar_ps (pick_m, factors) : d,
                               _mm512_set1_ps (sx[b]), acc_m);
    }
  acc = _mm512_fmadd_ps (acc_m, _mm512_set1_ps (min_factor), acc);
  _mm512_storeu_ps (lanes, acc);
  for (int r = 0; r < 4; r++)
    out[r] = (lanes[4 * r] + lanes[4 * r + 1]) + (lanes[4 * r + 2] + lanes[4 * r + 3]);
}

/* Q8_0 four rows at once: two rows' 32 codes per register, made unsigned by
 * flipping their top bit (w + 128), the 128·Σx this adds taken back per
 * block as the 4-bit types' offset is, instead of moving w's sign onto x. */
static ALWAYS_INLINE void
dot_4rows_q8_0 (const uint8_t *p, size_t stride, const int8_t *q, const float *dx,
                const float *sx, int64_t n, float out[4])
{
  const __m512i top = _mm512_set1_epi8 ((char) 0x80);
  const __m512i pick_01 = _mm512_setr_epi32 (0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
  const __m512i pick_23 = _mm512_setr_epi32 (2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
  __m512 acc_01 = _mm512_setzero_ps (), acc_23 = _mm512_setzero_ps ();
  __m128 acc_m = _mm_setzero_ps ();
  float lanes[32], mins[4];

  for (int64_t b = 0; b < n / 32; b++, p += 34)
    {
      const uint8_t *p1 = p + stride, *p2 = p1 + stride, *p3 = p2 + stride;
      __m512i x = _mm512_broadcast_i64x4 (_mm256_loadu_si256 ((const __m256i *) (q + 32 * b)));
      __m512i w01 = _mm512_inserti64x4 (_mm512_castsi256_si512 (_mm256_loadu_si256 ((const __m256i *) (p + 2))),
                                        _mm256_loadu_si256 ((const __m256i *) (p1 + 2)), 1);
      __m512i w23 = _mm512_inserti64x4 (_mm512_castsi256_si512 (_mm256_loadu_si256 ((const __m256i *) (p2 + 2))),
                                        _mm256_loadu_si256 ((const __m256i *) (p3 + 2)), 1);
      __m128i halves = _mm_insert_epi16 (_mm_cvtsi32_si128 (load_u16 (p)), load_u16 (p1), 1);
      __m128 d, dd;

      halves = _mm_insert_epi16 (_mm_insert_epi16 (halves, load_u16 (p2), 2), load_u16 (p3), 3);
      d = _mm_cvtph_ps (halves);
      dd = _mm_mul_ps (d, _mm_set1_ps (dx[b]));
      acc_01 = _mm512_fmadd_ps (_mm512_cvtepi32_ps (_mm512_dpbusd_epi32 (_mm512_setzero_si512 (),
                                                                         _mm512_xor_si512 (w01, top), x)),
                                _mm512_permutexvar_ps (pick_01, _mm512_castps128_ps512 (dd)), acc_01);
      acc_23 = _mm512_fmadd_ps (_mm512_cvtepi32_ps (_mm512_dpbusd_epi32 (_mm512_setzero_si512 (),
                                                                         _mm512_xor_si512 (w23, top), x)),
                                _mm512_permutexvar_ps (pick_23, _mm512_castps128_ps512 (dd)), acc_23);
      acc_m = _mm_fmadd_ps (d, _mm_set1_ps (sx[b]), acc_m);
    }
  _mm512_storeu_ps (lanes, acc_01);
  _mm512_storeu_ps (lanes + 16, acc_23);
  _mm_storeu_ps (mins, acc_m);
  for (int r = 0; r < 4; r++)
    {
      const float *l = lanes + 8 * r;

      out[r] = ((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7])) - 128.0f * mins[r];
    }
}

/* The 16 bytes at @p of four rows @stride apart, row r in 128-bit lane r. */
static ALWAYS_INLINE __m512i
lanes_4rows (const uint8_t *p, size_t stride)
{
  __m512i w = _mm512_castsi128_si512 (_mm_loadu_si128 ((const __m128i *) p));

  w = _mm512_inserti32x4 (w, _mm_loadu_si128 ((const __m128i *) (p + stride)), 1);
  w = _mm512_inserti32x4 (w, _mm_loadu_si128 ((const __m128i *) (p + 2 * stride)), 2);
  return _mm512_inserti32x4 (w, _mm_loadu_si128 ((const __m128i *) (p + 3 * stride)), 3);
}

/* The eight group scales (6 bits, − 32) of an IQ4_XS super-block of two
 * rows as floats, row @pa's in lanes 0–7 and @pb's in 8–15.  Bytes 2–3
 * hold the high two bits of each (group g at bits 2g), bytes 4–7 the low
 * four (group g in byte 4 + g/2, the low nibble for even g). */
static ALWAYS_INLINE __m512
iq4_xs_scales_2rows (const uint8_t *pa, const uint8_t *pb)
{
  const __m128i pick_low = _mm_setr_epi8 (2, 2, 3, 3, 4, 4, 5, 5, 10, 10, 11, 11, 12, 12, 13, 13);
  const __m512i shift_low = _mm512_setr_epi32 (0, 4, 0, 4, 0, 4, 0, 4, 0, 4, 0, 4, 0, 4, 0, 4);
  const __m512i pick_high = _mm512_setr_epi32 (0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 2, 2, 2, 2, 2, 2);
  const __m512i shift_high = _mm512_setr_epi32 (0, 2, 4, 6, 8, 10, 12, 14, 0, 2, 4, 6, 8, 10, 12, 14);
  guint64 a, b;
  __m128i raw;
  __m512i low, high;

  /* Bytes 2–9 of each row's block: the scales and two code bytes. */
  memcpy (&a, pa + 2, 8);
  memcpy (&b, pb + 2, 8);
  raw = _mm_set_epi64x ((long long) b, (long long) a);
  low = _mm512_and_si512 (_mm512_srlv_epi32 (_mm512_cvtepu8_epi32 (_mm_shuffle_epi8 (raw, pick_low)), shift_low),
                          _mm512_set1_epi32 (0x0f));
  high = _mm512_and_si512 (_mm512_srlv_epi32 (_mm512_permutexvar_epi32 (pick_high, _mm512_castsi128_si512 (raw)),
                                              shift_high),
                           _mm512_set1_epi32 (3));
  return _mm512_cvtepi32_ps (_mm512_sub_epi32 (_mm512_or_si512 (low, _mm512_slli_epi32 (high, 4)),
                                               _mm512_set1_epi32 (32)));
}

/* IQ4_XS four rows at once, as the 4-bit types above: each row's 16 code
 * bytes of a group of 32 in one 128-bit lane, looked up in the code book
 * moved up by 128 (unsigned), low nibbles (elements 0–15) and high (16–31)
 * against x's halves in two VNNI products.  A super-block's 32 factors
 * d·(scale − 32) (two registers, two rows each) are made once; each group
 * permutes its four out of them.  The 128 taken back per element is
 * 128·factor·s per group, summed per row once a super-block. */
static ALWAYS_INLINE void
dot_4rows_iq4_xs (const uint8_t *p, size_t stride, const int8_t *q, const float *dx,
                  const float *sx, int64_t n, float out[4])
{
  const __m512i low4 = _mm512_set1_epi8 (0x0f), book = iq4_book512_unsigned ();
  /* Lanes 4r..4r+3 take row r's factor of the group (added below). */
  const __m512i pick_row = _mm512_setr_epi32 (0, 0, 0, 0, 8, 8, 8, 8, 16, 16, 16, 16, 24, 24, 24, 24);
  const __m512i pick_d01 = _mm512_setr_epi32 (0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
  const __m512i pick_d23 = _mm512_setr_epi32 (2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
  __m512 acc0 = _mm512_setzero_ps (), acc1 = _mm512_setzero_ps ();
  __m512 acc_m01 = _mm512_setzero_ps (), acc_m23 = _mm512_setzero_ps ();
  float lanes[16], mins[32];

  for (int64_t sb = 0; sb < n / 256; sb++, p += 136, q += 256, dx += 8, sx += 8)
    {
      const uint8_t *p1 = p + stride, *p2 = p1 + stride, *p3 = p2 + stride;
      __m128i halves = _mm_insert_epi16 (_mm_cvtsi32_si128 (load_u16 (p)), load_u16 (p1), 1);
      __m512 d, dx2, sx2, f01, f23;

      halves = _mm_insert_epi16 (_mm_insert_epi16 (halves, load_u16 (p2), 2), load_u16 (p3), 3);
      d = _mm512_castps128_ps512 (_mm_cvtph_ps (halves));
      dx2 = _mm512_castpd_ps (_mm512_broadcast_f64x4 (_mm256_castps_pd (_mm256_loadu_ps (dx))));
      sx2 = _mm512_castpd_ps (_mm512_broadcast_f64x4 (_mm256_castps_pd (_mm256_loadu_ps (sx))));
      f01 = _mm512_mul_ps (iq4_xs_scales_2rows (p, p1), _mm512_permutexvar_ps (pick_d01, d));
      f23 = _mm512_mul_ps (iq4_xs_scales_2rows (p2, p3), _mm512_permutexvar_ps (pick_d23, d));
      acc_m01 = _mm512_fmadd_ps (f01, sx2, acc_m01);
      acc_m23 = _mm512_fmadd_ps (f23, sx2, acc_m23);
      f01 = _mm512_mul_ps (f01, dx2);
      f23 = _mm512_mul_ps (f23, dx2);
      for (int g = 0; g < 8; g++)
        {
          __m512i w = lanes_4rows (p + 8 + 16 * g, stride);
          __m512i lo = _mm512_shuffle_epi8 (book, _mm512_and_si512 (w, low4));
          __m512i hi = _mm512_shuffle_epi8 (book, _mm512_and_si512 (_mm512_srli_epi16 (w, 4), low4));
          __m512i dot;
          __m512 f = _mm512_permutex2var_ps (f01, _mm512_add_epi32 (pick_row, _mm512_set1_epi32 (g)), f23);

          dot = _mm512_dpbusd_epi32 (_mm512_setzero_si512 (), lo,
                                     _mm512_broadcast_i32x4 (_mm_loadu_si128 ((const __m128i *) (q + 32 * g))));
          dot = _mm512_dpbusd_epi32 (dot, hi,
                                     _mm512_broadcast_i32x4 (_mm_loadu_si128 ((const __m128i *) (q + 32 * g + 16))));
          /* Two chains, so the adds do not wait on each other. */
          if (g % 2 == 0)
            acc0 = _mm512_fmadd_ps (_mm512_cvtepi32_ps (dot), f, acc0);
          else
            acc1 = _mm512_fmadd_ps (_mm512_cvtepi32_ps (dot), f, acc1);
        }
    }
  _mm512_storeu_ps (lanes, _mm512_add_ps (acc0, acc1));
  _mm512_storeu_ps (mins, acc_m01);
  _mm512_storeu_ps (mins + 16, acc_m23);
  for (int r = 0; r < 4; r++)
    {
      const float *m = mins + 8 * r;

      out[r] = ((lanes[4 * r] + lanes[4 * r + 1]) + (lanes[4 * r + 2] + lanes[4 * r + 3])) -
               128.0f * (((m[0] + m[1]) + (m[2] + m[3])) + ((m[4] + m[5]) + (m[6] + m[7])));
    }
}

/* The eight 6-bit scales and minimums of a Q4_K super-block of two
 * rows (12 bytes at 4) as floats, row @pa's in lanes 0–7 and @pb's in
 * 8–15: bytes 0–3 hold scales 0–3 (low 6 bits) and the top two bits of
 * scales 4–7, bytes 4–7 the same of the minimums, bytes 8–11 the low four
 * bits of scales 4–7 (low nibbles) and minimums 4–7 (high). */
static ALWAYS_INLINE void
k_scales_mins_2rows (const uint8_t *pa, const uint8_t *pb, __m512 *scales, __m512 *mins)
{
  const uint8_t *at[2] = { pa + 4, pb + 4 };
  uint32_t sc[4], mn[4];

  for (int r = 0; r < 2; r++)
    {
      uint32_t a, b, c;

      memcpy (&a, at[r], 4);
      memcpy (&b, at[r] + 4, 4);
      memcpy (&c, at[r] + 8, 4);
      sc[2 * r] = a & 0x3f3f3f3fu;
      sc[2 * r + 1] = (c & 0x0f0f0f0fu) | ((a >> 2) & 0x30303030u);
      mn[2 * r] = b & 0x3f3f3f3fu;
      mn[2 * r + 1] = ((c >> 4) & 0x0f0f0f0fu) | ((b >> 2) & 0x30303030u);
    }
  *scales = _mm512_cvtepi32_ps (_mm512_cvtepu8_epi32 (_mm_loadu_si128 ((const __m128i *) sc)));
  *mins = _mm512_cvtepi32_ps (_mm512_cvtepu8_epi32 (_mm_loadu_si128 ((const __m128i *) mn)));
}

/* Q4_K four rows at once.  A super-block's 64-element group g is 32 code
 * bytes (sub-block 2g in the low nibbles, 2g + 1 in the high), so each
 * row's first 16 bytes fill one lane of one register and its last 16 one
 * lane of another; sub-block 2g is then two VNNI products (low nibbles of
 * both against x's two halves) and 2g + 1 two more.  The 32 factors
 * d·scale·dx and the minimum terms dmin·min·s are made once a super-block,
 * two rows a register.  (Q5_K the same way, its fifth bits through byte
 * masks, measured 0.7× its one-row kernel: the mask tests and the lane
 * inserts crowd the one shuffle port.) */
static ALWAYS_INLINE void
dot_4rows_q4_k (const uint8_t *p, size_t stride, const int8_t *q, const float *dx,
                const float *sx, int64_t n, float out[4])
{
  const __m512i low4 = _mm512_set1_epi8 (0x0f);
  /* Lanes 4r..4r+3 take row r's factor of the sub-block (added below). */
  const __m512i pick_row = _mm512_setr_epi32 (0, 0, 0, 0, 8, 8, 8, 8, 16, 16, 16, 16, 24, 24, 24, 24);
  /* d of rows 0, 1 (2, 3) over eight lanes each; dmin after them. */
  const __m512i pick_d01 = _mm512_setr_epi32 (0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
  const __m512i pick_d23 = _mm512_setr_epi32 (2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
  const __m512i pick_m01 = _mm512_setr_epi32 (4, 4, 4, 4, 4, 4, 4, 4, 5, 5, 5, 5, 5, 5, 5, 5);
  const __m512i pick_m23 = _mm512_setr_epi32 (6, 6, 6, 6, 6, 6, 6, 6, 7, 7, 7, 7, 7, 7, 7, 7);
  __m512 acc0 = _mm512_setzero_ps (), acc1 = _mm512_setzero_ps ();
  __m512 acc_m01 = _mm512_setzero_ps (), acc_m23 = _mm512_setzero_ps ();
  float lanes[16], mins[32];

  for (int64_t sb = 0; sb < n / 256; sb++, p += 144, q += 256, dx += 8, sx += 8)
    {
      const uint8_t *p1 = p + stride, *p2 = p1 + stride, *p3 = p2 + stride;
      __m128i halves = _mm_insert_epi16 (_mm_cvtsi32_si128 (load_u16 (p)), load_u16 (p1), 1);
      __m512 dm, dx2, sx2, sc01, sc23, mn01, mn23, f01, f23;

      halves = _mm_insert_epi16 (_mm_insert_epi16 (halves, load_u16 (p2), 2), load_u16 (p3), 3);
      halves = _mm_insert_epi16 (_mm_insert_epi16 (halves, load_u16 (p + 2), 4), load_u16 (p1 + 2), 5);
      halves = _mm_insert_epi16 (_mm_insert_epi16 (halves, load_u16 (p2 + 2), 6), load_u16 (p3 + 2), 7);
      dm = _mm512_castps256_ps512 (_mm256_cvtph_ps (halves));
      dx2 = _mm512_castpd_ps (_mm512_broadcast_f64x4 (_mm256_castps_pd (_mm256_loadu_ps (dx))));
      sx2 = _mm512_castpd_ps (_mm512_broadcast_f64x4 (_mm256_castps_pd (_mm256_loadu_ps (sx))));
      k_scales_mins_2rows (p, p1, &sc01, &mn01);
      k_scales_mins_2rows (p2, p3, &sc23, &mn23);
      f01 = _mm512_mul_ps (_mm512_mul_ps (sc01, _mm512_permutexvar_ps (pick_d01, dm)), dx2);
      f23 = _mm512_mul_ps (_mm512_mul_ps (sc23, _mm512_permutexvar_ps (pick_d23, dm)), dx2);
      acc_m01 = _mm512_fmadd_ps (_mm512_mul_ps (mn01, _mm512_permutexvar_ps (pick_m01, dm)), sx2, acc_m01);
      acc_m23 = _mm512_fmadd_ps (_mm512_mul_ps (mn23, _mm512_permutexvar_ps (pick_m23, dm)), sx2, acc_m23);
      for (int g = 0; g < 4; g++)
        {
          __m512i a = lanes_4rows (p + 16 + 32 * g, stride);
          __m512i b = lanes_4rows (p + 16 + 32 * g + 16, stride);
          __m512i lo_a = _mm512_and_si512 (a, low4), hi_a = _mm512_and_si512 (_mm512_srli_epi16 (a, 4), low4);
          __m512i lo_b = _mm512_and_si512 (b, low4), hi_b = _mm512_and_si512 (_mm512_srli_epi16 (b, 4), low4);
          const uint8_t *xg = (const uint8_t *) (q + 64 * g);
          __m512i even, odd;

          even = _mm512_dpbusd_epi32 (_mm512_setzero_si512 (), lo_a,
                                      _mm512_broadcast_i32x4 (_mm_loadu_si128 ((const __m128i *) xg)));
          even = _mm512_dpbusd_epi32 (even, lo_b,
                                      _mm512_broadcast_i32x4 (_mm_loadu_si128 ((const __m128i *) (xg + 16))));
          odd = _mm512_dpbusd_epi32 (_mm512_setzero_si512 (), hi_a,
                                     _mm512_broadcast_i32x4 (_mm_loadu_si128 ((const __m128i *) (xg + 32))));
          odd = _mm512_dpbusd_epi32 (odd, hi_b,
                                     _mm512_broadcast_i32x4 (_mm_loadu_si128 ((const __m128i *) (xg + 48))));
          acc0 = _mm512_fmadd_ps (_mm512_cvtepi32_ps (even),
                                  _mm512_permutex2var_ps (f01, _mm512_add_epi32 (pick_row, _mm512_set1_epi32 (2 * g)), f23),
                                  acc0);
          acc1 = _mm512_fmadd_ps (_mm512_cvtepi32_ps (odd),
                                  _mm512_permutex2var_ps (f01, _mm512_add_epi32 (pick_row, _mm512_set1_epi32 (2 * g + 1)), f23),
                                  acc1);
        }
    }
  _mm512_storeu_ps (lanes, _mm512_add_ps (acc0, acc1));
  _mm512_storeu_ps (mins, acc_m01);
  _mm512_storeu_ps (mins + 16, acc_m23);
  for (int r = 0; r < 4; r++)
    {
      const float *m = mins + 8 * r;

      out[r] = ((lanes[4 * r] + lanes[4 * r + 1]) + (lanes[4 * r + 2] + lanes[4 * r + 3])) -
               (((m[0] + m[1]) + (m[2] + m[3])) + ((m[4] + m[5]) + (m[6] + m[7])));
    }
}

gboolean
temper_cpu_avx512_handles_q8_4rows (int type)
{
  return type == TEMPER_TYPE_Q4_0 || type == TEMPER_TYPE_Q4_1 || type == TEMPER_TYPE_Q5_0 ||
         type == TEMPER_TYPE_Q5_1 || type == TEMPER_TYPE_IQ4_NL || type == TEMPER_TYPE_Q8_0 ||
         type == TEMPER_TYPE_IQ4_XS || type == TEMPER_TYPE_Q4_K;
}

void
temper_cpu_avx512_dot_4rows_q8 (int type, const void *w, size_t row_bytes, const int8_t *q,
                                const float *d, const float *s, int64_t n, float out[4])
{
  switch (type)
    {
    case TEMPER_TYPE_Q4_0: dot_4rows_nibbles (TEMPER_TYPE_Q4_0, w, row_bytes, q, d, s, n, out); break;
    case TEMPER_TYPE_Q4_1: dot_4rows_nibbles (TEMPER_TYPE_Q4_1, w, row_bytes, q, d, s, n, out); break;
    case TEMPER_TYPE_Q5_0: dot_4rows_nibbles (TEMPER_TYPE_Q5_0, w, row_bytes, q, d, s, n, out); break;
    case TEMPER_TYPE_Q5_1: dot_4rows_nibbles (TEMPER_TYPE_Q5_1, w, row_bytes, q, d, s, n, out); break;
    case TEMPER_TYPE_Q8_0: dot_4rows_q8_0 (w, row_bytes, q, d, s, n, out); break;
    case TEMPER_TYPE_IQ4_XS: dot_4rows_iq4_xs (w, row_bytes, q, d, s, n, out); break;
    case TEMPER_TYPE_Q4_K: dot_4rows_q4_k (w, row_bytes, q, d, s, n, out); break;
    default:               dot_4rows_nibbles (TEMPER_TYPE_IQ4_NL, w, row_bytes, q, d, s, n, out); break;
    }
}

/* x rounded to bfloat16 once per product, as temper_cpu_avx512_dot_bf16_rounded
 * rounds it (whole groups of 32; the rest is left unwritten). */
__attribute__ ((target ("avx512bf16")))
void
temper_cpu_avx512_round_bf16 (const float *x, int64_t n, uint16_t *out)
{
  for (int64_t i = 0; i + 32 <= n; i += 32)
    {
      __m512bh r = _mm512_cvtne2ps_pbh (_mm512_loadu_ps (x + i + 16), _mm512_loadu_ps (x + i));

      _mm512_storeu_si512 ((void *) (out + i), (__m512i) r);
    }
}

/* temper_cpu_avx512_dot_bf16_rounded () with x already rounded (@xb, from
 * temper_cpu_avx512_round_bf16 ()): the same sum, without rounding x again
 * for every row. */
__attribute__ ((target ("avx512bf16")))
float
temper_cpu_avx512_dot_bf16_pre (const void *w, const uint16_t *xb, const float *x, int64_t n)
{
  const uint8_t *p = w;
  __m512 a0 = _mm512_setzero_ps (), a1 = _mm512_setzero_ps ();
  int64_t i = 0;

  for (; i + 64 <= n; i += 64)
    {
      a0 = _mm512_dpbf16_ps (a0, (__m512bh) _mm512_loadu_si512 ((const void *) (p + 2 * i)),
                             (__m512bh) _mm512_loadu_si512 ((const void *) (xb + i)));
      a1 = _mm512_dpbf16_ps (a1, (__m512bh) _mm512_loadu_si512 ((const void *) (p + 2 * i + 64)),
                             (__m512bh) _mm512_loadu_si512 ((const void *) (xb + i + 32)));
    }
  for (; i + 32 <= n; i += 32)
    a0 = _mm512_dpbf16_ps (a0, (__m512bh) _mm512_loadu_si512 ((const void *) (p + 2 * i)),
                           (__m512bh) _mm512_loadu_si512 ((const void *) (xb + i)));
  return _mm512_reduce_add_ps (_mm512_add_ps (a0, a1)) + dot_half (TEMPER_TYPE_BF16, p + 2 * i, x + i, n - i);
}

/* Two BF16 rows against the same rounded x (@w0, @w1 → @out[0], @out[1]):
 * each x load serves both rows, and the two rows are two streams of
 * memory in flight at once, which is what a BF16 matvec waits on. */
__attribute__ ((target ("avx512bf16")))
void
temper_cpu_avx512_dot_bf16_pre_2rows (const void *w0, const void *w1, const uint16_t *xb,
                                      const float *x, int64_t n, float out[2])
{
  const uint8_t *p0 = w0, *p1 = w1;
  __m512 a0 = _mm512_setzero_ps (), a1 = _mm512_setzero_ps ();
  __m512 b0 = _mm512_setzero_ps (), b1 = _mm512_setzero_ps ();
  int64_t i = 0;

  for (; i + 64 <= n; i += 64)
    {
      __m512bh x0 = (__m512bh) _mm512_loadu_si512 ((const void *) (xb + i));
      __m512bh x1 = (__m512bh) _mm512_loadu_si512 ((const void *) (xb + i + 32));

      a0 = _mm512_dpbf16_ps (a0, (__m512bh) _mm512_loadu_si512 ((const void *) (p0 + 2 * i)), x0);
      b0 = _mm512_dpbf16_ps (b0, (__m512bh) _mm512_loadu_si512 ((const void *) (p1 + 2 * i)), x0);
      a1 = _mm512_dpbf16_ps (a1, (__m512bh) _mm512_loadu_si512 ((const void *) (p0 + 2 * i + 64)), x1);
      b1 = _mm512_dpbf16_ps (b1, (__m512bh) _mm512_loadu_si512 ((const void *) (p1 + 2 * i + 64)), x1);
    }
  for (; i + 32 <= n; i += 32)
    {
      __m512bh x0 = (__m512bh) _mm512_loadu_si512 ((const void *) (xb + i));

      a0 = _mm512_dpbf16_ps (a0, (__m512bh) _mm512_loadu_si512 ((const void *) (p0 + 2 * i)), x0);
      b0 = _mm512_dpbf16_ps (b0, (__m512bh) _mm512_loadu_si512 ((const void *) (p1 + 2 * i)), x0);
    }
  out[0] = _mm512_reduce_add_ps (_mm512_add_ps (a0, a1)) + dot_half (TEMPER_TYPE_BF16, p0 + 2 * i, x + i, n - i);
  out[1] = _mm512_reduce_add_ps (_mm512_add_ps (b0, b1)) + dot_half (TEMPER_TYPE_BF16, p1 + 2 * i, x + i, n - i);
}
