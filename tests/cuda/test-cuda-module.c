/* SPDX-License-Identifier: MIT */
/* The CUDA module's boundary: one entry point, an ABI check, a complete
 * function table, and a plain answer when no driver is there.  Needs no
 * GPU: it loads libtemper-cuda.so straight from the build folder. */
#include "config.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include <glib.h>

#include "cuda/temper-cuda-module.h"

static void *module_handle;

static TemperCudaEntryFunc
entry_point (void)
{
  return (TemperCudaEntryFunc) dlsym (module_handle, TEMPER_CUDA_ENTRY_SYMBOL);
}

static void
test_abi_check (void)
{
  TemperCudaEntryFunc entry = entry_point ();
  const TemperCudaModule *table;

  g_assert_nonnull (entry);
  table = entry (TEMPER_CUDA_ABI_VERSION);
  g_assert_nonnull (table);
  g_assert_cmpuint (table->abi_version, ==, TEMPER_CUDA_ABI_VERSION);
  g_assert_cmpuint (table->size, ==, sizeof (TemperCudaModule));
  /* A module from another version must refuse rather than hand over a
   * table the caller would misread. */
  g_assert_null (entry (TEMPER_CUDA_ABI_VERSION + 1));
  g_assert_null (entry (0));
}

static void
test_table_complete (void)
{
  const TemperCudaModule *table = entry_point () (TEMPER_CUDA_ABI_VERSION);
  const void *const *slots = (const void *const *) ((const guint8 *) table +
                                                     G_STRUCT_OFFSET (TemperCudaModule, last_error));
  gsize n_slots = (sizeof (TemperCudaModule) - G_STRUCT_OFFSET (TemperCudaModule, last_error)) /
                  sizeof (void *);

  for (gsize i = 0; i < n_slots; i++)
    {
      g_test_message ("function %" G_GSIZE_FORMAT, i);
      g_assert_nonnull (slots[i]);
    }
}

static void
test_device_count_without_driver (void)
{
  const TemperCudaModule *table = entry_point () (TEMPER_CUDA_ABI_VERSION);
  void *driver = dlopen ("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  TemperCudaStatus status;
  int count = -1;

  if (driver != NULL)
    {
      dlclose (driver);
      g_test_skip ("an NVIDIA driver is installed here");
      return;
    }
  status = table->device_count (&count);
  g_assert_cmpint (status, ==, TEMPER_CUDA_NO_DRIVER);
  g_assert_cmpint (count, ==, 0);
  g_assert_cmpstr (table->last_error (), ==,
                   "no NVIDIA driver found (libcuda.so.1 could not be loaded)");
}

static void
test_bad_arguments_refused (void)
{
  const TemperCudaModule *table = entry_point () (TEMPER_CUDA_ABI_VERSION);

  /* Checked before any kernel is queued, so no GPU is needed to see them. */
  g_assert_cmpint (table->dequantize (NULL, NULL, 12 /* Q4_K */, 256), ==,
                   TEMPER_CUDA_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (table->last_error (), "type 12"));
  g_assert_cmpint (table->dequantize (NULL, NULL, TEMPER_CUDA_TYPE_Q8_0, 33), ==,
                   TEMPER_CUDA_INVALID_ARGUMENT);
  g_assert_cmpint (table->rope (NULL, 4, 2, 7, 4, 0, 10000.0f, TEMPER_CUDA_ROPE_HALVES, 0), ==,
                   TEMPER_CUDA_INVALID_ARGUMENT);
  g_assert_cmpint (table->adamw (NULL, NULL, NULL, NULL, 16, NULL, 0.0f, 1e-3f, 0.9f, 0.999f,
                                 1e-8f, 0.0f, 0), ==, TEMPER_CUDA_INVALID_ARGUMENT);
  g_assert_cmpint (table->linear_forward (NULL, NULL, NULL, TEMPER_CUDA_TYPE_Q4_0, NULL, 4, 48,
                                          8, 0), ==, TEMPER_CUDA_INVALID_ARGUMENT);
  /* A dropout rate outside [0, 1), and more values than a mask index covers. */
  g_assert_cmpint (table->dropout (NULL, NULL, 16, 1.0f, 7), ==, TEMPER_CUDA_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (table->last_error (), "dropout rate of 1"));
  g_assert_cmpint (table->dropout (NULL, NULL, 16, -0.5f, 7), ==, TEMPER_CUDA_INVALID_ARGUMENT);
  g_assert_cmpint (table->dropout (NULL, NULL, (int64_t) 1 << 33, 0.1f, 7), ==,
                   TEMPER_CUDA_INVALID_ARGUMENT);
  g_assert_cmpint (table->dropout (NULL, NULL, 0, 0.1f, 7), ==, TEMPER_CUDA_OK);
}

int
main (int argc, char **argv)
{
  g_autofree char *path = NULL;

  g_test_init (&argc, &argv, NULL);
  path = g_build_filename (TEMPER_BUILD_ROOT, "kernels", TEMPER_CUDA_MODULE_NAME, NULL);
  module_handle = dlopen (path, RTLD_NOW | RTLD_LOCAL);
  if (module_handle == NULL)
    {
      printf ("Bail out! %s could not be loaded: %s\n", path, dlerror ());
      return 1;
    }

  g_test_add_func ("/cuda-module/abi-check", test_abi_check);
  g_test_add_func ("/cuda-module/table-complete", test_table_complete);
  g_test_add_func ("/cuda-module/device-count-without-driver", test_device_count_without_driver);
  g_test_add_func ("/cuda-module/bad-arguments-refused", test_bad_arguments_refused);
  return g_test_run ();
}
