/* SPDX-License-Identifier: MIT */
/* temper-model-hf.c — loading a Hugging Face model folder: config.json,
 * one or more safetensors files, generation_config.json and the tokenizer
 * files.  Weights stay in Hugging Face row order (split-halves RoPE). */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <math.h>
#include <string.h>

#include <json-glib/json-glib.h>

#include "temper/error.h"
#include "temper/input.h"
#include "temper/json.h"
#include "temper/tokenizer.h"
#include "temper-model-private.h"

typedef struct {
  temper_model_t *model;
  const char     *dir;
  char           *what;     /* folder name, for messages */
  JsonObject     *config;
  const char     *prefix;   /* before "layers.N.", "embed_tokens" and "norm" */
} HfLoad;

static JsonNode *
parse_json_file (const char *path, const char *what, GError **error)
{
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(GError) local = NULL;
  g_autofree char *name = g_path_get_basename (path);

  root = temper_json_parse_file (path, TEMPER_JSON_MAX_DOCUMENT_SIZE, &local);
  if (root == NULL)
    {
      g_set_error (error, TEMPER_ERROR,
                   local->domain == JSON_PARSER_ERROR ? TEMPER_ERROR_INVALID_FILE
                   : local->domain == TEMPER_ERROR ? (TemperErrorCode) local->code : TEMPER_ERROR_IO,
                   _("Could not read “%s” in “%s”: %s"), name, what, local->message);
      return NULL;
    }
  if (!JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE,
                   _("“%s” in “%s” is not a JSON object."), name, what);
      return NULL;
    }
  return g_steal_pointer (&root);
}

/* The member @key of @obj as a number node, or NULL when absent or null. */
static JsonNode *
number_member (JsonObject *obj, const char *key)
{
  JsonNode *node;

  if (obj == NULL || !json_object_has_member (obj, key))
    return NULL;
  node = json_object_get_member (obj, key);
  if (!JSON_NODE_HOLDS_VALUE (node))
    return NULL;
  if (json_node_get_value_type (node) != G_TYPE_INT64 && json_node_get_value_type (node) != G_TYPE_DOUBLE)
    return NULL;
  return node;
}

/* Places a range error from temper_input_check_* in config.json. */
static gboolean
bad_setting (HfLoad *l, GError **error)
{
  g_prefix_error (error, _("“config.json” in “%s”: "), l->what);
  if (error != NULL && *error != NULL)
    (*error)->code = TEMPER_ERROR_INVALID_FILE;
  return FALSE;
}

static gboolean
config_int (HfLoad *l, const char *key, gboolean required, int fallback, int max, int *out, GError **error)
{
  JsonNode *node = number_member (l->config, key);
  gint64 v;
  double d;

  if (node == NULL)
    {
      if (required)
        {
          g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE,
                       _("“config.json” in “%s” is missing the setting “%s”."), l->what, key);
          return FALSE;
        }
      *out = fallback;
      return TRUE;
    }
  if (json_node_get_value_type (node) == G_TYPE_INT64)
    v = json_node_get_int (node);
  else
    {
      /* A fraction, NaN or 1e300 is no count; checked before any cast. */
      d = json_node_get_double (node);
      if (!temper_input_check_double (key, d, 1, max, error) || d != (double) (gint64) d)
        {
          if (error != NULL && *error == NULL)
            g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE,
                         _("%s is %g, but it must be a whole number."), key, d);
          return bad_setting (l, error);
        }
      v = (gint64) d;
    }
  if (!temper_input_check_int (key, v, 1, max, error))
    return bad_setting (l, error);
  *out = (int) v;
  return TRUE;
}

/* A real-valued setting, checked against [@min, @max]. */
static gboolean
config_real (HfLoad *l, JsonObject *obj, const char *key, double fallback, double min, double max,
             float *out, GError **error)
{
  JsonNode *node = number_member (obj, key);
  double v = node == NULL ? fallback
             : json_node_get_value_type (node) == G_TYPE_INT64 ? (double) json_node_get_int (node)
             : json_node_get_double (node);

  if (!temper_input_check_double (key, v, min, max, error))
    return bad_setting (l, error);
  *out = (float) v;
  return TRUE;
}

static double
config_double (JsonObject *obj, const char *key, double fallback)
{
  JsonNode *node = number_member (obj, key);

  if (node == NULL)
    return fallback;
  return json_node_get_value_type (node) == G_TYPE_INT64 ? (double) json_node_get_int (node)
                                                          : json_node_get_double (node);
}

static gboolean
config_bool (JsonObject *obj, const char *key, gboolean fallback)
{
  JsonNode *node;

  if (obj == NULL || !json_object_has_member (obj, key))
    return fallback;
  node = json_object_get_member (obj, key);
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_BOOLEAN)
    return fallback;
  return json_node_get_boolean (node);
}

static const char *
config_string (JsonObject *obj, const char *key)
{
  JsonNode *node;

  if (obj == NULL || !json_object_has_member (obj, key))
    return NULL;
  node = json_object_get_member (obj, key);
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

static JsonObject *
config_object (JsonObject *obj, const char *key)
{
  if (obj == NULL || !json_object_has_member (obj, key)
      || !JSON_NODE_HOLDS_OBJECT (json_object_get_member (obj, key)))
    return NULL;
  return json_object_get_object_member (obj, key);
}

/* The architecture named by config.json: architectures[0], else model_type. */
static char *
config_architecture (JsonObject *config)
{
  static const struct { const char *model_type, *architecture; } by_type[] = {
    { "llama", "LlamaForCausalLM" }, { "mistral", "MistralForCausalLM" }, { "qwen2", "Qwen2ForCausalLM" },
  };
  const char *model_type;

  if (json_object_has_member (config, "architectures")
      && JSON_NODE_HOLDS_ARRAY (json_object_get_member (config, "architectures")))
    {
      JsonArray *list = json_object_get_array_member (config, "architectures");
      if (json_array_get_length (list) > 0)
        {
          JsonNode *first = json_array_get_element (list, 0);
          if (JSON_NODE_HOLDS_VALUE (first) && json_node_get_value_type (first) == G_TYPE_STRING)
            return g_strdup (json_node_get_string (first));
        }
    }
  model_type = config_string (config, "model_type");
  if (model_type == NULL)
    return NULL;
  for (gsize i = 0; i < G_N_ELEMENTS (by_type); i++)
    if (strcmp (model_type, by_type[i].model_type) == 0)
      return g_strdup (by_type[i].architecture);
  return g_strdup (model_type);
}

static const struct {
  const char *architecture;
  TemperArch  arch;
  const char *arch_name;   /* as GGUF spells it */
} hf_families[] = {
  { "LlamaForCausalLM",   TEMPER_ARCH_LLAMA,   "llama" },
  { "MistralForCausalLM", TEMPER_ARCH_MISTRAL, "llama" },
  { "Qwen2ForCausalLM",   TEMPER_ARCH_QWEN2,   "qwen2" },
  { "Qwen3ForCausalLM",   TEMPER_ARCH_QWEN3,   "qwen3" },
  { "Qwen3MoeForCausalLM", TEMPER_ARCH_QWEN3,  "qwen3moe" },
  { "MixtralForCausalLM", TEMPER_ARCH_LLAMA,   "llama" },
  { "Gemma2ForCausalLM",  TEMPER_ARCH_GEMMA2,  "gemma2" },
  { "Gemma3ForCausalLM",  TEMPER_ARCH_GEMMA3,  "gemma3" },
  { "Gemma3ForConditionalGeneration", TEMPER_ARCH_GEMMA3, "gemma3" },   /* its text part */
  { "Phi3ForCausalLM",    TEMPER_ARCH_PHI3,    "phi3" },
  { "Glm4ForCausalLM",    TEMPER_ARCH_GLM4,    "glm4" },
};

const char *
temper_model_hf_arch_gguf_name (const char *architecture)
{
  for (gsize i = 0; i < G_N_ELEMENTS (hf_families); i++)
    if (strcmp (architecture, hf_families[i].architecture) == 0)
      return hf_families[i].arch_name;
  return NULL;
}

static gboolean
read_architecture (HfLoad *l, GError **error)
{
  TemperModelConfig *c = &l->model->config;
  g_autofree char *architecture = config_architecture (l->config);

  if (architecture == NULL)
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE,
                   _("“config.json” in “%s” does not say which architecture the model is."), l->what);
      return FALSE;
    }
  for (gsize i = 0; i < G_N_ELEMENTS (hf_families); i++)
    if (strcmp (architecture, hf_families[i].architecture) == 0)
      {
        c->arch = hf_families[i].arch;
        l->model->arch_name = g_strdup (hf_families[i].arch_name);
        /* GLM-4 rotates interleaved pairs; the others rotate halves. */
        c->rope_layout = c->arch == TEMPER_ARCH_GLM4 ? TEMPER_ROPE_INTERLEAVED : TEMPER_ROPE_HALVES;
        return TRUE;
      }
  temper_model_refuse_family (l->what, architecture, error);
  return FALSE;
}

/* The number at @index of the array member @key of @obj, or NAN. */
static double
array_double (JsonObject *obj, const char *key, guint index)
{
  JsonArray *list;
  JsonNode *e;

  if (obj == NULL || !json_object_has_member (obj, key) || !JSON_NODE_HOLDS_ARRAY (json_object_get_member (obj, key)))
    return NAN;
  list = json_object_get_array_member (obj, key);
  if (index >= json_array_get_length (list))
    return NAN;
  e = json_array_get_element (list, index);
  if (!JSON_NODE_HOLDS_VALUE (e))
    return NAN;
  if (json_node_get_value_type (e) == G_TYPE_INT64)
    return (double) json_node_get_int (e);
  if (json_node_get_value_type (e) == G_TYPE_DOUBLE)
    return json_node_get_double (e);
  return NAN;
}

static gboolean
config_has_array (JsonObject *o, const char *key)
{
  return o != NULL && json_object_has_member (o, key)
         && JSON_NODE_HOLDS_ARRAY (json_object_get_member (o, key));
}

/* LongRoPE's @key ("short_factor" or "long_factor"): n_pairs positive numbers. */
static gboolean
longrope_factors (HfLoad *l, JsonObject *scaling, const char *key, int n_pairs, float **out,
                  GError **error)
{
  g_autofree float *factors = g_new (float, n_pairs);

  for (int i = 0; i < n_pairs; i++)
    {
      double f = array_double (scaling, key, (guint) i);
      if (isnan (f) || f <= 0.0)
        {
          g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE,
                       _("“config.json” in “%s” has LongRoPE scaling without %d numbers in “%s”."),
                       l->what, n_pairs, key);
          return FALSE;
        }
      factors[i] = (float) f;
    }
  *out = g_steal_pointer (&factors);
  return TRUE;
}

/* YaRN (Qwen2.5 and Qwen3 with long contexts): transformers' defaults
 * where config.json says nothing. */
static gboolean
read_rope_yarn (HfLoad *l, JsonObject *scaling, int n_pairs, int rope_dims, GError **error)
{
  TemperModelConfig *c = &l->model->config;
  double original = config_double (scaling, "original_max_position_embeddings",
                                   config_double (l->config, "original_max_position_embeddings", c->n_ctx_train));
  double factor = config_double (scaling, "factor", original > 0.0 ? c->n_ctx_train / original : 0.0);
  double beta_fast = config_double (scaling, "beta_fast", 32.0);
  double beta_slow = config_double (scaling, "beta_slow", 1.0);
  gboolean truncate = TRUE;

  if (scaling != NULL && json_object_has_member (scaling, "truncate")
      && JSON_NODE_HOLDS_VALUE (json_object_get_member (scaling, "truncate")))
    truncate = json_object_get_boolean_member (scaling, "truncate");
  if (factor <= 0.0 || original <= 0.0 || beta_fast <= 0.0 || beta_slow <= 0.0)
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE,
                   _("“config.json” in “%s” has impossible YaRN RoPE scaling settings."), l->what);
      return FALSE;
    }
  l->model->rope_factors = temper_model_yarn_rope_factors (n_pairs, rope_dims, c->rope_theta, (float) factor,
                                                           (int) original, (float) beta_fast,
                                                           (float) beta_slow, truncate);
  c->rope_freq_factors = TRUE;
  c->rope_mscale = (float) config_double (scaling, "attention_factor",
                                          temper_model_yarn_attention_factor (
                                            (float) factor, (float) config_double (scaling, "mscale", 0.0),
                                            (float) config_double (scaling, "mscale_all_dim", 0.0)));
  return TRUE;
}

/* RoPE: transformers 5 keeps it in rope_parameters (per layer type for
 * Gemma 3), older files in rope_theta and rope_scaling. */
static gboolean
read_rope (HfLoad *l, GError **error)
{
  temper_model_t *m = l->model;
  TemperModelConfig *c = &m->config;
  JsonObject *params = config_object (l->config, "rope_parameters");
  JsonObject *full = config_object (params, "full_attention");
  JsonObject *sliding = config_object (params, "sliding_attention");
  JsonObject *global = full != NULL ? full : params;
  JsonObject *scaling = global != NULL && config_string (global, "rope_type") != NULL
                        ? global : config_object (l->config, "rope_scaling");
  const char *type = config_string (scaling, "rope_type");
  double partial = config_double (global, "partial_rotary_factor",
                                  config_double (l->config, "partial_rotary_factor", 1.0));
  int rope_dims = (int) (c->head_dim * partial) & ~1, n_pairs;

  if (type == NULL)
    type = config_string (scaling, "type");
  c->rope_theta = (float) config_double (global, "rope_theta", config_double (l->config, "rope_theta", 10000.0));
  if (sliding != NULL)
    c->rope_theta_local = (float) config_double (sliding, "rope_theta", 10000.0);
  else
    c->rope_theta_local = (float) config_double (l->config, "rope_local_base_freq", 0.0);
  if (rope_dims <= 0 || rope_dims > c->head_dim)
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_UNSUPPORTED,
                   _("“%s” rotates %d of %d dimensions per attention head; Temper needs an even number, at most all of them."),
                   l->what, rope_dims, c->head_dim);
      return FALSE;
    }
  c->rope_dims = rope_dims == c->head_dim ? 0 : rope_dims;
  n_pairs = rope_dims / 2;

  if (type == NULL || strcmp (type, "default") == 0)
    return TRUE;
  if (strcmp (type, "linear") == 0)
    {
      double factor = config_double (scaling, "factor", 1.0);
      if (factor > 0.0)
        c->rope_freq_scale = (float) (1.0 / factor);
      return TRUE;
    }
  if (strcmp (type, "llama3") == 0)
    {
      double factor = config_double (scaling, "factor", 8.0);
      double low = config_double (scaling, "low_freq_factor", 1.0);
      double high = config_double (scaling, "high_freq_factor", 4.0);
      double original = config_double (scaling, "original_max_position_embeddings", 8192.0);

      if (factor <= 0.0 || low <= 0.0 || high <= low || original <= 0.0)
        {
          g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE,
                       _("“config.json” in “%s” has impossible llama3 RoPE scaling settings."), l->what);
          return FALSE;
        }
      m->rope_factors = temper_model_llama3_rope_factors (n_pairs, rope_dims, c->rope_theta, (float) factor,
                                                          (float) low, (float) high, (int) original);
      c->rope_freq_factors = TRUE;
      return TRUE;
    }
  if (strcmp (type, "yarn") == 0)
    return read_rope_yarn (l, scaling, n_pairs, rope_dims, error);
  if (strcmp (type, "longrope") == 0 || strcmp (type, "su") == 0)
    {
      double original = config_double (scaling, "original_max_position_embeddings",
                                       config_double (l->config, "original_max_position_embeddings", c->n_ctx_train));
      double factor = config_double (scaling, "factor", original > 0.0 ? c->n_ctx_train / original : 1.0);

      if (!longrope_factors (l, scaling, "short_factor", n_pairs, &m->rope_factors, error))
        return FALSE;
      /* transformers runs the long factors in a forward whose positions
       * reach past the original context (dynamic_rope_update: max position
       * + 1 > original), the short ones otherwise; llama.cpp instead picks
       * the long ones for the whole run when its context is longer than the
       * original.  Temper does as transformers does, per forward. */
      if (config_has_array (scaling, "long_factor"))
        {
          if (!longrope_factors (l, scaling, "long_factor", n_pairs, &m->rope_long_factors, error))
            return FALSE;
          c->rope_long_after = (int) original;
        }
      else
        /* Without long factors the short ones hold up to the original context. */
        c->n_ctx_train = (int) MIN (c->n_ctx_train, original);
      c->rope_freq_factors = TRUE;
      c->rope_mscale = (float) config_double (scaling, "attention_factor",
                                              factor <= 1.0 ? 1.0 : sqrt (1.0 + log (factor) / log (original)));
      return TRUE;
    }
  g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_UNSUPPORTED,
               _("“%s” uses “%s” scaled rotary position embeddings, which Temper does not support yet. "
               "Llama 3.1-style frequency factors, linear, YaRN and LongRoPE scaling are supported; choose a model that uses them or none."),
               l->what, type);
  return FALSE;
}

/* Gemma's layer_types (or sliding_window_pattern) as a period: every
 * period-th layer global, or 0 when all are local. */
static gboolean
read_layer_types (HfLoad *l, int default_period, GError **error)
{
  TemperModelConfig *c = &l->model->config;
  JsonArray *types = NULL;
  int period = -1, n_full = 0;

  if (json_object_has_member (l->config, "layer_types")
      && JSON_NODE_HOLDS_ARRAY (json_object_get_member (l->config, "layer_types")))
    types = json_object_get_array_member (l->config, "layer_types");
  if (types == NULL || json_array_get_length (types) != (guint) c->n_layer)
    {
      int p = 0;
      if (!config_int (l, "sliding_window_pattern", FALSE, default_period, TEMPER_MODEL_MAX_LAYERS, &p, error))
        return FALSE;
      c->swa_period = p;
      return TRUE;
    }
  for (int i = 0; i < c->n_layer; i++)
    {
      const char *t = json_array_get_string_element (types, (guint) i);
      if (t != NULL && strcmp (t, "full_attention") == 0)
        {
          if (n_full++ == 0)
            period = i + 1;
        }
    }
  if (n_full == 0)
    period = 0;
  else if (n_full == c->n_layer)
    {
      c->sliding_window = 0;
      period = 0;
    }
  for (int i = 0; i < c->n_layer && period > 0; i++)
    {
      const char *t = json_array_get_string_element (types, (guint) i);
      gboolean full = t != NULL && strcmp (t, "full_attention") == 0;
      if (full != ((i + 1) % period == 0))
        {
          g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_UNSUPPORTED,
                       _("“%s” mixes local and global attention layers in an irregular order, which Temper does not support."),
                       l->what);
          return FALSE;
        }
    }
  c->swa_period = period;
  return TRUE;
}

/* The family's settings beyond Llama's. */
static gboolean
read_family (HfLoad *l, int sliding_window, GError **error)
{
  TemperModelConfig *c = &l->model->config;
  gboolean gemma = c->arch == TEMPER_ARCH_GEMMA2 || c->arch == TEMPER_ARCH_GEMMA3;
  gboolean windowed = sliding_window > 0 && sliding_window < c->n_ctx_train;

  if (gemma)
    {
      const char *act = config_string (l->config, "hidden_activation");
      double scalar = config_double (l->config, "query_pre_attn_scalar", c->head_dim);

      if (act != NULL && strcmp (act, "gelu_pytorch_tanh") != 0 && strcmp (act, "gelu_tanh") != 0)
        {
          g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_UNSUPPORTED,
                       _("“%s” uses the activation “%s”, which Temper does not support for Gemma models."), l->what, act);
          return FALSE;
        }
      c->mlp = TEMPER_MLP_GEGLU;
      c->post_norms = TRUE;
      c->norm_offset = 1.0f;
      c->qk_norm = c->arch == TEMPER_ARCH_GEMMA3;
      c->embd_scale = sqrtf ((float) c->n_embd);
      c->attn_scale = scalar > 0.0 ? (float) (1.0 / sqrt (scalar)) : 0.0f;
      c->attn_softcap = (float) config_double (l->config, "attn_logit_softcapping", 0.0);
      c->final_softcap = (float) config_double (l->config, "final_logit_softcapping", 0.0);
      c->sliding_window = sliding_window;
      return read_layer_types (l, c->arch == TEMPER_ARCH_GEMMA3 ? 6 : 2, error);
    }
  switch (c->arch)
    {
    case TEMPER_ARCH_LLAMA:
      if (config_bool (l->config, "attention_bias", FALSE) || config_bool (l->config, "mlp_bias", FALSE))
        {
          g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_UNSUPPORTED,
                       _("“%s” uses bias terms in its attention or feed-forward layers (attention_bias or mlp_bias), "
                       "which Temper does not support for Llama models."), l->what);
          return FALSE;
        }
      break;
    case TEMPER_ARCH_MISTRAL:
      /* Mistral v0.2 and later have no window: then it is a Llama block. */
      if (windowed)
        c->sliding_window = sliding_window;
      else
        c->arch = TEMPER_ARCH_LLAMA;
      break;
    case TEMPER_ARCH_PHI3:
      c->fused_qkv = c->fused_gate_up = TRUE;
      if (windowed)
        c->sliding_window = sliding_window;
      break;
    case TEMPER_ARCH_GLM4:
      c->fused_gate_up = TRUE;
      c->post_norms = TRUE;
      c->qkv_bias = config_bool (l->config, "attention_bias", TRUE);
      break;
    case TEMPER_ARCH_QWEN3:
      c->qk_norm = TRUE;
      if (config_bool (l->config, "attention_bias", FALSE))
        {
          g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_UNSUPPORTED,
                       _("“%s” uses bias terms in its attention layers (attention_bias), which Temper does not support for Qwen3 models."),
                       l->what);
          return FALSE;
        }
      G_GNUC_FALLTHROUGH;
    case TEMPER_ARCH_QWEN2:
    default:
      if (config_bool (l->config, "use_sliding_window", FALSE) && windowed)
        {
          g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_UNSUPPORTED,
                       _("“%s” uses sliding-window attention on some layers only (use_sliding_window), which Temper does not support for Qwen models."),
                       l->what);
          return FALSE;
        }
      break;
    }
  if (c->arch == TEMPER_ARCH_QWEN2)
    c->qkv_bias = TRUE;
  return TRUE;
}

/* A mixture of experts: Qwen3-MoE (num_experts, moe_intermediate_size,
 * norm_topk_prob) and Mixtral (num_local_experts, experts as wide as
 * intermediate_size, weights always renormalised). */
static gboolean
read_experts_settings (HfLoad *l, GError **error)
{
  TemperModelConfig *c = &l->model->config;
  g_autofree char *architecture = config_architecture (l->config);
  gboolean mixtral = g_strcmp0 (architecture, "MixtralForCausalLM") == 0;

  if (!mixtral && g_strcmp0 (architecture, "Qwen3MoeForCausalLM") != 0)
    return TRUE;
  if (!config_int (l, json_object_has_member (l->config, "num_experts") ? "num_experts" : "num_local_experts",
                   TRUE, 0, 4096, &c->n_expert, error)
      || !config_int (l, "num_experts_per_tok", TRUE, 0, 4096, &c->n_expert_used, error)
      || !config_int (l, mixtral ? "intermediate_size" : "moe_intermediate_size", TRUE, 0, TEMPER_MODEL_MAX_FF,
                      &c->n_ff_expert, error))
    return FALSE;
  c->expert_norm = mixtral || config_bool (l->config, "norm_topk_prob", FALSE);
  /* Mixtral attends through a window where its config sets one (as
   * Mistral v0.1 did); Temper runs it as a Llama block otherwise. */
  if (mixtral)
    {
      int window = 0;

      if (!config_int (l, "sliding_window", FALSE, 0, G_MAXINT, &window, error))
        return FALSE;
      if (window > 0 && window < c->n_ctx_train)
        c->sliding_window = window;
    }
  return temper_model_check_experts (c, l->what, error);
}

/* Whether layer @i of a mixture-of-experts model routes to experts: Qwen3-MoE
 * may keep some layers dense (mlp_only_layers, decoder_sparse_step). */
static gboolean
layer_is_sparse (HfLoad *l, int i)
{
  const TemperModelConfig *c = &l->model->config;
  JsonNode *dense = json_object_get_member (l->config, "mlp_only_layers");
  double step = config_double (l->config, "decoder_sparse_step", 1.0);

  if (c->n_expert == 0)
    return FALSE;
  if (dense != NULL && JSON_NODE_HOLDS_ARRAY (dense))
    {
      JsonArray *list = json_node_get_array (dense);

      for (guint j = 0; j < json_array_get_length (list); j++)
        {
          JsonNode *item = json_array_get_element (list, j);

          if (JSON_NODE_HOLDS_VALUE (item) && json_node_get_value_type (item) == G_TYPE_INT64
              && json_node_get_int (item) == i)
            return FALSE;
        }
    }
  return step < 1.0 || (i + 1) % (int) step == 0;
}

static gboolean
read_config (HfLoad *l, GError **error)
{
  TemperModelConfig *c = &l->model->config;
  int sliding_window = 0;

  if (!read_architecture (l, error)
      || !config_int (l, "hidden_size", TRUE, 0, TEMPER_MODEL_MAX_EMBD, &c->n_embd, error)
      || !config_int (l, "intermediate_size", TRUE, 0, TEMPER_MODEL_MAX_FF, &c->n_ff, error)
      || !config_int (l, "num_hidden_layers", TRUE, 0, TEMPER_MODEL_MAX_LAYERS, &c->n_layer, error)
      || !config_int (l, "num_attention_heads", TRUE, 0, TEMPER_MODEL_MAX_HEADS, &c->n_head, error)
      || !config_int (l, "num_key_value_heads", FALSE, c->n_head, TEMPER_MODEL_MAX_HEADS, &c->n_head_kv, error)
      || !config_int (l, "head_dim", FALSE, MAX (c->n_embd / c->n_head, 1), TEMPER_MODEL_MAX_HEAD_DIM,
                      &c->head_dim, error)
      || !config_int (l, "max_position_embeddings", FALSE, 2048, TEMPER_MODEL_MAX_CONTEXT, &c->n_ctx_train, error)
      || !config_int (l, "sliding_window", FALSE, 0, G_MAXINT, &sliding_window, error))
    return FALSE;
  if (c->n_head % c->n_head_kv != 0 || c->head_dim % 2 != 0)
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE,
                   _("“config.json” in “%s” is inconsistent: %d attention heads, %d key/value heads, head size %d."),
                   l->what, c->n_head, c->n_head_kv, c->head_dim);
      return FALSE;
    }

  if (!config_real (l, l->config, "rms_norm_eps", 1e-6, TEMPER_MODEL_MIN_EPS, TEMPER_MODEL_MAX_EPS,
                    &c->rms_eps, error)
      || !read_family (l, sliding_window, error) || !read_rope (l, error)
      || !read_experts_settings (l, error))
    return FALSE;
  if (!temper_input_check_double ("rope_theta", c->rope_theta, TEMPER_MODEL_MIN_ROPE_BASE,
                                  TEMPER_MODEL_MAX_ROPE_BASE, error))
    return bad_setting (l, error);
  c->tied_embeddings = config_bool (l->config, "tie_word_embeddings",
                                    c->arch == TEMPER_ARCH_GEMMA2 || c->arch == TEMPER_ARCH_GEMMA3);
  return TRUE;
}

static gboolean
open_weights (HfLoad *l, GError **error)
{
  g_autofree char *index = g_build_filename (l->dir, "model.safetensors.index.json", NULL);
  g_autofree char *single = g_build_filename (l->dir, "model.safetensors", NULL);
  const char *path = NULL;

  if (g_file_test (index, G_FILE_TEST_EXISTS))
    path = index;
  else if (g_file_test (single, G_FILE_TEST_EXISTS))
    path = single;
  else
    {
      g_autofree char *bin = g_build_filename (l->dir, "pytorch_model.bin", NULL);
      g_set_error (error, TEMPER_ERROR, g_file_test (bin, G_FILE_TEST_EXISTS) ? TEMPER_ERROR_UNSUPPORTED : TEMPER_ERROR_IO,
                   g_file_test (bin, G_FILE_TEST_EXISTS)
                     ? _("“%s” holds its weights as pytorch_model.bin; Temper reads safetensors files. "
                       "Download the safetensors version of the model.")
                     : _("“%s” has no model weights (model.safetensors or model.safetensors.index.json)."),
                   l->what);
      return FALSE;
    }
  l->model->safetensors = temper_safetensors_open (path, error);
  if (l->model->safetensors == NULL)
    return FALSE;
  l->model->file_size = temper_safetensors_get_total_size (l->model->safetensors);
  return TRUE;
}

static gboolean
hf_tensor (HfLoad *l, const char *name, TemperTensorView *view, int64_t ne0, int64_t ne1,
           gboolean optional, gboolean norm, GError **error)
{
  if (!temper_safetensors_get_info (l->model->safetensors, name, NULL))
    {
      memset (view, 0, sizeof *view);
      if (optional)
        return TRUE;
    }
  else if (!temper_safetensors_get_view (l->model->safetensors, name, view, error))
    return FALSE;
  return temper_model_check_tensor (view, name, ne0, ne1, norm, l->what, error);
}

/* Which file names hold each part of a layer, by family. */
typedef struct {
  const char *attn_post_norm, *ffn_norm, *ffn_post_norm;
} NormNames;

static NormNames
norm_names (TemperArch arch)
{
  NormNames n = { NULL, "post_attention_layernorm.weight", NULL };

  if (arch == TEMPER_ARCH_GEMMA2 || arch == TEMPER_ARCH_GEMMA3)
    {
      n.attn_post_norm = "post_attention_layernorm.weight";
      n.ffn_norm = "pre_feedforward_layernorm.weight";
      n.ffn_post_norm = "post_feedforward_layernorm.weight";
    }
  else if (arch == TEMPER_ARCH_GLM4)
    {
      n.attn_post_norm = "post_self_attn_layernorm.weight";
      n.ffn_post_norm = "post_mlp_layernorm.weight";
    }
  return n;
}

static gboolean
hf_layer_part (HfLoad *l, int i, const char *suffix, TemperTensorView *view, int64_t ne0, int64_t ne1,
               gboolean norm, GError **error)
{
  g_autofree char *name = g_strdup_printf ("%slayers.%d.%s", l->prefix, i, suffix);

  if (suffix == NULL)
    {
      memset (view, 0, sizeof *view);
      return TRUE;
    }
  return hf_tensor (l, name, view, ne0, ne1, FALSE, norm, error);
}

static gboolean
hf_layer (HfLoad *l, int i, GError **error)
{
  TemperModelConfig *c = &l->model->config;
  TemperLayerWeights *w = &l->model->layers[i];
  gint64 q_out = (gint64) c->n_head * c->head_dim;
  gint64 kv_out = (gint64) c->n_head_kv * c->head_dim;
  NormNames nn = norm_names (c->arch);
  TemperTensorView fused;

  if (!hf_layer_part (l, i, "input_layernorm.weight", &w->attn_norm, c->n_embd, 1, TRUE, error))
    return FALSE;
  if (c->fused_qkv)
    {
      if (!hf_layer_part (l, i, "self_attn.qkv_proj.weight", &fused, c->n_embd, q_out + 2 * kv_out, FALSE, error))
        return FALSE;
      temper_model_split_rows (&fused, 0, q_out, fused.name, &w->wq);
      temper_model_split_rows (&fused, q_out, kv_out, fused.name, &w->wk);
      temper_model_split_rows (&fused, q_out + kv_out, kv_out, fused.name, &w->wv);
    }
  else if (!hf_layer_part (l, i, "self_attn.q_proj.weight", &w->wq, c->n_embd, q_out, FALSE, error)
           || !hf_layer_part (l, i, "self_attn.k_proj.weight", &w->wk, c->n_embd, kv_out, FALSE, error)
           || !hf_layer_part (l, i, "self_attn.v_proj.weight", &w->wv, c->n_embd, kv_out, FALSE, error))
    return FALSE;
  if (!hf_layer_part (l, i, c->qkv_bias ? "self_attn.q_proj.bias" : NULL, &w->bq, q_out, 1, TRUE, error)
      || !hf_layer_part (l, i, c->qkv_bias ? "self_attn.k_proj.bias" : NULL, &w->bk, kv_out, 1, TRUE, error)
      || !hf_layer_part (l, i, c->qkv_bias ? "self_attn.v_proj.bias" : NULL, &w->bv, kv_out, 1, TRUE, error)
      || !hf_layer_part (l, i, c->qk_norm ? "self_attn.q_norm.weight" : NULL, &w->q_norm, c->head_dim, 1, TRUE, error)
      || !hf_layer_part (l, i, c->qk_norm ? "self_attn.k_norm.weight" : NULL, &w->k_norm, c->head_dim, 1, TRUE, error)
      || !hf_layer_part (l, i, "self_attn.o_proj.weight", &w->wo, q_out, c->n_embd, FALSE, error)
      || !hf_layer_part (l, i, nn.attn_post_norm, &w->attn_post_norm, c->n_embd, 1, TRUE, error)
      || !hf_layer_part (l, i, nn.ffn_norm, &w->ffn_norm, c->n_embd, 1, TRUE, error)
      || !hf_layer_part (l, i, nn.ffn_post_norm, &w->ffn_post_norm, c->n_embd, 1, TRUE, error))
    return FALSE;
  if (layer_is_sparse (l, i))
    return temper_model_read_experts (l->model, i, l->what, error);
  if (!hf_layer_part (l, i, "mlp.down_proj.weight", &w->w_down, c->n_ff, c->n_embd, FALSE, error))
    return FALSE;
  if (c->fused_gate_up)
    {
      if (!hf_layer_part (l, i, "mlp.gate_up_proj.weight", &fused, c->n_embd, 2 * (gint64) c->n_ff, FALSE, error))
        return FALSE;
      temper_model_split_rows (&fused, 0, c->n_ff, fused.name, &w->w_gate);
      temper_model_split_rows (&fused, c->n_ff, c->n_ff, fused.name, &w->w_up);
    }
  else if (!hf_layer_part (l, i, "mlp.gate_proj.weight", &w->w_gate, c->n_embd, c->n_ff, FALSE, error)
           || !hf_layer_part (l, i, "mlp.up_proj.weight", &w->w_up, c->n_embd, c->n_ff, FALSE, error))
    return FALSE;
  return TRUE;
}

static gboolean
read_weights (HfLoad *l, GCancellable *cancellable, GError **error)
{
  temper_model_t *m = l->model;
  TemperModelConfig *c = &m->config;
  TemperSafetensorsInfo embd;
  g_autofree char *embd_name = NULL, *norm_name = NULL;
  const char *lm_head = "lm_head.weight";

  if (c->hf_layout != TEMPER_HF_LAYOUT_CAUSAL_LM)
    {
      c->hf_layout = temper_model_hf_find_layout (m->safetensors);
      if (c->hf_layout == TEMPER_HF_LAYOUT_VLM)
        lm_head = "language_model.lm_head.weight";
    }
  l->prefix = temper_model_config_hf_tensor_prefix (c);
  embd_name = g_strconcat (l->prefix, "embed_tokens.weight", NULL);
  norm_name = g_strconcat (l->prefix, "norm.weight", NULL);
  if (!temper_safetensors_get_info (m->safetensors, embd_name, &embd) || embd.n_dims != 2)
    return hf_tensor (l, embd_name, &m->token_embd, c->n_embd, 0, FALSE, FALSE, error);
  /* The embedding's rows are the real vocabulary size (config's vocab_size
   * may lag behind resized embeddings). */
  if (!temper_input_check_int (_("The vocabulary size (rows of model.embed_tokens.weight)"), embd.shape[0],
                               1, TEMPER_MODEL_MAX_VOCAB, error))
    {
      g_prefix_error (error, "“%s”: ", l->what);
      return FALSE;
    }
  c->n_vocab = (int) embd.shape[0];
  if (!hf_tensor (l, embd_name, &m->token_embd, c->n_embd, c->n_vocab, FALSE, FALSE, error)
      || !hf_tensor (l, norm_name, &m->output_norm, c->n_embd, 1, FALSE, TRUE, error)
      || !hf_tensor (l, lm_head, &m->output, c->n_embd, c->n_vocab, c->tied_embeddings, FALSE, error))
    return FALSE;
  /* A checkpoint saved with tied embeddings may omit lm_head even when its
   * config does not say so; transformers then ties them as well. */
  if (m->output.data == NULL || c->tied_embeddings)
    {
      c->tied_embeddings = TRUE;
      m->output = m->token_embd;
    }

  if ((guint) c->n_layer > temper_safetensors_get_n_tensors (m->safetensors))
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE,
                   _("“config.json” in “%s” claims %d layers but the weights hold only %u tensors."),
                   l->what, c->n_layer, temper_safetensors_get_n_tensors (m->safetensors));
      return FALSE;
    }
  m->layers = g_new0 (TemperLayerWeights, c->n_layer);
  for (int i = 0; i < c->n_layer; i++)
    if (!temper_model_check_cancelled (cancellable, error) || !hf_layer (l, i, error))
      return FALSE;
  return TRUE;
}

/* A display name: "org/name" for a folder inside the Hugging Face cache
 * (…/models--org--name/snapshots/<revision>), else the folder's name. */
static char *
hf_display_name (const char *dir)
{
  g_autofree char *canonical = g_canonicalize_filename (dir, NULL);
  g_autofree char *parent = g_path_get_dirname (canonical);
  g_autofree char *parent_name = g_path_get_basename (parent);
  g_autofree char *grandparent = g_path_get_dirname (parent);
  g_autofree char *repo = g_path_get_basename (grandparent);

  if (strcmp (parent_name, "snapshots") == 0 && g_str_has_prefix (repo, "models--"))
    {
      g_auto(GStrv) parts = g_strsplit (repo + strlen ("models--"), "--", 2);
      if (parts[0] != NULL && parts[1] != NULL)
        return g_strdup_printf ("%s/%s", parts[0], parts[1]);
    }
  return g_path_get_basename (canonical);
}

gboolean
temper_model_load_hf (temper_model_t *model, const char *dir,
                      GCancellable *cancellable, GError **error)
{
  g_autofree char *config_path = g_build_filename (dir, "config.json", NULL);
  g_autofree char *tokenizer_json = g_build_filename (dir, "tokenizer.json", NULL);
  g_autofree char *tokenizer_config = g_build_filename (dir, "tokenizer_config.json", NULL);
  g_autoptr(JsonNode) config = NULL;
  g_autoptr(JsonNode) text_part = NULL;
  g_autofree char *what = hf_display_name (dir);
  HfLoad l = { model, dir, what, NULL, "model." };

  model->format = TEMPER_MODEL_FORMAT_HF_FOLDER;
  model->name = g_strdup (what);

  if (!g_file_test (config_path, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE,
                   _("“%s” is not a model folder: it has no config.json. Choose a .gguf file or a "
                   "Hugging Face model folder."), what);
      return FALSE;
    }
  config = parse_json_file (config_path, what, error);
  if (config == NULL)
    return FALSE;
  l.config = json_node_get_object (config);
  /* A model of text and images: its text part, the image part unread. */
  text_part = temper_model_hf_text_part_config (l.config);
  if (text_part != NULL)
    {
      l.config = json_node_get_object (text_part);
      model->config.hf_layout = TEMPER_HF_LAYOUT_VLM;
    }

  if (!read_config (&l, error) || !open_weights (&l, error) || !read_weights (&l, cancellable, error))
    return FALSE;

  if (!g_file_test (tokenizer_json, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE,
                   _("“%s” has no tokenizer.json; Temper needs it to turn text into tokens."), what);
      return FALSE;
    }
  if (!g_file_test (tokenizer_config, G_FILE_TEST_EXISTS))
    g_clear_pointer (&tokenizer_config, g_free);
  model->tokenizer = temper_tokenizer_new_from_hf (tokenizer_json, tokenizer_config, error);
  if (model->tokenizer == NULL)
    return FALSE;
  model->chat_template = temper_model_hf_read_chat_template (dir, tokenizer_config);
  temper_model_hf_read_generation_config (model, dir);
  return TRUE;
}
