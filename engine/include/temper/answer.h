/* SPDX-License-Identifier: MIT */
/* answer.h — "answer this chat greedily": the one way the Compare page, the
 * CLI's compare and the evaluation ask a model a question.
 *
 * Greedy (always the most likely token) and without a repetition penalty,
 * so that two models — the base and the same base with an adapter — get
 * the same deterministic decoding and any difference in their answers is
 * the adapter's. */
#pragma once

#include <gio/gio.h>

#include "temper/chat.h"
#include "temper/generate.h"

G_BEGIN_DECLS

/* The sampling parameters of a greedy answer of at most @max_tokens tokens
 * (0: until a stop or the cache is full). */
void     temper_answer_params_init (TemperSamplingParams *params, int max_tokens);

/* Renders @messages (the conversation up to the question) with @tmpl,
 * forgets what @gen had cached, and streams the greedy answer through
 * @callback as it is generated.  When @cut_at is not NULL it is set to the
 * number of tokens generated if the answer was cut by @max_tokens or a full
 * cache, and to 0 when the model ended it itself. */
gboolean temper_answer_stream (temper_generator_t           *gen,
                               const temper_chat_template_t *tmpl,
                               const TemperChatMessage      *messages,
                               gsize                         n_messages,
                               int                           max_tokens,
                               TemperTextCallback            callback,
                               gpointer                      user_data,
                               GCancellable                 *cancellable,
                               guint                        *cut_at,
                               GError                      **error);

/* The same, collected: the whole answer without the spaces and line breaks
 * around it (a new string), or NULL with @error set. */
char    *temper_answer_greedy  (temper_generator_t           *gen,
                                const temper_chat_template_t *tmpl,
                                const TemperChatMessage      *messages,
                                gsize                         n_messages,
                                int                           max_tokens,
                                GCancellable                 *cancellable,
                                GError                      **error);

G_END_DECLS
