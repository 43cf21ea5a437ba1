/* SPDX-License-Identifier: MIT */
/* temper-vk-error-private.h — Vulkan results as errors a person can act on. */
#pragma once

#include <glib.h>
#include <vulkan/vulkan.h>

G_BEGIN_DECLS

/* Sets *error for a failed Vulkan call.  @device_name names the device (may
 * be NULL before one is chosen); @what says what Temper was doing, as a
 * phrase: "starting the graphics card", "running a training step". */
void        temper_vk_set_error   (GError    **error,
                                   VkResult    result,
                                   const char *device_name,
                                   const char *what);

const char *temper_vk_result_name (VkResult result);

G_END_DECLS
