/* SPDX-License-Identifier: MIT */
/* temper-train-fit.h — fitting a training job into its device's memory
 * (private to the engine).
 *
 * The training loop asks for micro-batches of the settings' size.  When
 * such a micro-batch does not fit on the device — refused up front by the
 * memory estimate, refused by the allocator, or failing with "out of memory"
 * in the middle of a step — the micro-batch is run as several device passes
 * of fewer sequences, one after another, their gradients adding up in the
 * same buffers.  Every loss is scaled by the whole optimizer step's target
 * count, so the sum is the gradient of the one big pass: the effective batch
 * and the results stay what the settings ask for (gradient accumulation, at
 * a finer grain).  Each reduction is written to RUN/train.log.
 *
 * This works the same on every backend; the CPU backend exercises it in the
 * tests through TEMPER_MEMORY_LIMIT and temper_train_fit_simulate_device(). */
#pragma once

#include "temper-backend.h"
#include "temper/run.h"
#include "temper-train-step.h"

G_BEGIN_DECLS

typedef struct {
  /* Set by the caller; borrowed. */
  const temper_model_t   *model;
  TemperBackend          *backend;
  const TemperDeviceInfo *device;       /* may be NULL: no estimate up front */
  temper_adapter_t       *adapter;
  float                   dropout;
  int                     micro_batch;  /* sequences per micro-batch (settings) */
  int                     seq_len;
  gboolean                recompute;
  temper_run_t           *run;          /* where train.log goes; may be NULL */
  const char             *device_name;  /* for the log: "vulkan (Radeon RX 7600)" */

  /* Set by temper_train_fit_open() and _shrink(). */
  TemperTrainStep        *step;
  int                     pass_rows;    /* sequences per device pass, ≤ micro_batch */
} TemperTrainFit;

/* Creates fit->step for passes of the whole micro-batch, or, while that
 * fails for lack of memory, of half as many sequences, down to one.  Fails
 * with the last out-of-memory error (which says how much is needed) when
 * not even one sequence fits, or with any other error at once. */
gboolean temper_train_fit_open   (TemperTrainFit *fit, GError **error);

/* After @cause (an out-of-memory error from a step): brings the adapter and
 * the AdamW moments back to the host, frees the step and makes one with
 * half as many sequences per pass, carrying them over.  The gradients of the
 * failed step are dropped: run the step again.  Fails, with @cause, when the
 * passes are already one sequence each. */
gboolean temper_train_fit_shrink (TemperTrainFit *fit, const GError *cause, GError **error);

/* temper_train_step_run() over @n_seq ≤ micro_batch sequences, in passes of
 * at most fit->pass_rows; the losses and target counts are summed. */
gboolean temper_train_fit_run    (TemperTrainFit *fit, const gint32 *tokens,
                                  const gint32 *targets, int n_seq, int seq_len,
                                  gboolean backward, float grad_scale, TemperRng *rng,
                                  double *loss_sum, double *n_targets, GError **error);

void     temper_train_fit_close  (TemperTrainFit *fit);

/* Appends one line, stamped with the UTC time, to RUN/train.log (best
 * effort: a log that cannot be written does not stop training). */
void     temper_train_log        (temper_run_t *run, const char *format, ...) G_GNUC_PRINTF (2, 3);

/* For tests: from now on, device passes of more than @max_rows sequences
 * fail as out of memory (0: no such limit), and every pass after the first
 * @passes_before_lost passes fails as if the device were lost (0: never).
 * The counting starts at this call.  Never called outside the tests. */
void     temper_train_fit_simulate_device (int max_rows, gint64 passes_before_lost);

G_END_DECLS
