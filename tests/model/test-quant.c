/* SPDX-License-Identifier: MIT */
/* test-quant.c — element types against the gguf Python package.
 *
 * Fixtures come from tests/model/make-quant-fixtures.py: rows quantized by
 * gguf.quants (or random K-quant blocks) and gguf.quants' dequantized floats. */
#include "config.h"

#include <math.h>

#include "temper/tensor.h"
#include "model-test-util.h"

#define ROWS 2
#define N 512

typedef struct {
  int         type;
  const char *name;
} TypeCase;

static const TypeCase dequant_cases[] = {
  { TEMPER_TYPE_F16, "F16" },   { TEMPER_TYPE_BF16, "BF16" },
  { TEMPER_TYPE_Q4_0, "Q4_0" }, { TEMPER_TYPE_Q4_1, "Q4_1" },
  { TEMPER_TYPE_Q5_0, "Q5_0" }, { TEMPER_TYPE_Q5_1, "Q5_1" },
  { TEMPER_TYPE_Q8_0, "Q8_0" }, { TEMPER_TYPE_Q8_1, "Q8_1" },
  { TEMPER_TYPE_Q4_K, "Q4_K" }, { TEMPER_TYPE_Q5_K, "Q5_K" },
  { TEMPER_TYPE_Q6_K, "Q6_K" },
  { TEMPER_TYPE_Q2_K, "Q2_K" }, { TEMPER_TYPE_Q3_K, "Q3_K" },
  { TEMPER_TYPE_IQ4_NL, "IQ4_NL" }, { TEMPER_TYPE_IQ4_XS, "IQ4_XS" },
  { TEMPER_TYPE_TQ2_0, "TQ2_0" },
};

static void
test_geometry (void)
{
  /* Block sizes as ggml-common.h's static_asserts state them. */
  g_assert_cmpuint (temper_type_block_bytes (TEMPER_TYPE_Q4_0), ==, 2 + 16);
  g_assert_cmpuint (temper_type_block_bytes (TEMPER_TYPE_Q4_1), ==, 4 + 16);
  g_assert_cmpuint (temper_type_block_bytes (TEMPER_TYPE_Q5_0), ==, 2 + 4 + 16);
  g_assert_cmpuint (temper_type_block_bytes (TEMPER_TYPE_Q5_1), ==, 4 + 4 + 16);
  g_assert_cmpuint (temper_type_block_bytes (TEMPER_TYPE_Q8_0), ==, 2 + 32);
  g_assert_cmpuint (temper_type_block_bytes (TEMPER_TYPE_Q8_1), ==, 4 + 32);
  g_assert_cmpuint (temper_type_block_bytes (TEMPER_TYPE_Q4_K), ==, 4 + 12 + 128);
  g_assert_cmpuint (temper_type_block_bytes (TEMPER_TYPE_Q5_K), ==, 4 + 12 + 32 + 128);
  g_assert_cmpuint (temper_type_block_bytes (TEMPER_TYPE_Q6_K), ==, 128 + 64 + 16 + 2);
  g_assert_cmpuint (temper_type_block_elems (TEMPER_TYPE_Q6_K), ==, 256);
  g_assert_cmpuint (temper_type_block_elems (TEMPER_TYPE_Q8_0), ==, 32);
  g_assert_cmpuint (temper_type_block_elems (TEMPER_TYPE_BF16), ==, 1);
  g_assert_cmpstr (temper_type_name (TEMPER_TYPE_Q5_K), ==, "Q5_K");
  g_assert_cmpuint (temper_type_block_bytes (TEMPER_TYPE_Q2_K), ==, 16 + 64 + 4);
  g_assert_cmpuint (temper_type_block_bytes (TEMPER_TYPE_Q3_K), ==, 32 + 64 + 12 + 2);
  g_assert_cmpuint (temper_type_block_bytes (TEMPER_TYPE_IQ4_NL), ==, 2 + 16);
  g_assert_cmpuint (temper_type_block_elems (TEMPER_TYPE_IQ4_NL), ==, 32);
  g_assert_cmpuint (temper_type_block_bytes (TEMPER_TYPE_IQ4_XS), ==, 2 + 2 + 4 + 128);
  g_assert_cmpuint (temper_type_block_bytes (TEMPER_TYPE_TQ2_0), ==, 64 + 2);
  g_assert_cmpstr (temper_type_name (TEMPER_TYPE_IQ4_XS), ==, "IQ4_XS");
  g_assert_null (temper_type_name (16));     /* IQ2_XXS: not readable by Temper */
  g_assert_null (temper_type_name (-1));
  g_assert_null (temper_type_name (TEMPER_TYPE_COUNT));
  g_assert_cmpuint (temper_type_block_bytes (16), ==, 0);
  g_assert_true (temper_type_is_quantized (TEMPER_TYPE_Q4_1));
  g_assert_false (temper_type_is_quantized (TEMPER_TYPE_BF16));
  g_assert_cmpuint (temper_type_row_bytes (TEMPER_TYPE_Q4_1, 576), ==, 18 * 20);
  g_assert_cmpuint (temper_type_row_bytes (TEMPER_TYPE_Q4_K, 576), ==, 0);
  g_assert_cmpuint (temper_type_row_bytes (TEMPER_TYPE_F32, 3), ==, 12);
}

static void
test_dequantize (gconstpointer data)
{
  const TypeCase *c = data;
  g_autofree char *bin_name = g_strdup_printf ("quant-%s.bin", c->name);
  g_autofree char *f32_name = g_strdup_printf ("quant-%s.f32", c->name);
  g_autoptr(GBytes) bin = model_test_fixture (bin_name);
  g_autoptr(GBytes) ref = model_test_fixture (f32_name);
  size_t row_bytes = temper_type_row_bytes (c->type, N);
  const float *expected = g_bytes_get_data (ref, NULL);
  float out[N];
  double max_err = 0.0;

  g_assert_cmpuint (g_bytes_get_size (bin), ==, ROWS * row_bytes);
  g_assert_cmpuint (g_bytes_get_size (ref), ==, ROWS * N * sizeof (float));

  for (int r = 0; r < ROWS; r++)
    {
      TemperTensorView view = { "t", c->type, { N, ROWS }, row_bytes, g_bytes_get_data (bin, NULL) };

      temper_tensor_row_to_f32 (&view, r, out);
      for (int i = 0; i < N; i++)
        {
          float e = expected[r * N + i];
          /* gguf-py computes in float32 too, but may order the scale
           * products differently: allow one or two ulps. */
          g_assert_cmpfloat_with_epsilon (out[i], e, 1e-6f + fabsf (e) * 2e-7f);
          max_err = MAX (max_err, fabs ((double) out[i] - (double) e));
        }
    }
  g_test_message ("%s: largest difference from gguf-py %.3g", c->name, max_err);
}

/* Q8_0, Q4_0 and Q4_1 must produce gguf-py's (= ggml's) bytes exactly. */
static void
test_quantize_exact (gconstpointer data)
{
  const TypeCase *c = data;
  g_autofree char *src_name = g_strdup_printf ("quant-%s.src.f32", c->name);
  g_autofree char *bin_name = g_strdup_printf ("quant-%s.bin", c->name);
  g_autoptr(GBytes) src = model_test_fixture (src_name);
  g_autoptr(GBytes) bin = model_test_fixture (bin_name);
  size_t row_bytes = temper_type_row_bytes (c->type, N);
  g_autofree guint8 *out = g_malloc (ROWS * row_bytes);

  g_assert_true (temper_type_can_quantize (c->type));
  for (int r = 0; r < ROWS; r++)
    g_assert_true (temper_quantize_row (c->type, (const float *) g_bytes_get_data (src, NULL) + r * N,
                                        N, out + r * row_bytes));
  g_assert_cmpmem (out, ROWS * row_bytes, g_bytes_get_data (bin, NULL), g_bytes_get_size (bin));
}

static double
round_trip_rmse (int type, const float *x, int n)
{
  size_t row_bytes = temper_type_row_bytes (type, n);
  g_autofree guint8 *q = g_malloc (row_bytes);
  g_autofree float *y = g_new (float, n);
  double err = 0.0;

  g_assert_true (temper_quantize_row (type, x, n, q));
  g_assert_true (temper_dequantize_row (type, q, n, y));
  for (int i = 0; i < n; i++)
    err += ((double) y[i] - x[i]) * ((double) y[i] - x[i]);
  return sqrt (err / n);
}

/* The K-quantizers have no byte-exact reference in gguf-py; check that they
 * decode (with the decoder tested above) close to the input, and that the
 * least-squares search beats the plain min/max quantizers of equal width. */
static void
test_quantize_k_round_trip (void)
{
  enum { n = 4096 };
  g_autofree float *x = g_new (float, n);
  double rms = 0.0, e_q4k, e_q4_1, e_q6k, e_q8_0;
  GRand *rand = g_rand_new_with_seed (7);

  for (int i = 0; i < n; i++)
    {
      /* Gaussian-ish with a few outliers, like trained weights. */
      double u = g_rand_double (rand) + g_rand_double (rand) + g_rand_double (rand) - 1.5;
      x[i] = (float) (u * 0.05 * (i % 97 == 0 ? 8.0 : 1.0));
      rms += (double) x[i] * x[i];
    }
  g_rand_free (rand);
  rms = sqrt (rms / n);

  e_q4k = round_trip_rmse (TEMPER_TYPE_Q4_K, x, n);
  e_q4_1 = round_trip_rmse (TEMPER_TYPE_Q4_1, x, n);
  e_q6k = round_trip_rmse (TEMPER_TYPE_Q6_K, x, n);
  e_q8_0 = round_trip_rmse (TEMPER_TYPE_Q8_0, x, n);
  g_test_message ("relative RMSE: Q4_K %.4f, Q4_1 %.4f, Q6_K %.4f, Q8_0 %.4f",
                  e_q4k / rms, e_q4_1 / rms, e_q6k / rms, e_q8_0 / rms);

  g_assert_cmpfloat (e_q4k / rms, <, 0.12);
  g_assert_cmpfloat (e_q4k, <, e_q4_1 * 1.05);
  g_assert_cmpfloat (e_q6k / rms, <, 0.035);
  g_assert_cmpfloat (e_q6k, <, e_q4k / 3.0);
  g_assert_cmpfloat (e_q8_0 / rms, <, 0.01);
}

static void
test_quantize_zero_and_constant (void)
{
  float zeros[256] = { 0 }, constant[256], y[256];
  guint8 q[256];

  for (int i = 0; i < 256; i++)
    constant[i] = -1.5f;
  for (guint t = 0; t < 2; t++)
    {
      int type = t == 0 ? TEMPER_TYPE_Q4_K : TEMPER_TYPE_Q6_K;

      g_assert_true (temper_quantize_row (type, zeros, 256, q));
      g_assert_true (temper_dequantize_row (type, q, 256, y));
      for (int i = 0; i < 256; i++)
        g_assert_cmpfloat (y[i], ==, 0.0f);
      g_assert_true (temper_quantize_row (type, constant, 256, q));
      g_assert_true (temper_dequantize_row (type, q, 256, y));
      for (int i = 0; i < 256; i++)
        g_assert_cmpfloat_with_epsilon (y[i], -1.5f, 0.02f);
    }
  g_assert_false (temper_quantize_row (TEMPER_TYPE_Q5_K, zeros, 256, q));
  g_assert_false (temper_quantize_row (TEMPER_TYPE_Q8_0, zeros, 20, q));
}

static void
check_16bit_cases (const char *fixture, uint16_t (*to16) (float), float (*from16) (uint16_t))
{
  g_autoptr(GBytes) bytes = model_test_fixture (fixture);
  gsize n = g_bytes_get_size (bytes) / 8;
  const guint32 *words = g_bytes_get_data (bytes, NULL);

  g_assert_cmpuint (n, >, 100);
  for (gsize i = 0; i < n; i++)
    {
      float x;
      uint16_t expected = (uint16_t) words[n + i];
      uint16_t got;

      memcpy (&x, &words[i], 4);
      got = to16 (x);
      if (got != expected)
        g_test_message ("%s: %.9g (0x%08x) → 0x%04x, reference 0x%04x", fixture, x, words[i], got, expected);
      g_assert_cmphex (got, ==, expected);
      /* Decoding the reference bits gives back a value that encodes to them. */
      if (!isnan (from16 (expected)))
        g_assert_cmpuint (to16 (from16 (expected)), ==, expected);
    }
}

static void
test_f16_cases (void)
{
  check_16bit_cases ("f16-cases.bin", temper_f32_to_f16, temper_f16_to_f32);
}

static void
test_bf16_cases (void)
{
  check_16bit_cases ("bf16-cases.bin", temper_f32_to_bf16, temper_bf16_to_f32);
}

/* Every half converts to f32 and back unchanged (NaNs stay NaN). */
static void
test_f16_all_values (void)
{
  for (guint32 h = 0; h < 65536; h++)
    {
      float f = temper_f16_to_f32 ((uint16_t) h);

      if ((h & 0x7c00) == 0x7c00 && (h & 0x3ff) != 0)
        {
          g_assert_true (isnan (f));
          g_assert_cmpuint (temper_f32_to_f16 (f) & 0x7e00, ==, 0x7e00);
          continue;
        }
      g_assert_cmpuint (temper_f32_to_f16 (f), ==, h);
    }
  g_assert_cmpfloat (temper_f16_to_f32 (0x0001), ==, 0x1p-24f);
  g_assert_cmpfloat (temper_f16_to_f32 (0x7bff), ==, 65504.0f);
  g_assert_cmpfloat (temper_f16_to_f32 (0xc000), ==, -2.0f);
  g_assert_true (isinf (temper_f16_to_f32 (0xfc00)) && temper_f16_to_f32 (0xfc00) < 0);
  g_assert_cmpfloat (temper_bf16_to_f32 (0x3f80), ==, 1.0f);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/model/types/geometry", test_geometry);
  for (gsize i = 0; i < G_N_ELEMENTS (dequant_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/model/types/dequantize/%s", dequant_cases[i].name);
      g_test_add_data_func (path, &dequant_cases[i], test_dequantize);
    }
  for (gsize i = 2; i < 7; i++)
    if (dequant_cases[i].type == TEMPER_TYPE_Q8_0 || dequant_cases[i].type == TEMPER_TYPE_Q4_0
        || dequant_cases[i].type == TEMPER_TYPE_Q4_1)
      {
        g_autofree char *path = g_strdup_printf ("/model/types/quantize/%s", dequant_cases[i].name);
        g_test_add_data_func (path, &dequant_cases[i], test_quantize_exact);
      }
  g_test_add_func ("/model/types/quantize/k-round-trip", test_quantize_k_round_trip);
  g_test_add_func ("/model/types/quantize/zero-and-constant", test_quantize_zero_and_constant);
  g_test_add_func ("/model/types/f16/cases", test_f16_cases);
  g_test_add_func ("/model/types/bf16/cases", test_bf16_cases);
  g_test_add_func ("/model/types/f16/all-values", test_f16_all_values);
  return g_test_run ();
}
