/* SPDX-License-Identifier: MIT */
/* temper-preferences-window.h — default device and extra model folders. */
#pragma once

#include <adwaita.h>

#include "temper-settings.h"

G_BEGIN_DECLS

#define TEMPER_TYPE_PREFERENCES_WINDOW (temper_preferences_window_get_type ())
G_DECLARE_FINAL_TYPE (TemperPreferencesWindow, temper_preferences_window, TEMPER, PREFERENCES_WINDOW, AdwPreferencesWindow)

GtkWidget *temper_preferences_window_new (GtkWindow      *parent,
                                          TemperSettings *settings);

G_END_DECLS
