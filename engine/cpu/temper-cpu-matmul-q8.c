/* SPDX-License-Identifier: MIT */
/* matmul for many tokens with 8-bit activations (prompt processing when
 * generating, never training): x is quantised once per product, then each
 * thread widens its weight rows 32 at a time into a panel that every token
 * reuses (temper-cpu-q8-gemm.h).  About three times the fp32 tile path's
 * speed; like decoding's 8-bit path, it rounds x to 8 bits per block of 32. */
#include "config.h"

#include "temper-cpu-private.h"
#ifdef TEMPER_HAVE_AVX512_VNNI
#include "temper-cpu-q8-gemm.h"

typedef struct {
  TemperCpuBackend *cpu;
  float            *y;
  const float      *x;
  int64_t           T, in, out;
  const guint8     *w;
  size_t            row_bytes, panel_bytes;
  int               type;
  const float      *bias;
  gboolean          accumulate;
  TemperQ8Acts      acts;
} Q8Work;

/* Each thread quantises its share of the tokens. */
static void
quantize_task (void *data, int ith, int nth)
{
  Q8Work *m = data;
  int64_t nb = m->in / 32;
  gint64 t0, t1;

  temper_cpu_split (m->T, ith, nth, &t0, &t1);
  for (gint64 t = t0; t < t1; t++)
    {
      TemperQ8Acts row = {
        m->acts.q + t * m->in, m->acts.d + t * nb, m->acts.sx + t * nb,
        m->acts.sum32 + t * nb, m->acts.sum16 + t * 2 * nb,
      };

      temper_cpu_q8_gemm_quantize (m->x + t * m->in, m->in, &row);
    }
}

/* Each thread owns whole panels of output rows. */
static void
panel_task (void *data, int ith, int nth)
{
  Q8Work *m = data;
  /* 64-byte aligned, for whole cache lines per load. */
  guint8 *panel = (guint8 *) (((guintptr) temper_cpu_scratch_for (m->cpu, ith) + 63) & ~(guintptr) 63);
  gint64 o0, o1;

  temper_cpu_split_aligned (m->out, TEMPER_Q8_GEMM_ROWS, ith, nth, &o0, &o1);
  for (gint64 o = o0; o < o1; o += TEMPER_Q8_GEMM_ROWS)
    {
      int rows = (int) MIN (TEMPER_Q8_GEMM_ROWS, o1 - o);

      temper_cpu_q8_gemm_pack (m->type, m->w + (size_t) o * m->row_bytes, m->row_bytes, rows,
                               m->in, panel);
      temper_cpu_q8_gemm_run (m->type, panel, rows, m->in, &m->acts, m->T, m->y + o, m->out,
                              m->bias != NULL ? m->bias + o : NULL, m->accumulate);
    }
}

gboolean
temper_cpu_matmul_q8 (TemperCpuBackend *cpu, float *y, const float *x, int64_t T,
                      const guint8 *w, int type, int64_t in, int64_t out,
                      const float *bias, gboolean accumulate)
{
  Q8Work m = {
    .cpu = cpu, .y = y, .x = x, .T = T, .in = in, .out = out, .w = w,
    .row_bytes = temper_type_row_bytes (type, in), .type = type, .bias = bias,
    .accumulate = accumulate,
  };
  int64_t nb = in / 32;
  size_t need;
  guint8 *at;

  if (!cpu->k.prefill_q8 || in % 32 != 0 || !temper_cpu_q8_gemm_handles (type))
    return FALSE;
  /* Scales and sums first, so they stay aligned; then the quants. */
  need = sizeof (float) * (size_t) (T * nb) * 5 + (size_t) (T * in);
  if (need > cpu->q8_scratch_bytes)
    {
      g_free (cpu->q8_scratch);
      cpu->q8_scratch = g_malloc (need);
      cpu->q8_scratch_bytes = need;
    }
  at = cpu->q8_scratch;
  m.acts.d = (float *) at;
  m.acts.sx = m.acts.d + T * nb;
  m.acts.sum32 = (int32_t *) (m.acts.sx + T * nb);
  m.acts.sum16 = m.acts.sum32 + T * nb;
  m.acts.q = (int8_t *) (m.acts.sum16 + T * 2 * nb);
  m.panel_bytes = temper_cpu_q8_gemm_panel_bytes (type, in);
  temper_cpu_reserve_scratch (cpu, (m.panel_bytes + 64) / sizeof (float) + 1);
  temper_cpu_pool_run (cpu->pool, quantize_task, &m);
  temper_cpu_pool_run (cpu->pool, panel_task, &m);
  return TRUE;
}

#else

gboolean
temper_cpu_matmul_q8 (TemperCpuBackend *cpu, float *y, const float *x, int64_t T,
                      const guint8 *w, int type, int64_t in, int64_t out,
                      const float *bias, gboolean accumulate)
{
  return FALSE;
}

#endif
