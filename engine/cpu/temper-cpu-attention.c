/* SPDX-License-Identifier: MIT */
/* Causal grouped-query attention and its backward.
 *
 * Scores for one query are formed in per-thread scratch (one float per key),
 * so memory stays linear in the context; the log-sum-exp saved by the forward
 * lets the backward rebuild the probabilities without storing them.
 *
 * With many queries (training, long prompts) each (sequence, head) is done
 * as whole-matrix products through the blocked GEMM instead: S = Q·Kᵀ for
 * all its queries at once, a masked softmax per row, then P·V, and in the
 * backward dP = dO·Vᵀ, dS, dV += Pᵀ·dO, dQ += dS·K, dK += dSᵀ·Q.  The masked
 * upper triangle is computed and discarded, which costs less than the dot
 * products one at a time did. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "temper-cpu-private.h"

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

/* Queries per sequence from which the matrix form pays off, and the most
 * score floats per thread it may hold (16 MiB). */
#define BLOCKED_MIN_QUERIES 16
#define BLOCKED_MAX_SCORES (4 * 1024 * 1024)

static gboolean
use_blocked (const TemperAttentionParams *p)
{
  int64_t n_keys = (int64_t) p->q_offset + p->n_query;

  return p->n_query >= BLOCKED_MIN_QUERIES && (int64_t) p->n_query * n_keys <= BLOCKED_MAX_SCORES;
}

/* S[i][j] = scale·q_i·k_j for the n_query × n_keys block of one head. */
static void
block_scores (const TemperCpuKernels *k, float *work, float *S, const float *q, int64_t q_stride,
              const float *kbase, int64_t kv_stride, const TemperAttentionParams *p,
              int64_t n_keys)
{
  memset (S, 0, sizeof (float) * (size_t) (p->n_query * n_keys));
  temper_cpu_sgemm (k, work, p->n_query, n_keys, p->head_dim, p->scale,
                    q, q_stride, 1, kbase, 1, kv_stride, S, n_keys);
}

static void
attention_blocked_task (void *data, int ith, int nth)
{
  AttentionWork *w = data;
  const TemperAttentionParams *p = w->p;
  const TemperCpuKernels *k = &w->cpu->k;
  int hd = p->head_dim, group = p->n_head / p->n_head_kv;
  int64_t q_stride = (int64_t) p->n_head * hd, kv_stride = (int64_t) p->n_head_kv * hd;
  int64_t n_keys = (int64_t) p->q_offset + p->n_query;
  float *work = temper_cpu_scratch_for (w->cpu, ith);
  float *S = work + TEMPER_CPU_GEMM_WORK;
  gint64 n_items = (gint64) p->n_seq * p->n_head, i0, i1;

  temper_cpu_split (n_items, ith, nth, &i0, &i1);
  for (gint64 item = i0; item < i1; item++)
    {
      int s = (int) (item / p->n_head), h = (int) (item % p->n_head);
      int64_t row0 = (int64_t) s * p->n_query;
      const float *qh = w->q + row0 * q_stride + (int64_t) h * hd;
      const float *kbase = w->k + (int64_t) s * p->n_key * kv_stride + (int64_t) (h / group) * hd;
      const float *vbase = w->v + (int64_t) s * p->n_key * kv_stride + (int64_t) (h / group) * hd;
      float *oh = w->o + row0 * q_stride + (int64_t) h * hd;

      block_scores (k, work, S, qh, q_stride, kbase, kv_stride, p, n_keys);
      for (int i = 0; i < p->n_query; i++)
        {
          float *srow = S + (int64_t) i * n_keys;
          int64_t lo, n_visible;
          float max = -INFINITY, sum = 0.0f, inv;

          visible_keys (p, i, &lo, &n_visible);
          for (int64_t j = lo; j < n_visible; j++)
            {
              srow[j] = cap_score (p, srow[j]);
              max = MAX (max, srow[j]);
            }
          for (int64_t j = lo; j < n_visible; j++)
            {
              srow[j] = expf (srow[j] - max);
              sum += srow[j];
            }
          inv = 1.0f / sum;
          for (int64_t j = lo; j < n_visible; j++)
            srow[j] *= inv;
          memset (srow, 0, sizeof (float) * (size_t) lo);
          memset (srow + n_visible, 0, sizeof (float) * (size_t) (n_keys - n_visible));
          memset (oh + i * q_stride, 0, sizeof (float) * (size_t) hd);
          if (w->lse_out != NULL)
            w->lse_out[(row0 + i) * p->n_head + h] = max + logf (sum);
        }
      temper_cpu_sgemm (k, work, p->n_query, hd, n_keys, 1.0f,
                        S, n_keys, 1, vbase, kv_stride, 1, oh, q_stride);
    }
}

/* Per (sequence, kv head), like the row-wise backward, so each thread owns
 * the dk/dv rows it adds to. */
static void
attention_backward_blocked_task (void *data, int ith, int nth)
{
  AttentionWork *w = data;
  const TemperAttentionParams *p = w->p;
  const TemperCpuKernels *k = &w->cpu->k;
  int hd = p->head_dim, group = p->n_head / p->n_head_kv;
  int64_t q_stride = (int64_t) p->n_head * hd, kv_stride = (int64_t) p->n_head_kv * hd;
  int64_t n_keys = (int64_t) p->q_offset + p->n_query;
  float *work = temper_cpu_scratch_for (w->cpu, ith);
  float *P = work + TEMPER_CPU_GEMM_WORK, *dS = P + p->n_query * n_keys;
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

          block_scores (k, work, P, w->q + q_off, q_stride, w->k + kv_off, kv_stride, p, n_keys);
          memset (dS, 0, sizeof (float) * (size_t) (p->n_query * n_keys));
          temper_cpu_sgemm (k, work, p->n_query, n_keys, hd, 1.0f,
                            w->dout + q_off, q_stride, 1, w->v + kv_off, 1, kv_stride,
                            dS, n_keys);
          for (int i = 0; i < p->n_query; i++)
            {
              float *prow = P + (int64_t) i * n_keys, *drow = dS + (int64_t) i * n_keys;
              int64_t lo, n_visible;
              float lse = w->lse[(row0 + i) * p->n_head + h];
              float D = k->dot_f32 (w->dout + q_off + i * q_stride, w->out + q_off + i * q_stride, hd);

              visible_keys (p, i, &lo, &n_visible);
              for (int64_t j = lo; j < n_visible; j++)
                {
                  float capped = cap_score (p, prow[j]);

                  prow[j] = expf (capped - lse);
                  drow[j] = prow[j] * (drow[j] - D) * p->scale * cap_slope (p, capped);
                }
              memset (prow, 0, sizeof (float) * (size_t) lo);
              memset (drow, 0, sizeof (float) * (size_t) lo);
              memset (prow + n_visible, 0, sizeof (float) * (size_t) (n_keys - n_visible));
              memset (drow + n_visible, 0, sizeof (float) * (size_t) (n_keys - n_visible));
            }
          /* dV += Pᵀ·dO, dQ += dS·K, dK += dSᵀ·Q. */
          temper_cpu_sgemm (k, work, n_keys, hd, p->n_query, 1.0f, P, 1, n_keys,
                            w->dout + q_off, q_stride, 1, w->dv + kv_off, kv_stride);
          temper_cpu_sgemm (k, work, p->n_query, hd, n_keys, 1.0f, dS, n_keys, 1,
                            w->k + kv_off, kv_stride, 1, w->dq + q_off, q_stride);
          temper_cpu_sgemm (k, work, n_keys, hd, p->n_query, 1.0f, dS, 1, n_keys,
                            w->q + q_off, q_stride, 1, w->dk + kv_off, kv_stride);
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
  if (use_blocked (params))
    {
      int64_t n_keys = (int64_t) params->q_offset + params->n_query;

      temper_cpu_reserve_scratch (cpu, TEMPER_CPU_GEMM_WORK + (size_t) (params->n_query * n_keys));
      temper_cpu_pool_run (cpu->pool, attention_blocked_task, &w);
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

  if (use_blocked (params))
    {
      int64_t n_keys = (int64_t) params->q_offset + params->n_query;

      temper_cpu_reserve_scratch (cpu, TEMPER_CPU_GEMM_WORK +
                                       2 * (size_t) (params->n_query * n_keys));
      temper_cpu_pool_run (cpu->pool, attention_backward_blocked_task, &w);
      return;
    }
  temper_cpu_reserve_scratch (cpu, 2 * (size_t) params->n_key);
  temper_cpu_pool_run (cpu->pool, attention_backward_task, &w);
}
