/* SPDX-License-Identifier: MIT */
/* temper-train-estimate.c — see temper/train-estimate.h. */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>

#include <errno.h>
#include <string.h>

#include "temper/error.h"
#include "temper/fs.h"
#include "temper/machine.h"
#include "temper/train-estimate.h"
#include "temper/train-figures.h"

/* Query-key pairs of causal attention over @n_tokens tokens, each query
 * seeing itself and the keys before it, or the last @window of them. */
static double
causal_pairs (double n_tokens, int window)
{
  double full = n_tokens * (n_tokens + 1) / 2;

  if (window <= 0 || n_tokens <= window)
    return full;
  /* The first @window queries see 1 … window keys, the rest window each. */
  return (double) window * (window + 1) / 2 + (n_tokens - window) * window;
}

void
temper_train_step_work (const TemperModelConfig *config,
                        const TemperLoraConfig  *lora,
                        int                      n_seq,
                        double                   n_tokens,
                        gboolean                 recompute,
                        TemperStepWork          *work)
{
  double q, kv, ffn, frozen_per_token, tokens, pairs = 0, last_pairs = 0, adapter;
  double skipped_frozen = 0, adapter_b = 0;
  /* Layers the recompute pass runs again: all but the last, whose
   * activations are still in place when its backward starts. */
  double again = recompute ? MAX (config->n_layer - 1, 0) : 0;

  g_return_if_fail (config != NULL && lora != NULL && work != NULL);
  memset (work, 0, sizeof *work);

  q = (double) config->n_head * config->head_dim;
  kv = (double) config->n_head_kv * config->head_dim;
  ffn = config->n_expert > 0 ? (double) config->n_expert_used * config->n_ff_expert : config->n_ff;
  frozen_per_token = config->n_layer * (config->n_embd * (q + 2 * kv) + q * config->n_embd +
                                        3.0 * config->n_embd * ffn);
  tokens = n_seq * n_tokens;
  adapter = (double) temper_lora_config_count_params (config, lora);
  for (int l = 0; l < config->n_layer; l++)
    {
      last_pairs = causal_pairs (n_tokens, temper_model_config_layer_is_local (config, l)
                                           ? config->sliding_window : 0);
      pairs += last_pairs;
    }

  /* A projection of k inputs and n outputs is 2·k·n FLOPs per token each
   * way: forward (again when recomputed) and the input gradient.  The
   * recomputed forward skips the down projection, whose output the
   * backward never reads (families with post norms still form it).  Of
   * the adapters it forms only h·B (h is kept: r values a token), the
   * down projection's not at all where its output is skipped. */
  if (!config->post_norms)
    skipped_frozen = config->n_embd * ffn;
  for (int t = 0; t < TEMPER_LORA_N_TARGETS; t++)
    {
      guint targets = lora->targets;
      int in, out;

      /* A mixture of experts trains its attention only. */
      if (config->n_expert > 0)
        targets &= TEMPER_LORA_TARGET_BIT (TEMPER_LORA_Q) | TEMPER_LORA_TARGET_BIT (TEMPER_LORA_K) |
                   TEMPER_LORA_TARGET_BIT (TEMPER_LORA_V) | TEMPER_LORA_TARGET_BIT (TEMPER_LORA_O);
      if (!(targets & TEMPER_LORA_TARGET_BIT (t)) || (t == TEMPER_LORA_DOWN && !config->post_norms))
        continue;
      temper_lora_target_dims (config, t, &in, &out);
      adapter_b += (double) lora->rank * out;
    }
  work->amount[TEMPER_OP_KIND_FROZEN_FORWARD] =
    (frozen_per_token + again * (frozen_per_token / MAX (config->n_layer, 1) - skipped_frozen)) * 2 * tokens;
  work->amount[TEMPER_OP_KIND_FROZEN_INPUT_GRAD] = 2 * frozen_per_token * tokens;
  /* An adapter's x·A·B is 2 FLOPs per parameter and token; its backward
   * (both weights' gradients and the input's) twice that. */
  work->amount[TEMPER_OP_KIND_LORA] = (6 * adapter + again * 2 * adapter_b) * tokens;
  /* Q·Kᵀ and P·V: 2 products × 2 FLOPs per pair, head dimension and head;
   * the backward pass twice the forward's. */
  work->amount[TEMPER_OP_KIND_ATTENTION_FORWARD] =
    4 * q * n_seq * (pairs + (recompute && config->n_layer > 0 ? pairs - last_pairs : 0));
  work->amount[TEMPER_OP_KIND_ATTENTION_BACKWARD] = 8 * q * n_seq * pairs;
  /* The logits and their input gradient for every token that has a next
   * one to predict. */
  work->amount[TEMPER_OP_KIND_CROSS_ENTROPY] = 4.0 * n_seq * MAX (n_tokens - 1, 0) *
                                               config->n_embd * (double) config->n_vocab;
  /* Norms, RoPE, the gated activation, residual adds: a few passes over
   * each layer's hidden and feed-forward values, forward and backward; a
   * recomputed forward adds about a third. */
  work->amount[TEMPER_OP_KIND_ELEMENTWISE] = tokens * (config->n_layer + again / 3.0) *
                                             (config->n_embd + ffn);
  work->amount[TEMPER_OP_KIND_OPTIMIZER] = adapter;
}

gboolean
temper_op_rates_from_profile (const TemperOpProfile *profile,
                              const TemperStepWork  *work,
                              int                    n_steps,
                              double                 wall_seconds,
                              TemperOpRates         *rates)
{
  double inside = temper_op_profile_total (profile);
  double wait = profile->seconds[TEMPER_OP_KIND_POOL_WAIT];

  g_return_val_if_fail (n_steps > 0, FALSE);
  memset (rates, 0, sizeof *rates);
  for (int k = 0; k < TEMPER_OP_KIND_COUNT; k++)
    {
      if (k == TEMPER_OP_KIND_POOL_WAIT || work->amount[k] == 0)
        continue;
      if (profile->seconds[k] <= 0)
        return FALSE;
      rates->per_second[k] = work->amount[k] * n_steps / profile->seconds[k];
    }
  if (inside - wait <= 0)
    return FALSE;
  rates->wait_share = wait / (inside - wait);
  rates->outside_share = MAX (wall_seconds - inside, 0) / inside;
  return TRUE;
}

void
temper_train_estimate_time (const TemperModelConfig   *config,
                            const TemperTrainSettings *settings,
                            double                     tokens_per_record,
                            gint64                     n_steps,
                            const TemperOpRates       *rates,
                            TemperTimeEstimate        *estimate)
{
  TemperStepWork work;
  double ops = 0, wait;

  g_return_if_fail (config != NULL && settings != NULL && rates != NULL && estimate != NULL);
  memset (estimate, 0, sizeof *estimate);
  temper_train_step_work (config, &settings->lora, settings->micro_batch,
                          MIN (tokens_per_record, (double) settings->max_length),
                          settings->recompute, &work);
  for (int k = 0; k < TEMPER_OP_KIND_COUNT; k++)
    {
      /* Each micro-batch of the accumulation runs every kind but the
       * optimizer, which runs once per step. */
      double repeats = k == TEMPER_OP_KIND_OPTIMIZER ? 1 : MAX (settings->grad_accum, 1);

      if (k == TEMPER_OP_KIND_POOL_WAIT || rates->per_second[k] <= 0)
        continue;
      estimate->seconds[k] = repeats * work.amount[k] / rates->per_second[k];
      ops += estimate->seconds[k];
    }
  wait = rates->wait_share * ops;
  estimate->seconds[TEMPER_OP_KIND_POOL_WAIT] = wait;
  estimate->outside_seconds = rates->outside_share * (ops + wait);
  estimate->seconds_per_step = ops + wait + estimate->outside_seconds;
  estimate->total_seconds = estimate->seconds_per_step * (double) MAX (n_steps, 0);
}

gint64
temper_train_count_steps (const TemperTrainSettings *settings,
                          guint64                    n_train)
{
  guint64 per_step;

  g_return_val_if_fail (settings != NULL, 0);
  if (settings->max_steps > 0)
    return settings->max_steps;
  per_step = (guint64) MAX (settings->micro_batch, 1) * (guint64) MAX (settings->grad_accum, 1);
  /* The base model's general answers (replay) are trained on with them. */
  n_train += (guint64) MAX (settings->replay_records, 0);
  return (gint64) ((n_train + per_step - 1) / per_step) * settings->epochs;
}

/* The cache: one key file, a group per processor, thread count, weight
 * type, products (fp32 or bfloat16) and Temper version, each kind's rate
 * under its name.  Losing it costs one measurement.  The products are in
 * the group because bfloat16's frozen products run about twice as fast
 * (and fast mode's forward changed from fp32 to split bfloat16 operands,
 * its lm_head from slices of the vocabulary to one pass over panels:
 * rates measured before that are not this build's). */
static GMutex cache_lock;

static char *
cache_path (void)
{
  return g_build_filename (g_get_user_cache_dir (), "temper", "op-rates.ini", NULL);
}

static char *
group_name (const temper_model_t *model, int n_threads, gboolean exact)
{
  g_autofree char *cpu = temper_machine_cpu_name ();
  const char *type = temper_model_get_quantization (model);

  if (n_threads <= 0)
    n_threads = (int) g_get_num_processors ();
  return g_strdup_printf ("%s|%d threads|%s|%s|%s|Temper %s", cpu, n_threads,
                          type != NULL ? type : "unknown",
                          temper_base_weights_name (temper_model_get_base_weights (model)),
                          exact ? "fp32 products" : "bf16 products, split forward, one-pass lm_head",
                          PACKAGE_VERSION);
}

/* Key names: the kinds' names without spaces or slashes. */
static char *
kind_key (int kind)
{
  char *key = g_strdup (temper_op_kind_name (kind));

  g_strdelimit (key, " /+-", '_');
  return key;
}

gboolean
temper_op_rates_lookup (const temper_model_t *model,
                        int                   n_threads,
                        gboolean              exact,
                        TemperOpRates        *rates)
{
  g_autoptr(GKeyFile) file = g_key_file_new ();
  g_autofree char *path = cache_path ();
  g_autofree char *group = group_name (model, n_threads, exact);
  gboolean loaded;

  memset (rates, 0, sizeof *rates);
  g_mutex_lock (&cache_lock);
  loaded = g_key_file_load_from_file (file, path, G_KEY_FILE_NONE, NULL);
  g_mutex_unlock (&cache_lock);
  if (!loaded || !g_key_file_has_group (file, group))
    return FALSE;
  for (int k = 0; k < TEMPER_OP_KIND_COUNT; k++)
    {
      g_autofree char *key = kind_key (k);

      if (k != TEMPER_OP_KIND_POOL_WAIT)
        rates->per_second[k] = g_key_file_get_double (file, group, key, NULL);
      /* A damaged entry is no entry. */
      if (k != TEMPER_OP_KIND_POOL_WAIT && !(rates->per_second[k] > 0))
        return FALSE;
    }
  rates->wait_share = MAX (g_key_file_get_double (file, group, "pool_wait_share", NULL), 0);
  rates->outside_share = MAX (g_key_file_get_double (file, group, "outside_share", NULL), 0);
  rates->gemm_gflops = g_key_file_get_double (file, group, "gemm_gflops", NULL);
  return TRUE;
}

static void
rates_store (const temper_model_t *model, int n_threads, gboolean exact, const TemperOpRates *rates)
{
  g_autoptr(GKeyFile) file = g_key_file_new ();
  g_autofree char *path = cache_path ();
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *group = group_name (model, n_threads, exact);
  g_autofree char *contents = NULL;
  g_autoptr(GError) error = NULL;
  gsize length = 0;

  g_mutex_lock (&cache_lock);
  g_key_file_load_from_file (file, path, G_KEY_FILE_KEEP_COMMENTS, NULL);
  g_key_file_remove_group (file, group, NULL);
  for (int k = 0; k < TEMPER_OP_KIND_COUNT; k++)
    if (k != TEMPER_OP_KIND_POOL_WAIT)
      {
        g_autofree char *key = kind_key (k);

        g_key_file_set_double (file, group, key, rates->per_second[k]);
      }
  g_key_file_set_double (file, group, "pool_wait_share", rates->wait_share);
  g_key_file_set_double (file, group, "outside_share", rates->outside_share);
  g_key_file_set_double (file, group, "gemm_gflops", rates->gemm_gflops);
  /* Not remembering is harmless: the rates are measured again next time. */
  contents = g_key_file_to_data (file, &length, NULL);
  if (g_mkdir_with_parents (dir, 0700) != 0 || !temper_fs_write_file (path, contents, (gssize) length, &error))
    g_debug ("Could not keep the measured speeds in %s: %s", path,
             error != NULL ? error->message : g_strerror (errno));
  g_mutex_unlock (&cache_lock);
}

gboolean
temper_op_rates_measure (const temper_model_t *model,
                         int                   n_threads,
                         gboolean              exact,
                         TemperOpRates        *rates,
                         GError              **error)
{
  const int n_steps = 2;
  TemperTrainSettings s;
  TemperTrainOptions options;
  TemperTrainBenchResult result = { 0 };
  TemperOpProfile profile;
  TemperStepWork work;

  temper_train_settings_init_default (&s);
  s.lora.rank = 16;
  s.lora.alpha = 32;
  s.lora.dropout = 0.0f;
  s.lora.targets = TEMPER_LORA_TARGETS_ALL_LINEAR;
  s.micro_batch = 2;
  s.max_length = 128;
  s.recompute = FALSE;
  s.exact = exact;
  temper_train_options_init (&options);
  options.backend = TEMPER_BACKEND_CPU;
  options.n_threads = n_threads;
  if (!temper_train_bench_profiled (model, &s, n_steps, &options, &result, &profile, error))
    return FALSE;
  temper_train_step_work (temper_model_get_config (model), &s.lora, s.micro_batch, s.max_length,
                          FALSE, &work);
  if (!temper_op_rates_from_profile (&profile, &work, n_steps, result.seconds_per_step * n_steps,
                                     rates))
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_FAILED,
                   _("The speed of this processor could not be measured: the timer saw no time pass."));
      return FALSE;
    }
  rates->gemm_gflops = result.gemm_gflops;
  rates_store (model, n_threads, exact, rates);
  return TRUE;
}
