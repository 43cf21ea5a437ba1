/* SPDX-License-Identifier: MIT */
/* The small ops: add, sum of squares, scale, dequantize, zero. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "temper-cpu-private.h"

/* The large element-wise ops go over the threads in chunks of this many
 * bytes (below two chunks, one thread does it all: decoding's rows). */
#define CHUNK_BYTES 65536
#define CHUNK_FLOATS (CHUNK_BYTES / (int64_t) sizeof (float))

typedef struct {
  float       *o;
  const float *x, *y;
  int64_t      n;      /* floats, or bytes for zero_chunks () */
  guint8      *bytes;
} FlatWork;

static void
add_chunks (void *data, gint64 c0, gint64 c1)
{
  const FlatWork *w = data;
  int64_t end = MIN (c1 * CHUNK_FLOATS, w->n);

  for (int64_t i = c0 * CHUNK_FLOATS; i < end; i++)
    w->o[i] = w->x[i] + w->y[i];
}

void
temper_cpu_add (TemperBackend *b, const TemperBTensor *out,
                const TemperBTensor *a, const TemperBTensor *bt)
{
  int64_t n = out->ne[0] * out->ne[1];
  FlatWork w = { .o = cpu_f32 (out), .x = cpu_f32 (a), .y = cpu_f32 (bt), .n = n };

  g_assert (a->ne[0] * a->ne[1] == n && bt->ne[0] * bt->ne[1] == n);
  temper_cpu_pool_run_range (TEMPER_CPU (b)->pool, (n + CHUNK_FLOATS - 1) / CHUNK_FLOATS, 1,
                             add_chunks, &w);
}

void
temper_cpu_sum_squares (TemperBackend *b, const TemperBTensor *out, const TemperBTensor *x)
{
  int64_t n = x->ne[0] * x->ne[1];
  const float *v = cpu_f32 (x);
  double sum = 0.0;

  for (int64_t i = 0; i < n; i++)
    sum += (double) v[i] * v[i];
  cpu_f32 (out)[0] += (float) sum;
}

void
temper_cpu_scale (TemperBackend *b, const TemperBTensor *x, float s)
{
  int64_t n = x->ne[0] * x->ne[1];
  float *v = cpu_f32 (x);

  for (int64_t i = 0; i < n; i++)
    v[i] *= s;
}

void
temper_cpu_dequantize (TemperBackend *b, const TemperBTensor *out, const TemperBTensor *w)
{
  TemperCpuBackend *cpu = TEMPER_CPU (b);
  float *o = cpu_f32 (out);

  g_assert (out->ne[0] == w->ne[0] && out->ne[1] == w->ne[1]);
  for (int64_t r = 0; r < w->ne[1]; r++)
    cpu->k.dequant_row (w->type, cpu_row (w, r), w->ne[0], o + r * w->ne[0]);
}

static void
zero_chunks (void *data, gint64 c0, gint64 c1)
{
  const FlatWork *w = data;
  int64_t end = MIN (c1 * CHUNK_BYTES, w->n);

  memset (w->bytes + c0 * CHUNK_BYTES, 0, (size_t) (end - c0 * CHUNK_BYTES));
}

/* The backward clears several MiB of gradients per layer before adding
 * into them: both threads share that. */
void
temper_cpu_zero (TemperBackend *b, const TemperBTensor *x)
{
  int64_t n = (int64_t) temper_btensor_bytes (x->type, x->ne[0], x->ne[1]);
  FlatWork w = { .bytes = cpu_data (x), .n = n };

  temper_cpu_pool_run_range (TEMPER_CPU (b)->pool, (n + CHUNK_BYTES - 1) / CHUNK_BYTES, 1,
                             zero_chunks, &w);
}

void
temper_cpu_softcap (TemperBackend *b, const TemperBTensor *x, float cap)
{
  float *v = cpu_f32 (x);
  int64_t n = x->ne[0] * x->ne[1];

  (void) b;
  for (int64_t i = 0; i < n; i++)
    v[i] = cap * tanhf (v[i] / cap);
}
