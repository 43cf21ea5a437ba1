/* test-loss-chart.c — TemperLossChart keeps its two series apart, ignores
 * values that are not numbers, lets a resumed run's repeated steps replace
 * the old ones, and draws differently in the light and dark styles. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

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

/* The chart draws on a transparent background: a pixel's opacity says how
 * solid the line there is. */
static int
pixel_at (GdkPixbuf *pixbuf, int x, int y, int rgb[3])
{
  const guchar *p = gdk_pixbuf_get_pixels (pixbuf) + y * gdk_pixbuf_get_rowstride (pixbuf)
                    + x * gdk_pixbuf_get_n_channels (pixbuf);
  for (int c = 0; c < 3; c++)
    rgb[c] = p[c];
  return gdk_pixbuf_get_has_alpha (pixbuf) ? p[3] : 255;
}

/* Is any pixel within @radius of (x, y) nearly opaque and within
 * @tolerance of @color? */
static gboolean
colour_near (GdkPixbuf *pixbuf, double x, double y, int radius, const int color[3], int tolerance)
{
  for (int dy = -radius; dy <= radius; dy++)
    for (int dx = -radius; dx <= radius; dx++)
      {
        int px = (int) lround (x) + dx, py = (int) lround (y) + dy, rgb[3];
        if (px < 0 || py < 0 || px >= gdk_pixbuf_get_width (pixbuf) || py >= gdk_pixbuf_get_height (pixbuf))
          continue;
        if (pixel_at (pixbuf, px, py, rgb) >= 220 && abs (rgb[0] - color[0]) <= tolerance && abs (rgb[1] - color[1]) <= tolerance &&
            abs (rgb[2] - color[2]) <= tolerance)
          return TRUE;
      }
  return FALSE;
}

/* A zigzag loss (3, 1, 3, 1 …): the solid line must follow its moving
 * average — computed here from the formula in the header — and the raw
 * points show only faintly.  Positions come from the plot margins and the
 * axis range 1–3 (grid steps of 0.5). */
static void
test_smoothed_line (void)
{
  GtkWidget *window = gtk_window_new ();
  GtkWidget *chart = temper_loss_chart_new ();
  g_autofree char *path = g_build_filename (g_get_tmp_dir (), "temper-loss-smoothed.png", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GdkPixbuf) pixbuf = NULL;
  double smoothed[21], average = 0, w = TEMPER_LOSS_CHART_SMOOTHING;
  double plot_w, plot_h;
  int width = 0, height = 0, train_rgb[3];
  guint on_line = 0, checked = 0;

  for (int step = 1; step <= 20; step++)
    {
      double loss = step % 2 ? 3.0 : 1.0;
      average = w * average + (1 - w) * loss;
      smoothed[step] = average / (1 - pow (w, step));
      temper_loss_chart_add_point_full (TEMPER_LOSS_CHART (chart), TEMPER_LOSS_SERIES_TRAINING, step, loss,
                                        step / 20.0, 100.0 + step);
    }
  temper_loss_chart_set_total (TEMPER_LOSS_CHART (chart), 20);
  gtk_window_set_child (GTK_WINDOW (window), chart);
  gtk_window_set_default_size (GTK_WINDOW (window), 480, 300);
  gtk_window_present (GTK_WINDOW (window));
  adw_style_manager_set_color_scheme (adw_style_manager_get_default (), ADW_COLOR_SCHEME_FORCE_LIGHT);
  gui_test_settle (200);
  g_assert_true (gui_test_save_png (chart, path, &width, &height, &error));
  g_assert_no_error (error);
  pixbuf = gdk_pixbuf_new_from_file (path, &error);
  g_assert_no_error (error);
  g_unlink (path);
  plot_w = width - TEMPER_LOSS_CHART_MARGIN_LEFT - TEMPER_LOSS_CHART_MARGIN_RIGHT;
  plot_h = height - TEMPER_LOSS_CHART_MARGIN_TOP - TEMPER_LOSS_CHART_MARGIN_BOTTOM;

  /* The legend's swatch has the training colour, fully opaque. */
  pixel_at (pixbuf, (int) TEMPER_LOSS_CHART_MARGIN_LEFT + 7, 10, train_rgb);
  g_test_message ("training colour %d,%d,%d; chart %dx%d", train_rgb[0], train_rgb[1], train_rgb[2], width, height);
  g_assert_true (train_rgb[2] > train_rgb[0] + 60);   /* the accent blue, not grey */

  for (int step = 4; step <= 19; step++)
    {
      double x = TEMPER_LOSS_CHART_MARGIN_LEFT + plot_w * step / 20.0;
      double y = TEMPER_LOSS_CHART_MARGIN_TOP + plot_h - plot_h * (smoothed[step] - 1.0) / 2.0;
      double raw_y = TEMPER_LOSS_CHART_MARGIN_TOP + plot_h - plot_h * ((step % 2 ? 3.0 : 1.0) - 1.0) / 2.0;

      checked++;
      on_line += colour_near (pixbuf, x, y, 1, train_rgb, 40);
      /* Where the raw point is, far from the average, the colour is faint. */
      g_assert_false (colour_near (pixbuf, x, raw_y, 0, train_rgb, 40));
    }
  g_test_message ("%u of %u smoothed points on the solid line", on_line, checked);
  g_assert_cmpuint (on_line, ==, checked);

  /* Tooltips name the step, the epoch and the speed. */
  {
    g_autofree char *tip = temper_loss_chart_dup_tooltip_at (TEMPER_LOSS_CHART (chart),
                                                             TEMPER_LOSS_CHART_MARGIN_LEFT + plot_w * 10 / 20.0);
    g_autofree char *away = temper_loss_chart_dup_tooltip_at (TEMPER_LOSS_CHART (chart), 2);

    g_assert_nonnull (tip);
    g_test_message ("tooltip: %s", tip);
    g_assert_nonnull (strstr (tip, "Step 10: loss 1.000"));
    g_assert_nonnull (strstr (tip, "Epoch 0.50"));
    g_assert_nonnull (strstr (tip, "110 tokens/s"));
    g_assert_null (away);
  }
  adw_style_manager_set_color_scheme (adw_style_manager_get_default (), ADW_COLOR_SCHEME_DEFAULT);
  gtk_window_destroy (GTK_WINDOW (window));
}

int
main (int   argc,
      char *argv[])
{
  gui_test_init (&argc, &argv);
  g_test_add_func ("/loss-chart/points", test_points);
  g_test_add_func ("/loss-chart/styles", test_styles);
  g_test_add_func ("/loss-chart/smoothed-line", test_smoothed_line);
  return g_test_run ();
}
