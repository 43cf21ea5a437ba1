/* SPDX-License-Identifier: MIT */
/* Dataset reading and checking: each format is recognised, and every broken
 * file in tests/fixtures/datasets gives exactly the expected problems at the
 * expected lines (see make-dataset-fixtures.py for what each line holds). */
#include "config.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "temper/dataset.h"
#include "temper/error.h"

typedef struct {
  guint64                  line;
  gint64                   item;
  TemperDatasetProblemKind kind;
} Expected;

#define END { 0, 0, 0 }

static char *
fixture (const char *name)
{
  const char *src = g_getenv ("TEMPER_SOURCE_DIR");
  return g_build_filename (src != NULL ? src : TEMPER_SOURCE_DIR, "tests", "fixtures", "datasets",
                           name, NULL);
}

static temper_dataset_t *
load (const char *name, const TemperDatasetOptions *options, GError **error)
{
  g_autofree char *path = fixture (name);
  return temper_dataset_load (path, options, error);
}

static void
check_problems (const temper_dataset_t *ds, const Expected *expected)
{
  const TemperDatasetReport *r = temper_dataset_get_report (ds);
  guint n = 0;

  while (expected[n].line != 0)
    n++;
  for (guint i = 0; i < r->n_listed; i++)
    g_test_message ("problem: line %" G_GUINT64_FORMAT " item %" G_GINT64_FORMAT " %s: %s",
                    r->problems[i].line, r->problems[i].item,
                    temper_dataset_problem_kind_name (r->problems[i].kind), r->problems[i].message);
  g_assert_cmpuint (r->n_listed, ==, n);
  g_assert_cmpuint (r->n_problems, ==, n);
  g_assert_cmpuint (r->n_dropped, ==, n);
  for (guint i = 0; i < n; i++)
    {
      g_assert_cmpuint (r->problems[i].line, ==, expected[i].line);
      g_assert_cmpint (r->problems[i].item, ==, expected[i].item);
      g_assert_cmpstr (temper_dataset_problem_kind_name (r->problems[i].kind), ==,
                       temper_dataset_problem_kind_name (expected[i].kind));
      g_assert_nonnull (r->problems[i].message);
      g_assert_cmpuint (strlen (r->problems[i].message), >, 10);
    }
}

static void
test_formats (void)
{
  static const struct {
    const char          *file;
    TemperDatasetFormat  format;
    gboolean             jsonl;
    gsize                n_records;
    gsize                n_messages_first;
  } cases[] = {
    { "alpaca.jsonl",            TEMPER_DATASET_FORMAT_ALPACA,             TRUE,  3, 2 },
    { "instruction-output.json", TEMPER_DATASET_FORMAT_INSTRUCTION_OUTPUT, FALSE, 2, 2 },
    { "prompt-response.jsonl",   TEMPER_DATASET_FORMAT_PROMPT_RESPONSE,    TRUE,  2, 2 },
    { "messages.jsonl",          TEMPER_DATASET_FORMAT_MESSAGES,           TRUE,  2, 5 },
    { "sharegpt.json",           TEMPER_DATASET_FORMAT_SHAREGPT,           FALSE, 2, 3 },
    { "text.jsonl",              TEMPER_DATASET_FORMAT_TEXT,               TRUE,  2, 1 },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(temper_dataset_t) ds = load (cases[i].file, NULL, &error);
      const TemperDatasetReport *r;

      g_test_message ("%s", cases[i].file);
      g_assert_no_error (error);
      r = temper_dataset_get_report (ds);
      g_assert_cmpstr (temper_dataset_format_name (r->format), ==,
                       temper_dataset_format_name (cases[i].format));
      g_assert_cmpint (r->jsonl, ==, cases[i].jsonl);
      g_assert_cmpuint (r->n_records, ==, cases[i].n_records);
      g_assert_cmpuint (r->n_valid, ==, cases[i].n_records);
      g_assert_cmpuint (r->n_dropped, ==, 0);
      g_assert_false (r->has_token_stats);
      g_assert_cmpuint (temper_dataset_get_n_records (ds), ==, cases[i].n_records);
      g_assert_cmpuint (temper_dataset_get_record (ds, 0)->n_messages, ==, cases[i].n_messages_first);
      g_assert_cmpint (temper_dataset_get_record (ds, 0)->n_tokens, ==, -1);
    }
}

static void
test_messages_content (void)
{
  g_autoptr(temper_dataset_t) alpaca = load ("alpaca.jsonl", NULL, NULL);
  g_autoptr(temper_dataset_t) sharegpt = load ("sharegpt.json", NULL, NULL);
  g_autoptr(temper_dataset_t) prompt = load ("prompt-response.jsonl", NULL, NULL);
  const TemperDatasetRecord *r;

  /* Alpaca: the input is a paragraph after the instruction; system first. */
  r = temper_dataset_get_record (alpaca, 0);
  g_assert_cmpint (r->messages[0].role, ==, TEMPER_CHAT_ROLE_USER);
  g_assert_cmpstr (r->messages[0].content, ==, "Translate to French.\n\nGood morning");
  g_assert_cmpint (r->messages[1].role, ==, TEMPER_CHAT_ROLE_ASSISTANT);
  g_assert_cmpstr (r->messages[1].content, ==, "Bonjour");
  g_assert_cmpuint (r->line, ==, 1);
  g_assert_cmpint (r->item, ==, -1);
  r = temper_dataset_get_record (alpaca, 1);
  g_assert_cmpstr (r->messages[0].content, ==, "Name a primary colour.");
  r = temper_dataset_get_record (alpaca, 2);
  g_assert_cmpuint (r->n_messages, ==, 3);
  g_assert_cmpint (r->messages[0].role, ==, TEMPER_CHAT_ROLE_SYSTEM);
  g_assert_cmpstr (r->messages[0].content, ==, "Answer briefly.");

  /* ShareGPT speakers map to roles; array items know their index and line. */
  r = temper_dataset_get_record (sharegpt, 1);
  g_assert_cmpuint (r->n_messages, ==, 4);
  g_assert_cmpint (r->messages[0].role, ==, TEMPER_CHAT_ROLE_USER);
  g_assert_cmpint (r->messages[3].role, ==, TEMPER_CHAT_ROLE_ASSISTANT);
  g_assert_cmpstr (r->messages[3].content, ==, "Bye!");
  g_assert_cmpint (r->item, ==, 1);
  g_assert_cmpuint (r->line, ==, 18);

  /* "completion" stands in for "response". */
  r = temper_dataset_get_record (prompt, 1);
  g_assert_cmpstr (r->messages[1].content, ==, "Tokyo.");
}

static void
test_format_override (void)
{
  TemperDatasetOptions options;
  g_autoptr(GError) error = NULL;
  g_autoptr(temper_dataset_t) ds = NULL;
  TemperDatasetFormat parsed;

  g_assert_true (temper_dataset_format_from_name ("sharegpt", &parsed));
  g_assert_cmpint (parsed, ==, TEMPER_DATASET_FORMAT_SHAREGPT);
  g_assert_false (temper_dataset_format_from_name ("csv", &parsed));

  /* Forcing a format that does not fit reports the missing fields, not
   * "another format". */
  temper_dataset_options_init (&options);
  options.format = TEMPER_DATASET_FORMAT_PROMPT_RESPONSE;
  ds = load ("mixed-formats.jsonl", &options, &error);
  g_assert_no_error (error);
  {
    const Expected expected[] = {
      { 1, -1, TEMPER_DATASET_PROBLEM_MISSING_FIELD },
      { 2, -1, TEMPER_DATASET_PROBLEM_MISSING_FIELD },
      { 4, -1, TEMPER_DATASET_PROBLEM_MISSING_FIELD },
      { 5, -1, TEMPER_DATASET_PROBLEM_MISSING_FIELD },
      END,
    };
    check_problems (ds, expected);
  }
  g_assert_cmpuint (temper_dataset_get_n_records (ds), ==, 1);
}

typedef struct {
  const char *file;
  gsize       max_record_bytes;
  guint64     n_records;
  guint64     n_valid;
  Expected    problems[8];
} BrokenCase;

static void
test_broken_files (void)
{
  static const BrokenCase cases[] = {
    { "not-json.jsonl", 0, 6, 2, {
        { 2, -1, TEMPER_DATASET_PROBLEM_NOT_JSON }, { 3, -1, TEMPER_DATASET_PROBLEM_NOT_JSON },
        { 4, -1, TEMPER_DATASET_PROBLEM_NOT_OBJECT }, { 5, -1, TEMPER_DATASET_PROBLEM_NOT_OBJECT }, END } },
    { "truncated.json", 0, 3, 2, { { 4, 2, TEMPER_DATASET_PROBLEM_NOT_JSON }, END } },
    { "wrong-types.jsonl", 0, 4, 1, {
        { 1, -1, TEMPER_DATASET_PROBLEM_WRONG_TYPE }, { 2, -1, TEMPER_DATASET_PROBLEM_WRONG_TYPE },
        { 4, -1, TEMPER_DATASET_PROBLEM_OTHER_FORMAT }, END } },
    { "wrong-types-messages.jsonl", 0, 6, 1, {
        { 2, -1, TEMPER_DATASET_PROBLEM_WRONG_TYPE }, { 3, -1, TEMPER_DATASET_PROBLEM_WRONG_TYPE },
        { 4, -1, TEMPER_DATASET_PROBLEM_WRONG_TYPE }, { 5, -1, TEMPER_DATASET_PROBLEM_UNKNOWN_ROLE },
        { 6, -1, TEMPER_DATASET_PROBLEM_MISSING_FIELD }, END } },
    { "missing-fields.jsonl", 0, 5, 2, {
        { 1, -1, TEMPER_DATASET_PROBLEM_MISSING_FIELD }, { 4, -1, TEMPER_DATASET_PROBLEM_MISSING_FIELD },
        { 5, -1, TEMPER_DATASET_PROBLEM_WRONG_TYPE }, END } },
    { "empty-answers.jsonl", 0, 4, 1, {
        { 1, -1, TEMPER_DATASET_PROBLEM_EMPTY_ANSWER }, { 2, -1, TEMPER_DATASET_PROBLEM_EMPTY_ANSWER },
        { 4, -1, TEMPER_DATASET_PROBLEM_EMPTY_ANSWER }, END } },
    { "empty-conversations.jsonl", 0, 4, 1, {
        { 1, -1, TEMPER_DATASET_PROBLEM_EMPTY_ANSWER }, { 2, -1, TEMPER_DATASET_PROBLEM_EMPTY_ANSWER },
        { 3, -1, TEMPER_DATASET_PROBLEM_EMPTY_ANSWER }, END } },
    { "invalid-utf8.jsonl", 0, 6, 2, {
        { 2, -1, TEMPER_DATASET_PROBLEM_INVALID_UTF8 }, { 3, -1, TEMPER_DATASET_PROBLEM_INVALID_UTF8 },
        { 4, -1, TEMPER_DATASET_PROBLEM_INVALID_UTF8 }, { 5, -1, TEMPER_DATASET_PROBLEM_INVALID_UTF8 }, END } },
    { "duplicates.jsonl", 0, 5, 2, {
        { 3, -1, TEMPER_DATASET_PROBLEM_DUPLICATE }, { 4, -1, TEMPER_DATASET_PROBLEM_DUPLICATE },
        { 5, -1, TEMPER_DATASET_PROBLEM_DUPLICATE }, END } },
    { "bom.jsonl", 0, 2, 2, { END } },
    { "bom-array.json", 0, 1, 1, { END } },
    { "crlf.jsonl", 0, 2, 2, { END } },
    { "huge-line.jsonl", 16 * 1024, 3, 2, { { 2, -1, TEMPER_DATASET_PROBLEM_TOO_LARGE }, END } },
    { "huge-line.jsonl", 0, 3, 3, { END } },
    { "mixed-formats.jsonl", 0, 5, 2, {
        { 2, -1, TEMPER_DATASET_PROBLEM_OTHER_FORMAT }, { 3, -1, TEMPER_DATASET_PROBLEM_OTHER_FORMAT },
        { 5, -1, TEMPER_DATASET_PROBLEM_OTHER_FORMAT }, END } },
    { "array-mixed.json", 0, 5, 2, {
        { 3, 1, TEMPER_DATASET_PROBLEM_WRONG_TYPE }, { 4, 2, TEMPER_DATASET_PROBLEM_NOT_OBJECT },
        { 7, 4, TEMPER_DATASET_PROBLEM_NOT_JSON }, END } },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      TemperDatasetOptions options;
      g_autoptr(GError) error = NULL;
      g_autoptr(temper_dataset_t) ds = NULL;
      const TemperDatasetReport *r;

      g_test_message ("%s", cases[i].file);
      temper_dataset_options_init (&options);
      if (cases[i].max_record_bytes > 0)
        options.max_record_bytes = cases[i].max_record_bytes;
      ds = load (cases[i].file, &options, &error);
      g_assert_no_error (error);
      r = temper_dataset_get_report (ds);
      g_assert_cmpuint (r->n_records, ==, cases[i].n_records);
      g_assert_cmpuint (r->n_valid, ==, cases[i].n_valid);
      g_assert_cmpuint (temper_dataset_get_n_records (ds), ==, cases[i].n_valid);
      check_problems (ds, cases[i].problems);
    }
}

static void
test_problem_details (void)
{
  g_autoptr(temper_dataset_t) dups = load ("duplicates.jsonl", NULL, NULL);
  g_autoptr(temper_dataset_t) array = load ("array-mixed.json", NULL, NULL);
  g_autoptr(temper_dataset_t) crlf = load ("crlf.jsonl", NULL, NULL);
  const TemperDatasetReport *r = temper_dataset_get_report (dups);
  g_autofree char *place = temper_dataset_describe_place (7, 4);
  g_autofree char *jsonl_place = temper_dataset_describe_place (12, -1);

  g_assert_cmpint (r->problems[0].duplicate_of, ==, 1);
  g_assert_cmpint (r->problems[1].duplicate_of, ==, 1);
  g_assert_cmpint (r->problems[2].duplicate_of, ==, 2);
  g_assert_nonnull (strstr (r->problems[2].message, "line 2"));
  g_assert_cmpstr (place, ==, "item 5 (line 7)");
  g_assert_cmpstr (jsonl_place, ==, "line 12");

  /* The scanner keeps commas and brackets inside strings in their item. */
  g_assert_cmpstr (temper_dataset_get_record (array, 1)->messages[1].content, ==,
                   "3, with [brackets] and \"quotes\"");
  g_assert_cmpuint (temper_dataset_get_record (array, 1)->line, ==, 5);
  g_assert_cmpstr (temper_dataset_get_record (crlf, 1)->messages[1].content, ==, "a2");
  g_assert_cmpuint (temper_dataset_get_record (crlf, 1)->line, ==, 3);
}

static void
test_unusable_files (void)
{
  static const struct { const char *file; const char *says; } cases[] = {
    { "empty.jsonl", "has no records" },
    { "blank.jsonl", "has no records" },
    { "empty-array.json", "has no records" },
    { "utf16.jsonl", "UTF-16" },
    { "all-bad.jsonl", "line 1:" },
    { "no-such-file.jsonl", "cannot be opened" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(temper_dataset_t) ds = load (cases[i].file, NULL, &error);
      int code;

      g_test_message ("%s: %s", cases[i].file, error != NULL ? error->message : "(loaded)");
      g_assert_null (ds);
      code = strcmp (cases[i].file, "no-such-file.jsonl") == 0 ? TEMPER_ERROR_IO
                                                                    : TEMPER_ERROR_INVALID_FILE;
      g_assert_error (error, TEMPER_ERROR, code);
      g_assert_nonnull (strstr (error->message, cases[i].says));
      g_assert_nonnull (strstr (error->message, cases[i].file));
    }
}

static char *
write_numbered_dataset (guint n)
{
  g_autoptr(GString) s = g_string_new (NULL);
  g_autoptr(GError) error = NULL;
  char *path = NULL;
  int fd = g_file_open_tmp ("temper-split-XXXXXX.jsonl", &path, &error);

  g_assert_no_error (error);
  close (fd);
  for (guint i = 0; i < n; i++)
    g_string_append_printf (s, "{\"instruction\": \"question %u\", \"output\": \"answer %u\"}\n", i, i);
  g_file_set_contents (path, s->str, s->len, &error);
  g_assert_no_error (error);
  return path;
}

static void
test_split (void)
{
  g_autofree char *path = write_numbered_dataset (237);
  g_autoptr(temper_dataset_t) ds = temper_dataset_load (path, NULL, NULL);
  g_autoptr(GArray) train_a = NULL, val_a = NULL, train_b = NULL, val_b = NULL;
  g_autoptr(GArray) train_c = NULL, val_c = NULL, train_d = NULL, val_d = NULL;
  g_autofree gboolean *seen = g_new0 (gboolean, 237);

  g_assert_nonnull (ds);
  g_assert_cmpfloat (temper_dataset_default_validation_fraction (49), ==, 0.0);
  g_assert_cmpfloat (temper_dataset_default_validation_fraction (50), ==, 0.1);

  temper_dataset_split (ds, 0.1, 42, &train_a, &val_a);
  temper_dataset_split (ds, 0.1, 42, &train_b, &val_b);
  temper_dataset_split (ds, 0.1, 43, &train_c, &val_c);
  g_assert_cmpuint (val_a->len, ==, 24);     /* round (23.7) */
  g_assert_cmpuint (train_a->len, ==, 213);
  g_assert_cmpmem (val_a->data, val_a->len * sizeof (guint), val_b->data, val_b->len * sizeof (guint));
  g_assert_cmpmem (train_a->data, train_a->len * sizeof (guint), train_b->data, train_b->len * sizeof (guint));
  g_assert_false (memcmp (val_a->data, val_c->data, val_a->len * sizeof (guint)) == 0);

  /* Every record lands in exactly one set, in increasing order. */
  for (guint i = 0; i < val_a->len; i++)
    {
      guint k = g_array_index (val_a, guint, i);
      g_assert_false (seen[k]);
      seen[k] = TRUE;
      if (i > 0)
        g_assert_cmpuint (g_array_index (val_a, guint, i - 1), <, k);
    }
  for (guint i = 0; i < train_a->len; i++)
    {
      guint k = g_array_index (train_a, guint, i);
      g_assert_false (seen[k]);
      seen[k] = TRUE;
    }
  for (guint i = 0; i < 237; i++)
    g_assert_true (seen[i]);

  temper_dataset_split (ds, 0.0, 42, &train_d, &val_d);
  g_assert_cmpuint (val_d->len, ==, 0);
  g_assert_cmpuint (train_d->len, ==, 237);
  g_clear_pointer (&train_d, g_array_unref);
  g_clear_pointer (&val_d, g_array_unref);
  /* A tiny fraction still gives one validation record; a large one leaves
   * one for training. */
  temper_dataset_split (ds, 0.001, 1, &train_d, &val_d);
  g_assert_cmpuint (val_d->len, ==, 1);
  g_clear_pointer (&train_d, g_array_unref);
  g_clear_pointer (&val_d, g_array_unref);
  temper_dataset_split (ds, 0.9999, 1, &train_d, &val_d);
  g_assert_cmpuint (train_d->len, ==, 1);
  g_unlink (path);
}

static void
test_json_report (void)
{
  g_autoptr(temper_dataset_t) ds = load ("not-json.jsonl", NULL, NULL);
  g_autofree char *json = temper_dataset_report_to_json (ds);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  JsonObject *root;
  JsonArray *problems;

  json_parser_load_from_data (parser, json, -1, &error);
  g_assert_no_error (error);
  root = json_node_get_object (json_parser_get_root (parser));
  g_assert_cmpstr (json_object_get_string_member (root, "format"), ==, "instruction-output");
  g_assert_cmpstr (json_object_get_string_member (root, "layout"), ==, "jsonl");
  g_assert_cmpint (json_object_get_int_member (root, "records"), ==, 6);
  g_assert_cmpint (json_object_get_int_member (root, "valid"), ==, 2);
  g_assert_cmpint (json_object_get_int_member (root, "dropped"), ==, 4);
  problems = json_object_get_array_member (root, "problems");
  g_assert_cmpuint (json_array_get_length (problems), ==, 4);
  g_assert_cmpint (json_object_get_int_member (json_array_get_object_element (problems, 2), "line"), ==, 4);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (problems, 2), "kind"),
                   ==, "not-object");
  g_assert_false (json_object_has_member (root, "tokens"));
}

static void
test_problem_list_is_capped (void)
{
  g_autoptr(GString) s = g_string_new (NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *path = NULL;
  g_autoptr(temper_dataset_t) ds = NULL;
  TemperDatasetOptions options;
  int fd = g_file_open_tmp ("temper-cap-XXXXXX.jsonl", &path, &error);

  g_assert_no_error (error);
  close (fd);
  g_string_append (s, "{\"prompt\": \"p\", \"response\": \"r\"}\n");
  for (guint i = 0; i < 50; i++)
    g_string_append (s, "not json\n");
  g_file_set_contents (path, s->str, s->len, &error);
  temper_dataset_options_init (&options);
  options.max_listed = 10;
  ds = temper_dataset_load (path, &options, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (temper_dataset_get_report (ds)->n_problems, ==, 50);
  g_assert_cmpuint (temper_dataset_get_report (ds)->n_listed, ==, 10);
  g_assert_cmpuint (temper_dataset_get_report (ds)->problems[9].line, ==, 11);
  g_unlink (path);
}

static char *
sample (const char *name)
{
  const char *src = g_getenv ("TEMPER_SOURCE_DIR");
  return g_build_filename (src != NULL ? src : TEMPER_SOURCE_DIR, "data", "samples", name, NULL);
}

static gboolean
has_han (const char *s)
{
  for (const char *p = s; *p != '\0'; p = g_utf8_next_char (p))
    if (g_unichar_get_script (g_utf8_get_char (p)) == G_UNICODE_SCRIPT_HAN)
      return TRUE;
  return FALSE;
}

/* The bundled demo data: all of it usable, half the FAQ in Chinese, every
 * held-out key phrase found both in its own reference answer and in some
 * training answer, and the broken example broken exactly as its README says. */
static void
test_bundled_samples (void)
{
  g_autofree char *faq_path = sample ("product-faq.jsonl");
  g_autofree char *heldout_path = sample ("product-faq-heldout.jsonl");
  g_autofree char *pirate_path = sample ("style-pirate.jsonl");
  g_autofree char *broken_path = sample ("broken-example.jsonl");
  g_autoptr(temper_dataset_t) faq = temper_dataset_load (faq_path, NULL, NULL);
  g_autoptr(temper_dataset_t) heldout = temper_dataset_load (heldout_path, NULL, NULL);
  g_autoptr(temper_dataset_t) pirate = temper_dataset_load (pirate_path, NULL, NULL);
  g_autoptr(temper_dataset_t) broken = temper_dataset_load (broken_path, NULL, NULL);
  g_autofree char *heldout_text = NULL;
  g_auto(GStrv) heldout_lines = NULL;
  guint n_chinese = 0;
  const Expected broken_problems[] = {
    { 3, -1, TEMPER_DATASET_PROBLEM_MISSING_FIELD },
    { 4, -1, TEMPER_DATASET_PROBLEM_NOT_JSON },
    { 5, -1, TEMPER_DATASET_PROBLEM_EMPTY_ANSWER },
    { 6, -1, TEMPER_DATASET_PROBLEM_WRONG_TYPE },
    { 7, -1, TEMPER_DATASET_PROBLEM_DUPLICATE },
    { 8, -1, TEMPER_DATASET_PROBLEM_NOT_JSON },
    { 10, -1, TEMPER_DATASET_PROBLEM_OTHER_FORMAT },
    END,
  };

  g_assert_nonnull (faq);
  g_assert_cmpuint (temper_dataset_get_report (faq)->n_records, ==, 100);
  g_assert_cmpuint (temper_dataset_get_n_records (faq), ==, 100);
  for (gsize i = 0; i < 100; i++)
    n_chinese += has_han (temper_dataset_get_record (faq, i)->messages[0].content);
  g_assert_cmpuint (n_chinese, ==, 50);

  g_assert_nonnull (pirate);
  g_assert_cmpint (temper_dataset_get_report (pirate)->format, ==, TEMPER_DATASET_FORMAT_MESSAGES);
  g_assert_cmpuint (temper_dataset_get_n_records (pirate), ==, 40);

  g_assert_nonnull (heldout);
  g_assert_cmpuint (temper_dataset_get_n_records (heldout), ==, 20);
  g_assert_true (g_file_get_contents (heldout_path, &heldout_text, NULL, NULL));
  heldout_lines = g_strsplit (heldout_text, "\n", -1);
  for (guint i = 0; i < 20; i++)
    {
      g_autoptr(JsonParser) parser = json_parser_new ();
      JsonObject *o;
      const char *expect;
      gboolean taught = FALSE;

      g_assert_true (json_parser_load_from_data (parser, heldout_lines[i], -1, NULL));
      o = json_node_get_object (json_parser_get_root (parser));
      expect = json_object_get_string_member (o, "expect");
      g_assert_nonnull (strstr (json_object_get_string_member (o, "response"), expect));
      for (gsize k = 0; k < 100 && !taught; k++)
        taught = strstr (temper_dataset_get_record (faq, k)->messages[1].content, expect) != NULL;
      g_test_message ("held-out %u: %s", i + 1, expect);
      g_assert_true (taught);
    }

  g_assert_nonnull (broken);
  g_assert_cmpuint (temper_dataset_get_n_records (broken), ==, 4);
  check_problems (broken, broken_problems);
}

static void
record_progress (double fraction, gpointer user_data)
{
  GArray *seen = user_data;
  g_array_append_val (seen, fraction);
}

/* Long loads report progress that only grows and ends at 1, and stop when
 * cancelled. */
static void
test_progress_and_cancel (void)
{
  g_autofree char *path = write_numbered_dataset (10000);
  g_autoptr(GArray) fractions = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(temper_dataset_t) ds = NULL;
  g_autoptr(temper_dataset_t) cancelled = NULL;
  g_autoptr(GError) error = NULL;
  TemperDatasetOptions options;

  temper_dataset_options_init (&options);
  options.progress = record_progress;
  options.progress_data = fractions;
  ds = temper_dataset_load (path, &options, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (temper_dataset_get_n_records (ds), ==, 10000);
  g_assert_cmpuint (fractions->len, >=, 2);
  for (guint i = 1; i < fractions->len; i++)
    g_assert_cmpfloat (g_array_index (fractions, double, i), >=, g_array_index (fractions, double, i - 1));
  g_assert_cmpfloat (g_array_index (fractions, double, fractions->len - 1), ==, 1.0);

  g_cancellable_cancel (cancellable);
  options.progress = NULL;
  options.cancellable = cancellable;
  cancelled = temper_dataset_load (path, &options, &error);
  g_assert_null (cancelled);
  g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_CANCELLED);
  g_unlink (path);
}

/* temper_dataset_length_stats() against figures worked out by hand:
 * nearest-rank median and 95th percentile, and the count past the limit
 * (at the limit is not cut). */
static void
test_length_stats (void)
{
  const guint32 lengths[] = { 40, 10, 90, 30, 70, 50, 20, 80, 60, 100 };
  TemperDatasetLengthStats stats;

  temper_dataset_length_stats (lengths, G_N_ELEMENTS (lengths), 60, &stats);
  g_assert_cmpuint (stats.n, ==, 10);
  g_assert_cmpuint (stats.total, ==, 550);
  g_assert_cmpint (stats.min, ==, 10);
  g_assert_cmpint (stats.max, ==, 100);
  g_assert_cmpfloat (stats.mean, ==, 55.0);
  g_assert_cmpint (stats.median, ==, 50);   /* the 5th of 10 */
  g_assert_cmpint (stats.p95, ==, 100);     /* the 10th: ceil (9.5) */
  g_assert_cmpuint (stats.n_cut, ==, 4);    /* 70, 80, 90, 100 */

  /* No limit: nothing cut. */
  temper_dataset_length_stats (lengths, G_N_ELEMENTS (lengths), 0, &stats);
  g_assert_cmpuint (stats.n_cut, ==, 0);

  /* Three: the median is the 2nd, the 95th percentile the 3rd. */
  temper_dataset_length_stats ((const guint32[]) { 7, 3, 5 }, 3, 4, &stats);
  g_assert_cmpint (stats.median, ==, 5);
  g_assert_cmpint (stats.p95, ==, 7);
  g_assert_cmpuint (stats.n_cut, ==, 2);

  temper_dataset_length_stats (NULL, 0, 60, &stats);
  g_assert_cmpuint (stats.n, ==, 0);
  g_assert_cmpint (stats.max, ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/dataset/formats", test_formats);
  g_test_add_func ("/dataset/length-stats", test_length_stats);
  g_test_add_func ("/dataset/messages-content", test_messages_content);
  g_test_add_func ("/dataset/format-override", test_format_override);
  g_test_add_func ("/dataset/broken-files", test_broken_files);
  g_test_add_func ("/dataset/problem-details", test_problem_details);
  g_test_add_func ("/dataset/unusable-files", test_unusable_files);
  g_test_add_func ("/dataset/split", test_split);
  g_test_add_func ("/dataset/json-report", test_json_report);
  g_test_add_func ("/dataset/problem-list-is-capped", test_problem_list_is_capped);
  g_test_add_func ("/dataset/bundled-samples", test_bundled_samples);
  g_test_add_func ("/dataset/progress-and-cancel", test_progress_and_cancel);
  return g_test_run ();
}
