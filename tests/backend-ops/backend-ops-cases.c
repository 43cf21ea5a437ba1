/* SPDX-License-Identifier: MIT */
/* backend-ops-cases.c — the op cases that read no weight: norms, rotary
 * embeddings, attention, activations, element-wise ops, dropout, the
 * optimizer and the family ops.  Shapes are odd where the op allows (not
 * multiples of any block, tile or workgroup size), with the shapes the
 * training of the demo model uses among them.  Each case's step has begun
 * on both sides; the harness flushes and checks the sentinels after it. */
#include "config.h"

#include <math.h>

#include "backend-ops.h"

/* Flushes the step, then begins the next one. */
static void
step (void)
{
  flush_both ();
  begin_both ();
}

static void
case_rmsnorm (int type)
{
  static const int64_t shapes[][2] = { { 576, 7 }, { 33, 1 }, { 1000, 33 }, { 576, 19 } };

  for (guint s = 0; s < G_N_ELEMENTS (shapes); s++)
    {
      int64_t n = shapes[s][0], T = shapes[s][1];
      Pair *x = pair_random (n, T, 2.0), *w = pair_random (n, 1, 1.0);
      Pair *y = pair_new (TEMPER_TYPE_F32, n, T, NULL), *rstd = pair_new (TEMPER_TYPE_F32, T, 1, NULL);
      Pair *dy = pair_random (n, T, 1.0), *dx = pair_random (n, T, 1.0);   /* backward adds into it */

      FOR_SIDES (i)
        {
          OPS (i)->rmsnorm (sides[i], &y->t[i], &rstd->t[i], &x->t[i], &w->t[i], 1e-5f);
          OPS (i)->rmsnorm_backward (sides[i], &dx->t[i], &dy->t[i], &x->t[i], &w->t[i], &rstd->t[i]);
        }
      step ();
      check_close ("rmsnorm", y, 1e-5);
      check_close ("rmsnorm rstd", rstd, 1e-5);
      check_close ("rmsnorm_backward", dx, 1e-5);
    }
}

static void
case_rope (int type)
{
  /* heads, head dim, sequence length, first position, theta, rows */
  static const struct { int nh, hd, seq, off; float theta; int rows; } shapes[] = {
    { 3, 8, 5, 2, 1e4f, 10 }, { 9, 64, 7, 0, 1e4f, 14 }, { 2, 128, 33, 100, 1e4f, 66 },
    { 3, 64, 10, 500, 1e5f, 20 },
    /* Enough positions for the CPU to share them among its threads, the
     * last sequence cut short. */
    { 2, 64, 30, 0, 1e4f, 75 },
  };

  for (guint s = 0; s < G_N_ELEMENTS (shapes); s++)
    for (int layout = 0; layout < 2; layout++)
      {
        int nh = shapes[s].nh, hd = shapes[s].hd, seq = shapes[s].seq, off = shapes[s].off;
        Pair *x = pair_random ((int64_t) nh * hd, shapes[s].rows, 1.0);
        Pair *dx = pair_random ((int64_t) nh * hd, shapes[s].rows, 1.0);
        /* An fp32 angle pos·θ^(−2i/d) is off by up to pos·2^−24 radians,
         * whoever computes it: far positions get that much room. */
        double tol = MAX (1e-5, 4e-8 * (off + seq));

        FOR_SIDES (i)
          {
            OPS (i)->rope (sides[i], &x->t[i], nh, hd, seq, off, shapes[s].theta, layout);
            OPS (i)->rope_backward (sides[i], &dx->t[i], nh, hd, seq, off, shapes[s].theta, layout);
          }
        step ();
        check_close (layout == TEMPER_ROPE_HALVES ? "rope halves" : "rope interleaved", x, tol);
        check_close ("rope_backward", dx, tol);
      }
}

/* Forward, then the backward from the reference's forward results on both
 * sides, so that the backward's error is its own. */
static void
run_attention (const TemperAttentionParams *p)
{
  int64_t qw = (int64_t) p->n_head * p->head_dim, kw = (int64_t) p->n_head_kv * p->head_dim;
  int64_t nq = (int64_t) p->n_seq * p->n_query, nk = (int64_t) p->n_seq * p->n_key;
  Pair *q = pair_random (qw, nq, 1.0), *k = pair_random (kw, nk, 1.0), *v = pair_random (kw, nk, 1.0);
  Pair *out = pair_new (TEMPER_TYPE_F32, qw, nq, NULL), *lse = pair_new (TEMPER_TYPE_F32, p->n_head, nq, NULL);
  Pair *dout = pair_random (qw, nq, 1.0);
  Pair *dq = pair_random (qw, nq, 1.0), *dk = pair_random (kw, nk, 1.0), *dv = pair_random (kw, nk, 1.0);
  g_autofree char *what = g_strdup_printf ("attention heads %d/%d dim %d seq %d×%d keys %d offset %d "
                                           "window %d softcap %g", p->n_head, p->n_head_kv, p->head_dim,
                                           p->n_seq, p->n_query, p->n_key, p->q_offset, p->window,
                                           p->softcap);

  FOR_SIDES (i)
    OPS (i)->attention (sides[i], &out->t[i], &lse->t[i], &q->t[i], &k->t[i], &v->t[i], p);
  step ();
  check_close (what, out, 1e-5);
  check_close ("attention lse", lse, 1e-5);
  pair_sync (out);
  pair_sync (lse);
  FOR_SIDES (i)
    OPS (i)->attention_backward (sides[i], &dq->t[i], &dk->t[i], &dv->t[i], &dout->t[i], &out->t[i],
                                 &lse->t[i], &q->t[i], &k->t[i], &v->t[i], p);
  step ();
  check_close ("attention_backward dq", dq, 1e-5);
  check_close ("attention_backward dk", dk, 1e-5);
  check_close ("attention_backward dv", dv, 1e-5);
}

static void
case_attention (int type)
{
  const TemperAttentionParams cases[] = {
    /* heads, kv heads, dim, seqs, queries, keys, q_offset, scale */
    { 6, 2, 16, 2, 7, 7, 0, 0.25f, 0, 0 },
    { 9, 3, 64, 1, 33, 33, 0, 0.125f, 0, 0 },
    { 4, 1, 8, 2, 5, 9, 4, 0.35f, 0, 0 },         /* queries after a cached prefix */
    { 2, 2, 32, 1, 1, 200, 199, 0.18f, 0, 0 },    /* generation: one query, many keys */
    { 2, 1, 16, 1, 140, 140, 0, 0.25f, 0, 0 },    /* more keys than one block */
    { 6, 2, 64, 2, 11, 11, 0, 0.125f, 0, 0 },     /* the CUDA kernel's head size */
    { 6, 2, 64, 2, 11, 16, 5, 0.125f, 0, 0 },     /* … after 5 cached positions */
    /* The CPU's tiled form (48-row blocks): ragged last blocks, and many
     * queries after a cached prefix that is not a whole block. */
    { 9, 3, 64, 2, 130, 130, 0, 0.125f, 0, 0 },
    { 4, 2, 16, 1, 50, 90, 40, 0.25f, 0, 0 },
    /* The AVX-512 blocks' edges: a head size that is not a whole number of
     * 16-float vectors, and query/key blocks ragged against both the
     * 12-row and the 16-column register tile. */
    { 6, 2, 80, 2, 101, 101, 0, 0.11f, 0, 0 },
    { 3, 1, 24, 1, 61, 77, 16, 0.2f, 0, 0 },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    run_attention (&cases[i]);
}

/* Gemma 2's sliding window and soft-capped scores. */
static void
case_attention_window (int type)
{
  const TemperAttentionParams cases[] = {
    { 4, 2, 16, 2, 37, 37, 0, 0.25f, 8, 0 },
    { 4, 2, 16, 1, 5, 45, 40, 0.25f, 16, 0 },
    { 6, 3, 32, 2, 19, 19, 0, 0.18f, 0, 50.0f },
    { 2, 1, 16, 1, 70, 70, 0, 0.5f, 13, 20.0f },
    /* Windows that leave whole key blocks unseen, after a cached prefix. */
    { 4, 2, 16, 1, 60, 150, 90, 0.25f, 32, 0 },
    { 2, 2, 32, 2, 200, 200, 0, 0.25f, 50, 30.0f },
    /* A window inside and across blocks at the training head size. */
    { 6, 2, 64, 2, 150, 150, 0, 0.125f, 70, 0 },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    run_attention (&cases[i]);
}

static void
run_gated (gboolean gelu)
{
  static const int64_t shapes[][2] = { { 1536, 7 }, { 33, 1 }, { 129, 33 }, { 1536, 9 } };

  for (guint s = 0; s < G_N_ELEMENTS (shapes); s++)
    {
      int64_t n = shapes[s][0], T = shapes[s][1];
      Pair *g = pair_random (n, T, 4.0), *u = pair_random (n, T, 1.0), *h = pair_new (TEMPER_TYPE_F32, n, T, NULL);
      Pair *dh = pair_random (n, T, 1.0), *dg = pair_random (n, T, 1.0), *du = pair_random (n, T, 1.0);

      FOR_SIDES (i)
        if (gelu)
          {
            OPS (i)->geglu (sides[i], &h->t[i], &g->t[i], &u->t[i]);
            OPS (i)->geglu_backward (sides[i], &dg->t[i], &du->t[i], &dh->t[i], &g->t[i], &u->t[i]);
          }
        else
          {
            OPS (i)->swiglu (sides[i], &h->t[i], &g->t[i], &u->t[i]);
            OPS (i)->swiglu_backward (sides[i], &dg->t[i], &du->t[i], &dh->t[i], &g->t[i], &u->t[i]);
          }
      step ();
      check_close (gelu ? "geglu" : "swiglu", h, 1e-6);
      check_close (gelu ? "geglu_backward dgate" : "swiglu_backward dgate", dg, 1e-6);
      check_close (gelu ? "geglu_backward dup" : "swiglu_backward dup", du, 1e-6);
    }
}

static void
case_swiglu (int type)
{
  run_gated (FALSE);
}

static void
case_geglu (int type)
{
  run_gated (TRUE);
}

static void
case_add_scale_zero (int type)
{
  for (int64_t n = 1; n <= 70000; n = n * 37 + 3)
    for (int64_t rows = 1; rows <= 3; rows += 2)
      {
        g_autofree float *av = g_new (float, n * rows), *bv = g_new (float, n * rows);
        g_autofree float *sums = g_new (float, n * rows);
        Pair *a, *b, *out = pair_new (TEMPER_TYPE_F32, n, rows, NULL), *z = pair_random (n, rows, 1.0);
        g_autofree float *zeros = g_new (float, n * rows);

        for (int64_t i = 0; i < n * rows; i++)
          {
            av[i] = (float) ((i * 7919) % 1000) / 500.0f - 1.0f;
            bv[i] = (float) ((i * 104729) % 997) / 400.0f - 1.2f;
          }
        a = pair_new (TEMPER_TYPE_F32, n, rows, av);
        b = pair_new (TEMPER_TYPE_F32, n, rows, bv);

        FOR_SIDES (i)
          {
            OPS (i)->add (sides[i], &out->t[i], &a->t[i], &b->t[i]);
            OPS (i)->add (sides[i], &a->t[i], &a->t[i], &out->t[i]);   /* aliasing: the residual add */
            OPS (i)->scale (sides[i], &b->t[i], -0.37f);
            OPS (i)->zero (sides[i], &z->t[i]);
          }
        step ();
        /* The sum itself, not only the reference's: the CPU is the
         * reference and runs the same add. */
        g_assert_true (temper_backend_download (sides[DUT], &out->t[DUT], sums, NULL));
        for (int64_t i = 0; i < n * rows; i++)
          g_assert_cmpfloat (sums[i], ==, av[i] + bv[i]);
        check_close ("add", out, 1e-6);
        check_close ("add in place", a, 1e-6);
        check_close ("scale", b, 1e-6);
        g_assert_true (temper_backend_download (sides[DUT], &z->t[DUT], zeros, NULL));
        for (int64_t i = 0; i < n * rows; i++)
          g_assert_cmpfloat (zeros[i], ==, 0.0f);
      }
}

static void
case_sum_squares (int type)
{
  static const int64_t sizes[] = { 1, 7, 257, 3000, 100003 };

  for (guint s = 0; s < G_N_ELEMENTS (sizes); s++)
    {
      float start = sizes[s] == 3000 ? 0.0f : 1.5f;   /* += onto a value, and onto zero */
      Pair *x = pair_random (sizes[s], 1, 1.0), *out = pair_new (TEMPER_TYPE_F32, 1, 1, &start);

      FOR_SIDES (i)
        {
          OPS (i)->sum_squares (sides[i], &out->t[i], &x->t[i]);
          OPS (i)->sum_squares (sides[i], &out->t[i], &x->t[i]);   /* += twice */
        }
      step ();
      check_close ("sum_squares", out, 1e-5);
    }
}

static void
case_adamw (int type)
{
  for (int clip = 0; clip < 2; clip++)
    {
      int64_t n = 1000 + clip * 37;
      g_autofree float *v0 = random_f32 ((gsize) n, 1.0);
      Pair *p = pair_random (n, 1, 1.0), *g = pair_random (n, 1, 1.0), *m = pair_random (n, 1, 0.1);
      Pair *v, *sumsq;
      float ss = 250.0f;   /* ‖g‖ ≈ 15.8 > max norm 1: clipping applies */
      TemperAdamWParams params = { .lr = 1e-2f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f,
                                   .weight_decay = 0.01f, .step = 3,
                                   .max_grad_norm = clip ? 1.0f : 0.0f };

      for (int64_t i = 0; i < n; i++)
        v0[i] = fabsf (v0[i]) * 0.01f;
      v = pair_new (TEMPER_TYPE_F32, n, 1, v0);
      sumsq = pair_new (TEMPER_TYPE_F32, 1, 1, &ss);
      FOR_SIDES (i)
        OPS (i)->adamw (sides[i], &p->t[i], &g->t[i], &m->t[i], &v->t[i], clip ? &sumsq->t[i] : NULL, &params);
      step ();
      check_close (clip ? "adamw, clipped" : "adamw", p, 1e-6);
      check_close ("adamw m", m, 1e-6);
      check_close ("adamw v", v, 1e-6);
    }
}

/* The optimizer as a step runs it: the norm summed on the device, read by
 * adamw from there, then the vector ops on the results. */
static void
case_optimizer_step (int type)
{
  static const float max_norms[] = { 0.0f, 0.5f };

  for (guint c = 0; c < G_N_ELEMENTS (max_norms); c++)
    {
      Pair *param = pair_random (1000, 3, 1.0), *grad = pair_random (1000, 3, 0.1);
      Pair *m = pair_random (1000, 3, 0.01), *v = pair_new (TEMPER_TYPE_F32, 1000, 3, NULL);
      Pair *sumsq = pair_new (TEMPER_TYPE_F32, 1, 1, NULL);
      Pair *a = pair_random (1000, 3, 1.0), *sum = pair_new (TEMPER_TYPE_F32, 1000, 3, NULL);
      TemperAdamWParams params = { .lr = 1e-3f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f,
                                   .weight_decay = 0.01f, .step = 3, .max_grad_norm = max_norms[c] };

      FOR_SIDES (i)
        {
          OPS (i)->sum_squares (sides[i], &sumsq->t[i], &grad->t[i]);
          OPS (i)->adamw (sides[i], &param->t[i], &grad->t[i], &m->t[i], &v->t[i], &sumsq->t[i], &params);
          OPS (i)->add (sides[i], &sum->t[i], &a->t[i], &param->t[i]);
          OPS (i)->scale (sides[i], &a->t[i], -3.0f);
        }
      step ();
      check_close ("sum of squares", sumsq, 1e-5);
      check_close ("adamw parameters", param, 1e-6);
      check_close ("adamw first moment", m, 1e-6);
      check_close ("adamw second moment", v, 1e-6);
      check_close ("add", sum, 1e-6);
      check_close ("scale", a, 1e-6);
    }
}

/* Dropout out of place and in place: the masks and the kept values must
 * equal the CPU's bit for bit (a backward regenerates the forward's mask). */
static void
case_dropout (int type)
{
  static const int64_t shapes[][2] = { { 33, 7 }, { 1536, 61 }, { 4096, 700 }, { 1, 1 } };
  static const float rates[] = { 0.05f, 0.3f, 0.9f, 0.0f };

  for (guint s = 0; s < G_N_ELEMENTS (shapes); s++)
    {
      int64_t n = shapes[s][0] * shapes[s][1];
      Pair *x = pair_random (shapes[s][0], shapes[s][1], 1.0);
      Pair *y = pair_new (TEMPER_TYPE_F32, shapes[s][0], shapes[s][1], NULL);
      Pair *inplace = pair_random (shapes[s][0], shapes[s][1], 1.0);
      guint64 key = 0x9d3c5a7e12345678ull * (s + 1);
      g_autofree float *out = g_new (float, n);
      int64_t dropped = 0;

      FOR_SIDES (i)
        {
          OPS (i)->dropout (sides[i], &y->t[i], &x->t[i], rates[s], key);
          OPS (i)->dropout (sides[i], &inplace->t[i], &inplace->t[i], rates[s], key);
        }
      step ();
      check_identical ("dropout", y);
      check_identical ("dropout in place", inplace);
      g_assert_true (temper_backend_download (sides[DUT], &y->t[DUT], out, NULL));
      for (int64_t i = 0; i < n; i++)
        dropped += out[i] == 0.0f;
      g_test_message ("p = %.2f: %" G_GINT64_FORMAT " of %" G_GINT64_FORMAT " dropped", rates[s], dropped, n);
      if (n > 1000)
        g_assert_cmpint (dropped, >, 0);
    }
}

/* LoRA dropout as training's backward uses it: dh·A formed by gemm, the
 * mask applied in place, then dx += it.  The zeros are the forward's; the
 * values come from a gemm that may round differently, so they are
 * compared by error. */
static void
case_dropout_lora_backward (int type)
{
  static const int64_t shapes[][2] = { { 33, 7 }, { 129, 33 }, { 1536, 61 }, { 1, 1 } };
  static const float rates[] = { 0.05f, 0.3f, 0.9f, 0.0f };

  for (guint s = 0; s < G_N_ELEMENTS (shapes); s++)
    {
      int64_t n = shapes[s][0], T = shapes[s][1], r = 5;
      guint64 key = ((guint64) g_rand_int (rng) << 32) | g_rand_int (rng);
      Pair *x = pair_random (n, T, 1.0), *y = pair_new (TEMPER_TYPE_F32, n, T, NULL);
      Pair *dh = pair_random (r, T, 1.0), *a = pair_random (n, r, 1.0);
      Pair *scratch = pair_new (TEMPER_TYPE_F32, n, T, NULL), *dx = pair_random (n, T, 1.0);
      g_autofree float *forward = g_new (float, n * T);
      g_autofree float *back = g_new (float, n * T);

      FOR_SIDES (i)
        {
          OPS (i)->dropout (sides[i], &y->t[i], &x->t[i], rates[s], key);
          OPS (i)->gemm (sides[i], &scratch->t[i], &dh->t[i], FALSE, &a->t[i], FALSE, 1.0f, 0.0f);
          OPS (i)->dropout (sides[i], &scratch->t[i], &scratch->t[i], rates[s], key);
          OPS (i)->add (sides[i], &dx->t[i], &dx->t[i], &scratch->t[i]);
        }
      step ();
      check_identical ("dropout forward", y);
      g_assert_true (temper_backend_download (sides[DUT], &y->t[DUT], forward, NULL));
      g_assert_true (temper_backend_download (sides[DUT], &scratch->t[DUT], back, NULL));
      for (int64_t i = 0; i < n * T; i++)
        g_assert_cmpint (back[i] == 0.0f, ==, forward[i] == 0.0f);
      check_close ("dropout backward (in place)", scratch, 1e-5);
      check_close ("dx += dropped dh·A", dx, 1e-5);
    }
}

/* RoPE from a frequency table: llama3-style factors, partial rotary (fewer
 * pairs than head_dim / 2) and LongRoPE's mscale. */
static void
case_rope_table (int type)
{
  static const struct { int nh, hd, seq, off, pairs; float mscale; } shapes[] = {
    { 3, 8, 5, 2, 4, 1.0f }, { 4, 64, 7, 0, 16, 1.0f }, { 2, 128, 33, 100, 64, 1.19f }, { 5, 32, 9, 3, 11, 0.9f },
  };

  for (guint s = 0; s < G_N_ELEMENTS (shapes); s++)
    for (int layout = 0; layout < 2; layout++)
      {
        g_autofree float *inv_freq = g_new (float, shapes[s].pairs);
        TemperRopeTable table = { shapes[s].nh, shapes[s].hd, shapes[s].seq, shapes[s].off, layout,
                                  shapes[s].pairs, inv_freq, shapes[s].mscale };
        int64_t width = (int64_t) shapes[s].nh * shapes[s].hd, T = 2 * shapes[s].seq;
        Pair *x = pair_random (width, T, 1.0), *dx = pair_random (width, T, 1.0);

        for (int p = 0; p < shapes[s].pairs; p++)
          inv_freq[p] = powf (10000.0f, -2.0f * p / shapes[s].hd) / (p % 3 == 0 ? 8.0f : 1.0f);
        FOR_SIDES (i)
          {
            OPS (i)->rope_table (sides[i], &x->t[i], &table);
            OPS (i)->rope_table_backward (sides[i], &dx->t[i], &table);
          }
        step ();   /* the table lives until the flush */
        check_close ("rope_table", x, 1e-5);
        check_close ("rope_table_backward", dx, 1e-5);
      }
}

static void
case_softcap (int type)
{
  static const int64_t shapes[][2] = { { 1, 1 }, { 129, 7 }, { 49999, 2 } };

  for (guint s = 0; s < G_N_ELEMENTS (shapes); s++)
    {
      Pair *x = pair_random (shapes[s][0], shapes[s][1], 80.0);

      FOR_SIDES (i)
        OPS (i)->softcap (sides[i], &x->t[i], 30.0f);
      step ();
      check_close ("softcap", x, 1e-6);
    }
}

#define F32_CASE(name, func, ...) \
  { name, { __VA_ARGS__ }, sizeof ((TemperOp[]) { __VA_ARGS__ }) / sizeof (TemperOp), FALSE, 0, func }

const OpCase backend_ops_cases[] = {
  F32_CASE ("rmsnorm", case_rmsnorm, TEMPER_OP_RMSNORM, TEMPER_OP_RMSNORM_BACKWARD),
  F32_CASE ("rope", case_rope, TEMPER_OP_ROPE, TEMPER_OP_ROPE_BACKWARD),
  F32_CASE ("attention", case_attention, TEMPER_OP_ATTENTION, TEMPER_OP_ATTENTION_BACKWARD),
  F32_CASE ("swiglu", case_swiglu, TEMPER_OP_SWIGLU, TEMPER_OP_SWIGLU_BACKWARD),
  F32_CASE ("add-scale-zero", case_add_scale_zero, TEMPER_OP_ADD, TEMPER_OP_SCALE, TEMPER_OP_ZERO),
  F32_CASE ("sum_squares", case_sum_squares, TEMPER_OP_SUM_SQUARES),
  F32_CASE ("adamw", case_adamw, TEMPER_OP_ADAMW),
  F32_CASE ("optimizer-step", case_optimizer_step, TEMPER_OP_SUM_SQUARES, TEMPER_OP_ADAMW,
            TEMPER_OP_ADD, TEMPER_OP_SCALE),
  F32_CASE ("dropout", case_dropout, TEMPER_OP_DROPOUT),
  F32_CASE ("dropout-lora-backward", case_dropout_lora_backward, TEMPER_OP_DROPOUT, TEMPER_OP_GEMM,
            TEMPER_OP_ADD),
  F32_CASE ("rope_table", case_rope_table, TEMPER_OP_ROPE_TABLE),
  F32_CASE ("geglu", case_geglu, TEMPER_OP_GEGLU),
  F32_CASE ("attention_window", case_attention_window, TEMPER_OP_ATTENTION, TEMPER_OP_ATTENTION_BACKWARD,
            TEMPER_OP_ATTENTION_WINDOW),
  F32_CASE ("softcap", case_softcap, TEMPER_OP_SOFTCAP),
};
const guint backend_ops_n_cases = G_N_ELEMENTS (backend_ops_cases);
