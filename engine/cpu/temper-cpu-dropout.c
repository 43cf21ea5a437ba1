/* SPDX-License-Identifier: MIT */
/* temper-cpu-dropout.c — LoRA dropout on host memory, the reference for the
 * GPU backends' dropout kernels. */
#include "config.h"

#include "temper-dropout-mask.h"
#include "temper-cpu-private.h"

void
temper_cpu_dropout (TemperBackend *b, const TemperBTensor *out, const TemperBTensor *x,
                    float p, guint64 key)
{
  int64_t n = x->ne[0] * x->ne[1];
  const float *in = cpu_f32 (x);
  float *y = cpu_f32 (out);
  guint32 key_lo = (guint32) key, key_hi = (guint32) (key >> 32);
  guint32 threshold = temper_dropout_threshold (p);
  /* Formed once in float, as the GPU backends do, so the products match. */
  float keep_scale = 1.0f / (1.0f - p);

  g_return_if_fail (p >= 0.0f && p < 1.0f);
  g_return_if_fail (out->ne[0] * out->ne[1] == n);
  for (int64_t i = 0; i < n; i++)
    y[i] = temper_dropout_keeps (key_lo, key_hi, threshold, (guint32) i) ? in[i] * keep_scale
                                                                        : 0.0f;
}
