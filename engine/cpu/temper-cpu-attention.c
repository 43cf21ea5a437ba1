/* SPDX-License-Identifier: MIT */
/* Causal grouped-query attention and its backward.
 *
 * Scores for one query are formed in per-thread scratch (one float per key),
 * so memory stays linear in the context; the log-sum-exp saved by the forward
 * lets the backward rebuild the probabilities without storing them.
 *
 * With many queries (training, long prompts) queries and keys go in blocks
 * (the tiled form below), so the work is whole-block products through the
 * blocked GEMM and the blocks no query can see are skipped. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "temper-cpu-private.h"
#ifdef TEMPER_HAVE_AVX512
#include "temper-cpu-avx512.h"
#endif

/* The keys query @i (position q_offset + i) sees: [*lo, *hi), the causal
 * ones less those behind a sliding window. */
static inline void
visible_keys (const TemperAttentionParams *p, int64_t i, int64_t *lo, int64_t *hi)
{
  *hi = (int64_t) p->q_offset + i + 1;
  *lo = p->window > 0 ? MAX (0, *hi - p->window) : 0;
}

/* A scaled score after soft-capping (Gemma 2), and the capping's slope
 * written in terms of its output. */
static inline float
cap_score (const TemperAttentionParams *p, float s)
{
  return p->softcap > 0.0f ? p->softcap * tanhf (s / p->softcap) : s;
}

static inline float
cap_slope (const TemperAttentionParams *p, float capped)
{
  float t;

  if (p->softcap <= 0.0f)
    return 1.0f;
  t = capped / p->softcap;
  return 1.0f - t * t;
}

typedef struct {
  TemperCpuBackend            *cpu;
  const TemperAttentionParams *p;
  const float *q, *k, *v, *out, *lse, *dout;
  float *o, *lse_out, *dq, *dk, *dv;
} AttentionWork;

static void
attention_task (void *data, int ith, int nth)
{
  AttentionWork *w = data;
  const TemperAttentionParams *p = w->p;
  const TemperCpuKernels *k = &w->cpu->k;
  int hd = p->head_dim, group = p->n_head / p->n_head_kv;
  int64_t q_stride = (int64_t) p->n_head * hd, kv_stride = (int64_t) p->n_head_kv * hd;
  float *scores = temper_cpu_scratch_for (w->cpu, ith);
  gint64 n_items = (gint64) p->n_seq * p->n_query * p->n_head, i0, i1;

  temper_cpu_split (n_items, ith, nth, &i0, &i1);
  for (gint64 item = i0; item < i1; item++)
    {
      int h = (int) (item % p->n_head);
      gint64 row = item / p->n_head;          /* query row in the batch */
      int s = (int) (row / p->n_query), i = (int) (row % p->n_query);
      int64_t lo, n_visible;
      const float *qv = w->q + row * q_stride + (int64_t) h * hd;
      const float *kbase = w->k + (int64_t) s * p->n_key * kv_stride + (int64_t) (h / group) * hd;
      const float *vbase = w->v + (int64_t) s * p->n_key * kv_stride + (int64_t) (h / group) * hd;
      float *ov = w->o + row * q_stride + (int64_t) h * hd;
      float max = -INFINITY, sum = 0.0f;

      visible_keys (p, i, &lo, &n_visible);
      for (int64_t j = lo; j < n_visible; j++)
        {
          scores[j] = cap_score (p, p->scale * k->dot_f32 (qv, kbase + j * kv_stride, hd));
          max = MAX (max, scores[j]);
        }
      for (int64_t j = lo; j < n_visible; j++)
        {
          scores[j] = expf (scores[j] - max);
          sum += scores[j];
        }
      memset (ov, 0, sizeof (float) * (size_t) hd);
      for (int64_t j = lo; j < n_visible; j++)
        k->axpy (scores[j] / sum, vbase + j * kv_stride, ov, hd);
      if (w->lse_out != NULL)
        w->lse_out[row * p->n_head + h] = max + logf (sum);
    }
}

/* The tiled (flash-attention style) form, for many queries: queries and
 * keys go in blocks of TILE, and only the blocks a query block can see are
 * computed (about half of them when causal), so no n_query × n_keys matrix
 * is ever formed.  The forward keeps a running maximum and sum per query
 * (online softmax) and rescales its partial output when the maximum grows;
 * the backward rebuilds each block's probabilities from the saved
 * log-sum-exp.  Every product is a small call of the blocked GEMM on a
 * TILE × TILE block that stays in L1/L2.  The row-by-row form above stays
 * the plain reference (the scalar kernels use it) and serves decoding. */

/* Rows of a query or key block: a multiple of both sides of the GEMM's
 * register tile, so the block products have no ragged edges. */
#define TILE 48
/* Queries per sequence from which the tiled form pays off. */
#define TILED_MIN_QUERIES 16

G_STATIC_ASSERT (TILE % TEMPER_CPU_GEMM_MR == 0 && TILE % TEMPER_CPU_GEMM_NR == 0);
#ifdef TEMPER_HAVE_AVX512
G_STATIC_ASSERT (TILE == TEMPER_CPU_AVX512_ATTENTION_TILE);
#endif

static gboolean
use_tiled (const TemperCpuBackend *cpu, const TemperAttentionParams *p)
{
  return !cpu->plain_attention && p->n_query >= TILED_MIN_QUERIES;
}

#ifdef TEMPER_HAVE_AVX512
/* The tiled form's blocks through AVX-512 (temper-cpu-avx512-attention.c)
 * where the kernels have it; soft-capped scores stay on the GEMM form. */
static gboolean
use_avx512 (const TemperCpuBackend *cpu, const TemperAttentionParams *p)
{
  return cpu->k.attention_avx512 && p->softcap <= 0.0f;
}

/* One item is one block of queries of one head of one sequence, as in
 * attention_tiled_task (). */
static void
attention_avx512_task (void *data, int ith, int nth)
{
  AttentionWork *w = data;
  const TemperAttentionParams *p = w->p;
  int64_t n_qblocks = (p->n_query + TILE - 1) / TILE;
  float *work = temper_cpu_scratch_for (w->cpu, ith);
  gint64 n_items = (gint64) p->n_seq * p->n_head * n_qblocks, i0, i1;

  temper_cpu_split (n_items, ith, nth, &i0, &i1);
  for (gint64 item = i0; item < i1; item++)
    temper_cpu_avx512_attention_forward_block (p, w->q, w->k, w->v, w->o, w->lse_out,
                                               (int) (item / n_qblocks / p->n_head),
                                               (int) (item / n_qblocks % p->n_head),
                                               item % n_qblocks, work);
}

/* Per (sequence, kv head), as attention_backward_tiled_task (). */
static void
attention_backward_avx512_task (void *data, int ith, int nth)
{
  AttentionWork *w = data;
  const TemperAttentionParams *p = w->p;
  const TemperCpuAttentionGrad g = {
    .q = w->q, .k = w->k, .v = w->v, .out = w->out, .lse = w->lse, .dout = w->dout,
    .dq = w->dq, .dk = w->dk, .dv = w->dv,
  };
  float *work = temper_cpu_scratch_for (w->cpu, ith);
  gint64 n_groups = (gint64) p->n_seq * p->n_head_kv, g0, g1;

  temper_cpu_split (n_groups, ith, nth, &g0, &g1);
  for (gint64 gi = g0; gi < g1; gi++)
    temper_cpu_avx512_attention_backward_group (p, &g, (int) (gi / p->n_head_kv),
                                                (int) (gi % p->n_head_kv), work);
}
#endif

/* The key blocks queries [i0, i1) see: [*b0, *b1) in units of TILE. */
static void
visible_blocks (const TemperAttentionParams *p, int64_t i0, int64_t i1, int64_t *b0, int64_t *b1)
{
  int64_t lo, hi, lo_last, hi_last;

  visible_keys (p, i0, &lo, &hi);
  visible_keys (p, i1 - 1, &lo_last, &hi_last);
  *b0 = lo / TILE;
  *b1 = (hi_last + TILE - 1) / TILE;
}

/* The visible part of key block [j0, j0 + cols) for query @i, relative to
 * j0: [*a, *z); empty when *a >= *z. */
static inline void
visible_in_block (const TemperAttentionParams *p, int64_t i, int64_t j0, int64_t cols,
                  int64_t *a, int64_t *z)
{
  int64_t lo, hi;

  visible_keys (p, i, &lo, &hi);
  *a = MAX (lo - j0, 0);
  *z = MIN (hi - j0, cols);
}

/* S[rows × cols] (row stride TILE) = scale·Q·Kᵀ for one block pair. */
static void
tile_scores (const TemperCpuKernels *k, float *work, float *S, int64_t rows, int64_t cols,
             const float *q, int64_t q_stride, const float *kb, int64_t kv_stride,
             const TemperAttentionParams *p)
{
  for (int64_t r = 0; r < rows; r++)
    memset (S + r * TILE, 0, sizeof (float) * (size_t) cols);
  temper_cpu_sgemm (k, work, rows, cols, p->head_dim, p->scale,
                    q, q_stride, 1, kb, 1, kv_stride, S, TILE);
}

/* Per-thread floats the tiled forward needs. */
static size_t
tiled_forward_scratch (const TemperAttentionParams *p)
{
  return TEMPER_CPU_GEMM_WORK + (size_t) TILE * TILE + (size_t) TILE * (size_t) p->head_dim +
         2 * TILE;
}

/* One item is one block of queries of one head of one sequence. */
static void
attention_tiled_task (void *data, int ith, int nth)
{
  AttentionWork *w = data;
  const TemperAttentionParams *p = w->p;
  const TemperCpuKernels *k = &w->cpu->k;
  int hd = p->head_dim, group = p->n_head / p->n_head_kv;
  int64_t q_stride = (int64_t) p->n_head * hd, kv_stride = (int64_t) p->n_head_kv * hd;
  int64_t n_qblocks = (p->n_query + TILE - 1) / TILE;
  float *work = temper_cpu_scratch_for (w->cpu, ith);
  float *S = work + TEMPER_CPU_GEMM_WORK, *acc = S + TILE * TILE;
  float *run_max = acc + TILE * hd, *run_sum = run_max + TILE;
  gint64 n_items = (gint64) p->n_seq * p->n_head * n_qblocks, i0, i1;

  temper_cpu_split (n_items, ith, nth, &i0, &i1);
  for (gint64 item = i0; item < i1; item++)
    {
      int64_t qb = item % n_qblocks;
      int h = (int) (item / n_qblocks % p->n_head), s = (int) (item / n_qblocks / p->n_head);
      int64_t q0 = qb * TILE, rows = MIN (TILE, p->n_query - q0), b0, b1;
      int64_t row0 = (int64_t) s * p->n_query + q0;
      const float *qh = w->q + row0 * q_stride + (int64_t) h * hd;
      const float *kbase = w->k + (int64_t) s * p->n_key * kv_stride + (int64_t) (h / group) * hd;
      const float *vbase = w->v + (int64_t) s * p->n_key * kv_stride + (int64_t) (h / group) * hd;

      memset (acc, 0, sizeof (float) * (size_t) (rows * hd));
      for (int64_t r = 0; r < rows; r++)
        {
          run_max[r] = -INFINITY;
          run_sum[r] = 0.0f;
        }
      visible_blocks (p, q0, q0 + rows, &b0, &b1);
      for (int64_t kb = b0; kb < b1; kb++)
        {
          int64_t j0 = kb * TILE, cols = MIN (TILE, p->n_key - j0);

          tile_scores (k, work, S, rows, cols, qh, q_stride, kbase + j0 * kv_stride, kv_stride, p);
          for (int64_t r = 0; r < rows; r++)
            {
              float *srow = S + r * TILE, *arow = acc + r * hd;
              float max = run_max[r], sum, rescale;
              int64_t a, z;

              visible_in_block (p, q0 + r, j0, cols, &a, &z);
              if (a >= z)
                {
                  memset (srow, 0, sizeof (float) * (size_t) cols);
                  continue;
                }
              for (int64_t j = a; j < z; j++)
                {
                  srow[j] = cap_score (p, srow[j]);
                  max = MAX (max, srow[j]);
                }
              sum = (float) k->exp_sub_sum (srow + a, z - a, max);
              memset (srow, 0, sizeof (float) * (size_t) a);
              memset (srow + z, 0, sizeof (float) * (size_t) (cols - z));
              /* A larger maximum: what was summed so far shrinks by the
               * difference (0 when nothing was seen yet). */
              rescale = expf (run_max[r] - max);
              if (rescale != 1.0f)
                for (int d = 0; d < hd; d++)
                  arow[d] *= rescale;
              run_sum[r] = run_sum[r] * rescale + sum;
              run_max[r] = max;
            }
          temper_cpu_sgemm (k, work, rows, hd, cols, 1.0f, S, TILE, 1,
                            vbase + j0 * kv_stride, kv_stride, 1, acc, hd);
        }
      for (int64_t r = 0; r < rows; r++)
        {
          float *ov = w->o + (row0 + r) * q_stride + (int64_t) h * hd, inv = 1.0f / run_sum[r];

          for (int d = 0; d < hd; d++)
            ov[d] = acc[r * hd + d] * inv;
          if (w->lse_out != NULL)
            w->lse_out[(row0 + r) * p->n_head + h] = run_max[r] + logf (run_sum[r]);
        }
    }
}

/* Per-thread floats the tiled backward needs. */
static size_t
tiled_backward_scratch (const TemperAttentionParams *p)
{
  return TEMPER_CPU_GEMM_WORK + 2 * (size_t) TILE * TILE + (size_t) p->n_query;
}

/* Per (sequence, kv head), so each thread owns the dk/dv rows it adds to,
 * and the dq rows of the query heads that read them. */
static void
attention_backward_tiled_task (void *data, int ith, int nth)
{
  AttentionWork *w = data;
  const TemperAttentionParams *p = w->p;
  const TemperCpuKernels *k = &w->cpu->k;
  int hd = p->head_dim, group = p->n_head / p->n_head_kv;
  int64_t q_stride = (int64_t) p->n_head * hd, kv_stride = (int64_t) p->n_head_kv * hd;
  float *work = temper_cpu_scratch_for (w->cpu, ith);
  float *P = work + TEMPER_CPU_GEMM_WORK, *dS = P + TILE * TILE, *D = dS + TILE * TILE;
  gint64 n_groups = (gint64) p->n_seq * p->n_head_kv, g0, g1;

  temper_cpu_split (n_groups, ith, nth, &g0, &g1);
  for (gint64 gi = g0; gi < g1; gi++)
    {
      int s = (int) (gi / p->n_head_kv), kvh = (int) (gi % p->n_head_kv);
      int64_t kv_off = (int64_t) s * p->n_key * kv_stride + (int64_t) kvh * hd;
      int64_t row0 = (int64_t) s * p->n_query;

      for (int h = kvh * group; h < (kvh + 1) * group; h++)
        {
          int64_t q_off = row0 * q_stride + (int64_t) h * hd;

          /* D_i = dO_i·O_i, the softmax backward's row term. */
          for (int64_t i = 0; i < p->n_query; i++)
            D[i] = k->dot_f32 (w->dout + q_off + i * q_stride, w->out + q_off + i * q_stride, hd);
          for (int64_t q0 = 0; q0 < p->n_query; q0 += TILE)
            {
              int64_t rows = MIN (TILE, p->n_query - q0), b0, b1;
              const float *qb = w->q + q_off + q0 * q_stride, *dob = w->dout + q_off + q0 * q_stride;
              float *dqb = w->dq + q_off + q0 * q_stride;

              visible_blocks (p, q0, q0 + rows, &b0, &b1);
              for (int64_t kb = b0; kb < b1; kb++)
                {
                  int64_t j0 = kb * TILE, cols = MIN (TILE, p->n_key - j0);
                  const float *kblk = w->k + kv_off + j0 * kv_stride, *vblk = w->v + kv_off + j0 * kv_stride;

                  tile_scores (k, work, P, rows, cols, qb, q_stride, kblk, kv_stride, p);
                  /* dP = dO·Vᵀ, in dS's room. */
                  for (int64_t r = 0; r < rows; r++)
                    memset (dS + r * TILE, 0, sizeof (float) * (size_t) cols);
                  temper_cpu_sgemm (k, work, rows, cols, hd, 1.0f, dob, q_stride, 1,
                                    vblk, 1, kv_stride, dS, TILE);
                  for (int64_t r = 0; r < rows; r++)
                    {
                      float *prow = P + r * TILE, *drow = dS + r * TILE;
                      float lse = w->lse[(row0 + q0 + r) * p->n_head + h], Dr = D[q0 + r];
                      int64_t a, z;

                      visible_in_block (p, q0 + r, j0, cols, &a, &z);
                      a = MIN (a, cols);
                      z = MAX (z, a);
                      if (p->softcap > 0.0f)
                        for (int64_t j = a; j < z; j++)
                          {
                            float capped = cap_score (p, prow[j]);

                            prow[j] = expf (capped - lse);
                            drow[j] = prow[j] * (drow[j] - Dr) * p->scale * cap_slope (p, capped);
                          }
                      else
                        {
                          k->exp_sub_sum (prow + a, z - a, lse);
                          for (int64_t j = a; j < z; j++)
                            drow[j] = prow[j] * (drow[j] - Dr) * p->scale;
                        }
                      memset (prow, 0, sizeof (float) * (size_t) a);
                      memset (drow, 0, sizeof (float) * (size_t) a);
                      memset (prow + z, 0, sizeof (float) * (size_t) (cols - z));
                      memset (drow + z, 0, sizeof (float) * (size_t) (cols - z));
                    }
                  /* dV += Pᵀ·dO, dQ += dS·K, dK += dSᵀ·Q. */
                  temper_cpu_sgemm (k, work, cols, hd, rows, 1.0f, P, 1, TILE,
                                    dob, q_stride, 1, w->dv + kv_off + j0 * kv_stride, kv_stride);
                  temper_cpu_sgemm (k, work, rows, hd, cols, 1.0f, dS, TILE, 1,
                                    kblk, kv_stride, 1, dqb, q_stride);
                  temper_cpu_sgemm (k, work, cols, hd, rows, 1.0f, dS, 1, TILE,
                                    qb, q_stride, 1, w->dk + kv_off + j0 * kv_stride, kv_stride);
                }
            }
        }
    }
}

void
temper_cpu_attention (TemperBackend *b, const TemperBTensor *out, const TemperBTensor *lse,
                      const TemperBTensor *q, const TemperBTensor *k, const TemperBTensor *v,
                      const TemperAttentionParams *params)
{
  TemperCpuBackend *cpu = TEMPER_CPU (b);
  AttentionWork w = {
    .cpu = cpu, .p = params, .q = cpu_f32 (q), .k = cpu_f32 (k), .v = cpu_f32 (v),
    .o = cpu_f32 (out), .lse_out = lse != NULL ? cpu_f32 (lse) : NULL,
  };

  g_assert (params->n_head % params->n_head_kv == 0);
  g_assert (params->q_offset + params->n_query <= params->n_key);
  g_assert (q->ne[1] == (int64_t) params->n_seq * params->n_query);
  g_assert (k->ne[1] >= (int64_t) params->n_seq * params->n_key);
#ifdef TEMPER_HAVE_AVX512
  if (use_tiled (cpu, params) && use_avx512 (cpu, params))
    {
      temper_cpu_reserve_scratch (cpu, temper_cpu_avx512_attention_forward_work (params));
      temper_cpu_pool_run (cpu->pool, attention_avx512_task, &w);
      return;
    }
#endif
  if (use_tiled (cpu, params))
    {
      temper_cpu_reserve_scratch (cpu, tiled_forward_scratch (params));
      temper_cpu_pool_run (cpu->pool, attention_tiled_task, &w);
      return;
    }
  temper_cpu_reserve_scratch (cpu, (size_t) params->n_key);
  temper_cpu_pool_run (cpu->pool, attention_task, &w);
}

/* Each thread owns whole (sequence, kv head) groups: every dk/dv row it
 * writes, and the dq rows of the query heads that read them, are its own. */
static void
attention_backward_task (void *data, int ith, int nth)
{
  AttentionWork *w = data;
  const TemperAttentionParams *p = w->p;
  const TemperCpuKernels *k = &w->cpu->k;
  int hd = p->head_dim, group = p->n_head / p->n_head_kv;
  int64_t q_stride = (int64_t) p->n_head * hd, kv_stride = (int64_t) p->n_head_kv * hd;
  float *prob = temper_cpu_scratch_for (w->cpu, ith), *slope = prob + p->n_key;
  gint64 n_groups = (gint64) p->n_seq * p->n_head_kv, g0, g1;

  temper_cpu_split (n_groups, ith, nth, &g0, &g1);
  for (gint64 gi = g0; gi < g1; gi++)
    {
      int s = (int) (gi / p->n_head_kv), kvh = (int) (gi % p->n_head_kv);
      int64_t kv_off = (int64_t) s * p->n_key * kv_stride + (int64_t) kvh * hd;

      for (int h = kvh * group; h < (kvh + 1) * group; h++)
        for (int i = 0; i < p->n_query; i++)
          {
            int64_t row = (int64_t) s * p->n_query + i;
            int64_t q_off = row * q_stride + (int64_t) h * hd;
            int64_t lo, n_visible;
            float lse = w->lse[row * p->n_head + h];
            float D = k->dot_f32 (w->dout + q_off, w->out + q_off, hd);

            visible_keys (p, i, &lo, &n_visible);
            for (int64_t j = lo; j < n_visible; j++)
              {
                float capped = cap_score (p, p->scale * k->dot_f32 (w->q + q_off, w->k + kv_off + j * kv_stride, hd));

                prob[j] = expf (capped - lse);
                /* The capping's slope, from the capped score. */
                slope[j] = cap_slope (p, capped);
              }
            for (int64_t j = lo; j < n_visible; j++)
              {
                float dp = k->dot_f32 (w->dout + q_off, w->v + kv_off + j * kv_stride, hd);
                float ds = prob[j] * (dp - D) * p->scale * slope[j];

                k->axpy (prob[j], w->dout + q_off, w->dv + kv_off + j * kv_stride, hd);
                k->axpy (ds, w->k + kv_off + j * kv_stride, w->dq + q_off, hd);
                k->axpy (ds, w->q + q_off, w->dk + kv_off + j * kv_stride, hd);
              }
          }
    }
}

void
temper_cpu_attention_backward (TemperBackend *b, const TemperBTensor *dq,
                               const TemperBTensor *dk, const TemperBTensor *dv,
                               const TemperBTensor *dout, const TemperBTensor *out,
                               const TemperBTensor *lse, const TemperBTensor *q,
                               const TemperBTensor *k, const TemperBTensor *v,
                               const TemperAttentionParams *params)
{
  TemperCpuBackend *cpu = TEMPER_CPU (b);
  AttentionWork w = {
    .cpu = cpu, .p = params, .q = cpu_f32 (q), .k = cpu_f32 (k), .v = cpu_f32 (v),
    .out = cpu_f32 (out), .lse = cpu_f32 (lse), .dout = cpu_f32 (dout),
    .dq = cpu_f32 (dq), .dk = cpu_f32 (dk), .dv = cpu_f32 (dv),
  };

#ifdef TEMPER_HAVE_AVX512
  if (use_tiled (cpu, params) && use_avx512 (cpu, params))
    {
      temper_cpu_reserve_scratch (cpu, temper_cpu_avx512_attention_backward_work (params));
      temper_cpu_pool_run (cpu->pool, attention_backward_avx512_task, &w);
      return;
    }
#endif
  if (use_tiled (cpu, params))
    {
      temper_cpu_reserve_scratch (cpu, tiled_backward_scratch (params));
      temper_cpu_pool_run (cpu->pool, attention_backward_tiled_task, &w);
      return;
    }
  temper_cpu_reserve_scratch (cpu, 2 * (size_t) params->n_key);
  temper_cpu_pool_run (cpu->pool, attention_backward_task, &w);
}
