/* SPDX-License-Identifier: MIT */
/* test-export-families — every export of every dense family, as the tools
 * people load them with see it.  The references (make-family-export-
 * fixtures.py) are PEFT and transformers on Temper's PEFT adapter and merged
 * folder, and llama.cpp on Temper's GGUF LoRA (over the family's GGUF made
 * by llama.cpp's converter) and merged GGUF.  Temper's own logits with the
 * same adapter must match each, and the greedy continuations agree; the
 * merged GGUF keeps every metadata key of its base. */
#include "family-export-util.h"

#include <math.h>
#include <string.h>

#include "temper/error.h"

#include "temper/generate.h"
#include "temper/gguf.h"
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

static void
test_family (gconstpointer data)
{
  const char *family = data;
  g_autofree char *name = g_strconcat (family, ".json", NULL);
  const char *src = g_getenv ("TEMPER_SOURCE_DIR");
  g_autofree char *json_path = g_build_filename (src != NULL ? src : TEMPER_SOURCE_DIR, "tests", "fixtures",
                                                 "export", "families", name, NULL);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(temper_model_t) hf = family_model (family, FALSE);
  g_autoptr(temper_model_t) gguf = family_model (family, TRUE);
  g_autoptr(temper_adapter_t) hf_adapter = family_adapter (hf);
  g_autoptr(temper_adapter_t) gguf_adapter = family_adapter (gguf);
  g_autofree char *dir = g_dir_make_tmp ("temper-family-export-XXXXXX", NULL);
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
  test_remove_tree (dir);
}

/* A merged model in the other format needs the family's metadata written
 * anew, which Temper does not do for these families yet: refused by the
 * family's name, and nothing is written. */
static void
test_cross_format_refused (void)
{
  g_autoptr(temper_model_t) hf = family_model ("phi3", FALSE);
  g_autoptr(temper_model_t) gguf = family_model ("gemma2", TRUE);
  g_autofree char *dir = g_dir_make_tmp ("temper-family-export-XXXXXX", NULL);
  g_autofree char *gguf_out = g_build_filename (dir, "merged.gguf", NULL);
  g_autofree char *hf_out = g_build_filename (dir, "merged-hf", NULL);
  g_autoptr(GError) error = NULL;

  g_assert_false (temper_export_merged_gguf (hf, NULL, TEMPER_EXPORT_F16, gguf_out, NULL, &error));
  g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, "Phi-3"));
  g_clear_error (&error);
  g_assert_false (temper_export_merged_hf (gguf, NULL, TEMPER_EXPORT_HF_F32, 0, hf_out, NULL, &error));
  g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, "Gemma 2"));
  g_assert_false (g_file_test (gguf_out, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (hf_out, G_FILE_TEST_EXISTS));
  test_remove_tree (dir);
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
