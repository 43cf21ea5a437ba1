/* SPDX-License-Identifier: MIT */
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
#include "temper/error.h"
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
  g_autofree char *path = temper_cli_printable (temper_dataset_get_path (ds), FALSE);

  printf (_("Dataset:     %s\n"), path);
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
          g_autofree char *message = temper_cli_printable (r->problems[i].message, FALSE);

          printf ("  ");
          printf (_("%s: %s"), place, message);
          putchar ('\n');
        }
      if (r->n_problems > r->n_listed)
        printf ("  … and %" G_GUINT64_FORMAT " more\n", r->n_problems - r->n_listed);
    }
}

static void
print_findings (const GArray *findings)
{
  if (findings->len == 0)
    return;
  printf (_("\nWorth a look (%u):\n"), findings->len);
  for (guint i = 0; i < findings->len; i++)
    {
      const TemperDatasetFinding *f = &g_array_index (findings, TemperDatasetFinding, i);
      g_autofree char *place = temper_dataset_describe_place (f->line, f->item);

      printf ("  ");
      /* Translators: place, kind of finding, what is wrong, then an excerpt. */
      printf (_("%s: [%s] %s: “%s”"), place, temper_dataset_finding_kind_name (f->kind),
              f->message, f->excerpt);
      printf ("\n      ");
      printf (_("Fix: %s"), f->fix);
      putchar ('\n');
    }
}

/* --fix: a comma-separated list of finding kinds, each may be written
 * “drop-KIND”; “duplicates” is short for near-duplicates, “all” is all. */
static gboolean
parse_fixes (const char *list, gboolean *drop_kind, GError **error)
{
  g_auto(GStrv) parts = g_strsplit (list, ",", -1);

  for (guint i = 0; parts[i] != NULL; i++)
    {
      const char *name = g_strstrip (parts[i]);
      TemperDatasetFindingKind kind;

      if (g_str_has_prefix (name, "drop-"))
        name += strlen ("drop-");
      if (g_ascii_strcasecmp (name, "all") == 0)
        {
          for (guint k = 0; k < TEMPER_DATASET_N_FINDING_KINDS; k++)
            drop_kind[k] = TRUE;
          continue;
        }
      if (g_ascii_strcasecmp (name, "duplicates") == 0 || g_ascii_strcasecmp (name, "near-duplicates") == 0)
        name = "near-duplicate";
      if (g_str_has_suffix (name, "s") && !temper_dataset_finding_kind_from_name (name, &kind))
        {
          g_autofree char *singular = g_strndup (name, strlen (name) - 1);
          if (temper_dataset_finding_kind_from_name (singular, &kind))
            {
              drop_kind[kind] = TRUE;
              continue;
            }
        }
      if (!temper_dataset_finding_kind_from_name (name, &kind))
        {
          g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_ARGUMENT,
                       _("--fix: “%s” is not a kind of finding; use near-duplicate, leakage, short-answer, "
                         "markup, mojibake, mixed-language, length-outlier or all"), parts[i]);
          return FALSE;
        }
      drop_kind[kind] = TRUE;
    }
  return TRUE;
}

/* Reads @path with a progress line (@options keep reporting to @progress);
 * NULL after printing why not. */
static temper_dataset_t *
load_with_progress (const char *path, TemperDatasetOptions *options, TemperCliProgress *progress)
{
  g_autoptr(GError) error = NULL;
  temper_dataset_t *ds;

  temper_cli_progress_init (progress, _("Reading the dataset"));
  options->progress = temper_cli_show_fraction;
  options->progress_data = progress;
  ds = temper_dataset_load (path, options, &error);
  temper_cli_progress_clear (progress);
  if (ds == NULL)
    {
      /* The message lists the first problems on lines of their own. */
      g_autofree char *message = temper_cli_printable (error->message, TRUE);

      fprintf (stderr, _("temper-cli %s: %s\n"), COMMAND, message);
    }
  return ds;
}

/* -o: the usable records of @ds less those with a finding of a kind in
 * @drop_kind, into a new JSONL file. */
static int
write_clean (temper_dataset_t *ds, GArray *findings, const gboolean *drop_kind,
             const char *clean_path, gboolean json, const char *data_path)
{
  g_autoptr(GError) error = NULL;
  g_autofree gboolean *drop = g_new0 (gboolean, MAX (temper_dataset_get_n_records (ds), 1));
  guint64 n_dropped = 0;
  gint64 written;

  for (guint i = 0; i < findings->len; i++)
    {
      const TemperDatasetFinding *f = &g_array_index (findings, TemperDatasetFinding, i);
      if (drop_kind[f->kind] && !drop[f->record])
        {
          drop[f->record] = TRUE;
          n_dropped++;
        }
    }
  written = temper_dataset_write_jsonl (ds, drop, clean_path, &error);
  if (written < 0)
    return temper_cli_error (COMMAND, error);
  fprintf (json ? stderr : stdout,
           _("\nWrote %" PRId64 " records to %s (%" PRIu64 " left out by --fix, %"
             PRIu64 " unusable); %s is unchanged.\n"),
           written, clean_path, n_dropped, temper_dataset_get_report (ds)->n_dropped, data_path);
  return TEMPER_CLI_EXIT_OK;
}

int
temper_cli_dataset_check (int argc, char **argv)
{
  g_autofree char *model_path = NULL;
  g_autofree char *format_name = NULL;
  g_autofree char *question_column = NULL, *answer_column = NULL, *system_column = NULL;
  g_autofree char *val_path = NULL, *fixes = NULL, *clean_path = NULL;
  gboolean drop_kind[TEMPER_DATASET_N_FINDING_KINDS] = { FALSE };
  g_autoptr(GArray) findings = NULL;
  g_autoptr(temper_dataset_t) validation = NULL;
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
    { "val-data", 0, 0, G_OPTION_ARG_FILENAME, &val_path,
      N_("The validation file, to find records that are in both"), "FILE" },
    { "fix", 0, 0, G_OPTION_ARG_STRING, &fixes,
      N_("Leave out the records with these findings (comma-separated: drop-duplicates, drop-leakage, "
         "drop-short-answers, drop-markup, drop-mojibake, drop-mixed-language, drop-length-outliers, all); "
         "needs -o"), "LIST" },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &clean_path,
      N_("Write the usable records, less those --fix leaves out, to this new JSONL file "
         "(never over an existing one; the dataset itself is never changed)"), "CLEAN.jsonl" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print the report as JSON"), NULL },
    { NULL },
  };
  g_autoptr(temper_model_t) model = NULL;
  g_autoptr(temper_chat_template_t) tmpl = NULL;
  g_autoptr(temper_dataset_t) ds = NULL;
  g_autoptr(GError) error = NULL;
  TemperDatasetOptions options;
  TemperCliProgress progress;
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
  if (fixes != NULL && clean_path == NULL)
    return temper_cli_fail (COMMAND, TEMPER_CLI_EXIT_USAGE, _("--fix needs -o CLEAN.jsonl: the dataset itself is never changed"));
  if (fixes != NULL && !parse_fixes (fixes, drop_kind, &error))
    return temper_cli_fail (COMMAND, TEMPER_CLI_EXIT_USAGE, "%s", error->message);
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

  ds = load_with_progress (argv[1], &options, &progress);
  if (ds == NULL)
    return TEMPER_CLI_EXIT_FAILED;

  if (val_path != NULL)
    {
      TemperDatasetOptions vopts = options;
      vopts.question_column = vopts.answer_column = vopts.system_column = NULL;
      validation = temper_dataset_load (val_path, &vopts, &error);
      if (validation == NULL)
        {
          fprintf (stderr, _("temper-cli %s: %s\n"), COMMAND, error->message);
          return TEMPER_CLI_EXIT_FAILED;
        }
    }
  findings = temper_dataset_find (ds, validation);

  if (json)
    {
      g_autofree char *text = temper_dataset_report_to_json_with_findings (ds, findings);
      printf ("%s\n", text);
    }
  else
    {
      print_report (ds, tmpl, max_length);
      print_findings (findings);
    }

  if (clean_path != NULL)
    return write_clean (ds, findings, drop_kind, clean_path, json, argv[1]);
  return TEMPER_CLI_EXIT_OK;
}
