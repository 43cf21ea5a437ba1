/* SPDX-License-Identifier: MIT */
/* temper-cpu-q8-gemm.h — many-token products y = x·Wᵀ with 8-bit
 * activations and the weights' own integer quants, on AVX-512 VNNI or
 * AVX2.  Each build is its own static library with its flags; use one only
 * after temper_cpu_kernels_init () saw that the processor has them.
 *
 * How it goes (temper-cpu-matmul-prefill.c drives it): x is quantised once per
 * product to blocks of 32 int8 with a scale each (as for decoding); each
 * thread widens 32 weight rows at a time into a panel of unsigned bytes laid
 * out for vpdpbusd (the 4 bytes of 16 rows side by side) with one float scale
 * (and minimum) per row and block; then a register tile of 32 rows × a few
 * tokens (16 rows on AVX2) multiplies the panel with each token's bytes. */
#pragma once

#include <glib.h>
#include <stdint.h>

G_BEGIN_DECLS

/* Rows of W per panel. */
#define TEMPER_Q8_GEMM_ROWS 32

/* One token's quantised activations: @n (a multiple of 32) int8 values q,
 * and per block of 32 the scale d, the sum of q (sum32) and d·sum (sx); per
 * half block of 16 the sum of q (sum16). */
typedef struct {
  int8_t  *q;
  float   *d, *sx;
  int32_t *sum32, *sum16;
} TemperQ8Acts;

/* One build's kernels (temper-cpu-q8-gemm.c with AVX-512 VNNI or AVX2). */
typedef struct {
  /* Whether the panels below read @type (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0,
   * Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_NL, IQ4_XS). */
  gboolean (*handles)     (int type);
  /* Bytes of one panel of @n-wide rows of @type. */
  size_t   (*panel_bytes) (int type, int64_t n);
  /* Quantises @x (@n floats, a multiple of 32) into @a. */
  void     (*quantize)    (const float *x, int64_t n, const TemperQ8Acts *a);
  /* Widens @rows (≤ 32) weight rows of @type, @row_bytes apart, into
   * @panel (64-byte aligned); missing rows are zero. */
  void     (*pack)        (int type, const uint8_t *w, size_t row_bytes, int rows, int64_t n,
                           uint8_t *panel);
  /* y[t·ldy + r] = Σᵢ x[t][i]·W[r][i] for t < @T and r < @rows of @panel,
   * each token's activations in @x[t] (x[t] = @x[0] advanced by t rows);
   * + bias[r] when @bias is not NULL; + the old y when @accumulate. */
  void     (*run)         (int type, const uint8_t *panel, int rows, int64_t n,
                           const TemperQ8Acts *x, int64_t T, float *y, int64_t ldy,
                           const float *bias, gboolean accumulate);
} TemperQ8Gemm;

/* Built where the compiler targets x86; use only where the processor has
 * the instructions (temper_cpu_kernels_init () looks). */
extern const TemperQ8Gemm temper_cpu_q8_gemm_avx2;
extern const TemperQ8Gemm temper_cpu_q8_gemm_vnni;

G_END_DECLS
