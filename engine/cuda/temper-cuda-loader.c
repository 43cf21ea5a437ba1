/* SPDX-License-Identifier: MIT */
/* temper-cuda-loader.c — finds, loads and checks libtemper-cuda.so. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <dlfcn.h>

#include "temper/error.h"
#include "temper/install-paths.h"
#include "temper-cuda-private.h"

static GMutex module_lock;
static gboolean module_tried;
static const TemperCudaModule *module_table;
static GError *module_error;

static const TemperCudaModule *
load_module (GError **error)
{
  g_autofree char *path = NULL;
  TemperCudaEntryFunc entry;
  const TemperCudaModule *table;
  void *driver;
  void *handle;

  /* The runtime inside the module would fail on the first call anyway; the
   * driver library's absence is the common case (no NVIDIA card) and
   * deserves its own plain sentence. */
  driver = dlopen ("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (driver == NULL)
    {
      g_set_error_literal (error, TEMPER_ERROR, TEMPER_ERROR_DEVICE,
                           _("no NVIDIA driver found (libcuda.so.1 could not be loaded)"));
      return NULL;
    }

  path = g_build_filename (temper_module_dir (), TEMPER_CUDA_MODULE_NAME, NULL);
  if (!g_file_test (path, G_FILE_TEST_EXISTS) &&
      (g_getenv ("FLATPAK_ID") != NULL || g_file_test ("/.flatpak-info", G_FILE_TEST_EXISTS)))
    {
      /* The Flatpak ships CUDA as an optional extension mounted on the
       * module folder (flatpak/io.github.temper.Temper.Cuda.json); flatpak
       * sets FLATPAK_ID inside every sandbox. */
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_UNSUPPORTED,
                   _("CUDA is an optional add-on of the Flatpak and it is not installed, so the "
                     "NVIDIA card is used through Vulkan. For CUDA, run: flatpak install %s.Cuda"),
                   APP_ID);
      dlclose (driver);
      return NULL;
    }
  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_UNSUPPORTED,
                   _("this copy of Temper was built without CUDA support (%s does not exist); "
                   "the Vulkan backend can use the NVIDIA card instead"), path);
      dlclose (driver);
      return NULL;
    }

  handle = dlopen (path, RTLD_NOW | RTLD_LOCAL);
  if (handle == NULL)
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_DEVICE,
                   _("the CUDA module %s could not be loaded: %s. The CUDA runtime "
                   "libraries (libcudart, libcublas) may be missing"), path, dlerror ());
      dlclose (driver);
      return NULL;
    }

  entry = (TemperCudaEntryFunc) dlsym (handle, TEMPER_CUDA_ENTRY_SYMBOL);
  table = entry != NULL ? entry (TEMPER_CUDA_ABI_VERSION) : NULL;
  if (table == NULL || table->abi_version != TEMPER_CUDA_ABI_VERSION ||
      table->size < sizeof (TemperCudaModule))
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_UNSUPPORTED,
                   _("the CUDA module %s belongs to a different version of Temper; "
                   "rebuild or reinstall Temper"), path);
      dlclose (handle);
      dlclose (driver);
      return NULL;
    }

  /* Both handles stay open for the life of the process: the table points
   * into the module, and unloading CUDA runtimes is not reliably safe. */
  return table;
}

const TemperCudaModule *
temper_cuda_module_get (GError **error)
{
  const TemperCudaModule *table;

  g_mutex_lock (&module_lock);
  if (!module_tried)
    {
      module_table = load_module (&module_error);
      module_tried = TRUE;
    }
  table = module_table;
  if (table == NULL && error != NULL)
    *error = g_error_copy (module_error);
  g_mutex_unlock (&module_lock);
  return table;
}

gboolean
temper_cuda_check (const TemperCudaModule *module, TemperCudaStatus status,
                   const char *what, GError **error)
{
  int code;

  switch (status)
    {
    case TEMPER_CUDA_OK:
      return TRUE;
    case TEMPER_CUDA_OUT_OF_MEMORY:
      code = TEMPER_ERROR_OUT_OF_MEMORY;
      break;
    case TEMPER_CUDA_INVALID_ARGUMENT:
      code = TEMPER_ERROR_INVALID_ARGUMENT;
      break;
    case TEMPER_CUDA_NO_DRIVER:
    case TEMPER_CUDA_NO_DEVICE:
    case TEMPER_CUDA_FAILED:
    default:
      code = TEMPER_ERROR_DEVICE;
      break;
    }
  /* Callers in a training step pass @what marked with N_(), untranslated,
   * so that the lookup happens only when something failed. */
  g_set_error (error, TEMPER_ERROR, code, _("CUDA failed while %s: %s"), _(what),
               module->last_error ());
  return FALSE;
}
