/* SPDX-License-Identifier: MIT */
/* test-export-import.c — adapters made by other tools, opened by Temper;
 * several adapters on one base model, switched. */
#include "config.h"

#include <string.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "temper/error.h"
#include "temper/export.h"
#include "export-test-util.h"

/* tests/fixtures/export/@name */
static char *
fixture_path (const char *name)
{
  const char *src = g_getenv ("TEMPER_SOURCE_DIR");

  return g_build_filename (src != NULL ? src : TEMPER_SOURCE_DIR, "tests", "fixtures", "export",
                           name, NULL);
}

/* PEFT's logits (make-export-fixtures.py) for the prompt, base and tuned. */
typedef struct {
  JsonParser *parser;
  float      *base;
  float      *tuned;
} Reference;

static float *
reference_logits (JsonObject *root, const char *member, int n_vocab)
{
  JsonArray *arr = json_object_get_array_member (root, member);
  float *v = g_new (float, n_vocab);

  g_assert_cmpuint (json_array_get_length (arr), ==, n_vocab);
  for (int i = 0; i < n_vocab; i++)
    v[i] = (float) json_array_get_double_element (arr, i);
  return v;
}

static void
reference_load (Reference *ref, int n_vocab)
{
  g_autofree char *path = fixture_path ("peft-made.json");
  g_autoptr(GError) error = NULL;
  JsonObject *root;
  JsonArray *ids;

  ref->parser = json_parser_new ();
  g_assert_true (json_parser_load_from_file (ref->parser, path, &error));
  g_assert_no_error (error);
  root = json_node_get_object (json_parser_get_root (ref->parser));
  ids = json_object_get_array_member (root, "prompt");
  g_assert_cmpuint (json_array_get_length (ids), ==, G_N_ELEMENTS (prompt));
  for (guint i = 0; i < G_N_ELEMENTS (prompt); i++)
    g_assert_cmpint (json_array_get_int_element (ids, i), ==, prompt[i]);
  ref->base = reference_logits (root, "base_logits", n_vocab);
  ref->tuned = reference_logits (root, "peft_logits", n_vocab);
}

static void
reference_clear (Reference *ref)
{
  g_clear_object (&ref->parser);
  g_clear_pointer (&ref->base, g_free);
  g_clear_pointer (&ref->tuned, g_free);
}

/* An adapter saved by PEFT itself in bfloat16 (as Unsloth and LLaMA-Factory
 * hand theirs over), with PEFT 0.21's full adapter_config.json. */
static void
test_peft_made_elsewhere (Fixture *f, gconstpointer data)
{
  g_autofree char *src = tiny_qwen2_dir ();
  g_autofree char *dir = fixture_path ("peft-made");
  g_autoptr(temper_model_t) model = load (src);
  g_autoptr(temper_adapter_t) adapter = NULL;
  g_autofree float *base = NULL, *tuned = NULL;
  g_autoptr(GError) error = NULL;
  int n_vocab = temper_model_get_config (model)->n_vocab;
  Reference ref = { 0 };
  TemperLoraConfig config;
  double err;

  (void) f, (void) data;
  reference_load (&ref, n_vocab);
  adapter = temper_lora_load_peft (dir, temper_model_get_config (model), &config, &error);
  g_assert_no_error (error);
  g_assert_cmpint (config.rank, ==, 4);
  g_assert_cmpfloat (config.alpha, ==, 16.0f);
  g_assert_cmpuint (config.targets, ==, TEMPER_LORA_ALL_TARGETS);

  base = logits_of (model, NULL);
  tuned = logits_of (model, adapter);
  err = normalized_error (tuned, ref.tuned, n_vocab);
  g_test_message ("PEFT-made adapter: Temper vs PEFT %.2e (the adapter changes logits by %.2e)",
                  err, normalized_error (ref.base, ref.tuned, n_vocab));
  g_assert_cmpfloat (normalized_error (ref.base, ref.tuned, n_vocab), >, 0.05);
  g_assert_cmpfloat (normalized_error (base, ref.base, n_vocab), <, 1e-4);
  g_assert_cmpfloat (err, <, 1e-4);
  reference_clear (&ref);
}

/* The same adapter after llama.cpp's convert_lora_to_gguf.py (F16). */
static void
test_gguf_made_by_llama_cpp (Fixture *f, gconstpointer data)
{
  g_autofree char *src = tiny_qwen2_dir ();
  g_autofree char *dir = fixture_path ("peft-made");
  g_autofree char *gguf = fixture_path ("peft-made.gguf");
  g_autoptr(temper_model_t) model = load (src);
  g_autoptr(temper_adapter_t) adapter = NULL, peft = NULL;
  g_autofree float *tuned = NULL;
  g_autoptr(GError) error = NULL;
  int n_vocab = temper_model_get_config (model)->n_vocab;
  Reference ref = { 0 };
  double err;

  (void) f, (void) data;
  reference_load (&ref, n_vocab);
  adapter = temper_import_gguf_adapter (gguf, model, &error);
  g_assert_no_error (error);
  peft = temper_lora_load_peft (dir, temper_model_get_config (model), NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (temper_adapter_get_rank (adapter), ==, 4);
  g_assert_cmpuint (temper_adapter_get_targets (adapter), ==, TEMPER_LORA_ALL_TARGETS);
  g_assert_cmpfloat_with_epsilon (temper_adapter_get_scale (adapter),
                                  temper_adapter_get_scale (peft), 1e-6);

  tuned = logits_of (model, adapter);
  err = normalized_error (tuned, ref.tuned, n_vocab);
  g_test_message ("llama.cpp-converted GGUF adapter: Temper vs PEFT %.2e", err);
  /* bfloat16 values survive F16 unless they are tiny: near-exact. */
  g_assert_cmpfloat (err, <, 1e-3);
  reference_clear (&ref);
}

/* A foreign adapter exported again by Temper, in both adapter formats, and
 * read back: the same numbers, so the same logits. */
static void
test_reexport_foreign (Fixture *f, gconstpointer data)
{
  g_autofree char *src = tiny_qwen2_dir ();
  g_autofree char *dir = fixture_path ("peft-made");
  g_autofree char *peft_out = g_build_filename (f->dir, "peft", NULL);
  g_autofree char *gguf_out = g_build_filename (f->dir, "adapter.gguf", NULL);
  g_autoptr(temper_model_t) model = load (src);
  g_autoptr(temper_adapter_t) adapter = NULL, from_peft = NULL, from_gguf = NULL;
  g_autofree float *want = NULL, *got_peft = NULL, *got_gguf = NULL;
  g_autoptr(GError) error = NULL;
  int n_vocab = temper_model_get_config (model)->n_vocab;

  (void) data;
  adapter = temper_lora_load_peft (dir, temper_model_get_config (model), NULL, &error);
  g_assert_no_error (error);
  g_assert_true (temper_export_peft (model, adapter, 0.05f, peft_out, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (temper_export_gguf_adapter (model, adapter, gguf_out, NULL, &error));
  g_assert_no_error (error);
  from_peft = temper_lora_load_peft (peft_out, temper_model_get_config (model), NULL, &error);
  g_assert_no_error (error);
  from_gguf = temper_import_gguf_adapter (gguf_out, model, &error);
  g_assert_no_error (error);

  want = logits_of (model, adapter);
  got_peft = logits_of (model, from_peft);
  got_gguf = logits_of (model, from_gguf);
  g_assert_cmpmem (got_peft, sizeof (float) * n_vocab, want, sizeof (float) * n_vocab);
  g_assert_cmpfloat (normalized_error (got_gguf, want, n_vocab), <, 1e-6);
}

/* Three adapters and none on one generator, switched back and forth: each
 * answers as it does on a generator of its own. */
static void
test_switch_adapters (Fixture *f, gconstpointer data)
{
  g_autofree char *src = tiny_qwen2_dir ();
  g_autofree char *dir = fixture_path ("peft-made");
  g_autofree char *gguf = fixture_path ("peft-made.gguf");
  g_autoptr(temper_model_t) model = load (src);
  temper_adapter_t *adapters[4] = { NULL };
  float *alone[4] = { NULL };
  const int order[] = { 0, 1, 2, 3, 1, 0, 3, 2 };
  TemperGeneratorOptions options = { .n_ctx = 64, .n_threads = 1, .exact = TRUE };
  g_autoptr(temper_generator_t) gen = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree float *logits = NULL;
  int n_vocab = temper_model_get_config (model)->n_vocab;

  (void) f, (void) data;
  adapters[1] = temper_lora_load_peft (dir, temper_model_get_config (model), NULL, &error);
  g_assert_no_error (error);
  adapters[2] = temper_import_gguf_adapter (gguf, model, &error);
  g_assert_no_error (error);
  adapters[3] = random_adapter (model, 2, 4.0f, FALSE, TEMPER_LORA_TARGETS_ATTENTION, 0.2f);
  for (int i = 0; i < 4; i++)
    alone[i] = logits_of (model, adapters[i]);
  /* They differ from each other, so a wrong switch would show. */
  g_assert_cmpfloat (normalized_error (alone[0], alone[1], n_vocab), >, 0.05);
  g_assert_cmpfloat (normalized_error (alone[3], alone[0], n_vocab), >, 0.01);
  g_assert_cmpfloat (normalized_error (alone[3], alone[1], n_vocab), >, 0.05);

  gen = temper_generator_new (model, &options, &error);
  g_assert_no_error (error);
  logits = g_new (float, n_vocab);
  for (gsize k = 0; k < G_N_ELEMENTS (order); k++)
    {
      int i = order[k];

      g_assert_true (temper_generator_set_adapter (gen, adapters[i], &error));
      g_assert_true (temper_generator_eval (gen, prompt, G_N_ELEMENTS (prompt), logits, NULL, &error));
      g_assert_no_error (error);
      g_assert_cmpmem (logits, sizeof (float) * n_vocab, alone[i], sizeof (float) * n_vocab);
    }
  for (int i = 0; i < 4; i++)
    {
      g_free (alone[i]);
      g_clear_pointer (&adapters[i], temper_adapter_free);
    }
}

/* ---- refusals -------------------------------------------------------------- */

static void
expect_refusal (const char *path, temper_model_t *model, GQuark domain, int code)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(temper_adapter_t) adapter = temper_import_gguf_adapter (path, model, &error);

  g_assert_null (adapter);
  g_assert_error (error, domain, code);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, path));
}

/* Wrong files handed over as a GGUF adapter are refused with a message
 * naming the file, never a crash. */
static void
test_gguf_adapter_refusals (Fixture *f, gconstpointer data)
{
  TinySpec llama_spec = tiny_spec_default ("llama");
  TinySpec qwen_spec = tiny_spec_default ("qwen2");
  g_autoptr(temper_model_t) llama = tiny_gguf (f, "llama.gguf", &llama_spec);
  g_autoptr(temper_model_t) small_qwen = NULL;
  g_autofree char *src = tiny_qwen2_dir ();
  g_autoptr(temper_model_t) qwen = load (src);
  g_autofree char *foreign = fixture_path ("peft-made.gguf");
  g_autofree char *cut = g_build_filename (f->dir, "cut.gguf", NULL);
  g_autofree char *mixed = g_build_filename (f->dir, "mixed-rank.gguf", NULL);
  g_autoptr(temper_adapter_t) r2 = random_adapter (llama, 2, 4.0f, FALSE, TEMPER_LORA_TARGETS_ATTENTION, 0.1f);
  g_autoptr(temper_gguf_writer_t) w = NULL;
  g_autoptr(temper_gguf_t) good = NULL;
  g_autofree char *good_path = g_build_filename (f->dir, "good.gguf", NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *bytes = NULL;
  gsize len = 0;

  (void) data;
  qwen_spec.biases = TRUE;
  small_qwen = tiny_gguf (f, "qwen.gguf", &qwen_spec);
  /* A whole model is not an adapter. */
  expect_refusal (temper_model_get_path (llama), llama, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE);
  /* A qwen2 adapter on a llama model. */
  expect_refusal (foreign, llama, TEMPER_ERROR, TEMPER_ERROR_UNSUPPORTED);
  /* A qwen2 adapter on a qwen2 model of other sizes. */
  expect_refusal (foreign, small_qwen, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE);
  /* Cut short. */
  g_assert_true (g_file_get_contents (foreign, &bytes, &len, NULL));
  model_test_write (cut, bytes, len / 2);
  {
    g_autoptr(temper_adapter_t) adapter = temper_import_gguf_adapter (cut, qwen, &error);

    g_assert_null (adapter);
    g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE);
    g_clear_error (&error);
  }

  /* Ranks that differ between tensors: a rank-2 adapter with one A swapped
   * for a rank-3 matrix. */
  g_assert_true (temper_export_gguf_adapter (llama, r2, good_path, NULL, &error));
  g_assert_no_error (error);
  good = temper_gguf_open (good_path, &error);
  g_assert_no_error (error);
  w = temper_gguf_writer_new ();
  temper_gguf_writer_set_string (w, "general.architecture", "llama");
  temper_gguf_writer_set_string (w, "general.type", "adapter");
  temper_gguf_writer_set_string (w, "adapter.type", "lora");
  for (guint64 i = 0; i < temper_gguf_get_n_tensors (good); i++)
    {
      TemperTensorView v;
      int64_t ne[2];

      temper_gguf_get_tensor (good, i, &v);
      ne[0] = v.ne[0], ne[1] = v.ne[1];
      if (strcmp (v.name, "blk.1.attn_v.weight.lora_a") == 0)
        {
          static const float three[3 * 32] = { 0 };

          ne[1] = 3;
          temper_gguf_writer_add_tensor_static (w, v.name, TEMPER_TYPE_F32, ne, 2, three, sizeof three);
          continue;
        }
      temper_gguf_writer_add_tensor_static (w, v.name, v.type, ne, 2, v.data,
                                            (gsize) v.row_bytes * (gsize) v.ne[1]);
    }
  g_assert_true (temper_gguf_writer_write (w, mixed, &error));
  g_assert_no_error (error);
  expect_refusal (mixed, llama, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE);
}

/* A PEFT folder saved as a PyTorch pickle, as older trainers did, is
 * refused with a message that says how to get the safe format. */
static void
test_peft_pickle_refused (Fixture *f, gconstpointer data)
{
  g_autofree char *src = tiny_qwen2_dir ();
  g_autofree char *made = fixture_path ("peft-made");
  g_autofree char *from = g_build_filename (made, "adapter_config.json", NULL);
  g_autofree char *to = g_build_filename (f->dir, "adapter_config.json", NULL);
  g_autofree char *pickle = g_build_filename (f->dir, "adapter_model.bin", NULL);
  g_autoptr(temper_model_t) model = load (src);
  g_autoptr(temper_adapter_t) adapter = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *config = NULL;
  gsize len = 0;

  (void) data;
  g_assert_true (g_file_get_contents (from, &config, &len, NULL));
  model_test_write (to, config, len);
  model_test_write (pickle, "PK\x03\x04", 4);
  adapter = temper_lora_load_peft (f->dir, temper_model_get_config (model), NULL, &error);
  g_assert_null (adapter);
  g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_UNSUPPORTED);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "adapter_model.safetensors"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(path, fn) g_test_add (path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
  ADD ("/export/import/peft-made-elsewhere", test_peft_made_elsewhere);
  ADD ("/export/import/gguf-made-by-llama.cpp", test_gguf_made_by_llama_cpp);
  ADD ("/export/import/re-export", test_reexport_foreign);
  ADD ("/export/import/switch-adapters", test_switch_adapters);
  ADD ("/export/import/gguf-refusals", test_gguf_adapter_refusals);
  ADD ("/export/import/peft-pickle-refused", test_peft_pickle_refused);
#undef ADD
  return g_test_run ();
}
