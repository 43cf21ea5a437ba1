/* SPDX-License-Identifier: MIT */
/* temper-export-check.c — does the exported model chat as it was trained? */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <string.h>

#include "temper/chat.h"
#include "temper/error.h"
#include "temper/tokenizer.h"
#include "temper-export-private.h"

typedef struct {
  const char        *label;
  TemperChatMessage  messages[4];
  gsize              n_messages;
  gboolean           add_generation_prompt;
} Conversation;

static const Conversation conversations[] = {
  { N_("a question"), { { TEMPER_CHAT_ROLE_USER, "What is the capital of France?" } }, 1, TRUE },
  { N_("a system prompt and a question"),
    { { TEMPER_CHAT_ROLE_SYSTEM, "You answer in one short sentence." },
      { TEMPER_CHAT_ROLE_USER, "Name a colour." } }, 2, TRUE },
  { N_("a finished conversation"),
    { { TEMPER_CHAT_ROLE_USER, "Hello!" },
      { TEMPER_CHAT_ROLE_ASSISTANT, "Hi, how can I help?" },
      { TEMPER_CHAT_ROLE_USER, "Count to three: 1, 2, 3 — done." },
      { TEMPER_CHAT_ROLE_ASSISTANT, "1, 2, 3." } }, 4, FALSE },
};

static gboolean
tokenize (temper_chat_template_t *tmpl, const Conversation *c, TemperChatTokens *out,
          GError **error)
{
  return temper_chat_template_tokenize (tmpl, c->messages, c->n_messages,
                                        c->add_generation_prompt, out, error);
}

gboolean
temper_export_check_template (const temper_model_t *model, const char *exported_path,
                              char **problem, GError **error)
{
  g_autoptr(temper_model_t) exported = NULL;
  g_autoptr(temper_chat_template_t) trained = NULL, shipped = NULL;
  temper_tokenizer_t *exported_tok;
  const int *stops;
  int eot;
  gboolean stops_at_eot = FALSE;

  g_return_val_if_fail (model != NULL && exported_path != NULL && problem != NULL, FALSE);
  *problem = NULL;
  exported = temper_model_load (exported_path, NULL, error);
  if (exported == NULL)
    return FALSE;
  exported_tok = temper_model_get_tokenizer (exported);
  trained = temper_chat_template_new (temper_model_get_chat_template (model),
                                      temper_model_get_tokenizer (model));
  shipped = temper_chat_template_new (temper_model_get_chat_template (exported), exported_tok);

  if (temper_model_get_chat_template (exported) == NULL &&
      temper_model_get_chat_template (model) != NULL)
    {
      *problem = g_strdup_printf (_("“%s” has no chat template, so other tools will not "
                                  "format conversations as in training."), exported_path);
      return TRUE;
    }
  for (gsize i = 0; i < G_N_ELEMENTS (conversations); i++)
    {
      TemperChatTokens a = { 0 }, b = { 0 };
      gboolean ok = tokenize (trained, &conversations[i], &a, error) &&
                    tokenize (shipped, &conversations[i], &b, error);

      for (guint k = 0; ok && *problem == NULL && k < MAX (a.ids->len, b.ids->len); k++)
        {
          gint32 x = k < a.ids->len ? g_array_index (a.ids, gint32, k) : -1;
          gint32 y = k < b.ids->len ? g_array_index (b.ids, gint32, k) : -1;

          if (x != y)
            *problem = g_strdup_printf (
              _("For %s, “%s” gives different tokens than training did: token %u is %d "
              "(“%s”) in training and %d (“%s”) in the export."),
              _(conversations[i].label), exported_path, k, x,
              x >= 0 ? temper_tokenizer_get_piece (temper_model_get_tokenizer (model), x) : _("end"),
              y, y >= 0 ? temper_tokenizer_get_piece (exported_tok, y) : _("end"));
        }
      temper_chat_tokens_clear (&a);
      temper_chat_tokens_clear (&b);
      if (!ok)
        return FALSE;
      if (*problem != NULL)
        return TRUE;
    }

  eot = temper_chat_template_get_end_of_turn (trained);
  stops = temper_model_get_stop_tokens (exported);
  for (int i = 0; eot >= 0 && stops[i] >= 0; i++)
    stops_at_eot |= stops[i] == eot;
  if (eot >= 0 && !stops_at_eot)
    *problem = g_strdup_printf (_("In “%s” the end-of-turn token %d (“%s”) does not stop "
                                "generation, so answers would run on past their end."),
                                exported_path, eot,
                                temper_tokenizer_get_piece (exported_tok, eot));
  return TRUE;
}
