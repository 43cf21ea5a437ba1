/* SPDX-License-Identifier: MIT */
/* temper-export-gguf-hf.c — the tensors and metadata of a merged GGUF made
 * from a Hugging Face base folder, named, ordered and typed the way
 * llama.cpp's own converter writes them (FORMATS.md §1.4–1.7). */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <string.h>

#include "temper/error.h"
#include "temper/gguf.h"
#include "temper/train.h"
#include "temper-export-private.h"
#include "temper-lora-private.h"

typedef struct {
  temper_gguf_writer_t    *w;
  const temper_model_t    *model;
  const TemperModelConfig *config;
  temper_adapter_t        *adapter;
  TemperExportQuant        quant;
  GPtrArray               *owned;
  const char              *out_path;
} HfExport;

/* Adds @v under @name: merged with the adapter's s·B·A when @target (≥ 0)
 * is adapted, its rows reordered into llama.cpp's interleaved Q/K order when
 * @permute, then stored in the type the quantization picks. */
static gboolean
add_tensor (HfExport *e, const char *name, const TemperTensorView *v, int n_dims, int layer,
            int target, gboolean permute, GError **error)
{
  const int64_t ne[2] = { v->ne[0], v->ne[1] };
  gboolean adapted = target >= 0 && e->adapter != NULL &&
                     (temper_adapter_get_targets (e->adapter) & TEMPER_LORA_TARGET_BIT (target));
  int type = temper_export_gguf_tensor_type (e->quant, name, n_dims, v->ne[0],
                                             !e->config->tied_embeddings);
  gsize row_bytes = temper_type_row_bytes (type, v->ne[0]);
  float *f32;
  guint8 *dst;

  if (v->data == NULL)
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE,
                   _("“%s” has no weights for %s, so no GGUF can be made from it."),
                   temper_model_get_path (e->model), name);
      return FALSE;
    }
  /* Safetensors rows are packed, so an unchanged tensor already in the
   * wanted type is written straight from the mapped file. */
  if (!adapted && !permute && type == v->type && v->row_bytes == row_bytes)
    {
      temper_gguf_writer_add_tensor_static (e->w, name, type, ne, n_dims, v->data,
                                            row_bytes * (gsize) v->ne[1]);
      return TRUE;
    }
  f32 = g_try_new (float, (gsize) (v->ne[0] * v->ne[1]));
  dst = g_try_malloc (MAX (row_bytes * (gsize) v->ne[1], 1));
  if (f32 == NULL || dst == NULL)
    {
      g_free (f32);
      g_free (dst);
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_OUT_OF_MEMORY,
                   _("Not enough memory to convert tensor %s for “%s”."), name, e->out_path);
      return FALSE;
    }
  g_ptr_array_add (e->owned, dst);
  temper_export_merge_weight (v, adapted ? e->adapter : NULL, layer,
                              adapted ? (TemperLoraTarget) target : TEMPER_LORA_Q, f32);
  /* A bias is one value per output row: reorder it as rows of one column. */
  if (permute)
    {
      if (n_dims == 1)
        temper_lora_permute_rows (f32, (int) v->ne[0], 1, e->config->head_dim, FALSE);
      else
        temper_lora_permute_rows (f32, (int) v->ne[1], (int) v->ne[0], e->config->head_dim, FALSE);
    }
  for (int64_t r = 0; r < v->ne[1]; r++)
    temper_export_quantize_row (type, f32 + r * v->ne[0], v->ne[0], dst + (gsize) r * row_bytes);
  g_free (f32);
  temper_gguf_writer_add_tensor_static (e->w, name, type, ne, n_dims, dst,
                                        row_bytes * (gsize) v->ne[1]);
  return TRUE;
}

static gboolean
add_layer (HfExport *e, int l, GError **error)
{
  const TemperLayerWeights *lw = temper_model_get_layer (e->model, l);
  /* Only llama-arch GGUFs reorder Q/K (and their biases); qwen2 keeps the
   * Hugging Face order and runs NEOX RoPE. */
  gboolean permute_q = temper_export_needs_qk_permutation (e->config, TEMPER_LORA_Q);
  gboolean permute_k = temper_export_needs_qk_permutation (e->config, TEMPER_LORA_K);
  const struct {
    const char *stem;
    const TemperTensorView *v;
    int n_dims, target;
    gboolean permute, optional;
  } parts[] = {
    { "attn_norm.weight", &lw->attn_norm, 1, -1, FALSE, FALSE },
    { "attn_q.weight", &lw->wq, 2, TEMPER_LORA_Q, permute_q, FALSE },
    { "attn_q.bias", &lw->bq, 1, -1, permute_q, TRUE },
    { "attn_k.weight", &lw->wk, 2, TEMPER_LORA_K, permute_k, FALSE },
    { "attn_k.bias", &lw->bk, 1, -1, permute_k, TRUE },
    { "attn_v.weight", &lw->wv, 2, TEMPER_LORA_V, FALSE, FALSE },
    { "attn_v.bias", &lw->bv, 1, -1, FALSE, TRUE },
    { "attn_output.weight", &lw->wo, 2, TEMPER_LORA_O, FALSE, FALSE },
    { "ffn_norm.weight", &lw->ffn_norm, 1, -1, FALSE, FALSE },
    { "ffn_gate.weight", &lw->w_gate, 2, TEMPER_LORA_GATE, FALSE, FALSE },
    { "ffn_up.weight", &lw->w_up, 2, TEMPER_LORA_UP, FALSE, FALSE },
    { "ffn_down.weight", &lw->w_down, 2, TEMPER_LORA_DOWN, FALSE, FALSE },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (parts); i++)
    {
      char name[96];

      if (parts[i].optional && parts[i].v->data == NULL)
        continue;
      g_snprintf (name, sizeof name, "blk.%d.%s", l, parts[i].stem);
      if (!add_tensor (e, name, parts[i].v, parts[i].n_dims, l, parts[i].target,
                       parts[i].permute, error))
        return FALSE;
    }
  return TRUE;
}

static void
set_arch_u32 (HfExport *e, const char *suffix, int value)
{
  g_autofree char *key = g_strdup_printf ("%s.%s", temper_model_get_arch_name (e->model), suffix);

  temper_gguf_writer_set_u32 (e->w, key, (guint32) value);
}

static void
set_arch_f32 (HfExport *e, const char *suffix, float value)
{
  g_autofree char *key = g_strdup_printf ("%s.%s", temper_model_get_arch_name (e->model), suffix);

  temper_gguf_writer_set_f32 (e->w, key, value);
}

gboolean
temper_export_gguf_from_hf (temper_gguf_writer_t *w, const temper_model_t *model,
                            temper_adapter_t *adapter, TemperExportQuant quant,
                            GPtrArray *owned, const char *out_path,
                            const TemperExportOptions *options, GError **error)
{
  const TemperModelConfig *c = temper_model_get_config (model);
  HfExport e = { w, model, c, adapter, quant, owned, out_path };
  int n_rows = (int) temper_model_get_token_embd (model)->ne[1];

  temper_gguf_writer_set_string (w, "general.architecture", temper_model_get_arch_name (model));
  temper_gguf_writer_set_string (w, "general.type", "model");
  temper_gguf_writer_set_string (w, "general.name", temper_model_get_name (model));
  temper_gguf_writer_set_u32 (w, "general.file_type", temper_export_gguf_file_type (quant));
  temper_gguf_writer_set_u32 (w, "general.quantization_version", 2);
  set_arch_u32 (&e, "context_length", c->n_ctx_train);
  set_arch_u32 (&e, "embedding_length", c->n_embd);
  set_arch_u32 (&e, "block_count", c->n_layer);
  set_arch_u32 (&e, "feed_forward_length", c->n_ff);
  set_arch_u32 (&e, "attention.head_count", c->n_head);
  set_arch_u32 (&e, "attention.head_count_kv", c->n_head_kv);
  set_arch_u32 (&e, "attention.key_length", c->head_dim);
  set_arch_u32 (&e, "attention.value_length", c->head_dim);
  set_arch_u32 (&e, "rope.dimension_count", c->head_dim);
  set_arch_u32 (&e, "vocab_size", n_rows);
  set_arch_f32 (&e, "rope.freq_base", c->rope_theta);
  set_arch_f32 (&e, "attention.layer_norm_rms_epsilon", c->rms_eps);
  if (!temper_export_gguf_tokenizer (w, temper_model_get_tokenizer (model),
                                     temper_model_get_chat_template (model),
                                     temper_model_get_stop_tokens (model), n_rows,
                                     temper_model_get_path (model), error))
    return FALSE;

  if (!add_tensor (&e, "token_embd.weight", temper_model_get_token_embd (model), 2, -1, -1,
                   FALSE, error) ||
      !add_tensor (&e, "output_norm.weight", temper_model_get_output_norm (model), 1, -1, -1,
                   FALSE, error))
    return FALSE;
  if (!c->tied_embeddings &&
      !add_tensor (&e, "output.weight", temper_model_get_output (model), 2, -1, -1, FALSE, error))
    return FALSE;
  for (int l = 0; l < c->n_layer; l++)
    {
      if (!temper_export_step (options, 0.95 * (double) l / (double) c->n_layer, error) ||
          !add_layer (&e, l, error))
        return FALSE;
    }
  return TRUE;
}
