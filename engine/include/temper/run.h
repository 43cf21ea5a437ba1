/* SPDX-License-Identifier: MIT */
/* run.h — a training run's folder, shared by the GUI and the CLI.
 *
 *   RUN/settings.json        the settings, the model path, the dataset paths
 *   RUN/dataset/             a copy of the dataset file(s) as they were at the start
 *   RUN/metrics.jsonl        one JSON object per line: a training step or an evaluation
 *   RUN/checkpoints/step-N/  adapter (PEFT) + optimizer.bin + state.json
 *   RUN/adapter/             the final adapter, PEFT format
 *   RUN/.temper-lock         held by the one process writing to the run (temper_run_lock)
 *
 * Every file and checkpoint is written under a temporary name, flushed to
 * disk and renamed into place (temper/fs.h), so a crash, a power cut or a
 * cancel at any moment leaves the previous version intact.  A run is made
 * only in a new or empty folder, and removes only files it wrote itself. */
#pragma once

#include <gio/gio.h>

#include "temper/train.h"

G_BEGIN_DECLS


/* $XDG_DATA_HOME/temper/runs/@name (a new string). */
char         *temper_run_default_dir (const char *name);

/* The folder that holds the runs: $XDG_DATA_HOME/temper/runs (a new string). */
char         *temper_runs_default_root (void);

/* The readable name of the model at @model_path, as the model lists show it
 * (temper/discovery.h: the GGUF's own general.name unless the converter only
 * made it up from a folder name, else the file's name without the
 * quantization; for a Hugging Face folder its name), without an
 * organisation: "SmolLM2-135M-Instruct".  Reads headers only. */
char         *temper_run_dup_model_name (const char *model_path);

/* The folder name of a new run: when it starts, which model it teaches and
 * on what, "2026-12-06-215900-SmolLM2-135M-Instruct-recipes": sorts by
 * time, and only letters, digits, "-", "_" and "." (each run of anything
 * else becomes one "-").  @model_name as temper_run_dup_model_name() gives
 * it; @data_path may be NULL. */
char         *temper_run_make_name (GDateTime  *when,
                                    const char *model_name,
                                    const char *data_path);

/* @root/@name, or @root/@name-2, -3, … when that is taken (nothing is
 * created).  @root NULL: temper_runs_default_root(). */
char         *temper_run_find_free_dir (const char *root, const char *name);

/* Makes a new run in @dir (created if needed; refused if it already holds a
 * run or anything else, so that nothing is overwritten; "" is refused).  @data_path is copied into
 * RUN/dataset/; @val_path too when non-NULL. */
temper_run_t *temper_run_create (const char                *dir,
                                 const TemperTrainSettings *settings,
                                 const char                *model_path,
                                 const char                *data_path,
                                 const char                *val_path,
                                 GError                   **error);
/* Opens an existing run (settings.json must be readable). */
temper_run_t *temper_run_open   (const char *dir, GError **error);
void          temper_run_free   (temper_run_t *run);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (temper_run_t, temper_run_free)

/* What a process that locks a run does to it: said to the others. */
typedef enum {
  TEMPER_RUN_USE_TRAINING,
  TEMPER_RUN_USE_EXPORTING,
  TEMPER_RUN_USE_EVALUATING,
} TemperRunUse;

/* Makes this process the only one that writes to @run until @run is freed
 * (RUN/.temper-lock).  Training, resuming, exporting into the run and
 * evaluating it take it; temper_run_create() takes it for training.  Fails
 * with TEMPER_ERROR_IN_USE and a message saying which program and process
 * holds it ("This run is being trained by temper-cli (process 1234) …").  A
 * lock whose process has exited or was killed is taken over.  Does nothing
 * when @run already holds it. */
gboolean      temper_run_lock   (temper_run_t *run, TemperRunUse use, GError **error);

/* Who holds the lock on the run in @dir, as "temper-cli (process 1234)", or
 * NULL when nobody does. */
char         *temper_run_dup_lock_holder (const char *dir);

/* Whether @path is @run's folder or lies inside it (compared as absolute,
 * canonical names; @path need not exist yet). */
gboolean      temper_run_contains (const temper_run_t *run, const char *path);

const char                *temper_run_get_dir        (const temper_run_t *run);
const TemperTrainSettings *temper_run_get_settings   (const temper_run_t *run);
const char                *temper_run_get_model_path (const temper_run_t *run);
/* Loads the run's model and holds its base weights as the run's settings
 * say (NF4 when base_weights is TEMPER_BASE_WEIGHTS_NF4), so that resuming,
 * evaluating and answering see the base the run trained on. */
temper_model_t            *temper_run_load_model     (const temper_run_t *run,
                                                      GCancellable       *cancellable,
                                                      GError            **error);
/* The snapshot inside the run folder. */
const char                *temper_run_get_data_path  (const temper_run_t *run);
const char                *temper_run_get_val_path   (const temper_run_t *run); /* or NULL */
/* RUN/adapter. */
char                      *temper_run_dup_adapter_dir (const temper_run_t *run);

/* What a run's folder says about it, for a list of runs. */
typedef enum {
  TEMPER_RUN_STATE_NOT_STARTED,   /* no training step done yet */
  TEMPER_RUN_STATE_STOPPED,       /* stopped part-way: it can go on */
  TEMPER_RUN_STATE_FINISHED,      /* RUN/adapter is there */
  TEMPER_RUN_STATE_UNREADABLE,    /* settings.json cannot be read: see problem */
} TemperRunState;

typedef struct {
  char          *dir;
  char          *name;            /* the folder's name */
  TemperRunState state;
  char          *model_path;      /* NULL when unreadable */
  char          *model_name;      /* temper_run_dup_model_name() of it */
  char          *dataset_name;    /* the training data's file name, or NULL */
  gint64         last_step;       /* 0 before the first step */
  double         last_loss;       /* NaN before the first step */
  double         last_val_loss;   /* NaN before the first evaluation */
  gint64         created;         /* Unix time settings.json was written, 0 if unknown */
  char          *lock_holder;     /* "temper-cli (process 1234)" or NULL */
  char          *problem;         /* why it cannot be read, or NULL */
} TemperRunSummary;

/* Reads @dir's settings and metrics; never NULL (an unreadable run is
 * TEMPER_RUN_STATE_UNREADABLE, with the reason). */
TemperRunSummary *temper_run_summarize     (const char *dir);
void              temper_run_summary_free  (TemperRunSummary *summary);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TemperRunSummary, temper_run_summary_free)
/* "not-started", "stopped", "finished", "unreadable": for files and JSON. */
const char       *temper_run_state_to_string (TemperRunState state);

/* Every run in @root (NULL: temper_runs_default_root()), that is every
 * folder holding a settings.json, as TemperRunSummary elements that the
 * array frees, newest first (by folder name, which starts with the date).
 * A root that does not exist holds no runs; one that cannot be read is an
 * error.  NULL when cancelled. */
GPtrArray        *temper_runs_list (const char   *root,
                                    GCancellable *cancellable,
                                    GError      **error);

/* One line of metrics.jsonl.  Values that do not apply are NaN (val_loss on
 * a step without evaluation) and are written as null. */
typedef struct {
  gint64  step;           /* optimizer steps done */
  double  epoch;          /* fractional: 1.5 = half-way through the second */
  double  loss;           /* mean training loss of this step */
  double  val_loss;
  double  lr;
  double  grad_norm;      /* before clipping */
  double  tokens_per_s;
  double  elapsed_s;
  guint64 memory_bytes;   /* peak resident memory so far */
} TemperRunMetrics;

gboolean temper_run_append_metrics (temper_run_t *run, const TemperRunMetrics *m,
                                    GError **error);
/* Every line of RUN/metrics.jsonl, as a GArray of TemperRunMetrics. */
GArray  *temper_run_read_metrics   (const temper_run_t *run, GError **error);

/* Where the trainer stands: enough to continue exactly. */
typedef struct {
  gint64  step;                /* optimizer steps done */
  int     epoch;               /* 0-based epoch in progress */
  gint64  position;            /* micro-batches of this epoch already used */
  guint64 rng[4];              /* dropout random state */
  double  best_val_loss;       /* +inf before the first evaluation */
  int     evals_without_improvement;
  gint64  tokens_seen;
  double  elapsed_s;
} TemperTrainState;

/* Writes RUN/checkpoints/step-N/ (N = state->step) atomically: the adapter,
 * the AdamW moments @m and @v (temper_lora_count_params() floats each, in
 * temper_lora_gather() order) and @state.  Older checkpoints beyond the
 * newest two are removed. */
gboolean temper_run_save_checkpoint (temper_run_t *run, temper_adapter_t *adapter,
                                     const TemperModelConfig *model_config,
                                     const float *m, const float *v,
                                     const TemperTrainState *state, GError **error);
/* Writes the final adapter to RUN/adapter/ (PEFT), replacing the one there:
 * written whole under a hidden name, flushed, then renamed into place. */
gboolean temper_run_save_adapter    (temper_run_t *run, temper_adapter_t *adapter,
                                     const TemperModelConfig *model_config,
                                     const char *base_model_name, GError **error);
/* The newest complete checkpoint's folder, or NULL when there is none. */
char    *temper_run_find_latest_checkpoint (const temper_run_t *run);
/* Reads a checkpoint folder written by temper_run_save_checkpoint() for a
 * model of @model_config.  *m and *v are new arrays of
 * temper_lora_count_params() floats. */
gboolean temper_run_load_checkpoint (const char *checkpoint_dir,
                                     const TemperModelConfig *model_config,
                                     temper_adapter_t **adapter, float **m, float **v,
                                     TemperTrainState *state, GError **error);
/* Drops metrics lines after @step (a resumed run repeats them). */
gboolean temper_run_truncate_metrics (temper_run_t *run, gint64 step, GError **error);

G_END_DECLS
