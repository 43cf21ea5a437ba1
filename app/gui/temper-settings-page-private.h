/* SPDX-License-Identifier: MIT */
/* temper-settings-page-private.h — what the two halves of the Settings
 * page share: temper-settings-page.c shows presets, fields and devices;
 * temper-settings-page-estimate.c estimates memory and time. */
#pragma once

#include "temper/train-estimate.h"
#include "temper-device-list.h"
#include "temper-settings.h"
#include "temper-settings-fields.h"
#include "temper-settings-page.h"

G_BEGIN_DECLS

struct _TemperSettingsPage
{
  AdwPreferencesPage  parent_instance;

  TemperSettings     *settings;
  TemperLoadedModel  *model;
  GPtrArray          *devices;
  GCancellable       *cancellable;
  guint               n_train;
  double              mean_tokens;
  gboolean            updating;
  gboolean            valid;
  /* What the automatic settings are chosen for, and why each value. */
  TemperTrainFacts    facts;
  gboolean            have_facts;
  TemperTrainReasons  reasons;
  /* This processor's measured rates per kind of op for the model. */
  TemperOpRates       rates;
  gboolean            have_rates;
  gboolean            measuring;
  gboolean            measure_rates;
  guint               rates_serial;   /* which model a measurement is for */
  gboolean            rates_exact;    /* the products they are for */
  /* The run checks on a file of its own: the validation share is unused. */
  gboolean            uses_check_file;
  /* Fields the person changed: automatic choices leave them alone. */
  gboolean            user_set[TEMPER_SETTINGS_N_FIELDS];

  GtkCheckButton     *quick_check;
  GtkCheckButton     *balanced_check;
  GtkCheckButton     *thorough_check;
  AdwComboRow        *device_row;
  AdwActionRow       *memory_row;
  GtkWidget          *cluster_button;
  AdwActionRow       *time_row;
  AdwExpanderRow     *advanced_row;
  GtkLabel           *invalid_label;

  GtkWidget          *field_widgets[TEMPER_SETTINGS_N_FIELDS];
};

/* The device chosen in the device row, or NULL until they are listed. */
const TemperDeviceInfo *settings_page_selected_device (TemperSettingsPage *self);
/* Validates the fields and shows the memory and time they take. */
void                    settings_page_update_estimate (TemperSettingsPage *self);
/* The rates for the chosen model: kept from before, or measured now. */
void                    settings_page_find_rates      (TemperSettingsPage *self);

G_END_DECLS
