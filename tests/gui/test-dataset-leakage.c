/* SPDX-License-Identifier: MIT */
/* test-dataset-leakage.c — the Dataset page's leakage findings follow what
 * the run will split: its seed, the cleaned copy after a drop, and a file
 * chosen to check progress on.  The reference is the run's own way: the
 * file the page hands the run, loaded and split by the engine. */
#include "config.h"

#include <string.h>

#include <glib/gstdio.h>

#include "temper/dataset.h"
#include "temper/run.h"
#include "gui-test-util.h"
#include "temper-dataset-mix.h"
#include "temper-dataset-page.h"
#include "temper-model-page.h"
#include "temper-settings.h"
#include "temper-settings-page.h"
#include "temper-training-page.h"
#include "temper-window.h"
#include "../test-tree.h"

#define N_FACTS 220

typedef struct {
  char      *tmp;
  char      *path;
  GtkWidget *window;
  GtkWidget *page;
  guint      held;      /* the copy the seed-42 split holds back */
  guint      trained;   /* the record made a copy of it, in capitals */
} Fixture;

static char *
fact_line (guint j, gboolean capitals, gboolean markup)
{
  g_autofree char *question = g_strdup_printf ("What is fact number %u?", j);
  g_autofree char *answer = g_strdup_printf (markup ? "Fact %u is <b>%u</b>." : "Fact %u is %u.", j, 7 * j + 3);

  if (capitals)
    {
      g_autofree char *q = g_utf8_strup (question, -1), *a = g_utf8_strup (answer, -1);

      return g_strdup_printf ("{\"prompt\": \"%s\", \"response\": \"%s\"}\n", q, a);
    }
  return g_strdup_printf ("{\"prompt\": \"%s\", \"response\": \"%s\"}\n", question, answer);
}

static gboolean
is_markup (const Fixture *f, guint i)
{
  /* A run of records with HTML in them: findings to drop that are not the
   * copies. */
  return i >= 10 && i < 60 && i != f->held && i != f->trained;
}

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  g_autoptr(GArray) train = NULL, validation = NULL;
  g_autoptr(GString) text = g_string_new (NULL);

  f->tmp = g_dir_make_tmp ("temper-leak-page-XXXXXX", NULL);
  f->path = g_build_filename (f->tmp, "facts.jsonl", NULL);
  temper_dataset_split_n (N_FACTS, 0.1, 42, &train, &validation);
  f->held = g_array_index (validation, guint, 0);
  f->trained = g_array_index (train, guint, train->len - 1);
  for (guint i = 0; i < N_FACTS; i++)
    {
      g_autofree char *line = fact_line (i == f->trained ? f->held : i, i == f->trained, is_markup (f, i));

      g_string_append (text, line);
    }
  g_assert_true (g_file_set_contents (f->path, text->str, -1, NULL));
  f->page = gui_test_present_dataset_page (NULL, 800, 900, &f->window);
  gui_test_open_dataset (f->page, f->path);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  gtk_window_destroy (GTK_WINDOW (f->window));
  gui_test_settle (50);
  g_unlink (f->path);
  g_rmdir (f->tmp);
  g_free (f->path);
  g_free (f->tmp);
}

/* The findings whose title says "Also …" (leakage); the last one's title
 * and subtitle. */
static guint
leak_rows (GtkWidget *page, const char **title, const char **subtitle)
{
  GtkWidget *list = gui_test_find_named (page, "findings-list");
  guint n = 0;

  for (GtkWidget *row = gtk_widget_get_first_child (list); row != NULL; row = gtk_widget_get_next_sibling (row))
    if (strstr (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (row)), "Also") != NULL)
      {
        n++;
        *title = adw_preferences_row_get_title (ADW_PREFERENCES_ROW (row));
        *subtitle = adw_action_row_get_subtitle (ADW_ACTION_ROW (row));
      }
  return n;
}

/* The reference: whether the run, given the file the page hands it,
 * holds back exactly one of the two copies. */
static gboolean
run_would_leak (GtkWidget *page, guint64 seed, guint copy_of)
{
  const char *path = temper_dataset_page_get_path (TEMPER_DATASET_PAGE (page));
  g_autoptr(temper_dataset_t) ds = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) train = NULL, validation = NULL;
  g_autofree char *question = g_strdup_printf ("What is fact number %u?", copy_of);
  guint held = 0;

  g_assert_nonnull (path);
  ds = temper_dataset_load (path, NULL, &error);
  g_assert_no_error (error);
  temper_dataset_split (ds, 0.1, seed, &train, &validation);
  for (guint k = 0; k < validation->len; k++)
    {
      const TemperDatasetRecord *r = temper_dataset_get_record (ds, g_array_index (validation, guint, k));

      held += g_ascii_strcasecmp (r->messages[0].content, question) == 0;
    }
  return held == 1;
}

/* Another seed holds other records back: the finding follows it. */
static void
test_follows_seed (Fixture *f, gconstpointer data)
{
  const char *title = NULL, *subtitle = NULL;
  g_autofree char *expected_title = NULL, *expected_place = NULL;
  guint64 none = 0, swapped = 0;

  g_assert_cmpuint (leak_rows (f->page, &title, &subtitle), ==, 1);
  g_assert_true (run_would_leak (f->page, 42, f->held));
  /* Seeds under which both copies are trained on, and under which the
   * capitals are held back while the original is trained on. */
  for (guint64 seed = 1; seed < 1000 && (none == 0 || swapped == 0); seed++)
    {
      g_autoptr(GArray) train = NULL, validation = NULL;
      gboolean held_back[N_FACTS] = { FALSE };

      temper_dataset_split_n (N_FACTS, 0.1, seed, &train, &validation);
      for (guint k = 0; k < validation->len; k++)
        held_back[g_array_index (validation, guint, k)] = TRUE;
      if (none == 0 && !held_back[f->held] && !held_back[f->trained])
        none = seed;
      if (swapped == 0 && !held_back[f->held] && held_back[f->trained])
        swapped = seed;
    }
  g_assert_cmpuint (none, >, 0);
  g_assert_cmpuint (swapped, >, 0);

  temper_dataset_page_set_split (TEMPER_DATASET_PAGE (f->page), none, 0.1);
  g_assert_true (gui_test_wait_for (gui_test_dataset_idle, f->page, 30000));
  g_assert_false (run_would_leak (f->page, none, f->held));
  g_assert_cmpuint (leak_rows (f->page, &title, &subtitle), ==, 0);

  temper_dataset_page_set_split (TEMPER_DATASET_PAGE (f->page), swapped, 0.1);
  g_assert_true (gui_test_wait_for (gui_test_dataset_idle, f->page, 30000));
  g_assert_true (run_would_leak (f->page, swapped, f->held));
  g_assert_cmpuint (leak_rows (f->page, &title, &subtitle), ==, 1);
  expected_title = g_strdup_printf ("Line %u: Also among the records held back for checking", f->held + 1);
  expected_place = g_strdup_printf ("(line %u) is held back", f->trained + 1);
  g_assert_cmpstr (title, ==, expected_title);
  g_assert_nonnull (strstr (subtitle, expected_place));
}

/* A dropped record changes the cleaned copy the run splits: the finding
 * follows the copy, not the file. */
static void
test_follows_drops (Fixture *f, gconstpointer data)
{
  GtkWidget *list = gui_test_find_named (f->page, "findings-list");
  const char *title = NULL, *subtitle = NULL;
  GtkWidget *drop_row = NULL;
  guint dropped = 0;

  g_assert_cmpuint (leak_rows (f->page, &title, &subtitle), ==, 1);
  /* A record with markup whose dropping leaves both copies trained on in
   * the cleaned copy's split (219 records, 22 held back, seed 42). */
  for (guint x = 10; x < 60 && drop_row == NULL; x++)
    {
      g_autoptr(GArray) train = NULL, validation = NULL;
      gboolean either_held = FALSE;

      if (!is_markup (f, x))
        continue;
      temper_dataset_split_n (N_FACTS - 1, 0.1, 42, &train, &validation);
      for (guint k = 0; k < validation->len; k++)
        {
          guint at = g_array_index (validation, guint, k);
          guint original = at >= x ? at + 1 : at;

          either_held |= original == f->held || original == f->trained;
        }
      if (either_held)
        continue;
      dropped = x;
      for (GtkWidget *row = gtk_widget_get_first_child (list); row != NULL; row = gtk_widget_get_next_sibling (row))
        if (GPOINTER_TO_SIZE (g_object_get_data (G_OBJECT (row), "record")) == x)
          drop_row = row;
    }
  g_assert_nonnull (drop_row);
  g_signal_emit_by_name (g_object_get_data (G_OBJECT (drop_row), "drop-button"), "clicked");
  g_assert_true (gui_test_wait_for (gui_test_dataset_idle, f->page, 30000));
  g_assert_cmpstr (gtk_label_get_text (GTK_LABEL (gui_test_find_named (f->page, "dataset-split"))), ==,
                   "197 to learn from, 22 to check with");
  /* The run's split of the cleaned copy holds neither copy back. */
  g_assert_false (run_would_leak (f->page, 42, f->held));
  g_assert_cmpuint (leak_rows (f->page, &title, &subtitle), ==, 0);
  g_test_message ("dropped line %u", dropped + 1);
}

/* A file of its own to check progress on: summed up, every record of the
 * data learned from, leakage into it found, removable; the files stay as
 * they are. */
static void
test_check_file (void)
{
  g_autofree char *tmp = g_dir_make_tmp ("temper-check-file-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (tmp, "facts.jsonl", NULL);
  g_autofree char *check = g_build_filename (tmp, "check.jsonl", NULL);
  g_autofree char *check_text = NULL, *check_after = NULL, *main_text = NULL, *main_after = NULL;
  g_autoptr(GString) text = g_string_new (NULL);
  GtkWidget *window, *page;
  GtkWidget *row;
  const char *title = NULL, *subtitle = NULL;

  for (guint i = 0; i < 20; i++)
    {
      g_autofree char *line = fact_line (i, FALSE, FALSE);

      g_string_append (text, line);
    }
  g_assert_true (g_file_set_contents (path, text->str, -1, NULL));
  /* Line 2 repeats fact 5 in capitals; line 3 is not JSON. */
  g_assert_true (g_file_set_contents (check, "{\"prompt\": \"What is the fact after all?\", \"response\": \"None.\"}\n"
                                      "{\"prompt\": \"WHAT IS FACT NUMBER 5?\", \"response\": \"FACT 5 IS 38.\"}\n"
                                      "{\"prompt\": \"Broken\n", -1, NULL));
  g_assert_true (g_file_get_contents (path, &main_text, NULL, NULL));
  g_assert_true (g_file_get_contents (check, &check_text, NULL, NULL));

  page = gui_test_present_dataset_page (NULL, 800, 900, &window);
  gui_test_open_dataset (page, path);
  row = gui_test_find_named (page, "check-row");
  g_assert_cmpstr (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (row)), ==,
                   "Records held back from this file (automatic)");
  g_assert_false (gtk_widget_get_visible (gui_test_find_named (page, "check-forget")));
  g_assert_cmpuint (leak_rows (page, &title, &subtitle), ==, 0);

  temper_dataset_page_set_check_file (TEMPER_DATASET_PAGE (page), check);
  g_assert_true (gui_test_wait_for (gui_test_dataset_idle, page, 30000));
  g_assert_cmpstr (temper_dataset_page_get_check_path (TEMPER_DATASET_PAGE (page)), ==, check);
  g_assert_cmpstr (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (row)), ==, "check.jsonl");
  g_assert_cmpstr (adw_action_row_get_subtitle (ADW_ACTION_ROW (row)), ==,
                   "2 records to check with; 1 left out for a problem");
  g_assert_true (gtk_widget_get_visible (gui_test_find_named (page, "check-forget")));
  g_assert_cmpstr (gtk_label_get_text (GTK_LABEL (gui_test_find_named (page, "dataset-split"))), ==,
                   "All 20 to learn from; 2 in your check file");
  g_assert_cmpuint (leak_rows (page, &title, &subtitle), ==, 1);
  g_assert_cmpstr (title, ==, "Line 6: Also in your check file");
  g_assert_nonnull (strstr (subtitle, "in your check file (line 2 of check.jsonl)"));

  /* Removed: back to records held back, and nothing leaks. */
  gtk_widget_activate_action (page, "page.forget-check-file", NULL);
  g_assert_true (gui_test_wait_for (gui_test_dataset_idle, page, 30000));
  g_assert_null (temper_dataset_page_get_check_path (TEMPER_DATASET_PAGE (page)));
  g_assert_cmpstr (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (row)), ==,
                   "Records held back from this file (automatic)");
  g_assert_cmpstr (gtk_label_get_text (GTK_LABEL (gui_test_find_named (page, "dataset-split"))), ==,
                   "All 20 to learn from; none held back under 200");
  g_assert_cmpuint (leak_rows (page, &title, &subtitle), ==, 0);

  g_assert_true (g_file_get_contents (path, &main_after, NULL, NULL));
  g_assert_true (g_file_get_contents (check, &check_after, NULL, NULL));
  g_assert_cmpstr (main_after, ==, main_text);
  g_assert_cmpstr (check_after, ==, check_text);
  gtk_window_destroy (GTK_WINDOW (window));
  gui_test_settle (50);
  g_unlink (path);
  g_unlink (check);
  g_rmdir (tmp);
}

static gboolean
mix_read (gpointer data)
{
  return !temper_dataset_mix_is_busy (data);
}

/* The reference for a mix: in the file the page hands the run, split by
 * the run's way at @seed, the capitals copies held back whose original is
 * trained on (leakage is listed on the page's own records only). */
static guint
mix_leaks (GtkWidget *page, guint64 seed)
{
  const char *path = temper_dataset_page_get_path (TEMPER_DATASET_PAGE (page));
  g_autoptr(temper_dataset_t) ds = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) train = NULL, validation = NULL;
  guint leaks = 0;

  g_assert_nonnull (path);
  ds = temper_dataset_load (path, NULL, &error);
  g_assert_no_error (error);
  temper_dataset_split (ds, 0.1, seed, &train, &validation);
  for (guint k = 0; k < validation->len; k++)
    {
      const char *held = temper_dataset_get_record (ds, g_array_index (validation, guint, k))->messages[0].content;

      if (!g_str_has_prefix (held, "WHAT IS FACT"))
        continue;
      for (guint t = 0; t < train->len; t++)
        leaks += g_strcmp0 (temper_dataset_get_record (ds, g_array_index (train, guint, t))->messages[0].content,
                            held) != 0 &&
                 g_ascii_strcasecmp (temper_dataset_get_record (ds, g_array_index (train, guint, t))->messages[0].content,
                                     held) == 0;
    }
  return leaks;
}

/* Leakage between the page's records and a mixed-in file's is looked for in
 * the records the mix is written from, as read when it was mixed in: a
 * change to that file on disk since changes neither the mix nor the
 * findings. */
static void
test_mix_as_read (void)
{
  g_autofree char *tmp = g_dir_make_tmp ("temper-leak-mix-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (tmp, "facts.jsonl", NULL);
  g_autofree char *other = g_build_filename (tmp, "copies.jsonl", NULL);
  g_autofree char *mixed = NULL;
  g_autoptr(GString) text = g_string_new (NULL);
  g_autoptr(GString) copies = g_string_new (NULL);
  GtkWidget *window, *page;
  TemperDatasetMix *mix;
  const char *title = NULL, *subtitle = NULL;
  guint64 leaky = 0, clean = 0;
  guint expected = 0;

  for (guint i = 0; i < 20; i++)
    {
      g_autofree char *line = fact_line (i, FALSE, FALSE);

      g_string_append (text, line);
    }
  /* Five of them again in capitals: a fifth of the mix, so all of both. */
  for (guint i = 0; i < 5; i++)
    {
      g_autofree char *line = fact_line (3 * i, TRUE, FALSE);

      g_string_append (copies, line);
    }
  g_assert_true (g_file_set_contents (path, text->str, -1, NULL));
  g_assert_true (g_file_set_contents (other, copies->str, -1, NULL));
  page = gui_test_present_dataset_page (NULL, 800, 900, &window);
  gui_test_open_dataset (page, path);
  mix = TEMPER_DATASET_MIX (gui_test_find_named (page, "mix-group"));
  temper_dataset_mix_add (mix, other);
  g_assert_true (gui_test_wait_for (mix_read, mix, 30000));
  temper_dataset_mix_set_share (mix, 0, 80);
  temper_dataset_mix_set_share (mix, 1, 20);
  g_assert_true (gui_test_wait_for (gui_test_dataset_idle, page, 30000));
  mixed = g_strdup (temper_dataset_page_get_path (TEMPER_DATASET_PAGE (page)));

  /* A seed whose split holds a copy back while its original is trained
   * on, and one whose split does not. */
  for (guint64 seed = 1; seed < 1000 && (leaky == 0 || clean == 0); seed++)
    {
      guint leaks = mix_leaks (page, seed);

      if (leaky == 0 && leaks > 0)
        leaky = seed, expected = leaks;
      if (clean == 0 && leaks == 0)
        clean = seed;
    }
  g_assert_cmpuint (leaky, >, 0);
  g_assert_cmpuint (clean, >, 0);
  temper_dataset_page_set_split (TEMPER_DATASET_PAGE (page), leaky, 0.1);
  g_assert_true (gui_test_wait_for (gui_test_dataset_idle, page, 30000));
  g_assert_cmpuint (leak_rows (page, &title, &subtitle), ==, expected);

  /* The file changes on disk; the mix the run is given does not. */
  g_assert_true (g_file_set_contents (other, "{\"prompt\": \"Something else\", \"response\": \"Yes.\"}\n"
                                      "{\"prompt\": \"And more\", \"response\": \"No.\"}\n", -1, NULL));
  temper_dataset_page_set_split (TEMPER_DATASET_PAGE (page), clean, 0.1);
  g_assert_true (gui_test_wait_for (gui_test_dataset_idle, page, 30000));
  g_assert_cmpuint (leak_rows (page, &title, &subtitle), ==, 0);
  temper_dataset_page_set_split (TEMPER_DATASET_PAGE (page), leaky, 0.1);
  g_assert_true (gui_test_wait_for (gui_test_dataset_idle, page, 30000));
  g_assert_cmpstr (temper_dataset_page_get_path (TEMPER_DATASET_PAGE (page)), ==, mixed);
  g_assert_cmpuint (mix_leaks (page, leaky), ==, expected);
  g_assert_cmpuint (leak_rows (page, &title, &subtitle), ==, expected);

  gtk_window_destroy (GTK_WINDOW (window));
  gui_test_settle (50);
  test_remove_tree (tmp);
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

/* The chosen file goes with the run (its copy in the run's dataset folder,
 * named in its settings), and comes back on the Dataset page when the run
 * is reopened. */
static void
test_check_file_carried (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TemperSettings) settings = temper_settings_new (&error);
  g_autofree char *model_path = g_build_filename (g_getenv ("TEMPER_SOURCE_DIR"), "tests", "fixtures", "train",
                                                  "tiny-llama", NULL);
  g_autofree char *tmp = g_dir_make_tmp ("temper-check-carried-XXXXXX", NULL);
  g_autofree char *data = gui_test_write_capitals (tmp, "capitals.jsonl");
  g_autofree char *check = g_build_filename (tmp, "check.jsonl", NULL);
  g_autofree char *check_text = NULL, *copy_text = NULL, *dir = NULL;
  const char *check_lines = "{\"prompt\": \"What is the capital of Chile?\", \"response\": \"Santiago.\"}\n"
                            "{\"prompt\": \"What is the capital of Kenya?\", \"response\": \"Nairobi.\"}\n";
  g_autoptr(temper_run_t) run = NULL;
  TemperWindow *window;
  GtkWidget *dataset, *settings_page, *training, *model_page;

  g_assert_no_error (error);
  g_assert_true (g_file_set_contents (check, check_lines, -1, NULL));
  temper_settings_set_seen_welcome (settings, TRUE);
  window = temper_window_new (NULL, settings);
  gtk_window_present (GTK_WINDOW (window));
  settings_page = temper_window_get_page (window, "settings");
  temper_settings_page_set_measure_speed (TEMPER_SETTINGS_PAGE (settings_page), FALSE);
  model_page = temper_window_get_page (window, "model");
  temper_model_page_choose (TEMPER_MODEL_PAGE (model_page), model_path);
  g_assert_true (gui_test_wait_for (model_settled, model_page, 60000));
  dataset = temper_window_get_page (window, "dataset");
  training = temper_window_get_page (window, "training");
  gui_test_open_dataset (dataset, data);
  temper_dataset_page_set_check_file (TEMPER_DATASET_PAGE (dataset), check);
  g_assert_true (gui_test_wait_for (gui_test_dataset_idle, dataset, 60000));

  g_assert_true (temper_window_show_step (window, "settings"));
  gui_test_set_spin (settings_page, "max-steps", 1);
  gui_test_set_spin (settings_page, "max-length", 64);
  gui_test_set_spin (settings_page, "micro-batch", 1);
  gui_test_set_spin (settings_page, "grad-accum", 1);
  gui_test_set_spin (settings_page, "replay-records", 0);
  g_assert_true (temper_window_show_step (window, "training"));
  gtk_widget_activate_action (training, "page.start", NULL);
  g_assert_true (gui_test_wait_for (gui_test_training_idle, training, 120000));
  g_assert_cmpint (temper_training_page_get_state (TEMPER_TRAINING_PAGE (training)), ==, TEMPER_TRAINING_FINISHED);
  dir = g_strdup (temper_training_page_get_run_dir (TEMPER_TRAINING_PAGE (training)));
  run = temper_run_open (dir, &error);
  g_assert_no_error (error);
  g_assert_nonnull (temper_run_get_val_path (run));
  g_assert_true (temper_run_contains (run, temper_run_get_val_path (run)));
  g_assert_true (g_file_get_contents (temper_run_get_val_path (run), &copy_text, NULL, NULL));
  g_assert_cmpstr (copy_text, ==, check_lines);

  /* Reopened: the Dataset page checks on the run's copy again. */
  temper_dataset_page_set_check_file (TEMPER_DATASET_PAGE (dataset), NULL);
  g_signal_emit_by_name (temper_window_get_page (window, "runs"), "open-run", dir);
  g_assert_true (gui_test_wait_for (has_run_dir, training, 60000));
  g_assert_true (gui_test_wait_for (gui_test_dataset_idle, dataset, 60000));
  g_assert_cmpstr (temper_dataset_page_get_check_path (TEMPER_DATASET_PAGE (dataset)), ==,
                   temper_run_get_val_path (run));

  /* The person's file is as it was. */
  g_assert_true (g_file_get_contents (check, &check_text, NULL, NULL));
  g_assert_cmpstr (check_text, ==, check_lines);
  gtk_window_destroy (GTK_WINDOW (window));
  gui_test_settle (50);
  test_remove_tree (tmp);
  test_remove_tree (dir);
}

int
main (int argc, char **argv)
{
  gui_test_init (&argc, &argv);
  g_test_add ("/dataset-page/leakage-follows-seed", Fixture, NULL, fixture_set_up, test_follows_seed,
              fixture_tear_down);
  g_test_add ("/dataset-page/leakage-follows-drops", Fixture, NULL, fixture_set_up, test_follows_drops,
              fixture_tear_down);
  g_test_add_func ("/dataset-page/check-file", test_check_file);
  g_test_add_func ("/dataset-page/leakage-in-mix-as-read", test_mix_as_read);
  g_test_add_func ("/dataset-page/check-file-carried", test_check_file_carried);
  return g_test_run ();
}
