/* SPDX-License-Identifier: MIT */
/* test-cpu-dropout.c — the CPU backend's LoRA dropout, the reference the GPU
 * backends are compared with bit for bit: it keeps about 1 − p of the
 * elements (within a few standard deviations of the binomial count), scales
 * the kept ones by 1/(1 − p), neighbouring decisions are independent, and the
 * mask depends on the key and the element index only — the same key gives
 * the same mask (as the backward pass needs), another key another mask. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "cpu/temper-cpu-backend.h"

#define N 400000

static TemperBackend *cpu;

typedef struct {
  TemperBuffer  *buffer;
  TemperBTensor  t;
} Tensor;

static Tensor
tensor_new (int64_t ne0, int64_t ne1, const float *data)
{
  Tensor x;
  g_autoptr(GError) error = NULL;

  /* Starts 64 bytes in, so the mask is seen to follow the element index,
   * not the address. */
  x.buffer = temper_backend_buffer_alloc (cpu, 64 + (size_t) (ne0 * ne1) * 4,
                                          TEMPER_BUFFER_ACTIVATIONS, &error);
  g_assert_no_error (error);
  x.t = temper_btensor (x.buffer, 64, TEMPER_TYPE_F32, ne0, ne1);
  if (data != NULL)
    g_assert_true (temper_backend_upload (cpu, &x.t, data, NULL));
  return x;
}

/* Values in [0.5, 1.5): never zero, so a zero output means dropped. */
static float *
nonzero_values (guint32 seed)
{
  g_autoptr(GRand) rng = g_rand_new_with_seed (seed);
  float *v = g_new (float, N);

  for (int i = 0; i < N; i++)
    v[i] = (float) g_rand_double_range (rng, 0.5, 1.5);
  return v;
}

/* Runs dropout on @in and returns the result. */
static float *
dropped (const float *in, int64_t ne0, float p, guint64 key)
{
  Tensor x = tensor_new (ne0, N / ne0, in), y = tensor_new (ne0, N / ne0, NULL);
  float *out = g_new (float, N);

  temper_backend_begin (cpu);
  cpu->ops->dropout (cpu, &y.t, &x.t, p, key);
  g_assert_true (temper_backend_flush (cpu, NULL));
  g_assert_true (temper_backend_download (cpu, &y.t, out, NULL));
  temper_backend_buffer_free (cpu, x.buffer);
  temper_backend_buffer_free (cpu, y.buffer);
  return out;
}

static void
test_keep_rate_and_scale (void)
{
  static const float rates[] = { 0.05f, 0.1f, 0.3f, 0.5f, 0.9f };
  g_autofree float *in = nonzero_values (1);

  g_assert_true (temper_backend_supports_op (cpu, TEMPER_OP_DROPOUT, TEMPER_TYPE_F32));
  for (guint r = 0; r < G_N_ELEMENTS (rates); r++)
    {
      float p = rates[r];
      g_autofree float *out = dropped (in, 1000, p, 0x0123456789abcdefull + r);
      float scale = 1.0f / (1.0f - p);
      double expected = (1.0 - p) * N, sd = sqrt (N * (double) p * (1.0 - p));
      int kept = 0, both_dropped = 0;

      for (int i = 0; i < N; i++)
        {
          if (out[i] != 0.0f)
            {
              kept++;
              g_assert_cmpfloat (out[i], ==, in[i] * scale);
            }
          if (i > 0 && out[i] == 0.0f && out[i - 1] == 0.0f)
            both_dropped++;
        }
      g_test_message ("p = %.2f: kept %d of %d (expected %.0f ± %.0f), %d neighbouring pairs "
                      "both dropped (expected %.0f)", p, kept, N, expected, sd, both_dropped,
                      (N - 1) * (double) p * p);
      g_assert_cmpfloat (fabs (kept - expected), <=, 5 * sd);
      /* Neighbours are independent: both dropped with probability p². */
      {
        double pairs = (N - 1) * (double) p * p;
        double pairs_sd = sqrt ((N - 1) * (double) p * p * (1 - (double) p * p) * 3);

        g_assert_cmpfloat (fabs (both_dropped - pairs), <=, 5 * pairs_sd);
      }
    }
}

static void
test_same_key_same_mask (void)
{
  g_autofree float *a = nonzero_values (2), *b = nonzero_values (3);
  g_autofree float *first = dropped (a, 1000, 0.2f, 42);
  g_autofree float *again = dropped (a, 1000, 0.2f, 42);
  /* Another shape and other values: the mask follows the element index only. */
  g_autofree float *other_values = dropped (b, 400, 0.2f, 42);

  g_assert_cmpmem (first, N * sizeof (float), again, N * sizeof (float));
  for (int i = 0; i < N; i++)
    g_assert_cmpint (first[i] == 0.0f, ==, other_values[i] == 0.0f);
}

static void
test_other_key_other_mask (void)
{
  static const guint64 keys[] = { 43, 42ull << 32, 42 ^ (1ull << 63) };
  g_autofree float *in = nonzero_values (4);
  g_autofree float *base = dropped (in, 1000, 0.2f, 42);

  /* Two independent masks disagree on 2·p·(1 − p) of the elements. */
  for (guint k = 0; k < G_N_ELEMENTS (keys); k++)
    {
      g_autofree float *other = dropped (in, 1000, 0.2f, keys[k]);
      double expected = 2 * 0.2 * 0.8 * N;
      int differ = 0;

      for (int i = 0; i < N; i++)
        differ += (base[i] == 0.0f) != (other[i] == 0.0f);
      g_test_message ("key %#" G_GINT64_MODIFIER "x: %d masks differ (expected %.0f)",
                      keys[k], differ, expected);
      g_assert_cmpfloat (fabs (differ - expected), <=, 5 * sqrt (expected));
    }
}

/* In place (the backward pass's use) gives what out of place gives; p = 0
 * keeps everything unchanged. */
static void
test_in_place_and_zero_rate (void)
{
  g_autofree float *in = nonzero_values (5);
  g_autofree float *expected = dropped (in, 1000, 0.25f, 7);
  g_autofree float *out = g_new (float, N);
  g_autofree float *kept = dropped (in, 1000, 0.0f, 7);
  Tensor x = tensor_new (1000, N / 1000, in);

  temper_backend_begin (cpu);
  cpu->ops->dropout (cpu, &x.t, &x.t, 0.25f, 7);
  g_assert_true (temper_backend_flush (cpu, NULL));
  g_assert_true (temper_backend_download (cpu, &x.t, out, NULL));
  g_assert_cmpmem (out, N * sizeof (float), expected, N * sizeof (float));
  g_assert_cmpmem (kept, N * sizeof (float), in, N * sizeof (float));
  temper_backend_buffer_free (cpu, x.buffer);
}

int
main (int argc, char **argv)
{
  int status;

  g_test_init (&argc, &argv, NULL);
  cpu = temper_cpu_backend_new (1, TEMPER_CPU_KERNELS_SCALAR);
  g_test_add_func ("/cpu/dropout/keep-rate-and-scale", test_keep_rate_and_scale);
  g_test_add_func ("/cpu/dropout/same-key-same-mask", test_same_key_same_mask);
  g_test_add_func ("/cpu/dropout/other-key-other-mask", test_other_key_other_mask);
  g_test_add_func ("/cpu/dropout/in-place-and-zero-rate", test_in_place_and_zero_rate);
  status = g_test_run ();
  temper_backend_free (cpu);
  return status;
}
