/* SPDX-License-Identifier: MIT */
/* gui-test-util.h — helpers shared by the GUI tests. */
#pragma once

#include <adwaita.h>

#include "temper-loaded-model.h"

G_BEGIN_DECLS

/* setlocale, translations from the build tree, g_test_init, adw_init, and
 * no animations (so a screenshot shows the finished state). */
void       gui_test_init           (int *argc, char ***argv);
/* Runs the main loop until @done returns TRUE or @timeout_ms passes;
 * returns the last value of @done. */
gboolean   gui_test_wait_for       (gboolean (*done) (gpointer data), gpointer data,
                                    guint timeout_ms);
/* Runs the main loop for @ms milliseconds (layout, drawing). */
void       gui_test_settle         (guint ms);
/* The first widget named @name (gtk_widget_set_name / the .ui "name"
 * property) under @root, depth first, or NULL. */
GtkWidget *gui_test_find_named     (GtkWidget *root, const char *name);
/* The first button under @root whose label is @label ("_Undo"): a toast's
 * button, as the person sees it. */
GtkWidget *gui_test_find_button_labelled (GtkWidget *root, const char *label);
/* Renders @widget as it is shown now and writes a PNG; returns the image
 * size through @width and @height. */
gboolean   gui_test_save_png       (GtkWidget *widget, const char *path,
                                    int *width, int *height, GError **error);

/* Conditions for gui_test_wait_for(); @data is what each names. */
gboolean   gui_test_dataset_idle   (gpointer dataset_page);   /* not reading a file */
gboolean   gui_test_training_idle  (gpointer training_page);  /* no worker running */
gboolean   gui_test_runs_idle      (gpointer runs_page);      /* not listing */
gboolean   gui_test_runs_listed    (gpointer runs_page);      /* listed, at least one run */
gboolean   gui_test_compare_idle   (gpointer compare_page);   /* no answers being made */
gboolean   gui_test_on_training    (gpointer window);         /* the Training step is shown */
gboolean   gui_test_flag_set       (gpointer flag);           /* *(gboolean *) flag */
/* A main-loop source that sets *(gboolean *) @flag and goes away. */
gboolean   gui_test_set_flag       (gpointer flag);

/* A dataset page alone in a presented window of @width × @height (0 × 0:
 * GTK's default size), counting tokens with @model (NULL: none); the
 * caller destroys *@window. */
GtkWidget *gui_test_present_dataset_page (TemperLoadedModel *model, int width, int height, GtkWidget **window);
/* Opens @path in @dataset_page and waits until it has settled (the file
 * checked, leakage looked for, the problems found at the max length);
 * fails the test after a minute. */
void       gui_test_open_dataset   (GtkWidget *dataset_page, const char *path);

/* Sets the spin button named @name under @page (it must exist). */
void       gui_test_set_spin       (GtkWidget *page, const char *name, double value);
/* Writes FOLDER/NAME: eight prompt/response records about capitals, with a
 * record that has no response on line 5 for the dataset check to report.
 * Returns the path. */
char      *gui_test_write_capitals (const char *folder, const char *name);

G_END_DECLS
