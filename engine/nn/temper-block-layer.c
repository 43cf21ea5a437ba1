/* SPDX-License-Identifier: MIT */
/* temper-block-layer.c — one transformer layer as a sequence of backend
 * ops, written once: generation (temper-forward.c: a KV cache, nothing
 * kept) and training (temper-train-step.c: activations kept for the
 * backward, LoRA dropout, recomputation) call the same forward, and the
 * backward mirrors it op by op.
 *
 *   x2  = x  + [post norm] o(attention(rope([q norm] q(n1(x))), rope([k norm] k(n1(x))), v(n1(x))))
 *   out = x2 + [post norm] down(act(gate(n2(x2)), up(n2(x2))))
 *
 * What depends on the family (norm offsets, q/k norms, post norms, RoPE per
 * layer, windows and soft-capping, GeGLU) comes from temper-block.c.  The
 * feed-forward is one call (block_feed_forward), so another kind of MLP
 * slots in there.  Backward ops add into their outputs, so every gradient
 * buffer is zeroed before the first op that writes it. */
#include "config.h"

#include "temper-block.h"
#include "temper-dropout-mask.h"

static TemperBTensor
rows (const TemperBTensor *t, int64_t n)
{
  return temper_btensor_rows (t, 0, n);
}

/* The first @n elements of a kept vector (rstd), or NULL where the caller
 * keeps none. */
static const TemperBTensor *
kept_vector (const TemperBTensor *t, int64_t n, TemperBTensor *room)
{
  if (t->buffer == NULL)
    return NULL;
  *room = temper_btensor (t->buffer, t->offset, TEMPER_TYPE_F32, n, 1);
  return room;
}

static int64_t
n_rows (const TemperBlockPass *p)
{
  return (int64_t) p->n_seq * p->n_query;
}

/* The key of target @t's dropout mask for @x, rows of this call: a
 * micro-batch run in several calls drops, call by call, what it drops in
 * one. */
static guint64
drop_key (const TemperBlockPass *p, int t, const TemperBTensor *x)
{
  guint64 first = (guint64) p->drop_first_row * (guint64) x->ne[0];

  return temper_dropout_key_at (p->drop_keys[t], (guint32) first);
}

/* The LoRA input as the forward saw it: dropped out when training. */
static const TemperBTensor *
lora_input (const TemperBlockPass *p, int t, const TemperBTensor *x, gboolean train,
            TemperBTensor *scratch)
{
  if (!train || p->dropout <= 0.0f)
    return x;
  *scratch = temper_btensor (p->drop.buffer, p->drop.offset, TEMPER_TYPE_F32, x->ne[0], x->ne[1]);
  p->backend->ops->dropout (p->backend, scratch, x, p->dropout, drop_key (p, t, x));
  return scratch;
}

/* ---- LoRA with h kept transposed, and stacked groups (TemperBlockPass's
 * stack_lora). ---- */

static gboolean
transposed_h (const TemperBlockPass *p)
{
  return p->stack_lora && p->dropout <= 0.0f;
}

/* Whether @next starts where @t ends, in the same buffer. */
static gboolean
follows (const TemperBTensor *t, const TemperBTensor *next)
{
  return next->buffer != NULL && next->buffer == t->buffer &&
         next->offset == t->offset + (size_t) (t->ne[0] * t->ne[1]) * sizeof (float);
}

/* Zeroes @n gradient buffers, as one op where they lie one after another
 * (each op is a barrier of the CPU's threads). */
static void
zero_all (const TemperBlockPass *p, const TemperBTensor *const *t, int n)
{
  TemperBackend *b = p->backend;
  int64_t floats = t[0]->ne[0] * t[0]->ne[1];

  for (int i = 1; i < n; i++)
    {
      if (!follows (t[i - 1], t[i]))
        {
          for (int j = 0; j < n; j++)
            b->ops->zero (b, t[j]);
          return;
        }
      floats += t[i]->ne[0] * t[i]->ne[1];
    }
  {
    TemperBTensor whole = temper_btensor (t[0]->buffer, t[0]->offset, TEMPER_TYPE_F32, floats, 1);

    b->ops->zero (b, &whole);
  }
}

/* The targets that read one input: Q, K and V; gate and up. */
static int
group_first (int t)
{
  if (t <= TEMPER_LORA_V)
    return TEMPER_LORA_Q;
  return t == TEMPER_LORA_GATE || t == TEMPER_LORA_UP ? TEMPER_LORA_GATE : t;
}

static int
group_size (int first)
{
  return first == TEMPER_LORA_Q ? 3 : first == TEMPER_LORA_GATE ? 2 : 1;
}

/* @count when targets @first … @first + @count − 1 run as one stacked
 * group (all adapted, of one input width, their A, dA and h one after
 * another), else 1. */
static int
lora_group (const TemperBlockPass *p, const TemperBlockWeights *w, const TemperBlockActs *a,
            int first, int count)
{
  if (!transposed_h (p) || w->lora_a[first].buffer == NULL)
    return 1;
  for (int t = first + 1; t < first + count; t++)
    if (!follows (&w->lora_a[t - 1], &w->lora_a[t]) || !follows (&w->lora_ga[t - 1], &w->lora_ga[t]) ||
        !follows (&a->h[t - 1], &a->h[t]) || w->lora_a[t].ne[0] != w->lora_a[first].ne[0])
      return 1;
  return count;
}

/* The @j-th {n, @width} block of a run of them starting at @base: a
 * target's hᵀ (or dhᵀ) within its group's, for this call's n tokens. */
static TemperBTensor
block_of (const TemperBTensor *base, int j, int64_t n, int64_t width)
{
  return temper_btensor (base->buffer, base->offset + (size_t) (j * width * n) * sizeof (float),
                         TEMPER_TYPE_F32, n, width);
}

/* The A matrices (or their gradients) of @count targets from @first on as
 * one {in, count·r} matrix. */
static TemperBTensor
stacked (const TemperBTensor *first, int count)
{
  return temper_btensor (first->buffer, first->offset, TEMPER_TYPE_F32, first->ne[0], count * first->ne[1]);
}

/* hᵀ = [A_first; …]·xᵀ for @count targets reading @x: {n, count·r}. */
static void
lora_hidden_transposed (const TemperBlockPass *p, const TemperBlockWeights *w, const TemperBlockActs *a,
                        int first, int count, const TemperBTensor *x)
{
  int64_t r = w->lora_a[first].ne[1];
  TemperBTensor hT = block_of (&a->h[first], 0, x->ne[1], count * r);
  TemperBTensor A = stacked (&w->lora_a[first], count);

  p->backend->ops->gemm (p->backend, &hT, &A, FALSE, x, TRUE, 1.0f, 0.0f);
}

/* The stacked hidden values of the group starting at @first, when it runs
 * as one (before any of its targets' outputs is formed). */
static void
lora_group_forward (const TemperBlockPass *p, const TemperBlockWeights *w, const TemperBlockActs *a,
                    int first, const TemperBTensor *x)
{
  int count = lora_group (p, w, a, first, group_size (first));

  if (count > 1 && !p->lora_h_kept)
    lora_hidden_transposed (p, w, a, first, count, x);
}

/* Target @t's hᵀ, formed first when it runs alone (a group's is formed
 * before its first target's output). */
static TemperBTensor
lora_forward_hidden (const TemperBlockPass *p, const TemperBlockWeights *w, const TemperBlockActs *a,
                     int t, const TemperBTensor *x)
{
  int f = group_first (t);
  gboolean together = lora_group (p, w, a, f, group_size (f)) > 1;

  if (!together && !p->lora_h_kept)
    lora_hidden_transposed (p, w, a, t, 1, x);
  return block_of (&a->h[together ? f : t], together ? t - f : 0, x->ne[1], w->lora_a[t].ne[1]);
}

/* The backward of @count targets from @first on reading @x, each with its
 * output gradient dy[j]: dx += Σ dy·W + the LoRA paths; LoRA gradients +=
 * their share.  A stacked group forms its dA and its dx contribution in one
 * product each. */
static void
linear_backward_transposed (const TemperBlockPass *p, const TemperBlockWeights *w, const TemperBlockActs *a,
                            const TemperBlockGrads *g, int first, int count, const TemperBTensor *dx,
                            const TemperBTensor *const *dy, const TemperBTensor *x)
{
  TemperBackend *b = p->backend;
  int64_t n = x->ne[1];
  int together = lora_group (p, w, a, first, count) == count ? count : 1;

  /* One stacked group: its dh first, then the frozen products, the last
   * one adding dh·A to dx while dx is in cache, then dA. */
  if (together == count && w->lora_a[first].buffer != NULL &&
      temper_backend_supports_op (b, TEMPER_OP_MATMUL_BACKWARD_INPUT_LORA, w->w[first + count - 1].type) &&
      temper_backend_supports_op (b, TEMPER_OP_LORA_B_BACKWARD, TEMPER_TYPE_F32))
    {
      int64_t r = w->lora_a[first].ne[1];
      TemperBTensor dhT = block_of (&g->d_h, 0, n, count * r);
      TemperBTensor A = stacked (&w->lora_a[first], count), gA = stacked (&w->lora_ga[first], count);

      for (int j = 0; j < count; j++)
        {
          TemperBTensor hT = block_of (&a->h[first], j, n, r), dhT_j = block_of (&g->d_h, j, n, r);

          b->ops->lora_b_backward (b, &w->lora_gb[first + j], &dhT_j, dy[j], &hT, &w->lora_b[first + j],
                                   p->lora_scale);
        }
      for (int j = 0; j + 1 < count; j++)
        b->ops->matmul_backward_input (b, dx, dy[j], &w->w[first + j]);
      b->ops->matmul_backward_input_lora (b, dx, dy[count - 1], &w->w[first + count - 1], &dhT, &A);
      b->ops->gemm (b, &gA, &dhT, FALSE, x, FALSE, 1.0f, 1.0f);  /* dA += dhᵀ·x */
      return;
    }
  for (int j = 0; j < count; j++)
    b->ops->matmul_backward_input (b, dx, dy[j], &w->w[first + j]);
  for (int j0 = 0; j0 < count; j0 += together)
    {
      int f = first + j0;
      int64_t r = w->lora_a[f].ne[1];
      TemperBTensor dhT, A, gA;

      if (w->lora_a[f].buffer == NULL)
        continue;
      for (int j = 0; j < together; j++)
        {
          TemperBTensor hT = block_of (&a->h[f], j, n, r), dhT_j = block_of (&g->d_h, j, n, r);

          if (temper_backend_supports_op (b, TEMPER_OP_LORA_B_BACKWARD, TEMPER_TYPE_F32))
            {
              /* Both in one pass over dy. */
              b->ops->lora_b_backward (b, &w->lora_gb[f + j], &dhT_j, dy[j0 + j], &hT, &w->lora_b[f + j],
                                       p->lora_scale);
              continue;
            }
          b->ops->gemm (b, &w->lora_gb[f + j], dy[j0 + j], TRUE, &hT, TRUE, p->lora_scale, 1.0f); /* dB += s·dyᵀ·h */
          b->ops->gemm (b, &dhT_j, &w->lora_b[f + j], TRUE, dy[j0 + j], TRUE, p->lora_scale, 0.0f); /* dhᵀ = s·Bᵀ·dyᵀ */
        }
      dhT = block_of (&g->d_h, 0, n, together * r);
      A = stacked (&w->lora_a[f], together);
      gA = stacked (&w->lora_ga[f], together);
      b->ops->gemm (b, &gA, &dhT, FALSE, x, FALSE, 1.0f, 1.0f);  /* dA += dhᵀ·x */
      b->ops->gemm (b, dx, &dhT, TRUE, &A, FALSE, 1.0f, 1.0f);   /* dx += dh·A */
    }
}

/* y += s·(drop(x)·Aᵀ)·Bᵀ on top of the frozen product already in y,
 * keeping h = drop(x)·Aᵀ for the backward. */
static void
linear_forward_lora (const TemperBlockPass *p, const TemperBlockWeights *w, const TemperBlockActs *a,
                     int t, const TemperBTensor *y, const TemperBTensor *x)
{
  TemperBackend *b = p->backend;

  if (w->lora_a[t].buffer == NULL)
    return;
  if (transposed_h (p))
    {
      TemperBTensor hT = lora_forward_hidden (p, w, a, t, x);

      b->ops->gemm (b, y, &hT, TRUE, &w->lora_b[t], TRUE, p->lora_scale, 1.0f);
      return;
    }
  TemperBTensor scratch, h = rows (&a->h[t], x->ne[1]);

  if (!p->lora_h_kept)
    b->ops->gemm (b, &h, lora_input (p, t, x, p->train, &scratch), FALSE, &w->lora_a[t], TRUE, 1.0f, 0.0f);
  b->ops->gemm (b, y, &h, FALSE, &w->lora_b[t], TRUE, p->lora_scale, 1.0f);
}

static const TemperBTensor *
bias_or_null (const TemperBTensor *bias)
{
  return bias != NULL && bias->buffer != NULL ? bias : NULL;
}

/* y = x·Wᵀ (+ bias) + s·(drop(x)·Aᵀ)·Bᵀ, keeping h = drop(x)·Aᵀ for the backward. */
static void
linear_forward (const TemperBlockPass *p, const TemperBlockWeights *w, const TemperBlockActs *a,
                int t, const TemperBTensor *y, const TemperBTensor *x, const TemperBTensor *bias)
{
  TemperBackend *b = p->backend;

  /* With h kept transposed, the CPU adds the LoRA path while y is in cache. */
  if (w->lora_a[t].buffer != NULL && transposed_h (p) &&
      temper_backend_supports_op (b, TEMPER_OP_MATMUL_LORA, w->w[t].type))
    {
      TemperBTensor hT = lora_forward_hidden (p, w, a, t, x);

      b->ops->matmul_lora (b, y, x, &w->w[t], bias_or_null (bias), &hT, &w->lora_b[t], p->lora_scale);
      return;
    }
  b->ops->matmul (b, y, x, &w->w[t], bias_or_null (bias), FALSE);
  linear_forward_lora (p, w, a, t, y, x);
}

/* linear_forward () of the @count targets from @first on, which all read
 * @x.  Outside training, where the backend takes them together (one
 * token's Q, K and V, or gate and up, on the CPU: one dispatch of the
 * threads instead of one each), their frozen products go in one call. */
static void
linear_forward_shared (const TemperBlockPass *p, const TemperBlockWeights *w, const TemperBlockActs *a,
                       int first, int count, const TemperBTensor *const *y, const TemperBTensor *x,
                       const TemperBTensor *const *bias)
{
  TemperBackend *b = p->backend;
  const TemperBTensor *weights[4], *biases[4];

  g_assert (count <= 4);
  if (p->train || b->ops->matmul_shared_input == NULL)
    {
      for (int j = 0; j < count; j++)
        linear_forward (p, w, a, first + j, y[j], x, bias[j]);
      return;
    }
  for (int j = 0; j < count; j++)
    {
      weights[j] = &w->w[first + j];
      biases[j] = bias_or_null (bias[j]);
    }
  b->ops->matmul_shared_input (b, count, y, x, weights, biases);
  for (int j = 0; j < count; j++)
    linear_forward_lora (p, w, a, first + j, y[j], x);
}

/* Only h = drop(x)·Aᵀ, what linear_backward () reads of the forward. */
static void
linear_forward_lora_input (const TemperBlockPass *p, const TemperBlockWeights *w,
                           const TemperBlockActs *a, int t, const TemperBTensor *x)
{
  TemperBackend *b = p->backend;

  if (p->lora_h_kept)
    return;
  if (w->lora_a[t].buffer != NULL && transposed_h (p))
    lora_hidden_transposed (p, w, a, t, 1, x);
  else if (w->lora_a[t].buffer != NULL)
    {
      TemperBTensor scratch, h = rows (&a->h[t], x->ne[1]);
      const TemperBTensor *xin = lora_input (p, t, x, p->train, &scratch);

      b->ops->gemm (b, &h, xin, FALSE, &w->lora_a[t], TRUE, 1.0f, 0.0f);
    }
}

/* dx += dy·W + the LoRA path; LoRA gradients += their share. */
static void
linear_backward (const TemperBlockPass *p, const TemperBlockWeights *w, const TemperBlockActs *a,
                 const TemperBlockGrads *g, int t, const TemperBTensor *dx, const TemperBTensor *dy,
                 const TemperBTensor *x)
{
  TemperBackend *b = p->backend;
  int64_t n = x->ne[1];

  if (transposed_h (p))
    {
      linear_backward_transposed (p, w, a, g, t, 1, dx, &dy, x);
      return;
    }
  b->ops->matmul_backward_input (b, dx, dy, &w->w[t]);
  if (w->lora_a[t].buffer != NULL)
    {
      TemperBTensor scratch, h = rows (&a->h[t], n), dh = rows (&g->d_h, n);
      const TemperBTensor *xin = lora_input (p, t, x, TRUE, &scratch);

      b->ops->gemm (b, &w->lora_gb[t], dy, TRUE, &h, FALSE, p->lora_scale, 1.0f);  /* dB += s·dyᵀ·h */
      b->ops->gemm (b, &dh, dy, FALSE, &w->lora_b[t], FALSE, p->lora_scale, 0.0f); /* dh = s·dy·B */
      b->ops->gemm (b, &w->lora_ga[t], &dh, TRUE, xin, FALSE, 1.0f, 1.0f);         /* dA += dhᵀ·x */
      if (p->dropout > 0.0f)
        {
          /* dx += (dh·A) ⊙ mask/(1−p), formed in the dropout scratch. */
          b->ops->gemm (b, &scratch, &dh, FALSE, &w->lora_a[t], FALSE, 1.0f, 0.0f);
          b->ops->dropout (b, &scratch, &scratch, p->dropout, drop_key (p, t, &scratch));
          b->ops->add (b, dx, dx, &scratch);
        }
      else
        b->ops->gemm (b, dx, &dh, FALSE, &w->lora_a[t], FALSE, 1.0f, 1.0f);     /* dx += dh·A */
    }
}

static TemperAttentionParams
attention_params (const TemperBlockPass *p)
{
  TemperAttentionParams ap = { 0 };

  ap.n_seq = p->n_seq;
  ap.n_query = p->n_query;
  ap.n_key = p->pos + p->n_query;
  ap.q_offset = p->pos;
  temper_block_attention_params (p->c, p->layer, &ap);
  return ap;
}

/* y = RMSNorm(x) with @w per head ({head_dim} rows), keeping rstd where
 * the caller has room for it. */
static void
head_norm (const TemperBlockPass *p, const TemperBTensor *y, const TemperBTensor *rstd_all,
           const TemperBTensor *x, const TemperBTensor *w)
{
  TemperBTensor yh = temper_block_heads (y, p->c->head_dim), xh = temper_block_heads (x, p->c->head_dim);
  TemperBTensor room;

  p->backend->ops->rmsnorm (p->backend, &yh, kept_vector (rstd_all, xh.ne[1], &room), &xh, w,
                            p->c->rms_eps);
}

static void
head_norm_backward (const TemperBlockPass *p, const TemperBTensor *dx, const TemperBTensor *dy,
                    const TemperBTensor *rstd_all, const TemperBTensor *x, const TemperBTensor *w)
{
  TemperBTensor dxh = temper_block_heads (dx, p->c->head_dim), dyh = temper_block_heads (dy, p->c->head_dim);
  TemperBTensor xh = temper_block_heads (x, p->c->head_dim);
  TemperBTensor rstd = temper_btensor (rstd_all->buffer, rstd_all->offset, TEMPER_TYPE_F32, xh.ne[1], 1);

  p->backend->ops->rmsnorm_backward (p->backend, &dxh, &dyh, &xh, w, &rstd);
}

/* y = RMSNorm(x) with @w over whole rows, keeping rstd where there is room. */
static void
row_norm (const TemperBlockPass *p, const TemperBTensor *y, const TemperBTensor *rstd_all,
          const TemperBTensor *x, const TemperBTensor *w)
{
  TemperBTensor room;

  p->backend->ops->rmsnorm (p->backend, y, kept_vector (rstd_all, x->ne[1], &room), x, w, p->c->rms_eps);
}

static void
row_norm_backward (const TemperBlockPass *p, const TemperBTensor *dx, const TemperBTensor *dy,
                   const TemperBTensor *rstd_all, const TemperBTensor *x, const TemperBTensor *w)
{
  TemperBTensor rstd = temper_btensor (rstd_all->buffer, rstd_all->offset, TEMPER_TYPE_F32, x->ne[1], 1);

  p->backend->ops->rmsnorm_backward (p->backend, dx, dy, x, w, &rstd);
}

/* x2 = x + [post norm] o(attention(…)). */
static void
block_attention (const TemperBlockPass *p, const TemperBlockWeights *w, const TemperBlockActs *a)
{
  TemperBackend *b = p->backend;
  const TemperModelConfig *c = p->c;
  int64_t n = n_rows (p);
  TemperBTensor x = rows (&a->x, n), xn1 = rows (&a->xn1, n);
  TemperBTensor q = rows (&a->q, n), k = rows (&a->k, n), v = rows (&a->v, n);
  TemperBTensor att = rows (&a->att, n), lse = rows (&a->lse, n), o = rows (&a->o, n), x2 = rows (&a->x2, n);
  TemperAttentionParams ap = attention_params (p);

  row_norm (p, &xn1, &a->rstd1, &x, &w->attn_norm);
  lora_group_forward (p, w, a, TEMPER_LORA_Q, &xn1);
  {
    /* Q, K and V read the same xn1: together where the backend takes them
     * so; under Q/K norms they are formed before their norms, so q and k
     * before them need rooms of their own. */
    TemperBTensor q_raw = c->qk_norm ? rows (&a->q_raw, n) : q, k_raw = c->qk_norm ? rows (&a->k_raw, n) : k;
    const TemperBTensor *ys[] = { &q_raw, &k_raw, &v }, *biases[] = { &w->bq, &w->bk, &w->bv };

    linear_forward_shared (p, w, a, TEMPER_LORA_Q, 3, ys, &xn1, biases);
    if (c->qk_norm)
      {
        head_norm (p, &q, &a->rstd_q, &q_raw, &w->q_norm);
        head_norm (p, &k, &a->rstd_k, &k_raw, &w->k_norm);
      }
  }
  temper_block_rope (b, p->rope, c, p->layer, &q, c->n_head, p->n_query, p->pos, FALSE);
  temper_block_rope (b, p->rope, c, p->layer, &k, c->n_head_kv, p->n_query, p->pos, FALSE);
  b->ops->attention (b, &att, a->lse.buffer != NULL ? &lse : NULL, &q, &a->k_all, &a->v_all, &ap);
  if (c->post_norms)
    {
      TemperBTensor o_raw = rows (&a->o_raw, n);

      linear_forward (p, w, a, TEMPER_LORA_O, &o_raw, &att, NULL);
      row_norm (p, &o, &a->rstd_o, &o_raw, &w->attn_post_norm);
    }
  else
    linear_forward (p, w, a, TEMPER_LORA_O, &o, &att, NULL);
  b->ops->add (b, &x2, &x, &o);
}

/* out = x2 + [post norm] down(act(gate(n2(x2)), up(n2(x2)))): the MLP step,
 * one call so another kind of feed-forward can take its place. */
static void
block_feed_forward (const TemperBlockPass *p, const TemperBlockWeights *w, const TemperBlockActs *a)
{
  TemperBackend *b = p->backend;
  const TemperModelConfig *c = p->c;
  int64_t n = n_rows (p);
  TemperBTensor x2 = rows (&a->x2, n), xn2 = rows (&a->xn2, n), out = rows (&a->out, n);
  TemperBTensor gate = rows (&a->gate, n), up = rows (&a->up, n), act = rows (&a->act, n);
  TemperBTensor f = rows (&a->f, n);

  row_norm (p, &xn2, &a->rstd2, &x2, &w->ffn_norm);
  if (temper_moe_layer_active (&w->moe))
    {
      /* A mixture of experts (frozen, no LoRA) in place of gate, up and
       * down; the families that have one have no post norms. */
      temper_moe_forward (b, &w->moe, &f, &xn2);
      b->ops->add (b, &out, &x2, &f);
      return;
    }
  lora_group_forward (p, w, a, TEMPER_LORA_GATE, &xn2);
  {
    const TemperBTensor *ys[] = { &gate, &up }, *biases[] = { NULL, NULL };

    linear_forward_shared (p, w, a, TEMPER_LORA_GATE, 2, ys, &xn2, biases);
  }
  temper_block_mlp (b, c, &act, &gate, &up);
  if (p->recompute && !c->post_norms)
    {
      /* The backward reads act and the down projection's h, not its
       * output: the layer's output is already where it was formed. */
      linear_forward_lora_input (p, w, a, TEMPER_LORA_DOWN, &act);
      return;
    }
  if (c->post_norms)
    {
      TemperBTensor f_raw = rows (&a->f_raw, n);

      linear_forward (p, w, a, TEMPER_LORA_DOWN, &f_raw, &act, NULL);
      row_norm (p, &f, &a->rstd_f, &f_raw, &w->ffn_post_norm);
    }
  else
    linear_forward (p, w, a, TEMPER_LORA_DOWN, &f, &act, NULL);
  b->ops->add (b, &out, &x2, &f);
}

void
temper_block_forward (const TemperBlockPass *p, const TemperBlockWeights *w, const TemperBlockActs *a)
{
  block_attention (p, w, a);
  block_feed_forward (p, w, a);
}

/* On entry g->d_resid holds ∂L/∂out; on exit ∂L/∂x2. */
static void
block_feed_forward_backward (const TemperBlockPass *p, const TemperBlockWeights *w,
                             const TemperBlockActs *a, const TemperBlockGrads *g)
{
  TemperBackend *b = p->backend;
  const TemperModelConfig *c = p->c;
  int64_t n = n_rows (p);
  TemperBTensor d_resid = rows (&g->d_resid, n), d_xn = rows (&g->d_xn, n);
  TemperBTensor d_gate = rows (&g->d_gate, n), d_up = rows (&g->d_up, n), d_act = rows (&g->d_act, n);
  TemperBTensor x2 = rows (&a->x2, n), xn2 = rows (&a->xn2, n);
  TemperBTensor gate = rows (&a->gate, n), up = rows (&a->up, n), act = rows (&a->act, n);
  /* The gradient the down projection receives: the residual's, or, under a
   * post norm, that through the norm (formed in d_xn, which is free until
   * the sublayer's input gradient). */
  const TemperBTensor *d_out = &d_resid;

  if (temper_moe_layer_active (&w->moe))
    {
      /* The experts and the router are frozen: only their input gradient
       * (no post norm: see block_feed_forward). */
      b->ops->zero (b, &d_xn);
      temper_moe_backward (b, &w->moe, &d_xn, &d_resid, &xn2);
      row_norm_backward (p, &d_resid, &d_xn, &a->rstd2, &x2, &w->ffn_norm);
      return;
    }
  if (c->post_norms)
    {
      TemperBTensor f_raw = rows (&a->f_raw, n);

      b->ops->zero (b, &d_xn);
      row_norm_backward (p, &d_xn, &d_resid, &a->rstd_f, &f_raw, &w->ffn_post_norm);
      d_out = &d_xn;
    }
  {
    const TemperBTensor *grads[] = { &d_gate, &d_up, &d_act };

    zero_all (p, grads, 3);
  }
  linear_backward (p, w, a, g, TEMPER_LORA_DOWN, &d_act, d_out, &act);
  temper_block_mlp_backward (b, c, &d_gate, &d_up, &d_act, &gate, &up);
  b->ops->zero (b, &d_xn);
  if (transposed_h (p))
    {
      const TemperBTensor *dys[] = { &d_gate, &d_up };

      linear_backward_transposed (p, w, a, g, TEMPER_LORA_GATE, 2, &d_xn, dys, &xn2);
    }
  else
    {
      linear_backward (p, w, a, g, TEMPER_LORA_GATE, &d_xn, &d_gate, &xn2);
      linear_backward (p, w, a, g, TEMPER_LORA_UP, &d_xn, &d_up, &xn2);
    }
  row_norm_backward (p, &d_resid, &d_xn, &a->rstd2, &x2, &w->ffn_norm);
}

/* On entry g->d_resid holds ∂L/∂x2; on exit ∂L/∂x. */
static void
block_attention_backward (const TemperBlockPass *p, const TemperBlockWeights *w,
                          const TemperBlockActs *a, const TemperBlockGrads *g)
{
  TemperBackend *b = p->backend;
  const TemperModelConfig *c = p->c;
  int64_t n = n_rows (p);
  TemperBTensor d_resid = rows (&g->d_resid, n), d_xn = rows (&g->d_xn, n);
  TemperBTensor d_q = rows (&g->d_q, n), d_k = rows (&g->d_k, n), d_v = rows (&g->d_v, n);
  TemperBTensor d_att = rows (&g->d_att, n);
  TemperBTensor x = rows (&a->x, n), xn1 = rows (&a->xn1, n);
  TemperBTensor q = rows (&a->q, n), k = rows (&a->k, n), v = rows (&a->v, n);
  TemperBTensor att = rows (&a->att, n), lse = rows (&a->lse, n);
  TemperAttentionParams ap = attention_params (p);
  const TemperBTensor *d_out = &d_resid;
  TemperBTensor d_kraw = c->qk_norm ? rows (&g->d_kraw, n) : temper_block_null_tensor ();
  /* The gradients reaching Q, K and V's outputs (before their norms). */
  const TemperBTensor *dys[] = { &d_q, &d_k, &d_v };

  if (c->post_norms)
    {
      TemperBTensor o_raw = rows (&a->o_raw, n);

      b->ops->zero (b, &d_xn);
      row_norm_backward (p, &d_xn, &d_resid, &a->rstd_o, &o_raw, &w->attn_post_norm);
      d_out = &d_xn;
    }
  {
    const TemperBTensor *grads[] = { &d_q, &d_k, &d_v, &d_att };

    zero_all (p, grads, 4);
  }
  linear_backward (p, w, a, g, TEMPER_LORA_O, &d_att, d_out, &att);
  b->ops->attention_backward (b, &d_q, &d_k, &d_v, &d_att, &att, &lse, &q, &k, &v, &ap);
  temper_block_rope (b, p->rope, c, p->layer, &d_q, c->n_head, p->n_query, p->pos, TRUE);
  temper_block_rope (b, p->rope, c, p->layer, &d_k, c->n_head_kv, p->n_query, p->pos, TRUE);
  b->ops->zero (b, &d_xn);
  if (c->qk_norm)
    {
      /* d_att is free again: it takes q's gradient before its norm. */
      TemperBTensor q_raw = rows (&a->q_raw, n), k_raw = rows (&a->k_raw, n);

      b->ops->zero (b, &d_att);
      b->ops->zero (b, &d_kraw);
      head_norm_backward (p, &d_att, &d_q, &a->rstd_q, &q_raw, &w->q_norm);
      head_norm_backward (p, &d_kraw, &d_k, &a->rstd_k, &k_raw, &w->k_norm);
      dys[0] = &d_att;
      dys[1] = &d_kraw;
    }
  if (transposed_h (p))
    linear_backward_transposed (p, w, a, g, TEMPER_LORA_Q, 3, &d_xn, dys, &xn1);
  else
    for (int t = TEMPER_LORA_Q; t <= TEMPER_LORA_V; t++)
      linear_backward (p, w, a, g, t, &d_xn, dys[t - TEMPER_LORA_Q], &xn1);
  row_norm_backward (p, &d_resid, &d_xn, &a->rstd1, &x, &w->attn_norm);
}

void
temper_block_backward (const TemperBlockPass *p, const TemperBlockWeights *w, const TemperBlockActs *a,
                       const TemperBlockGrads *g)
{
  block_feed_forward_backward (p, w, a, g);
  block_attention_backward (p, w, a, g);
}
