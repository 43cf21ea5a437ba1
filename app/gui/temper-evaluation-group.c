/* SPDX-License-Identifier: MIT */
/* temper-evaluation-group.c — evaluation.json as rows, and running the
 * evaluation on a worker thread. */
#include "config.h"

#include <math.h>

#include <glib/gi18n.h>
#include <json-glib/json-glib.h>

#include "temper/error.h"
#include "temper/json.h"
#include "temper/evaluate.h"
#include "temper/run.h"
#include "temper-error-banner.h"
#include "temper-evaluation-group.h"

/* Validation questions a quick evaluation asks. */
#define QUICK_RECORDS 5

struct _TemperEvaluationGroup
{
  AdwPreferencesGroup  parent_instance;

  char                *run_dir;
  int                  max_tokens;
  TemperBackendKind    backend;
  int                  device;
  GCancellable        *cancellable;
  GPtrArray           *figure_rows;   /* rows built from the file, removed on reload */

  TemperErrorBanner   *error_banner;
  GtkWidget           *run_button;
  GtkWidget           *cancel_button;
  GtkSwitch           *quick_switch;
  AdwActionRow        *progress_row;
  GtkProgressBar      *progress_bar;
  AdwActionRow        *empty_row;
  GtkWidget           *quick_row;
};

G_DEFINE_FINAL_TYPE (TemperEvaluationGroup, temper_evaluation_group, ADW_TYPE_PREFERENCES_GROUP)

char *
temper_evaluation_format_pair (double   base,
                               double   tuned,
                               gboolean percent)
{
  double scale = percent ? 100.0 : 1.0;
  g_autofree char *a = isfinite (base) ? g_strdup_printf (percent ? "%.1f%%" : "%.2f", base * scale)
                                       : g_strdup ("—");
  g_autofree char *b = isfinite (tuned) ? g_strdup_printf (percent ? "%.1f%%" : "%.2f", tuned * scale)
                                        : g_strdup ("—");

  /* Translators: a figure of the base model, then of the tuned model */
  return g_strdup_printf (_("%s → %s"), a, b);
}

/* ---- Showing the file -------------------------------------------------------- */

static double
pair_member (JsonObject *set,
             const char *name,
             const char *model)
{
  JsonObject *pair;
  JsonNode *node;

  if (!json_object_has_member (set, name) || !JSON_NODE_HOLDS_OBJECT (json_object_get_member (set, name)))
    return NAN;
  pair = json_object_get_object_member (set, name);
  node = json_object_get_member (pair, model);
  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node))
    return NAN;
  return json_node_get_double (node);
}

static gint64
int_member (JsonObject *o,
            const char *name)
{
  JsonNode *node = json_object_get_member (o, name);

  return node != NULL && JSON_NODE_HOLDS_VALUE (node) ? json_node_get_int (node) : 0;
}

static gboolean
bool_member (JsonObject *o,
             const char *name)
{
  JsonNode *node = json_object_get_member (o, name);

  return node != NULL && JSON_NODE_HOLDS_VALUE (node) && json_node_get_boolean (node);
}

static AdwActionRow *
add_row (TemperEvaluationGroup *self,
         const char            *name,
         const char            *title,
         const char            *value)
{
  GtkWidget *row = adw_action_row_new ();

  gtk_widget_set_name (row, name);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
  adw_action_row_set_subtitle (ADW_ACTION_ROW (row), value);
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (self), row);
  g_ptr_array_add (self->figure_rows, row);
  return ADW_ACTION_ROW (row);
}

static void
add_pair_row (TemperEvaluationGroup *self,
              JsonObject            *set,
              const char            *member,
              const char            *title,
              gboolean               percent)
{
  g_autofree char *name = g_strconcat ("eval-", member, NULL);
  g_autofree char *value = temper_evaluation_format_pair (pair_member (set, member, "base"),
                                                          pair_member (set, member, "tuned"), percent);

  add_row (self, name, title, value);
}

static void
clear_figures (TemperEvaluationGroup *self)
{
  for (guint i = 0; i < self->figure_rows->len; i++)
    adw_preferences_group_remove (ADW_PREFERENCES_GROUP (self), self->figure_rows->pdata[i]);
  g_ptr_array_set_size (self->figure_rows, 0);
}

static void
show_general (TemperEvaluationGroup *self,
              JsonObject            *root)
{
  JsonObject *general;
  gint64 n, forgotten;
  g_autofree char *right = NULL;
  g_autofree char *verdict = NULL;

  if (!json_object_has_member (root, "general") ||
      !JSON_NODE_HOLDS_OBJECT (json_object_get_member (root, "general")))
    return;
  general = json_object_get_object_member (root, "general");
  n = int_member (general, "n_questions");
  if (n <= 0)
    return;
  forgotten = int_member (general, "forgotten");
  /* Translators: general questions answered right, base model → tuned model, e.g. "18 of 20 → 17 of 20" */
  right = g_strdup_printf (_("%u of %u → %u of %u"),
                           (guint) int_member (general, "base_right"), (guint) n,
                           (guint) int_member (general, "tuned_right"), (guint) n);
  add_row (self, "eval-general", _("General questions answered right"), right);
  if (bool_member (general, "forgetting"))
    /* Translators: the forgetting check, e.g. "… got 3 of 20 general questions wrong …" */
    verdict = g_strdup_printf (_("The tuned model got %u of %u general questions wrong that the base model answered right: it may have forgotten some of what it knew."),
                               (guint) forgotten, (guint) n);
  else
    verdict = g_strdup (_("No sign of forgetting: the tuned model answers the general questions as well as the base model."));
  add_row (self, "eval-forgetting", _("Forgetting"), verdict);
}

static void
show_effect (TemperEvaluationGroup *self,
             JsonObject            *root)
{
  const char *text;

  if (!bool_member (root, "no_effect"))
    return;
  if (!bool_member (root, "loss_fell"))
    text = _("The training loss never fell, so the adapter has learnt little. Try more epochs or a higher learning rate.");
  else
    text = _("The tuned model mostly gives the same answers as the base model. Try more epochs, a higher learning rate or more target modules.");
  add_row (self, "eval-no-effect", _("Little effect"), text);
}

/* A validation record's tuned or base answer holds the reference answer
 * (or its "expect" phrase): -1 when the record was not scored. */
static int
record_right (JsonObject *record,
              const char *model)
{
  JsonNode *node = json_object_get_member (record, model);
  JsonObject *answer;

  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    return -1;
  answer = json_node_get_object (node);
  node = json_object_get_member (answer, "contains");
  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node))
    return -1;
  return json_node_get_double (node) >= 0.5;
}

/* One plain sentence or two from the figures: how many validation
 * questions each model answers right, and whether general knowledge held;
 * NULL when the file has neither. */
/* An evaluation of a run that held nothing back scores its training data
 * as an extra set (evaluate_thread): such a set is named after its file,
 * the validation split is not. */
static gboolean
set_is_training_data (JsonObject *set)
{
  const char *name = json_object_get_string_member_with_default (set, "name", NULL);
  const char *path = json_object_get_string_member_with_default (set, "path", NULL);
  g_autofree char *base = path != NULL ? g_path_get_basename (path) : NULL;

  return name != NULL && g_strcmp0 (name, base) == 0;
}

static char *
evaluation_verdict (JsonObject *root)
{
  g_autoptr(GString) verdict = g_string_new (NULL);
  JsonArray *sets = NULL;
  JsonObject *set = NULL;
  JsonNode *node;

  node = json_object_get_member (root, "sets");
  if (node != NULL && JSON_NODE_HOLDS_ARRAY (node))
    sets = json_node_get_array (node);
  if (sets != NULL && json_array_get_length (sets) > 0 &&
      JSON_NODE_HOLDS_OBJECT (json_array_get_element (sets, 0)))
    set = json_array_get_object_element (sets, 0);

  if (set != NULL)
    {
      JsonNode *records_node = json_object_get_member (set, "records");
      JsonArray *records = records_node != NULL && JSON_NODE_HOLDS_ARRAY (records_node)
                           ? json_node_get_array (records_node) : NULL;
      guint n = 0, right[2] = { 0, 0 };

      for (guint i = 0; records != NULL && i < json_array_get_length (records); i++)
        {
          JsonNode *r = json_array_get_element (records, i);
          int base, tuned;

          if (!JSON_NODE_HOLDS_OBJECT (r))
            continue;
          base = record_right (json_node_get_object (r), "base");
          tuned = record_right (json_node_get_object (r), "tuned");
          if (base < 0 || tuned < 0)
            continue;
          n++;
          right[0] += (guint) base;
          right[1] += (guint) tuned;
        }
      if (n > 0 && set_is_training_data (set))
        /* Translators: the first sentence of the evaluation when no question was held back from training */
        g_string_append_printf (verdict, g_dngettext (GETTEXT_PACKAGE,
                                                      "The tuned model answers %u of your %u training question right; before: %u of %u.",
                                                      "The tuned model answers %u of your %u training questions right; before: %u of %u.",
                                                      n),
                                right[1], n, right[0], n);
      else if (n > 0)
        /* Translators: the first sentence of the evaluation, e.g. "The tuned model answers 9 of your 10 questions right; before: 0 of 10." */
        g_string_append_printf (verdict, g_dngettext (GETTEXT_PACKAGE,
                                                      "The tuned model answers %u of your %u question right; before: %u of %u.",
                                                      "The tuned model answers %u of your %u questions right; before: %u of %u.",
                                                      n),
                                right[1], n, right[0], n);
      else
        {
          double base = pair_member (set, "perplexity", "base");
          double tuned = pair_member (set, "perplexity", "tuned");

          if (isfinite (base) && isfinite (tuned))
            g_string_append (verdict, tuned < base
                             ? _("The tuned model expects your validation answers better than before.")
                             : _("The tuned model does not expect your validation answers any better than before."));
        }
    }

  node = json_object_get_member (root, "general");
  if (node != NULL && JSON_NODE_HOLDS_OBJECT (node) && int_member (json_node_get_object (node), "n_questions") > 0)
    {
      JsonObject *general = json_node_get_object (node);
      guint forgotten = (guint) int_member (general, "forgotten");

      if (verdict->len > 0)
        g_string_append_c (verdict, ' ');
      if (bool_member (general, "forgetting"))
        /* Translators: the second sentence of the evaluation's verdict */
        g_string_append_printf (verdict, g_dngettext (GETTEXT_PACKAGE,
                                                      "General knowledge suffered: it forgot %u general question.",
                                                      "General knowledge suffered: it forgot %u general questions.",
                                                      forgotten),
                                forgotten);
      else
        /* Translators: the second sentence of the evaluation's verdict */
        g_string_append (verdict, _("General knowledge unchanged."));
    }
  return verdict->len > 0 ? g_strdup (verdict->str) : NULL;
}

static gboolean
show_file (TemperEvaluationGroup  *self,
           const char             *path,
           GError                **error)
{
  g_autoptr(JsonNode) root = temper_json_parse_file (path, TEMPER_JSON_MAX_DOCUMENT_SIZE, error);
  JsonArray *sets;

  if (root == NULL)
    return FALSE;
  if ( !JSON_NODE_HOLDS_OBJECT (root) ||
      !json_object_has_member (json_node_get_object (root), "sets"))
    {
      g_set_error (error, TEMPER_ERROR, TEMPER_ERROR_INVALID_FILE,
                   _("%s does not hold an evaluation Temper can read."), path);
      return FALSE;
    }
  {
    /* The plain verdict first, the figures behind it below. */
    g_autofree char *verdict = evaluation_verdict (json_node_get_object (root));

    if (verdict != NULL)
      {
        AdwActionRow *row = add_row (self, "eval-verdict", verdict, "");

        adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
      }
  }
  sets = json_object_get_array_member (json_node_get_object (root), "sets");
  for (guint i = 0; sets != NULL && i < json_array_get_length (sets); i++)
    {
      JsonObject *set = json_array_get_object_element (sets, i);

      if (set == NULL)
        continue;
      /* Only the validation split: an extra file is in the HTML report. */
      if (i > 0)
        break;
      add_pair_row (self, set, "perplexity", set_is_training_data (set)
                                             ? _("Perplexity on your training answers (lower is better)")
                                             : _("Perplexity on the validation answers (lower is better)"), FALSE);
      if (int_member (set, "n_with_reference") > 0)
        {
          add_pair_row (self, set, "exact", _("Exact match"), TRUE);
          add_pair_row (self, set, "contains", _("Contains the reference answer"), TRUE);
          add_pair_row (self, set, "bleu", _("BLEU"), TRUE);
          add_pair_row (self, set, "rouge_l", _("ROUGE-L"), TRUE);
          add_pair_row (self, set, "chrf", _("chrF (fair to Chinese)"), TRUE);
        }
    }
  show_general (self, json_node_get_object (root));
  show_effect (self, json_node_get_object (root));
  return TRUE;
}

static void
reload (TemperEvaluationGroup *self)
{
  g_autofree char *path = NULL;
  g_autoptr(GError) error = NULL;

  clear_figures (self);
  if (self->run_dir != NULL)
    path = g_build_filename (self->run_dir, "evaluation.json", NULL);
  if (path != NULL && g_file_test (path, G_FILE_TEST_IS_REGULAR) && !show_file (self, path, &error))
    {
      clear_figures (self);
      temper_error_banner_show (self->error_banner, _("The evaluation could not be read"), error, path);
    }
  gtk_widget_set_visible (GTK_WIDGET (self->empty_row), self->figure_rows->len == 0);
  /* The figures come before the switch for the next evaluation. */
  g_object_ref (self->quick_row);
  adw_preferences_group_remove (ADW_PREFERENCES_GROUP (self), self->quick_row);
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (self), self->quick_row);
  g_object_unref (self->quick_row);
}

/* ---- Running it ------------------------------------------------------------ */

typedef struct {
  GWeakRef      group;
  GCancellable *cancellable;
  char         *stage;
  double        fraction;
} StageUpdate;

static void
stage_update_free (gpointer data)
{
  StageUpdate *update = data;

  g_weak_ref_clear (&update->group);
  g_clear_object (&update->cancellable);
  g_free (update->stage);
  g_free (update);
}

static gboolean
stage_update_idle (gpointer data)
{
  StageUpdate *update = data;
  g_autoptr(TemperEvaluationGroup) self = g_weak_ref_get (&update->group);

  if (self == NULL || self->cancellable != update->cancellable || self->progress_bar == NULL)
    return G_SOURCE_REMOVE;
  /* The engine names its stages in English; the bar says how far along. */
  adw_action_row_set_subtitle (self->progress_row, update->stage);
  gtk_progress_bar_set_fraction (self->progress_bar, CLAMP (update->fraction, 0.0, 1.0));
  return G_SOURCE_REMOVE;
}

typedef struct {
  char         *run_dir;
  int           max_tokens;
  int           max_records;
  TemperBackendKind backend;
  int           device;
  GWeakRef      group;
  GCancellable *cancellable;
} EvaluateJob;

static void
evaluate_job_free (gpointer data)
{
  EvaluateJob *job = data;

  g_free (job->run_dir);
  g_weak_ref_clear (&job->group);
  g_clear_object (&job->cancellable);
  g_free (job);
}

static void
stage_cb (const char *stage,
          double      fraction,
          gpointer    user_data)
{
  EvaluateJob *job = user_data;
  StageUpdate *update = g_new0 (StageUpdate, 1);
  g_autoptr(GObject) group = g_weak_ref_get (&job->group);

  g_weak_ref_init (&update->group, group);
  update->cancellable = g_object_ref (job->cancellable);
  update->stage = g_strdup (stage);
  update->fraction = fraction;
  g_idle_add_full (G_PRIORITY_DEFAULT, stage_update_idle, update, stage_update_free);
}

static void
evaluate_thread (GTask        *task,
                 gpointer      source_object,
                 gpointer      task_data,
                 GCancellable *cancellable)
{
  EvaluateJob *job = task_data;
  g_autoptr(TemperEvaluation) evaluation = NULL;
  g_autoptr(GError) error = NULL;
  TemperEvaluateOptions options;
  g_autoptr(temper_run_t) run = temper_run_open (job->run_dir, NULL);
  g_autofree char *training_data = NULL;

  temper_evaluate_options_init (&options);
  /* A small set holds nothing back (every record is something to learn):
   * then the questions asked are the training questions, and the verdict
   * says so, rather than a verdict on general knowledge alone. */
  if (run != NULL && temper_run_get_val_path (run) == NULL && temper_run_get_settings (run)->val_fraction == 0)
    options.extra_path = training_data = g_strdup (temper_run_get_data_path (run));
  options.max_tokens = job->max_tokens;
  options.max_records = job->max_records;
  options.backend = job->backend;
  options.device = job->device;
  options.progress = stage_cb;
  options.progress_data = job;
  options.cancellable = cancellable;
  evaluation = temper_evaluate_run (job->run_dir, &options, &error);
  if (evaluation == NULL)
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_boolean (task, TRUE);
}

static void
update_controls (TemperEvaluationGroup *self)
{
  gboolean busy = self->cancellable != NULL;

  gtk_widget_set_visible (self->run_button, !busy);
  gtk_widget_set_sensitive (self->run_button, self->run_dir != NULL);
  gtk_widget_set_visible (self->cancel_button, busy);
  gtk_widget_set_visible (GTK_WIDGET (self->progress_row), busy);
  gtk_widget_set_sensitive (GTK_WIDGET (self->quick_switch), !busy);
}

static void
evaluate_done_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  TemperEvaluationGroup *self = TEMPER_EVALUATION_GROUP (source);
  EvaluateJob *job = g_task_get_task_data (G_TASK (result));
  g_autoptr(GError) error = NULL;

  if (job->cancellable != self->cancellable)
    return;
  g_clear_object (&self->cancellable);
  if (self->progress_bar == NULL)
    return;
  if (!g_task_propagate_boolean (G_TASK (result), &error) &&
      !g_error_matches (error, TEMPER_ERROR, TEMPER_ERROR_CANCELLED) &&
      !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    temper_error_banner_show (self->error_banner, _("The evaluation stopped with a problem"), error, job->run_dir);
  reload (self);
  update_controls (self);
}

void
temper_evaluation_group_run (TemperEvaluationGroup *self)
{
  g_autoptr(GTask) task = NULL;
  EvaluateJob *job;

  g_return_if_fail (TEMPER_IS_EVALUATION_GROUP (self));

  if (self->cancellable != NULL || self->run_dir == NULL)
    return;
  temper_error_banner_dismiss (self->error_banner);
  self->cancellable = g_cancellable_new ();
  job = g_new0 (EvaluateJob, 1);
  job->run_dir = g_strdup (self->run_dir);
  job->max_tokens = self->max_tokens;
  job->max_records = gtk_switch_get_active (self->quick_switch) ? QUICK_RECORDS : 0;
  job->backend = self->backend;
  job->device = self->device;
  job->cancellable = g_object_ref (self->cancellable);
  g_weak_ref_init (&job->group, self);

  task = g_task_new (self, self->cancellable, evaluate_done_cb, NULL);
  g_task_set_source_tag (task, temper_evaluation_group_run);
  g_task_set_task_data (task, job, evaluate_job_free);
  g_task_run_in_thread (task, evaluate_thread);

  gtk_progress_bar_set_fraction (self->progress_bar, 0.0);
  adw_action_row_set_subtitle (self->progress_row, "");
  update_controls (self);
}

void
temper_evaluation_group_cancel (TemperEvaluationGroup *self)
{
  g_return_if_fail (TEMPER_IS_EVALUATION_GROUP (self));

  if (self->cancellable == NULL)
    return;
  /* The engine stops between records; the result is dropped when it does. */
  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  update_controls (self);
}

gboolean
temper_evaluation_group_is_busy (TemperEvaluationGroup *self)
{
  g_return_val_if_fail (TEMPER_IS_EVALUATION_GROUP (self), FALSE);
  return self->cancellable != NULL;
}

gboolean
temper_evaluation_group_has_figures (TemperEvaluationGroup *self)
{
  g_return_val_if_fail (TEMPER_IS_EVALUATION_GROUP (self), FALSE);
  return self->figure_rows->len > 0;
}

void
temper_evaluation_group_set_run_dir (TemperEvaluationGroup *self,
                                     const char            *run_dir)
{
  g_return_if_fail (TEMPER_IS_EVALUATION_GROUP (self));

  if (g_strcmp0 (run_dir, self->run_dir) != 0)
    {
      temper_evaluation_group_cancel (self);
      g_free (self->run_dir);
      self->run_dir = g_strdup (run_dir);
    }
  temper_error_banner_dismiss (self->error_banner);
  reload (self);
  update_controls (self);
}

void
temper_evaluation_group_set_device (TemperEvaluationGroup *self,
                                    TemperBackendKind      backend,
                                    int                    device)
{
  g_return_if_fail (TEMPER_IS_EVALUATION_GROUP (self));
  self->backend = backend;
  self->device = device;
}

void
temper_evaluation_group_set_max_tokens (TemperEvaluationGroup *self,
                                        int                    max_tokens)
{
  g_return_if_fail (TEMPER_IS_EVALUATION_GROUP (self));
  g_return_if_fail (max_tokens > 0);
  self->max_tokens = max_tokens;
}

static void
run_clicked_cb (TemperEvaluationGroup *self)
{
  temper_evaluation_group_run (self);
}

static void
cancel_clicked_cb (TemperEvaluationGroup *self)
{
  temper_evaluation_group_cancel (self);
}

static void
temper_evaluation_group_dispose (GObject *object)
{
  TemperEvaluationGroup *self = TEMPER_EVALUATION_GROUP (object);

  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  /* Tells late progress updates that the widgets are gone. */
  self->progress_bar = NULL;

  G_OBJECT_CLASS (temper_evaluation_group_parent_class)->dispose (object);
}

static void
temper_evaluation_group_finalize (GObject *object)
{
  TemperEvaluationGroup *self = TEMPER_EVALUATION_GROUP (object);

  g_free (self->run_dir);
  g_ptr_array_unref (self->figure_rows);

  G_OBJECT_CLASS (temper_evaluation_group_parent_class)->finalize (object);
}

static void
temper_evaluation_group_class_init (TemperEvaluationGroupClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = temper_evaluation_group_dispose;
  object_class->finalize = temper_evaluation_group_finalize;
}

static GtkWidget *
new_button (const char *label,
            const char *accessible,
            const char *name)
{
  GtkWidget *button = gtk_button_new_with_mnemonic (label);

  gtk_widget_set_name (button, name);
  gtk_widget_set_valign (button, GTK_ALIGN_CENTER);
  gtk_accessible_update_property (GTK_ACCESSIBLE (button), GTK_ACCESSIBLE_PROPERTY_LABEL, accessible, -1);
  return button;
}

static void
temper_evaluation_group_init (TemperEvaluationGroup *self)
{
  GtkWidget *suffix = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);

  self->max_tokens = 64;
  self->backend = TEMPER_BACKEND_CPU;
  self->device = -1;
  self->figure_rows = g_ptr_array_new ();

  adw_preferences_group_set_title (ADW_PREFERENCES_GROUP (self), _("Automatic Evaluation"));
  adw_preferences_group_set_description (ADW_PREFERENCES_GROUP (self),
                                         _("Figures for the base model, then the tuned model: how likely each finds the validation answers, how close its own answers come to them, and whether it still knows general facts."));

  self->run_button = new_button (_("_Run Evaluation"), _("Run the automatic evaluation of this run"), "evaluate-button");
  self->cancel_button = new_button (_("_Cancel"), _("Cancel the evaluation"), "evaluate-cancel-button");
  g_signal_connect_object (self->run_button, "clicked", G_CALLBACK (run_clicked_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->cancel_button, "clicked", G_CALLBACK (cancel_clicked_cb), self, G_CONNECT_SWAPPED);
  gtk_box_append (GTK_BOX (suffix), self->run_button);
  gtk_box_append (GTK_BOX (suffix), self->cancel_button);
  adw_preferences_group_set_header_suffix (ADW_PREFERENCES_GROUP (self), suffix);

  self->error_banner = g_object_new (TEMPER_TYPE_ERROR_BANNER, NULL);
  gtk_widget_set_name (GTK_WIDGET (self->error_banner), "evaluation-error");
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (self), GTK_WIDGET (self->error_banner));

  self->progress_row = ADW_ACTION_ROW (adw_action_row_new ());
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->progress_row), _("Evaluating…"));
  self->progress_bar = GTK_PROGRESS_BAR (gtk_progress_bar_new ());
  gtk_widget_set_valign (GTK_WIDGET (self->progress_bar), GTK_ALIGN_CENTER);
  gtk_widget_set_size_request (GTK_WIDGET (self->progress_bar), 200, -1);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->progress_bar), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  _("Evaluation progress"), -1);
  adw_action_row_add_suffix (self->progress_row, GTK_WIDGET (self->progress_bar));
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (self), GTK_WIDGET (self->progress_row));

  {
    GtkWidget *row = adw_action_row_new ();
    g_autofree char *subtitle = g_strdup_printf (_("Ask only the first %d validation questions: rougher figures, in a fraction of the time"),
                                                 QUICK_RECORDS);

    self->quick_switch = GTK_SWITCH (gtk_switch_new ());
    gtk_widget_set_name (GTK_WIDGET (self->quick_switch), "quick-evaluation");
    gtk_widget_set_valign (GTK_WIDGET (self->quick_switch), GTK_ALIGN_CENTER);
    gtk_accessible_update_property (GTK_ACCESSIBLE (self->quick_switch), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                    _("Quick evaluation"), -1);
    adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), _("Quick Evaluation"));
    adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
    adw_action_row_add_suffix (ADW_ACTION_ROW (row), GTK_WIDGET (self->quick_switch));
    adw_action_row_set_activatable_widget (ADW_ACTION_ROW (row), GTK_WIDGET (self->quick_switch));
    adw_preferences_group_add (ADW_PREFERENCES_GROUP (self), row);
    self->quick_row = row;
  }

  self->empty_row = ADW_ACTION_ROW (adw_action_row_new ());
  gtk_widget_set_name (GTK_WIDGET (self->empty_row), "evaluation-empty");
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->empty_row), _("Not evaluated yet"));
  adw_action_row_set_subtitle (self->empty_row,
                               _("The evaluation asks both models the validation questions and a few general ones; it takes a few minutes."));
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (self), GTK_WIDGET (self->empty_row));

  reload (self);
  update_controls (self);
}
