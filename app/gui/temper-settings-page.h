/* SPDX-License-Identifier: MIT */
/* temper-settings-page.h — step 3: how to train.
 *
 * Three presets cover most people; the Advanced section shows every field
 * of TemperTrainSettings.  The page also picks the device and estimates the
 * memory and time the run will take for the chosen model and dataset. */
#pragma once

#include <adwaita.h>

#include "temper/train.h"
#include "temper-loaded-model.h"

G_BEGIN_DECLS

typedef enum {
  TEMPER_PRESET_QUICK,
  TEMPER_PRESET_BALANCED,
  TEMPER_PRESET_THOROUGH,
  TEMPER_PRESET_CUSTOM,     /* settings restored from a run that match no preset */
} TemperPreset;

/* The preset's settings: temper_train_settings_init_default() with the
 * preset's changes. */
void temper_preset_apply (TemperPreset preset, TemperTrainSettings *settings);
/* The automatic settings for @facts (with n_params) within the time
 * @preset allows, and why each (temper_train_settings_choose()); without
 * @facts, the preset's fixed values and no reasons. */
void temper_preset_choose (TemperPreset preset, const TemperTrainFacts *facts,
                           TemperTrainSettings *settings, TemperTrainReasons *reasons);

#define TEMPER_TYPE_SETTINGS_PAGE (temper_settings_page_get_type ())
G_DECLARE_FINAL_TYPE (TemperSettingsPage, temper_settings_page, TEMPER, SETTINGS_PAGE, AdwPreferencesPage)

void         temper_settings_page_set_preset         (TemperSettingsPage *self, TemperPreset preset);
TemperPreset temper_settings_page_get_preset         (TemperSettingsPage *self);
/* Shows @settings in every field (a run being reopened). */
void         temper_settings_page_set_train_settings (TemperSettingsPage *self,
                                                      const TemperTrainSettings *settings);
/* The settings as the fields show them now. */
void         temper_settings_page_get_train_settings (TemperSettingsPage *self,
                                                      TemperTrainSettings *settings);
/* What the estimate is for: examples on the training side and their mean
 * length in tokens (0 when unknown). */
void         temper_settings_page_set_dataset_size   (TemperSettingsPage *self,
                                                      guint n_train, double mean_tokens);
/* What the automatic settings are chosen for (n_params is taken from the
 * model); NULL until a dataset has been checked with the model. */
void         temper_settings_page_set_dataset_facts  (TemperSettingsPage     *self,
                                                      const TemperTrainFacts *facts);
/* Whether the run checks progress on a file of its own (the Dataset
 * page's check file): then it holds nothing back, and the validation
 * share is shown as not used. */
void         temper_settings_page_set_uses_check_file (TemperSettingsPage *self,
                                                       gboolean            uses_check_file);
/* The sentence under the Advanced field @name ("learning-rate", …): why it
 * has its value, "Set by you." or what the field is. */
const char  *temper_settings_page_get_field_note     (TemperSettingsPage *self,
                                                      const char         *name);
void         temper_settings_page_set_model          (TemperSettingsPage *self,
                                                      TemperLoadedModel  *model);
/* "cpu:0", "vulkan:1", …; NULL until the devices are listed. */
char        *temper_settings_page_dup_device_id      (TemperSettingsPage *self);
/* The chosen device's backend and its index within it; FALSE (and the CPU)
 * until the devices are listed. */
gboolean     temper_settings_page_get_device         (TemperSettingsPage *self,
                                                      TemperBackendKind  *backend,
                                                      int                *index);
/* Estimated optimizer steps and seconds of the run (-1 seconds for a GPU
 * no run has measured yet); FALSE without a model and dataset to estimate
 * for. */
/* Whether choosing a model measures this processor's speed for the time
 * estimate when none is kept (default TRUE; tests that check the estimate
 * from a run's speed turn it off). */
void         temper_settings_page_set_measure_speed  (TemperSettingsPage *self,
                                                      gboolean            measure);
gboolean     temper_settings_page_is_measuring_speed (TemperSettingsPage *self);
gboolean     temper_settings_page_get_estimate       (TemperSettingsPage *self,
                                                      gint64 *steps, double *seconds,
                                                      guint64 *memory_bytes);

G_END_DECLS
