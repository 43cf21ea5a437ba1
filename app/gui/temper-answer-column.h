/* SPDX-License-Identifier: MIT */
/* temper-answer-column.h — one model's answer on the Compare page: a title
 * ("Base model", or "Answer A" in blind mode), the text as it streams in, a
 * button to call it the better answer, and optional 1–5 scores for
 * relevance, accuracy and style.  The column only shows and reports; the
 * page keeps the ratings. */
#pragma once

#include <gtk/gtk.h>

#include "temper/ratings.h"

G_BEGIN_DECLS

#define TEMPER_TYPE_ANSWER_COLUMN (temper_answer_column_get_type ())
G_DECLARE_FINAL_TYPE (TemperAnswerColumn, temper_answer_column, TEMPER, ANSWER_COLUMN, GtkBox)

GtkWidget  *temper_answer_column_new         (void);

void        temper_answer_column_set_title   (TemperAnswerColumn *self, const char *title);
const char *temper_answer_column_get_title   (TemperAnswerColumn *self);
/* NULL shows that nothing was generated yet. */
void        temper_answer_column_set_text    (TemperAnswerColumn *self, const char *text);
void        temper_answer_column_append_text (TemperAnswerColumn *self, const char *text, gsize len);
/* A new string: the answer as the model wrote it (Markdown). */
char       *temper_answer_column_dup_text    (TemperAnswerColumn *self);
/* A new string: the text a person reads, Markdown rendered
 * (temper-markdown.h). */
char       *temper_answer_column_dup_shown_text (TemperAnswerColumn *self);
/* @n_tokens > 0: the answer stopped at the length limit of that many
 * tokens, and says so under the text; 0: it ended by itself. */
void        temper_answer_column_set_cut     (TemperAnswerColumn *self, guint n_tokens);
gboolean    temper_answer_column_get_cut_shown (TemperAnswerColumn *self);

/* Without emitting "changed". */
void        temper_answer_column_set_better  (TemperAnswerColumn *self, gboolean better);
gboolean    temper_answer_column_get_better  (TemperAnswerColumn *self);
void        temper_answer_column_set_score   (TemperAnswerColumn *self, TemperAspect aspect, int score);
int         temper_answer_column_get_score   (TemperAnswerColumn *self, TemperAspect aspect);
/* Whether the person may judge it yet (the answer is whole). */
void        temper_answer_column_set_judgeable (TemperAnswerColumn *self, gboolean judgeable);

G_END_DECLS
