/* SPDX-License-Identifier: MIT */
/* gui-test-util.c — main-loop waiting, widget lookup and screenshots. */
#include "config.h"

#include <glib/gi18n.h>

#include "temper/i18n.h"
#include "gui-test-util.h"
#include "temper-compare-page.h"
#include "temper-dataset-page.h"
#include "temper-paths.h"
#include "temper-runs-page.h"
#include "temper-training-page.h"
#include "temper-window.h"

void
gui_test_init (int    *argc,
               char ***argv)
{
  const char *build_dir = g_getenv ("TEMPER_BUILD_DIR");
  g_autofree char *locale_dir = NULL;

  locale_dir = g_build_filename (build_dir != NULL ? build_dir : ".", "po", NULL);
  /* As the app does: LANGUAGE is honoured even where only C.UTF-8 exists. */
  temper_i18n_init (locale_dir);
  textdomain (GETTEXT_PACKAGE);

  g_test_init (argc, argv, NULL);
  adw_init ();
  temper_paths_add_icon_path (gdk_display_get_default ());
  g_object_set (gtk_settings_get_default (), "gtk-enable-animations", FALSE, NULL);
}

static gboolean
timeout_cb (gpointer data)
{
  gboolean *expired = data;

  *expired = TRUE;
  return G_SOURCE_REMOVE;
}

gboolean
gui_test_wait_for (gboolean (*done) (gpointer data),
                   gpointer   data,
                   guint      timeout_ms)
{
  gboolean expired = FALSE;
  guint id = g_timeout_add (timeout_ms, timeout_cb, &expired);

  while (!done (data) && !expired)
    g_main_context_iteration (NULL, TRUE);
  if (!expired)
    g_source_remove (id);
  return done (data);
}

static gboolean
never (gpointer data)
{
  return FALSE;
}

void
gui_test_settle (guint ms)
{
  gui_test_wait_for (never, NULL, ms);
}

GtkWidget *
gui_test_find_named (GtkWidget  *root,
                     const char *name)
{
  if (g_strcmp0 (gtk_widget_get_name (root), name) == 0)
    return root;
  for (GtkWidget *child = gtk_widget_get_first_child (root);
       child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = gui_test_find_named (child, name);

      if (found != NULL)
        return found;
    }
  return NULL;
}

GtkWidget *
gui_test_find_button_labelled (GtkWidget  *root,
                               const char *label)
{
  if (GTK_IS_BUTTON (root) && g_strcmp0 (gtk_button_get_label (GTK_BUTTON (root)), label) == 0)
    return root;
  for (GtkWidget *child = gtk_widget_get_first_child (root);
       child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = gui_test_find_button_labelled (child, label);

      if (found != NULL)
        return found;
    }
  return NULL;
}

gboolean
gui_test_save_png (GtkWidget   *widget,
                   const char  *path,
                   int         *width,
                   int         *height,
                   GError     **error)
{
  g_autoptr(GdkPaintable) paintable = gtk_widget_paintable_new (widget);
  g_autoptr(GskRenderNode) node = NULL;
  g_autoptr(GdkTexture) texture = NULL;
  GskRenderer *renderer;
  int w = 0, h = 0;

  /* A widget waiting for a new layout draws nothing: give a busy machine
   * a few frames to catch up. */
  for (guint attempt = 0; node == NULL && attempt < 50; attempt++)
    {
      GtkSnapshot *snapshot;

      if (attempt > 0)
        gui_test_settle (100);
      w = gtk_widget_get_width (widget);
      h = gtk_widget_get_height (widget);
      snapshot = gtk_snapshot_new ();
      gdk_paintable_snapshot (paintable, snapshot, w, h);
      node = gtk_snapshot_free_to_node (snapshot);
    }
  if (node == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "the widget drew nothing");
      return FALSE;
    }
  renderer = gtk_native_get_renderer (gtk_widget_get_native (widget));
  texture = gsk_renderer_render_texture (renderer, node, &GRAPHENE_RECT_INIT (0, 0, w, h));
  if (width != NULL)
    *width = gdk_texture_get_width (texture);
  if (height != NULL)
    *height = gdk_texture_get_height (texture);
  if (!gdk_texture_save_to_png (texture, path))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "could not write %s", path);
      return FALSE;
    }
  return TRUE;
}

void
gui_test_set_spin (GtkWidget  *page,
                   const char *name,
                   double      value)
{
  GtkWidget *spin = gui_test_find_named (page, name);

  g_assert_nonnull (spin);
  g_assert_true (GTK_IS_SPIN_BUTTON (spin));
  gtk_spin_button_set_value (GTK_SPIN_BUTTON (spin), value);
}

char *
gui_test_write_capitals (const char *folder,
                         const char *name)
{
  g_autoptr(GString) text = g_string_new (NULL);
  g_autoptr(GError) error = NULL;
  char *path = g_build_filename (folder, name, NULL);
  const char *answers[] = { "Paris", "Berlin", "Madrid", "Rome", "Lisbon", "Vienna", "Oslo", "Athens" };
  const char *countries[] = { "France", "Germany", "Spain", "Italy", "Portugal", "Austria", "Norway", "Greece" };

  for (guint i = 0; i < G_N_ELEMENTS (answers); i++)
    {
      if (i == 4)
        g_string_append (text, "{\"prompt\": \"What is the capital of nowhere?\"}\n");
      g_string_append_printf (text, "{\"prompt\": \"What is the capital of %s?\", \"response\": \"The capital of %s is %s.\"}\n",
                              countries[i], countries[i], answers[i]);
    }
  g_file_set_contents (path, text->str, (gssize) text->len, &error);
  g_assert_no_error (error);
  return path;
}

gboolean
gui_test_dataset_idle (gpointer dataset_page)
{
  return !temper_dataset_page_is_busy (dataset_page);
}

GtkWidget *
gui_test_present_dataset_page (TemperLoadedModel *model, int width, int height, GtkWidget **window)
{
  GtkWidget *page = g_object_new (TEMPER_TYPE_DATASET_PAGE, NULL);

  *window = gtk_window_new ();
  gtk_window_set_child (GTK_WINDOW (*window), page);
  if (width > 0 && height > 0)
    gtk_window_set_default_size (GTK_WINDOW (*window), width, height);
  gtk_window_present (GTK_WINDOW (*window));
  if (model != NULL)
    temper_dataset_page_set_model (TEMPER_DATASET_PAGE (page), model);
  return page;
}

void
gui_test_open_dataset (GtkWidget *dataset_page, const char *path)
{
  temper_dataset_page_open (TEMPER_DATASET_PAGE (dataset_page), path);
  g_assert_true (gui_test_wait_for (gui_test_dataset_idle, dataset_page, 60000));
}

gboolean
gui_test_training_idle (gpointer training_page)
{
  return !temper_training_page_is_busy (training_page);
}

gboolean
gui_test_runs_idle (gpointer runs_page)
{
  return !temper_runs_page_is_busy (runs_page);
}

gboolean
gui_test_runs_listed (gpointer runs_page)
{
  return !temper_runs_page_is_busy (runs_page) && temper_runs_page_get_n_runs (runs_page) > 0;
}

gboolean
gui_test_compare_idle (gpointer compare_page)
{
  return !temper_compare_page_is_busy (compare_page);
}

gboolean
gui_test_on_training (gpointer window)
{
  return g_str_equal (temper_window_get_current_step (window), "training");
}

gboolean
gui_test_flag_set (gpointer flag)
{
  return *(gboolean *) flag;
}

gboolean
gui_test_set_flag (gpointer flag)
{
  *(gboolean *) flag = TRUE;
  return G_SOURCE_REMOVE;
}
