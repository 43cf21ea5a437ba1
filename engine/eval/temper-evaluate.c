/* SPDX-License-Identifier: MIT */
/* temper-evaluate.c — comparing a run's adapter with its base model. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <math.h>
#include <string.h>

#include <json-glib/json-glib.h>

#include "temper/answer.h"
#include "temper/chat.h"
#include "temper/error.h"
#include "temper/json.h"
#include "temper/install-paths.h"
#include "temper/metrics.h"
#include "temper/model.h"
#include "temper/run.h"
#include "temper/train.h"
#include "temper-answer-cache.h"
#include "temper-evaluate-private.h"

/* Share of identical answers from which the adapter is said to have had
 * no effect. */
#define NO_EFFECT_IDENTICAL 0.8
/* Forgetting is flagged when this many more general questions were lost
 * than gained, plus one for every QUESTIONS_PER_EXTRA_LOSS asked.  Any
 * change to the weights flips a few greedy answers of a small model either
 * way, and more of them the more questions are asked: on the demo model,
 * settings that teach without harm lost 1–3 of the 24 bundled questions
 * against one gained, depending on nothing more than the rounding of the
 * generation kernels.  One answer among a handful, two among two dozen, or
 * losses balanced by gains, is that noise rather than lost knowledge. */
#define FORGETTING_MIN_NET_LOSS 2
#define QUESTIONS_PER_EXTRA_LOSS 24

void
temper_evaluate_options_init (TemperEvaluateOptions *options)
{
  memset (options, 0, sizeof *options);
  options->backend = TEMPER_BACKEND_CPU;
  options->device = -1;
  options->max_tokens = 64;
}

void
temper_eval_record_free (gpointer record)
{
  TemperEvalRecord *r = record;

  g_free (r->question);
  g_free (r->reference);
  g_free (r->expect);
  g_free (r->answer[0]);
  g_free (r->answer[1]);
  g_free (r);
}

void
temper_eval_general_free (gpointer item)
{
  TemperEvalGeneral *g = item;

  g_free (g->question);
  g_free (g->expect);
  g_free (g->answer[0]);
  g_free (g->answer[1]);
  g_free (g);
}

void
temper_evaluation_free (TemperEvaluation *evaluation)
{
  if (evaluation == NULL)
    return;
  for (guint i = 0; evaluation->sets != NULL && i < evaluation->sets->len; i++)
    {
      TemperEvaluationSet *set = &g_array_index (evaluation->sets, TemperEvaluationSet, i);
      g_free (set->name);
      g_free (set->path);
    }
  g_clear_pointer (&evaluation->sets, g_array_unref);
  g_strfreev (evaluation->findings);
  g_free (evaluation->json_path);
  g_free (evaluation->html_path);
  g_free (evaluation);
}

gboolean
temper_evaluate_loss_fell (const double *losses, gsize n)
{
  double first = 0.0, last = 0.0;
  gsize n_first = 0, n_last = 0, n_valid = 0, seen = 0, span;

  for (gsize i = 0; i < n; i++)
    n_valid += !isnan (losses[i]);
  if (n_valid < 2)
    return FALSE;
  span = MAX (1, n_valid / 5);
  for (gsize i = 0; i < n; i++)
    {
      if (isnan (losses[i]))
        continue;
      if (seen < span)
        first += losses[i], n_first++;
      if (seen >= n_valid - span)
        last += losses[i], n_last++;
      seen++;
    }
  return last / n_last < 0.95 * (first / n_first);
}

gboolean
temper_evaluate_expect_matches (const char *answer, const char *expect)
{
  g_auto(GStrv) alternatives = g_strsplit (expect, "|", -1);

  for (guint i = 0; alternatives[i] != NULL; i++)
    if (alternatives[i][0] != '\0' && temper_metrics_contains (answer, alternatives[i]))
      return TRUE;
  return FALSE;
}

gboolean
temper_evaluate_load_general (const char *path, GPtrArray **prompts, GPtrArray **expects,
                              GError **error)
{
  g_autofree char *text = NULL;
  g_auto(GStrv) lines = NULL;
  g_autoptr(GPtrArray) p = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) e = g_ptr_array_new_with_free_func (g_free);
  GError *local = NULL;

  if (!g_file_get_contents (path, &text, NULL, &local))
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_IO,
                   _("The general questions could not be read: %s"), local->message);
      g_error_free (local);
      return FALSE;
    }
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_autoptr(JsonNode) root = NULL;
      JsonObject *obj;
      const char *prompt, *expect;

      if (g_strstrip (lines[i])[0] == '\0')
        continue;
      root = temper_json_parse_data (lines[i], -1, "general questions", 0, NULL);
      if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
        goto bad_line;
      obj = json_node_get_object (root);
      prompt = json_object_get_string_member_with_default (obj, "prompt", NULL);
      expect = json_object_get_string_member_with_default (obj, "expect", NULL);
      if (prompt == NULL || expect == NULL || expect[0] == '\0')
        goto bad_line;
      g_ptr_array_add (p, g_strdup (prompt));
      g_ptr_array_add (e, g_strdup (expect));
      continue;

    bad_line:
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE,
                   _("%s, line %u: expected a JSON object with the texts “prompt” and “expect”"),
                   path, i + 1);
      return FALSE;
    }
  if (p->len == 0)
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE,
                   _("%s holds no general questions"), path);
      return FALSE;
    }
  *prompts = g_steal_pointer (&p);
  *expects = g_steal_pointer (&e);
  return TRUE;
}

/* ---- The work ---------------------------------------------------------- */

typedef struct {
  const TemperEvaluateOptions *options;
  temper_model_t              *model;
  temper_adapter_t            *adapter;
  temper_generator_t          *gen;
  gboolean                     gen_exact;
  temper_chat_template_t      *tmpl;
  int                          n_vocab;
  const char                  *model_path;
  TemperBaseWeights            base_weights;
  TemperAnswerCache           *base_answers;   /* NULL: every base answer is generated */
  gboolean                     base_answers_opened;
} Evaluator;

/* Perplexity needs fp32 activations to be training's loss; answers are
 * decoded as the Compare page decodes them (8-bit activations against
 * quantized weights), which is faster.  One generator at a time, so that
 * memory holds one key/value cache.  The choice only exists on the CPU: a
 * GPU generator is kept for both, rather than uploading the weights twice. */
static gboolean
open_generator (Evaluator *ev, gboolean exact, GError **error)
{
  TemperGeneratorOptions gopts = { 0 };

  if (ev->gen != NULL
      && (ev->gen_exact == exact || !g_str_has_prefix (temper_generator_get_device (ev->gen), "cpu")))
    return TRUE;
  g_clear_pointer (&ev->gen, temper_generator_free);
  gopts.n_threads = ev->options->n_threads;
  gopts.exact = exact;
  ev->gen = temper_generator_new_on (ev->model, &gopts, ev->options->backend,
                                     ev->options->device, error);
  ev->gen_exact = exact;
  return ev->gen != NULL;
}

static void
report (Evaluator *ev, const char *stage, double fraction)
{
  if (ev->options->progress != NULL)
    ev->options->progress (stage, fraction, ev->options->progress_data);
}

static gboolean
use_model (Evaluator *ev, int which, GError **error)
{
  return temper_generator_set_adapter (ev->gen, which == TEMPER_EVAL_TUNED ? ev->adapter : NULL,
                                       error);
}

/* The kept answers of the base model for this model file and these
 * generation settings, opened once the answering generator exists (its
 * device is part of the key: another device rounds differently). */
static TemperAnswerCache *
base_answers (Evaluator *ev)
{
  if (!ev->base_answers_opened)
    {
      g_autofree char *settings = g_strdup_printf ("greedy answers|at most %d tokens|%s|%d threads|"
                                                   "8-bit activations|base weights %s",
                                                   ev->options->max_tokens,
                                                   temper_generator_get_device (ev->gen),
                                                   ev->options->n_threads > 0 ? ev->options->n_threads
                                                   : (int) g_get_num_processors (),
                                                   temper_base_weights_name (ev->base_weights));

      ev->base_answers_opened = TRUE;
      ev->base_answers = temper_answer_cache_open (ev->model_path, settings);
    }
  return ev->base_answers;
}

/* The greedy answer of model @which; the base model's comes from the cache
 * when an earlier evaluation asked it the same. */
static char *
answer (Evaluator *ev, int which, const TemperChatMessage *messages, gsize n, GError **error)
{
  char *text;

  /* Fresh: asked again, and the new answers kept for the next time. */
  if (which == TEMPER_EVAL_BASE && !ev->options->fresh_base_answers)
    {
      const char *kept = temper_answer_cache_lookup (base_answers (ev), messages, n);

      if (kept != NULL)
        return g_strdup (kept);
    }
  text = temper_answer_greedy (ev->gen, ev->tmpl, messages, n, ev->options->max_tokens,
                               ev->options->cancellable, error);
  if (text != NULL && which == TEMPER_EVAL_BASE)
    temper_answer_cache_store (base_answers (ev), messages, n, text);
  return text;
}

static gboolean
cancelled (Evaluator *ev, GError **error)
{
  if (!g_cancellable_is_cancelled (ev->options->cancellable))
    return FALSE;
  g_set_error_literal (error, TEMPER_ERROR, TEMPER_ERROR_CANCELLED, _("The evaluation was cancelled"));
  return TRUE;
}

/* The "expect" member of every record of @ds that has one, keyed by its
 * line (JSONL) or item (JSON array).  The dataset reader keeps only the
 * conversation, so the file is read again; a file that cannot be gives no
 * phrases rather than an error, since they only refine "contains". */
static GHashTable *
read_expect_phrases (const temper_dataset_t *ds)
{
  GHashTable *phrases = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, g_free);
  g_autoptr(JsonNode) document = NULL;
  g_autofree char *text = NULL;

  if (!g_file_get_contents (temper_dataset_get_path (ds), &text, NULL, NULL))
    return phrases;
  if (temper_dataset_get_report (ds)->jsonl)
    {
      g_auto(GStrv) lines = g_strsplit (text, "\n", -1);

      for (gint64 i = 0; lines[i] != NULL; i++)
        {
          g_autoptr(JsonNode) root = NULL;
          const char *expect;

          if (strstr (lines[i], "\"expect\"") == NULL
              || (root = temper_json_parse_data (lines[i], -1, "dataset", 0, NULL)) == NULL
              || !JSON_NODE_HOLDS_OBJECT (root))
            continue;
          expect = json_object_get_string_member_with_default (json_node_get_object (root),
                                                               "expect", NULL);
          if (expect != NULL && expect[0] != '\0')
            g_hash_table_insert (phrases, g_memdup2 (&(gint64) { i + 1 }, sizeof (gint64)),
                                 g_strdup (expect));
        }
    }
  else if ((document = temper_json_parse_data (text, -1, "dataset", 0, NULL)) != NULL
           && JSON_NODE_HOLDS_ARRAY (document))
    {
      JsonArray *items = json_node_get_array (document);

      for (guint i = 0; i < json_array_get_length (items); i++)
        {
          JsonNode *item = json_array_get_element (items, i);
          const char *expect;

          if (!JSON_NODE_HOLDS_OBJECT (item))
            continue;
          expect = json_object_get_string_member_with_default (json_node_get_object (item),
                                                               "expect", NULL);
          if (expect != NULL && expect[0] != '\0')
            g_hash_table_insert (phrases, g_memdup2 (&(gint64) { i }, sizeof (gint64)),
                                 g_strdup (expect));
        }
    }
  return phrases;
}

/* One dataset under evaluation: the records it scores, in order. */
typedef struct {
  const temper_dataset_t *ds;
  GArray                 *indices;
  TemperEvaluationSet    *set;
  GPtrArray              *records;   /* TemperEvalRecord */
} EvalSet;

/* The number of user turns before the last answer of @rec. */
static gsize
asked_turns (const TemperDatasetRecord *rec)
{
  gsize asked = rec->n_messages;

  while (asked > 0 && rec->messages[asked - 1].role == TEMPER_CHAT_ROLE_ASSISTANT)
    asked--;
  return asked;
}

/* Fills es->records with the question, reference and expect phrases of
 * each record to evaluate. */
static void
prepare_set (Evaluator *ev, EvalSet *es)
{
  g_autoptr(GHashTable) phrases = read_expect_phrases (es->ds);
  gboolean jsonl = temper_dataset_get_report (es->ds)->jsonl;
  guint n = es->indices->len;

  if (ev->options->max_records > 0)
    n = MIN (n, (guint) ev->options->max_records);
  es->set->n_records = n;
  for (guint i = 0; i < n; i++)
    {
      const TemperDatasetRecord *rec = temper_dataset_get_record (es->ds, g_array_index (es->indices, guint, i));
      TemperEvalRecord *r = g_new0 (TemperEvalRecord, 1);
      gsize asked = asked_turns (rec);

      r->question = g_strdup (asked > 0 ? rec->messages[asked - 1].content : "");
      if (asked > 0 && asked < rec->n_messages)
        {
          gint64 key = jsonl ? (gint64) rec->line : rec->item;
          r->reference = g_strdup (rec->messages[asked].content);
          r->expect = g_strdup (g_hash_table_lookup (phrases, &key));
        }
      r->nll[0] = r->nll[1] = NAN;
      g_ptr_array_add (es->records, r);
    }
}

/* Perplexity of both models on the answer tokens of every record. */
static gboolean
score_set (Evaluator *ev, EvalSet *es, GError **error)
{
  g_autofree char *stage = g_strdup_printf (_("Perplexity on %s"), es->set->name);
  guint n = es->set->n_records;

  if (!open_generator (ev, TRUE, error))
    return FALSE;
  for (int which = 0; which < 2; which++)
    {
      TemperNll total = { 0 };

      if (!use_model (ev, which, error))
        return FALSE;
      for (guint i = 0; i < n; i++)
        {
          TemperEvalRecord *r = es->records->pdata[i];
          TemperNll one = { 0 };
          const gint32 *ids;
          const guint8 *mask;
          gsize len;

          if (!temper_dataset_get_tokens (es->ds, g_array_index (es->indices, guint, i), &ids, &mask, &len))
            {
              g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE,
                           _("%s could not be turned into tokens with the model's chat template"),
                           temper_dataset_get_path (es->ds));
              return FALSE;
            }
          if (!temper_evaluate_nll (ev->gen, ev->n_vocab, ids, mask, len, &one,
                                    ev->options->cancellable, error))
            return FALSE;
          r->nll[which] = one.n_tokens > 0 ? one.nll_sum / (double) one.n_tokens : NAN;
          total.nll_sum += one.nll_sum;
          total.n_tokens += one.n_tokens;
          report (ev, stage, (which * n + i + 1) / (2.0 * n));
        }
      es->set->perplexity[which] = temper_nll_perplexity (&total);
    }
  return TRUE;
}

/* Both models answer every record that has a reference answer; each answer
 * is scored, then the set's means and corpus scores are formed. */
static gboolean
answer_set (Evaluator *ev, EvalSet *es, GError **error)
{
  g_autofree char *stage = g_strdup_printf (_("Answering the questions of %s"), es->set->name);
  TemperEvaluationSet *set = es->set;
  TemperBleuStats bleu[2];
  TemperChrfStats chrf[2];
  guint n = set->n_records;

  memset (bleu, 0, sizeof bleu);
  memset (chrf, 0, sizeof chrf);
  if (!open_generator (ev, FALSE, error))
    return FALSE;
  for (int which = 0; which < 2; which++)
    {
      if (!use_model (ev, which, error))
        return FALSE;
      for (guint i = 0; i < n; i++)
        {
          const TemperDatasetRecord *rec = temper_dataset_get_record (es->ds, g_array_index (es->indices, guint, i));
          TemperEvalRecord *r = es->records->pdata[i];
          gsize asked = asked_turns (rec);

          /* Plain-text records and answers nobody wrote have nothing to
           * compare against. */
          if (r->reference == NULL || rec->messages[asked - 1].role != TEMPER_CHAT_ROLE_USER)
            continue;
          if (cancelled (ev, error))
            return FALSE;
          r->answer[which] = answer (ev, which, rec->messages, asked, error);
          if (r->answer[which] == NULL)
            return FALSE;
          r->scored = TRUE;
          r->exact[which] = temper_metrics_exact_match (r->answer[which], r->reference);
          r->contains[which] = r->expect != NULL
                               ? temper_evaluate_expect_matches (r->answer[which], r->expect)
                               : temper_metrics_contains (r->answer[which], r->reference);
          r->bleu[which] = temper_bleu_sentence (r->answer[which], r->reference);
          r->rouge_l[which] = temper_rouge_l (r->answer[which], r->reference);
          r->chrf[which] = temper_chrf_sentence (r->answer[which], r->reference);
          temper_bleu_stats_add (&bleu[which], r->answer[which], r->reference);
          temper_chrf_stats_add (&chrf[which], r->answer[which], r->reference);
          report (ev, stage, (which * n + i + 1) / (2.0 * n));
        }
    }

  for (guint i = 0; i < n; i++)
    {
      TemperEvalRecord *r = es->records->pdata[i];

      if (!r->scored)
        continue;
      set->n_with_reference++;
      set->n_identical += strcmp (r->answer[0], r->answer[1]) == 0;
      for (int which = 0; which < 2; which++)
        {
          set->exact[which] += r->exact[which];
          set->contains[which] += r->contains[which];
          set->rouge_l[which] += r->rouge_l[which];
        }
    }
  for (int which = 0; which < 2; which++)
    {
      double count = MAX (1, set->n_with_reference);

      set->exact[which] /= count;
      set->contains[which] /= count;
      set->rouge_l[which] /= count;
      set->bleu[which] = temper_bleu_corpus (&bleu[which]);
      set->chrf[which] = temper_chrf_corpus (&chrf[which]);
    }
  return TRUE;
}

static gboolean
evaluate_general (Evaluator *ev, const char *path, GPtrArray *general, GError **error)
{
  g_autoptr(GPtrArray) prompts = NULL;
  g_autoptr(GPtrArray) expects = NULL;

  if (!temper_evaluate_load_general (path, &prompts, &expects, error))
    return FALSE;
  for (guint i = 0; i < prompts->len; i++)
    {
      TemperEvalGeneral *g = g_new0 (TemperEvalGeneral, 1);

      g->question = g_strdup (prompts->pdata[i]);
      g->expect = g_strdup (expects->pdata[i]);
      g_ptr_array_add (general, g);
    }
  if (!open_generator (ev, FALSE, error))
    return FALSE;
  for (int which = 0; which < 2; which++)
    {
      if (!use_model (ev, which, error))
        return FALSE;
      for (guint i = 0; i < general->len; i++)
        {
          TemperEvalGeneral *g = general->pdata[i];
          TemperChatMessage message = { TEMPER_CHAT_ROLE_USER, g->question };

          if (cancelled (ev, error))
            return FALSE;
          g->answer[which] = answer (ev, which, &message, 1, error);
          if (g->answer[which] == NULL)
            return FALSE;
          g->right[which] = temper_evaluate_expect_matches (g->answer[which], g->expect);
          report (ev, _("Asking the general questions"), (which * general->len + i + 1) / (2.0 * general->len));
        }
    }
  return TRUE;
}

/* Installed: <datadir>/temper/eval; from the build folder: the source tree. */
static char *
find_general_questions (void)
{
  return temper_data_file ("eval/general-knowledge.jsonl");
}

static void
add_set (TemperEvaluation *result, GPtrArray *records, const char *name, const char *path)
{
  TemperEvaluationSet set = { 0 };

  set.name = g_strdup (name);
  set.path = g_strdup (path);
  set.perplexity[0] = set.perplexity[1] = NAN;
  g_array_append_val (result->sets, set);
  g_ptr_array_add (records, g_ptr_array_new_with_free_func (temper_eval_record_free));
}

static void
write_findings (TemperEvaluation *result)
{
  g_autoptr(GPtrArray) f = g_ptr_array_new ();

  if (result->forgetting)
    g_ptr_array_add (f, g_strdup_printf (_("The tuned model got %u of %u general questions wrong that "
                                         "the base model answered right (and %u right that it got "
                                         "wrong): it has forgotten some of what it knew. Train for "
                                         "fewer epochs, lower the learning rate, or mix general "
                                         "examples into the dataset."),
                                         result->general_forgotten, result->n_general,
                                         result->general_gained));
  else if (result->n_general > 0 && result->general_forgotten == 0)
    g_ptr_array_add (f, g_strdup_printf (_("No forgetting: the tuned model answered right every "
                                         "general question the base model did (%u of %u)."),
                                         result->general_right[TEMPER_EVAL_BASE], result->n_general));
  else if (result->n_general > 0)
    g_ptr_array_add (f, g_strdup_printf (_("No forgetting beyond chance: the tuned model got %u of %u "
                                         "general questions wrong that the base model answered "
                                         "right, and %u right that the base model got wrong."),
                                         result->general_forgotten, result->n_general,
                                         result->general_gained));
  if (result->n_asked > 0 && result->n_identical >= NO_EFFECT_IDENTICAL * result->n_asked)
    g_ptr_array_add (f, g_strdup_printf (_("The tuned model gave the same answer as the base model to "
                                         "%u of %u questions: the adapter changed little."),
                                         result->n_identical, result->n_asked));
  if (!result->loss_fell)
    g_ptr_array_add (f, g_strdup (_("The training loss never fell, so the model learnt little.")));
  if (result->no_effect)
    g_ptr_array_add (f, g_strdup (_("To make training count for more: train for more epochs, raise "
                                  "the learning rate, or add target modules (all linear layers "
                                  "rather than attention only).")));
  for (guint i = 0; i < result->sets->len; i++)
    {
      const TemperEvaluationSet *s = &g_array_index (result->sets, TemperEvaluationSet, i);

      if (!isnan (s->perplexity[0]) && !isnan (s->perplexity[1]))
        g_ptr_array_add (f, g_strdup_printf (_("Perplexity on the answers of %s went from %.2f "
                                             "(base) to %.2f (tuned); lower is better."),
                                             s->name, s->perplexity[0], s->perplexity[1]));
      if (s->n_with_reference > 0)
        g_ptr_array_add (f, g_strdup_printf (_("On %s, answers containing the reference went from "
                                             "%u to %u of %u."), s->name,
                                             (guint) lround (s->contains[0] * s->n_with_reference),
                                             (guint) lround (s->contains[1] * s->n_with_reference),
                                             s->n_with_reference));
    }
  g_ptr_array_add (f, NULL);
  result->findings = (char **) g_ptr_array_free (g_steal_pointer (&f), FALSE);
}

static gboolean
evaluate (Evaluator *ev, temper_run_t *run, TemperEvaluation *result, GPtrArray *records,
          GPtrArray *general, GError **error)
{
  const TemperTrainSettings *s = temper_run_get_settings (run);
  const TemperEvaluateOptions *o = ev->options;
  g_autoptr(temper_dataset_t) data = NULL;
  g_autoptr(temper_dataset_t) val = NULL;
  g_autoptr(temper_dataset_t) extra = NULL;
  g_autoptr(GArray) train_idx = NULL;
  g_autoptr(GArray) val_idx = NULL;
  g_autoptr(GArray) all = NULL;
  g_autofree char *general_path = NULL;
  TemperDatasetOptions dopts;
  EvalSet sets[2] = { { 0 } };
  guint n_sets = 0;

  temper_dataset_options_init (&dopts);
  dopts.chat_template = ev->tmpl;
  dopts.max_length = s->max_length;
  dopts.train_on_prompt = s->train_on_all_tokens;
  dopts.cancellable = o->cancellable;

  /* The validation split exactly as training made it. */
  if (temper_run_get_val_path (run) != NULL)
    {
      val = temper_dataset_load (temper_run_get_val_path (run), &dopts, error);
      if (val == NULL)
        return FALSE;
      val_idx = g_array_new (FALSE, FALSE, sizeof (guint));
      for (guint i = 0; i < temper_dataset_get_n_records (val); i++)
        g_array_append_val (val_idx, i);
    }
  else
    {
      double fraction;

      data = temper_dataset_load (temper_run_get_data_path (run), &dopts, error);
      if (data == NULL)
        return FALSE;
      fraction = s->val_fraction >= 0 ? s->val_fraction
                 : temper_dataset_default_validation_fraction (temper_dataset_get_n_records (data));
      temper_dataset_split (data, fraction, s->seed, &train_idx, &val_idx);
    }
  if (val_idx->len > 0)
    {
      add_set (result, records, _("the validation split"), val != NULL ? temper_run_get_val_path (run)
                                                                     : temper_run_get_data_path (run));
      sets[n_sets].ds = val != NULL ? val : data;
      sets[n_sets++].indices = val_idx;
    }
  if (o->extra_path != NULL)
    {
      g_autofree char *base = g_path_get_basename (o->extra_path);

      extra = temper_dataset_load (o->extra_path, &dopts, error);
      if (extra == NULL)
        return FALSE;
      all = g_array_new (FALSE, FALSE, sizeof (guint));
      for (guint i = 0; i < temper_dataset_get_n_records (extra); i++)
        g_array_append_val (all, i);
      add_set (result, records, base, o->extra_path);
      sets[n_sets].ds = extra;
      sets[n_sets++].indices = all;
    }
  /* Every perplexity first, then every answer: each needs its own kind of
   * generator. */
  for (guint i = 0; i < n_sets; i++)
    {
      sets[i].set = &g_array_index (result->sets, TemperEvaluationSet, i);
      sets[i].records = records->pdata[i];
      prepare_set (ev, &sets[i]);
    }
  for (guint i = 0; i < n_sets; i++)
    if (!score_set (ev, &sets[i], error))
      return FALSE;
  for (guint i = 0; i < n_sets; i++)
    if (!answer_set (ev, &sets[i], error))
      return FALSE;

  general_path = o->general_path != NULL ? g_strdup (o->general_path) : find_general_questions ();
  if (!evaluate_general (ev, general_path, general, error))
    return FALSE;
  result->n_general = general->len;
  for (guint i = 0; i < general->len; i++)
    {
      TemperEvalGeneral *g = general->pdata[i];

      result->general_right[0] += g->right[0];
      result->general_right[1] += g->right[1];
      result->general_forgotten += g->right[0] && !g->right[1];
      result->general_gained += !g->right[0] && g->right[1];
      result->n_identical += strcmp (g->answer[0], g->answer[1]) == 0;
      result->n_asked++;
    }
  for (guint i = 0; i < result->sets->len; i++)
    {
      const TemperEvaluationSet *set = &g_array_index (result->sets, TemperEvaluationSet, i);
      result->n_identical += set->n_identical;
      result->n_asked += set->n_with_reference;
    }
  result->forgetting = result->general_forgotten >= result->general_gained + FORGETTING_MIN_NET_LOSS
                                                  + result->n_general / QUESTIONS_PER_EXTRA_LOSS;
  return TRUE;
}

TemperEvaluation *
temper_evaluate_run (const char *run_dir, const TemperEvaluateOptions *options, GError **error)
{
  TemperEvaluateOptions defaults;
  g_autoptr(temper_run_t) run = NULL;
  g_autoptr(temper_model_t) model = NULL;
  g_autoptr(temper_adapter_t) adapter = NULL;
  g_autoptr(temper_chat_template_t) tmpl = NULL;
  g_autoptr(GPtrArray) records = g_ptr_array_new_with_free_func ((GDestroyNotify) g_ptr_array_unref);
  g_autoptr(GPtrArray) general = g_ptr_array_new_with_free_func (temper_eval_general_free);
  g_autoptr(GArray) metrics = NULL;
  g_autoptr(TemperEvaluation) result = g_new0 (TemperEvaluation, 1);
  g_autofree char *adapter_dir = NULL;
  g_autofree char *run_name = NULL;
  g_autofree double *losses = NULL;
  Evaluator ev = { 0 };
  gboolean ok;

  g_return_val_if_fail (run_dir != NULL, NULL);
  if (options == NULL)
    {
      temper_evaluate_options_init (&defaults);
      options = &defaults;
    }
  result->sets = g_array_new (FALSE, TRUE, sizeof (TemperEvaluationSet));

  run = temper_run_open (run_dir, error);
  /* The reports go into the run folder. */
  if (run == NULL || !temper_run_lock (run, TEMPER_RUN_USE_EVALUATING, error))
    return NULL;
  model = temper_run_load_model (run, options->cancellable, error);
  if (model == NULL)
    return NULL;
  adapter_dir = temper_run_dup_adapter_dir (run);
  adapter = temper_lora_load_peft (adapter_dir, temper_model_get_config (model), NULL, error);
  if (adapter == NULL)
    {
      g_prefix_error (error, _("The run in %s has no finished adapter to evaluate (resume the "
                      "training to finish it): "), run_dir);
      return NULL;
    }
  tmpl = temper_chat_template_new (temper_model_get_chat_template (model),
                                   temper_model_get_tokenizer (model));
  ev.options = options;
  ev.model = model;
  ev.adapter = adapter;
  ev.tmpl = tmpl;
  ev.n_vocab = temper_model_get_config (model)->n_vocab;
  ev.model_path = temper_model_get_path (model);
  ev.base_weights = temper_model_get_base_weights (model);
  /* Made here, not when first needed, so that a backend that cannot run
   * fails before any work. */
  ok = open_generator (&ev, TRUE, error) && evaluate (&ev, run, result, records, general, error);
  g_clear_pointer (&ev.gen, temper_generator_free);
  result->n_base_kept = temper_answer_cache_get_hits (ev.base_answers);
  if (ok)
    temper_answer_cache_save (ev.base_answers);
  g_clear_pointer (&ev.base_answers, temper_answer_cache_free);
  if (!ok)
    return NULL;

  metrics = temper_run_read_metrics (run, NULL);
  if (metrics != NULL)
    {
      losses = g_new (double, MAX (1, metrics->len));
      for (guint i = 0; i < metrics->len; i++)
        losses[i] = g_array_index (metrics, TemperRunMetrics, i).loss;
      result->loss_fell = temper_evaluate_loss_fell (losses, metrics->len);
    }
  result->no_effect = !result->loss_fell
                      || (result->n_asked > 0
                          && result->n_identical >= NO_EFFECT_IDENTICAL * result->n_asked);
  write_findings (result);

  result->json_path = g_build_filename (run_dir, "evaluation.json", NULL);
  result->html_path = g_build_filename (run_dir, "evaluation.html", NULL);
  run_name = g_path_get_basename (run_dir);
  if (!temper_evaluation_write_json (result, records, general, result->json_path, error)
      || !temper_evaluation_write_html (result, records, general, metrics, run_name,
                                        result->html_path, error))
    return NULL;
  return g_steal_pointer (&result);
}
