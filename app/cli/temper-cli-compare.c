/* SPDX-License-Identifier: MIT */
/* temper-cli compare RUN — the base model's and the tuned model's answers
 * side by side, greedy, for the run's validation prompts or a file. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <stdio.h>
#include <string.h>

#include "temper/answer.h"
#include "temper/backend-choice.h"
#include "temper/chat.h"
#include "temper/dataset.h"
#include "temper/generate.h"
#include "temper/model.h"
#include "temper/run.h"
#include "temper/train.h"
#include "temper-cli.h"

#define COLUMN 38

/* Terminal columns of one character: CJK ideographs and the like take two. */
static int
char_width (gunichar c)
{
  return g_unichar_iswide (c) ? 2 : g_unichar_iszerowidth (c) ? 0 : 1;
}

static int
text_width (const char *s)
{
  int w = 0;

  for (; *s != '\0'; s = g_utf8_next_char (s))
    w += char_width (g_utf8_get_char (s));
  return w;
}

/* Splits @text into lines of at most @width columns, at spaces where it can. */
static GPtrArray *
wrap (const char *text, int width)
{
  GPtrArray *lines = g_ptr_array_new_with_free_func (g_free);
  const char *p = text;

  while (*p != '\0')
    {
      const char *end = p, *space = NULL;
      int n = 0;

      while (*end != '\0' && *end != '\n' && n + char_width (g_utf8_get_char (end)) <= width)
        {
          if (*end == ' ')
            space = end;
          n += char_width (g_utf8_get_char (end));
          end = g_utf8_next_char (end);
        }
      if (end == p)   /* a character wider than the column: take it anyway */
        end = g_utf8_next_char (end);
      if (*end != '\0' && *end != '\n' && space != NULL)
        end = space;
      g_ptr_array_add (lines, g_strndup (p, (gsize) (end - p)));
      p = end;
      while (*p == ' ' || *p == '\n')
        p++;
    }
  return lines;
}

static void
print_side_by_side (const char *left, const char *right)
{
  g_autoptr(GPtrArray) a = wrap (left, COLUMN);
  g_autoptr(GPtrArray) b = wrap (right, COLUMN);

  for (guint i = 0; i < MAX (a->len, b->len); i++)
    {
      const char *l = i < a->len ? a->pdata[i] : "";
      const char *r = i < b->len ? b->pdata[i] : "";

      printf ("  %s%*s │ %s\n", l, MAX (0, COLUMN - text_width (l)), "", r);
    }
}

int
temper_cli_compare (int argc, char **argv)
{
  g_autofree char *prompts = NULL;
  int max_tokens = 64, threads = 0, limit = 0, code, device = -1;
  g_autofree char *backend = NULL;
  TemperBackendKind backend_kind = TEMPER_BACKEND_CPU;
  g_autoptr(GError) error = NULL;
  g_autoptr(temper_run_t) run = NULL;
  g_autoptr(temper_model_t) model = NULL;
  g_autoptr(temper_adapter_t) adapter = NULL;
  g_autoptr(temper_generator_t) gen = NULL;
  g_autoptr(temper_chat_template_t) tmpl = NULL;
  g_autoptr(temper_dataset_t) ds = NULL;
  TemperGeneratorOptions gopts = { 0 };
  TemperDatasetOptions dopts;
  const GOptionEntry entries[] = {
    { "prompts", 0, 0, G_OPTION_ARG_FILENAME, &prompts, N_("Questions to ask, as a dataset file (default: the run's dataset)"), "FILE" },
    { "max-tokens", 0, 0, G_OPTION_ARG_INT, &max_tokens, N_("Longest answer in tokens (default 64)"), "N" },
    { "limit", 0, 0, G_OPTION_ARG_INT, &limit, N_("Ask at most N questions (default all)"), "N" },
    { "threads", 0, 0, G_OPTION_ARG_INT, &threads, N_("CPU threads (default: one per core)"), "N" },
    { "backend", 0, 0, G_OPTION_ARG_STRING, &backend, N_("cpu, vulkan, cuda or auto (default cpu)"), "B" },
    { "device", 0, 0, G_OPTION_ARG_INT, &device, N_("Device number within the backend (default: its best)"), "N" },
    { NULL }
  };

  if (!temper_cli_parse (&argc, &argv, "compare", "RUN",
                         N_("Show the base model's and the tuned model's answers side by side."),
                         entries, &code))
    return code;
  if (argc != 2)
    return temper_cli_fail ("compare", TEMPER_CLI_EXIT_USAGE, _("give one run folder (see --help)"));
  if (backend != NULL && !temper_backend_choice_parse (backend, &backend_kind, &error))
    return temper_cli_fail ("compare", TEMPER_CLI_EXIT_USAGE, _("--backend: %s"), error->message);
  run = temper_run_open (argv[1], &error);
  if (run == NULL)
    return temper_cli_error ("compare", error);
  model = temper_run_load_model (run, NULL, &error);
  if (model == NULL)
    return temper_cli_error ("compare", error);
  adapter = temper_cli_load_adapter (argv[1], model, &error);
  if (adapter == NULL)
    return temper_cli_error ("compare", error);

  tmpl = temper_chat_template_new (temper_model_get_chat_template (model), temper_model_get_tokenizer (model));
  temper_dataset_options_init (&dopts);
  ds = temper_dataset_load (prompts != NULL ? prompts : temper_run_get_data_path (run), &dopts, &error);
  if (ds == NULL)
    return temper_cli_error ("compare", error);

  gopts.n_threads = threads;
  gen = temper_generator_new_on (model, &gopts, backend_kind, device, &error);
  if (gen == NULL)
    return temper_cli_error ("compare", error);

  printf ("  %-*s │ %s\n", COLUMN, _("Base model"), _("Tuned (this run's adapter)"));
  for (gsize i = 0; i < temper_dataset_get_n_records (ds) && (limit <= 0 || (int) i < limit); i++)
    {
      const TemperDatasetRecord *rec = temper_dataset_get_record (ds, i);
      gsize n = rec->n_messages;
      g_autofree char *base = NULL, *tuned = NULL;

      /* Ask what the record asks: everything before its last answer. */
      while (n > 0 && rec->messages[n - 1].role == TEMPER_CHAT_ROLE_ASSISTANT)
        n--;
      if (n == 0)
        continue;
      {
        g_autofree char *question = temper_cli_printable (rec->messages[n - 1].content, TRUE);

        printf ("\n%s\n", question);
      }
      if (!temper_generator_set_adapter (gen, NULL, &error) ||
          (base = temper_answer_greedy (gen, tmpl, rec->messages, n, max_tokens, NULL, &error)) == NULL ||
          !temper_generator_set_adapter (gen, adapter, &error) ||
          (tuned = temper_answer_greedy (gen, tmpl, rec->messages, n, max_tokens, NULL, &error)) == NULL)
        return temper_cli_error ("compare", error);
      {
        /* Model output too: a model trained on hostile data may write escapes. */
        g_autofree char *shown_base = temper_cli_printable (base, TRUE);
        g_autofree char *shown_tuned = temper_cli_printable (tuned, TRUE);

        print_side_by_side (shown_base, shown_tuned);
      }
      fflush (stdout);
    }
  return TEMPER_CLI_EXIT_OK;
}
