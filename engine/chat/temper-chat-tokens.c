/* SPDX-License-Identifier: MIT */
/* temper-chat-tokens.c — token ids and the loss mask of a rendered conversation.
 *
 * The rendered text is cut at the special tokens of the template's markup;
 * everything between two of them (markup text and message text alike) is
 * encoded in one piece without special-token parsing.  That gives the same
 * ids as encoding the whole string would, except that message text can never
 * turn into a control token.  Which tokens the loss covers is decided from
 * the bytes each token spans. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <string.h>

#include "temper/error.h"
#include "temper-chat-private.h"

typedef struct {
  const temper_tokenizer_t *tok;
  const char               *text;
  const GArray             *trainable;
  TemperChatTokens         *out;
  gboolean                  prefixes_space;
  const TemperChatSpecial  *after;   /* the special token just before the run, or NULL */
} Encoder;

static gboolean
overlaps_trainable (const GArray *trainable, gsize start, gsize end)
{
  for (guint i = 0; i < trainable->len; i++)
    {
      const TemperChatSpan *s = &g_array_index (trainable, TemperChatSpan, i);
      if (start < s->end && end > s->start)
        return TRUE;
    }
  return FALSE;
}

static void
push (TemperChatTokens *out, gint32 id, gboolean train)
{
  guint8 m = train ? 1 : 0;

  g_array_append_val (out->ids, id);
  g_array_append_val (out->mask, m);
}

/* A SentencePiece tokenizer decides by itself whether text that follows a
 * special token gets a leading space (Llama 2's legacy normaliser does,
 * Metaspace "first" does not).  Encoding the run behind its special token
 * lets it decide, as it would for the whole string; if that turns any of the
 * run's text into a special token, the run is encoded alone instead, since
 * message text must never become control tokens. */
static GArray *
encode_after_special (Encoder *e, gsize start, gsize end)
{
  g_autoptr(GString) joined = g_string_new_len (e->after->text, e->after->len);
  g_autoptr(GArray) ids = NULL;

  g_string_append_len (joined, e->text + start, end - start);
  ids = temper_tokenizer_encode (e->tok, joined->str, joined->len, TRUE);
  if (ids->len == 0 || g_array_index (ids, gint32, 0) != e->after->id)
    return NULL;
  for (guint i = 1; i < ids->len; i++)
    if (temper_tokenizer_is_special (e->tok, g_array_index (ids, gint32, i)))
      return NULL;
  g_array_remove_index (ids, 0);
  return g_steal_pointer (&ids);
}

/* Encodes text[start, end) and gives each token the loss mask of the bytes
 * it covers. */
static void
encode_run (Encoder *e, gsize start, gsize end)
{
  g_autoptr(GArray) ids = NULL;
  gsize total = 0;
  gsize pos;

  if (end <= start)
    return;
  if (e->prefixes_space && e->after != NULL)
    ids = encode_after_special (e, start, end);
  if (ids == NULL)
    ids = temper_tokenizer_encode (e->tok, e->text + start, end - start, FALSE);

  for (guint i = 0; i < ids->len; i++)
    {
      gsize len = 0;
      temper_tokenizer_token_bytes (e->tok, g_array_index (ids, gint32, i), &len);
      total += len;
    }
  /* A SentencePiece tokenizer may add a leading space the text did not have;
   * the extra bytes belong before the text. */
  pos = start;
  if (total > end - start)
    pos = start - MIN (start, total - (end - start));
  for (guint i = 0; i < ids->len; i++)
    {
      gint32 id = g_array_index (ids, gint32, i);
      gsize len = 0;
      gsize t_start, t_end;

      temper_tokenizer_token_bytes (e->tok, id, &len);
      t_start = MAX (pos, start);
      t_end = MAX (pos + len, t_start + 1);
      t_end = MIN (t_end, end);
      if (t_start >= end)
        t_start = end - 1;
      push (e->out, id, overlaps_trainable (e->trainable, t_start, t_end));
      pos += len;
    }
}

static const TemperChatSpecial *
special_at (const TemperChatSpecial *specials, gsize n, const char *p, gsize avail)
{
  for (gsize k = 0; k < n; k++)
    if (specials[k].len <= avail && memcmp (p, specials[k].text, specials[k].len) == 0)
      return &specials[k];
  return NULL;
}

gboolean
temper_chat_template_tokenize (const temper_chat_template_t *tmpl,
                               const TemperChatMessage      *messages,
                               gsize                         n_messages,
                               gboolean                      add_generation_prompt,
                               TemperChatTokens             *out,
                               GError                      **error)
{
  const temper_tokenizer_t *tok = temper_chat_template_get_tokenizer (tmpl);
  TemperChatRendering r = { 0 };
  const TemperChatSpecial *specials;
  gsize n_specials;
  gsize run_start = 0;
  Encoder e;
  int bos;

  g_return_val_if_fail (tok != NULL, FALSE);
  g_return_val_if_fail (out != NULL, FALSE);

  if (temper_chat_template_get_end_of_turn (tmpl) < 0 &&
      temper_chat_template_get_family (tmpl) != TEMPER_CHAT_FAMILY_PLAIN)
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE,
                   _("The model’s vocabulary has no token to end an answer with (%s template), "
                   "so it cannot be trained on conversations."),
                   temper_chat_family_name (temper_chat_template_get_family (tmpl)));
      return FALSE;
    }

  temper_chat_render_full (tmpl, messages, n_messages, add_generation_prompt, &r);
  specials = temper_chat_template_get_specials (tmpl, &n_specials);

  out->ids = g_array_sized_new (FALSE, FALSE, sizeof (gint32), r.text->len / 3 + 8);
  out->mask = g_array_sized_new (FALSE, FALSE, sizeof (guint8), r.text->len / 3 + 8);
  e.tok = tok;
  e.text = r.text->str;
  e.trainable = r.trainable;
  e.out = out;
  e.prefixes_space = temper_chat_template_prefixes_space (tmpl);
  e.after = NULL;

  bos = temper_tokenizer_get_bos (tok);
  if (bos >= 0 && temper_tokenizer_adds_bos (tok) && !r.text_has_bos)
    push (out, bos, FALSE);

  for (guint s = 0; s < r.segments->len; s++)
    {
      const TemperChatSegment *seg = &g_array_index (r.segments, TemperChatSegment, s);
      gsize p = seg->start;

      if (!seg->markup)
        continue;
      while (p < seg->end)
        {
          const TemperChatSpecial *sp = special_at (specials, n_specials, r.text->str + p,
                                                    seg->end - p);
          if (sp == NULL)
            {
              p++;
              continue;
            }
          encode_run (&e, run_start, p);
          push (out, sp->id, overlaps_trainable (r.trainable, p, p + sp->len));
          e.after = sp;
          p += sp->len;
          run_start = p;
        }
    }
  encode_run (&e, run_start, r.text->len);
  temper_chat_rendering_clear (&r);
  return TRUE;
}

void
temper_chat_tokens_clear (TemperChatTokens *tokens)
{
  g_clear_pointer (&tokens->ids, g_array_unref);
  g_clear_pointer (&tokens->mask, g_array_unref);
}
