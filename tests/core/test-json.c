/* SPDX-License-Identifier: MIT */
/* test-json.c — the JSON entry point: depth and size limits, special files. */
#include "config.h"

#include <string.h>
#include <sys/stat.h>

#include <glib/gstdio.h>

#include "temper/error.h"
#include "temper/json.h"
#include "../test-tree.h"

static char *
nested (guint depth)
{
  GString *s = g_string_new (NULL);

  for (guint i = 0; i < depth; i++)
    g_string_append_c (s, '[');
  for (guint i = 0; i < depth; i++)
    g_string_append_c (s, ']');
  return g_string_free (s, FALSE);
}

static void
test_depth_scan (void)
{
  /* Brackets inside strings, escaped quotes included, do not count. */
  static const char *const shallow[] = {
    "[\"[[[[\"]", "[\"\\\"[[[[\"]", "{\"a\\\\\": \"{{{{\"}", "]]]]]", "\"[[[[",
  };
  static const char *const deep[] = {
    "[[[", "[\"x\", [{\"a\": 1}]]", "[\"\\\\\"[[", "]]][[[",
  };

  for (gsize i = 0; i < G_N_ELEMENTS (shallow); i++)
    g_assert_true (temper_json_depth_within (shallow[i], strlen (shallow[i]), 2));
  for (gsize i = 0; i < G_N_ELEMENTS (deep); i++)
    g_assert_false (temper_json_depth_within (deep[i], strlen (deep[i]), 2));
}

static void
test_parse_limits (void)
{
  g_autofree char *at_limit = nested (TEMPER_JSON_MAX_DEPTH);
  g_autofree char *past_limit = nested (TEMPER_JSON_MAX_DEPTH + 1);
  g_autofree char *huge = nested (100000);
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(GError) error = NULL;

  root = temper_json_parse_data (at_limit, -1, "at-limit", 0, &error);
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_ARRAY (root));
  g_clear_pointer (&root, json_node_unref);

  root = temper_json_parse_data (past_limit, -1, "“past.json”", 0, &error);
  g_assert_null (root);
  g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE);
  g_assert_nonnull (strstr (error->message, "“past.json” is nested too deeply (more than 512 levels"));
  g_clear_error (&error);

  root = temper_json_parse_data (huge, -1, "huge", 0, &error);
  g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE);
  g_clear_error (&error);

  root = temper_json_parse_data ("[1, 2, 3]", -1, "“small.json”", 8, &error);
  g_assert_null (root);
  g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE);
  g_clear_error (&error);

  /* Syntax errors keep json-glib's domain and words. */
  root = temper_json_parse_data ("[1,", -1, "broken", 0, &error);
  g_assert_null (root);
  g_assert_true (error->domain == JSON_PARSER_ERROR);
  g_clear_error (&error);

  root = temper_json_parse_data ("  ", -1, "blank", 0, &error);
  g_assert_null (root);
  g_assert_true (error->domain == JSON_PARSER_ERROR);
}

/* A lone UTF-16 surrogate escape is legal JSON text but no character:
 * json-glib turns it into bytes that are not UTF-8 (and swallows the
 * character after it), and a run's settings quoting such a name made an
 * error message that was not text (found by fuzz-run-files).  Each string
 * and member name reads back valid, the lone half as U+FFFD; a proper pair
 * is the character it spells. */
static void
assert_repaired (const char *text, const char *start, const char *end)
{
  g_assert_true (g_utf8_validate (text, -1, NULL));
  g_assert_true (g_str_has_prefix (text, start));
  g_assert_true (g_str_has_suffix (text, end));
  g_assert_nonnull (strstr (text, "\xef\xbf\xbd"));
}

static void
test_lone_surrogates (void)
{
  const char *text = "{\"a\\udc00b\": [\"x\\ud800yz\", {\"k\": \"\\udfffab\"}], "
                     "\"pair\": \"\\ud83d\\ude00\"}";
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) root = temper_json_parse_data (text, -1, "surrogates", 0, &error);
  g_autoptr(GList) names = NULL;
  JsonObject *obj;
  JsonArray *list = NULL;

  g_assert_no_error (error);
  obj = json_node_get_object (root);
  names = json_object_get_members (obj);
  g_assert_cmpuint (g_list_length (names), ==, 2);
  for (GList *l = names; l != NULL; l = l->next)
    {
      g_assert_true (g_utf8_validate (l->data, -1, NULL));
      if (g_str_has_prefix (l->data, "a"))
        {
          assert_repaired (l->data, "a", "\xbd");
          list = json_object_get_array_member (obj, l->data);
        }
    }
  g_assert_nonnull (list);
  assert_repaired (json_array_get_string_element (list, 0), "x", "z");
  assert_repaired (json_object_get_string_member (json_array_get_object_element (list, 1), "k"),
                   "\xef", "b");
  g_assert_cmpstr (json_object_get_string_member (obj, "pair"), ==, "\xf0\x9f\x98\x80");
}

/* Every way a string can come out of the parser damaged is caught, however
 * the document spells it: the parser only repairs documents that may need
 * it, and this checks that it never passes one by. */
static void
test_damaged_strings_found (void)
{
  static const char *const documents[] = {
    "[\"\\uDC00x\"]",           /* upper-case escape */
    "[\"\\\\\\udc00x\"]",      /* an escaped backslash, then the surrogate */
    "{\"\\uD800x\": 1}",         /* a member name, upper case */
    "[\"a\xff\xfe\x62\"]",          /* bytes that are not UTF-8, unescaped */
  };

  for (gsize i = 0; i < G_N_ELEMENTS (documents); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(JsonNode) root = temper_json_parse_data (documents[i], -1, "damaged", 0, &error);
      g_autofree char *text = NULL;

      /* The parser may refuse raw bytes that are not UTF-8 outright;
       * what it lets through must be valid. */
      g_test_message ("document %" G_GSIZE_FORMAT ": %s", i, root != NULL ? "read" : error->message);
      if (root == NULL)
        {
          g_assert_nonnull (error);
          g_assert_true (g_utf8_validate (error->message, -1, NULL));
          continue;
        }
      text = json_to_string (root, FALSE);
      g_assert_true (g_utf8_validate (text, -1, NULL));
    }
}

static void
test_parse_file (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("temper-json-XXXXXX", &error);
  g_autofree char *good = g_build_filename (dir, "good.json", NULL);
  g_autofree char *fifo = g_build_filename (dir, "fifo.json", NULL);
  g_autofree char *big = g_build_filename (dir, "big.json", NULL);
  g_autoptr(JsonNode) root = NULL;

  g_assert_no_error (error);
  g_assert_true (g_file_set_contents (good, "{\"a\": [1]}", -1, NULL));
  root = temper_json_parse_file (good, 0, &error);
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (root));
  g_clear_pointer (&root, json_node_unref);

  /* A FIFO with no writer: reading it would block forever. */
  g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
  root = temper_json_parse_file (fifo, 0, &error);
  g_assert_null (root);
  g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "named pipe"));
  g_clear_error (&error);

  /* A folder where a file is expected. */
  root = temper_json_parse_file (dir, 0, &error);
  g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  g_assert_true (g_file_set_contents (big, "[0, 0, 0, 0, 0, 0]", -1, NULL));
  root = temper_json_parse_file (big, 10, &error);
  g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE);
  g_clear_error (&error);

  root = temper_json_parse_file ("/nonexistent/x.json", 0, &error);
  g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_IO);
  test_remove_tree (dir);
}

/* Every control byte in a string or a member name comes out escaped, as
 * JSON requires (json-glib 1.6 leaves 0x1f raw: Gemma's vocabulary has that
 * token, and Python refused the tokenizer.json Temper wrote), and the text
 * reads back to the same strings. */
static void
test_to_text_escapes (void)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonNode) root = NULL, back = NULL;
  g_autoptr(GError) error = NULL;
  char raw[32];

  for (int c = 1; c < 0x20; c++)
    raw[c - 1] = (char) c;
  raw[31] = '\0';
  json_builder_begin_object (b);
  for (int c = 1; c < 0x20; c++)
    {
      char key[2] = { (char) c, '\0' };

      json_builder_set_member_name (b, key);
      json_builder_add_int_value (b, c);
    }
  json_builder_set_member_name (b, "all");
  json_builder_add_string_value (b, raw);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  for (int pretty = 0; pretty < 2; pretty++)
    {
      gsize len = 0;
      g_autofree char *text = temper_json_to_text (root, pretty, &len);
      JsonObject *obj;

      g_assert_cmpuint (len, ==, strlen (text));
      for (gsize i = 0; i < len; i++)
        if ((guchar) text[i] < 0x20)
          g_assert_cmpint (text[i], ==, '\n');
      g_clear_pointer (&back, json_node_unref);
      back = temper_json_parse_data (text, -1, "escaped", 1 << 20, &error);
      g_assert_no_error (error);
      obj = json_node_get_object (back);
      g_assert_cmpstr (json_object_get_string_member (obj, "all"), ==, raw);
      for (int c = 1; c < 0x20; c++)
        {
          char key[2] = { (char) c, '\0' };

          g_assert_cmpint (json_object_get_int_member_with_default (obj, key, -1), ==, c);
        }
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/json/depth-scan", test_depth_scan);
  g_test_add_func ("/json/parse-limits", test_parse_limits);
  g_test_add_func ("/json/parse-file", test_parse_file);
  g_test_add_func ("/json/lone-surrogates", test_lone_surrogates);
  g_test_add_func ("/json/damaged-strings-found", test_damaged_strings_found);
  g_test_add_func ("/json/to-text-escapes", test_to_text_escapes);
  return g_test_run ();
}
