/* SPDX-License-Identifier: MIT */
/* temper-export-hf-gguf.c — a merged Hugging Face folder made from a GGUF
 * base: the weights dequantized (adapter merged in) under Hugging Face's
 * tensor names and row order, config.json from the GGUF's metadata, and
 * the tokenizer rebuilt from its vocabulary (temper-export-gguf-tokenizer.c). */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <errno.h>
#include <string.h>
#include <json-glib/json-glib.h>

#include "temper/error.h"
#include "temper/safetensors.h"
#include "temper-export-private.h"
#include "temper-tokenizer-private.h"

/* One tensor of the folder: where it comes from and what it is called. */
typedef struct {
  char                   *name;     /* "model.layers.3.self_attn.q_proj.weight" */
  const TemperTensorView *view;
  int                     layer;    /* -1 outside the layers */
  int                     target;   /* a TemperLoraTarget, or -1 */
  int                     n_heads;  /* > 0: undo llama.cpp's q/k row order */
} HfTensor;

static void
hf_tensor_clear (gpointer p)
{
  g_free (((HfTensor *) p)->name);
}

static void
add (GArray *list, char *name, const TemperTensorView *view, int layer, int target, int n_heads)
{
  HfTensor t = { name, view, layer, target, n_heads };

  if (view->data == NULL)
    {
      g_free (name);
      return;   /* absent: the biases of a Llama model */
    }
  g_array_append_val (list, t);
}

static GArray *
list_tensors (const temper_model_t *model)
{
  const TemperModelConfig *c = temper_model_get_config (model);
  GArray *list = g_array_new (FALSE, FALSE, sizeof (HfTensor));
  /* llama.cpp's converter interleaves the rotary halves of q and k rows of
   * llama-arch models; Hugging Face keeps them split. */
  gboolean permute = c->rope_layout == TEMPER_ROPE_INTERLEAVED;

  g_array_set_clear_func (list, hf_tensor_clear);
  add (list, g_strdup ("model.embed_tokens.weight"), temper_model_get_token_embd (model), -1, -1, 0);
  for (int l = 0; l < c->n_layer; l++)
    {
      const TemperLayerWeights *w = temper_model_get_layer (model, l);
#define LAYER(suffix) g_strdup_printf ("model.layers.%d." suffix, l)
      add (list, LAYER ("input_layernorm.weight"), &w->attn_norm, l, -1, 0);
      add (list, LAYER ("self_attn.q_proj.weight"), &w->wq, l, TEMPER_LORA_Q, permute ? c->n_head : 0);
      add (list, LAYER ("self_attn.k_proj.weight"), &w->wk, l, TEMPER_LORA_K, permute ? c->n_head_kv : 0);
      add (list, LAYER ("self_attn.v_proj.weight"), &w->wv, l, TEMPER_LORA_V, 0);
      add (list, LAYER ("self_attn.q_proj.bias"), &w->bq, l, -1, permute ? c->n_head : 0);
      add (list, LAYER ("self_attn.k_proj.bias"), &w->bk, l, -1, permute ? c->n_head_kv : 0);
      add (list, LAYER ("self_attn.v_proj.bias"), &w->bv, l, -1, 0);
      add (list, LAYER ("self_attn.o_proj.weight"), &w->wo, l, TEMPER_LORA_O, 0);
      add (list, LAYER ("post_attention_layernorm.weight"), &w->ffn_norm, l, -1, 0);
      add (list, LAYER ("mlp.gate_proj.weight"), &w->w_gate, l, TEMPER_LORA_GATE, 0);
      add (list, LAYER ("mlp.up_proj.weight"), &w->w_up, l, TEMPER_LORA_UP, 0);
      add (list, LAYER ("mlp.down_proj.weight"), &w->w_down, l, TEMPER_LORA_DOWN, 0);
#undef LAYER
    }
  add (list, g_strdup ("model.norm.weight"), temper_model_get_output_norm (model), -1, -1, 0);
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
  const TemperTensorView *v = t->view;
  gsize n = (gsize) (v->ne[0] * v->ne[1]);
  g_autofree float *f32 = g_try_new (float, MAX (n, 1));
  guint8 *out;

  if (f32 == NULL)
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_OUT_OF_MEMORY,
                   _("Not enough memory to convert tensor %s."), t->name);
      return NULL;
    }
  /* The adapter was trained on this model's own (GGUF) row order, so it is
   * merged before the rows are reordered. */
  temper_export_merge_weight (v, t->target >= 0 ? adapter : NULL, t->layer,
                              t->target >= 0 ? (TemperLoraTarget) t->target : TEMPER_LORA_Q, f32);
  if (t->n_heads > 0)
    {
      /* A bias is one row of ne[0] values: each value is a row of width 1. */
      gboolean bias = v->ne[1] == 1;
      int64_t rows = bias ? v->ne[0] : v->ne[1], width = bias ? 1 : v->ne[0];
      g_autofree float *hf = g_new (float, MAX (n, 1));

      unpermute_rows (f32, hf, rows, width, t->n_heads);
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
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autofree char *text = NULL;
  g_autoptr(GError) local = NULL;

  json_generator_set_root (gen, root);
  json_generator_set_pretty (gen, TRUE);
  text = json_generator_to_data (gen, NULL);
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
      const TemperTensorView *v = g_array_index (list, HfTensor, i).view;
      guint64 size = (guint64) v->ne[0] * (guint64) v->ne[1] * elem;

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
          int n_dims = t->view->ne[1] == 1 ? 1 : 2;

          if (shard_of[i] != s)
            continue;
          if (!temper_export_step (options, 0.9 * done++ / MAX (list->len, 1), error))
            return FALSE;
          data = convert (t, adapter, dtype, &n_bytes, error);
          if (data == NULL)
            return FALSE;
          g_ptr_array_add (owned, data);
          /* Row-major, slowest first: {out, in} for a matrix. */
          shape[0] = n_dims == 1 ? t->view->ne[0] : t->view->ne[1];
          shape[1] = t->view->ne[0];
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

static void
set_int (JsonBuilder *b, const char *key, gint64 value)
{
  json_builder_set_member_name (b, key);
  json_builder_add_int_value (b, value);
}

static void
set_string (JsonBuilder *b, const char *key, const char *value)
{
  json_builder_set_member_name (b, key);
  json_builder_add_string_value (b, value);
}

static void
set_bool (JsonBuilder *b, const char *key, gboolean value)
{
  json_builder_set_member_name (b, key);
  json_builder_add_boolean_value (b, value);
}

static void
set_float (JsonBuilder *b, const char *key, float value)
{
  /* The shortest decimal that reads back as the same float. */
  char text[32];

  g_snprintf (text, sizeof text, "%.9g", (double) value);
  json_builder_set_member_name (b, key);
  json_builder_add_double_value (b, g_ascii_strtod (text, NULL));
}

/* config.json for transformers' LlamaForCausalLM / Qwen2ForCausalLM. */
static JsonNode *
config_json (const temper_model_t *model, const char *dtype)
{
  const TemperModelConfig *c = temper_model_get_config (model);
  const temper_tokenizer_t *tok = temper_model_get_tokenizer (model);
  gboolean qwen2 = c->arch == TEMPER_ARCH_QWEN2;
  const char *dtype_name = strcmp (dtype, "F32") == 0 ? "float32" : "bfloat16";
  g_autoptr(JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "architectures");
  json_builder_begin_array (b);
  json_builder_add_string_value (b, qwen2 ? "Qwen2ForCausalLM" : "LlamaForCausalLM");
  json_builder_end_array (b);
  set_string (b, "model_type", qwen2 ? "qwen2" : "llama");
  set_int (b, "hidden_size", c->n_embd);
  set_int (b, "intermediate_size", c->n_ff);
  set_int (b, "num_hidden_layers", c->n_layer);
  set_int (b, "num_attention_heads", c->n_head);
  set_int (b, "num_key_value_heads", c->n_head_kv);
  set_int (b, "head_dim", c->head_dim);
  set_int (b, "max_position_embeddings", c->n_ctx_train);
  set_float (b, "rms_norm_eps", c->rms_eps);
  set_float (b, "rope_theta", c->rope_theta);
  set_int (b, "vocab_size", c->n_vocab);
  set_bool (b, "tie_word_embeddings", c->tied_embeddings);
  set_string (b, "hidden_act", "silu");
  if (qwen2)
    set_bool (b, "use_sliding_window", FALSE);
  else
    {
      set_bool (b, "attention_bias", c->qkv_bias);
      set_bool (b, "mlp_bias", FALSE);
    }
  if (tok->bos >= 0)
    set_int (b, "bos_token_id", tok->bos);
  if (tok->eos >= 0)
    set_int (b, "eos_token_id", tok->eos);
  /* transformers 5 reads "dtype", 4.x "torch_dtype". */
  set_string (b, "dtype", dtype_name);
  set_string (b, "torch_dtype", dtype_name);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

/* generation_config.json: every stop token the model has. */
static JsonNode *
generation_config_json (const temper_model_t *model)
{
  const temper_tokenizer_t *tok = temper_model_get_tokenizer (model);
  g_autoptr(JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
  if (tok->bos >= 0)
    set_int (b, "bos_token_id", tok->bos);
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
  g_autoptr(JsonNode) config = config_json (model, dtype);
  g_autoptr(JsonNode) generation = generation_config_json (model);
  g_autoptr(JsonNode) tokenizer = NULL;
  g_autoptr(JsonNode) tokenizer_config = NULL;

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
