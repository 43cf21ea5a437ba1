/* SPDX-License-Identifier: MIT */
/* test-loss-chart.c — TemperLossChart keeps its two series apart, ignores
 * values that are not numbers, lets a resumed run's repeated steps replace
 * the old ones, draws differently in the light and dark styles, and draws
 * its lines where the data puts them. */
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

/* The mean row of the pixels in column @x that are nearly opaque and within
 * @tolerance of @color, between rows @top and @bottom; -1 when none is. */
static double
mean_row_of_colour (GdkPixbuf *pixbuf, int x, int top, int bottom, const int color[3], int tolerance)
{
  double sum = 0;
  guint n = 0;

  for (int y = MAX (top, 0); y <= bottom && y < gdk_pixbuf_get_height (pixbuf); y++)
    {
      int rgb[3];

      if (pixel_at (pixbuf, x, y, rgb) >= 220 && abs (rgb[0] - color[0]) <= tolerance
          && abs (rgb[1] - color[1]) <= tolerance && abs (rgb[2] - color[2]) <= tolerance)
        {
          sum += y;
          n++;
        }
    }
  return n > 0 ? sum / n : -1;
}

/* A loss falling in a straight line from 2.9 at step 1 to 1.0 at step 20,
 * and validation points above it every five steps: the plot goes from the
 * top left to the bottom right, every column of the solid line sits on the
 * row its moving average gives, and each validation point on its own row.
 * The axis runs from 1.0 to 3.0: the losses span 1.9, grid steps of 0.5
 * (1-2-5 over five lines) round it outwards. */
static void
test_falling_line (void)
{
  GtkWidget *window = gtk_window_new ();
  GtkWidget *chart = temper_loss_chart_new ();
  g_autofree char *path = g_build_filename (g_get_tmp_dir (), "temper-loss-falling.png", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GdkPixbuf) pixbuf = NULL;
  const double lo = 1.0, hi = 3.0, w = TEMPER_LOSS_CHART_SMOOTHING;
  double smoothed[21], average = 0, plot_w, plot_h, first_row = -1, last_row = -1, previous = -1;
  int width = 0, height = 0, train_rgb[3], val_rgb[3] = { -1, -1, -1 }, top, bottom;
  guint columns = 0;

  for (int step = 1; step <= 20; step++)
    {
      double loss = 3.0 - 0.1 * step;

      average = w * average + (1 - w) * loss;
      smoothed[step] = average / (1 - pow (w, step));
      temper_loss_chart_add_point (TEMPER_LOSS_CHART (chart), TEMPER_LOSS_SERIES_TRAINING, step, loss);
      if (step % 5 == 0)
        temper_loss_chart_add_point (TEMPER_LOSS_CHART (chart), TEMPER_LOSS_SERIES_VALIDATION, step,
                                     loss + 0.15);
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
  top = (int) TEMPER_LOSS_CHART_MARGIN_TOP - 4;
  bottom = (int) (TEMPER_LOSS_CHART_MARGIN_TOP + plot_h) + 4;

  /* The legend's swatches: training first, then validation (green). */
  pixel_at (pixbuf, (int) TEMPER_LOSS_CHART_MARGIN_LEFT + 7, 10, train_rgb);
  for (int x = (int) TEMPER_LOSS_CHART_MARGIN_LEFT + 20; x < width && val_rgb[0] < 0; x++)
    {
      int rgb[3];

      if (pixel_at (pixbuf, x, 10, rgb) >= 250 && rgb[1] > rgb[0] + 40 && rgb[1] > rgb[2])
        memcpy (val_rgb, rgb, sizeof val_rgb);
    }
  g_test_message ("training %d,%d,%d, validation %d,%d,%d", train_rgb[0], train_rgb[1], train_rgb[2],
                  val_rgb[0], val_rgb[1], val_rgb[2]);
  g_assert_cmpint (val_rgb[0], >=, 0);

  /* Column by column from step 4 (where smoothing starts to show) to step
   * 19: the solid line's row is the moving average's, interpolated between
   * steps, and it only goes down the picture. */
  for (int x = (int) ceil (TEMPER_LOSS_CHART_MARGIN_LEFT + plot_w * 4 / 20.0);
       x <= (int) floor (TEMPER_LOSS_CHART_MARGIN_LEFT + plot_w * 19 / 20.0); x++)
    {
      double at = (x + 0.5 - TEMPER_LOSS_CHART_MARGIN_LEFT) / plot_w * 20.0;
      int step = (int) floor (at);
      double value = smoothed[step] + (smoothed[step + 1] - smoothed[step]) * (at - step);
      double expected = TEMPER_LOSS_CHART_MARGIN_TOP + plot_h * (hi - value) / (hi - lo);
      double row = mean_row_of_colour (pixbuf, x, top, bottom, train_rgb, 40);

      if (fabs (at - 5) < 0.3 || fabs (at - 10) < 0.3 || fabs (at - 15) < 0.3)
        continue;   /* a validation dot lies over the line there */
      g_assert_cmpfloat (row, >=, 0);
      if (fabs (row - expected) > 2.0)
        g_test_message ("column %d (step %.2f): row %.1f, expected %.1f", x, at, row, expected);
      g_assert_cmpfloat (fabs (row - expected), <=, 2.0);
      g_assert_cmpfloat (row, >=, previous - 1.0);
      previous = row;
      if (first_row < 0)
        first_row = row;
      last_row = row;
      columns++;
    }
  g_test_message ("%u columns on the line, from row %.1f to row %.1f", columns, first_row, last_row);
  /* Highest at the left, in the top third; lowest at the right, in the
   * bottom third (the average lags the raw loss by about four steps). */
  g_assert_cmpfloat (first_row, <, TEMPER_LOSS_CHART_MARGIN_TOP + plot_h / 3);
  g_assert_cmpfloat (last_row, >, TEMPER_LOSS_CHART_MARGIN_TOP + plot_h * 2 / 3);

  /* Each validation point is drawn on its row, not mirrored about the
   * middle. */
  for (int step = 5; step <= 20; step += 5)
    {
      double value = 3.0 - 0.1 * step + 0.15;
      double x = TEMPER_LOSS_CHART_MARGIN_LEFT + plot_w * step / 20.0;
      double y = TEMPER_LOSS_CHART_MARGIN_TOP + plot_h * (hi - value) / (hi - lo);
      double mirrored = TEMPER_LOSS_CHART_MARGIN_TOP + plot_h * (value - lo) / (hi - lo);

      g_assert_true (colour_near (pixbuf, x, y, 1, val_rgb, 40));
      if (fabs (mirrored - y) > 8)
        g_assert_false (colour_near (pixbuf, x, mirrored, 2, val_rgb, 40));
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
  g_test_add_func ("/loss-chart/falling-line", test_falling_line);
  return g_test_run ();
}
