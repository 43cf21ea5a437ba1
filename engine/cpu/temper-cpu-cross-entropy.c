/* SPDX-License-Identifier: MIT */
/* Fused lm_head + cross-entropy.  Logits exist only for one chunk of rows at
 * a time (the scratch tensor), are turned into their gradient in place, and
 * pushed back through the lm_head into dx before the next chunk; when the
 * rows do not fit one chunk, the scratch holds every row's logits for one
 * slice of the vocabulary instead (cross_entropy_by_slices ()).  Gemma 2's
 * soft-capped logits go through the same loops with the cap applied first. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "temper-cpu-private.h"

/* Rows per thread below which one thread does them all. */
#define MIN_ROWS_PER_THREAD 2

typedef struct {
  const TemperCpuKernels *k;
  float        *logits;
  int64_t       V;
  const gint32 *targets;     /* of this chunk's rows */
  double       *row_loss;    /* per row; NAN for rows without a target */
  float         grad_scale;
  float         cap;         /* > 0: logits are cap·tanh(logit/cap) */
} SoftmaxWork;

/* The soft-capped row: z = cap·tanh(y/cap) in place of y; then the softmax's
 * gradient ∂loss/∂z is taken back through the cap, ∂z/∂y = 1 − (z/cap)², which
 * needs z, so exp(z − max) is formed twice rather than overwriting z. */
static void
softmax_row_capped (const SoftmaxWork *w, float *l, int target, gint64 r)
{
  int64_t V = w->V;
  float cap = w->cap, max = -INFINITY, inv;
  double sum = 0.0;

  for (int64_t v = 0; v < V; v++)
    {
      l[v] = cap * tanhf (l[v] / cap);
      max = MAX (max, l[v]);
    }
  for (int64_t v = 0; v < V; v++)
    sum += expf (l[v] - max);
  w->row_loss[r] = (double) max + log (sum) - l[target];
  inv = (float) (w->grad_scale / sum);
  for (int64_t v = 0; v < V; v++)
    {
      float t = l[v] / cap, g = expf (l[v] - max) * inv;

      if (v == target)
        g -= w->grad_scale;
      l[v] = g * (1.0f - t * t);
    }
}

/* Loss and ∂loss/∂logit = softmax − one-hot, row by row.  Each row's loss
 * goes to its own slot and the caller adds them in order, so the total does
 * not depend on how rows were split over threads. */
static void
softmax_rows (void *data, gint64 r0, gint64 r1)
{
  const SoftmaxWork *w = data;
  int64_t V = w->V;

  for (gint64 r = r0; r < r1; r++)
    {
      float *l = w->logits + r * V;
      int target = w->targets[r];
      float max = -INFINITY, target_logit, inv;
      double sum;

      if (target < 0)
        {
          memset (l, 0, sizeof (float) * (size_t) V);
          w->row_loss[r] = NAN;
          continue;
        }
      g_assert (target < V);
      if (w->cap > 0.0f)
        {
          softmax_row_capped (w, l, target, r);
          continue;
        }
      target_logit = l[target];
      for (int64_t v = 0; v < V; v++)
        max = MAX (max, l[v]);
      sum = w->k->exp_sub_sum (l, V, max);
      w->row_loss[r] = (double) max + log (sum) - target_logit;
      inv = (float) (w->grad_scale / sum);
      for (int64_t v = 0; v < V; v++)
        l[v] *= inv;
      l[target] -= w->grad_scale;
    }
}

/* The lm_head's products: in training's fast mode through the bfloat16
 * kernel (AMX or AVX512-BF16, fp32 sums) as the other frozen products,
 * else in fp32. */
static void
lm_head_forward (TemperCpuBackend *cpu, float *logits, const float *x, int64_t T,
                 const guint8 *w, int type, int64_t E, int64_t V)
{
  if (!temper_cpu_matmul_bf16 (cpu, logits, x, T, w, type, E, V, NULL, FALSE,
                               TEMPER_BF16_SPLIT_NONE))
    temper_cpu_matmul_raw (cpu, logits, x, T, w, type, E, V, NULL, FALSE);
}

static void
lm_head_backward (TemperCpuBackend *cpu, float *dx, const float *dlogits, int64_t T,
                  const guint8 *w, int type, int64_t E, int64_t V)
{
  if (!temper_cpu_matmul_backward_bf16 (cpu, dx, dlogits, T, w, type, E, V))
    temper_cpu_matmul_backward_raw (cpu, dx, dlogits, T, w, type, E, V);
}

/* The vocabulary in slices.  When the tokens do not fit one chunk of
 * logits, chunking the tokens widens the whole output matrix twice per
 * chunk (forward and backward) and multiplies it by only a few rows each
 * time: at Gemma 3's 262,144-word vocabulary that is 32 rows per widening,
 * and widening and packing cost more than the multiplication.  Instead the
 * scratch holds the logits of every token for a slice of the vocabulary:
 * a first pass over the slices keeps each row's running maximum and sum of
 * exponentials (the log-sum-exp, merged slice by slice), a second pass forms
 * the slice's logits again, turns them into their gradient and pushes them
 * back into dx.  That is three products instead of two, but each widening of
 * the output matrix now serves every token. */
typedef struct {
  const TemperCpuKernels *k;
  float        *logits;      /* T × vc */
  int64_t       v0, vc;
  const gint32 *targets;     /* of all T rows */
  float        *row_max;     /* running maximum of each row's logits */
  double       *row_sum;     /* Σ exp(logit − row_max) so far */
  float        *target_logit;
  float        *slice_max;   /* each row's maximum within this slice */
  gboolean      kept;        /* pass two: the logits are pass one's exponentials */
  float         grad_scale;
  float         cap;
} SliceWork;

static inline gboolean
target_in_slice (const SliceWork *w, int target)
{
  return target >= w->v0 && target < w->v0 + w->vc;
}

/* Pass one: merges this slice's maximum and sum of exponentials into each
 * row's; the logits are overwritten (pass two forms them again). */
static void
slice_lse_rows (void *data, gint64 r0, gint64 r1)
{
  const SliceWork *w = data;
  int64_t vc = w->vc;

  for (gint64 r = r0; r < r1; r++)
    {
      float *l = w->logits + r * vc;
      int target = w->targets[r];
      float max = -INFINITY, old;
      double sum;

      if (target < 0)
        continue;
      if (w->cap > 0.0f)
        for (int64_t v = 0; v < vc; v++)
          l[v] = w->cap * tanhf (l[v] / w->cap);
      if (target_in_slice (w, target))
        w->target_logit[r] = l[target - w->v0];
      for (int64_t v = 0; v < vc; v++)
        max = MAX (max, l[v]);
      sum = w->k->exp_sub_sum (l, vc, max);
      w->slice_max[r] = max;
      old = w->row_max[r];
      if (max > old)
        {
          w->row_sum[r] = w->row_sum[r] * exp ((double) old - max) + sum;
          w->row_max[r] = max;
        }
      else
        w->row_sum[r] += sum * exp ((double) max - old);
    }
}

/* Pass two: ∂loss/∂logit = softmax − one-hot for this slice, from the row's
 * final maximum and sum (row_sum holds grad_scale / sum by then).  The slice
 * pass one ended with is not formed again: its exp(logit − slice maximum)
 * are still in the scratch and only need exp(slice maximum − maximum). */
static void
slice_grad_rows (void *data, gint64 r0, gint64 r1)
{
  const SliceWork *w = data;
  int64_t vc = w->vc;

  for (gint64 r = r0; r < r1; r++)
    {
      float *l = w->logits + r * vc;
      int target = w->targets[r];
      float max = w->row_max[r], inv = (float) w->row_sum[r];

      if (target < 0)
        {
          memset (l, 0, sizeof (float) * (size_t) vc);
          continue;
        }
      if (w->kept)
        {
          float f = expf (w->slice_max[r] - max) * inv;

          for (int64_t v = 0; v < vc; v++)
            l[v] *= f;
          if (target_in_slice (w, target))
            l[target - w->v0] -= w->grad_scale;
        }
      else if (w->cap > 0.0f)
        for (int64_t v = 0; v < vc; v++)
          {
            float z = w->cap * tanhf (l[v] / w->cap), t = z / w->cap;
            float g = expf (z - max) * inv;

            if (w->v0 + v == target)
              g -= w->grad_scale;
            l[v] = g * (1.0f - t * t);
          }
      else
        {
          w->k->exp_sub_sum (l, vc, max);
          for (int64_t v = 0; v < vc; v++)
            l[v] *= inv;
          if (target_in_slice (w, target))
            l[target - w->v0] -= w->grad_scale;
        }
    }
}

/* Grows the backend's per-row doubles to @n (once, on the first step). */
static double *
row_doubles (TemperCpuBackend *cpu, int64_t n)
{
  if ((size_t) n > cpu->row_loss_len)
    {
      g_free (cpu->row_loss);
      cpu->row_loss = g_new (double, (gsize) n);
      cpu->row_loss_len = (size_t) n;
    }
  return cpu->row_loss;
}

static void
cross_entropy_by_slices (TemperCpuBackend *cpu, float *ls, float *dx, const float *xs,
                         const TemperBTensor *w, const gint32 *tg, float *scratch,
                         int64_t T, int64_t vc, float grad_scale, float cap)
{
  int64_t E = w->ne[0], V = w->ne[1];
  size_t row_bytes = temper_type_row_bytes (w->type, E);
  const guint8 *wd = cpu_data (w);
  double *rows = row_doubles (cpu, 3 * T);
  SliceWork sw = {
    .k = &cpu->k, .logits = scratch, .targets = tg, .row_sum = rows,
    .row_max = (float *) (rows + T), .target_logit = (float *) (rows + T) + T,
    .slice_max = (float *) (rows + T) + 2 * T,
    .grad_scale = grad_scale, .cap = cap,
  };
  double loss_sum = 0.0;
  int64_t count = 0, n_slices = (V + vc - 1) / vc;

  for (int64_t r = 0; r < T; r++)
    {
      sw.row_max[r] = -INFINITY;
      sw.row_sum[r] = 0.0;
    }
  for (sw.v0 = 0; sw.v0 < V; sw.v0 += vc)
    {
      sw.vc = MIN (vc, V - sw.v0);
      lm_head_forward (cpu, sw.logits, xs, T, wd + (size_t) sw.v0 * row_bytes, w->type, E, sw.vc);
      temper_cpu_pool_run_range (cpu->pool, T, MIN_ROWS_PER_THREAD, slice_lse_rows, &sw);
    }
  for (int64_t r = 0; r < T; r++)
    if (tg[r] >= 0)
      {
        g_assert (tg[r] < V);
        loss_sum += (double) sw.row_max[r] + log (sw.row_sum[r]) - sw.target_logit[r];
        count++;
        sw.row_sum[r] = grad_scale / sw.row_sum[r];
      }
  ls[0] += (float) loss_sum;
  ls[1] += (float) count;
  if (dx == NULL)
    return;
  /* Backwards, starting with the slice whose exponentials are at hand. */
  for (int64_t s = n_slices - 1; s >= 0; s--)
    {
      sw.v0 = s * vc;
      sw.vc = MIN (vc, V - sw.v0);
      sw.kept = s == n_slices - 1 && cap == 0.0f;
      if (!sw.kept)
        lm_head_forward (cpu, sw.logits, xs, T, wd + (size_t) sw.v0 * row_bytes, w->type, E, sw.vc);
      temper_cpu_pool_run_range (cpu->pool, T, MIN_ROWS_PER_THREAD, slice_grad_rows, &sw);
      lm_head_backward (cpu, dx, sw.logits, T, wd + (size_t) sw.v0 * row_bytes, w->type, E, sw.vc);
    }
}

/* Vocabulary words per slice when the tokens do not fit one chunk of
 * logits, or 0 to chunk the tokens (see cross_entropy_by_slices ()): the
 * same scratch, T rows of a slice, in whole register tiles, and not so thin
 * that a slice is mostly edges. */
#define SLICE_UNIT 64
#define SLICE_MIN (4 * SLICE_UNIT)

int64_t
temper_cpu_cross_entropy_slice_words (int64_t T, int64_t chunk, int64_t V)
{
  int64_t words;

  if (T <= chunk)
    return 0;
  words = chunk * V / T / SLICE_UNIT * SLICE_UNIT;
  return words >= SLICE_MIN ? words : 0;
}

static void
cross_entropy (TemperBackend *b, const TemperBTensor *loss, const TemperBTensor *dx,
               const TemperBTensor *x, const TemperBTensor *w, const TemperBTensor *targets,
               const TemperBTensor *scratch, float grad_scale, float cap)
{
  TemperCpuBackend *cpu = TEMPER_CPU (b);
  int64_t E = w->ne[0], V = w->ne[1], T = x->ne[1], chunk = scratch->ne[1];
  const gint32 *tg = cpu_data (targets);
  const float *xs = cpu_f32 (x);
  float *ls = cpu_f32 (loss);
  SoftmaxWork sw = { .k = &cpu->k, .logits = cpu_f32 (scratch), .V = V, .grad_scale = grad_scale, .cap = cap };
  double loss_sum = 0.0;
  int64_t count = 0, words = temper_cpu_cross_entropy_slice_words (T, chunk, V);

  g_assert (x->ne[0] == E && scratch->ne[0] == V && chunk > 0);
  if (temper_cpu_cross_entropy_bf16 (cpu, ls, dx != NULL ? cpu_f32 (dx) : NULL, xs, T, cpu_data (w),
                                     w->type, E, V, tg, grad_scale, cap, cpu_f32 (scratch),
                                     (size_t) (V * chunk)))
    return;
  if (words > 0)
    {
      cross_entropy_by_slices (cpu, ls, dx != NULL ? cpu_f32 (dx) : NULL, xs, w, tg,
                               cpu_f32 (scratch), T, words, grad_scale, cap);
      return;
    }
  sw.row_loss = row_doubles (cpu, chunk);
  for (int64_t t0 = 0; t0 < T; t0 += chunk)
    {
      int64_t rows = MIN (chunk, T - t0);

      lm_head_forward (cpu, sw.logits, xs + t0 * E, rows, cpu_data (w), w->type, E, V);
      sw.targets = tg + t0;
      temper_cpu_pool_run_range (cpu->pool, rows, MIN_ROWS_PER_THREAD, softmax_rows, &sw);
      for (int64_t r = 0; r < rows; r++)
        if (!isnan (sw.row_loss[r]))
          {
            loss_sum += sw.row_loss[r];
            count++;
          }
      if (dx != NULL)
        lm_head_backward (cpu, cpu_f32 (dx) + t0 * E, sw.logits, rows, cpu_data (w), w->type, E, V);
    }
  ls[0] += (float) loss_sum;
  ls[1] += (float) count;
}

void
temper_cpu_lm_head_cross_entropy (TemperBackend *b, const TemperBTensor *loss,
                                  const TemperBTensor *dx, const TemperBTensor *x,
                                  const TemperBTensor *w, const TemperBTensor *targets,
                                  const TemperBTensor *scratch, float grad_scale)
{
  cross_entropy (b, loss, dx, x, w, targets, scratch, grad_scale, 0.0f);
}

void
temper_cpu_lm_head_cross_entropy_softcap (TemperBackend *b, const TemperBTensor *loss,
                                          const TemperBTensor *dx, const TemperBTensor *x,
                                          const TemperBTensor *w, const TemperBTensor *targets,
                                          const TemperBTensor *scratch, float grad_scale, float cap)
{
  g_return_if_fail (cap > 0.0f);
  cross_entropy (b, loss, dx, x, w, targets, scratch, grad_scale, cap);
}
