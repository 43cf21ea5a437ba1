/* SPDX-License-Identifier: MIT */
/* test-dataset-cleanup.c — the Dataset page with a table whose columns the
 * person picks, and findings dropped in one click: training then gets a
 * cleaned copy, and the person's file keeps its bytes and its time. */
#include "config.h"

#include <string.h>
#include <sys/stat.h>

#include <glib/gstdio.h>

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

int
main (int argc, char **argv)
{
  gui_test_init (&argc, &argv);
  g_test_add_func ("/dataset-page/cleanup", test_cleanup);
  return g_test_run ();
}
