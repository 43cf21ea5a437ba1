/* matmul: y = x·Wᵀ (+ bias) with W in its stored type, and dx += dy·W.
 *
 * For one or a few tokens (decoding) each weight row is widened and
 * multiplied in registers, never stored.  For many tokens a tile of weight
 * rows is dequantised once into per-thread scratch and reused for every
 * token, so dequantisation costs the same however long the batch is. */
#include "config.h"

#include <string.h>

#include "temper-cpu-private.h"

/* Below this many tokens, the fused row kernel beats dequantising a tile. */
#define FUSED_MAX_TOKENS 4
/* Weight rows dequantised together; 8 rows of a 4096-wide layer are 128 KiB. */
#define TILE_ROWS 8

typedef struct {
  TemperCpuBackend *cpu;
  float            *y;
  const float      *x;
  float            *dx;
  const float      *dy;
  int64_t           T, in, out;
  const guint8     *w;
  size_t            row_bytes;
  int               type;
  const float      *bias;
  gboolean          accumulate;
  /* Decoding with 8-bit activations: T rows of quants, scales and sums. */
  const int8_t     *xq;
  const float      *xd, *xs;
} MatmulWork;

static void
matmul_task (void *data, int ith, int nth)
{
  MatmulWork *m = data;
  const TemperCpuKernels *k = &m->cpu->k;
  gint64 o0, o1;

  temper_cpu_split (m->out, ith, nth, &o0, &o1);
  if (m->xq != NULL)
    {
      int64_t nb = m->in / 32;

      for (gint64 o = o0; o < o1; o++)
        {
          const guint8 *row = m->w + (size_t) o * m->row_bytes;
          float b = m->bias != NULL ? m->bias[o] : 0.0f;

          for (int64_t t = 0; t < m->T; t++)
            {
              float v = k->dot_row_q8 (m->type, row, m->xq + t * m->in, m->xd + t * nb,
                                       m->xs + t * nb, m->in) + b;
              float *dst = m->y + t * m->out + o;

              *dst = m->accumulate ? *dst + v : v;
            }
        }
      return;
    }
  if (m->T <= FUSED_MAX_TOKENS)
    {
      for (gint64 o = o0; o < o1; o++)
        {
          const guint8 *row = m->w + (size_t) o * m->row_bytes;
          float b = m->bias != NULL ? m->bias[o] : 0.0f;

          for (int64_t t = 0; t < m->T; t++)
            {
              float v = k->dot_row (m->type, row, m->x + t * m->in, m->in) + b;
              float *dst = m->y + t * m->out + o;

              *dst = m->accumulate ? *dst + v : v;
            }
        }
      return;
    }

  {
    float *tile = temper_cpu_scratch_for (m->cpu, ith);

    for (gint64 o = o0; o < o1; o += TILE_ROWS)
      {
        gint64 rows = MIN (TILE_ROWS, o1 - o);

        for (gint64 r = 0; r < rows; r++)
          k->dequant_row (m->type, m->w + (size_t) (o + r) * m->row_bytes, m->in,
                          tile + r * m->in);
        for (int64_t t = 0; t < m->T; t++)
          {
            const float *xt = m->x + t * m->in;
            float *yt = m->y + t * m->out + o;

            for (gint64 r = 0; r < rows; r++)
              {
                float v = k->dot_f32 (tile + r * m->in, xt, m->in);

                if (m->bias != NULL)
                  v += m->bias[o + r];
                yt[r] = m->accumulate ? yt[r] + v : v;
              }
          }
      }
  }
}

void
temper_cpu_matmul_raw (TemperCpuBackend *cpu, float *y, const float *x, int64_t T,
                       const guint8 *w, int type, int64_t in, int64_t out,
                       const float *bias, gboolean accumulate)
{
  MatmulWork m = {
    .cpu = cpu, .y = y, .x = x, .T = T, .in = in, .out = out, .w = w,
    .row_bytes = temper_type_row_bytes (type, in), .type = type, .bias = bias,
    .accumulate = accumulate,
  };

  if (T > FUSED_MAX_TOKENS)
    temper_cpu_reserve_scratch (cpu, (size_t) (TILE_ROWS * in));
  else if (cpu->k.dot_row_q8 != NULL && cpu->k.handles_q8 (type) && in % 32 == 0)
    {
      int64_t nb = in / 32;
      size_t need = (size_t) (T * in) + 2 * sizeof (float) * (size_t) (T * nb);

      if (need > cpu->q8_scratch_bytes)
        {
          g_free (cpu->q8_scratch);
          cpu->q8_scratch = g_malloc (need);
          cpu->q8_scratch_bytes = need;
        }
      /* Scales first, so the floats stay aligned. */
      m.xd = (const float *) cpu->q8_scratch;
      m.xs = m.xd + T * nb;
      m.xq = (const int8_t *) (m.xs + T * nb);
      for (int64_t t = 0; t < T; t++)
        cpu->k.quantize_q8 (x + t * in, in, (int8_t *) m.xq + t * in,
                            (float *) m.xd + t * nb, (float *) m.xs + t * nb);
    }
  temper_cpu_pool_run (cpu->pool, matmul_task, &m);
}

void
temper_cpu_matmul (TemperBackend *b, const TemperBTensor *y, const TemperBTensor *x,
                   const TemperBTensor *w, const TemperBTensor *bias, gboolean accumulate)
{
  g_assert (x->ne[0] == w->ne[0] && y->ne[0] == w->ne[1] && y->ne[1] == x->ne[1]);
  g_assert (bias == NULL || bias->ne[0] * bias->ne[1] == w->ne[1]);
  temper_cpu_matmul_raw (TEMPER_CPU (b), cpu_f32 (y), cpu_f32 (x), x->ne[1], cpu_data (w),
                         w->type, w->ne[0], w->ne[1],
                         bias != NULL ? cpu_f32 (bias) : NULL, accumulate);
}

/* Each thread owns a range of tokens and walks all weight rows, so no two
 * threads write the same dx row; tiles of W are dequantised per thread. */
static void
matmul_backward_task (void *data, int ith, int nth)
{
  MatmulWork *m = data;
  const TemperCpuKernels *k = &m->cpu->k;
  float *tile = temper_cpu_scratch_for (m->cpu, ith);
  gint64 t0, t1;

  temper_cpu_split (m->T, ith, nth, &t0, &t1);
  if (t0 >= t1)
    return;
  for (gint64 o = 0; o < m->out; o += TILE_ROWS)
    {
      gint64 rows = MIN (TILE_ROWS, m->out - o);

      for (gint64 r = 0; r < rows; r++)
        k->dequant_row (m->type, m->w + (size_t) (o + r) * m->row_bytes, m->in,
                        tile + r * m->in);
      for (gint64 t = t0; t < t1; t++)
        for (gint64 r = 0; r < rows; r++)
          {
            float g = m->dy[t * m->out + o + r];

            if (g != 0.0f)
              k->axpy (g, tile + r * m->in, m->dx + t * m->in, m->in);
          }
    }
}

void
temper_cpu_matmul_backward_raw (TemperCpuBackend *cpu, float *dx, const float *dy,
                                int64_t T, const guint8 *w, int type,
                                int64_t in, int64_t out)
{
  MatmulWork m = {
    .cpu = cpu, .dx = dx, .dy = dy, .T = T, .in = in, .out = out, .w = w,
    .row_bytes = temper_type_row_bytes (type, in), .type = type,
  };

  temper_cpu_reserve_scratch (cpu, (size_t) (TILE_ROWS * in));
  temper_cpu_pool_run (cpu->pool, matmul_backward_task, &m);
}

void
temper_cpu_matmul_backward_input (TemperBackend *b, const TemperBTensor *dx,
                                  const TemperBTensor *dy, const TemperBTensor *w)
{
  g_assert (dx->ne[0] == w->ne[0] && dy->ne[0] == w->ne[1] && dx->ne[1] == dy->ne[1]);
  temper_cpu_matmul_backward_raw (TEMPER_CPU (b), cpu_f32 (dx), cpu_f32 (dy), dx->ne[1],
                                  cpu_data (w), w->type, w->ne[0], w->ne[1]);
}
