/* SPDX-License-Identifier: MIT */
/* Loading a tokenizer from the tokenizer.ggml.* keys of a GGUF file. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <inttypes.h>
#include <string.h>

#include "temper/error.h"
#include "temper-tokenizer-private.h"

/* llama.cpp's token types. */
enum {
  GGUF_TOKEN_NORMAL = 1,
  GGUF_TOKEN_UNKNOWN = 2,
  GGUF_TOKEN_CONTROL = 3,
  GGUF_TOKEN_USER_DEFINED = 4,
  GGUF_TOKEN_UNUSED = 5,
  GGUF_TOKEN_BYTE = 6,
};

/* Ids above this are certainly a damaged file, not a real vocabulary. */
#define MAX_VOCAB (1 << 24)

/* The order matters to temper_gguf_pre_tokenizer_name_for (): the first of
 * several names for the same splitting is the one exports write. */
static const TemperGgufPreTokenizer gguf_pre_tokenizers[] = {
  { "gpt-2",     { TEMPER_PRE_GPT2 }, 1, FALSE, TEMPER_NORMALIZE_NONE },
  { "default",   { TEMPER_PRE_GPT2 }, 1, FALSE, TEMPER_NORMALIZE_NONE },
  { "smollm",    { TEMPER_PRE_DIGITS_ISOLATED, TEMPER_PRE_GPT2 }, 2, FALSE, TEMPER_NORMALIZE_NONE },
  { "llama-bpe", { TEMPER_PRE_LLAMA3 }, 1, TRUE, TEMPER_NORMALIZE_NONE },
  { "llama3",    { TEMPER_PRE_LLAMA3 }, 1, TRUE, TEMPER_NORMALIZE_NONE },
  { "llama-v3",  { TEMPER_PRE_LLAMA3 }, 1, TRUE, TEMPER_NORMALIZE_NONE },
  { "qwen2",     { TEMPER_PRE_QWEN2 }, 1, FALSE, TEMPER_NORMALIZE_NFC },
};

const TemperGgufPreTokenizer *
temper_gguf_pre_tokenizer_by_name (const char *name)
{
  for (gsize i = 0; i < G_N_ELEMENTS (gguf_pre_tokenizers); i++)
    if (strcmp (name, gguf_pre_tokenizers[i].name) == 0)
      return &gguf_pre_tokenizers[i];
  return NULL;
}

const char *
temper_gguf_pre_tokenizer_name_for (const temper_tokenizer_t *tok)
{
  for (gsize i = 0; i < G_N_ELEMENTS (gguf_pre_tokenizers); i++)
    {
      const TemperGgufPreTokenizer *p = &gguf_pre_tokenizers[i];

      if (p->n_steps == tok->n_pre_steps &&
          memcmp (p->steps, tok->pre_steps, sizeof (TemperPreStep) * (gsize) p->n_steps) == 0 &&
          p->ignore_merges == tok->ignore_merges)
        return p->name;
    }
  return NULL;
}

char *
temper_gguf_pre_tokenizer_list (void)
{
  GString *known = g_string_new (NULL);

  for (gsize i = 0; i < G_N_ELEMENTS (gguf_pre_tokenizers); i++)
    g_string_append_printf (known, "%s%s", i > 0 ? ", " : "", gguf_pre_tokenizers[i].name);
  return g_string_free (known, FALSE);
}

static gboolean
set_pre_tokenizer (temper_tokenizer_t *tok, const char *pre, const char *path, GError **error)
{
  const TemperGgufPreTokenizer *p;
  g_autofree char *known = NULL;

  /* Files without the key are old conversions; llama.cpp falls back to its
   * default too. */
  if (pre == NULL)
    pre = "default";
  p = temper_gguf_pre_tokenizer_by_name (pre);
  if (p != NULL)
    {
      tok->n_pre_steps = p->n_steps;
      memcpy (tok->pre_steps, p->steps, sizeof (TemperPreStep) * (gsize) p->n_steps);
      tok->ignore_merges = p->ignore_merges;
      tok->normalize = p->normalize;
      return TRUE;
    }
  known = temper_gguf_pre_tokenizer_list ();
  g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_UNSUPPORTED,
               _("The model “%s” splits text with the “%s” pre-tokenizer, which Temper does not "
               "support yet (supported: %s)."), path, pre, known);
  return FALSE;
}

static gboolean
check_array (const temper_gguf_t *gguf, const char *key, TemperGgufValueType want,
             guint64 expected, gboolean required, gboolean *present, GError **error)
{
  const char *path = temper_gguf_get_path (gguf);
  TemperGgufValueType type;
  guint64 count;

  *present = temper_gguf_get_array_info (gguf, key, &type, &count);
  if (!*present)
    {
      if (required)
        g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE,
                     _("The model “%s” has no “%s” list, which its tokenizer needs. "
                     "The file may be damaged or converted by an old tool."), path, key);
      return !required;
    }
  if (type != want || count != expected)
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE,
                   _("The tokenizer in “%s” is damaged: “%s” has %" PRIu64
                   " entries of the wrong kind or number (expected %" PRIu64 ")."),
                   path, key, count, expected);
      return FALSE;
    }
  return TRUE;
}

static gboolean
read_token_id (const temper_gguf_t *gguf, const char *key, int n_vocab, int fallback,
               int *out, GError **error)
{
  gint64 value;

  *out = fallback < n_vocab ? fallback : -1;
  if (!temper_gguf_has_key (gguf, key))
    return TRUE;
  if (!temper_gguf_get_i64 (gguf, key, &value) || value < 0 || value >= n_vocab)
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE,
                   _("The tokenizer in “%s” is damaged: “%s” is not a token id of its "
                   "%d-token vocabulary."), temper_gguf_get_path (gguf), key, n_vocab);
      return FALSE;
    }
  *out = (int) value;
  return TRUE;
}

static gboolean
read_merges (temper_tokenizer_t *tok, const temper_gguf_t *gguf, GError **error)
{
  const char *path = temper_gguf_get_path (gguf);
  const char *key = "tokenizer.ggml.merges";
  TemperGgufValueType type;
  guint64 count;

  if (!temper_gguf_get_array_info (gguf, key, &type, &count) || type != TEMPER_GGUF_STRING)
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE,
                   _("The model “%s” has no “%s” list, which its byte-level tokenizer needs."),
                   path, key);
      return FALSE;
    }
  temper_merge_table_init (&tok->merges, count);
  for (guint64 i = 0; i < count; i++)
    {
      TemperGgufString m = temper_gguf_get_array_string (gguf, key, i);
      const char *space = m.len > 1 ? memchr (m.data + 1, ' ', m.len - 1) : NULL;

      if (space == NULL)
        {
          g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE,
                       _("The tokenizer in “%s” is damaged: merge %" PRIu64
                       " is not two tokens separated by a space."), path, i);
          return FALSE;
        }
      if (!temper_tokenizer_add_merge (tok, m.data, (gsize) (space - m.data), space + 1,
                                       (gsize) (m.data + m.len - space - 1), (int) i,
                                       path, error))
        return FALSE;
    }
  return TRUE;
}

temper_tokenizer_t *
temper_tokenizer_new_from_gguf (const temper_gguf_t *gguf, GError **error)
{
  const char *path = temper_gguf_get_path (gguf);
  g_autofree char *model = temper_gguf_dup_string (gguf, "tokenizer.ggml.model");
  g_autofree char *pre = temper_gguf_dup_string (gguf, "tokenizer.ggml.pre");
  g_autoptr(temper_tokenizer_t) tok = NULL;
  g_autofree gint32 *types = NULL;
  g_autofree float *scores = NULL;
  TemperGgufValueType type;
  guint64 count;
  gboolean present, spm, flag;
  int n;

  if (model == NULL)
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE,
                   _("The model “%s” has no tokenizer (the key tokenizer.ggml.model is missing)."),
                   path);
      return NULL;
    }
  if (strcmp (model, "gpt2") == 0)
    spm = FALSE;
  else if (strcmp (model, "llama") == 0)
    spm = TRUE;
  else
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_UNSUPPORTED,
                   _("The model “%s” uses a “%s” tokenizer; Temper supports byte-level BPE "
                   "(“gpt2”) and SentencePiece BPE (“llama”) tokenizers."), path, model);
      return NULL;
    }

  if (!temper_gguf_get_array_info (gguf, "tokenizer.ggml.tokens", &type, &count) ||
      type != TEMPER_GGUF_STRING || count == 0 || count > MAX_VOCAB)
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE,
                   _("The model “%s” has no usable token list (tokenizer.ggml.tokens)."), path);
      return NULL;
    }
  n = (int) count;
  tok = temper_tokenizer_alloc (spm ? TEMPER_TOKENIZER_SPM : TEMPER_TOKENIZER_BYTE_LEVEL, n);

  if (!check_array (gguf, "tokenizer.ggml.token_type", TEMPER_GGUF_INT32, count, FALSE,
                    &present, error))
    return NULL;
  if (present)
    {
      types = g_new (gint32, (gsize) n);
      memcpy (types, temper_gguf_get_array_data (gguf, "tokenizer.ggml.token_type"),
              sizeof (gint32) * (gsize) n);
    }
  if (!check_array (gguf, "tokenizer.ggml.scores", TEMPER_GGUF_FLOAT32, count, spm,
                    &present, error))
    return NULL;
  if (present && spm)
    {
      scores = g_new (float, (gsize) n);
      memcpy (scores, temper_gguf_get_array_data (gguf, "tokenizer.ggml.scores"),
              sizeof (float) * (gsize) n);
    }

  for (int i = 0; i < n; i++)
    {
      TemperGgufString s = temper_gguf_get_array_string (gguf, "tokenizer.ggml.tokens", (guint64) i);
      temper_tokenizer_set_piece (tok, i, s.data, (gsize) s.len);
      if (types != NULL && types[i] == GGUF_TOKEN_CONTROL)
        tok->flags[i] |= TEMPER_TOKEN_SPECIAL | TEMPER_TOKEN_ADDED;
      else if (types != NULL && types[i] == GGUF_TOKEN_USER_DEFINED)
        tok->flags[i] |= TEMPER_TOKEN_ADDED;
    }

  /* llama.cpp's defaults for absent ids: 1/2/0 for SentencePiece. */
  if (!read_token_id (gguf, "tokenizer.ggml.bos_token_id", n, spm ? 1 : -1, &tok->bos, error) ||
      !read_token_id (gguf, "tokenizer.ggml.eos_token_id", n, spm ? 2 : -1, &tok->eos, error) ||
      !read_token_id (gguf, "tokenizer.ggml.unknown_token_id", n, spm ? 0 : -1, &tok->unk, error) ||
      !read_token_id (gguf, "tokenizer.ggml.padding_token_id", n, -1, &tok->pad, error))
    return NULL;
  /* transformers builds a byte-level BPE from a GGUF with no unknown token;
   * SentencePiece vocabularies use theirs. */
  if (spm || (types != NULL && tok->unk >= 0 && types[tok->unk] == GGUF_TOKEN_UNKNOWN))
    tok->unknown_id = tok->unk;

  tok->add_bos = spm;
  if (temper_gguf_get_bool (gguf, "tokenizer.ggml.add_bos_token", &flag))
    tok->add_bos = flag;
  tok->chat_template = temper_gguf_dup_string (gguf, "tokenizer.chat_template");

  if (spm)
    {
      g_autofree gboolean *normal = g_new (gboolean, (gsize) n);
      gboolean add_space_prefix = TRUE;

      if (temper_gguf_get_bool (gguf, "tokenizer.ggml.add_space_prefix", &flag))
        add_space_prefix = flag;
      for (int i = 0; i < n; i++)
        normal[i] = types == NULL || types[i] == GGUF_TOKEN_NORMAL;
      /* Spaces become ▁ and a ▁ starts the text unless it already begins
       * with one: what Hugging Face's Metaspace (prepend_scheme "first")
       * does for the same vocabulary. */
      tok->prepend = add_space_prefix ? TEMPER_PREPEND_FIRST : TEMPER_PREPEND_NEVER;
      tok->prepend_unless_space = TRUE;
      tok->strip_leading_space = add_space_prefix;
      tok->byte_fallback = TRUE;
      tok->fuse_unk = TRUE;
      temper_tokenizer_merges_from_scores (tok, scores, normal);
    }
  else
    {
      if (!set_pre_tokenizer (tok, pre, path, error) || !read_merges (tok, gguf, error))
        return NULL;
    }

  if (!temper_tokenizer_finish (tok, path, error))
    return NULL;
  return g_steal_pointer (&tok);
}
