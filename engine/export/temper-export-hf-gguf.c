/* SPDX-License-Identifier: MIT */
/* temper-export-hf-gguf.c — a merged Hugging Face folder made from a GGUF
 * base: the weights dequantized (adapter merged in) under the family's
 * Hugging Face tensor names (temper-export-family.c), row order and norm
 * convention, config.json from the GGUF's metadata
 * (temper-export-hf-config.c), and the tokenizer rebuilt from its
 * vocabulary (temper-export-hf-tokenizer.c). */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <errno.h>
#include <string.h>
#include <json-glib/json-glib.h>

#include "temper/error.h"
#include "temper/json.h"
#include "temper/safetensors.h"
#include "temper-export-private.h"
#include "temper-tokenizer-private.h"

/* One tensor of the folder: the rows of one to three of the model's views
 * (a fused qkv_proj or gate_up_proj holds several), what it is called, and
 * how its values change on the way. */
typedef struct {
  char                   *name;     /* "model.layers.3.self_attn.q_proj.weight" */
  const TemperTensorView *views[3];
  int                     targets[3]; /* a TemperLoraTarget each, or -1 */
  int                     n_views;
  int                     layer;    /* -1 outside the layers */
  int                     n_heads;  /* > 0: undo llama.cpp's q/k row order */
  float                   shift;    /* added to every value: Gemma's norms, stored as 1 + w in a GGUF */
} HfTensor;

static void
hf_tensor_clear (gpointer p)
{
  g_free (((HfTensor *) p)->name);
}

static int64_t
tensor_rows (const HfTensor *t)
{
  int64_t rows = 0;

  for (int i = 0; i < t->n_views; i++)
    rows += t->views[i]->ne[1];
  return rows;
}

static void
add_fused (GArray *list, char *name, int n_views, const TemperTensorView *const *views,
           const int *targets, int layer, int n_heads, float shift)
{
  HfTensor t = { name, { NULL }, { -1, -1, -1 }, n_views, layer, n_heads, shift };

  if (views[0]->data == NULL)
    {
      g_free (name);
      return;   /* absent: the biases of a Llama model, a family's unused norms */
    }
  for (int i = 0; i < n_views; i++)
    {
      t.views[i] = views[i];
      t.targets[i] = targets[i];
    }
  g_array_append_val (list, t);
}

static void
add (GArray *list, char *name, const TemperTensorView *view, int layer, int target, int n_heads)
{
  add_fused (list, name, 1, &view, &target, layer, n_heads, 0.0f);
}

static void
add_norm (GArray *list, char *name, const TemperTensorView *view, float shift)
{
  int none = -1;

  add_fused (list, name, 1, &view, &none, -1, 0, shift);
}

/* The experts of MoE layer @l under the family's names. */
static void
add_experts (GArray *list, const TemperExportFamily *f, const TemperModelConfig *c,
             const TemperLayerWeights *w, int l)
{
  add (list, g_strdup_printf ("model.layers.%d.%s.weight", l, f->router), &w->ffn_gate_inp, l, -1, 0);
  for (int e = 0; e < c->n_expert; e++)
    {
      const char *patterns[3] = { f->expert_gate, f->expert_up, f->expert_down };
      const TemperTensorView *views[3] = { &w->exp_gate[e], &w->exp_up[e], &w->exp_down[e] };

      for (int p = 0; p < 3; p++)
        {
          g_autofree char *part = NULL;
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
          part = g_strdup_printf (patterns[p], e);
#pragma GCC diagnostic pop
          add (list, g_strdup_printf ("model.layers.%d.%s.weight", l, part), views[p], l, -1, 0);
        }
    }
}

static GArray *
list_tensors (const temper_model_t *model)
{
  const TemperModelConfig *c = temper_model_get_config (model);
  const TemperExportFamily *f = temper_export_family_of (model);
  GArray *list = g_array_new (FALSE, FALSE, sizeof (HfTensor));
  /* llama.cpp's converter interleaves the rotary halves of q and k rows of
   * llama-arch models; Hugging Face keeps them split. */
  gboolean permute = temper_export_qk_permuted_in_gguf (c) && c->rope_layout == TEMPER_ROPE_INTERLEAVED;
  /* A GGUF of a Gemma model stores its norms as 1 + w; Hugging Face as w. */
  float shift = c->norm_offset - f->hf_norm_offset;

  g_array_set_clear_func (list, hf_tensor_clear);
  add (list, g_strdup ("model.embed_tokens.weight"), temper_model_get_token_embd (model), -1, -1, 0);
  for (int l = 0; l < c->n_layer; l++)
    {
      const TemperLayerWeights *w = temper_model_get_layer (model, l);
      const TemperTensorView *qkv[3] = { &w->wq, &w->wk, &w->wv };
      const TemperTensorView *gate_up[2] = { &w->w_gate, &w->w_up };
      const int qkv_targets[3] = { TEMPER_LORA_Q, TEMPER_LORA_K, TEMPER_LORA_V };
      const int gate_up_targets[2] = { TEMPER_LORA_GATE, TEMPER_LORA_UP };
#define LAYER(suffix) g_strdup_printf ("model.layers.%d." suffix, l)
#define NORM(name) g_strdup_printf ("model.layers.%d.%s.weight", l, name)
      add_norm (list, LAYER ("input_layernorm.weight"), &w->attn_norm, shift);
      if (c->fused_qkv)
        add_fused (list, LAYER ("self_attn.qkv_proj.weight"), 3, qkv, qkv_targets, l, 0, 0.0f);
      else
        {
          add (list, LAYER ("self_attn.q_proj.weight"), &w->wq, l, TEMPER_LORA_Q, permute ? c->n_head : 0);
          add (list, LAYER ("self_attn.k_proj.weight"), &w->wk, l, TEMPER_LORA_K, permute ? c->n_head_kv : 0);
          add (list, LAYER ("self_attn.v_proj.weight"), &w->wv, l, TEMPER_LORA_V, 0);
          add (list, LAYER ("self_attn.q_proj.bias"), &w->bq, l, -1, permute ? c->n_head : 0);
          add (list, LAYER ("self_attn.k_proj.bias"), &w->bk, l, -1, permute ? c->n_head_kv : 0);
          add (list, LAYER ("self_attn.v_proj.bias"), &w->bv, l, -1, 0);
        }
      add_norm (list, LAYER ("self_attn.q_norm.weight"), &w->q_norm, shift);
      add_norm (list, LAYER ("self_attn.k_norm.weight"), &w->k_norm, shift);
      add (list, LAYER ("self_attn.o_proj.weight"), &w->wo, l, TEMPER_LORA_O, 0);
      if (f->attn_post_norm != NULL)
        add_norm (list, NORM (f->attn_post_norm), &w->attn_post_norm, shift);
      add_norm (list, NORM (f->ffn_norm), &w->ffn_norm, shift);
      if (f->ffn_post_norm != NULL)
        add_norm (list, NORM (f->ffn_post_norm), &w->ffn_post_norm, shift);
      if (temper_model_layer_is_moe (w))
        add_experts (list, f, c, w, l);
      else
        {
          if (c->fused_gate_up)
            add_fused (list, LAYER ("mlp.gate_up_proj.weight"), 2, gate_up, gate_up_targets, l, 0, 0.0f);
          else
            {
              add (list, LAYER ("mlp.gate_proj.weight"), &w->w_gate, l, TEMPER_LORA_GATE, 0);
              add (list, LAYER ("mlp.up_proj.weight"), &w->w_up, l, TEMPER_LORA_UP, 0);
            }
          add (list, LAYER ("mlp.down_proj.weight"), &w->w_down, l, TEMPER_LORA_DOWN, 0);
        }
#undef NORM
#undef LAYER
    }
  add_norm (list, g_strdup ("model.norm.weight"), temper_model_get_output_norm (model), shift);
  if (!c->tied_embeddings)
    add (list, g_strdup ("lm_head.weight"), temper_model_get_output (model), -1, -1, 0);
  return list;
}

/* Rows (of @width floats) from llama.cpp's order back to Hugging Face's:
 * within each head of @head_rows rows, GGUF row 2i + j is HF row
 * j·head_rows/2 + i. */
static void
unpermute_rows (const float *gguf, float *hf, int64_t rows, int64_t width, int n_heads)
{
  int64_t head_rows = rows / n_heads, half = head_rows / 2;

  for (int64_t h = 0; h < n_heads; h++)
    for (int64_t i = 0; i < half; i++)
      for (int j = 0; j < 2; j++)
        memcpy (hf + (h * head_rows + j * half + i) * width,
                gguf + (h * head_rows + 2 * i + j) * width, (gsize) width * sizeof (float));
}

/* @t as @dtype ("BF16" or "F32"), merged with @adapter where it adapts it;
 * a new buffer of *@n_bytes bytes. */
static guint8 *
convert (const HfTensor *t, temper_adapter_t *adapter, const char *dtype, gsize *n_bytes,
         GError **error)
{
  int64_t width = t->views[0]->ne[0], rows = tensor_rows (t);
  gsize n = (gsize) (width * rows);
  g_autofree float *f32 = g_try_new (float, MAX (n, 1));
  guint8 *out;
  int64_t first = 0;

  if (f32 == NULL)
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_OUT_OF_MEMORY,
                   _("Not enough memory to convert tensor %s."), t->name);
      return NULL;
    }
  /* The adapter was trained on this model's own (GGUF) row order, so it is
   * merged before the rows are reordered. */
  for (int i = 0; i < t->n_views; i++)
    {
      temper_export_merge_weight (t->views[i], t->targets[i] >= 0 ? adapter : NULL, t->layer,
                                  t->targets[i] >= 0 ? (TemperLoraTarget) t->targets[i] : TEMPER_LORA_Q,
                                  f32 + first * width);
      first += t->views[i]->ne[1];
    }
  if (t->shift != 0.0f)
    for (gsize i = 0; i < n; i++)
      f32[i] += t->shift;
  if (t->n_heads > 0)
    {
      /* A bias is one row of ne[0] values: each value is a row of width 1. */
      gboolean bias = rows == 1;
      g_autofree float *hf = g_new (float, MAX (n, 1));

      unpermute_rows (f32, hf, bias ? width : rows, bias ? 1 : width, t->n_heads);
      memcpy (f32, hf, n * sizeof (float));
    }
  if (strcmp (dtype, "F32") == 0)
    {
      *n_bytes = n * 4;
      return (guint8 *) g_steal_pointer (&f32);
    }
  out = g_malloc (MAX (n * 2, 1));
  for (gsize i = 0; i < n; i++)
    ((guint16 *) out)[i] = temper_f32_to_bf16 (f32[i]);
  *n_bytes = n * 2;
  return out;
}

static gboolean
write_json_file (JsonNode *root, const char *dir, const char *name, GError **error)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autofree char *text = NULL;
  g_autoptr(GError) local = NULL;

  /* tokenizer.json holds every token: some are control bytes. */
  text = temper_json_to_text (root, TRUE, NULL);
  if (!g_file_set_contents (path, text, -1, &local))
    {
      temper_set_error_from_errno (error, local->code == G_FILE_ERROR_NOSPC ? ENOSPC : EIO,
                                   _("Could not write “%s”"), path);
      return FALSE;
    }
  return TRUE;
}

static gboolean
write_weights (const temper_model_t *model, temper_adapter_t *adapter, const char *dtype,
               guint64 max_shard_bytes, const char *dir, const TemperExportOptions *options,
               GError **error)
{
  g_autoptr(GArray) list = list_tensors (model);
  g_autofree guint *shard_of = g_new0 (guint, MAX (list->len, 1));
  g_autoptr(JsonBuilder) index = json_builder_new ();
  g_autoptr(JsonNode) index_root = NULL;
  guint n_shards = 1, done = 0;
  guint64 shard_size = 0, total = 0;
  gsize elem = strcmp (dtype, "F32") == 0 ? 4 : 2;

  for (guint i = 0; i < list->len; i++)
    {
      const HfTensor *t = &g_array_index (list, HfTensor, i);
      guint64 size = (guint64) t->views[0]->ne[0] * (guint64) tensor_rows (t) * elem;

      if (shard_size > 0 && shard_size + size > max_shard_bytes)
        n_shards++, shard_size = 0;
      shard_of[i] = n_shards - 1;
      shard_size += size;
      total += size;
    }

  json_builder_begin_object (index);
  json_builder_set_member_name (index, "metadata");
  json_builder_begin_object (index);
  json_builder_set_member_name (index, "total_size");
  json_builder_add_int_value (index, (gint64) total);
  json_builder_end_object (index);
  json_builder_set_member_name (index, "weight_map");
  json_builder_begin_object (index);
  for (guint s = 0; s < n_shards; s++)
    {
      g_autoptr(temper_safetensors_writer_t) w = temper_safetensors_writer_new ();
      g_autoptr(GPtrArray) owned = g_ptr_array_new_with_free_func (g_free);
      g_autofree char *file = n_shards == 1
        ? g_strdup ("model.safetensors")
        : g_strdup_printf ("model-%05u-of-%05u.safetensors", s + 1, n_shards);
      g_autofree char *path = g_build_filename (dir, file, NULL);

      for (guint i = 0; i < list->len; i++)
        {
          const HfTensor *t = &g_array_index (list, HfTensor, i);
          int64_t shape[2];
          gsize n_bytes = 0;
          guint8 *data;
          int64_t rows = tensor_rows (t);
          int n_dims = rows == 1 ? 1 : 2;

          if (shard_of[i] != s)
            continue;
          if (!temper_export_step (options, 0.9 * done++ / MAX (list->len, 1), error))
            return FALSE;
          data = convert (t, adapter, dtype, &n_bytes, error);
          if (data == NULL)
            return FALSE;
          g_ptr_array_add (owned, data);
          /* Row-major, slowest first: {out, in} for a matrix. */
          shape[0] = n_dims == 1 ? t->views[0]->ne[0] : rows;
          shape[1] = t->views[0]->ne[0];
          temper_safetensors_writer_add_tensor_static (w, t->name, dtype, shape, n_dims, data, n_bytes);
          json_builder_set_member_name (index, t->name);
          json_builder_add_string_value (index, file);
        }
      if (!temper_safetensors_writer_write (w, path, error))
        return FALSE;
    }
  json_builder_end_object (index);
  json_builder_end_object (index);
  index_root = json_builder_get_root (index);
  return n_shards == 1 || write_json_file (index_root, dir, "model.safetensors.index.json", error);
}

/* generation_config.json: every stop token the model has. */
static JsonNode *
generation_config_json (const temper_model_t *model)
{
  const temper_tokenizer_t *tok = temper_model_get_tokenizer (model);
  g_autoptr(JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
  if (tok->bos >= 0)
    {
      json_builder_set_member_name (b, "bos_token_id");
      json_builder_add_int_value (b, tok->bos);
    }
  json_builder_set_member_name (b, "eos_token_id");
  json_builder_begin_array (b);
  for (const int *s = temper_model_get_stop_tokens (model); s != NULL && *s >= 0; s++)
    json_builder_add_int_value (b, *s);
  json_builder_end_array (b);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

gboolean
temper_export_hf_files_from_gguf (const temper_model_t *model, temper_adapter_t *adapter,
                                  const char *dtype, guint64 max_shard_bytes, const char *dir,
                                  const TemperExportOptions *options, GError **error)
{
  const temper_tokenizer_t *tok = temper_model_get_tokenizer (model);
  g_autoptr(JsonNode) config = temper_export_hf_config_json (model, dtype, error);
  g_autoptr(JsonNode) generation = generation_config_json (model);
  g_autoptr(JsonNode) tokenizer = NULL;
  g_autoptr(JsonNode) tokenizer_config = NULL;

  if (config == NULL)
    return FALSE;
  tokenizer = temper_export_tokenizer_json (tok, temper_model_get_path (model), error);
  if (tokenizer == NULL)
    return FALSE;
  tokenizer_config = temper_export_tokenizer_config_json (tok, temper_model_get_chat_template (model),
                                                          temper_model_get_config (model)->n_ctx_train);
  return write_json_file (config, dir, "config.json", error)
         && write_json_file (generation, dir, "generation_config.json", error)
         && write_json_file (tokenizer, dir, "tokenizer.json", error)
         && write_json_file (tokenizer_config, dir, "tokenizer_config.json", error)
         && write_weights (model, adapter, dtype, max_shard_bytes, dir, options, error);
}
