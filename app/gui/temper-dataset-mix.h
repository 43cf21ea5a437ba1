/* SPDX-License-Identifier: MIT */
/* temper-dataset-mix.h — the Dataset page's "Mix In More Data" group:
 * other datasets trained in the same run, each with a share of the
 * training records.  The mix is written as a new JSONL file in the cache
 * (the person's files are never touched); the run then copies it. */
#pragma once

#include <adwaita.h>

#include "temper/dataset.h"
#include "temper-loaded-model.h"

G_BEGIN_DECLS

/* Which records of a larger dataset make up its share only needs to be the
 * same each time. */
#define TEMPER_DATASET_MIX_SEED 42

/* A dataset the mix has read, shared read-only with worker threads that
 * look at the records the mix is written from (the Dataset page's
 * leakage), so that they use those very records without reading the file
 * again; freed with its last reference. */
typedef struct _TemperMixRead TemperMixRead;

TemperMixRead          *temper_mix_read_ref         (TemperMixRead *read);
void                    temper_mix_read_unref       (gpointer read);
const temper_dataset_t *temper_mix_read_get_dataset (TemperMixRead *read);

#define TEMPER_TYPE_DATASET_MIX (temper_dataset_mix_get_type ())
G_DECLARE_FINAL_TYPE (TemperDatasetMix, temper_dataset_mix, TEMPER, DATASET_MIX, AdwPreferencesGroup)

/* Names the page's own dataset in the first row. */
void        temper_dataset_mix_set_main_name (TemperDatasetMix *self, const char *name);
/* Reads @path on a worker thread and adds it with a share equal to the
 * main dataset's; ::changed is emitted once it is read (or refused, which
 * the row says). */
void        temper_dataset_mix_add           (TemperDatasetMix *self, const char *path);
/* Sets the share of row @i (0: the page's own dataset) in percent. */
void        temper_dataset_mix_set_share     (TemperDatasetMix *self, guint i, double share);
/* The model whose chat template counts the other datasets' tokens; they
 * are read again when it changes. */
void        temper_dataset_mix_set_model     (TemperDatasetMix *self, TemperLoadedModel *model);

/* What the run trains on when the mix is used, counted from the records
 * temper_dataset_mix_get_path() writes: how many, and their lengths in
 * tokens before the length limit (when every dataset has token counts),
 * as the engine's dataset report counts them (temper_dataset_length_stats()). */
typedef struct {
  guint                    n_records;
  gboolean                 has_tokens;
  TemperDatasetLengthStats tokens;   /* all zero without token counts */
} TemperDatasetMixSize;

/* @size of what the run trains on from @main (whose records marked in
 * @drop, which may be NULL, are left out): the mix when something is mixed
 * in, else @main's records not dropped; tokens.n_cut counts those longer
 * than @max_length.  @lengths (may be NULL) gets a new array of each of
 * those records' tokens (guint; empty without token counts): what the
 * length histogram draws. */
void        temper_dataset_mix_measure       (TemperDatasetMix *self, const temper_dataset_t *main,
                                              const gboolean *drop, int max_length,
                                              TemperDatasetMixSize *size, GArray **lengths);
/* The other datasets as read (a reference to each appended to @reads,
 * whose free function should be temper_mix_read_unref()) and every share,
 * the page's own dataset's first (doubles appended to @shares), as the mix
 * uses them: a worker thread can look at them on its own. */
void        temper_dataset_mix_get_sources   (TemperDatasetMix *self, GPtrArray *reads, GArray *shares);
gboolean    temper_dataset_mix_is_busy       (TemperDatasetMix *self);
/* Whether any other dataset has been read and is part of the mix. */
gboolean    temper_dataset_mix_has_sources   (TemperDatasetMix *self);
/* The mixed file for @main (@clean_path, when not NULL, is the cleaned copy
 * to use instead): written on the first call after a change, the same
 * path afterwards.  NULL with @error when it cannot be written. */
const char *temper_dataset_mix_get_path      (TemperDatasetMix *self, const temper_dataset_t *main,
                                              const char *clean_path, GError **error);

G_END_DECLS
