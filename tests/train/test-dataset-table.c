/* SPDX-License-Identifier: MIT */
/* Datasets that are not JSON: CSV/TSV tables with a column mapping, and
 * plain text / Markdown cut into overlapping chunks.  Each test writes its
 * file itself, so what each record must hold is spelled out here. */
#include "config.h"

#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>

#include "temper/dataset.h"
#include "temper/error.h"

static char *tmpdir;

static char *
write_file (const char *name, const char *text, gssize len)
{
  char *path = g_build_filename (tmpdir, name, NULL);
  g_assert_true (g_file_set_contents (path, text, len, NULL));
  return path;
}

static const char *
content (const TemperDatasetRecord *r, TemperChatRole role)
{
  for (gsize i = 0; i < r->n_messages; i++)
    if (r->messages[i].role == role)
      return r->messages[i].content;
  return NULL;
}

/* RFC 4180: quotes holding commas, "" and a line break; a BOM; CRLF. */
static void
test_csv_quoting (void)
{
  const char *text =
    "\xef\xbb\xbfQuestion,Answer\r\n"
    "\"Where is Paris?\",\"In France, on the Seine.\"\r\n"
    "\"He said \"\"hi\"\"\",plain\r\n"
    "\"two\r\nlines\",\"ok\"\r\n"
    "\r\n"
    "last,row";
  g_autofree char *path = write_file ("quoting.csv", text, -1);
  g_autoptr(GError) error = NULL;
  g_autoptr(temper_dataset_t) ds = temper_dataset_load (path, NULL, &error);
  const TemperDatasetReport *r;

  g_assert_no_error (error);
  r = temper_dataset_get_report (ds);
  g_assert_cmpint (r->layout, ==, TEMPER_DATASET_LAYOUT_CSV);
  g_assert_cmpuint (r->n_columns, ==, 2);
  g_assert_cmpstr (r->columns[0], ==, "Question");
  g_assert_cmpint (r->question_column, ==, 0);
  g_assert_cmpint (r->answer_column, ==, 1);
  g_assert_cmpuint (temper_dataset_get_n_records (ds), ==, 4);
  g_assert_cmpstr (content (temper_dataset_get_record (ds, 0), TEMPER_CHAT_ROLE_USER), ==, "Where is Paris?");
  g_assert_cmpstr (content (temper_dataset_get_record (ds, 0), TEMPER_CHAT_ROLE_ASSISTANT), ==,
                   "In France, on the Seine.");
  g_assert_cmpstr (content (temper_dataset_get_record (ds, 1), TEMPER_CHAT_ROLE_USER), ==, "He said \"hi\"");
  g_assert_cmpstr (content (temper_dataset_get_record (ds, 2), TEMPER_CHAT_ROLE_USER), ==, "two\r\nlines");
  g_assert_cmpstr (content (temper_dataset_get_record (ds, 3), TEMPER_CHAT_ROLE_ASSISTANT), ==, "row");
  /* Lines where each record starts: the third spans lines 4–5. */
  g_assert_cmpuint (temper_dataset_get_record (ds, 0)->line, ==, 2);
  g_assert_cmpuint (temper_dataset_get_record (ds, 2)->line, ==, 4);
  g_assert_cmpuint (temper_dataset_get_record (ds, 3)->line, ==, 7);
}

static void
test_csv_mapping (void)
{
  const char *text = "id,persona,q text,reply\n1,Be brief.,What is 2+2?,4\n2,,Capital of Japan?,Tokyo\n";
  g_autofree char *path = write_file ("mapping.csv", text, -1);
  g_autoptr(GError) error = NULL;
  g_autoptr(temper_dataset_t) none = temper_dataset_load (path, NULL, &error);
  TemperDatasetOptions o;

  /* Neither name is one Temper knows: it says so, naming the columns. */
  g_assert_null (none);
  g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE);
  g_assert_nonnull (strstr (error->message, "“q text”"));
  g_assert_nonnull (strstr (error->message, "--question-column"));
  g_clear_error (&error);

  temper_dataset_options_init (&o);
  o.question_column = "Q TEXT";   /* names in any case */
  o.answer_column = "4";          /* or numbers from 1 */
  o.system_column = "persona";
  {
    g_autoptr(temper_dataset_t) ds = temper_dataset_load (path, &o, &error);
    const TemperDatasetRecord *first, *second;

    g_assert_no_error (error);
    g_assert_cmpuint (temper_dataset_get_n_records (ds), ==, 2);
    first = temper_dataset_get_record (ds, 0);
    second = temper_dataset_get_record (ds, 1);
    g_assert_cmpuint (first->n_messages, ==, 3);
    g_assert_cmpstr (content (first, TEMPER_CHAT_ROLE_SYSTEM), ==, "Be brief.");
    g_assert_cmpstr (content (first, TEMPER_CHAT_ROLE_USER), ==, "What is 2+2?");
    g_assert_cmpstr (content (first, TEMPER_CHAT_ROLE_ASSISTANT), ==, "4");
    /* An empty system cell gives no system message. */
    g_assert_cmpuint (second->n_messages, ==, 2);
    g_assert_cmpint (temper_dataset_get_report (ds)->system_column, ==, 1);
  }
  o.answer_column = "answer";
  g_assert_null (temper_dataset_load (path, &o, &error));
  g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "“answer”"));
  g_clear_error (&error);
  o.answer_column = "9";
  g_assert_null (temper_dataset_load (path, &o, &error));
  g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  {
    g_auto(GStrv) columns = temper_dataset_read_columns (path, TEMPER_DATASET_LAYOUT_AUTO, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (g_strv_length (columns), ==, 4);
    g_assert_cmpstr (columns[2], ==, "q text");
  }
}

/* Chinese headers are recognised; TSV; rows that do not fit are listed. */
static void
test_tsv_and_bad_rows (void)
{
  const char *text = "问题\t答案\n你好吗？\t很好。\n只有一列\n\t没有问题\n有问题\t\n天空是什么颜色？\t蓝色。\n";
  g_autofree char *path = write_file ("zh.tsv", text, -1);
  g_autoptr(GError) error = NULL;
  g_autoptr(temper_dataset_t) ds = temper_dataset_load (path, NULL, &error);
  const TemperDatasetReport *r;

  g_assert_no_error (error);
  r = temper_dataset_get_report (ds);
  g_assert_cmpint (r->layout, ==, TEMPER_DATASET_LAYOUT_TSV);
  g_assert_cmpuint (temper_dataset_get_n_records (ds), ==, 2);
  g_assert_cmpuint (r->n_records, ==, 5);
  g_assert_cmpuint (r->n_listed, ==, 3);
  g_assert_cmpstr (temper_dataset_problem_kind_name (r->problems[0].kind), ==, "bad-row");
  g_assert_cmpuint (r->problems[0].line, ==, 3);
  g_assert_cmpstr (temper_dataset_problem_kind_name (r->problems[1].kind), ==, "missing-field");
  g_assert_cmpuint (r->problems[1].line, ==, 4);
  g_assert_cmpstr (temper_dataset_problem_kind_name (r->problems[2].kind), ==, "empty-answer");
  g_assert_cmpuint (r->problems[2].line, ==, 5);
  g_assert_cmpstr (content (temper_dataset_get_record (ds, 1), TEMPER_CHAT_ROLE_ASSISTANT), ==, "蓝色。");
}

/* Without a tokenizer a token is taken as four bytes: paragraphs of 100
 * bytes are 25 tokens; chunks of 102 tokens hold 100 of text. */
static void
test_text_chunks (void)
{
  GString *text = g_string_new ("# Title\n\n");
  g_autofree char *path = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(temper_dataset_t) ds = NULL;
  TemperDatasetOptions o;
  const TemperDatasetReport *r;
  gsize n;

  for (int p = 0; p < 12; p++)
    {
      for (int c = 0; c < 99; c++)
        g_string_append_c (text, 'a' + p);
      g_string_append (text, ".\n\n");
    }
  path = write_file ("book.md", text->str, text->len);
  temper_dataset_options_init (&o);
  o.max_length = 102;
  o.chunk_overlap = 30;
  ds = temper_dataset_load (path, &o, &error);
  g_assert_no_error (error);
  r = temper_dataset_get_report (ds);
  g_assert_cmpint (r->layout, ==, TEMPER_DATASET_LAYOUT_TEXT);
  g_assert_cmpint (r->format, ==, TEMPER_DATASET_FORMAT_TEXT);
  g_assert_cmpint (r->chunk_length, ==, 102);
  g_assert_cmpint (r->chunk_overlap, ==, 30);
  n = temper_dataset_get_n_records (ds);
  /* Title + three paragraphs would be 2 + 3×25 + 3 = 80 tokens; a fourth
   * does not fit.  Each next chunk repeats the last paragraph (25 ≤ 30). */
  g_assert_cmpuint (n, ==, 6);
  for (gsize i = 0; i < n; i++)
    {
      const TemperDatasetRecord *rec = temper_dataset_get_record (ds, i);
      const char *t = rec->messages[0].content;

      g_assert_cmpuint (strlen (t), <=, 100 * 4);
      /* Chunks start at a paragraph: a heading or a run of one letter. */
      g_assert_true (t[0] == '#' || (t[1] == t[0] && t[98] == t[0] && t[99] == '.'));
      if (i > 0)
        {
          const char *prev = temper_dataset_get_record (ds, i - 1)->messages[0].content;
          const char *prev_last = strrchr (prev, '\n') + 1;
          g_assert_true (g_str_has_prefix (t, prev_last));   /* the overlap */
        }
    }
  /* Every paragraph is in some chunk: the last one ends with l's. */
  g_assert_true (g_str_has_suffix (temper_dataset_get_record (ds, n - 1)->messages[0].content,
                                   "lllll."));
  g_assert_cmpuint (temper_dataset_get_record (ds, 1)->line, ==, 7);   /* paragraph “c” */
  g_string_free (text, TRUE);
}

/* One paragraph far longer than a chunk is cut at sentence ends, in pieces
 * that overlap. */
static void
test_text_long_paragraph (void)
{
  GString *text = g_string_new (NULL);
  g_autofree char *path = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(temper_dataset_t) ds = NULL;
  TemperDatasetOptions o;
  gsize n;

  g_string_append (text, "# Heading\n\n");
  for (int s = 0; s < 60; s++)
    g_string_append_printf (text, "Sentence number %02d is here. ", s);
  path = write_file ("long.txt", text->str, text->len);
  temper_dataset_options_init (&o);
  o.max_length = 66;   /* 64 tokens: 256 bytes */
  o.chunk_overlap = 8;
  ds = temper_dataset_load (path, &o, &error);
  g_assert_no_error (error);
  n = temper_dataset_get_n_records (ds);
  g_assert_cmpuint (n, >=, 7);
  for (gsize i = 0; i < n; i++)
    {
      const char *t = temper_dataset_get_record (ds, i)->messages[0].content;
      const char *next = i + 1 < n ? temper_dataset_get_record (ds, i + 1)->messages[0].content : NULL;
      g_autofree char *trimmed = g_strchomp (g_strdup (t));

      g_assert_cmpuint (strlen (t), <=, 256);
      if (next != NULL)
        {
          /* Ends after a sentence; the next piece starts inside this one. */
          g_autofree char *start = g_strndup (next, 8);
          g_assert_true (g_str_has_suffix (trimmed, "."));
          g_assert_nonnull (strstr (t, start));
        }
    }
  g_assert_nonnull (strstr (temper_dataset_get_record (ds, n - 1)->messages[0].content, "number 59"));
  /* The heading goes with the start of the long paragraph, not alone. */
  g_assert_true (g_str_has_prefix (temper_dataset_get_record (ds, 0)->messages[0].content,
                                   "# Heading\n\nSentence number 00"));
  g_string_free (text, TRUE);
}

/* A named pipe given as the dataset is refused at once, not read forever. */
static void
test_fifo_refused (void)
{
  g_autofree char *path = g_build_filename (tmpdir, "pipe.jsonl", NULL);
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (mkfifo (path, 0600), ==, 0);
  g_assert_null (temper_dataset_load (path, NULL, &error));
  g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_null (temper_dataset_read_columns (path, TEMPER_DATASET_LAYOUT_CSV, &error));
  g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_ARGUMENT);
}

int
main (int argc, char **argv)
{
  int rc;

  g_test_init (&argc, &argv, NULL);
  tmpdir = g_dir_make_tmp ("temper-table-XXXXXX", NULL);
  g_test_add_func ("/dataset-table/csv-quoting", test_csv_quoting);
  g_test_add_func ("/dataset-table/csv-mapping", test_csv_mapping);
  g_test_add_func ("/dataset-table/tsv-and-bad-rows", test_tsv_and_bad_rows);
  g_test_add_func ("/dataset-table/text-chunks", test_text_chunks);
  g_test_add_func ("/dataset-table/text-long-paragraph", test_text_long_paragraph);
  g_test_add_func ("/dataset-table/fifo-refused", test_fifo_refused);
  rc = g_test_run ();
  {
    g_autoptr(GDir) dir = g_dir_open (tmpdir, 0, NULL);
    const char *name;
    while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
      {
        g_autofree char *p = g_build_filename (tmpdir, name, NULL);
        g_unlink (p);
      }
    g_rmdir (tmpdir);
  }
  return rc;
}
