/* SPDX-License-Identifier: MIT */
/* temper-training-page.h — step 4: the run itself.
 *
 * Trains on a worker thread and shows the loss as it falls, the step, the
 * speed, the time left and the memory in use.  Pausing and stopping both
 * cancel the worker, which keeps a checkpoint of the last whole step; a
 * paused or stopped run resumes from that checkpoint, exactly where it
 * stopped (the engine's temper_train_run() continues from the newest
 * checkpoint of a run folder). */
#pragma once

#include <adwaita.h>

#include "temper/run.h"
#include "temper/train.h"
#include "temper-loaded-model.h"

G_BEGIN_DECLS

typedef enum {
  TEMPER_TRAINING_READY,      /* nothing started for these settings yet */
  TEMPER_TRAINING_RUNNING,
  TEMPER_TRAINING_PAUSED,     /* resumable; the person meant to come back */
  TEMPER_TRAINING_STOPPED,    /* resumable, from here or the Runs page */
  TEMPER_TRAINING_FINISHED,
  TEMPER_TRAINING_FAILED,
} TemperTrainingState;

#define TEMPER_TYPE_TRAINING_PAGE (temper_training_page_get_type ())
G_DECLARE_FINAL_TYPE (TemperTrainingPage, temper_training_page, TEMPER, TRAINING_PAGE, AdwPreferencesPage)

/* What a new run trains (@val_path: a file to check the training on, or
 * NULL to hold records of the data back).  Ignored while a run is under way; a run that was
 * started for other inputs is put aside (it stays in the Runs page). */
void                temper_training_page_set_source (TemperTrainingPage        *self,
                                                     TemperLoadedModel         *model,
                                                     const char                *data_path,
                                                     const char                *val_path,
                                                     const TemperTrainSettings *settings);
/* The next new run starts from the kept adapter of the run in @dir (NULL:
 * from a fresh adapter), with that adapter's rank, alpha and targets. */
void                temper_training_page_set_start_from (TemperTrainingPage *self,
                                                         const char         *dir);
const char         *temper_training_page_get_start_from (TemperTrainingPage *self);
/* Shows @run (its loss so far from @metrics, its metrics.jsonl as
 * temper_run_read_metrics() read it, which may be NULL; whether it can
 * resume; @outcome, temper_train_describe_outcome() of it or NULL); @model
 * is the run's model, loaded.  The caller opened the run and read its
 * metrics and outcome off the main thread. */
gboolean            temper_training_page_show_run   (TemperTrainingPage *self,
                                                     const temper_run_t *run,
                                                     GArray             *metrics,
                                                     const char         *outcome,
                                                     TemperLoadedModel  *model,
                                                     GError            **error);
/* The device new and resumed runs train on (the default: the CPU). */
void                temper_training_page_set_device (TemperTrainingPage *self,
                                                     TemperBackendKind   backend,
                                                     int                 device);
void                temper_training_page_start      (TemperTrainingPage *self);
void                temper_training_page_pause      (TemperTrainingPage *self);
void                temper_training_page_resume     (TemperTrainingPage *self);
void                temper_training_page_stop       (TemperTrainingPage *self);

TemperTrainingState temper_training_page_get_state  (TemperTrainingPage *self);
/* A worker is running (also while it winds down after a pause or stop). */
gboolean            temper_training_page_is_busy    (TemperTrainingPage *self);
/* The run folder, once a run has been created; NULL before. */
const char         *temper_training_page_get_run_dir (TemperTrainingPage *self);
/* The chart, for tests. */
GtkWidget          *temper_training_page_get_chart  (TemperTrainingPage *self);

G_END_DECLS
