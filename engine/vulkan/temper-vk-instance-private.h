/* SPDX-License-Identifier: MIT */
/* temper-vk-instance-private.h — the process's Vulkan instance. */
#pragma once

#include <glib.h>
#include <vulkan/vulkan.h>

G_BEGIN_DECLS

typedef struct temper_vk_instance temper_vk_instance_t;

/* Creates an instance for Vulkan 1.2.  With TEMPER_VULKAN_VALIDATE=1 in the
 * environment the Khronos validation layer is enabled when installed. */
temper_vk_instance_t *temper_vk_instance_new        (GError **error);
void                  temper_vk_instance_free       (temper_vk_instance_t *instance);
VkInstance            temper_vk_instance_get_handle (temper_vk_instance_t *instance);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (temper_vk_instance_t, temper_vk_instance_free)

G_END_DECLS
