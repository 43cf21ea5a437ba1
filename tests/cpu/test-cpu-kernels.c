/* SPDX-License-Identifier: MIT */
/* The CPU kernels for every weight type, SIMD and portable, against the
 * engine's reference dequantiser (temper_tensor_row_to_f32) and a
 * double-precision dot product. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "cpu/temper-cpu-backend.h"
#if defined(__x86_64__) || defined(__i386__)
#include "cpu/temper-cpu-avx2-exp.h"
#endif

static const int types[] = {
  TEMPER_TYPE_F32, TEMPER_TYPE_F16, TEMPER_TYPE_BF16, TEMPER_TYPE_Q4_0, TEMPER_TYPE_Q4_1,
  TEMPER_TYPE_Q5_0, TEMPER_TYPE_Q5_1, TEMPER_TYPE_Q8_0, TEMPER_TYPE_Q4_K, TEMPER_TYPE_Q5_K,
  TEMPER_TYPE_Q6_K, TEMPER_TYPE_NF4, TEMPER_TYPE_Q2_K, TEMPER_TYPE_Q3_K, TEMPER_TYPE_IQ4_NL,
  TEMPER_TYPE_IQ4_XS, TEMPER_TYPE_TQ2_0,
};

#define CPU_TEST_SEED 7
#include "cpu-test-random.h"

/* Random weights of @type: random bits for the quants, with every fp16 scale
 * (NF4's fp32 absmax) replaced by a sane value so no block holds NaN or Inf. */
static guint8 *
random_weights (int type, int64_t in, int64_t rows, size_t *row_bytes)
{
  size_t rb = temper_type_row_bytes (type, in);
  size_t bb = temper_type_block_bytes (type);
  guint8 *data = g_malloc ((size_t) rows * rb);

  *row_bytes = rb;
  for (size_t i = 0; i < (size_t) rows * rb; i++)
    data[i] = (guint8) next_u32 ();
  for (int64_t r = 0; r < rows; r++)
    {
      guint8 *row = data + (size_t) r * rb;

      if (type == TEMPER_TYPE_F32)
        for (int64_t i = 0; i < in; i++)
          {
            float v = frand ();
            memcpy (row + 4 * i, &v, 4);
          }
      else if (type == TEMPER_TYPE_F16)
        for (int64_t i = 0; i < in; i++)
          put_f16 (row + 2 * i, frand ());
      else if (type == TEMPER_TYPE_BF16)
        for (int64_t i = 0; i < in; i++)
          {
            guint16 h = temper_f32_to_bf16 (frand ());
            memcpy (row + 2 * i, &h, 2);
          }
      else
        for (size_t b = 0; b < rb; b += bb)
          {
            guint8 *blk = row + b;

            switch (type)
              {
              case TEMPER_TYPE_Q4_1: case TEMPER_TYPE_Q5_1:
              case TEMPER_TYPE_Q4_K: case TEMPER_TYPE_Q5_K:
                put_f16 (blk, 0.05f * frand ());
                put_f16 (blk + 2, 0.05f * frand ());
                break;
              case TEMPER_TYPE_Q6_K:
                put_f16 (blk + 208, 0.01f * frand ());
                break;
              case TEMPER_TYPE_Q2_K:   /* d and dmin at the end */
                put_f16 (blk + 80, 0.01f * frand ());
                put_f16 (blk + 82, 0.01f * frand ());
                break;
              case TEMPER_TYPE_Q3_K:
                put_f16 (blk + 108, 0.01f * frand ());
                break;
              case TEMPER_TYPE_TQ2_0:
                put_f16 (blk + 64, 0.05f * frand ());
                break;
              case TEMPER_TYPE_NF4:
                {
                  float absmax = 0.05f * frand ();   /* an fp32 scale, then the codes */
                  memcpy (blk, &absmax, 4);
                }
                break;
              default:
                put_f16 (blk, 0.05f * frand ());
                break;
              }
          }
    }
  return data;
}

static void
test_matmul_types (void)
{
  TemperBackend *best = temper_cpu_backend_new (2, TEMPER_CPU_KERNELS_BEST);
  TemperBackend *scalar = temper_cpu_backend_new (2, TEMPER_CPU_KERNELS_SCALAR);
  const int64_t in = 512, out = 13;

  g_test_message ("fast kernels: %s", temper_cpu_backend_get_kernels_name (best));
  g_assert_cmpstr (temper_cpu_backend_get_kernels_name (scalar), ==, "scalar");

  for (gsize ti = 0; ti < G_N_ELEMENTS (types); ti++)
    for (int T = 1; T <= 9; T += 8)
      {
        int type = types[ti];
        size_t rb;
        g_autofree guint8 *w = random_weights (type, in, out, &rb);
        g_autofree float *x = g_new (float, in * T);
        g_autofree float *ref = g_new (float, out * T);
        g_autofree float *row = g_new (float, in);
        TemperBackend *backends[2] = { best, scalar };

        for (int64_t i = 0; i < in * T; i++)
          x[i] = frand ();
        for (int64_t o = 0; o < out; o++)
          {
            TemperTensorView view = { "w", type, { in, out }, rb, w };

            temper_tensor_row_to_f32 (&view, o, row);
            for (int t = 0; t < T; t++)
              {
                double s = 0.0;

                for (int64_t i = 0; i < in; i++)
                  s += (double) row[i] * x[t * in + i];
                ref[t * out + o] = (float) s;
              }
          }

        for (int bi = 0; bi < 2; bi++)
          {
            TemperBackend *b = backends[bi];
            TemperBuffer *wb = temper_backend_buffer_from_host (b, w, rb * out, NULL);
            TemperBuffer *xb = temper_backend_buffer_alloc (b, sizeof (float) * in * T, TEMPER_BUFFER_ACTIVATIONS, NULL);
            TemperBuffer *yb = temper_backend_buffer_alloc (b, sizeof (float) * out * T, TEMPER_BUFFER_ACTIVATIONS, NULL);
            TemperBuffer *db = temper_backend_buffer_alloc (b, sizeof (float) * in * out, TEMPER_BUFFER_ACTIVATIONS, NULL);
            TemperBTensor wt = temper_btensor (wb, 0, type, in, out);
            TemperBTensor xt = temper_btensor (xb, 0, TEMPER_TYPE_F32, in, T);
            TemperBTensor yt = temper_btensor (yb, 0, TEMPER_TYPE_F32, out, T);
            TemperBTensor dt = temper_btensor (db, 0, TEMPER_TYPE_F32, in, out);
            const float *y = (const float *) yb->host, *deq = (const float *) db->host;
            double max_err = 0.0;

            g_assert_true (temper_backend_supports_op (b, TEMPER_OP_MATMUL, type));
            g_assert_true (temper_backend_upload (b, &xt, x, NULL));
            b->ops->matmul (b, &yt, &xt, &wt, NULL, FALSE);
            for (int64_t i = 0; i < out * T; i++)
              max_err = MAX (max_err, fabs ((double) y[i] - ref[i]) / MAX (1.0, fabs (ref[i])));
            if (max_err > 1e-4)
              g_error ("%s %s T=%d: matmul error %g", temper_cpu_backend_get_kernels_name (b),
                       temper_type_name (type), T, max_err);

            /* Dequantisation must match the reference exactly (up to fp32 FMA rounding). */
            b->ops->dequantize (b, &dt, &wt);
            for (int64_t o = 0; o < out; o++)
              {
                TemperTensorView view = { "w", type, { in, out }, rb, w };

                temper_tensor_row_to_f32 (&view, o, row);
                for (int64_t i = 0; i < in; i++)
                  g_assert_cmpfloat (fabsf (deq[o * in + i] - row[i]), <=, 1e-6f * MAX (1.0f, fabsf (row[i])));
              }
            temper_backend_buffer_free (b, wb);
            temper_backend_buffer_free (b, xb);
            temper_backend_buffer_free (b, yb);
            temper_backend_buffer_free (b, db);
          }
      }
  temper_backend_free (best);
  temper_backend_free (scalar);
}

/* matmul_backward_input on a quantized weight equals dy·W with the
 * reference-dequantised W. */
static void
test_backward_types (void)
{
  TemperBackend *b = temper_cpu_backend_new (2, TEMPER_CPU_KERNELS_BEST);
  const int64_t in = 256, out = 11, T = 3;

  for (gsize ti = 0; ti < G_N_ELEMENTS (types); ti++)
    {
      int type = types[ti];
      size_t rb;
      g_autofree guint8 *w = random_weights (type, in, out, &rb);
      g_autofree float *dense = g_new (float, in * out);
      TemperBuffer *wb = temper_backend_buffer_from_host (b, w, rb * out, NULL);
      TemperBuffer *dyb = temper_backend_buffer_alloc (b, sizeof (float) * out * T, TEMPER_BUFFER_ACTIVATIONS, NULL);
      TemperBuffer *dxb = temper_backend_buffer_alloc (b, sizeof (float) * in * T, TEMPER_BUFFER_ACTIVATIONS, NULL);
      TemperBTensor wt = temper_btensor (wb, 0, type, in, out);
      TemperBTensor dyt = temper_btensor (dyb, 0, TEMPER_TYPE_F32, out, T);
      TemperBTensor dxt = temper_btensor (dxb, 0, TEMPER_TYPE_F32, in, T);
      float *dy = (float *) dyb->host, *dx = (float *) dxb->host;

      for (int64_t o = 0; o < out; o++)
        {
          TemperTensorView view = { "w", type, { in, out }, rb, w };
          temper_tensor_row_to_f32 (&view, o, dense + o * in);
        }
      for (int64_t i = 0; i < out * T; i++)
        dy[i] = frand ();
      b->ops->matmul_backward_input (b, &dxt, &dyt, &wt);
      for (int64_t t = 0; t < T; t++)
        for (int64_t i = 0; i < in; i++)
          {
            double s = 0.0;

            for (int64_t o = 0; o < out; o++)
              s += (double) dy[t * out + o] * dense[o * in + i];
            g_assert_cmpfloat (fabs (dx[t * in + i] - s), <, 1e-4 * MAX (1.0, fabs (s)));
          }
      temper_backend_buffer_free (b, wb);
      temper_backend_buffer_free (b, dyb);
      temper_backend_buffer_free (b, dxb);
    }
  temper_backend_free (b);
}

/* 8-bit activations for decoding (and, on processors with AVX-512 VNNI or
 * AVX2, for many tokens): each x is rounded by at most max|x|/254 per 32-block, so
 * |y − ref| ≤ Σ|w|·max|x|/254 (plus fp32 rounding).  70 tokens and 70 rows:
 * neither a multiple of the many-token tile, two threads with unequal
 * shares. */
static void
test_fast_decode (void)
{
  TemperBackend *b = temper_cpu_backend_new (2, TEMPER_CPU_KERNELS_FAST_DECODE);
  const int q8_types[] = { TEMPER_TYPE_Q4_0, TEMPER_TYPE_Q4_1, TEMPER_TYPE_Q5_0,
                           TEMPER_TYPE_Q5_1, TEMPER_TYPE_Q8_0, TEMPER_TYPE_Q2_K,
                           TEMPER_TYPE_Q3_K, TEMPER_TYPE_Q4_K, TEMPER_TYPE_Q5_K,
                           TEMPER_TYPE_Q6_K, TEMPER_TYPE_IQ4_NL, TEMPER_TYPE_IQ4_XS };
  const int64_t in = 512, out = 70;
  /* 5 and 70 leave two tokens and one past the AVX2 tile's threes. */
  const int token_counts[] = { 1, 5, 9, 70 };
  gboolean prefill_q8 = strstr (temper_cpu_backend_get_kernels_name (b), "prompts") != NULL;

  if (g_strcmp0 (temper_cpu_backend_get_kernels_name (b), "scalar") == 0)
    {
      temper_backend_free (b);
      g_test_skip ("this processor has no AVX2");
      return;
    }
  for (gsize ti = 0; ti < G_N_ELEMENTS (q8_types); ti++)
    for (gsize ni = 0; ni < G_N_ELEMENTS (token_counts); ni++)
      {
        int type = q8_types[ti], T = token_counts[ni];
        size_t rb;
        g_autofree guint8 *w = random_weights (type, in, out, &rb);
        g_autofree float *x = g_new (float, in * T);
        g_autofree float *row = g_new (float, in);
        TemperBuffer *wb = temper_backend_buffer_from_host (b, w, rb * out, NULL);
        TemperBuffer *xb = temper_backend_buffer_alloc (b, sizeof (float) * in * T, TEMPER_BUFFER_ACTIVATIONS, NULL);
        TemperBuffer *yb = temper_backend_buffer_alloc (b, sizeof (float) * out * T, TEMPER_BUFFER_ACTIVATIONS, NULL);
        TemperBTensor wt = temper_btensor (wb, 0, type, in, out);
        TemperBTensor xt = temper_btensor (xb, 0, TEMPER_TYPE_F32, in, T);
        TemperBTensor yt = temper_btensor (yb, 0, TEMPER_TYPE_F32, out, T);
        TemperBuffer *bb = temper_backend_buffer_alloc (b, sizeof (float) * out, TEMPER_BUFFER_ACTIVATIONS, NULL);
        TemperBTensor bt = temper_btensor (bb, 0, TEMPER_TYPE_F32, out, 1);
        g_autofree float *y0 = g_new (float, out * T);
        g_autofree float *bias = g_new (float, out);
        const float *y = (const float *) yb->host;
        gboolean any_inexact = FALSE;

        for (int64_t i = 0; i < in * T; i++)
          x[i] = frand () * (i % 7 == 0 ? 3.0f : 1.0f);
        /* A bias, and onto an old y: the kernels' ways of storing. */
        for (int64_t i = 0; i < out * T; i++)
          y0[i] = frand ();
        for (int64_t o = 0; o < out; o++)
          bias[o] = frand ();
        g_assert_true (temper_backend_upload (b, &xt, x, NULL));
        g_assert_true (temper_backend_upload (b, &yt, y0, NULL));
        g_assert_true (temper_backend_upload (b, &bt, bias, NULL));
        b->ops->matmul (b, &yt, &xt, &wt, &bt, TRUE);
        for (int64_t o = 0; o < out; o++)
          {
            TemperTensorView view = { "w", type, { in, out }, rb, w };

            temper_tensor_row_to_f32 (&view, o, row);
            for (int t = 0; t < T; t++)
              {
                double ref = (double) y0[t * out + o] + bias[o], bound = 0.0, err;

                for (int64_t i = 0; i < in; i++)
                  ref += (double) row[i] * x[t * in + i];
                for (int64_t blk = 0; blk < in / 32; blk++)
                  {
                    double amax = 0.0, wsum = 0.0;

                    for (int i = 0; i < 32; i++)
                      {
                        amax = MAX (amax, fabs (x[t * in + blk * 32 + i]));
                        wsum += fabs (row[blk * 32 + i]);
                      }
                    bound += wsum * amax / 254.0;
                  }
                err = fabs ((double) y[t * out + o] - ref);
                any_inexact |= err > 1e-4 * MAX (1.0, fabs (ref));
                g_assert_cmpfloat (err, <=, bound * 1.01 + 1e-4);
              }
          }
        /* The 8-bit path really ran for the types it covers. */
        if (T == 1)
          g_assert_true (any_inexact);
        /* Many tokens take 8 bits too where the kernels have the
         * many-token path (AVX-512 VNNI or AVX2): every type here. */
        if (T > 4 && prefill_q8)
          g_assert_true (any_inexact);
        temper_backend_buffer_free (b, wb);
        temper_backend_buffer_free (b, xb);
        temper_backend_buffer_free (b, yb);
        temper_backend_buffer_free (b, bb);
      }
  temper_backend_free (b);
}

/* Prompts and decoding give the same products: the many-token 8-bit path
 * (AVX-512 VNNI or AVX2) rounds x as decoding does and multiplies the same
 * integers, so each of 70 tokens' outputs must equal the one-token
 * product's up to float rounding, far inside the 8-bit bound that
 * test_fast_decode holds both to.  Activations with a few large values,
 * as a real model's residual stream has.  (Rounding x with 127/amax where
 * decoding uses 1/(amax/127) moved a quant by one now and then: 4.9e-5
 * here, against 6.6e-7 when both round alike.) */
static void
test_prefill_matches_decode (void)
{
  TemperBackend *b = temper_cpu_backend_new (2, TEMPER_CPU_KERNELS_FAST_DECODE);
  const int q8_types[] = { TEMPER_TYPE_Q4_0, TEMPER_TYPE_Q4_1, TEMPER_TYPE_Q5_0,
                           TEMPER_TYPE_Q5_1, TEMPER_TYPE_Q8_0, TEMPER_TYPE_Q2_K,
                           TEMPER_TYPE_Q3_K, TEMPER_TYPE_Q4_K, TEMPER_TYPE_Q5_K,
                           TEMPER_TYPE_Q6_K, TEMPER_TYPE_IQ4_NL, TEMPER_TYPE_IQ4_XS };
  const int64_t in = 1024, out = 70, T = 70;

  if (strstr (temper_cpu_backend_get_kernels_name (b), "prompts") == NULL)
    {
      temper_backend_free (b);
      g_test_skip ("this processor has no many-token 8-bit path");
      return;
    }
  for (gsize ti = 0; ti < G_N_ELEMENTS (q8_types); ti++)
    {
      int type = q8_types[ti];
      size_t rb;
      g_autofree guint8 *w = random_weights (type, in, out, &rb);
      g_autofree float *x = g_new (float, in * T);
      g_autofree float *y_one = g_new (float, out);
      g_autofree float *row = g_new (float, in);
      TemperBuffer *wb = temper_backend_buffer_from_host (b, w, rb * out, NULL);
      TemperBuffer *xb = temper_backend_buffer_alloc (b, sizeof (float) * in * T, TEMPER_BUFFER_ACTIVATIONS, NULL);
      TemperBuffer *yb = temper_backend_buffer_alloc (b, sizeof (float) * out * T, TEMPER_BUFFER_ACTIVATIONS, NULL);
      TemperBuffer *x1b = temper_backend_buffer_alloc (b, sizeof (float) * in, TEMPER_BUFFER_ACTIVATIONS, NULL);
      TemperBuffer *y1b = temper_backend_buffer_alloc (b, sizeof (float) * out, TEMPER_BUFFER_ACTIVATIONS, NULL);
      TemperBTensor wt = temper_btensor (wb, 0, type, in, out);
      TemperBTensor xt = temper_btensor (xb, 0, TEMPER_TYPE_F32, in, T);
      TemperBTensor yt = temper_btensor (yb, 0, TEMPER_TYPE_F32, out, T);
      TemperBTensor x1t = temper_btensor (x1b, 0, TEMPER_TYPE_F32, in, 1);
      TemperBTensor y1t = temper_btensor (y1b, 0, TEMPER_TYPE_F32, out, 1);
      const float *y = (const float *) yb->host;
      double worst = 0.0;

      for (int64_t i = 0; i < in * T; i++)
        x[i] = frand () * (i % 97 == 5 ? 40.0f : 1.0f);
      g_assert_true (temper_backend_upload (b, &xt, x, NULL));
      b->ops->matmul (b, &yt, &xt, &wt, NULL, FALSE);
      for (int t = 0; t < T; t++)
        {
          g_assert_true (temper_backend_upload (b, &x1t, x + t * in, NULL));
          b->ops->matmul (b, &y1t, &x1t, &wt, NULL, FALSE);
          g_assert_true (temper_backend_download (b, &y1t, y_one, NULL));
          for (int64_t o = 0; o < out; o++)
            {
              TemperTensorView view = { "w", type, { in, out }, rb, w };
              double scale = 0.0, err;

              temper_tensor_row_to_f32 (&view, o, row);
              for (int64_t i = 0; i < in; i++)
                scale += fabs ((double) row[i] * x[t * in + i]);
              err = fabs ((double) y[t * out + o] - y_one[o]) / MAX (scale, 1e-6);
              worst = MAX (worst, err);
            }
        }
      g_test_message ("%s: worst |prompt − decode| / Σ|w·x| = %.2e", temper_type_name (type), worst);
      g_assert_cmpfloat (worst, <=, 5e-6);
      temper_backend_buffer_free (b, wb);
      temper_backend_buffer_free (b, xb);
      temper_backend_buffer_free (b, yb);
      temper_backend_buffer_free (b, x1b);
      temper_backend_buffer_free (b, y1b);
    }
  temper_backend_free (b);
}

/* The vector exponential (softmaxes, SwiGLU) against expf: within two
 * units in the last place where the result is a normal float, 0 below
 * where expf underflows to a denormal, and the sum it returns. */
static void
test_exp (void)
{
#if defined(__x86_64__) || defined(__i386__)
  enum { N = 20011 };
  g_autofree float *x = g_new (float, N);
  g_autofree float *y = g_new (float, N);
  double want_sum = 0.0, got_sum;
  float worst = 0.0f;

  __builtin_cpu_init ();
  if (!__builtin_cpu_supports ("avx2") || !__builtin_cpu_supports ("fma"))
    {
      g_test_skip ("no AVX2+FMA");
      return;
    }
  for (int i = 0; i < N; i++)
    x[i] = -100.0f + 188.0f * (float) i / (float) (N - 1);
  x[0] = -INFINITY;
  x[1] = 0.0f;
  x[2] = -87.0f;
  x[3] = 1e-8f;
  memcpy (y, x, sizeof (float) * N);
  got_sum = temper_cpu_avx2_exp_sub_sum (y, N, 0.5f);
  for (int i = 0; i < N; i++)
    {
      float want = expf (x[i] - 0.5f);

      want_sum += want;
      if (want < 1.2e-38f)
        {
          g_assert_cmpfloat (y[i], <, 1.2e-38f);
          continue;
        }
      worst = MAX (worst, fabsf (y[i] - want) / want);
    }
  g_test_message ("exp: largest relative error %.3g", worst);
  g_assert_cmpfloat (worst, <=, 2.4e-7f);
  g_assert_cmpfloat (fabs (got_sum - want_sum), <=, 1e-6 * want_sum);

  {
    float g[37], u[37], d[37], o[37], dg[37], du[37];

    for (int i = 0; i < 37; i++)
      {
        g[i] = 12.0f * frand ();
        u[i] = frand ();
        d[i] = frand ();
        dg[i] = du[i] = 0.25f;
      }
    temper_cpu_avx2_swiglu (g, u, o, 37);
    temper_cpu_avx2_swiglu_backward (g, u, d, dg, du, 37);
    for (int i = 0; i < 37; i++)
      {
        double s = 1.0 / (1.0 + exp (-(double) g[i]));

        g_assert_cmpfloat (fabs (o[i] - g[i] * s * u[i]), <=, 1e-6);
        g_assert_cmpfloat (fabs (dg[i] - (0.25 + d[i] * u[i] * s * (1.0 + g[i] * (1.0 - s)))), <=, 1e-6);
        g_assert_cmpfloat (fabs (du[i] - (0.25 + d[i] * g[i] * s)), <=, 1e-6);
      }
  }
#else
  g_test_skip ("not an x86 processor");
#endif
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/cpu/kernels/exp", test_exp);
  g_test_add_func ("/cpu/kernels/matmul-every-type", test_matmul_types);
  g_test_add_func ("/cpu/kernels/backward-every-type", test_backward_types);
  g_test_add_func ("/cpu/kernels/fast-decode", test_fast_decode);
  g_test_add_func ("/cpu/kernels/prefill-matches-decode", test_prefill_matches_decode);
  return g_test_run ();
}
