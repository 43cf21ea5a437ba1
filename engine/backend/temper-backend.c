/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "temper-backend.h"

static const char *const op_names[TEMPER_OP_COUNT] = {
  [TEMPER_OP_EMBEDDING] = "embedding",
  [TEMPER_OP_RMSNORM] = "rmsnorm",
  [TEMPER_OP_RMSNORM_BACKWARD] = "rmsnorm_backward",
  [TEMPER_OP_MATMUL] = "matmul",
  [TEMPER_OP_MATMUL_BACKWARD_INPUT] = "matmul_backward_input",
  [TEMPER_OP_GEMM] = "gemm",
  [TEMPER_OP_ROPE] = "rope",
  [TEMPER_OP_ROPE_BACKWARD] = "rope_backward",
  [TEMPER_OP_ATTENTION] = "attention",
  [TEMPER_OP_ATTENTION_BACKWARD] = "attention_backward",
  [TEMPER_OP_SWIGLU] = "swiglu",
  [TEMPER_OP_SWIGLU_BACKWARD] = "swiglu_backward",
  [TEMPER_OP_ADD] = "add",
  [TEMPER_OP_LM_HEAD_CROSS_ENTROPY] = "lm_head_cross_entropy",
  [TEMPER_OP_ADAMW] = "adamw",
  [TEMPER_OP_SUM_SQUARES] = "sum_squares",
  [TEMPER_OP_SCALE] = "scale",
  [TEMPER_OP_DEQUANTIZE] = "dequantize",
  [TEMPER_OP_ZERO] = "zero",
  [TEMPER_OP_DROPOUT] = "dropout",
  [TEMPER_OP_ROPE_TABLE] = "rope_table",
  [TEMPER_OP_GEGLU] = "geglu",
  [TEMPER_OP_ATTENTION_WINDOW] = "attention_window",
  [TEMPER_OP_SOFTCAP] = "softcap",
  [TEMPER_OP_LM_HEAD_CROSS_ENTROPY_SOFTCAP] = "lm_head_cross_entropy_softcap",
  [TEMPER_OP_MOE] = "moe",
  [TEMPER_OP_MATMUL_LORA] = "matmul_lora",
  [TEMPER_OP_LORA_B_BACKWARD] = "lora_b_backward",
  [TEMPER_OP_MATMUL_BACKWARD_INPUT_LORA] = "matmul_backward_input_lora",
};

const char *
temper_op_name (TemperOp op)
{
  g_return_val_if_fail (op >= 0 && op < TEMPER_OP_COUNT, NULL);
  return op_names[op];
}

void
temper_backend_free (TemperBackend *backend)
{
  if (backend != NULL)
    backend->ops->destroy (backend);
}

gboolean
temper_op_reads_weight (TemperOp op)
{
  switch (op)
    {
    case TEMPER_OP_EMBEDDING:
    case TEMPER_OP_MATMUL:
    case TEMPER_OP_MATMUL_BACKWARD_INPUT:
    case TEMPER_OP_MATMUL_LORA:
    case TEMPER_OP_MATMUL_BACKWARD_INPUT_LORA:
    case TEMPER_OP_LM_HEAD_CROSS_ENTROPY:
    case TEMPER_OP_LM_HEAD_CROSS_ENTROPY_SOFTCAP:
    case TEMPER_OP_MOE:
    case TEMPER_OP_DEQUANTIZE:
      return TRUE;
    default:
      return FALSE;
    }
}

gboolean
temper_op_support_lookup (const TemperOpSupport *support, TemperOp op, int weight_type)
{
  if (support == NULL || op < 0 || op >= TEMPER_OP_COUNT
      || (support->ops & (G_GUINT64_CONSTANT (1) << op)) == 0)
    return FALSE;
  if (!temper_op_reads_weight (op))
    return weight_type == TEMPER_TYPE_F32;
  for (const int *t = support->weight_types; *t >= 0; t++)
    if (*t == weight_type)
      return TRUE;
  return FALSE;
}
