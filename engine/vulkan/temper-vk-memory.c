/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <string.h>

#include "temper/error.h"
#include "temper-memory-limit.h"
#include "temper-vk-error-private.h"
#include "temper-vk-memory-private.h"

/* Large copies go through a staging buffer this big, a piece at a time. */
#define STAGING_CHUNK (G_GUINT64_CONSTANT (64) << 20)

static guint32
largest_device_local_heap (const VkPhysicalDeviceMemoryProperties *memory)
{
  guint32 best = 0;
  VkDeviceSize best_size = 0;

  for (guint32 i = 0; i < memory->memoryHeapCount; i++)
    if ((memory->memoryHeaps[i].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT)
        && memory->memoryHeaps[i].size > best_size)
      {
        best = i;
        best_size = memory->memoryHeaps[i].size;
      }
  return best;
}

static void
heap_budget (temper_vk_device_t *device, guint32 heap,
             guint64 *total, guint64 *free_bytes)
{
  guint64 size = device->memory.memoryHeaps[heap].size;
  guint64 limit = temper_memory_limit ();

  *total = size;
  if (device->caps.memory_budget)
    {
      VkPhysicalDeviceMemoryBudgetPropertiesEXT budget = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_BUDGET_PROPERTIES_EXT,
      };
      VkPhysicalDeviceMemoryProperties2 props = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_PROPERTIES_2,
        .pNext = &budget,
      };
      vkGetPhysicalDeviceMemoryProperties2 (device->caps.physical, &props);
      *free_bytes = budget.heapBudget[heap] > budget.heapUsage[heap]
                      ? budget.heapBudget[heap] - budget.heapUsage[heap] : 0;
    }
  else
    *free_bytes = size > device->allocated_bytes ? size - device->allocated_bytes : 0;

  /* The person asked Temper to keep to less than the whole card. */
  if (limit > 0 && limit < size)
    {
      *total = limit;
      *free_bytes = MIN (*free_bytes,
                         limit > device->allocated_bytes ? limit - device->allocated_bytes : 0);
    }
}

void
temper_vk_memory_get_budget (temper_vk_device_t *device,
                             guint64            *total,
                             guint64            *free_bytes)
{
  heap_budget (device, largest_device_local_heap (&device->memory), total, free_bytes);
}

static int
find_memory_type (const VkPhysicalDeviceMemoryProperties *memory,
                  guint32 type_bits,
                  VkMemoryPropertyFlags required,
                  VkMemoryPropertyFlags preferred)
{
  int fallback = -1;

  for (guint32 i = 0; i < memory->memoryTypeCount; i++)
    {
      VkMemoryPropertyFlags flags = memory->memoryTypes[i].propertyFlags;

      if (!(type_bits & (1u << i)) || (flags & required) != required)
        continue;
      if ((flags & preferred) == preferred)
        return (int) i;
      if (fallback < 0)
        fallback = (int) i;
    }
  return fallback;
}

static char *
format_bytes (guint64 bytes)
{
  return g_format_size_full (bytes, G_FORMAT_SIZE_IEC_UNITS);
}

static void
set_no_room_error (GError **error, temper_vk_device_t *device, const char *purpose,
                   guint64 needed, guint64 free_bytes, guint64 total)
{
  g_autofree char *needed_s = format_bytes (needed);
  g_autofree char *free_s = format_bytes (free_bytes);
  g_autofree char *total_s = format_bytes (total);
  guint64 limit = temper_memory_limit ();

  if (limit > 0 && limit == total)
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_OUT_OF_MEMORY,
                   _("Not enough memory on the graphics card “%s” for %s: it needs %s, but "
                   "only %s of the %s that %s allows is free. Raise the limit, or use a "
                   "smaller model, a shorter sequence length or a smaller batch."),
                   device->caps.name, purpose, needed_s, free_s, total_s,
                   TEMPER_MEMORY_LIMIT_ENV);
      return;
    }
  g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_OUT_OF_MEMORY,
               _("Not enough memory on the graphics card “%s” for %s: it needs %s, but "
               "only %s of %s is free. Close other programs that use the graphics "
               "card, or use a smaller model, a shorter sequence length or a smaller "
               "batch."),
               device->caps.name, purpose, needed_s, free_s, total_s);
}

/* temper_vk_set_error() completes “… while %s” with what was being done;
 * @purpose names the memory (“the model's weights”), so it is made one. */
static void
set_buffer_error (GError **error, VkResult result, temper_vk_device_t *device,
                  const char *purpose)
{
  /* Translators: %s is what the memory is for, e.g. “the model's weights”. */
  g_autofree char *doing = g_strdup_printf (_("making room for %s"), purpose);

  temper_vk_set_error (error, result, device->caps.name, doing);
}

/* Whether a buffer of @size for @purpose can be made at all: the device
 * is there, one binding can address it, and (device memory) the budget
 * has room.  Saying so now is clearer than a failed allocation later. */
static gboolean
buffer_fits (temper_vk_device_t *device,
             VkDeviceSize        size,
             TemperVkMemoryKind  kind,
             const char         *purpose,
             GError            **error)
{
  guint64 total, free_bytes;

  if (device->lost)
    {
      set_buffer_error (error, VK_ERROR_DEVICE_LOST, device, purpose);
      return FALSE;
    }

  /* Shaders address a storage buffer through one binding, which the device
   * limits in size; asking for more could only fail later, less clearly. */
  if (size > device->caps.limits.maxStorageBufferRange)
    {
      g_autofree char *needed_s = format_bytes (size);
      g_autofree char *limit_s = format_bytes (device->caps.limits.maxStorageBufferRange);
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_OUT_OF_MEMORY,
                   _("The graphics card “%s” cannot hold %s in one piece: it needs %s, "
                   "but the card's Vulkan driver allows at most %s per buffer. Use a "
                   "smaller model, a shorter sequence length or a smaller batch."),
                   device->caps.name, purpose, needed_s, limit_s);
      return FALSE;
    }

  if (kind == TEMPER_VK_MEMORY_DEVICE)
    {
      guint32 heap = largest_device_local_heap (&device->memory);
      heap_budget (device, heap, &total, &free_bytes);
      if (size > free_bytes)
        {
          set_no_room_error (error, device, purpose, size, free_bytes, total);
          return FALSE;
        }
    }
  return TRUE;
}

/* Allocates memory of @kind for @buffer's handle, binds it and, where the
 * memory is host-visible, maps it. */
static gboolean
buffer_bind_memory (temper_vk_buffer_t *buffer,
                    const char         *purpose,
                    GError            **error)
{
  temper_vk_device_t *device = buffer->device;
  VkMemoryRequirements req;
  VkMemoryPropertyFlags required, preferred;
  guint64 total, free_bytes;
  VkResult res;
  int type;

  vkGetBufferMemoryRequirements (device->handle, buffer->handle, &req);

  if (buffer->kind == TEMPER_VK_MEMORY_DEVICE)
    {
      /* Host-visible device memory (integrated GPUs, resizable BAR, software
       * drivers) lets uploads skip the staging copy. */
      required = VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT;
      preferred = VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT
                  | VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT
                  | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
    }
  else
    {
      required = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
      preferred = required | VK_MEMORY_PROPERTY_HOST_CACHED_BIT;
    }
  type = find_memory_type (&device->memory, req.memoryTypeBits, required, preferred);
  if (type < 0)
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_DEVICE,
                   _("The graphics card “%s” offers no memory Temper can use for %s. "
                   "Updating the graphics driver may help."),
                   device->caps.name, purpose);
      return FALSE;
    }
  buffer->heap = device->memory.memoryTypes[type].heapIndex;

  VkMemoryAllocateInfo alloc = {
    .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
    .allocationSize = req.size,
    .memoryTypeIndex = (guint32) type,
  };
  res = vkAllocateMemory (device->handle, &alloc, NULL, &buffer->memory);
  if (res == VK_ERROR_OUT_OF_DEVICE_MEMORY || res == VK_ERROR_OUT_OF_HOST_MEMORY)
    {
      heap_budget (device, buffer->heap, &total, &free_bytes);
      set_no_room_error (error, device, purpose, req.size, free_bytes, total);
      return FALSE;
    }
  if (res != VK_SUCCESS)
    {
      set_buffer_error (error, res, device, purpose);
      return FALSE;
    }
  res = vkBindBufferMemory (device->handle, buffer->handle, buffer->memory, 0);
  if (res == VK_SUCCESS
      && (device->memory.memoryTypes[type].propertyFlags
          & (VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT))
         == (VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT))
    res = vkMapMemory (device->handle, buffer->memory, 0, VK_WHOLE_SIZE, 0, &buffer->mapped);
  if (res != VK_SUCCESS)
    {
      set_buffer_error (error, res, device, purpose);
      return FALSE;
    }
  return TRUE;
}

temper_vk_buffer_t *
temper_vk_buffer_new (temper_vk_device_t *device,
                      VkDeviceSize        size,
                      TemperVkMemoryKind  kind,
                      const char         *purpose,
                      GError            **error)
{
  g_autoptr (temper_vk_buffer_t) buffer = NULL;
  VkResult res;

  g_return_val_if_fail (size > 0, NULL);

  if (!buffer_fits (device, size, kind, purpose, error))
    return NULL;

  buffer = g_new0 (temper_vk_buffer_t, 1);
  buffer->device = device;
  buffer->size = size;
  buffer->kind = kind;

  /* Shaders read 16-bit weights as 32-bit words: a tensor ending in the
   * middle of a word must still have that whole word in range. */
  VkBufferCreateInfo info = {
    .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
    .size = (size + 3) & ~(VkDeviceSize) 3,
    .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT
             | VK_BUFFER_USAGE_TRANSFER_SRC_BIT
             | VK_BUFFER_USAGE_TRANSFER_DST_BIT,
    .sharingMode = VK_SHARING_MODE_EXCLUSIVE,
  };
  res = vkCreateBuffer (device->handle, &info, NULL, &buffer->handle);
  if (res != VK_SUCCESS)
    {
      set_buffer_error (error, res, device, purpose);
      return NULL;
    }
  if (!buffer_bind_memory (buffer, purpose, error))
    return NULL;
  if (device->memory.memoryHeaps[buffer->heap].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT)
    {
      device->allocated_bytes += buffer->size;
      device->peak_bytes = MAX (device->peak_bytes, device->allocated_bytes);
    }
  return g_steal_pointer (&buffer);
}

void
temper_vk_buffer_free (temper_vk_buffer_t *buffer)
{
  temper_vk_device_t *device;

  if (buffer == NULL)
    return;
  device = buffer->device;
  if (buffer->memory != VK_NULL_HANDLE)
    {
      if (device->memory.memoryHeaps[buffer->heap].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT)
        device->allocated_bytes -= MIN (device->allocated_bytes, buffer->size);
      if (buffer->mapped != NULL)
        vkUnmapMemory (device->handle, buffer->memory);
      vkFreeMemory (device->handle, buffer->memory, NULL);
    }
  if (buffer->handle != VK_NULL_HANDLE)
    vkDestroyBuffer (device->handle, buffer->handle, NULL);
  g_free (buffer);
}

/* Records one buffer-to-buffer copy on the device's transfer command buffer,
 * submits it and waits. */
static gboolean
copy_and_wait (temper_vk_device_t *device, VkBuffer src, VkDeviceSize src_offset,
               VkBuffer dst, VkDeviceSize dst_offset, VkDeviceSize size,
               GError **error)
{
  VkCommandBufferBeginInfo begin = {
    .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
    .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT,
  };
  VkBufferCopy region = { src_offset, dst_offset, size };
  /* Copies must see the shaders' writes, and later shaders the copy's. */
  VkMemoryBarrier barrier = {
    .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
    .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
    .dstAccessMask = VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
  };
  VkSubmitInfo submit = {
    .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
    .commandBufferCount = 1,
    .pCommandBuffers = &device->transfer_cmd,
  };
  VkResult res;

  res = vkResetFences (device->handle, 1, &device->transfer_fence);
  if (res == VK_SUCCESS)
    res = vkBeginCommandBuffer (device->transfer_cmd, &begin);
  if (res == VK_SUCCESS)
    {
      vkCmdPipelineBarrier (device->transfer_cmd,
                            VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
                            VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 1, &barrier, 0, NULL, 0, NULL);
      vkCmdCopyBuffer (device->transfer_cmd, src, dst, 1, &region);
      res = vkEndCommandBuffer (device->transfer_cmd);
    }
  if (res == VK_SUCCESS)
    res = vkQueueSubmit (device->queue, 1, &submit, device->transfer_fence);
  if (res != VK_SUCCESS)
    {
      if (res == VK_ERROR_DEVICE_LOST)
        device->lost = TRUE;
      temper_vk_set_error (error, res, device->caps.name, _("copying data"));
      return FALSE;
    }
  return temper_vk_device_wait (device, device->transfer_fence, _("copying data"), error);
}

static gboolean
check_range (temper_vk_buffer_t *buffer, VkDeviceSize offset, VkDeviceSize size,
             GError **error)
{
  if (buffer->device->lost)
    {
      temper_vk_set_error (error, VK_ERROR_DEVICE_LOST, buffer->device->caps.name,
                           _("copying data"));
      return FALSE;
    }
  g_return_val_if_fail (offset <= buffer->size && size <= buffer->size - offset, FALSE);
  return TRUE;
}

static gboolean
transfer (temper_vk_buffer_t *buffer, VkDeviceSize offset, void *host,
          VkDeviceSize size, gboolean to_device, GError **error)
{
  temper_vk_device_t *device = buffer->device;
  g_autoptr (temper_vk_buffer_t) staging = NULL;
  VkDeviceSize chunk = MIN (size, STAGING_CHUNK);

  if (!check_range (buffer, offset, size, error))
    return FALSE;
  if (size == 0)
    return TRUE;

  if (buffer->mapped != NULL)
    {
      /* Make earlier shader writes visible to the host before reading. */
      if (!to_device && vkQueueWaitIdle (device->queue) != VK_SUCCESS)
        {
          device->lost = TRUE;
          temper_vk_set_error (error, VK_ERROR_DEVICE_LOST, device->caps.name,
                               _("reading results"));
          return FALSE;
        }
      if (to_device)
        memcpy ((char *) buffer->mapped + offset, host, size);
      else
        memcpy (host, (const char *) buffer->mapped + offset, size);
      return TRUE;
    }

  staging = temper_vk_buffer_new (device, chunk, TEMPER_VK_MEMORY_STAGING,
                                  _("a copy buffer"), error);
  if (staging == NULL)
    return FALSE;
  for (VkDeviceSize done = 0; done < size; done += chunk)
    {
      VkDeviceSize n = MIN (chunk, size - done);

      if (to_device)
        {
          memcpy (staging->mapped, (const char *) host + done, n);
          if (!copy_and_wait (device, staging->handle, 0, buffer->handle,
                              offset + done, n, error))
            return FALSE;
        }
      else
        {
          if (!copy_and_wait (device, buffer->handle, offset + done,
                              staging->handle, 0, n, error))
            return FALSE;
          memcpy ((char *) host + done, staging->mapped, n);
        }
    }
  return TRUE;
}

gboolean
temper_vk_buffer_write (temper_vk_buffer_t *buffer, VkDeviceSize offset,
                        const void *data, VkDeviceSize size, GError **error)
{
  return transfer (buffer, offset, (void *) data, size, TRUE, error);
}

gboolean
temper_vk_buffer_read (temper_vk_buffer_t *buffer, VkDeviceSize offset,
                       void *data, VkDeviceSize size, GError **error)
{
  return transfer (buffer, offset, data, size, FALSE, error);
}
