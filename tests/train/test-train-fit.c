/* SPDX-License-Identifier: MIT */
/* test-train-fit.c — a training job that does not fit on its device.
 *
 * The out-of-memory handling of issue 6 lives in the training loop, not in
 * the CUDA backend, so it is tested here on the CPU backend, which every
 * machine has: with TEMPER_MEMORY_LIMIT below the memory estimate (the
 * refusal up front) and with a simulated device that fails passes of more
 * than one sequence (an out-of-memory in the middle of a step).  Either way
 * the run must go on with smaller passes, say so in RUN/train.log, and
 * produce the same losses as a run that fitted (the effective batch is
 * kept); and a job that cannot fit at all must say how much it needs. */
#include "config.h"

#include <math.h>
#include <string.h>

#include <glib/gstdio.h>

#include "temper/error.h"
#include "temper/model.h"
#include "temper/run.h"
#include "temper/train.h"
#include "registry/temper-backend-open.h"
#include "train/temper-train-fit.h"
#include "../test-tree.h"

#define MICRO_BATCH 4
#define SEQ 24

static char *
fixture_path (const char *name)
{
  return g_build_filename (g_getenv ("TEMPER_SOURCE_DIR"), "tests", "fixtures", "train", name, NULL);
}

/* The LoRA dropout of the runs (a test may set it). */
static float test_dropout;

typedef struct {
  char           *dir;
  char           *data;
  temper_model_t *model;
} Fixture;

static void
fixture_setup (Fixture *f, gconstpointer user_data)
{
  g_autofree char *model_dir = fixture_path ("tiny-llama");
  g_autoptr(GError) error = NULL;
  GString *text = g_string_new (NULL);

  f->dir = g_dir_make_tmp ("temper-fit-XXXXXX", &error);
  g_assert_no_error (error);
  /* Every record is longer than SEQ tokens, so every micro-batch is SEQ long
   * and the memory estimates below are the ones the trainer makes. */
  for (int i = 0; i < 8; i++)
    g_string_append_printf (text,
                            "{\"prompt\": \"Fact %d?\", \"response\": \"Fact %d: the Lumen "
                            "kettle boils one litre of water in ninety seconds, it is teal, and "
                            "Temper makes it in a small workshop by the sea.\"}\n",
                            i, i);
  f->data = g_build_filename (f->dir, "facts.jsonl", NULL);
  g_assert_true (g_file_set_contents (f->data, text->str, -1, NULL));
  g_string_free (text, TRUE);
  f->model = temper_model_load (model_dir, NULL, &error);
  g_assert_no_error (error);
}

static void
fixture_teardown (Fixture *f, gconstpointer user_data)
{
  g_unsetenv (TEMPER_MEMORY_LIMIT_ENV);
  temper_train_fit_simulate_device (0, 0);
  test_dropout = 0.0f;
  temper_model_free (f->model);
  test_remove_tree (f->dir);
  g_free (f->dir);
  g_free (f->data);
}

static void
settings_for_test (TemperTrainSettings *s)
{
  temper_train_settings_init_default (s);
  s->lora.targets = TEMPER_LORA_TARGETS_ALL_LINEAR;
  s->lora.rank = 4;
  s->lora.alpha = 8;
  s->lora.dropout = test_dropout;
  s->learning_rate = 5e-3;
  s->max_steps = 3;
  s->micro_batch = MICRO_BATCH;
  s->grad_accum = 1;
  s->max_length = SEQ;
  s->val_fraction = 0;
  s->checkpoint_every = 0;
  s->seed = 5;
}

/* Trains a new run in DIR/@name, calling @progress after each step (may be
 * NULL); returns its run (NULL on failure, with @error). */
static temper_run_t *
train_with (Fixture *f, const char *name, TemperTrainProgressFunc progress, GError **error)
{
  g_autofree char *run_dir = g_build_filename (f->dir, name, NULL);
  g_autoptr(temper_run_t) run = NULL;
  TemperTrainOptions options;
  TemperTrainSettings s;

  settings_for_test (&s);
  temper_train_options_init (&options);
  options.n_threads = 1;
  options.progress = progress;
  run = temper_run_create (run_dir, &s, temper_model_get_path (f->model), f->data, NULL, error);
  g_assert_nonnull (run);
  if (!temper_train_run (run, f->model, &options, error))
    return NULL;
  return g_steal_pointer (&run);
}

static temper_run_t *
train (Fixture *f, const char *name, GError **error)
{
  return train_with (f, name, NULL, error);
}

/* From step 2 on, the device holds one sequence per pass. */
static void
shrink_device_after_one (const TemperTrainProgress *progress, gpointer user_data)
{
  if (progress->step == 1)
    temper_train_fit_simulate_device (1, 0);
}

static char *
read_log (temper_run_t *run)
{
  g_autofree char *path = g_build_filename (temper_run_get_dir (run), "train.log", NULL);
  char *text = NULL;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    return NULL;
  return text;
}

/* The losses of @run follow those of @reference step by step. */
static void
assert_same_losses (temper_run_t *run, temper_run_t *reference)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) got = temper_run_read_metrics (run, &error);
  g_autoptr(GArray) want = temper_run_read_metrics (reference, &error);

  g_assert_no_error (error);
  g_assert_cmpuint (got->len, ==, 3);
  g_assert_cmpuint (got->len, ==, want->len);
  for (guint i = 0; i < got->len; i++)
    {
      const TemperRunMetrics *a = &g_array_index (got, TemperRunMetrics, i);
      const TemperRunMetrics *b = &g_array_index (want, TemperRunMetrics, i);

      g_test_message ("step %" G_GINT64_FORMAT ": loss %.7f, fitted run %.7f; grad norm %.6f, %.6f",
                      a->step, a->loss, b->loss, a->grad_norm, b->grad_norm);
      g_assert_cmpfloat (fabs (a->loss - b->loss), <=, 1e-5 * b->loss);
      g_assert_cmpfloat (fabs (a->grad_norm - b->grad_norm), <=, 1e-4 * b->grad_norm);
    }
}

/* The estimate of a step of @rows sequences of SEQ tokens. */
static guint64
estimate (Fixture *f, int rows)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TemperBackend) cpu = temper_backend_open (TEMPER_BACKEND_CPU, -1, NULL, NULL, &error);
  TemperLoraConfig lora;
  TemperTrainSettings s;
  g_autoptr(temper_adapter_t) adapter = NULL;
  g_autoptr(TemperTrainStep) step = NULL;

  settings_for_test (&s);
  lora = s.lora;
  adapter = temper_lora_adapter_new (temper_model_get_config (f->model), &lora, 1, &error);
  g_assert_no_error (error);
  step = temper_train_step_new (f->model, cpu, adapter, 0.0f, rows, SEQ, FALSE, &error);
  g_assert_no_error (error);
  return temper_train_step_get_estimate (step);
}

/* A limit between the needs of 2 and 4 sequences: refused up front, the run
 * goes on in passes of 2. */
static void
test_estimate (Fixture *f, gconstpointer user_data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(temper_run_t) reference = NULL, limited = NULL;
  g_autofree char *log = NULL, *limit = NULL;
  guint64 two = estimate (f, 2), four = estimate (f, 4);

  g_assert_cmpuint (two, <, four);
  reference = train (f, "reference", &error);
  g_assert_no_error (error);
  g_assert_null (read_log (reference));

  limit = g_strdup_printf ("%" G_GUINT64_FORMAT, (two + four) / 2);
  g_setenv (TEMPER_MEMORY_LIMIT_ENV, limit, TRUE);
  limited = train (f, "limited", &error);
  g_assert_no_error (error);
  log = read_log (limited);
  g_assert_nonnull (log);
  g_test_message ("train.log: %s", log);
  g_assert_nonnull (strstr (log, "Out of memory with 4 sequences of 24 tokens per pass"));
  g_assert_nonnull (strstr (log, "needs"));
  g_assert_nonnull (strstr (log, "Retrying with 2 sequences per pass (2 passes per micro-batch of 4"));
  g_assert_null (strstr (log, "Retrying with 1 sequence "));
  assert_same_losses (limited, reference);
}

/* A device that runs out of memory in the middle of step 2 for passes of
 * more than one sequence: the step is run again in passes of 2, then 1,
 * with the adapter and the AdamW moments of step 1 carried over. */
static void
test_during_step (Fixture *f, gconstpointer user_data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(temper_run_t) reference = NULL, small = NULL;
  g_autofree char *log = NULL;

  reference = train (f, "reference", &error);
  g_assert_no_error (error);
  small = train_with (f, "small", shrink_device_after_one, &error);
  g_assert_no_error (error);
  log = read_log (small);
  g_assert_nonnull (log);
  g_test_message ("train.log: %s", log);
  g_assert_nonnull (strstr (log, "Out of memory with 4 sequences"));
  g_assert_nonnull (strstr (log, "Retrying with 2 sequences per pass"));
  g_assert_nonnull (strstr (log, "Out of memory with 2 sequences"));
  g_assert_nonnull (strstr (log, "Retrying with 1 sequence per pass (4 passes per micro-batch of 4"));
  assert_same_losses (small, reference);
}

/* With dropout, too: the passes reuse their micro-batch's dropout keys, each
 * element at its place in the whole, so they drop what one pass drops and
 * the losses are the fitted run's.  (A pass that drew its own masks would
 * change every step after the first.) */
static void
test_during_step_dropout (Fixture *f, gconstpointer user_data)
{
  test_dropout = 0.3f;
  test_during_step (f, user_data);
}

/* Not even one sequence fits: a refusal that says how much is needed, after
 * trying every smaller pass. */
static void
test_cannot_fit (Fixture *f, gconstpointer user_data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *run_dir = g_build_filename (f->dir, "tiny", NULL);
  g_autofree char *log = NULL;
  g_autoptr(temper_run_t) run = NULL;

  g_setenv (TEMPER_MEMORY_LIMIT_ENV, "1k", TRUE);
  g_assert_null (train (f, "tiny", &error));
  g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_OUT_OF_MEMORY);
  g_test_message ("%s", error->message);
  {
    g_autofree char *need = g_strdup_printf ("with micro-batch 1 × 24 tokens needs %.1f MB",
                                             (double) estimate (f, 1) / 1e6);
    g_assert_nonnull (strstr (error->message, need));
  }
  g_assert_nonnull (strstr (error->message, "allows only 0.0 MB"));
  run = temper_run_open (run_dir, NULL);
  g_assert_nonnull (run);
  log = read_log (run);
  g_assert_nonnull (log);
  g_assert_nonnull (strstr (log, "Retrying with 1 sequence per pass"));
}

/* TEMPER_MEMORY_LIMIT's forms, and a value that is not a size. */
static void
test_limit_parse (void)
{
  static const struct { const char *text; guint64 bytes; } cases[] = {
    { "6G", 6000000000u }, { "1.5G", 1500000000u }, { "512M", 512000000u },
    { "64k", 64000u }, { "4096", 4096u }, { "2GB", 2000000000u },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_setenv (TEMPER_MEMORY_LIMIT_ENV, cases[i].text, TRUE);
      g_assert_cmpuint (temper_memory_limit (), ==, cases[i].bytes);
    }
  g_unsetenv (TEMPER_MEMORY_LIMIT_ENV);
  g_assert_cmpuint (temper_memory_limit (), ==, 0);
  if (g_test_subprocess ())
    {
      g_setenv (TEMPER_MEMORY_LIMIT_ENV, "lots", TRUE);
      g_assert_cmpuint (temper_memory_limit (), ==, 0);
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  g_test_trap_assert_stderr ("*TEMPER_MEMORY_LIMIT=lots is not a size*");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_unsetenv (TEMPER_MEMORY_LIMIT_ENV);
  g_test_add ("/train-fit/estimate", Fixture, NULL, fixture_setup, test_estimate, fixture_teardown);
  g_test_add ("/train-fit/during-step-dropout", Fixture, NULL, fixture_setup,
              test_during_step_dropout, fixture_teardown);
  g_test_add ("/train-fit/during-step", Fixture, NULL, fixture_setup, test_during_step,
              fixture_teardown);
  g_test_add ("/train-fit/cannot-fit", Fixture, NULL, fixture_setup, test_cannot_fit,
              fixture_teardown);
  g_test_add_func ("/train-fit/limit-parse", test_limit_parse);
  return g_test_run ();
}
