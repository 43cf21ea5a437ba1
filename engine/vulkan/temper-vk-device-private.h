/* SPDX-License-Identifier: MIT */
/* temper-vk-device-private.h — Vulkan physical devices: what each can do,
 * which one to use, and an opened logical device with its compute queue. */
#pragma once

#include <glib.h>
#include <vulkan/vulkan.h>

#include "temper/device-info.h"
#include "temper-vk-instance-private.h"

G_BEGIN_DECLS

/* Set to 1 to let Temper pick a software (CPU) Vulkan driver such as
 * lavapipe when no real GPU exists.  Tests set it; users normally don't. */
#define TEMPER_VK_ALLOW_SOFTWARE_ENV "TEMPER_VULKAN_ALLOW_SOFTWARE"

typedef struct {
  int               index;            /* position in vkEnumeratePhysicalDevices */
  VkPhysicalDevice  physical;
  char             *name;
  char             *driver;           /* "Mesa 22.3.6 (LLVM 15.0.6)" */
  TemperDeviceType  type;
  guint32           api_version;
  gboolean          usable;           /* Vulkan 1.2, a compute queue, 256-wide workgroups */
  guint32           queue_family;     /* compute-capable */
  guint64           device_local_bytes;
  /* Optional capabilities, probed and enabled when present. */
  gboolean          storage_16bit;
  gboolean          shader_float16;
  gboolean          subgroup_arithmetic;
  guint32           subgroup_size;
  gboolean          memory_budget;    /* VK_EXT_memory_budget */
  gboolean          cooperative_matrix; /* VK_KHR_cooperative_matrix */
  gboolean          vulkan_memory_model;
  /* The side S of the square subgroup-scope f16×f16→f32 cooperative multiply
   * Temper's matmul-coopmat shader uses (16 on NVIDIA and AMD, 8 on
   * lavapipe); 0 when the device offers none, lacks float16 or the memory
   * model, or this build has no cooperative-matrix shaders. */
  guint32           coopmat_size;
  VkPhysicalDeviceLimits limits;
} TemperVkDeviceCaps;

void temper_vk_device_caps_clear (TemperVkDeviceCaps *caps);

/* Probes every physical device; returns a GArray of TemperVkDeviceCaps
 * (cleared with temper_vk_device_caps_clear). */
GArray *temper_vk_enumerate_devices (temper_vk_instance_t *instance,
                                     GError              **error);

/* The index of the device to use.  @requested >= 0 asks for that device
 * (software ones included); -1 picks the best: discrete, then integrated,
 * then virtual GPUs, larger memory first, and software drivers only when
 * TEMPER_VULKAN_ALLOW_SOFTWARE=1.  Returns -1 with @error set when none fits. */
int  temper_vk_choose_device (const GArray *caps,
                              int           requested,
                              GError      **error);

/* One line for people: "Vulkan 1.3, 16-bit storage, float16, …". */
char *temper_vk_device_caps_describe (const TemperVkDeviceCaps *caps);

typedef struct temper_vk_pipelines temper_vk_pipelines_t;

typedef struct {
  temper_vk_instance_t   *instance;
  TemperVkDeviceCaps      caps;
  VkDevice                handle;
  VkQueue                 queue;
  VkPhysicalDeviceMemoryProperties memory;
  guint64                 allocated_bytes;   /* by Temper, per device-local heap */
  guint64                 peak_bytes;        /* the most allocated_bytes has been */
  temper_vk_pipelines_t  *pipelines;
  /* For uploads and downloads outside a training step. */
  VkCommandPool           transfer_pool;
  VkCommandBuffer         transfer_cmd;
  VkFence                 transfer_fence;
  gboolean                lost;
} temper_vk_device_t;

/* Opens device @requested (-1: the best one, see temper_vk_choose_device). */
temper_vk_device_t *temper_vk_device_open  (int requested, GError **error);
void                temper_vk_device_free  (temper_vk_device_t *device);

/* Waits for @fence; maps a lost device or a timeout to a GError naming the
 * device.  Marks the device lost so later calls fail fast. */
gboolean temper_vk_device_wait (temper_vk_device_t *device,
                                VkFence             fence,
                                const char         *what,
                                GError            **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (temper_vk_device_t, temper_vk_device_free)

G_END_DECLS
