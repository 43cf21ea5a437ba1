/* SPDX-License-Identifier: MIT */
/* temper-vk-commands-private.h — recording a step's work into one command
 * buffer and submitting it once.
 *
 * Between begin and submit, every dispatch and fill is recorded with a
 * barrier after it, so each sees the writes of the ones before; nothing runs
 * until submit, which waits for the whole step.  Descriptor sets come from
 * pools that are reset at begin and reused: after the first step of a given
 * shape nothing is allocated. */
#pragma once

#include <glib.h>
#include <vulkan/vulkan.h>

#include "temper-vk-device-private.h"
#include "temper-vk-memory-private.h"
#include "temper-vk-shaders.h"

G_BEGIN_DECLS

typedef struct temper_vk_commands temper_vk_commands_t;

temper_vk_commands_t *temper_vk_commands_new    (temper_vk_device_t *device,
                                                 GError            **error);
void                  temper_vk_commands_free   (temper_vk_commands_t *cmds);

gboolean temper_vk_commands_begin    (temper_vk_commands_t *cmds,
                                      GError              **error);

/* Records @shader over @n_buffers whole buffers (bindings 0..n-1) with
 * @push_size bytes of push constants and a gx×gy×gz grid of workgroups. */
gboolean temper_vk_commands_dispatch (temper_vk_commands_t      *cmds,
                                      TemperVkShaderId           shader,
                                      temper_vk_buffer_t *const *buffers,
                                      guint32                    n_buffers,
                                      const void                *push,
                                      guint32                    push_size,
                                      guint32                    gx,
                                      guint32                    gy,
                                      guint32                    gz,
                                      GError                   **error);

/* Fills @size bytes at @offset (both multiples of 4) with the word @value. */
void     temper_vk_commands_fill     (temper_vk_commands_t *cmds,
                                      temper_vk_buffer_t   *buffer,
                                      VkDeviceSize          offset,
                                      VkDeviceSize          size,
                                      guint32               value);

/* Submits everything recorded since begin and waits for it.  A lost device
 * or a driver failure comes back as a GError naming the device. */
gboolean temper_vk_commands_submit   (temper_vk_commands_t *cmds,
                                      GError              **error);

/* Number of submissions since the recorder was made. */
guint    temper_vk_commands_get_n_submits  (temper_vk_commands_t *cmds);

/* Splits @n_groups workgroups over a 2-D grid within the device's limit per
 * dimension; shaders rebuild the linear index (see shaders/common.glsl). */
void     temper_vk_grid_2d (temper_vk_device_t *device,
                            guint64             n_groups,
                            guint32            *gx,
                            guint32            *gy);

G_END_DECLS
