/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "temper/error.h"
#include "temper-vk-backend-private.h"

/* Matches shaders/attention.glsl. */
#define ATT_MAX_HEAD_DIM 256

typedef struct {
  guint32 n_head, n_head_kv, head_dim, n_seq, n_query, n_key, q_offset;
  guint32 q_at, k_at, v_at, out_at, lse_at, dout_at, grad_at, grad2_at;
  guint32 has_lse;
  float scale;
  guint32 window;
  float softcap;
} AttentionPush;

static gboolean
check_attention (TemperVkBackend *vk, const TemperAttentionParams *p)
{
  g_return_val_if_fail (p->n_head_kv > 0 && p->n_head % p->n_head_kv == 0, FALSE);
  g_return_val_if_fail (p->n_key >= p->q_offset + p->n_query, FALSE);
  if (p->head_dim > ATT_MAX_HEAD_DIM)
    {
      temper_vk_backend_fail (vk, g_error_new (TEMPER_ERROR, TEMPER_ERROR_UNSUPPORTED,
                                               _("The Vulkan backend handles attention heads "
                                               "of up to %d dimensions; this model's have "
                                               "%d. Train it on the CPU."),
                                               ATT_MAX_HEAD_DIM, p->head_dim));
      return FALSE;
    }
  return TRUE;
}

static AttentionPush
attention_push (const TemperAttentionParams *p, const TemperBTensor *q,
                const TemperBTensor *k, const TemperBTensor *v,
                const TemperBTensor *out, const TemperBTensor *lse)
{
  AttentionPush push = {
    .n_head = (guint32) p->n_head, .n_head_kv = (guint32) p->n_head_kv,
    .head_dim = (guint32) p->head_dim, .n_seq = (guint32) p->n_seq,
    .n_query = (guint32) p->n_query, .n_key = (guint32) p->n_key,
    .q_offset = (guint32) p->q_offset,
    .q_at = temper_vk_tensor_index (q), .k_at = temper_vk_tensor_index (k),
    .v_at = temper_vk_tensor_index (v), .out_at = temper_vk_tensor_index (out),
    .lse_at = lse != NULL ? temper_vk_tensor_index (lse) : 0,
    .has_lse = lse != NULL,
    .scale = p->scale,
    .window = p->window > 0 ? (guint32) p->window : 0,
    .softcap = p->softcap,
  };
  return push;
}

void
temper_vk_op_attention (TemperBackend *b, const TemperBTensor *out,
                        const TemperBTensor *lse, const TemperBTensor *q,
                        const TemperBTensor *k, const TemperBTensor *v,
                        const TemperAttentionParams *params)
{
  TemperVkBackend *vk = (TemperVkBackend *) b;
  AttentionPush push;
  guint32 gx, gy;

  if (!check_attention (vk, params))
    return;
  push = attention_push (params, q, k, v, out, lse);
  temper_vk_buffer_t *buffers[] = {
    temper_vk_tensor_buffer (q), temper_vk_tensor_buffer (k),
    temper_vk_tensor_buffer (v), temper_vk_tensor_buffer (out),
    temper_vk_tensor_buffer (lse != NULL ? lse : out),
  };
  temper_vk_grid_2d (vk->device,
                     (guint64) params->n_seq * params->n_query * params->n_head, &gx, &gy);
  temper_vk_backend_dispatch (vk, TEMPER_VK_SHADER_ATTENTION_FORWARD, buffers, 5,
                              &push, sizeof push, gx, gy);
}

void
temper_vk_op_attention_backward (TemperBackend *b, const TemperBTensor *dq,
                                 const TemperBTensor *dk, const TemperBTensor *dv,
                                 const TemperBTensor *dout, const TemperBTensor *out,
                                 const TemperBTensor *lse, const TemperBTensor *q,
                                 const TemperBTensor *k, const TemperBTensor *v,
                                 const TemperAttentionParams *params)
{
  TemperVkBackend *vk = (TemperVkBackend *) b;
  AttentionPush push;
  guint32 gx, gy;

  g_return_if_fail (lse != NULL);
  if (!check_attention (vk, params))
    return;
  push = attention_push (params, q, k, v, out, lse);
  push.dout_at = temper_vk_tensor_index (dout);

  {
    temper_vk_buffer_t *buffers[] = {
      temper_vk_tensor_buffer (q), temper_vk_tensor_buffer (k),
      temper_vk_tensor_buffer (v), temper_vk_tensor_buffer (out),
      temper_vk_tensor_buffer (lse), temper_vk_tensor_buffer (dout),
      temper_vk_tensor_buffer (dq),
    };
    push.grad_at = temper_vk_tensor_index (dq);
    temper_vk_grid_2d (vk->device,
                       (guint64) params->n_seq * params->n_query * params->n_head, &gx, &gy);
    temper_vk_backend_dispatch (vk, TEMPER_VK_SHADER_ATTENTION_BACKWARD_QUERY, buffers, 7,
                                &push, sizeof push, gx, gy);
  }
  {
    temper_vk_buffer_t *buffers[] = {
      temper_vk_tensor_buffer (q), temper_vk_tensor_buffer (k),
      temper_vk_tensor_buffer (v), temper_vk_tensor_buffer (out),
      temper_vk_tensor_buffer (lse), temper_vk_tensor_buffer (dout),
      temper_vk_tensor_buffer (dk), temper_vk_tensor_buffer (dv),
    };
    push.grad_at = temper_vk_tensor_index (dk);
    push.grad2_at = temper_vk_tensor_index (dv);
    temper_vk_grid_2d (vk->device,
                       (guint64) params->n_seq * params->n_key * params->n_head_kv, &gx, &gy);
    temper_vk_backend_dispatch (vk, TEMPER_VK_SHADER_ATTENTION_BACKWARD_KEY_VALUE, buffers, 8,
                                &push, sizeof push, gx, gy);
  }
}

/* cross-entropy.comp */
typedef struct {
  guint32 n_rows, n_vocab, logits_offset, targets_offset, loss_offset, has_grad;
  float grad_scale, cap;
} CrossEntropyPush;

/* Per-row losses and counts live at the start of the reduction buffer; the
 * last 256 floats hold the partials of the sums over them. */
#define CE_MAX_ROWS ((TEMPER_VK_REDUCE_FLOATS - 256) / 2)

/* cap > 0: the logits are soft-capped before the softmax (Gemma 2). */
static void
record_cross_entropy (TemperBackend *b, const TemperBTensor *loss,
                      const TemperBTensor *dx, const TemperBTensor *x,
                      const TemperBTensor *w, const TemperBTensor *targets,
                      const TemperBTensor *scratch, float grad_scale, float cap)
{
  TemperVkBackend *vk = (TemperVkBackend *) b;
  int64_t n_rows = x->ne[1];
  int64_t chunk = MIN (scratch->ne[1], CE_MAX_ROWS);
  guint32 n_vocab = (guint32) w->ne[1];

  g_return_if_fail (x->ne[0] == w->ne[0] && scratch->ne[0] == w->ne[1]);
  g_return_if_fail (targets->ne[0] * targets->ne[1] == n_rows && chunk > 0);

  for (int64_t r0 = 0; r0 < n_rows; r0 += chunk)
    {
      int64_t rows = MIN (chunk, n_rows - r0);
      TemperBTensor x_rows = temper_btensor_rows (x, r0, rows);
      TemperBTensor logits = temper_btensor_rows (scratch, 0, rows);
      CrossEntropyPush push = {
        .n_rows = (guint32) rows, .n_vocab = n_vocab,
        .logits_offset = temper_vk_tensor_index (&logits),
        .targets_offset = temper_vk_tensor_index (targets) + (guint32) r0,
        .loss_offset = 0,
        .has_grad = dx != NULL,
        .grad_scale = grad_scale, .cap = cap,
      };
      temper_vk_buffer_t *buffers[] = {
        temper_vk_tensor_buffer (scratch), temper_vk_tensor_buffer (targets), vk->reduce,
      };
      guint32 gx, gy;

      temper_vk_op_matmul (b, &logits, &x_rows, w, NULL, FALSE);
      temper_vk_grid_2d (vk->device, (guint64) rows, &gx, &gy);
      temper_vk_backend_dispatch (vk, cap > 0.0f ? TEMPER_VK_SHADER_CROSS_ENTROPY_SOFTCAP
                                                 : TEMPER_VK_SHADER_CROSS_ENTROPY,
                                  buffers, 3,
                                  &push, sizeof push, gx, gy);
      temper_vk_record_sum (vk, FALSE, vk->reduce, 0, (guint32) rows,
                            temper_vk_tensor_buffer (loss), temper_vk_tensor_index (loss));
      temper_vk_record_sum (vk, FALSE, vk->reduce, (guint32) rows, (guint32) rows,
                            temper_vk_tensor_buffer (loss), temper_vk_tensor_index (loss) + 1);
      if (dx != NULL)
        {
          TemperBTensor dx_rows = temper_btensor_rows (dx, r0, rows);
          temper_vk_op_matmul_backward_input (b, &dx_rows, &logits, w);
        }
    }
}

void
temper_vk_op_lm_head_cross_entropy (TemperBackend *b, const TemperBTensor *loss,
                                    const TemperBTensor *dx, const TemperBTensor *x,
                                    const TemperBTensor *w, const TemperBTensor *targets,
                                    const TemperBTensor *scratch, float grad_scale)
{
  record_cross_entropy (b, loss, dx, x, w, targets, scratch, grad_scale, 0.0f);
}

void
temper_vk_op_lm_head_cross_entropy_softcap (TemperBackend *b, const TemperBTensor *loss,
                                            const TemperBTensor *dx, const TemperBTensor *x,
                                            const TemperBTensor *w,
                                            const TemperBTensor *targets,
                                            const TemperBTensor *scratch, float grad_scale,
                                            float cap)
{
  g_return_if_fail (cap > 0.0f);
  record_cross_entropy (b, loss, dx, x, w, targets, scratch, grad_scale, cap);
}
