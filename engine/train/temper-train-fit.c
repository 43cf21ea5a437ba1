/* SPDX-License-Identifier: MIT */
/* temper-train-fit.c — running micro-batches in as many device passes as
 * the device's memory needs. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <inttypes.h>
#include <stdio.h>

#include "temper/error.h"
#include "temper-train-fit.h"

static struct {
  int    max_rows;
  gint64 passes_before_lost;
  gint64 passes;
} simulated;

void
temper_train_fit_simulate_device (int max_rows, gint64 passes_before_lost)
{
  simulated.max_rows = max_rows;
  simulated.passes_before_lost = passes_before_lost;
  simulated.passes = 0;
}

void
temper_train_log (temper_run_t *run, const char *format, ...)
{
  g_autofree char *path = NULL, *line = NULL, *stamp = NULL;
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  va_list args;
  FILE *f;

  va_start (args, format);
  line = g_strdup_vprintf (format, args);
  va_end (args);
  g_info ("%s", line);
  if (run == NULL)
    return;
  path = g_build_filename (temper_run_get_dir (run), "train.log", NULL);
  stamp = g_date_time_format (now, "%Y-%m-%dT%H:%M:%SZ");
  f = fopen (path, "a");
  if (f == NULL)
    return;
  fprintf (f, "%s %s\n", stamp, line);
  fclose (f);
}

static TemperTrainStep *
new_step (TemperTrainFit *fit, int rows, GError **error)
{
  return temper_train_step_new_on (fit->model, fit->backend, fit->device, fit->adapter,
                                   fit->dropout, rows, fit->seq_len, fit->recompute, error);
}

static void
log_reduction (TemperTrainFit *fit, int from, int to, const GError *cause)
{
  int passes = (fit->micro_batch + to - 1) / to;
  const char *device = fit->device_name != NULL ? fit->device_name : _("the device");
  g_autofree char *failed = NULL;
  g_autofree char *retrying = NULL;

  failed = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                         "Out of memory with %d sequence of %d tokens per pass on %s: %s",
                                         "Out of memory with %d sequences of %d tokens per pass on %s: %s",
                                         from),
                            from, fit->seq_len, device, cause->message);
  retrying = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                           "Retrying with %d sequence per pass (%d passes per micro-batch of %d, "
                                           "their gradients added up), so the effective batch does not change.",
                                           "Retrying with %d sequences per pass (%d passes per micro-batch of %d, "
                                           "their gradients added up), so the effective batch does not change.",
                                           to),
                              to, passes, fit->micro_batch);
  temper_train_log (fit->run, "%s  %s", failed, retrying);
}

gboolean
temper_train_fit_open (TemperTrainFit *fit, GError **error)
{
  int rows = fit->micro_batch;

  g_return_val_if_fail (fit->step == NULL && rows > 0, FALSE);

  for (;;)
    {
      g_autoptr(GError) local = NULL;

      fit->step = new_step (fit, rows, &local);
      if (fit->step != NULL)
        {
          fit->pass_rows = rows;
          return TRUE;
        }
      if (rows == 1 || !g_error_matches (local, TEMPER_ERROR, TEMPER_ERROR_OUT_OF_MEMORY))
        {
          g_propagate_error (error, g_steal_pointer (&local));
          return FALSE;
        }
      log_reduction (fit, rows, (rows + 1) / 2, local);
      rows = (rows + 1) / 2;
    }
}

gboolean
temper_train_fit_shrink (TemperTrainFit *fit, const GError *cause, GError **error)
{
  guint64 n = temper_train_step_get_n_params (fit->step);
  g_autofree float *m = NULL, *v = NULL;
  int rows = (fit->pass_rows + 1) / 2;

  if (fit->pass_rows == 1)
    {
      g_propagate_error (error, g_error_copy (cause));
      return FALSE;
    }
  m = g_new (float, n);
  v = g_new (float, n);
  /* Running out of memory leaves the device usable: what is on it so far
   * (the adapter and moments of the last whole step) comes back intact. */
  if (!temper_train_step_download_adapter (fit->step, error) ||
      !temper_train_step_get_moments (fit->step, m, v, error))
    return FALSE;
  g_clear_pointer (&fit->step, temper_train_step_free);
  log_reduction (fit, fit->pass_rows, rows, cause);

  for (;;)
    {
      g_autoptr(GError) local = NULL;

      fit->step = new_step (fit, rows, &local);
      if (fit->step != NULL)
        break;
      if (rows == 1 || !g_error_matches (local, TEMPER_ERROR, TEMPER_ERROR_OUT_OF_MEMORY))
        {
          g_propagate_error (error, g_steal_pointer (&local));
          return FALSE;
        }
      log_reduction (fit, rows, (rows + 1) / 2, local);
      rows = (rows + 1) / 2;
    }
  fit->pass_rows = rows;
  return temper_train_step_set_moments (fit->step, m, v, error);
}

static gboolean
simulated_failure (int rows, GError **error)
{
  /* Only tests reach the simulated device, so its messages stay untranslated. */
  if (simulated.max_rows > 0 && rows > simulated.max_rows)
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_OUT_OF_MEMORY,
                   "The test device holds at most %d sequence%s per pass, and %d were asked for.",
                   simulated.max_rows, simulated.max_rows == 1 ? "" : "s", rows);
      return TRUE;
    }
  if (simulated.passes_before_lost > 0 && ++simulated.passes > simulated.passes_before_lost)
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_DEVICE,
                   "The test device stopped responding after %" PRId64 " passes.",
                   simulated.passes_before_lost);
      return TRUE;
    }
  return FALSE;
}

gboolean
temper_train_fit_run (TemperTrainFit *fit, const gint32 *tokens, const gint32 *targets,
                      int n_seq, int seq_len, gboolean backward, float grad_scale,
                      TemperRng *rng, double *loss_sum, double *n_targets, GError **error)
{
  *loss_sum = 0;
  *n_targets = 0;
  for (int first = 0; first < n_seq; first += fit->pass_rows)
    {
      int rows = MIN (fit->pass_rows, n_seq - first);
      gsize at = (gsize) first * seq_len;
      double ls, lc;

      if (simulated_failure (rows, error) ||
          !temper_train_step_run_part (fit->step, tokens + at, targets + at, first, rows, seq_len,
                                       backward, grad_scale, rng, &ls, &lc, error))
        return FALSE;
      *loss_sum += ls;
      *n_targets += lc;
    }
  return TRUE;
}

void
temper_train_fit_close (TemperTrainFit *fit)
{
  g_clear_pointer (&fit->step, temper_train_step_free);
}
