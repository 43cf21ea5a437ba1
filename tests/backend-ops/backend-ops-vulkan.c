/* SPDX-License-Identifier: MIT */
/* backend-ops-vulkan.c — what only the Vulkan backend has: its matmul paths
 * (the tiled shaders, cooperative matrices where the device has them), the
 * choice of shader for a product (a wrong choice would pass the numeric
 * checks on the other shader and leave this one untested), and one command
 * buffer per step.  The numbers themselves are checked by the shared cases. */
#include "config.h"

#include <string.h>

#include "backend-ops.h"
#include "vulkan/temper-vk-backend-private.h"
#include "vulkan/temper-vk-backend.h"
#include "vulkan/temper-vk-ops-matmul.h"

static gboolean shared_memory_reductions;

void
backend_ops_vulkan_setup (int *argc, char **argv)
{
  /* lavapipe is what CI has. */
  g_setenv ("TEMPER_VULKAN_ALLOW_SOFTWARE", "1", TRUE);
  /* Each product case picks its path itself. */
  g_unsetenv (TEMPER_VK_MATMUL_ENV);
  /* The host keeps matvec.comp on software drivers such as lavapipe, where
   * it is faster; the test runs the subgroup variant there too. */
  g_setenv ("TEMPER_VK_MATVEC", "subgroup", TRUE);
  /* meson runs the test a second time with the shared-memory reductions
   * and matvec.comp, which devices without subgroup arithmetic use. */
  for (int i = 1; i < *argc; i++)
    if (strcmp (argv[i], "--shared-memory-reductions") == 0)
      {
        g_setenv ("TEMPER_VK_SUBGROUP_REDUCE", "0", TRUE);
        g_setenv ("TEMPER_VK_MATVEC", "columns", TRUE);
        memmove (argv + i, argv + i + 1, (size_t) (*argc - i) * sizeof (char *));
        --*argc;
        shared_memory_reductions = TRUE;
        break;
      }
}

gboolean
backend_ops_vulkan_use_path (gboolean coopmat)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *why_not = NULL;

  if (coopmat && !temper_vk_backend_has_coopmat (sides[DUT], &why_not))
    {
      /* run-with-driver.sh runs us on a driver that has them: there a skip
       * would hide a detection bug. */
      if (TEMPER_HAVE_VK_COOPMAT && g_getenv ("TEMPER_TEST_EXPECT_COOPMAT") != NULL)
        g_error ("%s", why_not);
      g_test_skip (why_not);
      return FALSE;
    }
  g_assert_true (temper_vk_backend_set_matmul_path (sides[DUT], coopmat ? TEMPER_VK_MATMUL_COOPMAT
                                                                        : TEMPER_VK_MATMUL_TILED, &error));
  g_assert_no_error (error);
  return TRUE;
}

void
backend_ops_vulkan_reset_path (void)
{
  g_assert_true (temper_vk_backend_set_matmul_path (sides[DUT], TEMPER_VK_MATMUL_AUTO, NULL));
}

static void
assert_shader (int type, int64_t M, int64_t N, int64_t K, gboolean transposed, const char *expected_prefix)
{
  g_autofree char *type_name = g_ascii_strdown (temper_type_name (type), -1);
  g_autofree char *expected = g_strconcat (expected_prefix, type_name, NULL);
  const char *got = temper_vk_backend_matmul_shader_name (sides[DUT], type, (guint32) M, (guint32) N,
                                                          (guint32) K, transposed);

  g_assert_cmpstr (got, ==, expected);
}

/* matvec-subgroup.comp where the device has subgroup arithmetic and
 * workgroups of four subgroups, and this run did not ask for the
 * shared-memory variants; matvec.comp otherwise. */
static const char *
expected_matvec (void)
{
  const TemperVkDeviceCaps *caps = &((TemperVkBackend *) sides[DUT])->device->caps;
  guint32 local = 4 * caps->subgroup_size;

  if (shared_memory_reductions || !caps->subgroup_arithmetic
      || local > caps->limits.maxComputeWorkGroupInvocations
      || local > caps->limits.maxComputeWorkGroupSize[0])
    return "matvec_";
  return "matvec_subgroup_";
}

/* The shapes of the matvec and matmul-tiles cases run the shaders meant
 * for them: up to 16 rows a matvec shader (the transposed product always
 * matvec.comp), from 17 rows the tiled one. */
static void
test_shader_choice (gconstpointer data)
{
  int type = GPOINTER_TO_INT (data);

  if (!temper_backend_supports_op (sides[DUT], TEMPER_OP_MATMUL, type))
    {
      g_test_skip ("not supported");
      return;
    }
  g_assert_true (backend_ops_vulkan_use_path (FALSE));
  for (int64_t M = 1; M <= MATVEC_MAX_ROWS; M++)
    {
      int64_t K = matvec_cols (type, M), N = matvec_outs (M);

      assert_shader (type, M, N, K, FALSE, expected_matvec ());
      assert_shader (type, M, K, N, TRUE, "matvec_");
    }
  for (guint s = 0; s < G_N_ELEMENTS (tile_shapes); s++)
    {
      int64_t M = tile_shapes[s][0], N = tile_shapes[s][1], K = weight_cols (type, (int) s % 3);

      assert_shader (type, M, N, K, FALSE, "matmul_");
      assert_shader (type, M, K, N, TRUE, "matmul_");
    }
  backend_ops_vulkan_reset_path ();
}

/* A step of many dependent ops is one submission, and the barriers order
 * them. */
static void
test_one_submit_per_step (void)
{
  Pair *x, *w, *y;
  guint before;

  if (!temper_backend_supports_op (sides[DUT], TEMPER_OP_MATMUL, TEMPER_TYPE_Q4_1))
    {
      g_test_skip ("not supported: matmul Q4_1");
      return;
    }
  case_start (g_test_get_path ());
  x = pair_random (64, 5, 1.0);
  w = pair_weight (TEMPER_TYPE_Q4_1, 64, 64, FALSE);
  y = pair_new (TEMPER_TYPE_F32, 64, 5, NULL);
  before = temper_vk_backend_get_n_submits (sides[DUT]);
  begin_both ();
  for (int i = 0; i < 20; i++)
    FOR_SIDES (s)
      {
        OPS (s)->matmul (sides[s], &y->t[s], &x->t[s], &w->t[s], NULL, FALSE);
        OPS (s)->add (sides[s], &x->t[s], &x->t[s], &y->t[s]);
        OPS (s)->scale (sides[s], &x->t[s], 0.1f);
      }
  flush_both ();
  g_assert_cmpuint (temper_vk_backend_get_n_submits (sides[DUT]), ==, before + 1);
  check_close ("20 chained matmul + add + scale", x, 1e-5);
  case_end ();
}

void
backend_ops_vulkan_add_tests (const char *prefix)
{
  for (int i = 0; backend_ops_weight_types[i] >= 0; i++)
    {
      g_autofree char *type = g_ascii_strdown (temper_type_name (backend_ops_weight_types[i]), -1);
      g_autofree char *path = g_strdup_printf ("/%s/shader-choice/%s", prefix, type);

      g_test_add_data_func (path, GINT_TO_POINTER (backend_ops_weight_types[i]), test_shader_choice);
    }
  g_test_add_func ("/vulkan/step/one-submit", test_one_submit_per_step);
}
