/* SPDX-License-Identifier: MIT */
/* bench-lora-products: time of each of LoRA's six products per target on the
 * demo model's shapes (1024 tokens, rank 16), through the CPU backend's gemm
 * op as a training step calls it, and of the stacked products that the
 * targets reading one input share (Q/K/V: 3 × 16 rows of A, gate/up: 2 × 16).
 *
 *     build/tests/bench/bench-lora-products [THREADS] [TOKENS]
 *
 * Prints milliseconds per call and GFLOP/s (wall and per busy core), so the
 * memory-bound products (K = rank) stand out from the others. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "cpu/temper-cpu-backend.h"

static double
now (clockid_t clock)
{
  struct timespec ts;

  clock_gettime (clock, &ts);
  return (double) ts.tv_sec + 1e-9 * (double) ts.tv_nsec;
}

static TemperBTensor
matrix (TemperBackend *b, GPtrArray *buffers, int64_t cols, int64_t rows)
{
  TemperBuffer *buf = temper_backend_buffer_alloc (b, sizeof (float) * (size_t) (cols * rows),
                                                   TEMPER_BUFFER_ACTIVATIONS, NULL);
  float *f = (float *) buf->host;

  g_ptr_array_add (buffers, buf);
  for (int64_t i = 0; i < cols * rows; i++)
    f[i] = (float) ((i * 7919) % 2001 - 1000) * 1e-4f;
  return temper_btensor (buf, 0, TEMPER_TYPE_F32, cols, rows);
}

typedef struct {
  const char   *name;
  TemperBTensor c, a;
  gboolean      ta;
  TemperBTensor b;
  gboolean      tb;
  float         beta;
} Product;

static void
time_product (TemperBackend *be, const Product *p)
{
  int64_t M = p->c.ne[1], N = p->c.ne[0], K = p->ta ? p->a.ne[1] : p->a.ne[0];
  double flops = 2.0 * M * N * K, wall0, cpu0, wall, cpu;
  int reps = 0;

  be->ops->gemm (be, &p->c, &p->a, p->ta, &p->b, p->tb, 1.0f, p->beta);
  wall0 = now (CLOCK_MONOTONIC);
  cpu0 = now (CLOCK_PROCESS_CPUTIME_ID);
  do
    {
      be->ops->gemm (be, &p->c, &p->a, p->ta, &p->b, p->tb, 1.0f, p->beta);
      reps++;
      wall = now (CLOCK_MONOTONIC) - wall0;
    }
  while (wall < 0.3);
  cpu = now (CLOCK_PROCESS_CPUTIME_ID) - cpu0;
  printf ("  %-34s M=%-5" G_GINT64_FORMAT " N=%-5" G_GINT64_FORMAT " K=%-5" G_GINT64_FORMAT
          " %8.3f ms %7.1f GFLOP/s wall %7.1f per busy core\n",
          p->name, M, N, K, wall / reps * 1e3, flops * reps / wall * 1e-9, flops * reps / cpu * 1e-9);
}

/* The six products of one target reading @in features and writing @out,
 * @stack targets side by side (their A matrices one {in, stack·r} matrix). */
static void
bench_target (TemperBackend *be, const char *what, int T, int r, int in, int out, int stack)
{
  g_autoptr(GPtrArray) buffers = g_ptr_array_new ();
  TemperBTensor x = matrix (be, buffers, in, T), y = matrix (be, buffers, out, T);
  TemperBTensor dy = matrix (be, buffers, out, T), dx = matrix (be, buffers, in, T);
  TemperBTensor A = matrix (be, buffers, in, r), B = matrix (be, buffers, r, out);
  TemperBTensor gA = matrix (be, buffers, in, r), gB = matrix (be, buffers, r, out);
  TemperBTensor h = matrix (be, buffers, r, T), dh = matrix (be, buffers, r, T);
  TemperBTensor As = matrix (be, buffers, in, (int64_t) stack * r), gAs = matrix (be, buffers, in, (int64_t) stack * r);
  TemperBTensor hT = matrix (be, buffers, T, (int64_t) stack * r), dhT = matrix (be, buffers, T, (int64_t) stack * r);
  TemperBTensor hT1 = temper_btensor_rows (&hT, 0, r), dhT1 = temper_btensor_rows (&dhT, 0, r);
  Product separate[] = {
    { "h = x·Aᵀ", h, x, FALSE, A, TRUE, 0.0f },
    { "y += h·Bᵀ", y, h, FALSE, B, TRUE, 1.0f },
    { "dB += dyᵀ·h", gB, dy, TRUE, h, FALSE, 1.0f },
    { "dh = dy·B", dh, dy, FALSE, B, FALSE, 0.0f },
    { "dA += dhᵀ·x", gA, dh, TRUE, x, FALSE, 1.0f },
    { "dx += dh·A", dx, dh, FALSE, A, FALSE, 1.0f },
  };
  Product stacked[] = {
    { "hᵀ(stack) = A(stack)·xᵀ", hT, As, FALSE, x, TRUE, 0.0f },
    { "y += hᵀ₁ᵀ·Bᵀ", y, hT1, TRUE, B, TRUE, 1.0f },
    { "dB += dyᵀ·hᵀ₁ᵀ", gB, dy, TRUE, hT1, TRUE, 1.0f },
    { "dhᵀ₁ = Bᵀ·dyᵀ", dhT1, B, TRUE, dy, TRUE, 0.0f },
    { "dA(stack) += dhᵀ·x", gAs, dhT, FALSE, x, FALSE, 1.0f },
    { "dx += dhᵀᵀ·A(stack)", dx, dhT, TRUE, As, FALSE, 1.0f },
  };

  printf ("%s (in %d, out %d), separate:\n", what, in, out);
  for (gsize i = 0; i < G_N_ELEMENTS (separate); i++)
    time_product (be, &separate[i]);
  printf ("%s, %d stacked (per stack for A products, per target for B products):\n", what, stack);
  for (gsize i = 0; i < G_N_ELEMENTS (stacked); i++)
    time_product (be, &stacked[i]);
  for (guint i = 0; i < buffers->len; i++)
    temper_backend_buffer_free (be, buffers->pdata[i]);
}

int
main (int argc, char **argv)
{
  int threads = argc > 1 ? atoi (argv[1]) : 2, T = argc > 2 ? atoi (argv[2]) : 1024, r = 16;
  TemperBackend *be = temper_cpu_backend_new (threads, TEMPER_CPU_KERNELS_BEST);

  printf ("%s, %d threads, %d tokens, rank %d\n", temper_cpu_backend_get_kernels_name (be), threads, T, r);
  bench_target (be, "q/o", T, r, 576, 576, 3);
  bench_target (be, "k/v", T, r, 576, 192, 3);
  bench_target (be, "gate/up", T, r, 576, 1536, 2);
  bench_target (be, "down", T, r, 1536, 576, 1);
  temper_backend_free (be);
  return 0;
}
