/* SPDX-License-Identifier: MIT */
/* temper-cli — Temper's engine from a terminal. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <glib/gi18n-lib.h>

#include "temper/i18n.h"
#include "temper/install-paths.h"
#include "temper-cli.h"

static const TemperCliCommand commands[] = {
  { "info", N_("Show a model's architecture, size, quantization and chat template"), temper_cli_info },
  { "dataset check", N_("Check a dataset and list the records that cannot be used"), temper_cli_dataset_check },
  { "tokenize", N_("Show the tokens a model makes of a text"), temper_cli_tokenize },
  { "devices", N_("List the processors and graphics cards Temper can train on"), temper_cli_devices },
  { "train", N_("Fine-tune a model with LoRA on a dataset, into a run folder"), temper_cli_train },
  { "resume", N_("Continue a training run from its newest checkpoint"), temper_cli_resume },
  { "compare", N_("Show base and tuned answers side by side for a run"), temper_cli_compare },
  { "runs", N_("List the training runs with their model, dataset, state and last loss"), temper_cli_runs },
  { "ratings", N_("Sum up or export the ratings given to a run's answers (CSV, JSON)"), temper_cli_ratings },
  { "evaluate", N_("Measure what a run learnt and whether the model forgot general knowledge"), temper_cli_evaluate },
  { "export", N_("Export an adapter, or merge it into the model (PEFT, GGUF, Hugging Face, Ollama)"), temper_cli_export },
  { "export-job", N_("Write a run as a job for LLaMA-Factory or axolotl on a cluster"), temper_cli_export_job },
  { "import", N_("Bring a cluster-trained adapter back as a run (LLaMA-Factory, axolotl)"), temper_cli_import },
  { "bench train", N_("Measure LoRA training speed and memory on a model"), temper_cli_bench_train },
  { "chat", N_("Chat with a model, or print one answer with -p"), temper_cli_chat },
  { "bench generate", N_("Measure a model's prompt and generation speed and memory"), temper_cli_bench_generate },
};

static void
print_usage (FILE *out)
{
  fprintf (out,
           _("Usage: temper-cli COMMAND [OPTIONS…]\n"
           "\n"
           "Fine-tune a local language model with LoRA, from the terminal.\n"
           "\n"
           "Commands:\n"));
  for (gsize i = 0; i < G_N_ELEMENTS (commands); i++)
    fprintf (out, "  %-16s %s\n", commands[i].name, _(commands[i].summary));
  fprintf (out,
           _("\n"
           "Options:\n"
           "  -h, --help       Show this help\n"
           "  --version        Show the version\n"
           "\n"
           "Run “temper-cli COMMAND --help” for the options of one command.\n"));
}

/* Finds the command named by argv[1] (or argv[1] argv[2] for nested ones
 * such as "bench generate"); sets *n_words to how many words it used. */
static const TemperCliCommand *
find_command (int argc, char **argv, int *n_words)
{
  for (gsize i = 0; i < G_N_ELEMENTS (commands); i++)
    {
      g_auto(GStrv) words = g_strsplit (commands[i].name, " ", -1);
      guint n = g_strv_length (words);
      gboolean match = (int) n < argc;

      for (guint w = 0; match && w < n; w++)
        match = strcmp (words[w], argv[1 + w]) == 0;
      if (match)
        {
          *n_words = (int) n;
          return &commands[i];
        }
    }
  return NULL;
}

int
main (int argc, char **argv)
{
  const TemperCliCommand *command;
  int n_words = 0;

  temper_i18n_init (temper_locale_dir ());
  textdomain (GETTEXT_PACKAGE);

  if (argc < 2)
    {
      print_usage (stderr);
      return TEMPER_CLI_EXIT_USAGE;
    }
  if (strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0 ||
      strcmp (argv[1], "help") == 0)
    {
      print_usage (stdout);
      return TEMPER_CLI_EXIT_OK;
    }
  if (strcmp (argv[1], "--version") == 0)
    {
      printf (_("temper-cli %s\n"), PACKAGE_VERSION);
      return TEMPER_CLI_EXIT_OK;
    }

  command = find_command (argc, argv, &n_words);
  if (command == NULL)
    {
      fprintf (stderr, _("temper-cli: unknown command “%s” (see temper-cli --help)\n"), argv[1]);
      return TEMPER_CLI_EXIT_USAGE;
    }
  /* The subcommand sees its own name as argv[0]. */
  return command->run (argc - n_words, argv + n_words);
}
