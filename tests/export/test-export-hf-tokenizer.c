/* SPDX-License-Identifier: MIT */
/* test-export-hf-tokenizer.c — the tokenizer.json Temper writes for a GGUF
 * vocabulary (a merged Hugging Face folder from a GGUF base carries it).
 * For the tokenizer fixtures of tests/tokenizer (a SentencePiece, a Qwen2
 * and a Llama 3 vocabulary, as GGUF), the written tokenizer.json and
 * tokenizer_config.json are read back and must give the ids and decoded
 * text Hugging Face's tokenizers gave for the same vocabularies
 * (tests/fixtures/tokenizer/expected.json, from make-tokenizer-fixtures.py).
 * check-hf-from-gguf.py runs the tokenizers library itself on the files. */
#include "config.h"

#include <string.h>
#include <json-glib/json-glib.h>

#include "temper/gguf.h"
#include "temper/tokenizer.h"
#include "export/temper-export-private.h"
#include "model-test-util.h"

static GPtrArray *corpus;
static JsonObject *expected;
static JsonParser *corpus_parser, *expected_parser;

static char *
fixture (const char *name)
{
  const char *src = g_getenv ("TEMPER_SOURCE_DIR");

  return g_build_filename (src != NULL ? src : TEMPER_SOURCE_DIR, "tests", "fixtures", "tokenizer",
                           name, NULL);
}

static void
write_json (JsonNode *root, const char *path)
{
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  g_autoptr(GError) error = NULL;

  json_generator_set_root (gen, root);
  g_assert_true (json_generator_to_file (gen, path, &error));
  g_assert_no_error (error);
}

static void
assert_ids (const char *what, const char *text, GArray *got, JsonArray *want)
{
  gboolean same = got->len == json_array_get_length (want);

  for (guint i = 0; same && i < got->len; i++)
    same = g_array_index (got, gint32, i) == (gint32) json_array_get_int_element (want, i);
  if (!same)
    g_error ("%s: ids of “%s” differ from Hugging Face's (%u ids, expected %u)", what, text,
             got->len, json_array_get_length (want));
}

static void
test_round_trip (gconstpointer data)
{
  const char *const *names = data;   /* GGUF file, expected.json member */
  g_autofree char *gguf_path = fixture (names[0]);
  g_autofree char *dir = model_test_tmpdir ();
  g_autofree char *json_path = g_build_filename (dir, "tokenizer.json", NULL);
  g_autofree char *config_path = g_build_filename (dir, "tokenizer_config.json", NULL);
  g_autoptr(temper_gguf_t) gguf = NULL;
  g_autoptr(temper_tokenizer_t) original = NULL, rebuilt = NULL;
  g_autoptr(JsonNode) json = NULL, config = NULL;
  g_autoptr(GError) error = NULL;
  JsonObject *ref = json_object_get_object_member (expected, names[1]);
  JsonArray *special = json_object_get_array_member (ref, "special");
  JsonArray *plain = json_object_get_array_member (ref, "plain");
  JsonArray *decoded = json_object_get_array_member (ref, "decoded");

  gguf = temper_gguf_open (gguf_path, &error);
  g_assert_no_error (error);
  original = temper_tokenizer_new_from_gguf (gguf, &error);
  g_assert_no_error (error);
  json = temper_export_tokenizer_json (original, names[0], &error);
  g_assert_no_error (error);
  config = temper_export_tokenizer_config_json (original, "{{ messages }}", 4096);
  write_json (json, json_path);
  write_json (config, config_path);
  rebuilt = temper_tokenizer_new_from_hf (json_path, config_path, &error);
  g_assert_no_error (error);

  g_assert_cmpint (temper_tokenizer_get_bos (rebuilt), ==, temper_tokenizer_get_bos (original));
  g_assert_cmpint (temper_tokenizer_get_eos (rebuilt), ==, temper_tokenizer_get_eos (original));
  g_assert_cmpint (temper_tokenizer_adds_bos (rebuilt), ==, temper_tokenizer_adds_bos (original));
  g_assert_cmpstr (temper_tokenizer_get_chat_template (rebuilt), ==, "{{ messages }}");
  g_assert_cmpuint (json_array_get_length (special), ==, corpus->len);
  for (guint i = 0; i < corpus->len; i++)
    {
      const char *text = g_ptr_array_index (corpus, i);
      g_autoptr(GArray) ids = temper_tokenizer_encode (rebuilt, text, -1, TRUE);
      g_autoptr(GArray) ids_plain = temper_tokenizer_encode (rebuilt, text, -1, FALSE);
      g_autofree char *back = temper_tokenizer_decode (rebuilt, (const gint32 *) ids->data, ids->len, FALSE);
      JsonNode *plain_ref = json_array_get_element (plain, i);
      JsonNode *decoded_ref = json_array_get_element (decoded, i);

      assert_ids (names[1], text, ids, json_array_get_array_element (special, i));
      assert_ids (names[1], text, ids_plain, JSON_NODE_HOLDS_NULL (plain_ref)
                                               ? json_array_get_array_element (special, i)
                                               : json_node_get_array (plain_ref));
      g_assert_cmpstr (back, ==, JSON_NODE_HOLDS_NULL (decoded_ref) ? text
                                                                    : json_node_get_string (decoded_ref));
    }
  g_test_message ("%s: %u strings as Hugging Face tokenizes them", names[0], corpus->len);
  test_remove_tree (dir);
}

int
main (int argc, char **argv)
{
  static const char *const cases[][2] = {
    { "spm.gguf", "spm" }, { "qwen2.gguf", "qwen2" }, { "llama3.gguf", "llama3_gguf" },
  };
  g_autofree char *corpus_path = fixture ("corpus.json");
  g_autofree char *expected_path = fixture ("expected.json");
  int status;

  g_test_init (&argc, &argv, NULL);
  corpus_parser = json_parser_new ();
  expected_parser = json_parser_new ();
  g_assert_true (json_parser_load_from_file (corpus_parser, corpus_path, NULL));
  g_assert_true (json_parser_load_from_file (expected_parser, expected_path, NULL));
  expected = json_node_get_object (json_parser_get_root (expected_parser));
  corpus = g_ptr_array_new ();
  for (int part = 0; part < 2; part++)
    {
      JsonArray *list = part == 0 ? json_node_get_array (json_parser_get_root (corpus_parser))
                                  : json_object_get_array_member (expected, "fuzz_corpus");
      for (guint i = 0; i < json_array_get_length (list); i++)
        g_ptr_array_add (corpus, (gpointer) json_array_get_string_element (list, i));
    }
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/export/hf-tokenizer/%s", cases[i][1]);
      g_test_add_data_func (path, cases[i], test_round_trip);
    }
  status = g_test_run ();
  g_ptr_array_unref (corpus);
  g_object_unref (corpus_parser);
  g_object_unref (expected_parser);
  return status;
}
