/* SPDX-License-Identifier: MIT */
/* bench-lora-products: time of each of LoRA's six products per target on the
 * demo model's shapes (1024 tokens, rank 16), through the CPU backend's gemm
 * op as a training step calls it, and of the stacked products that the
 * targets reading one input share (Q/K/V: 3 × 16 rows of A, gate/up: 2 × 16).
 *
 *     build/tests/bench/bench-lora-products [THREADS] [TOKENS] [fused]
 *
 * With "fused": the fused ops (matmul_lora, lora_b_backward) against the
 * products they replace, on training's fast kernels, called in turn.
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

static int
compare_doubles (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return x < y ? -1 : x > y;
}

/* The fused ops against the products they replace, one call of each in
 * turn (so a loaded machine slows both alike), medians of @reps calls. */
static void
bench_fused (TemperBackend *be, const char *what, int T, int r, int in, int out, int reps)
{
  g_autoptr(GPtrArray) buffers = g_ptr_array_new ();
  TemperBTensor x = matrix (be, buffers, in, T), w = matrix (be, buffers, in, out);
  TemperBTensor y = matrix (be, buffers, out, T), dy = matrix (be, buffers, out, T);
  TemperBTensor hT = matrix (be, buffers, T, r), dhT = matrix (be, buffers, T, r);
  TemperBTensor B = matrix (be, buffers, r, out), gB = matrix (be, buffers, r, out);
  TemperBTensor dx = matrix (be, buffers, in, T), A = matrix (be, buffers, in, r);
  g_autofree double *t = g_new (double, 6 * reps);

  for (int i = -1; i < reps; i++)
    {
      double t0 = now (CLOCK_MONOTONIC), t1, t2, t3, t4, t5, t6;

      be->ops->matmul (be, &y, &x, &w, NULL, FALSE);
      be->ops->gemm (be, &y, &hT, TRUE, &B, TRUE, 0.5f, 1.0f);
      t1 = now (CLOCK_MONOTONIC);
      be->ops->matmul_lora (be, &y, &x, &w, NULL, &hT, &B, 0.5f);
      t2 = now (CLOCK_MONOTONIC);
      be->ops->gemm (be, &gB, &dy, TRUE, &hT, TRUE, 0.5f, 1.0f);
      be->ops->gemm (be, &dhT, &B, TRUE, &dy, TRUE, 0.5f, 0.0f);
      t3 = now (CLOCK_MONOTONIC);
      be->ops->lora_b_backward (be, &gB, &dhT, &dy, &hT, &B, 0.5f);
      t4 = now (CLOCK_MONOTONIC);
      be->ops->matmul_backward_input (be, &dx, &y, &w);
      be->ops->gemm (be, &dx, &dhT, TRUE, &A, FALSE, 1.0f, 1.0f);
      t5 = now (CLOCK_MONOTONIC);
      be->ops->matmul_backward_input_lora (be, &dx, &y, &w, &dhT, &A);
      t6 = now (CLOCK_MONOTONIC);
      if (i < 0)
        continue;   /* warm-up */
      t[i] = t1 - t0;
      t[reps + i] = t2 - t1;
      t[2 * reps + i] = t3 - t2;
      t[3 * reps + i] = t4 - t3;
      t[4 * reps + i] = t5 - t4;
      t[5 * reps + i] = t6 - t5;
    }
  for (int k = 0; k < 6; k++)
    qsort (t + k * reps, (size_t) reps, sizeof (double), compare_doubles);
  printf ("  %-8s (in %4d, out %4d)  forward: matmul + gemm %7.3f ms, matmul_lora %7.3f ms (%.2fx)   "
          "dy products: 2 gemm %7.3f ms, lora_b_backward %7.3f ms (%.2fx)\n",
          what, in, out, t[reps / 2] * 1e3, t[reps + reps / 2] * 1e3,
          t[reps / 2] / t[reps + reps / 2], t[2 * reps + reps / 2] * 1e3,
          t[3 * reps + reps / 2] * 1e3, t[2 * reps + reps / 2] / t[3 * reps + reps / 2]);
  printf ("  %-8s %22s  input gradient: matmul_backward_input + gemm %7.3f ms, matmul_backward_input_lora %7.3f ms (%.2fx)\n",
          "", "", t[4 * reps + reps / 2] * 1e3, t[5 * reps + reps / 2] * 1e3,
          t[4 * reps + reps / 2] / t[5 * reps + reps / 2]);
  for (guint i = 0; i < buffers->len; i++)
    temper_backend_buffer_free (be, buffers->pdata[i]);
}

int
main (int argc, char **argv)
{
  int threads = argc > 1 ? atoi (argv[1]) : 2, T = argc > 2 ? atoi (argv[2]) : 1024, r = 16;
  TemperBackend *be;

  if (argc > 3 && g_strcmp0 (argv[3], "fused") == 0)
    {
      /* Training's fast kernels, where matmul_lora fuses. */
      be = temper_cpu_backend_new (threads, TEMPER_CPU_KERNELS_FAST_TRAIN);
      printf ("%s, %d threads, %d tokens, rank %d: fused ops against the products they replace "
              "(medians, interleaved)\n", temper_cpu_backend_get_kernels_name (be), threads, T, r);
      bench_fused (be, "q/o", T, r, 576, 576, 40);
      bench_fused (be, "k/v", T, r, 576, 192, 40);
      bench_fused (be, "gate/up", T, r, 576, 1536, 40);
      bench_fused (be, "down", T, r, 1536, 576, 40);
      temper_backend_free (be);
      return 0;
    }
  be = temper_cpu_backend_new (threads, TEMPER_CPU_KERNELS_BEST);

  printf ("%s, %d threads, %d tokens, rank %d\n", temper_cpu_backend_get_kernels_name (be), threads, T, r);
  bench_target (be, "q/o", T, r, 576, 576, 3);
  bench_target (be, "k/v", T, r, 576, 192, 3);
  bench_target (be, "gate/up", T, r, 576, 1536, 2);
  bench_target (be, "down", T, r, 1536, 576, 1);
  temper_backend_free (be);
  return 0;
}
