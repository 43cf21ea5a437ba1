/* SPDX-License-Identifier: MIT */
/* test-train.c — the LoRA training step: finite-difference gradients of a
 * whole tiny model, recomputation, dropout, parity with Hugging Face PEFT
 * over 20 AdamW steps (tests/train/make-peft-fixtures.py) in exact mode,
 * LoRA's stacked products against each target's own, and fast mode
 * (bfloat16 frozen products) against exact mode. */
#include "config.h"

#include <math.h>
#include <string.h>

#include <json-glib/json-glib.h>

#include "temper/error.h"
#include "temper/model.h"
#include "temper/train.h"
#include "cpu/temper-cpu-backend.h"
#include "train/temper-train-step.h"

#include "peft-parity-fixture.h"

static int
count_targets (const gint32 *targets, int n)
{
  int c = 0;

  for (int i = 0; i < n; i++)
    c += targets[i] >= 0;
  return c;
}

/* Mean loss of batch @batch, with its gradient added when @backward. */
static double
run_batch (Fixture *f, TemperTrainStep *step, int batch, gboolean backward, TemperRng *rng)
{
  const gint32 *ids = f->ids + batch * f->micro_batch * f->seq;
  const gint32 *targets = f->targets + batch * f->micro_batch * f->seq;
  int count = count_targets (targets, f->micro_batch * f->seq);
  g_autoptr(GError) error = NULL;
  double sum = 0, n = 0;

  g_assert_true (temper_train_step_run (step, ids, targets, f->micro_batch, f->seq, backward,
                                        1.0f / (float) count, rng, &sum, &n, &error));
  g_assert_no_error (error);
  g_assert_cmpfloat (n, ==, count);
  return sum / n;
}

/* Central differences in double on the loss, against the backward pass,
 * for entries of every A and B of both layers. */
static void
check_gradients (Fixture *f, float dropout)
{
  const TemperModelConfig *c = temper_model_get_config (f->model);
  TemperBackend *backend = temper_cpu_backend_new (1, TEMPER_CPU_KERNELS_SCALAR);
  g_autoptr(GError) error = NULL;
  g_autoptr(TemperTrainStep) step = temper_train_step_new (f->model, backend, f->adapter, dropout,
                                                           f->micro_batch, f->seq, FALSE, &error);
  guint64 n = temper_lora_count_params (f->adapter, c);
  g_autofree float *grads = g_new (float, n);
  g_autofree float *params = g_new (float, n);
  double err_sum = 0, ref_sum = 0;
  int checked = 0;
  TemperRng rng0, rng;
  const float h = 1e-2f;

  g_assert_no_error (error);
  temper_rng_seed (&rng0, 77);
  rng = rng0;
  run_batch (f, step, 0, TRUE, &rng);
  g_assert_true (temper_train_step_get_grads (step, grads, NULL));
  temper_lora_gather (f->adapter, c, params);

  /* Every 97th parameter: lands in every matrix of the adapter. */
  for (guint64 i = 0; i < n; i += 97)
    {
      float saved = params[i];
      double up, down, fd;

      params[i] = saved + h;
      temper_lora_scatter (f->adapter, c, params);
      g_assert_true (temper_train_step_upload_adapter (step, NULL));
      rng = rng0;
      up = run_batch (f, step, 0, TRUE, &rng);
      params[i] = saved - h;
      temper_lora_scatter (f->adapter, c, params);
      g_assert_true (temper_train_step_upload_adapter (step, NULL));
      rng = rng0;
      down = run_batch (f, step, 0, TRUE, &rng);
      params[i] = saved;
      fd = (up - down) / (2.0 * h);
      err_sum += fabs (fd - grads[i]);
      ref_sum += fabs (fd);
      /* Each entry: agreement to float noise or a few percent. */
      g_assert_cmpfloat (fabs (fd - grads[i]), <=, 0.05 * fabs (fd) + 2e-4);
      checked++;
    }
  temper_lora_scatter (f->adapter, c, params);
  g_test_message ("%d gradients checked, normalized error %.2e", checked, err_sum / ref_sum);
  g_assert_cmpint (checked, >, 40);
  g_assert_cmpfloat (ref_sum / checked, >, 1e-3);   /* the gradients are not all ~0 */
  g_assert_cmpfloat (err_sum / ref_sum, <, 1e-2);
  temper_train_step_free (g_steal_pointer (&step));
  temper_backend_free (backend);
}

static void
test_gradients (Fixture *f, gconstpointer data)
{
  check_gradients (f, 0.0f);
}

static void
test_gradients_dropout (Fixture *f, gconstpointer data)
{
  check_gradients (f, 0.3f);
}

/* Recomputing activations gives the same gradients as keeping them, with
 * the dropout @data says (the recompute pass keeps LoRA's h from the
 * forward and drops out its input again for dA). */
static void
test_recompute (Fixture *f, gconstpointer data)
{
  const TemperModelConfig *c = temper_model_get_config (f->model);
  float dropout = GPOINTER_TO_INT (data) / 100.0f;
  TemperBackend *b1 = temper_cpu_backend_new (1, TEMPER_CPU_KERNELS_SCALAR);
  TemperBackend *b2 = temper_cpu_backend_new (1, TEMPER_CPU_KERNELS_SCALAR);
  TemperTrainStep *kept = temper_train_step_new (f->model, b1, f->adapter, dropout, f->micro_batch, f->seq, FALSE, NULL);
  TemperTrainStep *recomputed = temper_train_step_new (f->model, b2, f->adapter, dropout, f->micro_batch, f->seq, TRUE, NULL);
  TemperRng rng1, rng2;
  guint64 n = temper_lora_count_params (f->adapter, c);
  g_autofree float *g1 = g_new (float, n);
  g_autofree float *g2 = g_new (float, n);
  double l1, l2;

  g_assert_nonnull (kept);
  g_assert_nonnull (recomputed);
  g_assert_cmpuint (temper_train_step_get_memory (recomputed), <, temper_train_step_get_memory (kept));
  temper_rng_seed (&rng1, 5);
  rng2 = rng1;
  l1 = run_batch (f, kept, 1, TRUE, &rng1);
  l2 = run_batch (f, recomputed, 1, TRUE, &rng2);
  g_assert_cmpfloat (l1, ==, l2);
  g_assert_true (temper_train_step_get_grads (kept, g1, NULL));
  g_assert_true (temper_train_step_get_grads (recomputed, g2, NULL));
  g_assert_cmpmem (g1, n * 4, g2, n * 4);
  temper_train_step_free (kept);
  temper_train_step_free (recomputed);
  temper_backend_free (b1);
  temper_backend_free (b2);
}

/* One forward and backward of @n_seq sequences of the first @len tokens of
 * the fixture's rows, with LoRA's A products stacked or each target alone;
 * the loss goes to *@loss and the gradients to @grads. */
static void
run_stacked (Fixture *f, gboolean stack, int n_seq, int len, double *loss, float *grads)
{
  TemperBackend *backend = temper_cpu_backend_new (2, TEMPER_CPU_KERNELS_BEST);
  g_autoptr(GError) error = NULL;
  TemperTrainStep *step = temper_train_step_new (f->model, backend, f->adapter, 0.0f, f->micro_batch,
                                                 f->seq, FALSE, &error);
  g_autofree gint32 *ids = g_new (gint32, n_seq * len);
  g_autofree gint32 *targets = g_new (gint32, n_seq * len);
  double sum = 0, n = 0;

  g_assert_no_error (error);
  temper_train_step_set_stack_lora (step, stack);
  for (int q = 0; q < n_seq; q++)
    {
      memcpy (ids + q * len, f->ids + q * f->seq, sizeof (gint32) * len);
      memcpy (targets + q * len, f->targets + q * f->seq, sizeof (gint32) * len);
    }
  g_assert_true (temper_train_step_run (step, ids, targets, n_seq, len, TRUE, 1.0f, NULL, &sum, &n, &error));
  g_assert_no_error (error);
  *loss = sum;
  g_assert_true (temper_train_step_get_grads (step, grads, &error));
  temper_train_step_free (step);
  temper_backend_free (backend);
}

/* LoRA's A products stacked for the targets that read one input (Q/K/V,
 * gate/up: one product x·[Aq;Ak;Av]ᵀ, one dA and one dx product per group)
 * give what each target alone gives, up to the order of float sums: for a
 * whole micro-batch and for a call of fewer, shorter sequences (where each
 * target's hidden values lie within its group's block differently). */
static void
test_lora_stacked (Fixture *f, gconstpointer data)
{
  const TemperModelConfig *c = temper_model_get_config (f->model);
  guint64 n = temper_lora_count_params (f->adapter, c);
  g_autofree float *g1 = g_new (float, n);
  g_autofree float *g2 = g_new (float, n);
  static const int calls[][2] = { { 0, 0 }, { 1, 5 } };

  g_assert_cmpint (f->seq, >, 5);
  for (guint i = 0; i < G_N_ELEMENTS (calls); i++)
    {
      int n_seq = calls[i][0] ? calls[i][0] : f->micro_batch, len = calls[i][1] ? calls[i][1] : f->seq;
      double l1, l2, scale = 0, worst = 0;

      run_stacked (f, TRUE, n_seq, len, &l1, g1);
      run_stacked (f, FALSE, n_seq, len, &l2, g2);
      for (guint64 k = 0; k < n; k++)
        scale = MAX (scale, fabs (g2[k]));
      for (guint64 k = 0; k < n; k++)
        worst = MAX (worst, fabs (g1[k] - g2[k]));
      g_test_message ("%d × %d tokens: loss %.9g / %.9g, largest gradient difference %.2e of %.2e",
                      n_seq, len, l1, l2, worst, scale);
      g_assert_cmpfloat (scale, >, 0.0);
      g_assert_cmpfloat (fabs (l1 - l2), <=, 1e-6 * fabs (l2));
      g_assert_cmpfloat (worst, <=, 1e-5 * scale);
    }
}

/* 20 AdamW steps, losses against PEFT's within 1e-4 relative. */
static void
test_peft_parity (Fixture *f, gconstpointer data)
{
  JsonObject *settings = json_object_get_object_member (f->fixture, "settings");
  JsonArray *losses = json_object_get_array_member (f->fixture, "losses");
  JsonArray *norms = json_object_get_array_member (f->fixture, "grad_norms");
  TemperBackend *backend = temper_cpu_backend_new (1, TEMPER_CPU_KERNELS_BEST);
  g_autoptr(GError) error = NULL;
  TemperTrainStep *step = temper_train_step_new (f->model, backend, f->adapter, 0.0f,
                                                 f->micro_batch, f->seq, FALSE, &error);
  int n_batches = f->n_rows / f->micro_batch;
  TemperAdamWParams p = { 0 };
  g_autofree double *temper_losses = g_new0 (double, json_array_get_length (losses));
  double worst = 0, temper_fall, peft_fall;

  g_assert_no_error (error);
  p.lr = (float) json_object_get_double_member (settings, "learning_rate");
  p.beta1 = (float) json_object_get_double_member (settings, "beta1");
  p.beta2 = (float) json_object_get_double_member (settings, "beta2");
  p.eps = (float) json_object_get_double_member (settings, "eps");
  p.weight_decay = (float) json_object_get_double_member (settings, "weight_decay");
  p.max_grad_norm = (float) json_object_get_double_member (settings, "max_grad_norm");

  for (guint i = 0; i < json_array_get_length (losses); i++)
    {
      double expected = json_array_get_double_element (losses, i);
      double loss = run_batch (f, step, (int) i % n_batches, TRUE, NULL);
      double norm;

      temper_losses[i] = loss;
      g_assert_true (temper_train_step_grad_norm (step, &norm, &error));
      g_test_message ("step %u: loss %.7f (PEFT %.7f), grad norm %.6f (PEFT %.6f)", i + 1, loss,
                      expected, norm, json_array_get_double_element (norms, i));
      worst = MAX (worst, fabs (loss - expected) / expected);
      g_assert_cmpfloat (fabs (loss - expected), <=, 1e-4 * expected);
      g_assert_cmpfloat (fabs (norm - json_array_get_double_element (norms, i)), <=,
                         1e-3 * json_array_get_double_element (norms, i));
      p.step = i + 1;
      g_assert_true (temper_train_step_optimize (step, &p, &error));
    }
  g_test_message ("largest relative loss difference from PEFT: %.2e", worst);
  /* Temper's adapter did move, and as far as PEFT's: its loss on the second
   * batch fell by step 20 by the same amount as PEFT's did (1 %), not only
   * step by step within the tolerance above. */
  temper_fall = temper_losses[1] - temper_losses[19];
  peft_fall = json_array_get_double_element (losses, 1) - json_array_get_double_element (losses, 19);
  g_test_message ("loss fell by %.6f (PEFT %.6f) from step 2 to step 20", temper_fall, peft_fall);
  g_assert_cmpfloat (peft_fall, >, 0.0);
  g_assert_cmpfloat (fabs (temper_fall - peft_fall), <=, 0.01 * peft_fall);
  temper_train_step_free (step);
  temper_backend_free (backend);
}

/* The losses of 20 AdamW steps with the fixture's settings from a fresh copy
 * of its adapter, on the CPU with @kernels; what the backend calls itself
 * goes to *@name (free it). */
static void
run_steps (Fixture *f, TemperCpuKernelChoice kernels, double *losses, int n_steps, char **name)
{
  JsonObject *settings = json_object_get_object_member (f->fixture, "settings");
  g_autofree char *adapter_dir = fixture_path ("tiny-llama-adapter");
  g_autoptr(GError) error = NULL;
  temper_adapter_t *adapter = temper_lora_load_peft (adapter_dir, temper_model_get_config (f->model),
                                                     NULL, &error);
  TemperBackend *backend = temper_cpu_backend_new (1, kernels);
  TemperTrainStep *step;
  int n_batches = f->n_rows / f->micro_batch;
  TemperAdamWParams p = { 0 };

  g_assert_no_error (error);
  step = temper_train_step_new (f->model, backend, adapter, 0.0f, f->micro_batch, f->seq, FALSE, &error);
  g_assert_no_error (error);
  *name = g_strdup (temper_cpu_backend_get_kernels_name (backend));
  p.lr = (float) json_object_get_double_member (settings, "learning_rate");
  p.beta1 = (float) json_object_get_double_member (settings, "beta1");
  p.beta2 = (float) json_object_get_double_member (settings, "beta2");
  p.eps = (float) json_object_get_double_member (settings, "eps");
  p.weight_decay = (float) json_object_get_double_member (settings, "weight_decay");
  p.max_grad_norm = (float) json_object_get_double_member (settings, "max_grad_norm");
  for (int i = 0; i < n_steps; i++)
    {
      losses[i] = run_batch (f, step, i % n_batches, TRUE, NULL);
      p.step = i + 1;
      g_assert_true (temper_train_step_optimize (step, &p, &error));
    }
  temper_train_step_free (step);
  temper_backend_free (backend);
  temper_adapter_free (adapter);
}

/* Fast mode (the frozen products in bfloat16, AMX or AVX512-BF16 as
 * @data says) against exact mode, which test_peft_parity holds to PEFT:
 * each step's loss within 1e-3 relative (bfloat16 keeps 8 bits: a product
 * moves by up to 4e-3 of |x|·|W|, but the errors are independent and the
 * loss averages them: 3e-5 measured), and the loss falls from step 2 to
 * step 20 by the same amount within 2 % (0.07 % measured). */
static void
test_fast_mode (Fixture *f, gconstpointer data)
{
  TemperCpuKernelChoice kernels = GPOINTER_TO_INT (data);
  double fast[20], exact[20], worst = 0, moved = 0, fast_fall, exact_fall;
  g_autofree char *fast_name = NULL, *exact_name = NULL;

  run_steps (f, kernels, fast, 20, &fast_name);
  if (strstr (fast_name, "frozen products") == NULL ||
      (kernels == TEMPER_CPU_KERNELS_FAST_TRAIN && strstr (fast_name, "AMX") == NULL))
    {
      g_test_skip_printf ("no bfloat16 kernel of this kind here (%s)", fast_name);
      return;
    }
  run_steps (f, TEMPER_CPU_KERNELS_BEST, exact, 20, &exact_name);
  for (int i = 0; i < 20; i++)
    {
      g_test_message ("step %d: fast %.7f, exact %.7f", i + 1, fast[i], exact[i]);
      worst = MAX (worst, fabs (fast[i] - exact[i]) / exact[i]);
      moved = MAX (moved, fabs (fast[i] - exact[i]));
      g_assert_cmpfloat (fabs (fast[i] - exact[i]), <=, 1e-3 * exact[i]);
    }
  fast_fall = fast[1] - fast[19];
  exact_fall = exact[1] - exact[19];
  g_test_message ("%s: largest relative loss difference %.2e; fall %.6f (exact %.6f)", fast_name,
                  worst, fast_fall, exact_fall);
  /* The fast kernels did run: bfloat16 moved the losses. */
  g_assert_cmpfloat (moved, >, 0.0);
  g_assert_cmpfloat (exact_fall, >, 0.0);
  g_assert_cmpfloat (fabs (fast_fall - exact_fall), <=, 0.02 * exact_fall);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/train/gradients", Fixture, NULL, fixture_setup, test_gradients, fixture_teardown);
  g_test_add ("/train/gradients-dropout", Fixture, NULL, fixture_setup, test_gradients_dropout, fixture_teardown);
  g_test_add ("/train/recompute", Fixture, NULL, fixture_setup, test_recompute, fixture_teardown);
  g_test_add ("/train/recompute-dropout", Fixture, GINT_TO_POINTER (30), fixture_setup, test_recompute,
              fixture_teardown);
  g_test_add ("/train/peft-parity", Fixture, NULL, fixture_setup, test_peft_parity, fixture_teardown);
  g_test_add ("/train/lora-stacked", Fixture, NULL, fixture_setup, test_lora_stacked, fixture_teardown);
  g_test_add ("/train/fast-mode/amx", Fixture, GINT_TO_POINTER (TEMPER_CPU_KERNELS_FAST_TRAIN),
              fixture_setup, test_fast_mode, fixture_teardown);
  g_test_add ("/train/fast-mode/avx512-bf16", Fixture,
              GINT_TO_POINTER (TEMPER_CPU_KERNELS_FAST_TRAIN_AVX512_BF16),
              fixture_setup, test_fast_mode, fixture_teardown);
  return g_test_run ();
}
