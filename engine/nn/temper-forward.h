/* SPDX-License-Identifier: MIT */
/* temper-forward.h — the transformer forward pass on a backend, with a KV
 * cache and optional LoRA adapter applied on the fly.  Private to the engine:
 * the generator (temper/generate.h) is its public face. */
#pragma once

#include "temper-backend.h"
#include "temper/adapter.h"
#include "temper/model.h"

G_BEGIN_DECLS

typedef struct _TemperForward TemperForward;

/* Takes ownership of @backend.  Sizes every buffer for @n_ctx cached tokens
 * and @n_batch tokens per pass.  Fails when the backend cannot run one of
 * the model's weight types. */
TemperForward *temper_forward_new  (const temper_model_t *model, TemperBackend *backend,
                                    int n_ctx, int n_batch, GError **error);
void           temper_forward_free (TemperForward *fwd);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TemperForward, temper_forward_free)

TemperBackend *temper_forward_get_backend (TemperForward *fwd);
int            temper_forward_get_n_ctx   (TemperForward *fwd);

/* NULL removes it.  The adapter must outlive its use; changes to it (see
 * temper_adapter_changed()) are uploaded before the next pass. */
gboolean temper_forward_set_adapter (TemperForward *fwd, temper_adapter_t *adapter,
                                     GError **error);

/* Runs @n tokens at cache positions pos … pos+n−1 (overwriting what was
 * there) and writes the logits after the last one to @logits (n_vocab floats)
 * when non-NULL. */
gboolean temper_forward_eval (TemperForward *fwd, const gint32 *tokens, int n, int pos,
                              float *logits, GError **error);
/* The end (last position + 1) of the whole sequence the next evals are
 * parts of, for LongRoPE's choice of factors; 0 when each eval is whole. */
void     temper_forward_set_reach (TemperForward *fwd, int reach);

G_END_DECLS
