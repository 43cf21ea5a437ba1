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
