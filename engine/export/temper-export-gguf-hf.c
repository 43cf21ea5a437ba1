/* SPDX-License-Identifier: MIT */
/* temper-export-gguf-hf.c — the tensors and metadata of a merged GGUF made
 * from a Hugging Face base folder, named, ordered and typed the way
 * llama.cpp's own converter writes them (FORMATS.md §1.4–1.7). */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <math.h>
#include <string.h>

#include "temper/error.h"
#include "temper/gguf.h"
#include "temper/json.h"
#include "temper/train.h"
#include "temper-export-private.h"
#include "temper-model-private.h"
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

/* One tensor of the GGUF: the rows of one or more of the model's views
 * (a fused attn_qkv, a fused ffn_up, the experts of a stacked ffn_*_exps). */
typedef struct {
  const char              *name;
  const TemperTensorView *const *views;
  const int               *targets;   /* a TemperLoraTarget per view, or -1; NULL: none */
  int                      n_views;
  int                      n_dims;    /* 3: one view per expert, stacked */
  int                      layer;
  gboolean                 permute;   /* into llama.cpp's interleaved q/k row order */
  float                    shift;     /* added to every value: Gemma's norms become 1 + w */
} GgufTensor;

static gboolean
is_adapted (HfExport *e, const GgufTensor *t)
{
  for (int i = 0; t->targets != NULL && i < t->n_views; i++)
    if (t->targets[i] >= 0 && e->adapter != NULL &&
        (temper_adapter_get_targets (e->adapter) & TEMPER_LORA_TARGET_BIT (t->targets[i])))
      return TRUE;
  return FALSE;
}

/* Adds @t: merged with the adapter's s·B·A where a part is adapted, its
 * rows reordered into llama.cpp's interleaved Q/K order when asked, then
 * stored in the type the quantization picks. */
static gboolean
add_tensor (HfExport *e, const GgufTensor *t, GError **error)
{
  const TemperTensorView *v = t->views[0];
  int64_t in = v->ne[0], rows = 0;
  int64_t ne[3];
  gboolean adapted = is_adapted (e, t);
  int type;
  gsize row_bytes;
  float *f32;
  guint8 *dst;

  for (int i = 0; i < t->n_views; i++)
    {
      if (t->views[i]->data == NULL)
        {
          g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE,
                       _("“%s” has no weights for %s, so no GGUF can be made from it."),
                       temper_model_get_path (e->model), t->name);
          return FALSE;
        }
      rows += t->views[i]->ne[1];
    }
  ne[0] = in;
  ne[1] = t->n_dims == 3 ? v->ne[1] : (t->n_dims == 1 ? 1 : rows);
  ne[2] = t->n_views;
  type = temper_export_gguf_tensor_type (e->quant, t->name, t->n_dims, in, !e->config->tied_embeddings);
  row_bytes = temper_type_row_bytes (type, in);
  /* Safetensors rows are packed, so an unchanged tensor already in the
   * wanted type is written straight from the mapped file. */
  if (t->n_views == 1 && !adapted && !t->permute && t->shift == 0.0f && type == v->type &&
      v->row_bytes == row_bytes)
    {
      temper_gguf_writer_add_tensor_static (e->w, t->name, type, ne, t->n_dims, v->data,
                                            row_bytes * (gsize) rows);
      return TRUE;
    }
  f32 = g_try_new (float, (gsize) (in * rows));
  dst = g_try_malloc (MAX (row_bytes * (gsize) rows, 1));
  if (f32 == NULL || dst == NULL)
    {
      g_free (f32);
      g_free (dst);
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_OUT_OF_MEMORY,
                   _("Not enough memory to convert tensor %s for “%s”."), t->name, e->out_path);
      return FALSE;
    }
  g_ptr_array_add (e->owned, dst);
  rows = 0;
  for (int i = 0; i < t->n_views; i++)
    {
      int target = t->targets != NULL ? t->targets[i] : -1;
      gboolean part_adapted = target >= 0 && e->adapter != NULL &&
                              (temper_adapter_get_targets (e->adapter) & TEMPER_LORA_TARGET_BIT (target));

      temper_export_merge_weight (t->views[i], part_adapted ? e->adapter : NULL, t->layer,
                                  part_adapted ? (TemperLoraTarget) target : TEMPER_LORA_Q, f32 + rows * in);
      rows += t->views[i]->ne[1];
    }
  if (t->shift != 0.0f)
    for (int64_t i = 0; i < in * rows; i++)
      f32[i] += t->shift;
  /* A bias is one value per output row: reorder it as rows of one column. */
  if (t->permute)
    {
      if (t->n_dims == 1)
        temper_lora_permute_rows (f32, (int) in, 1, e->config->head_dim, FALSE);
      else
        temper_lora_permute_rows (f32, (int) rows, (int) in, e->config->head_dim, FALSE);
    }
  for (int64_t r = 0; r < rows; r++)
    temper_export_quantize_row (type, f32 + r * in, in, dst + (gsize) r * row_bytes);
  g_free (f32);
  temper_gguf_writer_add_tensor_static (e->w, t->name, type, ne, t->n_dims, dst, row_bytes * (gsize) rows);
  return TRUE;
}

static gboolean
add_one (HfExport *e, const char *name, const TemperTensorView *v, int n_dims, int layer, int target,
         gboolean permute, float shift, GError **error)
{
  const TemperTensorView *views[1] = { v };
  int targets[1] = { target };
  GgufTensor t = { name, views, targets, 1, n_dims, layer, permute, shift };

  return add_tensor (e, &t, error);
}

/* The experts of MoE layer @l, stacked as ffn_{gate,up,down}_exps, and the
 * router. */
static gboolean
add_experts (HfExport *e, int l, const TemperLayerWeights *lw, GError **error)
{
  const struct { const char *stem; const TemperTensorView *views; } parts[] = {
    { "ffn_gate_exps", lw->exp_gate }, { "ffn_up_exps", lw->exp_up }, { "ffn_down_exps", lw->exp_down },
  };
  char name[96];

  g_snprintf (name, sizeof name, "blk.%d.ffn_gate_inp.weight", l);
  if (!add_one (e, name, &lw->ffn_gate_inp, 2, l, -1, FALSE, 0.0f, error))
    return FALSE;
  for (gsize p = 0; p < G_N_ELEMENTS (parts); p++)
    {
      g_autofree const TemperTensorView **views = g_new (const TemperTensorView *, e->config->n_expert);
      GgufTensor t = { name, views, NULL, e->config->n_expert, 3, l, FALSE, 0.0f };

      for (int x = 0; x < e->config->n_expert; x++)
        views[x] = &parts[p].views[x];
      g_snprintf (name, sizeof name, "blk.%d.%s.weight", l, parts[p].stem);
      if (!add_tensor (e, &t, error))
        return FALSE;
    }
  return TRUE;
}

static gboolean
add_layer (HfExport *e, int l, GError **error)
{
  const TemperModelConfig *c = e->config;
  const TemperLayerWeights *lw = temper_model_get_layer (e->model, l);
  /* Only llama-arch GGUFs reorder Q/K (and their biases); the others keep
   * the Hugging Face order. */
  gboolean permute_q = temper_export_needs_qk_permutation (c, TEMPER_LORA_Q);
  gboolean permute_k = temper_export_needs_qk_permutation (c, TEMPER_LORA_K);
  /* Hugging Face's Gemma norms scale by 1 + w; llama.cpp's GGUF stores 1 + w. */
  float shift = c->norm_offset;
  const struct {
    const char *stem;
    const TemperTensorView *v;
    int n_dims, target;
    gboolean permute, optional, norm;
  } parts[] = {
    { "attn_norm.weight", &lw->attn_norm, 1, -1, FALSE, FALSE, TRUE },
    { "attn_q.weight", &lw->wq, 2, TEMPER_LORA_Q, permute_q, FALSE, FALSE },
    { "attn_q.bias", &lw->bq, 1, -1, permute_q, TRUE, FALSE },
    { "attn_k.weight", &lw->wk, 2, TEMPER_LORA_K, permute_k, FALSE, FALSE },
    { "attn_k.bias", &lw->bk, 1, -1, permute_k, TRUE, FALSE },
    { "attn_v.weight", &lw->wv, 2, TEMPER_LORA_V, FALSE, FALSE, FALSE },
    { "attn_v.bias", &lw->bv, 1, -1, FALSE, TRUE, FALSE },
    { "attn_q_norm.weight", &lw->q_norm, 1, -1, FALSE, TRUE, TRUE },
    { "attn_k_norm.weight", &lw->k_norm, 1, -1, FALSE, TRUE, TRUE },
    { "attn_output.weight", &lw->wo, 2, TEMPER_LORA_O, FALSE, FALSE, FALSE },
    { "post_attention_norm.weight", &lw->attn_post_norm, 1, -1, FALSE, TRUE, TRUE },
    { "ffn_norm.weight", &lw->ffn_norm, 1, -1, FALSE, FALSE, TRUE },
    { "post_ffw_norm.weight", &lw->ffn_post_norm, 1, -1, FALSE, TRUE, TRUE },
    { "ffn_gate.weight", &lw->w_gate, 2, TEMPER_LORA_GATE, FALSE, TRUE, FALSE },
    { "ffn_up.weight", &lw->w_up, 2, TEMPER_LORA_UP, FALSE, TRUE, FALSE },
    { "ffn_down.weight", &lw->w_down, 2, TEMPER_LORA_DOWN, FALSE, TRUE, FALSE },
  };
  char name[96];

  for (gsize i = 0; i < G_N_ELEMENTS (parts); i++)
    {
      gboolean ffn = g_str_has_prefix (parts[i].stem, "ffn_") && !parts[i].norm;

      /* The fused matrices and the experts are written below. */
      gboolean qkv = parts[i].target == TEMPER_LORA_Q || parts[i].target == TEMPER_LORA_K ||
                     parts[i].target == TEMPER_LORA_V;

      if ((parts[i].optional && parts[i].v->data == NULL) || (c->fused_qkv && qkv) ||
          (ffn && (temper_model_layer_is_moe (lw) ||
                   (c->fused_gate_up && strcmp (parts[i].stem, "ffn_down.weight") != 0))))
        continue;
      g_snprintf (name, sizeof name, "blk.%d.%s", l, parts[i].stem);
      if (!add_one (e, name, parts[i].v, parts[i].n_dims, l, parts[i].target, parts[i].permute,
                    parts[i].norm ? shift : 0.0f, error))
        return FALSE;
    }
  /* Phi-3 keeps q, k and v as one attn_qkv; Phi-3 and GLM-4 gate and up as
   * one ffn_up, gate first (the order of their Hugging Face files). */
  if (c->fused_qkv)
    {
      const TemperTensorView *views[3] = { &lw->wq, &lw->wk, &lw->wv };
      const int targets[3] = { TEMPER_LORA_Q, TEMPER_LORA_K, TEMPER_LORA_V };
      GgufTensor t = { name, views, targets, 3, 2, l, FALSE, 0.0f };

      g_snprintf (name, sizeof name, "blk.%d.attn_qkv.weight", l);
      if (!add_tensor (e, &t, error))
        return FALSE;
    }
  if (c->fused_gate_up && !temper_model_layer_is_moe (lw))
    {
      const TemperTensorView *views[2] = { &lw->w_gate, &lw->w_up };
      const int targets[2] = { TEMPER_LORA_GATE, TEMPER_LORA_UP };
      GgufTensor t = { name, views, targets, 2, 2, l, FALSE, 0.0f };

      g_snprintf (name, sizeof name, "blk.%d.ffn_up.weight", l);
      if (!add_tensor (e, &t, error))
        return FALSE;
    }
  return !temper_model_layer_is_moe (lw) || add_experts (e, l, lw, error);
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

static void
set_arch_string (HfExport *e, const char *suffix, const char *value)
{
  g_autofree char *key = g_strdup_printf ("%s.%s", temper_model_get_arch_name (e->model), suffix);

  temper_gguf_writer_set_string (e->w, key, value);
}

/* What llama.cpp cannot run as the Hugging Face model does is refused by
 * the family's name: its GGUF would answer differently. */
static gboolean
check_layout (const temper_model_t *model, GError **error)
{
  const TemperModelConfig *c = temper_model_get_config (model);
  const char *family = temper_model_get_family_name (model);
  const char *what = NULL;

  if (c->arch == TEMPER_ARCH_GEMMA2 || c->arch == TEMPER_ARCH_GEMMA3)
    {
      /* llama.cpp scales queries by 1/√head_dim, or 1/√(hidden/heads) for
       * the 27B models (46 or 62 layers); it reads no query_pre_attn_scalar. */
      gboolean big = (c->arch == TEMPER_ARCH_GEMMA2 && c->n_layer == 46) ||
                     (c->arch == TEMPER_ARCH_GEMMA3 && c->n_layer == 62);
      float expected = 1.0f / sqrtf ((float) (big ? c->n_embd / c->n_head : c->head_dim));
      float scale = c->attn_scale > 0.0f ? c->attn_scale : 1.0f / sqrtf ((float) c->head_dim);

      if (fabsf (scale - expected) > 1e-6f * expected)
        what = _("its query_pre_attn_scalar, which llama.cpp does not read");
    }
  for (int l = 0; what == NULL && c->n_expert > 0 && l < c->n_layer; l++)
    if (!temper_model_layer_is_moe (temper_model_get_layer (model, l)))
      what = _("dense layers among its expert layers (mlp_only_layers)");
  if (what == NULL && c->n_expert > 0 && c->arch == TEMPER_ARCH_QWEN3 && !c->expert_norm)
    what = _("expert weights that are not renormalised (norm_topk_prob false), which llama.cpp always renormalises");
  if (what == NULL)
    return TRUE;
  g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_UNSUPPORTED,
               /* Translators: the first %s is a family ("Gemma 2"), the second what its GGUF cannot hold */
               _("Temper cannot merge this %s model into a GGUF: it has %s. Merge into a Hugging Face "
                 "folder, or export the adapter (PEFT or GGUF LoRA)."), family, what);
  return FALSE;
}

gboolean
temper_export_gguf_from_hf_supported (const temper_model_t *model, GError **error)
{
  TemperExportRope rope;
  int n_rows = (int) temper_model_get_token_embd (model)->ne[1];

  return temper_export_check_family (model, error) && check_layout (model, error) &&
         temper_export_rope_describe (model, &rope, error) &&
         temper_export_gguf_tokenizer_check (temper_model_get_tokenizer (model), n_rows,
                                             temper_model_get_path (model), error);
}

/* The family's keys beyond Llama's, as llama.cpp's converter writes them. */
static gboolean
write_family_keys (HfExport *e, const TemperExportRope *rope, GError **error)
{
  const TemperModelConfig *c = e->config;
  int default_period = c->arch == TEMPER_ARCH_GEMMA3 ? 6 : 2;

  switch (c->arch)
    {
    case TEMPER_ARCH_GEMMA2:
    case TEMPER_ARCH_GEMMA3:
      if (c->attn_softcap > 0.0f)
        set_arch_f32 (e, "attn_logit_softcapping", c->attn_softcap);
      if (c->final_softcap > 0.0f)
        set_arch_f32 (e, "final_logit_softcapping", c->final_softcap);
      if (c->sliding_window > 0)
        {
          set_arch_u32 (e, "attention.sliding_window", c->sliding_window);
          if (c->swa_period != default_period)
            set_arch_u32 (e, "attention.sliding_window_pattern", c->swa_period);
        }
      if (c->arch == TEMPER_ARCH_GEMMA3)
        set_arch_f32 (e, "rope.freq_base_swa", c->rope_theta_local > 0.0f ? c->rope_theta_local : c->rope_theta);
      break;
    case TEMPER_ARCH_PHI3:
      set_arch_u32 (e, "attention.sliding_window", c->sliding_window);
      set_arch_u32 (e, "rope.scaling.original_context_length",
                    rope->kind == TEMPER_EXPORT_ROPE_LONGROPE ? rope->original_context : c->n_ctx_train);
      break;
    default:
      break;
    }
  if (c->n_expert > 0)
    {
      set_arch_u32 (e, "expert_count", c->n_expert);
      set_arch_u32 (e, "expert_used_count", c->n_expert_used);
      if (c->arch == TEMPER_ARCH_QWEN3)
        set_arch_u32 (e, "expert_feed_forward_length", c->n_ff_expert);
    }

  switch (rope->kind)
    {
    case TEMPER_EXPORT_ROPE_LINEAR:
      set_arch_string (e, "rope.scaling.type", "linear");
      set_arch_f32 (e, "rope.scaling.factor", rope->factor);
      break;
    case TEMPER_EXPORT_ROPE_LLAMA3:
      {
        const int64_t ne[1] = { rope->n_pairs };
        temper_gguf_writer_add_tensor_static (e->w, "rope_freqs.weight", TEMPER_TYPE_F32, ne, 1,
                                              rope->short_factors, (gsize) rope->n_pairs * sizeof (float));
      }
      break;
    case TEMPER_EXPORT_ROPE_YARN:
      set_arch_string (e, "rope.scaling.type", "yarn");
      set_arch_f32 (e, "rope.scaling.factor", rope->factor);
      set_arch_u32 (e, "rope.scaling.original_context_length", rope->original_context);
      set_arch_f32 (e, "rope.scaling.yarn_beta_fast", rope->beta_fast);
      set_arch_f32 (e, "rope.scaling.yarn_beta_slow", rope->beta_slow);
      if (fabsf (rope->attn_factor - temper_model_yarn_attention_factor (rope->factor, 0.0f, 0.0f)) > 1e-6f)
        set_arch_f32 (e, "rope.scaling.yarn_attn_factor", rope->attn_factor);
      break;
    case TEMPER_EXPORT_ROPE_LONGROPE:
      {
        const int64_t ne[1] = { rope->n_pairs };
        gsize bytes = (gsize) rope->n_pairs * sizeof (float);

        temper_gguf_writer_add_tensor_static (e->w, "rope_factors_short.weight", TEMPER_TYPE_F32, ne, 1,
                                              rope->short_factors, bytes);
        if (rope->long_factors != NULL)
          temper_gguf_writer_add_tensor_static (e->w, "rope_factors_long.weight", TEMPER_TYPE_F32, ne, 1,
                                                rope->long_factors, bytes);
        if (rope->attn_factor != 1.0f)
          set_arch_f32 (e, "rope.scaling.attn_factor", rope->attn_factor);
      }
      break;
    case TEMPER_EXPORT_ROPE_PLAIN:
    default:
      break;
    }
  return error == NULL || *error == NULL;
}

/* The special tokens llama.cpp's converter takes from outside the
 * tokenizer's files: config.json's bos_token_id (Phi-3's folders name no
 * BOS in tokenizer_config.json), and GLM-4's fixed choices, <|endoftext|>
 * as BOS and unknown token and <|user|> as the end of a turn. */
static void
converter_token_ids (const temper_model_t *model, TemperExportTokenIds *ids)
{
  const temper_tokenizer_t *tok = temper_model_get_tokenizer (model);
  g_autofree char *config_path = g_build_filename (temper_model_get_path (model), "config.json", NULL);
  g_autoptr(JsonNode) root = temper_json_parse_file (config_path, TEMPER_JSON_MAX_SETTINGS_SIZE, NULL);
  JsonObject *config = root != NULL && JSON_NODE_HOLDS_OBJECT (root) ? json_node_get_object (root) : NULL;
  JsonNode *bos = config != NULL ? json_object_get_member (config, "bos_token_id") : NULL;

  ids->bos = ids->unk = ids->eot = -1;
  if (bos != NULL && JSON_NODE_HOLDS_VALUE (bos) && json_node_get_value_type (bos) == G_TYPE_INT64)
    ids->bos = (int) CLAMP (json_node_get_int (bos), -1, G_MAXINT);
  if (temper_model_get_config (model)->arch == TEMPER_ARCH_GLM4)
    {
      int end_of_text = temper_tokenizer_find_token (tok, "<|endoftext|>");

      if (ids->bos < 0)
        ids->bos = end_of_text;
      ids->unk = end_of_text;
      ids->eot = temper_tokenizer_find_token (tok, "<|user|>");
    }
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
  TemperExportRope rope;
  TemperExportTokenIds token_ids;

  if (!temper_export_rope_describe (model, &rope, error))
    return FALSE;
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
  set_arch_u32 (&e, "rope.dimension_count", temper_model_config_rope_dims (c));
  set_arch_u32 (&e, "vocab_size", n_rows);
  set_arch_f32 (&e, "rope.freq_base", c->rope_theta);
  set_arch_f32 (&e, "attention.layer_norm_rms_epsilon", c->rms_eps);
  converter_token_ids (model, &token_ids);
  if (!write_family_keys (&e, &rope, error) ||
      !temper_export_gguf_tokenizer (w, temper_model_get_tokenizer (model),
                                     temper_model_get_chat_template (model),
                                     temper_model_get_stop_tokens (model), &token_ids, n_rows,
                                     temper_model_get_path (model), error))
    return FALSE;

  if (!add_one (&e, "token_embd.weight", temper_model_get_token_embd (model), 2, -1, -1, FALSE, 0.0f, error) ||
      !add_one (&e, "output_norm.weight", temper_model_get_output_norm (model), 1, -1, -1, FALSE,
                c->norm_offset, error))
    return FALSE;
  if (!c->tied_embeddings &&
      !add_one (&e, "output.weight", temper_model_get_output (model), 2, -1, -1, FALSE, 0.0f, error))
    return FALSE;
  for (int l = 0; l < c->n_layer; l++)
    {
      if (!temper_export_step (options, 0.95 * (double) l / (double) c->n_layer, error) ||
          !add_layer (&e, l, error))
        return FALSE;
    }
  return TRUE;
}
