/* SPDX-License-Identifier: MIT */
/* The small ops: add, sum of squares, scale, dequantize, zero. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "temper-cpu-private.h"

void
temper_cpu_add (TemperBackend *b, const TemperBTensor *out,
                const TemperBTensor *a, const TemperBTensor *bt)
{
  int64_t n = out->ne[0] * out->ne[1];
  const float *x = cpu_f32 (a), *y = cpu_f32 (bt);
  float *o = cpu_f32 (out);

  g_assert (a->ne[0] * a->ne[1] == n && bt->ne[0] * bt->ne[1] == n);
  for (int64_t i = 0; i < n; i++)
    o[i] = x[i] + y[i];
}

void
temper_cpu_sum_squares (TemperBackend *b, const TemperBTensor *out, const TemperBTensor *x)
{
  int64_t n = x->ne[0] * x->ne[1];
  const float *v = cpu_f32 (x);
  double sum = 0.0;

  for (int64_t i = 0; i < n; i++)
    sum += (double) v[i] * v[i];
  cpu_f32 (out)[0] += (float) sum;
}

void
temper_cpu_scale (TemperBackend *b, const TemperBTensor *x, float s)
{
  int64_t n = x->ne[0] * x->ne[1];
  float *v = cpu_f32 (x);

  for (int64_t i = 0; i < n; i++)
    v[i] *= s;
}

void
temper_cpu_dequantize (TemperBackend *b, const TemperBTensor *out, const TemperBTensor *w)
{
  TemperCpuBackend *cpu = TEMPER_CPU (b);
  float *o = cpu_f32 (out);

  g_assert (out->ne[0] == w->ne[0] && out->ne[1] == w->ne[1]);
  for (int64_t r = 0; r < w->ne[1]; r++)
    cpu->k.dequant_row (w->type, cpu_row (w, r), w->ne[0], o + r * w->ne[0]);
}

void
temper_cpu_zero (TemperBackend *b, const TemperBTensor *x)
{
  memset (cpu_data (x), 0, temper_btensor_bytes (x->type, x->ne[0], x->ne[1]));
}

void
temper_cpu_softcap (TemperBackend *b, const TemperBTensor *x, float cap)
{
  float *v = cpu_f32 (x);
  int64_t n = x->ne[0] * x->ne[1];

  (void) b;
  for (int64_t i = 0; i < n; i++)
    v[i] = cap * tanhf (v[i] / cap);
}
