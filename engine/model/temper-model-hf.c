/* temper-model-hf.c — loading a Hugging Face model folder: config.json,
 * one or more safetensors files, generation_config.json and the tokenizer
 * files.  Weights stay in Hugging Face row order (split-halves RoPE). */
#include "config.h"

#include <glib/gi18n-lib.h>

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
  if (strcmp (architecture, "LlamaForCausalLM") == 0 || strcmp (architecture, "MistralForCausalLM") == 0)
    {
      c->arch = TEMPER_ARCH_LLAMA;
      l->model->arch_name = g_strdup ("llama");
    }
  else if (strcmp (architecture, "Qwen2ForCausalLM") == 0)
    {
      c->arch = TEMPER_ARCH_QWEN2;
      l->model->arch_name = g_strdup ("qwen2");
    }
  else
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_UNSUPPORTED,
                   _("“%s” is a %s model, which Temper cannot train. Supported architectures: "
                   "LlamaForCausalLM (Llama 2 and 3, SmolLM2), MistralForCausalLM (without sliding window) "
                   "and Qwen2ForCausalLM (Qwen2, Qwen2.5)."),
                   l->what, architecture);
      return FALSE;
    }
  c->rope_layout = TEMPER_ROPE_HALVES;
  return TRUE;
}

static gboolean
read_config (HfLoad *l, GError **error)
{
  TemperModelConfig *c = &l->model->config;
  JsonObject *rope_parameters = config_object (l->config, "rope_parameters");
  JsonObject *rope_scaling = config_object (l->config, "rope_scaling");
  const char *rope_type;
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

  /* transformers 5 moved rope_theta and the scaling into rope_parameters. */
  if (!config_real (l, l->config, "rms_norm_eps", 1e-6, TEMPER_MODEL_MIN_EPS, TEMPER_MODEL_MAX_EPS,
                    &c->rms_eps, error)
      || !config_real (l, rope_parameters, "rope_theta", config_double (l->config, "rope_theta", 10000.0),
                       TEMPER_MODEL_MIN_ROPE_BASE, TEMPER_MODEL_MAX_ROPE_BASE, &c->rope_theta, error))
    return FALSE;
  rope_type = config_string (rope_parameters, "rope_type");
  if (rope_type == NULL)
    rope_type = config_string (rope_scaling, "rope_type");
  if (rope_type == NULL)
    rope_type = config_string (rope_scaling, "type");
  if (rope_type != NULL && strcmp (rope_type, "default") != 0)
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_UNSUPPORTED,
                   _("“%s” uses scaled rotary position embeddings (%s), which Temper does not support. "
                   "Choose a model without RoPE scaling."), l->what, rope_type);
      return FALSE;
    }

  if (c->arch == TEMPER_ARCH_LLAMA)
    {
      if (config_bool (l->config, "attention_bias", FALSE) || config_bool (l->config, "mlp_bias", FALSE))
        {
          g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_UNSUPPORTED,
                       _("“%s” uses bias terms in its attention or feed-forward layers (attention_bias or mlp_bias), "
                       "which Temper does not support for Llama models."), l->what);
          return FALSE;
        }
      /* Mistral's sliding window changes attention once a sequence outgrows it. */
      if (sliding_window > 0 && sliding_window < c->n_ctx_train)
        {
          g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_UNSUPPORTED,
                       _("“%s” uses sliding-window attention (%d of %d positions), which Temper does not support."),
                       l->what, sliding_window, c->n_ctx_train);
          return FALSE;
        }
    }
  else if (config_bool (l->config, "use_sliding_window", FALSE) && sliding_window > 0
           && sliding_window < c->n_ctx_train)
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_UNSUPPORTED,
                   _("“%s” uses sliding-window attention (%d of %d positions), which Temper does not support."),
                   l->what, sliding_window, c->n_ctx_train);
      return FALSE;
    }
  c->qkv_bias = c->arch == TEMPER_ARCH_QWEN2;
  c->tied_embeddings = config_bool (l->config, "tie_word_embeddings", FALSE);
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
                     ? "“%s” holds its weights as pytorch_model.bin; Temper reads safetensors files. "
                       "Download the safetensors version of the model."
                     : "“%s” has no model weights (model.safetensors or model.safetensors.index.json).",
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

static gboolean
hf_layer (HfLoad *l, int i, GError **error)
{
  TemperModelConfig *c = &l->model->config;
  TemperLayerWeights *w = &l->model->layers[i];
  gint64 q_out = (gint64) c->n_head * c->head_dim;
  gint64 kv_out = (gint64) c->n_head_kv * c->head_dim;
  gboolean no_bias = c->arch != TEMPER_ARCH_QWEN2;
  struct {
    const char *suffix;
    TemperTensorView *view;
    int64_t ne0, ne1;
    gboolean absent, norm;
  } parts[] = {
    { "input_layernorm.weight", &w->attn_norm, c->n_embd, 1, FALSE, TRUE },
    { "self_attn.q_proj.weight", &w->wq, c->n_embd, q_out, FALSE, FALSE },
    { "self_attn.k_proj.weight", &w->wk, c->n_embd, kv_out, FALSE, FALSE },
    { "self_attn.v_proj.weight", &w->wv, c->n_embd, kv_out, FALSE, FALSE },
    { "self_attn.q_proj.bias", &w->bq, q_out, 1, no_bias, TRUE },
    { "self_attn.k_proj.bias", &w->bk, kv_out, 1, no_bias, TRUE },
    { "self_attn.v_proj.bias", &w->bv, kv_out, 1, no_bias, TRUE },
    { "self_attn.o_proj.weight", &w->wo, q_out, c->n_embd, FALSE, FALSE },
    { "post_attention_layernorm.weight", &w->ffn_norm, c->n_embd, 1, FALSE, TRUE },
    { "mlp.gate_proj.weight", &w->w_gate, c->n_embd, c->n_ff, FALSE, FALSE },
    { "mlp.up_proj.weight", &w->w_up, c->n_embd, c->n_ff, FALSE, FALSE },
    { "mlp.down_proj.weight", &w->w_down, c->n_ff, c->n_embd, FALSE, FALSE },
  };

  for (gsize p = 0; p < G_N_ELEMENTS (parts); p++)
    {
      g_autofree char *name = g_strdup_printf ("model.layers.%d.%s", i, parts[p].suffix);

      if (parts[p].absent)
        {
          memset (parts[p].view, 0, sizeof *parts[p].view);
          continue;
        }
      if (!hf_tensor (l, name, parts[p].view, parts[p].ne0, parts[p].ne1, FALSE, parts[p].norm, error))
        return FALSE;
    }
  return TRUE;
}

static gboolean
read_weights (HfLoad *l, GCancellable *cancellable, GError **error)
{
  temper_model_t *m = l->model;
  TemperModelConfig *c = &m->config;
  TemperSafetensorsInfo embd;

  if (!temper_safetensors_get_info (m->safetensors, "model.embed_tokens.weight", &embd) || embd.n_dims != 2)
    return hf_tensor (l, "model.embed_tokens.weight", &m->token_embd, c->n_embd, 0, FALSE, FALSE, error);
  /* The embedding's rows are the real vocabulary size (config's vocab_size
   * may lag behind resized embeddings). */
  if (!temper_input_check_int (_("The vocabulary size (rows of model.embed_tokens.weight)"), embd.shape[0],
                               1, TEMPER_MODEL_MAX_VOCAB, error))
    {
      g_prefix_error (error, "“%s”: ", l->what);
      return FALSE;
    }
  c->n_vocab = (int) embd.shape[0];
  if (!hf_tensor (l, "model.embed_tokens.weight", &m->token_embd, c->n_embd, c->n_vocab, FALSE, FALSE, error)
      || !hf_tensor (l, "model.norm.weight", &m->output_norm, c->n_embd, 1, FALSE, TRUE, error)
      || !hf_tensor (l, "lm_head.weight", &m->output, c->n_embd, c->n_vocab, c->tied_embeddings, FALSE, error))
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

static void
read_generation_config (HfLoad *l)
{
  g_autofree char *path = g_build_filename (l->dir, "generation_config.json", NULL);
  g_autoptr(JsonNode) root = NULL;
  JsonObject *obj;
  JsonNode *node;

  /* Optional and only a source of extra stop tokens: a broken one is ignored. */
  if (!g_file_test (path, G_FILE_TEST_EXISTS) || (root = parse_json_file (path, l->what, NULL)) == NULL)
    return;
  obj = json_node_get_object (root);
  if (!json_object_has_member (obj, "eos_token_id"))
    return;
  node = json_object_get_member (obj, "eos_token_id");
  if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_INT64)
    {
      int id = (int) CLAMP (json_node_get_int (node), -1, G_MAXINT);
      g_array_append_val (l->model->extra_stops, id);
    }
  else if (JSON_NODE_HOLDS_ARRAY (node))
    {
      JsonArray *ids = json_node_get_array (node);
      for (guint i = 0; i < json_array_get_length (ids); i++)
        {
          JsonNode *e = json_array_get_element (ids, i);
          if (JSON_NODE_HOLDS_VALUE (e) && json_node_get_value_type (e) == G_TYPE_INT64)
            {
              int id = (int) CLAMP (json_node_get_int (e), -1, G_MAXINT);
              g_array_append_val (l->model->extra_stops, id);
            }
        }
    }
}

/* tokenizer_config.json's chat_template (a string, or a list of named
 * templates of which "default" is used), else chat_template.jinja. */
static char *
read_chat_template (HfLoad *l, const char *tokenizer_config)
{
  g_autofree char *jinja = g_build_filename (l->dir, "chat_template.jinja", NULL);
  char *contents = NULL;

  if (tokenizer_config != NULL)
    {
      g_autoptr(JsonNode) root = parse_json_file (tokenizer_config, l->what, NULL);
      JsonObject *obj = root != NULL ? json_node_get_object (root) : NULL;
      const char *text = config_string (obj, "chat_template");

      if (text != NULL)
        return g_strdup (text);
      if (obj != NULL && json_object_has_member (obj, "chat_template")
          && JSON_NODE_HOLDS_ARRAY (json_object_get_member (obj, "chat_template")))
        {
          JsonArray *list = json_object_get_array_member (obj, "chat_template");
          for (guint i = 0; i < json_array_get_length (list); i++)
            {
              JsonNode *e = json_array_get_element (list, i);
              JsonObject *entry = JSON_NODE_HOLDS_OBJECT (e) ? json_node_get_object (e) : NULL;
              const char *name = config_string (entry, "name");
              if (name != NULL && strcmp (name, "default") == 0 && config_string (entry, "template") != NULL)
                return g_strdup (config_string (entry, "template"));
            }
        }
    }
  if (g_file_get_contents (jinja, &contents, NULL, NULL))
    return contents;
  return NULL;
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
  g_autofree char *what = hf_display_name (dir);
  HfLoad l = { model, dir, what, NULL };

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
  model->chat_template = read_chat_template (&l, tokenizer_config);
  read_generation_config (&l);
  return TRUE;
}
