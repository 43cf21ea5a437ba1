/* The AVX2/FMA register tile of the blocked fp32 GEMM (temper-cpu-sgemm.c).
 * Six rows by sixteen columns keep twelve accumulators, two B vectors and one
 * broadcast A value in the sixteen ymm registers, so every loaded value feeds
 * several FMAs and the loop is bound by FMA throughput, not by loads. */
#include "config.h"

#include <immintrin.h>

#include "temper-cpu-avx2.h"

void
temper_cpu_avx2_gemm_tile (int64_t kc, const float *pa, int64_t ak, int64_t ar,
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
