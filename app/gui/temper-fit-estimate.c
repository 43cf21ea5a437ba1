/* SPDX-License-Identifier: MIT */
/* temper-fit-estimate.c — memory needed to train a LoRA adapter, and
 * whether that fits on a device.
 *
 * The figure is the engine's own plan, temper_train_plan_memory(): the
 * frozen weights the device keeps (NF4 projections when the run holds them
 * so; on a GPU the embedding table only when it is also the lm_head) plus
 * the training step's buffers (activations, kept for every layer or, with
 * recomputation, only each layer's input; the adapter, its gradients and
 * AdamW moments), laid out exactly as the step lays them out.  It is the
 * figure the engine itself refuses a device by, so the page and the run
 * never disagree. */
#include "config.h"

#include <glib/gi18n.h>

#include "temper-fit-estimate.h"

void
temper_fit_estimate_run (const temper_model_t      *model,
                         const TemperTrainSettings *settings,
                         TemperBackendKind          kind,
                         TemperFitEstimate         *estimate)
{
  g_return_if_fail (model != NULL && settings != NULL && estimate != NULL);

  temper_train_plan_memory (model, settings, kind, &estimate->weights, &estimate->buffers);
  estimate->total = estimate->weights + estimate->buffers;
}

void
temper_fit_estimate_default (const temper_model_t *model,
                             TemperBackendKind     kind,
                             TemperFitEstimate    *estimate)
{
  TemperTrainSettings s;

  temper_train_settings_init_default (&s);
  s.micro_batch = TEMPER_FIT_BATCH;
  s.max_length = TEMPER_FIT_SEQ_LEN;
  s.lora.rank = TEMPER_FIT_LORA_RANK;
  s.lora.targets = TEMPER_LORA_TARGETS_ALL_LINEAR;
  temper_fit_estimate_run (model, &s, kind, estimate);
}

TemperFitVerdict
temper_fit_judge (guint64 needed,
                  guint64 available)
{
  if (available == 0 || needed > available)
    return TEMPER_FIT_TOO_BIG;
  if (needed <= available / 5 * 4)
    return TEMPER_FIT_COMFORTABLE;
  return TEMPER_FIT_TIGHT;
}

char *
temper_fit_describe (const TemperFitEstimate *estimate,
                     const TemperDeviceInfo  *device)
{
  g_autofree char *needed = NULL;
  g_autofree char *available = NULL;

  g_return_val_if_fail (estimate != NULL, NULL);
  g_return_val_if_fail (device != NULL, NULL);

  needed = g_format_size (estimate->total);
  available = g_format_size (device->memory_total);

  if (device->memory_total == 0)
    /* Translators: %s is an amount of memory such as "3.9 GB" */
    return g_strdup_printf (_("Unknown: this device does not say how much memory it has. Training needs about %s."),
                            needed);

  switch (temper_fit_judge (estimate->total, device->memory_total))
    {
    case TEMPER_FIT_COMFORTABLE:
      /* Translators: both %s are amounts of memory such as "3.9 GB" */
      return g_strdup_printf (_("Fits comfortably: training needs about %s of the %s here."),
                              needed, available);
    case TEMPER_FIT_TIGHT:
      /* Translators: both %s are amounts of memory such as "3.9 GB" */
      return g_strdup_printf (_("Fits, but only just: training needs about %s of the %s here. Close other programs first, or use shorter examples."),
                              needed, available);
    case TEMPER_FIT_TOO_BIG:
    default:
      /* Translators: both %s are amounts of memory such as "3.9 GB" */
      return g_strdup_printf (_("Too big: training needs about %s, but this device has %s. Choose a smaller model or a device with more memory."),
                              needed, available);
    }
}
