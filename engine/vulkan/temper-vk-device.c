/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <string.h>

#include "temper/error.h"
#include "temper/vulkan.h"
#include "temper-memory-limit.h"
#include "temper-vk-device-private.h"
#include "temper-vk-error-private.h"
#include "temper-vk-pipeline-private.h"

/* A step that has not finished after this long is treated as a hung device. */
#define FENCE_TIMEOUT_NS (G_GUINT64_CONSTANT (300) * G_USEC_PER_SEC * 1000)

void
temper_vk_device_caps_clear (TemperVkDeviceCaps *caps)
{
  g_clear_pointer (&caps->name, g_free);
  g_clear_pointer (&caps->driver, g_free);
}

static TemperDeviceType
device_type_from_vk (VkPhysicalDeviceType type)
{
  switch (type)
    {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return TEMPER_DEVICE_DISCRETE_GPU;
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return TEMPER_DEVICE_INTEGRATED_GPU;
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return TEMPER_DEVICE_VIRTUAL_GPU;
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return TEMPER_DEVICE_SOFTWARE;
    case VK_PHYSICAL_DEVICE_TYPE_OTHER:
    case VK_PHYSICAL_DEVICE_TYPE_MAX_ENUM:
    default: return TEMPER_DEVICE_OTHER;
    }
}

static gboolean
has_extension (const VkExtensionProperties *exts, guint32 n, const char *name)
{
  for (guint32 i = 0; i < n; i++)
    if (strcmp (exts[i].extensionName, name) == 0)
      return TRUE;
  return FALSE;
}

/* VK_KHR_cooperative_matrix postdates the Vulkan headers of some systems
 * Temper builds on (Debian 12's), so its few types are spelled out here,
 * with the values the Vulkan registry gives them. */
#define COOPMAT_EXTENSION_NAME "VK_KHR_cooperative_matrix"
#define STYPE_COOPMAT_FEATURES ((VkStructureType) 1000506000)
#define STYPE_COOPMAT_PROPERTIES ((VkStructureType) 1000506001)
#define COMPONENT_FLOAT16 0
#define COMPONENT_FLOAT32 1
#define SCOPE_SUBGROUP 3

typedef struct {
  VkStructureType sType;
  void           *pNext;
  VkBool32        cooperativeMatrix;
  VkBool32        cooperativeMatrixRobustBufferAccess;
} CoopmatFeatures;

typedef struct {
  VkStructureType sType;
  void           *pNext;
  guint32         MSize, NSize, KSize;
  gint32          AType, BType, CType, ResultType;
  VkBool32        saturatingAccumulation;
  gint32          scope;
} CoopmatProperties;

typedef VkResult (VKAPI_PTR *CoopmatPropertiesFn) (VkPhysicalDevice, guint32 *,
                                                   CoopmatProperties *);

/* The largest S in {16, 8} for which the device multiplies S×S float16
 * matrices into an S×S float32 accumulator at subgroup scope: what
 * shaders/matmul-coopmat.comp needs.  0 when there is none. */
static guint32
find_coopmat_size (VkInstance instance, VkPhysicalDevice physical)
{
  CoopmatPropertiesFn get_properties = (CoopmatPropertiesFn)
    vkGetInstanceProcAddr (instance, "vkGetPhysicalDeviceCooperativeMatrixPropertiesKHR");
  g_autofree CoopmatProperties *configs = NULL;
  guint32 n = 0, best = 0;

  if (get_properties == NULL || get_properties (physical, &n, NULL) != VK_SUCCESS || n == 0)
    return 0;
  configs = g_new0 (CoopmatProperties, n);
  for (guint32 i = 0; i < n; i++)
    configs[i].sType = STYPE_COOPMAT_PROPERTIES;
  if (get_properties (physical, &n, configs) != VK_SUCCESS)
    return 0;
  for (guint32 i = 0; i < n; i++)
    {
      const CoopmatProperties *c = &configs[i];
      if (c->MSize == c->NSize && c->NSize == c->KSize
          && (c->MSize == 16 || c->MSize == 8)
          && c->AType == COMPONENT_FLOAT16 && c->BType == COMPONENT_FLOAT16
          && c->CType == COMPONENT_FLOAT32 && c->ResultType == COMPONENT_FLOAT32
          && !c->saturatingAccumulation && c->scope == SCOPE_SUBGROUP)
        best = MAX (best, c->MSize);
    }
  return best;
}

static void
probe_device (VkInstance instance, VkPhysicalDevice physical, int index,
              TemperVkDeviceCaps *caps)
{
  VkPhysicalDeviceDriverProperties driver = {
    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES,
  };
  VkPhysicalDeviceSubgroupProperties subgroup = {
    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES,
    .pNext = &driver,
  };
  VkPhysicalDeviceProperties2 props = {
    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2,
    .pNext = &subgroup,
  };
  VkPhysicalDeviceMemoryProperties memory;
  guint32 n_families = 0, n_exts = 0;
  g_autofree VkQueueFamilyProperties *families = NULL;
  g_autofree VkExtensionProperties *exts = NULL;

  memset (caps, 0, sizeof *caps);
  caps->index = index;
  caps->physical = physical;

  /* Properties2 and the driver properties are core only from 1.1/1.2: read
   * the basic properties first, the rest when the device is new enough. */
  vkGetPhysicalDeviceProperties (physical, &props.properties);
  caps->api_version = props.properties.apiVersion;
  if (caps->api_version >= VK_API_VERSION_1_2)
    vkGetPhysicalDeviceProperties2 (physical, &props);

  caps->name = g_strdup (props.properties.deviceName);
  if (driver.driverInfo[0] != '\0')
    caps->driver = g_strdup (driver.driverInfo);
  else if (driver.driverName[0] != '\0')
    caps->driver = g_strdup (driver.driverName);
  else
    caps->driver = g_strdup ("");
  caps->type = device_type_from_vk (props.properties.deviceType);
  caps->limits = props.properties.limits;
  caps->subgroup_size = subgroup.subgroupSize;
  caps->subgroup_arithmetic =
    (subgroup.supportedStages & VK_SHADER_STAGE_COMPUTE_BIT) != 0
    && (subgroup.supportedOperations & VK_SUBGROUP_FEATURE_ARITHMETIC_BIT) != 0;

  vkGetPhysicalDeviceMemoryProperties (physical, &memory);
  for (guint32 i = 0; i < memory.memoryHeapCount; i++)
    if (memory.memoryHeaps[i].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT)
      caps->device_local_bytes = MAX (caps->device_local_bytes,
                                       memory.memoryHeaps[i].size);

  vkGetPhysicalDeviceQueueFamilyProperties (physical, &n_families, NULL);
  families = g_new0 (VkQueueFamilyProperties, MAX (n_families, 1));
  vkGetPhysicalDeviceQueueFamilyProperties (physical, &n_families, families);
  caps->queue_family = G_MAXUINT32;
  /* A compute-only family is usually the async compute queue: prefer it. */
  for (guint32 i = 0; i < n_families; i++)
    if ((families[i].queueFlags & VK_QUEUE_COMPUTE_BIT)
        && (caps->queue_family == G_MAXUINT32
            || !(families[i].queueFlags & VK_QUEUE_GRAPHICS_BIT)))
      caps->queue_family = i;

  if (vkEnumerateDeviceExtensionProperties (physical, NULL, &n_exts, NULL) == VK_SUCCESS)
    {
      exts = g_new0 (VkExtensionProperties, MAX (n_exts, 1));
      if (vkEnumerateDeviceExtensionProperties (physical, NULL, &n_exts, exts) != VK_SUCCESS)
        n_exts = 0;
    }
  caps->memory_budget = has_extension (exts, n_exts, VK_EXT_MEMORY_BUDGET_EXTENSION_NAME);
  caps->cooperative_matrix = has_extension (exts, n_exts, COOPMAT_EXTENSION_NAME);

  /* The shaders run 256 invocations per workgroup; Vulkan only promises 128. */
  caps->usable = caps->api_version >= VK_API_VERSION_1_2
                 && caps->queue_family != G_MAXUINT32
                 && caps->limits.maxComputeWorkGroupInvocations >= 256
                 && caps->limits.maxComputeWorkGroupSize[0] >= 256;
  if (caps->api_version >= VK_API_VERSION_1_2)
    {
      CoopmatFeatures coopmat = {
        .sType = STYPE_COOPMAT_FEATURES,
      };
      VkPhysicalDeviceVulkan12Features f12 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES,
        /* Chained only when the extension exists: drivers may reject an
         * unknown structure. */
        .pNext = caps->cooperative_matrix ? &coopmat : NULL,
      };
      VkPhysicalDeviceVulkan11Features f11 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES,
        .pNext = &f12,
      };
      VkPhysicalDeviceFeatures2 features = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2,
        .pNext = &f11,
      };
      vkGetPhysicalDeviceFeatures2 (physical, &features);
      caps->storage_16bit = f11.storageBuffer16BitAccess;
      caps->shader_float16 = f12.shaderFloat16;
      caps->vulkan_memory_model = f12.vulkanMemoryModel;
      caps->cooperative_matrix = caps->cooperative_matrix && coopmat.cooperativeMatrix;
    }

  /* The shader runs four subgroups per workgroup and keeps 15 KiB of shared
   * memory (the least every Vulkan device has is 16 KiB). */
  if (TEMPER_HAVE_VK_COOPMAT && caps->usable && caps->cooperative_matrix
      && caps->shader_float16 && caps->vulkan_memory_model
      && caps->subgroup_size > 0
      && 4 * caps->subgroup_size <= caps->limits.maxComputeWorkGroupInvocations
      && 4 * caps->subgroup_size <= caps->limits.maxComputeWorkGroupSize[0])
    caps->coopmat_size = find_coopmat_size (instance, physical);
}

GArray *
temper_vk_enumerate_devices (temper_vk_instance_t *instance, GError **error)
{
  VkInstance handle = temper_vk_instance_get_handle (instance);
  guint32 n = 0;
  g_autofree VkPhysicalDevice *physical = NULL;
  GArray *out;
  VkResult res;

  res = vkEnumeratePhysicalDevices (handle, &n, NULL);
  if (res == VK_SUCCESS && n > 0)
    {
      physical = g_new0 (VkPhysicalDevice, n);
      res = vkEnumeratePhysicalDevices (handle, &n, physical);
    }
  if (res != VK_SUCCESS && res != VK_INCOMPLETE)
    {
      temper_vk_set_error (error, res, NULL, _("listing graphics cards"));
      return NULL;
    }

  out = g_array_sized_new (FALSE, TRUE, sizeof (TemperVkDeviceCaps), n);
  g_array_set_clear_func (out, (GDestroyNotify) temper_vk_device_caps_clear);
  for (guint32 i = 0; i < n; i++)
    {
      TemperVkDeviceCaps caps;
      probe_device (handle, physical[i], (int) i, &caps);
      g_array_append_val (out, caps);
    }
  return out;
}

static int
type_rank (TemperDeviceType type)
{
  switch (type)
    {
    case TEMPER_DEVICE_DISCRETE_GPU: return 0;
    case TEMPER_DEVICE_INTEGRATED_GPU: return 1;
    case TEMPER_DEVICE_VIRTUAL_GPU: return 2;
    case TEMPER_DEVICE_OTHER: return 3;
    case TEMPER_DEVICE_SOFTWARE:
    case TEMPER_DEVICE_CPU:
    default: return 4;
    }
}

int
temper_vk_choose_device (const GArray *devices, int requested, GError **error)
{
  gboolean allow_software = g_strcmp0 (g_getenv (TEMPER_VK_ALLOW_SOFTWARE_ENV), "1") == 0;
  const TemperVkDeviceCaps *best = NULL;
  gboolean skipped_software = FALSE;

  if (requested >= 0)
    {
      const TemperVkDeviceCaps *caps;

      if ((guint) requested >= devices->len)
        {
          g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_ARGUMENT,
                       _("There is no Vulkan device number %d: this computer has %u. "
                       "Run “temper-cli devices” to see them."),
                       requested, devices->len);
          return -1;
        }
      caps = &g_array_index (devices, TemperVkDeviceCaps, requested);
      if (!caps->usable)
        {
          g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_UNSUPPORTED,
                       _("The Vulkan device “%s” (Vulkan %u.%u) cannot run Temper's compute "
                       "shaders: Temper needs Vulkan 1.2 with a compute queue and "
                       "workgroups of 256. Update its driver or choose another device."),
                       caps->name, VK_API_VERSION_MAJOR (caps->api_version),
                       VK_API_VERSION_MINOR (caps->api_version));
          return -1;
        }
      return requested;
    }

  for (guint i = 0; i < devices->len; i++)
    {
      const TemperVkDeviceCaps *caps = &g_array_index (devices, TemperVkDeviceCaps, i);

      if (!caps->usable)
        continue;
      if (caps->type == TEMPER_DEVICE_SOFTWARE && !allow_software)
        {
          skipped_software = TRUE;
          continue;
        }
      if (best == NULL
          || type_rank (caps->type) < type_rank (best->type)
          || (type_rank (caps->type) == type_rank (best->type)
              && caps->device_local_bytes > best->device_local_bytes))
        best = caps;
    }

  if (best == NULL)
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_UNSUPPORTED,
                   skipped_software
                     ? _("No graphics card with Vulkan 1.2 was found; only a software "
                       "Vulkan driver, which is slower than Temper's CPU backend. "
                       "Train on the CPU, or set TEMPER_VULKAN_ALLOW_SOFTWARE=1 to use it anyway.")
                     : _("No graphics card with Vulkan 1.2 was found. Install the "
                       "graphics driver's Vulkan support, or train on the CPU."));
      return -1;
    }
  return best->index;
}

char *
temper_vk_device_caps_describe (const TemperVkDeviceCaps *caps)
{
  GString *s = g_string_new (NULL);

  g_string_append_printf (s, "Vulkan %u.%u.%u",
                          VK_API_VERSION_MAJOR (caps->api_version),
                          VK_API_VERSION_MINOR (caps->api_version),
                          VK_API_VERSION_PATCH (caps->api_version));
  if (!caps->usable)
    g_string_append (s, _(" (not usable: Temper needs Vulkan 1.2 with compute "
                        "workgroups of 256)"));
  if (caps->subgroup_size > 0)
    g_string_append_printf (s, caps->subgroup_arithmetic ? _(", subgroup %u with arithmetic")
                                                         : _(", subgroup %u"),
                            caps->subgroup_size);
  g_string_append_printf (s, _(", 16-bit storage %s, float16 %s"),
                          caps->storage_16bit ? _("yes") : _("no"),
                          caps->shader_float16 ? _("yes") : _("no"));
  if (caps->coopmat_size > 0)
    g_string_append_printf (s, _(", cooperative matrices: yes, %u×%u×%u f16"),
                            caps->coopmat_size, caps->coopmat_size, caps->coopmat_size);
  else if (caps->cooperative_matrix && !TEMPER_HAVE_VK_COOPMAT)
    g_string_append (s, _(", cooperative matrices: not in this build"));
  else if (caps->cooperative_matrix)
    g_string_append (s, _(", cooperative matrices: no f16 subgroup configuration"));
  else
    g_string_append (s, _(", cooperative matrices: no"));
  g_string_append_printf (s, _(", memory budget %s"),
                          caps->memory_budget ? _("yes") : _("no"));
  return g_string_free (s, FALSE);
}

static guint64
heap_free_bytes (const TemperVkDeviceCaps *caps)
{
  VkPhysicalDeviceMemoryBudgetPropertiesEXT budget = {
    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_BUDGET_PROPERTIES_EXT,
  };
  VkPhysicalDeviceMemoryProperties2 props = {
    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_PROPERTIES_2,
    .pNext = &budget,
  };
  guint64 best = 0, limit = temper_memory_limit ();

  if (!caps->memory_budget || caps->api_version < VK_API_VERSION_1_1)
    return limit > 0 ? MIN (limit, caps->device_local_bytes) : 0;
  vkGetPhysicalDeviceMemoryProperties2 (caps->physical, &props);
  for (guint32 i = 0; i < props.memoryProperties.memoryHeapCount; i++)
    if (props.memoryProperties.memoryHeaps[i].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT)
      {
        guint64 free_bytes = budget.heapBudget[i] > budget.heapUsage[i]
                               ? budget.heapBudget[i] - budget.heapUsage[i] : 0;
        best = MAX (best, free_bytes);
      }
  return limit > 0 ? MIN (best, limit) : best;
}

gboolean
temper_vulkan_list_devices (GPtrArray *out, GError **error)
{
  g_autoptr (temper_vk_instance_t) instance = NULL;
  g_autoptr (GArray) devices = NULL;

  g_return_val_if_fail (out != NULL, FALSE);

  instance = temper_vk_instance_new (error);
  if (instance == NULL)
    return FALSE;
  devices = temper_vk_enumerate_devices (instance, error);
  if (devices == NULL)
    return FALSE;

  for (guint i = 0; i < devices->len; i++)
    {
      const TemperVkDeviceCaps *caps = &g_array_index (devices, TemperVkDeviceCaps, i);
      TemperDeviceInfo *info = g_new0 (TemperDeviceInfo, 1);

      info->backend = TEMPER_BACKEND_VULKAN;
      info->index = caps->index;
      info->name = g_strdup (caps->name);
      info->driver = g_strdup (caps->driver);
      info->type = caps->type;
      info->memory_total = caps->device_local_bytes;
      info->memory_free = heap_free_bytes (caps);
      info->details = temper_vk_device_caps_describe (caps);
      g_ptr_array_add (out, info);
    }
  return TRUE;
}

static gboolean
create_transfer_objects (temper_vk_device_t *device, GError **error)
{
  VkCommandPoolCreateInfo pool_info = {
    .sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
    .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
    .queueFamilyIndex = device->caps.queue_family,
  };
  VkFenceCreateInfo fence_info = { .sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO };
  VkResult res;

  res = vkCreateCommandPool (device->handle, &pool_info, NULL, &device->transfer_pool);
  if (res == VK_SUCCESS)
    {
      VkCommandBufferAllocateInfo alloc = {
        .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
        .commandPool = device->transfer_pool,
        .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
        .commandBufferCount = 1,
      };
      res = vkAllocateCommandBuffers (device->handle, &alloc, &device->transfer_cmd);
    }
  if (res == VK_SUCCESS)
    res = vkCreateFence (device->handle, &fence_info, NULL, &device->transfer_fence);
  if (res != VK_SUCCESS)
    {
      temper_vk_set_error (error, res, device->caps.name, _("preparing the graphics card"));
      return FALSE;
    }
  return TRUE;
}

temper_vk_device_t *
temper_vk_device_open (int requested, GError **error)
{
  g_autoptr (temper_vk_instance_t) instance = NULL;
  g_autoptr (GArray) devices = NULL;
  g_autoptr (temper_vk_device_t) device = NULL;
  const char *extensions[2];
  guint32 n_extensions = 0;
  float priority = 1.0f;
  VkResult res;
  int chosen;

  instance = temper_vk_instance_new (error);
  if (instance == NULL)
    return NULL;
  devices = temper_vk_enumerate_devices (instance, error);
  if (devices == NULL)
    return NULL;
  chosen = temper_vk_choose_device (devices, requested, error);
  if (chosen < 0)
    return NULL;

  device = g_new0 (temper_vk_device_t, 1);
  device->caps = g_array_index (devices, TemperVkDeviceCaps, chosen);
  /* The strings now belong to the device, not the array. */
  g_array_index (devices, TemperVkDeviceCaps, chosen).name = NULL;
  g_array_index (devices, TemperVkDeviceCaps, chosen).driver = NULL;

  if (device->caps.memory_budget)
    extensions[n_extensions++] = VK_EXT_MEMORY_BUDGET_EXTENSION_NAME;
  if (device->caps.coopmat_size > 0)
    extensions[n_extensions++] = COOPMAT_EXTENSION_NAME;

  CoopmatFeatures coopmat = {
    .sType = STYPE_COOPMAT_FEATURES,
    .cooperativeMatrix = VK_TRUE,
  };
  VkPhysicalDeviceVulkan12Features f12 = {
    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES,
    .pNext = device->caps.coopmat_size > 0 ? &coopmat : NULL,
    .shaderFloat16 = device->caps.shader_float16,
    .vulkanMemoryModel = device->caps.coopmat_size > 0,
  };
  VkPhysicalDeviceVulkan11Features f11 = {
    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES,
    .pNext = &f12,
    .storageBuffer16BitAccess = device->caps.storage_16bit,
  };
  VkDeviceQueueCreateInfo queue_info = {
    .sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
    .queueFamilyIndex = device->caps.queue_family,
    .queueCount = 1,
    .pQueuePriorities = &priority,
  };
  VkDeviceCreateInfo info = {
    .sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
    .pNext = &f11,
    .queueCreateInfoCount = 1,
    .pQueueCreateInfos = &queue_info,
    .enabledExtensionCount = n_extensions,
    .ppEnabledExtensionNames = extensions,
  };

  res = vkCreateDevice (device->caps.physical, &info, NULL, &device->handle);
  if (res != VK_SUCCESS)
    {
      temper_vk_set_error (error, res, device->caps.name, _("starting the graphics card"));
      return NULL;
    }
  device->instance = g_steal_pointer (&instance);
  vkGetDeviceQueue (device->handle, device->caps.queue_family, 0, &device->queue);
  vkGetPhysicalDeviceMemoryProperties (device->caps.physical, &device->memory);

  if (!create_transfer_objects (device, error))
    return NULL;
  device->pipelines = temper_vk_pipelines_new (device, error);
  if (device->pipelines == NULL)
    return NULL;
  return g_steal_pointer (&device);
}

void
temper_vk_device_free (temper_vk_device_t *device)
{
  if (device == NULL)
    return;
  if (device->handle != VK_NULL_HANDLE)
    {
      vkDeviceWaitIdle (device->handle);
      g_clear_pointer (&device->pipelines, temper_vk_pipelines_free);
      if (device->transfer_fence != VK_NULL_HANDLE)
        vkDestroyFence (device->handle, device->transfer_fence, NULL);
      if (device->transfer_pool != VK_NULL_HANDLE)
        vkDestroyCommandPool (device->handle, device->transfer_pool, NULL);
      vkDestroyDevice (device->handle, NULL);
    }
  temper_vk_device_caps_clear (&device->caps);
  g_clear_pointer (&device->instance, temper_vk_instance_free);
  g_free (device);
}

gboolean
temper_vk_device_wait (temper_vk_device_t *device,
                       VkFence             fence,
                       const char         *what,
                       GError            **error)
{
  VkResult res = vkWaitForFences (device->handle, 1, &fence, VK_TRUE, FENCE_TIMEOUT_NS);

  if (res == VK_SUCCESS)
    return TRUE;
  if (res == VK_ERROR_DEVICE_LOST || res == VK_TIMEOUT)
    device->lost = TRUE;
  temper_vk_set_error (error, res, device->caps.name, what);
  return FALSE;
}
