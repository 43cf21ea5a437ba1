/* SPDX-License-Identifier: MIT */
/* matmul for many tokens with 8-bit activations (prompt processing when
 * generating, never training): x is rounded once per product to 8 bits per
 * block of 32 (temper-cpu-q8-gemm.h), then each thread widens its weight
 * rows 32 at a time into a panel that every token reuses.  Like decoding's
 * 8-bit path, the result moves by about 0.4 % of its size.  The types it
 * does not take (F16, BF16, F32, TQ2_0, NF4) go through the bfloat16
 * kernel of temper-cpu-matmul-bf16.c (AMX tiles where granted), or fp32
 * where there is none.  The kernels are AVX-512 VNNI's or AVX2's
 * (k.prefill_q8). */
#include "config.h"

#include "temper-cpu-private.h"
#include "temper-cpu-q8-gemm.h"

typedef struct {
  TemperCpuBackend *cpu;
  float            *y;
  const float      *x;
  int64_t           T, in, out;
  const guint8     *w;
  size_t            row_bytes;
  int               type;
  const float      *bias;
  gboolean          accumulate;
  TemperQ8Acts      acts;
} PrefillWork;

/* Each thread rounds its share of the tokens. */
static void
round_task (void *data, int ith, int nth)
{
  PrefillWork *m = data;
  gint64 t0, t1;

  temper_cpu_split (m->T, ith, nth, &t0, &t1);
  for (gint64 t = t0; t < t1; t++)
    {
      {
        int64_t nb = m->in / 32;
        TemperQ8Acts row = {
          m->acts.q + t * m->in, m->acts.d + t * nb, m->acts.sx + t * nb,
          m->acts.sum32 + t * nb, m->acts.sum16 + t * 2 * nb,
        };

        m->cpu->k.prefill_q8->quantize (m->x + t * m->in, m->in, &row);
      }
    }
}

/* Each thread owns whole panels of 32 output rows. */
static void
panel_task (void *data, int ith, int nth)
{
  PrefillWork *m = data;
  /* 64-byte aligned, for whole cache lines per load. */
  guint8 *panel = (guint8 *) (((guintptr) temper_cpu_scratch_for (m->cpu, ith) + 63) & ~(guintptr) 63);
  gint64 o0, o1;

  temper_cpu_split_aligned (m->out, 32, ith, nth, &o0, &o1);
  for (gint64 o = o0; o < o1; o += 32)
    {
      int rows = (int) MIN (32, o1 - o);
      const guint8 *w = m->w + (size_t) o * m->row_bytes;
      const float *bias = m->bias != NULL ? m->bias + o : NULL;

      m->cpu->k.prefill_q8->pack (m->type, w, m->row_bytes, rows, m->in, panel);
      m->cpu->k.prefill_q8->run (m->type, panel, rows, m->in, &m->acts, m->T, m->y + o, m->out, bias,
                                 m->accumulate);
    }
}

/* Shared scratch of at least @bytes for the rounded x. */
static guint8 *
x_scratch (TemperCpuBackend *cpu, size_t bytes)
{
  if (bytes > cpu->q8_scratch_bytes)
    {
      g_free (cpu->q8_scratch);
      cpu->q8_scratch = g_malloc (bytes);
      cpu->q8_scratch_bytes = bytes;
    }
  return cpu->q8_scratch;
}

gboolean
temper_cpu_matmul_prefill (TemperCpuBackend *cpu, float *y, const float *x, int64_t T,
                           const guint8 *w, int type, int64_t in, int64_t out,
                           const float *bias, gboolean accumulate)
{
  PrefillWork m = {
    .cpu = cpu, .y = y, .x = x, .T = T, .in = in, .out = out, .w = w,
    .row_bytes = temper_type_row_bytes (type, in), .type = type, .bias = bias,
    .accumulate = accumulate,
  };
  size_t panel_bytes = 0;

  if (in % 32 != 0)
    return FALSE;
  if (cpu->k.prefill_q8 != NULL && cpu->k.prefill_q8->handles (type))
    {
      int64_t nb = in / 32;
      /* Scales and sums first, so they stay aligned; then the quants. */
      guint8 *at = x_scratch (cpu, sizeof (float) * (size_t) (T * nb) * 5 + (size_t) (T * in));

      m.acts.d = (float *) at;
      m.acts.sx = m.acts.d + T * nb;
      m.acts.sum32 = (int32_t *) (m.acts.sx + T * nb);
      m.acts.sum16 = m.acts.sum32 + T * nb;
      m.acts.q = (int8_t *) (m.acts.sum16 + T * 2 * nb);
      panel_bytes = cpu->k.prefill_q8->panel_bytes (type, in);
    }
  if (panel_bytes == 0)
    return FALSE;
  temper_cpu_reserve_scratch (cpu, (panel_bytes + 64) / sizeof (float) + 1);
  temper_cpu_pool_run (cpu->pool, round_task, &m);
  temper_cpu_pool_run (cpu->pool, panel_task, &m);
  return TRUE;
}

