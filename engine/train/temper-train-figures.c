/* SPDX-License-Identifier: MIT */
/* temper-train-figures.c — see temper/train-figures.h. */
#include "config.h"

#include <json-glib/json-glib.h>

#include "temper/adapter.h"
#include "temper/train-figures.h"

guint64
temper_lora_config_count_params (const TemperModelConfig *config,
                                 const TemperLoraConfig  *lora)
{
  guint64 per_layer = 0;

  g_return_val_if_fail (config != NULL && lora != NULL, 0);

  for (int t = 0; t < TEMPER_LORA_N_TARGETS; t++)
    if (lora->targets & TEMPER_LORA_TARGET_BIT (t))
      {
        int in, out;

        temper_lora_target_dims (config, t, &in, &out);
        per_layer += (guint64) MAX (lora->rank, 0) * (guint64) (in + out);
      }
  return per_layer * (guint64) config->n_layer;
}

double
temper_train_flops_per_token (const TemperModelConfig *config,
                              guint64                  adapter_params,
                              double                   n_tokens,
                              gboolean                 recompute)
{
  double q, kv, per_layer, frozen, adapter, attention;

  g_return_val_if_fail (config != NULL, 0);

  q = (double) config->n_head * config->head_dim;
  kv = (double) config->n_head_kv * config->head_dim;
  per_layer = config->n_embd * (q + 2 * kv) + q * config->n_embd + 3.0 * config->n_embd * config->n_ff;
  frozen = config->n_layer * per_layer + (double) config->n_embd * config->n_vocab;
  adapter = (double) adapter_params;
  attention = (double) config->n_layer * q * n_tokens;
  if (recompute)
    return 6 * frozen + 8 * adapter + 8 * attention;
  return 4 * frozen + 6 * adapter + 6 * attention;
}

gboolean
temper_train_settings_equal (const TemperTrainSettings *a,
                             const TemperTrainSettings *b)
{
  g_autoptr(JsonNode) ja = NULL;
  g_autoptr(JsonNode) jb = NULL;

  g_return_val_if_fail (a != NULL && b != NULL, FALSE);

  /* What settings.json holds is what makes two runs' settings the same;
   * comparing the structs byte by byte would see padding. */
  ja = temper_train_settings_to_json (a);
  jb = temper_train_settings_to_json (b);
  return json_node_equal (ja, jb);
}
