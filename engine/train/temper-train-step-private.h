/* SPDX-License-Identifier: MIT */
/* temper-train-step-private.h — the training step's state, shared by
 * temper-train-step.c (set-up, the step around the layers) and
 * temper-train-layer.c (the layers: the block of nn/temper-block.h with its
 * activations kept, the optimizer). */
#pragma once

#include "temper-backend.h"
#include "temper-block.h"
#include "temper/adapter.h"
#include "temper/model.h"

G_BEGIN_DECLS


struct _TemperTrainStep {
  const temper_model_t    *model;
  const TemperModelConfig *c;
  TemperBackend           *backend;
  temper_adapter_t        *adapter;
  int                      rank;
  float                    scale, dropout;
  int                      B, T;
  int                      t_cur;     /* tokens per sequence in this call, ≤ T */
  int                      first_seq; /* this call's first sequence within its micro-batch */
  gboolean                 recompute;
  guint64                  n_params, memory;
  guint64                  weight_bytes;  /* frozen weights, as the memory estimate counts them */

  GPtrArray               *weight_buffers;
  TemperBuffer            *small, *acts, *params_buf, *host_buf;

  TemperBTensor            token_embd, output, output_norm;
  TemperBlockWeights      *layers;    /* LoRA matrices and their gradients in params_buf */
  TemperBTensor           *x_in;      /* n_layer + 1: layer inputs, then the last output */
  /* n_layer, or 1 with recompute: what a layer's backward needs from its
   * forward (the layer's input and output are x_in's; family extras have
   * ne[0] == 0 when unused). */
  TemperBlockActs         *la;
  /* n_layer × targets: LoRA's hidden values of each layer, kept even with
   * recompute (r floats a token per target, against E for the layer's
   * input), so the recompute pass does not form them again. */
  TemperBTensor           *la_h;
  TemperBTensor            tokens, targets, xf, rstdf, ce_scratch, drop;
  TemperBTensor            dxf;
  TemperBlockGrads         g;         /* d_kraw only with q/k norms */
  TemperBlockRope          rope;
  TemperBTensor            params, grads, m, v;
  TemperBTensor            loss, sumsq;
  guint64                 *drop_keys; /* n_layer × targets, drawn per call */
  float                   *host_flat; /* n_params in the step's order, for uploads and downloads */
  gboolean                 stack_lora; /* TemperBlockPass's */
  /* A GPU needs no copy of an embedding table that is only looked up (the
   * lm_head is another tensor, and LoRA never trains the embeddings): its
   * rows are read from host memory into here and uploaded as the first
   * layer's input.  NULL where the table is on the device. */
  float                   *x0_host;   /* B·T × n_embd */
};

/* Rows [0, n) of a full-batch tensor. */
static inline TemperBTensor
rows (const TemperBTensor *t, int64_t n)
{
  return temper_btensor_rows (t, 0, n);
}

/* One layer's forward (keeping what the backward needs), and its backward:
 * on entry g.d_resid holds ∂L/∂(layer output), on exit ∂L/∂(layer input). */
void temper_train_layer_forward  (TemperTrainStep *s, int l, int n_seq, gboolean train);
/* The forward again before the backward of layer @l (recompute mode), less
 * what only its output needs. */
void temper_train_layer_recompute (TemperTrainStep *s, int l, int n_seq);
void temper_train_layer_backward (TemperTrainStep *s, int l, int n_seq);

G_END_DECLS
