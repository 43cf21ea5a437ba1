/* SPDX-License-Identifier: MIT */
/* temper-vk-ops-matmul.h — which shader the Vulkan backend's products by a
 * frozen weight run (engine-internal; the tests check the choice). */
#pragma once

#include <glib.h>

#include "temper-backend.h"

G_BEGIN_DECLS

/* The name of the shader module (as embedded from shaders/, e.g.
 * "matvec_subgroup_q4_k") that matmul (@transposed FALSE) or
 * matmul_backward_input (@transposed TRUE) would run on @backend for @M rows
 * of activations, @N outputs and @K inputs with a weight of @weight_type. */
const char *temper_vk_backend_matmul_shader_name (TemperBackend *backend, int weight_type,
                                                  guint32 M, guint32 N, guint32 K,
                                                  gboolean transposed);

G_END_DECLS
