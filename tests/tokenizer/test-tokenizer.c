/* SPDX-License-Identifier: MIT */
/* Tokenizer tests: token ids against the Hugging Face tokenizers library
 * (fixtures made by make-tokenizer-fixtures.py), both loaders, decoding,
 * special tokens and damaged files. */
#include "config.h"

#include <string.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "temper/error.h"
#include "temper/gguf.h"
#include "temper/json.h"
#include "temper/tokenizer.h"

/* corpus.json followed by the fuzz strings stored in expected.json. */
static GPtrArray *corpus;
static JsonObject *expected;
static JsonParser *corpus_parser, *expected_parser;

static char *
fixture (const char *name)
{
  return g_build_filename (g_getenv ("TEMPER_SOURCE_DIR"), "tests", "fixtures", "tokenizer",
                           name, NULL);
}

static char *
demo_model_path (void)
{
  return g_build_filename (g_getenv ("TEMPER_SOURCE_DIR"), "data", "models",
                           "SmolLM2-135M-Instruct.Q4_1.gguf", NULL);
}

static temper_tokenizer_t *
load_hf (const char *dir, gboolean with_config)
{
  g_autofree char *json = NULL, *config = NULL;
  g_autofree char *d = fixture (dir);
  g_autoptr(GError) error = NULL;
  temper_tokenizer_t *tok;

  json = g_build_filename (d, "tokenizer.json", NULL);
  config = g_build_filename (d, "tokenizer_config.json", NULL);
  tok = temper_tokenizer_new_from_hf (json, with_config ? config : NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (tok);
  return tok;
}

static temper_tokenizer_t *
load_gguf_path (const char *path)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(temper_gguf_t) gguf = temper_gguf_open (path, &error);
  temper_tokenizer_t *tok;

  g_assert_no_error (error);
  tok = temper_tokenizer_new_from_gguf (gguf, &error);
  g_assert_no_error (error);
  g_assert_nonnull (tok);
  return tok;
}

static temper_tokenizer_t *
load_gguf (const char *name)
{
  g_autofree char *path = fixture (name);
  return load_gguf_path (path);
}

/* tokenizer.json of @dir with its top-level members replaced by those of
 * @edit and, with @legacy_merges, the merges written in the older "a b"
 * form; loaded from a temporary copy. */
static temper_tokenizer_t *
load_hf_edited (const char *dir, JsonObject *edit, gboolean legacy_merges)
{
  g_autofree char *d = fixture (dir);
  g_autofree char *json = g_build_filename (d, "tokenizer.json", NULL);
  g_autofree char *tmp_dir = g_dir_make_tmp ("temper-tok-XXXXXX", NULL);
  g_autofree char *tmp = g_build_filename (tmp_dir, "tokenizer.json", NULL);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(GError) error = NULL;
  JsonObject *root;
  temper_tokenizer_t *tok;

  json_parser_load_from_file (parser, json, &error);
  g_assert_no_error (error);
  root = json_node_get_object (json_parser_get_root (parser));
  if (edit != NULL)
    {
      g_autoptr(GList) names = json_object_get_members (edit);
      for (GList *l = names; l != NULL; l = l->next)
        json_object_set_member (root, l->data,
                                json_node_copy (json_object_get_member (edit, l->data)));
    }
  if (legacy_merges)
    {
      JsonObject *model = json_object_get_object_member (root, "model");
      JsonArray *pairs = json_object_get_array_member (model, "merges");
      JsonArray *strings = json_array_new ();
      for (guint i = 0; i < json_array_get_length (pairs); i++)
        {
          JsonArray *pair = json_array_get_array_element (pairs, i);
          g_autofree char *joined = g_strconcat (json_array_get_string_element (pair, 0), " ",
                                                 json_array_get_string_element (pair, 1), NULL);
          json_array_add_string_element (strings, joined);
        }
      json_object_set_array_member (model, "merges", strings);
    }
  json_generator_set_root (generator, json_parser_get_root (parser));
  json_generator_to_file (generator, tmp, &error);
  g_assert_no_error (error);

  tok = temper_tokenizer_new_from_hf (tmp, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (tok);
  g_unlink (tmp);
  g_rmdir (tmp_dir);
  return tok;
}

static char *
format_ids (const gint32 *ids, gsize n)
{
  GString *s = g_string_new ("[");
  for (gsize i = 0; i < n; i++)
    g_string_append_printf (s, "%s%d", i > 0 ? "," : "", ids[i]);
  g_string_append_c (s, ']');
  return g_string_free (s, FALSE);
}

static void
assert_ids (const char *what, const char *text, GArray *got, JsonArray *want)
{
  gboolean same = got->len == json_array_get_length (want);

  for (guint i = 0; same && i < got->len; i++)
    same = g_array_index (got, gint32, i) == json_array_get_int_element (want, i);
  if (!same)
    {
      g_autofree char *a = format_ids ((const gint32 *) got->data, got->len);
      g_autoptr(GArray) w = g_array_new (FALSE, FALSE, sizeof (gint32));
      g_autofree char *b = NULL;
      for (guint i = 0; i < json_array_get_length (want); i++)
        {
          gint32 v = (gint32) json_array_get_int_element (want, i);
          g_array_append_val (w, v);
        }
      b = format_ids ((const gint32 *) w->data, w->len);
      g_error ("%s: “%s”\n  got      %s\n  expected %s", what, text, a, b);
    }
}

/* Every corpus string, with and without special-token parsing, against the
 * ids and decoded text of the Hugging Face tokenizer @name. */
static void
check_against_reference (const temper_tokenizer_t *tok, const char *name)
{
  JsonObject *ref = json_object_get_object_member (expected, name);
  JsonArray *special = json_object_get_array_member (ref, "special");
  JsonArray *plain = json_object_get_array_member (ref, "plain");
  JsonArray *decoded = json_object_get_array_member (ref, "decoded");

  g_assert_cmpuint (json_array_get_length (special), ==, corpus->len);
  for (guint i = 0; i < corpus->len; i++)
    {
      const char *text = (const char *) g_ptr_array_index (corpus, i);
      g_autoptr(GArray) ids = temper_tokenizer_encode (tok, text, -1, TRUE);
      g_autoptr(GArray) ids_plain = temper_tokenizer_encode (tok, text, -1, FALSE);
      g_autofree char *back = NULL;
      g_autofree char *what = g_strdup_printf ("%s, string %u", name, i);

      assert_ids (what, text, ids, json_array_get_array_element (special, i));
      if (JSON_NODE_HOLDS_NULL (json_array_get_element (plain, i)))
        assert_ids (what, text, ids_plain, json_array_get_array_element (special, i));
      else
        assert_ids (what, text, ids_plain, json_array_get_array_element (plain, i));
      back = temper_tokenizer_decode (tok, (const gint32 *) ids->data, ids->len, FALSE);
      if (JSON_NODE_HOLDS_NULL (json_array_get_element (decoded, i)))
        g_assert_cmpstr (back, ==, text);
      else
        g_assert_cmpstr (back, ==, json_array_get_string_element (decoded, i));
    }
}

/* Byte-level BPE loses nothing: decoding gives back the exact text. */
static void
check_round_trip (const temper_tokenizer_t *tok)
{
  for (guint i = 0; i < corpus->len; i++)
    {
      const char *text = (const char *) g_ptr_array_index (corpus, i);
      g_autoptr(GArray) ids = temper_tokenizer_encode (tok, text, -1, TRUE);
      g_autofree char *back = temper_tokenizer_decode (tok, (const gint32 *) ids->data, ids->len, FALSE);
      g_autoptr(GString) joined = g_string_new (NULL);

      g_assert_cmpstr (back, ==, text);
      for (guint k = 0; k < ids->len; k++)
        {
          gsize len;
          const char *bytes = temper_tokenizer_token_bytes (tok, g_array_index (ids, gint32, k), &len);
          g_string_append_len (joined, bytes, (gssize) len);
        }
      g_assert_cmpstr (joined->str, ==, text);
    }
}

static void
test_spm_hf (void)
{
  g_autoptr(temper_tokenizer_t) tok = load_hf ("spm", TRUE);

  g_assert_cmpint (temper_tokenizer_get_n_vocab (tok), ==, 2000);
  g_assert_cmpint (temper_tokenizer_get_bos (tok), ==, 1);
  g_assert_cmpint (temper_tokenizer_get_eos (tok), ==, 2);
  g_assert_true (temper_tokenizer_adds_bos (tok));
  g_assert_true (temper_tokenizer_is_special (tok, 1));
  g_assert_cmpstr (temper_tokenizer_get_chat_template (tok), ==,
                   "{% for m in messages %}[INST] {{ m['content'] }} [/INST]{% endfor %}");
  check_against_reference (tok, "spm");
}

static void
test_spm_gguf (void)
{
  g_autoptr(temper_tokenizer_t) tok = load_gguf ("spm.gguf");
  gsize len;
  const char *bytes;
  int id;

  g_assert_cmpint (temper_tokenizer_get_n_vocab (tok), ==, 2000);
  g_assert_cmpint (temper_tokenizer_get_bos (tok), ==, 1);
  g_assert_true (temper_tokenizer_adds_bos (tok));
  g_assert_null (temper_tokenizer_get_chat_template (tok));
  check_against_reference (tok, "spm");

  /* Byte tokens stand for their byte, ▁ for a space. */
  id = temper_tokenizer_find_token (tok, "<0x0A>");
  g_assert_cmpint (id, >=, 0);
  bytes = temper_tokenizer_token_bytes (tok, id, &len);
  g_assert_cmpuint (len, ==, 1);
  g_assert_cmpint (bytes[0], ==, '\n');
  id = temper_tokenizer_find_token (tok, "\xE2\x96\x81the");
  g_assert_cmpint (id, >=, 0);
  g_assert_cmpstr (temper_tokenizer_token_bytes (tok, id, &len), ==, " the");
}

static void
test_spm_decode_invalid (void)
{
  g_autoptr(temper_tokenizer_t) tok = load_gguf ("spm.gguf");
  gint32 ids[4];
  g_autofree char *text = NULL;

  /* A cut-off UTF-8 sequence made of byte tokens: one U+FFFD per byte, as
   * the tokenizers ByteFallback decoder does. */
  ids[0] = temper_tokenizer_find_token (tok, "<0xE4>");
  ids[1] = temper_tokenizer_find_token (tok, "<0xB8>");
  ids[2] = temper_tokenizer_find_token (tok, "\xE2\x96\x81the");
  ids[3] = temper_tokenizer_find_token (tok, "<0x41>");
  text = temper_tokenizer_decode (tok, ids, 4, FALSE);
  g_assert_cmpstr (text, ==, "\xEF\xBF\xBD\xEF\xBF\xBD theA");
}

/* A fixture tokenizer.json with its pre-tokenizer or normalizer swapped, as
 * recorded in expected.json with the reference ids for that layout. */
static void
test_variant (gconstpointer data)
{
  const char *name = data;
  JsonObject *ref = json_object_get_object_member (expected, name);
  g_autoptr(temper_tokenizer_t) tok =
    load_hf_edited (json_object_get_string_member (ref, "base"),
                    json_object_get_object_member (ref, "edit"), FALSE);

  check_against_reference (tok, name);
}

static void
test_qwen2_legacy_merges (void)
{
  g_autoptr(temper_tokenizer_t) tok = load_hf_edited ("qwen2", NULL, TRUE);

  check_against_reference (tok, "qwen2");
}

static void
test_qwen2_hf (void)
{
  g_autoptr(temper_tokenizer_t) tok = load_hf ("qwen2", FALSE);

  g_assert_cmpint (temper_tokenizer_get_bos (tok), ==, -1);
  g_assert_false (temper_tokenizer_adds_bos (tok));
  check_against_reference (tok, "qwen2");
}

static void
test_qwen2_gguf (void)
{
  g_autoptr(temper_tokenizer_t) tok = load_gguf ("qwen2.gguf");

  check_against_reference (tok, "qwen2");
}

static void
test_llama3_hf (void)
{
  g_autoptr(temper_tokenizer_t) tok = load_hf ("llama3", TRUE);
  int mask = temper_tokenizer_find_token (tok, "<mask>");
  int tool = temper_tokenizer_find_token (tok, "<tool>");

  g_assert_cmpint (temper_tokenizer_get_bos (tok), ==, 1);
  g_assert_cmpint (temper_tokenizer_get_eos (tok), ==, 2);
  g_assert_cmpint (temper_tokenizer_get_pad (tok), ==, 0);
  g_assert_cmpstr (temper_tokenizer_get_chat_template (tok), ==, "{{ messages }}");
  g_assert_true (temper_tokenizer_is_special (tok, mask));
  g_assert_false (temper_tokenizer_is_special (tok, tool));
  check_against_reference (tok, "llama3");
}

static void
test_llama3_gguf (void)
{
  g_autoptr(temper_tokenizer_t) tok = load_gguf ("llama3.gguf");

  check_against_reference (tok, "llama3_gguf");
}

/* Llama 3 style: no tokenizer_config.json says add_bos_token; the BOS comes
 * from the post-processor's template. */
static void
test_post_processor_bos (void)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(temper_tokenizer_t) tok = NULL;

  json_parser_load_from_data (parser,
    "{\"post_processor\": {\"type\": \"Sequence\", \"processors\": ["
    "  {\"type\": \"ByteLevel\", \"add_prefix_space\": true, \"trim_offsets\": false, \"use_regex\": true},"
    "  {\"type\": \"TemplateProcessing\","
    "   \"single\": [{\"SpecialToken\": {\"id\": \"<|im_start|>\", \"type_id\": 0}},"
    "              {\"Sequence\": {\"id\": \"A\", \"type_id\": 0}}]}]}}", -1, &error);
  g_assert_no_error (error);
  tok = load_hf_edited ("llama3", json_node_get_object (json_parser_get_root (parser)), FALSE);
  g_assert_true (temper_tokenizer_adds_bos (tok));
  g_assert_cmpint (temper_tokenizer_get_bos (tok), ==, 1);
  g_assert_cmpint (temper_tokenizer_get_eos (tok), ==, -1);
}

static void
test_smollm_gguf (void)
{
  g_autofree char *path = demo_model_path ();
  g_autoptr(temper_tokenizer_t) tok = NULL;
  g_autoptr(GTimer) timer = NULL;
  gsize len;
  const char *template;

  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    {
      g_test_skip ("the demo model is not downloaded (make demo)");
      return;
    }
  timer = g_timer_new ();
  tok = load_gguf_path (path);
  g_test_message ("SmolLM2 tokenizer (49152 tokens, 48900 merges) loaded in %.0f ms",
                  g_timer_elapsed (timer, NULL) * 1000);
  /* Generous even unoptimised under AddressSanitizer. */
  g_assert_cmpfloat (g_timer_elapsed (timer, NULL), <, 5.0);

  g_assert_cmpint (temper_tokenizer_get_n_vocab (tok), ==, 49152);
  g_assert_cmpint (temper_tokenizer_get_bos (tok), ==, 1);
  g_assert_cmpint (temper_tokenizer_get_eos (tok), ==, 2);
  g_assert_false (temper_tokenizer_adds_bos (tok));
  g_assert_cmpint (temper_tokenizer_find_token (tok, "<|im_end|>"), ==, 2);
  g_assert_true (temper_tokenizer_is_special (tok, 1));
  g_assert_cmpstr (temper_tokenizer_get_piece (tok, 2), ==, "<|im_end|>");
  g_assert_cmpstr (temper_tokenizer_token_bytes (tok, temper_tokenizer_find_token (tok, "\xC4\xA0the"), &len),
                   ==, " the");
  template = temper_tokenizer_get_chat_template (tok);
  g_assert_nonnull (template);
  g_assert_nonnull (strstr (template, "<|im_start|>"));

  check_against_reference (tok, "smollm");
  check_round_trip (tok);
}

static void
test_smollm_skip_special (void)
{
  g_autofree char *path = demo_model_path ();
  g_autoptr(temper_tokenizer_t) tok = NULL;
  g_autoptr(GArray) ids = NULL;
  g_autofree char *all = NULL, *text = NULL;

  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    {
      g_test_skip ("the demo model is not downloaded (make demo)");
      return;
    }
  tok = load_gguf_path (path);
  ids = temper_tokenizer_encode (tok, "<|im_start|>user\nHi<|im_end|>", -1, TRUE);
  g_assert_cmpint (g_array_index (ids, gint32, 0), ==, 1);
  g_assert_cmpint (g_array_index (ids, gint32, ids->len - 1), ==, 2);
  all = temper_tokenizer_decode (tok, (const gint32 *) ids->data, ids->len, FALSE);
  text = temper_tokenizer_decode (tok, (const gint32 *) ids->data, ids->len, TRUE);
  g_assert_cmpstr (all, ==, "<|im_start|>user\nHi<|im_end|>");
  g_assert_cmpstr (text, ==, "user\nHi");
}

static void
test_byte_level_invalid_utf8 (void)
{
  g_autoptr(temper_tokenizer_t) tok = load_hf ("qwen2", FALSE);
  static const char input[] = "ok \xFF\xFE bad \xE4\xB8 cut \xC3";
  g_autoptr(GArray) ids = temper_tokenizer_encode (tok, input, sizeof input - 1, TRUE);
  g_autoptr(GString) joined = g_string_new (NULL);
  g_autofree char *text = NULL;
  gint32 nul_ids[1];
  g_autoptr(GArray) with_nul = temper_tokenizer_encode (tok, "a\0b", 3, TRUE);

  /* Every byte survives encoding, even those that are not UTF-8. */
  for (guint k = 0; k < ids->len; k++)
    {
      gsize len;
      const char *bytes = temper_tokenizer_token_bytes (tok, g_array_index (ids, gint32, k), &len);
      g_string_append_len (joined, bytes, (gssize) len);
    }
  g_assert_cmpmem (joined->str, joined->len, input, sizeof input - 1);

  /* Decoding replaces each maximal invalid sequence by one U+FFFD. */
  text = temper_tokenizer_decode (tok, (const gint32 *) ids->data, ids->len, FALSE);
  g_assert_cmpstr (text, ==, "ok \xEF\xBF\xBD\xEF\xBF\xBD bad \xEF\xBF\xBD cut \xEF\xBF\xBD");

  g_assert_cmpuint (with_nul->len, >=, 2);
  nul_ids[0] = 99999;  /* beyond the vocabulary: stands for nothing */
  g_free (text);
  text = temper_tokenizer_decode (tok, nul_ids, 1, FALSE);
  g_assert_cmpstr (text, ==, "");
}

/* --- damaged and unsupported files ---------------------------------------- */

static void
expect_hf_error (const char *json_text, int code, const char *needle)
{
  g_autofree char *dir = g_dir_make_tmp ("temper-tok-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "tokenizer.json", NULL);
  g_autoptr(GError) error = NULL;
  temper_tokenizer_t *tok;

  g_assert_true (g_file_set_contents (path, json_text, -1, NULL));
  tok = temper_tokenizer_new_from_hf (path, NULL, &error);
  g_assert_null (tok);
  g_assert_error (error, TEMPER_ERROR, code);
  if (strstr (error->message, needle) == NULL)
    g_error ("error “%s” does not mention “%s”", error->message, needle);
  g_assert_nonnull (strstr (error->message, path));
  g_unlink (path);
  g_rmdir (dir);
}

#define BYTE_LEVEL_PRE "\"pre_tokenizer\":{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"use_regex\":true},"

static void
test_hf_malformed (void)
{
  expect_hf_error ("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0", TEMPER_ERROR_INVALID_FILE, "could not be read");
  expect_hf_error ("[1, 2, 3]", TEMPER_ERROR_INVALID_FILE, "not a JSON object");
  expect_hf_error ("{\"version\": \"1.0\"}", TEMPER_ERROR_INVALID_FILE, "model");
  expect_hf_error ("{\"model\": {\"type\": \"WordPiece\", \"vocab\": {\"a\": 0}}}",
                   TEMPER_ERROR_UNSUPPORTED, "WordPiece");
  expect_hf_error ("{\"model\": {\"type\": \"Unigram\", \"vocab\": [[\"a\", 0.0]]}}",
                   TEMPER_ERROR_UNSUPPORTED, "Unigram");
  expect_hf_error ("{" BYTE_LEVEL_PRE "\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 1}, "
                   "\"merges\": [\"a c\"]}}", TEMPER_ERROR_INVALID_FILE, "not in its vocabulary");
  expect_hf_error ("{" BYTE_LEVEL_PRE "\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 1}, "
                   "\"merges\": [\"a b\"]}}", TEMPER_ERROR_INVALID_FILE, "not in its vocabulary");
  expect_hf_error ("{" BYTE_LEVEL_PRE "\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": -4}, "
                   "\"merges\": []}}", TEMPER_ERROR_INVALID_FILE, "id");
  expect_hf_error ("{" BYTE_LEVEL_PRE "\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 0}, "
                   "\"merges\": []}}", TEMPER_ERROR_INVALID_FILE, "more than one");
  expect_hf_error ("{" BYTE_LEVEL_PRE "\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": \"x\"}, "
                   "\"merges\": []}}", TEMPER_ERROR_INVALID_FILE, "“a”");
  expect_hf_error ("{" BYTE_LEVEL_PRE "\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, "
                   "\"merges\": [[\"a\"]]}}", TEMPER_ERROR_INVALID_FILE, "merge");
  expect_hf_error ("{\"pre_tokenizer\": {\"type\": \"Split\", \"pattern\": {\"Regex\": \"\\\\w+\"}, "
                   "\"behavior\": \"Isolated\", \"invert\": false}, "
                   "\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": []}}",
                   TEMPER_ERROR_UNSUPPORTED, "\\w+");
  expect_hf_error ("{\"pre_tokenizer\": {\"type\": \"Whitespace\"}, "
                   "\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": []}}",
                   TEMPER_ERROR_UNSUPPORTED, "Whitespace");
  expect_hf_error ("{" BYTE_LEVEL_PRE "\"added_tokens\": [{\"id\": 99999999, \"content\": \"x\"}], "
                   "\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": []}}",
                   TEMPER_ERROR_INVALID_FILE, "added token");
}

static void
test_hf_missing_file (void)
{
  g_autoptr(GError) error = NULL;
  temper_tokenizer_t *tok = temper_tokenizer_new_from_hf ("/nonexistent/tokenizer.json", NULL, &error);

  g_assert_null (tok);
  g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_IO);
}

typedef void (*GgufEdit) (temper_gguf_writer_t *w);

static void
expect_gguf_error (GgufEdit edit, int code, const char *needle)
{
  g_autofree char *dir = g_dir_make_tmp ("temper-tok-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "bad.gguf", NULL);
  g_autoptr(temper_gguf_writer_t) w = temper_gguf_writer_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(temper_gguf_t) gguf = NULL;
  temper_tokenizer_t *tok;

  temper_gguf_writer_set_string (w, "general.architecture", "llama");
  edit (w);
  g_assert_true (temper_gguf_writer_write (w, path, &error));
  g_assert_no_error (error);
  gguf = temper_gguf_open (path, &error);
  g_assert_no_error (error);
  tok = temper_tokenizer_new_from_gguf (gguf, &error);
  g_assert_null (tok);
  g_assert_error (error, TEMPER_ERROR, code);
  if (strstr (error->message, needle) == NULL)
    g_error ("error “%s” does not mention “%s”", error->message, needle);
  g_unlink (path);
  g_rmdir (dir);
}

static const char *const small_tokens[] = { "a", "b", "ab", "<s>" };

static void
edit_no_model (temper_gguf_writer_t *w)
{
  temper_gguf_writer_set_string_array (w, "tokenizer.ggml.tokens", small_tokens, 4);
}

static void
edit_wordpiece (temper_gguf_writer_t *w)
{
  temper_gguf_writer_set_string (w, "tokenizer.ggml.model", "bert");
  temper_gguf_writer_set_string_array (w, "tokenizer.ggml.tokens", small_tokens, 4);
}

static void
edit_unknown_pre (temper_gguf_writer_t *w)
{
  static const char *const merges[] = { "a b" };
  temper_gguf_writer_set_string (w, "tokenizer.ggml.model", "gpt2");
  temper_gguf_writer_set_string (w, "tokenizer.ggml.pre", "mystery-pre");
  temper_gguf_writer_set_string_array (w, "tokenizer.ggml.tokens", small_tokens, 4);
  temper_gguf_writer_set_string_array (w, "tokenizer.ggml.merges", merges, 1);
}

static void
edit_bad_merge (temper_gguf_writer_t *w)
{
  static const char *const merges[] = { "a b", "b zz" };
  temper_gguf_writer_set_string (w, "tokenizer.ggml.model", "gpt2");
  temper_gguf_writer_set_string_array (w, "tokenizer.ggml.tokens", small_tokens, 4);
  temper_gguf_writer_set_string_array (w, "tokenizer.ggml.merges", merges, 2);
}

static void
edit_merge_without_space (temper_gguf_writer_t *w)
{
  static const char *const merges[] = { "ab" };
  temper_gguf_writer_set_string (w, "tokenizer.ggml.model", "gpt2");
  temper_gguf_writer_set_string_array (w, "tokenizer.ggml.tokens", small_tokens, 4);
  temper_gguf_writer_set_string_array (w, "tokenizer.ggml.merges", merges, 1);
}

static void
edit_bos_out_of_range (temper_gguf_writer_t *w)
{
  static const char *const merges[] = { "a b" };
  temper_gguf_writer_set_string (w, "tokenizer.ggml.model", "gpt2");
  temper_gguf_writer_set_string_array (w, "tokenizer.ggml.tokens", small_tokens, 4);
  temper_gguf_writer_set_string_array (w, "tokenizer.ggml.merges", merges, 1);
  temper_gguf_writer_set_u32 (w, "tokenizer.ggml.bos_token_id", 4000);
}

static void
edit_short_types (temper_gguf_writer_t *w)
{
  static const gint32 types[] = { 1, 1 };
  static const float scores[] = { 0, 0, 0, 0 };
  temper_gguf_writer_set_string (w, "tokenizer.ggml.model", "llama");
  temper_gguf_writer_set_string_array (w, "tokenizer.ggml.tokens", small_tokens, 4);
  temper_gguf_writer_set_f32_array (w, "tokenizer.ggml.scores", scores, 4);
  temper_gguf_writer_set_i32_array (w, "tokenizer.ggml.token_type", types, 2);
}

static void
edit_spm_no_scores (temper_gguf_writer_t *w)
{
  temper_gguf_writer_set_string (w, "tokenizer.ggml.model", "llama");
  temper_gguf_writer_set_string_array (w, "tokenizer.ggml.tokens", small_tokens, 4);
}

static void
test_gguf_malformed (void)
{
  expect_gguf_error (edit_no_model, TEMPER_ERROR_INVALID_FILE, "tokenizer.ggml.model");
  expect_gguf_error (edit_wordpiece, TEMPER_ERROR_UNSUPPORTED, "bert");
  expect_gguf_error (edit_unknown_pre, TEMPER_ERROR_UNSUPPORTED, "mystery-pre");
  expect_gguf_error (edit_bad_merge, TEMPER_ERROR_INVALID_FILE, "zz");
  expect_gguf_error (edit_merge_without_space, TEMPER_ERROR_INVALID_FILE, "space");
  expect_gguf_error (edit_bos_out_of_range, TEMPER_ERROR_INVALID_FILE, "bos_token_id");
  expect_gguf_error (edit_short_types, TEMPER_ERROR_INVALID_FILE, "token_type");
  expect_gguf_error (edit_spm_no_scores, TEMPER_ERROR_INVALID_FILE, "scores");
}

/* A long text (the corpus repeated) through the demo tokenizer: checks that
 * long inputs give the same ids as their parts and prints the speed. */
static void
test_smollm_long_text (void)
{
  g_autofree char *path = demo_model_path ();
  g_autoptr(temper_tokenizer_t) tok = NULL;
  g_autoptr(GString) text = g_string_new (NULL);
  g_autoptr(GArray) ids = NULL;
  g_autoptr(GArray) one = NULL;
  g_autoptr(GTimer) timer = NULL;
  g_autofree char *back = NULL;
  guint copies = 0;

  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    {
      g_test_skip ("the demo model is not downloaded (make demo)");
      return;
    }
  tok = load_gguf_path (path);
  /* Each copy ends in "X." and the next begins with "Hello": GPT-2's regex
   * never joins punctuation to a following letter, so every copy is cut into
   * pre-tokens exactly as the first one alone. */
  for (guint i = 0; i < corpus->len; i++)
    {
      g_string_append (text, (const char *) g_ptr_array_index (corpus, i));
      g_string_append (text, "\n");
    }
  g_string_append (text, "X.");
  g_assert_true (g_str_has_prefix (text->str, "Hello"));
  one = temper_tokenizer_encode (tok, text->str, (gssize) text->len, FALSE);
  {
    gsize unit = text->len;
    g_autofree char *copy = g_strndup (text->str, unit);
    while (text->len < 256 * 1024)
      {
        g_string_append (text, copy);
        copies++;
      }
    copies++;
  }
  timer = g_timer_new ();
  ids = temper_tokenizer_encode (tok, text->str, (gssize) text->len, FALSE);
  g_test_message ("tokenized %.0f KiB into %u tokens in %.3f s (%.2f MB/s)",
                  text->len / 1024.0, ids->len, g_timer_elapsed (timer, NULL),
                  text->len / 1e6 / g_timer_elapsed (timer, NULL));
  g_assert_cmpuint (ids->len, ==, (gsize) one->len * copies);
  for (guint i = 0; i < ids->len; i++)
    g_assert_cmpint (g_array_index (ids, gint32, i), ==, g_array_index (one, gint32, i % one->len));
  back = temper_tokenizer_decode (tok, (const gint32 *) ids->data, ids->len, FALSE);
  g_assert_cmpstr (back, ==, text->str);
}

/* Bytes missing from a byte-level vocabulary (SmolLM2 has no token for
 * 0x04, 0x13 …): dropped when the model has no unknown token, the unknown
 * token when it has one, never the unk_token of tokenizer_config.json
 * (end-of-text here), against tokenizers in bytegap.json. */
static void
check_byte_gap (const temper_tokenizer_t *tok, const char *name)
{
  g_autofree char *path = fixture ("bytegap.json");
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) root = temper_json_parse_file (path, 0, &error);
  JsonObject *ref;
  JsonArray *strings, *special, *plain;

  g_assert_no_error (error);
  strings = json_object_get_array_member (json_node_get_object (root), "strings");
  ref = json_object_get_object_member (json_node_get_object (root), name);
  special = json_object_get_array_member (ref, "special");
  plain = json_object_get_array_member (ref, "plain");
  for (guint i = 0; i < json_array_get_length (strings); i++)
    {
      const char *text = json_array_get_string_element (strings, i);
      g_autoptr(GArray) ids = temper_tokenizer_encode (tok, text, -1, TRUE);
      g_autoptr(GArray) ids_plain = temper_tokenizer_encode (tok, text, -1, FALSE);
      g_autofree char *what = g_strdup_printf ("%s, string %u", name, i);

      assert_ids (what, text, ids, json_array_get_array_element (special, i));
      assert_ids (what, text, ids_plain,
                  JSON_NODE_HOLDS_NULL (json_array_get_element (plain, i))
                    ? json_array_get_array_element (special, i)
                    : json_array_get_array_element (plain, i));
    }
}

static void
test_byte_gap_hf (gconstpointer data)
{
  g_autoptr(temper_tokenizer_t) tok = load_hf (data, TRUE);

  check_byte_gap (tok, data);
}

static void
test_byte_gap_smollm (void)
{
  g_autofree char *path = demo_model_path ();
  g_autoptr(temper_tokenizer_t) tok = NULL;

  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    {
      g_test_skip ("the demo model is not downloaded (make demo)");
      return;
    }
  tok = load_gguf_path (path);
  check_byte_gap (tok, "smollm");
}

/* A tokenizer.json whose model names end-of-text as its unknown token:
 * the missing bytes are dropped, not turned into end-of-text. */
static void
test_byte_gap_unk_is_eos (void)
{
  g_autofree char *dir = fixture ("bytegap-unk");
  g_autofree char *json = g_build_filename (dir, "tokenizer.json", NULL);
  g_autofree char *config = g_build_filename (dir, "tokenizer_config.json", NULL);
  g_autofree char *tmp_dir = g_dir_make_tmp ("temper-tok-XXXXXX", NULL);
  g_autofree char *tmp = g_build_filename (tmp_dir, "tokenizer.json", NULL);
  g_autofree char *text = NULL;
  g_auto(GStrv) parts = NULL;
  g_autofree char *edited = NULL;
  g_autoptr(temper_tokenizer_t) tok = NULL;
  g_autoptr(GArray) ids = NULL;
  g_autoptr(GError) error = NULL;
  int eos;

  g_assert_true (g_file_get_contents (json, &text, NULL, NULL));
  parts = g_strsplit (text, "\"unk_token\": \"<unk>\"", -1);
  g_assert_cmpuint (g_strv_length (parts), ==, 2);
  edited = g_strjoinv ("\"unk_token\": \"<|endoftext|>\"", parts);
  g_assert_true (g_file_set_contents (tmp, edited, -1, NULL));
  tok = temper_tokenizer_new_from_hf (tmp, config, &error);
  g_assert_no_error (error);
  eos = temper_tokenizer_get_eos (tok);
  g_assert_cmpint (eos, ==, temper_tokenizer_find_token (tok, "<|endoftext|>"));
  ids = temper_tokenizer_encode (tok, "a\x04" "b\x13", -1, FALSE);
  {
    g_autofree char *got = format_ids ((const gint32 *) ids->data, ids->len);
    g_test_message ("a\\x04b\\x13: %s (tokenizers: [5,0,6,0], end-of-text is 0)", got);
  }
  g_assert_cmpuint (ids->len, ==, 2);
  for (guint i = 0; i < ids->len; i++)
    g_assert_cmpint (g_array_index (ids, gint32, i), !=, eos);
  g_unlink (tmp);
  g_rmdir (tmp_dir);
}

static void
load_fixtures (void)
{
  g_autofree char *corpus_path = fixture ("corpus.json");
  g_autofree char *expected_path = fixture ("expected.json");
  g_autoptr(GError) error = NULL;

  corpus_parser = json_parser_new ();
  json_parser_load_from_file (corpus_parser, corpus_path, &error);
  g_assert_no_error (error);
  expected_parser = json_parser_new ();
  json_parser_load_from_file (expected_parser, expected_path, &error);
  g_assert_no_error (error);
  expected = json_node_get_object (json_parser_get_root (expected_parser));

  corpus = g_ptr_array_new ();
  for (int part = 0; part < 2; part++)
    {
      JsonArray *list = part == 0 ? json_node_get_array (json_parser_get_root (corpus_parser))
                                  : json_object_get_array_member (expected, "fuzz_corpus");
      for (guint i = 0; i < json_array_get_length (list); i++)
        g_ptr_array_add (corpus, (gpointer) json_array_get_string_element (list, i));
    }
}

int
main (int argc, char **argv)
{
  int result;

  g_test_init (&argc, &argv, NULL);
  load_fixtures ();

  g_test_add_func ("/tokenizer/spm/hf", test_spm_hf);
  g_test_add_func ("/tokenizer/spm/gguf", test_spm_gguf);
  g_test_add_func ("/tokenizer/spm/decode-invalid", test_spm_decode_invalid);
  g_test_add_data_func ("/tokenizer/spm/legacy-normalizer", "spm_legacy", test_variant);
  g_test_add_data_func ("/tokenizer/spm/metaspace-split", "spm_split", test_variant);
  g_test_add_data_func ("/tokenizer/byte-level/gpt2", "bytelevel_gpt2", test_variant);
  g_test_add_data_func ("/tokenizer/byte-level/smollm", "bytelevel_smollm", test_variant);
  g_test_add_data_func ("/tokenizer/byte-level/digit-runs", "bytelevel_digits", test_variant);
  g_test_add_data_func ("/tokenizer/byte-level/split-gpt2", "bytelevel_split_gpt2", test_variant);
  g_test_add_func ("/tokenizer/qwen2/hf", test_qwen2_hf);
  g_test_add_func ("/tokenizer/qwen2/legacy-merges", test_qwen2_legacy_merges);
  g_test_add_func ("/tokenizer/qwen2/gguf", test_qwen2_gguf);
  g_test_add_func ("/tokenizer/llama3/hf", test_llama3_hf);
  g_test_add_func ("/tokenizer/llama3/gguf", test_llama3_gguf);
  g_test_add_func ("/tokenizer/llama3/post-processor-bos", test_post_processor_bos);
  g_test_add_func ("/tokenizer/smollm/gguf", test_smollm_gguf);
  g_test_add_func ("/tokenizer/smollm/skip-special", test_smollm_skip_special);
  g_test_add_func ("/tokenizer/smollm/long-text", test_smollm_long_text);
  g_test_add_func ("/tokenizer/byte-level/invalid-utf8", test_byte_level_invalid_utf8);
  g_test_add_data_func ("/tokenizer/byte-gap/no-unk", "bytegap", test_byte_gap_hf);
  g_test_add_data_func ("/tokenizer/byte-gap/unk", "bytegap-unk", test_byte_gap_hf);
  g_test_add_data_func ("/tokenizer/byte-gap/unk-fused", "bytegap-unk-fused", test_byte_gap_hf);
  g_test_add_func ("/tokenizer/byte-gap/smollm-gguf", test_byte_gap_smollm);
  g_test_add_func ("/tokenizer/byte-gap/unk-is-end-of-text", test_byte_gap_unk_is_eos);
  g_test_add_func ("/tokenizer/hf/malformed", test_hf_malformed);
  g_test_add_func ("/tokenizer/hf/missing", test_hf_missing_file);
  g_test_add_func ("/tokenizer/gguf/malformed", test_gguf_malformed);

  result = g_test_run ();
  g_ptr_array_unref (corpus);
  g_object_unref (corpus_parser);
  g_object_unref (expected_parser);
  return result;
}
