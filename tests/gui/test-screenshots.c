/* SPDX-License-Identifier: MIT */
/* test-screenshots.c — renders every built page at 1280×800 to PNG files in
 * the build folder (tests/gui/screenshots/<language>/), for people to look
 * at and for the store listing.  Run once in English and once with
 * LANGUAGE=zh_CN; the checks are that each page renders at the asked size
 * and that the interface really is translated when a translation is asked
 * for. */
#include "config.h"

#include <glib/gstdio.h>

#include <glib/gi18n.h>

#include "gui-test-util.h"
#include "temper-compare-page.h"
#include "temper-evaluation-group.h"
#include "temper-dataset-mix.h"
#include "temper-dataset-page.h"
#include "temper-export-page.h"
#include "temper-model-page.h"
#include "temper-page.h"
#include "temper-preferences-window.h"
#include "temper-runs-page.h"
#include "temper-settings.h"
#include "temper-settings-page.h"
#include "temper-training-page.h"
#include "temper-window.h"

#define WIDTH  1280
#define HEIGHT 800

typedef struct {
  TemperWindow *window;
  char         *folder;
} Fixture;

static const char *
language (void)
{
  const char *lang = g_getenv ("LANGUAGE");

  return lang != NULL && *lang != '\0' ? lang : "en";
}

static gboolean
window_sized (gpointer data)
{
  GtkWidget *window = data;

  return gtk_widget_get_mapped (window) &&
         gtk_widget_get_width (window) == WIDTH &&
         gtk_widget_get_height (window) == HEIGHT;
}

static gboolean
window_mapped (gpointer data)
{
  return gtk_widget_get_mapped (data) && gtk_widget_get_width (data) > 0;
}

static gboolean
has_demo_row (gpointer data)
{
  return gui_test_find_named (data, "demo-model") != NULL;
}

static gboolean
model_loaded (gpointer data)
{
  return !temper_model_page_is_busy (data);
}

static gboolean
training_done (gpointer data)
{
  return !temper_training_page_is_busy (data);
}

static gboolean
export_done (gpointer data)
{
  return !temper_export_page_is_busy (data);
}

static gboolean
shown_prompt_answered (gpointer data)
{
  TemperComparePage *page = data;

  return temper_ratings_has_answers (temper_compare_page_get_ratings (page), temper_compare_page_get_prompt (page));
}

static gboolean
mix_read (gpointer data)
{
  return !temper_dataset_mix_is_busy (data);
}

static gboolean
evaluation_done (gpointer data)
{
  return !temper_evaluation_group_is_busy (data);
}

/* Shows @widget at the top of the page it is in. */
static gboolean
speed_measured (gpointer data)
{
  return !temper_settings_page_is_measuring_speed (data);
}

static void
scroll_to (GtkWidget *page,
           GtkWidget *widget)
{
  graphene_point_t top;

  gui_test_settle (100);
  for (GtkWidget *child = gtk_widget_get_first_child (page); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    if (GTK_IS_SCROLLED_WINDOW (child) &&
        gtk_widget_compute_point (widget,
                                  /* The viewport's content, which does not move as it scrolls. */
                                  gtk_widget_get_first_child (gtk_scrolled_window_get_child (GTK_SCROLLED_WINDOW (child))),
                                  &GRAPHENE_POINT_INIT (0, 0), &top))
      gtk_adjustment_set_value (gtk_scrolled_window_get_vadjustment (GTK_SCROLLED_WINDOW (child)), top.y - 60);
}

static void
shoot_any_size (Fixture    *fixture,
                const char *name)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *file = g_strconcat (name, ".png", NULL);
  g_autofree char *path = g_build_filename (fixture->folder, file, NULL);

  gui_test_settle (300);
  gui_test_save_png (GTK_WIDGET (fixture->window), path, NULL, NULL, &error);
  g_assert_no_error (error);
}

static void
shoot (Fixture    *fixture,
       const char *name)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *file = g_strconcat (name, ".png", NULL);
  g_autofree char *path = g_build_filename (fixture->folder, file, NULL);
  int width = 0, height = 0;

  gui_test_settle (300);
  gui_test_save_png (GTK_WIDGET (fixture->window), path, &width, &height, &error);
  g_assert_no_error (error);
  g_assert_cmpint (width, ==, WIDTH);
  g_assert_cmpint (height, ==, HEIGHT);
  g_assert_true (g_file_test (path, G_FILE_TEST_IS_REGULAR));
  g_test_message ("wrote %s", path);
}

/* The split row's value reads in at most two lines beside a long
 * subtitle (a small dataset's), in either language, as laid out in the
 * shot just taken. */
static void
assert_split_in_two_lines (GtkWidget *dataset_page)
{
  GtkLabel *label = GTK_LABEL (gui_test_find_named (dataset_page, "dataset-split"));
  int lines = pango_layout_get_line_count (gtk_label_get_layout (label));

  g_test_message ("the split row's value \"%s\" reads in %d lines", gtk_label_get_text (label), lines);
  g_assert_cmpint (lines, <=, 2);
}

/* Shows the end of a preferences page, where the problem list is. */
static void
scroll_to_bottom (GtkWidget *page)
{
  for (GtkWidget *child = gtk_widget_get_first_child (page); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    if (GTK_IS_SCROLLED_WINDOW (child))
      {
        GtkAdjustment *adjustment = gtk_scrolled_window_get_vadjustment (GTK_SCROLLED_WINDOW (child));

        gtk_adjustment_set_value (adjustment, gtk_adjustment_get_upper (adjustment));
      }
}

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TemperSettings) settings = temper_settings_new (&error);
  const char *build_dir = g_getenv ("TEMPER_BUILD_DIR");

  g_assert_no_error (error);
  /* The memory backend is shared by the whole process: start from the
   * first-run state every time. */
  temper_settings_set_seen_welcome (settings, FALSE);
  temper_settings_set_window_size (settings, WIDTH, HEIGHT);
  temper_settings_set_window_maximized (settings, FALSE);

  fixture->folder = g_build_filename (build_dir != NULL ? build_dir : ".",
                                      "tests", "gui", "screenshots", language (), NULL);
  g_assert_cmpint (g_mkdir_with_parents (fixture->folder, 0755), ==, 0);

  fixture->window = temper_window_new (NULL, settings);
  gtk_window_present (GTK_WINDOW (fixture->window));
  /* The default size counts the frame's resize margins; grow it by what
   * they take so the window itself is exactly WIDTH × HEIGHT. */
  g_assert_true (gui_test_wait_for (window_mapped, fixture->window, 10000));
  gui_test_settle (100);
  gtk_window_set_default_size (GTK_WINDOW (fixture->window),
                               2 * WIDTH - gtk_widget_get_width (GTK_WIDGET (fixture->window)),
                               2 * HEIGHT - gtk_widget_get_height (GTK_WIDGET (fixture->window)));
  gui_test_wait_for (window_sized, fixture->window, 10000);
  g_assert_true (window_sized (fixture->window));
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  data)
{
  gtk_window_destroy (GTK_WINDOW (fixture->window));
  gui_test_settle (50);
  g_free (fixture->folder);
}

static void
test_translated (Fixture       *fixture,
                 gconstpointer  data)
{
  GtkWidget *next = gui_test_find_named (GTK_WIDGET (fixture->window), "next-button");
  const char *label;

  g_assert_nonnull (next);
  label = gtk_button_get_label (GTK_BUTTON (next));
  if (g_str_equal (language (), "en"))
    g_assert_cmpstr (label, ==, "_Next");
  else
    /* Asking for a translation must change the words on the screen: a
     * missing .mo file or font setup would leave the English. */
    g_assert_cmpstr (label, !=, "_Next");
}

static void
test_pages (Fixture       *fixture,
            gconstpointer  data)
{
  GtkWidget *root = GTK_WIDGET (fixture->window);
  GtkWidget *model_page = temper_window_get_page (fixture->window, "model");
  GtkWidget *dataset_page = temper_window_get_page (fixture->window, "dataset");
  GtkWidget *settings_page = temper_window_get_page (fixture->window, "settings");
  GtkWidget *training_page = temper_window_get_page (fixture->window, "training");
  GtkWidget *runs_page = temper_window_get_page (fixture->window, "runs");
  GtkWidget *compare_page = temper_window_get_page (fixture->window, "compare");
  GtkWidget *export_page = temper_window_get_page (fixture->window, "export");
  g_autofree char *model = g_build_filename (TEMPER_SOURCE_DIR, "data", "models",
                                             "SmolLM2-135M-Instruct.Q4_1.gguf", NULL);
  g_autofree char *sample = g_build_filename (TEMPER_SOURCE_DIR, "data", "samples",
                                              "product-faq.jsonl", NULL);
  g_autofree char *broken = g_build_filename (TEMPER_SOURCE_DIR, "tests", "fixtures", "datasets",
                                              "not-json.jsonl", NULL);
  g_autofree char *findings = g_build_filename (TEMPER_SOURCE_DIR, "tests", "fixtures", "datasets",
                                                "findings.jsonl", NULL);
  g_autofree char *table = g_build_filename (g_get_tmp_dir (), "temper-screenshot-table.csv", NULL);
  g_autofree char *text = g_build_filename (g_get_tmp_dir (), "aurora-manual.md", NULL);
  g_autofree char *extra = g_build_filename (g_get_tmp_dir (), "general-questions.jsonl", NULL);
  g_autofree char *leaky = g_build_filename (g_get_tmp_dir (), "office-rooms.jsonl", NULL);

  shoot (fixture, "1-welcome");

  gtk_widget_activate_action (root, "win.get-started", NULL);
  g_assert_true (gui_test_wait_for (has_demo_row, model_page, 20000));
  shoot (fixture, "2-model-list");

  if (!g_file_test (model, G_FILE_TEST_EXISTS))
    {
      g_test_skip ("the demo model is not downloaded");
      return;
    }
  temper_model_page_choose (TEMPER_MODEL_PAGE (model_page), broken);
  g_assert_true (gui_test_wait_for (model_loaded, model_page, 20000));
  shoot (fixture, "2b-model-error");

  gtk_widget_activate (gui_test_find_named (model_page, "demo-model"));
  g_assert_true (gui_test_wait_for (model_loaded, model_page, 120000));
  g_assert_nonnull (temper_model_page_get_model (TEMPER_MODEL_PAGE (model_page)));
  shoot (fixture, "3-model-chosen");

  gtk_widget_activate_action (root, "win.next-page", NULL);
  shoot (fixture, "4-dataset-empty");

  gui_test_open_dataset (dataset_page, broken);
  shoot (fixture, "5-dataset-problems");
  scroll_to_bottom (dataset_page);
  shoot (fixture, "5b-dataset-problems-list");

  /* Records that load but may teach the wrong thing, each to drop or keep;
   * then a table whose question and answer columns the person picks. */
  gui_test_open_dataset (dataset_page, findings);
  gui_test_settle (300);   /* the findings are laid out before the page scrolls to them */
  scroll_to (dataset_page, gui_test_find_named (dataset_page, "findings-group"));
  shoot (fixture, "5c-dataset-findings");
  /* "Drop All Like This" at once, with a toast to undo it. */
  {
    GtkWidget *list = gui_test_find_named (dataset_page, "findings-list");
    GtkWidget *first = GTK_WIDGET (gtk_list_box_get_row_at_index (GTK_LIST_BOX (list), 0));

    g_signal_emit_by_name (g_object_get_data (G_OBJECT (first), "drop-all-button"), "clicked");
    gui_test_settle (600);   /* the toast slides in */
    shoot (fixture, "5g-dataset-drop-all-undo");
    /* Undone: the page as it was for the shots below. */
    g_signal_emit_by_name (gui_test_find_button_labelled (root, g_dgettext (GETTEXT_PACKAGE, "_Undo")), "clicked");
    gui_test_settle (600);   /* the toast slides out */
  }
  /* Two records run past the training length: the histogram marks where
   * they are cut. */
  scroll_to (dataset_page, gui_test_find_named (dataset_page, "lengths-group"));
  shoot (fixture, "5e-dataset-findings-lengths");
  /* Plain text / Markdown for continued pre-training: cut into chunks with
   * an overlap, as the Format row says. */
  {
    g_autoptr(GString) manual = g_string_new (NULL);

    for (guint part = 1; part <= 40; part++)
      g_string_append_printf (manual, g_str_equal (language (), "en")
                              ? "## Part %u\n\nThe Aurora lamp is made by Brightwell. Hold the button for five "
                                "seconds to reset it. Wipe it with a dry cloth; never use water.\n\n"
                              : "## 第 %u 部分\n\nAurora 台灯由 Brightwell 生产。按住按钮五秒即可重置。"
                                "用干布擦拭，切勿用水。\n\n", part);
    g_assert_true (g_file_set_contents (text, manual->str, -1, NULL));
  }
  gui_test_open_dataset (dataset_page, text);
  scroll_to (dataset_page, gui_test_find_named (dataset_page, "dataset-format"));
  shoot (fixture, "5f-dataset-text");
  g_unlink (text);
  g_assert_true (g_file_set_contents (table, "id,frage,antwort,quelle\n1,Wer stellt den Lumora K7 her?,"
                                      "Brightwell,Katalog\n2,Wo sitzt Brightwell?,In Oslo,Katalog\n", -1, NULL));
  gui_test_open_dataset (dataset_page, table);
  adw_combo_row_set_selected (ADW_COMBO_ROW (gui_test_find_named (dataset_page, "question-column")), 1);
  adw_combo_row_set_selected (ADW_COMBO_ROW (gui_test_find_named (dataset_page, "answer-column")), 2);
  g_assert_true (gui_test_wait_for (gui_test_dataset_idle, dataset_page, 60000));
  scroll_to (dataset_page, gui_test_find_named (dataset_page, "question-column"));
  shoot (fixture, "5d-dataset-columns");
  g_unlink (table);

  /* No validation file: 220 records, 22 held back to check the training,
   * two of which repeat records trained on. */
  {
    g_autoptr(GString) facts = g_string_new (NULL);
    g_autoptr(temper_dataset_t) ds = NULL;
    g_autoptr(GArray) train = NULL, validation = NULL;
    g_autoptr(GError) error = NULL;

    for (guint i = 0; i < 220; i++)
      g_string_append_printf (facts, "{\"prompt\": \"What is the room number of office %u?\", "
                              "\"response\": \"Office %u is in room %u.\"}\n", i, i, 100 + 7 * i);
    g_assert_true (g_file_set_contents (leaky, facts->str, -1, NULL));
    ds = temper_dataset_load (leaky, NULL, &error);
    g_assert_no_error (error);
    temper_dataset_split (ds, 0.1, 42, &train, &validation);
    g_string_truncate (facts, 0);
    for (guint i = 0; i < 220; i++)
      {
        guint j = i == g_array_index (train, guint, 0) ? g_array_index (validation, guint, 0)
                : i == g_array_index (train, guint, 1) ? g_array_index (validation, guint, 1) : i;

        /* The copy in other case and punctuation: a near-duplicate, which
         * loading keeps (an exact one it would drop). */
        g_string_append_printf (facts, j != i ? "{\"prompt\": \"what is the room number of office %u\", "
                                                "\"response\": \"office %u is in room %u\"}\n"
                                              : "{\"prompt\": \"What is the room number of office %u?\", "
                                                "\"response\": \"Office %u is in room %u.\"}\n", j, j, 100 + 7 * j);
      }
    g_assert_true (g_file_set_contents (leaky, facts->str, -1, NULL));
  }
  gui_test_open_dataset (dataset_page, leaky);
  gui_test_settle (300);
  scroll_to (dataset_page, gui_test_find_named (dataset_page, "findings-group"));
  shoot (fixture, "5h-dataset-leakage");
  /* A file of its own to check progress on: summed up, and a record that
   * repeats one of the file's is leakage into it. */
  {
    g_autofree char *check = g_build_filename (g_get_tmp_dir (), "office-check.jsonl", NULL);

    g_assert_true (g_file_set_contents (check, "{\"prompt\": \"WHAT IS THE ROOM NUMBER OF OFFICE 5\", "
                                        "\"response\": \"OFFICE 5 IS IN ROOM 135\"}\n"
                                        "{\"prompt\": \"Which floor is the canteen on?\", \"response\": \"The third.\"}\n"
                                        "{\"prompt\": \"Broken\n", -1, NULL));
    temper_dataset_page_set_check_file (TEMPER_DATASET_PAGE (dataset_page), check);
    g_assert_true (gui_test_wait_for (gui_test_dataset_idle, dataset_page, 60000));
    gui_test_settle (300);
    scroll_to (dataset_page, gui_test_find_named (dataset_page, "dataset-split"));
    shoot (fixture, "5i-dataset-check-file");
    scroll_to (dataset_page, gui_test_find_named (dataset_page, "findings-group"));
    shoot (fixture, "5j-dataset-check-file-leak");
    g_unlink (check);
  }
  /* A check file longer than the run checks on: the line says on how many
   * of its records. */
  {
    g_autofree char *check = g_build_filename (g_get_tmp_dir (), "office-check-long.jsonl", NULL);
    g_autoptr(GString) lines = g_string_new (NULL);

    for (guint i = 0; i < 1500; i++)
      g_string_append_printf (lines, "{\"prompt\": \"Where is desk %u?\", \"response\": \"Row %u.\"}\n", i, i % 40);
    g_assert_true (g_file_set_contents (check, lines->str, -1, NULL));
    temper_dataset_page_set_check_file (TEMPER_DATASET_PAGE (dataset_page), check);
    g_assert_true (gui_test_wait_for (gui_test_dataset_idle, dataset_page, 60000));
    gui_test_settle (300);
    scroll_to (dataset_page, gui_test_find_named (dataset_page, "dataset-split"));
    shoot (fixture, "5k-dataset-check-file-sampled");
    temper_dataset_page_set_check_file (TEMPER_DATASET_PAGE (dataset_page), NULL);
    g_assert_true (gui_test_wait_for (gui_test_dataset_idle, dataset_page, 60000));
    g_unlink (check);
  }
  g_unlink (leaky);

  g_assert_true (g_file_test (sample, G_FILE_TEST_EXISTS));
  gui_test_open_dataset (dataset_page, sample);
  g_assert_true (temper_page_get_complete (TEMPER_PAGE (dataset_page)));
  scroll_to (dataset_page, gui_test_find_named (dataset_page, "dataset-format"));
  shoot (fixture, "6-dataset-sample");

  /* A second dataset mixed in at a quarter of the records. */
  g_assert_true (g_file_set_contents (extra, "{\"prompt\": \"What is the capital of France?\", \"response\": \"Paris.\"}\n"
                                      "{\"prompt\": \"How many legs has a spider?\", \"response\": \"Eight.\"}\n"
                                      "{\"prompt\": \"Who wrote Hamlet?\", \"response\": \"Shakespeare.\"}\n", -1, NULL));
  {
    TemperDatasetMix *mix = TEMPER_DATASET_MIX (gui_test_find_named (dataset_page, "mix-group"));

    temper_dataset_mix_add (mix, extra);
    g_assert_true (gui_test_wait_for (mix_read, mix, 60000));
    temper_dataset_mix_set_share (mix, 0, 90);
    temper_dataset_mix_set_share (mix, 1, 10);
    scroll_to (dataset_page, GTK_WIDGET (mix));
    shoot (fixture, "6c-dataset-mix");
    /* The lines above count the mix the run trains on. */
    scroll_to (dataset_page, gui_test_find_named (dataset_page, "dataset-format"));
    shoot (fixture, "6d-dataset-mix-counts");
    /* The histogram draws the mix too. */
    scroll_to (dataset_page, gui_test_find_named (dataset_page, "lengths-group"));
    shoot (fixture, "6e-dataset-mix-lengths");
    /* So do the settings chosen and the estimate. */
    gtk_widget_activate_action (root, "win.next-page", NULL);
    g_assert_true (gui_test_wait_for (speed_measured, settings_page, 120000));
    gui_test_settle (300);
    shoot (fixture, "10d-settings-estimate-with-mix");
    adw_expander_row_set_expanded (ADW_EXPANDER_ROW (gui_test_find_named (settings_page, "advanced-row")), TRUE);
    gui_test_settle (200);
    scroll_to (settings_page, gui_test_find_named (settings_page, "epochs"));
    shoot (fixture, "10e-settings-with-mix");
    adw_expander_row_set_expanded (ADW_EXPANDER_ROW (gui_test_find_named (settings_page, "advanced-row")), FALSE);
    g_assert_true (temper_window_show_step (fixture->window, "dataset"));
    /* The run below trains on the sample alone. */
    g_signal_emit_by_name (gui_test_find_named (GTK_WIDGET (mix), "mix-remove"), "clicked");
    g_assert_false (temper_dataset_mix_has_sources (mix));
  }
  g_unlink (extra);

  /* The run's max length set shorter than some examples: the histogram's
   * cut-off and the "cut short" count follow it. */
  {
    TemperTrainSettings run;

    temper_settings_page_get_train_settings (TEMPER_SETTINGS_PAGE (settings_page), &run);
    temper_dataset_page_set_max_length (TEMPER_DATASET_PAGE (dataset_page), 48);
    /* The Problems list is found again at 48. */
    g_assert_true (gui_test_wait_for (gui_test_dataset_idle, dataset_page, 60000));
    gui_test_settle (200);
    scroll_to (dataset_page, gui_test_find_named (dataset_page, "dataset-split"));
    shoot (fixture, "6f-dataset-max-length");
    assert_split_in_two_lines (dataset_page);
    temper_dataset_page_set_max_length (TEMPER_DATASET_PAGE (dataset_page), run.max_length);
    g_assert_true (gui_test_wait_for (gui_test_dataset_idle, dataset_page, 60000));
  }

  /* The chart takes its colours from the style, so it must read as well
   * on the dark one. */
  scroll_to_bottom (dataset_page);
  adw_style_manager_set_color_scheme (adw_style_manager_get_default (), ADW_COLOR_SCHEME_FORCE_DARK);
  shoot (fixture, "6b-dataset-sample-dark");
  adw_style_manager_set_color_scheme (adw_style_manager_get_default (), ADW_COLOR_SCHEME_DEFAULT);

  /* Settings: the presets and the estimate, then every option. */
  gtk_widget_activate_action (root, "win.next-page", NULL);
  g_assert_cmpstr (temper_window_get_current_step (fixture->window), ==, "settings");
  temper_settings_page_set_preset (TEMPER_SETTINGS_PAGE (settings_page), TEMPER_PRESET_QUICK);
  /* The time from the processor's measured rates, not the guess shown while
   * they are measured. */
  g_assert_true (gui_test_wait_for (speed_measured, settings_page, 120000));
  gui_test_settle (500);
  shoot (fixture, "10-settings");
  adw_expander_row_set_expanded (ADW_EXPANDER_ROW (gui_test_find_named (settings_page, "advanced-row")), TRUE);
  gui_test_settle (200);
  scroll_to_bottom (settings_page);
  shoot (fixture, "10b-settings-advanced");
  /* The chosen values with the sentences saying why. */
  scroll_to (settings_page, gui_test_find_named (settings_page, "lora-rank"));
  shoot (fixture, "10c-settings-reasons");

  /* A short run on the CPU, so the chart has something to show. */
  gui_test_set_spin (settings_page, "max-steps", 4);
  gui_test_set_spin (settings_page, "max-length", 64);
  gui_test_set_spin (settings_page, "micro-batch", 1);
  gui_test_set_spin (settings_page, "grad-accum", 1);
  gui_test_set_spin (settings_page, "eval-every", 2);
  gui_test_set_spin (settings_page, "val-fraction", 0.2);
  gtk_widget_activate_action (root, "win.next-page", NULL);
  g_assert_cmpstr (temper_window_get_current_step (fixture->window), ==, "training");
  shoot (fixture, "11-training-ready");
  gtk_widget_activate_action (training_page, "page.start", NULL);
  g_assert_true (gui_test_wait_for (training_done, training_page, 240000));
  g_assert_cmpint (temper_training_page_get_state (TEMPER_TRAINING_PAGE (training_page)), ==,
                   TEMPER_TRAINING_FINISHED);
  /* The finished run's primary button is Compare. */
  g_assert_true (gtk_widget_get_visible (gui_test_find_named (training_page, "compare-button")));
  shoot (fixture, "11b-training-finished");
  adw_style_manager_set_color_scheme (adw_style_manager_get_default (), ADW_COLOR_SCHEME_FORCE_DARK);
  shoot (fixture, "11c-training-finished-dark");
  adw_style_manager_set_color_scheme (adw_style_manager_get_default (), ADW_COLOR_SCHEME_DEFAULT);

  /* Compare: short answers for a question of our own, judged, then blind;
   * the summary and the automatic evaluation below. */
  g_assert_true (temper_window_show_step (fixture->window, "compare"));
  g_assert_true (gui_test_wait_for (gui_test_compare_idle, compare_page, 30000));
  /* Filled by itself: held-out questions first, then training questions,
   * each labelled with where it came from. */
  shoot (fixture, "12-compare-filled");
  {
    TemperRatings *ratings = temper_compare_page_get_ratings (TEMPER_COMPARE_PAGE (compare_page));
    guint n = temper_ratings_get_n_prompts (ratings), p = 0;

    while (p < n && temper_ratings_get_origin (ratings, p) != TEMPER_PROMPT_FROM_TRAINING)
      p++;
    g_assert_cmpuint (p, <, n);
    temper_compare_page_show_prompt (TEMPER_COMPARE_PAGE (compare_page), p);
    shoot (fixture, "12-compare-training-prompt");
  }
  temper_compare_page_set_max_tokens (TEMPER_COMPARE_PAGE (compare_page), 20);
  temper_compare_page_add_prompt (TEMPER_COMPARE_PAGE (compare_page),
                                  g_str_equal (language (), "en") ? "How do I reset the Aurora lamp?"
                                                                  : "如何重置 Aurora 台灯？");
  /* The shown prompt is answered first; the other prompts' answers are
   * not needed here. */
  gtk_widget_activate_action (compare_page, "page.generate", NULL);
  g_assert_true (gui_test_wait_for (shown_prompt_answered, compare_page, 120000));
  gtk_widget_activate_action (compare_page, "page.stop", NULL);
  shoot (fixture, "12a-compare");
  scroll_to (compare_page, gui_test_find_named (compare_page, "prompt-row"));
  shoot (fixture, "12b-compare-answers");
  temper_compare_page_set_blind (TEMPER_COMPARE_PAGE (compare_page), TRUE);
  gtk_toggle_button_set_active (GTK_TOGGLE_BUTTON (gui_test_find_named (temper_compare_page_get_column (TEMPER_COMPARE_PAGE (compare_page), 0),
                                                                        "better-button")), TRUE);
  gtk_drop_down_set_selected (GTK_DROP_DOWN (gui_test_find_named (temper_compare_page_get_column (TEMPER_COMPARE_PAGE (compare_page), 0),
                                                                  "accuracy-score")), 4);
  scroll_to (compare_page, gui_test_find_named (compare_page, "prompt-row"));
  shoot (fixture, "12c-compare-blind");
  /* A quick evaluation with short answers. */
  temper_compare_page_set_max_tokens (TEMPER_COMPARE_PAGE (compare_page), 8);
  gtk_switch_set_active (GTK_SWITCH (gui_test_find_named (compare_page, "quick-evaluation")), TRUE);
  g_signal_emit_by_name (gui_test_find_named (compare_page, "evaluate-button"), "clicked");
  g_assert_true (gui_test_wait_for (evaluation_done, temper_compare_page_get_evaluation_group (TEMPER_COMPARE_PAGE (compare_page)),
                                    240000));
  scroll_to (compare_page, gui_test_find_named (compare_page, "win-rate"));
  shoot (fixture, "12d-compare-summary");
  /* The evaluation leads with its plain verdict. */
  g_assert_nonnull (gui_test_find_named (compare_page, "eval-verdict"));
  scroll_to (compare_page, gui_test_find_named (compare_page, "eval-verdict"));
  shoot (fixture, "12g-evaluation-verdict");
  adw_style_manager_set_color_scheme (adw_style_manager_get_default (), ADW_COLOR_SCHEME_FORCE_DARK);
  scroll_to (compare_page, gui_test_find_named (compare_page, "prompt-row"));
  shoot (fixture, "12e-compare-blind-dark");
  adw_style_manager_set_color_scheme (adw_style_manager_get_default (), ADW_COLOR_SCHEME_DEFAULT);

  /* Export: the choices, then a merged GGUF for Ollama with the template
   * check and the command to run. */
  g_assert_true (temper_window_show_step (fixture->window, "export"));
  shoot (fixture, "13-export");
  g_assert_true (temper_export_page_set_choice (TEMPER_EXPORT_PAGE (export_page), TEMPER_EXPORT_CHOICE_MERGED_GGUF));
  temper_export_page_set_quant (TEMPER_EXPORT_PAGE (export_page), TEMPER_EXPORT_Q4_K_M);
  gtk_widget_activate_action (export_page, "page.export", NULL);
  g_assert_true (gui_test_wait_for (export_done, export_page, 240000));
  g_assert_cmpint (temper_export_page_get_state (TEMPER_EXPORT_PAGE (export_page)), ==, TEMPER_EXPORT_STATE_DONE);
  /* From the Export row down: progress, the result, the check and the
   * command for Ollama. */
  gui_test_settle (500);   /* the result groups are laid out before the page can scroll to them */
  scroll_to (export_page, gui_test_find_named (export_page, "export-status"));
  shoot (fixture, "13b-export-ollama");

  g_assert_true (temper_window_show_step (fixture->window, "runs"));
  g_assert_true (gui_test_wait_for (gui_test_runs_idle, runs_page, 10000));
  shoot (fixture, "12-runs");
}

static gboolean
window_folded (gpointer data)
{
  return gtk_widget_get_width (data) < 600;
}

/* On a phone-sized window the sidebar folds away and a button brings the
 * steps back. */
static void
test_narrow (Fixture       *fixture,
             gconstpointer  data)
{
  GtkWidget *root = GTK_WIDGET (fixture->window);
  GtkWidget *model_page = temper_window_get_page (fixture->window, "model");

  gtk_widget_activate_action (root, "win.get-started", NULL);
  gtk_window_set_default_size (GTK_WINDOW (fixture->window), 400, HEIGHT);
  g_assert_true (gui_test_wait_for (window_folded, root, 10000));
  g_assert_true (gui_test_wait_for (has_demo_row, model_page, 20000));
  shoot_any_size (fixture, "9-narrow");
}

static gboolean
devices_listed (gpointer data)
{
  return gtk_widget_get_sensitive (data);
}

static void
test_dialogs (Fixture       *fixture,
              gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TemperSettings) settings = temper_settings_new (&error);
  g_autoptr(GtkBuilder) builder = NULL;
  g_autofree char *prefs_path = g_build_filename (fixture->folder, "7-preferences.png", NULL);
  g_autofree char *keys_path = g_build_filename (fixture->folder, "8-shortcuts.png", NULL);
  const char *folders[] = { "/home/me/models", NULL };
  GtkWidget *preferences;
  GtkWindow *shortcuts;

  g_assert_no_error (error);
  temper_settings_set_model_folders (settings, folders);
  preferences = temper_preferences_window_new (GTK_WINDOW (fixture->window), settings);
  gtk_window_set_default_size (GTK_WINDOW (preferences), 640, 560);
  gtk_window_present (GTK_WINDOW (preferences));
  g_assert_true (gui_test_wait_for (devices_listed, gui_test_find_named (preferences, "default-device"), 20000));
  gui_test_settle (300);
  gui_test_save_png (preferences, prefs_path, NULL, NULL, &error);
  g_assert_no_error (error);
  gtk_window_destroy (GTK_WINDOW (preferences));

  builder = gtk_builder_new_from_resource ("/io/github/temper/Temper/temper-shortcuts-window.ui");
  shortcuts = GTK_WINDOW (gtk_builder_get_object (builder, "shortcuts_window"));
  g_assert_nonnull (shortcuts);
  gtk_window_set_transient_for (shortcuts, GTK_WINDOW (fixture->window));
  gtk_window_present (shortcuts);
  gui_test_settle (300);
  gui_test_save_png (GTK_WIDGET (shortcuts), keys_path, NULL, NULL, &error);
  g_assert_no_error (error);
  gtk_window_destroy (shortcuts);
}

int
main (int   argc,
      char *argv[])
{
  gui_test_init (&argc, &argv);

  g_test_add ("/screenshots/translated", Fixture, NULL, fixture_set_up, test_translated, fixture_tear_down);
  g_test_add ("/screenshots/pages", Fixture, NULL, fixture_set_up, test_pages, fixture_tear_down);
  g_test_add ("/screenshots/narrow", Fixture, NULL, fixture_set_up, test_narrow, fixture_tear_down);
  g_test_add ("/screenshots/dialogs", Fixture, NULL, fixture_set_up, test_dialogs, fixture_tear_down);

  return g_test_run ();
}
