/* SPDX-License-Identifier: MIT */
/* test-export-gguf-hf.c — merged GGUF files made from Hugging Face base
 * folders: re-opened by Temper's GGUF loader, they must compute what the
 * folder plus the adapter computes, and tokenize as tokenizer.json does. */
#include "config.h"

#include <string.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "temper/error.h"
#include "temper/export.h"
#include "temper/gguf.h"
#include "temper/tokenizer.h"
#include "export/temper-export-private.h"
#include "export-test-util.h"

static char *
fixture_path (const char *first, ...)
{
  const char *src = g_getenv ("TEMPER_SOURCE_DIR");
  g_autoptr(GPtrArray) parts = g_ptr_array_new ();
  va_list ap;

  g_ptr_array_add (parts, (gpointer) (src != NULL ? src : TEMPER_SOURCE_DIR));
  g_ptr_array_add (parts, (gpointer) "tests");
  g_ptr_array_add (parts, (gpointer) "fixtures");
  va_start (ap, first);
  for (const char *p = first; p != NULL; p = va_arg (ap, const char *))
    g_ptr_array_add (parts, (gpointer) p);
  va_end (ap);
  g_ptr_array_add (parts, NULL);
  return g_build_filenamev ((char **) parts->pdata);
}

/* Text in several scripts, with digits, spacing runs and an emoji. */
static const char multilingual[] =
  "Hello world 12345! Grüße aus Köln — ça va? Привет, мир. 你好，世界。"
  "こんにちは 안녕하세요 مرحبا 🚀🎉  tabs\tand\nnew lines   end";

static void
assert_same_ids (const temper_tokenizer_t *a, const temper_tokenizer_t *b, const char *text,
                 gboolean parse_special)
{
  g_autoptr(GArray) x = temper_tokenizer_encode (a, text, -1, parse_special);
  g_autoptr(GArray) y = temper_tokenizer_encode (b, text, -1, parse_special);

  g_assert_cmpuint (x->len, >, 0);
  g_assert_cmpmem (x->data, x->len * sizeof (gint32), y->data, y->len * sizeof (gint32));
}

static void
assert_u32 (const temper_gguf_t *gguf, const char *key, guint32 want)
{
  guint32 v = 0;

  g_assert_true (temper_gguf_get_u32 (gguf, key, &v));
  g_assert_cmpuint (v, ==, want);
}

/* Everything the GGUF loader reads back must equal what the folder said. */
static void
assert_same_config (temper_model_t *hf, temper_model_t *gguf)
{
  const TemperModelConfig *a = temper_model_get_config (hf), *b = temper_model_get_config (gguf);
  const int *sa = temper_model_get_stop_tokens (hf), *sb = temper_model_get_stop_tokens (gguf);

  g_assert_cmpint (a->arch, ==, b->arch);
  g_assert_cmpint (a->n_layer, ==, b->n_layer);
  g_assert_cmpint (a->n_embd, ==, b->n_embd);
  g_assert_cmpint (a->n_ff, ==, b->n_ff);
  g_assert_cmpint (a->n_head, ==, b->n_head);
  g_assert_cmpint (a->n_head_kv, ==, b->n_head_kv);
  g_assert_cmpint (a->head_dim, ==, b->head_dim);
  g_assert_cmpint (a->n_vocab, ==, b->n_vocab);
  g_assert_cmpint (a->n_ctx_train, ==, b->n_ctx_train);
  g_assert_cmpfloat (a->rms_eps, ==, b->rms_eps);
  g_assert_cmpfloat (a->rope_theta, ==, b->rope_theta);
  g_assert_cmpint (a->qkv_bias, ==, b->qkv_bias);
  g_assert_cmpint (a->tied_embeddings, ==, b->tied_embeddings);
  g_assert_cmpstr (temper_model_get_chat_template (gguf), ==, temper_model_get_chat_template (hf));
  g_assert_nonnull (temper_model_get_chat_template (gguf));
  /* The same stop tokens, in any order. */
  for (const int *s = sa; *s >= 0; s++)
    {
      gboolean found = FALSE;
      for (const int *t = sb; *t >= 0; t++)
        found |= *s == *t;
      g_assert_true (found);
    }
}

/* Exports @dir with a random adapter as @quant and compares the re-opened
 * GGUF with base + adapter: within @tolerance, and closer than half of what
 * the adapter itself changes, so a merge that dropped it fails. */
static void
check_hf_merged (Fixture *f, const char *dir, TemperExportQuant quant, double tolerance,
                 gboolean greedy)
{
  g_autoptr(temper_model_t) model = load (dir);
  g_autoptr(temper_model_t) merged = NULL;
  g_autoptr(temper_adapter_t) adapter = random_adapter (model, 4, 8.0f, FALSE,
                                                        TEMPER_LORA_ALL_TARGETS, 0.25f);
  g_autofree char *out = g_build_filename (f->dir, "merged.gguf", NULL);
  g_autofree float *want = NULL, *got = NULL, *base = NULL;
  g_autofree char *problem = NULL;
  g_autoptr(GError) error = NULL;
  int n_vocab = temper_model_get_config (model)->n_vocab;
  double err, change;

  g_assert_cmpint (temper_model_get_format (model), ==, TEMPER_MODEL_FORMAT_HF_FOLDER);
  g_assert_true (temper_export_merged_gguf (model, adapter, quant, out, NULL, &error));
  g_assert_no_error (error);
  merged = load (out);
  g_assert_cmpint (temper_model_get_format (merged), ==, TEMPER_MODEL_FORMAT_GGUF);
  assert_same_config (model, merged);
  assert_same_ids (temper_model_get_tokenizer (model), temper_model_get_tokenizer (merged),
                   multilingual, FALSE);
  assert_same_ids (temper_model_get_tokenizer (model), temper_model_get_tokenizer (merged),
                   "<|im_start|>user\nHi<|im_end|>\n", TRUE);

  want = logits_of (model, adapter);
  base = logits_of (model, NULL);
  got = logits_of (merged, NULL);
  err = normalized_error (got, want, n_vocab);
  change = normalized_error (base, want, n_vocab);
  g_test_message ("%s %s: merged GGUF vs base+adapter %.2e (the adapter changes logits by %.2e)",
                  temper_model_get_arch_name (model), temper_export_quant_name (quant), err, change);
  g_assert_cmpfloat (change, >, 0.1);
  g_assert_cmpfloat (err, <, tolerance);
  g_assert_cmpfloat (err, <, change / 2);
  if (greedy)
    {
      g_autoptr(GArray) a = greedy_of (model, adapter);
      g_autoptr(GArray) b = greedy_of (merged, NULL);

      g_assert_cmpuint (a->len, >, 0);
      g_assert_cmpmem (a->data, a->len * sizeof (gint32), b->data, b->len * sizeof (gint32));
    }
  /* The export-time round-trip check agrees with itself on this file. */
  g_assert_true (temper_export_check_template (model, out, &problem, &error));
  g_assert_no_error (error);
  g_assert_null (problem);
}

/* Qwen2 in two bf16 shards: q/k/v biases, untied output, no row
 * reordering. */
static char *
hf_qwen2_dir (void)
{
  return fixture_path ("model", "hf-tiny-qwen2", NULL);
}

static void
test_qwen2_f16 (Fixture *f, gconstpointer data)
{
  g_autofree char *dir = hf_qwen2_dir ();
  g_autofree char *out = g_build_filename (f->dir, "merged.gguf", NULL);
  g_autoptr(temper_gguf_t) gguf = NULL;
  g_autoptr(temper_model_t) model = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *pre = NULL, *arch = NULL, *tmodel = NULL;
  const TemperModelConfig *c;
  TemperTensorView v;

  (void) data;
  check_hf_merged (f, dir, TEMPER_EXPORT_F16, 5e-3, TRUE);
  model = load (dir);
  c = temper_model_get_config (model);
  gguf = temper_gguf_open (out, &error);
  g_assert_no_error (error);
  arch = temper_gguf_dup_string (gguf, "general.architecture");
  tmodel = temper_gguf_dup_string (gguf, "tokenizer.ggml.model");
  pre = temper_gguf_dup_string (gguf, "tokenizer.ggml.pre");
  g_assert_cmpstr (arch, ==, "qwen2");
  g_assert_cmpstr (tmodel, ==, "gpt2");
  g_assert_cmpstr (pre, ==, "gpt-2");   /* plain ByteLevel splitting */
  assert_u32 (gguf, "general.file_type", 1);
  assert_u32 (gguf, "qwen2.block_count", (guint32) c->n_layer);
  assert_u32 (gguf, "qwen2.embedding_length", (guint32) c->n_embd);
  assert_u32 (gguf, "qwen2.feed_forward_length", (guint32) c->n_ff);
  assert_u32 (gguf, "qwen2.attention.head_count", (guint32) c->n_head);
  assert_u32 (gguf, "qwen2.attention.head_count_kv", (guint32) c->n_head_kv);
  assert_u32 (gguf, "qwen2.context_length", 256);   /* max_position_embeddings */
  assert_u32 (gguf, "tokenizer.ggml.bos_token_id", 258);   /* <|im_start|> */
  assert_u32 (gguf, "tokenizer.ggml.eos_token_id", 259);   /* <|im_end|> */
  assert_u32 (gguf, "tokenizer.ggml.eot_token_id", 259);
  g_assert_false (temper_gguf_has_key (gguf, "tokenizer.ggml.padding_token_id"));
  g_assert_true (temper_gguf_find_tensor (gguf, "output.weight", &v));
  g_assert_cmpint (v.type, ==, TEMPER_TYPE_F16);
  g_assert_true (temper_gguf_find_tensor (gguf, "blk.1.attn_k.bias", &v));
  g_assert_cmpint (v.type, ==, TEMPER_TYPE_F32);
  g_assert_cmpint (v.ne[0], ==, c->n_head_kv * c->head_dim);
  g_assert_true (temper_gguf_find_tensor (gguf, "blk.0.ffn_down.weight", &v));
  g_assert_cmpint (v.ne[0], ==, c->n_ff);
  g_assert_cmpint (v.ne[1], ==, c->n_embd);
  g_assert_true (temper_gguf_find_tensor (gguf, "output_norm.weight", &v));
  g_assert_cmpint (v.type, ==, TEMPER_TYPE_F32);
}

static void
test_qwen2_q8_0 (Fixture *f, gconstpointer data)
{
  g_autofree char *dir = hf_qwen2_dir ();

  (void) data;
  check_hf_merged (f, dir, TEMPER_EXPORT_Q8_0, 5e-2, FALSE);
}

static void
test_qwen2_q4_k_m (Fixture *f, gconstpointer data)
{
  g_autofree char *dir = hf_qwen2_dir ();

  (void) data;
  /* 64-wide rows are not K-quant super-blocks: Q5_0 and Q8_0, as llama.cpp
   * falls back; this random model amplifies the rounding by its logits. */
  check_hf_merged (f, dir, TEMPER_EXPORT_Q4_K_M, 0.25, FALSE);
}

/* Llama: tied embeddings, grouped KV heads, and Q/K rows reordered into
 * llama.cpp's interleaved order. */
static void
test_llama_f16 (Fixture *f, gconstpointer data)
{
  g_autofree char *dir = fixture_path ("model", "hf-tiny-llama", NULL);
  g_autofree char *plain = g_build_filename (f->dir, "plain.gguf", NULL);
  g_autoptr(temper_model_t) model = load (dir);
  g_autoptr(temper_gguf_t) gguf = NULL;
  g_autoptr(GError) error = NULL;
  const TemperModelConfig *c = temper_model_get_config (model);
  const TemperLayerWeights *lw = temper_model_get_layer (model, 1);
  const int d = c->head_dim;
  g_autofree float *hf_row = g_new (float, c->n_embd);
  g_autofree float *gguf_row = g_new (float, c->n_embd);
  g_autofree char *pre = NULL;
  TemperTensorView v;

  (void) data;
  check_hf_merged (f, dir, TEMPER_EXPORT_F16, 5e-3, TRUE);

  /* Without an adapter, row h·d + 2i + s of the GGUF's attn_q/attn_k is
   * row h·d + s·d/2 + i of the folder's q_proj/k_proj (FORMATS.md §1.7);
   * attn_v keeps its rows. */
  g_assert_true (temper_export_merged_gguf (model, NULL, TEMPER_EXPORT_F16, plain, NULL, &error));
  g_assert_no_error (error);
  gguf = temper_gguf_open (plain, &error);
  g_assert_no_error (error);
  g_assert_false (temper_gguf_find_tensor (gguf, "output.weight", &v));
  pre = temper_gguf_dup_string (gguf, "tokenizer.ggml.pre");
  g_assert_cmpstr (pre, ==, "gpt-2");
  assert_u32 (gguf, "llama.rope.dimension_count", (guint32) d);
  assert_u32 (gguf, "llama.attention.head_count_kv", 2);
  assert_u32 (gguf, "tokenizer.ggml.bos_token_id", 258);
  for (int which = 0; which < 3; which++)
    {
      const TemperTensorView *hf = which == 0 ? &lw->wq : which == 1 ? &lw->wk : &lw->wv;
      const char *name = which == 0 ? "blk.1.attn_q.weight" : which == 1 ? "blk.1.attn_k.weight"
                                                                          : "blk.1.attn_v.weight";

      g_assert_true (temper_gguf_find_tensor (gguf, name, &v));
      g_assert_cmpint (v.ne[1], ==, hf->ne[1]);
      for (int64_t h = 0; h < hf->ne[1] / d; h++)
        for (int i = 0; i < d / 2; i++)
          for (int s = 0; s < 2; s++)
            {
              int64_t g = h * d + 2 * i + s;
              int64_t src = which == 2 ? g : h * d + s * (d / 2) + i;

              temper_tensor_row_to_f32 (hf, src, hf_row);
              temper_tensor_row_to_f32 (&v, g, gguf_row);
              for (int k = 0; k < c->n_embd; k++)
                g_assert_cmpfloat_with_epsilon (gguf_row[k], hf_row[k],
                                                1e-3 * fabsf (hf_row[k]) + 1e-7);
            }
    }
}

/* A pre-tokenizer that llama.cpp has no name for is refused, and nothing
 * is written. */
/* A copy of the tiny Hugging Face llama folder (the demo model's layout)
 * under @f->dir/@name whose tokenizer.json splits with @pre_json. */
static char *
folder_with_pre_tokenizer (Fixture *f, const char *name, const char *pre_json)
{
  g_autofree char *src = fixture_path ("model", "hf-tiny-llama", NULL);
  char *dir = g_build_filename (f->dir, name, NULL);
  const char *files[] = { "config.json", "model.safetensors", "tokenizer_config.json" };
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  g_autoptr(JsonNode) pre = NULL;
  g_autofree char *tok_in = g_build_filename (src, "tokenizer.json", NULL);
  g_autofree char *tok_out = g_build_filename (dir, "tokenizer.json", NULL);

  g_assert_cmpint (g_mkdir (dir, 0755), ==, 0);
  for (gsize i = 0; i < G_N_ELEMENTS (files); i++)
    {
      g_autofree char *from = g_build_filename (src, files[i], NULL);
      g_autofree char *to = g_build_filename (dir, files[i], NULL);
      g_autofree char *bytes = NULL;
      gsize len;

      g_assert_true (g_file_get_contents (from, &bytes, &len, NULL));
      g_assert_true (g_file_set_contents (to, bytes, (gssize) len, NULL));
    }
  g_assert_true (json_parser_load_from_file (parser, tok_in, NULL));
  pre = json_from_string (pre_json, NULL);
  g_assert_nonnull (pre);
  json_object_set_member (json_node_get_object (json_parser_get_root (parser)), "pre_tokenizer",
                          g_steal_pointer (&pre));
  json_generator_set_root (gen, json_parser_get_root (parser));
  g_assert_true (json_generator_to_file (gen, tok_out, NULL));
  return dir;
}

static void
test_unnamed_pre_tokenizer_refused (Fixture *f, gconstpointer data)
{
  /* Runs of digits kept together before the byte-level split. */
  g_autofree char *dir = folder_with_pre_tokenizer (f, "grouped-digits",
    "{\"type\": \"Sequence\", \"pretokenizers\": ["
    "{\"type\": \"Digits\", \"individual_digits\": false},"
    "{\"type\": \"ByteLevel\", \"add_prefix_space\": false, "
    "\"trim_offsets\": true, \"use_regex\": true}]}");
  g_autofree char *out = g_build_filename (f->dir, "merged.gguf", NULL);
  g_autoptr(temper_model_t) model = NULL;
  g_autoptr(GError) error = NULL;

  (void) data;
  model = load (dir);
  g_assert_false (temper_export_merged_gguf (model, NULL, TEMPER_EXPORT_F16, out, NULL, &error));
  g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_UNSUPPORTED);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "Hugging Face folder"));
  g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));
  g_assert_cmpuint (count_entries (f->dir), ==, 1);   /* just the copied folder */
}

/* SmolLM's tokenizer.json (each digit alone, then byte level) makes a merged
 * GGUF that says "smollm", as llama.cpp's converter names SmolLM; the plain
 * byte-level tokenizer of the same folder says "gpt-2", not a name of its
 * family (llama). */
static void
test_smollm_pre_tokenizer (Fixture *f, gconstpointer data)
{
  static const struct { const char *name, *json, *want; } cases[] = {
    { "smollm", "{\"type\": \"Sequence\", \"pretokenizers\": ["
                "{\"type\": \"Digits\", \"individual_digits\": true},"
                "{\"type\": \"ByteLevel\", \"add_prefix_space\": false, "
                "\"trim_offsets\": true, \"use_regex\": true}]}", "smollm" },
    { "byte-level", "{\"type\": \"ByteLevel\", \"add_prefix_space\": false, "
                    "\"trim_offsets\": true, \"use_regex\": true}", "gpt-2" },
  };

  (void) data;
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *dir = folder_with_pre_tokenizer (f, cases[i].name, cases[i].json);
      g_autofree char *file = g_strconcat (cases[i].name, ".gguf", NULL);
      g_autofree char *out = g_build_filename (f->dir, file, NULL);
      g_autoptr(temper_model_t) model = load (dir);
      g_autoptr(temper_gguf_t) gguf = NULL;
      g_autofree char *pre = NULL;
      g_autoptr(GError) error = NULL;

      g_assert_true (temper_export_merged_gguf (model, NULL, TEMPER_EXPORT_F16, out, NULL, &error));
      g_assert_no_error (error);
      gguf = temper_gguf_open (out, &error);
      g_assert_no_error (error);
      pre = temper_gguf_dup_string (gguf, "tokenizer.ggml.pre");
      g_assert_cmpstr (pre, ==, cases[i].want);
    }
}

/* ---- against llama.cpp's own converter ------------------------------------ */

/* Whether @key has the same type and value in both files. */
static gboolean
same_value (const temper_gguf_t *a, const temper_gguf_t *b, const char *key)
{
  TemperGgufValueType ta, tb, ea, eb;
  guint64 na, nb;

  if (!temper_gguf_get_value_type (a, key, &ta) || !temper_gguf_get_value_type (b, key, &tb) ||
      ta != tb)
    return FALSE;
  switch (ta)
    {
    case TEMPER_GGUF_STRING:
      {
        g_autofree char *x = temper_gguf_dup_string (a, key), *y = temper_gguf_dup_string (b, key);
        return g_strcmp0 (x, y) == 0;
      }
    case TEMPER_GGUF_FLOAT32:
      {
        float x, y;
        return temper_gguf_get_f32 (a, key, &x) && temper_gguf_get_f32 (b, key, &y) &&
               memcmp (&x, &y, sizeof x) == 0;
      }
    case TEMPER_GGUF_BOOL:
      {
        gboolean x, y;
        return temper_gguf_get_bool (a, key, &x) && temper_gguf_get_bool (b, key, &y) && x == y;
      }
    case TEMPER_GGUF_ARRAY:
      if (!temper_gguf_get_array_info (a, key, &ea, &na) ||
          !temper_gguf_get_array_info (b, key, &eb, &nb) || ea != eb || na != nb)
        return FALSE;
      if (ea == TEMPER_GGUF_STRING)
        {
          for (guint64 i = 0; i < na; i++)
            {
              TemperGgufString x = temper_gguf_get_array_string (a, key, i);
              TemperGgufString y = temper_gguf_get_array_string (b, key, i);
              if (x.len != y.len || memcmp (x.data, y.data, x.len) != 0)
                return FALSE;
            }
          return TRUE;
        }
      g_assert_true (ea == TEMPER_GGUF_INT32 || ea == TEMPER_GGUF_FLOAT32);
      return memcmp (temper_gguf_get_array_data (a, key), temper_gguf_get_array_data (b, key),
                     4 * na) == 0;
    default:
      {
        gint64 x, y;
        return temper_gguf_get_i64 (a, key, &x) && temper_gguf_get_i64 (b, key, &y) && x == y;
      }
    }
}

/* tests/fixtures/export/llama-cpp-NAME.f16.gguf is what llama.cpp's
 * convert_hf_to_gguf.py makes of the same folder
 * (make-llama-cpp-references.py).  Temper's F16 export without an adapter
 * must hold every key it wrote, with the same type and value (apart from
 * the display name), and the same tensors, byte for byte: names, shapes,
 * types, the Q/K row order and the F16 rounding. */
static void
check_against_llama_cpp (Fixture *f, const char *name)
{
  g_autofree char *dir = fixture_path ("model", name, NULL);
  g_autofree char *ref_name = g_strdup_printf ("llama-cpp-%s.f16.gguf", name);
  g_autofree char *ref_path = fixture_path ("export", ref_name, NULL);
  g_autofree char *out = g_build_filename (f->dir, "plain.gguf", NULL);
  g_autoptr(temper_model_t) model = load (dir);
  g_autoptr(temper_gguf_t) ref = NULL, got = NULL;
  g_autoptr(GError) error = NULL;
  guint n_keys = 0;

  g_assert_true (temper_export_merged_gguf (model, NULL, TEMPER_EXPORT_F16, out, NULL, &error));
  g_assert_no_error (error);
  ref = temper_gguf_open (ref_path, &error);
  g_assert_no_error (error);
  got = temper_gguf_open (out, &error);
  g_assert_no_error (error);

  for (guint64 i = 0; i < temper_gguf_get_n_kv (ref); i++)
    {
      const char *key = temper_gguf_get_key (ref, i);

      if (strcmp (key, "general.name") == 0 || strcmp (key, "general.size_label") == 0)
        continue;
      if (!same_value (ref, got, key))
        g_error ("%s: key %s differs from llama.cpp's conversion", name, key);
      n_keys++;
    }
  g_assert_cmpuint (temper_gguf_get_n_tensors (got), ==, temper_gguf_get_n_tensors (ref));
  for (guint64 i = 0; i < temper_gguf_get_n_tensors (ref); i++)
    {
      TemperTensorView r, g;
      int64_t ne[4];
      guint32 n_dims;
      guint64 n_bytes;

      temper_gguf_get_tensor (ref, i, &r);
      temper_gguf_get_tensor_shape (ref, i, ne, &n_dims, &n_bytes);
      g_assert_true (temper_gguf_find_tensor (got, r.name, &g));
      g_assert_cmpint (g.type, ==, r.type);
      g_assert_cmpint (g.ne[0], ==, r.ne[0]);
      g_assert_cmpint (g.ne[1], ==, r.ne[1]);
      if (memcmp (g.data, r.data, n_bytes) != 0)
        g_error ("%s: tensor %s differs from llama.cpp's conversion", name, r.name);
    }
  g_test_message ("%s: %u keys and %" G_GUINT64_FORMAT " tensors as llama.cpp's converter "
                  "writes them", name, n_keys, temper_gguf_get_n_tensors (ref));
  g_assert_cmpuint (n_keys, >=, 20);
}

static void
test_llama_cpp_qwen2 (Fixture *f, gconstpointer data)
{
  (void) data;
  check_against_llama_cpp (f, "hf-tiny-qwen2");
}

static void
test_llama_cpp_llama (Fixture *f, gconstpointer data)
{
  (void) data;
  check_against_llama_cpp (f, "hf-tiny-llama");
}

/* ---- the tokenizer alone: real vocabularies -------------------------------- */

static gboolean
same_ids (const temper_tokenizer_t *a, const temper_tokenizer_t *b, const char *text,
          gboolean parse_special)
{
  g_autoptr(GArray) x = temper_tokenizer_encode (a, text, -1, parse_special);
  g_autoptr(GArray) y = temper_tokenizer_encode (b, text, -1, parse_special);

  return x->len == y->len && memcmp (x->data, y->data, x->len * sizeof (gint32)) == 0;
}

/* Embedding rows past the tokenizer's list get unused tokens, as llama.cpp
 * needs one token per row; fewer rows than tokens are refused. */
static void
check_vocab_rows (Fixture *f, const temper_tokenizer_t *hf, const char *json)
{
  const int n = temper_tokenizer_get_n_vocab (hf);
  g_autofree char *out = g_build_filename (f->dir, "padded.gguf", NULL);
  g_autofree char *last = g_strdup_printf ("[PAD%d]", n + 2);
  g_autoptr(temper_gguf_writer_t) w = temper_gguf_writer_new ();
  g_autoptr(temper_gguf_writer_t) small = temper_gguf_writer_new ();
  g_autoptr(temper_gguf_t) gguf = NULL;
  g_autoptr(temper_tokenizer_t) back = NULL;
  g_autoptr(GError) error = NULL;
  TemperGgufValueType type;
  guint64 count;
  gint32 last_type;

  g_assert_true (temper_export_gguf_tokenizer (w, hf, NULL, NULL, NULL, n + 3, json, &error));
  g_assert_no_error (error);
  g_assert_true (temper_gguf_writer_write (w, out, &error));
  gguf = temper_gguf_open (out, &error);
  g_assert_no_error (error);
  g_assert_true (temper_gguf_get_array_info (gguf, "tokenizer.ggml.tokens", &type, &count));
  g_assert_cmpuint (count, ==, (guint64) n + 3);
  g_assert_cmpint (temper_gguf_get_array_string (gguf, "tokenizer.ggml.tokens", n + 2).len, ==,
                   strlen (last));
  g_assert_cmpmem (temper_gguf_get_array_string (gguf, "tokenizer.ggml.tokens", n + 2).data,
                   strlen (last), last, strlen (last));
  memcpy (&last_type, (const gint32 *) temper_gguf_get_array_data (gguf, "tokenizer.ggml.token_type") + n + 2,
          sizeof last_type);
  g_assert_cmpint (last_type, ==, 5);   /* unused */
  back = temper_tokenizer_new_from_gguf (gguf, &error);
  g_assert_no_error (error);
  assert_same_ids (hf, back, multilingual, FALSE);

  g_assert_false (temper_export_gguf_tokenizer (small, hf, NULL, NULL, NULL, n - 1, json, &error));
  g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_UNSUPPORTED);
}

/* Writes @name's tokenizer.json as GGUF metadata, loads it back with the
 * GGUF tokenizer loader and encodes the shared corpus and the multilingual
 * text.  Two references: the tokenizer.json itself, and @name.gguf, which
 * make-tokenizer-fixtures.py wrote with gguf-py the way llama.cpp's
 * converter does.  The export must equal the GGUF reference everywhere, and
 * the tokenizer.json wherever GGUF can say what it does: llama-bpe has no
 * NFC step and GGUF no single-word added tokens, so the llama3 fixture,
 * which has both, differs from its tokenizer.json on a few strings, and the
 * GGUF reference differs on exactly those. */
static void
check_tokenizer (Fixture *f, const char *name, const char *want_model, const char *want_pre)
{
  g_autofree char *json = fixture_path ("tokenizer", name, "tokenizer.json", NULL);
  g_autofree char *cfg = fixture_path ("tokenizer", name, "tokenizer_config.json", NULL);
  g_autofree char *ref_name = g_strdup_printf ("%s.gguf", name);
  g_autofree char *ref_path = fixture_path ("tokenizer", ref_name, NULL);
  g_autofree char *corpus_path = fixture_path ("tokenizer", "corpus.json", NULL);
  g_autofree char *out = g_build_filename (f->dir, "tokenizer.gguf", NULL);
  g_autoptr(temper_tokenizer_t) hf = NULL, back = NULL, ref = NULL;
  g_autoptr(temper_gguf_writer_t) w = temper_gguf_writer_new ();
  g_autoptr(temper_gguf_t) gguf = NULL, ref_gguf = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *model = NULL, *pre = NULL;
  JsonArray *corpus;
  guint n_tokens = 0, n_strings = 0, n_like_hf = 0;

  hf = temper_tokenizer_new_from_hf (json, g_file_test (cfg, G_FILE_TEST_EXISTS) ? cfg : NULL,
                                     &error);
  g_assert_no_error (error);
  g_assert_true (temper_export_gguf_tokenizer (w, hf, "{{ messages }}", NULL, NULL,
                                               temper_tokenizer_get_n_vocab (hf), json, &error));
  g_assert_no_error (error);
  g_assert_true (temper_gguf_writer_write (w, out, &error));
  g_assert_no_error (error);
  gguf = temper_gguf_open (out, &error);
  g_assert_no_error (error);
  model = temper_gguf_dup_string (gguf, "tokenizer.ggml.model");
  pre = temper_gguf_dup_string (gguf, "tokenizer.ggml.pre");
  g_assert_cmpstr (model, ==, want_model);
  g_assert_cmpstr (pre, ==, want_pre);
  back = temper_tokenizer_new_from_gguf (gguf, &error);
  g_assert_no_error (error);
  ref_gguf = temper_gguf_open (ref_path, &error);
  g_assert_no_error (error);
  ref = temper_tokenizer_new_from_gguf (ref_gguf, &error);
  g_assert_no_error (error);

  g_assert_cmpint (temper_tokenizer_get_n_vocab (back), ==, temper_tokenizer_get_n_vocab (hf));
  g_assert_cmpint (temper_tokenizer_get_bos (back), ==, temper_tokenizer_get_bos (hf));
  g_assert_cmpint (temper_tokenizer_get_eos (back), ==, temper_tokenizer_get_eos (hf));
  g_assert_cmpint (temper_tokenizer_adds_bos (back), ==, temper_tokenizer_adds_bos (hf));
  g_assert_cmpstr (temper_tokenizer_get_chat_template (back), ==, "{{ messages }}");
  /* Control tokens as llama.cpp's converter marks them (<unk> is of the
   * "unknown" kind there, not a control token). */
  for (int i = 0; i < temper_tokenizer_get_n_vocab (hf); i++)
    g_assert_cmpint (temper_tokenizer_is_special (back, i), ==, temper_tokenizer_is_special (ref, i));

  assert_same_ids (hf, back, multilingual, FALSE);
  assert_same_ids (ref, back, multilingual, FALSE);
  g_assert_true (json_parser_load_from_file (parser, corpus_path, &error));
  g_assert_no_error (error);
  corpus = json_node_get_array (json_parser_get_root (parser));
  for (guint i = 0; i < json_array_get_length (corpus); i++)
    {
      const char *text = json_array_get_string_element (corpus, i);
      g_autoptr(GArray) ids = temper_tokenizer_encode (hf, text, -1, TRUE);

      if (ids->len == 0)
        continue;
      n_strings++;
      n_tokens += ids->len;
      for (int special = 0; special < 2; special++)
        {
          assert_same_ids (ref, back, text, special);
          if (same_ids (hf, ref, text, special))
            assert_same_ids (hf, back, text, special);
        }
      n_like_hf += same_ids (hf, back, text, FALSE) && same_ids (hf, back, text, TRUE);
    }
  g_test_message ("%s: %u corpus strings (%u tokens): all as the GGUF reference, %u as "
                  "tokenizer.json", name, n_strings, n_tokens, n_like_hf);
  g_assert_cmpuint (n_tokens, >, 1000);
  g_assert_cmpuint (n_like_hf, >=, n_strings - 3);
  check_vocab_rows (f, hf, json);
}

static void
test_tokenizer_qwen2 (Fixture *f, gconstpointer data)
{
  (void) data;
  check_tokenizer (f, "qwen2", "gpt2", "qwen2");
}

static void
test_tokenizer_llama3 (Fixture *f, gconstpointer data)
{
  (void) data;
  check_tokenizer (f, "llama3", "gpt2", "llama-bpe");
}

static void
test_tokenizer_spm (Fixture *f, gconstpointer data)
{
  (void) data;
  check_tokenizer (f, "spm", "llama", "default");   /* as convert_hf_to_gguf.py writes it */
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(path, fn) g_test_add (path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
  ADD ("/export/gguf-hf/qwen2-f16", test_qwen2_f16);
  ADD ("/export/gguf-hf/qwen2-q8_0", test_qwen2_q8_0);
  ADD ("/export/gguf-hf/qwen2-q4_k_m", test_qwen2_q4_k_m);
  ADD ("/export/gguf-hf/llama-f16", test_llama_f16);
  ADD ("/export/gguf-hf/as-llama-cpp-qwen2", test_llama_cpp_qwen2);
  ADD ("/export/gguf-hf/as-llama-cpp-llama", test_llama_cpp_llama);
  ADD ("/export/gguf-hf/unnamed-pre-tokenizer", test_unnamed_pre_tokenizer_refused);
  ADD ("/export/gguf-hf/smollm-pre-tokenizer", test_smollm_pre_tokenizer);
  ADD ("/export/gguf-hf/tokenizer-qwen2", test_tokenizer_qwen2);
  ADD ("/export/gguf-hf/tokenizer-llama3", test_tokenizer_llama3);
  ADD ("/export/gguf-hf/tokenizer-spm", test_tokenizer_spm);
  return g_test_run ();
}
