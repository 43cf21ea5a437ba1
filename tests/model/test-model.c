/* SPDX-License-Identifier: MIT */
/* test-model.c — temper_model_load on GGUF files and Hugging Face folders.
 *
 * The tiny models are written here (tiny-model.h); the demo model is checked
 * against what the gguf Python package read from it (demo-model.json). */
#include "config.h"

#include <stdio.h>

#include <json-glib/json-glib.h>

#include "temper/error.h"
#include "temper/model.h"
#include "temper/tokenizer.h"
#include "tiny-model.h"

typedef struct {
  char *dir;
} Tmp;

static void
tmp_setup (Tmp *t, gconstpointer data)
{
  t->dir = model_test_tmpdir ();
}

static void
tmp_teardown (Tmp *t, gconstpointer data)
{
  test_remove_tree (t->dir);
  g_free (t->dir);
}

static gboolean
stops_contain (const int *stops, int id)
{
  for (int i = 0; stops[i] != -1; i++)
    if (stops[i] == id)
      return TRUE;
  return FALSE;
}

static int
stops_count (const int *stops)
{
  int n = 0;
  while (stops[n] != -1)
    n++;
  return n;
}

/* Parameters of a TinySpec model, counted from its shapes. */
static guint64
tiny_n_params (const TinySpec *s)
{
  guint64 hd = (guint64) (s->n_embd / s->n_head);
  guint64 q = (guint64) s->n_head * hd, kv = (guint64) s->n_head_kv * hd;
  guint64 per_layer = 2 * (guint64) s->n_embd + (guint64) s->n_embd * (q + 2 * kv) + q * (guint64) s->n_embd
                      + 3 * (guint64) s->n_embd * (guint64) s->n_ff + (s->biases ? q + 2 * kv : 0);

  return (guint64) s->n_vocab * (guint64) s->n_embd * (s->untied ? 2 : 1)
         + (guint64) s->n_embd + (guint64) s->n_layer * per_layer;
}

static temper_model_t *
load_expecting (const char *path, int code, const char *needle)
{
  g_autoptr(GError) error = NULL;
  temper_model_t *model = temper_model_load (path, NULL, &error);

  if (code < 0)
    {
      g_assert_no_error (error);
      g_assert_nonnull (model);
      return model;
    }
  g_assert_null (model);
  g_assert_nonnull (error);
  g_test_message ("%s", error->message);
  g_assert_error (error, TEMPER_ERROR, code);
  if (needle != NULL && strstr (error->message, needle) == NULL)
    g_test_message ("expected “%s” in that message", needle);
  g_assert_true (needle == NULL || strstr (error->message, needle) != NULL);
  return NULL;
}

/* ---- GGUF -------------------------------------------------------------- */

static void
test_gguf_llama (Tmp *t, gconstpointer data)
{
  g_autofree char *path = g_build_filename (t->dir, "tiny.gguf", NULL);
  TinySpec s = tiny_spec_default ("llama");
  g_autoptr(temper_model_t) model = NULL;
  g_autoptr(temper_gguf_t) gguf = NULL;
  const TemperModelConfig *c;
  const TemperLayerWeights *layer;
  TemperTensorView wq;

  tiny_write_gguf (path, &s);
  model = load_expecting (path, -1, NULL);
  c = temper_model_get_config (model);
  g_assert_cmpint (c->arch, ==, TEMPER_ARCH_LLAMA);
  g_assert_cmpint (c->rope_layout, ==, TEMPER_ROPE_INTERLEAVED);
  g_assert_cmpint (c->n_layer, ==, 2);
  g_assert_cmpint (c->n_embd, ==, 32);
  g_assert_cmpint (c->n_ff, ==, 64);
  g_assert_cmpint (c->n_head, ==, 4);
  g_assert_cmpint (c->n_head_kv, ==, 2);
  g_assert_cmpint (c->head_dim, ==, 8);
  g_assert_cmpint (c->n_vocab, ==, TINY_N_TOKENS);
  g_assert_cmpint (c->n_ctx_train, ==, 256);
  g_assert_cmpfloat (c->rope_theta, ==, 100000.0f);
  g_assert_cmpfloat (c->rms_eps, ==, 1e-5f);
  g_assert_false (c->qkv_bias);
  g_assert_true (c->tied_embeddings);

  g_assert_cmpint (temper_model_get_format (model), ==, TEMPER_MODEL_FORMAT_GGUF);
  g_assert_cmpstr (temper_model_get_name (model), ==, "Tiny Test Model");
  g_assert_cmpstr (temper_model_get_arch_name (model), ==, "llama");
  g_assert_cmpstr (temper_model_get_quantization (model), ==, "Q8_0");
  g_assert_cmpuint (temper_model_get_n_params (model), ==, tiny_n_params (&s));
  g_assert_nonnull (temper_model_get_chat_template (model));

  /* The views point into the file, at the same bytes the reader sees. */
  gguf = temper_gguf_open (path, NULL);
  g_assert_true (temper_gguf_find_tensor (gguf, "blk.1.attn_q.weight", &wq));
  layer = temper_model_get_layer (model, 1);
  g_assert_cmpint (layer->wq.type, ==, TEMPER_TYPE_Q8_0);
  g_assert_cmpint (layer->wq.ne[0], ==, 32);
  g_assert_cmpint (layer->wq.ne[1], ==, 32);
  g_assert_cmpint (layer->wk.ne[1], ==, 16);
  g_assert_cmpint (layer->w_down.ne[0], ==, 64);
  g_assert_cmpint (layer->attn_norm.ne[1], ==, 1);
  g_assert_null (layer->bq.data);
  g_assert_cmpmem (layer->wq.data, 32 * 34, wq.data, 32 * 34);
  g_assert_true (temper_model_get_output (model)->data == temper_model_get_token_embd (model)->data);
  g_assert_cmpint (temper_model_get_token_embd (model)->type, ==, TEMPER_TYPE_F16);

  /* EOS, then <|endoftext|>: both special tokens of the vocabulary. */
  g_assert_cmpint (temper_model_get_stop_tokens (model)[0], ==, TINY_IM_END);
  g_assert_true (stops_contain (temper_model_get_stop_tokens (model), TINY_ENDOFTEXT));
  g_assert_cmpint (stops_count (temper_model_get_stop_tokens (model)), ==, 2);
  g_assert_cmpint (temper_tokenizer_get_bos (temper_model_get_tokenizer (model)), ==, TINY_IM_START);
}

static void
test_gguf_qwen2 (Tmp *t, gconstpointer data)
{
  g_autofree char *path = g_build_filename (t->dir, "qwen.gguf", NULL);
  TinySpec s = tiny_spec_default ("qwen2");
  g_autoptr(temper_model_t) model = NULL;
  const TemperModelConfig *c;
  const TemperLayerWeights *layer;

  s.biases = TRUE;
  s.untied = TRUE;
  s.matrix_type = TEMPER_TYPE_Q4_0;
  tiny_write_gguf (path, &s);
  model = load_expecting (path, -1, NULL);
  c = temper_model_get_config (model);
  g_assert_cmpint (c->arch, ==, TEMPER_ARCH_QWEN2);
  g_assert_cmpint (c->rope_layout, ==, TEMPER_ROPE_HALVES);
  g_assert_true (c->qkv_bias);
  g_assert_false (c->tied_embeddings);
  layer = temper_model_get_layer (model, 0);
  g_assert_nonnull (layer->bq.data);
  g_assert_cmpint (layer->bq.ne[0], ==, 32);
  g_assert_cmpint (layer->bk.ne[0], ==, 16);
  g_assert_cmpint (layer->bv.ne[1], ==, 1);
  g_assert_true (temper_model_get_output (model)->data != temper_model_get_token_embd (model)->data);
  g_assert_cmpint (temper_model_get_output (model)->ne[1], ==, TINY_N_TOKENS);
  g_assert_cmpstr (temper_model_get_quantization (model), ==, "Q4_0");
  g_assert_cmpuint (temper_model_get_n_params (model), ==, tiny_n_params (&s));
  g_clear_pointer (&model, temper_model_free);

  /* The file's own name for its quantization wins over the most common
   * block type: llama.cpp's Q4_K_M files hold Q5_0 and Q6_K blocks too. */
  s.file_type = 15;
  tiny_write_gguf (path, &s);
  model = load_expecting (path, -1, NULL);
  g_assert_cmpstr (temper_model_get_quantization (model), ==, "Q4_K_M");
}

static void
test_gguf_broken (Tmp *t, gconstpointer data)
{
  g_autofree char *path = g_build_filename (t->dir, "broken.gguf", NULL);
  TinySpec s;

  s = tiny_spec_default ("llama");
  s.skip_tensor = "blk.1.ffn_up.weight";
  tiny_write_gguf (path, &s);
  load_expecting (path, TEMPER_ERROR_INVALID_FILE, "missing tensor blk.1.ffn_up.weight");

  /* A family Temper does not run is named, with the nearest one it runs. */
  s = tiny_spec_default ("deepseek2");
  tiny_write_gguf (path, &s);
  load_expecting (path, TEMPER_ERROR_UNSUPPORTED, "DeepSeek-V2/V3");
  load_expecting (path, TEMPER_ERROR_UNSUPPORTED, "DeepSeek-R1 distill");
  /* Qwen3-MoE is opened now: a file without its expert count is damaged. */
  s = tiny_spec_default ("qwen3moe");
  tiny_write_gguf (path, &s);
  load_expecting (path, TEMPER_ERROR_INVALID_FILE, "qwen3moe.expert_count");
  s = tiny_spec_default ("falcon");
  tiny_write_gguf (path, &s);
  load_expecting (path, TEMPER_ERROR_UNSUPPORTED, "“falcon”");
  load_expecting (path, TEMPER_ERROR_UNSUPPORTED, "Gemma 3");

  /* The tokenizer refuses an id past its own list… */
  s = tiny_spec_default ("llama");
  s.bos_id = 5000;
  tiny_write_gguf (path, &s);
  load_expecting (path, TEMPER_ERROR_INVALID_FILE, "bos_token_id");

  /* …and the model refuses a tokenizer larger than its embedding. */
  s = tiny_spec_default ("llama");
  s.n_vocab = 200;
  s.bos_id = 1;
  tiny_write_gguf (path, &s);
  load_expecting (path, TEMPER_ERROR_INVALID_FILE, "vocabulary id out of range");

  /* Weights in a type Temper cannot compute with. */
  s = tiny_spec_default ("llama");
  s.n_embd = 256;
  s.n_head = 4;
  s.n_head_kv = 4;
  s.n_ff = 256;
  s.n_layer = 1;
  s.matrix_type = 16;
  tiny_write_gguf (path, &s);
  load_expecting (path, TEMPER_ERROR_UNSUPPORTED, "IQ2_XXS");

  /* Not a model at all. */
  model_test_write (path, "hello", 5);
  load_expecting (path, TEMPER_ERROR_INVALID_FILE, "not a GGUF");
  load_expecting ("/nonexistent/model.gguf", TEMPER_ERROR_IO, "does not exist");
}

static void
test_gguf_wrong_shape (Tmp *t, gconstpointer data)
{
  g_autofree char *path = g_build_filename (t->dir, "shape.gguf", NULL);
  g_autoptr(temper_gguf_writer_t) w = temper_gguf_writer_new ();
  g_autoptr(temper_gguf_t) src = NULL;
  TinySpec s = tiny_spec_default ("llama");

  /* Copy a valid tiny model but give blk.0.ffn_down.weight the up
   * projection's shape. */
  tiny_write_gguf (path, &s);
  src = temper_gguf_open (path, NULL);
  for (guint64 i = 0; i < temper_gguf_get_n_kv (src); i++)
    {
      const char *key = temper_gguf_get_key (src, i);
      TemperGgufValueType type;
      guint32 u;
      float f;
      gboolean b;
      g_autofree char *str = NULL;

      temper_gguf_get_value_type (src, key, &type);
      if (type == TEMPER_GGUF_UINT32 && temper_gguf_get_u32 (src, key, &u))
        temper_gguf_writer_set_u32 (w, key, u);
      else if (type == TEMPER_GGUF_FLOAT32 && temper_gguf_get_f32 (src, key, &f))
        temper_gguf_writer_set_f32 (w, key, f);
      else if (type == TEMPER_GGUF_BOOL && temper_gguf_get_bool (src, key, &b))
        temper_gguf_writer_set_bool (w, key, b);
      else if ((str = temper_gguf_dup_string (src, key)) != NULL)
        temper_gguf_writer_set_string (w, key, str);
      else
        {
          TemperGgufValueType elem;
          guint64 count;
          temper_gguf_get_array_info (src, key, &elem, &count);
          if (elem == TEMPER_GGUF_STRING)
            {
              g_autoptr(GPtrArray) strs = g_ptr_array_new_with_free_func (g_free);
              for (guint64 j = 0; j < count; j++)
                {
                  TemperGgufString gs = temper_gguf_get_array_string (src, key, j);
                  g_ptr_array_add (strs, g_strndup (gs.data, gs.len));
                }
              temper_gguf_writer_set_string_array (w, key, (const char *const *) strs->pdata, count);
            }
          else
            temper_gguf_writer_set_i32_array (w, key, temper_gguf_get_array_data (src, key), count);
        }
    }
  for (guint64 i = 0; i < temper_gguf_get_n_tensors (src); i++)
    {
      TemperTensorView v;
      int64_t ne[4];
      guint32 n_dims;
      guint64 n_bytes;

      temper_gguf_get_tensor (src, i, &v);
      temper_gguf_get_tensor_shape (src, i, ne, &n_dims, &n_bytes);
      if (strcmp (v.name, "blk.0.ffn_down.weight") == 0)
        {
          ne[0] = 32;
          ne[1] = 64;
        }
      temper_gguf_writer_add_tensor (w, v.name, v.type, ne, (int) n_dims, v.data, n_bytes);
    }
  g_clear_pointer (&src, temper_gguf_close);
  g_assert_true (temper_gguf_writer_write (w, path, NULL));
  load_expecting (path, TEMPER_ERROR_INVALID_FILE, "blk.0.ffn_down.weight of shape [32, 64]");
}

static void
test_cancelled (Tmp *t, gconstpointer data)
{
  g_autofree char *path = g_build_filename (t->dir, "tiny.gguf", NULL);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  TinySpec s = tiny_spec_default ("llama");

  tiny_write_gguf (path, &s);
  g_cancellable_cancel (cancellable);
  g_assert_null (temper_model_load (path, cancellable, &error));
  g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_CANCELLED);
}

static void
test_demo_model (void)
{
  g_autofree char *path = model_test_demo_path ();
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GBytes) json = NULL;
  g_autoptr(temper_model_t) model = NULL;
  const TemperModelConfig *c;
  JsonObject *facts, *u32, *tensors;
  GList *names;
  guint64 n_params = 0;

  if (path == NULL)
    return;
  json = model_test_fixture ("demo-model.json");
  g_assert_true (json_parser_load_from_data (parser, g_bytes_get_data (json, NULL),
                                             (gssize) g_bytes_get_size (json), NULL));
  facts = json_node_get_object (json_parser_get_root (parser));
  u32 = json_object_get_object_member (facts, "u32");
  tensors = json_object_get_object_member (facts, "tensors");

  model = load_expecting (path, -1, NULL);
  c = temper_model_get_config (model);
  g_assert_cmpint (c->n_layer, ==, json_object_get_int_member (u32, "llama.block_count"));
  g_assert_cmpint (c->n_embd, ==, json_object_get_int_member (u32, "llama.embedding_length"));
  g_assert_cmpint (c->n_head, ==, json_object_get_int_member (u32, "llama.attention.head_count"));
  g_assert_cmpint (c->n_head_kv, ==, json_object_get_int_member (u32, "llama.attention.head_count_kv"));
  g_assert_cmpint (c->n_ff, ==, json_object_get_int_member (u32, "llama.feed_forward_length"));
  g_assert_cmpint (c->n_ctx_train, ==, json_object_get_int_member (u32, "llama.context_length"));
  g_assert_cmpint (c->n_vocab, ==, json_object_get_int_member (facts, "n_vocab_tokens"));
  g_assert_cmpint (c->head_dim, ==, 64);
  g_assert_cmpint (c->rope_layout, ==, TEMPER_ROPE_INTERLEAVED);
  g_assert_true (c->tied_embeddings);
  g_assert_cmpfloat (c->rope_theta, ==, 100000.0f);

  names = json_object_get_members (tensors);
  for (GList *l = names; l != NULL; l = l->next)
    {
      JsonArray *ne = json_object_get_array_member (json_object_get_object_member (tensors, l->data), "ne");
      guint64 n = 1;
      for (guint d = 0; d < json_array_get_length (ne); d++)
        n *= (guint64) json_array_get_int_element (ne, d);
      n_params += n;
    }
  g_list_free (names);
  g_assert_cmpuint (temper_model_get_n_params (model), ==, n_params);
  g_assert_cmpstr (temper_model_get_quantization (model), ==, "Q4_1");
  {
    /* gguf-py counts 106,168,320 Q4_1 and 28,311,552 Q8_0 matrix weights. */
    g_autofree char *described = temper_model_describe_quantization (model);
    g_assert_cmpstr (described, ==, "Q4_1 (Q4_1 79 %, Q8_0 21 %)");
  }
  g_assert_cmpstr (temper_model_get_name (model), ==,
                   json_object_get_string_member (json_object_get_object_member (facts, "strings"), "general.name"));
  g_assert_nonnull (temper_model_get_chat_template (model));
  g_assert_cmpint (temper_model_get_stop_tokens (model)[0], ==,
                   json_object_get_int_member (u32, "tokenizer.ggml.eos_token_id"));
  g_assert_true (stops_contain (temper_model_get_stop_tokens (model), 0));   /* <|endoftext|> */
  g_assert_cmpint (temper_model_get_layer (model, 29)->w_down.type, ==, TEMPER_TYPE_Q4_1);
  g_assert_cmpint (temper_model_get_token_embd (model)->type, ==, TEMPER_TYPE_Q8_0);
  g_assert_cmpuint (temper_model_get_file_size (model), ==, 98362432);
}

/* ---- Hugging Face folders ---------------------------------------------- */

static void
test_hf_llama (Tmp *t, gconstpointer data)
{
  g_autofree char *dir = g_build_filename (t->dir, "TinyLlama-HF", NULL);
  g_autofree char *weights = NULL;
  TinySpec s = tiny_spec_default ("llama");
  g_autoptr(temper_model_t) model = NULL;
  g_autoptr(temper_safetensors_t) st = NULL;
  const TemperModelConfig *c;
  const TemperLayerWeights *layer;
  TemperSafetensorsInfo info;

  tiny_write_hf_folder (dir, &s, "LlamaForCausalLM",
                        "\"rope_parameters\": {\"rope_theta\": 50000.0, \"rope_type\": \"default\"}", FALSE);
  model = load_expecting (dir, -1, NULL);
  c = temper_model_get_config (model);
  g_assert_cmpint (temper_model_get_format (model), ==, TEMPER_MODEL_FORMAT_HF_FOLDER);
  g_assert_cmpint (c->arch, ==, TEMPER_ARCH_LLAMA);
  g_assert_cmpint (c->rope_layout, ==, TEMPER_ROPE_HALVES);
  g_assert_cmpfloat (c->rope_theta, ==, 50000.0f);
  g_assert_cmpfloat (c->rms_eps, ==, 1e-5f);
  g_assert_cmpint (c->n_head_kv, ==, 2);
  g_assert_cmpint (c->head_dim, ==, 8);
  g_assert_cmpint (c->n_vocab, ==, TINY_N_TOKENS);
  g_assert_true (c->tied_embeddings);
  g_assert_false (c->qkv_bias);
  g_assert_cmpstr (temper_model_get_name (model), ==, "TinyLlama-HF");
  g_assert_cmpstr (temper_model_get_arch_name (model), ==, "llama");
  g_assert_cmpstr (temper_model_get_quantization (model), ==, "BF16");
  g_assert_cmpuint (temper_model_get_n_params (model), ==, tiny_n_params (&s));
  g_assert_nonnull (temper_model_get_chat_template (model));
  g_assert_nonnull (strstr (temper_model_get_chat_template (model), "<|im_start|>"));

  /* [out, in] in the file is ne = {in, out}; the bytes are the file's. */
  weights = g_build_filename (dir, "model.safetensors", NULL);
  st = temper_safetensors_open (weights, NULL);
  g_assert_true (temper_safetensors_get_info (st, "model.layers.1.mlp.down_proj.weight", &info));
  layer = temper_model_get_layer (model, 1);
  g_assert_cmpint (layer->w_down.type, ==, TEMPER_TYPE_BF16);
  g_assert_cmpint (layer->w_down.ne[0], ==, 64);
  g_assert_cmpint (layer->w_down.ne[1], ==, 32);
  g_assert_cmpuint (layer->w_down.row_bytes, ==, 128);
  g_assert_cmpmem (layer->w_down.data, info.n_bytes, info.data, info.n_bytes);
  g_assert_cmpint (layer->attn_norm.type, ==, TEMPER_TYPE_F32);
  g_assert_true (temper_model_get_output (model)->data == temper_model_get_token_embd (model)->data);

  /* generation_config's [258, 256] and the special end-of-turn tokens. */
  g_assert_cmpint (temper_model_get_stop_tokens (model)[0], ==, TINY_IM_END);
  g_assert_true (stops_contain (temper_model_get_stop_tokens (model), TINY_ENDOFTEXT));
  g_assert_cmpint (stops_count (temper_model_get_stop_tokens (model)), ==, 2);

  /* Choosing a file inside the folder opens the folder. */
  g_clear_pointer (&model, temper_model_free);
  model = load_expecting (weights, -1, NULL);
  g_assert_cmpint (temper_model_get_format (model), ==, TEMPER_MODEL_FORMAT_HF_FOLDER);
  g_assert_cmpstr (temper_model_get_path (model), ==, dir);
}

static void
test_hf_qwen2_sharded (Tmp *t, gconstpointer data)
{
  g_autofree char *dir = g_build_filename (t->dir, "hub", "models--Org--TinyQwen", "snapshots", "abc123", NULL);
  TinySpec s = tiny_spec_default ("qwen2");
  g_autoptr(temper_model_t) model = NULL;
  const TemperModelConfig *c;
  const TemperLayerWeights *layer;
  guint64 size = 0;

  s.biases = TRUE;
  s.untied = TRUE;
  tiny_write_hf_folder (dir, &s, "Qwen2ForCausalLM",
                        "\"rope_theta\": 1000000.0, \"use_sliding_window\": false, \"sliding_window\": 64", TRUE);
  model = load_expecting (dir, -1, NULL);
  c = temper_model_get_config (model);
  g_assert_cmpint (c->arch, ==, TEMPER_ARCH_QWEN2);
  g_assert_cmpint (c->rope_layout, ==, TEMPER_ROPE_HALVES);
  g_assert_cmpfloat (c->rope_theta, ==, 1000000.0f);
  g_assert_true (c->qkv_bias);
  g_assert_false (c->tied_embeddings);
  g_assert_cmpstr (temper_model_get_name (model), ==, "Org/TinyQwen");
  g_assert_cmpstr (temper_model_get_arch_name (model), ==, "qwen2");
  layer = temper_model_get_layer (model, 1);   /* from the second shard */
  g_assert_nonnull (layer->bv.data);
  g_assert_cmpint (layer->bv.ne[0], ==, 16);
  g_assert_cmpint (layer->bv.type, ==, TEMPER_TYPE_F32);
  g_assert_true (temper_model_get_output (model)->data != temper_model_get_token_embd (model)->data);
  g_assert_cmpuint (temper_model_get_n_params (model), ==, tiny_n_params (&s));
  for (int i = 1; i <= 2; i++)
    {
      g_autofree char *name = g_strdup_printf ("model-0000%d-of-00002.safetensors", i);
      g_autofree char *shard = g_build_filename (dir, name, NULL);
      GStatBuf st;
      g_assert_cmpint (g_stat (shard, &st), ==, 0);
      size += (guint64) st.st_size;
    }
  g_assert_cmpuint (temper_model_get_file_size (model), ==, size);
}

static void
test_hf_broken (Tmp *t, gconstpointer data)
{
  TinySpec s = tiny_spec_default ("llama");
  g_autofree char *gpt2 = g_build_filename (t->dir, "gpt2", NULL);
  g_autofree char *mistral = g_build_filename (t->dir, "mistral", NULL);
  g_autofree char *missing = g_build_filename (t->dir, "missing", NULL);
  g_autofree char *scaled = g_build_filename (t->dir, "scaled", NULL);
  g_autofree char *empty = g_build_filename (t->dir, "empty", NULL);
  g_autofree char *shard = NULL;

  tiny_write_hf_folder (gpt2, &s, "GPT2LMHeadModel", NULL, FALSE);
  load_expecting (gpt2, TEMPER_ERROR_UNSUPPORTED, "GPT2LMHeadModel");
  load_expecting (gpt2, TEMPER_ERROR_UNSUPPORTED, "Qwen2/2.5");

  /* Mistral's window is honoured, Llama 3.1's RoPE factors and YaRN read;
   * dynamic NTK scaling is still refused, by name, and impossible YaRN
   * settings are a bad file. */
  tiny_write_hf_folder (mistral, &s, "MistralForCausalLM", "\"sliding_window\": 128", FALSE);
  {
    g_autoptr(temper_model_t) m = load_expecting (mistral, -1, NULL);
    g_assert_cmpint (temper_model_get_config (m)->sliding_window, ==, 128);
    g_assert_cmpint (temper_model_get_config (m)->arch, ==, TEMPER_ARCH_MISTRAL);
  }
  tiny_write_hf_folder (scaled, &s, "LlamaForCausalLM",
                        "\"rope_scaling\": {\"rope_type\": \"llama3\", \"factor\": 8.0}", FALSE);
  {
    g_autoptr(temper_model_t) m = load_expecting (scaled, -1, NULL);
    g_assert_nonnull (temper_model_get_rope_factors (m));
  }
  tiny_write_hf_folder (scaled, &s, "LlamaForCausalLM",
                        "\"rope_scaling\": {\"rope_type\": \"yarn\", \"factor\": 4.0}", FALSE);
  {
    g_autoptr(temper_model_t) m = load_expecting (scaled, -1, NULL);
    g_assert_nonnull (temper_model_get_rope_factors (m));
    g_assert_cmpfloat_with_epsilon (temper_model_get_config (m)->rope_mscale, 1.1386294361, 1e-6);  /* 0.1·ln 4 + 1 */
  }
  tiny_write_hf_folder (scaled, &s, "LlamaForCausalLM",
                        "\"rope_scaling\": {\"rope_type\": \"yarn\", \"factor\": -2.0}", FALSE);
  load_expecting (scaled, TEMPER_ERROR_INVALID_FILE, "YaRN");
  tiny_write_hf_folder (scaled, &s, "LlamaForCausalLM",
                        "\"rope_scaling\": {\"rope_type\": \"dynamic\", \"factor\": 4.0}", FALSE);
  load_expecting (scaled, TEMPER_ERROR_UNSUPPORTED, "dynamic");

  s.skip_tensor = "model.layers.1.self_attn.v_proj.weight";
  tiny_write_hf_folder (missing, &s, "LlamaForCausalLM", NULL, TRUE);
  load_expecting (missing, TEMPER_ERROR_INVALID_FILE, "missing tensor model.layers.1.self_attn.v_proj.weight");
  /* A shard named by the index but not on disk. */
  shard = g_build_filename (missing, "model-00002-of-00002.safetensors", NULL);
  g_unlink (shard);
  load_expecting (missing, TEMPER_ERROR_IO, "model-00002-of-00002.safetensors");

  g_mkdir_with_parents (empty, 0755);
  load_expecting (empty, TEMPER_ERROR_INVALID_FILE, "config.json");
}

/* Damaged headers must give errors, not crashes, through the whole loader
 * (the tokenizer reads the same metadata). */
static void
test_gguf_fuzz (Tmp *t, gconstpointer data)
{
  g_autofree char *path = g_build_filename (t->dir, "tiny.gguf", NULL);
  g_autofree char *broken = g_build_filename (t->dir, "fuzzed.gguf", NULL);
  TinySpec s = tiny_spec_default ("llama");
  g_autofree guint8 *bytes = NULL;
  gsize len, header_len;
  guint loaded = 0, refused = 0;

  tiny_write_gguf (path, &s);
  g_assert_true (g_file_get_contents (path, (char **) &bytes, &len, NULL));
  {
    g_autoptr(temper_gguf_t) gguf = temper_gguf_open (path, NULL);
    header_len = temper_gguf_get_data_offset (gguf);
  }
  for (gsize pos = 0; pos < header_len; pos += 11)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(temper_model_t) model = NULL;
      guint8 saved = bytes[pos];

      bytes[pos] = (guint8) (pos % 2 == 0 ? 0xff : saved ^ 0x41);
      model_test_write (broken, bytes, len);
      bytes[pos] = saved;
      model = temper_model_load (broken, NULL, &error);
      if (model != NULL)
        {
          const TemperModelConfig *c = temper_model_get_config (model);
          g_assert_cmpint (c->n_layer, ==, s.n_layer);
          g_assert_true (temper_model_get_stop_tokens (model)[0] < c->n_vocab);
          loaded++;
        }
      else
        {
          g_assert_nonnull (error);
          refused++;
        }
    }
  g_test_message ("model fuzz: %u loaded, %u refused", loaded, refused);
  g_assert_cmpuint (refused, >, 0);
}

/* The weight view a Hugging Face tensor name maps to. */
static const TemperTensorView *
view_for_hf_name (const temper_model_t *model, const char *name)
{
  static const struct { const char *suffix; gsize offset; } parts[] = {
    { "input_layernorm.weight", G_STRUCT_OFFSET (TemperLayerWeights, attn_norm) },
    { "self_attn.q_proj.weight", G_STRUCT_OFFSET (TemperLayerWeights, wq) },
    { "self_attn.k_proj.weight", G_STRUCT_OFFSET (TemperLayerWeights, wk) },
    { "self_attn.v_proj.weight", G_STRUCT_OFFSET (TemperLayerWeights, wv) },
    { "self_attn.q_proj.bias", G_STRUCT_OFFSET (TemperLayerWeights, bq) },
    { "self_attn.k_proj.bias", G_STRUCT_OFFSET (TemperLayerWeights, bk) },
    { "self_attn.v_proj.bias", G_STRUCT_OFFSET (TemperLayerWeights, bv) },
    { "self_attn.o_proj.weight", G_STRUCT_OFFSET (TemperLayerWeights, wo) },
    { "post_attention_layernorm.weight", G_STRUCT_OFFSET (TemperLayerWeights, ffn_norm) },
    { "mlp.gate_proj.weight", G_STRUCT_OFFSET (TemperLayerWeights, w_gate) },
    { "mlp.up_proj.weight", G_STRUCT_OFFSET (TemperLayerWeights, w_up) },
    { "mlp.down_proj.weight", G_STRUCT_OFFSET (TemperLayerWeights, w_down) },
  };
  int layer;
  char suffix[64];

  if (strcmp (name, "model.embed_tokens.weight") == 0)
    return temper_model_get_token_embd (model);
  if (strcmp (name, "model.norm.weight") == 0)
    return temper_model_get_output_norm (model);
  if (strcmp (name, "lm_head.weight") == 0)
    return temper_model_get_output (model);
  g_assert_cmpint (sscanf (name, "model.layers.%d.%63s", &layer, suffix), ==, 2);
  for (gsize i = 0; i < G_N_ELEMENTS (parts); i++)
    if (strcmp (suffix, parts[i].suffix) == 0)
      return G_STRUCT_MEMBER_P (temper_model_get_layer (model, layer), parts[i].offset);
  g_assert_not_reached ();
  return NULL;
}

/* Folders saved by transformers itself (make-hf-fixtures.py), checked
 * against what transformers read back from them. */
static void
test_hf_from_transformers (gconstpointer data)
{
  const char *folder = data;
  const char *src = g_getenv ("TEMPER_SOURCE_DIR") != NULL ? g_getenv ("TEMPER_SOURCE_DIR") : TEMPER_SOURCE_DIR;
  g_autofree char *path = g_build_filename (src, "tests", "fixtures", "model", folder, NULL);
  g_autoptr(GBytes) json = model_test_fixture ("hf-expected.json");
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(temper_model_t) model = NULL;
  const TemperModelConfig *c;
  JsonObject *e;
  JsonArray *rows;
  JsonNode *eos;

  g_assert_true (json_parser_load_from_data (parser, g_bytes_get_data (json, NULL),
                                             (gssize) g_bytes_get_size (json), NULL));
  e = json_object_get_object_member (json_node_get_object (json_parser_get_root (parser)), folder);
  model = load_expecting (path, -1, NULL);
  c = temper_model_get_config (model);
  g_assert_cmpint (c->n_embd, ==, json_object_get_int_member (e, "hidden_size"));
  g_assert_cmpint (c->n_ff, ==, json_object_get_int_member (e, "intermediate_size"));
  g_assert_cmpint (c->n_layer, ==, json_object_get_int_member (e, "num_hidden_layers"));
  g_assert_cmpint (c->n_head, ==, json_object_get_int_member (e, "num_attention_heads"));
  g_assert_cmpint (c->n_head_kv, ==, json_object_get_int_member (e, "num_key_value_heads"));
  g_assert_cmpint (c->head_dim, ==, json_object_get_int_member (e, "head_dim"));
  g_assert_cmpint (c->n_vocab, ==, json_object_get_int_member (e, "vocab_size"));
  g_assert_cmpint (c->n_ctx_train, ==, json_object_get_int_member (e, "max_position_embeddings"));
  g_assert_cmpfloat (c->rms_eps, ==, (float) json_object_get_double_member (e, "rms_norm_eps"));
  g_assert_cmpfloat (c->rope_theta, ==, (float) json_object_get_double_member (e, "rope_theta"));
  g_assert_cmpint (c->tied_embeddings, ==, json_object_get_boolean_member (e, "tie_word_embeddings"));
  g_assert_cmpint (c->rope_layout, ==, TEMPER_ROPE_HALVES);
  g_assert_cmpuint (temper_model_get_n_params (model), ==, json_object_get_int_member (e, "num_parameters"));
  g_assert_cmpstr (temper_model_get_quantization (model), ==, "BF16");
  g_assert_nonnull (temper_model_get_chat_template (model));
  g_assert_nonnull (strstr (temper_model_get_chat_template (model), "add_generation_prompt"));

  /* generation_config's EOS ids are all stop tokens. */
  eos = json_object_get_member (e, "generation_eos");
  if (JSON_NODE_HOLDS_ARRAY (eos))
    for (guint i = 0; i < json_array_get_length (json_node_get_array (eos)); i++)
      g_assert_true (stops_contain (temper_model_get_stop_tokens (model),
                                    (int) json_array_get_int_element (json_node_get_array (eos), i)));
  else
    g_assert_true (stops_contain (temper_model_get_stop_tokens (model), (int) json_node_get_int (eos)));
  g_assert_true (stops_contain (temper_model_get_stop_tokens (model), (int) json_object_get_int_member (e, "im_end_id")));
  g_assert_cmpint (temper_tokenizer_find_token (temper_model_get_tokenizer (model), "<|im_end|>"), ==,
                   json_object_get_int_member (e, "im_end_id"));

  rows = json_object_get_array_member (e, "rows");
  for (guint i = 0; i < json_array_get_length (rows); i++)
    {
      JsonObject *r = json_array_get_object_element (rows, i);
      JsonArray *values = json_object_get_array_member (r, "values");
      const TemperTensorView *view = view_for_hf_name (model, json_object_get_string_member (r, "tensor"));
      g_autofree float *out = g_new (float, json_array_get_length (values));

      g_assert_nonnull (view->data);
      g_assert_cmpint (view->ne[0], ==, json_array_get_length (values));
      temper_tensor_row_to_f32 (view, json_object_get_int_member (r, "row"), out);
      for (guint j = 0; j < json_array_get_length (values); j++)
        g_assert_cmpfloat (out[j], ==, (float) json_array_get_double_element (values, j));
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add ("/model/load/gguf/llama", Tmp, NULL, tmp_setup, test_gguf_llama, tmp_teardown);
  g_test_add ("/model/load/gguf/qwen2", Tmp, NULL, tmp_setup, test_gguf_qwen2, tmp_teardown);
  g_test_add ("/model/load/gguf/broken", Tmp, NULL, tmp_setup, test_gguf_broken, tmp_teardown);
  g_test_add ("/model/load/gguf/wrong-shape", Tmp, NULL, tmp_setup, test_gguf_wrong_shape, tmp_teardown);
  g_test_add ("/model/load/gguf/fuzz", Tmp, NULL, tmp_setup, test_gguf_fuzz, tmp_teardown);
  g_test_add ("/model/load/cancelled", Tmp, NULL, tmp_setup, test_cancelled, tmp_teardown);
  g_test_add_func ("/model/load/demo", test_demo_model);
  g_test_add ("/model/load/hf/llama", Tmp, NULL, tmp_setup, test_hf_llama, tmp_teardown);
  g_test_add ("/model/load/hf/qwen2-sharded", Tmp, NULL, tmp_setup, test_hf_qwen2_sharded, tmp_teardown);
  g_test_add_data_func ("/model/load/hf/transformers-llama", "hf-tiny-llama", test_hf_from_transformers);
  g_test_add_data_func ("/model/load/hf/transformers-qwen2-sharded", "hf-tiny-qwen2", test_hf_from_transformers);
  g_test_add ("/model/load/hf/broken", Tmp, NULL, tmp_setup, test_hf_broken, tmp_teardown);
  return g_test_run ();
}
