/* SPDX-License-Identifier: MIT */
/* temper-window.h — the main window: a welcome, then the steps of the
 * user's path (Model → Dataset → …) with a sidebar and Back/Next. */
#pragma once

#include <adwaita.h>

#include "temper-settings.h"

G_BEGIN_DECLS

#define TEMPER_TYPE_WINDOW (temper_window_get_type ())
G_DECLARE_FINAL_TYPE (TemperWindow, temper_window, TEMPER, WINDOW, AdwApplicationWindow)

/* @application may be NULL (tests show the window without running the app). */
TemperWindow *temper_window_new              (GtkApplication *application,
                                              TemperSettings *settings);
/* Shows step @name ("model", "dataset") if the steps before it are done;
 * returns whether it did. */
gboolean      temper_window_show_step        (TemperWindow   *self,
                                              const char     *name);
const char   *temper_window_get_current_step (TemperWindow   *self);
/* "Open with Temper": leaves the welcome and opens @path on its page — a
 * GGUF model (by its .gguf name or its GGUF signature) on the Model page,
 * anything else as a dataset on the Dataset page. */
void          temper_window_open_file        (TemperWindow   *self,
                                              const char     *path);
/* The page widget of step @name, or NULL. */
GtkWidget    *temper_window_get_page         (TemperWindow   *self,
                                              const char     *name);

G_END_DECLS
