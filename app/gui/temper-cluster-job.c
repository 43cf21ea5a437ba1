/* SPDX-License-Identifier: MIT */
/* temper-cluster-job.c — the dialogs around temper_job_export() and
 * temper_run_import(); the work runs on a worker thread, the window never
 * waits. */
#include "config.h"

#include <glib/gi18n.h>
#include <adwaita.h>
#include <glib/gstdio.h>

#include "temper/job.h"
#include "temper/run.h"
#include "temper-cluster-job.h"
#include "temper-paths.h"
#include "temper-show-in-files.h"

typedef struct {
  GtkWidget           *parent;
  char                *run_dir;      /* or NULL: a run made for the export only */
  char                *model_path;
  char                *data_path;
  TemperTrainSettings  settings;
  TemperJobEngine      engine;
  char                *model_id;
  char                *out_dir;
  AdwComboRow         *engine_row;
  AdwEntryRow         *model_row;
  GtkFileChooserNative *chooser;
  TemperClusterImported done;
  GObject             *done_object;
} ClusterJob;

static void
cluster_job_free (gpointer data)
{
  ClusterJob *job = data;

  g_clear_object (&job->parent);
  g_free (job->run_dir);
  g_free (job->model_path);
  g_free (job->data_path);
  g_free (job->model_id);
  g_free (job->out_dir);
  g_clear_object (&job->chooser);
  g_clear_object (&job->done_object);
  g_free (job);
}

static GtkWindow *
window_of (GtkWidget *widget)
{
  GtkRoot *root = gtk_widget_get_root (widget);

  return GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL;
}

static void
show_message (GtkWidget *parent, const char *heading, const char *body)
{
  GtkWidget *dialog = adw_message_dialog_new (window_of (parent), heading, body);

  adw_message_dialog_add_response (ADW_MESSAGE_DIALOG (dialog), "close", _("_Close"));
  gtk_window_present (GTK_WINDOW (dialog));
}

/* ---- Export -------------------------------------------------------------- */

/* Removes the temporary run folder this file made (links removed, never
 * followed). */
static void
remove_temp_tree (const char *path)
{
  g_autoptr(GDir) dir = NULL;
  const char *name;

  if (!g_file_test (path, G_FILE_TEST_IS_SYMLINK))
    dir = g_dir_open (path, 0, NULL);
  if (dir == NULL)
    {
      g_unlink (path);
      return;
    }
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      remove_temp_tree (child);
    }
  g_rmdir (path);
}

static void
export_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  ClusterJob *job = task_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *temp = NULL;
  g_autofree char *run_dir = g_strdup (job->run_dir);
  TemperJobOptions options;
  gboolean ok;

  if (run_dir == NULL)
    {
      /* A run not started yet: its folder exists only while the job is written. */
      g_autoptr(temper_run_t) run = NULL;

      temp = g_dir_make_tmp ("temper-job-XXXXXX", &error);
      if (temp == NULL)
        {
          g_task_return_error (task, g_steal_pointer (&error));
          return;
        }
      run_dir = g_build_filename (temp, "run", NULL);
      run = temper_run_create (run_dir, &job->settings, job->model_path, job->data_path, NULL,
                               &error);
      if (run == NULL)
        {
          remove_temp_tree (temp);
          g_task_return_error (task, g_steal_pointer (&error));
          return;
        }
    }
  temper_job_options_init (&options);
  options.engine = job->engine;
  options.model_id = job->model_id;
  ok = temper_job_export (run_dir, job->out_dir, &options, &error);
  if (temp != NULL)
    remove_temp_tree (temp);
  if (!ok)
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_boolean (task, TRUE);
}

static void
exported_response_cb (AdwMessageDialog *dialog, const char *response, gpointer user_data)
{
  const char *readme = g_object_get_data (G_OBJECT (dialog), "readme");

  if (g_strcmp0 (response, "show") == 0)
    temper_show_in_files (GTK_WIDGET (dialog), readme);
}

static void
exported_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  ClusterJob *job = g_task_get_task_data (G_TASK (result));
  g_autoptr(GError) error = NULL;
  GtkWidget *dialog;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      show_message (job->parent, _("The Job Could Not Be Written"), error->message);
      return;
    }
  dialog = adw_message_dialog_new (window_of (job->parent), _("Job Written"),
                                   _("Copy the folder to the cluster and follow its README.md. "
                                     "When training is done, bring the folder back and import it "
                                     "on the Runs page."));
  g_object_set_data_full (G_OBJECT (dialog), "readme",
                          g_build_filename (job->out_dir, "README.md", NULL), g_free);
  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog),
                                    "close", _("_Close"),
                                    "show", _("_Show in Files"),
                                    NULL);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "show");
  g_signal_connect (dialog, "response", G_CALLBACK (exported_response_cb), NULL);
  gtk_widget_set_name (dialog, "cluster-job-written");
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
folder_chosen_cb (GtkNativeDialog *chooser, int response, gpointer user_data)
{
  ClusterJob *job = user_data;
  g_autoptr(GTask) task = NULL;

  job->out_dir = temper_paths_from_chooser (GTK_FILE_CHOOSER_NATIVE (chooser), response);
  if (job->out_dir == NULL)
    {
      cluster_job_free (job);
      return;
    }
  task = g_task_new (NULL, NULL, exported_cb, NULL);
  g_task_set_task_data (task, job, cluster_job_free);
  g_task_run_in_thread (task, export_thread);
}

static void
export_response_cb (AdwMessageDialog *dialog, const char *response, gpointer user_data)
{
  ClusterJob *job = user_data;

  if (g_strcmp0 (response, "choose") != 0)
    {
      cluster_job_free (job);
      return;
    }
  job->engine = adw_combo_row_get_selected (job->engine_row) == 1 ? TEMPER_JOB_AXOLOTL
                                                                   : TEMPER_JOB_LLAMAFACTORY;
  job->model_id = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (job->model_row))));
  job->chooser = gtk_file_chooser_native_new (_("Choose an Empty Folder for the Job"),
                                              window_of (job->parent),
                                              GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER,
                                              _("_Select"), _("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (job->chooser), TRUE);
  g_signal_connect (job->chooser, "response", G_CALLBACK (folder_chosen_cb), job);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (job->chooser));
}

void
temper_cluster_job_export (GtkWidget                 *parent,
                           const char                *run_dir,
                           const char                *model_path,
                           const char                *data_path,
                           const TemperTrainSettings *settings)
{
  ClusterJob *job = g_new0 (ClusterJob, 1);
  g_autoptr(GtkStringList) engines = gtk_string_list_new (NULL);
  GtkWidget *dialog, *group;

  g_return_if_fail (GTK_IS_WIDGET (parent));
  g_return_if_fail (run_dir != NULL || (model_path != NULL && data_path != NULL && settings != NULL));

  job->parent = g_object_ref (parent);
  job->run_dir = g_strdup (run_dir);
  job->model_path = g_strdup (model_path);
  job->data_path = g_strdup (data_path);
  if (settings != NULL)
    job->settings = *settings;
  if (model_path == NULL)
    {
      g_autoptr(temper_run_t) run = temper_run_open (run_dir, NULL);

      if (run != NULL)
        job->model_path = g_strdup (temper_run_get_model_path (run));
    }

  dialog = adw_message_dialog_new (window_of (parent), _("Train on a Cluster"),
                                   _("Temper writes a folder that trains the same adapter with "
                                     "LLaMA-Factory or axolotl on machines with several GPUs: the "
                                     "data, the settings, DeepSpeed and FSDP configurations, launch "
                                     "scripts and a README. Afterwards, import the result on the "
                                     "Runs page to compare and export it here."));
  gtk_widget_set_name (dialog, "cluster-job-dialog");
  group = adw_preferences_group_new ();
  gtk_string_list_append (engines, "LLaMA-Factory");
  gtk_string_list_append (engines, "axolotl");
  job->engine_row = ADW_COMBO_ROW (adw_combo_row_new ());
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (job->engine_row), _("Trainer"));
  adw_combo_row_set_model (job->engine_row, G_LIST_MODEL (engines));
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (group), GTK_WIDGET (job->engine_row));
  job->model_row = ADW_ENTRY_ROW (adw_entry_row_new ());
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (job->model_row),
                                 _("Base model on the cluster (Hugging Face id or folder)"));
  /* A Hugging Face folder is its own answer; a GGUF file has no trainer equivalent. */
  if (job->model_path != NULL && g_file_test (job->model_path, G_FILE_TEST_IS_DIR))
    gtk_editable_set_text (GTK_EDITABLE (job->model_row), job->model_path);
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (group), GTK_WIDGET (job->model_row));
  adw_message_dialog_set_extra_child (ADW_MESSAGE_DIALOG (dialog), group);
  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog),
                                    "cancel", _("_Cancel"),
                                    "choose", _("_Choose Folder…"),
                                    NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "choose",
                                              ADW_RESPONSE_SUGGESTED);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "choose");
  adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  g_signal_connect (dialog, "response", G_CALLBACK (export_response_cb), job);
  gtk_window_present (GTK_WINDOW (dialog));
}

/* ---- Import -------------------------------------------------------------- */

static void
import_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  ClusterJob *job = task_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *base = g_path_get_basename (job->out_dir);
  g_autofree char *name = g_strconcat (base, "-imported", NULL);

  job->run_dir = temper_run_find_free_dir (NULL, name);
  if (!temper_run_import (job->out_dir, job->run_dir, NULL, NULL, cancellable, &error))
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_boolean (task, TRUE);
}

static void
imported_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  ClusterJob *job = g_task_get_task_data (G_TASK (result));
  g_autoptr(GError) error = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      show_message (job->parent, _("The Run Could Not Be Imported"), error->message);
      return;
    }
  if (job->done != NULL)
    job->done (job->run_dir, job->done_object);
}

static void
import_chosen_cb (GtkNativeDialog *chooser, int response, gpointer user_data)
{
  ClusterJob *job = user_data;
  g_autoptr(GTask) task = NULL;

  /* out_dir holds the folder to import from. */
  job->out_dir = temper_paths_from_chooser (GTK_FILE_CHOOSER_NATIVE (chooser), response);
  if (job->out_dir == NULL)
    {
      cluster_job_free (job);
      return;
    }
  task = g_task_new (NULL, NULL, imported_cb, NULL);
  g_task_set_task_data (task, job, cluster_job_free);
  g_task_run_in_thread (task, import_thread);
}

void
temper_cluster_job_import (GtkWidget            *parent,
                           TemperClusterImported done,
                           GObject              *done_object)
{
  ClusterJob *job = g_new0 (ClusterJob, 1);

  g_return_if_fail (GTK_IS_WIDGET (parent));

  job->parent = g_object_ref (parent);
  job->done = done;
  job->done_object = done_object != NULL ? g_object_ref (done_object) : NULL;
  job->chooser = gtk_file_chooser_native_new (_("Choose the Job Folder or the Trainer’s Output"),
                                              window_of (parent),
                                              GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER,
                                              _("_Import"), _("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (job->chooser), TRUE);
  g_signal_connect (job->chooser, "response", G_CALLBACK (import_chosen_cb), job);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (job->chooser));
}
