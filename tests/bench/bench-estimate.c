// SPDX-License-Identifier: MIT
/* bench-estimate.c — what the engine's time estimate predicts, per kind of
 * op, from this machine's rates for MODEL's weight type: for MODEL itself
 * and for the shapes of larger models (Qwen2.5-0.5B, Llama 3.2 1B,
 * Qwen2.5-1.5B) held in the same weight type.  A benchmark: it prints
 * figures; `temper-cli bench train --estimate` holds them against a run.
 *
 *   build/tests/bench/bench-estimate MODEL [THREADS]
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "temper/model.h"
#include "temper/train-estimate.h"
#include "temper/train-figures.h"

typedef struct {
  const char *name;
  int n_layer, n_embd, n_ff, n_head, n_head_kv, head_dim, n_vocab;
} Shape;

/* From each model's config.json. */
static const Shape shapes[] = {
  { "Qwen2.5-0.5B", 24, 896, 4864, 14, 2, 64, 151936 },
  { "Llama-3.2-1B", 16, 2048, 8192, 32, 8, 64, 128256 },
  { "Qwen2.5-1.5B", 28, 1536, 8960, 12, 2, 128, 151936 },
};

static void
print_estimate (const char *name, const TemperModelConfig *c, const TemperOpRates *rates,
                int seq, int batch, gboolean recompute)
{
  TemperTrainSettings s;
  TemperTimeEstimate e;
  double tokens = (double) seq * batch;

  temper_train_settings_init_default (&s);
  s.lora.rank = 16;
  s.lora.alpha = 32;
  s.lora.targets = TEMPER_LORA_TARGETS_ALL_LINEAR;
  s.micro_batch = batch;
  s.max_length = seq;
  s.grad_accum = 1;
  s.recompute = recompute;
  temper_train_estimate_time (c, &s, seq, 1, rates, &e);
  printf ("%-22s seq %4d × %d%s: %8.2f s/step, %7.1f tokens/s; 1,000 records of %d tokens, 2 passes: %.1f h\n",
          name, seq, batch, recompute ? " recompute" : "", e.seconds_per_step, tokens / e.seconds_per_step,
          seq, 2000.0 / batch * e.seconds_per_step / 3600);
  printf ("    by kind (s):");
  for (int k = 0; k < TEMPER_OP_KIND_COUNT; k++)
    if (e.seconds[k] > 0)
      printf (" %s %.2f;", temper_op_kind_name (k), e.seconds[k]);
  printf (" outside %.2f\n", e.outside_seconds);
}

int
main (int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(temper_model_t) model = NULL;
  TemperOpRates rates;
  const TemperModelConfig *own;
  int threads = argc > 2 ? atoi (argv[2]) : 0;

  if (argc < 2)
    {
      fprintf (stderr, "usage: %s MODEL [THREADS]\n", argv[0]);
      return 2;
    }
  model = temper_model_load (argv[1], NULL, &error);
  if (model == NULL)
    {
      fprintf (stderr, "%s\n", error->message);
      return 1;
    }
  if (!temper_op_rates_lookup (model, threads, TRUE, &rates))
    {
      fprintf (stderr, "measuring the rates (2 sequences of 128 tokens)…\n");
      if (!temper_op_rates_measure (model, threads, TRUE, &rates, &error))
        {
          fprintf (stderr, "%s\n", error->message);
          return 1;
        }
    }
  printf ("rates for %s (%s), %d threads:\n", temper_model_get_name (model),
          temper_model_get_quantization (model), threads);
  for (int k = 0; k < TEMPER_OP_KIND_COUNT; k++)
    if (rates.per_second[k] > 0)
      printf ("  %-28s %.4g per s%s\n", temper_op_kind_name (k), rates.per_second[k],
              k == TEMPER_OP_KIND_ELEMENTWISE ? " (elements)" : k == TEMPER_OP_KIND_OPTIMIZER
              ? " (parameters)" : " (FLOPs)");
  printf ("  pool waits %.1f %% and outside ops %.1f %% of the time in ops; fp32 GEMM %.1f GFLOP/s\n",
          100 * rates.wait_share, 100 * rates.outside_share, rates.gemm_gflops);

  own = temper_model_get_config (model);
  print_estimate (temper_model_get_name (model), own, &rates, 256, 4, FALSE);
  print_estimate (temper_model_get_name (model), own, &rates, 512, 1, FALSE);
  for (gsize i = 0; i < G_N_ELEMENTS (shapes); i++)
    {
      TemperModelConfig c = *own;
      g_autofree char *label = g_strdup_printf ("%s shape", shapes[i].name);

      c.n_layer = shapes[i].n_layer;
      c.n_embd = shapes[i].n_embd;
      c.n_ff = shapes[i].n_ff;
      c.n_head = shapes[i].n_head;
      c.n_head_kv = shapes[i].n_head_kv;
      c.head_dim = shapes[i].head_dim;
      c.n_vocab = shapes[i].n_vocab;
      c.sliding_window = 0;
      c.n_expert = 0;
      print_estimate (label, &c, &rates, 512, 1, FALSE);
      print_estimate (label, &c, &rates, 512, 1, TRUE);
    }
  return 0;
}
