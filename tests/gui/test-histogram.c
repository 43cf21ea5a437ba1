/* test-histogram.c — TemperLengthHistogram puts each length in the right
 * bin, with round bin widths, and draws without complaint in light and dark
 * styles. */
#include "config.h"

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

int
main (int   argc,
      char *argv[])
{
  gui_test_init (&argc, &argv);

  g_test_add_func ("/histogram/bins", test_bins);
  g_test_add_func ("/histogram/draws", test_draws);

  return g_test_run ();
}
