/* SPDX-License-Identifier: MIT */
/* temper-runs-page.c — reads every run folder on a worker thread (opening
 * settings.json and metrics.jsonl of each) and lists them, newest first. */
#include "config.h"

#include <math.h>

#include <glib/gi18n.h>

#include "temper/run.h"
#include "temper-cluster-job.h"
#include "temper-page.h"
#include "temper-paths.h"
#include "temper-runs-page.h"

struct _TemperRunsPage
{
  AdwPreferencesPage  parent_instance;

  GPtrArray          *runs;        /* TemperRunSummary */
  GCancellable       *cancellable;

  GtkListBox         *runs_list;
  GtkLabel           *empty_label;
  char               *no_runs_text;   /* the empty label's own words */
};

static void temper_runs_page_page_iface_init (TemperPageInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (TemperRunsPage, temper_runs_page, ADW_TYPE_PREFERENCES_PAGE,
                               G_IMPLEMENT_INTERFACE (TEMPER_TYPE_PAGE, temper_runs_page_page_iface_init))

enum {
  PROP_0,
  PROP_COMPLETE,
  N_PROPS
};

enum {
  OPEN_RUN,
  CONTINUE_RUN,
  CONTINUE_ADAPTER,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
list_runs_thread (GTask        *task,
                  gpointer      source_object,
                  gpointer      task_data,
                  GCancellable *cancellable)
{
  GError *error = NULL;
  GPtrArray *runs = temper_runs_list (NULL, cancellable, &error);

  if (runs == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, runs, (GDestroyNotify) g_ptr_array_unref);
}

static char *
describe_state (const TemperRunSummary *run)
{
  g_autofree char *loss = NULL, *in_use = NULL;
  const char *status;

  switch (run->state)
    {
    case TEMPER_RUN_STATE_FINISHED:    status = _("Finished"); break;
    case TEMPER_RUN_STATE_STOPPED:     status = _("Stopped, can go on"); break;
    case TEMPER_RUN_STATE_NOT_STARTED: status = _("Not started"); break;
    case TEMPER_RUN_STATE_UNREADABLE:
    default:                           return g_strdup (run->problem);
    }
  if (run->lock_holder != NULL)
    /* Translators: %s is a program and its process, e.g. "temper-cli (process 1234)" */
    status = in_use = g_strdup_printf (_("In use by %s"), run->lock_holder);

  if (isfinite (run->last_val_loss))
    /* Translators: final training and validation loss of a run, e.g. "loss 1.23, validation 1.31" */
    loss = g_strdup_printf (_("loss %.3f, validation %.3f"), run->last_loss, run->last_val_loss);
  else if (isfinite (run->last_loss))
    /* Translators: final training loss of a run */
    loss = g_strdup_printf (_("loss %.3f"), run->last_loss);

  if (loss != NULL)
    /* Translators: "Finished · step 50 · loss 1.23 · SmolLM2.gguf" */
    return g_strdup_printf (_("%s · step %lld · %s · %s"), status, (long long) run->last_step,
                            loss, run->model_name);
  /* Translators: "Not started · SmolLM2.gguf" */
  return g_strdup_printf (_("%s · %s"), status, run->model_name);
}

/* What it learned from and when it began: "capitals.jsonl · 2026-12-06
 * 14:30", or the one of them that is known, or NULL. */
static char *
describe_origin (const TemperRunSummary *run)
{
  g_autofree char *date = NULL;

  if (run->created > 0)
    {
      g_autoptr(GDateTime) created = g_date_time_new_from_unix_local (run->created);

      if (created != NULL)
        /* Translators: when a run began, as in the list of runs; a g_date_time_format()
         * format (%Y year, %m month, %d day, %H:%M hours and minutes) */
        date = g_date_time_format (created, _("%Y-%m-%d %H:%M"));
    }
  if (run->dataset_name != NULL && date != NULL)
    /* Translators: a run's dataset file and the date it began, e.g. "capitals.jsonl · 2026-12-06 14:30" */
    return g_strdup_printf (_("%s · %s"), run->dataset_name, date);
  if (run->dataset_name != NULL)
    return g_strdup (run->dataset_name);
  return g_steal_pointer (&date);
}

/* The row's subtitle: its state on the first line, its dataset and date on
 * the second. */
static char *
describe (const TemperRunSummary *run)
{
  g_autofree char *state = describe_state (run);
  g_autofree char *origin = NULL;

  if (run->state == TEMPER_RUN_STATE_UNREADABLE)
    return g_steal_pointer (&state);
  origin = describe_origin (run);
  if (origin == NULL)
    return g_steal_pointer (&state);
  return g_strconcat (state, "\n", origin, NULL);
}

static void
open_clicked_cb (GtkButton *button,
                 gpointer   user_data)
{
  TemperRunsPage *self = user_data;
  const char *dir = g_object_get_data (G_OBJECT (button), "dir");

  g_signal_emit (self, signals[OPEN_RUN], 0, dir);
}

static void
cluster_clicked_cb (GtkButton *button,
                    gpointer   user_data)
{
  temper_cluster_job_export (GTK_WIDGET (user_data), g_object_get_data (G_OBJECT (button), "dir"),
                             NULL, NULL, NULL);
}

static void
continue_clicked_cb (GtkButton *button,
                     gpointer   user_data)
{
  TemperRunsPage *self = user_data;
  const char *dir = g_object_get_data (G_OBJECT (button), "dir");

  g_signal_emit (self, signals[CONTINUE_RUN], 0, dir);
}

static void
show_runs (TemperRunsPage *self)
{
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->runs_list))) != NULL)
    gtk_list_box_remove (self->runs_list, child);

  for (guint i = 0; i < self->runs->len; i++)
    {
      const TemperRunSummary *run = g_ptr_array_index (self->runs, i);
      const char *title = run->name;
      g_autofree char *subtitle = describe (run);
      GtkWidget *row = adw_action_row_new ();
      GtkWidget *button = gtk_button_new_with_mnemonic (_("_Open"));

      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
      adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
      gtk_widget_set_tooltip_text (row, run->dir);
      gtk_widget_set_valign (button, GTK_ALIGN_CENTER);
      gtk_widget_set_sensitive (button, run->state != TEMPER_RUN_STATE_UNREADABLE);
      /* Translators: %s is a run's folder name */
      {
        g_autofree char *label = g_strdup_printf (_("Open the run %s"), title);

        gtk_accessible_update_property (GTK_ACCESSIBLE (button), GTK_ACCESSIBLE_PROPERTY_LABEL, label, -1);
      }
      g_object_set_data_full (G_OBJECT (button), "dir", g_strdup (run->dir), g_free);
      g_signal_connect_object (button, "clicked", G_CALLBACK (open_clicked_cb), self, 0);
      gtk_widget_set_name (button, "open-run");
      /* A finished run's adapter can be trained further, on new data, in a new run. */
      if (run->state == TEMPER_RUN_STATE_FINISHED)
        {
          GtkWidget *more = gtk_button_new_with_mnemonic (_("_Continue from This Run"));

          gtk_widget_set_valign (more, GTK_ALIGN_CENTER);
          gtk_widget_add_css_class (more, "flat");
          gtk_widget_set_tooltip_text (more, _("Train this run's adapter further, on new data, in a new run"));
          g_object_set_data_full (G_OBJECT (more), "dir", g_strdup (run->dir), g_free);
          g_signal_connect_object (more, "clicked", G_CALLBACK (continue_clicked_cb), self, 0);
          gtk_widget_set_name (more, "continue-run");
          adw_action_row_add_suffix (ADW_ACTION_ROW (row), more);
        }
      adw_action_row_add_suffix (ADW_ACTION_ROW (row), button);
      {
        GtkWidget *cluster = gtk_button_new_from_icon_name ("network-server-symbolic");

        gtk_widget_set_valign (cluster, GTK_ALIGN_CENTER);
        gtk_widget_set_tooltip_text (cluster, _("Train on a Cluster…"));
        gtk_accessible_update_property (GTK_ACCESSIBLE (cluster), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                        _("Train this run on a cluster"), -1);
        gtk_widget_add_css_class (cluster, "flat");
        gtk_widget_set_sensitive (cluster, run->state != TEMPER_RUN_STATE_UNREADABLE);
        gtk_widget_set_name (cluster, "cluster-run");
        g_object_set_data_full (G_OBJECT (cluster), "dir", g_strdup (run->dir), g_free);
        g_signal_connect_object (cluster, "clicked", G_CALLBACK (cluster_clicked_cb), self, 0);
        adw_action_row_add_suffix (ADW_ACTION_ROW (row), cluster);
      }
      gtk_list_box_append (self->runs_list, row);
    }
  gtk_widget_set_visible (GTK_WIDGET (self->runs_list), self->runs->len > 0);
  gtk_widget_set_visible (GTK_WIDGET (self->empty_label), self->runs->len == 0);
}

static void
runs_listed_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  TemperRunsPage *self = TEMPER_RUNS_PAGE (source);
  g_autoptr(GError) error = NULL;
  GPtrArray *runs = g_task_propagate_pointer (G_TASK (result), &error);

  /* A newer listing replaced this one. */
  if (g_task_get_cancellable (G_TASK (result)) != self->cancellable)
    {
      g_clear_pointer (&runs, g_ptr_array_unref);
      return;
    }
  g_clear_object (&self->cancellable);
  /* The runs folder cannot be read: the page says so where the runs would be. */
  gtk_label_set_label (self->empty_label, runs != NULL ? self->no_runs_text : error->message);
  if (runs == NULL)
    runs = g_ptr_array_new_with_free_func ((GDestroyNotify) temper_run_summary_free);
  g_clear_pointer (&self->runs, g_ptr_array_unref);
  self->runs = runs;
  show_runs (self);
}

void
temper_runs_page_refresh (TemperRunsPage *self)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (TEMPER_IS_RUNS_PAGE (self));

  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();
  task = g_task_new (self, self->cancellable, runs_listed_cb, NULL);
  g_task_set_source_tag (task, temper_runs_page_refresh);
  g_task_set_return_on_cancel (task, TRUE);
  g_task_run_in_thread (task, list_runs_thread);
}

gboolean
temper_runs_page_is_busy (TemperRunsPage *self)
{
  g_return_val_if_fail (TEMPER_IS_RUNS_PAGE (self), FALSE);
  return self->cancellable != NULL;
}

guint
temper_runs_page_get_n_runs (TemperRunsPage *self)
{
  g_return_val_if_fail (TEMPER_IS_RUNS_PAGE (self), 0);
  return self->runs->len;
}

const char *
temper_runs_page_get_run_dir (TemperRunsPage *self,
                              guint           i)
{
  g_return_val_if_fail (TEMPER_IS_RUNS_PAGE (self), NULL);
  g_return_val_if_fail (i < self->runs->len, NULL);
  return ((TemperRunSummary *) g_ptr_array_index (self->runs, i))->dir;
}

static void
refresh_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  temper_runs_page_refresh (TEMPER_RUNS_PAGE (widget));
}

static void
imported_cb (const char *run_dir, gpointer user_data)
{
  temper_runs_page_refresh (TEMPER_RUNS_PAGE (user_data));
}

static void
import_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  temper_cluster_job_import (widget, imported_cb, G_OBJECT (widget));
}

/* An adapter made elsewhere (a PEFT folder) or a run folder: the window
 * checks it against the model and makes it the next run's start. */
static void
adapter_chosen_cb (GtkNativeDialog *chooser,
                   int              response,
                   gpointer         user_data)
{
  TemperRunsPage *self = user_data;
  g_autofree char *dir = temper_paths_from_chooser (GTK_FILE_CHOOSER_NATIVE (chooser), response);

  if (dir != NULL)
    g_signal_emit (self, signals[CONTINUE_ADAPTER], 0, dir);
  gtk_native_dialog_destroy (chooser);
  g_object_unref (chooser);
  g_object_unref (self);
}

static void
continue_adapter_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  GtkRoot *root = gtk_widget_get_root (widget);
  GtkFileChooserNative *chooser;

  chooser = gtk_file_chooser_native_new (_("Choose an Adapter Folder"),
                                         GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                         GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER, _("_Choose"), _("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (chooser), TRUE);
  g_signal_connect (chooser, "response", G_CALLBACK (adapter_chosen_cb), g_object_ref (widget));
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}

static void
temper_runs_page_map (GtkWidget *widget)
{
  GTK_WIDGET_CLASS (temper_runs_page_parent_class)->map (widget);
  temper_runs_page_refresh (TEMPER_RUNS_PAGE (widget));
}

static void
temper_runs_page_dispose (GObject *object)
{
  TemperRunsPage *self = TEMPER_RUNS_PAGE (object);

  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  gtk_widget_dispose_template (GTK_WIDGET (self), TEMPER_TYPE_RUNS_PAGE);

  G_OBJECT_CLASS (temper_runs_page_parent_class)->dispose (object);
}

static void
temper_runs_page_finalize (GObject *object)
{
  TemperRunsPage *self = TEMPER_RUNS_PAGE (object);

  g_clear_pointer (&self->runs, g_ptr_array_unref);
  g_free (self->no_runs_text);

  G_OBJECT_CLASS (temper_runs_page_parent_class)->finalize (object);
}

/* History is never a step to finish: the page is always complete, so it
 * never holds the way forward back. */
static void
temper_runs_page_get_property (GObject    *object,
                               guint       prop_id,
                               GValue     *value,
                               GParamSpec *pspec)
{
  switch (prop_id)
    {
    case PROP_COMPLETE: g_value_set_boolean (value, TRUE); break;
    default:            G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
temper_runs_page_page_iface_init (TemperPageInterface *iface)
{
}

static void
temper_runs_page_class_init (TemperRunsPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = temper_runs_page_dispose;
  object_class->finalize = temper_runs_page_finalize;
  object_class->get_property = temper_runs_page_get_property;
  widget_class->map = temper_runs_page_map;

  g_object_class_override_property (object_class, PROP_COMPLETE, "complete");

  signals[OPEN_RUN] = g_signal_new ("open-run", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                    0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
  signals[CONTINUE_RUN] = g_signal_new ("continue-run", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                        0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
  signals[CONTINUE_ADAPTER] = g_signal_new ("continue-adapter", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                            0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);

  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/temper/Temper/temper-runs-page.ui");
  gtk_widget_class_bind_template_child (widget_class, TemperRunsPage, runs_list);
  gtk_widget_class_bind_template_child (widget_class, TemperRunsPage, empty_label);
  gtk_widget_class_install_action (widget_class, "page.refresh", NULL, refresh_action);
  gtk_widget_class_install_action (widget_class, "page.import", NULL, import_action);
  gtk_widget_class_install_action (widget_class, "page.continue-adapter", NULL, continue_adapter_action);
}

static void
temper_runs_page_init (TemperRunsPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->no_runs_text = g_strdup (gtk_label_get_label (self->empty_label));
  self->runs = g_ptr_array_new_with_free_func ((GDestroyNotify) temper_run_summary_free);
  show_runs (self);
}
