/* SPDX-License-Identifier: MIT */
/* The AVX-512 register tile of the blocked fp32 GEMM (temper-cpu-sgemm.c).
 *
 * Twelve rows by sixteen columns: one zmm of B per k and twelve zmm
 * accumulators, each fed by a broadcast A value.  Twelve independent FMA
 * chains cover the FMA latency on both pipes, and on processors with full
 * 512-bit FMA units (Zen 5, Intel server cores) each instruction does twice
 * the work of the AVX2 tile's.  On Zen 4, which splits 512-bit operations in
 * two, it runs at the AVX2 tile's speed with half the instructions. */
#include "config.h"

#include <immintrin.h>

#include "temper-cpu-avx512.h"

#define ROWS 12

void
temper_cpu_avx512_gemm_tile (int64_t kc, const float *pa, int64_t ak, int64_t ar,
                             const float *pb, float *c, int64_t ldc, float alpha)
{
  __m512 acc[ROWS];
  const __m512 va = _mm512_set1_ps (alpha);

  for (int i = 0; i < ROWS; i++)
    acc[i] = _mm512_setzero_ps ();

  /* Packed A (ak == ROWS, ar == 1) reads one contiguous line per k; A read
   * in place (ak == 1) walks twelve rows side by side.  The loops are the
   * same; GCC keeps acc[] in registers once the inner loop is unrolled. */
  for (int64_t k = 0; k < kc; k++, pb += 16)
    {
      const __m512 b = _mm512_loadu_ps (pb);
      const float *a = pa + k * ak;

#pragma GCC unroll 12
      for (int i = 0; i < ROWS; i++)
        acc[i] = _mm512_fmadd_ps (_mm512_set1_ps (a[i * ar]), b, acc[i]);
    }

#pragma GCC unroll 12
  for (int i = 0; i < ROWS; i++)
    {
      float *row = c + i * ldc;

      _mm512_storeu_ps (row, _mm512_fmadd_ps (va, acc[i], _mm512_loadu_ps (row)));
    }
}
