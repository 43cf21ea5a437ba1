/* SPDX-License-Identifier: MIT */
/* temper-dataset-page-check.c — what the run checks its training on: a
 * file the person chose (read and summed up here, never changed), or
 * records it holds back from what it trains on.  Leakage — a record checked
 * on that nearly repeats one trained on — is looked for in exactly what the
 * run will split: the cleaned copy or the mix (its other datasets as the
 * mix group read them, not read again), by the run's seed and share, or
 * against the chosen file. */
#include "config.h"

#include <glib/gi18n.h>

#include "temper/dataset.h"
#include "temper-dataset-chooser.h"
#include "temper-dataset-page-private.h"
#include "temper-fit-estimate.h"
#include "temper-paths.h"

/* ---- The row ------------------------------------------------------------ */

void
dataset_page_show_check_row (TemperDatasetPage *self)
{
  DatasetPageHeldBack held_back = DATASET_PAGE_HOLDS_SOME;

  if (self->check_path == NULL && self->checked != NULL)
    held_back = dataset_page_held_back (self->split_fraction, dataset_page_n_split (self));
  if (self->check != NULL)
    {
      const TemperDatasetReport *report = temper_dataset_get_report (self->check->dataset);
      g_autofree char *name = g_path_get_basename (self->check_path);
      g_autofree char *records = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%llu record to check with",
                                                               "%llu records to check with", report->n_valid),
                                                  (unsigned long long) report->n_valid);
      g_autofree char *subtitle = NULL;

      if (report->n_problems > 0)
        /* Translators: the records of the check file, then how many of its records cannot be used */
        subtitle = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%s; %llu left out for a problem",
                                                 "%s; %llu left out for problems", report->n_problems),
                                    records, (unsigned long long) report->n_problems);
      else
        subtitle = g_steal_pointer (&records);
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->check_row), name);
      adw_action_row_set_subtitle (self->check_row, subtitle);
      gtk_widget_set_tooltip_text (GTK_WIDGET (self->check_row), self->check_path);
    }
  else if (self->check_path != NULL)
    {
      g_autofree char *name = g_path_get_basename (self->check_path);

      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->check_row), name);
      adw_action_row_set_subtitle (self->check_row, _("Reading…"));
      gtk_widget_set_tooltip_text (GTK_WIDGET (self->check_row), self->check_path);
    }
  else if (held_back == DATASET_PAGE_NONE_SMALL)
    {
      /* As the split row says (dataset_page_held_back()): under the
       * automatic settings, or a share of 0 they would choose anyway. */
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->check_row),
                                     self->split_fraction < 0 ? _("Records held back from this file (automatic)")
                                                              : _("Records held back from this file"));
      adw_action_row_set_subtitle (self->check_row,
                                   _("None: a small dataset needs every example to learn from. From 200 records, "
                                     "a tenth is kept aside and never learned from."));
      gtk_widget_set_tooltip_text (GTK_WIDGET (self->check_row), NULL);
    }
  else if (self->split_fraction < 0)
    {
      /* The automatic share (temper_train_settings_choose()). */
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->check_row),
                                     _("Records held back from this file (automatic)"));
      adw_action_row_set_subtitle (self->check_row,
                                   _("From 200 records, a tenth is kept aside and never learned from."));
      gtk_widget_set_tooltip_text (GTK_WIDGET (self->check_row), NULL);
    }
  else
    {
      /* The share set on the Settings page, which the run holds back
       * whatever the number of records. */
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->check_row), _("Records held back from this file"));
      if (self->split_fraction > 0)
        {
          g_autofree char *percent = g_strdup_printf ("%.3g", self->split_fraction * 100);
          g_autofree char *subtitle = NULL;

          /* Translators: %s is a percentage, e.g. "5" or "12.5"; %% is the percent sign */
          subtitle = g_strdup_printf (_("%s %% of your examples are kept aside and never learned from."), percent);

          adw_action_row_set_subtitle (self->check_row, subtitle);
        }
      else
        adw_action_row_set_subtitle (self->check_row,
                                     _("None: the validation share is 0, so every example is learned from and "
                                       "progress is not checked."));
      gtk_widget_set_tooltip_text (GTK_WIDGET (self->check_row), NULL);
    }
  gtk_widget_set_visible (self->check_forget_button, self->check_path != NULL);
}

/* ---- Reading the check file --------------------------------------------- */

typedef struct {
  char              *path;
  TemperLoadedModel *model;
} CheckFileInput;

static void
check_file_input_free (gpointer data)
{
  CheckFileInput *input = data;

  g_free (input->path);
  g_clear_object (&input->model);
  g_free (input);
}

static void
read_check_thread (GTask *task, gpointer object, gpointer task_data, GCancellable *cancellable)
{
  CheckFileInput *input = task_data;
  GError *error = NULL;
  CheckedDataset *checked = dataset_page_load (input->path, input->model, NULL, NULL, TEMPER_FIT_SEQ_LEN,
                                               cancellable, &error);

  if (checked == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, checked, dataset_page_checked_unref);
}

static void
read_check_done_cb (GObject *object, GAsyncResult *result, gpointer user_data)
{
  TemperDatasetPage *self = TEMPER_DATASET_PAGE (object);
  CheckFileInput *input = g_task_get_task_data (G_TASK (result));
  g_autoptr(GError) error = NULL;
  CheckedDataset *checked;

  if (g_cancellable_is_cancelled (g_task_get_cancellable (G_TASK (result))))
    return;   /* another file, or none, was chosen meanwhile */
  g_clear_object (&self->check_cancellable);
  checked = g_task_propagate_pointer (G_TASK (result), &error);
  if (checked == NULL)
    {
      g_clear_pointer (&self->check_path, g_free);
      dataset_page_show_check_row (self);
      temper_error_banner_show (self->error_banner, _("Temper could not use this file to check on"),
                                error, input->path);
      return;
    }
  g_clear_pointer (&self->check, dataset_page_checked_unref);
  self->check = checked;
  dataset_page_show_check_row (self);
  /* The split line, the leakage and the estimate change with it. */
  dataset_page_training_changed (self);
}

static void
set_check_path (TemperDatasetPage *self, const char *path)
{
  if (self->check_cancellable != NULL)
    g_cancellable_cancel (self->check_cancellable);
  g_clear_object (&self->check_cancellable);
  g_clear_pointer (&self->check, dataset_page_checked_unref);
  if (path != self->check_path)
    {
      g_free (self->check_path);
      self->check_path = g_strdup (path);
    }
  dataset_page_show_check_row (self);
}

void
dataset_page_forget_check_file (TemperDatasetPage *self)
{
  set_check_path (self, NULL);
}

void
temper_dataset_page_set_check_file (TemperDatasetPage *self, const char *path)
{
  g_autoptr(GTask) task = NULL;
  CheckFileInput *input;

  g_return_if_fail (TEMPER_IS_DATASET_PAGE (self));
  set_check_path (self, path);
  if (path == NULL)
    {
      dataset_page_training_changed (self);
      return;
    }
  self->check_cancellable = g_cancellable_new ();
  task = g_task_new (self, self->check_cancellable, read_check_done_cb, NULL);
  g_task_set_source_tag (task, temper_dataset_page_set_check_file);
  input = g_new0 (CheckFileInput, 1);
  input->path = g_strdup (path);
  input->model = self->model != NULL ? g_object_ref (self->model) : NULL;
  g_task_set_task_data (task, input, check_file_input_free);
  g_task_run_in_thread (task, read_check_thread);
}

const char *
temper_dataset_page_get_check_path (TemperDatasetPage *self)
{
  g_return_val_if_fail (TEMPER_IS_DATASET_PAGE (self), NULL);
  return self->check != NULL ? self->check_path : NULL;
}

void
temper_dataset_page_set_split (TemperDatasetPage *self, guint64 seed, double fraction)
{
  g_return_if_fail (TEMPER_IS_DATASET_PAGE (self));
  if (self->split_seed == seed && self->split_fraction == fraction)
    return;
  self->split_seed = seed;
  self->split_fraction = fraction;
  dataset_page_show_check_row (self);
  dataset_page_training_changed (self);
}

static void
check_chooser_response_cb (TemperDatasetPage *self, int response, GtkFileChooserNative *chooser)
{
  g_autofree char *path = temper_paths_from_chooser (chooser, response);

  if (path != NULL)
    temper_dataset_page_set_check_file (self, path);
  gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (chooser));
  g_clear_object (&self->check_chooser);
}

static void
choose_check_file_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  TemperDatasetPage *self = TEMPER_DATASET_PAGE (widget);

  if (self->check_chooser != NULL)
    return;
  self->check_chooser = temper_dataset_chooser_new (widget, _("Choose a File to Check Progress On"), _("_Choose"));
  g_signal_connect_object (self->check_chooser, "response", G_CALLBACK (check_chooser_response_cb), self,
                           G_CONNECT_SWAPPED);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->check_chooser));
}

static void
forget_check_file_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  temper_dataset_page_set_check_file (TEMPER_DATASET_PAGE (widget), NULL);
}

void
dataset_page_check_class_init (GtkWidgetClass *widget_class)
{
  gtk_widget_class_install_action (widget_class, "page.choose-check-file", NULL, choose_check_file_action);
  gtk_widget_class_install_action (widget_class, "page.forget-check-file", NULL, forget_check_file_action);
}

void
dataset_page_check_dispose (TemperDatasetPage *self)
{
  if (self->check_cancellable != NULL)
    g_cancellable_cancel (self->check_cancellable);
  g_clear_object (&self->check_cancellable);
  if (self->leak_cancellable != NULL)
    g_cancellable_cancel (self->leak_cancellable);
  g_clear_object (&self->leak_cancellable);
  if (self->check_chooser != NULL)
    gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (self->check_chooser));
  g_clear_object (&self->check_chooser);
  g_clear_pointer (&self->check, dataset_page_checked_unref);
}

/* ---- Leakage in what the run will split ---------------------------------- */

typedef struct {
  CheckedDataset    *main;
  CheckedDataset    *check;     /* or NULL: records held back */
  gboolean          *drop;      /* per record of main */
  /* TemperMixRead: the mixed-in datasets as the mix group read them, which
   * is what it writes the mix from; shared, so that a drop does not read
   * every file again. */
  GPtrArray         *reads;
  GArray            *shares;    /* double, main's first */
  guint64            seed;
  double             fraction;
} LeakInput;

static void
leak_input_free (gpointer data)
{
  LeakInput *input = data;

  dataset_page_checked_unref (input->main);
  g_clear_pointer (&input->check, dataset_page_checked_unref);
  g_free (input->drop);
  g_ptr_array_unref (input->reads);
  g_array_unref (input->shares);
  g_free (input);
}

#define PICK(dataset, record) (((guint64) (dataset) << 40) | (guint64) (record))

static void
leak_thread (GTask *task, gpointer object, gpointer task_data, GCancellable *cancellable)
{
  LeakInput *input = task_data;
  const temper_dataset_t *main = input->main->dataset;
  g_autoptr(GPtrArray) datasets = g_ptr_array_new ();
  g_autoptr(GArray) sizes = g_array_new (FALSE, FALSE, sizeof (gsize));
  g_autoptr(GArray) shares = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) kept = g_array_new (FALSE, FALSE, sizeof (gsize));
  g_autoptr(GArray) picks = NULL;      /* the training file's records, in its order */
  g_autoptr(GArray) trained = g_array_new (FALSE, FALSE, sizeof (guint64));
  g_autoptr(GArray) held = g_array_new (FALSE, FALSE, sizeof (guint64));
  gsize n_kept;

  /* The cleaned copy holds main's records not dropped, in order. */
  for (gsize r = 0; r < temper_dataset_get_n_records (main); r++)
    if (!input->drop[r])
      g_array_append_val (kept, r);
  n_kept = kept->len;
  g_ptr_array_add (datasets, (gpointer) main);
  g_array_append_val (sizes, n_kept);
  g_array_append_val (shares, g_array_index (input->shares, double, 0));
  for (guint i = 0; i < input->reads->len; i++)
    {
      const temper_dataset_t *read = temper_mix_read_get_dataset (input->reads->pdata[i]);
      gsize n = temper_dataset_get_n_records (read);

      g_ptr_array_add (datasets, (gpointer) read);
      g_array_append_val (sizes, n);
      g_array_append_val (shares, g_array_index (input->shares, double, i + 1));
    }
  if (datasets->len > 1)
    {
      /* The mix file's records, as temper_dataset_write_mix() writes them. */
      picks = temper_dataset_mix_pick ((const gsize *) sizes->data, (const double *) shares->data, datasets->len,
                                       TEMPER_DATASET_MIX_SEED, NULL);
      for (guint i = 0; i < picks->len; i++)
        {
          guint64 *pick = &g_array_index (picks, guint64, i);

          if ((*pick >> 40) == 0)
            *pick = PICK (0, g_array_index (kept, gsize, *pick & ((G_GUINT64_CONSTANT (1) << 40) - 1)));
        }
    }
  else
    {
      picks = g_array_sized_new (FALSE, FALSE, sizeof (guint64), n_kept);
      for (guint k = 0; k < n_kept; k++)
        {
          guint64 pick = PICK (0, g_array_index (kept, gsize, k));

          g_array_append_val (picks, pick);
        }
    }

  if (input->check != NULL)
    {
      /* A file of its own: everything is trained on, the file checked. */
      guint d = datasets->len;

      g_ptr_array_add (datasets, input->check->dataset);
      g_array_append_vals (trained, picks->data, picks->len);
      for (gsize i = 0; i < temper_dataset_get_n_records (input->check->dataset); i++)
        {
          guint64 pick = PICK (d, i);

          g_array_append_val (held, pick);
        }
    }
  else
    {
      g_autoptr(GArray) train_at = NULL, held_at = NULL;

      /* The run's own split of the file it is given. */
      temper_dataset_split_n (picks->len, dataset_page_fraction_for (input->fraction, picks->len), input->seed,
                              &train_at, &held_at);
      for (guint i = 0; i < train_at->len; i++)
        g_array_append_val (trained, g_array_index (picks, guint64, g_array_index (train_at, guint, i)));
      for (guint i = 0; i < held_at->len; i++)
        g_array_append_val (held, g_array_index (picks, guint64, g_array_index (held_at, guint, i)));
    }
  g_task_return_pointer (task,
                         temper_dataset_find_leakage ((temper_dataset_t *const *) datasets->pdata, datasets->len,
                                                      trained, held, input->check != NULL),
                         (GDestroyNotify) g_array_unref);
}

static void
leak_done_cb (GObject *object, GAsyncResult *result, gpointer user_data)
{
  TemperDatasetPage *self = TEMPER_DATASET_PAGE (object);
  GArray *leakage;

  if (g_cancellable_is_cancelled (g_task_get_cancellable (G_TASK (result))))
    return;   /* superseded, or the page is going away */
  g_clear_object (&self->leak_cancellable);
  leakage = g_task_propagate_pointer (G_TASK (result), NULL);
  if (leakage == NULL || self->checked == NULL)
    return;
  g_clear_pointer (&self->leakage, g_array_unref);
  self->leakage = leakage;
  dataset_page_list_findings (self);
}

void
dataset_page_update_leakage (TemperDatasetPage *self)
{
  g_autoptr(GTask) task = NULL;
  LeakInput *input;
  gsize n;

  if (self->leak_cancellable != NULL)
    g_cancellable_cancel (self->leak_cancellable);
  g_clear_object (&self->leak_cancellable);
  /* Until the mix's files and the check file are read, the split is not
   * known; their reading calls again. */
  if (self->checked == NULL || self->drop == NULL || temper_dataset_mix_is_busy (self->mix_group) ||
      (self->check_path != NULL && self->check == NULL))
    return;
  n = temper_dataset_get_n_records (self->checked->dataset);
  self->leak_cancellable = g_cancellable_new ();
  task = g_task_new (self, self->leak_cancellable, leak_done_cb, NULL);
  g_task_set_source_tag (task, dataset_page_update_leakage);
  input = g_new0 (LeakInput, 1);
  input->main = dataset_page_checked_ref (self->checked);
  input->check = self->check != NULL ? dataset_page_checked_ref (self->check) : NULL;
  input->drop = g_memdup2 (self->drop, MAX (n, 1) * sizeof (gboolean));
  input->reads = g_ptr_array_new_with_free_func (temper_mix_read_unref);
  input->shares = g_array_new (FALSE, FALSE, sizeof (double));
  temper_dataset_mix_get_sources (self->mix_group, input->reads, input->shares);
  input->seed = self->split_seed;
  input->fraction = self->split_fraction;
  g_task_set_task_data (task, input, leak_input_free);
  g_task_run_in_thread (task, leak_thread);
}
