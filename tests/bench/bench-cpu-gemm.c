/* SPDX-License-Identifier: MIT */
/* bench-cpu-gemm: GFLOP/s of the CPU backend's fp32 GEMM with each register
 * tile the processor can run, on the shapes LoRA training on the demo model
 * spends its time in (1024 tokens × 576/1536 features): the plain GEMM
 * (LoRA, attention) and the matmul over Q4_1 weights with its input gradient,
 * the latter also in training's fast mode (bfloat16 on AMX / AVX512-BF16).
 *
 *     build/tests/bench/bench-cpu-gemm [THREADS] [forward]
 *
 * With "forward", only the layers' forward (exact and fast mode's).
 *
 * Reports processor time per thread as well as wall time, so figures taken
 * on a busy machine still say how fast the kernel itself is. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
random_matrix (TemperBackend *b, GPtrArray *buffers, int64_t cols, int64_t rows)
{
  TemperBuffer *buf = temper_backend_buffer_alloc (b, sizeof (float) * (size_t) (cols * rows),
                                                   TEMPER_BUFFER_ACTIVATIONS, NULL);
  float *f = (float *) buf->host;

  g_ptr_array_add (buffers, buf);
  for (int64_t i = 0; i < cols * rows; i++)
    f[i] = (float) ((i * 7919) % 2001 - 1000) * 1e-3f;
  return temper_btensor (buf, 0, TEMPER_TYPE_F32, cols, rows);
}

static void
bench (TemperCpuKernelChoice choice, int threads, int M, int N, int K, gboolean tb)
{
  TemperBackend *b = temper_cpu_backend_new (threads, choice);
  g_autoptr(GPtrArray) buffers = g_ptr_array_new ();
  TemperBTensor a = random_matrix (b, buffers, K, M);
  TemperBTensor w = tb ? random_matrix (b, buffers, K, N) : random_matrix (b, buffers, N, K);
  TemperBTensor c = random_matrix (b, buffers, N, M);
  double flops = 2.0 * M * N * K, wall0, cpu0, wall, cpu;
  int reps = 0;

  b->ops->gemm (b, &c, &a, FALSE, &w, tb, 1.0f, 0.0f);  /* warm-up */
  wall0 = now (CLOCK_MONOTONIC);
  cpu0 = now (CLOCK_PROCESS_CPUTIME_ID);
  do
    {
      b->ops->gemm (b, &c, &a, FALSE, &w, tb, 1.0f, 0.0f);
      reps++;
      wall = now (CLOCK_MONOTONIC) - wall0;
    }
  while (wall < 1.0);
  cpu = now (CLOCK_PROCESS_CPUTIME_ID) - cpu0;
  printf ("%-26s %d thr  M=%-5d N=%-5d K=%-5d %s  %7.1f GFLOP/s wall  %7.1f GFLOP/s per busy core\n",
          temper_cpu_backend_get_kernels_name (b), threads, M, N, K, tb ? "B^T" : "B  ",
          flops * reps / wall * 1e-9, flops * reps / cpu * 1e-9);
  for (guint i = 0; i < buffers->len; i++)
    temper_backend_buffer_free (b, buffers->pdata[i]);
  temper_backend_free (b);
}

/* Q4_1 weights with small random values: per block of 32, an fp16 scale and
 * minimum (2⁻⁷ and −2⁻⁷) and 16 bytes of nibbles. */
static TemperBTensor
random_q4_1 (TemperBackend *b, GPtrArray *buffers, int64_t cols, int64_t rows)
{
  size_t bytes = temper_type_row_bytes (TEMPER_TYPE_Q4_1, cols) * (size_t) rows;
  TemperBuffer *buf = temper_backend_buffer_alloc (b, bytes, TEMPER_BUFFER_WEIGHTS, NULL);
  guint8 *p = (guint8 *) buf->host;

  g_ptr_array_add (buffers, buf);
  for (size_t off = 0; off + 20 <= bytes; off += 20)
    {
      p[off] = 0x00, p[off + 1] = 0x20;
      p[off + 2] = 0x00, p[off + 3] = 0xa0;
      for (int i = 4; i < 20; i++)
        p[off + i] = (guint8) ((off * 31 + (size_t) i * 7) & 0xff);
    }
  return temper_btensor (buf, 0, TEMPER_TYPE_Q4_1, cols, rows);
}

/* y = x·Wᵀ and dx += dy·W with Q4_1 weights, as a training step runs them
 * (@forward_only: y = x·Wᵀ alone). */
static void
bench_matmul_part (TemperCpuKernelChoice choice, int threads, int T, int in, int out,
                   gboolean forward_only)
{
  TemperBackend *b = temper_cpu_backend_new (threads, choice);
  g_autoptr(GPtrArray) buffers = g_ptr_array_new ();
  TemperBTensor w = random_q4_1 (b, buffers, in, out);
  TemperBTensor x = random_matrix (b, buffers, in, T), y = random_matrix (b, buffers, out, T);
  double flops = (forward_only ? 2.0 : 4.0) * T * in * out, wall0, cpu0, wall, cpu;
  int reps = 0;

  b->ops->matmul (b, &y, &x, &w, NULL, FALSE);
  if (!forward_only)
    b->ops->matmul_backward_input (b, &x, &y, &w);
  wall0 = now (CLOCK_MONOTONIC);
  cpu0 = now (CLOCK_PROCESS_CPUTIME_ID);
  do
    {
      b->ops->matmul (b, &y, &x, &w, NULL, FALSE);
      if (!forward_only)
        b->ops->matmul_backward_input (b, &x, &y, &w);
      reps++;
      wall = now (CLOCK_MONOTONIC) - wall0;
    }
  while (wall < 1.0);
  cpu = now (CLOCK_PROCESS_CPUTIME_ID) - cpu0;
  printf ("%-26s %d thr  T=%-5d in=%-5d out=%-5d Q4_1 %s  %7.1f GFLOP/s wall  %7.1f GFLOP/s per busy core\n",
          temper_cpu_backend_get_kernels_name (b), threads, T, in, out,
          forward_only ? "fwd    " : "fwd+bwd",
          flops * reps / wall * 1e-9, flops * reps / cpu * 1e-9);
  for (guint i = 0; i < buffers->len; i++)
    temper_backend_buffer_free (b, buffers->pdata[i]);
  temper_backend_free (b);
}

static void
bench_matmul (TemperCpuKernelChoice choice, int threads, int T, int in, int out)
{
  bench_matmul_part (choice, threads, T, in, out, FALSE);
}

int
main (int argc, char **argv)
{
  int threads = argc > 1 ? atoi (argv[1]) : 1;
  static const TemperCpuKernelChoice choices[] = {
    TEMPER_CPU_KERNELS_BEST, TEMPER_CPU_KERNELS_AVX2, TEMPER_CPU_KERNELS_SCALAR,
  };

  if (argc > 2 && strcmp (argv[2], "forward") == 0)
    {
      bench_matmul_part (TEMPER_CPU_KERNELS_BEST, threads, 1024, 576, 1536, TRUE);
      bench_matmul_part (TEMPER_CPU_KERNELS_FAST_TRAIN, threads, 1024, 576, 1536, TRUE);
      bench_matmul_part (TEMPER_CPU_KERNELS_BEST, threads, 1024, 1536, 576, TRUE);
      bench_matmul_part (TEMPER_CPU_KERNELS_FAST_TRAIN, threads, 1024, 1536, 576, TRUE);
      return 0;
    }
  for (gsize i = 0; i < G_N_ELEMENTS (choices); i++)
    {
      bench (choices[i], threads, 144, 256, 256, FALSE);
      bench (choices[i], threads, 1024, 1536, 576, TRUE);
      bench (choices[i], threads, 1024, 576, 1536, FALSE);
      bench_matmul (choices[i], threads, 1024, 576, 1536);
      bench_matmul (choices[i], threads, 1024, 1536, 576);
    }
  /* The layers' forward alone: exact fp32, and fast mode's split operands. */
  bench_matmul_part (TEMPER_CPU_KERNELS_BEST, threads, 1024, 576, 1536, TRUE);
  bench_matmul_part (TEMPER_CPU_KERNELS_BEST, threads, 1024, 1536, 576, TRUE);
  bench_matmul_part (TEMPER_CPU_KERNELS_FAST_TRAIN, threads, 1024, 576, 1536, TRUE);
  bench_matmul_part (TEMPER_CPU_KERNELS_FAST_TRAIN, threads, 1024, 1536, 576, TRUE);
  bench_matmul_part (TEMPER_CPU_KERNELS_FAST_TRAIN_AVX512_BF16, threads, 1024, 576, 1536, TRUE);
  bench_matmul (TEMPER_CPU_KERNELS_FAST_TRAIN, threads, 1024, 576, 1536);
  bench_matmul (TEMPER_CPU_KERNELS_FAST_TRAIN, threads, 1024, 1536, 576);
  bench_matmul (TEMPER_CPU_KERNELS_FAST_TRAIN_AVX512_BF16, threads, 1024, 576, 1536);
  bench_matmul (TEMPER_CPU_KERNELS_FAST_TRAIN_AVX512_BF16, threads, 1024, 1536, 576);
  return 0;
}
