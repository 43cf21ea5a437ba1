/* test-loss-chart.c — TemperLossChart keeps its two series apart, ignores
 * values that are not numbers, lets a resumed run's repeated steps replace
 * the old ones, and draws differently in the light and dark styles. */
#include "config.h"

#include <math.h>

#include <glib/gstdio.h>

#include "gui-test-util.h"
#include "temper-loss-chart.h"

static void
test_points (void)
{
  GtkWidget *widget = g_object_ref_sink (temper_loss_chart_new ());
  TemperLossChart *chart = TEMPER_LOSS_CHART (widget);

  for (gint64 step = 1; step <= 5; step++)
    temper_loss_chart_add_point (chart, TEMPER_LOSS_SERIES_TRAINING, step, 3.0 - 0.1 * (double) step);
  temper_loss_chart_add_point (chart, TEMPER_LOSS_SERIES_TRAINING, 6, NAN);
  temper_loss_chart_add_point (chart, TEMPER_LOSS_SERIES_VALIDATION, 5, 2.9);
  g_assert_cmpuint (temper_loss_chart_get_n_points (chart, TEMPER_LOSS_SERIES_TRAINING), ==, 5);
  g_assert_cmpuint (temper_loss_chart_get_n_points (chart, TEMPER_LOSS_SERIES_VALIDATION), ==, 1);

  /* Resumed from the checkpoint of step 3: step 4 comes again and replaces
   * steps 4 and 5. */
  temper_loss_chart_add_point (chart, TEMPER_LOSS_SERIES_TRAINING, 4, 2.5);
  g_assert_cmpuint (temper_loss_chart_get_n_points (chart, TEMPER_LOSS_SERIES_TRAINING), ==, 4);

  temper_loss_chart_clear (chart);
  g_assert_cmpuint (temper_loss_chart_get_n_points (chart, TEMPER_LOSS_SERIES_TRAINING), ==, 0);
  g_assert_cmpuint (temper_loss_chart_get_n_points (chart, TEMPER_LOSS_SERIES_VALIDATION), ==, 0);
  g_object_unref (widget);
}

static GBytes *
render (GtkWidget  *window,
        const char *name)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = g_build_filename (g_get_tmp_dir (), name, NULL);
  char *contents = NULL;
  gsize length = 0;

  gui_test_settle (200);
  g_assert_true (gui_test_save_png (window, path, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (path, &contents, &length, &error));
  g_unlink (path);
  return g_bytes_new_take (contents, length);
}

static void
test_styles (void)
{
  GtkWidget *window = gtk_window_new ();
  GtkWidget *chart = temper_loss_chart_new ();
  g_autoptr(GBytes) light = NULL;
  g_autoptr(GBytes) dark = NULL;

  for (gint64 step = 1; step <= 20; step++)
    temper_loss_chart_add_point (TEMPER_LOSS_CHART (chart), TEMPER_LOSS_SERIES_TRAINING, step,
                                 2.0 + 1.0 / (double) step);
  temper_loss_chart_add_point (TEMPER_LOSS_CHART (chart), TEMPER_LOSS_SERIES_VALIDATION, 10, 2.3);
  temper_loss_chart_set_total (TEMPER_LOSS_CHART (chart), 40);
  gtk_window_set_child (GTK_WINDOW (window), chart);
  gtk_window_set_default_size (GTK_WINDOW (window), 480, 300);
  gtk_window_present (GTK_WINDOW (window));

  adw_style_manager_set_color_scheme (adw_style_manager_get_default (), ADW_COLOR_SCHEME_FORCE_LIGHT);
  light = render (window, "temper-loss-chart-light.png");
  adw_style_manager_set_color_scheme (adw_style_manager_get_default (), ADW_COLOR_SCHEME_FORCE_DARK);
  dark = render (window, "temper-loss-chart-dark.png");
  adw_style_manager_set_color_scheme (adw_style_manager_get_default (), ADW_COLOR_SCHEME_DEFAULT);

  g_assert_false (g_bytes_equal (light, dark));
  gtk_window_destroy (GTK_WINDOW (window));
}

int
main (int   argc,
      char *argv[])
{
  gui_test_init (&argc, &argv);
  g_test_add_func ("/loss-chart/points", test_points);
  g_test_add_func ("/loss-chart/styles", test_styles);
  return g_test_run ();
}
