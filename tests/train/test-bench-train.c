/* SPDX-License-Identifier: MIT */
/* test-bench-train.c — what `temper-cli bench train` reports besides speed:
 * the model FLOPs per token behind its MFU figure (issue 6's count, worked
 * out by hand for the tiny fixture model) and the GPU peaks it divides by;
 * the memory plan against the memory a training step is measured to take.
 * Runs on the CPU backend, so everywhere. */
#include "config.h"

#include <malloc.h>
#include <math.h>

#include "temper/model.h"
#include "temper/train.h"
#include "registry/temper-backend-open.h"
#include "train/temper-train-rng.h"
#include "train/temper-train-step.h"

#if defined(__SANITIZE_ADDRESS__)
#define TEST_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_UNDER_ASAN 1
#endif
#endif
#ifdef TEST_UNDER_ASAN
/* AddressSanitizer's own count (sanitizer/allocator_interface.h, which not
 * every compiler ships). */
size_t __sanitizer_get_current_allocated_bytes (void);
#endif

static void
test_flops_per_token (void)
{
  g_autofree char *path = g_build_filename (g_getenv ("TEMPER_SOURCE_DIR"), "tests", "fixtures",
                                            "train", "tiny-llama", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(temper_model_t) model = temper_model_load (path, NULL, &error);
  TemperTrainBenchResult result = { 0 };
  TemperTrainOptions options;
  TemperTrainSettings s;

  g_assert_no_error (error);
  temper_train_settings_init_default (&s);
  s.lora.targets = TEMPER_LORA_TARGETS_ALL_LINEAR;
  s.lora.rank = 4;
  s.lora.alpha = 8;
  s.lora.dropout = 0.0f;
  s.micro_batch = 1;
  s.max_length = 16;
  temper_train_options_init (&options);
  options.n_threads = 1;
  g_assert_true (temper_train_bench (model, &s, 1, &options, &result, &error));
  g_assert_no_error (error);

  /* tiny-llama: hidden 64, feed-forward 96, 2 layers, 4 heads and 2 kv
   * heads of 16, vocabulary 320, tied embeddings.
   * Frozen matmul weights per layer: q 64·64 + k 64·32 + v 64·32 + o 64·64
   * + gate, up, down 3·64·96 = 30720; 2 layers and the lm_head 64·320:
   * 81920.  Rank-4 adapters per layer: q (64+64)·4 + k, v (64+32)·4 each
   * + o (64+64)·4 + gate, up, down (64+96)·4 each = 3712; 2 layers: 7424.
   * Causal attention: 6 · 2 layers · 64 · 16 tokens = 12288.
   * 4·81920 + 6·7424 + 12288 = 384512. */
  g_assert_cmpuint (result.n_params, ==, 7424);
  g_assert_cmpfloat (result.flops_per_token, ==, 384512.0);
  /* The CPU is no GPU: no device memory, no tensor-core peak. */
  g_assert_cmpuint (result.peak_device_bytes, ==, 0);
  g_assert_cmpfloat (result.peak_tflops, ==, 0.0);
}

/* No steps: the run's buffers are set up and reported, exactly as a run of
 * the same shape allocates them, with no speed. */
static void
test_memory_plan (void)
{
  g_autofree char *path = g_build_filename (g_getenv ("TEMPER_SOURCE_DIR"), "tests", "fixtures",
                                            "train", "tiny-llama", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(temper_model_t) model = temper_model_load (path, NULL, &error);
  TemperTrainBenchResult plan = { 0 }, run = { 0 };
  TemperTrainOptions options;
  TemperTrainSettings s;

  g_assert_no_error (error);
  temper_train_settings_init_default (&s);
  s.lora.dropout = 0.0f;
  s.micro_batch = 2;
  s.max_length = 24;
  temper_train_options_init (&options);
  options.n_threads = 1;
  g_assert_true (temper_train_bench (model, &s, 0, &options, &plan, &error));
  g_assert_no_error (error);
  g_assert_true (temper_train_bench (model, &s, 1, &options, &run, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (plan.train_memory_bytes, >, 0);
  g_assert_cmpuint (plan.train_memory_bytes, ==, run.train_memory_bytes);
  g_assert_cmpuint (plan.n_params, ==, run.n_params);
  g_assert_cmpfloat (plan.tokens_per_s, ==, 0.0);
  g_assert_cmpfloat (run.tokens_per_s, >, 0.0);
  /* Recomputing keeps fewer activations. */
  s.recompute = TRUE;
  g_assert_true (temper_train_bench (model, &s, 0, &options, &plan, &error));
  g_assert_cmpuint (plan.train_memory_bytes, <, run.train_memory_bytes);
}

/* Several shapes, recompute, dropout, fewer targets and NF4 base weights. */
static const struct {
  int      batch, seq, rank;
  guint    targets;
  float    dropout;
  gboolean recompute, four_bit;
} plan_cases[] = {
  { 1, 16, 4, TEMPER_LORA_TARGETS_ALL_LINEAR, 0.0f, FALSE, FALSE },
  { 3, 40, 8, TEMPER_LORA_TARGETS_ALL_LINEAR, 0.1f, FALSE, FALSE },
  { 2, 24, 16, TEMPER_LORA_TARGETS_ATTENTION, 0.0f, TRUE, FALSE },
  { 2, 24, 4, TEMPER_LORA_TARGETS_ALL_LINEAR, 0.05f, TRUE, TRUE },
};

static void
plan_case_settings (gsize i, TemperTrainSettings *s)
{
  temper_train_settings_init_default (s);
  s->lora.rank = plan_cases[i].rank;
  s->lora.alpha = 2.0f * plan_cases[i].rank;
  s->lora.targets = plan_cases[i].targets;
  s->lora.dropout = plan_cases[i].dropout;
  s->micro_batch = plan_cases[i].batch;
  s->max_length = plan_cases[i].seq;
  s->recompute = plan_cases[i].recompute;
  s->base_weights = plan_cases[i].four_bit ? TEMPER_BASE_WEIGHTS_NF4 : TEMPER_BASE_WEIGHTS_STORED;
}

/* The plan the GUI shows is what a run of those settings allocates: for
 * several shapes, recompute, dropout, fewer targets and NF4 base weights,
 * temper_train_plan_memory() equals the training step's own figures. */
static void
test_plan_is_allocation (void)
{
  g_autofree char *path = g_build_filename (g_getenv ("TEMPER_SOURCE_DIR"), "tests", "fixtures",
                                            "train", "tiny-llama", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(temper_model_t) model = temper_model_load (path, NULL, &error);
  g_autoptr(temper_model_t) nf4 = temper_model_load (path, NULL, &error);
  TemperBackendOpenOptions o = { 1, TEMPER_CPU_KERNELS_BEST };
  TemperBackend *cpu = temper_backend_open (TEMPER_BACKEND_CPU, -1, &o, NULL, &error);

  g_assert_no_error (error);
  g_assert_true (temper_model_set_base_weights (nf4, TEMPER_BASE_WEIGHTS_NF4, NULL, &error));
  g_assert_no_error (error);
  for (gsize i = 0; i < G_N_ELEMENTS (plan_cases); i++)
    {
      TemperTrainSettings s;
      g_autoptr(temper_adapter_t) adapter = NULL;
      TemperTrainStep *step;
      guint64 weights = 0, buffers = 0;

      plan_case_settings (i, &s);
      /* Planned from the model as loaded; the run holds it as NF4. */
      temper_train_plan_memory (model, &s, TEMPER_BACKEND_CPU, &weights, &buffers);
      adapter = temper_lora_adapter_new (temper_model_get_config (model), &s.lora, 1, &error);
      g_assert_no_error (error);
      step = temper_train_step_new (plan_cases[i].four_bit ? nf4 : model, cpu, adapter, s.lora.dropout,
                                    s.micro_batch, s.max_length, s.recompute, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (buffers, ==, temper_train_step_get_memory (step));
      g_assert_cmpuint (weights + buffers, ==, temper_train_step_get_estimate (step));
      temper_train_step_free (step);
    }
  temper_backend_free (cpu);
}

/* Bytes of heap memory the process holds now, as the allocator counts
 * them (small blocks and mmap'd large ones), independently of Temper's own
 * figures.  Under AddressSanitizer its allocator keeps the count. */
static guint64
heap_in_use (void)
{
#ifdef TEST_UNDER_ASAN
  return __sanitizer_get_current_allocated_bytes ();
#else
  struct mallinfo2 info = mallinfo2 ();

  return info.uordblks + info.hblkhd;
#endif
}

/* Runs one optimizer step (forward, backward, AdamW) of @step on a fixed
 * batch. */
static void
train_once (TemperTrainStep *step, const gint32 *tokens, const gint32 *targets, int batch, int seq,
            TemperRng *rng, int step_number)
{
  g_autoptr(GError) error = NULL;
  TemperAdamWParams adamw = { .lr = 1e-3f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f,
                              .step = step_number };
  double loss = 0, n_targets = 0, norm = 0;

  g_assert_true (temper_train_step_run (step, tokens, targets, batch, seq, TRUE, 1.0f / (batch * seq),
                                        rng, &loss, &n_targets, &error));
  g_assert_no_error (error);
  g_assert_true (isfinite (loss) && n_targets > 0);
  g_assert_true (temper_train_step_grad_norm (step, &norm, &error));
  g_assert_true (temper_train_step_optimize (step, &adamw, &error));
  g_assert_no_error (error);
}

/* The plan against what the training step is measured to take, counted by
 * the allocator: building the step grows the heap by the planned buffers
 * (the CPU backend computes in host memory; the frozen weights stay the
 * model's own), give or take the step's bookkeeping — at least the plan, at
 * most 5 % + 64 KiB more.  Once the first step has run, a further step
 * allocates nothing.  The first step also makes the backend reserve its
 * scratch, which it keeps; that is not part of the plan and is printed. */
static void
test_plan_is_measured (void)
{
  g_autofree char *path = g_build_filename (g_getenv ("TEMPER_SOURCE_DIR"), "tests", "fixtures",
                                            "train", "tiny-llama", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(temper_model_t) model = temper_model_load (path, NULL, &error);
  g_autoptr(temper_model_t) nf4 = temper_model_load (path, NULL, &error);
  TemperBackendOpenOptions o = { 1, TEMPER_CPU_KERNELS_BEST };

  g_assert_no_error (error);
  g_assert_true (temper_model_set_base_weights (nf4, TEMPER_BASE_WEIGHTS_NF4, NULL, &error));
  g_assert_no_error (error);
  for (gsize i = 0; i < G_N_ELEMENTS (plan_cases); i++)
    {
      /* A fresh backend per case, so that its scratch is measured anew. */
      TemperBackend *cpu = temper_backend_open (TEMPER_BACKEND_CPU, -1, &o, NULL, &error);
      int batch = plan_cases[i].batch, seq = plan_cases[i].seq, n = batch * seq;
      TemperTrainSettings s;
      g_autoptr(temper_adapter_t) adapter = NULL;
      g_autofree gint32 *tokens = g_new (gint32, n);
      g_autofree gint32 *targets = g_new (gint32, n);
      TemperTrainStep *step;
      TemperRng rng;
      guint64 weights = 0, buffers = 0, before, built, first, second;

      g_assert_no_error (error);
      plan_case_settings (i, &s);
      temper_train_plan_memory (model, &s, TEMPER_BACKEND_CPU, &weights, &buffers);
      adapter = temper_lora_adapter_new (temper_model_get_config (model), &s.lora, 1, &error);
      g_assert_no_error (error);
      for (int t = 0; t < n; t++)
        {
          tokens[t] = (t * 37 + 11) % 320;   /* the fixture's vocabulary is 320 */
          targets[t] = (t + 1) % seq != 0 ? ((t + 1) * 37 + 11) % 320 : -1;
        }
      temper_rng_seed (&rng, 7);

      before = heap_in_use ();
      step = temper_train_step_new (plan_cases[i].four_bit ? nf4 : model, cpu, adapter, s.lora.dropout,
                                    s.micro_batch, s.max_length, s.recompute, &error);
      g_assert_no_error (error);
      built = heap_in_use ();
      train_once (step, tokens, targets, batch, seq, &rng, 1);
      first = heap_in_use ();
      train_once (step, tokens, targets, batch, seq, &rng, 2);
      second = heap_in_use ();
      g_test_message ("case %zu: planned %" G_GUINT64_FORMAT " bytes, the built step holds %"
                      G_GUINT64_FORMAT " (%+.1f %%); the backend's scratch %" G_GUINT64_FORMAT
                      "; the second step %+" G_GINT64_FORMAT,
                      i, buffers, built - before, 100.0 * ((double) (built - before) - buffers) / buffers,
                      first - built, (gint64) second - (gint64) first);
      g_assert_cmpuint (buffers, >, 0);
      g_assert_cmpuint (built - before, >=, buffers);
      g_assert_cmpuint (built - before, <=, buffers + buffers / 20 + 64 * 1024);
      g_assert_cmpuint (second, ==, first);
      temper_train_step_free (step);
      temper_backend_free (cpu);
    }
}

/* Names as the CUDA and Vulkan drivers report them, against NVIDIA's data
 * sheets (dense bf16, no sparsity). */
static void
test_peak_tflops (void)
{
  g_assert_cmpfloat (temper_device_peak_tflops ("NVIDIA H100 80GB HBM3"), ==, 989.4);
  g_assert_cmpfloat (temper_device_peak_tflops ("NVIDIA H100 PCIe"), ==, 756.0);
  g_assert_cmpfloat (temper_device_peak_tflops ("NVIDIA H100 NVL"), ==, 835.0);
  g_assert_cmpfloat (temper_device_peak_tflops ("NVIDIA A100-SXM4-80GB"), ==, 312.0);
  g_assert_cmpfloat (temper_device_peak_tflops ("NVIDIA L40S"), ==, 362.05);
  g_assert_cmpfloat (temper_device_peak_tflops ("NVIDIA L4"), ==, 121.0);
  g_assert_cmpfloat (temper_device_peak_tflops ("NVIDIA GeForce RTX 4090"), ==, 165.2);
  g_assert_cmpfloat (temper_device_peak_tflops ("AMD Radeon RX 7900 XTX (RADV NAVI31)"), ==, 0.0);
  g_assert_cmpfloat (temper_device_peak_tflops ("llvmpipe (LLVM 15.0.6, 256 bits)"), ==, 0.0);
  g_assert_cmpfloat (temper_device_peak_tflops (NULL), ==, 0.0);
}

/* The profile of `bench train --profile`: its kinds add up to the time the
 * timed steps took (nothing counted twice, little left out), every kind of
 * op a step runs shows time, and the frozen forward GEMMs are exactly the
 * model's projections (counted by hand below), so no op is filed under the
 * wrong kind. */
static void
test_profile_adds_up (void)
{
  g_autofree char *path = g_build_filename (g_getenv ("TEMPER_SOURCE_DIR"), "tests", "fixtures",
                                            "train", "tiny-llama", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(temper_model_t) model = temper_model_load (path, NULL, &error);
  TemperTrainBenchResult result = { 0 };
  TemperOpProfile profile;
  TemperTrainOptions options;
  TemperTrainSettings s;
  const int n_steps = 3;
  double wall, total;

  g_assert_no_error (error);
  temper_train_settings_init_default (&s);
  s.lora.targets = TEMPER_LORA_TARGETS_ALL_LINEAR;
  s.lora.rank = 4;
  s.lora.alpha = 8;
  s.lora.dropout = 0.0f;
  s.micro_batch = 2;
  s.max_length = 64;
  temper_train_options_init (&options);
  options.n_threads = 2;
  g_assert_true (temper_train_bench_profiled (model, &s, n_steps, &options, &result, &profile,
                                              &error));
  g_assert_no_error (error);

  wall = result.seconds_per_step * n_steps;
  total = temper_op_profile_total (&profile);
  g_test_message ("ops %.6f s of %.6f s wall", total, wall);
  /* The op clocks run inside the wall clock's window (read in whole
   * microseconds); the host's own work between ops is small next to them. */
  g_assert_cmpfloat (total, <=, wall + 2e-6);
  g_assert_cmpfloat (total, >=, 0.5 * wall);
  for (int k = 0; k < TEMPER_OP_KIND_COUNT; k++)
    {
      g_test_message ("%s: %.6f s, %" G_GUINT64_FORMAT " calls", temper_op_kind_name (k),
                      profile.seconds[k], profile.calls[k]);
      if (k == TEMPER_OP_KIND_POOL_WAIT)
        continue;   /* not an op: no calls of its own */
      g_assert_cmpuint (profile.calls[k], >, 0);
      g_assert_cmpfloat (profile.seconds[k], >, 0.0);
    }
  /* Two threads: the caller waits for the other at the end of each
   * parallel op, however briefly. */
  g_assert_cmpfloat (profile.seconds[TEMPER_OP_KIND_POOL_WAIT], >, 0.0);
  /* Frozen projections per layer (see test_flops_per_token): 30720
   * weights, 2 layers; each is one multiply-add per token, 2·64 tokens.
   * The lm_head runs inside the fused cross-entropy, not here. */
  g_assert_cmpfloat (profile.flops[TEMPER_OP_KIND_FROZEN_FORWARD], ==,
                     (double) n_steps * 2.0 * 128 * 2 * 30720);
  /* Causal attention: 4 heads of 16, 2 sequences of 64 (64·65/2 query-key
   * pairs each), two products, 2 layers; the backward pass twice that.
   * The lm_head 64 × 320, forward and input gradient, on the 126 tokens
   * that have a next token to predict (the last of each sequence has none). */
  g_assert_cmpfloat (profile.flops[TEMPER_OP_KIND_ATTENTION_FORWARD], ==,
                     (double) n_steps * 2 * 2.0 * 2 * 16 * 4 * 2 * (64 * 65 / 2));
  g_assert_cmpfloat (profile.flops[TEMPER_OP_KIND_ATTENTION_BACKWARD], ==,
                     2.0 * profile.flops[TEMPER_OP_KIND_ATTENTION_FORWARD]);
  g_assert_cmpfloat (profile.flops[TEMPER_OP_KIND_CROSS_ENTROPY], ==,
                     (double) n_steps * 2 * 2.0 * 126 * 64 * 320);
  g_assert_cmpfloat (profile.flops[TEMPER_OP_KIND_ELEMENTWISE], ==, 0.0);
  /* The GEMM rate it is held against was measured. */
  g_assert_cmpfloat (result.gemm_gflops, >, 0.0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/bench-train/flops-per-token", test_flops_per_token);
  g_test_add_func ("/bench-train/peak-tflops", test_peak_tflops);
  g_test_add_func ("/bench-train/memory-plan", test_memory_plan);
  g_test_add_func ("/bench-train/plan-is-allocation", test_plan_is_allocation);
  g_test_add_func ("/bench-train/plan-is-measured", test_plan_is_measured);
  g_test_add_func ("/bench-train/profile-adds-up", test_profile_adds_up);
  return g_test_run ();
}
