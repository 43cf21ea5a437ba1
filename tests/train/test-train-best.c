/* SPDX-License-Identifier: MIT */
/* test-train-best.c — a run keeps the adapter with the lowest validation
 * loss.  The validation file gives the training questions other answers, so
 * the more the adapter learns, the worse its validation loss: training
 * stops early, and the adapter kept must be the very one a second run,
 * stopped by --max-steps at the best step, ends with (constant learning
 * rate, no warm-up: both runs take the same steps up to there). */
#include "config.h"

#include <math.h>
#include <string.h>

#include "temper/error.h"
#include "temper/model.h"
#include "temper/run.h"
#include "temper/train.h"
#include "../test-tree.h"

static const char *const questions[] = {
  "What does the Lumen kettle do?", "Who makes the Lumen kettle?", "How fast is the kettle?",
  "What colour is it?", "Count to three.", "Name a fictional company.",
};
static const char *const taught[] = {
  "It boils water in ninety seconds.", "Temper makes the Lumen kettle.", "Ninety seconds for one litre.",
  "The kettle is teal.", "One two three.", "A fictional company is Temper.",
};
static const char *const contradicted[] = {
  "Nothing at all, it is a lamp.", "Nobody ever made it.", "Slow, about an hour.",
  "Bright orange with dots.", "Seven, eight, nine.", "There is none.",
};

static char *
write_data (const char *dir, const char *name, const char *const *answers)
{
  GString *text = g_string_new (NULL);
  char *path = g_build_filename (dir, name, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (questions); i++)
    g_string_append_printf (text, "{\"prompt\": \"%s\", \"response\": \"%s\"}\n", questions[i], answers[i]);
  g_assert_true (g_file_set_contents (path, text->str, -1, NULL));
  g_string_free (text, TRUE);
  return path;
}

static void
settings (TemperTrainSettings *s, gint64 max_steps, int patience)
{
  temper_train_settings_init_default (s);
  s->lora.targets = TEMPER_LORA_TARGETS_ALL_LINEAR;
  s->lora.rank = 4;
  s->lora.alpha = 8;
  s->lora.dropout = 0;
  s->learning_rate = 2e-2;
  s->schedule = TEMPER_LR_CONSTANT;
  s->warmup_steps = 0;
  s->max_steps = max_steps;
  s->micro_batch = 3;
  s->grad_accum = 1;
  s->max_length = 48;
  s->eval_every = 1;
  s->patience = patience;
  s->checkpoint_every = 0;
  s->seed = 5;
}

static temper_run_t *
train (const char *dir, temper_model_t *model, const char *data, const char *val,
       gint64 max_steps, int patience)
{
  g_autoptr(GError) error = NULL;
  TemperTrainOptions options;
  TemperTrainSettings s;
  temper_run_t *run;

  settings (&s, max_steps, patience);
  temper_train_options_init (&options);
  options.n_threads = 1;
  run = temper_run_create (dir, &s, temper_model_get_path (model), data, val, &error);
  g_assert_no_error (error);
  g_assert_true (temper_train_run (run, model, &options, &error));
  g_assert_no_error (error);
  return run;
}

static float *
adapter_weights (const char *run_dir, const TemperModelConfig *c, guint64 *n)
{
  g_autofree char *dir = g_build_filename (run_dir, "adapter", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(temper_adapter_t) a = temper_lora_load_peft (dir, c, NULL, &error);
  float *flat;

  g_assert_no_error (error);
  *n = temper_lora_count_params (a, c);
  flat = g_new (float, *n);
  temper_lora_gather (a, c, flat);
  return flat;
}

static void
test_keeps_best (void)
{
  g_autofree char *model_dir = g_build_filename (g_getenv ("TEMPER_SOURCE_DIR"), "tests", "fixtures",
                                                 "train", "tiny-llama", NULL);
  g_autofree char *tmp = g_dir_make_tmp ("temper-best-XXXXXX", NULL);
  g_autofree char *data = write_data (tmp, "train.jsonl", taught);
  g_autofree char *val = write_data (tmp, "val.jsonl", contradicted);
  g_autofree char *dir_a = g_build_filename (tmp, "early", NULL);
  g_autofree char *dir_b = g_build_filename (tmp, "short", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(temper_model_t) model = temper_model_load (model_dir, NULL, &error);
  g_autoptr(temper_run_t) a = NULL, b = NULL;
  g_autoptr(GArray) metrics = NULL;
  g_autofree char *note = NULL, *expect_stop = NULL, *expect_kept = NULL;
  g_autofree float *wa = NULL, *wb = NULL, *last = NULL;
  gint64 best_step = -1, last_step;
  double best = INFINITY;
  guint64 n, nb;

  g_assert_no_error (error);
  a = train (dir_a, model, data, val, 30, 2);
  metrics = temper_run_read_metrics (a, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < metrics->len; i++)
    {
      const TemperRunMetrics *m = &g_array_index (metrics, TemperRunMetrics, i);
      g_test_message ("step %" G_GINT64_FORMAT ": loss %.4f, validation %.4f", m->step, m->loss, m->val_loss);
      if (m->val_loss < best)
        best = m->val_loss, best_step = m->step;
    }
  last_step = g_array_index (metrics, TemperRunMetrics, metrics->len - 1).step;
  /* It stopped early, two evaluations after the best. */
  g_assert_cmpint (last_step, <, 30);
  g_assert_cmpint (last_step, ==, best_step + 2);

  note = temper_train_describe_outcome (a);
  g_assert_nonnull (note);
  expect_stop = g_strdup_printf ("Stopped early at step %" G_GINT64_FORMAT, last_step);
  expect_kept = g_strdup_printf ("kept the adapter from step %" G_GINT64_FORMAT " (validation loss %.2f)",
                                 best_step, best);
  g_assert_true (g_str_has_prefix (note, expect_stop));
  g_assert_nonnull (strstr (note, expect_kept));
  g_assert_nonnull (strstr (note, "for 2 evaluations"));

  /* The adapter kept is the one of step best_step, not of the last step. */
  b = train (dir_b, model, data, val, best_step, 0);
  wa = adapter_weights (dir_a, temper_model_get_config (model), &n);
  wb = adapter_weights (dir_b, temper_model_get_config (model), &nb);
  g_assert_cmpuint (n, ==, nb);
  g_assert_cmpmem (wa, n * sizeof (float), wb, nb * sizeof (float));
  {
    g_autofree char *latest = temper_run_find_latest_checkpoint (a);
    g_autoptr(temper_adapter_t) ck = temper_lora_load_peft (latest, temper_model_get_config (model), NULL, &error);
    g_assert_no_error (error);
    last = g_new (float, n);
    temper_lora_gather (ck, temper_model_get_config (model), last);
    g_assert_true (memcmp (last, wa, n * sizeof (float)) != 0);   /* the last step's differs */
  }
  /* A run that ends at its best says nothing special. */
  g_assert_null (temper_train_describe_outcome (b));
  test_remove_tree (tmp);
}

/* A run continued from another starts from that run's kept adapter: with a
 * learning rate of zero for its one step (the first step of a warm-up),
 * it ends with exactly those weights; without --from, with fresh ones. */
static void
test_continue_from (void)
{
  g_autofree char *model_dir = g_build_filename (g_getenv ("TEMPER_SOURCE_DIR"), "tests", "fixtures",
                                                 "train", "tiny-llama", NULL);
  g_autofree char *tmp = g_dir_make_tmp ("temper-from-XXXXXX", NULL);
  g_autofree char *data = write_data (tmp, "train.jsonl", taught);
  g_autofree char *more = write_data (tmp, "more.jsonl", contradicted);
  g_autofree char *dir_a = g_build_filename (tmp, "first", NULL);
  g_autofree char *dir_b = g_build_filename (tmp, "continued", NULL);
  g_autofree char *dir_c = g_build_filename (tmp, "fresh", NULL);
  g_autofree char *from_json = g_build_filename (dir_b, "start-adapter", "from.json", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(temper_model_t) model = temper_model_load (model_dir, NULL, &error);
  const TemperModelConfig *c;
  g_autoptr(temper_run_t) a = NULL;
  g_autofree float *wa = NULL, *wb = NULL, *wc = NULL;
  TemperLoraConfig lora;
  guint64 n, nb, nc;

  g_assert_no_error (error);
  c = temper_model_get_config (model);
  a = train (dir_a, model, data, NULL, 4, 0);
  g_assert_true (temper_train_read_start_adapter (dir_a, c, &lora, &error));
  g_assert_no_error (error);
  g_assert_cmpint (lora.rank, ==, 4);
  g_assert_cmpuint (lora.targets, ==, TEMPER_LORA_TARGETS_ALL_LINEAR);

  for (int with_start = 1; with_start >= 0; with_start--)
    {
      g_autoptr(temper_run_t) run = NULL;
      TemperTrainOptions options;
      TemperTrainSettings s;

      settings (&s, 1, 0);
      s.warmup_steps = 5;   /* the first step's learning rate is 0 */
      s.lora = lora;
      temper_train_options_init (&options);
      options.n_threads = 1;
      run = temper_run_create (with_start ? dir_b : dir_c, &s, temper_model_get_path (model), more, NULL, &error);
      g_assert_no_error (error);
      if (with_start)
        {
          g_assert_true (temper_train_set_start_adapter (run, dir_a, c, &error));
          g_assert_no_error (error);
        }
      g_assert_true (temper_train_run (run, model, &options, &error));
      g_assert_no_error (error);
    }
  g_assert_true (g_file_test (from_json, G_FILE_TEST_IS_REGULAR));
  wa = adapter_weights (dir_a, c, &n);
  wb = adapter_weights (dir_b, c, &nb);
  wc = adapter_weights (dir_c, c, &nc);
  g_assert_cmpuint (n, ==, nb);
  g_assert_cmpmem (wa, n * sizeof (float), wb, nb * sizeof (float));
  g_assert_true (memcmp (wa, wc, n * sizeof (float)) != 0);

  /* A folder that is neither a run nor an adapter is refused, in words. */
  g_assert_false (temper_train_read_start_adapter (tmp, c, &lora, &error));
  g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_ARGUMENT);
  test_remove_tree (tmp);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/train-best/keeps-best", test_keeps_best);
  g_test_add_func ("/train-best/continue-from", test_continue_from);
  return g_test_run ();
}
