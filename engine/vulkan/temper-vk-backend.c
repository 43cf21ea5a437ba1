/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "temper/error.h"
#include "temper-vk-backend-private.h"
#include "temper-vk-error-private.h"

static const int vk_weight_types[] = {
  TEMPER_TYPE_F32, TEMPER_TYPE_F16, TEMPER_TYPE_BF16, TEMPER_TYPE_Q4_0, TEMPER_TYPE_Q4_1,
  TEMPER_TYPE_Q5_0, TEMPER_TYPE_Q5_1, TEMPER_TYPE_Q8_0, TEMPER_TYPE_Q2_K, TEMPER_TYPE_Q3_K,
  TEMPER_TYPE_Q4_K, TEMPER_TYPE_Q5_K, TEMPER_TYPE_Q6_K, TEMPER_TYPE_IQ4_NL, TEMPER_TYPE_IQ4_XS,
  TEMPER_TYPE_TQ2_0, TEMPER_TYPE_NF4, -1,
};

#define OP(op) (G_GUINT64_CONSTANT (1) << (op))

const TemperOpSupport temper_vk_op_support = {
  .ops = OP (TEMPER_OP_EMBEDDING) | OP (TEMPER_OP_RMSNORM) | OP (TEMPER_OP_RMSNORM_BACKWARD)
         | OP (TEMPER_OP_MATMUL) | OP (TEMPER_OP_MATMUL_BACKWARD_INPUT) | OP (TEMPER_OP_GEMM)
         | OP (TEMPER_OP_ROPE) | OP (TEMPER_OP_ROPE_BACKWARD) | OP (TEMPER_OP_ATTENTION)
         | OP (TEMPER_OP_ATTENTION_BACKWARD) | OP (TEMPER_OP_SWIGLU)
         | OP (TEMPER_OP_SWIGLU_BACKWARD) | OP (TEMPER_OP_ADD)
         | OP (TEMPER_OP_LM_HEAD_CROSS_ENTROPY) | OP (TEMPER_OP_ADAMW)
         | OP (TEMPER_OP_SUM_SQUARES) | OP (TEMPER_OP_SCALE) | OP (TEMPER_OP_DEQUANTIZE)
         | OP (TEMPER_OP_ZERO) | OP (TEMPER_OP_DROPOUT)
         /* Family ops: GeGLU, windowed and soft-capped attention (forward
          * and backward), soft-capped logits and loss, RoPE from a frequency
          * table. */
         | OP (TEMPER_OP_GEGLU) | OP (TEMPER_OP_ATTENTION_WINDOW) | OP (TEMPER_OP_SOFTCAP)
         | OP (TEMPER_OP_LM_HEAD_CROSS_ENTROPY_SOFTCAP) | OP (TEMPER_OP_ROPE_TABLE)
         /* The mixture of experts (Qwen3-MoE, Mixtral), forward and backward,
          * on experts of every weight type below. */
         | OP (TEMPER_OP_MOE),
  .weight_types = vk_weight_types,
};

gboolean
temper_vk_weight_type_supported (int type)
{
  return temper_op_support_lookup (&temper_vk_op_support, TEMPER_OP_DEQUANTIZE, type);
}

static gboolean
vk_supports_op (TemperBackend *backend, TemperOp op, int weight_type)
{
  return temper_op_support_lookup (&temper_vk_op_support, op, weight_type);
}

void
temper_vk_backend_fail (TemperVkBackend *vk, GError *error)
{
  if (vk->error == NULL)
    vk->error = error;
  else
    g_error_free (error);
}

gboolean
temper_vk_backend_prepare (TemperVkBackend *vk)
{
  GError *error = NULL;

  if (vk->error != NULL)
    return FALSE;
  if (vk->recording)
    return TRUE;
  if (!temper_vk_commands_begin (vk->cmds, &error))
    {
      temper_vk_backend_fail (vk, error);
      return FALSE;
    }
  vk->recording = TRUE;
  vk->recorded = FALSE;
  return TRUE;
}

/* The variant of @shader whose reductions use subgroup arithmetic
 * (shaders/reduce.glsl), or @shader itself when it reduces nothing. */
static TemperVkShaderId
subgroup_variant (TemperVkShaderId shader)
{
  switch (shader)
    {
    case TEMPER_VK_SHADER_RMSNORM_FORWARD: return TEMPER_VK_SHADER_RMSNORM_FORWARD_SUBGROUP;
    case TEMPER_VK_SHADER_RMSNORM_BACKWARD: return TEMPER_VK_SHADER_RMSNORM_BACKWARD_SUBGROUP;
    case TEMPER_VK_SHADER_SUM: return TEMPER_VK_SHADER_SUM_SUBGROUP;
    case TEMPER_VK_SHADER_SUM_SQUARES: return TEMPER_VK_SHADER_SUM_SQUARES_SUBGROUP;
    case TEMPER_VK_SHADER_CROSS_ENTROPY: return TEMPER_VK_SHADER_CROSS_ENTROPY_SUBGROUP;
    case TEMPER_VK_SHADER_CROSS_ENTROPY_SOFTCAP:
      return TEMPER_VK_SHADER_CROSS_ENTROPY_SOFTCAP_SUBGROUP;
    case TEMPER_VK_SHADER_ATTENTION_FORWARD: return TEMPER_VK_SHADER_ATTENTION_FORWARD_SUBGROUP;
    case TEMPER_VK_SHADER_ATTENTION_BACKWARD_QUERY:
      return TEMPER_VK_SHADER_ATTENTION_BACKWARD_QUERY_SUBGROUP;
    case TEMPER_VK_SHADER_ATTENTION_BACKWARD_KEY_VALUE:
      return TEMPER_VK_SHADER_ATTENTION_BACKWARD_KEY_VALUE_SUBGROUP;
    default: return shader;
    }
}

void
temper_vk_backend_dispatch (TemperVkBackend           *vk,
                            TemperVkShaderId           shader,
                            temper_vk_buffer_t *const *buffers,
                            guint32                    n_buffers,
                            const void                *push,
                            guint32                    push_size,
                            guint32                    gx,
                            guint32                    gy)
{
  GError *error = NULL;

  if (!temper_vk_backend_prepare (vk))
    return;
  if (vk->subgroup_reduce)
    shader = subgroup_variant (shader);
  if (!temper_vk_commands_dispatch (vk->cmds, shader, buffers, n_buffers,
                                    push, push_size, gx, gy, 1, &error))
    temper_vk_backend_fail (vk, error);
  vk->recorded = TRUE;
}

static void
vk_begin (TemperBackend *backend)
{
  TemperVkBackend *vk = (TemperVkBackend *) backend;

  g_clear_error (&vk->error);
  temper_vk_backend_prepare (vk);
}

static gboolean
vk_flush (TemperBackend *backend, GError **error)
{
  TemperVkBackend *vk = (TemperVkBackend *) backend;
  GError *local = NULL;

  if (vk->recording)
    {
      vk->recording = FALSE;
      /* Work recorded before a failure still has to be ended; submitting it
       * is harmless and keeps the command buffer reusable. */
      if (!temper_vk_commands_submit (vk->cmds, &local))
        temper_vk_backend_fail (vk, local);
    }
  if (vk->error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&vk->error));
      return FALSE;
    }
  return TRUE;
}

static TemperBuffer *
vk_buffer_alloc (TemperBackend *backend, size_t size, TemperBufferUsage usage,
                 GError **error)
{
  TemperVkBackend *vk = (TemperVkBackend *) backend;
  const char *purpose;
  temper_vk_buffer_t *buffer;
  TemperBuffer *out;

  switch (usage)
    {
    case TEMPER_BUFFER_WEIGHTS: purpose = _("the model's weights"); break;
    case TEMPER_BUFFER_ACTIVATIONS: purpose = _("the training buffers"); break;
    case TEMPER_BUFFER_HOST_VISIBLE:
    default: purpose = _("the results buffer"); break;
    }
  /* Zero-sized tensors still need a valid binding. */
  buffer = temper_vk_buffer_new (vk->device, MAX (size, 4), TEMPER_VK_MEMORY_DEVICE,
                                 purpose, error);
  if (buffer == NULL)
    return NULL;
  out = g_new0 (TemperBuffer, 1);
  out->backend = backend;
  out->size = size;
  out->usage = usage;
  out->priv = buffer;
  return out;
}

static void
vk_buffer_free (TemperBackend *backend, TemperBuffer *buffer)
{
  temper_vk_buffer_free (buffer->priv);
  g_free (buffer);
}

static gboolean
vk_buffer_upload (TemperBackend *backend, TemperBuffer *buffer, size_t offset,
                  const void *data, size_t size, GError **error)
{
  return temper_vk_buffer_write (buffer->priv, offset, data, size, error);
}

static gboolean
vk_buffer_download (TemperBackend *backend, TemperBuffer *buffer, size_t offset,
                    void *data, size_t size, GError **error)
{
  return temper_vk_buffer_read (buffer->priv, offset, data, size, error);
}

static TemperBuffer *
vk_buffer_from_host (TemperBackend *backend, const void *data, size_t size,
                     GError **error)
{
  TemperBuffer *buffer = vk_buffer_alloc (backend, size, TEMPER_BUFFER_WEIGHTS, error);

  if (buffer == NULL)
    return NULL;
  if (!vk_buffer_upload (backend, buffer, 0, data, size, error))
    {
      vk_buffer_free (backend, buffer);
      return NULL;
    }
  return buffer;
}

static void
vk_destroy (TemperBackend *backend)
{
  TemperVkBackend *vk = (TemperVkBackend *) backend;

  if (vk->recording)
    {
      vk->recording = FALSE;
      temper_vk_commands_submit (vk->cmds, NULL);
    }
  g_clear_error (&vk->error);
  g_clear_pointer (&vk->reduce, temper_vk_buffer_free);
  g_clear_pointer (&vk->rope_tables, g_ptr_array_unref);
  temper_vk_moe_free (vk);
  g_clear_pointer (&vk->cmds, temper_vk_commands_free);
  g_clear_pointer (&vk->device, temper_vk_device_free);
  g_free (vk);
}

static const TemperBackendOps vk_ops = {
  .name = "vulkan",
  .destroy = vk_destroy,
  .supports_op = vk_supports_op,
  .buffer_alloc = vk_buffer_alloc,
  .buffer_from_host = vk_buffer_from_host,
  .buffer_free = vk_buffer_free,
  .buffer_upload = vk_buffer_upload,
  .buffer_download = vk_buffer_download,
  .begin = vk_begin,
  .flush = vk_flush,
  .embedding = temper_vk_op_embedding,
  .rmsnorm = temper_vk_op_rmsnorm,
  .rmsnorm_backward = temper_vk_op_rmsnorm_backward,
  .matmul = temper_vk_op_matmul,
  .matmul_backward_input = temper_vk_op_matmul_backward_input,
  .gemm = temper_vk_op_gemm,
  .rope = temper_vk_op_rope,
  .rope_backward = temper_vk_op_rope_backward,
  .rope_table = temper_vk_op_rope_table,
  .rope_table_backward = temper_vk_op_rope_table_backward,
  .attention = temper_vk_op_attention,
  .attention_backward = temper_vk_op_attention_backward,
  .swiglu = temper_vk_op_swiglu,
  .swiglu_backward = temper_vk_op_swiglu_backward,
  .add = temper_vk_op_add,
  .lm_head_cross_entropy = temper_vk_op_lm_head_cross_entropy,
  .lm_head_cross_entropy_softcap = temper_vk_op_lm_head_cross_entropy_softcap,
  .adamw = temper_vk_op_adamw,
  .sum_squares = temper_vk_op_sum_squares,
  .scale = temper_vk_op_scale,
  .softcap = temper_vk_op_softcap,
  .geglu = temper_vk_op_geglu,
  .geglu_backward = temper_vk_op_geglu_backward,
  .dequantize = temper_vk_op_dequantize,
  .zero = temper_vk_op_zero,
  .dropout = temper_vk_op_dropout,
  .moe = temper_vk_op_moe,
  .moe_backward = temper_vk_op_moe_backward,
};

TemperBackend *
temper_vk_backend_new (int device, GError **error)
{
  TemperVkBackend *vk = g_new0 (TemperVkBackend, 1);

  vk->parent.ops = &vk_ops;
  vk->parent.kind = TEMPER_BACKEND_VULKAN;
  vk->device = temper_vk_device_open (device, error);
  if (vk->device != NULL)
    vk->cmds = temper_vk_commands_new (vk->device, error);
  if (vk->cmds != NULL)
    vk->reduce = temper_vk_buffer_new (vk->device, TEMPER_VK_REDUCE_FLOATS * sizeof (float),
                                       TEMPER_VK_MEMORY_DEVICE, _("the reduction buffer"),
                                       error);
  /* TEMPER_VK_SUBGROUP_REDUCE=0 keeps the shared-memory reductions and the
   * one-column-per-invocation matvec, as on a device without subgroup
   * arithmetic (the tests run both). */
  if (vk->device != NULL)
    vk->subgroup_reduce = vk->device->caps.subgroup_arithmetic
                          && g_strcmp0 (g_getenv ("TEMPER_VK_SUBGROUP_REDUCE"), "0") != 0;
  if (vk->reduce == NULL || !temper_vk_backend_apply_matmul_env (&vk->parent, error))
    {
      vk_destroy (&vk->parent);
      return NULL;
    }
  return &vk->parent;
}

const char *
temper_vk_backend_get_device_name (TemperBackend *backend)
{
  g_return_val_if_fail (backend->ops == &vk_ops, NULL);
  return ((TemperVkBackend *) backend)->device->caps.name;
}

guint64
temper_vk_backend_get_peak_memory (TemperBackend *backend)
{
  g_return_val_if_fail (backend->ops == &vk_ops, 0);
  return ((TemperVkBackend *) backend)->device->peak_bytes;
}

guint
temper_vk_backend_get_n_submits (TemperBackend *backend)
{
  g_return_val_if_fail (backend->ops == &vk_ops, 0);
  return temper_vk_commands_get_n_submits (((TemperVkBackend *) backend)->cmds);
}
