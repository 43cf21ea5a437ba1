/* SPDX-License-Identifier: MIT */
/* test-window.c — the window from welcome to Dataset, as a person uses it:
 * get started, choose the demo model from the list, see its facts once the
 * worker thread has loaded it, go on, open a broken dataset and see its bad
 * lines listed, and Back/Next enabled only when they should be.
 *
 * Expected facts come from the files themselves (the GGUF header read here
 * with the GGUF reader; the fixture's broken lines counted by hand), not
 * from the app's own output. */
#include "config.h"

#include <unistd.h>

#include <glib/gstdio.h>

#include "temper/gguf.h"
#include "gui-test-util.h"
#include "temper-dataset-page.h"
#include "temper-error-banner.h"
#include "temper-device-list.h"
#include "temper-model-page.h"
#include "temper-preferences-window.h"
#include "temper-settings.h"
#include "temper-window.h"

#define DEMO_MODEL "SmolLM2-135M-Instruct.Q4_1.gguf"

static char *
source_path (const char *first, ...)
{
  const char *root = g_getenv ("TEMPER_SOURCE_DIR");
  g_autoptr(GPtrArray) parts = g_ptr_array_new ();
  const char *part;
  va_list args;

  g_ptr_array_add (parts, (gpointer) (root != NULL ? root : TEMPER_SOURCE_DIR));
  g_ptr_array_add (parts, (gpointer) first);
  va_start (args, first);
  while ((part = va_arg (args, const char *)) != NULL)
    g_ptr_array_add (parts, (gpointer) part);
  va_end (args);
  g_ptr_array_add (parts, NULL);
  return g_build_filenamev ((char **) parts->pdata);
}

static gboolean
has_demo_row (gpointer data)
{
  return gui_test_find_named (data, "demo-model") != NULL;
}

static gboolean
model_page_settled (gpointer data)
{
  TemperModelPage *page = data;

  return !temper_model_page_is_busy (page);
}

static gboolean
sensitive (GtkWidget  *root,
           const char *name)
{
  GtkWidget *widget = gui_test_find_named (root, name);

  g_assert_nonnull (widget);
  return gtk_widget_get_sensitive (widget);
}

static const char *
label_text (GtkWidget  *root,
            const char *name)
{
  GtkWidget *label = gui_test_find_named (root, name);

  g_assert_nonnull (label);
  g_assert_true (GTK_IS_LABEL (label));
  return gtk_label_get_text (GTK_LABEL (label));
}

/* Titles of the rows of the list box named @name, in order. */
static GPtrArray *
row_titles (GtkWidget  *root,
            const char *name)
{
  GtkWidget *list = gui_test_find_named (root, name);
  GPtrArray *titles = g_ptr_array_new_with_free_func (g_free);

  g_assert_nonnull (list);
  for (GtkWidget *row = gtk_widget_get_first_child (list); row != NULL; row = gtk_widget_get_next_sibling (row))
    if (ADW_IS_PREFERENCES_ROW (row))
      g_ptr_array_add (titles, g_strdup (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (row))));
  return titles;
}

static gboolean
titles_have_prefix (GPtrArray  *titles,
                    const char *prefix)
{
  for (guint i = 0; i < titles->len; i++)
    if (g_str_has_prefix (g_ptr_array_index (titles, i), prefix))
      return TRUE;
  return FALSE;
}

static void
check_model_facts (GtkWidget  *page,
                   const char *model_path)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(temper_gguf_t) gguf = temper_gguf_open (model_path, &error);
  g_autofree char *name = NULL;
  g_autofree char *arch = NULL;
  g_autofree char *context = NULL;
  g_autofree char *arch_key = NULL;
  guint32 n_ctx = 0;

  g_assert_no_error (error);
  name = temper_gguf_dup_string (gguf, "general.name");
  arch = temper_gguf_dup_string (gguf, "general.architecture");
  arch_key = g_strdup_printf ("%s.context_length", arch);
  g_assert_true (temper_gguf_get_u32 (gguf, arch_key, &n_ctx));
  context = g_strdup_printf ("%u", n_ctx);

  g_assert_cmpstr (label_text (page, "model-name"), ==, name);
  g_assert_true (g_str_has_prefix (label_text (page, "model-architecture"), arch));
  g_assert_nonnull (strstr (label_text (page, "model-context"), context));
  /* The file's own type (general.file_type, as its name says), then the
   * block types behind it: gguf-py counts 79 % of the demo model's matrix
   * elements in Q4_1 blocks and 21 % in Q8_0. */
  g_assert_cmpstr (label_text (page, "model-quantization"), ==, "Q4_1 (Q4_1 79 %, Q8_0 21 %)");
  /* SmolLM2-135M has about 135 million parameters (134.5 M by its config). */
  g_assert_true (g_str_has_prefix (label_text (page, "model-parameters"), "134.5"));
  g_assert_cmpstr (label_text (page, "model-size"), !=, "");
}

static void
test_walk (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TemperSettings) settings = temper_settings_new (&error);
  g_autofree char *model_path = source_path ("data", "models", DEMO_MODEL, NULL);
  g_autofree char *broken = source_path ("tests", "fixtures", "datasets", "not-json.jsonl", NULL);
  g_autoptr(GPtrArray) problems = NULL;
  TemperWindow *window;
  GtkWidget *root, *model_page, *dataset_page, *demo_row, *error_banner;

  g_assert_no_error (error);
  if (!g_file_test (model_path, G_FILE_TEST_EXISTS))
    {
      g_test_skip ("the demo model is not downloaded (data/models/" DEMO_MODEL ")");
      return;
    }

  window = temper_window_new (NULL, settings);
  root = GTK_WIDGET (window);
  gtk_window_present (GTK_WINDOW (window));
  gui_test_settle (100);

  /* First run: the welcome shows until "Get started". */
  g_assert_true (gtk_widget_get_mapped (gui_test_find_named (root, "welcome")));
  /* …and says where models come from besides the demo model. */
  for (const char *const *place = (const char *const[]) { "demo model", "Ollama", "LM Studio",
                                                          "Hugging Face", ".gguf", NULL };
       *place != NULL; place++)
    g_assert_nonnull (strstr (label_text (root, "welcome-models"), *place));
  gtk_widget_activate_action (root, "win.get-started", NULL);
  gui_test_settle (50);
  g_assert_true (temper_settings_get_seen_welcome (settings));
  g_assert_cmpstr (temper_window_get_current_step (window), ==, "model");
  g_assert_false (sensitive (root, "back-button"));
  g_assert_false (sensitive (root, "next-button"));
  /* The Dataset step cannot be reached before a model is chosen. */
  g_assert_false (temper_window_show_step (window, "dataset"));
  g_assert_false (sensitive (root, "dataset"));

  /* A file that is no model: the engine's reason shows in the page, and
   * the way forward stays closed. */
  model_page = temper_window_get_page (window, "model");
  error_banner = gui_test_find_named (model_page, "model-error");
  g_assert_nonnull (error_banner);
  temper_model_page_choose (TEMPER_MODEL_PAGE (model_page), broken);
  g_assert_true (gui_test_wait_for (model_page_settled, model_page, 20000));
  g_assert_true (gtk_widget_get_visible (error_banner));
  g_assert_nonnull (temper_error_banner_get_title (TEMPER_ERROR_BANNER (error_banner)));
  g_assert_null (temper_model_page_get_model (TEMPER_MODEL_PAGE (model_page)));
  g_assert_false (sensitive (root, "next-button"));

  /* Choose the bundled model from the list, as a click would. */
  g_assert_true (gui_test_wait_for (has_demo_row, model_page, 20000));
  demo_row = gui_test_find_named (model_page, "demo-model");
  g_assert_true (gtk_widget_activate (demo_row));
  g_assert_true (temper_model_page_is_busy (TEMPER_MODEL_PAGE (model_page)));
  g_assert_true (gui_test_wait_for (model_page_settled, model_page, 120000));
  if (gtk_widget_get_visible (error_banner))
    g_test_message ("loading failed: %s", temper_error_banner_get_title (TEMPER_ERROR_BANNER (error_banner)));
  g_assert_false (gtk_widget_get_visible (error_banner));
  g_assert_nonnull (temper_model_page_get_model (TEMPER_MODEL_PAGE (model_page)));
  check_model_facts (model_page, model_path);

  g_assert_false (sensitive (root, "back-button"));
  g_assert_true (sensitive (root, "next-button"));
  g_assert_true (sensitive (root, "dataset"));

  gtk_widget_activate_action (root, "win.next-page", NULL);
  g_assert_cmpstr (temper_window_get_current_step (window), ==, "dataset");
  g_assert_true (sensitive (root, "back-button"));
  /* Nothing opened yet. */
  g_assert_false (sensitive (root, "next-button"));

  /* not-json.jsonl: line 1 and 6 are good; 2 and 3 are not JSON, 4 and 5
   * are JSON but not records. */
  dataset_page = temper_window_get_page (window, "dataset");
  g_assert_true (temper_dataset_page_get_model (TEMPER_DATASET_PAGE (dataset_page)) ==
                 temper_model_page_get_model (TEMPER_MODEL_PAGE (model_page)));
  temper_dataset_page_open (TEMPER_DATASET_PAGE (dataset_page), broken);
  g_assert_true (gui_test_wait_for (gui_test_dataset_idle, dataset_page, 60000));
  gui_test_settle (50);

  problems = row_titles (dataset_page, "problems-list");
  g_assert_cmpuint (problems->len, ==, 4);
  g_assert_true (titles_have_prefix (problems, "Line 2:"));
  g_assert_true (titles_have_prefix (problems, "Line 3:"));
  g_assert_true (titles_have_prefix (problems, "Line 4:"));
  g_assert_true (titles_have_prefix (problems, "Line 5:"));
  g_assert_false (titles_have_prefix (problems, "Line 1:"));
  g_assert_false (titles_have_prefix (problems, "Line 6:"));
  g_assert_cmpstr (label_text (dataset_page, "dataset-records"), ==, "2 of 6");
  g_assert_true (gtk_widget_get_mapped (gui_test_find_named (dataset_page, "problems-list")));

  /* Back to the model, whose Next is still open. */
  gtk_widget_activate_action (root, "win.previous-page", NULL);
  g_assert_cmpstr (temper_window_get_current_step (window), ==, "model");
  g_assert_false (sensitive (root, "back-button"));
  g_assert_true (sensitive (root, "next-button"));

  gtk_window_destroy (GTK_WINDOW (window));
  gui_test_settle (50);
}

typedef struct {
  GtkWidget *list;
  guint      rows;
} RowCount;

static gboolean
list_has_rows (gpointer data)
{
  RowCount *count = data;
  guint n = 0;

  for (GtkWidget *row = gtk_widget_get_first_child (count->list); row != NULL; row = gtk_widget_get_next_sibling (row))
    n += ADW_IS_ACTION_ROW (row);
  return n >= count->rows;
}

/* A folder added in the settings is searched at once: a model placed there
 * shows up in the list, marked as coming from the person's folders. */
static void
test_model_folders (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TemperSettings) settings = temper_settings_new (&error);
  g_autofree char *model_path = source_path ("data", "models", DEMO_MODEL, NULL);
  g_autofree char *folder = g_dir_make_tmp ("temper-models-XXXXXX", &error);
  g_autofree char *link = NULL;
  RowCount count = { NULL, 2 };
  gboolean found = FALSE;
  TemperWindow *window;
  GtkWidget *model_page;

  g_assert_no_error (error);
  if (!g_file_test (model_path, G_FILE_TEST_EXISTS))
    {
      g_test_skip ("the demo model is not downloaded (data/models/" DEMO_MODEL ")");
      return;
    }
  link = g_build_filename (folder, "my-model.gguf", NULL);
  g_assert_cmpint (symlink (model_path, link), ==, 0);

  temper_settings_set_model_folders (settings, NULL);
  window = temper_window_new (NULL, settings);
  gtk_window_present (GTK_WINDOW (window));
  model_page = temper_window_get_page (window, "model");
  g_assert_true (gui_test_wait_for (has_demo_row, model_page, 20000));

  temper_settings_add_model_folder (settings, folder);
  count.list = gui_test_find_named (model_page, "models-list");
  g_assert_true (gui_test_wait_for (list_has_rows, &count, 20000));
  for (GtkWidget *row = gtk_widget_get_first_child (count.list); row != NULL; row = gtk_widget_get_next_sibling (row))
    if (ADW_IS_ACTION_ROW (row) && g_strcmp0 (gtk_widget_get_name (row), "demo-model") != 0)
      {
        found = TRUE;
        g_assert_true (g_str_has_prefix (adw_action_row_get_subtitle (ADW_ACTION_ROW (row)), "Your model folders"));
        g_assert_cmpstr (gtk_widget_get_tooltip_text (row), ==, link);
      }
  g_assert_true (found);

  gtk_window_destroy (GTK_WINDOW (window));
  gui_test_settle (50);
  temper_settings_set_model_folders (settings, NULL);
  g_unlink (link);
  g_rmdir (folder);
}

static gboolean
widget_sensitive (gpointer data)
{
  return gtk_widget_get_sensitive (data);
}

/* Preferences edit the settings: the device list is the engine's, in its
 * order after "Best available"; folders appear and go with the settings. */
static void
test_preferences (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TemperSettings) settings = temper_settings_new (&error);
  g_autoptr(GPtrArray) devices = temper_devices_list (NULL);
  g_autofree char *first_id = NULL;
  g_autoptr(GPtrArray) folder_titles = NULL;
  const char *folders[] = { "/srv/models", NULL };
  GtkWidget *preferences, *device_row;

  g_assert_no_error (error);
  g_assert_cmpuint (devices->len, >, 0);   /* the CPU is always there */
  first_id = temper_device_id (g_ptr_array_index (devices, 0));

  temper_settings_set_default_device (settings, "");
  temper_settings_set_model_folders (settings, folders);
  preferences = temper_preferences_window_new (NULL, settings);
  gtk_window_present (GTK_WINDOW (preferences));

  device_row = gui_test_find_named (preferences, "default-device");
  g_assert_nonnull (device_row);
  g_assert_true (gui_test_wait_for (widget_sensitive, device_row, 20000));
  g_assert_cmpuint (g_list_model_get_n_items (adw_combo_row_get_model (ADW_COMBO_ROW (device_row))),
                    ==, devices->len + 1);
  g_assert_cmpuint (adw_combo_row_get_selected (ADW_COMBO_ROW (device_row)), ==, 0);
  adw_combo_row_set_selected (ADW_COMBO_ROW (device_row), 1);
  g_assert_cmpstr (temper_settings_get_default_device (settings), ==, first_id);
  adw_combo_row_set_selected (ADW_COMBO_ROW (device_row), 0);
  g_assert_cmpstr (temper_settings_get_default_device (settings), ==, "");

  folder_titles = row_titles (preferences, "folders-list");
  g_assert_cmpuint (folder_titles->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (folder_titles, 0), ==, "/srv/models");
  temper_settings_add_model_folder (settings, "/opt/llm");
  g_clear_pointer (&folder_titles, g_ptr_array_unref);
  folder_titles = row_titles (preferences, "folders-list");
  g_assert_cmpuint (folder_titles->len, ==, 2);
  g_assert_cmpstr (g_ptr_array_index (folder_titles, 1), ==, "/opt/llm");

  gtk_window_destroy (GTK_WINDOW (preferences));
  gui_test_settle (50);
}

/* A device that failed its self-test is marked in the device list, and
 * choosing it says why it is not trained on, in words. */
static void
test_preferences_self_test (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TemperSettings) settings = temper_settings_new (&error);
  g_autoptr(GPtrArray) devices = temper_devices_list (NULL);
  TemperDeviceInfo *gpu = NULL;
  GtkWidget *preferences, *device_row;
  GListModel *names;
  guint index = 0;

  g_assert_no_error (error);
  for (guint i = 0; i < devices->len && gpu == NULL; i++)
    if (((TemperDeviceInfo *) devices->pdata[i])->backend != TEMPER_BACKEND_CPU)
      {
        gpu = devices->pdata[i];
        index = i + 1;   /* after "Best available" */
      }
  if (gpu == NULL)
    {
      g_test_skip ("no GPU (not even a software Vulkan driver) to mark as failed");
      return;
    }
  /* The throw-away cache folder of run-under-xvfb.sh. */
  temper_device_self_test_store (gpu, TEMPER_SELF_TEST_FAILED, "Attention gave results 71.0% away");

  temper_settings_set_default_device (settings, "");
  preferences = temper_preferences_window_new (NULL, settings);
  gtk_window_present (GTK_WINDOW (preferences));
  device_row = gui_test_find_named (preferences, "default-device");
  g_assert_true (gui_test_wait_for (widget_sensitive, device_row, 20000));
  names = adw_combo_row_get_model (ADW_COMBO_ROW (device_row));
  g_assert_nonnull (strstr (gtk_string_list_get_string (GTK_STRING_LIST (names), index), gpu->name));
  g_assert_nonnull (strstr (gtk_string_list_get_string (GTK_STRING_LIST (names), index), "not used"));
  g_assert_cmpstr (adw_action_row_get_subtitle (ADW_ACTION_ROW (device_row)), ==, "");

  adw_combo_row_set_selected (ADW_COMBO_ROW (device_row), index);
  g_assert_nonnull (strstr (adw_action_row_get_subtitle (ADW_ACTION_ROW (device_row)),
                            "Not used for training"));
  g_assert_nonnull (strstr (adw_action_row_get_subtitle (ADW_ACTION_ROW (device_row)),
                            "Attention gave results 71.0% away"));
  adw_combo_row_set_selected (ADW_COMBO_ROW (device_row), 0);
  g_assert_cmpstr (adw_action_row_get_subtitle (ADW_ACTION_ROW (device_row)), ==, "");

  gtk_window_destroy (GTK_WINDOW (preferences));
  gui_test_settle (50);
  temper_device_self_test_store (gpu, TEMPER_SELF_TEST_PASSED, NULL);
}

int
main (int   argc,
      char *argv[])
{
  gui_test_init (&argc, &argv);

  g_test_add_func ("/window/walk", test_walk);
  g_test_add_func ("/window/preferences", test_preferences);
  g_test_add_func ("/window/preferences-self-test", test_preferences_self_test);
  g_test_add_func ("/window/model-folders", test_model_folders);

  return g_test_run ();
}
