/* SPDX-License-Identifier: MIT */
/* temper-model.c — opening a model: the checks every format shares (tensor
 * shapes and types, special token ids, stop tokens, size figures).  The
 * loaders are temper-model-gguf.c and temper-model-hf.c; what a family is,
 * temper-family.c. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <inttypes.h>
#include <stdlib.h>
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
                   what, name, type_name != NULL ? type_name : _("an unknown type"));
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
                   _("“%s” has tensor %s of shape [%" PRId64 ", %" PRId64
                   "], but the model's settings call for [%" PRId64 ", %" PRId64 "]."),
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
        &w->q_norm, &w->k_norm, &w->attn_post_norm, &w->ffn_post_norm,
      };
      for (gsize j = 0; j < G_N_ELEMENTS (views); j++)
        if (views[j]->data != NULL)
          func (views[j], user_data);
      if (temper_model_layer_is_moe (w))
        {
          func (&w->ffn_gate_inp, user_data);
          for (int e = 0; e < model->config.n_expert; e++)
            {
              func (&w->exp_gate[e], user_data);
              func (&w->exp_up[e], user_data);
              func (&w->exp_down[e], user_data);
            }
        }
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

typedef struct {
  int     type;
  guint64 elems;
} TypeShare;

static int
compare_share_desc (gconstpointer a, gconstpointer b)
{
  guint64 x = ((const TypeShare *) a)->elems, y = ((const TypeShare *) b)->elems;

  return x < y ? 1 : x > y ? -1 : 0;
}

/* "Q4_K 60 %, Q6_K 20 %, Q5_0 20 %", largest share first; NULL when the
 * matrices all have one type. */
static char *
describe_mix (const guint64 *elems_by_type)
{
  TypeShare shares[TEMPER_TYPE_COUNT];
  int n = 0;
  guint64 total = 0;
  GString *text;

  for (int t = 0; t < TEMPER_TYPE_COUNT; t++)
    if (elems_by_type[t] > 0 && temper_type_name (t) != NULL)
      {
        shares[n].type = t;
        shares[n].elems = elems_by_type[t];
        total += elems_by_type[t];
        n++;
      }
  if (n < 2)
    return NULL;
  qsort (shares, (size_t) n, sizeof shares[0], compare_share_desc);
  text = g_string_new (NULL);
  for (int i = 0; i < n; i++)
    {
      double percent = 100.0 * (double) shares[i].elems / (double) total;

      if (i > 0)
        g_string_append (text, ", ");
      if (percent < 1.0)
        g_string_append_printf (text, "%s <1 %%", temper_type_name (shares[i].type));
      else
        g_string_append_printf (text, "%s %.0f %%", temper_type_name (shares[i].type), percent);
    }
  return g_string_free (text, FALSE);
}

static gboolean
finish (temper_model_t *model, GError **error)
{
  guint32 file_type;
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
  /* A GGUF names its own mix (Q4_K_M holds more Q5_0 or Q6_K blocks than
   * one would guess); the most common block type is only a fallback. */
  if (model->gguf != NULL && temper_gguf_get_u32 (model->gguf, "general.file_type", &file_type)
      && temper_file_type_name (file_type) != NULL)
    model->quantization = g_strdup (temper_file_type_name (file_type));
  else
    model->quantization = g_strdup (best >= 0 && temper_type_name (best) != NULL ? temper_type_name (best) : "F32");
  model->quantization_mix = describe_mix (tally.elems_by_type);
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
  g_clear_pointer (&model->expert_views, g_ptr_array_unref);
  g_free (model->rope_factors);
  g_free (model->rope_long_factors);
  g_free (model->path);
  g_free (model->name);
  g_free (model->arch_name);
  g_free (model->chat_template);
  g_free (model->quantization);
  g_free (model->quantization_mix);
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

char *
temper_model_describe_quantization (const temper_model_t *model)
{
  if (model->quantization_mix == NULL)
    return g_strdup (model->quantization);
  return g_strdup_printf ("%s (%s)", model->quantization, model->quantization_mix);
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
