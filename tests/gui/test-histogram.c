/* SPDX-License-Identifier: MIT */
/* test-histogram.c — TemperLengthHistogram puts each length in the right
 * bin, with round bin widths, draws without complaint in light and dark
 * styles, and what it draws is the data: bars as tall as their counts, in
 * their bins' places, the cut-off marker where the training length is. */
#include "config.h"

#include <math.h>
#include <stdlib.h>

#include <glib/gstdio.h>

#include "gui-test-util.h"
#include "temper-length-histogram.h"

static void
test_bins (void)
{
  GtkWidget *histogram = g_object_ref_sink (temper_length_histogram_new ());
  const guint lengths[] = { 10, 20, 30, 70, 600 };
  guint first = 0, last = 0;

  /* Longest 600 (beyond the 512 limit): 601 values over at most 24 bins
   * need bins of 50 (1-2-5 steps: 20 × 24 = 480 is too few, 50 × 24 = 1200
   * covers them), so 600 / 50 + 1 = 13 bins. */
  temper_length_histogram_set_lengths (TEMPER_LENGTH_HISTOGRAM (histogram), lengths,
                                       G_N_ELEMENTS (lengths), 512);
  g_assert_cmpuint (temper_length_histogram_get_n_bins (TEMPER_LENGTH_HISTOGRAM (histogram)), ==, 13);
  g_assert_cmpuint (temper_length_histogram_get_bin (TEMPER_LENGTH_HISTOGRAM (histogram), 0, &first, &last), ==, 3);
  g_assert_cmpuint (first, ==, 0);
  g_assert_cmpuint (last, ==, 49);
  g_assert_cmpuint (temper_length_histogram_get_bin (TEMPER_LENGTH_HISTOGRAM (histogram), 1, &first, &last), ==, 1);
  g_assert_cmpuint (first, ==, 50);
  for (guint i = 2; i < 12; i++)
    g_assert_cmpuint (temper_length_histogram_get_bin (TEMPER_LENGTH_HISTOGRAM (histogram), i, NULL, NULL), ==, 0);
  g_assert_cmpuint (temper_length_histogram_get_bin (TEMPER_LENGTH_HISTOGRAM (histogram), 12, &first, NULL), ==, 1);
  g_assert_cmpuint (first, ==, 600);

  /* Short examples and no limit: lengths 0..23 fit bins of 1. */
  {
    guint small[24];

    for (guint i = 0; i < 24; i++)
      small[i] = i;
    temper_length_histogram_set_lengths (TEMPER_LENGTH_HISTOGRAM (histogram), small, 24, 0);
    g_assert_cmpuint (temper_length_histogram_get_n_bins (TEMPER_LENGTH_HISTOGRAM (histogram)), ==, 24);
    for (guint i = 0; i < 24; i++)
      g_assert_cmpuint (temper_length_histogram_get_bin (TEMPER_LENGTH_HISTOGRAM (histogram), i, NULL, NULL), ==, 1);
  }

  temper_length_histogram_set_lengths (TEMPER_LENGTH_HISTOGRAM (histogram), NULL, 0, 512);
  g_assert_cmpuint (temper_length_histogram_get_n_bins (TEMPER_LENGTH_HISTOGRAM (histogram)), ==, 0);
  g_object_unref (histogram);
}

static void
test_draws (void)
{
  AdwStyleManager *style = adw_style_manager_get_default ();
  GtkWidget *window = gtk_window_new ();
  GtkWidget *histogram = temper_length_histogram_new ();
  const guint lengths[] = { 40, 90, 95, 130, 300, 520, 700 };
  g_autofree char *light = g_build_filename (g_get_tmp_dir (), "temper-histogram-light.png", NULL);
  g_autofree char *dark = g_build_filename (g_get_tmp_dir (), "temper-histogram-dark.png", NULL);
  g_autoptr(GError) error = NULL;
  int width = 0, height = 0;

  temper_length_histogram_set_lengths (TEMPER_LENGTH_HISTOGRAM (histogram), lengths,
                                       G_N_ELEMENTS (lengths), 512);
  gtk_window_set_child (GTK_WINDOW (window), histogram);
  gtk_window_set_default_size (GTK_WINDOW (window), 480, 200);
  gtk_window_present (GTK_WINDOW (window));
  gui_test_settle (200);

  g_assert_true (gui_test_save_png (histogram, light, &width, &height, &error));
  g_assert_no_error (error);
  g_assert_cmpint (width, >=, 240);
  g_assert_cmpint (height, >=, 160);

  adw_style_manager_set_color_scheme (style, ADW_COLOR_SCHEME_FORCE_DARK);
  gui_test_settle (200);
  g_assert_true (adw_style_manager_get_dark (style));
  g_assert_true (gui_test_save_png (histogram, dark, NULL, NULL, &error));
  g_assert_no_error (error);
  adw_style_manager_set_color_scheme (style, ADW_COLOR_SCHEME_DEFAULT);

  gtk_window_destroy (GTK_WINDOW (window));
  g_unlink (light);
  g_unlink (dark);
}

/* The histogram draws on a transparent background: bars are opaque and
 * coloured (accent, or warning beyond the limit), text and the marker are
 * grey, the grid lines faint. */
typedef struct {
  GdkPixbuf *pixbuf;
  int        width, height;
} Image;

static const guchar *
image_pixel (const Image *image, int x, int y)
{
  return gdk_pixbuf_get_pixels (image->pixbuf) + y * gdk_pixbuf_get_rowstride (image->pixbuf)
         + x * gdk_pixbuf_get_n_channels (image->pixbuf);
}

static gboolean
is_bar (const Image *image, int x, int y)
{
  const guchar *p = image_pixel (image, x, y);
  int hi = MAX (p[0], MAX (p[1], p[2])), lo = MIN (p[0], MIN (p[1], p[2]));

  return p[3] >= 250 && hi - lo >= 60;
}

static gboolean
is_grey_ink (const Image *image, int x, int y)
{
  const guchar *p = image_pixel (image, x, y);
  int hi = MAX (p[0], MAX (p[1], p[2])), lo = MIN (p[0], MIN (p[1], p[2]));

  return p[3] >= 120 && hi - lo <= 30;
}

typedef struct {
  int    left, right;       /* first and last column with bar pixels */
  int    top, bottom;       /* rows of its middle column */
  double centre;
  gboolean warm;            /* red above blue: the warning colour */
} Bar;

/* Bars are runs of columns holding opaque coloured pixels, two pixels
 * apart; each one's height is measured in its middle column. */
static guint
find_bars (const Image *image, Bar *bars, guint max_bars)
{
  guint n = 0;
  int x = 0;

  while (x < image->width)
    {
      gboolean any = FALSE;

      for (int y = 0; y < image->height && !any; y++)
        any = is_bar (image, x, y);
      if (!any)
        {
          x++;
          continue;
        }
      g_assert_cmpuint (n, <, max_bars);
      bars[n].left = x;
      while (x < image->width)
        {
          gboolean more = FALSE;

          for (int y = 0; y < image->height && !more; y++)
            more = is_bar (image, x, y);
          if (!more)
            break;
          x++;
        }
      bars[n].right = x - 1;
      /* In drawing coordinates: column x covers [x, x + 1). */
      bars[n].centre = (bars[n].left + bars[n].right + 1) / 2.0;
      {
        int mid = (bars[n].left + bars[n].right) / 2, y = 0;
        const guchar *p;

        while (!is_bar (image, mid, y))
          y++;
        bars[n].top = y;
        while (y < image->height && is_bar (image, mid, y))
          y++;
        bars[n].bottom = y - 1;
        p = image_pixel (image, mid, bars[n].bottom);
        bars[n].warm = p[0] > p[2];
      }
      n++;
    }
  return n;
}

/* @histogram drawn in @window at 520 × 240 in the light style, read back
 * from a PNG. */
static Image
draw_light (GtkWidget *window, GtkWidget *histogram)
{
  g_autofree char *path = g_build_filename (g_get_tmp_dir (), "temper-histogram-bars.png", NULL);
  g_autoptr(GError) error = NULL;
  Image image = { NULL, 0, 0 };

  gtk_window_set_child (GTK_WINDOW (window), histogram);
  gtk_window_set_default_size (GTK_WINDOW (window), 520, 240);
  gtk_window_present (GTK_WINDOW (window));
  adw_style_manager_set_color_scheme (adw_style_manager_get_default (), ADW_COLOR_SCHEME_FORCE_LIGHT);
  gui_test_settle (200);
  g_assert_true (gui_test_save_png (histogram, path, &image.width, &image.height, &error));
  g_assert_no_error (error);
  image.pixbuf = gdk_pixbuf_new_from_file (path, &error);
  g_assert_no_error (error);
  g_unlink (path);
  return image;
}

/* 13 bins of 50 tokens (the longest example, 607, and the limit 512 need
 * 608 values over at most 24 bins: 1-2-5 steps give 50), each with a count
 * chosen here; the bars are measured on the drawing and compared with those
 * counts, their places with the bins', the marker with 512 / 50 bins.  Bin
 * 10, where the marker falls, is left empty so that nothing hides it. */
static void
test_drawing_is_the_data (void)
{
  static const guint counts[] = { 2, 6, 10, 16, 12, 8, 4, 4, 2, 6, 0, 4, 2 };
  const guint bin_width = 50, limit = 512;
  GtkWidget *window = gtk_window_new ();
  GtkWidget *histogram = temper_length_histogram_new ();
  g_autoptr(GArray) lengths = g_array_new (FALSE, FALSE, sizeof (guint));
  Image image;
  Bar bars[G_N_ELEMENTS (counts) + 4];
  guint n_bars, max_count = 0, first = G_MAXUINT, last = 0, b = 0, best_column_ink = 0;
  double plot_w, plot_h, bin_px, measured_pitch, measured_left, foot, marker_x;
  int best_column = -1;

  for (guint i = 0; i < G_N_ELEMENTS (counts); i++)
    {
      for (guint k = 0; k < counts[i]; k++)
        {
          guint length = i * bin_width + 7 + k;

          g_array_append_val (lengths, length);
        }
      max_count = MAX (max_count, counts[i]);
    }
  temper_length_histogram_set_lengths (TEMPER_LENGTH_HISTOGRAM (histogram), (const guint *) lengths->data,
                                       lengths->len, limit);
  g_assert_cmpuint (temper_length_histogram_get_n_bins (TEMPER_LENGTH_HISTOGRAM (histogram)), ==,
                    G_N_ELEMENTS (counts));
  image = draw_light (window, histogram);
  g_assert_true (gdk_pixbuf_get_has_alpha (image.pixbuf));

  /* One bar per bin that has examples, in the bins' order. */
  n_bars = find_bars (&image, bars, G_N_ELEMENTS (bars));
  g_test_message ("%u bars in a %dx%d drawing", n_bars, image.width, image.height);
  for (guint i = 0; i < G_N_ELEMENTS (counts); i++)
    if (counts[i] > 0)
      {
        first = MIN (first, i);
        last = i;
      }
  g_assert_cmpuint (n_bars, ==, 12);   /* 13 bins, one of them empty */

  /* The plot's rectangle, from the widget's margins: 13 bins across its
   * width, the largest count its height.  The bars themselves say where the
   * bins are too: the first and last fix the pitch and the left edge. */
  plot_w = image.width - TEMPER_LENGTH_HISTOGRAM_MARGIN_LEFT - TEMPER_LENGTH_HISTOGRAM_MARGIN_RIGHT;
  plot_h = image.height - TEMPER_LENGTH_HISTOGRAM_MARGIN_TOP - TEMPER_LENGTH_HISTOGRAM_MARGIN_BOTTOM;
  bin_px = plot_w / G_N_ELEMENTS (counts);
  measured_pitch = (bars[n_bars - 1].centre - bars[0].centre) / (double) (last - first);
  measured_left = bars[0].centre - measured_pitch * (first + 0.5);
  g_test_message ("bins %.2f px wide from x = %.2f (measured %.2f from %.2f)", bin_px,
                  TEMPER_LENGTH_HISTOGRAM_MARGIN_LEFT, measured_pitch, measured_left);
  g_assert_cmpfloat (fabs (measured_pitch - bin_px), <=, 0.2);
  g_assert_cmpfloat (fabs (measured_left - TEMPER_LENGTH_HISTOGRAM_MARGIN_LEFT), <=, 1.0);
  foot = image.height - TEMPER_LENGTH_HISTOGRAM_MARGIN_BOTTOM;
  for (guint i = 0; i < G_N_ELEMENTS (counts); i++)
    {
      double expected_height, height;

      if (counts[i] == 0)
        continue;
      /* Its place, its width (the bin less a pixel each side), its colour. */
      g_assert_cmpfloat (fabs (bars[b].centre - (TEMPER_LENGTH_HISTOGRAM_MARGIN_LEFT + bin_px * (i + 0.5))), <=, 1.0);
      g_assert_cmpfloat (fabs ((bars[b].right - bars[b].left + 1) - (bin_px - 2)), <=, 2.0);
      g_assert_cmpint (bars[b].warm, ==, i * bin_width >= limit);
      /* On the plot's floor, as tall as its count over the largest. */
      expected_height = plot_h * counts[i] / max_count;
      height = bars[b].bottom + 1 - bars[b].top;
      g_test_message ("bin %u: %u examples, bar %.0f px high from row %d (expected %.1f up from %.0f)", i,
                      counts[i], height, bars[b].bottom + 1, expected_height, foot);
      g_assert_cmpfloat (fabs (bars[b].bottom + 1 - foot), <=, 1.0);
      g_assert_cmpfloat (fabs (height - expected_height), <=, 1.5);
      b++;
    }

  /* The marker: the column inside the plot with the most grey ink between
   * its top and floor (a dashed line, so more than a third of it), at 512 of
   * the 650 tokens the axis spans. */
  for (int x = (int) TEMPER_LENGTH_HISTOGRAM_MARGIN_LEFT + 1; x < image.width; x++)
    {
      guint ink = 0;

      for (int y = (int) TEMPER_LENGTH_HISTOGRAM_MARGIN_TOP; y < (int) foot; y++)
        ink += is_grey_ink (&image, x, y);
      if (ink > best_column_ink)
        {
          best_column_ink = ink;
          best_column = x;
        }
    }
  marker_x = TEMPER_LENGTH_HISTOGRAM_MARGIN_LEFT + plot_w * limit / (G_N_ELEMENTS (counts) * bin_width);
  g_test_message ("marker at column %d (%u px of ink), expected at x = %.2f", best_column, best_column_ink,
                  marker_x);
  g_assert_cmpuint (best_column_ink, >, (guint) (plot_h / 3));
  g_assert_cmpfloat (fabs (best_column + 0.5 - marker_x), <=, 1.5);

  adw_style_manager_set_color_scheme (adw_style_manager_get_default (), ADW_COLOR_SCHEME_DEFAULT);
  g_object_unref (image.pixbuf);
  gtk_window_destroy (GTK_WINDOW (window));
}

/* A bin that holds lengths on both sides of the cut-off (here 45-49 at a
 * limit of 48: 45-48 kept whole, 49 cut short) is drawn as two bars split
 * at the marker, each as tall as its own count, the part past the marker
 * in the warning colour; whole bins keep one bar of one colour. */
static void
test_bar_split_at_limit (void)
{
  /* 12 bins of 5 tokens (the longest, 59, needs 60 values over at most 24
   * bins: 1-2-5 steps give 5). */
  static const guint data[] = { 10, 11, 12, 25, 26, 26, 27, 28, 29, 45, 46, 46, 47, 48, 49, 49, 50, 53, 59 };
  const guint limit = 48, bin_width = 5, n_bins = 12;
  /* The bars expected left to right: bin, count, warm. */
  static const struct { guint bin, count; gboolean warm; } expected[] = {
    { 2, 3, FALSE }, { 5, 6, FALSE }, { 9, 5, FALSE }, { 9, 2, TRUE }, { 10, 2, TRUE }, { 11, 1, TRUE },
  };
  GtkWidget *window = gtk_window_new ();
  GtkWidget *histogram = temper_length_histogram_new ();
  Image image;
  Bar bars[G_N_ELEMENTS (expected) + 4];
  guint n_bars, max_count = 0;
  double plot_w, plot_h, bin_px, marker_x, foot;

  temper_length_histogram_set_lengths (TEMPER_LENGTH_HISTOGRAM (histogram), data, G_N_ELEMENTS (data), limit);
  g_assert_cmpuint (temper_length_histogram_get_n_bins (TEMPER_LENGTH_HISTOGRAM (histogram)), ==, n_bins);
  g_assert_cmpuint (temper_length_histogram_get_bin (TEMPER_LENGTH_HISTOGRAM (histogram), 9, NULL, NULL), ==, 7);
  image = draw_light (window, histogram);

  n_bars = find_bars (&image, bars, G_N_ELEMENTS (bars));
  g_assert_cmpuint (n_bars, ==, G_N_ELEMENTS (expected));
  for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
    max_count = MAX (max_count, expected[i].count);
  plot_w = image.width - TEMPER_LENGTH_HISTOGRAM_MARGIN_LEFT - TEMPER_LENGTH_HISTOGRAM_MARGIN_RIGHT;
  plot_h = image.height - TEMPER_LENGTH_HISTOGRAM_MARGIN_TOP - TEMPER_LENGTH_HISTOGRAM_MARGIN_BOTTOM;
  bin_px = plot_w / n_bins;
  foot = image.height - TEMPER_LENGTH_HISTOGRAM_MARGIN_BOTTOM;
  /* Between 48, the longest kept whole, and 49, the shortest cut. */
  marker_x = TEMPER_LENGTH_HISTOGRAM_MARGIN_LEFT + plot_w * (limit + 1) / (n_bins * bin_width);
  for (guint i = 0; i < n_bars; i++)
    {
      double bin_left = TEMPER_LENGTH_HISTOGRAM_MARGIN_LEFT + bin_px * expected[i].bin;
      double height = bars[i].bottom + 1 - bars[i].top;

      g_test_message ("bar %u: columns %d-%d, %.0f px high, warm %d", i, bars[i].left, bars[i].right, height,
                      bars[i].warm);
      g_assert_cmpint (bars[i].warm, ==, expected[i].warm);
      /* Inside its bin, and on its side of the marker. */
      g_assert_cmpfloat (bars[i].left, >=, bin_left - 1);
      g_assert_cmpfloat (bars[i].right + 1, <=, bin_left + bin_px + 1);
      if (expected[i].warm)
        g_assert_cmpfloat (bars[i].left, >=, marker_x);
      else
        g_assert_cmpfloat (bars[i].right + 1, <=, marker_x);
      g_assert_cmpfloat (fabs (bars[i].bottom + 1 - foot), <=, 1.0);
      g_assert_cmpfloat (fabs (height - plot_h * expected[i].count / max_count), <=, 1.5);
    }
  /* The split bin's two parts reach from its edges to the marker. */
  g_assert_cmpfloat (fabs (bars[2].left - (TEMPER_LENGTH_HISTOGRAM_MARGIN_LEFT + bin_px * 9 + 1)), <=, 1.5);
  g_assert_cmpfloat (fabs (bars[2].right + 1 - marker_x), <=, 2.5);
  g_assert_cmpfloat (fabs (bars[3].left - marker_x), <=, 2.5);
  g_assert_cmpfloat (fabs (bars[3].right + 1 - (TEMPER_LENGTH_HISTOGRAM_MARGIN_LEFT + bin_px * 10 - 1)), <=, 1.5);

  adw_style_manager_set_color_scheme (adw_style_manager_get_default (), ADW_COLOR_SCHEME_DEFAULT);
  g_object_unref (image.pixbuf);
  gtk_window_destroy (GTK_WINDOW (window));
}

int
main (int   argc,
      char *argv[])
{
  gui_test_init (&argc, &argv);

  g_test_add_func ("/histogram/bins", test_bins);
  g_test_add_func ("/histogram/draws", test_draws);
  g_test_add_func ("/histogram/drawing-is-the-data", test_drawing_is_the_data);
  g_test_add_func ("/histogram/bar-split-at-limit", test_bar_split_at_limit);

  return g_test_run ();
}
