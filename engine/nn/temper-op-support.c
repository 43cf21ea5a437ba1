/* SPDX-License-Identifier: MIT */
/* temper-op-support.c — the backends' op tables, asked without a device.
 *
 * Each backend keeps one TemperOpSupport table next to its code; this file
 * finds the table of a backend kind and answers for it, so that the device
 * lists (GUI and CLI) can say before anything opens which backend cannot
 * run a model, and why, with the same answers the backend gives. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "temper-cpu-backend.h"
#include "temper-cuda-backend.h"
#include "temper/error.h"
#include "temper/op-support.h"
#include "temper-backend.h"
#include "temper-block.h"
#if TEMPER_HAVE_VULKAN
#include "temper-vk-backend.h"
#endif

const TemperOpSupport *
temper_op_support_for_kind (TemperBackendKind kind)
{
  switch (kind)
    {
    case TEMPER_BACKEND_CPU:
      return &temper_cpu_op_support;
    case TEMPER_BACKEND_VULKAN:
#if TEMPER_HAVE_VULKAN
      return &temper_vk_op_support;
#else
      return NULL;
#endif
    case TEMPER_BACKEND_CUDA:
      return &temper_cuda_op_support;
    default:
      return NULL;
    }
}

guint
temper_backend_n_ops (void)
{
  return TEMPER_OP_COUNT;
}

const char *
temper_backend_op_name (guint op)
{
  return op < TEMPER_OP_COUNT ? temper_op_name ((TemperOp) op) : NULL;
}

gboolean
temper_backend_op_reads_weight (guint op)
{
  return op < TEMPER_OP_COUNT && temper_op_reads_weight ((TemperOp) op);
}

gboolean
temper_backend_kind_is_built (TemperBackendKind kind)
{
  return temper_op_support_for_kind (kind) != NULL;
}

gboolean
temper_backend_kind_supports_op (TemperBackendKind kind, guint op, int weight_type)
{
  return op < TEMPER_OP_COUNT
         && temper_op_support_lookup (temper_op_support_for_kind (kind), (TemperOp) op, weight_type);
}

/* A backend with no buffers and no ops but the table's answers, so that the
 * checks the forward and the training step make on a real backend
 * (temper_block_check_backend) run on a kind alone. */
typedef struct {
  TemperBackend          parent;
  const TemperOpSupport *support;
} TablePlaceholder;

static gboolean
placeholder_supports_op (TemperBackend *b, TemperOp op, int weight_type)
{
  return temper_op_support_lookup (((TablePlaceholder *) b)->support, op, weight_type);
}

static const TemperBackendOps placeholder_ops[] = {
  [TEMPER_BACKEND_CPU] = { .name = "cpu", .supports_op = placeholder_supports_op },
  [TEMPER_BACKEND_VULKAN] = { .name = "vulkan", .supports_op = placeholder_supports_op },
  [TEMPER_BACKEND_CUDA] = { .name = "cuda", .supports_op = placeholder_supports_op },
};

static gboolean
check_weight (TemperBackend *b, const temper_model_t *model, const TemperTensorView *view,
              TemperOp op, GError **error)
{
  const char *type_name;

  if (view == NULL || view->data == NULL || temper_backend_supports_op (b, op, view->type))
    return TRUE;
  type_name = temper_type_name (view->type);
  g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_UNSUPPORTED,
               _("The %s backend cannot run “%s”: its tensor %s is stored as %s, which that "
                 "backend’s %s operation does not read. Choose another device for this model."),
               temper_backend_get_name (b), temper_model_get_name (model),
               view->name != NULL ? view->name : "?",
               type_name != NULL ? type_name : _("an unknown type"), temper_op_name (op));
  return FALSE;
}

gboolean
temper_backend_kind_check_model (TemperBackendKind kind, const temper_model_t *model,
                                 gboolean training, GError **error)
{
  const TemperModelConfig *c = temper_model_get_config (model);
  TablePlaceholder placeholder = { { NULL, kind }, temper_op_support_for_kind (kind) };
  TemperBackend *b = &placeholder.parent;
  const TemperTensorView *output = temper_model_get_output (model);

  if (placeholder.support == NULL || kind >= G_N_ELEMENTS (placeholder_ops))
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_UNSUPPORTED,
                   _("This build of Temper has no %s backend."), temper_backend_kind_name (kind));
      return FALSE;
    }
  b->ops = &placeholder_ops[kind];
  if (!temper_block_check_backend (model, b, c->n_ctx_train, training, error))
    return FALSE;
  if (!check_weight (b, model, temper_model_get_token_embd (model), TEMPER_OP_EMBEDDING, error)
      || !check_weight (b, model, output, TEMPER_OP_MATMUL, error)
      || (training && !check_weight (b, model, output, TEMPER_OP_LM_HEAD_CROSS_ENTROPY, error)))
    return FALSE;
  for (int l = 0; l < c->n_layer; l++)
    {
      const TemperLayerWeights *lw = temper_model_get_layer (model, l);
      const TemperTensorView *linear[] = {
        &lw->wq, &lw->wk, &lw->wv, &lw->wo, &lw->w_gate, &lw->w_up, &lw->w_down,
      };

      for (guint i = 0; i < G_N_ELEMENTS (linear); i++)
        if (!check_weight (b, model, linear[i], TEMPER_OP_MATMUL, error)
            || (training && !check_weight (b, model, linear[i], TEMPER_OP_MATMUL_BACKWARD_INPUT, error)))
          return FALSE;
      /* A mixture of experts reads its router and experts in the moe op,
       * in their stored types (a GGUF's experts are often K-quants). */
      if (temper_model_layer_is_moe (lw))
        {
          if (!check_weight (b, model, &lw->ffn_gate_inp, TEMPER_OP_MOE, error))
            return FALSE;
          for (int e = 0; e < c->n_expert; e++)
            if (!check_weight (b, model, &lw->exp_gate[e], TEMPER_OP_MOE, error)
                || !check_weight (b, model, &lw->exp_up[e], TEMPER_OP_MOE, error)
                || !check_weight (b, model, &lw->exp_down[e], TEMPER_OP_MOE, error))
              return FALSE;
        }
    }
  return TRUE;
}
