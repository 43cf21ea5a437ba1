/* SPDX-License-Identifier: MIT */
/* temper-answer-column.c — one answer, streamed, with its judgement. */
#include "config.h"

#include <glib/gi18n.h>

#include "temper-answer-column.h"
#include "temper-markdown.h"

struct _TemperAnswerColumn
{
  GtkBox          parent_instance;

  GtkLabel       *title_label;
  GtkTextView    *text_view;
  GtkLabel       *empty_label;
  GtkLabel       *cut_label;
  GString        *answer;  /* as the model wrote it; the view shows it rendered */
  GtkToggleButton *better_button;
  GtkGrid        *score_grid;
  GtkLabel       *relevance_label;
  GtkLabel       *accuracy_label;
  GtkLabel       *style_label;
  GtkDropDown    *scores[TEMPER_N_ASPECTS];

  gboolean        quiet;   /* changes made by the page, not by the person */
};

G_DEFINE_FINAL_TYPE (TemperAnswerColumn, temper_answer_column, GTK_TYPE_BOX)

enum {
  SIGNAL_BETTER_TOGGLED,
  SIGNAL_SCORE_CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

/* The chosen answer stands out, in the accent colour. */
static void
show_better (TemperAnswerColumn *self)
{
  if (gtk_toggle_button_get_active (self->better_button))
    gtk_widget_add_css_class (GTK_WIDGET (self->better_button), "suggested-action");
  else
    gtk_widget_remove_css_class (GTK_WIDGET (self->better_button), "suggested-action");
}

static void
better_toggled_cb (TemperAnswerColumn *self)
{
  show_better (self);
  if (!self->quiet)
    g_signal_emit (self, signals[SIGNAL_BETTER_TOGGLED], 0);
}

static void
score_selected_cb (TemperAnswerColumn *self,
                   GParamSpec         *pspec,
                   GtkDropDown        *drop_down)
{
  if (self->quiet)
    return;
  for (int a = 0; a < TEMPER_N_ASPECTS; a++)
    if (self->scores[a] == drop_down)
      g_signal_emit (self, signals[SIGNAL_SCORE_CHANGED], 0, a,
                     (int) gtk_drop_down_get_selected (drop_down));
}

/* The names the dropdowns are read out with: "Relevance of Answer A". */
static void
update_accessible_labels (TemperAnswerColumn *self)
{
  GtkLabel *labels[TEMPER_N_ASPECTS] = { self->relevance_label, self->accuracy_label, self->style_label };
  const char *title = gtk_label_get_text (self->title_label);

  for (int a = 0; a < TEMPER_N_ASPECTS; a++)
    {
      /* Translators: a score's name for screen readers, e.g. "Relevance of Answer A" */
      g_autofree char *name = g_strdup_printf (_("%s of %s"), gtk_label_get_text (labels[a]), title);

      gtk_accessible_update_property (GTK_ACCESSIBLE (self->scores[a]),
                                      GTK_ACCESSIBLE_PROPERTY_LABEL, name, -1);
    }
  {
    /* Translators: for screen readers, e.g. "Answer A is the better answer" */
    g_autofree char *better = g_strdup_printf (_("%s is the better answer"), title);

    gtk_accessible_update_property (GTK_ACCESSIBLE (self->better_button),
                                    GTK_ACCESSIBLE_PROPERTY_LABEL, better, -1);
  }
}

static void
temper_answer_column_dispose (GObject *object)
{
  gtk_widget_dispose_template (GTK_WIDGET (object), TEMPER_TYPE_ANSWER_COLUMN);
  G_OBJECT_CLASS (temper_answer_column_parent_class)->dispose (object);
}

static void
temper_answer_column_finalize (GObject *object)
{
  g_string_free (TEMPER_ANSWER_COLUMN (object)->answer, TRUE);
  G_OBJECT_CLASS (temper_answer_column_parent_class)->finalize (object);
}

/* The whole answer again, rendered: a marker that streams in can close
 * one opened several pieces earlier. */
static void
render (TemperAnswerColumn *self)
{
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (self->text_view);
  g_autofree char *markup = temper_markdown_to_pango (self->answer->str);
  GtkTextIter start, end;

  gtk_text_buffer_get_bounds (buffer, &start, &end);
  gtk_text_buffer_delete (buffer, &start, &end);
  gtk_text_buffer_insert_markup (buffer, &start, markup, -1);
}

static void
temper_answer_column_class_init (TemperAnswerColumnClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = temper_answer_column_dispose;
  object_class->finalize = temper_answer_column_finalize;

  /* The person pressed or released "Better Answer". */
  signals[SIGNAL_BETTER_TOGGLED] =
    g_signal_new ("better-toggled", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  /* The person chose a score: (aspect, score 0–5). */
  signals[SIGNAL_SCORE_CHANGED] =
    g_signal_new ("score-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_INT, G_TYPE_INT);

  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/temper/Temper/temper-answer-column.ui");
  gtk_widget_class_bind_template_child (widget_class, TemperAnswerColumn, title_label);
  gtk_widget_class_bind_template_child (widget_class, TemperAnswerColumn, text_view);
  gtk_widget_class_bind_template_child (widget_class, TemperAnswerColumn, empty_label);
  gtk_widget_class_bind_template_child (widget_class, TemperAnswerColumn, cut_label);
  gtk_widget_class_bind_template_child (widget_class, TemperAnswerColumn, better_button);
  gtk_widget_class_bind_template_child (widget_class, TemperAnswerColumn, score_grid);
  gtk_widget_class_bind_template_child (widget_class, TemperAnswerColumn, relevance_label);
  gtk_widget_class_bind_template_child (widget_class, TemperAnswerColumn, accuracy_label);
  gtk_widget_class_bind_template_child (widget_class, TemperAnswerColumn, style_label);
  gtk_widget_class_bind_template_callback (widget_class, better_toggled_cb);
}

static void
temper_answer_column_init (TemperAnswerColumn *self)
{
  static const char *const names[TEMPER_N_ASPECTS] = { "relevance-score", "accuracy-score", "style-score" };

  self->answer = g_string_new (NULL);
  gtk_widget_init_template (GTK_WIDGET (self));

  for (int a = 0; a < TEMPER_N_ASPECTS; a++)
    {
      /* Translators: a score that was not given */
      const char *const choices[] = { _("Not rated"), "1", "2", "3", "4", "5", NULL };

      self->scores[a] = GTK_DROP_DOWN (gtk_drop_down_new_from_strings (choices));
      gtk_widget_set_name (GTK_WIDGET (self->scores[a]), names[a]);
      gtk_grid_attach (self->score_grid, GTK_WIDGET (self->scores[a]), 1, a, 1, 1);
      g_signal_connect_object (self->scores[a], "notify::selected",
                               G_CALLBACK (score_selected_cb), self, G_CONNECT_SWAPPED);
    }
  temper_answer_column_set_text (self, NULL);
  temper_answer_column_set_cut (self, 0);
  update_accessible_labels (self);
}

GtkWidget *
temper_answer_column_new (void)
{
  return g_object_new (TEMPER_TYPE_ANSWER_COLUMN, NULL);
}

void
temper_answer_column_set_title (TemperAnswerColumn *self,
                                const char         *title)
{
  g_return_if_fail (TEMPER_IS_ANSWER_COLUMN (self));

  gtk_label_set_text (self->title_label, title);
  update_accessible_labels (self);
}

const char *
temper_answer_column_get_title (TemperAnswerColumn *self)
{
  g_return_val_if_fail (TEMPER_IS_ANSWER_COLUMN (self), NULL);
  return gtk_label_get_text (self->title_label);
}

void
temper_answer_column_set_text (TemperAnswerColumn *self,
                               const char         *text)
{
  g_return_if_fail (TEMPER_IS_ANSWER_COLUMN (self));

  g_string_assign (self->answer, text != NULL ? text : "");
  render (self);
  gtk_widget_set_visible (GTK_WIDGET (self->empty_label), text == NULL);
}

void
temper_answer_column_append_text (TemperAnswerColumn *self,
                                  const char         *text,
                                  gsize               len)
{
  g_return_if_fail (TEMPER_IS_ANSWER_COLUMN (self));

  g_string_append_len (self->answer, text, (gssize) len);
  render (self);
  gtk_widget_set_visible (GTK_WIDGET (self->empty_label), FALSE);
}

char *
temper_answer_column_dup_text (TemperAnswerColumn *self)
{
  g_return_val_if_fail (TEMPER_IS_ANSWER_COLUMN (self), NULL);
  return g_strdup (self->answer->str);
}

char *
temper_answer_column_dup_shown_text (TemperAnswerColumn *self)
{
  GtkTextBuffer *buffer;
  GtkTextIter start, end;

  g_return_val_if_fail (TEMPER_IS_ANSWER_COLUMN (self), NULL);

  buffer = gtk_text_view_get_buffer (self->text_view);
  gtk_text_buffer_get_bounds (buffer, &start, &end);
  return gtk_text_buffer_get_text (buffer, &start, &end, FALSE);
}

void
temper_answer_column_set_cut (TemperAnswerColumn *self,
                              guint               n_tokens)
{
  g_return_if_fail (TEMPER_IS_ANSWER_COLUMN (self));

  if (n_tokens > 0)
    {
      /* Translators: under an answer that reached the Longest Answer limit */
      g_autofree char *text = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "Cut at %u token: the answer goes on",
                                                            "Cut at %u tokens: the answer goes on", n_tokens),
                                               n_tokens);

      gtk_label_set_text (self->cut_label, text);
    }
  /* The note keeps its line when hidden, so that side by side a cut answer's
   * buttons stay level with those of an answer that ended by itself. */
  gtk_widget_set_child_visible (GTK_WIDGET (self->cut_label), n_tokens > 0);
}

gboolean
temper_answer_column_get_cut_shown (TemperAnswerColumn *self)
{
  g_return_val_if_fail (TEMPER_IS_ANSWER_COLUMN (self), FALSE);
  return gtk_widget_get_child_visible (GTK_WIDGET (self->cut_label));
}

void
temper_answer_column_set_better (TemperAnswerColumn *self,
                                 gboolean            better)
{
  g_return_if_fail (TEMPER_IS_ANSWER_COLUMN (self));

  self->quiet = TRUE;
  gtk_toggle_button_set_active (self->better_button, better);
  self->quiet = FALSE;
}

gboolean
temper_answer_column_get_better (TemperAnswerColumn *self)
{
  g_return_val_if_fail (TEMPER_IS_ANSWER_COLUMN (self), FALSE);
  return gtk_toggle_button_get_active (self->better_button);
}

void
temper_answer_column_set_score (TemperAnswerColumn *self,
                                TemperAspect        aspect,
                                int                 score)
{
  g_return_if_fail (TEMPER_IS_ANSWER_COLUMN (self));
  g_return_if_fail (aspect < TEMPER_N_ASPECTS);
  g_return_if_fail (score >= 0 && score <= 5);

  self->quiet = TRUE;
  gtk_drop_down_set_selected (self->scores[aspect], (guint) score);
  self->quiet = FALSE;
}

int
temper_answer_column_get_score (TemperAnswerColumn *self,
                                TemperAspect        aspect)
{
  g_return_val_if_fail (TEMPER_IS_ANSWER_COLUMN (self), 0);
  g_return_val_if_fail (aspect < TEMPER_N_ASPECTS, 0);
  return (int) gtk_drop_down_get_selected (self->scores[aspect]);
}

void
temper_answer_column_set_judgeable (TemperAnswerColumn *self,
                                    gboolean            judgeable)
{
  g_return_if_fail (TEMPER_IS_ANSWER_COLUMN (self));

  gtk_widget_set_sensitive (GTK_WIDGET (self->better_button), judgeable);
  gtk_widget_set_sensitive (GTK_WIDGET (self->score_grid), judgeable);
}
