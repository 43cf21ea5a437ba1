/* SPDX-License-Identifier: MIT */
/* train-estimate.h — how long a training run will take, before it starts.
 *
 * The work of a step is counted per kind of op (TemperOpKind) from the
 * model's shape and the settings alone: FLOPs for the kinds that multiply
 * matrices, elements for the element-wise ops, adapter parameters for the
 * optimizer.  This machine's rate for each kind (work per second) is
 * measured once by a short profiled run of the model on the CPU and kept
 * in the user's cache folder, for this processor, thread count, weight
 * type and Temper version.  The estimate is the sum over kinds of work ÷
 * rate, plus the pool waits and the host's own work between ops as the
 * shares of the op time they took in the measurement.  The GUI's Settings
 * page, `temper-cli train` and `temper-cli bench train` all use it. */
#pragma once

#include <glib.h>

#include "temper/model.h"
#include "temper/op-profile.h"
#include "temper/train.h"

G_BEGIN_DECLS

/* The work of one micro-batch (or, for the optimizer, one optimizer step)
 * by kind.  Units: FLOPs (multiply-adds × 2) for frozen, LoRA, attention
 * and lm_head + cross-entropy; elements (tokens × layers × (hidden +
 * feed-forward), a third more with recompute) for the element-wise ops;
 * adapter parameters for the optimizer.  Pool waits have none of their own
 * (they are a share of the rest). */
typedef struct {
  double amount[TEMPER_OP_KIND_COUNT];
} TemperStepWork;

/* The work of a micro-batch of @n_seq sequences of @n_tokens tokens each
 * for @lora (rank and targets) on a model of @config, recomputing
 * activations if @recompute. */
void     temper_train_step_work (const TemperModelConfig *config,
                                 const TemperLoraConfig  *lora,
                                 int                      n_seq,
                                 double                   n_tokens,
                                 gboolean                 recompute,
                                 TemperStepWork          *work);

/* This machine's rates, in units of TemperStepWork per second. */
typedef struct {
  double per_second[TEMPER_OP_KIND_COUNT];  /* 0 for POOL_WAIT */
  double wait_share;      /* pool waits ÷ the time inside ops */
  double outside_share;   /* the host's time between ops ÷ the time inside ops */
  double gemm_gflops;     /* the fp32 GEMM rate measured with them (for reports) */
} TemperOpRates;

/* Rates from @profile of @n_steps steps of @work each and @wall_seconds in
 * all.  FALSE when a kind that has work took no time (nothing to divide). */
gboolean temper_op_rates_from_profile (const TemperOpProfile *profile,
                                       const TemperStepWork  *work,
                                       int                    n_steps,
                                       double                 wall_seconds,
                                       TemperOpRates         *rates);

typedef struct {
  double seconds[TEMPER_OP_KIND_COUNT];  /* per optimizer step, by kind */
  double outside_seconds;                /* per optimizer step */
  double seconds_per_step;               /* per optimizer step, everything */
  double total_seconds;                  /* seconds_per_step × the steps */
} TemperTimeEstimate;

/* The time of @n_steps optimizer steps of @settings (micro-batch,
 * accumulation, rank, targets, recompute) on a model of @config whose
 * records hold @tokens_per_record tokens (at most settings->max_length),
 * at @rates. */
void     temper_train_estimate_time (const TemperModelConfig   *config,
                                     const TemperTrainSettings *settings,
                                     double                     tokens_per_record,
                                     gint64                     n_steps,
                                     const TemperOpRates       *rates,
                                     TemperTimeEstimate        *estimate);

/* Optimizer steps of a run of @settings over @n_train training records
 * and its replay_records: max_steps when set, else the epochs' worth of
 * micro-batch × accumulation batches (the last one of an epoch may be
 * short), as the run counts them. */
gint64   temper_train_count_steps (const TemperTrainSettings *settings,
                                   guint64                    n_train);

/* The rates kept for @model's weight type with @n_threads CPU threads (0:
 * one per core) on this processor, in training's fp32 products (@exact) or
 * its bfloat16 ones, from the cache; FALSE if none. */
gboolean temper_op_rates_lookup (const temper_model_t *model,
                                 int                   n_threads,
                                 gboolean              exact,
                                 TemperOpRates        *rates);

/* Measures them: one warm-up and two profiled steps of two sequences of 128
 * tokens, rank 16 on every linear layer, on the CPU with @n_threads
 * threads (a few seconds for a small model, about a minute for 1.5B
 * parameters on a laptop), and keeps them in the cache.  Cancelled through
 * nothing: run it off the GUI's thread. */
gboolean temper_op_rates_measure (const temper_model_t *model,
                                  int                   n_threads,
                                  gboolean              exact,
                                  TemperOpRates        *rates,
                                  GError              **error);

G_END_DECLS
