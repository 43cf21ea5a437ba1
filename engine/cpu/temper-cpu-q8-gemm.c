/* SPDX-License-Identifier: MIT */
/* Kernels for many-token products with 8-bit activations (see
 * temper-cpu-q8-gemm.h for the plan), built twice: with AVX-512 VNNI
 * (TEMPER_Q8_VNNI: vpdpbusd) and with AVX2 (vpmaddubsw, vpmaddwd); the
 * panels and their layout are the same, TEMPER_Q8_NAME names each build's
 * table.
 *
 * The sum over one block of 32 for weight row r and token t is
 *   Σᵢ w_ri·x_ti = s_r·d_t·Σᵢ u_ri·q_ti + m_r·d_t·Σᵢ q_ti
 * where u are the weight's unsigned quants (vpdpbusd multiplies unsigned by
 * signed bytes), s its scale and m its minimum: Q4_1, Q5_1 and the K-quants
 * store m; Q4_0, Q5_0, Q8_0, Q6_K and Q3_K store quants centred on an
 * offset (8, 16, 128 after flipping the sign bit, 32, 4; IQ4_NL and IQ4_XS
 * look their codes up in a signed book, then flip the sign bit as Q8_0
 * does), so m = −offset·s,
 * which is folded into the integer sum instead (it starts at −offset·Σq).
 * Q6_K, Q3_K and Q2_K have a scale per 16, so their blocks are two halves
 * with their own sums; Q2_K also a minimum per 16, added as m·d·Σq of the
 * half.
 *
 * Panel layout, per block of 32 elements: eight chunks of 128 bytes (bytes
 * 4c..4c+3 of rows 0–15, then of rows 16–31), then the 32 row scales (two
 * sets for the halves), then the 32 minimums for the types with them (two
 * sets for Q2_K's halves). */
#include "config.h"

#include <immintrin.h>
#include <string.h>

#include "temper/tensor.h"
#include "temper-cpu-q8-gemm.h"
#ifdef TEMPER_Q8_VNNI
#include "temper-cpu-panel.h"
#endif
#include "temper-cpu-simd.h"

#ifdef TEMPER_Q8_VNNI
/* Tokens per register tile: 2 × NT integer and 2 × NT float accumulators. */
#define NT 4
#else
/* Tokens per AVX2 register tile of 16 rows: 2 × NT 16-bit sums, 2 × NT
 * 32-bit sums and 2 × NT float accumulators (a few spill; on an AMD EPYC
 * under load 3 beat 2 by 5–40 % per shape and 4 was no better). */
#define NT 3
#endif

typedef enum {
  KIND_MIN,       /* one scale and one minimum per block */
  KIND_OFFSET,    /* one scale per block, quants centred on an offset */
  KIND_HALVES,    /* a scale per half block, centred on an offset (Q6_K, Q3_K) */
  KIND_HALVES_MIN, /* a scale and a minimum per half block (Q2_K) */
} Kind;

static Kind
kind_of (int type)
{
  switch (type)
    {
    case TEMPER_TYPE_Q4_1: case TEMPER_TYPE_Q5_1: case TEMPER_TYPE_Q4_K: case TEMPER_TYPE_Q5_K:
      return KIND_MIN;
    case TEMPER_TYPE_Q6_K: case TEMPER_TYPE_Q3_K:
      return KIND_HALVES;
    case TEMPER_TYPE_Q2_K:
      return KIND_HALVES_MIN;
    default:
      return KIND_OFFSET;
    }
}

static int
offset_of (int type)
{
  switch (type)
    {
    case TEMPER_TYPE_Q4_0: return 8;
    case TEMPER_TYPE_Q5_0: return 16;
    case TEMPER_TYPE_Q8_0: case TEMPER_TYPE_IQ4_NL: case TEMPER_TYPE_IQ4_XS: return 128;
    case TEMPER_TYPE_Q6_K: return 32;
    case TEMPER_TYPE_Q3_K: return 4;
    default:               return 0;
    }
}

/* Bytes of one block of the panel. */
static size_t
block_stride (Kind kind)
{
  return 8 * 128 + (kind == KIND_OFFSET ? 128 : kind == KIND_HALVES_MIN ? 512 : 256);
}

static gboolean
handles (int type)
{
  switch (type)
    {
    case TEMPER_TYPE_Q4_0: case TEMPER_TYPE_Q4_1: case TEMPER_TYPE_Q5_0: case TEMPER_TYPE_Q5_1:
    case TEMPER_TYPE_Q8_0: case TEMPER_TYPE_Q4_K: case TEMPER_TYPE_Q5_K: case TEMPER_TYPE_Q6_K:
    case TEMPER_TYPE_Q2_K: case TEMPER_TYPE_Q3_K: case TEMPER_TYPE_IQ4_NL: case TEMPER_TYPE_IQ4_XS:
      return TRUE;
    default:
      return FALSE;
    }
}

static size_t
panel_bytes (int type, int64_t n)
{
  return (size_t) (n / 32) * block_stride (kind_of (type));
}

/* ---- Activations ------------------------------------------------------ */

#ifdef TEMPER_Q8_VNNI
static void
quantize (const float *x, int64_t n, const TemperQ8Acts *a)
{
  for (int64_t b = 0; b < n / 32; b++)
    {
      __m512 v0 = _mm512_loadu_ps (x + 32 * b), v1 = _mm512_loadu_ps (x + 32 * b + 16);
      float amax = _mm512_reduce_max_ps (_mm512_max_ps (_mm512_abs_ps (v0), _mm512_abs_ps (v1)));
      /* 1/d, not 127/amax: decoding's temper_cpu_avx2_quantize_q8 () does so,
       * and the two must give the same quants (a prompt's products then
       * equal its tokens' decoded one by one). */
      float d = amax / 127.0f, inv = d != 0.0f ? 1.0f / d : 0.0f;
      __m512i q0 = _mm512_cvtps_epi32 (_mm512_mul_ps (v0, _mm512_set1_ps (inv)));
      __m512i q1 = _mm512_cvtps_epi32 (_mm512_mul_ps (v1, _mm512_set1_ps (inv)));
      int s0 = _mm512_reduce_add_epi32 (q0), s1 = _mm512_reduce_add_epi32 (q1);

      _mm_storeu_si128 ((__m128i *) (a->q + 32 * b), _mm512_cvtsepi32_epi8 (q0));
      _mm_storeu_si128 ((__m128i *) (a->q + 32 * b + 16), _mm512_cvtsepi32_epi8 (q1));
      a->d[b] = d;
      a->sum16[2 * b] = s0;
      a->sum16[2 * b + 1] = s1;
      a->sum32[b] = s0 + s1;
      a->sx[b] = d * (float) (s0 + s1);
    }
}
#else
/* The eight lanes of @v added. */
static ALWAYS_INLINE int
hsum_epi32 (__m256i v)
{
  __m128i s = _mm_add_epi32 (_mm256_castsi256_si128 (v), _mm256_extracti128_si256 (v, 1));

  s = _mm_add_epi32 (s, _mm_shuffle_epi32 (s, _MM_SHUFFLE (1, 0, 3, 2)));
  s = _mm_add_epi32 (s, _mm_shuffle_epi32 (s, _MM_SHUFFLE (2, 3, 0, 1)));
  return _mm_cvtsi128_si32 (s);
}

/* As the AVX-512 build rounds: the same scale, the same products rounded
 * to nearest even, so both builds give the same quants. */
static void
quantize (const float *x, int64_t n, const TemperQ8Acts *a)
{
  const __m256 sign = _mm256_set1_ps (-0.0f);

  for (int64_t b = 0; b < n / 32; b++)
    {
      __m256 v[4], amax = _mm256_setzero_ps ();
      __m256i q[4], packed;
      __m128 m;
      float d, inv;
      int s0, s1;

      for (int k = 0; k < 4; k++)
        {
          v[k] = _mm256_loadu_ps (x + 32 * b + 8 * k);
          amax = _mm256_max_ps (amax, _mm256_andnot_ps (sign, v[k]));
        }
      m = _mm_max_ps (_mm256_castps256_ps128 (amax), _mm256_extractf128_ps (amax, 1));
      m = _mm_max_ps (m, _mm_movehl_ps (m, m));
      m = _mm_max_ss (m, _mm_movehdup_ps (m));
      d = _mm_cvtss_f32 (m) / 127.0f;
      inv = d != 0.0f ? 1.0f / d : 0.0f;   /* as decoding rounds (above) */
      for (int k = 0; k < 4; k++)
        q[k] = _mm256_cvtps_epi32 (_mm256_mul_ps (v[k], _mm256_set1_ps (inv)));
      s0 = hsum_epi32 (_mm256_add_epi32 (q[0], q[1]));
      s1 = hsum_epi32 (_mm256_add_epi32 (q[2], q[3]));
      /* 4 × 8 int32 to 32 int8 in element order (the packs interleave
       * 128-bit lanes; the permutation undoes it). */
      packed = _mm256_packs_epi16 (_mm256_packs_epi32 (q[0], q[1]), _mm256_packs_epi32 (q[2], q[3]));
      packed = _mm256_permutevar8x32_epi32 (packed, _mm256_setr_epi32 (0, 4, 1, 5, 2, 6, 3, 7));
      _mm256_storeu_si256 ((__m256i *) (a->q + 32 * b), packed);
      a->d[b] = d;
      a->sum16[2 * b] = s0;
      a->sum16[2 * b + 1] = s1;
      a->sum32[b] = s0 + s1;
      a->sx[b] = d * (float) (s0 + s1);
    }
}
#endif

/* ---- Weights to panels ------------------------------------------------- */

/* 32 nibbles of 16 bytes in element order: low nibbles, then high ones. */
static ALWAYS_INLINE __m256i
nibbles (const uint8_t *qs)
{
  __m128i q = _mm_loadu_si128 ((const __m128i *) qs);
  __m128i mask = _mm_set1_epi8 (0x0F);

  return _mm256_set_m128i (_mm_and_si128 (_mm_srli_epi16 (q, 4), mask), _mm_and_si128 (q, mask));
}

/* Bit j of the 32-bit word at @qh as 0x10 in byte j. */
static ALWAYS_INLINE __m256i
fifth_bits (const uint8_t *qh)
{
  uint32_t bits;

  memcpy (&bits, qh, 4);
#ifdef TEMPER_Q8_VNNI
  return _mm256_maskz_set1_epi8 ((__mmask32) bits, 0x10);
#else
  {
    /* Byte j gets byte j / 8 of the word, then keeps bit j mod 8. */
    const __m256i spread = _mm256_setr_epi8 (0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,
                                             2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
    const __m256i bit = _mm256_set1_epi64x ((long long) 0x8040201008040201ULL);
    __m256i v = _mm256_and_si256 (_mm256_shuffle_epi8 (_mm256_set1_epi32 ((int) bits), spread), bit);

    return _mm256_and_si256 (_mm256_cmpeq_epi8 (v, bit), _mm256_set1_epi8 (0x10));
  }
#endif
}

/* Bit @bit of each of the 32 bytes at @p, as 0x10. */
static ALWAYS_INLINE __m256i
bit_of_bytes (const uint8_t *p, int bit)
{
  __m256i v = _mm256_loadu_si256 ((const __m256i *) p);

  v = bit <= 4 ? _mm256_sll_epi16 (v, _mm_cvtsi32_si128 (4 - bit))
               : _mm256_srl_epi16 (v, _mm_cvtsi32_si128 (bit - 4));
  return _mm256_and_si256 (v, _mm256_set1_epi8 (0x10));
}

static void
k_scale_min (int j, const uint8_t *s, int *sc, int *mn)
{
  if (j < 4)
    {
      *sc = s[j] & 63;
      *mn = s[j + 4] & 63;
    }
  else
    {
      *sc = (s[j + 4] & 0x0F) | ((s[j - 4] >> 6) << 4);
      *mn = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
    }
}

/* The signed 6-bit scale of Q3_K sub-block j (of 16): its low four bits in
 * a nibble of bytes 0–7, its high two in bytes 8–11, minus 32. */
static ALWAYS_INLINE int
q3_k_scale (const uint8_t *s, int j)
{
  int low = j < 8 ? s[j] & 0x0F : s[j - 8] >> 4;
  int high = (s[8 + j % 4] >> (2 * (j / 4))) & 3;

  return (low | (high << 4)) - 32;
}

/* The 2-bit codes of 32-block j (0–7) of a Q2_K/Q3_K super-block: bits
 * 2(j mod 4) of qs[32(j div 4) + l]. */
static ALWAYS_INLINE __m256i
two_bit_codes (const uint8_t *qs, int j)
{
  __m256i v = _mm256_loadu_si256 ((const __m256i *) (qs + 32 * (j / 4)));

  return _mm256_and_si256 (_mm256_srl_epi16 (v, _mm_cvtsi32_si128 (2 * (j % 4))), _mm256_set1_epi8 (3));
}

/* The 32 codes of an IQ4 group (packed as Q4_0's nibbles) through the code
 * book (ggml's kvalues_iq4nl), plus 128: unsigned bytes centred on 128. */
static ALWAYS_INLINE __m256i
iq4_unsigned (const uint8_t *qs)
{
  const __m256i book = _mm256_setr_epi8 (-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113,
                                         -127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113);

  return _mm256_xor_si256 (_mm256_shuffle_epi8 (book, nibbles (qs)), _mm256_set1_epi8 ((char) 0x80));
}

/* Block @b of one row: its 32 unsigned quants, scale(s) and minimum(s). */
static ALWAYS_INLINE __m256i
decode_block (int type, const uint8_t *row, int64_t b, float *s, float *s2, float *m, float *m2)
{
  switch (type)
    {
    case TEMPER_TYPE_Q8_0:
      {
        const uint8_t *p = row + 34 * b;

        *s = load_f16 (p);
        return _mm256_xor_si256 (_mm256_loadu_si256 ((const __m256i *) (p + 2)),
                                 _mm256_set1_epi8 ((char) 0x80));
      }
    case TEMPER_TYPE_Q4_0:
      *s = load_f16 (row + 18 * b);
      return nibbles (row + 18 * b + 2);
    case TEMPER_TYPE_IQ4_NL:
      *s = load_f16 (row + 18 * b);
      return iq4_unsigned (row + 18 * b + 2);
    case TEMPER_TYPE_IQ4_XS:
      {
        /* fp16 d, 16 bits of high scale bits, 4 bytes of low scale nibbles,
         * eight groups of 16 bytes; group j's scale is d·(6 bits − 32). */
        const uint8_t *p = row + 136 * (b / 8);
        int j = (int) (b % 8);
        unsigned high = (unsigned) p[2] | ((unsigned) p[3] << 8);
        int ls = ((p[4 + j / 2] >> (4 * (j % 2))) & 0x0F) | (((high >> (2 * j)) & 3) << 4);

        *s = load_f16 (p) * (float) (ls - 32);
        return iq4_unsigned (p + 8 + 16 * j);
      }
    case TEMPER_TYPE_Q4_1:
      *s = load_f16 (row + 20 * b);
      *m = load_f16 (row + 20 * b + 2);
      return nibbles (row + 20 * b + 4);
    case TEMPER_TYPE_Q5_0:
      *s = load_f16 (row + 22 * b);
      return _mm256_or_si256 (nibbles (row + 22 * b + 6), fifth_bits (row + 22 * b + 2));
    case TEMPER_TYPE_Q5_1:
      *s = load_f16 (row + 24 * b);
      *m = load_f16 (row + 24 * b + 2);
      return _mm256_or_si256 (nibbles (row + 24 * b + 8), fifth_bits (row + 24 * b + 4));
    case TEMPER_TYPE_Q4_K:
    case TEMPER_TYPE_Q5_K:
      {
        gboolean five = type == TEMPER_TYPE_Q5_K;
        const uint8_t *p = row + (five ? 176 : 144) * (b / 8);
        const uint8_t *qs = p + (five ? 48 : 16);
        int j = (int) (b % 8), sc, mn;
        __m256i q = _mm256_loadu_si256 ((const __m256i *) (qs + 32 * (j / 2)));

        k_scale_min (j, p + 4, &sc, &mn);
        *s = load_f16 (p) * (float) sc;
        *m = -load_f16 (p + 2) * (float) mn;
        q = (j & 1) ? _mm256_srli_epi16 (q, 4) : q;
        q = _mm256_and_si256 (q, _mm256_set1_epi8 (0x0F));
        if (five)
          q = _mm256_or_si256 (q, bit_of_bytes (p + 16, j));
        return q;
      }
    case TEMPER_TYPE_Q3_K:
      {
        /* 32 bytes of high bits (bit j of hmask[l]), 64 of 2-bit codes, 12
         * of scales, fp16 d: value d·sc·(low + 4·high − 4). */
        const uint8_t *p = row + 110 * (b / 8);
        int j = (int) (b % 8);
        float d = load_f16 (p + 108);
        __m256i high = _mm256_and_si256 (_mm256_srl_epi16 (_mm256_loadu_si256 ((const __m256i *) p),
                                                           _mm_cvtsi32_si128 (j)),
                                         _mm256_set1_epi8 (1));

        *s = d * (float) q3_k_scale (p + 96, 2 * j);
        *s2 = d * (float) q3_k_scale (p + 96, 2 * j + 1);
        return _mm256_or_si256 (two_bit_codes (p + 32, j), _mm256_slli_epi16 (high, 2));
      }
    case TEMPER_TYPE_Q2_K:
      {
        /* 16 bytes of 4-bit scale (low) and min (high) per 16, 64 of 2-bit
         * codes, fp16 d and dmin: value d·sc·u − dmin·mn. */
        const uint8_t *p = row + 84 * (b / 8);
        int j = (int) (b % 8);
        float d = load_f16 (p + 80), dmin = load_f16 (p + 82);

        *s = d * (float) (p[2 * j] & 0x0F);
        *s2 = d * (float) (p[2 * j + 1] & 0x0F);
        *m = -dmin * (float) (p[2 * j] >> 4);
        *m2 = -dmin * (float) (p[2 * j + 1] >> 4);
        return two_bit_codes (p + 16, j);
      }
    default: /* Q6_K */
      {
        const uint8_t *p = row + 210 * (b / 8);
        int j = (int) (b % 8), t = j / 4, g = j % 4;
        const int8_t *sc = (const int8_t *) (p + 192) + 8 * t + 2 * g;
        float d = load_f16 (p + 208);
        __m256i lo = _mm256_loadu_si256 ((const __m256i *) (p + 64 * t + 32 * (g & 1)));
        __m256i hi = _mm256_loadu_si256 ((const __m256i *) (p + 128 + 32 * t));

        lo = (g & 2) ? _mm256_srli_epi16 (lo, 4) : lo;
        lo = _mm256_and_si256 (lo, _mm256_set1_epi8 (0x0F));
        hi = _mm256_and_si256 (_mm256_srl_epi16 (hi, _mm_cvtsi32_si128 (2 * g)), _mm256_set1_epi8 (3));
        *s = d * (float) sc[0];
        *s2 = d * (float) sc[1];
        return _mm256_or_si256 (lo, _mm256_slli_epi16 (hi, 4));
      }
    }
}

/* Row @r of the panel's block @b: its 32 unsigned quants (zero past
 * @rows), its scale(s) and minimum(s) stored at their places. */
static ALWAYS_INLINE __m256i
pack_row (int type, Kind kind, const uint8_t *w, size_t row_bytes, int rows, int64_t b, int r,
          float *scale)
{
  float *scale2 = scale + 32, *minimum = scale + (kind == KIND_HALVES_MIN ? 64 : 32);
  float *minimum2 = minimum + 32;
  float s = 0.0f, s2 = 0.0f, m = 0.0f, m2 = 0.0f;
  __m256i q = _mm256_setzero_si256 ();

  if (r < rows)
    q = decode_block (type, w + (size_t) r * row_bytes, b, &s, &s2, &m, &m2);
  scale[r] = s;
  if (kind == KIND_HALVES || kind == KIND_HALVES_MIN)
    scale2[r] = s2;
  if (kind == KIND_MIN || kind == KIND_HALVES_MIN)
    minimum[r] = m;
  if (kind == KIND_HALVES_MIN)
    minimum2[r] = m2;
  return q;
}

static ALWAYS_INLINE void
pack_type (int type, const uint8_t *w, size_t row_bytes, int rows, int64_t n, uint8_t *panel)
{
  Kind kind = kind_of (type);
  size_t stride = block_stride (kind);

  for (int64_t b = 0; b < n / 32; b++)
    {
      uint8_t *blk = panel + b * stride;
      float *scale = (float *) (blk + 1024);

#ifdef TEMPER_Q8_VNNI
      for (int g = 0; g < 2; g++)
        {
          __m512i z[8];

          for (int j = 0; j < 8; j++)
            {
              __m256i half[2];

              for (int k = 0; k < 2; k++)
                half[k] = pack_row (type, kind, w, row_bytes, rows, b, 16 * g + j + 8 * k, scale);
              z[j] = _mm512_inserti64x4 (_mm512_castsi256_si512 (half[0]), half[1], 1);
            }
          temper_panel_transpose_store (z, blk + 64 * g);
        }
#else
      /* Eight rows at a time, their dwords transposed in registers:
       * chunk c gets dword c of rows 8k..8k+7 at 32k.  A prompt's chunk
       * of 64 tokens repacks every panel, so this is not negligible. */
      for (int k = 0; k < 4; k++)
        {
          __m256i r[8], t[8], u[8];

          for (int i = 0; i < 8; i++)
            r[i] = pack_row (type, kind, w, row_bytes, rows, b, 8 * k + i, scale);
          for (int i = 0; i < 4; i++)
            {
              t[2 * i] = _mm256_unpacklo_epi32 (r[2 * i], r[2 * i + 1]);
              t[2 * i + 1] = _mm256_unpackhi_epi32 (r[2 * i], r[2 * i + 1]);
            }
          /* u[4h + j]: dwords j and j + 4 of rows 4h..4h+3 */
          for (int h = 0; h < 2; h++)
            {
              u[4 * h + 0] = _mm256_unpacklo_epi64 (t[4 * h + 0], t[4 * h + 2]);
              u[4 * h + 1] = _mm256_unpackhi_epi64 (t[4 * h + 0], t[4 * h + 2]);
              u[4 * h + 2] = _mm256_unpacklo_epi64 (t[4 * h + 1], t[4 * h + 3]);
              u[4 * h + 3] = _mm256_unpackhi_epi64 (t[4 * h + 1], t[4 * h + 3]);
            }
          for (int c = 0; c < 4; c++)
            {
              _mm256_storeu_si256 ((__m256i *) (blk + 128 * c + 32 * k),
                                   _mm256_permute2x128_si256 (u[c], u[c + 4], 0x20));
              _mm256_storeu_si256 ((__m256i *) (blk + 128 * (c + 4) + 32 * k),
                                   _mm256_permute2x128_si256 (u[c], u[c + 4], 0x31));
            }
        }
#endif
    }
}

static void
pack (int type, const uint8_t *w, size_t row_bytes, int rows, int64_t n, uint8_t *panel)
{
  switch (type)
    {
    case TEMPER_TYPE_Q4_0: pack_type (TEMPER_TYPE_Q4_0, w, row_bytes, rows, n, panel); break;
    case TEMPER_TYPE_Q4_1: pack_type (TEMPER_TYPE_Q4_1, w, row_bytes, rows, n, panel); break;
    case TEMPER_TYPE_Q5_0: pack_type (TEMPER_TYPE_Q5_0, w, row_bytes, rows, n, panel); break;
    case TEMPER_TYPE_Q5_1: pack_type (TEMPER_TYPE_Q5_1, w, row_bytes, rows, n, panel); break;
    case TEMPER_TYPE_Q8_0: pack_type (TEMPER_TYPE_Q8_0, w, row_bytes, rows, n, panel); break;
    case TEMPER_TYPE_Q4_K: pack_type (TEMPER_TYPE_Q4_K, w, row_bytes, rows, n, panel); break;
    case TEMPER_TYPE_Q5_K: pack_type (TEMPER_TYPE_Q5_K, w, row_bytes, rows, n, panel); break;
    case TEMPER_TYPE_Q2_K: pack_type (TEMPER_TYPE_Q2_K, w, row_bytes, rows, n, panel); break;
    case TEMPER_TYPE_Q3_K: pack_type (TEMPER_TYPE_Q3_K, w, row_bytes, rows, n, panel); break;
    case TEMPER_TYPE_IQ4_NL: pack_type (TEMPER_TYPE_IQ4_NL, w, row_bytes, rows, n, panel); break;
    case TEMPER_TYPE_IQ4_XS: pack_type (TEMPER_TYPE_IQ4_XS, w, row_bytes, rows, n, panel); break;
    default:               pack_type (TEMPER_TYPE_Q6_K, w, row_bytes, rows, n, panel); break;
    }
}

/* ---- The register tile ------------------------------------------------- */

#ifdef TEMPER_Q8_VNNI
/* acc[t][g] (rows 16g..16g+15 of token t) += the panel times @nt tokens. */
static ALWAYS_INLINE void
tile (Kind kind, int offset, int nt, const uint8_t *panel, int64_t n,
      const TemperQ8Acts *x, int64_t t0, __m512 acc[NT][2])
{
  const int64_t nb = n / 32;
  const size_t stride = block_stride (kind);
  const int8_t *q[NT];

#pragma GCC unroll 8
  for (int t = 0; t < nt; t++)
    {
      q[t] = x->q + (t0 + t) * n;
      acc[t][0] = acc[t][1] = _mm512_setzero_ps ();
    }
  for (int64_t b = 0; b < nb; b++, panel += stride)
    {
      const float *scale = (const float *) (panel + 1024);

      for (int h = 0; h < (kind == KIND_HALVES || kind == KIND_HALVES_MIN ? 2 : 1); h++)
        {
          const int chunks = kind == KIND_HALVES || kind == KIND_HALVES_MIN ? 4 : 8;
          const uint8_t *p = panel + 128 * chunks * h;
          __m512i dot[NT][2];
          __m512 s0, s1;

#pragma GCC unroll 8
          for (int t = 0; t < nt; t++)
            {
              __m512i start = _mm512_setzero_si512 ();

              if (kind == KIND_OFFSET)
                start = _mm512_set1_epi32 (-offset * x->sum32[(t0 + t) * nb + b]);
              else if (kind == KIND_HALVES)
                start = _mm512_set1_epi32 (-offset * x->sum16[(t0 + t) * 2 * nb + 2 * b + h]);
              dot[t][0] = dot[t][1] = start;
            }
#pragma GCC unroll 8
          for (int c = 0; c < chunks; c++, p += 128)
            {
              __m512i w0 = _mm512_loadu_si512 (p), w1 = _mm512_loadu_si512 (p + 64);

#pragma GCC unroll 8
              for (int t = 0; t < nt; t++)
                {
                  int32_t word;
                  __m512i xv;

                  memcpy (&word, q[t] + 32 * b + 16 * h + 4 * c, 4);
                  xv = _mm512_set1_epi32 (word);
                  dot[t][0] = _mm512_dpbusd_epi32 (dot[t][0], w0, xv);
                  dot[t][1] = _mm512_dpbusd_epi32 (dot[t][1], w1, xv);
                }
            }
          s0 = _mm512_loadu_ps (scale + 32 * h);
          s1 = _mm512_loadu_ps (scale + 32 * h + 16);
#pragma GCC unroll 8
          for (int t = 0; t < nt; t++)
            {
              __m512 d = _mm512_set1_ps (x->d[(t0 + t) * nb + b]);

              acc[t][0] = _mm512_fmadd_ps (_mm512_cvtepi32_ps (dot[t][0]), _mm512_mul_ps (s0, d), acc[t][0]);
              acc[t][1] = _mm512_fmadd_ps (_mm512_cvtepi32_ps (dot[t][1]), _mm512_mul_ps (s1, d), acc[t][1]);
            }
          if (kind == KIND_HALVES_MIN)
            {
              /* The half's minimum times d·Σq of its 16 activations. */
              __m512 m0 = _mm512_loadu_ps (scale + 64 + 32 * h), m1 = _mm512_loadu_ps (scale + 64 + 32 * h + 16);

#pragma GCC unroll 8
              for (int t = 0; t < nt; t++)
                {
                  __m512 sx = _mm512_set1_ps (x->d[(t0 + t) * nb + b] *
                                              (float) x->sum16[(t0 + t) * 2 * nb + 2 * b + h]);

                  acc[t][0] = _mm512_fmadd_ps (m0, sx, acc[t][0]);
                  acc[t][1] = _mm512_fmadd_ps (m1, sx, acc[t][1]);
                }
            }
        }
      if (kind == KIND_MIN)
        {
          __m512 m0 = _mm512_loadu_ps (scale + 32), m1 = _mm512_loadu_ps (scale + 48);

#pragma GCC unroll 8
          for (int t = 0; t < nt; t++)
            {
              __m512 sx = _mm512_set1_ps (x->sx[(t0 + t) * nb + b]);

              acc[t][0] = _mm512_fmadd_ps (m0, sx, acc[t][0]);
              acc[t][1] = _mm512_fmadd_ps (m1, sx, acc[t][1]);
            }
        }
    }
}

static ALWAYS_INLINE void
run_kind (Kind kind, int offset, int flush, const uint8_t *panel, int rows, int64_t n, const TemperQ8Acts *x,
          int64_t T, float *y, int64_t ldy, const float *bias, gboolean accumulate)
{
  __mmask16 keep[2] = {
    (__mmask16) (rows >= 16 ? 0xFFFF : (1u << rows) - 1),
    (__mmask16) (rows >= 32 ? 0xFFFF : rows <= 16 ? 0 : (1u << (rows - 16)) - 1),
  };
  __m512 add[2];

  (void) flush; /* vpdpbusd sums in 32 bits */

  for (int g = 0; g < 2; g++)
    add[g] = bias != NULL ? _mm512_maskz_loadu_ps (keep[g], bias + 16 * g) : _mm512_setzero_ps ();
  for (int64_t t0 = 0; t0 < T; t0 += NT)
    {
      __m512 acc[NT][2];
      int nt = (int) MIN (NT, T - t0);

      /* A constant count per call, so the tile's loops unroll. */
      switch (nt)
        {
        case NT: tile (kind, offset, NT, panel, n, x, t0, acc); break;
#if NT > 3
        case 3: tile (kind, offset, 3, panel, n, x, t0, acc); break;
#endif
#if NT > 2
        case 2: tile (kind, offset, 2, panel, n, x, t0, acc); break;
#endif
        default: tile (kind, offset, 1, panel, n, x, t0, acc); break;
        }
      for (int t = 0; t < nt; t++)
        for (int g = 0; g < 2; g++)
          {
            float *dst = y + (t0 + t) * ldy + 16 * g;
            __m512 v = _mm512_add_ps (acc[t][g], add[g]);

            if (accumulate)
              v = _mm512_add_ps (v, _mm512_maskz_loadu_ps (keep[g], dst));
            _mm512_mask_storeu_ps (dst, keep[g], v);
          }
    }
}

#else

/* acc[t][v] (rows 8v..8v+7 of the 16 at @panel, token t) += those rows
 * times @nt tokens.  The 16 rows are one half of each chunk, so @panel is
 * the panel's start plus 64·g for rows 16g..16g+15; then the block's
 * scales at @panel + 1024 are those rows' too (16 floats are 64 bytes).
 *
 * vpmaddubsw multiplies the unsigned weight bytes by the signed activation
 * bytes and adds pairs into 16 bits, with saturation: sums of @flush chunks
 * stay exact in 16 bits (pairs ≤ 2·umax·127: 4-bit quants take 8 chunks,
 * 5-bit 4, Q6_K's 6-bit 2) before vpmaddwd widens them to 32.  Quants
 * centred on 128 (Q8_0, IQ4) would saturate a pair: they go signed, as
 * |w| times x with w's sign (vpsignb), from 0 (no offset to take off). */
static ALWAYS_INLINE void
tile (Kind kind, int offset, int flush, int nt, const uint8_t *panel, int64_t n,
      const TemperQ8Acts *x, int64_t t0, __m256 acc[NT][2])
{
  const int64_t nb = n / 32;
  const size_t stride = block_stride (kind);
  const int halves = kind == KIND_HALVES || kind == KIND_HALVES_MIN ? 2 : 1;
  const int chunks = 8 / halves;
  const __m256i ones = _mm256_set1_epi16 (1);
  const int8_t *q[NT];

#pragma GCC unroll 8
  for (int t = 0; t < nt; t++)
    {
      q[t] = x->q + (t0 + t) * n;
      acc[t][0] = acc[t][1] = _mm256_setzero_ps ();
    }
  for (int64_t b = 0; b < nb; b++, panel += stride)
    {
      const float *scale = (const float *) (panel + 1024);

      for (int h = 0; h < halves; h++)
        {
          const uint8_t *p = panel + 128 * chunks * h;
          __m256i dot[NT][2], part[NT][2];
          __m256 s0, s1;

#pragma GCC unroll 8
          for (int t = 0; t < nt; t++)
            {
              __m256i start = _mm256_setzero_si256 ();

              if (kind == KIND_OFFSET && offset != 128)
                start = _mm256_set1_epi32 (-offset * x->sum32[(t0 + t) * nb + b]);
              else if (kind == KIND_HALVES)
                start = _mm256_set1_epi32 (-offset * x->sum16[(t0 + t) * 2 * nb + 2 * b + h]);
              dot[t][0] = dot[t][1] = start;
            }
#pragma GCC unroll 8
          for (int c = 0; c < chunks; c++, p += 128)
            {
              __m256i w0 = _mm256_loadu_si256 ((const __m256i *) p);
              __m256i w1 = _mm256_loadu_si256 ((const __m256i *) (p + 32));
              __m256i sw0 = w0, sw1 = w1;

              if (offset == 128)
                {
                  sw0 = _mm256_xor_si256 (w0, _mm256_set1_epi8 ((char) 0x80));
                  sw1 = _mm256_xor_si256 (w1, _mm256_set1_epi8 ((char) 0x80));
                  w0 = _mm256_abs_epi8 (sw0);
                  w1 = _mm256_abs_epi8 (sw1);
                }
#pragma GCC unroll 8
              for (int t = 0; t < nt; t++)
                {
                  int32_t word;
                  __m256i xv, m0, m1;

                  memcpy (&word, q[t] + 32 * b + 16 * h + 4 * c, 4);
                  xv = _mm256_set1_epi32 (word);
                  if (offset == 128)
                    {
                      m0 = _mm256_maddubs_epi16 (w0, _mm256_sign_epi8 (xv, sw0));
                      m1 = _mm256_maddubs_epi16 (w1, _mm256_sign_epi8 (xv, sw1));
                    }
                  else
                    {
                      m0 = _mm256_maddubs_epi16 (w0, xv);
                      m1 = _mm256_maddubs_epi16 (w1, xv);
                    }
                  if (c % flush == 0)
                    {
                      part[t][0] = m0;
                      part[t][1] = m1;
                    }
                  else
                    {
                      part[t][0] = _mm256_add_epi16 (part[t][0], m0);
                      part[t][1] = _mm256_add_epi16 (part[t][1], m1);
                    }
                  if (c % flush == flush - 1 || c == chunks - 1)
                    {
                      dot[t][0] = _mm256_add_epi32 (dot[t][0], _mm256_madd_epi16 (part[t][0], ones));
                      dot[t][1] = _mm256_add_epi32 (dot[t][1], _mm256_madd_epi16 (part[t][1], ones));
                    }
                }
            }
          s0 = _mm256_loadu_ps (scale + 32 * h);
          s1 = _mm256_loadu_ps (scale + 32 * h + 8);
#pragma GCC unroll 8
          for (int t = 0; t < nt; t++)
            {
              __m256 d = _mm256_set1_ps (x->d[(t0 + t) * nb + b]);

              acc[t][0] = _mm256_fmadd_ps (_mm256_cvtepi32_ps (dot[t][0]), _mm256_mul_ps (s0, d), acc[t][0]);
              acc[t][1] = _mm256_fmadd_ps (_mm256_cvtepi32_ps (dot[t][1]), _mm256_mul_ps (s1, d), acc[t][1]);
            }
          if (kind == KIND_HALVES_MIN)
            {
              /* The half's minimum times d·Σq of its 16 activations. */
              __m256 m0 = _mm256_loadu_ps (scale + 64 + 32 * h), m1 = _mm256_loadu_ps (scale + 64 + 32 * h + 8);

#pragma GCC unroll 8
              for (int t = 0; t < nt; t++)
                {
                  __m256 sx = _mm256_set1_ps (x->d[(t0 + t) * nb + b] *
                                              (float) x->sum16[(t0 + t) * 2 * nb + 2 * b + h]);

                  acc[t][0] = _mm256_fmadd_ps (m0, sx, acc[t][0]);
                  acc[t][1] = _mm256_fmadd_ps (m1, sx, acc[t][1]);
                }
            }
        }
      if (kind == KIND_MIN)
        {
          __m256 m0 = _mm256_loadu_ps (scale + 32), m1 = _mm256_loadu_ps (scale + 40);

#pragma GCC unroll 8
          for (int t = 0; t < nt; t++)
            {
              __m256 sx = _mm256_set1_ps (x->sx[(t0 + t) * nb + b]);

              acc[t][0] = _mm256_fmadd_ps (m0, sx, acc[t][0]);
              acc[t][1] = _mm256_fmadd_ps (m1, sx, acc[t][1]);
            }
        }
    }
}

static ALWAYS_INLINE void
run_kind (Kind kind, int offset, int flush, const uint8_t *panel, int rows, int64_t n,
          const TemperQ8Acts *x, int64_t T, float *y, int64_t ldy, const float *bias,
          gboolean accumulate)
{
  for (int64_t t0 = 0; t0 < T; t0 += NT)
    {
      int nt = (int) MIN (NT, T - t0);

      for (int g = 0; g < 2 && 16 * g < rows; g++)
        {
          __m256 acc[NT][2];

          /* A constant count per call, so the tile's loops unroll. */
          switch (nt)
            {
            case NT: tile (kind, offset, flush, NT, panel + 64 * g, n, x, t0, acc); break;
#if NT > 2
            case 2: tile (kind, offset, flush, 2, panel + 64 * g, n, x, t0, acc); break;
#endif
            default: tile (kind, offset, flush, 1, panel + 64 * g, n, x, t0, acc); break;
            }
          for (int t = 0; t < nt; t++)
            for (int v = 0; v < 2; v++)
              {
                int r0 = 16 * g + 8 * v, count = MIN (8, rows - r0);
                float *dst = y + (t0 + t) * ldy + r0;
                float part[8];

                if (count == 8)
                  {
                    __m256 sum = acc[t][v];

                    if (bias != NULL)
                      sum = _mm256_add_ps (sum, _mm256_loadu_ps (bias + r0));
                    if (accumulate)
                      sum = _mm256_add_ps (sum, _mm256_loadu_ps (dst));
                    _mm256_storeu_ps (dst, sum);
                    continue;
                  }
                _mm256_storeu_ps (part, acc[t][v]);
                for (int i = 0; i < count; i++)
                  {
                    float sum = part[i] + (bias != NULL ? bias[r0 + i] : 0.0f);

                    dst[i] = accumulate ? dst[i] + sum : sum;
                  }
              }
        }
    }
}

#endif

/* vpmaddubsw's 16-bit sums: chunks of 4 bytes that fit one (see the AVX2
 * tile); the VNNI tile sums in 32 bits and does not look. */
static int
flush_of (int type)
{
  switch (type)
    {
    case TEMPER_TYPE_Q4_0: case TEMPER_TYPE_Q4_1: case TEMPER_TYPE_Q4_K: return 8;
    case TEMPER_TYPE_Q6_K: return 2;
    case TEMPER_TYPE_Q8_0: case TEMPER_TYPE_IQ4_NL: case TEMPER_TYPE_IQ4_XS: return 1;
    default: return 4; /* 5-bit; Q3_K and Q2_K, whose halves are 4 chunks */
    }
}

static void
run (int type, const uint8_t *panel, int rows, int64_t n, const TemperQ8Acts *x, int64_t T,
     float *y, int64_t ldy, const float *bias, gboolean accumulate)
{
  switch (kind_of (type))
    {
    case KIND_MIN:
      if (flush_of (type) == 8)
        run_kind (KIND_MIN, 0, 8, panel, rows, n, x, T, y, ldy, bias, accumulate);
      else
        run_kind (KIND_MIN, 0, 4, panel, rows, n, x, T, y, ldy, bias, accumulate);
      break;
    case KIND_HALVES:
      if (offset_of (type) == 4)
        run_kind (KIND_HALVES, 4, 4, panel, rows, n, x, T, y, ldy, bias, accumulate);
      else
        run_kind (KIND_HALVES, 32, 2, panel, rows, n, x, T, y, ldy, bias, accumulate);
      break;
    case KIND_HALVES_MIN:
      run_kind (KIND_HALVES_MIN, 0, 4, panel, rows, n, x, T, y, ldy, bias, accumulate);
      break;
    default:
      switch (offset_of (type))
        {
        case 8:  run_kind (KIND_OFFSET, 8, 8, panel, rows, n, x, T, y, ldy, bias, accumulate); break;
        case 16: run_kind (KIND_OFFSET, 16, 4, panel, rows, n, x, T, y, ldy, bias, accumulate); break;
        default: run_kind (KIND_OFFSET, 128, 1, panel, rows, n, x, T, y, ldy, bias, accumulate); break;
        }
      break;
    }
}

const TemperQ8Gemm TEMPER_Q8_NAME = { handles, panel_bytes, quantize, pack, run };
