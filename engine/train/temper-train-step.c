/* SPDX-License-Identifier: MIT */
/* temper-train-step.c — forward and backward of a transformer with LoRA on
 * a backend, and the AdamW update of the LoRA weights.  The layers are the
 * block of nn/temper-block.h, which generation runs too
 * (temper-train-layer.c).
 *
 * Shapes (rows are tokens, N = n_seq × T): x {E, N}, q {Q, N}, k/v {KV, N},
 * gate/up/act {F, N}, LoRA hidden h {r, N}; A {in, r} (r rows of in), B {r, out}.
 * Backward ops add into their outputs, so every gradient buffer is zeroed
 * before the first op that writes it. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "temper/error.h"
#include "temper/train.h"
#include "temper-backend-open.h"
#include "temper-block.h"
#include "temper-dropout-mask.h"
#include "temper-train-step.h"
#include "temper-train-step-private.h"

/* Rows of logits the fused lm_head + cross-entropy forms at a time: as
 * many as fit CE_SCRATCH_BYTES, between CE_CHUNK_MIN and CE_CHUNK_MAX.  Each
 * chunk widens the whole (quantized) output matrix once on the CPU, so
 * 32-row chunks spent more time widening than multiplying at a 49,152-word
 * vocabulary; 128 rows (24 MiB) take the lm_head near the other GEMMs'
 * rate.  A 262,144-word vocabulary (Gemma 3) keeps 32.  The CPU's fast
 * mode does not chunk the rows: it walks the vocabulary in panels and only
 * works in this scratch (a few MiB of it; temper-cpu-cross-entropy-bf16.c);
 * the exact mode and the GPU backends chunk as said. */
#define CE_SCRATCH_BYTES (24 * 1024 * 1024)
#define CE_CHUNK_MIN 32
#define CE_CHUNK_MAX 256

static int64_t
ce_chunk_rows (const TemperModelConfig *c)
{
  int64_t rows = CE_SCRATCH_BYTES / (4 * (int64_t) MAX (c->n_vocab, 1)) / 16 * 16;

  return CLAMP (rows, CE_CHUNK_MIN, CE_CHUNK_MAX);
}

typedef TemperBlockArena Arena;

static TemperBTensor
take (Arena *arena, int type, int64_t ne0, int64_t ne1)
{
  return temper_block_arena_take (arena, type, ne0, ne1);
}

static TemperBTensor
null_tensor (void)
{
  return temper_block_null_tensor ();
}

static void
bind_acts (TemperBlockActs *a, TemperBuffer *buffer)
{
  TemperBTensor *all[] = { &a->xn1, &a->rstd1, &a->q, &a->k, &a->v, &a->att, &a->lse,
                           &a->x2, &a->xn2, &a->rstd2, &a->gate, &a->up, &a->act,
                           &a->q_raw, &a->k_raw, &a->rstd_q, &a->rstd_k, &a->o_raw, &a->rstd_o,
                           &a->f_raw, &a->rstd_f };

  for (guint i = 0; i < G_N_ELEMENTS (all); i++)
    if (all[i]->ne[0] != 0)
      all[i]->buffer = buffer;
  for (int t = 0; t < TEMPER_LORA_N_TARGETS; t++)
    if (a->h[t].ne[0] != 0)
      a->h[t].buffer = buffer;
}

TemperTrainStep *
temper_train_step_new (const temper_model_t *model, TemperBackend *backend,
                       temper_adapter_t *adapter, float dropout,
                       int micro_batch, int seq_len, gboolean recompute,
                       GError **error)
{
  return temper_train_step_new_on (model, backend, NULL, adapter, dropout, micro_batch,
                                   seq_len, recompute, error);
}

static guint64
view_bytes (const TemperTensorView *view)
{
  return temper_type_row_bytes (view->type, view->ne[0]) * (guint64) view->ne[1];
}

/* Whether layer @l's target @t is adapted: by @adapter's own matrices (an
 * adapter from another tool may leave layers out), or without one by @targets. */
static gboolean
has_matrices (temper_adapter_t *adapter, guint targets, int l, int t)
{
  if (adapter != NULL)
    return temper_adapter_get_a (adapter, l, t) != NULL;
  return (targets & TEMPER_LORA_TARGET_BIT (t)) != 0;
}

typedef struct {
  Arena    small, acts, params, host;
  gboolean tied, embed_on_host;
} Layout;

/* Sets every tensor's place in the step's four arenas (no memory yet), the
 * LoRA parameter count and the frozen weights' bytes on a backend of @kind:
 * what temper_train_step_new_on() then allocates, and what
 * temper_train_plan_memory() reports.  The adapter's matrices are those of
 * @adapter or, without one, of every layer's @targets. */
static void
lay_out (TemperTrainStep *s, const temper_model_t *model, TemperBackendKind kind,
         temper_adapter_t *adapter, guint targets, gboolean with_dropout, Layout *out)
{
  const TemperModelConfig *c = s->c;
  int E = c->n_embd, Q = c->n_head * c->head_dim, KV = c->n_head_kv * c->head_dim;
  int F = c->n_ff, L = c->n_layer, r = s->rank, N = s->B * s->T, max_in;
  int n_acts = s->recompute ? 1 : L;
  Arena *small = &out->small, *acts = &out->acts, *params = &out->params, *host = &out->host;
  guint64 weight_bytes;

  memset (out, 0, sizeof *out);
  /* A mixture of experts trains its attention only (see temper_adapter_new). */
  if (c->n_expert > 0)
    targets &= TEMPER_LORA_TARGET_BIT (TEMPER_LORA_Q) | TEMPER_LORA_TARGET_BIT (TEMPER_LORA_K)
               | TEMPER_LORA_TARGET_BIT (TEMPER_LORA_V) | TEMPER_LORA_TARGET_BIT (TEMPER_LORA_O);
  s->layers = g_new0 (TemperBlockWeights, L);
  s->x_in = g_new0 (TemperBTensor, L + 1);
  s->la = g_new0 (TemperBlockActs, n_acts);
  s->la_h = g_new0 (TemperBTensor, (size_t) L * TEMPER_LORA_N_TARGETS);

  /* A backend without host memory copies every frozen weight it is given,
   * once (a tied lm_head is the embedding table), the embedding table not
   * at all when only its rows are looked up (see x0_host). */
  out->tied = temper_model_get_output (model)->data == temper_model_get_token_embd (model)->data;
  out->embed_on_host = !out->tied && kind != TEMPER_BACKEND_CPU;
  weight_bytes = view_bytes (temper_model_get_output (model))
                 + (out->tied || out->embed_on_host ? 0 : view_bytes (temper_model_get_token_embd (model)));
  max_in = MAX (E, MAX (Q, F));
  for (int l = 0; l < L; l++)
    {
      const TemperLayerWeights *lw = temper_model_get_layer (model, l);

      for (int t = 0; t < TEMPER_LORA_N_TARGETS; t++)
        weight_bytes += view_bytes (temper_block_target_weight (lw, t));
      temper_block_weights_lay_out (&s->layers[l], c, lw, small);
      weight_bytes += temper_moe_layer_bytes (model, lw);
    }
  s->output_norm = take (small, TEMPER_TYPE_F32, E, 1);
  s->weight_bytes = weight_bytes;

  /* Parameters, gradients and moments: four flat vectors in gather order, so
   * the norm and AdamW are one op each; per-matrix views point into them. */
  s->n_params = 0;
  for (int l = 0; l < L; l++)
    for (int t = 0; t < TEMPER_LORA_N_TARGETS; t++)
      {
        int in, out_dim;

        if (!has_matrices (adapter, targets, l, t))
          continue;
        temper_lora_target_dims (c, t, &in, &out_dim);
        s->n_params += (guint64) (in + out_dim) * (guint64) r;
      }
  s->params = take (params, TEMPER_TYPE_F32, (int64_t) s->n_params, 1);
  s->grads = take (params, TEMPER_TYPE_F32, (int64_t) s->n_params, 1);
  s->m = take (params, TEMPER_TYPE_F32, (int64_t) s->n_params, 1);
  s->v = take (params, TEMPER_TYPE_F32, (int64_t) s->n_params, 1);
  {
    size_t off = 0;

    /* Per layer, every target's A, then every target's B (not
     * temper_lora_gather()'s order, A then B per target: see
     * reorder_flat()), so the A matrices of targets reading one input lie
     * one after another and serve as one stacked matrix (TemperBlockPass's
     * stack_lora). */
    for (int l = 0; l < L; l++)
      for (int pass = 0; pass < 2; pass++)
        for (int t = 0; t < TEMPER_LORA_N_TARGETS; t++)
          {
            TemperBlockWeights *S = &s->layers[l];
            int in, out_dim;

            if (!has_matrices (adapter, targets, l, t))
              continue;
            temper_lora_target_dims (c, t, &in, &out_dim);
            if (pass == 0)
              {
                S->lora_a[t] = temper_btensor (NULL, s->params.offset + off, TEMPER_TYPE_F32, in, r);
                S->lora_ga[t] = temper_btensor (NULL, s->grads.offset + off, TEMPER_TYPE_F32, in, r);
                off += (size_t) in * r * sizeof (float);
              }
            else
              {
                S->lora_b[t] = temper_btensor (NULL, s->params.offset + off, TEMPER_TYPE_F32, r, out_dim);
                S->lora_gb[t] = temper_btensor (NULL, s->grads.offset + off, TEMPER_TYPE_F32, r, out_dim);
                off += (size_t) out_dim * r * sizeof (float);
              }
          }
    g_assert (off == s->n_params * sizeof (float));
  }

  for (int l = 0; l <= L; l++)
    s->x_in[l] = take (acts, TEMPER_TYPE_F32, E, N);
  for (int i = 0; i < n_acts; i++)
    {
      TemperBlockActs *a = &s->la[i];

      a->xn1 = take (acts, TEMPER_TYPE_F32, E, N);
      a->rstd1 = take (acts, TEMPER_TYPE_F32, N, 1);
      a->q = take (acts, TEMPER_TYPE_F32, Q, N);
      a->k = take (acts, TEMPER_TYPE_F32, KV, N);
      a->v = take (acts, TEMPER_TYPE_F32, KV, N);
      a->att = take (acts, TEMPER_TYPE_F32, Q, N);
      a->lse = take (acts, TEMPER_TYPE_F32, c->n_head, N);
      a->x2 = take (acts, TEMPER_TYPE_F32, E, N);
      a->xn2 = take (acts, TEMPER_TYPE_F32, E, N);
      a->rstd2 = take (acts, TEMPER_TYPE_F32, N, 1);
      a->gate = take (acts, TEMPER_TYPE_F32, F, N);
      a->up = take (acts, TEMPER_TYPE_F32, F, N);
      a->act = take (acts, TEMPER_TYPE_F32, F, N);
      /* LoRA's hidden values: per layer even with recompute, where they
       * are small next to what recomputing them costs (see la_h). */
      if (i == 0)
        for (int l = 0; l < L; l++)
          {
            /* The targets' one after another, so a stacked group's are
             * one matrix (see TemperBlockPass's stack_lora). */
            TemperBTensor all;
            int n_h = 0;

            for (int t = 0; t < TEMPER_LORA_N_TARGETS; t++)
              n_h += (targets & TEMPER_LORA_TARGET_BIT (t)) != 0;
            all = take (acts, TEMPER_TYPE_F32, (int64_t) r * N, MAX (n_h, 1));
            n_h = 0;
            for (int t = 0; t < TEMPER_LORA_N_TARGETS; t++)
              s->la_h[l * TEMPER_LORA_N_TARGETS + t] =
                (targets & TEMPER_LORA_TARGET_BIT (t))
                ? temper_btensor (NULL, all.offset + (size_t) n_h++ * r * N * sizeof (float), TEMPER_TYPE_F32, r, N)
                : null_tensor ();
          }
      memcpy (a->h, s->la_h + (size_t) (s->recompute ? 0 : i) * TEMPER_LORA_N_TARGETS, sizeof a->h);
      a->q_raw = a->k_raw = a->rstd_q = a->rstd_k = null_tensor ();
      a->o_raw = a->rstd_o = a->f_raw = a->rstd_f = null_tensor ();
      if (c->qk_norm)
        {
          a->q_raw = take (acts, TEMPER_TYPE_F32, Q, N);
          a->k_raw = take (acts, TEMPER_TYPE_F32, KV, N);
          a->rstd_q = take (acts, TEMPER_TYPE_F32, (int64_t) c->n_head * N, 1);
          a->rstd_k = take (acts, TEMPER_TYPE_F32, (int64_t) c->n_head_kv * N, 1);
        }
      if (c->post_norms)
        {
          a->o_raw = take (acts, TEMPER_TYPE_F32, E, N);
          a->rstd_o = take (acts, TEMPER_TYPE_F32, N, 1);
          a->f_raw = take (acts, TEMPER_TYPE_F32, E, N);
          a->rstd_f = take (acts, TEMPER_TYPE_F32, N, 1);
        }
    }
  s->tokens = take (acts, TEMPER_TYPE_I32, N, 1);
  s->targets = take (acts, TEMPER_TYPE_I32, N, 1);
  s->xf = take (acts, TEMPER_TYPE_F32, E, N);
  s->rstdf = take (acts, TEMPER_TYPE_F32, N, 1);
  s->ce_scratch = take (acts, TEMPER_TYPE_F32, c->n_vocab, MIN (ce_chunk_rows (c), N));
  s->drop = with_dropout ? take (acts, TEMPER_TYPE_F32, max_in, N) : null_tensor ();
  s->g.d_resid = take (acts, TEMPER_TYPE_F32, E, N);
  s->dxf = take (acts, TEMPER_TYPE_F32, E, N);
  s->g.d_xn = take (acts, TEMPER_TYPE_F32, E, N);
  /* A layer's backward pass finishes with the feed-forward's gradients
   * before it starts on the attention's (temper_block_backward): the two sets
   * share one stretch of memory. */
  {
    size_t phase_start = acts->size, feed_forward_end;

    s->g.d_gate = take (acts, TEMPER_TYPE_F32, F, N);
    s->g.d_up = take (acts, TEMPER_TYPE_F32, F, N);
    s->g.d_act = take (acts, TEMPER_TYPE_F32, F, N);
    feed_forward_end = acts->size;
    acts->size = phase_start;
    s->g.d_q = take (acts, TEMPER_TYPE_F32, Q, N);
    s->g.d_k = take (acts, TEMPER_TYPE_F32, KV, N);
    s->g.d_v = take (acts, TEMPER_TYPE_F32, KV, N);
    s->g.d_att = take (acts, TEMPER_TYPE_F32, Q, N);
    acts->size = MAX (acts->size, feed_forward_end);
  }
  /* Room for a stacked group's gradients (Q, K and V: three). */
  s->g.d_h = take (acts, TEMPER_TYPE_F32, r, (int64_t) 3 * N);
  s->g.d_kraw = c->qk_norm ? take (acts, TEMPER_TYPE_F32, KV, N) : null_tensor ();
  s->loss = take (host, TEMPER_TYPE_F32, 2, 1);
  s->sumsq = take (host, TEMPER_TYPE_F32, 1, 1);
  s->memory = small->size + acts->size + params->size + host->size;
}

void
temper_train_plan_memory (const temper_model_t *model, const TemperTrainSettings *settings,
                          TemperBackendKind kind, guint64 *weight_bytes, guint64 *buffer_bytes)
{
  TemperTrainStep s = { 0 };
  Layout layout;

  g_return_if_fail (model != NULL && settings != NULL);
  s.c = temper_model_get_config (model);
  s.rank = settings->lora.rank;
  s.B = MAX (settings->micro_batch, 1);
  s.T = MAX (settings->max_length, 1);
  s.recompute = settings->recompute;
  lay_out (&s, model, kind, NULL, settings->lora.targets, settings->lora.dropout > 0.0f, &layout);
  /* Projections the run would hold as NF4 take that much less. */
  *weight_bytes = s.weight_bytes - (temper_model_get_weight_bytes (model)
                                    - temper_model_estimate_weight_bytes (model, settings->base_weights));
  *buffer_bytes = s.memory;
  g_free (s.layers);
  g_free (s.x_in);
  g_free (s.la);
  g_free (s.la_h);
}

TemperTrainStep *
temper_train_step_new_on (const temper_model_t *model, TemperBackend *backend,
                          const TemperDeviceInfo *device, temper_adapter_t *adapter,
                          float dropout, int micro_batch, int seq_len, gboolean recompute,
                          GError **error)
{
  g_autoptr(TemperTrainStep) s = g_new0 (TemperTrainStep, 1);
  const TemperModelConfig *c = temper_model_get_config (model);
  int E = c->n_embd, L = c->n_layer, N = micro_batch * seq_len;
  int n_acts = recompute ? 1 : L;
  guint64 weight_bytes;
  gboolean tied, embed_on_host;
  Layout layout;
  Arena small, acts, params, host;
  static const TemperOp needed[] = {
    TEMPER_OP_RMSNORM, TEMPER_OP_RMSNORM_BACKWARD, TEMPER_OP_GEMM, TEMPER_OP_ROPE,
    TEMPER_OP_ROPE_BACKWARD, TEMPER_OP_ATTENTION, TEMPER_OP_ATTENTION_BACKWARD,
    TEMPER_OP_SWIGLU, TEMPER_OP_SWIGLU_BACKWARD, TEMPER_OP_ADD, TEMPER_OP_ADAMW,
    TEMPER_OP_SUM_SQUARES, TEMPER_OP_ZERO,
  };

  g_return_val_if_fail (micro_batch > 0 && seq_len > 0, NULL);

  s->model = model;
  s->c = c;
  s->backend = backend;
  s->adapter = adapter;
  s->rank = temper_adapter_get_rank (adapter);
  s->scale = temper_adapter_get_scale (adapter);
  s->dropout = dropout;
  s->B = micro_batch;
  s->T = seq_len;
  s->recompute = recompute;
  s->weight_buffers = g_ptr_array_new ();
  s->drop_keys = g_new0 (guint64, (gsize) L * TEMPER_LORA_N_TARGETS);

  temper_block_rope_init (&s->rope, model);
  if (!temper_block_check_backend (model, backend, seq_len, TRUE, error))
    return NULL;
  if (temper_adapter_get_n_layer (adapter) != L)
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_ARGUMENT,
                   _("The adapter has %d layers but the model “%s” has %d"),
                   temper_adapter_get_n_layer (adapter), temper_model_get_name (model), L);
      return NULL;
    }
  if (dropout > 0.0f && !temper_backend_supports_op (backend, TEMPER_OP_DROPOUT, TEMPER_TYPE_F32))
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_UNSUPPORTED,
                   _("The %s backend cannot apply LoRA dropout, and this run asks for %g. "
                   "Set dropout to 0 in the training settings, or train on another device."),
                   temper_backend_get_name (backend), dropout);
      return NULL;
    }
  for (guint i = 0; i < G_N_ELEMENTS (needed); i++)
    if (!temper_backend_supports_op (backend, needed[i], TEMPER_TYPE_F32))
      {
        g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_UNSUPPORTED,
                     _("The %s backend cannot train: it lacks the %s operation"),
                     temper_backend_get_name (backend), temper_op_name (needed[i]));
        return NULL;
      }
  lay_out (s, model, backend->kind, adapter, temper_adapter_get_targets (adapter), dropout > 0.0f,
           &layout);
  g_assert (s->n_params == temper_lora_count_params (adapter, c));
  s->host_flat = g_new (float, s->n_params);
  /* Measured on the CPU only (bench-lora-products); the GPUs keep h as
   * it was. */
  s->stack_lora = backend->kind == TEMPER_BACKEND_CPU;
  small = layout.small, acts = layout.acts, params = layout.params, host = layout.host;
  tied = layout.tied;
  embed_on_host = layout.embed_on_host;
  weight_bytes = s->weight_bytes;

  if (device != NULL)
    {
      g_autofree char *what = g_strdup_printf (_("Training “%s” with micro-batch %d × %d tokens"),
                                               temper_model_get_name (model), micro_batch, seq_len);

      if (!temper_backend_check_memory (device, weight_bytes + s->memory, what, error))
        return NULL;
    }
  if (!temper_block_wrap_weight (backend, model, temper_model_get_output (model), TEMPER_OP_LM_HEAD_CROSS_ENTROPY,
                                 TRUE, s->weight_buffers, &s->output, error))
    return NULL;
  if (embed_on_host)
    s->x0_host = g_new (float, (size_t) N * (size_t) E);
  else if (tied)
    {
      if (!temper_backend_supports_op (backend, TEMPER_OP_EMBEDDING, s->output.type))
        {
          g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_UNSUPPORTED,
                       _("“%s”: its embeddings are stored as %s, which the %s backend cannot look up"),
                       temper_model_get_path (model), temper_type_name (s->output.type),
                       temper_backend_get_name (backend));
          return NULL;
        }
      s->token_embd = s->output;
    }
  else if (!temper_block_wrap_weight (backend, model, temper_model_get_token_embd (model), TEMPER_OP_EMBEDDING,
                                      TRUE, s->weight_buffers, &s->token_embd, error))
    return NULL;
  for (int l = 0; l < L; l++)
    {
      const TemperLayerWeights *lw = temper_model_get_layer (model, l);

      for (int t = 0; t < TEMPER_LORA_N_TARGETS; t++)
        if (temper_block_target_weight (lw, t)->data != NULL
            && !temper_block_wrap_weight (backend, model, temper_block_target_weight (lw, t),
                                          TEMPER_OP_MATMUL, TRUE, s->weight_buffers, &s->layers[l].w[t], error))
          return NULL;
      if (!temper_moe_layer_init (&s->layers[l].moe, backend, model, lw, s->weight_buffers, error))
        return NULL;
    }

  s->small = temper_backend_buffer_alloc (backend, small.size, TEMPER_BUFFER_WEIGHTS, error);
  if (s->small == NULL)
    return NULL;
  s->acts = temper_backend_buffer_alloc (backend, acts.size, TEMPER_BUFFER_ACTIVATIONS, error);
  if (s->acts == NULL)
    {
      g_prefix_error (error, _("Training with micro-batch %d × %d tokens needs %.1f GiB for "
                      "activations: lower the micro-batch or the maximum length, or turn on "
                      "activation recomputation. "), micro_batch, seq_len,
                      (double) acts.size / (1 << 30));
      return NULL;
    }
  s->params_buf = temper_backend_buffer_alloc (backend, params.size, TEMPER_BUFFER_ACTIVATIONS, error);
  s->host_buf = s->params_buf != NULL
                ? temper_backend_buffer_alloc (backend, host.size, TEMPER_BUFFER_HOST_VISIBLE, error)
                : NULL;
  if (s->host_buf == NULL)
    return NULL;

  for (int l = 0; l <= L; l++)
    s->x_in[l].buffer = s->acts;
  for (int i = 0; i < n_acts; i++)
    bind_acts (&s->la[i], s->acts);
  for (int i = 0; i < L * TEMPER_LORA_N_TARGETS; i++)
    if (s->la_h[i].ne[0] != 0)
      s->la_h[i].buffer = s->acts;
  {
    TemperBTensor *in_acts[] = { &s->tokens, &s->targets, &s->xf, &s->rstdf, &s->ce_scratch,
                                 &s->g.d_resid, &s->dxf, &s->g.d_xn, &s->g.d_q, &s->g.d_k, &s->g.d_v,
                                 &s->g.d_att, &s->g.d_gate, &s->g.d_up, &s->g.d_act, &s->g.d_h,
                                 &s->g.d_kraw };

    for (guint i = 0; i < G_N_ELEMENTS (in_acts); i++)
      if (in_acts[i]->ne[0] != 0)
        in_acts[i]->buffer = s->acts;
    if (dropout > 0.0f)
      s->drop.buffer = s->acts;
  }
  s->params.buffer = s->grads.buffer = s->m.buffer = s->v.buffer = s->params_buf;
  for (int l = 0; l < L; l++)
    for (int t = 0; t < TEMPER_LORA_N_TARGETS; t++)
      if (s->layers[l].lora_a[t].ne[0] != 0)
        s->layers[l].lora_a[t].buffer = s->layers[l].lora_b[t].buffer =
          s->layers[l].lora_ga[t].buffer = s->layers[l].lora_gb[t].buffer = s->params_buf;
  s->loss.buffer = s->sumsq.buffer = s->host_buf;

  {
    g_autofree float *values = g_new (float, E);

    s->output_norm.buffer = s->small;
    temper_block_vector (c, temper_model_get_output_norm (model), TRUE, values);
    if (!temper_backend_upload (backend, &s->output_norm, values, error))
      return NULL;
  }
  for (int l = 0; l < L; l++)
    if (!temper_block_weights_upload (&s->layers[l], backend, s->small, c, temper_model_get_layer (model, l), error))
      return NULL;

  temper_backend_begin (backend);
  backend->ops->zero (backend, &s->grads);
  backend->ops->zero (backend, &s->m);
  backend->ops->zero (backend, &s->v);
  if (!temper_backend_flush (backend, error) || !temper_train_step_upload_adapter (s, error))
    return NULL;
  return g_steal_pointer (&s);
}

void
temper_train_step_free (TemperTrainStep *s)
{
  if (s == NULL)
    return;
  if (s->weight_buffers != NULL)
    {
      for (guint i = 0; i < s->weight_buffers->len; i++)
        temper_backend_buffer_free (s->backend, s->weight_buffers->pdata[i]);
      g_ptr_array_unref (s->weight_buffers);
    }
  temper_backend_buffer_free (s->backend, s->small);
  temper_backend_buffer_free (s->backend, s->acts);
  temper_backend_buffer_free (s->backend, s->params_buf);
  temper_backend_buffer_free (s->backend, s->host_buf);
  temper_block_rope_clear (&s->rope);
  for (int l = 0; s->layers != NULL && l < s->c->n_layer; l++)
    temper_moe_layer_clear (&s->layers[l].moe);
  g_free (s->layers);
  g_free (s->x_in);
  g_free (s->la);
  g_free (s->la_h);
  g_free (s->drop_keys);
  g_free (s->host_flat);
  g_free (s->x0_host);
  g_free (s);
}

void
temper_train_step_set_stack_lora (TemperTrainStep *s, gboolean stack)
{
  s->stack_lora = stack;
}

guint64
temper_train_step_get_n_params (TemperTrainStep *s)
{
  return s->n_params;
}

guint64
temper_train_step_get_memory (TemperTrainStep *s)
{
  return s->memory;
}

guint64
temper_train_step_get_estimate (TemperTrainStep *s)
{
  return s->weight_bytes + s->memory;
}

/* x0 = the embedding rows of @tokens, read from the model's own memory. */
static gboolean
look_up_on_host (TemperTrainStep *s, const gint32 *tokens, int64_t n, const TemperBTensor *x0,
                 GError **error)
{
  const TemperTensorView *embd = temper_model_get_token_embd (s->model);
  int64_t E = s->c->n_embd;

  for (int64_t i = 0; i < n; i++)
    {
      if (tokens[i] < 0 || tokens[i] >= embd->ne[1])
        {
          g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_ARGUMENT,
                       _("Token %d is outside the model's vocabulary of %" PRId64 " tokens."),
                       tokens[i], embd->ne[1]);
          return FALSE;
        }
      temper_tensor_row_to_f32 (embd, tokens[i], s->x0_host + i * E);
    }
  return temper_backend_upload (s->backend, x0, s->x0_host, error);
}

gboolean
temper_train_step_run (TemperTrainStep *s, const gint32 *tokens, const gint32 *targets,
                       int n_seq, int seq_len, gboolean backward, float grad_scale, TemperRng *rng,
                       double *loss_sum, double *n_targets, GError **error)
{
  return temper_train_step_run_part (s, tokens, targets, 0, n_seq, seq_len, backward, grad_scale,
                                     rng, loss_sum, n_targets, error);
}

gboolean
temper_train_step_run_part (TemperTrainStep *s, const gint32 *tokens, const gint32 *targets,
                            int first_seq, int n_seq, int seq_len, gboolean backward,
                            float grad_scale, TemperRng *rng, double *loss_sum,
                            double *n_targets, GError **error)
{
  TemperBackend *b = s->backend;
  const TemperModelConfig *c = s->c;
  int L = c->n_layer;
  int64_t n = (int64_t) n_seq * (s->t_cur = seq_len);
  TemperBTensor tok = temper_btensor (s->acts, s->tokens.offset, TEMPER_TYPE_I32, n, 1);
  TemperBTensor tgt = temper_btensor (s->acts, s->targets.offset, TEMPER_TYPE_I32, n, 1);
  TemperBTensor xf = rows (&s->xf, n), dxf = rows (&s->dxf, n), d_resid = rows (&s->g.d_resid, n);
  TemperBTensor rstdf = temper_btensor (s->acts, s->rstdf.offset, TEMPER_TYPE_F32, n, 1);
  TemperBTensor x_last = rows (&s->x_in[L], n), x0 = rows (&s->x_in[0], n);
  float loss[2];

  g_return_val_if_fail (n_seq >= 1 && n_seq <= s->B, FALSE);
  g_return_val_if_fail (seq_len >= 1 && seq_len <= s->T, FALSE);

  g_return_val_if_fail (first_seq >= 0, FALSE);
  /* One set of keys per micro-batch: its later parts reuse the first's. */
  s->first_seq = first_seq;
  if (backward && s->dropout > 0.0f && first_seq == 0)
    {
      g_assert (rng != NULL);
      for (int i = 0; i < L * TEMPER_LORA_N_TARGETS; i++)
        s->drop_keys[i] = temper_rng_next (rng);
    }
  if (!temper_backend_upload (b, &tok, tokens, error) ||
      !temper_backend_upload (b, &tgt, targets, error))
    return FALSE;
  if (s->x0_host != NULL && !look_up_on_host (s, tokens, n, &x0, error))
    return FALSE;

  temper_backend_begin (b);
  if (s->x0_host == NULL)
    b->ops->embedding (b, &x0, &s->token_embd, &tok);
  if (c->embd_scale > 0.0f && c->embd_scale != 1.0f)
    b->ops->scale (b, &x0, c->embd_scale);
  for (int l = 0; l < L; l++)
    temper_train_layer_forward (s, l, n_seq, backward);
  b->ops->rmsnorm (b, &xf, &rstdf, &x_last, &s->output_norm, c->rms_eps);
  b->ops->zero (b, &s->loss);
  if (backward)
    b->ops->zero (b, &dxf);
  /* The lm_head is the costliest single op, so only each sequence's span
   * from its first to its last target goes through it: with the loss on
   * answers only, the prompt's rows are skipped. */
  for (int q = 0; q < n_seq; q++)
    {
      int lo = s->t_cur, hi = -1;

      for (int t = 0; t < s->t_cur; t++)
        if (targets[q * s->t_cur + t] >= 0)
          {
            lo = MIN (lo, t);
            hi = t;
          }
      if (hi >= lo)
        {
          int64_t first = (int64_t) q * s->t_cur + lo, count = hi - lo + 1;
          TemperBTensor xs = temper_btensor_rows (&xf, first, count);
          TemperBTensor dxs = temper_btensor_rows (&dxf, first, count);
          TemperBTensor ts = temper_btensor (s->acts, s->targets.offset + (size_t) first * 4, TEMPER_TYPE_I32, count, 1);
          if (c->final_softcap > 0.0f)
            b->ops->lm_head_cross_entropy_softcap (b, &s->loss, backward ? &dxs : NULL, &xs, &s->output, &ts,
                                                   &s->ce_scratch, grad_scale, c->final_softcap);
          else
            b->ops->lm_head_cross_entropy (b, &s->loss, backward ? &dxs : NULL, &xs, &s->output, &ts,
                                           &s->ce_scratch, grad_scale);
        }
    }
  if (backward)
    {
      b->ops->zero (b, &d_resid);
      b->ops->rmsnorm_backward (b, &d_resid, &dxf, &x_last, &s->output_norm, &rstdf);
      for (int l = L - 1; l >= 0; l--)
        {
          /* Recomputed from the saved layer input; its output, x_in[l + 1],
           * is still in place and not formed again.  The last layer's
           * activations are still those of the forward pass (only the
           * lm_head ran since, on buffers of its own). */
          if (s->recompute && l < L - 1)
            temper_train_layer_recompute (s, l, n_seq);
          temper_train_layer_backward (s, l, n_seq);
        }
    }
  if (!temper_backend_flush (b, error) || !temper_backend_download (b, &s->loss, loss, error))
    return FALSE;
  *loss_sum = loss[0];
  *n_targets = loss[1];
  return TRUE;
}

gboolean
temper_train_step_grad_norm (TemperTrainStep *s, double *norm, GError **error)
{
  TemperBackend *b = s->backend;
  float sumsq;

  temper_backend_begin (b);
  b->ops->zero (b, &s->sumsq);
  b->ops->sum_squares (b, &s->sumsq, &s->grads);
  if (!temper_backend_flush (b, error) || !temper_backend_download (b, &s->sumsq, &sumsq, error))
    return FALSE;
  *norm = sqrt ((double) sumsq);
  return TRUE;
}

gboolean
temper_train_step_optimize (TemperTrainStep *s, const TemperAdamWParams *params, GError **error)
{
  TemperBackend *b = s->backend;

  /* sumsq still holds the norm of these gradients from grad_norm(). */
  temper_backend_begin (b);
  b->ops->adamw (b, &s->params, &s->grads, &s->m, &s->v,
                 params->max_grad_norm > 0.0f ? &s->sumsq : NULL, params);
  b->ops->zero (b, &s->grads);
  return temper_backend_flush (b, error);
}

gboolean
temper_train_step_zero_grad (TemperTrainStep *s, GError **error)
{
  temper_backend_begin (s->backend);
  s->backend->ops->zero (s->backend, &s->grads);
  return temper_backend_flush (s->backend, error);
}

/* Copies a flat vector of the adapter's values between
 * temper_lora_gather()'s order (@gathered) and the step's own (@stepped:
 * see lay_out ()), either way. */
static void
reorder_flat (TemperTrainStep *s, float *gathered, float *stepped, gboolean to_step)
{
  size_t g = 0;

  for (int l = 0; l < s->c->n_layer; l++)
    for (int t = 0; t < TEMPER_LORA_N_TARGETS; t++)
      {
        const TemperBlockWeights *S = &s->layers[l];
        const TemperBTensor *parts[] = { &S->lora_a[t], &S->lora_b[t] };

        if (S->lora_a[t].ne[0] == 0)
          continue;
        for (int i = 0; i < 2; i++)
          {
            size_t n = (size_t) (parts[i]->ne[0] * parts[i]->ne[1]);
            float *in_step = stepped + (parts[i]->offset - s->params.offset) / sizeof (float);

            if (to_step)
              memcpy (in_step, gathered + g, n * sizeof (float));
            else
              memcpy (gathered + g, in_step, n * sizeof (float));
            g += n;
          }
      }
  g_assert (g == s->n_params);
}

/* Downloads the flat vector @t into @out in gather order. */
static gboolean
download_gathered (TemperTrainStep *s, const TemperBTensor *t, float *out, GError **error)
{
  if (!temper_backend_download (s->backend, t, s->host_flat, error))
    return FALSE;
  reorder_flat (s, out, s->host_flat, FALSE);
  return TRUE;
}

/* Uploads @in, in gather order, into the flat vector @t. */
static gboolean
upload_gathered (TemperTrainStep *s, const TemperBTensor *t, const float *in, GError **error)
{
  reorder_flat (s, (float *) in, s->host_flat, TRUE);
  return temper_backend_upload (s->backend, t, s->host_flat, error);
}

/* Copies the adapter's matrices into host_flat in the step's order, or
 * back. */
static void
copy_adapter (TemperTrainStep *s, gboolean to_step)
{
  for (int l = 0; l < s->c->n_layer; l++)
    for (int t = 0; t < TEMPER_LORA_N_TARGETS; t++)
      {
        const TemperBlockWeights *S = &s->layers[l];
        const TemperBTensor *parts[] = { &S->lora_a[t], &S->lora_b[t] };
        float *mine[] = { temper_adapter_get_a (s->adapter, l, t), temper_adapter_get_b (s->adapter, l, t) };

        if (S->lora_a[t].ne[0] == 0)
          continue;
        for (int i = 0; i < 2; i++)
          {
            size_t bytes = (size_t) (parts[i]->ne[0] * parts[i]->ne[1]) * sizeof (float);
            float *in_step = s->host_flat + (parts[i]->offset - s->params.offset) / sizeof (float);

            if (to_step)
              memcpy (in_step, mine[i], bytes);
            else
              memcpy (mine[i], in_step, bytes);
          }
      }
}

gboolean
temper_train_step_download_adapter (TemperTrainStep *s, GError **error)
{
  if (!temper_backend_download (s->backend, &s->params, s->host_flat, error))
    return FALSE;
  copy_adapter (s, FALSE);
  temper_adapter_changed (s->adapter);
  return TRUE;
}

gboolean
temper_train_step_upload_adapter (TemperTrainStep *s, GError **error)
{
  copy_adapter (s, TRUE);
  return temper_backend_upload (s->backend, &s->params, s->host_flat, error);
}

gboolean
temper_train_step_get_grads (TemperTrainStep *s, float *out, GError **error)
{
  return download_gathered (s, &s->grads, out, error);
}

gboolean
temper_train_step_get_moments (TemperTrainStep *s, float *m, float *v, GError **error)
{
  return download_gathered (s, &s->m, m, error) && download_gathered (s, &s->v, v, error);
}

gboolean
temper_train_step_set_moments (TemperTrainStep *s, const float *m, const float *v,
                               GError **error)
{
  return upload_gathered (s, &s->m, m, error) && upload_gathered (s, &s->v, v, error);
}
