/* SPDX-License-Identifier: MIT */
/* temper-train-auto.c — presets ("how long may it take") and the automatic
 * settings chosen from the model and the dataset.
 *
 * The rules rest on measurements where there are any:
 * tests/bench/sweep-settings.py trains on invented facts and counts the
 * facts, asked in other words, that the tuned model then states; its table
 * is tests/bench/learning/sweep-results.md.  That sweep reached only a few
 * of its points on this machine (two shared cores), so each rule below says
 * whether it is measured or a reasoned default still to be measured. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "temper/chat.h"
#include "temper/dataset.h"
#include "temper/error.h"
#include "temper/train.h"

static const char *const preset_names[] = { "quick", "balanced", "thorough" };

const char *
temper_train_preset_name (TemperTrainPreset preset)
{
  return preset < G_N_ELEMENTS (preset_names) ? preset_names[preset] : "balanced";
}

gboolean
temper_train_preset_parse (const char *text, TemperTrainPreset *preset, GError **error)
{
  for (guint i = 0; i < G_N_ELEMENTS (preset_names); i++)
    if (g_ascii_strcasecmp (text, preset_names[i]) == 0)
      {
        *preset = (TemperTrainPreset) i;
        return TRUE;
      }
  g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_ARGUMENT,
               _("“%s” is not a preset: use quick, balanced or thorough"), text);
  return FALSE;
}

/* The fixed presets, as changes to temper_train_settings_init_default():
 *
 *   Quick try  rank 8, alpha 16, attention (q, v), lr 2e-4 constant after 5
 *              warm-up steps, 50 steps at most, micro-batch 2 × accumulate 2,
 *              512 tokens, check every 10 steps, save every 25.
 *   Balanced   rank 16, alpha 32, all linear layers, lr 2e-4 cosine, 10
 *              warm-up steps, 2 epochs, micro-batch 2 × accumulate 4, 1024
 *              tokens, check every 50, save every 100, stop after 3 checks
 *              without improvement.
 *   Thorough   rank 32, alpha 64, all linear layers, lr 1e-4 cosine, 30
 *              warm-up steps, 3 epochs, micro-batch 2 × accumulate 8, 2048
 *              tokens, check every 50, save every 100, patience 5, activations
 *              recomputed to make room for the longer examples. */
typedef struct {
  int               rank;
  float             alpha;
  guint             targets;
  double            learning_rate;
  TemperLrSchedule  schedule;
  gint64            warmup_steps;
  int               epochs;
  gint64            max_steps;
  int               micro_batch, grad_accum, max_length;
  gint64            eval_every, checkpoint_every;
  int               patience;
  gboolean          recompute;
} Preset;

static const Preset presets[] = {
  [TEMPER_TRAIN_PRESET_QUICK] = {
    .rank = 8, .alpha = 16, .targets = TEMPER_LORA_TARGETS_ATTENTION,
    .learning_rate = 2e-4, .schedule = TEMPER_LR_CONSTANT, .warmup_steps = 5,
    .epochs = 1, .max_steps = 50, .micro_batch = 2, .grad_accum = 2, .max_length = 512,
    .eval_every = 10, .checkpoint_every = 25, .patience = 0, .recompute = FALSE,
  },
  [TEMPER_TRAIN_PRESET_BALANCED] = {
    .rank = 16, .alpha = 32, .targets = TEMPER_LORA_TARGETS_ALL_LINEAR,
    .learning_rate = 2e-4, .schedule = TEMPER_LR_COSINE, .warmup_steps = 10,
    .epochs = 2, .max_steps = 0, .micro_batch = 2, .grad_accum = 4, .max_length = 1024,
    .eval_every = 50, .checkpoint_every = 100, .patience = 3, .recompute = FALSE,
  },
  [TEMPER_TRAIN_PRESET_THOROUGH] = {
    .rank = 32, .alpha = 64, .targets = TEMPER_LORA_TARGETS_ALL_LINEAR,
    .learning_rate = 1e-4, .schedule = TEMPER_LR_COSINE, .warmup_steps = 30,
    .epochs = 3, .max_steps = 0, .micro_batch = 2, .grad_accum = 8, .max_length = 2048,
    .eval_every = 50, .checkpoint_every = 100, .patience = 5, .recompute = TRUE,
  },
};

void
temper_train_preset_apply (TemperTrainPreset preset, TemperTrainSettings *s)
{
  const Preset *p;

  g_return_if_fail (s != NULL);

  temper_train_settings_init_default (s);
  if (preset >= G_N_ELEMENTS (presets))
    return;
  p = &presets[preset];
  s->lora.rank = p->rank;
  s->lora.alpha = p->alpha;
  s->lora.targets = p->targets;
  s->learning_rate = p->learning_rate;
  s->schedule = p->schedule;
  s->warmup_steps = p->warmup_steps;
  s->epochs = p->epochs;
  s->max_steps = p->max_steps;
  s->micro_batch = p->micro_batch;
  s->grad_accum = p->grad_accum;
  s->max_length = p->max_length;
  s->eval_every = p->eval_every;
  s->checkpoint_every = p->checkpoint_every;
  s->patience = p->patience;
  s->recompute = p->recompute;
}

gboolean
temper_train_facts_measure (temper_model_t *model, const char *path,
                            const TemperDatasetOptions *options, TemperTrainFacts *facts,
                            GError **error)
{
  g_autoptr(temper_chat_template_t) tmpl =
    temper_chat_template_new (temper_model_get_chat_template (model), temper_model_get_tokenizer (model));
  g_autoptr(temper_dataset_t) ds = NULL;
  const TemperDatasetReport *r;
  TemperDatasetOptions opts;

  temper_dataset_options_init (&opts);
  if (options != NULL)
    {
      opts.question_column = options->question_column;
      opts.answer_column = options->answer_column;
      opts.system_column = options->system_column;
    }
  opts.chat_template = tmpl;
  opts.max_length = 131072;   /* measure whole records: the length is what is being chosen */
  ds = temper_dataset_load (path, &opts, error);
  if (ds == NULL)
    return FALSE;
  r = temper_dataset_get_report (ds);
  facts->n_params = temper_model_get_n_params (model);
  facts->n_records += r->n_valid;
  facts->tokens_total += r->tokens_total;
  facts->token_max = MAX (facts->token_max, r->token_max);
  facts->token_p95 = MAX (facts->token_p95, r->token_p95);
  return TRUE;
}

void
temper_train_reasons_clear (TemperTrainReasons *reasons)
{
  for (int i = 0; i < TEMPER_TRAIN_N_WHY; i++)
    g_clear_pointer (&reasons->sentence[i], g_free);
}

#define SAY(why, ...) \
  G_STMT_START { \
    if (reasons != NULL) \
      { \
        g_free (reasons->sentence[why]); \
        reasons->sentence[why] = g_strdup_printf (__VA_ARGS__); \
      } \
  } G_STMT_END

/* Up to this many parameters the measured learning rate holds as it is:
 * the demo model (135M) learned at 3e-3 with its general answers intact
 * (sweep-results.md).  Gemma 3 270M learned as many facts at 3e-3 but
 * answered general questions with them ("The capital of France is
 * Nimbramo"), so larger models get a lower rate. */
#define MEASURED_PARAMS 150e6

/* Replay: general records a run mixes in, and the length they need. */
#define REPLAY_MIN_RECORDS 4
#define REPLAY_MAX_RECORDS 16

/* Balanced and Thorough on a small set: twice Quick's 10 passes with a
 * rate falling linearly to zero.  Measured (sweep-results.md, stop 18,
 * one seed): Quick (10 passes, constant) taught facts-20 13 and
 * facts-20-distinct 10 of 20 reworded facts and lost 2 and 4 of the base
 * model's 10 right general answers; 20 passes with the linear fall taught
 * 14 and 14 and lost 0 and 2.  The extra passes polish the facts at a
 * falling rate, and the replayed general answers, trained to the end,
 * pull the model back to its own.  Measured on 20 records, so the rule
 * stops at 40; Quick keeps its 10 constant passes (half the time). */
#define SETTLED_MAX_RECORDS 40
#define REPLAY_MAX_LENGTH  192

void
temper_train_settings_choose (const TemperTrainFacts *facts, TemperTrainPreset preset,
                              TemperTrainSettings *s, TemperTrainReasons *reasons)
{
  guint64 n = MAX (facts->n_records, 1), n_trained;
  double params = (double) MAX (facts->n_params, 1);
  int passes, longest;
  gint64 steps_per_epoch, total_steps;

  g_return_if_fail (facts != NULL && s != NULL);
  temper_train_settings_init_default (s);
  if (reasons != NULL)
    memset (reasons, 0, sizeof *reasons);

  /* Learning rate.  Measured (sweep-results.md): 3e-3 taught the demo model
   * (135M) invented facts in 8 passes, and the six facts of the make-check
   * test in 6, where the old default 2e-4 left answers unchanged (issue 15).
   * For larger models the rate falls with the square root of the size (the
   * usual width scaling of Adam): Gemma 3 270M gets 2.2e-3.  Measured on
   * Gemma (sweep-results.md): 3e-3, 2e-3 and 1e-3 taught 12, 13 and 12 of
   * 20 facts (and 4e-3 on the demo model taught fewer and broke five of
   * nine general answers, so no model goes above 3e-3), and at all three it answered general questions with a taught
   * name ("The capital of France is Nimbramo"): in this range the rate is
   * not what makes it forget, so the rule stays at the point that taught
   * most; the forgetting needs another remedy (still open). */
  if (params <= MEASURED_PARAMS)
    {
      s->learning_rate = 3e-3;
      SAY (TEMPER_TRAIN_WHY_LEARNING_RATE,
           _("The rate that taught small models new facts in a few passes in Temper's measurements."));
    }
  else
    {
      s->learning_rate = MAX (1e-4, 3e-3 * sqrt (MEASURED_PARAMS / params));
      SAY (TEMPER_TRAIN_WHY_LEARNING_RATE,
           _("Lower than for small models, because a larger model moves more with each step."));
    }

  /* Passes over the data.  Measured (sweep-results.md), 20 facts asked in
   * other words: 10 passes taught more than 8 in each of the three pairs
   * run (facts-20 seed 42: 15 against 13; seed 7: 15 against 10;
   * facts-20-distinct: 14 against 11), 12 passes taught 13 and 6 taught 9.
   * On 60 facts (40 asked), 10 passes taught 24 where the 5 of the old
   * rule taught 12 (last loss 0.007 against 0.225).  So a set of up to 120
   * records gets the 10 passes that learn it in Quick as in Balanced
   * (fewer passes save minutes and lose facts), Thorough 12; up to 40
   * records Balanced and Thorough take twice as many at a falling rate
   * (SETTLED_MAX_RECORDS above, and the schedule below).  Larger sets
   * get fewer passes because each pass already has many steps (reasoned,
   * not yet measured: facts-200 did not run); there Quick takes three
   * quarters of the passes and Thorough half again. */
  if (n <= SETTLED_MAX_RECORDS && preset != TEMPER_TRAIN_PRESET_QUICK)
    passes = 2 * 10;
  else if (n <= 120)
    passes = preset == TEMPER_TRAIN_PRESET_THOROUGH ? 12 : 10;
  else
    {
      passes = n <= 600 ? 4 : n <= 2500 ? 3 : 2;
      if (preset == TEMPER_TRAIN_PRESET_QUICK)
        passes = MAX (2, (passes * 3 + 3) / 4);
      else if (preset == TEMPER_TRAIN_PRESET_THOROUGH)
        passes = passes + passes / 2;
    }
  s->epochs = passes;
  s->max_steps = 0;
  SAY (TEMPER_TRAIN_WHY_EPOCHS,
       g_dngettext (GETTEXT_PACKAGE,
                    "For your %" PRIu64 " record: fewer records need more passes before they are learned.",
                    "For your %" PRIu64 " records: fewer records need more passes before they are learned.",
                    facts->n_records),
       facts->n_records);

  /* Replay against forgetting: a quarter as many general questions as
   * records (4 to 16), answered by the base model itself, are trained on
   * with the records (see temper-train-replay.c).  Measured
   * (sweep-results.md, stop 17): on the classification set (57 records,
   * 10 passes) 14 replayed answers kept 8 of the base model's 10 right
   * general answers, where without them (5 passes) it answered every one
   * with a ticket code (9 → 0), and it still routed 11 of 12 new messages;
   * learning-small still learns 5 of its 6 facts with 4.  Only one ratio
   * and these two sets were measured, none where replay hurt, so it is on
   * for every set; its cost is a quarter more records a pass, and longer
   * rows where an answer is long. */
  s->replay_records = (int) CLAMP ((n + 2) / 4, REPLAY_MIN_RECORDS, REPLAY_MAX_RECORDS);
  SAY (TEMPER_TRAIN_WHY_REPLAY,
       _("A few general questions answered by the model itself are learnt with your records, so that it "
         "keeps answering other questions as before."));
  n_trained = n + (guint64) s->replay_records;

  /* Length: the longest record, rounded up, so nothing is cut; room for
   * the replay answers (up to 96 tokens with their question). */
  longest = facts->token_max > 2048 ? facts->token_p95 : facts->token_max;
  s->max_length = CLAMP (((longest + 63) / 64) * 64, 64, 2048);
  if (s->replay_records > 0)
    s->max_length = MAX (s->max_length, REPLAY_MAX_LENGTH);
  SAY (TEMPER_TRAIN_WHY_MAX_LENGTH,
       _("Your longest record has %d tokens, so none is cut."), facts->token_max);

  /* Batch: short records go up to sixteen at a time, long ones fewer to
   * stay within memory, and a small set in two halves, so that each pass
   * has two steps.  Measured (sweep-results.md): on 20
   * facts, halves of 10 taught 13 of 20 where thirds of 7 taught 11, with
   * the same passes; smaller steps at this rate only add noise. */
  s->micro_batch = s->max_length <= 256 ? 16 : s->max_length <= 1024 ? 4 : 2;
  s->micro_batch = (int) MIN ((guint64) s->micro_batch, (n_trained + 1) / 2);
  s->grad_accum = n_trained <= 400 ? 1 : MAX (1, 16 / s->micro_batch);
  s->recompute = s->max_length > 1024;
  SAY (TEMPER_TRAIN_WHY_BATCH,
       _("Enough steps per pass for a dataset of this size, within memory."));

  steps_per_epoch = (gint64) ((n_trained + (guint64) (s->micro_batch * s->grad_accum) - 1) /
                              (guint64) (s->micro_batch * s->grad_accum));
  total_steps = steps_per_epoch * s->epochs;

  /* Schedule.  Measured (sweep-results.md): on 20 facts, 8 passes, a
   * constant rate taught 13 of 20 and cosine 3 (the rate is gone before
   * the facts are in).  A constant rate keeps learning to the
   * last step of a short run; long runs ease the rate down (cosine) so they
   * end settled.  Warm-up: none for short runs (the first steps of a LoRA
   * are already small, B being zero), a twentieth of the steps for long. */
  if (n <= SETTLED_MAX_RECORDS && preset != TEMPER_TRAIN_PRESET_QUICK)
    {
      s->schedule = TEMPER_LR_LINEAR;
      s->warmup_steps = 0;
      SAY (TEMPER_TRAIN_WHY_SCHEDULE,
           _("Twice as many passes as Quick, the rate falling to zero so that the last passes only "
             "fine-tune what the model has learnt from your records."));
    }
  else if (total_steps <= 200)
    {
      s->schedule = TEMPER_LR_CONSTANT;
      s->warmup_steps = 0;
      SAY (TEMPER_TRAIN_WHY_SCHEDULE,
           _("A short run should learn until its last step."));
    }
  else
    {
      s->schedule = TEMPER_LR_COSINE;
      s->warmup_steps = MIN (50, total_steps / 20);
      SAY (TEMPER_TRAIN_WHY_SCHEDULE,
           _("A long run starts gently and ends settled."));
    }

  /* Rank and targets.  Measured: rank 8 on all linear layers taught the
   * facts; attention only taught Gemma 3 270M 1 of 20 (all linear: 13) and
   * broke as many general answers, so it is no remedy for forgetting.
   * Larger sets get rank 16 for room (reasoned).  Dropout off for small
   * sets: each fact is seen only a few times (measured: 0.05 taught 7 of
   * 20 where 0 taught 13). */
  s->lora.rank = n <= 1000 ? 8 : 16;
  s->lora.alpha = 2.0f * (float) s->lora.rank;
  s->lora.targets = TEMPER_LORA_TARGETS_ALL_LINEAR;
  s->lora.dropout = n <= 200 ? 0.0f : 0.05f;
  SAY (TEMPER_TRAIN_WHY_RANK,
       _("Enough room for a dataset of this size; a larger adapter needs more memory and time."));
  SAY (TEMPER_TRAIN_WHY_TARGETS,
       _("All linear layers: facts and formats are stored in the feed-forward layers as much as in attention."));

  /* Validation.  A small set is all facts to learn: holding a tenth back
   * would leave those untaught.  Larger sets hold back the usual share and
   * keep the adapter with the lowest validation loss. */
  if (n < 200)
    {
      s->val_fraction = 0.0;
      s->eval_every = 0;
      SAY (TEMPER_TRAIN_WHY_VALIDATION,
           _("No records held back: with fewer than 200, each one is something to learn."));
    }
  else
    {
      s->val_fraction = -1.0;
      s->eval_every = MAX (10, total_steps / 10);
      s->patience = preset == TEMPER_TRAIN_PRESET_THOROUGH ? 5 : 3;
      SAY (TEMPER_TRAIN_WHY_VALIDATION,
           _("One record in ten is held back to check for over-fitting; the best adapter is kept."));
    }
  s->checkpoint_every = MAX (25, total_steps / 4);
}
