/* SPDX-License-Identifier: MIT */
/* test-training.c — the path from model to a trained adapter, as a person
 * walks it: choose the demo model, open a dataset with one broken record
 * (reported with its line), pick the Quick preset, shorten the run in the
 * Advanced section, train a few steps on the CPU and watch the chart fill;
 * then stop a longer run, check the window stays responsive and the run
 * resumes from its checkpoint, reopen the finished run from the Runs page,
 * and close the window while training (it asks first).
 *
 * Expectations come from the inputs: the preset values from the engine's
 * automatic settings for the same model and file (temper_train_settings_choose()), the number of steps from the settings, the loss
 * points from the run folder's own metrics.jsonl, the files from run.h's
 * documented layout. */
#include "config.h"

#include <math.h>
#include <string.h>

#include <glib/gstdio.h>

#include "temper/run.h"
#include "gui-test-util.h"
#include "temper-compare-page.h"
#include "temper-dataset-page.h"
#include "temper-loss-chart.h"
#include "temper-model-page.h"
#include "temper-page.h"
#include "temper-runs-page.h"
#include "temper-settings.h"
#include "temper-settings-page.h"
#include "temper-training-page.h"
#include "temper-window.h"

#define DEMO_MODEL "SmolLM2-135M-Instruct.Q4_1.gguf"
#define SHORT_STEPS 3

static gboolean
model_page_settled (gpointer data)
{
  return !temper_model_page_is_busy (data) && temper_model_page_get_model (data) != NULL;
}

static gboolean
chart_has_point (gpointer data)
{
  TemperTrainingPage *page = data;

  return temper_loss_chart_get_n_points (TEMPER_LOSS_CHART (temper_training_page_get_chart (page)),
                                         TEMPER_LOSS_SERIES_TRAINING) > 0;
}

static gboolean
has_run_dir (gpointer data)
{
  return temper_training_page_get_run_dir (data) != NULL;
}

typedef struct {
  TemperTrainingPage *page;
  guint               n;
} PointCount;

static gboolean
chart_has_more (gpointer data)
{
  PointCount *count = data;

  return temper_loss_chart_get_n_points (TEMPER_LOSS_CHART (temper_training_page_get_chart (count->page)),
                                         TEMPER_LOSS_SERIES_TRAINING) > count->n;
}

/* Eight good prompt/response records and, on line 5, one without its
 * response. */
static double
get_spin (GtkWidget  *page,
          const char *name)
{
  GtkWidget *spin = gui_test_find_named (page, name);

  g_assert_nonnull (spin);
  return gtk_spin_button_get_value (GTK_SPIN_BUTTON (spin));
}

static guint
count_problem_rows (GtkWidget *dataset_page)
{
  GtkWidget *list = gui_test_find_named (dataset_page, "problems-list");
  guint n = 0;

  g_assert_nonnull (list);
  for (GtkWidget *row = gtk_widget_get_first_child (list); row != NULL; row = gtk_widget_get_next_sibling (row))
    if (ADW_IS_PREFERENCES_ROW (row))
      {
        g_assert_true (g_str_has_prefix (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (row)), "Line 5:"));
        n++;
      }
  return n;
}

static void
check_run_folder (const char *dir,
                  gint64      steps,
                  GtkWidget  *chart)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(temper_run_t) run = temper_run_open (dir, &error);
  g_autoptr(GArray) metrics = NULL;
  g_autofree char *adapter_dir = NULL;
  g_autofree char *config = NULL;
  g_autofree char *weights = NULL;
  g_autofree char *settings = g_build_filename (dir, "settings.json", NULL);
  guint n_val = 0;

  g_assert_no_error (error);
  g_assert_true (g_file_test (settings, G_FILE_TEST_IS_REGULAR));
  g_assert_cmpint (temper_run_get_settings (run)->max_steps, ==, steps);
  g_assert_true (g_str_has_prefix (temper_run_get_data_path (run), dir));

  metrics = temper_run_read_metrics (run, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (metrics->len, ==, (guint) steps);
  for (guint i = 0; i < metrics->len; i++)
    {
      const TemperRunMetrics *m = &g_array_index (metrics, TemperRunMetrics, i);

      g_assert_cmpint (m->step, ==, (gint64) i + 1);
      g_assert_true (isfinite (m->loss) && m->loss > 0);
      n_val += isfinite (m->val_loss);
    }
  /* The chart shows exactly what the run folder recorded. */
  g_assert_cmpuint (temper_loss_chart_get_n_points (TEMPER_LOSS_CHART (chart), TEMPER_LOSS_SERIES_TRAINING),
                    ==, metrics->len);
  g_assert_cmpuint (temper_loss_chart_get_n_points (TEMPER_LOSS_CHART (chart), TEMPER_LOSS_SERIES_VALIDATION),
                    ==, n_val);
  g_assert_cmpuint (n_val, >=, 1);

  adapter_dir = temper_run_dup_adapter_dir (run);
  config = g_build_filename (adapter_dir, "adapter_config.json", NULL);
  weights = g_build_filename (adapter_dir, "adapter_model.safetensors", NULL);
  g_assert_true (g_file_test (config, G_FILE_TEST_IS_REGULAR));
  g_assert_true (g_file_test (weights, G_FILE_TEST_IS_REGULAR));
}

/* FLOPs per trained token, written out here from the model's shape
 * (temper/train-figures.h has the engine's one formula): 4 × frozen matmul
 * parameters + 6 × adapter parameters + 6 × layers × n_head·head_dim ×
 * tokens, plus one more forward of all three when recomputing. */
static double
flops_per_token_by_hand (const TemperModelConfig   *c,
                         const TemperTrainSettings *s)
{
  double e = c->n_embd, q = (double) c->n_head * c->head_dim, kv = (double) c->n_head_kv * c->head_dim;
  double f = c->n_ff;
  /* in + out of q, k, v, o, gate, up, down */
  double sides[] = { e + q, e + kv, e + kv, q + e, e + f, e + f, f + e };
  double frozen = c->n_layer * (e * (q + 2 * kv) + q * e + 3 * e * f) + e * c->n_vocab;
  double adapter = 0, attention = (double) c->n_layer * q * s->max_length;

  for (int t = 0; t < 7; t++)
    if (s->lora.targets & (1u << t))
      adapter += (double) s->lora.rank * sides[t] * c->n_layer;
  return 4 * frozen + 6 * adapter + 6 * attention
         + (s->recompute ? 2 * frozen + 2 * adapter + 2 * attention : 0);
}

/* The run's speed is kept for the CPU: the median of its steps after the
 * first (with SHORT_STEPS = 3, the faster of steps 2 and 3, as metrics.jsonl
 * has them) times the FLOPs of a token; the Settings page's time estimate
 * then follows the kept speed, in inverse proportion. */
static void
check_measured_speed (TemperSettings *settings,
                      const char     *run_dir,
                      GtkWidget      *settings_page)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(temper_run_t) run = temper_run_open (run_dir, &error);
  g_autoptr(GArray) metrics = NULL;
  g_autoptr(temper_model_t) model = NULL;
  double measured = temper_settings_get_measured_speed (settings, "cpu:0");
  double expected, seconds, seconds_twice_as_fast;
  gint64 steps;
  guint64 memory;

  g_assert_no_error (error);
  metrics = temper_run_read_metrics (run, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (metrics->len, ==, 3);
  model = temper_model_load (temper_run_get_model_path (run), NULL, &error);
  g_assert_no_error (error);
  expected = MAX (g_array_index (metrics, TemperRunMetrics, 1).tokens_per_s,
                  g_array_index (metrics, TemperRunMetrics, 2).tokens_per_s)
             * flops_per_token_by_hand (temper_model_get_config (model), temper_run_get_settings (run));
  g_assert_cmpfloat (measured, >, 0);
  g_assert_cmpfloat (fabs (measured - expected), <=, 1e-6 * expected);

  g_assert_true (temper_settings_page_get_estimate (TEMPER_SETTINGS_PAGE (settings_page), &steps, &seconds, &memory));
  temper_settings_set_measured_speed (settings, "cpu:0", 2 * measured);
  g_assert_true (temper_settings_page_get_estimate (TEMPER_SETTINGS_PAGE (settings_page), &steps, &seconds_twice_as_fast,
                                                    &memory));
  g_assert_cmpfloat (fabs (seconds - 2 * seconds_twice_as_fast), <=, 1e-9 * seconds);
  temper_settings_set_measured_speed (settings, "cpu:0", measured);
}

/* Whether a label under @widget shows @text. */
static gboolean
has_label_containing (GtkWidget *widget, const char *text)
{
  if (GTK_IS_LABEL (widget) && strstr (gtk_label_get_text (GTK_LABEL (widget)), text) != NULL)
    return TRUE;
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    if (has_label_containing (child, text))
      return TRUE;
  return FALSE;
}

static gboolean
can_show_training (gpointer window)
{
  return temper_window_show_step (window, "training") &&
         temper_training_page_get_state (TEMPER_TRAINING_PAGE (temper_window_get_page (window, "training"))) ==
           TEMPER_TRAINING_READY;
}

static void
test_train (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TemperSettings) settings = temper_settings_new (&error);
  g_autofree char *model_path = g_build_filename (g_getenv ("TEMPER_SOURCE_DIR") != NULL ? g_getenv ("TEMPER_SOURCE_DIR") : TEMPER_SOURCE_DIR,
                                                  "data", "models", DEMO_MODEL, NULL);
  g_autofree char *data_path = NULL;
  g_autofree char *finished_dir = NULL;
  g_autofree char *stopped_dir = NULL;
  g_autofree char *checkpoint = NULL;
  g_autoptr(temper_run_t) stopped_run = NULL;
  TemperTrainSettings quick, shown;
  TemperWindow *window;
  GtkWidget *root, *model_page, *dataset_page, *settings_page, *training_page, *runs_page, *chart;
  TemperTrainingPage *training;
  gboolean fired = FALSE;
  guint n_before;

  g_assert_no_error (error);
  if (!g_file_test (model_path, G_FILE_TEST_EXISTS))
    {
      g_test_skip ("the demo model is not downloaded (data/models/" DEMO_MODEL ")");
      return;
    }
  data_path = gui_test_write_capitals (g_get_tmp_dir (), "temper-training-test.jsonl");

  temper_settings_set_seen_welcome (settings, TRUE);
  window = temper_window_new (NULL, settings);
  root = GTK_WIDGET (window);
  g_object_add_weak_pointer (G_OBJECT (window), (gpointer *) &window);
  gtk_window_present (GTK_WINDOW (window));
  model_page = temper_window_get_page (window, "model");
  dataset_page = temper_window_get_page (window, "dataset");
  settings_page = temper_window_get_page (window, "settings");
  /* The estimate checked below follows the run's speed, which the rates
   * per kind of op (measured when a model is chosen) would take over from. */
  temper_settings_page_set_measure_speed (TEMPER_SETTINGS_PAGE (settings_page), FALSE);
  training_page = temper_window_get_page (window, "training");
  runs_page = temper_window_get_page (window, "runs");
  training = TEMPER_TRAINING_PAGE (training_page);
  chart = temper_training_page_get_chart (training);

  /* The history is open from the start, and empty. */
  g_assert_true (temper_window_show_step (window, "runs"));
  g_assert_true (gui_test_wait_for (gui_test_runs_idle, runs_page, 10000));
  g_assert_cmpuint (temper_runs_page_get_n_runs (TEMPER_RUNS_PAGE (runs_page)), ==, 0);
  g_assert_false (temper_window_show_step (window, "settings"));

  /* Model, then the dataset with its one broken record. */
  temper_model_page_choose (TEMPER_MODEL_PAGE (model_page), model_path);
  g_assert_true (gui_test_wait_for (model_page_settled, model_page, 120000));
  /* What the demo model's family (llama) and weights (Q4_1) mean. */
  g_assert_cmpstr (adw_action_row_get_subtitle (ADW_ACTION_ROW (gtk_widget_get_ancestor (
                     gui_test_find_named (model_page, "model-architecture"), ADW_TYPE_ACTION_ROW))),
                   ==, "Llama — Meta's open family (Llama 2 and 3, and models built on them such as SmolLM); chats mainly in English.");
  g_assert_cmpstr (adw_action_row_get_subtitle (ADW_ACTION_ROW (gtk_widget_get_ancestor (
                     gui_test_find_named (model_page, "model-quantization"), ADW_TYPE_ACTION_ROW))),
                   ==, "Q4_1 — 4-bit, about a quarter of the original size; small loss of quality");
  g_assert_true (temper_window_show_step (window, "dataset"));
  temper_dataset_page_open (TEMPER_DATASET_PAGE (dataset_page), data_path);
  g_assert_true (gui_test_wait_for (gui_test_dataset_idle, dataset_page, 60000));
  gui_test_settle (50);
  g_assert_cmpuint (count_problem_rows (dataset_page), ==, 1);
  g_assert_true (temper_page_get_complete (TEMPER_PAGE (dataset_page)));

  /* Settings: Quick shows the engine's automatic values for this model and
   * file in the Advanced fields. */
  gtk_widget_activate_action (root, "win.next-page", NULL);
  g_assert_cmpstr (temper_window_get_current_step (window), ==, "settings");
  temper_settings_page_set_preset (TEMPER_SETTINGS_PAGE (settings_page), TEMPER_PRESET_BALANCED);
  gtk_widget_activate (gui_test_find_named (settings_page, "preset-quick"));
  g_assert_cmpint (temper_settings_page_get_preset (TEMPER_SETTINGS_PAGE (settings_page)), ==, TEMPER_PRESET_QUICK);
  {
    g_autoptr(temper_model_t) reference = temper_model_load (model_path, NULL, &error);
    TemperTrainFacts facts = { 0 };

    g_assert_no_error (error);
    g_assert_true (temper_train_facts_measure (reference, data_path, NULL, &facts, &error));
    g_assert_no_error (error);
    temper_train_settings_choose (&facts, TEMPER_TRAIN_PRESET_QUICK, &quick, NULL);
  }
  temper_settings_page_get_train_settings (TEMPER_SETTINGS_PAGE (settings_page), &shown);
  g_assert_cmpint (shown.lora.rank, ==, quick.lora.rank);
  g_assert_cmpint (shown.max_steps, ==, quick.max_steps);
  g_assert_cmpfloat_with_epsilon (shown.learning_rate, quick.learning_rate, 1e-12);
  g_assert_cmpuint (shown.lora.targets, ==, quick.lora.targets);
  g_assert_cmpfloat (get_spin (settings_page, "lora-rank"), ==, quick.lora.rank);
  g_assert_cmpstr (adw_action_row_get_subtitle (ADW_ACTION_ROW (gui_test_find_named (settings_page, "estimate-time"))), !=, "");
  g_assert_true (temper_page_get_complete (TEMPER_PAGE (settings_page)));
  /* The demo model's layers are Q4_1 already: no 4-bit switch, and why. */
  g_assert_false (gtk_widget_get_sensitive (gui_test_find_named (settings_page, "base-4bit")));
  g_assert_nonnull (strstr (adw_action_row_get_subtitle (ADW_ACTION_ROW (gtk_widget_get_ancestor (
      gui_test_find_named (settings_page, "base-4bit"), ADW_TYPE_ACTION_ROW))), "Q4_1"));

  /* A shorter run for the test; the changed fields are the person's, and
   * the preset (how long it may take) stays. */
  gui_test_set_spin (settings_page, "max-steps", SHORT_STEPS);
  gui_test_set_spin (settings_page, "max-length", 64);
  gui_test_set_spin (settings_page, "micro-batch", 1);
  gui_test_set_spin (settings_page, "grad-accum", 1);
  gui_test_set_spin (settings_page, "eval-every", 2);
  gui_test_set_spin (settings_page, "checkpoint-every", 1);
  gui_test_set_spin (settings_page, "val-fraction", 0.25);
  g_assert_cmpint (temper_settings_page_get_preset (TEMPER_SETTINGS_PAGE (settings_page)), ==, TEMPER_PRESET_QUICK);
  g_assert_cmpstr (temper_settings_page_get_field_note (TEMPER_SETTINGS_PAGE (settings_page), "max-steps"), ==, "Set by you.");
  {
    gint64 steps = 0;
    double seconds = 0;
    guint64 memory = 0;

    /* The estimate is for the run as now set: its step count is the limit,
     * and the memory at least the weights as stored. */
    g_assert_true (temper_settings_page_get_estimate (TEMPER_SETTINGS_PAGE (settings_page), &steps, &seconds, &memory));
    g_assert_cmpint (steps, ==, SHORT_STEPS);
    g_assert_cmpfloat (seconds, >, 0);
    g_assert_cmpuint (memory, >, temper_model_get_file_size (temper_loaded_model_get_model (
        temper_model_page_get_model (TEMPER_MODEL_PAGE (model_page)))));
  }
  /* A value out of range closes the way on, with the engine's reason. */
  gui_test_set_spin (settings_page, "lora-alpha", 0.5);
  gtk_editable_set_text (GTK_EDITABLE (gui_test_find_named (settings_page, "lora-targets")), "q,nonsense");
  g_assert_false (temper_page_get_complete (TEMPER_PAGE (settings_page)));
  g_assert_true (gtk_widget_get_visible (gui_test_find_named (settings_page, "settings-invalid")));
  gtk_editable_set_text (GTK_EDITABLE (gui_test_find_named (settings_page, "lora-targets")), "q,v");
  gui_test_set_spin (settings_page, "lora-alpha", 16);
  g_assert_true (temper_page_get_complete (TEMPER_PAGE (settings_page)));

  /* Train a few steps on the CPU. */
  gtk_widget_activate_action (root, "win.next-page", NULL);
  g_assert_cmpstr (temper_window_get_current_step (window), ==, "training");
  g_assert_cmpint (temper_training_page_get_state (training), ==, TEMPER_TRAINING_READY);
  g_assert_false (temper_page_get_complete (TEMPER_PAGE (training_page)));
  gtk_widget_activate_action (training_page, "page.start", NULL);
  g_assert_true (temper_training_page_is_busy (training));
  g_assert_true (gui_test_wait_for (chart_has_point, training, 120000));
  g_assert_true (gui_test_wait_for (gui_test_training_idle, training, 240000));
  g_assert_cmpint (temper_training_page_get_state (training), ==, TEMPER_TRAINING_FINISHED);
  g_assert_true (temper_page_get_complete (TEMPER_PAGE (training_page)));
  finished_dir = g_strdup (temper_training_page_get_run_dir (training));
  g_assert_nonnull (finished_dir);
  check_run_folder (finished_dir, SHORT_STEPS, chart);
  check_measured_speed (settings, finished_dir, settings_page);

  /* Finished: the one primary button is Compare, and it opens this run
   * on the Compare page; training again and Next are secondary. */
  {
    GtkWidget *compare = gui_test_find_named (training_page, "compare-button");
    GtkWidget *start = gui_test_find_named (training_page, "start-button");
    GtkWidget *next = gui_test_find_named (root, "next-button");

    g_assert_nonnull (compare);
    g_assert_true (gtk_widget_get_visible (compare) && gtk_widget_is_sensitive (compare));
    g_assert_true (gtk_widget_has_css_class (compare, "suggested-action"));
    g_assert_true (gtk_widget_get_visible (start));
    g_assert_false (gtk_widget_has_css_class (start, "suggested-action"));
    g_assert_false (gtk_widget_has_css_class (next, "suggested-action"));
    g_signal_emit_by_name (compare, "clicked");
    g_assert_cmpstr (temper_window_get_current_step (window), ==, "compare");
    g_assert_cmpstr (temper_compare_page_get_run_dir (TEMPER_COMPARE_PAGE (temper_window_get_page (window, "compare"))),
                     ==, finished_dir);
    /* Elsewhere Next is the primary button again. */
    g_assert_true (gtk_widget_has_css_class (next, "suggested-action"));
    g_assert_true (gui_test_wait_for (gui_test_compare_idle, temper_window_get_page (window, "compare"), 60000));
    g_assert_true (temper_window_show_step (window, "training"));
  }

  /* A long run, stopped part-way: the window answers at once while the
   * worker saves, and the run goes on from its checkpoint. */
  g_assert_true (temper_window_show_step (window, "settings"));
  /* Shown again, the page estimates from the speed the run measured. */
  g_assert_nonnull (strstr (adw_action_row_get_subtitle (ADW_ACTION_ROW (gui_test_find_named (settings_page, "estimate-time"))),
                            "last run"));
  gui_test_set_spin (settings_page, "max-steps", 500);
  g_assert_true (temper_window_show_step (window, "training"));
  g_assert_cmpint (temper_training_page_get_state (training), ==, TEMPER_TRAINING_READY);
  g_assert_null (temper_training_page_get_run_dir (training));
  gtk_widget_activate_action (training_page, "page.start", NULL);
  g_assert_true (gui_test_wait_for (chart_has_point, training, 120000));
  gtk_widget_activate_action (training_page, "page.stop", NULL);
  g_timeout_add (20, gui_test_set_flag, &fired);
  g_assert_true (gui_test_wait_for (gui_test_flag_set, &fired, 1000));
  g_assert_true (gui_test_wait_for (gui_test_training_idle, training, 120000));
  g_assert_cmpint (temper_training_page_get_state (training), ==, TEMPER_TRAINING_STOPPED);
  stopped_dir = g_strdup (temper_training_page_get_run_dir (training));
  stopped_run = temper_run_open (stopped_dir, &error);
  g_assert_no_error (error);
  checkpoint = temper_run_find_latest_checkpoint (stopped_run);
  g_assert_nonnull (checkpoint);
  g_assert_true (gtk_widget_get_visible (gui_test_find_named (training_page, "resume-button")));

  /* While another process trains it (here: holds its lock), resuming says
   * so in the page's banner and leaves the run alone. */
  {
    g_autoptr(temper_run_t) blocker = temper_run_open (stopped_dir, &error);
    GtkWidget *banner = gui_test_find_named (training_page, "training-error");

    g_assert_no_error (error);
    g_assert_true (temper_run_lock (blocker, TEMPER_RUN_USE_TRAINING, &error));
    g_assert_no_error (error);
    gtk_widget_activate_action (training_page, "page.resume", NULL);
    g_assert_true (gui_test_wait_for (gui_test_training_idle, training, 120000));
    g_assert_cmpint (temper_training_page_get_state (training), ==, TEMPER_TRAINING_FAILED);
    g_assert_true (gtk_widget_get_visible (banner));
    g_assert_true (has_label_containing (banner, "This run is being trained by"));
  }

  n_before = temper_loss_chart_get_n_points (TEMPER_LOSS_CHART (chart), TEMPER_LOSS_SERIES_TRAINING);
  gtk_widget_activate_action (training_page, "page.resume", NULL);
  g_assert_true (temper_training_page_is_busy (training));
  g_assert_cmpstr (temper_training_page_get_run_dir (training), ==, stopped_dir);

  /* The resumed run goes past where it stopped. */
  {
    PointCount count = { training, n_before };

    g_assert_true (gui_test_wait_for (chart_has_more, &count, 120000));
  }

  /* Closing while training asks first; "Stop and Close" stops, then closes. */
  gtk_window_close (GTK_WINDOW (window));
  gui_test_settle (100);
  g_assert_nonnull (window);
  {
    GListModel *toplevels = gtk_window_get_toplevels ();
    AdwMessageDialog *dialog = NULL;

    for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
      {
        g_autoptr(GObject) item = g_list_model_get_item (toplevels, i);

        if (ADW_IS_MESSAGE_DIALOG (item))
          dialog = ADW_MESSAGE_DIALOG (item);
      }
    g_assert_nonnull (dialog);
    adw_message_dialog_response (dialog, "stop");
  }
  while (window != NULL && g_main_context_iteration (NULL, TRUE))
    ;
  g_assert_null (window);
  g_assert_cmpuint (n_before, >=, 1);
  {
    g_autoptr(GArray) metrics = temper_run_read_metrics (stopped_run, &error);

    /* Stopped twice, resumed once: every step once, in order, and more of
     * them than before the resume. */
    g_assert_no_error (error);
    g_assert_cmpuint (metrics->len, >, n_before);
    for (guint i = 0; i < metrics->len; i++)
      g_assert_cmpint (g_array_index (metrics, TemperRunMetrics, i).step, ==, (gint64) i + 1);
  }

  /* The runs page of a new window lists both runs and reopens the finished
   * one: model, dataset and settings come back with it. */
  window = temper_window_new (NULL, settings);
  root = GTK_WIDGET (window);
  gtk_window_present (GTK_WINDOW (window));
  runs_page = temper_window_get_page (window, "runs");
  training = TEMPER_TRAINING_PAGE (temper_window_get_page (window, "training"));
  settings_page = temper_window_get_page (window, "settings");
  g_assert_true (temper_window_show_step (window, "runs"));
  g_assert_true (gui_test_wait_for (gui_test_runs_listed, runs_page, 10000));
  g_assert_cmpuint (temper_runs_page_get_n_runs (TEMPER_RUNS_PAGE (runs_page)), ==, 2);
  for (guint i = 0; i < 2; i++)
    if (g_str_equal (temper_runs_page_get_run_dir (TEMPER_RUNS_PAGE (runs_page), i), finished_dir))
      g_signal_emit_by_name (runs_page, "open-run", finished_dir);
  g_assert_true (gui_test_wait_for (has_run_dir, training, 120000));
  g_assert_true (gui_test_wait_for (gui_test_on_training, window, 60000));
  g_assert_cmpstr (temper_training_page_get_run_dir (training), ==, finished_dir);
  g_assert_cmpint (temper_training_page_get_state (training), ==, TEMPER_TRAINING_FINISHED);
  g_assert_cmpfloat (get_spin (settings_page, "max-steps"), ==, SHORT_STEPS);
  g_assert_cmpuint (temper_loss_chart_get_n_points (TEMPER_LOSS_CHART (temper_training_page_get_chart (training)),
                                                    TEMPER_LOSS_SERIES_TRAINING), ==, SHORT_STEPS);

  /* "Continue from This Run": a new run that starts from the finished
   * run's adapter (RUN/start-adapter/from.json names it). */
  {
    GtkWidget *more = NULL;
    g_autofree char *from_json = NULL, *from_text = NULL;

    g_assert_true (temper_window_show_step (window, "runs"));
    g_assert_true (gui_test_wait_for (gui_test_runs_listed, runs_page, 10000));
    for (guint i = 0; i < 2 && more == NULL; i++)
      if (g_str_equal (temper_runs_page_get_run_dir (TEMPER_RUNS_PAGE (runs_page), i), finished_dir))
        more = gui_test_find_named (GTK_WIDGET (gtk_list_box_get_row_at_index (GTK_LIST_BOX (gui_test_find_named (runs_page, "runs-list")), (int) i)),
                                    "continue-run");
    g_assert_nonnull (more);
    g_signal_emit_by_name (more, "clicked");
    g_assert_cmpstr (temper_training_page_get_start_from (training), ==, finished_dir);
    /* The model loads again; then the way to Training is open. */
    g_assert_true (gui_test_wait_for (can_show_training, window, 120000));
    gtk_widget_activate_action (temper_window_get_page (window, "training"), "page.start", NULL);
    g_assert_true (gui_test_wait_for (gui_test_training_idle, training, 240000));
    g_assert_cmpint (temper_training_page_get_state (training), ==, TEMPER_TRAINING_FINISHED);
    g_assert_cmpstr (temper_training_page_get_run_dir (training), !=, finished_dir);
    from_json = g_build_filename (temper_training_page_get_run_dir (training), "start-adapter", "from.json", NULL);
    g_assert_true (g_file_get_contents (from_json, &from_text, NULL, NULL));
    g_assert_nonnull (strstr (from_text, finished_dir));
  }

  gtk_window_destroy (GTK_WINDOW (window));
  gui_test_settle (50);
  g_unlink (data_path);
}

static guint64
estimated_memory (GtkWidget *settings_page)
{
  gint64 steps = 0;
  double seconds = 0;
  guint64 memory = 0;

  g_assert_true (temper_settings_page_get_estimate (TEMPER_SETTINGS_PAGE (settings_page), &steps, &seconds, &memory));
  return memory;
}

/* A Hugging Face model (F32 layers) trained with the 4-bit switch on: the
 * estimate drops by what NF4 saves, the run records NF4 base weights and
 * trains on them (train.log), and the model the other pages share is left
 * as it was loaded. */
static void
test_four_bit (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TemperSettings) settings = temper_settings_new (&error);
  g_autofree char *model_path = g_build_filename (g_getenv ("TEMPER_SOURCE_DIR") != NULL ? g_getenv ("TEMPER_SOURCE_DIR") : TEMPER_SOURCE_DIR,
                                                  "tests", "fixtures", "train", "tiny-llama", NULL);
  g_autofree char *data_path = gui_test_write_capitals (g_get_tmp_dir (), "temper-training-4bit.jsonl");
  g_autofree char *log_path = NULL, *log = NULL;
  g_autoptr(temper_run_t) run = NULL;
  const temper_model_t *shared;
  GtkWidget *model_page, *dataset_page, *settings_page, *training_page, *four_bit;
  TemperTrainSettings shown;
  TemperWindow *window;
  guint64 stored_memory, nf4_memory, saved;

  g_assert_no_error (error);
  temper_settings_set_seen_welcome (settings, TRUE);
  window = temper_window_new (NULL, settings);
  gtk_window_present (GTK_WINDOW (window));
  model_page = temper_window_get_page (window, "model");
  dataset_page = temper_window_get_page (window, "dataset");
  settings_page = temper_window_get_page (window, "settings");
  /* The estimate checked below follows the run's speed, which the rates
   * per kind of op (measured when a model is chosen) would take over from. */
  temper_settings_page_set_measure_speed (TEMPER_SETTINGS_PAGE (settings_page), FALSE);
  training_page = temper_window_get_page (window, "training");

  temper_model_page_choose (TEMPER_MODEL_PAGE (model_page), model_path);
  g_assert_true (gui_test_wait_for (model_page_settled, model_page, 60000));
  shared = temper_loaded_model_get_model (temper_model_page_get_model (TEMPER_MODEL_PAGE (model_page)));
  temper_dataset_page_open (TEMPER_DATASET_PAGE (dataset_page), data_path);
  g_assert_true (gui_test_wait_for (gui_test_dataset_idle, dataset_page, 60000));
  g_assert_true (temper_window_show_step (window, "settings"));
  gtk_widget_activate (gui_test_find_named (settings_page, "preset-quick"));
  gui_test_set_spin (settings_page, "max-steps", 2);
  gui_test_set_spin (settings_page, "max-length", 64);
  gui_test_set_spin (settings_page, "micro-batch", 1);
  gui_test_set_spin (settings_page, "grad-accum", 1);

  four_bit = gui_test_find_named (settings_page, "base-4bit");
  g_assert_true (gtk_widget_get_sensitive (four_bit));
  g_assert_false (gtk_switch_get_active (GTK_SWITCH (four_bit)));
  stored_memory = estimated_memory (settings_page);
  gtk_switch_set_active (GTK_SWITCH (four_bit), TRUE);
  nf4_memory = estimated_memory (settings_page);
  /* The estimate drops by exactly what the NF4 projections save. */
  saved = temper_model_get_weight_bytes (shared)
          - temper_model_estimate_weight_bytes (shared, TEMPER_BASE_WEIGHTS_NF4);
  g_assert_cmpuint (saved, >, 0);
  g_assert_cmpuint (stored_memory - nf4_memory, ==, saved);
  g_assert_cmpuint (nf4_memory, <, stored_memory);
  temper_settings_page_get_train_settings (TEMPER_SETTINGS_PAGE (settings_page), &shown);
  g_assert_cmpint (shown.base_weights, ==, TEMPER_BASE_WEIGHTS_NF4);

  g_assert_true (temper_window_show_step (window, "training"));
  gtk_widget_activate_action (training_page, "page.start", NULL);
  g_assert_true (gui_test_wait_for (gui_test_training_idle, training_page, 120000));
  g_assert_cmpint (temper_training_page_get_state (TEMPER_TRAINING_PAGE (training_page)), ==,
                   TEMPER_TRAINING_FINISHED);

  run = temper_run_open (temper_training_page_get_run_dir (TEMPER_TRAINING_PAGE (training_page)), &error);
  g_assert_no_error (error);
  g_assert_cmpint (temper_run_get_settings (run)->base_weights, ==, TEMPER_BASE_WEIGHTS_NF4);
  log_path = g_build_filename (temper_run_get_dir (run), "train.log", NULL);
  g_assert_true (g_file_get_contents (log_path, &log, NULL, &error));
  g_assert_nonnull (strstr (log, "NF4"));
  g_assert_cmpint (temper_model_get_base_weights (shared), ==, TEMPER_BASE_WEIGHTS_STORED);

  gtk_window_destroy (GTK_WINDOW (window));
  gui_test_settle (50);
  g_unlink (data_path);
}

int
main (int   argc,
      char *argv[])
{
  gui_test_init (&argc, &argv);
  g_test_add_func ("/training/walk", test_train);
  g_test_add_func ("/training/four-bit", test_four_bit);
  return g_test_run ();
}
