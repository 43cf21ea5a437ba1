/* SPDX-License-Identifier: MIT */
/* Findings on records that load but would teach the wrong thing, and the
 * cleaned copy: tests/fixtures/datasets/findings.jsonl has one finding per
 * line as listed below (make-findings-fixtures.py writes it and checks the
 * shingle similarities with Python's own Unicode tables). */
#include "config.h"

#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>

#include "temper/dataset.h"
#include "temper/error.h"

static char *
fixture (const char *name)
{
  const char *src = g_getenv ("TEMPER_SOURCE_DIR");
  return g_build_filename (src != NULL ? src : TEMPER_SOURCE_DIR, "tests", "fixtures", "datasets",
                           name, NULL);
}

static temper_dataset_t *
load (const char *name)
{
  g_autofree char *path = fixture (name);
  g_autoptr(GError) error = NULL;
  temper_dataset_t *ds = temper_dataset_load (path, NULL, &error);

  g_assert_no_error (error);
  return ds;
}

static const struct {
  guint64                  line;
  TemperDatasetFindingKind kind;
  gint64                   other_line;
} expected[] = {
  { 2,  TEMPER_DATASET_FINDING_NEAR_DUPLICATE, 1 },   /* case, full width, punctuation, spaces */
  { 3,  TEMPER_DATASET_FINDING_SHORT_ANSWER,   -1 },
  { 4,  TEMPER_DATASET_FINDING_MARKUP,         -1 },
  { 5,  TEMPER_DATASET_FINDING_MOJIBAKE,       -1 },
  { 6,  TEMPER_DATASET_FINDING_MIXED_LANGUAGE, -1 },
  { 7,  TEMPER_DATASET_FINDING_LENGTH_OUTLIER, -1 },
  { 8,  TEMPER_DATASET_FINDING_NEAR_DUPLICATE, 7 },   /* Jaccard 0.94 */
  { 8,  TEMPER_DATASET_FINDING_LENGTH_OUTLIER, -1 },
  { 9,  TEMPER_DATASET_FINDING_LEAKAGE,        2 },   /* line 2 of the validation file */
  { 10, TEMPER_DATASET_FINDING_LENGTH_OUTLIER, -1 },  /* Jaccard 0.63 with line 7: no duplicate */
};

static void
test_findings (void)
{
  g_autoptr(temper_dataset_t) ds = load ("findings.jsonl");
  g_autoptr(temper_dataset_t) val = load ("findings-val.jsonl");
  g_autoptr(GArray) found = temper_dataset_find (ds, val);

  for (guint i = 0; i < found->len; i++)
    {
      const TemperDatasetFinding *f = &g_array_index (found, TemperDatasetFinding, i);
      g_test_message ("line %" G_GUINT64_FORMAT " %s (other %" G_GINT64_FORMAT "): %s [%s]",
                      f->line, temper_dataset_finding_kind_name (f->kind), f->other_line,
                      f->message, f->excerpt);
    }
  g_assert_cmpuint (found->len, ==, G_N_ELEMENTS (expected));
  for (guint i = 0; i < found->len; i++)
    {
      const TemperDatasetFinding *f = &g_array_index (found, TemperDatasetFinding, i);

      g_assert_cmpuint (f->line, ==, expected[i].line);
      g_assert_cmpstr (temper_dataset_finding_kind_name (f->kind), ==,
                       temper_dataset_finding_kind_name (expected[i].kind));
      g_assert_cmpint (f->other_line, ==, expected[i].other_line);
      g_assert_cmpuint (f->record, ==, expected[i].line - 1);
      g_assert_cmpuint (strlen (f->message), >, 10);
      g_assert_cmpuint (strlen (f->fix), >, 10);
      g_assert_cmpuint (g_utf8_strlen (f->excerpt, -1), <=, 62);
    }
  /* The excerpt shows the garbled text itself. */
  g_assert_nonnull (strstr (g_array_index (found, TemperDatasetFinding, 3).excerpt, "cafÃ©"));
  g_assert_nonnull (strstr (g_array_index (found, TemperDatasetFinding, 2).excerpt, "<b>"));

  /* Without validation data there is no leakage. */
  {
    g_autoptr(GArray) alone = temper_dataset_find (ds, NULL);
    g_assert_cmpuint (alone->len, ==, G_N_ELEMENTS (expected) - 1);
  }
}

static void
test_mojibake_patterns (void)
{
  static const char *const garbled[] = { "itâ€™s", "锟斤拷锟斤拷", "Â°C", "bad \xef\xbf\xbd char", "鈥渜uote" };
  static const char *const clean[] = { "it’s", "café", "100 °C", "naïve façade", "“quote”" };
  g_autofree char *dir = g_dir_make_tmp ("temper-findings-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "m.jsonl", NULL);
  GString *text = g_string_new (NULL);

  for (guint i = 0; i < G_N_ELEMENTS (garbled); i++)
    g_string_append_printf (text, "{\"prompt\": \"q%u\", \"response\": \"%s\"}\n", i, garbled[i]);
  for (guint i = 0; i < G_N_ELEMENTS (clean); i++)
    g_string_append_printf (text, "{\"prompt\": \"p%u\", \"response\": \"%s\"}\n", i, clean[i]);
  g_assert_true (g_file_set_contents (path, text->str, text->len, NULL));
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(temper_dataset_t) ds = temper_dataset_load (path, NULL, &error);
    g_autoptr(GArray) found = NULL;

    g_assert_no_error (error);
    found = temper_dataset_find (ds, NULL);
    g_assert_cmpuint (found->len, ==, G_N_ELEMENTS (garbled));
    for (guint i = 0; i < found->len; i++)
      {
        const TemperDatasetFinding *f = &g_array_index (found, TemperDatasetFinding, i);
        g_assert_cmpint (f->kind, ==, TEMPER_DATASET_FINDING_MOJIBAKE);
        g_assert_cmpuint (f->line, ==, i + 1);
      }
  }
  g_unlink (path);
  g_rmdir (dir);
  g_string_free (text, TRUE);
}

/* The cleaned copy leaves the chosen records out, is a new file, and the
 * person's file keeps its bytes and its modification time. */
static void
test_cleaned_copy (void)
{
  g_autofree char *source = fixture ("findings.jsonl");
  g_autofree char *dir = g_dir_make_tmp ("temper-clean-XXXXXX", NULL);
  g_autofree char *out = g_build_filename (dir, "clean.jsonl", NULL);
  g_autofree char *before = NULL, *after = NULL;
  g_autoptr(temper_dataset_t) ds = load ("findings.jsonl");
  g_autoptr(GError) error = NULL;
  gsize n = temper_dataset_get_n_records (ds);
  g_autofree gboolean *drop = g_new0 (gboolean, n);
  struct stat st_before, st_after;
  gint64 written;

  g_assert_true (g_file_get_contents (source, &before, NULL, NULL));
  g_assert_cmpint (stat (source, &st_before), ==, 0);
  drop[1] = drop[2] = drop[7] = TRUE;   /* lines 2, 3 and 8 */
  written = temper_dataset_write_jsonl (ds, drop, out, &error);
  g_assert_no_error (error);
  g_assert_cmpint (written, ==, n - 3);
  {
    g_autoptr(temper_dataset_t) clean = temper_dataset_load (out, NULL, &error);
    const TemperDatasetRecord *r;

    g_assert_no_error (error);
    g_assert_cmpuint (temper_dataset_get_n_records (clean), ==, n - 3);
    g_assert_cmpint (temper_dataset_get_report (clean)->format, ==, TEMPER_DATASET_FORMAT_MESSAGES);
    r = temper_dataset_get_record (clean, 1);   /* line 4 of the source */
    g_assert_cmpstr (r->messages[0].content, ==, "Format this");
    g_assert_cmpstr (r->messages[1].content, ==, "<b>bold</b> text");
    r = temper_dataset_get_record (clean, 3);   /* line 6 */
    g_assert_cmpstr (r->messages[0].content, ==, "北京是哪个国家的首都？");
  }

  /* Neither the copy just written nor the source is ever written over. */
  g_assert_cmpint (temper_dataset_write_jsonl (ds, NULL, out, &error), ==, -1);
  g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_cmpint (temper_dataset_write_jsonl (ds, NULL, source, &error), ==, -1);
  g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_ARGUMENT);
  g_assert_true (g_file_get_contents (source, &after, NULL, NULL));
  g_assert_cmpstr (before, ==, after);
  g_assert_cmpint (stat (source, &st_after), ==, 0);
  g_assert_cmpint (st_before.st_mtim.tv_sec, ==, st_after.st_mtim.tv_sec);
  g_assert_cmpint (st_before.st_mtim.tv_nsec, ==, st_after.st_mtim.tv_nsec);
  g_unlink (out);
  g_rmdir (dir);
}

static void
test_findings_json (void)
{
  g_autoptr(temper_dataset_t) ds = load ("findings.jsonl");
  g_autoptr(GArray) found = temper_dataset_find (ds, NULL);
  g_autofree char *json = temper_dataset_report_to_json_with_findings (ds, found);

  g_assert_nonnull (strstr (json, "\"kind\" : \"mojibake\""));
  g_assert_nonnull (strstr (json, "\"other_line\" : 7"));
  g_assert_nonnull (strstr (json, "\"fix\" : "));
}

/* Mixing 14 records and 2 at 3:1: the 2 can be a quarter of at most 8,
 * so 6 different records of the first and both of the second. */
static void
test_mix (void)
{
  g_autoptr(temper_dataset_t) a = load ("findings.jsonl");
  g_autoptr(temper_dataset_t) b = load ("findings-val.jsonl");
  temper_dataset_t *both[2] = { a, b };
  const double ratio[2] = { 0.75, 0.25 };
  g_autofree char *dir = g_dir_make_tmp ("temper-mix-XXXXXX", NULL);
  g_autofree char *out = g_build_filename (dir, "mix.jsonl", NULL);
  g_autoptr(GError) error = NULL;
  guint64 counts[2];
  guint from_b = 0;

  g_assert_cmpint (temper_dataset_write_mix (both, ratio, 2, 7, out, counts, &error), ==, 8);
  g_assert_no_error (error);
  g_assert_cmpuint (counts[0], ==, 6);
  g_assert_cmpuint (counts[1], ==, 2);
  {
    g_autoptr(temper_dataset_t) mix = temper_dataset_load (out, NULL, &error);

    g_assert_no_error (error);
    g_assert_cmpuint (temper_dataset_get_n_records (mix), ==, 8);   /* no duplicates */
    for (gsize i = 0; i < 8; i++)
      {
        const char *q = temper_dataset_get_record (mix, i)->messages[0].content;
        from_b += strcmp (q, "Which planet is red?") == 0 || strcmp (q, "who wrote hamlet") == 0;
      }
    g_assert_cmpuint (from_b, ==, 2);
  }
  /* Never over an existing file. */
  g_assert_cmpint (temper_dataset_write_mix (both, ratio, 2, 7, out, NULL, &error), ==, -1);
  g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_ARGUMENT);
  g_unlink (out);
  g_rmdir (dir);
}

/* The leakage of the run's own split (no validation file): a held-back
 * record that nearly duplicates one trained on, reported on the one
 * trained on with the held-back line.  In findings.jsonl line 2 repeats
 * line 1 (after normalising) and line 8 is 0.94 Jaccard of line 7. */
static guint
split_leaks (const temper_dataset_t *ds, const guint *held, guint n_held, guint64 *line, gint64 *other)
{
  g_autoptr(GArray) back = g_array_new (FALSE, FALSE, sizeof (guint));
  g_autoptr(GArray) found = NULL;
  guint n = 0;

  g_array_append_vals (back, held, n_held);
  found = temper_dataset_find_with_split (ds, back);
  for (guint i = 0; i < found->len; i++)
    {
      const TemperDatasetFinding *f = &g_array_index (found, TemperDatasetFinding, i);

      if (f->kind != TEMPER_DATASET_FINDING_LEAKAGE)
        continue;
      n++;
      *line = f->line;
      *other = f->other_line;
      g_assert_cmpuint (f->record, ==, f->line - 1);
      g_assert_nonnull (strstr (f->message, "held back"));
    }
  /* Everything else is found as without a split. */
  {
    g_autoptr(GArray) alone = temper_dataset_find (ds, NULL);
    g_assert_cmpuint (found->len, ==, alone->len + n);
  }
  return n;
}

static void
test_split_leakage (void)
{
  g_autoptr(temper_dataset_t) ds = load ("findings.jsonl");
  guint64 line = 0;
  gint64 other = 0;

  g_assert_cmpuint (split_leaks (ds, (const guint[]) { 1 }, 1, &line, &other), ==, 1);
  g_assert_cmpuint (line, ==, 1);
  g_assert_cmpint (other, ==, 2);
  g_assert_cmpuint (split_leaks (ds, (const guint[]) { 0 }, 1, &line, &other), ==, 1);
  g_assert_cmpuint (line, ==, 2);
  g_assert_cmpint (other, ==, 1);
  g_assert_cmpuint (split_leaks (ds, (const guint[]) { 2, 7 }, 2, &line, &other), ==, 1);
  g_assert_cmpuint (line, ==, 7);
  g_assert_cmpint (other, ==, 8);
  /* Both copies held back, or no copy: nothing checked was trained on. */
  g_assert_cmpuint (split_leaks (ds, (const guint[]) { 0, 1 }, 2, &line, &other), ==, 0);
  g_assert_cmpuint (split_leaks (ds, (const guint[]) { 2, 3, 4 }, 3, &line, &other), ==, 0);
}

static guint
count_leaks (GArray *found, gsize *record, gint64 *other, const char **message)
{
  for (guint i = 0; i < found->len; i++)
    {
      const TemperDatasetFinding *f = &g_array_index (found, TemperDatasetFinding, i);

      g_assert_cmpint (f->kind, ==, TEMPER_DATASET_FINDING_LEAKAGE);
      *record = f->record;
      *other = f->other_line;
      *message = f->message;
    }
  return found->len;
}

/* Leakage between what a run trains on and what it checks with when they
 * come from different files (a mix, a validation file): only the first
 * dataset's records trained on are reported, with the other file's line
 * and name. */
static void
test_leakage_across_files (void)
{
  g_autoptr(temper_dataset_t) main_ds = load ("findings.jsonl");
  g_autofree char *dir = g_dir_make_tmp ("temper-leak-XXXXXX", NULL);
  g_autofree char *other_path = g_build_filename (dir, "check.jsonl", NULL);
  g_autoptr(temper_dataset_t) other = NULL;
  g_autoptr(GError) error = NULL;
  temper_dataset_t *both[2];
  g_autoptr(GArray) trained = g_array_new (FALSE, FALSE, sizeof (guint64));
  g_autoptr(GArray) held = g_array_new (FALSE, FALSE, sizeof (guint64));
  gsize record = 0;
  gint64 other_line = 0;
  const char *message = NULL;

  /* Line 2 repeats findings.jsonl's first record in other case and
   * punctuation. */
  g_assert_true (g_file_set_contents (other_path, "{\"prompt\": \"Who painted it?\", \"response\": \"Nobody.\"}\n"
                                      "{\"prompt\": \"WHAT is the capital of france\", \"response\": \"paris\"}\n",
                                      -1, NULL));
  other = temper_dataset_load (other_path, NULL, &error);
  g_assert_no_error (error);
  both[0] = main_ds;
  both[1] = other;
  for (guint64 r = 0; r < 6; r++)
    if (r != 1)
      g_array_append_val (trained, r);
  {
    guint64 pick = (G_GUINT64_CONSTANT (1) << 40) | 1, first_other = G_GUINT64_CONSTANT (1) << 40;

    g_array_append_val (held, first_other);
    g_array_append_val (held, pick);
  }
  {
    g_autoptr(GArray) found = temper_dataset_find_leakage (both, 2, trained, held, FALSE);

    g_assert_cmpuint (count_leaks (found, &record, &other_line, &message), ==, 1);
    g_assert_cmpuint (record, ==, 0);
    g_assert_cmpint (other_line, ==, 2);
    g_assert_nonnull (strstr (message, "line 2 of check.jsonl"));
    g_assert_nonnull (strstr (message, "held back"));
  }
  {
    g_autoptr(GArray) found = temper_dataset_find_leakage (both, 2, trained, held, TRUE);

    g_assert_cmpuint (count_leaks (found, &record, &other_line, &message), ==, 1);
    g_assert_nonnull (strstr (message, "in your check file (line 2"));
  }
  /* Record 0 dropped, its near-copy on line 2 trained on: the leak is
   * reported there. */
  g_array_index (trained, guint64, 0) = 1;
  {
    g_autoptr(GArray) found = temper_dataset_find_leakage (both, 2, trained, held, TRUE);

    g_assert_cmpuint (count_leaks (found, &record, &other_line, &message), ==, 1);
    g_assert_cmpuint (record, ==, 1);
  }
  /* Neither copy trained on, or the copy trained on in the other file:
   * nothing to drop from the first. */
  g_array_remove_index (trained, 0);
  {
    g_autoptr(GArray) found = temper_dataset_find_leakage (both, 2, trained, held, TRUE);

    g_assert_cmpuint (found->len, ==, 0);
  }
  {
    g_autoptr(GArray) found = temper_dataset_find_leakage (both, 2, held, trained, FALSE);

    g_assert_cmpuint (found->len, ==, 0);
  }
  g_unlink (other_path);
  g_rmdir (dir);
}

/* The split of a file not loaded yet is the split of the same number of
 * records loaded. */
static void
test_split_n (void)
{
  g_autoptr(temper_dataset_t) ds = load ("findings.jsonl");
  g_autoptr(GArray) train = NULL, validation = NULL, train_n = NULL, validation_n = NULL;

  temper_dataset_split (ds, 0.3, 7, &train, &validation);
  temper_dataset_split_n (temper_dataset_get_n_records (ds), 0.3, 7, &train_n, &validation_n);
  g_assert_cmpuint (validation->len, ==, validation_n->len);
  g_assert_cmpuint (train->len, ==, train_n->len);
  g_assert_cmpmem (validation->data, validation->len * sizeof (guint), validation_n->data, validation_n->len * sizeof (guint));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/dataset-findings/kinds-and-lines", test_findings);
  g_test_add_func ("/dataset-findings/mojibake-patterns", test_mojibake_patterns);
  g_test_add_func ("/dataset-findings/cleaned-copy", test_cleaned_copy);
  g_test_add_func ("/dataset-findings/json", test_findings_json);
  g_test_add_func ("/dataset-findings/mix", test_mix);
  g_test_add_func ("/dataset-findings/split-leakage", test_split_leakage);
  g_test_add_func ("/dataset-findings/leakage-across-files", test_leakage_across_files);
  g_test_add_func ("/dataset-findings/split-n", test_split_n);
  return g_test_run ();
}
