/* SPDX-License-Identifier: MIT */
/* bfloat16 products on AMX tiles and AVX512-BF16 (see temper-cpu-bf16-gemm.h
 * for the layouts).  Built with -mamx-tile -mamx-bf16 -mavx512bf16….
 *
 * AMX: eight tiles, 16 rows of 64 bytes each: C takes four (a 32×32 block of
 * fp32 outputs), A two (16 rows × 32 k in bf16), B two (16 k pairs × 16
 * columns).  Each step of 32 k loads four tiles and runs four tdpbf16ps,
 * each 16×16×32 multiply-adds.  The tiles are configured at the start of
 * each call and released at its end (ldtilecfg costs far less than one
 * block, and released tiles cost nothing at a context switch); a last block
 * of fewer than 32 rows reconfigures A's and C's row counts, so A is never
 * read past its M rows.  Columns past N are computed against B's zero
 * padding and dropped through a small buffer.
 *
 * AVX512-BF16: the same packed B, 8 rows × 32 columns of accumulators; per k
 * pair, two B vectors and one broadcast A pair per row. */
#include "config.h"

#include <immintrin.h>
#include <string.h>

#include "temper-cpu-bf16-gemm.h"

#define TILE_K 32     /* bf16 values in one tile row (64 bytes) */
#define BLOCK_N 16    /* columns of one packed block (one tile, one vector) */

int64_t
temper_cpu_bf16_gemm_padded_k (int64_t K)
{
  return (K + TILE_K - 1) / TILE_K * TILE_K;
}

int64_t
temper_cpu_bf16_gemm_padded_n (int64_t N)
{
  return (N + 2 * BLOCK_N - 1) / (2 * BLOCK_N) * (2 * BLOCK_N);
}

size_t
temper_cpu_bf16_gemm_packed_size (int64_t K, int64_t N)
{
  return (size_t) temper_cpu_bf16_gemm_padded_k (K) * (size_t) temper_cpu_bf16_gemm_padded_n (N);
}

static inline __mmask16
mask_below (int64_t n)
{
  return n >= 16 ? (__mmask16) 0xffff : n <= 0 ? 0 : (__mmask16) ((1u << n) - 1);
}

/* 32 floats (those below @n; zero past it) as 16 bf16 pairs, rounded to
 * nearest even. */
static inline __m512i
convert_32 (const float *src, int64_t n)
{
  __m512 lo = _mm512_maskz_loadu_ps (mask_below (n), src);
  __m512 hi = _mm512_maskz_loadu_ps (mask_below (n - 16), src + 16);

  return (__m512i) _mm512_cvtne2ps_pbh (hi, lo);
}

/* 16 floats minus their bfloat16 rounding (exact in fp32). */
static inline __m512
remainder_16 (__m512 v)
{
  __m512i rounded = _mm512_cvtepu16_epi32 ((__m256i) _mm512_cvtneps_pbh (v));

  return _mm512_sub_ps (v, _mm512_castsi512_ps (_mm512_slli_epi32 (rounded, 16)));
}

/* convert_32 () of the remainders: the part bfloat16 rounding drops, itself
 * rounded to bfloat16. */
static inline __m512i
convert_32_low (const float *src, int64_t n)
{
  __m512 lo = _mm512_maskz_loadu_ps (mask_below (n), src);
  __m512 hi = _mm512_maskz_loadu_ps (mask_below (n - 16), src + 16);

  return (__m512i) _mm512_cvtne2ps_pbh (remainder_16 (hi), remainder_16 (lo));
}

/* Segments stored: one, or two (h then l; BOTH's kernel crosses them). */
static int
split_segments (TemperBf16Split split)
{
  return split == TEMPER_BF16_SPLIT_NONE ? 1 : 2;
}

int64_t
temper_cpu_bf16_split_k (TemperBf16Split split, int64_t K)
{
  return split_segments (split) * temper_cpu_bf16_gemm_padded_k (K);
}

/* Whether segment @term of A (@b FALSE) or B (TRUE) holds the remainders. */
static inline gboolean
segment_is_low (TemperBf16Split split, int term, gboolean b)
{
  switch (split)
    {
    case TEMPER_BF16_SPLIT_X: return !b && term == 1;
    case TEMPER_BF16_SPLIT_W: return b && term == 1;
    case TEMPER_BF16_SPLIT_BOTH: return term == 1;
    case TEMPER_BF16_SPLIT_NONE: default: return FALSE;
    }
}

void
temper_cpu_bf16_gemm_convert_rows_split (uint16_t *dst, int64_t ldd, const float *src,
                                         int64_t lds, int64_t M, int64_t K,
                                         TemperBf16Split split)
{
  int64_t Kp = temper_cpu_bf16_gemm_padded_k (K);
  int terms = split_segments (split);

  for (int64_t m = 0; m < M; m++)
    {
      uint16_t *row = dst + m * ldd;

      for (int64_t k = 0; k < Kp; k += TILE_K)
        {
          __m512i high = convert_32 (src + m * lds + k, K - k);
          __m512i low = split == TEMPER_BF16_SPLIT_X || split == TEMPER_BF16_SPLIT_BOTH
                          ? convert_32_low (src + m * lds + k, K - k) : high;

          for (int term = 0; term < terms; term++)
            _mm512_storeu_si512 (row + term * Kp + k, segment_is_low (split, term, FALSE) ? low : high);
        }
    }
}

void
temper_cpu_bf16_gemm_convert_rows (uint16_t *dst, int64_t ldd, const float *src,
                                   int64_t lds, int64_t M, int64_t K)
{
  temper_cpu_bf16_gemm_convert_rows_split (dst, ldd, src, lds, M, K, TEMPER_BF16_SPLIT_NONE);
}

/* The 32-bit pair (k, k + 1) of column c of block @block at pair row kp. */
static inline uint32_t *
pair_row (uint16_t *packed, int64_t Kp, int64_t block, int64_t kp)
{
  return (uint32_t *) (packed + block * Kp * BLOCK_N) + kp * BLOCK_N;
}

void
temper_cpu_bf16_gemm_pack_b_cols_split (uint16_t *packed, int64_t K, int64_t N, int64_t n0,
                                        int64_t nc, const float *src, int64_t ld,
                                        TemperBf16Split split)
{
  int64_t Kp = temper_cpu_bf16_gemm_padded_k (K), Ks = temper_cpu_bf16_split_k (split, K);
  int terms = split_segments (split);
  gboolean lows = split == TEMPER_BF16_SPLIT_W || split == TEMPER_BF16_SPLIT_BOTH;
  int64_t end = n0 + nc == N ? temper_cpu_bf16_gemm_padded_n (N) : n0 + nc;
  /* Index of column c's pair j in the transposing buffer below. */
  const __m512i across = _mm512_mullo_epi32 (_mm512_set_epi32 (15, 14, 13, 12, 11, 10, 9, 8,
                                                                7, 6, 5, 4, 3, 2, 1, 0),
                                             _mm512_set1_epi32 (16));

  g_assert (n0 % BLOCK_N == 0);
  for (int64_t n = n0; n < end; n += BLOCK_N)
    {
      int64_t cols = CLAMP (MIN (n0 + nc, N) - n, 0, BLOCK_N);

      for (int64_t k = 0; k < Kp; k += TILE_K)
        {
          /* Column c's sixteen pairs of this k step in pairs[c] (its
           * remainders' in low[c]), then each pair row gathered across the
           * columns into every segment that holds it. */
          uint32_t pairs[BLOCK_N * 16] __attribute__ ((aligned (64)));
          uint32_t low[BLOCK_N * 16] __attribute__ ((aligned (64)));

          for (int64_t c = 0; c < BLOCK_N; c++)
            {
              const float *col = src + (n - n0 + c) * ld + k;

              _mm512_store_si512 (pairs + c * 16,
                                  c < cols ? convert_32 (col, K - k) : _mm512_setzero_si512 ());
              if (lows)
                _mm512_store_si512 (low + c * 16,
                                    c < cols ? convert_32_low (col, K - k) : _mm512_setzero_si512 ());
            }
          for (int64_t j = 0; j < 16; j++)
            {
              __m512i high_row = _mm512_i32gather_epi32 (across, (const void *) (pairs + j), 4);
              __m512i low_row = lows ? _mm512_i32gather_epi32 (across, (const void *) (low + j), 4)
                                     : high_row;

              for (int term = 0; term < terms; term++)
                _mm512_storeu_si512 (pair_row (packed, Ks, n / BLOCK_N, (term * Kp + k) / 2 + j),
                                     segment_is_low (split, term, TRUE) ? low_row : high_row);
            }
        }
    }
}

void
temper_cpu_bf16_gemm_pack_b_cols (uint16_t *packed, int64_t K, int64_t N, int64_t n0,
                                  int64_t nc, const float *src, int64_t ld)
{
  temper_cpu_bf16_gemm_pack_b_cols_split (packed, K, N, n0, nc, src, ld, TEMPER_BF16_SPLIT_NONE);
}

void
temper_cpu_bf16_gemm_pack_b_cols_fn (uint16_t *packed, int64_t K, int64_t N,
                                     void (*column) (void *user, int64_t n, float *out),
                                     void *user, float *scratch)
{
  for (int64_t n = 0; n < N; n += BLOCK_N)
    {
      int64_t cols = MIN (BLOCK_N, N - n);

      for (int64_t c = 0; c < cols; c++)
        column (user, n + c, scratch + c * K);
      temper_cpu_bf16_gemm_pack_b_cols (packed, K, N, n, cols, scratch, K);
    }
}

void
temper_cpu_bf16_gemm_pack_b_rows (uint16_t *packed, int64_t K, int64_t N, int64_t k0,
                                  int64_t kc, const float *src, int64_t ld)
{
  int64_t Kp = temper_cpu_bf16_gemm_padded_k (K), Np = temper_cpu_bf16_gemm_padded_n (N);
  int64_t k_end = k0 + kc == K ? Kp : k0 + kc;

  g_assert (k0 % 2 == 0);
  for (int64_t k = k0; k < k_end; k += 2)
    {
      const float *r0 = src + (k - k0) * ld, *r1 = r0 + ld;
      gboolean has0 = k < k0 + kc, has1 = k + 1 < k0 + kc;

      for (int64_t n = 0; n < Np; n += BLOCK_N)
        {
          __mmask16 valid = mask_below (N - n);
          __m512i lo = _mm512_cvtepu16_epi32 ((__m256i) _mm512_cvtneps_pbh (
                         _mm512_maskz_loadu_ps (has0 ? valid : 0, r0 + n)));
          __m512i hi = _mm512_cvtepu16_epi32 ((__m256i) _mm512_cvtneps_pbh (
                         _mm512_maskz_loadu_ps (has1 ? valid : 0, r1 + n)));

          _mm512_storeu_si512 (pair_row (packed, Kp, n / BLOCK_N, k / 2),
                               _mm512_or_si512 (lo, _mm512_slli_epi32 (hi, 16)));
        }
    }
}

/* ---- AMX ---- */

typedef struct {
  uint8_t  palette, start_row;
  uint8_t  reserved[14];
  uint16_t colsb[16];
  uint8_t  rows[16];
} __attribute__ ((packed, aligned (64))) TileConfig;

/* Tiles 0–3: C (0, 1 the first 16 rows, 2, 3 the next), 4–5: A, 6–7: B.
 * @rows1 == 0 leaves tiles 2, 3 and 5 unconfigured. */
static void
configure_tiles (int rows0, int rows1)
{
  TileConfig cfg;

  memset (&cfg, 0, sizeof cfg);
  cfg.palette = 1;
  for (int t = 0; t < 8; t++)
    {
      int rows = t == 6 || t == 7 ? 16 : t == 2 || t == 3 || t == 5 ? rows1 : rows0;

      cfg.rows[t] = (uint8_t) rows;
      cfg.colsb[t] = rows > 0 ? 64 : 0;
    }
  _tile_loadconfig (&cfg);
}

/* A C tile's part that lies inside C, through @buf when it has fewer than
 * 16 columns there. */
#define LOAD_C(t, row, col)                                                   \
  G_STMT_START {                                                              \
    float *c_ = c + (row) * ldc + (col);                                      \
    if (!accumulate)                                                          \
      _tile_zero (t);                                                         \
    else if (N - (col) >= 16)                                                 \
      _tile_loadd (t, c_, ldc * 4);                                           \
    else                                                                      \
      {                                                                       \
        memset (buf, 0, sizeof buf);                                          \
        for (int r_ = 0; r_ < rows_of (row); r_++)                            \
          memcpy (buf + r_ * 16, c_ + r_ * ldc,                               \
                  sizeof (float) * (size_t) MAX (N - (col), 0));              \
        _tile_loadd (t, buf, 64);                                             \
      }                                                                       \
  } G_STMT_END
#define STORE_C(t, row, col)                                                  \
  G_STMT_START {                                                              \
    float *c_ = c + (row) * ldc + (col);                                      \
    if (N - (col) >= 16)                                                      \
      _tile_stored (t, c_, ldc * 4);                                          \
    else if (N - (col) > 0)                                                   \
      {                                                                       \
        _tile_stored (t, buf, 64);                                            \
        for (int r_ = 0; r_ < rows_of (row); r_++)                            \
          memcpy (c_ + r_ * ldc, buf + r_ * 16,                               \
                  sizeof (float) * (size_t) (N - (col)));                     \
      }                                                                       \
  } G_STMT_END

/* @cross: A's rows are [xh | xl] and B's columns [wh ; wl], each segment
 * padded_k (K) deep (K is one segment's), and C gets xl·wh + xh·wh + xh·wl.
 * Per step of 32 k that is twelve products from eight tile loads (the same
 * three terms laid along k would load twelve): the small term first, then
 * the two that share xh's tiles. */
static void
gemm_amx (int64_t M, int64_t N, int64_t K, const uint16_t *a, int64_t lda,
          const uint16_t *packed, float *c, int64_t ldc, gboolean accumulate, gboolean cross)
{
  int64_t Kp = temper_cpu_bf16_gemm_padded_k (K), Np = temper_cpu_bf16_gemm_padded_n (N);
  int64_t Kb = cross ? 2 * Kp : Kp;   /* a packed block's depth */
  float buf[16 * 16] __attribute__ ((aligned (64)));
  int64_t m0 = 0, rows_full = M / 32 * 32;
  int rows0 = 16, rows1 = 16;
#define rows_of(row) ((row) == m0 ? rows0 : rows1)

  configure_tiles (16, 16);
  for (;;)
    {
      if (m0 >= rows_full)
        {
          /* The last block: fewer than 32 rows, or none. */
          int64_t left = M - m0;

          if (left <= 0)
            break;
          rows0 = (int) MIN (left, 16);
          rows1 = (int) (left - rows0);
          configure_tiles (rows0, rows1);
        }
      for (int64_t n0 = 0; n0 < Np; n0 += 2 * BLOCK_N)
        {
          const uint16_t *b0 = packed + n0 * Kb, *b1 = b0 + BLOCK_N * Kb;
          const uint16_t *a0 = a + m0 * lda, *a1 = a0 + 16 * lda;

          LOAD_C (0, m0, n0);
          LOAD_C (1, m0, n0 + 16);
          if (rows1 > 0 && cross)
            {
              LOAD_C (2, m0 + 16, n0);
              LOAD_C (3, m0 + 16, n0 + 16);
              for (int64_t k = 0; k < Kp; k += TILE_K)
                {
                  _tile_loadd (4, a0 + Kp + k, lda * 2);           /* xl */
                  _tile_loadd (6, b0 + k * BLOCK_N, 64);           /* wh */
                  _tile_dpbf16ps (0, 4, 6);
                  _tile_loadd (7, b1 + k * BLOCK_N, 64);
                  _tile_dpbf16ps (1, 4, 7);
                  _tile_loadd (5, a1 + Kp + k, lda * 2);
                  _tile_dpbf16ps (2, 5, 6);
                  _tile_dpbf16ps (3, 5, 7);
                  _tile_loadd (4, a0 + k, lda * 2);                /* xh */
                  _tile_dpbf16ps (0, 4, 6);
                  _tile_dpbf16ps (1, 4, 7);
                  _tile_loadd (5, a1 + k, lda * 2);
                  _tile_dpbf16ps (2, 5, 6);
                  _tile_dpbf16ps (3, 5, 7);
                  _tile_loadd (6, b0 + (Kp + k) * BLOCK_N, 64);    /* wl */
                  _tile_dpbf16ps (0, 4, 6);
                  _tile_dpbf16ps (2, 5, 6);
                  _tile_loadd (7, b1 + (Kp + k) * BLOCK_N, 64);
                  _tile_dpbf16ps (1, 4, 7);
                  _tile_dpbf16ps (3, 5, 7);
                }
              STORE_C (2, m0 + 16, n0);
              STORE_C (3, m0 + 16, n0 + 16);
            }
          else if (cross)
            for (int64_t k = 0; k < Kp; k += TILE_K)
              {
                _tile_loadd (4, a0 + Kp + k, lda * 2);
                _tile_loadd (6, b0 + k * BLOCK_N, 64);
                _tile_loadd (7, b1 + k * BLOCK_N, 64);
                _tile_dpbf16ps (0, 4, 6);
                _tile_dpbf16ps (1, 4, 7);
                _tile_loadd (4, a0 + k, lda * 2);
                _tile_dpbf16ps (0, 4, 6);
                _tile_dpbf16ps (1, 4, 7);
                _tile_loadd (6, b0 + (Kp + k) * BLOCK_N, 64);
                _tile_loadd (7, b1 + (Kp + k) * BLOCK_N, 64);
                _tile_dpbf16ps (0, 4, 6);
                _tile_dpbf16ps (1, 4, 7);
              }
          else if (rows1 > 0)
            {
              LOAD_C (2, m0 + 16, n0);
              LOAD_C (3, m0 + 16, n0 + 16);
              for (int64_t k = 0; k < Kp; k += TILE_K)
                {
                  /* Each tile loaded just before its first product, so
                   * the products wait on one load, not four: measured
                   * ~10-20 % faster than loading all four tiles first. */
                  _tile_loadd (4, a0 + k, lda * 2);
                  _tile_loadd (6, b0 + k * BLOCK_N, 64);
                  _tile_dpbf16ps (0, 4, 6);
                  _tile_loadd (7, b1 + k * BLOCK_N, 64);
                  _tile_dpbf16ps (1, 4, 7);
                  _tile_loadd (5, a1 + k, lda * 2);
                  _tile_dpbf16ps (2, 5, 6);
                  _tile_dpbf16ps (3, 5, 7);
                }
              STORE_C (2, m0 + 16, n0);
              STORE_C (3, m0 + 16, n0 + 16);
            }
          else
            for (int64_t k = 0; k < Kp; k += TILE_K)
              {
                _tile_loadd (4, a0 + k, lda * 2);
                _tile_loadd (6, b0 + k * BLOCK_N, 64);
                _tile_loadd (7, b1 + k * BLOCK_N, 64);
                _tile_dpbf16ps (0, 4, 6);
                _tile_dpbf16ps (1, 4, 7);
              }
          STORE_C (0, m0, n0);
          STORE_C (1, m0, n0 + 16);
        }
      if (m0 >= rows_full)
        break;
      m0 += 32;
    }
#undef rows_of
  _tile_release ();
}

/* ---- AVX512-BF16 ---- */

/* The row loops unrolled, so the accumulators stay in registers (rolled,
 * GCC keeps them in memory). */
#define ALL_ROWS _Pragma ("GCC unroll 8")

static inline __m512bh
a_pair (const uint16_t *a)
{
  uint32_t pair;

  memcpy (&pair, a, sizeof pair);
  return (__m512bh) _mm512_set1_epi32 ((int) pair);
}

/* @cross as gemm_amx ()'s: @Kp is one segment's depth. */
static inline __attribute__ ((always_inline)) void
dp_block (const int rows, int64_t N, int64_t Kp, const uint16_t *a, int64_t lda,
          const uint16_t *b0, float *c, int64_t ldc, gboolean accumulate, const gboolean cross)
{
  int64_t Kb = cross ? 2 * Kp : Kp;
  const uint16_t *b1 = b0 + BLOCK_N * Kb;
  __m512 acc[8][2];
  __mmask16 m0 = mask_below (N), m1 = mask_below (N - 16);

  ALL_ROWS
  for (int i = 0; i < rows; i++)
    acc[i][0] = acc[i][1] = _mm512_setzero_ps ();
  for (int64_t kp = 0; kp < Kp / 2; kp++)
    {
      __m512bh v0 = (__m512bh) _mm512_loadu_si512 (b0 + kp * 2 * BLOCK_N);
      __m512bh v1 = (__m512bh) _mm512_loadu_si512 (b1 + kp * 2 * BLOCK_N);

      if (cross)
        {
          __m512bh l0 = (__m512bh) _mm512_loadu_si512 (b0 + (Kp / 2 + kp) * 2 * BLOCK_N);
          __m512bh l1 = (__m512bh) _mm512_loadu_si512 (b1 + (Kp / 2 + kp) * 2 * BLOCK_N);

          ALL_ROWS
          for (int i = 0; i < rows; i++)
            {
              __m512bh high = a_pair (a + i * lda + 2 * kp), low = a_pair (a + i * lda + Kp + 2 * kp);

              acc[i][0] = _mm512_dpbf16_ps (acc[i][0], low, v0);
              acc[i][1] = _mm512_dpbf16_ps (acc[i][1], low, v1);
              acc[i][0] = _mm512_dpbf16_ps (acc[i][0], high, v0);
              acc[i][1] = _mm512_dpbf16_ps (acc[i][1], high, v1);
              acc[i][0] = _mm512_dpbf16_ps (acc[i][0], high, l0);
              acc[i][1] = _mm512_dpbf16_ps (acc[i][1], high, l1);
            }
          continue;
        }
      ALL_ROWS
      for (int i = 0; i < rows; i++)
        {
          __m512bh ai = a_pair (a + i * lda + 2 * kp);

          acc[i][0] = _mm512_dpbf16_ps (acc[i][0], ai, v0);
          acc[i][1] = _mm512_dpbf16_ps (acc[i][1], ai, v1);
        }
    }
  ALL_ROWS
  for (int i = 0; i < rows; i++)
    {
      float *ci = c + i * ldc;

      if (accumulate)
        {
          acc[i][0] = _mm512_add_ps (acc[i][0], _mm512_maskz_loadu_ps (m0, ci));
          acc[i][1] = _mm512_add_ps (acc[i][1], _mm512_maskz_loadu_ps (m1, ci + 16));
        }
      _mm512_mask_storeu_ps (ci, m0, acc[i][0]);
      _mm512_mask_storeu_ps (ci + 16, m1, acc[i][1]);
    }
}

#define DP_ROWS(cross)                                                                  \
  switch (MIN (8, M - m0))                                                              \
    {                                                                                   \
    case 8: dp_block (8, N - n0, Kp, am, lda, bn, cm, ldc, accumulate, cross); break;   \
    case 7: dp_block (7, N - n0, Kp, am, lda, bn, cm, ldc, accumulate, cross); break;   \
    case 6: dp_block (6, N - n0, Kp, am, lda, bn, cm, ldc, accumulate, cross); break;   \
    case 5: dp_block (5, N - n0, Kp, am, lda, bn, cm, ldc, accumulate, cross); break;   \
    case 4: dp_block (4, N - n0, Kp, am, lda, bn, cm, ldc, accumulate, cross); break;   \
    case 3: dp_block (3, N - n0, Kp, am, lda, bn, cm, ldc, accumulate, cross); break;   \
    case 2: dp_block (2, N - n0, Kp, am, lda, bn, cm, ldc, accumulate, cross); break;   \
    default: dp_block (1, N - n0, Kp, am, lda, bn, cm, ldc, accumulate, cross); break;  \
    }

static void
gemm_avx512_bf16 (int64_t M, int64_t N, int64_t K, const uint16_t *a, int64_t lda,
                  const uint16_t *packed, float *c, int64_t ldc, gboolean accumulate,
                  gboolean cross)
{
  int64_t Kp = temper_cpu_bf16_gemm_padded_k (K), Np = temper_cpu_bf16_gemm_padded_n (N);
  int64_t Kb = cross ? 2 * Kp : Kp;

  for (int64_t m0 = 0; m0 < M; m0 += 8)
    for (int64_t n0 = 0; n0 < Np; n0 += 2 * BLOCK_N)
      {
        const uint16_t *am = a + m0 * lda, *bn = packed + n0 * Kb;
        float *cm = c + m0 * ldc + n0;

        if (cross)
          {
            DP_ROWS (TRUE);
          }
        else
          {
            DP_ROWS (FALSE);
          }
      }
}
#undef DP_ROWS

void
temper_cpu_bf16_gemm (TemperBf16GemmKind kind, int64_t M, int64_t N, int64_t K,
                      const uint16_t *a, int64_t lda, const uint16_t *packed_b,
                      float *c, int64_t ldc, gboolean accumulate)
{
  g_return_if_fail (kind != TEMPER_BF16_GEMM_NONE);
  if (M <= 0 || N <= 0)
    return;
  if (kind == TEMPER_BF16_GEMM_AMX)
    gemm_amx (M, N, K, a, lda, packed_b, c, ldc, accumulate, FALSE);
  else
    gemm_avx512_bf16 (M, N, K, a, lda, packed_b, c, ldc, accumulate, FALSE);
}

void
temper_cpu_bf16_gemm_split (TemperBf16GemmKind kind, TemperBf16Split split, int64_t M,
                            int64_t N, int64_t K, const uint16_t *a, int64_t lda,
                            const uint16_t *packed_b, float *c, int64_t ldc, gboolean accumulate)
{
  g_return_if_fail (kind != TEMPER_BF16_GEMM_NONE);
  if (split != TEMPER_BF16_SPLIT_BOTH)
    {
      temper_cpu_bf16_gemm (kind, M, N, temper_cpu_bf16_split_k (split, K), a, lda, packed_b, c,
                            ldc, accumulate);
      return;
    }
  if (M <= 0 || N <= 0)
    return;
  if (kind == TEMPER_BF16_GEMM_AMX)
    gemm_amx (M, N, K, a, lda, packed_b, c, ldc, accumulate, TRUE);
  else
    gemm_avx512_bf16 (M, N, K, a, lda, packed_b, c, ldc, accumulate, TRUE);
}
