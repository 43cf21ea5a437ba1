/* SPDX-License-Identifier: MIT */
/* temper-vk-ops-dropout.c — LoRA dropout (dropout.comp).  The threshold and
 * the keep scale are formed here exactly as the CPU backend forms them, so
 * the shader's mask and products equal the CPU's bit for bit. */
#include "config.h"

#include "temper-dropout-mask.h"
#include "temper-vk-backend-private.h"

#define LOCAL 256u

typedef struct {
  guint32 n, x_offset, y_offset, key_lo, key_hi, threshold;
  float keep_scale;
} DropoutPush;

void
temper_vk_op_dropout (TemperBackend *b, const TemperBTensor *out, const TemperBTensor *x,
                      float p, guint64 key)
{
  TemperVkBackend *vk = (TemperVkBackend *) b;
  guint64 n = (guint64) x->ne[0] * (guint64) x->ne[1];
  DropoutPush push = {
    .n = (guint32) n,
    .x_offset = temper_vk_tensor_index (x),
    .y_offset = temper_vk_tensor_index (out),
    .key_lo = (guint32) key,
    .key_hi = (guint32) (key >> 32),
    .threshold = temper_dropout_threshold (p),
    .keep_scale = 1.0f / (1.0f - p),
  };
  temper_vk_buffer_t *buffers[] = { temper_vk_tensor_buffer (x), temper_vk_tensor_buffer (out) };
  guint32 gx, gy;

  g_return_if_fail (p >= 0.0f && p < 1.0f);
  g_return_if_fail ((guint64) out->ne[0] * (guint64) out->ne[1] == n && n <= G_MAXUINT32);
  temper_vk_grid_2d (vk->device, (n + LOCAL - 1) / LOCAL, &gx, &gy);
  temper_vk_backend_dispatch (vk, TEMPER_VK_SHADER_DROPOUT, buffers, 2, &push, sizeof push, gx, gy);
}
