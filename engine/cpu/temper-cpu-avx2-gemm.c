/* SPDX-License-Identifier: MIT */
/* The AVX2/FMA register tile of the blocked fp32 GEMM (temper-cpu-sgemm.c).
 * Six rows by sixteen columns keep twelve accumulators, two B vectors and one
 * broadcast A value in the sixteen ymm registers, so every loaded value feeds
 * several FMAs and the loop is bound by FMA throughput, not by loads.  The
 * GEMM's tile is twelve rows (what the AVX-512 tile holds), done here as two
 * six-row passes over the same B panel, which stays in L1. */
#include "config.h"

#include <immintrin.h>

#include "temper-cpu-avx2.h"

static inline void
tile_6x16 (int64_t kc, const float *pa, int64_t ak, int64_t ar,
           const float *pb, float *c, int64_t ldc, float alpha)
{
  const float *a0 = pa, *a1 = pa + ar, *a2 = pa + 2 * ar;
  const float *a3 = pa + 3 * ar, *a4 = pa + 4 * ar, *a5 = pa + 5 * ar;
  __m256 c00 = _mm256_setzero_ps (), c01 = _mm256_setzero_ps ();
  __m256 c10 = _mm256_setzero_ps (), c11 = _mm256_setzero_ps ();
  __m256 c20 = _mm256_setzero_ps (), c21 = _mm256_setzero_ps ();
  __m256 c30 = _mm256_setzero_ps (), c31 = _mm256_setzero_ps ();
  __m256 c40 = _mm256_setzero_ps (), c41 = _mm256_setzero_ps ();
  __m256 c50 = _mm256_setzero_ps (), c51 = _mm256_setzero_ps ();
  __m256 va = _mm256_set1_ps (alpha);

  for (int64_t k = 0; k < kc; k++, pb += 16)
    {
      __m256 b0 = _mm256_loadu_ps (pb), b1 = _mm256_loadu_ps (pb + 8), a;

      a = _mm256_broadcast_ss (a0 + k * ak);
      c00 = _mm256_fmadd_ps (a, b0, c00);
      c01 = _mm256_fmadd_ps (a, b1, c01);
      a = _mm256_broadcast_ss (a1 + k * ak);
      c10 = _mm256_fmadd_ps (a, b0, c10);
      c11 = _mm256_fmadd_ps (a, b1, c11);
      a = _mm256_broadcast_ss (a2 + k * ak);
      c20 = _mm256_fmadd_ps (a, b0, c20);
      c21 = _mm256_fmadd_ps (a, b1, c21);
      a = _mm256_broadcast_ss (a3 + k * ak);
      c30 = _mm256_fmadd_ps (a, b0, c30);
      c31 = _mm256_fmadd_ps (a, b1, c31);
      a = _mm256_broadcast_ss (a4 + k * ak);
      c40 = _mm256_fmadd_ps (a, b0, c40);
      c41 = _mm256_fmadd_ps (a, b1, c41);
      a = _mm256_broadcast_ss (a5 + k * ak);
      c50 = _mm256_fmadd_ps (a, b0, c50);
      c51 = _mm256_fmadd_ps (a, b1, c51);
    }

#define STORE_ROW(i, lo, hi)                                                    \
  do {                                                                          \
    float *row = c + (i) * ldc;                                                 \
    _mm256_storeu_ps (row, _mm256_fmadd_ps (va, lo, _mm256_loadu_ps (row)));    \
    _mm256_storeu_ps (row + 8, _mm256_fmadd_ps (va, hi, _mm256_loadu_ps (row + 8))); \
  } while (0)
  STORE_ROW (0, c00, c01);
  STORE_ROW (1, c10, c11);
  STORE_ROW (2, c20, c21);
  STORE_ROW (3, c30, c31);
  STORE_ROW (4, c40, c41);
  STORE_ROW (5, c50, c51);
#undef STORE_ROW
}

void
temper_cpu_avx2_gemm_tile (int64_t kc, const float *pa, int64_t ak, int64_t ar,
                           const float *pb, float *c, int64_t ldc, float alpha)
{
  tile_6x16 (kc, pa, ak, ar, pb, c, ldc, alpha);
  tile_6x16 (kc, pa + 6 * ar, ak, ar, pb, c + 6 * ldc, ldc, alpha);
}

/* Transposes the 8×8 block whose rows are r[0..7] in place. */
static inline void
transpose_8x8 (__m256 r[8])
{
  __m256 t[8], u[8];

  for (int i = 0; i < 4; i++)
    {
      t[2 * i] = _mm256_unpacklo_ps (r[2 * i], r[2 * i + 1]);
      t[2 * i + 1] = _mm256_unpackhi_ps (r[2 * i], r[2 * i + 1]);
    }
  for (int i = 0; i < 2; i++)
    {
      u[4 * i + 0] = _mm256_shuffle_ps (t[4 * i + 0], t[4 * i + 2], _MM_SHUFFLE (1, 0, 1, 0));
      u[4 * i + 1] = _mm256_shuffle_ps (t[4 * i + 0], t[4 * i + 2], _MM_SHUFFLE (3, 2, 3, 2));
      u[4 * i + 2] = _mm256_shuffle_ps (t[4 * i + 1], t[4 * i + 3], _MM_SHUFFLE (1, 0, 1, 0));
      u[4 * i + 3] = _mm256_shuffle_ps (t[4 * i + 1], t[4 * i + 3], _MM_SHUFFLE (3, 2, 3, 2));
    }
  for (int i = 0; i < 4; i++)
    {
      r[i] = _mm256_permute2f128_ps (u[i], u[i + 4], 0x20);
      r[i + 4] = _mm256_permute2f128_ps (u[i], u[i + 4], 0x31);
    }
}

void
temper_cpu_avx2_pack_b_transposed (float *dst, const float *src, int64_t ld, int64_t kc)
{
  int64_t k = 0;

  /* Eight k at a time: two 8×8 blocks (columns 0–7 and 8–15) turned so that
   * each k's sixteen values land side by side. */
  for (; k + 8 <= kc; k += 8)
    for (int half = 0; half < 2; half++)
      {
        __m256 r[8];

        for (int c = 0; c < 8; c++)
          r[c] = _mm256_loadu_ps (src + (half * 8 + c) * ld + k);
        transpose_8x8 (r);
        for (int i = 0; i < 8; i++)
          _mm256_storeu_ps (dst + (k + i) * 16 + half * 8, r[i]);
      }
  for (; k < kc; k++)
    for (int c = 0; c < 16; c++)
      dst[k * 16 + c] = src[c * ld + k];
}
