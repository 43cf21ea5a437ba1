/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "temper/error.h"
#include "temper-vk-error-private.h"
#include "temper-vk-pipeline-private.h"

struct temper_vk_pipelines {
  VkDevice         device;
  VkPipelineCache  cache;
  TemperVkPipeline entries[TEMPER_VK_SHADER_COUNT];
};

temper_vk_pipelines_t *
temper_vk_pipelines_new (temper_vk_device_t *device, GError **error)
{
  VkPipelineCacheCreateInfo info = {
    .sType = VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO,
  };
  temper_vk_pipelines_t *pipelines = g_new0 (temper_vk_pipelines_t, 1);
  VkResult res;

  pipelines->device = device->handle;
  res = vkCreatePipelineCache (device->handle, &info, NULL, &pipelines->cache);
  if (res != VK_SUCCESS)
    {
      g_free (pipelines);
      temper_vk_set_error (error, res, device->caps.name, _("preparing the compute shaders"));
      return NULL;
    }
  return pipelines;
}

static void
entry_clear (VkDevice device, TemperVkPipeline *entry)
{
  if (entry->pipeline != VK_NULL_HANDLE)
    vkDestroyPipeline (device, entry->pipeline, NULL);
  if (entry->layout != VK_NULL_HANDLE)
    vkDestroyPipelineLayout (device, entry->layout, NULL);
  if (entry->set_layout != VK_NULL_HANDLE)
    vkDestroyDescriptorSetLayout (device, entry->set_layout, NULL);
  *entry = (TemperVkPipeline) { 0 };
}

void
temper_vk_pipelines_free (temper_vk_pipelines_t *pipelines)
{
  if (pipelines == NULL)
    return;
  for (guint i = 0; i < TEMPER_VK_SHADER_COUNT; i++)
    entry_clear (pipelines->device, &pipelines->entries[i]);
  vkDestroyPipelineCache (pipelines->device, pipelines->cache, NULL);
  g_free (pipelines);
}

const TemperVkPipeline *
temper_vk_pipeline_get (temper_vk_device_t *device,
                        TemperVkShaderId    shader,
                        guint32             n_buffers,
                        GError            **error)
{
  temper_vk_pipelines_t *pipelines = device->pipelines;
  const TemperVkShaderModule *module;
  TemperVkPipeline *entry;
  VkDescriptorSetLayoutBinding bindings[16];
  VkShaderModule shader_module = VK_NULL_HANDLE;
  VkResult res;

  g_return_val_if_fail (shader < TEMPER_VK_SHADER_COUNT, NULL);
  g_return_val_if_fail (n_buffers > 0 && n_buffers <= G_N_ELEMENTS (bindings), NULL);

  entry = &pipelines->entries[shader];
  if (entry->pipeline != VK_NULL_HANDLE)
    {
      g_return_val_if_fail (entry->n_buffers == n_buffers, NULL);
      return entry;
    }
  module = &temper_vk_shader_modules[shader];

  for (guint32 i = 0; i < n_buffers; i++)
    bindings[i] = (VkDescriptorSetLayoutBinding) {
      .binding = i,
      .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
      .descriptorCount = 1,
      .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT,
    };
  VkDescriptorSetLayoutCreateInfo set_info = {
    .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO,
    .bindingCount = n_buffers,
    .pBindings = bindings,
  };
  VkPushConstantRange push = {
    .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT,
    .offset = 0,
    .size = TEMPER_VK_PUSH_MAX,
  };
  VkShaderModuleCreateInfo module_info = {
    .sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO,
    .codeSize = module->size,
    .pCode = module->code,
  };

  res = vkCreateDescriptorSetLayout (device->handle, &set_info, NULL, &entry->set_layout);
  if (res == VK_SUCCESS)
    {
      VkPipelineLayoutCreateInfo layout_info = {
        .sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
        .setLayoutCount = 1,
        .pSetLayouts = &entry->set_layout,
        .pushConstantRangeCount = 1,
        .pPushConstantRanges = &push,
      };
      res = vkCreatePipelineLayout (device->handle, &layout_info, NULL, &entry->layout);
    }
  if (res == VK_SUCCESS)
    res = vkCreateShaderModule (device->handle, &module_info, NULL, &shader_module);
  /* Sizes some shaders take as specialization constants (matmul-coopmat:
   * four subgroups a workgroup, and the cooperative multiply's side).  A
   * shader without those constants ignores them. */
  guint32 spec_values[2] = {
    4 * MAX (device->caps.subgroup_size, 1u),
    device->caps.coopmat_size > 0 ? device->caps.coopmat_size : 16,
  };
  VkSpecializationMapEntry spec_entries[2] = {
    { .constantID = 0, .offset = 0, .size = sizeof (guint32) },
    { .constantID = 1, .offset = sizeof (guint32), .size = sizeof (guint32) },
  };
  VkSpecializationInfo spec = {
    .mapEntryCount = G_N_ELEMENTS (spec_entries),
    .pMapEntries = spec_entries,
    .dataSize = sizeof spec_values,
    .pData = spec_values,
  };
  if (res == VK_SUCCESS)
    {
      VkComputePipelineCreateInfo info = {
        .sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
        .stage = {
          .sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
          .stage = VK_SHADER_STAGE_COMPUTE_BIT,
          .module = shader_module,
          .pName = "main",
          .pSpecializationInfo = &spec,
        },
        .layout = entry->layout,
      };
      res = vkCreateComputePipelines (device->handle, pipelines->cache, 1, &info,
                                      NULL, &entry->pipeline);
      vkDestroyShaderModule (device->handle, shader_module, NULL);
    }
  if (res != VK_SUCCESS)
    {
      g_autofree char *what = g_strdup_printf (_("preparing the compute shader “%s”"),
                                               module->name);
      entry_clear (device->handle, entry);
      temper_vk_set_error (error, res, device->caps.name, what);
      return NULL;
    }
  entry->n_buffers = n_buffers;
  return entry;
}
