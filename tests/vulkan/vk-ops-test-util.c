/* vk-ops-test-util.c — see vk-ops-test-util.h. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "vk-ops-test-util.h"

TemperBackend *cpu;
TemperBackend *vk;
char *no_device_reason;
GRand *rng;
static gboolean shared_memory_reductions;

Pair
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

void
pair_free (Pair *p)
{
  temper_backend_buffer_free (cpu, p->cpu_buf);
  temper_backend_buffer_free (vk, p->vk_buf);
}

float *
random_f32 (gsize n, double scale)
{
  float *x = g_new (float, n);

  for (gsize i = 0; i < n; i++)
    x[i] = (float) (g_rand_double_range (rng, -1.0, 1.0) * scale);
  return x;
}

Pair
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

guint8 *
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
        case TEMPER_TYPE_Q2_K:   /* d and dmin at the end of the block */
          put_f16 (w + b + 80, d * 0.5f);
          put_f16 (w + b + 82, d * 0.5f);
          break;
        case TEMPER_TYPE_Q3_K:
          put_f16 (w + b + 108, d * 0.1f);
          break;
        case TEMPER_TYPE_IQ4_NL: case TEMPER_TYPE_IQ4_XS:
          put_f16 (w + b, d * 0.05f);
          break;
        case TEMPER_TYPE_TQ2_0:
          put_f16 (w + b + 64, d * 4);
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

Pair
pair_weight (int type, int64_t ne0, int64_t ne1)
{
  g_autofree guint8 *w = random_weight (type, ne0, ne1);
  return pair_new (type, ne0, ne1, w);
}

void
flush_both (void)
{
  g_autoptr (GError) error = NULL;

  g_assert_true (temper_backend_flush (cpu, &error));
  g_assert_no_error (error);
  g_assert_true (temper_backend_flush (vk, &error));
  g_assert_no_error (error);
}

void
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

gboolean
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

int64_t
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

static const int weight_types[] = {
  TEMPER_TYPE_F32, TEMPER_TYPE_F16, TEMPER_TYPE_BF16, TEMPER_TYPE_Q4_0, TEMPER_TYPE_Q4_1,
  TEMPER_TYPE_Q5_0, TEMPER_TYPE_Q5_1, TEMPER_TYPE_Q8_0, TEMPER_TYPE_Q8_1, TEMPER_TYPE_Q4_K,
  TEMPER_TYPE_Q5_K, TEMPER_TYPE_Q6_K, TEMPER_TYPE_NF4, TEMPER_TYPE_Q2_K, TEMPER_TYPE_Q3_K,
  TEMPER_TYPE_IQ4_NL, TEMPER_TYPE_IQ4_XS, TEMPER_TYPE_TQ2_0,
};

void
add_weight_tests (const char *op, GTestDataFunc func)
{
  for (guint i = 0; i < G_N_ELEMENTS (weight_types); i++)
    {
      g_autofree char *name = g_ascii_strdown (temper_type_name (weight_types[i]), -1);
      g_autofree char *path = g_strdup_printf (strcmp (op, "golden") == 0 ? "/vulkan/%s/%s" : "/vulkan/ops/%s/%s", op, name);
      g_test_add_data_func (path, GINT_TO_POINTER (weight_types[i]), func);
    }
}

void
vk_ops_test_init (int *argc, char ***argv)
{
  g_autoptr (GError) error = NULL;

  /* lavapipe is what CI has. */
  g_setenv ("TEMPER_VULKAN_ALLOW_SOFTWARE", "1", TRUE);
  /* Each matmul test picks its path itself. */
  g_unsetenv (TEMPER_VK_MATMUL_ENV);
  /* The host keeps matvec.comp on software drivers such as lavapipe, where
   * it is faster; the tests run the subgroup variant there too. */
  g_setenv ("TEMPER_VK_MATVEC", "subgroup", TRUE);
  if (*argc > 1 && strcmp ((*argv)[*argc - 1], "--shared-memory-reductions") == 0)
    {
      g_setenv ("TEMPER_VK_SUBGROUP_REDUCE", "0", TRUE);
      g_setenv ("TEMPER_VK_MATVEC", "columns", TRUE);
      (*argv)[--*argc] = NULL;
      shared_memory_reductions = TRUE;
    }
  g_test_init (argc, argv, NULL);

  rng = g_rand_new_with_seed (20261123);
  cpu = temper_cpu_backend_new (1, TEMPER_CPU_KERNELS_SCALAR);
  vk = temper_vk_backend_new (-1, &error);
  if (vk == NULL)
    no_device_reason = g_strdup_printf ("no Vulkan device: %s", error->message);
  else
    g_test_message ("Vulkan device: %s", temper_vk_backend_get_device_name (vk));
}

gboolean
vk_ops_test_shared_memory_reductions (void)
{
  return shared_memory_reductions;
}

void
vk_ops_test_finish (void)
{
  g_clear_pointer (&vk, temper_backend_free);
  g_clear_pointer (&cpu, temper_backend_free);
  g_rand_free (rng);
  g_free (no_device_reason);
}
