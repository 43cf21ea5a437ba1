/* SPDX-License-Identifier: MIT */
/* The CPU's mixture-of-experts op (the reference for every backend): its
 * forward against a plain double-precision loop written here from the
 * definition (transformers' Qwen3-MoE and Mixtral blocks), its backward
 * against central finite differences of that loop, with and without the
 * renormalisation of the chosen experts' weights, on F32 and Q8_0 experts,
 * on one thread and on several. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "cpu/temper-cpu-backend.h"

typedef struct {
  int      E, F, n_expert, n_used, T, type;
  gboolean norm;
} Shape;

typedef struct {
  Shape      s;
  TemperBackend *b;
  GPtrArray *buffers;
  guint64    rng;
  /* The weights as the op sees them, and dequantized for the reference. */
  TemperBTensor router, gate[8], up[8], down[8];
  double    *wr, *wg[8], *wu[8], *wd[8];
} Moe;

static double
frand (Moe *m)
{
  m->rng = m->rng * 6364136223846793005ull + 1442695040888963407ull;
  return (double) (m->rng >> 11) / 9007199254740992.0 * 2.0 - 1.0;
}

static TemperBTensor
alloc_tensor (Moe *m, int type, int64_t ne0, int64_t ne1)
{
  TemperBuffer *buf = temper_backend_buffer_alloc (m->b, temper_btensor_bytes (type, ne0, ne1),
                                                   TEMPER_BUFFER_ACTIVATIONS, NULL);

  g_assert_nonnull (buf);
  g_ptr_array_add (m->buffers, buf);
  return temper_btensor (buf, 0, type, ne0, ne1);
}

/* A random {ne0, ne1} weight stored as @type; *@ref gets its values as the
 * op reads them (dequantized). */
static TemperBTensor
random_weight (Moe *m, int type, int64_t ne0, int64_t ne1, double scale, double **ref)
{
  TemperBTensor t = alloc_tensor (m, type, ne0, ne1);
  g_autofree float *row = g_new (float, ne0);
  size_t row_bytes = temper_type_row_bytes (type, ne0);

  *ref = g_new (double, ne0 * ne1);
  for (int64_t r = 0; r < ne1; r++)
    {
      guint8 *dst = t.buffer->host + (size_t) r * row_bytes;

      for (int64_t i = 0; i < ne0; i++)
        row[i] = (float) (scale * frand (m));
      g_assert_true (temper_quantize_row (type, row, ne0, dst));
      g_assert_true (temper_dequantize_row (type, dst, ne0, row));
      for (int64_t i = 0; i < ne0; i++)
        (*ref)[r * ne0 + i] = row[i];
    }
  return t;
}

static void
moe_init (Moe *m, const Shape *s, int n_threads)
{
  memset (m, 0, sizeof *m);
  m->s = *s;
  m->b = temper_cpu_backend_new (n_threads, TEMPER_CPU_KERNELS_BEST);
  m->buffers = g_ptr_array_new ();
  m->rng = 7;
  /* Router logits a few units apart, so that the small steps of the finite
   * differences rarely change which experts are chosen. */
  m->router = random_weight (m, TEMPER_TYPE_F32, s->E, s->n_expert, 1.5, &m->wr);
  for (int e = 0; e < s->n_expert; e++)
    {
      m->gate[e] = random_weight (m, s->type, s->E, s->F, 0.5, &m->wg[e]);
      m->up[e] = random_weight (m, s->type, s->E, s->F, 0.5, &m->wu[e]);
      m->down[e] = random_weight (m, s->type, s->F, s->E, 0.5, &m->wd[e]);
    }
}

static void
moe_clear (Moe *m)
{
  for (guint i = 0; i < m->buffers->len; i++)
    temper_backend_buffer_free (m->b, m->buffers->pdata[i]);
  g_ptr_array_unref (m->buffers);
  temper_backend_free (m->b);
  g_free (m->wr);
  for (int e = 0; e < m->s.n_expert; e++)
    {
      g_free (m->wg[e]);
      g_free (m->wu[e]);
      g_free (m->wd[e]);
    }
}

static TemperMoe
moe_op (Moe *m)
{
  TemperMoe op = {
    .n_expert = m->s.n_expert, .n_used = m->s.n_used, .n_ff = m->s.F, .norm = m->s.norm,
    .router = m->router, .gate = m->gate, .up = m->up, .down = m->down,
  };
  return op;
}

/* One token through the block, in doubles: softmax of the router logits,
 * the n_used most probable experts (renormalised when norm), the weighted
 * sum of their SwiGLU outputs.  @chosen_mask gets a bit per chosen expert. */
static void
reference_token (const Moe *m, const double *x, double *y, guint *chosen_mask)
{
  const Shape *s = &m->s;
  double p[8], max = -INFINITY, sum = 0.0, chosen_sum = 0.0;
  int chosen[8];

  for (int e = 0; e < s->n_expert; e++)
    {
      p[e] = 0.0;
      for (int i = 0; i < s->E; i++)
        p[e] += m->wr[e * s->E + i] * x[i];
      max = MAX (max, p[e]);
    }
  for (int e = 0; e < s->n_expert; e++)
    sum += p[e] = exp (p[e] - max);
  for (int e = 0; e < s->n_expert; e++)
    p[e] /= sum;
  *chosen_mask = 0;
  for (int j = 0; j < s->n_used; j++)
    {
      int best = -1;

      for (int e = 0; e < s->n_expert; e++)
        if (!(*chosen_mask & (1u << e)) && (best < 0 || p[e] > p[best]))
          best = e;
      chosen[j] = best;
      *chosen_mask |= 1u << best;
      chosen_sum += p[best];
    }
  memset (y, 0, sizeof (double) * s->E);
  for (int j = 0; j < s->n_used; j++)
    {
      int e = chosen[j];
      double weight = s->norm ? p[e] / chosen_sum : p[e];
      g_autofree double *act = g_new (double, s->F);

      for (int f = 0; f < s->F; f++)
        {
          double g = 0.0, u = 0.0;

          for (int i = 0; i < s->E; i++)
            {
              g += m->wg[e][f * s->E + i] * x[i];
              u += m->wu[e][f * s->E + i] * x[i];
            }
          act[f] = g / (1.0 + exp (-g)) * u;
        }
      for (int o = 0; o < s->E; o++)
        {
          double d = 0.0;

          for (int f = 0; f < s->F; f++)
            d += m->wd[e][o * s->F + f] * act[f];
          y[o] += weight * d;
        }
    }
}

static void
check (const Shape *s, int n_threads)
{
  Moe m;
  TemperMoe op;
  TemperBTensor x, y, dy, dx;
  g_autofree double *xd = g_new (double, s->E), *yd = g_new (double, s->E);
  double worst_fwd = 0.0, num2 = 0.0, den2 = 0.0;
  int n_checked = 0, n_skipped = 0;

  moe_init (&m, s, n_threads);
  op = moe_op (&m);
  x = alloc_tensor (&m, TEMPER_TYPE_F32, s->E, s->T);
  y = alloc_tensor (&m, TEMPER_TYPE_F32, s->E, s->T);
  dy = alloc_tensor (&m, TEMPER_TYPE_F32, s->E, s->T);
  dx = alloc_tensor (&m, TEMPER_TYPE_F32, s->E, s->T);
  for (int64_t i = 0; i < (int64_t) s->E * s->T; i++)
    {
      ((float *) x.buffer->host)[i] = (float) frand (&m);
      ((float *) dy.buffer->host)[i] = (float) frand (&m);
      ((float *) dx.buffer->host)[i] = 0.25f;   /* the backward adds to it */
    }

  m.b->ops->moe (m.b, &y, &x, &op);
  m.b->ops->moe_backward (m.b, &dx, &dy, &x, &op);

  for (int t = 0; t < s->T; t++)
    {
      const float *xt = (const float *) x.buffer->host + t * s->E;
      const float *yt = (const float *) y.buffer->host + t * s->E;
      const float *dyt = (const float *) dy.buffer->host + t * s->E;
      const float *dxt = (const float *) dx.buffer->host + t * s->E;
      double scale = 0.0, diff = 0.0;
      guint mask;

      for (int i = 0; i < s->E; i++)
        xd[i] = xt[i];
      reference_token (&m, xd, yd, &mask);
      for (int i = 0; i < s->E; i++)
        {
          diff = MAX (diff, fabs (yt[i] - yd[i]));
          scale = MAX (scale, fabs (yd[i]));
        }
      worst_fwd = MAX (worst_fwd, diff / scale);

      /* ∂(dy·y)/∂x_i by central differences of the reference, where the
       * choice of experts stays the same on both sides. */
      for (int i = 0; i < s->E; i++)
        {
          const double h = 1e-5;
          double lp = 0.0, lm = 0.0, saved = xd[i], numeric;
          guint mask_p, mask_m;

          xd[i] = saved + h;
          reference_token (&m, xd, yd, &mask_p);
          for (int o = 0; o < s->E; o++)
            lp += dyt[o] * yd[o];
          xd[i] = saved - h;
          reference_token (&m, xd, yd, &mask_m);
          for (int o = 0; o < s->E; o++)
            lm += dyt[o] * yd[o];
          xd[i] = saved;
          if (mask_p != mask || mask_m != mask)
            {
              n_skipped++;
              continue;
            }
          numeric = (lp - lm) / (2.0 * h);
          num2 += (dxt[i] - 0.25 - numeric) * (dxt[i] - 0.25 - numeric);
          den2 += numeric * numeric;
          n_checked++;
        }
    }
  g_test_message ("%s experts, norm %d, %d threads: forward %.2e of the largest output; "
                  "backward %.2e over %d elements (%d at a change of experts left out)",
                  temper_type_name (s->type), s->norm, n_threads, worst_fwd, sqrt (num2 / den2),
                  n_checked, n_skipped);
  g_assert_cmpint (n_checked, >, s->E * s->T * 3 / 4);
  g_assert_cmpfloat (worst_fwd, <, 1e-5);
  g_assert_cmpfloat (sqrt (num2 / den2), <, 1e-4);
  moe_clear (&m);
}

static void
test_moe_norm (void)
{
  /* Mixtral, and Qwen3-MoE with norm_topk_prob. */
  Shape s = { .E = 16, .F = 12, .n_expert = 5, .n_used = 2, .T = 9, .type = TEMPER_TYPE_F32, .norm = TRUE };

  check (&s, 1);
  check (&s, 3);
}

static void
test_moe_no_norm (void)
{
  /* Qwen3-MoE without norm_topk_prob: the softmax weights as they are. */
  Shape s = { .E = 16, .F = 12, .n_expert = 6, .n_used = 3, .T = 9, .type = TEMPER_TYPE_F32, .norm = FALSE };

  check (&s, 1);
}

static void
test_moe_quantized (void)
{
  /* Experts in a GGUF's block type (a 32-wide block on both sides). */
  Shape s = { .E = 32, .F = 64, .n_expert = 4, .n_used = 2, .T = 5, .type = TEMPER_TYPE_Q8_0, .norm = TRUE };

  check (&s, 2);
}

static void
test_moe_single_expert (void)
{
  /* One expert per token, some experts unused by every token. */
  Shape s = { .E = 16, .F = 8, .n_expert = 8, .n_used = 1, .T = 3, .type = TEMPER_TYPE_F32, .norm = FALSE };

  check (&s, 1);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/cpu/moe/norm", test_moe_norm);
  g_test_add_func ("/cpu/moe/no-norm", test_moe_no_norm);
  g_test_add_func ("/cpu/moe/quantized", test_moe_quantized);
  g_test_add_func ("/cpu/moe/single-expert", test_moe_single_expert);
  return g_test_run ();
}
