/* SPDX-License-Identifier: MIT */
/* temper-compare-page.c — answers side by side, judged, saved with the run.
 *
 * The ratings (TemperRatings) hold everything the person sees and says; the
 * widgets only show the prompt on screen.  Engine work runs on worker
 * threads (temper-compare-worker.c); its pieces come back to the main loop
 * tagged with the job's cancellable, and pieces of a job that is no longer
 * the current one are dropped.  Every change is written to RUN/ratings.json
 * shortly after it is made, so nothing is lost when the window closes. */
#include "config.h"

#include <glib/gi18n.h>

#include "temper/error.h"
#include "temper-answer-column.h"
#include "temper-compare-page.h"
#include "temper-compare-worker.h"
#include "temper-error-banner.h"
#include "temper-evaluation-group.h"
#include "temper-compare-page-private.h"
#include "temper-page.h"

#define SAVE_DELAY_MS 400


static void temper_compare_page_page_iface_init (TemperPageInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (TemperComparePage, temper_compare_page, ADW_TYPE_PREFERENCES_PAGE,
                               G_IMPLEMENT_INTERFACE (TEMPER_TYPE_PAGE, temper_compare_page_page_iface_init))

enum {
  PROP_0,
  PROP_BUSY,
  PROP_COMPLETE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

void
compare_page_notify_busy (TemperComparePage *self)
{
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BUSY]);
}


/* ---- Saving ------------------------------------------------------------------ */

char *
compare_page_ratings_path (TemperComparePage *self)
{
  return temper_ratings_dup_run_path (self->run_dir);
}

void
compare_page_save_now (TemperComparePage *self)
{
  g_autofree char *path = NULL;
  g_autoptr(GError) error = NULL;

  g_clear_handle_id (&self->save_source, g_source_remove);
  if (self->ratings == NULL || self->run_dir == NULL)
    return;
  path = compare_page_ratings_path (self);
  if (!temper_ratings_save (self->ratings, path, &error))
    temper_error_banner_show (self->error_banner, _("Your ratings could not be saved"), error, path);
}

static gboolean
save_timeout_cb (gpointer data)
{
  TemperComparePage *self = data;

  self->save_source = 0;
  compare_page_save_now (self);
  return G_SOURCE_REMOVE;
}

void
compare_page_schedule_save (TemperComparePage *self)
{
  if (self->ratings == NULL || self->run_dir == NULL || self->save_source != 0)
    return;
  /* The timer holds the page: dispose removes it after saving at once. */
  self->save_source = g_timeout_add_full (G_PRIORITY_DEFAULT, SAVE_DELAY_MS, save_timeout_cb,
                                          g_object_ref (self), g_object_unref);
}

/* ---- Showing -------------------------------------------------------------------- */

char *
compare_page_source_title (const char *source)
{
  guint64 step;

  if (g_str_equal (source, TEMPER_RATINGS_BASE))
    return g_strdup (_("Base Model"));
  if (g_str_equal (source, TEMPER_RATINGS_FINAL))
    return g_strdup (_("Tuned Model"));
  if (g_str_has_prefix (source, "step-") &&
      g_ascii_string_to_unsigned (source + 5, 10, 0, G_MAXINT64, &step, NULL))
    {
      g_autofree char *number = g_strdup_printf ("%" G_GUINT64_FORMAT, step);

      /* Translators: an answer column: the adapter as it was after step N */
      return g_strdup_printf (_("Checkpoint at Step %s"), number);
    }
  return g_strdup (source);
}

const char *
compare_page_origin_label (TemperPromptOrigin origin)
{
  switch (origin)
    {
    case TEMPER_PROMPT_FROM_VALIDATION: return _("Not seen in training");
    case TEMPER_PROMPT_FROM_TRAINING:   return _("From your training data");
    case TEMPER_PROMPT_FROM_PERSON:
    default:                            return _("Your own question");
    }
}

gboolean
compare_page_is_busy (TemperComparePage *self)
{
  return self->read_cancellable != NULL || self->generate_cancellable != NULL;
}

static void
update_summary (TemperComparePage *self)
{
  TemperRatingsSummary s = { 0 };
  g_autofree char *rate = NULL;
  g_autofree char *counts = NULL;
  g_autoptr(GString) picks = g_string_new (NULL);

  if (self->ratings != NULL)
    temper_ratings_get_summary (self->ratings, &s);
  if (s.has_rate)
    /* Translators: the win rate and its 95% confidence interval, e.g. "63% (95% confidence: 41–81%)" */
    rate = g_strdup_printf (_("%.0f%% (95%% confidence: %.0f–%.0f%%)"), 100 * s.rate, 100 * s.low, 100 * s.high);
  else
    rate = g_strdup (_("Nothing judged yet"));
  /* Translators: counts of judgements, e.g. "5 tuned better · 2 base better · 1 tie · 4 not judged" */
  counts = g_strdup_printf (_("%u tuned better · %u base better · %u tie · %u not judged"),
                            s.wins, s.losses, s.ties, s.n_prompts - s.n_judged);
  adw_action_row_set_subtitle (self->win_rate_row, rate);
  adw_action_row_set_subtitle (self->counts_row, counts);

  for (guint i = 0; self->ratings != NULL && i < temper_ratings_get_n_sources (self->ratings); i++)
    {
      const char *source = temper_ratings_get_source (self->ratings, i);
      g_autofree char *title = compare_page_source_title (source);

      if (picks->len > 0)
        g_string_append (picks, " · ");
      /* Translators: how often one model's answer was judged better, e.g. "Base Model: 3" */
      g_string_append_printf (picks, _("%s: %u"), title, temper_ratings_count_picks (self->ratings, source));
    }
  adw_action_row_set_subtitle (self->picks_row, picks->str);
  /* With two models the counts above say it all. */
  gtk_widget_set_visible (GTK_WIDGET (self->picks_row),
                          self->ratings != NULL && temper_ratings_get_n_sources (self->ratings) > 2);
}

void
compare_page_update_controls (TemperComparePage *self)
{
  gboolean generating = self->generate_cancellable != NULL;
  guint n_prompts = self->ratings != NULL ? temper_ratings_get_n_prompts (self->ratings) : 0;
  gboolean missing = FALSE;
  g_autofree char *basename = self->run_dir != NULL ? g_path_get_basename (self->run_dir) : NULL;

  for (guint i = 0; i < n_prompts && !missing; i++)
    missing = !temper_ratings_has_answers (self->ratings, i);

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "page.generate",
                                 !compare_page_is_busy (self) && self->model != NULL && self->info != NULL &&
                                 self->info->has_adapter && missing);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "page.stop", generating);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "page.previous-prompt", self->prompt > 0);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "page.next-prompt", self->prompt + 1 < n_prompts);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "page.export", n_prompts > 0);
  gtk_widget_set_visible (self->generate_button, !generating);
  gtk_widget_set_visible (self->stop_button, generating);
  gtk_widget_set_sensitive (GTK_WIDGET (self->own_prompt_row), self->ratings != NULL);
  gtk_widget_set_sensitive (GTK_WIDGET (self->checkpoints_row), !generating);

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->run_row),
                                 basename != NULL ? basename : _("No run to compare yet"));
  if (self->run_dir == NULL)
    adw_action_row_set_subtitle (self->run_row, _("Train a model first, or open a run from the Runs page."));
  else if (self->read_cancellable != NULL)
    adw_action_row_set_subtitle (self->run_row, _("Reading the run…"));
  else if (self->info != NULL && !self->info->has_adapter)
    adw_action_row_set_subtitle (self->run_row, _("This run has not finished, so it has no tuned model yet."));
  else if (self->model == NULL)
    adw_action_row_set_subtitle (self->run_row, _("Waiting for the run's model to load on the Model page…"));
  else if (generating)
    adw_action_row_set_subtitle (self->run_row, _("Generating answers…"));
  else if (!missing && n_prompts > 0)
    adw_action_row_set_subtitle (self->run_row, _("Every prompt has its answers."));
  else
    adw_action_row_set_subtitle (self->run_row, _("Answers are generated on this computer; it takes a moment per answer."));
}

/* The sources in their natural order: base, checkpoints oldest first, final. */
void
compare_page_apply_sources (TemperComparePage *self)
{
  g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);

  g_ptr_array_add (ids, g_strdup (TEMPER_RATINGS_BASE));
  for (guint i = 0; self->info != NULL && i < self->info->checkpoints->len; i++)
    if (self->checkpoint_shown[i] && ids->len + 1 < TEMPER_RATINGS_MAX_SOURCES)
      g_ptr_array_add (ids, g_strdup_printf ("step-%" G_GINT64_FORMAT,
                                             g_array_index (self->info->checkpoint_steps, gint64, i)));
  g_ptr_array_add (ids, g_strdup (TEMPER_RATINGS_FINAL));
  g_ptr_array_add (ids, NULL);
  temper_ratings_set_sources (self->ratings, (const char *const *) ids->pdata);
}

static void
column_better_toggled_cb (TemperComparePage  *self,
                          TemperAnswerColumn *column);
static void
column_score_changed_cb (TemperComparePage  *self,
                         int                 aspect,
                         int                 score,
                         TemperAnswerColumn *column);

void
compare_page_rebuild_columns (TemperComparePage *self)
{
  guint n = self->ratings != NULL ? temper_ratings_get_n_sources (self->ratings) : 0;

  for (guint i = 0; i < self->n_columns; i++)
    gtk_flow_box_remove (self->columns_box, self->columns[i]);
  self->n_columns = n;
  /* Side by side when there is room; a narrow window stacks them. */
  gtk_flow_box_set_max_children_per_line (self->columns_box, MAX (n, 1));
  for (guint i = 0; i < n; i++)
    {
      self->columns[i] = temper_answer_column_new ();
      gtk_widget_set_size_request (self->columns[i], 260, -1);
      gtk_flow_box_append (self->columns_box, self->columns[i]);
      /* The flow box's own cell need not take the focus: its controls do. */
      gtk_widget_set_focusable (gtk_widget_get_parent (self->columns[i]), FALSE);
      g_signal_connect_object (self->columns[i], "better-toggled",
                               G_CALLBACK (column_better_toggled_cb), self, G_CONNECT_SWAPPED);
      g_signal_connect_object (self->columns[i], "score-changed",
                               G_CALLBACK (column_score_changed_cb), self, G_CONNECT_SWAPPED);
    }
}

static int
column_of_source (TemperComparePage *self,
                  guint              source)
{
  for (guint i = 0; i < self->n_columns; i++)
    if (self->column_source[i] == source)
      return (int) i;
  return -1;
}

void
compare_page_show_current (TemperComparePage *self)
{
  guint n_prompts = self->ratings != NULL ? temper_ratings_get_n_prompts (self->ratings) : 0;
  gboolean blind = gtk_switch_get_active (self->blind_switch);
  gboolean judgeable;
  const char *verdict;
  guint order[TEMPER_RATINGS_MAX_SOURCES];

  self->quiet = TRUE;
  if (n_prompts == 0)
    {
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->prompt_row), _("No prompts yet"));
      adw_action_row_set_subtitle (self->prompt_row, _("The run's validation questions appear here; you can also ask your own."));
      for (guint i = 0; i < self->n_columns; i++)
        gtk_widget_set_visible (self->columns[i], FALSE);
      gtk_widget_set_visible (GTK_WIDGET (self->prompt_origin_label), FALSE);
      gtk_widget_set_visible (GTK_WIDGET (self->columns_box), FALSE);
      gtk_widget_set_sensitive (GTK_WIDGET (self->tie_button), FALSE);
      gtk_widget_set_sensitive (GTK_WIDGET (self->note_row), FALSE);
      self->quiet = FALSE;
      compare_page_update_controls (self);
      update_summary (self);
      return;
    }

  self->prompt = MIN (self->prompt, n_prompts - 1);
  {
    /* Translators: "Prompt 3 of 12" */
    g_autofree char *title = g_strdup_printf (_("Prompt %u of %u"), self->prompt + 1, n_prompts);
    g_autofree char *escaped = g_markup_escape_text (temper_ratings_get_prompt (self->ratings, self->prompt), -1);

    adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->prompt_row), title);
    adw_action_row_set_subtitle (self->prompt_row, escaped);
    gtk_label_set_text (self->prompt_origin_label,
                        compare_page_origin_label (temper_ratings_get_origin (self->ratings, self->prompt)));
    gtk_widget_set_visible (GTK_WIDGET (self->prompt_origin_label), TRUE);
  }

  temper_ratings_get_order (self->ratings, self->prompt, order);
  judgeable = temper_ratings_has_answers (self->ratings, self->prompt);
  verdict = temper_ratings_get_verdict (self->ratings, self->prompt);
  for (guint i = 0; i < self->n_columns; i++)
    {
      TemperAnswerColumn *column = TEMPER_ANSWER_COLUMN (self->columns[i]);
      guint source = blind ? order[i] : i;
      const char *id = temper_ratings_get_source (self->ratings, source);
      g_autofree char *title = NULL;

      self->column_source[i] = source;
      if (blind)
        /* Translators: a column in blind mode: "Answer A", "Answer B", … */
        title = g_strdup_printf (_("Answer %c"), 'A' + i);
      else
        title = compare_page_source_title (id);
      temper_answer_column_set_title (column, title);
      temper_answer_column_set_text (column, temper_ratings_get_answer (self->ratings, self->prompt, id));
      temper_answer_column_set_cut (column, temper_ratings_get_cut_at (self->ratings, self->prompt, id));
      temper_answer_column_set_better (column, g_strcmp0 (verdict, id) == 0);
      for (int a = 0; a < TEMPER_N_ASPECTS; a++)
        temper_answer_column_set_score (column, a, temper_ratings_get_score (self->ratings, self->prompt, id, a));
      temper_answer_column_set_judgeable (column, judgeable);
      gtk_widget_set_visible (self->columns[i], TRUE);
    }
  gtk_widget_set_visible (GTK_WIDGET (self->columns_box), TRUE);
  gtk_toggle_button_set_active (self->tie_button, g_strcmp0 (verdict, TEMPER_RATINGS_TIE) == 0);
  if (gtk_toggle_button_get_active (self->tie_button))
    gtk_widget_add_css_class (GTK_WIDGET (self->tie_button), "suggested-action");
  else
    gtk_widget_remove_css_class (GTK_WIDGET (self->tie_button), "suggested-action");
  gtk_widget_set_sensitive (GTK_WIDGET (self->tie_button), judgeable);
  gtk_widget_set_sensitive (GTK_WIDGET (self->note_row), TRUE);
  {
    const char *note = temper_ratings_get_note (self->ratings, self->prompt);

    gtk_editable_set_text (GTK_EDITABLE (self->note_row), note != NULL ? note : "");
  }
  self->quiet = FALSE;
  compare_page_update_controls (self);
  update_summary (self);
}

/* ---- The person's judgement -------------------------------------------------- */

static void
set_verdict (TemperComparePage *self,
             const char        *verdict)
{
  temper_ratings_set_verdict (self->ratings, self->prompt, verdict);
  compare_page_schedule_save (self);
  compare_page_show_current (self);
}

static void
column_better_toggled_cb (TemperComparePage  *self,
                          TemperAnswerColumn *column)
{
  for (guint i = 0; i < self->n_columns && !self->quiet && self->ratings != NULL; i++)
    if (self->columns[i] == GTK_WIDGET (column))
      {
        const char *id = temper_ratings_get_source (self->ratings, self->column_source[i]);

        set_verdict (self, temper_answer_column_get_better (column) ? id : NULL);
        return;
      }
}

static void
column_score_changed_cb (TemperComparePage  *self,
                         int                 aspect,
                         int                 score,
                         TemperAnswerColumn *column)
{
  for (guint i = 0; i < self->n_columns && !self->quiet && self->ratings != NULL; i++)
    if (self->columns[i] == GTK_WIDGET (column))
      {
        const char *id = temper_ratings_get_source (self->ratings, self->column_source[i]);

        temper_ratings_set_score (self->ratings, self->prompt, id, (TemperAspect) aspect, score);
        compare_page_schedule_save (self);
        return;
      }
}

static void
tie_toggled_cb (TemperComparePage *self)
{
  if (self->quiet || self->ratings == NULL)
    return;
  set_verdict (self, gtk_toggle_button_get_active (self->tie_button) ? TEMPER_RATINGS_TIE : NULL);
}

static void
note_changed_cb (TemperComparePage *self)
{
  if (self->quiet || self->ratings == NULL || temper_ratings_get_n_prompts (self->ratings) == 0)
    return;
  temper_ratings_set_note (self->ratings, self->prompt, gtk_editable_get_text (GTK_EDITABLE (self->note_row)));
  compare_page_schedule_save (self);
}

static void
own_prompt_apply_cb (TemperComparePage *self)
{
  g_autofree char *text = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (self->own_prompt_row))));

  if (*text == '\0')
    return;
  temper_compare_page_add_prompt (self, text);
  gtk_editable_set_text (GTK_EDITABLE (self->own_prompt_row), "");
}

/* ---- Generating ------------------------------------------------------------------ */

static void
piece_cb (GObject      *owner,
          GCancellable *cancellable,
          guint         prompt,
          guint         source,
          const char   *text,
          gsize         len,
          guint         cut_at)
{
  TemperComparePage *self = TEMPER_COMPARE_PAGE (owner);
  const char *id;
  int column;

  if (cancellable != self->generate_cancellable || self->ratings == NULL ||
      source >= g_strv_length (self->job_sources))
    return;
  id = self->job_sources[source];
  if (text != NULL)
    temper_ratings_append_answer (self->ratings, prompt, id, text, len);
  else
    {
      temper_ratings_set_complete (self->ratings, prompt, id, TRUE);
      /* Kept in ratings.json, so a reopened run says it again. */
      temper_ratings_set_cut_at (self->ratings, prompt, id, cut_at);
      compare_page_schedule_save (self);
    }
  if (prompt != self->prompt)
    return;
  /* The job's sources are the ratings' sources while it runs (changing
   * them stops it), so the index is the same. */
  column = column_of_source (self, source);
  if (column < 0)
    return;
  if (text != NULL)
    temper_answer_column_append_text (TEMPER_ANSWER_COLUMN (self->columns[column]), text, len);
  else
    {
      temper_answer_column_set_cut (TEMPER_ANSWER_COLUMN (self->columns[column]), cut_at);
      if (temper_ratings_has_answers (self->ratings, prompt))
        compare_page_show_current (self);
    }
}

static void
generate_done_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  TemperComparePage *self = TEMPER_COMPARE_PAGE (source);
  GCancellable *cancellable = user_data;
  g_autoptr(GError) error = NULL;
  gboolean ok = temper_compare_generate_finish (result, &error);

  if (cancellable != self->generate_cancellable)
    {
      g_object_unref (cancellable);
      return;
    }
  g_object_unref (cancellable);
  g_clear_object (&self->generate_cancellable);
  g_clear_pointer (&self->job_sources, g_strfreev);
  if (self->ratings == NULL)
    return;
  if (!ok && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) &&
      !g_error_matches (error, TEMPER_ERROR, TEMPER_ERROR_CANCELLED))
    temper_error_banner_show (self->error_banner, _("The answers could not be generated"), error, self->run_dir);
  compare_page_save_now (self);
  compare_page_show_current (self);
  compare_page_notify_busy (self);
}

static char *
adapter_dir_of (TemperComparePage *self,
                const char        *source)
{
  if (g_str_equal (source, TEMPER_RATINGS_BASE))
    return NULL;
  if (g_str_equal (source, TEMPER_RATINGS_FINAL))
    return g_build_filename (self->run_dir, "adapter", NULL);
  for (guint i = 0; i < self->info->checkpoints->len; i++)
    {
      g_autofree char *id = g_strdup_printf ("step-%" G_GINT64_FORMAT,
                                             g_array_index (self->info->checkpoint_steps, gint64, i));

      if (g_str_equal (id, source))
        return g_strdup (self->info->checkpoints->pdata[i]);
    }
  return NULL;
}

void
temper_compare_page_generate (TemperComparePage *self)
{
  g_autoptr(GPtrArray) texts = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GArray) ids = g_array_new (FALSE, FALSE, sizeof (guint));
  g_autoptr(GPtrArray) dirs = g_ptr_array_new_with_free_func (g_free);
  guint n_prompts, n_sources;

  g_return_if_fail (TEMPER_IS_COMPARE_PAGE (self));

  if (compare_page_is_busy (self) || self->model == NULL || self->ratings == NULL || self->info == NULL ||
      !self->info->has_adapter)
    return;
  n_prompts = temper_ratings_get_n_prompts (self->ratings);
  n_sources = temper_ratings_get_n_sources (self->ratings);
  /* The prompt on screen first: the person reads while the rest follow. */
  for (guint k = 0; k < n_prompts; k++)
    {
      guint p = (self->prompt + k) % n_prompts;

      if (temper_ratings_has_answers (self->ratings, p))
        continue;
      /* (Setting an answer again also forgets where it was cut.) */
      for (guint s = 0; s < n_sources; s++)
        temper_ratings_set_answer (self->ratings, p, temper_ratings_get_source (self->ratings, s), NULL);
      g_ptr_array_add (texts, g_strdup (temper_ratings_get_prompt (self->ratings, p)));
      g_array_append_val (ids, p);
    }
  if (texts->len == 0)
    return;

  self->job_sources = g_new0 (char *, n_sources + 1);
  for (guint s = 0; s < n_sources; s++)
    {
      self->job_sources[s] = g_strdup (temper_ratings_get_source (self->ratings, s));
      g_ptr_array_add (dirs, adapter_dir_of (self, self->job_sources[s]));
    }
  temper_error_banner_dismiss (self->error_banner);
  self->generate_cancellable = g_cancellable_new ();
  temper_compare_generate_async (G_OBJECT (self), self->model, self->backend, self->device,
                                 (const char *const *) dirs->pdata, n_sources,
                                 texts, ids, gtk_spin_button_get_value_as_int (self->max_tokens_spin),
                                 piece_cb, self->generate_cancellable, generate_done_cb,
                                 g_object_ref (self->generate_cancellable));
  compare_page_show_current (self);
  compare_page_notify_busy (self);
}

void
temper_compare_page_stop (TemperComparePage *self)
{
  g_return_if_fail (TEMPER_IS_COMPARE_PAGE (self));

  if (self->generate_cancellable == NULL)
    return;
  g_cancellable_cancel (self->generate_cancellable);
  g_clear_object (&self->generate_cancellable);
  g_clear_pointer (&self->job_sources, g_strfreev);
  /* Half answers are dropped: the next Generate writes them whole. */
  compare_page_save_now (self);
  compare_page_show_current (self);
  compare_page_notify_busy (self);
}

guint
temper_compare_page_get_n_columns (TemperComparePage *self)
{
  g_return_val_if_fail (TEMPER_IS_COMPARE_PAGE (self), 0);
  return self->n_columns;
}

GtkWidget *
temper_compare_page_get_column (TemperComparePage *self,
                                guint              i)
{
  g_return_val_if_fail (TEMPER_IS_COMPARE_PAGE (self), NULL);
  g_return_val_if_fail (i < self->n_columns, NULL);
  return self->columns[i];
}

const char *
temper_compare_page_get_column_source (TemperComparePage *self,
                                       guint              i)
{
  g_return_val_if_fail (TEMPER_IS_COMPARE_PAGE (self), NULL);
  g_return_val_if_fail (i < self->n_columns, NULL);
  return temper_ratings_get_source (self->ratings, self->column_source[i]);
}

GtkWidget *
temper_compare_page_get_evaluation_group (TemperComparePage *self)
{
  g_return_val_if_fail (TEMPER_IS_COMPARE_PAGE (self), NULL);
  return GTK_WIDGET (self->evaluation_group);
}

/* ---- Actions ------------------------------------------------------------------------ */

static void
generate_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  temper_compare_page_generate (TEMPER_COMPARE_PAGE (widget));
}

static void
stop_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  temper_compare_page_stop (TEMPER_COMPARE_PAGE (widget));
}

static void
previous_prompt_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  TemperComparePage *self = TEMPER_COMPARE_PAGE (widget);

  if (self->prompt > 0)
    temper_compare_page_show_prompt (self, self->prompt - 1);
}

static void
next_prompt_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  TemperComparePage *self = TEMPER_COMPARE_PAGE (widget);

  temper_compare_page_show_prompt (self, self->prompt + 1);
}

static void
blind_changed_cb (TemperComparePage *self)
{
  compare_page_show_current (self);
}

static void
max_tokens_changed_cb (TemperComparePage *self)
{
  temper_evaluation_group_set_max_tokens (self->evaluation_group,
                                          gtk_spin_button_get_value_as_int (self->max_tokens_spin));
}

/* ---- The object ----------------------------------------------------------------------- */

static void
temper_compare_page_dispose (GObject *object)
{
  TemperComparePage *self = TEMPER_COMPARE_PAGE (object);

  if (self->generate_cancellable != NULL)
    g_cancellable_cancel (self->generate_cancellable);
  g_clear_object (&self->generate_cancellable);
  if (self->read_cancellable != NULL)
    g_cancellable_cancel (self->read_cancellable);
  g_clear_object (&self->read_cancellable);
  if (self->save_source != 0)
    compare_page_save_now (self);
  g_clear_object (&self->chooser);
  g_clear_object (&self->ratings);
  gtk_widget_dispose_template (GTK_WIDGET (self), TEMPER_TYPE_COMPARE_PAGE);

  G_OBJECT_CLASS (temper_compare_page_parent_class)->dispose (object);
}

static void
temper_compare_page_finalize (GObject *object)
{
  TemperComparePage *self = TEMPER_COMPARE_PAGE (object);

  g_clear_object (&self->model);
  g_clear_pointer (&self->info, temper_compare_run_info_free);
  g_clear_pointer (&self->job_sources, g_strfreev);
  g_ptr_array_unref (self->checkpoint_rows);
  g_free (self->checkpoint_shown);
  g_free (self->run_dir);

  G_OBJECT_CLASS (temper_compare_page_parent_class)->finalize (object);
}

static void
temper_compare_page_get_property (GObject    *object,
                                  guint       prop_id,
                                  GValue     *value,
                                  GParamSpec *pspec)
{
  TemperComparePage *self = TEMPER_COMPARE_PAGE (object);

  switch (prop_id)
    {
    case PROP_BUSY:     g_value_set_boolean (value, compare_page_is_busy (self)); break;
    /* Comparing is optional: nothing here holds up the way on. */
    case PROP_COMPLETE: g_value_set_boolean (value, TRUE); break;
    default:            G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
temper_compare_page_page_iface_init (TemperPageInterface *iface)
{
}

static void
temper_compare_page_class_init (TemperComparePageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = temper_compare_page_dispose;
  object_class->finalize = temper_compare_page_finalize;
  object_class->get_property = temper_compare_page_get_property;

  properties[PROP_BUSY] =
    g_param_spec_boolean ("busy", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, PROP_COMPLETE, properties);
  g_object_class_override_property (object_class, PROP_COMPLETE, "complete");
  properties[PROP_COMPLETE] = g_object_class_find_property (object_class, "complete");

  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/temper/Temper/temper-compare-page.ui");
  gtk_widget_class_bind_template_child (widget_class, TemperComparePage, error_banner);
  gtk_widget_class_bind_template_child (widget_class, TemperComparePage, run_row);
  gtk_widget_class_bind_template_child (widget_class, TemperComparePage, generate_button);
  gtk_widget_class_bind_template_child (widget_class, TemperComparePage, stop_button);
  gtk_widget_class_bind_template_child (widget_class, TemperComparePage, blind_switch);
  gtk_widget_class_bind_template_child (widget_class, TemperComparePage, max_tokens_spin);
  gtk_widget_class_bind_template_child (widget_class, TemperComparePage, checkpoints_row);
  gtk_widget_class_bind_template_child (widget_class, TemperComparePage, prompt_row);
  gtk_widget_class_bind_template_child (widget_class, TemperComparePage, prompt_origin_label);
  gtk_widget_class_bind_template_child (widget_class, TemperComparePage, own_prompt_row);
  gtk_widget_class_bind_template_child (widget_class, TemperComparePage, columns_box);
  gtk_widget_class_bind_template_child (widget_class, TemperComparePage, tie_button);
  gtk_widget_class_bind_template_child (widget_class, TemperComparePage, note_row);
  gtk_widget_class_bind_template_child (widget_class, TemperComparePage, win_rate_row);
  gtk_widget_class_bind_template_child (widget_class, TemperComparePage, counts_row);
  gtk_widget_class_bind_template_child (widget_class, TemperComparePage, picks_row);
  gtk_widget_class_bind_template_child (widget_class, TemperComparePage, evaluation_group);
  gtk_widget_class_bind_template_callback (widget_class, own_prompt_apply_cb);
  gtk_widget_class_bind_template_callback (widget_class, tie_toggled_cb);
  gtk_widget_class_bind_template_callback (widget_class, note_changed_cb);

  gtk_widget_class_install_action (widget_class, "page.generate", NULL, generate_action);
  gtk_widget_class_install_action (widget_class, "page.stop", NULL, stop_action);
  gtk_widget_class_install_action (widget_class, "page.previous-prompt", NULL, previous_prompt_action);
  gtk_widget_class_install_action (widget_class, "page.next-prompt", NULL, next_prompt_action);
  gtk_widget_class_install_action (widget_class, "page.export", "s", compare_page_export_action);

  g_type_ensure (TEMPER_TYPE_ERROR_BANNER);
  g_type_ensure (TEMPER_TYPE_EVALUATION_GROUP);
}

/* A preferences page keeps its content 600 pixels wide, too narrow for
 * answers side by side; its clamp is not reachable through the API of
 * libadwaita 1.2, so it is found among the page's children. */
static void
widen_page (GtkWidget *widget)
{
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      if (ADW_IS_CLAMP (child))
        {
          adw_clamp_set_maximum_size (ADW_CLAMP (child), 1100);
          adw_clamp_set_tightening_threshold (ADW_CLAMP (child), 800);
          return;
        }
      widen_page (child);
    }
}

static void
temper_compare_page_init (TemperComparePage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  widen_page (GTK_WIDGET (self));
  self->checkpoint_rows = g_ptr_array_new ();
  self->backend = TEMPER_BACKEND_CPU;
  self->device = -1;
  gtk_widget_set_visible (GTK_WIDGET (self->checkpoints_row), FALSE);
  g_signal_connect_object (self->blind_switch, "notify::active", G_CALLBACK (blind_changed_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->max_tokens_spin, "value-changed", G_CALLBACK (max_tokens_changed_cb), self,
                           G_CONNECT_SWAPPED);
  max_tokens_changed_cb (self);
  compare_page_show_current (self);
}
