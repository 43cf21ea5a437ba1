/* SPDX-License-Identifier: MIT */
/* temper-export-page.c — runs temper_export_run() on a worker thread.
 *
 * The worker owns a snapshot (a reference to the loaded model, the run
 * folder, the choice, the destination), so nothing changed on the page
 * meanwhile affects an export under way.  Progress comes back through
 * g_idle_add_full() holding a weak reference to the page and the number of
 * the export it belongs to; Cancel trips the GCancellable, which the engine
 * checks between tensors, and the engine's temporary names guarantee that
 * nothing half-written is left under the final name. */
#include "config.h"

#include <glib/gi18n.h>

#include "temper/error.h"
#include "temper-error-banner.h"
#include "temper-export-page.h"
#include "temper-page.h"
#include "temper-show-in-files.h"
#include "temper-paths.h"

struct _TemperExportPage
{
  AdwPreferencesPage   parent_instance;

  TemperLoadedModel   *model;
  char                *run_dir;
  char                *folder;
  TemperExportChoice   choice;
  TemperExportQuant    quant;

  TemperExportState    state;
  GCancellable        *cancellable;
  guint                generation;   /* tells updates of an older export apart */
  TemperExportResult  *result;
  guint                n_earlier;
  GtkFileChooserNative *chooser;

  TemperErrorBanner   *error_banner;
  GtkCheckButton      *checks[TEMPER_EXPORT_N_CHOICES];
  AdwActionRow        *choice_rows[TEMPER_EXPORT_N_CHOICES];
  char                *choice_subtitles[TEMPER_EXPORT_N_CHOICES];
  AdwComboRow         *quant_row;
  AdwActionRow        *folder_row;
  AdwActionRow        *status_row;
  GtkWidget           *export_button;
  GtkWidget           *cancel_button;
  GtkProgressBar      *progress_bar;
  GtkWidget           *result_group;
  AdwActionRow        *output_row;
  AdwActionRow        *check_row;
  GtkImage            *check_icon;
  GtkWidget           *ollama_group;
  GtkLabel            *command_label;
  GtkWidget           *earlier_group;
  GtkListBox          *earlier_list;

  /* Bound from the template by name, then copied into the arrays above. */
  GtkCheckButton      *peft_check, *gguf_adapter_check, *merged_hf_check, *merged_gguf_check;
  AdwActionRow        *peft_row, *gguf_adapter_row, *merged_hf_row, *merged_gguf_row;
};

static void temper_export_page_page_iface_init (TemperPageInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (TemperExportPage, temper_export_page, ADW_TYPE_PREFERENCES_PAGE,
                               G_IMPLEMENT_INTERFACE (TEMPER_TYPE_PAGE, temper_export_page_page_iface_init))

enum {
  PROP_0,
  PROP_STATE,
  PROP_BUSY,
  PROP_COMPLETE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* The combo row's items, in order. */
static const TemperExportQuant quant_items[] = {
  TEMPER_EXPORT_F16, TEMPER_EXPORT_Q8_0, TEMPER_EXPORT_Q4_K_M,
};

/* ---- The worker ---------------------------------------------------------- */

typedef struct {
  TemperLoadedModel  *model;
  char               *run_dir;
  char               *folder;
  TemperExportChoice  choice;
  TemperExportQuant   quant;
  guint               generation;
  GWeakRef            page;
} ExportJob;

static void
export_job_free (gpointer data)
{
  ExportJob *job = data;

  g_clear_object (&job->model);
  g_free (job->run_dir);
  g_free (job->folder);
  g_weak_ref_clear (&job->page);
  g_free (job);
}

typedef struct {
  GWeakRef page;
  guint    generation;
  double   fraction;
} ProgressUpdate;

static void
progress_update_free (gpointer data)
{
  ProgressUpdate *update = data;

  g_weak_ref_clear (&update->page);
  g_free (update);
}

static gboolean
progress_update_idle (gpointer data)
{
  ProgressUpdate *update = data;
  g_autoptr(TemperExportPage) self = g_weak_ref_get (&update->page);

  /* A disposed page has lost its widgets; an older export's news is stale. */
  if (self == NULL || self->progress_bar == NULL || update->generation != self->generation ||
      self->state != TEMPER_EXPORT_STATE_RUNNING)
    return G_SOURCE_REMOVE;
  gtk_progress_bar_set_fraction (self->progress_bar, CLAMP (update->fraction, 0.0, 1.0));
  return G_SOURCE_REMOVE;
}

static void
progress_cb (double   fraction,
             gpointer user_data)
{
  ExportJob *job = user_data;
  ProgressUpdate *update = g_new0 (ProgressUpdate, 1);
  g_autoptr(GObject) page = g_weak_ref_get (&job->page);

  g_weak_ref_init (&update->page, page);
  update->generation = job->generation;
  update->fraction = fraction;
  g_idle_add_full (G_PRIORITY_DEFAULT, progress_update_idle, update, progress_update_free);
}

static void
export_thread (GTask        *task,
               gpointer      source_object,
               gpointer      task_data,
               GCancellable *cancellable)
{
  ExportJob *job = task_data;
  TemperExportOptions options;
  TemperExportResult *result;
  GError *error = NULL;

  temper_export_options_init (&options);
  options.cancellable = cancellable;
  options.progress = progress_cb;
  options.progress_data = job;
  /* Exports only read the model; the loaded model is shared read-only and
   * outlives the worker through job->model. */
  result = temper_export_run (temper_loaded_model_get_model (job->model),
                              job->run_dir, job->choice, job->quant, job->folder, &options, &error);
  if (result == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, result, (GDestroyNotify) temper_export_result_free);
}

/* ---- The page ------------------------------------------------------------ */

static gboolean
is_busy (TemperExportPage *self)
{
  return self->cancellable != NULL;
}

static gboolean
is_complete (TemperExportPage *self)
{
  return self->state == TEMPER_EXPORT_STATE_DONE || self->n_earlier > 0;
}

static const char *
state_title (TemperExportState state)
{
  switch (state)
    {
    case TEMPER_EXPORT_STATE_READY:     return _("Ready to export");
    case TEMPER_EXPORT_STATE_RUNNING:   return _("Exporting…");
    case TEMPER_EXPORT_STATE_DONE:      return _("Exported");
    case TEMPER_EXPORT_STATE_CANCELLED: return _("Export cancelled; nothing was left half-written");
    case TEMPER_EXPORT_STATE_FAILED:    return _("Export failed");
    default:                            return "";
    }
}

static const temper_model_t *
engine_model (TemperExportPage *self)
{
  return self->model != NULL ? temper_loaded_model_get_model (self->model) : NULL;
}

static void
update_controls (TemperExportPage *self)
{
  gboolean busy = is_busy (self);
  gboolean cancelling = busy && g_cancellable_is_cancelled (self->cancellable);
  gboolean ready = self->model != NULL && self->run_dir != NULL;
  g_autofree char *target = NULL;

  for (guint i = 0; i < TEMPER_EXPORT_N_CHOICES; i++)
    {
      g_autofree char *why = NULL;
      gboolean available = temper_export_choice_available (engine_model (self), i, &why);

      /* Without a model every choice is open: the rows only explain. */
      if (engine_model (self) == NULL)
        available = TRUE;
      gtk_widget_set_sensitive (GTK_WIDGET (self->choice_rows[i]), available && !busy);
      adw_action_row_set_subtitle (self->choice_rows[i],
                                   available || why == NULL ? self->choice_subtitles[i] : why);
    }
  gtk_widget_set_sensitive (GTK_WIDGET (self->quant_row),
                            self->choice == TEMPER_EXPORT_CHOICE_MERGED_GGUF && !busy);

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "page.export",
                                 !busy && ready && self->folder != NULL &&
                                 temper_export_choice_available (engine_model (self), self->choice, NULL));
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "page.cancel", busy && !cancelling);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "page.choose-folder", !busy && ready);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "page.show-in-files", self->result != NULL);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "page.copy-command",
                                 self->result != NULL && self->result->ollama_command != NULL);
  gtk_widget_set_visible (self->export_button, !busy);
  gtk_widget_set_visible (self->cancel_button, busy);
  gtk_widget_set_visible (GTK_WIDGET (self->progress_bar), busy);

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->status_row),
                                 cancelling ? _("Cancelling…") : state_title (self->state));
  if (!ready)
    adw_action_row_set_subtitle (self->status_row, _("Train a run to the end first, or open one from the Runs page."));
  else if (engine_model (self) != NULL && self->folder != NULL)
    {
      g_autofree char *path = temper_export_output_path (engine_model (self), self->choice,
                                                         self->quant, self->folder);
      g_autofree char *base = g_path_get_basename (path);

      if (self->state == TEMPER_EXPORT_STATE_DONE && self->result != NULL)
        {
          g_autofree char *written = g_path_get_basename (self->result->output_path);

          /* Translators: %s is the name the export was written under */
          target = g_strdup_printf (_("Wrote %s"), written);
        }
      else
        /* Translators: %s is the name the export will be written under */
        target = g_strdup_printf (_("Writes %s"), base);
      adw_action_row_set_subtitle (self->status_row, target);
    }
  adw_action_row_set_subtitle (self->folder_row, self->folder != NULL ? self->folder : "—");
}

static void
set_state (TemperExportPage  *self,
           TemperExportState  state)
{
  gboolean was_complete = is_complete (self);

  self->state = state;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
  if (was_complete != is_complete (self))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_COMPLETE]);
  update_controls (self);
}

/* A new choice, size or folder is a new export to make: the last one's
 * outcome stays shown below, but the status speaks of the next. */
static void
ready_for_another (TemperExportPage *self)
{
  if (self->state != TEMPER_EXPORT_STATE_READY && !is_busy (self))
    set_state (self, TEMPER_EXPORT_STATE_READY);
  else
    update_controls (self);
}

/* What a finished export is, from its name and contents, in the words of
 * the choice rows. */
static const char *
describe_export (const char *path)
{
  g_autofree char *peft = g_build_filename (path, "adapter_config.json", NULL);
  g_autofree char *hf = g_build_filename (path, "config.json", NULL);

  if (g_file_test (peft, G_FILE_TEST_IS_REGULAR))
    return _("Adapter for Hugging Face (PEFT)");
  if (g_file_test (hf, G_FILE_TEST_IS_REGULAR))
    return _("Merged Hugging Face folder");
  if (g_str_has_suffix (path, "-lora.gguf"))
    return _("Adapter for llama.cpp (GGUF)");
  if (g_str_has_suffix (path, ".gguf"))
    return _("Merged GGUF for Ollama and llama.cpp");
  if (g_str_has_suffix (path, ".Modelfile"))
    return _("Ollama Modelfile");
  return NULL;
}

static void
earlier_show_clicked_cb (GtkButton *button,
                         gpointer   user_data)
{
  temper_show_in_files (GTK_WIDGET (button), g_object_get_data (G_OBJECT (button), "path"));
}

static int
compare_names (gconstpointer a,
               gconstpointer b)
{
  return g_strcmp0 (*(char * const *) a, *(char * const *) b);
}

/* Lists what is already in the run's exports folder.  The folder is the
 * run's own, on the local disk, and holds a handful of entries: reading it
 * is as quick as drawing the rows. */
static void
list_earlier (TemperExportPage *self)
{
  g_autofree char *folder = self->run_dir != NULL ? temper_export_page_default_folder (self->run_dir) : NULL;
  g_autoptr(GDir) dir = folder != NULL ? g_dir_open (folder, 0, NULL) : NULL;
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  gboolean was_complete = is_complete (self);
  GtkWidget *child;
  const char *name;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->earlier_list))) != NULL)
    gtk_list_box_remove (self->earlier_list, child);

  /* Names starting with '.' are the engine's temporary files. */
  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    if (name[0] != '.')
      g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, compare_names);

  self->n_earlier = 0;
  for (guint i = 0; i < names->len; i++)
    {
      g_autofree char *path = g_build_filename (folder, g_ptr_array_index (names, i), NULL);
      const char *what = describe_export (path);
      GtkWidget *row, *button;
      g_autofree char *label = NULL;

      if (what == NULL)
        continue;
      row = adw_action_row_new ();
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), g_ptr_array_index (names, i));
      adw_action_row_set_subtitle (ADW_ACTION_ROW (row), what);
      button = gtk_button_new_from_icon_name ("folder-open-symbolic");
      gtk_widget_set_valign (button, GTK_ALIGN_CENTER);
      gtk_widget_add_css_class (button, "flat");
      gtk_widget_set_tooltip_text (button, _("Show in Files"));
      /* Translators: %s is the name of an exported file or folder */
      label = g_strdup_printf (_("Show %s in the file manager"), (const char *) g_ptr_array_index (names, i));
      gtk_accessible_update_property (GTK_ACCESSIBLE (button), GTK_ACCESSIBLE_PROPERTY_LABEL, label, -1);
      g_object_set_data_full (G_OBJECT (button), "path", g_strdup (path), g_free);
      g_signal_connect (button, "clicked", G_CALLBACK (earlier_show_clicked_cb), NULL);
      adw_action_row_add_suffix (ADW_ACTION_ROW (row), button);
      gtk_list_box_append (self->earlier_list, row);
      self->n_earlier++;
    }
  gtk_widget_set_visible (self->earlier_group, self->n_earlier > 0);
  if (was_complete != is_complete (self))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_COMPLETE]);
}

static void
show_result (TemperExportPage *self)
{
  const TemperExportResult *result = self->result;
  g_autofree char *base = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *saved_in = NULL;

  gtk_widget_set_visible (self->result_group, result != NULL);
  gtk_widget_set_visible (self->ollama_group, result != NULL && result->ollama_command != NULL);
  if (result == NULL)
    return;

  base = g_path_get_basename (result->output_path);
  dir = g_path_get_dirname (result->output_path);
  /* Translators: %s is a folder */
  saved_in = g_strdup_printf (_("Saved in %s"), dir);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->output_row), base);
  adw_action_row_set_subtitle (self->output_row, saved_in);

  gtk_widget_set_visible (GTK_WIDGET (self->check_row), result->template_checked || result->template_problem != NULL);
  if (result->template_problem == NULL)
    {
      gtk_image_set_from_icon_name (self->check_icon, "emblem-ok-symbolic");
      gtk_widget_remove_css_class (GTK_WIDGET (self->check_icon), "warning");
      gtk_widget_add_css_class (GTK_WIDGET (self->check_icon), "success");
      adw_action_row_set_subtitle (self->check_row,
                                   _("Passed: the exported model formats conversations exactly as in training and stops at the end of each answer."));
    }
  else
    {
      g_autofree char *text = g_strdup_printf (_("Problem: %s Answers in other apps may differ from Temper’s."),
                                               result->template_problem);

      gtk_image_set_from_icon_name (self->check_icon, "dialog-warning-symbolic");
      gtk_widget_remove_css_class (GTK_WIDGET (self->check_icon), "success");
      gtk_widget_add_css_class (GTK_WIDGET (self->check_icon), "warning");
      adw_action_row_set_subtitle (self->check_row, text);
    }
  gtk_label_set_text (self->command_label, result->ollama_command != NULL ? result->ollama_command : "");
}

static void
export_done_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  TemperExportPage *self = TEMPER_EXPORT_PAGE (source);
  ExportJob *job = g_task_get_task_data (G_TASK (result));
  g_autoptr(GError) error = NULL;
  TemperExportResult *done;

  if (job->generation != self->generation)
    return;
  g_clear_object (&self->cancellable);
  /* A disposed page has no widgets left to show anything in. */
  if (self->progress_bar == NULL)
    return;

  done = g_task_propagate_pointer (G_TASK (result), &error);
  if (done != NULL)
    {
      g_clear_pointer (&self->result, temper_export_result_free);
      self->result = done;
      gtk_progress_bar_set_fraction (self->progress_bar, 1.0);
      show_result (self);
      list_earlier (self);
      set_state (self, TEMPER_EXPORT_STATE_DONE);
    }
  else if (g_error_matches (error, TEMPER_ERROR, TEMPER_ERROR_CANCELLED) ||
           g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    set_state (self, TEMPER_EXPORT_STATE_CANCELLED);
  else
    {
      temper_error_banner_show (self->error_banner, _("Temper could not export"), error, job->folder);
      set_state (self, TEMPER_EXPORT_STATE_FAILED);
    }
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BUSY]);
}

void
temper_export_page_start (TemperExportPage *self)
{
  g_autoptr(GTask) task = NULL;
  ExportJob *job;

  g_return_if_fail (TEMPER_IS_EXPORT_PAGE (self));

  if (is_busy (self) || self->model == NULL || self->run_dir == NULL || self->folder == NULL)
    return;

  temper_error_banner_dismiss (self->error_banner);
  g_clear_pointer (&self->result, temper_export_result_free);
  show_result (self);
  gtk_progress_bar_set_fraction (self->progress_bar, 0.0);

  self->generation++;
  self->cancellable = g_cancellable_new ();
  job = g_new0 (ExportJob, 1);
  job->model = g_object_ref (self->model);
  job->run_dir = g_strdup (self->run_dir);
  job->folder = g_strdup (self->folder);
  job->choice = self->choice;
  job->quant = self->quant;
  job->generation = self->generation;
  g_weak_ref_init (&job->page, self);

  task = g_task_new (self, self->cancellable, export_done_cb, NULL);
  g_task_set_source_tag (task, temper_export_page_start);
  g_task_set_task_data (task, job, export_job_free);
  g_task_run_in_thread (task, export_thread);

  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BUSY]);
  set_state (self, TEMPER_EXPORT_STATE_RUNNING);
}

void
temper_export_page_cancel (TemperExportPage *self)
{
  g_return_if_fail (TEMPER_IS_EXPORT_PAGE (self));

  if (!is_busy (self) || g_cancellable_is_cancelled (self->cancellable))
    return;
  g_cancellable_cancel (self->cancellable);
  update_controls (self);
}

char *
temper_export_page_default_folder (const char *run_dir)
{
  g_return_val_if_fail (run_dir != NULL, NULL);
  return g_build_filename (run_dir, "exports", NULL);
}

void
temper_export_page_set_source (TemperExportPage  *self,
                               TemperLoadedModel *model,
                               const char        *run_dir)
{
  gboolean same_run;

  g_return_if_fail (TEMPER_IS_EXPORT_PAGE (self));

  if (is_busy (self))
    return;
  same_run = g_strcmp0 (run_dir, self->run_dir) == 0;
  g_set_object (&self->model, model);
  if (!same_run)
    {
      g_free (self->run_dir);
      self->run_dir = g_strdup (run_dir);
      g_free (self->folder);
      self->folder = run_dir != NULL ? temper_export_page_default_folder (run_dir) : NULL;
      g_clear_pointer (&self->result, temper_export_result_free);
      temper_error_banner_dismiss (self->error_banner);
      show_result (self);
      list_earlier (self);
      set_state (self, TEMPER_EXPORT_STATE_READY);
    }
  /* A model that cannot make the current choice falls back to the first. */
  if (!temper_export_choice_available (engine_model (self), self->choice, NULL))
    temper_export_page_set_choice (self, TEMPER_EXPORT_CHOICE_PEFT);
  update_controls (self);
}

gboolean
temper_export_page_choice_available (TemperExportPage   *self,
                                     TemperExportChoice  choice)
{
  g_return_val_if_fail (TEMPER_IS_EXPORT_PAGE (self), FALSE);
  return temper_export_choice_available (engine_model (self), choice, NULL);
}

gboolean
temper_export_page_set_choice (TemperExportPage   *self,
                               TemperExportChoice  choice)
{
  g_return_val_if_fail (TEMPER_IS_EXPORT_PAGE (self), FALSE);
  g_return_val_if_fail (choice < TEMPER_EXPORT_N_CHOICES, FALSE);

  if (is_busy (self) || (engine_model (self) != NULL &&
                         !temper_export_choice_available (engine_model (self), choice, NULL)))
    return FALSE;
  self->choice = choice;
  /* Toggling the check calls back into choice_toggled_cb, which agrees. */
  gtk_check_button_set_active (self->checks[choice], TRUE);
  update_controls (self);
  return TRUE;
}

TemperExportChoice
temper_export_page_get_choice (TemperExportPage *self)
{
  g_return_val_if_fail (TEMPER_IS_EXPORT_PAGE (self), TEMPER_EXPORT_CHOICE_PEFT);
  return self->choice;
}

void
temper_export_page_set_quant (TemperExportPage  *self,
                              TemperExportQuant  quant)
{
  g_return_if_fail (TEMPER_IS_EXPORT_PAGE (self));

  for (guint i = 0; i < G_N_ELEMENTS (quant_items); i++)
    if (quant_items[i] == quant)
      adw_combo_row_set_selected (self->quant_row, i);
}

void
temper_export_page_set_folder (TemperExportPage *self,
                               const char       *folder)
{
  g_return_if_fail (TEMPER_IS_EXPORT_PAGE (self));
  g_return_if_fail (folder != NULL);

  if (is_busy (self))
    return;
  g_free (self->folder);
  self->folder = g_strdup (folder);
  ready_for_another (self);
}

const char *
temper_export_page_get_folder (TemperExportPage *self)
{
  g_return_val_if_fail (TEMPER_IS_EXPORT_PAGE (self), NULL);
  return self->folder;
}

TemperExportState
temper_export_page_get_state (TemperExportPage *self)
{
  g_return_val_if_fail (TEMPER_IS_EXPORT_PAGE (self), TEMPER_EXPORT_STATE_READY);
  return self->state;
}

gboolean
temper_export_page_is_busy (TemperExportPage *self)
{
  g_return_val_if_fail (TEMPER_IS_EXPORT_PAGE (self), FALSE);
  return is_busy (self);
}

const char *
temper_export_page_get_output_path (TemperExportPage *self)
{
  g_return_val_if_fail (TEMPER_IS_EXPORT_PAGE (self), NULL);
  return self->result != NULL ? self->result->output_path : NULL;
}

const char *
temper_export_page_get_ollama_command (TemperExportPage *self)
{
  g_return_val_if_fail (TEMPER_IS_EXPORT_PAGE (self), NULL);
  return self->result != NULL ? self->result->ollama_command : NULL;
}

const char *
temper_export_page_get_template_problem (TemperExportPage *self)
{
  g_return_val_if_fail (TEMPER_IS_EXPORT_PAGE (self), NULL);
  return self->result != NULL ? self->result->template_problem : NULL;
}

guint
temper_export_page_get_n_earlier (TemperExportPage *self)
{
  g_return_val_if_fail (TEMPER_IS_EXPORT_PAGE (self), 0);
  return self->n_earlier;
}

/* ---- Actions and signals ------------------------------------------------- */

static void
export_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  temper_export_page_start (TEMPER_EXPORT_PAGE (widget));
}

static void
cancel_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  temper_export_page_cancel (TEMPER_EXPORT_PAGE (widget));
}

static void
show_in_files_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  TemperExportPage *self = TEMPER_EXPORT_PAGE (widget);

  if (self->result != NULL)
    temper_show_in_files (widget, self->result->output_path);
}

static void
copy_command_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  TemperExportPage *self = TEMPER_EXPORT_PAGE (widget);

  if (self->result != NULL && self->result->ollama_command != NULL)
    gdk_clipboard_set_text (gtk_widget_get_clipboard (widget), self->result->ollama_command);
}

static void
chooser_response_cb (TemperExportPage     *self,
                     int                   response,
                     GtkFileChooserNative *chooser)
{
  g_autofree char *path = temper_paths_from_chooser (chooser, response);

  if (path != NULL)
    temper_export_page_set_folder (self, path);
  g_clear_object (&self->chooser);
}

static void
choose_folder_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  TemperExportPage *self = TEMPER_EXPORT_PAGE (widget);
  GtkRoot *root = gtk_widget_get_root (widget);

  if (self->chooser != NULL)
    return;
  self->chooser = gtk_file_chooser_native_new (_("Choose Where to Export"),
                                               GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                               GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER,
                                               _("_Select"), _("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (self->chooser), TRUE);
  if (self->folder != NULL && g_file_test (self->folder, G_FILE_TEST_IS_DIR))
    {
      g_autoptr(GFile) current = g_file_new_for_path (self->folder);

      gtk_file_chooser_set_current_folder (GTK_FILE_CHOOSER (self->chooser), current, NULL);
    }
  g_signal_connect_object (self->chooser, "response", G_CALLBACK (chooser_response_cb),
                           self, G_CONNECT_SWAPPED);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
}

static void
choice_toggled_cb (TemperExportPage *self,
                   GtkCheckButton   *check)
{
  if (!gtk_check_button_get_active (check))
    return;
  for (guint i = 0; i < TEMPER_EXPORT_N_CHOICES; i++)
    if (self->checks[i] == check)
      self->choice = i;
  ready_for_another (self);
}

static void
quant_selected_cb (TemperExportPage *self)
{
  guint selected;

  if (self->quant_row == NULL)
    return;
  selected = adw_combo_row_get_selected (self->quant_row);
  if (selected < G_N_ELEMENTS (quant_items))
    self->quant = quant_items[selected];
  /* The check buttons are bound only once the template is built. */
  if (self->checks[0] != NULL)
    ready_for_another (self);
}

static void
temper_export_page_dispose (GObject *object)
{
  TemperExportPage *self = TEMPER_EXPORT_PAGE (object);

  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  if (self->chooser != NULL)
    gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (self->chooser));
  g_clear_object (&self->chooser);
  gtk_widget_dispose_template (GTK_WIDGET (self), TEMPER_TYPE_EXPORT_PAGE);

  G_OBJECT_CLASS (temper_export_page_parent_class)->dispose (object);
}

static void
temper_export_page_finalize (GObject *object)
{
  TemperExportPage *self = TEMPER_EXPORT_PAGE (object);

  g_clear_object (&self->cancellable);
  g_clear_object (&self->model);
  g_free (self->run_dir);
  g_free (self->folder);
  g_clear_pointer (&self->result, temper_export_result_free);
  for (guint i = 0; i < TEMPER_EXPORT_N_CHOICES; i++)
    g_free (self->choice_subtitles[i]);

  G_OBJECT_CLASS (temper_export_page_parent_class)->finalize (object);
}

static void
temper_export_page_get_property (GObject    *object,
                                 guint       prop_id,
                                 GValue     *value,
                                 GParamSpec *pspec)
{
  TemperExportPage *self = TEMPER_EXPORT_PAGE (object);

  switch (prop_id)
    {
    case PROP_STATE:    g_value_set_int (value, (int) self->state); break;
    case PROP_BUSY:     g_value_set_boolean (value, is_busy (self)); break;
    case PROP_COMPLETE: g_value_set_boolean (value, is_complete (self)); break;
    default:            G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
temper_export_page_page_iface_init (TemperPageInterface *iface)
{
}

static void
temper_export_page_class_init (TemperExportPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = temper_export_page_dispose;
  object_class->finalize = temper_export_page_finalize;
  object_class->get_property = temper_export_page_get_property;

  properties[PROP_STATE] =
    g_param_spec_int ("state", NULL, NULL, TEMPER_EXPORT_STATE_READY, TEMPER_EXPORT_STATE_FAILED,
                      TEMPER_EXPORT_STATE_READY, G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_BUSY] =
    g_param_spec_boolean ("busy", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, PROP_COMPLETE, properties);
  g_object_class_override_property (object_class, PROP_COMPLETE, "complete");
  properties[PROP_COMPLETE] = g_object_class_find_property (object_class, "complete");

  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/temper/Temper/temper-export-page.ui");
  gtk_widget_class_bind_template_child (widget_class, TemperExportPage, error_banner);
  gtk_widget_class_bind_template_child (widget_class, TemperExportPage, peft_check);
  gtk_widget_class_bind_template_child (widget_class, TemperExportPage, gguf_adapter_check);
  gtk_widget_class_bind_template_child (widget_class, TemperExportPage, merged_hf_check);
  gtk_widget_class_bind_template_child (widget_class, TemperExportPage, merged_gguf_check);
  gtk_widget_class_bind_template_child (widget_class, TemperExportPage, peft_row);
  gtk_widget_class_bind_template_child (widget_class, TemperExportPage, gguf_adapter_row);
  gtk_widget_class_bind_template_child (widget_class, TemperExportPage, merged_hf_row);
  gtk_widget_class_bind_template_child (widget_class, TemperExportPage, merged_gguf_row);
  gtk_widget_class_bind_template_child (widget_class, TemperExportPage, quant_row);
  gtk_widget_class_bind_template_child (widget_class, TemperExportPage, folder_row);
  gtk_widget_class_bind_template_child (widget_class, TemperExportPage, status_row);
  gtk_widget_class_bind_template_child (widget_class, TemperExportPage, export_button);
  gtk_widget_class_bind_template_child (widget_class, TemperExportPage, cancel_button);
  gtk_widget_class_bind_template_child (widget_class, TemperExportPage, progress_bar);
  gtk_widget_class_bind_template_child (widget_class, TemperExportPage, result_group);
  gtk_widget_class_bind_template_child (widget_class, TemperExportPage, output_row);
  gtk_widget_class_bind_template_child (widget_class, TemperExportPage, check_row);
  gtk_widget_class_bind_template_child (widget_class, TemperExportPage, check_icon);
  gtk_widget_class_bind_template_child (widget_class, TemperExportPage, ollama_group);
  gtk_widget_class_bind_template_child (widget_class, TemperExportPage, command_label);
  gtk_widget_class_bind_template_child (widget_class, TemperExportPage, earlier_group);
  gtk_widget_class_bind_template_child (widget_class, TemperExportPage, earlier_list);
  gtk_widget_class_bind_template_callback (widget_class, choice_toggled_cb);
  gtk_widget_class_bind_template_callback (widget_class, quant_selected_cb);

  gtk_widget_class_install_action (widget_class, "page.export", NULL, export_action);
  gtk_widget_class_install_action (widget_class, "page.cancel", NULL, cancel_action);
  gtk_widget_class_install_action (widget_class, "page.choose-folder", NULL, choose_folder_action);
  gtk_widget_class_install_action (widget_class, "page.show-in-files", NULL, show_in_files_action);
  gtk_widget_class_install_action (widget_class, "page.copy-command", NULL, copy_command_action);

  g_type_ensure (TEMPER_TYPE_ERROR_BANNER);
}

static void
temper_export_page_init (TemperExportPage *self)
{
  self->choice = TEMPER_EXPORT_CHOICE_PEFT;
  self->quant = TEMPER_EXPORT_Q8_0;
  gtk_widget_init_template (GTK_WIDGET (self));

  self->checks[TEMPER_EXPORT_CHOICE_PEFT] = self->peft_check;
  self->checks[TEMPER_EXPORT_CHOICE_GGUF_ADAPTER] = self->gguf_adapter_check;
  self->checks[TEMPER_EXPORT_CHOICE_MERGED_HF] = self->merged_hf_check;
  self->checks[TEMPER_EXPORT_CHOICE_MERGED_GGUF] = self->merged_gguf_check;
  self->choice_rows[TEMPER_EXPORT_CHOICE_PEFT] = self->peft_row;
  self->choice_rows[TEMPER_EXPORT_CHOICE_GGUF_ADAPTER] = self->gguf_adapter_row;
  self->choice_rows[TEMPER_EXPORT_CHOICE_MERGED_HF] = self->merged_hf_row;
  self->choice_rows[TEMPER_EXPORT_CHOICE_MERGED_GGUF] = self->merged_gguf_row;
  /* The rows' own lines (already translated) come back when a choice that
   * was unavailable for one model is available for the next. */
  for (guint i = 0; i < TEMPER_EXPORT_N_CHOICES; i++)
    self->choice_subtitles[i] = g_strdup (adw_action_row_get_subtitle (self->choice_rows[i]));
  gtk_check_button_set_active (self->peft_check, TRUE);
  quant_selected_cb (self);
  update_controls (self);
}
