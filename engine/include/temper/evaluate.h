/* SPDX-License-Identifier: MIT */
/* evaluate.h — how well a model (base, or with an adapter) predicts answers.
 *
 * Perplexity is computed exactly as training's loss is: the mean, over the
 * tokens the loss mask marks (the answers, unless the run trains on every
 * token), of −log p(token | everything before it), and perplexity is e to
 * that mean.  Records are scored one at a time from an empty cache, as they
 * are trained.  Scoring runs on the generator's device; use a generator made
 * with TemperGeneratorOptions.exact so activations stay fp32 like training's. */
#pragma once

#include <gio/gio.h>

#include "temper/dataset.h"
#include "temper/device-info.h"
#include "temper/generate.h"

G_BEGIN_DECLS

/* Negative log-likelihood summed over a set of tokens. */
typedef struct {
  double  nll_sum;   /* nats */
  guint64 n_tokens;
} TemperNll;

/* e^(nll_sum / n_tokens); NaN when no token was scored. */
double temper_nll_perplexity (const TemperNll *nll);

/* Adds the tokens of @ids where @mask is 1 to @nll, scored by @gen as it is
 * set up now (base model or adapter).  @n_vocab is the model's vocabulary
 * size.  The generator's cache is reset first and left holding the record. */
gboolean temper_evaluate_nll (temper_generator_t *gen, int n_vocab,
                              const gint32 *ids, const guint8 *mask, gsize n,
                              TemperNll *nll, GCancellable *cancellable, GError **error);

/* ---- Evaluating a run -------------------------------------------------- *
 *
 * temper_evaluate_run() compares the base model with the run's adapter:
 *
 *  - perplexity on the answers of the validation split and of an extra file;
 *  - for records with a reference answer, both models answer greedily with
 *    the same settings (decoded as the Compare page decodes, with 8-bit
 *    activations; perplexity alone keeps fp32) and each answer is scored (exact match, contains,
 *    BLEU, ROUGE-L, chrF; see temper/metrics.h).  A record may carry an
 *    "expect" member, the phrase(s) a right answer holds ("Tallinn",
 *    alternatives separated by "|"); "contains" then looks for those
 *    instead of the whole reference answer;
 *  - the forgetting check: the bundled general questions
 *    (data/eval/general-knowledge.jsonl), answered by both models; it is
 *    flagged when at least two more were forgotten than gained;
 *  - the no-effect check: answers mostly identical, or a training loss that
 *    never fell.
 *
 * It writes RUN/evaluation.json (every record's answers and scores, so a
 * list can be sorted by improvement) and RUN/evaluation.html (a
 * self-contained report with the loss curve), each under a temporary name
 * renamed into place. */

/* Index of the two models in every [2] array below. */
enum { TEMPER_EVAL_BASE = 0, TEMPER_EVAL_TUNED = 1 };

/* @stage is a sentence-case label ("Answering the validation questions");
 * @fraction is of that stage. */
typedef void (*TemperEvaluateStageProgress) (const char *stage, double fraction,
                                             gpointer user_data);

typedef struct {
  TemperBackendKind backend;       /* default CPU; pass the one training used */
  int               device;        /* -1: the backend's best */
  int               n_threads;     /* 0: one per core */
  const char       *extra_path;    /* another dataset to score, or NULL */
  const char       *general_path;  /* NULL: the bundled general questions */
  int               max_tokens;    /* longest answer; default 64 */
  int               max_records;   /* per dataset; 0: all */
  /* Ask the base model every question again rather than take its answers
   * kept by an earlier evaluation of the same model file, questions and
   * generation settings (in ~/.cache/temper/base-answers/); the new
   * answers replace the kept ones. */
  gboolean          fresh_base_answers;
  TemperEvaluateStageProgress progress;
  gpointer          progress_data;
  GCancellable     *cancellable;
} TemperEvaluateOptions;

void temper_evaluate_options_init (TemperEvaluateOptions *options);

/* Figures for one dataset. */
typedef struct {
  char    *name;              /* "validation" or the file's name */
  char    *path;
  guint    n_records;
  double   perplexity[2];     /* NaN when no answer token was scored */
  guint    n_with_reference;  /* records answered and scored */
  /* Means over those records; BLEU and chrF are corpus-level. */
  double   exact[2], contains[2], bleu[2], rouge_l[2], chrf[2];
  guint    n_identical;       /* records where both answers were the same */
} TemperEvaluationSet;

typedef struct {
  GArray  *sets;              /* TemperEvaluationSet */
  guint    n_general;
  guint    general_right[2];
  guint    general_forgotten; /* right before, wrong after tuning */
  guint    general_gained;    /* wrong before, right after tuning */
  /* The forgetting is more than noise: at least two questions more
   * forgotten than gained (greedy answers flip both ways by chance). */
  gboolean forgetting;
  guint    n_identical;       /* over every question asked */
  guint    n_asked;
  gboolean no_effect;         /* mostly identical answers, or a flat loss */
  gboolean loss_fell;         /* FALSE also when metrics.jsonl has no steps */
  guint    n_base_kept;       /* base answers taken from the cache, not generated */
  char   **findings;          /* plain sentences, most important first */
  char    *json_path;
  char    *html_path;
} TemperEvaluation;

TemperEvaluation *temper_evaluate_run  (const char *run_dir, const TemperEvaluateOptions *options,
                                        GError **error);
void              temper_evaluation_free (TemperEvaluation *evaluation);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TemperEvaluation, temper_evaluation_free)

/* Whether a training loss fell: the mean of the last fifth of the steps is
 * below 95% of the mean of the first fifth.  FALSE with fewer than two
 * steps.  @losses has one value per step, NaN for steps without. */
gboolean temper_evaluate_loss_fell (const double *losses, gsize n);

/* Reads the forgetting check's questions: JSONL of {"prompt", "expect"}
 * (alternatives in expect separated by "|").  Returns arrays of new strings. */
gboolean temper_evaluate_load_general (const char *path, GPtrArray **prompts,
                                       GPtrArray **expects, GError **error);
/* TRUE when @answer contains one of the |-separated alternatives of @expect. */
gboolean temper_evaluate_expect_matches (const char *answer, const char *expect);

G_END_DECLS
