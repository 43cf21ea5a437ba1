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
