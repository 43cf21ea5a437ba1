/* SPDX-License-Identifier: MIT */
/* temper-train-best.h — keeping the adapter with the best validation loss. */
#pragma once

#include "temper/run.h"
#include "temper/train.h"
#include "temper-train-fit.h"

G_BEGIN_DECLS

/* Writes @adapter to RUN/best-adapter/ with the step and loss. */
gboolean temper_train_best_save (temper_run_t *run, temper_adapter_t *adapter,
                                 const TemperModelConfig *c, float dropout, const char *base_id,
                                 gint64 step, double val_loss, GError **error);
/* After the final adapter is written: replaces it by the best one when that
 * is from an earlier step, and writes RUN/outcome.json. */
gboolean temper_train_best_keep (temper_run_t *run, const TemperModelConfig *c, float dropout,
                                 const char *base_id, gint64 last_step, gboolean stopped_early,
                                 int patience, GError **error);

/* RUN/start-adapter/ when the run continues from an earlier adapter
 * (*found TRUE; NULL with @error when it cannot be read), else NULL with
 * *found FALSE.  In temper-train-from.c. */
temper_adapter_t *temper_train_load_start_adapter (temper_run_t *run, const TemperModelConfig *model_config,
                                                   gboolean *found, GError **error);

G_END_DECLS
