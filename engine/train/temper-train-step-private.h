/* temper-train-step-private.h — the training step's state, shared by
 * temper-train-step.c (set-up, the step around the layers, the optimizer)
 * and temper-train-layer.c (one layer's forward and backward). */
#pragma once

#include "nn/temper-backend.h"
#include "nn/temper-block.h"
#include "nn/temper-moe.h"
#include "temper/adapter.h"
#include "temper/model.h"

G_BEGIN_DECLS

typedef struct {
  TemperBTensor w[TEMPER_LORA_N_TARGETS];  /* frozen weights as stored */
  TemperBTensor attn_norm, ffn_norm;       /* F32 copies */
  TemperBTensor bq, bk, bv;                /* F32 copies, buffer NULL when absent */
  TemperBTensor q_norm, k_norm, attn_post_norm, ffn_post_norm;  /* the same */
  TemperBTensor a[TEMPER_LORA_N_TARGETS], b[TEMPER_LORA_N_TARGETS];    /* params */
  TemperBTensor ga[TEMPER_LORA_N_TARGETS], gb[TEMPER_LORA_N_TARGETS];  /* grads */
  TemperMoeLayer moe;                      /* experts in place of gate, up and down */
} StepLayer;

/* What one layer's backward needs from its forward. */
typedef struct {
  TemperBTensor xn1, rstd1, q, k, v, att, lse, x2, xn2, rstd2, gate, up, act;
  TemperBTensor h[TEMPER_LORA_N_TARGETS];
  /* Family extras (ne[0] == 0 when unused): q and k before their norms,
   * and the attention and feed-forward outputs before theirs. */
  TemperBTensor q_raw, k_raw, rstd_q, rstd_k, o_raw, rstd_o, f_raw, rstd_f;
} LayerActs;

struct _TemperTrainStep {
  temper_model_t          *model;
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
  StepLayer               *layers;
  TemperBTensor           *x_in;      /* n_layer + 1: layer inputs, then the last output */
  LayerActs               *la;        /* n_layer, or 1 with recompute */
  TemperBTensor            tokens, targets, xf, rstdf, ce_scratch, drop;
  TemperBTensor            d_resid, dxf, d_xn, d_q, d_k, d_v, d_att, d_gate, d_up, d_act, d_h;
  TemperBTensor            d_kraw;    /* k's gradient before its norm (q/k norms only) */
  TemperBlockRope          rope;
  TemperBTensor            params, grads, m, v;
  TemperBTensor            loss, sumsq;
  guint64                 *drop_keys; /* n_layer × targets, drawn per call */
  float                   *host_flat; /* n_params, for uploads and downloads */
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

/* One layer's forward (keeping what the backward needs in @a), and its
 * backward: on entry d_resid holds ∂L/∂(layer output), on exit ∂L/∂(layer
 * input). */
void temper_train_layer_forward  (TemperTrainStep *s, int l, LayerActs *a, int n_seq, gboolean train);
void temper_train_layer_backward (TemperTrainStep *s, int l, LayerActs *a, int n_seq);

G_END_DECLS
