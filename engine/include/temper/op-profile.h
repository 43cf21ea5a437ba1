/* SPDX-License-Identifier: MIT */
/* op-profile.h — where a training step or a generation spends its time, by
 * kind of op, as `temper-cli bench train --profile` prints it.
 *
 * The CPU backend fills it (temper_cpu_backend_set_profile()): each op call
 * is timed on the calling thread, and the time that thread then spends
 * waiting for the pool's other threads is counted as pool waits rather than
 * as the op's, so the kinds add up to the time spent inside ops. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  TEMPER_OP_KIND_FROZEN_FORWARD,      /* matmul: y = x·Wᵀ on the frozen weights */
  TEMPER_OP_KIND_FROZEN_INPUT_GRAD,   /* matmul_backward_input: dx += dy·W */
  TEMPER_OP_KIND_LORA,                /* gemm: the adapters' products and their gradients */
  TEMPER_OP_KIND_ATTENTION_FORWARD,
  TEMPER_OP_KIND_ATTENTION_BACKWARD,
  TEMPER_OP_KIND_ELEMENTWISE,         /* norms, RoPE, SwiGLU/GeGLU, adds, embedding, dropout… */
  TEMPER_OP_KIND_CROSS_ENTROPY,       /* the fused lm_head and cross-entropy */
  TEMPER_OP_KIND_OPTIMIZER,           /* AdamW and the gradient norm */
  TEMPER_OP_KIND_POOL_WAIT,           /* the calling thread waiting for the others */
  TEMPER_OP_KIND_COUNT
} TemperOpKind;

typedef struct {
  double  seconds[TEMPER_OP_KIND_COUNT];
  /* Model FLOPs (multiply-adds × 2) of the kinds that multiply matrices:
   * frozen, LoRA, attention (causal pairs only), lm_head; 0 for the others. */
  double  flops[TEMPER_OP_KIND_COUNT];
  guint64 calls[TEMPER_OP_KIND_COUNT];
  /* The pool waits (already in seconds[TEMPER_OP_KIND_POOL_WAIT]) by the
   * kind of op they happened in: where the threads' shares are uneven. */
  double  waits[TEMPER_OP_KIND_COUNT];
} TemperOpProfile;

/* "frozen GEMM forward", "pool waits"… (English: bench output). */
const char *temper_op_kind_name (TemperOpKind kind);

/* The sum of all kinds' seconds. */
double      temper_op_profile_total (const TemperOpProfile *profile);

G_END_DECLS
