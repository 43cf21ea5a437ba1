/* SPDX-License-Identifier: MIT */
/* test-open-file.c — "Open with Temper": the application started with a
 * file argument, as the desktop file's `Exec=temper %F` runs it, opens a
 * dataset on the Dataset page and a .gguf on the Model page, past the
 * welcome, and loads it there.
 *
 * The application runs for real (g_application_run with the file on its
 * command line), as its own non-unique instance so no session bus is
 * needed; a timer checks the window and quits. */
#include "config.h"

#include "gui-test-util.h"
#include "temper-application.h"
#include "temper-dataset-page.h"
#include "temper-loaded-model.h"
#include "temper-model-page.h"
#include "temper-settings.h"
#include "temper-window.h"

#define DEMO_MODEL "SmolLM2-135M-Instruct.Q4_1.gguf"

typedef struct {
  GApplication *app;
  const char   *path;
  const char   *step;       /* the page the file must open on */
  gboolean      loaded;     /* the page finished loading the file */
  gint64        deadline;
} Opening;

static gboolean
check_window_cb (gpointer data)
{
  Opening *o = data;
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (o->app));
  GtkWidget *page;

  if (window != NULL && g_strcmp0 (temper_window_get_current_step (TEMPER_WINDOW (window)), o->step) == 0)
    {
      page = temper_window_get_page (TEMPER_WINDOW (window), o->step);
      if (g_str_equal (o->step, "dataset") && !temper_dataset_page_is_busy (TEMPER_DATASET_PAGE (page)))
        o->loaded = g_strcmp0 (temper_dataset_page_get_path (TEMPER_DATASET_PAGE (page)), o->path) == 0;
      else if (g_str_equal (o->step, "model") && !temper_model_page_is_busy (TEMPER_MODEL_PAGE (page)))
        {
          TemperLoadedModel *model = temper_model_page_get_model (TEMPER_MODEL_PAGE (page));

          o->loaded = model != NULL &&
                      g_strcmp0 (temper_model_get_path (temper_loaded_model_get_model (model)), o->path) == 0;
        }
    }
  if (o->loaded || g_get_monotonic_time () > o->deadline)
    {
      g_application_quit (o->app);
      return G_SOURCE_REMOVE;
    }
  return G_SOURCE_CONTINUE;
}

static void
open_with_temper (const char *path,
                  const char *step)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TemperSettings) settings = temper_settings_new (&error);
  g_autoptr(TemperApplication) app = NULL;
  char *argv[] = { (char *) "temper", (char *) path, NULL };
  Opening o = { 0 };
  int status;

  g_assert_no_error (error);
  temper_settings_set_seen_welcome (settings, FALSE);
  app = temper_application_new (settings);
  g_application_set_flags (G_APPLICATION (app),
                           g_application_get_flags (G_APPLICATION (app)) | G_APPLICATION_NON_UNIQUE);
  g_assert_true (g_application_get_flags (G_APPLICATION (app)) & G_APPLICATION_HANDLES_OPEN);

  o.app = G_APPLICATION (app);
  o.path = path;
  o.step = step;
  o.deadline = g_get_monotonic_time () + 120 * G_USEC_PER_SEC;
  g_timeout_add (100, check_window_cb, &o);
  status = g_application_run (G_APPLICATION (app), 2, argv);

  g_assert_cmpint (status, ==, 0);
  g_assert_true (o.loaded);
  g_assert_true (temper_settings_get_seen_welcome (settings));
}

static void
test_open_dataset (void)
{
  const char *src = g_getenv ("TEMPER_SOURCE_DIR");
  g_autofree char *path = g_build_filename (src != NULL ? src : TEMPER_SOURCE_DIR,
                                            "data", "samples", "style-pirate.jsonl", NULL);

  open_with_temper (path, "dataset");
}

static void
test_open_model (void)
{
  const char *src = g_getenv ("TEMPER_SOURCE_DIR");
  g_autofree char *path = g_build_filename (src != NULL ? src : TEMPER_SOURCE_DIR,
                                            "data", "models", DEMO_MODEL, NULL);

  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    {
      g_test_skip ("the demo model is not downloaded (data/models/" DEMO_MODEL ")");
      return;
    }
  open_with_temper (path, "model");
}

int
main (int argc, char **argv)
{
  gui_test_init (&argc, &argv);
  g_test_add_func ("/gui/open-file/dataset", test_open_dataset);
  g_test_add_func ("/gui/open-file/model", test_open_model);
  return g_test_run ();
}
