/* SPDX-License-Identifier: MIT */
/* temper-evaluation-group.h — the automatic evaluation on the Compare page.
 *
 * Shows the figures of RUN/evaluation.json (written by the engine's
 * temper_evaluate_run(), also by "temper-cli evaluate"): perplexity of the
 * base and the tuned model, the reference metrics (exact match, contains,
 * BLEU, ROUGE-L, chrF), the forgetting check and the no-effect check, each
 * as "base → tuned".  A button runs the evaluation on a worker thread, with
 * its progress and a way to cancel. */
#pragma once

#include <adwaita.h>

#include "temper/device-info.h"

G_BEGIN_DECLS

#define TEMPER_TYPE_EVALUATION_GROUP (temper_evaluation_group_get_type ())
G_DECLARE_FINAL_TYPE (TemperEvaluationGroup, temper_evaluation_group, TEMPER, EVALUATION_GROUP, AdwPreferencesGroup)

/* Shows the figures of @run_dir's evaluation.json, if it has one; NULL
 * shows none.  Cancels an evaluation of another run. */
void     temper_evaluation_group_set_run_dir    (TemperEvaluationGroup *self, const char *run_dir);
/* The longest answer, in tokens, the next evaluation lets each model give. */
void     temper_evaluation_group_set_max_tokens (TemperEvaluationGroup *self, int max_tokens);
/* The device evaluations run on (-1: the backend's best); the default is
 * the CPU. */
void     temper_evaluation_group_set_device     (TemperEvaluationGroup *self,
                                                 TemperBackendKind      backend,
                                                 int                    device);
void     temper_evaluation_group_run            (TemperEvaluationGroup *self);
void     temper_evaluation_group_cancel         (TemperEvaluationGroup *self);
gboolean temper_evaluation_group_is_busy        (TemperEvaluationGroup *self);
/* Figures from an evaluation.json are shown. */
gboolean temper_evaluation_group_has_figures    (TemperEvaluationGroup *self);

/* "12.34 → 9.87": how a pair of figures is shown; NaN shows as "—".
 * @percent shows fractions as percentages. */
char    *temper_evaluation_format_pair          (double base, double tuned, gboolean percent);

G_END_DECLS
