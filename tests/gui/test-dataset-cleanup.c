/* SPDX-License-Identifier: MIT */
/* test-dataset-cleanup.c — the Dataset page with a table whose columns the
 * person picks, and findings dropped in one click: training then gets a
 * cleaned copy, and the person's file keeps its bytes and its time. */
#include "config.h"

#include <string.h>
#include <sys/stat.h>

#include <glib/gstdio.h>

#include "temper/dataset.h"
#include "temper/train.h"
#include "gui-test-util.h"
#include "temper-dataset-page.h"

static GtkWidget *
list_row (GtkWidget *page, const char *list_name, guint index)
{
  GtkWidget *list = gui_test_find_named (page, list_name);
  GtkWidget *row;

  g_assert_nonnull (list);
  row = GTK_WIDGET (gtk_list_box_get_row_at_index (GTK_LIST_BOX (list), (int) index));
  return row;
}

static guint
n_rows (GtkWidget *page, const char *list_name)
{
  guint n = 0;

  while (list_row (page, list_name, n) != NULL)
    n++;
  return n;
}

static guint
count_lines (const char *path)
{
  g_autofree char *text = NULL;
  guint n = 0;

  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  for (const char *p = text; *p != '\0'; p++)
    n += *p == '\n';
  return n;
}

static void
test_cleanup (void)
{
  g_autofree char *tmp = g_dir_make_tmp ("temper-cleanup-XXXXXX", NULL);
  g_autofree char *fixture = g_build_filename (g_getenv ("TEMPER_SOURCE_DIR"), "tests", "fixtures",
                                               "datasets", "findings.jsonl", NULL);
  g_autofree char *mine = g_build_filename (tmp, "mine.jsonl", NULL);
  g_autofree char *table = g_build_filename (tmp, "table.csv", NULL);
  g_autofree char *original = NULL, *after = NULL;
  GtkWidget *window = gtk_window_new ();
  GtkWidget *page = g_object_new (TEMPER_TYPE_DATASET_PAGE, NULL);
  GtkWidget *row, *combo;
  const char *clean;
  struct stat before_st, after_st;
  guint near = 0;

  g_assert_true (g_file_get_contents (fixture, &original, NULL, NULL));
  g_assert_true (g_file_set_contents (mine, original, -1, NULL));
  g_assert_true (g_file_set_contents (table, "id,frage,antwort\n1,Wie heißt du?,Temper\n2,Wo?,Hier\n", -1, NULL));
  g_assert_cmpint (stat (mine, &before_st), ==, 0);
  gtk_window_set_child (GTK_WINDOW (window), page);
  gtk_window_set_default_size (GTK_WINDOW (window), 800, 900);
  gtk_window_present (GTK_WINDOW (window));

  /* A table whose columns Temper cannot tell: the page offers them. */
  temper_dataset_page_open (TEMPER_DATASET_PAGE (page), table);
  g_assert_true (gui_test_wait_for (gui_test_dataset_idle, page, 30000));
  g_assert_null (temper_dataset_page_get_path (TEMPER_DATASET_PAGE (page)));
  combo = gui_test_find_named (page, "question-column");
  g_assert_nonnull (combo);
  g_assert_true (gtk_widget_get_visible (gtk_widget_get_parent (gtk_widget_get_parent (gtk_widget_get_parent (combo)))));
  adw_combo_row_set_selected (ADW_COMBO_ROW (combo), 1);
  adw_combo_row_set_selected (ADW_COMBO_ROW (gui_test_find_named (page, "answer-column")), 2);
  g_assert_true (gui_test_wait_for (gui_test_dataset_idle, page, 30000));
  g_assert_cmpstr (temper_dataset_page_get_path (TEMPER_DATASET_PAGE (page)), ==, table);
  g_assert_cmpstr (gtk_label_get_text (GTK_LABEL (gui_test_find_named (page, "dataset-records"))), ==, "2 of 2");

  /* Findings, each with a line. */
  temper_dataset_page_open (TEMPER_DATASET_PAGE (page), mine);
  g_assert_true (gui_test_wait_for (gui_test_dataset_idle, page, 30000));
  g_assert_cmpuint (n_rows (page, "findings-list"), ==, 9);
  row = list_row (page, "findings-list", 0);
  g_assert_true (g_str_has_prefix (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (row)), "Line 2"));
  /* Nothing dropped yet: training reads the file itself. */
  g_assert_cmpstr (temper_dataset_page_get_path (TEMPER_DATASET_PAGE (page)), ==, mine);

  /* Drop all near-duplicates (lines 2 and 8) in one click, and line 3. */
  g_signal_emit_by_name (g_object_get_data (G_OBJECT (row), "drop-all-button"), "clicked");
  g_signal_emit_by_name (g_object_get_data (G_OBJECT (list_row (page, "findings-list", 1)), "drop-button"), "clicked");
  for (guint i = 0; i < 9; i++)
    {
      GtkWidget *r = list_row (page, "findings-list", i);
      GtkWidget *b = g_object_get_data (G_OBJECT (r), "drop-button");
      if (strstr (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (r)), "Near-duplicates") != NULL)
        {
          near++;
          g_assert_cmpstr (gtk_button_get_label (GTK_BUTTON (b)), ==, "Keep");
        }
    }
  g_assert_cmpuint (near, ==, 2);
  clean = temper_dataset_page_get_path (TEMPER_DATASET_PAGE (page));
  g_assert_nonnull (clean);
  g_assert_cmpstr (clean, !=, mine);
  g_assert_cmpuint (count_lines (clean), ==, 14 - 3);

  /* Keep line 3 after all: a new copy with one more record. */
  g_signal_emit_by_name (g_object_get_data (G_OBJECT (list_row (page, "findings-list", 1)), "drop-button"), "clicked");
  clean = temper_dataset_page_get_path (TEMPER_DATASET_PAGE (page));
  g_assert_cmpuint (count_lines (clean), ==, 14 - 2);

  g_assert_true (g_file_get_contents (mine, &after, NULL, NULL));
  g_assert_cmpstr (after, ==, original);
  g_assert_cmpint (stat (mine, &after_st), ==, 0);
  g_assert_cmpint (before_st.st_mtim.tv_sec, ==, after_st.st_mtim.tv_sec);
  g_assert_cmpint (before_st.st_mtim.tv_nsec, ==, after_st.st_mtim.tv_nsec);
  gtk_window_destroy (GTK_WINDOW (window));
}

/* No validation file: with 220 records the run holds 22 back to check the
 * training, and a held-back record that repeats one trained on (in other
 * case) is leakage, shown with both lines.  Which records are held back
 * comes from the engine's split with the run's seed and share. */
static void
test_split_leakage (void)
{
  g_autofree char *tmp = g_dir_make_tmp ("temper-leakage-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (tmp, "facts.jsonl", NULL);
  g_autoptr(GString) text = g_string_new (NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(temper_dataset_t) ds = NULL;
  g_autoptr(GArray) train = NULL, validation = NULL;
  g_autofree char *expected_title = NULL, *expected_place = NULL;
  GtkWidget *window = gtk_window_new ();
  GtkWidget *page = g_object_new (TEMPER_TYPE_DATASET_PAGE, NULL);
  TemperTrainSettings chosen;
  guint held, trained, leaks = 0;

  for (guint i = 0; i < 220; i++)
    g_string_append_printf (text, "{\"prompt\": \"What is fact number %u?\", \"response\": \"Fact %u is %u.\"}\n",
                            i, i, 7 * i + 3);
  g_assert_true (g_file_set_contents (path, text->str, -1, NULL));
  ds = temper_dataset_load (path, NULL, &error);
  g_assert_no_error (error);
  temper_train_settings_choose (&(TemperTrainFacts) { .n_records = 220 }, TEMPER_TRAIN_PRESET_BALANCED, &chosen, NULL);
  temper_dataset_split (ds, chosen.val_fraction >= 0 ? chosen.val_fraction
                        : temper_dataset_default_validation_fraction (220), chosen.seed, &train, &validation);
  g_assert_cmpuint (validation->len, ==, 22);
  held = g_array_index (validation, guint, 0);
  trained = g_array_index (train, guint, train->len - 1);
  /* Record `trained` becomes the held-back one in capitals. */
  g_string_truncate (text, 0);
  for (guint i = 0; i < 220; i++)
    {
      guint j = i == trained ? held : i;
      g_autofree char *question = g_strdup_printf ("What is fact number %u?", j);
      g_autofree char *answer = g_strdup_printf ("Fact %u is %u.", j, 7 * j + 3);

      if (i == trained)
        {
          g_autofree char *q = g_utf8_strup (question, -1), *a = g_utf8_strup (answer, -1);

          g_string_append_printf (text, "{\"prompt\": \"%s\", \"response\": \"%s\"}\n", q, a);
        }
      else
        g_string_append_printf (text, "{\"prompt\": \"%s\", \"response\": \"%s\"}\n", question, answer);
    }
  g_assert_true (g_file_set_contents (path, text->str, -1, NULL));

  gtk_window_set_child (GTK_WINDOW (window), page);
  gtk_window_set_default_size (GTK_WINDOW (window), 800, 900);
  gtk_window_present (GTK_WINDOW (window));
  temper_dataset_page_open (TEMPER_DATASET_PAGE (page), path);
  g_assert_true (gui_test_wait_for (gui_test_dataset_idle, page, 30000));
  g_assert_cmpstr (gtk_label_get_text (GTK_LABEL (gui_test_find_named (page, "dataset-split"))), ==,
                   "198 to learn from, 22 to check with");
  /* No validation file: the title does not speak of one. */
  expected_title = g_strdup_printf ("Line %u: Also among the records held back for checking", trained + 1);
  expected_place = g_strdup_printf ("(line %u) is held back", held + 1);
  for (guint i = 0; i < n_rows (page, "findings-list"); i++)
    {
      GtkWidget *r = list_row (page, "findings-list", i);

      if (strstr (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (r)), "Also") == NULL)
        continue;
      leaks++;
      g_assert_cmpstr (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (r)), ==, expected_title);
      g_assert_nonnull (strstr (adw_action_row_get_subtitle (ADW_ACTION_ROW (r)), expected_place));
    }
  g_assert_cmpuint (leaks, ==, 1);
  gtk_window_destroy (GTK_WINDOW (window));
  g_unlink (path);
  g_rmdir (tmp);
}

/* "Drop All Like This" then Undo in its toast: exactly the records it
 * dropped are kept again (line 3, dropped before, stays dropped), the
 * cleaned copy is written again to match, and the person's file keeps its
 * bytes throughout. */
static void
test_drop_all_undo (void)
{
  g_autofree char *tmp = g_dir_make_tmp ("temper-undo-XXXXXX", NULL);
  g_autofree char *fixture = g_build_filename (g_getenv ("TEMPER_SOURCE_DIR"), "tests", "fixtures",
                                               "datasets", "findings.jsonl", NULL);
  g_autofree char *mine = g_build_filename (tmp, "mine.jsonl", NULL);
  g_autofree char *original = NULL, *after = NULL, *before_text = NULL, *dropped_text = NULL, *undone_text = NULL;
  g_autofree char *before_path = NULL, *dropped_path = NULL;
  GtkWidget *window = gtk_window_new ();
  GtkWidget *overlay = adw_toast_overlay_new ();
  GtkWidget *page = g_object_new (TEMPER_TYPE_DATASET_PAGE, NULL);
  GtkWidget *undo;
  const char *clean;

  g_assert_true (g_file_get_contents (fixture, &original, NULL, NULL));
  g_assert_true (g_file_set_contents (mine, original, -1, NULL));
  adw_toast_overlay_set_child (ADW_TOAST_OVERLAY (overlay), page);
  gtk_window_set_child (GTK_WINDOW (window), overlay);
  gtk_window_set_default_size (GTK_WINDOW (window), 800, 900);
  gtk_window_present (GTK_WINDOW (window));
  temper_dataset_page_open (TEMPER_DATASET_PAGE (page), mine);
  g_assert_true (gui_test_wait_for (gui_test_dataset_idle, page, 30000));

  /* Line 3 dropped on its own first. */
  g_assert_true (g_str_has_prefix (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (list_row (page, "findings-list", 1))),
                                   "Line 3"));
  g_signal_emit_by_name (g_object_get_data (G_OBJECT (list_row (page, "findings-list", 1)), "drop-button"), "clicked");
  before_path = g_strdup (temper_dataset_page_get_path (TEMPER_DATASET_PAGE (page)));
  g_assert_true (g_file_get_contents (before_path, &before_text, NULL, NULL));
  g_assert_cmpuint (count_lines (before_path), ==, 14 - 1);
  g_assert_null (gui_test_find_button_labelled (overlay, "_Undo"));

  /* Both near-duplicates (lines 2 and 8) in one click; a toast offers Undo. */
  g_signal_emit_by_name (g_object_get_data (G_OBJECT (list_row (page, "findings-list", 0)), "drop-all-button"), "clicked");
  dropped_path = g_strdup (temper_dataset_page_get_path (TEMPER_DATASET_PAGE (page)));
  g_assert_cmpstr (dropped_path, !=, before_path);
  g_assert_cmpuint (count_lines (dropped_path), ==, 14 - 3);
  g_assert_true (g_file_get_contents (dropped_path, &dropped_text, NULL, NULL));
  gui_test_settle (50);
  undo = gui_test_find_button_labelled (overlay, "_Undo");
  g_assert_nonnull (undo);
  g_signal_emit_by_name (undo, "clicked");
  gui_test_settle (50);

  for (guint i = 0; i < n_rows (page, "findings-list"); i++)
    {
      GtkWidget *r = list_row (page, "findings-list", i);
      const char *title = adw_preferences_row_get_title (ADW_PREFERENCES_ROW (r));

      g_assert_cmpstr (gtk_button_get_label (GTK_BUTTON (g_object_get_data (G_OBJECT (r), "drop-button"))), ==,
                       g_str_has_prefix (title, "Line 3:") ? "Keep" : "Drop");
    }
  clean = temper_dataset_page_get_path (TEMPER_DATASET_PAGE (page));
  g_assert_cmpstr (clean, !=, dropped_path);
  g_assert_true (g_file_get_contents (clean, &undone_text, NULL, NULL));
  g_assert_cmpstr (undone_text, ==, before_text);
  /* The copies made before are left as they were. */
  g_assert_cmpuint (count_lines (dropped_path), ==, 14 - 3);

  g_assert_true (g_file_get_contents (mine, &after, NULL, NULL));
  g_assert_cmpstr (after, ==, original);
  gtk_window_destroy (GTK_WINDOW (window));
}

int
main (int argc, char **argv)
{
  gui_test_init (&argc, &argv);
  g_test_add_func ("/dataset-page/cleanup", test_cleanup);
  g_test_add_func ("/dataset-page/split-leakage", test_split_leakage);
  g_test_add_func ("/dataset-page/drop-all-undo", test_drop_all_undo);
  return g_test_run ();
}
