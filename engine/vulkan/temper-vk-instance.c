/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <string.h>

#include "temper/error.h"
#include "temper-vk-error-private.h"
#include "temper-vk-instance-private.h"

#define VALIDATION_LAYER "VK_LAYER_KHRONOS_validation"

struct temper_vk_instance {
  VkInstance handle;
};

static gboolean
layer_available (const char *name)
{
  guint32 n = 0;
  g_autofree VkLayerProperties *layers = NULL;

  if (vkEnumerateInstanceLayerProperties (&n, NULL) != VK_SUCCESS || n == 0)
    return FALSE;
  layers = g_new0 (VkLayerProperties, n);
  if (vkEnumerateInstanceLayerProperties (&n, layers) != VK_SUCCESS)
    return FALSE;
  for (guint32 i = 0; i < n; i++)
    if (strcmp (layers[i].layerName, name) == 0)
      return TRUE;
  return FALSE;
}

temper_vk_instance_t *
temper_vk_instance_new (GError **error)
{
  guint32 loader_version = VK_API_VERSION_1_0;
  const char *layers[1];
  guint32 n_layers = 0;
  VkResult res;

  /* Loaders older than 1.1 lack vkEnumerateInstanceVersion. */
  if (vkEnumerateInstanceVersion (&loader_version) != VK_SUCCESS
      || loader_version < VK_API_VERSION_1_2)
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_DEVICE,
                   _("The installed Vulkan loader supports Vulkan %u.%u, but Temper needs "
                   "Vulkan 1.2. Update the Vulkan loader and graphics driver."),
                   VK_API_VERSION_MAJOR (loader_version),
                   VK_API_VERSION_MINOR (loader_version));
      return NULL;
    }

  if (g_strcmp0 (g_getenv ("TEMPER_VULKAN_VALIDATE"), "1") == 0
      && layer_available (VALIDATION_LAYER))
    layers[n_layers++] = VALIDATION_LAYER;

  VkApplicationInfo app = {
    .sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
    .pApplicationName = "Temper",
    .applicationVersion = VK_MAKE_API_VERSION (0, 0, 1, 0),
    .pEngineName = "libtemper",
    .engineVersion = VK_MAKE_API_VERSION (0, 0, 1, 0),
    .apiVersion = VK_API_VERSION_1_2,
  };
  VkInstanceCreateInfo info = {
    .sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
    .pApplicationInfo = &app,
    .enabledLayerCount = n_layers,
    .ppEnabledLayerNames = layers,
  };
  VkInstance handle = VK_NULL_HANDLE;

  res = vkCreateInstance (&info, NULL, &handle);
  if (res != VK_SUCCESS)
    {
      temper_vk_set_error (error, res, NULL, _("starting Vulkan"));
      return NULL;
    }

  temper_vk_instance_t *instance = g_new0 (temper_vk_instance_t, 1);
  instance->handle = handle;
  return instance;
}

void
temper_vk_instance_free (temper_vk_instance_t *instance)
{
  if (instance == NULL)
    return;
  vkDestroyInstance (instance->handle, NULL);
  g_free (instance);
}

VkInstance
temper_vk_instance_get_handle (temper_vk_instance_t *instance)
{
  return instance->handle;
}
