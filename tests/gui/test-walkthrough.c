/* SPDX-License-Identifier: MIT */
/* test-walkthrough.c — the whole path through the window, as a person
 * walks it, on the tiny demo model and the CPU:
 *
 *   choose the model → open a dataset whose line 5 is broken (reported) →
 *   pick "Quick try" → train a few steps and watch the chart fill → stop
 *   part-way (the window keeps answering), resume from the checkpoint, run
 *   to the end → compare base and tuned answers in blind mode and judge
 *   them (saved with the run) → export the adapter for llama.cpp and for PEFT, cancel a
 *   merged GGUF half-way, export it for Ollama with its Modelfile and the
 *   template check, and see a bad destination reported in the page →
 *   reopen the run from the Runs page in a new window: every page comes
 *   back (model, dataset, settings, chart, ratings, earlier exports).
 *
 * Expectations come from the inputs and from independent readers: the
 * steps from the settings, the chart from the run's own metrics.jsonl, the
 * exported adapters read back by the engine's importers and compared
 * number for number with the run's adapter, the file names from the
 * documented layout. */
#include "config.h"

#include <math.h>
#include <string.h>

#include <glib/gstdio.h>

#include "temper/export.h"
#include "temper/run.h"
#include "temper/train.h"
#include "gui-test-util.h"
#include "temper-answer-column.h"
#include "temper-compare-page.h"
#include "temper-dataset-page.h"
#include "temper-export-page.h"
#include "temper-loss-chart.h"
#include "temper-model-page.h"
#include "temper-page.h"
#include "temper-runs-page.h"
#include "temper-settings.h"
#include "temper-settings-page.h"
#include "temper-training-page.h"
#include "temper-window.h"

#define DEMO_MODEL "SmolLM2-135M-Instruct.Q4_1.gguf"
#define RUN_STEPS  8

/* ---- Waiting ------------------------------------------------------------- */

static gboolean
model_loaded (gpointer data)
{
  return !temper_model_page_is_busy (data) && temper_model_page_get_model (data) != NULL;
}

static gboolean
dataset_checked (gpointer data)
{
  return !temper_dataset_page_is_busy (data);
}

static gboolean
export_idle (gpointer data)
{
  return !temper_export_page_is_busy (data);
}

static guint
chart_points (TemperTrainingPage *page,
              TemperLossSeries    series)
{
  return temper_loss_chart_get_n_points (TEMPER_LOSS_CHART (temper_training_page_get_chart (page)), series);
}

typedef struct {
  TemperTrainingPage *page;
  guint               n;
} PointCount;

static gboolean
chart_has_more (gpointer data)
{
  PointCount *count = data;

  return chart_points (count->page, TEMPER_LOSS_SERIES_TRAINING) > count->n;
}

/* ---- Inputs -------------------------------------------------------------- */

/* Eight good prompt/response records and, on line 5, one without its
 * response. */
static double
get_spin (GtkWidget  *page,
          const char *name)
{
  GtkWidget *spin = gui_test_find_named (page, name);

  g_assert_true (GTK_IS_SPIN_BUTTON (spin));
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

static gboolean
widget_shown (GtkWidget  *root,
              const char *name)
{
  GtkWidget *widget = gui_test_find_named (root, name);

  g_assert_nonnull (widget);
  return gtk_widget_is_visible (widget);
}

/* ---- Checks on files ----------------------------------------------------- */

/* The adapter's numbers as one vector (engine order), for comparisons. */
static float *
flatten (temper_adapter_t        *adapter,
         const TemperModelConfig *config,
         guint64                 *n)
{
  float *flat;

  *n = temper_lora_count_params (adapter, config);
  flat = g_new (float, *n);
  temper_lora_gather (adapter, config, flat);
  return flat;
}

/* @exported, read back by the engine, is the run's own adapter, number for
 * number (both are F32, and the importers undo every reordering). */
static void
assert_same_adapter (temper_adapter_t *exported,
                     const char       *run_dir,
                     const temper_model_t *model)
{
  const TemperModelConfig *config = temper_model_get_config (model);
  g_autoptr(GError) error = NULL;
  g_autoptr(temper_run_t) run = temper_run_open (run_dir, &error);
  g_autofree char *adapter_dir = NULL;
  g_autoptr(temper_adapter_t) trained = NULL;
  g_autofree float *a = NULL, *b = NULL;
  guint64 na = 0, nb = 0;
  double largest = 0;

  g_assert_no_error (error);
  adapter_dir = temper_run_dup_adapter_dir (run);
  trained = temper_lora_load_peft (adapter_dir, config, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (temper_adapter_get_rank (exported), ==, temper_adapter_get_rank (trained));
  g_assert_cmpuint (temper_adapter_get_targets (exported), ==, temper_adapter_get_targets (trained));
  g_assert_cmpfloat_with_epsilon (temper_adapter_get_scale (exported), temper_adapter_get_scale (trained), 1e-6);
  a = flatten (exported, config, &na);
  b = flatten (trained, config, &nb);
  g_assert_cmpuint (na, ==, nb);
  for (guint64 i = 0; i < na; i++)
    {
      g_assert_cmpfloat (fabsf (a[i] - b[i]), <=, 1e-6f * (1.0f + fabsf (b[i])));
      largest = MAX (largest, fabsf (b[i]));
    }
  /* Training moved B away from zero: the comparison compared something. */
  g_assert_cmpfloat (largest, >, 0);
}

/* Nothing of an unfinished export: no file under the final name and none
 * of the engine's hidden temporary names. */
static void
assert_nothing_left (const char *folder,
                     const char *final_path)
{
  g_autoptr(GDir) dir = g_dir_open (folder, 0, NULL);
  const char *name;

  g_assert_false (g_file_test (final_path, G_FILE_TEST_EXISTS));
  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    g_assert_false (name[0] == '.');
}

/* The text the clipboard offers now, read from this process's own
 * provider: what any app pasting would receive. */
static char *
clipboard_text (GtkWidget *widget)
{
  GdkContentProvider *content = gdk_clipboard_get_content (gtk_widget_get_clipboard (widget));
  g_auto(GValue) value = G_VALUE_INIT;
  g_autoptr(GError) error = NULL;

  g_assert_nonnull (content);
  g_value_init (&value, G_TYPE_STRING);
  gdk_content_provider_get_value (content, &value, &error);
  g_assert_no_error (error);
  return g_value_dup_string (&value);
}

/* ---- A file manager on a private session bus ----------------------------
 *
 * "Show in Files" asks the freedesktop file manager interface to show the
 * export; this stand-in records what it was asked to show. */

static const char file_manager_xml[] =
  "<node>"
  "  <interface name='org.freedesktop.FileManager1'>"
  "    <method name='ShowItems'>"
  "      <arg type='as' name='uris' direction='in'/>"
  "      <arg type='s' name='startup_id' direction='in'/>"
  "    </method>"
  "  </interface>"
  "</node>";

static void
file_manager_call (GDBusConnection       *connection,
                   const char            *sender,
                   const char            *object_path,
                   const char            *interface_name,
                   const char            *method_name,
                   GVariant              *parameters,
                   GDBusMethodInvocation *invocation,
                   gpointer               user_data)
{
  char **shown = user_data;
  g_autofree const char **uris = NULL;
  const char *startup_id = NULL;

  g_variant_get (parameters, "(^a&s&s)", &uris, &startup_id);
  g_assert_cmpuint (g_strv_length ((char **) uris), ==, 1);
  g_free (*shown);
  *shown = g_strdup (uris[0]);
  g_dbus_method_invocation_return_value (invocation, NULL);
}

static const GDBusInterfaceVTable file_manager_vtable = { file_manager_call, NULL, NULL, { 0 } };

static gboolean
string_set (gpointer data)
{
  return *(char **) data != NULL;
}

/* Clicks "Show in Files" and returns the URI the file manager was asked
 * to show, or NULL where no private bus could be started. */
static char *
show_in_files (GtkWidget *page)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GDBusConnection) bus = NULL;
  g_autoptr(GDBusNodeInfo) info = NULL;
  char *shown = NULL;
  guint object_id, name_id;

  if (g_getenv ("DBUS_SESSION_BUS_ADDRESS") == NULL)
    return NULL;
  bus = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, &error);
  g_assert_no_error (error);
  info = g_dbus_node_info_new_for_xml (file_manager_xml, &error);
  g_assert_no_error (error);
  object_id = g_dbus_connection_register_object (bus, "/org/freedesktop/FileManager1", info->interfaces[0],
                                                 &file_manager_vtable, &shown, NULL, &error);
  g_assert_no_error (error);
  name_id = g_bus_own_name_on_connection (bus, "org.freedesktop.FileManager1", G_BUS_NAME_OWNER_FLAGS_NONE,
                                          NULL, NULL, NULL, NULL);
  gui_test_settle (200);

  /* A button activated from the keyboard clicks after its press shows. */
  gtk_widget_activate (gui_test_find_named (page, "show-in-files"));
  g_assert_true (gui_test_wait_for (string_set, &shown, 10000));

  g_bus_unown_name (name_id);
  g_dbus_connection_unregister_object (bus, object_id);
  return shown;
}

/* ---- The walk ------------------------------------------------------------ */

typedef struct {
  TemperWindow       *window;
  GtkWidget          *root;
  GtkWidget          *model_page;
  GtkWidget          *dataset_page;
  GtkWidget          *settings_page;
  GtkWidget          *training_page;
  GtkWidget          *export_page;
  GtkWidget          *runs_page;
  GtkWidget          *compare_page;
  TemperTrainingPage *training;
  TemperComparePage  *compare;
  TemperExportPage   *export;
} Walk;

static void
walk_open (Walk           *walk,
           TemperSettings *settings)
{
  walk->window = temper_window_new (NULL, settings);
  walk->root = GTK_WIDGET (walk->window);
  g_object_add_weak_pointer (G_OBJECT (walk->window), (gpointer *) &walk->window);
  gtk_window_present (GTK_WINDOW (walk->window));
  walk->model_page = temper_window_get_page (walk->window, "model");
  walk->dataset_page = temper_window_get_page (walk->window, "dataset");
  walk->settings_page = temper_window_get_page (walk->window, "settings");
  walk->training_page = temper_window_get_page (walk->window, "training");
  walk->compare_page = temper_window_get_page (walk->window, "compare");
  walk->export_page = temper_window_get_page (walk->window, "export");
  walk->runs_page = temper_window_get_page (walk->window, "runs");
  walk->training = TEMPER_TRAINING_PAGE (walk->training_page);
  walk->compare = TEMPER_COMPARE_PAGE (walk->compare_page);
  walk->export = TEMPER_EXPORT_PAGE (walk->export_page);
}

static void
walk_close (Walk *walk)
{
  gtk_window_destroy (GTK_WINDOW (walk->window));
  gui_test_settle (50);
  g_assert_null (walk->window);
}

static void
choose_model_and_data (Walk       *walk,
                       const char *model_path,
                       const char *data_path)
{
  g_assert_false (temper_window_show_step (walk->window, "dataset"));
  temper_model_page_choose (TEMPER_MODEL_PAGE (walk->model_page), model_path);
  g_assert_true (gui_test_wait_for (model_loaded, walk->model_page, 120000));
  g_assert_true (temper_page_get_complete (TEMPER_PAGE (walk->model_page)));

  gtk_widget_activate_action (walk->root, "win.next-page", NULL);
  g_assert_cmpstr (temper_window_get_current_step (walk->window), ==, "dataset");
  g_assert_false (temper_page_get_complete (TEMPER_PAGE (walk->dataset_page)));
  temper_dataset_page_open (TEMPER_DATASET_PAGE (walk->dataset_page), data_path);
  g_assert_true (gui_test_wait_for (dataset_checked, walk->dataset_page, 60000));
  gui_test_settle (50);
  /* The broken record is reported with its line; the rest are usable. */
  g_assert_cmpuint (count_problem_rows (walk->dataset_page), ==, 1);
  g_assert_true (temper_page_get_complete (TEMPER_PAGE (walk->dataset_page)));
}

static void
pick_quick_preset (Walk *walk, const char *model_path)
{
  TemperTrainSettings quick, shown;

  gtk_widget_activate_action (walk->root, "win.next-page", NULL);
  g_assert_cmpstr (temper_window_get_current_step (walk->window), ==, "settings");
  temper_settings_page_set_preset (TEMPER_SETTINGS_PAGE (walk->settings_page), TEMPER_PRESET_THOROUGH);
  gtk_widget_activate (gui_test_find_named (walk->settings_page, "preset-quick"));
  g_assert_cmpint (temper_settings_page_get_preset (TEMPER_SETTINGS_PAGE (walk->settings_page)), ==,
                   TEMPER_PRESET_QUICK);
  /* The engine's automatic values for this model and file, within Quick. */
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(temper_model_t) reference = temper_model_load (model_path, NULL, &error);
    TemperTrainFacts facts = { 0 };

    g_assert_no_error (error);
    g_assert_true (temper_train_facts_measure (reference, temper_dataset_page_get_path (TEMPER_DATASET_PAGE (walk->dataset_page)),
                                               NULL, &facts, &error));
    g_assert_no_error (error);
    temper_train_settings_choose (&facts, TEMPER_TRAIN_PRESET_QUICK, &quick, NULL);
  }
  temper_settings_page_get_train_settings (TEMPER_SETTINGS_PAGE (walk->settings_page), &shown);
  g_assert_cmpint (shown.lora.rank, ==, quick.lora.rank);
  g_assert_cmpint (shown.max_steps, ==, quick.max_steps);
  g_assert_cmpfloat (get_spin (walk->settings_page, "lora-rank"), ==, quick.lora.rank);

  /* Shorter, so the test stays quick; a checkpoint every step so a stop
   * always has one to resume from. */
  gui_test_set_spin (walk->settings_page, "max-steps", RUN_STEPS);
  gui_test_set_spin (walk->settings_page, "max-length", 64);
  gui_test_set_spin (walk->settings_page, "micro-batch", 1);
  gui_test_set_spin (walk->settings_page, "grad-accum", 1);
  gui_test_set_spin (walk->settings_page, "eval-every", 4);
  gui_test_set_spin (walk->settings_page, "checkpoint-every", 1);
  gui_test_set_spin (walk->settings_page, "val-fraction", 0.25);
  g_assert_true (temper_page_get_complete (TEMPER_PAGE (walk->settings_page)));
}

/* Starts, stops after the first point, resumes and runs to the end;
 * returns the run folder. */
static char *
train_with_a_stop (Walk *walk)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(temper_run_t) run = NULL;
  g_autoptr(GArray) metrics = NULL;
  g_autofree char *checkpoint = NULL;
  g_autofree char *adapter_dir = NULL;
  g_autofree char *stopped_adapter = NULL;
  char *run_dir;
  gboolean fired = FALSE;
  guint n_val = 0;
  PointCount count;

  gtk_widget_activate_action (walk->root, "win.next-page", NULL);
  g_assert_cmpstr (temper_window_get_current_step (walk->window), ==, "training");
  g_assert_false (temper_window_show_step (walk->window, "export"));
  g_assert_cmpint (temper_training_page_get_state (walk->training), ==, TEMPER_TRAINING_READY);
  g_assert_true (widget_shown (walk->training_page, "start-button"));

  gtk_widget_activate_action (walk->training_page, "page.start", NULL);
  g_assert_true (temper_training_page_is_busy (walk->training));
  g_assert_true (widget_shown (walk->training_page, "stop-button"));
  count.page = walk->training;
  count.n = 0;
  g_assert_true (gui_test_wait_for (chart_has_more, &count, 120000));

  /* Stop: the window answers at once while the worker saves. */
  gtk_widget_activate_action (walk->training_page, "page.stop", NULL);
  g_timeout_add (20, gui_test_set_flag, &fired);
  g_assert_true (gui_test_wait_for (gui_test_flag_set, &fired, 1000));
  g_assert_true (temper_window_show_step (walk->window, "settings"));
  g_assert_true (temper_window_show_step (walk->window, "training"));
  g_assert_true (gui_test_wait_for (gui_test_training_idle, walk->training, 120000));
  g_assert_cmpint (temper_training_page_get_state (walk->training), ==, TEMPER_TRAINING_STOPPED);
  g_assert_false (temper_page_get_complete (TEMPER_PAGE (walk->training_page)));
  g_assert_true (widget_shown (walk->training_page, "resume-button"));
  run_dir = g_strdup (temper_training_page_get_run_dir (walk->training));
  run = temper_run_open (run_dir, &error);
  g_assert_no_error (error);
  checkpoint = temper_run_find_latest_checkpoint (run);
  g_assert_nonnull (checkpoint);
  adapter_dir = temper_run_dup_adapter_dir (run);
  g_assert_false (g_file_test (adapter_dir, G_FILE_TEST_EXISTS));

  /* Resume: the same run goes on past where it stopped, to the end. */
  count.n = chart_points (walk->training, TEMPER_LOSS_SERIES_TRAINING);
  g_assert_cmpuint (count.n, <, RUN_STEPS);
  gtk_widget_activate_action (walk->training_page, "page.resume", NULL);
  g_assert_true (temper_training_page_is_busy (walk->training));
  g_assert_cmpstr (temper_training_page_get_run_dir (walk->training), ==, run_dir);
  g_assert_true (gui_test_wait_for (chart_has_more, &count, 120000));
  g_assert_true (gui_test_wait_for (gui_test_training_idle, walk->training, 240000));
  g_assert_cmpint (temper_training_page_get_state (walk->training), ==, TEMPER_TRAINING_FINISHED);
  g_assert_true (temper_page_get_complete (TEMPER_PAGE (walk->training_page)));

  /* Every step once, in order, and the chart shows exactly those. */
  metrics = temper_run_read_metrics (run, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (metrics->len, ==, RUN_STEPS);
  for (guint i = 0; i < metrics->len; i++)
    {
      const TemperRunMetrics *m = &g_array_index (metrics, TemperRunMetrics, i);

      g_assert_cmpint (m->step, ==, (gint64) i + 1);
      g_assert_true (isfinite (m->loss) && m->loss > 0);
      n_val += isfinite (m->val_loss);
    }
  g_assert_cmpuint (chart_points (walk->training, TEMPER_LOSS_SERIES_TRAINING), ==, RUN_STEPS);
  g_assert_cmpuint (chart_points (walk->training, TEMPER_LOSS_SERIES_VALIDATION), ==, n_val);
  g_assert_cmpuint (n_val, >=, 1);
  stopped_adapter = g_build_filename (adapter_dir, "adapter_model.safetensors", NULL);
  g_assert_true (g_file_test (stopped_adapter, G_FILE_TEST_IS_REGULAR));
  return run_dir;
}

/* The saved ratings say @verdict for prompt @prompt. */
typedef struct {
  const char *path;
  const char *verdict;
} SavedVerdict;

static gboolean
verdict_saved (gpointer data)
{
  SavedVerdict *saved = data;
  g_autoptr(TemperRatings) ratings = temper_ratings_load (saved->path, NULL);

  return ratings != NULL && temper_ratings_get_n_prompts (ratings) > 0 &&
         g_strcmp0 (temper_ratings_get_verdict (ratings, 0), saved->verdict) == 0;
}

/* Blind mode: the columns' order is the ratings' own draw for the prompt,
 * their titles do not say which model wrote them, and the person's pick is
 * recorded against the right model and saved with the run.  Returns the
 * source judged better on the first prompt. */
static char *
compare_blind (Walk       *walk,
               const char *run_dir)
{
  g_autofree char *ratings_path = g_build_filename (run_dir, "ratings.json", NULL);
  TemperRatings *ratings;
  guint order[TEMPER_RATINGS_MAX_SOURCES];
  guint n_sources;
  GtkWidget *first;
  char *picked;
  SavedVerdict saved;

  gtk_widget_activate_action (walk->root, "win.next-page", NULL);
  g_assert_cmpstr (temper_window_get_current_step (walk->window), ==, "compare");
  g_assert_true (gui_test_wait_for (gui_test_compare_idle, walk->compare, 60000));
  g_assert_cmpstr (temper_compare_page_get_run_dir (walk->compare), ==, run_dir);
  ratings = temper_compare_page_get_ratings (walk->compare);
  g_assert_nonnull (ratings);
  /* The validation split's questions are there to compare on. */
  g_assert_cmpuint (temper_ratings_get_n_prompts (ratings), >=, 1);

  gtk_switch_set_active (GTK_SWITCH (gui_test_find_named (walk->compare_page, "blind-switch")), TRUE);
  g_assert_true (temper_compare_page_get_blind (walk->compare));
  gui_test_set_spin (walk->compare_page, "max-tokens", 8);
  temper_compare_page_show_prompt (walk->compare, 0);
  gtk_widget_activate_action (walk->compare_page, "page.generate", NULL);
  g_assert_true (temper_compare_page_is_generating (walk->compare));
  g_assert_true (gui_test_wait_for (gui_test_compare_idle, walk->compare, 240000));
  g_assert_true (temper_ratings_has_answers (ratings, 0));

  n_sources = temper_ratings_get_n_sources (ratings);
  g_assert_cmpuint (n_sources, >=, 2);
  g_assert_cmpuint (temper_compare_page_get_n_columns (walk->compare), ==, n_sources);
  temper_ratings_get_order (ratings, 0, order);
  for (guint i = 0; i < n_sources; i++)
    {
      TemperAnswerColumn *column = TEMPER_ANSWER_COLUMN (temper_compare_page_get_column (walk->compare, i));
      const char *source = temper_compare_page_get_column_source (walk->compare, i);
      g_autofree char *text = temper_answer_column_dup_text (column);
      g_autofree char *title = g_utf8_strdown (temper_answer_column_get_title (column), -1);

      g_assert_cmpstr (source, ==, temper_ratings_get_source (ratings, order[i]));
      g_assert_cmpstr (text, ==, temper_ratings_get_answer (ratings, 0, source));
      g_assert_null (strstr (title, "base"));
      g_assert_null (strstr (title, "tuned"));
      g_assert_null (strstr (title, "final"));
    }

  /* The person picks the first column, and scores it. */
  first = temper_compare_page_get_column (walk->compare, 0);
  g_assert_true (gtk_widget_is_sensitive (gui_test_find_named (first, "better-button")));
  gtk_toggle_button_set_active (GTK_TOGGLE_BUTTON (gui_test_find_named (first, "better-button")), TRUE);
  gtk_drop_down_set_selected (GTK_DROP_DOWN (gui_test_find_named (first, "accuracy-score")), 4);
  picked = g_strdup (temper_compare_page_get_column_source (walk->compare, 0));
  g_assert_cmpstr (temper_ratings_get_verdict (ratings, 0), ==, picked);
  g_assert_cmpint (temper_ratings_get_score (ratings, 0, picked, TEMPER_ASPECT_ACCURACY), ==, 4);

  saved.path = ratings_path;
  saved.verdict = picked;
  g_assert_true (gui_test_wait_for (verdict_saved, &saved, 10000));
  return picked;
}

static void
export_and_wait (Walk *walk)
{
  gtk_widget_activate_action (walk->export_page, "page.export", NULL);
  g_assert_true (temper_export_page_is_busy (walk->export));
  g_assert_true (widget_shown (walk->export_page, "cancel-export"));
  g_assert_true (widget_shown (walk->export_page, "export-progress"));
  g_assert_true (gui_test_wait_for (export_idle, walk->export, 240000));
}

static void
export_everything (Walk       *walk,
                   const char *run_dir)
{
  const temper_model_t *model = temper_loaded_model_get_model (
      temper_model_page_get_model (TEMPER_MODEL_PAGE (walk->model_page)));
  g_autofree char *folder = g_build_filename (run_dir, "exports", NULL);
  g_autofree char *gguf_adapter = NULL;
  g_autofree char *peft = NULL;
  g_autofree char *merged = NULL;
  g_autofree char *merged_stem = NULL;
  g_autofree char *modelfile = NULL;
  g_autofree char *modelfile_text = NULL;
  g_autofree char *copied = NULL;
  g_autofree char *blocker = NULL;
  g_autofree char *blocked = NULL;
  g_autoptr(temper_adapter_t) imported = NULL;
  g_autoptr(GError) error = NULL;
  const char *command;

  /* On to Export: the run's exports folder is the destination, and every
   * choice is open to this GGUF model (a merged folder included). */
  gtk_widget_activate_action (walk->root, "win.next-page", NULL);
  g_assert_cmpstr (temper_window_get_current_step (walk->window), ==, "export");
  g_assert_cmpstr (temper_export_page_get_folder (walk->export), ==, folder);
  g_assert_false (temper_page_get_complete (TEMPER_PAGE (walk->export_page)));
  g_assert_false (widget_shown (walk->export_page, "export-result"));
  g_assert_true (temper_export_page_choice_available (walk->export, TEMPER_EXPORT_CHOICE_MERGED_HF));
  g_assert_true (gtk_widget_get_sensitive (gui_test_find_named (walk->export_page, "choice-merged-hf")));
  g_assert_true (temper_export_page_choice_available (walk->export, TEMPER_EXPORT_CHOICE_MERGED_GGUF));

  /* The adapter for llama.cpp, read back by the engine's GGUF importer. */
  gtk_widget_activate (gui_test_find_named (walk->export_page, "choice-gguf-adapter"));
  g_assert_cmpint (temper_export_page_get_choice (walk->export), ==, TEMPER_EXPORT_CHOICE_GGUF_ADAPTER);
  export_and_wait (walk);
  g_assert_cmpint (temper_export_page_get_state (walk->export), ==, TEMPER_EXPORT_STATE_DONE);
  gguf_adapter = g_strdup (temper_export_page_get_output_path (walk->export));
  g_assert_true (g_str_has_prefix (gguf_adapter, folder));
  g_assert_true (g_str_has_suffix (gguf_adapter, "-lora.gguf"));
  imported = temper_import_gguf_adapter (gguf_adapter, model, &error);
  g_assert_no_error (error);
  assert_same_adapter (imported, run_dir, model);
  g_clear_pointer (&imported, temper_adapter_free);
  g_assert_true (widget_shown (walk->export_page, "export-result"));
  g_assert_true (gtk_widget_is_sensitive (gui_test_find_named (walk->export_page, "show-in-files")));
  {
    g_autoptr(GFile) file = g_file_new_for_path (gguf_adapter);
    g_autofree char *uri = g_file_get_uri (file);
    g_autofree char *shown = show_in_files (walk->export_page);

    if (shown != NULL)
      g_assert_cmpstr (shown, ==, uri);
    else
      g_test_message ("no private session bus (dbus-daemon is missing): Show in Files not checked");
  }
  g_assert_false (widget_shown (walk->export_page, "ollama-group"));
  g_assert_false (widget_shown (walk->export_page, "template-check"));
  g_assert_true (temper_page_get_complete (TEMPER_PAGE (walk->export_page)));
  g_assert_cmpuint (temper_export_page_get_n_earlier (walk->export), ==, 1);

  /* The PEFT folder, read back by the engine's PEFT reader. */
  g_assert_true (temper_export_page_set_choice (walk->export, TEMPER_EXPORT_CHOICE_PEFT));
  export_and_wait (walk);
  g_assert_cmpint (temper_export_page_get_state (walk->export), ==, TEMPER_EXPORT_STATE_DONE);
  peft = g_strdup (temper_export_page_get_output_path (walk->export));
  g_assert_true (g_file_test (peft, G_FILE_TEST_IS_DIR));
  imported = temper_lora_load_peft (peft, temper_model_get_config (model), NULL, &error);
  g_assert_no_error (error);
  assert_same_adapter (imported, run_dir, model);
  g_assert_cmpuint (temper_export_page_get_n_earlier (walk->export), ==, 2);

  /* A merged GGUF, cancelled at once: nothing is left of it. */
  g_assert_true (temper_export_page_set_choice (walk->export, TEMPER_EXPORT_CHOICE_MERGED_GGUF));
  temper_export_page_set_quant (walk->export, TEMPER_EXPORT_Q4_K_M);
  merged = temper_export_output_path (model, TEMPER_EXPORT_CHOICE_MERGED_GGUF, TEMPER_EXPORT_Q4_K_M, folder);
  gtk_widget_activate_action (walk->export_page, "page.export", NULL);
  gtk_widget_activate_action (walk->export_page, "page.cancel", NULL);
  g_assert_true (gui_test_wait_for (export_idle, walk->export, 60000));
  g_assert_cmpint (temper_export_page_get_state (walk->export), ==, TEMPER_EXPORT_STATE_CANCELLED);
  assert_nothing_left (folder, merged);
  g_assert_false (widget_shown (walk->export_page, "export-result"));
  g_assert_true (widget_shown (walk->export_page, "export-button"));

  /* Again, to the end: the GGUF, its Modelfile, the check and the command. */
  export_and_wait (walk);
  g_assert_cmpint (temper_export_page_get_state (walk->export), ==, TEMPER_EXPORT_STATE_DONE);
  g_assert_cmpstr (temper_export_page_get_output_path (walk->export), ==, merged);
  g_assert_true (g_file_test (merged, G_FILE_TEST_IS_REGULAR));
  /* Beside it, the same name ending in .Modelfile. */
  merged_stem = g_strndup (merged, strlen (merged) - strlen (".gguf"));
  modelfile = g_strconcat (merged_stem, ".Modelfile", NULL);
  g_file_get_contents (modelfile, &modelfile_text, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (strstr (modelfile_text, "FROM ") != NULL);
  g_assert_null (temper_export_page_get_template_problem (walk->export));
  g_assert_true (widget_shown (walk->export_page, "template-check"));
  command = temper_export_page_get_ollama_command (walk->export);
  g_assert_nonnull (command);
  g_assert_true (g_str_has_prefix (command, "ollama create "));
  g_assert_true (strstr (command, modelfile) != NULL);
  g_assert_true (widget_shown (walk->export_page, "ollama-group"));
  g_assert_cmpstr (gtk_label_get_text (GTK_LABEL (gui_test_find_named (walk->export_page, "ollama-command"))), ==,
                   command);
  /* A button activated from the keyboard clicks after its press shows. */
  gtk_widget_activate (gui_test_find_named (walk->export_page, "copy-command"));
  gui_test_settle (400);
  copied = clipboard_text (walk->export_page);
  g_assert_cmpstr (copied, ==, command);
  /* GGUF adapter, PEFT folder, merged GGUF and its Modelfile. */
  g_assert_cmpuint (temper_export_page_get_n_earlier (walk->export), ==, 4);

  /* A destination that cannot be a folder: the page says so in words and
   * stays ready for another try. */
  blocker = g_build_filename (run_dir, "not-a-folder", NULL);
  g_file_set_contents (blocker, "", 0, &error);
  g_assert_no_error (error);
  blocked = g_build_filename (blocker, "exports", NULL);
  temper_export_page_set_folder (walk->export, blocked);
  g_assert_true (temper_export_page_set_choice (walk->export, TEMPER_EXPORT_CHOICE_GGUF_ADAPTER));
  export_and_wait (walk);
  g_assert_cmpint (temper_export_page_get_state (walk->export), ==, TEMPER_EXPORT_STATE_FAILED);
  g_assert_true (widget_shown (walk->export_page, "export-error"));
  g_assert_true (gtk_widget_is_sensitive (gui_test_find_named (walk->export_page, "export-button")));
  g_assert_false (g_file_test (blocked, G_FILE_TEST_EXISTS));
  g_unlink (blocker);
}

/* A new window reopens the run from the Runs page: every page is back. */
static void
reopen_run (Walk           *walk,
            TemperSettings *settings,
            const char     *run_dir,
            const char     *data_path,
            const char     *picked)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(temper_run_t) run = temper_run_open (run_dir, &error);
  g_autoptr(GArray) metrics = NULL;
  g_autofree char *folder = g_build_filename (run_dir, "exports", NULL);
  TemperLoadedModel *model;
  guint n_val = 0;

  g_assert_no_error (error);
  metrics = temper_run_read_metrics (run, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < metrics->len; i++)
    n_val += isfinite (g_array_index (metrics, TemperRunMetrics, i).val_loss);

  walk_open (walk, settings);
  g_assert_true (temper_window_show_step (walk->window, "runs"));
  g_assert_true (gui_test_wait_for (gui_test_runs_listed, walk->runs_page, 10000));
  g_assert_cmpuint (temper_runs_page_get_n_runs (TEMPER_RUNS_PAGE (walk->runs_page)), ==, 1);
  g_assert_cmpstr (temper_runs_page_get_run_dir (TEMPER_RUNS_PAGE (walk->runs_page), 0), ==, run_dir);
  gtk_widget_activate (gui_test_find_named (walk->runs_page, "open-run"));
  g_assert_true (gui_test_wait_for (gui_test_on_training, walk->window, 120000));

  /* Model, dataset (the run's own copy), settings. */
  model = temper_model_page_get_model (TEMPER_MODEL_PAGE (walk->model_page));
  g_assert_nonnull (model);
  g_assert_cmpstr (temper_model_get_path (temper_loaded_model_get_model (model)), ==,
                   temper_run_get_model_path (run));
  g_assert_cmpstr (temper_dataset_page_get_path (TEMPER_DATASET_PAGE (walk->dataset_page)), ==,
                   temper_run_get_data_path (run));
  g_assert_cmpstr (temper_dataset_page_get_path (TEMPER_DATASET_PAGE (walk->dataset_page)), !=, data_path);
  g_assert_cmpuint (count_problem_rows (walk->dataset_page), ==, 1);
  g_assert_cmpfloat (get_spin (walk->settings_page, "max-steps"), ==, RUN_STEPS);
  g_assert_cmpfloat (get_spin (walk->settings_page, "checkpoint-every"), ==, 1);

  /* The chart, from metrics.jsonl. */
  g_assert_cmpstr (temper_training_page_get_run_dir (walk->training), ==, run_dir);
  g_assert_cmpint (temper_training_page_get_state (walk->training), ==, TEMPER_TRAINING_FINISHED);
  g_assert_cmpuint (chart_points (walk->training, TEMPER_LOSS_SERIES_TRAINING), ==, metrics->len);
  g_assert_cmpuint (chart_points (walk->training, TEMPER_LOSS_SERIES_VALIDATION), ==, n_val);

  /* The judgement made before. */
  g_assert_true (temper_window_show_step (walk->window, "compare"));
  g_assert_true (gui_test_wait_for (gui_test_compare_idle, walk->compare, 60000));
  g_assert_cmpstr (temper_ratings_get_verdict (temper_compare_page_get_ratings (walk->compare), 0), ==, picked);
  g_assert_cmpint (temper_ratings_get_score (temper_compare_page_get_ratings (walk->compare), 0, picked,
                                             TEMPER_ASPECT_ACCURACY), ==, 4);

  /* The exports made before. */
  g_assert_true (temper_window_show_step (walk->window, "export"));
  g_assert_cmpstr (temper_export_page_get_folder (walk->export), ==, folder);
  g_assert_cmpuint (temper_export_page_get_n_earlier (walk->export), ==, 4);
  g_assert_true (widget_shown (walk->export_page, "earlier-exports"));
  g_assert_true (temper_page_get_complete (TEMPER_PAGE (walk->export_page)));
  g_assert_cmpint (temper_export_page_get_state (walk->export), ==, TEMPER_EXPORT_STATE_READY);
}

static void
test_walkthrough (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TemperSettings) settings = temper_settings_new (&error);
  const char *source_dir = g_getenv ("TEMPER_SOURCE_DIR") != NULL ? g_getenv ("TEMPER_SOURCE_DIR") : TEMPER_SOURCE_DIR;
  g_autofree char *model_path = g_build_filename (source_dir, "data", "models", DEMO_MODEL, NULL);
  g_autofree char *scratch = NULL;
  g_autofree char *data_path = NULL;
  g_autofree char *run_dir = NULL;
  g_autofree char *picked = NULL;
  Walk walk = { 0 };

  g_assert_no_error (error);
  if (!g_file_test (model_path, G_FILE_TEST_EXISTS))
    {
      g_test_skip ("the demo model is not downloaded (data/models/" DEMO_MODEL ")");
      return;
    }
  scratch = g_dir_make_tmp ("temper-walkthrough-XXXXXX", &error);
  g_assert_no_error (error);
  data_path = gui_test_write_capitals (scratch, "capitals.jsonl");
  temper_settings_set_seen_welcome (settings, TRUE);

  walk_open (&walk, settings);
  g_assert_true (temper_window_show_step (walk.window, "runs"));
  g_assert_true (gui_test_wait_for (gui_test_runs_idle, walk.runs_page, 10000));
  g_assert_cmpuint (temper_runs_page_get_n_runs (TEMPER_RUNS_PAGE (walk.runs_page)), ==, 0);
  g_assert_true (temper_window_show_step (walk.window, "model"));

  choose_model_and_data (&walk, model_path, data_path);
  pick_quick_preset (&walk, model_path);
  run_dir = train_with_a_stop (&walk);
  picked = compare_blind (&walk, run_dir);
  export_everything (&walk, run_dir);
  walk_close (&walk);

  reopen_run (&walk, settings, run_dir, data_path, picked);
  walk_close (&walk);

  g_unlink (data_path);
  g_rmdir (scratch);
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *dbus_daemon = g_find_program_in_path ("dbus-daemon");
  g_autoptr(GTestDBus) bus = NULL;
  int status;

  /* A session bus of the test's own, before GTK can reach for the real
   * one, so "Show in Files" talks to the stand-in file manager. */
  if (dbus_daemon != NULL)
    {
      /* GTestDBus clears DISPLAY (against D-Bus autolaunch); the windows
       * still need it. */
      g_autofree char *display = g_strdup (g_getenv ("DISPLAY"));

      bus = g_test_dbus_new (G_TEST_DBUS_NONE);
      g_test_dbus_up (bus);
      if (display != NULL)
        g_setenv ("DISPLAY", display, TRUE);
    }
  else
    g_unsetenv ("DBUS_SESSION_BUS_ADDRESS");

  gui_test_init (&argc, &argv);
  g_test_add_func ("/walkthrough/whole-path", test_walkthrough);
  status = g_test_run ();

  if (bus != NULL)
    {
      g_autoptr(GDBusConnection) connection = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, NULL);

      /* The shared connection lives as long as the process: let it see the
       * bus go away without taking the process with it. */
      if (connection != NULL)
        g_dbus_connection_set_exit_on_close (connection, FALSE);
      g_test_dbus_stop (bus);
    }
  return status;
}
