/* SPDX-License-Identifier: MIT */
/* The transformer forward for generation: the block of nn/temper-block.h
 * (the layer training runs too) on buffers sized once, with a KV cache and
 * nothing kept for a backward.  K and V are written by their matmuls
 * straight into the cache, and RoPE'd there, so the cache needs no copy
 * op; the residual stream is added to in place. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <math.h>
#include <string.h>

#include "temper/error.h"
#include "temper-forward.h"
#include "temper-block.h"

typedef struct {
  TemperBlockWeights w;
  TemperBTensor      k_cache, v_cache;    /* {kv_dim, n_ctx} */
} Layer;

struct _TemperForward {
  const temper_model_t    *model;
  const TemperModelConfig *c;
  TemperBackend           *backend;
  int                      n_ctx, n_batch;

  GPtrArray               *weight_buffers;  /* one per mapped weight */
  TemperBuffer            *small;           /* norms and biases as F32 */
  TemperBuffer            *acts;            /* activations and the KV cache */
  TemperBuffer            *lora;

  TemperBTensor            token_embd, output, output_norm;
  Layer                   *layers;
  TemperBTensor            tokens, x, xn, q, attn, k_raw, tmp, gate, up, logits, lora_h;

  temper_adapter_t        *adapter;
  guint64                  adapter_version;
  float                    lora_scale;
  TemperBlockRope          rope;
  int                      reach;   /* see temper_forward_set_reach() */
};

static void
arena_bind (TemperBTensor *t, TemperBuffer *buffer)
{
  t->buffer = buffer;
}

TemperForward *
temper_forward_new (const temper_model_t *model, TemperBackend *backend, int n_ctx, int n_batch,
                    GError **error)
{
  g_autoptr(TemperForward) fwd = g_new0 (TemperForward, 1);
  const TemperModelConfig *c = temper_model_get_config (model);
  int q_dim = c->n_head * c->head_dim, kv_dim = c->n_head_kv * c->head_dim;
  TemperBlockArena small = { 0 }, acts = { 0 };

  fwd->model = model;
  fwd->c = c;
  fwd->backend = backend;
  fwd->n_ctx = n_ctx;
  fwd->n_batch = n_batch;
  fwd->weight_buffers = g_ptr_array_new ();
  fwd->layers = g_new0 (Layer, c->n_layer);
  temper_block_rope_init (&fwd->rope, model);

  if (!temper_block_check_backend (model, backend, n_ctx, FALSE, error))
    return NULL;

  if (!temper_block_wrap_weight (backend, model, temper_model_get_token_embd (model), TEMPER_OP_EMBEDDING,
                                 FALSE, fwd->weight_buffers, &fwd->token_embd, error) ||
      !temper_block_wrap_weight (backend, model, temper_model_get_output (model), TEMPER_OP_MATMUL,
                                 FALSE, fwd->weight_buffers, &fwd->output, error))
    return NULL;
  for (int l = 0; l < c->n_layer; l++)
    {
      const TemperLayerWeights *lw = temper_model_get_layer (model, l);
      Layer *L = &fwd->layers[l];

      for (int t = 0; t < TEMPER_LORA_N_TARGETS; t++)
        if (temper_block_target_weight (lw, t)->data != NULL
            && !temper_block_wrap_weight (backend, model, temper_block_target_weight (lw, t), TEMPER_OP_MATMUL,
                                          FALSE, fwd->weight_buffers, &L->w.w[t], error))
          return NULL;
      if (!temper_moe_layer_init (&L->w.moe, backend, model, lw, fwd->weight_buffers, error))
        return NULL;
      temper_block_weights_lay_out (&L->w, c, lw, &small);
      L->k_cache = temper_block_arena_take (&acts, TEMPER_TYPE_F32, kv_dim, n_ctx);
      L->v_cache = temper_block_arena_take (&acts, TEMPER_TYPE_F32, kv_dim, n_ctx);
    }
  fwd->output_norm = temper_block_arena_take (&small, TEMPER_TYPE_F32, c->n_embd, 1);
  fwd->tokens = temper_block_arena_take (&acts, TEMPER_TYPE_I32, n_batch, 1);
  fwd->x = temper_block_arena_take (&acts, TEMPER_TYPE_F32, c->n_embd, n_batch);
  fwd->xn = temper_block_arena_take (&acts, TEMPER_TYPE_F32, c->n_embd, n_batch);
  fwd->q = temper_block_arena_take (&acts, TEMPER_TYPE_F32, q_dim, n_batch);
  fwd->attn = temper_block_arena_take (&acts, TEMPER_TYPE_F32, q_dim, n_batch);
  /* k before its norm has room of its own, so Q, K and V can be formed in
   * one call before either head norm runs (q before its norm goes in
   * attn). */
  fwd->k_raw = c->qk_norm ? temper_block_arena_take (&acts, TEMPER_TYPE_F32, kv_dim, n_batch)
                          : temper_block_null_tensor ();
  fwd->tmp = temper_block_arena_take (&acts, TEMPER_TYPE_F32, c->n_embd, n_batch);
  fwd->gate = temper_block_arena_take (&acts, TEMPER_TYPE_F32, c->n_ff, n_batch);
  fwd->up = temper_block_arena_take (&acts, TEMPER_TYPE_F32, c->n_ff, n_batch);
  fwd->logits = temper_block_arena_take (&acts, TEMPER_TYPE_F32, c->n_vocab, 1);

  fwd->small = temper_backend_buffer_alloc (backend, small.size, TEMPER_BUFFER_WEIGHTS, error);
  if (fwd->small == NULL)
    return NULL;
  fwd->acts = temper_backend_buffer_alloc (backend, acts.size, TEMPER_BUFFER_ACTIVATIONS, error);
  if (fwd->acts == NULL)
    return NULL;
  {
    g_autofree float *values = g_new (float, c->n_embd);

    arena_bind (&fwd->output_norm, fwd->small);
    temper_block_vector (c, temper_model_get_output_norm (model), TRUE, values);
    if (!temper_backend_upload (backend, &fwd->output_norm, values, error))
      return NULL;
  }
  for (int l = 0; l < c->n_layer; l++)
    {
      const TemperLayerWeights *lw = temper_model_get_layer (model, l);
      Layer *L = &fwd->layers[l];

      arena_bind (&L->k_cache, fwd->acts);
      arena_bind (&L->v_cache, fwd->acts);
      if (!temper_block_weights_upload (&L->w, backend, fwd->small, c, lw, error))
        return NULL;
    }
  arena_bind (&fwd->tokens, fwd->acts);
  arena_bind (&fwd->x, fwd->acts);
  arena_bind (&fwd->xn, fwd->acts);
  arena_bind (&fwd->q, fwd->acts);
  arena_bind (&fwd->attn, fwd->acts);
  if (c->qk_norm)
    arena_bind (&fwd->k_raw, fwd->acts);
  arena_bind (&fwd->tmp, fwd->acts);
  arena_bind (&fwd->gate, fwd->acts);
  arena_bind (&fwd->up, fwd->acts);
  arena_bind (&fwd->logits, fwd->acts);
  return g_steal_pointer (&fwd);
}

void
temper_forward_free (TemperForward *fwd)
{
  if (fwd == NULL)
    return;
  if (fwd->backend != NULL)
    {
      for (guint i = 0; fwd->weight_buffers != NULL && i < fwd->weight_buffers->len; i++)
        temper_backend_buffer_free (fwd->backend, fwd->weight_buffers->pdata[i]);
      temper_backend_buffer_free (fwd->backend, fwd->small);
      temper_backend_buffer_free (fwd->backend, fwd->acts);
      temper_backend_buffer_free (fwd->backend, fwd->lora);
      temper_backend_free (fwd->backend);
    }
  if (fwd->weight_buffers != NULL)
    g_ptr_array_unref (fwd->weight_buffers);
  temper_block_rope_clear (&fwd->rope);
  for (int l = 0; fwd->layers != NULL && l < fwd->c->n_layer; l++)
    temper_moe_layer_clear (&fwd->layers[l].w.moe);
  g_free (fwd->layers);
  g_free (fwd);
}

TemperBackend *
temper_forward_get_backend (TemperForward *fwd)
{
  return fwd->backend;
}

int
temper_forward_get_n_ctx (TemperForward *fwd)
{
  return fwd->n_ctx;
}

static gboolean
upload_adapter (TemperForward *fwd, GError **error)
{
  for (int l = 0; l < fwd->c->n_layer; l++)
    for (int t = 0; t < TEMPER_LORA_N_TARGETS; t++)
      {
        Layer *L = &fwd->layers[l];

        if (L->w.lora_a[t].buffer == NULL)
          continue;
        if (!temper_backend_upload (fwd->backend, &L->w.lora_a[t],
                                    temper_adapter_get_a (fwd->adapter, l, t), error) ||
            !temper_backend_upload (fwd->backend, &L->w.lora_b[t],
                                    temper_adapter_get_b (fwd->adapter, l, t), error))
          return FALSE;
      }
  fwd->adapter_version = temper_adapter_get_version (fwd->adapter);
  return TRUE;
}

gboolean
temper_forward_set_adapter (TemperForward *fwd, temper_adapter_t *adapter, GError **error)
{
  const TemperModelConfig *c = fwd->c;
  TemperBlockArena arena = { 0 };
  int rank;

  temper_backend_buffer_free (fwd->backend, fwd->lora);
  fwd->lora = NULL;
  fwd->adapter = NULL;
  for (int l = 0; l < c->n_layer; l++)
    for (int t = 0; t < TEMPER_LORA_N_TARGETS; t++)
      fwd->layers[l].w.lora_a[t] = fwd->layers[l].w.lora_b[t] = temper_block_null_tensor ();
  if (adapter == NULL)
    return TRUE;

  if (temper_adapter_get_n_layer (adapter) != c->n_layer)
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_ARGUMENT,
                   _("This adapter was made for a model with %d layers, but “%s” has %d."),
                   temper_adapter_get_n_layer (adapter), temper_model_get_name (fwd->model),
                   c->n_layer);
      return FALSE;
    }
  rank = temper_adapter_get_rank (adapter);
  for (int l = 0; l < c->n_layer; l++)
    for (int t = 0; t < TEMPER_LORA_N_TARGETS; t++)
      {
        int in, out;

        if (temper_adapter_get_a (adapter, l, t) == NULL)
          continue;
        temper_lora_target_dims (c, t, &in, &out);
        fwd->layers[l].w.lora_a[t] = temper_block_arena_take (&arena, TEMPER_TYPE_F32, in, rank);
        fwd->layers[l].w.lora_b[t] = temper_block_arena_take (&arena, TEMPER_TYPE_F32, rank, out);
      }
  fwd->lora_h = temper_block_arena_take (&arena, TEMPER_TYPE_F32, rank, fwd->n_batch);
  fwd->lora = temper_backend_buffer_alloc (fwd->backend, arena.size, TEMPER_BUFFER_WEIGHTS, error);
  if (fwd->lora == NULL)
    return FALSE;
  arena_bind (&fwd->lora_h, fwd->lora);
  for (int l = 0; l < c->n_layer; l++)
    for (int t = 0; t < TEMPER_LORA_N_TARGETS; t++)
      if (fwd->layers[l].w.lora_a[t].ne[0] != 0)
        {
          arena_bind (&fwd->layers[l].w.lora_a[t], fwd->lora);
          arena_bind (&fwd->layers[l].w.lora_b[t], fwd->lora);
        }
  fwd->adapter = adapter;
  fwd->lora_scale = temper_adapter_get_scale (adapter);
  return upload_adapter (fwd, error);
}

static void
record_pass (TemperForward *fwd, int n, int pos, gboolean want_logits)
{
  const TemperModelConfig *c = fwd->c;
  TemperBackend *b = fwd->backend;
  TemperBTensor tokens = temper_btensor (fwd->tokens.buffer, fwd->tokens.offset, TEMPER_TYPE_I32, n, 1);
  TemperBTensor x = temper_btensor_rows (&fwd->x, 0, n);
  TemperBTensor xn = temper_btensor_rows (&fwd->xn, 0, n);
  TemperBTensor attn = temper_btensor_rows (&fwd->attn, 0, n);
  TemperBTensor tmp = temper_btensor_rows (&fwd->tmp, 0, n);
  TemperBTensor gate = temper_btensor_rows (&fwd->gate, 0, n);
  TemperBlockPass pass = {
    .backend = b, .c = c, .rope = &fwd->rope, .n_seq = 1, .n_query = n, .pos = pos,
    .lora_scale = fwd->lora_scale,
  };
  /* Nothing is kept: the residual stream is added to in place, the norms
   * share one scratch, q before its norm is formed in the attention
   * output's room (free until the attention writes it), the sublayer
   * outputs in tmp (xn under a post norm), the activation over the gate,
   * and every LoRA hidden in one scratch. */
  TemperBlockActs a = {
    .x = x, .out = x, .xn1 = xn, .q_raw = attn,
    .k_raw = c->qk_norm ? temper_btensor_rows (&fwd->k_raw, 0, n) : temper_block_null_tensor (),
    .q = fwd->q, .att = attn, .o_raw = tmp, .o = c->post_norms ? xn : tmp, .x2 = x, .xn2 = xn,
    .gate = gate, .up = fwd->up, .act = gate, .f_raw = tmp, .f = c->post_norms ? xn : tmp,
  };

  for (int t = 0; t < TEMPER_LORA_N_TARGETS; t++)
    a.h[t] = fwd->lora_h;
  b->ops->embedding (b, &x, &fwd->token_embd, &tokens);
  if (c->embd_scale > 0.0f && c->embd_scale != 1.0f)
    b->ops->scale (b, &x, c->embd_scale);
  for (int l = 0; l < c->n_layer; l++)
    {
      const Layer *L = &fwd->layers[l];

      pass.layer = l;
      a.k = temper_btensor_rows (&L->k_cache, pos, n);
      a.v = temper_btensor_rows (&L->v_cache, pos, n);
      a.k_all = temper_btensor_rows (&L->k_cache, 0, pos + n);
      a.v_all = temper_btensor_rows (&L->v_cache, 0, pos + n);
      temper_block_forward (&pass, &L->w, &a);
    }
  if (want_logits)
    {
      TemperBTensor last = temper_btensor_rows (&fwd->x, n - 1, 1);
      TemperBTensor last_n = temper_btensor_rows (&fwd->xn, 0, 1);

      b->ops->rmsnorm (b, &last_n, NULL, &last, &fwd->output_norm, c->rms_eps);
      b->ops->matmul (b, &fwd->logits, &last_n, &fwd->output, NULL, FALSE);
      if (c->final_softcap > 0.0f)
        b->ops->softcap (b, &fwd->logits, c->final_softcap);
    }
}

void
temper_forward_set_reach (TemperForward *fwd, int reach)
{
  fwd->reach = reach;
}

gboolean
temper_forward_eval (TemperForward *fwd, const gint32 *tokens, int n, int pos,
                     float *logits, GError **error)
{
  TemperBackend *b = fwd->backend;

  if (pos < 0 || n < 1 || pos + n > fwd->n_ctx)
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_ARGUMENT,
                   _("The conversation is longer than the %d tokens this session can hold. Start a new one."),
                   fwd->n_ctx);
      return FALSE;
    }
  for (int i = 0; i < n; i++)
    if (tokens[i] < 0 || tokens[i] >= fwd->c->n_vocab)
      {
        g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_ARGUMENT,
                     _("Token id %d is outside the model's vocabulary of %d tokens."),
                     tokens[i], fwd->c->n_vocab);
        return FALSE;
      }
  if (fwd->adapter != NULL && temper_adapter_get_version (fwd->adapter) != fwd->adapter_version &&
      !upload_adapter (fwd, error))
    return FALSE;

  /* Its own batches are parts of one forward too. */
  fwd->rope.reach = MAX (fwd->reach, pos + n);
  for (int done = 0; done < n; )
    {
      int chunk = MIN (fwd->n_batch, n - done);
      gboolean last = done + chunk == n;
      TemperBTensor tok = temper_btensor (fwd->tokens.buffer, fwd->tokens.offset,
                                          TEMPER_TYPE_I32, chunk, 1);

      if (!temper_backend_upload (b, &tok, tokens + done, error))
        return FALSE;
      temper_backend_begin (b);
      record_pass (fwd, chunk, pos + done, last && logits != NULL);
      if (!temper_backend_flush (b, error))
        return FALSE;
      done += chunk;
    }
  if (logits != NULL)
    return temper_backend_download (b, &fwd->logits, logits, error);
  return TRUE;
}
