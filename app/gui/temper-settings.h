/* SPDX-License-Identifier: MIT */
/* temper-settings.h — the app's preferences and remembered state.
 *
 * The only object that touches GSettings: everything else reads and writes
 * these properties, so the schema can change in one place. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define TEMPER_SETTINGS_SCHEMA_ID "io.github.temper.Temper"

#define TEMPER_TYPE_SETTINGS (temper_settings_get_type ())
G_DECLARE_FINAL_TYPE (TemperSettings, temper_settings, TEMPER, SETTINGS, GObject)

/* Returns NULL and sets @error when the schema is not installed (an
 * incomplete installation the person can fix by reinstalling). */
TemperSettings *temper_settings_new (GError **error);

const char  *temper_settings_get_default_device   (TemperSettings *self);
void         temper_settings_set_default_device   (TemperSettings *self, const char *device);
/* Returns a new NULL-terminated array. */
char       **temper_settings_dup_model_folders    (TemperSettings *self);
void         temper_settings_set_model_folders    (TemperSettings *self, const char *const *folders);
void         temper_settings_add_model_folder     (TemperSettings *self, const char *folder);
void         temper_settings_remove_model_folder  (TemperSettings *self, const char *folder);
void         temper_settings_get_window_size      (TemperSettings *self, int *width, int *height);
void         temper_settings_set_window_size      (TemperSettings *self, int width, int height);
gboolean     temper_settings_get_window_maximized (TemperSettings *self);
void         temper_settings_set_window_maximized (TemperSettings *self, gboolean maximized);
gboolean     temper_settings_get_seen_welcome     (TemperSettings *self);
void         temper_settings_set_seen_welcome     (TemperSettings *self, gboolean seen);
/* The training speed, in FLOP/s, that the last run on @device_id ("cpu:0",
 * "vulkan:1") sustained; 0 when no run has been measured there. */
double       temper_settings_get_measured_speed   (TemperSettings *self, const char *device_id);
void         temper_settings_set_measured_speed   (TemperSettings *self, const char *device_id,
                                                   double flops_per_s);
const char  *temper_settings_get_last_run         (TemperSettings *self);
void         temper_settings_set_last_run         (TemperSettings *self, const char *run_folder);

G_END_DECLS
