/* SPDX-License-Identifier: MIT */
/* write-hf-from-gguf.c — merged Hugging Face folders made from GGUF bases,
 * with what Temper computes for them, for check-hf-from-gguf.py to compare
 * against transformers:
 *
 *   OUT/NAME/       the merged folder (float32 weights)
 *   OUT/NAME.json   {"prompt": ids, "logits": Temper's next-token logits of
 *                    the GGUF with the adapter, "texts": [...], "tokens":
 *                    [ids of each text, special tokens parsed]}
 *
 * for NAME = llama (a tiny llama-arch GGUF: q/k rows in llama.cpp's order),
 * qwen2 (tiny, with biases) and, when the demo model is there, demo (no
 * adapter: its real vocabulary and chat template); and
 *
 *   OUT/tokenizers/NAME/tokenizer.json   for the GGUF tokenizer fixtures
 *                                        tests/fixtures/tokenizer/NAME.gguf
 *
 * for NAME = spm, qwen2, llama3 (compared with expected.json there). */
#include "config.h"

#include <stdio.h>
#include <json-glib/json-glib.h>

#include "temper/export.h"
#include "temper/gguf.h"
#include "temper/tokenizer.h"
#include "export/temper-export-private.h"
#include "export-test-util.h"

static const char *const texts[] = {
  "Hello world! It's 2026, isn't it?",
  "  two  spaces\tand a tab\n\nnew lines 1234567 3.14159",
  "長城是中國古代的軍事防禦工程。Ünïcödé café",
  "<|im_start|>user\nWhat's up?<|im_end|>\n",
};

static void
add_ids (JsonBuilder *b, const gint32 *ids, gsize n)
{
  json_builder_begin_array (b);
  for (gsize i = 0; i < n; i++)
    json_builder_add_int_value (b, ids[i]);
  json_builder_end_array (b);
}

static gboolean
write_one (temper_model_t *model, temper_adapter_t *adapter, const char *out_dir, const char *name,
           GError **error)
{
  g_autofree char *folder = g_build_filename (out_dir, name, NULL);
  g_autofree char *json_name = g_strdup_printf ("%s.json", name);
  g_autofree char *json_path = g_build_filename (out_dir, json_name, NULL);
  temper_tokenizer_t *tok = temper_model_get_tokenizer (model);
  g_autofree float *logits = NULL;
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  int n_vocab = temper_model_get_config (model)->n_vocab;

  if (!temper_export_merged_hf (model, adapter, TEMPER_EXPORT_HF_F32, 0, folder, NULL, error))
    return FALSE;
  logits = logits_of (model, adapter);
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "prompt");
  add_ids (b, prompt, G_N_ELEMENTS (prompt));
  json_builder_set_member_name (b, "logits");
  json_builder_begin_array (b);
  for (int i = 0; i < n_vocab; i++)
    json_builder_add_double_value (b, logits[i]);
  json_builder_end_array (b);
  json_builder_set_member_name (b, "texts");
  json_builder_begin_array (b);
  for (gsize i = 0; i < G_N_ELEMENTS (texts); i++)
    json_builder_add_string_value (b, texts[i]);
  json_builder_end_array (b);
  json_builder_set_member_name (b, "tokens");
  json_builder_begin_array (b);
  for (gsize i = 0; i < G_N_ELEMENTS (texts); i++)
    {
      g_autoptr(GArray) ids = temper_tokenizer_encode (tok, texts[i], -1, TRUE);
      add_ids (b, (const gint32 *) ids->data, ids->len);
    }
  json_builder_end_array (b);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  return json_generator_to_file (gen, json_path, error);
}

static gboolean
write_tokenizers (const char *src, const char *out_dir, GError **error)
{
  static const char *const names[] = { "spm", "qwen2", "llama3" };

  for (gsize i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autofree char *file = g_strdup_printf ("%s.gguf", names[i]);
      g_autofree char *path = g_build_filename (src, "tests", "fixtures", "tokenizer", file, NULL);
      g_autofree char *dir = g_build_filename (out_dir, "tokenizers", names[i], NULL);
      g_autofree char *json_path = g_build_filename (dir, "tokenizer.json", NULL);
      g_autoptr(temper_gguf_t) gguf = temper_gguf_open (path, error);
      g_autoptr(temper_tokenizer_t) tok = NULL;
      g_autoptr(JsonNode) json = NULL;
      g_autoptr(JsonGenerator) gen = json_generator_new ();

      if (gguf == NULL || (tok = temper_tokenizer_new_from_gguf (gguf, error)) == NULL
          || (json = temper_export_tokenizer_json (tok, file, error)) == NULL)
        return FALSE;
      g_mkdir_with_parents (dir, 0755);
      json_generator_set_root (gen, json);
      if (!json_generator_to_file (gen, json_path, error))
        return FALSE;
    }
  return TRUE;
}

int
main (int argc, char **argv)
{
  const char *src = g_getenv ("TEMPER_SOURCE_DIR");
  g_autofree char *demo = NULL;
  g_autoptr(GError) error = NULL;
  const char *archs[] = { "llama", "qwen2" };

  if (argc != 2)
    {
      fprintf (stderr, "usage: %s OUT_DIR\n", argv[0]);
      return 2;
    }
  for (gsize i = 0; i < G_N_ELEMENTS (archs); i++)
    {
      g_autofree char *name = g_strdup_printf ("%s.gguf", archs[i]);
      g_autofree char *path = g_build_filename (argv[1], name, NULL);
      TinySpec spec = tiny_spec_default (archs[i]);
      g_autoptr(temper_model_t) model = NULL;
      g_autoptr(temper_adapter_t) adapter = NULL;

      spec.untied = i == 0;
      spec.biases = i == 1;
      tiny_write_gguf (path, &spec);
      model = temper_model_load (path, NULL, &error);
      if (model == NULL)
        break;
      adapter = export_test_adapter (model);
      if (!write_one (model, adapter, argv[1], archs[i], &error))
        break;
    }
  demo = g_build_filename (src != NULL ? src : TEMPER_SOURCE_DIR, "data", "models",
                           "SmolLM2-135M-Instruct.Q4_1.gguf", NULL);
  if (error == NULL)
    write_tokenizers (src != NULL ? src : TEMPER_SOURCE_DIR, argv[1], &error);
  if (error == NULL && g_file_test (demo, G_FILE_TEST_IS_REGULAR))
    {
      g_autoptr(temper_model_t) model = temper_model_load (demo, NULL, &error);

      if (model != NULL)
        write_one (model, NULL, argv[1], "demo", &error);
    }
  if (error != NULL)
    {
      fprintf (stderr, "%s\n", error->message);
      return 1;
    }
  return 0;
}
