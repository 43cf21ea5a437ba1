/* SPDX-License-Identifier: MIT */
/* test-ratings-csv.c — the ratings CSV export never writes a cell a
 * spreadsheet runs as a formula: prompts, answers and notes starting with
 * = + - @, a tab or a carriage return get a leading apostrophe (OWASP's
 * advice for CSV injection), and the rest of the file stays RFC 4180. */
#include "config.h"

#include <string.h>

#include <glib/gstdio.h>

#include "gui-test-util.h"
#include "temper/ratings.h"

static void
test_formula_cells (void)
{
  static const struct { const char *text, *cell; } cases[] = {
    { "=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0" },
    { "+1+1", "'+1+1" },
    { "-2+3", "'-2+3" },
    { "@SUM(A1:A2)", "'@SUM(A1:A2)" },
    { "\t=1", "'\t=1" },
    { "\r=1", "\"'\r=1\"" },
    { "=HYPERLINK(\"http://x\",\"y\")", "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\"" },
    { "a = b", "a = b" },
    { "plain, text", "\"plain, text\"" },
  };
  g_autoptr(TemperRatings) ratings = temper_ratings_new (7);
  const char *sources[] = { "base", NULL };
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("temper-csv-XXXXXX", &error);
  g_autofree char *path = g_build_filename (dir, "ratings.csv", NULL);
  g_autofree char *csv = NULL;

  g_assert_no_error (error);
  temper_ratings_set_sources (ratings, sources);
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      guint p = temper_ratings_add_prompt (ratings, cases[i].text, TEMPER_PROMPT_FROM_PERSON);

      temper_ratings_set_answer (ratings, p, "base", cases[i].text);
      temper_ratings_set_complete (ratings, p, "base", TRUE);
      temper_ratings_set_note (ratings, p, cases[i].text);
    }
  g_assert_true (temper_ratings_export_csv (ratings, path, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (path, &csv, NULL, NULL));

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      /* number,prompt,origin,model,position,answer,… ,note */
      g_autofree char *row_start = g_strdup_printf ("\r\n%" G_GSIZE_FORMAT ",%s,", i + 1, cases[i].cell);
      g_autofree char *answer = g_strdup_printf (",%s,,,,", cases[i].cell);
      g_autofree char *note = g_strdup_printf (",%s\r\n", cases[i].cell);

      g_test_message ("%s", cases[i].cell);
      g_assert_nonnull (strstr (csv, row_start));
      g_assert_nonnull (strstr (csv, answer));
      g_assert_nonnull (strstr (csv, note));
    }
  g_unlink (path);
  g_rmdir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/ratings/csv/formula-cells", test_formula_cells);
  return g_test_run ();
}
