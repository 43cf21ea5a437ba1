/* SPDX-License-Identifier: MIT */
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
/* Floats of dequantised weight per thread: 1 MiB, which with the GEMM's own
 * blocks stays in a typical L2+L3 share and is reused by every token. */
#define TILE_FLOATS (256 * 1024)

/* Weight rows per tile for rows of @width floats, a multiple of the GEMM's
 * column tile. */
static gint64
tile_rows_for (int64_t width)
{
  gint64 rows = TILE_FLOATS / MAX (width, 1);

  return MAX (TEMPER_CPU_GEMM_NR, rows / TEMPER_CPU_GEMM_NR * TEMPER_CPU_GEMM_NR);
}

/* Scratch per thread for tiles of rows at most @width wide. */
static size_t
scratch_floats_for (int64_t width)
{
  return TEMPER_CPU_GEMM_WORK + (size_t) MAX (TILE_FLOATS, TEMPER_CPU_GEMM_NR * width);
}

/* Decoding reads each weight row once, straight through, and most of the
 * model lies past the private caches: asking for the bytes this far ahead
 * of the row being multiplied overlaps their fetch with the arithmetic
 * (measured on the lm_head's 56 MB of F16 rows: +20 %; 2 KiB beat 4–16). */
#define DECODE_PREFETCH_BYTES 2048
/* The smallest share of a decoding product's rows one thread claims:
 * large enough that claiming (an atomic operation another core may own)
 * costs little beside the rows' arithmetic, small enough that the threads
 * finish close together. */
#define DECODE_CHUNK_BYTES 16384

/* Prefetches the cache lines from *@next up to @upto (not past @limit). */
static inline void
prefetch_until (const guint8 **next, const guint8 *upto, const guint8 *limit)
{
  const guint8 *end = upto < limit ? upto : limit;
  const guint8 *p = *next;

  for (; p < end; p += 64)
    __builtin_prefetch (p, 0, 3);
  *next = p;
}

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
  /* Decoding BF16 rows: T rows of x rounded to bfloat16. */
  const uint16_t   *xb;
} MatmulWork;

/* Rows [o, o + @n) of token @t's product are @v: add the bias, then add
 * them onto y or store them. */
static inline void
store_rows (const MatmulWork *m, int64_t t, gint64 o, const float *v, int n)
{
  for (int r = 0; r < n; r++)
    {
      float *dst = m->y + t * m->out + o + r;
      float sum = v[r] + (m->bias != NULL ? m->bias[o + r] : 0.0f);

      *dst = m->accumulate ? *dst + sum : sum;
    }
}

/* Decoding's output rows [o0, o1): each weight row is widened and
 * multiplied in registers, never stored. */
static void
decode_rows (void *data, gint64 o0, gint64 o1)
{
  MatmulWork *m = data;
  const TemperCpuKernels *k = &m->cpu->k;

  if (m->xq != NULL)
    {
      int64_t nb = m->in / 32;
      const guint8 *limit = m->w + (size_t) o1 * m->row_bytes;
      const guint8 *next = m->w + (size_t) o0 * m->row_bytes + DECODE_PREFETCH_BYTES;
      gint64 o = o0;

      /* One token: rows in fours or pairs where a kernel takes several. */
      if (m->T == 1 && k->dot_4rows_q8 != NULL && k->handles_q8_4rows (m->type))
        for (; o + 3 < o1; o += 4)
          {
            const guint8 *row = m->w + (size_t) o * m->row_bytes;
            float v[4];

            prefetch_until (&next, row + 4 * m->row_bytes + DECODE_PREFETCH_BYTES, limit);
            k->dot_4rows_q8 (m->type, row, m->row_bytes, m->xq, m->xd, m->xs, m->in, v);
            store_rows (m, 0, o, v, 4);
          }
      if (m->T == 1 && k->dot_2rows_q8 != NULL && k->handles_q8_2rows (m->type))
        for (; o + 1 < o1; o += 2)
          {
            const guint8 *row = m->w + (size_t) o * m->row_bytes;
            float v[2];

            prefetch_until (&next, row + 2 * m->row_bytes + DECODE_PREFETCH_BYTES, limit);
            k->dot_2rows_q8 (m->type, row, row + m->row_bytes, m->xq, m->xd, m->xs, m->in, v);
            store_rows (m, 0, o, v, 2);
          }
      for (; o < o1; o++)
        {
          const guint8 *row = m->w + (size_t) o * m->row_bytes;

          prefetch_until (&next, row + m->row_bytes + DECODE_PREFETCH_BYTES, limit);
          for (int64_t t = 0; t < m->T; t++)
            {
              float v = k->dot_row_q8 (m->type, row, m->xq + t * m->in, m->xd + t * nb, m->xs + t * nb, m->in);

              store_rows (m, t, o, &v, 1);
            }
        }
      return;
    }
  {
    const guint8 *limit = m->w + (size_t) o1 * m->row_bytes;
    const guint8 *next = m->w + (size_t) o0 * m->row_bytes + DECODE_PREFETCH_BYTES;
    gint64 o = o0;

    /* One token of BF16 rows: two rows at once. */
    if (m->T == 1 && m->xb != NULL && k->dot_bf16_pre_2rows != NULL)
      for (; o + 1 < o1; o += 2)
        {
          const guint8 *row = m->w + (size_t) o * m->row_bytes;
          float v[2];

          prefetch_until (&next, row + 2 * m->row_bytes + DECODE_PREFETCH_BYTES, limit);
          k->dot_bf16_pre_2rows (row, row + m->row_bytes, m->xb, m->x, m->in, v);
          store_rows (m, 0, o, v, 2);
        }
    for (; o < o1; o++)
      {
        const guint8 *row = m->w + (size_t) o * m->row_bytes;

        prefetch_until (&next, row + m->row_bytes + DECODE_PREFETCH_BYTES, limit);
        for (int64_t t = 0; t < m->T; t++)
          {
            float v = m->xb != NULL ? k->dot_bf16_pre (row, m->xb + t * m->in, m->x + t * m->in, m->in)
                                    : k->dot_row (m->type, row, m->x + t * m->in, m->in);

            store_rows (m, t, o, &v, 1);
          }
      }
  }
}

/* Many tokens: tiles of weight rows widened once into per-thread scratch. */
static void
matmul_task (void *data, int ith, int nth)
{
  MatmulWork *m = data;
  const TemperCpuKernels *k = &m->cpu->k;
  gint64 o0, o1;

  {
    float *work = temper_cpu_scratch_for (m->cpu, ith);
    float *tile = work + TEMPER_CPU_GEMM_WORK;
    gint64 tile_rows = tile_rows_for (m->in);

    temper_cpu_split_aligned (m->out, TEMPER_CPU_GEMM_NR, ith, nth, &o0, &o1);
    if (o0 >= o1)
      return;
    for (int64_t t = 0; t < m->T; t++)
      {
        float *yt = m->y + t * m->out;

        if (!m->accumulate && m->bias == NULL)
          memset (yt + o0, 0, sizeof (float) * (size_t) (o1 - o0));
        else if (!m->accumulate)
          memcpy (yt + o0, m->bias + o0, sizeof (float) * (size_t) (o1 - o0));
        else if (m->bias != NULL)
          for (gint64 o = o0; o < o1; o++)
            yt[o] += m->bias[o];
      }
    for (gint64 o = o0; o < o1; o += tile_rows)
      {
        gint64 rows = MIN (tile_rows, o1 - o);
        const float *wt;

        /* F32 weights are read in place; others are widened once per tile
         * and then shared by every token. */
        if (m->type == TEMPER_TYPE_F32)
          wt = (const float *) (m->w + (size_t) o * m->row_bytes);
        else
          {
            for (gint64 r = 0; r < rows; r++)
              k->dequant_row (m->type, m->w + (size_t) (o + r) * m->row_bytes, m->in,
                              tile + r * m->in);
            wt = tile;
          }
        /* y[t][o + j] += Σᵢ x[t][i] · W[o + j][i]: B = Wᵀ, read by strides. */
        temper_cpu_sgemm (k, work, m->T, rows, m->in, 1.0f,
                          m->x, m->in, 1, wt, 1, m->in, m->y + o, m->out);
      }
  }
}

/* The T rows of x as 8-bit activations (quants, a scale and a sum per 32)
 * in the backend's scratch, for decoding's q8 kernels; @m points at them. */
static void
quantize_acts (TemperCpuBackend *cpu, const float *x, int64_t T, int64_t in, MatmulWork *m)
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
  m->xd = (const float *) cpu->q8_scratch;
  m->xs = m->xd + T * nb;
  m->xq = (const int8_t *) (m->xs + T * nb);
  for (int64_t t = 0; t < T; t++)
    cpu->k.quantize_q8 (x + t * in, in, (int8_t *) m->xq + t * in,
                        (float *) m->xd + t * nb, (float *) m->xs + t * nb);
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

  if (T > FUSED_MAX_TOKENS && temper_cpu_matmul_prefill (cpu, y, x, T, w, type, in, out, bias, accumulate))
    return;
  if (T > FUSED_MAX_TOKENS)
    temper_cpu_reserve_scratch (cpu, scratch_floats_for (in));
  else if (cpu->k.dot_row_q8 != NULL && cpu->k.handles_q8 (type) && in % 32 == 0)
    quantize_acts (cpu, x, T, in, &m);
  else if (type == TEMPER_TYPE_BF16 && cpu->k.dot_bf16_pre != NULL)
    {
      size_t need = sizeof (uint16_t) * (size_t) (T * in);

      if (need > cpu->q8_scratch_bytes)
        {
          g_free (cpu->q8_scratch);
          cpu->q8_scratch = g_malloc (need);
          cpu->q8_scratch_bytes = need;
        }
      m.xb = (const uint16_t *) cpu->q8_scratch;
      for (int64_t t = 0; t < T; t++)
        cpu->k.round_bf16 (x + t * in, in, (uint16_t *) m.xb + t * in);
    }
  if (T > FUSED_MAX_TOKENS)
    temper_cpu_pool_run (cpu->pool, matmul_task, &m);
  else
    /* Rows in chunks of whole fours (the multi-row kernels keep their
     * groups, so results do not depend on the threads), claimed
     * by whichever thread is free: an even split made the faster thread
     * wait for the other at every one of a token's ~200 products. */
    temper_cpu_pool_run_shared (cpu->pool, out, 4, MAX (4, DECODE_CHUNK_BYTES / (gint64) m.row_bytes),
                                decode_rows, &m);
}

void
temper_cpu_matmul (TemperBackend *b, const TemperBTensor *y, const TemperBTensor *x,
                   const TemperBTensor *w, const TemperBTensor *bias, gboolean accumulate)
{
  g_assert (x->ne[0] == w->ne[0] && y->ne[0] == w->ne[1] && y->ne[1] == x->ne[1]);
  g_assert (bias == NULL || bias->ne[0] * bias->ne[1] == w->ne[1]);
  /* Generation's 8-bit prompt path first where it takes the type (its
   * integer products beat bfloat16's); the rest in bfloat16 where the
   * kernels say (k.bf16_forward): plainly rounded for prompts, as split
   * operands (fp32's accuracy) for training's fast mode. */
  if (x->ne[1] > FUSED_MAX_TOKENS &&
      temper_cpu_matmul_prefill (TEMPER_CPU (b), cpu_f32 (y), cpu_f32 (x), x->ne[1], cpu_data (w),
                                 w->type, w->ne[0], w->ne[1],
                                 bias != NULL ? cpu_f32 (bias) : NULL, accumulate))
    return;
  if (TEMPER_CPU (b)->k.bf16_forward &&
      temper_cpu_matmul_bf16 (TEMPER_CPU (b), cpu_f32 (y), cpu_f32 (x), x->ne[1], cpu_data (w),
                              w->type, w->ne[0], w->ne[1],
                              bias != NULL ? cpu_f32 (bias) : NULL, accumulate,
                              TEMPER_CPU (b)->k.bf16_forward_split))
    return;
  temper_cpu_matmul_raw (TEMPER_CPU (b), cpu_f32 (y), cpu_f32 (x), x->ne[1], cpu_data (w),
                         w->type, w->ne[0], w->ne[1],
                         bias != NULL ? cpu_f32 (bias) : NULL, accumulate);
}

/* The most products one shared dispatch takes (Q, K and V). */
#define SHARED_MAX_PRODUCTS 4

/* Products that read the same x, their rows laid end to end: product j's
 * rows are [first[j], first[j] + out), first[j] a multiple of four. */
typedef struct {
  MatmulWork part[SHARED_MAX_PRODUCTS];
  gint64     first[SHARED_MAX_PRODUCTS];
  int        count;
} SharedWork;

static void
decode_rows_shared (void *data, gint64 o0, gint64 o1)
{
  SharedWork *s = data;

  for (int j = 0; j < s->count; j++)
    {
      gint64 lo = MAX (o0, s->first[j]), hi = MIN (o1, s->first[j] + s->part[j].out);

      if (lo < hi)
        decode_rows (&s->part[j], lo - s->first[j], hi - s->first[j]);
    }
}

void
temper_cpu_matmul_shared_input (TemperBackend *b, int count, const TemperBTensor *const *y,
                                const TemperBTensor *x, const TemperBTensor *const *w,
                                const TemperBTensor *const *bias)
{
  TemperCpuBackend *cpu = TEMPER_CPU (b);
  int64_t T = x->ne[1], in = x->ne[0];
  gboolean together = count <= SHARED_MAX_PRODUCTS && T <= FUSED_MAX_TOKENS &&
                      cpu->k.dot_row_q8 != NULL && in % 32 == 0;
  SharedWork s = { .count = count };
  MatmulWork acts = { 0 };
  gint64 rows = 0;
  size_t widest = 1;

  for (int j = 0; j < count && together; j++)
    together = cpu->k.handles_q8 (w[j]->type);
  if (!together)
    {
      for (int j = 0; j < count; j++)
        temper_cpu_matmul (b, y[j], x, w[j], bias[j], FALSE);
      return;
    }
  /* One token's products of the same x (Q, K and V; gate and up) share one
   * dispatch and one quantisation of x: the threads meet once instead of
   * once a product.  Each product keeps its own groups of four rows, so
   * its numbers are those of a dispatch of its own. */
  quantize_acts (cpu, cpu_f32 (x), T, in, &acts);
  for (int j = 0; j < count; j++)
    {
      g_assert (x->ne[0] == w[j]->ne[0] && y[j]->ne[0] == w[j]->ne[1] && y[j]->ne[1] == T);
      s.part[j] = (MatmulWork) {
        .cpu = cpu, .y = cpu_f32 (y[j]), .x = cpu_f32 (x), .T = T, .in = in, .out = w[j]->ne[1],
        .w = cpu_data (w[j]), .row_bytes = temper_type_row_bytes (w[j]->type, in), .type = w[j]->type,
        .bias = bias[j] != NULL ? cpu_f32 (bias[j]) : NULL,
        .xq = acts.xq, .xd = acts.xd, .xs = acts.xs,
      };
      s.first[j] = rows;
      rows += (s.part[j].out + 3) / 4 * 4;
      widest = MAX (widest, s.part[j].row_bytes);
    }
  temper_cpu_pool_run_shared (cpu->pool, rows, 4, MAX (4, DECODE_CHUNK_BYTES / (gint64) widest),
                              decode_rows_shared, &s);
}

/* Each thread owns a range of dx's columns (whole weight blocks), so no two
 * threads write the same element and each weight element is dequantised
 * once, by the thread that uses it. */
static void
matmul_backward_task (void *data, int ith, int nth)
{
  MatmulWork *m = data;
  const TemperCpuKernels *k = &m->cpu->k;
  float *work = temper_cpu_scratch_for (m->cpu, ith);
  float *tile = work + TEMPER_CPU_GEMM_WORK;
  gint64 unit = m->type == TEMPER_TYPE_F32 ? TEMPER_CPU_GEMM_NR
                                           : (gint64) temper_type_block_elems (m->type);
  gint64 c0, c1, width, tile_rows;

  temper_cpu_split_aligned (m->in, unit, ith, nth, &c0, &c1);
  if (c0 >= c1)
    return;
  width = c1 - c0;
  tile_rows = tile_rows_for (width);
  for (gint64 o = 0; o < m->out; o += tile_rows)
    {
      gint64 rows = MIN (tile_rows, m->out - o);
      const float *wt;
      int64_t ldw;

      if (m->type == TEMPER_TYPE_F32)
        {
          wt = (const float *) (m->w + (size_t) o * m->row_bytes) + c0;
          ldw = m->in;
        }
      else
        {
          size_t skip = temper_type_row_bytes (m->type, c0);

          for (gint64 r = 0; r < rows; r++)
            k->dequant_row (m->type, m->w + (size_t) (o + r) * m->row_bytes + skip, width,
                            tile + r * width);
          wt = tile;
          ldw = width;
        }
      /* dx[t][c0 + j] += Σᵣ dy[t][o + r] · W[o + r][c0 + j]. */
      temper_cpu_sgemm (k, work, m->T, width, rows, 1.0f,
                        m->dy + o, m->out, 1, wt, ldw, 1, m->dx + c0, m->in);
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

  temper_cpu_reserve_scratch (cpu, scratch_floats_for (in));
  temper_cpu_pool_run (cpu->pool, matmul_backward_task, &m);
}

void
temper_cpu_matmul_backward_input (TemperBackend *b, const TemperBTensor *dx,
                                  const TemperBTensor *dy, const TemperBTensor *w)
{
  g_assert (dx->ne[0] == w->ne[0] && dy->ne[0] == w->ne[1] && dx->ne[1] == dy->ne[1]);
  /* Generation's fast mode (prefill_q8) rounds its prompts' forward
   * products only; a gradient through it stays fp32. */
  if (!TEMPER_CPU (b)->k.prefill_q8 &&
      temper_cpu_matmul_backward_bf16 (TEMPER_CPU (b), cpu_f32 (dx), cpu_f32 (dy), dx->ne[1],
                                       cpu_data (w), w->type, w->ne[0], w->ne[1]))
    return;
  temper_cpu_matmul_backward_raw (TEMPER_CPU (b), cpu_f32 (dx), cpu_f32 (dy), dx->ne[1],
                                  cpu_data (w), w->type, w->ne[0], w->ne[1]);
}
