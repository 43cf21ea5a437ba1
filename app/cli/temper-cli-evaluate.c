/* SPDX-License-Identifier: MIT */
/* temper-cli evaluate RUN [--data FILE] — did the adapter learn, did the
 * model forget: figures for base and tuned model, written into the run
 * folder as evaluation.json and evaluation.html and summed up here. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <math.h>
#include <stdio.h>
#include <unistd.h>

#include "temper/backend-choice.h"
#include "temper/evaluate.h"
#include "temper-cli.h"

static void
print_row (const char *label, double base, double tuned, gboolean percent)
{
  if (isnan (base) || isnan (tuned))
    printf ("  %-26s %10s %10s\n", label, "–", "–");
  else if (percent)
    printf ("  %-26s %9.1f%% %9.1f%% %+9.1f\n", label, 100.0 * base, 100.0 * tuned,
            100.0 * (tuned - base));
  else
    printf ("  %-26s %10.3f %10.3f %+10.3f\n", label, base, tuned, tuned - base);
}

int
temper_cli_evaluate (int argc, char **argv)
{
  g_autofree char *data = NULL;
  g_autofree char *general = NULL;
  g_autofree char *backend = NULL;
  int max_tokens = 64, limit = 0, threads = 0, device = -1, code;
  gboolean fresh = FALSE;
  g_autoptr(GError) error = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(TemperEvaluation) ev = NULL;
  TemperEvaluateOptions options;
  TemperCliProgress progress;
  const GOptionEntry entries[] = {
    { "data", 0, 0, G_OPTION_ARG_FILENAME, &data, N_("Also score this dataset file"), "FILE" },
    { "general", 0, 0, G_OPTION_ARG_FILENAME, &general, N_("General questions for the forgetting check (default: the bundled ones)"), "FILE" },
    { "max-tokens", 0, 0, G_OPTION_ARG_INT, &max_tokens, N_("Longest answer in tokens (default 64)"), "N" },
    { "limit", 0, 0, G_OPTION_ARG_INT, &limit, N_("Score at most N records of each dataset (default all)"), "N" },
    { "threads", 0, 0, G_OPTION_ARG_INT, &threads, N_("CPU threads (default: one per core)"), "N" },
    { "backend", 0, 0, G_OPTION_ARG_STRING, &backend, N_("cpu, vulkan, cuda or auto (default cpu; use training's)"), "B" },
    { "device", 0, 0, G_OPTION_ARG_INT, &device, N_("Device number within the backend (default: its best)"), "N" },
    { "fresh", 0, 0, G_OPTION_ARG_NONE, &fresh, N_("Ask the base model every question again rather than reuse its answers from an earlier evaluation (the new answers are kept)"), NULL },
    { NULL }
  };

  if (!temper_cli_parse (&argc, &argv, "evaluate", "RUN",
                         N_("Measure what the run's adapter learnt and whether the model forgot "
                         "general knowledge; writes evaluation.json and evaluation.html into "
                         "the run folder."),
                         entries, &code))
    return code;
  if (argc != 2)
    return temper_cli_fail ("evaluate", TEMPER_CLI_EXIT_USAGE, _("give one run folder (see --help)"));
  if (max_tokens < 1)
    return temper_cli_fail ("evaluate", TEMPER_CLI_EXIT_USAGE, _("--max-tokens must be at least 1"));
  temper_evaluate_options_init (&options);
  if (backend != NULL && !temper_backend_choice_parse (backend, &options.backend, &error))
    return temper_cli_fail ("evaluate", TEMPER_CLI_EXIT_USAGE, _("--backend: %s"), error->message);
  options.device = device;
  options.n_threads = threads;
  options.extra_path = data;
  options.general_path = general;
  options.max_tokens = max_tokens;
  options.max_records = MAX (0, limit);
  options.fresh_base_answers = fresh;
  temper_cli_progress_init (&progress, NULL);
  options.progress = temper_cli_show_stage;
  options.progress_data = &progress;
  options.cancellable = cancellable;
  temper_cli_cancel_on_interrupt (cancellable);

  ev = temper_evaluate_run (argv[1], &options, &error);
  temper_cli_progress_clear (&progress);
  if (ev == NULL)
    return temper_cli_error ("evaluate", error);

  for (guint i = 0; i < ev->sets->len; i++)
    {
      const TemperEvaluationSet *s = &g_array_index (ev->sets, TemperEvaluationSet, i);

      printf (_("\n%s (%u records, %u with a reference answer)\n"), s->name, s->n_records,
              s->n_with_reference);
      printf ("  %-26s %10s %10s %10s\n", "", _("base"), _("tuned"), _("change"));
      print_row (_("Perplexity (lower=better)"), s->perplexity[0], s->perplexity[1], FALSE);
      if (s->n_with_reference == 0)
        continue;
      print_row (_("Exact match"), s->exact[0], s->exact[1], TRUE);
      print_row (_("Contains the reference"), s->contains[0], s->contains[1], TRUE);
      print_row ("BLEU-4", s->bleu[0], s->bleu[1], TRUE);
      print_row ("ROUGE-L", s->rouge_l[0], s->rouge_l[1], TRUE);
      print_row ("chrF", s->chrf[0], s->chrf[1], TRUE);
    }
  printf (_("\nGeneral questions right: base %u of %u, tuned %u of %u\n\n"),
          ev->general_right[0], ev->n_general, ev->general_right[1], ev->n_general);
  for (guint i = 0; ev->findings[i] != NULL; i++)
    printf ("• %s\n", ev->findings[i]);
  if (ev->n_base_kept > 0)
    printf (g_dngettext (GETTEXT_PACKAGE,
                         "\nThe base model was not asked %u question again: its answer was kept from when "
                         "it was last asked (same model file, question and settings; --fresh asks again).\n",
                         "\nThe base model was not asked %u questions again: its answers were kept from when "
                         "it was last asked (same model file, questions and settings; --fresh asks again).\n",
                         ev->n_base_kept),
            ev->n_base_kept);
  printf (_("\nWrote %s\n  and %s\n"), ev->json_path, ev->html_path);
  return TEMPER_CLI_EXIT_OK;
}
