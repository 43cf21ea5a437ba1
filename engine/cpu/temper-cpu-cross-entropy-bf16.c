/* SPDX-License-Identifier: MIT */
/* The fused lm_head + cross-entropy in bfloat16 (training's fast mode), the
 * vocabulary outermost.  Each thread owns a range of the vocabulary and
 * walks it in panels of PANEL_WORDS output rows; each panel's rows are
 * dequantised sixteen at a time and packed straight into the tiles' layout,
 * then multiplied by every token of the row block, so the output matrix is
 * widened once per call for all tokens (the earlier design widened it once
 * per chunk of 32–128 tokens, or three times per call in slices of the
 * vocabulary, and took the gradient's product through panels 32 columns
 * wide that re-read a T × V/2 gradient from memory for each).
 *
 * One pass: each row's running maximum and sum of exponentials (the
 * log-sum-exp) take in the panel's logits, and exp(logit − running maximum)
 * is rounded to bfloat16 and multiplied by the same panel's weights (packed
 * a second time, as rows, from the same dequantised rows) into the
 * thread's own U; when a row's maximum rises, its U is scaled down first,
 * as a flash attention's output is.  At the end the threads' U are merged
 * into dx = grad_scale · (U / Σ exp − W[target]), so the logits are formed
 * once: two products per call where the slices took three.  Everything a
 * thread touches per panel (the logits of its panel, both packed panels)
 * is a few hundred KiB, and no buffer is as wide as the vocabulary: all
 * of it (about 3 MiB a thread at Gemma 3's width) lives in the caller's
 * V-wide scratch when that is large enough (training's always is: at least
 * 32 rows of the vocabulary), else in the backend's. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "temper-cpu-bf16-gemm.h"
#include "temper-cpu-private.h"

#ifdef TEMPER_HAVE_BF16_GEMM
/* Output rows (words) per panel: a multiple of 32 (the tiles' width) and of
 * 16 (rows dequantised at a time). */
#define PANEL_WORDS 256
/* Tokens per row block: bounds the panel's logits (ROW_BLOCK × PANEL_WORDS
 * floats) and a thread's U (ROW_BLOCK × E); each block widens the output
 * matrix once more. */
#define ROW_BLOCK 512

typedef struct {
  TemperCpuBackend *cpu;
  const TemperCpuKernels *k;
  const guint8     *w;
  size_t            row_bytes;
  int               type;
  int64_t           E, V, R;       /* width, vocabulary, rows in this block */
  const float      *x;             /* this block's rows */
  float            *dx;            /* this block's rows, or NULL */
  const gint32     *targets;       /* this block's rows */
  float             grad_scale, cap;
  /* Shared: x rounded (R × lda_x), each row's target logit, then the merged
   * maximum and grad_scale / Σ exp. */
  uint16_t         *acts;
  int64_t           lda_x;
  float            *target_logit, *row_max, *row_inv;
  /* Each thread's part of the scratch, thread_floats apart. */
  float            *threads;
  size_t            thread_floats;
  gboolean         *wrote_dx;      /* per thread: its U holds sums */
  int               n_parts;       /* the pool's parts (threads) */
} CeWork;

/* A thread's part of the scratch, in the order laid out below. */
typedef struct {
  uint16_t *packed_cols;   /* the panel as B of logits = x·Wᵀ (E × P) */
  uint16_t *packed_rows;   /* the panel as B of dx += g·W (P × E) */
  float    *rows_f32;      /* sixteen dequantised rows */
  float    *logits;        /* R × PANEL_WORDS */
  uint16_t *grad;          /* R × PANEL_WORDS, rounded */
  float    *max;           /* R: running maximum */
  double   *sum;           /* R: Σ exp(logit − max) */
  float    *dx;            /* R × E: U = Σ exp(logit − max) · W[word] */
} ThreadPart;

static size_t
floats_for_bf16 (size_t n)
{
  return (n + 31) / 32 * 16;   /* whole cache lines */
}

/* Lays a thread's part out from @base (NULL: only counts); returns its
 * floats. */
static size_t
lay_out (const CeWork *c, float *base, ThreadPart *part)
{
  size_t E = (size_t) c->E, R = (size_t) c->R, at = 0;
  size_t packed_cols, packed_rows, rows_f32, logits, grad, max, sum, dx;

  packed_cols = at;
  at += floats_for_bf16 (temper_cpu_bf16_gemm_packed_size (c->E, PANEL_WORDS));
  packed_rows = at;
  at += floats_for_bf16 (temper_cpu_bf16_gemm_packed_size (PANEL_WORDS, c->E));
  rows_f32 = at;
  at += (16 * E + 15) / 16 * 16;
  logits = at;
  at += R * PANEL_WORDS;
  grad = at;
  at += floats_for_bf16 (R * PANEL_WORDS);
  max = at;
  at += (R + 15) / 16 * 16;
  sum = at;
  at += (2 * R + 15) / 16 * 16;
  dx = at;
  at += (R * E + 15) / 16 * 16;
  if (base != NULL)
    {
      part->packed_cols = (uint16_t *) (base + packed_cols);
      part->packed_rows = (uint16_t *) (base + packed_rows);
      part->rows_f32 = base + rows_f32;
      part->logits = base + logits;
      part->grad = (uint16_t *) (base + grad);
      part->max = base + max;
      part->sum = (double *) (base + sum);
      part->dx = base + dx;
    }
  return at;
}

static ThreadPart
thread_part (const CeWork *c, int ith)
{
  ThreadPart part;

  lay_out (c, c->threads + (size_t) ith * c->thread_floats, &part);
  return part;
}

static void
round_x_rows (void *data, gint64 r0, gint64 r1)
{
  CeWork *c = data;

  temper_cpu_bf16_gemm_convert_rows (c->acts + r0 * c->lda_x, c->lda_x, c->x + r0 * c->E, c->E,
                                     r1 - r0, c->E);
}

/* Logits of the panel's @n words starting at @v0 for every row into
 * part->logits (rows PANEL_WORDS apart), softcapped when asked; with a
 * gradient asked for, also the panel packed as rows for its product. */
static void
panel_logits (const CeWork *c, const ThreadPart *part, int64_t v0, int64_t n)
{
  for (int64_t r = 0; r < n; r += 16)
    {
      int64_t m = MIN (16, n - r);
      const float *src = part->rows_f32;

      if (c->type == TEMPER_TYPE_F32)
        src = (const float *) (c->w + (size_t) (v0 + r) * c->row_bytes);
      else
        for (int64_t i = 0; i < m; i++)
          c->k->dequant_row (c->type, c->w + (size_t) (v0 + r + i) * c->row_bytes, c->E,
                             part->rows_f32 + i * c->E);
      temper_cpu_bf16_gemm_pack_b_cols (part->packed_cols, c->E, n, r, m, src, c->E);
      if (c->dx != NULL)
        temper_cpu_bf16_gemm_pack_b_rows (part->packed_rows, n, c->E, r, m, src, c->E);
    }
  temper_cpu_bf16_gemm (c->k->bf16_frozen, c->R, n, c->E, c->acts, c->lda_x, part->packed_cols,
                        part->logits, PANEL_WORDS, FALSE);
  if (c->cap > 0.0f)
    for (int64_t t = 0; t < c->R; t++)
      if (c->targets[t] >= 0)
        {
          float *l = part->logits + t * PANEL_WORDS;

          for (int64_t v = 0; v < n; v++)
            l[v] = c->cap * tanhf (l[v] / c->cap);
        }
}

/* One panel: each row's running maximum and sum of exponentials take in
 * the panel's logits (the log-sum-exp), and with a gradient asked for,
 * exp(logit − running maximum) (times the cap's derivative 1 − (z/cap)²
 * when capped) is rounded and its product with the panel added into the
 * thread's own U.  When a row's maximum rises, what U and the sum hold for
 * it is scaled by exp(old − new) first (as a flash attention's output is),
 * so every term ends up relative to the row's final maximum without the
 * logits being formed a second time. */
static void
panel_rows (const CeWork *c, const ThreadPart *part, int64_t v0, int64_t n, gboolean *wrote)
{
  gboolean grad = c->dx != NULL;

  for (int64_t t = 0; t < c->R; t++)
    {
      float *l = part->logits + t * PANEL_WORDS, max = -INFINITY, old = part->max[t];
      int target = c->targets[t];
      double sum = 0.0;

      if (target < 0)
        {
          if (grad)
            memset (l, 0, sizeof (float) * (size_t) n);
          continue;
        }
      if (target >= v0 && target < v0 + n)
        c->target_logit[t] = l[target - v0];
      for (int64_t v = 0; v < n; v++)
        max = MAX (max, l[v]);
      if (max > old)
        {
          float shrink = expf (old - max);

          part->sum[t] *= (double) shrink;
          if (*wrote)
            for (int64_t e = 0; e < c->E; e++)
              part->dx[t * c->E + e] *= shrink;
          part->max[t] = old = max;
        }
      if (c->cap > 0.0f && grad)
        for (int64_t v = 0; v < n; v++)
          {
            float q = l[v] / c->cap, p = expf (l[v] - old);

            sum += p;
            l[v] = p * (1.0f - q * q);
          }
      else
        sum = c->k->exp_sub_sum (l, n, old);
      part->sum[t] += sum;
    }
  if (!grad)
    return;
  temper_cpu_bf16_gemm_convert_rows (part->grad, PANEL_WORDS, part->logits, PANEL_WORDS, c->R, n);
  temper_cpu_bf16_gemm (c->k->bf16_frozen, c->R, c->E, n, part->grad, PANEL_WORDS,
                        part->packed_rows, part->dx, c->E, *wrote);
  *wrote = TRUE;
}

static void
ce_task (void *data, int ith, int nth)
{
  CeWork *c = data;
  ThreadPart part = thread_part (c, ith);
  gint64 v_begin, v_end;

  for (int64_t t = 0; t < c->R; t++)
    {
      part.max[t] = -INFINITY;
      part.sum[t] = 0.0;
    }
  c->wrote_dx[ith] = FALSE;
  temper_cpu_split_aligned (c->V, 32, ith, nth, &v_begin, &v_end);
  for (gint64 v0 = v_begin; v0 < v_end; v0 += PANEL_WORDS)
    {
      int64_t n = MIN (PANEL_WORDS, v_end - v0);

      panel_logits (c, &part, v0, n);
      panel_rows (c, &part, v0, n, &c->wrote_dx[ith]);
    }
}

/* dx += grad_scale · (Σ over threads of exp(thread max − max) · U) / Σ exp
 * − grad_scale · (1 − (z_target/cap)²) · W[target], rows [r0, r1); the
 * target's row is widened in fp32 into thread 0's U row once that is
 * used. */
static void
sum_dx_rows (void *data, gint64 r0, gint64 r1)
{
  CeWork *c = data;
  ThreadPart first = thread_part (c, 0);
  int64_t E = c->E;

  for (gint64 t = r0; t < r1; t++)
    {
      float *dx = c->dx + t * E, *target_row = first.dx + t * E;
      int target = c->targets[t];
      float q = c->cap > 0.0f ? c->target_logit[t] / c->cap : 0.0f;

      if (target < 0)
        continue;
      for (int th = 0; th < c->n_parts; th++)
        {
          ThreadPart part = thread_part (c, th);
          float f;

          if (!c->wrote_dx[th] || part.max[t] == -INFINITY)
            continue;
          f = expf (part.max[t] - c->row_max[t]) * c->row_inv[t];
          for (int64_t e = 0; e < E; e++)
            dx[e] += f * part.dx[t * E + e];
        }
      if (c->type == TEMPER_TYPE_F32)
        memcpy (target_row, c->w + (size_t) target * c->row_bytes, sizeof (float) * (size_t) E);
      else
        c->k->dequant_row (c->type, c->w + (size_t) target * c->row_bytes, E, target_row);
      for (int64_t e = 0; e < E; e++)
        dx[e] -= c->grad_scale * (1.0f - q * q) * target_row[e];
    }
}

/* One block of rows: adds its loss and target count, and its gradient. */
static void
cross_entropy_block (CeWork *c, double *loss_sum, int64_t *count)
{
  temper_cpu_pool_run_range (c->cpu->pool, c->R, 8, round_x_rows, c);
  temper_cpu_pool_run (c->cpu->pool, ce_task, c);
  for (int64_t t = 0; t < c->R; t++)
    {
      float max = -INFINITY;
      double sum = 0.0;

      if (c->targets[t] < 0)
        continue;
      g_assert (c->targets[t] < c->V);
      for (int th = 0; th < c->n_parts; th++)
        max = MAX (max, thread_part (c, th).max[t]);
      for (int th = 0; th < c->n_parts; th++)
        {
          ThreadPart part = thread_part (c, th);

          if (part.max[t] > -INFINITY)
            sum += part.sum[t] * exp ((double) part.max[t] - max);
        }
      *loss_sum += (double) max + log (sum) - c->target_logit[t];
      (*count)++;
      c->row_max[t] = max;
      c->row_inv[t] = (float) (c->grad_scale / sum);
    }
  if (c->dx != NULL)
    temper_cpu_pool_run_range (c->cpu->pool, c->R, 8, sum_dx_rows, c);
}

gboolean
temper_cpu_cross_entropy_bf16 (TemperCpuBackend *cpu, float *ls, float *dx, const float *x,
                               int64_t T, const guint8 *w, int type, int64_t E, int64_t V,
                               const gint32 *targets, float grad_scale, float cap,
                               float *scratch, size_t scratch_floats)
{
  gboolean wrote_dx[64];
  CeWork c = {
    .cpu = cpu, .k = &cpu->k, .w = w, .row_bytes = temper_type_row_bytes (type, E), .type = type,
    .E = E, .V = V, .R = MIN (T, ROW_BLOCK), .grad_scale = grad_scale, .cap = cap,
    .lda_x = temper_cpu_bf16_gemm_padded_k (E), .wrote_dx = wrote_dx, .n_parts = cpu->n_threads,
  };
  size_t acts_floats, shared_floats;
  float *base;
  double loss_sum = 0.0;
  int64_t count = 0;

  if (cpu->k.bf16_frozen == TEMPER_BF16_GEMM_NONE || T < TEMPER_CPU_BF16_MIN_TOKENS ||
      cpu->n_threads > (int) G_N_ELEMENTS (wrote_dx))
    return FALSE;
  /* The scratch: x rounded and the three shared per-row values, then each
   * thread's part (sized for the largest block). */
  acts_floats = floats_for_bf16 ((size_t) (c.R * c.lda_x));
  shared_floats = acts_floats + 3 * (size_t) ((c.R + 15) / 16 * 16);
  c.thread_floats = lay_out (&c, NULL, NULL);
  if (shared_floats + (size_t) cpu->n_threads * c.thread_floats <= scratch_floats)
    base = scratch;
  else
    {
      temper_cpu_reserve_scratch (cpu, (shared_floats + (size_t) cpu->n_threads - 1) / (size_t) cpu->n_threads
                                       + c.thread_floats);
      base = cpu->scratch;
    }
  c.acts = (uint16_t *) base;
  c.target_logit = base + acts_floats;
  c.row_max = c.target_logit + (c.R + 15) / 16 * 16;
  c.row_inv = c.row_max + (c.R + 15) / 16 * 16;
  c.threads = base + shared_floats;
  for (int64_t t0 = 0; t0 < T; t0 += ROW_BLOCK)
    {
      c.R = MIN (ROW_BLOCK, T - t0);
      /* Parts laid out for this block's R, inside the room reserved for
       * the largest. */
      c.x = x + t0 * E;
      c.dx = dx != NULL ? dx + t0 * E : NULL;
      c.targets = targets + t0;
      cross_entropy_block (&c, &loss_sum, &count);
    }
  ls[0] += (float) loss_sum;
  ls[1] += (float) count;
  return TRUE;
}
#else
gboolean
temper_cpu_cross_entropy_bf16 (TemperCpuBackend *cpu, float *ls, float *dx, const float *x,
                               int64_t T, const guint8 *w, int type, int64_t E, int64_t V,
                               const gint32 *targets, float grad_scale, float cap,
                               float *scratch, size_t scratch_floats)
{
  return FALSE;
}
#endif
