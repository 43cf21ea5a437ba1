/* SPDX-License-Identifier: MIT */
/* RoPE in place, for both pair layouts; the backward rotates back.  The
 * table form (llama3 factors, linear scaling, partial rotary, LongRoPE's
 * attention factor) is the same loop over a given frequency table. */
#include "config.h"

#include <math.h>

#include "temper-cpu-private.h"

#define MAX_HALF 256

/* Rows per thread below which one thread does them all (decoding). */
#define MIN_ROWS_PER_THREAD 8

typedef struct {
  float           *v;
  int64_t          row_len, n_rows;
  int              n_head, head_dim, seq_len, pos_offset, n_pairs;
  TemperRopeLayout layout;
  float            sign, mscale;
  double           inv_freq[MAX_HALF];
} RopeWork;

/* Rotates @row's heads by the angles whose cosines and sines are @cs, @sn. */
static inline void
rotate_row (const RopeWork *w, float *row, const float *cs, const float *sn)
{
  int half = w->n_pairs;

  for (int h = 0; h < w->n_head; h++)
    {
      float *hv = row + (int64_t) h * w->head_dim;

      for (int i = 0; i < half; i++)
        {
          int a = w->layout == TEMPER_ROPE_INTERLEAVED ? 2 * i : i;
          int c = w->layout == TEMPER_ROPE_INTERLEAVED ? 2 * i + 1 : i + half;
          float x0 = hv[a], x1 = hv[c];

          hv[a] = x0 * cs[i] - x1 * sn[i];
          hv[c] = x0 * sn[i] + x1 * cs[i];
        }
    }
}

/* The cosines and sines (times mscale, the sines times sign) at @pos. */
static inline void
angles (const RopeWork *w, double pos, float *cs, float *sn)
{
  for (int i = 0; i < w->n_pairs; i++)
    {
      double angle = pos * w->inv_freq[i];

      cs[i] = w->mscale * (float) cos (angle);
      sn[i] = w->mscale * w->sign * (float) sin (angle);
    }
}

static void
rope_rows (void *data, gint64 r0, gint64 r1)
{
  const RopeWork *w = data;
  float cs[MAX_HALF], sn[MAX_HALF];

  for (gint64 r = r0; r < r1; r++)
    {
      angles (w, (double) (w->pos_offset + r % w->seq_len), cs, sn);
      rotate_row (w, w->v + r * w->row_len, cs, sn);
    }
}

/* The same by position: the angles of position p are formed once for the
 * rows of every sequence at p (the double-precision sines and cosines cost
 * more than the rotations). */
static void
rope_positions (void *data, gint64 p0, gint64 p1)
{
  const RopeWork *w = data;
  float cs[MAX_HALF], sn[MAX_HALF];

  for (gint64 p = p0; p < p1; p++)
    {
      angles (w, (double) (w->pos_offset + p), cs, sn);
      for (gint64 r = p; r < w->n_rows; r += w->seq_len)
        rotate_row (w, w->v + r * w->row_len, cs, sn);
    }
}

/* By position when there are enough positions to share among the threads. */
static void
rope_run (TemperBackend *b, const RopeWork *w)
{
  TemperCpuPool *pool = TEMPER_CPU (b)->pool;
  int n_threads = temper_cpu_pool_get_n_threads (pool);

  if (w->n_rows > w->seq_len && w->seq_len >= (gint64) n_threads * MIN_ROWS_PER_THREAD)
    temper_cpu_pool_run_range (pool, w->seq_len, MIN_ROWS_PER_THREAD, rope_positions, (void *) w);
  else
    temper_cpu_pool_run_range (pool, w->n_rows, MIN_ROWS_PER_THREAD, rope_rows, (void *) w);
}

static void
rope_apply (TemperBackend *b, const TemperBTensor *x, int n_head, int head_dim, int seq_len,
            int pos_offset, float theta, TemperRopeLayout layout, float sign)
{
  RopeWork w = {
    .v = cpu_f32 (x), .row_len = x->ne[0], .n_rows = x->ne[1], .n_head = n_head,
    .head_dim = head_dim,
    .seq_len = seq_len, .pos_offset = pos_offset, .layout = layout, .sign = sign,
    .n_pairs = head_dim / 2, .mscale = 1.0f,
  };

  g_assert (head_dim % 2 == 0 && head_dim / 2 <= MAX_HALF);
  g_assert (x->ne[0] == (int64_t) n_head * head_dim && seq_len > 0);
  for (int i = 0; i < head_dim / 2; i++)
    w.inv_freq[i] = pow ((double) theta, -2.0 * i / head_dim);
  rope_run (b, &w);
}

void
temper_cpu_rope (TemperBackend *b, const TemperBTensor *x, int n_head, int head_dim,
                 int seq_len, int pos_offset, float theta, TemperRopeLayout layout)
{
  rope_apply (b, x, n_head, head_dim, seq_len, pos_offset, theta, layout, 1.0f);
}

/* A rotation's transpose is the rotation by the opposite angle. */
void
temper_cpu_rope_backward (TemperBackend *b, const TemperBTensor *dx, int n_head, int head_dim,
                          int seq_len, int pos_offset, float theta, TemperRopeLayout layout)
{
  rope_apply (b, dx, n_head, head_dim, seq_len, pos_offset, theta, layout, -1.0f);
}

static void
rope_table_apply (TemperBackend *b, const TemperBTensor *x, const TemperRopeTable *t, float sign)
{
  RopeWork w = {
    .v = cpu_f32 (x), .row_len = x->ne[0], .n_rows = x->ne[1], .n_head = t->n_head,
    .head_dim = t->head_dim,
    .seq_len = t->seq_len, .pos_offset = t->pos_offset, .layout = t->layout, .sign = sign,
    .n_pairs = t->n_pairs, .mscale = t->mscale,
  };

  g_assert (t->n_pairs > 0 && 2 * t->n_pairs <= t->head_dim && t->n_pairs <= MAX_HALF);
  g_assert (x->ne[0] == (int64_t) t->n_head * t->head_dim && t->seq_len > 0);
  for (int i = 0; i < t->n_pairs; i++)
    w.inv_freq[i] = t->inv_freq[i];
  rope_run (b, &w);
}

void
temper_cpu_rope_table (TemperBackend *b, const TemperBTensor *x, const TemperRopeTable *table)
{
  rope_table_apply (b, x, table, 1.0f);
}

/* The transpose of a rotation scaled by m is the opposite rotation scaled by m. */
void
temper_cpu_rope_table_backward (TemperBackend *b, const TemperBTensor *dx, const TemperRopeTable *table)
{
  rope_table_apply (b, dx, table, -1.0f);
}
