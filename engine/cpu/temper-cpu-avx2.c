/* SPDX-License-Identifier: MIT */
/* AVX2/FMA/F16C kernels.  The weight stays in its stored blocks and is
 * widened to fp32 in registers, so activations keep full precision (the
 * forward matches an fp32 reference to rounding) while each weight byte is
 * read once from memory, which is what bounds decoding speed. */
#include "config.h"

#include <immintrin.h>
#include <string.h>

#include "temper/tensor.h"
#include "temper-cpu-avx2.h"
#include "temper-cpu-simd.h"

/* This library links after libtemper, so it carries its own copies of these
 * two facts rather than calling back into the engine. */
static size_t
block_bytes (int type)
{
  switch (type)
    {
    case TEMPER_TYPE_Q4_0: return 18;
    case TEMPER_TYPE_Q4_1: return 20;
    case TEMPER_TYPE_Q5_0: return 22;
    case TEMPER_TYPE_Q5_1: return 24;
    case TEMPER_TYPE_Q8_0: return 34;
    case TEMPER_TYPE_Q4_K: return 144;
    case TEMPER_TYPE_Q5_K: return 176;
    default:               return 210; /* Q6_K */
    }
}

static inline float
bf16_to_f32 (uint16_t h)
{
  uint32_t bits = (uint32_t) h << 16;
  float f;

  memcpy (&f, &bits, 4);
  return f;
}

static inline float
hsum (__m256 v)
{
  __m128 lo = _mm256_castps256_ps128 (v);
  __m128 hi = _mm256_extractf128_ps (v, 1);

  lo = _mm_add_ps (lo, hi);
  lo = _mm_add_ps (lo, _mm_movehl_ps (lo, lo));
  lo = _mm_add_ss (lo, _mm_movehdup_ps (lo));
  return _mm_cvtss_f32 (lo);
}

static inline __m256
u8x8_to_ps (__m128i v)
{
  return _mm256_cvtepi32_ps (_mm256_cvtepu8_epi32 (v));
}

static inline __m256
i8x8_to_ps (__m128i v)
{
  return _mm256_cvtepi32_ps (_mm256_cvtepi8_epi32 (v));
}

/* The 32 unsigned 4-bit values of a Q4_0/Q4_1 block, in element order
 * (low nibbles are elements 0–15, high nibbles 16–31). */
static ALWAYS_INLINE void
nibbles_to_ps (const uint8_t *qs, __m256 v[4])
{
  const __m128i mask = _mm_set1_epi8 (0x0F);
  __m128i q = _mm_loadu_si128 ((const __m128i *) qs);
  __m128i lo = _mm_and_si128 (q, mask);
  __m128i hi = _mm_and_si128 (_mm_srli_epi16 (q, 4), mask);

  v[0] = u8x8_to_ps (lo);
  v[1] = u8x8_to_ps (_mm_srli_si128 (lo, 8));
  v[2] = u8x8_to_ps (hi);
  v[3] = u8x8_to_ps (_mm_srli_si128 (hi, 8));
}

/* Q5 blocks: the nibbles plus bit j of qh as bit 4 of element j. */
static ALWAYS_INLINE void
q5_to_ps (const uint8_t *qh_bytes, const uint8_t *qs, __m256 v[4])
{
  const __m128i mask = _mm_set1_epi8 (0x0F);
  __m128i q = _mm_loadu_si128 ((const __m128i *) qs);
  __m128i lo = _mm_and_si128 (q, mask);
  __m128i hi = _mm_and_si128 (_mm_srli_epi16 (q, 4), mask);
  __m128i parts[4] = { lo, _mm_srli_si128 (lo, 8), hi, _mm_srli_si128 (hi, 8) };
  const __m256i lane = _mm256_setr_epi32 (0, 1, 2, 3, 4, 5, 6, 7);
  const __m256i one = _mm256_set1_epi32 (1);
  uint32_t qh;
  __m256i h;

  memcpy (&qh, qh_bytes, 4);
  h = _mm256_set1_epi32 ((int) qh);
  for (int p = 0; p < 4; p++)
    {
      __m256i shift = _mm256_add_epi32 (lane, _mm256_set1_epi32 (8 * p));
      __m256i bit = _mm256_and_si256 (_mm256_srlv_epi32 (h, shift), one);
      __m256i n = _mm256_cvtepu8_epi32 (parts[p]);

      v[p] = _mm256_cvtepi32_ps (_mm256_or_si256 (n, _mm256_slli_epi32 (bit, 4)));
    }
}

static void
k_scale_min (int j, const uint8_t *s, float *sc, float *mn)
{
  if (j < 4)
    {
      *sc = (float) (s[j] & 63);
      *mn = (float) (s[j + 4] & 63);
    }
  else
    {
      *sc = (float) ((s[j + 4] & 0x0F) | ((s[j - 4] >> 6) << 4));
      *mn = (float) ((s[j + 4] >> 4) | ((s[j] >> 6) << 4));
    }
}

/* One 256-element K-quant super-block to float. */
static void
dequant_q4_k (const uint8_t *b, float *y)
{
  float d = load_f16 (b), dmin = load_f16 (b + 2);
  const uint8_t *scales = b + 4, *qs = b + 16;

  for (int g = 0; g < 4; g++)
    {
      float sc0, mn0, sc1, mn1;

      k_scale_min (2 * g, scales, &sc0, &mn0);
      k_scale_min (2 * g + 1, scales, &sc1, &mn1);
      for (int l = 0; l < 32; l++)
        {
          y[64 * g + l] = d * sc0 * (float) (qs[32 * g + l] & 0xF) - dmin * mn0;
          y[64 * g + 32 + l] = d * sc1 * (float) (qs[32 * g + l] >> 4) - dmin * mn1;
        }
    }
}

static void
dequant_q5_k (const uint8_t *b, float *y)
{
  float d = load_f16 (b), dmin = load_f16 (b + 2);
  const uint8_t *scales = b + 4, *qh = b + 16, *qs = b + 48;

  for (int g = 0; g < 4; g++)
    {
      float sc0, mn0, sc1, mn1;

      k_scale_min (2 * g, scales, &sc0, &mn0);
      k_scale_min (2 * g + 1, scales, &sc1, &mn1);
      for (int l = 0; l < 32; l++)
        {
          int lo = (qs[32 * g + l] & 0xF) + (((qh[l] >> (2 * g)) & 1) << 4);
          int hi = (qs[32 * g + l] >> 4) + (((qh[l] >> (2 * g + 1)) & 1) << 4);

          y[64 * g + l] = d * sc0 * (float) lo - dmin * mn0;
          y[64 * g + 32 + l] = d * sc1 * (float) hi - dmin * mn1;
        }
    }
}

static void
dequant_q6_k (const uint8_t *b, float *y)
{
  const uint8_t *ql = b, *qh = b + 128;
  const int8_t *sc = (const int8_t *) (b + 192);
  float d = load_f16 (b + 208);

  for (int t = 0; t < 2; t++)
    {
      const uint8_t *L = ql + 64 * t, *H = qh + 32 * t;
      const int8_t *S = sc + 8 * t;
      float *o = y + 128 * t;

      for (int l = 0; l < 32; l++)
        {
          int k = l / 16;

          o[l] = d * S[k] * (float) (((L[l] & 0xF) | ((H[l] & 3) << 4)) - 32);
          o[l + 32] = d * S[k + 2] * (float) (((L[l + 32] & 0xF) | (((H[l] >> 2) & 3) << 4)) - 32);
          o[l + 64] = d * S[k + 4] * (float) (((L[l] >> 4) | (((H[l] >> 4) & 3) << 4)) - 32);
          o[l + 96] = d * S[k + 6] * (float) (((L[l + 32] >> 4) | (((H[l] >> 6) & 3) << 4)) - 32);
        }
    }
}

gboolean
temper_cpu_avx2_handles (int type)
{
  switch (type)
    {
    case TEMPER_TYPE_F32: case TEMPER_TYPE_F16: case TEMPER_TYPE_BF16:
    case TEMPER_TYPE_Q4_0: case TEMPER_TYPE_Q4_1: case TEMPER_TYPE_Q5_0:
    case TEMPER_TYPE_Q5_1: case TEMPER_TYPE_Q8_0: case TEMPER_TYPE_Q4_K:
    case TEMPER_TYPE_Q5_K: case TEMPER_TYPE_Q6_K: case TEMPER_TYPE_NF4:
      return TRUE;
    default:
      return FALSE;
    }
}

/* NF4 (engine/formats/temper-nf4.c): blocks of 64, an fp32 absmax then 32
 * bytes of codes, the first weight of each pair in the high nibble.  The code
 * book is bitsandbytes' (functional.get_4bit_type("nf4")), copied here for
 * the reason given above block_bytes(). */
static const float nf4_values[16] = {
  -1.0f, -0.6961928009986877f, -0.5250730514526367f, -0.39491748809814453f,
  -0.28444138169288635f, -0.18477343022823334f, -0.09105003625154495f, 0.0f,
  0.07958029955625534f, 0.16093020141124725f, 0.24611230194568634f, 0.33791524171829224f,
  0.44070982933044434f, 0.5626170039176941f, 0.7229568362236023f, 1.0f,
};

/* Eight codes (0..15, one per 32-bit lane) to their values: the low three
 * bits pick within each half of the book, bit 3 picks the half. */
static ALWAYS_INLINE __m256
nf4_lookup (__m256i codes, __m256 book_lo, __m256 book_hi)
{
  __m256 lo = _mm256_permutevar8x32_ps (book_lo, codes);
  __m256 hi = _mm256_permutevar8x32_ps (book_hi, codes);

  return _mm256_blendv_ps (lo, hi, _mm256_castsi256_ps (_mm256_slli_epi32 (codes, 28)));
}

/* One 36-byte block to 64 floats. */
static ALWAYS_INLINE void
dequant_nf4_block (const uint8_t *b, float *out, __m256 book_lo, __m256 book_hi)
{
  const __m128i low_nibbles = _mm_set1_epi8 (0x0f);
  float absmax;
  __m256 scale;

  memcpy (&absmax, b, 4);
  scale = _mm256_set1_ps (absmax);
  for (int half = 0; half < 2; half++)
    {
      __m128i bytes = _mm_loadu_si128 ((const __m128i *) (b + 4 + 16 * half));
      __m128i hi = _mm_and_si128 (_mm_srli_epi16 (bytes, 4), low_nibbles);
      __m128i lo = _mm_and_si128 (bytes, low_nibbles);
      /* High nibble first: codes in element order, 16 per register. */
      __m128i codes[2] = { _mm_unpacklo_epi8 (hi, lo), _mm_unpackhi_epi8 (hi, lo) };

      for (int c = 0; c < 2; c++)
        {
          __m256i first = _mm256_cvtepu8_epi32 (codes[c]);
          __m256i second = _mm256_cvtepu8_epi32 (_mm_srli_si128 (codes[c], 8));
          float *o = out + 32 * half + 16 * c;

          _mm256_storeu_ps (o, _mm256_mul_ps (nf4_lookup (first, book_lo, book_hi), scale));
          _mm256_storeu_ps (o + 8, _mm256_mul_ps (nf4_lookup (second, book_lo, book_hi), scale));
        }
    }
}

static void
dequant_nf4 (const uint8_t *p, int64_t n, float *out)
{
  __m256 book_lo = _mm256_loadu_ps (nf4_values);
  __m256 book_hi = _mm256_loadu_ps (nf4_values + 8);

  for (int64_t i = 0; i < n; i += 64, p += 36)
    dequant_nf4_block (p, out + i, book_lo, book_hi);
}

/* The 32 values of one 32-element block as four vectors of 8: v = d·q + m. */
static ALWAYS_INLINE void
block32_to_ps (int type, const uint8_t *b, __m256 v[4], __m256 *d, __m256 *m)
{
  switch (type)
    {
    case TEMPER_TYPE_Q4_0:
      nibbles_to_ps (b + 2, v);
      *d = _mm256_set1_ps (load_f16 (b));
      *m = _mm256_set1_ps (-8.0f * load_f16 (b));
      break;
    case TEMPER_TYPE_Q4_1:
      nibbles_to_ps (b + 4, v);
      *d = _mm256_set1_ps (load_f16 (b));
      *m = _mm256_set1_ps (load_f16 (b + 2));
      break;
    case TEMPER_TYPE_Q5_0:
      q5_to_ps (b + 2, b + 6, v);
      *d = _mm256_set1_ps (load_f16 (b));
      *m = _mm256_set1_ps (-16.0f * load_f16 (b));
      break;
    case TEMPER_TYPE_Q5_1:
      q5_to_ps (b + 4, b + 8, v);
      *d = _mm256_set1_ps (load_f16 (b));
      *m = _mm256_set1_ps (load_f16 (b + 2));
      break;
    default: /* Q8_0 */
      {
        __m128i lo = _mm_loadu_si128 ((const __m128i *) (b + 2));
        __m128i hi = _mm_loadu_si128 ((const __m128i *) (b + 18));

        v[0] = i8x8_to_ps (lo);
        v[1] = i8x8_to_ps (_mm_srli_si128 (lo, 8));
        v[2] = i8x8_to_ps (hi);
        v[3] = i8x8_to_ps (_mm_srli_si128 (hi, 8));
        *d = _mm256_set1_ps (load_f16 (b));
        *m = _mm256_setzero_ps ();
      }
      break;
    }
}

/* One copy of each block loop per type (the callers switch once), so block
 * decoding is inlined without a branch per block. */
static ALWAYS_INLINE void
dequant_block32 (int type, const uint8_t *p, int64_t n, float *out)
{
  size_t bytes = block_bytes (type);

  for (int64_t i = 0; i < n; i += 32, p += bytes)
    {
      __m256 v[4], d, m;

      block32_to_ps (type, p, v, &d, &m);
      for (int k = 0; k < 4; k++)
        _mm256_storeu_ps (out + i + 8 * k, _mm256_fmadd_ps (v[k], d, m));
    }
}

void
temper_cpu_avx2_dequant_row (int type, const void *src, int64_t n, float *out)
{
  const uint8_t *p = src;

  if (type == TEMPER_TYPE_F32)
    {
      memcpy (out, src, (size_t) n * sizeof (float));
      return;
    }
  if (type == TEMPER_TYPE_F16 || type == TEMPER_TYPE_BF16)
    {
      int64_t i = 0;

      for (; i + 8 <= n; i += 8)
        {
          __m128i h = _mm_loadu_si128 ((const __m128i *) (p + 2 * i));
          __m256 f = type == TEMPER_TYPE_F16
            ? _mm256_cvtph_ps (h)
            : _mm256_castsi256_ps (_mm256_slli_epi32 (_mm256_cvtepu16_epi32 (h), 16));
          _mm256_storeu_ps (out + i, f);
        }
      for (; i < n; i++)
        {
          uint16_t h;

          memcpy (&h, p + 2 * i, 2);
          out[i] = type == TEMPER_TYPE_F16 ? _cvtsh_ss (h) : bf16_to_f32 (h);
        }
      return;
    }
  switch (type)
    {
    case TEMPER_TYPE_Q4_0: dequant_block32 (TEMPER_TYPE_Q4_0, p, n, out); return;
    case TEMPER_TYPE_Q4_1: dequant_block32 (TEMPER_TYPE_Q4_1, p, n, out); return;
    case TEMPER_TYPE_Q5_0: dequant_block32 (TEMPER_TYPE_Q5_0, p, n, out); return;
    case TEMPER_TYPE_Q5_1: dequant_block32 (TEMPER_TYPE_Q5_1, p, n, out); return;
    case TEMPER_TYPE_Q8_0: dequant_block32 (TEMPER_TYPE_Q8_0, p, n, out); return;
    case TEMPER_TYPE_NF4:  dequant_nf4 (p, n, out); return;
    default: break;
    }
  for (int64_t i = 0; i < n; i += 256)
    {
      switch (type)
        {
        case TEMPER_TYPE_Q4_K: dequant_q4_k (p, out + i); p += 144; break;
        case TEMPER_TYPE_Q5_K: dequant_q5_k (p, out + i); p += 176; break;
        default:               dequant_q6_k (p, out + i); p += 210; break;
        }
    }
}

float
temper_cpu_avx2_dot_f32 (const float *a, const float *b, int64_t n)
{
  __m256 acc0 = _mm256_setzero_ps (), acc1 = _mm256_setzero_ps ();
  int64_t i = 0;
  float sum;

  for (; i + 16 <= n; i += 16)
    {
      acc0 = _mm256_fmadd_ps (_mm256_loadu_ps (a + i), _mm256_loadu_ps (b + i), acc0);
      acc1 = _mm256_fmadd_ps (_mm256_loadu_ps (a + i + 8), _mm256_loadu_ps (b + i + 8), acc1);
    }
  for (; i + 8 <= n; i += 8)
    acc0 = _mm256_fmadd_ps (_mm256_loadu_ps (a + i), _mm256_loadu_ps (b + i), acc0);
  sum = hsum (_mm256_add_ps (acc0, acc1));
  for (; i < n; i++)
    sum += a[i] * b[i];
  return sum;
}

void
temper_cpu_avx2_axpy (float a, const float *x, float *y, int64_t n)
{
  __m256 va = _mm256_set1_ps (a);
  int64_t i = 0;

  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps (y + i, _mm256_fmadd_ps (va, _mm256_loadu_ps (x + i),
                                              _mm256_loadu_ps (y + i)));
  for (; i < n; i++)
    y[i] += a * x[i];
}

/* Σ (d·q + m)·x = d·Σ q·x + m·Σ x, per block. */
static ALWAYS_INLINE float
dot_block32 (int type, const uint8_t *p, const float *x, int64_t n)
{
  size_t bytes = block_bytes (type);
  __m256 acc = _mm256_setzero_ps (), acc_m = _mm256_setzero_ps ();

  for (int64_t i = 0; i < n; i += 32, p += bytes)
    {
      __m256 v[4], d, m, x0, x1, x2, x3, qx, sx;

      block32_to_ps (type, p, v, &d, &m);
      x0 = _mm256_loadu_ps (x + i);
      x1 = _mm256_loadu_ps (x + i + 8);
      x2 = _mm256_loadu_ps (x + i + 16);
      x3 = _mm256_loadu_ps (x + i + 24);
      qx = _mm256_mul_ps (v[0], x0);
      qx = _mm256_fmadd_ps (v[1], x1, qx);
      qx = _mm256_fmadd_ps (v[2], x2, qx);
      qx = _mm256_fmadd_ps (v[3], x3, qx);
      acc = _mm256_fmadd_ps (d, qx, acc);
      if (type != TEMPER_TYPE_Q8_0)
        {
          sx = _mm256_add_ps (_mm256_add_ps (x0, x1), _mm256_add_ps (x2, x3));
          acc_m = _mm256_fmadd_ps (m, sx, acc_m);
        }
    }
  return hsum (_mm256_add_ps (acc, acc_m));
}

float
temper_cpu_avx2_dot_row (int type, const void *w, const float *x, int64_t n)
{
  const uint8_t *p = w;

  if (type == TEMPER_TYPE_F32)
    return temper_cpu_avx2_dot_f32 (w, x, n);
  switch (type)
    {
    case TEMPER_TYPE_Q4_0: return dot_block32 (TEMPER_TYPE_Q4_0, p, x, n);
    case TEMPER_TYPE_Q4_1: return dot_block32 (TEMPER_TYPE_Q4_1, p, x, n);
    case TEMPER_TYPE_Q5_0: return dot_block32 (TEMPER_TYPE_Q5_0, p, x, n);
    case TEMPER_TYPE_Q5_1: return dot_block32 (TEMPER_TYPE_Q5_1, p, x, n);
    case TEMPER_TYPE_Q8_0: return dot_block32 (TEMPER_TYPE_Q8_0, p, x, n);
    default: break;
    }
  if (type == TEMPER_TYPE_F16 || type == TEMPER_TYPE_BF16)
    {
      __m256 acc = _mm256_setzero_ps ();
      int64_t i = 0;
      float sum;

      for (; i + 8 <= n; i += 8)
        {
          __m128i h = _mm_loadu_si128 ((const __m128i *) (p + 2 * i));
          __m256 f = type == TEMPER_TYPE_F16
            ? _mm256_cvtph_ps (h)
            : _mm256_castsi256_ps (_mm256_slli_epi32 (_mm256_cvtepu16_epi32 (h), 16));
          acc = _mm256_fmadd_ps (f, _mm256_loadu_ps (x + i), acc);
        }
      sum = hsum (acc);
      for (; i < n; i++)
        {
          uint16_t h;

          memcpy (&h, p + 2 * i, 2);
          sum += (type == TEMPER_TYPE_F16 ? _cvtsh_ss (h) : bf16_to_f32 (h)) * x[i];
        }
      return sum;
    }
  if (type == TEMPER_TYPE_NF4)
    {
      float tile[64];
      float sum = 0.0f;

      for (int64_t i = 0; i < n; i += 64, p += 36)
        {
          dequant_nf4 (p, 64, tile);
          sum += temper_cpu_avx2_dot_f32 (tile, x + i, 64);
        }
      return sum;
    }
  /* K-quants: one super-block at a time through a small stack tile. */
  {
    float tile[256];
    float sum = 0.0f;
    size_t bytes = block_bytes (type);

    for (int64_t i = 0; i < n; i += 256, p += bytes)
      {
        temper_cpu_avx2_dequant_row (type, p, 256, tile);
        sum += temper_cpu_avx2_dot_f32 (tile, x + i, 256);
      }
    return sum;
  }
}

gboolean
temper_cpu_avx2_handles_q8 (int type)
{
  return type == TEMPER_TYPE_Q4_0 || type == TEMPER_TYPE_Q4_1 || type == TEMPER_TYPE_Q5_0 ||
         type == TEMPER_TYPE_Q5_1 || type == TEMPER_TYPE_Q8_0;
}

void
temper_cpu_avx2_quantize_q8 (const float *x, int64_t n, int8_t *q, float *d, float *s)
{
  const __m256 sign_off = _mm256_set1_ps (-0.0f);

  for (int64_t b = 0; b < n / 32; b++)
    {
      const float *xb = x + 32 * b;
      __m256 v[4], amax = _mm256_setzero_ps ();
      __m256i qi[4], packed;
      float m, scale, inv;
      int sum = 0;

      for (int k = 0; k < 4; k++)
        {
          v[k] = _mm256_loadu_ps (xb + 8 * k);
          amax = _mm256_max_ps (amax, _mm256_andnot_ps (sign_off, v[k]));
        }
      {
        __m128 a = _mm_max_ps (_mm256_castps256_ps128 (amax), _mm256_extractf128_ps (amax, 1));
        a = _mm_max_ps (a, _mm_movehl_ps (a, a));
        a = _mm_max_ss (a, _mm_movehdup_ps (a));
        m = _mm_cvtss_f32 (a);
      }
      scale = m / 127.0f;
      inv = scale != 0.0f ? 1.0f / scale : 0.0f;
      for (int k = 0; k < 4; k++)
        qi[k] = _mm256_cvtps_epi32 (_mm256_round_ps (_mm256_mul_ps (v[k], _mm256_set1_ps (inv)),
                                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
      /* Pack 4×8 int32 to 32 int8 in element order. */
      packed = _mm256_packs_epi16 (_mm256_packs_epi32 (qi[0], qi[1]), _mm256_packs_epi32 (qi[2], qi[3]));
      packed = _mm256_permutevar8x32_epi32 (packed, _mm256_setr_epi32 (0, 4, 1, 5, 2, 6, 3, 7));
      _mm256_storeu_si256 ((__m256i *) (q + 32 * b), packed);
      for (int k = 0; k < 32; k++)
        sum += q[32 * b + k];
      d[b] = scale;
      s[b] = scale * (float) sum;
    }
}

/* The 32 bytes of bit j of @qh_bytes as 0x10 (bit set) or 0. */
static ALWAYS_INLINE __m256i
q5_high_bits (const uint8_t *qh_bytes)
{
  uint32_t qh;
  __m256i bytes, bit_mask;

  memcpy (&qh, qh_bytes, 4);
  /* Byte j gets qh byte j/8; then test bit j%8. */
  bytes = _mm256_shuffle_epi8 (_mm256_set1_epi32 ((int) qh),
                               _mm256_setr_epi64x (0, 0x0101010101010101ll,
                                                   0x0202020202020202ll, 0x0303030303030303ll));
  bit_mask = _mm256_set1_epi64x ((long long) 0x8040201008040201ull);
  bytes = _mm256_cmpeq_epi8 (_mm256_and_si256 (bytes, bit_mask), bit_mask);
  return _mm256_and_si256 (bytes, _mm256_set1_epi8 (0x10));
}

/* The unsigned quant values of a 4/5-bit block as 32 bytes in element order. */
static ALWAYS_INLINE __m256i
unsigned_quants (const uint8_t *qs)
{
  __m128i q = _mm_loadu_si128 ((const __m128i *) qs);
  __m128i mask = _mm_set1_epi8 (0x0F);

  return _mm256_set_m128i (_mm_and_si128 (_mm_srli_epi16 (q, 4), mask), _mm_and_si128 (q, mask));
}

static ALWAYS_INLINE __m256
dot_u8_i8 (__m256i u, __m256i s)
{
  __m256i pairs = _mm256_maddubs_epi16 (u, s);

  return _mm256_cvtepi32_ps (_mm256_madd_epi16 (pairs, _mm256_set1_epi16 (1)));
}

/* Σ w·x with w = d·u + m (or d·(u − offset)) per block: the integer part
 * d·dx·Σu·q plus m·s, where s = dx·Σq. */
static ALWAYS_INLINE float
dot_q8_block32 (int type, const uint8_t *p, const int8_t *q, const float *dx,
                const float *sx, int64_t n)
{
  size_t bytes = block_bytes (type);
  __m256 acc = _mm256_setzero_ps ();
  float acc_m = 0.0f;

  for (int64_t b = 0; b < n / 32; b++, p += bytes)
    {
      __m256i xq = _mm256_loadu_si256 ((const __m256i *) (q + 32 * b));
      float d = load_f16 (p), m;
      __m256 part;

      switch (type)
        {
        case TEMPER_TYPE_Q4_0:
          part = dot_u8_i8 (unsigned_quants (p + 2), xq);
          m = -8.0f * d;
          break;
        case TEMPER_TYPE_Q4_1:
          part = dot_u8_i8 (unsigned_quants (p + 4), xq);
          m = load_f16 (p + 2);
          break;
        case TEMPER_TYPE_Q5_0:
          part = dot_u8_i8 (_mm256_or_si256 (unsigned_quants (p + 6), q5_high_bits (p + 2)), xq);
          m = -16.0f * d;
          break;
        case TEMPER_TYPE_Q5_1:
          part = dot_u8_i8 (_mm256_or_si256 (unsigned_quants (p + 8), q5_high_bits (p + 4)), xq);
          m = load_f16 (p + 2);
          break;
        default: /* Q8_0: signed × signed through |w| and x carrying w's sign */
          {
            __m256i w = _mm256_loadu_si256 ((const __m256i *) (p + 2));

            part = dot_u8_i8 (_mm256_sign_epi8 (w, w), _mm256_sign_epi8 (xq, w));
            m = 0.0f;
          }
          break;
        }
      acc = _mm256_fmadd_ps (_mm256_set1_ps (d * dx[b]), part, acc);
      acc_m += m * sx[b];
    }
  return hsum (acc) + acc_m;
}

float
temper_cpu_avx2_dot_row_q8 (int type, const void *w, const int8_t *q,
                            const float *d, const float *s, int64_t n)
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

/* Four rows of a 4- or 5-bit block type @stride bytes apart, each block of
 * x loaded once for the four.  Q4_0's and Q5_0's offsets (8, 16) come off
 * the integer pair sums (offset·x per pair, once per block for the four
 * rows); Q4_1's and Q5_1's stored minimum is the one-row kernel's float
 * term m·s.  (Q8_0 stays one row at a time: with twice the bytes per
 * element it waits on memory, and four rows at once measured slower.) */
static ALWAYS_INLINE void
dot_4rows_block32 (int type, const uint8_t *p, size_t stride, const int8_t *q, const float *dx,
                   const float *sx, int64_t n, float out[4])
{
  const __m256i ones = _mm256_set1_epi16 (1);
  const gboolean offset = type == TEMPER_TYPE_Q4_0 || type == TEMPER_TYPE_Q5_0;
  const gboolean stored_min = type == TEMPER_TYPE_Q4_1 || type == TEMPER_TYPE_Q5_1;
  const __m256i offset_bytes = _mm256_set1_epi8 (type == TEMPER_TYPE_Q5_0 ? 16 : 8);
  size_t bytes = block_bytes (type);
  __m256 acc[4] = { _mm256_setzero_ps (), _mm256_setzero_ps (), _mm256_setzero_ps (), _mm256_setzero_ps () };
  float acc_m[4] = { 0.0f, 0.0f, 0.0f, 0.0f };
  __m128 sums;

  for (int64_t b = 0; b < n / 32; b++, p += bytes)
    {
      __m256i x = _mm256_loadu_si256 ((const __m256i *) (q + 32 * b));
      __m256i off = offset ? _mm256_maddubs_epi16 (offset_bytes, x) : _mm256_setzero_si256 ();
      __m256 d = _mm256_broadcast_ss (dx + b);

#pragma GCC unroll 4
      for (int r = 0; r < 4; r++)
        {
          const uint8_t *pr = p + r * stride;
          __m256i pairs;

          switch (type)
            {
            case TEMPER_TYPE_Q4_0:
              pairs = _mm256_sub_epi16 (_mm256_maddubs_epi16 (nibbles_32 (pr + 2), x), off);
              break;
            case TEMPER_TYPE_Q5_0:
              pairs = _mm256_sub_epi16 (_mm256_maddubs_epi16 (_mm256_or_si256 (nibbles_32 (pr + 6), q5_high_bits (pr + 2)), x),
                                        off);
              break;
            case TEMPER_TYPE_Q4_1:
              pairs = _mm256_maddubs_epi16 (nibbles_32 (pr + 4), x);
              break;
            default: /* Q5_1 */
              pairs = _mm256_maddubs_epi16 (_mm256_or_si256 (nibbles_32 (pr + 8), q5_high_bits (pr + 4)), x);
              break;
            }
          acc[r] = _mm256_fmadd_ps (_mm256_cvtepi32_ps (_mm256_madd_epi16 (pairs, ones)),
                                    _mm256_mul_ps (d, _mm256_set1_ps (load_f16 (pr))), acc[r]);
          if (stored_min)
            /* fused, as the one-row kernel's m·s term compiles */
            acc_m[r] = __builtin_fmaf (load_f16 (pr + 2), sx[b], acc_m[r]);
        }
    }
  sums = hsum4_ps (acc[0], acc[1], acc[2], acc[3]);
  if (stored_min)
    sums = _mm_add_ps (sums, _mm_loadu_ps (acc_m));
  _mm_storeu_ps (out, sums);
}

gboolean
temper_cpu_avx2_handles_q8_4rows (int type)
{
  return temper_cpu_avx2_handles_q8 (type) && type != TEMPER_TYPE_Q8_0;
}

void
temper_cpu_avx2_dot_4rows_q8 (int type, const void *w, size_t row_bytes, const int8_t *q,
                              const float *d, const float *s, int64_t n, float out[4])
{
  switch (type)
    {
    case TEMPER_TYPE_Q4_0: dot_4rows_block32 (TEMPER_TYPE_Q4_0, w, row_bytes, q, d, s, n, out); break;
    case TEMPER_TYPE_Q4_1: dot_4rows_block32 (TEMPER_TYPE_Q4_1, w, row_bytes, q, d, s, n, out); break;
    case TEMPER_TYPE_Q5_0: dot_4rows_block32 (TEMPER_TYPE_Q5_0, w, row_bytes, q, d, s, n, out); break;
    default:               dot_4rows_block32 (TEMPER_TYPE_Q5_1, w, row_bytes, q, d, s, n, out); break;
    }
}
