/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "temper/error.h"
#include "temper-vk-error-private.h"

const char *
temper_vk_result_name (VkResult result)
{
  switch (result)
    {
    case VK_SUCCESS: return "VK_SUCCESS";
    case VK_NOT_READY: return "VK_NOT_READY";
    case VK_TIMEOUT: return "VK_TIMEOUT";
    case VK_INCOMPLETE: return "VK_INCOMPLETE";
    case VK_ERROR_OUT_OF_HOST_MEMORY: return "VK_ERROR_OUT_OF_HOST_MEMORY";
    case VK_ERROR_OUT_OF_DEVICE_MEMORY: return "VK_ERROR_OUT_OF_DEVICE_MEMORY";
    case VK_ERROR_INITIALIZATION_FAILED: return "VK_ERROR_INITIALIZATION_FAILED";
    case VK_ERROR_DEVICE_LOST: return "VK_ERROR_DEVICE_LOST";
    case VK_ERROR_MEMORY_MAP_FAILED: return "VK_ERROR_MEMORY_MAP_FAILED";
    case VK_ERROR_LAYER_NOT_PRESENT: return "VK_ERROR_LAYER_NOT_PRESENT";
    case VK_ERROR_EXTENSION_NOT_PRESENT: return "VK_ERROR_EXTENSION_NOT_PRESENT";
    case VK_ERROR_FEATURE_NOT_PRESENT: return "VK_ERROR_FEATURE_NOT_PRESENT";
    case VK_ERROR_INCOMPATIBLE_DRIVER: return "VK_ERROR_INCOMPATIBLE_DRIVER";
    case VK_ERROR_TOO_MANY_OBJECTS: return "VK_ERROR_TOO_MANY_OBJECTS";
    case VK_ERROR_FORMAT_NOT_SUPPORTED: return "VK_ERROR_FORMAT_NOT_SUPPORTED";
    case VK_ERROR_FRAGMENTED_POOL: return "VK_ERROR_FRAGMENTED_POOL";
    case VK_ERROR_OUT_OF_POOL_MEMORY: return "VK_ERROR_OUT_OF_POOL_MEMORY";
    case VK_ERROR_INVALID_EXTERNAL_HANDLE: return "VK_ERROR_INVALID_EXTERNAL_HANDLE";
    case VK_ERROR_FRAGMENTATION: return "VK_ERROR_FRAGMENTATION";
    case VK_ERROR_UNKNOWN: return "VK_ERROR_UNKNOWN";
    default: return _("an unknown Vulkan error");
    }
}

void
temper_vk_set_error (GError    **error,
                     VkResult    result,
                     const char *device_name,
                     const char *what)
{
  const char *device = device_name != NULL ? device_name : _("the Vulkan driver");

  switch (result)
    {
    case VK_ERROR_DEVICE_LOST:
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_DEVICE,
                   _("The graphics card “%s” stopped responding while %s (the driver "
                   "reported the device as lost). Save your work, close other programs "
                   "that use the graphics card, and try again; if it keeps happening, "
                   "update the graphics driver or train on the CPU."),
                   device, what);
      return;
    case VK_ERROR_OUT_OF_DEVICE_MEMORY:
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_OUT_OF_MEMORY,
                   _("The graphics card “%s” ran out of memory while %s. Close other "
                   "programs that use the graphics card, or use a smaller model, a "
                   "shorter sequence length or a smaller batch."),
                   device, what);
      return;
    case VK_ERROR_OUT_OF_HOST_MEMORY:
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_OUT_OF_MEMORY,
                   _("The computer ran out of memory while %s on “%s”. Close other "
                   "programs, or use a smaller model or batch."),
                   what, device);
      return;
    case VK_ERROR_INCOMPATIBLE_DRIVER:
    case VK_ERROR_INITIALIZATION_FAILED:
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_DEVICE,
                   _("Could not use %s while %s: no compatible Vulkan driver was found "
                   "(%s). Install or update the graphics driver."),
                   device, what, temper_vk_result_name (result));
      return;
    case VK_TIMEOUT:
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_DEVICE,
                   _("The graphics card “%s” took too long while %s and was given up "
                   "on. Close other programs that use the graphics card, or train on "
                   "the CPU."),
                   device, what);
      return;
    default:
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_DEVICE,
                   _("The Vulkan driver for “%s” failed while %s (%s). Updating the "
                   "graphics driver may help."),
                   device, what, temper_vk_result_name (result));
      return;
    }
}
