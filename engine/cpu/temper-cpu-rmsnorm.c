/* SPDX-License-Identifier: MIT */
/* RMSNorm: y = w · x / sqrt(mean(x²) + eps), and its input gradient.  Rows
 * are independent and split over the threads. */
#include "config.h"

#include <math.h>

#include "temper-cpu-private.h"

/* Rows per thread below which one thread does them all (decoding). */
#define MIN_ROWS_PER_THREAD 8

typedef struct {
  int64_t      n;
  const float *x, *w, *dy, *rstd_in;
  float       *y, *dx, *rstd_out;
  float        eps;
} RmsnormWork;

static void
rmsnorm_rows (void *data, gint64 t0, gint64 t1)
{
  const RmsnormWork *m = data;
  int64_t n = m->n;

  for (gint64 t = t0; t < t1; t++)
    {
      const float *xt = m->x + t * n;
      float *yt = m->y + t * n;
      double ss = 0.0;
      float r;

      for (int64_t i = 0; i < n; i++)
        ss += (double) xt[i] * xt[i];
      r = 1.0f / sqrtf ((float) (ss / (double) n) + m->eps);
      for (int64_t i = 0; i < n; i++)
        yt[i] = m->w[i] * (xt[i] * r);
      if (m->rstd_out != NULL)
        m->rstd_out[t] = r;
    }
}

void
temper_cpu_rmsnorm (TemperBackend *b, const TemperBTensor *out, const TemperBTensor *rstd,
                    const TemperBTensor *x, const TemperBTensor *weight, float eps)
{
  RmsnormWork m = {
    .n = x->ne[0], .x = cpu_f32 (x), .w = cpu_f32 (weight), .y = cpu_f32 (out),
    .rstd_out = rstd != NULL ? cpu_f32 (rstd) : NULL, .eps = eps,
  };

  g_assert (out->ne[0] == m.n && out->ne[1] == x->ne[1] && weight->ne[0] == m.n);
  temper_cpu_pool_run_range (TEMPER_CPU (b)->pool, x->ne[1], MIN_ROWS_PER_THREAD,
                             rmsnorm_rows, &m);
}

/* With x̂ = x·r: dx = r · (g − x̂ · mean(g ⊙ x̂)), where g = dy ⊙ w. */
static void
rmsnorm_backward_rows (void *data, gint64 t0, gint64 t1)
{
  const RmsnormWork *m = data;
  int64_t n = m->n;

  for (gint64 t = t0; t < t1; t++)
    {
      const float *xt = m->x + t * n, *gt = m->dy + t * n;
      float *dxt = m->dx + t * n;
      float r = m->rstd_in[t];
      double dot = 0.0;
      float mean;

      for (int64_t i = 0; i < n; i++)
        dot += (double) gt[i] * m->w[i] * xt[i] * r;
      mean = (float) (dot / (double) n);
      for (int64_t i = 0; i < n; i++)
        dxt[i] += r * (gt[i] * m->w[i] - xt[i] * r * mean);
    }
}

void
temper_cpu_rmsnorm_backward (TemperBackend *b, const TemperBTensor *dx,
                             const TemperBTensor *dy, const TemperBTensor *x,
                             const TemperBTensor *weight, const TemperBTensor *rstd)
{
  RmsnormWork m = {
    .n = x->ne[0], .x = cpu_f32 (x), .w = cpu_f32 (weight), .dy = cpu_f32 (dy),
    .rstd_in = cpu_f32 (rstd), .dx = cpu_f32 (dx),
  };

  temper_cpu_pool_run_range (TEMPER_CPU (b)->pool, x->ne[1], MIN_ROWS_PER_THREAD,
                             rmsnorm_backward_rows, &m);
}
