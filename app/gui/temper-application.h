/* SPDX-License-Identifier: MIT */
/* temper-application.h — the app: its actions and its one settings object. */
#pragma once

#include <adwaita.h>

#include "temper-settings.h"

G_BEGIN_DECLS

#define TEMPER_TYPE_APPLICATION (temper_application_get_type ())
G_DECLARE_FINAL_TYPE (TemperApplication, temper_application, TEMPER, APPLICATION, AdwApplication)

/* @settings is shared by every window and dialog. */
TemperApplication *temper_application_new          (TemperSettings    *settings);
TemperSettings    *temper_application_get_settings (TemperApplication *self);

G_END_DECLS
