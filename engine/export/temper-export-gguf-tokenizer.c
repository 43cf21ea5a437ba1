/* SPDX-License-Identifier: MIT */
/* temper-export-gguf-tokenizer.c — a Hugging Face tokenizer (tokenizer.json,
 * already loaded by Temper) written as the tokenizer.ggml.* keys of a GGUF,
 * so llama.cpp, Ollama and Temper's own GGUF loader split text into the same
 * ids as the original tokenizer.json does. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <string.h>

#include "temper/error.h"
#include "temper/gguf.h"
#include "temper-export-private.h"
#include "temper-tokenizer-private.h"

/* llama.cpp's token types (FORMATS.md §1.5). */
enum {
  TOKEN_TYPE_NORMAL = 1,
  TOKEN_TYPE_UNKNOWN = 2,
  TOKEN_TYPE_CONTROL = 3,
  TOKEN_TYPE_USER_DEFINED = 4,
  TOKEN_TYPE_UNUSED = 5,
  TOKEN_TYPE_BYTE = 6,
};

static const char *
step_name (TemperPreStep step)
{
  switch (step)
    {
    case TEMPER_PRE_DIGITS_ISOLATED: return _("single digits");
    case TEMPER_PRE_DIGITS_GROUPED: return _("digit runs");
    case TEMPER_PRE_GPT2: return _("GPT-2 words");
    case TEMPER_PRE_LLAMA3: return _("Llama 3 words");
    case TEMPER_PRE_QWEN2: return _("Qwen2 words");
    default: return _("unknown");
    }
}

static void
describe_pre (const temper_tokenizer_t *tok, GString *out)
{
  for (int i = 0; i < tok->n_pre_steps; i++)
    g_string_append_printf (out, "%s%s", i > 0 ? " + " : "", step_name (tok->pre_steps[i]));
  if (tok->n_pre_steps == 0)
    g_string_append (out, _("no pre-tokenizer"));
  if (tok->ignore_merges)
    g_string_append (out, _(", whole-word tokens first"));
}

static int
compare_rank (gconstpointer a, gconstpointer b)
{
  const TemperExportMerge *x = a, *y = b;

  return (x->rank > y->rank) - (x->rank < y->rank);
}

GArray *
temper_export_merges_by_rank (const temper_tokenizer_t *tok)
{
  const TemperMergeTable *t = &tok->merges;
  GArray *out = g_array_sized_new (FALSE, FALSE, sizeof (TemperExportMerge), (guint) t->count);

  for (gsize i = 0; t->keys != NULL && i <= t->mask; i++)
    if (t->keys[i] != 0)
      {
        TemperExportMerge e = {
          .rank = t->ranks[i],
          .left = (gint32) ((t->keys[i] >> 32) - 1),
          .right = (gint32) (guint32) t->keys[i],
          .result = t->results[i],
        };
        g_array_append_val (out, e);
      }
  g_array_sort (out, compare_rank);
  return out;
}

static int
token_type (const temper_tokenizer_t *tok, int id)
{
  guint8 f = tok->flags[id];

  /* As llama.cpp's converter: SentencePiece's <unk> is of its own kind; a
   * byte-level vocabulary's unknown token (often <|endoftext|>) is an
   * ordinary control token. */
  if (tok->kind == TEMPER_TOKENIZER_SPM && id == tok->unk)
    return TOKEN_TYPE_UNKNOWN;
  if (f & TEMPER_TOKEN_SPECIAL)
    return TOKEN_TYPE_CONTROL;
  if (f & TEMPER_TOKEN_ADDED)
    return TOKEN_TYPE_USER_DEFINED;
  if (f & TEMPER_TOKEN_BYTE)
    return TOKEN_TYPE_BYTE;
  return TOKEN_TYPE_NORMAL;
}

static const char *const end_of_turn_pieces[] = {
  "<|im_end|>", "<|eot_id|>", "<|end|>", "<end_of_turn>", "<|eot|>",
};

/* The end-of-turn token: the first stop token spelled like one. */
static int
end_of_turn_id (const int *stop_tokens, const temper_tokenizer_t *tok)
{
  for (const int *s = stop_tokens; s != NULL && *s >= 0; s++)
    for (gsize i = 0; i < G_N_ELEMENTS (end_of_turn_pieces); i++)
      if (*s < tok->n_vocab && g_strcmp0 (tok->pieces[*s], end_of_turn_pieces[i]) == 0)
        return *s;
  return -1;
}

static void
set_id (temper_gguf_writer_t *w, const char *key, int id)
{
  if (id >= 0)
    temper_gguf_writer_set_u32 (w, key, (guint32) id);
}

gboolean
temper_export_gguf_tokenizer_check (const temper_tokenizer_t *tok, int n_rows, const char *path,
                                    GError **error)
{
  gboolean spm = tok->kind == TEMPER_TOKENIZER_SPM;

  if (tok->n_vocab > n_rows)
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_UNSUPPORTED,
                   _("The tokenizer of “%s” has %d tokens but the model has embeddings for only "
                   "%d; llama.cpp cannot load such a GGUF. Export a merged Hugging Face folder "
                   "or an adapter instead."), path, tok->n_vocab, n_rows);
      return FALSE;
    }
  if (!spm)
    {
      const char *pre = temper_gguf_pre_tokenizer_name_for (tok);

      if (pre == NULL || tok->prepend != TEMPER_PREPEND_NEVER)
        {
          g_autoptr(GString) what = g_string_new (NULL);

          describe_pre (tok, what);
          g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_UNSUPPORTED,
                       _("The tokenizer of “%s” splits text in a way (%s) that has no GGUF name "
                       "llama.cpp knows, so a merged GGUF would tokenize differently. Export a "
                       "merged Hugging Face folder or an adapter instead."), path, what->str);
          return FALSE;
        }
    }
  return TRUE;
}

/* The tokenizer's own id, else @fallback's when it is a token of the list. */
static int
own_or (int own, int fallback, int n)
{
  if (own >= 0)
    return own;
  return fallback >= 0 && fallback < n ? fallback : -1;
}

const char *
temper_export_gguf_pre_name (const temper_tokenizer_t *tok)
{
  if (tok->kind == TEMPER_TOKENIZER_SPM)
    return "default";
  return temper_gguf_pre_tokenizer_name_for (tok);
}

gboolean
temper_export_gguf_tokenizer (temper_gguf_writer_t *w, const temper_tokenizer_t *tok,
                              const char *chat_template, const int *stop_tokens,
                              const TemperExportTokenIds *fallback, int n_rows,
                              const char *path, GError **error)
{
  gboolean spm = tok->kind == TEMPER_TOKENIZER_SPM;
  const char *pre = temper_export_gguf_pre_name (tok);
  int n = MAX (n_rows, tok->n_vocab);
  int eot;
  g_autoptr(GPtrArray) tokens = g_ptr_array_new_full ((guint) n, g_free);
  g_autofree gint32 *types = g_new (gint32, (gsize) n);
  g_autoptr(GArray) merges = temper_export_merges_by_rank (tok);

  if (!temper_export_gguf_tokenizer_check (tok, n_rows, path, error))
    return FALSE;

  /* Ids past the tokenizer's list (embedding rows padded for speed) get
   * unique unused names, as llama.cpp's converter writes them: llama.cpp
   * takes the vocabulary size from this list and checks it against the
   * embedding. */
  for (int i = 0; i < n; i++)
    {
      if (i < tok->n_vocab && tok->pieces[i] != NULL && tok->pieces[i][0] != '\0')
        {
          g_ptr_array_add (tokens, g_strdup (tok->pieces[i]));
          types[i] = token_type (tok, i);
        }
      else
        {
          g_ptr_array_add (tokens, g_strdup_printf ("[PAD%d]", i));
          types[i] = TOKEN_TYPE_UNUSED;
        }
    }

  temper_gguf_writer_set_string (w, "tokenizer.ggml.model", spm ? "llama" : "gpt2");
  if (pre != NULL)
    temper_gguf_writer_set_string (w, "tokenizer.ggml.pre", pre);
  temper_gguf_writer_set_string_array (w, "tokenizer.ggml.tokens",
                                       (const char *const *) tokens->pdata, tokens->len);
  temper_gguf_writer_set_i32_array (w, "tokenizer.ggml.token_type", types, (gsize) n);

  if (spm)
    {
      /* SentencePiece GGUFs rank merges by the score of the token a merge
       * makes, higher first.  A token made by merge r scores −r; tokens no
       * merge makes (single characters, bytes, added tokens) score below
       * every merge, so the GGUF ranks the merges as tokenizer.json does. */
      g_autofree float *scores = g_new (float, (gsize) n);
      float floor_score = -(float) merges->len - 1.0f;

      for (int i = 0; i < n; i++)
        scores[i] = floor_score - (float) i;
      for (guint m = merges->len; m-- > 0;)
        {
          const TemperExportMerge *e = &g_array_index (merges, TemperExportMerge, m);
          if (e->result >= 0 && e->result < n)
            scores[e->result] = -(float) m;
        }
      temper_gguf_writer_set_f32_array (w, "tokenizer.ggml.scores", scores, (gsize) n);
      temper_gguf_writer_set_bool (w, "tokenizer.ggml.add_space_prefix",
                                   tok->prepend != TEMPER_PREPEND_NEVER);
    }
  else
    {
      g_autoptr(GPtrArray) lines = g_ptr_array_new_full (merges->len, g_free);

      for (guint m = 0; m < merges->len; m++)
        {
          const TemperExportMerge *e = &g_array_index (merges, TemperExportMerge, m);
          g_ptr_array_add (lines, g_strdup_printf ("%s %s", tok->pieces[e->left],
                                                   tok->pieces[e->right]));
        }
      temper_gguf_writer_set_string_array (w, "tokenizer.ggml.merges",
                                           (const char *const *) lines->pdata, lines->len);
    }

  eot = end_of_turn_id (stop_tokens, tok);
  set_id (w, "tokenizer.ggml.bos_token_id", own_or (tok->bos, fallback ? fallback->bos : -1, n));
  set_id (w, "tokenizer.ggml.eos_token_id", tok->eos);
  set_id (w, "tokenizer.ggml.unknown_token_id", own_or (tok->unk, fallback ? fallback->unk : -1, n));
  set_id (w, "tokenizer.ggml.padding_token_id", tok->pad);
  set_id (w, "tokenizer.ggml.eot_token_id", own_or (eot, fallback ? fallback->eot : -1, n));
  temper_gguf_writer_set_bool (w, "tokenizer.ggml.add_bos_token", tok->add_bos);
  temper_gguf_writer_set_bool (w, "tokenizer.ggml.add_eos_token", FALSE);
  if (chat_template != NULL)
    temper_gguf_writer_set_string (w, "tokenizer.chat_template", chat_template);
  return TRUE;
}
