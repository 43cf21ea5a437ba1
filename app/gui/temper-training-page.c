/* SPDX-License-Identifier: MIT */
/* temper-training-page.c — runs temper_train_run() on a worker thread.
 *
 * The worker owns a snapshot of everything it needs (settings, paths, a
 * reference to the loaded model), so nothing the person does meanwhile can
 * change a run under way.  Each step's progress comes back through
 * g_idle_add_full() holding only a weak reference to the page: a page that
 * is gone simply drops the update.  Pause and Stop cancel the worker; the
 * engine stops after the current micro-batch and keeps a checkpoint, and
 * Resume starts a worker on the same run folder, which continues from it. */
#include "config.h"

#include <math.h>

#include <glib/gi18n.h>

#include "temper/error.h"
#include "temper/run.h"
#include "temper/train-figures.h"
#include "temper-error-banner.h"
#include "temper-fit-estimate.h"
#include "temper-format.h"
#include "temper-loss-chart.h"
#include "temper-page.h"
#include "temper-settings.h"
#include "temper-training-page.h"

struct _TemperTrainingPage
{
  AdwPreferencesPage   parent_instance;

  TemperSettings      *app_settings;  /* where measured speeds are kept */
  /* tokens/s of the running worker's steps, its first (warm-up) left out */
  GArray              *step_speeds;
  gboolean             first_step_seen;

  /* The inputs of the next new run. */
  TemperLoadedModel   *model;
  char                *start_from;
  char                *data_path;
  char                *val_path;      /* NULL: records of the data are held back */
  char                *outcome;       /* which adapter the shown run kept, or NULL */
  TemperTrainSettings  settings;
  gboolean             has_source;
  /* Where runs train: the device chosen on the Settings page. */
  TemperBackendKind    backend;
  int                  device;

  char                *run_dir;
  TemperTrainingState  state;
  TemperTrainingState  state_after_cancel;
  GCancellable        *cancellable;
  guint                inhibit_cookie;
  guint                generation;   /* tells updates of an older worker apart */

  TemperErrorBanner   *error_banner;
  AdwActionRow        *run_row;
  GtkWidget           *compare_button;
  GtkWidget           *start_button;
  GtkWidget           *pause_button;
  GtkWidget           *resume_button;
  GtkWidget           *stop_button;
  TemperLossChart     *chart;
  GtkLabel            *step_value;
  GtkLabel            *speed_value;
  GtkLabel            *time_value;
  GtkLabel            *memory_value;
};

static void temper_training_page_page_iface_init (TemperPageInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (TemperTrainingPage, temper_training_page, ADW_TYPE_PREFERENCES_PAGE,
                               G_IMPLEMENT_INTERFACE (TEMPER_TYPE_PAGE, temper_training_page_page_iface_init))

enum {
  PROP_0,
  PROP_SETTINGS,
  PROP_STATE,
  PROP_BUSY,
  PROP_RUN_DIR,
  PROP_COMPLETE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* ---- The worker ---------------------------------------------------------- */

typedef struct {
  /* Set on the main thread before the worker starts. */
  TemperLoadedModel   *model;
  char                *run_dir;      /* NULL: create a new run */
  char                *data_path;
  char                *val_path;     /* a file to check the training on, or NULL: held-back records */
  char                *start_from;   /* a run to continue from, or NULL */
  TemperTrainSettings  settings;     /* the worker sets the run's own once it is open */
  TemperBackendKind    backend;
  int                  device;
  guint                generation;
  GWeakRef             page;
  /* Set by the worker when training ends well. */
  char                *outcome;      /* which adapter was kept, or NULL */
} TrainJob;

static void
train_job_free (gpointer data)
{
  TrainJob *job = data;

  g_clear_object (&job->model);
  g_free (job->run_dir);
  g_free (job->data_path);
  g_free (job->val_path);
  g_free (job->start_from);
  g_free (job->outcome);
  g_weak_ref_clear (&job->page);
  g_free (job);
}

typedef struct {
  GWeakRef             page;
  guint                generation;
  char                *run_dir;      /* a run was created */
  TemperTrainProgress  progress;
  gboolean             has_progress;
} TrainUpdate;

static void
train_update_free (gpointer data)
{
  TrainUpdate *update = data;

  g_weak_ref_clear (&update->page);
  g_free (update->run_dir);
  g_free (update);
}

static void apply_progress (TemperTrainingPage *self, const TemperTrainProgress *p);
static void update_controls (TemperTrainingPage *self);

static gboolean
train_update_idle (gpointer data)
{
  TrainUpdate *update = data;
  g_autoptr(TemperTrainingPage) self = g_weak_ref_get (&update->page);

  /* A disposed page has lost its widgets: nothing left to show. */
  if (self == NULL || update->generation != self->generation || self->chart == NULL)
    return G_SOURCE_REMOVE;

  if (update->run_dir != NULL && g_strcmp0 (self->run_dir, update->run_dir) != 0)
    {
      g_free (self->run_dir);
      self->run_dir = g_strdup (update->run_dir);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RUN_DIR]);
      update_controls (self);
    }
  if (update->has_progress)
    {
      if (self->first_step_seen && update->progress.tokens_per_s > 0)
        g_array_append_val (self->step_speeds, update->progress.tokens_per_s);
      self->first_step_seen = TRUE;
      apply_progress (self, &update->progress);
    }
  return G_SOURCE_REMOVE;
}

static void
post_update (TrainJob                  *job,
             const char                *run_dir,
             const TemperTrainProgress *progress)
{
  TrainUpdate *update = g_new0 (TrainUpdate, 1);
  g_autoptr(GObject) page = g_weak_ref_get (&job->page);

  g_weak_ref_init (&update->page, page);
  update->generation = job->generation;
  update->run_dir = g_strdup (run_dir);
  if (progress != NULL)
    {
      update->progress = *progress;
      update->has_progress = TRUE;
    }
  g_idle_add_full (G_PRIORITY_DEFAULT, train_update_idle, update, train_update_free);
}

static void
progress_cb (const TemperTrainProgress *progress,
             gpointer                   user_data)
{
  post_update (user_data, NULL, progress);
}

/* A folder name that sorts by time and says which model it taught, on what. */
static char *
new_run_dir (const temper_model_t *model,
             const char           *data_path)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *model_name = temper_run_dup_model_name (temper_model_get_path (model));
  g_autofree char *name = temper_run_make_name (now, model_name, data_path);

  return temper_run_find_free_dir (NULL, name);
}

static void
train_thread (GTask        *task,
              gpointer      source_object,
              gpointer      task_data,
              GCancellable *cancellable)
{
  TrainJob *job = task_data;
  const temper_model_t *model = temper_loaded_model_get_model (job->model);
  g_autoptr(temper_run_t) run = NULL;
  g_autoptr(GError) error = NULL;
  TemperTrainOptions options;

  if (job->run_dir == NULL)
    {
      g_autofree char *dir = new_run_dir (model, job->data_path);

      TemperLoraConfig lora;

      /* Continuing: the adapter's shape is the run's. */
      if (job->start_from != NULL &&
          temper_train_read_start_adapter (job->start_from, temper_model_get_config (model), &lora, &error))
        job->settings.lora = lora;
      if (error == NULL)
        run = temper_run_create (dir, &job->settings, temper_model_get_path (model),
                                 job->data_path, job->val_path, &error);
      if (run != NULL && job->start_from != NULL &&
          !temper_train_set_start_adapter (run, job->start_from, temper_model_get_config (model), &error))
        g_clear_pointer (&run, temper_run_free);
    }
  else
    {
      run = temper_run_open (job->run_dir, &error);
      /* Another process training it: said in the page's banner. */
      if (run != NULL && !temper_run_lock (run, TEMPER_RUN_USE_TRAINING, &error))
        g_clear_pointer (&run, temper_run_free);
    }
  if (run == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  post_update (job, temper_run_get_dir (run), NULL);
  /* The settings the run trains with, for the page to read when it ends
   * (remember_speed) without opening the run again on the main thread. */
  job->settings = *temper_run_get_settings (run);

  temper_train_options_init (&options);
  options.cancellable = cancellable;
  options.backend = job->backend;
  options.device = job->device;
  options.progress = progress_cb;
  options.progress_data = job;
  /* The engine only reads the model while training (a run with 4-bit
   * base weights loads a model of its own), so the loaded model is shared
   * and keeps answering on other pages; it outlives the worker through
   * job->model. */
  if (!temper_train_run_shared (run, model, &options, &error))
    g_task_return_error (task, g_steal_pointer (&error));
  else
    {
      /* Read here, off the main thread, for the page to say. */
      job->outcome = temper_train_describe_outcome (run);
      g_task_return_boolean (task, TRUE);
    }
}

/* ---- The page ------------------------------------------------------------ */

static const char *
state_title (TemperTrainingState state)
{
  switch (state)
    {
    case TEMPER_TRAINING_READY:    return _("Ready to start");
    case TEMPER_TRAINING_RUNNING:  return _("Training…");
    case TEMPER_TRAINING_PAUSED:   return _("Paused");
    case TEMPER_TRAINING_STOPPED:  return _("Stopped");
    case TEMPER_TRAINING_FINISHED: return _("Finished");
    case TEMPER_TRAINING_FAILED:   return _("Training failed");
    default:                       return "";
    }
}

static gboolean
is_busy (TemperTrainingPage *self)
{
  return self->cancellable != NULL;
}

static void
update_controls (TemperTrainingPage *self)
{
  gboolean busy = is_busy (self);
  gboolean cancelling = busy && g_cancellable_is_cancelled (self->cancellable);
  gboolean resumable = self->run_dir != NULL &&
                       (self->state == TEMPER_TRAINING_PAUSED || self->state == TEMPER_TRAINING_STOPPED ||
                        self->state == TEMPER_TRAINING_FAILED);
  g_autofree char *basename = self->run_dir != NULL ? g_path_get_basename (self->run_dir) : NULL;

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "page.start",
                                 !busy && self->has_source &&
                                 (self->state == TEMPER_TRAINING_READY || self->state == TEMPER_TRAINING_FINISHED ||
                                  self->state == TEMPER_TRAINING_FAILED));
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "page.pause", busy && !cancelling);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "page.stop", busy && !cancelling);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "page.resume", !busy && resumable && self->model != NULL);
  /* Only the buttons that make sense now are shown, so the next move is
   * obvious. */
  gtk_widget_set_visible (self->start_button, !busy && !resumable);
  /* A finished run's next move is to look at what it learnt: Compare is
   * the one primary button, training again a secondary one. */
  gtk_widget_set_visible (self->compare_button, !busy && self->state == TEMPER_TRAINING_FINISHED);
  if (self->state == TEMPER_TRAINING_FINISHED)
    gtk_widget_remove_css_class (self->start_button, "suggested-action");
  else
    gtk_widget_add_css_class (self->start_button, "suggested-action");
  gtk_widget_set_visible (self->pause_button, busy);
  gtk_widget_set_visible (self->stop_button, busy);
  gtk_widget_set_visible (self->resume_button, !busy && resumable);

  if (cancelling)
    adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->run_row),
                                   _("Saving a checkpoint…"));
  else
    adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->run_row), state_title (self->state));

  if (basename != NULL && self->state == TEMPER_TRAINING_FINISHED)
    {
      /* Says which adapter was kept when it is not the last one. */
      g_autofree char *text = self->outcome != NULL ? g_strdup_printf ("%s\n%s", basename, self->outcome) : NULL;

      adw_action_row_set_subtitle (self->run_row, text != NULL ? text : basename);
    }
  else if (basename != NULL)
    adw_action_row_set_subtitle (self->run_row, basename);
  else if (self->start_from != NULL)
    {
      /* Continuing: said before the start, so the person knows which
       * adapter the new run builds on. */
      g_autofree char *from = g_path_get_basename (self->start_from);
      g_autofree char *text = g_strdup_printf (_("A new run starts from the adapter in “%s”, with its rank and "
                                                 "targets."), from);

      adw_action_row_set_subtitle (self->run_row, text);
    }
  else if (!self->has_source)
    adw_action_row_set_subtitle (self->run_row, _("Choose a model, a dataset and settings first."));
  else
    adw_action_row_set_subtitle (self->run_row, _("A new run folder is made when training starts."));
}

static void
set_state (TemperTrainingPage  *self,
           TemperTrainingState  state)
{
  gboolean was_complete = self->state == TEMPER_TRAINING_FINISHED;

  self->state = state;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
  if (was_complete != (state == TEMPER_TRAINING_FINISHED))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_COMPLETE]);
  update_controls (self);
}

static void
apply_progress (TemperTrainingPage        *self,
                const TemperTrainProgress *p)
{
  g_autofree char *step = NULL;
  g_autofree char *speed = NULL;
  g_autofree char *memory = NULL;
  g_autofree char *left = NULL;

  temper_loss_chart_set_total (self->chart, p->total_steps);
  if (isfinite (p->loss))
    temper_loss_chart_add_point_full (self->chart, TEMPER_LOSS_SERIES_TRAINING, p->step, p->loss,
                                      p->epoch, p->tokens_per_s);
  if (isfinite (p->val_loss))
    temper_loss_chart_add_point (self->chart, TEMPER_LOSS_SERIES_VALIDATION, p->step, p->val_loss);

  /* Translators: "Step 12 of 50 · epoch 0.48" */
  step = g_strdup_printf (_("%lld of %lld · epoch %.2f"), (long long) p->step,
                          (long long) p->total_steps, p->epoch);
  /* Translators: training speed, e.g. "812 tokens/s" */
  speed = g_strdup_printf (_("%.0f tokens/s"), p->tokens_per_s);
  memory = g_format_size (p->memory_bytes);
  /* A finished run has no time left to estimate. */
  if (p->step > 0 && p->total_steps > p->step)
    left = temper_format_duration (p->elapsed_s / (double) p->step * (double) (p->total_steps - p->step));
  else
    left = g_strdup ("—");

  gtk_label_set_text (self->step_value, step);
  gtk_label_set_text (self->speed_value, speed);
  gtk_label_set_text (self->time_value, left);
  gtk_label_set_text (self->memory_value, memory);
}

static void
inhibit_suspend (TemperTrainingPage *self,
                 gboolean            inhibit)
{
  GApplication *app = g_application_get_default ();
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));

  if (!GTK_IS_APPLICATION (app))
    return;
  if (inhibit && self->inhibit_cookie == 0)
    self->inhibit_cookie = gtk_application_inhibit (GTK_APPLICATION (app),
                                                    GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                                    GTK_APPLICATION_INHIBIT_SUSPEND | GTK_APPLICATION_INHIBIT_IDLE,
                                                    _("Training a model"));
  else if (!inhibit && self->inhibit_cookie != 0)
    {
      gtk_application_uninhibit (GTK_APPLICATION (app), self->inhibit_cookie);
      self->inhibit_cookie = 0;
    }
}

static void
notify_done (const char         *title,
             const char         *body)
{
  GApplication *app = g_application_get_default ();
  g_autoptr(GNotification) notification = NULL;

  if (app == NULL)
    return;
  notification = g_notification_new (title);
  g_notification_set_body (notification, body);
  /* No default action: clicking the notification then activates the
   * application, which brings its window back to the front. */
  g_application_send_notification (app, "training", notification);
}

static int
compare_doubles (gconstpointer a,
                 gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return (x > y) - (x < y);
}

/* Keeps the speed the run sustained on its device, the median of its steps,
 * as FLOP/s (temper_train_flops_per_token() of its model and settings): the
 * Settings page then estimates the next run, of any model, from it. */
static void
remember_speed (TemperTrainingPage *self,
                const TrainJob     *job)
{
  g_autofree char *id = NULL;
  const temper_model_t *model = temper_loaded_model_get_model (job->model);
  const TemperTrainSettings *settings = &job->settings;
  double median, flops_per_token;

  if (self->app_settings == NULL || self->step_speeds->len < 2 || self->run_dir == NULL)
    return;
  /* "The best GPU" names no device the estimate could look up again. */
  if (job->backend != TEMPER_BACKEND_CPU && job->device < 0)
    return;
  g_array_sort (self->step_speeds, compare_doubles);
  median = g_array_index (self->step_speeds, double, self->step_speeds->len / 2);
  id = g_strdup_printf ("%s:%d", temper_backend_kind_name (job->backend), MAX (job->device, 0));
  flops_per_token = temper_train_flops_per_token (temper_model_get_config (model),
                                                  temper_lora_config_count_params (temper_model_get_config (model),
                                                                                   &settings->lora),
                                                  settings->max_length, settings->recompute);
  temper_settings_set_measured_speed (self->app_settings, id, median * flops_per_token);
}

static void
train_done_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  TemperTrainingPage *self = TEMPER_TRAINING_PAGE (source);
  TrainJob *job = g_task_get_task_data (G_TASK (result));
  g_autoptr(GError) error = NULL;

  if (job->generation != self->generation)
    return;

  g_clear_object (&self->cancellable);
  if (self->chart == NULL)
    return;
  inhibit_suspend (self, FALSE);
  remember_speed (self, job);

  if (g_task_propagate_boolean (G_TASK (result), &error))
    {
      /* Which adapter was kept, when not the last one (early stopping). */
      g_free (self->outcome);
      self->outcome = g_strdup (job->outcome);
      set_state (self, TEMPER_TRAINING_FINISHED);
      notify_done (_("Training finished"),
                   self->outcome != NULL ? self->outcome : _("The adapter is ready in the run folder."));
    }
  else if (g_error_matches (error, TEMPER_ERROR, TEMPER_ERROR_CANCELLED) ||
           g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    set_state (self, self->state_after_cancel);
  else
    {
      temper_error_banner_show (self->error_banner, _("Training stopped with a problem"), error, self->run_dir);
      set_state (self, TEMPER_TRAINING_FAILED);
      notify_done (_("Training stopped with a problem"), error->message);
    }

  /* Last: a window waiting to close may go away on this notification. */
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BUSY]);
}

static void
run_worker (TemperTrainingPage *self,
            const char         *run_dir)
{
  g_autoptr(GTask) task = NULL;
  TrainJob *job;

  g_return_if_fail (!is_busy (self));
  g_return_if_fail (self->model != NULL);

  temper_error_banner_dismiss (self->error_banner);
  g_array_set_size (self->step_speeds, 0);
  self->first_step_seen = FALSE;
  self->generation++;
  self->cancellable = g_cancellable_new ();
  job = g_new0 (TrainJob, 1);
  job->model = g_object_ref (self->model);
  job->run_dir = g_strdup (run_dir);
  job->data_path = g_strdup (self->data_path);
  job->val_path = g_strdup (self->val_path);
  /* Only the next new run continues; later ones start fresh again. */
  job->start_from = job->run_dir == NULL ? g_steal_pointer (&self->start_from) : NULL;
  job->settings = self->settings;
  job->backend = self->backend;
  job->device = self->device;
  job->generation = self->generation;
  g_weak_ref_init (&job->page, self);

  task = g_task_new (self, self->cancellable, train_done_cb, NULL);
  g_task_set_source_tag (task, run_worker);
  g_task_set_task_data (task, job, train_job_free);
  g_clear_pointer (&self->outcome, g_free);
  g_task_run_in_thread (task, train_thread);

  inhibit_suspend (self, TRUE);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BUSY]);
  set_state (self, TEMPER_TRAINING_RUNNING);
}

void
temper_training_page_start (TemperTrainingPage *self)
{
  g_return_if_fail (TEMPER_IS_TRAINING_PAGE (self));

  if (is_busy (self) || !self->has_source)
    return;
  g_clear_pointer (&self->run_dir, g_free);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RUN_DIR]);
  temper_loss_chart_clear (self->chart);
  run_worker (self, NULL);
}

static void
cancel_worker (TemperTrainingPage  *self,
               TemperTrainingState  then)
{
  if (!is_busy (self) || g_cancellable_is_cancelled (self->cancellable))
    return;
  self->state_after_cancel = then;
  g_cancellable_cancel (self->cancellable);
  update_controls (self);
}

void
temper_training_page_pause (TemperTrainingPage *self)
{
  g_return_if_fail (TEMPER_IS_TRAINING_PAGE (self));
  cancel_worker (self, TEMPER_TRAINING_PAUSED);
}

void
temper_training_page_stop (TemperTrainingPage *self)
{
  g_return_if_fail (TEMPER_IS_TRAINING_PAGE (self));
  cancel_worker (self, TEMPER_TRAINING_STOPPED);
}

void
temper_training_page_resume (TemperTrainingPage *self)
{
  g_return_if_fail (TEMPER_IS_TRAINING_PAGE (self));

  if (is_busy (self) || self->run_dir == NULL || self->model == NULL)
    return;
  run_worker (self, self->run_dir);
}

void
temper_training_page_set_start_from (TemperTrainingPage *self,
                                     const char         *dir)
{
  g_return_if_fail (TEMPER_IS_TRAINING_PAGE (self));
  g_free (self->start_from);
  self->start_from = g_strdup (dir);
  update_controls (self);
}

const char *
temper_training_page_get_start_from (TemperTrainingPage *self)
{
  g_return_val_if_fail (TEMPER_IS_TRAINING_PAGE (self), NULL);
  return self->start_from;
}

void
temper_training_page_set_source (TemperTrainingPage        *self,
                                 TemperLoadedModel         *model,
                                 const char                *data_path,
                                 const char                *val_path,
                                 const TemperTrainSettings *settings)
{
  gboolean same;

  g_return_if_fail (TEMPER_IS_TRAINING_PAGE (self));

  if (is_busy (self))
    return;

  same = self->has_source && model == self->model && g_strcmp0 (data_path, self->data_path) == 0 &&
         g_strcmp0 (val_path, self->val_path) == 0 &&
         settings != NULL && temper_train_settings_equal (settings, &self->settings);
  if (same)
    return;

  g_set_object (&self->model, model);
  g_clear_pointer (&self->outcome, g_free);
  g_free (self->data_path);
  self->data_path = g_strdup (data_path);
  g_free (self->val_path);
  self->val_path = g_strdup (val_path);
  if (settings != NULL)
    self->settings = *settings;
  self->has_source = model != NULL && data_path != NULL && settings != NULL;

  /* New inputs mean a new run; the old one stays in its folder. */
  if (self->run_dir != NULL)
    {
      g_clear_pointer (&self->run_dir, g_free);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RUN_DIR]);
    }
  temper_loss_chart_clear (self->chart);
  temper_error_banner_dismiss (self->error_banner);
  gtk_label_set_text (self->step_value, "—");
  gtk_label_set_text (self->speed_value, "—");
  gtk_label_set_text (self->time_value, "—");
  gtk_label_set_text (self->memory_value, "—");
  set_state (self, TEMPER_TRAINING_READY);
}

void
temper_training_page_set_device (TemperTrainingPage *self,
                                 TemperBackendKind   backend,
                                 int                 device)
{
  g_return_if_fail (TEMPER_IS_TRAINING_PAGE (self));

  /* A run under way keeps its device; the next start or resume takes this
   * one (checkpoints do not depend on the device). */
  self->backend = backend;
  self->device = device;
}

gboolean
temper_training_page_show_run (TemperTrainingPage *self,
                               const temper_run_t *run,
                               GArray             *metrics,
                               const char         *outcome,
                               TemperLoadedModel  *model,
                               GError            **error)
{
  g_autofree char *adapter_dir = NULL;
  TemperTrainingState state;

  g_return_val_if_fail (TEMPER_IS_TRAINING_PAGE (self), FALSE);
  g_return_val_if_fail (run != NULL, FALSE);

  if (is_busy (self))
    {
      g_set_error_literal (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_ARGUMENT,
                           _("A run is training now. Pause or stop it before opening another."));
      return FALSE;
    }

  g_set_object (&self->model, model);
  g_free (self->outcome);
  self->outcome = g_strdup (outcome);
  g_free (self->data_path);
  self->data_path = g_strdup (temper_run_get_data_path (run));
  g_free (self->val_path);
  self->val_path = g_strdup (temper_run_get_val_path (run));
  self->settings = *temper_run_get_settings (run);
  self->has_source = TRUE;
  g_free (self->run_dir);
  self->run_dir = g_strdup (temper_run_get_dir (run));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RUN_DIR]);

  temper_loss_chart_clear (self->chart);
  temper_error_banner_dismiss (self->error_banner);
  for (guint i = 0; metrics != NULL && i < metrics->len; i++)
    {
      const TemperRunMetrics *m = &g_array_index (metrics, TemperRunMetrics, i);
      TemperTrainProgress p = { 0 };

      p.step = m->step;
      p.total_steps = m->step;
      p.epoch = m->epoch;
      p.loss = m->loss;
      p.val_loss = m->val_loss;
      p.tokens_per_s = m->tokens_per_s;
      p.elapsed_s = m->elapsed_s;
      p.memory_bytes = m->memory_bytes;
      apply_progress (self, &p);
    }
  temper_loss_chart_set_total (self->chart, 0);

  adapter_dir = temper_run_dup_adapter_dir (run);
  /* Without an adapter the run never finished: it resumes from its newest
   * checkpoint, or from the start when it stopped before the first. */
  state = g_file_test (adapter_dir, G_FILE_TEST_IS_DIR) ? TEMPER_TRAINING_FINISHED
                                                        : TEMPER_TRAINING_STOPPED;
  set_state (self, state);
  return TRUE;
}

TemperTrainingState
temper_training_page_get_state (TemperTrainingPage *self)
{
  g_return_val_if_fail (TEMPER_IS_TRAINING_PAGE (self), TEMPER_TRAINING_READY);
  return self->state;
}

gboolean
temper_training_page_is_busy (TemperTrainingPage *self)
{
  g_return_val_if_fail (TEMPER_IS_TRAINING_PAGE (self), FALSE);
  return is_busy (self);
}

const char *
temper_training_page_get_run_dir (TemperTrainingPage *self)
{
  g_return_val_if_fail (TEMPER_IS_TRAINING_PAGE (self), NULL);
  return self->run_dir;
}

GtkWidget *
temper_training_page_get_chart (TemperTrainingPage *self)
{
  g_return_val_if_fail (TEMPER_IS_TRAINING_PAGE (self), NULL);
  return GTK_WIDGET (self->chart);
}

static void
start_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  temper_training_page_start (TEMPER_TRAINING_PAGE (widget));
}

static void
pause_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  temper_training_page_pause (TEMPER_TRAINING_PAGE (widget));
}

static void
resume_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  temper_training_page_resume (TEMPER_TRAINING_PAGE (widget));
}

static void
stop_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  temper_training_page_stop (TEMPER_TRAINING_PAGE (widget));
}

static void
temper_training_page_dispose (GObject *object)
{
  TemperTrainingPage *self = TEMPER_TRAINING_PAGE (object);

  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  inhibit_suspend (self, FALSE);
  gtk_widget_dispose_template (GTK_WIDGET (self), TEMPER_TYPE_TRAINING_PAGE);

  G_OBJECT_CLASS (temper_training_page_parent_class)->dispose (object);
}

static void
temper_training_page_finalize (GObject *object)
{
  TemperTrainingPage *self = TEMPER_TRAINING_PAGE (object);

  g_clear_object (&self->cancellable);
  g_clear_object (&self->model);
  g_clear_object (&self->app_settings);
  g_array_unref (self->step_speeds);
  g_free (self->data_path);
  g_free (self->val_path);
  g_free (self->outcome);
  g_free (self->start_from);
  g_free (self->run_dir);

  G_OBJECT_CLASS (temper_training_page_parent_class)->finalize (object);
}

static void
temper_training_page_get_property (GObject    *object,
                                   guint       prop_id,
                                   GValue     *value,
                                   GParamSpec *pspec)
{
  TemperTrainingPage *self = TEMPER_TRAINING_PAGE (object);

  switch (prop_id)
    {
    case PROP_SETTINGS: g_value_set_object (value, self->app_settings); break;
    case PROP_STATE:    g_value_set_int (value, (int) self->state); break;
    case PROP_BUSY:     g_value_set_boolean (value, is_busy (self)); break;
    case PROP_RUN_DIR:  g_value_set_string (value, self->run_dir); break;
    case PROP_COMPLETE: g_value_set_boolean (value, self->state == TEMPER_TRAINING_FINISHED); break;
    default:            G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
temper_training_page_set_property (GObject      *object,
                                   guint         prop_id,
                                   const GValue *value,
                                   GParamSpec   *pspec)
{
  TemperTrainingPage *self = TEMPER_TRAINING_PAGE (object);

  switch (prop_id)
    {
    case PROP_SETTINGS: g_set_object (&self->app_settings, g_value_get_object (value)); break;
    default:            G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
temper_training_page_page_iface_init (TemperPageInterface *iface)
{
}

static void
temper_training_page_class_init (TemperTrainingPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = temper_training_page_dispose;
  object_class->finalize = temper_training_page_finalize;
  object_class->get_property = temper_training_page_get_property;
  object_class->set_property = temper_training_page_set_property;

  properties[PROP_SETTINGS] =
    g_param_spec_object ("settings", NULL, NULL, TEMPER_TYPE_SETTINGS,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_STATE] =
    g_param_spec_int ("state", NULL, NULL, TEMPER_TRAINING_READY, TEMPER_TRAINING_FAILED,
                      TEMPER_TRAINING_READY, G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_BUSY] =
    g_param_spec_boolean ("busy", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_RUN_DIR] =
    g_param_spec_string ("run-dir", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, PROP_COMPLETE, properties);
  g_object_class_override_property (object_class, PROP_COMPLETE, "complete");
  properties[PROP_COMPLETE] = g_object_class_find_property (object_class, "complete");

  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/temper/Temper/temper-training-page.ui");
  gtk_widget_class_bind_template_child (widget_class, TemperTrainingPage, error_banner);
  gtk_widget_class_bind_template_child (widget_class, TemperTrainingPage, run_row);
  gtk_widget_class_bind_template_child (widget_class, TemperTrainingPage, compare_button);
  gtk_widget_class_bind_template_child (widget_class, TemperTrainingPage, start_button);
  gtk_widget_class_bind_template_child (widget_class, TemperTrainingPage, pause_button);
  gtk_widget_class_bind_template_child (widget_class, TemperTrainingPage, resume_button);
  gtk_widget_class_bind_template_child (widget_class, TemperTrainingPage, stop_button);
  gtk_widget_class_bind_template_child (widget_class, TemperTrainingPage, chart);
  gtk_widget_class_bind_template_child (widget_class, TemperTrainingPage, step_value);
  gtk_widget_class_bind_template_child (widget_class, TemperTrainingPage, speed_value);
  gtk_widget_class_bind_template_child (widget_class, TemperTrainingPage, time_value);
  gtk_widget_class_bind_template_child (widget_class, TemperTrainingPage, memory_value);

  gtk_widget_class_install_action (widget_class, "page.start", NULL, start_action);
  gtk_widget_class_install_action (widget_class, "page.pause", NULL, pause_action);
  gtk_widget_class_install_action (widget_class, "page.resume", NULL, resume_action);
  gtk_widget_class_install_action (widget_class, "page.stop", NULL, stop_action);

  g_type_ensure (TEMPER_TYPE_ERROR_BANNER);
  g_type_ensure (TEMPER_TYPE_LOSS_CHART);
}

static void
temper_training_page_init (TemperTrainingPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  temper_train_settings_init_default (&self->settings);
  self->step_speeds = g_array_new (FALSE, FALSE, sizeof (double));
  self->state = TEMPER_TRAINING_READY;
  update_controls (self);
}
