/* SPDX-License-Identifier: MIT */
/* temper-cpu-avx512.h — kernels built with -mavx512f in their own static
 * library; call them only after __builtin_cpu_supports ("avx512f"). */
#pragma once

#include <glib.h>
#include <stdint.h>

#include "temper-backend.h"

G_BEGIN_DECLS

/* The 12×16 register tile of temper_cpu_sgemm () (see
 * TemperCpuKernels.gemm_tile). */
void temper_cpu_avx512_gemm_tile (int64_t kc, const float *pa, int64_t ak, int64_t ar,
                                  const float *pb, float *c, int64_t ldc, float alpha);

/* The tiled attention's blocks (temper-cpu-avx512-attention.c): queries
 * and keys go in blocks of this many rows, as in temper-cpu-attention.c.
 * Not for soft-capped scores. */
#define TEMPER_CPU_AVX512_ATTENTION_TILE 48

/* Floats of per-thread work memory the forward and backward below need. */
size_t temper_cpu_avx512_attention_forward_work  (const TemperAttentionParams *p);
size_t temper_cpu_avx512_attention_backward_work (const TemperAttentionParams *p);
/* Query block @qb of head @h of sequence @s: its rows of @o and, when @lse
 * is not NULL, of the log-sum-exp. */
void   temper_cpu_avx512_attention_forward_block (const TemperAttentionParams *p, const float *q,
                                                  const float *k, const float *v, float *o,
                                                  float *lse, int s, int h, int64_t qb, float *work);

typedef struct {
  const float *q, *k, *v, *out, *lse, *dout;
  float       *dq, *dk, *dv;
} TemperCpuAttentionGrad;

/* The gradients of kv head @kvh of sequence @s: its rows of dk and dv and
 * the dq rows of the query heads that read it (added to). */
void   temper_cpu_avx512_attention_backward_group (const TemperAttentionParams *p,
                                                   const TemperCpuAttentionGrad *g,
                                                   int s, int kvh, float *work);

/* Built with -mavx512f/bw/vl/vnni (temper-cpu-avx512-dot.c); call them only
 * where the processor has all four.  The 8-bit decoding kernels of
 * temper-cpu-avx2.h for Q4_0, Q4_1, Q5_0, Q5_1 and Q8_0 rows, with VNNI. */
gboolean temper_cpu_avx512_handles_q8 (int type);
float    temper_cpu_avx512_dot_row_q8 (int type, const void *w, const int8_t *q,
                                       const float *d, const float *s, int64_t n);
/* The same for two rows at once (@w0, @w1 → @out[0], @out[1]), for the
 * types of temper_cpu_avx512_handles_q8 () and IQ4_NL. */
gboolean temper_cpu_avx512_handles_q8_2rows (int type);
void     temper_cpu_avx512_dot_2rows_q8 (int type, const void *w0, const void *w1, const int8_t *q,
                                         const float *d, const float *s, int64_t n, float out[2]);
/* The same for four consecutive rows (@w and the next three, @row_bytes
 * apart → @out[0..3]), for Q4_0, Q4_1, Q5_0, Q5_1, IQ4_NL, Q8_0, IQ4_XS
 * and Q4_K. */
gboolean temper_cpu_avx512_handles_q8_4rows (int type);
void     temper_cpu_avx512_dot_4rows_q8 (int type, const void *w, size_t row_bytes, const int8_t *q,
                                         const float *d, const float *s, int64_t n, float out[4]);
/* Σ w·x over @n elements of an F16 or BF16 row (@type), in fp32. */
float    temper_cpu_avx512_dot_half   (int type, const void *w, const float *x, int64_t n);
/* Σ w·x over @n elements of a BF16 row with x rounded to bfloat16 (for
 * decoding) with AVX512-BF16; call it only where CPUID says the processor
 * has it (temper-cpu-kernels.c checks). */
float    temper_cpu_avx512_dot_bf16_rounded (const void *w, const float *x, int64_t n);
/* The same in two steps: x rounded once (whole groups of 32 into @out),
 * then each row against it (@x gives the unrounded tail). */
void     temper_cpu_avx512_round_bf16 (const float *x, int64_t n, uint16_t *out);
float    temper_cpu_avx512_dot_bf16_pre (const void *w, const uint16_t *xb, const float *x, int64_t n);
/* temper_cpu_avx512_dot_bf16_pre () of two rows at once (@w0, @w1 →
 * @out[0], @out[1]). */
void     temper_cpu_avx512_dot_bf16_pre_2rows (const void *w0, const void *w1, const uint16_t *xb,
                                               const float *x, int64_t n, float out[2]);

G_END_DECLS
