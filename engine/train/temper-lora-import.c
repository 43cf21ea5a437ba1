/* SPDX-License-Identifier: MIT */
/* temper-lora-import.c — LoRA adapters made by other tools, made Temper's.
 *
 * PEFT and llama.cpp adapt the matrices a model's files hold: Phi-3's fused
 * qkv_proj (attn_qkv) and gate_up_proj (fused ffn_up), GLM-4's gate_up_proj,
 * each with its own rank and alpha (rank_pattern, alpha_pattern).  Temper
 * trains one LoRA per projection with one rank and one scale.  A fused LoRA
 * ΔW = s·B·A splits exactly: each part keeps A and its own rows of B.  Where
 * a part's rows of B are zero in some columns (Temper's own exports place
 * each part on columns of its own), those columns and their rows of A add
 * nothing to it and are left out, so the parts get back the rank they were
 * trained with.  The parts' ranks and scales then meet in one adapter: its
 * rank is the largest part's (a smaller part is padded with zero rows of A
 * and zero columns of B, which stay zero in training), its scale the first
 * unfused module's (a GGUF LoRA scales a fused tensor by α over the fused
 * rank, so Temper's own export puts the factor back into B; an unfused
 * module keeps the scale it was trained with), else the first part's, and
 * each other part's B carries the ratio of its scale to it. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <math.h>
#include <string.h>

#include "temper/error.h"
#include "temper-lora-private.h"

typedef struct {
  float *a, *b;    /* k × in, out × k; NULL when the part was not added */
  int    k;
  float  scale;
  gboolean fused;  /* a part of a fused module */
} ImportedPart;

struct _TemperLoraImport {
  TemperModelConfig config;
  ImportedPart     *parts;   /* n_layer × TEMPER_LORA_N_TARGETS */
};

TemperLoraImport *
temper_lora_import_new (const TemperModelConfig *config)
{
  TemperLoraImport *imp = g_new0 (TemperLoraImport, 1);

  imp->config = *config;
  imp->parts = g_new0 (ImportedPart, (gsize) config->n_layer * TEMPER_LORA_N_TARGETS);
  return imp;
}

void
temper_lora_import_free (TemperLoraImport *imp)
{
  if (imp == NULL)
    return;
  for (gsize i = 0; i < (gsize) imp->config.n_layer * TEMPER_LORA_N_TARGETS; i++)
    {
      g_free (imp->parts[i].a);
      g_free (imp->parts[i].b);
    }
  g_free (imp->parts);
  g_free (imp);
}

static gboolean
column_is_zero (const float *b, int rank, int row0, int rows, int col)
{
  for (int r = row0; r < row0 + rows; r++)
    if (b[(gsize) r * (gsize) rank + (gsize) col] != 0.0f)
      return FALSE;
  return TRUE;
}

gboolean
temper_lora_import_add (TemperLoraImport *imp, int layer, const TemperLoraModule *module, int rank,
                        const float *a, const float *b, float scale, const char *what, GError **error)
{
  int row0 = 0;

  for (int p = 0; p < module->n_parts; p++)
    {
      TemperLoraTarget t = module->parts[p];
      ImportedPart *part = &imp->parts[layer * TEMPER_LORA_N_TARGETS + t];
      g_autofree int *keep = g_new (int, rank);
      int in, out, k = 0;

      temper_lora_target_dims (&imp->config, t, &in, &out);
      if (part->a != NULL)
        {
          g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE,
                       _("%s adapts the same weight of layer %d twice (as %s and as a part of "
                         "another matrix)."), what, layer, module->peft_name);
          return FALSE;
        }
      /* A fused module's columns that are zero on this part's rows belong to
       * another part; a part that is zero everywhere (an adapter not trained
       * yet) keeps every column. */
      for (int j = 0; j < rank; j++)
        if (module->n_parts == 1 || !column_is_zero (b, rank, row0, out, j))
          keep[k++] = j;
      if (k == 0)
        for (int j = 0; j < rank; j++)
          keep[k++] = j;
      part->k = k;
      part->scale = scale;
      part->fused = module->n_parts > 1;
      part->a = g_new (float, (gsize) k * (gsize) in);
      part->b = g_new (float, (gsize) out * (gsize) k);
      for (int j = 0; j < k; j++)
        memcpy (part->a + (gsize) j * (gsize) in, a + (gsize) keep[j] * (gsize) in, sizeof (float) * (gsize) in);
      for (int r = 0; r < out; r++)
        for (int j = 0; j < k; j++)
          part->b[(gsize) r * (gsize) k + (gsize) j] = b[(gsize) (row0 + r) * (gsize) rank + (gsize) keep[j]];
      row0 += out;
    }
  return TRUE;
}

temper_adapter_t *
temper_lora_import_finish (TemperLoraImport *imp, gboolean rslora, int *rank_out, float *alpha_out,
                           guint *targets_out, const char *what, GError **error)
{
  const TemperModelConfig *c = &imp->config;
  g_autoptr(temper_adapter_t) adapter = NULL;
  guint targets = 0;
  int rank = 0;
  float scale = 0.0f, alpha, adapter_scale;
  gboolean scale_unfused = FALSE;

  for (int l = 0; l < c->n_layer; l++)
    for (int t = 0; t < TEMPER_LORA_N_TARGETS; t++)
      {
        const ImportedPart *part = &imp->parts[l * TEMPER_LORA_N_TARGETS + t];

        if (part->a == NULL)
          continue;
        if (targets == 0 || (!scale_unfused && !part->fused))
          {
            scale = part->scale;
            scale_unfused = !part->fused;
          }
        targets |= TEMPER_LORA_TARGET_BIT (t);
        rank = MAX (rank, part->k);
      }
  if (targets == 0)
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE,
                   _("%s holds no LoRA of a weight Temper adapts."), what);
      return NULL;
    }
  alpha = rslora ? scale * sqrtf ((float) rank) : scale * (float) rank;
  adapter = temper_adapter_new (c, rank, alpha, rslora, targets, error);
  if (adapter == NULL)
    {
      g_prefix_error (error, "%s: ", what);
      return NULL;
    }
  adapter_scale = temper_adapter_get_scale (adapter);
  for (int l = 0; l < c->n_layer; l++)
    for (int t = 0; t < TEMPER_LORA_N_TARGETS; t++)
      {
        const ImportedPart *part = &imp->parts[l * TEMPER_LORA_N_TARGETS + t];
        float *a, *b, ratio;
        int in, out;

        if (part->a == NULL)
          continue;
        a = temper_adapter_get_a (adapter, l, (TemperLoraTarget) t);
        b = temper_adapter_get_b (adapter, l, (TemperLoraTarget) t);
        temper_lora_target_dims (c, (TemperLoraTarget) t, &in, &out);
        ratio = part->scale / adapter_scale;
        memcpy (a, part->a, sizeof (float) * (gsize) part->k * (gsize) in);
        for (int r = 0; r < out; r++)
          for (int j = 0; j < part->k; j++)
            b[(gsize) r * (gsize) rank + (gsize) j] = ratio * part->b[(gsize) r * (gsize) part->k + (gsize) j];
      }
  temper_adapter_changed (adapter);
  *rank_out = rank;
  *alpha_out = alpha;
  *targets_out = targets;
  return g_steal_pointer (&adapter);
}
