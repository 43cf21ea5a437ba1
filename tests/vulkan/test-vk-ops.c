/* Every op of the Vulkan backend against the CPU backend (the reference),
 * on whatever Vulkan device exists — Mesa's lavapipe in CI — over shapes
 * with odd sizes and tensors at non-zero offsets, by normalized error
 * ‖vk − cpu‖ / ‖cpu‖.  Ops or types the Vulkan backend does not support are
 * reported as skipped, never passed.  The products by a weight (matmul,
 * matvec, gemm) are in test-vk-ops-matmul.c. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "vk-ops-test-util.h"

static void
test_dequantize (gconstpointer data)
{
  int type = GPOINTER_TO_INT (data);
  static const int64_t rows[] = { 1, 7, 33 };

  if (!need (TEMPER_OP_DEQUANTIZE, type))
    return;
  for (int i = 0; i < 3; i++)
    {
      int64_t cols = weight_cols (type, i);
      Pair w = pair_weight (type, cols, rows[i]);
      Pair out = pair_new (TEMPER_TYPE_F32, cols, rows[i], NULL);

      cpu->ops->dequantize (cpu, &out.c, &w.c);
      vk->ops->dequantize (vk, &out.v, &w.v);
      flush_both ();
      assert_close ("dequantize", &out, 1e-6);
      pair_free (&w);
      pair_free (&out);
      temper_backend_begin (cpu);
      temper_backend_begin (vk);
    }
  flush_both ();
}

static void
test_embedding (gconstpointer data)
{
  int type = GPOINTER_TO_INT (data);
  int64_t cols = weight_cols (type, 1), vocab = 33;
  gint32 tokens[9] = { 0, 32, 5, 5, 17, 1, 31, 8, 0 };
  Pair table, tok, out;

  if (!need (TEMPER_OP_EMBEDDING, type))
    return;
  table = pair_weight (type, cols, vocab);
  tok = pair_new (TEMPER_TYPE_I32, 9, 1, tokens);
  out = pair_new (TEMPER_TYPE_F32, cols, 9, NULL);
  cpu->ops->embedding (cpu, &out.c, &table.c, &tok.c);
  vk->ops->embedding (vk, &out.v, &table.v, &tok.v);
  flush_both ();
  assert_close ("embedding", &out, 1e-6);
  pair_free (&table);
  pair_free (&tok);
  pair_free (&out);
}

static void
test_rmsnorm (void)
{
  static const int64_t shapes[][2] = { { 576, 7 }, { 33, 1 }, { 1000, 33 } };

  if (!need (TEMPER_OP_RMSNORM, TEMPER_TYPE_F32) || !need (TEMPER_OP_RMSNORM_BACKWARD, TEMPER_TYPE_F32))
    return;
  for (int s = 0; s < 3; s++)
    {
      int64_t n = shapes[s][0], T = shapes[s][1];
      Pair x = pair_random (n, T, 2.0), w = pair_random (n, 1, 1.0);
      Pair y = pair_new (TEMPER_TYPE_F32, n, T, NULL), rstd = pair_new (TEMPER_TYPE_F32, T, 1, NULL);
      Pair dy = pair_random (n, T, 1.0), dx = pair_random (n, T, 1.0);

      cpu->ops->rmsnorm (cpu, &y.c, &rstd.c, &x.c, &w.c, 1e-5f);
      vk->ops->rmsnorm (vk, &y.v, &rstd.v, &x.v, &w.v, 1e-5f);
      cpu->ops->rmsnorm_backward (cpu, &dx.c, &dy.c, &x.c, &w.c, &rstd.c);
      vk->ops->rmsnorm_backward (vk, &dx.v, &dy.v, &x.v, &w.v, &rstd.v);
      flush_both ();
      assert_close ("rmsnorm", &y, 1e-5);
      assert_close ("rmsnorm rstd", &rstd, 1e-5);
      assert_close ("rmsnorm_backward", &dx, 1e-5);
      pair_free (&x); pair_free (&w); pair_free (&y); pair_free (&rstd);
      pair_free (&dy); pair_free (&dx);
      temper_backend_begin (cpu);
      temper_backend_begin (vk);
    }
  flush_both ();
}

static void
test_rope (void)
{
  static const int shapes[][4] = { { 3, 8, 5, 2 }, { 9, 64, 7, 0 }, { 2, 128, 33, 100 } };  /* heads, dim, seq_len, pos_offset */

  if (!need (TEMPER_OP_ROPE, TEMPER_TYPE_F32) || !need (TEMPER_OP_ROPE_BACKWARD, TEMPER_TYPE_F32))
    return;
  for (int s = 0; s < 3; s++)
    for (int layout = 0; layout < 2; layout++)
      {
        int nh = shapes[s][0], hd = shapes[s][1], seq = shapes[s][2], off = shapes[s][3];
        int64_t T = 2 * seq;
        Pair x = pair_random ((int64_t) nh * hd, T, 1.0), dx = pair_random ((int64_t) nh * hd, T, 1.0);

        cpu->ops->rope (cpu, &x.c, nh, hd, seq, off, 10000.0f, layout);
        vk->ops->rope (vk, &x.v, nh, hd, seq, off, 10000.0f, layout);
        cpu->ops->rope_backward (cpu, &dx.c, nh, hd, seq, off, 10000.0f, layout);
        vk->ops->rope_backward (vk, &dx.v, nh, hd, seq, off, 10000.0f, layout);
        flush_both ();
        assert_close (layout == TEMPER_ROPE_HALVES ? "rope halves" : "rope interleaved", &x, 1e-5);
        assert_close ("rope_backward", &dx, 1e-5);
        pair_free (&x);
        pair_free (&dx);
        temper_backend_begin (cpu);
        temper_backend_begin (vk);
      }
  flush_both ();
}

static void
run_attention (const TemperAttentionParams *p)
{
  int64_t qw = (int64_t) p->n_head * p->head_dim, kw = (int64_t) p->n_head_kv * p->head_dim;
  int64_t nq = (int64_t) p->n_seq * p->n_query, nk = (int64_t) p->n_seq * p->n_key;
  Pair q = pair_random (qw, nq, 1.0), k = pair_random (kw, nk, 1.0), v = pair_random (kw, nk, 1.0);
  Pair out = pair_new (TEMPER_TYPE_F32, qw, nq, NULL), lse = pair_new (TEMPER_TYPE_F32, p->n_head, nq, NULL);
  Pair dout = pair_random (qw, nq, 1.0);
  Pair dq = pair_random (qw, nq, 1.0), dk = pair_random (kw, nk, 1.0), dv = pair_random (kw, nk, 1.0);
  g_autofree char *what = g_strdup_printf ("attention heads %d/%d dim %d seq %d×%d keys %d offset %d "
                                           "window %d softcap %g",
                                           p->n_head, p->n_head_kv, p->head_dim, p->n_seq,
                                           p->n_query, p->n_key, p->q_offset, p->window,
                                           (double) p->softcap);

  cpu->ops->attention (cpu, &out.c, &lse.c, &q.c, &k.c, &v.c, p);
  vk->ops->attention (vk, &out.v, &lse.v, &q.v, &k.v, &v.v, p);
  /* The backward runs from the CPU's forward results on both sides. */
  flush_both ();
  {
    g_autofree float *o = g_malloc (out.bytes);
    g_autofree float *l = g_malloc (lse.bytes);
    g_assert_true (temper_backend_download (cpu, &out.c, o, NULL));
    g_assert_true (temper_backend_download (cpu, &lse.c, l, NULL));
    assert_close (what, &out, 1e-5);
    assert_close ("attention lse", &lse, 1e-5);
    g_assert_true (temper_backend_upload (vk, &out.v, o, NULL));
    g_assert_true (temper_backend_upload (vk, &lse.v, l, NULL));
  }
  temper_backend_begin (cpu);
  temper_backend_begin (vk);
  cpu->ops->attention_backward (cpu, &dq.c, &dk.c, &dv.c, &dout.c, &out.c, &lse.c, &q.c, &k.c, &v.c, p);
  vk->ops->attention_backward (vk, &dq.v, &dk.v, &dv.v, &dout.v, &out.v, &lse.v, &q.v, &k.v, &v.v, p);
  flush_both ();
  assert_close ("attention_backward dq", &dq, 1e-5);
  assert_close ("attention_backward dk", &dk, 1e-5);
  assert_close ("attention_backward dv", &dv, 1e-5);
  pair_free (&q); pair_free (&k); pair_free (&v); pair_free (&out); pair_free (&lse);
  pair_free (&dout); pair_free (&dq); pair_free (&dk); pair_free (&dv);
}

static void
test_attention (void)
{
  const TemperAttentionParams cases[] = {
    /* heads, kv heads, dim, seqs, queries, keys, q_offset, scale */
    { 6, 2, 16, 2, 7, 7, 0, 0.25f },
    { 9, 3, 64, 1, 33, 33, 0, 0.125f },
    { 4, 1, 8, 2, 5, 9, 4, 0.35f },        /* queries after a cached prefix */
    { 2, 2, 32, 1, 1, 200, 199, 0.18f },   /* generation: one query, many keys */
    { 2, 1, 16, 1, 140, 140, 0, 0.25f },   /* more keys than one block */
  };

  if (!need (TEMPER_OP_ATTENTION, TEMPER_TYPE_F32) || !need (TEMPER_OP_ATTENTION_BACKWARD, TEMPER_TYPE_F32))
    return;
  flush_both ();
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      temper_backend_begin (cpu);
      temper_backend_begin (vk);
      run_attention (&cases[i]);
    }
}

/* Sliding windows and soft-capped scores (Mistral, Gemma 2), forward and
 * backward against the CPU. */
static void
test_attention_window (void)
{
  const TemperAttentionParams cases[] = {
    { .n_head = 6, .n_head_kv = 2, .head_dim = 16, .n_seq = 2, .n_query = 40, .n_key = 40,
      .scale = 0.25f, .window = 7 },
    { .n_head = 4, .n_head_kv = 1, .head_dim = 8, .n_seq = 1, .n_query = 6, .n_key = 30,
      .q_offset = 24, .scale = 0.35f, .window = 10, .softcap = 2.0f },   /* after a cached prefix */
    { .n_head = 2, .n_head_kv = 2, .head_dim = 32, .n_seq = 1, .n_query = 1, .n_key = 200,
      .q_offset = 199, .scale = 0.18f, .window = 150 },                    /* decoding past the window */
    { .n_head = 2, .n_head_kv = 1, .head_dim = 16, .n_seq = 1, .n_query = 140, .n_key = 140,
      .scale = 0.5f, .softcap = 1.5f },                                    /* capped, no window */
    { .n_head = 2, .n_head_kv = 1, .head_dim = 16, .n_seq = 2, .n_query = 300, .n_key = 300,
      .scale = 0.25f, .window = 130, .softcap = 3.0f },                    /* windows over block edges */
  };

  if (!need (TEMPER_OP_ATTENTION_WINDOW, TEMPER_TYPE_F32))
    return;
  flush_both ();
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      temper_backend_begin (cpu);
      temper_backend_begin (vk);
      run_attention (&cases[i]);
    }
}

/* SwiGLU, or with @data GeGLU (Gemma), and their backwards. */
static void
test_gated (gconstpointer data)
{
  static const int64_t shapes[][2] = { { 1536, 7 }, { 33, 1 }, { 129, 33 } };
  gboolean gelu = data != NULL;

  if (gelu ? !need (TEMPER_OP_GEGLU, TEMPER_TYPE_F32)
           : !need (TEMPER_OP_SWIGLU, TEMPER_TYPE_F32) || !need (TEMPER_OP_SWIGLU_BACKWARD, TEMPER_TYPE_F32))
    return;
  for (int s = 0; s < 3; s++)
    {
      int64_t n = shapes[s][0], T = shapes[s][1];
      Pair g = pair_random (n, T, 4.0), u = pair_random (n, T, 1.0), h = pair_new (TEMPER_TYPE_F32, n, T, NULL);
      Pair dh = pair_random (n, T, 1.0), dg = pair_random (n, T, 1.0), du = pair_random (n, T, 1.0);

      if (gelu)
        {
          cpu->ops->geglu (cpu, &h.c, &g.c, &u.c);
          vk->ops->geglu (vk, &h.v, &g.v, &u.v);
          cpu->ops->geglu_backward (cpu, &dg.c, &du.c, &dh.c, &g.c, &u.c);
          vk->ops->geglu_backward (vk, &dg.v, &du.v, &dh.v, &g.v, &u.v);
        }
      else
        {
          cpu->ops->swiglu (cpu, &h.c, &g.c, &u.c);
          vk->ops->swiglu (vk, &h.v, &g.v, &u.v);
          cpu->ops->swiglu_backward (cpu, &dg.c, &du.c, &dh.c, &g.c, &u.c);
          vk->ops->swiglu_backward (vk, &dg.v, &du.v, &dh.v, &g.v, &u.v);
        }
      flush_both ();
      assert_close (gelu ? "geglu" : "swiglu", &h, 1e-5);
      assert_close (gelu ? "geglu_backward dgate" : "swiglu_backward dgate", &dg, 1e-5);
      assert_close (gelu ? "geglu_backward dup" : "swiglu_backward dup", &du, 1e-5);
      pair_free (&g); pair_free (&u); pair_free (&h); pair_free (&dh); pair_free (&dg); pair_free (&du);
      temper_backend_begin (cpu);
      temper_backend_begin (vk);
    }
  flush_both ();
}

static void
test_elementwise (void)
{
  if (!need (TEMPER_OP_ADD, TEMPER_TYPE_F32) || !need (TEMPER_OP_SCALE, TEMPER_TYPE_F32)
      || !need (TEMPER_OP_ZERO, TEMPER_TYPE_F32))
    return;
  for (int64_t n = 1; n <= 70000; n = n * 37 + 3)
    {
      Pair a = pair_random (n, 1, 1.0), b = pair_random (n, 1, 1.0), out = pair_new (TEMPER_TYPE_F32, n, 1, NULL);
      Pair z = pair_random (n, 1, 1.0);

      cpu->ops->add (cpu, &out.c, &a.c, &b.c);
      vk->ops->add (vk, &out.v, &a.v, &b.v);
      cpu->ops->add (cpu, &a.c, &a.c, &out.c);   /* aliasing: the residual add */
      vk->ops->add (vk, &a.v, &a.v, &out.v);
      cpu->ops->scale (cpu, &b.c, -0.37f);
      vk->ops->scale (vk, &b.v, -0.37f);
      if (temper_backend_supports_op (vk, TEMPER_OP_SOFTCAP, TEMPER_TYPE_F32))
        {
          /* Gemma 2's final logits: values of ±1 against a cap of 0.6. */
          cpu->ops->softcap (cpu, &out.c, 0.6f);
          vk->ops->softcap (vk, &out.v, 0.6f);
        }
      cpu->ops->zero (cpu, &z.c);
      vk->ops->zero (vk, &z.v);
      flush_both ();
      assert_close ("add (then softcap)", &out, 1e-6);
      assert_close ("add in place", &a, 1e-6);
      assert_close ("scale", &b, 1e-6);
      {
        g_autofree float *zv = g_malloc (z.bytes);
        g_assert_true (temper_backend_download (vk, &z.v, zv, NULL));
        for (int64_t i = 0; i < n; i++)
          g_assert_cmpfloat (zv[i], ==, 0.0f);
      }
      pair_free (&a); pair_free (&b); pair_free (&out); pair_free (&z);
      temper_backend_begin (cpu);
      temper_backend_begin (vk);
    }
  flush_both ();
}

/* Downloads both sides of @p and checks they are equal bit for bit. */
static void
assert_identical (const char *what, Pair *p)
{
  g_autofree guint8 *a = g_malloc (p->bytes);
  g_autofree guint8 *b = g_malloc (p->bytes);

  g_assert_true (temper_backend_download (vk, &p->v, a, NULL));
  g_assert_true (temper_backend_download (cpu, &p->c, b, NULL));
  g_test_message ("%s: %zu values identical", what, p->bytes / 4);
  g_assert_cmpmem (a, p->bytes, b, p->bytes);
}

/* LoRA dropout as training uses it: forward out of place on the layer input,
 * and the backward's in-place mask on dh·A, then dx += it.  The masks must be
 * identical to the CPU's, not merely close: the kept values and the zeros. */
static void
test_dropout (void)
{
  static const int64_t shapes[][2] = { { 33, 7 }, { 129, 33 }, { 1536, 61 }, { 1, 1 } };
  static const float rates[] = { 0.05f, 0.3f, 0.9f, 0.0f };

  if (!need (TEMPER_OP_DROPOUT, TEMPER_TYPE_F32) || !need (TEMPER_OP_GEMM, TEMPER_TYPE_F32))
    return;
  for (int s = 0; s < 4; s++)
    {
      int64_t n = shapes[s][0], T = shapes[s][1], r = 5;
      guint64 key = ((guint64) g_rand_int (rng) << 32) | g_rand_int (rng);
      Pair x = pair_random (n, T, 1.0), y = pair_new (TEMPER_TYPE_F32, n, T, NULL);
      Pair dh = pair_random (r, T, 1.0), a = pair_random (n, r, 1.0);
      Pair scratch = pair_new (TEMPER_TYPE_F32, n, T, NULL), dx = pair_random (n, T, 1.0);
      g_autofree float *out = g_new (float, n * T);
      int64_t dropped = 0;

      cpu->ops->dropout (cpu, &y.c, &x.c, rates[s], key);
      vk->ops->dropout (vk, &y.v, &x.v, rates[s], key);
      cpu->ops->gemm (cpu, &scratch.c, &dh.c, FALSE, &a.c, FALSE, 1.0f, 0.0f);
      vk->ops->gemm (vk, &scratch.v, &dh.v, FALSE, &a.v, FALSE, 1.0f, 0.0f);
      cpu->ops->dropout (cpu, &scratch.c, &scratch.c, rates[s], key);
      vk->ops->dropout (vk, &scratch.v, &scratch.v, rates[s], key);
      cpu->ops->add (cpu, &dx.c, &dx.c, &scratch.c);
      vk->ops->add (vk, &dx.v, &dx.v, &scratch.v);
      flush_both ();
      assert_identical ("dropout forward", &y);
      g_assert_true (temper_backend_download (vk, &y.v, out, NULL));
      for (int64_t i = 0; i < n * T; i++)
        dropped += out[i] == 0.0f;
      g_test_message ("p = %.2f: %" G_GINT64_FORMAT " of %" G_GINT64_FORMAT " dropped",
                      rates[s], dropped, n * T);
      if (n * T > 1000)
        g_assert_cmpint (dropped, >, 0);
      /* The backward's zeros are the forward's; its values come from a gemm
       * that may round differently, so they are compared by error. */
      {
        g_autofree float *back = g_new (float, n * T);

        g_assert_true (temper_backend_download (vk, &scratch.v, back, NULL));
        for (int64_t i = 0; i < n * T; i++)
          g_assert_cmpint (back[i] == 0.0f, ==, out[i] == 0.0f);
      }
      assert_close ("dropout backward (in place)", &scratch, 1e-5);
      assert_close ("dx += dropped dh·A", &dx, 1e-5);
      pair_free (&x); pair_free (&y); pair_free (&dh); pair_free (&a);
      pair_free (&scratch); pair_free (&dx);
      temper_backend_begin (cpu);
      temper_backend_begin (vk);
    }
  flush_both ();
}

static void
test_sum_squares (void)
{
  static const int64_t sizes[] = { 1, 7, 257, 100003 };

  if (!need (TEMPER_OP_SUM_SQUARES, TEMPER_TYPE_F32))
    return;
  for (guint s = 0; s < G_N_ELEMENTS (sizes); s++)
    {
      float start = 1.5f;
      Pair x = pair_random (sizes[s], 1, 1.0), out = pair_new (TEMPER_TYPE_F32, 1, 1, &start);

      cpu->ops->sum_squares (cpu, &out.c, &x.c);
      vk->ops->sum_squares (vk, &out.v, &x.v);
      cpu->ops->sum_squares (cpu, &out.c, &x.c);   /* += twice */
      vk->ops->sum_squares (vk, &out.v, &x.v);
      flush_both ();
      assert_close ("sum_squares", &out, 1e-5);
      pair_free (&x);
      pair_free (&out);
      temper_backend_begin (cpu);
      temper_backend_begin (vk);
    }
  flush_both ();
}

static void
test_adamw (void)
{
  if (!need (TEMPER_OP_ADAMW, TEMPER_TYPE_F32))
    return;
  for (int clip = 0; clip < 2; clip++)
    {
      int64_t n = 1000 + clip * 37;
      g_autofree float *v0 = random_f32 ((gsize) n, 1.0);
      Pair p = pair_random (n, 1, 1.0), g = pair_random (n, 1, 1.0), m = pair_random (n, 1, 0.1);
      Pair v, sumsq;
      float ss = 250.0f;   /* ‖g‖ ≈ 15.8 > max norm 1: clipping applies */
      TemperAdamWParams params = { .lr = 1e-2f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f,
                                   .weight_decay = 0.01f, .step = 3,
                                   .max_grad_norm = clip ? 1.0f : 0.0f };

      for (int64_t i = 0; i < n; i++)
        v0[i] = fabsf (v0[i]) * 0.01f;
      v = pair_new (TEMPER_TYPE_F32, n, 1, v0);
      sumsq = pair_new (TEMPER_TYPE_F32, 1, 1, &ss);
      cpu->ops->adamw (cpu, &p.c, &g.c, &m.c, &v.c, clip ? &sumsq.c : NULL, &params);
      vk->ops->adamw (vk, &p.v, &g.v, &m.v, &v.v, clip ? &sumsq.v : NULL, &params);
      flush_both ();
      assert_close (clip ? "adamw, clipped" : "adamw", &p, 1e-6);
      assert_close ("adamw m", &m, 1e-6);
      assert_close ("adamw v", &v, 1e-6);
      pair_free (&p); pair_free (&g); pair_free (&m); pair_free (&v); pair_free (&sumsq);
      temper_backend_begin (cpu);
      temper_backend_begin (vk);
    }
  flush_both ();
}

static void
test_cross_entropy (gconstpointer data)
{
  int type = GPOINTER_TO_INT (data);
  int64_t n_embd = weight_cols (type, 1), vocab = 129, T = 7;
  gint32 targets[7] = { 3, -1, 128, 0, 64, -1, 7 };
  float zeros[2] = { 0, 0 };
  Pair w, x, tg, loss, dx, scratch_c;

  if (!need (TEMPER_OP_LM_HEAD_CROSS_ENTROPY, type))
    return;
  w = pair_weight (type, n_embd, vocab);
  /* x of norm about 1, so the logits stay near 10 even with the K-quant
   * test weights (up to ~100): larger logits saturate the softmax, whose
   * gradient then amplifies fp32 rounding of the logits past 1e-5. */
  x = pair_random (n_embd, T, 1.0 / sqrt ((double) n_embd));
  tg = pair_new (TEMPER_TYPE_I32, T, 1, targets);
  loss = pair_new (TEMPER_TYPE_F32, 2, 1, zeros);
  dx = pair_random (n_embd, T, 1.0);
  scratch_c = pair_new (TEMPER_TYPE_F32, vocab, 3, NULL);   /* 3 rows a chunk: 7 rows = 3 chunks */
  cpu->ops->lm_head_cross_entropy (cpu, &loss.c, &dx.c, &x.c, &w.c, &tg.c, &scratch_c.c, 0.2f);
  vk->ops->lm_head_cross_entropy (vk, &loss.v, &dx.v, &x.v, &w.v, &tg.v, &scratch_c.v, 0.2f);
  flush_both ();
  assert_close ("lm_head_cross_entropy loss", &loss, 1e-5);
  assert_close ("lm_head_cross_entropy dx", &dx, 1e-5);
  pair_free (&w); pair_free (&x); pair_free (&tg); pair_free (&loss); pair_free (&dx);
  pair_free (&scratch_c);
}

/* A step of many ops is one submission. */
static void
test_one_submit_per_step (void)
{
  guint before;
  Pair x, w, y;

  if (!need (TEMPER_OP_MATMUL, TEMPER_TYPE_Q4_1))
    return;
  flush_both ();
  x = pair_random (64, 5, 1.0);
  w = pair_weight (TEMPER_TYPE_Q4_1, 64, 64);
  y = pair_new (TEMPER_TYPE_F32, 64, 5, NULL);
  before = temper_vk_backend_get_n_submits (vk);
  temper_backend_begin (cpu);
  temper_backend_begin (vk);
  for (int i = 0; i < 20; i++)
    {
      cpu->ops->matmul (cpu, &y.c, &x.c, &w.c, NULL, FALSE);
      vk->ops->matmul (vk, &y.v, &x.v, &w.v, NULL, FALSE);
      cpu->ops->add (cpu, &x.c, &x.c, &y.c);
      vk->ops->add (vk, &x.v, &x.v, &y.v);
      cpu->ops->scale (cpu, &x.c, 0.1f);
      vk->ops->scale (vk, &x.v, 0.1f);
    }
  flush_both ();
  g_assert_cmpuint (temper_vk_backend_get_n_submits (vk), ==, before + 1);
  /* 60 dependent ops in one command buffer: the barriers order them. */
  assert_close ("20 chained matmul + add + scale", &x, 1e-5);
  pair_free (&x); pair_free (&w); pair_free (&y);
}

int
main (int argc, char **argv)
{
  int status;

  /* meson runs the reducing ops a second time with the shared-memory
   * reductions, which devices without subgroup arithmetic use. */
  vk_ops_test_init (&argc, &argv);

  add_weight_tests ("dequantize", test_dequantize);
  add_weight_tests ("embedding", test_embedding);
  add_weight_tests ("lm_head_cross_entropy", test_cross_entropy);
  g_test_add_func ("/vulkan/ops/rmsnorm", test_rmsnorm);
  g_test_add_func ("/vulkan/ops/rope", test_rope);
  g_test_add_func ("/vulkan/ops/attention", test_attention);
  g_test_add_func ("/vulkan/ops/attention-window-softcap", test_attention_window);
  g_test_add_data_func ("/vulkan/ops/swiglu", NULL, test_gated);
  g_test_add_data_func ("/vulkan/ops/geglu", "geglu", test_gated);
  g_test_add_func ("/vulkan/ops/add-scale-zero", test_elementwise);
  g_test_add_func ("/vulkan/ops/dropout", test_dropout);
  g_test_add_func ("/vulkan/ops/sum_squares", test_sum_squares);
  g_test_add_func ("/vulkan/ops/adamw", test_adamw);
  g_test_add_func ("/vulkan/step/one-submit", test_one_submit_per_step);

  status = g_test_run ();
  vk_ops_test_finish ();
  return status;
}
