/* SPDX-License-Identifier: MIT */
/* test-export-families — every export of every dense family, as the tools
 * people load them with see it.  The references (make-family-export-
 * fixtures.py) are PEFT and transformers on Temper's PEFT adapter and merged
 * folder, and llama.cpp on Temper's GGUF LoRA (over the family's GGUF made
 * by llama.cpp's converter) and merged GGUF.  Temper's own logits with the
 * same adapter must match each, and the greedy continuations agree; the
 * merged GGUF keeps every metadata key of its base.
 *
 * Merges that change format: the GGUF model with its adapter merged into a
 * Hugging Face folder must answer as PEFT does with that adapter on the
 * Hugging Face model, in transformers and in Temper, with the tensor names
 * and settings of the family's own folder; the Hugging Face model with its
 * adapter merged into a GGUF must answer in llama.cpp and in Temper as the
 * model with the adapter does, with the keys and tensors llama.cpp's
 * converter writes for the family. */
#include "family-export-util.h"

#include <math.h>
#include <string.h>

#include "temper/error.h"

#include "temper/generate.h"
#include "temper/gguf.h"
#include "temper/json.h"
#include "temper/safetensors.h"
#include "temper/tokenizer.h"
#include "../test-tree.h"

/* transformers and PEFT compute in f32 in their own order. */
#define LOGITS_TOLERANCE 1e-4
/* llama.cpp's f32 CPU path: on the bases alone it differs from transformers
 * by up to 4e-4 (Gemma 3's tiny model; 1e-6 for Llama). */
#define LLAMA_CPP_TOLERANCE 2e-3
/* On an F16 file llama.cpp rounds the activations to F16 for each product;
 * Temper keeps them in f32: up to 1.2e-3 measured. */
#define LLAMA_CPP_F16_TOLERANCE 5e-3

static GArray *
int_array (JsonObject *obj, const char *member)
{
  JsonArray *a = json_object_get_array_member (obj, member);
  GArray *out = g_array_new (FALSE, FALSE, sizeof (gint32));

  for (guint i = 0; i < json_array_get_length (a); i++)
    {
      gint32 v = (gint32) json_array_get_int_element (a, i);
      g_array_append_val (out, v);
    }
  return out;
}

static double
error_vs (JsonObject *obj, const char *member, const float *logits, int n_vocab)
{
  JsonArray *ref = json_object_get_array_member (obj, member);
  double num = 0, den = 0;

  g_assert_cmpint (json_array_get_length (ref), ==, n_vocab);
  for (int i = 0; i < n_vocab; i++)
    {
      double r = json_array_get_double_element (ref, i), d = logits[i] - r;
      num += d * d;
      den += r * r;
    }
  return sqrt (num / den);
}

static float *
temper_logits (temper_model_t *model, temper_adapter_t *adapter, GArray *prompt)
{
  TemperGeneratorOptions options = { .n_ctx = 128, .n_threads = 1, .exact = TRUE };
  g_autoptr(GError) error = NULL;
  g_autoptr(temper_generator_t) gen = temper_generator_new (model, &options, &error);
  float *logits = g_new (float, temper_model_get_config (model)->n_vocab);

  g_assert_no_error (error);
  g_assert_true (temper_generator_set_adapter (gen, adapter, &error));
  g_assert_true (temper_generator_eval (gen, (const gint32 *) prompt->data, (int) prompt->len, logits, NULL, &error));
  g_assert_no_error (error);
  return logits;
}

/* Temper's greedy tokens (no penalty) are the reference's first ones; it may
 * stop earlier at an end token, where the reference goes on.  At least
 * @min_equal must agree: all where both compute in f32; on an F16 file
 * llama.cpp's F16-rounded activations may flip a near tie later on. */
static void
assert_greedy (temper_model_t *model, temper_adapter_t *adapter, GArray *prompt, JsonObject *obj,
               const char *member, guint min_equal)
{
  TemperGeneratorOptions options = { .n_ctx = 128, .n_threads = 1, .exact = TRUE };
  TemperSamplingParams params;
  TemperGenerateResult result = { 0 };
  g_autoptr(GError) error = NULL;
  g_autoptr(temper_generator_t) gen = temper_generator_new (model, &options, &error);
  g_autoptr(GArray) expected = int_array (obj, member);
  guint n;

  g_assert_no_error (error);
  temper_sampling_params_init (&params);
  params.temperature = 0.0f;
  params.repeat_penalty = 1.0f;
  params.max_tokens = (int) expected->len;
  g_assert_true (temper_generator_set_adapter (gen, adapter, &error));
  g_assert_true (temper_generator_generate (gen, (const gint32 *) prompt->data, (int) prompt->len, &params,
                                            NULL, NULL, NULL, &result, &error));
  g_assert_no_error (error);
  n = MIN (result.tokens->len, expected->len);
  g_assert_cmpuint (n, >=, 1);
  for (guint i = 0; i < n; i++)
    if (g_array_index (result.tokens, gint32, i) != g_array_index (expected, gint32, i))
      {
        g_test_message ("%s: first %u of %u tokens equal", member, i, n);
        g_assert_cmpuint (i, >=, MIN (min_equal, n));
        break;
      }
  temper_generate_result_clear (&result);
}

/* How many greedy tokens llama.cpp must agree on: all, but only those inside
 * the sliding window for Phi-3, whose window llama.cpp ends one position
 * away from transformers' (and Temper's). */
static guint
llama_cpp_min_equal (temper_model_t *model, GArray *prompt)
{
  const TemperModelConfig *c = temper_model_get_config (model);

  if (c->arch != TEMPER_ARCH_PHI3 || c->sliding_window <= 0)
    return G_MAXUINT;
  return (guint) MAX (1, c->sliding_window - (int) prompt->len);
}

/* Every key llama.cpp's converter wrote into the base is in the merged file
 * with the same type (rope factors, softcaps, windows, norm epsilons …). */
static void
assert_metadata_kept (const char *base_path, const char *merged_path)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(temper_gguf_t) base = temper_gguf_open (base_path, &error);
  g_autoptr(temper_gguf_t) merged = temper_gguf_open (merged_path, &error);

  g_assert_no_error (error);
  for (guint64 i = 0; i < temper_gguf_get_n_kv (base); i++)
    {
      const char *key = temper_gguf_get_key (base, i);
      TemperGgufValueType a, b;

      g_assert_true (temper_gguf_get_value_type (base, key, &a));
      if (!temper_gguf_get_value_type (merged, key, &b))
        g_error ("%s: the merged GGUF lacks %s", merged_path, key);
      g_assert_cmpint (a, ==, b);
    }
}

/* ‖a − b‖ / ‖b‖: Temper against Temper, no reference file. */
static double
error_between (const float *a, const float *b, int n)
{
  double num = 0, den = 0;

  for (int i = 0; i < n; i++)
    {
      double d = (double) a[i] - b[i];
      num += d * d;
      den += (double) b[i] * b[i];
    }
  return sqrt (num / den);
}

/* Whether key @key has the same type and value in both files. */
static gboolean
same_key (const temper_gguf_t *a, const temper_gguf_t *b, const char *key)
{
  TemperGgufValueType ta, tb;

  if (!temper_gguf_get_value_type (a, key, &ta) || !temper_gguf_get_value_type (b, key, &tb) || ta != tb)
    return FALSE;
  switch (ta)
    {
    case TEMPER_GGUF_UINT32:
      {
        guint32 x = 0, y = 1;
        return temper_gguf_get_u32 (a, key, &x) && temper_gguf_get_u32 (b, key, &y) && x == y;
      }
    case TEMPER_GGUF_FLOAT32:
      {
        float x = 0, y = 1;
        return temper_gguf_get_f32 (a, key, &x) && temper_gguf_get_f32 (b, key, &y) &&
               fabsf (x - y) <= 1e-6f * fabsf (x);
      }
    case TEMPER_GGUF_BOOL:
      {
        gboolean x = FALSE, y = TRUE;
        return temper_gguf_get_bool (a, key, &x) && temper_gguf_get_bool (b, key, &y) && x == y;
      }
    case TEMPER_GGUF_STRING:
      {
        g_autofree char *x = temper_gguf_dup_string (a, key), *y = temper_gguf_dup_string (b, key);
        return g_strcmp0 (x, y) == 0;
      }
    default:
      return TRUE;
    }
}

/* Every special token llama.cpp's converter wrote into @converted_path
 * (tokenizer.ggml.*_token_id: BOS, EOS, unknown, padding, end of turn) has
 * the same id in @path, and tokenizer.ggml.pre (the pre-tokenizer llama.cpp
 * splits text with) is the converter's.  The token lists are compared by
 * tokenizing (assert_tokenizes_as_family).
 *
 * @hf_family: the family when @path was made from its Hugging Face folder
 * (NULL for a GGUF base, whose key is copied).  make-family-fixtures.py
 * gives a few byte-level families the converter's name for their real
 * tokenizer (BPE_PRE: llama.cpp names a tokenizer by hashing what it makes
 * of a test text, which a tiny trained one cannot match), but their tiny
 * tokenizer.json splits as plain GPT-2 byte level; a GGUF made from that
 * folder names what the tokenizer really is, "gpt-2". */
static void
assert_tokenizer_keys_like_converter (const char *converted_path, const char *path, const char *hf_family)
{
  static const char *const named_by_family[] = { "llama31", "qwen3", "qwen3moe", "qwen3-yarn", "glm4", NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(temper_gguf_t) converted = temper_gguf_open (converted_path, &error);
  g_autoptr(temper_gguf_t) other = temper_gguf_open (path, &error);
  guint n_special = 0;

  g_assert_no_error (error);
  if (hf_family != NULL && g_strv_contains (named_by_family, hf_family))
    {
      g_autofree char *got = temper_gguf_dup_string (other, "tokenizer.ggml.pre");

      g_assert_cmpstr (got, ==, "gpt-2");
    }
  else if (!same_key (converted, other, "tokenizer.ggml.pre"))
    {
      g_autofree char *want = temper_gguf_dup_string (converted, "tokenizer.ggml.pre");
      g_autofree char *got = temper_gguf_dup_string (other, "tokenizer.ggml.pre");

      g_error ("%s: tokenizer.ggml.pre is “%s”, llama.cpp's converter wrote “%s”", path,
               got != NULL ? got : "(none)", want != NULL ? want : "(none)");
    }
  for (guint64 i = 0; i < temper_gguf_get_n_kv (converted); i++)
    {
      const char *key = temper_gguf_get_key (converted, i);

      if (!g_str_has_prefix (key, "tokenizer.ggml.") || !g_str_has_suffix (key, "_token_id"))
        continue;
      if (!same_key (converted, other, key))
        g_error ("%s: %s differs from llama.cpp's converter (or is missing)", path, key);
      n_special++;
    }
  g_assert_cmpuint (n_special, >=, 1);
}

/* The GGUF Temper merged from the Hugging Face model holds what llama.cpp's
 * converter wrote into the family's GGUF (made from the same folder): the
 * architecture, every "<arch>." key with its value, and every tensor under
 * the same name and shape (rope_freqs, attn_qkv, post norms …). */
static void
assert_like_converter (const char *converted_path, const char *cross_path)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(temper_gguf_t) converted = temper_gguf_open (converted_path, &error);
  g_autoptr(temper_gguf_t) cross = temper_gguf_open (cross_path, &error);
  g_autofree char *arch = NULL;
  g_autofree char *prefix = NULL;

  g_assert_no_error (error);
  arch = temper_gguf_dup_string (converted, "general.architecture");
  prefix = g_strconcat (arch, ".", NULL);
  g_assert_true (same_key (converted, cross, "general.architecture"));
  g_assert_true (same_key (converted, cross, "tokenizer.ggml.model"));
  for (guint64 i = 0; i < temper_gguf_get_n_kv (converted); i++)
    {
      const char *key = temper_gguf_get_key (converted, i);

      if (g_str_has_prefix (key, prefix) && !same_key (converted, cross, key))
        g_error ("%s: %s differs from llama.cpp's converter", cross_path, key);
    }
  g_assert_cmpuint (temper_gguf_get_n_tensors (converted), ==, temper_gguf_get_n_tensors (cross));
  for (guint64 i = 0; i < temper_gguf_get_n_tensors (converted); i++)
    {
      TemperTensorView v;
      int64_t ne[4], ne_cross[4];
      guint32 n_dims, n_dims_cross;
      guint64 n_bytes;
      guint64 j;

      temper_gguf_get_tensor (converted, i, &v);
      temper_gguf_get_tensor_shape (converted, i, ne, &n_dims, &n_bytes);
      for (j = 0; j < temper_gguf_get_n_tensors (cross); j++)
        {
          TemperTensorView w;

          temper_gguf_get_tensor (cross, j, &w);
          if (strcmp (w.name, v.name) == 0)
            break;
        }
      if (j == temper_gguf_get_n_tensors (cross))
        g_error ("%s lacks the tensor %s", cross_path, v.name);
      temper_gguf_get_tensor_shape (cross, j, ne_cross, &n_dims_cross, &n_bytes);
      g_assert_cmpuint (n_dims, ==, n_dims_cross);
      for (guint32 d = 0; d < n_dims; d++)
        g_assert_cmpint (ne[d], ==, ne_cross[d]);
    }
}

/* The folder Temper merged from the GGUF holds the tensors of the family's
 * own folder (fused where it fuses, its norm names) and its settings. */
static void
assert_like_family_folder (const char *family, const char *cross_dir)
{
  g_autofree char *own_dir = family_fixture (family);
  g_autofree char *own_st = g_build_filename (own_dir, "model.safetensors", NULL);
  g_autofree char *cross_st = g_build_filename (cross_dir, "model.safetensors", NULL);
  g_autofree char *own_cfg = g_build_filename (own_dir, "config.json", NULL);
  g_autofree char *cross_cfg = g_build_filename (cross_dir, "config.json", NULL);
  static const char *const settings[] = {
    "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads", "num_key_value_heads",
    "head_dim", "max_position_embeddings", "vocab_size", "tie_word_embeddings", "query_pre_attn_scalar",
    "attn_logit_softcapping", "final_logit_softcapping", "sliding_window", "partial_rotary_factor",
    "attention_bias", "rms_norm_eps", "model_type",
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(temper_safetensors_t) own = temper_safetensors_open (own_st, &error);
  g_autoptr(temper_safetensors_t) cross = temper_safetensors_open (cross_st, &error);
  g_autoptr(JsonNode) own_root = temper_json_parse_file (own_cfg, TEMPER_JSON_MAX_SETTINGS_SIZE, &error);
  g_autoptr(JsonNode) cross_root = temper_json_parse_file (cross_cfg, TEMPER_JSON_MAX_SETTINGS_SIZE, &error);
  JsonObject *a, *b;
  /* llama.cpp's converter writes no window for the llama architecture, so
   * the family's GGUF (and a folder made from it) is a Llama without one. */
  gboolean windowless_gguf = strcmp (family, "mistral") == 0;

  g_assert_no_error (error);
  for (guint i = 0; i < temper_safetensors_get_n_tensors (own); i++)
    {
      const char *name = temper_safetensors_get_name (own, i);

      if (!temper_safetensors_get_info (cross, name, NULL))
        g_error ("%s lacks the tensor %s", cross_dir, name);
    }
  g_assert_cmpuint (temper_safetensors_get_n_tensors (own), ==, temper_safetensors_get_n_tensors (cross));
  a = json_node_get_object (own_root);
  b = json_node_get_object (cross_root);
  for (gsize i = 0; i < G_N_ELEMENTS (settings); i++)
    {
      JsonNode *x, *y;

      if (!json_object_has_member (a, settings[i]) || JSON_NODE_HOLDS_NULL (json_object_get_member (a, settings[i])))
        continue;
      if (windowless_gguf && (strcmp (settings[i], "sliding_window") == 0 || strcmp (settings[i], "model_type") == 0))
        continue;
      x = json_object_get_member (a, settings[i]);
      g_assert_true (json_object_has_member (b, settings[i]));
      y = json_object_get_member (b, settings[i]);
      if (json_node_get_value_type (x) == G_TYPE_STRING || json_node_get_value_type (x) == G_TYPE_BOOLEAN)
        g_assert_true (json_node_equal (x, y));
      else
        g_assert_cmpfloat_with_epsilon (json_node_get_double (x), json_node_get_double (y),
                                        1e-6 * fabs (json_node_get_double (x)));
    }
}

/* @model splits the family's test text into the ids its own Hugging Face
 * tokenizer gives (tests/fixtures/families/<family>.json). */
static void
assert_tokenizes_as_family (const char *family, temper_model_t *model)
{
  g_autofree char *name = g_strconcat (family, ".json", NULL);
  g_autofree char *path = family_fixture (name);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) expected = NULL, ids = NULL;
  JsonObject *obj;

  g_assert_true (json_parser_load_from_file (parser, path, &error));
  obj = json_node_get_object (json_parser_get_root (parser));
  expected = int_array (obj, "tokenizer_ids");
  ids = temper_tokenizer_encode (temper_model_get_tokenizer (model),
                                 json_object_get_string_member (obj, "tokenizer_text"), -1, FALSE);
  g_assert_cmpuint (ids->len, ==, expected->len);
  for (guint i = 0; i < ids->len; i++)
    g_assert_cmpint (g_array_index (ids, gint32, i), ==, g_array_index (expected, gint32, i));
}

/* The merges that change format (see the top of the file). */
static void
assert_cross_format (const char *family, JsonObject *obj, temper_model_t *hf, temper_adapter_t *hf_adapter,
                     temper_model_t *gguf, temper_adapter_t *gguf_adapter, GArray *prompt, const char *dir)
{
  g_autofree char *cross_hf_path = g_build_filename (dir, "cross-hf", NULL);
  g_autofree char *cross_path = g_build_filename (dir, "cross.gguf", NULL);
  g_autofree char *base_gguf = family_fixture (family);
  g_autofree char *base_gguf_path = g_strconcat (base_gguf, ".gguf", NULL);
  g_autoptr(temper_model_t) cross_hf = NULL, cross = NULL;
  g_autofree float *gguf_with_adapter = NULL, *hf_with_adapter = NULL, *cross_hf_logits = NULL, *cross_logits = NULL;
  g_autoptr(GError) error = NULL;
  int n_vocab = temper_model_get_config (hf)->n_vocab;
  double peft_err, transformers_err, own_err;

  /* Both merges are offered for every family here. */
  g_assert_true (temper_export_merge_supported (gguf, TEMPER_EXPORT_MERGED_HF, NULL));
  g_assert_true (temper_export_merge_supported (hf, TEMPER_EXPORT_MERGED_GGUF, NULL));

  /* GGUF base → Hugging Face folder. */
  gguf_with_adapter = temper_logits (gguf, gguf_adapter, prompt);
  cross_hf = temper_model_load (cross_hf_path, NULL, &error);
  g_assert_no_error (error);
  cross_hf_logits = temper_logits (cross_hf, NULL, prompt);
  peft_err = error_vs (obj, "gguf_peft_logits", gguf_with_adapter, n_vocab);
  transformers_err = error_vs (obj, "cross_hf_logits", cross_hf_logits, n_vocab);
  own_err = error_vs (obj, "gguf_peft_logits", cross_hf_logits, n_vocab);
  g_test_message ("%s GGUF->HF: the GGUF with the adapter vs PEFT %.2e; the merged folder in Temper vs "
                  "transformers %.2e, vs PEFT %.2e; merged weights vs PEFT's merge %.2e", family, peft_err,
                  transformers_err, own_err, json_object_get_double_member (obj, "cross_hf_max_error"));
  g_assert_cmpfloat (peft_err, <=, LOGITS_TOLERANCE);
  g_assert_cmpfloat (transformers_err, <=, LOGITS_TOLERANCE);
  g_assert_cmpfloat (own_err, <=, LOGITS_TOLERANCE);
  g_assert_cmpfloat (error_vs (obj, "base_logits", cross_hf_logits, n_vocab), >, 0.02);
  /* Temper reading its own folder answers as the GGUF with the adapter
   * (both f32: only the order of sums differs). */
  g_assert_cmpfloat (error_between (cross_hf_logits, gguf_with_adapter, n_vocab), <=, 1e-5);
  assert_greedy (cross_hf, NULL, prompt, obj, "cross_hf_greedy", G_MAXUINT);
  assert_greedy (gguf, gguf_adapter, prompt, obj, "gguf_peft_greedy", G_MAXUINT);
  assert_like_family_folder (family, cross_hf_path);
  assert_tokenizes_as_family (family, cross_hf);

  /* Hugging Face base → GGUF. */
  hf_with_adapter = temper_logits (hf, hf_adapter, prompt);
  cross = temper_model_load (cross_path, NULL, &error);
  g_assert_no_error (error);
  cross_logits = temper_logits (cross, NULL, prompt);
  /* F16 rounding of the merged weights moves the logits a little only. */
  own_err = error_vs (obj, "peft_logits", cross_logits, n_vocab);
  g_assert_cmpfloat (own_err, <=, 1e-2);
  g_assert_cmpfloat (error_between (cross_logits, hf_with_adapter, n_vocab), <=, 1e-2);
  if (json_object_has_member (obj, "cross_logits"))
    {
      double llama_err = error_vs (obj, "cross_logits", cross_logits, n_vocab);

      g_test_message ("%s HF->GGUF: the merged F16 GGUF in Temper vs llama.cpp %.2e, vs PEFT %.2e; "
                      "llama.cpp vs the model with the adapter %.2e", family, llama_err, own_err,
                      error_vs (obj, "cross_logits", hf_with_adapter, n_vocab));
      g_assert_cmpfloat (llama_err, <=, LLAMA_CPP_F16_TOLERANCE);
      g_assert_cmpfloat (error_vs (obj, "cross_logits", hf_with_adapter, n_vocab), <=, 1e-2);
      assert_greedy (cross, NULL, prompt, obj, "cross_greedy", MIN (3, llama_cpp_min_equal (cross, prompt)));
    }
  else
    g_test_message ("%s HF->GGUF: the merged F16 GGUF in Temper vs PEFT %.2e (no llama.cpp reference)",
                    family, own_err);
  assert_like_converter (base_gguf_path, cross_path);
  assert_tokenizer_keys_like_converter (base_gguf_path, cross_path, family);
  assert_tokenizes_as_family (family, cross);
}

/* The test's temporary folder.  The test body runs in a child process
 * with the folder made here (named in TEMPER_TEST_DIR), so that the folder
 * is removed when the child fails an assertion too; TEMPER_KEEP_TEST_FILES
 * keeps it for a look.  NULL in the parent, which has then run the child
 * and checked that it passed. */
static const char *
temp_folder_or_run_child (void)
{
  g_autofree char *dir = NULL;

  if (g_test_subprocess ())
    return g_getenv ("TEMPER_TEST_DIR");
  dir = g_dir_make_tmp ("temper-family-export-XXXXXX", NULL);
  g_assert_nonnull (dir);
  g_setenv ("TEMPER_TEST_DIR", dir, TRUE);
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDOUT | G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_unsetenv ("TEMPER_TEST_DIR");
  if (g_getenv ("TEMPER_KEEP_TEST_FILES") != NULL)
    g_test_message ("kept %s (TEMPER_KEEP_TEST_FILES)", dir);
  else
    test_remove_tree (dir);
  g_test_trap_assert_passed ();
  return NULL;
}

static void
check_family (const char *family, const char *dir)
{
  g_autofree char *name = g_strconcat (family, ".json", NULL);
  const char *src = g_getenv ("TEMPER_SOURCE_DIR");
  g_autofree char *json_path = g_build_filename (src != NULL ? src : TEMPER_SOURCE_DIR, "tests", "fixtures",
                                                 "export", "families", name, NULL);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(temper_model_t) hf = family_model (family, FALSE);
  g_autoptr(temper_model_t) gguf = family_model (family, TRUE);
  g_autoptr(temper_adapter_t) hf_adapter = family_adapter (hf);
  g_autoptr(temper_adapter_t) gguf_adapter = family_adapter (gguf);
  g_autofree char *merged_path = g_build_filename (dir, "merged.gguf", NULL);
  g_autofree char *merged_hf_path = g_build_filename (dir, "merged-hf", NULL);
  g_autofree char *base_gguf = family_fixture (family);
  g_autofree char *base_gguf_path = g_strconcat (base_gguf, ".gguf", NULL);
  g_autoptr(temper_model_t) merged = NULL, merged_hf = NULL;
  g_autoptr(GArray) prompt = NULL;
  g_autofree float *with_adapter = NULL, *gguf_with_adapter = NULL, *merged_logits = NULL, *merged_hf_logits = NULL;
  g_autoptr(GError) error = NULL;
  JsonObject *obj;
  int n_vocab = temper_model_get_config (hf)->n_vocab;
  double peft_err, lora_err, merged_hf_err, merged_err;
  gboolean have_llama_cpp;

  g_assert_true (json_parser_load_from_file (parser, json_path, &error));
  g_assert_no_error (error);
  obj = json_node_get_object (json_parser_get_root (parser));
  prompt = int_array (obj, "prompt");
  have_llama_cpp = json_object_has_member (obj, "lora_logits");

  /* PEFT (and llama.cpp with the GGUF LoRA) on the model as the adapter
   * was trained: the Hugging Face one. */
  with_adapter = temper_logits (hf, hf_adapter, prompt);
  peft_err = error_vs (obj, "peft_logits", with_adapter, n_vocab);
  lora_err = have_llama_cpp ? error_vs (obj, "lora_logits", with_adapter, n_vocab) : 0.0;
  merged_hf_err = error_vs (obj, "merged_hf_logits", with_adapter, n_vocab);
  g_test_message ("%s: vs PEFT %.2e, llama.cpp LoRA %.2e, transformers on the merged folder %.2e; "
                  "merged weights vs PEFT's merge %.2e", family, peft_err, lora_err, merged_hf_err,
                  json_object_get_double_member (obj, "merged_hf_max_error"));
  g_assert_cmpfloat (peft_err, <=, LOGITS_TOLERANCE);
  g_assert_cmpfloat (lora_err, <=, LLAMA_CPP_TOLERANCE);
  g_assert_cmpfloat (merged_hf_err, <=, LOGITS_TOLERANCE);
  /* The adapter matters: without it the answer is another. */
  g_assert_cmpfloat (error_vs (obj, "base_logits", with_adapter, n_vocab), >, 0.02);
  assert_greedy (hf, hf_adapter, prompt, obj, "peft_greedy", G_MAXUINT);
  if (have_llama_cpp)
    assert_greedy (hf, hf_adapter, prompt, obj, "lora_greedy", llama_cpp_min_equal (hf, prompt));

  /* Today's exports: the merged folder re-opened in Temper answers as the
   * transformers reference did, and the merged GGUF as llama.cpp did. */
  family_write_exports (family, dir);
  merged_hf = temper_model_load (merged_hf_path, NULL, &error);
  g_assert_no_error (error);
  merged_hf_logits = temper_logits (merged_hf, NULL, prompt);
  g_assert_cmpfloat (error_vs (obj, "merged_hf_logits", merged_hf_logits, n_vocab), <=, LOGITS_TOLERANCE);

  merged = temper_model_load (merged_path, NULL, &error);
  g_assert_no_error (error);
  if (have_llama_cpp)
    {
      merged_logits = temper_logits (merged, NULL, prompt);
      merged_err = error_vs (obj, "merged_logits", merged_logits, n_vocab);
      gguf_with_adapter = temper_logits (gguf, gguf_adapter, prompt);
      g_test_message ("%s: merged F16 GGUF in Temper vs llama.cpp %.2e; vs the F32 base with the adapter %.2e",
                      family, merged_err, error_vs (obj, "merged_logits", gguf_with_adapter, n_vocab));
      g_assert_cmpfloat (merged_err, <=, LLAMA_CPP_F16_TOLERANCE);
      /* F16 rounding of the merged weights moves the logits a little only. */
      g_assert_cmpfloat (error_vs (obj, "merged_logits", gguf_with_adapter, n_vocab), <=, 1e-2);
      assert_greedy (merged, NULL, prompt, obj, "merged_greedy", MIN (3, llama_cpp_min_equal (merged, prompt)));
    }
  else
    g_test_message ("%s: the fixture has no llama.cpp references (%s)", family,
                    json_object_get_string_member_with_default (obj, "llama_cpp_refuses_base",
                                                                "made without llama.cpp"));
  assert_metadata_kept (base_gguf_path, merged_path);
  assert_tokenizer_keys_like_converter (base_gguf_path, merged_path, NULL);
  assert_cross_format (family, obj, hf, hf_adapter, gguf, gguf_adapter, prompt, dir);
}

static void
test_family (gconstpointer data)
{
  const char *dir = temp_folder_or_run_child ();

  if (dir != NULL)
    check_family (data, dir);
}

/* A copy of the family's Hugging Face folder in @dir with @key of its
 * config.json set to @value. */
static char *
edited_folder (const char *family, const char *dir, const char *key, gint64 value)
{
  g_autofree char *src = family_fixture (family);
  char *dst = g_build_filename (dir, family, NULL);
  const char *files[] = { "config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json" };
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (g_mkdir (dst, 0755), ==, 0);
  for (gsize i = 0; i < G_N_ELEMENTS (files); i++)
    {
      g_autofree char *from = g_build_filename (src, files[i], NULL);
      g_autofree char *to = g_build_filename (dst, files[i], NULL);
      g_autofree char *data = NULL;
      gsize len;

      g_assert_true (g_file_get_contents (from, &data, &len, &error));
      if (i == 0)
        {
          g_autoptr(JsonNode) root = json_from_string (data, &error);
          g_autoptr(JsonGenerator) gen = json_generator_new ();

          g_assert_no_error (error);
          json_object_set_int_member (json_node_get_object (root), key, value);
          json_generator_set_root (gen, root);
          g_free (data);
          data = json_generator_to_data (gen, &len);
        }
      g_assert_true (g_file_set_contents (to, data, (gssize) len, &error));
    }
  return dst;
}

/* A copy of the Llama 3.1 GGUF in @dir whose rope_freqs.weight no
 * llama3 setting gives (not monotonic). */
static char *
odd_rope_gguf (const char *dir)
{
  g_autofree char *base = family_fixture ("llama31.gguf");
  char *path = g_build_filename (dir, "odd-rope.gguf", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(temper_gguf_t) gguf = temper_gguf_open (base, &error);
  g_autofree char *data = NULL;
  const float odd[8] = { 1.0f, 3.0f, 1.0f, 5.0f, 2.0f, 7.0f, 1.0f, 8.0f };
  TemperTensorView freqs;
  gsize len;
  char *at;

  g_assert_no_error (error);
  g_assert_true (temper_gguf_find_tensor (gguf, "rope_freqs.weight", &freqs));
  g_assert_cmpint (freqs.ne[0], ==, 8);
  g_assert_true (g_file_get_contents (base, &data, &len, &error));
  at = memmem (data, len, freqs.data, sizeof odd);
  g_assert_nonnull (at);
  memcpy (at, odd, sizeof odd);
  g_assert_true (g_file_set_contents (path, data, (gssize) len, &error));
  return path;
}

/* temper_export_merge_supported() refuses @model into @format with the
 * message the merge itself then fails with, and the merge writes nothing. */
static void
assert_merge_refused (temper_model_t *model, TemperExportMergedFormat format, const char *out,
                      const char *family, const char *what)
{
  g_autoptr(GError) asked = NULL, merging = NULL;

  g_assert_false (temper_export_merge_supported (model, format, &asked));
  g_assert_error (asked, TEMPER_ERROR, TEMPER_ERROR_UNSUPPORTED);
  g_assert_nonnull (strstr (asked->message, family));
  g_assert_nonnull (strstr (asked->message, what));
  if (format == TEMPER_EXPORT_MERGED_GGUF)
    g_assert_false (temper_export_merged_gguf (model, NULL, TEMPER_EXPORT_F16, out, NULL, &merging));
  else
    g_assert_false (temper_export_merged_hf (model, NULL, TEMPER_EXPORT_HF_F32, 0, out, NULL, &merging));
  g_assert_error (merging, TEMPER_ERROR, TEMPER_ERROR_UNSUPPORTED);
  g_assert_cmpstr (merging->message, ==, asked->message);
  g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));
  /* The base's own format is always open. */
  g_assert_true (temper_export_merge_supported (model, format == TEMPER_EXPORT_MERGED_GGUF ?
                                                TEMPER_EXPORT_MERGED_HF : TEMPER_EXPORT_MERGED_GGUF, NULL));
}

/* What a GGUF cannot hold is refused by the family's name, and nothing is
 * written: a Gemma 2 whose query_pre_attn_scalar is not llama.cpp's rule, a
 * Qwen3-MoE with dense layers among its experts (and weights llama.cpp
 * would renormalise); and into a folder, RoPE frequency factors that are
 * not Llama 3.1's formula. */
static void
check_cross_format_refused (const char *dir)
{
  g_autofree char *gemma_dir = edited_folder ("gemma2", dir, "query_pre_attn_scalar", 32);
  g_autofree char *moe_dir = family_fixture ("qwen3moe-mixed");
  g_autofree char *out = g_build_filename (dir, "merged.gguf", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(temper_model_t) gemma = temper_model_load (gemma_dir, NULL, &error);
  g_autoptr(temper_model_t) moe = NULL;

  g_assert_no_error (error);
  assert_merge_refused (gemma, TEMPER_EXPORT_MERGED_GGUF, out, "Gemma 2", "query_pre_attn_scalar");
  moe = temper_model_load (moe_dir, NULL, &error);
  g_assert_no_error (error);
  assert_merge_refused (moe, TEMPER_EXPORT_MERGED_GGUF, out, "Qwen3-MoE", "mlp_only_layers");

  /* RoPE frequency factors config.json cannot say. */
  {
    g_autofree char *odd_path = odd_rope_gguf (dir);
    g_autofree char *hf_out = g_build_filename (dir, "merged-hf", NULL);
    g_autoptr(temper_model_t) odd = temper_model_load (odd_path, NULL, &error);

    g_assert_no_error (error);
    assert_merge_refused (odd, TEMPER_EXPORT_MERGED_HF, hf_out, "odd-rope.gguf", "Llama 3.1");
  }
}

static void
test_cross_format_refused (void)
{
  const char *dir = temp_folder_or_run_child ();

  if (dir != NULL)
    check_cross_format_refused (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  for (gsize i = 0; i < G_N_ELEMENTS (export_families); i++)
    {
      g_autofree char *path = g_strdup_printf ("/export/families/%s", export_families[i]);
      g_test_add_data_func (path, export_families[i], test_family);
    }
  g_test_add_func ("/export/families/cross-format-refused", test_cross_format_refused);
  return g_test_run ();
}
