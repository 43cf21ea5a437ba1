/* SPDX-License-Identifier: MIT */
/* temper-cli bench generate MODEL — prompt processing and generation speed,
 * measured like llama-bench: a prompt of N tokens from an empty cache, and N
 * tokens generated one at a time from an empty cache, each repeated after a
 * warm-up run.  Like llama-bench, the prompt ends with the next token's
 * logits and every generated token makes its own: the output layer (as large
 * as a third of a small model's bytes) is part of what is timed. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "temper/backend-choice.h"
#include "temper/generate.h"
#include "temper/model.h"
#include "temper-cli.h"

static void
mean_sd (const double *v, int n, double *mean, double *sd)
{
  double s = 0.0, ss = 0.0;

  for (int i = 0; i < n; i++)
    s += v[i];
  *mean = s / n;
  for (int i = 0; i < n; i++)
    ss += (v[i] - *mean) * (v[i] - *mean);
  *sd = n > 1 ? sqrt (ss / (n - 1)) : 0.0;
}

static void
add_profile (JsonBuilder *b, const char *name, const TemperOpProfile *profile, double wall, int n)
{
  json_builder_set_member_name (b, name);
  json_builder_begin_object (b);
  for (int k = 0; k < TEMPER_OP_KIND_COUNT; k++)
    {
      json_builder_set_member_name (b, temper_op_kind_name (k));
      json_builder_add_double_value (b, profile->seconds[k] / n);
    }
  json_builder_set_member_name (b, "outside ops");
  json_builder_add_double_value (b, (wall - temper_op_profile_total (profile)) / n);
  json_builder_end_object (b);
}

static int
print_json (const temper_model_t *model, const temper_generator_t *gen, int threads, int n_prompt,
            int n_gen, int reps, const double *pp, const double *tg, double peak_rss,
            const TemperOpProfile *pp_profile, double pp_wall, const TemperOpProfile *tg_profile,
            double tg_wall)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonGenerator) out = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *text = NULL;
  double mean, sd;

  json_builder_begin_object (b);
  temper_cli_add_bench_environment (b, threads);
  json_builder_set_member_name (b, "model");
  json_builder_add_string_value (b, temper_model_get_name (model));
  json_builder_set_member_name (b, "quantization");
  json_builder_add_string_value (b, temper_model_get_quantization (model));
  json_builder_set_member_name (b, "device");
  json_builder_add_string_value (b, temper_generator_get_device (gen));
  json_builder_set_member_name (b, "prompt_tokens");
  json_builder_add_int_value (b, n_prompt);
  json_builder_set_member_name (b, "gen_tokens");
  json_builder_add_int_value (b, n_gen);
  json_builder_set_member_name (b, "repetitions");
  json_builder_add_int_value (b, reps);
  mean_sd (pp, reps, &mean, &sd);
  json_builder_set_member_name (b, "pp_tokens_per_s");
  json_builder_add_double_value (b, mean);
  json_builder_set_member_name (b, "pp_sd");
  json_builder_add_double_value (b, sd);
  mean_sd (tg, reps, &mean, &sd);
  json_builder_set_member_name (b, "tg_tokens_per_s");
  json_builder_add_double_value (b, mean);
  json_builder_set_member_name (b, "tg_sd");
  json_builder_add_double_value (b, sd);
  json_builder_set_member_name (b, "peak_rss_bytes");
  json_builder_add_double_value (b, peak_rss);
  if (pp_profile != NULL)
    {
      /* Seconds per prompt, and per generated token. */
      add_profile (b, "pp_profile_seconds", pp_profile, pp_wall, reps);
      add_profile (b, "tg_profile_seconds_per_token", tg_profile, tg_wall, reps * n_gen);
    }
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  json_generator_set_root (out, root);
  json_generator_set_pretty (out, TRUE);
  text = json_generator_to_data (out, NULL);
  printf ("%s\n", text);
  return TEMPER_CLI_EXIT_OK;
}

int
temper_cli_bench_generate (int argc, char **argv)
{
  g_autoptr(temper_model_t) model = NULL;
  g_autoptr(temper_generator_t) gen = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree gint32 *tokens = NULL;
  g_autofree float *logits = NULL;
  g_autofree double *pp = NULL, *tg = NULL;
  int threads = 0, n_prompt = 64, n_gen = 64, reps = 3, exit_code, device = -1;
  g_autofree char *backend = NULL;
  TemperBackendKind backend_kind = TEMPER_BACKEND_CPU;
  TemperGeneratorOptions options = { 0, 0, FALSE };
  gboolean exact = FALSE, profile_wanted = FALSE, json = FALSE;
  TemperOpProfile pp_profile, tg_profile;
  double pp_wall = 0, tg_wall = 0;
  const TemperModelConfig *c;
  struct rusage usage;
  double mean, sd;
  const GOptionEntry entries[] = {
    { "threads", 't', 0, G_OPTION_ARG_INT, &threads, N_("CPU threads (default: one per core)"), "N" },
    { "prompt-tokens", 'p', 0, G_OPTION_ARG_INT, &n_prompt, N_("Prompt length (default 64)"), "N" },
    { "gen-tokens", 'n', 0, G_OPTION_ARG_INT, &n_gen, N_("Tokens to generate (default 64)"), "N" },
    { "repetitions", 'r', 0, G_OPTION_ARG_INT, &reps, N_("Timed runs of each test (default 3)"), "N" },
    { "backend", 0, 0, G_OPTION_ARG_STRING, &backend, N_("cpu, vulkan, cuda or auto (default cpu)"), "B" },
    { "device", 0, 0, G_OPTION_ARG_INT, &device, N_("Device number within the backend (default: its best)"), "N" },
    { "exact", 0, 0, G_OPTION_ARG_NONE, &exact, N_("Keep activations in fp32 when decoding (as training does)"), NULL },
    { "profile", 0, 0, G_OPTION_ARG_NONE, &profile_wanted,
      N_("Also print the time per kind of operation of the prompt and of the generated tokens (CPU backend only)"), NULL },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print the report as JSON"), NULL },
    { NULL },
  };

  if (!temper_cli_parse (&argc, &argv, "bench generate", "MODEL",
                         N_("Measure how fast a model reads a prompt and writes an answer, and the memory it uses."),
                         entries, &exit_code))
    return exit_code;
  if (argc != 2)
    return temper_cli_fail ("bench generate", TEMPER_CLI_EXIT_USAGE,
                            _("expected one MODEL (a .gguf file or a model folder), see --help"));
  if (n_prompt < 1 || n_gen < 1 || reps < 1)
    return temper_cli_fail ("bench generate", TEMPER_CLI_EXIT_USAGE,
                            _("--prompt-tokens, --gen-tokens and --repetitions must be at least 1"));

  if (backend != NULL && !temper_backend_choice_parse (backend, &backend_kind, &error))
    return temper_cli_fail ("bench generate", TEMPER_CLI_EXIT_USAGE, _("--backend: %s"), error->message);

  model = temper_model_load (argv[1], NULL, &error);
  if (model == NULL)
    return temper_cli_error ("bench generate", error);
  c = temper_model_get_config (model);
  options.n_threads = threads;
  options.exact = exact;
  options.n_ctx = MAX (n_prompt, n_gen) + 1;
  gen = temper_generator_new_on (model, &options, backend_kind, device, &error);
  if (gen == NULL)
    return temper_cli_error ("bench generate", error);

  memset (&pp_profile, 0, sizeof pp_profile);
  memset (&tg_profile, 0, sizeof tg_profile);
  if (profile_wanted && !temper_generator_set_profile (gen, NULL, &error))
    return temper_cli_error ("bench generate", error);

  /* Any ids will do for timing; spread them over the vocabulary. */
  tokens = g_new (gint32, MAX (n_prompt, n_gen));
  logits = g_new (float, c->n_vocab);
  for (int i = 0; i < MAX (n_prompt, n_gen); i++)
    tokens[i] = (gint32) ((i * 7919 + 13) % c->n_vocab);
  pp = g_new (double, reps);
  tg = g_new (double, reps);

  for (int r = -1; r < reps; r++)   /* r = -1: warm-up */
    {
      gint64 t0, t1;

      temper_generator_reset (gen);
      /* The warm-up run is not profiled. */
      if (profile_wanted && r >= 0)
        temper_generator_set_profile (gen, &pp_profile, NULL);
      t0 = g_get_monotonic_time ();
      if (!temper_generator_eval (gen, tokens, (gsize) n_prompt, logits, NULL, &error))
        return temper_cli_error ("bench generate", error);
      t1 = g_get_monotonic_time ();
      if (r >= 0)
        {
          pp[r] = n_prompt / ((t1 - t0) / 1e6);
          pp_wall += (t1 - t0) / 1e6;
        }

      temper_generator_reset (gen);
      if (profile_wanted && r >= 0)
        temper_generator_set_profile (gen, &tg_profile, NULL);
      t0 = g_get_monotonic_time ();
      for (int i = 0; i < n_gen; i++)
        if (!temper_generator_eval (gen, tokens + i, 1, logits, NULL, &error))
          return temper_cli_error ("bench generate", error);
      t1 = g_get_monotonic_time ();
      if (profile_wanted)
        temper_generator_set_profile (gen, NULL, NULL);
      if (r >= 0)
        {
          tg[r] = n_gen / ((t1 - t0) / 1e6);
          tg_wall += (t1 - t0) / 1e6;
        }
    }

  getrusage (RUSAGE_SELF, &usage);
  if (json)
    return print_json (model, gen, threads, n_prompt, n_gen, reps, pp, tg, usage.ru_maxrss * 1024.0,
                       profile_wanted ? &pp_profile : NULL, pp_wall, &tg_profile, tg_wall);
  temper_cli_print_bench_environment (threads);
  /* The report stays in English: scripts (tests/bench/) read its lines. */
  printf ("model:      %s (%s, %.1f M parameters)\n", temper_model_get_name (model),
          temper_model_get_quantization (model), temper_model_get_n_params (model) / 1e6);
  printf ("device:     %s\n", temper_generator_get_device (gen));
  mean_sd (pp, reps, &mean, &sd);
  printf ("pp%-5d     %8.2f ± %.2f tokens/s (prompt processing)\n", n_prompt, mean, sd);
  mean_sd (tg, reps, &mean, &sd);
  printf ("tg%-5d     %8.2f ± %.2f tokens/s (generation)\n", n_gen, mean, sd);
  printf ("peak RSS:   %.1f MiB\n", usage.ru_maxrss / 1024.0);
  if (profile_wanted)
    {
      /* A "step" is one timed prompt of pp; one generated token of tg. */
      printf ("prompt processing (pp%d), per prompt:\n", n_prompt);
      temper_cli_print_op_profile (&pp_profile, pp_wall, reps, 0, 0);
      printf ("generation (tg%d), per generated token:\n", n_gen);
      temper_cli_print_op_profile (&tg_profile, tg_wall, reps * n_gen, 0, 0);
    }
  return TEMPER_CLI_EXIT_OK;
}
