/* SPDX-License-Identifier: MIT */
/* bench-cpu-prefill: GFLOP/s of the CPU backend's many-token matmul
 * y = x·Wᵀ (what a prompt runs through every layer) for each weight type,
 * with fp32 activations (BEST: training's path) and with the activations
 * generation uses (FAST_DECODE: 8-bit where the processor has VNNI or AVX2), on the
 * demo model's shapes and a generation chunk of 64 tokens.
 *
 *     build/tests/bench/bench-cpu-prefill [THREADS] [TOKENS]
 *
 * TOKENS = 1 times decoding's one-token products.  BENCH_TYPE=Q4_0 (a type
 * name) times that type alone.
 * Reports processor time as well as wall time, so figures taken on a busy
 * machine still say how fast the kernel itself is. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cpu/temper-cpu-backend.h"
#include "temper/tensor.h"

static double
now (clockid_t clock)
{
  struct timespec ts;

  clock_gettime (clock, &ts);
  return (double) ts.tv_sec + 1e-9 * (double) ts.tv_nsec;
}

static float
value_at (int64_t i)
{
  return (float) ((i * 7919) % 2001 - 1000) * 1e-3f;
}

/* Weights of @type from floats where Temper has a quantizer; otherwise
 * patterned bytes with every scale field set to 1/16. */
static TemperBuffer *
weights (TemperBackend *b, int type, int64_t in, int64_t out)
{
  size_t rb = temper_type_row_bytes (type, in), bb = temper_type_block_bytes (type);
  TemperBuffer *buf = temper_backend_buffer_alloc (b, rb * (size_t) out, TEMPER_BUFFER_WEIGHTS, NULL);
  g_autofree float *row = g_new (float, in);

  for (int64_t r = 0; r < out; r++)
    {
      guint8 *dst = buf->host + (size_t) r * rb;

      for (int64_t i = 0; i < in; i++)
        row[i] = value_at (r * in + i);
      if (temper_quantize_row (type, row, in, dst))
        continue;
      for (size_t i = 0; i < rb; i++)
        dst[i] = (guint8) (((size_t) r * 131 + i * 29) & 0xff);
      for (size_t off = 0; off < rb; off += bb)
        {
          /* d (and m or dmin) at the start of every block of these types. */
          dst[off] = 0x00;
          dst[off + 1] = 0x2c;
          if (type != TEMPER_TYPE_Q5_0)
            {
              dst[off + 2] = 0x00;
              dst[off + 3] = 0x2c;
            }
        }
    }
  return buf;
}

static double
rate (TemperCpuKernelChoice choice, int threads, int type, int T, int in, int out, double *per_cpu)
{
  TemperBackend *b = temper_cpu_backend_new (threads, choice);
  TemperBuffer *wb = weights (b, type, in, out);
  TemperBuffer *xb = temper_backend_buffer_alloc (b, sizeof (float) * (size_t) (T * in), TEMPER_BUFFER_ACTIVATIONS, NULL);
  TemperBuffer *yb = temper_backend_buffer_alloc (b, sizeof (float) * (size_t) (T * out), TEMPER_BUFFER_ACTIVATIONS, NULL);
  TemperBTensor w = temper_btensor (wb, 0, type, in, out);
  TemperBTensor x = temper_btensor (xb, 0, TEMPER_TYPE_F32, in, T);
  TemperBTensor y = temper_btensor (yb, 0, TEMPER_TYPE_F32, out, T);
  double flops = 2.0 * T * in * out, wall0, cpu0, wall, cpu;
  int reps = 0;

  for (int64_t i = 0; i < (int64_t) T * in; i++)
    ((float *) xb->host)[i] = value_at (i + 17);
  b->ops->matmul (b, &y, &x, &w, NULL, FALSE);
  wall0 = now (CLOCK_MONOTONIC);
  cpu0 = now (CLOCK_PROCESS_CPUTIME_ID);
  do
    {
      b->ops->matmul (b, &y, &x, &w, NULL, FALSE);
      reps++;
      wall = now (CLOCK_MONOTONIC) - wall0;
    }
  while (wall < 0.3);
  cpu = now (CLOCK_PROCESS_CPUTIME_ID) - cpu0;
  temper_backend_buffer_free (b, wb);
  temper_backend_buffer_free (b, xb);
  temper_backend_buffer_free (b, yb);
  temper_backend_free (b);
  *per_cpu = flops * reps / cpu * 1e-9;
  return flops * reps / wall * 1e-9;
}

int
main (int argc, char **argv)
{
  int threads = argc > 1 ? atoi (argv[1]) : 1;
  int T = argc > 2 ? atoi (argv[2]) : 64;
  static const int types[] = {
    TEMPER_TYPE_Q4_0, TEMPER_TYPE_Q4_1, TEMPER_TYPE_Q5_0, TEMPER_TYPE_Q5_1, TEMPER_TYPE_Q8_0,
    TEMPER_TYPE_Q4_K, TEMPER_TYPE_Q5_K, TEMPER_TYPE_Q6_K, TEMPER_TYPE_F16, TEMPER_TYPE_BF16,
    TEMPER_TYPE_Q2_K, TEMPER_TYPE_Q3_K, TEMPER_TYPE_IQ4_NL, TEMPER_TYPE_IQ4_XS,
  };
  /* The demo model's layer shapes, and its lm_head (49,152 rows: 28 to 56
   * MB, past the private caches, as a decoded token reads it). */
  static const int shapes[][2] = { { 576, 1536 }, { 1536, 576 }, { 576, 49152 } };
  const char *only = g_getenv ("BENCH_TYPE");

  printf ("%d thread(s), %d tokens; GFLOP/s wall (per busy core)\n", threads, T);
  printf ("%-6s %-11s %-22s %-22s\n", "type", "in x out", "fp32 activations", "generation's");
  for (gsize i = 0; i < G_N_ELEMENTS (types); i++)
    for (gsize s = 0; s < G_N_ELEMENTS (shapes); s++)
      {
        if (only != NULL && g_ascii_strcasecmp (only, temper_type_name (types[i])) != 0)
          continue;
        if (shapes[s][0] % temper_type_block_elems (types[i]) != 0)
          continue;
        double exact_cpu, fast_cpu;
        double exact = rate (TEMPER_CPU_KERNELS_BEST, threads, types[i], T, shapes[s][0], shapes[s][1], &exact_cpu);
        double fast = rate (TEMPER_CPU_KERNELS_FAST_DECODE, threads, types[i], T, shapes[s][0], shapes[s][1], &fast_cpu);
        char dims[32];

        g_snprintf (dims, sizeof dims, "%dx%d", shapes[s][0], shapes[s][1]);
        printf ("%-6s %-11s %7.1f (%7.1f)      %7.1f (%7.1f)\n", temper_type_name (types[i]), dims,
                exact, exact_cpu, fast, fast_cpu);
      }
  return 0;
}
