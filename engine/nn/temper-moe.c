/* SPDX-License-Identifier: MIT */
/* temper-moe.c — a mixture-of-experts layer's weights on a backend and its
 * calls (see temper-moe.h). */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <string.h>

#include "temper/error.h"
#include "temper-moe.h"

static guint64
view_bytes (const TemperTensorView *view)
{
  return (guint64) temper_type_row_bytes (view->type, view->ne[0]) * (guint64) view->ne[1];
}

guint64
temper_moe_layer_bytes (const temper_model_t *model, const TemperLayerWeights *layer)
{
  guint64 total;

  if (!temper_model_layer_is_moe (layer))
    return 0;
  total = view_bytes (&layer->ffn_gate_inp);
  for (int e = 0; e < temper_model_get_config (model)->n_expert; e++)
    total += view_bytes (&layer->exp_gate[e]) + view_bytes (&layer->exp_up[e]) + view_bytes (&layer->exp_down[e]);
  return total;
}

static gboolean
wrap (TemperBackend *backend, const temper_model_t *model, const TemperTensorView *view,
      GPtrArray *weight_buffers, TemperBTensor *out, GError **error)
{
  TemperBuffer *buffer;

  if (!temper_backend_supports_op (backend, TEMPER_OP_MOE, view->type)
      || !temper_backend_supports_op (backend, TEMPER_OP_MATMUL, view->type))
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_UNSUPPORTED,
                   _("“%s”: the tensor %s is stored as %s, which the %s backend cannot compute with."),
                   temper_model_get_path (model), view->name ? view->name : "?",
                   temper_type_name (view->type) ? temper_type_name (view->type) : _("an unknown type"),
                   temper_backend_get_name (backend));
      return FALSE;
    }
  buffer = temper_backend_buffer_from_host (backend, view->data, view_bytes (view), error);
  if (buffer == NULL)
    return FALSE;
  g_ptr_array_add (weight_buffers, buffer);
  *out = temper_btensor (buffer, 0, view->type, view->ne[0], view->ne[1]);
  return TRUE;
}

gboolean
temper_moe_layer_init (TemperMoeLayer *moe, TemperBackend *backend, const temper_model_t *model,
                       const TemperLayerWeights *layer, GPtrArray *weight_buffers, GError **error)
{
  const TemperModelConfig *c = temper_model_get_config (model);
  int n = c->n_expert;

  memset (moe, 0, sizeof *moe);
  if (!temper_model_layer_is_moe (layer))
    return TRUE;
  moe->experts = g_new0 (TemperBTensor, 3 * (gsize) n);
  moe->op.n_expert = n;
  moe->op.n_used = c->n_expert_used;
  moe->op.n_ff = c->n_ff_expert;
  moe->op.norm = c->expert_norm;
  moe->op.gate = moe->experts;
  moe->op.up = moe->experts + n;
  moe->op.down = moe->experts + 2 * n;
  if (!wrap (backend, model, &layer->ffn_gate_inp, weight_buffers, &moe->op.router, error))
    return FALSE;
  for (int e = 0; e < n; e++)
    if (!wrap (backend, model, &layer->exp_gate[e], weight_buffers, &moe->experts[e], error)
        || !wrap (backend, model, &layer->exp_up[e], weight_buffers, &moe->experts[n + e], error)
        || !wrap (backend, model, &layer->exp_down[e], weight_buffers, &moe->experts[2 * n + e], error))
      return FALSE;
  return TRUE;
}

void
temper_moe_layer_clear (TemperMoeLayer *moe)
{
  g_clear_pointer (&moe->experts, g_free);
}

void
temper_moe_forward (TemperBackend *b, const TemperMoeLayer *moe, const TemperBTensor *out,
                    const TemperBTensor *x)
{
  b->ops->moe (b, out, x, &moe->op);
}

void
temper_moe_backward (TemperBackend *b, const TemperMoeLayer *moe, const TemperBTensor *dx,
                     const TemperBTensor *dout, const TemperBTensor *x)
{
  b->ops->moe_backward (b, dx, dout, x, &moe->op);
}
