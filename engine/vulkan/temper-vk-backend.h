/* SPDX-License-Identifier: MIT */
/* temper-vk-backend.h — the Vulkan compute backend (engine-internal). */
#pragma once

#include <glib.h>

#include "temper-backend.h"

G_BEGIN_DECLS

/* What the Vulkan backend runs (its supports_op() answers from it). */
extern const TemperOpSupport temper_vk_op_support;

/* Opens Vulkan device @device (an index from temper_vulkan_list_devices, or
 * -1 for the best GPU; software drivers only when asked for by index or with
 * TEMPER_VULKAN_ALLOW_SOFTWARE=1) and returns a backend on it. */
TemperBackend *temper_vk_backend_new             (int device, GError **error);

/* The name of the device the backend runs on. */
const char    *temper_vk_backend_get_device_name (TemperBackend *backend);

/* The most device-local memory Temper's buffers have held at once, in bytes. */
guint64        temper_vk_backend_get_peak_memory (TemperBackend *backend);

/* How many command buffers the backend has submitted: one per step
 * (begin … flush), however many ops were recorded in it. */
guint          temper_vk_backend_get_n_submits   (TemperBackend *backend);

/* Which shader multiplies by a frozen weight (matmul, matmul_backward_input).
 * AUTO picks cooperative matrices when the device has them and the product
 * is big enough, else the tiled shared-memory shader; the environment
 * variable TEMPER_VK_MATMUL=tiled|coopmat|auto sets it when a backend opens. */
typedef enum {
  TEMPER_VK_MATMUL_AUTO,
  TEMPER_VK_MATMUL_TILED,
  TEMPER_VK_MATMUL_COOPMAT,
} TemperVkMatmulPath;

#define TEMPER_VK_MATMUL_ENV "TEMPER_VK_MATMUL"

/* Fails, saying why, when @path is COOPMAT and the device or this build has
 * no cooperative matrices. */
gboolean       temper_vk_backend_set_matmul_path (TemperBackend      *backend,
                                                  TemperVkMatmulPath  path,
                                                  GError            **error);

/* TRUE when the cooperative-matrix matmul can run; otherwise FALSE with a
 * sentence saying why in @why_not (free it), when given. */
gboolean       temper_vk_backend_has_coopmat     (TemperBackend *backend,
                                                  char         **why_not);

G_END_DECLS
