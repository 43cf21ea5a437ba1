/* SPDX-License-Identifier: MIT */
/* temper-cuda-module.h — the boundary between libtemper and libtemper-cuda.so.
 *
 * The engine never links CUDA.  The CUDA code is a module, loaded at run time
 * with dlopen(), that exports one symbol, TEMPER_CUDA_ENTRY_SYMBOL: a function
 * that returns a table of function pointers when the caller asks for the ABI
 * version it was built with, and NULL otherwise.  This header is shared by
 * both sides, so it is plain C (no GLib) and nvcc compiles it as C++.
 *
 * Every function returns a TemperCudaStatus.  On failure, last_error() gives
 * a sentence for a person (kept per thread, until the next failure).
 * Pointers named d_* are device memory; h_* are host memory.  Tensors are
 * row-major fp32 unless a type argument says otherwise.  Operations are
 * queued on the calling thread's default stream; synchronize() waits. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bump whenever TemperCudaModule or any signature in it changes. */
#define TEMPER_CUDA_ABI_VERSION 4u
#define TEMPER_CUDA_ENTRY_SYMBOL "temper_cuda_module_entry"
#define TEMPER_CUDA_MODULE_NAME "libtemper-cuda.so"

typedef enum {
  TEMPER_CUDA_OK = 0,
  TEMPER_CUDA_NO_DRIVER,        /* no driver, or one older than the runtime */
  TEMPER_CUDA_NO_DEVICE,        /* a driver, but no usable GPU */
  TEMPER_CUDA_OUT_OF_MEMORY,
  TEMPER_CUDA_INVALID_ARGUMENT, /* a size, type or index the call cannot take */
  TEMPER_CUDA_FAILED,           /* any other CUDA or cuBLAS error */
} TemperCudaStatus;

/* Weight storage types, numbered as ggml and TemperType number them. */
enum {
  TEMPER_CUDA_TYPE_F32  = 0,
  TEMPER_CUDA_TYPE_F16  = 1,
  TEMPER_CUDA_TYPE_Q4_0 = 2,
  TEMPER_CUDA_TYPE_Q4_1 = 3,
  TEMPER_CUDA_TYPE_Q8_0 = 8,
  TEMPER_CUDA_TYPE_Q2_K = 10,
  TEMPER_CUDA_TYPE_Q3_K = 11,
  TEMPER_CUDA_TYPE_IQ4_NL = 20,
  TEMPER_CUDA_TYPE_IQ4_XS = 23,
  TEMPER_CUDA_TYPE_BF16 = 30,
  TEMPER_CUDA_TYPE_TQ2_0 = 35,
  TEMPER_CUDA_TYPE_NF4  = 64,   /* Temper's own: fp32 absmax + 32 bytes of codes per 64 */
};

/* The two RoPE pair layouts, as TemperRopeLayout orders them. */
enum {
  TEMPER_CUDA_ROPE_INTERLEAVED = 0, /* rotates (x[2i], x[2i+1]) */
  TEMPER_CUDA_ROPE_HALVES      = 1, /* rotates (x[i], x[i + d/2]) */
};

typedef struct {
  char     name[256];
  uint64_t memory_total;        /* bytes */
  uint64_t memory_free;         /* bytes free now */
  int      compute_major;       /* compute capability, e.g. 8.6 */
  int      compute_minor;
  int      multiprocessors;
  int      driver_version;      /* CUDA version the driver supports, 1000·major + 10·minor */
  int      runtime_version;     /* CUDA runtime the module was built with, same encoding */
  int      integrated;          /* shares memory with the CPU (Jetson, GB10) */
} TemperCudaDeviceProps;

typedef struct {
  int   n_head;
  int   n_head_kv;
  int   head_dim;
  int   n_seq;
  int   n_query;      /* query rows per sequence */
  int   n_key;        /* key rows per sequence, ≥ q_offset + n_query */
  int   q_offset;     /* position of the first query */
  float scale;        /* usually 1/sqrt(head_dim) */
  int   window;       /* > 0: the query at position p sees keys p − window + 1 … p */
  float softcap;      /* > 0: scaled scores s become softcap · tanh(s / softcap) */
} TemperCudaAttention;

/* A mixture of experts' feed-forward (the backend's TemperMoe): the router
 * (n_expert, n_embd) and, per expert, gate and up (n_ff, n_embd) and down
 * (n_embd, n_ff), each in device memory, one weight type per projection.
 * h_gate, h_up and h_down are host arrays of n_expert device pointers. */
typedef struct {
  int                n_expert, n_used, n_ff;
  int                norm;          /* divide the chosen weights by their sum */
  const void        *d_router;
  int                router_type;
  const void *const *h_gate;
  const void *const *h_up;
  const void *const *h_down;
  int                gate_type, up_type, down_type;
} TemperCudaMoe;

/* Where the mixture of experts keeps its routing and gathered rows in its
 * scratch memory: offsets in 32-bit words, and the total. */
typedef struct {
  size_t probs, chosen, weight, chosen_sum, counts, lists, g, dz, gate, up, da;
  size_t words;
} TemperCudaMoeLayout;

static inline TemperCudaMoeLayout
temper_cuda_moe_layout (int64_t n_tokens, const TemperCudaMoe *moe)
{
  size_t T = (size_t) n_tokens, n = (size_t) moe->n_expert, k = (size_t) moe->n_used;
  size_t F = (size_t) moe->n_ff, at = 0;
  TemperCudaMoeLayout l;

  l.probs = at, at += n * T;
  l.chosen = at, at += k * T;
  l.weight = at, at += k * T;
  l.chosen_sum = at, at += T;
  l.counts = at, at += n;
  l.lists = at, at += n * T;
  l.g = at, at += k * T;
  l.dz = at, at += n * T;
  l.gate = at, at += F * T;
  l.up = at, at += F * T;
  l.da = at, at += F * T;
  l.words = at;
  return l;
}

typedef struct {
  uint32_t abi_version;
  uint32_t size;                /* sizeof (TemperCudaModule) in the module */

  const char *(*last_error) (void);

  /* Devices. */
  TemperCudaStatus (*device_count) (int *count);
  TemperCudaStatus (*device_props) (int device, TemperCudaDeviceProps *props);
  TemperCudaStatus (*set_device) (int device);   /* for the calling thread */
  TemperCudaStatus (*synchronize) (void);

  /* Memory. */
  TemperCudaStatus (*alloc) (void **d_ptr, size_t bytes);
  TemperCudaStatus (*free) (void *d_ptr);
  TemperCudaStatus (*upload) (void *d_dst, const void *h_src, size_t bytes);
  TemperCudaStatus (*download) (void *h_dst, const void *d_src, size_t bytes);
  TemperCudaStatus (*zero) (void *d_dst, size_t bytes);

  /* Operations, with the semantics of the backend interface
   * (engine/backend/temper-backend.h): forward ops overwrite their outputs,
   * backward ops add into their gradients.  (N, C) is N rows of C
   * contiguous floats. */

  /* d_out (n_elements) = the weights at d_src, stored as @type, as floats.
   * @n_elements is a multiple of the type's block. */
  TemperCudaStatus (*dequantize) (float *d_out, const void *d_src, int type, int64_t n_elements);

  /* d_out (n_tokens, dim) = rows d_tokens[t] of the table (n_rows, dim) stored
   * as @type.  Tokens outside [0, n_rows) give rows of zeros. */
  TemperCudaStatus (*embedding_forward) (float *d_out, const void *d_table, int type,
                                         int64_t n_rows, const int32_t *d_tokens,
                                         int n_tokens, int dim);

  /* out = weight · x / sqrt(mean(x²) + eps), row by row; d_rstd (n_rows),
   * when non-NULL, keeps 1/sqrt(mean(x²) + eps) for the backward pass. */
  TemperCudaStatus (*rmsnorm_forward) (float *d_out, float *d_rstd, const float *d_inp,
                                       const float *d_weight, int n_rows, int dim, float eps);
  /* d_dinp += gradient of the input; d_dweight += gradient of the weight
   * when non-NULL (frozen norms pass NULL). */
  TemperCudaStatus (*rmsnorm_backward) (float *d_dinp, float *d_dweight, const float *d_dout,
                                        const float *d_inp, const float *d_weight,
                                        const float *d_rstd, int n_rows, int dim);

  /* out = silu(gate) ⊙ up over @n elements. */
  TemperCudaStatus (*swiglu_forward) (float *d_out, const float *d_gate, const float *d_up,
                                      int64_t n);
  /* d_dgate, d_dup += gradients of gate and up. */
  TemperCudaStatus (*swiglu_backward) (float *d_dgate, float *d_dup, const float *d_dout,
                                       const float *d_gate, const float *d_up, int64_t n);

  /* Rotates, in place, (n_rows, n_heads, head_dim): row r sits at position
   * pos_offset + r % seq_len, and pair i turns by pos · theta^(−2i/head_dim).
   * With @inverse it turns the other way: the transpose, which is the
   * backward pass. */
  TemperCudaStatus (*rope) (float *d_x, int n_rows, int n_heads, int head_dim, int seq_len,
                            int pos_offset, float theta, int layout, int inverse);

  /* One AdamW step over @n parameters, fp32 master weights and moments:
   * g = grad · c, where c = min(1, max_grad_norm / sqrt(*d_grad_sumsq)) when
   * max_grad_norm > 0 and 1 otherwise (read on the device, so no download);
   * m = β1 m + (1−β1) g; v = β2 v + (1−β2) g²;
   * p −= lr (m̂ / (sqrt(v̂) + eps) + weight_decay · p), m̂ and v̂ bias
   * corrected for @step (1 for the first step). */
  TemperCudaStatus (*adamw) (float *d_param, const float *d_grad, float *d_m, float *d_v,
                             int64_t n, const float *d_grad_sumsq, float max_grad_norm,
                             float lr, float beta1, float beta2, float eps,
                             float weight_decay, int64_t step);

  /* d_out (n) = d_a + d_b; d_out may alias either. */
  TemperCudaStatus (*add) (float *d_out, const float *d_a, const float *d_b, int64_t n);
  /* d_x (n) *= s. */
  TemperCudaStatus (*scale) (float *d_x, int64_t n, float s);
  /* d_out[0] += Σ d_x². */
  TemperCudaStatus (*sum_squares) (float *d_out, const float *d_x, int64_t n);

  /* C (m, n) = alpha · op(A) · op(B) + beta · C, fp32, row-major, where op(A)
   * is (m, k) and op(B) is (k, n); A is stored (k, m) when @transpose_a, B is
   * stored (n, k) when @transpose_b. */
  TemperCudaStatus (*gemm) (float *d_c, const float *d_a, const float *d_b,
                            int m, int n, int k, int transpose_a, int transpose_b,
                            float alpha, float beta);

  /* A linear layer with frozen weights of any readable type:
   * y (n_rows, n_out) = x (n_rows, n_in) · Wᵀ (+ bias) (+ y when @accumulate),
   * W stored (n_out, n_in) as @type, bias (n_out) fp32 or NULL. */
  TemperCudaStatus (*linear_forward) (float *d_y, const float *d_x, const void *d_w, int type,
                                      const float *d_bias, int n_rows, int n_in, int n_out,
                                      int accumulate);
  /* dx (n_rows, n_in) += dy (n_rows, n_out) · W. */
  TemperCudaStatus (*linear_backward_input) (float *d_dx, const float *d_dy, const void *d_w,
                                             int type, int n_rows, int n_in, int n_out);

  /* Causal grouped-query attention.  q and out are (n_seq · n_query,
   * n_head · head_dim); k and v are (n_seq · n_key, n_head_kv · head_dim);
   * query i of a sequence sees keys 0 … q_offset + i (from q_offset + i −
   * window + 1 with a window); query head h reads kv head h / (n_head /
   * n_head_kv).  d_lse (n_seq · n_query, n_head), when non-NULL, keeps the
   * log-sum-exp of the scaled (and capped) scores.  head_dim ≤ 256. */
  TemperCudaStatus (*attention_forward) (float *d_out, float *d_lse, const float *d_q,
                                         const float *d_k, const float *d_v,
                                         const TemperCudaAttention *shape);
  /* d_dq, d_dk, d_dv += gradients, from dout, and the forward's out and lse. */
  TemperCudaStatus (*attention_backward) (float *d_dq, float *d_dk, float *d_dv,
                                          const float *d_dout, const float *d_out,
                                          const float *d_lse, const float *d_q,
                                          const float *d_k, const float *d_v,
                                          const TemperCudaAttention *shape);

  /* The output layer fused with cross-entropy, a chunk of rows at a time:
   * logits (chunk_rows, n_vocab) = x · Wᵀ live only in d_scratch.  W is
   * (n_vocab, n_embd) as @type; targets (n_rows), −1 for masked rows.
   * d_loss[0] += Σ −log p(target); d_loss[1] += number of targets;
   * d_dx (n_rows, n_embd), when non-NULL, += grad_scale · ∂(Σ losses)/∂x. */
  TemperCudaStatus (*lm_head_cross_entropy) (float *d_loss, float *d_dx, const float *d_x,
                                             const void *d_w, int type,
                                             const int32_t *d_targets, float *d_scratch,
                                             int n_rows, int n_embd, int n_vocab,
                                             int chunk_rows, float grad_scale);

  /* LoRA dropout: d_out (n) = d_x ⊙ mask / (1 − p), d_out may alias d_x.
   * The mask is backend/temper-dropout-mask.h's for (@key, element index), the
   * same as every other backend's; n < 2³². */
  TemperCudaStatus (*dropout) (float *d_out, const float *d_x, int64_t n, float p,
                               uint64_t key);

  /* ---- Family ops ---- */
  /* out = gelu_tanh(gate) ⊙ up over @n elements; the backward adds the
   * gradients of gate and up to d_dgate and d_dup. */
  TemperCudaStatus (*geglu_forward) (float *d_out, const float *d_gate, const float *d_up,
                                     int64_t n);
  TemperCudaStatus (*geglu_backward) (float *d_dgate, float *d_dup, const float *d_dout,
                                      const float *d_gate, const float *d_up, int64_t n);
  /* d_x (n) = cap · tanh(d_x / cap), cap > 0. */
  TemperCudaStatus (*softcap) (float *d_x, int64_t n, float cap);
  /* As rope, but pair i (of the first n_pairs; halves pair x[i] with
   * x[i + n_pairs]) turns by pos · h_inv_freq[i], and cos and sin are both
   * multiplied by @mscale.  h_inv_freq is host memory, read before the call
   * returns; n_pairs ≤ TEMPER_CUDA_ROPE_TABLE_MAX_PAIRS. */
  TemperCudaStatus (*rope_table) (float *d_x, int n_rows, int n_heads, int head_dim,
                                  int seq_len, int pos_offset, int layout, int n_pairs,
                                  const float *h_inv_freq, float mscale, int inverse);
  /* lm_head_cross_entropy with the logits soft-capped, cap · tanh(logit / cap),
   * before the softmax; d_dx takes the cap's derivative too.  cap > 0. */
  TemperCudaStatus (*lm_head_cross_entropy_softcap) (float *d_loss, float *d_dx,
                                                     const float *d_x, const void *d_w,
                                                     int type, const int32_t *d_targets,
                                                     float *d_scratch, int n_rows, int n_embd,
                                                     int n_vocab, int chunk_rows,
                                                     float grad_scale, float cap);
  /* The mixture of experts (see TemperCudaMoe): d_out (n_tokens, n_embd) =
   * Σ over each token's n_used experts of weight · down(silu(gate·x) ⊙ up·x),
   * routed by the softmax of x · routerᵀ (ties to the lower expert).  The
   * backward adds into d_dx the gradient through the chosen experts and the
   * routing weights (the choice held fixed).  d_scratch holds
   * temper_cuda_moe_layout (n_tokens, moe).words 32-bit words. */
  TemperCudaStatus (*moe_forward) (float *d_out, const float *d_x, int n_tokens, int n_embd,
                                   const TemperCudaMoe *moe, void *d_scratch);
  TemperCudaStatus (*moe_backward) (float *d_dx, const float *d_dout, const float *d_x,
                                    int n_tokens, int n_embd, const TemperCudaMoe *moe,
                                    void *d_scratch);
} TemperCudaModule;

#define TEMPER_CUDA_ROPE_TABLE_MAX_PAIRS 256

typedef const TemperCudaModule *(*TemperCudaEntryFunc) (uint32_t abi_version);

#ifdef __cplusplus
}
#endif
