/* SPDX-License-Identifier: MIT */
/* temper-block.h — the transformer block, written once for generation
 * (temper-forward.c) and training (temper-train-step.c): one layer's forward
 * as a sequence of backend ops and the backward that mirrors it
 * (temper-block-layer.c), its weights on a backend, and the parts that
 * depend on the family (TemperModelConfig's description): which backend ops
 * a family needs, norm vectors as the block uses them, RoPE per layer,
 * attention settings per layer, and the gated activation. */
#pragma once

#include "temper-backend.h"
#include "temper-moe.h"
#include "temper/adapter.h"
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
  float    *inv_freq_long;   /* LongRoPE's global layers past long_after tokens, or NULL */
  int       long_after;
  int       reach;           /* where the caller's whole forward ends (last position + 1),
                              * when it runs it in parts; 0: each call is whole */
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

/* Lays tensors out one after another in a buffer not yet allocated,
 * 64-byte aligned: take() gives offsets, the buffer is bound later. */
typedef struct {
  size_t size;
} TemperBlockArena;

TemperBTensor temper_block_arena_take (TemperBlockArena *arena, int type, int64_t ne0, int64_t ne1);

/* A tensor with no memory: an absent bias, norm, LoRA matrix or saved
 * activation. */
TemperBTensor temper_block_null_tensor (void);

/* One layer's weights on a backend.  Absent vectors and unadapted targets
 * have a NULL buffer. */
typedef struct {
  TemperBTensor w[TEMPER_LORA_N_TARGETS];   /* the frozen linear weights, as stored */
  TemperBTensor attn_norm, ffn_norm;        /* F32, with the family's offset */
  TemperBTensor bq, bk, bv;                 /* F32 */
  TemperBTensor q_norm, k_norm, attn_post_norm, ffn_post_norm;
  TemperBTensor lora_a[TEMPER_LORA_N_TARGETS], lora_b[TEMPER_LORA_N_TARGETS];
  TemperBTensor lora_ga[TEMPER_LORA_N_TARGETS], lora_gb[TEMPER_LORA_N_TARGETS]; /* training */
  TemperMoeLayer moe;                       /* experts in place of gate, up and down; empty if dense */
} TemperBlockWeights;

/* The host view of target @t's frozen weight in @lw. */
const TemperTensorView *temper_block_target_weight (const TemperLayerWeights *lw, TemperLoraTarget t);

/* Places @w's norm and bias vectors (those @lw has) in @small; the LoRA
 * matrices are left without memory. */
void     temper_block_weights_lay_out (TemperBlockWeights *w, const TemperModelConfig *c,
                                       const TemperLayerWeights *lw, TemperBlockArena *small);
/* Binds the vectors laid out above to @small and uploads them. */
gboolean temper_block_weights_upload  (TemperBlockWeights *w, TemperBackend *backend, TemperBuffer *small,
                                       const TemperModelConfig *c, const TemperLayerWeights *lw,
                                       GError **error);
/* Gives @backend the frozen weight @view for @op (and, @training, its
 * backward), adding its buffer to @buffers; fails naming the tensor when the
 * backend cannot use its type. */
gboolean temper_block_wrap_weight     (TemperBackend *backend, const temper_model_t *model,
                                       const TemperTensorView *view, TemperOp op, gboolean training,
                                       GPtrArray *buffers, TemperBTensor *out, GError **error);

/* Where one call of a layer keeps each value, for @n rows (tokens).  A
 * caller may let values share memory where its pass allows (generation
 * adds in place and reuses scratch); tensors with a NULL buffer are not
 * kept (generation keeps no rstd, lse).  Matrices may be given with more
 * rows than the call uses; rstd vectors are the first n (or n·heads)
 * elements of theirs. */
typedef struct {
  TemperBTensor x, out;                   /* the layer's input and output {E, n} */
  TemperBTensor xn1, rstd1;               /* attention norm */
  TemperBTensor q_raw, k_raw, rstd_q, rstd_k;  /* before the q/k norms (qk_norm only; apart:
                                                * both are formed before either norm) */
  TemperBTensor q, k, v;                  /* after RoPE; k and v: this call's rows */
  TemperBTensor k_all, v_all;             /* the keys and values attention reads (a KV cache) */
  TemperBTensor att, lse;                 /* attention output and its log-sum-exp */
  TemperBTensor o_raw, rstd_o;            /* output projection before the post norm (post_norms only) */
  TemperBTensor o;                        /* the attention sublayer's output */
  TemperBTensor x2;                       /* x + o */
  TemperBTensor xn2, rstd2;               /* feed-forward norm */
  TemperBTensor gate, up, act;
  TemperBTensor f_raw, rstd_f;            /* down projection before the post norm */
  TemperBTensor f;                        /* the feed-forward sublayer's output; out = x2 + f */
  TemperBTensor h[TEMPER_LORA_N_TARGETS]; /* LoRA hidden drop(x)·Aᵀ per target */
} TemperBlockActs;

/* The gradients of one layer's backward (scratch shared by the layers). */
typedef struct {
  TemperBTensor d_resid;                  /* in: ∂L/∂out; out: ∂L/∂x */
  TemperBTensor d_xn, d_q, d_k, d_v, d_att, d_kraw, d_gate, d_up, d_act, d_h;
} TemperBlockGrads;

/* What one call of a layer is: its shape and what the caller asks for. */
typedef struct {
  TemperBackend           *backend;
  const TemperModelConfig *c;
  const TemperBlockRope   *rope;
  int                      layer;
  int                      n_seq, n_query; /* rows: n_seq sequences of n_query tokens */
  int                      pos;            /* position of the first query (the cache's length before) */
  float                    lora_scale;
  /* Training's LoRA dropout: rate, this layer's key per target, the row of
   * this call's first token within its micro-batch, and a scratch of
   * {max input, n} rows.  dropout 0 turns it off. */
  float                    dropout;
  const guint64           *drop_keys;
  guint32                  drop_first_row;
  TemperBTensor            drop;
  gboolean                 train;          /* the forward drops out (a training pass) */
  /* A recomputation before the backward: the layer's output is already in
   * place, so what only it needs (the down projection) is skipped. */
  gboolean                 recompute;
  /* LoRA's hidden values h are still where this layer's forward left them
   * (a recomputation that keeps them), so they are not formed again. */
  gboolean                 lora_h_kept;
  /* Training without dropout may keep LoRA's hidden values transposed, h[t]
   * as {n, r} (r rows of the call's n tokens), and run the A products of
   * the targets that read one input (Q/K/V, gate/up) as one product with
   * their A matrices stacked: x·[Aq;Ak;Av]ᵀ, and in the backward dA and dx
   * for the group at once.  A group is stacked where its A matrices, their
   * gradients and its h lie one after another (the caller's layout);
   * otherwise each target runs alone, h still transposed.  g->d_h holds
   * three targets' {n, r}. */
  gboolean                 stack_lora;
} TemperBlockPass;

/* One layer's forward: out = x + attention + feed-forward, keeping in @a
 * what the backward needs where @a has room for it. */
void temper_block_forward  (const TemperBlockPass *p, const TemperBlockWeights *w, const TemperBlockActs *a);
/* Its backward, from @a as the forward left it: LoRA gradients add into
 * w->lora_ga / lora_gb; g->d_resid goes from ∂L/∂out to ∂L/∂x. */
void temper_block_backward (const TemperBlockPass *p, const TemperBlockWeights *w, const TemperBlockActs *a,
                            const TemperBlockGrads *g);

G_END_DECLS
