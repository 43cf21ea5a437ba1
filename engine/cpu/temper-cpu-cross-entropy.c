/* SPDX-License-Identifier: MIT */
/* Fused lm_head + cross-entropy.  Logits exist only for one chunk of rows at
 * a time (the scratch tensor), are turned into their gradient in place, and
 * pushed back through the lm_head into dx before the next chunk.  Gemma 2's
 * soft-capped logits go through the same loop with the cap applied first. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "temper-cpu-private.h"

/* Rows per thread below which one thread does them all. */
#define MIN_ROWS_PER_THREAD 2

typedef struct {
  const TemperCpuKernels *k;
  float        *logits;
  int64_t       V;
  const gint32 *targets;     /* of this chunk's rows */
  double       *row_loss;    /* per row; NAN for rows without a target */
  float         grad_scale;
  float         cap;         /* > 0: logits are cap·tanh(logit/cap) */
} SoftmaxWork;

/* The soft-capped row: z = cap·tanh(y/cap) in place of y; then the softmax's
 * gradient ∂loss/∂z is taken back through the cap, ∂z/∂y = 1 − (z/cap)², which
 * needs z, so exp(z − max) is formed twice rather than overwriting z. */
static void
softmax_row_capped (const SoftmaxWork *w, float *l, int target, gint64 r)
{
  int64_t V = w->V;
  float cap = w->cap, max = -INFINITY, inv;
  double sum = 0.0;

  for (int64_t v = 0; v < V; v++)
    {
      l[v] = cap * tanhf (l[v] / cap);
      max = MAX (max, l[v]);
    }
  for (int64_t v = 0; v < V; v++)
    sum += expf (l[v] - max);
  w->row_loss[r] = (double) max + log (sum) - l[target];
  inv = (float) (w->grad_scale / sum);
  for (int64_t v = 0; v < V; v++)
    {
      float t = l[v] / cap, g = expf (l[v] - max) * inv;

      if (v == target)
        g -= w->grad_scale;
      l[v] = g * (1.0f - t * t);
    }
}

/* Loss and ∂loss/∂logit = softmax − one-hot, row by row.  Each row's loss
 * goes to its own slot and the caller adds them in order, so the total does
 * not depend on how rows were split over threads. */
static void
softmax_rows (void *data, gint64 r0, gint64 r1)
{
  const SoftmaxWork *w = data;
  int64_t V = w->V;

  for (gint64 r = r0; r < r1; r++)
    {
      float *l = w->logits + r * V;
      int target = w->targets[r];
      float max = -INFINITY, target_logit, inv;
      double sum;

      if (target < 0)
        {
          memset (l, 0, sizeof (float) * (size_t) V);
          w->row_loss[r] = NAN;
          continue;
        }
      g_assert (target < V);
      if (w->cap > 0.0f)
        {
          softmax_row_capped (w, l, target, r);
          continue;
        }
      target_logit = l[target];
      for (int64_t v = 0; v < V; v++)
        max = MAX (max, l[v]);
      sum = w->k->exp_sub_sum (l, V, max);
      w->row_loss[r] = (double) max + log (sum) - target_logit;
      inv = (float) (w->grad_scale / sum);
      for (int64_t v = 0; v < V; v++)
        l[v] *= inv;
      l[target] -= w->grad_scale;
    }
}

static void
cross_entropy (TemperBackend *b, const TemperBTensor *loss, const TemperBTensor *dx,
               const TemperBTensor *x, const TemperBTensor *w, const TemperBTensor *targets,
               const TemperBTensor *scratch, float grad_scale, float cap)
{
  TemperCpuBackend *cpu = TEMPER_CPU (b);
  int64_t E = w->ne[0], V = w->ne[1], T = x->ne[1], chunk = scratch->ne[1];
  const gint32 *tg = cpu_data (targets);
  const float *xs = cpu_f32 (x);
  float *ls = cpu_f32 (loss);
  SoftmaxWork sw = { .k = &cpu->k, .logits = cpu_f32 (scratch), .V = V, .grad_scale = grad_scale, .cap = cap };
  double loss_sum = 0.0;
  int64_t count = 0;

  g_assert (x->ne[0] == E && scratch->ne[0] == V && chunk > 0);
  /* Grown once, on the first step; later steps reuse it. */
  if ((size_t) chunk > cpu->row_loss_len)
    {
      g_free (cpu->row_loss);
      cpu->row_loss = g_new (double, (gsize) chunk);
      cpu->row_loss_len = (size_t) chunk;
    }
  sw.row_loss = cpu->row_loss;
  for (int64_t t0 = 0; t0 < T; t0 += chunk)
    {
      int64_t rows = MIN (chunk, T - t0);

      temper_cpu_matmul_raw (cpu, sw.logits, xs + t0 * E, rows, cpu_data (w), w->type, E, V,
                             NULL, FALSE);
      sw.targets = tg + t0;
      temper_cpu_pool_run_range (cpu->pool, rows, MIN_ROWS_PER_THREAD, softmax_rows, &sw);
      for (int64_t r = 0; r < rows; r++)
        if (!isnan (sw.row_loss[r]))
          {
            loss_sum += sw.row_loss[r];
            count++;
          }
      if (dx != NULL)
        temper_cpu_matmul_backward_raw (cpu, cpu_f32 (dx) + t0 * E, sw.logits, rows,
                                        cpu_data (w), w->type, E, V);
    }
  ls[0] += (float) loss_sum;
  ls[1] += (float) count;
}

void
temper_cpu_lm_head_cross_entropy (TemperBackend *b, const TemperBTensor *loss,
                                  const TemperBTensor *dx, const TemperBTensor *x,
                                  const TemperBTensor *w, const TemperBTensor *targets,
                                  const TemperBTensor *scratch, float grad_scale)
{
  cross_entropy (b, loss, dx, x, w, targets, scratch, grad_scale, 0.0f);
}

void
temper_cpu_lm_head_cross_entropy_softcap (TemperBackend *b, const TemperBTensor *loss,
                                          const TemperBTensor *dx, const TemperBTensor *x,
                                          const TemperBTensor *w, const TemperBTensor *targets,
                                          const TemperBTensor *scratch, float grad_scale, float cap)
{
  g_return_if_fail (cap > 0.0f);
  cross_entropy (b, loss, dx, x, w, targets, scratch, grad_scale, cap);
}
