/* Fused lm_head + cross-entropy.  Logits exist only for one chunk of rows at
 * a time (the scratch tensor), are turned into their gradient in place, and
 * pushed back through the lm_head into dx before the next chunk. */
#include "config.h"

#include <math.h>

#include "temper-cpu-private.h"

void
temper_cpu_lm_head_cross_entropy (TemperBackend *b, const TemperBTensor *loss,
                                  const TemperBTensor *dx, const TemperBTensor *x,
                                  const TemperBTensor *w, const TemperBTensor *targets,
                                  const TemperBTensor *scratch, float grad_scale)
{
  TemperCpuBackend *cpu = TEMPER_CPU (b);
  int64_t E = w->ne[0], V = w->ne[1], T = x->ne[1], chunk = scratch->ne[1];
  const gint32 *tg = cpu_data (targets);
  const float *xs = cpu_f32 (x);
  float *logits = cpu_f32 (scratch);
  float *ls = cpu_f32 (loss);
  double loss_sum = 0.0;
  int64_t count = 0;

  g_assert (x->ne[0] == E && scratch->ne[0] == V && chunk > 0);
  for (int64_t t0 = 0; t0 < T; t0 += chunk)
    {
      int64_t rows = MIN (chunk, T - t0);

      temper_cpu_matmul_raw (cpu, logits, xs + t0 * E, rows, cpu_data (w), w->type, E, V,
                             NULL, FALSE);
      for (int64_t r = 0; r < rows; r++)
        {
          float *l = logits + r * V;
          int target = tg[t0 + r];
          float max = -INFINITY;
          double sum = 0.0;

          if (target < 0)
            {
              for (int64_t v = 0; v < V; v++)
                l[v] = 0.0f;
              continue;
            }
          g_assert (target < V);
          for (int64_t v = 0; v < V; v++)
            max = MAX (max, l[v]);
          for (int64_t v = 0; v < V; v++)
            sum += exp ((double) (l[v] - max));
          loss_sum += (double) max + log (sum) - l[target];
          count++;
          /* ∂loss/∂logit = softmax − one-hot. */
          for (int64_t v = 0; v < V; v++)
            l[v] = grad_scale * (float) (exp ((double) (l[v] - max)) / sum);
          l[target] -= grad_scale;
        }
      if (dx != NULL)
        temper_cpu_matmul_backward_raw (cpu, cpu_f32 (dx) + t0 * E, logits, rows,
                                        cpu_data (w), w->type, E, V);
    }
  ls[0] += (float) loss_sum;
  ls[1] += (float) count;
}
