/* SPDX-License-Identifier: MIT */
/* temper-cpu-panel.h — for AVX-512 many-token kernels (temper-cpu-q8-gemm.c):
 * the transposition that lays weight rows out for dot-product instructions
 * working on 4 bytes per 32-bit lane.  Include only from files built with
 * -mavx512f. */
#pragma once

#include <immintrin.h>
#include <stdint.h>

#include "temper-cpu-simd.h"

/* z[j] holds rows j and j + 8 of a group of 16 (eight dwords each); writes
 * out + 128·c the dword c of all 16 rows, for c < 8. */
static ALWAYS_INLINE void
temper_panel_transpose_store (__m512i z[8], uint8_t *out)
{
  const __m512i lo = _mm512_setr_epi64 (0, 1, 8, 9, 4, 5, 12, 13);
  const __m512i hi = _mm512_setr_epi64 (2, 3, 10, 11, 6, 7, 14, 15);
  __m512i t[8], u[8];

  for (int i = 0; i < 4; i++)
    {
      t[2 * i] = _mm512_unpacklo_epi32 (z[2 * i], z[2 * i + 1]);
      t[2 * i + 1] = _mm512_unpackhi_epi32 (z[2 * i], z[2 * i + 1]);
    }
  for (int h = 0; h < 2; h++)
    {
      u[4 * h + 0] = _mm512_unpacklo_epi64 (t[4 * h + 0], t[4 * h + 2]);
      u[4 * h + 1] = _mm512_unpackhi_epi64 (t[4 * h + 0], t[4 * h + 2]);
      u[4 * h + 2] = _mm512_unpacklo_epi64 (t[4 * h + 1], t[4 * h + 3]);
      u[4 * h + 3] = _mm512_unpackhi_epi64 (t[4 * h + 1], t[4 * h + 3]);
    }
  for (int c = 0; c < 4; c++)
    {
      _mm512_storeu_si512 (out + 128 * c, _mm512_permutex2var_epi64 (u[c], lo, u[c + 4]));
      _mm512_storeu_si512 (out + 128 * (c + 4), _mm512_permutex2var_epi64 (u[c], hi, u[c + 4]));
    }
}
