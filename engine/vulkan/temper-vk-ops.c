/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <inttypes.h>
#include <math.h>

#include "temper/error.h"
#include "temper-vk-backend-private.h"

#define LOCAL 256u
/* Workgroups of the first pass of a sum; their partials fit the reduction
 * buffer many times over. */
#define SUM_GROUPS 256u

static TemperVkShaderId
get_rows_shader (int type)
{
  switch (type)
    {
    case TEMPER_TYPE_F32: return TEMPER_VK_SHADER_GET_ROWS_F32;
    case TEMPER_TYPE_F16: return TEMPER_VK_SHADER_GET_ROWS_F16;
    case TEMPER_TYPE_BF16: return TEMPER_VK_SHADER_GET_ROWS_BF16;
    case TEMPER_TYPE_Q4_0: return TEMPER_VK_SHADER_GET_ROWS_Q4_0;
    case TEMPER_TYPE_Q4_1: return TEMPER_VK_SHADER_GET_ROWS_Q4_1;
    case TEMPER_TYPE_Q5_0: return TEMPER_VK_SHADER_GET_ROWS_Q5_0;
    case TEMPER_TYPE_Q5_1: return TEMPER_VK_SHADER_GET_ROWS_Q5_1;
    case TEMPER_TYPE_Q8_0: return TEMPER_VK_SHADER_GET_ROWS_Q8_0;
    case TEMPER_TYPE_Q4_K: return TEMPER_VK_SHADER_GET_ROWS_Q4_K;
    case TEMPER_TYPE_Q5_K: return TEMPER_VK_SHADER_GET_ROWS_Q5_K;
    case TEMPER_TYPE_Q6_K: return TEMPER_VK_SHADER_GET_ROWS_Q6_K;
    case TEMPER_TYPE_NF4: return TEMPER_VK_SHADER_GET_ROWS_NF4;
    case TEMPER_TYPE_Q2_K: return TEMPER_VK_SHADER_GET_ROWS_Q2_K;
    case TEMPER_TYPE_Q3_K: return TEMPER_VK_SHADER_GET_ROWS_Q3_K;
    case TEMPER_TYPE_IQ4_NL: return TEMPER_VK_SHADER_GET_ROWS_IQ4_NL;
    case TEMPER_TYPE_IQ4_XS: return TEMPER_VK_SHADER_GET_ROWS_IQ4_XS;
    case TEMPER_TYPE_TQ2_0: return TEMPER_VK_SHADER_GET_ROWS_TQ2_0;
    default: g_return_val_if_reached (TEMPER_VK_SHADER_GET_ROWS_F32);
    }
}

static void
dispatch_elementwise (TemperVkBackend *vk, TemperVkShaderId shader,
                      temper_vk_buffer_t *const *buffers, guint32 n_buffers,
                      const void *push, guint32 push_size, guint64 n)
{
  guint32 gx, gy;

  temper_vk_grid_2d (vk->device, (n + LOCAL - 1) / LOCAL, &gx, &gy);
  temper_vk_backend_dispatch (vk, shader, buffers, n_buffers, push, push_size, gx, gy);
}

static void
dispatch_rows (TemperVkBackend *vk, TemperVkShaderId shader,
               temper_vk_buffer_t *const *buffers, guint32 n_buffers,
               const void *push, guint32 push_size, guint64 rows)
{
  guint32 gx, gy;

  temper_vk_grid_2d (vk->device, rows, &gx, &gy);
  temper_vk_backend_dispatch (vk, shader, buffers, n_buffers, push, push_size, gx, gy);
}

static guint64
n_elements (const TemperBTensor *t)
{
  return (guint64) t->ne[0] * (guint64) t->ne[1];
}

/* get-rows.comp */
typedef struct {
  guint32 n_rows, n_cols, w_offset, row_bytes, use_ids, ids_offset, y_offset, n_src_rows;
} GetRowsPush;

static void
record_get_rows (TemperVkBackend *vk, const TemperBTensor *out,
                 const TemperBTensor *w, const TemperBTensor *ids)
{
  GetRowsPush push = {
    .n_rows = (guint32) out->ne[1],
    .n_cols = (guint32) w->ne[0],
    .w_offset = (guint32) w->offset,
    .row_bytes = (guint32) temper_type_row_bytes (w->type, w->ne[0]),
    .use_ids = ids != NULL,
    .ids_offset = ids != NULL ? temper_vk_tensor_index (ids) : 0,
    .y_offset = temper_vk_tensor_index (out),
    .n_src_rows = (guint32) w->ne[1],
  };
  temper_vk_buffer_t *buffers[] = {
    temper_vk_tensor_buffer (w),
    temper_vk_tensor_buffer (ids != NULL ? ids : out),
    temper_vk_tensor_buffer (out),
  };

  g_return_if_fail (out->ne[0] == w->ne[0]);
  dispatch_rows (vk, get_rows_shader (w->type), buffers, 3, &push, sizeof push, out->ne[1]);
}

void
temper_vk_op_embedding (TemperBackend *b, const TemperBTensor *out,
                        const TemperBTensor *table, const TemperBTensor *tokens)
{
  g_return_if_fail (tokens->ne[0] * tokens->ne[1] == out->ne[1]);
  record_get_rows ((TemperVkBackend *) b, out, table, tokens);
}

void
temper_vk_op_dequantize (TemperBackend *b, const TemperBTensor *out,
                         const TemperBTensor *w)
{
  g_return_if_fail (out->ne[1] == w->ne[1]);
  record_get_rows ((TemperVkBackend *) b, out, w, NULL);
}

/* rmsnorm-forward.comp / rmsnorm-backward.comp */
typedef struct {
  guint32 rows, n;
  float eps;
  guint32 x_offset, w_offset, y_offset, rstd_offset;
} RmsnormPush;

typedef struct {
  guint32 rows, n, accumulate;
  guint32 dy_offset, x_offset, w_offset, rstd_offset, dx_offset;
} RmsnormBackwardPush;

void
temper_vk_op_rmsnorm (TemperBackend *b, const TemperBTensor *out,
                      const TemperBTensor *rstd, const TemperBTensor *x,
                      const TemperBTensor *weight, float eps)
{
  TemperVkBackend *vk = (TemperVkBackend *) b;
  RmsnormPush push = {
    .rows = (guint32) x->ne[1], .n = (guint32) x->ne[0], .eps = eps,
    .x_offset = temper_vk_tensor_index (x),
    .w_offset = temper_vk_tensor_index (weight),
    .y_offset = temper_vk_tensor_index (out),
  };
  temper_vk_buffer_t *buffers[] = {
    temper_vk_tensor_buffer (x), temper_vk_tensor_buffer (weight),
    temper_vk_tensor_buffer (out), vk->reduce,
  };

  g_return_if_fail (weight->type == TEMPER_TYPE_F32 && weight->ne[0] == x->ne[0]);
  /* Without a place to keep rstd, it goes to the reduction buffer, which
   * has room for one per row of any batch that fits a step. */
  if (rstd != NULL)
    {
      buffers[3] = temper_vk_tensor_buffer (rstd);
      push.rstd_offset = temper_vk_tensor_index (rstd);
    }
  else if (x->ne[1] > TEMPER_VK_REDUCE_FLOATS)
    {
      temper_vk_backend_fail (vk, g_error_new (TEMPER_ERROR, TEMPER_ERROR_INVALID_ARGUMENT,
                                               _("Too many rows (%" PRId64 ") in one "
                                               "RMSNorm for the Vulkan backend; use a "
                                               "smaller batch."), x->ne[1]));
      return;
    }
  dispatch_rows (vk, TEMPER_VK_SHADER_RMSNORM_FORWARD, buffers, 4, &push, sizeof push,
                 x->ne[1]);
}

void
temper_vk_op_rmsnorm_backward (TemperBackend *b, const TemperBTensor *dx,
                               const TemperBTensor *dy, const TemperBTensor *x,
                               const TemperBTensor *weight, const TemperBTensor *rstd)
{
  RmsnormBackwardPush push = {
    .rows = (guint32) x->ne[1], .n = (guint32) x->ne[0], .accumulate = 1,
    .dy_offset = temper_vk_tensor_index (dy),
    .x_offset = temper_vk_tensor_index (x),
    .w_offset = temper_vk_tensor_index (weight),
    .rstd_offset = temper_vk_tensor_index (rstd),
    .dx_offset = temper_vk_tensor_index (dx),
  };
  temper_vk_buffer_t *buffers[] = {
    temper_vk_tensor_buffer (dy), temper_vk_tensor_buffer (x),
    temper_vk_tensor_buffer (weight), temper_vk_tensor_buffer (rstd),
    temper_vk_tensor_buffer (dx),
  };

  dispatch_rows ((TemperVkBackend *) b, TEMPER_VK_SHADER_RMSNORM_BACKWARD, buffers, 5,
                 &push, sizeof push, x->ne[1]);
}

/* rope.comp */
typedef struct {
  guint32 n_tokens, n_heads, head_dim, x_offset, seq_len, pos_offset;
  float theta_base, direction;
} RopePush;

static void
record_rope (TemperBackend *b, const TemperBTensor *x, int n_head, int head_dim,
             int seq_len, int pos_offset, float theta, TemperRopeLayout layout,
             float direction)
{
  RopePush push = {
    .n_tokens = (guint32) x->ne[1], .n_heads = (guint32) n_head,
    .head_dim = (guint32) head_dim, .x_offset = temper_vk_tensor_index (x),
    .seq_len = (guint32) seq_len, .pos_offset = (guint32) pos_offset,
    .theta_base = theta, .direction = direction,
  };
  temper_vk_buffer_t *buffers[] = { temper_vk_tensor_buffer (x) };

  g_return_if_fail (x->ne[0] == (int64_t) n_head * head_dim && head_dim % 2 == 0);
  g_return_if_fail (seq_len > 0 && pos_offset >= 0);
  dispatch_elementwise ((TemperVkBackend *) b,
                        layout == TEMPER_ROPE_HALVES ? TEMPER_VK_SHADER_ROPE_HALVES
                                                     : TEMPER_VK_SHADER_ROPE_INTERLEAVED,
                        buffers, 1, &push, sizeof push, n_elements (x) / 2);
}

void
temper_vk_op_rope (TemperBackend *b, const TemperBTensor *x, int n_head, int head_dim,
                   int seq_len, int pos_offset, float theta, TemperRopeLayout layout)
{
  record_rope (b, x, n_head, head_dim, seq_len, pos_offset, theta, layout, 1.0f);
}

void
temper_vk_op_rope_backward (TemperBackend *b, const TemperBTensor *dx, int n_head,
                            int head_dim, int seq_len, int pos_offset, float theta,
                            TemperRopeLayout layout)
{
  record_rope (b, dx, n_head, head_dim, seq_len, pos_offset, theta, layout, -1.0f);
}

/* swiglu.comp */
typedef struct {
  guint32 n, g_offset, u_offset, out_offset, dg_offset, du_offset;
} SwigluPush;

static void
record_gated (TemperBackend *b, TemperVkShaderId shader, const TemperBTensor *out,
              const TemperBTensor *gate, const TemperBTensor *up)
{
  SwigluPush push = {
    .n = (guint32) n_elements (out),
    .g_offset = temper_vk_tensor_index (gate),
    .u_offset = temper_vk_tensor_index (up),
    .out_offset = temper_vk_tensor_index (out),
  };
  temper_vk_buffer_t *buffers[] = {
    temper_vk_tensor_buffer (gate), temper_vk_tensor_buffer (up),
    temper_vk_tensor_buffer (out),
  };

  g_return_if_fail (n_elements (gate) == push.n && n_elements (up) == push.n);
  dispatch_elementwise ((TemperVkBackend *) b, shader, buffers, 3, &push, sizeof push, push.n);
}

static void
record_gated_backward (TemperBackend *b, TemperVkShaderId shader, const TemperBTensor *dgate,
                       const TemperBTensor *dup, const TemperBTensor *dout,
                       const TemperBTensor *gate, const TemperBTensor *up)
{
  SwigluPush push = {
    .n = (guint32) n_elements (dout),
    .g_offset = temper_vk_tensor_index (gate),
    .u_offset = temper_vk_tensor_index (up),
    .out_offset = temper_vk_tensor_index (dout),
    .dg_offset = temper_vk_tensor_index (dgate),
    .du_offset = temper_vk_tensor_index (dup),
  };
  temper_vk_buffer_t *buffers[] = {
    temper_vk_tensor_buffer (gate), temper_vk_tensor_buffer (up),
    temper_vk_tensor_buffer (dout), temper_vk_tensor_buffer (dgate),
    temper_vk_tensor_buffer (dup),
  };

  g_return_if_fail (n_elements (gate) == push.n && n_elements (dgate) == push.n);
  dispatch_elementwise ((TemperVkBackend *) b, shader, buffers, 5, &push, sizeof push, push.n);
}

void
temper_vk_op_swiglu (TemperBackend *b, const TemperBTensor *out,
                     const TemperBTensor *gate, const TemperBTensor *up)
{
  record_gated (b, TEMPER_VK_SHADER_SWIGLU_FORWARD, out, gate, up);
}

void
temper_vk_op_swiglu_backward (TemperBackend *b, const TemperBTensor *dgate,
                              const TemperBTensor *dup, const TemperBTensor *dout,
                              const TemperBTensor *gate, const TemperBTensor *up)
{
  record_gated_backward (b, TEMPER_VK_SHADER_SWIGLU_BACKWARD, dgate, dup, dout, gate, up);
}

/* The same shader with -DGELU: Gemma's gelu_tanh in place of silu. */
void
temper_vk_op_geglu (TemperBackend *b, const TemperBTensor *out,
                    const TemperBTensor *gate, const TemperBTensor *up)
{
  record_gated (b, TEMPER_VK_SHADER_GEGLU_FORWARD, out, gate, up);
}

void
temper_vk_op_geglu_backward (TemperBackend *b, const TemperBTensor *dgate,
                             const TemperBTensor *dup, const TemperBTensor *dout,
                             const TemperBTensor *gate, const TemperBTensor *up)
{
  record_gated_backward (b, TEMPER_VK_SHADER_GEGLU_BACKWARD, dgate, dup, dout, gate, up);
}

/* add.comp */
typedef struct {
  guint32 n, a_offset, b_offset, y_offset;
  float alpha;
} AddPush;

void
temper_vk_op_add (TemperBackend *b, const TemperBTensor *out,
                  const TemperBTensor *a, const TemperBTensor *bt)
{
  AddPush push = {
    .n = (guint32) n_elements (out),
    .a_offset = temper_vk_tensor_index (a),
    .b_offset = temper_vk_tensor_index (bt),
    .y_offset = temper_vk_tensor_index (out),
    .alpha = 1.0f,
  };
  temper_vk_buffer_t *buffers[] = {
    temper_vk_tensor_buffer (a), temper_vk_tensor_buffer (bt),
    temper_vk_tensor_buffer (out),
  };

  g_return_if_fail (n_elements (a) == push.n && n_elements (bt) == push.n);
  dispatch_elementwise ((TemperVkBackend *) b, TEMPER_VK_SHADER_ADD, buffers, 3,
                        &push, sizeof push, push.n);
}

/* scale.comp */
typedef struct {
  guint32 n, x_offset;
  float s;
} ScalePush;

void
temper_vk_op_scale (TemperBackend *b, const TemperBTensor *x, float s)
{
  ScalePush push = {
    .n = (guint32) n_elements (x), .x_offset = temper_vk_tensor_index (x), .s = s,
  };
  temper_vk_buffer_t *buffers[] = { temper_vk_tensor_buffer (x) };

  dispatch_elementwise ((TemperVkBackend *) b, TEMPER_VK_SHADER_SCALE, buffers, 1,
                        &push, sizeof push, push.n);
}

/* scale.comp with -DSOFTCAP: x = cap·tanh(x/cap). */
void
temper_vk_op_softcap (TemperBackend *b, const TemperBTensor *x, float cap)
{
  ScalePush push = {
    .n = (guint32) n_elements (x), .x_offset = temper_vk_tensor_index (x), .s = cap,
  };
  temper_vk_buffer_t *buffers[] = { temper_vk_tensor_buffer (x) };

  g_return_if_fail (cap > 0.0f);
  dispatch_elementwise ((TemperVkBackend *) b, TEMPER_VK_SHADER_SOFTCAP, buffers, 1,
                        &push, sizeof push, push.n);
}

void
temper_vk_op_zero (TemperBackend *b, const TemperBTensor *x)
{
  TemperVkBackend *vk = (TemperVkBackend *) b;
  size_t bytes = temper_btensor_bytes (x->type, x->ne[0], x->ne[1]);

  g_return_if_fail (x->offset % 4 == 0 && bytes % 4 == 0);
  if (!temper_vk_backend_prepare (vk))
    return;
  temper_vk_commands_fill (vk->cmds, temper_vk_tensor_buffer (x), x->offset, bytes, 0);
  vk->recorded = TRUE;
}

/* adamw.comp */
typedef struct {
  guint32 n, param_offset, grad_offset, m_offset, v_offset, sumsq_offset;
  float lr, beta1, beta2, eps, weight_decay, bias_correction1, bias_correction2;
  float max_grad_norm;
} AdamwPush;

void
temper_vk_op_adamw (TemperBackend *b, const TemperBTensor *param,
                    const TemperBTensor *grad, const TemperBTensor *m,
                    const TemperBTensor *v, const TemperBTensor *grad_sumsq,
                    const TemperAdamWParams *params)
{
  gboolean clip = params->max_grad_norm > 0.0f;
  AdamwPush push = {
    .n = (guint32) n_elements (param),
    .param_offset = temper_vk_tensor_index (param),
    .grad_offset = temper_vk_tensor_index (grad),
    .m_offset = temper_vk_tensor_index (m),
    .v_offset = temper_vk_tensor_index (v),
    .sumsq_offset = clip ? temper_vk_tensor_index (grad_sumsq) : 0,
    .lr = params->lr, .beta1 = params->beta1, .beta2 = params->beta2, .eps = params->eps,
    .weight_decay = params->weight_decay,
    .bias_correction1 = (float) (1.0 - pow (params->beta1, (double) params->step)),
    .bias_correction2 = (float) (1.0 - pow (params->beta2, (double) params->step)),
    .max_grad_norm = clip ? params->max_grad_norm : 0.0f,
  };
  temper_vk_buffer_t *buffers[] = {
    temper_vk_tensor_buffer (param), temper_vk_tensor_buffer (grad),
    temper_vk_tensor_buffer (m), temper_vk_tensor_buffer (v),
    temper_vk_tensor_buffer (clip ? grad_sumsq : param),
  };

  g_return_if_fail (params->step >= 1);
  g_return_if_fail (!clip || grad_sumsq != NULL);
  dispatch_elementwise ((TemperVkBackend *) b, TEMPER_VK_SHADER_ADAMW, buffers, 5,
                        &push, sizeof push, push.n);
}

/* sum.comp */
typedef struct {
  guint32 n, x_offset, out_offset, accumulate;
} SumPush;

void
temper_vk_record_sum (TemperVkBackend *vk, gboolean squares,
                      temper_vk_buffer_t *src, guint32 src_at, guint32 n,
                      temper_vk_buffer_t *dst, guint32 dst_at)
{
  TemperVkShaderId shader = squares ? TEMPER_VK_SHADER_SUM_SQUARES : TEMPER_VK_SHADER_SUM;
  guint32 groups = MIN (SUM_GROUPS, (n + LOCAL - 1) / LOCAL);

  if (groups <= 1)
    {
      SumPush push = { n, src_at, dst_at, 1 };
      temper_vk_buffer_t *buffers[] = { src, dst };
      temper_vk_backend_dispatch (vk, shader, buffers, 2, &push, sizeof push, 1, 1);
      return;
    }

  /* Partials go to the end of the reduction buffer, out of the way of the
   * per-row values that cross-entropy sums from its start. */
  {
    guint32 partial_at = TEMPER_VK_REDUCE_FLOATS - SUM_GROUPS;
    SumPush first = { n, src_at, partial_at, 0 };
    SumPush second = { groups, partial_at, dst_at, 1 };
    temper_vk_buffer_t *pass1[] = { src, vk->reduce };
    temper_vk_buffer_t *pass2[] = { vk->reduce, dst };

    temper_vk_backend_dispatch (vk, shader, pass1, 2, &first, sizeof first, groups, 1);
    temper_vk_backend_dispatch (vk, TEMPER_VK_SHADER_SUM, pass2, 2, &second, sizeof second,
                                1, 1);
  }
}

void
temper_vk_op_sum_squares (TemperBackend *b, const TemperBTensor *out,
                          const TemperBTensor *x)
{
  temper_vk_record_sum ((TemperVkBackend *) b, TRUE, temper_vk_tensor_buffer (x),
                        temper_vk_tensor_index (x), (guint32) n_elements (x),
                        temper_vk_tensor_buffer (out), temper_vk_tensor_index (out));
}
