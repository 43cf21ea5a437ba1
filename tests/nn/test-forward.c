/* SPDX-License-Identifier: MIT */
/* The forward pass against Hugging Face transformers (fixtures written by
 * tests/nn/make-logits-fixtures.py), and LoRA applied on the fly against the
 * same adapter merged into the weights. */
#include "config.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "temper/adapter.h"
#include "temper/generate.h"
#include "temper/model.h"

static char *
fixture_path (const char *name)
{
  const char *src = g_getenv ("TEMPER_SOURCE_DIR");

  return g_build_filename (src != NULL ? src : TEMPER_SOURCE_DIR, "tests", "fixtures", "nn", name, NULL);
}

static JsonObject *
load_json (JsonParser *parser, const char *name)
{
  g_autofree char *path = fixture_path (name);
  g_autoptr(GError) error = NULL;

  if (!json_parser_load_from_file (parser, path, &error))
    g_error ("%s: %s", path, error->message);
  return json_node_get_object (json_parser_get_root (parser));
}

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

static int
argmax (const float *v, int n)
{
  int best = 0;

  for (int i = 1; i < n; i++)
    if (v[i] > v[best])
      best = i;
  return best;
}

static double
max_abs_diff (const float *a, const float *b, int n)
{
  double m = 0.0;

  for (int i = 0; i < n; i++)
    m = MAX (m, fabs ((double) a[i] - b[i]));
  return m;
}

/* Evaluates the prompt, compares the logits, then runs the greedy
 * continuation token by token and compares the ids. */
static void
check_model (temper_model_t *model, const GArray *prompt, const float *expected_logits,
             const GArray *expected_greedy, double tolerance)
{
  const TemperModelConfig *c = temper_model_get_config (model);
  TemperGeneratorOptions opts = { 256, 2, TRUE };
  g_autoptr(GError) error = NULL;
  g_autoptr(temper_generator_t) gen = temper_generator_new (model, &opts, &error);
  g_autofree float *logits = g_new (float, c->n_vocab);
  double err;

  g_assert_no_error (error);
  g_assert_true (temper_generator_eval (gen, (const gint32 *) prompt->data, prompt->len,
                                        logits, NULL, &error));
  g_assert_no_error (error);
  err = max_abs_diff (logits, expected_logits, c->n_vocab);
  g_test_message ("max |logit − transformers| = %.2e over %d logits", err, c->n_vocab);
  g_assert_cmpfloat (err, <=, tolerance);

  for (guint i = 0; i < expected_greedy->len; i++)
    {
      gint32 next = argmax (logits, c->n_vocab);

      if (next != g_array_index (expected_greedy, gint32, i))
        g_error ("greedy token %u: %d, transformers chose %d", i, next,
                 g_array_index (expected_greedy, gint32, i));
      g_assert_true (temper_generator_eval (gen, &next, 1, logits, NULL, &error));
      g_assert_no_error (error);
    }
}

static void
test_smollm2 (gconstpointer data)
{
  const char *name = data;
  g_autofree char *json_name = g_strdup_printf ("smollm2-%s.json", name);
  g_autofree char *logits_name = g_strdup_printf ("smollm2-%s.logits", name);
  g_autofree char *logits_path = fixture_path (logits_name);
  g_autofree char *model_path = g_build_filename (g_getenv ("TEMPER_SOURCE_DIR"), "data", "models",
                                                  "SmolLM2-135M-Instruct.Q4_1.gguf", NULL);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(temper_model_t) model = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *bytes = NULL;
  gsize len;
  JsonObject *obj;
  g_autoptr(GArray) prompt = NULL, greedy = NULL;

  if (!g_file_test (model_path, G_FILE_TEST_EXISTS))
    {
      g_test_skip ("the demo model is not in data/models (run make demo)");
      return;
    }
  obj = load_json (parser, json_name);
  prompt = int_array (obj, "prompt");
  greedy = int_array (obj, "greedy");
  g_assert_true (g_file_get_contents (logits_path, &bytes, &len, NULL));
  g_assert_cmpuint (len, ==, 49152 * sizeof (float));
  model = temper_model_load (model_path, NULL, &error);
  g_assert_no_error (error);
  check_model (model, prompt, (const float *) bytes, greedy, 1e-3);
}

static void
test_tiny_qwen2 (void)
{
  g_autofree char *dir = fixture_path ("tiny-qwen2");
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(temper_model_t) model = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) prompt = NULL, greedy = NULL;
  g_autofree float *expected = NULL;
  JsonObject *obj = load_json (parser, "tiny-qwen2.json");
  JsonArray *logits = json_object_get_array_member (obj, "logits");

  model = temper_model_load (dir, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (temper_model_get_config (model)->n_vocab, ==, json_array_get_length (logits));
  g_assert_true (temper_model_get_config (model)->qkv_bias);
  g_assert_false (temper_model_get_config (model)->tied_embeddings);
  expected = g_new (float, json_array_get_length (logits));
  for (guint i = 0; i < json_array_get_length (logits); i++)
    expected[i] = (float) json_array_get_double_element (logits, i);
  prompt = int_array (obj, "prompt");
  greedy = int_array (obj, "greedy");
  check_model (model, prompt, expected, greedy, 1e-4);
}

/* ---- LoRA on the fly vs merged ---- */

static float
frand (guint64 *s)
{
  *s = *s * 6364136223846793005ull + 1442695040888963407ull;
  return (float) ((double) (*s >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

static const char *const hf_names[TEMPER_LORA_N_TARGETS] = {
  "self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
  "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj",
};

/* Copies the tiny model's folder to @dst, with W + s·B·A written over every
 * adapted weight of model.safetensors (an F32 file: the bytes are patched in
 * place at the offsets its JSON header gives). */
static void
write_merged_copy (temper_model_t *model, temper_adapter_t *adapter, const char *src,
                   const char *dst)
{
  const TemperModelConfig *c = temper_model_get_config (model);
  const char *files[] = { "config.json", "tokenizer.json", "tokenizer_config.json",
                          "generation_config.json", "special_tokens_map.json" };
  g_autofree char *st_path = g_build_filename (src, "model.safetensors", NULL);
  g_autofree char *out_path = g_build_filename (dst, "model.safetensors", NULL);
  g_autofree char *bytes = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  gsize len;
  guint64 header_len;
  JsonObject *header;
  int rank = temper_adapter_get_rank (adapter);
  float s = temper_adapter_get_scale (adapter);

  for (gsize i = 0; i < G_N_ELEMENTS (files); i++)
    {
      g_autofree char *from = g_build_filename (src, files[i], NULL);
      g_autofree char *to = g_build_filename (dst, files[i], NULL);
      g_autofree char *content = NULL;
      gsize n;

      if (g_file_get_contents (from, &content, &n, NULL))
        g_assert_true (g_file_set_contents (to, content, (gssize) n, NULL));
    }
  g_assert_true (g_file_get_contents (st_path, &bytes, &len, NULL));
  memcpy (&header_len, bytes, 8);
  g_assert_true (json_parser_load_from_data (parser, bytes + 8, (gssize) header_len, NULL));
  header = json_node_get_object (json_parser_get_root (parser));

  for (int l = 0; l < c->n_layer; l++)
    for (int t = 0; t < TEMPER_LORA_N_TARGETS; t++)
      {
        g_autofree char *name = g_strdup_printf ("model.layers.%d.%s.weight", l, hf_names[t]);
        JsonObject *info = json_object_get_object_member (header, name);
        JsonArray *offsets = json_object_get_array_member (info, "data_offsets");
        float *w = (float *) (bytes + 8 + header_len + json_array_get_int_element (offsets, 0));
        const float *A = temper_adapter_get_a (adapter, l, t), *B = temper_adapter_get_b (adapter, l, t);
        int in, out;

        if (A == NULL)
          continue;
        g_assert_cmpstr (json_object_get_string_member (info, "dtype"), ==, "F32");
        temper_lora_target_dims (c, t, &in, &out);
        for (int o = 0; o < out; o++)
          for (int i = 0; i < in; i++)
            {
              double d = 0.0;

              for (int r = 0; r < rank; r++)
                d += (double) B[o * rank + r] * A[r * in + i];
              w[o * in + i] += (float) (s * d);
            }
      }
  g_assert_true (g_file_set_contents (out_path, bytes, (gssize) len, NULL));
}

static void
test_adapter_matches_merged (void)
{
  g_autofree char *dir = fixture_path ("tiny-qwen2");
  g_autofree char *tmp = g_dir_make_tmp ("temper-merged-XXXXXX", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(temper_model_t) model = temper_model_load (dir, NULL, &error);
  g_autoptr(temper_model_t) merged = NULL;
  g_autoptr(temper_adapter_t) adapter = NULL;
  g_autoptr(temper_generator_t) gen = NULL, gen_merged = NULL;
  const TemperModelConfig *c;
  const gint32 prompt[] = { 5, 17, 42, 99, 3, 250, 7, 64, 128, 11 };
  g_autofree float *base = NULL, *tuned = NULL, *ref = NULL;
  TemperGeneratorOptions opts = { 64, 2, TRUE };
  guint64 seed = 99;
  double change, err;

  g_assert_no_error (error);
  c = temper_model_get_config (model);
  adapter = temper_adapter_new (c, 4, 8.0f, FALSE,
                                TEMPER_LORA_ALL_TARGETS & ~TEMPER_LORA_TARGET_BIT (TEMPER_LORA_UP),
                                &error);
  g_assert_no_error (error);
  for (int l = 0; l < c->n_layer; l++)
    for (int t = 0; t < TEMPER_LORA_N_TARGETS; t++)
      {
        float *A = temper_adapter_get_a (adapter, l, t), *B = temper_adapter_get_b (adapter, l, t);
        int in, out;

        if (A == NULL)
          continue;
        temper_lora_target_dims (c, t, &in, &out);
        for (int i = 0; i < 4 * in; i++)
          A[i] = 0.1f * frand (&seed);
        for (int i = 0; i < out * 4; i++)
          B[i] = 0.1f * frand (&seed);
      }
  temper_adapter_changed (adapter);
  write_merged_copy (model, adapter, dir, tmp);

  base = g_new (float, c->n_vocab);
  tuned = g_new (float, c->n_vocab);
  ref = g_new (float, c->n_vocab);
  gen = temper_generator_new (model, &opts, &error);
  g_assert_no_error (error);
  g_assert_true (temper_generator_eval (gen, prompt, G_N_ELEMENTS (prompt), base, NULL, &error));
  g_assert_true (temper_generator_set_adapter (gen, adapter, &error));
  /* Two passes (6 + 4 tokens) so the cached path is covered too. */
  g_assert_true (temper_generator_eval (gen, prompt, 6, NULL, NULL, &error));
  g_assert_true (temper_generator_eval (gen, prompt + 6, 4, tuned, NULL, &error));
  g_assert_no_error (error);

  merged = temper_model_load (tmp, NULL, &error);
  g_assert_no_error (error);
  gen_merged = temper_generator_new (merged, &opts, &error);
  g_assert_no_error (error);
  g_assert_true (temper_generator_eval (gen_merged, prompt, G_N_ELEMENTS (prompt), ref, NULL, &error));

  change = max_abs_diff (tuned, base, c->n_vocab);
  err = max_abs_diff (tuned, ref, c->n_vocab);
  g_test_message ("adapter moves logits by up to %.3f; on the fly vs merged: %.2e", change, err);
  g_assert_cmpfloat (change, >, 0.1);
  g_assert_cmpfloat (err, <, 1e-4);

  /* Removing the adapter gives the base model back. */
  g_assert_true (temper_generator_set_adapter (gen, NULL, &error));
  g_assert_true (temper_generator_eval (gen, prompt, G_N_ELEMENTS (prompt), tuned, NULL, &error));
  g_assert_cmpfloat (max_abs_diff (tuned, base, c->n_vocab), ==, 0.0);

  {
    g_autoptr(GDir) d = g_dir_open (tmp, 0, NULL);
    const char *n;

    while ((n = g_dir_read_name (d)) != NULL)
      {
        g_autofree char *p = g_build_filename (tmp, n, NULL);
        g_unlink (p);
      }
    g_rmdir (tmp);
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_data_func ("/nn/forward/smollm2-english", "english", test_smollm2);
  g_test_add_data_func ("/nn/forward/smollm2-chinese", "chinese", test_smollm2);
  g_test_add_func ("/nn/forward/tiny-qwen2", test_tiny_qwen2);
  g_test_add_func ("/nn/forward/adapter-matches-merged", test_adapter_matches_merged);
  return g_test_run ();
}
