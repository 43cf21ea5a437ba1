/* SPDX-License-Identifier: MIT */
/* test-vk-train.c — training and generation on a GPU backend against the
 * CPU backend and Hugging Face PEFT: one full training step (loss and every
 * LoRA gradient), 20 AdamW steps (the loss curve), and greedy generation on
 * the demo model.  Built for Vulkan here and, with TEST_BACKEND set to
 * TEMPER_BACKEND_CUDA, for CUDA by tests/cuda/test-cuda-train.c.  Without a
 * device of that kind each test reports itself skipped, saying why.
 *
 * References: tests/fixtures/train/peft-parity.json (PEFT's losses for 20
 * steps, from tests/train/make-peft-fixtures.py) and the CPU backend, which
 * tests/train checks against PEFT and finite differences. */
#include "config.h"

#include <malloc.h>
#include <math.h>
#include <string.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "temper/error.h"
#include "temper/generate.h"
#include "temper/model.h"
#include "temper/run.h"
#include "temper/tokenizer.h"
#include "temper/train.h"
#include "registry/temper-backend-open.h"
#include "train/temper-train-fit.h"
#include "train/temper-train-step.h"

#include "../model/tiny-model.h"
#include "../train/peft-parity-fixture.h"

#if defined(__SANITIZE_ADDRESS__)
#define TEST_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_UNDER_ASAN 1
#endif
#endif
#ifndef TEST_UNDER_ASAN
#define TEST_UNDER_ASAN 0
#endif

#ifndef TEST_BACKEND
#define TEST_BACKEND TEMPER_BACKEND_VULKAN
#endif

/* The backend under test, or NULL after reporting the test skipped. */
static TemperBackend *
open_gpu (TemperDeviceInfo **info)
{
  g_autoptr(GError) error = NULL;
  TemperBackend *b = temper_backend_open (TEST_BACKEND, -1, NULL, info, &error);

  if (b == NULL)
    {
      g_autofree char *msg = g_strdup_printf ("no %s device: %s",
                                              temper_backend_kind_name (TEST_BACKEND), error->message);
      g_test_skip (msg);
    }
  return b;
}

static TemperBackend *
open_cpu (void)
{
  TemperBackendOpenOptions o = { 1, TEMPER_CPU_KERNELS_BEST };
  g_autoptr(GError) error = NULL;
  TemperBackend *b = temper_backend_open (TEMPER_BACKEND_CPU, -1, &o, NULL, &error);

  g_assert_no_error (error);
  return b;
}

/* Mean loss of batch @batch, with its gradient added; @rng draws the
 * dropout masks (NULL without dropout). */
static double
run_batch_rng (Fixture *f, TemperTrainStep *step, int batch, TemperRng *rng)
{
  const gint32 *ids = f->ids + batch * f->micro_batch * f->seq;
  const gint32 *targets = f->targets + batch * f->micro_batch * f->seq;
  g_autoptr(GError) error = NULL;
  double sum = 0, n = 0;
  int count = 0;

  for (int i = 0; i < f->micro_batch * f->seq; i++)
    count += targets[i] >= 0;
  g_assert_true (temper_train_step_run (step, ids, targets, f->micro_batch, f->seq, TRUE,
                                        1.0f / (float) count, rng, &sum, &n, &error));
  g_assert_no_error (error);
  g_assert_cmpfloat (n, ==, count);
  return sum / n;
}

static double
run_batch (Fixture *f, TemperTrainStep *step, int batch)
{
  return run_batch_rng (f, step, batch, NULL);
}

/* ‖a − b‖ / ‖b‖ over @n floats. */
static double
normalized_error (const float *a, const float *b, gsize n)
{
  double d = 0, r = 0;

  for (gsize i = 0; i < n; i++)
    {
      d += ((double) a[i] - b[i]) * ((double) a[i] - b[i]);
      r += (double) b[i] * b[i];
    }
  return r > 0 ? sqrt (d / r) : sqrt (d);
}

/* One forward and backward: the loss against PEFT's first loss (without
 * dropout: PEFT's run had none) and the CPU backend's, and each A and B
 * gradient matrix against the CPU's.  With @dropout both backends draw the
 * masks from the same seed, and must drop the same elements. */
static void
check_step_within (Fixture *f, float dropout, double loss_tol, double grad_tol)
{
  const TemperModelConfig *c = temper_model_get_config (f->model);
  JsonArray *losses = json_object_get_array_member (f->fixture, "losses");
  g_autoptr(TemperDeviceInfo) info = NULL;
  TemperBackend *gpu = open_gpu (&info);
  TemperBackend *cpu;
  TemperTrainStep *on_gpu, *on_cpu;
  g_autoptr(GError) error = NULL;
  guint64 n = temper_lora_count_params (f->adapter, c);
  g_autofree float *g_gpu = g_new (float, n);
  g_autofree float *g_cpu = g_new (float, n);
  int r = temper_adapter_get_rank (f->adapter), checked = 0;
  double l_gpu, l_cpu, worst = 0;
  gsize off = 0;
  TemperRng rng_gpu, rng_cpu;

  if (gpu == NULL)
    return;
  cpu = open_cpu ();
  on_gpu = temper_train_step_new_on (f->model, gpu, info, f->adapter, dropout, f->micro_batch,
                                     f->seq, FALSE, &error);
  g_assert_no_error (error);
  on_cpu = temper_train_step_new (f->model, cpu, f->adapter, dropout, f->micro_batch, f->seq,
                                  FALSE, &error);
  g_assert_no_error (error);

  temper_rng_seed (&rng_gpu, 2026);
  temper_rng_seed (&rng_cpu, 2026);
  l_gpu = run_batch_rng (f, on_gpu, 0, dropout > 0 ? &rng_gpu : NULL);
  l_cpu = run_batch_rng (f, on_cpu, 0, dropout > 0 ? &rng_cpu : NULL);
  g_test_message ("dropout %g, loss: %s %.7f, cpu %.7f, PEFT (no dropout) %.7f", dropout,
                  temper_backend_get_name (gpu), l_gpu, l_cpu,
                  json_array_get_double_element (losses, 0));
  g_assert_cmpfloat (fabs (l_gpu - l_cpu), <=, loss_tol * l_cpu);
  /* PEFT's run had neither dropout nor quantized weights. */
  if (dropout <= 0 && temper_model_get_base_weights (f->model) == TEMPER_BASE_WEIGHTS_STORED)
    g_assert_cmpfloat (fabs (l_gpu - json_array_get_double_element (losses, 0)), <=,
                       (loss_tol + 1e-4) * l_cpu);

  g_assert_true (temper_train_step_get_grads (on_gpu, g_gpu, &error));
  g_assert_true (temper_train_step_get_grads (on_cpu, g_cpu, &error));
  /* Gradients lie in temper_lora_gather() order: per layer, per target, A then B. */
  for (int l = 0; l < c->n_layer; l++)
    for (int t = 0; t < TEMPER_LORA_N_TARGETS; t++)
      {
        int in, out;

        if (temper_adapter_get_a (f->adapter, l, t) == NULL)
          continue;
        temper_lora_target_dims (c, t, &in, &out);
        for (int half = 0; half < 2; half++)
          {
            gsize len = (gsize) (half == 0 ? in : out) * r;
            double ref = 0, err = normalized_error (g_gpu + off, g_cpu + off, len);

            for (gsize i = 0; i < len; i++)
              ref += fabs (g_cpu[off + i]);
            /* Every matrix gets a gradient, so a path that drops one fails. */
            g_assert_cmpfloat (ref, >, 0);
            g_assert_cmpfloat (err, <=, grad_tol);
            worst = MAX (worst, err);
            off += len;
            checked++;
          }
      }
  g_assert_cmpuint (off, ==, n);
  g_test_message ("%d gradient matrices, largest normalized error %.2e", checked, worst);

  temper_train_step_free (on_gpu);
  temper_train_step_free (on_cpu);
  temper_backend_free (gpu);
  temper_backend_free (cpu);
}

/* 20 AdamW steps on both backends: the losses follow the CPU's and PEFT's. */
static void
test_curve (Fixture *f, gconstpointer data)
{
  JsonObject *settings = json_object_get_object_member (f->fixture, "settings");
  JsonArray *losses = json_object_get_array_member (f->fixture, "losses");
  g_autoptr(TemperDeviceInfo) info = NULL;
  TemperBackend *gpu = open_gpu (&info);
  TemperBackend *cpu;
  TemperTrainStep *on_gpu, *on_cpu;
  g_autoptr(GError) error = NULL;
  int n_batches = f->n_rows / f->micro_batch;
  TemperAdamWParams p = { 0 };
  double worst_cpu = 0, worst_peft = 0;

  if (gpu == NULL)
    return;
  cpu = open_cpu ();
  on_gpu = temper_train_step_new_on (f->model, gpu, info, f->adapter, 0.0f, f->micro_batch,
                                     f->seq, FALSE, &error);
  g_assert_no_error (error);
  on_cpu = temper_train_step_new (f->model, cpu, f->adapter, 0.0f, f->micro_batch, f->seq,
                                  FALSE, &error);
  g_assert_no_error (error);
  p.lr = (float) json_object_get_double_member (settings, "learning_rate");
  p.beta1 = (float) json_object_get_double_member (settings, "beta1");
  p.beta2 = (float) json_object_get_double_member (settings, "beta2");
  p.eps = (float) json_object_get_double_member (settings, "eps");
  p.weight_decay = (float) json_object_get_double_member (settings, "weight_decay");
  p.max_grad_norm = (float) json_object_get_double_member (settings, "max_grad_norm");

  for (guint i = 0; i < json_array_get_length (losses); i++)
    {
      double peft = json_array_get_double_element (losses, i);
      double l_gpu = run_batch (f, on_gpu, (int) i % n_batches);
      double l_cpu = run_batch (f, on_cpu, (int) i % n_batches);
      double norm_gpu, norm_cpu;

      g_assert_true (temper_train_step_grad_norm (on_gpu, &norm_gpu, &error));
      g_assert_true (temper_train_step_grad_norm (on_cpu, &norm_cpu, &error));
      g_test_message ("step %2u: loss %.7f, cpu %.7f, PEFT %.7f; grad norm %.6f, cpu %.6f",
                      i + 1, l_gpu, l_cpu, peft, norm_gpu, norm_cpu);
      worst_cpu = MAX (worst_cpu, fabs (l_gpu - l_cpu) / l_cpu);
      worst_peft = MAX (worst_peft, fabs (l_gpu - peft) / peft);
      g_assert_cmpfloat (fabs (l_gpu - l_cpu), <=, 2e-4 * l_cpu);
      g_assert_cmpfloat (fabs (l_gpu - peft), <=, 3e-4 * peft);
      g_assert_cmpfloat (fabs (norm_gpu - norm_cpu), <=, 2e-3 * norm_cpu);
      p.step = i + 1;
      g_assert_true (temper_train_step_optimize (on_gpu, &p, &error));
      g_assert_true (temper_train_step_optimize (on_cpu, &p, &error));
    }
  g_test_message ("largest relative loss difference: %.2e from the CPU, %.2e from PEFT",
                  worst_cpu, worst_peft);
  temper_train_step_free (on_gpu);
  temper_train_step_free (on_cpu);
  temper_backend_free (gpu);
  temper_backend_free (cpu);
}

/* fp32 throughout, like the CPU: only the order of sums differs. */
static void
check_step (Fixture *f, float dropout)
{
  check_step_within (f, dropout, 1e-4, 1e-3);
}

static void
test_step (Fixture *f, gconstpointer data)
{
  check_step (f, 0.0f);
}

/* The same step with the frozen-weight products on Vulkan's
 * cooperative-matrix shader, whose float16 inputs carry a relative error of
 * about 2^-11 ≈ 5e-4 (see tests/backend-ops/backend-ops-matmul.c).  The loss averages
 * many such errors, so 5e-4 of it; a gradient passes through a chain of
 * products, forward and backward, so 5e-3.  Where the device has no
 * cooperative matrices, opening the backend fails and the test is skipped
 * with the reason. */
static void
test_step_coopmat (Fixture *f, gconstpointer data)
{
  g_setenv ("TEMPER_VK_MATMUL", "coopmat", TRUE);
  check_step_within (f, 0.0f, 5e-4, 5e-3);
  g_unsetenv ("TEMPER_VK_MATMUL");
}

/* The plan against the device memory the backend is measured to allocate
 * (vkAllocateMemory on the device's heap, counted as it happens): the most
 * held at once while the step is built and trains one batch is the plan's
 * weights and buffers, plus at most 2 % and 16 KiB (on lavapipe uploads
 * need no staging: the device's memory is host-visible).  On a software
 * device the driver's memory is the process's heap, so the allocator's own
 * count checks it independently: building the step grows the heap by the
 * plan, give or take the driver's alignment and objects (at least the plan,
 * at most 10 % + 128 KiB more). */
static void
test_plan_is_measured (Fixture *f, gconstpointer data)
{
  g_autoptr(TemperDeviceInfo) info = NULL;
  TemperBackend *gpu = open_gpu (&info);
  TemperTrainSettings settings;
  TemperTrainStep *step;
  g_autoptr(GError) error = NULL;
  guint64 weights = 0, buffers = 0, before, peak;
  struct mallinfo2 heap_before, heap_built;
  double planned;

  if (gpu == NULL)
    return;
  temper_train_settings_init_default (&settings);
  settings.lora.rank = temper_adapter_get_rank (f->adapter);
  settings.lora.alpha = temper_adapter_get_alpha (f->adapter);
  settings.lora.use_rslora = temper_adapter_get_rslora (f->adapter);
  settings.lora.targets = temper_adapter_get_targets (f->adapter);
  settings.lora.dropout = 0.0f;
  settings.micro_batch = f->micro_batch;
  settings.max_length = f->seq;
  temper_train_plan_memory (f->model, &settings, TEST_BACKEND, &weights, &buffers);
  planned = (double) (weights + buffers);

  before = temper_backend_get_peak_memory (gpu);
  heap_before = mallinfo2 ();
  step = temper_train_step_new_on (f->model, gpu, info, f->adapter, 0.0f, f->micro_batch, f->seq, FALSE,
                                   &error);
  g_assert_no_error (error);
  heap_built = mallinfo2 ();
  /* (AddressSanitizer's allocator keeps its own count, not glibc's.) */
  if (info->type == TEMPER_DEVICE_SOFTWARE && !TEST_UNDER_ASAN)
    {
      double grown = (double) (heap_built.uordblks + heap_built.hblkhd)
                     - (double) (heap_before.uordblks + heap_before.hblkhd);

      g_test_message ("software device: the heap grew by %.0f bytes building the step (%+.1f %%)",
                      grown, 100.0 * (grown - planned) / planned);
      g_assert_cmpfloat (grown, >=, planned);
      g_assert_cmpfloat (grown, <=, planned * 1.10 + 128 * 1024);
    }
  g_assert_true (isfinite (run_batch (f, step, 0)));
  peak = temper_backend_get_peak_memory (gpu) - before;
  g_test_message ("planned %.0f bytes (weights %" G_GUINT64_FORMAT ", buffers %" G_GUINT64_FORMAT
                  "), the device's peak %" G_GUINT64_FORMAT " (%+.1f %%)",
                  planned, weights, buffers, peak, 100.0 * ((double) peak - planned) / planned);
  g_assert_cmpfloat ((double) peak, >=, planned);
  g_assert_cmpfloat ((double) peak, <=, planned * 1.02 + 16 * 1024);
  temper_train_step_free (step);
  temper_backend_free (gpu);
}

/* A model with its own lm_head: the GPU keeps no copy of the embedding
 * table (only its rows are needed, read from the model's memory and
 * uploaded), so the estimate counts it out, and the step still gives the
 * CPU's loss and gradients. */
static void
test_step_untied (void)
{
  g_autofree char *dir = model_test_tmpdir ();
  g_autofree char *path = g_build_filename (dir, "untied.gguf", NULL);
  TinySpec spec = tiny_spec_default ("llama");
  g_autoptr(temper_model_t) model = NULL;
  g_autoptr(temper_adapter_t) adapter = NULL;
  g_autoptr(TemperDeviceInfo) info = NULL;
  g_autoptr(GError) error = NULL;
  TemperBackend *gpu = open_gpu (&info), *cpu;
  TemperTrainStep *on_gpu, *on_cpu;
  TemperLoraConfig lora;
  const TemperTensorView *embd;
  enum { B = 2, T = 12 };
  gint32 ids[B * T], targets[B * T];
  guint64 n;
  double l_gpu = 0, l_cpu = 0, count = 0;

  if (gpu == NULL)
    {
      test_remove_tree (dir);
      return;
    }
  spec.untied = TRUE;
  tiny_write_gguf (path, &spec);
  model = temper_model_load (path, NULL, &error);
  g_assert_no_error (error);
  temper_lora_config_init_default (&lora);
  lora.rank = 4;
  lora.alpha = 8;
  lora.dropout = 0.0f;
  lora.targets = TEMPER_LORA_TARGETS_ALL_LINEAR;
  adapter = temper_lora_adapter_new (temper_model_get_config (model), &lora, 7, &error);
  g_assert_no_error (error);
  /* A random B matrix, so the adapter changes the outputs and its A
   * gradients are not zero. */
  {
    guint64 n_params = temper_lora_count_params (adapter, temper_model_get_config (model));
    g_autofree float *flat = g_new (float, n_params);
    GRand *rand = g_rand_new_with_seed (11);

    temper_lora_gather (adapter, temper_model_get_config (model), flat);
    for (guint64 i = 0; i < n_params; i++)
      if (flat[i] == 0.0f)
        flat[i] = (float) g_rand_double_range (rand, -0.05, 0.05);
    temper_lora_scatter (adapter, temper_model_get_config (model), flat);
    g_rand_free (rand);
  }
  for (int i = 0; i < B * T; i++)
    {
      ids[i] = (gint32) ((i * 37 + 11) % TINY_N_TOKENS);
      targets[i] = (i + 1) % T != 0 ? (gint32) (((i + 1) * 37 + 11) % TINY_N_TOKENS) : -1;
    }

  cpu = open_cpu ();
  on_gpu = temper_train_step_new_on (model, gpu, info, adapter, 0.0f, B, T, FALSE, &error);
  g_assert_no_error (error);
  on_cpu = temper_train_step_new (model, cpu, adapter, 0.0f, B, T, FALSE, &error);
  g_assert_no_error (error);
  embd = temper_model_get_token_embd (model);
  g_assert_cmpuint (temper_train_step_get_estimate (on_cpu) - temper_train_step_get_estimate (on_gpu), ==,
                    embd->row_bytes * (guint64) embd->ne[1]);
  /* The plan for these settings on this kind of device is this allocation. */
  {
    TemperTrainSettings settings;
    guint64 weights = 0, buffers = 0;

    temper_train_settings_init_default (&settings);
    settings.lora = lora;
    settings.micro_batch = B;
    settings.max_length = T;
    temper_train_plan_memory (model, &settings, TEST_BACKEND, &weights, &buffers);
    g_assert_cmpuint (buffers, ==, temper_train_step_get_memory (on_gpu));
    g_assert_cmpuint (weights + buffers, ==, temper_train_step_get_estimate (on_gpu));
  }
  /* On the GPU: the seven projections of each layer and the lm_head. */
  g_assert_cmpuint (temper_train_step_get_estimate (on_gpu) - temper_train_step_get_memory (on_gpu), ==,
                    temper_model_get_linear_bytes (model)
                    + temper_model_get_output (model)->row_bytes * (guint64) temper_model_get_output (model)->ne[1]);
  /* Tied, the one table serves both and is counted once. */
  {
    g_autofree char *tied_path = g_build_filename (dir, "tied.gguf", NULL);
    g_autoptr(temper_model_t) tied = NULL;
    TemperTrainStep *tied_step;

    spec.untied = FALSE;
    tiny_write_gguf (tied_path, &spec);
    tied = temper_model_load (tied_path, NULL, &error);
    g_assert_no_error (error);
    tied_step = temper_train_step_new_on (tied, gpu, info, adapter, 0.0f, B, T, FALSE, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (temper_train_step_get_estimate (tied_step) - temper_train_step_get_memory (tied_step), ==,
                      temper_model_get_linear_bytes (tied) + embd->row_bytes * (guint64) embd->ne[1]);
    temper_train_step_free (tied_step);
  }

  g_assert_true (temper_train_step_run (on_gpu, ids, targets, B, T, TRUE, 1.0f, NULL, &l_gpu, &count, &error));
  g_assert_no_error (error);
  g_assert_true (temper_train_step_run (on_cpu, ids, targets, B, T, TRUE, 1.0f, NULL, &l_cpu, &count, &error));
  g_assert_no_error (error);
  g_assert_cmpfloat (fabs (l_gpu - l_cpu), <=, 1e-4 * fabs (l_cpu));
  n = temper_train_step_get_n_params (on_cpu);
  {
    g_autofree float *g_gpu = g_new (float, n);
    g_autofree float *g_cpu = g_new (float, n);
    double norm = 0;

    g_assert_true (temper_train_step_get_grads (on_gpu, g_gpu, &error));
    g_assert_true (temper_train_step_get_grads (on_cpu, g_cpu, &error));
    g_assert_no_error (error);
    for (guint64 i = 0; i < n; i++)
      norm += (double) g_cpu[i] * g_cpu[i];
    g_assert_cmpfloat (norm, >, 0.0);
    g_assert_cmpfloat (normalized_error (g_gpu, g_cpu, n), <, 1e-3);
  }
  /* A token outside the vocabulary is refused with a reason, not read. */
  ids[3] = TINY_N_TOKENS + 5;
  g_assert_false (temper_train_step_run (on_gpu, ids, targets, B, T, TRUE, 1.0f, NULL, &l_gpu, &count, &error));
  g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_ARGUMENT);

  temper_train_step_free (on_gpu);
  temper_train_step_free (on_cpu);
  temper_backend_free (gpu);
  temper_backend_free (cpu);
  test_remove_tree (dir);
}

/* Training on a model stored in one of the low-bit types llama.cpp files
 * use (Q2_K, Q3_K, IQ4_NL, IQ4_XS, TQ2_0): the frozen weights go through
 * the GPU's decoders forward and backward, the CPU's reference decoders on
 * the other side, and loss and gradients agree. */
static void
test_step_low_bit (gconstpointer data)
{
  int type = GPOINTER_TO_INT (data);
  g_autofree char *dir = model_test_tmpdir ();
  g_autofree char *path = g_build_filename (dir, "low-bit.gguf", NULL);
  TinySpec spec = tiny_spec_default ("llama");
  g_autoptr(temper_model_t) model = NULL;
  g_autoptr(temper_adapter_t) adapter = NULL;
  g_autoptr(TemperDeviceInfo) info = NULL;
  g_autoptr(GError) error = NULL;
  TemperBackend *gpu = open_gpu (&info), *cpu;
  TemperTrainStep *on_gpu, *on_cpu;
  TemperLoraConfig lora;
  enum { B = 2, T = 12 };
  gint32 ids[B * T], targets[B * T];
  double l_gpu = 0, l_cpu = 0, count = 0;
  guint64 n;

  if (gpu == NULL)
    {
      test_remove_tree (dir);
      return;
    }
  /* Rows of whole 256-element blocks. */
  spec.n_embd = 256;
  spec.n_ff = 512;
  spec.n_layer = 1;
  spec.matrix_type = type;
  tiny_write_gguf (path, &spec);
  model = temper_model_load (path, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (temper_model_get_layer (model, 0)->wq.type, ==, type);
  temper_lora_config_init_default (&lora);
  lora.rank = 4;
  lora.alpha = 8;
  lora.dropout = 0.0f;
  lora.targets = TEMPER_LORA_TARGETS_ALL_LINEAR;
  adapter = temper_lora_adapter_new (temper_model_get_config (model), &lora, 7, &error);
  g_assert_no_error (error);
  {
    guint64 n_params = temper_lora_count_params (adapter, temper_model_get_config (model));
    g_autofree float *flat = g_new (float, n_params);
    GRand *rand = g_rand_new_with_seed (11);

    temper_lora_gather (adapter, temper_model_get_config (model), flat);
    for (guint64 i = 0; i < n_params; i++)
      if (flat[i] == 0.0f)
        flat[i] = (float) g_rand_double_range (rand, -0.05, 0.05);
    temper_lora_scatter (adapter, temper_model_get_config (model), flat);
    g_rand_free (rand);
  }
  for (int i = 0; i < B * T; i++)
    {
      ids[i] = (gint32) ((i * 37 + 11) % TINY_N_TOKENS);
      targets[i] = (i + 1) % T != 0 ? (gint32) (((i + 1) * 37 + 11) % TINY_N_TOKENS) : -1;
    }

  cpu = open_cpu ();
  on_gpu = temper_train_step_new_on (model, gpu, info, adapter, 0.0f, B, T, FALSE, &error);
  g_assert_no_error (error);
  on_cpu = temper_train_step_new (model, cpu, adapter, 0.0f, B, T, FALSE, &error);
  g_assert_no_error (error);
  g_assert_true (temper_train_step_run (on_gpu, ids, targets, B, T, TRUE, 1.0f, NULL, &l_gpu, &count, &error));
  g_assert_no_error (error);
  g_assert_true (temper_train_step_run (on_cpu, ids, targets, B, T, TRUE, 1.0f, NULL, &l_cpu, &count, &error));
  g_assert_no_error (error);
  g_assert_true (isfinite (l_cpu));
  n = temper_train_step_get_n_params (on_cpu);
  {
    g_autofree float *g_gpu = g_new (float, n);
    g_autofree float *g_cpu = g_new (float, n);
    double norm = 0, err;

    g_assert_true (temper_train_step_get_grads (on_gpu, g_gpu, &error));
    g_assert_true (temper_train_step_get_grads (on_cpu, g_cpu, &error));
    g_assert_no_error (error);
    for (guint64 i = 0; i < n; i++)
      norm += (double) g_cpu[i] * g_cpu[i];
    err = normalized_error (g_gpu, g_cpu, n);
    g_test_message ("%s: loss %s %.7f, cpu %.7f; gradients' normalized error %.2e",
                    temper_type_name (type), temper_backend_get_name (gpu), l_gpu, l_cpu, err);
    g_assert_cmpfloat (fabs (l_gpu - l_cpu), <=, 1e-4 * fabs (l_cpu));
    g_assert_cmpfloat (norm, >, 0.0);
    g_assert_cmpfloat (err, <, 1e-3);
  }
  temper_train_step_free (on_gpu);
  temper_train_step_free (on_cpu);
  temper_backend_free (gpu);
  temper_backend_free (cpu);
  test_remove_tree (dir);
}

/* QLoRA on the GPU: the tiny model's projections held as NF4 (those whose
 * rows are whole 64-value blocks), the step as the CPU computes it on the
 * same NF4 weights. */
static void
test_step_nf4 (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (temper_model_set_base_weights (f->model, TEMPER_BASE_WEIGHTS_NF4, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (temper_model_get_layer (f->model, 0)->wq.type, ==, TEMPER_TYPE_NF4);
  check_step (f, 0.0f);
}

/* LoRA dropout runs on the GPU: the same masks as the CPU's, so the same
 * loss and gradients.  A high rate makes a wrong mask show. */
static void
test_step_dropout (Fixture *f, gconstpointer data)
{
  check_step (f, 0.3f);
}

/* A job larger than the GPU's free memory is refused before anything is copied. */
static void
test_memory_check (void)
{
  TemperDeviceInfo info = { 0 };
  g_autoptr(GError) error = NULL;

  info.backend = TEST_BACKEND;
  info.name = (char *) "Test GPU";
  info.memory_total = 8000000000u;
  info.memory_free = 2000000000u;
  g_assert_true (temper_backend_check_memory (&info, 1500000000u, "Training", &error));
  g_assert_no_error (error);
  g_assert_false (temper_backend_check_memory (&info, 3500000000u, "Training", &error));
  g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_OUT_OF_MEMORY);
  g_assert_nonnull (strstr (error->message, "needs 3.50 GB"));
  g_assert_nonnull (strstr (error->message, "has 2.00 GB free"));
}

/* TEMPER_MEMORY_LIMIT below what a training step needs: the step is refused
 * before anything is copied, saying how much it needs; on Vulkan a buffer
 * beyond the limit is refused by the allocator too. */
static void
test_memory_limit (Fixture *f, gconstpointer data)
{
  g_autoptr(TemperDeviceInfo) info = NULL;
  TemperBackend *gpu;
  TemperTrainStep *step;
  TemperBuffer *buffer;
  g_autoptr(GError) error = NULL;
  g_autofree char *limit = NULL, *needs = NULL;
  guint64 need;

  gpu = open_gpu (&info);
  if (gpu == NULL)
    return;
  step = temper_train_step_new_on (f->model, gpu, info, f->adapter, 0.0f, f->micro_batch,
                                   f->seq, FALSE, &error);
  g_assert_no_error (error);
  need = temper_train_step_get_estimate (step);
  temper_train_step_free (step);
  g_clear_pointer (&info, temper_device_info_free);
  temper_backend_free (gpu);

  limit = g_strdup_printf ("%" G_GUINT64_FORMAT, need / 2);
  g_setenv ("TEMPER_MEMORY_LIMIT", limit, TRUE);
  gpu = open_gpu (&info);
  g_assert_nonnull (gpu);
  g_assert_cmpuint (info->memory_free, <=, need / 2);
  step = temper_train_step_new_on (f->model, gpu, info, f->adapter, 0.0f, f->micro_batch,
                                   f->seq, FALSE, &error);
  g_assert_null (step);
  g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_OUT_OF_MEMORY);
  g_test_message ("%s", error->message);
  needs = g_strdup_printf ("needs %.1f MB", (double) need / 1e6);
  g_assert_nonnull (strstr (error->message, needs));
  g_assert_nonnull (strstr (error->message, "TEMPER_MEMORY_LIMIT="));
  g_clear_error (&error);

  if (TEST_BACKEND == TEMPER_BACKEND_VULKAN)
    {
      buffer = temper_backend_buffer_alloc (gpu, need, TEMPER_BUFFER_ACTIVATIONS, &error);
      g_assert_null (buffer);
      g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_OUT_OF_MEMORY);
      g_test_message ("%s", error->message);
      g_assert_nonnull (strstr (error->message, "it needs"));
      g_assert_nonnull (strstr (error->message, "TEMPER_MEMORY_LIMIT allows"));
      g_clear_error (&error);
    }
  g_unsetenv ("TEMPER_MEMORY_LIMIT");
  temper_backend_free (gpu);
}

/* Trains (or resumes) the run in @dir on @kind, calling @progress after each
 * step (may be NULL); FALSE with @error when it fails.  @dropout is the LoRA
 * dropout of a new run (a resumed one keeps its own). */
static gboolean
train_run (const char *dir, const char *data, temper_model_t *model, TemperBackendKind kind,
           float dropout, TemperTrainProgressFunc progress, GError **error)
{
  g_autoptr(temper_run_t) run = NULL;
  TemperTrainOptions options;
  TemperTrainSettings s;

  temper_train_settings_init_default (&s);
  s.lora.targets = TEMPER_LORA_TARGETS_ALL_LINEAR;
  s.lora.rank = 4;
  s.lora.alpha = 8;
  s.lora.dropout = dropout;
  s.learning_rate = 5e-3;
  s.max_steps = 5;
  s.micro_batch = 2;
  s.grad_accum = 1;
  s.max_length = 48;
  s.val_fraction = 0;
  s.checkpoint_every = 1;
  s.seed = 7;
  temper_train_options_init (&options);
  options.n_threads = 1;
  options.backend = kind;
  options.progress = progress;
  run = g_file_test (dir, G_FILE_TEST_IS_DIR)
        ? temper_run_open (dir, error)
        : temper_run_create (dir, &s, temper_model_get_path (model), data, NULL, error);
  g_assert_nonnull (run);
  return temper_train_run (run, model, &options, error);
}

static GArray *
run_metrics (const char *dir)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(temper_run_t) run = temper_run_open (dir, &error);
  GArray *m;

  g_assert_no_error (error);
  m = temper_run_read_metrics (run, &error);
  g_assert_no_error (error);
  return m;
}

/* The GPU fails in the middle of a run: the error says so, the last
 * checkpoint stays, and the run continues on the CPU to the losses of a run
 * that was on the CPU all along.  With LoRA dropout, as the app's presets
 * have: the GPU draws the CPU's masks, and the resumed run the same ones. */
static void
test_resume_on_cpu (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *tmp = NULL, *dataset = NULL, *on_cpu = NULL, *moved = NULL;
  g_autoptr(GArray) want = NULL, got = NULL;
  TemperBackend *gpu = open_gpu (NULL);
  GString *text = g_string_new (NULL);

  if (gpu == NULL)
    {
      g_string_free (text, TRUE);
      return;
    }
  temper_backend_free (gpu);
  tmp = g_dir_make_tmp ("temper-resume-XXXXXX", &error);
  g_assert_no_error (error);
  for (int i = 0; i < 6; i++)
    g_string_append_printf (text, "{\"prompt\": \"Fact %d?\", \"response\": \"The Lumen kettle "
                            "boils water in %d seconds.\"}\n", i, 60 + 10 * i);
  dataset = g_build_filename (tmp, "facts.jsonl", NULL);
  g_assert_true (g_file_set_contents (dataset, text->str, -1, NULL));
  g_string_free (text, TRUE);

  on_cpu = g_build_filename (tmp, "cpu", NULL);
  g_assert_true (train_run (on_cpu, dataset, f->model, TEMPER_BACKEND_CPU, 0.1f, NULL, &error));
  g_assert_no_error (error);

  /* One pass per step (micro-batch 2, no accumulation, no evaluation): the
   * device fails in step 3. */
  moved = g_build_filename (tmp, "moved", NULL);
  temper_train_fit_simulate_device (0, 2);
  g_assert_false (train_run (moved, dataset, f->model, TEST_BACKEND, 0.1f, NULL, &error));
  temper_train_fit_simulate_device (0, 0);
  g_assert_error (error, TEMPER_ERROR, TEMPER_ERROR_DEVICE);
  g_clear_error (&error);
  {
    g_autoptr(temper_run_t) run = temper_run_open (moved, &error);
    g_autofree char *latest = temper_run_find_latest_checkpoint (run);

    g_assert_nonnull (latest);
    g_assert_true (g_str_has_suffix (latest, "step-00000002"));
  }
  g_assert_true (train_run (moved, dataset, f->model, TEMPER_BACKEND_CPU, 0.1f, NULL, &error));
  g_assert_no_error (error);

  want = run_metrics (on_cpu);
  got = run_metrics (moved);
  g_assert_cmpuint (want->len, ==, 5);
  g_assert_cmpuint (got->len, ==, want->len);
  for (guint i = 0; i < got->len; i++)
    {
      const TemperRunMetrics *a = &g_array_index (got, TemperRunMetrics, i);
      const TemperRunMetrics *b = &g_array_index (want, TemperRunMetrics, i);

      g_test_message ("step %" G_GINT64_FORMAT ": loss %.7f (%s), all on cpu %.7f", a->step,
                      a->loss, i < 2 ? temper_backend_kind_name (TEST_BACKEND) : "cpu", b->loss);
      g_assert_cmpint (a->step, ==, b->step);
      g_assert_cmpfloat (fabs (a->loss - b->loss), <=, 5e-4 * b->loss);
    }
  test_remove_tree (tmp);
}

/* From step 3 on, the device holds one sequence per pass. */
static void
shrink_device_after_two (const TemperTrainProgress *progress, gpointer user_data)
{
  if (progress->step == 2)
    temper_train_fit_simulate_device (1, 0);
}

/* The GPU runs out of memory in step 3: the step is rebuilt on the same GPU
 * for passes of one sequence, the adapter and AdamW moments carried over,
 * the retry logged, and the run keeps the CPU's losses. */
static void
test_smaller_passes (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *tmp = NULL, *dataset = NULL, *on_cpu = NULL, *on_gpu = NULL;
  g_autofree char *log_path = NULL, *log = NULL;
  g_autoptr(GArray) want = NULL, got = NULL;
  TemperBackend *gpu = open_gpu (NULL);
  GString *text = g_string_new (NULL);

  if (gpu == NULL)
    {
      g_string_free (text, TRUE);
      return;
    }
  temper_backend_free (gpu);
  tmp = g_dir_make_tmp ("temper-passes-XXXXXX", &error);
  g_assert_no_error (error);
  for (int i = 0; i < 6; i++)
    g_string_append_printf (text, "{\"prompt\": \"Count %d?\", \"response\": \"%d, then %d "
                            "and %d.\"}\n", i, i, i + 1, i + 2);
  dataset = g_build_filename (tmp, "count.jsonl", NULL);
  g_assert_true (g_file_set_contents (dataset, text->str, -1, NULL));
  g_string_free (text, TRUE);

  on_cpu = g_build_filename (tmp, "cpu", NULL);
  g_assert_true (train_run (on_cpu, dataset, f->model, TEMPER_BACKEND_CPU, 0.0f, NULL, &error));
  g_assert_no_error (error);
  on_gpu = g_build_filename (tmp, "gpu", NULL);
  g_assert_true (train_run (on_gpu, dataset, f->model, TEST_BACKEND, 0.0f,
                            shrink_device_after_two, &error));
  temper_train_fit_simulate_device (0, 0);
  g_assert_no_error (error);

  log_path = g_build_filename (on_gpu, "train.log", NULL);
  g_assert_true (g_file_get_contents (log_path, &log, NULL, NULL));
  g_test_message ("train.log: %s", log);
  g_assert_nonnull (strstr (log, "Retrying with 1 sequence per pass (2 passes per micro-batch of 2"));
  want = run_metrics (on_cpu);
  got = run_metrics (on_gpu);
  g_assert_cmpuint (got->len, ==, want->len);
  for (guint i = 0; i < got->len; i++)
    {
      const TemperRunMetrics *a = &g_array_index (got, TemperRunMetrics, i);
      const TemperRunMetrics *b = &g_array_index (want, TemperRunMetrics, i);

      g_test_message ("step %" G_GINT64_FORMAT ": loss %.7f (%s), cpu %.7f", a->step, a->loss,
                      i < 2 ? "whole micro-batches" : "passes of one sequence", b->loss);
      g_assert_cmpfloat (fabs (a->loss - b->loss), <=, 5e-4 * b->loss);
    }
  test_remove_tree (tmp);
}

/* Greedy tokens for one prompt on the demo model. */
static GArray *
greedy_tokens (temper_model_t *model, TemperBackendKind kind, const GArray *prompt, char **device)
{
  TemperGeneratorOptions opts = { 64, 2, TRUE };
  g_autoptr(GError) error = NULL;
  g_autoptr(temper_generator_t) gen = temper_generator_new_on (model, &opts, kind, -1, &error);
  TemperSamplingParams p;
  TemperGenerateResult r = { 0 };
  GArray *out;

  if (gen == NULL)
    {
      g_autofree char *msg = g_strdup_printf ("no %s device: %s", temper_backend_kind_name (kind),
                                              error->message);
      g_test_skip (msg);
      return NULL;
    }
  temper_sampling_params_init (&p);
  p.temperature = 0.0f;
  p.repeat_penalty = 1.0f;
  p.max_tokens = 8;
  g_assert_true (temper_generator_generate (gen, (const gint32 *) prompt->data, prompt->len, &p,
                                            NULL, NULL, NULL, &r, &error));
  g_assert_no_error (error);
  out = g_array_ref (r.tokens);
  *device = g_strdup (temper_generator_get_device (gen));
  temper_generate_result_clear (&r);
  return out;
}

static void
test_generate (void)
{
  g_autofree char *path = g_build_filename (g_getenv ("TEMPER_SOURCE_DIR"), "data", "models",
                                            "SmolLM2-135M-Instruct.Q4_1.gguf", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(temper_model_t) model = NULL;
  g_autoptr(GArray) prompt = NULL, on_gpu = NULL, on_cpu = NULL;
  g_autofree char *gpu_name = NULL, *cpu_name = NULL;

  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    {
      g_test_skip ("the demo model is not in data/models (run make demo)");
      return;
    }
  model = temper_model_load (path, NULL, &error);
  g_assert_no_error (error);
  /* A short prompt: a software Vulkan driver computes it slowly. */
  prompt = temper_tokenizer_encode (temper_model_get_tokenizer (model),
                                    "The capital of France is", -1, FALSE);
  on_gpu = greedy_tokens (model, TEST_BACKEND, prompt, &gpu_name);
  if (on_gpu == NULL)
    return;
  on_cpu = greedy_tokens (model, TEMPER_BACKEND_CPU, prompt, &cpu_name);
  g_test_message ("%s and %s: %u tokens", gpu_name, cpu_name, on_gpu->len);
  g_assert_cmpuint (on_cpu->len, ==, 8);
  g_assert_cmpuint (on_gpu->len, ==, on_cpu->len);
  g_assert_cmpmem (on_gpu->data, on_gpu->len * sizeof (gint32),
                   on_cpu->data, on_cpu->len * sizeof (gint32));
}

int
main (int argc, char **argv)
{
  g_autofree char *cache = g_dir_make_tmp ("temper-vk-train-cache-XXXXXX", NULL);
  int status;

  g_test_init (&argc, &argv, NULL);
  /* CI has only Mesa's software Vulkan driver. */
  g_setenv ("TEMPER_VULKAN_ALLOW_SOFTWARE", "1", TRUE);
  /* Training on the GPU runs its self-test first, which is remembered in
   * the cache folder: not the user's. */
  g_assert_nonnull (cache);
  g_setenv ("XDG_CACHE_HOME", cache, TRUE);
  g_test_add ("/gpu-train/step", Fixture, NULL, fixture_setup, test_step, fixture_teardown);
  g_test_add ("/gpu-train/curve", Fixture, NULL, fixture_setup, test_curve, fixture_teardown);
  g_test_add ("/gpu-train/step-dropout", Fixture, NULL, fixture_setup, test_step_dropout,
              fixture_teardown);
  g_test_add_func ("/gpu-train/memory-check", test_memory_check);
  g_test_add_func ("/gpu-train/step-untied", test_step_untied);
  g_test_add ("/gpu-train/plan-is-measured", Fixture, NULL, fixture_setup, test_plan_is_measured,
              fixture_teardown);
  g_test_add ("/gpu-train/step-nf4", Fixture, NULL, fixture_setup, test_step_nf4, fixture_teardown);
  {
    static const int low_bit[] = { TEMPER_TYPE_Q2_K, TEMPER_TYPE_Q3_K, TEMPER_TYPE_IQ4_NL,
                                   TEMPER_TYPE_IQ4_XS, TEMPER_TYPE_TQ2_0 };

    for (gsize i = 0; i < G_N_ELEMENTS (low_bit); i++)
      {
        g_autofree char *lower = g_ascii_strdown (temper_type_name (low_bit[i]), -1);
        g_autofree char *test_path = g_strdup_printf ("/gpu-train/step-%s", lower);

        g_test_add_data_func (test_path, GINT_TO_POINTER (low_bit[i]), test_step_low_bit);
      }
  }
  g_test_add ("/gpu-train/memory-limit", Fixture, NULL, fixture_setup, test_memory_limit,
              fixture_teardown);
  g_test_add ("/gpu-train/resume-on-cpu", Fixture, NULL, fixture_setup, test_resume_on_cpu,
              fixture_teardown);
  g_test_add ("/gpu-train/smaller-passes", Fixture, NULL, fixture_setup, test_smaller_passes,
              fixture_teardown);
  g_test_add_func ("/gpu-train/generate", test_generate);
  if (TEST_BACKEND == TEMPER_BACKEND_VULKAN)
    g_test_add ("/gpu-train/step-coopmat", Fixture, NULL, fixture_setup, test_step_coopmat,
                fixture_teardown);
  status = g_test_run ();
  test_remove_tree (cache);
  return status;
}
