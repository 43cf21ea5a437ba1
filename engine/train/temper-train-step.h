/* SPDX-License-Identifier: MIT */
/* temper-train-step.h — one LoRA training step on a backend (private).
 *
 * Explicit per-layer forward and backward, llm.c style: every activation the
 * backward needs is carved out of one buffer sized up front for
 * micro_batch × seq_len tokens, and nothing is allocated while stepping.
 * Gradients are formed only for the LoRA A/B matrices (and the activations
 * that lead to them); the lm_head and cross-entropy are fused and chunked so
 * the full vocabulary × tokens logits never exist.  With @recompute only each
 * layer's input is kept and the rest is recomputed layer by layer in the
 * backward pass. */
#pragma once

#include "temper-backend.h"
#include "temper/adapter.h"
#include "temper/device-info.h"
#include "temper/model.h"
#include "temper/train.h"
#include "temper-train-rng.h"

G_BEGIN_DECLS

typedef struct _TemperTrainStep TemperTrainStep;

/* @backend and @adapter are borrowed and must outlive the step.  The
 * adapter's values are uploaded here; temper_train_step_download_adapter()
 * brings trained values back. */
TemperTrainStep *temper_train_step_new (const temper_model_t *model, TemperBackend *backend,
                                        temper_adapter_t *adapter, float dropout,
                                        int micro_batch, int seq_len, gboolean recompute,
                                        GError **error);
/* The same on the GPU @device describes (may be NULL): refuses, before
 * copying anything, a job whose weights and buffers do not fit in its free
 * memory. */
TemperTrainStep *temper_train_step_new_on (const temper_model_t *model, TemperBackend *backend,
                                           const TemperDeviceInfo *device,
                                           temper_adapter_t *adapter, float dropout,
                                           int micro_batch, int seq_len, gboolean recompute,
                                           GError **error);
void             temper_train_step_free (TemperTrainStep *step);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TemperTrainStep, temper_train_step_free)

/* Whether LoRA's products keep h transposed and stack the A matrices of
 * targets reading one input (TemperBlockPass's stack_lora; on by default on
 * the CPU): for tests comparing both ways. */
void     temper_train_step_set_stack_lora (TemperTrainStep *step, gboolean stack);

guint64  temper_train_step_get_n_params (TemperTrainStep *step);
/* Bytes of backend memory the step holds besides the model's weights. */
guint64  temper_train_step_get_memory   (TemperTrainStep *step);
/* The bytes the memory check up front asks the device for: the frozen
 * weights plus temper_train_step_get_memory(). */
guint64  temper_train_step_get_estimate (TemperTrainStep *step);

/* Forward (and with @backward, backward) of @n_seq ≤ micro_batch sequences
 * of @seq_len ≤ the step's seq_len tokens each, one after another.  targets[i] is the token that row i should
 * predict, or −1 where no loss counts.  Gradients are ADDED to the LoRA
 * gradients, scaled by @grad_scale (1 / number of targets in the whole
 * optimizer step gives the mean loss's gradient).  *loss_sum and *n_targets
 * receive the sum of −log p and the number of targets of this call.  @rng
 * draws the dropout masks (may be NULL when dropout is 0 or without
 * @backward: evaluation runs without dropout). */
gboolean temper_train_step_run (TemperTrainStep *step, const gint32 *tokens,
                                const gint32 *targets, int n_seq, int seq_len,
                                gboolean backward,
                                float grad_scale, TemperRng *rng,
                                double *loss_sum, double *n_targets, GError **error);

/* The same for sequences @first_seq … @first_seq + @n_seq − 1 of a
 * micro-batch run in several parts (a device too small for it whole):
 * the dropout keys are drawn by the part with @first_seq 0 and reused by
 * the others, each element keeping its place in the whole micro-batch's
 * masks, so the parts' gradients add up to the whole's exactly.  The parts
 * share @seq_len. */
gboolean temper_train_step_run_part (TemperTrainStep *step, const gint32 *tokens,
                                     const gint32 *targets, int first_seq, int n_seq,
                                     int seq_len, gboolean backward, float grad_scale,
                                     TemperRng *rng, double *loss_sum, double *n_targets,
                                     GError **error);

/* ‖g‖ of the accumulated gradients (before clipping). */
gboolean temper_train_step_grad_norm (TemperTrainStep *step, double *norm, GError **error);
/* One AdamW update from the accumulated gradients, then zeroes them.  With
 * params->max_grad_norm > 0 they are clipped against the norm that
 * temper_train_step_grad_norm() measured, so call that first. */
gboolean temper_train_step_optimize  (TemperTrainStep *step, const TemperAdamWParams *params,
                                      GError **error);
gboolean temper_train_step_zero_grad (TemperTrainStep *step, GError **error);

/* Host copies, temper_lora_gather() order. */
gboolean temper_train_step_download_adapter (TemperTrainStep *step, GError **error);
gboolean temper_train_step_upload_adapter   (TemperTrainStep *step, GError **error);
gboolean temper_train_step_get_grads        (TemperTrainStep *step, float *out, GError **error);
gboolean temper_train_step_get_moments      (TemperTrainStep *step, float *m, float *v,
                                             GError **error);
gboolean temper_train_step_set_moments      (TemperTrainStep *step, const float *m,
                                             const float *v, GError **error);

G_END_DECLS
