/* SPDX-License-Identifier: MIT */
/* CPU backend ops: forwards against direct double-precision formulas, every
 * backward against finite differences of its forward. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "cpu/temper-cpu-backend.h"
#include "cpu/temper-cpu-pool.h"
#include "cpu/temper-cpu-private.h"

typedef struct {
  TemperBackend *b;
  GPtrArray     *buffers;
  guint64        rng;
} Ctx;

static float
frand (Ctx *c)
{
  c->rng = c->rng * 6364136223846793005ull + 1442695040888963407ull;
  return (float) ((double) (c->rng >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

static void
ctx_init (Ctx *c, int n_threads)
{
  c->b = temper_cpu_backend_new (n_threads, TEMPER_CPU_KERNELS_BEST);
  c->buffers = g_ptr_array_new ();
  c->rng = 42;
}

static void
ctx_clear (Ctx *c)
{
  for (guint i = 0; i < c->buffers->len; i++)
    temper_backend_buffer_free (c->b, c->buffers->pdata[i]);
  g_ptr_array_unref (c->buffers);
  temper_backend_free (c->b);
}

static TemperBTensor
tensor (Ctx *c, int type, int64_t ne0, int64_t ne1)
{
  TemperBuffer *buf = temper_backend_buffer_alloc (c->b, temper_btensor_bytes (type, ne0, ne1),
                                                   TEMPER_BUFFER_ACTIVATIONS, NULL);
  g_assert_nonnull (buf);
  g_ptr_array_add (c->buffers, buf);
  return temper_btensor (buf, 0, type, ne0, ne1);
}

static float *
F (const TemperBTensor *t)
{
  return (float *) (t->buffer->host + t->offset);
}

static int64_t
numel (const TemperBTensor *t)
{
  return t->ne[0] * t->ne[1];
}

static TemperBTensor
random_tensor (Ctx *c, int64_t ne0, int64_t ne1, float scale)
{
  TemperBTensor t = tensor (c, TEMPER_TYPE_F32, ne0, ne1);

  for (int64_t i = 0; i < ne0 * ne1; i++)
    F (&t)[i] = scale * frand (c);
  return t;
}

static TemperBTensor
copy_tensor (Ctx *c, const TemperBTensor *src)
{
  TemperBTensor t = tensor (c, TEMPER_TYPE_F32, src->ne[0], src->ne[1]);

  memcpy (F (&t), F (src), sizeof (float) * (size_t) numel (src));
  return t;
}

static double
dot_d (const float *a, const float *b, int64_t n)
{
  double s = 0.0;

  for (int64_t i = 0; i < n; i++)
    s += (double) a[i] * b[i];
  return s;
}

/* ‖a − b‖ / ‖b‖ (or ‖a − b‖ when b is tiny). */
static double
rel_error (const float *a, const float *b, int64_t n)
{
  double num = 0.0, den = 0.0;

  for (int64_t i = 0; i < n; i++)
    {
      num += ((double) a[i] - b[i]) * ((double) a[i] - b[i]);
      den += (double) b[i] * b[i];
    }
  return sqrt (num) / MAX (sqrt (den), 1e-6);
}

/* Finite-difference check: @loss evaluates Σ forward(inputs)·R; @grad holds
 * the backward's gradient for @input.  Central differences on a sample of
 * elements. */
typedef double (*LossFunc) (Ctx *c, gpointer data);

static void
check_gradient (Ctx *c, const char *what, LossFunc loss, gpointer data,
                const TemperBTensor *input, const float *grad, double tolerance)
{
  int64_t n = numel (input);
  int64_t step = MAX (1, n / 64);
  g_autofree float *num = g_new0 (float, n);
  g_autofree float *ana = g_new0 (float, n);
  int64_t k = 0;
  double err;

  for (int64_t i = 0; i < n; i += step, k++)
    {
      float saved = F (input)[i];
      float h = 1e-2f * MAX (1.0f, fabsf (saved));
      double lp, lm;

      F (input)[i] = saved + h;
      lp = loss (c, data);
      F (input)[i] = saved - h;
      lm = loss (c, data);
      F (input)[i] = saved;
      num[k] = (float) ((lp - lm) / (2.0 * h));
      ana[k] = grad[i];
    }
  err = rel_error (ana, num, k);
  g_test_message ("%s: gradient error %.2e over %" G_GINT64_FORMAT " elements", what, err, k);
  g_assert_cmpfloat (err, <, tolerance);
}

/* ---- RMSNorm ---- */

typedef struct {
  TemperBTensor x, w, y, rstd, r;
} NormData;

static double
norm_loss (Ctx *c, gpointer data)
{
  NormData *d = data;

  c->b->ops->rmsnorm (c->b, &d->y, &d->rstd, &d->x, &d->w, 1e-5f);
  return dot_d (F (&d->y), F (&d->r), numel (&d->y));
}

static void
test_rmsnorm (void)
{
  Ctx c;
  NormData d;
  TemperBTensor dx;

  ctx_init (&c, 2);
  d.x = random_tensor (&c, 48, 5, 2.0f);
  d.w = random_tensor (&c, 48, 1, 1.0f);
  d.y = tensor (&c, TEMPER_TYPE_F32, 48, 5);
  d.rstd = tensor (&c, TEMPER_TYPE_F32, 5, 1);
  d.r = random_tensor (&c, 48, 5, 1.0f);
  dx = random_tensor (&c, 48, 5, 1.0f);   /* backward adds: start from noise */
  {
    TemperBTensor before = copy_tensor (&c, &dx);

    norm_loss (&c, &d);
    for (int t = 0; t < 5; t++)
      {
        const float *xt = F (&d.x) + t * 48;
        double ms = dot_d (xt, xt, 48) / 48.0, r = 1.0 / sqrt (ms + 1e-5);

        for (int i = 0; i < 48; i++)
          g_assert_cmpfloat (fabs (F (&d.y)[t * 48 + i] - F (&d.w)[i] * xt[i] * r), <, 1e-5);
      }
    c.b->ops->rmsnorm_backward (c.b, &dx, &d.r, &d.x, &d.w, &d.rstd);
    for (int64_t i = 0; i < numel (&dx); i++)
      F (&dx)[i] -= F (&before)[i];
  }
  check_gradient (&c, "rmsnorm dx", norm_loss, &d, &d.x, F (&dx), 1e-2);
  ctx_clear (&c);
}

/* ---- matmul (F32 weight) and its input gradient ---- */

typedef struct {
  TemperBTensor x, w, bias, y, r;
} MatmulData;

static double
matmul_loss (Ctx *c, gpointer data)
{
  MatmulData *d = data;

  c->b->ops->matmul (c->b, &d->y, &d->x, &d->w, &d->bias, FALSE);
  return dot_d (F (&d->y), F (&d->r), numel (&d->y));
}

static void
test_matmul_gradient (void)
{
  Ctx c;
  MatmulData d;
  TemperBTensor dx;

  ctx_init (&c, 2);
  for (int T = 1; T <= 9; T += 8)   /* the fused (decode) and tiled paths */
    {
      d.x = random_tensor (&c, 64, T, 1.0f);
      d.w = random_tensor (&c, 64, 40, 1.0f);
      d.bias = random_tensor (&c, 40, 1, 1.0f);
      d.y = tensor (&c, TEMPER_TYPE_F32, 40, T);
      d.r = random_tensor (&c, 40, T, 1.0f);
      dx = tensor (&c, TEMPER_TYPE_F32, 64, T);
      matmul_loss (&c, &d);
      for (int t = 0; t < T; t++)
        for (int o = 0; o < 40; o++)
          {
            double ref = dot_d (F (&d.x) + t * 64, F (&d.w) + o * 64, 64) + F (&d.bias)[o];

            g_assert_cmpfloat (fabs (F (&d.y)[t * 40 + o] - ref), <, 1e-4);
          }
      c.b->ops->matmul_backward_input (c.b, &dx, &d.r, &d.w);
      check_gradient (&c, "matmul dx", matmul_loss, &d, &d.x, F (&dx), 1e-2);
    }
  ctx_clear (&c);
}

/* ---- gemm, all transpose combinations ---- */

static void
test_gemm (void)
{
  Ctx c;

  ctx_init (&c, 2);
  for (int ta = 0; ta < 2; ta++)
    for (int tb = 0; tb < 2; tb++)
      {
        int M = 7, N = 11, K = 13;
        TemperBTensor a = ta ? random_tensor (&c, M, K, 1.0f) : random_tensor (&c, K, M, 1.0f);
        TemperBTensor bm = tb ? random_tensor (&c, K, N, 1.0f) : random_tensor (&c, N, K, 1.0f);
        TemperBTensor cm = random_tensor (&c, N, M, 1.0f);
        TemperBTensor c0 = copy_tensor (&c, &cm);

        c.b->ops->gemm (c.b, &cm, &a, ta, &bm, tb, 0.5f, 0.25f);
        for (int m = 0; m < M; m++)
          for (int n = 0; n < N; n++)
            {
              double s = 0.0;

              for (int k = 0; k < K; k++)
                {
                  double av = ta ? F (&a)[k * M + m] : F (&a)[m * K + k];
                  double bv = tb ? F (&bm)[n * K + k] : F (&bm)[k * N + n];
                  s += av * bv;
                }
              s = 0.5 * s + 0.25 * F (&c0)[m * N + n];
              g_assert_cmpfloat (fabs (F (&cm)[m * N + n] - s), <, 1e-5);
            }
      }
  ctx_clear (&c);
}

/* ---- RoPE ---- */

typedef struct {
  TemperBTensor x, y, r;
  TemperRopeLayout layout;
} RopeData;

static double
rope_loss (Ctx *c, gpointer data)
{
  RopeData *d = data;

  memcpy (F (&d->y), F (&d->x), sizeof (float) * (size_t) numel (&d->x));
  c->b->ops->rope (c->b, &d->y, 3, 8, 4, 5, 10000.0f, d->layout);
  return dot_d (F (&d->y), F (&d->r), numel (&d->y));
}

static void
test_rope (void)
{
  Ctx c;

  ctx_init (&c, 1);
  for (int layout = 0; layout < 2; layout++)
    {
      RopeData d;
      TemperBTensor dx;

      d.layout = layout;
      d.x = random_tensor (&c, 24, 8, 1.0f);   /* 3 heads of 8, 2 sequences of 4 */
      d.y = tensor (&c, TEMPER_TYPE_F32, 24, 8);
      d.r = random_tensor (&c, 24, 8, 1.0f);
      rope_loss (&c, &d);
      for (int row = 0; row < 8; row++)
        for (int h = 0; h < 3; h++)
          for (int i = 0; i < 4; i++)
            {
              int a = layout == TEMPER_ROPE_INTERLEAVED ? 2 * i : i;
              int b = layout == TEMPER_ROPE_INTERLEAVED ? 2 * i + 1 : i + 4;
              double ang = (5 + row % 4) * pow (10000.0, -2.0 * i / 8);
              const float *xv = F (&d.x) + row * 24 + h * 8;
              const float *yv = F (&d.y) + row * 24 + h * 8;

              g_assert_cmpfloat (fabs (yv[a] - (xv[a] * cos (ang) - xv[b] * sin (ang))), <, 1e-5);
              g_assert_cmpfloat (fabs (yv[b] - (xv[a] * sin (ang) + xv[b] * cos (ang))), <, 1e-5);
            }
      dx = copy_tensor (&c, &d.r);
      c.b->ops->rope_backward (c.b, &dx, 3, 8, 4, 5, 10000.0f, layout);
      check_gradient (&c, layout ? "rope (halves) dx" : "rope (interleaved) dx",
                      rope_loss, &d, &d.x, F (&dx), 1e-3);
    }
  ctx_clear (&c);
}

/* ---- attention ---- */

typedef struct {
  TemperBTensor q, k, v, out, lse, r;
  TemperAttentionParams p;
} AttnData;

static double
attn_loss (Ctx *c, gpointer data)
{
  AttnData *d = data;

  c->b->ops->attention (c->b, &d->out, &d->lse, &d->q, &d->k, &d->v, &d->p);
  return dot_d (F (&d->out), F (&d->r), numel (&d->out));
}

static void
test_attention (void)
{
  Ctx c;
  AttnData d;
  TemperBTensor dq, dk, dv;
  int hd = 8, nh = 4, nkv = 2;

  ctx_init (&c, 2);
  d.p = (TemperAttentionParams) { .n_head = nh, .n_head_kv = nkv, .head_dim = hd,
                                  .n_seq = 2, .n_query = 5, .n_key = 5, .q_offset = 0,
                                  .scale = 1.0f / sqrtf (8.0f) };
  d.q = random_tensor (&c, nh * hd, 10, 1.5f);
  d.k = random_tensor (&c, nkv * hd, 10, 1.5f);
  d.v = random_tensor (&c, nkv * hd, 10, 1.0f);
  d.out = tensor (&c, TEMPER_TYPE_F32, nh * hd, 10);
  d.lse = tensor (&c, TEMPER_TYPE_F32, nh, 10);
  d.r = random_tensor (&c, nh * hd, 10, 1.0f);
  attn_loss (&c, &d);

  /* Forward against a direct softmax. */
  for (int s = 0; s < 2; s++)
    for (int i = 0; i < 5; i++)
      for (int h = 0; h < nh; h++)
        {
          const float *qv = F (&d.q) + (s * 5 + i) * nh * hd + h * hd;
          double w[5], sum = 0.0;

          for (int j = 0; j <= i; j++)
            {
              w[j] = exp (dot_d (qv, F (&d.k) + (s * 5 + j) * nkv * hd + (h / 2) * hd, hd) / sqrt (8.0));
              sum += w[j];
            }
          for (int e = 0; e < hd; e++)
            {
              double o = 0.0;

              for (int j = 0; j <= i; j++)
                o += w[j] / sum * F (&d.v)[(s * 5 + j) * nkv * hd + (h / 2) * hd + e];
              g_assert_cmpfloat (fabs (F (&d.out)[(s * 5 + i) * nh * hd + h * hd + e] - o), <, 1e-5);
            }
          g_assert_cmpfloat (fabs (F (&d.lse)[(s * 5 + i) * nh + h] - log (sum)), <, 1e-5);
        }

  dq = tensor (&c, TEMPER_TYPE_F32, nh * hd, 10);
  dk = tensor (&c, TEMPER_TYPE_F32, nkv * hd, 10);
  dv = tensor (&c, TEMPER_TYPE_F32, nkv * hd, 10);
  c.b->ops->attention_backward (c.b, &dq, &dk, &dv, &d.r, &d.out, &d.lse, &d.q, &d.k, &d.v, &d.p);
  check_gradient (&c, "attention dq", attn_loss, &d, &d.q, F (&dq), 1e-2);
  check_gradient (&c, "attention dk", attn_loss, &d, &d.k, F (&dk), 1e-2);
  check_gradient (&c, "attention dv", attn_loss, &d, &d.v, F (&dv), 1e-2);
  ctx_clear (&c);
}

/* Queries against a KV cache: the last rows of a full causal pass. */
static void
test_attention_offset (void)
{
  Ctx c;
  TemperAttentionParams full = { 2, 1, 8, 1, 6, 6, 0, 0.3f }, tail = { 2, 1, 8, 1, 2, 6, 4, 0.3f };
  TemperBTensor q, k, v, out_full, out_tail, q_tail;

  ctx_init (&c, 2);
  q = random_tensor (&c, 16, 6, 1.0f);
  k = random_tensor (&c, 8, 6, 1.0f);
  v = random_tensor (&c, 8, 6, 1.0f);
  out_full = tensor (&c, TEMPER_TYPE_F32, 16, 6);
  out_tail = tensor (&c, TEMPER_TYPE_F32, 16, 2);
  q_tail = temper_btensor_rows (&q, 4, 2);
  c.b->ops->attention (c.b, &out_full, NULL, &q, &k, &v, &full);
  c.b->ops->attention (c.b, &out_tail, NULL, &q_tail, &k, &v, &tail);
  g_assert_cmpfloat (rel_error (F (&out_tail), F (&out_full) + 4 * 16, 32), <, 1e-6);
  ctx_clear (&c);
}

/* ---- SwiGLU ---- */

typedef struct {
  TemperBTensor g, u, out, r;
} SwigluData;

static double
swiglu_loss (Ctx *c, gpointer data)
{
  SwigluData *d = data;

  c->b->ops->swiglu (c->b, &d->out, &d->g, &d->u);
  return dot_d (F (&d->out), F (&d->r), numel (&d->out));
}

static void
test_swiglu (void)
{
  Ctx c;
  SwigluData d;
  TemperBTensor dg, du;

  ctx_init (&c, 1);
  d.g = random_tensor (&c, 30, 3, 4.0f);
  d.u = random_tensor (&c, 30, 3, 2.0f);
  d.out = tensor (&c, TEMPER_TYPE_F32, 30, 3);
  d.r = random_tensor (&c, 30, 3, 1.0f);
  swiglu_loss (&c, &d);
  for (int i = 0; i < 90; i++)
    {
      double g = F (&d.g)[i];

      g_assert_cmpfloat (fabs (F (&d.out)[i] - g / (1.0 + exp (-g)) * F (&d.u)[i]), <, 1e-5);
    }
  dg = tensor (&c, TEMPER_TYPE_F32, 30, 3);
  du = tensor (&c, TEMPER_TYPE_F32, 30, 3);
  c.b->ops->swiglu_backward (c.b, &dg, &du, &d.r, &d.g, &d.u);
  check_gradient (&c, "swiglu dgate", swiglu_loss, &d, &d.g, F (&dg), 1e-2);
  check_gradient (&c, "swiglu dup", swiglu_loss, &d, &d.u, F (&du), 1e-2);
  ctx_clear (&c);
}

/* ---- fused lm_head + cross-entropy ---- */

typedef struct {
  TemperBTensor x, w, targets, scratch, loss;
  float         cap;   /* > 0: Gemma 2's soft-capped logits */
} CeData;

static void
ce_run (Ctx *c, CeData *d, const TemperBTensor *dx)
{
  F (&d->loss)[0] = F (&d->loss)[1] = 0.0f;
  if (d->cap > 0.0f)
    c->b->ops->lm_head_cross_entropy_softcap (c->b, &d->loss, dx, &d->x, &d->w, &d->targets,
                                              &d->scratch, 1.0f, d->cap);
  else
    c->b->ops->lm_head_cross_entropy (c->b, &d->loss, dx, &d->x, &d->w, &d->targets,
                                      &d->scratch, 1.0f);
}

static double
ce_loss (Ctx *c, gpointer data)
{
  ce_run (c, data, NULL);
  return F (&((CeData *) data)->loss)[0];
}

/* Against plain loops in double (logits soft-capped when @cap > 0) and
 * finite differences.  @vocab words, 7 rows, @chunk rows of logits in the
 * scratch: with @slices, the op takes the vocabulary in slices (two passes,
 * the last slice's exponentials reused) instead of chunks of rows, and the
 * targets fall in every slice, the last word included. */
static void
check_cross_entropy (float cap, int64_t vocab, int64_t chunk, gboolean slices)
{
  enum { T = 7, E = 16 };
  Ctx c;
  CeData d = { .cap = cap };
  TemperBTensor dx;
  gint32 *tg;
  double ref = 0.0;
  int count = 0;
  g_autofree double *logit = g_new (double, vocab);

  g_assert_cmpint (temper_cpu_cross_entropy_slice_words (T, chunk, vocab) > 0, ==, slices);
  ctx_init (&c, 2);
  /* Logits of a few units: a cap of 2 bends them well away from linear. */
  d.x = random_tensor (&c, E, T, 1.0f);
  d.w = random_tensor (&c, E, vocab, 1.0f);
  d.targets = tensor (&c, TEMPER_TYPE_I32, T, 1);
  d.scratch = tensor (&c, TEMPER_TYPE_F32, vocab, chunk);
  d.loss = tensor (&c, TEMPER_TYPE_F32, 2, 1);
  tg = (gint32 *) d.targets.buffer->host;
  for (int t = 0; t < T; t++)
    tg[t] = t == 2 || t == 5 ? -1 : t == 6 ? (gint32) vocab - 1 : (gint32) ((t * 13 * vocab / 50) % vocab);

  for (int t = 0; t < T; t++)
    {
      double max = -INFINITY, sum = 0.0;

      if (tg[t] < 0)
        continue;
      for (int64_t v = 0; v < vocab; v++)
        {
          logit[v] = dot_d (F (&d.x) + t * E, F (&d.w) + v * E, E);
          if (cap > 0.0f)
            logit[v] = cap * tanh (logit[v] / cap);
          max = MAX (max, logit[v]);
        }
      for (int64_t v = 0; v < vocab; v++)
        sum += exp (logit[v] - max);
      ref += max + log (sum) - logit[tg[t]];
      count++;
    }
  ce_loss (&c, &d);
  g_assert_cmpfloat (fabs (F (&d.loss)[0] - ref), <, 1e-4 * MAX (1.0, fabs (ref)));
  g_assert_cmpfloat (F (&d.loss)[1], ==, count);

  dx = tensor (&c, TEMPER_TYPE_F32, E, T);
  ce_run (&c, &d, &dx);
  for (int i = 0; i < E; i++)   /* masked rows get no gradient */
    g_assert_cmpfloat (F (&dx)[2 * E + i], ==, 0.0f);
  check_gradient (&c, cap > 0.0f ? "soft-capped cross-entropy dx" : "cross-entropy dx", ce_loss, &d,
                  &d.x, F (&dx), 1e-2);
  ctx_clear (&c);
}

static void
test_cross_entropy (void)
{
  check_cross_entropy (0.0f, 50, 3, FALSE);   /* 3-row chunks: 7 rows take 3 */
}

static void
test_cross_entropy_softcap (void)
{
  check_cross_entropy (2.0f, 50, 3, FALSE);
}

/* 3 × 1,000 logits of scratch for 7 rows: slices of 384 words, the last
 * one 232. */
static void
test_cross_entropy_slices (void)
{
  check_cross_entropy (0.0f, 1000, 3, TRUE);
}

static void
test_cross_entropy_slices_softcap (void)
{
  check_cross_entropy (2.0f, 1000, 3, TRUE);
}

/* Training's fast mode takes the lm_head's products in bfloat16 (AMX or
 * AVX512-BF16, fp32 sums): loss and dx against exact mode, dx also against
 * finite differences of exact mode's loss, for 20 rows in slices of the
 * vocabulary (@chunk 8) and in one chunk of rows (@chunk 20). */
static void
check_cross_entropy_fast (TemperCpuKernelChoice kernels, int64_t chunk)
{
  enum { T = 20, E = 64, V = 1000 };
  Ctx c;
  CeData d = { 0 };
  TemperBTensor dx_exact, dx_fast;
  TemperBackend *exact, *fast;
  gint32 *tg;
  double loss_exact, loss_fast, err;

  if (temper_cpu_bf16_gemm_best () == TEMPER_BF16_GEMM_NONE ||
      (kernels == TEMPER_CPU_KERNELS_FAST_TRAIN && temper_cpu_bf16_gemm_best () != TEMPER_BF16_GEMM_AMX))
    {
      g_test_skip ("this processor lacks the kernel (AMX-BF16 or AVX512-BF16)");
      return;
    }
  ctx_init (&c, 2);
  exact = c.b;
  fast = temper_cpu_backend_new (2, kernels);
  /* Logits of a few units, rows masked, targets across the slices. */
  d.x = random_tensor (&c, E, T, 1.0f);
  d.w = random_tensor (&c, E, V, 1.0f);
  d.targets = tensor (&c, TEMPER_TYPE_I32, T, 1);
  d.scratch = tensor (&c, TEMPER_TYPE_F32, V, chunk);
  d.loss = tensor (&c, TEMPER_TYPE_F32, 2, 1);
  tg = (gint32 *) d.targets.buffer->host;
  for (int t = 0; t < T; t++)
    tg[t] = t % 7 == 3 ? -1 : (t * 379) % V;
  dx_exact = tensor (&c, TEMPER_TYPE_F32, E, T);
  dx_fast = tensor (&c, TEMPER_TYPE_F32, E, T);

  ce_run (&c, &d, &dx_exact);
  loss_exact = F (&d.loss)[0];
  c.b = fast;
  ce_run (&c, &d, &dx_fast);
  loss_fast = F (&d.loss)[0];
  c.b = exact;
  err = rel_error (F (&dx_fast), F (&dx_exact), E * T);
  g_test_message ("fast cross-entropy (%s): loss %.6f vs exact %.6f, dx error %.2e",
                  temper_cpu_backend_get_kernels_name (fast), loss_fast, loss_exact, err);
  g_assert_cmpfloat (fabs (loss_fast - loss_exact), <, 2e-3 * fabs (loss_exact));
  g_assert_cmpfloat (err, <, 2e-2);
  g_assert_cmpfloat (err, >, 0.0);   /* the bfloat16 kernel ran */
  check_gradient (&c, "fast cross-entropy dx against exact finite differences", ce_loss, &d, &d.x,
                  F (&dx_fast), 3e-2);
  temper_backend_free (fast);
  ctx_clear (&c);
}

static void
test_cross_entropy_fast_slices (void)
{
  check_cross_entropy_fast (TEMPER_CPU_KERNELS_FAST_TRAIN, 8);
  check_cross_entropy_fast (TEMPER_CPU_KERNELS_FAST_TRAIN_AVX512_BF16, 8);
}

static void
test_cross_entropy_fast_rows (void)
{
  check_cross_entropy_fast (TEMPER_CPU_KERNELS_FAST_TRAIN, 20);
  check_cross_entropy_fast (TEMPER_CPU_KERNELS_FAST_TRAIN_AVX512_BF16, 20);
}

/* Training's fast mode rounds the input gradients and the lm_head to
 * bfloat16 but keeps the layers' forward products as accurate as fp32: a
 * plainly rounded forward trains the adapter on a model a little off in
 * every product (on the demo model it moved each step's LoRA gradient by
 * 2.7 % against 0.7 % and taught fewer facts).  On AMX the forward runs on
 * the bfloat16 kernel with split operands (three terms): within 2e-5 of
 * exact mode where plain rounding is ~2e-3 off (and not bit-equal to it:
 * the kernel ran).  With AVX512-BF16 alone, where three terms would cost
 * more than fp32, it stays fp32 (bit-equal).  The input gradient differs by
 * bfloat16's rounding either way. */
static void
check_fast_train_forward (TemperCpuKernelChoice kernels, gboolean split)
{
  enum { T = 40, IN = 576, OUT = 96 };
  Ctx c;
  TemperBackend *exact, *fast;
  TemperBTensor x, w, dy, y_exact, y_fast, dx_exact, dx_fast;
  double y_err, dx_err;

  ctx_init (&c, 2);
  exact = c.b;
  fast = temper_cpu_backend_new (2, kernels);
  x = random_tensor (&c, IN, T, 1.0f);
  w = random_tensor (&c, IN, OUT, 0.05f);
  dy = random_tensor (&c, OUT, T, 1.0f);
  y_exact = tensor (&c, TEMPER_TYPE_F32, OUT, T);
  y_fast = tensor (&c, TEMPER_TYPE_F32, OUT, T);
  dx_exact = tensor (&c, TEMPER_TYPE_F32, IN, T);
  dx_fast = tensor (&c, TEMPER_TYPE_F32, IN, T);
  memset (F (&dx_exact), 0, sizeof (float) * IN * T);
  memset (F (&dx_fast), 0, sizeof (float) * IN * T);
  exact->ops->matmul (exact, &y_exact, &x, &w, NULL, FALSE);
  fast->ops->matmul (fast, &y_fast, &x, &w, NULL, FALSE);
  exact->ops->matmul_backward_input (exact, &dx_exact, &dy, &w);
  fast->ops->matmul_backward_input (fast, &dx_fast, &dy, &w);
  y_err = rel_error (F (&y_fast), F (&y_exact), OUT * T);
  dx_err = rel_error (F (&dx_fast), F (&dx_exact), IN * T);
  g_test_message ("fast mode (%s): forward error %.2e, input gradient error %.2e",
                  temper_cpu_backend_get_kernels_name (fast), y_err, dx_err);
  g_assert_cmpfloat (y_err, <, split ? 2e-5 : 1e-7);
  if (split)
    g_assert_cmpfloat (y_err, >, 0.0);
  g_assert_cmpfloat (dx_err, >, 1e-4);
  g_assert_cmpfloat (dx_err, <, 1e-2);
  temper_backend_free (fast);
  ctx_clear (&c);
}

static void
test_fast_train_forward_exact (void)
{
  if (temper_cpu_bf16_gemm_best () == TEMPER_BF16_GEMM_NONE)
    {
      g_test_skip ("this processor lacks the kernel (AMX-BF16 or AVX512-BF16)");
      return;
    }
  check_fast_train_forward (TEMPER_CPU_KERNELS_FAST_TRAIN_AVX512_BF16, FALSE);
  if (temper_cpu_bf16_gemm_best () == TEMPER_BF16_GEMM_AMX)
    check_fast_train_forward (TEMPER_CPU_KERNELS_FAST_TRAIN, TRUE);
}

/* ---- AdamW, sum of squares, scale, add ---- */

static void
test_adamw_and_vectors (void)
{
  Ctx c;
  TemperBTensor p, g, m, v, ss, p0;
  TemperAdamWParams ap = { 1e-2f, 0.9f, 0.999f, 1e-8f, 0.1f, 3, 0.5f };
  double norm2;

  ctx_init (&c, 1);
  p = random_tensor (&c, 10, 2, 1.0f);
  g = random_tensor (&c, 10, 2, 1.0f);
  m = random_tensor (&c, 10, 2, 0.1f);
  v = random_tensor (&c, 10, 2, 0.1f);
  for (int i = 0; i < 20; i++)
    F (&v)[i] = fabsf (F (&v)[i]);
  p0 = copy_tensor (&c, &p);
  {
    TemperBTensor m0 = copy_tensor (&c, &m), v0 = copy_tensor (&c, &v);

    ss = tensor (&c, TEMPER_TYPE_F32, 1, 1);
    c.b->ops->sum_squares (c.b, &ss, &g);
    norm2 = dot_d (F (&g), F (&g), 20);
    g_assert_cmpfloat (fabs (F (&ss)[0] - norm2), <, 1e-5);
    c.b->ops->adamw (c.b, &p, &g, &m, &v, &ss, &ap);
    for (int i = 0; i < 20; i++)
      {
        double clip = MIN (1.0, 0.5 / sqrt (norm2));
        double gi = F (&g)[i] * clip;
        double mi = 0.9 * F (&m0)[i] + 0.1 * gi;
        double vi = 0.999 * F (&v0)[i] + 0.001 * gi * gi;
        double mh = mi / (1 - pow (0.9, 3)), vh = vi / (1 - pow (0.999, 3));
        double pi = F (&p0)[i] - 1e-2 * (mh / (sqrt (vh) + 1e-8) + 0.1 * F (&p0)[i]);

        g_assert_cmpfloat (fabs (F (&p)[i] - pi), <, 1e-5);
        g_assert_cmpfloat (fabs (F (&m)[i] - mi), <, 1e-6);
      }
  }
  c.b->ops->scale (c.b, &g, -2.0f);
  c.b->ops->add (c.b, &p, &p0, &g);
  for (int i = 0; i < 20; i++)
    g_assert_cmpfloat (F (&p)[i], ==, F (&p0)[i] + F (&g)[i]);
  c.b->ops->zero (c.b, &p);
  for (int i = 0; i < 20; i++)
    g_assert_cmpfloat (F (&p)[i], ==, 0.0f);
  ctx_clear (&c);
}

static void
test_pool_threads (void)
{
  /* The same matmul split over 1 and 3 threads gives the same numbers. */
  Ctx c1, c3;
  TemperBTensor x, w, y1, y3;

  ctx_init (&c1, 1);
  ctx_init (&c3, 3);
  x = random_tensor (&c1, 96, 9, 1.0f);
  w = random_tensor (&c1, 96, 37, 1.0f);
  y1 = tensor (&c1, TEMPER_TYPE_F32, 37, 9);
  y3 = tensor (&c3, TEMPER_TYPE_F32, 37, 9);
  for (int rep = 0; rep < 50; rep++)
    {
      c1.b->ops->matmul (c1.b, &y1, &x, &w, NULL, FALSE);
      c3.b->ops->matmul (c3.b, &y3, &x, &w, NULL, FALSE);
    }
  g_assert_cmpmem (F (&y1), 37 * 9 * 4, F (&y3), 37 * 9 * 4);
  ctx_clear (&c1);
  ctx_clear (&c3);
}

/* Decoding's shared row chunks: every item of [0, n) is handed out exactly
 * once, in chunks whose inner boundaries are multiples of the unit, at odd
 * counts, units and thread counts. */
typedef struct {
  gint  *count;
  gint64 unit, n;
  gint   bad_boundaries;
} ChunkCount;

static void
count_chunk (void *data, gint64 begin, gint64 end)
{
  ChunkCount *c = data;

  if (begin % c->unit != 0 || (end != c->n && end % c->unit != 0) || begin >= end)
    g_atomic_int_inc (&c->bad_boundaries);
  for (gint64 i = begin; i < end; i++)
    g_atomic_int_inc (&c->count[i]);
}

static void
test_pool_shared_chunks (void)
{
  static const int threads[] = { 1, 2, 3, 5 };
  static const gint64 sizes[] = { 1, 2, 3, 7, 37, 101, 1000, 4097 };
  static const gint64 units[] = { 1, 2, 3 };
  static const gint64 min_chunks[] = { 1, 5, 64 };

  for (gsize t = 0; t < G_N_ELEMENTS (threads); t++)
    {
      TemperCpuPool *pool = temper_cpu_pool_new (threads[t]);

      for (gsize s = 0; s < G_N_ELEMENTS (sizes); s++)
        for (gsize u = 0; u < G_N_ELEMENTS (units); u++)
          for (gsize m = 0; m < G_N_ELEMENTS (min_chunks); m++)
            for (int rep = 0; rep < 20; rep++)
              {
                g_autofree gint *count = g_new0 (gint, sizes[s]);
                ChunkCount c = { count, units[u], sizes[s], 0 };

                temper_cpu_pool_run_shared (pool, sizes[s], units[u], min_chunks[m], count_chunk, &c);
                g_assert_cmpint (c.bad_boundaries, ==, 0);
                for (gint64 i = 0; i < sizes[s]; i++)
                  if (count[i] != 1)
                    g_error ("%d threads, n %" G_GINT64_FORMAT ", unit %" G_GINT64_FORMAT
                             ", min %" G_GINT64_FORMAT ": item %" G_GINT64_FORMAT " done %d times",
                             threads[t], sizes[s], units[u], min_chunks[m], i, count[i]);
              }
      temper_cpu_pool_free (pool);
    }
}

/* One token's product over 1 and 3 threads: the same numbers for every row
 * of an odd row count (added onto y, so a row done twice or skipped shows),
 * with the 8-bit decode kernels and with the fp32 ones. */
static void
test_decode_threads (void)
{
  static const TemperCpuKernelChoice choices[] = { TEMPER_CPU_KERNELS_FAST_DECODE, TEMPER_CPU_KERNELS_BEST };
  static const int types[] = { TEMPER_TYPE_Q8_0, TEMPER_TYPE_Q4_0, TEMPER_TYPE_Q4_1, TEMPER_TYPE_IQ4_XS, TEMPER_TYPE_Q4_K,
                               TEMPER_TYPE_Q5_K, TEMPER_TYPE_F32 };
  const int64_t in = 2048, out = 101;

  for (gsize ch = 0; ch < G_N_ELEMENTS (choices); ch++)
    for (gsize ty = 0; ty < G_N_ELEMENTS (types); ty++)
      {
        TemperBackend *b1 = temper_cpu_backend_new (1, choices[ch]);
        TemperBackend *b3 = temper_cpu_backend_new (3, choices[ch]);
        size_t row_bytes = temper_type_row_bytes (types[ty], in);
        TemperBuffer *wb = temper_backend_buffer_alloc (b1, row_bytes * out, TEMPER_BUFFER_WEIGHTS, NULL);
        TemperBuffer *xb = temper_backend_buffer_alloc (b1, sizeof (float) * in, TEMPER_BUFFER_ACTIVATIONS, NULL);
        TemperBuffer *y1b = temper_backend_buffer_alloc (b1, sizeof (float) * out, TEMPER_BUFFER_ACTIVATIONS, NULL);
        TemperBuffer *y3b = temper_backend_buffer_alloc (b3, sizeof (float) * out, TEMPER_BUFFER_ACTIVATIONS, NULL);
        TemperBTensor w = temper_btensor (wb, 0, types[ty], in, out);
        TemperBTensor x = temper_btensor (xb, 0, TEMPER_TYPE_F32, in, 1);
        TemperBTensor y1 = temper_btensor (y1b, 0, TEMPER_TYPE_F32, out, 1);
        TemperBTensor y3 = temper_btensor (y3b, 0, TEMPER_TYPE_F32, out, 1);
        g_autofree float *row = g_new (float, in);
        guint64 rng = 7;

        for (int64_t r = 0; r < out; r++)
          {
            for (int64_t i = 0; i < in; i++)
              {
                rng = rng * 6364136223846793005ull + 1442695040888963407ull;
                row[i] = (float) ((double) (rng >> 11) / 9007199254740992.0 * 2.0 - 1.0);
              }
            if (types[ty] == TEMPER_TYPE_F32)
              memcpy (wb->host + r * row_bytes, row, row_bytes);
            else if (types[ty] == TEMPER_TYPE_IQ4_XS || types[ty] == TEMPER_TYPE_Q4_K ||
                     types[ty] == TEMPER_TYPE_Q5_K)
              {
                /* No quantiser for these: random codes and scale bits,
                 * each super-block's fp16 factors (d, and dmin of the K
                 * types) sane numbers. */
                size_t block = temper_type_block_bytes (types[ty]);
                guint8 *p = wb->host + r * row_bytes;

                for (size_t i = 0; i < row_bytes; i++)
                  {
                    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
                    p[i] = (guint8) (rng >> 56);
                  }
                for (size_t at = 0; at < row_bytes; at += block)
                  {
                    guint16 d = temper_f32_to_f16 (0.01f + 0.001f * (float) (at / block));
                    guint16 dmin = temper_f32_to_f16 (0.02f);

                    memcpy (p + at, &d, 2);
                    if (types[ty] != TEMPER_TYPE_IQ4_XS)
                      memcpy (p + at + 2, &dmin, 2);
                  }
              }
            else
              g_assert_true (temper_quantize_row (types[ty], row, in, wb->host + r * row_bytes));
          }
        for (int64_t i = 0; i < in; i++)
          ((float *) xb->host)[i] = (float) ((i * 7919) % 2001 - 1000) * 1e-3f;
        for (int64_t o = 0; o < out; o++)
          ((float *) y1b->host)[o] = ((float *) y3b->host)[o] = (float) o;
        for (int rep = 0; rep < 20; rep++)
          {
            b1->ops->matmul (b1, &y1, &x, &w, NULL, TRUE);
            b3->ops->matmul (b3, &y3, &x, &w, NULL, TRUE);
          }
        for (int64_t o = 0; o < out; o++)
          if (((float *) y1b->host)[o] != ((float *) y3b->host)[o])
            g_error ("%s, kernels %d: row %" G_GINT64_FORMAT " is %g over 3 threads, %g over 1",
                     temper_type_name (types[ty]), (int) choices[ch], o,
                     ((float *) y3b->host)[o], ((float *) y1b->host)[o]);
        temper_backend_buffer_free (b1, wb);
        temper_backend_buffer_free (b1, xb);
        temper_backend_buffer_free (b1, y1b);
        temper_backend_buffer_free (b3, y3b);
        temper_backend_free (b1);
        temper_backend_free (b3);
      }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/cpu/rmsnorm", test_rmsnorm);
  g_test_add_func ("/cpu/matmul-gradient", test_matmul_gradient);
  g_test_add_func ("/cpu/gemm", test_gemm);
  g_test_add_func ("/cpu/rope", test_rope);
  g_test_add_func ("/cpu/attention", test_attention);
  g_test_add_func ("/cpu/attention-offset", test_attention_offset);
  g_test_add_func ("/cpu/swiglu", test_swiglu);
  g_test_add_func ("/cpu/cross-entropy", test_cross_entropy);
  g_test_add_func ("/cpu/cross-entropy-softcap", test_cross_entropy_softcap);
  g_test_add_func ("/cpu/cross-entropy-slices", test_cross_entropy_slices);
  g_test_add_func ("/cpu/cross-entropy-slices-softcap", test_cross_entropy_slices_softcap);
  g_test_add_func ("/cpu/cross-entropy-fast-slices", test_cross_entropy_fast_slices);
  g_test_add_func ("/cpu/cross-entropy-fast-rows", test_cross_entropy_fast_rows);
  g_test_add_func ("/cpu/fast-train-forward-exact", test_fast_train_forward_exact);
  g_test_add_func ("/cpu/adamw-and-vectors", test_adamw_and_vectors);
  g_test_add_func ("/cpu/pool-threads", test_pool_threads);
  g_test_add_func ("/cpu/pool-shared-chunks", test_pool_shared_chunks);
  g_test_add_func ("/cpu/decode-threads", test_decode_threads);
  return g_test_run ();
}
