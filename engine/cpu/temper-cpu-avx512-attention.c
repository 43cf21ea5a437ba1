/* SPDX-License-Identifier: MIT */
/* The tiled attention's blocks (temper-cpu-attention.c) with AVX-512.
 *
 * The portable tiled form multiplies each block pair through the blocked
 * GEMM, which packs both operands on every call and leaves the softmax to
 * scalar loops; at a head size of 64 the packing, the calls and those loops
 * took half of attention's time.  Here every block product reads its
 * operands where they lie: the scores are formed transposed, Sᵀ = K·Qᵀ (keys
 * down, queries across), so the one operand that needs a transposed copy is
 * the query block (and dO's in the backward), made once per query block and
 * reused by every key block it sees.  Each product is a register tile of up
 * to 12 rows × 16 columns that takes A through any two strides and B through
 * a row stride, the edges handled by the row count and a column mask, so no
 * block is ever copied or padded.  The softmax runs down the key rows, 16
 * queries per vector: one running maximum, sum and mask per lane.
 *
 * Exact fp32 like the portable form (same products, different order of the
 * sums); soft-capped scores (Gemma 2) stay on the portable form. */
#include "config.h"

#include <immintrin.h>
#include <math.h>
#include <string.h>

#include "temper-cpu-avx512.h"

#define TILE TEMPER_CPU_AVX512_ATTENTION_TILE
#define LANES 16
#define TILE_ROWS 12

G_STATIC_ASSERT (TILE % LANES == 0);

/* exp(x) for 16 floats: 2ⁿ·exp(r), n = round(x/ln 2), r to r⁷ (the method
 * and limits of temper-cpu-avx2-exp.c); 0 below −87.3, so exp(−∞) = 0. */
static inline __m512
exp16 (__m512 x)
{
  const __m512 log2e = _mm512_set1_ps (1.44269504088896341f);
  const __m512 ln2_hi = _mm512_set1_ps (0.693145751953125f);
  const __m512 ln2_lo = _mm512_set1_ps (1.428606765330187045e-06f);
  __mmask16 tiny = _mm512_cmp_ps_mask (x, _mm512_set1_ps (-87.33654f), _CMP_LT_OQ);
  __m512 n, r, p;
  __m512i bits;

  x = _mm512_min_ps (x, _mm512_set1_ps (88.3f));
  x = _mm512_max_ps (x, _mm512_set1_ps (-87.33654f));
  n = _mm512_roundscale_ps (_mm512_mul_ps (x, log2e), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  r = _mm512_fnmadd_ps (n, ln2_hi, x);
  r = _mm512_fnmadd_ps (n, ln2_lo, r);
  p = _mm512_set1_ps (1.0f / 5040.0f);
  p = _mm512_fmadd_ps (p, r, _mm512_set1_ps (1.0f / 720.0f));
  p = _mm512_fmadd_ps (p, r, _mm512_set1_ps (1.0f / 120.0f));
  p = _mm512_fmadd_ps (p, r, _mm512_set1_ps (1.0f / 24.0f));
  p = _mm512_fmadd_ps (p, r, _mm512_set1_ps (1.0f / 6.0f));
  p = _mm512_fmadd_ps (p, r, _mm512_set1_ps (0.5f));
  p = _mm512_fmadd_ps (p, r, _mm512_set1_ps (1.0f));
  p = _mm512_fmadd_ps (p, r, _mm512_set1_ps (1.0f));
  bits = _mm512_slli_epi32 (_mm512_add_epi32 (_mm512_cvtps_epi32 (n), _mm512_set1_epi32 (127)), 23);
  p = _mm512_mul_ps (p, _mm512_castsi512_ps (bits));
  return _mm512_maskz_mov_ps ((__mmask16) ~tiny, p);
}

static inline __mmask16
first_lanes (int64_t n)
{
  return n >= LANES ? (__mmask16) 0xffff : (__mmask16) ((1u << n) - 1);
}

/* C[R × 16 (mask m)] = (or +=) A·B over kc, with A[i][k] = a[k·ak + i·ar]
 * and B[k][j] = b[k·ldb + j].  R is a constant once inlined, so the
 * accumulators stay in registers; masked lanes are neither read nor
 * written. */
static inline __attribute__ ((always_inline)) void
tile (const int R, int64_t kc, const float *a, int64_t ak, int64_t ar,
      const float *b, int64_t ldb, __mmask16 m, float *c, int64_t ldc, gboolean add)
{
  __m512 acc[TILE_ROWS];

#pragma GCC unroll 12
  for (int i = 0; i < R; i++)
    acc[i] = _mm512_setzero_ps ();
  /* Row i of A is read as a[3m][(i − 3m)·ar], m = i / 3: four pointers
   * and two strides, which x86 addressing covers, where twelve row
   * offsets would not fit the registers next to the loop's own. */
  const float *a0 = a, *a3 = a + 3 * ar, *a6 = a + 6 * ar, *a9 = a + 9 * ar;
  const int64_t ar2 = 2 * ar;

  for (int64_t k = 0; k < kc; k++, a0 += ak, a3 += ak, a6 += ak, a9 += ak, b += ldb)
    {
      const __m512 bv = _mm512_maskz_loadu_ps (m, b);

#pragma GCC unroll 12
      for (int i = 0; i < R; i++)
        {
          const float *base = i < 3 ? a0 : i < 6 ? a3 : i < 9 ? a6 : a9;
          float x = i % 3 == 0 ? base[0] : i % 3 == 1 ? base[ar] : base[ar2];

          acc[i] = _mm512_fmadd_ps (_mm512_set1_ps (x), bv, acc[i]);
        }
    }
#pragma GCC unroll 12
  for (int i = 0; i < R; i++)
    {
      __m512 sum = acc[i];

      if (add)
        sum = _mm512_add_ps (sum, _mm512_maskz_loadu_ps (m, c + i * ldc));
      _mm512_mask_storeu_ps (c + i * ldc, m, sum);
    }
}

#define TILE_CASE(r) \
  case r: tile (r, K, ai, ak, ar, bj, ldb, m, ci, ldc, add); break

/* C[M × N] = (or +=) A·B, A and B read in place as in tile(). */
static void
product (int64_t M, int64_t N, int64_t K, const float *a, int64_t ak, int64_t ar,
         const float *b, int64_t ldb, float *c, int64_t ldc, gboolean add)
{
  for (int64_t j = 0; j < N; j += LANES)
    {
      __mmask16 m = first_lanes (N - j);
      const float *bj = b + j;

      for (int64_t i = 0; i < M; i += TILE_ROWS)
        {
          const float *ai = a + i * ar;
          float *ci = c + i * ldc + j;

          switch (MIN (TILE_ROWS, M - i))
            {
              TILE_CASE (12); TILE_CASE (11); TILE_CASE (10); TILE_CASE (9);
              TILE_CASE (8); TILE_CASE (7); TILE_CASE (6); TILE_CASE (5);
              TILE_CASE (4); TILE_CASE (3); TILE_CASE (2); TILE_CASE (1);
            default: break;
            }
        }
    }
}

/* dst[d·TILE + i] = scale·src[i·stride + d] for the block's @rows queries,
 * zero for the rest of TILE (the lanes past the block). */
static void
transpose_block (float *dst, const float *src, int64_t stride, int64_t rows, int hd, float scale)
{
  for (int d = 0; d < hd; d++)
    {
      float *out = dst + (int64_t) d * TILE;

      for (int64_t i = 0; i < rows; i++)
        out[i] = scale * src[i * stride + d];
      for (int64_t i = rows; i < TILE; i++)
        out[i] = 0.0f;
    }
}

/* Which of 16 queries (positions qpos, the first @valid of them real) see
 * the key at position @kpos: causal, and inside the sliding window. */
static inline __mmask16
sees (__m512i qpos, __mmask16 valid, int64_t kpos, int window)
{
  __m512i kp = _mm512_set1_epi32 ((int) kpos);
  __mmask16 m = _mm512_mask_cmp_epi32_mask (valid, kp, qpos, _MM_CMPINT_LE);

  if (window > 0)
    m = _mm512_mask_cmp_epi32_mask (m, qpos, _mm512_add_epi32 (kp, _mm512_set1_epi32 (window)),
                                    _MM_CMPINT_LT);
  return m;
}

/* The key blocks the queries at positions [first, last] see, in units of
 * TILE. */
static void
key_blocks (const TemperAttentionParams *p, int64_t first, int64_t last, int64_t *b0, int64_t *b1)
{
  int64_t lo = p->window > 0 ? MAX (0, first + 1 - p->window) : 0;

  *b0 = lo / TILE;
  *b1 = MIN ((last + 1 + TILE - 1) / TILE, (p->n_key + TILE - 1) / TILE);
}

size_t
temper_cpu_avx512_attention_forward_work (const TemperAttentionParams *p)
{
  return (size_t) 2 * TILE * (size_t) p->head_dim + (size_t) TILE * TILE + 3 * TILE;
}

void
temper_cpu_avx512_attention_forward_block (const TemperAttentionParams *p, const float *q,
                                           const float *k, const float *v, float *o,
                                           float *lse, int s, int h, int64_t qb, float *work)
{
  int hd = p->head_dim, group = p->n_head / p->n_head_kv;
  int64_t q_stride = (int64_t) p->n_head * hd, kv_stride = (int64_t) p->n_head_kv * hd;
  int64_t q0 = qb * TILE, rows = MIN (TILE, p->n_query - q0), row0 = (int64_t) s * p->n_query + q0;
  int64_t first = p->q_offset + q0, b0, b1;
  const float *kbase = k + (int64_t) s * p->n_key * kv_stride + (int64_t) (h / group) * hd;
  const float *vbase = v + (int64_t) s * p->n_key * kv_stride + (int64_t) (h / group) * hd;
  float *qt = work, *st = qt + (int64_t) TILE * hd, *acc = st + TILE * TILE;
  float *run_max = acc + (int64_t) TILE * hd, *run_sum = run_max + TILE, *rescale = run_sum + TILE;
  const __m512i iota = _mm512_setr_epi32 (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);

  transpose_block (qt, q + row0 * q_stride + (int64_t) h * hd, q_stride, rows, hd, p->scale);
  memset (acc, 0, sizeof (float) * (size_t) (rows * hd));
  for (int i = 0; i < TILE; i++)
    {
      run_max[i] = -INFINITY;
      run_sum[i] = 0.0f;
    }
  key_blocks (p, first, first + rows - 1, &b0, &b1);
  for (int64_t kb = b0; kb < b1; kb++)
    {
      int64_t j0 = kb * TILE, cols = MIN (TILE, p->n_key - j0);

      /* Sᵀ[cols × rows] = K·(scale·Q)ᵀ. */
      product (cols, rows, hd, kbase + j0 * kv_stride, 1, kv_stride, qt, TILE, st, TILE, FALSE);
      for (int64_t c = 0; c < rows; c += LANES)
        {
          __mmask16 valid = first_lanes (rows - c);
          __m512i qpos = _mm512_add_epi32 (_mm512_set1_epi32 ((int) (first + c)), iota);
          __m512 old_max = _mm512_loadu_ps (run_max + c), max = old_max, safe, sum = _mm512_setzero_ps ();
          __m512 scale_old;

          for (int64_t j = 0; j < cols; j++)
            max = _mm512_mask_max_ps (max, sees (qpos, valid, j0 + j, p->window), max,
                                      _mm512_loadu_ps (st + j * TILE + c));
          /* A query that has seen nothing yet keeps −∞; subtract 0 then, so
           * nothing becomes NaN (its lanes are masked out anyway). */
          safe = _mm512_mask_mov_ps (max, _mm512_cmp_ps_mask (max, _mm512_set1_ps (-INFINITY), _CMP_EQ_OQ),
                                     _mm512_setzero_ps ());
          for (int64_t j = 0; j < cols; j++)
            {
              float *row = st + j * TILE + c;
              __m512 e = _mm512_maskz_mov_ps (sees (qpos, valid, j0 + j, p->window),
                                              exp16 (_mm512_sub_ps (_mm512_loadu_ps (row), safe)));

              _mm512_storeu_ps (row, e);
              sum = _mm512_add_ps (sum, e);
            }
          /* What was summed so far shrinks by the growth of the maximum. */
          scale_old = exp16 (_mm512_sub_ps (old_max, safe));
          _mm512_storeu_ps (rescale + c, scale_old);
          _mm512_storeu_ps (run_sum + c, _mm512_fmadd_ps (_mm512_loadu_ps (run_sum + c), scale_old, sum));
          _mm512_storeu_ps (run_max + c, max);
        }
      for (int64_t i = 0; i < rows; i++)
        if (rescale[i] != 1.0f)
          {
            __m512 f = _mm512_set1_ps (rescale[i]);

            for (int d = 0; d < hd; d += LANES)
              {
                __mmask16 m = first_lanes (hd - d);
                float *a = acc + i * hd + d;

                _mm512_mask_storeu_ps (a, m, _mm512_mul_ps (f, _mm512_maskz_loadu_ps (m, a)));
              }
          }
      /* acc[rows × hd] += P·V, P read from Pᵀ. */
      product (rows, hd, cols, st, TILE, 1, vbase + j0 * kv_stride, kv_stride, acc, hd, TRUE);
    }
  for (int64_t i = 0; i < rows; i++)
    {
      float *out = o + (row0 + i) * q_stride + (int64_t) h * hd, inv = 1.0f / run_sum[i];

      for (int d = 0; d < hd; d++)
        out[d] = acc[i * hd + d] * inv;
      if (lse != NULL)
        lse[(row0 + i) * p->n_head + h] = run_max[i] + logf (run_sum[i]);
    }
}

size_t
temper_cpu_avx512_attention_backward_work (const TemperAttentionParams *p)
{
  return (size_t) 2 * TILE * (size_t) p->head_dim + 2 * (size_t) TILE * TILE + 2 * TILE +
         (size_t) p->n_query;
}

static float
dot (const float *a, const float *b, int n)
{
  __m512 acc = _mm512_setzero_ps ();

  for (int d = 0; d < n; d += LANES)
    {
      __mmask16 m = first_lanes (n - d);

      acc = _mm512_fmadd_ps (_mm512_maskz_loadu_ps (m, a + d), _mm512_maskz_loadu_ps (m, b + d), acc);
    }
  return _mm512_reduce_add_ps (acc);
}

void
temper_cpu_avx512_attention_backward_group (const TemperAttentionParams *p,
                                            const TemperCpuAttentionGrad *g,
                                            int s, int kvh, float *work)
{
  int hd = p->head_dim, group = p->n_head / p->n_head_kv;
  int64_t q_stride = (int64_t) p->n_head * hd, kv_stride = (int64_t) p->n_head_kv * hd;
  int64_t kv_off = (int64_t) s * p->n_key * kv_stride + (int64_t) kvh * hd;
  int64_t row0 = (int64_t) s * p->n_query;
  float *qt = work, *dot_t = qt + (int64_t) TILE * hd, *pt = dot_t + (int64_t) TILE * hd;
  float *dst = pt + TILE * TILE, *lse_blk = dst + TILE * TILE, *d_blk = lse_blk + TILE;
  float *D = d_blk + TILE;
  const __m512i iota = _mm512_setr_epi32 (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  const __m512 scale = _mm512_set1_ps (p->scale);

  for (int h = kvh * group; h < (kvh + 1) * group; h++)
    {
      int64_t q_off = row0 * q_stride + (int64_t) h * hd;

      /* D_i = dO_i·O_i, the softmax backward's row term. */
      for (int64_t i = 0; i < p->n_query; i++)
        D[i] = dot (g->dout + q_off + i * q_stride, g->out + q_off + i * q_stride, hd);
      for (int64_t q0 = 0; q0 < p->n_query; q0 += TILE)
        {
          int64_t rows = MIN (TILE, p->n_query - q0), first = p->q_offset + q0, b0, b1;
          const float *qblk = g->q + q_off + q0 * q_stride, *doblk = g->dout + q_off + q0 * q_stride;
          float *dqblk = g->dq + q_off + q0 * q_stride;

          transpose_block (qt, qblk, q_stride, rows, hd, p->scale);
          transpose_block (dot_t, doblk, q_stride, rows, hd, 1.0f);
          for (int i = 0; i < TILE; i++)
            {
              lse_blk[i] = i < rows ? g->lse[(row0 + q0 + i) * p->n_head + h] : 0.0f;
              d_blk[i] = i < rows ? D[q0 + i] : 0.0f;
            }
          key_blocks (p, first, first + rows - 1, &b0, &b1);
          for (int64_t kb = b0; kb < b1; kb++)
            {
              int64_t j0 = kb * TILE, cols = MIN (TILE, p->n_key - j0);
              const float *kblk = g->k + kv_off + j0 * kv_stride, *vblk = g->v + kv_off + j0 * kv_stride;

              /* Sᵀ = K·(scale·Q)ᵀ and dPᵀ = V·dOᵀ, [cols × rows]. */
              product (cols, rows, hd, kblk, 1, kv_stride, qt, TILE, pt, TILE, FALSE);
              product (cols, rows, hd, vblk, 1, kv_stride, dot_t, TILE, dst, TILE, FALSE);
              for (int64_t c = 0; c < rows; c += LANES)
                {
                  __mmask16 valid = first_lanes (rows - c);
                  __m512i qpos = _mm512_add_epi32 (_mm512_set1_epi32 ((int) (first + c)), iota);
                  __m512 lse = _mm512_loadu_ps (lse_blk + c), dr = _mm512_loadu_ps (d_blk + c);

                  for (int64_t j = 0; j < cols; j++)
                    {
                      float *prow = pt + j * TILE + c, *drow = dst + j * TILE + c;
                      __mmask16 m = sees (qpos, valid, j0 + j, p->window);
                      __m512 pv = _mm512_maskz_mov_ps (m, exp16 (_mm512_sub_ps (_mm512_loadu_ps (prow), lse)));

                      _mm512_storeu_ps (prow, pv);
                      _mm512_storeu_ps (drow, _mm512_mul_ps (_mm512_mul_ps (pv, _mm512_sub_ps (_mm512_loadu_ps (drow), dr)),
                                                             scale));
                    }
                }
              /* dV += Pᵀ·dO, dK += dSᵀ·Q, dQ += dS·K. */
              product (cols, hd, rows, pt, 1, TILE, doblk, q_stride, g->dv + kv_off + j0 * kv_stride,
                       kv_stride, TRUE);
              product (cols, hd, rows, dst, 1, TILE, qblk, q_stride, g->dk + kv_off + j0 * kv_stride,
                       kv_stride, TRUE);
              product (rows, hd, cols, dst, TILE, 1, kblk, kv_stride, dqblk, q_stride, TRUE);
            }
        }
    }
}
