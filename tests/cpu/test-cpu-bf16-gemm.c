/* SPDX-License-Identifier: MIT */
/* The bfloat16 GEMM (temper-cpu-bf16-gemm.h) on AMX tiles and on
 * AVX512-BF16, each against two double-precision sums computed here:
 *  - over the inputs rounded to bfloat16 by this file's own rounding (to
 *    nearest even): the kernel sums exact products of those in fp32, so it
 *    must agree to fp32 summation error (1e-5 of Σ|a||b|); this catches any
 *    misplaced pair, column or row;
 *  - over the fp32 inputs: each input moves by at most 2⁻⁹ of itself when
 *    rounded, so a product by at most about 2⁻⁸ of |a||b|: 1e-2 of Σ|a||b|
 *    bounds the error with room to spare.
 * Shapes are ragged on every side (M, N, K not multiples of 16/32, tiny
 * ones, K = 576 and 1536), with and without accumulation, with B packed
 * from weight rows, from a row-major matrix in chunks and through a
 * callback, and A and C with strides wider than their rows. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "cpu/temper-cpu-bf16-gemm.h"

static guint64 rng = 19;

static float
frand (void)
{
  rng = rng * 6364136223846793005ull + 1442695040888963407ull;
  return (float) ((double) (rng >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

/* fp32 → bf16 → fp32, nearest even (no NaNs here). */
static double
round_bf16 (float f)
{
  guint32 u;

  memcpy (&u, &f, sizeof u);
  u += 0x7fff + ((u >> 16) & 1);
  u &= 0xffff0000u;
  memcpy (&f, &u, sizeof f);
  return f;
}

typedef enum { PACK_COLS, PACK_ROWS, PACK_CALLBACK } PackWay;

typedef struct {
  const float *bt;   /* B transposed: column n is bt[n·K …] */
  int64_t      K;
} ColumnSource;

static void
column_of (void *user, int64_t n, float *out)
{
  const ColumnSource *s = user;

  memcpy (out, s->bt + n * s->K, sizeof (float) * (size_t) s->K);
}

static double
check_shape (TemperBf16GemmKind kind, int64_t M, int64_t N, int64_t K, gboolean accumulate,
             PackWay way)
{
  int64_t Kp = temper_cpu_bf16_gemm_padded_k (K), lda = Kp + 32, ldc = N + 5;
  g_autofree float *a = g_new (float, M * K);
  g_autofree float *bt = g_new (float, N * K);      /* B[k][n] = bt[n·K + k] */
  g_autofree float *brow = g_new (float, K * N);    /* B[k][n] = brow[k·N + n] */
  g_autofree float *c = g_new (float, M * ldc);
  g_autofree float *c0 = g_new (float, M * ldc);
  g_autofree float *scratch = g_new (float, 16 * K);
  g_autofree uint16_t *abf = g_new (uint16_t, M * lda);
  size_t packed_size = temper_cpu_bf16_gemm_packed_size (K, N);
  g_autofree uint16_t *packed = g_new (uint16_t, packed_size);
  double worst = 0.0;

  for (int64_t i = 0; i < M * K; i++)
    a[i] = frand () * (i % 7 == 0 ? 30.0f : 1.0f);
  for (int64_t n = 0; n < N; n++)
    for (int64_t k = 0; k < K; k++)
      brow[k * N + n] = bt[n * K + k] = frand ();
  for (int64_t i = 0; i < M * ldc; i++)
    c0[i] = c[i] = frand ();
  /* Garbage where the packing must write zeros, and past each A row. */
  memset (packed, 0x7f, sizeof (uint16_t) * packed_size);
  memset (abf, 0x7f, sizeof (uint16_t) * (size_t) (M * lda));

  temper_cpu_bf16_gemm_convert_rows (abf, lda, a, K, M, K);
  switch (way)
    {
    case PACK_COLS:
      for (int64_t n = 0; n < N; n += 32)
        temper_cpu_bf16_gemm_pack_b_cols (packed, K, N, n, MIN (32, N - n), bt + n * K, K);
      break;
    case PACK_ROWS:
      for (int64_t k = 0; k < K; k += 10)
        temper_cpu_bf16_gemm_pack_b_rows (packed, K, N, k, MIN (10, K - k), brow + k * N, N);
      break;
    case PACK_CALLBACK:
      {
        ColumnSource s = { bt, K };

        temper_cpu_bf16_gemm_pack_b_cols_fn (packed, K, N, column_of, &s, scratch);
      }
      break;
    }
  temper_cpu_bf16_gemm (kind, M, N, K, abf, lda, packed, c, ldc, accumulate);

  for (int64_t m = 0; m < M; m++)
    {
      for (int64_t n = 0; n < N; n++)
        {
          double exact = 0.0, rounded = 0.0, scale = 1e-30;
          double base = accumulate ? c0[m * ldc + n] : 0.0;
          double got = c[m * ldc + n];

          for (int64_t k = 0; k < K; k++)
            {
              double x = a[m * K + k], y = bt[n * K + k];

              exact += x * y;
              rounded += round_bf16 (a[m * K + k]) * round_bf16 (bt[n * K + k]);
              scale += fabs (x * y);
            }
          if (fabs (got - base - rounded) > 1e-5 * scale + 1e-6 * fabs (base) ||
              fabs (got - base - exact) > 1e-2 * scale + 1e-6 * fabs (base))
            {
              g_test_message ("%s M=%" G_GINT64_FORMAT " N=%" G_GINT64_FORMAT " K=%" G_GINT64_FORMAT
                              " acc=%d pack=%d: C[%" G_GINT64_FORMAT "][%" G_GINT64_FORMAT
                              "] = %g, bf16 sum %g, fp32 sum %g (Σ|ab| %g)",
                              temper_cpu_bf16_gemm_kind_name (kind), M, N, K, accumulate, way,
                              m, n, got, base + rounded, base + exact, scale);
              return INFINITY;
            }
          worst = MAX (worst, fabs (got - base - exact) / scale);
        }
      /* The stride's gap stays untouched. */
      for (int64_t n = N; n < ldc; n++)
        if (c[m * ldc + n] != c0[m * ldc + n])
          {
            g_test_message ("%s wrote past column N (row %" G_GINT64_FORMAT ")",
                            temper_cpu_bf16_gemm_kind_name (kind), m);
            return INFINITY;
          }
    }
  return worst;
}

static const int64_t shapes[][3] = {
  { 1, 1, 1 }, { 2, 3, 3 }, { 3, 2, 2 }, { 1, 17, 5 }, { 5, 1, 33 },
  { 16, 16, 32 }, { 32, 32, 64 }, { 17, 33, 576 }, { 33, 17, 1536 }, { 31, 47, 100 },
  { 48, 96, 576 }, { 100, 70, 1536 }, { 7, 200, 31 }, { 65, 34, 63 }, { 130, 50, 576 },
};

static void
check_kind (TemperBf16GemmKind kind)
{
  double worst = 0.0;

  for (gsize i = 0; i < G_N_ELEMENTS (shapes); i++)
    for (int acc = 0; acc < 2; acc++)
      for (int way = PACK_COLS; way <= PACK_CALLBACK; way++)
        {
          double err = check_shape (kind, shapes[i][0], shapes[i][1], shapes[i][2], acc, way);

          g_assert_true (isfinite (err));
          worst = MAX (worst, err);
        }
  g_test_message ("%s: worst error %.2e of sum |a||b| against the fp32 sums",
                  temper_cpu_bf16_gemm_kind_name (kind), worst);
}

static void
test_amx (void)
{
  if (temper_cpu_bf16_gemm_best () != TEMPER_BF16_GEMM_AMX)
    {
      g_test_skip ("AMX-BF16 is not usable here");
      return;
    }
  check_kind (TEMPER_BF16_GEMM_AMX);
}

static void
test_avx512_bf16 (void)
{
  if (temper_cpu_bf16_gemm_best () == TEMPER_BF16_GEMM_NONE)
    {
      g_test_skip ("AVX512-BF16 is not usable here");
      return;
    }
  check_kind (TEMPER_BF16_GEMM_AVX512_BF16);
}

/* ---- Split operands ---- */

/* The error of y = x·Wᵀ through split operands against a double-precision
 * sum of the fp32 inputs, each output's error over Σ|x||w| (the bound a
 * product's rounding scales with), the worst of them.  x has the spread of
 * a layer's normed activations (a few features 30× the rest), W that of
 * dequantised weights (small, many magnitudes). */
static double
split_error (TemperBf16GemmKind kind, TemperBf16Split split, int64_t M, int64_t N, int64_t K)
{
  int64_t Ks = temper_cpu_bf16_split_k (split, K), lda = Ks + 32, ldc = N + 3;
  g_autofree float *a = g_new (float, M * K);
  g_autofree float *bt = g_new (float, N * K);
  g_autofree float *c = g_new (float, M * ldc);
  g_autofree uint16_t *abf = g_new (uint16_t, M * lda);
  size_t packed_size = temper_cpu_bf16_gemm_packed_size (Ks, N);
  g_autofree uint16_t *packed = g_new (uint16_t, packed_size);
  double worst = 0.0;

  for (int64_t i = 0; i < M * K; i++)
    a[i] = frand () * (i % 7 == 0 ? 30.0f : 1.0f);
  for (int64_t i = 0; i < N * K; i++)
    bt[i] = frand () * 0.05f * (1.0f + 3.0f * (float) (i % 5));
  memset (packed, 0x7f, sizeof (uint16_t) * packed_size);
  memset (abf, 0x7f, sizeof (uint16_t) * (size_t) (M * lda));
  temper_cpu_bf16_gemm_convert_rows_split (abf, lda, a, K, M, K, split);
  /* In two calls, as a thread packs its panel sixteen columns at a time. */
  for (int64_t n = 0; n < N; n += 16)
    temper_cpu_bf16_gemm_pack_b_cols_split (packed, K, N, n, MIN (16, N - n), bt + n * K, K, split);
  temper_cpu_bf16_gemm_split (kind, split, M, N, K, abf, lda, packed, c, ldc, FALSE);
  for (int64_t m = 0; m < M; m++)
    for (int64_t n = 0; n < N; n++)
      {
        double exact = 0.0, scale = 1e-30;

        for (int64_t k = 0; k < K; k++)
          {
            exact += (double) a[m * K + k] * bt[n * K + k];
            scale += fabs ((double) a[m * K + k] * bt[n * K + k]);
          }
        worst = MAX (worst, fabs (c[m * ldc + n] - exact) / scale);
      }
  return worst;
}

/* Each variant's worst error at K = 576 and 1536 (and ragged shapes): the
 * three-term split must be within 1e-5 of Σ|x||w| (about 2⁻¹⁶ per product
 * plus fp32 sums); plain rounding is far above that (the bound separates
 * them: a kernel that dropped a term, or packed a remainder where the
 * rounding goes, fails); splitting one operand only halves the error. */
static void
check_split (TemperBf16GemmKind kind)
{
  static const int64_t split_shapes[][3] = {
    { 40, 96, 576 }, { 33, 47, 1536 }, { 17, 20, 100 }, { 5, 3, 31 },
  };
  double worst[4] = { 0 };

  for (gsize i = 0; i < G_N_ELEMENTS (split_shapes); i++)
    for (int split = TEMPER_BF16_SPLIT_NONE; split <= TEMPER_BF16_SPLIT_BOTH; split++)
      worst[split] = MAX (worst[split], split_error (kind, split, split_shapes[i][0],
                                                     split_shapes[i][1], split_shapes[i][2]));
  g_test_message ("%s worst error of sum |x||w|: 1 term %.2e, x split %.2e, W split %.2e, 3 terms %.2e",
                  temper_cpu_bf16_gemm_kind_name (kind), worst[TEMPER_BF16_SPLIT_NONE],
                  worst[TEMPER_BF16_SPLIT_X], worst[TEMPER_BF16_SPLIT_W],
                  worst[TEMPER_BF16_SPLIT_BOTH]);
  g_assert_cmpfloat (worst[TEMPER_BF16_SPLIT_BOTH], <, 1e-5);
  g_assert_cmpfloat (worst[TEMPER_BF16_SPLIT_NONE], >, 1e-3);
  g_assert_cmpfloat (worst[TEMPER_BF16_SPLIT_X], <, worst[TEMPER_BF16_SPLIT_NONE]);
  g_assert_cmpfloat (worst[TEMPER_BF16_SPLIT_W], <, worst[TEMPER_BF16_SPLIT_NONE]);
  g_assert_cmpfloat (worst[TEMPER_BF16_SPLIT_X], >, 1e-5);
  g_assert_cmpfloat (worst[TEMPER_BF16_SPLIT_W], >, 1e-5);
}

static void
test_split_amx (void)
{
  if (temper_cpu_bf16_gemm_best () != TEMPER_BF16_GEMM_AMX)
    {
      g_test_skip ("AMX-BF16 is not usable here");
      return;
    }
  check_split (TEMPER_BF16_GEMM_AMX);
}

static void
test_split_avx512_bf16 (void)
{
  if (temper_cpu_bf16_gemm_best () == TEMPER_BF16_GEMM_NONE)
    {
      g_test_skip ("AVX512-BF16 is not usable here");
      return;
    }
  check_split (TEMPER_BF16_GEMM_AVX512_BF16);
}

/* The choice is made once and stays: a second call agrees, and names it. */
static void
test_best (void)
{
  TemperBf16GemmKind kind = temper_cpu_bf16_gemm_best ();

  g_assert_cmpint (temper_cpu_bf16_gemm_best (), ==, kind);
  g_test_message ("best: %s", temper_cpu_bf16_gemm_kind_name (kind));
  g_assert_nonnull (temper_cpu_bf16_gemm_kind_name (kind));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/cpu/bf16-gemm/best", test_best);
  g_test_add_func ("/cpu/bf16-gemm/amx", test_amx);
  g_test_add_func ("/cpu/bf16-gemm/avx512-bf16", test_avx512_bf16);
  g_test_add_func ("/cpu/bf16-gemm/split/amx", test_split_amx);
  g_test_add_func ("/cpu/bf16-gemm/split/avx512-bf16", test_split_avx512_bf16);
  return g_test_run ();
}
