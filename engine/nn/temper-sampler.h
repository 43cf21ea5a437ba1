/* SPDX-License-Identifier: MIT */
/* temper-sampler.h — choosing the next token from logits. */
#pragma once

#include "temper/generate.h"

G_BEGIN_DECLS

typedef struct _TemperSampler TemperSampler;

TemperSampler *temper_sampler_new    (int n_vocab, const TemperSamplingParams *params);
void           temper_sampler_free   (TemperSampler *sampler);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TemperSampler, temper_sampler_free)

/* Picks a token from @logits (n_vocab floats, modified in place), penalising
 * those among the @n_recent ids in @recent. */
int            temper_sampler_sample (TemperSampler *sampler, float *logits,
                                      const gint32 *recent, int n_recent);

G_END_DECLS
