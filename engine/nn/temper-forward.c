/* The transformer forward: pre-norm blocks of GQA attention and a gated
 * feed-forward, written as a sequence of backend ops on buffers sized once,
 * with what depends on the family (norm offsets, q/k norms, post norms,
 * RoPE per layer, windows and soft-capping, GeGLU) from nn/temper-block.h,
 * which training shares.  K and V are written by their matmuls straight
 * into the cache, and RoPE'd there, so the cache needs no copy op. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <math.h>
#include <string.h>

#include "temper/error.h"
#include "temper-forward.h"
#include "nn/temper-block.h"
#include "nn/temper-moe.h"

typedef struct {
  TemperBTensor attn_norm, ffn_norm;      /* F32 copies */
  TemperBTensor q_norm, k_norm;           /* F32 copies; buffer NULL when absent */
  TemperBTensor attn_post_norm, ffn_post_norm;
  TemperBTensor bq, bk, bv;               /* F32 copies; buffer NULL when absent */
  TemperBTensor w[TEMPER_LORA_N_TARGETS]; /* the linear weights, as stored */
  TemperBTensor k_cache, v_cache;         /* {kv_dim, n_ctx} */
  TemperBTensor lora_a[TEMPER_LORA_N_TARGETS], lora_b[TEMPER_LORA_N_TARGETS];
  TemperMoeLayer moe;                     /* experts in place of gate, up and down */
} Layer;

struct _TemperForward {
  temper_model_t          *model;
  const TemperModelConfig *c;
  TemperBackend           *backend;
  int                      n_ctx, n_batch;

  GPtrArray               *weight_buffers;  /* one per mapped weight */
  TemperBuffer            *small;           /* norms and biases as F32 */
  TemperBuffer            *acts;            /* activations and the KV cache */
  TemperBuffer            *lora;

  TemperBTensor            token_embd, output, output_norm;
  Layer                   *layers;
  TemperBTensor            tokens, x, xn, q, attn, tmp, gate, up, logits, lora_h;

  temper_adapter_t        *adapter;
  guint64                  adapter_version;
  float                    lora_scale;
  TemperBlockRope          rope;
};

static TemperBTensor
null_tensor (void)
{
  TemperBTensor t = { NULL, 0, TEMPER_TYPE_F32, { 0, 0 } };
  return t;
}

static gboolean
wrap_weight (TemperForward *fwd, const TemperTensorView *view, TemperOp op,
             TemperBTensor *out, GError **error)
{
  size_t row_bytes = temper_type_row_bytes (view->type, view->ne[0]);
  TemperBuffer *buffer;

  if (!temper_backend_supports_op (fwd->backend, op, view->type))
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_UNSUPPORTED,
                   _("“%s”: the tensor %s is stored as %s, which the %s backend cannot compute with."),
                   temper_model_get_path (fwd->model), view->name ? view->name : "?",
                   temper_type_name (view->type) ? temper_type_name (view->type) : _("an unknown type"),
                   temper_backend_get_name (fwd->backend));
      return FALSE;
    }
  g_assert (row_bytes == view->row_bytes || view->ne[1] == 1);
  buffer = temper_backend_buffer_from_host (fwd->backend, view->data,
                                            row_bytes * (size_t) view->ne[1], error);
  if (buffer == NULL)
    return FALSE;
  g_ptr_array_add (fwd->weight_buffers, buffer);
  *out = temper_btensor (buffer, 0, view->type, view->ne[0], view->ne[1]);
  return TRUE;
}

/* Lays tensors out one after another in a buffer, 64-byte aligned. */
typedef struct {
  size_t size;
} Arena;

static TemperBTensor
arena_take (Arena *arena, int type, int64_t ne0, int64_t ne1)
{
  TemperBTensor t = { NULL, arena->size, type, { ne0, ne1 } };

  arena->size += (temper_btensor_bytes (type, ne0, ne1) + 63) & ~(size_t) 63;
  return t;
}

static void
arena_bind (TemperBTensor *t, TemperBuffer *buffer)
{
  t->buffer = buffer;
}

/* Norm and bias vectors: any stored type, converted to F32 on upload (a
 * norm with its family's offset). */
static gboolean
upload_vector (TemperForward *fwd, const TemperTensorView *view, const TemperBTensor *dst,
               gboolean norm, GError **error)
{
  g_autofree float *values = g_new (float, view->ne[0]);

  temper_block_vector (fwd->c, view, norm, values);
  return temper_backend_upload (fwd->backend, dst, values, error);
}

/* A vector the layer may lack: placed in @arena when @view has data. */
static TemperBTensor
take_optional (Arena *arena, const TemperTensorView *view)
{
  return view->data != NULL ? arena_take (arena, TEMPER_TYPE_F32, view->ne[0], 1) : null_tensor ();
}

static gboolean
bind_optional (TemperForward *fwd, const TemperTensorView *view, TemperBTensor *t, gboolean norm,
               GError **error)
{
  if (view->data == NULL)
    return TRUE;
  arena_bind (t, fwd->small);
  return upload_vector (fwd, view, t, norm, error);
}

static const TemperTensorView *
layer_weight (const TemperLayerWeights *lw, TemperLoraTarget t)
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

TemperForward *
temper_forward_new (temper_model_t *model, TemperBackend *backend, int n_ctx, int n_batch,
                    GError **error)
{
  g_autoptr(TemperForward) fwd = g_new0 (TemperForward, 1);
  const TemperModelConfig *c = temper_model_get_config (model);
  int q_dim = c->n_head * c->head_dim, kv_dim = c->n_head_kv * c->head_dim;
  Arena small = { 0 }, acts = { 0 };

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

  if (!wrap_weight (fwd, temper_model_get_token_embd (model), TEMPER_OP_EMBEDDING, &fwd->token_embd, error) ||
      !wrap_weight (fwd, temper_model_get_output (model), TEMPER_OP_MATMUL, &fwd->output, error))
    return NULL;
  for (int l = 0; l < c->n_layer; l++)
    {
      const TemperLayerWeights *lw = temper_model_get_layer (model, l);
      Layer *L = &fwd->layers[l];

      for (int t = 0; t < TEMPER_LORA_N_TARGETS; t++)
        if (layer_weight (lw, t)->data != NULL
            && !wrap_weight (fwd, layer_weight (lw, t), TEMPER_OP_MATMUL, &L->w[t], error))
          return NULL;
      if (!temper_moe_layer_init (&L->moe, backend, model, lw, fwd->weight_buffers, error))
        return NULL;
      L->attn_norm = arena_take (&small, TEMPER_TYPE_F32, c->n_embd, 1);
      L->ffn_norm = arena_take (&small, TEMPER_TYPE_F32, c->n_embd, 1);
      L->bq = take_optional (&small, &lw->bq);
      L->bk = take_optional (&small, &lw->bk);
      L->bv = take_optional (&small, &lw->bv);
      L->q_norm = take_optional (&small, &lw->q_norm);
      L->k_norm = take_optional (&small, &lw->k_norm);
      L->attn_post_norm = take_optional (&small, &lw->attn_post_norm);
      L->ffn_post_norm = take_optional (&small, &lw->ffn_post_norm);
      L->k_cache = arena_take (&acts, TEMPER_TYPE_F32, kv_dim, n_ctx);
      L->v_cache = arena_take (&acts, TEMPER_TYPE_F32, kv_dim, n_ctx);
    }
  fwd->output_norm = arena_take (&small, TEMPER_TYPE_F32, c->n_embd, 1);
  fwd->tokens = arena_take (&acts, TEMPER_TYPE_I32, n_batch, 1);
  fwd->x = arena_take (&acts, TEMPER_TYPE_F32, c->n_embd, n_batch);
  fwd->xn = arena_take (&acts, TEMPER_TYPE_F32, c->n_embd, n_batch);
  fwd->q = arena_take (&acts, TEMPER_TYPE_F32, q_dim, n_batch);
  fwd->attn = arena_take (&acts, TEMPER_TYPE_F32, q_dim, n_batch);
  fwd->tmp = arena_take (&acts, TEMPER_TYPE_F32, c->n_embd, n_batch);
  fwd->gate = arena_take (&acts, TEMPER_TYPE_F32, c->n_ff, n_batch);
  fwd->up = arena_take (&acts, TEMPER_TYPE_F32, c->n_ff, n_batch);
  fwd->logits = arena_take (&acts, TEMPER_TYPE_F32, c->n_vocab, 1);

  fwd->small = temper_backend_buffer_alloc (backend, small.size, TEMPER_BUFFER_WEIGHTS, error);
  if (fwd->small == NULL)
    return NULL;
  fwd->acts = temper_backend_buffer_alloc (backend, acts.size, TEMPER_BUFFER_ACTIVATIONS, error);
  if (fwd->acts == NULL)
    return NULL;
  arena_bind (&fwd->output_norm, fwd->small);
  if (!upload_vector (fwd, temper_model_get_output_norm (model), &fwd->output_norm, TRUE, error))
    return NULL;
  for (int l = 0; l < c->n_layer; l++)
    {
      const TemperLayerWeights *lw = temper_model_get_layer (model, l);
      Layer *L = &fwd->layers[l];

      arena_bind (&L->attn_norm, fwd->small);
      arena_bind (&L->ffn_norm, fwd->small);
      arena_bind (&L->k_cache, fwd->acts);
      arena_bind (&L->v_cache, fwd->acts);
      if (!upload_vector (fwd, &lw->attn_norm, &L->attn_norm, TRUE, error) ||
          !upload_vector (fwd, &lw->ffn_norm, &L->ffn_norm, TRUE, error) ||
          !bind_optional (fwd, &lw->bq, &L->bq, FALSE, error) ||
          !bind_optional (fwd, &lw->bk, &L->bk, FALSE, error) ||
          !bind_optional (fwd, &lw->bv, &L->bv, FALSE, error) ||
          !bind_optional (fwd, &lw->q_norm, &L->q_norm, TRUE, error) ||
          !bind_optional (fwd, &lw->k_norm, &L->k_norm, TRUE, error) ||
          !bind_optional (fwd, &lw->attn_post_norm, &L->attn_post_norm, TRUE, error) ||
          !bind_optional (fwd, &lw->ffn_post_norm, &L->ffn_post_norm, TRUE, error))
        return NULL;
    }
  arena_bind (&fwd->tokens, fwd->acts);
  arena_bind (&fwd->x, fwd->acts);
  arena_bind (&fwd->xn, fwd->acts);
  arena_bind (&fwd->q, fwd->acts);
  arena_bind (&fwd->attn, fwd->acts);
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
    temper_moe_layer_clear (&fwd->layers[l].moe);
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

        if (L->lora_a[t].buffer == NULL)
          continue;
        if (!temper_backend_upload (fwd->backend, &L->lora_a[t],
                                    temper_adapter_get_a (fwd->adapter, l, t), error) ||
            !temper_backend_upload (fwd->backend, &L->lora_b[t],
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
  Arena arena = { 0 };
  int rank;

  temper_backend_buffer_free (fwd->backend, fwd->lora);
  fwd->lora = NULL;
  fwd->adapter = NULL;
  for (int l = 0; l < c->n_layer; l++)
    for (int t = 0; t < TEMPER_LORA_N_TARGETS; t++)
      fwd->layers[l].lora_a[t] = fwd->layers[l].lora_b[t] = null_tensor ();
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
        fwd->layers[l].lora_a[t] = arena_take (&arena, TEMPER_TYPE_F32, in, rank);
        fwd->layers[l].lora_b[t] = arena_take (&arena, TEMPER_TYPE_F32, rank, out);
      }
  fwd->lora_h = arena_take (&arena, TEMPER_TYPE_F32, rank, fwd->n_batch);
  fwd->lora = temper_backend_buffer_alloc (fwd->backend, arena.size, TEMPER_BUFFER_WEIGHTS, error);
  if (fwd->lora == NULL)
    return FALSE;
  arena_bind (&fwd->lora_h, fwd->lora);
  for (int l = 0; l < c->n_layer; l++)
    for (int t = 0; t < TEMPER_LORA_N_TARGETS; t++)
      if (fwd->layers[l].lora_a[t].ne[0] != 0)
        {
          arena_bind (&fwd->layers[l].lora_a[t], fwd->lora);
          arena_bind (&fwd->layers[l].lora_b[t], fwd->lora);
        }
  fwd->adapter = adapter;
  fwd->lora_scale = temper_adapter_get_scale (adapter);
  return upload_adapter (fwd, error);
}

/* y = x·Wᵀ + bias, plus s·(x·Aᵀ)·Bᵀ when the layer's target is adapted. */
static void
linear (TemperForward *fwd, const Layer *L, TemperLoraTarget target,
        const TemperBTensor *y, const TemperBTensor *x, const TemperBTensor *bias)
{
  TemperBackend *b = fwd->backend;

  b->ops->matmul (b, y, x, &L->w[target], bias != NULL && bias->buffer != NULL ? bias : NULL, FALSE);
  if (L->lora_a[target].buffer != NULL)
    {
      TemperBTensor h = temper_btensor_rows (&fwd->lora_h, 0, x->ne[1]);

      b->ops->gemm (b, &h, x, FALSE, &L->lora_a[target], TRUE, 1.0f, 0.0f);
      b->ops->gemm (b, y, &h, FALSE, &L->lora_b[target], TRUE, fwd->lora_scale, 1.0f);
    }
}

/* y = RMSNorm(x) with @w, per head when @heads: for q and k norms. */
static void
norm_into (TemperForward *fwd, const TemperBTensor *y, const TemperBTensor *x, const TemperBTensor *w,
           gboolean heads)
{
  TemperBackend *b = fwd->backend;

  if (heads)
    {
      TemperBTensor yh = temper_block_heads (y, fwd->c->head_dim), xh = temper_block_heads (x, fwd->c->head_dim);
      b->ops->rmsnorm (b, &yh, NULL, &xh, w, fwd->c->rms_eps);
    }
  else
    b->ops->rmsnorm (b, y, NULL, x, w, fwd->c->rms_eps);
}

static void
record_pass (TemperForward *fwd, int n, int pos, gboolean want_logits)
{
  const TemperModelConfig *c = fwd->c;
  TemperBackend *b = fwd->backend;
  TemperBTensor tokens = temper_btensor (fwd->tokens.buffer, fwd->tokens.offset, TEMPER_TYPE_I32, n, 1);
  TemperBTensor x = temper_btensor_rows (&fwd->x, 0, n);
  TemperBTensor xn = temper_btensor_rows (&fwd->xn, 0, n);
  TemperBTensor q = temper_btensor_rows (&fwd->q, 0, n);
  TemperBTensor attn = temper_btensor_rows (&fwd->attn, 0, n);
  TemperBTensor tmp = temper_btensor_rows (&fwd->tmp, 0, n);
  TemperBTensor gate = temper_btensor_rows (&fwd->gate, 0, n);
  TemperBTensor up = temper_btensor_rows (&fwd->up, 0, n);
  /* Before the q/k norms, q and k are formed in the attention output's
   * room (it is free until the attention writes it). */
  TemperBTensor k_raw = temper_btensor (attn.buffer, attn.offset, TEMPER_TYPE_F32,
                                        (int64_t) c->n_head_kv * c->head_dim, n);

  b->ops->embedding (b, &x, &fwd->token_embd, &tokens);
  if (c->embd_scale > 0.0f && c->embd_scale != 1.0f)
    b->ops->scale (b, &x, c->embd_scale);
  for (int l = 0; l < c->n_layer; l++)
    {
      const Layer *L = &fwd->layers[l];
      TemperBTensor k_new = temper_btensor_rows (&L->k_cache, pos, n);
      TemperBTensor v_new = temper_btensor_rows (&L->v_cache, pos, n);
      TemperBTensor k_all = temper_btensor_rows (&L->k_cache, 0, pos + n);
      TemperBTensor v_all = temper_btensor_rows (&L->v_cache, 0, pos + n);
      TemperAttentionParams ap = { .n_seq = 1, .n_query = n, .n_key = pos + n, .q_offset = pos };

      temper_block_attention_params (c, l, &ap);
      b->ops->rmsnorm (b, &xn, NULL, &x, &L->attn_norm, c->rms_eps);
      if (L->q_norm.buffer != NULL)
        {
          linear (fwd, L, TEMPER_LORA_K, &k_raw, &xn, &L->bk);
          norm_into (fwd, &k_new, &k_raw, &L->k_norm, TRUE);
          linear (fwd, L, TEMPER_LORA_Q, &attn, &xn, &L->bq);
          norm_into (fwd, &q, &attn, &L->q_norm, TRUE);
        }
      else
        {
          linear (fwd, L, TEMPER_LORA_Q, &q, &xn, &L->bq);
          linear (fwd, L, TEMPER_LORA_K, &k_new, &xn, &L->bk);
        }
      linear (fwd, L, TEMPER_LORA_V, &v_new, &xn, &L->bv);
      temper_block_rope (b, &fwd->rope, c, l, &q, c->n_head, n, pos, FALSE);
      temper_block_rope (b, &fwd->rope, c, l, &k_new, c->n_head_kv, n, pos, FALSE);
      b->ops->attention (b, &attn, NULL, &q, &k_all, &v_all, &ap);
      linear (fwd, L, TEMPER_LORA_O, &tmp, &attn, NULL);
      if (L->attn_post_norm.buffer != NULL)
        {
          norm_into (fwd, &xn, &tmp, &L->attn_post_norm, FALSE);
          b->ops->add (b, &x, &x, &xn);
        }
      else
        b->ops->add (b, &x, &x, &tmp);

      b->ops->rmsnorm (b, &xn, NULL, &x, &L->ffn_norm, c->rms_eps);
      if (temper_moe_layer_active (&L->moe))
        temper_moe_forward (b, &L->moe, &tmp, &xn);
      else
        {
          linear (fwd, L, TEMPER_LORA_GATE, &gate, &xn, NULL);
          linear (fwd, L, TEMPER_LORA_UP, &up, &xn, NULL);
          temper_block_mlp (b, c, &gate, &gate, &up);
          linear (fwd, L, TEMPER_LORA_DOWN, &tmp, &gate, NULL);
        }
      if (L->ffn_post_norm.buffer != NULL)
        {
          norm_into (fwd, &xn, &tmp, &L->ffn_post_norm, FALSE);
          b->ops->add (b, &x, &x, &xn);
        }
      else
        b->ops->add (b, &x, &x, &tmp);
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
