/* SPDX-License-Identifier: MIT */
/* temper-fit-estimate.h — will LoRA training of a model fit on a device? */
#pragma once

#include <glib.h>
#include "temper/device-info.h"
#include "temper/model.h"
#include "temper/train.h"

G_BEGIN_DECLS

/* The training shape the estimate assumes: what the Settings page starts
 * from.  Longer examples or bigger batches need more. */
#define TEMPER_FIT_SEQ_LEN     512
#define TEMPER_FIT_BATCH       4
#define TEMPER_FIT_LORA_RANK   16

typedef enum {
  TEMPER_FIT_COMFORTABLE,   /* at most 80 % of the device's memory */
  TEMPER_FIT_TIGHT,         /* fits, with little to spare */
  TEMPER_FIT_TOO_BIG,
} TemperFitVerdict;

typedef struct {
  guint64 weights;      /* bytes of frozen weights the device keeps */
  guint64 buffers;      /* activations, the adapter, its gradients and moments */
  guint64 total;
} TemperFitEstimate;

/* The memory a run of @settings holds on a device of @kind
 * (temper_train_plan_memory()). */
void             temper_fit_estimate_run      (const temper_model_t      *model,
                                               const TemperTrainSettings *settings,
                                               TemperBackendKind          kind,
                                               TemperFitEstimate         *estimate);
/* The same for the shape above, before any settings are chosen. */
void             temper_fit_estimate_default  (const temper_model_t *model,
                                               TemperBackendKind     kind,
                                               TemperFitEstimate    *estimate);
TemperFitVerdict temper_fit_judge             (guint64 needed, guint64 available);
/* One translated sentence for a person, e.g. "Fits comfortably: training
 * needs about 3.9 GB of the 16 GB here." */
char            *temper_fit_describe          (const TemperFitEstimate *estimate,
                                               const TemperDeviceInfo  *device);

G_END_DECLS
