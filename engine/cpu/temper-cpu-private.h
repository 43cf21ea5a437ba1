/* SPDX-License-Identifier: MIT */
/* temper-cpu-private.h — what the CPU backend's op files share. */
#pragma once

#include "temper-backend.h"
#include "temper-cpu-bf16-gemm.h"
#include "temper-cpu-pool.h"
#include "temper-cpu-q8-gemm.h"
#include "temper/op-profile.h"

G_BEGIN_DECLS

typedef struct {
  /* Σ dequant(w)·x over n elements of one row of @type. */
  float (*dot_row)     (int type, const void *w, const float *x, int64_t n);
  void  (*dequant_row) (int type, const void *src, int64_t n, float *out);
  float (*dot_f32)     (const float *a, const float *b, int64_t n);
  void  (*axpy)        (float a, const float *x, float *y, int64_t n);
  /* 8-bit activations for decoding; NULL when not in use (see
   * temper-cpu-avx2.h).  handles_q8 says which weight types they cover. */
  gboolean (*handles_q8) (int type);
  void  (*quantize_q8) (const float *x, int64_t n, int8_t *q, float *d, float *s);
  float (*dot_row_q8)  (int type, const void *w, const int8_t *q, const float *d,
                        const float *s, int64_t n);
  /* dot_row_q8 of two rows at once (one token), for the types
   * handles_q8_2rows takes; NULL where there is no such kernel. */
  gboolean (*handles_q8_2rows) (int type);
  /* Decoding BF16 rows against x rounded to bfloat16 once per product
   * (round_bf16, then dot_bf16_pre per row; see temper-cpu-avx512.h);
   * NULL where not in use. */
  void  (*round_bf16)     (const float *x, int64_t n, uint16_t *out);
  float (*dot_bf16_pre)   (const void *w, const uint16_t *xb, const float *x, int64_t n);
  void  (*dot_bf16_pre_2rows) (const void *w0, const void *w1, const uint16_t *xb,
                               const float *x, int64_t n, float out[2]);
  void  (*dot_2rows_q8) (int type, const void *w0, const void *w1, const int8_t *q,
                         const float *d, const float *s, int64_t n, float out[2]);
  /* dot_row_q8 of four consecutive rows (@row_bytes apart) at once, for
   * the types handles_q8_4rows takes; NULL where there is no such kernel. */
  gboolean (*handles_q8_4rows) (int type);
  void  (*dot_4rows_q8) (int type, const void *w, size_t row_bytes, const int8_t *q,
                         const float *d, const float *s, int64_t n, float out[4]);
  /* The register tile of temper_cpu_sgemm (): C[MR×NR] += alpha·A·pb
   * with A[i][k] = pa[k·ak + i·ar] and pb a packed B panel. */
  void  (*gemm_tile)   (int64_t kc, const float *pa, int64_t ak, int64_t ar,
                        const float *pb, float *c, int64_t ldc, float alpha);
  /* One packed B panel from sixteen rows of a transposed B (the weight rows
   * of y = x·Wᵀ): dst[k·NR + c] = src[c·ld + k] for k < kc. */
  void  (*pack_b_transposed) (float *dst, const float *src, int64_t ld, int64_t kc);
  /* Many-token products with activations rounded to 8 bits, through
   * AVX-512 VNNI or AVX2 (temper-cpu-matmul-prefill.c); NULL when not in
   * use (never for training: only generation's fast mode takes it). */
  const TemperQ8Gemm *prefill_q8;
  /* Training's frozen-weight products (matmul and its input gradient) in
   * bfloat16 with fp32 sums (temper-cpu-matmul-bf16.c): fast mode only;
   * NONE keeps them exact in fp32. */
  TemperBf16GemmKind bf16_frozen;
  /* The layers' forward products (the matmul op) in bfloat16 too, with
   * operands split as bf16_forward_split says.  Generation's prompts round
   * plainly (NONE).  Training's fast mode splits both on AMX (BOTH: three
   * bf16 terms, about 4e-6 of |x|·|W| off, fp32's accuracy for training's
   * purpose) and keeps fp32 elsewhere: a plainly rounded forward trains the
   * adapter on a model ~0.2 % off in every product, which moved each step's
   * LoRA gradient by 2.7 % (0.77 % with the forward fp32 or split) and
   * taught the demo model fewer facts. */
  gboolean bf16_forward;
  TemperBf16Split bf16_forward_split;
  /* x[i] = exp(x[i] − sub), returning their sum; and SwiGLU's forward and
   * backward (see temper-cpu-avx2-exp.h). */
  double (*exp_sub_sum) (float *x, int64_t n, float sub);
  void  (*swiglu)      (const float *g, const float *u, float *o, int64_t n);
  void  (*swiglu_backward) (const float *g, const float *u, const float *d, float *dg, float *du,
                            int64_t n);
  /* The tiled attention's blocks through AVX-512 register tiles
   * (temper-cpu-avx512.h) instead of the blocked GEMM. */
  gboolean attention_avx512;
  const char *name;
} TemperCpuKernels;

/* Blocking of temper_cpu_sgemm (): the register tile is MR×NR (what the
 * AVX-512 kernel's registers hold; the AVX2 kernel does it in two halves),
 * A blocks MC×KC fit L2, B blocks KC×NC fit L3. */
#define TEMPER_CPU_GEMM_MR 12
#define TEMPER_CPU_GEMM_NR 16
#define TEMPER_CPU_GEMM_MC 144
#define TEMPER_CPU_GEMM_KC 256
#define TEMPER_CPU_GEMM_NC 1024
/* Floats of work memory temper_cpu_sgemm () needs. */
#define TEMPER_CPU_GEMM_WORK (TEMPER_CPU_GEMM_MC * TEMPER_CPU_GEMM_KC + \
                              TEMPER_CPU_GEMM_KC * TEMPER_CPU_GEMM_NC)

typedef struct {
  TemperBackend    parent;
  TemperCpuPool   *pool;
  int              n_threads;
  TemperCpuKernels k;
  /* Per-thread working memory, grown when an op first needs more, so a
   * training step that repeats the same shapes never allocates. */
  float           *scratch;
  size_t           scratch_floats;   /* per thread */
  /* Quantised activations for decoding, shared by all threads. */
  guint8          *q8_scratch;
  size_t           q8_scratch_bytes;
  /* The fused cross-entropy's values per row (loss, or running maximum and
   * sum), grown like the scratch. */
  double          *row_loss;
  size_t           row_loss_len;
  /* The mixture of experts' routing and per-expert activations (floats),
   * and its token lists (ints), grown like the scratch. */
  float           *moe_work;
  size_t           moe_work_len;
  int             *moe_slots;
  size_t           moe_slots_len;
  /* The plain reference (TEMPER_CPU_KERNELS_SCALAR asked for): attention
   * row by row, as the op test's reference computes it. */
  gboolean         plain_attention;
  /* Where op times go while profiling (temper-cpu-profile.c), else NULL. */
  TemperOpProfile *profile;
} TemperCpuBackend;

/* The op table of a backend that does not profile. */
extern const TemperBackendOps temper_cpu_plain_ops;

#define TEMPER_CPU(b) ((TemperCpuBackend *) (b))

static inline void *
cpu_data (const TemperBTensor *t)
{
  return t->buffer->host + t->offset;
}

static inline float *
cpu_f32 (const TemperBTensor *t)
{
  g_assert (t->type == TEMPER_TYPE_F32);
  return (float *) (t->buffer->host + t->offset);
}

/* Row @row of a weight tensor of any type. */
static inline const void *
cpu_row (const TemperBTensor *t, int64_t row)
{
  return t->buffer->host + t->offset + (size_t) row * temper_type_row_bytes (t->type, t->ne[0]);
}

/* Scratch of at least @floats per thread; returns thread @ith's part via
 * temper_cpu_scratch_for (). Call before dispatching work. */
void   temper_cpu_reserve_scratch (TemperCpuBackend *cpu, size_t floats);
static inline float *
temper_cpu_scratch_for (TemperCpuBackend *cpu, int ith)
{
  return cpu->scratch + (size_t) ith * cpu->scratch_floats;
}

void temper_cpu_kernels_init (TemperCpuKernels *k, gboolean allow_simd, gboolean allow_avx512,
                              gboolean allow_q8);

/* y {out, T} = x {in, T} · Wᵀ (+ bias) (+ y), W given as raw rows. Shared by
 * matmul and the fused cross-entropy. */
void temper_cpu_matmul_raw (TemperCpuBackend *cpu, float *y, const float *x, int64_t T,
                            const guint8 *w, int type, int64_t in, int64_t out,
                            const float *bias, gboolean accumulate);
/* temper_cpu_matmul_raw () with rounded activations, where the kernels have
 * it (prefill_q8) for @type; FALSE (nothing done) otherwise. */
gboolean temper_cpu_matmul_prefill (TemperCpuBackend *cpu, float *y, const float *x, int64_t T,
                                    const guint8 *w, int type, int64_t in, int64_t out,
                                    const float *bias, gboolean accumulate);
/* temper_cpu_matmul_raw () and temper_cpu_matmul_backward_raw () in
 * bfloat16 (k.bf16_frozen), for at least TEMPER_CPU_BF16_MIN_TOKENS tokens;
 * FALSE (nothing done) otherwise. */
#define TEMPER_CPU_BF16_MIN_TOKENS 16
/* The fused lm_head + cross-entropy in bfloat16 (temper-cpu-cross-entropy-bf16.c),
 * the vocabulary outermost: adds the loss and target count to @ls[0..1] and
 * the gradient to @dx (when not NULL), working in @scratch where its
 * @scratch_floats suffice, else in the backend's scratch; FALSE (nothing done) where bf16_frozen
 * is NONE or for fewer than TEMPER_CPU_BF16_MIN_TOKENS tokens. */
gboolean temper_cpu_cross_entropy_bf16 (TemperCpuBackend *cpu, float *ls, float *dx, const float *x,
                                        int64_t T, const guint8 *w, int type, int64_t E, int64_t V,
                                        const gint32 *targets, float grad_scale, float cap,
                                        float *scratch, size_t scratch_floats);
gboolean temper_cpu_matmul_bf16 (TemperCpuBackend *cpu, float *y, const float *x, int64_t T,
                                 const guint8 *w, int type, int64_t in, int64_t out,
                                 const float *bias, gboolean accumulate, TemperBf16Split split);
/* temper_cpu_matmul_bf16 () (y overwritten) and then y += s·h·Bᵀ in fp32,
 * h given transposed (hT: r rows of T floats), B out rows of r: the
 * matmul_lora op where the kernels run the forward in bfloat16. */
gboolean temper_cpu_matmul_bf16_lora (TemperCpuBackend *cpu, float *y, const float *x, int64_t T,
                                      const guint8 *w, int type, int64_t in, int64_t out,
                                      const float *bias, TemperBf16Split split,
                                      const float *hT, const float *lora_b, int64_t r, float s);
/* temper_cpu_matmul_backward_bf16 () and then dx += dh·A in fp32, dh given
 * transposed (dhT: r rows of T floats), A r rows of in. */
gboolean temper_cpu_matmul_backward_bf16_lora (TemperCpuBackend *cpu, float *dx, const float *dy,
                                               int64_t T, const guint8 *w, int type, int64_t in,
                                               int64_t out, const float *dhT, const float *lora_a,
                                               int64_t r);
gboolean temper_cpu_matmul_backward_bf16 (TemperCpuBackend *cpu, float *dx, const float *dy,
                                          int64_t T, const guint8 *w, int type,
                                          int64_t in, int64_t out);
/* dx {in, T} += dy {out, T} · W. */
void temper_cpu_matmul_backward_raw (TemperCpuBackend *cpu, float *dx, const float *dy,
                                     int64_t T, const guint8 *w, int type,
                                     int64_t in, int64_t out);

/* C (row stride @ldc) += alpha·A·B with A M×K and B K×N given by element
 * strides (A[i][k] = a[i·rsa + k·csa]), so either may be a transpose.  @work
 * holds TEMPER_CPU_GEMM_WORK floats.  Single-threaded. */
void temper_cpu_sgemm (const TemperCpuKernels *k, float *work,
                       int64_t M, int64_t N, int64_t K, float alpha,
                       const float *a, int64_t rsa, int64_t csa,
                       const float *b, int64_t rsb, int64_t csb,
                       float *c, int64_t ldc);
/* The same into C(i, j) = c[i·rsc + j·csc]: @csc > 1 writes a transposed C. */
void temper_cpu_sgemm_strided (const TemperCpuKernels *k, float *work,
                               int64_t M, int64_t N, int64_t K, float alpha,
                               const float *a, int64_t rsa, int64_t csa,
                               const float *b, int64_t rsb, int64_t csb,
                               float *c, int64_t rsc, int64_t csc);
/* The portable register tile and panel packing. */
void temper_cpu_pack_b_transposed_scalar (float *dst, const float *src, int64_t ld, int64_t kc);
void temper_cpu_gemm_tile_scalar (int64_t kc, const float *pa, int64_t ak, int64_t ar,
                                  const float *pb, float *c, int64_t ldc, float alpha);

/* The ops, one file each (temper-cpu-<op>.c). */
void temper_cpu_embedding (TemperBackend *b, const TemperBTensor *out,
                           const TemperBTensor *table, const TemperBTensor *tokens);
void temper_cpu_rmsnorm (TemperBackend *b, const TemperBTensor *out, const TemperBTensor *rstd,
                         const TemperBTensor *x, const TemperBTensor *weight, float eps);
void temper_cpu_rmsnorm_backward (TemperBackend *b, const TemperBTensor *dx,
                                  const TemperBTensor *dy, const TemperBTensor *x,
                                  const TemperBTensor *weight, const TemperBTensor *rstd);
void temper_cpu_matmul (TemperBackend *b, const TemperBTensor *y, const TemperBTensor *x,
                        const TemperBTensor *w, const TemperBTensor *bias, gboolean accumulate);
void temper_cpu_matmul_shared_input (TemperBackend *b, int count, const TemperBTensor *const *y,
                                     const TemperBTensor *x, const TemperBTensor *const *w,
                                     const TemperBTensor *const *bias);
void temper_cpu_matmul_backward_input (TemperBackend *b, const TemperBTensor *dx,
                                       const TemperBTensor *dy, const TemperBTensor *w);
void temper_cpu_gemm (TemperBackend *b, const TemperBTensor *c, const TemperBTensor *a,
                      gboolean transpose_a, const TemperBTensor *bmat, gboolean transpose_b,
                      float alpha, float beta);
void temper_cpu_matmul_lora (TemperBackend *b, const TemperBTensor *y, const TemperBTensor *x,
                             const TemperBTensor *w, const TemperBTensor *bias, const TemperBTensor *hT,
                             const TemperBTensor *lora_b, float s);
void temper_cpu_lora_b_backward (TemperBackend *b, const TemperBTensor *gb, const TemperBTensor *dhT,
                                 const TemperBTensor *dy, const TemperBTensor *hT,
                                 const TemperBTensor *lora_b, float s);
void temper_cpu_matmul_backward_input_lora (TemperBackend *b, const TemperBTensor *dx,
                                            const TemperBTensor *dy, const TemperBTensor *w,
                                            const TemperBTensor *dhT, const TemperBTensor *lora_a);
void temper_cpu_rope (TemperBackend *b, const TemperBTensor *x, int n_head, int head_dim,
                      int seq_len, int pos_offset, float theta, TemperRopeLayout layout);
void temper_cpu_rope_backward (TemperBackend *b, const TemperBTensor *dx, int n_head, int head_dim,
                               int seq_len, int pos_offset, float theta, TemperRopeLayout layout);
void temper_cpu_attention (TemperBackend *b, const TemperBTensor *out, const TemperBTensor *lse,
                           const TemperBTensor *q, const TemperBTensor *k, const TemperBTensor *v,
                           const TemperAttentionParams *params);
void temper_cpu_attention_backward (TemperBackend *b, const TemperBTensor *dq,
                                    const TemperBTensor *dk, const TemperBTensor *dv,
                                    const TemperBTensor *dout, const TemperBTensor *out,
                                    const TemperBTensor *lse, const TemperBTensor *q,
                                    const TemperBTensor *k, const TemperBTensor *v,
                                    const TemperAttentionParams *params);
void temper_cpu_swiglu (TemperBackend *b, const TemperBTensor *out,
                        const TemperBTensor *gate, const TemperBTensor *up);
void temper_cpu_swiglu_backward (TemperBackend *b, const TemperBTensor *dgate,
                                 const TemperBTensor *dup, const TemperBTensor *dout,
                                 const TemperBTensor *gate, const TemperBTensor *up);
/* Vocabulary words per slice the fused cross-entropy takes for @T rows with
 * @chunk rows of @V logits of scratch, or 0 when it takes chunks of rows. */
int64_t temper_cpu_cross_entropy_slice_words (int64_t T, int64_t chunk, int64_t V);
void temper_cpu_lm_head_cross_entropy (TemperBackend *b, const TemperBTensor *loss,
                                       const TemperBTensor *dx, const TemperBTensor *x,
                                       const TemperBTensor *w, const TemperBTensor *targets,
                                       const TemperBTensor *scratch, float grad_scale);
void temper_cpu_lm_head_cross_entropy_softcap (TemperBackend *b, const TemperBTensor *loss,
                                               const TemperBTensor *dx, const TemperBTensor *x,
                                               const TemperBTensor *w, const TemperBTensor *targets,
                                               const TemperBTensor *scratch, float grad_scale, float cap);
void temper_cpu_adamw (TemperBackend *b, const TemperBTensor *param, const TemperBTensor *grad,
                       const TemperBTensor *m, const TemperBTensor *v,
                       const TemperBTensor *grad_sumsq, const TemperAdamWParams *params);
void temper_cpu_rope_table (TemperBackend *b, const TemperBTensor *x, const TemperRopeTable *table);
void temper_cpu_rope_table_backward (TemperBackend *b, const TemperBTensor *dx,
                                     const TemperRopeTable *table);
void temper_cpu_geglu (TemperBackend *b, const TemperBTensor *out,
                       const TemperBTensor *gate, const TemperBTensor *up);
void temper_cpu_geglu_backward (TemperBackend *b, const TemperBTensor *dgate,
                                const TemperBTensor *dup, const TemperBTensor *dout,
                                const TemperBTensor *gate, const TemperBTensor *up);
void temper_cpu_softcap (TemperBackend *b, const TemperBTensor *x, float cap);
/* temper-cpu-moe.c */
void temper_cpu_moe (TemperBackend *b, const TemperBTensor *out, const TemperBTensor *x,
                     const TemperMoe *moe);
void temper_cpu_moe_backward (TemperBackend *b, const TemperBTensor *dx, const TemperBTensor *dout,
                              const TemperBTensor *x, const TemperMoe *moe);

/* temper-cpu-elementwise.c: add, sum of squares, scale, dequantize, zero. */
void temper_cpu_add (TemperBackend *b, const TemperBTensor *out,
                     const TemperBTensor *a, const TemperBTensor *bt);
void temper_cpu_sum_squares (TemperBackend *b, const TemperBTensor *out, const TemperBTensor *x);
void temper_cpu_scale (TemperBackend *b, const TemperBTensor *x, float s);
void temper_cpu_dequantize (TemperBackend *b, const TemperBTensor *out, const TemperBTensor *w);
void temper_cpu_zero (TemperBackend *b, const TemperBTensor *x);
/* temper-cpu-dropout.c */
void temper_cpu_dropout (TemperBackend *b, const TemperBTensor *out, const TemperBTensor *x,
                         float p, guint64 key);

G_END_DECLS
