/* SPDX-License-Identifier: MIT */
/* Vulkan device listing and selection, memory budget refusals, and how
 * driver failures become errors. */
#include "config.h"

#include <string.h>

#include "temper/error.h"
#include "temper/vulkan.h"
#include "vulkan/temper-vk-backend-private.h"
#include "vulkan/temper-vk-device-private.h"
#include "vulkan/temper-vk-error-private.h"
#include "vulkan/temper-vk-memory-private.h"
#include "vulkan/temper-vk-pipeline-private.h"

static void
test_list (void)
{
  g_autoptr (GPtrArray) devices = g_ptr_array_new_with_free_func ((GDestroyNotify) temper_device_info_free);
  g_autoptr (GError) error = NULL;

  if (!temper_vulkan_list_devices (devices, &error))
    {
      g_autofree char *msg = g_strdup_printf ("no Vulkan: %s", error->message);
      g_assert_true (g_error_matches (error, TEMPER_ERROR, TEMPER_ERROR_DEVICE));
      g_test_skip (msg);
      return;
    }
  if (devices->len == 0)
    {
      g_test_skip ("no Vulkan device");
      return;
    }
  for (guint i = 0; i < devices->len; i++)
    {
      TemperDeviceInfo *info = devices->pdata[i];

      g_test_message ("%d: %s [%s] %s — %s", info->index, info->name, info->driver,
                      temper_device_type_name (info->type), info->details);
      g_assert_cmpint (info->backend, ==, TEMPER_BACKEND_VULKAN);
      g_assert_cmpint (info->index, ==, (int) i);
      g_assert_true (info->name != NULL && info->name[0] != '\0');
      g_assert_nonnull (info->driver);
      g_assert_true (g_str_has_prefix (info->details, "Vulkan "));
      g_assert_nonnull (strstr (info->details, "cooperative matrices: "));
      g_assert_cmpuint (info->memory_total, >, 0);
      /* Mesa's software rasterizer must never pass for a GPU. */
      if (strstr (info->name, "llvmpipe") != NULL)
        g_assert_cmpint (info->type, ==, TEMPER_DEVICE_SOFTWARE);
    }
}

static void
add_caps (GArray *devices, TemperDeviceType type, guint64 memory, gboolean usable)
{
  TemperVkDeviceCaps caps = { 0 };

  caps.index = (int) devices->len;
  caps.name = g_strdup_printf ("device %u", devices->len);
  caps.driver = g_strdup ("");
  caps.type = type;
  caps.device_local_bytes = memory;
  caps.usable = usable;
  caps.api_version = usable ? VK_API_VERSION_1_3 : VK_API_VERSION_1_0;
  g_array_append_val (devices, caps);
}

static GArray *
caps_array (void)
{
  GArray *a = g_array_new (FALSE, TRUE, sizeof (TemperVkDeviceCaps));
  g_array_set_clear_func (a, (GDestroyNotify) temper_vk_device_caps_clear);
  return a;
}

static void
test_choose (void)
{
  g_autoptr (GError) error = NULL;
  guint64 GiB = G_GUINT64_CONSTANT (1) << 30;

  g_unsetenv (TEMPER_VK_ALLOW_SOFTWARE_ENV);
  {
    g_autoptr (GArray) d = caps_array ();
    add_caps (d, TEMPER_DEVICE_SOFTWARE, 64 * GiB, TRUE);
    add_caps (d, TEMPER_DEVICE_INTEGRATED_GPU, 16 * GiB, TRUE);
    add_caps (d, TEMPER_DEVICE_DISCRETE_GPU, 4 * GiB, TRUE);
    add_caps (d, TEMPER_DEVICE_DISCRETE_GPU, 8 * GiB, TRUE);
    add_caps (d, TEMPER_DEVICE_VIRTUAL_GPU, 32 * GiB, TRUE);
    /* Discrete first, and of two discrete GPUs the larger. */
    g_assert_cmpint (temper_vk_choose_device (d, -1, &error), ==, 3);
    g_assert_no_error (error);
    /* An explicit index wins, software included. */
    g_assert_cmpint (temper_vk_choose_device (d, 0, &error), ==, 0);
    g_assert_no_error (error);
    g_assert_cmpint (temper_vk_choose_device (d, 5, &error), ==, -1);
    g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_ARGUMENT);
    g_clear_error (&error);
  }
  {
    g_autoptr (GArray) d = caps_array ();
    add_caps (d, TEMPER_DEVICE_DISCRETE_GPU, 24 * GiB, FALSE);   /* too old */
    add_caps (d, TEMPER_DEVICE_VIRTUAL_GPU, 8 * GiB, TRUE);
    add_caps (d, TEMPER_DEVICE_INTEGRATED_GPU, 2 * GiB, TRUE);
    g_assert_cmpint (temper_vk_choose_device (d, -1, &error), ==, 2);
    g_assert_no_error (error);
    g_assert_cmpint (temper_vk_choose_device (d, 0, &error), ==, -1);
    g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_UNSUPPORTED);
    g_clear_error (&error);
  }
  {
    g_autoptr (GArray) d = caps_array ();
    add_caps (d, TEMPER_DEVICE_SOFTWARE, 64 * GiB, TRUE);
    /* Software only: refused unless allowed, and the message says how. */
    g_assert_cmpint (temper_vk_choose_device (d, -1, &error), ==, -1);
    g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_UNSUPPORTED);
    g_assert_nonnull (strstr (error->message, TEMPER_VK_ALLOW_SOFTWARE_ENV));
    g_clear_error (&error);
    g_setenv (TEMPER_VK_ALLOW_SOFTWARE_ENV, "1", TRUE);
    g_assert_cmpint (temper_vk_choose_device (d, -1, &error), ==, 0);
    g_assert_no_error (error);
    g_unsetenv (TEMPER_VK_ALLOW_SOFTWARE_ENV);
  }
  {
    g_autoptr (GArray) d = caps_array ();
    g_assert_cmpint (temper_vk_choose_device (d, -1, &error), ==, -1);
    g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_UNSUPPORTED);
    g_clear_error (&error);
  }
  g_setenv (TEMPER_VK_ALLOW_SOFTWARE_ENV, "1", TRUE);
}

static temper_vk_device_t *
open_or_skip (void)
{
  g_autoptr (GError) error = NULL;
  temper_vk_device_t *device = temper_vk_device_open (-1, &error);

  if (device == NULL)
    {
      g_autofree char *msg = g_strdup_printf ("no Vulkan device: %s", error->message);
      g_test_skip (msg);
    }
  return device;
}

static void
test_out_of_memory (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (temper_vk_device_t) device = open_or_skip ();
  g_autoptr (temper_vk_buffer_t) ok = NULL;
  temper_vk_buffer_t *buffer;
  guint64 total, free_bytes;
  float in[5] = { 1, -2, 3.5f, 0, 1e-3f }, out[5];

  if (device == NULL)
    return;

  /* An absurd request: refused with a message, nothing crashes. */
  buffer = temper_vk_buffer_new (device, G_GUINT64_CONSTANT (1) << 50, TEMPER_VK_MEMORY_DEVICE,
                                 "the test buffer", &error);
  g_assert_null (buffer);
  g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_OUT_OF_MEMORY);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, device->caps.name));
  g_assert_nonnull (strstr (error->message, "the test buffer"));
  g_clear_error (&error);

  temper_vk_memory_get_budget (device, &total, &free_bytes);
  g_assert_cmpuint (total, >, 0);
  g_assert_cmpuint (free_bytes, <=, total);

  /* The budget check: without VK_EXT_memory_budget Temper counts its own
   * allocations, so pretend the heap is nearly full. */
  if (!device->caps.memory_budget)
    {
      guint64 saved = device->allocated_bytes;
      device->allocated_bytes = total - (G_GUINT64_CONSTANT (1) << 20);
      buffer = temper_vk_buffer_new (device, 2 << 20, TEMPER_VK_MEMORY_DEVICE,
                                     "the model's weights", &error);
      g_assert_null (buffer);
      g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_OUT_OF_MEMORY);
      g_test_message ("%s", error->message);
      g_assert_nonnull (strstr (error->message, "needs 2.0"));
      g_assert_nonnull (strstr (error->message, "only 1.0"));
      g_clear_error (&error);
      device->allocated_bytes = saved;
    }

  /* The device still works afterwards. */
  ok = temper_vk_buffer_new (device, sizeof in + 12, TEMPER_VK_MEMORY_DEVICE, "a buffer", &error);
  g_assert_no_error (error);
  g_assert_true (temper_vk_buffer_write (ok, 12, in, sizeof in, &error));
  g_assert_true (temper_vk_buffer_read (ok, 12, out, sizeof out, &error));
  g_assert_no_error (error);
  g_assert_cmpmem (in, sizeof in, out, sizeof out);
}

static void
test_backend_out_of_memory (void)
{
  g_autoptr (GError) error = NULL;
  TemperBackend *backend = temper_vk_backend_new (-1, &error);
  TemperBuffer *buffer;

  if (backend == NULL)
    {
      g_autofree char *msg = g_strdup_printf ("no Vulkan device: %s", error->message);
      g_test_skip (msg);
      return;
    }
  buffer = temper_backend_buffer_alloc (backend, (size_t) 1 << 46, TEMPER_BUFFER_WEIGHTS, &error);
  g_assert_null (buffer);
  g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_OUT_OF_MEMORY);
  g_test_message ("%s", error->message);
  temper_backend_free (backend);
}

/* TEMPER_VK_MATMUL: a wrong value is refused with a message naming the
 * choices; "coopmat" opens exactly when the device has cooperative matrices
 * (else the message says why); "tiled" always opens. */
static void
test_matmul_path_env (void)
{
  g_autoptr (GError) error = NULL;
  TemperBackend *backend = temper_vk_backend_new (-1, &error);
  g_autofree char *why_not = NULL;
  gboolean has_coopmat;

  if (backend == NULL)
    {
      g_autofree char *msg = g_strdup_printf ("no Vulkan device: %s", error->message);
      g_test_skip (msg);
      return;
    }
  has_coopmat = temper_vk_backend_has_coopmat (backend, &why_not);
  g_test_message ("cooperative matrices: %s", has_coopmat ? "yes" : why_not);
  g_assert_true (has_coopmat == (why_not == NULL));
  temper_backend_free (backend);

  g_setenv (TEMPER_VK_MATMUL_ENV, "fastest", TRUE);
  backend = temper_vk_backend_new (-1, &error);
  g_assert_null (backend);
  g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "coopmat"));
  g_clear_error (&error);

  g_setenv (TEMPER_VK_MATMUL_ENV, "coopmat", TRUE);
  backend = temper_vk_backend_new (-1, &error);
  if (has_coopmat)
    g_assert_no_error (error);
  else
    {
      g_assert_null (backend);
      g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_UNSUPPORTED);
      g_assert_nonnull (strstr (error->message, why_not));
      g_clear_error (&error);
    }
  g_clear_pointer (&backend, temper_backend_free);

  g_setenv (TEMPER_VK_MATMUL_ENV, "tiled", TRUE);
  backend = temper_vk_backend_new (-1, &error);
  g_assert_no_error (error);
  temper_backend_free (backend);
  g_unsetenv (TEMPER_VK_MATMUL_ENV);
}

static void
test_error_messages (void)
{
  g_autoptr (GError) error = NULL;

  temper_vk_set_error (&error, VK_ERROR_DEVICE_LOST, "Radeon X", "running a training step");
  g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_DEVICE);
  g_assert_nonnull (strstr (error->message, "Radeon X"));
  g_assert_nonnull (strstr (error->message, "running a training step"));
  g_clear_error (&error);

  temper_vk_set_error (&error, VK_ERROR_OUT_OF_DEVICE_MEMORY, "Radeon X", "loading the model");
  g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_OUT_OF_MEMORY);
  g_assert_nonnull (strstr (error->message, "loading the model"));
  g_clear_error (&error);

  temper_vk_set_error (&error, VK_ERROR_FEATURE_NOT_PRESENT, NULL, "starting Vulkan");
  g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_DEVICE);
  g_assert_nonnull (strstr (error->message, "VK_ERROR_FEATURE_NOT_PRESENT"));
}

/* Once the driver reports the device lost, every step fails with an error
 * naming the device, and nothing crashes. */
static void
test_device_lost (void)
{
  g_autoptr (GError) error = NULL;
  TemperBackend *backend = temper_vk_backend_new (-1, &error);
  TemperVkBackend *vk = (TemperVkBackend *) backend;
  TemperBuffer *buffer;
  TemperBTensor t;
  float x[4] = { 1, 2, 3, 4 };

  if (backend == NULL)
    {
      g_autofree char *msg = g_strdup_printf ("no Vulkan device: %s", error->message);
      g_test_skip (msg);
      return;
    }
  buffer = temper_backend_buffer_alloc (backend, sizeof x, TEMPER_BUFFER_ACTIVATIONS, &error);
  g_assert_no_error (error);
  t = temper_btensor (buffer, 0, TEMPER_TYPE_F32, 4, 1);
  g_assert_true (temper_backend_upload (backend, &t, x, &error));

  vk->device->lost = TRUE;
  temper_backend_begin (backend);
  backend->ops->scale (backend, &t, 2.0f);
  g_assert_false (temper_backend_flush (backend, &error));
  g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_DEVICE);
  g_assert_nonnull (strstr (error->message, vk->device->caps.name));
  g_clear_error (&error);
  g_assert_false (temper_backend_download (backend, &t, x, &error));
  g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_DEVICE);
  g_clear_error (&error);

  vk->device->lost = FALSE;
  temper_backend_buffer_free (backend, buffer);
  temper_backend_free (backend);
}

static void
test_pipeline_cache (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (temper_vk_device_t) device = open_or_skip ();
  const TemperVkPipeline *a, *b;

  if (device == NULL)
    return;
  a = temper_vk_pipeline_get (device, TEMPER_VK_SHADER_ADD, 3, &error);
  g_assert_no_error (error);
  g_assert_nonnull (a);
  b = temper_vk_pipeline_get (device, TEMPER_VK_SHADER_ADD, 3, &error);
  g_assert_true (a == b);
  g_assert_cmpuint (a->n_buffers, ==, 3);
  /* Every embedded module is real SPIR-V. */
  for (guint i = 0; i < TEMPER_VK_SHADER_COUNT; i++)
    {
      g_assert_cmpuint (temper_vk_shader_modules[i].size % 4, ==, 0);
      g_assert_cmphex (temper_vk_shader_modules[i].code[0], ==, 0x07230203);
    }
}

int
main (int argc, char **argv)
{
  g_setenv (TEMPER_VK_ALLOW_SOFTWARE_ENV, "1", TRUE);
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/vulkan/device/list", test_list);
  g_test_add_func ("/vulkan/device/choose", test_choose);
  g_test_add_func ("/vulkan/device/lost", test_device_lost);
  g_test_add_func ("/vulkan/memory/out-of-memory", test_out_of_memory);
  g_test_add_func ("/vulkan/memory/backend-out-of-memory", test_backend_out_of_memory);
  g_test_add_func ("/vulkan/error/messages", test_error_messages);
  g_test_add_func ("/vulkan/backend/matmul-path", test_matmul_path_env);
  g_test_add_func ("/vulkan/pipeline/cache", test_pipeline_cache);
  return g_test_run ();
}
