/* SPDX-License-Identifier: MIT */
/* temper-settings-page-estimate.c — the Settings page's estimate of memory
 * and time before anything starts, and the processor rates it is made from.
 *
 * The estimate:
 *   memory = what the engine plans for these settings on the chosen device
 *            (temper_fit_estimate_run(), see temper-fit-estimate.c);
 *   time   on the processor: the engine's estimate (temper/train-estimate.h),
 *            the work of each kind of op of a step divided by this
 *            processor's rate for that kind with this model's weights,
 *            measured once (a few seconds, off the main thread, when a model
 *            is chosen) and kept in the user's cache;
 *   time   otherwise, and on the processor until the rates are known,
 *            = tokens processed ÷ throughput, where
 *            tokens processed = steps × micro-batch × grad-accum ×
 *                               min(mean example length, max length),
 *            throughput       = device FLOP/s ÷ FLOPs per token
 *                               (temper_train_flops_per_token()).
 *   The device FLOP/s is what the last run on that device sustained, which
 *   the Training page measures and keeps (TemperSettings' measured speeds),
 *   so estimates become the machine's own after its first run, for any
 *   model.  Before that, on the processor, it is CPU_FLOPS_PER_CORE per
 *   core, a sustained rate for fp32 arithmetic over quantized weights on an
 *   ordinary desktop core; a GPU's rate varies too much between cards and
 *   drivers to guess, so only the steps are given.  Memory is judged against
 *   the chosen device's own memory. */
#include "config.h"

#include <glib/gi18n.h>

#include "temper/train-estimate.h"
#include "temper/train-figures.h"
#include "temper-device-list.h"
#include "temper-fit-estimate.h"
#include "temper-fit-ways-out.h"
#include "temper-format.h"
#include "temper-settings.h"
#include "temper-settings-fields.h"
#include "temper-settings-page-private.h"
#include "temper-time-estimate.h"

#define CPU_FLOPS_PER_CORE 8e9

/* Whether a run of @s fits on at least one device here. */
static gboolean
fits_somewhere (TemperSettingsPage *self, const temper_model_t *model, const TemperTrainSettings *s)
{
  for (guint i = 0; self->devices != NULL && i < self->devices->len; i++)
    {
      const TemperDeviceInfo *d = g_ptr_array_index (self->devices, i);
      TemperFitEstimate fit;

      temper_fit_estimate_run (model, s, d->backend, &fit);
      if (temper_fit_judge (fit.total, d->memory_total) != TEMPER_FIT_TOO_BIG)
        return TRUE;
    }
  return self->devices == NULL || self->devices->len == 0;
}

const TemperDeviceInfo *
settings_page_selected_device (TemperSettingsPage *self)
{
  guint i = adw_combo_row_get_selected (self->device_row);

  if (self->devices == NULL || i == GTK_INVALID_LIST_POSITION || i >= self->devices->len)
    return NULL;
  return g_ptr_array_index (self->devices, i);
}

static const TemperDeviceInfo *
cpu_device (TemperSettingsPage *self)
{
  for (guint i = 0; self->devices != NULL && i < self->devices->len; i++)
    {
      const TemperDeviceInfo *d = g_ptr_array_index (self->devices, i);

      if (d->backend == TEMPER_BACKEND_CPU)
        return d;
    }
  return NULL;
}

/* The selected device's training FLOP/s: as measured (*measured set), the
 * processor guess, or 0 for a GPU never measured. */
static double
device_speed (TemperSettingsPage *self,
              gboolean           *measured)
{
  const TemperDeviceInfo *device = settings_page_selected_device (self);
  g_autofree char *id = NULL;
  double flops = 0;

  if (device == NULL)
    device = cpu_device (self);
  if (device != NULL && self->settings != NULL)
    {
      id = temper_device_id (device);
      flops = temper_settings_get_measured_speed (self->settings, id);
    }
  *measured = flops > 0;
  if (flops == 0 && (device == NULL || device->backend == TEMPER_BACKEND_CPU))
    flops = CPU_FLOPS_PER_CORE * g_get_num_processors ();
  return flops;
}

static gboolean
compute_estimate (TemperSettingsPage        *self,
                  const TemperTrainSettings *s,
                  gint64                    *steps,
                  double                    *seconds,
                  guint64                   *memory,
                  TemperTimeBasis             *basis)
{
  const temper_model_t *model;
  const TemperDeviceInfo *device;
  TemperFitEstimate fit;
  double tokens_per_example, flops_per_token, flops;
  gint64 examples_per_step;
  gboolean measured;

  if (self->model == NULL || self->n_train == 0)
    return FALSE;

  model = temper_loaded_model_get_model (self->model);
  device = settings_page_selected_device (self);
  if (device == NULL)
    device = cpu_device (self);
  temper_fit_estimate_run (model, s, device != NULL ? device->backend : TEMPER_BACKEND_CPU, &fit);
  examples_per_step = (gint64) s->micro_batch * s->grad_accum;
  *steps = temper_train_count_steps (s, self->n_train);
  *memory = fit.total;
  tokens_per_example = MIN (self->mean_tokens > 0 ? self->mean_tokens : s->max_length,
                            (double) s->max_length);
  if ((device == NULL || device->backend == TEMPER_BACKEND_CPU) && self->have_rates)
    {
      TemperTimeEstimate estimate;

      temper_train_estimate_time (temper_model_get_config (model), s, tokens_per_example, *steps,
                                  &self->rates, &estimate);
      *seconds = estimate.total_seconds;
      *basis = TEMPER_TIME_BASIS_RATES;
      return TRUE;
    }
  flops_per_token = temper_train_flops_per_token (temper_model_get_config (model),
                                                  temper_lora_config_count_params (temper_model_get_config (model),
                                                                                   &s->lora),
                                                  tokens_per_example, s->recompute);
  flops = device_speed (self, &measured);
  *seconds = flops > 0 ? (double) *steps * (double) examples_per_step * tokens_per_example
                         * flops_per_token / flops
                       : -1;
  *basis = measured ? TEMPER_TIME_BASIS_LAST_RUN : *seconds < 0 ? TEMPER_TIME_BASIS_NONE
           : self->measuring ? TEMPER_TIME_BASIS_MEASURING : TEMPER_TIME_BASIS_GUESS;
  return TRUE;
}

void
settings_page_update_estimate (TemperSettingsPage *self)
{
  TemperTrainSettings s;
  g_autoptr(GError) error = NULL;
  const TemperDeviceInfo *device = settings_page_selected_device (self);
  gboolean valid;
  gint64 steps;
  double seconds;
  guint64 memory;
  TemperTimeBasis basis;

  temper_settings_fields_read (self->field_widgets, &s);
  /* The time in the products the run will use: their rates differ. */
  if (s.exact != self->rates_exact)
    {
      self->rates_exact = s.exact;
      settings_page_find_rates (self);
    }
  valid = temper_train_settings_validate (&s, &error);
  gtk_widget_set_visible (GTK_WIDGET (self->invalid_label), !valid);
  if (!valid)
    gtk_label_set_text (self->invalid_label, error->message);
  if (valid != self->valid)
    {
      self->valid = valid;
      g_object_notify (G_OBJECT (self), "complete");
    }

  if (!valid || !compute_estimate (self, &s, &steps, &seconds, &memory, &basis))
    {
      adw_action_row_set_subtitle (self->memory_row,
                                   valid ? _("Choose a model and a dataset to see an estimate.")
                                         : _("Fix the setting shown under Advanced to see an estimate."));
      adw_action_row_set_subtitle (self->time_row, "");
      gtk_widget_set_visible (self->cluster_button, FALSE);
      return;
    }

  {
    TemperFitEstimate fit = { 0 };
    const TemperDeviceInfo *target = device != NULL ? device : cpu_device (self);
    g_autofree char *duration = seconds >= 0 ? temper_format_duration (seconds) : NULL;
    g_autofree char *time_text = NULL;

    fit.total = memory;
    if (target != NULL)
      {
        g_autofree char *text = temper_fit_describe (&fit, target);
        const temper_model_t *model = temper_loaded_model_get_model (self->model);

        if (temper_fit_judge (memory, target->memory_total) == TEMPER_FIT_TOO_BIG
            && target->memory_total > 0)
          {
            g_autofree char *ways = temper_fit_ways_out (model, &s, target->backend,
                                                         target->memory_total);
            g_autofree char *both = g_strconcat (text, " ", ways, NULL);

            g_free (text);
            text = g_steal_pointer (&both);
          }
        gtk_widget_set_visible (self->cluster_button, !fits_somewhere (self, model, &s));
        adw_action_row_set_subtitle (self->memory_row, text);
      }
    else
      {
        g_autofree char *size = g_format_size (memory);
        /* Translators: %s is an amount of memory such as "3.9 GB" */
        g_autofree char *text = g_strdup_printf (_("Training needs about %s."), size);

        adw_action_row_set_subtitle (self->memory_row, text);
      }

    time_text = temper_time_basis_describe (basis, steps, duration);
    adw_action_row_set_subtitle (self->time_row, time_text);
  }
}

static void
rates_measured_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  TemperSettingsPage *self = TEMPER_SETTINGS_PAGE (source);
  guint serial = GPOINTER_TO_UINT (user_data);
  g_autoptr(GError) error = NULL;
  g_autofree TemperOpRates *rates = temper_op_rates_measure_finish (result, &error);

  /* Measured for a model no longer chosen, or for a page that is gone. */
  if (serial != self->rates_serial || g_cancellable_is_cancelled (self->cancellable))
    return;
  self->measuring = FALSE;
  if (rates == NULL)
    g_debug ("No measured speeds for the time estimate: %s", error->message);
  else
    {
      self->rates = *rates;
      self->have_rates = TRUE;
    }
  settings_page_update_estimate (self);
}

void
settings_page_find_rates (TemperSettingsPage *self)
{
  self->rates_serial++;
  self->measuring = FALSE;
  self->have_rates = self->model != NULL &&
                     temper_op_rates_lookup (temper_loaded_model_get_model (self->model), 0,
                                             self->rates_exact, &self->rates);
  if (self->model == NULL || self->have_rates || !self->measure_rates)
    return;
  self->measuring = TRUE;
  temper_op_rates_measure_async (self->model, self->rates_exact, G_OBJECT (self), rates_measured_cb,
                                 GUINT_TO_POINTER (self->rates_serial));
}

gboolean
temper_settings_page_get_estimate (TemperSettingsPage *self,
                                   gint64             *steps,
                                   double             *seconds,
                                   guint64            *memory_bytes)
{
  TemperTrainSettings s;
  TemperTimeBasis basis;

  g_return_val_if_fail (TEMPER_IS_SETTINGS_PAGE (self), FALSE);
  temper_settings_fields_read (self->field_widgets, &s);
  return compute_estimate (self, &s, steps, seconds, memory_bytes, &basis);
}

void
temper_settings_page_set_measure_speed (TemperSettingsPage *self,
                                        gboolean            measure)
{
  g_return_if_fail (TEMPER_IS_SETTINGS_PAGE (self));
  self->measure_rates = measure;
}

gboolean
temper_settings_page_is_measuring_speed (TemperSettingsPage *self)
{
  g_return_val_if_fail (TEMPER_IS_SETTINGS_PAGE (self), FALSE);
  return self->measuring;
}
