/* SPDX-License-Identifier: MIT */
/* temper-cli bench train — training speed and memory on a model. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <stdio.h>

#include <json-glib/json-glib.h>

#include "temper/backend-choice.h"
#include "temper/model.h"
#include "temper/train.h"
#include "temper-cli.h"

int
temper_cli_bench_train (int argc, char **argv)
{
  int seq = 256, batch = 4, rank = 16, steps = 3, threads = 0, device = -1;
  g_autofree char *backend = NULL;
  TemperTrainOptions options;
  gboolean recompute = FALSE, exact = FALSE, profile_wanted = FALSE, json = FALSE, estimate_wanted = FALSE;
  TemperOpProfile profile;
  double peak_tflops = 0;
  g_autofree char *targets_text = NULL, *base_weights = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(temper_model_t) model = NULL;
  TemperTrainBenchResult result = { 0 };
  TemperTrainSettings s;
  int code;
  const GOptionEntry entries[] = {
    { "seq", 0, 0, G_OPTION_ARG_INT, &seq, N_("Tokens per sequence (default 256)"), "N" },
    { "batch", 0, 0, G_OPTION_ARG_INT, &batch, N_("Sequences per micro-batch (default 4)"), "N" },
    { "rank", 0, 0, G_OPTION_ARG_INT, &rank, N_("LoRA rank (default 16)"), "R" },
    { "targets", 0, 0, G_OPTION_ARG_STRING, &targets_text, N_("Layers to adapt (default all-linear)"), "LIST" },
    { "steps", 0, 0, G_OPTION_ARG_INT, &steps, N_("Timed steps after one warm-up step (default 3); 0 only sets up the run and reports the memory it holds"), "N" },
    { "threads", 0, 0, G_OPTION_ARG_INT, &threads, N_("CPU threads (default: one per core)"), "N" },
    { "backend", 0, 0, G_OPTION_ARG_STRING, &backend, N_("cpu, vulkan, cuda or auto (default cpu)"), "B" },
    { "device", 0, 0, G_OPTION_ARG_INT, &device, N_("Device number within the backend (default: its best)"), "N" },
    { "recompute", 0, 0, G_OPTION_ARG_NONE, &recompute, N_("Recompute activations in the backward pass"), NULL },
    { "exact", 0, 0, G_OPTION_ARG_NONE, &exact,
      N_("Multiply by the frozen weights in fp32 throughout, as the tests against PyTorch do: slower (by default bfloat16 where the processor has AMX or AVX512-BF16: in the backward pass and the output layer, and with AMX in the forward pass as pairs of bfloat16 numbers, about as exact as fp32)"), NULL },
    { "base-weights", 0, 0, G_OPTION_ARG_STRING, &base_weights,
      N_("stored (default) or nf4: the linear layers of an F32/F16/BF16 model quantized to NF4 (QLoRA)"), "W" },
    { "profile", 0, 0, G_OPTION_ARG_NONE, &profile_wanted,
      N_("Also print the time per kind of operation and the step's FLOP/s against the CPU's measured GEMM rate (CPU backend only)"), NULL },
    { "estimate", 0, 0, G_OPTION_ARG_NONE, &estimate_wanted,
      N_("Also print the time a step was estimated to take from this machine's measured rates per kind of operation (as the Settings page and train show it), against the time measured (CPU backend only)"), NULL },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print the report as JSON"), NULL },
    { "peak-tflops", 0, 0, G_OPTION_ARG_DOUBLE, &peak_tflops,
      N_("The device's peak dense TFLOP/s (bf16 tensor cores on a GPU), to report the MFU"), "T" },
    { NULL }
  };

  if (!temper_cli_parse (&argc, &argv, "bench train", "MODEL",
                         N_("Time LoRA training steps on random tokens and report tokens per "
                         "second and peak memory."), entries, &code))
    return code;
  if (argc != 2)
    return temper_cli_fail ("bench train", TEMPER_CLI_EXIT_USAGE, _("give one model file or folder (see --help)"));
  if (steps < 0 || seq < 2 || batch < 1)
    return temper_cli_fail ("bench train", TEMPER_CLI_EXIT_USAGE,
                            _("--seq and --batch must be positive, --steps at least 0"));
  if (peak_tflops < 0)
    return temper_cli_fail ("bench train", TEMPER_CLI_EXIT_USAGE, _("--peak-tflops must be positive"));

  temper_train_options_init (&options);
  options.n_threads = threads;
  options.device = device;
  if (backend != NULL && !temper_backend_choice_parse (backend, &options.backend, &error))
    return temper_cli_fail ("bench train", TEMPER_CLI_EXIT_USAGE, _("--backend: %s"), error->message);
  temper_train_settings_init_default (&s);
  s.lora.rank = rank;
  s.lora.alpha = 2.0f * rank;
  s.lora.dropout = 0.0f;
  s.lora.targets = TEMPER_LORA_TARGETS_ALL_LINEAR;
  s.micro_batch = batch;
  s.max_length = seq;
  s.recompute = recompute;
  s.exact = exact;
  if (targets_text != NULL && !temper_lora_targets_parse (targets_text, &s.lora.targets, &error))
    return temper_cli_fail ("bench train", TEMPER_CLI_EXIT_USAGE, "%s", error->message);
  if (base_weights != NULL && !temper_base_weights_parse (base_weights, &s.base_weights, &error))
    return temper_cli_fail ("bench train", TEMPER_CLI_EXIT_USAGE, _("--base-weights: %s"), error->message);
  if (!temper_train_settings_validate (&s, &error))
    return temper_cli_fail ("bench train", TEMPER_CLI_EXIT_USAGE, "%s", error->message);

  model = temper_model_load (argv[1], NULL, &error);
  if (model == NULL || !temper_model_set_base_weights (model, s.base_weights, NULL, &error))
    return temper_cli_error ("bench train", error);
  if (estimate_wanted && (steps == 0 || options.backend != TEMPER_BACKEND_CPU))
    return temper_cli_fail ("bench train", TEMPER_CLI_EXIT_USAGE,
                            _("--estimate needs at least one timed step on the CPU backend"));
  if (profile_wanted && steps == 0)
    return temper_cli_fail ("bench train", TEMPER_CLI_EXIT_USAGE, _("--profile needs at least one timed step"));
  if (!temper_train_bench_profiled (model, &s, steps, &options, &result,
                                    profile_wanted ? &profile : NULL, &error))
    return temper_cli_error ("bench train", error);

  if (json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();
      g_autoptr(JsonGenerator) gen = json_generator_new ();
      g_autoptr(JsonNode) root = NULL;
      g_autofree char *text = NULL;

      json_builder_begin_object (b);
      temper_cli_add_bench_environment (b, threads);
      json_builder_set_member_name (b, "model");
      json_builder_add_string_value (b, temper_model_get_name (model));
      json_builder_set_member_name (b, "device");
      json_builder_add_string_value (b, result.device);
      json_builder_set_member_name (b, "seq");
      json_builder_add_int_value (b, seq);
      json_builder_set_member_name (b, "micro_batch");
      json_builder_add_int_value (b, batch);
      json_builder_set_member_name (b, "rank");
      json_builder_add_int_value (b, rank);
      json_builder_set_member_name (b, "targets");
      json_builder_add_string_value (b, targets_text != NULL ? targets_text : "all-linear");
      json_builder_set_member_name (b, "recompute");
      json_builder_add_boolean_value (b, recompute);
      json_builder_set_member_name (b, "exact");
      json_builder_add_boolean_value (b, exact);
      json_builder_set_member_name (b, "steps");
      json_builder_add_int_value (b, steps);
      json_builder_set_member_name (b, "trainable_params");
      json_builder_add_int_value (b, (gint64) result.n_params);
      json_builder_set_member_name (b, "seconds_per_step");
      json_builder_add_double_value (b, result.seconds_per_step);
      json_builder_set_member_name (b, "tokens_per_s");
      json_builder_add_double_value (b, result.tokens_per_s);
      json_builder_set_member_name (b, "flops_per_token");
      json_builder_add_double_value (b, result.flops_per_token);
      json_builder_set_member_name (b, "peak_rss_bytes");
      json_builder_add_int_value (b, (gint64) result.peak_rss_bytes);
      json_builder_set_member_name (b, "train_memory_bytes");
      json_builder_add_int_value (b, (gint64) result.train_memory_bytes);
      if (profile_wanted)
        {
          json_builder_set_member_name (b, "profile_seconds_per_step");
          json_builder_begin_object (b);
          for (int k = 0; k < TEMPER_OP_KIND_COUNT; k++)
            {
              json_builder_set_member_name (b, temper_op_kind_name (k));
              json_builder_add_double_value (b, profile.seconds[k] / steps);
            }
          json_builder_end_object (b);
          json_builder_set_member_name (b, "gemm_gflops");
          json_builder_add_double_value (b, result.gemm_gflops);
          json_builder_set_member_name (b, "bf16_gemm_gflops");
          json_builder_add_double_value (b, result.bf16_gemm_gflops);
        }
      if (estimate_wanted)
        {
          json_builder_set_member_name (b, "estimated_seconds_per_step");
          json_builder_add_double_value (b, temper_cli_bench_estimate_seconds (model, &s, threads));
        }
      json_builder_end_object (b);
      root = json_builder_get_root (b);
      json_generator_set_root (gen, root);
      json_generator_set_pretty (gen, TRUE);
      text = json_generator_to_data (gen, NULL);
      printf ("%s\n", text);
      return TEMPER_CLI_EXIT_OK;
    }
  temper_cli_print_bench_environment (threads);
  /* The report stays in English: scripts (tests/bench/) read its lines. */
  printf ("model:            %s\n", temper_model_get_name (model));
  printf ("device:           %s\n", result.device);
  printf ("settings:         seq %d, micro-batch %d, rank %d, %s, recompute %s, %s, %d timed steps\n",
          seq, batch, rank, targets_text != NULL ? targets_text : "all-linear", recompute ? "on" : "off",
          exact ? "exact fp32 products" : "fast products", steps);
  printf ("trainable params: %" G_GUINT64_FORMAT "\n", result.n_params);
  if (steps > 0)
    {
      printf ("seconds per step: %.2f\n", result.seconds_per_step);
      printf ("tokens/s:         %.1f\n", result.tokens_per_s);
    }
  if (peak_tflops == 0)
    peak_tflops = result.peak_tflops;
  printf ("model FLOPs/token: %.4g (4 × frozen + 6 × adapter params + causal attention)\n",
          result.flops_per_token);
  if (peak_tflops > 0 && steps > 0)
    printf ("MFU:              %.1f%% of %.1f TFLOP/s\n",
            100.0 * result.tokens_per_s * result.flops_per_token / (peak_tflops * 1e12), peak_tflops);
  printf ("training buffers: %.1f MiB (on the device)\n", result.train_memory_bytes / 1048576.0);
  if (result.peak_device_bytes > 0)
    printf ("peak GPU memory:  %.1f MiB (Temper's buffers: weights, activations, adapter)\n",
            result.peak_device_bytes / 1048576.0);
  printf ("base weights:     %s, %.1f MiB (%.1f MiB as stored)\n",
          temper_base_weights_name (s.base_weights), temper_model_get_weight_bytes (model) / 1048576.0,
          temper_model_get_stored_weight_bytes (model) / 1048576.0);
  /* What a GPU holds for the run: the weights as held and the step's
   * buffers (the driver's own context comes on top). */
  printf ("weights + buffers: %.2f GiB\n",
          (temper_model_get_weight_bytes (model) + result.train_memory_bytes) / 1073741824.0);
  printf ("peak RSS:         %.1f MiB\n", result.peak_rss_bytes / 1048576.0);
  if (profile_wanted)
    temper_cli_print_op_profile (&profile, result.seconds_per_step * steps, steps,
                                 result.tokens_per_s * result.flops_per_token, result.gemm_gflops);
  if (profile_wanted && result.bf16_gemm_gflops > 0)
    {
      printf ("bf16 GEMM rate:   %.1f GFLOP/s (the same product as fast mode's frozen matmul, x rounded and W packed each time)\n",
              result.bf16_gemm_gflops);
      printf ("training MFU:     %.1f%% of the bf16 GEMM rate\n",
              100.0 * result.tokens_per_s * result.flops_per_token * 1e-9 / result.bf16_gemm_gflops);
    }
  if (estimate_wanted)
    temper_cli_print_bench_estimate (model, &s, threads, result.seconds_per_step,
                                     profile_wanted ? &profile : NULL, steps);
  return TEMPER_CLI_EXIT_OK;
}
