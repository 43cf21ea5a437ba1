/* SPDX-License-Identifier: MIT */
/* temper-train-bench.c — timing training steps on synthetic data. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <string.h>

#include "temper/error.h"
#include "temper/train.h"
#include "temper/train-figures.h"
#include "temper-backend-open.h"
#include "temper-train-step.h"

static guint64
peak_rss (void)
{
  g_autofree char *status = NULL;
  const char *line;

  if (!g_file_get_contents ("/proc/self/status", &status, NULL, NULL))
    return 0;
  line = strstr (status, "VmHWM:");
  return line != NULL ? g_ascii_strtoull (line + 6, NULL, 10) * 1024 : 0;
}

gboolean
temper_train_bench (const temper_model_t *model, const TemperTrainSettings *settings,
                    int n_steps, const TemperTrainOptions *options,
                    TemperTrainBenchResult *result, GError **error)
{
  return temper_train_bench_profiled (model, settings, n_steps, options, result, NULL, error);
}

gboolean
temper_train_bench_profiled (const temper_model_t *model, const TemperTrainSettings *settings,
                             int n_steps, const TemperTrainOptions *options,
                             TemperTrainBenchResult *result, TemperOpProfile *profile,
                             GError **error)
{
  const TemperModelConfig *c = temper_model_get_config (model);
  int B = settings->micro_batch, T = settings->max_length;
  g_autoptr(temper_adapter_t) adapter = NULL;
  g_autoptr(TemperTrainStep) step = NULL;
  g_autofree gint32 *ids = g_new (gint32, (gsize) B * T);
  g_autofree gint32 *targets = g_new (gint32, (gsize) B * T);
  TemperBackend *backend;
  TemperBackendOpenOptions open_options = { 0, TEMPER_CPU_KERNELS_BEST };
  g_autoptr(TemperDeviceInfo) device = NULL;
  g_autofree char *device_name = NULL;
  TemperAdamWParams p = { 0 };
  TemperRng rng;
  gint64 start = 0;
  gboolean ok = TRUE;

  g_return_val_if_fail (n_steps >= 0, FALSE);
  if (profile != NULL)
    memset (profile, 0, sizeof *profile);

  adapter = temper_lora_adapter_new (c, &settings->lora, settings->seed, error);
  if (adapter == NULL)
    return FALSE;
  temper_rng_seed (&rng, settings->seed);
  for (int i = 0; i < B * T; i++)
    ids[i] = (gint32) temper_rng_below (&rng, (guint64) c->n_vocab);
  for (int i = 0; i < B * T; i++)
    targets[i] = (i + 1) % T != 0 ? ids[i + 1] : -1;

  if (options != NULL)
    open_options.n_threads = options->n_threads;
  open_options.cpu_kernels = settings->exact ? TEMPER_CPU_KERNELS_BEST : TEMPER_CPU_KERNELS_FAST_TRAIN;
  backend = temper_backend_open (options != NULL ? options->backend : TEMPER_BACKEND_CPU,
                                 options != NULL ? options->device : -1,
                                 &open_options, &device, error);
  if (backend == NULL)
    return FALSE;
  device_name = temper_backend_describe (backend, device);
  step = temper_train_step_new_on (model, backend, device, adapter, settings->lora.dropout, B, T,
                                   settings->recompute, error);
  if (step == NULL)
    {
      temper_backend_free (backend);
      return FALSE;
    }
  if (profile != NULL && backend->kind != TEMPER_BACKEND_CPU)
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_UNSUPPORTED,
                   _("A profile by kind of operation can only be taken on the CPU backend."));
      temper_train_step_free (g_steal_pointer (&step));
      temper_backend_free (backend);
      return FALSE;
    }
  p.lr = (float) settings->learning_rate;
  p.beta1 = (float) settings->beta1;
  p.beta2 = (float) settings->beta2;
  p.eps = (float) settings->eps;
  p.weight_decay = (float) settings->weight_decay;
  p.max_grad_norm = (float) settings->max_grad_norm;

  /* No steps: the step's buffers are allocated, which is all a memory plan
   * needs. */
  for (int s = 0; ok && n_steps > 0 && s <= n_steps; s++)
    {
      double loss, count, norm;

      if (s == 1)
        {
          /* The warm-up step is neither timed nor profiled. */
          if (profile != NULL)
            temper_cpu_backend_set_profile (backend, profile);
          start = g_get_monotonic_time ();
        }
      p.step = s + 1;
      ok = temper_train_step_run (step, ids, targets, B, T, TRUE, 1.0f / (float) (B * (T - 1)),
                                  &rng, &loss, &count, error) &&
           temper_train_step_grad_norm (step, &norm, error) &&
           temper_train_step_optimize (step, &p, error);
    }
  if (ok)
    {
      double seconds = (double) (g_get_monotonic_time () - start) / 1e6;

      if (profile != NULL)
        {
          temper_cpu_backend_set_profile (backend, NULL);
          result->gemm_gflops = temper_cpu_backend_measure_gemm_gflops (backend, 1.0);
        }
      result->seconds_per_step = n_steps > 0 ? seconds / n_steps : 0;
      result->tokens_per_s = n_steps > 0 ? (double) B * T * n_steps / seconds : 0;
      result->peak_rss_bytes = peak_rss ();
      result->train_memory_bytes = temper_train_step_get_memory (step);
      result->peak_device_bytes = temper_backend_get_peak_memory (backend);
      result->n_params = temper_train_step_get_n_params (step);
      /* Model FLOPs: the MFU counts what the model needs, not what
       * recomputing activations adds. */
      result->flops_per_token = temper_train_flops_per_token (c, result->n_params, T, FALSE);
      result->peak_tflops = device != NULL && device->backend != TEMPER_BACKEND_CPU
                            ? temper_device_peak_tflops (device->name) : 0;
      g_strlcpy (result->device, device_name, sizeof result->device);
    }
  temper_train_step_free (g_steal_pointer (&step));
  temper_backend_free (backend);
  return ok;
}
