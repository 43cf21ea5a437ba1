/* SPDX-License-Identifier: MIT */
/* AdamW with decoupled weight decay and optional global-norm clipping. */
#include "config.h"

#include <math.h>

#include "temper-cpu-private.h"

void
temper_cpu_adamw (TemperBackend *b, const TemperBTensor *param, const TemperBTensor *grad,
                  const TemperBTensor *m, const TemperBTensor *v,
                  const TemperBTensor *grad_sumsq, const TemperAdamWParams *p)
{
  int64_t n = param->ne[0] * param->ne[1];
  float *ps = cpu_f32 (param), *ms = cpu_f32 (m), *vs = cpu_f32 (v);
  const float *gs = cpu_f32 (grad);
  float clip = 1.0f;
  float bc1 = 1.0f - powf (p->beta1, (float) p->step);
  float bc2 = 1.0f - powf (p->beta2, (float) p->step);

  g_assert (p->step >= 1);
  if (p->max_grad_norm > 0.0f && grad_sumsq != NULL)
    {
      float norm = sqrtf (cpu_f32 (grad_sumsq)[0]);

      if (norm > p->max_grad_norm)
        clip = p->max_grad_norm / norm;
    }
  for (int64_t i = 0; i < n; i++)
    {
      float g = gs[i] * clip;

      ms[i] = p->beta1 * ms[i] + (1.0f - p->beta1) * g;
      vs[i] = p->beta2 * vs[i] + (1.0f - p->beta2) * g * g;
      ps[i] -= p->lr * ((ms[i] / bc1) / (sqrtf (vs[i] / bc2) + p->eps) + p->weight_decay * ps[i]);
    }
}
