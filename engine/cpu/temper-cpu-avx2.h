/* SPDX-License-Identifier: MIT */
/* temper-cpu-avx2.h — row kernels built with -mavx2 -mfma -mf16c in their own
 * static library.  Call them only after temper_cpu_kernels_init() saw that
 * the processor has those extensions. */
#pragma once

#include <glib.h>
#include <stdint.h>

G_BEGIN_DECLS

/* Whether the kernels below handle @type (a TemperType). */
gboolean temper_cpu_avx2_handles   (int type);
/* @n elements (whole blocks) of @type at @src to float. */
void     temper_cpu_avx2_dequant_row (int type, const void *src, int64_t n, float *out);
/* Σ dequant(w)[i]·x[i] over @n elements, without materialising the row. */
float    temper_cpu_avx2_dot_row     (int type, const void *w, const float *x, int64_t n);
float    temper_cpu_avx2_dot_f32     (const float *a, const float *b, int64_t n);
/* y[i] += a·x[i]. */
void     temper_cpu_avx2_axpy        (float a, const float *x, float *y, int64_t n);

/* Decoding with 8-bit activations, as llama.cpp does: x is quantised once per
 * token to blocks of 32 int8 with a scale d and the sum s = d·Σq, and each
 * weight block is multiplied in integers.  About twice as fast as widening
 * to fp32, at the cost of rounding x to 8 bits (logits move by ~1e-2). */
gboolean temper_cpu_avx2_handles_q8 (int type);
/* @n a multiple of 32; @q n bytes, @d and @s n/32 floats each. */
void     temper_cpu_avx2_quantize_q8 (const float *x, int64_t n, int8_t *q, float *d, float *s);
float    temper_cpu_avx2_dot_row_q8  (int type, const void *w, const int8_t *q,
                                      const float *d, const float *s, int64_t n);
/* Four rows @row_bytes apart (Q4_0, Q4_1, Q5_0, Q5_1); @out gets the four
 * sums. */
gboolean temper_cpu_avx2_handles_q8_4rows (int type);
void     temper_cpu_avx2_dot_4rows_q8 (int type, const void *w, size_t row_bytes, const int8_t *q,
                                       const float *d, const float *s, int64_t n, float out[4]);

/* C[6×16] (row stride @ldc) += @alpha · Σₖ pa[k·ak + i·ar] · pb[k·16 + j]:
 * the register tile of temper-cpu-sgemm.c, on a B panel packed as it
 * describes and A either packed (ak 6, ar 1) or read in place. */
/* dst[k·16 + c] = src[c·ld + k] for k < kc, c < 16: one packed B panel
 * of the GEMM taken from sixteen rows of a transposed B. */
void     temper_cpu_avx2_pack_b_transposed (float *dst, const float *src, int64_t ld, int64_t kc);
void     temper_cpu_avx2_gemm_tile (int64_t kc, const float *pa, int64_t ak, int64_t ar,
                                    const float *pb, float *c, int64_t ldc, float alpha);

G_END_DECLS
