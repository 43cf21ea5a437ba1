/* temper-runs-page.c — reads every run folder on a worker thread (opening
 * settings.json and metrics.jsonl of each) and lists them, newest first. */
#include "config.h"

#include <math.h>

#include <glib/gi18n.h>

#include "temper/run.h"
#include "temper-cluster-job.h"
#include "temper-page.h"
#include "temper-runs-page.h"

typedef enum {
  RUN_NOT_STARTED,
  RUN_STOPPED,
  RUN_FINISHED,
  RUN_UNREADABLE,
} RunStatus;

typedef struct {
  char     *dir;
  char     *model_name;
  RunStatus status;
  gint64    last_step;
  double    final_loss;
  double    final_val_loss;
  char     *problem;
  char     *holder;      /* the process training or exporting it now, or NULL */
} RunSummary;

static void
run_summary_free (gpointer data)
{
  RunSummary *summary = data;

  g_free (summary->dir);
  g_free (summary->model_name);
  g_free (summary->problem);
  g_free (summary->holder);
  g_free (summary);
}

struct _TemperRunsPage
{
  AdwPreferencesPage  parent_instance;

  GPtrArray          *runs;        /* RunSummary */
  GCancellable       *cancellable;

  GtkListBox         *runs_list;
  GtkLabel           *empty_label;
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
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static RunSummary *
summarize (const char *dir)
{
  RunSummary *summary = g_new0 (RunSummary, 1);
  g_autoptr(GError) error = NULL;
  g_autoptr(temper_run_t) run = temper_run_open (dir, &error);
  g_autoptr(GArray) metrics = NULL;
  g_autofree char *adapter_dir = NULL;

  summary->dir = g_strdup (dir);
  summary->final_loss = NAN;
  summary->final_val_loss = NAN;
  if (run == NULL)
    {
      summary->status = RUN_UNREADABLE;
      summary->problem = g_strdup (error->message);
      return summary;
    }

  summary->model_name = g_path_get_basename (temper_run_get_model_path (run));
  summary->holder = temper_run_dup_lock_holder (dir);
  metrics = temper_run_read_metrics (run, NULL);
  for (guint i = 0; metrics != NULL && i < metrics->len; i++)
    {
      const TemperRunMetrics *m = &g_array_index (metrics, TemperRunMetrics, i);

      summary->last_step = m->step;
      if (isfinite (m->loss))
        summary->final_loss = m->loss;
      if (isfinite (m->val_loss))
        summary->final_val_loss = m->val_loss;
    }
  adapter_dir = temper_run_dup_adapter_dir (run);
  if (g_file_test (adapter_dir, G_FILE_TEST_IS_DIR))
    summary->status = RUN_FINISHED;
  else if (summary->last_step > 0)
    summary->status = RUN_STOPPED;
  else
    summary->status = RUN_NOT_STARTED;
  return summary;
}

static int
compare_newest_first (gconstpointer a,
                      gconstpointer b)
{
  const RunSummary *ra = *(RunSummary * const *) a;
  const RunSummary *rb = *(RunSummary * const *) b;

  /* Folder names start with the date and time. */
  return -g_strcmp0 (ra->dir, rb->dir);
}

static void
list_runs_thread (GTask        *task,
                  gpointer      source_object,
                  gpointer      task_data,
                  GCancellable *cancellable)
{
  g_autofree char *probe = temper_run_default_dir ("probe");
  g_autofree char *root = g_path_get_dirname (probe);
  g_autoptr(GPtrArray) runs = g_ptr_array_new_with_free_func (run_summary_free);
  g_autoptr(GDir) dir = g_dir_open (root, 0, NULL);
  const char *name;

  /* No folder yet simply means no runs yet. */
  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (root, name, NULL);
      g_autofree char *settings = g_build_filename (path, "settings.json", NULL);

      if (g_cancellable_is_cancelled (cancellable))
        break;
      if (g_file_test (settings, G_FILE_TEST_IS_REGULAR))
        g_ptr_array_add (runs, summarize (path));
    }
  g_ptr_array_sort (runs, compare_newest_first);
  g_task_return_pointer (task, g_steal_pointer (&runs), (GDestroyNotify) g_ptr_array_unref);
}

static char *
describe (const RunSummary *run)
{
  g_autofree char *loss = NULL, *in_use = NULL;
  const char *status;

  switch (run->status)
    {
    case RUN_FINISHED:    status = _("Finished"); break;
    case RUN_STOPPED:     status = _("Stopped, can go on"); break;
    case RUN_NOT_STARTED: status = _("Not started"); break;
    case RUN_UNREADABLE:
    default:              return g_strdup (run->problem);
    }
  if (run->holder != NULL)
    /* Translators: %s is a program and its process, e.g. "temper-cli (process 1234)" */
    status = in_use = g_strdup_printf (_("In use by %s"), run->holder);

  if (isfinite (run->final_val_loss))
    /* Translators: final training and validation loss of a run, e.g. "loss 1.23, validation 1.31" */
    loss = g_strdup_printf (_("loss %.3f, validation %.3f"), run->final_loss, run->final_val_loss);
  else if (isfinite (run->final_loss))
    /* Translators: final training loss of a run */
    loss = g_strdup_printf (_("loss %.3f"), run->final_loss);

  if (loss != NULL)
    /* Translators: "Finished · step 50 · loss 1.23 · SmolLM2.gguf" */
    return g_strdup_printf (_("%s · step %lld · %s · %s"), status, (long long) run->last_step,
                            loss, run->model_name);
  /* Translators: "Not started · SmolLM2.gguf" */
  return g_strdup_printf (_("%s · %s"), status, run->model_name);
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
      const RunSummary *run = g_ptr_array_index (self->runs, i);
      g_autofree char *title = g_path_get_basename (run->dir);
      g_autofree char *subtitle = describe (run);
      GtkWidget *row = adw_action_row_new ();
      GtkWidget *button = gtk_button_new_with_mnemonic (_("_Open"));

      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
      adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
      gtk_widget_set_tooltip_text (row, run->dir);
      gtk_widget_set_valign (button, GTK_ALIGN_CENTER);
      gtk_widget_set_sensitive (button, run->status != RUN_UNREADABLE);
      /* Translators: %s is a run's folder name */
      {
        g_autofree char *label = g_strdup_printf (_("Open the run %s"), title);

        gtk_accessible_update_property (GTK_ACCESSIBLE (button), GTK_ACCESSIBLE_PROPERTY_LABEL, label, -1);
      }
      g_object_set_data_full (G_OBJECT (button), "dir", g_strdup (run->dir), g_free);
      g_signal_connect_object (button, "clicked", G_CALLBACK (open_clicked_cb), self, 0);
      gtk_widget_set_name (button, "open-run");
      /* A finished run's adapter can be trained further, on new data, in a new run. */
      if (run->status == RUN_FINISHED)
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
        gtk_widget_set_sensitive (cluster, run->status != RUN_UNREADABLE);
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
  GPtrArray *runs = g_task_propagate_pointer (G_TASK (result), NULL);

  if (runs == NULL || g_task_get_cancellable (G_TASK (result)) != self->cancellable)
    {
      g_clear_pointer (&runs, g_ptr_array_unref);
      return;
    }
  g_clear_object (&self->cancellable);
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
  return ((RunSummary *) g_ptr_array_index (self->runs, i))->dir;
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

  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/temper/Temper/temper-runs-page.ui");
  gtk_widget_class_bind_template_child (widget_class, TemperRunsPage, runs_list);
  gtk_widget_class_bind_template_child (widget_class, TemperRunsPage, empty_label);
  gtk_widget_class_install_action (widget_class, "page.refresh", NULL, refresh_action);
  gtk_widget_class_install_action (widget_class, "page.import", NULL, import_action);
}

static void
temper_runs_page_init (TemperRunsPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->runs = g_ptr_array_new_with_free_func (run_summary_free);
  show_runs (self);
}
