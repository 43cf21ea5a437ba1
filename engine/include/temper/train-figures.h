/* SPDX-License-Identifier: MIT */
/* train-figures.h — figures about a training run that the app, the CLI and
 * the benchmarks all need, computed in one place: the work a trained token
 * costs, the adapter's size, and whether two runs' settings are the same. */
#pragma once

#include <glib.h>

#include "temper/model.h"
#include "temper/train.h"

G_BEGIN_DECLS

/* Trainable parameters of a LoRA adapter of @lora for a model of @config,
 * without making the adapter (equals temper_lora_count_params() of it). */
guint64  temper_lora_config_count_params (const TemperModelConfig *config,
                                          const TemperLoraConfig  *lora);

/* Model FLOPs per trained token, the one formula of the time estimates,
 * the learned device speeds and the benchmark's MFU:
 *   4 × frozen matmul parameters (forward and input gradient)
 * + 6 × adapter parameters (forward, input and weight gradients)
 * + causal attention, 6 × layers × n_head·head_dim × @n_tokens
 *   (12 for full attention, halved by the causal mask),
 * and, with @recompute (activations recomputed in the backward pass), one
 * more forward of all three: 2 × frozen + 2 × adapter + 2 × layers ×
 * n_head·head_dim × @n_tokens.  @n_tokens is the sequence length. */
double   temper_train_flops_per_token (const TemperModelConfig *config,
                                       guint64                  adapter_params,
                                       double                   n_tokens,
                                       gboolean                 recompute);

/* Whether @a and @b are the same settings: every field settings.json holds
 * is equal (so that a run can be resumed with them, or a preset is
 * recognised). */
gboolean temper_train_settings_equal (const TemperTrainSettings *a,
                                      const TemperTrainSettings *b);

G_END_DECLS
