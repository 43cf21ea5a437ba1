/* SPDX-License-Identifier: MIT */
/* temper-model-gguf.c — loading a model from a GGUF file, with tensor and
 * key names as llama.cpp's convert_hf_to_gguf.py writes them, for every
 * family Temper runs.  The file's own layout is kept: a llama-arch file has
 * llama.cpp's interleaved Q/K rows (run with interleaved RoPE), Gemma's norm
 * weights already hold 1 + w, Phi-3's q/k/v and gate/up are fused matrices
 * whose rows are viewed in place. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <math.h>
#include <inttypes.h>
#include <string.h>

#include "temper/error.h"
#include "temper/input.h"
#include "temper/tokenizer.h"
#include "temper-model-private.h"

typedef struct {
  temper_model_t *model;
  const char     *what;    /* the file name for messages */
} GgufLoad;

static const struct {
  const char       *name;
  TemperArch        arch;
  TemperRopeLayout  layout;
} gguf_families[] = {
  { "llama",  TEMPER_ARCH_LLAMA,  TEMPER_ROPE_INTERLEAVED },
  { "qwen2",  TEMPER_ARCH_QWEN2,  TEMPER_ROPE_HALVES },
  { "qwen3",  TEMPER_ARCH_QWEN3,  TEMPER_ROPE_HALVES },
  { "qwen3moe", TEMPER_ARCH_QWEN3, TEMPER_ROPE_HALVES },
  { "gemma2", TEMPER_ARCH_GEMMA2, TEMPER_ROPE_HALVES },
  { "gemma3", TEMPER_ARCH_GEMMA3, TEMPER_ROPE_HALVES },
  { "phi3",   TEMPER_ARCH_PHI3,   TEMPER_ROPE_HALVES },
  { "glm4",   TEMPER_ARCH_GLM4,   TEMPER_ROPE_INTERLEAVED },
};

gboolean
temper_model_gguf_arch_known (const char *arch)
{
  for (gsize i = 0; i < G_N_ELEMENTS (gguf_families); i++)
    if (strcmp (arch, gguf_families[i].name) == 0)
      return TRUE;
  return FALSE;
}

/* Places a range error from temper_input_check_* in the file. */
static gboolean
bad_metadata (GgufLoad *l, GError **error)
{
  g_prefix_error (error, "“%s”: ", l->what);
  if (error != NULL && *error != NULL)
    (*error)->code = TEMPER_ERROR_INVALID_FILE;
  return FALSE;
}

/* The sizes every family has, each within what a real model holds, so a
 * damaged or hostile header sizes nothing by them. */
static gboolean
check_sizes (GgufLoad *l, GError **error)
{
  const TemperModelConfig *c = &l->model->config;
  const struct { const char *suffix; int value; int max; } sizes[] = {
    { "block_count", c->n_layer, TEMPER_MODEL_MAX_LAYERS },
    { "embedding_length", c->n_embd, TEMPER_MODEL_MAX_EMBD },
    { "feed_forward_length", c->n_ff, TEMPER_MODEL_MAX_FF },
    { "attention.head_count", c->n_head, TEMPER_MODEL_MAX_HEADS },
    { "attention.head_count_kv", c->n_head_kv, TEMPER_MODEL_MAX_HEADS },
    { "context_length", c->n_ctx_train, TEMPER_MODEL_MAX_CONTEXT },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (sizes); i++)
    {
      g_autofree char *key = g_strdup_printf ("%s.%s", l->model->arch_name, sizes[i].suffix);

      if (!temper_input_check_int (key, sizes[i].value, 1, sizes[i].max, error))
        return bad_metadata (l, error);
    }
  return TRUE;
}

static gboolean
gguf_u32 (GgufLoad *l, const char *suffix, gboolean required, guint32 fallback,
          int *out, GError **error)
{
  g_autofree char *key = g_strdup_printf ("%s.%s", l->model->arch_name, suffix);
  guint32 v;

  if (!temper_gguf_get_u32 (l->model->gguf, key, &v))
    {
      if (required || temper_gguf_has_key (l->model->gguf, key))
        {
          g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE,
                       temper_gguf_has_key (l->model->gguf, key)
                         ? _("“%s” has an invalid value for %s.") : _("“%s” is missing the setting %s."),
                       l->what, key);
          return FALSE;
        }
      v = fallback;
    }
  if (!temper_input_check_int (key, v, 0, G_MAXINT, error))
    return bad_metadata (l, error);
  *out = (int) v;
  return TRUE;
}

static float
gguf_f32 (GgufLoad *l, const char *suffix, float fallback)
{
  g_autofree char *key = g_strdup_printf ("%s.%s", l->model->arch_name, suffix);
  float v;

  return temper_gguf_get_f32 (l->model->gguf, key, &v) ? v : fallback;
}

static void
gguf_view (GgufLoad *l, const char *name, TemperTensorView *view)
{
  if (!temper_gguf_find_tensor (l->model->gguf, name, view))
    memset (view, 0, sizeof *view);
}

static gboolean
gguf_layer_tensor (GgufLoad *l, int layer, const char *suffix, TemperTensorView *view,
                   int64_t ne0, int64_t ne1, gboolean optional, gboolean norm, GError **error)
{
  g_autofree char *name = g_strdup_printf ("blk.%d.%s", layer, suffix);

  gguf_view (l, name, view);
  if (optional && view->data == NULL)
    return TRUE;
  return temper_model_check_tensor (view, name, ne0, ne1, norm, l->what, error);
}

/* A vector of @n floats stored as F32, copied out of the file. */
static float *
gguf_f32_vector (GgufLoad *l, const char *name, int n, GError **error)
{
  TemperTensorView view;

  gguf_view (l, name, &view);
  if (!temper_model_check_tensor (&view, name, n, 1, TRUE, l->what, error))
    return NULL;
  {
    float *values = g_new (float, n);
    temper_tensor_row_to_f32 (&view, 0, values);
    return values;
  }
}

/* YaRN as convert_hf_to_gguf.py writes it: the factor, the original
 * context, and beta_fast, beta_slow and the attention factor when
 * config.json gave them (llama.cpp's defaults, which are transformers',
 * otherwise). */
static gboolean
read_rope_yarn (GgufLoad *l, int n_pairs, int rope_dims, GError **error)
{
  TemperModelConfig *c = &l->model->config;
  float factor = gguf_f32 (l, "rope.scaling.factor", 0.0f);
  float beta_fast = gguf_f32 (l, "rope.scaling.yarn_beta_fast", 32.0f);
  float beta_slow = gguf_f32 (l, "rope.scaling.yarn_beta_slow", 1.0f);
  int original = 0;

  if (!gguf_u32 (l, "rope.scaling.original_context_length", FALSE, 0, &original, error))
    return FALSE;
  if (factor <= 0.0f || original <= 0 || beta_fast <= 0.0f || beta_slow <= 0.0f)
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE,
                   _("“%s” has impossible YaRN RoPE scaling settings."), l->what);
      return FALSE;
    }
  l->model->rope_factors = temper_model_yarn_rope_factors (n_pairs, rope_dims, c->rope_theta, factor, original,
                                                           beta_fast, beta_slow, TRUE);
  c->rope_freq_factors = TRUE;
  c->rope_mscale = gguf_f32 (l, "rope.scaling.yarn_attn_factor",
                             temper_model_yarn_attention_factor (factor, 0.0f, 0.0f));
  return TRUE;
}

/* RoPE: the rotated dimensions, llama3 frequency factors (rope_freqs), linear
 * scaling, YaRN, Phi-3's LongRoPE factors (short, and long past the original
 * context), Gemma 3's local base.  Other scalings are refused. */
static gboolean
read_rope (GgufLoad *l, GError **error)
{
  TemperModelConfig *c = &l->model->config;
  g_autofree char *type_key = g_strdup_printf ("%s.rope.scaling.type", l->model->arch_name);
  g_autofree char *type = temper_gguf_dup_string (l->model->gguf, type_key);
  int rope_dims = 0, n_pairs;

  if (!gguf_u32 (l, "rope.dimension_count", FALSE, (guint32) c->head_dim, &rope_dims, error))
    return FALSE;
  if (rope_dims <= 0 || rope_dims > c->head_dim || rope_dims % 2 != 0)
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_UNSUPPORTED,
                   _("“%s” rotates %d of %d dimensions per attention head; Temper needs an even number, at most all of them."),
                   l->what, rope_dims, c->head_dim);
      return FALSE;
    }
  c->rope_dims = rope_dims == c->head_dim ? 0 : rope_dims;
  n_pairs = rope_dims / 2;

  if (temper_gguf_find_tensor (l->model->gguf, "rope_freqs.weight", NULL))
    {
      l->model->rope_factors = gguf_f32_vector (l, "rope_freqs.weight", n_pairs, error);
      if (l->model->rope_factors == NULL)
        return FALSE;
      c->rope_freq_factors = TRUE;
    }
  else if (temper_gguf_find_tensor (l->model->gguf, "rope_factors_short.weight", NULL))
    {
      int original = 0;

      l->model->rope_factors = gguf_f32_vector (l, "rope_factors_short.weight", n_pairs, error);
      if (l->model->rope_factors == NULL
          || !gguf_u32 (l, "rope.scaling.original_context_length", FALSE, (guint32) c->n_ctx_train, &original, error))
        return FALSE;
      c->rope_freq_factors = TRUE;
      c->rope_mscale = gguf_f32 (l, "rope.scaling.attn_factor", 1.0f);
      /* llama.cpp runs the long factors for a whole run whose context is
       * longer than the original; Temper, like transformers, per forward
       * that reaches past it (see temper_block_rope()). */
      if (temper_gguf_find_tensor (l->model->gguf, "rope_factors_long.weight", NULL))
        {
          l->model->rope_long_factors = gguf_f32_vector (l, "rope_factors_long.weight", n_pairs, error);
          if (l->model->rope_long_factors == NULL)
            return FALSE;
          c->rope_long_after = original;
        }
      else
        c->n_ctx_train = MIN (c->n_ctx_train, original);
    }

  if (type != NULL && strcmp (type, "linear") == 0)
    {
      float factor = gguf_f32 (l, "rope.scaling.factor", 1.0f);

      if (factor > 0.0f)
        c->rope_freq_scale = 1.0f / factor;
    }
  else if (type != NULL && strcmp (type, "yarn") == 0 && !c->rope_freq_factors)
    {
      if (!read_rope_yarn (l, n_pairs, rope_dims, error))
        return FALSE;
    }
  else if (type != NULL && strcmp (type, "none") != 0
           && !(c->rope_freq_factors && (strcmp (type, "longrope") == 0 || strcmp (type, "su") == 0)))
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_UNSUPPORTED,
                   _("“%s” uses “%s” scaled rotary position embeddings, which Temper does not support yet. "
                   "Llama 3.1-style frequency factors, linear, YaRN and LongRoPE scaling are supported; choose a model that uses them or none."),
                   l->what, type);
      return FALSE;
    }
  return TRUE;
}

/* A mixture of experts: Mixtral (llama) and qwen3moe files say how many
 * experts there are and how many each token uses; the experts' width is
 * expert_feed_forward_length (qwen3moe) or feed_forward_length (Mixtral).
 * llama.cpp renormalises the chosen experts' weights in both. */
static gboolean
read_experts_settings (GgufLoad *l, GError **error)
{
  TemperModelConfig *c = &l->model->config;
  gboolean norm;
  g_autofree char *norm_key = g_strdup_printf ("%s.expert_weights_norm", l->model->arch_name);

  if (!gguf_u32 (l, "expert_count", FALSE, 0, &c->n_expert, error))
    return FALSE;
  if (c->n_expert == 0)
    {
      if (strcmp (l->model->arch_name, "qwen3moe") != 0)
        return TRUE;
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE,
                   _("“%s” is missing the setting %s."), l->what, "qwen3moe.expert_count");
      return FALSE;
    }
  if (!gguf_u32 (l, "expert_used_count", TRUE, 0, &c->n_expert_used, error)
      || !gguf_u32 (l, "expert_feed_forward_length", FALSE, (guint32) c->n_ff, &c->n_ff_expert, error))
    return FALSE;
  c->expert_norm = !temper_gguf_get_bool (l->model->gguf, norm_key, &norm) || norm;
  return temper_model_check_experts (c, l->what, error);
}

/* The family's settings beyond Llama's. */
static gboolean
read_family (GgufLoad *l, GError **error)
{
  TemperModelConfig *c = &l->model->config;
  int window = 0, period = 0;

  if (!read_experts_settings (l, error))
    return FALSE;
  switch (c->arch)
    {
    case TEMPER_ARCH_LLAMA:
      break;
    case TEMPER_ARCH_GEMMA2:
    case TEMPER_ARCH_GEMMA3:
      c->mlp = TEMPER_MLP_GEGLU;
      c->post_norms = TRUE;
      c->qk_norm = c->arch == TEMPER_ARCH_GEMMA3;
      c->embd_scale = sqrtf ((float) c->n_embd);
      c->attn_softcap = gguf_f32 (l, "attn_logit_softcapping", 0.0f);
      c->final_softcap = gguf_f32 (l, "final_logit_softcapping", 0.0f);
      if (c->arch == TEMPER_ARCH_GEMMA3)
        c->attn_softcap = 0.0f;
      /* llama.cpp's rule: the 27B models scale queries by the hidden size per head. */
      if ((c->arch == TEMPER_ARCH_GEMMA2 && c->n_layer == 46) || (c->arch == TEMPER_ARCH_GEMMA3 && c->n_layer == 62))
        c->attn_scale = 1.0f / sqrtf ((float) (c->n_embd / c->n_head));
      if (!gguf_u32 (l, "attention.sliding_window", FALSE, 0, &window, error)
          || !gguf_u32 (l, "attention.sliding_window_pattern", FALSE,
                        c->arch == TEMPER_ARCH_GEMMA3 ? 6 : 2, &period, error))
        return FALSE;
      c->sliding_window = window;
      c->swa_period = period;
      if (c->arch == TEMPER_ARCH_GEMMA3)
        c->rope_theta_local = gguf_f32 (l, "rope.freq_base_swa", 10000.0f);
      break;
    case TEMPER_ARCH_PHI3:
      if (!gguf_u32 (l, "attention.sliding_window", FALSE, 0, &window, error))
        return FALSE;
      c->sliding_window = window;
      break;
    case TEMPER_ARCH_GLM4:
      c->post_norms = TRUE;
      break;
    case TEMPER_ARCH_QWEN3:
      c->qk_norm = TRUE;
      break;
    case TEMPER_ARCH_QWEN2:
    case TEMPER_ARCH_MISTRAL:
    default:
      break;
    }
  return TRUE;
}

static gboolean
read_layer (GgufLoad *l, int i, GError **error)
{
  temper_model_t *m = l->model;
  TemperModelConfig *c = &m->config;
  TemperLayerWeights *w = &m->layers[i];
  gint64 q_out = (gint64) c->n_head * c->head_dim, kv_out = (gint64) c->n_head_kv * c->head_dim;
  gboolean needs_bias = c->arch == TEMPER_ARCH_QWEN2;
  TemperTensorView fused;

  if (!gguf_layer_tensor (l, i, "attn_norm.weight", &w->attn_norm, c->n_embd, 1, FALSE, TRUE, error))
    return FALSE;

  /* q, k and v: three matrices, or one fused matrix viewed as three. */
  if (!gguf_layer_tensor (l, i, "attn_qkv.weight", &fused, c->n_embd, q_out + 2 * kv_out, TRUE, FALSE, error))
    return FALSE;
  if (fused.data != NULL)
    {
      TemperTensorView fused_bias;

      temper_model_split_rows (&fused, 0, q_out, fused.name, &w->wq);
      temper_model_split_rows (&fused, q_out, kv_out, fused.name, &w->wk);
      temper_model_split_rows (&fused, q_out + kv_out, kv_out, fused.name, &w->wv);
      c->fused_qkv = TRUE;
      if (!gguf_layer_tensor (l, i, "attn_qkv.bias", &fused_bias, q_out + 2 * kv_out, 1, TRUE, TRUE, error))
        return FALSE;
      if (fused_bias.data != NULL)
        {
          /* A vector's elements are its "rows" of one value each here. */
          size_t elem = temper_type_row_bytes (fused_bias.type, 1);
          w->bq = w->bk = w->bv = fused_bias;
          w->bq.ne[0] = q_out;
          w->bk.ne[0] = w->bv.ne[0] = kv_out;
          w->bk.data = (const guint8 *) fused_bias.data + elem * (size_t) q_out;
          w->bv.data = (const guint8 *) fused_bias.data + elem * (size_t) (q_out + kv_out);
          w->bq.row_bytes = elem * (size_t) q_out;
          w->bk.row_bytes = w->bv.row_bytes = elem * (size_t) kv_out;
        }
    }
  else if (!gguf_layer_tensor (l, i, "attn_q.weight", &w->wq, c->n_embd, q_out, FALSE, FALSE, error)
           || !gguf_layer_tensor (l, i, "attn_k.weight", &w->wk, c->n_embd, kv_out, FALSE, FALSE, error)
           || !gguf_layer_tensor (l, i, "attn_v.weight", &w->wv, c->n_embd, kv_out, FALSE, FALSE, error))
    return FALSE;
  if (w->bq.data == NULL
      && (!gguf_layer_tensor (l, i, "attn_q.bias", &w->bq, q_out, 1, !needs_bias, TRUE, error)
          || !gguf_layer_tensor (l, i, "attn_k.bias", &w->bk, kv_out, 1, !needs_bias, TRUE, error)
          || !gguf_layer_tensor (l, i, "attn_v.bias", &w->bv, kv_out, 1, !needs_bias, TRUE, error)))
    return FALSE;
  if (!gguf_layer_tensor (l, i, "attn_q_norm.weight", &w->q_norm, c->head_dim, 1, !c->qk_norm, TRUE, error)
      || !gguf_layer_tensor (l, i, "attn_k_norm.weight", &w->k_norm, c->head_dim, 1, !c->qk_norm, TRUE, error)
      || !gguf_layer_tensor (l, i, "attn_output.weight", &w->wo, q_out, c->n_embd, FALSE, FALSE, error)
      || !gguf_layer_tensor (l, i, "post_attention_norm.weight", &w->attn_post_norm, c->n_embd, 1,
                             !c->post_norms, TRUE, error)
      || !gguf_layer_tensor (l, i, "ffn_norm.weight", &w->ffn_norm, c->n_embd, 1, FALSE, TRUE, error)
      || !gguf_layer_tensor (l, i, "post_ffw_norm.weight", &w->ffn_post_norm, c->n_embd, 1,
                             !c->post_norms, TRUE, error))
    return FALSE;
  /* A norm the family does not use stays unused even if the file has it. */
  if (!c->qk_norm)
    {
      memset (&w->q_norm, 0, sizeof w->q_norm);
      memset (&w->k_norm, 0, sizeof w->k_norm);
    }
  if (!c->post_norms)
    {
      memset (&w->attn_post_norm, 0, sizeof w->attn_post_norm);
      memset (&w->ffn_post_norm, 0, sizeof w->ffn_post_norm);
    }

  /* A mixture of experts in place of the dense feed-forward. */
  if (c->n_expert > 0)
    {
      g_autofree char *router = g_strdup_printf ("blk.%d.ffn_gate_inp.weight", i);

      if (temper_gguf_find_tensor (m->gguf, router, NULL) && !temper_model_read_experts (m, i, l->what, error))
        return FALSE;
    }
  if (!temper_model_layer_is_moe (w)
      && !gguf_layer_tensor (l, i, "ffn_down.weight", &w->w_down, c->n_ff, c->n_embd, FALSE, FALSE, error))
    return FALSE;
  /* gate and up: two matrices, or one {n_embd, 2·n_ff} ffn_up, gate first. */
  if (!temper_model_layer_is_moe (w))
    {
      g_autofree char *gate_name = g_strdup_printf ("blk.%d.ffn_gate.weight", i);
      gboolean has_gate = temper_gguf_find_tensor (m->gguf, gate_name, NULL);

      if (!has_gate)
        {
          if (!gguf_layer_tensor (l, i, "ffn_up.weight", &fused, c->n_embd, 2 * (gint64) c->n_ff, FALSE, FALSE, error))
            return FALSE;
          temper_model_split_rows (&fused, 0, c->n_ff, fused.name, &w->w_gate);
          temper_model_split_rows (&fused, c->n_ff, c->n_ff, fused.name, &w->w_up);
          c->fused_gate_up = TRUE;
        }
      else if (!gguf_layer_tensor (l, i, "ffn_gate.weight", &w->w_gate, c->n_embd, c->n_ff, FALSE, FALSE, error)
               || !gguf_layer_tensor (l, i, "ffn_up.weight", &w->w_up, c->n_embd, c->n_ff, FALSE, FALSE, error))
        return FALSE;
    }

  /* Biases come as a set or not at all. */
  if ((w->bq.data != NULL) != (w->bk.data != NULL) || (w->bq.data != NULL) != (w->bv.data != NULL)
      || (i > 0 && (w->bq.data != NULL) != c->qkv_bias))
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE,
                   _("“%s” has query/key/value biases in some places but not others (layer %d)."), l->what, i);
      return FALSE;
    }
  c->qkv_bias = w->bq.data != NULL;
  return TRUE;
}

gboolean
temper_model_load_gguf (temper_model_t *model, const char *path,
                        GCancellable *cancellable, GError **error)
{
  g_autofree char *what = g_path_get_basename (path);
  GgufLoad l = { model, what };
  TemperModelConfig *c = &model->config;
  gboolean known = FALSE;

  model->format = TEMPER_MODEL_FORMAT_GGUF;
  model->gguf = temper_gguf_open (path, error);
  if (model->gguf == NULL)
    return FALSE;
  model->file_size = temper_gguf_get_file_size (model->gguf);

  model->arch_name = temper_gguf_dup_string (model->gguf, "general.architecture");
  if (model->arch_name == NULL)
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE,
                   _("“%s” does not say which architecture it is (general.architecture is missing)."), what);
      return FALSE;
    }
  for (gsize i = 0; i < G_N_ELEMENTS (gguf_families); i++)
    if (strcmp (model->arch_name, gguf_families[i].name) == 0)
      {
        c->arch = gguf_families[i].arch;
        c->rope_layout = gguf_families[i].layout;
        known = TRUE;
      }
  if (!known)
    {
      temper_model_refuse_family (what, model->arch_name, error);
      return FALSE;
    }

  model->name = temper_gguf_dup_string (model->gguf, "general.name");

  if (!gguf_u32 (&l, "block_count", TRUE, 0, &c->n_layer, error)
      || !gguf_u32 (&l, "embedding_length", TRUE, 0, &c->n_embd, error)
      || !gguf_u32 (&l, "feed_forward_length", TRUE, 0, &c->n_ff, error)
      || !gguf_u32 (&l, "attention.head_count", TRUE, 0, &c->n_head, error)
      || !gguf_u32 (&l, "attention.head_count_kv", FALSE, (guint32) c->n_head, &c->n_head_kv, error)
      || !gguf_u32 (&l, "context_length", FALSE, 2048, &c->n_ctx_train, error)
      || !check_sizes (&l, error))
    return FALSE;
  if (c->n_head <= 0 || c->n_head_kv <= 0 || c->n_layer <= 0 || c->n_embd <= 0 || c->n_ff <= 0
      || c->n_head % c->n_head_kv != 0)
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE,
                   _("“%s” has inconsistent settings: %d layers, hidden size %d, %d attention heads, %d key/value heads."),
                   what, c->n_layer, c->n_embd, c->n_head, c->n_head_kv);
      return FALSE;
    }
  if (!gguf_u32 (&l, "attention.key_length", FALSE, (guint32) (c->n_embd / c->n_head), &c->head_dim, error))
    return FALSE;
  {
    g_autofree char *key = g_strdup_printf ("%s.attention.key_length", model->arch_name);

    if (!temper_input_check_int (key, c->head_dim, 1, TEMPER_MODEL_MAX_HEAD_DIM, error))
      return bad_metadata (&l, error);
  }
  if (c->head_dim <= 0 || c->head_dim % 2 != 0)
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_UNSUPPORTED,
                   _("“%s” has attention heads of %d dimensions; Temper needs an even number."),
                   what, c->head_dim);
      return FALSE;
    }
  c->rms_eps = gguf_f32 (&l, "attention.layer_norm_rms_epsilon", 1e-5f);
  c->rope_theta = gguf_f32 (&l, "rope.freq_base", 10000.0f);
  {
    g_autofree char *eps_key = g_strdup_printf ("%s.attention.layer_norm_rms_epsilon", model->arch_name);
    g_autofree char *base_key = g_strdup_printf ("%s.rope.freq_base", model->arch_name);

    if (!temper_input_check_double (eps_key, c->rms_eps, TEMPER_MODEL_MIN_EPS, TEMPER_MODEL_MAX_EPS, error)
        || !temper_input_check_double (base_key, c->rope_theta, TEMPER_MODEL_MIN_ROPE_BASE,
                                       TEMPER_MODEL_MAX_ROPE_BASE, error))
      return bad_metadata (&l, error);
  }
  if (!read_family (&l, error) || !read_rope (&l, error))
    return FALSE;

  /* The vocabulary size is the embedding's row count (it may be padded past
   * the tokenizer's list). */
  gguf_view (&l, "token_embd.weight", &model->token_embd);
  if (model->token_embd.data == NULL)
    return temper_model_check_tensor (&model->token_embd, "token_embd.weight", 0, 0, FALSE, what, error);
  if (!temper_input_check_int (_("The vocabulary size (rows of token_embd.weight)"), model->token_embd.ne[1],
                               1, TEMPER_MODEL_MAX_VOCAB, error))
    return bad_metadata (&l, error);
  c->n_vocab = (int) model->token_embd.ne[1];
  if (!temper_model_check_tensor (&model->token_embd, "token_embd.weight", c->n_embd, c->n_vocab, FALSE, what, error))
    return FALSE;
  gguf_view (&l, "output_norm.weight", &model->output_norm);
  if (!temper_model_check_tensor (&model->output_norm, "output_norm.weight", c->n_embd, 1, TRUE, what, error))
    return FALSE;
  gguf_view (&l, "output.weight", &model->output);
  c->tied_embeddings = model->output.data == NULL;
  if (c->tied_embeddings)
    model->output = model->token_embd;
  else if (!temper_model_check_tensor (&model->output, "output.weight", c->n_embd, c->n_vocab, FALSE, what, error))
    return FALSE;

  /* Every layer needs several tensors: a layer count past the tensor count
   * is a damaged header, refused before anything is sized by it. */
  if ((guint64) c->n_layer > temper_gguf_get_n_tensors (model->gguf))
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE,
                   _("“%s” claims %d layers but holds only %" PRIu64 " tensors."),
                   what, c->n_layer, temper_gguf_get_n_tensors (model->gguf));
      return FALSE;
    }
  model->layers = g_new0 (TemperLayerWeights, c->n_layer);
  for (int i = 0; i < c->n_layer; i++)
    if (!temper_model_check_cancelled (cancellable, error) || !read_layer (&l, i, error))
      return FALSE;

  model->tokenizer = temper_tokenizer_new_from_gguf (model->gguf, error);
  if (model->tokenizer == NULL)
    return FALSE;
  model->chat_template = temper_gguf_dup_string (model->gguf, "tokenizer.chat_template");
  {
    guint32 eot;
    if (temper_gguf_get_u32 (model->gguf, "tokenizer.ggml.eot_token_id", &eot) && eot <= G_MAXINT)
      {
        int id = (int) eot;
        g_array_append_val (model->extra_stops, id);
      }
  }
  return TRUE;
}
