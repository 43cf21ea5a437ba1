/* SPDX-License-Identifier: MIT */
/* temper-dataset-page.h — step 2: the examples to learn from. */
#pragma once

#include <adwaita.h>

#include "temper/train.h"
#include "temper-loaded-model.h"

G_BEGIN_DECLS

#define TEMPER_TYPE_DATASET_PAGE (temper_dataset_page_get_type ())
G_DECLARE_FINAL_TYPE (TemperDatasetPage, temper_dataset_page, TEMPER, DATASET_PAGE, AdwPreferencesPage)

/* Checks @path (JSON or JSONL) on a worker thread and shows the report.
 * With a model set, lengths are counted in its tokens. */
void               temper_dataset_page_open      (TemperDatasetPage *self,
                                                  const char        *path);
/* The model whose tokenizer and chat template measure the examples. */
void               temper_dataset_page_set_model (TemperDatasetPage *self,
                                                  TemperLoadedModel *model);
TemperLoadedModel *temper_dataset_page_get_model (TemperDatasetPage *self);
/* Checking a file, reading the check file or looking for leakage. */
gboolean           temper_dataset_page_is_busy   (TemperDatasetPage *self);
/* The file whose check is shown, or NULL while none has passed. */
const char        *temper_dataset_page_get_path  (TemperDatasetPage *self);
/* Examples on the training side of the split and their mean length in
 * tokens (0 when counted without a model).  FALSE while no dataset has
 * passed its check. */
gboolean           temper_dataset_page_get_size  (TemperDatasetPage *self,
                                                  guint             *n_train,
                                                  double            *mean_tokens);
/* What the automatic training settings look at, as the check measured it:
 * records kept, their tokens and lengths (n_params is left as it is).
 * FALSE while no dataset has passed its check with a model's tokenizer. */
gboolean           temper_dataset_page_get_facts (TemperDatasetPage *self,
                                                  TemperTrainFacts  *facts);

/* A file of its own to check the training on (read and summed up on a
 * worker thread), or NULL: records of the data are held back, as the run
 * does by itself. */
void               temper_dataset_page_set_check_file (TemperDatasetPage *self,
                                                       const char        *path);
/* The check file once it has been read, or NULL. */
const char        *temper_dataset_page_get_check_path (TemperDatasetPage *self);
/* The run's seed and validation share (< 0: automatic), which say which
 * records it holds back: the leakage findings follow them. */
void               temper_dataset_page_set_split      (TemperDatasetPage *self,
                                                       guint64            seed,
                                                       double             fraction);
/* The run's longest example in tokens (the Settings page's max length):
 * where the length histogram marks the cut, and how many examples the
 * "Length in tokens" line counts as cut short. */
void               temper_dataset_page_set_max_length (TemperDatasetPage *self,
                                                       int                max_length);

G_END_DECLS
