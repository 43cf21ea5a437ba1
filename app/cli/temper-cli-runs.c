/* SPDX-License-Identifier: MIT */
/* temper-cli runs [FOLDER] — the training runs, as the app's Runs page
 * lists them; temper-cli ratings RUN — what a person said on the app's
 * Compare page, summed up or exported as CSV or JSON. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <math.h>
#include <stdio.h>

#include <json-glib/json-glib.h>

#include "temper/ratings.h"
#include "temper/run.h"
#include "temper-cli.h"

static const char *
state_words (TemperRunState state)
{
  switch (state)
    {
    case TEMPER_RUN_STATE_FINISHED:    return _("finished");
    case TEMPER_RUN_STATE_STOPPED:     return _("stopped, can go on");
    case TEMPER_RUN_STATE_NOT_STARTED: return _("not started");
    case TEMPER_RUN_STATE_UNREADABLE:
    default:                           return _("cannot be read");
    }
}

static char *
format_date (gint64 unix_time)
{
  g_autoptr(GDateTime) when = unix_time > 0 ? g_date_time_new_from_unix_local (unix_time) : NULL;

  return when != NULL ? g_date_time_format (when, "%Y-%m-%d %H:%M") : g_strdup ("");
}

static void
print_runs_text (const char *root, GPtrArray *runs)
{
  if (runs->len == 0)
    {
      printf (_("No training runs in %s\n"), root);
      return;
    }
  for (guint i = 0; i < runs->len; i++)
    {
      const TemperRunSummary *run = runs->pdata[i];
      g_autofree char *name = temper_cli_printable (run->name, FALSE);
      g_autofree char *date = format_date (run->created);

      printf ("%s\n", name);
      if (run->state == TEMPER_RUN_STATE_UNREADABLE)
        {
          g_autofree char *problem = temper_cli_printable (run->problem, FALSE);

          printf (_("  State:    %s: %s\n"), state_words (run->state), problem);
          continue;
        }
      {
        g_autofree char *model = temper_cli_printable (run->model_name, FALSE);
        g_autofree char *dataset = temper_cli_printable (run->dataset_name != NULL ? run->dataset_name : "", FALSE);

        printf (_("  State:    %s\n"), state_words (run->state));
        printf (_("  Model:    %s\n"), model);
        printf (_("  Dataset:  %s\n"), dataset);
      }
      if (run->last_step > 0 && isfinite (run->last_loss))
        printf (_("  Step:     %lld, loss %.4f\n"), (long long) run->last_step, run->last_loss);
      if (isfinite (run->last_val_loss))
        printf (_("  Validation loss: %.4f\n"), run->last_val_loss);
      printf (_("  Made:     %s\n"), date);
      if (run->lock_holder != NULL)
        printf (_("  In use by %s\n"), run->lock_holder);
      printf (_("  Folder:   %s\n"), run->dir);
    }
}

static void
add_string_or_null (JsonBuilder *b, const char *name, const char *value)
{
  json_builder_set_member_name (b, name);
  if (value != NULL)
    json_builder_add_string_value (b, value);
  else
    json_builder_add_null_value (b);
}

static void
add_number_or_null (JsonBuilder *b, const char *name, double value)
{
  json_builder_set_member_name (b, name);
  if (isfinite (value))
    json_builder_add_double_value (b, value);
  else
    json_builder_add_null_value (b);
}

/* English keys and values, for scripts. */
static void
print_runs_json (const char *root, GPtrArray *runs)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) node = NULL;
  g_autofree char *text = NULL;

  json_builder_begin_object (b);
  add_string_or_null (b, "folder", root);
  json_builder_set_member_name (b, "runs");
  json_builder_begin_array (b);
  for (guint i = 0; i < runs->len; i++)
    {
      const TemperRunSummary *run = runs->pdata[i];
      g_autoptr(GDateTime) created = run->created > 0 ? g_date_time_new_from_unix_utc (run->created) : NULL;
      g_autofree char *date = created != NULL ? g_date_time_format_iso8601 (created) : NULL;

      json_builder_begin_object (b);
      add_string_or_null (b, "name", run->name);
      add_string_or_null (b, "dir", run->dir);
      add_string_or_null (b, "state", temper_run_state_to_string (run->state));
      add_string_or_null (b, "model", run->model_name);
      add_string_or_null (b, "model_path", run->model_path);
      add_string_or_null (b, "dataset", run->dataset_name);
      json_builder_set_member_name (b, "step");
      json_builder_add_int_value (b, run->last_step);
      add_number_or_null (b, "loss", run->last_loss);
      add_number_or_null (b, "val_loss", run->last_val_loss);
      add_string_or_null (b, "created", date);
      add_string_or_null (b, "locked_by", run->lock_holder);
      add_string_or_null (b, "problem", run->problem);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_end_object (b);

  node = json_builder_get_root (b);
  json_generator_set_root (generator, node);
  json_generator_set_pretty (generator, TRUE);
  text = json_generator_to_data (generator, NULL);
  printf ("%s\n", text);
}

int
temper_cli_runs (int argc, char **argv)
{
  gboolean json = FALSE;
  g_autofree char *root = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) runs = NULL;
  int code;
  const GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print the list as JSON"), NULL },
    { NULL }
  };

  if (!temper_cli_parse (&argc, &argv, "runs", "[FOLDER]",
                         N_("List the training runs in FOLDER (default: Temper's runs folder), "
                            "newest first, with their model, dataset, state, last loss and date."),
                         entries, &code))
    return code;
  if (argc > 2)
    return temper_cli_fail ("runs", TEMPER_CLI_EXIT_USAGE, _("give at most one folder (see --help)"));
  root = argc == 2 ? g_strdup (argv[1]) : temper_runs_default_root ();
  if (argc == 2 && !g_file_test (root, G_FILE_TEST_IS_DIR))
    return temper_cli_fail ("runs", TEMPER_CLI_EXIT_USAGE, _("“%s” is not a folder"), root);
  runs = temper_runs_list (root, NULL, &error);
  if (runs == NULL)
    return temper_cli_error ("runs", error);
  if (json)
    print_runs_json (root, runs);
  else
    print_runs_text (root, runs);
  return TEMPER_CLI_EXIT_OK;
}

static void
print_ratings_summary (TemperRatings *ratings)
{
  TemperRatingsSummary s;

  temper_ratings_get_summary (ratings, &s);
  printf (_("Prompts:        %u\n"), s.n_prompts);
  printf (_("Judged:         %u\n"), s.n_judged);
  printf (_("Tuned better:   %u\n"), s.wins);
  printf (_("Base better:    %u\n"), s.losses);
  printf (_("Ties:           %u\n"), s.ties);
  if (s.has_rate)
    /* Translators: the share of judged prompts the tuned model won (ties count half), with its 95% interval */
    printf (_("Win rate:       %.0f%% (95%% interval %.0f%%–%.0f%%)\n"),
            100 * s.rate, 100 * s.low, 100 * s.high);
}

int
temper_cli_ratings (int argc, char **argv)
{
  g_autofree char *export_path = NULL;
  g_autofree char *path = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(TemperRatings) ratings = NULL;
  gboolean csv = FALSE;
  int code;
  const GOptionEntry entries[] = {
    { "export", 'o', 0, G_OPTION_ARG_FILENAME, &export_path,
      N_("Write the ratings to FILE: CSV (one row per answer) for a name ending in .csv, "
         "JSON (with the summary) for .json"), "FILE" },
    { NULL }
  };

  if (!temper_cli_parse (&argc, &argv, "ratings", "RUN",
                         N_("Sum up the ratings given on the app's Compare page for a run, "
                            "or export them."),
                         entries, &code))
    return code;
  if (argc != 2)
    return temper_cli_fail ("ratings", TEMPER_CLI_EXIT_USAGE, _("give one run folder (see --help)"));
  if (export_path != NULL)
    {
      g_autofree char *lower = g_ascii_strdown (export_path, -1);

      csv = g_str_has_suffix (lower, ".csv");
      if (!csv && !g_str_has_suffix (lower, ".json"))
        return temper_cli_fail ("ratings", TEMPER_CLI_EXIT_USAGE,
                                _("--export: give a file name ending in .csv or .json"));
    }
  path = temper_ratings_dup_run_path (argv[1]);
  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    return temper_cli_fail ("ratings", TEMPER_CLI_EXIT_FAILED,
                            _("“%s” holds no ratings: rate answers on the app's Compare page first"),
                            argv[1]);
  ratings = temper_ratings_load (path, &error);
  if (ratings == NULL)
    return temper_cli_error ("ratings", error);
  if (export_path == NULL)
    {
      print_ratings_summary (ratings);
      return TEMPER_CLI_EXIT_OK;
    }
  /* Never over a file of the person's. */
  if (g_file_test (export_path, G_FILE_TEST_EXISTS))
    return temper_cli_fail ("ratings", TEMPER_CLI_EXIT_FAILED,
                            _("%s already exists: choose another name"), export_path);
  if (!(csv ? temper_ratings_export_csv (ratings, export_path, &error)
            : temper_ratings_export_json (ratings, export_path, &error)))
    return temper_cli_error ("ratings", error);
  printf (_("Wrote %s\n"), export_path);
  return TEMPER_CLI_EXIT_OK;
}
