// SPDX-License-Identifier: MIT
/* test-train-estimate.c — the time estimate's arithmetic: the work of a
 * step per kind of op against FLOPs counted by hand for the tiny fixture
 * model and against the CPU profile's own count of the ops a real step
 * runs (from the tensors' shapes), the rates taken from a profile, the
 * estimate from rates, and the cache of measured rates.  Nothing here is
 * timed: speeds are inputs, not results. */
#include "config.h"

#include <glib/gstdio.h>

#include "temper/model.h"
#include "temper/train.h"
#include "temper/train-estimate.h"
#include "temper/train-figures.h"

static temper_model_t *
load_tiny (void)
{
  g_autofree char *path = g_build_filename (g_getenv ("TEMPER_SOURCE_DIR"), "tests", "fixtures",
                                            "train", "tiny-llama", NULL);
  g_autoptr(GError) error = NULL;
  temper_model_t *model = temper_model_load (path, NULL, &error);

  g_assert_no_error (error);
  return model;
}

static void
tiny_settings (TemperTrainSettings *s, int rank, int batch, int seq)
{
  temper_train_settings_init_default (s);
  s->lora.targets = TEMPER_LORA_TARGETS_ALL_LINEAR;
  s->lora.rank = rank;
  s->lora.alpha = 2.0f * rank;
  s->lora.dropout = 0.0f;
  s->micro_batch = batch;
  s->max_length = seq;
}

/* tiny-llama: hidden 64, feed-forward 96, 2 layers, 4 heads and 2 kv heads
 * of 16, vocabulary 320 (see test-bench-train.c).  Frozen projections per
 * layer: 30720 weights; rank-4 adapters on all of them: 3712 per layer. */
static void
test_work_by_hand (void)
{
  g_autoptr(temper_model_t) model = load_tiny ();
  const TemperModelConfig *c = temper_model_get_config (model);
  TemperTrainSettings s;
  TemperStepWork w, r;

  tiny_settings (&s, 4, 2, 64);
  temper_train_step_work (c, &s.lora, 2, 64, FALSE, &w);
  /* 2 sequences × 64 tokens = 128 tokens, 2 layers. */
  g_assert_cmpfloat (w.amount[TEMPER_OP_KIND_FROZEN_FORWARD], ==, 2.0 * 2 * 30720 * 128);
  g_assert_cmpfloat (w.amount[TEMPER_OP_KIND_FROZEN_INPUT_GRAD], ==, 2.0 * 2 * 30720 * 128);
  g_assert_cmpfloat (w.amount[TEMPER_OP_KIND_LORA], ==, 6.0 * 2 * 3712 * 128);
  /* 64·65/2 = 2080 pairs per sequence; 2 products × 2 FLOPs per pair and
   * head dim, 4 heads of 16, 2 layers, 2 sequences: 4·64·2080·2·2 =
   * 2129920; the backward twice that. */
  g_assert_cmpfloat (w.amount[TEMPER_OP_KIND_ATTENTION_FORWARD], ==, 2129920.0);
  g_assert_cmpfloat (w.amount[TEMPER_OP_KIND_ATTENTION_BACKWARD], ==, 4259840.0);
  /* 63 predicted tokens per sequence, 64 × 320 logits, forward and dx. */
  g_assert_cmpfloat (w.amount[TEMPER_OP_KIND_CROSS_ENTROPY], ==, 4.0 * 2 * 63 * 64 * 320);
  g_assert_cmpfloat (w.amount[TEMPER_OP_KIND_ELEMENTWISE], ==, 128.0 * 2 * (64 + 96));
  g_assert_cmpfloat (w.amount[TEMPER_OP_KIND_OPTIMIZER], ==, 2.0 * 3712);
  g_assert_cmpfloat (w.amount[TEMPER_OP_KIND_POOL_WAIT], ==, 0.0);

  /* Recompute runs the forward of every layer but the last (whose
   * activations are still in place) again: here layer 0 of 2.  Its frozen
   * projections once more but the down projection (64 × 96 weights), whose
   * output the backward never reads; of its adapters only h·B (h is kept),
   * and not the down projection's: rank 4 × outputs 64 + 32 + 32 + 64 + 96
   * + 96 = 1536 weights; its attention once more (half the forward's), a
   * third more element-wise work; the rest as is. */
  temper_train_step_work (c, &s.lora, 2, 64, TRUE, &r);
  g_assert_cmpfloat (r.amount[TEMPER_OP_KIND_FROZEN_FORWARD], ==,
                     w.amount[TEMPER_OP_KIND_FROZEN_FORWARD] + 2.0 * (30720 - 64 * 96) * 128);
  g_assert_cmpfloat (r.amount[TEMPER_OP_KIND_FROZEN_INPUT_GRAD], ==, w.amount[TEMPER_OP_KIND_FROZEN_INPUT_GRAD]);
  g_assert_cmpfloat (r.amount[TEMPER_OP_KIND_LORA], ==, 6.0 * 2 * 3712 * 128 + 2.0 * 1536 * 128);
  g_assert_cmpfloat (r.amount[TEMPER_OP_KIND_ATTENTION_FORWARD], ==, 1.5 * 2129920.0);
  g_assert_cmpfloat (r.amount[TEMPER_OP_KIND_ATTENTION_BACKWARD], ==, 4259840.0);
  g_assert_cmpfloat (r.amount[TEMPER_OP_KIND_CROSS_ENTROPY], ==, w.amount[TEMPER_OP_KIND_CROSS_ENTROPY]);

  /* The model FLOPs of issue 6's one formula are the matrix kinds' sum,
   * but for the lm_head, which counts every token there. */
  {
    double sum = w.amount[TEMPER_OP_KIND_FROZEN_FORWARD] + w.amount[TEMPER_OP_KIND_FROZEN_INPUT_GRAD] +
                 w.amount[TEMPER_OP_KIND_LORA] + w.amount[TEMPER_OP_KIND_ATTENTION_FORWARD] +
                 w.amount[TEMPER_OP_KIND_ATTENTION_BACKWARD] + 4.0 * 128 * 64 * 320;
    /* The formula counts T/2 keys per query, not (T+1)/2: 12 FLOPs per
     * head dim (64), layer (2), sequence (2) and half a key for each of the
     * 64 queries. */
    double formula = 128 * temper_train_flops_per_token (c, 7424, 64, FALSE)
                     + 12.0 * 64 * 2 * 2 * 32;

    g_assert_cmpfloat (sum, ==, formula);
  }
}

/* A sliding window bounds the keys a query sees. */
static void
test_window_pairs (void)
{
  g_autoptr(temper_model_t) model = load_tiny ();
  TemperModelConfig c = *temper_model_get_config (model);
  TemperLoraConfig lora = { 0 };
  TemperStepWork w;

  lora.rank = 4;
  lora.targets = TEMPER_LORA_TARGETS_ALL_LINEAR;
  c.sliding_window = 4;
  c.swa_period = 0;   /* every layer local */
  temper_train_step_work (&c, &lora, 1, 10, FALSE, &w);
  if (!temper_model_config_layer_is_local (&c, 0))
    {
      g_test_skip ("this family has no sliding window");
      return;
    }
  /* Queries 1…4 see 1…4 keys (10 pairs), queries 5…10 four each (24). */
  g_assert_cmpfloat (w.amount[TEMPER_OP_KIND_ATTENTION_FORWARD], ==, 4.0 * 64 * 2 * 34);
}

/* The op counts of a real step, from the shapes of the tensors the CPU
 * backend multiplies, equal the estimate's work for every kind that
 * multiplies matrices, with and without recompute. */
static void
test_work_is_what_runs (void)
{
  g_autoptr(temper_model_t) model = load_tiny ();
  g_autoptr(GError) error = NULL;
  TemperTrainBenchResult result = { 0 };
  TemperOpProfile profile;
  TemperTrainOptions options;
  TemperTrainSettings s;
  TemperStepWork w;

  for (int recompute = 0; recompute <= 1; recompute++)
    {
      tiny_settings (&s, 4, 2, 64);
      s.recompute = recompute;
      temper_train_options_init (&options);
      options.n_threads = 1;
      g_assert_true (temper_train_bench_profiled (model, &s, 1, &options, &result, &profile, &error));
      g_assert_no_error (error);
      temper_train_step_work (temper_model_get_config (model), &s.lora, 2, 64, recompute, &w);
      for (int k = 0; k < TEMPER_OP_KIND_COUNT; k++)
        g_test_message ("recompute %d %s: profile %.0f, work %.0f", recompute,
                        temper_op_kind_name (k), profile.flops[k], w.amount[k]);
      g_assert_cmpfloat (profile.flops[TEMPER_OP_KIND_FROZEN_FORWARD], ==,
                         w.amount[TEMPER_OP_KIND_FROZEN_FORWARD]);
      g_assert_cmpfloat (profile.flops[TEMPER_OP_KIND_FROZEN_INPUT_GRAD], ==,
                         w.amount[TEMPER_OP_KIND_FROZEN_INPUT_GRAD]);
      g_assert_cmpfloat (profile.flops[TEMPER_OP_KIND_LORA], ==, w.amount[TEMPER_OP_KIND_LORA]);
      g_assert_cmpfloat (profile.flops[TEMPER_OP_KIND_ATTENTION_FORWARD], ==,
                         w.amount[TEMPER_OP_KIND_ATTENTION_FORWARD]);
      g_assert_cmpfloat (profile.flops[TEMPER_OP_KIND_ATTENTION_BACKWARD], ==,
                         w.amount[TEMPER_OP_KIND_ATTENTION_BACKWARD]);
      g_assert_cmpfloat (profile.flops[TEMPER_OP_KIND_CROSS_ENTROPY], ==,
                         w.amount[TEMPER_OP_KIND_CROSS_ENTROPY]);
    }
}

static void
test_rates_and_estimate (void)
{
  g_autoptr(temper_model_t) model = load_tiny ();
  const TemperModelConfig *c = temper_model_get_config (model);
  TemperOpProfile profile = { { 0 } };
  TemperTrainSettings s;
  TemperStepWork w;
  TemperOpRates rates;
  TemperTimeEstimate e;

  tiny_settings (&s, 4, 2, 64);
  temper_train_step_work (c, &s.lora, 2, 64, FALSE, &w);
  /* Two steps: each kind took 1 s per step, the pool waits 0.8 s in all,
   * and the wall clock 20 s: ops 16 s, waits 0.8 s (5 %), outside 3.2 s
   * (3.2 ÷ 16.8 of the time inside ops). */
  for (int k = 0; k < TEMPER_OP_KIND_COUNT; k++)
    profile.seconds[k] = k == TEMPER_OP_KIND_POOL_WAIT ? 0.8 : 2.0;
  g_assert_true (temper_op_rates_from_profile (&profile, &w, 2, 20.0, &rates));
  for (int k = 0; k < TEMPER_OP_KIND_COUNT; k++)
    if (k != TEMPER_OP_KIND_POOL_WAIT)
      g_assert_cmpfloat_with_epsilon (rates.per_second[k], w.amount[k], 1e-9 * w.amount[k]);
  g_assert_cmpfloat_with_epsilon (rates.wait_share, 0.05, 1e-12);
  g_assert_cmpfloat_with_epsilon (rates.outside_share, 3.2 / 16.8, 1e-12);

  /* The same shape: 1 s per kind, 8 kinds, 2 steps. */
  temper_train_estimate_time (c, &s, 64, 2, &rates, &e);
  g_assert_cmpfloat_with_epsilon (e.seconds_per_step, 10.0, 1e-9);
  g_assert_cmpfloat_with_epsilon (e.total_seconds, 20.0, 1e-9);
  /* Records of 32 tokens, 3 micro-batches each step: the frozen kinds
   * take 3 × half; the optimizer once a step, as before; attention
   * 3 × 32·33 ÷ (64·65) as long. */
  s.grad_accum = 3;
  temper_train_estimate_time (c, &s, 32, 1, &rates, &e);
  g_assert_cmpfloat_with_epsilon (e.seconds[TEMPER_OP_KIND_FROZEN_FORWARD], 1.5, 1e-12);
  g_assert_cmpfloat_with_epsilon (e.seconds[TEMPER_OP_KIND_OPTIMIZER], 1.0, 1e-12);
  g_assert_cmpfloat_with_epsilon (e.seconds[TEMPER_OP_KIND_ATTENTION_FORWARD],
                                  3.0 * 32 * 33 / (64.0 * 65), 1e-12);
  /* A record longer than max_length is cut to it. */
  s.grad_accum = 1;
  temper_train_estimate_time (c, &s, 1000, 1, &rates, &e);
  g_assert_cmpfloat_with_epsilon (e.seconds_per_step, 10.0, 1e-9);
  /* A kind with work and no time gives no rates. */
  profile.seconds[TEMPER_OP_KIND_LORA] = 0;
  g_assert_false (temper_op_rates_from_profile (&profile, &w, 2, 20.0, &rates));
}

/* Optimizer steps as the run counts them. */
static void
test_count_steps (void)
{
  TemperTrainSettings s;

  temper_train_settings_init_default (&s);
  s.micro_batch = 2;
  s.grad_accum = 3;
  s.epochs = 2;
  s.max_steps = 0;
  /* 13 records, 6 a step: 3 steps an epoch (the last of 1 record). */
  g_assert_cmpint (temper_train_count_steps (&s, 13), ==, 6);
  g_assert_cmpint (temper_train_count_steps (&s, 12), ==, 4);
  /* The replayed general answers are trained on too: 12 + 5 = 17 records,
   * 3 steps an epoch. */
  s.replay_records = 5;
  g_assert_cmpint (temper_train_count_steps (&s, 12), ==, 6);
  s.max_steps = 5;
  g_assert_cmpint (temper_train_count_steps (&s, 13), ==, 5);
}

/* Measured rates are kept per thread count and products (and processor,
 * weight type, version) in the user's cache folder. */
static void
test_cache (void)
{
  g_autoptr(temper_model_t) model = load_tiny ();
  g_autoptr(GError) error = NULL;
  g_autofree char *cache = g_dir_make_tmp ("temper-estimate-XXXXXX", &error);
  g_autofree char *file = NULL;
  g_autofree char *dir = NULL;
  TemperOpRates measured, found;

  g_assert_no_error (error);
  g_setenv ("XDG_CACHE_HOME", cache, TRUE);
  g_assert_false (temper_op_rates_lookup (model, 1, TRUE, &found));
  g_assert_true (temper_op_rates_measure (model, 1, TRUE, &measured, &error));
  g_assert_no_error (error);
  g_assert_true (temper_op_rates_lookup (model, 1, TRUE, &found));
  /* Rates of fp32 products are not those of bfloat16 ones. */
  g_assert_false (temper_op_rates_lookup (model, 1, FALSE, &found));
  g_assert_true (temper_op_rates_lookup (model, 1, TRUE, &found));
  for (int k = 0; k < TEMPER_OP_KIND_COUNT; k++)
    {
      if (k == TEMPER_OP_KIND_POOL_WAIT)
        continue;
      g_assert_cmpfloat (measured.per_second[k], >, 0.0);
      g_assert_cmpfloat_with_epsilon (found.per_second[k], measured.per_second[k],
                                      1e-9 * measured.per_second[k]);
    }
  g_assert_false (temper_op_rates_lookup (model, 2, TRUE, &found));
  g_assert_true (temper_op_rates_measure (model, 1, FALSE, &measured, &error));
  g_assert_no_error (error);
  g_assert_true (temper_op_rates_lookup (model, 1, FALSE, &found));
  g_assert_cmpfloat_with_epsilon (found.per_second[0], measured.per_second[0], 1e-9 * measured.per_second[0]);
  file = g_build_filename (cache, "temper", "op-rates.ini", NULL);
  g_assert_cmpint (g_unlink (file), ==, 0);
  dir = g_path_get_dirname (file);
  g_assert_cmpint (g_rmdir (dir), ==, 0);
  g_assert_cmpint (g_rmdir (cache), ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/train-estimate/work-by-hand", test_work_by_hand);
  g_test_add_func ("/train-estimate/window-pairs", test_window_pairs);
  g_test_add_func ("/train-estimate/work-is-what-runs", test_work_is_what_runs);
  g_test_add_func ("/train-estimate/rates-and-estimate", test_rates_and_estimate);
  g_test_add_func ("/train-estimate/count-steps", test_count_steps);
  g_test_add_func ("/train-estimate/cache", test_cache);
  return g_test_run ();
}
