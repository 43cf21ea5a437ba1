/* SPDX-License-Identifier: MIT */
/* The mixture-of-experts feed-forward (Qwen3-MoE, Mixtral) on Vulkan, held
 * to engine/cpu/temper-cpu-moe.c.  Nothing comes back to the host: the
 * router's logits (matmul.comp), the routing and each expert's list of the
 * tokens that chose it (moe-route.comp) stay in a scratch buffer, and each
 * expert's products (moe-matmul.comp, the weight in its stored type) read
 * their rows and length from there, sized for every token and returning at
 * once past the list's end.  Per expert: gate and up over its gathered rows,
 * then down of silu(gate) ⊙ up added into each token's row, weighted.
 *
 * The backward recomputes the routing and the experts' gate and up from x
 * (every weight is frozen), takes dout · down per gathered row, lets
 * moe-expert-grad.comp turn that into the gradients of gate and up (and g,
 * the gradient of each routing weight), adds their products by gate and up
 * into dx, and last the router's path: dz from g (moe-route.comp's
 * ROUTER_BACKWARD), dx += dz · router. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "temper/error.h"
#include "temper-vk-backend-private.h"

#define ROUTE_LOCAL 64u
#define UNWEIGHTED 0xFFFFFFFFu

/* Word offsets of the scratch buffer's regions (see moe-route.comp). */
typedef struct {
  guint32 probs, chosen, weight, chosen_sum, counts, lists, g, dz;
  guint32 gate, up, da;
  guint64 words;
} MoeLayout;

/* moe-route.comp */
typedef struct {
  guint32 T, n_expert, n_used, norm;
  guint32 probs, chosen, weight, chosen_sum, counts, lists, g, dz;
} RoutePush;

/* moe-matmul.comp */
typedef struct {
  guint32 N, K, list, count, n_used;
  guint32 a_mode, a_offset, a2_offset;
  guint32 b_offset, b_row_bytes, b_trans;
  guint32 c_mode, c_offset, weight;
} ExpertMatmulPush;

/* moe-expert-grad.comp */
typedef struct {
  guint32 T, F, list, count, weight, g, gate, up, da;
} ExpertGradPush;

enum { A_TOKEN_ROWS, A_GATHERED, A_ACTIVATION };
enum { C_GATHERED, C_ADD_TO_TOKEN };

typedef struct {
  TemperVkBackend *vk;
  const TemperMoe *moe;
  guint32          T;
  MoeLayout        at;
  TemperBuffer    *scratch;
} MoeRun;

static void
lay_out (MoeLayout *l, guint64 T, const TemperMoe *moe)
{
  guint64 n = (guint64) moe->n_expert, k = (guint64) moe->n_used, F = (guint64) moe->n_ff;
  guint64 at = 0;

#define REGION(field, words) (l->field = (guint32) at, at += (words))
  REGION (probs, n * T);
  REGION (chosen, k * T);
  REGION (weight, k * T);
  REGION (chosen_sum, T);
  REGION (counts, n);
  REGION (lists, n * T);
  REGION (g, k * T);
  REGION (dz, n * T);
  REGION (gate, F * T);
  REGION (up, F * T);
  REGION (da, F * T);
#undef REGION
  l->words = at;
}

void
temper_vk_moe_free (TemperVkBackend *vk)
{
  if (vk->moe_scratch != NULL)
    vk->parent.ops->buffer_free (&vk->parent, g_steal_pointer (&vk->moe_scratch));
  if (vk->moe_retired != NULL)
    {
      for (guint i = 0; i < vk->moe_retired->len; i++)
        vk->parent.ops->buffer_free (&vk->parent, g_ptr_array_index (vk->moe_retired, i));
      g_clear_pointer (&vk->moe_retired, g_ptr_array_unref);
    }
}

/* The scratch buffer, at least @words long.  One that is too small is kept
 * until no recorded step can read it (the next call outside a step). */
static TemperBuffer *
scratch (TemperVkBackend *vk, guint64 words)
{
  guint64 bytes = words * 4;
  GError *error = NULL;
  TemperBuffer *buffer;

  if (!vk->recording && vk->moe_retired != NULL)
    {
      for (guint i = 0; i < vk->moe_retired->len; i++)
        vk->parent.ops->buffer_free (&vk->parent, g_ptr_array_index (vk->moe_retired, i));
      g_ptr_array_set_size (vk->moe_retired, 0);
    }
  if (vk->moe_scratch != NULL && vk->moe_scratch->size >= bytes)
    return vk->moe_scratch;
  if (bytes > G_MAXUINT32)
    {
      temper_vk_backend_fail (vk, g_error_new (TEMPER_ERROR, TEMPER_ERROR_UNSUPPORTED,
                                               _("The mixture of experts needs more than 4 GiB of "
                                                 "working memory for this many tokens; use shorter "
                                                 "texts or a smaller batch.")));
      return NULL;
    }
  buffer = vk->parent.ops->buffer_alloc (&vk->parent, bytes, TEMPER_BUFFER_ACTIVATIONS, &error);
  if (buffer == NULL)
    {
      temper_vk_backend_fail (vk, error);
      return NULL;
    }
  if (vk->moe_scratch != NULL)
    {
      if (vk->moe_retired == NULL)
        vk->moe_retired = g_ptr_array_new ();
      g_ptr_array_add (vk->moe_retired, vk->moe_scratch);
    }
  vk->moe_scratch = buffer;
  return buffer;
}

static TemperVkShaderId
expert_shader (int type)
{
  switch (type)
    {
    case TEMPER_TYPE_F32: return TEMPER_VK_SHADER_MOE_MATMUL_F32;
    case TEMPER_TYPE_F16: return TEMPER_VK_SHADER_MOE_MATMUL_F16;
    case TEMPER_TYPE_BF16: return TEMPER_VK_SHADER_MOE_MATMUL_BF16;
    case TEMPER_TYPE_Q4_0: return TEMPER_VK_SHADER_MOE_MATMUL_Q4_0;
    case TEMPER_TYPE_Q4_1: return TEMPER_VK_SHADER_MOE_MATMUL_Q4_1;
    case TEMPER_TYPE_Q5_0: return TEMPER_VK_SHADER_MOE_MATMUL_Q5_0;
    case TEMPER_TYPE_Q5_1: return TEMPER_VK_SHADER_MOE_MATMUL_Q5_1;
    case TEMPER_TYPE_Q8_0: return TEMPER_VK_SHADER_MOE_MATMUL_Q8_0;
    case TEMPER_TYPE_Q4_K: return TEMPER_VK_SHADER_MOE_MATMUL_Q4_K;
    case TEMPER_TYPE_Q5_K: return TEMPER_VK_SHADER_MOE_MATMUL_Q5_K;
    case TEMPER_TYPE_Q6_K: return TEMPER_VK_SHADER_MOE_MATMUL_Q6_K;
    case TEMPER_TYPE_NF4: return TEMPER_VK_SHADER_MOE_MATMUL_NF4;
    case TEMPER_TYPE_Q2_K: return TEMPER_VK_SHADER_MOE_MATMUL_Q2_K;
    case TEMPER_TYPE_Q3_K: return TEMPER_VK_SHADER_MOE_MATMUL_Q3_K;
    case TEMPER_TYPE_IQ4_NL: return TEMPER_VK_SHADER_MOE_MATMUL_IQ4_NL;
    case TEMPER_TYPE_IQ4_XS: return TEMPER_VK_SHADER_MOE_MATMUL_IQ4_XS;
    case TEMPER_TYPE_TQ2_0: return TEMPER_VK_SHADER_MOE_MATMUL_TQ2_0;
    default: g_return_val_if_reached (TEMPER_VK_SHADER_MOE_MATMUL_F32);
    }
}

static void
route_dispatch (MoeRun *r, TemperVkShaderId shader, guint32 invocations)
{
  RoutePush push = {
    .T = r->T, .n_expert = (guint32) r->moe->n_expert, .n_used = (guint32) r->moe->n_used,
    .norm = r->moe->norm != FALSE,
    .probs = r->at.probs, .chosen = r->at.chosen, .weight = r->at.weight,
    .chosen_sum = r->at.chosen_sum, .counts = r->at.counts, .lists = r->at.lists,
    .g = r->at.g, .dz = r->at.dz,
  };
  temper_vk_buffer_t *buffers[] = { r->scratch->priv };

  temper_vk_backend_dispatch (r->vk, shader, buffers, 1, &push, sizeof push,
                              (invocations + ROUTE_LOCAL - 1) / ROUTE_LOCAL, 1);
}

/* Router logits, their softmax and the chosen experts, then each expert's
 * list of places.  FALSE when the scratch buffer could not be had (the step
 * then fails with that error). */
static gboolean
route (MoeRun *r, TemperVkBackend *vk, const TemperMoe *moe, const TemperBTensor *x)
{
  TemperBTensor logits;

  r->vk = vk;
  r->moe = moe;
  r->T = (guint32) x->ne[1];
  lay_out (&r->at, x->ne[1], moe);
  r->scratch = scratch (vk, r->at.words);
  if (r->scratch == NULL)
    return FALSE;
  logits = temper_btensor (r->scratch, (size_t) r->at.probs * 4, TEMPER_TYPE_F32, moe->n_expert, x->ne[1]);
  temper_vk_op_matmul_fp32 (&vk->parent, &logits, x, &moe->router);
  route_dispatch (r, TEMPER_VK_SHADER_MOE_ROUTE, r->T);
  route_dispatch (r, TEMPER_VK_SHADER_MOE_LISTS, (guint32) moe->n_expert);
  return TRUE;
}

/* One product of expert @e by @w over its rows: @a in @a_mode (offsets in
 * elements of @a's buffer), into @c in @c_mode; @n_out outputs, @n_in inputs. */
static void
expert_product (MoeRun *r, int e, const TemperBTensor *w, gboolean transposed,
                guint32 n_out, guint32 n_in,
                guint32 a_mode, temper_vk_buffer_t *a, guint32 a_offset, guint32 a2_offset,
                guint32 c_mode, temper_vk_buffer_t *c, guint32 c_offset, gboolean weighted)
{
  ExpertMatmulPush push = {
    .N = n_out, .K = n_in,
    .list = r->at.lists + (guint32) e * r->T, .count = r->at.counts + (guint32) e,
    .n_used = (guint32) r->moe->n_used,
    .a_mode = a_mode, .a_offset = a_offset, .a2_offset = a2_offset,
    .b_offset = (guint32) w->offset,
    .b_row_bytes = (guint32) temper_type_row_bytes (w->type, w->ne[0]),
    .b_trans = transposed != FALSE,
    .c_mode = c_mode, .c_offset = c_offset,
    .weight = weighted ? r->at.weight : UNWEIGHTED,
  };
  temper_vk_buffer_t *buffers[] = { a, temper_vk_tensor_buffer (w), c, r->scratch->priv };

  /* Weights are read as 32-bit words (see record_matmul). */
  g_return_if_fail (w->offset % 4 == 0);
  temper_vk_backend_dispatch (r->vk, expert_shader (w->type), buffers, 4, &push, sizeof push,
                              (n_out + 63) / 64, (r->T + 63) / 64);
}

/* gate·x and up·x of expert @e's rows, into the gate and up regions. */
static void
expert_gate_up (MoeRun *r, int e, const TemperBTensor *x)
{
  guint32 E = (guint32) x->ne[0], F = (guint32) r->moe->n_ff;
  temper_vk_buffer_t *s = r->scratch->priv;

  expert_product (r, e, &r->moe->gate[e], FALSE, F, E, A_TOKEN_ROWS, temper_vk_tensor_buffer (x),
                  temper_vk_tensor_index (x), 0, C_GATHERED, s, r->at.gate, FALSE);
  expert_product (r, e, &r->moe->up[e], FALSE, F, E, A_TOKEN_ROWS, temper_vk_tensor_buffer (x),
                  temper_vk_tensor_index (x), 0, C_GATHERED, s, r->at.up, FALSE);
}

static gboolean
shapes_ok (const TemperBTensor *x, const TemperMoe *moe)
{
  g_return_val_if_fail (moe->n_used > 0 && moe->n_used <= moe->n_expert, FALSE);
  g_return_val_if_fail (moe->router.ne[0] == x->ne[0] && moe->router.ne[1] == moe->n_expert, FALSE);
  for (int e = 0; e < moe->n_expert; e++)
    g_return_val_if_fail (moe->gate[e].ne[0] == x->ne[0] && moe->gate[e].ne[1] == moe->n_ff
                          && moe->up[e].ne[0] == x->ne[0] && moe->up[e].ne[1] == moe->n_ff
                          && moe->down[e].ne[0] == moe->n_ff && moe->down[e].ne[1] == x->ne[0],
                          FALSE);
  return TRUE;
}

void
temper_vk_op_moe (TemperBackend *b, const TemperBTensor *out, const TemperBTensor *x,
                  const TemperMoe *moe)
{
  TemperVkBackend *vk = (TemperVkBackend *) b;
  guint32 E = (guint32) x->ne[0], F = (guint32) moe->n_ff;
  MoeRun r;

  g_return_if_fail (out->ne[0] == x->ne[0] && out->ne[1] == x->ne[1]);
  if (!shapes_ok (x, moe) || !route (&r, vk, moe, x))
    return;
  temper_vk_op_zero (b, out);
  for (int e = 0; e < moe->n_expert; e++)
    {
      expert_gate_up (&r, e, x);
      expert_product (&r, e, &moe->down[e], FALSE, E, F, A_ACTIVATION, r.scratch->priv, r.at.gate, r.at.up,
                      C_ADD_TO_TOKEN, temper_vk_tensor_buffer (out), temper_vk_tensor_index (out), TRUE);
    }
}

void
temper_vk_op_moe_backward (TemperBackend *b, const TemperBTensor *dx, const TemperBTensor *dout,
                           const TemperBTensor *x, const TemperMoe *moe)
{
  TemperVkBackend *vk = (TemperVkBackend *) b;
  guint32 E = (guint32) x->ne[0], F = (guint32) moe->n_ff;
  TemperBTensor dz;
  MoeRun r;

  g_return_if_fail (dx->ne[0] == x->ne[0] && dx->ne[1] == x->ne[1]);
  g_return_if_fail (dout->ne[0] == x->ne[0] && dout->ne[1] == x->ne[1]);
  if (!shapes_ok (x, moe) || !route (&r, vk, moe, x))
    return;
  for (int e = 0; e < moe->n_expert; e++)
    {
      ExpertGradPush push = {
        .T = r.T, .F = F, .list = r.at.lists + (guint32) e * r.T, .count = r.at.counts + (guint32) e,
        .weight = r.at.weight, .g = r.at.g, .gate = r.at.gate, .up = r.at.up, .da = r.at.da,
      };
      temper_vk_buffer_t *s = r.scratch->priv;
      guint32 gx, gy;

      expert_gate_up (&r, e, x);
      /* da = dout · down over the expert's rows (down read transposed). */
      expert_product (&r, e, &moe->down[e], TRUE, F, E, A_TOKEN_ROWS, temper_vk_tensor_buffer (dout),
                      temper_vk_tensor_index (dout), 0, C_GATHERED, s, r.at.da, FALSE);
      temper_vk_grid_2d (vk->device, r.T, &gx, &gy);
      temper_vk_backend_dispatch (vk, TEMPER_VK_SHADER_MOE_EXPERT_GRAD, &s, 1, &push, sizeof push, gx, gy);
      /* dx += dgate · gate + dup · up (both read transposed). */
      expert_product (&r, e, &moe->gate[e], TRUE, E, F, A_GATHERED, s, r.at.gate, 0,
                      C_ADD_TO_TOKEN, temper_vk_tensor_buffer (dx), temper_vk_tensor_index (dx), FALSE);
      expert_product (&r, e, &moe->up[e], TRUE, E, F, A_GATHERED, s, r.at.up, 0,
                      C_ADD_TO_TOKEN, temper_vk_tensor_buffer (dx), temper_vk_tensor_index (dx), FALSE);
    }
  route_dispatch (&r, TEMPER_VK_SHADER_MOE_ROUTER_BACKWARD, r.T);
  dz = temper_btensor (r.scratch, (size_t) r.at.dz * 4, TEMPER_TYPE_F32, moe->n_expert, x->ne[1]);
  temper_vk_op_matmul_backward_input_fp32 (b, dx, &dz, &moe->router);
}
