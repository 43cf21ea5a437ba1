/* SPDX-License-Identifier: MIT */
/* temper-cuda-backend.c — the backend interface over the CUDA module.
 *
 * Buffers are device memory; ops are queued on the calling thread's stream
 * as they are recorded, and flush() waits for them and reports the first
 * failure of the step.  The ops are thin: shapes are unpacked here, the
 * work is done by the module's kernels. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "temper/error.h"
#include "temper-cuda-backend.h"
#include "temper-cuda-private.h"

typedef struct {
  TemperBackend           parent;
  const TemperCudaModule *module;
  int                     device;
  GError                 *error;   /* the first failure since begin() */
  guint64                 in_use;  /* bytes of the buffers allocated now */
  guint64                 peak;    /* the most in_use has been */
  void                   *moe_scratch;      /* the mixture of experts' routing and rows */
  size_t                  moe_scratch_size;
  const void            **moe_pointers;     /* its experts' weights, 3 per expert */
  int                     moe_n_pointers;
} TemperCudaBackend;

#define TEMPER_CUDA_BACKEND(b) ((TemperCudaBackend *) (b))

static void *
device_pointer (const TemperBTensor *t)
{
  return (guint8 *) t->buffer->priv + t->offset;
}

static int64_t
n_elements (const TemperBTensor *t)
{
  return t->ne[0] * t->ne[1];
}

/* Ops return nothing (see temper-backend.h); keep the first failure for
 * flush() and skip the rest of the step's work once one happened. */
static gboolean
failed (TemperCudaBackend *self)
{
  return self->error != NULL;
}

static void
record (TemperCudaBackend *self, TemperCudaStatus status, const char *what)
{
  if (self->error == NULL)
    temper_cuda_check (self->module, status, what, &self->error);
}

/* Not yet: Q5_0, Q5_1, Q4_K, Q5_K and Q6_K have no CUDA decoder. */
static const int cuda_weight_types[] = {
  TEMPER_TYPE_F32, TEMPER_TYPE_F16, TEMPER_TYPE_BF16, TEMPER_TYPE_Q4_0, TEMPER_TYPE_Q4_1,
  TEMPER_TYPE_Q8_0, TEMPER_TYPE_Q2_K, TEMPER_TYPE_Q3_K, TEMPER_TYPE_IQ4_NL, TEMPER_TYPE_IQ4_XS,
  TEMPER_TYPE_TQ2_0, TEMPER_TYPE_NF4, -1,
};

#define OP(op) (G_GUINT64_CONSTANT (1) << (op))

const TemperOpSupport temper_cuda_op_support = {
  .ops = OP (TEMPER_OP_EMBEDDING) | OP (TEMPER_OP_RMSNORM) | OP (TEMPER_OP_RMSNORM_BACKWARD)
         | OP (TEMPER_OP_MATMUL) | OP (TEMPER_OP_MATMUL_BACKWARD_INPUT) | OP (TEMPER_OP_GEMM)
         | OP (TEMPER_OP_ROPE) | OP (TEMPER_OP_ROPE_BACKWARD) | OP (TEMPER_OP_ATTENTION)
         | OP (TEMPER_OP_ATTENTION_BACKWARD) | OP (TEMPER_OP_SWIGLU)
         | OP (TEMPER_OP_SWIGLU_BACKWARD) | OP (TEMPER_OP_ADD)
         | OP (TEMPER_OP_LM_HEAD_CROSS_ENTROPY) | OP (TEMPER_OP_ADAMW)
         | OP (TEMPER_OP_SUM_SQUARES) | OP (TEMPER_OP_SCALE) | OP (TEMPER_OP_DEQUANTIZE)
         | OP (TEMPER_OP_ZERO) | OP (TEMPER_OP_DROPOUT)
         /* Family ops (kernels/temper-cuda-family.cu, -cross-entropy.cu,
          * -attention.cu). */
         | OP (TEMPER_OP_GEGLU) | OP (TEMPER_OP_SOFTCAP) | OP (TEMPER_OP_ROPE_TABLE)
         | OP (TEMPER_OP_LM_HEAD_CROSS_ENTROPY_SOFTCAP) | OP (TEMPER_OP_ATTENTION_WINDOW)
         /* The mixture of experts, forward and backward (-moe.cu). */
         | OP (TEMPER_OP_MOE),
  .weight_types = cuda_weight_types,
};

static void
cuda_destroy (TemperBackend *b)
{
  TemperCudaBackend *self = TEMPER_CUDA_BACKEND (b);

  if (self->moe_scratch != NULL)
    {
      self->module->set_device (self->device);
      self->module->free (self->moe_scratch);
    }
  g_free (self->moe_pointers);
  g_clear_error (&self->error);
  g_free (self);
}

static gboolean
cuda_supports_op (TemperBackend *b, TemperOp op, int weight_type)
{
  return temper_op_support_lookup (&temper_cuda_op_support, op, weight_type);
}

static TemperBuffer *
cuda_buffer_alloc (TemperBackend *b, size_t size, TemperBufferUsage usage, GError **error)
{
  TemperCudaBackend *self = TEMPER_CUDA_BACKEND (b);
  TemperBuffer *buffer;
  void *memory = NULL;

  if (!temper_cuda_check (self->module, self->module->set_device (self->device),
                          N_("selecting the GPU"), error))
    return NULL;
  if (self->module->alloc (&memory, MAX (size, 1)) != TEMPER_CUDA_OK)
    {
      g_autofree char *human = g_format_size (size);

      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_OUT_OF_MEMORY,
                   _("The graphics card has no room for another %s (%s). Close other programs "
                   "that use it, or choose a smaller model or batch."),
                   human, self->module->last_error ());
      return NULL;
    }
  buffer = g_new0 (TemperBuffer, 1);
  buffer->backend = b;
  buffer->size = size;
  buffer->usage = usage;
  buffer->priv = memory;
  self->in_use += size;
  self->peak = MAX (self->peak, self->in_use);
  return buffer;
}

static void
cuda_buffer_free (TemperBackend *b, TemperBuffer *buffer)
{
  TemperCudaBackend *self = TEMPER_CUDA_BACKEND (b);

  self->module->set_device (self->device);
  self->module->free (buffer->priv);
  self->in_use -= MIN (self->in_use, buffer->size);
  g_free (buffer);
}

static gboolean
cuda_buffer_upload (TemperBackend *b, TemperBuffer *buffer, size_t offset, const void *data,
                    size_t size, GError **error)
{
  TemperCudaBackend *self = TEMPER_CUDA_BACKEND (b);

  g_return_val_if_fail (offset + size <= buffer->size, FALSE);
  return temper_cuda_check (self->module, self->module->set_device (self->device),
                            N_("selecting the GPU"), error) &&
         temper_cuda_check (self->module,
                            self->module->upload ((guint8 *) buffer->priv + offset, data, size),
                            N_("copying to the graphics card"), error);
}

static gboolean
cuda_buffer_download (TemperBackend *b, TemperBuffer *buffer, size_t offset, void *data,
                      size_t size, GError **error)
{
  TemperCudaBackend *self = TEMPER_CUDA_BACKEND (b);

  g_return_val_if_fail (offset + size <= buffer->size, FALSE);
  return temper_cuda_check (self->module, self->module->set_device (self->device),
                            N_("selecting the GPU"), error) &&
         temper_cuda_check (self->module,
                            self->module->download (data, (guint8 *) buffer->priv + offset, size),
                            N_("copying from the graphics card"), error);
}

static TemperBuffer *
cuda_buffer_from_host (TemperBackend *b, const void *data, size_t size, GError **error)
{
  TemperBuffer *buffer = cuda_buffer_alloc (b, size, TEMPER_BUFFER_WEIGHTS, error);

  if (buffer != NULL && !cuda_buffer_upload (b, buffer, 0, data, size, error))
    {
      cuda_buffer_free (b, buffer);
      return NULL;
    }
  return buffer;
}

static void
cuda_begin (TemperBackend *b)
{
  TemperCudaBackend *self = TEMPER_CUDA_BACKEND (b);

  g_clear_error (&self->error);
  record (self, self->module->set_device (self->device), N_("selecting the GPU"));
}

static gboolean
cuda_flush (TemperBackend *b, GError **error)
{
  TemperCudaBackend *self = TEMPER_CUDA_BACKEND (b);

  record (self, self->module->synchronize (), N_("running the step on the graphics card"));
  if (self->error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&self->error));
      return FALSE;
    }
  return TRUE;
}

static void
cuda_embedding (TemperBackend *b, const TemperBTensor *out, const TemperBTensor *table,
                const TemperBTensor *tokens)
{
  TemperCudaBackend *self = TEMPER_CUDA_BACKEND (b);

  if (failed (self))
    return;
  record (self, self->module->embedding_forward (device_pointer (out), device_pointer (table),
                                                 table->type, table->ne[1],
                                                 device_pointer (tokens),
                                                 (int) n_elements (tokens), (int) table->ne[0]),
          N_("looking up token embeddings"));
}

static void
cuda_rmsnorm (TemperBackend *b, const TemperBTensor *out, const TemperBTensor *rstd,
              const TemperBTensor *x, const TemperBTensor *weight, float eps)
{
  TemperCudaBackend *self = TEMPER_CUDA_BACKEND (b);

  if (failed (self))
    return;
  record (self, self->module->rmsnorm_forward (device_pointer (out),
                                               rstd != NULL ? device_pointer (rstd) : NULL,
                                               device_pointer (x), device_pointer (weight),
                                               (int) x->ne[1], (int) x->ne[0], eps),
          N_("normalising activations"));
}

static void
cuda_rmsnorm_backward (TemperBackend *b, const TemperBTensor *dx, const TemperBTensor *dy,
                       const TemperBTensor *x, const TemperBTensor *weight,
                       const TemperBTensor *rstd)
{
  TemperCudaBackend *self = TEMPER_CUDA_BACKEND (b);

  if (failed (self))
    return;
  record (self, self->module->rmsnorm_backward (device_pointer (dx), NULL, device_pointer (dy),
                                                device_pointer (x), device_pointer (weight),
                                                device_pointer (rstd), (int) x->ne[1],
                                                (int) x->ne[0]),
          N_("computing normalisation gradients"));
}

static void
cuda_matmul (TemperBackend *b, const TemperBTensor *y, const TemperBTensor *x,
             const TemperBTensor *w, const TemperBTensor *bias, gboolean accumulate)
{
  TemperCudaBackend *self = TEMPER_CUDA_BACKEND (b);

  if (failed (self))
    return;
  record (self, self->module->linear_forward (device_pointer (y), device_pointer (x),
                                              device_pointer (w), w->type,
                                              bias != NULL ? device_pointer (bias) : NULL,
                                              (int) x->ne[1], (int) x->ne[0], (int) w->ne[1],
                                              accumulate),
          N_("running a linear layer"));
}

static void
cuda_matmul_backward_input (TemperBackend *b, const TemperBTensor *dx, const TemperBTensor *dy,
                            const TemperBTensor *w)
{
  TemperCudaBackend *self = TEMPER_CUDA_BACKEND (b);

  if (failed (self))
    return;
  record (self, self->module->linear_backward_input (device_pointer (dx), device_pointer (dy),
                                                     device_pointer (w), w->type,
                                                     (int) dy->ne[1], (int) w->ne[0],
                                                     (int) w->ne[1]),
          N_("computing linear-layer gradients"));
}

static void
cuda_gemm (TemperBackend *b, const TemperBTensor *c, const TemperBTensor *a,
           gboolean transpose_a, const TemperBTensor *bmat, gboolean transpose_b,
           float alpha, float beta)
{
  TemperCudaBackend *self = TEMPER_CUDA_BACKEND (b);
  int k = (int) (transpose_a ? a->ne[1] : a->ne[0]);

  if (failed (self))
    return;
  record (self, self->module->gemm (device_pointer (c), device_pointer (a), device_pointer (bmat),
                                    (int) c->ne[1], (int) c->ne[0], k, transpose_a, transpose_b,
                                    alpha, beta),
          N_("multiplying matrices"));
}

static void
cuda_rope_either (TemperBackend *b, const TemperBTensor *x, int n_head, int head_dim,
                  int seq_len, int pos_offset, float theta, TemperRopeLayout layout,
                  gboolean inverse)
{
  TemperCudaBackend *self = TEMPER_CUDA_BACKEND (b);
  int layout_id = layout == TEMPER_ROPE_INTERLEAVED ? TEMPER_CUDA_ROPE_INTERLEAVED
                                                    : TEMPER_CUDA_ROPE_HALVES;

  if (failed (self))
    return;
  record (self, self->module->rope (device_pointer (x), (int) x->ne[1], n_head, head_dim, seq_len,
                                    pos_offset, theta, layout_id, inverse),
          N_("applying position encoding"));
}

static void
cuda_rope (TemperBackend *b, const TemperBTensor *x, int n_head, int head_dim, int seq_len,
           int pos_offset, float theta, TemperRopeLayout layout)
{
  cuda_rope_either (b, x, n_head, head_dim, seq_len, pos_offset, theta, layout, FALSE);
}

static void
cuda_rope_backward (TemperBackend *b, const TemperBTensor *dx, int n_head, int head_dim,
                    int seq_len, int pos_offset, float theta, TemperRopeLayout layout)
{
  cuda_rope_either (b, dx, n_head, head_dim, seq_len, pos_offset, theta, layout, TRUE);
}

static void
cuda_rope_table_either (TemperBackend *b, const TemperBTensor *x, const TemperRopeTable *t,
                        gboolean inverse)
{
  TemperCudaBackend *self = TEMPER_CUDA_BACKEND (b);
  int layout_id = t->layout == TEMPER_ROPE_INTERLEAVED ? TEMPER_CUDA_ROPE_INTERLEAVED
                                                       : TEMPER_CUDA_ROPE_HALVES;

  g_return_if_fail (x->ne[0] == (int64_t) t->n_head * t->head_dim);
  if (failed (self))
    return;
  record (self, self->module->rope_table (device_pointer (x), (int) x->ne[1], t->n_head,
                                          t->head_dim, t->seq_len, t->pos_offset, layout_id,
                                          t->n_pairs, t->inv_freq, t->mscale, inverse),
          N_("applying position encoding"));
}

static void
cuda_rope_table (TemperBackend *b, const TemperBTensor *x, const TemperRopeTable *table)
{
  cuda_rope_table_either (b, x, table, FALSE);
}

static void
cuda_rope_table_backward (TemperBackend *b, const TemperBTensor *dx, const TemperRopeTable *table)
{
  cuda_rope_table_either (b, dx, table, TRUE);
}

static TemperCudaAttention
attention_shape (const TemperAttentionParams *params)
{
  TemperCudaAttention shape = {
    .n_head = params->n_head, .n_head_kv = params->n_head_kv, .head_dim = params->head_dim,
    .n_seq = params->n_seq, .n_query = params->n_query, .n_key = params->n_key,
    .q_offset = params->q_offset, .scale = params->scale,
    .window = params->window, .softcap = params->softcap,
  };
  return shape;
}

static void
cuda_attention (TemperBackend *b, const TemperBTensor *out, const TemperBTensor *lse,
                const TemperBTensor *q, const TemperBTensor *k, const TemperBTensor *v,
                const TemperAttentionParams *params)
{
  TemperCudaBackend *self = TEMPER_CUDA_BACKEND (b);
  TemperCudaAttention shape = attention_shape (params);

  if (failed (self))
    return;
  record (self, self->module->attention_forward (device_pointer (out),
                                                 lse != NULL ? device_pointer (lse) : NULL,
                                                 device_pointer (q), device_pointer (k),
                                                 device_pointer (v), &shape),
          N_("computing attention"));
}

static void
cuda_attention_backward (TemperBackend *b, const TemperBTensor *dq, const TemperBTensor *dk,
                         const TemperBTensor *dv, const TemperBTensor *dout,
                         const TemperBTensor *out, const TemperBTensor *lse,
                         const TemperBTensor *q, const TemperBTensor *k, const TemperBTensor *v,
                         const TemperAttentionParams *params)
{
  TemperCudaBackend *self = TEMPER_CUDA_BACKEND (b);
  TemperCudaAttention shape = attention_shape (params);

  if (failed (self))
    return;
  record (self, self->module->attention_backward (device_pointer (dq), device_pointer (dk),
                                                  device_pointer (dv), device_pointer (dout),
                                                  device_pointer (out), device_pointer (lse),
                                                  device_pointer (q), device_pointer (k),
                                                  device_pointer (v), &shape),
          N_("computing attention gradients"));
}

static void
cuda_lm_head_cross_entropy (TemperBackend *b, const TemperBTensor *loss, const TemperBTensor *dx,
                            const TemperBTensor *x, const TemperBTensor *w,
                            const TemperBTensor *targets, const TemperBTensor *scratch,
                            float grad_scale)
{
  TemperCudaBackend *self = TEMPER_CUDA_BACKEND (b);

  if (failed (self))
    return;
  record (self, self->module->lm_head_cross_entropy (device_pointer (loss),
                                                     dx != NULL ? device_pointer (dx) : NULL,
                                                     device_pointer (x), device_pointer (w),
                                                     w->type, device_pointer (targets),
                                                     device_pointer (scratch), (int) x->ne[1],
                                                     (int) w->ne[0], (int) w->ne[1],
                                                     (int) scratch->ne[1], grad_scale),
          N_("computing the loss"));
}

static void
cuda_lm_head_cross_entropy_softcap (TemperBackend *b, const TemperBTensor *loss,
                                    const TemperBTensor *dx, const TemperBTensor *x,
                                    const TemperBTensor *w, const TemperBTensor *targets,
                                    const TemperBTensor *scratch, float grad_scale, float cap)
{
  TemperCudaBackend *self = TEMPER_CUDA_BACKEND (b);

  if (failed (self))
    return;
  record (self, self->module->lm_head_cross_entropy_softcap (device_pointer (loss),
                                                             dx != NULL ? device_pointer (dx) : NULL,
                                                             device_pointer (x), device_pointer (w),
                                                             w->type, device_pointer (targets),
                                                             device_pointer (scratch),
                                                             (int) x->ne[1], (int) w->ne[0],
                                                             (int) w->ne[1], (int) scratch->ne[1],
                                                             grad_scale, cap),
          N_("computing the loss"));
}

static void
cuda_swiglu (TemperBackend *b, const TemperBTensor *out, const TemperBTensor *gate,
             const TemperBTensor *up)
{
  TemperCudaBackend *self = TEMPER_CUDA_BACKEND (b);

  if (failed (self))
    return;
  record (self, self->module->swiglu_forward (device_pointer (out), device_pointer (gate),
                                              device_pointer (up), n_elements (out)),
          N_("computing the feed-forward activation"));
}

static void
cuda_swiglu_backward (TemperBackend *b, const TemperBTensor *dgate, const TemperBTensor *dup,
                      const TemperBTensor *dout, const TemperBTensor *gate,
                      const TemperBTensor *up)
{
  TemperCudaBackend *self = TEMPER_CUDA_BACKEND (b);

  if (failed (self))
    return;
  record (self, self->module->swiglu_backward (device_pointer (dgate), device_pointer (dup),
                                               device_pointer (dout), device_pointer (gate),
                                               device_pointer (up), n_elements (dout)),
          N_("computing feed-forward gradients"));
}

static void
cuda_geglu (TemperBackend *b, const TemperBTensor *out, const TemperBTensor *gate,
            const TemperBTensor *up)
{
  TemperCudaBackend *self = TEMPER_CUDA_BACKEND (b);

  if (failed (self))
    return;
  record (self, self->module->geglu_forward (device_pointer (out), device_pointer (gate),
                                             device_pointer (up), n_elements (out)),
          N_("computing the feed-forward activation"));
}

static void
cuda_geglu_backward (TemperBackend *b, const TemperBTensor *dgate, const TemperBTensor *dup,
                     const TemperBTensor *dout, const TemperBTensor *gate,
                     const TemperBTensor *up)
{
  TemperCudaBackend *self = TEMPER_CUDA_BACKEND (b);

  if (failed (self))
    return;
  record (self, self->module->geglu_backward (device_pointer (dgate), device_pointer (dup),
                                              device_pointer (dout), device_pointer (gate),
                                              device_pointer (up), n_elements (dout)),
          N_("computing feed-forward gradients"));
}

static void
cuda_add (TemperBackend *b, const TemperBTensor *out, const TemperBTensor *a,
          const TemperBTensor *bt)
{
  TemperCudaBackend *self = TEMPER_CUDA_BACKEND (b);

  if (failed (self))
    return;
  record (self, self->module->add (device_pointer (out), device_pointer (a), device_pointer (bt),
                                   n_elements (out)),
          N_("adding activations"));
}

static void
cuda_adamw (TemperBackend *b, const TemperBTensor *param, const TemperBTensor *grad,
            const TemperBTensor *m, const TemperBTensor *v, const TemperBTensor *grad_sumsq,
            const TemperAdamWParams *params)
{
  TemperCudaBackend *self = TEMPER_CUDA_BACKEND (b);
  gboolean clip = params->max_grad_norm > 0 && grad_sumsq != NULL;

  if (failed (self))
    return;
  record (self, self->module->adamw (device_pointer (param), device_pointer (grad),
                                     device_pointer (m), device_pointer (v), n_elements (param),
                                     clip ? device_pointer (grad_sumsq) : NULL,
                                     clip ? params->max_grad_norm : 0.0f, params->lr,
                                     params->beta1, params->beta2, params->eps,
                                     params->weight_decay, params->step),
          N_("updating the adapter weights"));
}

static void
cuda_sum_squares (TemperBackend *b, const TemperBTensor *out, const TemperBTensor *x)
{
  TemperCudaBackend *self = TEMPER_CUDA_BACKEND (b);

  if (failed (self))
    return;
  record (self, self->module->sum_squares (device_pointer (out), device_pointer (x),
                                           n_elements (x)),
          N_("measuring the gradient norm"));
}

static void
cuda_scale (TemperBackend *b, const TemperBTensor *x, float s)
{
  TemperCudaBackend *self = TEMPER_CUDA_BACKEND (b);

  if (failed (self))
    return;
  record (self, self->module->scale (device_pointer (x), n_elements (x), s), N_("scaling values"));
}

static void
cuda_softcap (TemperBackend *b, const TemperBTensor *x, float cap)
{
  TemperCudaBackend *self = TEMPER_CUDA_BACKEND (b);

  if (failed (self))
    return;
  record (self, self->module->softcap (device_pointer (x), n_elements (x), cap),
          N_("scaling values"));
}

static void
cuda_dequantize (TemperBackend *b, const TemperBTensor *out, const TemperBTensor *w)
{
  TemperCudaBackend *self = TEMPER_CUDA_BACKEND (b);

  if (failed (self))
    return;
  record (self, self->module->dequantize (device_pointer (out), device_pointer (w), w->type,
                                          n_elements (w)),
          N_("expanding quantized weights"));
}

static void
cuda_zero (TemperBackend *b, const TemperBTensor *x)
{
  TemperCudaBackend *self = TEMPER_CUDA_BACKEND (b);

  if (failed (self))
    return;
  record (self, self->module->zero (device_pointer (x),
                                    temper_btensor_bytes (x->type, x->ne[0], x->ne[1])),
          N_("clearing values"));
}

static void
cuda_dropout (TemperBackend *b, const TemperBTensor *out, const TemperBTensor *x, float p,
              guint64 key)
{
  TemperCudaBackend *self = TEMPER_CUDA_BACKEND (b);

  g_return_if_fail (n_elements (out) == n_elements (x));
  if (failed (self))
    return;
  record (self, self->module->dropout (device_pointer (out), device_pointer (x), n_elements (x),
                                       p, key),
          N_("dropping out adapter inputs"));
}

/* The mixture of experts' scratch memory, at least @bytes; a smaller one is
 * freed first (cudaFree waits for the work queued on it). */
static void *
moe_scratch (TemperCudaBackend *self, size_t bytes)
{
  void *memory = NULL;

  if (self->moe_scratch != NULL && self->moe_scratch_size >= bytes)
    return self->moe_scratch;
  if (self->moe_scratch != NULL)
    {
      self->module->free (self->moe_scratch);
      self->in_use -= MIN (self->in_use, self->moe_scratch_size);
      self->moe_scratch = NULL;
      self->moe_scratch_size = 0;
    }
  if (self->module->alloc (&memory, MAX (bytes, 4)) != TEMPER_CUDA_OK)
    {
      g_autofree char *human = g_format_size (bytes);

      if (self->error == NULL)
        g_set_error (&self->error, TEMPER_ERROR, TEMPER_ERROR_OUT_OF_MEMORY,
                     _("The graphics card has no room for another %s (%s). Close other programs "
                     "that use it, or choose a smaller model or batch."),
                     human, self->module->last_error ());
      return NULL;
    }
  self->moe_scratch = memory;
  self->moe_scratch_size = bytes;
  self->in_use += bytes;
  self->peak = MAX (self->peak, self->in_use);
  return memory;
}

/* The module's view of @moe; @pointers holds 3 · n_expert. */
static TemperCudaMoe
moe_view (const TemperMoe *moe, const void **pointers)
{
  TemperCudaMoe view = {
    .n_expert = moe->n_expert, .n_used = moe->n_used, .n_ff = moe->n_ff, .norm = moe->norm != FALSE,
    .d_router = device_pointer (&moe->router), .router_type = moe->router.type,
    .h_gate = pointers, .h_up = pointers + moe->n_expert, .h_down = pointers + 2 * moe->n_expert,
    .gate_type = moe->gate[0].type, .up_type = moe->up[0].type, .down_type = moe->down[0].type,
  };

  for (int e = 0; e < moe->n_expert; e++)
    {
      pointers[e] = device_pointer (&moe->gate[e]);
      pointers[moe->n_expert + e] = device_pointer (&moe->up[e]);
      pointers[2 * moe->n_expert + e] = device_pointer (&moe->down[e]);
    }
  return view;
}

static void
cuda_moe_either (TemperBackend *b, const TemperBTensor *out_or_dx, const TemperBTensor *dout,
                 const TemperBTensor *x, const TemperMoe *moe)
{
  TemperCudaBackend *self = TEMPER_CUDA_BACKEND (b);
  TemperCudaMoe view;
  void *scratch;

  g_return_if_fail (moe->n_expert > 0);
  g_return_if_fail (out_or_dx->ne[0] == x->ne[0] && out_or_dx->ne[1] == x->ne[1]);
  if (failed (self))
    return;
  /* Grown once, on the first step of a model: every layer has as many. */
  if (self->moe_n_pointers < 3 * moe->n_expert)
    {
      self->moe_n_pointers = 3 * moe->n_expert;
      self->moe_pointers = g_renew (const void *, self->moe_pointers, self->moe_n_pointers);
    }
  view = moe_view (moe, self->moe_pointers);
  scratch = moe_scratch (self, temper_cuda_moe_layout (x->ne[1], &view).words * 4);
  if (scratch == NULL)
    return;
  if (dout == NULL)
    record (self, self->module->moe_forward (device_pointer (out_or_dx), device_pointer (x),
                                             (int) x->ne[1], (int) x->ne[0], &view, scratch),
            N_("running the mixture of experts"));
  else
    record (self, self->module->moe_backward (device_pointer (out_or_dx), device_pointer (dout),
                                              device_pointer (x), (int) x->ne[1], (int) x->ne[0],
                                              &view, scratch),
            N_("computing the mixture of experts' gradients"));
}

static void
cuda_moe (TemperBackend *b, const TemperBTensor *out, const TemperBTensor *x, const TemperMoe *moe)
{
  cuda_moe_either (b, out, NULL, x, moe);
}

static void
cuda_moe_backward (TemperBackend *b, const TemperBTensor *dx, const TemperBTensor *dout,
                   const TemperBTensor *x, const TemperMoe *moe)
{
  cuda_moe_either (b, dx, dout, x, moe);
}

static const TemperBackendOps cuda_ops = {
  .name = "cuda",
  .destroy = cuda_destroy,
  .supports_op = cuda_supports_op,
  .buffer_alloc = cuda_buffer_alloc,
  .buffer_from_host = cuda_buffer_from_host,
  .buffer_free = cuda_buffer_free,
  .buffer_upload = cuda_buffer_upload,
  .buffer_download = cuda_buffer_download,
  .begin = cuda_begin,
  .flush = cuda_flush,
  .embedding = cuda_embedding,
  .rmsnorm = cuda_rmsnorm,
  .rmsnorm_backward = cuda_rmsnorm_backward,
  .matmul = cuda_matmul,
  .matmul_backward_input = cuda_matmul_backward_input,
  .gemm = cuda_gemm,
  .rope = cuda_rope,
  .rope_backward = cuda_rope_backward,
  .attention = cuda_attention,
  .attention_backward = cuda_attention_backward,
  .swiglu = cuda_swiglu,
  .swiglu_backward = cuda_swiglu_backward,
  .add = cuda_add,
  .lm_head_cross_entropy = cuda_lm_head_cross_entropy,
  .adamw = cuda_adamw,
  .sum_squares = cuda_sum_squares,
  .scale = cuda_scale,
  .rope_table = cuda_rope_table,
  .rope_table_backward = cuda_rope_table_backward,
  .geglu = cuda_geglu,
  .geglu_backward = cuda_geglu_backward,
  .softcap = cuda_softcap,
  .lm_head_cross_entropy_softcap = cuda_lm_head_cross_entropy_softcap,
  .dequantize = cuda_dequantize,
  .zero = cuda_zero,
  .dropout = cuda_dropout,
  .moe = cuda_moe,
  .moe_backward = cuda_moe_backward,
};

TemperBackend *
temper_cuda_backend_new (int device, GError **error)
{
  const TemperCudaModule *module = temper_cuda_module_get (error);
  TemperCudaBackend *self;
  int count = 0;

  if (module == NULL)
    return NULL;
  if (!temper_cuda_check (module, module->device_count (&count), N_("counting GPUs"), error))
    return NULL;
  if (device < 0 || device >= count)
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_ARGUMENT,
                   _("There is no CUDA device %d; this computer has %d (see “temper-cli devices”)"),
                   device, count);
      return NULL;
    }
  if (!temper_cuda_check (module, module->set_device (device), N_("starting the GPU"), error))
    return NULL;

  self = g_new0 (TemperCudaBackend, 1);
  self->parent.ops = &cuda_ops;
  self->parent.kind = TEMPER_BACKEND_CUDA;
  self->module = module;
  self->device = device;
  return &self->parent;
}

guint64
temper_cuda_backend_get_peak_memory (TemperBackend *backend)
{
  g_return_val_if_fail (backend->ops == &cuda_ops, 0);
  return TEMPER_CUDA_BACKEND (backend)->peak;
}
