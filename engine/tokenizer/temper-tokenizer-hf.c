/* SPDX-License-Identifier: MIT */
/* Loading a tokenizer from a Hugging Face tokenizer.json (and, for the special
 * tokens and chat template, tokenizer_config.json).
 *
 * Only what the Llama family uses is accepted: a BPE model, byte-level or
 * SentencePiece style.  The pre-tokenizer regexes are recognised by their
 * exact text and mapped to Temper's matchers; anything else is refused with a
 * message naming it, rather than tokenized differently from the model. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <string.h>

#include <json-glib/json-glib.h>

#include "temper/error.h"
#include "temper/json.h"
#include "temper-tokenizer-private.h"

#define MAX_VOCAB (1 << 24)
#define SPM_SPACE "\xE2\x96\x81"

typedef struct {
  const char *path;
  gboolean    byte_level;     /* a ByteLevel step was seen */
  gboolean    spm_style;      /* Metaspace or ▁ replacement seen */
} HfContext;

static JsonNode *
member (JsonObject *o, const char *name)
{
  if (o == NULL || !json_object_has_member (o, name))
    return NULL;
  return json_object_get_member (o, name);
}

static JsonObject *
member_object (JsonObject *o, const char *name)
{
  JsonNode *n = member (o, name);
  return n != NULL && JSON_NODE_HOLDS_OBJECT (n) ? json_node_get_object (n) : NULL;
}

static JsonArray *
member_array (JsonObject *o, const char *name)
{
  JsonNode *n = member (o, name);
  return n != NULL && JSON_NODE_HOLDS_ARRAY (n) ? json_node_get_array (n) : NULL;
}

static const char *
node_string (JsonNode *n)
{
  if (n != NULL && JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_STRING)
    return json_node_get_string (n);
  return NULL;
}

static const char *
member_string (JsonObject *o, const char *name)
{
  return node_string (member (o, name));
}

static gboolean
member_bool (JsonObject *o, const char *name, gboolean fallback)
{
  JsonNode *n = member (o, name);
  if (n != NULL && JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_BOOLEAN)
    return json_node_get_boolean (n);
  return fallback;
}

static gboolean
node_int (JsonNode *n, gint64 *out)
{
  if (n != NULL && JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_INT64)
    {
      *out = json_node_get_int (n);
      return TRUE;
    }
  return FALSE;
}

static gboolean
fail (GError **error, TemperErrorCode code, const char *path, const char *format, ...) G_GNUC_PRINTF (4, 5);

static gboolean
fail (GError **error, TemperErrorCode code, const char *path, const char *format, ...)
{
  va_list args;
  g_autofree char *detail = NULL;

  va_start (args, format);
  detail = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, TEMPER_ERROR, code, _("The tokenizer file “%s” %s"), path, detail);
  return FALSE;
}

/* --- normalizer ---------------------------------------------------------- */

static gboolean
apply_normalizer (temper_tokenizer_t *tok, HfContext *ctx, JsonObject *n, GError **error)
{
  const char *type = member_string (n, "type");

  if (type == NULL)
    return fail (error, TEMPER_ERROR_INVALID_FILE, ctx->path, _("has a normalizer without a type."));
  if (strcmp (type, "Sequence") == 0)
    {
      JsonArray *list = member_array (n, "normalizers");
      if (list == NULL)
        return fail (error, TEMPER_ERROR_INVALID_FILE, ctx->path, _("has a malformed normalizer list."));
      for (guint i = 0; i < json_array_get_length (list); i++)
        {
          JsonNode *item = json_array_get_element (list, i);
          if (!JSON_NODE_HOLDS_OBJECT (item))
            return fail (error, TEMPER_ERROR_INVALID_FILE, ctx->path, _("has a malformed normalizer list."));
          if (!apply_normalizer (tok, ctx, json_node_get_object (item), error))
            return FALSE;
        }
      return TRUE;
    }
  if (strcmp (type, "NFC") == 0 || strcmp (type, "NFKC") == 0)
    {
      tok->normalize = type[2] == 'C' ? TEMPER_NORMALIZE_NFC : TEMPER_NORMALIZE_NFKC;
      return TRUE;
    }
  if (strcmp (type, "Prepend") == 0 && g_strcmp0 (member_string (n, "prepend"), SPM_SPACE) == 0)
    {
      /* Legacy Llama files: a ▁ before every stretch of text. */
      tok->prepend = TEMPER_PREPEND_ALWAYS;
      tok->prepend_unless_space = FALSE;
      ctx->spm_style = TRUE;
      return TRUE;
    }
  if (strcmp (type, "Replace") == 0 &&
      g_strcmp0 (member_string (member_object (n, "pattern"), "String"), " ") == 0 &&
      g_strcmp0 (member_string (n, "content"), SPM_SPACE) == 0)
    {
      ctx->spm_style = TRUE;
      return TRUE;
    }
  return fail (error, TEMPER_ERROR_UNSUPPORTED, ctx->path,
               _("uses a “%s” normalizer, which Temper does not support."), type);
}

/* --- pre-tokenizer ------------------------------------------------------- */

static gboolean
add_step (temper_tokenizer_t *tok, HfContext *ctx, TemperPreStep step, GError **error)
{
  if (tok->n_pre_steps == TEMPER_MAX_PRE_STEPS)
    return fail (error, TEMPER_ERROR_UNSUPPORTED, ctx->path, _("chains too many pre-tokenizers."));
  tok->pre_steps[tok->n_pre_steps++] = step;
  return TRUE;
}

static gboolean
apply_pre_tokenizer (temper_tokenizer_t *tok, HfContext *ctx, JsonObject *p, GError **error)
{
  const char *type = member_string (p, "type");

  if (type == NULL)
    return fail (error, TEMPER_ERROR_INVALID_FILE, ctx->path, _("has a pre-tokenizer without a type."));

  if (strcmp (type, "Sequence") == 0)
    {
      JsonArray *list = member_array (p, "pretokenizers");
      if (list == NULL)
        return fail (error, TEMPER_ERROR_INVALID_FILE, ctx->path, _("has a malformed pre-tokenizer list."));
      for (guint i = 0; i < json_array_get_length (list); i++)
        {
          JsonNode *item = json_array_get_element (list, i);
          if (!JSON_NODE_HOLDS_OBJECT (item))
            return fail (error, TEMPER_ERROR_INVALID_FILE, ctx->path, _("has a malformed pre-tokenizer list."));
          if (!apply_pre_tokenizer (tok, ctx, json_node_get_object (item), error))
            return FALSE;
        }
      return TRUE;
    }

  if (strcmp (type, "ByteLevel") == 0)
    {
      ctx->byte_level = TRUE;
      if (member_bool (p, "add_prefix_space", FALSE))
        return fail (error, TEMPER_ERROR_UNSUPPORTED, ctx->path,
                     _("adds a space before the text (ByteLevel add_prefix_space), which Temper "
                     "does not support."));
      if (member_bool (p, "use_regex", TRUE))
        return add_step (tok, ctx, TEMPER_PRE_GPT2, error);
      return TRUE;
    }

  if (strcmp (type, "Digits") == 0)
    return add_step (tok, ctx, member_bool (p, "individual_digits", FALSE)
                                 ? TEMPER_PRE_DIGITS_ISOLATED : TEMPER_PRE_DIGITS_GROUPED, error);

  if (strcmp (type, "Split") == 0)
    {
      JsonObject *pattern = member_object (p, "pattern");
      const char *regex = member_string (pattern, "Regex");
      const char *behavior = member_string (p, "behavior");
      TemperPreStep step;

      if (regex == NULL)
        return fail (error, TEMPER_ERROR_UNSUPPORTED, ctx->path,
                     _("splits text on a fixed string, which Temper does not support."));
      if (g_strcmp0 (behavior, "Isolated") != 0 || member_bool (p, "invert", FALSE))
        return fail (error, TEMPER_ERROR_UNSUPPORTED, ctx->path,
                     _("splits text with behaviour “%s”; Temper supports only “Isolated”."),
                     behavior != NULL ? behavior : "(none)");
      if (!temper_pre_step_from_regex (regex, &step))
        return fail (error, TEMPER_ERROR_UNSUPPORTED, ctx->path,
                     _("splits text with the regular expression “%s”, which is not one Temper "
                     "knows (GPT-2, Llama 3, Qwen2 or digits)."), regex);
      return add_step (tok, ctx, step, error);
    }

  if (strcmp (type, "Metaspace") == 0)
    {
      const char *scheme = member_string (p, "prepend_scheme");

      if (g_strcmp0 (member_string (p, "replacement"), SPM_SPACE) != 0)
        return fail (error, TEMPER_ERROR_UNSUPPORTED, ctx->path,
                     _("writes spaces as something other than “▁”."));
      ctx->spm_style = TRUE;
      tok->prepend_unless_space = TRUE;
      tok->split_on_space = member_bool (p, "split", TRUE);
      if (scheme == NULL)   /* files before prepend_scheme existed */
        tok->prepend = member_bool (p, "add_prefix_space", TRUE) ? TEMPER_PREPEND_ALWAYS
                                                                 : TEMPER_PREPEND_NEVER;
      else if (strcmp (scheme, "first") == 0)
        tok->prepend = TEMPER_PREPEND_FIRST;
      else if (strcmp (scheme, "always") == 0)
        tok->prepend = TEMPER_PREPEND_ALWAYS;
      else if (strcmp (scheme, "never") == 0)
        tok->prepend = TEMPER_PREPEND_NEVER;
      else
        return fail (error, TEMPER_ERROR_INVALID_FILE, ctx->path,
                     _("has an unknown Metaspace prepend_scheme “%s”."), scheme);
      return TRUE;
    }

  return fail (error, TEMPER_ERROR_UNSUPPORTED, ctx->path,
               _("uses a “%s” pre-tokenizer, which Temper does not support."), type);
}

/* Whether the decoder drops the space a ▁ prefix put at the start. */
static gboolean
decoder_strips_space (JsonObject *d)
{
  const char *type = member_string (d, "type");
  JsonArray *list;

  if (type == NULL)
    return FALSE;
  if (strcmp (type, "Strip") == 0)
    {
      gint64 start = 0;
      return g_strcmp0 (member_string (d, "content"), " ") == 0 &&
             node_int (member (d, "start"), &start) && start > 0;
    }
  if (strcmp (type, "Metaspace") == 0)
    return g_strcmp0 (member_string (d, "prepend_scheme"), "never") != 0 &&
           member_bool (d, "add_prefix_space", TRUE);
  if (strcmp (type, "Sequence") != 0 || (list = member_array (d, "decoders")) == NULL)
    return FALSE;
  for (guint i = 0; i < json_array_get_length (list); i++)
    {
      JsonNode *item = json_array_get_element (list, i);
      if (JSON_NODE_HOLDS_OBJECT (item) && decoder_strips_space (json_node_get_object (item)))
        return TRUE;
    }
  return FALSE;
}

/* --- model --------------------------------------------------------------- */

static void
replace_piece (temper_tokenizer_t *tok, int id, const char *content)
{
  if (tok->pieces[id] != NULL)
    {
      if (strcmp (tok->pieces[id], content) == 0)
        return;
      if (GPOINTER_TO_INT (g_hash_table_lookup (tok->piece_to_id, tok->pieces[id])) == id + 1)
        g_hash_table_remove (tok->piece_to_id, tok->pieces[id]);
      g_clear_pointer (&tok->pieces[id], g_free);
    }
  temper_tokenizer_set_piece (tok, id, content, strlen (content));
}

static gboolean
read_merges (temper_tokenizer_t *tok, HfContext *ctx, JsonArray *merges, GError **error)
{
  guint n = json_array_get_length (merges);
  int rank = 0;

  temper_merge_table_init (&tok->merges, n);
  for (guint i = 0; i < n; i++)
    {
      JsonNode *item = json_array_get_element (merges, i);
      const char *text = node_string (item);
      const char *left = NULL, *right = NULL;
      gsize left_len = 0, right_len = 0;

      if (text != NULL)
        {
          const char *space = strchr (text, ' ');
          if (i == 0 && g_str_has_prefix (text, "#version"))
            continue;
          if (space == NULL || strchr (space + 1, ' ') != NULL)
            return fail (error, TEMPER_ERROR_INVALID_FILE, ctx->path,
                         _("has a merge (number %u) that is not two tokens separated by a space."), i);
          left = text;
          left_len = (gsize) (space - text);
          right = space + 1;
          right_len = strlen (right);
        }
      else if (JSON_NODE_HOLDS_ARRAY (item) && json_array_get_length (json_node_get_array (item)) == 2)
        {
          JsonArray *pair = json_node_get_array (item);
          left = node_string (json_array_get_element (pair, 0));
          right = node_string (json_array_get_element (pair, 1));
          left_len = left != NULL ? strlen (left) : 0;
          right_len = right != NULL ? strlen (right) : 0;
        }
      if (left == NULL || right == NULL)
        return fail (error, TEMPER_ERROR_INVALID_FILE, ctx->path,
                     _("has a merge (number %u) that is neither “a b” nor [\"a\", \"b\"]."), i);
      if (!temper_tokenizer_add_merge (tok, left, left_len, right, right_len, rank++,
                                       ctx->path, error))
        return FALSE;
    }
  return TRUE;
}

static gboolean
read_id_bound (JsonNode *node, int *max_id)
{
  gint64 id;

  if (!node_int (node, &id) || id < 0 || id >= MAX_VOCAB)
    return FALSE;
  *max_id = MAX (*max_id, (int) id);
  return TRUE;
}

/* The "model" section describes a BPE model Temper can run: a vocabulary,
 * merges, and no word-piece markers. */
static gboolean
check_bpe_model (JsonObject *model, HfContext *ctx, GError **error)
{
  const char *type = member_string (model, "type");
  const char *prefix = member_string (model, "continuing_subword_prefix");
  const char *suffix = member_string (model, "end_of_word_suffix");

  if (model == NULL)
    {
      fail (error, TEMPER_ERROR_INVALID_FILE, ctx->path, _("has no “model” section."));
      return FALSE;
    }
  if (type == NULL && member_array (model, "merges") != NULL)
    type = "BPE";
  if (g_strcmp0 (type, "BPE") != 0)
    {
      fail (error, TEMPER_ERROR_UNSUPPORTED, ctx->path,
            _("holds a %s tokenizer; Temper supports BPE tokenizers (Llama, Mistral, Qwen2, "
            "SmolLM) only."), type != NULL ? type : "untyped");
      return FALSE;
    }
  if (member_object (model, "vocab") == NULL || member_array (model, "merges") == NULL)
    {
      fail (error, TEMPER_ERROR_INVALID_FILE, ctx->path, _("has no vocabulary or merge list."));
      return FALSE;
    }
  if ((prefix != NULL && prefix[0] != '\0') || (suffix != NULL && suffix[0] != '\0'))
    {
      fail (error, TEMPER_ERROR_UNSUPPORTED, ctx->path,
            _("marks word pieces with a prefix or suffix, which Temper does not support."));
      return FALSE;
    }
  return TRUE;
}

/* The largest token id of the vocabulary (@words, its keys) and the added
 * tokens, each checked to be a number in range; -1 with @error set when one
 * is not or there are none. */
static int
read_max_id (JsonObject *vocab, GList *words, JsonArray *added, HfContext *ctx, GError **error)
{
  int max_id = -1;

  for (GList *l = words; l != NULL; l = l->next)
    if (!read_id_bound (json_object_get_member (vocab, l->data), &max_id))
      {
        fail (error, TEMPER_ERROR_INVALID_FILE, ctx->path,
              _("gives the token “%s” an id that is not a number in range."), (const char *) l->data);
        return -1;
      }
  for (guint i = 0; added != NULL && i < json_array_get_length (added); i++)
    {
      JsonNode *item = json_array_get_element (added, i);
      if (!JSON_NODE_HOLDS_OBJECT (item) ||
          member_string (json_node_get_object (item), "content") == NULL ||
          !read_id_bound (member (json_node_get_object (item), "id"), &max_id))
        {
          fail (error, TEMPER_ERROR_INVALID_FILE, ctx->path,
                _("has an added token (number %u) without valid content and id."), i);
          return -1;
        }
    }
  if (max_id < 0)
    fail (error, TEMPER_ERROR_INVALID_FILE, ctx->path, _("has an empty vocabulary."));
  return max_id;
}

/* Every piece of the vocabulary at its id, then the added tokens over them
 * with their flags. */
static gboolean
set_pieces (temper_tokenizer_t *tok, JsonObject *vocab, GList *words, JsonArray *added,
            HfContext *ctx, GError **error)
{
  for (GList *l = words; l != NULL; l = l->next)
    {
      gint64 id = 0;
      node_int (json_object_get_member (vocab, l->data), &id);
      if (!temper_tokenizer_set_piece (tok, (int) id, l->data, strlen (l->data)))
        {
          fail (error, TEMPER_ERROR_INVALID_FILE, ctx->path,
                _("gives id %d to more than one token."), (int) id);
          return FALSE;
        }
    }
  for (guint i = 0; added != NULL && i < json_array_get_length (added); i++)
    {
      JsonObject *t = json_node_get_object (json_array_get_element (added, i));
      gint64 id = 0;

      node_int (member (t, "id"), &id);
      replace_piece (tok, (int) id, member_string (t, "content"));
      tok->flags[id] |= TEMPER_TOKEN_ADDED;
      if (member_bool (t, "special", FALSE))
        tok->flags[id] |= TEMPER_TOKEN_SPECIAL;
      if (member_bool (t, "lstrip", FALSE))
        tok->flags[id] |= TEMPER_TOKEN_LSTRIP;
      if (member_bool (t, "rstrip", FALSE))
        tok->flags[id] |= TEMPER_TOKEN_RSTRIP;
      if (member_bool (t, "single_word", FALSE))
        tok->flags[id] |= TEMPER_TOKEN_SINGLE_WORD;
    }
  return TRUE;
}

/* Byte-level or SentencePiece-style, from what the normalizer, the
 * pre-tokenizer and the decoder said and the model's flags. */
static gboolean
set_kind (temper_tokenizer_t *tok, JsonObject *model, JsonObject *decoder, HfContext *ctx,
          GError **error)
{
  if (g_strcmp0 (member_string (decoder, "type"), "ByteLevel") == 0)
    ctx->byte_level = TRUE;

  tok->byte_fallback = member_bool (model, "byte_fallback", FALSE);
  tok->ignore_merges = member_bool (model, "ignore_merges", FALSE);
  tok->fuse_unk = member_bool (model, "fuse_unk", FALSE);
  if (ctx->byte_level)
    tok->kind = TEMPER_TOKENIZER_BYTE_LEVEL;
  else if (ctx->spm_style || tok->byte_fallback)
    {
      tok->kind = TEMPER_TOKENIZER_SPM;
      tok->strip_leading_space = decoder_strips_space (decoder);
      if (tok->n_pre_steps > 0)
        {
          fail (error, TEMPER_ERROR_UNSUPPORTED, ctx->path,
                _("combines SentencePiece-style spaces with regex splitting, which Temper does "
                "not support."));
          return FALSE;
        }
    }
  else
    {
      fail (error, TEMPER_ERROR_UNSUPPORTED, ctx->path,
            _("is a BPE tokenizer that is neither byte-level nor SentencePiece-style."));
      return FALSE;
    }
  return TRUE;
}

static temper_tokenizer_t *
build_from_json (JsonObject *root, HfContext *ctx, GError **error)
{
  JsonObject *model = member_object (root, "model");
  JsonObject *vocab = member_object (model, "vocab");
  JsonArray *merges = member_array (model, "merges");
  JsonArray *added = member_array (root, "added_tokens");
  JsonNode *normalizer = member (root, "normalizer");
  JsonNode *pre = member (root, "pre_tokenizer");
  const char *unk = member_string (model, "unk_token");
  g_autoptr(temper_tokenizer_t) tok = NULL;
  g_autoptr(GList) words = NULL;
  int max_id;

  if (!check_bpe_model (model, ctx, error))
    return NULL;
  words = json_object_get_members (vocab);
  max_id = read_max_id (vocab, words, added, ctx, error);
  if (max_id < 0)
    return NULL;

  tok = temper_tokenizer_alloc (TEMPER_TOKENIZER_BYTE_LEVEL, max_id + 1);
  if (!set_pieces (tok, vocab, words, added, ctx, error))
    return NULL;
  if (normalizer != NULL && JSON_NODE_HOLDS_OBJECT (normalizer) &&
      !apply_normalizer (tok, ctx, json_node_get_object (normalizer), error))
    return NULL;
  if (pre != NULL && JSON_NODE_HOLDS_OBJECT (pre) &&
      !apply_pre_tokenizer (tok, ctx, json_node_get_object (pre), error))
    return NULL;
  if (!set_kind (tok, model, member_object (root, "decoder"), ctx, error))
    return NULL;

  if (unk != NULL && (tok->unk = temper_tokenizer_find_token (tok, unk)) < 0)
    {
      fail (error, TEMPER_ERROR_INVALID_FILE, ctx->path,
            _("names “%s” as its unknown token, but that is not in its vocabulary."), unk);
      return NULL;
    }
  tok->unknown_id = tok->unk;
  if (!read_merges (tok, ctx, merges, error))
    return NULL;
  return g_steal_pointer (&tok);
}

/* --- tokenizer_config.json ----------------------------------------------- */

/* A special token is given either as a string or as {"content": …}. */
static int
config_token (temper_tokenizer_t *tok, JsonObject *config, const char *name)
{
  JsonNode *n = member (config, name);
  const char *text = node_string (n);

  if (text == NULL && n != NULL && JSON_NODE_HOLDS_OBJECT (n))
    text = member_string (json_node_get_object (n), "content");
  return text != NULL ? temper_tokenizer_find_token (tok, text) : -1;
}

/* Llama 3 style files say nothing of add_bos_token: the BOS comes from the
 * post-processor's template ("single": [SpecialToken, Sequence A]). */
static int
post_processor_bos (temper_tokenizer_t *tok, JsonObject *post)
{
  const char *type = member_string (post, "type");
  JsonArray *list;

  if (g_strcmp0 (type, "Sequence") == 0 && (list = member_array (post, "processors")) != NULL)
    {
      for (guint i = 0; i < json_array_get_length (list); i++)
        {
          JsonNode *item = json_array_get_element (list, i);
          int id = JSON_NODE_HOLDS_OBJECT (item)
                   ? post_processor_bos (tok, json_node_get_object (item)) : -1;
          if (id >= 0)
            return id;
        }
      return -1;
    }
  if (g_strcmp0 (type, "TemplateProcessing") == 0 && (list = member_array (post, "single")) != NULL &&
      json_array_get_length (list) > 0 && JSON_NODE_HOLDS_OBJECT (json_array_get_element (list, 0)))
    {
      JsonObject *first = json_node_get_object (json_array_get_element (list, 0));
      const char *id = member_string (member_object (first, "SpecialToken"), "id");
      return id != NULL ? temper_tokenizer_find_token (tok, id) : -1;
    }
  return -1;
}

static gboolean
read_config (temper_tokenizer_t *tok, const char *config_path, GError **error)
{
  g_autoptr(JsonNode) document = NULL;
  g_autoptr(GError) local = NULL;
  g_autofree char *dir = g_path_get_dirname (config_path);
  g_autofree char *jinja = g_build_filename (dir, "chat_template.jinja", NULL);
  JsonObject *config;
  JsonNode *template;
  JsonNode *add_bos;

  document = temper_json_parse_file (config_path, TEMPER_JSON_MAX_DOCUMENT_SIZE, &local);
  if (document == NULL || !JSON_NODE_HOLDS_OBJECT (document))
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE,
                   _("The tokenizer settings “%s” could not be read: %s"), config_path,
                   local != NULL ? local->message : _("it is not a JSON object"));
      return FALSE;
    }
  config = json_node_get_object (document);

  tok->bos = config_token (tok, config, "bos_token");
  tok->eos = config_token (tok, config, "eos_token");
  tok->pad = config_token (tok, config, "pad_token");
  if (tok->unk < 0)
    tok->unk = config_token (tok, config, "unk_token");
  add_bos = member (config, "add_bos_token");
  if (add_bos != NULL && JSON_NODE_HOLDS_VALUE (add_bos))
    tok->add_bos = member_bool (config, "add_bos_token", FALSE);

  template = member (config, "chat_template");
  if (node_string (template) != NULL)
    tok->chat_template = g_strdup (node_string (template));
  else if (template != NULL && JSON_NODE_HOLDS_ARRAY (template))
    {
      /* Several named templates: the one named "default" is for chat. */
      JsonArray *list = json_node_get_array (template);
      for (guint i = 0; i < json_array_get_length (list); i++)
        {
          JsonNode *item = json_array_get_element (list, i);
          JsonObject *o = JSON_NODE_HOLDS_OBJECT (item) ? json_node_get_object (item) : NULL;
          if (g_strcmp0 (member_string (o, "name"), "default") == 0 &&
              member_string (o, "template") != NULL)
            tok->chat_template = g_strdup (member_string (o, "template"));
        }
    }
  if (tok->chat_template == NULL)
    g_file_get_contents (jinja, &tok->chat_template, NULL, NULL);
  return TRUE;
}

temper_tokenizer_t *
temper_tokenizer_new_from_hf (const char *tokenizer_json_path, const char *config_path,
                              GError **error)
{
  g_autoptr(JsonNode) document = NULL;
  g_autoptr(GError) local = NULL;
  g_autoptr(temper_tokenizer_t) tok = NULL;
  HfContext ctx = { tokenizer_json_path, FALSE, FALSE };
  JsonObject *root;
  int template_bos;

  g_return_val_if_fail (tokenizer_json_path != NULL, NULL);

  document = temper_json_parse_file (tokenizer_json_path, TEMPER_JSON_MAX_DOCUMENT_SIZE, &local);
  if (document == NULL)
    {
      g_set_error (error, TEMPER_ERROR,
                   g_error_matches (local, TEMPER_ERROR, TEMPER_ERROR_IO)
                     ? TEMPER_ERROR_IO : TEMPER_ERROR_INVALID_FILE,
                   _("The tokenizer file “%s” could not be read: %s"), tokenizer_json_path,
                   local->message);
      return NULL;
    }
  if (!JSON_NODE_HOLDS_OBJECT (document))
    {
      fail (error, TEMPER_ERROR_INVALID_FILE, tokenizer_json_path, _("is not a JSON object."));
      return NULL;
    }
  root = json_node_get_object (document);
  tok = build_from_json (root, &ctx, error);
  if (tok == NULL)
    return NULL;

  template_bos = post_processor_bos (tok, member_object (root, "post_processor"));
  if (template_bos >= 0)
    {
      tok->bos = template_bos;
      tok->add_bos = TRUE;
    }
  if (config_path != NULL)
    {
      int bos_before = tok->bos;
      if (!read_config (tok, config_path, error))
        return NULL;
      if (tok->bos < 0)
        tok->bos = bos_before;
    }

  if (!temper_tokenizer_finish (tok, tokenizer_json_path, error))
    return NULL;
  return g_steal_pointer (&tok);
}
