/* SPDX-License-Identifier: MIT */
/* Encoding and decoding, shared by every kind of tokenizer.
 *
 * Encoding: added tokens are cut out of the raw text first (longest match at
 * the leftmost position, as the tokenizers library's added vocabulary does);
 * each stretch between them is normalized, pre-tokenized and BPE-merged. */
#include "config.h"

#include <string.h>

#include "temper-tokenizer-private.h"
#include "temper-unicode-private.h"

#define SPM_SPACE "\xE2\x96\x81"   /* ▁ U+2581 */

typedef struct {
  const temper_tokenizer_t *tok;
  const char       *text;     /* the stretch being pre-tokenized */
  GArray           *out;
  TemperBpeScratch  scratch;
  GArray           *chars;
  GString          *buf;
} EncodeState;

int
temper_tokenizer_get_n_vocab (const temper_tokenizer_t *tok)
{
  return tok->n_vocab;
}

int
temper_tokenizer_get_bos (const temper_tokenizer_t *tok)
{
  return tok->bos;
}

int
temper_tokenizer_get_eos (const temper_tokenizer_t *tok)
{
  return tok->eos;
}

int
temper_tokenizer_get_pad (const temper_tokenizer_t *tok)
{
  return tok->pad;
}

gboolean
temper_tokenizer_adds_bos (const temper_tokenizer_t *tok)
{
  return tok->add_bos && tok->bos >= 0;
}

const char *
temper_tokenizer_get_chat_template (const temper_tokenizer_t *tok)
{
  return tok->chat_template;
}

int
temper_tokenizer_find_token (const temper_tokenizer_t *tok, const char *text)
{
  return GPOINTER_TO_INT (g_hash_table_lookup (tok->piece_to_id, text)) - 1;
}

gboolean
temper_tokenizer_is_special (const temper_tokenizer_t *tok, int id)
{
  return id >= 0 && id < tok->n_vocab && (tok->flags[id] & TEMPER_TOKEN_SPECIAL) != 0;
}

const char *
temper_tokenizer_token_bytes (const temper_tokenizer_t *tok, int id, gsize *len)
{
  if (id < 0 || id >= tok->n_vocab)
    {
      *len = 0;
      return "";
    }
  *len = tok->bytes_len[id];
  return tok->bytes[id];
}

const char *
temper_tokenizer_get_piece (const temper_tokenizer_t *tok, int id)
{
  return id >= 0 && id < tok->n_vocab ? tok->pieces[id] : NULL;
}

/* Pushes the initial symbol(s) for a character or byte that has no token of
 * its own: its byte tokens when the vocabulary has them, else the unknown
 * token (one for a run of unknowns when fuse_unk is set), else nothing, as
 * the tokenizers BPE model does. */
static void
push_unknown (EncodeState *st, const guchar *bytes, gsize n)
{
  const temper_tokenizer_t *tok = st->tok;
  GArray *ids = st->scratch.ids;
  gboolean all_bytes = tok->byte_fallback;

  for (gsize i = 0; all_bytes && i < n; i++)
    all_bytes = tok->byte_tokens[bytes[i]] >= 0;
  if (all_bytes)
    {
      for (gsize i = 0; i < n; i++)
        g_array_append_val (ids, tok->byte_tokens[bytes[i]]);
      return;
    }
  if (tok->unknown_id < 0)
    return;
  /* A byte-level tokenizer.json may name end-of-text as its unknown token;
   * tokenizers would then let a stray 0x04 in the data end the text.  The
   * one place Temper departs from it: such bytes are dropped instead. */
  if (tok->kind == TEMPER_TOKENIZER_BYTE_LEVEL &&
      (tok->unknown_id == tok->eos || tok->unknown_id == tok->bos || tok->unknown_id == tok->pad))
    return;
  if (tok->fuse_unk && ids->len > 0 && g_array_index (ids, gint32, ids->len - 1) == tok->unknown_id)
    return;
  g_array_append_val (ids, tok->unknown_id);
}

static void
byte_level_word (gsize start, gsize end, gpointer user_data)
{
  EncodeState *st = user_data;
  const temper_tokenizer_t *tok = st->tok;
  const guchar *s = (const guchar *) st->text;

  if (tok->ignore_merges)
    {
      int id;
      g_string_truncate (st->buf, 0);
      for (gsize i = start; i < end; i++)
        {
          char utf8[4];
          gsize n = temper_utf8_encode (temper_byte_to_unicode (s[i]), utf8);
          g_string_append_len (st->buf, utf8, (gssize) n);
        }
      id = temper_tokenizer_find_token (tok, st->buf->str);
      if (id >= 0)
        {
          g_array_append_val (st->out, id);
          return;
        }
    }

  g_array_set_size (st->scratch.ids, 0);
  for (gsize i = start; i < end; i++)
    {
      gint32 id = tok->byte_tokens[s[i]];
      if (id >= 0)
        g_array_append_val (st->scratch.ids, id);
      else
        push_unknown (st, s + i, 1);
    }
  temper_bpe_merge (&tok->merges, &st->scratch, st->out);
}

/* One SentencePiece word (a stretch of text with spaces already written as
 * ▁), merged from its characters. */
static void
spm_word (EncodeState *st, const char *word, gsize len)
{
  const temper_tokenizer_t *tok = st->tok;
  const guchar *s = (const guchar *) word;
  gsize i = 0;

  g_array_set_size (st->scratch.ids, 0);
  while (i < len)
    {
      guint32 cp;
      gsize n = temper_utf8_decode (s + i, len - i, &cp);
      char key[5];
      int id;

      memcpy (key, word + i, n);
      key[n] = '\0';
      id = temper_tokenizer_find_token (tok, key);
      if (id >= 0)
        g_array_append_val (st->scratch.ids, id);
      else
        push_unknown (st, s + i, n);
      i += n;
    }
  temper_bpe_merge (&tok->merges, &st->scratch, st->out);
}

static void
encode_spm (EncodeState *st, const char *text, gsize len, gboolean at_text_start)
{
  const temper_tokenizer_t *tok = st->tok;
  GString *buf = st->buf;
  gboolean prepend;
  gsize word_start = 0;

  prepend = tok->prepend == TEMPER_PREPEND_ALWAYS ||
            (tok->prepend == TEMPER_PREPEND_FIRST && at_text_start);
  if (prepend && tok->prepend_unless_space &&
      (text[0] == ' ' || (len >= 3 && memcmp (text, SPM_SPACE, 3) == 0)))
    prepend = FALSE;

  g_string_truncate (buf, 0);
  if (prepend)
    g_string_append (buf, SPM_SPACE);
  for (gsize i = 0; i < len; i++)
    {
      if (text[i] == ' ')
        g_string_append (buf, SPM_SPACE);
      else
        g_string_append_c (buf, text[i]);
    }

  if (!tok->split_on_space)
    {
      spm_word (st, buf->str, buf->len);
      return;
    }
  /* Metaspace split: each ▁ begins a new word. */
  for (gsize i = 3; i + 3 <= buf->len; i++)
    if (memcmp (buf->str + i, SPM_SPACE, 3) == 0)
      {
        spm_word (st, buf->str + word_start, i - word_start);
        word_start = i;
        i += 2;
      }
  spm_word (st, buf->str + word_start, buf->len - word_start);
}

static void
encode_stretch (EncodeState *st, const char *text, gsize len, gboolean at_text_start)
{
  const temper_tokenizer_t *tok = st->tok;
  g_autofree char *normalized = NULL;

  if (len == 0)
    return;
  if (tok->normalize != TEMPER_NORMALIZE_NONE && g_utf8_validate_len (text, len, NULL))
    {
      normalized = g_utf8_normalize (text, (gssize) len,
                                     tok->normalize == TEMPER_NORMALIZE_NFC
                                       ? G_NORMALIZE_NFC : G_NORMALIZE_NFKC);
      if (normalized != NULL)
        {
          text = normalized;
          len = strlen (normalized);
        }
    }

  if (tok->kind == TEMPER_TOKENIZER_SPM)
    {
      encode_spm (st, text, len, at_text_start);
      return;
    }
  st->text = text;
  temper_pre_decode (text, len, st->chars);
  temper_pre_split (tok->pre_steps, tok->n_pre_steps,
                    (const TemperPreChar *) st->chars->data, st->chars->len - 1,
                    byte_level_word, st);
}

static gboolean
is_space_at (const char *text, gsize len, gsize pos, gsize *char_len)
{
  guint32 cp;

  *char_len = temper_utf8_decode ((const guchar *) text + pos, len - pos, &cp);
  return temper_unicode_class (cp) == TEMPER_UCLASS_SPACE;
}

/* Start of the character that ends just before @pos (never before @floor). */
static gsize
char_before (const char *text, gsize floor, gsize pos)
{
  gsize p = pos - 1;

  while (p > floor && pos - p < 4 && ((guchar) text[p] & 0xC0) == 0x80)
    p--;
  return p;
}

static gboolean
is_word_char_at (const char *text, gsize len, gsize pos)
{
  guint32 cp;

  temper_utf8_decode ((const guchar *) text + pos, len - pos, &cp);
  return temper_unicode_is_word (cp);
}

/* The longest added token spelled at @pos, or -1. */
static int
match_added (const temper_tokenizer_t *tok, const char *text, gsize len, gsize pos,
             gboolean parse_special)
{
  for (int k = 0; k < tok->n_added; k++)
    {
      int id = tok->added_ids[k];
      const char *piece = tok->pieces[id];
      gsize plen = strlen (piece);

      if (!parse_special && (tok->flags[id] & TEMPER_TOKEN_SPECIAL))
        continue;
      if (plen > len - pos || memcmp (text + pos, piece, plen) != 0)
        continue;
      if (tok->flags[id] & TEMPER_TOKEN_SINGLE_WORD)
        {
          if (pos > 0 && is_word_char_at (text, len, char_before (text, 0, pos)))
            continue;
          if (pos + plen < len && is_word_char_at (text, len, pos + plen))
            continue;
        }
      return id;
    }
  return -1;
}

GArray *
temper_tokenizer_encode (const temper_tokenizer_t *tok, const char *text, gssize len,
                         gboolean parse_special)
{
  EncodeState st = { tok, NULL, NULL, { 0 }, NULL, NULL };
  gsize n, stretch = 0, i = 0;

  g_return_val_if_fail (tok != NULL, NULL);
  g_return_val_if_fail (text != NULL || len == 0, NULL);

  n = len < 0 ? strlen (text) : (gsize) len;
  st.out = g_array_sized_new (FALSE, FALSE, sizeof (gint32), (guint) (n / 3 + 8));
  st.chars = g_array_new (FALSE, FALSE, sizeof (TemperPreChar));
  st.buf = g_string_new (NULL);
  temper_bpe_scratch_init (&st.scratch);

  while (i < n)
    {
      gsize start = i, end, step;
      int id;

      if (!tok->added_first_byte[(guchar) text[i]] ||
          (id = match_added (tok, text, n, i, parse_special)) < 0)
        {
          i++;
          continue;
        }
      end = i + strlen (tok->pieces[id]);
      if (tok->flags[id] & TEMPER_TOKEN_LSTRIP)
        while (start > stretch)
          {
            gsize p = char_before (text, stretch, start);
            if (!is_space_at (text, n, p, &step))
              break;
            start = p;
          }
      if (tok->flags[id] & TEMPER_TOKEN_RSTRIP)
        while (end < n && is_space_at (text, n, end, &step))
          end += step;

      encode_stretch (&st, text + stretch, start - stretch, stretch == 0);
      g_array_append_val (st.out, id);
      stretch = i = end;
    }
  encode_stretch (&st, text + stretch, n - stretch, stretch == 0);

  temper_bpe_scratch_clear (&st.scratch);
  g_array_unref (st.chars);
  g_string_free (st.buf, TRUE);
  return st.out;
}

/* SentencePiece byte tokens that do not form valid UTF-8 become one U+FFFD
 * each, as in the tokenizers ByteFallback decoder. */
static void
flush_bytes (GString *out, GString *pending)
{
  if (pending->len == 0)
    return;
  if (g_utf8_validate_len (pending->str, pending->len, NULL))
    g_string_append_len (out, pending->str, (gssize) pending->len);
  else
    for (gsize i = 0; i < pending->len; i++)
      g_string_append (out, "\xEF\xBF\xBD");
  g_string_truncate (pending, 0);
}

char *
temper_tokenizer_decode (const temper_tokenizer_t *tok, const gint32 *ids, gsize n,
                         gboolean skip_special)
{
  g_autoptr(GString) raw = g_string_new (NULL);
  g_autoptr(GString) pending = g_string_new (NULL);
  g_autoptr(GString) out = NULL;

  for (gsize i = 0; i < n; i++)
    {
      int id = ids[i];

      /* Ids past the tokenizer's vocabulary come from padded embedding rows
       * that stand for no text. */
      if (id < 0 || id >= tok->n_vocab)
        continue;
      if (skip_special && (tok->flags[id] & TEMPER_TOKEN_SPECIAL))
        continue;
      if (tok->kind == TEMPER_TOKENIZER_SPM)
        {
          if (tok->flags[id] & TEMPER_TOKEN_BYTE)
            {
              g_string_append_len (pending, tok->bytes[id], (gssize) tok->bytes_len[id]);
              continue;
            }
          flush_bytes (raw, pending);
        }
      g_string_append_len (raw, tok->bytes[id], (gssize) tok->bytes_len[id]);
    }
  flush_bytes (raw, pending);

  if (tok->strip_leading_space && raw->len > 0 && raw->str[0] == ' ')
    g_string_erase (raw, 0, 1);
  out = g_string_sized_new (raw->len + 1);
  temper_utf8_append_lossy (out, raw->str, raw->len);
  return g_string_free (g_steal_pointer (&out), FALSE);
}
