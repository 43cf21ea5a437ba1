/* RMSNorm: y = w · x / sqrt(mean(x²) + eps), and its input gradient. */
#include "config.h"

#include <math.h>

#include "temper-cpu-private.h"

void
temper_cpu_rmsnorm (TemperBackend *b, const TemperBTensor *out, const TemperBTensor *rstd,
                    const TemperBTensor *x, const TemperBTensor *weight, float eps)
{
  int64_t n = x->ne[0];
  const float *xs = cpu_f32 (x), *w = cpu_f32 (weight);
  float *ys = cpu_f32 (out);
  float *rs = rstd != NULL ? cpu_f32 (rstd) : NULL;

  g_assert (out->ne[0] == n && out->ne[1] == x->ne[1] && weight->ne[0] == n);
  for (int64_t t = 0; t < x->ne[1]; t++)
    {
      const float *xt = xs + t * n;
      float *yt = ys + t * n;
      double ss = 0.0;
      float r;

      for (int64_t i = 0; i < n; i++)
        ss += (double) xt[i] * xt[i];
      r = 1.0f / sqrtf ((float) (ss / (double) n) + eps);
      for (int64_t i = 0; i < n; i++)
        yt[i] = w[i] * (xt[i] * r);
      if (rs != NULL)
        rs[t] = r;
    }
}

/* With x̂ = x·r: dx = r · (g − x̂ · mean(g ⊙ x̂)), where g = dy ⊙ w. */
void
temper_cpu_rmsnorm_backward (TemperBackend *b, const TemperBTensor *dx,
                             const TemperBTensor *dy, const TemperBTensor *x,
                             const TemperBTensor *weight, const TemperBTensor *rstd)
{
  int64_t n = x->ne[0];
  const float *xs = cpu_f32 (x), *w = cpu_f32 (weight), *dys = cpu_f32 (dy), *rs = cpu_f32 (rstd);
  float *dxs = cpu_f32 (dx);

  for (int64_t t = 0; t < x->ne[1]; t++)
    {
      const float *xt = xs + t * n, *gt = dys + t * n;
      float *dxt = dxs + t * n;
      float r = rs[t];
      double dot = 0.0;
      float mean;

      for (int64_t i = 0; i < n; i++)
        dot += (double) gt[i] * w[i] * xt[i] * r;
      mean = (float) (dot / (double) n);
      for (int64_t i = 0; i < n; i++)
        dxt[i] += r * (gt[i] * w[i] - xt[i] * r * mean);
    }
}
