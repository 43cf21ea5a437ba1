/* SPDX-License-Identifier: MIT */
/* temper-compare-page-run.c — the Compare page's run: reading it on a
 * worker thread with its saved ratings, its checkpoints as optional
 * columns, and exporting the ratings. */
#include "config.h"

#include <glib/gi18n.h>

#include "temper/error.h"
#include "temper-compare-page-private.h"
#include "temper-paths.h"

/* ---- The run ------------------------------------------------------------------------ */

static void
checkpoint_toggled_cb (TemperComparePage *self,
                       GParamSpec        *pspec,
                       GtkCheckButton    *check)
{
  guint i = GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (check), "checkpoint"));

  if (self->quiet)
    return;
  temper_compare_page_set_checkpoint_shown (self, i, gtk_check_button_get_active (check));
}

static void
clear_checkpoint_rows (TemperComparePage *self)
{
  for (guint i = 0; i < self->checkpoint_rows->len; i++)
    adw_expander_row_remove (self->checkpoints_row, self->checkpoint_rows->pdata[i]);
  g_ptr_array_set_size (self->checkpoint_rows, 0);
}

static void
build_checkpoint_rows (TemperComparePage *self)
{
  guint n = self->info->checkpoints->len;

  clear_checkpoint_rows (self);
  g_free (self->checkpoint_shown);
  self->checkpoint_shown = g_new0 (gboolean, MAX (n, 1));
  for (guint i = 0; i < n; i++)
    {
      gint64 step = g_array_index (self->info->checkpoint_steps, gint64, i);
      g_autofree char *id = g_strdup_printf ("step-%" G_GINT64_FORMAT, step);
      g_autofree char *title = compare_page_source_title (id);
      g_autofree char *name = g_strdup_printf ("checkpoint-%" G_GINT64_FORMAT, step);
      GtkWidget *row = adw_action_row_new ();
      GtkWidget *check = gtk_check_button_new ();

      /* A checkpoint already rated comes back as a column. */
      for (guint s = 0; s < temper_ratings_get_n_sources (self->ratings); s++)
        self->checkpoint_shown[i] |= g_str_equal (temper_ratings_get_source (self->ratings, s), id);
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
      gtk_widget_set_name (check, name);
      gtk_widget_set_valign (check, GTK_ALIGN_CENTER);
      gtk_check_button_set_active (GTK_CHECK_BUTTON (check), self->checkpoint_shown[i]);
      gtk_accessible_update_property (GTK_ACCESSIBLE (check), GTK_ACCESSIBLE_PROPERTY_LABEL, title, -1);
      g_object_set_data (G_OBJECT (check), "checkpoint", GUINT_TO_POINTER (i));
      g_signal_connect_object (check, "notify::active", G_CALLBACK (checkpoint_toggled_cb), self, G_CONNECT_SWAPPED);
      adw_action_row_add_prefix (ADW_ACTION_ROW (row), check);
      adw_action_row_set_activatable_widget (ADW_ACTION_ROW (row), check);
      adw_expander_row_add_row (self->checkpoints_row, row);
      g_ptr_array_add (self->checkpoint_rows, row);
    }
  gtk_widget_set_visible (GTK_WIDGET (self->checkpoints_row), n > 0);
}

static void
read_run_done_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(TemperComparePage) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(TemperCompareRunInfo) info = temper_compare_read_run_finish (result, &error);
  g_autoptr(TemperRatings) ratings = NULL;
  g_autofree char *path = NULL;

  if (info == NULL && (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) ||
                       g_error_matches (error, TEMPER_ERROR, TEMPER_ERROR_CANCELLED)))
    return;
  /* A run asked for before the one now shown. */
  if (self->read_cancellable == NULL || g_task_get_cancellable (G_TASK (result)) != self->read_cancellable)
    return;
  g_clear_object (&self->read_cancellable);

  if (info == NULL)
    {
      temper_error_banner_show (self->error_banner, _("The run could not be read"), error, self->run_dir);
      compare_page_update_controls (self);
      compare_page_notify_busy (self);
      return;
    }

  path = compare_page_ratings_path (self);
  if (g_file_test (path, G_FILE_TEST_EXISTS))
    {
      ratings = temper_ratings_load (path, &error);
      if (ratings == NULL)
        /* The file stays as it is until the person rates again. */
        temper_error_banner_show (self->error_banner, _("Your earlier ratings could not be read"), error, path);
    }
  if (ratings == NULL)
    ratings = temper_ratings_new (((guint64) g_random_int () << 32) | g_random_int ());
  /* Questions the model never saw first, then a few it trained on,
   * each labelled as such: a run without a validation split still has
   * something to compare. */
  for (guint i = 0; i < info->prompts->len; i++)
    temper_ratings_add_prompt (ratings, info->prompts->pdata[i], TEMPER_PROMPT_FROM_VALIDATION);
  for (guint i = 0; i < info->training_prompts->len; i++)
    temper_ratings_add_prompt (ratings, info->training_prompts->pdata[i], TEMPER_PROMPT_FROM_TRAINING);

  g_set_object (&self->ratings, ratings);
  temper_compare_run_info_free (self->info);
  self->info = g_steal_pointer (&info);
  self->prompt = 0;
  self->quiet = TRUE;
  build_checkpoint_rows (self);
  self->quiet = FALSE;
  compare_page_apply_sources (self);
  compare_page_rebuild_columns (self);
  compare_page_show_current (self);
  compare_page_notify_busy (self);
}

static void
forget_run (TemperComparePage *self)
{
  temper_compare_page_stop (self);
  compare_page_save_now (self);
  if (self->read_cancellable != NULL)
    g_cancellable_cancel (self->read_cancellable);
  g_clear_object (&self->read_cancellable);
  g_clear_object (&self->ratings);
  g_clear_pointer (&self->info, temper_compare_run_info_free);
  g_clear_pointer (&self->run_dir, g_free);
  clear_checkpoint_rows (self);
  gtk_widget_set_visible (GTK_WIDGET (self->checkpoints_row), FALSE);
  compare_page_rebuild_columns (self);
  temper_error_banner_dismiss (self->error_banner);
}

void
temper_compare_page_set_device (TemperComparePage *self,
                                TemperBackendKind  backend,
                                int                device)
{
  g_return_if_fail (TEMPER_IS_COMPARE_PAGE (self));

  /* Answers under way finish where they started; the next ones move. */
  self->backend = backend;
  self->device = device;
  temper_evaluation_group_set_device (self->evaluation_group, backend, device);
}

void
temper_compare_page_set_run (TemperComparePage *self,
                             const char        *run_dir,
                             TemperLoadedModel *model)
{
  g_return_if_fail (TEMPER_IS_COMPARE_PAGE (self));
  g_return_if_fail (model == NULL || TEMPER_IS_LOADED_MODEL (model));

  if (model != self->model)
    {
      /* Answers under way belong to the other model. */
      temper_compare_page_stop (self);
      g_set_object (&self->model, model);
    }
  if (g_strcmp0 (run_dir, self->run_dir) == 0)
    {
      compare_page_update_controls (self);
      return;
    }

  forget_run (self);
  self->run_dir = g_strdup (run_dir);
  temper_evaluation_group_set_run_dir (self->evaluation_group, run_dir);
  if (run_dir != NULL)
    {
      self->read_cancellable = g_cancellable_new ();
      temper_compare_read_run_async (run_dir, self->read_cancellable, read_run_done_cb, g_object_ref (self));
    }
  compare_page_show_current (self);
  compare_page_notify_busy (self);
}

const char *
temper_compare_page_get_run_dir (TemperComparePage *self)
{
  g_return_val_if_fail (TEMPER_IS_COMPARE_PAGE (self), NULL);
  return self->run_dir;
}

gboolean
temper_compare_page_is_busy (TemperComparePage *self)
{
  g_return_val_if_fail (TEMPER_IS_COMPARE_PAGE (self), FALSE);
  return compare_page_is_busy (self);
}

gboolean
temper_compare_page_is_generating (TemperComparePage *self)
{
  g_return_val_if_fail (TEMPER_IS_COMPARE_PAGE (self), FALSE);
  return self->generate_cancellable != NULL;
}

TemperRatings *
temper_compare_page_get_ratings (TemperComparePage *self)
{
  g_return_val_if_fail (TEMPER_IS_COMPARE_PAGE (self), NULL);
  return self->ratings;
}

guint
temper_compare_page_get_prompt (TemperComparePage *self)
{
  g_return_val_if_fail (TEMPER_IS_COMPARE_PAGE (self), 0);
  return self->prompt;
}

void
temper_compare_page_show_prompt (TemperComparePage *self,
                                 guint              prompt)
{
  g_return_if_fail (TEMPER_IS_COMPARE_PAGE (self));

  if (self->ratings == NULL || prompt >= temper_ratings_get_n_prompts (self->ratings))
    return;
  self->prompt = prompt;
  compare_page_show_current (self);
}

void
temper_compare_page_add_prompt (TemperComparePage *self,
                                const char        *text)
{
  g_return_if_fail (TEMPER_IS_COMPARE_PAGE (self));
  g_return_if_fail (text != NULL);

  if (self->ratings == NULL)
    return;
  self->prompt = temper_ratings_add_prompt (self->ratings, text, TEMPER_PROMPT_FROM_PERSON);
  compare_page_schedule_save (self);
  compare_page_show_current (self);
}

void
temper_compare_page_set_blind (TemperComparePage *self,
                               gboolean           blind)
{
  g_return_if_fail (TEMPER_IS_COMPARE_PAGE (self));
  gtk_switch_set_active (self->blind_switch, blind);
}

gboolean
temper_compare_page_get_blind (TemperComparePage *self)
{
  g_return_val_if_fail (TEMPER_IS_COMPARE_PAGE (self), FALSE);
  return gtk_switch_get_active (self->blind_switch);
}

void
temper_compare_page_set_max_tokens (TemperComparePage *self,
                                    int                max_tokens)
{
  g_return_if_fail (TEMPER_IS_COMPARE_PAGE (self));
  gtk_spin_button_set_value (self->max_tokens_spin, max_tokens);
}

guint
temper_compare_page_get_n_checkpoints (TemperComparePage *self)
{
  g_return_val_if_fail (TEMPER_IS_COMPARE_PAGE (self), 0);
  return self->info != NULL ? self->info->checkpoints->len : 0;
}

gint64
temper_compare_page_get_checkpoint_step (TemperComparePage *self,
                                         guint              i)
{
  g_return_val_if_fail (TEMPER_IS_COMPARE_PAGE (self), 0);
  g_return_val_if_fail (i < temper_compare_page_get_n_checkpoints (self), 0);
  return g_array_index (self->info->checkpoint_steps, gint64, i);
}

void
temper_compare_page_set_checkpoint_shown (TemperComparePage *self,
                                          guint              i,
                                          gboolean           shown)
{
  g_return_if_fail (TEMPER_IS_COMPARE_PAGE (self));
  g_return_if_fail (i < temper_compare_page_get_n_checkpoints (self));

  if (self->checkpoint_shown[i] == shown)
    return;
  /* The job under way answers for the old columns. */
  temper_compare_page_stop (self);
  self->checkpoint_shown[i] = shown;
  self->quiet = TRUE;
  gtk_check_button_set_active (GTK_CHECK_BUTTON (adw_action_row_get_activatable_widget (self->checkpoint_rows->pdata[i])),
                               shown);
  self->quiet = FALSE;
  compare_page_apply_sources (self);
  compare_page_rebuild_columns (self);
  compare_page_schedule_save (self);
  compare_page_show_current (self);
}

gboolean
temper_compare_page_export (TemperComparePage  *self,
                            const char         *path,
                            const char         *format,
                            GError            **error)
{
  g_return_val_if_fail (TEMPER_IS_COMPARE_PAGE (self), FALSE);
  g_return_val_if_fail (path != NULL && format != NULL, FALSE);

  if (self->ratings == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, _("There are no ratings to export yet."));
      return FALSE;
    }
  if (g_str_equal (format, "csv"))
    return temper_ratings_export_csv (self->ratings, path, error);
  return temper_ratings_export_json (self->ratings, path, error);
}

static void
chooser_response_cb (TemperComparePage    *self,
                     int                   response,
                     GtkFileChooserNative *chooser)
{
  const char *format = g_object_get_data (G_OBJECT (chooser), "format");
  g_autofree char *path = temper_paths_from_chooser (chooser, response);
  g_autoptr(GError) error = NULL;

  if (path != NULL && !temper_compare_page_export (self, path, format, &error))
    temper_error_banner_show (self->error_banner, _("The ratings could not be exported"), error, path);
  g_clear_object (&self->chooser);
}

void
compare_page_export_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  TemperComparePage *self = TEMPER_COMPARE_PAGE (widget);
  GtkRoot *root = gtk_widget_get_root (widget);
  const char *format = g_variant_get_string (parameter, NULL);
  g_autoptr(GFile) folder = NULL;

  if (self->chooser != NULL || self->run_dir == NULL)
    return;
  self->chooser = gtk_file_chooser_native_new (_("Export the Ratings"),
                                               GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                               GTK_FILE_CHOOSER_ACTION_SAVE, _("_Export"), _("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (self->chooser), TRUE);
  g_object_set_data_full (G_OBJECT (self->chooser), "format",
                          g_strdup (g_str_equal (format, "csv") ? "csv" : "json"), g_free);
  /* Beside the run's other files unless the person goes elsewhere. */
  folder = g_file_new_for_path (self->run_dir);
  gtk_file_chooser_set_current_folder (GTK_FILE_CHOOSER (self->chooser), folder, NULL);
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (self->chooser),
                                     g_str_equal (format, "csv") ? "ratings-export.csv" : "ratings-export.json");
  g_signal_connect_object (self->chooser, "response", G_CALLBACK (chooser_response_cb), self, G_CONNECT_SWAPPED);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
}

