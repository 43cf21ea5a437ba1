/* SPDX-License-Identifier: MIT */
/* The decoding dot products with 8-bit activations, each SIMD build (AVX2,
 * AVX-512 VNNI) on its own, for every type they cover and odd widths,
 * against the engine's plain-C dequantiser applied to the same quantised
 * activations and summed in double: the kernels' only error is then fp32
 * rounding. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "temper/tensor.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

#include "cpu/temper-cpu-avx2.h"
#include "cpu/temper-cpu-avx512.h"
#include "cpu/temper-cpu-kquant.h"

typedef float (*DotQ8) (int type, const void *w, const int8_t *q, const float *d, const float *s,
                        int64_t n);

#define CPU_TEST_SEED 11
#include "cpu-test-random.h"

/* Random bits for the codes and scale bytes, with each block's fp16 factors
 * (byte offsets below) set to sane values so no block holds NaN or Inf. */
static guint8 *
random_row (int type, int64_t n)
{
  size_t rb = temper_type_row_bytes (type, n), bb = temper_type_block_bytes (type);
  guint8 *row = g_malloc (rb);
  int first = 0, second = -1;

  for (size_t i = 0; i < rb; i++)
    row[i] = (guint8) next_u32 ();
  switch (type)
    {
    case TEMPER_TYPE_Q4_1: case TEMPER_TYPE_Q5_1: case TEMPER_TYPE_Q4_K: case TEMPER_TYPE_Q5_K:
      second = 2;
      break;
    case TEMPER_TYPE_Q6_K: first = 208; break;
    case TEMPER_TYPE_Q2_K: first = 80; second = 82; break;
    case TEMPER_TYPE_Q3_K: first = 108; break;
    default: break;
    }
  for (size_t b = 0; b < rb; b += bb)
    {
      put_f16 (row + b + first, 0.01f + 0.05f * fabsf (frand ()));
      if (second >= 0)
        put_f16 (row + b + second, 0.05f * frand ());
    }
  return row;
}

/* Σ w·x of row @w by the plain-C dequantiser, in double, and Σ|w·x|. */
static double
reference_dot (int type, const guint8 *w, const int8_t *q, const float *dx, int64_t n,
               double *magnitude)
{
  g_autofree float *dense = g_new (float, n);
  TemperTensorView view = { "w", type, { n, 1 }, temper_type_row_bytes (type, n), w };
  double ref = 0.0;

  temper_tensor_row_to_f32 (&view, 0, dense);
  *magnitude = 0.0;
  for (int64_t i = 0; i < n; i++)
    {
      double xi = (double) dx[i / 32] * q[i];

      ref += (double) dense[i] * xi;
      *magnitude += fabs ((double) dense[i] * xi);
    }
  return ref;
}

/* Random activations of @n elements, quantised as decoding does. */
static void
random_acts (int64_t n, int8_t *q, float *dx, float *sx)
{
  g_autofree float *x = g_new (float, n);

  for (int64_t i = 0; i < n; i++)
    x[i] = frand () * (i % 5 == 0 ? 4.0f : 1.0f);
  temper_cpu_avx2_quantize_q8 (x, n, q, dx, sx);
}

/* One row of @type and @n elements through @dot, against the reference. */
static void
check_row (const char *kernel, DotQ8 dot, int type, int64_t n)
{
  g_autofree guint8 *w = random_row (type, n);
  g_autofree int8_t *q = g_new (int8_t, n);
  g_autofree float *dx = g_new (float, n / 32);
  g_autofree float *sx = g_new (float, n / 32);
  double ref, magnitude, got;

  random_acts (n, q, dx, sx);
  ref = reference_dot (type, w, q, dx, n, &magnitude);
  got = dot (type, w, q, dx, sx, n);
  if (!(fabs (got - ref) <= 1e-5 * magnitude + 1e-6))
    g_error ("%s, %s × %" G_GINT64_FORMAT ": %.9g, reference %.9g (Σ|w·x| %.6g)", kernel,
             temper_type_name (type), n, got, ref, magnitude);
}

static const int block32_types[] = {
  TEMPER_TYPE_Q4_0, TEMPER_TYPE_Q4_1, TEMPER_TYPE_Q5_0, TEMPER_TYPE_Q5_1, TEMPER_TYPE_Q8_0,
  TEMPER_TYPE_IQ4_NL,
};
static const int super_types[] = {
  TEMPER_TYPE_Q2_K, TEMPER_TYPE_Q3_K, TEMPER_TYPE_Q4_K, TEMPER_TYPE_Q5_K, TEMPER_TYPE_Q6_K,
  TEMPER_TYPE_IQ4_XS,
};
/* One block, odd block counts (an unpaired last block), the demo model's
 * and Gemma 3 270M's widths. */
static const int64_t block32_widths[] = { 32, 96, 160, 576, 640, 1536 };
static const int64_t super_widths[] = { 256, 768, 1536, 2048 };

static void
check_kernel (const char *kernel, DotQ8 block32, DotQ8 super)
{
  for (int round = 0; round < 4; round++)
    {
      for (guint t = 0; t < G_N_ELEMENTS (block32_types); t++)
        for (guint w = 0; w < G_N_ELEMENTS (block32_widths); w++)
          {
            int type = block32_types[t];

            if (type == TEMPER_TYPE_IQ4_NL)
              check_row (kernel, super, type, block32_widths[w]);
            else if (block32 != NULL)
              check_row (kernel, block32, type, block32_widths[w]);
          }
      for (guint t = 0; t < G_N_ELEMENTS (super_types); t++)
        for (guint w = 0; w < G_N_ELEMENTS (super_widths); w++)
          check_row (kernel, super, super_types[t], super_widths[w]);
    }
}

static gboolean
has_avx2 (void)
{
  __builtin_cpu_init ();
  return __builtin_cpu_supports ("avx2") && __builtin_cpu_supports ("fma");
}

static void
test_avx2 (void)
{
  if (!has_avx2 ())
    {
      g_test_skip ("this processor has no AVX2");
      return;
    }
  check_kernel ("AVX2", temper_cpu_avx2_dot_row_q8, temper_cpu_kquant_dot_avx2);
}

static void
test_avx512_vnni (void)
{
#ifdef TEMPER_HAVE_AVX512_VNNI
  if (!has_avx2 () || !__builtin_cpu_supports ("avx512f") || !__builtin_cpu_supports ("avx512bw") ||
      !__builtin_cpu_supports ("avx512vl") || !__builtin_cpu_supports ("avx512vnni"))
    {
      g_test_skip ("this processor has no AVX-512 VNNI");
      return;
    }
  check_kernel ("AVX-512 VNNI", temper_cpu_avx512_dot_row_q8, temper_cpu_kquant_dot_vnni);
#else
  g_test_skip ("built without the AVX-512 VNNI kernels");
#endif
}

/* The two-row kernel (decoding's matvec takes rows in pairs): each of the
 * two results against its own row's reference. */
static void
test_avx512_vnni_2rows (void)
{
#ifdef TEMPER_HAVE_AVX512_VNNI
  if (!has_avx2 () || !__builtin_cpu_supports ("avx512f") || !__builtin_cpu_supports ("avx512bw") ||
      !__builtin_cpu_supports ("avx512vl") || !__builtin_cpu_supports ("avx512vnni"))
    {
      g_test_skip ("this processor has no AVX-512 VNNI");
      return;
    }
  for (int round = 0; round < 4; round++)
    for (guint t = 0; t < G_N_ELEMENTS (block32_types); t++)
      for (guint k = 0; k < G_N_ELEMENTS (block32_widths); k++)
        {
          int type = block32_types[t];
          int64_t n = block32_widths[k];
          g_autofree guint8 *w0 = random_row (type, n);
          g_autofree guint8 *w1 = random_row (type, n);
          g_autofree int8_t *q = g_new (int8_t, n);
          g_autofree float *dx = g_new (float, n / 32);
          g_autofree float *sx = g_new (float, n / 32);
          const guint8 *rows[2] = { w0, w1 };
          float got[2];

          g_assert_true (temper_cpu_avx512_handles_q8_2rows (type));
          random_acts (n, q, dx, sx);
          temper_cpu_avx512_dot_2rows_q8 (type, w0, w1, q, dx, sx, n, got);
          for (int r = 0; r < 2; r++)
            {
              double magnitude, ref = reference_dot (type, rows[r], q, dx, n, &magnitude);

              if (!(fabs (got[r] - ref) <= 1e-5 * magnitude + 1e-6))
                g_error ("AVX-512 VNNI two rows, %s × %" G_GINT64_FORMAT ", row %d: %.9g, reference %.9g (Σ|w·x| %.6g)",
                         temper_type_name (type), n, r, got[r], ref, magnitude);
            }
        }
#else
  g_test_skip ("built without the AVX-512 VNNI kernels");
#endif
}

typedef void (*Dot4Q8) (int type, const void *w, size_t row_bytes, const int8_t *q, const float *d,
                        const float *s, int64_t n, float out[4]);

/* A four-row kernel: four rows stored one after the other (as a weight
 * matrix holds them), each result against its own row's reference; the
 * super-block types at their widths (one to eight super-blocks).  Where
 * @same_as is given, each result must also equal bit for bit what it gives
 * for the row alone (a row's result must not
 * depend on whether it came in a group of four or in a matrix's tail);
 * @exempt and @exempt2 are types whose rows are exempt (-1: none). */
static void
check_4rows (const char *kernel, Dot4Q8 dot, const int *types, guint n_types, DotQ8 same_as,
             int exempt, int exempt2)
{
  for (int round = 0; round < 4; round++)
    for (guint t = 0; t < n_types; t++)
      for (guint k = 0; k < G_N_ELEMENTS (block32_widths); k++)
        {
          int type = types[t];
          gboolean super = temper_type_block_elems (type) == 256;
          int64_t n = super ? super_widths[k % G_N_ELEMENTS (super_widths)] : block32_widths[k];
          size_t rb = temper_type_row_bytes (type, n);
          g_autofree guint8 *rows = g_malloc (4 * rb);
          g_autofree int8_t *q = g_new (int8_t, n);
          g_autofree float *dx = g_new (float, n / 32);
          g_autofree float *sx = g_new (float, n / 32);
          float got[4];

          for (int r = 0; r < 4; r++)
            {
              g_autofree guint8 *w = random_row (type, n);

              memcpy (rows + r * rb, w, rb);
            }
          random_acts (n, q, dx, sx);
          dot (type, rows, rb, q, dx, sx, n, got);
          for (int r = 0; r < 4; r++)
            {
              double magnitude, ref = reference_dot (type, rows + r * rb, q, dx, n, &magnitude);

              if (!(fabs (got[r] - ref) <= 1e-5 * magnitude + 1e-6))
                g_error ("%s four rows, %s × %" G_GINT64_FORMAT ", row %d: %.9g, reference %.9g (Σ|w·x| %.6g)",
                         kernel, temper_type_name (type), n, r, got[r], ref, magnitude);
              if (same_as != NULL && type != exempt && type != exempt2)
                {
                  float alone = same_as (type, rows + r * rb, q, dx, sx, n);

                  if (memcmp (&alone, &got[r], sizeof alone) != 0)
                    g_error ("%s four rows, %s × %" G_GINT64_FORMAT ", row %d: %.9g, alone %.9g",
                             kernel, temper_type_name (type), n, r, got[r], alone);
                }
            }
        }
}

static void
avx2_dot_4rows (int type, const void *w, size_t row_bytes, const int8_t *q, const float *d,
                const float *s, int64_t n, float out[4])
{
  if (temper_cpu_kquant_handles_4rows_avx2 (type))
    temper_cpu_kquant_dot_4rows_avx2 (type, w, row_bytes, q, d, s, n, out);
  else
    temper_cpu_avx2_dot_4rows_q8 (type, w, row_bytes, q, d, s, n, out);
}

static float
avx2_dot_row (int type, const void *w, const int8_t *q, const float *d, const float *s, int64_t n)
{
  if (temper_cpu_kquant_handles (type))
    return temper_cpu_kquant_dot_avx2 (type, w, q, d, s, n);
  return temper_cpu_avx2_dot_row_q8 (type, w, q, d, s, n);
}

/* The AVX2 four-row kernels, one token's decoding matvec on processors
 * without AVX-512. */
static void
test_avx2_4rows (void)
{
  static const int types[] = {
    TEMPER_TYPE_Q4_0, TEMPER_TYPE_Q4_1, TEMPER_TYPE_Q5_0, TEMPER_TYPE_Q5_1,
    TEMPER_TYPE_IQ4_NL, TEMPER_TYPE_IQ4_XS, TEMPER_TYPE_Q4_K, TEMPER_TYPE_Q5_K,
  };

  if (!has_avx2 ())
    {
      g_test_skip ("this processor has no AVX2");
      return;
    }
  for (guint t = 0; t < G_N_ELEMENTS (types); t++)
    g_assert_true (temper_cpu_avx2_handles_q8_4rows (types[t]) ||
                   temper_cpu_kquant_handles_4rows_avx2 (types[t]));
  /* Q4_0's and Q5_0's four rows take their offset off the integer sums,
   * not as a float term per block: as exact, not the same rounding. */
  check_4rows ("AVX2", avx2_dot_4rows, types, G_N_ELEMENTS (types), avx2_dot_row, TEMPER_TYPE_Q4_0,
               TEMPER_TYPE_Q5_0);
}

static void
test_avx512_vnni_4rows (void)
{
#ifdef TEMPER_HAVE_AVX512_VNNI
  static const int types[] = {
    TEMPER_TYPE_Q4_0, TEMPER_TYPE_Q4_1, TEMPER_TYPE_Q5_0, TEMPER_TYPE_Q5_1, TEMPER_TYPE_IQ4_NL, TEMPER_TYPE_Q8_0,
    TEMPER_TYPE_IQ4_XS, TEMPER_TYPE_Q4_K,
  };

  if (!has_avx2 () || !__builtin_cpu_supports ("avx512f") || !__builtin_cpu_supports ("avx512bw") ||
      !__builtin_cpu_supports ("avx512vl") || !__builtin_cpu_supports ("avx512vnni"))
    {
      g_test_skip ("this processor has no AVX-512 VNNI");
      return;
    }
  for (guint t = 0; t < G_N_ELEMENTS (types); t++)
    g_assert_true (temper_cpu_avx512_handles_q8_4rows (types[t]));
  check_4rows ("AVX-512 VNNI", temper_cpu_avx512_dot_4rows_q8, types, G_N_ELEMENTS (types), NULL, -1, -1);
#else
  g_test_skip ("built without the AVX-512 VNNI kernels");
#endif
}

/* BF16 rows against x rounded to bfloat16 (whole groups of 32; the tail
 * stays fp32), summed in double: one row, and two rows at once. */
static void
test_avx512_bf16 (void)
{
#ifdef TEMPER_HAVE_AVX512_VNNI
  static const int64_t widths[] = { 32, 77, 96, 576, 640, 1000, 1536 };
  unsigned int eax, ebx, ecx, edx;

  if (!__get_cpuid_count (7, 1, &eax, &ebx, &ecx, &edx) || (eax & (1u << 5)) == 0)
    {
      g_test_skip ("this processor has no AVX512-BF16");
      return;
    }
  for (guint k = 0; k < G_N_ELEMENTS (widths); k++)
    {
      int64_t n = widths[k];
      g_autofree guint16 *w = g_new (guint16, n);
      g_autofree float *x = g_new (float, n);
      g_autofree guint16 *w2 = g_new (guint16, n);
      g_autofree guint16 *x_rounded = g_new (guint16, n);
      double ref = 0.0, magnitude = 0.0, ref2 = 0.0, magnitude2 = 0.0, got;
      float pair[2];

      for (int64_t i = 0; i < n; i++)
        {
          w[i] = temper_f32_to_bf16 (frand ());
          w2[i] = temper_f32_to_bf16 (frand () * 3.0f);
          x[i] = frand () * (i % 3 == 0 ? 100.0f : 1.0f);
        }
      for (int64_t i = 0; i < n; i++)
        {
          guint32 wb = (guint32) w[i] << 16, w2b = (guint32) w2[i] << 16;
          guint32 xb = (guint32) temper_f32_to_bf16 (x[i]) << 16;
          float wf, w2f, xr;

          memcpy (&wf, &wb, 4);
          memcpy (&w2f, &w2b, 4);
          memcpy (&xr, &xb, 4);
          if (i >= n / 32 * 32)
            xr = x[i];
          ref += (double) wf * xr;
          magnitude += fabs ((double) wf * xr);
          ref2 += (double) w2f * xr;
          magnitude2 += fabs ((double) w2f * xr);
        }
      got = temper_cpu_avx512_dot_bf16_rounded (w, x, n);
      if (!(fabs (got - ref) <= 1e-5 * magnitude))
        g_error ("AVX512-BF16, %" G_GINT64_FORMAT " elements: %.9g, reference %.9g", n, got, ref);
      /* x rounded once per product, then the row against it (decoding's
       * matvec): the same reference. */
      temper_cpu_avx512_round_bf16 (x, n, x_rounded);
      got = temper_cpu_avx512_dot_bf16_pre (w, x_rounded, x, n);
      if (!(fabs (got - ref) <= 1e-5 * magnitude))
        g_error ("AVX512-BF16 pre-rounded, %" G_GINT64_FORMAT " elements: %.9g, reference %.9g", n, got, ref);
      /* Two rows at once against the same rounded x. */
      temper_cpu_avx512_dot_bf16_pre_2rows (w, w2, x_rounded, x, n, pair);
      if (!(fabs (pair[0] - ref) <= 1e-5 * magnitude) || !(fabs (pair[1] - ref2) <= 1e-5 * magnitude2))
        g_error ("AVX512-BF16 two rows, %" G_GINT64_FORMAT " elements: %.9g and %.9g, references %.9g and %.9g",
                 n, pair[0], pair[1], ref, ref2);
    }
#else
  g_test_skip ("built without the AVX-512 kernels");
#endif
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/cpu/decode-dot/avx2", test_avx2);
  g_test_add_func ("/cpu/decode-dot/avx2-4rows", test_avx2_4rows);
  g_test_add_func ("/cpu/decode-dot/avx512-vnni", test_avx512_vnni);
  g_test_add_func ("/cpu/decode-dot/avx512-vnni-2rows", test_avx512_vnni_2rows);
  g_test_add_func ("/cpu/decode-dot/avx512-vnni-4rows", test_avx512_vnni_4rows);
  g_test_add_func ("/cpu/decode-dot/avx512-bf16", test_avx512_bf16);
  return g_test_run ();
}
#else
int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  return g_test_run ();
}
#endif
