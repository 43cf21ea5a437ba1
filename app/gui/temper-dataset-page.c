/* SPDX-License-Identifier: MIT */
/* temper-dataset-page.c — opens a dataset (JSON, JSONL, CSV/TSV, text),
 * checks it on a worker thread, and shows what it found: format (a table's
 * question and answer columns), totals, split, token lengths, findings
 * (temper-dataset-page-findings.c), problems and a preview.  The summary
 * rows are worked out in temper-dataset-page-counts.c. */
#include "config.h"

#include <math.h>

#include <glib/gi18n.h>
#include <glib/gstdio.h>

#include "temper/dataset.h"
#include "temper-error-banner.h"
#include "temper-dataset-chooser.h"
#include "temper-dataset-page-private.h"
#include "temper-dataset-labels.h"
#include "temper-dataset-mix.h"
#include "temper-fit-estimate.h"
#include "temper-length-histogram.h"
#include "temper-page.h"
#include "temper-paths.h"

#define PREVIEW_RECORDS   5
#define SAMPLE_DATASET    "samples/product-faq.jsonl"
/* The run's seed until the window says which the Settings page holds. */
#define SPLIT_SEED        42

static void temper_dataset_page_page_iface_init (TemperPageInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (TemperDatasetPage, temper_dataset_page, ADW_TYPE_PREFERENCES_PAGE,
                               G_IMPLEMENT_INTERFACE (TEMPER_TYPE_PAGE, temper_dataset_page_page_iface_init))

enum {
  PROP_0,
  PROP_MODEL,
  PROP_BUSY,
  PROP_COMPLETE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
checked_dataset_clear (gpointer data)
{
  CheckedDataset *checked = data;

  g_clear_pointer (&checked->dataset, temper_dataset_free);
  g_clear_pointer (&checked->tmpl, temper_chat_template_free);
  g_clear_object (&checked->model);
  g_clear_pointer (&checked->findings, g_array_unref);
}

/* Shared with the worker that looks for leakage, which may outlive the
 * page's hold on it. */
void
dataset_page_checked_unref (gpointer data)
{
  g_atomic_rc_box_release_full (data, checked_dataset_clear);
}

CheckedDataset *
dataset_page_checked_ref (CheckedDataset *checked)
{
  return g_atomic_rc_box_acquire (checked);
}

double
dataset_page_fraction_for (double fraction, guint n)
{
  TemperTrainSettings chosen;

  if (fraction >= 0)
    return fraction;
  /* The share the automatic settings hold back (none under 200 records),
   * so that this page and the run agree. */
  temper_train_settings_choose (&(TemperTrainFacts) { .n_records = n }, TEMPER_TRAIN_PRESET_BALANCED, &chosen, NULL);
  return chosen.val_fraction >= 0 ? chosen.val_fraction : temper_dataset_default_validation_fraction (n);
}

DatasetPageHeldBack
dataset_page_held_back (double fraction, guint n)
{
  if (temper_dataset_split_count (n, dataset_page_fraction_for (fraction, n)) > 0)
    return DATASET_PAGE_HOLDS_SOME;
  if (temper_dataset_split_count (n, dataset_page_fraction_for (-1, n)) == 0)
    return DATASET_PAGE_NONE_SMALL;
  return DATASET_PAGE_NONE_BY_SHARE;
}

/* A worker's input, fixed when it starts: a model chosen meanwhile does not
 * change what this check measures with. */
typedef struct {
  char              *path;
  TemperLoadedModel *model;
  char              *question_column;
  char              *answer_column;
  int                max_length;
} CheckInput;

static void
check_input_free (gpointer data)
{
  CheckInput *input = data;

  g_free (input->path);
  g_free (input->question_column);
  g_free (input->answer_column);
  g_clear_object (&input->model);
  g_free (input);
}

CheckedDataset *
dataset_page_load (const char        *path,
                   TemperLoadedModel *model,
                   const char        *question_column,
                   const char        *answer_column,
                   int                max_length,
                   GCancellable      *cancellable,
                   GError           **error)
{
  TemperDatasetOptions options;
  CheckedDataset *checked = g_atomic_rc_box_new0 (CheckedDataset);

  temper_dataset_options_init (&options);
  options.cancellable = cancellable;
  options.max_length = max_length;
  options.question_column = question_column;
  options.answer_column = answer_column;

  if (model != NULL)
    {
      const temper_model_t *m = temper_loaded_model_get_model (model);

      checked->model = g_object_ref (model);
      checked->tmpl = temper_chat_template_new (temper_model_get_chat_template (m),
                                                temper_model_get_tokenizer (m));
      options.chat_template = checked->tmpl;
    }

  checked->dataset = temper_dataset_load (path, &options, error);
  if (checked->dataset == NULL)
    {
      dataset_page_checked_unref (checked);
      return NULL;
    }

  /* Leakage depends on what the run splits (drops, a mix, its seed, a
   * file to check on): looked for apart (temper-dataset-page-check.c). */
  checked->findings = temper_dataset_find (checked->dataset, NULL);
  return checked;
}

static void
check_thread (GTask        *task,
              gpointer      source_object,
              gpointer      task_data,
              GCancellable *cancellable)
{
  CheckInput *input = task_data;
  GError *error = NULL;
  CheckedDataset *checked = dataset_page_load (input->path, input->model, input->question_column,
                                               input->answer_column, input->max_length, cancellable, &error);

  if (checked == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, checked, dataset_page_checked_unref);
}

void
dataset_page_remove_all_rows (GtkListBox *list)
{
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (list))) != NULL)
    gtk_list_box_remove (list, child);
}

static void
set_busy (TemperDatasetPage *self,
          gboolean           busy)
{
  gtk_widget_set_visible (GTK_WIDGET (self->spinner), busy);
  gtk_spinner_set_spinning (self->spinner, busy);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BUSY]);
}

static void
set_checked (TemperDatasetPage *self,
             CheckedDataset    *checked)
{
  gboolean was_complete = self->checked != NULL;

  g_clear_pointer (&self->checked, dataset_page_checked_unref);
  self->checked = checked;
  /* Also when one checked dataset replaces another: the window reads its
   * size and facts again on this notification. */
  if (was_complete || checked != NULL)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_COMPLETE]);
}

static void
show_problems (TemperDatasetPage         *self,
               const TemperDatasetReport *report)
{
  guint shown = MIN (report->n_listed, (guint) MAX_PROBLEM_ROWS);

  dataset_page_remove_all_rows (self->problems_list);

  for (guint i = 0; i < shown; i++)
    {
      const TemperDatasetProblem *problem = &report->problems[i];
      g_autofree char *place = temper_dataset_page_describe_place (problem->line, problem->item);
      /* Translators: a place in the file and what is wrong there, e.g. "Line 3: Missing field" */
      g_autofree char *title = g_strdup_printf (_("%s: %s"), place, temper_dataset_page_problem_label (problem->kind));
      GtkWidget *row = adw_action_row_new ();
      GtkWidget *icon = gtk_image_new_from_icon_name ("dialog-warning-symbolic");

      gtk_widget_add_css_class (icon, "warning");
      gtk_accessible_update_property (GTK_ACCESSIBLE (icon), GTK_ACCESSIBLE_PROPERTY_LABEL, _("Problem"), -1);
      adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
      adw_action_row_set_subtitle (ADW_ACTION_ROW (row), problem->message);
      adw_action_row_add_prefix (ADW_ACTION_ROW (row), icon);
      gtk_list_box_append (self->problems_list, row);
    }

  if (report->n_problems > shown)
    {
      GtkWidget *row = adw_action_row_new ();
      guint64 more = report->n_problems - shown;
      g_autofree char *title = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                                             "… and %llu more problem",
                                                             "… and %llu more problems",
                                                             more), (unsigned long long) more);

      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
      gtk_list_box_append (self->problems_list, row);
    }

  gtk_widget_set_visible (GTK_WIDGET (self->problems_group), report->n_problems > 0);
}

static void
problems_done_cb (GObject *object, GAsyncResult *result, gpointer user_data)
{
  TemperDatasetPage *self = TEMPER_DATASET_PAGE (object);
  g_autoptr(GError) error = NULL;
  CheckedDataset *checked;

  if (g_cancellable_is_cancelled (g_task_get_cancellable (G_TASK (result))))
    return;   /* another length or file meanwhile */
  g_clear_object (&self->problems_cancellable);
  checked = g_task_propagate_pointer (G_TASK (result), &error);
  if (checked == NULL)
    {
      /* Read at the checking length but not at this one (the file
       * changed meanwhile): the list stays as checked, and the run says
       * what is wrong when it reads the file. */
      g_debug ("The dataset could not be read again at %d tokens: %s", self->max_length, error->message);
      return;
    }
  g_clear_pointer (&self->problems_check, dataset_page_checked_unref);
  self->problems_check = checked;
  show_problems (self, temper_dataset_get_report (checked->dataset));
}

/* The Problems list at the max length the run will use, as the run will
 * find them: an answer that starts past it is left out.  The file was
 * checked at TEMPER_FIT_SEQ_LEN; at another length it is read again on a
 * worker thread.  The page's counts and the facts handed to the Settings
 * page stay at the checking length: the Settings page chooses the max
 * length from those facts, and facts read at the chosen length would
 * move the choice again. */
static void
update_problems (TemperDatasetPage *self)
{
  g_autoptr(GTask) task = NULL;
  CheckInput *input;

  if (self->problems_cancellable != NULL)
    g_cancellable_cancel (self->problems_cancellable);
  g_clear_object (&self->problems_cancellable);
  g_clear_pointer (&self->problems_check, dataset_page_checked_unref);
  if (self->checked == NULL)
    return;
  /* Meanwhile (and should the file not read again) the list as checked. */
  show_problems (self, temper_dataset_get_report (self->checked->dataset));
  if (self->max_length == TEMPER_FIT_SEQ_LEN)
    return;

  self->problems_cancellable = g_cancellable_new ();
  task = g_task_new (self, self->problems_cancellable, problems_done_cb, NULL);
  g_task_set_source_tag (task, update_problems);
  input = g_new0 (CheckInput, 1);
  input->path = g_strdup (self->path);
  /* What the file was checked with, so that only the length differs. */
  input->model = self->checked->model != NULL ? g_object_ref (self->checked->model) : NULL;
  input->question_column = g_strdup (self->question_column);
  input->answer_column = g_strdup (self->answer_column);
  input->max_length = self->max_length;
  g_task_set_task_data (task, input, check_input_free);
  g_task_run_in_thread (task, check_thread);
}

static const char *
first_message (const TemperDatasetRecord *record,
               TemperChatRole             role)
{
  for (gsize i = 0; i < record->n_messages; i++)
    if (record->messages[i].role == role)
      return record->messages[i].content;
  return NULL;
}

static void
show_preview (TemperDatasetPage *self,
              temper_dataset_t  *dataset)
{
  gsize n = MIN ((gsize) PREVIEW_RECORDS, temper_dataset_get_n_records (dataset));

  dataset_page_remove_all_rows (self->preview_list);

  for (gsize i = 0; i < n; i++)
    {
      const TemperDatasetRecord *record = temper_dataset_get_record (dataset, i);
      const char *question = first_message (record, TEMPER_CHAT_ROLE_USER);
      g_autofree char *place = temper_dataset_page_describe_place (record->line, record->item);
      g_autofree char *title = g_utf8_make_valid (question != NULL ? question : place, -1);
      GtkWidget *row = adw_expander_row_new ();

      /* Titles are one line; the full text is inside the row. */
      g_strdelimit (title, "\n\r\t", ' ');
      if (g_utf8_strlen (title, -1) > 80)
        {
          char *shortened = g_strdup_printf ("%.*s…", (int) (g_utf8_offset_to_pointer (title, 79) - title), title);

          g_free (title);
          title = shortened;
        }
      adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
      adw_expander_row_set_subtitle (ADW_EXPANDER_ROW (row), place);

      for (gsize m = 0; m < record->n_messages; m++)
        {
          GtkWidget *message = adw_action_row_new ();

          adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (message), FALSE);
          adw_preferences_row_set_title (ADW_PREFERENCES_ROW (message), temper_dataset_page_role_label (record->messages[m].role));
          adw_action_row_set_subtitle (ADW_ACTION_ROW (message), record->messages[m].content);
          adw_action_row_set_subtitle_lines (ADW_ACTION_ROW (message), 0);
          adw_expander_row_add_row (ADW_EXPANDER_ROW (row), message);
        }
      gtk_list_box_append (self->preview_list, row);
    }
  gtk_widget_set_visible (GTK_WIDGET (self->preview_group), n > 0);
}

/* ---- columns of a table ---- */

static void
fill_columns (TemperDatasetPage *self, char **columns, int question, int answer)
{
  g_autoptr(GtkStringList) names = NULL;
  guint n = columns != NULL ? g_strv_length (columns) : 0;

  gtk_widget_set_visible (GTK_WIDGET (self->columns_group), n >= 2);
  if (n < 2)
    return;
  names = gtk_string_list_new (NULL);
  for (guint i = 0; i < n; i++)
    {
      /* Translators: a column of a table: its number and its name */
      g_autofree char *label = g_strdup_printf (_("%u: %s"), i + 1, columns[i]);
      gtk_string_list_append (names, label);
    }
  self->filling_columns = TRUE;
  adw_combo_row_set_model (self->question_combo, G_LIST_MODEL (names));
  adw_combo_row_set_model (self->answer_combo, G_LIST_MODEL (names));
  adw_combo_row_set_selected (self->question_combo, question >= 0 ? (guint) question : 0);
  adw_combo_row_set_selected (self->answer_combo, answer >= 0 ? (guint) answer : 1);
  self->filling_columns = FALSE;
}

static void
column_chosen_cb (TemperDatasetPage *self)
{
  guint q = adw_combo_row_get_selected (self->question_combo);
  guint a = adw_combo_row_get_selected (self->answer_combo);

  if (self->filling_columns || self->path == NULL || q == GTK_INVALID_LIST_POSITION ||
      a == GTK_INVALID_LIST_POSITION)
    return;
  g_free (self->question_column);
  g_free (self->answer_column);
  self->question_column = g_strdup_printf ("%u", q + 1);
  self->answer_column = g_strdup_printf ("%u", a + 1);
  temper_dataset_page_open (self, self->path);
}

void
temper_dataset_page_set_max_length (TemperDatasetPage *self, int max_length)
{
  g_return_if_fail (TEMPER_IS_DATASET_PAGE (self));
  g_return_if_fail (max_length > 0);
  if (self->max_length == max_length)
    return;
  self->max_length = max_length;
  if (self->checked != NULL)
    {
      dataset_page_show_lengths (self);
      update_problems (self);
    }
}

void
dataset_page_training_changed (TemperDatasetPage *self)
{
  if (self->checked == NULL)
    return;
  dataset_page_show_counts (self);
  dataset_page_update_leakage (self);
  /* The window reads the size and facts again on this notification. */
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_COMPLETE]);
}

static void
show_checked (TemperDatasetPage *self,
              CheckedDataset    *checked)
{
  const TemperDatasetReport *report = temper_dataset_get_report (checked->dataset);
  g_autofree char *basename = g_path_get_basename (self->path);

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->file_row), basename);
  adw_action_row_set_subtitle (self->file_row, self->path);

  if (report->layout == TEMPER_DATASET_LAYOUT_TEXT)
    {
      /* Translators: how a plain text file is cut up for training */
      g_autofree char *text = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                                            "Continued pre-training: %llu chunk of up to %d tokens, overlap %d",
                                                            "Continued pre-training: %llu chunks of up to %d tokens, overlap %d",
                                                            report->n_valid),
                                               (unsigned long long) report->n_valid, report->chunk_length,
                                               report->chunk_overlap);
      gtk_label_set_text (self->format_value, text);
    }
  else if (report->layout == TEMPER_DATASET_LAYOUT_CSV || report->layout == TEMPER_DATASET_LAYOUT_TSV)
    gtk_label_set_text (self->format_value, report->layout == TEMPER_DATASET_LAYOUT_CSV
                                            ? _("Table (CSV)") : _("Table (TSV)"));
  else
    gtk_label_set_text (self->format_value, temper_dataset_page_format_label (report->format));
  fill_columns (self, report->columns, report->question_column, report->answer_column);

  dataset_page_show_counts (self);

  gtk_widget_set_visible (GTK_WIDGET (self->summary_group), TRUE);
  gtk_widget_set_visible (GTK_WIDGET (self->check_group), TRUE);
  gtk_widget_set_visible (GTK_WIDGET (self->mix_group), TRUE);
  temper_dataset_mix_set_main_name (self->mix_group, basename);
  gtk_widget_set_visible (GTK_WIDGET (self->lengths_group), report->has_token_stats);
  update_problems (self);
  g_clear_pointer (&self->leakage, g_array_unref);
  dataset_page_show_findings (self);
  dataset_page_update_leakage (self);
  show_preview (self, checked->dataset);
}

static void
clear_report (TemperDatasetPage *self)
{
  gtk_widget_set_visible (GTK_WIDGET (self->summary_group), FALSE);
  gtk_widget_set_visible (GTK_WIDGET (self->check_group), FALSE);
  gtk_widget_set_visible (GTK_WIDGET (self->mix_group), FALSE);
  gtk_widget_set_visible (GTK_WIDGET (self->lengths_group), FALSE);
  gtk_widget_set_visible (GTK_WIDGET (self->problems_group), FALSE);
  gtk_widget_set_visible (GTK_WIDGET (self->preview_group), FALSE);
  gtk_widget_set_visible (GTK_WIDGET (self->findings_group), FALSE);
  gtk_widget_set_visible (GTK_WIDGET (self->columns_group), FALSE);
  dataset_page_remove_all_rows (self->findings_list);
  dataset_page_remove_all_rows (self->problems_list);
  dataset_page_remove_all_rows (self->preview_list);
}

static void
check_done_cb (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  TemperDatasetPage *self = TEMPER_DATASET_PAGE (object);
  GTask *task = G_TASK (result);
  g_autoptr(GError) error = NULL;
  CheckInput *input = g_task_get_task_data (task);
  CheckedDataset *checked;

  /* Superseded by a newer file or model, or the page is going away. */
  if (g_cancellable_is_cancelled (g_task_get_cancellable (task)))
    return;

  g_clear_object (&self->cancellable);
  set_busy (self, FALSE);

  checked = g_task_propagate_pointer (task, &error);
  if (checked == NULL)
    {
      g_autofree char *basename = g_path_get_basename (input->path);

      set_checked (self, NULL);
      clear_report (self);
      /* A table whose columns Temper could not tell apart: let the person pick. */
      {
        g_auto(GStrv) columns = temper_dataset_read_columns (input->path, TEMPER_DATASET_LAYOUT_AUTO, NULL);
        if (columns != NULL && g_strv_length (columns) >= 2)
          fill_columns (self, columns, -1, -1);
      }
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->file_row), basename);
      adw_action_row_set_subtitle (self->file_row, input->path);
      temper_error_banner_show (self->error_banner, _("Temper could not use this dataset"),
                                error, input->path);
      return;
    }

  set_checked (self, checked);
  show_checked (self, checked);
}

void
temper_dataset_page_open (TemperDatasetPage *self,
                          const char        *path)
{
  g_autoptr(GTask) task = NULL;
  CheckInput *input;

  g_return_if_fail (TEMPER_IS_DATASET_PAGE (self));
  g_return_if_fail (path != NULL);

  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();

  if (self->path != path && g_strcmp0 (self->path, path) != 0)
    {
      /* Another file: its columns are recognised afresh, and it is
       * checked on records of its own until another file is chosen. */
      g_clear_pointer (&self->question_column, g_free);
      g_clear_pointer (&self->answer_column, g_free);
      dataset_page_forget_check_file (self);
    }
  if (self->path != path)
    {
      g_free (self->path);
      self->path = g_strdup (path);
    }
  g_clear_pointer (&self->drop, g_free);
  g_clear_pointer (&self->clean_path, g_free);
  /* Leakage found in the file shown until now names its records. */
  if (self->leak_cancellable != NULL)
    g_cancellable_cancel (self->leak_cancellable);
  g_clear_object (&self->leak_cancellable);
  g_clear_pointer (&self->leakage, g_array_unref);
  /* So are the problems found at the max length. */
  if (self->problems_cancellable != NULL)
    g_cancellable_cancel (self->problems_cancellable);
  g_clear_object (&self->problems_cancellable);
  dataset_page_forget_undo (self);
  temper_error_banner_dismiss (self->error_banner);
  set_busy (self, TRUE);

  task = g_task_new (self, self->cancellable, check_done_cb, NULL);
  g_task_set_source_tag (task, temper_dataset_page_open);
  input = g_new0 (CheckInput, 1);
  input->path = g_strdup (path);
  input->model = self->model != NULL ? g_object_ref (self->model) : NULL;
  input->question_column = g_strdup (self->question_column);
  input->answer_column = g_strdup (self->answer_column);
  input->max_length = TEMPER_FIT_SEQ_LEN;
  g_task_set_task_data (task, input, check_input_free);
  g_task_run_in_thread (task, check_thread);
}

static void
chooser_response_cb (TemperDatasetPage    *self,
                     int                   response,
                     GtkFileChooserNative *chooser)
{
  g_autofree char *path = temper_paths_from_chooser (chooser, response);

  if (path != NULL)
    temper_dataset_page_open (self, path);
  /* As the mix's and the check file's choosers: the dialog lets go of its
   * window and what it holds now, whoever else may still hold it. */
  gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (chooser));
  g_clear_object (&self->chooser);
}

static void
open_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  TemperDatasetPage *self = TEMPER_DATASET_PAGE (widget);

  if (self->chooser != NULL)
    return;
  self->chooser = temper_dataset_chooser_new (widget, _("Open a Dataset"), _("_Open"));
  g_signal_connect_object (self->chooser, "response", G_CALLBACK (chooser_response_cb),
                           self, G_CONNECT_SWAPPED);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
}

static void
try_sample_action (GtkWidget  *widget,
                   const char *action_name,
                   GVariant   *parameter)
{
  g_autofree char *path = temper_paths_data_file (SAMPLE_DATASET);

  temper_dataset_page_open (TEMPER_DATASET_PAGE (widget), path);
}

void
temper_dataset_page_set_model (TemperDatasetPage *self,
                               TemperLoadedModel *model)
{
  g_return_if_fail (TEMPER_IS_DATASET_PAGE (self));
  g_return_if_fail (model == NULL || TEMPER_IS_LOADED_MODEL (model));

  if (!g_set_object (&self->model, model))
    return;
  temper_dataset_mix_set_model (self->mix_group, model);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MODEL]);

  /* Token counts depend on the model: measure the open files again. */
  if (self->path != NULL && model != NULL)
    temper_dataset_page_open (self, self->path);
  if (self->check_path != NULL && model != NULL)
    {
      g_autofree char *check = g_strdup (self->check_path);

      temper_dataset_page_set_check_file (self, check);
    }
}

TemperLoadedModel *
temper_dataset_page_get_model (TemperDatasetPage *self)
{
  g_return_val_if_fail (TEMPER_IS_DATASET_PAGE (self), NULL);
  return self->model;
}

gboolean
temper_dataset_page_is_busy (TemperDatasetPage *self)
{
  g_return_val_if_fail (TEMPER_IS_DATASET_PAGE (self), FALSE);
  /* Also while the check file is read, leakage looked for or the file
   * read again at the max length. */
  return self->cancellable != NULL || self->check_cancellable != NULL || self->leak_cancellable != NULL ||
         self->problems_cancellable != NULL;
}

const char *
temper_dataset_page_get_path (TemperDatasetPage *self)
{
  g_return_val_if_fail (TEMPER_IS_DATASET_PAGE (self), NULL);
  if (self->checked == NULL)
    return NULL;
  if (dataset_page_n_dropped (self) > 0 && !dataset_page_ensure_clean_copy (self))
    return NULL;
  if (temper_dataset_mix_has_sources (self->mix_group))
    {
      g_autoptr(GError) error = NULL;
      const char *mixed = temper_dataset_mix_get_path (self->mix_group, self->checked->dataset,
                                                       dataset_page_n_dropped (self) > 0 ? self->clean_path : NULL, &error);

      if (mixed == NULL)
        temper_error_banner_show (self->error_banner, _("Temper could not write the mixed datasets"),
                                  error, self->path);
      return mixed;
    }
  return dataset_page_n_dropped (self) > 0 ? self->clean_path : temper_dataset_get_path (self->checked->dataset);
}

gboolean
temper_dataset_page_get_size (TemperDatasetPage *self,
                              guint             *n_train,
                              double            *mean_tokens)
{
  const TemperDatasetReport *report;
  TemperDatasetMixSize size;
  guint n_validation;

  g_return_val_if_fail (TEMPER_IS_DATASET_PAGE (self), FALSE);

  if (self->checked == NULL)
    return FALSE;
  report = temper_dataset_get_report (self->checked->dataset);
  dataset_page_training_split (self, n_train, &n_validation);
  if (dataset_page_training_size (self, &size))
    *mean_tokens = size.has_tokens ? size.tokens.mean : 0.0;
  else
    *mean_tokens = report->has_token_stats ? report->token_mean : 0.0;
  return TRUE;
}

gboolean
temper_dataset_page_get_facts (TemperDatasetPage *self,
                               TemperTrainFacts  *facts)
{
  const TemperDatasetReport *report;
  TemperDatasetMixSize size;

  g_return_val_if_fail (TEMPER_IS_DATASET_PAGE (self), FALSE);

  if (self->checked == NULL)
    return FALSE;
  report = temper_dataset_get_report (self->checked->dataset);
  if (!report->has_token_stats)
    return FALSE;
  if (dataset_page_training_size (self, &size))
    {
      /* The settings are chosen for the records the run trains on. */
      if (!size.has_tokens)
        return FALSE;
      facts->n_records = size.n_records;
      facts->tokens_total = size.tokens.total;
      facts->token_max = (guint) size.tokens.max;
      facts->token_p95 = (guint) size.tokens.p95;
      return TRUE;
    }
  facts->n_records = report->n_valid;
  /* The check cuts records at its own length; the settings choose the
   * length, so they want the whole records' tokens (the mean is over them). */
  facts->tokens_total = report->n_truncated == 0 ? report->tokens_total
                                                 : (guint64) llround (report->token_mean * (double) report->n_valid);
  facts->token_max = report->token_max;
  facts->token_p95 = report->token_p95;
  return TRUE;
}

static void
temper_dataset_page_dispose (GObject *object)
{
  TemperDatasetPage *self = TEMPER_DATASET_PAGE (object);

  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  if (self->problems_cancellable != NULL)
    g_cancellable_cancel (self->problems_cancellable);
  g_clear_object (&self->problems_cancellable);
  g_clear_pointer (&self->problems_check, dataset_page_checked_unref);
  if (self->chooser != NULL)
    gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (self->chooser));
  g_clear_object (&self->chooser);
  dataset_page_check_dispose (self);
  dataset_page_forget_undo (self);
  g_clear_pointer (&self->checked, dataset_page_checked_unref);
  g_clear_object (&self->model);

  gtk_widget_dispose_template (GTK_WIDGET (self), TEMPER_TYPE_DATASET_PAGE);

  G_OBJECT_CLASS (temper_dataset_page_parent_class)->dispose (object);
}

static void
temper_dataset_page_finalize (GObject *object)
{
  TemperDatasetPage *self = TEMPER_DATASET_PAGE (object);

  g_clear_pointer (&self->path, g_free);
  g_clear_pointer (&self->question_column, g_free);
  g_clear_pointer (&self->answer_column, g_free);
  g_clear_pointer (&self->drop, g_free);
  g_clear_pointer (&self->clean_path, g_free);
  g_clear_pointer (&self->check_path, g_free);
  g_clear_pointer (&self->leakage, g_array_unref);
  g_clear_pointer (&self->shown_findings, g_ptr_array_unref);

  G_OBJECT_CLASS (temper_dataset_page_parent_class)->finalize (object);
}

static void
temper_dataset_page_get_property (GObject    *object,
                                  guint       prop_id,
                                  GValue     *value,
                                  GParamSpec *pspec)
{
  TemperDatasetPage *self = TEMPER_DATASET_PAGE (object);

  switch (prop_id)
    {
    case PROP_MODEL:    g_value_set_object (value, self->model); break;
    case PROP_BUSY:     g_value_set_boolean (value, self->cancellable != NULL); break;
    case PROP_COMPLETE: g_value_set_boolean (value, self->checked != NULL); break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
temper_dataset_page_set_property (GObject      *object,
                                  guint         prop_id,
                                  const GValue *value,
                                  GParamSpec   *pspec)
{
  TemperDatasetPage *self = TEMPER_DATASET_PAGE (object);

  switch (prop_id)
    {
    case PROP_MODEL:
      temper_dataset_page_set_model (self, g_value_get_object (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
temper_dataset_page_page_iface_init (TemperPageInterface *iface)
{
}

static void
temper_dataset_page_class_init (TemperDatasetPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = temper_dataset_page_dispose;
  object_class->finalize = temper_dataset_page_finalize;
  object_class->get_property = temper_dataset_page_get_property;
  object_class->set_property = temper_dataset_page_set_property;

  properties[PROP_MODEL] =
    g_param_spec_object ("model", NULL, NULL, TEMPER_TYPE_LOADED_MODEL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_BUSY] =
    g_param_spec_boolean ("busy", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, PROP_COMPLETE, properties);
  g_object_class_override_property (object_class, PROP_COMPLETE, "complete");
  properties[PROP_COMPLETE] = g_object_class_find_property (object_class, "complete");

  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/temper/Temper/temper-dataset-page.ui");
  gtk_widget_class_bind_template_child (widget_class, TemperDatasetPage, error_banner);
  gtk_widget_class_bind_template_child (widget_class, TemperDatasetPage, columns_group);
  gtk_widget_class_bind_template_child (widget_class, TemperDatasetPage, mix_group);
  gtk_widget_class_bind_template_child (widget_class, TemperDatasetPage, question_combo);
  gtk_widget_class_bind_template_child (widget_class, TemperDatasetPage, answer_combo);
  gtk_widget_class_bind_template_child (widget_class, TemperDatasetPage, findings_group);
  gtk_widget_class_bind_template_child (widget_class, TemperDatasetPage, findings_list);
  gtk_widget_class_bind_template_child (widget_class, TemperDatasetPage, file_row);
  gtk_widget_class_bind_template_child (widget_class, TemperDatasetPage, spinner);
  gtk_widget_class_bind_template_child (widget_class, TemperDatasetPage, summary_group);
  gtk_widget_class_bind_template_child (widget_class, TemperDatasetPage, format_value);
  gtk_widget_class_bind_template_child (widget_class, TemperDatasetPage, records_value);
  gtk_widget_class_bind_template_child (widget_class, TemperDatasetPage, split_row);
  gtk_widget_class_bind_template_child (widget_class, TemperDatasetPage, split_value);
  gtk_widget_class_bind_template_child (widget_class, TemperDatasetPage, tokens_row);
  gtk_widget_class_bind_template_child (widget_class, TemperDatasetPage, tokens_value);
  gtk_widget_class_bind_template_child (widget_class, TemperDatasetPage, lengths_group);
  gtk_widget_class_bind_template_child (widget_class, TemperDatasetPage, histogram);
  gtk_widget_class_bind_template_child (widget_class, TemperDatasetPage, problems_group);
  gtk_widget_class_bind_template_child (widget_class, TemperDatasetPage, problems_list);
  gtk_widget_class_bind_template_child (widget_class, TemperDatasetPage, preview_group);
  gtk_widget_class_bind_template_child (widget_class, TemperDatasetPage, preview_list);
  gtk_widget_class_bind_template_child (widget_class, TemperDatasetPage, check_group);
  gtk_widget_class_bind_template_child (widget_class, TemperDatasetPage, check_row);
  gtk_widget_class_bind_template_child (widget_class, TemperDatasetPage, check_forget_button);

  gtk_widget_class_install_action (widget_class, "page.open", NULL, open_action);
  gtk_widget_class_install_action (widget_class, "page.try-sample", NULL, try_sample_action);
  dataset_page_check_class_init (widget_class);

  g_type_ensure (TEMPER_TYPE_ERROR_BANNER);
  g_type_ensure (TEMPER_TYPE_LENGTH_HISTOGRAM);
  g_type_ensure (TEMPER_TYPE_DATASET_MIX);
}

static void
mix_changed_cb (TemperDatasetPage *self)
{
  dataset_page_training_changed (self);
}

static void
temper_dataset_page_init (TemperDatasetPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->split_seed = SPLIT_SEED;
  self->split_fraction = -1;
  self->max_length = TEMPER_FIT_SEQ_LEN;
  g_signal_connect_object (self->question_combo, "notify::selected", G_CALLBACK (column_chosen_cb),
                           self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->answer_combo, "notify::selected", G_CALLBACK (column_chosen_cb),
                           self, G_CONNECT_SWAPPED);
  /* Another mix is another training file: the window reads it again. */
  g_signal_connect_object (self->mix_group, "changed", G_CALLBACK (mix_changed_cb), self, G_CONNECT_SWAPPED);
}
