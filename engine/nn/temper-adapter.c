/* SPDX-License-Identifier: MIT */
/* LoRA adapter storage: one A and one B matrix per adapted layer and target. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <math.h>

#include "temper/adapter.h"
#include "temper/error.h"

struct temper_adapter {
  int      n_layer;
  int      rank;
  float    alpha;
  gboolean rslora;
  guint    targets;
  guint64  version;
  /* [layer * TEMPER_LORA_N_TARGETS + target], NULL when not adapted. */
  float  **a;
  float  **b;
};

static const char *const target_names[TEMPER_LORA_N_TARGETS] = {
  "q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj",
};

const char *
temper_lora_target_name (TemperLoraTarget target)
{
  g_return_val_if_fail (target < TEMPER_LORA_N_TARGETS, NULL);
  return target_names[target];
}

void
temper_lora_target_dims (const TemperModelConfig *c, TemperLoraTarget target, int *in, int *out)
{
  int q = c->n_head * c->head_dim, kv = c->n_head_kv * c->head_dim;

  switch (target)
    {
    case TEMPER_LORA_Q:    *in = c->n_embd; *out = q; break;
    case TEMPER_LORA_K:
    case TEMPER_LORA_V:    *in = c->n_embd; *out = kv; break;
    case TEMPER_LORA_O:    *in = q; *out = c->n_embd; break;
    case TEMPER_LORA_GATE:
    case TEMPER_LORA_UP:   *in = c->n_embd; *out = c->n_ff; break;
    case TEMPER_LORA_DOWN: *in = c->n_ff; *out = c->n_embd; break;
    case TEMPER_LORA_N_TARGETS:
    default:
      g_return_if_reached ();
    }
}

temper_adapter_t *
temper_adapter_new (const TemperModelConfig *config, int rank, float alpha,
                    gboolean rslora, guint target_mask, GError **error)
{
  temper_adapter_t *adapter;

  if (rank < 1 || rank > 1024)
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_ARGUMENT,
                   _("The LoRA rank must be between 1 and 1024 (it was %d)."), rank);
      return NULL;
    }
  if (target_mask == 0 || (target_mask & ~TEMPER_LORA_ALL_TARGETS) != 0)
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_ARGUMENT,
                   _("Choose at least one layer to adapt among q, k, v, o, gate, up and down."));
      return NULL;
    }
  /* A mixture-of-experts model trains its attention only: the experts stay
   * as they are (the feed-forward targets have no single matrix to adapt). */
  if (config->n_expert > 0)
    target_mask &= TEMPER_LORA_TARGET_BIT (TEMPER_LORA_Q) | TEMPER_LORA_TARGET_BIT (TEMPER_LORA_K)
                   | TEMPER_LORA_TARGET_BIT (TEMPER_LORA_V) | TEMPER_LORA_TARGET_BIT (TEMPER_LORA_O);
  if (target_mask == 0)
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_ARGUMENT,
                   _("A mixture-of-experts model is adapted in its attention layers only (q, k, v, o); "
                     "the experts stay as they are. Choose at least one of q, k, v and o."));
      return NULL;
    }
  adapter = g_new0 (temper_adapter_t, 1);
  adapter->n_layer = config->n_layer;
  adapter->rank = rank;
  adapter->alpha = alpha;
  adapter->rslora = rslora;
  adapter->targets = target_mask;
  adapter->a = g_new0 (float *, (gsize) config->n_layer * TEMPER_LORA_N_TARGETS);
  adapter->b = g_new0 (float *, (gsize) config->n_layer * TEMPER_LORA_N_TARGETS);
  for (int l = 0; l < config->n_layer; l++)
    for (int t = 0; t < TEMPER_LORA_N_TARGETS; t++)
      {
        int in, out;

        if ((target_mask & TEMPER_LORA_TARGET_BIT (t)) == 0)
          continue;
        temper_lora_target_dims (config, t, &in, &out);
        adapter->a[l * TEMPER_LORA_N_TARGETS + t] = g_new0 (float, (gsize) rank * in);
        adapter->b[l * TEMPER_LORA_N_TARGETS + t] = g_new0 (float, (gsize) out * rank);
      }
  return adapter;
}

void
temper_adapter_free (temper_adapter_t *adapter)
{
  if (adapter == NULL)
    return;
  for (int i = 0; i < adapter->n_layer * TEMPER_LORA_N_TARGETS; i++)
    {
      g_free (adapter->a[i]);
      g_free (adapter->b[i]);
    }
  g_free (adapter->a);
  g_free (adapter->b);
  g_free (adapter);
}

int      temper_adapter_get_rank    (const temper_adapter_t *adapter) { return adapter->rank; }
float    temper_adapter_get_alpha   (const temper_adapter_t *adapter) { return adapter->alpha; }
gboolean temper_adapter_get_rslora  (const temper_adapter_t *adapter) { return adapter->rslora; }
guint    temper_adapter_get_targets (const temper_adapter_t *adapter) { return adapter->targets; }
int      temper_adapter_get_n_layer (const temper_adapter_t *adapter) { return adapter->n_layer; }
guint64  temper_adapter_get_version (const temper_adapter_t *adapter) { return adapter->version; }

float
temper_adapter_get_scale (const temper_adapter_t *adapter)
{
  return adapter->rslora ? adapter->alpha / sqrtf ((float) adapter->rank)
                         : adapter->alpha / (float) adapter->rank;
}

float *
temper_adapter_get_a (temper_adapter_t *adapter, int layer, TemperLoraTarget target)
{
  g_return_val_if_fail (layer >= 0 && layer < adapter->n_layer, NULL);
  g_return_val_if_fail (target < TEMPER_LORA_N_TARGETS, NULL);
  return adapter->a[layer * TEMPER_LORA_N_TARGETS + target];
}

float *
temper_adapter_get_b (temper_adapter_t *adapter, int layer, TemperLoraTarget target)
{
  g_return_val_if_fail (layer >= 0 && layer < adapter->n_layer, NULL);
  g_return_val_if_fail (target < TEMPER_LORA_N_TARGETS, NULL);
  return adapter->b[layer * TEMPER_LORA_N_TARGETS + target];
}

void
temper_adapter_changed (temper_adapter_t *adapter)
{
  adapter->version++;
}
