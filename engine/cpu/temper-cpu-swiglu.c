/* SPDX-License-Identifier: MIT */
/* SwiGLU: out = silu(gate) ⊙ up, and GeGLU: out = gelu_tanh(gate) ⊙ up
 * (Gemma), with both input gradients.  Element-wise,
 * split over the threads: each element is computed the same way whatever
 * the split, so results do not depend on the thread count. */
#include "config.h"

#include <math.h>

#include "temper-cpu-private.h"

/* Elements per thread below which one thread does the lot. */
#define MIN_PER_THREAD 16384

typedef struct {
  const TemperCpuKernels *k;
  const float *g, *u, *d;
  float       *o, *dg, *du;
} SwigluWork;

static void
swiglu_range (void *data, gint64 i0, gint64 i1)
{
  const SwigluWork *w = data;

  w->k->swiglu (w->g + i0, w->u + i0, w->o + i0, i1 - i0);
}

void
temper_cpu_swiglu (TemperBackend *b, const TemperBTensor *out,
                   const TemperBTensor *gate, const TemperBTensor *up)
{
  SwigluWork w = { .k = &TEMPER_CPU (b)->k, .g = cpu_f32 (gate), .u = cpu_f32 (up), .o = cpu_f32 (out) };

  temper_cpu_pool_run_range (TEMPER_CPU (b)->pool, gate->ne[0] * gate->ne[1], MIN_PER_THREAD,
                             swiglu_range, &w);
}

static void
swiglu_backward_range (void *data, gint64 i0, gint64 i1)
{
  const SwigluWork *w = data;

  w->k->swiglu_backward (w->g + i0, w->u + i0, w->d + i0, w->dg + i0, w->du + i0, i1 - i0);
}

void
temper_cpu_swiglu_backward (TemperBackend *b, const TemperBTensor *dgate,
                            const TemperBTensor *dup, const TemperBTensor *dout,
                            const TemperBTensor *gate, const TemperBTensor *up)
{
  SwigluWork w = {
    .k = &TEMPER_CPU (b)->k, .g = cpu_f32 (gate), .u = cpu_f32 (up), .d = cpu_f32 (dout),
    .dg = cpu_f32 (dgate), .du = cpu_f32 (dup),
  };

  temper_cpu_pool_run_range (TEMPER_CPU (b)->pool, gate->ne[0] * gate->ne[1], MIN_PER_THREAD,
                             swiglu_backward_range, &w);
}

/* √(2/π) and the cubic coefficient of the tanh approximation of GELU. */
#define GELU_K 0.7978845608028654f
#define GELU_C 0.044715f

static void
geglu_range (void *data, gint64 i0, gint64 i1)
{
  const SwigluWork *w = data;

  for (gint64 i = i0; i < i1; i++)
    {
      float g = w->g[i];

      w->o[i] = 0.5f * g * (1.0f + tanhf (GELU_K * (g + GELU_C * g * g * g))) * w->u[i];
    }
}

void
temper_cpu_geglu (TemperBackend *b, const TemperBTensor *out,
                  const TemperBTensor *gate, const TemperBTensor *up)
{
  SwigluWork w = { .g = cpu_f32 (gate), .u = cpu_f32 (up), .o = cpu_f32 (out) };

  temper_cpu_pool_run_range (TEMPER_CPU (b)->pool, gate->ne[0] * gate->ne[1], MIN_PER_THREAD,
                             geglu_range, &w);
}

static void
geglu_backward_range (void *data, gint64 i0, gint64 i1)
{
  const SwigluWork *w = data;

  for (gint64 i = i0; i < i1; i++)
    {
      float g = w->g[i], t = tanhf (GELU_K * (g + GELU_C * g * g * g));
      float gelu = 0.5f * g * (1.0f + t);
      float dgelu = 0.5f * (1.0f + t) + 0.5f * g * (1.0f - t * t) * GELU_K * (1.0f + 3.0f * GELU_C * g * g);

      w->dg[i] += w->d[i] * w->u[i] * dgelu;
      w->du[i] += w->d[i] * gelu;
    }
}

void
temper_cpu_geglu_backward (TemperBackend *b, const TemperBTensor *dgate,
                           const TemperBTensor *dup, const TemperBTensor *dout,
                           const TemperBTensor *gate, const TemperBTensor *up)
{
  SwigluWork w = {
    .g = cpu_f32 (gate), .u = cpu_f32 (up), .d = cpu_f32 (dout),
    .dg = cpu_f32 (dgate), .du = cpu_f32 (dup),
  };

  temper_cpu_pool_run_range (TEMPER_CPU (b)->pool, gate->ne[0] * gate->ne[1], MIN_PER_THREAD,
                             geglu_backward_range, &w);
}
