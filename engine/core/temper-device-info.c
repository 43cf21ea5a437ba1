/* SPDX-License-Identifier: MIT */
/* temper-device-info.c — the description of one compute device, shared by
 * every backend that lists devices and by the registry that sorts them. */
#include "config.h"

#include "temper/device-info.h"

void
temper_device_info_free (TemperDeviceInfo *info)
{
  if (info == NULL)
    return;
  g_free (info->name);
  g_free (info->driver);
  g_free (info->details);
  g_free (info->self_test_reason);
  g_free (info);
}

const char *
temper_backend_kind_name (TemperBackendKind kind)
{
  switch (kind)
    {
    case TEMPER_BACKEND_CPU:
      return "cpu";
    case TEMPER_BACKEND_VULKAN:
      return "vulkan";
    case TEMPER_BACKEND_CUDA:
      return "cuda";
    default:
      return "unknown";
    }
}

const char *
temper_device_type_name (TemperDeviceType type)
{
  switch (type)
    {
    case TEMPER_DEVICE_CPU:
      return "CPU";
    case TEMPER_DEVICE_DISCRETE_GPU:
      return "discrete GPU";
    case TEMPER_DEVICE_INTEGRATED_GPU:
      return "integrated GPU";
    case TEMPER_DEVICE_VIRTUAL_GPU:
      return "virtual GPU";
    case TEMPER_DEVICE_SOFTWARE:
      return "software";
    case TEMPER_DEVICE_OTHER:
    default:
      return "other";
    }
}
