/* temper-block.h — the parts of the transformer block that depend on the
 * family (TemperModelConfig's description), written once for generation
 * (temper-forward.c) and training (temper-train-step.c): which backend ops
 * a family needs, norm vectors as the block uses them, RoPE per layer,
 * attention settings per layer, and the gated activation. */
#pragma once

#include "temper-backend.h"
#include "temper/model.h"

G_BEGIN_DECLS

/* The RoPE of a model: a plain rotation by a base where the family needs
 * no more (any backend), else frequency tables for the global and the local
 * layers (TEMPER_OP_ROPE_TABLE). */
typedef struct {
  int       n_pairs;
  gboolean  global_table, local_table;
  float     theta_global, theta_local;
  float     mscale;
  float    *inv_freq_global, *inv_freq_local;   /* n_pairs each */
} TemperBlockRope;

void temper_block_rope_init  (TemperBlockRope *rope, const temper_model_t *model);
void temper_block_rope_clear (TemperBlockRope *rope);
/* Rotates @x {n_head·head_dim, T} of layer @layer (or back, for @backward). */
void temper_block_rope       (TemperBackend *b, const TemperBlockRope *rope, const TemperModelConfig *c,
                              int layer, const TemperBTensor *x, int n_head, int seq_len, int pos,
                              gboolean backward);

/* Checks that @backend has every op the family needs (@training: their
 * backwards too) for a context of @n_ctx tokens; fails naming the family and
 * what is missing. */
gboolean temper_block_check_backend (const temper_model_t *model, TemperBackend *backend,
                                     int n_ctx, gboolean training, GError **error);

/* A norm or bias vector as the block uses it, in F32: a norm's weights with
 * the family's offset added (Gemma's 1 + w). */
void temper_block_vector (const TemperModelConfig *c, const TemperTensorView *view, gboolean norm,
                          float *out);

/* The attention settings of layer @layer: scale, window, soft-capping. */
void temper_block_attention_params (const TemperModelConfig *c, int layer, TemperAttentionParams *p);

/* out = act(gate) ⊙ up, and its backward. */
void temper_block_mlp          (TemperBackend *b, const TemperModelConfig *c, const TemperBTensor *out,
                                const TemperBTensor *gate, const TemperBTensor *up);
void temper_block_mlp_backward (TemperBackend *b, const TemperModelConfig *c, const TemperBTensor *dgate,
                                const TemperBTensor *dup, const TemperBTensor *dout,
                                const TemperBTensor *gate, const TemperBTensor *up);

/* Rows of @x {head_dim·n_head, T} seen as {head_dim, n_head·T}, for the
 * per-head q/k norms. */
TemperBTensor temper_block_heads (const TemperBTensor *x, int head_dim);

G_END_DECLS
