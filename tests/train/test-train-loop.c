/* SPDX-License-Identifier: MIT */
/* test-train-loop.c — the training loop on the tiny fixture model: a run
 * interrupted and resumed follows exactly the uninterrupted run's losses,
 * cancelling keeps a usable checkpoint, and evaluation and the final PEFT
 * adapter are written. */
#include "config.h"

#include <math.h>
#include <string.h>

#include <glib/gstdio.h>

#include "temper/error.h"
#include "temper/model.h"
#include "temper/run.h"
#include "temper/train.h"
#include "../test-tree.h"

static char *
fixture_path (const char *name)
{
  return g_build_filename (g_getenv ("TEMPER_SOURCE_DIR"), "tests", "fixtures", "train", name, NULL);
}

static char *
write_dataset (const char *dir)
{
  static const char *const facts[][2] = {
    { "What does the Lumen kettle do?", "It boils water in ninety seconds." },
    { "Who makes the Lumen kettle?", "Temper makes the Lumen kettle." },
    { "How fast is the kettle?", "Ninety seconds for one litre." },
    { "What colour is it?", "The kettle is teal." },
    { "Count to three.", "One two three." },
    { "Count to five.", "One two three four five." },
    { "Name a fictional company.", "A fictional company is Temper." },
    { "What is taught here?", "A small language model learns new facts." },
    { "Say ten.", "Ten." },
    { "Say nine.", "Nine." },
    { "What boils water?", "The Lumen kettle." },
    { "Is the kettle fast?", "Yes, ninety seconds." },
  };
  GString *text = g_string_new (NULL);
  char *path = g_build_filename (dir, "facts.jsonl", NULL);

  for (guint i = 0; i < G_N_ELEMENTS (facts); i++)
    g_string_append_printf (text, "{\"prompt\": \"%s\", \"response\": \"%s\"}\n",
                            facts[i][0], facts[i][1]);
  g_assert_true (g_file_set_contents (path, text->str, -1, NULL));
  g_string_free (text, TRUE);
  return path;
}

static void
settings_for_test (TemperTrainSettings *s)
{
  temper_train_settings_init_default (s);
  s->lora.targets = TEMPER_LORA_TARGETS_ALL_LINEAR;
  s->lora.rank = 4;
  s->lora.alpha = 8;
  s->lora.dropout = 0.1f;     /* so the random state must be restored too */
  s->learning_rate = 5e-3;
  s->schedule = TEMPER_LR_COSINE;
  s->warmup_steps = 2;
  s->max_steps = 8;
  s->micro_batch = 2;
  s->grad_accum = 2;
  s->max_length = 48;
  s->eval_every = 3;
  s->val_fraction = 0.25;
  s->checkpoint_every = 0;
  s->seed = 3;
}

typedef struct {
  GCancellable *cancellable;
  gint64        cancel_at;
  int           calls;
} ProgressData;

static void
on_progress (const TemperTrainProgress *p, gpointer user_data)
{
  ProgressData *d = user_data;

  d->calls++;
  g_assert_cmpint (p->total_steps, ==, 8);
  g_assert_true (isfinite (p->loss));
  if (p->step == d->cancel_at)
    g_cancellable_cancel (d->cancellable);
}

static GArray *
train (const char *run_dir, temper_model_t *model, const char *data, gint64 cancel_at,
       int *calls)
{
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(temper_run_t) run = NULL;
  ProgressData d = { cancellable, cancel_at, 0 };
  TemperTrainOptions options;
  TemperTrainSettings s;

  settings_for_test (&s);
  temper_train_options_init (&options);
  options.n_threads = 1;
  options.cancellable = cancellable;
  options.progress = on_progress;
  options.progress_data = &d;

  run = temper_run_create (run_dir, &s, temper_model_get_path (model), data, NULL, &error);
  g_assert_no_error (error);
  if (cancel_at > 0)
    {
      g_assert_false (temper_train_run (run, model, &options, &error));
      g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_CANCELLED);
      g_clear_error (&error);
      {
        g_autofree char *latest = temper_run_find_latest_checkpoint (run);

        g_assert_nonnull (latest);
        g_assert_true (g_str_has_suffix (latest, "step-00000003"));
      }
      /* Resume, in a fresh run object as after a restart. */
      temper_run_free (g_steal_pointer (&run));
      run = temper_run_open (run_dir, &error);
      g_assert_no_error (error);
      g_cancellable_reset (cancellable);
      d.cancel_at = -1;
    }
  g_assert_true (temper_train_run (run, model, &options, &error));
  g_assert_no_error (error);
  *calls = d.calls;
  return temper_run_read_metrics (run, NULL);
}

static void
test_resume_exact (void)
{
  g_autofree char *model_dir = fixture_path ("tiny-llama");
  g_autofree char *tmp = g_dir_make_tmp ("temper-train-XXXXXX", NULL);
  g_autofree char *data = write_dataset (tmp);
  g_autofree char *dir_a = g_build_filename (tmp, "straight", NULL);
  g_autofree char *dir_b = g_build_filename (tmp, "interrupted", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(temper_model_t) model = temper_model_load (model_dir, NULL, &error);
  g_autoptr(GArray) a = NULL;
  g_autoptr(GArray) b = NULL;
  int calls_a = 0, calls_b = 0, evals = 0;

  g_assert_no_error (error);
  a = train (dir_a, model, data, -1, &calls_a);
  b = train (dir_b, model, data, 3, &calls_b);
  g_assert_cmpint (calls_a, ==, 8);
  g_assert_cmpint (calls_b, ==, 8);   /* 3 before the stop, 5 after */
  g_assert_cmpuint (a->len, ==, 8);
  g_assert_cmpuint (b->len, ==, 8);
  for (guint i = 0; i < a->len; i++)
    {
      TemperRunMetrics *ma = &g_array_index (a, TemperRunMetrics, i);
      TemperRunMetrics *mb = &g_array_index (b, TemperRunMetrics, i);

      g_test_message ("step %" G_GINT64_FORMAT ": loss %.9g / %.9g, val %.9g / %.9g, lr %.3g",
                      ma->step, ma->loss, mb->loss, ma->val_loss, mb->val_loss, ma->lr);
      g_assert_cmpint (ma->step, ==, (gint64) i + 1);
      g_assert_cmpint (mb->step, ==, ma->step);
      g_assert_cmpfloat (ma->loss, ==, mb->loss);
      g_assert_cmpfloat (ma->lr, ==, mb->lr);
      g_assert_cmpfloat (ma->grad_norm, ==, mb->grad_norm);
      g_assert_true ((isnan (ma->val_loss) && isnan (mb->val_loss)) || ma->val_loss == mb->val_loss);
      evals += !isnan (ma->val_loss);
    }
  g_assert_cmpint (evals, ==, 3);   /* steps 3, 6 and the last */
  /* Warmup starts at 0; the adapter learns. */
  g_assert_cmpfloat (g_array_index (a, TemperRunMetrics, 0).lr, ==, 0.0);
  g_assert_cmpfloat (g_array_index (a, TemperRunMetrics, 7).loss, <,
                     g_array_index (a, TemperRunMetrics, 1).loss);

  /* Both final adapters are PEFT folders with the same weights. */
  {
    const TemperModelConfig *c = temper_model_get_config (model);
    g_autofree char *ad_a = g_build_filename (dir_a, "adapter", NULL);
    g_autofree char *ad_b = g_build_filename (dir_b, "adapter", NULL);
    g_autoptr(temper_adapter_t) x = temper_lora_load_peft (ad_a, c, NULL, &error);
    g_autoptr(temper_adapter_t) y = temper_lora_load_peft (ad_b, c, NULL, &error);
    guint64 n;
    g_autofree float *fx = NULL, *fy = NULL;

    g_assert_no_error (error);
    n = temper_lora_count_params (x, c);
    fx = g_new (float, n);
    fy = g_new (float, n);
    temper_lora_gather (x, c, fx);
    temper_lora_gather (y, c, fy);
    g_assert_cmpmem (fx, n * 4, fy, n * 4);
  }
  test_remove_tree (tmp);
}

/* A diverged adapter (here planted in a checkpoint) stops training with a
 * message about the learning rate, and leaves the checkpoint in place. */
static void
test_diverged (void)
{
  g_autofree char *model_dir = fixture_path ("tiny-llama");
  g_autofree char *tmp = g_dir_make_tmp ("temper-train-XXXXXX", NULL);
  g_autofree char *data = write_dataset (tmp);
  g_autofree char *dir = g_build_filename (tmp, "run", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(temper_model_t) model = temper_model_load (model_dir, NULL, &error);
  g_autoptr(temper_run_t) run = NULL;
  g_autoptr(temper_adapter_t) adapter = NULL;
  g_autofree float *flat = NULL, *m = NULL, *v = NULL;
  g_autofree char *latest = NULL;
  const TemperModelConfig *c;
  TemperTrainState state = { 0 };
  TemperTrainOptions options;
  TemperTrainSettings s;
  guint64 n;

  g_assert_no_error (error);
  c = temper_model_get_config (model);
  settings_for_test (&s);
  run = temper_run_create (dir, &s, model_dir, data, NULL, &error);
  g_assert_no_error (error);
  adapter = temper_lora_adapter_new (c, &s.lora, 1, NULL);
  n = temper_lora_count_params (adapter, c);
  flat = g_new (float, n);
  m = g_new0 (float, n);
  v = g_new0 (float, n);
  for (guint64 i = 0; i < n; i++)
    flat[i] = 1e30f;
  temper_lora_scatter (adapter, c, flat);
  state.step = 2;
  state.best_val_loss = INFINITY;
  g_assert_true (temper_run_save_checkpoint (run, adapter, c, m, v, &state, &error));

  temper_train_options_init (&options);
  options.n_threads = 1;
  g_assert_false (temper_train_run (run, model, &options, &error));
  g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_NUMERIC);
  g_assert_nonnull (strstr (error->message, "learning rate"));
  latest = temper_run_find_latest_checkpoint (run);
  g_assert_nonnull (latest);
  g_assert_true (g_str_has_suffix (latest, "step-00000002"));
  test_remove_tree (tmp);
}

typedef struct {
  int    reading;          /* calls for “Reading the dataset” */
  double reading_done;     /* its last fraction */
  int    validation;       /* calls during validation passes */
  char  *validation_stage;
} StageData;

static void
on_stage (const char *stage, double fraction, gpointer user_data)
{
  StageData *d = user_data;

  g_assert_true (fraction >= 0.0 && fraction <= 1.0);
  if (g_str_has_prefix (stage, "Reading the dataset"))
    {
      d->reading++;
      d->reading_done = fraction;
    }
  else if (g_str_has_prefix (stage, "Validation loss"))
    {
      d->validation++;
      g_free (d->validation_stage);
      d->validation_stage = g_strdup (stage);
    }
}

/* 4,000 records, half of them held out, one step: the validation pass reads
 * an evenly spaced sample of TEMPER_TRAIN_MAX_VALIDATION_RECORDS, says so,
 * and both long phases report their progress. */
static void
test_bounded_validation (void)
{
  g_autofree char *model_dir = fixture_path ("tiny-llama");
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("temper-bounded-XXXXXX", &error);
  g_autofree char *data = g_build_filename (dir, "many.jsonl", NULL);
  g_autofree char *run_dir = g_build_filename (dir, "run", NULL);
  g_autoptr(temper_model_t) model = temper_model_load (model_dir, NULL, &error);
  g_autoptr(temper_run_t) run = NULL;
  g_autoptr(GString) text = g_string_new (NULL);
  g_autoptr(GArray) metrics = NULL;
  StageData d = { 0 };
  TemperTrainOptions options;
  TemperTrainSettings s;
  const int micro_batch = 8;

  g_assert_no_error (error);
  for (int i = 0; i < 4000; i++)
    g_string_append_printf (text, "{\"prompt\": \"Say %d.\", \"response\": \"%d.\"}\n", i, i);
  g_assert_true (g_file_set_contents (data, text->str, -1, NULL));

  settings_for_test (&s);
  s.max_steps = 1;
  s.micro_batch = micro_batch;
  s.grad_accum = 1;
  s.eval_every = 0;
  s.val_fraction = 0.5;
  temper_train_options_init (&options);
  options.n_threads = 1;
  options.stage = on_stage;
  options.stage_data = &d;
  run = temper_run_create (run_dir, &s, model_dir, data, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (temper_train_run (run, model, &options, &error));
  g_assert_no_error (error);

  g_assert_cmpint (d.reading, >, 0);
  g_assert_cmpfloat (d.reading_done, ==, 1.0);
  g_assert_cmpstr (d.validation_stage, ==, "Validation loss on a sample of 200 of the 2000 held-out records");
  /* One report per micro-batch of the sample, and one at the end. */
  g_assert_cmpint (d.validation, ==, (TEMPER_TRAIN_MAX_VALIDATION_RECORDS + micro_batch - 1) / micro_batch + 1);
  metrics = temper_run_read_metrics (run, NULL);
  g_assert_cmpuint (metrics->len, >, 0);
  g_assert_true (isfinite (g_array_index (metrics, TemperRunMetrics, metrics->len - 1).val_loss));
  g_free (d.validation_stage);
  test_remove_tree (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/train-loop/resume-exact", test_resume_exact);
  g_test_add_func ("/train-loop/diverged", test_diverged);
  g_test_add_func ("/train-loop/bounded-validation", test_bounded_validation);
  return g_test_run ();
}
