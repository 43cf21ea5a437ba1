/* SPDX-License-Identifier: MIT */
/* temper-backend-open.c — choosing and opening a compute backend. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <string.h>

#include "temper-cuda-backend.h"
#include "temper-cuda-private.h"
#include "temper/error.h"
#include "temper-backend-open.h"
#if TEMPER_HAVE_VULKAN
#include "temper/vulkan.h"
#include "temper-vk-backend.h"
#endif

gboolean
temper_backend_choice_parse (const char *text, TemperBackendKind *kind, GError **error)
{
  static const struct { const char *name; TemperBackendKind kind; } names[] = {
    { "cpu", TEMPER_BACKEND_CPU },
    { "vulkan", TEMPER_BACKEND_VULKAN },
    { "cuda", TEMPER_BACKEND_CUDA },
    { "auto", TEMPER_BACKEND_BEST },
  };

  for (guint i = 0; text != NULL && i < G_N_ELEMENTS (names); i++)
    if (g_ascii_strcasecmp (text, names[i].name) == 0)
      {
        *kind = names[i].kind;
        return TRUE;
      }
  g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_ARGUMENT,
               _("“%s” is not a backend: choose cpu, vulkan, cuda or auto (the best there is)"),
               text != NULL ? text : "");
  return FALSE;
}

static TemperDeviceInfo *
cpu_info (TemperBackend *backend)
{
  TemperDeviceInfo *info = g_new0 (TemperDeviceInfo, 1);

  info->backend = TEMPER_BACKEND_CPU;
  info->index = 0;
  info->name = g_strdup ("CPU");
  info->driver = g_strdup ("");
  info->type = TEMPER_DEVICE_CPU;
  info->details = g_strdup_printf ("%s, %d threads", temper_cpu_backend_get_kernels_name (backend),
                                   temper_cpu_backend_get_n_threads (backend));
  return info;
}

/* The entry of @list for device @index, or the one named @name when @index < 0. */
static TemperDeviceInfo *
steal_matching (GPtrArray *list, int index, const char *name)
{
  for (guint i = 0; i < list->len; i++)
    {
      TemperDeviceInfo *d = list->pdata[i];

      if ((index >= 0 && d->index == index) ||
          (index < 0 && name != NULL && g_strcmp0 (d->name, name) == 0))
        return g_steal_pointer (&list->pdata[i]);
    }
  return NULL;
}

static TemperBackend *
open_cuda (int device, TemperDeviceInfo **info, GError **error)
{
  g_autoptr(GPtrArray) list = g_ptr_array_new_with_free_func ((GDestroyNotify) temper_device_info_free);
  TemperBackend *backend;

  if (!temper_cuda_list_devices (list, error))
    return NULL;
  if (list->len == 0)
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_UNSUPPORTED,
                   _("The NVIDIA driver is there but reports no GPU. Choose another backend "
                   "(“temper-cli devices” lists what this computer has)."));
      return NULL;
    }
  if (device < 0)
    device = 0;
  backend = temper_cuda_backend_new (device, error);
  if (backend != NULL && info != NULL)
    *info = steal_matching (list, device, NULL);
  return backend;
}

static TemperBackend *
open_vulkan (int device, TemperDeviceInfo **info, GError **error)
{
#if TEMPER_HAVE_VULKAN
  TemperBackend *backend = temper_vk_backend_new (device, error);

  if (backend != NULL && info != NULL)
    {
      g_autoptr(GPtrArray) list = g_ptr_array_new_with_free_func ((GDestroyNotify) temper_device_info_free);

      /* Without a list the job still runs; only the memory check is lost. */
      if (temper_vulkan_list_devices (list, NULL))
        *info = steal_matching (list, device, temper_vk_backend_get_device_name (backend));
    }
  return backend;
#else
  (void) device;
  (void) info;
  g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_UNSUPPORTED,
               _("This copy of Temper was built without Vulkan support. Use --backend cpu, "
               "or a build made with Vulkan enabled."));
  return NULL;
#endif
}

/* A CUDA GPU, then a Vulkan GPU, then the CPU; what was skipped is logged
 * at debug level, since the CPU always works. */
static TemperBackend *
open_best (const TemperBackendOpenOptions *options, TemperDeviceInfo **info)
{
  g_autoptr(GError) cuda_error = NULL;
  g_autoptr(GError) vk_error = NULL;
  g_autoptr(TemperDeviceInfo) found = NULL;
  TemperBackend *backend;

  backend = open_cuda (-1, &found, &cuda_error);
  if (backend == NULL)
    backend = open_vulkan (-1, &found, &vk_error);
  /* A software Vulkan driver (allowed by TEMPER_VULKAN_ALLOW_SOFTWARE) is
   * slower than the CPU backend itself. */
  if (backend != NULL && found != NULL && found->type == TEMPER_DEVICE_SOFTWARE)
    {
      g_clear_pointer (&backend, temper_backend_free);
      g_set_error_literal (&vk_error, TEMPER_ERROR, TEMPER_ERROR_UNSUPPORTED,
                           _("only a software Vulkan driver"));
    }
  if (backend != NULL)
    {
      if (info != NULL)
        *info = g_steal_pointer (&found);
      return backend;
    }
  g_debug ("No GPU backend: CUDA: %s; Vulkan: %s",
           cuda_error != NULL ? cuda_error->message : "unused",
           vk_error != NULL ? vk_error->message : "unused");
  backend = temper_cpu_backend_new (options->n_threads, options->cpu_kernels);
  if (info != NULL)
    *info = cpu_info (backend);
  return backend;
}

TemperBackend *
temper_backend_open (TemperBackendKind kind, int device, const TemperBackendOpenOptions *options,
                     TemperDeviceInfo **info, GError **error)
{
  static const TemperBackendOpenOptions defaults = { 0, TEMPER_CPU_KERNELS_BEST };
  TemperBackend *backend;

  if (options == NULL)
    options = &defaults;
  if (info != NULL)
    *info = NULL;

  if (kind == TEMPER_BACKEND_BEST)
    return open_best (options, info);
  if (kind == TEMPER_BACKEND_CUDA)
    return open_cuda (device, info, error);
  if (kind == TEMPER_BACKEND_VULKAN)
    return open_vulkan (device, info, error);
  g_return_val_if_fail (kind == TEMPER_BACKEND_CPU, NULL);
  if (device > 0)
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_ARGUMENT,
                   _("There is no CPU device %d: the CPU backend has only device 0"), device);
      return NULL;
    }
  backend = temper_cpu_backend_new (options->n_threads, options->cpu_kernels);
  if (info != NULL)
    *info = cpu_info (backend);
  return backend;
}

TemperBackend *
temper_backend_open_for_training (TemperBackendKind kind, int device,
                                  const TemperBackendOpenOptions *options,
                                  TemperDeviceInfo **info, char **note, GError **error)
{
  static const TemperBackendOpenOptions defaults = { 0, TEMPER_CPU_KERNELS_BEST };
  g_autoptr(TemperDeviceInfo) found = NULL;
  g_autoptr(GString) notes = g_string_new (NULL);
  TemperBackend *backend;

  if (options == NULL)
    options = &defaults;
  *note = NULL;
  backend = temper_backend_open (kind, device, options, &found, error);
  while (backend != NULL && backend->kind != TEMPER_BACKEND_CPU)
    {
      g_autofree char *reason = NULL;
      g_autofree char *name = g_strdup (found != NULL ? found->name : temper_backend_get_name (backend));
      TemperBackendKind failed = backend->kind;

      if (temper_backend_check_device (backend, found, &reason))
        break;
      if (notes->len > 0)
        g_string_append_c (notes, ' ');
      g_string_append_printf (notes, _("“%s” is not used for training: it failed Temper’s check of "
                                       "its results (%s)."), name, reason);
      g_clear_pointer (&backend, temper_backend_free);
      g_clear_pointer (&found, temper_device_info_free);
      /* The next backend that auto would have chosen; the CPU otherwise. */
      if (kind == TEMPER_BACKEND_BEST && failed == TEMPER_BACKEND_CUDA)
        {
          backend = temper_backend_open (TEMPER_BACKEND_VULKAN, -1, options, &found, NULL);
          if (backend != NULL && found != NULL && found->type == TEMPER_DEVICE_SOFTWARE)
            {
              g_clear_pointer (&backend, temper_backend_free);
              g_clear_pointer (&found, temper_device_info_free);
            }
        }
      if (backend == NULL)
        backend = temper_backend_open (TEMPER_BACKEND_CPU, 0, options, &found, error);
    }
  if (notes->len > 0)
    *note = g_string_free (g_steal_pointer (&notes), FALSE);
  if (info != NULL)
    *info = g_steal_pointer (&found);
  return backend;
}

double
temper_device_peak_tflops (const char *device_name)
{
  /* Most specific names first: "H100 PCIe" before "H100". */
  static const struct { const char *name; double tflops; } known[] = {
    { "H200", 989.4 }, { "GH200", 989.4 }, { "H100 NVL", 835.0 }, { "H100 PCIe", 756.0 },
    { "H100", 989.4 }, { "H800", 989.4 }, { "A100", 312.0 }, { "A800", 312.0 },
    { "L40S", 362.05 }, { "L40", 181.05 }, { "L4", 121.0 }, { "A10G", 70.0 }, { "A10", 125.0 },
    { "RTX 6000 Ada", 364.2 }, { "RTX 4090", 165.2 }, { "RTX 4080", 97.5 },
    { "RTX 3090", 35.6 },
  };

  for (guint i = 0; device_name != NULL && i < G_N_ELEMENTS (known); i++)
    if (strstr (device_name, known[i].name) != NULL)
      return known[i].tflops;
  return 0;
}

guint64
temper_backend_get_peak_memory (TemperBackend *backend)
{
  switch (backend->kind)
    {
    case TEMPER_BACKEND_CUDA:
      return temper_cuda_backend_get_peak_memory (backend);
#if TEMPER_HAVE_VULKAN
    case TEMPER_BACKEND_VULKAN:
      return temper_vk_backend_get_peak_memory (backend);
#endif
    case TEMPER_BACKEND_CPU:
    default:
      return 0;
    }
}

char *
temper_backend_describe (TemperBackend *backend, const TemperDeviceInfo *info)
{
  if (backend->kind == TEMPER_BACKEND_CPU)
    return g_strdup_printf (_("cpu (%s, %d threads)"), temper_cpu_backend_get_kernels_name (backend),
                            temper_cpu_backend_get_n_threads (backend));
  if (info != NULL)
    return g_strdup_printf ("%s (%s)", temper_backend_get_name (backend), info->name);
  return g_strdup (temper_backend_get_name (backend));
}

/* "3.50 GB", or "12.3 MB" for what would read as 0.0x GB. */
static char *
format_gb (guint64 bytes)
{
  if (bytes < 100000000u)
    return g_strdup_printf ("%.1f MB", (double) bytes / 1e6);
  return g_strdup_printf ("%.2f GB", (double) bytes / 1e9);
}

gboolean
temper_backend_check_memory (const TemperDeviceInfo *info, guint64 needed, const char *what,
                             GError **error)
{
  guint64 available, limit = temper_memory_limit ();
  g_autofree char *needed_s = format_gb (needed);
  g_autofree char *available_s = NULL;

  if (info == NULL)
    return TRUE;
  available = info->backend == TEMPER_BACKEND_CPU ? 0
              : info->memory_free > 0 ? info->memory_free : info->memory_total;
  if (limit > 0 && (available == 0 || limit <= available))
    {
      if (needed <= limit)
        return TRUE;
      available_s = format_gb (limit);
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_OUT_OF_MEMORY,
                   _("%s needs %s, but %s=%s allows only %s on “%s”. Lower the "
                   "micro-batch or the maximum length, turn on activation recomputation, "
                   "or raise the limit."),
                   what, needed_s, TEMPER_MEMORY_LIMIT_ENV,
                   g_getenv (TEMPER_MEMORY_LIMIT_ENV), available_s, info->name);
      return FALSE;
    }
  if (available == 0 || needed <= available)
    return TRUE;
  available_s = format_gb (available);
  g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_OUT_OF_MEMORY,
               _("%s needs %s, but the GPU “%s” has %s free. Lower the micro-batch "
               "or the maximum length, turn on activation recomputation, or use the CPU."),
               what, needed_s, info->name, available_s);
  return FALSE;
}
