/* SPDX-License-Identifier: MIT */
/* gemm: C = alpha·op(A)·op(B) + beta·C in fp32, for the LoRA products.
 *
 * Threads split C along its longer side in whole register tiles, scale their
 * own part by beta, and run the blocked GEMM on it; transposes are only
 * strides to the GEMM's packing.  A C of few rows and many columns (LoRA's
 * dA = dhᵀ·x, rank rows) is formed as Cᵀ = op(B)ᵀ·op(A)ᵀ: its rows then fill
 * the register tile's sixteen columns instead of padding 16 rows to 24 of
 * the tile's twelve, and the tall operand is read in place. */
#include "config.h"

#include <string.h>

#include "temper-cpu-private.h"

typedef struct {
  TemperCpuBackend *cpu;
  float *c;
  const float *a, *b;
  int64_t M, N, K;
  int64_t rsa, csa, rsb, csb;
  float alpha, beta;
  gboolean transposed;   /* form Cᵀ (see above) */
} GemmWork;

/* Whether C (M×N) is better formed as Cᵀ: at most a few register tiles of
 * rows against many columns. */
static gboolean
form_transposed (int64_t M, int64_t N)
{
  return M <= 3 * TEMPER_CPU_GEMM_NR && N >= 4 * M;
}

static void
gemm_task (void *data, int ith, int nth)
{
  GemmWork *g = data;
  float *work = temper_cpu_scratch_for (g->cpu, ith);
  gint64 m0 = 0, m1 = g->M, n0 = 0, n1 = g->N;

  if (g->transposed)
    temper_cpu_split_aligned (g->N, TEMPER_CPU_GEMM_MR, ith, nth, &n0, &n1);
  else if (g->M >= g->N)
    temper_cpu_split_aligned (g->M, TEMPER_CPU_GEMM_MR, ith, nth, &m0, &m1);
  else
    temper_cpu_split_aligned (g->N, TEMPER_CPU_GEMM_NR, ith, nth, &n0, &n1);
  if (m0 >= m1 || n0 >= n1)
    return;

  for (gint64 m = m0; m < m1; m++)
    {
      float *crow = g->c + m * g->N;

      if (g->beta == 0.0f)
        memset (crow + n0, 0, sizeof (float) * (size_t) (n1 - n0));
      else if (g->beta != 1.0f)
        for (gint64 n = n0; n < n1; n++)
          crow[n] *= g->beta;
    }
  if (g->alpha == 0.0f || g->K == 0)
    return;
  if (g->transposed)
    {
      /* Cᵀ[n][m] = Σ_k op(B)[k][n]·op(A)[m][k], written into C's columns. */
      temper_cpu_sgemm_strided (&g->cpu->k, work, n1 - n0, m1 - m0, g->K, g->alpha,
                                g->b + n0 * g->csb, g->csb, g->rsb,
                                g->a + m0 * g->rsa, g->csa, g->rsa,
                                g->c + m0 * g->N + n0, 1, g->N);
      return;
    }
  temper_cpu_sgemm (&g->cpu->k, work, m1 - m0, n1 - n0, g->K, g->alpha,
                    g->a + m0 * g->rsa, g->rsa, g->csa,
                    g->b + n0 * g->csb, g->rsb, g->csb,
                    g->c + m0 * g->N + n0, g->N);
}

void
temper_cpu_gemm (TemperBackend *b, const TemperBTensor *c, const TemperBTensor *a,
                 gboolean transpose_a, const TemperBTensor *bmat, gboolean transpose_b,
                 float alpha, float beta)
{
  TemperCpuBackend *cpu = TEMPER_CPU (b);
  int64_t lda = a->ne[0], ldb = bmat->ne[0];
  GemmWork g = {
    .cpu = cpu, .c = cpu_f32 (c), .a = cpu_f32 (a), .b = cpu_f32 (bmat),
    .M = c->ne[1], .N = c->ne[0], .K = transpose_a ? a->ne[1] : a->ne[0],
    /* op(A)[i][k] is A[k][i] when transposed, A[i][k] otherwise. */
    .rsa = transpose_a ? 1 : lda, .csa = transpose_a ? lda : 1,
    .rsb = transpose_b ? 1 : ldb, .csb = transpose_b ? ldb : 1,
    .alpha = alpha, .beta = beta,
  };

  g.transposed = form_transposed (g.M, g.N);
  g_assert ((transpose_a ? a->ne[0] : a->ne[1]) == g.M);
  g_assert ((transpose_b ? bmat->ne[0] : bmat->ne[1]) == g.K);
  g_assert ((transpose_b ? bmat->ne[1] : bmat->ne[0]) == g.N);
  temper_cpu_reserve_scratch (cpu, TEMPER_CPU_GEMM_WORK);
  temper_cpu_pool_run (cpu->pool, gemm_task, &g);
}

/* The bfloat16 forward adds the LoRA path to y while y is in cache (see
 * temper_cpu_matmul_bf16_lora ()); every other path is the two ops. */
void
temper_cpu_matmul_lora (TemperBackend *b, const TemperBTensor *y, const TemperBTensor *x,
                        const TemperBTensor *w, const TemperBTensor *bias, const TemperBTensor *hT,
                        const TemperBTensor *lora_b, float s)
{
  TemperCpuBackend *cpu = TEMPER_CPU (b);

  g_assert (x->ne[0] == w->ne[0] && y->ne[0] == w->ne[1] && y->ne[1] == x->ne[1]);
  g_assert (hT->ne[0] == x->ne[1] && lora_b->ne[0] == hT->ne[1] && lora_b->ne[1] == y->ne[0]);
  g_assert (bias == NULL || bias->ne[0] * bias->ne[1] == w->ne[1]);
  /* As temper_cpu_matmul () chooses: generation's 8-bit prompts first. */
  if (!cpu->k.prefill_q8 && cpu->k.bf16_forward &&
      temper_cpu_matmul_bf16_lora (cpu, cpu_f32 (y), cpu_f32 (x), x->ne[1], cpu_data (w), w->type,
                                   w->ne[0], w->ne[1], bias != NULL ? cpu_f32 (bias) : NULL,
                                   cpu->k.bf16_forward_split, cpu_f32 (hT), cpu_f32 (lora_b),
                                   hT->ne[1], s))
    return;
  temper_cpu_matmul (b, y, x, w, bias, FALSE);
  temper_cpu_gemm (b, y, hT, TRUE, lora_b, TRUE, s, 1.0f);
}

/* The bfloat16 input gradient adds LoRA's path to dx while dx is in cache
 * (temper_cpu_matmul_backward_bf16_lora ()); every other path is the two
 * ops. */
void
temper_cpu_matmul_backward_input_lora (TemperBackend *b, const TemperBTensor *dx,
                                       const TemperBTensor *dy, const TemperBTensor *w,
                                       const TemperBTensor *dhT, const TemperBTensor *lora_a)
{
  TemperCpuBackend *cpu = TEMPER_CPU (b);

  g_assert (dx->ne[0] == w->ne[0] && dy->ne[0] == w->ne[1] && dx->ne[1] == dy->ne[1]);
  g_assert (dhT->ne[0] == dx->ne[1] && lora_a->ne[0] == dx->ne[0] && lora_a->ne[1] == dhT->ne[1]);
  /* As temper_cpu_matmul_backward_input () chooses. */
  if (!cpu->k.prefill_q8 &&
      temper_cpu_matmul_backward_bf16_lora (cpu, cpu_f32 (dx), cpu_f32 (dy), dx->ne[1], cpu_data (w),
                                            w->type, w->ne[0], w->ne[1], cpu_f32 (dhT),
                                            cpu_f32 (lora_a), dhT->ne[1]))
    return;
  temper_cpu_matmul_backward_input (b, dx, dy, w);
  temper_cpu_gemm (b, dx, dhT, TRUE, lora_a, FALSE, 1.0f, 1.0f);
}
