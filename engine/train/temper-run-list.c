/* SPDX-License-Identifier: MIT */
/* temper-run-list.c — naming new runs and listing the runs there are, for
 * the app's Runs page and `temper-cli runs` alike. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <math.h>
#include <string.h>

#include <glib/gstdio.h>

#include "temper/discovery.h"
#include "temper/run.h"

char *
temper_runs_default_root (void)
{
  return g_build_filename (g_get_user_data_dir (), "temper", "runs", NULL);
}

char *
temper_run_dup_model_name (const char *model_path)
{
  g_autoptr(TemperDiscoveredModel) found = NULL;
  const char *name, *slash;

  g_return_val_if_fail (model_path != NULL, NULL);

  found = temper_discovery_inspect (model_path, TEMPER_MODEL_SOURCE_FOLDER, NULL);
  name = found->display_name != NULL && found->display_name[0] != '\0' ? found->display_name : model_path;
  /* "HuggingFaceTB/SmolLM2-135M-Instruct": the organisation says nothing
   * about what was taught. */
  slash = strrchr (name, '/');
  if (slash != NULL && slash[1] != '\0')
    name = slash + 1;
  return g_strdup (name);
}

/* Letters, digits, "-", "_" and "." stay; each run of anything else becomes
 * one "-"; no "-" at either end. */
static void
append_safe (GString    *out,
             const char *text)
{
  gboolean dash = out->len > 0;

  for (const char *c = text; *c != '\0'; c++)
    {
      if (g_ascii_isalnum (*c) || *c == '_' || *c == '.')
        {
          if (dash && out->len > 0)
            g_string_append_c (out, '-');
          dash = FALSE;
          g_string_append_c (out, *c);
        }
      else
        dash = TRUE;
    }
}

char *
temper_run_make_name (GDateTime  *when,
                      const char *model_name,
                      const char *data_path)
{
  g_autofree char *stamp = NULL;
  GString *name;

  g_return_val_if_fail (when != NULL, NULL);

  stamp = g_date_time_format (when, "%Y-%m-%d-%H%M%S");
  name = g_string_new (stamp);
  if (model_name != NULL)
    append_safe (name, model_name);
  if (data_path != NULL)
    {
      g_autofree char *base = g_path_get_basename (data_path);
      char *dot = strrchr (base, '.');

      /* "recipes.jsonl" → "recipes"; ".hidden" keeps its name. */
      if (dot != NULL && dot != base)
        *dot = '\0';
      append_safe (name, base);
    }
  return g_string_free (name, FALSE);
}

char *
temper_run_find_free_dir (const char *root,
                          const char *name)
{
  g_autofree char *default_root = root == NULL ? temper_runs_default_root () : NULL;
  char *dir;

  g_return_val_if_fail (name != NULL, NULL);

  if (root == NULL)
    root = default_root;
  dir = g_build_filename (root, name, NULL);
  for (guint i = 2; g_file_test (dir, G_FILE_TEST_EXISTS); i++)
    {
      g_autofree char *numbered = g_strdup_printf ("%s-%u", name, i);

      g_free (dir);
      dir = g_build_filename (root, numbered, NULL);
    }
  return dir;
}

void
temper_run_summary_free (TemperRunSummary *summary)
{
  if (summary == NULL)
    return;
  g_free (summary->dir);
  g_free (summary->name);
  g_free (summary->model_path);
  g_free (summary->model_name);
  g_free (summary->dataset_name);
  g_free (summary->lock_holder);
  g_free (summary->problem);
  g_free (summary);
}

const char *
temper_run_state_to_string (TemperRunState state)
{
  switch (state)
    {
    case TEMPER_RUN_STATE_NOT_STARTED: return "not-started";
    case TEMPER_RUN_STATE_STOPPED:     return "stopped";
    case TEMPER_RUN_STATE_FINISHED:    return "finished";
    case TEMPER_RUN_STATE_UNREADABLE:
    default:                           return "unreadable";
    }
}

TemperRunSummary *
temper_run_summarize (const char *dir)
{
  TemperRunSummary *summary = g_new0 (TemperRunSummary, 1);
  g_autoptr(GError) error = NULL;
  g_autoptr(temper_run_t) run = NULL;
  g_autoptr(GArray) metrics = NULL;
  g_autofree char *adapter_dir = NULL;
  g_autofree char *settings_path = g_build_filename (dir, "settings.json", NULL);
  GStatBuf st;

  summary->dir = g_strdup (dir);
  summary->name = g_path_get_basename (dir);
  summary->last_loss = NAN;
  summary->last_val_loss = NAN;
  if (g_stat (settings_path, &st) == 0)
    summary->created = (gint64) st.st_mtime;

  run = temper_run_open (dir, &error);
  if (run == NULL)
    {
      summary->state = TEMPER_RUN_STATE_UNREADABLE;
      summary->problem = g_strdup (error->message);
      return summary;
    }

  summary->model_path = g_strdup (temper_run_get_model_path (run));
  summary->model_name = temper_run_dup_model_name (summary->model_path);
  if (temper_run_get_data_path (run) != NULL)
    summary->dataset_name = g_path_get_basename (temper_run_get_data_path (run));
  summary->lock_holder = temper_run_dup_lock_holder (dir);
  /* A run whose metrics cannot be read still lists, as not started. */
  metrics = temper_run_read_metrics (run, NULL);
  for (guint i = 0; metrics != NULL && i < metrics->len; i++)
    {
      const TemperRunMetrics *m = &g_array_index (metrics, TemperRunMetrics, i);

      summary->last_step = m->step;
      if (isfinite (m->loss))
        summary->last_loss = m->loss;
      if (isfinite (m->val_loss))
        summary->last_val_loss = m->val_loss;
    }
  adapter_dir = temper_run_dup_adapter_dir (run);
  if (g_file_test (adapter_dir, G_FILE_TEST_IS_DIR))
    summary->state = TEMPER_RUN_STATE_FINISHED;
  else if (summary->last_step > 0)
    summary->state = TEMPER_RUN_STATE_STOPPED;
  else
    summary->state = TEMPER_RUN_STATE_NOT_STARTED;
  return summary;
}

static int
compare_newest_first (gconstpointer a,
                      gconstpointer b)
{
  const TemperRunSummary *ra = *(TemperRunSummary * const *) a;
  const TemperRunSummary *rb = *(TemperRunSummary * const *) b;

  /* Folder names start with the date and time. */
  return -g_strcmp0 (ra->dir, rb->dir);
}

GPtrArray *
temper_runs_list (const char    *root,
                  GCancellable  *cancellable,
                  GError       **error)
{
  g_autofree char *default_root = root == NULL ? temper_runs_default_root () : NULL;
  g_autoptr(GPtrArray) runs = g_ptr_array_new_with_free_func ((GDestroyNotify) temper_run_summary_free);
  g_autoptr(GDir) dir = NULL;
  g_autoptr(GError) local = NULL;
  const char *name;

  if (root == NULL)
    root = default_root;
  /* No folder yet simply means no runs yet. */
  if (!g_file_test (root, G_FILE_TEST_EXISTS))
    return g_steal_pointer (&runs);
  dir = g_dir_open (root, 0, &local);
  if (dir == NULL)
    {
      g_set_error (error, local->domain, local->code,
                   _("Could not list the runs in “%s”: %s"), root, local->message);
      return NULL;
    }
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (root, name, NULL);
      g_autofree char *settings = g_build_filename (path, "settings.json", NULL);

      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return NULL;
      if (g_file_test (settings, G_FILE_TEST_IS_REGULAR))
        g_ptr_array_add (runs, temper_run_summarize (path));
    }
  g_ptr_array_sort (runs, compare_newest_first);
  return g_steal_pointer (&runs);
}
