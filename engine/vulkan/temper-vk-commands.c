/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "temper/error.h"
#include "temper-vk-commands-private.h"
#include "temper-vk-error-private.h"
#include "temper-vk-pipeline-private.h"

/* Each pool holds this many sets of up to BUFFERS_PER_SET buffers; a step
 * that needs more chains another pool, kept for the following steps. */
#define SETS_PER_POOL   512
#define BUFFERS_PER_SET 8

struct temper_vk_commands {
  temper_vk_device_t *device;
  VkCommandPool       pool;
  VkCommandBuffer     cmd;
  VkFence             fence;
  GArray             *descriptor_pools;   /* VkDescriptorPool */
  guint               current_pool;
  gboolean            recording;
  guint               n_submits;
};

static gboolean
add_descriptor_pool (temper_vk_commands_t *cmds, GError **error)
{
  VkDescriptorPoolSize size = {
    .type = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
    .descriptorCount = SETS_PER_POOL * BUFFERS_PER_SET,
  };
  VkDescriptorPoolCreateInfo info = {
    .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO,
    .maxSets = SETS_PER_POOL,
    .poolSizeCount = 1,
    .pPoolSizes = &size,
  };
  VkDescriptorPool pool;
  VkResult res = vkCreateDescriptorPool (cmds->device->handle, &info, NULL, &pool);

  if (res != VK_SUCCESS)
    {
      temper_vk_set_error (error, res, cmds->device->caps.name, _("preparing a step"));
      return FALSE;
    }
  g_array_append_val (cmds->descriptor_pools, pool);
  return TRUE;
}

temper_vk_commands_t *
temper_vk_commands_new (temper_vk_device_t *device, GError **error)
{
  temper_vk_commands_t *cmds = g_new0 (temper_vk_commands_t, 1);
  VkCommandPoolCreateInfo pool_info = {
    .sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
    .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
    .queueFamilyIndex = device->caps.queue_family,
  };
  VkFenceCreateInfo fence_info = { .sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO };
  VkResult res;

  cmds->device = device;
  cmds->descriptor_pools = g_array_new (FALSE, FALSE, sizeof (VkDescriptorPool));

  res = vkCreateCommandPool (device->handle, &pool_info, NULL, &cmds->pool);
  if (res == VK_SUCCESS)
    {
      VkCommandBufferAllocateInfo alloc = {
        .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
        .commandPool = cmds->pool,
        .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
        .commandBufferCount = 1,
      };
      res = vkAllocateCommandBuffers (device->handle, &alloc, &cmds->cmd);
    }
  if (res == VK_SUCCESS)
    res = vkCreateFence (device->handle, &fence_info, NULL, &cmds->fence);
  if (res != VK_SUCCESS)
    {
      temper_vk_set_error (error, res, device->caps.name, _("preparing a step"));
      temper_vk_commands_free (cmds);
      return NULL;
    }
  if (!add_descriptor_pool (cmds, error))
    {
      temper_vk_commands_free (cmds);
      return NULL;
    }
  return cmds;
}

void
temper_vk_commands_free (temper_vk_commands_t *cmds)
{
  VkDevice device;

  if (cmds == NULL)
    return;
  device = cmds->device->handle;
  if (cmds->recording)
    vkEndCommandBuffer (cmds->cmd);
  vkDeviceWaitIdle (device);
  for (guint i = 0; i < cmds->descriptor_pools->len; i++)
    vkDestroyDescriptorPool (device, g_array_index (cmds->descriptor_pools,
                                                    VkDescriptorPool, i), NULL);
  g_array_unref (cmds->descriptor_pools);
  if (cmds->fence != VK_NULL_HANDLE)
    vkDestroyFence (device, cmds->fence, NULL);
  if (cmds->pool != VK_NULL_HANDLE)
    vkDestroyCommandPool (device, cmds->pool, NULL);
  g_free (cmds);
}

static gboolean
check_device (temper_vk_commands_t *cmds, GError **error)
{
  if (!cmds->device->lost)
    return TRUE;
  temper_vk_set_error (error, VK_ERROR_DEVICE_LOST, cmds->device->caps.name,
                       _("running a step"));
  return FALSE;
}

gboolean
temper_vk_commands_begin (temper_vk_commands_t *cmds, GError **error)
{
  VkCommandBufferBeginInfo begin = {
    .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
    .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT,
  };
  VkResult res;

  g_return_val_if_fail (!cmds->recording, FALSE);
  if (!check_device (cmds, error))
    return FALSE;

  for (guint i = 0; i < cmds->descriptor_pools->len; i++)
    vkResetDescriptorPool (cmds->device->handle,
                           g_array_index (cmds->descriptor_pools, VkDescriptorPool, i), 0);
  cmds->current_pool = 0;

  res = vkResetCommandBuffer (cmds->cmd, 0);
  if (res == VK_SUCCESS)
    res = vkBeginCommandBuffer (cmds->cmd, &begin);
  if (res != VK_SUCCESS)
    {
      temper_vk_set_error (error, res, cmds->device->caps.name, _("starting a step"));
      return FALSE;
    }
  cmds->recording = TRUE;
  return TRUE;
}

/* Makes everything recorded so far visible to whatever is recorded next. */
static void
barrier (temper_vk_commands_t *cmds)
{
  VkMemoryBarrier b = {
    .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
    .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
    .dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT
                     | VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
  };
  VkPipelineStageFlags stages = VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT
                                | VK_PIPELINE_STAGE_TRANSFER_BIT;

  vkCmdPipelineBarrier (cmds->cmd, stages, stages, 0, 1, &b, 0, NULL, 0, NULL);
}

static VkDescriptorSet
allocate_set (temper_vk_commands_t *cmds, VkDescriptorSetLayout layout, GError **error)
{
  for (;;)
    {
      VkDescriptorPool pool = g_array_index (cmds->descriptor_pools, VkDescriptorPool,
                                             cmds->current_pool);
      VkDescriptorSetAllocateInfo info = {
        .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO,
        .descriptorPool = pool,
        .descriptorSetCount = 1,
        .pSetLayouts = &layout,
      };
      VkDescriptorSet set = VK_NULL_HANDLE;
      VkResult res = vkAllocateDescriptorSets (cmds->device->handle, &info, &set);

      if (res == VK_SUCCESS)
        return set;
      if (res != VK_ERROR_OUT_OF_POOL_MEMORY && res != VK_ERROR_FRAGMENTED_POOL)
        {
          temper_vk_set_error (error, res, cmds->device->caps.name, _("recording a step"));
          return VK_NULL_HANDLE;
        }
      cmds->current_pool++;
      if (cmds->current_pool == cmds->descriptor_pools->len
          && !add_descriptor_pool (cmds, error))
        return VK_NULL_HANDLE;
    }
}

gboolean
temper_vk_commands_dispatch (temper_vk_commands_t      *cmds,
                             TemperVkShaderId           shader,
                             temper_vk_buffer_t *const *buffers,
                             guint32                    n_buffers,
                             const void                *push,
                             guint32                    push_size,
                             guint32                    gx,
                             guint32                    gy,
                             guint32                    gz,
                             GError                   **error)
{
  const TemperVkPipeline *pipeline;
  VkDescriptorBufferInfo infos[BUFFERS_PER_SET];
  VkWriteDescriptorSet writes[BUFFERS_PER_SET];
  VkDescriptorSet set;

  g_return_val_if_fail (cmds->recording, FALSE);
  g_return_val_if_fail (n_buffers <= BUFFERS_PER_SET, FALSE);
  g_return_val_if_fail (push_size <= TEMPER_VK_PUSH_MAX, FALSE);

  if (gx == 0 || gy == 0 || gz == 0)
    return TRUE;
  pipeline = temper_vk_pipeline_get (cmds->device, shader, n_buffers, error);
  if (pipeline == NULL)
    return FALSE;
  set = allocate_set (cmds, pipeline->set_layout, error);
  if (set == VK_NULL_HANDLE)
    return FALSE;

  for (guint32 i = 0; i < n_buffers; i++)
    {
      infos[i] = (VkDescriptorBufferInfo) { buffers[i]->handle, 0, VK_WHOLE_SIZE };
      writes[i] = (VkWriteDescriptorSet) {
        .sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET,
        .dstSet = set,
        .dstBinding = i,
        .descriptorCount = 1,
        .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
        .pBufferInfo = &infos[i],
      };
    }
  vkUpdateDescriptorSets (cmds->device->handle, n_buffers, writes, 0, NULL);

  vkCmdBindPipeline (cmds->cmd, VK_PIPELINE_BIND_POINT_COMPUTE, pipeline->pipeline);
  vkCmdBindDescriptorSets (cmds->cmd, VK_PIPELINE_BIND_POINT_COMPUTE, pipeline->layout,
                           0, 1, &set, 0, NULL);
  if (push_size > 0)
    vkCmdPushConstants (cmds->cmd, pipeline->layout, VK_SHADER_STAGE_COMPUTE_BIT,
                        0, push_size, push);
  vkCmdDispatch (cmds->cmd, gx, gy, gz);
  barrier (cmds);
  return TRUE;
}

void
temper_vk_commands_fill (temper_vk_commands_t *cmds, temper_vk_buffer_t *buffer,
                         VkDeviceSize offset, VkDeviceSize size, guint32 value)
{
  g_return_if_fail (cmds->recording);
  g_return_if_fail (offset % 4 == 0 && size % 4 == 0);
  if (size == 0)
    return;
  vkCmdFillBuffer (cmds->cmd, buffer->handle, offset, size, value);
  barrier (cmds);
}

gboolean
temper_vk_commands_submit (temper_vk_commands_t *cmds, GError **error)
{
  VkSubmitInfo submit = {
    .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
    .commandBufferCount = 1,
    .pCommandBuffers = &cmds->cmd,
  };
  VkResult res;

  g_return_val_if_fail (cmds->recording, FALSE);
  cmds->recording = FALSE;

  res = vkEndCommandBuffer (cmds->cmd);
  if (res == VK_SUCCESS)
    res = vkResetFences (cmds->device->handle, 1, &cmds->fence);
  if (res == VK_SUCCESS)
    res = vkQueueSubmit (cmds->device->queue, 1, &submit, cmds->fence);
  if (res != VK_SUCCESS)
    {
      if (res == VK_ERROR_DEVICE_LOST)
        cmds->device->lost = TRUE;
      temper_vk_set_error (error, res, cmds->device->caps.name, _("running a step"));
      return FALSE;
    }
  cmds->n_submits++;
  return temper_vk_device_wait (cmds->device, cmds->fence, _("running a step"), error);
}

guint
temper_vk_commands_get_n_submits (temper_vk_commands_t *cmds)
{
  return cmds->n_submits;
}

void
temper_vk_grid_2d (temper_vk_device_t *device, guint64 n_groups,
                   guint32 *gx, guint32 *gy)
{
  guint64 max_x = device->caps.limits.maxComputeWorkGroupCount[0];

  if (n_groups <= max_x)
    {
      *gx = (guint32) n_groups;
      *gy = n_groups > 0 ? 1 : 0;
      return;
    }
  *gx = (guint32) max_x;
  *gy = (guint32) ((n_groups + max_x - 1) / max_x);
}
