/* SPDX-License-Identifier: MIT */
/* temper-cpu-profile.c — timing each op of the CPU backend by kind.
 *
 * A backend that profiles swaps its op table for this one, whose entries
 * time the real op and add the time to the op's kind; a backend that does
 * not profile keeps the plain table, so profiling costs nothing when off. */
#include "config.h"

#include <time.h>

#include "temper/op-profile.h"
#include "temper-cpu-backend.h"
#include "temper-cpu-private.h"

static const char *const kind_names[TEMPER_OP_KIND_COUNT] = {
  [TEMPER_OP_KIND_FROZEN_FORWARD] = "frozen GEMM forward",
  [TEMPER_OP_KIND_FROZEN_INPUT_GRAD] = "frozen GEMM input-gradient",
  [TEMPER_OP_KIND_LORA] = "LoRA products",
  [TEMPER_OP_KIND_ATTENTION_FORWARD] = "attention forward",
  [TEMPER_OP_KIND_ATTENTION_BACKWARD] = "attention backward",
  [TEMPER_OP_KIND_ELEMENTWISE] = "norms/RoPE/SwiGLU/adds",
  [TEMPER_OP_KIND_CROSS_ENTROPY] = "lm_head + cross-entropy",
  [TEMPER_OP_KIND_OPTIMIZER] = "optimizer",
  [TEMPER_OP_KIND_POOL_WAIT] = "thread-pool waits",
};

const char *
temper_op_kind_name (TemperOpKind kind)
{
  g_return_val_if_fail (kind < TEMPER_OP_KIND_COUNT, NULL);
  return kind_names[kind];
}

double
temper_op_profile_total (const TemperOpProfile *profile)
{
  double total = 0;

  for (int k = 0; k < TEMPER_OP_KIND_COUNT; k++)
    total += profile->seconds[k];
  return total;
}

typedef struct {
  gint64 start_ns;
  gint64 waited_ns;   /* the pool's count when the op began */
} OpClock;

static inline gint64
monotonic_ns (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (gint64) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline OpClock
op_clock_start (TemperBackend *b)
{
  OpClock clock = { monotonic_ns (), temper_cpu_pool_get_wait_ns (TEMPER_CPU (b)->pool) };

  return clock;
}

/* The op's time less the pool waits within it goes to @kind; the waits to
 * TEMPER_OP_KIND_POOL_WAIT. */
static inline void
op_clock_stop (TemperBackend *b, OpClock clock, TemperOpKind kind, double flops)
{
  TemperCpuBackend *cpu = TEMPER_CPU (b);
  TemperOpProfile *profile = cpu->profile;
  gint64 elapsed = monotonic_ns () - clock.start_ns;
  gint64 waited = temper_cpu_pool_get_wait_ns (cpu->pool) - clock.waited_ns;

  profile->seconds[kind] += (double) (elapsed - waited) * 1e-9;
  profile->seconds[TEMPER_OP_KIND_POOL_WAIT] += (double) waited * 1e-9;
  profile->waits[kind] += (double) waited * 1e-9;
  profile->flops[kind] += flops;
  profile->calls[kind]++;
}

/* Multiply-adds × 2 of causal attention's two products (Q·Kᵀ and P·V):
 * query i of a sequence sees q_offset + i + 1 keys, or the window's. */
static double
attention_flops (const TemperAttentionParams *p)
{
  double pairs = 0;

  for (int i = 0; i < p->n_query; i++)
    {
      int keys = p->q_offset + i + 1;

      pairs += p->window > 0 ? MIN (keys, p->window) : keys;
    }
  return 2.0 * 2.0 * p->head_dim * p->n_head * p->n_seq * pairs;
}

/* A wrapper that times temper_cpu_NAME as @kind. */
#define PROFILED_OP(name, kind, flops, params, args)      \
  static void                                             \
  profiled_##name params                                  \
  {                                                       \
    OpClock clock = op_clock_start (b);                   \
                                                          \
    temper_cpu_##name args;                               \
    op_clock_stop (b, clock, kind, flops);                \
  }

PROFILED_OP (matmul, TEMPER_OP_KIND_FROZEN_FORWARD,
             2.0 * (double) x->ne[1] * (double) w->ne[0] * (double) w->ne[1],
             (TemperBackend *b, const TemperBTensor *y, const TemperBTensor *x,
              const TemperBTensor *w, const TemperBTensor *bias, gboolean accumulate),
             (b, y, x, w, bias, accumulate))
/* The multiply-adds of @count products of x. */
static double
shared_input_flops (int count, const TemperBTensor *x, const TemperBTensor *const *w)
{
  double sum = 0.0;

  for (int j = 0; j < count; j++)
    sum += 2.0 * (double) x->ne[1] * (double) w[j]->ne[0] * (double) w[j]->ne[1];
  return sum;
}

PROFILED_OP (matmul_shared_input, TEMPER_OP_KIND_FROZEN_FORWARD, shared_input_flops (count, x, w),
             (TemperBackend *b, int count, const TemperBTensor *const *y, const TemperBTensor *x,
              const TemperBTensor *const *w, const TemperBTensor *const *bias),
             (b, count, y, x, w, bias))
PROFILED_OP (matmul_backward_input, TEMPER_OP_KIND_FROZEN_INPUT_GRAD,
             2.0 * (double) dy->ne[1] * (double) w->ne[0] * (double) w->ne[1],
             (TemperBackend *b, const TemperBTensor *dx, const TemperBTensor *dy,
              const TemperBTensor *w),
             (b, dx, dy, w))
PROFILED_OP (gemm, TEMPER_OP_KIND_LORA,
             2.0 * (double) c->ne[0] * (double) c->ne[1] *
             (double) (transpose_a ? a->ne[1] : a->ne[0]),
             (TemperBackend *b, const TemperBTensor *c, const TemperBTensor *a,
              gboolean transpose_a, const TemperBTensor *bmat, gboolean transpose_b,
              float alpha, float beta),
             (b, c, a, transpose_a, bmat, transpose_b, alpha, beta))
/* The frozen product with the LoRA path added to each part of y as it is
 * formed: one time, taken as the frozen forward's (the input gradient's
 * below).  The LoRA path's FLOPs
 * still count as LoRA products' (the estimate's work per kind), so the
 * LoRA row's rate counts these FLOPs without their time, and the frozen
 * forward's rate their time without their FLOPs. */
static void
profiled_matmul_lora (TemperBackend *b, const TemperBTensor *y, const TemperBTensor *x,
                      const TemperBTensor *w, const TemperBTensor *bias, const TemperBTensor *hT,
                      const TemperBTensor *lora_b, float s)
{
  OpClock clock = op_clock_start (b);

  temper_cpu_matmul_lora (b, y, x, w, bias, hT, lora_b, s);
  op_clock_stop (b, clock, TEMPER_OP_KIND_FROZEN_FORWARD,
                 2.0 * (double) x->ne[1] * (double) w->ne[0] * (double) w->ne[1]);
  TEMPER_CPU (b)->profile->flops[TEMPER_OP_KIND_LORA] +=
    2.0 * (double) hT->ne[0] * (double) hT->ne[1] * (double) lora_b->ne[1];
  TEMPER_CPU (b)->profile->calls[TEMPER_OP_KIND_LORA]++;
}
PROFILED_OP (lora_b_backward, TEMPER_OP_KIND_LORA,
             2.0 * 2.0 * (double) dy->ne[0] * (double) dy->ne[1] * (double) lora_b->ne[0],
             (TemperBackend *b, const TemperBTensor *gb, const TemperBTensor *dhT,
              const TemperBTensor *dy, const TemperBTensor *hT, const TemperBTensor *lora_b, float s),
             (b, gb, dhT, dy, hT, lora_b, s))
/* The same for the input gradient with dx += dh·A. */
static void
profiled_matmul_backward_input_lora (TemperBackend *b, const TemperBTensor *dx,
                                     const TemperBTensor *dy, const TemperBTensor *w,
                                     const TemperBTensor *dhT, const TemperBTensor *lora_a)
{
  OpClock clock = op_clock_start (b);

  temper_cpu_matmul_backward_input_lora (b, dx, dy, w, dhT, lora_a);
  op_clock_stop (b, clock, TEMPER_OP_KIND_FROZEN_INPUT_GRAD,
                 2.0 * (double) dy->ne[1] * (double) w->ne[0] * (double) w->ne[1]);
  TEMPER_CPU (b)->profile->flops[TEMPER_OP_KIND_LORA] +=
    2.0 * (double) dhT->ne[0] * (double) dhT->ne[1] * (double) lora_a->ne[0];
  TEMPER_CPU (b)->profile->calls[TEMPER_OP_KIND_LORA]++;
}
PROFILED_OP (attention, TEMPER_OP_KIND_ATTENTION_FORWARD, attention_flops (params),
             (TemperBackend *b, const TemperBTensor *out, const TemperBTensor *lse,
              const TemperBTensor *q, const TemperBTensor *k, const TemperBTensor *v,
              const TemperAttentionParams *params),
             (b, out, lse, q, k, v, params))
/* The model's FLOPs of the backward pass: twice the forward's (the
 * gradients of both operands of both products), not counting the scores
 * the kernel forms again. */
PROFILED_OP (attention_backward, TEMPER_OP_KIND_ATTENTION_BACKWARD, 2.0 * attention_flops (params),
             (TemperBackend *b, const TemperBTensor *dq, const TemperBTensor *dk,
              const TemperBTensor *dv, const TemperBTensor *dout, const TemperBTensor *out,
              const TemperBTensor *lse, const TemperBTensor *q, const TemperBTensor *k,
              const TemperBTensor *v, const TemperAttentionParams *params),
             (b, dq, dk, dv, dout, out, lse, q, k, v, params))
/* The logits x·Wᵀ, and dx = dlogits·W when the gradient is wanted. */
PROFILED_OP (lm_head_cross_entropy, TEMPER_OP_KIND_CROSS_ENTROPY,
             2.0 * (double) x->ne[1] * (double) w->ne[0] * (double) w->ne[1] * (dx != NULL ? 2 : 1),
             (TemperBackend *b, const TemperBTensor *loss, const TemperBTensor *dx,
              const TemperBTensor *x, const TemperBTensor *w, const TemperBTensor *targets,
              const TemperBTensor *scratch, float grad_scale),
             (b, loss, dx, x, w, targets, scratch, grad_scale))
PROFILED_OP (adamw, TEMPER_OP_KIND_OPTIMIZER, 0,
             (TemperBackend *b, const TemperBTensor *param, const TemperBTensor *grad,
              const TemperBTensor *m, const TemperBTensor *v, const TemperBTensor *grad_sumsq,
              const TemperAdamWParams *params),
             (b, param, grad, m, v, grad_sumsq, params))
PROFILED_OP (sum_squares, TEMPER_OP_KIND_OPTIMIZER, 0,
             (TemperBackend *b, const TemperBTensor *out, const TemperBTensor *x),
             (b, out, x))
PROFILED_OP (embedding, TEMPER_OP_KIND_ELEMENTWISE, 0,
             (TemperBackend *b, const TemperBTensor *out, const TemperBTensor *table,
              const TemperBTensor *tokens),
             (b, out, table, tokens))
PROFILED_OP (rmsnorm, TEMPER_OP_KIND_ELEMENTWISE, 0,
             (TemperBackend *b, const TemperBTensor *out, const TemperBTensor *rstd,
              const TemperBTensor *x, const TemperBTensor *weight, float eps),
             (b, out, rstd, x, weight, eps))
PROFILED_OP (rmsnorm_backward, TEMPER_OP_KIND_ELEMENTWISE, 0,
             (TemperBackend *b, const TemperBTensor *dx, const TemperBTensor *dy,
              const TemperBTensor *x, const TemperBTensor *weight, const TemperBTensor *rstd),
             (b, dx, dy, x, weight, rstd))
PROFILED_OP (rope, TEMPER_OP_KIND_ELEMENTWISE, 0,
             (TemperBackend *b, const TemperBTensor *x, int n_head, int head_dim,
              int seq_len, int pos_offset, float theta, TemperRopeLayout layout),
             (b, x, n_head, head_dim, seq_len, pos_offset, theta, layout))
PROFILED_OP (rope_backward, TEMPER_OP_KIND_ELEMENTWISE, 0,
             (TemperBackend *b, const TemperBTensor *dx, int n_head, int head_dim,
              int seq_len, int pos_offset, float theta, TemperRopeLayout layout),
             (b, dx, n_head, head_dim, seq_len, pos_offset, theta, layout))
PROFILED_OP (rope_table, TEMPER_OP_KIND_ELEMENTWISE, 0,
             (TemperBackend *b, const TemperBTensor *x, const TemperRopeTable *table),
             (b, x, table))
PROFILED_OP (rope_table_backward, TEMPER_OP_KIND_ELEMENTWISE, 0,
             (TemperBackend *b, const TemperBTensor *dx, const TemperRopeTable *table),
             (b, dx, table))
PROFILED_OP (swiglu, TEMPER_OP_KIND_ELEMENTWISE, 0,
             (TemperBackend *b, const TemperBTensor *out, const TemperBTensor *gate,
              const TemperBTensor *up),
             (b, out, gate, up))
PROFILED_OP (swiglu_backward, TEMPER_OP_KIND_ELEMENTWISE, 0,
             (TemperBackend *b, const TemperBTensor *dgate, const TemperBTensor *dup,
              const TemperBTensor *dout, const TemperBTensor *gate, const TemperBTensor *up),
             (b, dgate, dup, dout, gate, up))
PROFILED_OP (geglu, TEMPER_OP_KIND_ELEMENTWISE, 0,
             (TemperBackend *b, const TemperBTensor *out, const TemperBTensor *gate,
              const TemperBTensor *up),
             (b, out, gate, up))
PROFILED_OP (geglu_backward, TEMPER_OP_KIND_ELEMENTWISE, 0,
             (TemperBackend *b, const TemperBTensor *dgate, const TemperBTensor *dup,
              const TemperBTensor *dout, const TemperBTensor *gate, const TemperBTensor *up),
             (b, dgate, dup, dout, gate, up))
PROFILED_OP (add, TEMPER_OP_KIND_ELEMENTWISE, 0,
             (TemperBackend *b, const TemperBTensor *out, const TemperBTensor *a,
              const TemperBTensor *bt),
             (b, out, a, bt))
PROFILED_OP (scale, TEMPER_OP_KIND_ELEMENTWISE, 0,
             (TemperBackend *b, const TemperBTensor *x, float s),
             (b, x, s))
PROFILED_OP (dequantize, TEMPER_OP_KIND_ELEMENTWISE, 0,
             (TemperBackend *b, const TemperBTensor *out, const TemperBTensor *w),
             (b, out, w))
PROFILED_OP (zero, TEMPER_OP_KIND_ELEMENTWISE, 0,
             (TemperBackend *b, const TemperBTensor *x),
             (b, x))
PROFILED_OP (dropout, TEMPER_OP_KIND_ELEMENTWISE, 0,
             (TemperBackend *b, const TemperBTensor *out, const TemperBTensor *x,
              float p, guint64 key),
             (b, out, x, p, key))
PROFILED_OP (softcap, TEMPER_OP_KIND_ELEMENTWISE, 0,
             (TemperBackend *b, const TemperBTensor *x, float cap),
             (b, x, cap))

static const TemperBackendOps *
profiled_ops (void)
{
  static TemperBackendOps ops;
  static gsize ready = 0;

  if (g_once_init_enter (&ready))
    {
      ops = temper_cpu_plain_ops;
      ops.matmul = profiled_matmul;
      ops.matmul_shared_input = profiled_matmul_shared_input;
      ops.matmul_backward_input = profiled_matmul_backward_input;
      ops.gemm = profiled_gemm;
      ops.matmul_lora = profiled_matmul_lora;
      ops.lora_b_backward = profiled_lora_b_backward;
      ops.matmul_backward_input_lora = profiled_matmul_backward_input_lora;
      ops.attention = profiled_attention;
      ops.attention_backward = profiled_attention_backward;
      ops.lm_head_cross_entropy = profiled_lm_head_cross_entropy;
      ops.adamw = profiled_adamw;
      ops.sum_squares = profiled_sum_squares;
      ops.embedding = profiled_embedding;
      ops.rmsnorm = profiled_rmsnorm;
      ops.rmsnorm_backward = profiled_rmsnorm_backward;
      ops.rope = profiled_rope;
      ops.rope_backward = profiled_rope_backward;
      ops.rope_table = profiled_rope_table;
      ops.rope_table_backward = profiled_rope_table_backward;
      ops.swiglu = profiled_swiglu;
      ops.swiglu_backward = profiled_swiglu_backward;
      ops.geglu = profiled_geglu;
      ops.geglu_backward = profiled_geglu_backward;
      ops.add = profiled_add;
      ops.scale = profiled_scale;
      ops.dequantize = profiled_dequantize;
      ops.zero = profiled_zero;
      ops.dropout = profiled_dropout;
      ops.softcap = profiled_softcap;
      g_once_init_leave (&ready, 1);
    }
  return &ops;
}

void
temper_cpu_backend_set_profile (TemperBackend *backend, TemperOpProfile *profile)
{
  TemperCpuBackend *cpu = TEMPER_CPU (backend);

  g_return_if_fail (backend->kind == TEMPER_BACKEND_CPU);
  cpu->profile = profile;
  backend->ops = profile != NULL ? profiled_ops () : &temper_cpu_plain_ops;
  temper_cpu_pool_set_timing (cpu->pool, profile != NULL);
}

/* The shape of a frozen projection of the demo model held in fp32
 * (1024 tokens × 576 features into 1536), as tests/bench/bench-cpu-gemm.c
 * measures it: the rate the training step's FLOP/s is held against. */
/* The fp32 GEMM, or with @bf16 the frozen matmul in bfloat16 (its
 * activations rounded and weights packed in every call, as training runs it). */
static double
measure_gemm (TemperBackend *backend, double seconds, gboolean bf16)
{
  const int M = 1024, N = 1536, K = 576;
  TemperBuffer *buf;
  TemperBTensor a, w, c;
  float *f;
  size_t floats = (size_t) M * K + (size_t) N * K + (size_t) M * N;
  double flops = 2.0 * M * N * K;
  gint64 start;
  int reps = 0;

  g_return_val_if_fail (backend->kind == TEMPER_BACKEND_CPU, 0);
  buf = temper_backend_buffer_alloc (backend, floats * sizeof (float), TEMPER_BUFFER_ACTIVATIONS,
                                     NULL);
  if (buf == NULL)
    return 0;
  f = (float *) buf->host;
  for (size_t i = 0; i < floats; i++)
    f[i] = (float) ((gint64) ((i * 7919) % 2001) - 1000) * 1e-3f;
  a = temper_btensor (buf, 0, TEMPER_TYPE_F32, K, M);
  w = temper_btensor (buf, sizeof (float) * (size_t) M * K, TEMPER_TYPE_F32, K, N);
  c = temper_btensor (buf, sizeof (float) * ((size_t) M * K + (size_t) N * K), TEMPER_TYPE_F32, N, M);
#define RUN_ONCE()                                                                          \
  (bf16 ? (void) temper_cpu_matmul_bf16 (TEMPER_CPU (backend), cpu_f32 (&c), cpu_f32 (&a), M,   \
                                         cpu_data (&w), TEMPER_TYPE_F32, K, N, NULL, FALSE,    \
                                         TEMPER_BF16_SPLIT_NONE)                              \
        : temper_cpu_gemm (backend, &c, &a, FALSE, &w, TRUE, 1.0f, 0.0f))
  RUN_ONCE ();   /* warm-up */
  start = monotonic_ns ();
  do
    {
      RUN_ONCE ();
      reps++;
    }
  while ((double) (monotonic_ns () - start) * 1e-9 < seconds);
#undef RUN_ONCE
  temper_backend_buffer_free (backend, buf);
  return flops * reps / ((double) (monotonic_ns () - start) * 1e-9) * 1e-9;
}

double
temper_cpu_backend_measure_gemm_gflops (TemperBackend *backend, double seconds)
{
  return measure_gemm (backend, seconds, FALSE);
}

double
temper_cpu_backend_measure_bf16_gemm_gflops (TemperBackend *backend, double seconds)
{
  g_return_val_if_fail (backend->kind == TEMPER_BACKEND_CPU, 0);
  if (TEMPER_CPU (backend)->k.bf16_frozen == TEMPER_BF16_GEMM_NONE)
    return 0;
  return measure_gemm (backend, seconds, TRUE);
}
