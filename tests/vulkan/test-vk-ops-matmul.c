/* The Vulkan backend's products by a weight against the CPU backend, by
 * normalized error ‖vk − cpu‖ / ‖cpu‖: matmul and matmul_backward_input for
 * every GGUF weight type on each path (the tiled matmul.comp, the
 * cooperative-matrix shader where the device has it, and for up to 16 rows
 * matvec-subgroup.comp or matvec.comp), gemm, and golden values from the
 * gguf Python package.  meson runs it a second time with
 * --shared-memory-reductions, where matvec.comp replaces the subgroup
 * shader as on devices without subgroup arithmetic. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "vk-ops-test-util.h"
#include "vulkan/temper-vk-backend-private.h"
#include "vulkan/temper-vk-ops-matmul.h"

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
  /* M, N, K: the last spans several 64×64 tiles with ragged edges. */
  static const int64_t shapes[][3] = {
    { 7, 33, 129 }, { 1, 16, 5 }, { 33, 7, 64 }, { 130, 67, 33 },
  };

  if (!need (TEMPER_OP_GEMM, TEMPER_TYPE_F32))
    return;
  for (int s = 0; s < (int) G_N_ELEMENTS (shapes); s++)
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

/* The shader the backend runs for this product must be @expected_prefix
 * followed by the weight type: a wrong choice would pass the numeric checks
 * on the other shader and leave this one untested. */
static void
assert_shader (int type, guint32 M, guint32 N, guint32 K, gboolean transposed,
               const char *expected_prefix)
{
  g_autofree char *type_name = g_ascii_strdown (temper_type_name (type), -1);
  g_autofree char *expected = g_strconcat (expected_prefix, type_name, NULL);
  const char *got = temper_vk_backend_matmul_shader_name (vk, type, M, N, K, transposed);

  g_assert_cmpstr (got, ==, expected);
}

/* matvec-subgroup.comp where the device has subgroup arithmetic and
 * workgroups of four subgroups, and this run did not ask for the
 * shared-memory variants; matvec.comp otherwise. */
static const char *
expected_matvec (void)
{
  const TemperVkDeviceCaps *caps = &((TemperVkBackend *) vk)->device->caps;
  guint32 local = 4 * caps->subgroup_size;

  if (vk_ops_test_shared_memory_reductions () || !caps->subgroup_arithmetic
      || local > caps->limits.maxComputeWorkGroupInvocations
      || local > caps->limits.maxComputeWorkGroupSize[0])
    return "matvec_";
  return "matvec_subgroup_";
}

/* Generation's shapes: every number of rows from 1 to 16 (the matvec
 * shaders keep one accumulator per row), outputs not a multiple of the
 * columns a workgroup covers, and inputs long enough that every lane of a
 * subgroup takes several chunks, odd where the type allows.  The forward
 * product runs the shader under test; the transposed one (dx = dy · W)
 * always runs matvec.comp. */
static void
test_matvec (gconstpointer data)
{
  int type = GPOINTER_TO_INT (data);
  GRand *shared_rng;

  if (!need (TEMPER_OP_MATMUL, type) || !use_matmul_path (TEMPER_VK_MATMUL_TILED))
    return;
  shared_rng = swap_rng (g_rand_new_with_seed (20261126 + (guint32) type));
  for (int64_t M = 1; M <= 16; M++)
    {
      int64_t K = 3 * weight_cols (type, (int) M % 3), N = 67 - 2 * (M % 5);
      Pair w = pair_weight (type, K, N);
      Pair x = pair_random (K, M, 1.0);
      Pair bias = pair_random (N, 1, 1.0);
      Pair y = pair_random (N, M, 1.0);
      Pair dy = pair_random (N, M, 1.0);
      Pair dx = pair_random (K, M, 1.0);
      gboolean with_bias = M % 2 == 1, accumulate = M % 3 == 0;
      g_autofree char *what = g_strdup_printf ("matvec%s%s %" G_GINT64_FORMAT "x%" G_GINT64_FORMAT
                                               "x%" G_GINT64_FORMAT,
                                               with_bias ? " + bias" : "",
                                               accumulate ? ", accumulate" : "", M, N, K);
      g_autofree char *what_t = g_strdup_printf ("matvec transposed %" G_GINT64_FORMAT "x%"
                                                 G_GINT64_FORMAT "x%" G_GINT64_FORMAT, M, K, N);

      assert_shader (type, (guint32) M, (guint32) N, (guint32) K, FALSE, expected_matvec ());
      assert_shader (type, (guint32) M, (guint32) K, (guint32) N, TRUE, "matvec_");
      cpu->ops->matmul (cpu, &y.c, &x.c, &w.c, with_bias ? &bias.c : NULL, accumulate);
      vk->ops->matmul (vk, &y.v, &x.v, &w.v, with_bias ? &bias.v : NULL, accumulate);
      if (temper_backend_supports_op (vk, TEMPER_OP_MATMUL_BACKWARD_INPUT, type))
        {
          cpu->ops->matmul_backward_input (cpu, &dx.c, &dy.c, &w.c);
          vk->ops->matmul_backward_input (vk, &dx.v, &dy.v, &w.v);
        }
      flush_both ();
      assert_close (what, &y, TILED_TOL);
      assert_close (what_t, &dx, TILED_TOL);
      pair_free (&w); pair_free (&x); pair_free (&bias); pair_free (&y);
      pair_free (&dy); pair_free (&dx);
      temper_backend_begin (cpu);
      temper_backend_begin (vk);
    }
  flush_both ();
  use_matmul_path (TEMPER_VK_MATMUL_AUTO);
  g_rand_free (swap_rng (shared_rng));
}

/* Training's shapes on the tiled shader: exactly one 64×64 tile, one row
 * or column past it, several tiles with ragged edges, and the smallest M
 * that leaves the matvec shaders; inputs that are and are not a multiple
 * of the 16-wide k step. */
static void
test_matmul_tiles (gconstpointer data)
{
  static const int64_t shapes[][2] = { { 64, 64 }, { 65, 127 }, { 200, 65 }, { 17, 1 } };  /* M, N */
  int type = GPOINTER_TO_INT (data);
  GRand *shared_rng;

  if (!need (TEMPER_OP_MATMUL, type) || !use_matmul_path (TEMPER_VK_MATMUL_TILED))
    return;
  shared_rng = swap_rng (g_rand_new_with_seed (20261127 + (guint32) type));
  for (guint s = 0; s < G_N_ELEMENTS (shapes); s++)
    {
      int64_t M = shapes[s][0], N = shapes[s][1], K = weight_cols (type, (int) s % 3);
      Pair w = pair_weight (type, K, N);
      Pair x = pair_random (K, M, 1.0);
      Pair y = pair_random (N, M, 1.0);
      Pair dy = pair_random (N, M, 1.0);
      Pair dx = pair_random (K, M, 1.0);
      g_autofree char *what = g_strdup_printf ("tiled matmul %" G_GINT64_FORMAT "x%" G_GINT64_FORMAT
                                               "x%" G_GINT64_FORMAT, M, N, K);
      g_autofree char *what_t = g_strdup_printf ("tiled matmul transposed %" G_GINT64_FORMAT "x%"
                                                 G_GINT64_FORMAT "x%" G_GINT64_FORMAT, M, K, N);

      assert_shader (type, (guint32) M, (guint32) N, (guint32) K, FALSE, "matmul_");
      assert_shader (type, (guint32) M, (guint32) K, (guint32) N, TRUE, "matmul_");
      cpu->ops->matmul (cpu, &y.c, &x.c, &w.c, NULL, s % 2 == 1);
      vk->ops->matmul (vk, &y.v, &x.v, &w.v, NULL, s % 2 == 1);
      if (temper_backend_supports_op (vk, TEMPER_OP_MATMUL_BACKWARD_INPUT, type))
        {
          cpu->ops->matmul_backward_input (cpu, &dx.c, &dy.c, &w.c);
          vk->ops->matmul_backward_input (vk, &dx.v, &dy.v, &w.v);
        }
      flush_both ();
      assert_close (what, &y, TILED_TOL);
      assert_close (what_t, &dx, TILED_TOL);
      pair_free (&w); pair_free (&x); pair_free (&y); pair_free (&dy); pair_free (&dx);
      temper_backend_begin (cpu);
      temper_backend_begin (vk);
    }
  flush_both ();
  use_matmul_path (TEMPER_VK_MATMUL_AUTO);
  g_rand_free (swap_rng (shared_rng));
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
  {
    float largest = 0.0f;

    for (int64_t i = 0; i < rows * cols; i++)
      {
        if (fabsf (got[i] - ((float *) ref)[i]) > 1e-6f * MAX (1.0f, fabsf (((float *) ref)[i])))
          g_error ("%s element %" G_GINT64_FORMAT ": Vulkan %g, gguf %g", name, i, got[i], ((float *) ref)[i]);
        largest = MAX (largest, fabsf (got[i] - ((float *) ref)[i]));
      }
    g_test_message ("%s dequantized against gguf-py: largest difference %.3g", name, largest);
  }
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

int
main (int argc, char **argv)
{
  int status;

  vk_ops_test_init (&argc, &argv);

  add_weight_tests ("matmul", test_matmul);
  add_weight_tests ("matmul_backward_input", test_matmul_backward_input);
  add_weight_tests ("matvec", test_matvec);
  add_weight_tests ("matmul-tiles", test_matmul_tiles);
  add_weight_tests ("matmul-coopmat", test_matmul_coopmat);
  add_weight_tests ("matmul_backward_input-coopmat", test_matmul_backward_input_coopmat);
  add_weight_tests ("golden", test_golden);
  g_test_add_func ("/vulkan/ops/gemm", test_gemm);

  status = g_test_run ();
  vk_ops_test_finish ();
  return status;
}
