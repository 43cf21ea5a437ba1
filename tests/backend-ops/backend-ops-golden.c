/* SPDX-License-Identifier: MIT */
/* backend-ops-golden.c — independent golden values on the tested backend
 * alone: rows quantized and dequantized by the gguf Python package
 * (tests/model/make-quant-fixtures.py, committed under
 * tests/fixtures/model/).  Dequantize and embedding must reproduce them, and
 * matmul with those weights must match a double-precision product. */
#include "config.h"

#include <math.h>

#include "backend-ops.h"

void
backend_ops_golden (int type)
{
  TemperBackend *b = sides[DUT];
  const char *root = g_getenv ("TEMPER_SOURCE_DIR") ? g_getenv ("TEMPER_SOURCE_DIR") : TEMPER_SOURCE_DIR;
  g_autofree char *name = g_strdup_printf ("quant-%s", temper_type_name (type));
  g_autofree char *bin_path = g_strdup_printf ("%s/tests/fixtures/model/%s.bin", root, name);
  g_autofree char *f32_path = g_strdup_printf ("%s/tests/fixtures/model/%s.f32", root, name);
  g_autofree char *bin = NULL, *ref_bytes = NULL;
  g_autofree float *got = NULL, *x = NULL, *y = NULL;
  const float *ref;
  gsize bin_len, ref_len;
  int64_t rows, cols = 512, T = 40;
  gint32 ids[3] = { 1, 0, 1 };
  Pair *w, *out, *tok, *emb, *px, *py;
  g_autoptr (GError) error = NULL;

  if (!g_file_get_contents (bin_path, &bin, &bin_len, NULL)
      || !g_file_get_contents (f32_path, &ref_bytes, &ref_len, NULL))
    {
      g_autofree char *msg = g_strdup_printf ("no fixture %s", bin_path);
      g_test_skip (msg);
      return;
    }
  if (!temper_backend_supports_op (b, TEMPER_OP_DEQUANTIZE, type)
      || !temper_backend_supports_op (b, TEMPER_OP_EMBEDDING, type)
      || !temper_backend_supports_op (b, TEMPER_OP_MATMUL, type))
    {
      g_autofree char *msg = g_strdup_printf ("not supported: %s on %s", temper_type_name (type),
                                              temper_backend_get_name (b));
      g_test_skip (msg);
      return;
    }
  ref = (const float *) ref_bytes;
  rows = (int64_t) (ref_len / sizeof (float)) / cols;
  g_assert_cmpuint (bin_len, ==, temper_btensor_bytes (type, cols, rows));

  w = pair_new (type, cols, rows, bin);
  out = pair_new (TEMPER_TYPE_F32, cols, rows, NULL);
  tok = pair_new (TEMPER_TYPE_I32, 3, 1, ids);
  emb = pair_new (TEMPER_TYPE_F32, cols, 3, NULL);
  x = random_f32 ((gsize) (cols * T), 1.0);
  px = pair_new (TEMPER_TYPE_F32, cols, T, x);
  py = pair_new (TEMPER_TYPE_F32, rows, T, NULL);
  temper_backend_begin (b);
  b->ops->dequantize (b, &out->t[DUT], &w->t[DUT]);
  b->ops->embedding (b, &emb->t[DUT], &w->t[DUT], &tok->t[DUT]);
  /* 40 rows take a GPU's tiled shader; the first 3 again take matvec. */
  b->ops->matmul (b, &py->t[DUT], &px->t[DUT], &w->t[DUT], NULL, FALSE);
  {
    TemperBTensor x3 = temper_btensor_rows (&px->t[DUT], 0, 3), y3 = temper_btensor_rows (&py->t[DUT], 0, 3);
    b->ops->matmul (b, &y3, &x3, &w->t[DUT], NULL, TRUE);
  }
  g_assert_true (temper_backend_flush (b, &error));
  g_assert_no_error (error);

  got = g_malloc (MAX (out->bytes, emb->bytes));
  g_assert_true (temper_backend_download (b, &out->t[DUT], got, &error));
  {
    float largest = 0.0f;

    for (int64_t i = 0; i < rows * cols; i++)
      {
        if (fabsf (got[i] - ref[i]) > 1e-6f * MAX (1.0f, fabsf (ref[i])))
          g_error ("%s element %" G_GINT64_FORMAT ": %s %g, gguf %g", name, i,
                   temper_backend_get_name (b), got[i], ref[i]);
        largest = MAX (largest, fabsf (got[i] - ref[i]));
      }
    g_test_message ("%s dequantized against gguf-py: largest difference %.3g", name, largest);
  }
  g_assert_true (temper_backend_download (b, &emb->t[DUT], got, &error));
  for (int t = 0; t < 3; t++)
    for (int64_t i = 0; i < cols; i++)
      g_assert_cmpfloat_with_epsilon (got[t * cols + i], ref[ids[t] * cols + i], 1e-6);

  y = g_malloc (py->bytes);
  g_assert_true (temper_backend_download (b, &py->t[DUT], y, &error));
  {
    double diff = 0, norm = 0;

    for (int64_t t = 0; t < T; t++)
      for (int64_t r = 0; r < rows; r++)
        {
          double acc = 0;

          for (int64_t i = 0; i < cols; i++)
            acc += (double) x[t * cols + i] * ref[r * cols + i];
          if (t < 3)
            acc *= 2;   /* accumulated a second time */
          diff += (y[t * rows + r] - acc) * (y[t * rows + r] - acc);
          norm += acc * acc;
        }
    g_test_message ("%s matmul against double reference: normalized error %.3g", name, sqrt (diff / norm));
    g_assert_cmpfloat (sqrt (diff / norm), <, 1e-5);
  }
}
