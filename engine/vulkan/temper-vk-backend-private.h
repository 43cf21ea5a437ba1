/* SPDX-License-Identifier: MIT */
/* temper-vk-backend-private.h — the Vulkan backend's state and its ops. */
#pragma once

#include "temper-vk-backend.h"
#include "temper-vk-commands-private.h"
#include "temper-vk-device-private.h"
#include "temper-vk-memory-private.h"

G_BEGIN_DECLS

/* Floats in the backend's reduction buffer: partial sums and per-row
 * cross-entropy losses. */
#define TEMPER_VK_REDUCE_FLOATS 65536

/* A RoPE frequency table on the device (temper-vk-ops-rope-table.c). */
typedef struct _TemperVkRopeTable TemperVkRopeTable;
void temper_vk_rope_table_free (TemperVkRopeTable *table);

typedef struct {
  TemperBackend          parent;
  temper_vk_device_t    *device;
  temper_vk_commands_t  *cmds;
  temper_vk_buffer_t    *reduce;
  gboolean               recording;
  gboolean               recorded;    /* something to submit */
  GError                *error;       /* the first failure since begin */
  TemperVkMatmulPath     matmul_path;
  gboolean               subgroup_reduce; /* the *_subgroup shader variants */
  GPtrArray             *rope_tables;     /* TemperVkRopeTable, uploaded once each */
  TemperBuffer          *moe_scratch;     /* routing and gathered rows of the mixture of experts */
  GPtrArray             *moe_retired;     /* smaller scratch buffers a recorded step may still read */
} TemperVkBackend;

/* Starts recording if the caller did not; FALSE once the step has failed. */
gboolean temper_vk_backend_prepare (TemperVkBackend *vk);
/* Keeps the first error of the step for flush() to report. */
void     temper_vk_backend_fail    (TemperVkBackend *vk, GError *error);
/* Records a dispatch, keeping any failure for flush(). */
void     temper_vk_backend_dispatch (TemperVkBackend           *vk,
                                     TemperVkShaderId           shader,
                                     temper_vk_buffer_t *const *buffers,
                                     guint32                    n_buffers,
                                     const void                *push,
                                     guint32                    push_size,
                                     guint32                    gx,
                                     guint32                    gy);

static inline temper_vk_buffer_t *
temper_vk_tensor_buffer (const TemperBTensor *t)
{
  return (temper_vk_buffer_t *) t->buffer->priv;
}

/* The element offset of an F32 or I32 tensor in its buffer. */
static inline guint32
temper_vk_tensor_index (const TemperBTensor *t)
{
  g_assert (t->offset % 4 == 0);
  return (guint32) (t->offset / 4);
}

gboolean temper_vk_weight_type_supported (int type);

/* Ops (temper-vk-ops.c); their contracts are in backend/temper-backend.h. */
void temper_vk_op_embedding (TemperBackend *b, const TemperBTensor *out,
                             const TemperBTensor *table, const TemperBTensor *tokens);
void temper_vk_op_dequantize (TemperBackend *b, const TemperBTensor *out,
                              const TemperBTensor *w);
void temper_vk_op_rmsnorm (TemperBackend *b, const TemperBTensor *out,
                           const TemperBTensor *rstd, const TemperBTensor *x,
                           const TemperBTensor *weight, float eps);
void temper_vk_op_rmsnorm_backward (TemperBackend *b, const TemperBTensor *dx,
                                    const TemperBTensor *dy, const TemperBTensor *x,
                                    const TemperBTensor *weight, const TemperBTensor *rstd);
void temper_vk_op_matmul (TemperBackend *b, const TemperBTensor *y, const TemperBTensor *x,
                          const TemperBTensor *w, const TemperBTensor *bias,
                          gboolean accumulate);
void temper_vk_op_matmul_backward_input (TemperBackend *b, const TemperBTensor *dx,
                                         const TemperBTensor *dy, const TemperBTensor *w);
/* matmul (overwriting y) and matmul_backward_input on the fp32 tiled or
 * matvec shaders, never cooperative matrices: a mixture of experts' router,
 * whose logits choose the experts, must not round its inputs. */
void temper_vk_op_matmul_fp32 (TemperBackend *b, const TemperBTensor *y, const TemperBTensor *x,
                               const TemperBTensor *w);
void temper_vk_op_matmul_backward_input_fp32 (TemperBackend *b, const TemperBTensor *dx,
                                              const TemperBTensor *dy, const TemperBTensor *w);
void temper_vk_op_gemm (TemperBackend *b, const TemperBTensor *c, const TemperBTensor *a,
                        gboolean transpose_a, const TemperBTensor *bmat,
                        gboolean transpose_b, float alpha, float beta);
void temper_vk_op_rope (TemperBackend *b, const TemperBTensor *x, int n_head, int head_dim,
                        int seq_len, int pos_offset, float theta, TemperRopeLayout layout);
void temper_vk_op_rope_backward (TemperBackend *b, const TemperBTensor *dx, int n_head,
                                 int head_dim, int seq_len, int pos_offset, float theta,
                                 TemperRopeLayout layout);
/* temper-vk-ops-rope-table.c */
void temper_vk_op_rope_table (TemperBackend *b, const TemperBTensor *x,
                              const TemperRopeTable *table);
void temper_vk_op_rope_table_backward (TemperBackend *b, const TemperBTensor *dx,
                                       const TemperRopeTable *table);
void temper_vk_op_swiglu (TemperBackend *b, const TemperBTensor *out,
                          const TemperBTensor *gate, const TemperBTensor *up);
void temper_vk_op_swiglu_backward (TemperBackend *b, const TemperBTensor *dgate,
                                   const TemperBTensor *dup, const TemperBTensor *dout,
                                   const TemperBTensor *gate, const TemperBTensor *up);
void temper_vk_op_add (TemperBackend *b, const TemperBTensor *out,
                       const TemperBTensor *a, const TemperBTensor *bt);
void temper_vk_op_adamw (TemperBackend *b, const TemperBTensor *param,
                         const TemperBTensor *grad, const TemperBTensor *m,
                         const TemperBTensor *v, const TemperBTensor *grad_sumsq,
                         const TemperAdamWParams *params);
void temper_vk_op_sum_squares (TemperBackend *b, const TemperBTensor *out,
                               const TemperBTensor *x);
void temper_vk_op_scale (TemperBackend *b, const TemperBTensor *x, float s);
void temper_vk_op_softcap (TemperBackend *b, const TemperBTensor *x, float cap);
void temper_vk_op_geglu (TemperBackend *b, const TemperBTensor *out,
                         const TemperBTensor *gate, const TemperBTensor *up);
void temper_vk_op_geglu_backward (TemperBackend *b, const TemperBTensor *dgate,
                                  const TemperBTensor *dup, const TemperBTensor *dout,
                                  const TemperBTensor *gate, const TemperBTensor *up);
void temper_vk_op_zero (TemperBackend *b, const TemperBTensor *x);
/* temper-vk-ops-moe.c */
void temper_vk_op_moe (TemperBackend *b, const TemperBTensor *out, const TemperBTensor *x,
                       const TemperMoe *moe);
void temper_vk_op_moe_backward (TemperBackend *b, const TemperBTensor *dx, const TemperBTensor *dout,
                                const TemperBTensor *x, const TemperMoe *moe);
void temper_vk_moe_free (TemperVkBackend *vk);
/* temper-vk-ops-dropout.c */
void temper_vk_op_dropout (TemperBackend *b, const TemperBTensor *out, const TemperBTensor *x,
                           float p, guint64 key);

/* Sum of @n floats of @src from element @src_at, added to dst[dst_at]
 * (through the reduction buffer; used by sum_squares and cross-entropy). */
void temper_vk_record_sum (TemperVkBackend *vk, gboolean squares,
                           temper_vk_buffer_t *src, guint32 src_at, guint32 n,
                           temper_vk_buffer_t *dst, guint32 dst_at);

/* temper-vk-ops-coopmat.c: the cooperative-matrix variant of matmul.comp
 * for @weight_type, when @vk should use it for an M×N×K product. */
gboolean temper_vk_use_coopmat (TemperVkBackend *vk, int weight_type,
                                guint32 M, guint32 N, guint32 K,
                                TemperVkShaderId *shader);
void     temper_vk_coopmat_grid (TemperVkBackend *vk, guint32 M, guint32 N,
                                 guint32 *gx, guint32 *gy);
/* Applies TEMPER_VK_MATMUL (see temper-vk-backend.h) to a new backend. */
gboolean temper_vk_backend_apply_matmul_env (TemperBackend *backend, GError **error);

/* Ops (temper-vk-ops-attention.c). */
void temper_vk_op_attention (TemperBackend *b, const TemperBTensor *out,
                             const TemperBTensor *lse, const TemperBTensor *q,
                             const TemperBTensor *k, const TemperBTensor *v,
                             const TemperAttentionParams *params);
void temper_vk_op_attention_backward (TemperBackend *b, const TemperBTensor *dq,
                                      const TemperBTensor *dk, const TemperBTensor *dv,
                                      const TemperBTensor *dout, const TemperBTensor *out,
                                      const TemperBTensor *lse, const TemperBTensor *q,
                                      const TemperBTensor *k, const TemperBTensor *v,
                                      const TemperAttentionParams *params);
void temper_vk_op_lm_head_cross_entropy (TemperBackend *b, const TemperBTensor *loss,
                                         const TemperBTensor *dx, const TemperBTensor *x,
                                         const TemperBTensor *w,
                                         const TemperBTensor *targets,
                                         const TemperBTensor *scratch, float grad_scale);
void temper_vk_op_lm_head_cross_entropy_softcap (TemperBackend *b, const TemperBTensor *loss,
                                                 const TemperBTensor *dx, const TemperBTensor *x,
                                                 const TemperBTensor *w,
                                                 const TemperBTensor *targets,
                                                 const TemperBTensor *scratch,
                                                 float grad_scale, float cap);

G_END_DECLS
