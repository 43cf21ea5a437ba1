/* SPDX-License-Identifier: MIT */
/* test-build-on.c — issue 15 §3 through the window, as a person reaches it:
 * a run that stopped early says which adapter it kept; an adapter made
 * elsewhere (a PEFT folder) becomes the next run's start, and a folder
 * without one is refused with a reason; several datasets are mixed in one
 * run by the shares the person gives, from the Dataset page, without
 * touching their files. */
#include "config.h"

#include <string.h>

#include <glib/gstdio.h>

#include "temper/run.h"
#include "temper/train-estimate.h"
#include "gui-test-util.h"
#include "temper-dataset-mix.h"
#include "temper-dataset-page.h"
#include "temper-error-banner.h"
#include "temper-evaluation-group.h"
#include "temper-length-histogram.h"
#include "temper-model-page.h"
#include "temper-settings.h"
#include "temper-settings-page.h"
#include "temper-training-page.h"
#include "temper-window.h"
#include "../test-tree.h"

static char *
fixture (const char *a, const char *b)
{
  const char *source = g_getenv ("TEMPER_SOURCE_DIR") != NULL ? g_getenv ("TEMPER_SOURCE_DIR") : TEMPER_SOURCE_DIR;

  return g_build_filename (source, "tests", "fixtures", a, b, NULL);
}

static gboolean
model_settled (gpointer data)
{
  return !temper_model_page_is_busy (data) && temper_model_page_get_model (data) != NULL;
}

static gboolean
has_run_dir (gpointer data)
{
  return temper_training_page_get_run_dir (data) != NULL;
}

static gboolean
mix_read (gpointer data)
{
  return !temper_dataset_mix_is_busy (data);
}

static gboolean
banner_shown (gpointer data)
{
  return temper_error_banner_get_title (data) != NULL;
}

static gboolean
evaluation_done (gpointer data)
{
  return !temper_evaluation_group_is_busy (data);
}

static const char *
run_row_subtitle (GtkWidget *training_page)
{
  GtkWidget *row = gui_test_find_named (training_page, "run-row");

  g_assert_nonnull (row);
  return adw_action_row_get_subtitle (ADW_ACTION_ROW (row));
}

/* For people to look at (build/tests/gui/build-on-NAME.png); not compared. */
static void
save_view (TemperWindow *window, const char *name)
{
  g_autofree char *file = g_strdup_printf ("build-on-%s.png", name);
  g_autofree char *path = g_build_filename (g_getenv ("TEMPER_BUILD_DIR") != NULL ? g_getenv ("TEMPER_BUILD_DIR") : ".",
                                            "tests", "gui", file, NULL);

  gui_test_settle (300);
  gui_test_save_png (GTK_WIDGET (window), path, NULL, NULL, NULL);
}

static TemperWindow *
new_window_with_model (TemperSettings *settings, const char *model_path)
{
  TemperWindow *window;
  GtkWidget *model_page;

  temper_settings_set_seen_welcome (settings, TRUE);
  window = temper_window_new (NULL, settings);
  gtk_window_present (GTK_WINDOW (window));
  temper_settings_page_set_measure_speed (TEMPER_SETTINGS_PAGE (temper_window_get_page (window, "settings")), FALSE);
  model_page = temper_window_get_page (window, "model");
  if (model_path != NULL)
    {
      temper_model_page_choose (TEMPER_MODEL_PAGE (model_page), model_path);
      g_assert_true (gui_test_wait_for (model_settled, model_page, 60000));
    }
  return window;
}

/* Early stopping: reopened from the Runs page, the run's Training page says
 * at which step it stopped and which adapter it kept. */
static void
test_early_stop_outcome (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TemperSettings) settings = temper_settings_new (&error);
  g_autofree char *model_path = fixture ("train", "tiny-llama");
  g_autofree char *root = temper_runs_default_root ();
  g_autofree char *dir = g_build_filename (root, "2030-01-02-000000-early", NULL);
  g_autofree char *data = gui_test_write_capitals (g_get_tmp_dir (), "build-on-early.jsonl");
  g_autofree char *adapter = g_build_filename (dir, "adapter", NULL);
  g_autofree char *outcome = g_build_filename (dir, "outcome.json", NULL);
  g_autoptr(temper_run_t) run = NULL;
  TemperTrainSettings s;
  TemperWindow *window;
  GtkWidget *training;
  const char *subtitle;

  g_assert_no_error (error);
  temper_train_settings_init_default (&s);
  run = temper_run_create (dir, &s, model_path, data, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_mkdir_with_parents (adapter, 0755), ==, 0);
  /* What the trainer writes when patience 2 ran out at step 6 (temper-train-best.c). */
  g_assert_true (g_file_set_contents (outcome, "{\"last_step\": 6, \"stopped_early\": true, \"patience\": 2, "
                                      "\"kept_step\": 4, \"kept_val_loss\": 1.25}", -1, NULL));

  window = new_window_with_model (settings, NULL);
  training = temper_window_get_page (window, "training");
  g_signal_emit_by_name (temper_window_get_page (window, "runs"), "open-run", dir);
  g_assert_true (gui_test_wait_for (has_run_dir, training, 60000));
  g_assert_cmpint (temper_training_page_get_state (TEMPER_TRAINING_PAGE (training)), ==, TEMPER_TRAINING_FINISHED);
  subtitle = run_row_subtitle (training);
  g_assert_nonnull (strstr (subtitle, "Stopped early at step 6"));
  g_assert_nonnull (strstr (subtitle, "kept the adapter from step 4 (validation loss 1.25)"));
  save_view (window, "early-stop");

  gtk_window_destroy (GTK_WINDOW (window));
  gui_test_settle (50);
  g_unlink (data);
  test_remove_tree (dir);
}

/* "Build on an Adapter": a PEFT folder for the chosen model becomes the next
 * run's start, said on the Training page before it starts; a folder that
 * is no adapter is refused with the reason, and the next run starts fresh. */
static void
test_adapter_folder (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TemperSettings) settings = temper_settings_new (&error);
  g_autofree char *model_path = fixture ("train", "tiny-llama");
  g_autofree char *adapter = fixture ("train", "tiny-llama-adapter");
  g_autofree char *other = g_dir_make_tmp ("build-on-not-an-adapter-XXXXXX", NULL);
  g_autofree char *data = gui_test_write_capitals (g_get_tmp_dir (), "build-on-adapter.jsonl");
  g_autofree char *from_json = NULL, *from_text = NULL;
  TemperWindow *window;
  GtkWidget *training, *runs, *dataset, *settings_page, *banner;

  g_assert_no_error (error);
  window = new_window_with_model (settings, model_path);
  training = temper_window_get_page (window, "training");
  runs = temper_window_get_page (window, "runs");
  dataset = temper_window_get_page (window, "dataset");
  settings_page = temper_window_get_page (window, "settings");
  banner = gui_test_find_named (GTK_WIDGET (window), "window-error");
  g_assert_nonnull (gui_test_find_named (runs, "continue-adapter"));

  /* A folder that holds no adapter: refused, saying why. */
  g_signal_emit_by_name (runs, "continue-adapter", other);
  g_assert_true (banner_shown (banner));
  g_assert_null (temper_training_page_get_start_from (TEMPER_TRAINING_PAGE (training)));

  g_signal_emit_by_name (runs, "continue-adapter", adapter);
  g_assert_false (gtk_widget_get_visible (banner));
  g_assert_cmpstr (temper_training_page_get_start_from (TEMPER_TRAINING_PAGE (training)), ==, adapter);
  /* The model is there: the next thing to choose is the data. */
  g_assert_cmpstr (temper_window_get_current_step (window), ==, "dataset");
  g_assert_nonnull (strstr (run_row_subtitle (training), "tiny-llama-adapter"));

  temper_dataset_page_open (TEMPER_DATASET_PAGE (dataset), data);
  g_assert_true (gui_test_wait_for (gui_test_dataset_idle, dataset, 60000));
  g_assert_true (temper_window_show_step (window, "settings"));
  gui_test_set_spin (settings_page, "max-steps", 1);
  gui_test_set_spin (settings_page, "max-length", 64);
  gui_test_set_spin (settings_page, "micro-batch", 1);
  gui_test_set_spin (settings_page, "grad-accum", 1);
  g_assert_true (temper_window_show_step (window, "training"));
  g_assert_nonnull (strstr (run_row_subtitle (training), "tiny-llama-adapter"));
  save_view (window, "start-from");
  gtk_widget_activate_action (training, "page.start", NULL);
  g_assert_true (gui_test_wait_for (gui_test_training_idle, training, 120000));
  g_assert_cmpint (temper_training_page_get_state (TEMPER_TRAINING_PAGE (training)), ==, TEMPER_TRAINING_FINISHED);
  from_json = g_build_filename (temper_training_page_get_run_dir (TEMPER_TRAINING_PAGE (training)),
                                "start-adapter", "from.json", NULL);
  g_assert_true (g_file_get_contents (from_json, &from_text, NULL, NULL));
  g_assert_nonnull (strstr (from_text, "tiny-llama-adapter"));

  /* Eight records: none held back, so the evaluation asks the training
   * questions, and its verdict says so (it spoke of general knowledge
   * only). */
  {
    TemperEvaluationGroup *evaluation;
    GtkWidget *verdict;

    g_assert_true (temper_window_show_step (window, "compare"));
    evaluation = TEMPER_EVALUATION_GROUP (gui_test_find_named (temper_window_get_page (window, "compare"),
                                                               "evaluation-group"));
    g_assert_nonnull (evaluation);
    temper_evaluation_group_set_max_tokens (evaluation, 4);
    temper_evaluation_group_run (evaluation);
    g_assert_true (gui_test_wait_for (evaluation_done, evaluation, 240000));
    verdict = gui_test_find_named (GTK_WIDGET (evaluation), "eval-verdict");
    g_assert_nonnull (verdict);
    g_test_message ("verdict: %s", adw_preferences_row_get_title (ADW_PREFERENCES_ROW (verdict)));
    g_assert_nonnull (strstr (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (verdict)),
                              "of your 8 training questions right; before:"));
  }

  gtk_window_destroy (GTK_WINDOW (window));
  gui_test_settle (50);
  g_unlink (data);
  g_rmdir (other);
}

static guint
count_lines_containing (const char *text, const char *needle)
{
  guint n = 0;

  for (const char *p = text; (p = strstr (p, needle)) != NULL; p += strlen (needle))
    n++;
  return n;
}

/* Two datasets at 80 % and 20 %: the capitals' 8 usable records are the
 * limit, so the mix is 10 records, 8 capitals and 2 colours (counted by
 * hand from the shares); the run trains on that file, and neither of the
 * person's files changes. */
static void
test_mix (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TemperSettings) settings = temper_settings_new (&error);
  g_autofree char *model_path = fixture ("train", "tiny-llama");
  g_autofree char *data = gui_test_write_capitals (g_get_tmp_dir (), "build-on-mix-capitals.jsonl");
  g_autofree char *colours = g_build_filename (g_get_tmp_dir (), "build-on-mix-colours.jsonl", NULL);
  g_autofree char *data_before = NULL, *colours_before = NULL, *data_after = NULL, *colours_after = NULL;
  g_autofree char *mixed_text = NULL, *run_dataset = NULL;
  g_autoptr(GString) text = g_string_new (NULL);
  const char *things[] = { "grass", "snow", "coal", "blood", "the sky", "a lemon", "an orange", "a plum" };
  TemperWindow *window;
  GtkWidget *dataset, *training, *settings_page;
  TemperDatasetMix *mix;
  const char *mixed;
  g_autoptr(GDir) folder = NULL;
  const char *name;
  guint copies;

  g_assert_no_error (error);
  for (guint i = 0; i < G_N_ELEMENTS (things); i++)
    g_string_append_printf (text, "{\"prompt\": \"What colour is %s?\", \"response\": \"Its colour is number %u.\"}\n",
                            things[i], i);
  g_assert_true (g_file_set_contents (colours, text->str, -1, NULL));
  g_assert_true (g_file_get_contents (data, &data_before, NULL, NULL));
  g_assert_true (g_file_get_contents (colours, &colours_before, NULL, NULL));

  window = new_window_with_model (settings, model_path);
  dataset = temper_window_get_page (window, "dataset");
  training = temper_window_get_page (window, "training");
  settings_page = temper_window_get_page (window, "settings");
  mix = TEMPER_DATASET_MIX (gui_test_find_named (dataset, "mix-group"));
  g_assert_nonnull (mix);
  temper_dataset_page_open (TEMPER_DATASET_PAGE (dataset), data);
  g_assert_true (gui_test_wait_for (gui_test_dataset_idle, dataset, 60000));
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (mix)));
  g_assert_false (temper_dataset_mix_has_sources (mix));

  temper_dataset_mix_add (mix, colours);
  g_assert_true (gui_test_wait_for (mix_read, mix, 60000));
  g_assert_true (temper_dataset_mix_has_sources (mix));
  temper_dataset_mix_set_share (mix, 0, 80);
  temper_dataset_mix_set_share (mix, 1, 20);
  mixed = temper_dataset_page_get_path (TEMPER_DATASET_PAGE (dataset));
  g_assert_nonnull (mixed);
  g_assert_cmpstr (mixed, !=, data);
  g_assert_true (g_file_get_contents (mixed, &mixed_text, NULL, NULL));
  g_assert_cmpuint (count_lines_containing (mixed_text, "\n"), ==, 10);
  g_assert_cmpuint (count_lines_containing (mixed_text, "The capital of"), ==, 8);
  g_assert_cmpuint (count_lines_containing (mixed_text, "Its colour is number"), ==, 2);
  /* Asked again with nothing changed: the same file, not another copy. */
  g_assert_cmpstr (temper_dataset_page_get_path (TEMPER_DATASET_PAGE (dataset)), ==, mixed);

  /* The run trains on the mix: its dataset folder holds the 10 records. */
  g_assert_true (temper_window_show_step (window, "settings"));
  gui_test_set_spin (settings_page, "max-steps", 1);
  gui_test_set_spin (settings_page, "max-length", 64);
  gui_test_set_spin (settings_page, "micro-batch", 1);
  gui_test_set_spin (settings_page, "grad-accum", 1);
  /* The base model's replayed answers would sit beside the copy (and take a
   * minute to write); this test is about the copy. */
  gui_test_set_spin (settings_page, "replay-records", 0);
  g_assert_true (temper_window_show_step (window, "training"));
  gtk_widget_activate_action (training, "page.start", NULL);
  g_assert_true (gui_test_wait_for (gui_test_training_idle, training, 120000));
  g_assert_cmpint (temper_training_page_get_state (TEMPER_TRAINING_PAGE (training)), ==, TEMPER_TRAINING_FINISHED);
  run_dataset = g_build_filename (temper_training_page_get_run_dir (TEMPER_TRAINING_PAGE (training)), "dataset", NULL);
  folder = g_dir_open (run_dataset, 0, &error);
  g_assert_no_error (error);
  copies = 0;
  while ((name = g_dir_read_name (folder)) != NULL)
    if (g_str_has_suffix (name, ".jsonl") && strcmp (name, "replay.jsonl") != 0)
      {
        copies++;
        g_autofree char *copy = g_build_filename (run_dataset, name, NULL);
        g_autofree char *copy_text = NULL;

        g_assert_true (g_file_get_contents (copy, &copy_text, NULL, NULL));
        g_assert_cmpstr (copy_text, ==, mixed_text);
      }
  g_assert_cmpuint (copies, ==, 1);

  /* Another main file: the mix is written again from it (the first mix,
   * of the capitals, was handed out again). */
  temper_dataset_page_open (TEMPER_DATASET_PAGE (dataset), colours);
  g_assert_true (gui_test_wait_for (gui_test_dataset_idle, dataset, 60000));
  {
    const char *again = temper_dataset_page_get_path (TEMPER_DATASET_PAGE (dataset));
    g_autofree char *again_text = NULL;

    g_assert_nonnull (again);
    g_assert_true (g_file_get_contents (again, &again_text, NULL, NULL));
    g_assert_cmpuint (count_lines_containing (again_text, "The capital of"), ==, 0);
    g_assert_cmpuint (count_lines_containing (again_text, "Its colour is number"), >, 0);
  }

  g_assert_true (g_file_get_contents (data, &data_after, NULL, NULL));
  g_assert_true (g_file_get_contents (colours, &colours_after, NULL, NULL));
  g_assert_cmpstr (data_after, ==, data_before);
  g_assert_cmpstr (colours_after, ==, colours_before);

  gtk_window_destroy (GTK_WINDOW (window));
  gui_test_settle (50);
  g_unlink (data);
  g_unlink (colours);
}

/* The run trains on the mix, so everything that counts records counts the
 * mix: 8 capitals and 8 colours at equal shares make 16 records (the
 * largest mix needing no record twice), which the Dataset page's lines,
 * the automatic settings' sentences and the step count say, and whose
 * tokens are those of the mixed file read back with the model's template
 * (they counted the 8 capitals alone). */
static void
test_mix_counted (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TemperSettings) settings = temper_settings_new (&error);
  g_autofree char *model_path = fixture ("train", "tiny-llama");
  g_autofree char *data = gui_test_write_capitals (g_get_tmp_dir (), "build-on-counted-capitals.jsonl");
  g_autofree char *colours = g_build_filename (g_get_tmp_dir (), "build-on-counted-colours.jsonl", NULL);
  g_autoptr(GString) text = g_string_new (NULL);
  g_autoptr(temper_chat_template_t) tmpl = NULL;
  g_autoptr(temper_dataset_t) mixed = NULL;
  const char *things[] = { "grass", "snow", "coal", "blood", "the sky", "a lemon", "an orange", "a plum" };
  TemperDatasetOptions options;
  TemperTrainSettings train;
  TemperTrainFacts facts = { 0 };
  TemperWindow *window;
  GtkWidget *dataset, *settings_page;
  TemperDatasetMix *mix;
  const temper_model_t *model;
  const char *path;
  guint64 tokens = 0;
  int longest = 0;
  gint64 steps;
  double seconds;
  guint64 memory;

  g_assert_no_error (error);
  for (guint i = 0; i < G_N_ELEMENTS (things); i++)
    g_string_append_printf (text, "{\"prompt\": \"What colour is %s, and why does it look like that to us?\", "
                            "\"response\": \"Its colour is number %u.\"}\n", things[i], i);
  g_assert_true (g_file_set_contents (colours, text->str, -1, NULL));

  window = new_window_with_model (settings, model_path);
  dataset = temper_window_get_page (window, "dataset");
  settings_page = temper_window_get_page (window, "settings");
  mix = TEMPER_DATASET_MIX (gui_test_find_named (dataset, "mix-group"));
  temper_dataset_page_open (TEMPER_DATASET_PAGE (dataset), data);
  g_assert_true (gui_test_wait_for (gui_test_dataset_idle, dataset, 60000));
  g_assert_cmpstr (gtk_label_get_text (GTK_LABEL (gui_test_find_named (dataset, "dataset-split"))), ==,
                   "All 8 to learn from; none held back under 200");
  temper_dataset_mix_add (mix, colours);
  g_assert_true (gui_test_wait_for (mix_read, mix, 60000));

  /* The reference: the file the run will train on, read back on its own. */
  path = temper_dataset_page_get_path (TEMPER_DATASET_PAGE (dataset));
  g_assert_nonnull (path);
  model = temper_loaded_model_get_model (temper_dataset_page_get_model (TEMPER_DATASET_PAGE (dataset)));
  tmpl = temper_chat_template_new (temper_model_get_chat_template (model), temper_model_get_tokenizer (model));
  temper_dataset_options_init (&options);
  options.chat_template = tmpl;
  mixed = temper_dataset_load (path, &options, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (temper_dataset_get_n_records (mixed), ==, 16);
  for (gsize i = 0; i < temper_dataset_get_n_records (mixed); i++)
    {
      tokens += temper_dataset_get_record (mixed, i)->n_tokens;
      longest = MAX (longest, temper_dataset_get_record (mixed, i)->n_tokens);
    }

  g_assert_cmpstr (gtk_label_get_text (GTK_LABEL (gui_test_find_named (dataset, "dataset-split"))), ==,
                   "All 16 to learn from; none held back under 200");
  g_assert_cmpstr (gtk_label_get_text (GTK_LABEL (gui_test_find_named (dataset, "dataset-records"))), ==,
                   "8 of 9; 16 with the mixed-in data");
  g_assert_true (temper_dataset_page_get_facts (TEMPER_DATASET_PAGE (dataset), &facts));
  g_assert_cmpuint (facts.n_records, ==, 16);
  g_assert_cmpuint (facts.tokens_total, ==, tokens);
  g_assert_cmpuint (facts.token_max, ==, (guint) longest);
  g_assert_nonnull (strstr (temper_settings_page_get_field_note (TEMPER_SETTINGS_PAGE (settings_page), "epochs"),
                            "For your 16 records"));
  temper_settings_page_get_train_settings (TEMPER_SETTINGS_PAGE (settings_page), &train);
  g_assert_true (temper_settings_page_get_estimate (TEMPER_SETTINGS_PAGE (settings_page), &steps, &seconds, &memory));
  g_assert_cmpint (steps, ==, temper_train_count_steps (&train, 16));
  /* The histogram draws the mix too: each bar holds the records of the
   * file read back whose length falls in it. */
  {
    TemperLengthHistogram *histogram = TEMPER_LENGTH_HISTOGRAM (gui_test_find_named (dataset, "dataset-histogram"));
    guint drawn = 0;

    for (guint bin = 0; bin < temper_length_histogram_get_n_bins (histogram); bin++)
      {
        guint first, last, expected = 0;
        guint count = temper_length_histogram_get_bin (histogram, bin, &first, &last);

        for (gsize i = 0; i < temper_dataset_get_n_records (mixed); i++)
          {
            guint length = (guint) temper_dataset_get_record (mixed, i)->n_tokens;

            expected += length >= first && length <= last;
          }
        g_assert_cmpuint (count, ==, expected);
        drawn += count;
      }
    g_assert_cmpuint (drawn, ==, 16);
  }

  gtk_window_destroy (GTK_WINDOW (window));
  gui_test_settle (50);
  g_unlink (data);
  g_unlink (colours);
}

/* Under 200 records the automatic settings hold none back: the Dataset
 * page says the same (it said "90 to learn from, 10 to check with" for the
 * 100-record sample while the run learnt from all 100). */
static void
test_small_set_split (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TemperSettings) settings = temper_settings_new (&error);
  const char *source = g_getenv ("TEMPER_SOURCE_DIR") != NULL ? g_getenv ("TEMPER_SOURCE_DIR") : TEMPER_SOURCE_DIR;
  g_autofree char *sample = g_build_filename (source, "data", "samples", "product-faq.jsonl", NULL);
  TemperWindow *window;
  GtkWidget *dataset;

  g_assert_no_error (error);
  window = new_window_with_model (settings, NULL);
  dataset = temper_window_get_page (window, "dataset");
  temper_dataset_page_open (TEMPER_DATASET_PAGE (dataset), sample);
  g_assert_true (gui_test_wait_for (gui_test_dataset_idle, dataset, 60000));
  g_assert_cmpstr (gtk_label_get_text (GTK_LABEL (gui_test_find_named (dataset, "dataset-split"))), ==,
                   "All 100 to learn from; none held back under 200");
  gtk_window_destroy (GTK_WINDOW (window));
  gui_test_settle (50);
}

int
main (int   argc,
      char *argv[])
{
  gui_test_init (&argc, &argv);
  g_test_add_func ("/build-on/early-stop-outcome", test_early_stop_outcome);
  g_test_add_func ("/build-on/adapter-folder", test_adapter_folder);
  g_test_add_func ("/build-on/mix", test_mix);
  g_test_add_func ("/build-on/mix-counted", test_mix_counted);
  g_test_add_func ("/build-on/small-set-split", test_small_set_split);
  return g_test_run ();
}
