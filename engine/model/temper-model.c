/* temper-model.c — opening a model: the GGUF loader and the checks every
 * format shares (tensor shapes and types, special token ids, stop tokens,
 * size figures).  The Hugging Face folder loader is temper-model-hf.c. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <string.h>

#include "temper/error.h"
#include "temper/input.h"
#include "temper/tokenizer.h"
#include "temper-model-private.h"
#include "temper-types-private.h"

/* End-of-turn tokens of the chat formats Temper knows: generation stops at
 * any of them that the vocabulary has as a special token. */
static const char *const end_of_turn_tokens[] = {
  "<|im_end|>", "<|eot_id|>", "<|end|>", "<end_of_turn>", "</s>", "<|endoftext|>",
};

gboolean
temper_model_check_cancelled (GCancellable *cancellable, GError **error)
{
  if (cancellable != NULL && g_cancellable_is_cancelled (cancellable))
    {
      g_set_error_literal (error, TEMPER_ERROR, TEMPER_ERROR_CANCELLED, _("Loading the model was cancelled."));
      return FALSE;
    }
  return TRUE;
}

gboolean
temper_model_check_tensor (const TemperTensorView *view, const char *name,
                           int64_t ne0, int64_t ne1, gboolean norm,
                           const char *what, GError **error)
{
  const char *type_name = NULL;

  if (view->data == NULL)
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE,
                   _("“%s” is missing tensor %s. The file may be damaged or not a complete model."),
                   what, name);
      return FALSE;
    }
  if (temper_type_name (view->type) == NULL)
    {
      temper_ggml_type_geometry (view->type, &type_name, NULL, NULL);
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_UNSUPPORTED,
                   _("“%s” stores tensor %s as %s, which Temper cannot compute with. "
                   "Choose a file quantized as Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, Q6_K, "
                   "F16, BF16 or F32 (for example a Q4_K_M or Q8_0 download)."),
                   what, name, type_name != NULL ? type_name : "an unknown type");
      return FALSE;
    }
  if (norm && view->type != TEMPER_TYPE_F32 && view->type != TEMPER_TYPE_F16
      && view->type != TEMPER_TYPE_BF16)
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_UNSUPPORTED,
                   _("“%s” stores the normalisation weights %s as %s; Temper expects F32, F16 or BF16 there."),
                   what, name, temper_type_name (view->type));
      return FALSE;
    }
  if (view->ne[0] != ne0 || view->ne[1] != ne1)
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE,
                   "“%s” has tensor %s of shape [%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT
                   "], but the model's settings call for [%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT "].",
                   what, name, view->ne[0], view->ne[1], ne0, ne1);
      return FALSE;
    }
  return TRUE;
}

void
temper_model_add_stop_token (temper_model_t *model, GArray *stops, int id)
{
  if (id < 0 || id >= model->config.n_vocab)
    return;
  for (guint i = 0; i < stops->len; i++)
    if (g_array_index (stops, int, i) == id)
      return;
  g_array_append_val (stops, id);
}

/* ---- GGUF -------------------------------------------------------------- */

typedef struct {
  temper_model_t *model;
  const char     *what;    /* the file name for messages */
} GgufLoad;

/* Places a range error from temper_input_check_* in the file. */
static gboolean
bad_metadata (GgufLoad *l, GError **error)
{
  g_prefix_error (error, "“%s”: ", l->what);
  if (error != NULL && *error != NULL)
    (*error)->code = TEMPER_ERROR_INVALID_FILE;
  return FALSE;
}

static gboolean
gguf_u32 (GgufLoad *l, const char *suffix, gboolean required, guint32 fallback,
          int max, int *out, GError **error)
{
  g_autofree char *key = g_strdup_printf ("%s.%s", l->model->arch_name, suffix);
  guint32 v;

  if (!temper_gguf_get_u32 (l->model->gguf, key, &v))
    {
      if (required || temper_gguf_has_key (l->model->gguf, key))
        {
          g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE,
                       temper_gguf_has_key (l->model->gguf, key)
                         ? "“%s” has an invalid value for %s." : "“%s” is missing the setting %s.",
                       l->what, key);
          return FALSE;
        }
      v = fallback;
    }
  if (!temper_input_check_int (key, v, 1, max, error))
    return bad_metadata (l, error);
  *out = (int) v;
  return TRUE;
}

/* A real-valued setting @suffix, @fallback when absent, within [@min, @max]. */
static gboolean
gguf_real (GgufLoad *l, const char *suffix, float fallback, double min, double max, float *out,
           GError **error)
{
  g_autofree char *key = g_strdup_printf ("%s.%s", l->model->arch_name, suffix);

  if (!temper_gguf_get_f32 (l->model->gguf, key, out))
    *out = fallback;
  if (!temper_input_check_double (key, *out, min, max, error))
    return bad_metadata (l, error);
  return TRUE;
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

static gboolean
check_rope_scaling_gguf (GgufLoad *l, GError **error)
{
  g_autofree char *key = g_strdup_printf ("%s.rope.scaling.type", l->model->arch_name);
  g_autofree char *type = temper_gguf_dup_string (l->model->gguf, key);

  if ((type != NULL && strcmp (type, "none") != 0)
      || temper_gguf_find_tensor (l->model->gguf, "rope_freqs.weight", NULL))
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_UNSUPPORTED,
                   _("“%s” uses scaled rotary position embeddings (%s), which Temper does not support. "
                   "Choose a model without RoPE scaling."),
                   l->what, type != NULL ? type : "frequency factors");
      return FALSE;
    }
  return TRUE;
}

gboolean
temper_model_load_gguf (temper_model_t *model, const char *path,
                        GCancellable *cancellable, GError **error)
{
  g_autofree char *what = g_path_get_basename (path);
  GgufLoad l = { model, what };
  TemperModelConfig *c = &model->config;
  int rope_dims = 0;
  gint64 q_out, kv_out;

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
  if (strcmp (model->arch_name, "llama") == 0)
    {
      c->arch = TEMPER_ARCH_LLAMA;
      c->rope_layout = TEMPER_ROPE_INTERLEAVED;
    }
  else if (strcmp (model->arch_name, "qwen2") == 0)
    {
      c->arch = TEMPER_ARCH_QWEN2;
      c->rope_layout = TEMPER_ROPE_HALVES;
    }
  else
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_UNSUPPORTED,
                   _("“%s” is a “%s” model, which Temper cannot train. Supported architectures: "
                   "llama (Llama 2 and 3, Mistral, SmolLM2) and qwen2 (Qwen2, Qwen2.5)."),
                   what, model->arch_name);
      return FALSE;
    }

  model->name = temper_gguf_dup_string (model->gguf, "general.name");

  if (!gguf_u32 (&l, "block_count", TRUE, 0, TEMPER_MODEL_MAX_LAYERS, &c->n_layer, error)
      || !gguf_u32 (&l, "embedding_length", TRUE, 0, TEMPER_MODEL_MAX_EMBD, &c->n_embd, error)
      || !gguf_u32 (&l, "feed_forward_length", TRUE, 0, TEMPER_MODEL_MAX_FF, &c->n_ff, error)
      || !gguf_u32 (&l, "attention.head_count", TRUE, 0, TEMPER_MODEL_MAX_HEADS, &c->n_head, error)
      || !gguf_u32 (&l, "attention.head_count_kv", FALSE, (guint32) c->n_head, TEMPER_MODEL_MAX_HEADS,
                    &c->n_head_kv, error)
      || !gguf_u32 (&l, "context_length", FALSE, 2048, TEMPER_MODEL_MAX_CONTEXT, &c->n_ctx_train, error))
    return FALSE;
  if (c->n_head <= 0 || c->n_head_kv <= 0 || c->n_layer <= 0 || c->n_embd <= 0 || c->n_ff <= 0
      || c->n_head % c->n_head_kv != 0)
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE,
                   _("“%s” has inconsistent settings: %d layers, hidden size %d, %d attention heads, %d key/value heads."),
                   what, c->n_layer, c->n_embd, c->n_head, c->n_head_kv);
      return FALSE;
    }
  if (!gguf_u32 (&l, "attention.key_length", FALSE, (guint32) MAX (c->n_embd / c->n_head, 1),
                 TEMPER_MODEL_MAX_HEAD_DIM, &c->head_dim, error)
      || !gguf_u32 (&l, "rope.dimension_count", FALSE, (guint32) c->head_dim, TEMPER_MODEL_MAX_HEAD_DIM,
                    &rope_dims, error))
    return FALSE;
  if (c->head_dim <= 0 || c->head_dim % 2 != 0 || rope_dims != c->head_dim)
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_UNSUPPORTED,
                   _("“%s” rotates %d of %d dimensions per attention head; Temper supports only full, even rotary dimensions."),
                   what, rope_dims, c->head_dim);
      return FALSE;
    }
  if (!gguf_real (&l, "attention.layer_norm_rms_epsilon", 1e-5f, TEMPER_MODEL_MIN_EPS, TEMPER_MODEL_MAX_EPS,
                  &c->rms_eps, error)
      || !gguf_real (&l, "rope.freq_base", 10000.0f, TEMPER_MODEL_MIN_ROPE_BASE, TEMPER_MODEL_MAX_ROPE_BASE,
                     &c->rope_theta, error))
    return FALSE;
  if (!check_rope_scaling_gguf (&l, error))
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
                   "“%s” claims %d layers but holds only %" G_GUINT64_FORMAT " tensors.",
                   what, c->n_layer, temper_gguf_get_n_tensors (model->gguf));
      return FALSE;
    }
  q_out = (gint64) c->n_head * c->head_dim;
  kv_out = (gint64) c->n_head_kv * c->head_dim;
  model->layers = g_new0 (TemperLayerWeights, c->n_layer);
  for (int i = 0; i < c->n_layer; i++)
    {
      TemperLayerWeights *w = &model->layers[i];

      if (!temper_model_check_cancelled (cancellable, error)
          || !gguf_layer_tensor (&l, i, "attn_norm.weight", &w->attn_norm, c->n_embd, 1, FALSE, TRUE, error)
          || !gguf_layer_tensor (&l, i, "attn_q.weight", &w->wq, c->n_embd, q_out, FALSE, FALSE, error)
          || !gguf_layer_tensor (&l, i, "attn_k.weight", &w->wk, c->n_embd, kv_out, FALSE, FALSE, error)
          || !gguf_layer_tensor (&l, i, "attn_v.weight", &w->wv, c->n_embd, kv_out, FALSE, FALSE, error)
          || !gguf_layer_tensor (&l, i, "attn_q.bias", &w->bq, q_out, 1, c->arch != TEMPER_ARCH_QWEN2, TRUE, error)
          || !gguf_layer_tensor (&l, i, "attn_k.bias", &w->bk, kv_out, 1, c->arch != TEMPER_ARCH_QWEN2, TRUE, error)
          || !gguf_layer_tensor (&l, i, "attn_v.bias", &w->bv, kv_out, 1, c->arch != TEMPER_ARCH_QWEN2, TRUE, error)
          || !gguf_layer_tensor (&l, i, "attn_output.weight", &w->wo, q_out, c->n_embd, FALSE, FALSE, error)
          || !gguf_layer_tensor (&l, i, "ffn_norm.weight", &w->ffn_norm, c->n_embd, 1, FALSE, TRUE, error)
          || !gguf_layer_tensor (&l, i, "ffn_gate.weight", &w->w_gate, c->n_embd, c->n_ff, FALSE, FALSE, error)
          || !gguf_layer_tensor (&l, i, "ffn_up.weight", &w->w_up, c->n_embd, c->n_ff, FALSE, FALSE, error)
          || !gguf_layer_tensor (&l, i, "ffn_down.weight", &w->w_down, c->n_ff, c->n_embd, FALSE, FALSE, error))
        return FALSE;
      /* Biases come as a set or not at all. */
      if ((w->bq.data != NULL) != (w->bk.data != NULL) || (w->bq.data != NULL) != (w->bv.data != NULL)
          || (i > 0 && (w->bq.data != NULL) != c->qkv_bias))
        {
          g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE,
                       _("“%s” has query/key/value biases in some places but not others (layer %d)."), what, i);
          return FALSE;
        }
      c->qkv_bias = w->bq.data != NULL;
    }

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

/* ---- shared ------------------------------------------------------------ */

typedef void (*WeightFunc) (const TemperTensorView *view, gpointer user_data);

static void
for_each_weight (const temper_model_t *model, WeightFunc func, gpointer user_data)
{
  func (&model->token_embd, user_data);
  func (&model->output_norm, user_data);
  if (!model->config.tied_embeddings)
    func (&model->output, user_data);
  for (int i = 0; i < model->config.n_layer; i++)
    {
      const TemperLayerWeights *w = &model->layers[i];
      const TemperTensorView *views[] = {
        &w->attn_norm, &w->wq, &w->wk, &w->wv, &w->bq, &w->bk, &w->bv, &w->wo,
        &w->ffn_norm, &w->w_gate, &w->w_up, &w->w_down,
      };
      for (gsize j = 0; j < G_N_ELEMENTS (views); j++)
        if (views[j]->data != NULL)
          func (views[j], user_data);
    }
}

typedef struct {
  guint64 n_params;
  guint64 elems_by_type[TEMPER_TYPE_COUNT];
} SizeTally;

static void
tally_weight (const TemperTensorView *view, gpointer user_data)
{
  SizeTally *tally = user_data;
  guint64 n = (guint64) view->ne[0] * (guint64) view->ne[1];

  tally->n_params += n;
  /* Matrices decide the quantization name; norms and biases stay F32 in
   * every quantized file and would only blur it. */
  if (view->ne[1] > 1 && view->type >= 0 && view->type < TEMPER_TYPE_COUNT)
    tally->elems_by_type[view->type] += n;
}

static gboolean
check_token_id (temper_model_t *model, int id, const char *what, GError **error)
{
  if (id >= model->config.n_vocab)
    {
      g_autofree char *file = g_path_get_basename (model->path);
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE,
                   _("“%s” is inconsistent: vocabulary id out of range — its %s token is %d, "
                   "but the model only has %d tokens."),
                   file, what, id, model->config.n_vocab);
      return FALSE;
    }
  return TRUE;
}

static gboolean
finish (temper_model_t *model, GError **error)
{
  temper_tokenizer_t *tok = model->tokenizer;
  SizeTally tally = { 0 };
  int best = -1;
  int eos = temper_tokenizer_get_eos (tok);
  int end_marker = -1;

  if (temper_tokenizer_get_n_vocab (tok) > model->config.n_vocab)
    {
      g_autofree char *file = g_path_get_basename (model->path);
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE,
                   _("“%s” is inconsistent: vocabulary id out of range — the tokenizer has %d tokens, "
                   "but the model's embedding only has %d rows."),
                   file, temper_tokenizer_get_n_vocab (tok), model->config.n_vocab);
      return FALSE;
    }
  if (!check_token_id (model, temper_tokenizer_get_bos (tok), "beginning-of-text", error)
      || !check_token_id (model, eos, "end-of-text", error)
      || !check_token_id (model, temper_tokenizer_get_pad (tok), "padding", error))
    return FALSE;

  model->stop_tokens = g_array_new (FALSE, FALSE, sizeof (int));
  temper_model_add_stop_token (model, model->stop_tokens, eos);
  for (guint i = 0; i < model->extra_stops->len; i++)
    temper_model_add_stop_token (model, model->stop_tokens, g_array_index (model->extra_stops, int, i));
  for (gsize i = 0; i < G_N_ELEMENTS (end_of_turn_tokens); i++)
    {
      int id = temper_tokenizer_find_token (tok, end_of_turn_tokens[i]);
      if (id >= 0 && temper_tokenizer_is_special (tok, id))
        temper_model_add_stop_token (model, model->stop_tokens, id);
    }
  g_array_append_val (model->stop_tokens, end_marker);

  for_each_weight (model, tally_weight, &tally);
  model->n_params = tally.n_params;
  for (int t = 0; t < TEMPER_TYPE_COUNT; t++)
    if (tally.elems_by_type[t] > 0 && (best < 0 || tally.elems_by_type[t] > tally.elems_by_type[best]))
      best = t;
  model->quantization = g_strdup (best >= 0 && temper_type_name (best) != NULL ? temper_type_name (best) : "F32");
  return TRUE;
}

static gboolean
is_hf_folder_file (const char *path)
{
  g_autofree char *base = g_path_get_basename (path);

  return strcmp (base, "config.json") == 0 || g_str_has_suffix (base, ".safetensors")
         || strcmp (base, "model.safetensors.index.json") == 0;
}

temper_model_t *
temper_model_load (const char *path, GCancellable *cancellable, GError **error)
{
  g_autoptr(temper_model_t) model = NULL;
  gboolean ok;

  g_return_val_if_fail (path != NULL, NULL);

  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_IO,
                   _("“%s” does not exist. Choose a .gguf file or a model folder."), path);
      return NULL;
    }
  model = g_new0 (temper_model_t, 1);
  model->path = g_strdup (path);
  model->extra_stops = g_array_new (FALSE, FALSE, sizeof (int));

  if (g_file_test (path, G_FILE_TEST_IS_DIR))
    ok = temper_model_load_hf (model, path, cancellable, error);
  else if (is_hf_folder_file (path))
    {
      /* A file picked inside a Hugging Face folder means the folder. */
      g_free (model->path);
      model->path = g_path_get_dirname (path);
      ok = temper_model_load_hf (model, model->path, cancellable, error);
    }
  else
    ok = temper_model_load_gguf (model, path, cancellable, error);
  if (!ok)
    return NULL;

  if (model->name == NULL || model->name[0] == '\0')
    {
      g_autofree char *base = g_path_get_basename (path);
      g_free (model->name);
      model->name = g_str_has_suffix (base, ".gguf")
                      ? g_strndup (base, strlen (base) - strlen (".gguf")) : g_strdup (base);
    }
  if (!temper_model_check_cancelled (cancellable, error) || !finish (model, error))
    return NULL;
  return g_steal_pointer (&model);
}

void
temper_model_free (temper_model_t *model)
{
  if (model == NULL)
    return;
  g_clear_pointer (&model->tokenizer, temper_tokenizer_free);
  g_clear_pointer (&model->gguf, temper_gguf_close);
  g_clear_pointer (&model->safetensors, temper_safetensors_close);
  g_clear_pointer (&model->stop_tokens, g_array_unref);
  g_clear_pointer (&model->extra_stops, g_array_unref);
  g_free (model->layers);
  g_free (model->path);
  g_free (model->name);
  g_free (model->arch_name);
  g_free (model->chat_template);
  g_free (model->quantization);
  g_free (model->owned_weights);
  g_free (model);
}

const TemperModelConfig *
temper_model_get_config (const temper_model_t *model)
{
  return &model->config;
}

TemperModelFormat
temper_model_get_format (const temper_model_t *model)
{
  return model->format;
}

const char *
temper_model_get_path (const temper_model_t *model)
{
  return model->path;
}

const char *
temper_model_get_name (const temper_model_t *model)
{
  return model->name;
}

const char *
temper_model_get_arch_name (const temper_model_t *model)
{
  return model->arch_name;
}

const char *
temper_model_get_quantization (const temper_model_t *model)
{
  return model->quantization;
}

guint64
temper_model_get_n_params (const temper_model_t *model)
{
  return model->n_params;
}

guint64
temper_model_get_file_size (const temper_model_t *model)
{
  return model->file_size;
}

const TemperTensorView *
temper_model_get_token_embd (const temper_model_t *model)
{
  return &model->token_embd;
}

const TemperTensorView *
temper_model_get_output_norm (const temper_model_t *model)
{
  return &model->output_norm;
}

const TemperTensorView *
temper_model_get_output (const temper_model_t *model)
{
  return &model->output;
}

const TemperLayerWeights *
temper_model_get_layer (const temper_model_t *model, int layer)
{
  g_return_val_if_fail (layer >= 0 && layer < model->config.n_layer, NULL);
  return &model->layers[layer];
}

temper_tokenizer_t *
temper_model_get_tokenizer (const temper_model_t *model)
{
  return model->tokenizer;
}

const char *
temper_model_get_chat_template (const temper_model_t *model)
{
  return model->chat_template;
}

const int *
temper_model_get_stop_tokens (const temper_model_t *model)
{
  return (const int *) (gpointer) model->stop_tokens->data;
}
