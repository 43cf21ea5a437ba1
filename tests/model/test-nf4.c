/* SPDX-License-Identifier: MIT */
/* test-nf4.c — the NF4 type against bitsandbytes.
 *
 * The fixture comes from tests/fixtures/make-nf4-fixture.py: rows quantized by
 * bitsandbytes' quantize_4bit (blocksize 64, "nf4") with its codes, absmax
 * and dequantize_4bit output.  Temper's quantizer must give the same codes
 * and absmax (ties included), and its dequantizer the same floats. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "temper/tensor.h"
#include "model-test-util.h"

#define ROWS 4
#define N 256
#define BLOCK 64
#define BLOCK_BYTES 36

static const float *
fixture_floats (GBytes *bytes, gsize count)
{
  gsize len = 0;
  const float *data = g_bytes_get_data (bytes, &len);

  g_assert_cmpuint (len, ==, count * sizeof (float));
  return data;
}

/* bitsandbytes keeps codes and absmax apart; a Temper block holds both. */
static guint8 *
blocks_from_bitsandbytes (const guint8 *codes, const float *absmax)
{
  guint8 *blocks = g_malloc (ROWS * N / BLOCK * BLOCK_BYTES);

  for (int b = 0; b < ROWS * N / BLOCK; b++)
    {
      memcpy (blocks + b * BLOCK_BYTES, &absmax[b], 4);
      memcpy (blocks + b * BLOCK_BYTES + 4, codes + b * BLOCK / 2, BLOCK / 2);
    }
  return blocks;
}

static void
test_geometry (void)
{
  g_assert_cmpuint (temper_type_block_elems (TEMPER_TYPE_NF4), ==, BLOCK);
  g_assert_cmpuint (temper_type_block_bytes (TEMPER_TYPE_NF4), ==, BLOCK_BYTES);
  g_assert_cmpstr (temper_type_name (TEMPER_TYPE_NF4), ==, "NF4");
  g_assert_true (temper_type_is_quantized (TEMPER_TYPE_NF4));
  g_assert_true (temper_type_can_quantize (TEMPER_TYPE_NF4));
  g_assert_cmpuint (temper_type_row_bytes (TEMPER_TYPE_NF4, 4096), ==, 4096 / 64 * 36);
  g_assert_cmpuint (temper_type_row_bytes (TEMPER_TYPE_NF4, 100), ==, 0);
  /* Outside ggml's numbering, so a GGUF never names it. */
  g_assert_cmpint (TEMPER_TYPE_NF4, >=, TEMPER_TYPE_COUNT);
}

static void
test_quantize_matches_bitsandbytes (void)
{
  g_autoptr(GBytes) src_bytes = model_test_fixture ("nf4-src.f32");
  g_autoptr(GBytes) code_bytes = model_test_fixture ("nf4-codes.bin");
  g_autoptr(GBytes) absmax_bytes = model_test_fixture ("nf4-absmax.f32");
  const float *src = fixture_floats (src_bytes, ROWS * N);
  const float *absmax = fixture_floats (absmax_bytes, ROWS * N / BLOCK);
  gsize code_len = 0;
  const guint8 *codes = g_bytes_get_data (code_bytes, &code_len);
  g_autofree guint8 *expected = NULL;
  g_autofree guint8 *got = g_malloc (ROWS * N / BLOCK * BLOCK_BYTES);
  int mismatches = 0;

  g_assert_cmpuint (code_len, ==, ROWS * N / 2);
  expected = blocks_from_bitsandbytes (codes, absmax);
  for (int r = 0; r < ROWS; r++)
    g_assert_true (temper_quantize_row (TEMPER_TYPE_NF4, src + r * N, N,
                                        got + r * (N / BLOCK) * BLOCK_BYTES));

  for (int b = 0; b < ROWS * N / BLOCK; b++)
    for (int k = 0; k < BLOCK_BYTES; k++)
      if (got[b * BLOCK_BYTES + k] != expected[b * BLOCK_BYTES + k])
        {
          if (mismatches++ < 10)
            g_test_message ("block %d byte %d: 0x%02x, bitsandbytes 0x%02x", b, k,
                            got[b * BLOCK_BYTES + k], expected[b * BLOCK_BYTES + k]);
        }
  g_assert_cmpint (mismatches, ==, 0);
}

static void
test_dequantize_matches_bitsandbytes (void)
{
  g_autoptr(GBytes) code_bytes = model_test_fixture ("nf4-codes.bin");
  g_autoptr(GBytes) absmax_bytes = model_test_fixture ("nf4-absmax.f32");
  g_autoptr(GBytes) dequant_bytes = model_test_fixture ("nf4-dequant.f32");
  const float *absmax = fixture_floats (absmax_bytes, ROWS * N / BLOCK);
  const float *reference = fixture_floats (dequant_bytes, ROWS * N);
  g_autofree guint8 *blocks = blocks_from_bitsandbytes (g_bytes_get_data (code_bytes, NULL), absmax);
  g_autofree float *got = g_new (float, ROWS * N);

  g_assert_true (temper_dequantize_row (TEMPER_TYPE_NF4, blocks, ROWS * N, got));
  /* Both multiply one fp32 table value by one fp32 absmax: equal bit for bit. */
  for (int i = 0; i < ROWS * N; i++)
    if (memcmp (&got[i], &reference[i], sizeof (float)) != 0)
      {
        g_test_message ("element %d: %.9g, bitsandbytes %.9g", i, got[i], reference[i]);
        g_assert_not_reached ();
      }
}

/* The backend golden pair (Temper's blocks made from bitsandbytes' codes and
 * absmax, with its dequantization) read by the reference dequantizer. */
static void
test_golden_pair (void)
{
  g_autoptr(GBytes) bin = model_test_fixture ("quant-NF4.bin");
  g_autoptr(GBytes) ref = model_test_fixture ("quant-NF4.f32");
  gsize bin_len = 0, ref_len = 0;
  const guint8 *blocks = g_bytes_get_data (bin, &bin_len);
  const float *expected = g_bytes_get_data (ref, &ref_len);
  int64_t n = (int64_t) (ref_len / sizeof (float));
  g_autofree float *got = g_new (float, n);

  g_assert_cmpuint (bin_len, ==, temper_type_row_bytes (TEMPER_TYPE_NF4, n));
  g_assert_true (temper_dequantize_row (TEMPER_TYPE_NF4, blocks, n, got));
  g_assert_cmpmem (got, n * sizeof (float), expected, n * sizeof (float));
}

/* The round trip's error stays within half the widest gap between codes
 * (0.3038 between -1 and -0.6962) times the block's absmax. */
static void
test_round_trip_error_bound (void)
{
  g_autoptr(GBytes) src_bytes = model_test_fixture ("nf4-src.f32");
  const float *src = fixture_floats (src_bytes, ROWS * N);
  g_autofree guint8 *blocks = g_malloc (ROWS * N / BLOCK * BLOCK_BYTES);
  g_autofree float *back = g_new (float, ROWS * N);

  g_assert_true (temper_quantize_row (TEMPER_TYPE_NF4, src, ROWS * N, blocks));
  g_assert_true (temper_dequantize_row (TEMPER_TYPE_NF4, blocks, ROWS * N, back));
  for (int b = 0; b < ROWS * N / BLOCK; b++)
    {
      float amax = 0.0f;

      for (int j = 0; j < BLOCK; j++)
        amax = fmaxf (amax, fabsf (src[b * BLOCK + j]));
      for (int j = 0; j < BLOCK; j++)
        g_assert_cmpfloat (fabsf (back[b * BLOCK + j] - src[b * BLOCK + j]), <=,
                           0.152f * amax * (1.0f + 1e-6f));
    }
}

static void
test_bad_lengths (void)
{
  float x[BLOCK + 1] = { 0 };
  guint8 dst[2 * BLOCK_BYTES] = { 0 };
  float out[BLOCK + 1];

  /* Not a whole number of blocks: refused, nothing written. */
  g_assert_false (temper_quantize_row (TEMPER_TYPE_NF4, x, BLOCK + 1, dst));
  g_assert_false (temper_dequantize_row (TEMPER_TYPE_NF4, dst, BLOCK / 2, out));
  g_assert_false (temper_dequantize_row (TEMPER_TYPE_NF4, dst, -BLOCK, out));
}

/* Infinite and NaN weights must not crash the quantizer (they can reach it
 * from a damaged safetensors file); finite blocks around them are unharmed. */
static void
test_non_finite_input (void)
{
  float x[2 * BLOCK];
  guint8 blocks[2 * BLOCK_BYTES];
  float back[2 * BLOCK];

  for (int j = 0; j < 2 * BLOCK; j++)
    x[j] = (float) (j % 7) - 3.0f;
  x[3] = NAN;
  x[9] = INFINITY;
  temper_quantize_row_nf4 (x, 2 * BLOCK, blocks);
  g_assert_true (temper_dequantize_row (TEMPER_TYPE_NF4, blocks, 2 * BLOCK, back));
  for (int j = BLOCK; j < 2 * BLOCK; j++)
    g_assert_cmpfloat (fabsf (back[j] - x[j]), <=, 0.152f * 3.0f);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/model/nf4/geometry", test_geometry);
  g_test_add_func ("/model/nf4/quantize-matches-bitsandbytes", test_quantize_matches_bitsandbytes);
  g_test_add_func ("/model/nf4/dequantize-matches-bitsandbytes", test_dequantize_matches_bitsandbytes);
  g_test_add_func ("/model/nf4/golden-pair", test_golden_pair);
  g_test_add_func ("/model/nf4/round-trip-error-bound", test_round_trip_error_bound);
  g_test_add_func ("/model/nf4/bad-lengths", test_bad_lengths);
  g_test_add_func ("/model/nf4/non-finite-input", test_non_finite_input);
  return g_test_run ();
}
