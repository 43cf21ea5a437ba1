/* SPDX-License-Identifier: MIT */
/* temper-vk-memory-private.h — device buffers, staging and the memory budget. */
#pragma once

#include <glib.h>
#include <vulkan/vulkan.h>

#include "temper-vk-device-private.h"

G_BEGIN_DECLS

typedef enum {
  TEMPER_VK_MEMORY_DEVICE,   /* device-local: weights, activations, gradients */
  TEMPER_VK_MEMORY_STAGING,  /* host-visible: copies to and from the device */
} TemperVkMemoryKind;

typedef struct {
  temper_vk_device_t *device;
  VkBuffer            handle;
  VkDeviceMemory      memory;
  VkDeviceSize        size;
  TemperVkMemoryKind  kind;
  guint32             heap;
  void               *mapped;    /* non-NULL when the host can see the memory */
} temper_vk_buffer_t;

/* Bytes of device-local memory in total and free now.  With
 * VK_EXT_memory_budget "free" is the driver's budget minus every process's
 * use; without it, the heap size minus what Temper itself has allocated.
 * TEMPER_MEMORY_LIMIT (core/temper-memory-limit.h), when set below the heap
 * size, stands for the total, and what Temper allocated counts against it. */
void temper_vk_memory_get_budget (temper_vk_device_t *device,
                                  guint64            *total,
                                  guint64            *free_bytes);

/* A buffer of @size bytes usable as a storage buffer and as a copy source
 * and destination.  Refuses, with a message saying how much is needed and
 * how much is free, a buffer that will not fit; @purpose names it for that
 * message ("the model's weights"). */
temper_vk_buffer_t *temper_vk_buffer_new  (temper_vk_device_t *device,
                                           VkDeviceSize        size,
                                           TemperVkMemoryKind  kind,
                                           const char         *purpose,
                                           GError            **error);
void                temper_vk_buffer_free (temper_vk_buffer_t *buffer);

/* Copies between host memory and a buffer, directly when the buffer is
 * host-visible and through a staging buffer otherwise.  They wait for the
 * copy: use them to load weights and read results, not inside a step. */
gboolean temper_vk_buffer_write (temper_vk_buffer_t *buffer,
                                 VkDeviceSize        offset,
                                 const void         *data,
                                 VkDeviceSize        size,
                                 GError            **error);
gboolean temper_vk_buffer_read  (temper_vk_buffer_t *buffer,
                                 VkDeviceSize        offset,
                                 void               *data,
                                 VkDeviceSize        size,
                                 GError            **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (temper_vk_buffer_t, temper_vk_buffer_free)

G_END_DECLS
