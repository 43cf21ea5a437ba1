/* SPDX-License-Identifier: MIT */
/* embedding: one table row per token, widened to fp32. */
#include "config.h"

#include "temper-cpu-private.h"

void
temper_cpu_embedding (TemperBackend *b, const TemperBTensor *out,
                      const TemperBTensor *table, const TemperBTensor *tokens)
{
  TemperCpuBackend *cpu = TEMPER_CPU (b);
  const gint32 *ids = cpu_data (tokens);
  float *o = cpu_f32 (out);
  int64_t n = table->ne[0];

  g_assert (out->ne[0] == n && out->ne[1] == tokens->ne[0] * tokens->ne[1]);
  for (int64_t t = 0; t < out->ne[1]; t++)
    {
      /* Callers check ids against the vocabulary; this guards the memory. */
      g_assert (ids[t] >= 0 && ids[t] < table->ne[1]);
      cpu->k.dequant_row (table->type, cpu_row (table, ids[t]), n, o + t * n);
    }
}
