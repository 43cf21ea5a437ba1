/* SPDX-License-Identifier: MIT */
/* temper-window.c — the step machinery.
 *
 * Steps are a table: each names a TemperPage type, and the window knows
 * nothing else about it beyond the few wires in constructed() that pass
 * one page's result to the next (the model, the dataset, the settings).
 * Later steps (Compare, Export) are added by inserting into the table. */
#include "config.h"

#include <glib/gi18n.h>

#include <string.h>

#include "temper/run.h"
#include "temper-cluster-job.h"
#include "temper-compare-page.h"
#include "temper-dataset-page.h"
#include "temper-error-banner.h"
#include "temper-export-page.h"
#include "temper-model-page.h"
#include "temper-page.h"
#include "temper-runs-page.h"
#include "temper-settings-page.h"
#include "temper-training-page.h"
#include "temper-window.h"

typedef struct {
  const char *name;
  const char *title;      /* N_() marked, translated at use */
  const char *icon_name;
  const char *needs;      /* what the step asks for before going on, N_() marked */
  GType     (*get_type) (void);
  gboolean    always_reachable;  /* not on the path: history, open at any time */
} StepInfo;

static const StepInfo steps[] = {
  { "model", N_("Model"), "applications-science-symbolic",
    N_("Choose a model to go on"), temper_model_page_get_type },
  { "dataset", N_("Dataset"), "x-office-document-symbolic",
    N_("Open a dataset with usable examples to go on"), temper_dataset_page_get_type },
  { "settings", N_("Settings"), "preferences-system-symbolic",
    N_("Fix the settings to go on"), temper_settings_page_get_type },
  { "training", N_("Training"), "media-playback-start-symbolic",
    N_("Train to the end to go on"), temper_training_page_get_type },
  { "compare", N_("Compare"), "view-dual-symbolic",
    "", temper_compare_page_get_type },
  { "export", N_("Export"), "document-save-symbolic",
    N_("Export the tuned model to finish"), temper_export_page_get_type },
  { "runs", N_("Runs"), "document-open-recent-symbolic",
    "", temper_runs_page_get_type, TRUE },
};

#define N_STEPS G_N_ELEMENTS (steps)

struct _TemperWindow
{
  AdwApplicationWindow parent_instance;

  TemperSettings  *settings;

  GtkStack        *main_stack;
  AdwLeaflet      *leaflet;
  GtkListBox      *step_list;
  AdwWindowTitle  *page_title;
  GtkStack        *page_stack;
  GtkLabel        *hint_label;
  GtkWidget       *next_button;

  GtkWidget       *pages[N_STEPS];
  GtkWidget       *rows[N_STEPS];
  GtkWidget       *checks[N_STEPS];
  guint            current;

  TemperErrorBanner *error_banner;   /* why a run could not be opened */
  GCancellable    *open_cancellable; /* the run being opened on a worker thread */
  char            *pending_run;      /* being reopened: waits for its model and dataset */
  temper_run_t    *opened_run;       /* pending_run, read on the worker thread */
  GArray          *opened_metrics;   /* its metrics.jsonl, read there too */
  char            *opened_outcome;   /* which adapter it kept, read there too */
  gboolean         close_when_idle;  /* closing waits for training to save and stop */
};

G_DEFINE_FINAL_TYPE (TemperWindow, temper_window, ADW_TYPE_APPLICATION_WINDOW)

static void forget_opened_run (TemperWindow *self);

enum {
  PROP_0,
  PROP_SETTINGS,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* A step is reachable when every step before it is complete. */
static gboolean
step_reachable (TemperWindow *self,
                guint         index)
{
  if (steps[index].always_reachable)
    return TRUE;
  for (guint i = 0; i < index; i++)
    if (!temper_page_get_complete (TEMPER_PAGE (self->pages[i])))
      return FALSE;
  return TRUE;
}

static void
update_navigation (TemperWindow *self)
{
  gboolean complete = temper_page_get_complete (TEMPER_PAGE (self->pages[self->current]));
  g_autofree char *subtitle = NULL;

  for (guint i = 0; i < N_STEPS; i++)
    {
      gboolean done = temper_page_get_complete (TEMPER_PAGE (self->pages[i]));

      gtk_widget_set_sensitive (self->rows[i], step_reachable (self, i));
      /* History is never "done"; a tick there would say nothing.  Nor is a
       * step the person cannot reach yet, whatever its defaults. */
      gtk_widget_set_visible (self->checks[i], done && step_reachable (self, i) &&
                                               !steps[i].always_reachable);
    }

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.previous-page", self->current > 0);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.next-page",
                                 complete && self->current + 1 < N_STEPS);

  /* Translators: "Step 1 of 6" under the page title */
  subtitle = g_strdup_printf (_("Step %u of %u"), self->current + 1, (guint) N_STEPS);
  adw_window_title_set_title (self->page_title, _(steps[self->current].title));
  adw_window_title_set_subtitle (self->page_title, subtitle);
  gtk_label_set_text (self->hint_label, complete ? "" : _(steps[self->current].needs));
  /* A finished run's Training page has its own primary button, Compare;
   * one suggested action per screen. */
  if (complete && g_str_equal (steps[self->current].name, "training"))
    gtk_widget_remove_css_class (self->next_button, "suggested-action");
  else
    gtk_widget_add_css_class (self->next_button, "suggested-action");
}

/* The Training page trains what the earlier pages show now. */
static void
prepare_training (TemperWindow *self)
{
  TemperTrainingPage *training = TEMPER_TRAINING_PAGE (temper_window_get_page (self, "training"));
  TemperModelPage *model_page = TEMPER_MODEL_PAGE (temper_window_get_page (self, "model"));
  TemperDatasetPage *dataset_page = TEMPER_DATASET_PAGE (temper_window_get_page (self, "dataset"));
  TemperSettingsPage *settings_page = TEMPER_SETTINGS_PAGE (temper_window_get_page (self, "settings"));
  TemperTrainSettings settings;
  TemperBackendKind backend;
  int device;

  /* A reopened run resumes on the device chosen now, too. */
  temper_settings_page_get_device (settings_page, &backend, &device);
  temper_training_page_set_device (training, backend, device);
  if (self->pending_run != NULL)
    return;
  temper_settings_page_get_train_settings (settings_page, &settings);
  temper_training_page_set_source (training, temper_model_page_get_model (model_page),
                                   temper_dataset_page_get_path (dataset_page),
                                   temper_dataset_page_get_check_path (dataset_page), &settings);
}

/* "Train on a cluster…" for the run the Settings page would start. */
static void
train_on_cluster_cb (TemperWindow *self)
{
  TemperModelPage *model_page = TEMPER_MODEL_PAGE (temper_window_get_page (self, "model"));
  TemperDatasetPage *dataset_page = TEMPER_DATASET_PAGE (temper_window_get_page (self, "dataset"));
  TemperLoadedModel *model = temper_model_page_get_model (model_page);
  TemperTrainSettings settings;

  if (model == NULL || temper_dataset_page_get_path (dataset_page) == NULL)
    return;
  temper_settings_page_get_train_settings (TEMPER_SETTINGS_PAGE (temper_window_get_page (self, "settings")),
                                           &settings);
  temper_cluster_job_export (GTK_WIDGET (self), NULL,
                             temper_model_get_path (temper_loaded_model_get_model (model)),
                             temper_dataset_page_get_path (dataset_page), &settings);
}

/* The Compare page compares the run the Training page shows. */
static void
prepare_compare (TemperWindow *self)
{
  TemperModelPage *model_page = TEMPER_MODEL_PAGE (temper_window_get_page (self, "model"));
  TemperTrainingPage *training = TEMPER_TRAINING_PAGE (temper_window_get_page (self, "training"));

  TemperSettingsPage *settings_page = TEMPER_SETTINGS_PAGE (temper_window_get_page (self, "settings"));
  TemperBackendKind backend;
  int device;

  /* Answers come from the device training uses. */
  temper_settings_page_get_device (settings_page, &backend, &device);
  temper_compare_page_set_device (TEMPER_COMPARE_PAGE (temper_window_get_page (self, "compare")),
                                  backend, device);
  temper_compare_page_set_run (TEMPER_COMPARE_PAGE (temper_window_get_page (self, "compare")),
                               temper_training_page_get_run_dir (training),
                               temper_model_page_get_model (model_page));
}

/* The Export page exports the run the Training page shows. */
static void
prepare_export (TemperWindow *self)
{
  TemperModelPage *model_page = TEMPER_MODEL_PAGE (temper_window_get_page (self, "model"));
  TemperTrainingPage *training = TEMPER_TRAINING_PAGE (temper_window_get_page (self, "training"));

  temper_export_page_set_source (TEMPER_EXPORT_PAGE (temper_window_get_page (self, "export")),
                                 temper_model_page_get_model (model_page),
                                 temper_training_page_get_run_dir (training));
}

/* The Dataset page's leakage findings follow the records the run will
 * hold back: by the seed and share the Settings page holds; its lengths
 * are cut where the run will cut them. */
static void
share_split (TemperWindow *self)
{
  TemperTrainSettings settings;

  temper_settings_page_get_train_settings (TEMPER_SETTINGS_PAGE (temper_window_get_page (self, "settings")),
                                           &settings);
  temper_dataset_page_set_split (TEMPER_DATASET_PAGE (temper_window_get_page (self, "dataset")),
                                 settings.seed, settings.val_fraction);
  temper_dataset_page_set_max_length (TEMPER_DATASET_PAGE (temper_window_get_page (self, "dataset")),
                                      settings.max_length);
}

static void
go_to_step (TemperWindow *self,
            guint         index)
{
  g_assert (index < N_STEPS);

  if (g_str_equal (steps[index].name, "dataset"))
    share_split (self);
  if (g_str_equal (steps[index].name, "training"))
    prepare_training (self);
  if (g_str_equal (steps[index].name, "compare"))
    prepare_compare (self);
  if (g_str_equal (steps[index].name, "export"))
    prepare_export (self);

  self->current = index;
  gtk_stack_set_visible_child (self->page_stack, self->pages[index]);
  gtk_list_box_select_row (self->step_list, GTK_LIST_BOX_ROW (self->rows[index]));
  adw_leaflet_navigate (self->leaflet, ADW_NAVIGATION_DIRECTION_FORWARD);
  update_navigation (self);
}

static void
page_complete_changed_cb (TemperWindow *self)
{
  update_navigation (self);
}

static void
step_list_row_activated_cb (TemperWindow  *self,
                            GtkListBoxRow *row)
{
  int index = gtk_list_box_row_get_index (row);

  if (index >= 0 && step_reachable (self, (guint) index))
    go_to_step (self, (guint) index);
}

static GtkWidget *
create_step_row (guint index)
{
  GtkWidget *row = gtk_list_box_row_new ();
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);
  GtkWidget *icon = gtk_image_new_from_icon_name (steps[index].icon_name);
  GtkWidget *label = gtk_label_new (_(steps[index].title));

  gtk_widget_set_hexpand (label, TRUE);
  gtk_label_set_xalign (GTK_LABEL (label), 0.0);
  gtk_accessible_update_property (GTK_ACCESSIBLE (icon), GTK_ACCESSIBLE_PROPERTY_LABEL, "", -1);
  gtk_box_append (GTK_BOX (box), icon);
  gtk_box_append (GTK_BOX (box), label);
  gtk_list_box_row_set_child (GTK_LIST_BOX_ROW (row), box);
  gtk_widget_set_name (row, steps[index].name);
  gtk_accessible_update_property (GTK_ACCESSIBLE (row),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, _(steps[index].title),
                                  -1);
  return row;
}

static void
previous_page_action (GtkWidget  *widget,
                      const char *action_name,
                      GVariant   *parameter)
{
  TemperWindow *self = TEMPER_WINDOW (widget);

  if (self->current > 0)
    go_to_step (self, self->current - 1);
}

static void
next_page_action (GtkWidget  *widget,
                  const char *action_name,
                  GVariant   *parameter)
{
  TemperWindow *self = TEMPER_WINDOW (widget);

  if (self->current + 1 < N_STEPS && step_reachable (self, self->current + 1))
    go_to_step (self, self->current + 1);
}

/* The Training page's "Compare" once a run is finished. */
static void
compare_action (GtkWidget  *widget,
                const char *action_name,
                GVariant   *parameter)
{
  temper_window_show_step (TEMPER_WINDOW (widget), "compare");
}

static void
get_started_action (GtkWidget  *widget,
                    const char *action_name,
                    GVariant   *parameter)
{
  TemperWindow *self = TEMPER_WINDOW (widget);

  temper_settings_set_seen_welcome (self->settings, TRUE);
  gtk_stack_set_visible_child_name (self->main_stack, "steps");
  gtk_widget_grab_focus (self->pages[self->current]);
}

static void
show_steps_action (GtkWidget  *widget,
                   const char *action_name,
                   GVariant   *parameter)
{
  TemperWindow *self = TEMPER_WINDOW (widget);

  adw_leaflet_navigate (self->leaflet, ADW_NAVIGATION_DIRECTION_BACK);
}

/* Ctrl+O means "open" on whichever page is showing. */
static void
open_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  TemperWindow *self = TEMPER_WINDOW (widget);

  if (g_strcmp0 (gtk_stack_get_visible_child_name (self->main_stack), "steps") == 0)
    gtk_widget_activate_action (self->pages[self->current], "page.open", NULL);
}

static void close_response_cb (TemperWindow *self, const char *response);

static gboolean
temper_window_close_request (GtkWindow *window)
{
  TemperWindow *self = TEMPER_WINDOW (window);
  TemperTrainingPage *training = TEMPER_TRAINING_PAGE (temper_window_get_page (self, "training"));
  int width, height;

  if (temper_training_page_is_busy (training) && !self->close_when_idle)
    {
      GtkWidget *dialog = adw_message_dialog_new (window, _("Stop Training?"),
                                                  _("Training is still running. If you close Temper now, it stops after saving a checkpoint, and you can go on later from the Runs page."));

      adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog),
                                        "cancel", _("_Keep Training"),
                                        "stop", _("_Stop and Close"),
                                        NULL);
      adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "stop",
                                                  ADW_RESPONSE_DESTRUCTIVE);
      adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
      adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
      gtk_widget_set_name (dialog, "close-dialog");
      g_signal_connect_object (dialog, "response", G_CALLBACK (close_response_cb), self, G_CONNECT_SWAPPED);
      gtk_window_present (GTK_WINDOW (dialog));
      return TRUE;
    }
  if (temper_training_page_is_busy (training))
    return TRUE;

  gtk_window_get_default_size (window, &width, &height);
  temper_settings_set_window_maximized (self->settings, gtk_window_is_maximized (window));
  if (!gtk_window_is_maximized (window) && width > 0 && height > 0)
    temper_settings_set_window_size (self->settings, width, height);

  return GTK_WINDOW_CLASS (temper_window_parent_class)->close_request (window);
}

static void
dataset_changed_cb (TemperWindow *self)
{
  TemperDatasetPage *dataset_page = TEMPER_DATASET_PAGE (temper_window_get_page (self, "dataset"));
  TemperSettingsPage *settings_page = TEMPER_SETTINGS_PAGE (temper_window_get_page (self, "settings"));
  guint n_train = 0;
  double mean_tokens = 0;
  TemperTrainFacts facts = { 0 };

  if (!temper_dataset_page_get_size (dataset_page, &n_train, &mean_tokens))
    n_train = 0;
  temper_settings_page_set_dataset_size (settings_page, n_train, mean_tokens);
  temper_settings_page_set_dataset_facts (settings_page,
                                          temper_dataset_page_get_facts (dataset_page, &facts) ? &facts : NULL);
  temper_settings_page_set_uses_check_file (settings_page,
                                            temper_dataset_page_get_check_path (dataset_page) != NULL);
  /* The facts may have changed the share held back. */
  share_split (self);

  /* A reopened run's dataset has been checked: everything is back. */
  if (self->pending_run != NULL && n_train > 0 &&
      temper_training_page_get_run_dir (TEMPER_TRAINING_PAGE (temper_window_get_page (self, "training"))) != NULL)
    {
      forget_opened_run (self);
      temper_window_show_step (self, "training");
    }
}

static void
model_changed_cb (TemperWindow *self)
{
  TemperLoadedModel *model = temper_model_page_get_model (TEMPER_MODEL_PAGE (temper_window_get_page (self, "model")));
  g_autoptr(GError) error = NULL;

  if (self->pending_run == NULL || self->opened_run == NULL || model == NULL)
    return;
  if (!temper_training_page_show_run (TEMPER_TRAINING_PAGE (temper_window_get_page (self, "training")),
                                      self->opened_run, self->opened_metrics, self->opened_outcome,
                                      model, &error))
    {
      temper_error_banner_show (self->error_banner, _("Temper could not open this run"), error,
                                self->pending_run);
      forget_opened_run (self);
      return;
    }
  dataset_changed_cb (self);
}

typedef struct {
  char         *dir;
  gboolean      continuing;  /* "Continue from This Run": the metrics are not needed */
  temper_run_t *run;
  GArray       *metrics;
  char         *outcome;     /* which adapter the run kept, or NULL */
} OpenJob;

static void
open_job_free (gpointer data)
{
  OpenJob *job = data;

  g_free (job->dir);
  g_clear_pointer (&job->run, temper_run_free);
  g_clear_pointer (&job->metrics, g_array_unref);
  g_free (job->outcome);
  g_free (job);
}

/* Reading settings.json and metrics.jsonl touches the disk, which may be
 * slow or a network share: never on the main thread. */
static void
open_run_thread (GTask        *task,
                 gpointer      source_object,
                 gpointer      task_data,
                 GCancellable *cancellable)
{
  OpenJob *job = task_data;
  GError *error = NULL;

  job->run = temper_run_open (job->dir, &error);
  if (job->run == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  if (!job->continuing)
    {
      job->metrics = temper_run_read_metrics (job->run, &error);
      if (job->metrics == NULL)
        {
          g_task_return_error (task, error);
          return;
        }
      job->outcome = temper_train_describe_outcome (job->run);
    }
  g_task_return_boolean (task, TRUE);
}

static void
forget_opened_run (TemperWindow *self)
{
  g_clear_pointer (&self->pending_run, g_free);
  g_clear_pointer (&self->opened_run, temper_run_free);
  g_clear_pointer (&self->opened_metrics, g_array_unref);
  g_clear_pointer (&self->opened_outcome, g_free);
}

/* Reopening a run puts its model, dataset and settings back in their pages;
 * the model and dataset load on worker threads, and the Training page shows
 * the run once the model is there. */
static void
run_opened (TemperWindow *self,
            OpenJob      *job)
{
  temper_run_t *run = job->run;
  /* Copied: once the model and dataset are back the run is shown and let
   * go, which may happen before this returns. */
  g_autofree char *val_path = g_strdup (temper_run_get_val_path (run));
  g_autofree char *data_path = g_strdup (temper_run_get_data_path (run));
  g_autofree char *dir = g_strdup (temper_run_get_dir (run));

  temper_training_page_set_start_from (TEMPER_TRAINING_PAGE (temper_window_get_page (self, "training")), NULL);
  forget_opened_run (self);
  self->pending_run = g_strdup (temper_run_get_dir (run));
  self->opened_run = g_steal_pointer (&job->run);
  self->opened_metrics = g_steal_pointer (&job->metrics);
  self->opened_outcome = g_steal_pointer (&job->outcome);
  temper_settings_page_set_train_settings (TEMPER_SETTINGS_PAGE (temper_window_get_page (self, "settings")),
                                           temper_run_get_settings (run));
  temper_model_page_choose (TEMPER_MODEL_PAGE (temper_window_get_page (self, "model")),
                            temper_run_get_model_path (run));
  temper_dataset_page_open (TEMPER_DATASET_PAGE (temper_window_get_page (self, "dataset")), data_path);
  temper_dataset_page_set_check_file (TEMPER_DATASET_PAGE (temper_window_get_page (self, "dataset")), val_path);
  temper_settings_set_last_run (self->settings, dir);
  go_to_step (self, 0);
}

/* Continuing a run: its model and settings come back, the data is the
 * person's to choose, and the new run starts from the run's adapter. */
static void
run_opened_to_continue (TemperWindow *self,
                        OpenJob      *job)
{
  forget_opened_run (self);
  temper_settings_page_set_train_settings (TEMPER_SETTINGS_PAGE (temper_window_get_page (self, "settings")),
                                           temper_run_get_settings (job->run));
  temper_model_page_choose (TEMPER_MODEL_PAGE (temper_window_get_page (self, "model")),
                            temper_run_get_model_path (job->run));
  go_to_step (self, 0);
}

static void
run_open_done_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  TemperWindow *self = TEMPER_WINDOW (source);
  OpenJob *job = g_task_get_task_data (G_TASK (result));
  TemperTrainingPage *training = TEMPER_TRAINING_PAGE (temper_window_get_page (self, "training"));
  g_autoptr(GError) error = NULL;

  /* Opening another run replaced this one. */
  if (g_task_get_cancellable (G_TASK (result)) != self->open_cancellable)
    return;
  g_clear_object (&self->open_cancellable);
  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      if (job->continuing)
        temper_training_page_set_start_from (training, NULL);
      temper_error_banner_show (self->error_banner, _("Temper could not open this run"), error, job->dir);
      return;
    }
  if (temper_training_page_is_busy (training))
    return;
  if (job->continuing)
    run_opened_to_continue (self, job);
  else
    run_opened (self, job);
}

static void
open_run_async (TemperWindow *self,
                const char   *dir,
                gboolean      continuing)
{
  g_autoptr(GTask) task = NULL;
  OpenJob *job = g_new0 (OpenJob, 1);

  if (self->open_cancellable != NULL)
    g_cancellable_cancel (self->open_cancellable);
  g_clear_object (&self->open_cancellable);
  self->open_cancellable = g_cancellable_new ();
  temper_error_banner_dismiss (self->error_banner);
  job->dir = g_strdup (dir);
  job->continuing = continuing;
  task = g_task_new (self, self->open_cancellable, run_open_done_cb, NULL);
  g_task_set_source_tag (task, open_run_async);
  g_task_set_task_data (task, job, open_job_free);
  g_task_run_in_thread (task, open_run_thread);
}

static void
open_run_cb (TemperWindow *self,
             const char   *dir)
{
  if (temper_training_page_is_busy (TEMPER_TRAINING_PAGE (temper_window_get_page (self, "training"))))
    return;
  open_run_async (self, dir, FALSE);
}

static void
continue_run_cb (TemperWindow *self,
                 const char   *dir)
{
  TemperTrainingPage *training = TEMPER_TRAINING_PAGE (temper_window_get_page (self, "training"));

  if (temper_training_page_is_busy (training))
    return;
  /* Said at once, so that what follows knows which adapter the new run
   * starts from; taken back if the run cannot be read. */
  forget_opened_run (self);
  temper_training_page_set_start_from (training, dir);
  open_run_async (self, dir, TRUE);
}

/* An adapter made elsewhere: it must fit the chosen model (checked now when
 * one is chosen, else when training starts); the data is the person's to
 * choose next. */
static void
continue_adapter_cb (TemperWindow *self,
                     const char   *dir)
{
  TemperTrainingPage *training = TEMPER_TRAINING_PAGE (temper_window_get_page (self, "training"));
  TemperLoadedModel *model = temper_model_page_get_model (TEMPER_MODEL_PAGE (temper_window_get_page (self, "model")));
  g_autoptr(GError) error = NULL;
  TemperLoraConfig lora;

  if (temper_training_page_is_busy (training))
    return;
  temper_error_banner_dismiss (self->error_banner);
  if (model != NULL &&
      !temper_train_read_start_adapter (dir, temper_model_get_config (temper_loaded_model_get_model (model)),
                                        &lora, &error))
    {
      /* Not a half-chosen start: the next run starts fresh. */
      temper_training_page_set_start_from (training, NULL);
      temper_error_banner_show (self->error_banner, _("Temper cannot continue from this adapter"), error, dir);
      return;
    }
  forget_opened_run (self);
  temper_training_page_set_start_from (training, dir);
  go_to_step (self, model != NULL ? 1 : 0);
}

static void
training_busy_cb (TemperWindow *self)
{
  if (self->close_when_idle &&
      !temper_training_page_is_busy (TEMPER_TRAINING_PAGE (temper_window_get_page (self, "training"))))
    gtk_window_destroy (GTK_WINDOW (self));
}

static void
close_response_cb (TemperWindow *self,
                   const char   *response)
{
  if (g_strcmp0 (response, "stop") != 0)
    return;
  self->close_when_idle = TRUE;
  temper_training_page_stop (TEMPER_TRAINING_PAGE (temper_window_get_page (self, "training")));
  training_busy_cb (self);
}

static void
temper_window_constructed (GObject *object)
{
  TemperWindow *self = TEMPER_WINDOW (object);
  int width, height;

  G_OBJECT_CLASS (temper_window_parent_class)->constructed (object);

  g_assert (self->settings != NULL);

  temper_settings_get_window_size (self->settings, &width, &height);
  gtk_window_set_default_size (GTK_WINDOW (self), width, height);
  if (temper_settings_get_window_maximized (self->settings))
    gtk_window_maximize (GTK_WINDOW (self));

  for (guint i = 0; i < N_STEPS; i++)
    {
      GType type = steps[i].get_type ();
      GObjectClass *page_class = g_type_class_ref (type);

      /* Pages that need preferences take them at construction. */
      if (g_object_class_find_property (page_class, "settings") != NULL)
        self->pages[i] = g_object_new (type, "settings", self->settings, NULL);
      else
        self->pages[i] = g_object_new (type, NULL);
      g_type_class_unref (page_class);
      gtk_stack_add_named (self->page_stack, self->pages[i], steps[i].name);
      g_signal_connect_object (self->pages[i], "notify::complete",
                               G_CALLBACK (page_complete_changed_cb), self, G_CONNECT_SWAPPED);

      self->rows[i] = create_step_row (i);
      self->checks[i] = gtk_image_new_from_icon_name ("object-select-symbolic");
      gtk_accessible_update_property (GTK_ACCESSIBLE (self->checks[i]),
                                      GTK_ACCESSIBLE_PROPERTY_LABEL, _("Done"), -1);
      gtk_box_append (GTK_BOX (gtk_list_box_row_get_child (GTK_LIST_BOX_ROW (self->rows[i]))),
                      self->checks[i]);
      gtk_list_box_append (self->step_list, self->rows[i]);
    }

  /* The dataset is measured in the chosen model's tokens. */
  g_object_bind_property (temper_window_get_page (self, "model"), "model",
                          temper_window_get_page (self, "dataset"), "model",
                          G_BINDING_SYNC_CREATE);
  /* So are the estimates of the Settings page. */
  g_object_bind_property (temper_window_get_page (self, "model"), "model",
                          temper_window_get_page (self, "settings"), "model",
                          G_BINDING_SYNC_CREATE);
  g_signal_connect_object (temper_window_get_page (self, "model"), "notify::model",
                           G_CALLBACK (model_changed_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (temper_window_get_page (self, "dataset"), "notify::complete",
                           G_CALLBACK (dataset_changed_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (temper_window_get_page (self, "settings"), "train-on-cluster",
                           G_CALLBACK (train_on_cluster_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (temper_window_get_page (self, "runs"), "continue-run",
                           G_CALLBACK (continue_run_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (temper_window_get_page (self, "runs"), "continue-adapter",
                           G_CALLBACK (continue_adapter_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (temper_window_get_page (self, "runs"), "open-run",
                           G_CALLBACK (open_run_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (temper_window_get_page (self, "training"), "notify::busy",
                           G_CALLBACK (training_busy_cb), self, G_CONNECT_SWAPPED);

  gtk_stack_set_visible_child_name (self->main_stack,
                                    temper_settings_get_seen_welcome (self->settings) ? "steps" : "welcome");
  go_to_step (self, 0);
}

static void
temper_window_dispose (GObject *object)
{
  TemperWindow *self = TEMPER_WINDOW (object);

  if (self->open_cancellable != NULL)
    g_cancellable_cancel (self->open_cancellable);
  g_clear_object (&self->open_cancellable);
  gtk_widget_dispose_template (GTK_WIDGET (self), TEMPER_TYPE_WINDOW);

  G_OBJECT_CLASS (temper_window_parent_class)->dispose (object);
}

static void
temper_window_finalize (GObject *object)
{
  TemperWindow *self = TEMPER_WINDOW (object);

  g_clear_object (&self->settings);
  forget_opened_run (self);

  G_OBJECT_CLASS (temper_window_parent_class)->finalize (object);
}

static void
temper_window_get_property (GObject    *object,
                            guint       prop_id,
                            GValue     *value,
                            GParamSpec *pspec)
{
  TemperWindow *self = TEMPER_WINDOW (object);

  switch (prop_id)
    {
    case PROP_SETTINGS:
      g_value_set_object (value, self->settings);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
temper_window_set_property (GObject      *object,
                            guint         prop_id,
                            const GValue *value,
                            GParamSpec   *pspec)
{
  TemperWindow *self = TEMPER_WINDOW (object);

  switch (prop_id)
    {
    case PROP_SETTINGS:
      self->settings = g_value_dup_object (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
temper_window_class_init (TemperWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  GtkWindowClass *window_class = GTK_WINDOW_CLASS (klass);

  object_class->constructed = temper_window_constructed;
  object_class->dispose = temper_window_dispose;
  object_class->finalize = temper_window_finalize;
  object_class->get_property = temper_window_get_property;
  object_class->set_property = temper_window_set_property;
  window_class->close_request = temper_window_close_request;

  properties[PROP_SETTINGS] =
    g_param_spec_object ("settings", NULL, NULL, TEMPER_TYPE_SETTINGS,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/temper/Temper/temper-window.ui");
  gtk_widget_class_bind_template_child (widget_class, TemperWindow, main_stack);
  gtk_widget_class_bind_template_child (widget_class, TemperWindow, leaflet);
  gtk_widget_class_bind_template_child (widget_class, TemperWindow, step_list);
  gtk_widget_class_bind_template_child (widget_class, TemperWindow, page_title);
  gtk_widget_class_bind_template_child (widget_class, TemperWindow, page_stack);
  gtk_widget_class_bind_template_child (widget_class, TemperWindow, hint_label);
  gtk_widget_class_bind_template_child (widget_class, TemperWindow, next_button);
  gtk_widget_class_bind_template_child (widget_class, TemperWindow, error_banner);
  gtk_widget_class_bind_template_callback (widget_class, step_list_row_activated_cb);

  gtk_widget_class_install_action (widget_class, "win.previous-page", NULL, previous_page_action);
  gtk_widget_class_install_action (widget_class, "win.next-page", NULL, next_page_action);
  gtk_widget_class_install_action (widget_class, "win.get-started", NULL, get_started_action);
  gtk_widget_class_install_action (widget_class, "win.compare", NULL, compare_action);
  gtk_widget_class_install_action (widget_class, "win.show-steps", NULL, show_steps_action);
  gtk_widget_class_install_action (widget_class, "win.open", NULL, open_action);

  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Left, GDK_ALT_MASK, "win.previous-page", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Right, GDK_ALT_MASK, "win.next-page", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_o, GDK_CONTROL_MASK, "win.open", NULL);

  g_type_ensure (TEMPER_TYPE_MODEL_PAGE);
  g_type_ensure (TEMPER_TYPE_DATASET_PAGE);
  g_type_ensure (TEMPER_TYPE_SETTINGS_PAGE);
  g_type_ensure (TEMPER_TYPE_TRAINING_PAGE);
  g_type_ensure (TEMPER_TYPE_COMPARE_PAGE);
  g_type_ensure (TEMPER_TYPE_EXPORT_PAGE);
  g_type_ensure (TEMPER_TYPE_RUNS_PAGE);
  g_type_ensure (TEMPER_TYPE_ERROR_BANNER);
}

static void
temper_window_init (TemperWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

TemperWindow *
temper_window_new (GtkApplication *application,
                   TemperSettings *settings)
{
  g_return_val_if_fail (application == NULL || GTK_IS_APPLICATION (application), NULL);
  g_return_val_if_fail (TEMPER_IS_SETTINGS (settings), NULL);

  return g_object_new (TEMPER_TYPE_WINDOW,
                       "application", application,
                       "settings", settings,
                       NULL);
}

gboolean
temper_window_show_step (TemperWindow *self,
                         const char   *name)
{
  g_return_val_if_fail (TEMPER_IS_WINDOW (self), FALSE);
  g_return_val_if_fail (name != NULL, FALSE);

  for (guint i = 0; i < N_STEPS; i++)
    if (g_str_equal (steps[i].name, name))
      {
        if (!step_reachable (self, i))
          return FALSE;
        go_to_step (self, i);
        return TRUE;
      }
  return FALSE;
}

/* A GGUF file starts with the four bytes "GGUF"; a model named
 * something.gguf that cannot be read still goes to the Model page, which
 * says what is wrong with it. */
static gboolean
looks_like_gguf (const char *path)
{
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GFileInputStream) stream = NULL;
  char magic[4] = { 0 };
  gsize n_read = 0;
  g_autofree char *lower = g_ascii_strdown (path, -1);

  if (g_str_has_suffix (lower, ".gguf"))
    return TRUE;
  stream = g_file_read (file, NULL, NULL);
  return stream != NULL &&
         g_input_stream_read_all (G_INPUT_STREAM (stream), magic, sizeof magic, &n_read, NULL, NULL) &&
         n_read == sizeof magic && memcmp (magic, "GGUF", sizeof magic) == 0;
}

void
temper_window_open_file (TemperWindow *self,
                         const char   *path)
{
  g_return_if_fail (TEMPER_IS_WINDOW (self));
  g_return_if_fail (path != NULL);

  temper_settings_set_seen_welcome (self->settings, TRUE);
  gtk_stack_set_visible_child_name (self->main_stack, "steps");
  if (looks_like_gguf (path))
    {
      temper_model_page_choose (TEMPER_MODEL_PAGE (temper_window_get_page (self, "model")), path);
      go_to_step (self, 0);
    }
  else
    {
      /* Shown even before a model is chosen: the check reads the file
       * without one, and counts tokens again once a model is there. */
      temper_dataset_page_open (TEMPER_DATASET_PAGE (temper_window_get_page (self, "dataset")), path);
      go_to_step (self, 1);
    }
}

const char *
temper_window_get_current_step (TemperWindow *self)
{
  g_return_val_if_fail (TEMPER_IS_WINDOW (self), NULL);
  return steps[self->current].name;
}

GtkWidget *
temper_window_get_page (TemperWindow *self,
                        const char   *name)
{
  g_return_val_if_fail (TEMPER_IS_WINDOW (self), NULL);
  g_return_val_if_fail (name != NULL, NULL);

  for (guint i = 0; i < N_STEPS; i++)
    if (g_str_equal (steps[i].name, name))
      return self->pages[i];
  return NULL;
}
