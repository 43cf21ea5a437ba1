/* SPDX-License-Identifier: MIT */
/* temper-cli-estimate.c — the time a training run will take, as `train`
 * prints it before starting, and as `bench train` holds it against the
 * steps it timed (engine: temper/train-estimate.h). */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <math.h>
#include <stdio.h>

#include "temper/dataset.h"
#include "temper/train-estimate.h"
#include "temper-cli.h"

/* This machine's rates for @model with @threads in the products @exact
 * says: kept, or measured now (a few seconds; said on stderr). */
static gboolean
get_rates (const temper_model_t *model, int threads, gboolean exact, TemperOpRates *rates,
           gboolean *measured_now, GError **error)
{
  *measured_now = FALSE;
  if (temper_op_rates_lookup (model, threads, exact, rates))
    return TRUE;
  fprintf (stderr, "%s\n", _("Measuring how fast this processor trains this model, for the time estimate (once)…"));
  *measured_now = TRUE;
  return temper_op_rates_measure (model, threads, exact, rates, error);
}

static char *
format_duration (double seconds)
{
  if (seconds < 90)
    /* Translators: a duration; %.0f is a number of seconds */
    return g_strdup_printf (_("about %.0f seconds"), MAX (seconds, 1));
  if (seconds < 5400)
    /* Translators: a duration; %.0f is a number of minutes */
    return g_strdup_printf (_("about %.0f minutes"), seconds / 60);
  /* Translators: a duration; %.1f is a number of hours */
  return g_strdup_printf (_("about %.1f hours"), seconds / 3600);
}

void
temper_cli_print_time_estimate (const temper_model_t *model, const TemperTrainSettings *s,
                                guint64 records, guint64 tokens, gboolean separate_validation,
                                int threads)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *duration = NULL;
  TemperOpRates rates;
  TemperTimeEstimate estimate;
  gboolean measured_now;
  double fraction, mean_tokens;
  guint64 n_train;
  gint64 steps;

  if (records == 0)
    return;
  if (!get_rates (model, threads, s->exact, &rates, &measured_now, &error))
    {
      printf (_("No time estimate: %s\n"), error->message);
      return;
    }
  /* The run holds back a share of the records unless validation has its
   * own file. */
  fraction = separate_validation ? 0
             : s->val_fraction >= 0 ? s->val_fraction
             : temper_dataset_default_validation_fraction (records);
  n_train = records - (guint64) floor ((double) records * fraction + 0.5);
  mean_tokens = (double) tokens / (double) records;
  steps = temper_train_count_steps (s, MAX (n_train, 1));
  temper_train_estimate_time (temper_model_get_config (model), s, mean_tokens, steps, &rates, &estimate);
  duration = format_duration (estimate.total_seconds);
  /* Translators: %lld is a number of steps, the first %s a duration such as
   * "about 12 minutes", %.1f seconds per step */
  printf (_("Time on this processor: %lld steps, %s (%.1f s a step, from its measured speed per kind of operation)\n"),
          (long long) steps, duration, estimate.seconds_per_step);
}

void
temper_cli_print_bench_estimate (const temper_model_t *model, const TemperTrainSettings *s, int threads,
                                 double measured_seconds_per_step, const TemperOpProfile *profile,
                                 int n_steps)
{
  g_autoptr(GError) error = NULL;
  TemperOpRates rates;
  TemperTimeEstimate estimate;
  gboolean measured_now;

  /* English, like the rest of the bench report. */
  if (!get_rates (model, threads, s->exact, &rates, &measured_now, &error))
    {
      printf ("estimate:         none (%s)\n", error->message);
      return;
    }
  temper_train_estimate_time (temper_model_get_config (model), s, s->max_length, 1, &rates, &estimate);
  printf ("estimate:         %.3f s/step estimated vs %.3f s/step measured (%.2fx), from rates %s\n"
          "                  (2 sequences of 128 tokens, rank 16, all-linear, same threads)\n",
          estimate.seconds_per_step, measured_seconds_per_step,
          measured_seconds_per_step > 0 ? estimate.seconds_per_step / measured_seconds_per_step : 0,
          measured_now ? "measured just now" : "kept in the cache (temper/op-rates.ini)");
  if (profile == NULL || n_steps <= 0)
    return;
  printf ("  %-28s %12s %12s\n", "kind", "est. ms/step", "meas. ms/step");
  for (int k = 0; k < TEMPER_OP_KIND_COUNT; k++)
    printf ("  %-28s %12.2f %12.2f\n", temper_op_kind_name (k), 1e3 * estimate.seconds[k],
            1e3 * profile->seconds[k] / n_steps);
  printf ("  %-28s %12.2f %12.2f\n", "outside ops", 1e3 * estimate.outside_seconds,
          1e3 * (measured_seconds_per_step - temper_op_profile_total (profile) / n_steps));
}

double
temper_cli_bench_estimate_seconds (const temper_model_t *model, const TemperTrainSettings *s, int threads)
{
  g_autoptr(GError) error = NULL;
  TemperOpRates rates;
  TemperTimeEstimate estimate;
  gboolean measured_now;

  if (!get_rates (model, threads, s->exact, &rates, &measured_now, &error))
    return -1;
  temper_train_estimate_time (temper_model_get_config (model), s, s->max_length, 1, &rates, &estimate);
  return estimate.seconds_per_step;
}
