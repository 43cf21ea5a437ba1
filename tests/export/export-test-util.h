/* export-test-util.h — the adapter and prompt shared by the export tests
 * and the program that writes the inputs of make-export-fixtures.py. */
#pragma once

#include "temper/adapter.h"
#include "temper/model.h"
#include "tiny-model.h"

/* An adapter whose every A and B is filled with values in ±@amp, so that it
 * changes the model's answers clearly. */
static inline temper_adapter_t *
random_adapter (temper_model_t *model, int rank, float alpha, gboolean rslora, guint targets,
                float amp)
{
  const TemperModelConfig *c = temper_model_get_config (model);
  g_autoptr(GError) error = NULL;
  temper_adapter_t *adapter = temper_adapter_new (c, rank, alpha, rslora, targets, &error);
  guint salt = 100;

  g_assert_no_error (error);
  for (int l = 0; l < c->n_layer; l++)
    for (int t = 0; t < TEMPER_LORA_N_TARGETS; t++)
      {
        int in, out;
        g_autofree float *va = NULL, *vb = NULL;

        if (!(targets & TEMPER_LORA_TARGET_BIT (t)))
          continue;
        temper_lora_target_dims (c, (TemperLoraTarget) t, &in, &out);
        va = tiny_values ((gsize) in * rank, salt++);
        vb = tiny_values ((gsize) out * rank, salt++);
        for (gsize i = 0; i < (gsize) in * rank; i++)
          temper_adapter_get_a (adapter, l, (TemperLoraTarget) t)[i] = 2 * amp * va[i];
        for (gsize i = 0; i < (gsize) out * rank; i++)
          temper_adapter_get_b (adapter, l, (TemperLoraTarget) t)[i] = 2 * amp * vb[i];
      }
  temper_adapter_changed (adapter);
  return adapter;
}

static const gint32 prompt[] = { TINY_IM_START, 'u', 's', 'e', 'r', '\n', 'H', 'i', '!', TINY_IM_END,
                                 '\n', TINY_IM_START, 'a', 's', 's', '\n' };

/* The adapter of the transformers reference: q, k, v, o, gate, up and down
 * of tiny-qwen2, rank 4, α 8 with rsLoRA (scale 4). */
static inline temper_adapter_t *
export_test_adapter (temper_model_t *model)
{
  return random_adapter (model, 4, 8.0f, TRUE, TEMPER_LORA_ALL_TARGETS, 0.1f);
}
