/* SPDX-License-Identifier: MIT */
/* test-dataset-summary.c — the Dataset page's summary says what the run
 * trains and checks on.  "Length in tokens" describes the records the run
 * is given (after drops, with other datasets mixed in), held against the
 * engine's own report of the very file the page hands the run; with a
 * check file the split row and the Settings page's validation share say
 * that nothing is held back, as the run does (temper-train.c).  The three
 * files the page takes are chosen with the same chooser. */
#include "config.h"

#include <string.h>

#include <glib/gstdio.h>

#include "temper/dataset.h"
#include "temper/train.h"
#include "gui-test-util.h"
#include "temper-dataset-mix.h"
#include "temper-dataset-page.h"
#include "temper-fit-estimate.h"
#include "temper-length-histogram.h"
#include "temper-loaded-model.h"
#include "temper-model-page.h"
#include "temper-settings.h"
#include "temper-settings-fields.h"
#include "temper-settings-page.h"
#include "temper-window.h"
#include "../test-tree.h"

#define CHECK_NOTE "Not used: progress is checked on your check file, and every example is learned from."

static gboolean
mix_read (gpointer data)
{
  return !temper_dataset_mix_is_busy (data);
}

static TemperLoadedModel *
load_tiny_model (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = g_build_filename (g_getenv ("TEMPER_SOURCE_DIR"), "tests", "fixtures", "train",
                                            "tiny-llama", NULL);
  TemperLoadedModel *model = temper_loaded_model_load (path, NULL, &error);

  g_assert_no_error (error);
  return model;
}

/* A question and an answer of @words words, as one JSONL line. */
static char *
record_line (const char *question, guint words, gboolean markup)
{
  g_autoptr(GString) answer = g_string_new (markup ? "<b>Yes</b>" : "Yes");

  for (guint w = 0; w < words; w++)
    g_string_append_printf (answer, " word%u", w % 7);
  return g_strdup_printf ("{\"prompt\": \"%s\", \"response\": \"%s.\"}\n", question, answer->str);
}

/* The reference: the engine's report of the file the page hands the run,
 * read with the model's template at the length the page counts with,
 * written as the line says it. */
/* The engine's reading of @path with @model's template (returned in
 * @tmpl, which the dataset uses) at @max_length, as the run reads it. */
static temper_dataset_t *
engine_read (const char *path, TemperLoadedModel *model, int max_length, temper_chat_template_t **tmpl)
{
  const temper_model_t *m = temper_loaded_model_get_model (model);
  g_autoptr(GError) error = NULL;
  TemperDatasetOptions options;
  temper_dataset_t *ds;

  g_assert_nonnull (path);
  *tmpl = temper_chat_template_new (temper_model_get_chat_template (m), temper_model_get_tokenizer (m));
  temper_dataset_options_init (&options);
  options.chat_template = *tmpl;
  options.max_length = max_length;
  ds = temper_dataset_load (path, &options, &error);
  g_assert_no_error (error);
  return ds;
}

static char *
run_file_lengths_at (GtkWidget *page, TemperLoadedModel *model, int max_length, guint *n_records)
{
  g_autoptr(temper_chat_template_t) tmpl = NULL;
  g_autoptr(temper_dataset_t) ds = engine_read (temper_dataset_page_get_path (TEMPER_DATASET_PAGE (page)), model,
                                                max_length, &tmpl);
  const TemperDatasetReport *report;

  report = temper_dataset_get_report (ds);
  g_assert_true (report->has_token_stats);
  *n_records = (guint) report->n_valid;
  if (report->n_truncated > 0)
    return g_strdup_printf ("%d to %d, %.0f on average; %llu cut short at %d", report->token_min,
                            report->token_max, report->token_mean, (unsigned long long) report->n_truncated,
                            max_length);
  return g_strdup_printf ("%d to %d, %.0f on average", report->token_min, report->token_max, report->token_mean);
}

static char *
run_file_lengths (GtkWidget *page, TemperLoadedModel *model, guint *n_records)
{
  return run_file_lengths_at (page, model, TEMPER_FIT_SEQ_LEN, n_records);
}

static const char *
tokens_text (GtkWidget *page)
{
  return gtk_label_get_text (GTK_LABEL (gui_test_find_named (page, "dataset-tokens")));
}

static const char *
tokens_subtitle (GtkWidget *page)
{
  return adw_action_row_get_subtitle (ADW_ACTION_ROW (gui_test_find_named (page, "dataset-tokens-row")));
}

/* Examples the histogram draws. */
static guint
histogram_count (GtkWidget *page)
{
  TemperLengthHistogram *histogram = TEMPER_LENGTH_HISTOGRAM (gui_test_find_named (page, "dataset-histogram"));
  guint n = 0;

  for (guint b = 0; b < temper_length_histogram_get_n_bins (histogram); b++)
    n += temper_length_histogram_get_bin (histogram, b, NULL, NULL);
  return n;
}

static void
assert_line_is_run_file (GtkWidget *page, TemperLoadedModel *model)
{
  guint n_records = 0;
  g_autofree char *expected = run_file_lengths (page, model, &n_records);

  g_assert_cmpstr (tokens_text (page), ==, expected);
  g_assert_cmpuint (histogram_count (page), ==, n_records);
}

/* A dropped record, then a dataset of long answers mixed in: the line and
 * the histogram follow what the run is given; without the mix it is the
 * file's own again. */
static void
test_lengths_follow_training (void)
{
  g_autoptr(TemperLoadedModel) model = load_tiny_model ();
  g_autofree char *tmp = g_dir_make_tmp ("temper-summary-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (tmp, "short.jsonl", NULL);
  g_autofree char *long_path = g_build_filename (tmp, "long.jsonl", NULL);
  g_autofree char *file_text = NULL, *after_drop = NULL;
  g_autoptr(GString) text = g_string_new (NULL);
  g_autoptr(GString) long_text = g_string_new (NULL);
  GtkWidget *window, *page;
  GtkWidget *list, *drop = NULL;
  TemperDatasetMix *mix;

  /* Short answers, and on line 13 the file's longest, with markup: a
   * finding to drop. */
  for (guint i = 0; i < 12; i++)
    {
      g_autofree char *question = g_strdup_printf ("What is fact number %u?", i);
      g_autofree char *line = record_line (question, 2 + i % 4, FALSE);

      g_string_append (text, line);
    }
  {
    g_autofree char *line = record_line ("What is the long fact?", 60, TRUE);

    g_string_append (text, line);
  }
  /* Answers from 100 to 1,000 words: longer than any above, and the
   * longest past the training length. */
  for (guint i = 0; i < 10; i++)
    {
      g_autofree char *question = g_strdup_printf ("Tell me story number %u.", i);
      g_autofree char *line = record_line (question, 100 * (i + 1), FALSE);

      g_string_append (long_text, line);
    }
  g_assert_true (g_file_set_contents (path, text->str, -1, NULL));
  g_assert_true (g_file_set_contents (long_path, long_text->str, -1, NULL));

  page = gui_test_present_dataset_page (model, 800, 900, &window);
  gui_test_open_dataset (page, path);
  g_assert_cmpstr (temper_dataset_page_get_path (TEMPER_DATASET_PAGE (page)), ==, path);
  assert_line_is_run_file (page, model);
  g_assert_cmpstr (tokens_subtitle (page), ==, "");
  file_text = g_strdup (tokens_text (page));

  /* Dropped: the cleaned copy's lengths, without the longest. */
  list = gui_test_find_named (page, "findings-list");
  for (GtkWidget *row = gtk_widget_get_first_child (list); row != NULL; row = gtk_widget_get_next_sibling (row))
    if (GPOINTER_TO_SIZE (g_object_get_data (G_OBJECT (row), "record")) == 12 &&
        g_object_get_data (G_OBJECT (row), "drop-button") != NULL)
      drop = g_object_get_data (G_OBJECT (row), "drop-button");
  g_assert_nonnull (drop);
  g_signal_emit_by_name (drop, "clicked");
  g_assert_true (gui_test_wait_for (gui_test_dataset_idle, page, 60000));
  g_assert_cmpstr (temper_dataset_page_get_path (TEMPER_DATASET_PAGE (page)), !=, path);
  assert_line_is_run_file (page, model);
  g_assert_cmpstr (tokens_text (page), !=, file_text);
  g_assert_cmpstr (tokens_subtitle (page), ==, "Of the examples left after what you dropped");
  after_drop = g_strdup (tokens_text (page));

  /* Mixed in: the mixed file's lengths. */
  mix = TEMPER_DATASET_MIX (gui_test_find_named (page, "mix-group"));
  temper_dataset_mix_add (mix, long_path);
  g_assert_true (gui_test_wait_for (mix_read, mix, 60000));
  g_assert_true (gui_test_wait_for (gui_test_dataset_idle, page, 60000));
  temper_dataset_mix_set_share (mix, 0, 50);
  temper_dataset_mix_set_share (mix, 1, 50);
  g_assert_true (gui_test_wait_for (gui_test_dataset_idle, page, 60000));
  assert_line_is_run_file (page, model);
  g_assert_nonnull (strstr (tokens_text (page), "cut short at 512"));
  g_assert_cmpstr (tokens_subtitle (page), ==, "Of what the run trains on: your examples with the mixed-in data");

  /* Out of the mix again: the cleaned copy, as before. */
  g_signal_emit_by_name (gui_test_find_named (GTK_WIDGET (mix), "mix-remove"), "clicked");
  g_assert_true (gui_test_wait_for (gui_test_dataset_idle, page, 60000));
  g_assert_cmpstr (tokens_text (page), ==, after_drop);
  assert_line_is_run_file (page, model);

  gtk_window_destroy (GTK_WINDOW (window));
  gui_test_settle (50);
  test_remove_tree (tmp);
}

static const char *
split_subtitle (GtkWidget *page)
{
  return adw_action_row_get_subtitle (ADW_ACTION_ROW (gui_test_find_named (page, "dataset-split-row")));
}

/* With a check file the run splits nothing: the split row says so, and the
 * Settings page shows the validation share as not used, unchangeable. */
static void
test_check_file_split (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TemperSettings) settings = temper_settings_new (&error);
  g_autofree char *tmp = g_dir_make_tmp ("temper-summary-check-XXXXXX", NULL);
  g_autofree char *data = gui_test_write_capitals (tmp, "capitals.jsonl");
  g_autofree char *check = g_build_filename (tmp, "check.jsonl", NULL);
  g_autofree char *usual = NULL, *usual_note = NULL;
  TemperWindow *window;
  GtkWidget *dataset, *settings_page, *share;

  g_assert_no_error (error);
  g_assert_true (g_file_set_contents (check, "{\"prompt\": \"What is the capital of Chile?\", "
                                      "\"response\": \"Santiago.\"}\n", -1, NULL));
  temper_settings_set_seen_welcome (settings, TRUE);
  window = temper_window_new (NULL, settings);
  gtk_window_present (GTK_WINDOW (window));
  dataset = temper_window_get_page (window, "dataset");
  settings_page = temper_window_get_page (window, "settings");
  share = gui_test_find_named (settings_page, "val-fraction");
  g_assert_nonnull (share);

  gui_test_open_dataset (dataset, data);
  usual = g_strdup (split_subtitle (dataset));
  g_assert_nonnull (strstr (usual, "held back"));
  usual_note = g_strdup (temper_settings_page_get_field_note (TEMPER_SETTINGS_PAGE (settings_page), "val-fraction"));
  g_assert_cmpstr (usual_note, !=, CHECK_NOTE);
  g_assert_true (gtk_widget_get_sensitive (share));

  temper_dataset_page_set_check_file (TEMPER_DATASET_PAGE (dataset), check);
  g_assert_true (gui_test_wait_for (gui_test_dataset_idle, dataset, 60000));
  g_assert_cmpstr (split_subtitle (dataset), ==,
                   "Your check file is used to check progress, so no examples are held back from this file: "
                   "the run learns from all of them.");
  g_assert_cmpstr (temper_settings_page_get_field_note (TEMPER_SETTINGS_PAGE (settings_page), "val-fraction"), ==,
                   CHECK_NOTE);
  g_assert_false (gtk_widget_get_sensitive (share));
  /* The field table says which fields a check file leaves unused (the
   * share alone); every other field stays as it was. */
  for (guint i = 0; i < TEMPER_SETTINGS_N_FIELDS; i++)
    {
      const TemperSettingsField *field = &temper_settings_fields[i];
      GtkWidget *w = gui_test_find_named (settings_page, field->name);
      const char *note = temper_settings_page_get_field_note (TEMPER_SETTINGS_PAGE (settings_page), field->name);

      g_assert_nonnull (w);
      g_assert_cmpint (field->unused_with_check_file, ==, g_str_equal (field->name, "val-fraction"));
      if (field->kind == TEMPER_FIELD_BASE_WEIGHTS)
        continue;   /* sensitive by what the model allows */
      g_assert_cmpint (gtk_widget_get_sensitive (w), ==, !field->unused_with_check_file);
      g_assert_cmpint (g_strcmp0 (note, CHECK_NOTE) == 0, ==, field->unused_with_check_file);
    }

  /* Back to records held back: the usual words, and the share is used. */
  gtk_widget_activate_action (dataset, "page.forget-check-file", NULL);
  g_assert_true (gui_test_wait_for (gui_test_dataset_idle, dataset, 60000));
  g_assert_cmpstr (split_subtitle (dataset), ==, usual);
  g_assert_cmpstr (temper_settings_page_get_field_note (TEMPER_SETTINGS_PAGE (settings_page), "val-fraction"), ==,
                   usual_note);
  g_assert_true (gtk_widget_get_sensitive (share));

  gtk_window_destroy (GTK_WINDOW (window));
  gui_test_settle (50);
  test_remove_tree (tmp);
}

/* A file of @n records, question i answered "Answer i." */
static char *
write_records (const char *folder, const char *name, guint n)
{
  g_autoptr(GString) text = g_string_new (NULL);
  char *path = g_build_filename (folder, name, NULL);

  for (guint i = 0; i < n; i++)
    g_string_append_printf (text, "{\"prompt\": \"What is number %u?\", \"response\": \"Answer %u.\"}\n", i, i);
  g_assert_true (g_file_set_contents (path, text->str, -1, NULL));
  return path;
}

static const char *
split_text (GtkWidget *page)
{
  return gtk_label_get_text (GTK_LABEL (gui_test_find_named (page, "dataset-split")));
}

/* A check file longer than the run checks on: the line says on how many of
 * its records (the engine's sample), not that all of them are used; a
 * short one is checked on whole. */
static void
test_check_file_sampled (void)
{
  g_autofree char *tmp = g_dir_make_tmp ("temper-summary-sampled-XXXXXX", NULL);
  g_autofree char *data = gui_test_write_capitals (tmp, "capitals.jsonl");
  guint n_long = TEMPER_TRAIN_MAX_VALIDATION_RECORDS + 50;
  g_autofree char *long_check = write_records (tmp, "long-check.jsonl", n_long);
  g_autofree char *short_check = write_records (tmp, "short-check.jsonl", 7);
  g_autofree char *expected = NULL;
  GtkWidget *window, *page;
  guint n_train;
  double mean_tokens;

  page = gui_test_present_dataset_page (NULL, 0, 0, &window);
  gui_test_open_dataset (page, data);
  g_assert_true (temper_dataset_page_get_size (TEMPER_DATASET_PAGE (page), &n_train, &mean_tokens));

  temper_dataset_page_set_check_file (TEMPER_DATASET_PAGE (page), long_check);
  g_assert_true (gui_test_wait_for (gui_test_dataset_idle, page, 60000));
  expected = g_strdup_printf ("All %u to learn from; checked on %u of the %u records in your check file", n_train,
                              TEMPER_TRAIN_MAX_VALIDATION_RECORDS, n_long);
  g_assert_cmpstr (split_text (page), ==, expected);

  temper_dataset_page_set_check_file (TEMPER_DATASET_PAGE (page), short_check);
  g_assert_true (gui_test_wait_for (gui_test_dataset_idle, page, 60000));
  g_free (expected);
  expected = g_strdup_printf ("All %u to learn from; 7 in your check file", n_train);
  g_assert_cmpstr (split_text (page), ==, expected);

  gtk_window_destroy (GTK_WINDOW (window));
  gui_test_settle (50);
  test_remove_tree (tmp);
}

static const char *
check_subtitle (GtkWidget *page)
{
  return adw_action_row_get_subtitle (ADW_ACTION_ROW (gui_test_find_named (page, "check-row")));
}

static void
assert_split (GtkWidget *page, const char *value, const char *subtitle_start)
{
  g_assert_cmpstr (gtk_label_get_text (GTK_LABEL (gui_test_find_named (page, "dataset-split"))), ==, value);
  g_assert_true (g_str_has_prefix (adw_action_row_get_subtitle (ADW_ACTION_ROW (gui_test_find_named (
                                     page, "dataset-split-row"))), subtitle_start));
}

#define HELD_BACK_SMALL "None: a small dataset needs every example to learn from. From 200 records, a tenth is " \
                        "kept aside and never learned from."
#define HELD_BACK_NONE  "None: the validation share is 0, so every example is learned from and progress is not " \
                        "checked."

/* The row about records held back, and the split row's line and subtitle,
 * describe the share the Settings page sets: automatic, a share of the
 * examples, or none — and when none is held back, both give the same
 * reason: too few records for the automatic settings to hold any back
 * (8; also when the window hands the automatic share on as 0), or a
 * share set to hold back none (250).  The split row's subtitle never says
 * examples are held back when none is. */
static void
test_held_back_share (void)
{
  g_autofree char *tmp = g_dir_make_tmp ("temper-summary-share-XXXXXX", NULL);
  g_autofree char *data = gui_test_write_capitals (tmp, "capitals.jsonl");
  GtkWidget *window, *page;
  GtkWidget *row;

  page = gui_test_present_dataset_page (NULL, 0, 0, &window);
  gui_test_open_dataset (page, data);
  row = gui_test_find_named (page, "check-row");
  g_assert_cmpstr (check_subtitle (page), ==, HELD_BACK_SMALL);
  g_assert_cmpstr (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (row)), ==,
                   "Records held back from this file (automatic)");
  assert_split (page, "All 8 to learn from; none held back under 200", "A small dataset needs every example");

  temper_dataset_page_set_split (TEMPER_DATASET_PAGE (page), 7, 0.05);
  g_assert_cmpstr (check_subtitle (page), ==, "5 % of your examples are kept aside and never learned from.");
  g_assert_cmpstr (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (row)), ==, "Records held back from this file");
  temper_dataset_page_set_split (TEMPER_DATASET_PAGE (page), 7, 0.125);
  g_assert_cmpstr (check_subtitle (page), ==, "12.5 % of your examples are kept aside and never learned from.");
  assert_split (page, "7 to learn from, 1 to check with", "Validation examples are held back");

  /* The window hands the automatic share on as a number: 0 with 8
   * records is what the automatic settings choose, and both rows read
   * as such. */
  temper_dataset_page_set_split (TEMPER_DATASET_PAGE (page), 7, 0.0);
  g_assert_cmpstr (check_subtitle (page), ==, HELD_BACK_SMALL);
  g_assert_cmpstr (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (row)), ==, "Records held back from this file");
  assert_split (page, "All 8 to learn from; none held back under 200", "A small dataset needs every example");

  temper_dataset_page_set_split (TEMPER_DATASET_PAGE (page), 7, -1);
  g_assert_cmpstr (check_subtitle (page), ==, HELD_BACK_SMALL);

  /* 250 records: the automatic share holds some back, a share of 0 none;
   * the row follows the records opened, not only the share. */
  g_free (data);
  data = write_records (tmp, "many.jsonl", 250);
  gui_test_open_dataset (page, data);
  g_assert_cmpstr (check_subtitle (page), ==, "From 200 records, a tenth is kept aside and never learned from.");
  g_assert_cmpstr (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (row)), ==,
                   "Records held back from this file (automatic)");
  temper_dataset_page_set_split (TEMPER_DATASET_PAGE (page), 7, 0.0);
  g_assert_cmpstr (check_subtitle (page), ==, HELD_BACK_NONE);
  assert_split (page, "All 250 to learn from; none held back",
                "The validation share set in Settings holds back no example");

  gtk_window_destroy (GTK_WINDOW (window));
  gui_test_settle (50);
  test_remove_tree (tmp);
}

static gboolean
model_settled (gpointer data)
{
  return !temper_model_page_is_busy (data) && temper_model_page_get_model (data) != NULL;
}

static guint
histogram_limit (GtkWidget *page)
{
  return temper_length_histogram_get_limit (TEMPER_LENGTH_HISTOGRAM (gui_test_find_named (page,
                                                                                         "dataset-histogram")));
}

/* The histogram's cut-off and the line's "cut short" count are at the max
 * length the run will use: the Settings page's, chosen for the data or
 * set by the person, followed when it changes. */
static void
test_cut_follows_max_length (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TemperSettings) settings = temper_settings_new (&error);
  g_autofree char *model_path = g_build_filename (g_getenv ("TEMPER_SOURCE_DIR"), "tests", "fixtures", "train",
                                                  "tiny-llama", NULL);
  g_autofree char *tmp = g_dir_make_tmp ("temper-summary-cut-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (tmp, "stories.jsonl", NULL);
  g_autofree char *expected = NULL;
  g_autoptr(GString) text = g_string_new (NULL);
  TemperTrainSettings run;
  TemperWindow *window;
  GtkWidget *dataset, *settings_page, *model_page;
  TemperLoadedModel *model;
  guint n_records;

  g_assert_no_error (error);
  /* Answers from 10 to 400 words. */
  for (guint i = 0; i < 40; i++)
    {
      g_autofree char *question = g_strdup_printf ("Tell me story number %u.", i);
      g_autofree char *line = record_line (question, 10 * (i + 1), FALSE);

      g_string_append (text, line);
    }
  g_assert_true (g_file_set_contents (path, text->str, -1, NULL));
  temper_settings_set_seen_welcome (settings, TRUE);
  window = temper_window_new (NULL, settings);
  gtk_window_present (GTK_WINDOW (window));
  settings_page = temper_window_get_page (window, "settings");
  temper_settings_page_set_measure_speed (TEMPER_SETTINGS_PAGE (settings_page), FALSE);
  model_page = temper_window_get_page (window, "model");
  temper_model_page_choose (TEMPER_MODEL_PAGE (model_page), model_path);
  g_assert_true (gui_test_wait_for (model_settled, model_page, 60000));
  model = temper_model_page_get_model (TEMPER_MODEL_PAGE (model_page));
  dataset = temper_window_get_page (window, "dataset");
  g_assert_true (temper_window_show_step (window, "dataset"));
  gui_test_open_dataset (dataset, path);

  /* As chosen for the data. */
  temper_settings_page_get_train_settings (TEMPER_SETTINGS_PAGE (settings_page), &run);
  g_assert_cmpuint (histogram_limit (dataset), ==, run.max_length);
  expected = run_file_lengths_at (dataset, model, run.max_length, &n_records);
  g_assert_cmpstr (tokens_text (dataset), ==, expected);

  /* Set shorter than most: the marker moves, and as many are cut short as
   * the engine cuts. */
  g_assert_true (temper_window_show_step (window, "settings"));
  gui_test_set_spin (settings_page, "max-length", 128);
  g_assert_true (temper_window_show_step (window, "dataset"));
  g_assert_cmpuint (histogram_limit (dataset), ==, 128);
  g_free (expected);
  expected = run_file_lengths_at (dataset, model, 128, &n_records);
  g_assert_nonnull (strstr (expected, "cut short at 128"));
  g_assert_cmpstr (tokens_text (dataset), ==, expected);
  g_assert_cmpuint (histogram_count (dataset), ==, n_records);

  /* Longer than any: nothing cut. */
  g_assert_true (temper_window_show_step (window, "settings"));
  gui_test_set_spin (settings_page, "max-length", 4096);
  g_assert_true (temper_window_show_step (window, "dataset"));
  g_assert_cmpuint (histogram_limit (dataset), ==, 4096);
  g_free (expected);
  expected = run_file_lengths_at (dataset, model, 4096, &n_records);
  g_assert_null (strstr (expected, "cut short"));
  g_assert_cmpstr (tokens_text (dataset), ==, expected);

  gtk_window_destroy (GTK_WINDOW (window));
  gui_test_settle (50);
  test_remove_tree (tmp);
}

/* Subtitles of the Problems list's rows: what is wrong, in order. */
static GPtrArray *
problem_messages (GtkWidget *page)
{
  GtkWidget *list = gui_test_find_named (page, "problems-list");
  GPtrArray *messages = g_ptr_array_new_with_free_func (g_free);

  for (GtkWidget *row = gtk_widget_get_first_child (list); row != NULL; row = gtk_widget_get_next_sibling (row))
    if (ADW_IS_ACTION_ROW (row))
      g_ptr_array_add (messages, g_strdup (adw_action_row_get_subtitle (ADW_ACTION_ROW (row))));
  return messages;
}

/* The reference: the problems the engine reports in the file read with
 * the model's template at @max_length. */
static GPtrArray *
engine_problems_at (const char *path, TemperLoadedModel *model, int max_length)
{
  g_autoptr(temper_chat_template_t) tmpl = NULL;
  g_autoptr(temper_dataset_t) ds = engine_read (path, model, max_length, &tmpl);
  const TemperDatasetReport *report = temper_dataset_get_report (ds);
  GPtrArray *messages = g_ptr_array_new_with_free_func (g_free);

  g_assert_cmpuint (report->n_listed, ==, report->n_problems);
  for (guint i = 0; i < report->n_listed; i++)
    g_ptr_array_add (messages, g_strdup (report->problems[i].message));
  return messages;
}

static gboolean
problems_shown (GtkWidget *page)
{
  return gtk_widget_get_visible (gtk_widget_get_ancestor (gui_test_find_named (page, "problems-list"),
                                                          ADW_TYPE_PREFERENCES_GROUP));
}

static void
assert_same_messages (GPtrArray *shown, GPtrArray *expected)
{
  g_assert_cmpuint (shown->len, ==, expected->len);
  for (guint i = 0; i < shown->len; i++)
    g_assert_cmpstr (shown->pdata[i], ==, expected->pdata[i]);
}

/* The Problems list is the run's at the max length it will use: an answer
 * that starts past it is listed (and one that starts before it is not),
 * as the engine reports the file at that length.  The facts handed to the
 * Settings page, from which it chooses the max length, do not move with
 * it. */
static void
test_problems_follow_max_length (void)
{
  g_autofree char *tmp = g_dir_make_tmp ("temper-summary-problems-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (tmp, "questions.jsonl", NULL);
  g_autoptr(TemperLoadedModel) model = load_tiny_model ();
  g_autoptr(GString) text = g_string_new (NULL);
  g_autoptr(GPtrArray) shown = NULL;
  g_autoptr(GPtrArray) expected = NULL;
  GtkWidget *window, *page;
  TemperTrainFacts facts = { 0 }, facts_after = { 0 };

  /* Questions from 3 to 84 words, each with a short answer. */
  for (guint i = 0; i < 28; i++)
    {
      g_autoptr(GString) question = g_string_new ("Tell me");

      for (guint w = 0; w < 3 * (i + 1); w++)
        g_string_append_printf (question, " about%u", w % 5);
      g_string_append_printf (text, "{\"prompt\": \"%s?\", \"response\": \"Answer %u.\"}\n", question->str, i);
    }
  g_assert_true (g_file_set_contents (path, text->str, -1, NULL));

  page = gui_test_present_dataset_page (model, 0, 0, &window);
  gui_test_open_dataset (page, path);
  /* At the length it is checked at, no answer starts past it. */
  shown = problem_messages (page);
  g_assert_cmpuint (shown->len, ==, 0);
  g_assert_true (temper_dataset_page_get_facts (TEMPER_DATASET_PAGE (page), &facts));

  /* Shorter: the answers after long questions are past it. */
  temper_dataset_page_set_max_length (TEMPER_DATASET_PAGE (page), 128);
  g_assert_true (gui_test_wait_for (gui_test_dataset_idle, page, 60000));
  g_ptr_array_unref (shown);
  shown = problem_messages (page);
  expected = engine_problems_at (path, model, 128);
  g_assert_cmpuint (expected->len, >, 0);
  g_assert_nonnull (strstr (expected->pdata[0], "after the first 128 tokens"));
  assert_same_messages (shown, expected);
  g_assert_true (problems_shown (page));
  g_assert_true (temper_dataset_page_get_facts (TEMPER_DATASET_PAGE (page), &facts_after));
  g_assert_cmpuint (facts_after.n_records, ==, facts.n_records);
  g_assert_cmpuint (facts_after.token_max, ==, facts.token_max);
  g_assert_cmpuint (facts_after.token_p95, ==, facts.token_p95);
  g_assert_cmpuint (facts_after.tokens_total, ==, facts.tokens_total);

  /* Shorter still: more of them. */
  temper_dataset_page_set_max_length (TEMPER_DATASET_PAGE (page), 64);
  g_assert_true (gui_test_wait_for (gui_test_dataset_idle, page, 60000));
  g_ptr_array_unref (shown);
  g_ptr_array_unref (expected);
  shown = problem_messages (page);
  expected = engine_problems_at (path, model, 64);
  assert_same_messages (shown, expected);

  /* Longer than any: none. */
  temper_dataset_page_set_max_length (TEMPER_DATASET_PAGE (page), 4096);
  g_assert_true (gui_test_wait_for (gui_test_dataset_idle, page, 60000));
  g_ptr_array_unref (shown);
  shown = problem_messages (page);
  g_assert_cmpuint (shown->len, ==, 0);
  g_assert_false (problems_shown (page));

  gtk_window_destroy (GTK_WINDOW (window));
  gui_test_settle (50);
  test_remove_tree (tmp);
}

/* The file choosers open now (dialogs of their own under Xvfb), newest
 * last. */
static GPtrArray *
open_choosers (void)
{
  GListModel *toplevels = gtk_window_get_toplevels ();
  GPtrArray *choosers = g_ptr_array_new ();

  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      g_autoptr(GObject) window = g_list_model_get_item (toplevels, i);

      if (GTK_IS_FILE_CHOOSER (window) && gtk_widget_get_visible (GTK_WIDGET (window)))
        g_ptr_array_add (choosers, window);
    }
  return choosers;
}

/* Whether @chooser's first filter shows a file named @name. */
static gboolean
first_filter_shows (GtkFileChooser *chooser, const char *name)
{
  g_autoptr(GListModel) filters = gtk_file_chooser_get_filters (chooser);
  g_autoptr(GtkFilter) filter = g_list_model_get_item (filters, 0);
  g_autoptr(GFileInfo) info = g_file_info_new ();

  g_file_info_set_display_name (info, name);
  g_file_info_set_content_type (info, "application/octet-stream");
  return gtk_filter_match (filter, info);
}

/* The file to train on, one to mix in and one to check on are read alike,
 * so they are chosen alike: the same filters, the dataset formats first. */
static void
test_choosers_alike (void)
{
  g_autofree char *tmp = g_dir_make_tmp ("temper-summary-choose-XXXXXX", NULL);
  g_autofree char *data = gui_test_write_capitals (tmp, "capitals.jsonl");
  GtkWidget *window, *page;
  const char *const titles[] = { "Open a Dataset", "Add a Dataset to the Mix", "Choose a File to Check Progress On" };

  page = gui_test_present_dataset_page (NULL, 0, 0, &window);
  gui_test_open_dataset (page, data);

  for (guint k = 0; k < G_N_ELEMENTS (titles); k++)
    {
      g_autoptr(GPtrArray) choosers = NULL;
      g_autoptr(GListModel) filters = NULL;
      GtkFileChooser *chooser;

      if (k == 0)
        gtk_widget_activate_action (page, "page.open", NULL);
      else if (k == 1)
        g_signal_emit_by_name (gui_test_find_named (page, "mix-add"), "clicked");
      else
        gtk_widget_activate_action (page, "page.choose-check-file", NULL);
      gui_test_settle (100);
      choosers = open_choosers ();
      g_assert_cmpuint (choosers->len, ==, k + 1);
      chooser = GTK_FILE_CHOOSER (choosers->pdata[k]);
      g_assert_cmpstr (gtk_window_get_title (GTK_WINDOW (chooser)), ==, titles[k]);
      filters = gtk_file_chooser_get_filters (chooser);
      g_assert_cmpuint (g_list_model_get_n_items (filters), ==, 2);
      g_assert_true (first_filter_shows (chooser, "facts.jsonl"));
      g_assert_true (first_filter_shows (chooser, "table.csv"));
      g_assert_true (first_filter_shows (chooser, "notes.md"));
      g_assert_false (first_filter_shows (chooser, "model.gguf"));
    }

  /* Closing the page closes them. */
  gtk_window_destroy (GTK_WINDOW (window));
  gui_test_settle (100);
  {
    g_autoptr(GPtrArray) left = open_choosers ();

    g_assert_cmpuint (left->len, ==, 0);
  }
  test_remove_tree (tmp);
}

/* Answered, the Open chooser goes: its window is destroyed, not left
 * hidden for as long as the page lives, as the mix's and the check file's
 * choosers are. */
static void
test_open_chooser_freed (void)
{
  GtkWidget *window, *page;
  g_autoptr(GPtrArray) choosers = NULL;
  GtkWidget *dialog;

  page = gui_test_present_dataset_page (NULL, 0, 0, &window);
  gtk_widget_activate_action (page, "page.open", NULL);
  gui_test_settle (100);
  choosers = open_choosers ();
  g_assert_cmpuint (choosers->len, ==, 1);
  dialog = choosers->pdata[0];
  g_assert_true (GTK_IS_DIALOG (dialog));
  g_object_add_weak_pointer (G_OBJECT (dialog), (gpointer *) &dialog);

  G_GNUC_BEGIN_IGNORE_DEPRECATIONS
  gtk_dialog_response (GTK_DIALOG (dialog), GTK_RESPONSE_CANCEL);
  G_GNUC_END_IGNORE_DEPRECATIONS
  gui_test_settle (100);
  g_assert_null (dialog);

  /* And it opens again. */
  gtk_widget_activate_action (page, "page.open", NULL);
  gui_test_settle (100);
  g_ptr_array_unref (choosers);
  choosers = open_choosers ();
  g_assert_cmpuint (choosers->len, ==, 1);

  gtk_window_destroy (GTK_WINDOW (window));
  gui_test_settle (50);
}

static double
top_of (GtkWidget *page, const char *name)
{
  GtkWidget *widget = gui_test_find_named (page, name);
  graphene_rect_t bounds;

  g_assert_nonnull (widget);
  g_assert_true (gtk_widget_get_mapped (widget));
  g_assert_true (gtk_widget_compute_bounds (widget, page, &bounds));
  return bounds.origin.y;
}

/* "Mix In More Data" sits with the file's own rows, above the summary of
 * what the run trains on and above the first examples. */
static void
test_mix_next_to_file (void)
{
  g_autofree char *tmp = g_dir_make_tmp ("temper-summary-order-XXXXXX", NULL);
  g_autofree char *data = gui_test_write_capitals (tmp, "capitals.jsonl");
  GtkWidget *window, *page;
  double mix;

  page = gui_test_present_dataset_page (NULL, 800, 4000, &window);
  gui_test_open_dataset (page, data);
  gui_test_settle (100);
  mix = top_of (page, "mix-group");
  g_assert_cmpfloat (top_of (page, "dataset-file"), <, mix);
  g_assert_cmpfloat (mix, <, top_of (page, "dataset-records"));
  g_assert_cmpfloat (mix, <, top_of (page, "preview-list"));

  gtk_window_destroy (GTK_WINDOW (window));
  gui_test_settle (50);
  test_remove_tree (tmp);
}

int
main (int argc, char **argv)
{
  gui_test_init (&argc, &argv);
  g_test_add_func ("/dataset-summary/lengths-follow-training", test_lengths_follow_training);
  g_test_add_func ("/dataset-summary/check-file-split", test_check_file_split);
  g_test_add_func ("/dataset-summary/choosers-alike", test_choosers_alike);
  g_test_add_func ("/dataset-summary/check-file-sampled", test_check_file_sampled);
  g_test_add_func ("/dataset-summary/held-back-share", test_held_back_share);
  g_test_add_func ("/dataset-summary/cut-follows-max-length", test_cut_follows_max_length);
  g_test_add_func ("/dataset-summary/problems-follow-max-length", test_problems_follow_max_length);
  g_test_add_func ("/dataset-summary/open-chooser-freed", test_open_chooser_freed);
  g_test_add_func ("/dataset-summary/mix-next-to-file", test_mix_next_to_file);
  return g_test_run ();
}
