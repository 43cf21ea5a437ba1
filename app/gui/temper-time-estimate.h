/* SPDX-License-Identifier: MIT */
/* temper-time-estimate.h — the Settings page's time estimate: what it was
 * made from, its sentence, and measuring the processor's rates off the
 * main thread. */
#pragma once

#include <gio/gio.h>

#include "temper/train-estimate.h"
#include "temper-loaded-model.h"

G_BEGIN_DECLS

typedef enum {
  TEMPER_TIME_BASIS_NONE,        /* a GPU never measured: steps only */
  TEMPER_TIME_BASIS_GUESS,       /* the processor, from its number of cores */
  TEMPER_TIME_BASIS_MEASURING,   /* the same while its rates are being measured */
  TEMPER_TIME_BASIS_LAST_RUN,    /* the device's speed in its last run */
  TEMPER_TIME_BASIS_RATES,       /* the engine's estimate from the measured rates */
} TemperTimeBasis;

/* The Settings page's sentence for @steps steps taking @duration ("about
 * 12 minutes"; unused for TEMPER_TIME_BASIS_NONE). */
char          *temper_time_basis_describe     (TemperTimeBasis basis,
                                               gint64          steps,
                                               const char     *duration);

/* temper_op_rates_measure() for @model with one thread per core in the
 * products @exact says, in a thread; @source is the GTask's source object. */
void           temper_op_rates_measure_async  (TemperLoadedModel  *model,
                                               gboolean            exact,
                                               GObject            *source,
                                               GAsyncReadyCallback callback,
                                               gpointer            user_data);
/* The rates (g_free() them), or NULL with @error. */
TemperOpRates *temper_op_rates_measure_finish (GAsyncResult       *result,
                                               GError            **error);

G_END_DECLS
