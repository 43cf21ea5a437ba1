/* SPDX-License-Identifier: MIT */
/* temper-compare-page.h — step 5: the base model's and the tuned model's
 * answers side by side, and the person's judgement of them.
 *
 * The prompts are the run's validation questions plus any the person types
 * in.  Answers are generated on a worker thread and stream into their
 * columns; checkpoints of the run can be added as more columns.  Blind mode
 * hides which model wrote which answer and shuffles the columns per prompt
 * (drawn from the ratings' seed, so the order is the same every time).  The
 * ratings are saved in RUN/ratings.json as they are made, so reopening the
 * run brings them back, and can be exported as CSV or JSON.  Below them,
 * the automatic evaluation's figures (TemperEvaluationGroup).
 *
 * Comparing is optional: the page is always "complete", so the way on to
 * Export stays open. */
#pragma once

#include <adwaita.h>

#include "temper/device-info.h"
#include "temper-loaded-model.h"
#include "temper/ratings.h"

G_BEGIN_DECLS

#define TEMPER_TYPE_COMPARE_PAGE (temper_compare_page_get_type ())
G_DECLARE_FINAL_TYPE (TemperComparePage, temper_compare_page, TEMPER, COMPARE_PAGE, AdwPreferencesPage)

/* Shows the run in @run_dir (read on a worker thread, with its saved
 * ratings); @model is the run's model, loaded, or NULL until it is (answers
 * need it).  The same run again only updates the model. */
/* The device answers and evaluations run on (the default: the CPU). */
void           temper_compare_page_set_device    (TemperComparePage *self,
                                                  TemperBackendKind  backend,
                                                  int                device);
void           temper_compare_page_set_run       (TemperComparePage *self,
                                                  const char        *run_dir,
                                                  TemperLoadedModel *model);
const char    *temper_compare_page_get_run_dir   (TemperComparePage *self);
/* Reading the run, or generating. */
gboolean       temper_compare_page_is_busy       (TemperComparePage *self);
gboolean       temper_compare_page_is_generating (TemperComparePage *self);

/* Generates the answers still missing, the shown prompt's first. */
void           temper_compare_page_generate      (TemperComparePage *self);
void           temper_compare_page_stop          (TemperComparePage *self);

TemperRatings *temper_compare_page_get_ratings   (TemperComparePage *self);
guint          temper_compare_page_get_prompt    (TemperComparePage *self);
void           temper_compare_page_show_prompt   (TemperComparePage *self, guint prompt);
/* Adds a question of the person's own and shows it. */
void           temper_compare_page_add_prompt    (TemperComparePage *self, const char *text);

void           temper_compare_page_set_blind     (TemperComparePage *self, gboolean blind);
gboolean       temper_compare_page_get_blind     (TemperComparePage *self);
void           temper_compare_page_set_max_tokens (TemperComparePage *self, int max_tokens);

/* Checkpoints of the run (their steps, oldest first) and whether each is
 * shown as a column. */
guint          temper_compare_page_get_n_checkpoints   (TemperComparePage *self);
gint64         temper_compare_page_get_checkpoint_step (TemperComparePage *self, guint i);
void           temper_compare_page_set_checkpoint_shown (TemperComparePage *self, guint i,
                                                         gboolean shown);

/* The columns as shown, left to right. */
guint          temper_compare_page_get_n_columns (TemperComparePage *self);
GtkWidget     *temper_compare_page_get_column    (TemperComparePage *self, guint i);
/* The model whose answer column @i shows ("base", "final", "step-N"). */
const char    *temper_compare_page_get_column_source (TemperComparePage *self, guint i);

/* Writes the ratings to @path, as CSV or JSON (@format "csv" or "json"). */
gboolean       temper_compare_page_export        (TemperComparePage *self, const char *path,
                                                  const char *format, GError **error);

GtkWidget     *temper_compare_page_get_evaluation_group (TemperComparePage *self);

G_END_DECLS
