/* temper-cli dataset check FILE — what Temper makes of a dataset: its format,
 * every record it has to leave out and why, and (with a model) how long the
 * records are in tokens. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <inttypes.h>

#include <stdio.h>
#include <string.h>

#include "temper/chat.h"
#include "temper/dataset.h"
#include "temper/model.h"
#include "temper-cli.h"

#define COMMAND "dataset check"
#define BAR_WIDTH 40

static void
print_histogram (const TemperDatasetReport *r)
{
  guint64 largest = 1;

  for (guint i = 0; i < TEMPER_DATASET_N_BUCKETS; i++)
    largest = MAX (largest, r->histogram[i]);
  for (guint i = 0; i < TEMPER_DATASET_N_BUCKETS; i++)
    {
      g_autofree char *range = NULL;
      guint width = (guint) ((r->histogram[i] * BAR_WIDTH + largest - 1) / largest);

      if (i + 1 < TEMPER_DATASET_N_BUCKETS)
        range = g_strdup_printf ("%d–%d", temper_dataset_bucket_start (i),
                                 temper_dataset_bucket_start (i + 1) - 1);
      else
        range = g_strdup_printf (_("%d or more"), temper_dataset_bucket_start (i));
      /* Pad by characters, not bytes: the en dash is three bytes. */
      printf ("  %s%*s %8" G_GUINT64_FORMAT " ", range, (int) (12 - g_utf8_strlen (range, -1)), "",
              r->histogram[i]);
      for (guint w = 0; w < width; w++)
        fputs ("█", stdout);
      putchar ('\n');
    }
}

static void
print_report (const temper_dataset_t *ds, const temper_chat_template_t *tmpl, int max_length)
{
  const TemperDatasetReport *r = temper_dataset_get_report (ds);

  printf (_("Dataset:     %s\n"), temper_dataset_get_path (ds));
  switch (r->layout)
    {
    case TEMPER_DATASET_LAYOUT_CSV:
    case TEMPER_DATASET_LAYOUT_TSV:
      printf (_("Format:      %s table; question: column %d “%s”, answer: column %d “%s”\n"),
              r->layout == TEMPER_DATASET_LAYOUT_CSV ? "CSV" : "TSV",
              r->question_column + 1, r->columns[r->question_column],
              r->answer_column + 1, r->columns[r->answer_column]);
      if (r->system_column >= 0)
        printf (_("             system prompt: column %d “%s”\n"), r->system_column + 1,
                r->columns[r->system_column]);
      break;
    case TEMPER_DATASET_LAYOUT_TEXT:
      printf (_("Format:      plain text for continued pre-training: %" PRIu64 " chunks of up to %d tokens, "
                "overlap %d%s\n"),
              r->n_valid, r->chunk_length, r->chunk_overlap,
              tmpl == NULL ? _(" (estimated without --model)") : "");
      break;
    default:
      printf (_("Format:      %s, %s\n"), temper_dataset_format_label (r->format),
              r->jsonl ? _("one record per line (JSONL)") : _("a JSON list"));
      break;
    }
  printf (_("Records:     %" PRIu64 " found, %" PRIu64 " usable, %"
          PRIu64 " left out\n"), r->n_records, r->n_valid, r->n_dropped);
  if (tmpl != NULL)
    {
      printf (_("Template:    %s%s\n"), temper_chat_family_name (temper_chat_template_get_family (tmpl)),
              temper_chat_template_is_fallback (tmpl)
              ? _(" (the model has no chat template Temper knows; a plain User/Assistant layout is used)")
              : "");
      if (max_length > 0)
        printf (_("Truncated:   %" PRIu64 " (longer than %d tokens)\n"), r->n_truncated, max_length);
    }
  if (r->has_token_stats)
    {
      printf (_("Tokens:      %" PRIu64 " in all, %" PRIu64 " of them answers the model learns\n"),
              r->tokens_total, r->tokens_trained);
      printf (_("Per record:  min %d, mean %.1f, median %d, 95th percentile %d, max %d\n"),
              r->token_min, r->token_mean, r->token_median, r->token_p95, r->token_max);
      print_histogram (r);
    }
  else
    printf (_("Tokens:      not counted (add --model to count them with a model's tokenizer)\n"));

  if (r->n_problems > 0)
    {
      printf (_("\nLeft out:\n"));
      for (guint i = 0; i < r->n_listed; i++)
        {
          g_autofree char *place = temper_dataset_describe_place (r->problems[i].line, r->problems[i].item);
          printf ("  ");
          printf (_("%s: %s"), place, r->problems[i].message);
          putchar ('\n');
        }
      if (r->n_problems > r->n_listed)
        printf ("  … and %" G_GUINT64_FORMAT " more\n", r->n_problems - r->n_listed);
    }
}

int
temper_cli_dataset_check (int argc, char **argv)
{
  g_autofree char *model_path = NULL;
  g_autofree char *format_name = NULL;
  g_autofree char *question_column = NULL, *answer_column = NULL, *system_column = NULL;
  int max_length = 0, overlap = -1;
  gboolean json = FALSE;
  gboolean all_tokens = FALSE;
  const GOptionEntry entries[] = {
    { "model", 'm', 0, G_OPTION_ARG_FILENAME, &model_path,
      N_("Count tokens with this model's tokenizer and chat template"), "MODEL" },
    { "format", 'f', 0, G_OPTION_ARG_STRING, &format_name,
      N_("Read the records as this format instead of recognising it: alpaca, instruction-output, "
      "prompt-response, messages, sharegpt or text"), "FORMAT" },
    { "max-length", 'l', 0, G_OPTION_ARG_INT, &max_length,
      N_("Cut records longer than this many tokens (needs --model)"), "N" },
    { "all-tokens", 0, 0, G_OPTION_ARG_NONE, &all_tokens,
      N_("Count the loss on every token, not only on the answers"), NULL },
    { "question-column", 0, 0, G_OPTION_ARG_STRING, &question_column,
      N_("CSV/TSV: the column holding the question, by name or number from 1"), "COLUMN" },
    { "answer-column", 0, 0, G_OPTION_ARG_STRING, &answer_column,
      N_("CSV/TSV: the column holding the answer, by name or number from 1"), "COLUMN" },
    { "system-column", 0, 0, G_OPTION_ARG_STRING, &system_column,
      N_("CSV/TSV: the column holding a system prompt (optional)"), "COLUMN" },
    { "overlap", 0, 0, G_OPTION_ARG_INT, &overlap,
      N_("Plain text: tokens shared by consecutive chunks (default: an eighth of --max-length)"), "N" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print the report as JSON"), NULL },
    { NULL },
  };
  g_autoptr(temper_model_t) model = NULL;
  g_autoptr(temper_chat_template_t) tmpl = NULL;
  g_autoptr(temper_dataset_t) ds = NULL;
  g_autoptr(GError) error = NULL;
  TemperDatasetOptions options;
  int exit_code;

  if (!temper_cli_parse (&argc, &argv, COMMAND, "FILE",
                         N_("Check a dataset (JSON list, JSONL, CSV, TSV, or plain text / Markdown for continued\n"
                         "pre-training) and list every record that cannot be used, with why.\n"
                         "Exit status: 0 when at least one record is usable, 1 when none is, 2 for wrong arguments."),
                         entries, &exit_code))
    return exit_code;
  if (argc != 2)
    return temper_cli_fail (COMMAND, TEMPER_CLI_EXIT_USAGE, _("expected one dataset FILE, see --help"));

  temper_dataset_options_init (&options);
  if (format_name != NULL && !temper_dataset_format_from_name (format_name, &options.format))
    return temper_cli_fail (COMMAND, TEMPER_CLI_EXIT_USAGE,
                            _("unknown format “%s”: use alpaca, instruction-output, prompt-response, "
                            "messages, sharegpt or text"), format_name);
  options.question_column = question_column;
  options.answer_column = answer_column;
  options.system_column = system_column;
  options.chunk_overlap = overlap;
  if (max_length < 0)
    return temper_cli_fail (COMMAND, TEMPER_CLI_EXIT_USAGE, _("--max-length must be a positive number of tokens"));
  if (overlap < -1)
    return temper_cli_fail (COMMAND, TEMPER_CLI_EXIT_USAGE, _("--overlap must be a number of tokens, 0 or more"));
  /* Plain text is chunked by --max-length, estimated without a model. */
  if ((all_tokens || (max_length > 0 && temper_dataset_layout_from_path (argv[1]) != TEMPER_DATASET_LAYOUT_TEXT))
      && model_path == NULL)
    return temper_cli_fail (COMMAND, TEMPER_CLI_EXIT_USAGE,
                            _("--max-length and --all-tokens need --model: tokens are counted with a model's tokenizer"));

  if (model_path != NULL)
    {
      model = temper_model_load (model_path, NULL, &error);
      if (model == NULL)
        return temper_cli_error (COMMAND, error);
      tmpl = temper_chat_template_new (temper_model_get_chat_template (model),
                                       temper_model_get_tokenizer (model));
      options.chat_template = tmpl;
      options.train_on_prompt = all_tokens;
    }
  options.max_length = max_length;

  ds = temper_dataset_load (argv[1], &options, &error);
  if (ds == NULL)
    {
      /* The message lists the first problems on lines of their own. */
      fprintf (stderr, _("temper-cli %s: %s\n"), COMMAND, error->message);
      return TEMPER_CLI_EXIT_FAILED;
    }

  if (json)
    {
      g_autofree char *text = temper_dataset_report_to_json (ds);
      printf ("%s\n", text);
    }
  else
    print_report (ds, tmpl, max_length);
  return TEMPER_CLI_EXIT_OK;
}
