/* SPDX-License-Identifier: MIT */
/* One token's products of the same x in one dispatch (matmul_shared_input:
 * Q, K and V; gate and up) against each product on its own (matmul): the
 * same numbers bit for bit, over 1 and 3 threads, for row counts that are
 * not multiples of four, with and without a bias, one and three tokens,
 * and for types the shared path does not take (it then calls matmul). */
#include "config.h"

#include <string.h>

#include "cpu/temper-cpu-backend.h"
#include "cpu/temper-cpu-private.h"

#define N_PRODUCTS 3

static const int64_t outs[N_PRODUCTS] = { 101, 34, 64 };

/* Deterministic values in [-1, 1). */
static float
next_value (guint64 *rng)
{
  *rng = *rng * 6364136223846793005ull + 1442695040888963407ull;
  return (float) ((double) (*rng >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

static void
fill_weight (TemperBuffer *wb, int type, int64_t in, int64_t out, guint64 *rng)
{
  size_t row_bytes = temper_type_row_bytes (type, in);
  g_autofree float *row = g_new (float, in);

  for (int64_t r = 0; r < out; r++)
    {
      for (int64_t i = 0; i < in; i++)
        row[i] = next_value (rng);
      if (type == TEMPER_TYPE_F32)
        memcpy (wb->host + r * row_bytes, row, row_bytes);
      else
        g_assert_true (temper_quantize_row (type, row, in, wb->host + r * row_bytes));
    }
}

/* The three products with weights of @types over @threads threads, y
 * compared with each product done alone over one thread. */
static void
check_types (const int types[N_PRODUCTS], TemperCpuKernelChoice choice, int64_t T)
{
  const int64_t in = 576;
  TemperBackend *b1 = temper_cpu_backend_new (1, choice);
  TemperBackend *b3 = temper_cpu_backend_new (3, choice);
  TemperBackend *shared_on[2] = { b1, b3 };
  TemperBuffer *wb[N_PRODUCTS], *biasb[N_PRODUCTS], *refb[N_PRODUCTS], *yb[N_PRODUCTS];
  TemperBTensor w[N_PRODUCTS], bias[N_PRODUCTS], ref[N_PRODUCTS], y[N_PRODUCTS];
  const TemperBTensor *wp[N_PRODUCTS], *biasp[N_PRODUCTS], *yp[N_PRODUCTS];
  TemperBuffer *xb = temper_backend_buffer_alloc (b1, sizeof (float) * in * T, TEMPER_BUFFER_ACTIVATIONS, NULL);
  TemperBTensor x = temper_btensor (xb, 0, TEMPER_TYPE_F32, in, T);
  guint64 rng = 5;

  for (int64_t i = 0; i < in * T; i++)
    ((float *) xb->host)[i] = next_value (&rng) * (i % 7 == 0 ? 3.0f : 1.0f);
  for (int j = 0; j < N_PRODUCTS; j++)
    {
      size_t wbytes = temper_type_row_bytes (types[j], in) * outs[j];

      wb[j] = temper_backend_buffer_alloc (b1, wbytes, TEMPER_BUFFER_WEIGHTS, NULL);
      biasb[j] = temper_backend_buffer_alloc (b1, sizeof (float) * outs[j], TEMPER_BUFFER_ACTIVATIONS, NULL);
      refb[j] = temper_backend_buffer_alloc (b1, sizeof (float) * outs[j] * T, TEMPER_BUFFER_ACTIVATIONS, NULL);
      yb[j] = temper_backend_buffer_alloc (b1, sizeof (float) * outs[j] * T, TEMPER_BUFFER_ACTIVATIONS, NULL);
      w[j] = temper_btensor (wb[j], 0, types[j], in, outs[j]);
      bias[j] = temper_btensor (biasb[j], 0, TEMPER_TYPE_F32, outs[j], 1);
      ref[j] = temper_btensor (refb[j], 0, TEMPER_TYPE_F32, outs[j], T);
      y[j] = temper_btensor (yb[j], 0, TEMPER_TYPE_F32, outs[j], T);
      fill_weight (wb[j], types[j], in, outs[j], &rng);
      for (int64_t o = 0; o < outs[j]; o++)
        ((float *) biasb[j]->host)[o] = next_value (&rng);
      wp[j] = &w[j];
      /* The middle product has no bias (as K has none beside Q's). */
      biasp[j] = j == 1 ? NULL : &bias[j];
      yp[j] = &y[j];
      b1->ops->matmul (b1, &ref[j], &x, &w[j], biasp[j], FALSE);
    }
  for (int s = 0; s < 2; s++)
    {
      TemperBackend *b = shared_on[s];

      for (int j = 0; j < N_PRODUCTS; j++)
        for (int64_t i = 0; i < outs[j] * T; i++)
          ((float *) yb[j]->host)[i] = 1e30f;
      b->ops->matmul_shared_input (b, N_PRODUCTS, yp, &x, wp, biasp);
      for (int j = 0; j < N_PRODUCTS; j++)
        for (int64_t i = 0; i < outs[j] * T; i++)
          if (((float *) yb[j]->host)[i] != ((float *) refb[j]->host)[i])
            g_error ("%s, %s, %s; kernels %d, %" G_GINT64_FORMAT " token(s), %d thread(s): product %d, "
                     "element %" G_GINT64_FORMAT " is %.9g, alone %.9g",
                     temper_type_name (types[0]), temper_type_name (types[1]), temper_type_name (types[2]),
                     (int) choice, T, s == 0 ? 1 : 3, j, i, ((float *) yb[j]->host)[i],
                     ((float *) refb[j]->host)[i]);
    }
  for (int j = 0; j < N_PRODUCTS; j++)
    {
      temper_backend_buffer_free (b1, wb[j]);
      temper_backend_buffer_free (b1, biasb[j]);
      temper_backend_buffer_free (b1, refb[j]);
      temper_backend_buffer_free (b1, yb[j]);
    }
  temper_backend_buffer_free (b1, xb);
  temper_backend_free (b1);
  temper_backend_free (b3);
}

static void
test_decode_shared_input (void)
{
  static const TemperCpuKernelChoice choices[] = { TEMPER_CPU_KERNELS_FAST_DECODE, TEMPER_CPU_KERNELS_BEST };
  /* Q, K and V of one type; a mix (a Q4_K_M file's V is Q8_0); one F32
   * weight, which sends all three to matmul. */
  static const int sets[][N_PRODUCTS] = {
    { TEMPER_TYPE_Q4_0, TEMPER_TYPE_Q4_0, TEMPER_TYPE_Q4_0 },
    { TEMPER_TYPE_Q4_1, TEMPER_TYPE_Q4_1, TEMPER_TYPE_Q8_0 },
    { TEMPER_TYPE_Q8_0, TEMPER_TYPE_F32, TEMPER_TYPE_Q4_0 },
  };
  static const int64_t tokens[] = { 1, 3 };

  for (gsize c = 0; c < G_N_ELEMENTS (choices); c++)
    for (gsize s = 0; s < G_N_ELEMENTS (sets); s++)
      for (gsize t = 0; t < G_N_ELEMENTS (tokens); t++)
        check_types (sets[s], choices[c], tokens[t]);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/cpu/decode-shared-input", test_decode_shared_input);
  return g_test_run ();
}
