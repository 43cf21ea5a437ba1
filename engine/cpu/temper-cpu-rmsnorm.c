/* SPDX-License-Identifier: MIT */
/* RMSNorm: y = w · x / sqrt(mean(x²) + eps), and its input gradient.  Rows
 * are independent and split over the threads. */
#include "config.h"

#include <math.h>

#include "temper-cpu-private.h"

/* Rows per thread below which one thread does them all (decoding). */
#define MIN_ROWS_PER_THREAD 8

/* The row sums below in doubles, as before, but in four running sums: one
 * chain of dependent additions kept these loops at the adder's latency. */
static inline double
sum_of_squares (const float *x, int64_t n)
{
  double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
  int64_t i = 0;

  for (; i + 4 <= n; i += 4)
    {
      s0 += (double) x[i] * x[i];
      s1 += (double) x[i + 1] * x[i + 1];
      s2 += (double) x[i + 2] * x[i + 2];
      s3 += (double) x[i + 3] * x[i + 3];
    }
  for (; i < n; i++)
    s0 += (double) x[i] * x[i];
  return (s0 + s1) + (s2 + s3);
}

/* Σ g[i]·w[i]·x[i]·r in doubles, in four running sums. */
static inline double
weighted_dot (const float *g, const float *w, const float *x, float r, int64_t n)
{
  double s[4] = { 0.0, 0.0, 0.0, 0.0 };
  int64_t i = 0;

  for (; i + 4 <= n; i += 4)
    for (int l = 0; l < 4; l++)
      s[l] += (double) g[i + l] * w[i + l] * x[i + l] * r;
  for (; i < n; i++)
    s[0] += (double) g[i] * w[i] * x[i] * r;
  return (s[0] + s[1]) + (s[2] + s[3]);
}

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
      double ss = sum_of_squares (xt, n);
      float r;

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
      double dot = weighted_dot (gt, m->w, xt, r, n);
      float mean;

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
