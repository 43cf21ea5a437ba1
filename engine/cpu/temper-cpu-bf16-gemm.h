/* SPDX-License-Identifier: MIT */
/* temper-cpu-bf16-gemm.h — C (fp32) (+)= A·B with A and B rounded to
 * bfloat16, on AMX tiles or, where the kernel refuses the tiles, AVX512-BF16
 * (vdpbf16ps).  The products of training's frozen weights use it in fast
 * mode; anything else may (lm_head, LoRA).
 *
 * The multiply functions are built in their own static library with
 * -mamx-tile -mamx-bf16 -mavx512bf16…: call them only with a kind that
 * temper_cpu_bf16_gemm_best () returned (or AVX512_BF16 where best is AMX,
 * as the tests do).  The packing and conversion functions need AVX512-BF16
 * too, so likewise only when best is not NONE.
 *
 * Shapes: A is M×K, B is K×N, C is M×N.
 *  - A is bf16 rows of at least temper_cpu_bf16_gemm_padded_k (K) values,
 *    the ones past K zero (temper_cpu_bf16_gemm_convert_rows () writes
 *    that); @lda is in bf16 elements.
 *  - B is packed into the pair layout the tiles read (two consecutive k of
 *    one column side by side), sixteen columns at a time; columns past N and
 *    k past K are zero.  temper_cpu_bf16_gemm_packed_size () says how many
 *    bf16 values that takes.  It packs from the weight rows of y = x·Wᵀ
 *    (one row of K floats per column: pack_b_cols), from the rows of a
 *    row-major B (dx = dy·W: pack_b_rows), or through a callback that
 *    writes one column's K floats (a dequantiser: pack_b_cols_fn).
 *
 * Single-threaded: callers give each thread its own part of C and its own
 * packed B (thread-safe otherwise: the tile permission is asked for once
 * per process, under a lock). */
#pragma once

#include <glib.h>
#include <stdint.h>

G_BEGIN_DECLS

typedef enum {
  TEMPER_BF16_GEMM_NONE,          /* neither: use the fp32 path */
  /* vdpbf16ps, 8 rows × 32 columns a step.  On Sapphire Rapids (AMX
   * refused) it runs at about the fp32 path's speed (0.9–1.1× measured):
   * there one vdpbf16ps issues where two fp32 FMAs do. */
  TEMPER_BF16_GEMM_AVX512_BF16,
  TEMPER_BF16_GEMM_AMX,           /* 2×2 tiles of 16×16 fp32 */
} TemperBf16GemmKind;

/* The best kind this process can run: AMX when the processor has AMX-BF16
 * and the kernel grants the tile data (asked for on the first call, and
 * tried in a child process, so a refusal or a trap costs nothing but the
 * choice), else AVX512-BF16 where present, else NONE. */
TemperBf16GemmKind temper_cpu_bf16_gemm_best (void);
const char        *temper_cpu_bf16_gemm_kind_name (TemperBf16GemmKind kind);

/* K rounded up to the tiles' depth (32), N rounded up to two tiles (32). */
int64_t temper_cpu_bf16_gemm_padded_k (int64_t K);
int64_t temper_cpu_bf16_gemm_padded_n (int64_t N);
/* bf16 values of a packed K×N B. */
size_t  temper_cpu_bf16_gemm_packed_size (int64_t K, int64_t N);

/* M rows of K floats (@lds apart) into bf16 rows @ldd apart, rounded to
 * nearest even, zero from K to padded_k (K). */
void temper_cpu_bf16_gemm_convert_rows (uint16_t *dst, int64_t ldd, const float *src,
                                        int64_t lds, int64_t M, int64_t K);

/* Columns [n0, n0 + nc) of a packed K×N B, column n given as K floats at
 * src + (n − n0)·ld (the weight rows of y = x·Wᵀ).  The call that packs the
 * last columns (n0 + nc == N) also zeroes the padding columns. */
void temper_cpu_bf16_gemm_pack_b_cols (uint16_t *packed, int64_t K, int64_t N, int64_t n0,
                                       int64_t nc, const float *src, int64_t ld);
/* The same with each column written by @column (user, n, out: K floats)
 * into @scratch, which holds 16·K floats. */
void temper_cpu_bf16_gemm_pack_b_cols_fn (uint16_t *packed, int64_t K, int64_t N,
                                          void (*column) (void *user, int64_t n, float *out),
                                          void *user, float *scratch);
/* Rows [k0, k0 + kc) of a packed K×N B from a row-major B: B[k][n] =
 * src[(k − k0)·ld + n].  @k0 is even; the call with the last rows
 * (k0 + kc == K) also zeroes the padding rows. */
void temper_cpu_bf16_gemm_pack_b_rows (uint16_t *packed, int64_t K, int64_t N, int64_t k0,
                                       int64_t kc, const float *src, int64_t ld);

/* Split operands: a float is its bfloat16 rounding h plus a remainder l
 * (l rounded to bfloat16 again), so x·w ≈ xh·wh + xl·wh + xh·wl to about
 * 2⁻¹⁶ of |x|·|w| where xh·wh alone is off by about 2⁻⁸.  A's rows hold
 * one or two segments of padded_k (K) values side by side, B's packed
 * columns the same (split_k (K) deep in all):
 *   NONE  A = [xh]        B = [wh]        xh·wh (the plain product)
 *   X     A = [xh | xl]   B = [wh ; wh]   x·wh: only W rounded
 *   W     A = [xh | xh]   B = [wh ; wl]   xh·w: only x rounded
 *   BOTH  A = [xh | xl]   B = [wh ; wl]   xl·wh + xh·wh + xh·wl (3 terms)
 * NONE, X and W are plain products over split_k (K); BOTH crosses the
 * segments in its own kernel (temper_cpu_bf16_gemm_split ()). */
typedef enum {
  TEMPER_BF16_SPLIT_NONE,
  TEMPER_BF16_SPLIT_X,
  TEMPER_BF16_SPLIT_W,
  TEMPER_BF16_SPLIT_BOTH,
} TemperBf16Split;

/* The depth of split operands over @K: segments × padded_k (K); A's rows
 * are at least that long, and packed_size (split_k, N) is B's size. */
int64_t temper_cpu_bf16_split_k (TemperBf16Split split, int64_t K);
/* convert_rows () for split operands: each row of @dst (@ldd ≥ split_k
 * values apart) holds A's segments. */
void temper_cpu_bf16_gemm_convert_rows_split (uint16_t *dst, int64_t ldd, const float *src,
                                              int64_t lds, int64_t M, int64_t K,
                                              TemperBf16Split split);
/* pack_b_cols () for split operands: @packed is a packed split_k (K) × N B
 * holding B's segments of each column. */
void temper_cpu_bf16_gemm_pack_b_cols_split (uint16_t *packed, int64_t K, int64_t N, int64_t n0,
                                             int64_t nc, const float *src, int64_t ld,
                                             TemperBf16Split split);
/* C (+)= the split product over @K (one segment's depth) of A and B as
 * laid out above. */
void temper_cpu_bf16_gemm_split (TemperBf16GemmKind kind, TemperBf16Split split, int64_t M,
                                 int64_t N, int64_t K, const uint16_t *a, int64_t lda,
                                 const uint16_t *packed_b, float *c, int64_t ldc,
                                 gboolean accumulate);

/* C (@ldc floats a row) = A·B, or += when @accumulate. */
void temper_cpu_bf16_gemm (TemperBf16GemmKind kind, int64_t M, int64_t N, int64_t K,
                           const uint16_t *a, int64_t lda, const uint16_t *packed_b,
                           float *c, int64_t ldc, gboolean accumulate);

G_END_DECLS
