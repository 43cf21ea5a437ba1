/* SPDX-License-Identifier: MIT */
/* A blocked fp32 GEMM, C += alpha·A·B, for many-token matmuls and the LoRA
 * products.
 *
 * The loops follow the usual Goto/BLIS scheme: a KC×NC block of B is packed
 * into panels of NR columns (each panel stays in L1 while it is used), an
 * MC×KC block of A into panels of MR rows (the block stays in L2; a
 * row-major A is read where it lies instead), and a
 * register tile of MR×NR outputs is computed by k->gemm_tile over one A panel
 * and one B panel.  Packing makes the tile's loads contiguous whatever the
 * strides of A and B, so transposed operands cost nothing extra.  Panels are
 * zero-padded at the edges and edge tiles go through a small buffer, so the
 * tile kernel only ever sees whole tiles.  Single-threaded: callers give each
 * thread its own part of C and its own work memory. */
#include "config.h"

#include <string.h>

#include "temper-cpu-private.h"

#define MR TEMPER_CPU_GEMM_MR
#define NR TEMPER_CPU_GEMM_NR
#define MC TEMPER_CPU_GEMM_MC
#define KC TEMPER_CPU_GEMM_KC
#define NC TEMPER_CPU_GEMM_NC

G_STATIC_ASSERT (MC % MR == 0);
G_STATIC_ASSERT (NC % NR == 0);

void
temper_cpu_gemm_tile_scalar (int64_t kc, const float *pa, int64_t ak, int64_t ar,
                             const float *pb, float *c, int64_t ldc, float alpha)
{
  float acc[MR][NR] = { { 0 } };

  for (int64_t k = 0; k < kc; k++, pb += NR)
    for (int i = 0; i < MR; i++)
      for (int j = 0; j < NR; j++)
        acc[i][j] += pa[k * ak + i * ar] * pb[j];
  for (int i = 0; i < MR; i++)
    for (int j = 0; j < NR; j++)
      c[i * ldc + j] += alpha * acc[i][j];
}

/* Rows [i0, i0 + mc) and columns [k0, k0 + kc) of A into panels of MR rows:
 * panel p holds, for each k, the MR values A[i0 + p·MR + r][k]. */
static void
pack_a (float *dst, const float *a, int64_t rsa, int64_t csa,
        int64_t i0, int64_t mc, int64_t k0, int64_t kc)
{
  if (rsa == 1)
    {
      /* A transposed: the mc values of one k lie side by side in one row
       * of memory, so walk k and deal each row out to the panels, MR values
       * at a time.  (Walking a panel's k instead strides a whole row per
       * value, and rows of 4 or 6 KiB fall into the same few cache sets.) */
      int64_t full = mc / MR * MR;

      if (full < mc)
        memset (dst + full * kc, 0, sizeof (float) * (size_t) (MR * kc));
      for (int64_t k = 0; k < kc; k++)
        {
          const float *src = a + i0 + (k0 + k) * csa;

          for (int64_t p = 0; p < full; p += MR)
            memcpy (dst + p * kc + k * MR, src + p, sizeof (float) * MR);
          for (int64_t r = full; r < mc; r++)
            dst[full * kc + k * MR + (r - full)] = src[r];
        }
      return;
    }
  for (int64_t p = 0; p < mc; p += MR, dst += MR * kc)
    {
      int64_t rows = MIN (MR, mc - p);

      if (rows < MR)
        memset (dst, 0, sizeof (float) * (size_t) (MR * kc));
      for (int64_t r = 0; r < rows; r++)
        {
          const float *src = a + (i0 + p + r) * rsa + k0 * csa;

          for (int64_t k = 0; k < kc; k++)
            dst[k * MR + r] = src[k * csa];
        }
    }
}

void
temper_cpu_pack_b_transposed_scalar (float *dst, const float *src, int64_t ld, int64_t kc)
{
  for (int64_t c = 0; c < NR; c++)
    for (int64_t k = 0; k < kc; k++)
      dst[k * NR + c] = src[c * ld + k];
}

/* Rows [k0, k0 + kc) and columns [j0, j0 + nc) of B into panels of NR
 * columns: panel p holds, for each k, the NR values B[k][j0 + p·NR + c]. */
static void
pack_b (const TemperCpuKernels *k, float *dst, const float *b, int64_t rsb, int64_t csb,
        int64_t k0, int64_t kc, int64_t j0, int64_t nc)
{
  for (int64_t p = 0; p < nc; p += NR, dst += NR * kc)
    {
      int64_t cols = MIN (NR, nc - p);
      const float *src = b + k0 * rsb + (j0 + p) * csb;

      if (cols == NR && csb == 1)
        {
          for (int64_t kk = 0; kk < kc; kk++)
            memcpy (dst + kk * NR, src + kk * rsb, sizeof (float) * NR);
          continue;
        }
      if (cols == NR && rsb == 1)
        {
          k->pack_b_transposed (dst, src, csb, kc);
          continue;
        }
      if (cols < NR)
        memset (dst, 0, sizeof (float) * (size_t) (NR * kc));
      /* Walk each column along k: when B is a transposed row-major matrix
       * (csb > 1, rsb == 1) that reads memory in order. */
      for (int64_t col = 0; col < cols; col++)
        for (int64_t kk = 0; kk < kc; kk++)
          dst[kk * NR + col] = src[kk * rsb + col * csb];
    }
}

/* Adds the @rows × @cols corner of a tile formed in @edge (row stride NR)
 * into C, whose element (i, j) is c[i·rsc + j·csc]. */
static void
add_edge (const float *edge, int64_t rows, int64_t cols, float *c, int64_t rsc, int64_t csc)
{
  if (csc == 1)
    {
      for (int64_t r = 0; r < rows; r++)
        for (int64_t col = 0; col < cols; col++)
          c[r * rsc + col] += edge[r * NR + col];
      return;
    }
  /* A transposed C: walk each tile column, which lies along memory. */
  for (int64_t col = 0; col < cols; col++)
    for (int64_t r = 0; r < rows; r++)
      c[col * csc + r * rsc] += edge[r * NR + col];
}

void
temper_cpu_sgemm_strided (const TemperCpuKernels *k, float *work,
                          int64_t M, int64_t N, int64_t K, float alpha,
                          const float *a, int64_t rsa, int64_t csa,
                          const float *b, int64_t rsb, int64_t csb,
                          float *c, int64_t rsc, int64_t csc)
{
  float *pa = work, *pb = work + MC * KC;
  float edge[MR * NR];

  for (int64_t j0 = 0; j0 < N; j0 += NC)
    {
      int64_t nc = MIN (NC, N - j0);
      /* A row-major A is read where it lies (twelve row streams are as good
       * as one packed stream); only its last, partial row panel is packed,
       * to pad it with zeros. */
      gboolean in_place = csa == 1;

      for (int64_t k0 = 0; k0 < K; k0 += KC)
        {
          int64_t kc = MIN (KC, K - k0);

          pack_b (k, pb, b, rsb, csb, k0, kc, j0, nc);
          for (int64_t i0 = 0; i0 < M; i0 += MC)
            {
              int64_t mc = MIN (MC, M - i0);
              int64_t full = in_place ? mc / MR * MR : 0;

              if (full < mc)
                pack_a (pa + full * kc, a, rsa, csa, i0 + full, mc - full, k0, kc);
              for (int64_t jr = 0; jr < nc; jr += NR)
                {
                  int64_t cols = MIN (NR, nc - jr);
                  const float *bp = pb + jr * kc;

                  for (int64_t ir = 0; ir < mc; ir += MR)
                    {
                      int64_t rows = MIN (MR, mc - ir);
                      gboolean direct = ir < full;
                      const float *ap = direct ? a + (i0 + ir) * rsa + k0 * csa : pa + ir * kc;
                      int64_t ak = direct ? csa : MR, ar = direct ? rsa : 1;
                      float *ct = c + (i0 + ir) * rsc + (j0 + jr) * csc;

                      if (rows == MR && cols == NR && csc == 1)
                        {
                          k->gemm_tile (kc, ap, ak, ar, bp, ct, rsc, alpha);
                          continue;
                        }
                      memset (edge, 0, sizeof edge);
                      k->gemm_tile (kc, ap, ak, ar, bp, edge, NR, alpha);
                      add_edge (edge, rows, cols, ct, rsc, csc);
                    }
                }
            }
        }
    }
}

void
temper_cpu_sgemm (const TemperCpuKernels *k, float *work,
                  int64_t M, int64_t N, int64_t K, float alpha,
                  const float *a, int64_t rsa, int64_t csa,
                  const float *b, int64_t rsb, int64_t csb,
                  float *c, int64_t ldc)
{
  temper_cpu_sgemm_strided (k, work, M, N, K, alpha, a, rsa, csa, b, rsb, csb, c, ldc, 1);
}
