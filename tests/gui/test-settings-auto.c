/* SPDX-License-Identifier: MIT */
/* test-settings-auto.c — the Settings page chooses its values with the
 * engine's automatic settings for the chosen model and dataset: for the
 * demo model and data/samples/product-faq.jsonl every value equals what
 * temper_train_settings_choose() returns for the same file, measured here
 * through the engine (temper_train_facts_measure()), each Advanced row shows
 * the engine's sentence of why, and a value the person changed is shown as
 * theirs and survives choosing another preset; a reopened run's values are
 * not chosen over.  The time shown is the engine's estimate from this
 * processor's rates, measured when the model was chosen. */
#include "config.h"

#include <string.h>

#include <glib/gstdio.h>

#include "temper/model.h"
#include "temper/train-estimate.h"
#include "temper/train-figures.h"
#include "gui-test-util.h"
#include "temper-dataset-page.h"
#include "temper-model-page.h"
#include "temper-page.h"
#include "temper-settings.h"
#include "temper-settings-page.h"
#include "temper-window.h"

#define DEMO_MODEL "SmolLM2-135M-Instruct.Q4_1.gguf"

/* Each Advanced field the automatic settings choose, and its reason. */
static const struct { const char *name; TemperTrainWhy why; } chosen_fields[] = {
  { "learning-rate", TEMPER_TRAIN_WHY_LEARNING_RATE },
  { "schedule", TEMPER_TRAIN_WHY_SCHEDULE },
  { "warmup-steps", TEMPER_TRAIN_WHY_SCHEDULE },
  { "epochs", TEMPER_TRAIN_WHY_EPOCHS },
  { "max-steps", TEMPER_TRAIN_WHY_EPOCHS },
  { "lora-rank", TEMPER_TRAIN_WHY_RANK },
  { "lora-alpha", TEMPER_TRAIN_WHY_RANK },
  { "lora-targets", TEMPER_TRAIN_WHY_TARGETS },
  { "micro-batch", TEMPER_TRAIN_WHY_BATCH },
  { "grad-accum", TEMPER_TRAIN_WHY_BATCH },
  { "max-length", TEMPER_TRAIN_WHY_MAX_LENGTH },
  { "val-fraction", TEMPER_TRAIN_WHY_VALIDATION },
  { "replay-records", TEMPER_TRAIN_WHY_REPLAY },
};

static gboolean
model_page_settled (gpointer data)
{
  return !temper_model_page_is_busy (data) && temper_model_page_get_model (data) != NULL;
}

static gboolean
speed_measured (gpointer data)
{
  return !temper_settings_page_is_measuring_speed (data);
}

static const char *
row_subtitle (GtkWidget *page, const char *name)
{
  GtkWidget *w = gui_test_find_named (page, name);
  GtkWidget *row;

  g_assert_nonnull (w);
  row = ADW_IS_ACTION_ROW (w) ? w : gtk_widget_get_ancestor (w, ADW_TYPE_ACTION_ROW);
  g_assert_nonnull (row);
  return adw_action_row_get_subtitle (ADW_ACTION_ROW (row));
}

static void
assert_same_settings (const TemperTrainSettings *shown, const TemperTrainSettings *expected)
{
  /* One by one first, so a failure names the value. */
  g_assert_cmpfloat_with_epsilon (shown->learning_rate, expected->learning_rate, 1e-12);
  g_assert_cmpint (shown->schedule, ==, expected->schedule);
  g_assert_cmpint (shown->warmup_steps, ==, expected->warmup_steps);
  g_assert_cmpint (shown->epochs, ==, expected->epochs);
  g_assert_cmpint (shown->replay_records, ==, expected->replay_records);
  g_assert_cmpint (shown->max_steps, ==, expected->max_steps);
  g_assert_cmpint (shown->lora.rank, ==, expected->lora.rank);
  g_assert_cmpfloat (shown->lora.alpha, ==, expected->lora.alpha);
  g_assert_cmpfloat (shown->lora.dropout, ==, expected->lora.dropout);
  g_assert_cmpuint (shown->lora.targets, ==, expected->lora.targets);
  g_assert_cmpint (shown->micro_batch, ==, expected->micro_batch);
  g_assert_cmpint (shown->grad_accum, ==, expected->grad_accum);
  g_assert_cmpint (shown->max_length, ==, expected->max_length);
  g_assert_cmpfloat (shown->val_fraction, ==, expected->val_fraction);
  g_assert_cmpint (shown->eval_every, ==, expected->eval_every);
  g_assert_cmpint (shown->checkpoint_every, ==, expected->checkpoint_every);
  g_assert_cmpint (shown->patience, ==, expected->patience);
  g_assert_true (temper_train_settings_equal (shown, expected));
}

static void
test_automatic (void)
{
  const char *source = g_getenv ("TEMPER_SOURCE_DIR") != NULL ? g_getenv ("TEMPER_SOURCE_DIR") : TEMPER_SOURCE_DIR;
  g_autofree char *model_path = g_build_filename (source, "data", "models", DEMO_MODEL, NULL);
  g_autofree char *data_path = g_build_filename (source, "data", "samples", "product-faq.jsonl", NULL);
  g_autofree char *other_path = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(TemperSettings) settings = temper_settings_new (&error);
  g_autoptr(temper_model_t) model = NULL;
  g_auto(TemperTrainReasons) balanced_why = { { NULL } };
  TemperTrainSettings balanced, thorough, shown;
  TemperTrainFacts facts = { 0 };
  TemperWindow *window;
  GtkWidget *model_page, *dataset_page, *settings_page;

  g_assert_no_error (error);
  if (!g_file_test (model_path, G_FILE_TEST_EXISTS))
    {
      g_test_skip ("the demo model is not downloaded (data/models/" DEMO_MODEL ")");
      return;
    }

  /* The reference: the engine measures the file and chooses, as temper-cli train does. */
  model = temper_model_load (model_path, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (temper_train_facts_measure (model, data_path, NULL, &facts, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (facts.n_records, >, 0);
  temper_train_settings_choose (&facts, TEMPER_TRAIN_PRESET_BALANCED, &balanced, &balanced_why);
  temper_train_settings_choose (&facts, TEMPER_TRAIN_PRESET_THOROUGH, &thorough, NULL);
  /* The preset change below must be visible in the values. */
  g_assert_cmpint (balanced.epochs, !=, thorough.epochs);

  temper_settings_set_seen_welcome (settings, TRUE);
  window = temper_window_new (NULL, settings);
  gtk_window_present (GTK_WINDOW (window));
  model_page = temper_window_get_page (window, "model");
  dataset_page = temper_window_get_page (window, "dataset");
  settings_page = temper_window_get_page (window, "settings");

  temper_model_page_choose (TEMPER_MODEL_PAGE (model_page), model_path);
  g_assert_true (gui_test_wait_for (model_page_settled, model_page, 120000));
  /* Another dataset first: the page must follow the one that replaces it. */
  other_path = gui_test_write_capitals (g_get_tmp_dir (), "temper-settings-auto-first.jsonl");
  temper_dataset_page_open (TEMPER_DATASET_PAGE (dataset_page), other_path);
  g_assert_true (gui_test_wait_for (gui_test_dataset_idle, dataset_page, 60000));
  g_assert_true (temper_page_get_complete (TEMPER_PAGE (dataset_page)));
  temper_dataset_page_open (TEMPER_DATASET_PAGE (dataset_page), data_path);
  g_assert_true (gui_test_wait_for (gui_test_dataset_idle, dataset_page, 60000));
  g_assert_true (temper_page_get_complete (TEMPER_PAGE (dataset_page)));
  g_assert_true (temper_window_show_step (window, "settings"));

  /* Balanced: the engine's values, and under each its sentence. */
  gtk_widget_activate (gui_test_find_named (settings_page, "preset-balanced"));
  g_assert_cmpint (temper_settings_page_get_preset (TEMPER_SETTINGS_PAGE (settings_page)), ==, TEMPER_PRESET_BALANCED);
  temper_settings_page_get_train_settings (TEMPER_SETTINGS_PAGE (settings_page), &shown);
  assert_same_settings (&shown, &balanced);
  for (guint i = 0; i < G_N_ELEMENTS (chosen_fields); i++)
    {
      const char *sentence = balanced_why.sentence[chosen_fields[i].why];

      g_assert_nonnull (sentence);
      g_assert_cmpstr (row_subtitle (settings_page, chosen_fields[i].name), ==, sentence);
      g_assert_cmpstr (temper_settings_page_get_field_note (TEMPER_SETTINGS_PAGE (settings_page),
                                                            chosen_fields[i].name), ==, sentence);
    }
  /* The record count is in the passes' sentence, as the engine wrote it. */
  {
    g_autofree char *count = g_strdup_printf ("%" G_GUINT64_FORMAT, facts.n_records);

    g_assert_nonnull (strstr (row_subtitle (settings_page, "epochs"), count));
  }

  /* The time: once this processor's rates for the model are measured (in
   * the background, kept in the cache), the engine's estimate for the
   * values shown and the dataset's size. */
  {
    guint n_train;
    double mean_tokens, seconds;
    gint64 steps;
    guint64 memory;
    TemperOpRates rates;
    TemperTimeEstimate expected;

    g_assert_true (gui_test_wait_for (speed_measured, settings_page, 120000));
    g_assert_true (temper_op_rates_lookup (model, 0, balanced.exact, &rates));
    g_assert_true (temper_dataset_page_get_size (TEMPER_DATASET_PAGE (dataset_page), &n_train, &mean_tokens));
    g_assert_true (temper_settings_page_get_estimate (TEMPER_SETTINGS_PAGE (settings_page), &steps, &seconds,
                                                      &memory));
    g_assert_cmpint (steps, ==, temper_train_count_steps (&balanced, n_train));
    temper_train_estimate_time (temper_model_get_config (model), &balanced, mean_tokens, steps, &rates,
                                &expected);
    g_assert_cmpfloat (seconds, >, 0.0);
    g_assert_cmpfloat_with_epsilon (seconds, expected.total_seconds, 1e-9 * seconds);
    g_assert_nonnull (strstr (row_subtitle (settings_page, "estimate-time"),
                              "from how fast this processor ran each kind of operation"));
  }

  /* Faster training: the switch in Advanced clears "exact", and the time
   * comes from the rates measured with bfloat16 products (kept apart from
   * the fp32 ones); switched back, the fp32 time again. */
  {
    GtkWidget *fast = gui_test_find_named (settings_page, "fast-products");
    TemperTrainSettings s;
    TemperOpRates exact_rates, fast_rates;
    TemperTimeEstimate expected;
    double exact_seconds, fast_seconds;
    gint64 steps;
    guint64 memory;
    guint n_train;
    double mean_tokens;

    g_assert_nonnull (fast);
    g_assert_true (temper_dataset_page_get_size (TEMPER_DATASET_PAGE (dataset_page), &n_train, &mean_tokens));
    g_assert_true (temper_settings_page_get_estimate (TEMPER_SETTINGS_PAGE (settings_page), &steps,
                                                      &exact_seconds, &memory));
    temper_settings_page_get_train_settings (TEMPER_SETTINGS_PAGE (settings_page), &s);
    g_assert_cmpint (gtk_switch_get_active (GTK_SWITCH (fast)), ==, !s.exact);
    gtk_switch_set_active (GTK_SWITCH (fast), s.exact);
    temper_settings_page_get_train_settings (TEMPER_SETTINGS_PAGE (settings_page), &s);
    g_assert_cmpint (gtk_switch_get_active (GTK_SWITCH (fast)), ==, !s.exact);
    g_assert_true (gui_test_wait_for (speed_measured, settings_page, 120000));
    g_assert_true (temper_op_rates_lookup (model, 0, s.exact, &fast_rates));
    g_assert_true (temper_op_rates_lookup (model, 0, !s.exact, &exact_rates));
    g_assert_true (temper_settings_page_get_estimate (TEMPER_SETTINGS_PAGE (settings_page), &steps,
                                                      &fast_seconds, &memory));
    temper_train_estimate_time (temper_model_get_config (model), &s, mean_tokens, steps, &fast_rates, &expected);
    g_assert_cmpfloat_with_epsilon (fast_seconds, expected.total_seconds, 1e-9 * fast_seconds);
    g_assert_cmpfloat (fast_seconds, !=, exact_seconds);
    g_test_message ("time estimate: %.1f s with one products, %.1f s with the other", exact_seconds, fast_seconds);
    gtk_switch_set_active (GTK_SWITCH (fast), !gtk_switch_get_active (GTK_SWITCH (fast)));
    g_assert_true (gui_test_wait_for (speed_measured, settings_page, 120000));
    g_assert_true (temper_settings_page_get_estimate (TEMPER_SETTINGS_PAGE (settings_page), &steps,
                                                      &fast_seconds, &memory));
    g_assert_cmpfloat_with_epsilon (fast_seconds, exact_seconds, 1e-9 * exact_seconds);
  }

  /* The person's learning rate is theirs: said so, and kept by Thorough,
   * which chooses every other value again. */
  gui_test_set_spin (settings_page, "learning-rate", 1e-3);
  g_assert_cmpstr (row_subtitle (settings_page, "learning-rate"), ==, "Set by you.");
  g_assert_cmpstr (row_subtitle (settings_page, "epochs"), ==, balanced_why.sentence[TEMPER_TRAIN_WHY_EPOCHS]);
  g_assert_cmpint (temper_settings_page_get_preset (TEMPER_SETTINGS_PAGE (settings_page)), ==, TEMPER_PRESET_BALANCED);
  gtk_widget_activate (gui_test_find_named (settings_page, "preset-thorough"));
  g_assert_cmpint (temper_settings_page_get_preset (TEMPER_SETTINGS_PAGE (settings_page)), ==, TEMPER_PRESET_THOROUGH);
  temper_settings_page_get_train_settings (TEMPER_SETTINGS_PAGE (settings_page), &shown);
  g_assert_cmpfloat_with_epsilon (shown.learning_rate, 1e-3, 1e-12);
  g_assert_cmpstr (row_subtitle (settings_page, "learning-rate"), ==, "Set by you.");
  thorough.learning_rate = 1e-3;
  assert_same_settings (&shown, &thorough);

  /* A reopened run's values stay as the run had them: they match no
   * preset's automatic values (the learning rate), so none is checked and a
   * dataset measured afterwards chooses nothing over them. */
  temper_settings_page_set_train_settings (TEMPER_SETTINGS_PAGE (settings_page), &thorough);
  g_assert_cmpint (temper_settings_page_get_preset (TEMPER_SETTINGS_PAGE (settings_page)), ==, TEMPER_PRESET_CUSTOM);
  {
    TemperTrainFacts more = facts;

    more.n_params = 0;   /* as the window passes them: the page takes the size from the model */
    more.n_records *= 10;
    temper_settings_page_set_dataset_facts (TEMPER_SETTINGS_PAGE (settings_page), &more);
  }
  temper_settings_page_get_train_settings (TEMPER_SETTINGS_PAGE (settings_page), &shown);
  assert_same_settings (&shown, &thorough);
  /* The engine's own Balanced values are recognised as Balanced, with their reasons. */
  temper_settings_page_set_dataset_facts (TEMPER_SETTINGS_PAGE (settings_page), &(TemperTrainFacts) {
      .n_records = facts.n_records, .tokens_total = facts.tokens_total,
      .token_max = facts.token_max, .token_p95 = facts.token_p95 });
  temper_settings_page_set_train_settings (TEMPER_SETTINGS_PAGE (settings_page), &balanced);
  g_assert_cmpint (temper_settings_page_get_preset (TEMPER_SETTINGS_PAGE (settings_page)), ==, TEMPER_PRESET_BALANCED);
  g_assert_cmpstr (row_subtitle (settings_page, "learning-rate"), ==, balanced_why.sentence[TEMPER_TRAIN_WHY_LEARNING_RATE]);

  gtk_window_destroy (GTK_WINDOW (window));
  gui_test_settle (50);
  g_unlink (other_path);
}

int
main (int   argc,
      char *argv[])
{
  gui_test_init (&argc, &argv);
  g_test_add_func ("/settings-auto/demo-faq", test_automatic);
  return g_test_run ();
}
