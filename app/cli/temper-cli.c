/* temper-cli — Temper's engine from a terminal. */
#include "config.h"

#include <locale.h>
#include <stdio.h>
#include <string.h>

#include <glib/gi18n.h>

#include "temper-cli.h"

static int
temper_cli_version (int argc, char **argv)
{
  int exit_code;

  if (!temper_cli_parse (&argc, &argv, "version", NULL, "Show the version of temper-cli.",
                         NULL, &exit_code))
    return exit_code;
  printf ("temper-cli %s\n", PACKAGE_VERSION);
  return TEMPER_CLI_EXIT_OK;
}

static const TemperCliCommand commands[] = {
  { "version", "Show the version", temper_cli_version },
};

static void
print_usage (FILE *out)
{
  fprintf (out,
           "Usage: temper-cli COMMAND [OPTIONS…]\n"
           "\n"
           "Fine-tune a local language model with LoRA, from the terminal.\n"
           "\n"
           "Commands:\n");
  for (gsize i = 0; i < G_N_ELEMENTS (commands); i++)
    fprintf (out, "  %-16s %s\n", commands[i].name, commands[i].summary);
  fprintf (out,
           "\n"
           "Options:\n"
           "  -h, --help       Show this help\n"
           "  --version        Show the version\n"
           "\n"
           "Run “temper-cli COMMAND --help” for the options of one command.\n");
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

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");

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
      printf ("temper-cli %s\n", PACKAGE_VERSION);
      return TEMPER_CLI_EXIT_OK;
    }

  command = find_command (argc, argv, &n_words);
  if (command == NULL)
    {
      fprintf (stderr, "temper-cli: unknown command “%s” (see temper-cli --help)\n", argv[1]);
      return TEMPER_CLI_EXIT_USAGE;
    }
  /* The subcommand sees its own name as argv[0]. */
  return command->run (argc - n_words, argv + n_words);
}
