/* SPDX-License-Identifier: MIT */
/* test-open-run.c — reopening a run from the Runs page happens off the main
 * thread, and a run that cannot be opened says why in the window's error
 * banner.  A run whose settings.json was damaged after it was listed shows
 * the reason; a run whose metrics.jsonl is slow to read (a named pipe
 * nobody writes to yet, as a stalled network share would be) leaves the
 * window responsive while it is read.  Each listed run shows its dataset
 * and the date it began. */
#include "config.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utime.h>

#include <glib/gstdio.h>

#include "temper/run.h"
#include "gui-test-util.h"
#include "temper-error-banner.h"
#include "temper-runs-page.h"
#include "temper-settings.h"
#include "temper-training-page.h"
#include "temper-window.h"
#include "../test-tree.h"

/* A run as the app makes one; the model need not exist to list it. */
static char *
make_run (const char *name,
          const char *model_path)
{
  g_autofree char *root = temper_runs_default_root ();
  g_autofree char *dir = g_build_filename (root, name, NULL);
  g_autofree char *data = gui_test_write_capitals (g_get_tmp_dir (), "open-run-capitals.jsonl");
  g_autoptr(GError) error = NULL;
  g_autoptr(temper_run_t) run = NULL;
  TemperTrainSettings s;

  temper_train_settings_init_default (&s);
  run = temper_run_create (dir, &s, model_path, data, NULL, &error);
  g_assert_no_error (error);
  g_unlink (data);
  return g_steal_pointer (&dir);
}

static gboolean
banner_shown (gpointer data)
{
  return temper_error_banner_get_title (data) != NULL;
}

static GtkWidget *
find_label_containing (GtkWidget  *root,
                       const char *text)
{
  if (GTK_IS_LABEL (root) && strstr (gtk_label_get_text (GTK_LABEL (root)), text) != NULL)
    return root;
  for (GtkWidget *child = gtk_widget_get_first_child (root); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = find_label_containing (child, text);

      if (found != NULL)
        return found;
    }
  return NULL;
}

static gboolean
count_tick (gpointer data)
{
  (*(guint *) data)++;
  return G_SOURCE_CONTINUE;
}

static void
test_damaged_run (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TemperSettings) settings = temper_settings_new (&error);
  g_autofree char *dir = make_run ("2030-01-01-000000-damaged", "/nowhere/Tiny.gguf");
  g_autofree char *settings_json = g_build_filename (dir, "settings.json", NULL);
  TemperWindow *window;
  GtkWidget *runs_page, *banner;

  g_assert_no_error (error);
  temper_settings_set_seen_welcome (settings, TRUE);
  window = temper_window_new (NULL, settings);
  gtk_window_present (GTK_WINDOW (window));
  runs_page = temper_window_get_page (window, "runs");
  banner = gui_test_find_named (GTK_WIDGET (window), "window-error");
  g_assert_nonnull (banner);
  g_assert_false (gtk_widget_get_visible (banner));
  g_assert_true (temper_window_show_step (window, "runs"));
  g_assert_true (gui_test_wait_for (gui_test_runs_listed, runs_page, 10000));

  /* Damaged after it was listed: the Open button is still there. */
  g_assert_true (g_file_set_contents (settings_json, "{ \"version\": 1, ", -1, NULL));
  g_signal_emit_by_name (runs_page, "open-run", dir);
  g_assert_true (gui_test_wait_for (banner_shown, banner, 10000));
  g_assert_cmpstr (temper_error_banner_get_title (TEMPER_ERROR_BANNER (banner)), ==,
                   "Temper could not open this run");
  /* The engine's own words, naming the file. */
  g_assert_nonnull (find_label_containing (banner, "settings.json"));
  g_assert_true (gtk_widget_get_visible (banner));
  gtk_widget_activate_action (banner, "banner.dismiss", NULL);
  g_assert_false (gtk_widget_get_visible (banner));
  /* Nothing was half-opened: the window goes on as before. */
  g_assert_true (temper_window_show_step (window, "model"));

  gtk_window_destroy (GTK_WINDOW (window));
  gui_test_settle (50);
  test_remove_tree (dir);
}

static GtkWidget *
find_row_for (GtkWidget  *root,
              const char *dir)
{
  if (ADW_IS_ACTION_ROW (root) && g_strcmp0 (gtk_widget_get_tooltip_text (root), dir) == 0)
    return root;
  for (GtkWidget *child = gtk_widget_get_first_child (root); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = find_row_for (child, dir);

      if (found != NULL)
        return found;
    }
  return NULL;
}

/* Each run's row says what it learned from and when it began (the time
 * settings.json was written; TZ is UTC here). */
static void
test_listed_with_dataset_and_date (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TemperSettings) settings = temper_settings_new (&error);
  g_autofree char *dir = make_run ("2030-01-03-000000-listed", "/nowhere/Tiny.gguf");
  g_autofree char *settings_json = g_build_filename (dir, "settings.json", NULL);
  /* 2030-01-03 10:20:00 UTC */
  struct utimbuf when = { .actime = 1893666000, .modtime = 1893666000 };
  TemperWindow *window;
  GtkWidget *runs_page, *row;
  const char *subtitle;

  g_assert_no_error (error);
  g_assert_cmpint (utime (settings_json, &when), ==, 0);
  temper_settings_set_seen_welcome (settings, TRUE);
  window = temper_window_new (NULL, settings);
  gtk_window_present (GTK_WINDOW (window));
  runs_page = temper_window_get_page (window, "runs");
  g_assert_true (temper_window_show_step (window, "runs"));
  g_assert_true (gui_test_wait_for (gui_test_runs_listed, runs_page, 10000));

  row = find_row_for (runs_page, dir);
  g_assert_nonnull (row);
  subtitle = adw_action_row_get_subtitle (ADW_ACTION_ROW (row));
  /* Its state and model on the first line, as before; the dataset's file
   * name and the start on the second. */
  g_assert_cmpstr (subtitle, ==, "Not started · Tiny\nopen-run-capitals.jsonl · 2030-01-03 10:20");

  gtk_window_destroy (GTK_WINDOW (window));
  gui_test_settle (50);
  test_remove_tree (dir);
}

static gboolean
shows_run (gpointer data)
{
  return temper_training_page_get_run_dir (data) != NULL;
}

static void
test_slow_metrics (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TemperSettings) settings = temper_settings_new (&error);
  g_autofree char *model_path = g_build_filename (g_getenv ("TEMPER_SOURCE_DIR"), "data", "models",
                                                  "SmolLM2-135M-Instruct.Q4_1.gguf", NULL);
  g_autofree char *dir = NULL, *metrics = NULL;
  TemperWindow *window;
  GtkWidget *runs_page, *banner;
  TemperTrainingPage *training;
  guint ticks = 0, tick_source;
  int writer;

  g_assert_no_error (error);
  if (!g_file_test (model_path, G_FILE_TEST_IS_REGULAR))
    {
      g_test_skip ("the demo model is not there");
      return;
    }
  dir = make_run ("2030-01-02-000000-slow", model_path);
  metrics = g_build_filename (dir, "metrics.jsonl", NULL);
  temper_settings_set_seen_welcome (settings, TRUE);
  window = temper_window_new (NULL, settings);
  gtk_window_present (GTK_WINDOW (window));
  runs_page = temper_window_get_page (window, "runs");
  training = TEMPER_TRAINING_PAGE (temper_window_get_page (window, "training"));
  banner = gui_test_find_named (GTK_WIDGET (window), "window-error");
  g_assert_true (temper_window_show_step (window, "runs"));
  g_assert_true (gui_test_wait_for (gui_test_runs_listed, runs_page, 10000));

  /* Reading metrics.jsonl blocks until something writes to it.  Long
   * enough for the model to load too: a page that read the metrics on the
   * main thread once the model is there would stop the clock here. */
  g_assert_cmpint (mkfifo (metrics, 0600), ==, 0);
  g_signal_emit_by_name (runs_page, "open-run", dir);
  tick_source = g_timeout_add (10, count_tick, &ticks);
  gui_test_settle (3000);
  g_assert_cmpuint (ticks, >=, 50);
  /* The window still goes from step to step. */
  g_assert_true (temper_window_show_step (window, "runs"));
  g_assert_null (temper_training_page_get_run_dir (training));

  /* One line that is not JSON (a torn line: skipped), then the end. */
  writer = g_open (metrics, O_WRONLY, 0);
  g_assert_cmpint (writer, >=, 0);
  g_assert_cmpint (write (writer, "not json\n", 9), ==, 9);
  close (writer);
  g_assert_true (gui_test_wait_for (shows_run, training, 60000));
  g_source_remove (tick_source);
  g_assert_cmpstr (temper_training_page_get_run_dir (training), ==, dir);
  g_assert_cmpint (temper_training_page_get_state (training), ==, TEMPER_TRAINING_STOPPED);
  g_assert_null (temper_error_banner_get_title (TEMPER_ERROR_BANNER (banner)));

  gtk_window_destroy (GTK_WINDOW (window));
  gui_test_settle (50);
  test_remove_tree (dir);
}

int
main (int   argc,
      char *argv[])
{
  /* Dates are shown in local time: make it one the tests can write down. */
  g_setenv ("TZ", "UTC", TRUE);
  gui_test_init (&argc, &argv);
  g_test_add_func ("/open-run/listed", test_listed_with_dataset_and_date);
  g_test_add_func ("/open-run/damaged", test_damaged_run);
  g_test_add_func ("/open-run/slow-metrics", test_slow_metrics);
  return g_test_run ();
}
