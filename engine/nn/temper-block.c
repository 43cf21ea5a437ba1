/* SPDX-License-Identifier: MIT */
/* temper-block.c — the family-dependent parts of the transformer block,
 * shared by generation and training (see temper-block.h). */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <math.h>

#include "temper/error.h"
#include "temper-block.h"

static float *
inv_freq_table (int n_pairs, int rope_dims, float theta, const float *factors, float scale)
{
  float *table = g_new (float, n_pairs);

  for (int i = 0; i < n_pairs; i++)
    {
      double f = pow ((double) theta, -2.0 * i / rope_dims);
      if (factors != NULL)
        f /= factors[i];
      table[i] = (float) (f * scale);
    }
  return table;
}

void
temper_block_rope_init (TemperBlockRope *rope, const temper_model_t *model)
{
  const TemperModelConfig *c = temper_model_get_config (model);
  const float *factors = temper_model_get_rope_factors (model);
  int rope_dims = temper_model_config_rope_dims (c);
  gboolean partial = rope_dims != c->head_dim;
  float scale = c->rope_freq_scale > 0.0f ? c->rope_freq_scale : 1.0f;

  rope->n_pairs = rope_dims / 2;
  rope->theta_global = c->rope_theta;
  rope->theta_local = c->rope_theta_local > 0.0f ? c->rope_theta_local : c->rope_theta;
  rope->mscale = c->rope_mscale > 0.0f ? c->rope_mscale : 1.0f;
  /* The local layers of Gemma 3 keep their own base and no scaling. */
  rope->global_table = partial || factors != NULL || scale != 1.0f || rope->mscale != 1.0f;
  rope->local_table = partial;
  rope->inv_freq_global = inv_freq_table (rope->n_pairs, rope_dims, rope->theta_global, factors, scale);
  rope->inv_freq_local = inv_freq_table (rope->n_pairs, rope_dims, rope->theta_local, NULL, 1.0f);
  rope->inv_freq_long = NULL;
  rope->long_after = c->rope_long_after;
  rope->reach = 0;
  if (temper_model_get_rope_long_factors (model) != NULL && c->rope_long_after > 0)
    rope->inv_freq_long = inv_freq_table (rope->n_pairs, rope_dims, rope->theta_global,
                                          temper_model_get_rope_long_factors (model), scale);
}

void
temper_block_rope_clear (TemperBlockRope *rope)
{
  g_clear_pointer (&rope->inv_freq_global, g_free);
  g_clear_pointer (&rope->inv_freq_local, g_free);
  g_clear_pointer (&rope->inv_freq_long, g_free);
}

void
temper_block_rope (TemperBackend *b, const TemperBlockRope *rope, const TemperModelConfig *c,
                   int layer, const TemperBTensor *x, int n_head, int seq_len, int pos,
                   gboolean backward)
{
  gboolean local = temper_model_config_layer_is_local (c, layer);
  gboolean table = local ? rope->local_table : rope->global_table;

  if (!table)
    {
      float theta = local ? rope->theta_local : rope->theta_global;

      if (backward)
        b->ops->rope_backward (b, x, n_head, c->head_dim, seq_len, pos, theta, c->rope_layout);
      else
        b->ops->rope (b, x, n_head, c->head_dim, seq_len, pos, theta, c->rope_layout);
      return;
    }
  {
    /* LongRoPE as transformers runs it: the long factors for every token of
     * a forward whose last position is past the original context (a
     * generation that crosses it computes its cache again, see
     * temper_generator_eval()). */
    gboolean long_factors = !local && rope->inv_freq_long != NULL
                            && MAX (rope->reach, pos + seq_len) > rope->long_after;
    TemperRopeTable t = {
      .n_head = n_head, .head_dim = c->head_dim, .seq_len = seq_len, .pos_offset = pos,
      .layout = c->rope_layout, .n_pairs = rope->n_pairs,
      .inv_freq = local ? rope->inv_freq_local : long_factors ? rope->inv_freq_long : rope->inv_freq_global,
      .mscale = local ? 1.0f : rope->mscale,
    };

    if (backward)
      b->ops->rope_table_backward (b, x, &t);
    else
      b->ops->rope_table (b, x, &t);
  }
}

static const char *
family_of (const temper_model_t *model)
{
  return temper_model_get_family_name (model);
}

gboolean
temper_block_check_backend (const temper_model_t *model, TemperBackend *backend,
                            int n_ctx, gboolean training, GError **error)
{
  const TemperModelConfig *c = temper_model_get_config (model);
  TemperBlockRope rope;
  const char *missing = NULL;
  gboolean train_only = FALSE;
  gboolean window = c->sliding_window > 0 && n_ctx > c->sliding_window;

  temper_block_rope_init (&rope, model);
  if ((rope.global_table || rope.local_table) && !temper_backend_supports_op (backend, TEMPER_OP_ROPE_TABLE, TEMPER_TYPE_F32))
    missing = _("scaled or partial rotary position embeddings");
  else if (c->mlp == TEMPER_MLP_GEGLU && !temper_backend_supports_op (backend, TEMPER_OP_GEGLU, TEMPER_TYPE_F32))
    missing = _("the GeGLU feed-forward");
  else if ((window || c->attn_softcap > 0.0f)
           && !temper_backend_supports_op (backend, TEMPER_OP_ATTENTION_WINDOW, TEMPER_TYPE_F32))
    missing = c->attn_softcap > 0.0f ? _("soft-capped attention") : _("sliding-window attention");
  else if (c->final_softcap > 0.0f && !temper_backend_supports_op (backend, TEMPER_OP_SOFTCAP, TEMPER_TYPE_F32))
    missing = _("soft-capped logits");
  else if (c->n_expert > 0 && !temper_backend_supports_op (backend, TEMPER_OP_MOE, TEMPER_TYPE_F32))
    missing = _("the mixture-of-experts feed-forward");
  else if (training && c->final_softcap > 0.0f
           && !temper_backend_supports_op (backend, TEMPER_OP_LM_HEAD_CROSS_ENTROPY_SOFTCAP, TEMPER_TYPE_F32))
    {
      missing = _("a training loss over soft-capped logits");
      train_only = TRUE;
    }
  temper_block_rope_clear (&rope);
  if (missing != NULL && train_only)
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_UNSUPPORTED,
                   _("The %s backend cannot train %s models yet: it lacks %s. Chat works; train this model on the CPU."),
                   temper_backend_get_name (backend), family_of (model), missing);
      return FALSE;
    }
  if (missing != NULL)
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_UNSUPPORTED,
                   _("The %s backend cannot run %s models yet: it lacks %s. Use the CPU for this model."),
                   temper_backend_get_name (backend), family_of (model), missing);
      return FALSE;
    }
  return TRUE;
}

void
temper_block_vector (const TemperModelConfig *c, const TemperTensorView *view, gboolean norm,
                     float *out)
{
  temper_tensor_row_to_f32 (view, 0, out);
  if (norm && c->norm_offset != 0.0f)
    for (int64_t i = 0; i < view->ne[0]; i++)
      out[i] += c->norm_offset;
}

void
temper_block_attention_params (const TemperModelConfig *c, int layer, TemperAttentionParams *p)
{
  p->n_head = c->n_head;
  p->n_head_kv = c->n_head_kv;
  p->head_dim = c->head_dim;
  p->scale = c->attn_scale > 0.0f ? c->attn_scale : 1.0f / sqrtf ((float) c->head_dim);
  p->window = temper_model_config_layer_is_local (c, layer) ? c->sliding_window : 0;
  p->softcap = c->attn_softcap;
  /* A window no sequence outgrows changes nothing: leave it off, so a
   * backend without windowed attention can run the model. */
  if (p->window > 0 && p->q_offset + p->n_query <= p->window)
    p->window = 0;
}

void
temper_block_mlp (TemperBackend *b, const TemperModelConfig *c, const TemperBTensor *out,
                  const TemperBTensor *gate, const TemperBTensor *up)
{
  if (c->mlp == TEMPER_MLP_GEGLU)
    b->ops->geglu (b, out, gate, up);
  else
    b->ops->swiglu (b, out, gate, up);
}

void
temper_block_mlp_backward (TemperBackend *b, const TemperModelConfig *c, const TemperBTensor *dgate,
                           const TemperBTensor *dup, const TemperBTensor *dout,
                           const TemperBTensor *gate, const TemperBTensor *up)
{
  if (c->mlp == TEMPER_MLP_GEGLU)
    b->ops->geglu_backward (b, dgate, dup, dout, gate, up);
  else
    b->ops->swiglu_backward (b, dgate, dup, dout, gate, up);
}

TemperBTensor
temper_block_heads (const TemperBTensor *x, int head_dim)
{
  TemperBTensor h = *x;

  h.ne[0] = head_dim;
  h.ne[1] = x->ne[0] / head_dim * x->ne[1];
  return h;
}

TemperBTensor
temper_block_arena_take (TemperBlockArena *arena, int type, int64_t ne0, int64_t ne1)
{
  TemperBTensor t = { NULL, arena->size, type, { ne0, ne1 } };

  arena->size += (temper_btensor_bytes (type, ne0, ne1) + 63) & ~(size_t) 63;
  return t;
}

TemperBTensor
temper_block_null_tensor (void)
{
  TemperBTensor t = { NULL, 0, TEMPER_TYPE_F32, { 0, 0 } };
  return t;
}

const TemperTensorView *
temper_block_target_weight (const TemperLayerWeights *lw, TemperLoraTarget t)
{
  switch (t)
    {
    case TEMPER_LORA_Q:    return &lw->wq;
    case TEMPER_LORA_K:    return &lw->wk;
    case TEMPER_LORA_V:    return &lw->wv;
    case TEMPER_LORA_O:    return &lw->wo;
    case TEMPER_LORA_GATE: return &lw->w_gate;
    case TEMPER_LORA_UP:   return &lw->w_up;
    default:               return &lw->w_down;
    }
}

/* A vector the layer may lack: placed in @arena when @view has data. */
static TemperBTensor
take_optional (TemperBlockArena *arena, const TemperTensorView *view)
{
  return view->data != NULL ? temper_block_arena_take (arena, TEMPER_TYPE_F32, view->ne[0], 1)
                            : temper_block_null_tensor ();
}

void
temper_block_weights_lay_out (TemperBlockWeights *w, const TemperModelConfig *c,
                              const TemperLayerWeights *lw, TemperBlockArena *small)
{
  for (int t = 0; t < TEMPER_LORA_N_TARGETS; t++)
    w->lora_a[t] = w->lora_b[t] = w->lora_ga[t] = w->lora_gb[t] = temper_block_null_tensor ();
  w->attn_norm = temper_block_arena_take (small, TEMPER_TYPE_F32, c->n_embd, 1);
  w->ffn_norm = temper_block_arena_take (small, TEMPER_TYPE_F32, c->n_embd, 1);
  w->bq = take_optional (small, &lw->bq);
  w->bk = take_optional (small, &lw->bk);
  w->bv = take_optional (small, &lw->bv);
  w->q_norm = take_optional (small, &lw->q_norm);
  w->k_norm = take_optional (small, &lw->k_norm);
  w->attn_post_norm = take_optional (small, &lw->attn_post_norm);
  w->ffn_post_norm = take_optional (small, &lw->ffn_post_norm);
}

/* Norm and bias vectors: any stored type, converted to F32 on upload (a
 * norm with its family's offset); nothing where the layer lacks @view. */
static gboolean
upload_vector (TemperBackend *backend, TemperBuffer *small, const TemperModelConfig *c,
               const TemperTensorView *view, TemperBTensor *dst, gboolean norm, GError **error)
{
  g_autofree float *values = NULL;

  if (view->data == NULL)
    return TRUE;
  values = g_new (float, view->ne[0]);
  dst->buffer = small;
  temper_block_vector (c, view, norm, values);
  return temper_backend_upload (backend, dst, values, error);
}

gboolean
temper_block_weights_upload (TemperBlockWeights *w, TemperBackend *backend, TemperBuffer *small,
                             const TemperModelConfig *c, const TemperLayerWeights *lw, GError **error)
{
  return upload_vector (backend, small, c, &lw->attn_norm, &w->attn_norm, TRUE, error) &&
         upload_vector (backend, small, c, &lw->ffn_norm, &w->ffn_norm, TRUE, error) &&
         upload_vector (backend, small, c, &lw->bq, &w->bq, FALSE, error) &&
         upload_vector (backend, small, c, &lw->bk, &w->bk, FALSE, error) &&
         upload_vector (backend, small, c, &lw->bv, &w->bv, FALSE, error) &&
         upload_vector (backend, small, c, &lw->q_norm, &w->q_norm, TRUE, error) &&
         upload_vector (backend, small, c, &lw->k_norm, &w->k_norm, TRUE, error) &&
         upload_vector (backend, small, c, &lw->attn_post_norm, &w->attn_post_norm, TRUE, error) &&
         upload_vector (backend, small, c, &lw->ffn_post_norm, &w->ffn_post_norm, TRUE, error);
}

gboolean
temper_block_wrap_weight (TemperBackend *backend, const temper_model_t *model,
                          const TemperTensorView *view, TemperOp op, gboolean training,
                          GPtrArray *buffers, TemperBTensor *out, GError **error)
{
  size_t row_bytes = temper_type_row_bytes (view->type, view->ne[0]);
  const char *type_name = temper_type_name (view->type) ? temper_type_name (view->type) : _("an unknown type");
  TemperBuffer *buffer;

  if (!temper_backend_supports_op (backend, op, view->type) ||
      (training && op == TEMPER_OP_MATMUL &&
       !temper_backend_supports_op (backend, TEMPER_OP_MATMUL_BACKWARD_INPUT, view->type)))
    {
      if (training)
        g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_UNSUPPORTED,
                     _("“%s”: the tensor %s is stored as %s, which the %s backend cannot train with"),
                     temper_model_get_path (model), view->name ? view->name : "?", type_name,
                     temper_backend_get_name (backend));
      else
        g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_UNSUPPORTED,
                     _("“%s”: the tensor %s is stored as %s, which the %s backend cannot compute with."),
                     temper_model_get_path (model), view->name ? view->name : "?", type_name,
                     temper_backend_get_name (backend));
      return FALSE;
    }
  g_assert (training || row_bytes == view->row_bytes || view->ne[1] == 1);
  buffer = temper_backend_buffer_from_host (backend, view->data, row_bytes * (size_t) view->ne[1], error);
  if (buffer == NULL)
    return FALSE;
  g_ptr_array_add (buffers, buffer);
  *out = temper_btensor (buffer, 0, view->type, view->ne[0], view->ne[1]);
  return TRUE;
}
