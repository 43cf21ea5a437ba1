/* SPDX-License-Identifier: MIT */
/* test-fit-estimate.c — the training-memory estimate the Model and Settings
 * pages show is what a training step of that shape really allocates (a CPU
 * step on the tiny fixture model, built here), it follows the settings that
 * change it, and the verdicts switch where they should. */
#include "config.h"

#include <string.h>

#include "registry/temper-backend-open.h"
#include "train/temper-train-step.h"
#include "temper-fit-estimate.h"

static void
test_is_allocation (void)
{
  g_autofree char *path = g_build_filename (g_getenv ("TEMPER_SOURCE_DIR"), "tests", "fixtures",
                                            "train", "tiny-llama", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(temper_model_t) model = temper_model_load (path, NULL, &error);
  TemperBackendOpenOptions o = { 1, TEMPER_CPU_KERNELS_BEST };
  TemperBackend *cpu = temper_backend_open (TEMPER_BACKEND_CPU, -1, &o, NULL, &error);
  g_autoptr(temper_adapter_t) adapter = NULL;
  TemperFitEstimate estimate, recomputed;
  TemperTrainSettings s;
  TemperTrainStep *step;

  g_assert_no_error (error);
  temper_fit_estimate_default (model, TEMPER_BACKEND_CPU, &estimate);
  temper_train_settings_init_default (&s);
  s.lora.rank = TEMPER_FIT_LORA_RANK;
  s.lora.targets = TEMPER_LORA_TARGETS_ALL_LINEAR;
  adapter = temper_lora_adapter_new (temper_model_get_config (model), &s.lora, 1, &error);
  g_assert_no_error (error);
  step = temper_train_step_new (model, cpu, adapter, s.lora.dropout, TEMPER_FIT_BATCH,
                                TEMPER_FIT_SEQ_LEN, FALSE, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (estimate.buffers, ==, temper_train_step_get_memory (step));
  g_assert_cmpuint (estimate.total, ==, temper_train_step_get_estimate (step));
  g_assert_cmpuint (estimate.total, ==, estimate.weights + estimate.buffers);
  temper_train_step_free (step);
  temper_backend_free (cpu);

  /* Recomputing activations needs less, and the weights do not change. */
  s.micro_batch = TEMPER_FIT_BATCH;
  s.max_length = TEMPER_FIT_SEQ_LEN;
  s.recompute = TRUE;
  temper_fit_estimate_run (model, &s, TEMPER_BACKEND_CPU, &recomputed);
  g_assert_cmpuint (recomputed.buffers, <, estimate.buffers);
  g_assert_cmpuint (recomputed.weights, ==, estimate.weights);
}

static void
test_verdicts (void)
{
  guint64 gib = G_GUINT64_CONSTANT (1) << 30;

  g_assert_cmpint (temper_fit_judge (4 * gib, 16 * gib), ==, TEMPER_FIT_COMFORTABLE);
  /* 80 % of the memory is the edge of comfortable. */
  g_assert_cmpint (temper_fit_judge (16 * gib / 5 * 4, 16 * gib), ==, TEMPER_FIT_COMFORTABLE);
  g_assert_cmpint (temper_fit_judge (16 * gib / 5 * 4 + 1, 16 * gib), ==, TEMPER_FIT_TIGHT);
  g_assert_cmpint (temper_fit_judge (16 * gib, 16 * gib), ==, TEMPER_FIT_TIGHT);
  g_assert_cmpint (temper_fit_judge (16 * gib + 1, 16 * gib), ==, TEMPER_FIT_TOO_BIG);
  /* A device that reports no memory cannot be promised anything. */
  g_assert_cmpint (temper_fit_judge (1, 0), ==, TEMPER_FIT_TOO_BIG);
}

static void
test_describe (void)
{
  TemperFitEstimate estimate = { .total = G_GUINT64_CONSTANT (3) << 30 };
  TemperDeviceInfo big = { .name = (char *) "big", .memory_total = G_GUINT64_CONSTANT (16) << 30 };
  TemperDeviceInfo small = { .name = (char *) "small", .memory_total = G_GUINT64_CONSTANT (1) << 30 };
  g_autofree char *fits = temper_fit_describe (&estimate, &big);
  g_autofree char *too_big = temper_fit_describe (&estimate, &small);

  /* g_format_size writes 3 GiB as "3.2 GB" and 16 GiB as "17.2 GB", with
   * a no-break space before the unit. */
  g_assert_true (g_str_has_prefix (fits, "Fits comfortably"));
  g_assert_nonnull (strstr (fits, "3.2\u00a0GB"));
  g_assert_nonnull (strstr (fits, "17.2\u00a0GB"));
  g_assert_true (g_str_has_prefix (too_big, "Too big"));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/fit-estimate/is-allocation", test_is_allocation);
  g_test_add_func ("/fit-estimate/verdicts", test_verdicts);
  g_test_add_func ("/fit-estimate/describe", test_describe);

  return g_test_run ();
}
