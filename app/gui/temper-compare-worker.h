/* SPDX-License-Identifier: MIT */
/* temper-compare-worker.h — the Compare page's engine work, off the main
 * thread: reading a run (its validation prompts and checkpoints) and
 * generating every model's answer to a list of prompts.
 *
 * Answers stream: each piece of text is posted back to the main loop as it
 * is generated, holding only a weak reference to the page, so a page that
 * went away drops the rest.  Decoding is greedy (the most likely token
 * every time) with the same settings for every model, so the answers differ
 * only by what the adapter changed, and the same prompt always gets the same
 * answer. */
#pragma once

#include <gio/gio.h>

#include "temper/device-info.h"
#include "temper-loaded-model.h"

G_BEGIN_DECLS

/* What a run offers to compare. */
typedef struct {
  char      *run_dir;
  char      *model_path;
  GPtrArray *prompts;        /* char *: the validation split's questions */
  GPtrArray *training_prompts; /* char *: a few questions training saw */
  GPtrArray *checkpoints;    /* char *: checkpoint folders, oldest first */
  GArray    *checkpoint_steps; /* gint64, one per checkpoint */
  gboolean   has_adapter;    /* the run finished: RUN/adapter exists */
} TemperCompareRunInfo;

void temper_compare_run_info_free (TemperCompareRunInfo *info);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TemperCompareRunInfo, temper_compare_run_info_free)

/* At most this many validation questions are offered. */
#define TEMPER_COMPARE_MAX_PROMPTS 100
/* And this many of the training questions, so the person sees both what
 * the model learnt by heart and whether it carries over. */
#define TEMPER_COMPARE_TRAINING_PROMPTS 5

void                  temper_compare_read_run_async  (const char          *run_dir,
                                                      GCancellable        *cancellable,
                                                      GAsyncReadyCallback  callback,
                                                      gpointer             user_data);
TemperCompareRunInfo *temper_compare_read_run_finish (GAsyncResult  *result,
                                                      GError       **error);

/* Called on the main thread for each piece of an answer; @text is NULL
 * (and @len 0) once that answer is whole, and @cut_at then says whether
 * the model ended it (0) or the length limit cut it after that many
 * tokens.  Pieces of a cancelled job are still delivered if they were
 * posted before the cancel: compare @cancellable with the one of the job
 * under way. */
typedef void (*TemperComparePieceFunc) (GObject      *owner,
                                        GCancellable *cancellable,
                                        guint         prompt,
                                        guint         source,
                                        const char   *text,
                                        gsize         len,
                                        guint         cut_at);

/* Generates, for each prompt of @prompt_texts (numbered by @prompt_ids),
 * the answer of each source: @adapter_dirs has one entry per source, NULL
 * for the base model.  Runs on @device of @backend (-1: its best), the
 * device training uses.  Stops between tokens when @cancellable is
 * cancelled. */
void     temper_compare_generate_async  (GObject                *owner,
                                         TemperLoadedModel      *model,
                                         TemperBackendKind       backend,
                                         int                     device,
                                         const char *const      *adapter_dirs,
                                         guint                   n_sources,
                                         GPtrArray              *prompt_texts,
                                         GArray                 *prompt_ids,
                                         int                     max_tokens,
                                         TemperComparePieceFunc  piece,
                                         GCancellable           *cancellable,
                                         GAsyncReadyCallback     callback,
                                         gpointer                user_data);
gboolean temper_compare_generate_finish (GAsyncResult  *result,
                                         GError       **error);

G_END_DECLS
