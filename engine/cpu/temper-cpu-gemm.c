/* gemm: C = alpha·op(A)·op(B) + beta·C in fp32, for the LoRA products. */
#include "config.h"

#include <string.h>

#include "temper-cpu-private.h"

typedef struct {
  TemperCpuBackend *cpu;
  float *c;
  const float *a, *b;
  int64_t M, N, K, lda, ldb;
  gboolean ta, tb;
  float alpha, beta;
} GemmWork;

static void
gemm_task (void *data, int ith, int nth)
{
  GemmWork *g = data;
  const TemperCpuKernels *k = &g->cpu->k;
  float *arow = temper_cpu_scratch_for (g->cpu, ith);
  gint64 m0, m1;

  temper_cpu_split (g->M, ith, nth, &m0, &m1);
  for (gint64 m = m0; m < m1; m++)
    {
      float *crow = g->c + m * g->N;
      const float *am;

      /* Row m of op(A), contiguous. */
      if (g->ta)
        {
          for (int64_t kk = 0; kk < g->K; kk++)
            arow[kk] = g->a[kk * g->lda + m];
          am = arow;
        }
      else
        am = g->a + m * g->lda;

      if (g->beta == 0.0f)
        memset (crow, 0, sizeof (float) * (size_t) g->N);
      else if (g->beta != 1.0f)
        for (int64_t n = 0; n < g->N; n++)
          crow[n] *= g->beta;

      if (g->tb)
        /* op(B)[k][n] = B[n][k]: a dot product per output. */
        for (int64_t n = 0; n < g->N; n++)
          crow[n] += g->alpha * k->dot_f32 (am, g->b + n * g->ldb, g->K);
      else
        for (int64_t kk = 0; kk < g->K; kk++)
          if (am[kk] != 0.0f)
            k->axpy (g->alpha * am[kk], g->b + kk * g->ldb, crow, g->N);
    }
}

void
temper_cpu_gemm (TemperBackend *b, const TemperBTensor *c, const TemperBTensor *a,
                 gboolean transpose_a, const TemperBTensor *bmat, gboolean transpose_b,
                 float alpha, float beta)
{
  TemperCpuBackend *cpu = TEMPER_CPU (b);
  GemmWork g = {
    .cpu = cpu, .c = cpu_f32 (c), .a = cpu_f32 (a), .b = cpu_f32 (bmat),
    .M = c->ne[1], .N = c->ne[0], .K = transpose_a ? a->ne[1] : a->ne[0],
    .lda = a->ne[0], .ldb = bmat->ne[0], .ta = transpose_a, .tb = transpose_b,
    .alpha = alpha, .beta = beta,
  };

  g_assert ((transpose_a ? a->ne[0] : a->ne[1]) == g.M);
  g_assert ((transpose_b ? bmat->ne[0] : bmat->ne[1]) == g.K);
  g_assert ((transpose_b ? bmat->ne[1] : bmat->ne[0]) == g.N);
  temper_cpu_reserve_scratch (cpu, (size_t) g.K);
  temper_cpu_pool_run (cpu->pool, gemm_task, &g);
}
