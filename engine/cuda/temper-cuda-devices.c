/* SPDX-License-Identifier: MIT */
/* temper-cuda-devices.c — the NVIDIA GPUs the CUDA module can see. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "temper/device-info.h"
#include "temper/error.h"
#include "temper-cuda-private.h"

/* The NVIDIA kernel module's version ("550.54.14") is what people compare
 * against release notes; CUDA only knows the CUDA version it supports. */
static char *
nvidia_kernel_driver_version (void)
{
  g_autofree char *contents = NULL;
  g_auto(GStrv) words = NULL;

  if (!g_file_get_contents ("/proc/driver/nvidia/version", &contents, NULL, NULL))
    return NULL;
  /* "NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.54.14  Thu Feb 22 …" */
  words = g_strsplit_set (contents, " \t\n", -1);
  for (guint i = 0; words[i] != NULL; i++)
    if (g_strcmp0 (words[i], "Module") == 0)
      for (guint j = i + 1; words[j] != NULL; j++)
        if (words[j][0] != '\0')
          return g_strdup (words[j]);
  return NULL;
}

gboolean
temper_cuda_list_devices (GPtrArray *out, GError **error)
{
  const TemperCudaModule *module = temper_cuda_module_get (error);
  g_autofree char *kernel_version = NULL;
  int count = 0;

  if (module == NULL)
    return FALSE;
  /* No GPU, or a driver too old for this runtime: the module's sentence
   * says it all, without a "CUDA failed while …" in front. */
  if (module->device_count (&count) != TEMPER_CUDA_OK)
    {
      g_set_error_literal (error, TEMPER_ERROR, TEMPER_ERROR_DEVICE, module->last_error ());
      return FALSE;
    }

  kernel_version = nvidia_kernel_driver_version ();
  for (int i = 0; i < count; i++)
    {
      TemperCudaDeviceProps props = { 0 };
      TemperDeviceInfo *info;
      g_autofree char *what = g_strdup_printf (_("reading the properties of GPU %d"), i);

      if (!temper_cuda_check (module, module->device_props (i, &props), what, error))
        return FALSE;

      info = g_new0 (TemperDeviceInfo, 1);
      info->backend = TEMPER_BACKEND_CUDA;
      info->index = i;
      info->name = g_strndup (props.name, sizeof props.name);
      info->type = props.integrated ? TEMPER_DEVICE_INTEGRATED_GPU : TEMPER_DEVICE_DISCRETE_GPU;
      info->memory_total = props.memory_total;
      info->memory_free = props.memory_free;
      if (kernel_version != NULL)
        info->driver = g_strdup_printf ("NVIDIA %s (CUDA %d.%d)", kernel_version,
                                        props.driver_version / 1000,
                                        props.driver_version % 1000 / 10);
      else
        info->driver = g_strdup_printf ("NVIDIA (CUDA %d.%d)", props.driver_version / 1000,
                                        props.driver_version % 1000 / 10);
      info->details = g_strdup_printf (_("compute capability %d.%d, %d multiprocessors, "
                                       "bf16 %s, runtime CUDA %d.%d"),
                                       props.compute_major, props.compute_minor,
                                       props.multiprocessors,
                                       props.compute_major >= 8 ? _("yes") : _("no"),
                                       props.runtime_version / 1000,
                                       props.runtime_version % 1000 / 10);
      g_ptr_array_add (out, info);
    }
  return TRUE;
}
