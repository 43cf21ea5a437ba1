/* SPDX-License-Identifier: MIT */
/* temper-answer.c — a chat answered greedily (see temper/answer.h). */
#include "config.h"

#include "temper/answer.h"

void
temper_answer_params_init (TemperSamplingParams *params,
                           int                   max_tokens)
{
  g_return_if_fail (params != NULL);

  temper_sampling_params_init (params);
  params->temperature = 0.0f;
  params->repeat_penalty = 1.0f;
  params->max_tokens = MAX (max_tokens, 0);
}

gboolean
temper_answer_stream (temper_generator_t           *gen,
                      const temper_chat_template_t *tmpl,
                      const TemperChatMessage      *messages,
                      gsize                         n_messages,
                      int                           max_tokens,
                      TemperTextCallback            callback,
                      gpointer                      user_data,
                      GCancellable                 *cancellable,
                      guint                        *cut_at,
                      GError                      **error)
{
  TemperChatTokens tokens = { 0 };
  TemperSamplingParams params;
  TemperGenerateResult result = { 0 };
  gboolean ok;

  g_return_val_if_fail (gen != NULL, FALSE);
  g_return_val_if_fail (tmpl != NULL, FALSE);
  g_return_val_if_fail (messages != NULL || n_messages == 0, FALSE);

  temper_answer_params_init (&params, max_tokens);
  if (!temper_chat_template_tokenize (tmpl, messages, n_messages, TRUE, &tokens, error))
    return FALSE;
  temper_generator_reset (gen);
  ok = temper_generator_generate (gen, (const gint32 *) tokens.ids->data, tokens.ids->len, &params,
                                  callback, user_data, cancellable, &result, error);
  if (cut_at != NULL)
    {
      *cut_at = 0;
      if (ok && (result.stop_reason == TEMPER_STOP_MAX_TOKENS
                 || result.stop_reason == TEMPER_STOP_CONTEXT_FULL))
        *cut_at = result.tokens != NULL ? MAX (result.tokens->len, 1) : (guint) MAX (max_tokens, 1);
    }
  temper_generate_result_clear (&result);
  temper_chat_tokens_clear (&tokens);
  return ok;
}

static gboolean
collect_text (const char *text,
              gsize       len,
              gpointer    user_data)
{
  g_string_append_len (user_data, text, (gssize) len);
  return TRUE;
}

char *
temper_answer_greedy (temper_generator_t           *gen,
                      const temper_chat_template_t *tmpl,
                      const TemperChatMessage      *messages,
                      gsize                         n_messages,
                      int                           max_tokens,
                      GCancellable                 *cancellable,
                      GError                      **error)
{
  GString *text = g_string_new (NULL);

  if (!temper_answer_stream (gen, tmpl, messages, n_messages, max_tokens, collect_text, text,
                             cancellable, NULL, error))
    {
      g_string_free (text, TRUE);
      return NULL;
    }
  return g_strstrip (g_string_free (text, FALSE));
}
