/* SPDX-License-Identifier: MIT */
/* test-answer-column.c — one answer on the Compare page: Markdown shown
 * rendered (the same while it streams in as when it is whole), the model's
 * own text kept for the ratings, and "cut at N tokens" under an answer the
 * length limit stopped.  What is bold is read from the text view's own
 * tags, not from the converter. */
#include "config.h"

#include "gui-test-util.h"
#include "temper-answer-column.h"

/* Whether the character at @offset of @view's text is drawn bold. */
static gboolean
bold_at (GtkTextView *view,
         int          offset)
{
  GtkTextIter at;
  g_autoptr(GSList) tags = NULL;
  gboolean bold = FALSE;

  gtk_text_buffer_get_iter_at_offset (gtk_text_view_get_buffer (view), &at, offset);
  tags = gtk_text_iter_get_tags (&at);
  for (GSList *l = tags; l != NULL; l = l->next)
    {
      int weight = 0;
      gboolean set = FALSE;

      g_object_get (l->data, "weight", &weight, "weight-set", &set, NULL);
      bold |= set && weight >= PANGO_WEIGHT_BOLD;
    }
  return bold;
}

/* An answer column shows Markdown rendered, the same while it streams
 * in as when it is whole, and keeps the model's own text for the ratings. */
static void
test_markdown_column (void)
{
  GtkWidget *window = gtk_window_new ();
  TemperAnswerColumn *column = TEMPER_ANSWER_COLUMN (temper_answer_column_new ());
  GtkTextView *view;
  const char *answer = "The **capital** is *Paris* <b>&amp;</b>\n- one";
  g_autofree char *raw = NULL;
  g_autofree char *shown = NULL;
  g_autofree char *streamed = NULL;

  gtk_window_set_child (GTK_WINDOW (window), GTK_WIDGET (column));
  gtk_window_present (GTK_WINDOW (window));
  view = GTK_TEXT_VIEW (gui_test_find_named (GTK_WIDGET (column), "answer-text"));

  temper_answer_column_set_text (column, answer);
  raw = temper_answer_column_dup_text (column);
  shown = temper_answer_column_dup_shown_text (column);
  g_assert_cmpstr (raw, ==, answer);
  g_assert_cmpstr (shown, ==, "The capital is Paris <b>&amp;</b>\n• one");
  g_assert_true (bold_at (view, 5));     /* "capital" */
  g_assert_false (bold_at (view, 0));    /* "The" */
  g_assert_false (bold_at (view, 21));   /* the literal "<b>" */

  /* Streamed: "**" opens in one piece and closes in a later one. */
  temper_answer_column_set_text (column, NULL);
  temper_answer_column_append_text (column, "A **bo", 6);
  temper_answer_column_append_text (column, "ld** end", 8);
  streamed = temper_answer_column_dup_shown_text (column);
  g_assert_cmpstr (streamed, ==, "A bold end");
  g_assert_true (bold_at (view, 2));

  /* Cut by the length limit, and not. */
  temper_answer_column_set_cut (column, 3);
  g_assert_true (temper_answer_column_get_cut_shown (column));
  g_assert_cmpstr (gtk_label_get_text (GTK_LABEL (gui_test_find_named (GTK_WIDGET (column), "answer-cut"))),
                   ==, "Cut at 3 tokens: the answer goes on");
  temper_answer_column_set_cut (column, 0);
  g_assert_false (temper_answer_column_get_cut_shown (column));
  gtk_window_destroy (GTK_WINDOW (window));
  gui_test_settle (50);
}

static int
natural_height (GtkWidget *widget, int width)
{
  int natural = 0;

  gtk_widget_measure (widget, GTK_ORIENTATION_VERTICAL, width, NULL, &natural, NULL, NULL);
  return natural;
}

/* Side by side, one answer cut and the other not: the note under the cut
 * one must not push its buttons below the other column's (they were 20
 * pixels apart on the Compare page). */
static void
test_cut_keeps_height (void)
{
  GtkWidget *window = gtk_window_new ();
  TemperAnswerColumn *column = TEMPER_ANSWER_COLUMN (temper_answer_column_new ());
  int uncut, cut;

  gtk_window_set_child (GTK_WINDOW (window), GTK_WIDGET (column));
  gtk_window_present (GTK_WINDOW (window));
  gui_test_settle (100);
  temper_answer_column_set_text (column, "Press the reset button.");
  temper_answer_column_set_cut (column, 0);
  uncut = natural_height (GTK_WIDGET (column), 300);
  temper_answer_column_set_cut (column, 20);
  g_assert_true (temper_answer_column_get_cut_shown (column));
  cut = natural_height (GTK_WIDGET (column), 300);
  g_assert_cmpint (cut, ==, uncut);
  temper_answer_column_set_cut (column, 0);
  g_assert_false (temper_answer_column_get_cut_shown (column));
  g_assert_cmpint (natural_height (GTK_WIDGET (column), 300), ==, uncut);
  gtk_window_destroy (GTK_WINDOW (window));
  gui_test_settle (50);
}

int
main (int   argc,
      char *argv[])
{
  gui_test_init (&argc, &argv);
  g_test_add_func ("/answer-column/markdown-and-cut", test_markdown_column);
  g_test_add_func ("/answer-column/cut-keeps-height", test_cut_keeps_height);
  return g_test_run ();
}
