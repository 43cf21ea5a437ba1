/* SPDX-License-Identifier: MIT */
/* temper-lora.c — LoRA target sets, PEFT's initialisation, the flat
 * parameter order the optimizer and checkpoints use. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <math.h>
#include <string.h>

#include "temper/error.h"
#include "temper-lora-private.h"
#include "temper-train-rng.h"

static const char *const short_names[TEMPER_LORA_N_TARGETS] = {
  "q", "k", "v", "o", "gate", "up", "down",
};

gboolean
temper_lora_targets_parse (const char *text, guint *targets, GError **error)
{
  g_autofree char *lower = NULL;
  g_auto(GStrv) words = NULL;
  guint bits = 0;

  g_return_val_if_fail (text != NULL && targets != NULL, FALSE);

  lower = g_strstrip (g_ascii_strdown (text, -1));
  if (strcmp (lower, "attention") == 0)
    {
      *targets = TEMPER_LORA_TARGETS_ATTENTION;
      return TRUE;
    }
  if (strcmp (lower, "all-linear") == 0 || strcmp (lower, "all linear") == 0 ||
      strcmp (lower, "all_linear") == 0)
    {
      *targets = TEMPER_LORA_TARGETS_ALL_LINEAR;
      return TRUE;
    }

  words = g_strsplit (lower, ",", -1);
  for (int w = 0; words[w] != NULL; w++)
    {
      const char *word = g_strstrip (words[w]);
      gboolean found = FALSE;

      for (int t = 0; t < TEMPER_LORA_N_TARGETS && !found; t++)
        if (strcmp (word, short_names[t]) == 0 ||
            strcmp (word, temper_lora_target_name (t)) == 0)
          {
            bits |= TEMPER_LORA_TARGET_BIT (t);
            found = TRUE;
          }
      if (!found)
        {
          g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_ARGUMENT,
                       _("“%s” is not a layer LoRA can adapt: use “attention”, "
                       "“all-linear”, or a comma-separated list of q, k, v, o, "
                       "gate, up, down"), word[0] ? word : text);
          return FALSE;
        }
    }
  *targets = bits;
  return TRUE;
}

char *
temper_lora_targets_to_string (guint targets)
{
  GString *s = g_string_new (NULL);

  for (int t = 0; t < TEMPER_LORA_N_TARGETS; t++)
    if (targets & TEMPER_LORA_TARGET_BIT (t))
      {
        if (s->len > 0)
          g_string_append_c (s, ',');
        g_string_append (s, short_names[t]);
      }
  return g_string_free (s, FALSE);
}

void
temper_lora_config_init_default (TemperLoraConfig *config)
{
  config->targets = TEMPER_LORA_TARGETS_ATTENTION;
  config->rank = 16;
  config->alpha = 32.0f;
  config->dropout = 0.05f;
  config->use_rslora = FALSE;
}

float
temper_lora_config_get_scaling (const TemperLoraConfig *config)
{
  if (config->use_rslora)
    return config->alpha / sqrtf ((float) config->rank);
  return config->alpha / (float) config->rank;
}

gboolean
temper_lora_config_check (const TemperLoraConfig *config, GError **error)
{
  if (config->targets == 0 || (config->targets & ~TEMPER_LORA_TARGETS_ALL_LINEAR) != 0)
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_ARGUMENT,
                   _("LoRA needs at least one layer to adapt (q, k, v, o, gate, up, down)"));
      return FALSE;
    }
  if (config->rank < 1 || config->rank > 1024)
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_ARGUMENT,
                   _("The LoRA rank must be between 1 and 1024 (it is %d)"), config->rank);
      return FALSE;
    }
  if (!(config->alpha > 0.0f) || !isfinite (config->alpha))
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_ARGUMENT,
                   _("The LoRA alpha must be a positive number (it is %g)"), config->alpha);
      return FALSE;
    }
  if (!(config->dropout >= 0.0f && config->dropout < 1.0f))
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_ARGUMENT,
                   _("The LoRA dropout must be at least 0 and below 1 (it is %g)"),
                   config->dropout);
      return FALSE;
    }
  return TRUE;
}

temper_adapter_t *
temper_lora_adapter_new (const TemperModelConfig *model_config,
                         const TemperLoraConfig  *config,
                         guint64                  seed,
                         GError                 **error)
{
  temper_adapter_t *adapter;
  TemperRng rng;

  g_return_val_if_fail (model_config != NULL && config != NULL, NULL);

  if (!temper_lora_config_check (config, error))
    return NULL;
  adapter = temper_adapter_new (model_config, config->rank, config->alpha,
                                config->use_rslora, config->targets, error);
  if (adapter == NULL)
    return NULL;

  /* PEFT: kaiming_uniform_(A, a=√5) → bound = √(6 / ((1 + 5)·fan_in)) = 1/√in.
   * B stays zero so the adapted model starts out equal to the base model. */
  temper_rng_seed (&rng, seed);
  for (int l = 0; l < model_config->n_layer; l++)
    for (int t = 0; t < TEMPER_LORA_N_TARGETS; t++)
      {
        float *a = temper_adapter_get_a (adapter, l, t);
        int in, out;
        float bound;
        gsize n;

        if (a == NULL)
          continue;
        temper_lora_target_dims (model_config, t, &in, &out);
        bound = 1.0f / sqrtf ((float) in);
        n = (gsize) config->rank * (gsize) in;
        for (gsize j = 0; j < n; j++)
          a[j] = (2.0f * temper_rng_uniform (&rng) - 1.0f) * bound;
      }
  temper_adapter_changed (adapter);
  return adapter;
}

guint64
temper_lora_count_params (const temper_adapter_t *adapter, const TemperModelConfig *model_config)
{
  guint targets = temper_adapter_get_targets (adapter);
  guint64 rank = (guint64) temper_adapter_get_rank (adapter), per_layer = 0;

  for (int t = 0; t < TEMPER_LORA_N_TARGETS; t++)
    if (targets & TEMPER_LORA_TARGET_BIT (t))
      {
        int in, out;

        temper_lora_target_dims (model_config, t, &in, &out);
        per_layer += rank * (guint64) (in + out);
      }
  return per_layer * (guint64) model_config->n_layer;
}

static void
copy_params (temper_adapter_t *adapter, const TemperModelConfig *model_config,
             float *flat, gboolean to_flat)
{
  gsize rank = (gsize) temper_adapter_get_rank (adapter);

  for (int l = 0; l < model_config->n_layer; l++)
    for (int t = 0; t < TEMPER_LORA_N_TARGETS; t++)
      {
        float *a = temper_adapter_get_a (adapter, l, t);
        float *b = temper_adapter_get_b (adapter, l, t);
        int in, out;

        if (a == NULL)
          continue;
        temper_lora_target_dims (model_config, t, &in, &out);
        if (to_flat)
          {
            memcpy (flat, a, rank * (gsize) in * sizeof (float));
            memcpy (flat + rank * (gsize) in, b, rank * (gsize) out * sizeof (float));
          }
        else
          {
            memcpy (a, flat, rank * (gsize) in * sizeof (float));
            memcpy (b, flat + rank * (gsize) in, rank * (gsize) out * sizeof (float));
          }
        flat += rank * (gsize) (in + out);
      }
}

void
temper_lora_gather (temper_adapter_t *adapter, const TemperModelConfig *model_config, float *flat)
{
  copy_params (adapter, model_config, flat, TRUE);
}

void
temper_lora_scatter (temper_adapter_t *adapter, const TemperModelConfig *model_config,
                     const float *flat)
{
  copy_params (adapter, model_config, (float *) flat, FALSE);
  temper_adapter_changed (adapter);
}

void
temper_lora_permute_rows (float *rows, int n_rows, int n_cols, int head_dim,
                          gboolean to_hf)
{
  int half = head_dim / 2;
  g_autofree float *head = g_new (float, (gsize) head_dim * (gsize) n_cols);
  gsize row_bytes = (gsize) n_cols * sizeof (float);

  g_assert (head_dim % 2 == 0 && n_rows % head_dim == 0);

  for (int h = 0; h < n_rows / head_dim; h++)
    {
      float *base = rows + (gsize) h * (gsize) head_dim * (gsize) n_cols;

      memcpy (head, base, row_bytes * (gsize) head_dim);
      for (int i = 0; i < half; i++)
        for (int s = 0; s < 2; s++)
          {
            int gguf_row = 2 * i + s;
            int hf_row = s * half + i;
            int dst = to_hf ? hf_row : gguf_row;
            int src = to_hf ? gguf_row : hf_row;

            memcpy (base + (gsize) dst * (gsize) n_cols,
                    head + (gsize) src * (gsize) n_cols, row_bytes);
          }
    }
}
