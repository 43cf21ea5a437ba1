/* SPDX-License-Identifier: MIT */
/* temper-vk-pipeline-private.h — compute pipelines built from the SPIR-V
 * embedded at build time, created on first use and cached per device. */
#pragma once

#include <glib.h>
#include <vulkan/vulkan.h>

#include "temper-vk-device-private.h"
#include "temper-vk-shaders.h"

G_BEGIN_DECLS

/* Every shader takes its scalars as push constants, at most this many bytes
 * (the smallest maxPushConstantsSize Vulkan allows). */
#define TEMPER_VK_PUSH_MAX 128

typedef struct {
  VkPipeline            pipeline;
  VkPipelineLayout      layout;
  VkDescriptorSetLayout set_layout;
  guint32               n_buffers;   /* storage buffers at bindings 0..n-1 */
} TemperVkPipeline;

temper_vk_pipelines_t  *temper_vk_pipelines_new  (temper_vk_device_t *device,
                                                  GError            **error);
void                    temper_vk_pipelines_free (temper_vk_pipelines_t *pipelines);

/* The pipeline for @shader, whose set 0 holds @n_buffers storage buffers.
 * Built on the first call; later calls return the cached one. */
const TemperVkPipeline *temper_vk_pipeline_get   (temper_vk_device_t *device,
                                                  TemperVkShaderId    shader,
                                                  guint32             n_buffers,
                                                  GError            **error);

G_END_DECLS
