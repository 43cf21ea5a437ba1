/* Every op of the Vulkan backend against the CPU backend (the reference),
 * on whatever Vulkan device exists — Mesa's lavapipe in CI — over shapes
 * with odd sizes and tensors at non-zero offsets, by normalized error
 * ‖vk − cpu‖ / ‖cpu‖.  Ops or types the Vulkan backend does not support are
 * reported as skipped, never passed. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "cpu/temper-cpu-backend.h"
#include "vulkan/temper-vk-backend.h"

static TemperBackend *cpu;
static TemperBackend *vk;
static char *no_device_reason;
static GRand *rng;

/* Tensors start this far into their buffers, so offsets are exercised. */
#define OFFSET 256

typedef struct {
  TemperBuffer *cpu_buf, *vk_buf;
  TemperBTensor c, v;
  size_t bytes;
} Pair;

static Pair
pair_new (int type, int64_t ne0, int64_t ne1, const void *data)
{
  Pair p = { 0 };
  g_autoptr (GError) error = NULL;

  p.bytes = temper_btensor_bytes (type, ne0, ne1);
  p.cpu_buf = temper_backend_buffer_alloc (cpu, OFFSET + p.bytes, TEMPER_BUFFER_ACTIVATIONS, &error);
  g_assert_no_error (error);
  p.vk_buf = temper_backend_buffer_alloc (vk, OFFSET + p.bytes, TEMPER_BUFFER_ACTIVATIONS, &error);
  g_assert_no_error (error);
  p.c = temper_btensor (p.cpu_buf, OFFSET, type, ne0, ne1);
  p.v = temper_btensor (p.vk_buf, OFFSET, type, ne0, ne1);
  if (data != NULL)
    {
      g_assert_true (temper_backend_upload (cpu, &p.c, data, &error));
      g_assert_no_error (error);
      g_assert_true (temper_backend_upload (vk, &p.v, data, &error));
      g_assert_no_error (error);
    }
  return p;
}

static void
pair_free (Pair *p)
{
  temper_backend_buffer_free (cpu, p->cpu_buf);
  temper_backend_buffer_free (vk, p->vk_buf);
}

static float *
random_f32 (gsize n, double scale)
{
  float *x = g_new (float, n);

  for (gsize i = 0; i < n; i++)
    x[i] = (float) (g_rand_double_range (rng, -1.0, 1.0) * scale);
  return x;
}

static Pair
pair_random (int64_t ne0, int64_t ne1, double scale)
{
  g_autofree float *x = random_f32 ((gsize) (ne0 * ne1), scale);
  return pair_new (TEMPER_TYPE_F32, ne0, ne1, x);
}

static void
put_f16 (guint8 *at, float v)
{
  guint16 h = temper_f32_to_f16 (v);
  memcpy (at, &h, 2);
}

/* Random bytes with every fp16 scale field set to a sane value, so blocks
 * decode to finite numbers of order one. */
static guint8 *
random_weight (int type, int64_t ne0, int64_t ne1)
{
  size_t bytes = temper_btensor_bytes (type, ne0, ne1);
  size_t block = temper_type_block_bytes (type);
  guint8 *w = g_malloc (bytes);

  for (size_t i = 0; i < bytes; i++)
    w[i] = (guint8) g_rand_int_range (rng, 0, 256);
  if (type == TEMPER_TYPE_F32)
    {
      for (size_t i = 0; i < bytes / 4; i++)
        ((float *) w)[i] = (float) g_rand_double_range (rng, -1.0, 1.0);
      return w;
    }
  for (size_t b = 0; b < bytes; b += block)
    {
      float d = (float) g_rand_double_range (rng, 0.002, 0.05);
      float m = (float) g_rand_double_range (rng, -0.3, 0.3);
      switch (type)
        {
        case TEMPER_TYPE_F16:
          put_f16 (w + b, (float) g_rand_double_range (rng, -1.0, 1.0));
          break;
        case TEMPER_TYPE_BF16:
          {
            guint16 h = temper_f32_to_bf16 ((float) g_rand_double_range (rng, -1.0, 1.0));
            memcpy (w + b, &h, 2);
          }
          break;
        case TEMPER_TYPE_Q4_0: case TEMPER_TYPE_Q5_0: case TEMPER_TYPE_Q8_0:
          put_f16 (w + b, d * 4);
          break;
        case TEMPER_TYPE_Q4_1: case TEMPER_TYPE_Q5_1: case TEMPER_TYPE_Q4_K: case TEMPER_TYPE_Q5_K:
          put_f16 (w + b, d);
          put_f16 (w + b + 2, m * 0.1f);
          break;
        case TEMPER_TYPE_Q6_K:
          put_f16 (w + b + 208, d * 0.1f);
          break;
        case TEMPER_TYPE_NF4:
          {
            float absmax = d * 8;   /* NF4's scale is an fp32 absmax */
            memcpy (w + b, &absmax, 4);
          }
          break;
        default:
          break;
        }
    }
  return w;
}

static Pair
pair_weight (int type, int64_t ne0, int64_t ne1)
{
  g_autofree guint8 *w = random_weight (type, ne0, ne1);
  return pair_new (type, ne0, ne1, w);
}

static void
flush_both (void)
{
  g_autoptr (GError) error = NULL;

  g_assert_true (temper_backend_flush (cpu, &error));
  g_assert_no_error (error);
  g_assert_true (temper_backend_flush (vk, &error));
  g_assert_no_error (error);
}

/* Downloads both sides of @p and checks ‖vk − cpu‖ / ‖cpu‖ <= tol. */
static void
assert_close (const char *what, Pair *p, double tol)
{
  size_t n = p->bytes / 4;
  g_autofree float *a = g_new (float, n);
  g_autofree float *b = g_new (float, n);
  g_autoptr (GError) error = NULL;
  double diff = 0, norm = 0, err;

  g_assert_true (temper_backend_download (vk, &p->v, a, &error));
  g_assert_no_error (error);
  g_assert_true (temper_backend_download (cpu, &p->c, b, &error));
  g_assert_no_error (error);
  for (size_t i = 0; i < n; i++)
    {
      g_assert_true (isfinite (a[i]));
      diff += ((double) a[i] - b[i]) * ((double) a[i] - b[i]);
      norm += (double) b[i] * b[i];
    }
  err = norm > 0 ? sqrt (diff / norm) : sqrt (diff);
  g_test_message ("%s: normalized error %.3g (tolerance %.1g, %zu values)", what, err, tol, n);
  if (!(err <= tol))
    g_error ("%s: normalized error %g exceeds %g", what, err, tol);
}

static gboolean
need (TemperOp op, int type)
{
  if (vk == NULL)
    {
      g_test_skip (no_device_reason);
      return FALSE;
    }
  if (!temper_backend_supports_op (vk, op, type))
    {
      g_autofree char *msg = g_strdup_printf ("unsupported: %s %s", temper_op_name (op),
                                              temper_type_name (type));
      g_test_skip (msg);
      return FALSE;
    }
  if (!temper_backend_supports_op (cpu, op, type))
    {
      g_autofree char *msg = g_strdup_printf ("no CPU reference: %s %s", temper_op_name (op),
                                              temper_type_name (type));
      g_test_skip (msg);
      return FALSE;
    }
  temper_backend_begin (cpu);
  temper_backend_begin (vk);
  return TRUE;
}

/* Shapes along ne[0] for a weight type: odd sizes where the type allows. */
static int64_t
weight_cols (int type, int i)
{
  size_t blk = temper_type_block_elems (type);
  static const int64_t odd[] = { 33, 129, 7 };
  static const int64_t k32[] = { 32, 96, 160 };
  static const int64_t k256[] = { 256, 512, 256 };

  if (blk == 1)
    return odd[i];
  return blk == 32 ? k32[i] : k256[i];
}

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

/* Products by a frozen weight, M (tokens) × N (outputs) × K (inputs): odd
 * sizes, none a multiple of the 16/32/64 tiles, one row (the tiled path
 * then takes the matvec shader), and rows of A scaled beyond float16's range
 * (3e5) and under its normal range (1e-7, like backward gradients), which
 * the cooperative-matrix shader must bring into range itself.  Outputs and
 * biases share the scale so neither hides the product's error. */
static const int64_t mm_tokens[] = { 1, 7, 70, 33, 130 };
static const int64_t mm_outs[] = { 33, 129, 65, 7, 97 };
static const double mm_scales[] = { 1.0, 1.0, 3e5, 1e-7, 1.0 };

/* The tiled path is fp32 throughout: only summation order differs from the
 * CPU, hence 1e-5.  The cooperative-matrix path rounds both inputs of every
 * product to float16 (unit roundoff u = 2^-11 ≈ 4.9e-4; quantized weights,
 * a float16 scale times a small integer, round too).  Those errors are
 * independent, so the normalized error of a sum is about u, not K·u; 4u =
 * 2e-3 leaves room while a wrong tile, index or scale gives errors near 1. */
#define TILED_TOL 1e-5
#define COOPMAT_TOL 2e-3

/* Selects the matmul path for the next ops; FALSE (test skipped) when the
 * device has no cooperative matrices. */
static gboolean
use_matmul_path (TemperVkMatmulPath path)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *why_not = NULL;

  if (path == TEMPER_VK_MATMUL_COOPMAT && !temper_vk_backend_has_coopmat (vk, &why_not))
    {
      /* run-with-driver.sh runs us on a driver that has them: there a skip
       * would hide a detection bug. */
      if (TEMPER_HAVE_VK_COOPMAT && g_getenv ("TEMPER_TEST_EXPECT_COOPMAT") != NULL)
        g_error ("%s", why_not);
      flush_both ();
      g_test_skip (why_not);
      return FALSE;
    }
  g_assert_true (temper_vk_backend_set_matmul_path (vk, path, &error));
  g_assert_no_error (error);
  return TRUE;
}

/* The matmul tests draw from their own random stream, so the data of every
 * later test stays the same whether or not the cooperative-matrix cases
 * run on this device. */
static GRand *
swap_rng (GRand *other)
{
  GRand *old = rng;

  rng = other;
  return old;
}

static void
run_matmul (int type, TemperVkMatmulPath path, double tol)
{
  GRand *shared_rng;

  if (!need (TEMPER_OP_MATMUL, type) || !use_matmul_path (path))
    return;
  shared_rng = swap_rng (g_rand_new_with_seed (20261124 + (guint32) type));
  for (guint i = 0; i < G_N_ELEMENTS (mm_tokens); i++)
    {
      int64_t in = weight_cols (type, (int) i % 3);
      double scale = mm_scales[i];
      Pair w = pair_weight (type, in, mm_outs[i]);
      Pair x = pair_random (in, mm_tokens[i], scale);
      Pair bias = pair_random (mm_outs[i], 1, scale);
      Pair y = pair_random (mm_outs[i], mm_tokens[i], scale);
      gboolean with_bias = i % 2 == 1, accumulate = i % 3 == 2;
      g_autofree char *what = g_strdup_printf ("matmul%s%s %" G_GINT64_FORMAT "x%" G_GINT64_FORMAT
                                               "x%" G_GINT64_FORMAT ", x scale %g",
                                               with_bias ? " + bias" : "",
                                               accumulate ? ", accumulate" : "",
                                               mm_tokens[i], mm_outs[i], in, scale);

      cpu->ops->matmul (cpu, &y.c, &x.c, &w.c, with_bias ? &bias.c : NULL, accumulate);
      vk->ops->matmul (vk, &y.v, &x.v, &w.v, with_bias ? &bias.v : NULL, accumulate);
      flush_both ();
      assert_close (what, &y, tol);
      pair_free (&w);
      pair_free (&x);
      pair_free (&bias);
      pair_free (&y);
      temper_backend_begin (cpu);
      temper_backend_begin (vk);
    }
  flush_both ();
  use_matmul_path (TEMPER_VK_MATMUL_AUTO);
  g_rand_free (swap_rng (shared_rng));
}

static void
run_matmul_backward_input (int type, TemperVkMatmulPath path, double tol)
{
  GRand *shared_rng;

  if (!need (TEMPER_OP_MATMUL_BACKWARD_INPUT, type) || !use_matmul_path (path))
    return;
  shared_rng = swap_rng (g_rand_new_with_seed (20261125 + (guint32) type));
  for (guint i = 0; i < G_N_ELEMENTS (mm_tokens); i++)
    {
      int64_t in = weight_cols (type, (int) i % 3);
      double scale = mm_scales[i];
      Pair w = pair_weight (type, in, mm_outs[i]);
      Pair dy = pair_random (mm_outs[i], mm_tokens[i], scale);
      Pair dx = pair_random (in, mm_tokens[i], scale);   /* += into existing values */
      g_autofree char *what = g_strdup_printf ("matmul_backward_input %" G_GINT64_FORMAT "x%"
                                               G_GINT64_FORMAT "x%" G_GINT64_FORMAT
                                               ", dy scale %g", mm_tokens[i], in,
                                               mm_outs[i], scale);

      cpu->ops->matmul_backward_input (cpu, &dx.c, &dy.c, &w.c);
      vk->ops->matmul_backward_input (vk, &dx.v, &dy.v, &w.v);
      flush_both ();
      assert_close (what, &dx, tol);
      pair_free (&w);
      pair_free (&dy);
      pair_free (&dx);
      temper_backend_begin (cpu);
      temper_backend_begin (vk);
    }
  flush_both ();
  use_matmul_path (TEMPER_VK_MATMUL_AUTO);
  g_rand_free (swap_rng (shared_rng));
}

static void
test_matmul (gconstpointer data)
{
  run_matmul (GPOINTER_TO_INT (data), TEMPER_VK_MATMUL_TILED, TILED_TOL);
}

static void
test_matmul_coopmat (gconstpointer data)
{
  run_matmul (GPOINTER_TO_INT (data), TEMPER_VK_MATMUL_COOPMAT, COOPMAT_TOL);
}

static void
test_matmul_backward_input (gconstpointer data)
{
  run_matmul_backward_input (GPOINTER_TO_INT (data), TEMPER_VK_MATMUL_TILED, TILED_TOL);
}

static void
test_matmul_backward_input_coopmat (gconstpointer data)
{
  run_matmul_backward_input (GPOINTER_TO_INT (data), TEMPER_VK_MATMUL_COOPMAT, COOPMAT_TOL);
}

static void
test_gemm (void)
{
  static const int64_t shapes[][3] = { { 7, 33, 129 }, { 1, 16, 5 }, { 33, 7, 64 } };  /* M, N, K */

  if (!need (TEMPER_OP_GEMM, TEMPER_TYPE_F32))
    return;
  for (int s = 0; s < 3; s++)
    for (int ta = 0; ta < 2; ta++)
      for (int tb = 0; tb < 2; tb++)
        {
          int64_t M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
          Pair a = ta ? pair_random (M, K, 1.0) : pair_random (K, M, 1.0);
          Pair b = tb ? pair_random (K, N, 1.0) : pair_random (N, K, 1.0);
          Pair c = pair_random (N, M, 1.0);
          float beta = (ta + tb + s) % 2 ? 1.0f : 0.0f;
          g_autofree char *what = g_strdup_printf ("gemm %ldx%ldx%ld ta=%d tb=%d beta=%g",
                                                   (long) M, (long) N, (long) K, ta, tb, beta);

          cpu->ops->gemm (cpu, &c.c, &a.c, ta, &b.c, tb, 0.5f, beta);
          vk->ops->gemm (vk, &c.v, &a.v, ta, &b.v, tb, 0.5f, beta);
          flush_both ();
          assert_close (what, &c, 1e-5);
          pair_free (&a);
          pair_free (&b);
          pair_free (&c);
          temper_backend_begin (cpu);
          temper_backend_begin (vk);
        }
  flush_both ();
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
  g_autofree char *what = g_strdup_printf ("attention heads %d/%d dim %d seq %d×%d keys %d offset %d",
                                           p->n_head, p->n_head_kv, p->head_dim, p->n_seq,
                                           p->n_query, p->n_key, p->q_offset);

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

static void
test_swiglu (void)
{
  static const int64_t shapes[][2] = { { 1536, 7 }, { 33, 1 }, { 129, 33 } };

  if (!need (TEMPER_OP_SWIGLU, TEMPER_TYPE_F32) || !need (TEMPER_OP_SWIGLU_BACKWARD, TEMPER_TYPE_F32))
    return;
  for (int s = 0; s < 3; s++)
    {
      int64_t n = shapes[s][0], T = shapes[s][1];
      Pair g = pair_random (n, T, 4.0), u = pair_random (n, T, 1.0), h = pair_new (TEMPER_TYPE_F32, n, T, NULL);
      Pair dh = pair_random (n, T, 1.0), dg = pair_random (n, T, 1.0), du = pair_random (n, T, 1.0);

      cpu->ops->swiglu (cpu, &h.c, &g.c, &u.c);
      vk->ops->swiglu (vk, &h.v, &g.v, &u.v);
      cpu->ops->swiglu_backward (cpu, &dg.c, &du.c, &dh.c, &g.c, &u.c);
      vk->ops->swiglu_backward (vk, &dg.v, &du.v, &dh.v, &g.v, &u.v);
      flush_both ();
      assert_close ("swiglu", &h, 1e-5);
      assert_close ("swiglu_backward dgate", &dg, 1e-5);
      assert_close ("swiglu_backward dup", &du, 1e-5);
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
      cpu->ops->zero (cpu, &z.c);
      vk->ops->zero (vk, &z.v);
      flush_both ();
      assert_close ("add", &out, 1e-6);
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

/* Independent golden values: rows quantized and dequantized by the gguf
 * Python package (tests/model/make-quant-fixtures.py, committed under
 * tests/fixtures/model/).  The Vulkan dequantizer must reproduce them, and
 * matmul with those weights must match a double-precision reference. */
static void
test_golden (gconstpointer data)
{
  int type = GPOINTER_TO_INT (data);
  const char *root = g_getenv ("TEMPER_SOURCE_DIR") ? g_getenv ("TEMPER_SOURCE_DIR") : TEMPER_SOURCE_DIR;
  g_autofree char *name = g_strdup_printf ("quant-%s", temper_type_name (type));
  g_autofree char *bin_path = g_strdup_printf ("%s/tests/fixtures/model/%s.bin", root, name);
  g_autofree char *f32_path = g_strdup_printf ("%s/tests/fixtures/model/%s.f32", root, name);
  g_autofree char *bin = NULL, *ref = NULL;
  g_autofree float *got = NULL, *x = NULL, *y = NULL;
  gsize bin_len, ref_len;
  int64_t rows, cols = 512, T = 40;
  gint32 ids[3] = { 1, 0, 1 };
  Pair w, out, tok, emb, px, py;
  g_autoptr (GError) error = NULL;

  if (vk == NULL)
    {
      g_test_skip (no_device_reason);
      return;
    }
  if (!g_file_get_contents (bin_path, &bin, &bin_len, NULL)
      || !g_file_get_contents (f32_path, &ref, &ref_len, NULL))
    {
      g_autofree char *msg = g_strdup_printf ("no fixture %s", bin_path);
      g_test_skip (msg);
      return;
    }
  if (!temper_backend_supports_op (vk, TEMPER_OP_DEQUANTIZE, type))
    {
      g_autofree char *msg = g_strdup_printf ("unsupported: dequantize %s", temper_type_name (type));
      g_test_skip (msg);
      return;
    }
  rows = (int64_t) (ref_len / sizeof (float)) / cols;
  g_assert_cmpuint (bin_len, ==, temper_btensor_bytes (type, cols, rows));

  w = pair_new (type, cols, rows, bin);
  out = pair_new (TEMPER_TYPE_F32, cols, rows, NULL);
  tok = pair_new (TEMPER_TYPE_I32, 3, 1, ids);
  emb = pair_new (TEMPER_TYPE_F32, cols, 3, NULL);
  x = random_f32 ((gsize) (cols * T), 1.0);
  px = pair_new (TEMPER_TYPE_F32, cols, T, x);
  py = pair_new (TEMPER_TYPE_F32, rows, T, NULL);
  temper_backend_begin (vk);
  vk->ops->dequantize (vk, &out.v, &w.v);
  vk->ops->embedding (vk, &emb.v, &w.v, &tok.v);
  /* 40 rows take the tiled shader; the first 3 again take matvec. */
  vk->ops->matmul (vk, &py.v, &px.v, &w.v, NULL, FALSE);
  {
    TemperBTensor x3 = temper_btensor_rows (&px.v, 0, 3), y3 = temper_btensor_rows (&py.v, 0, 3);
    vk->ops->matmul (vk, &y3, &x3, &w.v, NULL, TRUE);
  }
  g_assert_true (temper_backend_flush (vk, &error));
  g_assert_no_error (error);

  got = g_malloc (MAX (out.bytes, emb.bytes));
  g_assert_true (temper_backend_download (vk, &out.v, got, &error));
  for (int64_t i = 0; i < rows * cols; i++)
    if (fabsf (got[i] - ((float *) ref)[i]) > 1e-6f * MAX (1.0f, fabsf (((float *) ref)[i])))
      g_error ("%s element %" G_GINT64_FORMAT ": Vulkan %g, gguf %g", name, i, got[i], ((float *) ref)[i]);
  g_assert_true (temper_backend_download (vk, &emb.v, got, &error));
  for (int t = 0; t < 3; t++)
    for (int64_t i = 0; i < cols; i++)
      g_assert_cmpfloat_with_epsilon (got[t * cols + i], ((float *) ref)[ids[t] * cols + i], 1e-6);

  y = g_malloc (py.bytes);
  g_assert_true (temper_backend_download (vk, &py.v, y, &error));
  {
    double diff = 0, norm = 0;
    for (int64_t t = 0; t < T; t++)
      for (int64_t r = 0; r < rows; r++)
        {
          double acc = 0;
          for (int64_t i = 0; i < cols; i++)
            acc += (double) x[t * cols + i] * ((float *) ref)[r * cols + i];
          if (t < 3)
            acc *= 2;   /* accumulated a second time */
          diff += (y[t * rows + r] - acc) * (y[t * rows + r] - acc);
          norm += acc * acc;
        }
    g_test_message ("%s matmul against double reference: normalized error %.3g",
                    name, sqrt (diff / norm));
    g_assert_cmpfloat (sqrt (diff / norm), <, 1e-5);
  }
  pair_free (&w); pair_free (&out); pair_free (&tok); pair_free (&emb);
  pair_free (&px); pair_free (&py);
  /* The CPU side of the pairs was never used in a step. */
  temper_backend_begin (cpu);
  g_assert_true (temper_backend_flush (cpu, NULL));
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

static const int weight_types[] = {
  TEMPER_TYPE_F32, TEMPER_TYPE_F16, TEMPER_TYPE_BF16, TEMPER_TYPE_Q4_0, TEMPER_TYPE_Q4_1,
  TEMPER_TYPE_Q5_0, TEMPER_TYPE_Q5_1, TEMPER_TYPE_Q8_0, TEMPER_TYPE_Q8_1, TEMPER_TYPE_Q4_K,
  TEMPER_TYPE_Q5_K, TEMPER_TYPE_Q6_K, TEMPER_TYPE_NF4,
};

static void
add_weight_tests (const char *op, GTestDataFunc func)
{
  for (guint i = 0; i < G_N_ELEMENTS (weight_types); i++)
    {
      g_autofree char *name = g_ascii_strdown (temper_type_name (weight_types[i]), -1);
      g_autofree char *path = g_strdup_printf (strcmp (op, "golden") == 0 ? "/vulkan/%s/%s" : "/vulkan/ops/%s/%s", op, name);
      g_test_add_data_func (path, GINT_TO_POINTER (weight_types[i]), func);
    }
}

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  int status;

  /* lavapipe is what CI has. */
  g_setenv ("TEMPER_VULKAN_ALLOW_SOFTWARE", "1", TRUE);
  /* Each matmul test picks its path itself. */
  g_unsetenv (TEMPER_VK_MATMUL_ENV);
  /* meson runs the reducing ops a second time with the shared-memory
   * reductions, which devices without subgroup arithmetic use. */
  if (argc > 1 && strcmp (argv[argc - 1], "--shared-memory-reductions") == 0)
    {
      g_setenv ("TEMPER_VK_SUBGROUP_REDUCE", "0", TRUE);
      argv[--argc] = NULL;
    }
  g_test_init (&argc, &argv, NULL);

  rng = g_rand_new_with_seed (20261123);
  cpu = temper_cpu_backend_new (1, TEMPER_CPU_KERNELS_SCALAR);
  vk = temper_vk_backend_new (-1, &error);
  if (vk == NULL)
    no_device_reason = g_strdup_printf ("no Vulkan device: %s", error->message);
  else
    g_test_message ("Vulkan device: %s", temper_vk_backend_get_device_name (vk));

  add_weight_tests ("dequantize", test_dequantize);
  add_weight_tests ("embedding", test_embedding);
  add_weight_tests ("matmul", test_matmul);
  add_weight_tests ("matmul_backward_input", test_matmul_backward_input);
  add_weight_tests ("matmul-coopmat", test_matmul_coopmat);
  add_weight_tests ("matmul_backward_input-coopmat", test_matmul_backward_input_coopmat);
  add_weight_tests ("lm_head_cross_entropy", test_cross_entropy);
  add_weight_tests ("golden", test_golden);
  g_test_add_func ("/vulkan/ops/gemm", test_gemm);
  g_test_add_func ("/vulkan/ops/rmsnorm", test_rmsnorm);
  g_test_add_func ("/vulkan/ops/rope", test_rope);
  g_test_add_func ("/vulkan/ops/attention", test_attention);
  g_test_add_func ("/vulkan/ops/swiglu", test_swiglu);
  g_test_add_func ("/vulkan/ops/add-scale-zero", test_elementwise);
  g_test_add_func ("/vulkan/ops/dropout", test_dropout);
  g_test_add_func ("/vulkan/ops/sum_squares", test_sum_squares);
  g_test_add_func ("/vulkan/ops/adamw", test_adamw);
  g_test_add_func ("/vulkan/step/one-submit", test_one_submit_per_step);

  status = g_test_run ();
  g_clear_pointer (&vk, temper_backend_free);
  g_clear_pointer (&cpu, temper_backend_free);
  g_rand_free (rng);
  g_free (no_device_reason);
  return status;
}
