/* SPDX-License-Identifier: MIT */
/* installed-gui-check.c — the window as a first run sees it from an
 * installed tree.  test-installed-tree.sh copies this program into the
 * installed bin/ folder and runs it there with the source and build folders
 * hidden, the demo model placed where the Flatpak's demo-model module puts
 * it: the model list offers it as the built-in demo model, choosing it loads
 * it, and "Try the sample data" opens the installed sample.
 *
 * TEMPER_EXPECTED_DATADIR names the installed <prefix>/share/temper. */
#include "config.h"

#include "temper/install-paths.h"
#include "gui-test-util.h"
#include "temper-dataset-page.h"
#include "temper-error-banner.h"
#include "temper-model-page.h"
#include "temper-settings.h"
#include "temper-window.h"

static gboolean
has_demo_row (gpointer data)
{
  return gui_test_find_named (data, "demo-model") != NULL;
}

static gboolean
model_page_settled (gpointer data)
{
  return !temper_model_page_is_busy (data);
}

static void
test_first_run_from_installed_tree (void)
{
  const char *expected_datadir = g_getenv ("TEMPER_EXPECTED_DATADIR");
  g_autofree char *sample = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(TemperSettings) settings = temper_settings_new (&error);
  TemperWindow *window;
  GtkWidget *root, *model_page, *dataset_page, *demo_row, *error_banner;
  guint n_train = 0;
  double mean_tokens = 0;

  g_assert_no_error (error);
  g_assert_nonnull (expected_datadir);
  g_assert_false (temper_running_uninstalled ());
  g_assert_cmpstr (temper_data_dir (), ==, expected_datadir);
  sample = g_build_filename (expected_datadir, "samples", "product-faq.jsonl", NULL);

  window = temper_window_new (NULL, settings);
  root = GTK_WIDGET (window);
  gtk_window_present (GTK_WINDOW (window));
  gui_test_settle (100);
  gtk_widget_activate_action (root, "win.get-started", NULL);
  gui_test_settle (50);

  model_page = temper_window_get_page (window, "model");
  g_assert_true (gui_test_wait_for (has_demo_row, model_page, 30000));
  demo_row = gui_test_find_named (model_page, "demo-model");
  g_assert_true (g_str_has_prefix (adw_action_row_get_subtitle (ADW_ACTION_ROW (demo_row)),
                                   "Built-in demo model"));
  g_assert_true (gtk_widget_activate (demo_row));
  g_assert_true (gui_test_wait_for (model_page_settled, model_page, 120000));
  error_banner = gui_test_find_named (model_page, "model-error");
  if (gtk_widget_get_visible (error_banner))
    g_test_message ("loading failed: %s", temper_error_banner_get_title (TEMPER_ERROR_BANNER (error_banner)));
  g_assert_false (gtk_widget_get_visible (error_banner));
  g_assert_nonnull (temper_model_page_get_model (TEMPER_MODEL_PAGE (model_page)));

  gtk_widget_activate_action (root, "win.next-page", NULL);
  g_assert_cmpstr (temper_window_get_current_step (window), ==, "dataset");
  dataset_page = temper_window_get_page (window, "dataset");
  gtk_widget_activate_action (dataset_page, "page.try-sample", NULL);
  g_assert_true (gui_test_wait_for (gui_test_dataset_idle, dataset_page, 120000));
  g_assert_cmpstr (temper_dataset_page_get_path (TEMPER_DATASET_PAGE (dataset_page)), ==, sample);
  g_assert_true (temper_dataset_page_get_size (TEMPER_DATASET_PAGE (dataset_page), &n_train, &mean_tokens));
  g_assert_cmpuint (n_train, >, 50);
  g_assert_cmpfloat (mean_tokens, >, 0);

  gtk_window_destroy (GTK_WINDOW (window));
  gui_test_settle (50);
}

int
main (int argc, char **argv)
{
  gui_test_init (&argc, &argv);
  g_test_add_func ("/packaging/installed-tree/first-run", test_first_run_from_installed_tree);
  return g_test_run ();
}
