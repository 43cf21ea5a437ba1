/* SPDX-License-Identifier: MIT */
/* temper-time-estimate.c — see temper-time-estimate.h. */
#include "config.h"

#include <glib/gi18n.h>

#include "temper-time-estimate.h"

char *
temper_time_basis_describe (TemperTimeBasis basis,
                            gint64          steps,
                            const char     *duration)
{
  switch (basis)
    {
    case TEMPER_TIME_BASIS_RATES:
      /* Translators: %lld is a number of steps, %s a duration such as "about 12 minutes" */
      return g_strdup_printf (_("%lld steps, %s, from how fast this processor ran each kind of operation of this model."),
                              (long long) steps, duration);
    case TEMPER_TIME_BASIS_MEASURING:
      /* Translators: %lld is a number of steps, %s a duration such as "about 12 minutes" */
      return g_strdup_printf (_("%lld steps, %s by a rough guess; measuring how fast this processor trains this model for a better estimate…"),
                              (long long) steps, duration);
    case TEMPER_TIME_BASIS_LAST_RUN:
      /* Translators: %lld is a number of steps, %s a duration such as "about 12 minutes" */
      return g_strdup_printf (_("%lld steps, %s, at the speed this device reached in its last run."),
                              (long long) steps, duration);
    case TEMPER_TIME_BASIS_NONE:
      /* Translators: %lld is a number of steps */
      return g_strdup_printf (_("%lld steps. How fast a graphics card trains is only known once it starts: the Training page shows the real speed and the time left."),
                              (long long) steps);
    case TEMPER_TIME_BASIS_GUESS:
    default:
      /* Translators: %lld is a number of steps, %s a duration such as "about 12 minutes" */
      return g_strdup_printf (_("%lld steps, %s. A rough guess from the model's size and your processor; the Training page shows the real speed."),
                              (long long) steps, duration);
    }
}

typedef struct {
  TemperLoadedModel *model;
  gboolean           exact;
} MeasureData;

static void
measure_data_free (gpointer data)
{
  MeasureData *d = data;

  g_object_unref (d->model);
  g_free (d);
}

static void
measure_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  MeasureData *d = data;
  g_autofree TemperOpRates *rates = g_new0 (TemperOpRates, 1);
  GError *error = NULL;

  /* One thread per core, as the Training page trains. */
  if (temper_op_rates_measure (temper_loaded_model_get_model (d->model), 0, d->exact, rates, &error))
    g_task_return_pointer (task, g_steal_pointer (&rates), g_free);
  else
    g_task_return_error (task, error);
}

void
temper_op_rates_measure_async (TemperLoadedModel  *model,
                               gboolean            exact,
                               GObject            *source,
                               GAsyncReadyCallback callback,
                               gpointer            user_data)
{
  g_autoptr(GTask) task = g_task_new (source, NULL, callback, user_data);
  MeasureData *d = g_new0 (MeasureData, 1);

  d->model = g_object_ref (model);
  d->exact = exact;
  g_task_set_task_data (task, d, measure_data_free);
  g_task_run_in_thread (task, measure_thread);
}

TemperOpRates *
temper_op_rates_measure_finish (GAsyncResult *result,
                                GError      **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}
