/* SPDX-License-Identifier: MIT */
/* temper-backend.h — the compute backend interface (private to the engine).
 *
 * How a backend plugs in
 * ----------------------
 * A backend is a struct whose first member is a TemperBackend, pointing at a
 * static TemperBackendOps table, created by its own constructor (the CPU one
 * is temper_cpu_backend_new() in engine/cpu/temper-cpu-backend.h).  Callers
 * manage buffers through the temper_backend_*() wrappers below and record ops
 * with backend->ops->op (backend, …).  Buffers are TemperBuffer structs the
 * backend allocates; it keeps its own handle in priv.
 *
 *  - Memory: buffers are allocated up front (weights, activations, KV cache,
 *    gradients, optimizer state) and never inside a step.  A tensor is a
 *    buffer plus a byte offset, an element type and a 2-D shape; rows are
 *    contiguous (ne[0] elements, temper_type_row_bytes() bytes each).
 *  - Recording: every op between begin() and flush() belongs to one step.  A
 *    GPU backend records them into one command buffer and submits it in
 *    flush(); the CPU backend runs each op at once and flush() returns.  Ops
 *    return nothing: a failure (device lost) is reported by flush().  Host
 *    code may read results (download) only after flush().
 *  - Ops are called only when supports_op() said yes for that op and weight
 *    type (the backend's TemperOpSupport table); the forward and the
 *    training loop check this at setup time and refuse the model with a
 *    readable error otherwise.  Every op of a new backend must pass
 *    tests/backend-ops against the CPU backend.
 *
 * Conventions: activations and gradients are F32 (a GPU backend may store
 * them otherwise internally, but the tensors it is handed say F32); frozen
 * weights may be any TemperType the backend supports.  A "row" is one token:
 * x[t] is row t of a tensor with ne = {features, tokens}.  Forward ops
 * overwrite their outputs; backward ops ADD into their gradient outputs
 * (dx += …), so gradients flowing into one tensor from several places need no
 * extra buffers; zero() them at the start of a step. */
#pragma once

#include <gio/gio.h>
#include <stdint.h>

#include "temper/device-info.h"
#include "temper/model.h"
#include "temper/tensor.h"

G_BEGIN_DECLS

/* Token ids and targets are stored as int32; ggml's id for I32. */
#define TEMPER_TYPE_I32 26

typedef struct _TemperBackend   TemperBackend;
typedef struct _TemperBuffer    TemperBuffer;

struct _TemperBuffer {
  TemperBackend    *backend;
  size_t            size;
  int               usage;  /* TemperBufferUsage */
  guint8           *host;   /* the bytes when the backend computes in host memory, else NULL */
  gpointer          priv;   /* the backend's own handle (device memory, …) */
};

typedef struct {
  TemperBuffer *buffer;
  size_t        offset;   /* bytes from the start of the buffer */
  int           type;     /* TemperType, or TEMPER_TYPE_I32 */
  int64_t       ne[2];    /* ne[0] elements per row (contiguous), ne[1] rows */
} TemperBTensor;

typedef enum {
  TEMPER_OP_EMBEDDING,
  TEMPER_OP_RMSNORM,
  TEMPER_OP_RMSNORM_BACKWARD,
  TEMPER_OP_MATMUL,
  TEMPER_OP_MATMUL_BACKWARD_INPUT,
  TEMPER_OP_GEMM,
  TEMPER_OP_ROPE,
  TEMPER_OP_ROPE_BACKWARD,
  TEMPER_OP_ATTENTION,
  TEMPER_OP_ATTENTION_BACKWARD,
  TEMPER_OP_SWIGLU,
  TEMPER_OP_SWIGLU_BACKWARD,
  TEMPER_OP_ADD,
  TEMPER_OP_LM_HEAD_CROSS_ENTROPY,
  TEMPER_OP_ADAMW,
  TEMPER_OP_SUM_SQUARES,
  TEMPER_OP_SCALE,
  TEMPER_OP_DEQUANTIZE,
  TEMPER_OP_ZERO,
  TEMPER_OP_DROPOUT,
  /* Family ops (CPU first; a backend without them refuses those families). */
  TEMPER_OP_ROPE_TABLE,        /* rope_table and its backward */
  TEMPER_OP_GEGLU,             /* geglu and its backward */
  TEMPER_OP_ATTENTION_WINDOW,  /* attention honouring params->window and ->softcap */
  TEMPER_OP_SOFTCAP,           /* softcap */
  TEMPER_OP_LM_HEAD_CROSS_ENTROPY_SOFTCAP, /* lm_head_cross_entropy_softcap */
  TEMPER_OP_MOE,               /* moe and its backward, on experts of the weight type asked */
  TEMPER_OP_MATMUL_LORA,       /* matmul_lora (a backend without it runs matmul, then gemm) */
  TEMPER_OP_LORA_B_BACKWARD,   /* lora_b_backward (a backend without it runs two gemm) */
  TEMPER_OP_MATMUL_BACKWARD_INPUT_LORA, /* matmul_backward_input_lora (else the op, then gemm) */
  TEMPER_OP_COUNT,
} TemperOp;

/* TemperOpSupport keeps one bit per op. */
G_STATIC_ASSERT (TEMPER_OP_COUNT <= 64);

typedef enum {
  TEMPER_BUFFER_WEIGHTS,      /* written once, then read by ops */
  TEMPER_BUFFER_ACTIVATIONS,  /* written and read by ops every step */
  TEMPER_BUFFER_HOST_VISIBLE, /* small, downloaded every step (loss, logits) */
} TemperBufferUsage;

typedef struct {
  int   n_head;
  int   n_head_kv;      /* n_head % n_head_kv == 0; query head h reads kv head h / (n_head / n_head_kv) */
  int   head_dim;
  int   n_seq;          /* independent sequences in the batch */
  int   n_query;        /* query rows per sequence */
  int   n_key;          /* key rows per sequence (>= q_offset + n_query) */
  int   q_offset;       /* absolute position of the first query; query i sees keys 0..q_offset+i */
  float scale;          /* usually 1/sqrt(head_dim) */
  /* Only for a backend that supports TEMPER_OP_ATTENTION_WINDOW; 0 = off. */
  int   window;         /* query at position p sees keys p − window + 1 … p */
  float softcap;        /* scores s (scaled) become softcap·tanh(s/softcap) */
} TemperAttentionParams;

/* RoPE from a table of frequencies (TEMPER_OP_ROPE_TABLE): pair i of the
 * first 2·n_pairs dimensions of every head turns by pos·inv_freq[i], and
 * both cos and sin are multiplied by mscale (LongRoPE's attention factor).
 * Covers llama3 frequency factors, linear scaling and partial rotary. */
typedef struct {
  int              n_head, head_dim;
  int              seq_len, pos_offset; /* row r has position pos_offset + r % seq_len */
  TemperRopeLayout layout;
  int              n_pairs;             /* ≤ head_dim / 2 */
  const float     *inv_freq;            /* n_pairs, host memory that outlives the flush */
  float            mscale;
} TemperRopeTable;

/* A mixture-of-experts feed-forward (TEMPER_OP_MOE), all weights frozen.
 * Per token: router logits x·routerᵀ, their softmax p, the n_used largest
 * p (ties to the lower expert), each chosen expert's weight p (÷ the sum of
 * the chosen p when norm: Mixtral, and Qwen3-MoE's norm_topk_prob), and
 * out = Σ weight · down_e(silu(gate_e·x) ⊙ up_e·x). */
typedef struct {
  int                  n_expert, n_used, n_ff;
  gboolean             norm;
  TemperBTensor        router;              /* {n_embd, n_expert}, any weight type */
  const TemperBTensor *gate, *up, *down;    /* n_expert each: {n_embd, n_ff} ×2, {n_ff, n_embd};
                                             * one weight type per projection */
} TemperMoe;

typedef struct {
  float   lr;
  float   beta1, beta2;
  float   eps;
  float   weight_decay; /* decoupled, applied as p -= lr·wd·p */
  int64_t step;         /* 1-based, for bias correction */
  float   max_grad_norm;/* > 0: gradients are scaled by min(1, max/‖g‖) where ‖g‖² is read from grad_sumsq */
} TemperAdamWParams;

/* What a backend computes, in one table per backend (its supports_op()
 * answers from it, and `temper-cli devices --ops` prints all of them):
 * the ops it runs, and the weight types that the ops reading a frozen
 * weight (temper_op_reads_weight) decode.  Every other op takes F32. */
typedef struct {
  guint64    ops;           /* bit 1 << op for each TemperOp it runs */
  const int *weight_types;  /* TemperTypes the weight-reading ops decode, ended by -1 */
} TemperOpSupport;

/* TRUE for embedding, matmul, matmul_backward_input, lm_head_cross_entropy
 * and dequantize: the ops whose weight operand may be any supported type. */
gboolean temper_op_reads_weight (TemperOp op);
gboolean temper_op_support_lookup (const TemperOpSupport *support, TemperOp op, int weight_type);
/* The table of backend @kind, or NULL when this build of Temper lacks it. */
const TemperOpSupport *temper_op_support_for_kind (TemperBackendKind kind);

typedef struct {
  const char *name;

  void          (*destroy)         (TemperBackend *backend);
  gboolean      (*supports_op)     (TemperBackend *backend, TemperOp op, int weight_type);

  TemperBuffer *(*buffer_alloc)    (TemperBackend *backend, size_t size,
                                    TemperBufferUsage usage, GError **error);
  /* Weights that already lie in host memory (a mapped model file) which
   * outlives the buffer: a backend that computes on the host may use the
   * memory in place; others copy it. */
  TemperBuffer *(*buffer_from_host)(TemperBackend *backend, const void *data,
                                    size_t size, GError **error);
  void          (*buffer_free)     (TemperBackend *backend, TemperBuffer *buffer);
  gboolean      (*buffer_upload)   (TemperBackend *backend, TemperBuffer *buffer,
                                    size_t offset, const void *data, size_t size,
                                    GError **error);
  gboolean      (*buffer_download) (TemperBackend *backend, TemperBuffer *buffer,
                                    size_t offset, void *data, size_t size,
                                    GError **error);

  void     (*begin) (TemperBackend *backend);
  gboolean (*flush) (TemperBackend *backend, GError **error);

  /* out[t] = dequant(table row tokens[t]).  out {n_embd, T}, table {n_embd, V}, tokens I32 {T}. */
  void (*embedding) (TemperBackend *b, const TemperBTensor *out,
                     const TemperBTensor *table, const TemperBTensor *tokens);
  /* out = w · x / sqrt(mean(x²) + eps) per row; rstd {T} saved when non-NULL. */
  void (*rmsnorm) (TemperBackend *b, const TemperBTensor *out, const TemperBTensor *rstd,
                   const TemperBTensor *x, const TemperBTensor *weight, float eps);
  /* dx += ∂/∂x given dy, the saved rstd and the forward input. */
  void (*rmsnorm_backward) (TemperBackend *b, const TemperBTensor *dx,
                            const TemperBTensor *dy, const TemperBTensor *x,
                            const TemperBTensor *weight, const TemperBTensor *rstd);
  /* y = x·Wᵀ (+ bias) (+ y when accumulate).  x {in, T}, W {in, out} any
   * supported type, bias {out} F32 or NULL, y {out, T}.  Generation's logits
   * are this op on a one-row view of the last position (temper_btensor_rows),
   * so only n_vocab logits are ever formed. */
  void (*matmul) (TemperBackend *b, const TemperBTensor *y, const TemperBTensor *x,
                  const TemperBTensor *w, const TemperBTensor *bias, gboolean accumulate);
  /* matmul (b, y[j], x, w[j], bias[j], FALSE) for j < @count (at most 4)
   * products that read the same x (Q, K and V; gate and up), in one call
   * so a backend can share them out as one piece of work.  Optional: NULL
   * where a backend has no such path (the caller then calls matmul). */
  void (*matmul_shared_input) (TemperBackend *b, int count, const TemperBTensor *const *y,
                               const TemperBTensor *x, const TemperBTensor *const *w,
                               const TemperBTensor *const *bias);
  /* dx += dy·W.  dy {out, T}, W {in, out}, dx {in, T}. */
  void (*matmul_backward_input) (TemperBackend *b, const TemperBTensor *dx,
                                 const TemperBTensor *dy, const TemperBTensor *w);
  /* C = alpha·op(A)·op(B) + beta·C, all F32 row-major matrices of ne[1] rows
   * and ne[0] columns; op(X) = Xᵀ when the flag is set.  C is M×N, op(A) M×K,
   * op(B) K×N.  For LoRA: h = x·Aᵀ, y += s·h·Bᵀ and their gradients. */
  void (*gemm) (TemperBackend *b, const TemperBTensor *c, const TemperBTensor *a,
                gboolean transpose_a, const TemperBTensor *bmat, gboolean transpose_b,
                float alpha, float beta);
  /* In place on x {n_head·head_dim, T}: row r has position pos_offset + r % seq_len. */
  void (*rope) (TemperBackend *b, const TemperBTensor *x, int n_head, int head_dim,
                int seq_len, int pos_offset, float theta, TemperRopeLayout layout);
  /* In place on dx: the transpose (inverse rotation). */
  void (*rope_backward) (TemperBackend *b, const TemperBTensor *dx, int n_head, int head_dim,
                         int seq_len, int pos_offset, float theta, TemperRopeLayout layout);
  /* Causal GQA attention.  q/out {n_head·hd, n_seq·n_query}, k/v {n_head_kv·hd,
   * n_seq·n_key} (a KV cache view for generation), lse {n_head, n_seq·n_query}
   * log-sum-exp of the scaled scores, saved when non-NULL. */
  void (*attention) (TemperBackend *b, const TemperBTensor *out, const TemperBTensor *lse,
                     const TemperBTensor *q, const TemperBTensor *k, const TemperBTensor *v,
                     const TemperAttentionParams *params);
  /* dq, dk, dv += gradients, from dout and the forward's out and lse. */
  void (*attention_backward) (TemperBackend *b, const TemperBTensor *dq,
                              const TemperBTensor *dk, const TemperBTensor *dv,
                              const TemperBTensor *dout, const TemperBTensor *out,
                              const TemperBTensor *lse, const TemperBTensor *q,
                              const TemperBTensor *k, const TemperBTensor *v,
                              const TemperAttentionParams *params);
  /* out = silu(gate) ⊙ up. */
  void (*swiglu) (TemperBackend *b, const TemperBTensor *out,
                  const TemperBTensor *gate, const TemperBTensor *up);
  void (*swiglu_backward) (TemperBackend *b, const TemperBTensor *dgate,
                           const TemperBTensor *dup, const TemperBTensor *dout,
                           const TemperBTensor *gate, const TemperBTensor *up);
  /* out = a + b (out may alias a or b). */
  void (*add) (TemperBackend *b, const TemperBTensor *out,
               const TemperBTensor *a, const TemperBTensor *bt);
  /* Fused lm_head and cross-entropy over rows of x {n_embd, T} (already
   * normed) against W {n_embd, V}.  targets I32 {T}, −1 = masked.  Logits are
   * formed chunk by chunk in scratch (F32 {V, chunk rows}), never all at once.
   * loss F32 {2}: [0] += sum of −log p(target), [1] += number of targets.
   * dx (may be NULL) += grad_scale · ∂(sum of losses)/∂x. */
  void (*lm_head_cross_entropy) (TemperBackend *b, const TemperBTensor *loss,
                                 const TemperBTensor *dx, const TemperBTensor *x,
                                 const TemperBTensor *w, const TemperBTensor *targets,
                                 const TemperBTensor *scratch, float grad_scale);
  /* One AdamW step on F32 param/grad/m/v of the same shape.  grad_sumsq F32
   * {1} (the sum of squares of all gradients) is read on the device when
   * params->max_grad_norm > 0, and may be NULL otherwise. */
  void (*adamw) (TemperBackend *b, const TemperBTensor *param, const TemperBTensor *grad,
                 const TemperBTensor *m, const TemperBTensor *v,
                 const TemperBTensor *grad_sumsq, const TemperAdamWParams *params);
  /* out F32 {1} += Σ x². */
  void (*sum_squares) (TemperBackend *b, const TemperBTensor *out, const TemperBTensor *x);
  /* x *= s. */
  void (*scale) (TemperBackend *b, const TemperBTensor *x, float s);
  /* out F32 = dequant(w), same shape. */
  void (*dequantize) (TemperBackend *b, const TemperBTensor *out, const TemperBTensor *w);
  /* x = 0. */
  void (*zero) (TemperBackend *b, const TemperBTensor *x);
  /* out = x ⊙ mask / (1 − p), F32, same element count; out may be x.  The
   * mask keeps each element with probability 1 − p (0 ≤ p < 1) and is a pure
   * function of (key, element index), the same on every backend
   * (backend/temper-dropout-mask.h), so a backward pass regenerates it. */
  void (*dropout) (TemperBackend *b, const TemperBTensor *out, const TemperBTensor *x,
                   float p, guint64 key);

  /* ---- Family ops: NULL where supports_op() says no. ---- */
  /* In place on x {n_head·head_dim, T}, and the inverse rotation on dx. */
  void (*rope_table) (TemperBackend *b, const TemperBTensor *x, const TemperRopeTable *table);
  void (*rope_table_backward) (TemperBackend *b, const TemperBTensor *dx,
                               const TemperRopeTable *table);
  /* out = gelu_tanh(gate) ⊙ up, and dgate, dup += the gradients. */
  void (*geglu) (TemperBackend *b, const TemperBTensor *out,
                 const TemperBTensor *gate, const TemperBTensor *up);
  void (*geglu_backward) (TemperBackend *b, const TemperBTensor *dgate,
                          const TemperBTensor *dup, const TemperBTensor *dout,
                          const TemperBTensor *gate, const TemperBTensor *up);
  /* x = cap·tanh(x/cap), in place (Gemma 2's final logits). */
  void (*softcap) (TemperBackend *b, const TemperBTensor *x, float cap);
  /* lm_head_cross_entropy with the logits soft-capped (cap·tanh(logit/cap))
   * before the softmax, as Gemma 2 trains: dx takes the cap's derivative
   * 1 − (capped/cap)² too. */
  void (*lm_head_cross_entropy_softcap) (TemperBackend *b, const TemperBTensor *loss,
                                         const TemperBTensor *dx, const TemperBTensor *x,
                                         const TemperBTensor *w, const TemperBTensor *targets,
                                         const TemperBTensor *scratch, float grad_scale, float cap);
  /* out {n_embd, T} = the mixture of experts of x {n_embd, T} (overwritten). */
  void (*moe) (TemperBackend *b, const TemperBTensor *out, const TemperBTensor *x, const TemperMoe *moe);
  /* dx += dout·∂out/∂x, through the chosen experts and through the router's
   * weights (the choice of experts itself is held fixed, as autograd does);
   * recomputes what it needs from x. */
  void (*moe_backward) (TemperBackend *b, const TemperBTensor *dx, const TemperBTensor *dout,
                        const TemperBTensor *x, const TemperMoe *moe);
  /* matmul, then y += s·hᵀᵀ·Bᵀ, the LoRA path of y = x·Wᵀ, in one op: the
   * CPU adds it to each part of y while that part is still in its cache.
   * hT {T, r} (h kept transposed: r rows of T), lora_b {r, out}.  The
   * result is that of matmul followed by gemm (y, hT, TRUE, lora_b, TRUE,
   * s, 1). */
  void (*matmul_lora) (TemperBackend *b, const TemperBTensor *y, const TemperBTensor *x,
                       const TemperBTensor *w, const TemperBTensor *bias, const TemperBTensor *hT,
                       const TemperBTensor *lora_b, float s);
  /* The LoRA products that read a target's output gradient dy {out, T}, in
   * one pass over it: gb {r, out} += s·dyᵀ·h and dhT {T, r} = s·Bᵀ·dyᵀ,
   * with hT {T, r} (h kept transposed) and lora_b {r, out}: the results of
   * gemm (gb, dy, TRUE, hT, TRUE, s, 1) and gemm (dhT, lora_b, TRUE, dy,
   * TRUE, s, 0). */
  void (*lora_b_backward) (TemperBackend *b, const TemperBTensor *gb, const TemperBTensor *dhT,
                           const TemperBTensor *dy, const TemperBTensor *hT,
                           const TemperBTensor *lora_b, float s);
  /* matmul_backward_input, then dx += dh·A, LoRA's path to the input, in
   * one op (the CPU adds it to each part of dx while it is in cache).
   * dhT {T, R} (dh kept transposed), lora_a {in, R} (R = rank, or the
   * ranks of targets stacked): the result of matmul_backward_input
   * followed by gemm (dx, dhT, TRUE, lora_a, FALSE, 1, 1). */
  void (*matmul_backward_input_lora) (TemperBackend *b, const TemperBTensor *dx,
                                      const TemperBTensor *dy, const TemperBTensor *w,
                                      const TemperBTensor *dhT, const TemperBTensor *lora_a);
} TemperBackendOps;

struct _TemperBackend {
  const TemperBackendOps *ops;
  TemperBackendKind       kind;
};

const char *temper_op_name (TemperOp op);

/* Bytes of a tensor of @type and shape {ne0, ne1}. */
static inline size_t
temper_btensor_bytes (int type, int64_t ne0, int64_t ne1)
{
  if (type == TEMPER_TYPE_I32)
    return (size_t) (ne0 * ne1) * 4;
  return temper_type_row_bytes (type, ne0) * (size_t) ne1;
}

static inline TemperBTensor
temper_btensor (TemperBuffer *buffer, size_t offset, int type, int64_t ne0, int64_t ne1)
{
  TemperBTensor t = { buffer, offset, type, { ne0, ne1 } };
  return t;
}

/* Rows [first, first + n) of @t. */
static inline TemperBTensor
temper_btensor_rows (const TemperBTensor *t, int64_t first, int64_t n)
{
  TemperBTensor r = *t;
  r.offset += temper_btensor_bytes (t->type, t->ne[0], first);
  r.ne[1] = n;
  return r;
}

void     temper_backend_free (TemperBackend *backend);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TemperBackend, temper_backend_free)

static inline const char *
temper_backend_get_name (TemperBackend *b) { return b->ops->name; }
static inline gboolean
temper_backend_supports_op (TemperBackend *b, TemperOp op, int weight_type)
{ return b->ops->supports_op (b, op, weight_type); }

static inline TemperBuffer *
temper_backend_buffer_alloc (TemperBackend *b, size_t size, TemperBufferUsage usage, GError **error)
{ return b->ops->buffer_alloc (b, size, usage, error); }
static inline TemperBuffer *
temper_backend_buffer_from_host (TemperBackend *b, const void *data, size_t size, GError **error)
{ return b->ops->buffer_from_host (b, data, size, error); }
static inline void
temper_backend_buffer_free (TemperBackend *b, TemperBuffer *buffer)
{ if (buffer != NULL) b->ops->buffer_free (b, buffer); }
static inline gboolean
temper_backend_upload (TemperBackend *b, const TemperBTensor *t, const void *data, GError **error)
{ return b->ops->buffer_upload (b, t->buffer, t->offset, data,
                                temper_btensor_bytes (t->type, t->ne[0], t->ne[1]), error); }
static inline gboolean
temper_backend_download (TemperBackend *b, const TemperBTensor *t, void *data, GError **error)
{ return b->ops->buffer_download (b, t->buffer, t->offset, data,
                                  temper_btensor_bytes (t->type, t->ne[0], t->ne[1]), error); }

static inline void
temper_backend_begin (TemperBackend *b) { b->ops->begin (b); }
static inline gboolean
temper_backend_flush (TemperBackend *b, GError **error) { return b->ops->flush (b, error); }

G_END_DECLS
