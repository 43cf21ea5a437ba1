/* SPDX-License-Identifier: MIT */
/* temper-answer-cache.h — the base model's greedy answers, kept between runs.
 *
 * An evaluation asks the base model and the tuned model the same questions;
 * the base model's greedy answers are the same every time for the same
 * model file, questions and generation settings, so they are kept in the
 * user's cache folder (~/.cache/temper/base-answers/), never beside the
 * user's data, and the next evaluation against the same base asks only the
 * tuned model.  Training's replay records (the base model's own answers to
 * general prompts) are kept the same way.
 *
 * One file per model and generation settings: its name is a SHA-256 of the
 * key, and the key is inside it, checked when read.  The key holds the
 * model file's path, size, modification time and inode, so a file changed
 * or replaced in place is a different model, and the same of the program
 * itself (a rebuilt Temper may round differently); each answer is filed under a
 * SHA-256 of the whole conversation asked.  Losing the cache costs only
 * time: a file that cannot be read is an empty cache. */
#pragma once

#include <glib.h>

#include "temper/chat.h"

G_BEGIN_DECLS

typedef struct TemperAnswerCache TemperAnswerCache;

/* The cache of answers of the model file at @model_path under @settings (a
 * text naming everything else the answers depend on: decoding, length,
 * device, how the weights are held).  NULL when the model file cannot be
 * looked at, or when TEMPER_NO_ANSWER_CACHE is set in the environment. */
TemperAnswerCache *temper_answer_cache_open   (const char *model_path, const char *settings);
void               temper_answer_cache_free   (TemperAnswerCache *cache);
/* The kept answer to @messages (owned by the cache), or NULL. */
const char        *temper_answer_cache_lookup (TemperAnswerCache       *cache,
                                               const TemperChatMessage *messages,
                                               gsize                    n_messages);
void               temper_answer_cache_store  (TemperAnswerCache       *cache,
                                               const TemperChatMessage *messages,
                                               gsize                    n_messages,
                                               const char              *answer);
/* Writes the file when something was stored; a failure is logged, not
 * raised (the answers were got; only the next run is slower). */
void               temper_answer_cache_save   (TemperAnswerCache *cache);
/* How many lookups found an answer since the cache was opened. */
guint              temper_answer_cache_get_hits (const TemperAnswerCache *cache);
/* The file that holds the answers (exposed for tests). */
const char        *temper_answer_cache_get_path (const TemperAnswerCache *cache);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TemperAnswerCache, temper_answer_cache_free)

G_END_DECLS
