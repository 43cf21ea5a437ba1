/* temper-train-layer.c — one transformer layer's forward and backward
 * with LoRA, for the training step: the block of nn/temper-block.h (norm
 * offsets, q/k norms, post norms, RoPE per layer, windows, GeGLU) with the
 * activations the backward needs kept.  Backward ops add into their
 * outputs, so every gradient buffer is zeroed before the first op that
 * writes it. */
#include "config.h"

#include "nn/temper-dropout-mask.h"
#include "temper-train-step.h"
#include "temper-train-step-private.h"

/* The key of the (@l, @t) mask for @x, rows of this call: a micro-batch
 * run in several calls drops, call by call, what it drops in one. */
static guint64
drop_key (TemperTrainStep *s, int l, int t, const TemperBTensor *x)
{
  guint64 first = (guint64) s->first_seq * (guint64) s->t_cur * (guint64) x->ne[0];

  return temper_dropout_key_at (s->drop_keys[l * TEMPER_LORA_N_TARGETS + t], (guint32) first);
}

/* The LoRA input as the forward saw it: dropped out when training. */
static const TemperBTensor *
lora_input (TemperTrainStep *s, int l, int t, const TemperBTensor *x, gboolean train,
            TemperBTensor *scratch)
{
  if (!train || s->dropout <= 0.0f)
    return x;
  *scratch = temper_btensor (s->acts, s->drop.offset, TEMPER_TYPE_F32, x->ne[0], x->ne[1]);
  s->backend->ops->dropout (s->backend, scratch, x, s->dropout, drop_key (s, l, t, x));
  return scratch;
}

/* y = x·Wᵀ (+ bias) + s·(drop(x)·Aᵀ)·Bᵀ, keeping h = drop(x)·Aᵀ for the backward. */
static void
linear_forward (TemperTrainStep *s, int l, LayerActs *a, int t, const TemperBTensor *y,
                const TemperBTensor *x, const TemperBTensor *bias, gboolean train)
{
  TemperBackend *b = s->backend;
  StepLayer *S = &s->layers[l];
  int64_t n = x->ne[1];

  b->ops->matmul (b, y, x, &S->w[t], bias != NULL && bias->buffer != NULL ? bias : NULL, FALSE);
  if (S->a[t].ne[0] != 0)
    {
      TemperBTensor scratch, h = rows (&a->h[t], n);
      const TemperBTensor *xin = lora_input (s, l, t, x, train, &scratch);

      b->ops->gemm (b, &h, xin, FALSE, &S->a[t], TRUE, 1.0f, 0.0f);
      b->ops->gemm (b, y, &h, FALSE, &S->b[t], TRUE, s->scale, 1.0f);
    }
}

/* dx += dy·W + the LoRA path; LoRA gradients += their share. */
static void
linear_backward (TemperTrainStep *s, int l, LayerActs *a, int t, const TemperBTensor *dx,
                 const TemperBTensor *dy, const TemperBTensor *x)
{
  TemperBackend *b = s->backend;
  StepLayer *S = &s->layers[l];
  int64_t n = x->ne[1];

  b->ops->matmul_backward_input (b, dx, dy, &S->w[t]);
  if (S->a[t].ne[0] != 0)
    {
      TemperBTensor scratch, h = rows (&a->h[t], n), dh = rows (&s->d_h, n);
      const TemperBTensor *xin = lora_input (s, l, t, x, TRUE, &scratch);

      b->ops->gemm (b, &S->gb[t], dy, TRUE, &h, FALSE, s->scale, 1.0f);   /* dB += s·dyᵀ·h */
      b->ops->gemm (b, &dh, dy, FALSE, &S->b[t], FALSE, s->scale, 0.0f);  /* dh = s·dy·B */
      b->ops->gemm (b, &S->ga[t], &dh, TRUE, xin, FALSE, 1.0f, 1.0f);     /* dA += dhᵀ·x */
      if (s->dropout > 0.0f)
        {
          /* dx += (dh·A) ⊙ mask/(1−p), formed in the dropout scratch. */
          b->ops->gemm (b, &scratch, &dh, FALSE, &S->a[t], FALSE, 1.0f, 0.0f);
          b->ops->dropout (b, &scratch, &scratch, s->dropout, drop_key (s, l, t, &scratch));
          b->ops->add (b, dx, dx, &scratch);
        }
      else
        b->ops->gemm (b, dx, &dh, FALSE, &S->a[t], FALSE, 1.0f, 1.0f);   /* dx += dh·A */
    }
}

static TemperAttentionParams
attention_params (TemperTrainStep *s, int l, int n_seq)
{
  TemperAttentionParams p = { 0 };

  p.n_seq = n_seq;
  p.n_query = s->t_cur;
  p.n_key = s->t_cur;
  p.q_offset = 0;
  temper_block_attention_params (s->c, l, &p);
  return p;
}

/* y = RMSNorm(x) per head ({head_dim} rows), keeping rstd. */
static void
head_norm (TemperTrainStep *s, const TemperBTensor *y, const TemperBTensor *rstd_all,
           const TemperBTensor *x, const TemperBTensor *w)
{
  TemperBTensor yh = temper_block_heads (y, s->c->head_dim), xh = temper_block_heads (x, s->c->head_dim);
  TemperBTensor rstd = temper_btensor (s->acts, rstd_all->offset, TEMPER_TYPE_F32, xh.ne[1], 1);

  s->backend->ops->rmsnorm (s->backend, &yh, &rstd, &xh, w, s->c->rms_eps);
}

static void
head_norm_backward (TemperTrainStep *s, const TemperBTensor *dx, const TemperBTensor *dy,
                    const TemperBTensor *rstd_all, const TemperBTensor *x, const TemperBTensor *w)
{
  TemperBTensor dxh = temper_block_heads (dx, s->c->head_dim), dyh = temper_block_heads (dy, s->c->head_dim);
  TemperBTensor xh = temper_block_heads (x, s->c->head_dim);
  TemperBTensor rstd = temper_btensor (s->acts, rstd_all->offset, TEMPER_TYPE_F32, xh.ne[1], 1);

  s->backend->ops->rmsnorm_backward (s->backend, &dxh, &dyh, &xh, w, &rstd);
}

void
temper_train_layer_forward (TemperTrainStep *s, int l, LayerActs *a, int n_seq, gboolean train)
{
  TemperBackend *b = s->backend;
  const TemperModelConfig *c = s->c;
  StepLayer *S = &s->layers[l];
  int64_t n = (int64_t) n_seq * s->t_cur;
  TemperBTensor x = rows (&s->x_in[l], n), out = rows (&s->x_in[l + 1], n);
  TemperBTensor xn1 = rows (&a->xn1, n), rstd1 = temper_btensor (s->acts, a->rstd1.offset, TEMPER_TYPE_F32, n, 1);
  TemperBTensor q = rows (&a->q, n), k = rows (&a->k, n), v = rows (&a->v, n);
  TemperBTensor att = rows (&a->att, n), lse = rows (&a->lse, n), x2 = rows (&a->x2, n);
  TemperBTensor xn2 = rows (&a->xn2, n), rstd2 = temper_btensor (s->acts, a->rstd2.offset, TEMPER_TYPE_F32, n, 1);
  TemperBTensor gate = rows (&a->gate, n), up = rows (&a->up, n), act = rows (&a->act, n);
  TemperAttentionParams ap = attention_params (s, l, n_seq);

  b->ops->rmsnorm (b, &xn1, &rstd1, &x, &S->attn_norm, c->rms_eps);
  if (c->qk_norm)
    {
      TemperBTensor q_raw = rows (&a->q_raw, n), k_raw = rows (&a->k_raw, n);

      linear_forward (s, l, a, TEMPER_LORA_Q, &q_raw, &xn1, &S->bq, train);
      linear_forward (s, l, a, TEMPER_LORA_K, &k_raw, &xn1, &S->bk, train);
      head_norm (s, &q, &a->rstd_q, &q_raw, &S->q_norm);
      head_norm (s, &k, &a->rstd_k, &k_raw, &S->k_norm);
    }
  else
    {
      linear_forward (s, l, a, TEMPER_LORA_Q, &q, &xn1, &S->bq, train);
      linear_forward (s, l, a, TEMPER_LORA_K, &k, &xn1, &S->bk, train);
    }
  linear_forward (s, l, a, TEMPER_LORA_V, &v, &xn1, &S->bv, train);
  temper_block_rope (b, &s->rope, c, l, &q, c->n_head, s->t_cur, 0, FALSE);
  temper_block_rope (b, &s->rope, c, l, &k, c->n_head_kv, s->t_cur, 0, FALSE);
  b->ops->attention (b, &att, &lse, &q, &k, &v, &ap);
  if (c->post_norms)
    {
      TemperBTensor o_raw = rows (&a->o_raw, n);
      TemperBTensor rstd_o = temper_btensor (s->acts, a->rstd_o.offset, TEMPER_TYPE_F32, n, 1);

      linear_forward (s, l, a, TEMPER_LORA_O, &o_raw, &att, NULL, train);
      b->ops->rmsnorm (b, &x2, &rstd_o, &o_raw, &S->attn_post_norm, c->rms_eps);
    }
  else
    linear_forward (s, l, a, TEMPER_LORA_O, &x2, &att, NULL, train);
  b->ops->add (b, &x2, &x2, &x);
  b->ops->rmsnorm (b, &xn2, &rstd2, &x2, &S->ffn_norm, c->rms_eps);
  if (temper_moe_layer_active (&S->moe))
    {
      if (c->post_norms)
        {
          TemperBTensor f_raw = rows (&a->f_raw, n);
          TemperBTensor rstd_f = temper_btensor (s->acts, a->rstd_f.offset, TEMPER_TYPE_F32, n, 1);

          temper_moe_forward (b, &S->moe, &f_raw, &xn2);
          b->ops->rmsnorm (b, &out, &rstd_f, &f_raw, &S->ffn_post_norm, c->rms_eps);
        }
      else
        temper_moe_forward (b, &S->moe, &out, &xn2);
      b->ops->add (b, &out, &out, &x2);
      return;
    }
  linear_forward (s, l, a, TEMPER_LORA_GATE, &gate, &xn2, NULL, train);
  linear_forward (s, l, a, TEMPER_LORA_UP, &up, &xn2, NULL, train);
  temper_block_mlp (b, c, &act, &gate, &up);
  if (c->post_norms)
    {
      TemperBTensor f_raw = rows (&a->f_raw, n);
      TemperBTensor rstd_f = temper_btensor (s->acts, a->rstd_f.offset, TEMPER_TYPE_F32, n, 1);

      linear_forward (s, l, a, TEMPER_LORA_DOWN, &f_raw, &act, NULL, train);
      b->ops->rmsnorm (b, &out, &rstd_f, &f_raw, &S->ffn_post_norm, c->rms_eps);
    }
  else
    linear_forward (s, l, a, TEMPER_LORA_DOWN, &out, &act, NULL, train);
  b->ops->add (b, &out, &out, &x2);
}

/* On entry d_resid holds ∂L/∂(layer output); on exit ∂L/∂(layer input). */
void
temper_train_layer_backward (TemperTrainStep *s, int l, LayerActs *a, int n_seq)
{
  TemperBackend *b = s->backend;
  const TemperModelConfig *c = s->c;
  StepLayer *S = &s->layers[l];
  int64_t n = (int64_t) n_seq * s->t_cur;
  TemperBTensor x = rows (&s->x_in[l], n), d_resid = rows (&s->d_resid, n);
  TemperBTensor xn1 = rows (&a->xn1, n), rstd1 = temper_btensor (s->acts, a->rstd1.offset, TEMPER_TYPE_F32, n, 1);
  TemperBTensor q = rows (&a->q, n), k = rows (&a->k, n), v = rows (&a->v, n);
  TemperBTensor att = rows (&a->att, n), lse = rows (&a->lse, n), x2 = rows (&a->x2, n);
  TemperBTensor xn2 = rows (&a->xn2, n), rstd2 = temper_btensor (s->acts, a->rstd2.offset, TEMPER_TYPE_F32, n, 1);
  TemperBTensor gate = rows (&a->gate, n), up = rows (&a->up, n), act = rows (&a->act, n);
  TemperBTensor d_xn = rows (&s->d_xn, n), d_q = rows (&s->d_q, n), d_k = rows (&s->d_k, n);
  TemperBTensor d_v = rows (&s->d_v, n), d_att = rows (&s->d_att, n), d_gate = rows (&s->d_gate, n);
  TemperBTensor d_up = rows (&s->d_up, n), d_act = rows (&s->d_act, n);
  TemperAttentionParams ap = attention_params (s, l, n_seq);
  /* The gradient a sublayer's output projection receives: the residual's,
   * or, under a post norm, that through the norm (formed in d_xn, which is
   * free until the sublayer's input gradient). */
  const TemperBTensor *d_out = &d_resid;

  /* Feed-forward: out = x2 + [postnorm] down(act(gate(xn2), up(xn2))). */
  if (c->post_norms)
    {
      TemperBTensor rstd_f = temper_btensor (s->acts, a->rstd_f.offset, TEMPER_TYPE_F32, n, 1);
      TemperBTensor f_raw = rows (&a->f_raw, n);

      b->ops->zero (b, &d_xn);
      b->ops->rmsnorm_backward (b, &d_xn, &d_resid, &f_raw, &S->ffn_post_norm, &rstd_f);
      d_out = &d_xn;
    }
  if (temper_moe_layer_active (&S->moe))
    {
      /* The experts and the router are frozen: only their input gradient. */
      b->ops->zero (b, &d_xn);
      temper_moe_backward (b, &S->moe, &d_xn, d_out, &xn2);
    }
  else
    {
      b->ops->zero (b, &d_act);
      linear_backward (s, l, a, TEMPER_LORA_DOWN, &d_act, d_out, &act);
      b->ops->zero (b, &d_gate);
      b->ops->zero (b, &d_up);
      temper_block_mlp_backward (b, c, &d_gate, &d_up, &d_act, &gate, &up);
      b->ops->zero (b, &d_xn);
      linear_backward (s, l, a, TEMPER_LORA_GATE, &d_xn, &d_gate, &xn2);
      linear_backward (s, l, a, TEMPER_LORA_UP, &d_xn, &d_up, &xn2);
    }
  b->ops->rmsnorm_backward (b, &d_resid, &d_xn, &x2, &S->ffn_norm, &rstd2);

  /* Attention: x2 = x + [postnorm] o(attention(rope(q(xn1)), rope(k(xn1)), v(xn1))). */
  d_out = &d_resid;
  if (c->post_norms)
    {
      TemperBTensor rstd_o = temper_btensor (s->acts, a->rstd_o.offset, TEMPER_TYPE_F32, n, 1);
      TemperBTensor o_raw = rows (&a->o_raw, n);

      b->ops->zero (b, &d_xn);
      b->ops->rmsnorm_backward (b, &d_xn, &d_resid, &o_raw, &S->attn_post_norm, &rstd_o);
      d_out = &d_xn;
    }
  b->ops->zero (b, &d_att);
  linear_backward (s, l, a, TEMPER_LORA_O, &d_att, d_out, &att);
  b->ops->zero (b, &d_q);
  b->ops->zero (b, &d_k);
  b->ops->zero (b, &d_v);
  b->ops->attention_backward (b, &d_q, &d_k, &d_v, &d_att, &att, &lse, &q, &k, &v, &ap);
  temper_block_rope (b, &s->rope, c, l, &d_q, c->n_head, s->t_cur, 0, TRUE);
  temper_block_rope (b, &s->rope, c, l, &d_k, c->n_head_kv, s->t_cur, 0, TRUE);
  b->ops->zero (b, &d_xn);
  if (c->qk_norm)
    {
      /* d_att is free again: it takes q's gradient before its norm. */
      TemperBTensor d_kraw = rows (&s->d_kraw, n);
      TemperBTensor q_raw = rows (&a->q_raw, n), k_raw = rows (&a->k_raw, n);

      b->ops->zero (b, &d_att);
      b->ops->zero (b, &d_kraw);
      head_norm_backward (s, &d_att, &d_q, &a->rstd_q, &q_raw, &S->q_norm);
      head_norm_backward (s, &d_kraw, &d_k, &a->rstd_k, &k_raw, &S->k_norm);
      linear_backward (s, l, a, TEMPER_LORA_Q, &d_xn, &d_att, &xn1);
      linear_backward (s, l, a, TEMPER_LORA_K, &d_xn, &d_kraw, &xn1);
    }
  else
    {
      linear_backward (s, l, a, TEMPER_LORA_Q, &d_xn, &d_q, &xn1);
      linear_backward (s, l, a, TEMPER_LORA_K, &d_xn, &d_k, &xn1);
    }
  linear_backward (s, l, a, TEMPER_LORA_V, &d_xn, &d_v, &xn1);
  b->ops->rmsnorm_backward (b, &d_resid, &d_xn, &x, &S->attn_norm, &rstd1);
}

