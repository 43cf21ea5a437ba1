/* SPDX-License-Identifier: MIT */
/* temper-evaluate-private.h — what the evaluation keeps per question, for
 * its JSON and HTML reports. */
#pragma once

#include "temper/evaluate.h"
#include "temper/run.h"

G_BEGIN_DECLS

typedef struct {
  char    *question;       /* the last user turn, shown in reports */
  char    *reference;      /* the record's answer; NULL when it has none */
  char    *expect;         /* the record's "expect" phrase(s), or NULL */
  char    *answer[2];      /* NULL when not answered */
  double   nll[2];         /* mean over the answer tokens; NaN when none */
  gboolean scored;
  gboolean exact[2], contains[2];
  double   bleu[2], rouge_l[2], chrf[2];
} TemperEvalRecord;

typedef struct {
  char    *question;
  char    *expect;
  char    *answer[2];
  gboolean right[2];
} TemperEvalGeneral;

void temper_eval_record_free  (gpointer record);
void temper_eval_general_free (gpointer item);

/* @records: one GPtrArray of TemperEvalRecord per set of @ev.
 * @general: TemperEvalGeneral.  @metrics: TemperRunMetrics (may be NULL). */
gboolean temper_evaluation_write_json (const TemperEvaluation *ev, GPtrArray *records,
                                       GPtrArray *general, const char *path, GError **error);
gboolean temper_evaluation_write_html (const TemperEvaluation *ev, GPtrArray *records,
                                       GPtrArray *general, GArray *metrics,
                                       const char *run_name, const char *path, GError **error);

G_END_DECLS
