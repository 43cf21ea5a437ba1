/* SPDX-License-Identifier: MIT */
/* temper-moe.h — a mixture-of-experts feed-forward (Qwen3-MoE, Mixtral) in
 * the transformer block: its weights on a backend, and the one call each of
 * generation (temper-forward.c) and training (temper-train-layer.c) makes
 * at the MLP step in place of gate, up, activation and down. */
#pragma once

#include "temper-backend.h"
#include "temper/model.h"

G_BEGIN_DECLS

typedef struct {
  TemperMoe      op;
  TemperBTensor *experts;  /* 3 × n_expert: gate, up, down; NULL in a dense layer */
} TemperMoeLayer;

/* Places @layer's router and experts on @backend (buffers added to
 * @weight_buffers, which the caller frees); fails naming the tensor when
 * the backend cannot compute with its type.  A dense layer is left empty. */
gboolean temper_moe_layer_init  (TemperMoeLayer *moe, TemperBackend *backend, const temper_model_t *model,
                                 const TemperLayerWeights *layer, GPtrArray *weight_buffers, GError **error);
void     temper_moe_layer_clear (TemperMoeLayer *moe);

static inline gboolean
temper_moe_layer_active (const TemperMoeLayer *moe)
{
  return moe->experts != NULL;
}

/* Bytes of @layer's router and experts as stored. */
guint64  temper_moe_layer_bytes (const temper_model_t *model, const TemperLayerWeights *layer);

/* out = the layer's experts on x (the normed residual); and dx += its input
 * gradient given dout. */
void     temper_moe_forward  (TemperBackend *b, const TemperMoeLayer *moe, const TemperBTensor *out,
                              const TemperBTensor *x);
void     temper_moe_backward (TemperBackend *b, const TemperMoeLayer *moe, const TemperBTensor *dx,
                              const TemperBTensor *dout, const TemperBTensor *x);

G_END_DECLS
