// SPDX-License-Identifier: MIT
/* temper-cpu-kquant.h — decoding dot products of Q2_K, Q3_K, Q4_K, Q5_K,
 * Q6_K, IQ4_NL and IQ4_XS rows with 8-bit activations (the format of
 * temper_cpu_avx2_quantize_q8 ()), in two builds of one source: AVX2, and
 * AVX-512 VNNI.  Call the first only where AVX2/FMA/F16C are present, the
 * second only where AVX-512F/BW/VL/VNNI are. */
#pragma once

#include <glib.h>
#include <stdint.h>

#include "temper/tensor.h"

G_BEGIN_DECLS

/* Whether the kernels below handle @type (a TemperType). */
static inline gboolean
temper_cpu_kquant_handles (int type)
{
  switch (type)
    {
    case TEMPER_TYPE_Q2_K: case TEMPER_TYPE_Q3_K: case TEMPER_TYPE_Q4_K: case TEMPER_TYPE_Q5_K:
    case TEMPER_TYPE_Q6_K: case TEMPER_TYPE_IQ4_NL: case TEMPER_TYPE_IQ4_XS:
      return TRUE;
    default:
      return FALSE;
    }
}

/* Σ dequant(w)·x over @n elements (whole blocks of @type) with x given as
 * @q (n int8), @dx (a scale per 32) and @sx (dx·Σq per 32). */
float temper_cpu_kquant_dot_avx2 (int type, const void *w, const int8_t *q, const float *dx,
                                  const float *sx, int64_t n);
float temper_cpu_kquant_dot_vnni (int type, const void *w, const int8_t *q, const float *dx,
                                  const float *sx, int64_t n);

/* Four rows at once (AVX2 build only), @row_bytes apart, for the types
 * temper_cpu_kquant_handles_4rows_avx2 () takes; @out gets the four sums. */
gboolean temper_cpu_kquant_handles_4rows_avx2 (int type);
void     temper_cpu_kquant_dot_4rows_avx2 (int type, const void *w, size_t row_bytes, const int8_t *q,
                                           const float *dx, const float *sx, int64_t n, float out[4]);

G_END_DECLS
