/* SPDX-License-Identifier: MIT */
/* Building a tokenizer: vocabulary, merges, byte tables and the added-token
 * index.  Both loaders (GGUF and tokenizer.json) go through these. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <stdio.h>
#include <string.h>

#include "temper/error.h"
#include "temper-tokenizer-private.h"
#include "temper-unicode-private.h"

temper_tokenizer_t *
temper_tokenizer_alloc (TemperTokenizerKind kind, int n_vocab)
{
  temper_tokenizer_t *tok = g_new0 (temper_tokenizer_t, 1);

  tok->kind = kind;
  tok->n_vocab = n_vocab;
  tok->pieces = g_new0 (char *, (gsize) n_vocab);
  tok->bytes = g_new0 (char *, (gsize) n_vocab);
  tok->bytes_len = g_new0 (guint32, (gsize) n_vocab);
  tok->flags = g_new0 (guint8, (gsize) n_vocab);
  tok->piece_to_id = g_hash_table_new (g_str_hash, g_str_equal);
  tok->unk = tok->bos = tok->eos = tok->pad = tok->unknown_id = -1;
  tok->fuse_unk = FALSE;
  return tok;
}

void
temper_tokenizer_free (temper_tokenizer_t *tok)
{
  if (tok == NULL)
    return;
  for (int i = 0; i < tok->n_vocab; i++)
    {
      g_free (tok->pieces[i]);
      g_free (tok->bytes[i]);
    }
  g_free (tok->pieces);
  g_free (tok->bytes);
  g_free (tok->bytes_len);
  g_free (tok->flags);
  g_hash_table_unref (tok->piece_to_id);
  temper_merge_table_clear (&tok->merges);
  g_free (tok->added_ids);
  g_free (tok->chat_template);
  g_free (tok);
}

gboolean
temper_tokenizer_set_piece (temper_tokenizer_t *tok, int id, const char *piece, gsize len)
{
  g_return_val_if_fail (id >= 0 && id < tok->n_vocab, FALSE);
  if (tok->pieces[id] != NULL)
    return FALSE;
  tok->pieces[id] = g_strndup (piece, len);
  /* The first id spelled this way wins; later duplicates (padding entries)
   * stay reachable by id only. */
  if (len > 0 && !g_hash_table_contains (tok->piece_to_id, tok->pieces[id]))
    g_hash_table_insert (tok->piece_to_id, tok->pieces[id], GINT_TO_POINTER (id + 1));
  return TRUE;
}

static int
lookup_len (const temper_tokenizer_t *tok, const char *text, gsize len)
{
  char stack[128];
  char *key = len < sizeof stack ? stack : g_malloc (len + 1);
  gpointer value;

  memcpy (key, text, len);
  key[len] = '\0';
  value = g_hash_table_lookup (tok->piece_to_id, key);
  if (key != stack)
    g_free (key);
  return GPOINTER_TO_INT (value) - 1;
}

static char *
printable_piece (const char *text, gsize len)
{
  g_autoptr(GString) s = g_string_new (NULL);

  temper_utf8_append_lossy (s, text, MIN (len, 64));
  return g_string_free (g_steal_pointer (&s), FALSE);
}

gboolean
temper_tokenizer_add_merge (temper_tokenizer_t *tok, const char *left, gsize left_len,
                            const char *right, gsize right_len, int rank,
                            const char *source, GError **error)
{
  int l = lookup_len (tok, left, left_len);
  int r = lookup_len (tok, right, right_len);
  int result = -1;

  if (l >= 0 && r >= 0)
    {
      char *joined = g_malloc (left_len + right_len + 1);
      memcpy (joined, left, left_len);
      memcpy (joined + left_len, right, right_len);
      joined[left_len + right_len] = '\0';
      result = lookup_len (tok, joined, left_len + right_len);
      g_free (joined);
    }
  if (result < 0)
    {
      g_autofree char *a = printable_piece (left, left_len);
      g_autofree char *b = printable_piece (right, right_len);
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE,
                   _("The tokenizer in “%s” is damaged: merge %d (“%s” + “%s”) uses a token "
                   "that is not in its vocabulary."), source, rank, a, b);
      return FALSE;
    }
  if (tok->merges.keys == NULL)
    temper_merge_table_init (&tok->merges, 1024);
  temper_merge_table_insert (&tok->merges, l, r, rank, result);
  return TRUE;
}

typedef struct {
  const float *scores;
} ScoreOrder;

static int
compare_by_score (gconstpointer a, gconstpointer b, gpointer user_data)
{
  const ScoreOrder *order = user_data;
  int ia = *(const int *) a, ib = *(const int *) b;
  float sa = order->scores[ia], sb = order->scores[ib];

  if (sa != sb)
    return sa > sb ? -1 : 1;
  return ia < ib ? -1 : ia > ib;
}

void
temper_tokenizer_merges_from_scores (temper_tokenizer_t *tok, const float *scores,
                                     const gboolean *is_normal)
{
  g_autofree int *order = g_new (int, (gsize) tok->n_vocab);
  ScoreOrder ctx = { scores };
  int n = 0, rank = 0;

  for (int i = 0; i < tok->n_vocab; i++)
    if (is_normal[i] && tok->pieces[i] != NULL && tok->pieces[i][0] != '\0')
      order[n++] = i;
  g_qsort_with_data (order, n, sizeof (int), compare_by_score, &ctx);

  if (tok->merges.keys == NULL)
    temper_merge_table_init (&tok->merges, (gsize) n * 2);
  /* The higher the score, the earlier the merge, like SentencePiece; splits
   * of one token rank by the length of their left part, as in the
   * tokenizer.json that transformers writes for the same vocabulary. */
  for (int k = 0; k < n; k++)
    {
      int id = order[k];
      const char *p = tok->pieces[id];
      gsize len = strlen (p);

      for (gsize cut = 1; cut < len; cut++)
        {
          int l, r;
          if (((guchar) p[cut] & 0xC0) == 0x80)
            continue;
          l = lookup_len (tok, p, cut);
          if (l < 0)
            continue;
          r = lookup_len (tok, p + cut, len - cut);
          if (r < 0)
            continue;
          temper_merge_table_insert (&tok->merges, l, r, rank++, id);
        }
    }
}

static gboolean
parse_byte_piece (const char *p, guint8 *byte)
{
  unsigned value;
  char tail;

  if (strlen (p) != 6 || strncmp (p, "<0x", 3) != 0 || p[5] != '>' ||
      !g_ascii_isxdigit (p[3]) || !g_ascii_isxdigit (p[4]))
    return FALSE;
  if (sscanf (p + 3, "%2x%c", &value, &tail) != 2)
    return FALSE;
  *byte = (guint8) value;
  return TRUE;
}

/* The raw bytes a byte-level token stands for.  As in the tokenizers
 * ByteLevel decoder, a token with any character outside the byte map (an
 * added token such as "<|im_start|>" in some vocabularies) is taken as is. */
static void
byte_level_bytes (const char *piece, GString *out)
{
  const guchar *s = (const guchar *) piece;
  gsize len = strlen (piece), i = 0;

  g_string_truncate (out, 0);
  while (i < len)
    {
      guint32 cp;
      int b;
      i += temper_utf8_decode (s + i, len - i, &cp);
      b = temper_unicode_to_byte (cp);
      if (b < 0)
        {
          g_string_assign (out, piece);
          return;
        }
      g_string_append_c (out, (char) b);
    }
}

static void
spm_bytes (const char *piece, GString *out)
{
  const char *p = piece;

  g_string_truncate (out, 0);
  while (*p != '\0')
    {
      if (strncmp (p, "\xE2\x96\x81", 3) == 0)
        {
          g_string_append_c (out, ' ');
          p += 3;
        }
      else
        g_string_append_c (out, *p++);
    }
}

static int
compare_added (gconstpointer a, gconstpointer b, gpointer user_data)
{
  const temper_tokenizer_t *tok = user_data;
  int ia = *(const int *) a, ib = *(const int *) b;
  gsize la = strlen (tok->pieces[ia]), lb = strlen (tok->pieces[ib]);

  if (la != lb)
    return la > lb ? -1 : 1;
  return ia < ib ? -1 : ia > ib;
}

static gboolean
check_special_id (int id, int n_vocab, const char *what, const char *source, GError **error)
{
  if (id < n_vocab)
    return TRUE;
  g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE,
               _("The tokenizer in “%s” is damaged: its %s token id %d is outside the "
               "vocabulary of %d tokens."), source, what, id, n_vocab);
  return FALSE;
}

gboolean
temper_tokenizer_finish (temper_tokenizer_t *tok, const char *source, GError **error)
{
  g_autoptr(GString) buf = g_string_new (NULL);

  if (!check_special_id (tok->bos, tok->n_vocab, "beginning-of-text", source, error) ||
      !check_special_id (tok->eos, tok->n_vocab, "end-of-text", source, error) ||
      !check_special_id (tok->pad, tok->n_vocab, "padding", source, error) ||
      !check_special_id (tok->unk, tok->n_vocab, "unknown", source, error))
    return FALSE;

  for (int i = 0; i < 256; i++)
    tok->byte_tokens[i] = -1;

  for (int i = 0; i < tok->n_vocab; i++)
    {
      guint8 byte;

      if (tok->pieces[i] == NULL)
        tok->pieces[i] = g_strdup ("");
      if (tok->kind == TEMPER_TOKENIZER_BYTE_LEVEL)
        byte_level_bytes (tok->pieces[i], buf);
      else if (parse_byte_piece (tok->pieces[i], &byte) && !(tok->flags[i] & TEMPER_TOKEN_ADDED))
        {
          tok->flags[i] |= TEMPER_TOKEN_BYTE;
          if (tok->byte_tokens[byte] < 0)
            tok->byte_tokens[byte] = i;
          g_string_truncate (buf, 0);
          g_string_append_c (buf, (char) byte);
        }
      else
        spm_bytes (tok->pieces[i], buf);
      tok->bytes_len[i] = (guint32) buf->len;
      tok->bytes[i] = g_memdup2 (buf->str, buf->len + 1);
    }

  if (tok->kind == TEMPER_TOKENIZER_BYTE_LEVEL)
    for (int b = 0; b < 256; b++)
      {
        char utf8[4];
        gsize n = temper_utf8_encode (temper_byte_to_unicode ((guint8) b), utf8);
        tok->byte_tokens[b] = lookup_len (tok, utf8, n);
      }

  tok->n_added = 0;
  for (int i = 0; i < tok->n_vocab; i++)
    if ((tok->flags[i] & TEMPER_TOKEN_ADDED) && tok->pieces[i][0] != '\0')
      tok->n_added++;
  tok->added_ids = g_new (int, (gsize) tok->n_added + 1);
  tok->n_added = 0;
  memset (tok->added_first_byte, 0, sizeof tok->added_first_byte);
  for (int i = 0; i < tok->n_vocab; i++)
    if ((tok->flags[i] & TEMPER_TOKEN_ADDED) && tok->pieces[i][0] != '\0')
      {
        tok->added_ids[tok->n_added++] = i;
        tok->added_first_byte[(guchar) tok->pieces[i][0]] = 1;
      }
  g_qsort_with_data (tok->added_ids, tok->n_added, sizeof (int), compare_added, tok);
  return TRUE;
}
