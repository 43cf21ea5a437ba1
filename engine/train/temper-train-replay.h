/* SPDX-License-Identifier: MIT */
/* temper-train-replay.h — the base model's own answers to general prompts,
 * mixed into training against forgetting (TemperTrainSettings.replay_records). */
#pragma once

#include <gio/gio.h>

#include "temper/dataset.h"
#include "temper/generate.h"
#include "temper/run.h"
#include "temper/train.h"

typedef struct {
  TemperBackendKind backend;
  int               device;
  int               n_threads;
  GCancellable     *cancellable;
  void            (*stage) (const char *stage, double fraction, gpointer data);
  gpointer          stage_data;
} TemperTrainReplayOptions;

/* Sets *@replay to the records of RUN/dataset/replay.jsonl, read with
 * @dataset_options; the first time, the base model @model answers the
 * first @s->replay_records bundled prompts to make it.  *@replay is NULL
 * (and TRUE returned) when the base model finished none of its answers. */
gboolean temper_train_replay_load (temper_run_t *run, const temper_model_t *model,
                                   const TemperTrainSettings *s,
                                   const TemperDatasetOptions *dataset_options,
                                   const TemperTrainReplayOptions *options,
                                   temper_dataset_t **replay, GError **error);
