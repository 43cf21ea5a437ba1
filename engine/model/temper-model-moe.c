/* SPDX-License-Identifier: MIT */
/* temper-model-moe.c — the experts of a mixture-of-experts layer
 * (Qwen3-MoE, Mixtral), from either kind of file: GGUF stacks each
 * projection of all experts into one 3-D tensor (ffn_gate_exps {n_embd,
 * n_ff_expert, n_expert}, …), which is viewed expert by expert in place; a
 * Hugging Face folder holds one tensor per expert and projection. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <string.h>

#include "temper/error.h"
#include "temper-model-private.h"

char *
temper_model_describe_lora_scope (const temper_model_t *model)
{
  if (model->config.hf_layout != TEMPER_HF_LAYOUT_CAUSAL_LM)
    /* Translators: %s is a family such as "Gemma 3" */
    return g_strdup_printf (_("%s here is a model of text and images: Temper runs and trains its text part; "
                              "the image part is not used."), temper_model_get_family_name (model));
  if (model->config.n_expert == 0)
    return NULL;
  /* Translators: %s is a family such as "Qwen3-MoE" or "Mixtral" */
  return g_strdup_printf (_("%s is a mixture-of-experts model: LoRA trains its attention layers only "
                            "(q, k, v, o); the experts stay as they are."),
                          temper_model_get_family_name (model));
}

gboolean
temper_model_layer_is_moe (const TemperLayerWeights *layer)
{
  return layer->ffn_gate_inp.data != NULL;
}

static gboolean
read_view (temper_model_t *model, const char *name, TemperTensorView *view, int64_t ne0, int64_t ne1,
           const char *what, GError **error)
{
  memset (view, 0, sizeof *view);
  if (model->gguf != NULL)
    temper_gguf_find_tensor (model->gguf, name, view);
  else if (temper_safetensors_get_info (model->safetensors, name, NULL)
           && !temper_safetensors_get_view (model->safetensors, name, view, error))
    return FALSE;
  return temper_model_check_tensor (view, name, ne0, ne1, FALSE, what, error);
}

/* GGUF: one stacked tensor, @rows rows per expert, split in place. */
static gboolean
read_stacked (temper_model_t *model, int layer, const char *part, int64_t ne0, int64_t rows,
              TemperTensorView *experts, const char *what, GError **error)
{
  const TemperModelConfig *c = &model->config;
  g_autofree char *name = g_strdup_printf ("blk.%d.%s.weight", layer, part);
  TemperTensorView stacked;

  if (!read_view (model, name, &stacked, ne0, rows * c->n_expert, what, error))
    return FALSE;
  for (int e = 0; e < c->n_expert; e++)
    temper_model_split_rows (&stacked, rows * e, rows, stacked.name, &experts[e]);
  return TRUE;
}

/* A Hugging Face folder: one tensor per expert, named by the family. */
static gboolean
read_separate (temper_model_t *model, int layer, const char *pattern, int64_t ne0, int64_t ne1,
               TemperTensorView *experts, const char *what, GError **error)
{
  for (int e = 0; e < model->config.n_expert; e++)
    {
      g_autofree char *name = NULL;

      /* @pattern holds the layer's and the expert's number, in that order. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
      name = g_strdup_printf (pattern, layer, e);
#pragma GCC diagnostic pop
      if (!read_view (model, name, &experts[e], ne0, ne1, what, error))
        return FALSE;
    }
  return TRUE;
}

gboolean
temper_model_read_experts (temper_model_t *model, int layer, const char *what, GError **error)
{
  const TemperModelConfig *c = &model->config;
  TemperLayerWeights *w = &model->layers[layer];
  int n = c->n_expert, F = c->n_ff_expert, E = c->n_embd;
  TemperTensorView *views;
  gboolean ok;

  /* Views for this layer only, so a file claiming many layers sizes
   * nothing before each layer's router is found in it. */
  if (model->expert_views == NULL)
    model->expert_views = g_ptr_array_new_with_free_func (g_free);
  views = g_new0 (TemperTensorView, 3 * (gsize) n);
  g_ptr_array_add (model->expert_views, views);
  w->exp_gate = views;
  w->exp_up = views + n;
  w->exp_down = views + 2 * n;

  if (model->gguf != NULL)
    {
      g_autofree char *router = g_strdup_printf ("blk.%d.ffn_gate_inp.weight", layer);

      ok = read_view (model, router, &w->ffn_gate_inp, E, n, what, error)
           && read_stacked (model, layer, "ffn_gate_exps", E, F, views, what, error)
           && read_stacked (model, layer, "ffn_up_exps", E, F, views + n, what, error)
           && read_stacked (model, layer, "ffn_down_exps", F, E, views + 2 * n, what, error);
    }
  else
    {
      /* Mixtral's names are its own: w1 the gate, w3 the up, w2 the down. */
      gboolean mixtral = c->arch == TEMPER_ARCH_LLAMA;
      const char *prefix = mixtral ? "block_sparse_moe" : "mlp";
      g_autofree char *router = g_strdup_printf ("model.layers.%d.%s.gate.weight", layer, prefix);
      g_autofree char *gate = g_strdup_printf ("model.layers.%%d.%s.experts.%%d.%s.weight", prefix,
                                               mixtral ? "w1" : "gate_proj");
      g_autofree char *up = g_strdup_printf ("model.layers.%%d.%s.experts.%%d.%s.weight", prefix,
                                             mixtral ? "w3" : "up_proj");
      g_autofree char *down = g_strdup_printf ("model.layers.%%d.%s.experts.%%d.%s.weight", prefix,
                                               mixtral ? "w2" : "down_proj");

      ok = read_view (model, router, &w->ffn_gate_inp, E, n, what, error)
           && read_separate (model, layer, gate, E, F, views, what, error)
           && read_separate (model, layer, up, E, F, views + n, what, error)
           && read_separate (model, layer, down, F, E, views + 2 * n, what, error);
    }
  if (!ok)
    return FALSE;
  /* The experts of one projection are computed as one: one type for all. */
  for (int e = 1; e < 3 * n; e++)
    if (views[e].type != views[e - 1].type && e % n != 0)
      {
        g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_UNSUPPORTED,
                     _("“%s” stores the experts of layer %d in different types, which Temper does not support."),
                     what, layer);
        return FALSE;
      }
  return TRUE;
}

/* Checks the expert settings read from either kind of file. */
gboolean
temper_model_check_experts (const TemperModelConfig *c, const char *what, GError **error)
{
  if (c->n_expert == 0)
    return TRUE;
  if (c->n_expert < 1 || c->n_expert > 4096 || c->n_expert_used < 1 || c->n_expert_used > c->n_expert
      || c->n_ff_expert < 1 || c->n_ff_expert > TEMPER_MODEL_MAX_FF)
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE,
                   _("“%s” has inconsistent expert settings: %d experts, %d used per token, %d wide."),
                   what, c->n_expert, c->n_expert_used, c->n_ff_expert);
      return FALSE;
    }
  return TRUE;
}

guint64
temper_model_get_expert_bytes (const temper_model_t *model)
{
  guint64 total = 0;

  for (int l = 0; l < model->config.n_layer; l++)
    {
      const TemperLayerWeights *w = &model->layers[l];

      if (!temper_model_layer_is_moe (w))
        continue;
      total += (guint64) w->ffn_gate_inp.row_bytes * (guint64) w->ffn_gate_inp.ne[1];
      for (int e = 0; e < model->config.n_expert; e++)
        total += (guint64) w->exp_gate[e].row_bytes * (guint64) w->exp_gate[e].ne[1]
                 + (guint64) w->exp_up[e].row_bytes * (guint64) w->exp_up[e].ne[1]
                 + (guint64) w->exp_down[e].row_bytes * (guint64) w->exp_down[e].ne[1];
    }
  return total;
}
