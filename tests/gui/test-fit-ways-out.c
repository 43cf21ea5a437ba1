/* SPDX-License-Identifier: MIT */
/* test-fit-ways-out.c — when training is too big, the Settings page names
 * exactly the changes that would make it fit (each checked against the
 * engine's own memory plan), and always the cluster. */
#include "config.h"

#include <string.h>

#include "temper-fit-estimate.h"
#include "temper-fit-ways-out.h"

static guint64
needs (const temper_model_t *model, const TemperTrainSettings *s)
{
  TemperFitEstimate fit;

  temper_fit_estimate_run (model, s, TEMPER_BACKEND_CPU, &fit);
  return fit.total;
}

static void
test_names_what_fits (void)
{
  g_autofree char *path = g_build_filename (g_getenv ("TEMPER_SOURCE_DIR"), "tests", "fixtures",
                                            "train", "tiny-llama", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(temper_model_t) model = temper_model_load (path, NULL, &error);
  TemperTrainSettings s, recompute, shorter;
  guint64 available;
  g_autofree char *text = NULL;
  g_autofree char *none = NULL;
  g_autofree char *shorter_words = NULL;

  g_assert_no_error (error);
  temper_train_settings_init_default (&s);
  s.max_length = 1024;
  s.micro_batch = 8;
  recompute = s;
  recompute.recompute = TRUE;
  shorter = s;
  shorter.max_length = 512;
  /* Just what recomputing needs: that way out fits, halving the length
   * (which saves more) fits too, the original does not. */
  available = needs (model, &recompute);
  g_assert_cmpuint (needs (model, &s), >, available);
  text = temper_fit_ways_out (model, &s, TEMPER_BACKEND_CPU, available);
  g_test_message ("%s", text);
  g_assert_nonnull (strstr (text, "“Save memory”"));
  g_assert_nonnull (strstr (text, "Train on a Cluster…"));
  shorter_words = g_strdup_printf ("examples of at most %d tokens", 512);
  g_assert_true ((strstr (text, shorter_words) != NULL) == (needs (model, &shorter) <= available));
  /* Already recomputing: it is not offered again. */
  g_clear_pointer (&text, g_free);
  text = temper_fit_ways_out (model, &recompute, TEMPER_BACKEND_CPU, available);
  g_assert_null (strstr (text, "“Save memory”"));

  none = temper_fit_ways_out (model, &s, TEMPER_BACKEND_CPU, 1);
  g_assert_nonnull (strstr (none, "None of the memory savings"));
  g_assert_nonnull (strstr (none, "Train on a Cluster…"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/fit/ways-out", test_names_what_fits);
  return g_test_run ();
}
