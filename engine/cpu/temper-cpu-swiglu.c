/* SwiGLU: out = silu(gate) ⊙ up, and both input gradients. */
#include "config.h"

#include <math.h>

#include "temper-cpu-private.h"

void
temper_cpu_swiglu (TemperBackend *b, const TemperBTensor *out,
                   const TemperBTensor *gate, const TemperBTensor *up)
{
  int64_t n = gate->ne[0] * gate->ne[1];
  const float *g = cpu_f32 (gate), *u = cpu_f32 (up);
  float *o = cpu_f32 (out);

  for (int64_t i = 0; i < n; i++)
    o[i] = g[i] / (1.0f + expf (-g[i])) * u[i];
}

void
temper_cpu_swiglu_backward (TemperBackend *b, const TemperBTensor *dgate,
                            const TemperBTensor *dup, const TemperBTensor *dout,
                            const TemperBTensor *gate, const TemperBTensor *up)
{
  int64_t n = gate->ne[0] * gate->ne[1];
  const float *g = cpu_f32 (gate), *u = cpu_f32 (up), *d = cpu_f32 (dout);
  float *dg = cpu_f32 (dgate), *du = cpu_f32 (dup);

  for (int64_t i = 0; i < n; i++)
    {
      float s = 1.0f / (1.0f + expf (-g[i]));

      /* silu'(g) = s·(1 + g·(1 − s)) */
      dg[i] += d[i] * u[i] * s * (1.0f + g[i] * (1.0f - s));
      du[i] += d[i] * g[i] * s;
    }
}
